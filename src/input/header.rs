//! Which column holds which field: `--map`, then the names real exports use ([`aliases`]).
//!
//! Header names are compared after [`normalise`]: lowercased, without spaces, `_`, `-`, `.`,
//! quotes or a stray byte order mark. Each field has aliases in priority order, the more
//! specific first, so `Billing Name` beats `Name` when a file has both.
//!
//! A platform's own column is not taken for a Trustpilot field it merely resembles: a Shopify
//! order export's `Name` is the order number, a bare `Name` beside product columns is the
//! product's, and outside a file laid out for this tool `Tags` and `Location` are the shop's.
//! A required field may have a second column, read on the rows where the first is empty
//! (`Billing Name`, else `Shipping Name`). [`Mapping::describe`] shows every guess, what was
//! passed over, and the `--map` that changes it.

use std::path::Path;

use crate::fields::Field;

use super::InputError;
use super::aliases;
use super::error::quoted_list;

/// What a `--map` or an alias can point at: a field, or one half of a split name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Field(Field),
    FirstName,
    LastName,
}

impl Slot {
    fn from_name(name: &str) -> Option<Slot> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "first_name" => Some(Slot::FirstName),
            "last_name" => Some(Slot::LastName),
            other => Field::from_name(other).map(Slot::Field),
        }
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Column(usize),
    /// A name split in two columns, joined with a space.
    Pair {
        first: usize,
        last: Option<usize>,
    },
}

impl Source {
    /// The column(s) it reads.
    pub(crate) fn columns(self) -> impl Iterator<Item = usize> {
        let (a, b) = match self {
            Source::Column(i) => (i, None),
            Source::Pair { first, last } => (first, last),
        };
        std::iter::once(a).chain(b)
    }

    fn overlaps(self, other: Source) -> bool {
        self.columns().any(|i| other.columns().any(|j| i == j))
    }
}

/// Why that column was chosen, for [`Mapping::describe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Alias,
    Map,
    /// `--no-header`: by position.
    Position,
    /// A Shopify order export's `Name`, which holds the order number.
    ShopifyOrderName,
    /// A customer's id (`Customer ID`, `Record ID`): the file has no order number.
    CustomerId,
}

/// The column(s) a field is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chosen {
    pub(crate) source: Source,
    how: How,
    /// Read on the rows where `source` is empty (required fields found by alias only).
    pub(crate) fallback: Option<Source>,
}

impl Chosen {
    fn new(source: Source, how: How) -> Chosen {
        Chosen { source, how, fallback: None }
    }
}

/// Which input column holds each field.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The header's names, trimmed; empty with `--no-header`.
    headers: Vec<String>,
    chosen: [Option<Chosen>; Field::COUNT],
    /// Fields a `--map FIELD=` says no column holds.
    off: Vec<Field>,
    shopify: bool,
    /// Lines shown after the fields: what was passed over and why, with the `--map` that
    /// changes it.
    passed_over: Vec<String>,
    /// Columns those lines name, so that they are not listed as ignored too.
    passed_over_columns: Vec<usize>,
    /// How many fields a record must have not to be short.
    expected: usize,
}

impl Mapping {
    /// The header's names, as written (empty with `--no-header`).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The column a flag names (`--date-column`, `--skip-where`): the header as written, else
    /// as [`normalise`]d, else a number counted from 1.
    pub fn find_column(&self, name: &str) -> Option<usize> {
        let wanted = display_name(name);
        let normalised = normalise(&wanted);
        self.headers
            .iter()
            .position(|h| *h == wanted)
            .or_else(|| self.headers.iter().position(|h| normalise(h) == normalised))
            .or_else(|| column_number(&wanted).filter(|&i| self.headers.is_empty() || i < self.headers.len()))
    }

    /// Human lines printed before a run: one per field read, what was passed over and why,
    /// then the columns ignored.
    pub fn describe(&self) -> String {
        self.describe_reading(&[])
    }

    /// [`Mapping::describe`], with lines about the columns the run's rules read besides the
    /// fields (`--send-after`'s date, `--skip-where`'s columns): each line with the columns it
    /// names, which are then not listed as ignored.
    pub fn describe_reading(&self, rules: &[(String, Vec<usize>)]) -> String {
        /// Ignored columns named before "and N more".
        const SHOWN: usize = 12;
        let width = Field::ALL
            .iter()
            .filter(|field| self.chosen[field.index()].is_some() || self.off.contains(field))
            .map(|field| field.name().len())
            .max()
            .unwrap_or(0);
        let mut lines = Vec::new();
        for field in Field::ALL {
            let name = field.name();
            if self.off.contains(&field) {
                lines.push(format!("  {name:<width$} <- nothing (--map {name}=)"));
                continue;
            }
            let Some(chosen) = self.chosen[field.index()] else { continue };
            let mut text = self.source_text(chosen.source, true);
            if let Some(fallback) = chosen.fallback {
                text = format!("{text}, else {}", self.source_text(fallback, true));
            }
            let also = self.shared_with(field).map(|other| format!("also the {other}"));
            let note = match (chosen.how, also) {
                (How::Map, None) => " (--map)".to_string(),
                (How::Map, Some(also)) => format!(" (--map; {also})"),
                (How::ShopifyOrderName, _) => " (Shopify order export: the order number, without its '#')".to_string(),
                (How::CustomerId, _) => " (a customer id: the file has no order number)".to_string(),
                (How::Alias, _) if self.shopify && field == Field::Name => {
                    " (Shopify order export: \"Name\" holds the order number)".to_string()
                }
                (How::Alias | How::Position, Some(also)) => format!(" ({also})"),
                (How::Alias | How::Position, None) => String::new(),
            };
            lines.push(format!("  {name:<width$} <- {text}{note}"));
        }
        lines.extend(self.passed_over.iter().cloned());
        lines.extend(rules.iter().map(|(line, _)| line.clone()));
        let mut used = self.used_columns();
        used.extend(rules.iter().flat_map(|(_, columns)| columns.iter().copied()));
        let ignored: Vec<&str> = self
            .headers
            .iter()
            .enumerate()
            .filter(|(i, name)| !used.contains(i) && !self.passed_over_columns.contains(i) && !name.is_empty())
            .map(|(_, name)| name.as_str())
            .collect();
        if ignored.len() > SHOWN {
            lines.push(format!("  ignored: {} and {} more", quoted_list(&ignored[..SHOWN]), ignored.len() - SHOWN));
        } else if !ignored.is_empty() {
            lines.push(format!("  ignored: {}", quoted_list(&ignored)));
        }
        lines.join("\n")
    }

    /// The header text(s) of the column(s) mapped to `field`, for messages:
    /// `E-mail Address`, `First Name + Last Name`, or `column 2` without a header.
    pub fn column_of(&self, field: Field) -> Option<String> {
        self.chosen[field.index()].map(|chosen| self.source_text(chosen.source, false))
    }

    /// The file is a Shopify order export: `Name` holds the order number (`#1001`), which is
    /// mapped to `reference` unless another column is.
    pub fn shopify(&self) -> bool {
        self.shopify
    }

    pub(crate) fn chosen(&self, field: Field) -> Option<Chosen> {
        self.chosen[field.index()]
    }

    /// A record with fewer fields than this is short (ragged).
    pub(crate) fn expected(&self) -> usize {
        self.expected
    }

    /// Every column read, fallbacks included.
    pub(crate) fn used_columns(&self) -> Vec<usize> {
        let mut used = Vec::new();
        for chosen in self.chosen.iter().flatten() {
            used.extend(chosen.source.columns());
            used.extend(chosen.fallback.into_iter().flat_map(Source::columns));
        }
        used
    }

