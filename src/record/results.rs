//! The results report: one line per input row saying what happened to it, written beside
//! its final path and put in place whole (see [`super::report`]), and read back by `retry`
//! and `ledger import` by its column names, whichever delimiter, column order or encoding a
//! spreadsheet saved it with.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::fields::Field;
use crate::invitation::Invitation;
pub use crate::journal::Status;
use crate::record::cell::{protect, unprotect};

/// The header, exactly as SPEC section 3 fixes it; `links` adds [`LINK`], `--products`
/// [`PRODUCTS`].
pub const HEADER: [&str; 21] = [
    "row",
    "line",
    "status",
    "attempts",
    "http_status",
    "error_code",
    "error",
    "correlation_id",
    "sent_at",
    "email",
    "name",
    "reference",
    "locale",
    "tags",
    "redirect_uri",
    "preferred_send_time",
    "template_id",
    "sender_email",
    "sender_name",
    "reply_to",
    "location_id",
];
pub const LINK: &str = "link";
pub const PRODUCTS: &str = "products";

/// One line of the results report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    pub row: u64,
    pub line: u64,
    pub status: Status,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub error_code: String,
    pub error: String,
    pub correlation_id: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub sent_at: String,
    pub invitation: Invitation,
    /// The invitation link (`links`).
    pub link: String,
}

impl ResultLine {
    /// Whether the line records a request that may have reached Trustpilot: a real-send
    /// status, not of a `--sandbox` rehearsal ([`REHEARSAL`]). [`records_real_send`] reads
    /// files by the same rule.
    pub fn is_real_send(&self) -> bool {
        self.status.is_real_send() && self.error_code != REHEARSAL
    }

    /// Makes this (recycled) line a fresh one of `row` holding a copy of `invitation`,
    /// reusing its memory.
    pub fn refill(&mut self, row: u64, line: u64, status: Status, invitation: &Invitation) {
        self.row = row;
        self.line = line;
        self.status = status;
        self.attempts = 0;
        self.http_status = None;
        for text in [&mut self.error_code, &mut self.error, &mut self.correlation_id, &mut self.sent_at, &mut self.link]
        {
            text.clear();
        }
        self.invitation.clone_from(invitation);
    }

    pub fn new(row: u64, line: u64, status: Status, invitation: Invitation) -> ResultLine {
        ResultLine {
            row,
            line,
            status,
            attempts: 0,
            http_status: None,
            error_code: String::new(),
            error: String::new(),
            correlation_id: String::new(),
            sent_at: String::new(),
            invitation,
            link: String::new(),
        }
    }
}

/// How many rows hold each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub rows: u64,
    by_status: [u64; Status::ALL.len()],
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        self.rows += 1;
        self.by_status[status as usize] += 1;
    }

    pub fn get(&self, status: Status) -> u64 {
        self.by_status[status as usize]
    }
}

/// A results file that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read the results file {path}: {io}")]
    Read { path: PathBuf, io: io::Error },
    #[error("cannot write {path}: {io}. Check the disk space and the permissions of its folder.")]
    Write { path: PathBuf, io: io::Error },
    #[error("cannot write {path}: the folder {folder} does not exist. Create it, or give another path.")]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("{path} is {what}, not a regular file; give the path of a file (it is created if it does not exist).")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error(
        "{path} is not a tp-invite results file (its header has no {missing} column). Give the path of a file \
         that tp-invite wrote, or choose another --results path."
    )]
    NotResults { path: PathBuf, missing: String },
    #[error("{path}, line {line}: {problem}. Restore the file as tp-invite wrote it, or fix that line.")]
    Corrupt { path: PathBuf, line: u64, problem: String },
    #[error(
        "{path}, line {line}: the file is not UTF-8 text (a spreadsheet saved it in another encoding). Save it \
         again as \"CSV UTF-8\" (Excel) or with the character set Unicode (UTF-8) (LibreOffice), then run again."
    )]
    Encoding { path: PathBuf, line: u64 },
}

