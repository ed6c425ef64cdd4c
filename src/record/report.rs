//! The run's results report as the sender's journal sees it: one line per row, in the order
//! rows were read, written on its own thread into a file beside the final one and put in
//! place whole when the run ends.
//!
//! Outcomes arrive out of order (several requests are in flight); a line waits in a small
//! buffer until every earlier row has its line. The reader of the input may run at most
//! [`WINDOW`] rows ahead of the last line written, so that buffer stays small whatever the
//! file's length.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::results::{Counts, Layout, RecordError, ResultLine, ResultsReader, ResultsWriter, Status};
use crate::invitation::Invitation;
use crate::journal::{
    Failure, Job, Journal, JournalError, JournalFuture, NotAttempted, Outcome, Prior, PriorStatus, Reservation,
};
use crate::validate::{Checked, Validator};

/// How far ahead of the last line written the input may be read.
pub const WINDOW: u64 = 32 * 1024;

/// Rows written so far, for the reader to wait on.
#[derive(Default)]
struct Window {
    written: Mutex<u64>,
    moved: Condvar,
}

impl Window {
    fn advance(&self, written: u64) {
        *self.written.lock().unwrap_or_else(PoisonError::into_inner) = written;
        self.moved.notify_all();
    }
}

type Observer = Box<dyn Fn(&ResultLine) + Send>;

/// A handle on the report (cheap to clone): lines for rows, outcomes for jobs.
#[derive(Clone)]
pub struct ReportHandle {
    tx: mpsc::Sender<(u64, ResultLine, bool)>,
    window: Arc<Window>,
}

/// The report being written.
pub struct Report {
    handle: ReportHandle,
    thread: JoinHandle<Result<Written, RecordError>>,
    temp: tempfile::TempPath,
    path: PathBuf,
}

/// What the report holds once written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub counts: Counts,
}

/// Writes each line once every earlier one is written.
fn write_in_order(
    rx: &mut mpsc::Receiver<(u64, ResultLine, bool)>,
    writer: &mut ResultsWriter,
    counts: &mut Counts,
    observe: &Observer,
    window: &Window,
) -> Result<(), RecordError> {
    let mut write = |(line, observed): &(ResultLine, bool)| -> Result<(), RecordError> {
        writer.write(line)?;
        counts.add(line.status);
        if *observed {
            observe(line);
        }
        Ok(())
    };
    let mut waiting: BTreeMap<u64, (ResultLine, bool)> = BTreeMap::new();
    let mut next = 0u64;
    while let Some((seq, line, observed)) = rx.blocking_recv() {
        if seq != next {
            waiting.insert(seq, (line, observed));
            continue;
        }
        write(&(line, observed))?;
        next += 1;
        while let Some(entry) = waiting.remove(&next) {
            write(&entry)?;
            next += 1;
        }
        window.advance(next);
    }
    // Every row has had its line, unless the run broke off: then what is there is still
    // written, in order.
    for entry in waiting.into_values() {
        write(&entry)?;
    }
    writer.sync()
}

impl Report {
    /// Starts writing a report for `path` (in a file beside it); `observe` sees each job's
    /// line as it is written (the progress display).
    pub fn start(path: &Path, layout: Layout, observe: Observer) -> Result<Report, RecordError> {
        super::results::remove_stale_temps(path);
        let (mut writer, temp) = ResultsWriter::create_beside(path, layout)?;
        let (tx, mut rx) = mpsc::channel::<(u64, ResultLine, bool)>(4096);
        let window = Arc::new(Window::default());
        let shared = window.clone();
        let thread = std::thread::Builder::new()
            .name("report".to_string())
            .spawn(move || {
                let mut counts = Counts::default();
                let outcome = write_in_order(&mut rx, &mut writer, &mut counts, &observe, &shared);
                // Whatever happened, nobody may wait for this thread any more.
                shared.advance(u64::MAX);
                outcome.map(|()| Written { counts })
            })
            .expect("the operating system refused to start a thread");
        Ok(Report { handle: ReportHandle { tx, window }, thread, temp, path: path.to_path_buf() })
    }

    pub fn handle(&self) -> ReportHandle {
        self.handle.clone()
    }

    /// Waits until every line is written, then puts the report in place as `placement` says.
    pub fn finish(self, placement: Placement<'_>) -> Result<Finished, RecordError> {
        let Report { handle, thread, temp, path } = self;
        drop(handle);
        let written = match thread.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let kept = place(temp, &path, placement)?;
        Ok(Finished { counts: written.counts, kept })
    }
}

/// A report in place.
#[derive(Debug, Clone)]
pub struct Finished {
    pub counts: Counts,
    /// Where an earlier record of real sends that stood at the path was kept.
    pub kept: Option<PathBuf>,
}

