//! Text that came from elsewhere (server answers, transport errors, settings) made fit to show:
//! every secret removed in every form it can take there, and the characters that would act on a
//! terminal or reorder a line (ANSI escapes, C0/C1 controls, bidirectional overrides) escaped.
//!
//! A secret is matched however it is written, even several ways at once: as it is,
//! form-encoded (`+` for a space, `%40`), percent-encoded (either case), JSON-escaped (`\"`,
//! `\u00e9`, surrogate pairs) or as an HTML entity (`&amp;`, `&#64;`). The base64 of `key:secret`
//! (an HTTP Basic header) is a secret of its own. Any 6 or more leading characters of a secret
//! count, so a secret that a server or a length limit cut short does not leak its first half:
//! callers scrub before they clip.

use std::borrow::Cow;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret value in text.
pub(crate) const REDACTED: &str = "[redacted]";

/// A secret at least this long (in characters) is removed wherever it occurs, also inside a
/// word. A shorter one (a 1- to 3-character password) only where it stands alone: the
/// characters on either side of it are not letters, digits or `_` (or it starts or ends the
/// text). So `ab` is removed from `password=ab&x`, `"ab"` or `is ab.`, but `about` and
/// `table` keep their letters: removing every `ab` would garble every message, and a value that
/// short inside a word tells nobody anything.
const ANYWHERE_LEN: usize = 4;

