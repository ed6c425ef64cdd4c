//! The fault knobs' mechanics: latency with jitter, injected failures, sliding-window quotas.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the dice decided for one invitation request that would otherwise be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Answer with this 5xx status; nothing is recorded as accepted.
    ServerError(u16),
    /// Accept (and record) the invitation, then close the connection without an answer.
    Drop,
    /// Accept (and record) the invitation, then answer 504 Gateway Timeout.
    GatewayTimeout,
    /// Accept (and record) the invitation, then answer 303 See Other.
    Redirect,
}

/// The statuses a failing request is answered with, drawn uniformly.
const SERVER_ERRORS: [u16; 3] = [500, 502, 503];

/// The share of invitation requests that meet each fault.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Shares {
    pub fail: f64,
    pub drop: f64,
    pub timeout: f64,
    pub redirect: f64,
}

/// Roll the dice for one invitation request. Always draws twice, so the sequence of outcomes
/// depends only on the seed and the order of the requests, never on earlier outcomes. The
/// shares are stacked in the order above; beyond 1 in all, the later ones get the remainder.
pub(crate) fn roll(rng: &mut fastrand::Rng, shares: Shares) -> Option<Fault> {
    let dice = rng.f64();
    let status = SERVER_ERRORS[rng.usize(..SERVER_ERRORS.len())];
    let stacked = [
        (shares.fail, Fault::ServerError(status)),
        (shares.drop, Fault::Drop),
        (shares.timeout, Fault::GatewayTimeout),
        (shares.redirect, Fault::Redirect),
    ];
    let mut bound = 0.0;
    for (share, fault) in stacked {
        bound += share;
        if dice < bound {
            return Some(fault);
        }
    }
    None
}

/// `latency` plus a uniform offset in `-jitter..=jitter` (microsecond grain), never negative.
pub(crate) fn delay(rng: &mut fastrand::Rng, latency: Duration, jitter: Duration) -> Duration {
    let jitter = i64::try_from(jitter.as_micros()).unwrap_or(i64::MAX / 2);
    let offset = rng.i64(-jitter..=jitter);
    let magnitude = Duration::from_micros(offset.unsigned_abs());
    if offset >= 0 { latency.saturating_add(magnitude) } else { latency.saturating_sub(magnitude) }
}

/// Admits at most `limit` requests in any window of length `per`, counted at arrival.
/// Refused requests do not use up the quota, so a client that backs off is served again
/// as soon as the oldest admitted request leaves the window.
#[derive(Debug)]
pub(crate) struct SlidingWindow {
    limit: usize,
    per: Duration,
    admitted: VecDeque<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(limit: u32, per: Duration) -> SlidingWindow {
        SlidingWindow { limit: limit as usize, per, admitted: VecDeque::new() }
    }

    /// Admit a request arriving at `now` (which never goes backwards between calls), or say
    /// how long until the window has room again.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        while let Some(&oldest) = self.admitted.front() {
            if now.saturating_duration_since(oldest) >= self.per {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
        if self.admitted.len() >= self.limit {
            let oldest = self.admitted.front().copied().unwrap_or(now);
            // A window beyond what the clock holds never has room again.
            let room_at = oldest.checked_add(self.per);
            return Err(room_at.map_or(self.per, |at| at.saturating_duration_since(now)));
        }
        self.admitted.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_and_then_waits_for_the_oldest() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut window = SlidingWindow::new(3, Duration::from_millis(1000));
        assert_eq!(window.admit(at(0)), Ok(()));
        assert_eq!(window.admit(at(100)), Ok(()));
        assert_eq!(window.admit(at(200)), Ok(()));
        assert_eq!(window.admit(at(300)), Err(Duration::from_millis(700)));
        // A refused request does not count: at 1000 the first one has left the window.
        assert_eq!(window.admit(at(999)), Err(Duration::from_millis(1)));
        assert_eq!(window.admit(at(1000)), Ok(()));
        assert_eq!(window.admit(at(1050)), Err(Duration::from_millis(50)));
        assert_eq!(window.admit(at(1100)), Ok(()));
    }

    #[test]
    fn a_window_longer_than_the_clock_holds_does_not_overflow() {
        let mut window = SlidingWindow::new(1, Duration::MAX);
        let now = Instant::now();
        assert_eq!(window.admit(now), Ok(()));
        assert_eq!(window.admit(now), Err(Duration::MAX));
    }

    #[test]
    fn rolls_follow_the_rates_and_the_seed() {
        let shares = |fail, drop| Shares { fail, drop, ..Shares::default() };
        let mut rng = fastrand::Rng::with_seed(7);
        let rolls: Vec<_> = (0..10_000).map(|_| roll(&mut rng, shares(0.2, 0.1))).collect();
        let failed = rolls.iter().filter(|r| matches!(r, Some(Fault::ServerError(_)))).count();
        let dropped = rolls.iter().filter(|r| **r == Some(Fault::Drop)).count();
        assert!((1_800..2_200).contains(&failed), "{failed}");
        assert!((800..1_200).contains(&dropped), "{dropped}");
        for status in SERVER_ERRORS {
            assert!(rolls.contains(&Some(Fault::ServerError(status))), "{status}");
        }
        let mut again = fastrand::Rng::with_seed(7);
        let replay: Vec<_> = (0..10_000).map(|_| roll(&mut again, shares(0.2, 0.1))).collect();
        assert_eq!(rolls, replay);

        let mut rng = fastrand::Rng::with_seed(7);
        assert!((0..1000).all(|_| roll(&mut rng, shares(0.0, 0.0)).is_none()));
        assert!((0..1000).all(|_| roll(&mut rng, shares(1.0, 0.0)).is_some()));
        assert!((0..1000).all(|_| roll(&mut rng, shares(0.0, 1.0)) == Some(Fault::Drop)));
        let timeouts = Shares { timeout: 1.0, ..Shares::default() };
        assert!((0..1000).all(|_| roll(&mut rng, timeouts) == Some(Fault::GatewayTimeout)));
        let redirects = Shares { redirect: 1.0, ..Shares::default() };
        assert!((0..1000).all(|_| roll(&mut rng, redirects) == Some(Fault::Redirect)));
        let half = Shares { timeout: 0.5, redirect: 0.5, ..Shares::default() };
        let rolls: Vec<_> = (0..1000).map(|_| roll(&mut rng, half)).collect();
        assert!(rolls.contains(&Some(Fault::GatewayTimeout)) && rolls.contains(&Some(Fault::Redirect)));
        assert!(rolls.iter().all(Option::is_some));
    }

    #[test]
    fn delays_stay_within_the_jitter() {
        let mut rng = fastrand::Rng::with_seed(3);
        let latency = Duration::from_millis(50);
        let jitter = Duration::from_millis(20);
        let delays: Vec<_> = (0..1000).map(|_| delay(&mut rng, latency, jitter)).collect();
        assert!(delays.iter().all(|d| (30..=70).contains(&d.as_millis())));
        assert!(delays.iter().any(|d| d.as_millis() < 40));
        assert!(delays.iter().any(|d| d.as_millis() >= 60));
        assert_eq!(delay(&mut rng, latency, Duration::ZERO), latency);
        // Jitter larger than the latency is clamped at zero, never negative.
        let clamped: Vec<_> =
            (0..1000).map(|_| delay(&mut rng, Duration::from_millis(1), Duration::from_millis(10))).collect();
        assert!(clamped.contains(&Duration::ZERO));
    }
}
