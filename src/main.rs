//! The `tp-invite` binary: parse the command line, run it, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tp_invite::cli::Cli::parse();
    tp_invite::run(cli).into()
}
