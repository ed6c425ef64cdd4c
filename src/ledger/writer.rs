//! The ledger as the sender's journal. One thread owns the store; workers hand it
//! reservations and outcomes, and everything waiting at a moment goes into one transaction
//! with one sync (group commit), so that durability does not cap the rate. A reservation is
//! answered only after its transaction is durable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use super::{Entry, Key, LedgerError, Op, Reserved, ScopeId, Store};
use crate::journal::{Job, Journal, JournalError, JournalFuture, Outcome, PriorStatus, Reservation};

/// At most this many operations in one transaction.
const GROUP: usize = 1024;

enum Request {
    Op(Op, Option<oneshot::Sender<Result<Reserved, JournalError>>>),
}

/// The ledger's side of a run: reservations before requests leave, outcomes after.
pub struct LedgerJournal {
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<Result<(), LedgerError>>>>,
    /// The file rows come from (`None` for `retry`, which keeps the entry's).
    file: Option<String>,
    /// For each reserved job, the entry as it was, to give a reservation back.
    before: Mutex<HashMap<u64, Option<Box<Entry>>>>,
    /// Why the thread stopped, if it failed (a full disk): what a worker that finds it gone
    /// says, since the first worker to say anything names the run's reason to stop.
    failed: Arc<Mutex<Option<String>>>,
}

impl LedgerJournal {
    /// Starts the thread that owns `store`, writing for `scope` as run `run`.
    pub fn start(mut store: Box<dyn Store>, scope: ScopeId, run: i64, file: Option<String>) -> LedgerJournal {
        let (tx, mut rx) = mpsc::channel::<Request>(4096);
        let failed = Arc::new(Mutex::new(None));
        let failure = failed.clone();
        let thread = std::thread::Builder::new()
            .name("ledger".to_string())
            .spawn(move || -> Result<(), LedgerError> {
                let mut ops = Vec::with_capacity(GROUP);
                let mut answers = Vec::with_capacity(GROUP);
                while let Some(first) = rx.blocking_recv() {
                    let mut next = Some(first);
                    while let Some(Request::Op(op, answer)) = next.take() {
                        ops.push(op);
                        answers.push(answer);
                        if ops.len() < GROUP {
                            next = rx.try_recv().ok();
                        }
                    }
                    let applied = store.apply(scope, run, &mut ops);
                    for (op, answer) in ops.drain(..).zip(answers.drain(..)) {
                        let Some(answer) = answer else { continue };
                        let reply = match (&applied, op) {
                            (Ok(()), Op::Reserve { answer: Some(reserved), .. }) => Ok(reserved),
                            (Ok(()), _) => Err(JournalError("the ledger gave no answer".to_string())),
                            (Err(e), _) => Err(JournalError(e.to_string())),
                        };
                        let _ = answer.send(reply);
                    }
                    if let Err(e) = &applied {
                        *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                    }
                    applied?;
                }
                Ok(())
            })
            .expect("the operating system refused to start a thread");
        LedgerJournal {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            file,
            before: Mutex::new(HashMap::new()),
            failed,
        }
    }

    /// The error of a worker that finds the ledger's thread gone: the thread's own, if it
    /// failed.
    fn gone(&self) -> JournalError {
        match self.failed.lock().unwrap_or_else(PoisonError::into_inner).as_deref() {
            Some(error) => JournalError(format!("the ledger stopped: {error}")),
            None => JournalError("the ledger stopped".to_string()),
        }
    }

    fn sender(&self) -> Result<mpsc::Sender<Request>, JournalError> {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| JournalError("the ledger is closed".to_string()))
    }

    /// Writes what is left and closes the ledger: every outcome is committed (and durable)
    /// when this returns `Ok`.
    pub fn finish(&self) -> Result<(), LedgerError> {
        drop(self.tx.lock().unwrap_or_else(PoisonError::into_inner).take());
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        match thread.map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(()),
        }
    }

    async fn reserve_job(&self, job: &Job) -> Result<Reservation, JournalError> {
        let body = match job.kind {
            crate::journal::Kind::Email => job.invitation.body(),
            crate::journal::Kind::Link => job.invitation.link_body(),
        };
        let request = serde_json::to_string(&body).unwrap_or_default();
        let op = Op::Reserve {
            key: Key::of(job.kind, &job.invitation),
            request,
            origin: self.file.clone().map(|file| (file, job.row)),
            resend_unknown: job.resend_unknown,
            answer: None,
        };
        let (answer, reply) = oneshot::channel();
        let gone = || self.gone();
        self.sender()?.send(Request::Op(op, Some(answer))).await.map_err(|_| gone())?;
        match reply.await.map_err(|_| gone())?? {
            Reserved::Go { attempts, before } => {
                self.before.lock().unwrap_or_else(PoisonError::into_inner).insert(job.seq, before);
                Ok(Reservation::Go { attempts })
            }
            Reserved::Taken(prior) => Ok(Reservation::Taken(prior)),
        }
    }

    async fn record_outcome(&self, job: &Job, outcome: Outcome) -> Result<(), JournalError> {
        let key = Key::of(job.kind, &job.invitation);
        let settle =
            |status: PriorStatus, http_status, error_code: &str, error: &str, correlation_id: &str| Op::Settle {
                key: key.clone(),
                status,
                http_status,
                error_code: error_code.to_string(),
                error: error.to_string(),
                correlation_id: correlation_id.to_string(),
                sent_at: String::new(),
                link: String::new(),
            };
        let op = match outcome {
            Outcome::Sent { http_status, correlation_id, sent_at, link, .. } => {
                let status = if link.is_empty() { PriorStatus::Sent } else { PriorStatus::Link };
                let mut op = settle(status, Some(http_status), "", "", &correlation_id);
                if let Op::Settle { sent_at: at, link: l, .. } = &mut op {
                    *at = sent_at;
                    *l = link;
                }
                op
            }
            Outcome::Failed { failure, .. } => settle(
                PriorStatus::Failed,
                failure.http_status,
                &failure.error_code,
                &failure.message,
                &failure.correlation_id,
            ),
            Outcome::Unknown { failure, .. } => settle(
                PriorStatus::Unknown,
                failure.http_status,
                &failure.error_code,
                &failure.message,
                &failure.correlation_id,
            ),
            Outcome::Released { .. } => {
                let before = self.before.lock().unwrap_or_else(PoisonError::into_inner).remove(&job.seq);
                match before {
                    Some(before) => Op::Release { key, before },
                    None => return Ok(()),
                }
            }
            Outcome::NotAttempted { .. } | Outcome::Taken(_) => return Ok(()),
        };
        if !matches!(op, Op::Release { .. }) {
            self.before.lock().unwrap_or_else(PoisonError::into_inner).remove(&job.seq);
        }
        self.sender()?.send(Request::Op(op, None)).await.map_err(|_| self.gone())
    }
}

