//! Reading the customer export as a stream of records: decoding ([`decode`]), the delimiter
//! ([`dialect`]), which column holds which field ([`header`], [`aliases`]), line numbers
//! ([`lines`]), and the lines of a report that are not records ([`framing`]).
//!
//! Memory does not grow with the file: one record buffer is reused, and values are borrowed
//! from it.

pub(crate) mod aliases;
pub(crate) mod decode;
pub(crate) mod dialect;
mod error;
mod framing;
pub(crate) mod header;
mod lines;

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use error::InputError;
pub use framing::{Framing, SkippedLine};
pub use header::Mapping;

use crate::fields::Field;
use framing::Skipped;
use header::{Chosen, Source};
use lines::LineTracker;

/// How much of the (decoded) start of the file the delimiter is guessed from.
const SAMPLE_LEN: usize = 64 * 1024;
/// `csv`'s read buffer.
const BUFFER_LEN: usize = 64 * 1024;
/// A record spanning more lines than this almost surely has a quote that is never closed,
/// which would silently swallow every row after it.
const MAX_RECORD_LINES: u64 = 100;
/// Reading stops when one record runs on for more than this, so an unclosed quote cannot
/// make memory grow with the file.
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// Title lines looked past for the header.
const MAX_TITLE_LINES: usize = 5;

/// How to read the input file (from the command line).
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// `--encoding`; detected when `None`.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// `--delimiter`; detected when `None`.
    pub delimiter: Option<u8>,
    /// `--no-header`: the columns are email, name, reference.
    pub no_header: bool,
    /// `--map FIELD=HEADER`, in the order given.
    pub maps: Vec<(String, String)>,
    /// `--products`: also find the columns of an order's line items.
    pub products: bool,
}

/// An open input file, positioned at its first data record.
pub struct Input {
    stream: Stream,
    delimiter: u8,
    mapping: Mapping,
    /// With `--no-header`, the first record is read at open (to refuse an empty file) and
    /// handed out by the first `next_record`.
    pending: bool,
    row: u64,
    /// Reused for a name joined from first and last name.
    joined_name: String,
    /// Title lines above the header and report lines among the records.
    skipped: Skipped,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("path", &self.stream.path)
            .field("encoding", &self.stream.encoding_name)
            .field("delimiter", &(self.delimiter as char))
            .field("mapping", &self.mapping)
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

impl Input {
    /// Opens `path`, detects its encoding and delimiter, and reads and maps its header.
    ///
    /// Excel's `sep=;` first line names the delimiter (unless `--delimiter` gives one) and is
    /// skipped; so are title lines above the header (see [`Input::skipped_lines`]).
    ///
    /// Fails on an unreadable or empty file, bytes that are not text in the encoding, a
    /// missing required column, or a `--map` naming a column that is not there.
    pub fn open(path: &Path, options: &InputOptions) -> Result<Input, InputError> {
        let decoded = decode::open(path, options.encoding)?;
        let mut source = decoded.reader;
        let sample = decode::read_up_to(&mut source, SAMPLE_LEN).map_err(|e| InputError::unreadable(path, &e))?;
        let complete = sample.len() < SAMPLE_LEN;
        let sep = dialect::excel_sep(&sample);
        let delimiter = options.delimiter.or(sep).unwrap_or_else(|| dialect::sniff(&sample, complete));
        let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(sample).chain(source));
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(BUFFER_LEN)
            .from_reader(LineTracker::new(chained, MAX_RECORD_BYTES));
        let mut stream = Stream {
            path: path.to_path_buf(),
            encoding_name: decoded.name,
            reader,
            record: csv::StringRecord::new(),
            line: 0,
        };
        // The `sep=` line is Excel's instruction, not a record.
        if sep.is_some() {
            stream.read_non_blank()?;
        }
        if !stream.read_non_blank()? {
            return Err(InputError::Empty { path: path.to_path_buf() });
        }
        let mut skipped = Skipped::default();
        let mapping = if options.no_header {
            let mapping = header::resolve_for(path, None, &options.maps, options.products)?;
            check_width(path, &mapping, stream.record.len())?;
            mapping
        } else {
            read_header(&mut stream, options, &mut skipped)?
        };
        Ok(Input {
            stream,
            delimiter,
            mapping,
            pending: options.no_header,
            row: 0,
            joined_name: String::new(),
            skipped,
        })
    }

