//! An emulator of the Trustpilot API (SPEC section 5) on loopback, with fault knobs and a
//! record of what it accepted: what the tests, the benchmarks and `--sandbox` runs talk to.
//!
//! Two listeners play Trustpilot's two hosts: [`Sandbox::api_url`] (tokens, business units)
//! and [`Sandbox::invitations_url`] (email invitations with service and product reviews,
//! invitation links, templates). Both answer only on 127.0.0.1.
//!
//! Differences a client may notice, each on purpose:
//! - Wrong username or password, an unknown refresh token: 400 `invalid_grant` (RFC 6749
//!   section 5.2); a wrong key or secret: 401 `invalid_client`.
//! - A refresh token can be used once; the answer carries a new one.
//! - More than 10 token requests in 10 seconds: 429 (tests that start many runs may lift it).
//! - The quota knob counts every request, token requests included, as Trustpilot does.
//! - A 202 comes without a body and with a small JSON body, alternately.
//! - An email invitation needs a service review section, a product review section, or both
//!   (400 without either); a SKU listed twice in one invitation is a 400.
//! - An invitation link is answered 200 `{"id", "url"}`, a new link for every request (the
//!   same `referenceId` again gets another one); its URL is under `.invalid`, which never
//!   resolves, so a rehearsal link cannot lead anyone anywhere.
//! - A dropped request is logged with status 0 (no answer was sent).
//! - The misbehaviours a client must survive are knobs too: 504 or 303 after creating an
//!   invitation, an absurd `Retry-After`, endpoints that echo credentials and tokens back.

mod conn;
mod faults;
mod routes;
mod rules;
mod standalone;
mod state;
#[cfg(test)]
mod tests;

use std::fs::OpenOptions;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use conn::{Connection, SandboxListener};
use routes::Host;
use state::Shared;

pub use standalone::run_standalone;
pub use state::Faults;

/// The demo application's API key (public: it only opens this sandbox).
pub const DEMO_API_KEY: &str = "sandbox-demo-api-key";
/// The demo application's API secret.
pub const DEMO_API_SECRET: &str = "sandbox-demo-api-secret";
/// The demo business user's login.
pub const DEMO_USERNAME: &str = "demo@example.com";
/// The demo business user's password.
pub const DEMO_PASSWORD: &str = "sandbox-demo-password";
/// The demo business user's id (for `x-business-user-id` with a client-credentials token).
pub const DEMO_BUSINESS_USER_ID: &str = "5f0c7a1b2c3d4e5f60718293";
/// The demo shop's business unit id.
pub const DEMO_BUSINESS_UNIT_ID: &str = "46d6a890000064000500e0c3";
/// The demo shop's domain, as `business-units/find` knows it.
pub const DEMO_DOMAIN: &str = "example.com";

/// If set when a sandbox starts: the path of a file it appends its record to, one JSON line
/// per request (`"kind": "request"`), per accepted invitation (`"kind": "accepted"`, with the
/// `skus` of its product review, empty without one) and per created link (`"kind": "link"`).
pub const RECORD_ENV: &str = "TP_INVITE_SANDBOX_RECORD";

/// The first piece of a secret that shows in `text`, if any: the first 6 characters of the
/// secret as it is, form-encoded, percent-encoded or JSON-escaped (the forms a server that
/// echoes a request gives it back in). For tests that check a client never shows one.
pub fn leaked(text: &str, secrets: &[String]) -> Option<String> {
    secrets.iter().find_map(|secret| {
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(secret).unwrap_or_default();
        let escaped = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_string();
        [secret.clone(), form, percent, escaped].into_iter().find_map(|spelled| {
            let head: String = spelled.chars().take(6).collect();
            text.contains(&head).then(|| format!("{head:?} (of {secret:?}, spelled {spelled:?})"))
        })
    })
}

