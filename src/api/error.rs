//! What can go wrong talking to Trustpilot, classified for the caller's decisions, and parsing of
//! Trustpilot's (several) error body styles.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::config::{
    API_KEY_VAR, API_SECRET_VAR, API_URL_VAR, BUSINESS_USER_ID_VAR, INVITATIONS_API_URL_VAR, PASSWORD_VAR, USERNAME_VAR,
};
use super::redact::Scrubber;

/// How much of a text field from a server answer is kept.
const KEEP_CHARS: usize = 300;

/// What Trustpilot said about an error, as far as it could be understood.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub message: Option<String>,
    /// `1001`, `oauth.v2.InvalidAccessToken`, `invalid_grant`, ...
    pub error_code: Option<String>,
    pub details: Option<String>,
    pub correlation_id: Option<String>,
    /// The first ~300 characters of a body that was not one of the known JSON shapes.
    pub raw: Option<String>,
}

/// A call to Trustpilot that did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The API refused the request because of what it holds (400, 409, 415, 422, other 4xx):
    /// permanent for this row.
    Rejected { status: u16, body: ErrorBody },
    /// 401 after one renewal, or the token endpoint refused the credentials. Fatal for a run.
    Auth { status: u16, body: ErrorBody },
    /// 403. Fatal.
    Forbidden { body: ErrorBody },
    /// 404: wrong base URL, or unknown business unit (or domain). Fatal for a run.
    NotFound { what: String, body: ErrorBody },
    /// 429, with `Retry-After` (seconds or HTTP date) when the server gave one.
    Throttled { retry_after: Option<Duration> },
    /// 5xx (and 408): retryable.
    Server { status: u16, body: ErrorBody },
    /// Certainly not sent: connection refused, DNS failure, TLS handshake failure, or the
    /// access token for the request could not be obtained.
    NotSent { reason: String },
    /// Maybe sent: a timeout, the connection dropped after the request was written, or an
    /// answer to an invitation that may come after it was created (504, a redirect; `status`
    /// and `body` then hold it). Never retried automatically.
    Unknown { reason: String, status: Option<u16>, body: ErrorBody },
    /// An answer we could not understand from a token / business unit / templates call, or a
    /// redirect (which the client does not follow).
    Protocol { reason: String },
    /// Neither a business unit id nor a domain was given.
    NoBusinessUnit,
}