    /// The encoding the file is read as: `UTF-8`, `UTF-8 (BOM)`, `windows-1252`, `UTF-16LE` ...
    pub fn encoding_name(&self) -> &'static str {
        self.stream.encoding_name
    }

    /// The field delimiter used (given, named by a `sep=` line, or detected).
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Which column holds which field.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.stream.path
    }

    /// The lines skipped so far as a report's framing, not records: a title above the header
    /// (known once the file is open), and lines such as `123 record(s) downloaded` or
    /// `Seller ID : shop` among the records (known once they are read; ask after the last
    /// record). In file order; the first 20 only, see [`Input::skipped_count`].
    pub fn skipped_lines(&self) -> &[SkippedLine] {
        &self.skipped.lines
    }

    /// How many lines were skipped as framing, including those past the ones kept.
    pub fn skipped_count(&self) -> u64 {
        self.skipped.count
    }

    /// The next data record that is not blank and not a report's framing; `Ok(None)` at the
    /// end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, InputError> {
        loop {
            if self.pending {
                self.pending = false;
            } else if !self.stream.read_non_blank()? {
                return Ok(None);
            }
            match framing::footer(&self.stream.record, &self.mapping) {
                Some(text) => self.skipped.push(self.stream.line, Framing::Footer, text),
                None => break,
            }
        }
        self.row += 1;
        let record = &self.stream.record;
        let mut picks = [Pick::None; 3];
        for (pick, field) in picks.iter_mut().zip(Field::REQUIRED) {
            *pick = pick_source(record, self.mapping.chosen(field), &mut self.joined_name);
        }
        Ok(Some(Record {
            fields: record,
            mapping: &self.mapping,
            picks,
            joined_name: &self.joined_name,
            row: self.row,
            line: self.stream.line,
        }))
    }
}

/// Reads the header: the first record that maps, past title lines (records of one or two
/// cells above a wider one). When none maps, the error is the first record's, or that of the
/// header-like record below the titles (three cells or more, no address: not data).
fn read_header(stream: &mut Stream, options: &InputOptions, skipped: &mut Skipped) -> Result<Mapping, InputError> {
    let mut titles: Vec<(u64, usize, String)> = Vec::new();
    let mut first_error = None;
    loop {
        let names: Vec<String> = stream.record.iter().map(str::to_string).collect();
        let error = match header::resolve_for(&stream.path, Some(&names), &options.maps, options.products) {
            Ok(mapping) => {
                for (line, _, text) in titles {
                    skipped.push(line, Framing::Title, text);
                }
                return Ok(mapping);
            }
            Err(error) => error,
        };
        let title = framing::title(&stream.record);
        let cells = framing::cells(&stream.record);
        let data = stream.record.iter().any(|cell| cell.contains('@'));
        if let Some(widest) = titles.iter().map(|&(_, cells, _)| cells).max()
            && title.is_none()
            && cells > widest
            && cells >= 3
            && !data
        {
            return Err(error);
        }
        let first_error = first_error.get_or_insert(error);
        match title {
            Some(text) if titles.len() < MAX_TITLE_LINES => {
                titles.push((stream.line, cells, text));
                if stream.read_non_blank()? {
                    continue;
                }
            }
            _ => {}
        }
        return Err(std::mem::replace(first_error, InputError::Empty { path: PathBuf::new() }));
    }
}

/// With `--no-header`, the first record is the only measure of the file's width: a `--map`
/// past it is refused.
fn check_width(path: &Path, mapping: &Mapping, width: usize) -> Result<(), InputError> {
    for field in Field::ALL {
        let Some(chosen) = mapping.chosen(field) else { continue };
        if let Some(i) = chosen.source.columns().find(|&i| i >= width) {
            return Err(InputError::UnknownMap {
                path: path.to_path_buf(),
                field: field.name().to_string(),
                column: (i + 1).to_string(),
                message: format!(
                    "'{}': {} is mapped to column {}, but the first row has {} column{}. Count the \
                     columns from 1, or check the --delimiter.",
                    path.display(),
                    field.name(),
                    i + 1,
                    width,
                    if width == 1 { "" } else { "s" }
                ),
            });
        }
    }
    Ok(())
}

/// Where a required field's value is on one record: its column, else (where that is empty)
/// its second column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    None,
    Column(usize),
    /// First and last name, joined into the reader's buffer.
    Joined,
}

fn pick_source(record: &csv::StringRecord, chosen: Option<Chosen>, joined: &mut String) -> Pick {
    let Some(chosen) = chosen else { return Pick::None };
    let blank = |source: Source| source.columns().all(|i| record.get(i).is_none_or(|v| v.trim().is_empty()));
    let source = match chosen.fallback {
        Some(fallback) if blank(chosen.source) && !blank(fallback) => fallback,
        _ => chosen.source,
    };
    match source {
        Source::Column(i) => Pick::Column(i),
        Source::Pair { first, last } => match join_name(joined, record.get(first), last.and_then(|i| record.get(i))) {
            true => Pick::Joined,
            false => Pick::None,
        },
    }
}

/// The CSV records of the file, with the line each starts on.
struct Stream {
    path: PathBuf,
    encoding_name: &'static str,
    reader: csv::Reader<LineTracker<Box<dyn Read + Send>>>,
    /// The current record, reused for every read.
    record: csv::StringRecord,
    /// The physical line the current record starts on.
    line: u64,
}

impl Stream {
    /// Reads records until one is not blank; `false` at the end of the file.
    fn read_non_blank(&mut self) -> Result<bool, InputError> {
        loop {
            let more = match self.reader.read_record(&mut self.record) {
                Ok(more) => more,
                Err(error) => return Err(self.csv_error(&error)),
            };
            if !more {
                return Ok(false);
            }
            let start = self.record.position().map_or(0, |p| p.byte());
            self.account(start)?;
            if !dialect::is_blank(self.record.as_byte_record()) {
                return Ok(true);
            }
        }
    }

