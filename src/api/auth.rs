//! The token manager: one access token for the whole run, renewed shortly before it expires or
//! once after a 401, by one task while the others wait for its result.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::Pace;
use super::config::{Credentials, Endpoints, Grant, join};
use super::error::ApiError;
use super::redact::Scrubber;
use super::transport::{self, Effect};

/// Renew when less than this is left (or a tenth of the lifetime, for short-lived tokens).
const RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The lifetime assumed when the token answer does not say (a 401 renews it anyway).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// After an early renewal failed while the old token still works, wait this long before the
/// next early attempt, so a struggling token endpoint is not asked on every request.
const EARLY_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// An access token handed to a caller, with the number of the attempt that issued it.
#[derive(Clone)]
pub(crate) struct Lease {
    pub access: SecretString,
    pub issued_by: u64,
    /// After this, the token is too close to its expiry to send a request with.
    use_by: Instant,
}

impl Lease {
    /// Still good to send a request with at `now`.
    pub(crate) fn good_at(&self, now: Instant) -> bool {
        now < self.use_by
    }
}

/// The least time a token must have left for a request to go out with it: the time a request
/// may take to reach the server, at most the renewal margin (a short-lived token's margin is
/// shorter).
const LEAVE_ROOM: Duration = Duration::from_secs(1);

struct Token {
    access: SecretString,
    issued_by: u64,
    expires_at: Instant,
    margin: Duration,
}

impl Token {
    fn fresh(&self, now: Instant) -> bool {
        now + self.margin < self.expires_at
    }