/// The fault knobs and token lifetime of a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Added to every answer.
    pub latency: Duration,
    /// Each answer's latency varies uniformly by up to ± this much.
    pub jitter: Duration,
    /// Share of invitation and link requests (that would be accepted) answered 500, 502 or 503.
    /// Invitations and links share the dice: the faults follow the order of both together.
    pub fail_rate: f64,
    /// Share of invitation and link requests accepted, recorded, and then left without an
    /// answer: the connection is reset. `fail_rate + drop_rate` above 1 leaves drops the
    /// remainder.
    pub drop_rate: f64,
    /// At most this many requests (of any kind) in any window of this length; beyond: 429.
    pub quota: Option<(u32, Duration)>,
    /// Sent as `Retry-After` (whole seconds) with a quota 429; no header when `None`.
    pub retry_after: Option<Duration>,
    /// Sent as the `Retry-After` of a quota 429 as it is, instead of `retry_after`: for the
    /// absurd values a client must survive (`1e30`, `-5`, a date in the year 9999).
    pub retry_after_text: Option<String>,
    /// Share of invitation and link requests accepted, recorded, and then answered 504 Gateway
    /// Timeout, as a gateway answers when it stops waiting for a service that goes on to create
    /// it.
    pub timeout_rate: f64,
    /// Share of invitation and link requests accepted, recorded, and then answered 303 See
    /// Other, as a server that redirects after creating something does.
    pub redirect_rate: f64,
    /// Refuse every token request with 400 and echo it in the error: its `Authorization`
    /// header (the base64 of key:secret) and its form body (the password, URL-encoded), and
    /// the form's values as JSON. A client must not print any of it.
    pub echo_token_requests: bool,
    /// Refuse every invitation and link request that passes its checks with 400 and echo its
    /// body and its `Authorization` header (the access token) in the error's details.
    pub echo_invitation_requests: bool,
    /// Create (and record) each link as usual, then answer 200 with its `id` but no `url`: an
    /// answer a client cannot use, to a request that did create something. Not a command-line
    /// knob: for tests of how a client classifies such an answer.
    pub links_without_url: bool,
    /// How long an access token is valid (`expires_in` says it in whole seconds).
    pub token_lifetime: Duration,
    /// At most this many token requests in this window, beyond: 429 (`None`: no limit).
    pub token_limit: Option<(u32, Duration)>,
    /// Seed for latency jitter, faults, tokens and correlation ids.
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            fail_rate: 0.0,
            drop_rate: 0.0,
            quota: None,
            retry_after: None,
            retry_after_text: None,
            timeout_rate: 0.0,
            redirect_rate: 0.0,
            echo_token_requests: false,
            echo_invitation_requests: false,
            links_without_url: false,
            token_lifetime: Duration::from_secs(359_999),
            token_limit: Some((state::TOKEN_LIMIT, state::TOKEN_WINDOW)),
            seed: 1,
        }
    }
}

impl From<&crate::cli::FaultArgs> for SandboxConfig {
    fn from(args: &crate::cli::FaultArgs) -> SandboxConfig {
        SandboxConfig {
            latency: Duration::from_millis(args.latency),
            jitter: Duration::from_millis(args.jitter),
            fail_rate: args.fail_rate,
            drop_rate: args.drop_rate,
            quota: args.quota.map(|rate| (rate.count, rate.per)),
            retry_after: args.retry_after.map(Duration::from_secs),
            retry_after_text: args.retry_after_text.clone(),
            timeout_rate: args.timeout_rate,
            redirect_rate: args.redirect_rate,
            echo_token_requests: args.echo_token_requests,
            echo_invitation_requests: args.echo_invitation_requests,
            token_lifetime: Duration::from_secs(args.token_lifetime),
            seed: args.seed,
            ..SandboxConfig::default()
        }
    }
}

/// An invitation the sandbox accepted (dropped ones included: they were accepted too).
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub email: String,
    pub reference: String,
    /// The request body as sent.
    pub body: serde_json::Value,
    /// Since the sandbox started.
    pub at: Duration,
}

impl Accepted {
    /// The SKUs it asks product reviews for (its `products`' or its `productSkus`), in order;
    /// empty when it asks for a service review only.
    pub fn skus(&self) -> Vec<&str> {
        rules::skus(&self.body)
    }
}

/// An invitation link the sandbox created (dropped ones included: they were created too).
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedLink {
    pub email: String,
    /// The `referenceId` sent.
    pub reference: String,
    /// The link's id, as answered.
    pub id: String,
    /// The link, as answered: new for every request.
    pub url: String,
    /// The request body as sent.
    pub body: serde_json::Value,
    /// Since the sandbox started.
    pub at: Duration,
}

/// A request that reached the sandbox, whatever its path and answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The status answered; 0 when the connection was dropped without an answer.
    pub status: u16,
    /// When it arrived, since the sandbox started.
    pub at: Duration,
}

/// A running sandbox. Dropping it (or [`Sandbox::shutdown`]) stops it.
pub struct Sandbox {
    api: SocketAddr,
    invitations: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

impl Sandbox {
    /// Start on 127.0.0.1: the API host on `port`, the invitations host on `port + 1`
    /// (with `port` 0, both on any free port).
    pub async fn start(config: SandboxConfig, port: u16) -> io::Result<Sandbox> {
        Sandbox::start_with(config, port, false).await
    }