    /// Works out the lines of the record just read, which started at byte `start`, and
    /// refuses one that runs on for too many lines.
    fn account(&mut self, start: u64) -> Result<(), InputError> {
        let end = self.reader.position().byte();
        let (first, last) = self.reader.get_mut().record(start, end);
        self.line = first;
        if last - first >= MAX_RECORD_LINES {
            return Err(InputError::Csv {
                path: self.path.clone(),
                line: first,
                detail: format!(
                    "the record that starts here runs on to line {last}: a quoted value on line \
                     {first} is probably never closed with a \" (or a \" inside a value is not \
                     doubled as \"\"). Fix that line in the file and run again."
                ),
            });
        }
        Ok(())
    }

    fn csv_error(&mut self, error: &csv::Error) -> InputError {
        match error.kind() {
            // Only when the file is read as UTF-8 without a full scan first (a pipe), or it
            // changed since.
            csv::ErrorKind::Utf8 { pos, err } => {
                if let Err(runaway) = self.account(pos.as_ref().map_or(0, |p| p.byte())) {
                    return runaway;
                }
                let (line, column) = (self.line, err.field() + 1);
                InputError::Encoding {
                    path: self.path.clone(),
                    line: Some(line),
                    detail: format!("is not valid UTF-8: line {line}, column {column} has bytes that are not UTF-8"),
                    hint: "If the file was saved by Excel on Windows or an older program, read it with \
                           --encoding windows-1252 (or name its encoding with --encoding)."
                        .to_string(),
                }
            }
            csv::ErrorKind::Io(_) if self.reader.get_ref().overflowed() => {
                let line = self.reader.get_ref().next_line();
                InputError::Csv {
                    path: self.path.clone(),
                    line,
                    detail: format!(
                        "a record that starts on this line or soon after runs on for more than {} MiB: \
                         a quoted value in it is probably never closed with a \" (or a \" inside a value \
                         is not doubled as \"\"). Fix it in the file and run again.",
                        MAX_RECORD_BYTES / (1024 * 1024)
                    ),
                }
            }
            csv::ErrorKind::Io(io) => InputError::unreadable_at(&self.path, self.reader.get_ref().next_line(), io),
            _ => InputError::Csv {
                path: self.path.clone(),
                line: self.reader.get_ref().next_line(),
                detail: format!("{error}. Check the file's quotes and delimiters around this line."),
            },
        }
    }
}

/// `first last`, each trimmed, into `out`; either may be empty. `false` when the record holds
/// neither.
fn join_name(out: &mut String, first: Option<&str>, last: Option<&str>) -> bool {
    out.clear();
    if first.is_none() && last.is_none() {
        return false;
    }
    let first = first.map_or("", str::trim);
    let last = last.map_or("", str::trim);
    out.push_str(first);
    if !first.is_empty() && !last.is_empty() {
        out.push(' ');
    }
    out.push_str(last);
    true
}

/// One data record, borrowed from the reader until the next call to [`Input::next_record`].
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    fields: &'a csv::StringRecord,
    mapping: &'a Mapping,
    /// Where email, name and reference are on this record.
    picks: [Pick; 3],
    /// The name joined from first and last name, when `picks` says so.
    joined_name: &'a str,
    row: u64,
    line: u64,
}

impl<'a> Record<'a> {
    /// The 1-based index of the data record: the header, blank records and a report's
    /// framing are not counted.
    pub fn row(&self) -> u64 {
        self.row
    }

    /// The physical line the record starts on (the header is line 1; with `--no-header` the
    /// first record is).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The raw, untrimmed value of `field`; `None` when no column is mapped to it or the
    /// record is too short to hold it. A name split into first and last name is the two
    /// trimmed parts joined by a space. A required field with a second column reads it where
    /// its first is empty.
    pub fn get(&self, field: Field) -> Option<Cow<'a, str>> {
        let pick = match field {
            Field::Email => self.picks[0],
            Field::Name => self.picks[1],
            Field::Reference => self.picks[2],
            _ => match self.mapping.chosen(field)?.source {
                Source::Column(i) => Pick::Column(i),
                Source::Pair { .. } => Pick::None,
            },
        };
        match pick {
            Pick::Column(i) => self.fields.get(i).map(Cow::Borrowed),
            Pick::Joined => Some(Cow::Borrowed(self.joined_name)),
            Pick::None => None,
        }
    }

    /// The raw cell of column `index` (counted from 0), if the record reaches it.
    pub fn column(&self, index: usize) -> Option<&'a str> {
        self.fields.get(index)
    }

    /// `Some((found, expected))` when the record has fewer fields than the header.
    pub fn short(&self) -> Option<(usize, usize)> {
        let expected = self.mapping.expected();
        (self.fields.len() < expected).then_some((self.fields.len(), expected))
    }
}

#[cfg(test)]
mod tests;
