//! Which column holds which field: `--map`, then the names real exports use, then the
//! Shopify order export's special case.
//!
//! Header names are compared after [`normalise`]: lowercased, without spaces, `_`, `-`, `.`,
//! quotes or a stray byte order mark. Each field has aliases in priority order, the more
//! specific first, so `Billing Name` beats `Name` when a file has both.

use std::path::Path;

use crate::invitation::Field;

use super::InputError;
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

/// Why that column was chosen, for [`Mapping::describe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Alias,
    Map,
    /// `--no-header`: by position.
    Position,
    /// A Shopify order export's `Name`, which holds the order number.
    ShopifyOrderName,
}

/// Which input column holds each field.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The header's names, trimmed; empty with `--no-header`.
    headers: Vec<String>,
    sources: [Option<(Source, How)>; 12],
    shopify: bool,
    /// Columns of a Shopify export that an alias would have taken, left out on purpose.
    held_back: Vec<usize>,
    /// How many fields a record must have not to be short.
    expected: usize,
}

impl Mapping {
    /// Human lines printed before a run: one per mapped field, then the columns ignored.
    pub fn describe(&self) -> String {
        /// Ignored columns named before "and N more".
        const SHOWN: usize = 12;
        let width = Field::ALL
            .iter()
            .filter(|field| self.sources[field.index()].is_some())
            .map(|field| field.name().len())
            .max()
            .unwrap_or(0);
        let mut lines = Vec::new();
        for field in Field::ALL {
            let Some((source, how)) = self.sources[field.index()] else { continue };
            let note = match how {
                How::Map => " (--map)".to_string(),
                How::ShopifyOrderName => " (Shopify order export: the order number, without its '#')".to_string(),
                How::Alias if self.shopify && field == Field::Name => {
                    " (Shopify order export: \"Name\" holds the order number)".to_string()
                }
                How::Alias | How::Position => String::new(),
            };
            lines.push(format!("  {:<width$} <- {}{note}", field.name(), self.source_text(source, true)));
        }
        if !self.held_back.is_empty() {
            let names: Vec<&str> = self.held_back.iter().map(|&i| self.headers[i].as_str()).collect();
            let example = match self.headers[self.held_back[0]].as_str() {
                tags if normalise(tags).starts_with("tag") => format!("--map tags=\"{tags}\""),
                other => format!("--map location_id=\"{other}\""),
            };
            let it = if names.len() == 1 { "it" } else { "one" };
            lines.push(format!(
                "  not sent: {} (Shopify's own order data, not Trustpilot's; to send {it} anyway, add {example})",
                quoted_list(&names)
            ));
        }
        let used = self.used_columns();
        let ignored: Vec<&str> = self
            .headers
            .iter()
            .enumerate()
            .filter(|(i, name)| !used.contains(i) && !self.held_back.contains(i) && !name.is_empty())
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
        self.sources[field.index()].map(|(source, _)| self.source_text(source, false))
    }

    /// The file is a Shopify order export: `Name` holds the order number (`#1001`), which is
    /// mapped to `reference` unless another column is.
    pub fn shopify(&self) -> bool {
        self.shopify
    }

    pub(crate) fn source(&self, field: Field) -> Option<Source> {
        self.sources[field.index()].map(|(source, _)| source)
    }

    /// A record with fewer fields than this is short (ragged).
    pub(crate) fn expected(&self) -> usize {
        self.expected
    }

    fn used_columns(&self) -> Vec<usize> {
        let mut used = Vec::new();
        for (source, _) in self.sources.iter().flatten() {
            match *source {
                Source::Column(i) => used.push(i),
                Source::Pair { first, last } => used.extend(std::iter::once(first).chain(last)),
            }
        }
        used
    }

