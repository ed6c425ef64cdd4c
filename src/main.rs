//! The `tp-invite` binary: parse the command line, read `--env-file`, run, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = match tp_invite::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return tp_invite::parse_error(error).into(),
    };
    // SAFETY: nothing has started a thread yet (the runtime, the workers and the writers all
    // start inside `run`), so no other thread can read the environment while it is set.
    if let Err(error) = unsafe { tp_invite::envfile::load(&cli) } {
        return tp_invite::report(&error, tp_invite::Voice::of(&cli)).into();
    }
    tp_invite::run(cli).into()
}