impl ApiError {
    /// The HTTP status Trustpilot answered, if it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiError::Rejected { status, .. } | ApiError::Auth { status, .. } | ApiError::Server { status, .. } => {
                Some(*status)
            }
            ApiError::Unknown { status, .. } => *status,
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Throttled { .. } => Some(429),
            ApiError::NotSent { .. } | ApiError::Protocol { .. } | ApiError::NoBusinessUnit => None,
        }
    }

    /// A machine-readable code for the results file: Trustpilot's `errorCode` when it gave
    /// one, else `http.<status>`, `transport.not_sent`, `transport.unknown`, ...
    pub fn error_code(&self) -> Option<String> {
        if let Some(code) = self.body().and_then(|b| b.error_code.clone()) {
            return Some(code);
        }
        Some(match self {
            ApiError::NotSent { .. } => "transport.not_sent".to_string(),
            ApiError::Unknown { status: None, .. } => "transport.unknown".to_string(),
            ApiError::Protocol { .. } => "protocol.unexpected_answer".to_string(),
            ApiError::NoBusinessUnit => "config.business_unit_missing".to_string(),
            other => format!("http.{}", other.http_status().unwrap_or(0)),
        })
    }

    /// Trustpilot's correlation id for the failed call, to quote to its support.
    pub fn correlation_id(&self) -> Option<String> {
        self.body().and_then(|b| b.correlation_id.clone())
    }

    /// A stable, machine-readable name for `--json`'s `error.code` when this stops a command.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Auth { .. } => "credentials.refused",
            ApiError::Forbidden { .. } => "api.forbidden",
            ApiError::NotFound { .. } => "api.not_found",
            ApiError::NoBusinessUnit => "config.business_unit_missing",
            ApiError::Throttled { .. } => "api.throttled",
            ApiError::Rejected { .. } => "api.rejected",
            ApiError::Unknown { status: Some(300..=399), .. } => "api.redirected",
            ApiError::Unknown { .. } => "api.unknown_outcome",
            _ => "api.unavailable",
        }
    }

    /// The run cannot go on: every further request would fail the same way. A redirected
    /// invitation is both: its own outcome is unknown, and every further one would be
    /// redirected too (a wrong base URL or a proxy in the way).
    pub fn is_fatal(&self) -> bool {
        match self {
            ApiError::Auth { .. }
            | ApiError::Forbidden { .. }
            | ApiError::NotFound { .. }
            | ApiError::Protocol { .. }
            | ApiError::NoBusinessUnit => true,
            ApiError::Unknown { status: Some(status), .. } => (300..400).contains(status),
            _ => false,
        }
    }

    /// Trying the same request again later may succeed, and cannot create a duplicate.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Throttled { .. } | ApiError::Server { .. } | ApiError::NotSent { .. })
    }

    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            ApiError::Rejected { body, .. }
            | ApiError::Auth { body, .. }
            | ApiError::Forbidden { body }
            | ApiError::NotFound { body, .. }
            | ApiError::Server { body, .. }
            | ApiError::Unknown { status: Some(_), body, .. } => Some(body),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Rejected { status, body } => write!(
                f,
                "Trustpilot rejected the request with {}{}. Correct the value it names; sending \
                 it again unchanged would fail the same way.",
                http(*status),
                body.said()
            ),
            ApiError::Auth { status, body } => write!(
                f,
                "Trustpilot did not accept the credentials ({}{}). {}",
                http(*status),
                body.said(),
                auth_hint(body)
            ),
            ApiError::Forbidden { body } => {
                write!(
                    f,
                    "Trustpilot refused access with {}{}. The credentials work, but may not act \
                     for this business unit: check the business unit id (--business-unit-id or \
                     TRUSTPILOT_BUSINESS_UNIT_ID) and that the business user belongs to it.",
                    http(403),
                    body.said()
                )?;
                if body.error_code.as_deref() == Some("1014") {
                    write!(
                        f,
                        " errorCode 1014 often means a business user id and a business unit id \
                         were swapped: TRUSTPILOT_BUSINESS_UNIT_ID takes the business unit id \
                         (`tp-invite business-unit <DOMAIN>` prints it), {BUSINESS_USER_ID_VAR} \
                         the business user id."
                    )?;
                }
                Ok(())
            }
            ApiError::NotFound { what, body } => write!(
                f,
                "Trustpilot answered {} for {what}{}. Check the business unit id or domain, and \
                 {API_URL_VAR} / {INVITATIONS_API_URL_VAR} if they are set.",
                http(404),
                body.said()
            ),
            ApiError::Throttled { retry_after } => {
                write!(f, "Trustpilot answered {}: its rate limit is reached", http(429))?;
                if let Some(wait) = retry_after {
                    write!(f, " and it asked to wait {}", seconds(*wait))?;
                }
                write!(f, ". Sending pauses and resumes by itself; if this keeps happening, lower --rate.")
            }
            ApiError::Server { status, body } => write!(
                f,
                "Trustpilot had a server problem ({}{}). This is usually temporary: try again in \
                 a few minutes (`tp-invite retry` re-sends the rows that failed).",
                http(*status),
                body.said()
            ),
            ApiError::NotSent { reason } => write!(
                f,
                "Could not reach Trustpilot, so nothing was sent: {reason}. Check the network \
                 connection (and {API_URL_VAR} / {INVITATIONS_API_URL_VAR} if they are set), \
                 then try again."
            ),
            ApiError::Unknown { reason, status: None, .. } => write!(
                f,
                "The connection failed after the request was sent ({reason}), so it is not known \
                 whether Trustpilot acted on it. {UNKNOWN_ADVICE}"
            ),
            ApiError::Unknown { reason, status: Some(status), body } => write!(
                f,
                "Trustpilot answered {}{}: {reason}. It is not known whether the invitation was \
                 created. {UNKNOWN_ADVICE}",
                http(*status),
                body.said()
            ),
            ApiError::Protocol { reason } => write!(
                f,
                "Trustpilot's answer could not be understood: {reason}. Check that \
                 {API_URL_VAR} and {INVITATIONS_API_URL_VAR} point at Trustpilot (or at the \
                 sandbox)."
            ),
            ApiError::NoBusinessUnit => write!(
                f,
                "No business unit given. Pass --business-unit-id <ID> or --domain <DOMAIN>, or \
                 set TRUSTPILOT_BUSINESS_UNIT_ID."
            ),
        }
    }
}

