//! `tp-invite`: turn a shop's customer export into Trustpilot service review invitations.
//!
//! Rows stream from [`input`] through [`validate`] into the sender ([`send`]), which talks to
//! Trustpilot through [`api`] and tells every outcome to a [`journal`]: the [`ledger`] (who
//! was invited, per business unit, durably) and the run's results report ([`record`]).
//! [`cmd`] holds the subcommands (`links` is `send` asking for links); [`sandbox`] emulates
//! Trustpilot for tests and rehearsals.

pub mod api;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod envfile;
pub mod error;
pub mod exclude;
pub mod exit;
pub mod fields;
pub mod input;
pub mod invitation;
pub mod journal;
pub mod ledger;
pub mod orders;
pub mod output;
pub mod record;
pub mod rows;
pub mod sandbox;
pub mod schedule;
pub mod send;
pub mod summary;
pub mod text;
pub mod validate;

pub use exit::Exit;

use cli::{Cli, Command};
use config::{RetryConfig, SendConfig};
use error::Error;
use summary::Summary;

/// `0.2.0 (commit 1a2b3c4)`: the version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("TP_INVITE_COMMIT"), ")");

/// How a command speaks when it ends: whether one JSON object goes to stdout, and whether
/// that object holds a run's counts (`send`, `retry`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Voice {
    pub json: bool,
    pub run: bool,
}

impl Voice {
    pub fn of(cli: &Cli) -> Voice {
        Voice { json: cli.json(), run: cli.is_run() }
    }
}

/// Runs a parsed command line, prints any error (as one JSON object too with `--json`), and
/// says how it ended.
pub fn run(cli: Cli) -> Exit {
    let voice = Voice::of(&cli);
    if voice.json {
        output::set_last_words(json_last_words);
    }
    let result = match cli.command {
        Command::Send(args) => SendConfig::from_args(*args).and_then(cmd::send::run),
        Command::Retry(args) => RetryConfig::from_args(args).and_then(cmd::retry::run),
        Command::Links(args) => SendConfig::from_links(*args).and_then(cmd::send::run),
        Command::Ledger(args) => cmd::ledger::run(args),
        Command::BusinessUnit(args) => cmd::business_unit::run(args),
        Command::Templates(args) => cmd::templates::run(args),
        Command::Sandbox(args) => Ok(sandbox::run_standalone(args.port, &args.faults)),
        Command::Completions(args) => Ok(cmd::completions::run(args.shell)),
    };
    match result {
        Ok(exit) => exit,
        Err(error) => report(&error, voice),
    }
}

/// A run that quits at once (a second Ctrl-C) with `--json`: one line on stderr and one
/// object on stdout.
fn json_last_words(code: u8, message: &str) {
    errln!("tp-invite: {message}");
    let error = Error::Interrupted;
    let mut summary = Summary::of_error(&error);
    summary.exit_code = code;
    if let Some(error) = &mut summary.error {
        error.message = message.to_string();
    }
    summary.print_json();
}

/// A command line clap could not parse: its message (or the help or version asked for), and
/// with `--json` anywhere on the line one object on stdout too.
pub fn parse_error(error: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    let text = error.render().to_string();
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            output::out_raw(&text);
            return Exit::Success;
        }
        // `tp-invite` alone, `tp-invite ledger import` without a file: the help, on stderr.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => output::err_raw(&text),
        _ => output::err_raw(&format!("tp-invite: {}", text.strip_prefix("error: ").unwrap_or(&text))),
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.iter().any(|arg| arg == "--json") {
        let first = text.lines().next().unwrap_or_default();
        let what = match error.kind() {
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "a command or argument is missing",
            _ => first.strip_prefix("error: ").unwrap_or(first).trim_end_matches('.'),
        };
        let run = args.first().is_some_and(|command| command == "send" || command == "retry");
        summary::print_error_json(&Error::Usage(format!("{what}; see tp-invite --help")), run);
    }
    Exit::Usage
}

/// Says why a command could not run: one line on stderr (even with `--quiet`), and with
/// `--json` one object on stdout.
pub fn report(error: &Error, voice: Voice) -> Exit {
    errln!("tp-invite: {error}");
    if voice.json {
        summary::print_error_json(error, voice.run);
    }
    error.exit()
}
