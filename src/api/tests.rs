//! Tests of the client over the network: against a closed port, and against the sandbox.

use std::sync::Arc;

use secrecy::SecretString;

use super::error::MAX_RETRY_AFTER;
use super::*;
use crate::invitation::{Field, Invitation};

const KEY: &str = "test-key-0123456789";
const SECRET: &str = "test-secret-0123456789";
const PASSWORD: &str = "test-password-0123456789";

fn password_credentials(key: &str, secret: &str, password: &str) -> Credentials {
    Credentials {
        api_key: SecretString::from(key),
        api_secret: SecretString::from(secret),
        grant: Grant::Password { username: "owner@example.com".into(), password: SecretString::from(password) },
    }
}

fn invitation(n: usize) -> Invitation {
    Invitation::default()
        .with(Field::Email, &format!("customer{n}@example.com"))
        .with(Field::Name, &format!("Customer {n}"))
        .with(Field::Reference, &format!("order-{n}"))
}

/// A loopback port nobody listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_connection_is_not_sent() {
    let port = closed_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let endpoints = Endpoints::new(&base, &base).unwrap();
    let client = Client::new(endpoints, password_credentials(KEY, SECRET, PASSWORD), Arc::new(NoPace)).unwrap();

    let err = client.authenticate().await.unwrap_err();
    assert!(matches!(err, ApiError::NotSent { .. }), "{err:?}");
    assert_eq!(err.error_code().as_deref(), Some("transport.not_sent"));
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.starts_with("Could not reach Trustpilot, so nothing was sent: "), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");

    let err = client.create_invitation("bu-1", &invitation(1)).await.unwrap_err();
    assert!(matches!(err, ApiError::NotSent { .. }), "{err:?}");

    let err = client.find_business_unit("example.com").await.unwrap_err();
    assert!(matches!(err, ApiError::NotSent { .. }), "{err:?}");
}

#[tokio::test]
async fn resolve_business_unit_prefers_the_id_and_needs_one_of_them() {
    let port = closed_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::new(
        Endpoints::new(&base, &base).unwrap(),
        password_credentials(KEY, SECRET, PASSWORD),
        Arc::new(NoPace),
    )
    .unwrap();
    let bu = resolve_business_unit(&client, Some(" bu-1 "), Some("example.com")).await.unwrap();
    assert_eq!(bu.id, "bu-1");
    let err = resolve_business_unit(&client, Some(""), None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "No business unit given. Pass --business-unit-id <ID> or --domain <DOMAIN>, or set \
         TRUSTPILOT_BUSINESS_UNIT_ID."
    );
    assert!(err.is_fatal());
    // Only a domain: it is looked up (here: nothing listens).
    let err = resolve_business_unit(&client, None, Some("example.com")).await.unwrap_err();
    assert!(matches!(err, ApiError::NotSent { .. }), "{err:?}");
}

// ----- against the sandbox -----

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::sandbox::{
    DEMO_API_KEY, DEMO_API_SECRET, DEMO_BUSINESS_UNIT_ID, DEMO_BUSINESS_USER_ID, DEMO_DOMAIN, DEMO_PASSWORD,
    DEMO_USERNAME, Sandbox, SandboxConfig,
};

const TOKEN_PATH: &str = "/v1/oauth/oauth-business-users-for-applications/accesstoken";
const REFRESH_PATH: &str = "/v1/oauth/oauth-business-users-for-applications/refresh";

/// Counts the requests that waited on it, and holds calls number `first..first + n` until all
/// `n` of them are waiting, so they leave together.
struct CountingPace {
    calls: AtomicUsize,
    first: usize,
    together: tokio::sync::Barrier,
    n: usize,
}

impl CountingPace {
    fn new(first: usize, n: usize) -> CountingPace {
        CountingPace { calls: AtomicUsize::new(0), first, together: tokio::sync::Barrier::new(n.max(1)), n }
    }
}

impl Pace for CountingPace {
    fn ready(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if (self.first..self.first + self.n).contains(&call) {
                self.together.wait().await;
            }
        })
    }
}

fn demo_password() -> Credentials {
    Credentials {
        api_key: SecretString::from(DEMO_API_KEY),
        api_secret: SecretString::from(DEMO_API_SECRET),
        grant: Grant::Password { username: DEMO_USERNAME.into(), password: SecretString::from(DEMO_PASSWORD) },
    }
}

fn demo_client_credentials() -> Credentials {
    Credentials {
        api_key: SecretString::from(DEMO_API_KEY),
        api_secret: SecretString::from(DEMO_API_SECRET),
        grant: Grant::ClientCredentials { business_user_id: DEMO_BUSINESS_USER_ID.into() },
    }
}

async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config, 0).await.unwrap()
}

fn client_for(sandbox: &Sandbox, credentials: Credentials) -> Client {
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.invitations_url()).unwrap();
    Client::new(endpoints, credentials, Arc::new(NoPace)).unwrap()
}

/// How many requests to `path` (a suffix) were answered `status`.
fn answered(sandbox: &Sandbox, path: &str, status: u16) -> usize {
    sandbox.requests().iter().filter(|r| r.path.ends_with(path) && r.status == status).count()
}