    fn column_text(&self, index: usize, quoted: bool) -> String {
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

// Aliases, normalised, most specific first. Exports in English, German, French, Dutch, the
// Nordic languages, Spanish, Italian and Polish, and the big shop systems' column names.
const EMAIL: &[&str] = &[
    "customeremail",
    "customeremailaddress",
    "consumeremail",
    "consumeremailaddress",
    "buyeremail",
    "buyeremailaddress",
    "purchaseremail",
    "clientemail",
    "billingemail",
    "billingemailaddress",
    "email(billing)",
    "kundenemail",
    "kundeemail",
    "email",
    "emailaddress",
    "emailadresse",
    "emailadres",
    "emailadress",
    "adresseemail",
    "adressemail",
    "adresseélectronique",
    "courriel",
    "adressecourriel",
    "correoelectrónico",
    "correoelectronico",
    "correo",
    "indirizzoemail",
    "sähköposti",
    "sähköpostiosoite",
    "epost",
    "epostadress",
    "epostadresse",
    "contactemail",
    "shippingemail",
    "mail",
    "mailaddress",
];

const FULL_NAME: &[&str] = &[
    "fullname",
    "customerfullname",
    "customername",
    "consumername",
    "buyername",
    "purchasername",
    "clientname",
    "billingname",
    "billtoname",
    "name(billing)",
    "kundenname",
    "kundename",
    "klantnaam",
    "nomcomplet",
    "nombrecompleto",
    "nomecompleto",
    "vollständigername",
    "vollstandigername",
    "volledigenaam",
    "fuldenavn",
    "contactname",
    "shippingname",
    "shiptoname",
    "name",
    "navn",
    "naam",
    "namn",
    "nimi",
];

const FIRST_NAME: &[&str] = &[
    "billingfirstname",
    "firstname(billing)",
    "customerfirstname",
    "firstname",
    "givenname",
    "forename",
    "vorname",
    "prénom",
    "prenom",
    "voornaam",
    "fornavn",
    "förnamn",
    "fornamn",
    "etunimi",
    "nombre",
    "nome",
    "imię",
    "imie",
    "shippingfirstname",
    "firstname(shipping)",
];

const LAST_NAME: &[&str] = &[
    "billinglastname",
    "lastname(billing)",
    "customerlastname",
    "lastname",
    "surname",
    "familyname",
    "nachname",
    "familienname",
    "nom",
    "nomdefamille",
    "achternaam",
    "efternavn",
    "etternavn",
    "efternamn",
    "sukunimi",
    "cognome",
    "apellidos",
    "apellido",
    "nazwisko",
    "shippinglastname",
    "lastname(shipping)",
];

const REFERENCE: &[&str] = &[
    "reference",
    "referencenumber",
    "referenceno",
    "referenceid",
    "ref",
    "refno",
    "refnr",
    "ordernumber",
    "orderno",
    "ordernr",
    "order#",
    "orderid",
    "orderreference",
    "orderref",
    "order",
    "invoicenumber",
    "invoiceno",
    "invoicenr",
    "invoiceid",
    "invoice",
    "transactionid",
    "transactionnumber",
    "bookingreference",
    "bookingref",
    "bookingnumber",
    "bookingid",
    "reservationnumber",
    "reservationid",
    "confirmationnumber",
    "referenz",
    "referenznummer",
    "bestellnummer",
    "bestellnr",
    "bestellid",
    "auftragsnummer",
    "auftragsnr",
    "rechnungsnummer",
    "rechnungsnr",
    "référence",
    "numérodecommande",
    "numerodecommande",
    "n°decommande",
    "commande",
    "numérodefacture",
    "numerodefacture",
    "ordrenummer",
    "ordrenr",
    "bestelnummer",
    "ordernummer",
    "factuurnummer",
    "fakturanummer",
    "fakturanr",
    "númerodepedido",
    "numerodepedido",
    "pedido",
    "numeroordine",
    "tilausnumero",
    "numerzamówienia",
];

/// Reference aliases too vague to beat a Shopify order name: identifiers, but not of an order.
const WEAK_REFERENCE: &[&str] = &[
    "id",
    "customerid",
    "customernumber",
    "customerno",
    "kundennummer",
    "kundennr",
    "kundenummer",
    "klantnummer",
    "numéroclient",
    "numeroclient",
];

const LOCALE: &[&str] = &[
    "locale",
    "customerlocale",
    "languagecode",
    "language",
    "customerlanguage",
    "lang",
    "sprache",
    "langue",
    "taal",
    "sprog",
    "språk",
    "idioma",
    "lingua",
];
const TAGS: &[&str] = &["tags", "tag", "invitationtags", "trustpilottags"];
const REDIRECT_URI: &[&str] = &["redirecturi", "redirecturl", "redirect", "redirectlink", "returnurl"];
const PREFERRED_SEND_TIME: &[&str] =
    &["preferredsendtime", "preferredsenddate", "sendtime", "senddate", "sendat", "sendon", "sendafter"];
const TEMPLATE_ID: &[&str] = &["templateid", "template", "invitationtemplateid", "invitationtemplate"];
const SENDER_EMAIL: &[&str] = &["senderemail", "senderemailaddress", "fromemail"];
const SENDER_NAME: &[&str] = &["sendername", "fromname"];
const REPLY_TO: &[&str] = &["replyto", "replytoemail", "replytoaddress"];
const LOCATION_ID: &[&str] = &["locationid", "trustpilotlocationid", "location"];

fn aliases(slot: Slot) -> &'static [&'static str] {
    match slot {
        Slot::FirstName => FIRST_NAME,
        Slot::LastName => LAST_NAME,
        Slot::Field(field) => match field {
            Field::Email => EMAIL,
            Field::Name => FULL_NAME,
            Field::Reference => REFERENCE,
            Field::Locale => LOCALE,
            Field::Tags => TAGS,
            Field::RedirectUri => REDIRECT_URI,
            Field::PreferredSendTime => PREFERRED_SEND_TIME,
            Field::TemplateId => TEMPLATE_ID,
            Field::SenderEmail => SENDER_EMAIL,
            Field::SenderName => SENDER_NAME,
            Field::ReplyTo => REPLY_TO,
            Field::LocationId => LOCATION_ID,
        },
    }
}

/// Aliases a Shopify order export must not use: its `Name` is the order number, its `Tags`
/// are the shop's order tags (often with spaces, which Trustpilot refuses) and its
/// `Location` is a point-of-sale name, not a Trustpilot location id.
const SHOPIFY_EXCLUDED: &[&str] = &["name", "tags", "tag", "location"];

/// How an error message describes each required field's expected columns.
fn expected_names(field: Field) -> &'static str {
    match field {
        Field::Email => "\"Email\", \"E-mail Address\", \"Customer Email\", \"Billing Email\"",
        Field::Name => {
            "\"Name\", \"Full Name\", \"Customer Name\", \"Billing Name\", or \"First Name\" + \"Last Name\""
        }
        Field::Reference => "\"Reference\", \"Order Number\", \"Order ID\", \"Invoice Number\"",
        _ => "",
    }
}

