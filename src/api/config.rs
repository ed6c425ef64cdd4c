//! Where Trustpilot lives and who we are to it: base URLs and credentials, from the environment.

use std::fmt;
use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use super::redact::Scrubber;

/// The default base URL for tokens and business units.
pub const DEFAULT_API_URL: &str = "https://api.trustpilot.com";
/// The default base URL for invitations.
pub const DEFAULT_INVITATIONS_API_URL: &str = "https://invitations-api.trustpilot.com";

pub const API_URL_VAR: &str = "TRUSTPILOT_API_URL";
pub const INVITATIONS_API_URL_VAR: &str = "TRUSTPILOT_INVITATIONS_API_URL";
pub const API_KEY_VAR: &str = "TRUSTPILOT_API_KEY";
pub const API_SECRET_VAR: &str = "TRUSTPILOT_API_SECRET";
pub const USERNAME_VAR: &str = "TRUSTPILOT_USERNAME";
pub const PASSWORD_VAR: &str = "TRUSTPILOT_PASSWORD";
pub const BUSINESS_USER_ID_VAR: &str = "TRUSTPILOT_BUSINESS_USER_ID";

/// A setting from the environment that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{var} is not set. Set it to {what} in the environment (for example `export {var}=...`) or in \
         a file given with --env-file; credentials are never read from flags."
    )]
    Missing { var: &'static str, what: &'static str },
    #[error("{var} is set but empty. Set it to {what} in the environment (for example `export {var}=...`).")]
    Empty { var: &'static str, what: &'static str },
    #[error("{var} is not valid Unicode. Set it again, typing the value by hand.")]
    NotUnicode { var: &'static str },
    #[error(
        "No Trustpilot login is configured. Set {USERNAME_VAR} and {PASSWORD_VAR} (a business \
         user's login), or {BUSINESS_USER_ID_VAR} (to use the client-credentials grant)."
    )]
    NoGrant,
    /// More than one of [`ConfigError::Missing`], [`ConfigError::Empty`], [`ConfigError::NoGrant`],
    /// so that one message names every setting to add.
    #[error("{}", several(missing))]
    Several { missing: Vec<ConfigError> },
    #[error("{var} is not a usable URL ({value}): {reason}. Set it to a base URL such as {example}.")]
    InvalidUrl { var: &'static str, value: String, reason: String, example: &'static str },
    #[error(
        "{var} must start with https:// ({value}), so that the password and access tokens never \
         cross a network in clear text. Only a loopback host (127.0.0.1, localhost, [::1]) may \
         use http://."
    )]
    InsecureUrl { var: &'static str, value: String },
}

impl ConfigError {
    /// One error for all of `errors`: the one itself, or [`ConfigError::Several`].
    pub fn together(mut errors: Vec<ConfigError>) -> ConfigError {
        match errors.len() {
            1 => errors.remove(0),
            _ => ConfigError::Several { missing: errors },
        }
    }
}

/// "TRUSTPILOT_API_KEY is not set (...); no login is set (...). Set them ...".
fn several(missing: &[ConfigError]) -> String {
    let each: Vec<String> = missing
        .iter()
        .map(|error| match error {
            ConfigError::Missing { var, what } => format!("{var} is not set: it holds {what}"),
            ConfigError::Empty { var, what } => format!("{var} is set but empty: it holds {what}"),
            ConfigError::NoGrant => format!(
                "no login is set: {USERNAME_VAR} and {PASSWORD_VAR} (a business user's login), or \
                 {BUSINESS_USER_ID_VAR} (for the client-credentials grant)"
            ),
            other => other.to_string(),
        })
        .collect();
    format!(
        "{} settings are missing: {}. Set them in the environment (for example `export NAME=...`) or in a \
         file given with --env-file; credentials are never read from flags.",
        missing.len(),
        each.join("; ")
    )
}

/// The two base URLs the client talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Tokens and business units.
    pub api: Url,
    /// Invitations (and templates).
    pub invitations: Url,
}