#[tokio::test]
async fn password_grant_finds_lists_and_invites() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let client = client_for(&sandbox, demo_password());
    client.authenticate().await.unwrap();

    let bu = client.find_business_unit(DEMO_DOMAIN).await.unwrap();
    assert_eq!(bu.id, DEMO_BUSINESS_UNIT_ID);
    assert_eq!(bu.display_name.as_deref(), Some("Example Shop"));
    assert_eq!(bu.identifying_name.as_deref(), Some(DEMO_DOMAIN));
    let resolved = resolve_business_unit(&client, None, Some(DEMO_DOMAIN)).await.unwrap();
    assert_eq!(resolved, bu);

    let templates = client.templates(&bu.id).await.unwrap();
    assert!(templates.len() >= 2, "{templates:?}");
    assert_eq!(templates.iter().filter(|t| t.is_default).count(), 1);
    assert!(templates.iter().all(|t| !t.id.is_empty() && !t.name.is_empty()));

    // The sandbox answers 202 without and with a body, alternately.
    for n in 0..2 {
        let accepted = client.create_invitation(&bu.id, &invitation(n)).await.unwrap();
        assert_eq!(accepted.status, 202);
        assert!(accepted.correlation_id.is_some(), "{accepted:?}");
    }
    let sent = sandbox.accepted();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].email, "customer0@example.com");
    assert_eq!(sent[1].reference, "order-1");
    assert_eq!(sandbox.token_requests(), 1, "one token for the whole session");
}

#[tokio::test]
async fn client_credentials_grant_sends_the_business_user_and_asks_anew_on_expiry() {
    let sandbox = sandbox(SandboxConfig { token_lifetime: Duration::from_secs(1), ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_client_credentials());
    client.authenticate().await.unwrap();
    client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap();
    client.templates(DEMO_BUSINESS_UNIT_ID).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(2)).await.unwrap();

    assert_eq!(sandbox.accepted().len(), 2);
    // Such a token cannot be refreshed: the second one is a new grant, before expiry bit.
    assert_eq!(answered(&sandbox, TOKEN_PATH, 200), 2);
    assert_eq!(answered(&sandbox, REFRESH_PATH, 200), 0);
    assert_eq!(answered(&sandbox, "/email-invitations", 401), 0);
}

