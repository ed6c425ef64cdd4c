//! Validation rules: a raw row becomes a normalised [`Invitation`] and the list of its problems.
//!
//! Pure functions, no I/O: the same rules check input rows, flag defaults, and the rows
//! `retry` reads back from a results file.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use crate::fields::{FIELDS, Rule};
use crate::invitation::{Field, Invitation, Product};
use crate::text::clipped;

/// Trustpilot's invitation locales.
pub const LOCALES: [&str; 25] = [
    "da-DK", "de-AT", "de-CH", "de-DE", "en-AU", "en-CA", "en-GB", "en-IE", "en-NZ", "en-US", "es-ES", "fi-FI",
    "fr-BE", "fr-FR", "it-IT", "ja-JP", "nb-NO", "nl-BE", "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ru-RU", "sv-SE",
    "zh-CN",
];

const MAX_EMAIL: usize = 254;
const MAX_TEXT: usize = 255;
/// Characters of a cell quoted in a message.
const SHOWN: usize = 60;
const REFERENCE_FORBIDDEN: [char; 6] = ['#', '*', '+', '"', '%', '&'];

/// One problem of one row: a line of the error report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field's name, or `row` for a problem of the whole row.
    pub field: &'static str,
    /// Stable, machine-readable: `email.invalid`, `row.duplicate`, ...
    pub code: &'static str,
    pub value: String,
    /// A sentence a shop owner understands, saying what to do.
    pub message: String,
}

impl Problem {
    fn new(field: &'static str, code: &'static str, value: &str, message: String) -> Problem {
        Problem { field, code, value: value.to_string(), message }
    }
}

/// What a row looks like to the validator: values by field, and whether it was cut short.
pub trait RawRow {
    /// The untrimmed value, or `None` when the file has no column for it (or the row ends before it).
    fn get(&self, field: Field) -> Option<Cow<'_, str>>;
    /// `(found, expected)` fields when the row has fewer fields than the header.
    fn short(&self) -> Option<(usize, usize)> {
        None
    }
    /// The row's number in its file, when it has one: a further row of an order names its
    /// first.
    fn row(&self) -> Option<u64> {
        None
    }
}

impl RawRow for crate::input::Record<'_> {
    fn get(&self, field: Field) -> Option<Cow<'_, str>> {
        crate::input::Record::get(self, field)
    }
    fn short(&self) -> Option<(usize, usize)> {
        crate::input::Record::short(self)
    }
    fn row(&self) -> Option<u64> {
        Some(crate::input::Record::row(self))
    }
}

/// Values for rows whose column is absent or empty, already validated.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    values: [Option<String>; Field::COUNT],
}

impl Defaults {
    /// Checks each flag value with the rule of its field; the error says which flag is wrong.
    pub fn new(values: impl IntoIterator<Item = (Field, Option<String>)>) -> Result<Defaults, String> {
        let mut defaults = Defaults::default();
        let mut invitation = Invitation::default();
        let mut problems = Vec::new();
        for (field, value) in values {
            let Some(value) = value else { continue };
            let trimmed = value.trim();
            if trimmed.is_empty() {
                continue;
            }
            problems.clear();
            check_value(field, trimmed, &mut invitation, &mut problems);
            if let Some(problem) = problems.first() {
                let flag = field.spec().flag.unwrap_or(field.name());
                return Err(format!("--{flag} '{trimmed}': {}", problem.message));
            }
            defaults.values[field.index()] = Some(trimmed.to_string());
        }
        Ok(defaults)
    }

    fn get(&self, field: Field) -> Option<&str> {
        self.values[field.index()].as_deref()
    }
}

/// The verdict on one row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// The normalised values (for an invalid row, the trimmed values as far as they go).
    pub invitation: Invitation,
    pub problems: Vec<Problem>,
    /// Valid, but the same email and reference as an earlier valid row, or a further row
    /// (line item) of an order.
    pub duplicate: bool,
    /// Of a further row of an order: the order's first row, when known (the results name it).
    pub duplicate_of: Option<u64>,
    /// With products asked for: the row's line item, when it names one that can be sent.
    pub product: Option<Product>,
    /// With products asked for: what is wrong with the row's line item. Reported, but not the
    /// row's fault: the order is sent without that product.
    pub product_problems: Vec<Problem>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty() && !self.duplicate
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A 64-bit hash of each valid row's email (in lower case) and reference. The hashes are
/// split in 256 sets, so that growing one (which briefly holds its old and new table) costs a
/// 256th of what growing a single set would: the peak stays near the steady size, 12 to 19
/// bytes a row depending on how full the tables are.
pub struct Seen {
    shards: Vec<HashSet<u64, BuildHasherDefault<Prehashed>>>,
    key: String,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen::new()
    }
}

impl Seen {
    pub fn new() -> Seen {
        Seen { shards: (0..256).map(|_| HashSet::default()).collect(), key: String::new() }
    }

    /// Whether no earlier row had this email (in any case) and reference.
    pub fn insert_row(&mut self, email: &str, reference: &str) -> bool {
        let hash = row_hash(&mut self.key, email, reference);
        // The shard is chosen by middle bits, which hashbrown uses for neither the bucket
        // (low bits) nor the tag (top bits).
        self.shards[((hash >> 28) & 0xff) as usize].insert(hash)
    }

    /// Whether a row had this email (in any case) and reference.
    pub fn contains_row(&self, email: &str, reference: &str) -> bool {
        let hash = row_hash(&mut String::new(), email, reference);
        self.shards[((hash >> 28) & 0xff) as usize].contains(&hash)
    }
}

/// The hash [`Seen`] keeps of a row, built in `key` (a buffer reused between rows).
fn row_hash(key: &mut String, email: &str, reference: &str) -> u64 {
    key.clear();
    key.push_str(&crate::invitation::email_key(email));
    key.push('\u{0}');
    key.push_str(reference);
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// Values the validator reduced to what Trustpilot takes, counted in rows, for the summary.
///
/// Spreadsheets and CRMs write an address in forms a mail server does not take as they are:
/// Excel's text marker (`'jane@example.com`), a link (`mailto:jane@example.com`) or a mail
/// header (`Jane Doe <jane@example.com>`); each is reduced to the address. A reference loses a
/// leading `#` (Shopify's `#1001`) or `'` (Shopify's and Excel's text marker on numbers,
/// `'0042`), which Trustpilot's review links would break on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Notes {
    /// Emails written `'jane@example.com`.
    pub email_quote: u64,
    /// Emails written `mailto:jane@example.com`.
    pub email_mailto: u64,
    /// Emails written `Jane Doe <jane@example.com>` (or `<jane@example.com>`).
    pub email_display_name: u64,
    /// References written `#1001`.
    pub reference_hash: u64,
    /// References written `'1001`.
    pub reference_quote: u64,
}

impl Notes {
    /// Rows whose email was reduced to the address (a row counts once).
    pub fn emails_reduced(&self) -> u64 {
        self.email_quote + self.email_mailto + self.email_display_name
    }

    /// Rows whose reference lost a leading `#` or `'`.
    pub fn references_reduced(&self) -> u64 {
        self.reference_hash + self.reference_quote
    }

    pub fn is_empty(&self) -> bool {
        *self == Notes::default()
    }

