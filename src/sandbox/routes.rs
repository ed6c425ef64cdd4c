//! The two hosts' endpoints, the gate every request passes (quota, latency, record), and the
//! answers, shaped like the real service's.
//!
//! The API host (tokens, business units) and the invitations host (invitations, links,
//! templates) are separate listeners, as `api.trustpilot.com` and
//! `invitations-api.trustpilot.com` are: a client that sends an invitation to the wrong base URL
//! gets the 404 it would get for real.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use base64::Engine;
use serde_json::json;

use super::conn::Connection;
use super::faults::Fault;
use super::rules;
use super::state::{Grant, Issued, RouteKind, Shared, Verdict};
use super::{
    DEMO_API_KEY, DEMO_API_SECRET, DEMO_BUSINESS_UNIT_ID, DEMO_BUSINESS_USER_ID, DEMO_DOMAIN, DEMO_PASSWORD,
    DEMO_USERNAME,
};

pub(crate) const TOKEN_PATH: &str = "/v1/oauth/oauth-business-users-for-applications/accesstoken";
pub(crate) const REFRESH_PATH: &str = "/v1/oauth/oauth-business-users-for-applications/refresh";
const FIND_PATH: &str = "/v1/business-units/find";
const INVITATIONS_PATH: &str = "/v1/private/business-units/{id}/email-invitations";
const LINKS_PATH: &str = "/v1/private/business-units/{id}/invitation-links";
const TEMPLATES_PATH: &str = "/v1/private/business-units/{id}/templates";

/// The header every answer carries its correlation id in (error bodies repeat it).
pub(crate) const CORRELATION_HEADER: &str = "x-correlation-id";
const BUSINESS_USER_HEADER: &str = "x-business-user-id";

/// Which of Trustpilot's two hosts a listener plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host {
    /// `api.trustpilot.com`: tokens and business units.
    Api,
    /// `invitations-api.trustpilot.com`: invitations, links and templates.
    Invitations,
}

#[derive(Clone)]
struct Gate {
    shared: Arc<Shared>,
    host: Host,
}

/// What the gate tells the handler about the request it lets through.
#[derive(Debug, Clone)]
struct Ctx {
    correlation_id: String,
    fault: Option<Fault>,
}

/// Marks a response whose connection is to be cut instead of answered.
#[derive(Debug, Clone, Copy)]
struct CutConnection;

pub(crate) fn router(shared: Arc<Shared>, host: Host) -> Router {
    let routes = match host {
        Host::Api => Router::new()
            .route(TOKEN_PATH, post(access_token))
            .route(REFRESH_PATH, post(refresh))
            .route(FIND_PATH, get(find_business_unit)),
        Host::Invitations => Router::new()
            .route(INVITATIONS_PATH, post(create_invitation))
            .route(LINKS_PATH, post(create_link))
            .route(TEMPLATES_PATH, get(templates)),
    };
    let gate = Gate { shared: Arc::clone(&shared), host };
    routes.fallback(not_found).layer(middleware::from_fn_with_state(gate, pass_gate)).with_state(shared)
}

fn route_kind(host: Host, method: &Method, path: &str) -> RouteKind {
    match host {
        Host::Api if path == TOKEN_PATH || path == REFRESH_PATH => RouteKind::Token,
        Host::Invitations
            if method == Method::POST
                && path.starts_with("/v1/private/business-units/")
                && (path.ends_with("/email-invitations") || path.ends_with("/invitation-links")) =>
        {
            RouteKind::Create
        }
        _ => RouteKind::Other,
    }
}

