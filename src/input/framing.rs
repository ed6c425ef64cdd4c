//! Lines of a report that are not records: a title above the header (`Orders, March 2026`),
//! and lines such as `123 record(s) downloaded` or `Seller ID : shop` below or among the
//! records (eBay's order report ends with both). They are skipped and reported once, not
//! checked as customers.
//!
//! A line is framing only when it carries no email address: it has at most three cells, none
//! with an `@`, and either says what a report's footer says, or is a lone phrase outside the
//! columns a customer is known by (`Page 2 of 3`).

use crate::fields::Field;

use super::header::{Mapping, Source};

/// How many skipped lines are kept to be shown; the rest are only counted.
pub(crate) const KEPT: usize = 20;

/// A skipped line's text is cut to this many characters.
const TEXT_LEN: usize = 80;

/// What a skipped line was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Above the header: the report's title.
    Title,
    /// Among or after the records: a footer or a page line.
    Footer,
}

/// A line of the file that is a report's framing, not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// The physical line (the first line of the file is 1).
    pub line: u64,
    pub framing: Framing,
    /// Its non-empty cells, joined with a space and cut to 80 characters.
    pub text: String,
}

impl SkippedLine {
    /// For the summary: `line 1: a title above the header ("Orders, March 2026")`.
    pub fn describe(&self) -> String {
        let what = match self.framing {
            Framing::Title => "a title above the header",
            Framing::Footer => "a report's line, not a customer",
        };
        format!("line {}: {what} (\"{}\")", self.line, self.text)
    }
}

/// The lines skipped so far: the first [`KEPT`], and how many in all.
#[derive(Debug, Default)]
pub(crate) struct Skipped {
    pub(crate) lines: Vec<SkippedLine>,
    pub(crate) count: u64,
}

impl Skipped {
    pub(crate) fn push(&mut self, line: u64, framing: Framing, text: String) {
        self.count += 1;
        if self.lines.len() < KEPT {
            self.lines.push(SkippedLine { line, framing, text });
        }
    }
}

/// Phrases of a report's footer, lowercase.
const FOOTER_PHRASES: &[&str] =
    &["record(s) downloaded", "records downloaded", "record downloaded", "record(s) exported", "records exported"];
/// How a report's footer line may start, lowercase.
const FOOTER_STARTS: &[&str] =
    &["seller id", "total records", "end of report", "report generated", "generated on", "exported on"];

/// How many cells of `record` are not empty.
pub(crate) fn cells(record: &csv::StringRecord) -> usize {
    record.iter().filter(|cell| !cell.trim().is_empty()).count()
}

/// The text of a record that could be a title above the header: one or two cells of words,
/// no address.
pub(crate) fn title(record: &csv::StringRecord) -> Option<String> {
    let cells: Vec<&str> = record.iter().map(str::trim).filter(|cell| !cell.is_empty()).collect();
    let words = cells.iter().any(|cell| cell.chars().any(char::is_alphabetic));
    let address = cells.iter().any(|cell| cell.contains('@'));
    (matches!(cells.len(), 1 | 2) && words && !address).then(|| shown(&cells))
}

/// The text of a record among the records that is a report's line, not a customer.
pub(crate) fn footer(record: &csv::StringRecord, mapping: &Mapping) -> Option<String> {
    // Most records have an address in the email column: one look says so.
    let email = match mapping.chosen(Field::Email).map(|chosen| chosen.source) {
        Some(Source::Column(i)) => record.get(i).unwrap_or(""),
        _ => "",
    };
    if email.contains('@') {
        return None;
    }
    let email = email.trim();
    let mut cells: Vec<(usize, &str)> = Vec::with_capacity(3);
    for (i, cell) in record.iter().enumerate() {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        if cell.contains('@') || cells.len() == 3 {
            return None;
        }
        cells.push((i, cell));
    }
    let texts: Vec<&str> = cells.iter().map(|&(_, cell)| cell).collect();
    let lower = texts.join(" ").to_lowercase();
    let says_so = FOOTER_PHRASES.iter().any(|phrase| lower.contains(phrase))
        || FOOTER_STARTS.iter().any(|start| lower.starts_with(start))
        || page_line(&lower);
    // Words alone on a line, where neither an address nor a customer's name or reference is.
    let lone_phrase = match cells.as_slice() {
        [(i, cell)] => email.is_empty() && phrase(cell) && !customer_column(mapping, *i),
        _ => false,
    };
    (says_so || lone_phrase).then(|| shown(&texts))
}