impl Endpoints {
    /// From TRUSTPILOT_API_URL / TRUSTPILOT_INVITATIONS_API_URL (defaults
    /// https://api.trustpilot.com, https://invitations-api.trustpilot.com).
    ///
    /// Refuses a URL that is not https:// unless its host is loopback (127.0.0.0/8,
    /// localhost, [::1]). An empty variable counts as unset.
    pub fn from_env() -> Result<Endpoints, ConfigError> {
        Endpoints::from_vars(env_var)
    }

    /// [`Endpoints::from_env`] with the environment given as a lookup, for tests.
    pub fn from_vars(
        get: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    ) -> Result<Endpoints, ConfigError> {
        let pick = |var: &'static str, default: &str| -> Result<String, ConfigError> {
            Ok(get(var)?.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string()))
        };
        // A credential pasted into a URL variable (as a query, a path, or the whole value) is
        // never printed back by the message that refuses the URL.
        let credentials: Vec<String> =
            [API_KEY_VAR, API_SECRET_VAR, PASSWORD_VAR].into_iter().filter_map(|var| get(var).ok().flatten()).collect();
        let scrubber =
            Scrubber::new(credentials.iter().flat_map(|value| [value.trim().to_string(), value.clone()]).collect());
        Ok(Endpoints {
            api: base_url(API_URL_VAR, &pick(API_URL_VAR, DEFAULT_API_URL)?, DEFAULT_API_URL, &scrubber, &credentials)?,
            invitations: base_url(
                INVITATIONS_API_URL_VAR,
                &pick(INVITATIONS_API_URL_VAR, DEFAULT_INVITATIONS_API_URL)?,
                DEFAULT_INVITATIONS_API_URL,
                &scrubber,
                &credentials,
            )?,
        })
    }

    /// From explicit base URLs, with the same rules as [`Endpoints::from_env`] (errors name the
    /// variable each URL stands for).
    pub fn new(api: &str, invitations: &str) -> Result<Endpoints, ConfigError> {
        let none = Scrubber::default();
        Ok(Endpoints {
            api: base_url(API_URL_VAR, api.trim(), DEFAULT_API_URL, &none, &[])?,
            invitations: base_url(
                INVITATIONS_API_URL_VAR,
                invitations.trim(),
                DEFAULT_INVITATIONS_API_URL,
                &none,
                &[],
            )?,
        })
    }
}

