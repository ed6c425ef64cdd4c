//! Sending one request and classifying what came back: an answer, or a transport failure that
//! either certainly did not send the request or may have.

use std::error::Error as _;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};

use super::error::{ApiError, ErrorBody, correlation_header, retry_after};
use super::redact::Scrubber;

/// An HTTP answer, whatever its status. The body is read in full; reading it may have failed.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: Result<String, ApiError>,
}

impl Answer {
    /// What the answer says about the error (empty when the body could not be read).
    pub fn error_body(&self, scrubber: &Scrubber) -> ErrorBody {
        let text = self.text.as_deref().unwrap_or("");
        ErrorBody::parse(text, &self.headers).scrubbed(scrubber)
    }

    /// The correlation id of a successful answer: from a header, else from a JSON body.
    pub fn correlation_id(&self) -> Option<String> {
        correlation_header(&self.headers).or_else(|| {
            let text = self.text.as_deref().ok()?;
            ErrorBody::from_text(text).correlation_id
        })
    }

    /// The answer as an error, for any status other than 2xx. `what` names the thing a 404
    /// did not find. A 401 here is final: renewal is the caller's business.
    pub fn into_error(self, what: impl FnOnce() -> String, scrubber: &Scrubber) -> ApiError {
        let status = self.status.as_u16();
        let body = self.error_body(scrubber);
        match status {
            401 => ApiError::Auth { status, body },
            403 => ApiError::Forbidden { body },
            404 => ApiError::NotFound { what: what(), body },
            429 => ApiError::Throttled { retry_after: retry_after(&self.headers) },
            // 408: the server gave up waiting for the request, so it did not act on it.
            408 | 500..=599 => ApiError::Server { status, body },
            400..=499 => ApiError::Rejected { status, body },
            300..=399 => {
                let location = self
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|l| format!(" to {}", scrubber.scrub(l)))
                    .unwrap_or_default();
                ApiError::Protocol {
                    reason: format!(
                        "it answered HTTP {status} (a redirect{location}), which is not followed; \
                         the base URL is probably wrong"
                    ),
                }
            }
            _ => ApiError::Protocol { reason: format!("it answered HTTP {status}") },
        }
    }
}

/// Send the request and read the answer.
pub(crate) async fn send(request: RequestBuilder, scrubber: &Scrubber) -> Result<Answer, ApiError> {
    let response = request.send().await.map_err(|e| transport_error(&e, scrubber))?;
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.map_err(|e| transport_error(&e, scrubber));
    Ok(Answer { status, headers, text })
}

/// A request that failed without an answer: certainly not sent when the connection was never
/// made (refused, DNS, TLS) or the request could not even be built; otherwise the request may
/// have reached the server (timeout, connection dropped after writing).
pub(crate) fn transport_error(err: &reqwest::Error, scrubber: &Scrubber) -> ApiError {
    let reason = scrubber.scrub(&describe(err));
    if err.is_connect() || err.is_builder() { ApiError::NotSent { reason } } else { ApiError::Unknown { reason } }
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