/// What to do about an invitation whose outcome is unknown.
const UNKNOWN_ADVICE: &str = "Such an invitation is recorded `unknown` and not re-sent automatically: check the \
                              invitation history in Trustpilot Business before using `tp-invite retry \
                              --include-unknown`.";

/// `HTTP 503 Service Unavailable`.
fn http(status: u16) -> String {
    match StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("HTTP {status} {reason}"),
        None => format!("HTTP {status}"),
    }
}

fn seconds(wait: Duration) -> String {
    if wait >= MAX_RETRY_AFTER {
        return "a day or more".to_string();
    }
    let secs = wait.as_secs_f64().ceil() as u64;
    if secs == 1 { "1 second".to_string() } else { format!("{secs} seconds") }
}

/// Which variables to check, judged from what the token endpoint said.
fn auth_hint(body: &ErrorBody) -> String {
    let said = [&body.error_code, &body.message, &body.details, &body.raw]
        .iter()
        .filter_map(|s| s.as_deref())
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let client =
        ["invalid_client", "apikey", "api key", "client id", "clientid", "secret"].iter().any(|w| said.contains(w));
    let user = ["invalid_grant", "password", "username", "user name", "credentials"].iter().any(|w| said.contains(w));
    let token = said.contains("access token") || said.contains("accesstoken");
    match (client, user, token) {
        (true, false, _) => {
            format!("Check {API_KEY_VAR} and {API_SECRET_VAR} (the application's key and secret).")
        }
        (false, true, _) => format!(
            "Check {USERNAME_VAR} and {PASSWORD_VAR} (or {BUSINESS_USER_ID_VAR} when no username \
             is set)."
        ),
        (false, false, true) => format!(
            "A freshly issued access token was refused too: check that the business user \
             ({USERNAME_VAR} or {BUSINESS_USER_ID_VAR}) still has access, and \
             {API_KEY_VAR} / {API_SECRET_VAR}."
        ),
        _ => format!(
            "Check {API_KEY_VAR} and {API_SECRET_VAR}, and {USERNAME_VAR} and {PASSWORD_VAR} (or \
             {BUSINESS_USER_ID_VAR} when no username is set)."
        ),
    }
}

impl ErrorBody {
    /// Parse an error answer leniently: Trustpilot's own style, the API gateway's `fault`
    /// style, OAuth's `error`/`error_description`, or plain text. The correlation id may also
    /// come from a header. Every field is scrubbed of secrets and has its control characters
    /// escaped *before* it is clipped, so a clip never leaves part of a secret behind.
    pub(crate) fn parse(text: &str, headers: &HeaderMap, scrubber: &Scrubber) -> ErrorBody {
        let mut body = ErrorBody::read(text, scrubber);
        if body.correlation_id.is_none() {
            body.correlation_id = correlation_header(headers, scrubber);
        }
        body
    }

    /// `ErrorBody::parse` without headers, and with no secrets to remove (control characters
    /// are still escaped).
    pub fn from_text(text: &str) -> ErrorBody {
        ErrorBody::read(text, &Scrubber::default())
    }