/// `base` with `segments` appended to its path (a base may carry a path prefix, for a proxy).
/// Each segment is percent-encoded, so an id can never change the path's shape.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// `credentials`: the key, secret and password, none of which the URL may hold.
fn base_url(
    var: &'static str,
    value: &str,
    example: &'static str,
    scrubber: &Scrubber,
    credentials: &[String],
) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        var,
        value: shown_url(value, scrubber),
        reason: reason.to_string(),
        example,
    };
    let url = Url::parse(value).map_err(|e| invalid(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not contain a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not contain a query (?...) or fragment (#...)"));
    }
    // A credential pasted into the path would be printed with the URL ("Not Trustpilot:
    // sending to ...") and kept in the ledger as its scope. Whole credentials only: a
    // password that begins like the server's name is no reason to refuse it.
    // (The user name, password, query and fragment are refused above; the host names the server.)
    let decoded =
        url::form_urlencoded::parse(url.path().as_bytes()).map(|(k, v)| format!("{k}{v}")).collect::<String>();
    if credentials
        .iter()
        .map(|secret| secret.trim())
        .any(|secret| secret.chars().count() >= 6 && (url.path().contains(secret) || decoded.contains(secret)))
    {
        return Err(invalid("it contains an API key, secret or password; the URL names only the server"));
    }
    let Some(host) = url.host() else {
        return Err(invalid("it has no host"));
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(ConfigError::InsecureUrl { var, value: shown_url(value, scrubber) }),
        _ => Err(invalid("it must start with https://")),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
        }
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// The most of a URL value an error message shows.
const SHOWN_URL_CHARS: usize = 200;

/// A URL value as it may be printed: a user name and password, a query and a fragment (each a
/// place a secret gets pasted) show as `***`, any credential elsewhere in it is scrubbed, and
/// control characters are escaped.
fn shown_url(value: &str, scrubber: &Scrubber) -> String {
    // With an `@` anywhere, a URL parser may split a password that holds `@`, `/`, `?` or `#`
    // differently from what the user meant, and show part of it as the host or path: hide
    // everything up to the last `@` instead.
    let parsed = Url::parse(value).ok().filter(|url| url.has_host() && !value.contains('@'));
    let shown = match parsed {
        Some(url) => {
            let mut bare = url.clone();
            bare.set_query(None);
            bare.set_fragment(None);
            let mut text = bare.to_string();
            if url.query().is_some() {
                text.push_str("?***");
            }
            if url.fragment().is_some() {
                text.push_str("#***");
            }
            text
        }
        None => hide_by_hand(value),
    };
    let shown = scrubber.clean(&shown);
    match shown.char_indices().nth(SHOWN_URL_CHARS) {
        Some((cut, _)) => format!("{}…", &shown[..cut]),
        None => shown,
    }
}

/// [`shown_url`] for a value that is not a URL at all: the same parts hidden, found by hand.
fn hide_by_hand(value: &str) -> String {
    let start = value.find("://").map_or(0, |i| i + 3);
    let (head, rest) = value.split_at(start);
    // The last `@`, not the first: a password may itself hold `@`, `/`, `?` or `#`.
    let rest = match rest.rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    match rest.find(['?', '#']) {
        Some(mark) => format!("{head}{}{}***", &rest[..mark], &rest[mark..mark + 1]),
        None => format!("{head}{rest}"),
    }
}

/// How the client obtains its access token.
pub enum Grant {
    /// A business user's login (`grant_type=password`); the token can be refreshed.
    Password { username: String, password: SecretString },
    /// `grant_type=client_credentials`; every private call then carries `x-business-user-id`.
    ClientCredentials { business_user_id: String },
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Password { username, .. } => {
                f.debug_struct("Password").field("username", username).field("password", &"[redacted]").finish()
            }
            Grant::ClientCredentials { business_user_id } => {
                f.debug_struct("ClientCredentials").field("business_user_id", business_user_id).finish()
            }
        }
    }
}

impl Clone for Grant {
    fn clone(&self) -> Grant {
        match self {
            Grant::Password { username, password } => {
                Grant::Password { username: username.clone(), password: password.clone() }
            }
            Grant::ClientCredentials { business_user_id } => {
                Grant::ClientCredentials { business_user_id: business_user_id.clone() }
            }
        }
    }
}

/// The application's key and secret, and the grant.
#[derive(Clone)]
pub struct Credentials {
    pub api_key: SecretString,
    pub api_secret: SecretString,
    pub grant: Grant,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &"[redacted]")
            .field("api_secret", &"[redacted]")
            .field("grant", &self.grant)
            .finish()
    }
}

impl Credentials {
    /// From TRUSTPILOT_API_KEY, TRUSTPILOT_API_SECRET, and TRUSTPILOT_USERNAME +
    /// TRUSTPILOT_PASSWORD or TRUSTPILOT_BUSINESS_USER_ID (the username wins when both are set).
    /// The error names exactly which variable is missing or empty and how to set it.
    pub fn from_env() -> Result<Credentials, ConfigError> {
        Credentials::from_vars(env_var)
    }

