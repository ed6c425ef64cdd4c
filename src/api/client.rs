//! The Trustpilot client: business units, templates, invitations and invitation links, over one
//! HTTP client and one shared access token.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;

use super::Pace;
use super::auth::TokenManager;
use super::config::{Credentials, Endpoints, Grant, join};
use super::error::{ApiError, ErrorBody};
use super::redact::Scrubber;
use super::transport::{self, Answer, Effect};
use crate::invitation::Invitation;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections are dropped before a server or proxy would likely close them, so a request
/// rarely meets a connection closing under it (which would make its outcome unknown).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

const BUSINESS_USER_HEADER: &str = "x-business-user-id";

/// A business unit: the company profile invitations are sent for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessUnit {
    pub id: String,
    pub display_name: Option<String>,
    pub identifying_name: Option<String>,
}

/// An invitation e-mail template of a business unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub locale: Option<String>,
    pub is_default: bool,
    pub kind: Option<String>,
}

/// Trustpilot accepted an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub status: u16,
    pub correlation_id: Option<String>,
}

/// An invitation link Trustpilot created: `url` is what the customer is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationLink {
    /// The link's id, when the answer gave one.
    pub id: Option<String>,
    /// An absolute `https://` (or `http://`) URL, as Trustpilot answered it.
    pub url: String,
    pub status: u16,
    pub correlation_id: Option<String>,
}

