//! The rate budget every request shares: exact sliding windows, even spacing, and a pause
//! that a 429 puts on every worker at once.
//!
//! A token bucket (GCRA) allows a full burst and then its sustained rate inside one window,
//! which is up to twice the quota as a server counts it. This budget instead remembers when
//! the last `count` requests of each window left and lets a request go only if the window
//! ending now would still hold at most `count`, with a margin for the time between leaving
//! here and arriving there. Requests are also spaced evenly (`per / count`), so the server
//! sees a steady stream rather than bursts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::cli::Rate;

struct Window {
    count: usize,
    length: Duration,
    spacing: Duration,
    /// When the latest requests left, oldest first; at most `count`.
    departures: VecDeque<Instant>,
    /// The next slot of the even spacing. Slots follow a schedule rather than the moment the
    /// previous request actually left, so timer delays (a millisecond or so each) do not add
    /// up into a slower rate; the windows above still count actual departures.
    next: Option<Instant>,
}

struct State {
    windows: Vec<Window>,
    paused_until: Option<Instant>,
    /// 429s in a row, for the backoff when no Retry-After is given.
    throttles: u32,
    /// Since when every answer has been a 429.
    throttled_since: Option<Instant>,
    rng: fastrand::Rng,
}

/// Shared by every worker and by token requests.
pub struct Budget {
    state: Mutex<State>,
    /// Waiters line up here (tokio's mutex is first come, first served), so requests leave
    /// in the order they asked and no worker waits for turn after turn.
    queue: tokio::sync::Mutex<()>,
}

/// The margin kept on every window: the time a request may take between leaving this
/// process and being counted by the server.
fn margin(length: Duration) -> Duration {
    (length / 100).clamp(Duration::from_millis(10), Duration::from_secs(30))
}