impl RecordError {
    /// A stable, machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Read { .. } => "results.unreadable",
            RecordError::Write { .. } | RecordError::NoFolder { .. } => "results.unwritable",
            RecordError::NotAFile { .. } => "results.not_a_file",
            RecordError::NotResults { .. } => "results.not_results",
            RecordError::Corrupt { .. } => "results.corrupt",
            RecordError::Encoding { .. } => "results.encoding",
        }
    }
}

pub(crate) fn write_error(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Write { path: path.to_path_buf(), io: source }
}

/// How a report is written: columns, delimiter, byte order mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub delimiter: u8,
    /// A UTF-8 byte order mark first (`--excel`), so that Excel reads the file as UTF-8.
    pub bom: bool,
    pub link: bool,
    pub products: bool,
    /// The run sends to the in-process sandbox (`--sandbox`): its `sent` lines say so
    /// ([`REHEARSAL`]), so that no one takes them for real invitations later.
    pub rehearsal: bool,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout { delimiter: b',', bom: false, link: false, products: false, rehearsal: false }
    }
}

/// The `error_code` of a line a `--sandbox` rehearsal sent: not an invitation. `ledger
/// import` skips such lines, and a results file of nothing else records no real send.
pub const REHEARSAL: &str = "sandbox.rehearsal";
const REHEARSAL_NOTE: &str = "A rehearsal: accepted by the built-in sandbox (--sandbox), not sent to Trustpilot.";

impl Layout {
    /// The header of this layout.
    pub fn header(&self) -> Vec<&'static str> {
        let mut header = HEADER.to_vec();
        if self.link {
            header.push(LINK);
        }
        if self.products {
            header.push(PRODUCTS);
        }
        header
    }
}

/// Writes result lines to a file beside their final path; see [`super::report`] for how it
/// is put in place.
pub struct ResultsWriter {
    path: PathBuf,
    out: csv::Writer<File>,
    layout: Layout,
}

impl ResultsWriter {
    /// A new file beside `path` holding only the header; it takes `path`'s place only when
    /// the returned [`tempfile::TempPath`] is persisted, so a half-written file never stands
    /// under the final name.
    pub fn create_beside(path: &Path, layout: Layout) -> Result<(ResultsWriter, tempfile::TempPath), RecordError> {
        let (mut file, temp) = temp_beside(path)?;
        if layout.bom {
            file.write_all("\u{feff}".as_bytes()).map_err(write_error(path))?;
        }
        // csv buffers itself: a BufWriter under it would only copy every byte once more.
        let out = csv::WriterBuilder::new()
            .has_headers(false)
            .delimiter(layout.delimiter)
            .buffer_capacity(1 << 18)
            .from_writer(file);
        let mut writer = ResultsWriter { path: path.to_path_buf(), out, layout };
        writer.out.write_record(layout.header()).map_err(|e| write_error(path)(e.into()))?;
        Ok((writer, temp))
    }

    pub fn write(&mut self, line: &ResultLine) -> Result<(), RecordError> {
        self.write_cells(line).map_err(|e| write_error(&self.path)(e.into()))
    }

    /// Field by field, without allocating for the common row.
    fn write_cells(&mut self, line: &ResultLine) -> csv::Result<()> {
        let out = &mut self.out;
        let mut digits = [0u8; 20];
        out.write_field(decimal(line.row, &mut digits))?;
        out.write_field(decimal(line.line, &mut digits))?;
        out.write_field(line.status.as_str())?;
        out.write_field(decimal(u64::from(line.attempts), &mut digits))?;
        match line.http_status {
            Some(status) => out.write_field(decimal(u64::from(status), &mut digits))?,
            None => out.write_field("")?,
        }
        let (code, error) = match self.layout.rehearsal && line.status == Status::Sent && line.error_code.is_empty() {
            true => (REHEARSAL, REHEARSAL_NOTE),
            false => (line.error_code.as_str(), line.error.as_str()),
        };
        for text in [code, error, &line.correlation_id, &line.sent_at] {
            out.write_field(protect(text).as_bytes())?;
        }
        for field in Field::INVITATION {
            out.write_field(protect(line.invitation.value(field)).as_bytes())?;
        }
        if self.layout.link {
            out.write_field(protect(&line.link).as_bytes())?;
        }
        if self.layout.products {
            out.write_field(protect(&line.invitation.products.skus().join(";")).as_bytes())?;
        }
        out.write_record(None::<&[u8]>)
    }