/// The Trustpilot client. Cheap to clone: every clone shares one HTTP client and one token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    pace: Arc<dyn Pace>,
    tokens: TokenManager,
    scrubber: Arc<Scrubber>,
    api_key: HeaderValue,
    business_user_id: Option<HeaderValue>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.inner.endpoints.api.as_str())
            .field("invitations", &self.inner.endpoints.invitations.as_str())
            .field("grant", self.inner.tokens.grant())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `endpoints`. Sends nothing yet: see [`Client::authenticate`].
    pub fn new(endpoints: Endpoints, credentials: Credentials, pace: Arc<dyn Pace>) -> Result<Client, ApiError> {
        Client::with_timeout(endpoints, credentials, pace, REQUEST_TIMEOUT)
    }

    /// [`Client::new`] with another limit on how long one request may take in all.
    pub(crate) fn with_timeout(
        endpoints: Endpoints,
        credentials: Credentials,
        pace: Arc<dyn Pace>,
        request_timeout: Duration,
    ) -> Result<Client, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .user_agent(concat!("tp-invite/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(request_timeout)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            // A redirect would turn a POST into something else, or carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::NotSent { reason: format!("the HTTPS client could not be set up: {e}") })?;

        let header = |value: &str, var: &str| {
            HeaderValue::from_str(value).map_err(|_| ApiError::NotSent {
                reason: format!("{var} holds characters that cannot be sent in an HTTP header"),
            })
        };
        let mut api_key = header(credentials.api_key.expose_secret(), super::config::API_KEY_VAR)?;
        api_key.set_sensitive(true);
        let business_user_id = match &credentials.grant {
            Grant::ClientCredentials { business_user_id } => {
                Some(header(business_user_id, super::config::BUSINESS_USER_ID_VAR)?)
            }
            Grant::Password { .. } => None,
        };

        let scrubber = Arc::new(Scrubber::new(credentials.secret_values()));
        let tokens = TokenManager::new(http.clone(), &endpoints, credentials, pace.clone(), scrubber.clone());
        Ok(Client { inner: Arc::new(Inner { http, endpoints, pace, tokens, scrubber, api_key, business_user_id }) })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// Gets the first token now, so a bad credential stops a run before anything is sent.
    pub async fn authenticate(&self) -> Result<(), ApiError> {
        self.inner.tokens.current().await.map(|_| ())
    }

    /// The access token now in use, for tests that check it is never printed.
    #[cfg(test)]
    pub(crate) async fn current_token_for_tests(&self) -> Option<String> {
        let lease = self.inner.tokens.current().await.ok()?;
        Some(lease.access.expose_secret().to_string())
    }

    /// Use `access` as the current token (valid for an hour), as if it had been issued.
    #[cfg(test)]
    pub(crate) async fn adopt_token_for_tests(&self, access: &str) {
        self.inner.tokens.adopt_for_tests(access).await;
    }

    /// As if an early renewal had just failed with `error`, the current token kept.
    #[cfg(test)]
    pub(crate) async fn fail_renewal_for_tests(&self, error: ApiError) {
        self.inner.tokens.fail_renewal_for_tests(error).await;
    }

    /// Make the current token expire `left` from now, as if time had passed.
    #[cfg(test)]
    pub(crate) async fn age_token_for_tests(&self, left: Duration) {
        self.inner.tokens.age_for_tests(left).await;
    }

    /// The business unit of a domain (`example.com`), found with the API key alone.
    pub async fn find_business_unit(&self, domain: &str) -> Result<BusinessUnit, ApiError> {
        let inner = &self.inner;
        let mut url = join(&inner.endpoints.api, &["v1", "business-units", "find"]);
        url.query_pairs_mut().append_pair("name", domain.trim());
        let request = inner.http.get(url).header("apikey", inner.api_key.clone());
        inner.pace.ready().await;
        let answer = transport::send(request, &inner.scrubber).await?;
        let value = self.json_or_error(answer, || format!("a business unit for the domain '{domain}'"))?;
        parse_business_unit(&value, &inner.scrubber)
            .ok_or_else(|| ApiError::Protocol { reason: "the business unit answer has no id".to_string() })
    }

    /// The invitation templates of a business unit.
    pub async fn templates(&self, business_unit_id: &str) -> Result<Vec<Template>, ApiError> {
        let inner = &self.inner;
        let url =
            join(&inner.endpoints.invitations, &["v1", "private", "business-units", business_unit_id, "templates"]);
        let answer = self.private(&*inner.pace, || inner.http.get(url.clone())).await?;
        let value = self.json_or_error(answer, || {
            format!("business unit '{business_unit_id}' on {}", inner.endpoints.invitations)
        })?;
        parse_templates(&value, &inner.scrubber)
            .ok_or_else(|| ApiError::Protocol { reason: "the templates answer has no list of templates".to_string() })
    }

    /// One `POST .../email-invitations`. Waits on the pace right before the request leaves
    /// (and again before the one retry after a 401). Any 2xx is accepted.
    pub async fn create_invitation(
        &self,
        business_unit_id: &str,
        invitation: &Invitation,
    ) -> Result<Accepted, ApiError> {
        self.create_invitation_paced(business_unit_id, invitation, &*self.inner.pace).await
    }

    /// [`Client::create_invitation`], with the invitation request itself (and its one retry
    /// after a 401) waiting on `pace` instead of the client's pace; token requests still wait
    /// on the client's. Lets the caller see whether its request has left.
    pub async fn create_invitation_paced(
        &self,
        business_unit_id: &str,
        invitation: &Invitation,
        pace: &dyn Pace,
    ) -> Result<Accepted, ApiError> {
        let answer = self.create(business_unit_id, "email-invitations", &invitation.body(), pace).await?;
        // The body does not matter (a dropped body after a 2xx is still a success).
        let correlation_id = answer.correlation_id(&self.inner.scrubber);
        Ok(Accepted { status: answer.status.as_u16(), correlation_id })
    }

    /// One `POST .../invitation-links` with `body` (`referenceId`, `email`, `name`, and
    /// optionally `locale`, `tags`, `redirectUri`, `locationId`), waiting on the client's pace.
    /// See [`Client::create_invitation_link_paced`].
    pub async fn create_invitation_link(
        &self,
        business_unit_id: &str,
        body: &impl Serialize,
    ) -> Result<InvitationLink, ApiError> {
        self.create_invitation_link_paced(business_unit_id, body, &*self.inner.pace).await
    }

    /// [`Client::create_invitation_link`], waiting on `pace` as
    /// [`Client::create_invitation_paced`] does, with the same token handling (one renewal
    /// after a 401) and the same classification of failures. Every request creates a new link,
    /// so whatever may have come after one was created is `Unknown`, never `NotSent`: a dropped
    /// connection, a 504 or a redirect, and also a 2xx without a usable `url` (or whose body
    /// could not be read): the link may exist, but where it leads is not known.
    pub async fn create_invitation_link_paced(
        &self,
        business_unit_id: &str,
        body: &impl Serialize,
        pace: &dyn Pace,
    ) -> Result<InvitationLink, ApiError> {
        let answer = self.create(business_unit_id, "invitation-links", body, pace).await?;
        link_of(&answer, &self.inner.scrubber)
    }

    /// A `POST` of `body` to `.../business-units/{id}/{endpoint}` on the invitations host, which
    /// creates something: the answer when it is a 2xx, else the error, where an answer that may
    /// come after the thing was created is `Unknown`.
    async fn create(
        &self,
        business_unit_id: &str,
        endpoint: &str,
        body: &(impl Serialize + ?Sized),
        pace: &dyn Pace,
    ) -> Result<Answer, ApiError> {
        let inner = &self.inner;
        let url = join(&inner.endpoints.invitations, &["v1", "private", "business-units", business_unit_id, endpoint]);
        let answer = self.private(pace, || inner.http.post(url.clone()).json(body)).await?;
        if answer.status.is_success() {
            return Ok(answer);
        }
        Err(answer.into_error(
            || format!("business unit '{business_unit_id}' on {}", inner.endpoints.invitations),
            Effect::Creates,
            &inner.scrubber,
        ))
    }

    /// A request with the bearer token; after a 401, the token is renewed once (or the renewal
    /// another task made is used) and the request is sent once more. Returns any answer but a
    /// second 401.
    async fn private(&self, pace: &dyn Pace, build: impl Fn() -> RequestBuilder) -> Result<Answer, ApiError> {
        let tokens = &self.inner.tokens;
        let (answer, used) = self.send_with(pace, build()).await?;
        if answer.status != StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        tokens.renew_after_rejection(used).await.map_err(not_sent)?;
        let (answer, _) = self.send_with(pace, build()).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(ApiError::Auth { status: 401, body: answer.error_body(&self.inner.scrubber) });
        }
        Ok(answer)
    }

    /// Takes the token, then waits for the pace, so that a renewal (a request of its own,
    /// paced like any other) takes its own slot and this request the next one: taken the other
    /// way round, the renewal's request would use this request's slot and push it into the
    /// next, where it would leave together with the request of that slot. The wait may be long
    /// (a 429 pause): if the token is no longer good to use when the slot comes, it is renewed
    /// and the request waits for a new slot, once. Returns which renewal issued the token used.
    async fn send_with(&self, pace: &dyn Pace, request: RequestBuilder) -> Result<(Answer, u64), ApiError> {
        let inner = &self.inner;
        let mut lease = inner.tokens.current().await.map_err(not_sent)?;
        pace.ready().await;
        if !lease.good_at(tokio::time::Instant::now()) {
            lease = inner.tokens.current().await.map_err(not_sent)?;
            pace.ready().await;
        }
        let mut request = request.bearer_auth(lease.access.expose_secret());
        if let Some(id) = &inner.business_user_id {
            request = request.header(BUSINESS_USER_HEADER, id.clone());
        }
        Ok((transport::send(request, &inner.scrubber).await?, lease.issued_by))
    }

    /// The JSON of a 2xx answer, or the answer as an error.
    fn json_or_error(&self, answer: Answer, what: impl FnOnce() -> String) -> Result<Value, ApiError> {
        if !answer.status.is_success() {
            return Err(answer.into_error(what, Effect::Harmless, &self.inner.scrubber));
        }
        let text = answer.text?;
        serde_json::from_str(&text).map_err(|_| {
            // Scrubbed before it is cut short, so the cut cannot leave part of a secret.
            let shown: String = self.inner.scrubber.clean(text.trim()).chars().take(80).collect();
            ApiError::Protocol { reason: format!("expected JSON, got \"{shown}\"") }
        })
    }
}

