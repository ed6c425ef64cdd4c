//! Progress on stderr while a run sends, never with `--quiet` or `--json`: a bar on a terminal;
//! elsewhere (cron, a log file) a plain line at least once a minute, so that an hour-long run
//! is not silent until it ends. And the live counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::journal::Status;
use crate::text::Count;

/// How often the plain line is printed; tests shorten it with `TP_INVITE_PROGRESS_MS`.
const PLAIN_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Counts {
    by_status: [AtomicU64; Status::ALL.len()],
}

/// Counts outcomes as they are recorded, and shows them.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Arc<Counts>,
    /// Dropping the sender (at [`Progress::finish`], or with the last clone) stops the plain
    /// lines' thread.
    plain: Arc<Mutex<Option<mpsc::Sender<()>>>>,
}

impl Progress {
    /// Progress for `total` rows to send: a bar if stderr is a terminal, else plain lines;
    /// nothing unless `show`.
    pub fn new(total: u64, show: bool) -> Progress {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = (show && terminal).then(|| bar(total));
        let counts = Arc::new(Counts::default());
        let plain = (show && !terminal).then(|| plain_lines(total, counts.clone(), plain_interval()));
        Progress { bar, counts, plain: Arc::new(Mutex::new(plain)) }
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
        self.counts.count(status)
    }

    /// Prints a line above the bar (or plainly without one).
    pub fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => crate::errln!("{text}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.plain.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    }
}

impl Counts {
    fn count(&self, status: Status) -> u64 {
        self.by_status[status as usize].load(Ordering::Relaxed)
    }
}

fn bar(total: u64) -> ProgressBar {
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
}

fn plain_interval() -> Duration {
    let millis = std::env::var("TP_INVITE_PROGRESS_MS").ok().and_then(|v| v.trim().parse().ok());
    millis.map_or(PLAIN_EVERY, Duration::from_millis).max(Duration::from_millis(1))
}

/// A thread that prints [`plain_line`] every `every` until the returned sender is dropped.
fn plain_lines(total: u64, counts: Arc<Counts>, every: Duration) -> mpsc::Sender<()> {
    let (stop, stopped) = mpsc::channel::<()>();
    let started = Instant::now();
    std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            let count = |status| counts.count(status);
            let done =
                Done { sent: count(Status::Sent), failed: count(Status::Failed), unknown: count(Status::Unknown) };
            crate::errln!("{}", plain_line(&done, total, started.elapsed()));
        }
    });
    stop
}

/// The rows attempted so far, by outcome.
struct Done {
    sent: u64,
    failed: u64,
    unknown: u64,
}

/// "Progress: 120 of 1000 rows (12%): 118 sent, 2 failed, 0 unknown; 2.0 rows/s, about 7
/// minutes left."
fn plain_line(done: &Done, total: u64, elapsed: Duration) -> String {
    let attempted = done.sent + done.failed + done.unknown;
    let percent = (attempted * 100).checked_div(total).unwrap_or(100);
    let rate = attempted as f64 / elapsed.as_secs_f64().max(0.001);
    let left = total.saturating_sub(attempted);
    let time_left = match rate > 0.0 {
        true if left == 0 => "finishing".to_string(),
        true => format!("about {} left", rough((left as f64 / rate).ceil() as u64)),
        false => "time left not known yet".to_string(),
    };
    // Trustpilot's quota is under 3 a second: a slow run reads better per minute.
    let speed = match rate >= 1.0 {
        true => format!("{rate:.1} rows/s"),
        false => format!("{:.1} rows/min", rate * 60.0),
    };
    format!(
        "Progress: {attempted} of {} ({percent}%): {} sent, {} failed, {} unknown; {speed}, {time_left}.",
        Count(total, "row"),
        done.sent,
        done.failed,
        done.unknown
    )
}

/// A duration as a person says it: seconds, minutes, or hours and minutes.
fn rough(secs: u64) -> String {
    match secs {
        0..120 => Count(secs, "second").to_string(),
        120..7200 => Count(secs.div_ceil(60), "minute").to_string(),
        _ => format!("{} {}", Count(secs / 3600, "hour"), Count(secs % 3600 / 60, "minute")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_line_has_counts_rate_and_time_left() {
        let line = |sent, failed, unknown, total, secs| {
            plain_line(&Done { sent, failed, unknown }, total, Duration::from_secs(secs))
        };
        assert_eq!(
            line(118, 2, 0, 1000, 60),
            "Progress: 120 of 1000 rows (12%): 118 sent, 2 failed, 0 unknown; 2.0 rows/s, about 8 minutes left."
        );
        assert_eq!(
            line(0, 0, 0, 1, 60),
            "Progress: 0 of 1 row (0%): 0 sent, 0 failed, 0 unknown; 0.0 rows/min, time left not known yet."
        );
        assert_eq!(
            line(10, 0, 0, 10, 5),
            "Progress: 10 of 10 rows (100%): 10 sent, 0 failed, 0 unknown; 2.0 rows/s, finishing."
        );
        assert_eq!(
            line(100, 0, 0, 100_000, 3600),
            "Progress: 100 of 100000 rows (0%): 100 sent, 0 failed, 0 unknown; 1.7 rows/min, about 999 hours 0 \
             minutes left."
        );
        assert_eq!(rough(90), "90 seconds");
        assert_eq!(rough(3600), "60 minutes");
        assert_eq!(rough(7260), "2 hours 1 minute");
    }
}