    /// The other field whose first column is `field`'s (one column serving two fields).
    fn shared_with(&self, field: Field) -> Option<&'static str> {
        let Source::Column(i) = self.chosen[field.index()]?.source else { return None };
        Field::ALL.into_iter().filter(|&other| other != field).find_map(|other| {
            let chosen = self.chosen[other.index()]?;
            (chosen.source == Source::Column(i)).then_some(other.name())
        })
    }

    /// The column's header (`"Status"` when `quoted`), or `column 4` without one.
    pub(crate) fn column_text(&self, index: usize, quoted: bool) -> String {
        match self.headers.get(index) {
            Some(name) if !name.is_empty() => {
                if quoted {
                    format!("\"{name}\"")
                } else {
                    name.clone()
                }
            }
            _ => format!("column {}", index + 1),
        }
    }

    fn source_text(&self, source: Source, quoted: bool) -> String {
        match source {
            Source::Column(i) => self.column_text(i, quoted),
            Source::Pair { first, last: None } => self.column_text(first, quoted),
            Source::Pair { first, last: Some(last) } => {
                format!("{} + {}", self.column_text(first, quoted), self.column_text(last, quoted))
            }
        }
    }
}

/// A header name as compared: lowercase, without spaces, `_`, `-`, `.`, quotes, byte order
/// marks or zero-width characters.
pub(crate) fn normalise(name: &str) -> String {
    name.chars()
        .filter(|&c| {
            !(c.is_whitespace()
                || matches!(
                    c,
                    '_' | '-'
                        | '.'
                        | '"'
                        | '\''
                        | '\u{feff}'
                        | '\u{200b}'..='\u{200d}'
                        | '\u{2060}'
                        | '\u{2010}'..='\u{2015}'
                ))
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A header name as shown: trimmed of spaces and a stray byte order mark.
fn display_name(name: &str) -> String {
    name.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_string()
}

/// The aliases of an optional field; `own_layout` when the file is laid out for this tool.
fn optional_aliases(field: Field, own_layout: bool) -> Vec<&'static str> {
    let spec = field.spec();
    let own: &[&str] = if own_layout { spec.own_aliases } else { &[] };
    spec.aliases.iter().chain(own).copied().collect()
}

/// How an error message describes each required field's expected columns.
fn expected_names(field: Field) -> &'static str {
    match field {
        Field::Email => "\"Email\", \"E-mail Address\", \"Customer Email\", \"Billing Email\"",
        Field::Name => {
            "\"Name\", \"Full Name\", \"Customer Name\", \"Billing Name\", or \"First Name\" + \"Last Name\""
        }
        Field::Reference => {
            "\"Reference\", \"Order Number\", \"Order ID\", \"Invoice Number\", or a customer id such as \
             \"Customer ID\" or \"Record ID\""
        }
        _ => "",
    }
}

/// A `--map`: the slot, the field name as typed, and the column (`None`: `--map FIELD=`).
type Explicit<'a> = (Slot, &'a str, Option<&'a str>);

/// [`resolve_for`] without products.
#[cfg(test)]
pub(crate) fn resolve(
    path: &Path,
    header: Option<&[String]>,
    maps: &[(String, String)],
) -> Result<Mapping, InputError> {
    resolve_for(path, header, maps, false)
}

/// Works out the mapping from the header (`None` with `--no-header`) and the `--map`s. An
/// empty header in a `--map` (`--map tags=`) means no column holds the field. The product
/// fields are looked for only with `products` (else a `--map` names their column).
pub(crate) fn resolve_for(
    path: &Path,
    header: Option<&[String]>,
    maps: &[(String, String)],
    products: bool,
) -> Result<Mapping, InputError> {
    // The last --map of a slot wins, as with any repeated flag.
    let mut explicit: Vec<Explicit> = Vec::new();
    for (name, column) in maps {
        let Some(slot) = Slot::from_name(name) else {
            return Err(InputError::UnknownMap {
                path: path.to_path_buf(),
                field: name.clone(),
                column: column.clone(),
                message: format!(
                    "--map {name}=\"{column}\": '{name}' is not a field. The fields are: {}.",
                    map_names().join(", ")
                ),
            });
        };
        explicit.retain(|(s, _, _)| *s != slot);
        let column = Some(column.as_str()).filter(|c| !c.trim().is_empty());
        explicit.push((slot, name.as_str(), column));
    }
    match header {
        None => resolve_positions(path, &explicit),
        Some(header) => resolve_header(path, header, &explicit, products),
    }
}

/// The names `--map` takes: every field's, and the two halves of a split name.
pub fn map_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Field::ALL.iter().map(|f| f.name()).collect();
    names.insert(2, "first_name");
    names.insert(3, "last_name");
    names
}

/// The fields a `--map FIELD=` switches off.
fn switched_off(explicit: &[Explicit]) -> Vec<Field> {
    explicit
        .iter()
        .filter_map(|&(slot, _, column)| match (slot, column) {
            (Slot::Field(field), None) => Some(field),
            _ => None,
        })
        .collect()
}

/// `--no-header`: email, name, reference are columns 1, 2, 3, unless `--map` gives numbers.
fn resolve_positions(path: &Path, explicit: &[Explicit]) -> Result<Mapping, InputError> {
    let mut mapped: Vec<(Slot, Option<usize>, How)> = vec![
        (Slot::Field(Field::Email), Some(0), How::Position),
        (Slot::Field(Field::Name), Some(1), How::Position),
        (Slot::Field(Field::Reference), Some(2), How::Position),
    ];
    for &(slot, name, column) in explicit {
        let index = match column {
            None => None,
            Some(column) => Some(column_number(column).ok_or_else(|| InputError::UnknownMap {
                path: path.to_path_buf(),
                field: name.to_string(),
                column: column.to_string(),
                message: match column.trim().trim_start_matches('#').parse::<u64>() {
                    Ok(0) => format!(
                        "--map {name}=\"{column}\": columns are counted from 1 (the first column is 1), e.g. \
                         --map {name}=4 for the fourth column of '{}'.",
                        path.display()
                    ),
                    _ => format!(
                        "--map {name}=\"{column}\": with --no-header, columns have no names; give the \
                         column's number instead, e.g. --map {name}=4 for the fourth column of '{}'.",
                        path.display()
                    ),
                },
            })?),
        };
        mapped.retain(|(s, _, _)| *s != slot);
        mapped.push((slot, index, How::Map));
    }
    let find = |slot: Slot| mapped.iter().find(|(s, _, _)| *s == slot).map(|&(_, i, how)| (i, how));
    let mut chosen = [None; Field::COUNT];
    for field in Field::ALL {
        if field != Field::Name {
            chosen[field.index()] =
                find(Slot::Field(field)).and_then(|(i, how)| Some(Chosen::new(Source::Column(i?), how)));
        }
    }
    // An explicit full name wins over an explicit first name, which wins over position 2.
    let first = find(Slot::FirstName).and_then(|(i, how)| Some((i?, how)));
    let last = find(Slot::LastName).and_then(|(i, _)| i);
    chosen[Field::Name.index()] = match (find(Slot::Field(Field::Name)), first) {
        (Some((i, How::Map)), _) => i.map(|i| Chosen::new(Source::Column(i), How::Map)),
        (_, Some((first, how))) => Some(Chosen::new(Source::Pair { first, last }, how)),
        (Some((i, how)), None) => i.map(|i| Chosen::new(Source::Column(i), how)),
        (None, None) => None,
    };
    let off = switched_off(explicit);
    let missing: Vec<Field> = Field::REQUIRED.into_iter().filter(|f| chosen[f.index()].is_none()).collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|f| f.name()).collect();
        let maps: Vec<String> = names.iter().map(|name| format!("--map {name}=")).collect();
        let (says, it) = if names.len() == 1 { ("says", "it") } else { ("say", "them") };
        return Err(InputError::MissingColumns {
            path: path.to_path_buf(),
            missing: names.clone(),
            found: Vec::new(),
            message: format!(
                "has no column for {}: {} {says} no column holds {it}, but every invitation needs one. Give the \
                 column's number instead, e.g. --map {}=3.",
                names.join(" and "),
                maps.join(" and "),
                names[0]
            ),
        });
    }
    let mut mapping = Mapping {
        headers: Vec::new(),
        chosen,
        off,
        shopify: false,
        passed_over: Vec::new(),
        passed_over_columns: Vec::new(),
        expected: 0,
    };
    mapping.expected = mapping.used_columns().into_iter().max().map_or(0, |i| i + 1);
    Ok(mapping)
}

