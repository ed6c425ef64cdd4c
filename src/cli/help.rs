//! What each command's `--help` says after its options: the environment variables it reads,
//! its exit codes, and for `send` a few examples. Kept beside the command line so that a flag
//! and the words about it change together.

/// Every variable the tool reads, and what it holds.
const VARIABLES: [(&str, &str); 9] = [
    ("TRUSTPILOT_API_KEY", "your application's API key (Trustpilot Business > Integrations)"),
    ("TRUSTPILOT_API_SECRET", "your application's API secret"),
    ("TRUSTPILOT_USERNAME", "a business user's login email (with TRUSTPILOT_PASSWORD), or"),
    ("TRUSTPILOT_PASSWORD", "that business user's password"),
    ("TRUSTPILOT_BUSINESS_USER_ID", "instead of a login: a business user id (client credentials)"),
    ("TRUSTPILOT_BUSINESS_UNIT_ID", "the business unit (or --business-unit-id, --domain)"),
    ("TRUSTPILOT_API_URL", "tokens, business units [default: https://api.trustpilot.com]"),
    ("TRUSTPILOT_INVITATIONS_API_URL", "invitations [default: https://invitations-api.trustpilot.com]"),
    ("TP_INVITE_LEDGER", "the ledger file (or --ledger)"),
];

/// What each exit code means.
const EXIT_CODES: [(u8, &str); 6] = [
    (0, "done: every row sent, already sent, or not to be sent (with --dry-run: every row valid)"),
    (1, "could not run, or stopped: settings, credentials, input, another run; the reason is on stderr"),
    (2, "usage error: unknown flag or bad value"),
    (3, "completed; some rows are invalid (see the error report), every other row was sent"),
    (4, "completed; some rows failed or their outcome is unknown (see the summary's Next:)"),
    (130, "interrupted (Ctrl-C); the same command again finishes the job"),
];

/// Every variable's name.
pub const ALL: [&str; 9] = {
    let mut names = [""; 9];
    let mut i = 0;
    while i < VARIABLES.len() {
        names[i] = VARIABLES[i].0;
        i += 1;
    }
    names
};

/// Whether the tool reads the variable `name`.
pub fn is_variable(name: &str) -> bool {
    ALL.contains(&name)
}

/// "Environment:" and the variables named, one a line.
fn environment(names: &[&str], note: &str) -> String {
    let width = names.iter().map(|name| name.len()).max().unwrap_or(0);
    let mut text = String::from(
        "Environment (settings never come from flags, so no secret shows in `ps` or the shell's history;\n\
         --env-file reads them from a file instead):\n",
    );
    for name in names {
        let (_, what) = VARIABLES.iter().find(|(var, _)| var == name).expect("a known variable");
        text.push_str(&format!("  {name:<width$}  {what}\n"));
    }
    if !note.is_empty() {
        text.push_str(note);
        text.push('\n');
    }
    text
}

/// "Exit codes:" and the codes given, one a line; `overrides` replace a code's usual words.
fn exit_codes(codes: &[u8], overrides: &[(u8, &str)]) -> String {
    let mut text = String::from("\nExit codes:\n");
    for code in codes {
        let what = overrides.iter().chain(&EXIT_CODES).find(|(c, _)| c == code).map(|(_, w)| *w).unwrap_or_default();
        text.push_str(&format!("  {code:<3}  {what}\n"));
    }
    text
}

/// After the list of commands.
pub fn top() -> String {
    format!(
        "{}{}\nEach command's --help names the variables it reads and its exit codes.",
        environment(&ALL, "With --sandbox or --dry-run no credentials are needed."),
        exit_codes(&[0, 1, 2, 3, 4, 130], &[])
    )
}