    /// One sentence per kind of value reduced, for the summary; none when nothing was.
    ///
    /// `3 emails were reduced to the address: 2 written like 'jane@example.com, 1 written like Jane Doe <jane@example.com>.`
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let forms = |parts: &[(u64, &str)]| -> String {
            parts
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, form)| format!("{n} written like {form}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let emails = self.emails_reduced();
        if emails > 0 {
            let (noun, verb) = if emails == 1 { ("email", "was") } else { ("emails", "were") };
            lines.push(format!(
                "{emails} {noun} {verb} reduced to the address: {}.",
                forms(&[
                    (self.email_quote, "'jane@example.com"),
                    (self.email_mailto, "mailto:jane@example.com"),
                    (self.email_display_name, "Jane Doe <jane@example.com>"),
                ])
            ));
        }
        let references = self.references_reduced();
        if references > 0 {
            // Said of what was read, not sent: true of a dry run and of rows found invalid.
            let noun = if references == 1 { "reference" } else { "references" };
            lines.push(format!(
                "{references} {noun} lost a leading '#' or \"'\" (as shops and spreadsheets write order numbers): {}.",
                forms(&[(self.reference_hash, "#1001"), (self.reference_quote, "'1001")])
            ));
        }
        lines
    }
}

/// The order the rows before belong to, to tell an order's further line items from customers.
#[derive(Debug, Default)]
struct Order {
    reference: String,
    email: String,
    /// The order has a valid row: a row repeating its email and reference adds nothing.
    valid: bool,
    /// The order's first row, when the rows have numbers.
    row: Option<u64>,
}

/// Checks rows one after the other, remembering a compact hash of each valid row's email and
/// reference to find duplicates (not the rows), and the order of the row before.
pub struct Validator {
    defaults: Defaults,
    /// `None` when the caller finds duplicates itself ([`Validator::leave_duplicates`]).
    seen: Option<Seen>,
    order: Order,
    notes: Notes,
    /// Read each row's line item ([`Field::PRODUCT`]).
    products: bool,
}

impl Validator {
    pub fn new(defaults: Defaults) -> Validator {
        Validator {
            defaults,
            seen: Some(Seen::new()),
            order: Order::default(),
            notes: Notes::default(),
            products: false,
        }
    }

    /// Also reads each row's line item (product reviews).
    pub fn with_products(mut self, yes: bool) -> Validator {
        self.products = yes;
        self
    }

    /// The values reduced so far (emails to their address, references without `#` or `'`).
    pub fn notes(&self) -> Notes {
        self.notes
    }

    /// Checks one row into `out`, reusing its buffers.
    pub fn check(&mut self, row: &impl RawRow, out: &mut Checked) {
        out.problems.clear();
        out.duplicate = false;
        out.duplicate_of = None;
        let short = row.short();
        if let Some((found, expected)) = short {
            out.problems.push(Problem::new(
                "row",
                "row.too_few_fields",
                &found.to_string(),
                format!(
                    "This row has {found} of the {expected} columns of the header; it was probably cut or a quote is \
                     missing. Fix the row in the file."
                ),
            ));
        }
        for field in Field::INVITATION {
            let raw = row.get(field);
            let given = raw.as_deref().map(str::trim).filter(|v| !v.is_empty());
            let value = given.or_else(|| self.defaults.get(field));
            if !field.spec().required {
                match value {
                    Some(value) => check_value(field, value, &mut out.invitation, &mut out.problems),
                    None => out.invitation.clear(field),
                }
                continue;
            }
            let value = value.unwrap_or("");
            if value.is_empty() && short.is_some() && raw.is_none() {
                out.invitation.clear(field);
                continue; // already reported as a short row
            }
            let value = match field {
                Field::Email => reduce_email(value, &mut self.notes),
                Field::Reference => reduce_reference(value, &mut self.notes),
                _ => value,
            };
            if value.is_empty() {
                let what = match field {
                    Field::Email => "an email address",
                    Field::Name => "the customer's name",
                    _ => "a reference (such as the order number)",
                };
                let name = field.name();
                out.problems.push(Problem::new(
                    name,
                    code(field, Kind::Required),
                    "",
                    format!("The {name} is empty: every row needs {what}."),
                ));
                out.invitation.clear(field);
                continue;
            }
            check_value(field, value, &mut out.invitation, &mut out.problems);
        }
        if self.products {
            check_product(row, out);
        }
        // An order with several items often has one row per item, and only the first carries
        // the customer (Shopify, Squarespace ...): the others belong to that order.
        let inv = &out.invitation;
        let order = &mut self.order;
        let same_order = !inv.reference().is_empty() && inv.reference() == order.reference;
        if same_order && (inv.email().is_empty() || (order.valid && inv.email().eq_ignore_ascii_case(&order.email))) {
            out.problems.clear();
            out.duplicate = true;
            out.duplicate_of = order.row;
            return;
        }
        if !inv.reference().is_empty() {
            set(&mut order.reference, inv.reference());
            set(&mut order.email, inv.email());
            order.valid = out.problems.is_empty();
            order.row = row.row();
        }
        if out.problems.is_empty()
            && let Some(seen) = &mut self.seen
        {
            out.duplicate = !seen.insert_row(out.invitation.email(), out.invitation.reference());
        }
    }

    /// The rows seen valid so far (none after [`Validator::leave_duplicates`]).
    pub fn into_seen(self) -> Option<Seen> {
        self.seen
    }

    /// Leaves finding duplicates to the caller ([`Seen`]): a dry run does it on its writing
    /// thread, which has time to spare.
    pub fn leave_duplicates(mut self) -> Validator {
        self.seen = None;
        self
    }

    /// The problem line for a duplicate row: of a further row of an order whose first row is
    /// known (`first`), that row.
    pub fn duplicate_problem(invitation: &Invitation, first: Option<u64>) -> Problem {
        let message = match first {
            // Said of the first row whatever became of it: invited, left out by a rule, or
            // invalid (then fixing it invites the order).
            Some(first) => format!(
                "A further row of order {}: row {first} stands for the order (one invitation per order), so this \
                 row is not sent on its own.",
                invitation.reference()
            ),
            None => "An earlier row has the same email and reference (or is the same order), so this one is not \
                     sent: one invitation per order."
                .to_string(),
        };
        Problem::new("row", "row.duplicate", &format!("{} / {}", invitation.email(), invitation.reference()), message)
    }
}

fn set(slot: &mut String, value: &str) {
    slot.clear();
    slot.push_str(value);
}

/// A row's line item: its product fields, checked. A SKU and a name are needed; a line item
/// with a problem is reported and left out of the order.
fn check_product(row: &impl RawRow, out: &mut Checked) {
    out.product = None;
    out.product_problems.clear();
    let mut any = false;
    for field in Field::PRODUCT {
        let raw = row.get(field);
        match raw.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(value) => {
                any = true;
                check_value(field, value, &mut out.invitation, &mut out.product_problems);
            }
            None => out.invitation.clear(field),
        }
    }
    if !any {
        return;
    }
    for (field, code, what) in
        [(Field::ProductSku, "product.sku_missing", "SKU"), (Field::ProductName, "product.name_missing", "name")]
    {
        if out.invitation.get(field).is_none() {
            out.product_problems.push(Problem::new(
                field.name(),
                code,
                "",
                format!(
                    "This line item has no product {what}: Trustpilot needs a SKU and a name for each product. The \
                     order is invited without it; add the {what} in the file to include it."
                ),
            ));
        }
    }
    if out.product_problems.is_empty() {
        out.product = Some(Product::of(&out.invitation));
    }
}