#[tokio::test]
async fn a_short_lived_token_is_refreshed_before_it_expires() {
    let sandbox = sandbox(SandboxConfig { token_lifetime: Duration::from_secs(2), ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_millis(4_500) {
        client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(n)).await.unwrap();
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sandbox.accepted().len(), n);
    assert_eq!(answered(&sandbox, TOKEN_PATH, 200), 1, "one grant");
    let refreshes = answered(&sandbox, REFRESH_PATH, 200);
    // Renewed when a tenth of the lifetime is left: at about 1.8 s and 3.6 s.
    assert!((2..=3).contains(&refreshes), "{refreshes} refreshes in 4.5 s of 2 s tokens");
    assert_eq!(answered(&sandbox, "/email-invitations", 401), 0, "renewed in time");
    assert_eq!(sandbox.token_requests(), 1 + refreshes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_401_under_concurrency_renews_the_token_once() {
    // A lifetime under a second is announced as `"expires_in": "0"`, which the client reads as
    // "not said": it keeps the token until the server answers 401, as a revoked token would.
    let sandbox =
        sandbox(SandboxConfig { token_lifetime: Duration::from_millis(700), ..SandboxConfig::default() }).await;
    // After the first token request, the 8 invitation requests leave together, with that token.
    let pace = Arc::new(CountingPace::new(1, 8));
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.invitations_url()).unwrap();
    let client = Client::new(endpoints, demo_password(), pace.clone()).unwrap();
    client.authenticate().await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;

    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move { client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(n)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(sandbox.accepted().len(), 8);
    // Each task took the (revoked) token before its wait, so most meet a 401; each renews at most
    // once, and the tasks that come after the renewal share it.
    let refused = answered(&sandbox, "/email-invitations", 401);
    assert!((1..=8).contains(&refused), "{refused} refused");
    assert_eq!(sandbox.token_requests(), 2, "the first token and exactly one renewal");
    assert_eq!(answered(&sandbox, REFRESH_PATH, 200), 1, "renewed by its refresh token");
    // Every request waited on the pace: 2 token requests, the refused ones, 8 accepted.
    assert_eq!(pace.calls.load(Ordering::SeqCst), sandbox.requests().len());
    assert_eq!(sandbox.requests().len(), 2 + refused + 8);
}

/// Notes, each time a request waits on it, how many requests the sandbox has answered so far:
/// with requests made one after another, each request should leave after its own wait, so the
/// notes count up by one.
struct NotingPace {
    sandbox: Arc<Sandbox>,
    notes: std::sync::Mutex<Vec<usize>>,
    /// The wait with this number (0-based) lasts this long.
    slow: Option<(usize, Duration)>,
}

impl NotingPace {
    fn new(sandbox: &Arc<Sandbox>, slow: Option<(usize, Duration)>) -> Arc<NotingPace> {
        Arc::new(NotingPace { sandbox: sandbox.clone(), notes: Default::default(), slow })
    }

    fn notes(&self) -> Vec<usize> {
        self.notes.lock().unwrap().clone()
    }
}

impl Pace for NotingPace {
    fn ready(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let mut notes = self.notes.lock().unwrap();
        let call = notes.len();
        notes.push(self.sandbox.requests().len());
        let wait = self.slow.filter(|(at, _)| *at == call).map(|(_, wait)| wait);
        Box::pin(async move {
            if let Some(wait) = wait {
                tokio::time::sleep(wait).await;
            }
        })
    }
}

fn paths(sandbox: &Sandbox) -> Vec<String> {
    sandbox.requests().iter().map(|r| r.path.rsplit('/').next().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn a_token_renewal_takes_its_own_slot_before_the_request_takes_the_next() {
    let sandbox = Arc::new(sandbox(SandboxConfig::default()).await);
    let pace = NotingPace::new(&sandbox, None);
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.invitations_url()).unwrap();
    let client = Client::new(endpoints, demo_password(), pace.clone()).unwrap();
    client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap();
    // Close to its expiry, as a short-lived token gets between two requests.
    client.age_token_for_tests(Duration::from_millis(100)).await;
    client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(2)).await.unwrap();
    client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(3)).await.unwrap();

    let invitations = "email-invitations";
    assert_eq!(paths(&sandbox), ["accesstoken", invitations, "refresh", invitations, invitations]);
    // Each request left right after its own wait, the refresh too.
    assert_eq!(pace.notes(), [0, 1, 2, 3, 4]);
    assert_eq!(answered(&sandbox, "/email-invitations", 401), 0);
}

#[tokio::test]
async fn a_token_that_expires_while_the_request_waits_is_renewed_and_the_request_waits_again() {
    // One-second tokens (renewed when 0.1 s is left), and a wait for the invitation's slot
    // that outlasts its token.
    let config = SandboxConfig { token_lifetime: Duration::from_secs(1), ..SandboxConfig::default() };
    let sandbox = Arc::new(sandbox(config).await);
    let pace = NotingPace::new(&sandbox, Some((1, Duration::from_millis(950))));
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.invitations_url()).unwrap();
    let client = Client::new(endpoints, demo_password(), pace.clone()).unwrap();
    client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap();

    assert_eq!(paths(&sandbox), ["accesstoken", "refresh", "email-invitations"]);
    // The token's wait, the invitation's (which outlasted the token and is given up), the
    // refresh's, the invitation's again.
    assert_eq!(pace.notes(), [0, 1, 1, 2]);
    assert_eq!(answered(&sandbox, "/email-invitations", 401), 0);
}

#[tokio::test]
async fn a_second_401_is_an_auth_error() {
    // Tokens from one sandbox mean nothing to another: every bearer call is refused.
    let issuer = sandbox(SandboxConfig::default()).await;
    let other = sandbox(SandboxConfig::default()).await;
    let endpoints = Endpoints::new(&issuer.api_url(), &other.invitations_url()).unwrap();
    let client = Client::new(endpoints, demo_password(), Arc::new(NoPace)).unwrap();

    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert!(err.is_fatal());
    assert_eq!(err.error_code().as_deref(), Some("oauth.v2.InvalidAccessToken"));
    let correlation = err.correlation_id().expect("from the x-correlation-id header");
    assert_eq!(
        err.to_string(),
        format!(
            "Trustpilot did not accept the credentials (HTTP 401 Unauthorized: \"Invalid access \
             token\" (errorCode oauth.v2.InvalidAccessToken, correlationId {correlation})). A \
             freshly issued access token was refused too: check that the business user \
             (TRUSTPILOT_USERNAME or TRUSTPILOT_BUSINESS_USER_ID) still has access, and \
             TRUSTPILOT_API_KEY / TRUSTPILOT_API_SECRET."
        )
    );
    assert_eq!(answered(&other, "/email-invitations", 401), 2, "sent twice, no more");
    assert_eq!(issuer.token_requests(), 2, "one renewal");
    assert!(other.accepted().is_empty());

    let err = client.templates(DEMO_BUSINESS_UNIT_ID).await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert_eq!(issuer.token_requests(), 3, "one more renewal for the next call, not a loop");
}

#[tokio::test]
async fn bad_credentials_stop_at_the_token_with_a_clear_message() {
    let sandbox = sandbox(SandboxConfig::default()).await;

    let client = client_for(&sandbox, password_credentials(DEMO_API_KEY, SECRET, DEMO_PASSWORD));
    let err = client.authenticate().await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert_eq!(err.error_code().as_deref(), Some("invalid_client"));
    assert!(err.correlation_id().is_some());
    let text = err.to_string();
    assert!(
        text.starts_with(
            "Trustpilot did not accept the credentials (HTTP 401 Unauthorized: \"The API key and \
         secret do not match an application.\" (errorCode invalid_client, correlationId "
        ),
        "{text}"
    );
    assert!(
        text.ends_with("Check TRUSTPILOT_API_KEY and TRUSTPILOT_API_SECRET (the application's key and secret)."),
        "{text}"
    );

    let client = client_for(&sandbox, password_credentials(DEMO_API_KEY, DEMO_API_SECRET, PASSWORD));
    let err = client.authenticate().await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 400, .. }), "{err:?}");
    assert_eq!(err.error_code().as_deref(), Some("invalid_grant"));
    assert!(
        err.to_string().ends_with(
            "Check TRUSTPILOT_USERNAME and TRUSTPILOT_PASSWORD (or TRUSTPILOT_BUSINESS_USER_ID when \
         no username is set)."
        ),
        "{err}"
    );
    // Sending with refused credentials asks for a token once and sends nothing.
    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { .. }), "{err:?}");
    assert_eq!(sandbox.token_requests(), 3);
    assert_eq!(answered(&sandbox, "/email-invitations", 401), 0);
    assert!(sandbox.accepted().is_empty());

    // A wrong key also fails the business unit lookup (which uses the key alone).
    let client = client_for(&sandbox, password_credentials(KEY, DEMO_API_SECRET, DEMO_PASSWORD));
    let err = client.find_business_unit(DEMO_DOMAIN).await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert!(err.to_string().contains("Check TRUSTPILOT_API_KEY"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_share_one_refused_token_request() {
    // Latency keeps the first token request out long enough for all 8 tasks to queue behind it.
    let sandbox = sandbox(SandboxConfig { latency: Duration::from_millis(300), ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, password_credentials(DEMO_API_KEY, SECRET, DEMO_PASSWORD));
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move { client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(n)).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, ApiError::Auth { .. }), "{err:?}");
    }
    assert_eq!(sandbox.token_requests(), 1, "the waiting tasks got the first one's answer");
}

