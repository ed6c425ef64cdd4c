//! The results file: one line per input row saying what happened to it.
//!
//! During a send it is also the write-ahead journal: lines are appended as things happen,
//! and a later line for a row supersedes an earlier one. Before a request leaves, a line
//! with status `unknown` is made durable; the answer appends the row's real outcome. A
//! `kill -9` at any moment therefore leaves, for every row, either nothing (not reached), a
//! final status, or `unknown` (it may have been sent). When a run ends the file is compacted
//! into exactly one line per row, in row order, by an atomic rename.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::invitation::{Field, Invitation};
use crate::record::cell::{protect, unprotect};

/// The header, exactly as SPEC section 3 fixes it.
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

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Sent,
    Failed,
    Invalid,
    Duplicate,
    Skipped,
    Unknown,
    Ready,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Sent,
        Status::Failed,
        Status::Invalid,
        Status::Duplicate,
        Status::Skipped,
        Status::Unknown,
        Status::Ready,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Duplicate => "duplicate",
            Status::Skipped => "skipped",
            Status::Unknown => "unknown",
            Status::Ready => "ready",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// A request for this row may have reached Trustpilot: the file records a real send.
    pub fn is_real_send(self) -> bool {
        matches!(self, Status::Sent | Status::Failed | Status::Unknown)
    }

    fn code(self) -> u8 {
        self as u8 + 1
    }

    fn from_code(code: u8) -> Option<Status> {
        Status::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the results file.
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
}

impl ResultLine {
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
        }
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
    #[error(
        "{path} is not a tp-invite results file (its header is not `row,line,status,...`). Give the path of a file \
         that tp-invite wrote, or choose another --results path."
    )]
    NotResults { path: PathBuf },
    #[error(
        "{path}, line {line}: {problem}. The results file was changed by hand; restore it or choose another --results path."
    )]
    Corrupt { path: PathBuf, line: u64, problem: String },
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Write { path: path.to_path_buf(), io: source }
}

/// Appends result lines to a file. The caller decides when a line must be durable.
pub struct ResultsWriter {
    path: PathBuf,
    out: csv::Writer<File>,
}

impl ResultsWriter {
    /// A new, empty file holding only the header (the file is truncated).
    pub fn create(path: &Path) -> Result<ResultsWriter, RecordError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.is_dir()) {
            return Err(RecordError::NoFolder { path: path.to_path_buf(), folder: folder.to_path_buf() });
        }
        let file = File::create(path).map_err(write_error(path))?;
        let mut writer = ResultsWriter::over(path, file);
        writer.out.write_record(HEADER).map_err(|e| write_error(path)(e.into()))?;
        Ok(writer)
    }

    /// A new file beside `path` holding only the header; it takes `path`'s place only when
    /// the returned [`tempfile::TempPath`] is persisted, so a half-written file never stands
    /// under the final name.
    pub fn create_beside(path: &Path) -> Result<(ResultsWriter, tempfile::TempPath), RecordError> {
        let (file, temp) = temp_beside(path)?;
        let mut writer = ResultsWriter::over(path, file);
        writer.out.write_record(HEADER).map_err(|e| write_error(path)(e.into()))?;
        Ok((writer, temp))
    }

    /// Appends to an existing file whose last complete line ends at `len` (a torn tail is cut).
    pub fn append(path: &Path, len: u64) -> Result<ResultsWriter, RecordError> {
        let file = OpenOptions::new().write(true).open(path).map_err(write_error(path))?;
        file.set_len(len).map_err(write_error(path))?;
        let mut file = file;
        file.seek(SeekFrom::End(0)).map_err(write_error(path))?;
        Ok(ResultsWriter::over(path, file))
    }

    fn over(path: &Path, file: File) -> ResultsWriter {
        // csv buffers itself: a BufWriter under it would only copy every byte once more.
        let out = csv::WriterBuilder::new().has_headers(false).buffer_capacity(1 << 18).from_writer(file);
        ResultsWriter { path: path.to_path_buf(), out }
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
        for text in [&line.error_code, &line.error, &line.correlation_id, &line.sent_at] {
            out.write_field(protect(text).as_bytes())?;
        }
        for field in Field::ALL {
            out.write_field(protect(&line.invitation.value(field)).as_bytes())?;
        }
        out.write_record(None::<&[u8]>)
    }

    /// Hands everything written so far to the operating system.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush().map_err(write_error(&self.path))
    }

    /// Makes everything written so far durable (survives a crash or power loss).
    pub fn sync(&mut self) -> Result<(), RecordError> {
        self.flush()?;
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

/// Parses one record of a results file.
pub fn parse_line(record: &csv::StringRecord) -> Result<ResultLine, String> {
    if record.len() != HEADER.len() {
        return Err(format!("{} fields instead of {}", record.len(), HEADER.len()));
    }
    let number = |i: usize| -> Result<u64, String> {
        record[i].parse().map_err(|_| format!("{} '{}' is not a number", HEADER[i], &record[i]))
    };
    let text = |i: usize| unprotect(&record[i]).to_string();
    let opt = |i: usize| Some(unprotect(&record[i]).to_string()).filter(|v| !v.is_empty());
    let status = Status::parse(&record[2]).ok_or_else(|| format!("unknown status '{}'", &record[2]))?;
    let http_status = match &record[4] {
        "" => None,
        s => Some(s.parse().map_err(|_| format!("http_status '{s}' is not a number"))?),
    };
    let tags = unprotect(&record[13]);
    let invitation = Invitation {
        email: text(9),
        name: text(10),
        reference: text(11),
        locale: opt(12),
        tags: if tags.is_empty() { Vec::new() } else { tags.split(',').map(str::to_string).collect() },
        redirect_uri: opt(14),
        preferred_send_time: opt(15),
        template_id: opt(16),
        sender_email: opt(17),
        sender_name: opt(18),
        reply_to: opt(19),
        location_id: opt(20),
    };
    Ok(ResultLine {
        row: number(0)?,
        line: number(1)?,
        status,
        attempts: u32::try_from(number(3)?).map_err(|_| "attempts is too large".to_string())?,
        http_status,
        error_code: text(5),
        error: text(6),
        correlation_id: text(7),
        sent_at: text(8),
        invitation,
    })
}

/// How many rows a record holds, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// The highest row recorded.
    pub rows: u64,
    by_status: [u64; 7],
}