/// `3` or `#3`: a 1-based column number.
fn column_number(text: &str) -> Option<usize> {
    let digits = text.trim().trim_start_matches('#');
    digits.parse::<usize>().ok().filter(|&n| n >= 1).map(|n| n - 1)
}

/// The header being mapped: its names as shown and as compared, which columns are taken, and
/// what kind of file it is.
struct Columns {
    headers: Vec<String>,
    norms: Vec<String>,
    /// Taken by a field (by alias or `--map`).
    taken: Vec<bool>,
    /// Named by a `--map`: no alias takes it, except the email's (one column may serve as
    /// both email and reference).
    mapped: Vec<bool>,
    shopify: bool,
    /// The file has a column no platform writes: its `tags` and `location` are Trustpilot's.
    own_layout: bool,
    /// A bare `Name` beside a product column (`SKU`, `Quantity` ...), which names the product.
    product_name: Option<(usize, usize)>,
}

impl Columns {
    fn new(header: &[String]) -> Columns {
        let headers: Vec<String> = header.iter().map(|name| display_name(name)).collect();
        let norms: Vec<String> = headers.iter().map(|name| normalise(name)).collect();
        let has = |alias: &str| norms.iter().any(|n| n == alias);
        let own_layout = norms.iter().any(|n| aliases::OWN_LAYOUT.contains(&n.as_str()));
        // Shopify's order export has no order-number column but `Name`: a file that has one
        // (or is laid out for this tool) keeps its `Name` for the customer, whatever else
        // it has beside (a `Financial Status` to skip refunds by).
        let has_reference = norms.iter().any(|n| aliases::REFERENCE.contains(&n.as_str()));
        let shopify = has("name") && (has("financialstatus") || has("lineitemname")) && !has_reference && !own_layout;
        let product = |j: usize| norms.get(j).is_some_and(|n| aliases::PRODUCT_WORDS.iter().any(|w| n.contains(w)));
        let product_name = match shopify {
            true => None,
            false => norms.iter().position(|n| aliases::BARE_NAME.contains(&n.as_str())).and_then(|b| {
                [b.checked_sub(1), Some(b + 1)].into_iter().flatten().find(|&j| product(j)).map(|j| (b, j))
            }),
        };
        let width = headers.len();
        Columns {
            headers,
            norms,
            taken: vec![false; width],
            mapped: vec![false; width],
            shopify,
            own_layout,
            product_name,
        }
    }

    fn free(&self, i: usize, field: Field) -> bool {
        !self.taken[i] && (!self.mapped[i] || field == Field::Email)
    }

    /// The columns named by `aliases`, best alias first, that `field` may take.
    fn matching(&self, aliases: &[&str], field: Field) -> Vec<usize> {
        let mut found = Vec::new();
        for alias in aliases {
            for i in 0..self.norms.len() {
                if self.norms[i] == *alias && self.free(i, field) && !found.contains(&i) {
                    found.push(i);
                }
            }
        }
        found
    }

    fn first(&self, aliases: &[&str]) -> Option<usize> {
        self.matching(aliases, Field::Name).first().copied()
    }

    /// The column a `--map` names: its exact text, then the same normalisation as aliases,
    /// then a column number.
    fn named(&self, path: &Path, name: &str, column: &str) -> Result<usize, InputError> {
        let wanted = display_name(column);
        let normalised = normalise(&wanted);
        self.headers
            .iter()
            .position(|h| *h == wanted)
            .or_else(|| self.norms.iter().position(|n| *n == normalised))
            .or_else(|| column_number(&wanted).filter(|&i| i < self.headers.len()))
            .ok_or_else(|| InputError::UnknownMap {
                path: path.to_path_buf(),
                field: name.to_string(),
                column: column.to_string(),
                message: format!(
                    "--map {name}=\"{column}\": '{}' has no column \"{wanted}\" (names are compared \
                     ignoring case, spaces, '_', '-' and '.'). Its columns are: {}. Copy the name \
                     from there, or give the column's number, e.g. --map {name}=3.",
                    path.display(),
                    quoted_list(&self.headers)
                ),
            })
    }

    fn take(&mut self, chosen: Chosen) {
        for i in chosen.source.columns().chain(chosen.fallback.into_iter().flat_map(Source::columns)) {
            self.taken[i] = true;
        }
    }

    fn quoted(&self, i: usize) -> String {
        format!("\"{}\"", self.headers[i])
    }
}

fn resolve_header(
    path: &Path,
    header: &[String],
    explicit: &[Explicit],
    products: bool,
) -> Result<Mapping, InputError> {
    let mut columns = Columns::new(header);

    // --map first, then aliases, each taking the first column not taken yet.
    let mut maps: Vec<(Slot, Option<usize>)> = Vec::new();
    for &(slot, name, column) in explicit {
        let index = match column {
            Some(column) => Some(columns.named(path, name, column)?),
            None => None,
        };
        if let Some(i) = index {
            columns.mapped[i] = true;
        }
        maps.push((slot, index));
    }
    let map_of = |slot: Slot| maps.iter().find(|(s, _)| *s == slot).map(|&(_, i)| i);
    let mut chosen: [Option<Chosen>; Field::COUNT] = [None; Field::COUNT];

    // The name first, so its columns are not taken by anything else.
    let name =
        resolve_name(&columns, map_of(Slot::Field(Field::Name)), map_of(Slot::FirstName), map_of(Slot::LastName));
    if let Some(name) = name {
        columns.take(name);
    }
    chosen[Field::Name.index()] = name;

    for field in Field::ALL.into_iter().filter(|&f| f != Field::Name) {
        let found = match map_of(Slot::Field(field)) {
            Some(Some(i)) => Some(Chosen::new(Source::Column(i), How::Map)),
            Some(None) => None,
            None if field.is_product() && !products => None,
            None => by_alias(&columns, field),
        };
        if let Some(found) = found {
            columns.take(found);
            chosen[field.index()] = Some(found);
        }
    }

    let missing: Vec<Field> = Field::REQUIRED.into_iter().filter(|f| chosen[f.index()].is_none()).collect();
    let name_mapped =
        [Slot::Field(Field::Name), Slot::FirstName, Slot::LastName].into_iter().any(|s| map_of(s).is_some());
    let passed_over = PassedOver::new(&columns, &chosen, name_mapped);
    if !missing.is_empty() {
        let context = Missing {
            off: switched_off(explicit),
            lone_last_name: map_of(Slot::LastName).flatten(),
            email: chosen[Field::Email.index()].and_then(|c| c.source.columns().next()),
        };
        return Err(missing_columns(path, &columns, &missing, &context, &passed_over));
    }
    let named = columns.headers.iter().rposition(|h| !h.is_empty()).map_or(0, |i| i + 1);
    let mut mapping = Mapping {
        headers: columns.headers,
        chosen,
        off: switched_off(explicit),
        shopify: columns.shopify,
        passed_over: passed_over.lines,
        passed_over_columns: passed_over.columns,
        expected: 0,
    };
    let used = mapping.used_columns().into_iter().max().map_or(0, |i| i + 1);
    mapping.expected = named.max(used);
    Ok(mapping)
}

