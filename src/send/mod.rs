//! The sender: workers that share one rate budget and one token, reserve each row's key in
//! the journal before its request leaves, and tell the journal every outcome. It builds no
//! report line and knows no file format: the journal's implementations do
//! ([`crate::journal`]).

pub mod budget;
pub mod interrupts;
pub mod pipeline;
pub mod progress;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::api::{ApiError, Client, Pace};
use crate::journal::{Failure, Job, Journal, JournalError, Kind, NotAttempted, Outcome, Reservation};
use budget::Budget;

/// Why a run stopped taking rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C.
    Interrupted,
    /// An error that every further row would meet (credentials, access, business unit), with
    /// its stable code (`api.forbidden`, ...).
    Fatal { code: &'static str, message: String },
    /// Trustpilot kept answering 429 for longer than the run may wait.
    Throttled(Duration),
    /// Trustpilot answered 429 with a Retry-After longer than the run may wait.
    AskedToWait(Duration),
}

impl StopReason {
    /// What rows not attempted because of this stop are told.
    pub fn not_attempted(&self) -> NotAttempted {
        match self {
            StopReason::Interrupted => NotAttempted::Interrupted,
            StopReason::Fatal { .. } => NotAttempted::Fatal,
            StopReason::Throttled(_) | StopReason::AskedToWait(_) => NotAttempted::Throttled,
        }
    }
}

/// Why a row is not attempted now: the stop, or (without one) `--limit`.
pub fn not_attempted(reason: Option<&StopReason>) -> NotAttempted {
    reason.map_or(NotAttempted::Limit, StopReason::not_attempted)
}

/// Tells every part of a run to stop taking new rows; the first reason given wins.
#[derive(Clone)]
pub struct Stop {
    tx: Arc<watch::Sender<Option<StopReason>>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop { tx: Arc::new(watch::channel(None).0) }
    }
}

impl Stop {
    pub fn stop(&self, reason: StopReason) {
        self.tx.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.tx.borrow().clone()
    }

    pub fn is_stopped(&self) -> bool {
        self.tx.borrow().is_some()
    }

    /// Resolves once a stop is asked for.
    pub async fn stopped(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

/// The budget as the client sees it for token requests.
pub struct BudgetPace(pub Arc<Budget>);

impl Pace for BudgetPace {
    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.ready())
    }
}

/// The budget as one invitation request sees it: it notes whether the request was let go,
/// and once a stop is asked for, a request still waiting is never let go.
struct Gate {
    budget: Arc<Budget>,
    stop: Stop,
    departed: Arc<AtomicBool>,
    /// The worker's turn (see [`Sender::turns`]), given back as soon as the request leaves.
    turn: std::sync::Mutex<Option<OwnedSemaphorePermit>>,
}

impl Pace for Gate {
    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            // The one repeat after a 401 belongs to a request that has already left: it goes
            // even after a stop, since the caller then waits for its answer.
            if self.departed.load(Ordering::SeqCst) {
                return self.budget.ready().await;
            }
            if self.stop.is_stopped() {
                return std::future::pending().await;
            }
            tokio::select! {
                () = self.budget.ready() => {
                    self.departed.store(true, Ordering::SeqCst);
                    drop(self.turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
                }
                () = self.stop.stopped() => std::future::pending().await,
            }
        })
    }
}

/// What the workers need, shared.
pub struct Sender {
    pub client: Client,
    pub budget: Arc<Budget>,
    pub business_unit_id: String,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_throttle: Duration,
    pub journal: Arc<dyn Journal>,
    pub stop: Stop,
    /// Turns to wait for the budget. A worker reserves its row's key (durably) only once it
    /// has a turn, and gives the turn back when its request leaves; so after a `kill -9` the
    /// keys left `in_flight` (then `unknown`) without their request having left are at most
    /// the number of turns. There are as many turns as requests the budget lets go within
    /// [`TURN_LEAD`] (at least one): one at Trustpilot's 2.8 a second, every worker at the
    /// rates of a benchmark, where many reservations share one commit.
    pub turns: Arc<Semaphore>,
}

/// See [`Sender::turns`].
pub const TURN_LEAD: Duration = Duration::from_millis(50);

/// How many turns a budget of `rates` calls for, with `workers` workers.
pub fn turns_for(rates: &[crate::cli::Rate], workers: usize) -> usize {
    let spacing = rates.iter().map(|r| r.per / r.count.max(1)).max().unwrap_or(Duration::ZERO);
    let turns = if spacing.is_zero() { workers } else { TURN_LEAD.as_nanos().div_ceil(spacing.as_nanos()) as usize };
    turns.clamp(1, workers.max(1))
}