impl Budget {
    pub fn new(rates: &[Rate]) -> Budget {
        let windows = rates
            .iter()
            .map(|rate| Window {
                count: rate.count.max(1) as usize,
                length: rate.per,
                spacing: rate.per / rate.count.max(1),
                departures: VecDeque::with_capacity(rate.count.min(16_384) as usize),
                next: None,
            })
            .collect();
        Budget {
            state: Mutex::new(State {
                windows,
                paused_until: None,
                throttles: 0,
                throttled_since: None,
                rng: fastrand::Rng::with_seed(0x7470_696e_7669_7465),
            }),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The earliest moment a request may leave, or `None` if it may leave now (and then it
    /// is counted as leaving now).
    fn try_take(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        let mut earliest = now;
        if let Some(until) = state.paused_until {
            earliest = earliest.max(until);
        }
        for window in &state.windows {
            if let Some(next) = window.next {
                earliest = earliest.max(next);
            }
            if window.departures.len() >= window.count {
                let oldest = window.departures[window.departures.len() - window.count];
                earliest = earliest.max(oldest + window.length + margin(window.length));
            }
        }
        if earliest > now {
            return Some(earliest);
        }
        for window in &mut state.windows {
            if window.departures.len() >= window.count {
                window.departures.pop_front();
            }
            window.departures.push_back(now);
            // Late by less than half a slot: stay on schedule. Later (the budget was idle):
            // start a new schedule, half a slot early at most once.
            let half = window.spacing / 2;
            let base = match window.next {
                Some(next) => next.max(now.checked_sub(half).unwrap_or(now)),
                None => now,
            };
            window.next = Some(base + window.spacing);
        }
        None
    }

    /// Waits until a request may leave, and counts it as leaving.
    pub async fn ready(&self) {
        let _turn = self.queue.lock().await;
        while let Some(at) = self.try_take(Instant::now()) {
            tokio::time::sleep_until(at).await;
        }
    }

    /// A 429: every worker waits `retry_after`, or an exponential backoff with full jitter.
    /// Returns how long continuous throttling has lasted.
    pub fn throttled(&self, retry_after: Option<Duration>, base: Duration) -> Duration {
        let now = Instant::now();
        let mut state = self.lock();
        state.throttles = state.throttles.saturating_add(1);
        let since = *state.throttled_since.get_or_insert(now);
        let pause = match retry_after {
            Some(wait) => wait,
            None => {
                let cap = base.saturating_mul(1 << state.throttles.min(10)).min(Duration::from_secs(120));
                cap.mul_f64(state.rng.f64())
            }
        };
        // A pause that would overflow the clock is as good as endless: a year.
        let until = now.checked_add(pause).unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        now - since
    }

    /// Any answer that is not a 429 ends a stretch of throttling.
    pub fn answered(&self) {
        let mut state = self.lock();
        state.throttles = 0;
        state.throttled_since = None;
    }
}

/// Full-jitter exponential backoff before attempt `attempt + 1` of one row.
pub fn backoff(base: Duration, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
    let cap = base.saturating_mul(1 << attempt.min(10)).min(Duration::from_secs(300));
    cap.mul_f64(rng.f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most requests any window of `length` holds, for departures in order.
    fn busiest(departures: &[Instant], length: Duration) -> usize {
        let mut most = 0;
        let mut start = 0;
        for end in 0..departures.len() {
            while departures[end] - departures[start] >= length {
                start += 1;
            }
            most = most.max(end - start + 1);
        }
        most
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_ever_holds_more_than_the_rate() {
        let budget = std::sync::Arc::new(Budget::new(&[Rate { count: 20, per: Duration::from_secs(1) }]));
        let begin = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let budget = budget.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..25 {
                    budget.ready().await;
                    times.push(Instant::now());
                }
                times
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort();
        assert_eq!(all.len(), 200);
        assert!(busiest(&all, Duration::from_secs(1)) <= 20);
        let elapsed = *all.last().unwrap() - begin;
        // 200 requests at 20/s: about ten seconds, not much more.
        assert!(elapsed < Duration::from_millis(10_500), "{elapsed:?}");
        assert!(elapsed >= Duration::from_millis(9_500), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn both_windows_of_the_trustpilot_quota_hold() {
        let budget = Budget::new(&crate::config::trustpilot_quota());
        let mut times = Vec::new();
        for _ in 0..1700 {
            budget.ready().await;
            times.push(Instant::now());
        }
        assert!(busiest(&times, Duration::from_secs(300)) <= 833);
        let elapsed = *times.last().unwrap() - times[0];
        // Sustained 833 per 5 minutes, not a burst of 833 and then more.
        assert!(elapsed >= Duration::from_secs(600), "{elapsed:?}");
        assert!(elapsed <= Duration::from_secs(625), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn small_delays_after_each_slot_do_not_slow_the_rate() {
        let budget = Budget::new(&[Rate { count: 20, per: Duration::from_secs(1) }]);
        let begin = Instant::now();
        let mut times = Vec::new();
        for _ in 0..101 {
            budget.ready().await;
            times.push(Instant::now());
            // A timer that fires late, or a worker busy for a moment.
            tokio::time::advance(Duration::from_millis(3)).await;
        }
        let elapsed = *times.last().unwrap() - begin;
        // 100 slots of 50 ms and the window margin (10 ms a second), not 100 x 53 ms.
        assert!(elapsed <= Duration::from_millis(5_060), "{elapsed:?}");
        assert!(busiest(&times, Duration::from_secs(1)) <= 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_pauses_everyone_for_retry_after() {
        let budget = Budget::new(&[Rate { count: 100, per: Duration::from_secs(1) }]);
        budget.ready().await;
        let start = Instant::now();
        budget.throttled(Some(Duration::from_secs(7)), Duration::from_secs(1));
        budget.ready().await;
        assert!(Instant::now() - start >= Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn an_absurd_retry_after_pauses_without_overflow() {
        let budget = Budget::new(&[Rate { count: 100, per: Duration::from_secs(1) }]);
        let start = Instant::now();
        assert_eq!(budget.throttled(Some(Duration::MAX), Duration::from_secs(1)), Duration::ZERO);
        budget.throttled(Some(Duration::from_secs(u64::MAX)), Duration::from_secs(1));
        budget.ready().await;
        assert!(Instant::now() - start >= Duration::from_secs(365 * 24 * 3600));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_stretch_is_measured_until_an_answer() {
        let budget = Budget::new(&[Rate { count: 100, per: Duration::from_secs(1) }]);
        assert_eq!(budget.throttled(None, Duration::from_millis(10)), Duration::ZERO);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(budget.throttled(None, Duration::from_millis(10)), Duration::from_secs(5));
        budget.answered();
        assert_eq!(budget.throttled(None, Duration::from_millis(10)), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut rng = fastrand::Rng::with_seed(3);
        for attempt in 0..20 {
            let wait = backoff(Duration::from_secs(1), attempt, &mut rng);
            assert!(wait <= Duration::from_secs(1 << attempt.min(10)).min(Duration::from_secs(300)));
        }
    }
}