#[tokio::test]
async fn throttling_with_and_without_retry_after() {
    for retry_after in [Some(Duration::from_secs(7)), None] {
        let sandbox = sandbox(SandboxConfig {
            quota: Some((2, Duration::from_secs(60))),
            retry_after,
            ..SandboxConfig::default()
        })
        .await;
        let client = client_for(&sandbox, demo_password());
        client.authenticate().await.unwrap();
        client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap();
        let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(2)).await.unwrap_err();
        match &err {
            ApiError::Throttled { retry_after: got } => assert_eq!(*got, retry_after),
            other => panic!("{other:?}"),
        }
        assert_eq!(err.http_status(), Some(429));
        assert!(err.is_retryable() && !err.is_fatal());
        assert_eq!(sandbox.accepted().len(), 1);
        let text = err.to_string();
        match retry_after {
            Some(_) => assert!(text.contains("it asked to wait 7 seconds"), "{text}"),
            None => assert!(!text.contains("wait"), "{text}"),
        }
    }
}

#[tokio::test]
async fn a_throttled_token_request_is_throttled() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let mut outcomes = Vec::new();
    // The sandbox allows 10 token requests in 10 seconds; each client asks once.
    for _ in 0..11 {
        let client = client_for(&sandbox, demo_password());
        outcomes.push(client.authenticate().await);
    }
    assert!(outcomes[..10].iter().all(Result::is_ok));
    assert!(matches!(outcomes[10], Err(ApiError::Throttled { .. })), "{:?}", outcomes[10]);
}

#[tokio::test]
async fn server_errors_are_retryable_and_keep_the_details() {
    let sandbox = sandbox(SandboxConfig { fail_rate: 1.0, ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    let mut statuses = std::collections::BTreeSet::new();
    for n in 0..12 {
        let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(n)).await.unwrap_err();
        let ApiError::Server { status, body } = &err else {
            panic!("{err:?}");
        };
        statuses.insert(*status);
        assert!(err.is_retryable() && !err.is_fatal());
        match status {
            500 => {
                assert_eq!(err.error_code().as_deref(), Some("http.500"));
                assert!(body.correlation_id.is_some());
                assert_eq!(body.details.as_deref(), Some("An unexpected error occurred. Try again in a few minutes."));
            }
            502 => {
                assert!(body.raw.as_deref().unwrap().contains("502 Bad Gateway"), "{body:?}");
                // From the x-correlation-id header, since the HTML body has none.
                assert!(body.correlation_id.is_some(), "{body:?}");
            }
            503 => assert_eq!(err.error_code().as_deref(), Some("messaging.adaptors.http.flow.ServiceUnavailable")),
            other => panic!("{other}"),
        }
        assert!(err.to_string().starts_with(&format!("Trustpilot had a server problem (HTTP {status} ")));
    }
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert!(sandbox.accepted().is_empty());

    // A link meets the same classification, and nothing is created.
    for n in 0..6 {
        let err = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(n)).await.unwrap_err();
        assert!(matches!(err, ApiError::Server { .. }), "{err:?}");
        assert!(err.is_retryable() && !err.is_fatal() && err.correlation_id().is_some(), "{err:?}");
    }
    assert!(sandbox.links().is_empty());
}

