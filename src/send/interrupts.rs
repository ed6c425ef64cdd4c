//! Ctrl-C. Before anything is sent, the first one stops the run at once and cleanly
//! ([`EarlyInterrupts`]); while sending, the first stops taking rows and lets the requests in
//! flight finish ([`watch_interrupts`]). The second always quits at once: the ledger holds
//! every request that may have left.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::progress::Progress;
use super::{Stop, StopReason};

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

/// Ctrl-C before anything is sent (while the input is checked, the ledger opened, the other
/// run waited for): the first sets a flag the loops look at; the second quits at once.
/// [`EarlyInterrupts::stop`] hands over to [`watch_interrupts`].
pub struct EarlyInterrupts {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl EarlyInterrupts {
    pub fn start(runtime: &tokio::runtime::Runtime) -> EarlyInterrupts {
        let flag = Arc::new(AtomicBool::new(false));
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
            seen.store(true, Ordering::SeqCst);
            tell.notify_one();
            crate::errln!("Stopping: press Ctrl-C again to quit at once.");
            if signals.next().await {
                crate::output::quit(
                    crate::exit::Exit::Interrupted.code(),
                    "quit at once, before anything was sent; run the same command again to start over.",
                );
            }
        });
        EarlyInterrupts { flag, notify, task }
    }

    /// Resolves once Ctrl-C was pressed (for one waiter).
    pub async fn pressed(&self) {
        while !self.is_pressed() {
            self.notify.notified().await;
        }
    }

    pub fn is_pressed(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Fails with [`crate::error::Error::Interrupted`] once Ctrl-C was pressed.
    pub fn check(&self) -> Result<(), crate::error::Error> {
        match self.is_pressed() {
            true => Err(crate::error::Error::Interrupted),
            false => Ok(()),
        }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// The first Ctrl-C stops taking rows and lets requests in flight finish; the second quits
/// at once.
pub fn watch_interrupts(stop: Stop, progress: Progress) -> tokio::task::JoinHandle<()> {
    let mut signals = Interrupts::listen();
    tokio::spawn(async move {
        if !signals.next().await {
            return;
        }
        stop.stop(StopReason::Interrupted);
        progress.println(
            "Stopping: no new rows are sent; waiting for the requests in flight. Press Ctrl-C again to quit at once \
             (the ledger keeps track of every request).",
        );
        if signals.next().await {
            crate::output::quit(
                crate::exit::Exit::Interrupted.code(),
                "quit at once; run the same command again to finish the batch.",
            );
        }
    })
}