pub fn send() -> String {
    format!(
        "{}{}\nExamples:\n  \
         tp-invite send customers.csv --dry-run\n      \
         check every row and write the reports; nothing is sent, no credentials are needed\n  \
         tp-invite send customers.csv --sandbox\n      \
         rehearse the whole run against the built-in Trustpilot emulator\n  \
         /usr/local/bin/tp-invite send /srv/shop/last-month.csv --env-file /srv/shop/trustpilot.env --quiet\n      \
         send for real from cron: settings from a file only its owner may read (chmod 600)",
        environment(&ALL, "With --sandbox or --dry-run no credentials are needed."),
        exit_codes(&[0, 1, 2, 3, 4, 130], &[])
    )
}

pub fn links() -> String {
    format!(
        "{}{}\nExamples:\n  \
         tp-invite links customers.csv --dry-run\n      \
         check every row; nothing is created, no credentials are needed\n  \
         tp-invite links customers.csv --sandbox\n      \
         rehearse against the built-in emulator: the links in customers.links.csv lead nowhere",
        environment(&ALL, "With --sandbox or --dry-run no credentials are needed."),
        exit_codes(&[0, 1, 2, 3, 4, 130], &[(0, "every row has its link (made now or by an earlier run)")])
    )
}

pub fn retry() -> String {
    format!(
        "{}{}",
        environment(&ALL, "With --sandbox no credentials are needed."),
        exit_codes(&[0, 1, 2, 3, 4, 130], &[(0, "done: every row re-sent is sent (or nothing was left to re-send)")])
    )
}

pub fn ledger() -> String {
    format!(
        "{}{}",
        environment(
            &["TP_INVITE_LEDGER", "TRUSTPILOT_BUSINESS_UNIT_ID", "TRUSTPILOT_INVITATIONS_API_URL"],
            "settle and import read the business unit and the invitations URL; the others only the ledger."
        ),
        exit_codes(
            &[0, 1, 2, 3],
            &[
                (0, "done"),
                (1, "could not run: no ledger, no such entry, another run is sending"),
                (3, "import: some rows were not recorded (their sent_at, email or reference); stderr says which"),
            ]
        )
    )
}

pub fn business_unit() -> String {
    format!(
        "{}{}",
        environment(&["TRUSTPILOT_API_KEY", "TRUSTPILOT_API_URL"], "With --sandbox nothing is needed."),
        exit_codes(&[0, 1, 2], &[(0, "found"), (1, "not found, or the key or the URL is refused")])
    )
}

pub fn templates() -> String {
    let names = &ALL[..8];
    format!(
        "{}{}",
        environment(names, "With --sandbox no credentials are needed."),
        exit_codes(&[0, 1, 2], &[(0, "listed"), (1, "could not list: settings, credentials, business unit")])
    )
}

pub fn sandbox() -> String {
    format!(
        "It prints the variables to export so that the other commands talk to it.\n{}",
        exit_codes(&[0, 1, 2], &[(0, "stopped with Ctrl-C"), (1, "could not start (e.g. the port is taken)")])
    )
}

pub fn completions() -> String {
    format!(
        "Install, e.g.:\n  \
         bash:  tp-invite completions bash > ~/.local/share/bash-completion/completions/tp-invite\n  \
         zsh:   tp-invite completions zsh > ~/.zfunc/_tp-invite   (with fpath+=~/.zfunc in ~/.zshrc)\n  \
         fish:  tp-invite completions fish > ~/.config/fish/completions/tp-invite.fish\n{}",
        exit_codes(&[0, 2], &[(0, "printed")])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_is_described_once_and_lines_fit_the_help() {
        for name in ALL {
            assert_eq!(VARIABLES.iter().filter(|(var, _)| *var == name).count(), 1, "{name}");
        }
        assert!(is_variable("TP_INVITE_LEDGER") && !is_variable("TP_INVITE_BACKOFF_MS"));
        for text in [top(), send(), retry(), ledger(), business_unit(), templates(), sandbox(), completions()] {
            for line in text.lines() {
                assert!(line.chars().count() <= 100, "too long for the help: {line}");
            }
        }
    }
}