#[tokio::test]
async fn a_connection_dropped_after_the_request_is_unknown() {
    let sandbox = sandbox(SandboxConfig { drop_rate: 1.0, ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    client.authenticate().await.unwrap();
    for n in 0..3 {
        let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(n)).await.unwrap_err();
        assert!(matches!(err, ApiError::Unknown { .. }), "{err:?}");
        assert_eq!(err.error_code().as_deref(), Some("transport.unknown"));
        assert!(!err.is_retryable() && !err.is_fatal());
        assert!(err.to_string().starts_with("The connection failed after the request was sent ("), "{err}");
    }
    // Each was accepted once: the client did not send any of them again by itself.
    assert_eq!(sandbox.accepted().len(), 3);
    assert_eq!(answered(&sandbox, "/email-invitations", 0), 3);
}

#[tokio::test]
async fn refused_rows_and_wrong_ids() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let client = client_for(&sandbox, demo_password());

    let bad = invitation(1).with(Field::Email, "not-an-email");
    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &bad).await.unwrap_err();
    let ApiError::Rejected { status: 400, body } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(body.details.as_deref(), Some("'Consumer Email' is not in the correct format."));
    assert_eq!(err.error_code().as_deref(), Some("1001"));
    let correlation = err.correlation_id().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "Trustpilot rejected the request with HTTP 400 Bad Request: \"Invalid request: \
             'Consumer Email' is not in the correct format.\" (errorCode 1001, correlationId \
             {correlation}). Correct the value it names; sending it again unchanged would fail \
             the same way."
        )
    );
    assert!(!err.is_fatal());

    let err = client.create_invitation("no-such-unit", &invitation(2)).await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert!(err.is_fatal());
    assert!(
        err.to_string().starts_with(&format!(
            "Trustpilot answered HTTP 404 Not Found for business unit 'no-such-unit' on {}/: \
         \"Not Found: Business unit 'no-such-unit' was not found.\"",
            sandbox.invitations_url()
        )),
        "{err}"
    );

    // The business user id where the business unit id belongs.
    let err = client.create_invitation(DEMO_BUSINESS_USER_ID, &invitation(3)).await.unwrap_err();
    assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
    assert_eq!(err.error_code().as_deref(), Some("1014"));
    assert!(err.to_string().contains("were swapped"), "{err}");

    let err = client.find_business_unit("unknown.example").await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("for a business unit for the domain 'unknown.example'"), "{err}");

    // Invitations sent to the API host instead of the invitations host.
    let wrong = Endpoints::new(&sandbox.api_url(), &sandbox.api_url()).unwrap();
    let client = Client::new(wrong, demo_password(), Arc::new(NoPace)).unwrap();
    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(4)).await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert!(sandbox.accepted().is_empty());
}

#[tokio::test]
async fn secrets_never_show_in_errors_or_debug() {
    const WRONG_SECRET: &str = "wrong-secret-5e7a9c";
    const WRONG_PASSWORD: &str = "wrong-password-1b3d5f";
    const WRONG_KEY: &str = "wrong-key-2c4e6a";
    let sandbox = sandbox(SandboxConfig::default()).await;
    let faulty =
        Sandbox::start(SandboxConfig { drop_rate: 0.5, fail_rate: 0.5, ..SandboxConfig::default() }, 0).await.unwrap();
    let mut seen: Vec<String> = Vec::new();
    fn note<T>(seen: &mut Vec<String>, result: Result<T, ApiError>) {
        if let Err(err) = result {
            seen.push(format!("{err} {err:?} {:?} {:?}", err.error_code(), err.body()));
        }
    }

    let good = client_for(&sandbox, demo_password());
    let token = good.current_token_for_tests().await.unwrap();
    seen.push(format!("{good:?} {:?} {:?}", demo_password(), demo_client_credentials()));
    note(&mut seen, good.create_invitation(DEMO_BUSINESS_UNIT_ID, &Invitation::default()).await);
    note(&mut seen, good.create_invitation("nope", &invitation(1)).await);
    note(&mut seen, good.create_invitation(DEMO_BUSINESS_USER_ID, &invitation(1)).await);
    note(&mut seen, good.find_business_unit("nope.example").await);

    for credentials in [
        password_credentials(DEMO_API_KEY, WRONG_SECRET, DEMO_PASSWORD),
        password_credentials(DEMO_API_KEY, DEMO_API_SECRET, WRONG_PASSWORD),
        password_credentials(WRONG_KEY, DEMO_API_SECRET, DEMO_PASSWORD),
    ] {
        seen.push(format!("{credentials:?}"));
        let client = client_for(&sandbox, credentials);
        seen.push(format!("{client:?}"));
        note(&mut seen, client.authenticate().await);
        note(&mut seen, client.find_business_unit(DEMO_DOMAIN).await);
        note(&mut seen, client.templates(DEMO_BUSINESS_UNIT_ID).await);
        note(&mut seen, client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await);
    }

    let faulty_client = client_for(&faulty, demo_password());
    for n in 0..6 {
        note(&mut seen, faulty_client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(n)).await);
    }
    // Tokens from elsewhere: a refused bearer token.
    let crossed = Client::new(
        Endpoints::new(&sandbox.api_url(), &faulty.invitations_url()).unwrap(),
        demo_client_credentials(),
        Arc::new(NoPace),
    )
    .unwrap();
    note(&mut seen, crossed.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(9)).await);
    // Nothing listening.
    let port = closed_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let nowhere = Client::new(Endpoints::new(&base, &base).unwrap(), demo_password(), Arc::new(NoPace)).unwrap();
    note(&mut seen, nowhere.authenticate().await);
    let url_with_password = format!("https://u:{DEMO_PASSWORD}@x.example");
    let err = Endpoints::new(&url_with_password, &base).unwrap_err();
    seen.push(format!("{err} {err:?}"));

    assert!(seen.len() > 20, "{}", seen.len());
    let all = seen.join("\n");
    for secret in
        [DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, WRONG_SECRET, WRONG_PASSWORD, WRONG_KEY, token.as_str()]
    {
        assert!(!all.contains(secret), "{secret} shows in:\n{all}");
    }
}

