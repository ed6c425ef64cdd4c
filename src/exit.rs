//! Exit codes, as SPEC section 1 fixes them for scripts.

/// How a run ended, as the shell sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every row was sent (with `--dry-run`: every row is valid).
    Success,
    /// Could not run: configuration, credentials, unreadable input, results file in the way.
    Fatal,
    /// Usage error: unknown flag or bad value.
    Usage,
    /// Completed; some rows are `invalid` or `duplicate`, every other row was sent.
    InvalidRows,
    /// Completed; some rows are `failed` or `unknown`.
    FailedRows,
    /// Interrupted by Ctrl-C.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Fatal => 1,
            Exit::Usage => 2,
            Exit::InvalidRows => 3,
            Exit::FailedRows => 4,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn codes_are_the_documented_ones() {
        let table = [
            (Exit::Success, 0),
            (Exit::Fatal, 1),
            (Exit::Usage, 2),
            (Exit::InvalidRows, 3),
            (Exit::FailedRows, 4),
            (Exit::Interrupted, 130),
        ];
        for (exit, code) in table {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }
}
