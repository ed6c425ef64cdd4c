//! The writing half of a dry run, on its own thread: it finds duplicates, writes the error
//! report and the results file, and counts, while the other thread reads and checks rows.
//! Checking is the heavier half, so the work that must see rows in order but needs no row
//! text (the duplicate set, 8 to 16 bytes a row and a cache miss each) is done here.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::record::ErrorReport;
use crate::record::results::{RecordError, ResultLine, ResultsWriter, Status};
use crate::validate::{Problem, Seen, Validator};

const BATCH: usize = 1024;

/// One row for the writer.
pub struct Entry {
    pub line: ResultLine,
    /// The row's problems, for the error report.
    pub problems: Vec<Problem>,
}

/// What the rows turned out to be.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub rows: u64,
    pub ready: u64,
    pub invalid: u64,
    pub duplicate: u64,
}

type Done = Result<(ResultsWriter, ErrorReport, Tally), RecordError>;

/// Entries go to the writer thread in batches and come back to be filled again, so the
/// steady state allocates nothing.
pub struct BackgroundWriter {
    tx: Option<SyncSender<Vec<Entry>>>,
    back: Receiver<Vec<Entry>>,
    batch: Vec<Entry>,
    spare: Vec<Entry>,
    thread: JoinHandle<Done>,
}

fn write_all(
    results: &mut ResultsWriter,
    errors: &mut ErrorReport,
    seen: &mut Seen,
    tally: &mut Tally,
    entry: &mut Entry,
) -> Result<(), RecordError> {
    let line = &mut entry.line;
    if line.status == Status::Ready {
        if !seen.insert_row(&line.invitation.email, &line.invitation.reference) {
            let problem = Validator::duplicate_problem(&line.invitation);
            line.status = Status::Duplicate;
            line.error_code = problem.code.to_string();
            line.error.clone_from(&problem.message);
            errors.write(line.row, line.line, &problem)?;
        }
    } else if line.status == Status::Duplicate && entry.problems.is_empty() {
        errors.write(line.row, line.line, &Validator::duplicate_problem(&line.invitation))?;
    }
    for problem in &entry.problems {
        errors.write(line.row, line.line, problem)?;
    }
    tally.rows += 1;
    match line.status {
        Status::Ready => tally.ready += 1,
        Status::Duplicate => tally.duplicate += 1,
        _ => tally.invalid += 1,
    }
    results.write(line)
}

impl BackgroundWriter {
    pub fn start(mut results: ResultsWriter, mut errors: ErrorReport) -> BackgroundWriter {
        let (tx, rx) = sync_channel::<Vec<Entry>>(4);
        let (back_tx, back) = sync_channel::<Vec<Entry>>(8);
        let thread = std::thread::spawn(move || {
            let mut seen = Seen::new();
            let mut tally = Tally::default();
            for mut batch in rx {
                for entry in &mut batch {
                    write_all(&mut results, &mut errors, &mut seen, &mut tally, entry)?;
                }
                let _ = back_tx.try_send(batch);
            }
            Ok((results, errors, tally))
        });
        BackgroundWriter { tx: Some(tx), back, batch: Vec::with_capacity(BATCH), spare: Vec::new(), thread }
    }

    /// Appends an entry, filled in by `fill` from a recycled one (whose fields hold stale
    /// values: `fill` must set every field).
    pub fn push_with(&mut self, fill: impl FnOnce(&mut Entry)) -> Result<(), RecordError> {
        let mut entry = self.spare.pop().unwrap_or_else(|| Entry {
            line: ResultLine::new(0, 0, Status::Ready, Default::default()),
            problems: Vec::new(),
        });
        fill(&mut entry);
        self.batch.push(entry);
        if self.batch.len() >= BATCH {
            let next = match self.back.try_recv() {
                Ok(mut returned) => {
                    self.spare.append(&mut returned);
                    returned
                }
                Err(_) => Vec::with_capacity(BATCH),
            };
            let full = std::mem::replace(&mut self.batch, next);
            if self.tx.as_ref().is_none_or(|tx| tx.send(full).is_err()) {
                // The thread stopped on an error: `finish` returns it.
                self.tx = None;
                return Err(RecordError::Write {
                    path: Default::default(),
                    io: std::io::Error::other("the results writer stopped"),
                });
            }
        }
        Ok(())
    }

    /// Writes what is left and hands back the writers and the tally.
    pub fn finish(mut self) -> Done {
        if let Some(tx) = self.tx.take() {
            let batch = std::mem::take(&mut self.batch);
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
        }
        match self.thread.join() {
            Ok(done) => done,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
