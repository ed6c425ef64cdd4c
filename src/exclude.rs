//! Who never to invite: the addresses and domains of exclusion lists (`--exclude`), and rows
//! whose column holds a value that says the order did not happen (`--skip-where`).
//!
//! An exclusion file is either a list, one email address or `@domain` a line (blank lines and
//! lines starting with `#` are skipped), or a CSV export with an email column (an unsubscribe
//! or suppression export from Mailchimp, Klaviyo, Shopify ...), found by the same header
//! aliases as the input's. Every address of that column is excluded, whatever the other
//! columns say: export only the people to exclude. Entries are normalised as the email rule
//! does (trimmed; `'jane@example.com`, `mailto:jane@example.com` and `Jane <jane@example.com>`
//! reduced to the address) and compared in lower case.
//!
//! An `@example.com` entry excludes the addresses at `example.com` and at its subdomains
//! (`shop.example.com`): a domain is excluded to keep an organisation's people out (staff, a
//! partner), and its subdomains are the same organisation. Not inviting someone is the safe
//! mistake here; the results say which entry matched.
//!
//! A file that cannot be read, that is empty, or that has a line that is neither an address
//! nor a domain stops the run ([`ExcludeError`]): a list that silently excludes nobody would
//! invite the very people who asked not to be.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::input::{InputError, aliases, decode, dialect, header};
use crate::invitation::email_key;
use crate::validate::{Notes, check_email, reduce_email};

/// The results' `error_code` of a row excluded by `--exclude`.
pub const EXCLUDED_LIST: &str = "excluded.list";
/// The results' `error_code` of a row excluded by `--skip-where`.
pub const EXCLUDED_RULE: &str = "excluded.rule";

/// Line numbers of further bad entries named in a message.
const MORE_LINES_SHOWN: usize = 10;

/// Why an exclusion file cannot be used. Each stops the run before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExcludeError {
    /// The file cannot be opened or read, or is not text.
    #[error("cannot read the exclusion list '{}': {reason}", .path.display())]
    Unreadable { path: PathBuf, reason: String, missing: bool },

    /// The file holds no address and no domain.
    #[error(
        "the exclusion list '{}' {what}, so it would exclude nobody. Check that the export finished and that this \
         is the right file.",
        .path.display()
    )]
    Empty { path: PathBuf, what: String },

    /// Entries that are neither an address nor a domain: the first, and the lines of the others.
    #[error("{}", entries_message(.path, .first, .others, .column.as_deref()))]
    Entries { path: PathBuf, first: Box<BadEntry>, others: Vec<u64>, column: Option<String> },
}

/// A line of an exclusion file that is neither an address nor a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry {
    pub line: u64,
    pub value: String,
    /// Why, as a sentence.
    pub why: String,
    /// The line looks like a CSV header (or record) without an email column.
    looks_like_csv: bool,
}

impl ExcludeError {
    /// Stable: `exclude.not_found`, `exclude.unreadable`, `exclude.empty`, `exclude.invalid`.
    pub fn code(&self) -> &'static str {
        match self {
            ExcludeError::Unreadable { missing: true, .. } => "exclude.not_found",
            ExcludeError::Unreadable { .. } => "exclude.unreadable",
            ExcludeError::Empty { .. } => "exclude.empty",
            ExcludeError::Entries { .. } => "exclude.invalid",
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ExcludeError::Unreadable { path, .. }
            | ExcludeError::Empty { path, .. }
            | ExcludeError::Entries { path, .. } => path,
        }
    }

    fn unreadable(path: &Path, error: InputError) -> ExcludeError {
        let missing = matches!(&error, InputError::Unreadable { .. }) && !path.exists();
        let reason = match error {
            InputError::Unreadable { reason, .. } => reason,
            InputError::Empty { .. } => return ExcludeError::empty(path, "is empty"),
            // The input's hints name --encoding, which an exclusion file has not.
            InputError::Encoding { detail, .. } => format!(
                "the file {detail}. Save it as a text file with one address a line, or as CSV (in Excel: File > Save \
                 As > \"CSV UTF-8\"), and run again."
            ),
            other => other.to_string(),
        };
        ExcludeError::Unreadable { path: path.to_path_buf(), reason, missing }
    }

    fn empty(path: &Path, what: &str) -> ExcludeError {
        ExcludeError::Empty { path: path.to_path_buf(), what: what.to_string() }
    }
}

