//! A results writer on its own thread, so formatting and writing the file overlap with
//! reading and validating the input (a dry run of a large file is bound by both).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::record::results::{RecordError, ResultLine, ResultsWriter};

const BATCH: usize = 2048;

/// Lines go to the writer thread in batches; the lines come back empty to be filled again,
/// so the steady state allocates nothing.
pub struct BackgroundWriter {
    tx: Option<SyncSender<Vec<ResultLine>>>,
    back: Receiver<Vec<ResultLine>>,
    batch: Vec<ResultLine>,
    spare: Vec<ResultLine>,
    thread: JoinHandle<Result<ResultsWriter, RecordError>>,
}

impl BackgroundWriter {
    pub fn start(mut writer: ResultsWriter) -> BackgroundWriter {
        let (tx, rx) = sync_channel::<Vec<ResultLine>>(4);
        let (back_tx, back) = sync_channel::<Vec<ResultLine>>(8);
        let thread = std::thread::spawn(move || {
            for batch in rx {
                for line in &batch {
                    writer.write(line)?;
                }
                let _ = back_tx.try_send(batch);
            }
            Ok(writer)
        });
        BackgroundWriter { tx: Some(tx), back, batch: Vec::with_capacity(BATCH), spare: Vec::new(), thread }
    }

    /// Appends a line, filled in by `fill` from a recycled one (whose fields hold stale
    /// values: `fill` must set every field).
    pub fn push_with(&mut self, fill: impl FnOnce(&mut ResultLine)) -> Result<(), RecordError> {
        let mut line =
            self.spare.pop().unwrap_or_else(|| ResultLine::new(0, 0, crate::record::Status::Ready, Default::default()));
        fill(&mut line);
        self.batch.push(line);
        if self.batch.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), RecordError> {
        let next = match self.back.try_recv() {
            Ok(mut returned) => {
                self.spare.append(&mut returned);
                returned
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        let full = std::mem::replace(&mut self.batch, next);
        let sent = self.tx.as_ref().map(|tx| tx.send(full));
        match sent {
            Some(Ok(())) => Ok(()),
            // The thread stopped: its error says why.
            _ => self.stop().map(drop),
        }
    }

    fn stop(&mut self) -> Result<ResultsWriter, RecordError> {
        self.tx = None;
        Err(RecordError::Write {
            path: Default::default(),
            source: std::io::Error::other("the results writer stopped"),
        })
    }

    /// Writes what is left and hands the writer back.
    pub fn finish(mut self) -> Result<ResultsWriter, RecordError> {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            if let Some(tx) = &self.tx {
                let _ = tx.send(batch);
            }
        }
        drop(self.tx.take());
        match self.thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