    /// Makes everything written so far durable.
    pub fn sync(&mut self) -> Result<(), RecordError> {
        self.out.flush().map_err(write_error(&self.path))?;
        self.out.get_ref().sync_data().map_err(write_error(&self.path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `n` in decimal, in `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Reads a results file by its column names: as tp-invite wrote it, or as a spreadsheet
/// saved it (a byte order mark, `;` or tab as the delimiter, columns moved or added).
pub struct ResultsReader {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    columns: Columns,
    record: csv::StringRecord,
    layout: Layout,
}

/// Where each known column is.
#[derive(Debug, Default)]
struct Columns {
    row: usize,
    line: Option<usize>,
    status: usize,
    attempts: Option<usize>,
    http_status: Option<usize>,
    error_code: Option<usize>,
    error: Option<usize>,
    correlation_id: Option<usize>,
    sent_at: Option<usize>,
    fields: [Option<usize>; Field::INVITATION.len()],
    link: Option<usize>,
    products: Option<usize>,
}

impl ResultsReader {
    /// Opens a results file and reads its header. `Ok(None)` when the file is empty.
    pub fn open(path: &Path) -> Result<Option<ResultsReader>, RecordError> {
        let read_error = |source: io::Error| RecordError::Read { path: path.to_path_buf(), io: source };
        if let Some(what) = not_a_file(path).map_err(read_error)? {
            return Err(RecordError::NotAFile { path: path.to_path_buf(), what });
        }
        if let Some(line) = first_non_utf8_line(path).map_err(read_error)? {
            return Err(RecordError::Encoding { path: path.to_path_buf(), line });
        }
        let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(read_error)?);
        let mut head = [0u8; 3];
        let mut got = 0;
        while got < 3 {
            let n = file.read(&mut head[got..]).map_err(read_error)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let bom = head[..got] == [0xef, 0xbb, 0xbf];
        let start: Box<dyn Read + Send> = match bom {
            true => Box::new(file),
            false => Box::new(io::Cursor::new(head[..got].to_vec()).chain(file)),
        };
        // The delimiter is the one the header line holds most of: any a spreadsheet saves, and
        // any `--excel` writes (the input's own).
        let mut start = BufReader::new(start);
        let mut first = Vec::new();
        io::BufRead::read_until(&mut start, b'\n', &mut first).map_err(read_error)?;
        let delimiter = crate::record::DELIMITERS
            .into_iter()
            .max_by_key(|d| first.iter().filter(|b| *b == d).count())
            .unwrap_or(b',');
        let source: Box<dyn Read + Send> = Box::new(io::Cursor::new(first).chain(start));
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(source);
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(RecordError::Corrupt { path: path.to_path_buf(), line: 1, problem: e.to_string() }),
        }
        let names: Vec<String> = record.iter().map(|name| name.trim().to_ascii_lowercase()).collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let require = |name: &str| {
            find(name).ok_or_else(|| RecordError::NotResults { path: path.to_path_buf(), missing: name.to_string() })
        };
        let mut columns = Columns {
            row: require("row")?,
            line: find("line"),
            status: require("status")?,
            attempts: find("attempts"),
            http_status: find("http_status"),
            error_code: find("error_code"),
            error: find("error"),
            correlation_id: find("correlation_id"),
            sent_at: find("sent_at"),
            link: find(LINK),
            products: find(PRODUCTS),
            ..Columns::default()
        };
        for (slot, field) in columns.fields.iter_mut().zip(Field::INVITATION) {
            *slot = find(field.name());
        }
        for required in [Field::Email, Field::Reference] {
            if find(required.name()).is_none() {
                return Err(RecordError::NotResults { path: path.to_path_buf(), missing: required.name().to_string() });
            }
        }
        let layout = Layout {
            delimiter,
            bom,
            link: columns.link.is_some(),
            products: columns.products.is_some(),
            rehearsal: false,
        };
        Ok(Some(ResultsReader { path: path.to_path_buf(), reader, columns, record, layout }))
    }

    /// How the file is written, to write it back the same way.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The next line; `Ok(None)` at the end.
    pub fn next_line(&mut self) -> Result<Option<ResultLine>, RecordError> {
        loop {
            let line = self.reader.position().line();
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => {
                    return Err(RecordError::Corrupt { path: self.path.clone(), line, problem: e.to_string() });
                }
            }
            if self.record.iter().all(|cell| cell.trim().is_empty()) {
                continue; // a blank line, as spreadsheets add at the end
            }
            return parse_line(&self.record, &self.columns).map(Some).map_err(|problem| RecordError::Corrupt {
                path: self.path.clone(),
                line,
                problem,
            });
        }
    }
}

/// Parses one record, its columns found by [`ResultsReader::open`].
fn parse_line(record: &csv::StringRecord, columns: &Columns) -> Result<ResultLine, String> {
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
    let text = |i: Option<usize>| unprotect(cell(i)).to_string();
    let number = |name: &str, i: Option<usize>| -> Result<u64, String> {
        let value = cell(i);
        value.parse().map_err(|_| format!("{name} '{}' is not a whole number", clip(value)))
    };
    let status_text = cell(Some(columns.status));
    let status = Status::parse(status_text).ok_or_else(|| {
        let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        format!("the status '{}' is not one of {}", clip(status_text), known.join(", "))
    })?;
    let row = number("the row", Some(columns.row))?;
    let line = match cell(columns.line) {
        "" => row.saturating_add(1),
        _ => number("the line", columns.line)?,
    };
    let attempts = match cell(columns.attempts) {
        "" => 0,
        value => value.parse().map_err(|_| format!("attempts '{}' is not a whole number", clip(value)))?,
    };
    let http_status = match cell(columns.http_status) {
        "" => None,
        value => Some(value.parse().map_err(|_| format!("http_status '{}' is not an HTTP status", clip(value)))?),
    };
    let mut invitation = Invitation::default();
    let skus = text(columns.products);
    if !skus.is_empty() {
        let skus = skus.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        invitation.products = crate::invitation::Products::Skus(skus);
    }
    for (field, column) in Field::INVITATION.into_iter().zip(columns.fields) {
        let value = unprotect(cell(column));
        match field {
            // A spreadsheet may have put spaces after the commas.
            Field::Tags => {
                let tags: Vec<&str> = value.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
                invitation.set(field, &tags.join(","));
            }
            _ => invitation.set(field, value),
        }
    }
    Ok(ResultLine {
        row,
        line,
        status,
        attempts,
        http_status,
        error_code: text(columns.error_code),
        error: text(columns.error),
        correlation_id: text(columns.correlation_id),
        sent_at: text(columns.sent_at),
        invitation,
        link: text(columns.link),
    })
}

/// A value from a file, short enough to quote in a message.
fn clip(value: &str) -> String {
    let mut clipped: String = value.chars().take(40).collect();
    if clipped.len() < value.len() {
        clipped.push_str("...");
    }
    clipped
}

/// The first line holding bytes that are not UTF-8, if any (read as a stream).
fn first_non_utf8_line(path: &Path) -> io::Result<Option<u64>> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut carry = 0;
    let mut line = 1u64;
    loop {
        let n = file.read(&mut buf[carry..])?;
        let end = carry + n;
        let chunk = &buf[..end];
        let valid = match std::str::from_utf8(chunk) {
            Ok(_) => end,
            // A character cut by the end of the buffer is not an error yet.
            Err(e) if e.error_len().is_none() && n > 0 => e.valid_up_to(),
            Err(e) => {
                let at = e.valid_up_to();
                return Ok(Some(line + chunk[..at].iter().filter(|&&b| b == b'\n').count() as u64));
            }
        };
        line += chunk[..valid].iter().filter(|&&b| b == b'\n').count() as u64;
        if n == 0 {
            return Ok(None);
        }
        buf.copy_within(valid..end, 0);
        carry = end - valid;
    }
}

/// What a path is when it is neither a regular file nor absent.
pub fn not_a_file(path: &Path) -> io::Result<Option<&'static str>> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(None),
        Ok(meta) if meta.is_dir() => Ok(Some("a folder")),
        Ok(_) => Ok(Some("a device or other special file")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the results file at `path` records a real send (a row `sent`, `already_sent`,
/// `failed` or `unknown`), read as a stream that stops at the first one.
pub fn records_real_send(path: &Path) -> Result<bool, RecordError> {
    let Some(mut reader) = ResultsReader::open(path)? else { return Ok(false) };
    // Only the status and the error code are read: a dry run's results of a million rows are
    // checked in a fraction of the time a full reading takes.
    let (status, code) = (reader.columns.status, reader.columns.error_code);
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            // A damaged line cannot prove that nothing was sent.
            Err(_) => return Ok(true),
        }
        let cell = |i: Option<usize>| record.get(i.unwrap_or(usize::MAX)).unwrap_or_default().trim_ascii();
        let text = cell(Some(status));
        if text.is_empty() && record.iter().all(|cell| cell.trim_ascii().is_empty()) {
            continue; // a blank line, as spreadsheets add at the end
        }
        match std::str::from_utf8(text).ok().and_then(Status::parse) {
            Some(status) if !status.is_real_send() => {}
            Some(_) if cell(code) == REHEARSAL.as_bytes() => {}
            // A real send, or a status that cannot be read: nothing proves nothing was sent.
            _ => return Ok(true),
        }
    }
}

/// A new file in the same folder as `path` (so a rename is atomic), removed if not
/// persisted. Its name (`.<name>.<pid>.<random>.tmp`) lets a later run remove it if this
/// process dies before that ([`remove_stale_temps`]).
pub fn temp_beside(path: &Path) -> Result<(File, tempfile::TempPath), RecordError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(RecordError::NoFolder { path: path.to_path_buf(), folder: dir.to_path_buf() });
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // tempfile's error names the temporary path; the user knows only the final one.
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.{}.", std::process::id()))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| write_error(path)(io::Error::new(e.kind(), strip_path(&e))))?;
    let (file, temp_path) = temp.into_parts();
    Ok((file, temp_path))
}

/// Removes the temporary files of `path` that a process which no longer runs left behind
/// (killed while it wrote). Best effort.
pub fn remove_stale_temps(path: &Path) {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix).filter(|_| file_name.ends_with(".tmp")) else { continue };
        let Some(pid) = rest.split('.').next().and_then(|pid| pid.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !process_alive(pid, &entry) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` may still be writing `entry`.
fn process_alive(pid: u32, entry: &std::fs::DirEntry) -> bool {
    if cfg!(target_os = "linux") {
        return Path::new("/proc").join(pid.to_string()).exists();
    }
    // Elsewhere: a day without a change means nobody writes it any more.
    let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
    age.is_none_or(|age| age < std::time::Duration::from_secs(24 * 3600))
}

/// An I/O error's message without the " at path ..." that tempfile adds.
fn strip_path(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" at path ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// After a rename, make the folder entry durable too (best effort: not every system allows it).
pub fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(row: u64, status: Status, name: &str) -> ResultLine {
        let invitation = Invitation::default()
            .with(Field::Email, &format!("c{row}@example.com"))
            .with(Field::Name, name)
            .with(Field::Reference, &format!("R{row}"))
            .with(Field::Tags, "a,b")
            .with(Field::Locale, "en-GB");
        ResultLine { attempts: 1, http_status: Some(202), ..ResultLine::new(row, row + 1, status, invitation) }
    }

    fn write(path: &Path, layout: Layout, lines: &[ResultLine]) {
        let (mut writer, temp) = ResultsWriter::create_beside(path, layout).unwrap();
        for l in lines {
            writer.write(l).unwrap();
        }
        writer.sync().unwrap();
        drop(writer);
        temp.persist(path).unwrap();
    }

    fn read_all(path: &Path) -> Vec<ResultLine> {
        let mut reader = ResultsReader::open(path).unwrap().unwrap();
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            lines.push(line);
        }
        lines
    }

    #[test]
    fn the_header_is_exactly_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        write(&path, Layout::default(), &[]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "row,line,status,attempts,http_status,error_code,error,correlation_id,sent_at,email,name,reference,locale,tags,redirect_uri,preferred_send_time,template_id,sender_email,sender_name,reply_to,location_id\n"
        );
        assert!(dir.path().read_dir().unwrap().count() == 1, "no temporary file left");
    }

    #[test]
    fn what_is_written_is_read_back_in_every_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut lines = vec![line(1, Status::Invalid, "=One"), line(2, Status::AlreadySent, "Two")];
        lines[1].link = "https://example.com/l/1".into();
        for layout in [
            Layout { link: true, ..Layout::default() },
            Layout { delimiter: b';', bom: true, link: true, ..Layout::default() },
            Layout { delimiter: b'\t', bom: false, link: true, products: true, rehearsal: false },
        ] {
            write(&path, layout, &lines);
            assert_eq!(read_all(&path), lines, "{layout:?}");
            let reader = ResultsReader::open(&path).unwrap().unwrap();
            assert_eq!(reader.layout(), layout);
        }
        assert!(std::fs::read_to_string(&path).unwrap().contains("\t'=One\t"));
    }

    #[test]
    fn a_spreadsheet_saved_file_is_read_by_column_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        // Columns moved, one dropped, one added, `;`, a BOM, CRLF, no line break at the end.
        std::fs::write(
            &path,
            "\u{feff}status;email;reference;row;name;note\r\nfailed;a@example.com;R1;3;Ann;x\r\nsent;b@example.com;R2;4;Bo;y",
        )
        .unwrap();
        let lines = read_all(&path);
        assert_eq!(lines.len(), 2, "the last line without a line break is a line");
        assert_eq!((lines[0].row, lines[0].line, lines[0].status), (3, 4, Status::Failed));
        assert_eq!(lines[1].invitation.email(), "b@example.com");
        assert_eq!(lines[1].invitation.name(), "Bo");
    }

