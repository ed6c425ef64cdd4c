//! One module per subcommand, wiring the rooms together; and what they share: reaching
//! Trustpilot (or the sandbox), and Ctrl-C.

pub mod business_unit;
pub mod retry;
pub mod send;
pub mod templates;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::api::{self, ApiError, Client, Credentials, Endpoints, Grant};
use crate::config::Sending;
use crate::sandbox::{self, Sandbox, SandboxConfig};
use tokio::sync::{Semaphore, mpsc};

use crate::record::ResultsWriter;
use crate::send::budget::Budget;
use crate::send::progress::Progress;
use crate::send::recorder::Recorder;
use crate::send::{BudgetPace, Job, Sender, Stop, StopReason};

/// An error that stops the command with exit code 1 and only its message (no "caused by").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(pub String);

/// An error in how the command was called: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Refuses an error-report path that holds the record of a real send (a results file given
/// as `--errors` by mistake): the report would overwrite it.
pub fn check_error_report_path(errors: &std::path::Path) -> Result<()> {
    let real = errors.is_file() && crate::record::results::records_real_send(errors).unwrap_or(false);
    match real {
        true => Err(Fatal(format!(
            "--errors {} is a results file that records a real send; the error report would overwrite it. \
             Give the error report another path.",
            errors.display()
        ))
        .into()),
        false => Ok(()),
    }
}

/// A client ready to send, and the business unit to send for.
pub struct Connection {
    pub client: Client,
    pub business_unit_id: String,
    /// The in-process emulator, with `--sandbox`; it serves until this is dropped.
    pub sandbox: Option<Sandbox>,
}

/// The endpoints and credentials to use: the environment's, or the in-process sandbox's.
pub async fn endpoints(sandbox: bool) -> Result<(Endpoints, Credentials, Option<Sandbox>)> {
    if !sandbox {
        let endpoints = Endpoints::from_env().map_err(|e| Fatal(e.to_string()))?;
        let credentials = Credentials::from_env().map_err(|e| Fatal(e.to_string()))?;
        return Ok((endpoints, credentials, None));
    }
    let server = Sandbox::start(SandboxConfig::default(), 0).await.context("cannot start the sandbox on loopback")?;
    let endpoints = Endpoints::new(&server.api_url(), &server.invitations_url()).map_err(|e| Fatal(e.to_string()))?;
    let credentials = Credentials {
        api_key: sandbox::DEMO_API_KEY.to_string().into(),
        api_secret: sandbox::DEMO_API_SECRET.to_string().into(),
        grant: Grant::Password {
            username: sandbox::DEMO_USERNAME.to_string(),
            password: sandbox::DEMO_PASSWORD.to_string().into(),
        },
    };
    Ok((endpoints, credentials, Some(server)))
}

/// Builds the client, finds the business unit and gets the first token, so that a wrong
/// setting stops the run before any invitation is sent.
pub async fn connect(sending: &Sending, budget: Arc<Budget>, quiet: bool) -> Result<Connection> {
    let (endpoints, credentials, sandbox) = endpoints(sending.sandbox).await?;
    if let (Some(server), false) = (&sandbox, quiet) {
        eprintln!(
            "Sandbox: sending to the built-in Trustpilot emulator at {} (no real invitations).",
            server.api_url()
        );
    }
    let client = Client::new(endpoints, credentials, Arc::new(BudgetPace(budget))).map_err(|e| Fatal(e.to_string()))?;
    let id = sending.business_unit_id.as_deref().or(if sandbox.is_some() && sending.domain.is_none() {
        Some(sandbox::DEMO_BUSINESS_UNIT_ID)
    } else {
        None
    });
    let unit = patiently("business unit", quiet, || api::resolve_business_unit(&client, id, sending.domain.as_deref()))
        .await
        .map_err(|e| Fatal(e.to_string()))?;
    patiently("access token", quiet, || client.authenticate()).await.map_err(|e| Fatal(e.to_string()))?;
    if !quiet {
        match &unit.display_name {
            Some(name) => eprintln!("Business unit: {} ({name}).", unit.id),
            None => eprintln!("Business unit: {}.", unit.id),
        }
    }
    Ok(Connection { client, business_unit_id: unit.id, sandbox })
}

/// Calls `call` again while Trustpilot answers 429 (it does so to token requests that come
/// too often, for instance when a cron job restarts quickly), waiting as it asks or with an
/// exponential backoff, for up to about a minute.
pub async fn patiently<T, F, Fut>(what: &str, quiet: bool, mut call: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut wait = Duration::from_secs(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(ApiError::Throttled { retry_after }) if attempt < 7 => {
                let pause = retry_after.unwrap_or(wait).min(Duration::from_secs(120));
                if !quiet {
                    eprintln!(
                        "Trustpilot answered 429 (too many requests) when asked for the {what}; asking again in {} s.",
                        pause.as_secs_f64().ceil()
                    );
                }
                tokio::time::sleep(pause).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            other => return other,
        }
    }
}

/// Ctrl-C before anything is sent (while every row is checked): the first asks the checking
/// loop to stop, so it returns [`Interrupted`] and its temporary files are removed; the
/// second quits at once. [`EarlyInterrupts::stop`] hands over to [`watch_interrupts`].
pub struct EarlyInterrupts {
    flag: Arc<std::sync::atomic::AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// Ctrl-C, listened for from the moment [`Interrupts::listen`] is called.
struct Interrupts {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Must be called inside the runtime.
    fn listen() -> Interrupts {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
            Interrupts { signal }
        }
        #[cfg(not(unix))]
        Interrupts {}
    }

