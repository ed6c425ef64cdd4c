//! The sender: workers that share one rate budget and one token, and turn each valid row
//! into exactly one outcome in the results journal.

pub mod budget;
pub mod progress;
pub mod recorder;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::api::{ApiError, Client, Pace};
use crate::invitation::Invitation;
use crate::record::{ResultLine, Status};
use budget::Budget;
use recorder::{Recorder, RecorderGone};

/// One valid row to send.
#[derive(Debug)]
pub struct Job {
    pub row: u64,
    pub line: u64,
    pub invitation: Invitation,
    /// Attempts recorded by earlier runs (`retry` accumulates them).
    pub attempts: u32,
    /// With `retry`: the row's line as it was, which stands again if the row is not attempted.
    pub previous: Option<ResultLine>,
}

/// Why a run stopped taking rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C.
    Interrupted,
    /// An error that every further row would meet (credentials, access, business unit).
    Fatal(String),
    /// Trustpilot kept answering 429 for longer than the run may wait.
    Throttled(Duration),
    /// Trustpilot answered 429 with a Retry-After longer than the run may wait.
    AskedToWait(Duration),
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
    pub recorder: Recorder,
    pub stop: Stop,
    /// Turns to wait for the budget. A worker writes its durable `unknown` line only once it
    /// has a turn, and gives the turn back when its request leaves; so after a `kill -9` the
    /// rows recorded `unknown` without having left are at most the number of turns. There are
    /// as many turns as requests the budget lets go within [`TURN_LEAD`] (at least one): one
    /// at Trustpilot's 2.8 a second, every worker at the rates of a benchmark, where the
    /// fsyncs of many rows are shared.
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

/// Message kept in the write-ahead line while a request is out.
pub const IN_FLIGHT: &str = "The request was on its way when the run stopped: it may or may not have reached \
                             Trustpilot. It is not re-sent unless you run `retry --include-unknown`.";