/// A failure while getting the token for a request means that request was never sent, whatever
/// happened to the token request itself.
fn not_sent(err: ApiError) -> ApiError {
    match err {
        ApiError::Unknown { reason, .. } => {
            ApiError::NotSent { reason: format!("no access token could be obtained: {reason}") }
        }
        other => other,
    }
}

/// The link of a 2xx answer to `invitation-links`: `{"id", "url"}`, the URL absolute http(s)
/// with no space or control character. Anything else is `Unknown`: the link may have been
/// created. The URL is kept as it came, not scrubbed: it is what the customer is given, and a
/// 6-character piece of a password (`trustp`) may well stand in every real link.
fn link_of(answer: &Answer, scrubber: &Scrubber) -> Result<InvitationLink, ApiError> {
    let status = answer.status.as_u16();
    let unknown = |reason: String, body: ErrorBody| ApiError::Unknown { reason, status: Some(status), body };
    let text = match &answer.text {
        Ok(text) => text,
        Err(ApiError::Unknown { reason, .. } | ApiError::NotSent { reason }) => {
            let reason = format!("its body could not be read ({reason}), so the link it may have created is not known");
            return Err(unknown(reason, answer.error_body(scrubber)));
        }
        Err(other) => return Err(unknown(other.to_string(), answer.error_body(scrubber))),
    };
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let url = value.get("url").and_then(Value::as_str).map(str::trim).filter(|url| is_link(url));
    let Some(url) = url else {
        let reason = "the answer holds no usable link URL, though the link may have been created".to_string();
        return Err(unknown(reason, answer.error_body(scrubber)));
    };
    Ok(InvitationLink {
        id: text_of(value.get("id"), scrubber),
        url: url.to_string(),
        status,
        correlation_id: answer.correlation_id(scrubber),
    })
}

fn is_link(text: &str) -> bool {
    let http = url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty()));
    http && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A string or number of an answer, without secrets and with its control characters escaped:
/// names and ids from the server are printed.
fn text_of(value: Option<&Value>, scrubber: &Scrubber) -> Option<String> {
    let text = match value? {
        Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(scrubber.clean(&text))
}

fn parse_business_unit(value: &Value, scrubber: &Scrubber) -> Option<BusinessUnit> {
    Some(BusinessUnit {
        id: text_of(value.get("id"), scrubber)?,
        display_name: text_of(value.get("displayName"), scrubber),
        identifying_name: text_of(value.get("name").and_then(|n| n.get("identifying")), scrubber),
    })
}

/// `{"templates":[...]}` (or a bare list); entries without an id are skipped.
fn parse_templates(value: &Value, scrubber: &Scrubber) -> Option<Vec<Template>> {
    let list = match value {
        Value::Array(list) => list,
        other => other.get("templates")?.as_array()?,
    };
    Some(
        list.iter()
            .filter_map(|t| {
                Some(Template {
                    id: text_of(t.get("id"), scrubber)?,
                    name: text_of(t.get("name"), scrubber).unwrap_or_default(),
                    locale: text_of(t.get("locale"), scrubber),
                    is_default: match t.get("isDefaultTemplate") {
                        Some(Value::Bool(b)) => *b,
                        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                        _ => false,
                    },
                    kind: text_of(t.get("type"), scrubber),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn business_unit_answer() {
        let none = Scrubber::default();
        let bu = parse_business_unit(
            &json!({
                "id": "46d6a890000064000500e0c3",
                "displayName": "Example Shop",
                "name": {"identifying": "example.com", "referring": ["example.com"]},
                "links": []
            }),
            &none,
        )
        .unwrap();
        assert_eq!(
            bu,
            BusinessUnit {
                id: "46d6a890000064000500e0c3".into(),
                display_name: Some("Example Shop".into()),
                identifying_name: Some("example.com".into()),
            }
        );
        assert_eq!(parse_business_unit(&json!({"displayName": "x"}), &none), None);
    }

    #[test]
    fn a_link_answer_needs_a_usable_url_or_its_outcome_is_unknown() {
        // A password that begins like every real link: the link is still taken as it came.
        let scrubber = Scrubber::new(vec!["trustpilot-2024".into()]);
        let answer = |status: u16, text: Result<&str, ApiError>| Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            text: text.map(str::to_string),
        };
        let url = "https://www.trustpilot.com/evaluate-link/abc?x=1";
        let link = link_of(&answer(200, Ok(&json!({"id": "l1", "url": url}).to_string())), &scrubber).unwrap();
        assert_eq!(link, InvitationLink { id: Some("l1".into()), url: url.into(), status: 200, correlation_id: None });
        let link = link_of(&answer(201, Ok(&json!({"url": format!(" {url} ")}).to_string())), &scrubber).unwrap();
        assert_eq!((link.id, link.url.as_str(), link.status), (None, url, 201));

        let unusable = [
            json!({"id": "l1"}).to_string(),
            json!({"id": "l1", "url": ""}).to_string(),
            json!({"url": 42}).to_string(),
            json!({"url": "/evaluate-link/abc"}).to_string(),
            json!({"url": "www.trustpilot.com/evaluate-link/abc"}).to_string(),
            json!({"url": "ftp://www.trustpilot.com/abc"}).to_string(),
            json!({"url": "javascript:alert(1)"}).to_string(),
            json!({"url": "https://www.trustpilot.com/a b"}).to_string(),
            json!({"url": "https://www.trustpilot.com/a\u{1b}[31m"}).to_string(),
            json!([url]).to_string(),
            url.to_string(),
            String::new(),
        ];
        for text in &unusable {
            let err = link_of(&answer(200, Ok(text)), &scrubber).unwrap_err();
            let ApiError::Unknown { reason, status: Some(200), .. } = &err else { panic!("{text}: {err:?}") };
            assert_eq!(reason, "the answer holds no usable link URL, though the link may have been created");
            assert!(!err.is_retryable() && !err.is_fatal(), "{text}");
        }

        let lost = ApiError::Unknown { reason: "connection reset".into(), status: None, body: ErrorBody::default() };
        let err = link_of(&answer(200, Err(lost)), &scrubber).unwrap_err();
        let ApiError::Unknown { reason, status: Some(200), .. } = &err else { panic!("{err:?}") };
        assert_eq!(
            reason,
            "its body could not be read (connection reset), so the link it may have created is not known"
        );
    }

    #[test]
    fn templates_answer() {
        let none = Scrubber::default();
        let list = parse_templates(
            &json!({"templates": [
                {"id": "t1", "name": "Default", "isDefaultTemplate": true, "locale": "en-US", "type": "service"},
                {"id": "t2", "name": "Danish", "isDefaultTemplate": "false", "locale": "da-DK"},
                {"name": "no id"}
            ]}),
            &none,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0],
            Template {
                id: "t1".into(),
                name: "Default".into(),
                locale: Some("en-US".into()),
                is_default: true,
                kind: Some("service".into()),
            }
        );
        assert!(!list[1].is_default);
        assert_eq!(parse_templates(&json!([]), &none), Some(vec![]));
        assert_eq!(parse_templates(&json!({"other": 1}), &none), None);
    }
}