    /// The next Ctrl-C; `false` if none can come.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            match &mut self.signal {
                Some(signal) => signal.recv().await.is_some(),
                None => false,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

/// The run was interrupted before anything was sent: exit 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted (Ctrl-C) before any invitation was sent; run the same command again to start over")]
pub struct Interrupted;

impl EarlyInterrupts {
    pub fn start(runtime: &tokio::runtime::Runtime) -> EarlyInterrupts {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let notify = Arc::new(tokio::sync::Notify::new());
        let (seen, tell) = (flag.clone(), notify.clone());
        // The handler is installed now, not when the task first runs: a Ctrl-C a moment
        // after the start must not kill the process half-way through writing a file.
        let mut signals = {
            let _inside = runtime.enter();
            Interrupts::listen()
        };
        let task = runtime.spawn(async move {
            if !signals.next().await {
                return;
            }
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            tell.notify_one();
            eprintln!("Stopping: press Ctrl-C again to quit at once.");
            if signals.next().await {
                std::process::exit(130);
            }
        });
        EarlyInterrupts { flag, notify, task }
    }

    /// Resolves once Ctrl-C was pressed (for one waiter).
    pub async fn pressed(&self) {
        while !self.flag.load(std::sync::atomic::Ordering::SeqCst) {
            self.notify.notified().await;
        }
    }

    /// Fails with [`Interrupted`] once Ctrl-C was pressed.
    pub fn check(&self) -> Result<()> {
        match self.flag.load(std::sync::atomic::Ordering::SeqCst) {
            true => Err(Interrupted.into()),
            false => Ok(()),
        }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// The first Ctrl-C stops taking rows and lets requests in flight finish; the second quits
/// at once (the results journal is resumable at every moment).
pub fn watch_interrupts(stop: Stop, progress: Progress) -> tokio::task::JoinHandle<()> {
    let mut signals = Interrupts::listen();
    tokio::spawn(async move {
        if !signals.next().await {
            return;
        }
        stop.stop(StopReason::Interrupted);
        progress.println(
            "Stopping: no new rows are sent; waiting for the requests in flight. Press Ctrl-C again to quit at once \
             (the results file stays resumable).",
        );
        if signals.next().await {
            eprintln!("tp-invite: quit at once; run the same command with --resume to finish the batch.");
            std::process::exit(130);
        }
    })
}

/// The moving parts of a send or a retry: the results recorder, the workers and the Ctrl-C
/// watch. The caller feeds jobs from a thread of its own, then calls [`Running::finish`].
pub struct Running {
    pub recorder: Recorder,
    pub stop: Stop,
    progress: Progress,
    recorder_thread: std::thread::JoinHandle<Result<(), crate::record::RecordError>>,
    workers: Option<tokio::task::JoinHandle<Result<(), crate::send::recorder::RecorderGone>>>,
    interrupts: tokio::task::JoinHandle<()>,
    /// With `--sandbox`: serves until the run is over.
    _sandbox: Option<Sandbox>,
}

impl Running {
    /// Starts recording into `writer` and, when there is a connection, `--concurrency`
    /// workers taking jobs from the returned channel (without one, jobs are refused and the
    /// feeder records them `skipped`).
    pub fn start(
        writer: ResultsWriter,
        progress: Progress,
        connection: Option<Connection>,
        sending: &Sending,
        budget: Arc<Budget>,
    ) -> (Running, mpsc::Sender<Job>) {
        let (recorder, recorder_thread) = Recorder::start(writer, progress.clone());
        let stop = Stop::default();
        let interrupts = watch_interrupts(stop.clone(), progress.clone());
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(sending.concurrency * 2);
        let (workers, sandbox) = match connection {
            Some(connection) => {
                let sender = Arc::new(Sender {
                    client: connection.client,
                    budget,
                    business_unit_id: connection.business_unit_id,
                    max_attempts: sending.max_attempts,
                    backoff: sending.backoff,
                    max_throttle: sending.max_throttle,
                    recorder: recorder.clone(),
                    stop: stop.clone(),
                    turns: Arc::new(Semaphore::new(crate::send::turns_for(&sending.rates, sending.concurrency))),
                });
                (Some(tokio::spawn(sender.run(jobs_rx, sending.concurrency))), connection.sandbox)
            }
            None => (None, None),
        };
        let running = Running { recorder, stop, progress, recorder_thread, workers, interrupts, _sandbox: sandbox };
        (running, jobs_tx)
    }

    /// Waits for the feeder, the workers and the recorder. A failure of the record itself is
    /// an error; a failure of the feeder or a worker stops the run (see [`Running::stop`]).
    pub async fn finish<T: Send + 'static>(self, feed: std::thread::JoinHandle<Result<T>>) -> Result<Option<T>> {
        let Running { recorder, stop, progress, recorder_thread, workers, interrupts, _sandbox } = self;
        let fed = tokio::task::spawn_blocking(move || feed.join()).await;
        let worked = match workers {
            Some(workers) => matches!(workers.await, Ok(Ok(()))),
            None => true,
        };
        drop(recorder);
        let recorded = tokio::task::spawn_blocking(move || recorder_thread.join()).await;
        interrupts.abort();
        progress.finish();
        match recorded {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(e.into()),
            _ => anyhow::bail!("the results writer stopped unexpectedly"),
        }
        let fed = match fed {
            Ok(Ok(Ok(value))) => Some(value),
            Ok(Ok(Err(e))) => {
                stop.stop(StopReason::Fatal(format!("{e:#}")));
                None
            }
            _ => {
                stop.stop(StopReason::Fatal("reading the rows stopped unexpectedly".to_string()));
                None
            }
        };
        if !worked {
            stop.stop(StopReason::Fatal("a worker stopped unexpectedly".to_string()));
        }
        Ok(fed)
    }
}
