//! What the sandbox knows while it runs: issued tokens, quota windows, dice, and its record of
//! requests, accepted invitations and created links (in memory, and as JSON lines when asked
//! to).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::faults::{self, Fault, SlidingWindow};
use super::{Accepted, CreatedLink, RequestLog, SandboxConfig, rules};

/// By default the token endpoints answer 429 beyond this many requests in [`TOKEN_WINDOW`].
pub(crate) const TOKEN_LIMIT: u32 = 10;
pub(crate) const TOKEN_WINDOW: Duration = Duration::from_secs(10);

/// How an access token was obtained: it decides refresh and `x-business-user-id` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    Password,
    ClientCredentials,
}

/// Which kind of endpoint a request is for, as far as quotas and dice care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    Token,
    /// Creates something (an email invitation, an invitation link): rolls the fault dice.
    Create,
    Other,
}

/// What happens to a request, decided the moment it arrives.
#[derive(Debug)]
pub(crate) struct Arrival {
    /// Since the sandbox started.
    pub at: Duration,
    pub correlation_id: String,
    /// How long to wait before answering (latency ± jitter).
    pub delay: Duration,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Served; an invitation that passes every check then meets this fault, if any.
    Admit(Option<Fault>),
    /// Over the configured quota (`--quota`).
    OverQuota,
    /// Too many token requests.
    TooManyTokens,
}

/// A freshly issued token pair.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix time in milliseconds.
    pub issued_at_ms: u128,
}

/// Why a bearer token was refused (both are answered the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadToken {
    Unknown,
    Expired,
}

pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub started: Instant,
    /// Print a line per request on stderr (the standalone server).
    pub echo: bool,
    state: Mutex<State>,
    journal: Option<Mutex<File>>,
}

/// The knobs a running sandbox can be given anew ([`super::Sandbox::set_faults`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    pub latency: Duration,
    pub jitter: Duration,
    pub fail_rate: f64,
    pub drop_rate: f64,
    pub timeout_rate: f64,
    pub redirect_rate: f64,
}

impl Faults {
    /// None at all.
    pub const NONE: Faults = Faults {
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        fail_rate: 0.0,
        drop_rate: 0.0,
        timeout_rate: 0.0,
        redirect_rate: 0.0,
    };
}