/// What may happen to a file already at the report's path.
pub enum Placement<'a> {
    /// It is the same record, rewritten (`retry`).
    Replace,
    /// Replace it only if it records no real send; else keep it under a dated name (a dry run).
    KeepRealSends,
    /// Replace it if each of its real sends is a row of this run (whose report carries it as
    /// `already_sent`); else keep it under a dated name (a send of another file).
    KeepUnless(&'a dyn Fn(&Invitation) -> bool),
}

/// Puts `temp` at `path`, first moving aside an earlier record that must not be lost.
/// Returns where that record was kept.
pub fn place(temp: tempfile::TempPath, path: &Path, placement: Placement<'_>) -> Result<Option<PathBuf>, RecordError> {
    let keep = match placement {
        Placement::Replace => false,
        // A results file that cannot be read (saved by a spreadsheet in another encoding)
        // cannot prove it records no real send: it is kept.
        Placement::KeepRealSends => {
            path.exists()
                && super::results::records_real_send(path).or_else(|e| match e {
                    RecordError::Encoding { .. } | RecordError::Corrupt { .. } => Ok(true),
                    e => Err(e),
                })?
        }
        Placement::KeepUnless(covered) => path.exists() && !carried(path, covered)?,
    };
    let mut kept = None;
    if keep {
        let dated = dated_name(path);
        std::fs::rename(path, &dated).map_err(super::results::write_error(path))?;
        kept = Some(dated);
    }
    temp.persist(path).map_err(|e| super::results::write_error(path)(e.error))?;
    super::results::sync_dir(path);
    Ok(kept)
}

