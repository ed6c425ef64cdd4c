//! Why a command could not run or stopped: one typed error up to the top, whose
//! [`Error::exit`] is the exit code and whose [`Error::code`] is `--json`'s `error.code`, so the
//! human line and the JSON come from the same value.

use crate::api::{ApiError, ConfigError};
use crate::envfile::EnvFileError;
use crate::exit::Exit;
use crate::input::InputError;
use crate::ledger::LedgerError;
use crate::record::RecordError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// How the command was called: exit 2.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Input(#[from] InputError),
    /// A setting from the environment (credentials, base URLs).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The `--env-file` cannot be used.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// Trustpilot (or the sandbox) refused, or could not be reached, before the run began.
    #[error(transparent)]
    Api(Box<ApiError>),
    #[error(transparent)]
    Record(#[from] RecordError),
    /// An `--exclude` file that cannot be used.
    #[error(transparent)]
    Exclude(#[from] crate::exclude::ExcludeError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Ctrl-C before anything was sent: exit 130.
    #[error("interrupted (Ctrl-C) before any invitation was sent; run the same command again to start over")]
    Interrupted,
    /// Anything else that stops a command, with its own code.
    #[error("{message}")]
    Other { code: &'static str, message: String },
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Error {
        Error::Api(Box::new(error))
    }
}

impl Error {
    pub fn other(code: &'static str, message: impl Into<String>) -> Error {
        Error::Other { code, message: message.into() }
    }

    /// The exit code.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::Interrupted => Exit::Interrupted,
            _ => Exit::Fatal,
        }
    }

    /// A stable, machine-readable name: `usage`, `input.not_found`, `credentials.missing`,
    /// `ledger.busy`, ...
    pub fn code(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Input(error) => error.code(),
            Error::Config(error) => match error {
                ConfigError::Missing { .. }
                | ConfigError::Empty { .. }
                | ConfigError::NoGrant
                | ConfigError::Several { .. } => "credentials.missing",
                ConfigError::NotUnicode { .. } => "config.invalid",
                ConfigError::InvalidUrl { .. } | ConfigError::InsecureUrl { .. } => "config.invalid_url",
            },
            Error::Api(error) => error.code(),
            Error::EnvFile(error) => error.code(),
            Error::Record(error) => error.code(),
            Error::Exclude(error) => error.code(),
            Error::Ledger(error) => error.code(),
            Error::Interrupted => "interrupted",
            Error::Other { code, .. } => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_exit_code_and_code() {
        let table: Vec<(Error, Exit, &str)> = vec![
            (Error::Usage("x".into()), Exit::Usage, "usage"),
            (Error::Interrupted, Exit::Interrupted, "interrupted"),
            (Error::Input(InputError::Empty { path: "x.csv".into() }), Exit::Fatal, "input.empty"),
            (
                Error::Input(InputError::Unreadable { path: "/no/such/file.csv".into(), reason: String::new() }),
                Exit::Fatal,
                "input.not_found",
            ),
            (
                Error::Config(ConfigError::Missing { var: "TRUSTPILOT_API_KEY", what: "the key" }),
                Exit::Fatal,
                "credentials.missing",
            ),
            (
                Error::Ledger(LedgerError::Busy {
                    business_unit_id: "b".into(),
                    holder: crate::ledger::Holder::default(),
                }),
                Exit::Fatal,
                "ledger.busy",
            ),
            (Error::other("results.in_the_way", "x"), Exit::Fatal, "results.in_the_way"),
        ];
        for (error, exit, code) in table {
            assert_eq!((error.exit(), error.code()), (exit, code), "{error:?}");
        }
    }
}