struct State {
    faults: Faults,
    latency_rng: fastrand::Rng,
    fault_rng: fastrand::Rng,
    id_rng: fastrand::Rng,
    quota: Option<SlidingWindow>,
    token_window: Option<SlidingWindow>,
    /// The grant and expiry (`None`: never) of each access token.
    access_tokens: HashMap<String, (Grant, Option<Instant>)>,
    /// Every access and refresh token issued, in order.
    issued: Vec<String>,
    refresh_tokens: HashSet<String>,
    accepted: Vec<Accepted>,
    links: Vec<CreatedLink>,
    requests: Vec<RequestLog>,
    token_requests: usize,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig, journal: Option<File>, echo: bool) -> Shared {
        // One generator per purpose, so that (say) the faults an invitation meets depend only
        // on the order of invitation requests, not on how many tokens were issued in between.
        let seed = config.seed;
        let state = State {
            faults: Faults {
                latency: config.latency,
                jitter: config.jitter,
                fail_rate: config.fail_rate,
                drop_rate: config.drop_rate,
                timeout_rate: config.timeout_rate,
                redirect_rate: config.redirect_rate,
            },
            latency_rng: fastrand::Rng::with_seed(seed),
            fault_rng: fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15),
            id_rng: fastrand::Rng::with_seed(seed ^ 0x5851_f42d_4c95_7f2d),
            quota: config.quota.map(|(count, per)| SlidingWindow::new(count, per)),
            token_window: config.token_limit.map(|(count, per)| SlidingWindow::new(count, per)),
            access_tokens: HashMap::new(),
            issued: Vec::new(),
            refresh_tokens: HashSet::new(),
            accepted: Vec::new(),
            links: Vec::new(),
            requests: Vec::new(),
            token_requests: 0,
        };
        Shared { config, started: Instant::now(), echo, state: Mutex::new(state), journal: journal.map(Mutex::new) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something ever did, the data is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count a request in, and decide its latency, quota verdict and fault.
    pub(crate) fn arrive(&self, kind: RouteKind) -> Arrival {
        let mut state = self.state();
        let now = Instant::now();
        let at = now.saturating_duration_since(self.started);
        let knobs = state.faults;
        let delay = faults::delay(&mut state.latency_rng, knobs.latency, knobs.jitter);
        let correlation_id = uuid_like(&mut state.id_rng);
        // Every invitation and link request rolls the dice, throttled or not, so the sequence
        // of faults depends only on the seed and the order of those requests.
        let fault = match kind {
            RouteKind::Create => {
                let shares = faults::Shares {
                    fail: knobs.fail_rate,
                    drop: knobs.drop_rate,
                    timeout: knobs.timeout_rate,
                    redirect: knobs.redirect_rate,
                };
                faults::roll(&mut state.fault_rng, shares)
            }
            _ => None,
        };
        if kind == RouteKind::Token {
            state.token_requests += 1;
        }
        let over_quota = match state.quota.as_mut() {
            Some(window) => window.admit(now).is_err(),
            None => false,
        };
        let verdict = if over_quota {
            Verdict::OverQuota
        } else if kind == RouteKind::Token && state.token_window.as_mut().is_some_and(|w| w.admit(now).is_err()) {
            Verdict::TooManyTokens
        } else {
            Verdict::Admit(fault)
        };
        Arrival { at, correlation_id, delay, verdict }
    }

    /// New latency and faults for the requests that arrive from now on.
    pub(crate) fn set_faults(&self, faults: Faults) {
        self.state().faults = faults;
    }

    /// Issue an access token (and, for the password grant, a refresh token).
    pub(crate) fn issue(&self, grant: Grant) -> Issued {
        let mut state = self.state();
        let access_token = random_token(&mut state.id_rng, 28);
        // A lifetime beyond what the clock holds (`--token-lifetime 18446744073709551615`):
        // the token never expires.
        let expires = Instant::now().checked_add(self.config.token_lifetime);
        state.access_tokens.insert(access_token.clone(), (grant, expires));
        state.issued.push(access_token.clone());
        let refresh_token = match grant {
            Grant::Password => {
                let token = random_token(&mut state.id_rng, 32);
                state.refresh_tokens.insert(token.clone());
                state.issued.push(token.clone());
                Some(token)
            }
            Grant::ClientCredentials => None,
        };
        Issued {
            access_token,
            refresh_token,
            issued_at_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis()),
        }
    }

    /// Trade a refresh token (used up by this) for a new pair; `None` if it is unknown.
    pub(crate) fn refresh(&self, refresh_token: &str) -> Option<Issued> {
        if !self.state().refresh_tokens.remove(refresh_token) {
            return None;
        }
        Some(self.issue(Grant::Password))
    }

    /// The grant of a valid, unexpired access token.
    pub(crate) fn bearer(&self, access_token: &str) -> Result<Grant, BadToken> {
        match self.state().access_tokens.get(access_token) {
            None => Err(BadToken::Unknown),
            Some(&(_, Some(expires))) if Instant::now() >= expires => Err(BadToken::Expired),
            Some(&(grant, _)) => Ok(grant),
        }
    }

    /// Record an accepted invitation; returns how many were accepted before it.
    pub(crate) fn accept(&self, email: String, reference: String, body: Value) -> usize {
        let at = self.started.elapsed();
        let line = json!({
            "kind": "accepted",
            "email": email,
            "reference": reference,
            "skus": rules::skus(&body),
            "at_ms": millis(at),
        });
        let before = {
            let mut state = self.state();
            state.accepted.push(Accepted { email, reference, body, at });
            state.accepted.len() - 1
        };
        self.journal(&line);
        before
    }

    /// Create and record an invitation link: a new id and URL every time, whatever was asked
    /// for before.
    pub(crate) fn create_link(&self, email: String, reference: String, body: Value) -> CreatedLink {
        let at = self.started.elapsed();
        let link = {
            let mut state = self.state();
            let id: String = (0..24).map(|_| state.id_rng.digit(16)).collect();
            let token = random_token(&mut state.id_rng, 22);
            // Under `.invalid` (it never resolves), and with no piece of a demo secret in it
            // (`sandbo…`), so a client may print it without a scrubber taking it for one.
            let url = format!("https://links.tp-invite.invalid/evaluate-link/{token}");
            let link = CreatedLink { email, reference, id, url, body, at };
            state.links.push(link.clone());
            link
        };
        self.journal(&json!({
            "kind": "link",
            "email": link.email,
            "reference": link.reference,
            "id": link.id,
            "url": link.url,
            "at_ms": millis(at),
        }));
        link
    }

    /// Record a request once its answer is decided (`status` 0: dropped without an answer).
    pub(crate) fn log_request(&self, method: String, path: String, status: u16, at: Duration) {
        let line = json!({
            "kind": "request",
            "method": method,
            "path": path,
            "status": status,
            "at_ms": millis(at),
        });
        if self.echo {
            let answer = match status {
                0 => "dropped (accepted, no answer)".to_string(),
                status => status.to_string(),
            };
            crate::errln!("{:>10.3}s  {method} {path} -> {answer}", at.as_secs_f64());
        }
        self.state().requests.push(RequestLog { method, path, status, at });
        self.journal(&line);
    }

    pub(crate) fn accepted(&self) -> Vec<Accepted> {
        self.state().accepted.clone()
    }

    pub(crate) fn links(&self) -> Vec<CreatedLink> {
        self.state().links.clone()
    }

    /// Every request, in order of arrival (they are logged when answered).
    pub(crate) fn requests(&self) -> Vec<RequestLog> {
        let mut requests = self.state().requests.clone();
        requests.sort_by_key(|request| request.at);
        requests
    }

    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.state().issued.clone()
    }

    pub(crate) fn token_requests(&self) -> usize {
        self.state().token_requests
    }

    /// Append one JSON line to the record file, if there is one, and flush it, so another
    /// process reading the file sees every line as soon as the answer is on its way.
    fn journal(&self, line: &Value) {
        if let Some(journal) = &self.journal {
            let mut file = journal.lock().unwrap_or_else(PoisonError::into_inner);
            // A record that cannot be written must not take the server down; the in-memory
            // record is still complete.
            let _ = writeln!(file, "{line}").and_then(|()| file.flush());
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A random id shaped like a UUID (8-4-4-4-12 hex digits), as Trustpilot's correlation ids are.
fn uuid_like(rng: &mut fastrand::Rng) -> String {
    let high = rng.u64(..);
    let low = rng.u64(..);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

fn random_token(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| rng.alphanumeric()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_look_like_uuids() {
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100 {
            let id = uuid_like(&mut rng);
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn tokens_expire_and_refresh_tokens_are_used_once() {
        let config = SandboxConfig { token_lifetime: Duration::from_millis(500), ..SandboxConfig::default() };
        let shared = Shared::new(config, None, false);
        let issued = shared.issue(Grant::Password);
        assert_eq!(shared.bearer(&issued.access_token), Ok(Grant::Password));
        assert_eq!(shared.bearer("nope"), Err(BadToken::Unknown));
        let refresh = issued.refresh_token.unwrap();
        let renewed = shared.refresh(&refresh).unwrap();
        assert_ne!(renewed.access_token, issued.access_token);
        assert!(shared.refresh(&refresh).is_none(), "a refresh token is used up");
        std::thread::sleep(Duration::from_millis(550));
        assert_eq!(shared.bearer(&issued.access_token), Err(BadToken::Expired));

        let client = shared.issue(Grant::ClientCredentials);
        assert!(client.refresh_token.is_none());
        assert_eq!(shared.bearer(&client.access_token), Ok(Grant::ClientCredentials));
    }
}