/// The address inside the forms spreadsheets and CRMs write it in (see [`Notes`]), counted.
pub(crate) fn reduce_email<'v>(value: &'v str, notes: &mut Notes) -> &'v str {
    let mut value = value;
    let b = value.as_bytes();
    // Most addresses are none of these: three byte tests say so.
    if b.first() != Some(&b'\'') && !matches!(b.first(), Some(b'm' | b'M')) && b.last() != Some(&b'>') {
        return value;
    }
    if let Some(rest) = value.strip_prefix('\'') {
        notes.email_quote += 1;
        value = rest.trim_start();
    }
    if value.len() > 7 && value.is_char_boundary(7) && value[..7].eq_ignore_ascii_case("mailto:") {
        notes.email_mailto += 1;
        // A link may carry a subject or body after `?`.
        value = value[7..].split('?').next().unwrap_or("").trim();
    }
    if let Some(inner) = value.strip_suffix('>')
        && let Some(open) = inner.rfind('<')
    {
        let address = inner[open + 1..].trim();
        if address.contains('@') {
            notes.email_display_name += 1;
            value = address;
        }
    }
    value
}

/// The reference without a leading `'` (a text marker) or `#` (an order name), counted.
fn reduce_reference<'v>(value: &'v str, notes: &mut Notes) -> &'v str {
    let mut value = value;
    if let Some(rest) = value.strip_prefix('\'') {
        notes.reference_quote += 1;
        value = rest.trim_start();
    }
    if let Some(rest) = value.strip_prefix('#') {
        notes.reference_hash += 1;
        value = rest.trim_start();
    }
    value
}

/// Checks one value (trimmed, not empty) with its field's rule, and puts it, normalised, in
/// `inv`.
fn check_value(field: Field, value: &str, inv: &mut Invitation, problems: &mut Vec<Problem>) {
    let name = field.name();
    match field.spec().rule {
        Rule::Email => {
            if let Err(problem) = check_email(field, value) {
                problems.push(problem);
            }
        }
        Rule::Name | Rule::Text => check_text(field, value, problems),
        Rule::Reference => {
            check_text(field, value, problems);
            let forbidden = value.bytes().any(|b| REFERENCE_FORBIDDEN.contains(&char::from(b)));
            let bad: Vec<char> = match forbidden {
                false => Vec::new(),
                true => REFERENCE_FORBIDDEN.iter().copied().filter(|c| value.contains(*c)).collect(),
            };
            if !bad.is_empty() {
                let list: Vec<String> = bad.iter().map(|c| format!("'{c}'")).collect();
                problems.push(Problem::new(
                    name,
                    code(field, Kind::InvalidChar),
                    value,
                    format!(
                        "The reference contains {}, which breaks Trustpilot's review links; remove {} (none of # * + \" % & may appear).",
                        list.join(" and "),
                        if bad.len() == 1 { "it" } else { "them" }
                    ),
                ));
            }
        }
        Rule::Tags => {
            // Kept joined with `,`, built in the field's own buffer.
            let slot = inv.slot(field);
            slot.clear();
            for tag in value.split([',', ';', '|']).map(str::trim).filter(|t| !t.is_empty()) {
                if let Some(bad) = tag.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
                    let what = if bad == ' ' {
                        format!(
                            "The tag '{tag}' has a space; tags may hold only letters, digits, _ - and . (write {}).",
                            tag.split_whitespace().collect::<Vec<_>>().join("_")
                        )
                    } else {
                        format!(
                            "The tag '{tag}' has the character '{}'; tags may hold only letters a-z A-Z, digits, _ - and .",
                            bad.escape_default()
                        )
                    };
                    problems.push(Problem::new(name, code(field, Kind::InvalidChar), tag, what));
                }
                if !slot.is_empty() {
                    slot.push(',');
                }
                slot.push_str(tag);
            }
            return;
        }
        Rule::Locale => {
            match normalise_locale(value) {
                Some(locale) => inv.set(field, locale),
                None => {
                    problems.push(Problem::new(
                        name,
                        code(field, Kind::Unknown),
                        value,
                        format!(
                            "The locale '{}' is not one of Trustpilot's invitation locales ({}); leave it empty to use the account's default.",
                            clipped(value, SHOWN),
                            LOCALES.join(" ")
                        ),
                    ));
                    inv.set(field, value);
                }
            }
            return;
        }
        Rule::Url => {
            if let Err(message) = check_url(value) {
                problems.push(Problem::new(name, code(field, Kind::Invalid), value, message));
            }
        }
        Rule::SendTime => match parse_send_time(value) {
            Some(utc) if crate::schedule::YEARS.contains(&utc.year()) => {
                let slot = inv.slot(field);
                slot.clear();
                write_utc(utc, slot);
                return;
            }
            Some(utc) => problems.push(Problem::new(
                name,
                code(field, Kind::Invalid),
                value,
                format!(
                    "The send time '{}' is in the year {} (UTC); write a time from {} to {}, or leave it empty to send \
                     at once.",
                    clipped(value, SHOWN),
                    utc.year(),
                    crate::schedule::YEARS.start(),
                    crate::schedule::YEARS.end()
                ),
            )),
            None => problems.push(Problem::new(
                name,
                code(field, Kind::Invalid),
                value,
                format!(
                    "The send time '{}' is not a date or date-time; write it as 2026-12-01, 2026-12-01T09:00:00 (UTC) or \
                     2026-12-01T09:00:00+01:00.",
                    clipped(value, SHOWN)
                ),
            )),
        },
    }
    inv.set(field, value);
}

/// Control characters and length, for any free-text field.
fn check_text(field: Field, value: &str, problems: &mut Vec<Problem>) {
    let name = field.name();
    let control = if value.is_ascii() {
        value.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        value.chars().any(char::is_control)
    };
    if control {
        problems.push(Problem::new(
            name,
            code(field, Kind::ControlChar),
            value,
            format!("The {name} contains a control character (a tab or line break); remove it."),
        ));
    }
    let len = if value.len() > MAX_TEXT { value.chars().count() } else { value.len() };
    if len > MAX_TEXT {
        problems.push(Problem::new(
            name,
            code(field, Kind::TooLong),
            value,
            format!("The {name} is {len} characters long; Trustpilot accepts at most {MAX_TEXT}."),
        ));
    }
}

/// `en_us`, `EN-us` -> `en-US`, if Trustpilot knows it.
pub fn normalise_locale(value: &str) -> Option<&'static str> {
    let b = value.trim().as_bytes();
    if b.len() != 5 || !matches!(b[2], b'-' | b'_') {
        return None;
    }
    let key = [
        b[0].to_ascii_lowercase(),
        b[1].to_ascii_lowercase(),
        b'-',
        b[3].to_ascii_uppercase(),
        b[4].to_ascii_uppercase(),
    ];
    // Every row of most files has a locale: compared as numbers, not strings.
    LOCALE_KEYS.binary_search(&locale_key(key)).ok().map(|i| LOCALES[i])
}

/// A locale's five bytes as one number that sorts as the text does.
const fn locale_key(b: [u8; 5]) -> u64 {
    u64::from_be_bytes([0, 0, 0, b[0], b[1], b[2], b[3], b[4]])
}

/// [`LOCALES`] as [`locale_key`]s, in the same order.
const LOCALE_KEYS: [u64; LOCALES.len()] = {
    let mut keys = [0; LOCALES.len()];
    let mut i = 0;
    while i < LOCALES.len() {
        let b = LOCALES[i].as_bytes();
        keys[i] = locale_key([b[0], b[1], b[2], b[3], b[4]]);
        i += 1;
    }
    keys
};

/// A date-time (ISO 8601, with or without offset; without one it is UTC) or a date, to UTC
/// `YYYY-MM-DDTHH:MM:SS`.
pub fn normalise_send_time(value: &str) -> Option<String> {
    let utc = parse_send_time(value).filter(|utc| crate::schedule::YEARS.contains(&utc.year()))?;
    let mut text = String::with_capacity(19);
    write_utc(utc, &mut text);
    Some(text)
}

fn parse_send_time(value: &str) -> Option<NaiveDateTime> {
    let value = value.trim();
    // The common shapes are parsed by hand: chrono's format strings cost more than the rest
    // of a row's checks together. Anything else goes through chrono.
    iso_fast(value.as_bytes()).or_else(|| iso_chrono(value))
}