    fn read(text: &str, scrubber: &Scrubber) -> ErrorBody {
        // Each field once the JSON is decoded, where the scrubber sees through one more layer
        // of escapes (a field may hold JSON text itself); the raw text as it is. Not the raw
        // JSON before decoding: a secret escaped twice there would be matched only up to its
        // first doubled escape, and the rest of it would show once decoded.
        let text = text.trim();
        let keep = |value: Option<String>| value.and_then(|v| clip(&scrubber.clean(&v)));
        let mut body = ErrorBody::default();
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => {
                let root = Value::Object(map);
                let fault = field(&root, "fault");
                body.message = keep(first_text(&[
                    field(&root, "message"),
                    fault.and_then(|f| field(f, "faultstring")),
                    field(&root, "error_description"),
                ]));
                body.error_code = keep(first_text(&[
                    field(&root, "errorCode"),
                    field(&root, "code"),
                    fault.and_then(|f| field(f, "detail")).and_then(|d| field(d, "errorcode")),
                    field(&root, "error"),
                ]));
                body.details = keep(first_text(&[field(&root, "details"), field(&root, "detail")]));
                body.correlation_id = keep(first_text(&[field(&root, "correlationId")]));
                if body.message.is_none() && body.error_code.is_none() && body.details.is_none() {
                    body.raw = keep(Some(text.to_string()));
                }
            }
            _ => body.raw = keep(Some(text.to_string())),
        }
        body
    }

    /// What Trustpilot said, in one sentence: the message and details.
    pub fn text(&self) -> Option<String> {
        match (&self.message, &self.details) {
            (Some(m), Some(d)) if d.contains(m.as_str()) => Some(d.clone()),
            (Some(m), Some(d)) if m.contains(d.as_str()) => Some(m.clone()),
            (Some(m), Some(d)) => Some(format!("{}: {d}", m.trim_end_matches(['.', ':', ' ']))),
            (Some(m), None) => Some(m.clone()),
            (None, Some(d)) => Some(d.clone()),
            (None, None) => self.raw.clone(),
        }
    }

    /// `: "text" (errorCode X, correlationId Y)`, or the parts of it that are known.
    fn said(&self) -> String {
        let mut out = String::new();
        if let Some(text) = self.text() {
            out.push_str(&format!(": \"{text}\""));
        }
        let tags: Vec<String> = [
            self.error_code.as_ref().map(|c| format!("errorCode {c}")),
            self.correlation_id.as_ref().map(|c| format!("correlationId {c}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !tags.is_empty() {
            out.push_str(&format!(" ({})", tags.join(", ")));
        }
        out
    }
}

/// The value of `name` in an object, matching the key without regard to case, `_` or `-`.
fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let norm =
        |s: &str| -> String { s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect() };
    let want = norm(name);
    value.as_object()?.iter().find(|(key, _)| norm(key) == want).map(|(_, v)| v)
}

/// The first value that holds something, as text: strings as they are, numbers as digits,
/// anything else as compact JSON.
fn first_text(values: &[Option<&Value>]) -> Option<String> {
    values.iter().flatten().find_map(|value| match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        other => Some(other.to_string()),
    })
}

/// The text on one line, at most [`KEEP_CHARS`] characters; `None` when empty. Only for text
/// that has been through [`Scrubber::clean`].
pub(crate) fn clip(text: &str) -> Option<String> {
    let one_line: String = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.is_empty() {
        return None;
    }
    if one_line.chars().count() <= KEEP_CHARS {
        return Some(one_line);
    }
    let mut cut: String = one_line.chars().take(KEEP_CHARS).collect();
    cut.push('…');
    Some(cut)
}

/// A correlation id from a header such as `x-correlation-id`, made safe like a body's fields.
pub(crate) fn correlation_header(headers: &HeaderMap, scrubber: &Scrubber) -> Option<String> {
    headers
        .iter()
        .find(|(name, _)| name.as_str().contains("correlation"))
        .and_then(|(_, value)| value.to_str().ok())
        .and_then(|value| clip(&scrubber.clean(value)))
}

/// The longest wait a `Retry-After` is taken at. A longer one (`99999999999999999999`, a date
/// in the year 9999) is read as this: far longer than any run waits (it stops the run, see
/// `Sending::max_throttle`), and small enough that no `Instant + Duration` can overflow.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a 429 asked us to wait: `Retry-After` as seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, std::time::SystemTime::now())
}

