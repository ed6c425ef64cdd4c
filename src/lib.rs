//! `tp-invite`: turn a shop's customer export into Trustpilot service review invitations.
//!
//! Rows stream from [`input`] through [`validate`] into the sender ([`send`]), which talks to
//! Trustpilot through [`api`]; every outcome lands in the results record ([`record`]).
//! [`cmd`] holds one module per subcommand; [`sandbox`] emulates Trustpilot for tests and
//! rehearsals.

pub mod api;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod exit;
pub mod input;
pub mod invitation;
pub mod record;
pub mod sandbox;
pub mod send;
pub mod summary;
pub mod validate;

pub use exit::Exit;

use cli::{Cli, Command};
use config::{ConfigError, RetryConfig, SendConfig};

/// Runs a parsed command line, prints any error, and says how it ended.
pub fn run(cli: Cli) -> Exit {
    let result = match cli.command {
        Command::Send(args) => SendConfig::from_args(args).map_err(usage).and_then(cmd::send::run),
        Command::Retry(args) => RetryConfig::from_args(args).map_err(usage).and_then(cmd::retry::run),
        Command::BusinessUnit(args) => cmd::business_unit::run(args),
        Command::Templates(args) => cmd::templates::run(args),
        Command::Sandbox(args) => Ok(sandbox::run_standalone(args.port, &args.faults)),
    };
    match result {
        Ok(exit) => exit,
        Err(error) => {
            if error.is::<cmd::Usage>() {
                eprintln!("tp-invite: {error}");
                return Exit::Usage;
            }
            if error.is::<cmd::Interrupted>() {
                eprintln!("tp-invite: {error}");
                return Exit::Interrupted;
            }
            if error.is::<cmd::Fatal>() {
                eprintln!("tp-invite: {error}");
            } else {
                eprintln!("tp-invite: {error:#}");
            }
            Exit::Fatal
        }
    }
}

fn usage(error: ConfigError) -> anyhow::Error {
    match error {
        ConfigError::Usage(message) => cmd::Usage(message).into(),
        ConfigError::Fatal(message) => cmd::Fatal(message).into(),
    }
}
