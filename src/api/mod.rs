//! The Trustpilot client: endpoints and credentials (`config`), the shared access token
//! (`auth`), the calls (`client`: invitations, links, ...) and what can go wrong with them
//! (`error`).

// ApiError carries Trustpilot's error body (five optional strings) by value, as the results file
// wants it; errors are rare next to a network round trip, so their size does not matter.
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::pin::Pin;

mod auth;
mod client;
mod config;
mod error;
mod redact;
mod transport;

#[cfg(test)]
mod tests;

pub use client::{Accepted, BusinessUnit, Client, InvitationLink, Template};
pub use config::{
    API_KEY_VAR, API_SECRET_VAR, API_URL_VAR, BUSINESS_USER_ID_VAR, ConfigError, Credentials, DEFAULT_API_URL,
    DEFAULT_INVITATIONS_API_URL, Endpoints, Grant, INVITATIONS_API_URL_VAR, PASSWORD_VAR, USERNAME_VAR,
};
pub use error::{ApiError, ErrorBody};

/// Something every request waits on just before it leaves (the shared rate budget). Token
/// requests too.
pub trait Pace: Send + Sync + 'static {
    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// No pacing, for commands that make one or two calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPace;

impl Pace for NoPace {
    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// The business unit to invite for: `id` wins (no call is made); else `domain` is looked up.
pub async fn resolve_business_unit(
    client: &Client,
    id: Option<&str>,
    domain: Option<&str>,
) -> Result<BusinessUnit, ApiError> {
    fn given(value: Option<&str>) -> Option<&str> {
        value.map(str::trim).filter(|v| !v.is_empty())
    }
    if let Some(id) = given(id) {
        return Ok(BusinessUnit { id: id.to_string(), display_name: None, identifying_name: None });
    }
    match given(domain) {
        Some(domain) => client.find_business_unit(domain).await,
        None => Err(ApiError::NoBusinessUnit),
    }
}