/// Works out the mapping from the header (`None` with `--no-header`) and the `--map`s.
pub(crate) fn resolve(
    path: &Path,
    header: Option<&[String]>,
    maps: &[(String, String)],
) -> Result<Mapping, InputError> {
    // The last --map of a slot wins, as with any repeated flag.
    let mut explicit: Vec<(Slot, &str, &str)> = Vec::new();
    for (name, column) in maps {
        let Some(slot) = Slot::from_name(name) else {
            return Err(InputError::UnknownMap {
                path: path.to_path_buf(),
                field: name.clone(),
                column: column.clone(),
                message: format!(
                    "--map {name}=\"{column}\": '{name}' is not a field. The fields are: email, name, \
                     first_name, last_name, reference, locale, tags, redirect_uri, preferred_send_time, \
                     template_id, sender_email, sender_name, reply_to, location_id."
                ),
            });
        };
        explicit.retain(|(s, _, _)| *s != slot);
        explicit.push((slot, name.as_str(), column.as_str()));
    }
    match header {
        None => resolve_positions(path, &explicit),
        Some(header) => resolve_header(path, header, &explicit),
    }
}

/// `--no-header`: email, name, reference are columns 1, 2, 3, unless `--map` gives numbers.
fn resolve_positions(path: &Path, explicit: &[(Slot, &str, &str)]) -> Result<Mapping, InputError> {
    let mut mapped: Vec<(Slot, usize, How)> = vec![
        (Slot::Field(Field::Email), 0, How::Position),
        (Slot::Field(Field::Name), 1, How::Position),
        (Slot::Field(Field::Reference), 2, How::Position),
    ];
    for &(slot, name, column) in explicit {
        let Some(index) = column_number(column) else {
            return Err(InputError::UnknownMap {
                path: path.to_path_buf(),
                field: name.to_string(),
                column: column.to_string(),
                message: format!(
                    "--map {name}=\"{column}\": with --no-header, columns have no names; give the \
                     column's number instead, e.g. --map {name}=4 for the fourth column of '{}'.",
                    path.display()
                ),
            });
        };
        mapped.retain(|(s, _, _)| *s != slot);
        mapped.push((slot, index, How::Map));
    }
    let find = |slot: Slot| mapped.iter().find(|(s, _, _)| *s == slot).map(|&(_, i, how)| (i, how));
    let mut sources = [None; 12];
    for field in Field::ALL {
        if field != Field::Name {
            sources[field.index()] = find(Slot::Field(field)).map(|(i, how)| (Source::Column(i), how));
        }
    }
    // An explicit full name wins over an explicit first name, which wins over position 2.
    sources[Field::Name.index()] = match (find(Slot::Field(Field::Name)), find(Slot::FirstName)) {
        (Some((i, How::Map)), _) => Some((Source::Column(i), How::Map)),
        (_, Some((first, how))) => Some((Source::Pair { first, last: find(Slot::LastName).map(|(i, _)| i) }, how)),
        (Some((i, how)), None) => Some((Source::Column(i), how)),
        (None, None) => None,
    };
    let mut mapping = Mapping { headers: Vec::new(), sources, shopify: false, held_back: Vec::new(), expected: 0 };
    mapping.expected = mapping.used_columns().into_iter().max().map_or(0, |i| i + 1);
    Ok(mapping)
}

