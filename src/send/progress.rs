//! The progress bar on stderr (only on a terminal, never with `--quiet`) and the live counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::journal::Status;

#[derive(Default)]
struct Counts {
    by_status: [AtomicU64; Status::ALL.len()],
}

/// Counts outcomes as they are recorded, and shows them.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Arc<Counts>,
}

impl Progress {
    /// A bar for `total` rows to send, if stderr is a terminal and the user did not ask for quiet.
    pub fn new(total: u64, show: bool) -> Progress {
        let bar = (show && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows · {rate} · ETA {eta}\n  {msg}",
            )
            .map(|style| {
                style.with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}/s", state.per_sec());
                })
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { bar, counts: Arc::new(Counts::default()) }
    }

    /// A progress that shows nothing.
    pub fn hidden() -> Progress {
        Progress::new(0, false)
    }

    pub fn record(&self, status: Status) {
        self.counts.by_status[status as usize].fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            // The bar counts the rows attempted; rows left `skipped` (--limit, a stop) are
            // not among the rows to send it was sized for.
            if matches!(status, Status::Sent | Status::Failed | Status::Unknown) {
                bar.inc(1);
            }
            let count = |s: Status| self.count(s);
            bar.set_message(format!(
                "sent {} · failed {} · unknown {} · skipped {}",
                count(Status::Sent),
                count(Status::Failed),
                count(Status::Unknown),
                count(Status::Skipped)
            ));
        }
    }

    pub fn count(&self, status: Status) -> u64 {
        self.counts.by_status[status as usize].load(Ordering::Relaxed)
    }

    /// Prints a line above the bar (or plainly without one).
    pub fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