/// Every request, whatever its path: counted against the quotas at arrival, delayed by the
/// latency, answered (or cut), logged.
async fn pass_gate(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let kind = route_kind(gate.host, request.method(), &path);
    let connection = request.extensions().get::<ConnectInfo<Connection>>().map(|info| info.0.clone());
    let arrival = gate.shared.arrive(kind);
    if !arrival.delay.is_zero() {
        tokio::time::sleep(arrival.delay).await;
    }

    let mut response = match arrival.verdict {
        Verdict::OverQuota => {
            let mut response = gateway_fault(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit quota violation. Quota limit exceeded.",
                "policies.ratelimit.QuotaViolation",
            );
            let config = &gate.shared.config;
            let retry_after = match (&config.retry_after_text, config.retry_after) {
                (Some(text), _) => HeaderValue::from_str(text).ok(),
                (None, Some(retry_after)) => Some(HeaderValue::from(retry_after.as_secs())),
                (None, None) => None,
            };
            if let Some(retry_after) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, retry_after);
            }
            response
        }
        Verdict::TooManyTokens => gateway_fault(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Spike arrest violation: at most {} token requests in {} seconds.",
                gate.shared.config.token_limit.map_or(0, |(count, _)| count),
                gate.shared.config.token_limit.map_or(0, |(_, per)| per.as_secs())
            ),
            "policies.ratelimit.SpikeArrestViolation",
        ),
        Verdict::Admit(fault) => {
            request.extensions_mut().insert(Ctx { correlation_id: arrival.correlation_id.clone(), fault });
            next.run(request).await
        }
    };

    if let Ok(value) = HeaderValue::from_str(&arrival.correlation_id) {
        response.headers_mut().insert(HeaderName::from_static(CORRELATION_HEADER), value);
    }
    let cut = response.extensions().get::<CutConnection>().is_some();
    let status = if cut { 0 } else { response.status().as_u16() };
    gate.shared.log_request(method, path, status, arrival.at);
    if cut {
        // The connection handle is always there when served by `Sandbox`; without one (a
        // router driven directly), the 202 goes out, which is the safe degradation.
        if let Some(connection) = connection {
            connection.cut();
        }
    }
    response
}

// ----- answers -----

/// Why a request is refused; [`Refusal::answer`] shapes it as the real service would.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// OAuth endpoints (RFC 6749 section 5.2): the error code, and a description. A bad key
    /// or secret (`invalid_client`) is a 401, everything else a 400.
    OAuth(&'static str, String),
    /// The gateway refuses a missing, unknown or expired bearer token.
    InvalidAccessToken,
    /// The gateway refuses a missing or wrong `apikey` header.
    InvalidApiKey,
    /// 400 with errorCode 1001 and these details.
    InvalidRequest(String),
    /// 403 with errorCode 1014.
    NoAccess(String),
    NotFound(String),
    UnsupportedMediaType(String),
}

impl Refusal {
    fn answer(self, ctx: &Ctx) -> Response {
        match self {
            Refusal::OAuth(error, description) => {
                let status = if error == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
                let body = json!({
                    "error": error,
                    "error_description": description,
                    "correlationId": ctx.correlation_id,
                });
                let mut response = (status, Json(body)).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Trustpilot\""));
                }
                response
            }
            Refusal::InvalidAccessToken => {
                gateway_fault(StatusCode::UNAUTHORIZED, "Invalid access token", "oauth.v2.InvalidAccessToken")
            }
            Refusal::InvalidApiKey => {
                gateway_fault(StatusCode::UNAUTHORIZED, "Invalid ApiKey", "oauth.v2.InvalidApiKey")
            }
            Refusal::InvalidRequest(details) => {
                // Trustpilot's 400 says "Invalid request", not the status's reason phrase.
                let body = json!({
                    "message": "Invalid request",
                    "errorCode": 1001,
                    "details": details,
                    "correlationId": ctx.correlation_id,
                });
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            Refusal::NoAccess(details) => api_error(StatusCode::FORBIDDEN, Some(1014), &details, ctx),
            Refusal::NotFound(details) => api_error(StatusCode::NOT_FOUND, None, &details, ctx),
            Refusal::UnsupportedMediaType(details) => {
                api_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, None, &details, ctx)
            }
        }
    }
}

/// A handler's outcome as the response that goes out.
fn respond(ctx: &Ctx, outcome: Result<Response, Refusal>) -> Response {
    outcome.unwrap_or_else(|refusal| refusal.answer(ctx))
}

