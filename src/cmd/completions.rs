//! `tp-invite completions <SHELL>`: a completion script for the shell, from the same command
//! line definition that parses the arguments.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::Exit;

pub fn run(shell: clap_complete::Shell) -> Exit {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tp-invite", &mut script);
    crate::output::out_raw(&String::from_utf8_lossy(&script));
    Exit::Success
}