impl Sender {
    /// Runs `workers` workers until the job channel closes.
    pub async fn run(self: Arc<Self>, jobs: mpsc::Receiver<Job>, workers: usize) -> Result<(), RecorderGone> {
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
                Ok(Err(gone)) => {
                    self.stop.stop(StopReason::Fatal("the results file could not be written".to_string()));
                    outcome = Err(gone);
                }
                Err(panic) => std::panic::resume_unwind(panic.into_panic()),
            }
        }
        outcome
    }

    async fn worker(&self, jobs: Arc<Mutex<mpsc::Receiver<Job>>>, seed: u64) -> Result<(), RecorderGone> {
        let mut rng = fastrand::Rng::with_seed(0x5eed ^ seed);
        loop {
            let job = jobs.lock().await.recv().await;
            let Some(job) = job else { return Ok(()) };
            if self.stop.is_stopped() {
                self.recorder.line(skipped(&job, self.stop.reason())).await?;
                continue;
            }
            self.send_one(job, &mut rng).await?;
        }
    }

    fn line(&self, job: &Job, status: Status, attempts: u32) -> ResultLine {
        ResultLine { attempts, ..ResultLine::new(job.row, job.line, status, job.invitation.clone()) }
    }

    fn failure(&self, job: &Job, status: Status, attempts: u32, error: &ApiError) -> ResultLine {
        let mut line = self.line(job, status, attempts);
        line.http_status = error.http_status();
        line.error_code = error.error_code().unwrap_or_default();
        line.error = one_line(&error.to_string());
        line.correlation_id = error.correlation_id().unwrap_or_default();
        line
    }

    /// The line of a row the run stopped before sending, with the attempts it counted so far.
    fn not_attempted(&self, job: &Job, attempts: u32) -> ResultLine {
        let mut line = skipped(job, self.stop.reason());
        if job.previous.is_none() {
            line.attempts = attempts;
        }
        line
    }

    /// Sends one row: at most `max_attempts` counted attempts, every one preceded by a
    /// durable write-ahead line.
    async fn send_one(&self, job: Job, rng: &mut fastrand::Rng) -> Result<(), RecorderGone> {
        let mut attempts = job.attempts;
        let first = job.attempts;
        loop {
            let turn = tokio::select! {
                turn = self.turns.clone().acquire_owned() => turn.expect("the turns are never closed"),
                () = self.stop.stopped() => {
                    return self.recorder.line(self.not_attempted(&job, attempts)).await;
                }
            };
            let mut mark = self.line(&job, Status::Unknown, attempts + 1);
            mark.error_code = "in_flight".to_string();
            mark.error = IN_FLIGHT.to_string();
            self.recorder.durable(mark).await?;

            let departed = Arc::new(AtomicBool::new(false));
            let gate = Gate {
                budget: self.budget.clone(),
                stop: self.stop.clone(),
                departed: departed.clone(),
                turn: std::sync::Mutex::new(Some(turn)),
            };
            let request = self.client.create_invitation_paced(&self.business_unit_id, &job.invitation, &gate);
            tokio::pin!(request);
            let result = tokio::select! {
                result = &mut request => result,
                () = self.stop.stopped() => {
                    if departed.load(Ordering::SeqCst) {
                        request.await
                    } else {
                        return self.recorder.line(self.not_attempted(&job, attempts)).await;
                    }
                }
            };
            let error = match result {
                Ok(accepted) => {
                    self.budget.answered();
                    let mut line = self.line(&job, Status::Sent, attempts + 1);
                    line.http_status = Some(accepted.status);
                    line.correlation_id = accepted.correlation_id.unwrap_or_default();
                    line.sent_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
                    return self.recorder.line(line).await;
                }
                Err(error) => error,
            };
            match &error {
                ApiError::Throttled { retry_after } => {
                    // Not the row's fault: it does not use up an attempt.
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
                    if self.stop.is_stopped() {
                        // Not attempted after all: `skipped` (or, for `retry`, the row's line as
                        // it was, so the next retry finds it).
                        let line = match job.previous {
                            Some(ref previous) => previous.clone(),
                            None => {
                                let mut line = self.failure(&job, Status::Skipped, attempts, &error);
                                line.error = format!("Not sent: {}", line.error);
                                line
                            }
                        };
                        return self.recorder.line(line).await;
                    }
                    continue;
                }
                ApiError::Server { .. } | ApiError::NotSent { .. } => {
                    if matches!(error, ApiError::Server { .. }) {
                        self.budget.answered();
                    }
                    attempts += 1;
                    if attempts - first >= self.max_attempts {
                        return self.recorder.line(self.failure(&job, Status::Failed, attempts, &error)).await;
                    }
                    self.recorder.interim(self.failure(&job, Status::Failed, attempts, &error)).await?;
                    let wait = budget::backoff(self.backoff, attempts - first - 1, rng);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => continue,
                        () = self.stop.stopped() => {
                            return self.recorder.line(self.failure(&job, Status::Failed, attempts, &error)).await;
                        }
                    }
                }
                ApiError::Unknown { .. } => {
                    return self.recorder.line(self.failure(&job, Status::Unknown, attempts + 1, &error)).await;
                }
                _ => {
                    self.budget.answered();
                    if error.is_fatal() {
                        self.stop.stop(StopReason::Fatal(error.to_string()));
                    }
                    return self.recorder.line(self.failure(&job, Status::Failed, attempts + 1, &error)).await;
                }
            }
        }
    }
}

/// The line of a valid row that was not attempted: `skipped`, or for `retry` the row's
/// earlier line, so a later `retry` still finds it.
pub fn skipped(job: &Job, reason: Option<StopReason>) -> ResultLine {
    if let Some(previous) = &job.previous {
        return previous.clone();
    }
    let mut line = ResultLine::new(job.row, job.line, Status::Skipped, job.invitation.clone());
    line.attempts = job.attempts;
    line.error = skip_reason(reason.as_ref()).to_string();
    line
}

/// Why a row was not attempted, as the results file says it.
pub fn skip_reason(reason: Option<&StopReason>) -> &'static str {
    match reason {
        None => "Not sent: beyond --limit.",
        Some(StopReason::Interrupted) => "Not sent: the run was interrupted.",
        Some(StopReason::Fatal(_)) => "Not sent: the run stopped on an error (see the summary).",
        Some(StopReason::Throttled(_) | StopReason::AskedToWait(_)) => {
            "Not sent: Trustpilot kept answering 429 (too many requests)."
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