impl Counts {
    pub fn get(&self, status: Status) -> u64 {
        self.by_status[status as usize]
    }
}

/// What a results file records, row by row, without holding the lines: the status and the
/// position of the latest line of each row (9 bytes a row).
#[derive(Debug, Default)]
pub struct Loaded {
    statuses: Vec<u8>,
    offsets: Vec<u64>,
    /// Where the last complete line ends: anything after it is a torn write.
    pub complete_len: u64,
    /// Lines in the file, superseded ones included.
    pub lines: u64,
}

impl Loaded {
    /// Reads a results file (streaming). A torn last line (from a crash) is ignored.
    pub fn read(path: &Path) -> Result<Loaded, RecordError> {
        let read_error = |source: io::Error| RecordError::Read { path: path.to_path_buf(), io: source };
        let mut file = File::open(path).map_err(read_error)?;
        let len = file.metadata().map_err(read_error)?.len();
        // A crash can cut the last line; only bytes up to the last newline count.
        let complete_len = last_newline_end(&mut file, len).map_err(read_error)?;
        file.seek(SeekFrom::Start(0)).map_err(read_error)?;
        let limited = BufReader::with_capacity(1 << 16, file).take(complete_len);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(limited);
        let mut record = csv::StringRecord::new();
        let mut loaded = Loaded { complete_len, ..Loaded::default() };
        let corrupt = |line: u64, problem: String| RecordError::Corrupt { path: path.to_path_buf(), line, problem };
        let mut first = true;
        loop {
            let start = reader.position().byte();
            let line = reader.position().line();
            let read = reader.read_record(&mut record);
            // A crash can also cut a line inside a quoted field that holds a line break: a
            // broken record that runs to the end of the file is such a torn write.
            let torn = reader.position().byte() >= complete_len;
            let broken = match &read {
                Ok(true) => !first && record.len() != HEADER.len(),
                Ok(false) => break,
                Err(_) => true,
            };
            if broken && torn {
                loaded.complete_len = start;
                break;
            }
            if let Err(e) = read {
                return Err(corrupt(line, e.to_string()));
            }
            if first {
                first = false;
                if record.iter().ne(HEADER) {
                    return Err(RecordError::NotResults { path: path.to_path_buf() });
                }
                continue;
            }
            if record.len() != HEADER.len() {
                return Err(corrupt(line, format!("{} fields instead of {}", record.len(), HEADER.len())));
            }
            let row: usize =
                record[0].parse().map_err(|_| corrupt(line, format!("row '{}' is not a number", &record[0])))?;
            let status =
                Status::parse(&record[2]).ok_or_else(|| corrupt(line, format!("unknown status '{}'", &record[2])))?;
            if row == 0 {
                return Err(corrupt(line, "row 0".to_string()));
            }
            if loaded.statuses.len() < row {
                loaded.statuses.resize(row, 0);
                loaded.offsets.resize(row, u64::MAX);
            }
            loaded.statuses[row - 1] = status.code();
            loaded.offsets[row - 1] = start;
            loaded.lines += 1;
        }
        if first {
            // A crash right after the file was created can leave it empty or with part of
            // the header: that records nothing. Anything else is someone else's file.
            let mut head = vec![0u8; len.min(4096) as usize];
            let mut file = File::open(path).map_err(read_error)?;
            file.read_exact(&mut head).map_err(read_error)?;
            let header = HEADER.join(",");
            if header.as_bytes().starts_with(&head) {
                return Ok(Loaded::default());
            }
            return Err(RecordError::NotResults { path: path.to_path_buf() });
        }
        Ok(loaded)
    }

