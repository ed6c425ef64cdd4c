//! The one writer of the results journal. Workers hand it lines; a line that must be durable
//! before a request leaves is acknowledged only after an fsync, and every line waiting at
//! that moment shares the same fsync (group commit), so durability does not cap throughput.

use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::record::{RecordError, ResultLine, ResultsWriter, Status};
use crate::send::progress::Progress;

enum Event {
    /// A row's outcome for this run.
    Line(ResultLine),
    /// A state on the way to an outcome (a failed attempt that will be retried).
    Interim(ResultLine),
    /// The write-ahead mark before a request leaves.
    Durable(ResultLine, oneshot::Sender<()>),
}

/// A handle to the recorder thread; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Event>,
}

/// The recorder has stopped (it could not write): nothing more may be sent.
#[derive(Debug)]
pub struct RecorderGone;

impl Recorder {
    /// Starts the thread that owns `writer`.
    pub fn start(mut writer: ResultsWriter, progress: Progress) -> (Recorder, JoinHandle<Result<(), RecordError>>) {
        let (tx, mut rx) = mpsc::channel::<Event>(4096);
        let handle = std::thread::Builder::new()
            .name("results".to_string())
            .spawn(move || {
                let mut acks = Vec::new();
                while let Some(event) = rx.blocking_recv() {
                    let mut next = Some(event);
                    let mut batch = 0;
                    while let Some(event) = next.take() {
                        match event {
                            Event::Line(line) => {
                                writer.write(&line)?;
                                progress.record(&line);
                            }
                            Event::Interim(line) => writer.write(&line)?,
                            Event::Durable(line, ack) => {
                                writer.write(&line)?;
                                acks.push(ack);
                            }
                        }
                        batch += 1;
                        if batch < 4096 {
                            next = rx.try_recv().ok();
                        }
                    }
                    if acks.is_empty() {
                        writer.flush()?;
                    } else {
                        writer.sync()?;
                        for ack in acks.drain(..) {
                            let _ = ack.send(());
                        }
                    }
                }
                writer.sync()
            })
            .expect("the operating system refused to start a thread");
        (Recorder { tx }, handle)
    }

    /// Records a line (written and flushed soon, made durable at the next fsync).
    pub async fn line(&self, line: ResultLine) -> Result<(), RecorderGone> {
        self.tx.send(Event::Line(line)).await.map_err(|_| RecorderGone)
    }

    /// Records a line that a later one for the same row will supersede in this run.
    pub async fn interim(&self, line: ResultLine) -> Result<(), RecorderGone> {
        self.tx.send(Event::Interim(line)).await.map_err(|_| RecorderGone)
    }

    /// The same as [`Recorder::line`], from a thread that is not async.
    pub fn line_blocking(&self, line: ResultLine) -> Result<(), RecorderGone> {
        self.tx.blocking_send(Event::Line(line)).map_err(|_| RecorderGone)
    }

    /// Records a line and waits until it is durable on disk.
    pub async fn durable(&self, line: ResultLine) -> Result<(), RecorderGone> {
        debug_assert_eq!(line.status, Status::Unknown);
        let (ack, done) = oneshot::channel();
        self.tx.send(Event::Durable(line, ack)).await.map_err(|_| RecorderGone)?;
        done.await.map_err(|_| RecorderGone)
    }
}