impl Journal for LedgerJournal {
    fn reserve<'a>(&'a self, job: &'a Job) -> JournalFuture<'a, Reservation> {
        Box::pin(self.reserve_job(job))
    }

    fn record<'a>(&'a self, job: &'a Job, outcome: Outcome) -> JournalFuture<'a, ()> {
        Box::pin(self.record_outcome(job, outcome))
    }
}

impl Drop for LedgerJournal {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Shared by every worker.
pub type SharedLedger = Arc<LedgerJournal>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitation::Invitation;
    use crate::journal::{Failure, Kind, NotAttempted, Status};
    use crate::ledger::{Scope, SqliteStore};

    fn job(seq: u64) -> Job {
        Job {
            seq,
            row: seq + 1,
            line: seq + 2,
            invitation: Invitation::default()
                .with(crate::fields::Field::Email, &format!("C{seq}@Example.com"))
                .with(crate::fields::Field::Name, "C")
                .with(crate::fields::Field::Reference, &format!("R-{seq}")),
            kind: Kind::Email,
            resend_unknown: false,
            unattempted: Status::Skipped,
        }
    }

    #[tokio::test]
    async fn reservations_are_answered_and_outcomes_are_committed_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let scope = Scope { api_url: "http://127.0.0.1:1/".into(), business_unit_id: "bu".into() };
        let id = SqliteStore::open(&path).unwrap().scope(&scope, None).unwrap();
        let journal =
            Arc::new(LedgerJournal::start(Box::new(SqliteStore::open(&path).unwrap()), id, 42, Some("in.csv".into())));
        // Many workers at once: their reservations share commits and each gets its answer.
        let mut tasks = Vec::new();
        for seq in 0..64 {
            let journal = journal.clone();
            tasks.push(tokio::spawn(async move {
                let job = job(seq);
                assert_eq!(journal.reserve(&job).await.unwrap(), Reservation::Go { attempts: 1 });
                let outcome = match seq % 3 {
                    0 => Outcome::Sent {
                        attempts: 1,
                        http_status: 202,
                        correlation_id: "c".into(),
                        sent_at: "2026-11-30T06:00:00Z".into(),
                        link: String::new(),
                    },
                    1 => Outcome::Unknown { attempts: 1, failure: Failure::default() },
                    _ => Outcome::Released { attempts: 0, failure: None, stop: Some(NotAttempted::Interrupted) },
                };
                journal.record(&job, outcome).await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        journal.finish().unwrap();
        assert!(journal.reserve(&job(0)).await.is_err(), "a finished journal takes nothing more");
        let mut store = SqliteStore::open(&path).unwrap();
        let keys: Vec<Key> = (0..64).map(|seq| Key::of(Kind::Email, &job(seq).invitation)).collect();
        let found = store.lookup(id, &keys).unwrap();
        for (seq, prior) in found.iter().enumerate() {
            let expected = match seq % 3 {
                0 => Some(PriorStatus::Sent),
                1 => Some(PriorStatus::Unknown),
                _ => None,
            };
            assert_eq!(prior.as_ref().map(|p| p.status), expected, "job {seq}");
        }
        assert_eq!(found[0].as_ref().unwrap().file, "in.csv");
    }

    #[tokio::test]
    async fn a_ledger_that_fails_is_named_by_every_worker_that_finds_it_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let scope = Scope { api_url: "http://127.0.0.1:1/".into(), business_unit_id: "bu".into() };
        let id = SqliteStore::open(&path).unwrap().scope(&scope, None).unwrap();
        let store = SqliteStore::open(&path).unwrap();
        store.fill_disk_after(2);
        let journal = LedgerJournal::start(Box::new(store), id, 7, Some("in.csv".into()));
        let mut seq = 0;
        let first = loop {
            match journal.reserve(&job(seq)).await {
                Ok(_) => seq += 1,
                Err(error) => break error,
            }
            assert!(seq < 10_000, "the ledger never filled up");
        };
        assert!(first.0.contains("full"), "{}", first.0);
        // The thread is gone: a later worker says why, not "see the error above" with nothing
        // above it.
        let later = journal.reserve(&job(seq + 1)).await.unwrap_err();
        assert!(later.0.starts_with("the ledger stopped: ") && later.0.contains("full"), "{}", later.0);
        assert!(journal.finish().is_err());
    }
}