    /// How many rows hold each status.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts { rows: self.rows(), ..Counts::default() };
        for &code in &self.statuses {
            if let Some(status) = Status::from_code(code) {
                counts.by_status[status as usize] += 1;
            }
        }
        counts
    }

    /// The highest row recorded.
    pub fn rows(&self) -> u64 {
        self.statuses.len() as u64
    }

    /// The latest status of `row`, if any line records it.
    pub fn status(&self, row: u64) -> Option<Status> {
        let index = usize::try_from(row.checked_sub(1)?).ok()?;
        Status::from_code(*self.statuses.get(index)?)
    }

    /// Whether any row records a request that may have reached Trustpilot.
    pub fn records_real_send(&self) -> bool {
        self.statuses.iter().any(|&c| Status::from_code(c).is_some_and(Status::is_real_send))
    }

    /// The latest line of every recorded row, in row order (streaming: it seeks only where the
    /// file is out of order).
    pub fn lines_in_order<'a>(&'a self, path: &Path) -> Result<InOrder<'a>, RecordError> {
        let file = File::open(path).map_err(|source| RecordError::Read { path: path.to_path_buf(), io: source })?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 16, file));
        Ok(InOrder { loaded: self, reader, next: 0, record: csv::StringRecord::new(), path: path.to_path_buf() })
    }
}

/// Whether the results file at `path` records a real send (a row `sent`, `failed` or
/// `unknown`), read as a stream that stops at the first one: what a run that will replace the
/// file needs to know, without the cost of [`Loaded::read`].
pub fn records_real_send(path: &Path) -> Result<bool, RecordError> {
    let read_error = |source: io::Error| RecordError::Read { path: path.to_path_buf(), io: source };
    let file = File::open(path).map_err(read_error)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, file));
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) if record.iter().eq(HEADER.iter().map(|h| h.as_bytes())) => {}
        // Empty, or a header cut short, records nothing; anything else is not ours:
        // `Loaded::read` tells which, with the error to show.
        _ => return Loaded::read(path).map(|_| false),
    }
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(false),
            Ok(true) => {}
            Err(e) if e.is_io_error() => return Err(read_error(e.into())),
            // A damaged line cannot prove that nothing was sent: read on.
            Err(_) => continue,
        }
        if matches!(record.get(2), Some(b"sent" | b"failed" | b"unknown")) {
            return Ok(true);
        }
    }
}

/// Iterator over the latest line of each row, in row order.
pub struct InOrder<'a> {
    loaded: &'a Loaded,
    reader: csv::Reader<BufReader<File>>,
    next: usize,
    record: csv::StringRecord,
    path: PathBuf,
}

impl Iterator for InOrder<'_> {
    type Item = Result<ResultLine, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.loaded.offsets.len() {
            let offset = self.loaded.offsets[self.next];
            self.next += 1;
            if offset == u64::MAX {
                continue;
            }
            return Some(self.read_at(offset));
        }
        None
    }
}

impl InOrder<'_> {
    fn read_at(&mut self, offset: u64) -> Result<ResultLine, RecordError> {
        let path = &self.path;
        if self.reader.position().byte() != offset {
            let mut position = csv::Position::new();
            position.set_byte(offset);
            self.reader.seek(position).map_err(|e| RecordError::Read { path: path.clone(), io: e.into() })?;
        }
        let corrupt = |problem: String| RecordError::Corrupt { path: path.clone(), line: 0, problem };
        match self.reader.read_record(&mut self.record) {
            Ok(true) => parse_line(&self.record).map_err(corrupt),
            Ok(false) => Err(corrupt("the file ended early".to_string())),
            Err(e) => Err(corrupt(e.to_string())),
        }
    }
}