/// A failed request as the journal keeps it.
fn failure(error: &ApiError) -> Failure {
    Failure {
        http_status: error.http_status(),
        error_code: error.error_code().unwrap_or_default(),
        message: one_line(&error.to_string()),
        correlation_id: error.correlation_id().unwrap_or_default(),
    }
}

impl Sender {
    /// Runs `workers` workers until the job channel closes.
    pub async fn run(self: Arc<Self>, jobs: mpsc::Receiver<Job>, workers: usize) -> Result<(), JournalError> {
        let jobs = Arc::new(Mutex::new(jobs));
        let mut tasks = tokio::task::JoinSet::new();
        for seed in 0..workers {
            let sender = self.clone();
            let jobs = jobs.clone();
            tasks.spawn(async move { sender.worker(jobs, seed as u64).await });
        }
        let mut outcome = Ok(());
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    self.stop.stop(StopReason::Fatal {
                        code: "run.unrecorded",
                        message: format!("the run could not record an outcome: {error}"),
                    });
                    outcome = Err(error);
                }
                Err(panic) => std::panic::resume_unwind(panic.into_panic()),
            }
        }
        outcome
    }

    /// Takes jobs until the channel closes. A journal that cannot record stops the run, but
    /// the worker goes on taking jobs, each recorded as not attempted, so that every row of
    /// the report gets its line; the first error is returned at the end.
    async fn worker(&self, jobs: Arc<Mutex<mpsc::Receiver<Job>>>, seed: u64) -> Result<(), JournalError> {
        let mut rng = fastrand::Rng::with_seed(0x5eed ^ seed);
        let mut first_error = None;
        loop {
            let job = jobs.lock().await.recv().await;
            let Some(job) = job else { return first_error.map_or(Ok(()), Err) };
            let done = match self.stop.reason() {
                Some(reason) => self.journal.record(&job, Outcome::NotAttempted { why: reason.not_attempted() }).await,
                None => self.send_one(job, &mut rng).await,
            };
            if let Err(error) = done {
                self.stop.stop(StopReason::Fatal {
                    code: "run.unrecorded",
                    message: format!("the run could not record an outcome: {error}"),
                });
                first_error.get_or_insert(error);
            }
        }
    }

    /// Why a row stops now.
    fn why(&self) -> NotAttempted {
        not_attempted(self.stop.reason().as_ref())
    }

    /// Sends one row: at most `max_attempts` counted attempts, each one reserved durably in
    /// the journal before it leaves.
    async fn send_one(&self, job: Job, rng: &mut fastrand::Rng) -> Result<(), JournalError> {
        let mut tries = 0;
        // The failure of the last attempt, which is the row's outcome if the run stops before
        // the next one leaves (the row was tried: it is `failed`, not "not attempted").
        let mut tried: Option<(u32, Failure)> = None;
        loop {
            let turn = tokio::select! {
                turn = self.turns.clone().acquire_owned() => turn.expect("the turns are never closed"),
                () = self.stop.stopped() => {
                    let outcome = match tried {
                        Some((attempts, failure)) => Outcome::Failed { attempts, failure, retrying: false },
                        None => Outcome::NotAttempted { why: self.why() },
                    };
                    return self.journal.record(&job, outcome).await;
                }
            };
            let attempts = match self.journal.reserve(&job).await? {
                Reservation::Go { attempts } => attempts,
                Reservation::Taken(prior) => return self.journal.record(&job, Outcome::Taken(prior)).await,
            };
            let released = |failure: Option<Failure>, stop: Option<NotAttempted>| Outcome::Released {
                attempts: attempts.saturating_sub(1),
                failure,
                stop,
            };

            let departed = Arc::new(AtomicBool::new(false));
            let gate = Gate {
                budget: self.budget.clone(),
                stop: self.stop.clone(),
                departed: departed.clone(),
                turn: std::sync::Mutex::new(Some(turn)),
            };
            let request = self.request(&job, &gate);
            tokio::pin!(request);
            let result = tokio::select! {
                result = &mut request => result,
                () = self.stop.stopped() => {
                    if departed.load(Ordering::SeqCst) {
                        request.await
                    } else {
                        let failure = tried.map(|(_, failure)| failure);
                        return self.journal.record(&job, released(failure, Some(self.why()))).await;
                    }
                }
            };
            let error = match result {
                Ok(made) => {
                    self.budget.answered();
                    let outcome = Outcome::Sent {
                        attempts,
                        http_status: made.status,
                        correlation_id: made.correlation_id,
                        sent_at: crate::ledger::now(),
                        link: made.link,
                    };
                    return self.journal.record(&job, outcome).await;
                }
                Err(error) => error,
            };
            match &error {
                ApiError::Throttled { retry_after } => {
                    // Not the row's fault, and not created: it does not use up an attempt.
                    let stretch = self.budget.throttled(*retry_after, self.backoff);
                    // A Retry-After as long as the whole allowance ends the run now rather
                    // than after a silent wait.
                    let asked = retry_after.unwrap_or_default();
                    if asked >= self.max_throttle {
                        self.stop.stop(StopReason::AskedToWait(asked));
                    }
                    if stretch >= self.max_throttle {
                        self.stop.stop(StopReason::Throttled(stretch));
                    }
                    let stop = self.stop.is_stopped().then(|| self.why());
                    let last = stop.is_some();
                    self.journal.record(&job, released(Some(failure(&error)), stop)).await?;
                    if last {
                        return Ok(());
                    }
                }
                ApiError::Server { .. } | ApiError::NotSent { .. } => {
                    if matches!(error, ApiError::Server { .. }) {
                        self.budget.answered();
                    }
                    tries += 1;
                    let last = tries >= self.max_attempts;
                    let outcome = Outcome::Failed { attempts, failure: failure(&error), retrying: !last };
                    if last {
                        return self.journal.record(&job, outcome).await;
                    }
                    self.journal.record(&job, outcome).await?;
                    tried = Some((attempts, failure(&error)));
                    let wait = budget::backoff(self.backoff, tries - 1, rng);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.stop.stopped() => {
                            // The row failed this run; its failure is its outcome.
                            let outcome = Outcome::Failed { attempts, failure: failure(&error), retrying: false };
                            return self.journal.record(&job, outcome).await;
                        }
                    }
                }
                ApiError::Unknown { .. } => {
                    // An answer that may mean "created" (a 504, a redirect) is still an answer.
                    if error.http_status().is_some() {
                        self.budget.answered();
                    }
                    // A redirect means a wrong base URL: every further row would meet it.
                    if error.is_fatal() {
                        self.stop.stop(StopReason::Fatal { code: error.code(), message: error.to_string() });
                    }
                    return self.journal.record(&job, Outcome::Unknown { attempts, failure: failure(&error) }).await;
                }
                _ => {
                    self.budget.answered();
                    if error.is_fatal() {
                        self.stop.stop(StopReason::Fatal { code: error.code(), message: error.to_string() });
                    }
                    let outcome = Outcome::Failed { attempts, failure: failure(&error), retrying: false };
                    return self.journal.record(&job, outcome).await;
                }
            }
        }
    }
}

