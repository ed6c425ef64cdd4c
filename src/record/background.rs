//! The writing half of a dry run, on its own thread: it finds duplicates, asks the ledger
//! what was sent before, writes the error report and the results file, and counts, while
//! the other thread reads and checks rows. Checking is the heavier half, so the work that
//! must see rows in order but needs no row text (the duplicate set, the ledger lookups) is
//! done here.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::error::Error;
use crate::journal::{Kind, PriorStatus};
use crate::ledger::{Key, Ledger, ScopeId};
use crate::record::ErrorReport;
use crate::record::report::prior_line;
use crate::record::results::{Counts, RecordError, ResultLine, ResultsWriter, Status};
use crate::validate::{Problem, Seen, Validator};

const BATCH: usize = 1024;

/// One row for the writer.
pub struct Entry {
    pub line: ResultLine,
    /// The row's problems, for the error report.
    pub problems: Vec<Problem>,
}

/// The ledger as a dry run reads it (never writes it).
pub struct LedgerView {
    pub ledger: Ledger,
    pub scope: ScopeId,
    /// Whether a run is sending for the scope now (its `in_flight` entries are live).
    pub live: bool,
    /// Email invitations, or links.
    pub kind: Kind,
}

type Done = Result<(ResultsWriter, ErrorReport, Counts), Error>;

/// Entries go to the writer thread in batches and come back to be filled again, so the
/// steady state allocates nothing.
pub struct BackgroundWriter {
    tx: Option<SyncSender<Vec<Entry>>>,
    back: Receiver<Vec<Entry>>,
    batch: Vec<Entry>,
    spare: Vec<Entry>,
    thread: JoinHandle<Done>,
}

/// Finds duplicates and writes each problem of a batch; the rows still `ready` after that
/// are looked up in the ledger.
fn write_batch(
    results: &mut ResultsWriter,
    errors: &mut ErrorReport,
    seen: &mut Seen,
    view: Option<&mut LedgerView>,
    counts: &mut Counts,
    batch: &mut [Entry],
) -> Result<(), Error> {
    let mut ready = Vec::new();
    for (i, entry) in batch.iter_mut().enumerate() {
        let line = &mut entry.line;
        if line.status == Status::Ready {
            if seen.insert_row(line.invitation.email(), line.invitation.reference()) {
                ready.push(i);
            } else {
                let problem = Validator::duplicate_problem(&line.invitation, None);
                line.status = Status::Duplicate;
                line.error_code = problem.code.to_string();
                line.error.clone_from(&problem.message);
            }
        }
        for problem in &entry.problems {
            errors.write(line.row, line.line, problem)?;
        }
    }
    if let Some(view) = view
        && !ready.is_empty()
    {
        let keys: Vec<Key> = ready.iter().map(|&i| Key::of(view.kind, &batch[i].line.invitation)).collect();
        let priors = view.ledger.store.lookup(view.scope, &keys)?;
        for (i, prior) in ready.into_iter().zip(priors) {
            let Some(mut prior) = prior else { continue };
            if let PriorStatus::InFlight { .. } = prior.status {
                prior.status = PriorStatus::InFlight { live: view.live };
            }
            if !prior.status.may_send(false) {
                let line = &mut batch[i].line;
                *line = prior_line(line.row, line.line, std::mem::take(&mut line.invitation), &prior);
            }
        }
    }
    for entry in batch.iter() {
        counts.add(entry.line.status);
        results.write(&entry.line)?;
    }
    Ok(())
}

impl BackgroundWriter {
    pub fn start(
        mut results: ResultsWriter,
        mut errors: ErrorReport,
        mut view: Option<LedgerView>,
    ) -> BackgroundWriter {
        let (tx, rx) = sync_channel::<Vec<Entry>>(4);
        let (back_tx, back) = sync_channel::<Vec<Entry>>(8);
        let thread = std::thread::spawn(move || {
            let mut seen = Seen::new();
            let mut counts = Counts::default();
            for mut batch in rx {
                write_batch(&mut results, &mut errors, &mut seen, view.as_mut(), &mut counts, &mut batch)?;
                let _ = back_tx.try_send(batch);
            }
            Ok((results, errors, counts))
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

    /// Writes what is left and hands back the writers and the counts.
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