/// The column of an email, a reference or an optional field, found by its aliases. A required
/// field keeps the next candidate for the rows where the first is empty.
fn by_alias(columns: &Columns, field: Field) -> Option<Chosen> {
    let mut candidates: Vec<(usize, How)> = match field {
        Field::Email => columns.matching(aliases::EMAIL, field).into_iter().map(|i| (i, How::Alias)).collect(),
        Field::Reference => {
            let mut found: Vec<(usize, How)> =
                columns.matching(aliases::REFERENCE, field).into_iter().map(|i| (i, How::Alias)).collect();
            if columns.shopify {
                found.extend(columns.matching(&["name"], field).into_iter().map(|i| (i, How::ShopifyOrderName)));
            }
            for i in columns.matching(aliases::CUSTOMER_ID, field) {
                // A bare `ID` is the row's own: an order's in an order export.
                let how = if columns.norms[i] == "id" { How::Alias } else { How::CustomerId };
                found.push((i, how));
            }
            found
        }
        _ => {
            let aliases = optional_aliases(field, columns.own_layout);
            let mut found = columns.matching(&aliases, field);
            // A bare `Name` beside `SKU` (WooCommerce's order items) is the product's name.
            if field == Field::ProductName
                && let Some((b, _)) = columns.product_name.filter(|&(b, _)| columns.free(b, field))
            {
                found.push(b);
            }
            found.into_iter().take(1).map(|i| (i, How::Alias)).collect()
        }
    };
    candidates.truncate(2);
    let mut candidates = candidates.into_iter();
    let (first, how) = candidates.next()?;
    // Only a column of the same kind stands in: an order number's empty cell is not filled
    // with a customer id.
    let fallback = candidates.next().filter(|&(_, other)| other == how && how != How::ShopifyOrderName);
    Some(Chosen { source: Source::Column(first), how, fallback: fallback.map(|(i, _)| Source::Column(i)) })
}

/// Where the name comes from: `--map name`, else `--map first_name` (with a last name mapped
/// or found), else the best of the name columns found, in this order: a full name that says
/// whose it is (`Customer Name`, `Billing Name`), a billing first + last name, a bare `Name`
/// (not beside product columns, not in a Shopify order export), a first + last name, the
/// recipient's or cardholder's name, a shipping first + last name. The next one, on other
/// columns, is read where the best is empty.
fn resolve_name(
    columns: &Columns,
    full: Option<Option<usize>>,
    first: Option<Option<usize>>,
    last: Option<Option<usize>>,
) -> Option<Chosen> {
    use aliases::{
        BARE_NAME, BILLING_FIRST_NAME, BILLING_LAST_NAME, FIRST_NAME, FULL_NAME, LAST_NAME, OTHER_NAME,
        SHIPPING_FIRST_NAME, SHIPPING_LAST_NAME,
    };
    let all_last = || {
        columns
            .first(BILLING_LAST_NAME)
            .or_else(|| columns.first(LAST_NAME))
            .or_else(|| columns.first(SHIPPING_LAST_NAME))
    };
    match (full, first, last) {
        (Some(Some(i)), _, _) => return Some(Chosen::new(Source::Column(i), How::Map)),
        (Some(None), _, _) => return None,
        (_, Some(Some(first)), last) => {
            let last = last.unwrap_or_else(all_last);
            return Some(Chosen::new(Source::Pair { first, last }, How::Map));
        }
        (_, first_off, Some(Some(last))) => {
            if first_off.is_some() {
                return None;
            }
            let first = columns
                .first(BILLING_FIRST_NAME)
                .or_else(|| columns.first(FIRST_NAME))
                .or_else(|| columns.first(SHIPPING_FIRST_NAME))?;
            return Some(Chosen::new(Source::Pair { first, last: Some(last) }, How::Map));
        }
        _ => {}
    }
    let pairs = first.is_none();
    let last_off = last == Some(None);
    let pair = |firsts: &[&str], lasts: &[&[&str]]| -> Option<Source> {
        let first = columns.first(firsts).filter(|_| pairs)?;
        let last = if last_off { None } else { lasts.iter().find_map(|list| columns.first(list)) };
        Some(Source::Pair { first, last })
    };
    let mut candidates: Vec<Source> = Vec::new();
    let columns_of = |list: &[&str]| columns.matching(list, Field::Name).into_iter().map(Source::Column);
    candidates.extend(columns_of(FULL_NAME));
    candidates.extend(pair(BILLING_FIRST_NAME, &[BILLING_LAST_NAME, LAST_NAME]));
    if !columns.shopify {
        let product = columns.product_name.map(|(b, _)| b);
        candidates.extend(columns_of(BARE_NAME).filter(|s| Some(*s) != product.map(Source::Column)));
    }
    candidates.extend(pair(FIRST_NAME, &[LAST_NAME]));
    candidates.extend(columns_of(OTHER_NAME));
    candidates.extend(pair(SHIPPING_FIRST_NAME, &[SHIPPING_LAST_NAME]));
    let primary = *candidates.first()?;
    let fallback = candidates.iter().copied().find(|c| !c.overlaps(primary));
    Some(Chosen { source: primary, how: How::Alias, fallback })
}

/// What [`Mapping::describe`] says beyond the fields read: the columns an alias would have
/// taken and did not, and why.
struct PassedOver {
    lines: Vec<String>,
    columns: Vec<usize>,
}