/// The API gateway's own error shape (bad key or token, quotas, outages).
fn gateway_fault(status: StatusCode, faultstring: &str, errorcode: &str) -> Response {
    let body = json!({"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}});
    (status, Json(body)).into_response()
}

/// The services' error shape: `{"message", "errorCode"?, "details", "correlationId"}`.
fn api_error(status: StatusCode, error_code: Option<u32>, details: &str, ctx: &Ctx) -> Response {
    let mut body = json!({
        "message": status.canonical_reason().unwrap_or("Error"),
        "details": details,
        "correlationId": ctx.correlation_id,
    });
    if let Some(code) = error_code {
        body["errorCode"] = json!(code);
    }
    (status, Json(body)).into_response()
}

async fn not_found(Extension(ctx): Extension<Ctx>, request: Request) -> Response {
    let details = format!("There is no endpoint {} {} on this host.", request.method(), request.uri().path());
    Refusal::NotFound(details).answer(&ctx)
}

// ----- tokens -----

fn oauth(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal::OAuth(error, description.into())
}

/// `Authorization: Basic base64(KEY:SECRET)` with the demo application's key and secret.
fn check_client(headers: &HeaderMap) -> Result<(), Refusal> {
    let credentials = header_text(headers, header::AUTHORIZATION.as_str())
        .and_then(|value| strip_scheme(value, "Basic"))
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match credentials.as_deref().and_then(|text| text.split_once(':')) {
        Some((key, secret)) if key == DEMO_API_KEY && secret == DEMO_API_SECRET => Ok(()),
        Some(_) => Err(oauth("invalid_client", "The API key and secret do not match an application.")),
        None => Err(oauth(
            "invalid_client",
            "Send the application's key and secret as 'Authorization: Basic base64(KEY:SECRET)'.",
        )),
    }
}

/// The client's credentials, then the form-encoded parameters of a token request.
fn token_form(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    check_client(headers)?;
    if !content_type_is(headers, "application/x-www-form-urlencoded") {
        return Err(oauth(
            "invalid_request",
            "A token request must be form-encoded (Content-Type: application/x-www-form-urlencoded).",
        ));
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
}

/// Every value a string, as Trustpilot's token endpoint (an Apigee gateway) answers.
fn token_answer(shared: &Shared, issued: Issued, grant: Grant) -> Response {
    let mut body = json!({
        "access_token": issued.access_token,
        "expires_in": shared.config.token_lifetime.as_secs().to_string(),
        "token_type": "BearerToken",
        "issued_at": issued.issued_at_ms.to_string(),
        "client_id": DEMO_API_KEY,
        "application_name": "tp-invite sandbox application",
        "api_product_list": "[Public API, Invitations API]",
        "organization_name": "trustpilot",
        "developer.email": "developer@example.com",
        "scope": "",
        "refresh_count": "0",
        "status": "approved",
    });
    if let Some(refresh_token) = issued.refresh_token {
        body["refresh_token"] = json!(refresh_token);
        body["refresh_token_issued_at"] = json!(issued.issued_at_ms.to_string());
        body["refresh_token_expires_in"] = json!("2591999");
        body["refresh_token_status"] = json!("approved");
    }
    if grant == Grant::ClientCredentials {
        body["grant_type"] = json!("client_credentials");
    }
    (StatusCode::OK, Json(body)).into_response()
}

async fn access_token(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if shared.config.echo_token_requests {
        return echo_token_request(&headers, &body, &ctx);
    }
    respond(&ctx, grant_token(&shared, &headers, &body))
}

/// The `echo_token_requests` knob: a 400 whose description quotes the request's
/// `Authorization` header and form body as they came and the form's values decoded, and whose
/// details hold the decoded credentials and form values as JSON text (so escaped once more).
fn echo_token_request(headers: &HeaderMap, body: &[u8], ctx: &Ctx) -> Response {
    let authorization = header_text(headers, header::AUTHORIZATION.as_str()).unwrap_or("(none)");
    let credentials = strip_scheme(authorization, "Basic")
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let decoded = fields.iter().map(|(name, value)| format!("{name} '{value}'")).collect::<Vec<_>>().join(", ");
    let form: serde_json::Map<String, serde_json::Value> =
        fields.into_iter().map(|(name, value)| (name, json!(value))).collect();
    let details = json!({"credentials": credentials, "form": form}).to_string();
    let body = json!({
        "error": "invalid_request",
        "error_description": format!(
            "Could not read the request. Authorization: {authorization}; body: {}; fields: {decoded}",
            String::from_utf8_lossy(body)
        ),
        "details": details,
        "correlationId": ctx.correlation_id,
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn grant_token(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response, Refusal> {
    let form = token_form(headers, body)?;
    match form_value(&form, "grant_type") {
        Some("password") => {
            let (Some(username), Some(password)) = (form_value(&form, "username"), form_value(&form, "password"))
            else {
                return Err(oauth("invalid_request", "The password grant needs 'username' and 'password'."));
            };
            if !username.eq_ignore_ascii_case(DEMO_USERNAME) || password != DEMO_PASSWORD {
                return Err(oauth("invalid_grant", "The username or password is not correct."));
            }
            let issued = shared.issue(Grant::Password);
            Ok(token_answer(shared, issued, Grant::Password))
        }
        Some("client_credentials") => {
            let issued = shared.issue(Grant::ClientCredentials);
            Ok(token_answer(shared, issued, Grant::ClientCredentials))
        }
        // Trustpilot documents the refresh grant on this endpoint too.
        Some("refresh_token") => refresh_grant(shared, &form),
        Some(other) => Err(oauth(
            "unsupported_grant_type",
            format!("The grant type '{other}' is not supported: use password, client_credentials or refresh_token."),
        )),
        None => Err(oauth("invalid_request", "The form parameter 'grant_type' is required.")),
    }
}

async fn refresh(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if shared.config.echo_token_requests {
        return echo_token_request(&headers, &body, &ctx);
    }
    let outcome = token_form(&headers, &body).and_then(|form| match form_value(&form, "grant_type") {
        Some("refresh_token") => refresh_grant(&shared, &form),
        Some(other) => Err(oauth(
            "unsupported_grant_type",
            format!("The grant type '{other}' is not supported here: use refresh_token."),
        )),
        None => Err(oauth("invalid_request", "The form parameter 'grant_type' is required.")),
    });
    respond(&ctx, outcome)
}

fn refresh_grant(shared: &Shared, form: &[(String, String)]) -> Result<Response, Refusal> {
    let Some(refresh_token) = form_value(form, "refresh_token") else {
        return Err(oauth("invalid_request", "The form parameter 'refresh_token' is required."));
    };
    match shared.refresh(refresh_token) {
        Some(issued) => Ok(token_answer(shared, issued, Grant::Password)),
        None => Err(oauth("invalid_grant", "The refresh token is invalid, expired or already used.")),
    }
}

// ----- business units -----

async fn find_business_unit(Extension(ctx): Extension<Ctx>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    respond(&ctx, find(&headers, query.as_deref().unwrap_or_default()))
}

fn find(headers: &HeaderMap, query: &str) -> Result<Response, Refusal> {
    if header_text(headers, "apikey") != Some(DEMO_API_KEY) {
        return Err(Refusal::InvalidApiKey);
    }
    let name = url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "name")
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            Refusal::InvalidRequest("The query parameter 'name' (the shop's domain) is required.".to_string())
        })?;
    let referring = format!("www.{DEMO_DOMAIN}");
    if !name.eq_ignore_ascii_case(DEMO_DOMAIN) && !name.eq_ignore_ascii_case(&referring) {
        return Err(Refusal::NotFound(format!("No business unit was found for the domain '{name}'.")));
    }
    let self_link = format!("https://api.trustpilot.com/v1/business-units/{DEMO_BUSINESS_UNIT_ID}");
    let profile_link = format!("https://www.trustpilot.com/review/{DEMO_DOMAIN}");
    let body = json!({
        "id": DEMO_BUSINESS_UNIT_ID,
        "displayName": "Example Shop",
        "name": {"identifying": DEMO_DOMAIN, "referring": [DEMO_DOMAIN, referring]},
        "websiteUrl": format!("https://www.{DEMO_DOMAIN}"),
        "country": "US",
        "status": "active",
        "score": {"trustScore": 4.4, "stars": 4.5},
        "numberOfReviews": {"total": 1234, "usedForTrustScoreCalculation": 987},
        "links": [
            {"href": self_link, "method": "GET", "rel": "self"},
            {"href": profile_link, "method": "GET", "rel": "profile-url"},
        ],
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

// ----- invitations host -----

/// Bearer token, then the business unit and the user's access to it.
fn authorize(shared: &Shared, headers: &HeaderMap, business_unit_id: &str) -> Result<(), Refusal> {
    let token = header_text(headers, header::AUTHORIZATION.as_str())
        .and_then(|value| strip_scheme(value, "Bearer"))
        .map(str::trim)
        .filter(|token| !token.is_empty());
    // Missing, unknown or expired: the gateway says the same thing.
    let grant = token.and_then(|token| shared.bearer(token).ok()).ok_or(Refusal::InvalidAccessToken)?;
    if business_unit_id == DEMO_BUSINESS_USER_ID {
        return Err(Refusal::NoAccess(format!(
            "'{business_unit_id}' is a business user id, not a business unit id: \
             the business unit id goes in the path, the user id in '{BUSINESS_USER_HEADER}'."
        )));
    }
    if business_unit_id != DEMO_BUSINESS_UNIT_ID {
        return Err(Refusal::NotFound(format!("Business unit '{business_unit_id}' was not found.")));
    }
    if grant == Grant::ClientCredentials {
        match header_text(headers, BUSINESS_USER_HEADER) {
            Some(DEMO_BUSINESS_USER_ID) => {}
            None => {
                return Err(Refusal::NoAccess(format!(
                    "A client-credentials token acts for a business user: send the user's id \
                     in the header '{BUSINESS_USER_HEADER}'."
                )));
            }
            Some(other) => {
                return Err(Refusal::NoAccess(format!(
                    "Business user '{other}' has no access to business unit '{business_unit_id}'."
                )));
            }
        }
    }
    Ok(())
}

async fn templates(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(business_unit_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let outcome = authorize(&shared, &headers, &business_unit_id).map(|()| {
        let body = json!({"templates": [
            {"id": "507f191e810c19729de860ea", "name": "Default service review invitation",
             "isDefaultTemplate": true, "locale": "en-US", "type": "Standard"},
            {"id": "5a3b9c1d2e4f60718293a4b5", "name": "Service review invitation (UK)",
             "isDefaultTemplate": false, "locale": "en-GB", "type": "Standard"},
            {"id": "5c6d7e8f9a0b1c2d3e4f5a6b", "name": "Bewertungseinladung",
             "isDefaultTemplate": false, "locale": "de-DE", "type": "Standard"},
            {"id": "61e2f3a4b5c6d7e8f9a0b1c2", "name": "Spring sale follow-up",
             "isDefaultTemplate": false, "locale": "en-US", "type": "Custom"},
        ]});
        (StatusCode::OK, Json(body)).into_response()
    });
    respond(&ctx, outcome)
}

async fn create_invitation(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(business_unit_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Creation { business_unit_id: &business_unit_id, headers: &headers, body: &body };
    let outcome = create(&shared, &ctx, request, rules::check_invitation, |checked| {
        let before = shared.accept(checked.email, checked.reference, checked.body);
        // The real service answers 202 sometimes with a small body and sometimes without
        // one; alternate, so a client has to cope with both.
        let answer = if before.is_multiple_of(2) {
            StatusCode::ACCEPTED.into_response()
        } else {
            let body = json!({"correlationId": ctx.correlation_id});
            (StatusCode::ACCEPTED, Json(body)).into_response()
        };
        let location = format!("/v1/private/business-units/{business_unit_id}/invitations/{}", ctx.correlation_id);
        Created { answer, location }
    });
    respond(&ctx, outcome)
}

/// `invitation-links`: a new link each time, answered 200 `{"id", "url"}` (the link exists
/// once the answer comes, unlike an invitation that is queued: so 200, not 202).
async fn create_link(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(business_unit_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Creation { business_unit_id: &business_unit_id, headers: &headers, body: &body };
    let outcome = create(&shared, &ctx, request, rules::check_link, |checked| {
        let link = shared.create_link(checked.email, checked.reference, checked.body);
        let body = if shared.config.links_without_url {
            json!({"id": link.id})
        } else {
            json!({"id": link.id, "url": link.url})
        };
        let location = format!("/v1/private/business-units/{business_unit_id}/invitation-links/{}", link.id);
        Created { answer: (StatusCode::OK, Json(body)).into_response(), location }
    });
    respond(&ctx, outcome)
}

/// A request to an endpoint that creates something.
struct Creation<'a> {
    business_unit_id: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

/// What such an endpoint made of a request it accepted: the answer it gives when all goes
/// well, and where the thing it created is (for a redirect to point at).
struct Created {
    answer: Response,
    location: String,
}

/// The checks in the order the real stack makes them (gateway, routing, service), then the
/// fault the dice decided at arrival: a 5xx creates nothing; a drop, a 504 or a 303 come
/// after `make` has created (and recorded) it.
fn create(
    shared: &Shared,
    ctx: &Ctx,
    request: Creation<'_>,
    check: fn(&[u8]) -> Result<rules::Checked, String>,
    make: impl FnOnce(rules::Checked) -> Created,
) -> Result<Response, Refusal> {
    let Creation { business_unit_id, headers, body } = request;
    authorize(shared, headers, business_unit_id)?;
    if !content_type_is(headers, "application/json") {
        return Err(Refusal::UnsupportedMediaType(
            "The request body must be JSON, sent with 'Content-Type: application/json'.".to_string(),
        ));
    }
    let checked = check(body).map_err(Refusal::InvalidRequest)?;
    if shared.config.echo_invitation_requests {
        let authorization = header_text(headers, header::AUTHORIZATION.as_str()).unwrap_or("(none)");
        return Err(Refusal::InvalidRequest(format!(
            "Could not process {} (Authorization: {authorization}).",
            String::from_utf8_lossy(body)
        )));
    }
    if let Some(Fault::ServerError(status)) = ctx.fault {
        return Ok(server_error(status, ctx));
    }
    let created = make(checked);
    Ok(match ctx.fault {
        Some(Fault::GatewayTimeout) => {
            gateway_fault(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout", "messaging.adaptors.http.flow.GatewayTimeout")
        }
        Some(Fault::Redirect) => (StatusCode::SEE_OTHER, [(header::LOCATION, created.location)]).into_response(),
        Some(Fault::Drop) => {
            let mut response = created.answer;
            response.extensions_mut().insert(CutConnection);
            response
        }
        // A server error was answered above, before anything was created.
        Some(Fault::ServerError(_)) | None => created.answer,
    })
}

/// A 5xx as each layer of the real stack produces it: the service (500, JSON), the load
/// balancer (502, HTML), the gateway (503, its fault JSON).
fn server_error(status: u16, ctx: &Ctx) -> Response {
    match status {
        502 => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head>\
             <body><center><h1>502 Bad Gateway</h1></center></body></html>\n",
        )
            .into_response(),
        503 => gateway_fault(
            StatusCode::SERVICE_UNAVAILABLE,
            "The Service is temporarily unavailable",
            "messaging.adaptors.http.flow.ServiceUnavailable",
        ),
        _ => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "An unexpected error occurred. Try again in a few minutes.",
            ctx,
        ),
    }
}

// ----- helpers -----

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `Scheme credentials` with the scheme compared case-insensitively.
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.trim().split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// Whether the Content-Type's media type (parameters such as `charset` aside) is `expected`.
fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    header_text(headers, header::CONTENT_TYPE.as_str())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_by_host_and_path() {
        let invitation = "/v1/private/business-units/abc/email-invitations";
        let link = "/v1/private/business-units/abc/invitation-links";
        assert_eq!(route_kind(Host::Api, &Method::POST, TOKEN_PATH), RouteKind::Token);
        assert_eq!(route_kind(Host::Api, &Method::GET, REFRESH_PATH), RouteKind::Token);
        assert_eq!(route_kind(Host::Invitations, &Method::POST, invitation), RouteKind::Create);
        assert_eq!(route_kind(Host::Invitations, &Method::POST, link), RouteKind::Create);
        assert_eq!(route_kind(Host::Invitations, &Method::GET, link), RouteKind::Other);
        assert_eq!(route_kind(Host::Invitations, &Method::GET, invitation), RouteKind::Other);
        assert_eq!(route_kind(Host::Api, &Method::POST, invitation), RouteKind::Other);
        assert_eq!(route_kind(Host::Invitations, &Method::POST, TOKEN_PATH), RouteKind::Other);
    }

    #[test]
    fn headers_are_read_leniently() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("Application/JSON; charset=utf-8"));
        assert!(content_type_is(&headers, "application/json"));
        assert!(!content_type_is(&headers, "application/x-www-form-urlencoded"));
        assert_eq!(strip_scheme("bearer abc", "Bearer"), Some("abc"));
        assert_eq!(strip_scheme("Basic abc", "Bearer"), None);
        assert_eq!(strip_scheme("Bearer", "Bearer"), None);
    }
}