fn entries_message(path: &Path, first: &BadEntry, others: &[u64], column: Option<&str>) -> String {
    let place = match column {
        Some(column) => format!("line {}, column \"{column}\"", first.line),
        None => format!("line {}", first.line),
    };
    let mut text = format!(
        "the exclusion list '{}', {place}: '{}' is neither an email address nor an @domain. {}",
        path.display(),
        first.value,
        first.why
    );
    if first.looks_like_csv {
        text.push_str(
            " If the file is a CSV export, its first line must name the email column (Email, Email Address ...).",
        );
    }
    match column {
        Some(_) => text.push_str(" Correct or delete the row."),
        None => text.push_str(" Correct or delete the line (a # at its start makes it a comment)."),
    }
    let mut shown: Vec<String> = others.iter().take(MORE_LINES_SHOWN).map(u64::to_string).collect();
    if others.len() > MORE_LINES_SHOWN {
        shown.push(format!("{} more", others.len() - MORE_LINES_SHOWN));
    }
    match shown.split_last() {
        None => {}
        Some((only, [])) => text.push_str(&format!(" Line {only} is not either.")),
        Some((last, rest)) => text.push_str(&format!(" Lines {} and {last} are not either.", rest.join(", "))),
    }
    text
}

/// Where an entry was listed: the file (by its index) and the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Origin {
    file: usize,
    line: u64,
}

/// The addresses and domains never to invite, from every `--exclude` file.
#[derive(Debug, Default)]
pub struct ExclusionList {
    paths: Vec<PathBuf>,
    /// How a sentence names each file: its file name, or its path when two files share one.
    names: Vec<String>,
    /// Addresses in lower case.
    addresses: HashMap<String, Origin>,
    /// Domains in lower case, without the `@`.
    domains: HashMap<String, Origin>,
}

/// Which entry of an exclusion list an address matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'a> {
    /// The address as listed (in lower case), or `@domain`.
    pub entry: Cow<'a, str>,
    /// The file that lists it, as given.
    pub path: &'a Path,
    pub line: u64,
    /// How the sentence names the file.
    name: &'a str,
    domain: bool,
}

impl Match<'_> {
    /// The results' `error_code`: `excluded.list`.
    pub fn code(&self) -> &'static str {
        EXCLUDED_LIST
    }
}

impl fmt::Display for Match<'_> {
    /// The results' `error` cell: `Listed in optouts.csv (line 12): not invited.`, or
    /// `Its domain is listed in blocked.txt (line 3: @example.com): not invited.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.domain {
            false => write!(f, "Listed in {} (line {}): not invited.", self.name, self.line),
            true => {
                write!(f, "Its domain is listed in {} (line {}: {}): not invited.", self.name, self.line, self.entry)
            }
        }
    }
}

/// One entry of a list, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Address(String),
    /// Without the `@`.
    Domain(String),
}

/// An address (in the forms the email rule reduces) or `@domain` (or `*@domain`), in lower case;
/// else why not, as a sentence.
fn parse_entry(raw: &str) -> Result<Entry, String> {
    let value = reduce_email(raw.trim(), &mut Notes::default()).trim();
    if let Some(domain) = value.strip_prefix("*@").or_else(|| value.strip_prefix('@')) {
        // The domain rule of an address, checked on an address at it.
        return match check_email(crate::fields::Field::Email, &format!("x@{domain}")) {
            Ok(()) => Ok(Entry::Domain(email_key(domain).into_owned())),
            Err(_) => Err(format!("The domain '@{domain}' is not a domain name such as @example.com.")),
        };
    }
    match check_email(crate::fields::Field::Email, value) {
        Ok(()) => Ok(Entry::Address(email_key(value).into_owned())),
        Err(problem) => Err(problem.message),
    }
}

impl ExclusionList {
    /// Reads every file (see the module's documentation for what a file may hold). The first
    /// file that cannot be used is the error; an entry listed twice keeps its first place.
    pub fn load(paths: &[PathBuf]) -> Result<ExclusionList, ExcludeError> {
        let mut list = ExclusionList { paths: paths.to_vec(), ..ExclusionList::default() };
        list.names = paths.iter().map(|path| sentence_name(path, paths)).collect();
        for (file, path) in paths.iter().enumerate() {
            list.load_file(file, path)?;
        }
        Ok(list)
    }

    /// How many addresses are listed (each once).
    pub fn addresses(&self) -> usize {
        self.addresses.len()
    }

    /// How many domains are listed (each once).
    pub fn domains(&self) -> usize {
        self.domains.len()
    }

