//! The `tp-invite` binary: parse the command line, run it, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    match tp_invite::cli::Cli::try_parse() {
        Ok(cli) => tp_invite::run(cli).into(),
        Err(error) => tp_invite::parse_error(error).into(),
    }
}
