//! Small words shared by every room that talks to the user: grammatical counts and paths
//! quoted for a shell.

use std::borrow::Cow;
use std::fmt;

/// "1 row", "2 rows".
pub struct Count(pub u64, pub &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Count(n, noun) = *self;
        if n == 1 {
            return write!(f, "1 {noun}");
        }
        // "entry" -> "entries", "day" -> "days".
        match noun.strip_suffix('y') {
            Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => write!(f, "{n} {stem}ies"),
            _ => write!(f, "{n} {noun}s"),
        }
    }
}

/// A cell's value short enough to quote in a message: its first `max` characters and `…`
/// when longer (a 10,000-character cell must not fill a cron mail).
pub fn clipped(value: &str, max: usize) -> Cow<'_, str> {
    match value.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(format!("{}…", &value[..end])),
        None => Cow::Borrowed(value),
    }
}

/// A path as a shell would need it in a command line.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grammatical() {
        assert_eq!(Count(0, "row").to_string(), "0 rows");
        assert_eq!(Count(1, "row").to_string(), "1 row");
        assert_eq!(Count(2, "row").to_string(), "2 rows");
        assert_eq!(Count(3, "entry").to_string(), "3 entries");
        assert_eq!(Count(3, "day").to_string(), "3 days");
    }

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quote("data/customers.csv"), "data/customers.csv");
        assert_eq!(shell_quote("my file.csv"), "'my file.csv'");
        assert_eq!(shell_quote("it's.csv"), r"'it'\''s.csv'");
    }
}
