//! Sending one request and classifying what came back: an answer, or a transport failure that
//! either certainly did not send the request or may have.

use std::error::Error as _;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};

use super::config::INVITATIONS_API_URL_VAR;
use super::error::{ApiError, ErrorBody, clip, correlation_header, retry_after};
use super::redact::Scrubber;

/// The most of an answer's body that is read; the rest is left unread. Trustpilot's answers
/// are a few kilobytes; a server that sends without end must not fill the memory.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// What a request does, as far as an unclear answer matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads something (a business unit, the templates) or asks for a token: sending it again
    /// harms nobody.
    Harmless,
    /// Creates an invitation: an answer that may come after it was created must never lead to
    /// sending it again by itself.
    Creates,
}

/// An HTTP answer, whatever its status. The body is read (up to [`MAX_BODY`]); reading it may
/// have failed.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: Result<String, ApiError>,
}

impl Answer {
    /// What the answer says about the error (empty when the body could not be read), without
    /// any secret and fit to show.
    pub fn error_body(&self, scrubber: &Scrubber) -> ErrorBody {
        let text = self.text.as_deref().unwrap_or("");
        ErrorBody::parse(text, &self.headers, scrubber)
    }

    /// The correlation id of a successful answer: from a header, else from a JSON body.
    pub fn correlation_id(&self, scrubber: &Scrubber) -> Option<String> {
        correlation_header(&self.headers, scrubber).or_else(|| {
            let text = self.text.as_deref().ok()?;
            ErrorBody::parse(text, &HeaderMap::new(), scrubber).correlation_id
        })
    }

    /// The answer as an error, for any status other than 2xx. `what` names the thing a 404
    /// did not find; `effect` says whether an unclear answer may mean something was created.
    /// A 401 here is final: renewal is the caller's business.
    ///
    /// | status | an invitation (`Creates`) | any other call | why |
    /// |---|---|---|---|
    /// | 1xx (final), 600-999 | `Unknown` | `Protocol` (fatal) | Not HTTP as Trustpilot speaks it (hyper hides the interim 1xx). The request did arrive, so whether it acted on it cannot be told. |
    /// | 3xx | `Unknown`, and fatal | `Protocol` (fatal) | Redirects are not followed (a POST would turn into a GET, or carry the token to another host). A 303 is how a server says "created, see there", and a proxy may redirect after passing the request on: so it may have been created. Every further request would be redirected too: the base URL is wrong. |
    /// | 400, 409, 415, 422, other 4xx | `Rejected` | `Rejected` | Refused for what the request holds: nothing was created, and the same request would be refused again. |
    /// | 401 | `Auth` | `Auth` | The token (after one renewal, see `Client::private`) or the credentials. Fatal. |
    /// | 403 | `Forbidden` | `Forbidden` | No access to this business unit. Fatal. |
    /// | 404 | `NotFound` | `NotFound` | Wrong base URL or business unit. Fatal. |
    /// | 408, 425 | `Server` (retried) | `Server` | The server stopped waiting for the request to arrive (408) or would not risk it (425): by definition it did not act on it. |
    /// | 429 | `Throttled` (paused, not an attempt) | `Throttled` | Refused at the gate, before the service saw it. |
    /// | 500, 502, 503, other 5xx | `Server` (retried with backoff, at most `--max-attempts`) | `Server` | Trustpilot documents these as server trouble and asks clients to try again later: the service failed (500), the gateway got no valid answer from it (502), or nothing was there to take the request (503); an invitation is created only where the service answers 2xx. |
    /// | 504 | `Unknown` | `Server` | The gateway passed the request on and stopped waiting for the service, which may still create the invitation. |
    pub fn into_error(self, what: impl FnOnce() -> String, effect: Effect, scrubber: &Scrubber) -> ApiError {
        let status = self.status.as_u16();
        let body = self.error_body(scrubber);
        let creates = effect == Effect::Creates;
        match status {
            401 => ApiError::Auth { status, body },
            403 => ApiError::Forbidden { body },
            // `what` may quote a base URL, which may hold a credential pasted into its path.
            404 => ApiError::NotFound { what: scrubber.clean(&what()), body },
            429 => ApiError::Throttled { retry_after: retry_after(&self.headers) },
            504 if creates => ApiError::Unknown {
                reason: "the gateway stopped waiting for the service, which may have created it all the same"
                    .to_string(),
                status: Some(status),
                body,
            },
            408 | 425 | 500..=599 => ApiError::Server { status, body },
            400..=499 => ApiError::Rejected { status, body },
            300..=399 => {
                let location = self
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| clip(&scrubber.clean(l)))
                    .map(|l| format!(" to {l}"))
                    .unwrap_or_default();
                if creates {
                    let reason = format!(
                        "a redirect{location} that is not followed; the base URL is probably wrong \
                         (check {INVITATIONS_API_URL_VAR})"
                    );
                    ApiError::Unknown { reason, status: Some(status), body }
                } else {
                    ApiError::Protocol {
                        reason: format!(
                            "it answered HTTP {status} (a redirect{location}), which is not followed; the \
                             base URL is probably wrong"
                        ),
                    }
                }
            }
            _ if creates => ApiError::Unknown {
                reason: "an answer that HTTP does not define for this request".to_string(),
                status: Some(status),
                body,
            },
            _ => ApiError::Protocol { reason: format!("it answered HTTP {status}") },
        }
    }
}