/// `dt` as Trustpilot's `YYYY-MM-DDTHH:MM:SS`, appended to `text`.
pub(crate) fn write_utc(dt: NaiveDateTime, text: &mut String) {
    use chrono::{Datelike, Timelike};
    let year = dt.year().clamp(0, 9999) as u32;
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    text.extend([digit(year / 1000), digit(year / 100), digit(year / 10), digit(year)]);
    for (separator, n) in [('-', dt.month()), ('-', dt.day()), ('T', dt.hour()), (':', dt.minute()), (':', dt.second())]
    {
        text.extend([separator, digit(n / 10), digit(n)]);
    }
}

/// `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS[.fraction]]` and `Z`,
/// `±HH:MM` or `±HHMM`, as UTC (no offset: UTC).
fn iso_fast(b: &[u8]) -> Option<NaiveDateTime> {
    let (local, offset_minutes) = iso_parts(b)?;
    local.checked_sub_signed(chrono::TimeDelta::minutes(offset_minutes.unwrap_or(0)))
}

/// The forms of [`iso_fast`] (and Shopify's space before the offset, `14:05:09 +0100`): the
/// date-time as written and its offset in minutes, `None` when none is written (`Z` is 0).
pub(crate) fn iso_parts(b: &[u8]) -> Option<(NaiveDateTime, Option<i64>)> {
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    if b.len() == 10 {
        return Some((date.and_hms_opt(0, 0, 0)?, None));
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let mut second = 0;
    if b.get(i) == Some(&b':') {
        second = num(i + 1..i + 3)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
    }
    let local = date.and_hms_opt(hour, minute, second)?;
    let offset = match &b[i..] {
        [b' ', b'+' | b'-', ..] => &b[i + 1..],
        offset => offset,
    };
    let offset_minutes: i64 = match offset {
        [] => return Some((local, None)),
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    let two = |a: u8, c: u8| {
                        (a.is_ascii_digit() && c.is_ascii_digit()).then(|| i64::from((a - b'0') * 10 + (c - b'0')))
                    };
                    (two(*h1, *h2)?, two(*m1, *m2)?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'+' { h * 60 + m } else { -(h * 60 + m) }
        }
        _ => return None,
    };
    Some((local, Some(offset_minutes)))
}

/// The ISO forms with an offset that [`iso_fast`] does not read (a minus sign `−`, `+01 00`, a
/// leap second), as UTC.
pub(crate) fn iso_chrono(value: &str) -> Option<NaiveDateTime> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Some(dt.with_timezone(&Utc).naive_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z"] {
        if let Ok(dt) = DateTime::parse_from_str(value, format) {
            return Some(dt.with_timezone(&Utc).naive_utc());
        }
    }
    None
}

fn check_url(value: &str) -> Result<(), String> {
    if plain_web_address(value.as_bytes()) {
        return Ok(());
    }
    check_url_fully(value)
}

fn check_url_fully(full: &str) -> Result<(), String> {
    let value = clipped(full, SHOWN);
    let advice = "write a full address such as https://example.com/thanks";
    match url::Url::parse(full) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            if url.host_str().is_none_or(str::is_empty) {
                Err(format!("The link '{value}' has no host; {advice}."))
            } else if full.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err(format!("The link '{value}' contains a space; {advice}."))
            } else {
                Ok(())
            }
        }
        Ok(url) => Err(format!(
            "The link '{value}' is a {}: link; only http:// and https:// are allowed: {advice}.",
            url.scheme()
        )),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            Err(format!("The link '{value}' is not a complete web address (it lacks https://); {advice}."))
        }
        Err(_) => Err(format!("The link '{value}' is not a valid web address; {advice}.")),
    }
}

/// The common case in one pass: `http(s)://host.name[:port][/path?query#fragment]` in
/// plain ASCII. Anything else is left to the `url` crate.
fn plain_web_address(b: &[u8]) -> bool {
    let rest = match b {
        [b'h', b't', b't', b'p', b's', b':', b'/', b'/', rest @ ..]
        | [b'h', b't', b't', b'p', b':', b'/', b'/', rest @ ..] => rest,
        _ => return false,
    };
    let end = rest.iter().position(|c| matches!(c, b'/' | b'?' | b'#')).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.iter().position(|&c| c == b':') {
        Some(colon) => {
            let port = &authority[colon + 1..];
            if port.is_empty() || port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
                return false;
            }
            &authority[..colon]
        }
        None => authority,
    };
    let labels_ok = host.split(|&c| c == b'.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label[0] != b'-'
            && label[label.len() - 1] != b'-'
            && label.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
    });
    let tail_ok = tail.iter().all(|&c| c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&c));
    // A numeric last label makes the host an IPv4 address to the URL standard: left to `url`.
    // So does a hexadecimal one (`0x`, `0x1f`).
    let numeric_end = host.rsplit(|&c| c == b'.').next().is_some_and(|last| {
        last.iter().all(u8::is_ascii_digit)
            || matches!(last, [b'0', b'x' | b'X', hex @ ..] if hex.iter().all(u8::is_ascii_hexdigit))
    });
    !host.is_empty() && labels_ok && tail_ok && !numeric_end
}

/// One email address: `local@domain`, the domain with a dot and valid labels, no spaces, at
/// most 254 characters.
pub(crate) fn check_email(field: Field, value: &str) -> Result<(), Problem> {
    if plain_ascii_address(value.as_bytes()) {
        return Ok(());
    }
    check_email_fully(field, value)
}

fn check_email_fully(field: Field, value: &str) -> Result<(), Problem> {
    let fail = |suffix: &str, why: String| {
        let kind = match suffix {
            "too_long" => Kind::TooLong,
            "multiple" => Kind::Multiple,
            _ => Kind::Invalid,
        };
        Err(Problem::new(field.name(), code(field, kind), value, why))
    };
    let len = if value.len() > MAX_EMAIL { value.chars().count() } else { value.len() };
    if len > MAX_EMAIL {
        return fail("too_long", format!("The address is {len} characters long; at most {MAX_EMAIL} are allowed."));
    }
    let ats = value.matches('@').count();
    if ats > 1 && value.contains([',', ';', ' ']) {
        return fail("multiple", "This looks like more than one address; put a single address in the field.".into());
    }
    if value.chars().any(char::is_whitespace) {
        return fail("invalid", format!("The address '{value}' contains a space; an email address has none."));
    }
    if let Some(c) = value.chars().find(|&c| is_invisible(c)) {
        return fail(
            "invalid",
            format!(
                "The address '{value}' contains an invisible character (U+{:04X}), often pasted in by accident; \
                 retype the address.",
                c as u32
            ),
        );
    }
    if let Some(wide) = value.chars().find(|&c| narrow(c).is_some()) {
        let retyped: String = value.chars().map(|c| narrow(c).unwrap_or(c)).collect();
        return fail(
            "invalid",
            format!(
                "The address '{value}' contains the full-width character '{wide}' (U+{:04X}), as typed on a Chinese, \
                 Japanese or Korean keyboard; mail servers do not take it. Retype the address as '{retyped}'.",
                wide as u32
            ),
        );
    }
    let Some((local, domain)) = value.split_once('@') else {
        return fail(
            "invalid",
            format!("The address '{value}' has no '@'; write an address such as jane@example.com."),
        );
    };
    if domain.contains('@') {
        return fail(
            "multiple",
            format!("The address '{value}' has more than one '@'; put a single address in the field."),
        );
    }
    if local.is_empty() || local.len() > 64 {
        return fail("invalid", format!("The address '{value}' has no valid part before the '@'."));
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c) || (!c.is_ascii() && !c.is_control()));
    if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return fail(
            "invalid",
            format!("In the address '{value}', the part before the '@' has a character or dot that is not allowed."),
        );
    }
    if !domain.contains('.') {
        return fail(
            "invalid",
            format!("In the address '{value}', the domain '{domain}' has no dot (such as example.com)."),
        );
    }
    for label in domain.split('.') {
        let ok = !label.is_empty()
            && label.chars().count() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !ok {
            return fail(
                "invalid",
                format!("In the address '{value}', the domain '{domain}' is not a valid domain name."),
            );
        }
    }
    let tld = domain.rsplit('.').next().unwrap_or("");
    if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return fail(
            "invalid",
            format!("In the address '{value}', the domain '{domain}' does not end in a valid top-level domain."),
        );
    }
    Ok(())
}