/// `page 2 of 3`, `page 2/3`, `page 2`.
fn page_line(lower: &str) -> bool {
    lower.strip_prefix("page ").is_some_and(|rest| {
        rest.split([' ', '/']).filter(|w| !w.is_empty()).all(|w| w == "of" || w.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Words, not a value: two or more, one with letters (`Page 2 of 3`, `Exported from Shopify`).
fn phrase(text: &str) -> bool {
    text.split_whitespace().count() >= 2 && text.chars().any(char::is_alphabetic)
}

/// The column is read for the customer's name or the reference.
fn customer_column(mapping: &Mapping, column: usize) -> bool {
    [Field::Name, Field::Reference].into_iter().filter_map(|field| mapping.chosen(field)).any(|chosen| {
        chosen.source.columns().chain(chosen.fallback.into_iter().flat_map(Source::columns)).any(|i| i == column)
    })
}

fn shown(cells: &[&str]) -> String {
    let text = cells.join(" ");
    match text.char_indices().nth(TEXT_LEN) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn record(cells: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(cells.to_vec())
    }

    #[test]
    fn footers_of_reports_are_told_from_customers() {
        let header: Vec<String> = ["Sales Record Number", "Order Number", "Buyer Name", "Buyer Email", "Item Title"]
            .map(String::from)
            .to_vec();
        let mapping = super::super::header::resolve(Path::new("in.csv"), Some(&header), &[]).unwrap();
        let table: &[(&[&str], Option<&str>)] = &[
            (
                &["83", "record(s) downloaded", "from Sep-01-26 to Sep-30-26", "", ""],
                Some("83 record(s) downloaded from Sep-01-26 to Sep-30-26"),
            ),
            (&["83 record(s) downloaded", "", "", "", ""], Some("83 record(s) downloaded")),
            (&["Seller ID : rivertown-goods", "", "", "", ""], Some("Seller ID : rivertown-goods")),
            (&["Seller ID: rivertown-goods"], Some("Seller ID: rivertown-goods")),
            (&["Page 2 of 3", "", "", "", ""], Some("Page 2 of 3")),
            (&["", "", "", "", "Exported from the shop"], Some("Exported from the shop")),
            (&["", "", "", "Page 2/3", ""], Some("Page 2/3")),
            // Not an address, but in the email column: an invalid row, unless a report says so.
            (&["", "", "", "jane example.com", ""], None),
            (&["", "", "", "Page 1 of 1", ""], Some("Page 1 of 1")),
            // Customers, or a line item of an order: not framing.
            (&["101", "12-34567-89012", "Ann Lee", "ann@example.com", "Mug"], None),
            (&["102", "12-34567-89013", "", "", "Teapot with a long name"], None),
            (&["", "", "Ann Lee", "", ""], None),
            (&["", "12-34567-89012 extra", "", "", ""], None),
            (&["record(s) downloaded", "ann@example.com"], None),
            (&["1", "2", "3", "record(s) downloaded"], None),
            (&["1001"], None),
        ];
        for (cells, expected) in table {
            assert_eq!(footer(&record(cells), &mapping).as_deref(), *expected, "{cells:?}");
        }
    }

    #[test]
    fn titles_are_a_cell_or_two_of_words() {
        let table: &[(&[&str], Option<&str>)] = &[
            (&["Orders, March 2026"], Some("Orders, March 2026")),
            (&["Customer export", "2026-03-31", "", ""], Some("Customer export 2026-03-31")),
            (&["Email", "Name", "Reference"], None),
            (&["ann@example.com"], None),
            (&["2026-03-31"], None),
            (&["", ""], None),
        ];
        for (cells, expected) in table {
            assert_eq!(title(&record(cells)).as_deref(), *expected, "{cells:?}");
        }
    }

    #[test]
    fn long_lines_are_cut_and_only_the_first_are_kept() {
        let long = "x".repeat(200);
        assert_eq!(shown(&[&long]).chars().count(), TEXT_LEN + 3);
        let mut skipped = Skipped::default();
        for line in 0..(KEPT as u64 + 5) {
            skipped.push(line, Framing::Footer, "Page".to_string());
        }
        assert_eq!((skipped.lines.len(), skipped.count), (KEPT, KEPT as u64 + 5));
        assert_eq!(
            SkippedLine { line: 1, framing: Framing::Title, text: "Orders".into() }.describe(),
            "line 1: a title above the header (\"Orders\")"
        );
    }
}