impl PassedOver {
    fn new(columns: &Columns, chosen: &[Option<Chosen>; Field::COUNT], name_mapped: bool) -> PassedOver {
        let mut found = PassedOver { lines: Vec::new(), columns: Vec::new() };
        let used: Vec<usize> = chosen
            .iter()
            .flatten()
            .flat_map(|c| c.source.columns().chain(c.fallback.into_iter().flat_map(Source::columns)))
            .collect();
        let name = chosen[Field::Name.index()];
        let name_text = |source: Source| match source {
            Source::Column(i) => columns.quoted(i),
            Source::Pair { first, last: None } => columns.quoted(first),
            Source::Pair { first, last: Some(last) } => format!("{} + {}", columns.quoted(first), columns.quoted(last)),
        };

        // A bare `Name` beside product columns.
        if let Some((b, beside)) = columns.product_name.filter(|&(b, _)| !name_mapped && !used.contains(&b)) {
            found.lines.push(format!(
                "  not the customer's name: {} (beside {}, it names the product; if it holds the customer's name, add \
                 --map name={})",
                columns.quoted(b),
                columns.quoted(beside),
                columns.quoted(b)
            ));
            found.columns.push(b);
        }

        // A bare `Name` passed over for a better name.
        let bare = match columns.shopify {
            true => None,
            false => columns.norms.iter().position(|n| aliases::BARE_NAME.contains(&n.as_str())),
        };
        if let (Some(b), Some(name), false) = (bare, name, name_mapped) {
            let stands_in = name.fallback == Some(Source::Column(b));
            let elsewhere = columns.mapped[b] || (used.contains(&b) && !stands_in);
            if Some(b) != columns.product_name.map(|(b, _)| b) && name.source != Source::Column(b) && !elsewhere {
                let better = name_text(name.source);
                let line = match stands_in {
                    true => format!(
                        "  passed over: {} for {better}, except where {} empty (to take every name from {}, add \
                         --map name={})",
                        columns.quoted(b),
                        if matches!(name.source, Source::Pair { last: Some(_), .. }) { "both are" } else { "it is" },
                        columns.quoted(b),
                        columns.quoted(b)
                    ),
                    false => format!(
                        "  passed over: {} for {better} (to take the name from {}, add --map name={})",
                        columns.quoted(b),
                        columns.quoted(b),
                        columns.quoted(b)
                    ),
                };
                found.lines.push(line);
                if !used.contains(&b) {
                    found.columns.push(b);
                }
            }
        }

        // The shop's own tags and locations, outside a file laid out for this tool.
        if !columns.own_layout {
            let held: Vec<usize> = [Field::Tags.spec().own_aliases, Field::LocationId.spec().own_aliases]
                .iter()
                .flat_map(|list| columns.matching(list, Field::Tags))
                .filter(|i| !used.contains(i))
                .collect();
            if let Some(&first) = held.first() {
                let names: Vec<&str> = held.iter().map(|&i| columns.headers[i].as_str()).collect();
                let field = if Field::Tags.spec().own_aliases.contains(&columns.norms[first].as_str()) {
                    "tags"
                } else {
                    "location_id"
                };
                let whose = if columns.shopify { "Shopify's own order data" } else { "the shop's own data" };
                let it = if names.len() == 1 { "it" } else { "one" };
                found.lines.push(format!(
                    "  not sent: {} ({whose}, not Trustpilot's; to send {it} anyway, add --map {field}={})",
                    quoted_list(&names),
                    columns.quoted(first)
                ));
                found.columns.extend(held);
            }
        }
        found
    }
}

/// The error for required fields without a column: what was looked for, what was found, and
/// the `--map` that fixes it (a column whose name suggests the field, never a count, a phone
/// number or free text).
/// What [`missing_columns`] says beyond the header: the fields switched off, a last name
/// mapped without a first name, the email's column.
struct Missing {
    off: Vec<Field>,
    lone_last_name: Option<usize>,
    email: Option<usize>,
}