/// The common case in one pass over the bytes: an ASCII address that obeys every rule.
/// Anything else takes the slower path of [`check_email`], which also says what is wrong.
fn plain_ascii_address(b: &[u8]) -> bool {
    if b.len() > MAX_EMAIL {
        return false;
    }
    let Some(at) = b.iter().position(|&c| c == b'@') else { return false };
    let (local, domain) = (&b[..at], &b[at + 1..]);
    let atext = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&c);
    if local.is_empty() || local.len() > 64 || local[0] == b'.' || local[local.len() - 1] == b'.' {
        return false;
    }
    let mut previous_dot = false;
    for &c in local {
        let dot = c == b'.';
        if !(dot || atext(c)) || (dot && previous_dot) {
            return false;
        }
        previous_dot = dot;
    }
    let mut labels = 0;
    let mut last_label: &[u8] = &[];
    for label in domain.split(|&c| c == b'.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label[0] != b'-'
            && label[label.len() - 1] != b'-'
            && label.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-');
        if !ok {
            return false;
        }
        labels += 1;
        last_label = label;
    }
    labels >= 2 && last_label.len() >= 2 && !last_label.iter().all(u8::is_ascii_digit)
}

/// Characters that show as nothing: zero-width spaces and joiners, the BOM, soft hyphens,
/// direction marks.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// The ordinary ASCII character a full-width one (`ｇ`, `＠`, `１`) stands for.
fn narrow(c: char) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        _ => None,
    }
}

/// What is wrong with a value, as the second half of its code (`email.invalid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Required,
    ControlChar,
    TooLong,
    Invalid,
    InvalidChar,
    Unknown,
    Multiple,
}

const KINDS: [&str; 7] = ["required", "control_char", "too_long", "invalid", "invalid_char", "unknown", "multiple"];