    /// [`Credentials::from_env`] with the environment given as a lookup, for tests.
    pub fn from_vars(
        get: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    ) -> Result<Credentials, ConfigError> {
        // Key, secret and ids never hold meaningful surrounding spaces; a password might.
        let trimmed =
            |var: &'static str| -> Result<Option<String>, ConfigError> { Ok(get(var)?.map(|v| v.trim().to_string())) };
        let required = |var: &'static str, what: &'static str, value: Option<String>| match value {
            None => Err(ConfigError::Missing { var, what }),
            Some(v) if v.trim().is_empty() => Err(ConfigError::Empty { var, what }),
            Some(v) => Ok(v),
        };
        const KEY: &str = "your application's API key (Trustpilot Business > Integrations > API)";
        const SECRET: &str = "your application's API secret";
        const USERNAME: &str = "the e-mail address a business user logs in to Trustpilot with";
        const PASSWORD: &str = "that business user's password";

        // Every missing setting is named at once, not one per run.
        let mut missing = Vec::new();
        let mut need = |result: Result<String, ConfigError>| result.map_err(|e| missing.push(e)).ok();
        let api_key = need(required(API_KEY_VAR, KEY, trimmed(API_KEY_VAR)?));
        let api_secret = need(required(API_SECRET_VAR, SECRET, trimmed(API_SECRET_VAR)?));
        let username = trimmed(USERNAME_VAR)?.filter(|v| !v.is_empty());
        let password = get(PASSWORD_VAR)?;
        let business_user_id = trimmed(BUSINESS_USER_ID_VAR)?.filter(|v| !v.is_empty());

        let grant = match (username, business_user_id) {
            (Some(username), _) => need(required(PASSWORD_VAR, PASSWORD, password))
                .map(|password| Grant::Password { username, password: SecretString::from(password) }),
            (None, Some(business_user_id)) => Some(Grant::ClientCredentials { business_user_id }),
            (None, None) if password.is_some_and(|p| !p.is_empty()) => {
                missing.push(ConfigError::Missing { var: USERNAME_VAR, what: USERNAME });
                None
            }
            (None, None) => {
                missing.push(ConfigError::NoGrant);
                None
            }
        };
        match (api_key, api_secret, grant) {
            (Some(api_key), Some(api_secret), Some(grant)) => Ok(Credentials {
                api_key: SecretString::from(api_key),
                api_secret: SecretString::from(api_secret),
                grant,
            }),
            _ => Err(ConfigError::together(missing)),
        }
    }

    /// Only TRUSTPILOT_API_KEY, for the calls that send nothing but the `apikey` header
    /// (finding a business unit by its domain). A token request with these is refused.
    pub fn key_only_from_env() -> Result<Credentials, ConfigError> {
        let key = env_var(API_KEY_VAR)?.map(|v| v.trim().to_string());
        let what = "your application's API key (Trustpilot Business > Integrations > API)";
        let api_key = match key {
            None => return Err(ConfigError::Missing { var: API_KEY_VAR, what }),
            Some(key) if key.is_empty() => return Err(ConfigError::Empty { var: API_KEY_VAR, what }),
            Some(key) => key,
        };
        Ok(Credentials {
            api_key: SecretString::from(api_key),
            api_secret: SecretString::from(String::new()),
            grant: Grant::ClientCredentials { business_user_id: String::new() },
        })
    }

    /// The secret values, for scrubbing text that came from elsewhere: also the base64 of
    /// `key:secret`, which the token requests' Basic header carries.
    pub(crate) fn secret_values(&self) -> Vec<String> {
        use base64::Engine;
        let (key, secret) = (self.api_key.expose_secret(), self.api_secret.expose_secret());
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
        let mut values = vec![key.to_string(), secret.to_string(), basic];
        if let Grant::Password { password, .. } = &self.grant {
            values.push(password.expose_secret().to_string());
        }
        values
    }
}