    fn usable(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    fn lease(&self) -> Lease {
        let room = self.margin.min(LEAVE_ROOM);
        let use_by = self.expires_at.checked_sub(room).unwrap_or(self.expires_at);
        Lease { access: self.access.clone(), issued_by: self.issued_by, use_by }
    }
}

#[derive(Default)]
struct State {
    /// Renewals finished so far (each a grant or refresh request, maybe both); a token is
    /// numbered by the renewal that got it.
    attempts: u64,
    token: Option<Token>,
    refresh: Option<SecretString>,
    /// The error of the latest attempt, when it failed: tasks that waited for that attempt
    /// get it too, instead of asking again.
    failure: Option<ApiError>,
    /// No early renewal before this instant.
    early_pause_until: Option<Instant>,
}

/// What a token answer holds.
struct Issued {
    access: SecretString,
    refresh: Option<SecretString>,
    lifetime: Duration,
}

pub(crate) struct TokenManager {
    http: reqwest::Client,
    token_url: Url,
    refresh_url: Url,
    credentials: Credentials,
    pace: Arc<dyn Pace>,
    scrubber: Arc<Scrubber>,
    /// A copy of `State::attempts`, readable without waiting for the lock: a task that sees it
    /// change while it waited knows a renewal finished meanwhile, and shares its outcome.
    attempts: AtomicU64,
    state: tokio::sync::Mutex<State>,
}

impl TokenManager {
    pub(crate) fn new(
        http: reqwest::Client,
        endpoints: &Endpoints,
        credentials: Credentials,
        pace: Arc<dyn Pace>,
        scrubber: Arc<Scrubber>,
    ) -> TokenManager {
        let oauth = ["v1", "oauth", "oauth-business-users-for-applications"];
        TokenManager {
            http,
            token_url: join(&endpoints.api, &[oauth[0], oauth[1], oauth[2], "accesstoken"]),
            refresh_url: join(&endpoints.api, &[oauth[0], oauth[1], oauth[2], "refresh"]),
            credentials,
            pace,
            scrubber,
            attempts: AtomicU64::new(0),
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    pub(crate) fn grant(&self) -> &Grant {
        &self.credentials.grant
    }

    /// A token good for a request now: the current one, or a renewed one when it is about to
    /// expire. Tasks that arrive while a renewal is under way wait for it and share its result.
    pub(crate) async fn current(&self) -> Result<Lease, ApiError> {
        let seen = self.attempts.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if let Some(token) = &state.token {
            if token.fresh(now) {
                return Ok(token.lease());
            }
            if token.usable(now) {
                let old = token.lease();
                if state.early_pause_until.is_some_and(|until| now < until) {
                    return Ok(old);
                }
                return match self.renew(&mut state).await {
                    Ok(lease) => Ok(lease),
                    // The old token still works: use it, and try again a little later.
                    Err(_) if state.token.as_ref().is_some_and(|t| t.usable(Instant::now())) => {
                        state.early_pause_until = Some(Instant::now() + EARLY_RETRY_PAUSE);
                        Ok(old)
                    }
                    Err(err) => Err(err),
                };
            }
        }
        if state.attempts != seen
            && let Some(failure) = &state.failure
        {
            return Err(failure.clone());
        }
        self.renew(&mut state).await
    }

    /// The token issued by attempt `rejected` was answered 401. Renew it, unless another task
    /// already did since that token was issued: then share that task's result. So however many
    /// tasks see the same 401, one token request is made.
    pub(crate) async fn renew_after_rejection(&self, rejected: u64) -> Result<Lease, ApiError> {
        let mut state = self.state.lock().await;
        // An early renewal that failed left the old token in place: its failure says nothing of
        // the renewal the 401 now needs.
        let rejected_is_current = state.token.as_ref().is_some_and(|t| t.issued_by == rejected);
        if state.attempts != rejected && !rejected_is_current {
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
            let newer = state.token.as_ref().filter(|t| t.issued_by != rejected && t.usable(Instant::now()));
            if let Some(token) = newer {
                return Ok(token.lease());
            }
        }
        if rejected_is_current {
            state.token = None;
        }
        self.renew(&mut state).await
    }

    /// As if an early renewal had just failed with `error`: the current token stays.
    #[cfg(test)]
    pub(crate) async fn fail_renewal_for_tests(&self, error: ApiError) {
        let mut state = self.state.lock().await;
        state.attempts += 1;
        self.attempts.store(state.attempts, Ordering::Release);
        state.failure = Some(error);
    }

    #[cfg(test)]
    pub(crate) async fn adopt_for_tests(&self, access: &str) {
        let mut state = self.state.lock().await;
        state.attempts += 1;
        self.attempts.store(state.attempts, Ordering::Release);
        state.token = Some(Token {
            access: SecretString::from(access),
            issued_by: state.attempts,
            expires_at: Instant::now() + DEFAULT_LIFETIME,
            margin: RENEW_MARGIN,
        });
    }

    /// Make the current token expire `left` from now, as if time had passed.
    #[cfg(test)]
    pub(crate) async fn age_for_tests(&self, left: Duration) {
        if let Some(token) = self.state.lock().await.token.as_mut() {
            token.expires_at = Instant::now() + left;
        }
    }

    /// One renewal: refresh when there is a refresh token (a new grant if the refresh token is
    /// refused), else a new grant. Called with the state locked, so it runs alone.
    async fn renew(&self, state: &mut State) -> Result<Lease, ApiError> {
        let result = match state.refresh.clone() {
            Some(refresh) => match self.refresh(&refresh).await {
                Err(ApiError::Auth { .. }) => {
                    state.refresh = None;
                    self.new_grant().await
                }
                other => other,
            },
            None => self.new_grant().await,
        };
        // Counted once finished, so tasks that queued behind this renewal see it as done.
        state.attempts += 1;
        self.attempts.store(state.attempts, Ordering::Release);
        match result {
            Ok(issued) => {
                self.scrubber.add_token(&issued.access);
                if let Some(refresh) = issued.refresh {
                    self.scrubber.add_token(&refresh);
                    state.refresh = Some(refresh);
                }
                let margin = RENEW_MARGIN.min(issued.lifetime / 10);
                let token = Token {
                    access: issued.access,
                    issued_by: state.attempts,
                    expires_at: Instant::now() + issued.lifetime,
                    margin,
                };
                let lease = token.lease();
                state.token = Some(token);
                state.failure = None;
                state.early_pause_until = None;
                Ok(lease)
            }
            Err(err) => {
                state.failure = Some(err.clone());
                Err(err)
            }
        }
    }

    async fn new_grant(&self) -> Result<Issued, ApiError> {
        let form: Vec<(&str, &str)> = match &self.credentials.grant {
            Grant::Password { username, password } => {
                vec![("grant_type", "password"), ("username", username), ("password", password.expose_secret())]
            }
            Grant::ClientCredentials { .. } => vec![("grant_type", "client_credentials")],
        };
        let mut issued = self.token_request(&self.token_url, &form).await?;
        if matches!(self.credentials.grant, Grant::ClientCredentials { .. }) {
            // Such a token cannot be refreshed: a new one is asked for instead.
            issued.refresh = None;
        }
        Ok(issued)
    }

    async fn refresh(&self, refresh: &SecretString) -> Result<Issued, ApiError> {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.expose_secret())];
        self.token_request(&self.refresh_url, &form).await
    }