/// `field.kind` as a static code, made once for every field of the table.
fn code(field: Field, kind: Kind) -> &'static str {
    static CODES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let codes = CODES.get_or_init(|| {
        FIELDS.iter().flat_map(|spec| KINDS.iter().map(move |kind| &*format!("{}.{kind}", spec.name).leak())).collect()
    });
    codes[field.index() * KINDS.len() + kind as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row given as (field, value) pairs; fields not listed have no column.
    struct Row(Vec<(Field, &'static str)>, Option<(usize, usize)>);

    impl RawRow for Row {
        fn get(&self, field: Field) -> Option<Cow<'_, str>> {
            self.0.iter().find(|(f, _)| *f == field).map(|(_, v)| Cow::Borrowed(*v))
        }
        fn short(&self) -> Option<(usize, usize)> {
            self.1
        }
    }

    fn base() -> Vec<(Field, &'static str)> {
        vec![(Field::Email, "jane@example.com"), (Field::Name, "Jane Doe"), (Field::Reference, "ORD-1")]
    }

    fn check_with(fields: Vec<(Field, &'static str)>) -> Checked {
        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        validator.check(&Row(fields, None), &mut out);
        out
    }

    /// The codes reported when `field` holds `value` in an otherwise valid row.
    fn codes(field: Field, value: &'static str) -> Vec<&'static str> {
        let mut fields: Vec<_> = base().into_iter().filter(|(f, _)| *f != field).collect();
        fields.push((field, value));
        check_with(fields).problems.iter().map(|p| p.code).collect()
    }

    #[test]
    fn email_rules() {
        let long = Box::leak(format!("{}@example.com", "a".repeat(250)).into_boxed_str());
        let table: [(&'static str, &[&str]); 21] = [
            ("jane@example.com", &[]),
            ("  Jane.Doe+shop@Example.CO.uk ", &[]),
            ("o'brien@example.ie", &[]),
            ("jörg@bücher.example.de", &[]),
            ("", &["email.required"]),
            ("   ", &["email.required"]),
            ("jane example.com", &["email.invalid"]),
            ("jane @example.com", &["email.invalid"]),
            ("jane.example.com", &["email.invalid"]),
            ("jane@example", &["email.invalid"]),
            ("jane@-example.com", &["email.invalid"]),
            ("jane@example..com", &["email.invalid"]),
            ("jane@example.c", &["email.invalid"]),
            ("jane@127.0.0.1", &["email.invalid"]),
            (".jane@example.com", &["email.invalid"]),
            ("jane..doe@example.com", &["email.invalid"]),
            ("a@example.com, b@example.com", &["email.multiple"]),
            ("a@b@example.com", &["email.multiple"]),
            ("Jane <jane@example.com>", &[]),
            ("ann\u{200B}@example.com", &["email.invalid"]),
            (long, &["email.too_long"]),
        ];
        for (value, expected) in table {
            assert_eq!(codes(Field::Email, value), expected, "{value:?}");
        }
    }

    #[test]
    fn name_and_reference_rules() {
        let long = Box::leak("x".repeat(256).into_boxed_str());
        let ok = Box::leak("é".repeat(255).into_boxed_str());
        let table: [(Field, &'static str, &[&str]); 15] = [
            (Field::Name, "", &["name.required"]),
            (Field::Name, "Jane\tDoe", &["name.control_char"]),
            (Field::Name, "Jane\nDoe", &["name.control_char"]),
            (Field::Name, long, &["name.too_long"]),
            (Field::Name, ok, &[]),
            (Field::Reference, "", &["reference.required"]),
            (Field::Reference, "#1001", &[]),
            (Field::Reference, "A#1001", &["reference.invalid_char"]),
            (Field::Reference, "A*1", &["reference.invalid_char"]),
            (Field::Reference, "A+1", &["reference.invalid_char"]),
            (Field::Reference, "A\"1", &["reference.invalid_char"]),
            (Field::Reference, "50%", &["reference.invalid_char"]),
            (Field::Reference, "A&B", &["reference.invalid_char"]),
            (Field::Reference, long, &["reference.too_long"]),
            (Field::Reference, "INV/2026-001_a.b", &[]),
        ];
        for (field, value, expected) in table {
            assert_eq!(codes(field, value), expected, "{field} {value:?}");
        }
    }

    #[test]
    fn optional_field_rules() {
        let table: [(Field, &'static str, &[&str]); 22] = [
            (Field::Tags, "spring_sale, vip;2026|a.b-c", &[]),
            (Field::Tags, "spring sale", &["tags.invalid_char"]),
            (Field::Tags, "vip,sale!", &["tags.invalid_char"]),
            (Field::Tags, "bad tag,also bad", &["tags.invalid_char", "tags.invalid_char"]),
            (Field::RedirectUri, "https://example.com/thanks?x=1", &[]),
            (Field::RedirectUri, "http://shop.example.com", &[]),
            (Field::RedirectUri, "example.com", &["redirect_uri.invalid"]),
            (Field::RedirectUri, "ftp://example.com/x", &["redirect_uri.invalid"]),
            (Field::RedirectUri, "https://", &["redirect_uri.invalid"]),
            (Field::RedirectUri, "javascript:alert(1)", &["redirect_uri.invalid"]),
            (Field::Locale, "en-US", &[]),
            (Field::Locale, "en_us", &[]),
            (Field::Locale, "EN-us", &[]),
            (Field::Locale, "xx-XX", &["locale.unknown"]),
            (Field::Locale, "en", &["locale.unknown"]),
            (Field::PreferredSendTime, "2026-12-01", &[]),
            (Field::PreferredSendTime, "next tuesday", &["preferred_send_time.invalid"]),
            (Field::PreferredSendTime, "2026-13-45", &["preferred_send_time.invalid"]),
            (Field::SenderEmail, "shop@example.com", &[]),
            (Field::SenderEmail, "shop@", &["sender_email.invalid"]),
            (Field::ReplyTo, "help at example.com", &["reply_to.invalid"]),
            (Field::SenderName, "Shop\u{7}", &["sender_name.control_char"]),
        ];
        for (field, value, expected) in table {
            assert_eq!(codes(field, value), expected, "{field} {value:?}");
        }
    }

    #[test]
    fn send_times_become_utc() {
        let table = [
            ("2026-12-01", Some("2026-12-01T00:00:00")),
            ("2026-12-01T09:00:00", Some("2026-12-01T09:00:00")),
            ("2026-12-01T09:00", Some("2026-12-01T09:00:00")),
            ("2026-12-01 09:00:00", Some("2026-12-01T09:00:00")),
            ("2026-12-01T09:00:00Z", Some("2026-12-01T09:00:00")),
            ("2026-12-01T09:00:00.123Z", Some("2026-12-01T09:00:00")),
            ("2026-12-01T09:00:00+01:00", Some("2026-12-01T08:00:00")),
            ("2026-12-01T01:30:00-05:00", Some("2026-12-01T06:30:00")),
            ("2026-12-01T09:00:00+0100", Some("2026-12-01T08:00:00")),
            ("2026-12-01 09:00:00 +0100", Some("2026-12-01T08:00:00")),
            ("2026-12-01 09:00:00 −01:00", Some("2026-12-01T10:00:00")),
            ("2026-12-01 09:00:00  +0100", Some("2026-12-01T08:00:00")),
            ("2026-12-01T00:30:00+02:00", Some("2026-11-30T22:30:00")),
            ("2026-12-01t09:00:00z", Some("2026-12-01T09:00:00")),
            ("2026-12-31T23:30:00-01:00", Some("2027-01-01T00:30:00")),
            ("2026-12-01T09:00:00+25:00", None),
            ("2026-12-01T24:00:00", None),
            ("2026-12-01T09:00:00 ", Some("2026-12-01T09:00:00")),
            ("2026-12-01X09:00", None),
            ("01/12/2026", None),
            ("2026-02-30", None),
            ("", None),
            // Only the years an invitation can mean, checked in UTC.
            ("1970-01-01T00:00:00Z", Some("1970-01-01T00:00:00")),
            ("1970-01-01T00:00:00+01:00", None),
            ("1900-01-01", None),
            ("0000-01-01T00:00:00+01:00", None),
            ("2199-12-31T23:59:59Z", Some("2199-12-31T23:59:59")),
            ("2199-12-31T23:59:59-00:01", None),
        ];
        for (value, expected) in table {
            assert_eq!(normalise_send_time(value).as_deref(), expected, "{value:?}");
        }
    }

    #[test]
    fn a_send_time_out_of_the_years_and_long_cells_are_named_briefly() {
        let problem = |field: Field, value: &str| {
            let mut inv = Invitation::default();
            let mut problems = Vec::new();
            check_value(field, value, &mut inv, &mut problems);
            problems.pop().map(|p| (p.code, p.message)).unwrap_or_default()
        };
        let (code, message) = problem(Field::PreferredSendTime, "1900-01-01");
        assert_eq!(code, "preferred_send_time.invalid");
        assert_eq!(
            message,
            "The send time '1900-01-01' is in the year 1900 (UTC); write a time from 1970 to 2199, or leave it empty \
             to send at once."
        );
        // A 10,000-character cell is quoted by its first 60 characters.
        let long = "x".repeat(10_000);
        for field in [Field::PreferredSendTime, Field::Locale, Field::RedirectUri] {
            let (_, message) = problem(field, &long);
            assert!(message.contains(&format!("'{}…'", "x".repeat(60))), "{field:?}: {message}");
            assert!(message.len() < 400, "{field:?}: {} bytes", message.len());
        }
    }

    #[test]
    fn locales_are_sorted_for_binary_search() {
        assert!(LOCALES.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(LOCALE_KEYS.windows(2).all(|pair| pair[0] < pair[1]));
        for locale in LOCALES {
            assert_eq!(normalise_locale(locale), Some(locale));
        }
    }

    #[test]
    fn the_fast_email_check_accepts_only_what_the_full_one_accepts() {
        let valid = ["a@b.co", "a.b@c.de", "x+y@sub.example.org", "o'brien@example.ie", "a-b_c@x-y.example.com"];
        for value in valid {
            assert!(plain_ascii_address(value.as_bytes()), "{value}");
            assert!(check_email_fully(Field::Email, value).is_ok(), "{value}");
        }
        for value in ["a..b@c.de", "a@b", "a@-b.co", "a@b.c", "a@1.23", "@b.co", "a@b.co.", "a@@b.co", "a b@c.de"] {
            assert!(!plain_ascii_address(value.as_bytes()), "{value}");
            assert!(check_email_fully(Field::Email, value).is_err(), "{value}");
        }
    }

    #[test]
    fn the_fast_url_check_accepts_only_what_the_url_crate_accepts() {
        let plain = [
            "https://example.com",
            "http://shop.example.com/thanks?a=1&b=2#top",
            "https://x.io:8443/p",
            "https://a-b.example.org/%20",
        ];
        for value in plain {
            assert!(plain_web_address(value.as_bytes()), "{value}");
            assert!(url::Url::parse(value).is_ok(), "{value}");
        }
        for value in [
            "https://",
            "https://-a.com",
            "https://a..com/",
            "ftp://a.com",
            "https://a.com:/",
            "https://a.com/ x",
            "https://a.com:123456",
            "http://a.0x?",
            "https://shop.0x1f/",
        ] {
            assert!(!plain_web_address(value.as_bytes()), "{value}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_url_check_never_accepts_more(value in "https?://[a-z0-9.:-]{0,12}[/?#]?[a-z0-9/?#%.=&-]{0,12}") {
            if plain_web_address(value.as_bytes()) {
                proptest::prop_assert!(check_url_fully(&value).is_ok(), "{}", value);
            }
        }

        #[test]
        fn the_fast_email_check_never_accepts_more(value in "[a-z0-9.@+_-]{0,12}(@[a-z0-9.-]{0,12})?") {
            if plain_ascii_address(value.as_bytes()) {
                proptest::prop_assert!(check_email_fully(Field::Email, &value).is_ok(), "{}", value);
            }
        }
    }

    #[test]
    fn locales_normalise() {
        assert_eq!(normalise_locale("en_us"), Some("en-US"));
        assert_eq!(normalise_locale("EN-us"), Some("en-US"));
        assert_eq!(normalise_locale("de_ch"), Some("de-CH"));
        assert_eq!(normalise_locale("en-XX"), None);
        assert_eq!(normalise_locale("e-nUS"), None);
    }

    #[test]
    fn every_problem_of_a_row_is_reported_and_values_are_trimmed() {
        let out = check_with(vec![
            (Field::Email, " bad "),
            (Field::Name, ""),
            (Field::Reference, "R#1"),
            (Field::Locale, "xx"),
            (Field::Tags, "a b"),
        ]);
        let codes: Vec<_> = out.problems.iter().map(|p| (p.field, p.code)).collect();
        assert_eq!(
            codes,
            [
                ("email", "email.invalid"),
                ("name", "name.required"),
                ("reference", "reference.invalid_char"),
                ("locale", "locale.unknown"),
                ("tags", "tags.invalid_char"),
            ]
        );
        assert_eq!(out.invitation.email(), "bad");
        assert!(!out.is_valid());
    }

    #[test]
    fn normalised_values_are_what_is_sent() {
        let mut fields = base();
        fields.extend([
            (Field::Locale, " en_gb "),
            (Field::Tags, "a; b |c"),
            (Field::PreferredSendTime, "2026-12-01T10:00:00+01:00"),
        ]);
        let out = check_with(fields);
        assert!(out.is_valid(), "{:?}", out.problems);
        assert_eq!(out.invitation.get(Field::Locale), Some("en-GB"));
        assert_eq!(out.invitation.tags().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(out.invitation.get(Field::PreferredSendTime), Some("2026-12-01T09:00:00"));
        assert_eq!(out.invitation.get(Field::RedirectUri), None);
    }

    #[test]
    fn duplicates_by_email_ignoring_case_and_reference() {
        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        let rows = [
            ("jane@example.com", "ORD-1", false),
            ("JANE@Example.com", "ORD-1", true),
            ("jane@example.com", "ORD-2", false),
            ("john@example.com", "ORD-1", false),
            ("jane@example.com", "ord-1", false),
        ];
        for (email, reference, duplicate) in rows {
            validator.check(
                &Row(vec![(Field::Email, email), (Field::Name, "J"), (Field::Reference, reference)], None),
                &mut out,
            );
            assert_eq!(out.duplicate, duplicate, "{email} {reference}");
            assert!(out.problems.is_empty());
        }
    }

    #[test]
    fn an_invalid_row_does_not_make_a_later_row_a_duplicate() {
        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        let bad = Row(vec![(Field::Email, "jane@example.com"), (Field::Name, ""), (Field::Reference, "R")], None);
        validator.check(&bad, &mut out);
        assert!(!out.is_valid());
        let good = Row(vec![(Field::Email, "jane@example.com"), (Field::Name, "Jane"), (Field::Reference, "R")], None);
        validator.check(&good, &mut out);
        assert!(out.is_valid());
    }

    #[test]
    fn defaults_fill_absent_and_empty_values_and_are_checked() {
        let defaults = Defaults::new([
            (Field::Locale, Some("da_dk".to_string())),
            (Field::Tags, Some("newsletter".to_string())),
            (Field::SenderName, None),
        ])
        .unwrap();
        let mut validator = Validator::new(defaults);
        let mut out = Checked::default();
        let mut fields = base();
        fields.push((Field::Locale, ""));
        validator.check(&Row(fields, None), &mut out);
        assert_eq!(out.invitation.get(Field::Locale), Some("da-DK"));
        assert_eq!(out.invitation.tags().collect::<Vec<_>>(), ["newsletter"]);

        let err = Defaults::new([(Field::RedirectUri, Some("example.com".to_string()))]).unwrap_err();
        assert!(err.starts_with("--redirect-uri 'example.com': "), "{err}");
        let err = Defaults::new([(Field::Locale, Some("klingon".to_string()))]).unwrap_err();
        assert!(err.starts_with("--locale 'klingon': "), "{err}");
    }

    #[test]
    fn a_short_row_is_invalid_once_not_once_per_missing_column() {
        let row = Row(vec![(Field::Email, "jane@example.com")], Some((1, 3)));
        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        validator.check(&row, &mut out);
        let codes: Vec<_> = out.problems.iter().map(|p| p.code).collect();
        assert_eq!(codes, ["row.too_few_fields"]);
    }

    /// Checks `rows` (email, name, reference) in turn; what each came out as.
    fn statuses(rows: &[(&'static str, &'static str, &'static str)]) -> Vec<&'static str> {
        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        rows.iter()
            .map(|&(email, name, reference)| {
                let row = Row(vec![(Field::Email, email), (Field::Name, name), (Field::Reference, reference)], None);
                validator.check(&row, &mut out);
                match (out.duplicate, out.problems.is_empty()) {
                    (true, true) => "duplicate",
                    (false, true) => "ready",
                    _ => "invalid",
                }
            })
            .collect()
    }

    /// A row with its number in the file.
    struct Numbered(Row, u64);

    impl RawRow for Numbered {
        fn get(&self, field: Field) -> Option<Cow<'_, str>> {
            self.0.get(field)
        }
        fn row(&self) -> Option<u64> {
            Some(self.1)
        }
    }

    #[test]
    fn a_further_row_of_an_order_names_the_orders_first_row() {
        let rows = [
            ("a@example.com", "Ann", "#1001", None),
            ("a@example.com", "", "#1001", Some(1)),
            ("", "", "1001", Some(1)),
            ("b@example.com", "Bo", "1002", None),
            ("", "", "1002", Some(4)),
            // The same email and reference as row 1, but not next to it: which row is not known.
            ("a@example.com", "Ann", "1001", None),
        ];
        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        for (i, &(email, name, reference, first)) in rows.iter().enumerate() {
            let row = Row(vec![(Field::Email, email), (Field::Name, name), (Field::Reference, reference)], None);
            validator.check(&Numbered(row, i as u64 + 1), &mut out);
            assert!(out.problems.is_empty(), "row {}", i + 1);
            assert_eq!(out.duplicate, i != 0 && i != 3, "row {}", i + 1);
            assert_eq!(out.duplicate_of, first, "row {}", i + 1);
        }
        let invitation = Invitation::default().with(Field::Reference, "1001");
        assert_eq!(
            Validator::duplicate_problem(&invitation, Some(2)).message,
            "A further row of order 1001: row 2 stands for the order (one invitation per order), so this row is not \
             sent on its own."
        );
        assert_eq!(
            Validator::duplicate_problem(&invitation, None).message,
            "An earlier row has the same email and reference (or is the same order), so this one is not sent: one \
             invitation per order."
        );
    }

    #[test]
    fn further_line_items_of_an_order_are_duplicates_in_any_file() {
        type Rows<'a> = &'a [(&'static str, &'static str, &'static str)];
        let table: &[(&str, Rows, &[&str])] = &[
            (
                "Shopify: the order name repeats, the items carry the email but no billing name",
                &[("a@example.com", "Ann", "#1001"), ("a@example.com", "", "#1001"), ("a@example.com", "", "#1001")],
                &["ready", "duplicate", "duplicate"],
            ),
            (
                "Squarespace: the order id repeats with no email and no name",
                &[
                    ("a@example.com", "Ann", "00123"),
                    ("", "", "00123"),
                    ("", "", "00123"),
                    ("b@example.com", "Bo", "00124"),
                ],
                &["ready", "duplicate", "duplicate", "ready"],
            ),
            (
                "an item without an email belongs to its order even when the order's row is invalid",
                &[("a@example", "Ann", "7"), ("", "", "7")],
                &["invalid", "duplicate"],
            ),
            (
                "an invalid row does not make the next row of the same order a duplicate",
                &[("a@example.com", "", "7"), ("a@example.com", "Ann", "7"), ("A@EXAMPLE.COM", "", "7")],
                &["invalid", "ready", "duplicate"],
            ),
            (
                "another customer on the same reference is not a line item",
                &[("a@example.com", "Ann", "7"), ("b@example.com", "", "7")],
                &["ready", "invalid"],
            ),
            (
                "only the row before counts: a later row of an earlier order without email is invalid",
                &[("a@example.com", "Ann", "7"), ("b@example.com", "Bo", "8"), ("", "", "7")],
                &["ready", "ready", "invalid"],
            ),
            ("no reference, no order", &[("a@example.com", "Ann", ""), ("", "", "")], &["invalid", "invalid"]),
        ];
        for (what, rows, expected) in table {
            assert_eq!(statuses(rows), *expected, "{what}");
        }
    }

    #[test]
    fn spreadsheet_forms_of_an_email_are_reduced_to_the_address_and_counted() {
        let table: &[(&'static str, &str, Notes)] = &[
            ("jane@example.com", "jane@example.com", Notes::default()),
            ("'jane@example.com", "jane@example.com", Notes { email_quote: 1, ..Notes::default() }),
            ("mailto:jane@example.com", "jane@example.com", Notes { email_mailto: 1, ..Notes::default() }),
            ("MAILTO:jane@example.com?subject=Hi", "jane@example.com", Notes { email_mailto: 1, ..Notes::default() }),
            ("Jane Doe <jane@example.com>", "jane@example.com", Notes { email_display_name: 1, ..Notes::default() }),
            (
                "\"Doe, Jane\" < jane@example.com >",
                "jane@example.com",
                Notes { email_display_name: 1, ..Notes::default() },
            ),
            ("<jane@example.com>", "jane@example.com", Notes { email_display_name: 1, ..Notes::default() }),
            (
                "'Jane <mailto:jane@example.com>",
                "mailto:jane@example.com",
                Notes { email_quote: 1, email_display_name: 1, ..Notes::default() },
            ),
            ("mary@example.com", "mary@example.com", Notes::default()),
            ("o'brien@example.ie", "o'brien@example.ie", Notes::default()),
            ("Jane <no address>", "Jane <no address>", Notes::default()),
        ];
        for (value, address, notes) in table {
            let mut counted = Notes::default();
            assert_eq!(reduce_email(value, &mut counted), *address, "{value:?}");
            assert_eq!(counted, *notes, "{value:?}");
        }
        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        for email in ["'ann@example.com", "Bo <bo@example.com>", "mailto:cy@example.com", "di@example.com"] {
            validator
                .check(&Row(vec![(Field::Email, email), (Field::Name, "X"), (Field::Reference, "R")], None), &mut out);
            assert!(out.is_valid(), "{email}: {:?}", out.problems);
        }
        assert_eq!(out.invitation.email(), "di@example.com");
        let notes = validator.notes();
        assert_eq!((notes.emails_reduced(), notes.references_reduced()), (3, 0));
        assert_eq!(
            notes.lines(),
            [
                "3 emails were reduced to the address: 1 written like 'jane@example.com, 1 written like mailto:jane@example.com, \
              1 written like Jane Doe <jane@example.com>."
            ]
        );
    }

    #[test]
    fn a_leading_hash_or_quote_is_dropped_from_any_reference_and_counted() {
        let table: &[(&'static str, &str, Notes)] = &[
            ("1001", "1001", Notes::default()),
            ("#1001", "1001", Notes { reference_hash: 1, ..Notes::default() }),
            ("'0042", "0042", Notes { reference_quote: 1, ..Notes::default() }),
            ("'#1001", "1001", Notes { reference_hash: 1, reference_quote: 1, ..Notes::default() }),
            ("##1001", "#1001", Notes { reference_hash: 1, ..Notes::default() }),
            ("# 1001", "1001", Notes { reference_hash: 1, ..Notes::default() }),
            ("A#1", "A#1", Notes::default()),
        ];
        for (value, reference, notes) in table {
            let mut counted = Notes::default();
            assert_eq!(reduce_reference(value, &mut counted), *reference, "{value:?}");
            assert_eq!(counted, *notes, "{value:?}");
        }
        // What is left is checked as any reference: a second '#' is still refused, and a lone
        // '#' is an empty reference.
        assert_eq!(codes(Field::Reference, "##1001"), ["reference.invalid_char"]);
        assert_eq!(codes(Field::Reference, "#"), ["reference.required"]);
        assert_eq!(
            check_with(vec![(Field::Email, "a@example.com"), (Field::Name, "A"), (Field::Reference, "'#7")])
                .invitation
                .reference(),
            "7"
        );

        let mut validator = Validator::new(Defaults::default());
        let mut out = Checked::default();
        for reference in ["#1001", "#1002", "'7"] {
            validator.check(
                &Row(vec![(Field::Email, "a@example.com"), (Field::Name, "A"), (Field::Reference, reference)], None),
                &mut out,
            );
        }
        assert_eq!(
            validator.notes().lines(),
            ["3 references lost a leading '#' or \"'\" (as shops and spreadsheets write order numbers): 2 written \
                 like #1001, 1 written like '1001."]
        );
        // Also when the row is invalid for another reason, and said in the singular.
        let mut validator = Validator::new(Defaults::default());
        validator.check(
            &Row(vec![(Field::Email, "not an email"), (Field::Name, "A"), (Field::Reference, "#1001")], None),
            &mut out,
        );
        assert!(!out.is_valid());
        assert_eq!(
            validator.notes().lines(),
            ["1 reference lost a leading '#' or \"'\" (as shops and spreadsheets write order numbers): 1 written \
                 like #1001."]
        );
    }

    #[test]
    fn full_width_characters_in_an_address_are_named() {
        let out = check_with(vec![(Field::Email, "jane@ｇｍａｉｌ.com"), (Field::Name, "J"), (Field::Reference, "R")]);
        assert_eq!(out.problems.len(), 1);
        assert_eq!(out.problems[0].code, "email.invalid");
        assert_eq!(
            out.problems[0].message,
            "The address 'jane@ｇｍａｉｌ.com' contains the full-width character 'ｇ' (U+FF47), as typed on a Chinese, \
             Japanese or Korean keyboard; mail servers do not take it. Retype the address as 'jane@gmail.com'."
        );
        assert!(codes(Field::Email, "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ") == ["email.invalid"]);
        assert_eq!(codes(Field::SenderEmail, "shop＠example.com"), ["sender_email.invalid"]);
    }

    #[test]
    fn messages_name_the_value_and_the_fix() {
        let out = check_with(vec![(Field::Email, "jane.example.com"), (Field::Name, "J"), (Field::Reference, "R")]);
        assert_eq!(
            out.problems[0].message,
            "The address 'jane.example.com' has no '@'; write an address such as jane@example.com."
        );
        assert_eq!(out.problems[0].value, "jane.example.com");
    }

    proptest::proptest! {
        #[test]
        fn reducing_an_email_never_panics_and_never_grows_it(value in "('|mailto:|MAILTO:)?.{0,16}(<.{0,16}>?)?") {
            let mut notes = Notes::default();
            let reduced = reduce_email(&value, &mut notes);
            proptest::prop_assert!(value.contains(reduced));
            let out = check_with(vec![(Field::Email, Box::leak(value.into_boxed_str())), (Field::Name, "A"), (Field::Reference, "R")]);
            for problem in &out.problems {
                proptest::prop_assert!(!problem.message.is_empty());
            }
        }

        #[test]
        fn never_panics(email in ".{0,300}", name in ".{0,300}", reference in ".{0,80}", extra in ".{0,60}") {
            let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
            let (email, name, reference, extra) = (leak(email), leak(name), leak(reference), leak(extra));
            let mut fields = vec![(Field::Email, email), (Field::Name, name), (Field::Reference, reference)];
            for field in &Field::ALL[3..] {
                fields.push((*field, extra));
            }
            let out = check_with(fields);
            for problem in &out.problems {
                proptest::prop_assert!(!problem.message.is_empty());
            }
        }
    }
}