#[tokio::test]
async fn a_timeout_is_unknown_but_a_timed_out_token_request_sends_nothing() {
    let sandbox = sandbox(SandboxConfig { latency: Duration::from_millis(1_500), ..SandboxConfig::default() }).await;
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.invitations_url()).unwrap();
    let client =
        Client::with_timeout(endpoints, demo_password(), Arc::new(NoPace), Duration::from_millis(500)).unwrap();

    let err = client.authenticate().await.unwrap_err();
    assert!(matches!(err, ApiError::Unknown { .. }), "{err:?}");
    // The invitation waits for a token that never comes: it certainly did not leave.
    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap_err();
    let ApiError::NotSent { reason } = &err else { panic!("{err:?}") };
    assert!(reason.starts_with("no access token could be obtained: operation timed out (calling http://"), "{reason}");

    // With a token in hand, a slow invitation answer leaves the outcome unknown.
    let endpoints = Endpoints::new(&sandbox.api_url(), &sandbox.invitations_url()).unwrap();
    let patient = Client::new(endpoints.clone(), demo_password(), Arc::new(NoPace)).unwrap();
    patient.authenticate().await.unwrap();
    let token = patient.current_token_for_tests().await.unwrap();
    let hasty = Client::with_timeout(endpoints, demo_password(), Arc::new(NoPace), Duration::from_millis(500)).unwrap();
    hasty.adopt_token_for_tests(&token).await;
    let err = hasty.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(2)).await.unwrap_err();
    let ApiError::Unknown { reason, status: None, .. } = &err else { panic!("{err:?}") };
    assert!(reason.starts_with("operation timed out (calling http://"), "{reason}");
    assert!(!err.to_string().contains(&token));
}

// ----- a misbehaving server -----