    /// The files read, as given.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The entry that excludes `email` (compared in lower case, after the email rule's
    /// reductions): the address itself, else its domain or a domain it is a subdomain of.
    pub fn matches(&self, email: &str) -> Option<Match<'_>> {
        let email = reduce_email(email.trim(), &mut Notes::default()).trim();
        let key = email_key(email);
        if let Some((stored, origin)) = self.addresses.get_key_value(key.as_ref()) {
            return Some(self.found(Cow::Borrowed(stored), *origin, false));
        }
        let (_, mut domain) = key.rsplit_once('@')?;
        loop {
            if let Some(origin) = self.domains.get(domain) {
                return Some(self.found(Cow::Owned(format!("@{domain}")), *origin, true));
            }
            // Every domain listed has a dot: `shop.example.com`, `example.com`, then stop.
            match domain.split_once('.') {
                Some((_, parent)) if parent.contains('.') => domain = parent,
                _ => return None,
            }
        }
    }

    fn found<'a>(&'a self, entry: Cow<'a, str>, origin: Origin, domain: bool) -> Match<'a> {
        Match { entry, path: &self.paths[origin.file], line: origin.line, name: &self.names[origin.file], domain }
    }

    fn load_file(&mut self, file: usize, path: &Path) -> Result<(), ExcludeError> {
        let decoded = decode::open(path, None).map_err(|e| ExcludeError::unreadable(path, e))?;
        let mut text = String::new();
        let mut reader = decoded.reader;
        reader
            .read_to_string(&mut text)
            .map_err(|e| ExcludeError::unreadable(path, InputError::unreadable(path, &e)))?;
        let first = meaningful_lines(&text).next();
        let Some((_, first)) = first else {
            return Err(ExcludeError::empty(path, "has no address and no @domain (only blank lines or comments)"));
        };
        // A first line that is an entry makes a list; one that names an email column, a CSV.
        let found = match parse_entry(first) {
            Ok(_) => None,
            Err(_) => email_column(&text),
        };
        let (entries, bad, column) = match found {
            Some((delimiter, column)) => {
                let (entries, bad, header) = read_csv(path, &text, delimiter, column)?;
                (entries, bad, Some(header))
            }
            None => {
                let (entries, bad) = read_list(&text);
                (entries, bad, None)
            }
        };
        if let Some((first, others)) = bad.split_first() {
            let others = others.iter().map(|entry| entry.line).collect();
            return Err(ExcludeError::Entries {
                path: path.to_path_buf(),
                first: Box::new(first.clone()),
                others,
                column,
            });
        }
        if entries.is_empty() {
            let what = match &column {
                Some(column) => format!("has a header but no address in its column \"{column}\""),
                None => "has no address and no @domain (only blank lines or comments)".to_string(),
            };
            return Err(ExcludeError::empty(path, &what));
        }
        for (line, entry) in entries {
            let (map, key) = match entry {
                Entry::Address(address) => (&mut self.addresses, address),
                Entry::Domain(domain) => (&mut self.domains, domain),
            };
            map.entry(key).or_insert(Origin { file, line });
        }
        Ok(())
    }
}

/// `optouts.csv`; the whole path when another file given has the same name.
fn sentence_name(path: &Path, all: &[PathBuf]) -> String {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
    match name {
        Some(name) if all.iter().filter(|other| other.file_name() == path.file_name()).count() == 1 => name,
        _ => path.display().to_string(),
    }
}

/// The lines that hold something (not blank, not a `#` comment), numbered from 1, trimmed.
fn meaningful_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        (!line.is_empty() && !line.starts_with('#')).then_some((i as u64 + 1, line))
    })
}

type Entries = Vec<(u64, Entry)>;

/// A list: every meaningful line an entry (a value in double quotes is taken without them).
fn read_list(text: &str) -> (Entries, Vec<BadEntry>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (line, value) in meaningful_lines(text) {
        let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        match parse_entry(unquoted) {
            Ok(entry) => entries.push((line, entry)),
            Err(why) => {
                let looks_like_csv = value.contains([',', ';', '\t', '|']);
                bad.push(BadEntry { line, value: value.to_string(), why, looks_like_csv });
            }
        }
    }
    (entries, bad)
}

/// The delimiter and the email column of a CSV file, when its header names one: the input's
/// email aliases in their order, else a column whose name says it holds addresses.
fn email_column(text: &str) -> Option<(u8, usize)> {
    let bytes = text.as_bytes();
    let sep = dialect::excel_sep(bytes);
    let delimiter = sep.unwrap_or_else(|| dialect::sniff(bytes, true));
    let mut reader = csv_reader(text, delimiter, sep.is_some());
    let header = reader.records().filter_map(Result::ok).find(|record| !dialect::is_blank(record.as_byte_record()))?;
    let norms: Vec<String> = header.iter().map(header::normalise).collect();
    let by_alias = aliases::EMAIL.iter().find_map(|alias| norms.iter().position(|norm| norm == alias));
    let column = by_alias.or_else(|| norms.iter().position(|norm| aliases::address_like(norm)))?;
    Some((delimiter, column))
}

fn csv_reader(text: &str, delimiter: u8, skip_sep_line: bool) -> csv::Reader<&[u8]> {
    let mut bytes = text.as_bytes();
    if skip_sep_line {
        let end = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
        bytes = &bytes[end..];
    }
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .comment(Some(b'#'))
        .from_reader(bytes)
}