/// Send the request and read the answer.
pub(crate) async fn send(request: RequestBuilder, scrubber: &Scrubber) -> Result<Answer, ApiError> {
    let mut response = request.send().await.map_err(|e| transport_error(&e, scrubber))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut bytes: Vec<u8> = Vec::new();
    let text = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY - bytes.len();
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if bytes.len() >= MAX_BODY {
                    break Ok(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            Ok(None) => break Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => break Err(transport_error(&e, scrubber)),
        }
    };
    Ok(Answer { status, headers, text })
}

/// A request that failed without an answer: certainly not sent when the connection was never
/// made (refused, DNS, TLS) or the request could not even be built; otherwise the request may
/// have reached the server (timeout, connection dropped after writing).
pub(crate) fn transport_error(err: &reqwest::Error, scrubber: &Scrubber) -> ApiError {
    let reason = scrubber.clean(&describe(err));
    if err.is_connect() || err.is_builder() {
        ApiError::NotSent { reason }
    } else {
        ApiError::Unknown { reason, status: None, body: ErrorBody::default() }
    }
}

/// The error and its causes on one line, without repeating what an outer layer already said.
fn describe(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if err.is_timeout() && !parts.iter().any(|p| p.contains("timed out")) {
        parts.insert(0, "timed out".to_string());
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    let mut reason = parts.join(": ");
    if let Some(url) = err.url() {
        reason.push_str(&format!(" (calling {})", strip_query(url)));
    }
    reason
}

fn strip_query(url: &url::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LOCATION};

    fn answer(status: u16, body: &str) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_static("https://elsewhere.example/x?token=abc"));
        Answer { status: StatusCode::from_u16(status).unwrap(), headers, text: Ok(body.to_string()) }
    }

    /// The classification, as `Effect::Creates` and `Effect::Harmless` see it.
    #[test]
    fn every_status_class_has_its_meaning() {
        #[derive(Debug, PartialEq)]
        enum Is {
            Unknown,
            UnknownFatal,
            Rejected,
            Auth,
            Forbidden,
            NotFound,
            Throttled,
            Server,
            Protocol,
        }
        fn is(err: &ApiError) -> Is {
            match err {
                ApiError::Unknown { .. } if err.is_fatal() => Is::UnknownFatal,
                ApiError::Unknown { .. } => Is::Unknown,
                ApiError::Rejected { .. } => Is::Rejected,
                ApiError::Auth { .. } => Is::Auth,
                ApiError::Forbidden { .. } => Is::Forbidden,
                ApiError::NotFound { .. } => Is::NotFound,
                ApiError::Throttled { .. } => Is::Throttled,
                ApiError::Server { .. } => Is::Server,
                ApiError::Protocol { .. } => Is::Protocol,
                other => panic!("{other:?}"),
            }
        }
        let table: &[(u16, Is, Is)] = &[
            (100, Is::Unknown, Is::Protocol),
            (199, Is::Unknown, Is::Protocol),
            (300, Is::UnknownFatal, Is::Protocol),
            (301, Is::UnknownFatal, Is::Protocol),
            (302, Is::UnknownFatal, Is::Protocol),
            (303, Is::UnknownFatal, Is::Protocol),
            (304, Is::UnknownFatal, Is::Protocol),
            (307, Is::UnknownFatal, Is::Protocol),
            (308, Is::UnknownFatal, Is::Protocol),
            (399, Is::UnknownFatal, Is::Protocol),
            (400, Is::Rejected, Is::Rejected),
            (401, Is::Auth, Is::Auth),
            (403, Is::Forbidden, Is::Forbidden),
            (404, Is::NotFound, Is::NotFound),
            (405, Is::Rejected, Is::Rejected),
            (408, Is::Server, Is::Server),
            (409, Is::Rejected, Is::Rejected),
            (415, Is::Rejected, Is::Rejected),
            (422, Is::Rejected, Is::Rejected),
            (425, Is::Server, Is::Server),
            (429, Is::Throttled, Is::Throttled),
            (499, Is::Rejected, Is::Rejected),
            (500, Is::Server, Is::Server),
            (502, Is::Server, Is::Server),
            (503, Is::Server, Is::Server),
            (504, Is::Unknown, Is::Server),
            (505, Is::Server, Is::Server),
            (599, Is::Server, Is::Server),
            (600, Is::Unknown, Is::Protocol),
            (999, Is::Unknown, Is::Protocol),
        ];
        let scrubber = Scrubber::default();
        for (status, creates, harmless) in table {
            let err = answer(*status, "").into_error(|| "x".into(), Effect::Creates, &scrubber);
            assert_eq!(&is(&err), creates, "{status} creating: {err:?}");
            assert!(!err.is_retryable() || !matches!(err, ApiError::Unknown { .. }), "{status}");
            let err = answer(*status, "").into_error(|| "x".into(), Effect::Harmless, &scrubber);
            assert_eq!(&is(&err), harmless, "{status}: {err:?}");
        }
    }

    #[test]
    fn answers_that_may_mean_created_say_so() {
        let scrubber = Scrubber::new(vec!["abc".into()]);
        let body = r#"{"fault":{"faultstring":"Gateway Timeout","detail":{"errorcode":"messaging.adaptors.http.flow.GatewayTimeout"}}}"#;
        let err = answer(504, body).into_error(|| "x".into(), Effect::Creates, &scrubber);
        assert_eq!(err.http_status(), Some(504));
        assert_eq!(err.error_code().as_deref(), Some("messaging.adaptors.http.flow.GatewayTimeout"));
        assert!(!err.is_retryable() && !err.is_fatal());
        assert_eq!(
            err.to_string(),
            "Trustpilot answered HTTP 504 Gateway Timeout: \"Gateway Timeout\" (errorCode \
             messaging.adaptors.http.flow.GatewayTimeout): the gateway stopped waiting for the service, \
             which may have created it all the same. It is not known whether the invitation was created. \
             Such an invitation is recorded `unknown` and not re-sent automatically: check the \
             invitation history in Trustpilot Business before using `tp-invite retry --include-unknown`."
        );

        let err = answer(303, "").into_error(|| "x".into(), Effect::Creates, &scrubber);
        assert_eq!((err.http_status(), err.error_code().as_deref()), (Some(303), Some("http.303")));
        assert!(!err.is_retryable() && err.is_fatal());
        assert_eq!(
            err.to_string(),
            "Trustpilot answered HTTP 303 See Other: a redirect to \
             https://elsewhere.example/x?token=[redacted] that is not followed; the base URL is probably \
             wrong (check TRUSTPILOT_INVITATIONS_API_URL). It is not known whether the invitation was \
             created. Such an invitation is recorded `unknown` and not re-sent automatically: check the \
             invitation history in Trustpilot Business before using `tp-invite retry --include-unknown`."
        );
        let err = answer(302, "").into_error(|| "x".into(), Effect::Harmless, &scrubber);
        assert!(err.to_string().contains("a redirect to https://elsewhere.example/x?token=[redacted]), which"));
    }
}
