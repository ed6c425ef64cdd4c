//! The moving parts of a run that sends: the workers and the Ctrl-C watch. The command feeds
//! jobs from a thread of its own (reading is blocking work) and calls [`Running::finish`].

use std::sync::Arc;

use tokio::sync::mpsc;

use super::interrupts::watch_interrupts;
use super::progress::Progress;
use super::{Sender, Stop, StopReason};
use crate::journal::{Job, JournalError};

/// Workers at work.
pub struct Running {
    pub stop: Stop,
    progress: Progress,
    workers: Option<tokio::task::JoinHandle<Result<(), JournalError>>>,
    interrupts: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Starts `concurrency` workers taking jobs from the returned channel (without a sender,
    /// the channel is closed at once and the feeder records its rows as not attempted).
    pub fn start(
        sender: Option<Arc<Sender>>,
        concurrency: usize,
        stop: Stop,
        progress: Progress,
    ) -> (Running, mpsc::Sender<Job>) {
        let interrupts = watch_interrupts(stop.clone(), progress.clone());
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(concurrency * 2);
        let workers = sender.map(|sender| tokio::spawn(sender.run(jobs_rx, concurrency)));
        (Running { stop, progress, workers, interrupts }, jobs_tx)
    }

    /// Waits for the feeder and the workers. A failure of either stops the run (see
    /// [`StopReason::Fatal`]); the feeder's value comes back when it succeeded.
    pub async fn finish<T: Send + 'static>(
        self,
        feed: std::thread::JoinHandle<Result<T, crate::error::Error>>,
    ) -> Option<T> {
        let Running { stop, progress, workers, interrupts } = self;
        let fed = tokio::task::spawn_blocking(move || feed.join()).await;
        let worked = match workers {
            Some(workers) => matches!(workers.await, Ok(Ok(()))),
            None => true,
        };
        interrupts.abort();
        progress.finish();
        let fed = match fed {
            Ok(Ok(Ok(value))) => Some(value),
            Ok(Ok(Err(e))) => {
                stop.stop(StopReason::Fatal { code: e.code(), message: e.to_string() });
                None
            }
            _ => {
                let message = "reading the rows stopped unexpectedly".to_string();
                stop.stop(StopReason::Fatal { code: "run.stopped", message });
                None
            }
        };
        if !worked {
            stop.stop(StopReason::Fatal { code: "run.stopped", message: "a worker stopped unexpectedly".to_string() });
        }
        fed
    }
}