/// `3` or `#3`: a 1-based column number.
fn column_number(text: &str) -> Option<usize> {
    let digits = text.trim().trim_start_matches('#');
    digits.parse::<usize>().ok().filter(|&n| n >= 1).map(|n| n - 1)
}

/// The header being mapped: its names as shown and as compared, and which columns are taken.
struct Columns {
    headers: Vec<String>,
    norms: Vec<String>,
    claimed: Vec<bool>,
    shopify: bool,
}

impl Columns {
    fn new(header: &[String]) -> Columns {
        let headers: Vec<String> = header.iter().map(|name| display_name(name)).collect();
        let norms: Vec<String> = headers.iter().map(|name| normalise(name)).collect();
        let has = |alias: &str| norms.iter().any(|n| n == alias);
        let shopify = has("name") && (has("financialstatus") || has("lineitemname"));
        Columns { claimed: vec![false; headers.len()], headers, norms, shopify }
    }

    /// The first column not taken yet whose normalised name is `norm`.
    fn find(&self, norm: &str) -> Option<usize> {
        (0..self.norms.len()).find(|&i| !self.claimed[i] && self.norms[i] == norm)
    }

    /// The column of the best alias of `slot` that is not taken yet.
    fn alias(&self, slot: Slot) -> Option<usize> {
        aliases(slot)
            .iter()
            .filter(|alias| !(self.shopify && SHOPIFY_EXCLUDED.contains(alias)))
            .find_map(|alias| self.find(alias))
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

    fn claim(&mut self, source: Source) {
        match source {
            Source::Column(i) => self.claimed[i] = true,
            Source::Pair { first, last } => {
                self.claimed[first] = true;
                if let Some(last) = last {
                    self.claimed[last] = true;
                }
            }
        }
    }
}

fn resolve_header(path: &Path, header: &[String], explicit: &[(Slot, &str, &str)]) -> Result<Mapping, InputError> {
    let mut columns = Columns::new(header);

    // --map first, then aliases, each taking the first column not taken yet.
    let mut chosen: Vec<(Slot, usize)> = Vec::new();
    for &(slot, name, column) in explicit {
        let index = columns.named(path, name, column)?;
        columns.claimed[index] = true;
        chosen.push((slot, index));
    }
    let explicit_of = |slot: Slot| chosen.iter().find(|(s, _)| *s == slot).map(|&(_, i)| i);
    let mut sources: [Option<(Source, How)>; 12] = [None; 12];

    // The name first, so its columns are not taken by anything else.
    let name = resolve_name(
        &columns,
        explicit_of(Slot::Field(Field::Name)),
        explicit_of(Slot::FirstName),
        explicit_of(Slot::LastName),
    );
    if let Some((source, _)) = name {
        columns.claim(source);
    }
    sources[Field::Name.index()] = name;

    for field in Field::ALL.into_iter().filter(|&f| f != Field::Name) {
        let slot = Slot::Field(field);
        let source = if let Some(i) = explicit_of(slot) {
            Some((i, How::Map))
        } else if let Some(i) = columns.alias(slot) {
            Some((i, How::Alias))
        } else if field == Field::Reference && columns.shopify {
            columns.find("name").map(|i| (i, How::ShopifyOrderName))
        } else if field == Field::Reference {
            WEAK_REFERENCE.iter().find_map(|alias| columns.find(alias)).map(|i| (i, How::Alias))
        } else {
            None
        };
        if let Some((i, how)) = source {
            columns.claimed[i] = true;
            sources[field.index()] = Some((Source::Column(i), how));
        }
    }

    let missing: Vec<Field> = Field::REQUIRED.into_iter().filter(|f| sources[f.index()].is_none()).collect();
    if !missing.is_empty() {
        return Err(missing_columns(path, &columns, &missing, explicit_of(Slot::LastName)));
    }

    let held_back: Vec<usize> = if columns.shopify {
        ["tags", "location"].iter().filter_map(|norm| columns.find(norm)).collect()
    } else {
        Vec::new()
    };
    let named = columns.headers.iter().rposition(|h| !h.is_empty()).map_or(0, |i| i + 1);
    let mut mapping = Mapping { headers: columns.headers, sources, shopify: columns.shopify, held_back, expected: 0 };
    let used = mapping.used_columns().into_iter().max().map_or(0, |i| i + 1);
    mapping.expected = named.max(used);
    Ok(mapping)
}

/// Where the name comes from: `--map name`, else `--map first_name` (with a last name mapped
/// or found), else a full-name column, else a first-name column with an optional last name.
fn resolve_name(
    columns: &Columns,
    full: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
) -> Option<(Source, How)> {
    if let Some(i) = full {
        return Some((Source::Column(i), How::Map));
    }
    if let Some(first) = first {
        let last = last.or_else(|| columns.alias(Slot::LastName));
        return Some((Source::Pair { first, last }, How::Map));
    }
    if last.is_none()
        && let Some(i) = columns.alias(Slot::Field(Field::Name))
    {
        return Some((Source::Column(i), How::Alias));
    }
    let first = columns.alias(Slot::FirstName)?;
    let how = if last.is_some() { How::Map } else { How::Alias };
    Some((Source::Pair { first, last: last.or_else(|| columns.alias(Slot::LastName)) }, how))
}

/// The error for required fields without a column: what was looked for, what was found, and
/// the `--map` that fixes it (guessing the column where a name suggests one).
fn missing_columns(path: &Path, columns: &Columns, missing: &[Field], lone_last_name: Option<usize>) -> InputError {
    use std::fmt::Write;
    let headers = &columns.headers;
    let names: Vec<&'static str> = missing.iter().map(|f| f.name()).collect();
    let mut message = match names.as_slice() {
        [one] => format!("has no column for the field {one}.\n"),
        [init @ .., last] => format!("has no column for the fields {} and {last}.\n", init.join(", ")),
        [] => String::new(),
    };
    for field in missing {
        let _ = writeln!(message, "  {}: looked for a column like {}", field.name(), expected_names(*field));
    }
    if let (Some(i), true) = (lone_last_name, missing.contains(&Field::Name)) {
        let _ = writeln!(
            message,
            "  (\"{}\" is mapped as the last name, but there is no first-name column to go with it)",
            headers[i]
        );
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
    // Guess a column for each missing field from what its name contains.
    let mut taken = columns.claimed.clone();
    let mut maps = Vec::new();
    for field in missing {
        let hints: &[&str] = match field {
            Field::Email => &["mail"],
            Field::Name => &["name", "navn", "naam", "namn", "nom", "kunde", "customer", "client"],
            _ => &["order", "ref", "invoice", "bestell", "commande", "nummer", "number", "nr", "id"],
        };
        let guess = hints.iter().find_map(|hint| {
            (0..headers.len()).find(|&i| !taken[i] && !headers[i].is_empty() && columns.norms[i].contains(hint))
        });
        match guess {
            Some(i) => {
                taken[i] = true;
                maps.push(format!("--map {}=\"{}\"", field.name(), headers[i]));
            }
            None => maps.push(format!("--map {}=\"<column name>\"", field.name())),
        }
    }
    let _ = write!(message, "Say which column holds each field, e.g. {}", maps.join(" "));
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
                "spelled out",
                &["E-mail Address", "Full Name", "Order Number", "Language", "Tags"],
                &[
                    ("email", "E-mail Address"),
                    ("name", "Full Name"),
                    ("reference", "Order Number"),
                    ("locale", "Language"),
                    ("tags", "Tags"),
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
                "  name      <- \"Billing Name\" (Shopify order export: \"Name\" holds the order number)",
                "  reference <- \"Name\" (Shopify order export: the order number, without its '#')",
                "  not sent: \"Tags\", \"Location\" (Shopify's own order data, not Trustpilot's; to send one anyway, add --map tags=\"Tags\")",
                "  ignored: \"Financial Status\", \"Paid at\", \"Lineitem name\", \"Shipping Name\", \"Id\"",
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
        assert_eq!(error.code(), "column.unknown_map");
        assert_eq!(
            error.to_string(),
            "--map email=\"Mail\": 'in.csv' has no column \"Mail\" (names are compared ignoring case, \
             spaces, '_', '-' and '.'). Its columns are: \"Email\", \"Name\", \"Ref\". Copy the name \
             from there, or give the column's number, e.g. --map email=3."
        );
        let error = map(&["Email", "Name", "Ref"], &[("colour", "Ref")]).unwrap_err();
        assert_eq!(error.code(), "column.unknown_map");
        assert!(error.to_string().contains("'colour' is not a field"), "{error}");
    }

    #[test]
    fn missing_columns_say_what_was_expected_found_and_how_to_fix_it() {
        let error = map(&["Mail Adr", "Kunde", "Beleg-Nr", "Datum"], &[]).unwrap_err();
        assert_eq!(error.code(), "column.missing");
        assert_eq!(
            error.to_string(),
            "'in.csv' has no column for the fields email, name and reference.\n\
             \x20 email: looked for a column like \"Email\", \"E-mail Address\", \"Customer Email\", \"Billing Email\"\n\
             \x20 name: looked for a column like \"Name\", \"Full Name\", \"Customer Name\", \"Billing Name\", or \"First Name\" + \"Last Name\"\n\
             \x20 reference: looked for a column like \"Reference\", \"Order Number\", \"Order ID\", \"Invoice Number\"\n\
             The columns found are: \"Mail Adr\", \"Kunde\", \"Beleg-Nr\", \"Datum\".\n\
             Say which column holds each field, e.g. --map email=\"Mail Adr\" --map name=\"Kunde\" --map reference=\"Beleg-Nr\""
        );

        let error = map(&["Email", "Name", "Total"], &[]).unwrap_err();
        assert!(error.to_string().starts_with("'in.csv' has no column for the field reference.\n"), "{error}");
        assert!(error.to_string().ends_with("--map reference=\"<column name>\""), "{error}");

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
        assert_eq!(error.code(), "column.unknown_map");
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
    fn many_ignored_columns_are_summarised() {
        let mut names = vec!["email".to_string(), "name".into(), "ref".into()];
        names.extend((1..=20).map(|i| format!("c{i}")));
        let mapping = resolve(Path::new("in.csv"), Some(&names), &[]).unwrap();
        assert!(mapping.describe().ends_with("\"c12\" and 8 more"), "{}", mapping.describe());
    }
}