/// What a request made: an email invitation, or a link.
struct Made {
    status: u16,
    correlation_id: String,
    /// The link's URL (empty for an email invitation).
    link: String,
}

impl Sender {
    /// The job's one request: `email-invitations`, or `invitation-links` for a link.
    async fn request(&self, job: &Job, gate: &Gate) -> Result<Made, ApiError> {
        let unit = &self.business_unit_id;
        match job.kind {
            Kind::Email => {
                self.client.create_invitation_paced(unit, &job.invitation, gate).await.map(|accepted| Made {
                    status: accepted.status,
                    correlation_id: accepted.correlation_id.unwrap_or_default(),
                    link: String::new(),
                })
            }
            Kind::Link => {
                let body = job.invitation.link_body();
                self.client.create_invitation_link_paced(unit, &body, gate).await.map(|link| Made {
                    status: link.status,
                    correlation_id: link.correlation_id.unwrap_or_default(),
                    link: link.url,
                })
            }
        }
    }
}

/// Messages go into one CSV cell: no line breaks.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Rate;

    #[test]
    fn turns_follow_the_rate() {
        let per_second = |count| vec![Rate { count, per: Duration::from_secs(1) }];
        assert_eq!(turns_for(&crate::config::trustpilot_quota(), 4), 1);
        assert_eq!(turns_for(&per_second(20), 8), 1);
        assert_eq!(turns_for(&per_second(100), 8), 5);
        assert_eq!(turns_for(&per_second(100_000), 32), 32);
    }
}
