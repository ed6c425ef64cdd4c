//! What the user reads, written so that a reader who went away (`| head -1`, `| true`, a
//! closed log pipe) never stops a run: Rust ignores SIGPIPE, so `println!` would panic on a
//! closed stdout. Every line goes through [`outln!`](crate::outln) or
//! [`errln!`](crate::errln) instead, which drop what nobody can read.
//!
//! Also how a process that must quit at once (a second Ctrl-C) says its last words: the face
//! registers them ([`set_last_words`]) so that with `--json` they are one JSON object too.

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;

/// One line on stdout; a closed stdout is not an error.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::out(format_args!($($arg)*)) };
}

/// One line on stderr; a closed stderr is not an error.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::err(format_args!($($arg)*)) };
}

/// See [`outln!`](crate::outln).
pub fn out(text: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// See [`errln!`](crate::errln).
pub fn err(text: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Text on stdout exactly as given (a help text, a completion script).
pub fn out_raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// Text on stderr exactly as given.
pub fn err_raw(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// What a process that quits at once prints, given its exit code and why.
pub type LastWords = fn(code: u8, message: &str);

static LAST_WORDS: OnceLock<LastWords> = OnceLock::new();

/// Sets how [`quit`] speaks (once; later calls change nothing).
pub fn set_last_words(words: LastWords) {
    let _ = LAST_WORDS.set(words);
}

/// Quits the process at once with `code`, saying `message` (on stderr, and with `--json` as
/// one object on stdout). Nothing is cleaned up: only for when the ledger already holds what
/// the next run needs.
pub fn quit(code: u8, message: &str) -> ! {
    match LAST_WORDS.get() {
        Some(words) => words(code, message),
        None => errln!("tp-invite: {message}"),
    }
    std::process::exit(code.into())
}