/// The entries of a CSV file's email column (empty cells are skipped: a profile without an
/// address), the bad ones, and the column's header.
fn read_csv(
    path: &Path,
    text: &str,
    delimiter: u8,
    column: usize,
) -> Result<(Entries, Vec<BadEntry>, String), ExcludeError> {
    let sep = dialect::excel_sep(text.as_bytes()).is_some();
    let mut reader = csv_reader(text, delimiter, sep);
    // Lines as the file counts them: from byte offsets, counted on from the record before.
    // The `sep=` line is the first; a record's offset is where `csv` started looking for it,
    // before the blank and comment lines it skips.
    let bytes = text.as_bytes();
    let skipped = text.len() - reader.get_ref().len();
    let mut counted = (skipped, 1 + bytes[..skipped].iter().filter(|&&b| b == b'\n').count() as u64);
    let mut line_at = |byte: u64| {
        let mut byte = (skipped + byte as usize).min(text.len());
        loop {
            match bytes.get(byte) {
                Some(b'\r' | b'\n') => byte += 1,
                Some(b'#') => {
                    byte = bytes[byte..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| byte + i + 1)
                }
                _ => break,
            }
        }
        let (from, line) = counted;
        counted = (byte, line + bytes[from.min(byte)..byte].iter().filter(|&&b| b == b'\n').count() as u64);
        counted.1
    };
    let mut header = None;
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(p.byte()));
            ExcludeError::Unreadable {
                path: path.to_path_buf(),
                reason: format!("line {line} is not CSV as the lines before it are ({e}); check its quotes."),
                missing: false,
            }
        })?;
        if dialect::is_blank(record.as_byte_record()) {
            continue;
        }
        let value = record.get(column).unwrap_or_default().trim();
        if header.is_none() {
            header = Some(value.to_string());
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        match parse_entry(value) {
            Ok(entry) => entries.push((line, entry)),
            Err(why) => bad.push(BadEntry { line, value: value.to_string(), why, looks_like_csv: false }),
        }
    }
    Ok((entries, bad, header.unwrap_or_default()))
}

/// `--skip-where COLUMN=VALUE[|VALUE...]`: rows whose COLUMN holds one of the values (trimmed,
/// in any case) are not invited, e.g. `Financial Status=refunded|voided`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipRule {
    column: String,
    /// As written, trimmed.
    values: Vec<String>,
    /// In lower case.
    keys: Vec<String>,
}

impl SkipRule {
    /// Parses a `--skip-where`. The column is what is before the first `=` (trimmed); the
    /// values, split on `|`, what is after it. Refused with an example: no `=`, no column,
    /// `!=` (only equality is supported), an empty value (`Status=` or `refunded||voided`:
    /// almost always a typo, and an empty cell is not a reason to skip an order).
    pub fn parse(text: &str) -> Result<SkipRule, String> {
        let example = "e.g. --skip-where \"Financial Status=refunded|voided\"";
        let text = text.trim();
        let Some((column, values)) = text.split_once('=') else {
            return Err(format!("'{text}' has no '='; write COLUMN=VALUE (more values separated by '|'), {example}."));
        };
        let column = column.trim();
        if column.is_empty() {
            return Err(format!("'{text}' names no column before the '='; write COLUMN=VALUE, {example}."));
        }
        if let Some(stripped) = column.strip_suffix('!') {
            return Err(format!(
                "'{text}': only '=' is supported (rows whose column equals one of the values are skipped); list the \
                 values of {} to skip, {example}.",
                stripped.trim()
            ));
        }
        let values: Vec<String> = values.split('|').map(|value| value.trim().to_string()).collect();
        if values.iter().any(String::is_empty) {
            return Err(format!(
                "'{text}' has an empty value; list the values to skip after the '=', separated by '|', {example}."
            ));
        }
        let keys = values.iter().map(|value| value.to_lowercase()).collect();
        Ok(SkipRule { column: column.to_string(), values, keys })
    }

    /// The column's name as written (the header is searched for it by the caller).
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The values that skip a row, as written.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a row whose cell holds `value` is skipped.
    pub fn matches(&self, value: &str) -> bool {
        self.matching(value).is_some()
    }

    /// Which of the rule's values (by index) the cell `value` equals, if any.
    pub fn matching(&self, value: &str) -> Option<usize> {
        let value = value.trim();
        if value.is_ascii() {
            // A key that is not ASCII cannot equal an ASCII value in any case.
            return self.keys.iter().position(|key| key.eq_ignore_ascii_case(value));
        }
        let lower = value.to_lowercase();
        self.keys.iter().position(|key| *key == lower)
    }

    /// The results' `error` cell of a row this rule skipped, whose cell holds `value`:
    /// `Financial Status is 'refunded' (--skip-where): not invited.`
    pub fn reason(&self, value: &str) -> String {
        format!("{} is '{}' (--skip-where): not invited.", self.column, value.trim())
    }

    /// The results' `error_code`: `excluded.rule`.
    pub fn code(&self) -> &'static str {
        EXCLUDED_RULE
    }
}