/// This many leading characters of a secret are removed like the whole of it.
const PREFIX_LEN: usize = 6;

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
    /// Empty values are ignored (a key-only client has no secret).
    pub(crate) fn new(fixed: Vec<String>) -> Scrubber {
        Scrubber {
            fixed: fixed.into_iter().filter(|v| !v.is_empty()).map(SecretString::from).collect(),
            tokens: Mutex::new(Vec::new()),
        }
    }

    /// Remember a token so it is scrubbed too.
    pub(crate) fn add_token(&self, token: &SecretString) {
        if token.expose_secret().is_empty() {
            return;
        }
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.len() >= KEEP_TOKENS {
            tokens.remove(0);
        }
        tokens.push(token.clone());
    }

    /// The text with every secret, in any form, replaced by [`REDACTED`].
    pub(crate) fn scrub(&self, text: &str) -> String {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for secret in self.fixed.iter().chain(tokens.iter()) {
            find_secret(text, secret.expose_secret(), &mut spans);
        }
        drop(tokens);
        if spans.is_empty() {
            return text.to_string();
        }
        // Overlapping or touching spans (two secrets side by side) make one redaction.
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in merged {
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// [`Scrubber::scrub`], then [`escape_controls`]: text from elsewhere, fit for a terminal,
    /// a CSV cell or JSON.
    pub(crate) fn clean(&self, text: &str) -> String {
        escape_controls(&self.scrub(text)).into_owned()
    }
}

/// Control characters (C0, DEL, C1: ANSI escape sequences start with one) and the Unicode
/// bidirectional formatting characters (U+202E turns the rest of a line around) written as
/// `\u{..}`, so they show instead of acting; tabs and line breaks become spaces.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    fn acts(c: char) -> bool {
        c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
    }
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if acts(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The characters that change the direction of text (Unicode's bidi embeddings, overrides,
/// isolates and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Adds to `spans` the byte ranges of `text` that hold `secret` (or 6+ of its leading
/// characters), written in any of the forms the module describes.
fn find_secret(text: &str, secret: &str, spans: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let wanted = secret.as_bytes();
    let Some(&first) = wanted.first() else { return };
    let chars = secret.chars().count();
    let short = chars < ANYWHERE_LEN;
    let mut start = 0;
    while start < bytes.len() {
        let b = bytes[start];
        if !text.is_char_boundary(start) || (b != first && !matches!(b, b'%' | b'+' | b'\\' | b'&')) {
            start += 1;
            continue;
        }
        let (matched, mut end) = match_at(bytes, start, wanted);
        // A match that stopped inside a multi-byte character of the text keeps that character.
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let matched_chars = secret.get(..matched).map_or_else(
            || secret.char_indices().take_while(|(i, c)| i + c.len_utf8() <= matched).count(),
            |prefix| prefix.chars().count(),
        );
        let whole = matched == wanted.len();
        let found = if short { whole && stands_alone(text, start, end) } else { whole || matched_chars >= PREFIX_LEN };
        if found && end > start {
            spans.push((start, end));
            start = end;
        } else {
            start += 1;
        }
    }
}

/// Neither neighbour of `text[start..end]` is a letter, digit or `_`.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(is_word) && !after.is_some_and(is_word)
}

/// How many bytes of `wanted` the text spells from `start` on (the most it can, when an escape
/// character could also be meant literally: `%25` is `%` or `%` followed by `25`), and where
/// that stops in the text.
fn match_at(text: &[u8], start: usize, wanted: &[u8]) -> (usize, usize) {
    // Both readings rarely match for more than a character, but a pathological text must not
    // make this exponential.
    let mut budget = 8 * wanted.len() + 64;
    longest_match(text, start, wanted, 0, &mut budget)
}

/// Follows the text while it spells `wanted`; only where an escape and the literal character
/// both fit does it try both (recursing into one), so the depth stays small for any secret.
fn longest_match(text: &[u8], mut at: usize, wanted: &[u8], mut matched: usize, budget: &mut usize) -> (usize, usize) {
    let mut best = (matched, at);
    while matched < wanted.len() && at < text.len() && *budget > 0 {
        *budget -= 1;
        let literal = text[at] == wanted[matched];
        let escape = decode_unit(text, at).filter(|(decoded, _)| wanted[matched..].starts_with(decoded.as_bytes()));
        match escape {
            Some((decoded, used)) => {
                if literal {
                    let other = longest_match(text, at + 1, wanted, matched + 1, budget);
                    if other.0 > best.0 {
                        best = other;
                    }
                }
                at += used;
                matched += decoded.len();
            }
            None if literal => {
                at += 1;
                matched += 1;
            }
            None => break,
        }
        // The same secret spelled over more of the text (an escape rather than its first
        // character) is removed whole.
        if matched > best.0 || (matched == best.0 && at > best.1) {
            best = (matched, at);
        }
    }
    best
}

/// The bytes one escape at `at` stands for, and its length in the text: `%XX` (one byte, so a
/// multi-byte character is several), `+` (a space, in a form), a JSON escape, an HTML entity.
fn decode_unit(text: &[u8], at: usize) -> Option<(Decoded, usize)> {
    let rest = &text[at..];
    match rest.first()? {
        b'%' => {
            let byte = hex_value(rest.get(1..3)?)?;
            Some((Decoded::byte(byte as u8), 3))
        }
        b'+' => Some((Decoded::byte(b' '), 1)),
        b'\\' => {
            let simple = match rest.get(1)? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let unit = hex_value(rest.get(2..6)?)?;
                    if (0xd800..0xdc00).contains(&unit) {
                        // A surrogate pair: `\ud83d\ude00`.
                        let low = rest.get(6..8).filter(|s| *s == b"\\u").and_then(|_| hex_value(rest.get(8..12)?))?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return None;
                        }
                        let c = char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))?;
                        return Some((Decoded::char(c), 12));
                    }
                    return Some((Decoded::char(char::from_u32(unit)?), 6));
                }
                _ => return None,
            };
            Some((Decoded::byte(simple), 2))
        }
        b'&' => {
            let end = rest.iter().take(12).position(|&b| b == b';')?;
            let name = std::str::from_utf8(&rest[1..end]).ok()?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = match name.strip_prefix('#')? {
                        hex if hex.starts_with(['x', 'X']) => u32::from_str_radix(&hex[1..], 16).ok()?,
                        decimal => decimal.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((Decoded::char(c), end + 1))
        }
        _ => None,
    }
}