/// The length of the file up to and including its last `\n`.
fn last_newline_end(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Rewrites the file as exactly one line per row, in row order, atomically: the new file is
/// written beside it, made durable, then renamed over it.
///
/// Returns the counts by status, which the rewrite does not change (the file is not read a
/// third time to learn them).
pub fn compact(path: &Path) -> Result<Counts, RecordError> {
    let loaded = Loaded::read(path)?;
    let (file, temp) = temp_beside(path)?;
    let mut writer = ResultsWriter::over(path, file);
    writer.out.write_record(HEADER).map_err(|e| write_error(path)(e.into()))?;
    for line in loaded.lines_in_order(path)? {
        writer.write(&line?)?;
    }
    writer.sync()?;
    drop(writer);
    temp.persist(path).map_err(|e| write_error(path)(e.error))?;
    sync_dir(path);
    Ok(loaded.counts())
}

/// A new file in the same folder as `path` (so a rename is atomic), removed if not persisted.
pub fn temp_beside(path: &Path) -> Result<(File, tempfile::TempPath), RecordError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(RecordError::NoFolder { path: path.to_path_buf(), folder: dir.to_path_buf() });
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // tempfile's error names the temporary path; the user knows only the final one.
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| write_error(path)(io::Error::new(e.kind(), strip_path(&e))))?;
    let (file, temp_path) = temp.into_parts();
    Ok((file, temp_path))
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
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(row: u64, status: Status, name: &str) -> ResultLine {
        let invitation = Invitation {
            email: format!("c{row}@example.com"),
            name: name.to_string(),
            reference: format!("R{row}"),
            tags: vec!["a".into(), "b".into()],
            locale: Some("en-GB".into()),
            ..Invitation::default()
        };
        ResultLine { attempts: 1, http_status: Some(202), ..ResultLine::new(row, row + 1, status, invitation) }
    }

    #[test]
    fn the_header_is_exactly_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path).unwrap();
        w.flush().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "row,line,status,attempts,http_status,error_code,error,correlation_id,sent_at,email,name,reference,locale,tags,redirect_uri,preferred_send_time,template_id,sender_email,sender_name,reply_to,location_id\n"
        );
    }

    #[test]
    fn later_lines_supersede_and_compaction_orders_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path).unwrap();
        w.write(&line(2, Status::Unknown, "Two")).unwrap();
        w.write(&line(1, Status::Invalid, "=One")).unwrap();
        w.write(&line(3, Status::Skipped, "Three")).unwrap();
        w.write(&line(2, Status::Sent, "Two")).unwrap();
        w.sync().unwrap();
        drop(w);
        let loaded = Loaded::read(&path).unwrap();
        assert_eq!(loaded.status(1), Some(Status::Invalid));
        assert_eq!(loaded.status(2), Some(Status::Sent));
        assert_eq!(loaded.status(4), None);
        assert!(loaded.records_real_send());
        let counts = compact(&path).unwrap();
        assert_eq!((counts.rows, counts.get(Status::Sent), counts.get(Status::Invalid)), (3, 1, 1));
        let compacted = Loaded::read(&path).unwrap();
        assert_eq!(compacted.lines, 3);
        let lines: Vec<_> = compacted.lines_in_order(&path).unwrap().map(Result::unwrap).collect();
        assert_eq!(
            lines,
            [line(1, Status::Invalid, "=One"), line(2, Status::Sent, "Two"), line(3, Status::Skipped, "Three")]
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(",'=One,"), "{text}");
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path).unwrap();
        w.write(&line(1, Status::Sent, "One")).unwrap();
        w.sync().unwrap();
        drop(w);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"2,3,sent,1,202,,,,,c2@exa").unwrap();
        drop(f);
        let loaded = Loaded::read(&path).unwrap();
        assert_eq!(loaded.status(2), None);
        assert_eq!(loaded.lines, 1);
        let mut w = ResultsWriter::append(&path, loaded.complete_len).unwrap();
        w.write(&line(2, Status::Failed, "Two")).unwrap();
        w.sync().unwrap();
        let loaded = Loaded::read(&path).unwrap();
        assert_eq!(loaded.status(2), Some(Status::Failed));
    }

    #[test]
    fn an_empty_or_torn_header_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        for content in ["", "row,line,sta"] {
            std::fs::write(&path, content).unwrap();
            let loaded = Loaded::read(&path).unwrap();
            assert_eq!((loaded.rows(), loaded.complete_len), (0, 0), "{content:?}");
        }
    }

    #[test]
    fn a_file_that_is_not_results_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "email,name\na@example.com,A\n").unwrap();
        assert!(matches!(Loaded::read(&path), Err(RecordError::NotResults { .. })));
    }

    proptest::proptest! {
        #[test]
        fn what_is_written_is_read_back(
            name in ".{0,40}", reference in "[^\u{0}]{0,20}", error in ".{0,60}",
            tags in proptest::collection::vec("[A-Za-z0-9_.-]{1,8}", 0..4), attempts in 0u32..9,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("r.csv");
            let mut original = line(7, Status::Failed, &name);
            original.invitation.reference = reference;
            original.invitation.tags = tags;
            original.error = error;
            original.attempts = attempts;
            let mut w = ResultsWriter::create(&path).unwrap();
            w.write(&original).unwrap();
            w.sync().unwrap();
            drop(w);
            let loaded = Loaded::read(&path).unwrap();
            let back: Vec<_> = loaded.lines_in_order(&path).unwrap().map(Result::unwrap).collect();
            proptest::prop_assert_eq!(back, vec![original]);
        }
    }
}