/// Whether every real send the file at `path` records is `covered`.
fn carried(path: &Path, covered: &dyn Fn(&Invitation) -> bool) -> Result<bool, RecordError> {
    let Some(mut reader) = ResultsReader::open(path)? else { return Ok(true) };
    loop {
        match reader.next_line() {
            Ok(Some(line)) if line.is_real_send() && !covered(&line.invitation) => return Ok(false),
            Ok(Some(_)) => {}
            Ok(None) => return Ok(true),
            // A damaged record cannot prove it is carried: keep it.
            Err(RecordError::Corrupt { .. } | RecordError::Encoding { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// `orders.results.csv` -> `orders.results.2026-11-30T061502.csv`, dated by when the file was
/// last written, and not the name of a file that exists.
fn dated_name(path: &Path) -> PathBuf {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).unwrap_or_else(|_| std::time::SystemTime::now());
    let stamp = chrono::DateTime::<chrono::Local>::from(modified).format("%Y-%m-%dT%H%M%S").to_string();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem.to_string(), format!(".{extension}")),
        _ => (name.clone(), String::new()),
    };
    (1..)
        .map(|n| match n {
            1 => path.with_file_name(format!("{stem}.{stamp}{extension}")),
            n => path.with_file_name(format!("{stem}.{stamp}-{n}{extension}")),
        })
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| path.with_file_name(format!("{stem}.{stamp}.kept{extension}")))
}

impl ReportHandle {
    /// Waits (from a thread that is not async) until row `seq` may be read: the reader stays
    /// within [`WINDOW`] rows of the last line written.
    pub fn admit(&self, seq: u64) {
        let mut written = self.window.written.lock().unwrap_or_else(PoisonError::into_inner);
        while seq >= written.saturating_add(WINDOW) {
            written = self.window.moved.wait(written).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The line of row `seq` that no request of this run produced (an invalid row, one the
    /// ledger holds, one `retry` copies as it was), from a thread that is not async. The
    /// observer (the progress) does not see it: it counts this run's requests.
    pub fn line_blocking(&self, seq: u64, line: ResultLine) -> Result<(), RecordError> {
        self.tx.blocking_send((seq, line, false)).map_err(|_| gone())
    }

    /// The line of row `seq`: a job's outcome, which the observer sees.
    pub async fn line(&self, seq: u64, line: ResultLine) -> Result<(), RecordError> {
        self.tx.send((seq, line, true)).await.map_err(|_| gone())
    }
}

fn gone() -> RecordError {
    RecordError::Write { path: PathBuf::new(), io: std::io::Error::other("the results writer stopped") }
}

impl Journal for ReportHandle {
    fn reserve<'a>(&'a self, _job: &'a Job) -> JournalFuture<'a, Reservation> {
        Box::pin(async { Ok(Reservation::Go { attempts: 0 }) })
    }

    fn record<'a>(&'a self, job: &'a Job, outcome: Outcome) -> JournalFuture<'a, ()> {
        Box::pin(async move {
            if !outcome.is_final() {
                return Ok(());
            }
            let line = outcome_line(job, outcome);
            self.line(job.seq, line).await.map_err(|e| JournalError(e.to_string()))
        })
    }
}

/// The report's line for a job's final outcome.
pub fn outcome_line(job: &Job, outcome: Outcome) -> ResultLine {
    let mut line = ResultLine::new(job.row, job.line, Status::Sent, job.invitation.clone());
    let fail = |line: &mut ResultLine, status: Status, attempts: u32, failure: Failure| {
        line.status = status;
        line.attempts = attempts;
        line.http_status = failure.http_status;
        line.error_code = failure.error_code;
        line.error = failure.message;
        line.correlation_id = failure.correlation_id;
    };
    match outcome {
        Outcome::Sent { attempts, http_status, correlation_id, sent_at, link } => {
            line.attempts = attempts;
            line.http_status = Some(http_status);
            line.correlation_id = correlation_id;
            line.sent_at = sent_at;
            line.link = link;
        }
        Outcome::Failed { attempts, failure, .. } => fail(&mut line, Status::Failed, attempts, failure),
        Outcome::Unknown { attempts, failure } => fail(&mut line, Status::Unknown, attempts, failure),
        Outcome::Released { attempts, failure, stop } => {
            let why = stop.unwrap_or(NotAttempted::Interrupted);
            let mut failure = failure.unwrap_or_default();
            failure.message = match failure.message.is_empty() {
                true => why.reason().to_string(),
                false => format!("{} {}", why.reason(), failure.message),
            };
            fail(&mut line, job.unattempted, attempts, failure);
        }
        Outcome::NotAttempted { why } => {
            line.status = job.unattempted;
            line.error = why.reason().to_string();
        }
        Outcome::Taken(prior) => return prior_line(job.row, job.line, job.invitation.clone(), &prior),
    }
    line
}

/// The line of a row whose key the ledger already holds (it is not sent).
pub fn prior_line(row: u64, line: u64, invitation: Invitation, prior: &Prior) -> ResultLine {
    let mut result = ResultLine::new(row, line, Status::AlreadySent, invitation);
    result.attempts = prior.attempts;
    result.http_status = prior.http_status;
    result.correlation_id.clone_from(&prior.correlation_id);
    result.link.clone_from(&prior.link);
    let from = match (prior.file.is_empty(), prior.row) {
        (false, Some(row)) => format!(" (from {}, row {row})", prior.file),
        (false, None) => format!(" (from {})", prior.file),
        _ => String::new(),
    };
    match prior.status {
        PriorStatus::Sent | PriorStatus::Link => {
            result.sent_at.clone_from(&prior.sent_at);
            let when = if prior.sent_at.is_empty() { &prior.last_attempt_at } else { &prior.sent_at };
            result.error_code = "ledger.already_sent".to_string();
            result.error = if prior.status == PriorStatus::Link {
                format!("Link made on {when}{from}; the same link is given again, no new one is made.")
            } else {
                format!("Already invited on {when}{from}; not sent again.")
            };
        }
        PriorStatus::Unknown | PriorStatus::InFlight { live: false } => {
            result.status = Status::Unknown;
            result.error_code = "ledger.unknown".to_string();
            result.error = format!(
                "An earlier request on {}{from} may or may not have reached Trustpilot, so it is not sent again. \
                 Check in Trustpilot Business, then run `tp-invite ledger settle {} {} --sent` (or --not-sent to send \
                 it with the next run).",
                prior.last_attempt_at,
                crate::text::shell_quote(result.invitation.email()),
                crate::text::shell_quote(result.invitation.reference()),
            );
        }
        PriorStatus::InFlight { live: true } => {
            result.status = Status::Skipped;
            result.error_code = "ledger.in_flight".to_string();
            result.error = format!("Being sent by another run right now{from}; not sent by this one.");
        }
        PriorStatus::Failed => {
            // Not a verdict: a failed key is sent again. Callers do not ask for this line.
            result.status = Status::Ready;
        }
    }
    result
}

/// The line of a row the validator refused: `invalid`, or `duplicate`.
pub fn refused_line(row: u64, line: u64, checked: &Checked) -> ResultLine {
    let status = if checked.problems.is_empty() { Status::Duplicate } else { Status::Invalid };
    let mut result = ResultLine::new(row, line, status, checked.invitation.clone());
    match checked.problems.first() {
        Some(first) => {
            result.error_code = first.code.to_string();
            result.error = checked.problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" ");
        }
        None => {
            let problem = Validator::duplicate_problem(&checked.invitation, checked.duplicate_of);
            result.error_code = problem.code.to_string();
            result.error = problem.message;
        }
    }
    result
}

/// The line of a row the user's rules leave out (`--exclude`, `--skip-where`, `--cooldown`).
pub fn excluded_line(row: u64, line: u64, invitation: Invitation, exclusion: &crate::rows::Exclusion) -> ResultLine {
    let mut result = ResultLine::new(row, line, Status::Excluded, invitation);
    result.error_code = exclusion.code.to_string();
    result.error.clone_from(&exclusion.reason);
    result
}

/// Why a row was not attempted, for lines the reader writes itself.
pub fn not_attempted_line(
    row: u64,
    line: u64,
    invitation: Invitation,
    status: Status,
    why: &NotAttempted,
) -> ResultLine {
    let mut result = ResultLine::new(row, line, status, invitation);
    result.error = why.reason().to_string();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Kind;

    fn job(seq: u64) -> Job {
        Job {
            seq,
            row: seq + 1,
            line: seq + 2,
            invitation: Invitation::default()
                .with(crate::fields::Field::Email, &format!("c{seq}@example.com"))
                .with(crate::fields::Field::Reference, &format!("R{seq}")),
            kind: Kind::Email,
            resend_unknown: false,
            unattempted: Status::Skipped,
        }
    }

    #[test]
    fn lines_arriving_out_of_order_are_written_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let report = Report::start(&path, Layout::default(), Box::new(|_| {})).unwrap();
        let handle = report.handle();
        for seq in [2u64, 0, 3, 1] {
            let line = ResultLine::new(seq + 1, seq + 2, Status::Invalid, Invitation::default());
            handle.line_blocking(seq, line).unwrap();
        }
        drop(handle);
        let finished = report.finish(Placement::Replace).unwrap();
        assert_eq!(finished.counts.get(Status::Invalid), 4);
        let mut reader = ResultsReader::open(&path).unwrap().unwrap();
        let mut rows = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            rows.push(line.row);
        }
        assert_eq!(rows, [1, 2, 3, 4]);
    }

    #[test]
    fn an_earlier_record_of_real_sends_is_kept_under_a_dated_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.results.csv");
        let write = |status: Status, placement: Placement<'_>| {
            let report = Report::start(&path, Layout::default(), Box::new(|_| {})).unwrap();
            let outcome = match status {
                Status::Sent => Outcome::Sent {
                    attempts: 1,
                    http_status: 202,
                    correlation_id: String::new(),
                    sent_at: String::new(),
                    link: String::new(),
                },
                _ => Outcome::NotAttempted { why: NotAttempted::Limit },
            };
            report.handle().line_blocking(0, outcome_line(&job(0), outcome)).unwrap();
            report.finish(placement).unwrap()
        };
        assert!(write(Status::Sent, Placement::KeepRealSends).kept.is_none(), "nothing stood there");
        // A dry run keeps the real send aside.
        let kept = write(Status::Skipped, Placement::KeepRealSends).kept.expect("kept");
        assert!(kept.file_name().unwrap().to_string_lossy().starts_with("orders.results.20"), "{kept:?}");
        assert!(super::super::results::records_real_send(&kept).unwrap());
        // A send whose rows carry the earlier one replaces it; one that does not, keeps it.
        write(Status::Sent, Placement::Replace);
        assert!(write(Status::Sent, Placement::KeepUnless(&|inv| inv.email() == "c0@example.com")).kept.is_none());
        let kept2 = write(Status::Sent, Placement::KeepUnless(&|_| false)).kept.expect("kept");
        assert_ne!(kept, kept2);
    }

    #[test]
    fn lines_say_what_the_ledger_knew() {
        let prior = Prior {
            status: PriorStatus::Sent,
            sent_at: "2026-11-01T06:00:00Z".into(),
            correlation_id: "c-1".into(),
            file: "october.csv".into(),
            row: Some(7),
            attempts: 1,
            ..Prior::default()
        };
        let line = prior_line(1, 2, Invitation::default(), &prior);
        assert_eq!(line.status, Status::AlreadySent);
        assert_eq!(line.sent_at, "2026-11-01T06:00:00Z");
        assert_eq!(line.error, "Already invited on 2026-11-01T06:00:00Z (from october.csv, row 7); not sent again.");
        let unknown = prior_line(1, 2, Invitation::default(), &Prior { status: PriorStatus::Unknown, ..prior.clone() });
        assert_eq!(unknown.status, Status::Unknown);
        assert!(unknown.error.contains("ledger settle"), "{}", unknown.error);
        let live =
            prior_line(1, 2, Invitation::default(), &Prior { status: PriorStatus::InFlight { live: true }, ..prior });
        assert_eq!(live.status, Status::Skipped);
    }
}