#[tokio::test]
async fn an_invitation_answered_504_after_it_was_created_is_unknown() {
    let sandbox = sandbox(SandboxConfig { timeout_rate: 1.0, ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap_err();
    assert!(matches!(err, ApiError::Unknown { status: Some(504), .. }), "{err:?}");
    assert!(!err.is_retryable() && !err.is_fatal());
    assert_eq!(err.error_code().as_deref(), Some("messaging.adaptors.http.flow.GatewayTimeout"));
    assert!(err.correlation_id().is_some(), "{err:?}");
    assert_eq!(sandbox.accepted().len(), 1);
    assert_eq!(answered(&sandbox, "/email-invitations", 504), 1, "sent once");
}

#[tokio::test]
async fn a_redirected_invitation_is_unknown_and_stops_the_run() {
    let sandbox = sandbox(SandboxConfig { redirect_rate: 1.0, ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap_err();
    assert!(matches!(err, ApiError::Unknown { status: Some(303), .. }), "{err:?}");
    assert!(!err.is_retryable() && err.is_fatal());
    assert!(err.to_string().contains("a redirect to /v1/private/business-units/"), "{err}");
    assert_eq!(sandbox.accepted().len(), 1);
    // Not followed: the token and the invitation, nothing else.
    assert_eq!(sandbox.requests().len(), 2);
}

#[tokio::test]
async fn an_absurd_retry_after_is_read_without_panic_and_clamped() {
    let table: &[(&str, Option<Duration>)] = &[
        ("1e30", Some(MAX_RETRY_AFTER)),
        ("99999999999999999999", Some(MAX_RETRY_AFTER)),
        ("18446744073709551615", Some(MAX_RETRY_AFTER)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", Some(MAX_RETRY_AFTER)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", Some(Duration::ZERO)),
        ("-5", None),
        ("in a while", None),
    ];
    for (text, expected) in table {
        let config = SandboxConfig {
            quota: Some((1, Duration::from_secs(60))),
            retry_after_text: Some(text.to_string()),
            ..SandboxConfig::default()
        };
        let sandbox = sandbox(config).await;
        let client = client_for(&sandbox, demo_password());
        client.authenticate().await.unwrap();
        let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap_err();
        match &err {
            ApiError::Throttled { retry_after } => assert_eq!(retry_after, expected, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
        let _ = err.to_string();
    }
}

// ----- invitation links -----

fn link_body(n: usize) -> serde_json::Value {
    serde_json::json!({
        "referenceId": format!("order-{n}"),
        "email": format!("customer{n}@example.com"),
        "name": format!("Customer {n}"),
    })
}

#[tokio::test]
async fn a_link_is_created_and_its_url_returned_a_new_one_each_time() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let client = client_for(&sandbox, demo_password());
    let first = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(1)).await.unwrap();
    // Paced by the caller: the request waits on the given pace (the token is already there).
    let pace = CountingPace::new(0, 0);
    let again = client.create_invitation_link_paced(DEMO_BUSINESS_UNIT_ID, &link_body(1), &pace).await.unwrap();
    assert_eq!(pace.calls.load(Ordering::SeqCst), 1);

    let links = sandbox.links();
    assert_eq!(links.len(), 2);
    assert_eq!(
        (first.status, first.url.as_str(), first.id.as_deref()),
        (200, links[0].url.as_str(), Some(&*links[0].id))
    );
    assert!(first.correlation_id.is_some(), "{first:?}");
    assert_eq!(again.url, links[1].url);
    assert_ne!(first.url, again.url, "each request creates another link");
    assert_eq!((links[0].email.as_str(), links[0].reference.as_str()), ("customer1@example.com", "order-1"));
    assert_eq!(links[0].body, link_body(1));
    assert!(sandbox.accepted().is_empty(), "no email invitation");
    assert_eq!(sandbox.token_requests(), 1);

    // A client-credentials token sends the business user along, as for invitations.
    let client = client_for(&sandbox, demo_client_credentials());
    client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(2)).await.unwrap();
    assert_eq!(sandbox.links().len(), 3);
}

#[tokio::test]
async fn a_401_after_a_failed_early_renewal_renews_instead_of_repeating_that_failure() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let client = client_for(&sandbox, demo_password());
    // The current token is one the server no longer takes, and an early renewal of it just
    // failed (the token endpoint answered 503), so the old token is still the current one.
    client.adopt_token_for_tests("revoked-token-0123456789").await;
    client.fail_renewal_for_tests(ApiError::Server { status: 503, body: ErrorBody::from_text("busy") }).await;
    client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap();
    assert_eq!(answered(&sandbox, "/email-invitations", 401), 1);
    assert_eq!(sandbox.accepted().len(), 1);
    assert_eq!(sandbox.token_requests(), 1, "renewed after the 401");
}

#[tokio::test]
async fn a_link_request_refused_with_401_renews_the_token_once() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let client = client_for(&sandbox, demo_password());
    // A token the server no longer takes, as a revoked one.
    client.adopt_token_for_tests("revoked-token-0123456789").await;
    let link = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(1)).await.unwrap();
    assert_eq!(link.url, sandbox.links()[0].url);
    assert_eq!(answered(&sandbox, "/invitation-links", 401), 1);
    assert_eq!(answered(&sandbox, "/invitation-links", 200), 1);
    assert_eq!(sandbox.token_requests(), 1, "one new grant");

    // Refused again after the renewal: an auth error, sent twice and no more.
    let issuer = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let endpoints = Endpoints::new(&issuer.api_url(), &sandbox.invitations_url()).unwrap();
    let crossed = Client::new(endpoints, demo_password(), Arc::new(NoPace)).unwrap();
    let err = crossed.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(2)).await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert!(err.is_fatal());
    assert_eq!(answered(&sandbox, "/invitation-links", 401), 3);
    assert_eq!(issuer.token_requests(), 2);
    assert_eq!(sandbox.links().len(), 1);
}

#[tokio::test]
async fn a_link_whose_answer_is_lost_or_unclear_is_unknown() {
    // The connection dropped after the request: created, not known.
    let sandbox = sandbox(SandboxConfig { drop_rate: 1.0, ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    for n in 0..3 {
        let err = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(n)).await.unwrap_err();
        assert!(matches!(err, ApiError::Unknown { status: None, .. }), "{err:?}");
        assert_eq!(err.error_code().as_deref(), Some("transport.unknown"));
        assert!(!err.is_retryable() && !err.is_fatal());
    }
    assert_eq!(sandbox.links().len(), 3, "each created once: the client did not send any again");
    assert_eq!(answered(&sandbox, "/invitation-links", 0), 3);

    // A 2xx without a URL: created, but where it leads is not known.
    let config = SandboxConfig { links_without_url: true, ..SandboxConfig::default() };
    let sandbox = Sandbox::start(config, 0).await.unwrap();
    let client = client_for(&sandbox, demo_password());
    let err = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(1)).await.unwrap_err();
    let ApiError::Unknown { reason, status: Some(200), body } = &err else { panic!("{err:?}") };
    assert_eq!(reason, "the answer holds no usable link URL, though the link may have been created");
    assert_eq!(body.raw.as_deref(), Some(&*format!("{{\"id\":\"{}\"}}", sandbox.links()[0].id)));
    assert!(err.correlation_id().is_some(), "{err:?}");
    assert!(!err.is_retryable() && !err.is_fatal());
    assert_eq!(err.error_code().as_deref(), Some("http.200"));
    assert!(err.to_string().starts_with("Trustpilot answered HTTP 200 OK: \"{\"id\":"), "{err}");
    assert_eq!(sandbox.links().len(), 1);

    // 504 and 303 after the link was created.
    for (config, status) in [
        (SandboxConfig { timeout_rate: 1.0, ..SandboxConfig::default() }, 504),
        (SandboxConfig { redirect_rate: 1.0, ..SandboxConfig::default() }, 303),
    ] {
        let sandbox = Sandbox::start(config, 0).await.unwrap();
        let client = client_for(&sandbox, demo_password());
        let err = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(1)).await.unwrap_err();
        assert!(matches!(err, ApiError::Unknown { status: Some(s), .. } if s == status), "{err:?}");
        assert!(!err.is_retryable());
        assert_eq!(err.is_fatal(), status == 303, "a redirect stops the run");
        assert_eq!(sandbox.links().len(), 1);
        assert_eq!(sandbox.requests().len(), 2, "the token and the link, nothing else");
    }
}