fn missing_columns(
    path: &Path,
    columns: &Columns,
    missing: &[Field],
    context: &Missing,
    passed_over: &PassedOver,
) -> InputError {
    use std::fmt::Write;
    let Missing { off, lone_last_name, email } = context;
    let headers = &columns.headers;
    let names: Vec<&'static str> = missing.iter().map(|f| f.name()).collect();
    let mut message = match names.as_slice() {
        [one] => format!("has no column for the field {one}.\n"),
        [init @ .., last] => format!("has no column for the fields {} and {last}.\n", init.join(", ")),
        [] => String::new(),
    };
    for field in missing {
        let name = field.name();
        if off.contains(field) {
            let _ =
                writeln!(message, "  {name}: --map {name}= says no column holds it, but every invitation needs one");
        } else {
            let _ = writeln!(message, "  {name}: looked for a column like {}", expected_names(*field));
        }
    }
    if let (Some(i), true) = (*lone_last_name, missing.contains(&Field::Name)) {
        let _ = writeln!(
            message,
            "  (\"{}\" is mapped as the last name, but there is no first-name column to go with it)",
            headers[i]
        );
    }
    if missing.contains(&Field::Name) {
        for line in passed_over.lines.iter().filter(|line| line.starts_with("  not the customer's name")) {
            let _ = writeln!(message, "{line}");
        }
    }
    if headers.is_empty() {
        message.push_str("The header row has no columns.\n");
    } else {
        let _ = writeln!(message, "The columns found are: {}.", quoted_list(headers));
    }
    if headers.iter().any(|h| h.contains('@')) {
        message.push_str(
            "The first row looks like data, not a header: if the file has no header row, add \
             --no-header (its columns are then email, name, reference).\n",
        );
    } else if headers.len() == 1 {
        message.push_str(
            "The header has a single column: if the file uses another delimiter, give it with \
             --delimiter (e.g. --delimiter ';').\n",
        );
    }
    // A column for each missing field whose name suggests it.
    let mut taken = columns.taken.clone();
    let mut maps = Vec::new();
    let mut others = Vec::new();
    for &field in missing {
        let fits = |i: usize| {
            let (shown, norm) = (&headers[i], &columns.norms[i]);
            // The column a `--map FIELD=` turned off is not offered back.
            if off.contains(&field) && by_alias(columns, field).is_some_and(|c| c.source == Source::Column(i)) {
                return false;
            }
            match field {
                Field::Email => aliases::address_like(norm),
                Field::Name => aliases::person_like(norm) && !aliases::identifier_like(shown, norm),
                _ => aliases::identifier_like(shown, norm),
            }
        };
        let fitting: Vec<usize> = (0..headers.len())
            .filter(|&i| !taken[i] && !columns.mapped[i] && !headers[i].is_empty() && fits(i))
            .filter(|&i| Some(i) != columns.product_name.map(|(b, _)| b))
            .collect();
        match fitting.first() {
            Some(&i) => {
                taken[i] = true;
                maps.push(format!("--map {}={}", field.name(), columns.quoted(i)));
                if fitting.len() > 1 {
                    let rest: Vec<&str> = fitting[1..].iter().map(|&i| headers[i].as_str()).collect();
                    others.push(format!("{}: {}", field.name(), quoted_list(&rest)));
                }
            }
            None => maps.push(format!("--map {}=\"<column name>\"", field.name())),
        }
    }
    let _ = write!(message, "Say which column holds each field, e.g. {}", maps.join(" "));
    if !others.is_empty() {
        let _ = write!(message, " (other candidates, {})", others.join("; "));
    }
    if missing.contains(&Field::Reference)
        && let Some(i) = *email
    {
        let _ = write!(
            message,
            "\nA list without order numbers can use the email as the reference: --map reference={}",
            columns.quoted(i)
        );
    }
    InputError::MissingColumns { path: path.to_path_buf(), missing: names, found: headers.clone(), message }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn map(names: &[&str], maps: &[(&str, &str)]) -> Result<Mapping, InputError> {
        let maps: Vec<(String, String)> = maps.iter().map(|(f, c)| (f.to_string(), c.to_string())).collect();
        resolve(Path::new("in.csv"), Some(&header(names)), &maps)
    }

    fn columns(mapping: &Mapping) -> Vec<(&'static str, String)> {
        Field::ALL.into_iter().filter_map(|f| mapping.column_of(f).map(|c| (f.name(), c))).collect()
    }

    #[test]
    fn normalisation_ignores_case_spaces_and_punctuation() {
        let table = [
            ("E-mail Address", "emailaddress"),
            ("  Customer_Email ", "customeremail"),
            ("\u{feff}Email", "email"),
            ("\"Order No.\"", "orderno"),
            ("E‑Mail‑Adresse", "emailadresse"),
            ("Numéro de commande", "numérodecommande"),
            ("First\u{a0}Name", "firstname"),
        ];
        for (raw, normalised) in table {
            assert_eq!(normalise(raw), normalised, "{raw:?}");
        }
    }

    #[test]
    fn aliases_find_the_columns_of_real_exports() {
        type Expect<'a> = &'a [(&'a str, &'a str)];
        let table: &[(&str, &[&str], Expect)] = &[
            (
                "plain",
                &["email", "name", "reference"],
                &[("email", "email"), ("name", "name"), ("reference", "reference")],
            ),
            (
                "spelled out (the shop's own tags are not Trustpilot's)",
                &["E-mail Address", "Full Name", "Order Number", "Language", "Tags"],
                &[
                    ("email", "E-mail Address"),
                    ("name", "Full Name"),
                    ("reference", "Order Number"),
                    ("locale", "Language"),
                ],
            ),
            (
                "the tool's own layout: its tags are Trustpilot's",
                &["email", "name", "reference", "tags", "location"],
                &[
                    ("email", "email"),
                    ("name", "name"),
                    ("reference", "reference"),
                    ("tags", "tags"),
                    ("location_id", "location"),
                ],
            ),
            (
                "German",
                &["E-Mail-Adresse", "Vorname", "Nachname", "Bestellnummer"],
                &[("email", "E-Mail-Adresse"), ("name", "Vorname + Nachname"), ("reference", "Bestellnummer")],
            ),
            (
                "French",
                &["Courriel", "Prénom", "Nom", "Numéro de commande"],
                &[("email", "Courriel"), ("name", "Prénom + Nom"), ("reference", "Numéro de commande")],
            ),
            (
                "Dutch",
                &["E-mailadres", "Voornaam", "Achternaam", "Ordernummer"],
                &[("email", "E-mailadres"), ("name", "Voornaam + Achternaam"), ("reference", "Ordernummer")],
            ),
            (
                "Danish",
                &["E-mailadresse", "Navn", "Ordrenummer"],
                &[("email", "E-mailadresse"), ("name", "Navn"), ("reference", "Ordrenummer")],
            ),
            (
                "Magento order grid",
                &["ID", "Bill-to Name", "Ship-to Name", "Customer Email", "Customer Name", "Status"],
                &[("email", "Customer Email"), ("name", "Customer Name"), ("reference", "ID")],
            ),
            (
                "WooCommerce",
                &["order_number", "billing_first_name", "billing_last_name", "billing_email"],
                &[
                    ("email", "billing_email"),
                    ("name", "billing_first_name + billing_last_name"),
                    ("reference", "order_number"),
                ],
            ),
            (
                "first name only",
                &["Email", "First Name", "Invoice ID"],
                &[("email", "Email"), ("name", "First Name"), ("reference", "Invoice ID")],
            ),
            (
                "every optional field",
                &[
                    "email",
                    "name",
                    "ref",
                    "locale",
                    "tags",
                    "redirect_uri",
                    "preferred send time",
                    "template id",
                    "sender email",
                    "sender name",
                    "reply-to",
                    "location id",
                ],
                &[
                    ("email", "email"),
                    ("name", "name"),
                    ("reference", "ref"),
                    ("locale", "locale"),
                    ("tags", "tags"),
                    ("redirect_uri", "redirect_uri"),
                    ("preferred_send_time", "preferred send time"),
                    ("template_id", "template id"),
                    ("sender_email", "sender email"),
                    ("sender_name", "sender name"),
                    ("reply_to", "reply-to"),
                    ("location_id", "location id"),
                ],
            ),
        ];
        for (what, names, expected) in table {
            let mapping = map(names, &[]).unwrap_or_else(|e| panic!("{what}: {e}"));
            let expected: Vec<(&str, String)> = expected.iter().map(|&(f, c)| (f, c.to_string())).collect();
            assert_eq!(columns(&mapping), expected, "{what}");
            assert!(!mapping.shopify(), "{what}");
        }
    }

    #[test]
    fn the_more_specific_alias_wins() {
        let table: &[(&[&str], Field, &str)] = &[
            (&["Name", "Billing Name", "Email", "Ref"], Field::Name, "Billing Name"),
            (&["Shipping Name", "Billing Name", "Email", "Ref"], Field::Name, "Billing Name"),
            (&["Name", "First Name", "Last Name", "Email", "Ref"], Field::Name, "Name"),
            (&["Email", "Customer Email", "Name", "Ref"], Field::Email, "Customer Email"),
            (&["Mail", "E-mail", "Name", "Ref"], Field::Email, "E-mail"),
            (&["Email", "Name", "Order", "Order Number"], Field::Reference, "Order Number"),
            (&["Email", "Name", "Order ID", "Reference"], Field::Reference, "Reference"),
            (&["Email", "Name", "Id", "Invoice"], Field::Reference, "Invoice"),
            (&["Email", "Name", "Customer ID", "Id"], Field::Reference, "Id"),
            (&["Email", "Name", "Ref", "Language", "Locale"], Field::Locale, "Locale"),
        ];
        for (names, field, column) in table {
            let mapping = map(names, &[]).unwrap();
            assert_eq!(mapping.column_of(*field).as_deref(), Some(*column), "{names:?}");
        }
    }

    #[test]
    fn shopify_order_exports_take_the_order_number_from_name() {
        let names = [
            "Name",
            "Email",
            "Financial Status",
            "Paid at",
            "Lineitem name",
            "Billing Name",
            "Shipping Name",
            "Tags",
            "Location",
            "Id",
        ];
        let mapping = map(&names, &[]).unwrap();
        assert!(mapping.shopify());
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("Billing Name"));
        assert_eq!(mapping.column_of(Field::Reference).as_deref(), Some("Name"));
        assert_eq!(mapping.column_of(Field::Email).as_deref(), Some("Email"));
        assert_eq!(mapping.column_of(Field::Tags), None);
        assert_eq!(mapping.column_of(Field::LocationId), None);
        assert_eq!(
            mapping.describe(),
            [
                "  email     <- \"Email\"",
                "  name      <- \"Billing Name\", else \"Shipping Name\" (Shopify order export: \"Name\" holds the order number)",
                "  reference <- \"Name\" (Shopify order export: the order number, without its '#')",
                "  not sent: \"Tags\", \"Location\" (Shopify's own order data, not Trustpilot's; to send one anyway, add --map tags=\"Tags\")",
                "  ignored: \"Financial Status\", \"Paid at\", \"Lineitem name\", \"Id\"",
            ]
            .join("\n")
        );

        // Without a billing name, the shipping name; an explicit reference keeps Name unused.
        let mapping = map(&["Name", "Email", "Lineitem name", "Shipping Name", "Id"], &[("reference", "Id")]).unwrap();
        assert!(mapping.shopify());
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("Shipping Name"));
        assert_eq!(mapping.column_of(Field::Reference).as_deref(), Some("Id"));

        // --map tags=Tags sends Shopify's tags after all.
        let mapping = map(&names, &[("tags", "tags")]).unwrap();
        assert_eq!(mapping.column_of(Field::Tags).as_deref(), Some("Tags"));
        assert!(!mapping.describe().contains("not sent: \"Tags\","));
    }

    #[test]
    fn map_wins_over_aliases() {
        let mapping = map(
            &["Email", "Contact", "Name", "Order"],
            &[("email", "Email"), ("name", "contact"), ("reference", "NAME")],
        )
        .unwrap();
        assert_eq!(
            columns(&mapping),
            vec![("email", "Email".to_string()), ("name", "Contact".into()), ("reference", "Name".into())]
        );
        assert_eq!(
            mapping.describe(),
            "  email     <- \"Email\" (--map)\n  name      <- \"Contact\" (--map)\n  reference <- \"Name\" (--map)\n  ignored: \"Order\""
        );

        // first_name/last_name maps beat a full-name alias.
        let mapping =
            map(&["Email", "Name", "Given", "Family", "Ref"], &[("first_name", "Given"), ("last_name", "Family")])
                .unwrap();
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("Given + Family"));

        // A column number works too.
        let mapping = map(&["Email", "Name", ""], &[("reference", "3")]).unwrap();
        assert_eq!(mapping.column_of(Field::Reference).as_deref(), Some("column 3"));
    }

    #[test]
    fn a_map_naming_a_missing_column_lists_the_columns() {
        let error = map(&["Email", "Name", "Ref"], &[("email", "Mail")]).unwrap_err();
        assert_eq!(error.code(), "input.unknown_column");
        assert_eq!(
            error.to_string(),
            "--map email=\"Mail\": 'in.csv' has no column \"Mail\" (names are compared ignoring case, \
             spaces, '_', '-' and '.'). Its columns are: \"Email\", \"Name\", \"Ref\". Copy the name \
             from there, or give the column's number, e.g. --map email=3."
        );
        let error = map(&["Email", "Name", "Ref"], &[("colour", "Ref")]).unwrap_err();
        assert_eq!(error.code(), "input.unknown_column");
        assert!(error.to_string().contains("'colour' is not a field"), "{error}");
    }

    #[test]
    fn missing_columns_say_what_was_expected_found_and_how_to_fix_it() {
        let error = map(&["Mail Adr", "Kunde", "Beleg-Nr", "Datum"], &[]).unwrap_err();
        assert_eq!(error.code(), "input.column_missing");
        assert_eq!(
            error.to_string(),
            "'in.csv' has no column for the fields email, name and reference.\n\
             \x20 email: looked for a column like \"Email\", \"E-mail Address\", \"Customer Email\", \"Billing Email\"\n\
             \x20 name: looked for a column like \"Name\", \"Full Name\", \"Customer Name\", \"Billing Name\", or \"First Name\" + \"Last Name\"\n\
             \x20 reference: looked for a column like \"Reference\", \"Order Number\", \"Order ID\", \"Invoice Number\", or a \
             customer id such as \"Customer ID\" or \"Record ID\"\n\
             The columns found are: \"Mail Adr\", \"Kunde\", \"Beleg-Nr\", \"Datum\".\n\
             Say which column holds each field, e.g. --map email=\"Mail Adr\" --map name=\"Kunde\" --map reference=\"Beleg-Nr\""
        );

        let error = map(&["Email", "Name", "Total"], &[]).unwrap_err();
        assert!(error.to_string().starts_with("'in.csv' has no column for the field reference.\n"), "{error}");
        assert!(
            error.to_string().ends_with(
                "--map reference=\"<column name>\"\nA list without order numbers can use the email as the reference: \
                 --map reference=\"Email\""
            ),
            "{error}"
        );

        let error = map(&["ann@example.com", "Ann", "1001"], &[]).unwrap_err();
        assert!(error.to_string().contains("--no-header"), "{error}");

        let error = map(&["email;name;reference"], &[]).unwrap_err();
        assert!(error.to_string().contains("--delimiter"), "{error}");

        // A last name alone is not a name.
        let error = map(&["Email", "Surname", "Ref"], &[]).unwrap_err();
        assert!(error.to_string().contains("field name."), "{error}");
    }

    #[test]
    fn no_header_uses_positions() {
        let mapping = resolve(Path::new("in.csv"), None, &[]).unwrap();
        assert_eq!(
            columns(&mapping),
            vec![("email", "column 1".to_string()), ("name", "column 2".into()), ("reference", "column 3".into())]
        );
        assert_eq!(mapping.expected(), 3);
        assert_eq!(mapping.describe(), "  email     <- column 1\n  name      <- column 2\n  reference <- column 3");

        let maps = vec![("reference".to_string(), "5".to_string()), ("locale".to_string(), "#4".to_string())];
        let mapping = resolve(Path::new("in.csv"), None, &maps).unwrap();
        assert_eq!(mapping.column_of(Field::Reference).as_deref(), Some("column 5"));
        assert_eq!(mapping.column_of(Field::Locale).as_deref(), Some("column 4"));
        assert_eq!(mapping.expected(), 5);

        let maps = vec![("email".to_string(), "Email".to_string())];
        let error = resolve(Path::new("in.csv"), None, &maps).unwrap_err();
        assert_eq!(error.code(), "input.unknown_column");
        assert!(error.to_string().contains("--map email=4"), "{error}");
    }

    #[test]
    fn expected_width_ignores_trailing_unnamed_columns() {
        let mapping = map(&["email", "name", "reference", "", ""], &[]).unwrap();
        assert_eq!(mapping.expected(), 3);
        let mapping = map(&["email", "name", "reference", "notes"], &[]).unwrap();
        assert_eq!(mapping.expected(), 4);
    }

    #[test]
    fn the_columns_the_rules_read_are_not_ignored() {
        let mapping = map(&["email", "name", "reference", "Status", "Order Date", "Notes"], &[]).unwrap();
        let rules = vec![
            ("  send time <- \"Order Date\" (the order's date, for --send-after)".to_string(), vec![4]),
            ("  read by --skip-where: \"Status\"".to_string(), vec![3]),
        ];
        assert_eq!(
            mapping.describe_reading(&rules),
            [
                "  email     <- \"email\"",
                "  name      <- \"name\"",
                "  reference <- \"reference\"",
                "  send time <- \"Order Date\" (the order's date, for --send-after)",
                "  read by --skip-where: \"Status\"",
                "  ignored: \"Notes\"",
            ]
            .join("\n")
        );
        assert!(mapping.describe().ends_with("  ignored: \"Status\", \"Order Date\", \"Notes\""));
    }

    #[test]
    fn many_ignored_columns_are_summarised() {
        let mut names = vec!["email".to_string(), "name".into(), "ref".into()];
        names.extend((1..=20).map(|i| format!("c{i}")));
        let mapping = resolve(Path::new("in.csv"), Some(&names), &[]).unwrap();
        assert!(mapping.describe().ends_with("\"c12\" and 8 more"), "{}", mapping.describe());
    }

    #[test]
    fn an_empty_map_switches_a_guessed_column_off() {
        // An optional field.
        let mapping = map(&["email", "name", "reference", "locale", "tags"], &[("tags", ""), ("locale", " ")]).unwrap();
        assert_eq!((mapping.column_of(Field::Tags), mapping.column_of(Field::Locale)), (None, None));
        assert_eq!(
            mapping.describe(),
            [
                "  email     <- \"email\"",
                "  name      <- \"name\"",
                "  reference <- \"reference\"",
                "  locale    <- nothing (--map locale=)",
                "  tags      <- nothing (--map tags=)",
                "  ignored: \"locale\", \"tags\"",
            ]
            .join("\n")
        );
        // The second column of a required field: the email has one column left.
        let mapping = map(
            &["order_number", "customer_email", "billing_email", "billing_first_name"],
            &[("email", "billing_email")],
        )
        .unwrap();
        assert_eq!(mapping.chosen(Field::Email).unwrap().fallback, None);
        // A last name switched off: the first name alone.
        let mapping = map(&["Email", "First Name", "Last Name", "Ref"], &[("last_name", "")]).unwrap();
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("First Name"));
        // A bare Name switched off leaves the first and last name.
        let mapping = map(&["Email", "Name", "First Name", "Last Name", "Ref"], &[("first_name", "")]).unwrap();
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("Name"));
        assert_eq!(mapping.chosen(Field::Name).unwrap().fallback, None);
        // A required field switched off cannot be read.
        let error = map(&["Email", "Name", "Customer ID"], &[("reference", "")]).unwrap_err();
        assert_eq!(error.code(), "input.column_missing");
        assert!(
            error
                .to_string()
                .contains("  reference: --map reference= says no column holds it, but every invitation needs one\n"),
            "{error}"
        );
        assert!(error.to_string().contains("e.g. --map reference=\"<column name>\""), "{error}");
        // Without a header too.
        let maps = vec![("email".to_string(), String::new())];
        let error = resolve(Path::new("in.csv"), None, &maps).unwrap_err();
        assert!(error.to_string().contains("--map email= says no column holds it"), "{error}");
        let maps = vec![("locale".to_string(), "4".to_string()), ("locale".to_string(), String::new())];
        let mapping = resolve(Path::new("in.csv"), None, &maps).unwrap();
        assert_eq!(mapping.column_of(Field::Locale), None);
    }

    #[test]
    fn a_bare_name_beside_products_is_never_the_customer() {
        // No other name: the run stops and says why, rather than inviting "Dear T-Shirt".
        let error = map(&["Order ID", "Email", "Name", "SKU", "Quantity"], &[]).unwrap_err().to_string();
        assert!(error.contains("has no column for the field name."), "{error}");
        assert!(
            error.contains(
                "  not the customer's name: \"Name\" (beside \"SKU\", it names the product; if it holds the customer's \
                 name, add --map name=\"Name\")"
            ),
            "{error}"
        );
        assert!(!error.contains("--map name=\"Name\" --map"), "{error}");
        // Beside other columns, a bare Name is the customer's.
        let mapping = map(&["Order ID", "Name", "Email", "Phone"], &[]).unwrap();
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("Name"));
    }

    #[test]
    fn a_bare_name_beside_products_is_the_products_name_with_products() {
        let names =
            header(&["Order Number", "Billing First Name", "Billing Last Name", "Billing Email", "Name", "SKU"]);
        let mapping = resolve_for(Path::new("in.csv"), Some(&names), &[], true).unwrap();
        assert_eq!(mapping.column_of(Field::ProductName).as_deref(), Some("Name"));
        assert_eq!(mapping.column_of(Field::ProductSku).as_deref(), Some("SKU"));
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("Billing First Name + Billing Last Name"));
        assert!(mapping.describe().lines().any(|l| l == "  product_name <- \"Name\""), "{}", mapping.describe());
        assert!(!mapping.describe().contains("not the customer's name"), "{}", mapping.describe());
        // A product-name column by its own name wins; the bare Name stays unread.
        let names = header(&["Order Number", "Billing Name", "Billing Email", "Name", "SKU", "Product Name"]);
        let mapping = resolve_for(Path::new("in.csv"), Some(&names), &[], true).unwrap();
        assert_eq!(mapping.column_of(Field::ProductName).as_deref(), Some("Product Name"));
        // A --map name="Name" keeps it the customer's.
        let maps = vec![("name".to_string(), "Name".to_string())];
        let names = header(&["Order Number", "Email", "Name", "SKU"]);
        let mapping = resolve_for(Path::new("in.csv"), Some(&names), &maps, true).unwrap();
        assert_eq!(mapping.column_of(Field::Name).as_deref(), Some("Name"));
        assert_eq!(mapping.column_of(Field::ProductName), None);
        // Without --products it is read as neither.
        let names = header(&["Order Number", "Billing Name", "Billing Email", "Name", "SKU"]);
        let mapping = resolve_for(Path::new("in.csv"), Some(&names), &[], false).unwrap();
        assert_eq!(mapping.column_of(Field::ProductName), None);
        assert!(mapping.describe().contains("not the customer's name: \"Name\""), "{}", mapping.describe());
    }

    #[test]
    fn shopifys_columns_beside_an_order_number_are_no_shopify_order_export() {
        // The tool's own layout, or any file with an order number, keeps its Name.
        let table: &[(&[&str], &str, &str)] = &[
            (&["email", "name", "reference", "Financial Status"], "name", "reference"),
            (&["Email", "Name", "Order ID", "Financial Status"], "Name", "Order ID"),
            (&["Email", "Name", "Order Number", "Lineitem name"], "Name", "Order Number"),
            (&["email", "name", "ref", "Financial Status", "redirect_uri"], "name", "ref"),
        ];
        for (names, name, reference) in table {
            let mapping = map(names, &[]).unwrap_or_else(|e| panic!("{names:?}: {e}"));
            assert!(!mapping.shopify(), "{names:?}");
            assert_eq!(mapping.column_of(Field::Name).as_deref(), Some(*name), "{names:?}");
            assert_eq!(mapping.column_of(Field::Reference).as_deref(), Some(*reference), "{names:?}");
        }
        // Shopify's own, trimmed to a few columns, still is one.
        let mapping = map(&["Name", "Email", "Financial Status", "Billing Name"], &[]).unwrap();
        assert!(mapping.shopify());
        assert_eq!(mapping.column_of(Field::Reference).as_deref(), Some("Name"));
    }

    #[test]
    fn a_required_field_reads_its_second_column_where_the_first_is_empty() {
        let table: &[(&[&str], Field, Option<Source>)] = &[
            (&["Billing Name", "Shipping Name", "Email", "Ref"], Field::Name, Some(Source::Column(1))),
            (
                &["Name", "First Name", "Last Name", "Email", "Ref"],
                Field::Name,
                Some(Source::Pair { first: 1, last: Some(2) }),
            ),
            (&["Customer Email", "Billing Email", "Name", "Ref"], Field::Email, Some(Source::Column(1))),
            (&["Email", "Name", "Order Number", "Invoice Number"], Field::Reference, Some(Source::Column(3))),
            // An order number's empty cell is not filled with a customer's id.
            (&["Email", "Name", "Order Number", "Customer ID"], Field::Reference, None),
            // --map says exactly which column.
            (&["Billing Name", "Shipping Name", "Email", "Ref"], Field::Email, None),
        ];
        for (names, field, fallback) in table {
            let mapping = map(names, &[]).unwrap();
            assert_eq!(mapping.chosen(*field).unwrap().fallback, *fallback, "{names:?} {field}");
        }
        let mapping = map(&["Billing Name", "Shipping Name", "Email", "Ref"], &[("name", "Billing Name")]).unwrap();
        assert_eq!(mapping.chosen(Field::Name).unwrap().fallback, None);
    }

    /// A header name real exports use, or any short text.
    fn header_name() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let known = proptest::sample::select(vec![
            "Email",
            "Name",
            "First Name",
            "Last Name",
            "Billing Name",
            "Shipping Name",
            "Order ID",
            "Customer ID",
            "Tags",
            "Location",
            "SKU",
            "Lineitem name",
            "Financial Status",
            "reference",
            "LEID",
            "Phone Number",
            "Total Orders",
            "",
            "x@y.z",
            "Billing First Name",
            "Card Name",
        ]);
        proptest::prop_oneof![known.prop_map(String::from), ".{0,8}"]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any header, with any --map (empty ones too): a mapping or an error, never a panic,
        /// and every column read is in the header.
        #[test]
        fn any_header_and_maps_resolve_or_fail_cleanly(
            names in proptest::collection::vec(header_name(), 0..10),
            maps in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["email", "name", "first_name", "last_name", "reference", "tags", "locale", "colour"]),
                    proptest::sample::select(vec!["", "Email", "Name", "2", "#9", "Nope", " "]),
                ),
                0..4,
            ),
        ) {
            let maps: Vec<(String, String)> = maps.into_iter().map(|(f, c)| (f.to_string(), c.to_string())).collect();
            match resolve(Path::new("in.csv"), Some(&names), &maps) {
                Ok(mapping) => {
                    let _ = mapping.describe();
                    for i in mapping.used_columns() {
                        proptest::prop_assert!(i < names.len());
                    }
                    for field in Field::REQUIRED {
                        proptest::prop_assert!(mapping.chosen(field).is_some());
                    }
                }
                Err(error) => proptest::prop_assert!(!error.to_string().is_empty()),
            }
        }
    }
}