/// `Retry-After` (RFC 9110 section 10.2.3): whole seconds or an HTTP date; leniently also
/// fractions and exponents. Whatever the value, the wait is at most [`MAX_RETRY_AFTER`]; a
/// date in the past is no wait; a negative or unreadable value is `None` (as if the header
/// were absent: the caller backs off by itself).
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: a failed parse means more than u64 holds, which is simply very long.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        // Infinite or beyond what a Duration holds: the longest wait.
        return Some(Duration::try_from_secs_f64(secs).map_or(MAX_RETRY_AFTER, |d| d.min(MAX_RETRY_AFTER)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).map_or(Duration::ZERO, |d| d.min(MAX_RETRY_AFTER)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn trustpilot_style_body() {
        let body = ErrorBody::from_text(
            r#"{"message":"Invalid request","errorCode":1001,"details":"'Consumer Email' is not in the correct format.","correlationId":"abc-123"}"#,
        );
        assert_eq!(
            body,
            ErrorBody {
                message: Some("Invalid request".into()),
                error_code: Some("1001".into()),
                details: Some("'Consumer Email' is not in the correct format.".into()),
                correlation_id: Some("abc-123".into()),
                raw: None,
            }
        );
        let err = ApiError::Rejected { status: 400, body };
        assert_eq!(
            err.to_string(),
            "Trustpilot rejected the request with HTTP 400 Bad Request: \"Invalid request: \
             'Consumer Email' is not in the correct format.\" (errorCode 1001, correlationId \
             abc-123). Correct the value it names; sending it again unchanged would fail the same \
             way."
        );
        assert_eq!(err.error_code().as_deref(), Some("1001"));
        assert_eq!(err.correlation_id().as_deref(), Some("abc-123"));
        assert_eq!(err.http_status(), Some(400));
        assert!(!err.is_fatal());
    }

    #[test]
    fn gateway_fault_body() {
        let body = ErrorBody::from_text(
            r#"{"fault":{"faultstring":"Invalid access token","detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}"#,
        );
        assert_eq!(body.message.as_deref(), Some("Invalid access token"));
        assert_eq!(body.error_code.as_deref(), Some("oauth.v2.InvalidAccessToken"));
        assert_eq!(body.details, None);
        assert_eq!(body.raw, None);
    }

    #[test]
    fn oauth_body() {
        let body = ErrorBody::from_text(
            r#"{"error":"invalid_grant","error_description":"The user credentials were incorrect."}"#,
        );
        assert_eq!(body.error_code.as_deref(), Some("invalid_grant"));
        assert_eq!(body.message.as_deref(), Some("The user credentials were incorrect."));
        let err = ApiError::Auth { status: 401, body };
        assert_eq!(
            err.to_string(),
            "Trustpilot did not accept the credentials (HTTP 401 Unauthorized: \"The user \
             credentials were incorrect.\" (errorCode invalid_grant)). Check TRUSTPILOT_USERNAME \
             and TRUSTPILOT_PASSWORD (or TRUSTPILOT_BUSINESS_USER_ID when no username is set)."
        );
        let err = ApiError::Auth { status: 401, body: ErrorBody::from_text(r#"{"error":"invalid_client"}"#) };
        assert!(
            err.to_string()
                .ends_with("Check TRUSTPILOT_API_KEY and TRUSTPILOT_API_SECRET (the application's key and secret).")
        );
    }

    #[test]
    fn odd_bodies() {
        let table: &[(&str, ErrorBody)] = &[
            ("", ErrorBody::default()),
            ("   \n", ErrorBody::default()),
            (
                "<html><body>502 Bad Gateway</body></html>",
                ErrorBody { raw: Some("<html><body>502 Bad Gateway</body></html>".into()), ..ErrorBody::default() },
            ),
            ("[1,2]", ErrorBody { raw: Some("[1,2]".into()), ..ErrorBody::default() }),
            (
                r#"{"unexpected":true}"#,
                ErrorBody { raw: Some(r#"{"unexpected":true}"#.into()), ..ErrorBody::default() },
            ),
            (
                r#"{"Message":"Forbidden","ErrorCode":"1014","Details":null}"#,
                ErrorBody {
                    message: Some("Forbidden".into()),
                    error_code: Some("1014".into()),
                    ..ErrorBody::default()
                },
            ),
            (
                r#"{"message":"Validation failed","details":[{"field":"consumerEmail"}],"errorCode":"1001"}"#,
                ErrorBody {
                    message: Some("Validation failed".into()),
                    error_code: Some("1001".into()),
                    details: Some(r#"[{"field":"consumerEmail"}]"#.into()),
                    ..ErrorBody::default()
                },
            ),
            ("line one\r\n\tline two", ErrorBody { raw: Some("line one line two".into()), ..ErrorBody::default() }),
        ];
        for (text, expected) in table {
            assert_eq!(&ErrorBody::from_text(text), expected, "{text:?}");
        }
        let long = "x".repeat(1000);
        let raw = ErrorBody::from_text(&long).raw.unwrap();
        assert_eq!(raw.chars().count(), KEEP_CHARS + 1);
    }

    #[test]
    fn secrets_are_removed_before_a_field_is_clipped() {
        const TOKEN: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz01";
        let scrubber = Scrubber::new(vec!["the-api-key-123".into()]);
        scrubber.add_token(&secrecy::SecretString::from(TOKEN));
        let pad = "x".repeat(KEEP_CHARS - 10);
        let bodies = [
            format!("{pad} Bearer {TOKEN} and more"),
            format!(r#"{{"message":"{pad} Bearer {TOKEN}","errorCode":"{TOKEN}"}}"#),
            format!(r#"{{"details":"{pad}\u0041bCdEfGh{}"}}"#, &TOKEN[8..]),
            // The server cut it short itself.
            r#"{"message":"token AbCdEfGh…","correlationId":"the-api-key-123"}"#.to_string(),
        ];
        for text in &bodies {
            let body = ErrorBody::parse(text, &HeaderMap::new(), &scrubber);
            let shown = format!("{body:?} {}", ApiError::Rejected { status: 400, body: body.clone() });
            assert!(!shown.contains("AbCdEf") && !shown.contains("the-api"), "{text}\n{shown}");
            assert!(shown.contains("[r"), "{shown}");
        }
    }

    #[test]
    fn control_and_bidi_characters_from_a_body_are_escaped() {
        let body = ErrorBody::from_text(
            r#"{"message":"\u001b[2J\u001b[31mInvalid\u202e gnp.exe","details":"a\u0007b\u009bc","errorCode":"\u2066x"}"#,
        );
        assert_eq!(body.message.as_deref(), Some("\\u{1b}[2J\\u{1b}[31mInvalid\\u{202e} gnp.exe"));
        assert_eq!(body.details.as_deref(), Some("a\\u{7}b\\u{9b}c"));
        assert_eq!(body.error_code.as_deref(), Some("\\u{2066}x"));
        let raw = ErrorBody::from_text("<b>\u{1b}]8;;http://evil\u{7}click\u{1b}]8;;\u{7}</b>");
        assert_eq!(raw.raw.as_deref(), Some("<b>\\u{1b}]8;;http://evil\\u{7}click\\u{1b}]8;;\\u{7}</b>"));
        let text = ApiError::Rejected { status: 400, body }.to_string();
        assert!(!text.chars().any(|c| c.is_control() || c == '\u{202e}'), "{text:?}");
    }

    #[test]
    fn correlation_id_from_header_when_body_has_none() {
        let mut headers = HeaderMap::new();
        headers.insert("x-correlation-id", HeaderValue::from_static("hdr-1"));
        let none = Scrubber::default();
        assert_eq!(ErrorBody::parse("oops", &headers, &none).correlation_id.as_deref(), Some("hdr-1"));
        let body = ErrorBody::parse(r#"{"message":"m","correlationId":"body-1"}"#, &headers, &none);
        assert_eq!(body.correlation_id.as_deref(), Some("body-1"));
    }

    #[test]
    fn retry_after_seconds_or_date_and_never_absurd() {
        // 2015-10-21T07:27:00Z
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_420);
        let max = Some(MAX_RETRY_AFTER);
        let table: &[(&str, Option<Duration>)] = &[
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            ("1.5", Some(Duration::from_millis(1500))),
            ("Wed, 21 Oct 2015 07:28:00 GMT", Some(Duration::from_secs(60))),
            ("Wed, 21 Oct 2015 07:26:00 GMT", Some(Duration::ZERO)),
            ("Wednesday, 21-Oct-15 07:28:00 GMT", Some(Duration::from_secs(60))),
            ("Wed Oct 21 07:28:00 2015", Some(Duration::from_secs(60))),
            ("Thu, 01 Jan 1970 00:00:00 GMT", Some(Duration::ZERO)),
            ("Fri, 31 Dec 9999 23:59:59 GMT", max),
            ("86400", max),
            ("86401", max),
            ("1e30", max),
            ("1e309", max),
            ("inf", max),
            ("99999999999999999999", max),
            ("18446744073709551615", max),
            ("18446744073709551616", max),
            (&"9".repeat(500), max),
            ("-0", Some(Duration::ZERO)),
            ("-5", None),
            ("-1e30", None),
            ("NaN", None),
            ("soon", None),
            ("Wed, 32 Oct 2015 07:28:00 GMT", None),
            ("", None),
        ];
        for (value, expected) in table {
            assert_eq!(parse_retry_after(value, now), *expected, "{value:?}");
        }
    }

    #[test]
    fn codes_and_fatality() {
        let body = ErrorBody::default();
        let table: Vec<(ApiError, Option<u16>, &str, bool)> = vec![
            (ApiError::Rejected { status: 415, body: body.clone() }, Some(415), "http.415", false),
            (ApiError::Auth { status: 401, body: body.clone() }, Some(401), "http.401", true),
            (ApiError::Forbidden { body: body.clone() }, Some(403), "http.403", true),
            (ApiError::NotFound { what: "x".into(), body: body.clone() }, Some(404), "http.404", true),
            (ApiError::Throttled { retry_after: None }, Some(429), "http.429", false),
            (ApiError::Server { status: 503, body: body.clone() }, Some(503), "http.503", false),
            (ApiError::NotSent { reason: "r".into() }, None, "transport.not_sent", false),
            (
                ApiError::Unknown { reason: "r".into(), status: None, body: body.clone() },
                None,
                "transport.unknown",
                false,
            ),
            (
                ApiError::Unknown { reason: "r".into(), status: Some(504), body: body.clone() },
                Some(504),
                "http.504",
                false,
            ),
            (
                ApiError::Unknown { reason: "r".into(), status: Some(303), body: body.clone() },
                Some(303),
                "http.303",
                true,
            ),
            (ApiError::Protocol { reason: "r".into() }, None, "protocol.unexpected_answer", true),
            (ApiError::NoBusinessUnit, None, "config.business_unit_missing", true),
        ];
        for (err, status, code, fatal) in table {
            let kind = match code {
                "http.401" => "credentials.refused",
                "http.403" => "api.forbidden",
                "http.404" => "api.not_found",
                "http.415" => "api.rejected",
                "http.429" => "api.throttled",
                "http.303" => "api.redirected",
                "transport.unknown" | "http.504" => "api.unknown_outcome",
                "config.business_unit_missing" => "config.business_unit_missing",
                _ => "api.unavailable",
            };
            assert_eq!(err.code(), kind, "{err:?}");
            assert_eq!(err.http_status(), status, "{err:?}");
            assert_eq!(err.error_code().as_deref(), Some(code), "{err:?}");
            assert_eq!(err.is_fatal(), fatal, "{err:?}");
        }
    }

    #[test]
    fn forbidden_1014_hints_at_swapped_ids() {
        let err = ApiError::Forbidden {
            body: ErrorBody::from_text(r#"{"message":"Access denied","errorCode":1014,"correlationId":"c1"}"#),
        };
        assert_eq!(
            err.to_string(),
            "Trustpilot refused access with HTTP 403 Forbidden: \"Access denied\" (errorCode 1014, \
             correlationId c1). The credentials work, but may not act for this business unit: \
             check the business unit id (--business-unit-id or TRUSTPILOT_BUSINESS_UNIT_ID) and \
             that the business user belongs to it. errorCode 1014 often means a business user id \
             and a business unit id were swapped: TRUSTPILOT_BUSINESS_UNIT_ID takes the business \
             unit id (`tp-invite business-unit <DOMAIN>` prints it), TRUSTPILOT_BUSINESS_USER_ID \
             the business user id."
        );
    }

    #[test]
    fn throttled_and_server_messages() {
        assert_eq!(
            ApiError::Throttled { retry_after: Some(Duration::from_secs(30)) }.to_string(),
            "Trustpilot answered HTTP 429 Too Many Requests: its rate limit is reached and it \
             asked to wait 30 seconds. Sending pauses and resumes by itself; if this keeps \
             happening, lower --rate."
        );
        assert!(
            ApiError::Throttled { retry_after: Some(MAX_RETRY_AFTER) }
                .to_string()
                .contains("and it asked to wait a day or more. ")
        );
        assert_eq!(
            ApiError::Server { status: 503, body: ErrorBody::from_text("busy") }.to_string(),
            "Trustpilot had a server problem (HTTP 503 Service Unavailable: \"busy\"). This is \
             usually temporary: try again in a few minutes (`tp-invite retry` re-sends the rows \
             that failed)."
        );
    }
}