impl fmt::Display for SkipRule {
    /// `Financial Status=refunded|voided`, as normalised.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.column, self.values.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (name, bytes) into a temporary folder; their paths.
    fn files(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = files
            .iter()
            .map(|(name, bytes)| {
                let path = dir.path().join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        (dir, paths)
    }

    fn load(name: &str, bytes: &[u8]) -> Result<ExclusionList, ExcludeError> {
        let (_dir, paths) = files(&[(name, bytes)]);
        ExclusionList::load(&paths)
    }

    /// The error of loading one file, with the temporary folder taken out of its message.
    fn load_error(name: &str, bytes: &[u8]) -> (&'static str, String) {
        let (dir, paths) = files(&[(name, bytes)]);
        let error = ExclusionList::load(&paths).unwrap_err();
        let folder = format!("{}/", dir.path().display());
        (error.code(), error.to_string().replace(&folder, ""))
    }

    #[test]
    fn entries_are_addresses_or_domains_normalised_as_the_email_rule_does() {
        let address = |a: &str| Ok(Entry::Address(a.to_string()));
        let domain = |d: &str| Ok(Entry::Domain(d.to_string()));
        let table: &[(&str, Result<Entry, String>)] = &[
            ("jane@example.com", address("jane@example.com")),
            ("  JANE@Example.COM ", address("jane@example.com")),
            ("'jane@example.com", address("jane@example.com")),
            ("mailto:jane@example.com", address("jane@example.com")),
            ("Jane Doe <Jane@Example.com>", address("jane@example.com")),
            ("o'brien@example.ie", address("o'brien@example.ie")),
            ("jürgen@müller.de", address("jürgen@müller.de")),
            ("@example.com", domain("example.com")),
            ("@Shop.Example.co.uk", domain("shop.example.co.uk")),
            ("*@example.com", domain("example.com")),
            ("jane", Err("The address 'jane' has no '@'; write an address such as jane@example.com.".to_string())),
            ("jane@", Err("In the address 'jane@', the domain '' has no dot (such as example.com).".to_string())),
            ("@", Err("The domain '@' is not a domain name such as @example.com.".to_string())),
            ("@example", Err("The domain '@example' is not a domain name such as @example.com.".to_string())),
            ("@exa mple.com", Err("The domain '@exa mple.com' is not a domain name such as @example.com.".to_string())),
            ("@@example.com", Err("The domain '@@example.com' is not a domain name such as @example.com.".to_string())),
            ("*@", Err("The domain '@' is not a domain name such as @example.com.".to_string())),
            (
                "a@b@example.com",
                Err("The address 'a@b@example.com' has more than one '@'; put a single address in the field."
                    .to_string()),
            ),
        ];
        for (value, expected) in table {
            assert_eq!(parse_entry(value), *expected, "{value:?}");
        }
        assert!(parse_entry("jane@ｇｍａｉｌ.com").unwrap_err().contains("full-width character"));
    }

    #[test]
    fn a_list_matches_addresses_and_domains_with_their_subdomains() {
        let text = "\u{feff}# opt-outs, exported 2026-11-01\r\n\r\njane@example.com\r\n  BOB@Example.org  \r\n\
                    @competitor.com\r\n\"quoted@example.com\"\r\n*@staff.example.net\r\n'excel@example.com\r\n\
                    jane@example.com\r\n";
        let list = load("optouts.txt", text.as_bytes()).unwrap();
        assert_eq!((list.addresses(), list.domains()), (4, 2));
        type Found<'a> = Option<(&'a str, u64, &'a str)>;
        let table: &[(&str, Found)] = &[
            ("jane@example.com", Some(("jane@example.com", 3, "Listed in optouts.txt (line 3): not invited."))),
            ("Jane@EXAMPLE.com", Some(("jane@example.com", 3, "Listed in optouts.txt (line 3): not invited."))),
            (
                " mailto:jane@example.com ",
                Some(("jane@example.com", 3, "Listed in optouts.txt (line 3): not invited.")),
            ),
            ("bob@example.org", Some(("bob@example.org", 4, "Listed in optouts.txt (line 4): not invited."))),
            ("quoted@example.com", Some(("quoted@example.com", 6, "Listed in optouts.txt (line 6): not invited."))),
            ("excel@example.com", Some(("excel@example.com", 8, "Listed in optouts.txt (line 8): not invited."))),
            (
                "anyone@competitor.com",
                Some((
                    "@competitor.com",
                    5,
                    "Its domain is listed in optouts.txt (line 5: @competitor.com): not invited.",
                )),
            ),
            (
                "anyone@shop.Competitor.com",
                Some((
                    "@competitor.com",
                    5,
                    "Its domain is listed in optouts.txt (line 5: @competitor.com): not invited.",
                )),
            ),
            (
                "ann@staff.example.net",
                Some((
                    "@staff.example.net",
                    7,
                    "Its domain is listed in optouts.txt (line 7: @staff.example.net): not invited.",
                )),
            ),
            ("john@example.com", None),
            ("jane@example.com.au", None),
            ("anyone@notcompetitor.com", None),
            ("anyone@competitor.com.evil.org", None),
            ("ann@example.net", None),
            ("competitor.com", None),
            ("", None),
        ];
        for &(email, expected) in table {
            let found = list.matches(email);
            let got = found.as_ref().map(|m| (m.entry.as_ref(), m.line, m.to_string()));
            assert_eq!(got, expected.map(|(e, l, s)| (e, l, s.to_string())), "{email:?}");
            if let Some(found) = found {
                assert_eq!(found.code(), "excluded.list");
                assert!(found.path.ends_with("optouts.txt"));
            }
        }
    }

    #[test]
    fn lists_in_any_common_encoding_are_read() {
        // Windows-1252: ü is one byte.
        let list = load("latin.txt", b"j\xfcrgen@example.de\nana@example.es\n").unwrap();
        assert!(list.matches("JÜRGEN@example.de").is_some());
        // UTF-16 with a byte order mark.
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("zoë@example.com\r\n@example.org\r\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let list = load("wide.txt", &utf16).unwrap();
        assert!(list.matches("zoë@example.com").is_some());
        assert!(list.matches("x@example.org").is_some());
        // UTF-8 with a byte order mark, a last line without a line break.
        let list = load("bom.txt", b"\xEF\xBB\xBFa@example.com\nb@example.com").unwrap();
        assert_eq!(list.addresses(), 2);
    }

    #[test]
    fn csv_exports_are_read_by_their_email_column() {
        let table: &[(&str, &str, &[&str], &[&str])] = &[
            (
                "Mailchimp unsubscribed export",
                "\"Email Address\",\"First Name\",\"Last Name\",UNSUB_TIME,LEID\n\
                 jane@example.com,Jane,Doe,\"2026-10-01 10:00:00\",123\n\
                 \"Bob <BOB@example.org>\",Bob,,\"2026-10-02 10:00:00\",124\n",
                &["jane@example.com", "bob@example.org"],
                &["ann@example.com"],
            ),
            (
                "Klaviyo suppressions: a profile without an address is skipped",
                "Email,Phone Number,Suppression Reason\nann@example.com,,Unsubscribed\n,+4512345678,SMS\n",
                &["ann@example.com"],
                &["jane@example.com"],
            ),
            (
                "Shopify customers: Email beats Accepts Email Marketing",
                "First Name,Last Name,Accepts Email Marketing,Email,Company\nAnn,Lee,no,ann@example.com,\n",
                &["ann@example.com"],
                &[],
            ),
            (
                "a European Excel file with sep=",
                "sep=;\nName;E-Mail-Adresse;Grund\nJürgen;jurgen@example.de;Abgemeldet\n",
                &["jurgen@example.de"],
                &[],
            ),
            (
                "one column named email",
                "email\r\nann@example.com\r\n\r\nbob@example.com\r\n",
                &["bob@example.com"],
                &[],
            ),
            (
                "a column named like one",
                "Contact,Work Mail\nAnn,ann@example.com\n",
                &["ann@example.com"],
                &["contact@example.com"],
            ),
        ];
        for &(what, text, excluded, invited) in table {
            let list = load("export.csv", text.as_bytes()).unwrap_or_else(|e| panic!("{what}: {e}"));
            for email in excluded {
                assert!(list.matches(email).is_some(), "{what}: {email}");
            }
            for email in invited {
                assert!(list.matches(email).is_none(), "{what}: {email}");
            }
        }
        let list = load("export.csv", b"Email Address,Name\n\njane@example.com,Jane\n").unwrap();
        assert_eq!(
            list.matches("jane@example.com").unwrap().to_string(),
            "Listed in export.csv (line 3): not invited."
        );
        let list = load("export.csv", b"sep=,\nEmail\njane@example.com\n").unwrap();
        assert_eq!(list.matches("jane@example.com").unwrap().line, 3);
        let text = b"# suppressions\r\nEmail,Note\r\n\r\n# from the shop\r\nann@example.com,\"two\r\nlines\"\r\n\r\nbob@example.com,\r\n";
        let list = load("export.csv", text).unwrap();
        assert_eq!(list.matches("ann@example.com").unwrap().line, 5);
        assert_eq!(list.matches("bob@example.com").unwrap().line, 8);
    }

    #[test]
    fn files_that_would_exclude_nobody_are_errors_naming_the_file() {
        let empty = |what: &str| {
            format!(
                "the exclusion list 'optouts.txt' {what}, so it would exclude nobody. Check that the export finished \
                 and that this is the right file."
            )
        };
        let table: &[(&[u8], &str, String)] = &[
            (b"", "exclude.empty", empty("is empty")),
            (b"\n\n  \n", "exclude.empty", empty("has no address and no @domain (only blank lines or comments)")),
            (
                b"# nobody yet\n\n",
                "exclude.empty",
                empty("has no address and no @domain (only blank lines or comments)"),
            ),
            (b"Email,Name\n", "exclude.empty", empty("has a header but no address in its column \"Email\"")),
            (
                b"Email,Name\n,Ann\n ,Bo\n",
                "exclude.empty",
                empty("has a header but no address in its column \"Email\""),
            ),
        ];
        for (bytes, code, message) in table {
            assert_eq!(load_error("optouts.txt", bytes), (*code, message.clone()), "{bytes:?}");
        }
    }

    #[test]
    fn files_that_cannot_be_read_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("optouts.txt");
        let error = ExclusionList::load(&[missing]).unwrap_err();
        assert_eq!(error.code(), "exclude.not_found");
        assert!(error.path().ends_with("optouts.txt"));
        assert_eq!(
            error.to_string().replace(&format!("{}/", dir.path().display()), ""),
            "cannot read the exclusion list 'optouts.txt': there is no such file. Check the path and the spelling of \
             the file name."
        );
        let error = ExclusionList::load(&[dir.path().to_path_buf()]).unwrap_err();
        assert_eq!(error.code(), "exclude.unreadable");
        assert!(error.to_string().ends_with("it is a folder, not a file. Give the path of the CSV file itself."));
        assert_eq!(
            load_error("optouts.xlsx", b"PK\x03\x04 workbook"),
            (
                "exclude.unreadable",
                "cannot read the exclusion list 'optouts.xlsx': the file does not look like a CSV text file: it is a \
                 ZIP archive, such as an Excel workbook (.xlsx) or a LibreOffice spreadsheet (.ods). Save it as a text \
                 file with one address a line, or as CSV (in Excel: File > Save As > \"CSV UTF-8\"), and run again."
                    .to_string()
            )
        );
        // A quote never closed swallows the rest of the file into one value, which is no address.
        let (code, message) = load_error("bad.csv", b"Email,Name\n\"ann@example.com,Ann\nbob@example.com,Bob\n");
        assert_eq!(code, "exclude.invalid");
        assert!(message.starts_with("the exclusion list 'bad.csv', line 2, column \"Email\": "), "{message}");
    }

    #[test]
    fn a_line_that_is_no_entry_is_an_error_naming_file_line_and_value() {
        let table: &[(&str, &[u8], String)] = &[
            (
                "optouts.txt",
                b"jane@example.com\n\njane.example.com\n",
                "the exclusion list 'optouts.txt', line 3: 'jane.example.com' is neither an email address nor an \
                 @domain. The address 'jane.example.com' has no '@'; write an address such as jane@example.com. \
                 Correct or delete the line (a # at its start makes it a comment)."
                    .to_string(),
            ),
            (
                "optouts.txt",
                b"a@example.com\n@example\nnot an address\nb@example.com\nc@\n",
                "the exclusion list 'optouts.txt', line 2: '@example' is neither an email address nor an @domain. The \
                 domain '@example' is not a domain name such as @example.com. Correct or delete the line (a # at its \
                 start makes it a comment). Lines 3 and 5 are not either."
                    .to_string(),
            ),
            (
                "optouts.txt",
                b"x\n",
                "the exclusion list 'optouts.txt', line 1: 'x' is neither an email address nor an @domain. The address \
                 'x' has no '@'; write an address such as jane@example.com. Correct or delete the line (a # at its \
                 start makes it a comment)."
                    .to_string(),
            ),
            (
                "unsub.csv",
                b"Subscriber;Reason\nann@example.com;spam\n",
                "the exclusion list 'unsub.csv', line 1: 'Subscriber;Reason' is neither an email address nor an \
                 @domain. The address 'Subscriber;Reason' has no '@'; write an address such as jane@example.com. If \
                 the file is a CSV export, its first line must name the email column (Email, Email Address ...). \
                 Correct or delete the line (a # at its start makes it a comment). Line 2 is not either."
                    .to_string(),
            ),
            (
                "unsub.csv",
                b"Email,Name\nann@example.com,Ann\nbob(at)example.com,Bob\n",
                "the exclusion list 'unsub.csv', line 3, column \"Email\": 'bob(at)example.com' is neither an email \
                 address nor an @domain. The address 'bob(at)example.com' has no '@'; write an address such as \
                 jane@example.com. Correct or delete the row."
                    .to_string(),
            ),
        ];
        for (name, bytes, message) in table {
            assert_eq!(load_error(name, bytes), ("exclude.invalid", message.clone()), "{name} {bytes:?}");
        }
        let many: String = (1..=15).map(|i| format!("bad{i}\n")).collect();
        let (_, message) = load_error("optouts.txt", many.as_bytes());
        assert!(message.ends_with(" Lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 4 more are not either."), "{message}");
    }

    #[test]
    fn several_files_are_one_list_and_the_first_listing_wins() {
        let (dir, paths) = files(&[
            ("a/optouts.txt", b"jane@example.com\n"),
            ("b/optouts.txt", b"bob@example.com\njane@example.com\n"),
            ("blocked.txt", b"# staff\n@shop.example\n@example.com\n"),
        ]);
        let list = ExclusionList::load(&paths).unwrap();
        assert_eq!(list.paths(), paths.as_slice());
        let folder = format!("{}/", dir.path().display());
        let said = |email: &str| list.matches(email).unwrap().to_string().replace(&folder, "");
        // Two files called optouts.txt: named by their paths.
        assert_eq!(said("jane@example.com"), "Listed in a/optouts.txt (line 1): not invited.");
        assert_eq!(said("bob@example.com"), "Listed in b/optouts.txt (line 1): not invited.");
        assert_eq!(said("x@example.com"), "Its domain is listed in blocked.txt (line 3: @example.com): not invited.");
        // A file after a good one that cannot be used is still the error.
        let (_dir, paths) = files(&[("good.txt", b"a@example.com\n"), ("empty.txt", b"")]);
        assert_eq!(ExclusionList::load(&paths).unwrap_err().code(), "exclude.empty");
        assert_eq!(ExclusionList::load(&[]).unwrap().addresses(), 0);
    }

    #[test]
    fn a_hundred_thousand_entries_are_fine() {
        let text: String = (0..100_000).map(|i| format!("customer{i}@example{}.com\n", i % 1000)).collect();
        let list = load("big.txt", text.as_bytes()).unwrap();
        assert_eq!(list.addresses(), 100_000);
        let found = (0..100_000).filter(|i| list.matches(&format!("Customer{i}@example{}.com", i % 1000)).is_some());
        assert_eq!(found.count(), 100_000);
        assert!(list.matches("customer1@example2.com").is_none());
    }

    #[test]
    fn skip_rules_parse_and_match_trimmed_in_any_case() {
        let rule = SkipRule::parse(" Financial Status = refunded | Voided ").unwrap();
        assert_eq!(rule.column(), "Financial Status");
        assert_eq!(rule.values(), ["refunded", "Voided"]);
        assert_eq!(rule.to_string(), "Financial Status=refunded|Voided");
        assert_eq!(rule.code(), "excluded.rule");
        let table = [
            ("refunded", true),
            ("REFUNDED", true),
            ("  voided ", true),
            ("Voided", true),
            ("paid", false),
            ("", false),
            ("partially_refunded", false),
            ("refunded voided", false),
        ];
        for (value, skipped) in table {
            assert_eq!(rule.matches(value), skipped, "{value:?}");
        }
        assert_eq!(rule.reason(" refunded "), "Financial Status is 'refunded' (--skip-where): not invited.");

        let unicode = SkipRule::parse("Status=Storniert|ANNULÉE|İptal").unwrap();
        for (value, skipped) in [("storniert", true), ("annulée", true), ("ANNULÉE", true), ("annulee", false)] {
            assert_eq!(unicode.matches(value), skipped, "{value:?}");
        }
        let rule = SkipRule::parse("Note=a=b").unwrap();
        assert_eq!((rule.column(), rule.values()), ("Note", ["a=b".to_string()].as_slice()));
    }

    #[test]
    fn skip_rules_refused_say_why_with_an_example() {
        let example = "e.g. --skip-where \"Financial Status=refunded|voided\"";
        let table: &[(&str, String)] = &[
            (
                "Financial Status",
                format!("'Financial Status' has no '='; write COLUMN=VALUE (more values separated by '|'), {example}."),
            ),
            ("", format!("'' has no '='; write COLUMN=VALUE (more values separated by '|'), {example}.")),
            ("=refunded", format!("'=refunded' names no column before the '='; write COLUMN=VALUE, {example}.")),
            (" = refunded", format!("'= refunded' names no column before the '='; write COLUMN=VALUE, {example}.")),
            (
                "Status!=paid",
                format!(
                    "'Status!=paid': only '=' is supported (rows whose column equals one of the values are skipped); \
                     list the values of Status to skip, {example}."
                ),
            ),
            (
                "Status=",
                format!(
                    "'Status=' has an empty value; list the values to skip after the '=', separated by '|', {example}."
                ),
            ),
            (
                "Status=refunded||voided",
                format!(
                    "'Status=refunded||voided' has an empty value; list the values to skip after the '=', separated by \
                     '|', {example}."
                ),
            ),
            (
                "Status=refunded|",
                format!(
                    "'Status=refunded|' has an empty value; list the values to skip after the '=', separated by '|', \
                     {example}."
                ),
            ),
        ];
        for (text, message) in table {
            assert_eq!(SkipRule::parse(text), Err(message.clone()), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_list_parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200), text in "(@?[a-zA-Z0-9.'<>:\"#;,| -]{0,20}@?[a-z.]{0,10}\n){0,6}") {
            for bytes in [bytes.as_slice(), text.as_bytes()] {
                match load("list.txt", bytes) {
                    Ok(list) => {
                        proptest::prop_assert!(list.addresses() + list.domains() > 0);
                        let _ = list.matches(&text);
                    }
                    Err(error) => proptest::prop_assert!(error.to_string().contains("list.txt")),
                }
            }
        }

        #[test]
        fn entries_and_rules_never_panic(value in ".{0,40}") {
            let _ = parse_entry(&value);
            if let Ok(rule) = SkipRule::parse(&value) {
                let _ = rule.matches(&value);
            }
        }
    }
}