fn env_var(var: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(var) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode { var }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&'static str, &str)]) -> impl Fn(&'static str) -> Result<Option<String>, ConfigError> {
        let map: HashMap<&'static str, String> = pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        move |var| Ok(map.get(var).cloned())
    }

    #[test]
    fn url_rule_is_https_or_loopback() {
        let table: &[(&str, bool)] = &[
            ("https://api.trustpilot.com", true),
            ("https://api.trustpilot.com/", true),
            ("https://proxy.example.com/trustpilot/", true),
            ("HTTPS://API.TRUSTPILOT.COM", true),
            ("http://127.0.0.1:8080", true),
            ("http://127.8.9.10", true),
            ("http://localhost:3000", true),
            ("http://LOCALHOST", true),
            ("http://[::1]:8080", true),
            ("http://api.trustpilot.com", false),
            ("http://10.0.0.1", false),
            ("http://128.0.0.1", false),
            ("http://localhost.example.com", false),
            ("http://[::2]", false),
            ("http://0.0.0.0", false),
            ("ftp://api.trustpilot.com", false),
            ("api.trustpilot.com", false),
            ("", false),
            ("https://user:pw@api.trustpilot.com", false),
            ("https://api.trustpilot.com?x=1", false),
            ("https://api.trustpilot.com/#x", false),
            ("file:///etc/passwd", false),
        ];
        for (url, ok) in table {
            let got = Endpoints::new(url, DEFAULT_INVITATIONS_API_URL);
            assert_eq!(got.is_ok(), *ok, "{url}: {got:?}");
            let got = Endpoints::new(DEFAULT_API_URL, url);
            assert_eq!(got.is_ok(), *ok, "{url}: {got:?}");
        }
    }

    #[test]
    fn insecure_url_message_names_the_variable_and_the_rule() {
        let err = Endpoints::new("http://api.example.com", DEFAULT_INVITATIONS_API_URL).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TRUSTPILOT_API_URL must start with https:// (http://api.example.com/), so that the \
             password and access tokens never cross a network in clear text. Only a loopback host \
             (127.0.0.1, localhost, [::1]) may use http://."
        );
        let err = Endpoints::new(DEFAULT_API_URL, "http://10.1.1.1").unwrap_err();
        assert!(err.to_string().starts_with("TRUSTPILOT_INVITATIONS_API_URL must start with https://"));
    }

    #[test]
    fn invalid_url_message_hides_userinfo() {
        let err = Endpoints::new("https://me:hunter22@api.example.com", DEFAULT_INVITATIONS_API_URL).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter22"), "{text}");
        assert!(text.contains("https://***@api.example.com"), "{text}");
        let err = Endpoints::new("https://me:hunter 22@api.example.com", DEFAULT_INVITATIONS_API_URL).unwrap_err();
        assert!(!err.to_string().contains("hunter"), "{err}");
    }

    #[test]
    fn url_messages_never_print_a_secret_pasted_into_the_url() {
        const KEY: &str = "k3y-0f-the-app";
        const SECRET: &str = "s3cret-0f-the-app";
        const PASSWORD: &str = "pa:ss@w/rd?#x";
        let table: &[(&str, &str)] = &[
            ("https://user:pass1234@api.example.com", "https://***@api.example.com"),
            ("https://api.example.com/?apikey=k3y-0f-the-app", "https://api.example.com/?***"),
            ("https://api.example.com/v1#s3cret-0f-the-app", "https://api.example.com/v1#***"),
            ("ftp://api.example.com/k3y-0f-the-app/", "ftp://api.example.com/[redacted]/"),
            ("http://api.example.com/?k=k3y-0f-the-app", "http://api.example.com/?***"),
            ("https://me:pa:ss@w/rd?#x@api.example.com", "https://***@api.example.com"),
            ("https://me:pa%3Ass%40w%2Frd%3F%23x@api.example.com", "https://***@api.example.com"),
            ("k3y-0f-the-app", "[redacted]"),
            ("api.example.com?key=k3y", "api.example.com?***"),
            ("s3cret-0f-the-app@api", "***@api"),
            ("\u{1b}[31mhttps://x", "\\u{1b}[31mhttps://x"),
            // Accepted as a URL, but a credential in its path would be printed and stored.
            ("https://api.example.com/k3y-0f-the-app/", "https://api.example.com/[redacted]/"),
            ("http://127.0.0.1:8080/s3cret-0f-the-app", "http://127.0.0.1:8080/[redacted]"),
        ];
        for (url, shown) in table {
            for var in [API_URL_VAR, INVITATIONS_API_URL_VAR] {
                let pairs = [(var, *url), (API_KEY_VAR, KEY), (API_SECRET_VAR, SECRET), (PASSWORD_VAR, PASSWORD)];
                let err = Endpoints::from_vars(vars(&pairs)).expect_err(url);
                let text = err.to_string();
                assert!(text.contains(&format!("({shown})")), "{url}: {text}");
                for secret in [KEY, SECRET, PASSWORD, "pass1234", "k3y-0f", "s3cret", "pa:ss", "pa%3Ass"] {
                    assert!(!text.contains(secret) && !format!("{err:?}").contains(secret), "{url}: {text}");
                }
            }
        }
        // A password that happens to be part of Trustpilot's address refuses nothing.
        let pairs = [(PASSWORD_VAR, "trustpilot"), (API_URL_VAR, "https://api.trustpilot.com/")];
        assert!(Endpoints::from_vars(vars(&pairs)).is_ok());
        assert!(Endpoints::from_vars(vars(&[(PASSWORD_VAR, "trustpilot")])).is_ok());
        let long = format!("ftp://example.com/{}", "x".repeat(500));
        let text = Endpoints::new(&long, DEFAULT_INVITATIONS_API_URL).unwrap_err().to_string();
        assert!(text.contains("xxx…)"), "{text}");
        assert!(text.len() < 500, "{text}");
    }

    #[test]
    fn endpoints_default_and_ignore_empty_variables() {
        let e = Endpoints::from_vars(vars(&[(API_URL_VAR, "  ")])).unwrap();
        assert_eq!(e.api.as_str(), "https://api.trustpilot.com/");
        assert_eq!(e.invitations.as_str(), "https://invitations-api.trustpilot.com/");
        let e = Endpoints::from_vars(vars(&[
            (API_URL_VAR, "http://127.0.0.1:9000"),
            (INVITATIONS_API_URL_VAR, "http://localhost:9001/prefix/"),
        ]))
        .unwrap();
        assert_eq!(e.api.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(e.invitations.as_str(), "http://localhost:9001/prefix/");
    }

    #[test]
    fn join_appends_encoded_segments() {
        let e = Endpoints::new("https://a.example/", "https://b.example/pre/fix").unwrap();
        assert_eq!(join(&e.api, &["v1", "x"]).as_str(), "https://a.example/v1/x");
        assert_eq!(
            join(&e.invitations, &["v1", "business-units", "a/b?c"]).as_str(),
            "https://b.example/pre/fix/v1/business-units/a%2Fb%3Fc"
        );
    }

    #[test]
    fn credentials_pick_the_grant() {
        let c = Credentials::from_vars(vars(&[
            (API_KEY_VAR, " key "),
            (API_SECRET_VAR, "secret"),
            (USERNAME_VAR, "me@example.com"),
            (PASSWORD_VAR, " pass word "),
            (BUSINESS_USER_ID_VAR, "buid"),
        ]))
        .unwrap();
        assert_eq!(c.api_key.expose_secret(), "key");
        match &c.grant {
            Grant::Password { username, password } => {
                assert_eq!(username, "me@example.com");
                assert_eq!(password.expose_secret(), " pass word ");
            }
            other => panic!("{other:?}"),
        }
        let c = Credentials::from_vars(vars(&[
            (API_KEY_VAR, "key"),
            (API_SECRET_VAR, "secret"),
            (USERNAME_VAR, ""),
            (BUSINESS_USER_ID_VAR, "buid"),
        ]))
        .unwrap();
        assert!(matches!(&c.grant, Grant::ClientCredentials { business_user_id } if business_user_id == "buid"));
    }

    #[test]
    fn credentials_errors_name_the_variable() {
        let table: &[(&[(&'static str, &str)], ConfigError)] = &[
            (
                &[(API_SECRET_VAR, "s"), (BUSINESS_USER_ID_VAR, "b")],
                ConfigError::Missing { var: API_KEY_VAR, what: "" },
            ),
            (
                &[(API_KEY_VAR, " "), (API_SECRET_VAR, "s"), (BUSINESS_USER_ID_VAR, "b")],
                ConfigError::Empty { var: API_KEY_VAR, what: "" },
            ),
            (
                &[(API_KEY_VAR, "k"), (USERNAME_VAR, "u"), (PASSWORD_VAR, "p")],
                ConfigError::Missing { var: API_SECRET_VAR, what: "" },
            ),
            (&[(API_KEY_VAR, "k"), (API_SECRET_VAR, "s")], ConfigError::NoGrant),
            (
                &[(API_KEY_VAR, "k"), (API_SECRET_VAR, "s"), (USERNAME_VAR, "u")],
                ConfigError::Missing { var: PASSWORD_VAR, what: "" },
            ),
            (
                &[(API_KEY_VAR, "k"), (API_SECRET_VAR, "s"), (USERNAME_VAR, "u"), (PASSWORD_VAR, "")],
                ConfigError::Empty { var: PASSWORD_VAR, what: "" },
            ),
            (
                &[(API_KEY_VAR, "k"), (API_SECRET_VAR, "s"), (PASSWORD_VAR, "p")],
                ConfigError::Missing { var: USERNAME_VAR, what: "" },
            ),
        ];
        for (pairs, expected) in table {
            let err = Credentials::from_vars(vars(pairs)).unwrap_err();
            let same = match (&err, expected) {
                (ConfigError::Missing { var: a, .. }, ConfigError::Missing { var: b, .. }) => a == b,
                (ConfigError::Empty { var: a, .. }, ConfigError::Empty { var: b, .. }) => a == b,
                (ConfigError::NoGrant, ConfigError::NoGrant) => true,
                _ => false,
            };
            assert!(same, "{pairs:?}: got {err:?}, expected {expected:?}");
        }
    }

    #[test]
    fn credential_messages_are_exact() {
        let err = Credentials::from_vars(vars(&[(API_SECRET_VAR, "s"), (BUSINESS_USER_ID_VAR, "b")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TRUSTPILOT_API_KEY is not set. Set it to your application's API key (Trustpilot \
             Business > Integrations > API) in the environment (for example `export \
             TRUSTPILOT_API_KEY=...`) or in a file given with --env-file; credentials are never read from flags."
        );
        let err = Credentials::from_vars(vars(&[(API_SECRET_VAR, " ")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "3 settings are missing: TRUSTPILOT_API_KEY is not set: it holds your application's API key \
             (Trustpilot Business > Integrations > API); TRUSTPILOT_API_SECRET is set but empty: it holds your \
             application's API secret; no login is set: TRUSTPILOT_USERNAME and TRUSTPILOT_PASSWORD (a \
             business user's login), or TRUSTPILOT_BUSINESS_USER_ID (for the client-credentials grant). Set \
             them in the environment (for example `export NAME=...`) or in a file given with --env-file; \
             credentials are never read from flags."
        );
        let err = Credentials::from_vars(vars(&[(API_KEY_VAR, "k"), (API_SECRET_VAR, "s")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "No Trustpilot login is configured. Set TRUSTPILOT_USERNAME and TRUSTPILOT_PASSWORD (a \
             business user's login), or TRUSTPILOT_BUSINESS_USER_ID (to use the client-credentials \
             grant)."
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials::from_vars(vars(&[
            (API_KEY_VAR, "key-123456"),
            (API_SECRET_VAR, "secret-123456"),
            (USERNAME_VAR, "me@example.com"),
            (PASSWORD_VAR, "password-123456"),
        ]))
        .unwrap();
        let text = format!("{c:?} {c:#?} {:?}", c.grant);
        for secret in ["key-123456", "secret-123456", "password-123456"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("me@example.com"), "{text}");
    }
}