/// The hexadecimal number the ASCII digits spell (either case), if they all are hex digits.
fn hex_value(digits: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(digits).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// Up to 4 bytes: one decoded byte, or one character's UTF-8.
struct Decoded {
    bytes: [u8; 4],
    len: usize,
}

impl Decoded {
    fn byte(byte: u8) -> Decoded {
        Decoded { bytes: [byte, 0, 0, 0], len: 1 }
    }

    fn char(c: char) -> Decoded {
        let mut bytes = [0; 4];
        let len = c.encode_utf8(&mut bytes).len();
        Decoded { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const KEY: &str = "key-1234abcd";
    const SECRET: &str = "s3cr\"et/+&é x\\y";
    const PASSWORD: &str = "pä$$ wörd=1&2%\u{1F600}";
    const TOKEN: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz01";

    fn basic() -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:{SECRET}"))
    }

    fn scrubber() -> Scrubber {
        let s = Scrubber::new(vec![KEY.into(), SECRET.into(), PASSWORD.into(), basic()]);
        s.add_token(&SecretString::from(TOKEN));
        s
    }

    fn form(value: &str) -> String {
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, in either case.
    fn percent(value: &str, upper: bool) -> String {
        value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                b if upper => format!("%{b:02X}"),
                b => format!("%{b:02x}"),
            })
            .collect()
    }

    /// JSON string content, as serde writes it, and with every non-ASCII character as `\u`.
    fn json(value: &str, ascii: bool) -> String {
        let quoted = serde_json::to_string(value).unwrap();
        let inner = &quoted[1..quoted.len() - 1];
        if !ascii {
            return inner.to_string();
        }
        inner
            .chars()
            .map(|c| match c as u32 {
                0..0x80 => c.to_string(),
                _ => c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect(),
            })
            .collect()
    }

    fn html(value: &str) -> String {
        value.replace('&', "&amp;").replace('"', "&quot;").replace('/', "&#47;").replace('é', "&#xE9;")
    }

    #[track_caller]
    fn assert_gone(text: &str) {
        let out = scrubber().scrub(text);
        for secret in [KEY, SECRET, PASSWORD, TOKEN, basic().as_str()] {
            let head: String = secret.chars().take(PREFIX_LEN).collect();
            assert!(!out.contains(&head), "{head:?} of {secret:?} left in {out:?} (from {text:?})");
        }
        assert!(out.contains(REDACTED), "{out:?}");
    }

    #[test]
    fn plain() {
        for secret in [KEY, SECRET, PASSWORD, TOKEN] {
            assert_gone(&format!("it said: {secret}."));
        }
        assert_eq!(scrubber().scrub(&format!("key {KEY} and token {TOKEN}!")), "key [redacted] and token [redacted]!");
    }

    #[test]
    fn form_encoded() {
        for secret in [KEY, SECRET, PASSWORD, TOKEN] {
            assert_gone(&format!("grant_type=password&password={}&x=1", form(secret)));
        }
        assert_eq!(
            scrubber().scrub(&format!("username=me&password={}&scope=", form(PASSWORD))),
            "username=me&password=[redacted]&scope="
        );
    }

    #[test]
    fn percent_encoded_either_case() {
        for secret in [KEY, SECRET, PASSWORD, TOKEN] {
            assert_gone(&format!("GET /x?secret={}", percent(secret, true)));
            assert_gone(&format!("GET /x?secret={}", percent(secret, false)));
        }
    }

    #[test]
    fn json_escaped() {
        for secret in [KEY, SECRET, PASSWORD, TOKEN] {
            assert_gone(&format!(r#"{{"password":"{}"}}"#, json(secret, false)));
            assert_gone(&format!(r#"{{"password":"{}"}}"#, json(secret, true)));
        }
        // JSON inside JSON: the scrubber is run again on each field once the outer layer is
        // read (see ErrorBody), so one layer at a time is enough.
        let inner = serde_json::to_string(&serde_json::json!({ "secret": SECRET })).unwrap();
        let outer = serde_json::to_string(&serde_json::json!({ "details": inner })).unwrap();
        let once: serde_json::Value = serde_json::from_str(&scrubber().scrub(&outer)).unwrap();
        assert_gone(once["details"].as_str().unwrap());
    }

    #[test]
    fn html_entities() {
        assert_gone(&format!("<p>secret: {}</p>", html(SECRET)));
    }

    #[test]
    fn base64_of_key_and_secret() {
        assert_gone(&format!("Authorization: Basic {}", basic()));
        // ... also form-encoded (`=` and `+` and `/` escaped).
        assert_gone(&format!("authorization=Basic%20{}", form(&basic())));
    }

    #[test]
    fn any_prefix_of_six_characters() {
        for secret in [KEY, SECRET, PASSWORD, TOKEN, basic().as_str()] {
            let chars: Vec<char> = secret.chars().collect();
            for cut in PREFIX_LEN..chars.len() {
                let head: String = chars[..cut].iter().collect();
                assert_gone(&format!("…{head}…"));
                assert_gone(&format!("x={}", form(&head)));
            }
        }
        // Five characters of a long secret are not enough to be told from ordinary text.
        assert_eq!(scrubber().scrub("AbCdE is fine"), "AbCdE is fine");
    }

    #[test]
    fn mixed_forms_in_one_value() {
        let mixed = format!("s3cr{}et%2F+%26\\u00e9 x\\\\y", "\\\"");
        assert_gone(&mixed);
    }

    #[test]
    fn short_secrets_only_where_they_stand_alone() {
        let s = Scrubber::new(vec!["ab".into(), "x".into(), "a b".into(), "!".into(), String::new()]);
        let table = [
            ("password=ab&x=1", "password=[redacted]&[redacted]=1"),
            (r#"{"password":"ab"}"#, r#"{"password":"[redacted]"}"#),
            ("it is ab.", "it is [redacted]."),
            ("ab", "[redacted]"),
            ("about a table", "about a table"),
            ("x-ray", "[redacted]-ray"),
            ("extra", "extra"),
            ("password=a+b&", "password=[redacted]&"),
            ("wait!", "wait!"),
            ("wait !", "wait [redacted]"),
        ];
        for (text, expected) in table {
            assert_eq!(s.scrub(text), expected, "{text:?}");
        }
    }

    #[test]
    fn an_escape_character_in_the_secret_may_be_meant_either_way() {
        let s = Scrubber::new(vec!["50%\\".into(), "a%25b".into()]);
        assert_eq!(s.scrub("p=50%25%5C&q=50%\\"), "p=[redacted]&q=[redacted]");
        assert_eq!(s.scrub("a%25b a%2525b"), "[redacted] [redacted]");
    }

    #[test]
    fn a_huge_secret_is_matched_without_deep_recursion() {
        let huge = "%".repeat(200_000);
        let s = Scrubber::new(vec![huge.clone()]);
        assert_eq!(s.scrub(&format!("<{huge}>")), "<[redacted]>");
        assert_eq!(s.scrub(&format!("<{}>", "%25".repeat(200_000))), "<[redacted]>");
    }

    #[test]
    fn secrets_of_four_or_five_characters_go_anywhere() {
        let s = Scrubber::new(vec!["pw12".into()]);
        assert_eq!(s.scrub("xpw12y pw%31%32"), "x[redacted]y [redacted]");
    }

    #[test]
    fn overlapping_and_touching_secrets_make_one_redaction() {
        let s = Scrubber::new(vec!["abcdefgh".into(), "efghijkl".into()]);
        assert_eq!(s.scrub("<abcdefghijkl>"), "<[redacted]>");
        assert_eq!(s.scrub("<abcdefghefghijkl>"), "<[redacted]>");
    }

    #[test]
    fn nothing_to_remove_leaves_the_text_as_it_was() {
        let text = "100% sure: a+b & \\n \\u12 &#xZZ; &nbsp; %zz é";
        assert_eq!(scrubber().scrub(text), text);
        assert_eq!(Scrubber::default().scrub(text), text);
    }

    #[test]
    fn only_the_latest_tokens_are_remembered() {
        let s = Scrubber::new(Vec::new());
        let tokens: Vec<String> = (0..KEEP_TOKENS + 2).map(|n| format!("token-number-{n:02}")).collect();
        for token in &tokens {
            s.add_token(&SecretString::from(token.as_str()));
        }
        let last = tokens.last().unwrap();
        assert_eq!(s.scrub(last), REDACTED);
    }

    #[test]
    fn controls_and_bidi_characters_are_shown_not_obeyed() {
        let table = [
            ("\u{1b}[31mred\u{1b}[0m", "\\u{1b}[31mred\\u{1b}[0m"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("a\u{2066}b\u{2069}c\u{200f}", "a\\u{2066}b\\u{2069}c\\u{200f}"),
            ("bell\u{7} del\u{7f} c1\u{9b}", "bell\\u{7} del\\u{7f} c1\\u{9b}"),
            ("two\r\nlines\tand\u{2028}more", "two  lines and more"),
            ("plain é 😀", "plain é 😀"),
        ];
        for (text, expected) in table {
            assert_eq!(escape_controls(text), expected, "{text:?}");
        }
        assert_eq!(scrubber().clean(&format!("\u{1b}]0;{TOKEN}\u{7}")), "\\u{1b}]0;[redacted]\\u{7}");
    }
}
