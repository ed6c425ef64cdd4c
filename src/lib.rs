//! `tp-invite`: turn a shop's customer export into Trustpilot service review invitations.
//!
//! Rows stream from [`input`] through [`validate`] into the sender ([`send`]), which talks to
//! Trustpilot through [`api`] and tells every outcome to a [`journal`]: the [`ledger`] (who
//! was invited, per business unit, durably) and the run's results report ([`record`]).
//! [`cmd`] holds one module per subcommand; [`sandbox`] emulates Trustpilot for tests and
//! rehearsals.

pub mod api;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod error;
pub mod exit;
pub mod input;
pub mod invitation;
pub mod journal;
pub mod ledger;
pub mod record;
pub mod sandbox;
pub mod send;
pub mod summary;
pub mod validate;

pub use exit::Exit;

use cli::{Cli, Command};
use config::{RetryConfig, SendConfig};
use error::Error;

/// Runs a parsed command line, prints any error (as one JSON object too with `--json`), and
/// says how it ended.
pub fn run(cli: Cli) -> Exit {
    let json = cli.json();
    let result = match cli.command {
        Command::Send(args) => SendConfig::from_args(args).and_then(cmd::send::run),
        Command::Retry(args) => RetryConfig::from_args(args).and_then(cmd::retry::run),
        Command::Ledger(args) => cmd::ledger::run(args),
        Command::BusinessUnit(args) => cmd::business_unit::run(args),
        Command::Templates(args) => cmd::templates::run(args),
        Command::Sandbox(args) => Ok(sandbox::run_standalone(args.port, &args.faults)),
    };
    match result {
        Ok(exit) => exit,
        Err(error) => report(&error, json),
    }
}

/// A command line clap could not parse: its message (or the help or version asked for),
/// and with `--json` anywhere on the line one object on stdout too.
pub fn parse_error(error: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    let _ = error.print();
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Exit::Success
        }
        _ => {
            if std::env::args_os().any(|arg| arg == "--json") {
                let message = error.kind().as_str().unwrap_or("the command line is not valid").to_string();
                let error = Error::Usage(format!("{message}; see tp-invite --help"));
                summary::Summary::of_error(&error).print(true, false);
            }
            Exit::Usage
        }
    }
}

/// Says why a command could not run: one line on stderr (even with `--quiet`), and with
/// `--json` one object on stdout.
pub fn report(error: &Error, json: bool) -> Exit {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "tp-invite: {error}");
    if json {
        summary::Summary::of_error(error).print(true, false);
    }
    error.exit()
}