#[tokio::test]
async fn refused_links_and_wrong_ids() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let client = client_for(&sandbox, demo_password());
    let mut bad = link_body(1);
    bad["email"] = "not-an-email".into();
    let err = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &bad).await.unwrap_err();
    let ApiError::Rejected { status: 400, body } = &err else { panic!("{err:?}") };
    assert_eq!(body.details.as_deref(), Some("'Email' is not in the correct format."));
    assert_eq!(err.error_code().as_deref(), Some("1001"));
    assert!(!err.is_retryable() && !err.is_fatal());
    // The email invitation's field names are not the link's.
    let named_as_invitation =
        serde_json::json!({"referenceNumber": "r", "consumerEmail": "a@example.com", "consumerName": "A"});
    let err = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &named_as_invitation).await.unwrap_err();
    assert!(matches!(err, ApiError::Rejected { status: 400, .. }), "{err:?}");

    let err = client.create_invitation_link("no-such-unit", &link_body(2)).await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }) && err.is_fatal(), "{err:?}");
    let err = client.create_invitation_link(DEMO_BUSINESS_USER_ID, &link_body(3)).await.unwrap_err();
    assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
    assert_eq!(err.error_code().as_deref(), Some("1014"));
    assert!(sandbox.links().is_empty());

    // Nothing listening: certainly not sent.
    let port = closed_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let nowhere = Client::new(Endpoints::new(&base, &base).unwrap(), demo_password(), Arc::new(NoPace)).unwrap();
    let err = nowhere.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(4)).await.unwrap_err();
    assert!(matches!(err, ApiError::NotSent { .. }), "{err:?}");
}

#[tokio::test]
async fn a_link_answer_that_echoes_the_token_shows_no_part_of_it() {
    let sandbox = sandbox(SandboxConfig { echo_invitation_requests: true, ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    let err = client.create_invitation_link(DEMO_BUSINESS_UNIT_ID, &link_body(1)).await.unwrap_err();
    assert!(matches!(err, ApiError::Rejected { status: 400, .. }), "{err:?}");
    let shown = format!("{err}\n{err:?}");
    assert!(shown.contains("Bearer [redacted]"), "{shown}");
    assert_no_secret(&shown, &sandbox.issued_tokens());
}

/// No form of any of the secrets, nor its first 6 characters, shows in `text`.
#[track_caller]
fn assert_no_secret(text: &str, secrets: &[String]) {
    if let Some(piece) = crate::sandbox::leaked(text, secrets) {
        panic!("{piece} shows in:\n{text}");
    }
}

#[tokio::test]
async fn a_token_endpoint_that_echoes_the_request_shows_no_secret() {
    use base64::Engine;
    let sandbox = sandbox(SandboxConfig { echo_token_requests: true, ..SandboxConfig::default() }).await;
    let (key, secret, password) = ("key-\"q/+ é1", "sec&=ret%20\\x", "pa ss+wörd\"&=%");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
    let secrets: Vec<String> = [key, secret, password, &basic].iter().map(|s| s.to_string()).collect();
    let client = client_for(&sandbox, password_credentials(key, secret, password));
    let err = client.authenticate().await.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 400, .. }), "{err:?}");
    let shown = format!("{err}\n{err:?}\n{:?}", err.body());
    // The echo did reach the message, with every secret in it removed.
    assert!(shown.contains("Authorization: Basic [redacted]; body: grant_type=password"), "{shown}");
    assert_no_secret(&shown, &secrets);
    let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation(1)).await.unwrap_err();
    assert_no_secret(&format!("{err}\n{err:?}"), &secrets);
}

#[tokio::test]
async fn an_answer_that_echoes_the_token_shows_no_part_of_it_wherever_the_clip_falls() {
    let sandbox = sandbox(SandboxConfig { echo_invitation_requests: true, ..SandboxConfig::default() }).await;
    let client = client_for(&sandbox, demo_password());
    let mut shown = String::new();
    // Names of every length from 100 to 160 characters move the token across the 300th
    // character of the details, where they are clipped.
    for n in 100..=160 {
        let invitation = invitation(n).with(Field::Name, &"N".repeat(n));
        let err = client.create_invitation(DEMO_BUSINESS_UNIT_ID, &invitation).await.unwrap_err();
        assert!(matches!(err, ApiError::Rejected { status: 400, .. }), "{err:?}");
        shown.push_str(&format!("{err}\n{err:?}\n"));
    }
    assert!(shown.contains("Bearer [redacted]"), "{shown}");
    assert!(shown.contains("Bearer [re…"), "the clip never fell inside the redacted token:\n{shown}");
    assert!(shown.contains("Bearer …") || shown.contains("Bearer […"), "nor just before it:\n{shown}");
    assert_no_secret(&shown, &sandbox.issued_tokens());
}