    #[test]
    fn unusable_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "email,name\na@example.com,A\n").unwrap();
        assert!(matches!(ResultsReader::open(&path), Err(RecordError::NotResults { .. })));
        std::fs::write(&path, b"row,status,email,reference\n1,sent,a@example.com,R\n2,sent,b@example.com,Caf\xe9\n")
            .unwrap();
        assert!(matches!(ResultsReader::open(&path), Err(RecordError::Encoding { line: 3, .. })));
        for (bad, word) in [("x", "row"), ("18446744073709551616", "row"), ("1", "status")] {
            let status = if word == "status" { "maybe" } else { "sent" };
            std::fs::write(&path, format!("row,status,email,reference\n{bad},{status},a@example.com,R\n")).unwrap();
            let mut reader = ResultsReader::open(&path).unwrap().unwrap();
            match reader.next_line() {
                Err(RecordError::Corrupt { line: 2, problem, .. }) => assert!(problem.contains(word), "{problem}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        std::fs::write(&path, "").unwrap();
        assert!(ResultsReader::open(&path).unwrap().is_none());
        assert!(matches!(ResultsReader::open(dir.path()), Err(RecordError::NotAFile { .. })));
    }

    #[test]
    fn stale_temporary_files_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        // No process has pid 4194304 or more on Linux (the highest pid_max).
        let stale = dir.path().join(".r.csv.4194999.abc123.tmp");
        let mine = dir.path().join(format!(".r.csv.{}.abc123.tmp", std::process::id()));
        let other = dir.path().join(".s.csv.4194999.abc123.tmp");
        for p in [&stale, &mine, &other] {
            std::fs::write(p, "x").unwrap();
        }
        remove_stale_temps(&path);
        if cfg!(target_os = "linux") {
            assert!(!stale.exists());
        }
        assert!(mine.exists() && other.exists());
    }

    proptest::proptest! {
        #[test]
        fn any_line_is_read_back(
            name in ".{0,40}", reference in "[^\u{0}]{0,20}", error in ".{0,60}",
            tags in proptest::collection::vec("[A-Za-z0-9_.-]{1,8}", 0..4), attempts in 0u32..9,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("r.csv");
            let mut original = line(7, Status::Failed, name.trim());
            original.invitation.set(Field::Reference, reference.trim());
            original.invitation.set(Field::Tags, &tags.join(","));
            original.error = error.trim().to_string();
            original.attempts = attempts;
            write(&path, Layout::default(), std::slice::from_ref(&original));
            proptest::prop_assert_eq!(read_all(&path), vec![original]);
        }
    }
}