    async fn token_request(&self, url: &Url, form: &[(&str, &str)]) -> Result<Issued, ApiError> {
        let request = self
            .http
            .post(url.clone())
            .basic_auth(self.credentials.api_key.expose_secret(), Some(self.credentials.api_secret.expose_secret()))
            .form(form);
        self.pace.ready().await;
        let answer = transport::send(request, &self.scrubber).await?;
        let status = answer.status.as_u16();
        if answer.status.is_success() {
            let text = answer.text?;
            return parse_token(&text);
        }
        Err(match status {
            // The token endpoint refuses bad credentials with 400 (OAuth) or 401.
            400 | 401 => ApiError::Auth { status, body: answer.error_body(&self.scrubber) },
            _ => answer.into_error(|| format!("the token endpoint {url}"), Effect::Harmless, &self.scrubber),
        })
    }
}

/// Read a token answer leniently: every value may be a string or a number, unknown fields are
/// ignored. Never quotes the answer, since it holds the token.
fn parse_token(text: &str) -> Result<Issued, ApiError> {
    let protocol = |what: &str| ApiError::Protocol { reason: format!("the token answer {what}") };
    let value: Value = serde_json::from_str(text).map_err(|_| protocol("is not JSON"))?;
    let access = match value.get("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => SecretString::from(s.trim().to_string()),
        _ => return Err(protocol("has no access_token")),
    };
    let refresh = match value.get("refresh_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(SecretString::from(s.trim().to_string())),
        _ => None,
    };
    let seconds = match value.get("expires_in") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let lifetime = seconds
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(1e9)))
        .unwrap_or(DEFAULT_LIFETIME);
    Ok(Issued { access, refresh, lifetime })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_read_leniently() {
        type Expected<'a> = Option<(&'a str, Option<&'a str>, u64)>;
        let table: &[(&str, Expected)] = &[
            (
                r#"{"access_token":"a1","expires_in":"359999","refresh_token":"r1","issued_at":"1"}"#,
                Some(("a1", Some("r1"), 359_999)),
            ),
            (r#"{"access_token":"a2","expires_in":3600}"#, Some(("a2", None, 3600))),
            (r#"{"access_token":"a3","expires_in":"soon","refresh_token":""}"#, Some(("a3", None, 3600))),
            (r#"{"access_token":"a4"}"#, Some(("a4", None, 3600))),
            (r#"{"access_token":"a5","expires_in":0}"#, Some(("a5", None, 3600))),
            (r#"{"access_token":""}"#, None),
            (r#"{"token":"x"}"#, None),
            ("access_token=x", None),
        ];
        for (text, expected) in table {
            let got = parse_token(text);
            match (got, expected) {
                (Ok(issued), Some((access, refresh, secs))) => {
                    assert_eq!(issued.access.expose_secret(), *access);
                    assert_eq!(issued.refresh.as_ref().map(|r| r.expose_secret()), *refresh);
                    assert_eq!(issued.lifetime, Duration::from_secs(*secs));
                }
                (Err(err), None) => {
                    assert!(matches!(err, ApiError::Protocol { .. }), "{err:?}");
                    assert!(!err.to_string().contains("x\""), "{err}");
                }
                (got, expected) => panic!("{text}: got {:?}, expected {expected:?}", got.err()),
            }
        }
    }

    #[test]
    fn renewal_margin_is_five_minutes_or_a_tenth() {
        let now = Instant::now();
        let long = Token {
            access: SecretString::from("t"),
            issued_by: 1,
            expires_at: now + Duration::from_secs(359_999),
            margin: RENEW_MARGIN.min(Duration::from_secs(359_999) / 10),
        };
        assert!(long.fresh(now + Duration::from_secs(359_999 - 301)));
        assert!(!long.fresh(now + Duration::from_secs(359_999 - 299)));
        assert!(long.usable(now + Duration::from_secs(359_999 - 299)));
        let short = Token {
            margin: RENEW_MARGIN.min(Duration::from_secs(10) / 10),
            expires_at: now + Duration::from_secs(10),
            ..long
        };
        assert!(short.fresh(now + Duration::from_millis(8_900)));
        assert!(!short.fresh(now + Duration::from_millis(9_100)));
    }
}