    /// `start`, with a line per request on stderr when `echo` (the standalone server).
    pub(crate) async fn start_with(config: SandboxConfig, port: u16, echo: bool) -> io::Result<Sandbox> {
        let record = std::env::var_os(RECORD_ENV).map(PathBuf::from);
        Sandbox::start_recording(config, port, echo, record.as_deref()).await
    }

    /// `start_with`, appending the record to `record` (the file [`RECORD_ENV`] names).
    pub(crate) async fn start_recording(
        config: SandboxConfig,
        port: u16,
        echo: bool,
        record: Option<&Path>,
    ) -> io::Result<Sandbox> {
        let journal = match record {
            Some(path) => Some(OpenOptions::new().create(true).append(true).open(path).map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("cannot open the sandbox record {} (from {RECORD_ENV}): {error}", path.display()),
                )
            })?),
            None => None,
        };
        let invitations_port = match port {
            0 => 0,
            port => port.checked_add(1).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "port 65535 leaves no port for the invitations host (port + 1): choose a lower one",
                )
            })?,
        };
        let api_listener = bind(port, "API").await?;
        let invitations_listener = bind(invitations_port, "invitations API").await?;
        let api = api_listener.local_addr()?;
        let invitations = invitations_listener.local_addr()?;

        let shared = Arc::new(Shared::new(config, journal, echo));
        let (stop, _) = watch::channel(false);
        let servers = [(api_listener, Host::Api), (invitations_listener, Host::Invitations)]
            .into_iter()
            .map(|(listener, host)| {
                let app = routes::router(Arc::clone(&shared), host).into_make_service_with_connect_info::<Connection>();
                let mut stopped = stop.subscribe();
                tokio::spawn(async move {
                    let server = axum::serve(SandboxListener::new(listener), app).with_graceful_shutdown(async move {
                        // A closed channel (the sandbox is gone) means stop as well.
                        let _ = stopped.wait_for(|stop| *stop).await;
                    });
                    // Serving a bound listener only ends on shutdown; nothing to report.
                    let _ = server.await;
                })
            })
            .collect();

        Ok(Sandbox { api, invitations, shared, stop, servers })
    }

    /// The base URL of the API host (tokens, business units): `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }

    /// The base URL of the invitations host (invitations, templates).
    pub fn invitations_url(&self) -> String {
        format!("http://{}", self.invitations)
    }

    /// Environment variables that point the tool at this sandbox with the demo credentials
    /// (password grant).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TRUSTPILOT_API_KEY", DEMO_API_KEY.to_string()),
            ("TRUSTPILOT_API_SECRET", DEMO_API_SECRET.to_string()),
            ("TRUSTPILOT_USERNAME", DEMO_USERNAME.to_string()),
            ("TRUSTPILOT_PASSWORD", DEMO_PASSWORD.to_string()),
            ("TRUSTPILOT_BUSINESS_UNIT_ID", DEMO_BUSINESS_UNIT_ID.to_string()),
            ("TRUSTPILOT_API_URL", self.api_url()),
            ("TRUSTPILOT_INVITATIONS_API_URL", self.invitations_url()),
        ]
    }

    /// Every accepted invitation, in the order accepted.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.shared.accepted()
    }

    /// Every invitation link created, in the order created.
    pub fn links(&self) -> Vec<CreatedLink> {
        self.shared.links()
    }

    /// Every request that reached the sandbox (any path, any answer), in order of arrival.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.shared.requests()
    }

    /// Latency and faults for the requests that arrive from now on (a test that needs a bad
    /// day, then a good one, at the same address).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Every access and refresh token issued so far, for tests that check none is ever shown.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.issued_tokens()
    }

    /// How many requests reached the token endpoints (access token and refresh).
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests()
    }

    /// Stop accepting connections, let requests in flight finish (for at most 5 seconds),
    /// and close every connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for server in std::mem::take(&mut self.servers) {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Connections finish what they are answering and close; the listeners close now.
        let _ = self.stop.send(true);
        for server in &self.servers {
            server.abort();
        }
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("api", &self.api)
            .field("invitations", &self.invitations)
            .finish_non_exhaustive()
    }
}

/// Bind on loopback only: the sandbox never listens on another address.
async fn bind(port: u16, what: &str) -> io::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await.map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot listen on 127.0.0.1:{port} for the sandbox's {what} host: {error}"),
        )
    })
}
