//! Scrubbing of secret values out of text that came from elsewhere (server answers, transport errors).

use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret value in text.
pub(crate) const REDACTED: &str = "[redacted]";

/// Shorter values are not scrubbed: replacing every `ab` in a message would garble it, and a
/// value that short is not worth hiding.
const MIN_LEN: usize = 4;

/// How many access/refresh tokens are remembered: the current ones and a few before them.
const KEEP_TOKENS: usize = 8;

/// Knows the credentials and the tokens issued so far, and removes them from any text, so a
/// server that echoes what it was sent cannot make us print a secret.
#[derive(Default)]
pub(crate) struct Scrubber {
    fixed: Vec<SecretString>,
    tokens: Mutex<Vec<SecretString>>,
}

impl Scrubber {
    pub(crate) fn new(fixed: Vec<String>) -> Scrubber {
        Scrubber {
            fixed: fixed.into_iter().filter(|v| v.len() >= MIN_LEN).map(SecretString::from).collect(),
            tokens: Mutex::new(Vec::new()),
        }
    }

    /// Remember a token so it is scrubbed too.
    pub(crate) fn add_token(&self, token: &SecretString) {
        if token.expose_secret().len() < MIN_LEN {
            return;
        }
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.len() >= KEEP_TOKENS {
            tokens.remove(0);
        }
        tokens.push(token.clone());
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        for secret in self.fixed.iter().chain(tokens.iter()) {
            let secret = secret.expose_secret();
            if text.contains(secret) {
                text = text.replace(secret, REDACTED);
            }
        }
        text
    }

    pub(crate) fn scrub_opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.scrub(&t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_credentials_and_tokens() {
        let s = Scrubber::new(vec!["key-1234".into(), "pw".into()]);
        s.add_token(&SecretString::from("tok-abcdef"));
        assert_eq!(
            s.scrub("bad key key-1234 and token tok-abcdef; pw stays"),
            "bad key [redacted] and token [redacted]; pw stays"
        );
    }
}
