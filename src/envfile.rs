//! `--env-file PATH`: the settings of the environment read from a file, for cron jobs (whose
//! environment is nearly empty) and for keeping credentials out of shell profiles.
//!
//! The format is a shell's: `KEY=VALUE` lines, `export` optional, `#` comments, values in
//! single or double quotes (parsed by `dotenvy`, one line at a time so that an error can name
//! its line). The file is refused unless only its owner may read or change it, since it holds
//! credentials. A value is never printed, not even in an error: a bad line is named by its
//! number only. Values from the file win over variables already set: the file named on the
//! command line is the more deliberate choice, and a variable left exported in a shell must
//! not send for another shop.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli::Cli;

/// Larger than any settings file; a file past it is not one.
const MAX_LEN: u64 = 64 * 1024;

/// Why an env file cannot be used. No variant holds a value from the file.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    #[error("cannot read --env-file {}: {reason}", .path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "--env-file {} is open to other users than its owner (its permissions are {mode:03o}), and it holds \
         credentials. Run `chmod 600 {}` and try again.",
        .path.display(),
        .path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "--env-file {}, line {line}: {problem}. Write one setting a line as KEY=VALUE (e.g. \
         TRUSTPILOT_API_KEY=...), `export` optional; put a value holding spaces, #, $ or \\ in single quotes.",
        .path.display()
    )]
    Malformed { path: PathBuf, line: usize, problem: &'static str },
    #[error("--env-file {}, line {line}: {name} is not a setting tp-invite reads; it reads {known}.", .path.display())]
    Unknown { path: PathBuf, line: usize, name: String, known: String },
}

impl EnvFileError {
    /// A stable, machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            EnvFileError::Unreadable { .. } => "env_file.unreadable",
            EnvFileError::Exposed { .. } => "env_file.permissions",
            EnvFileError::Malformed { .. } => "env_file.malformed",
            EnvFileError::Unknown { .. } => "env_file.unknown_setting",
        }
    }
}

/// Reads the settings of `path`, in file order (a later line wins over an earlier one).
pub fn read(path: &Path) -> Result<Vec<(String, String)>, EnvFileError> {
    let unreadable = |e: std::io::Error| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "there is no such file. Check the path.".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied. Run tp-invite as the file's owner.".to_string(),
            _ => e.to_string(),
        };
        EnvFileError::Unreadable { path: path.to_path_buf(), reason }
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // The permissions of the file opened, not of whatever the path names a moment later.
    let meta = file.metadata().map_err(unreadable)?;
    if meta.is_dir() {
        return Err(EnvFileError::Unreadable { path: path.to_path_buf(), reason: "it is a folder.".to_string() });
    }
    check_permissions(path, &meta)?;
    let mut bytes = Vec::new();
    file.take(MAX_LEN + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_LEN {
        return Err(EnvFileError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("it is larger than {} KiB, so it is not a settings file.", MAX_LEN / 1024),
        });
    }
    parse(path, &bytes)
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &std::fs::Metadata) -> Result<(), EnvFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    match mode & 0o077 {
        0 => Ok(()),
        _ => Err(EnvFileError::Exposed { path: path.to_path_buf(), mode }),
    }
}

#[cfg(not(unix))]
fn check_permissions(_: &Path, _: &std::fs::Metadata) -> Result<(), EnvFileError> {
    Ok(())
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<(String, String)>, EnvFileError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let malformed = |line, problem| EnvFileError::Malformed { path: path.to_path_buf(), line, problem };
    let mut settings = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let text = std::str::from_utf8(raw).map_err(|_| malformed(line, "it is not UTF-8 text"))?;
        let text = text.strip_suffix('\r').unwrap_or(text);
        if !text.trim_start().starts_with('#')
            && let Some((_, value)) = text.split_once('=')
            && !value.trim_start().starts_with('\'')
        {
            // dotenvy would put another variable's value in place of `$NAME`, and read `\n` in
            // double quotes as a line break (a shell keeps it): a password holding either would
            // silently change.
            if value.contains('$') {
                return Err(malformed(line, "a $ outside single quotes would be replaced by another variable's value"));
            }
            if value.contains('\\') {
                return Err(malformed(line, "a \\ outside single quotes would be read as an escape"));
            }
        }
        let (name, value) = match dotenvy::from_read_iter(text.as_bytes()).next() {
            None => continue,
            Some(Ok(setting)) => setting,
            Some(Err(_)) => return Err(malformed(line, "it is not KEY=VALUE, or a quote is not closed")),
        };
        if !crate::cli::help::is_variable(&name) {
            let printable =
                name.len() <= 40 && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            return Err(EnvFileError::Unknown {
                path: path.to_path_buf(),
                line,
                // A name that does not look like one may be a pasted secret: not shown.
                name: if printable { name } else { "the name before =".to_string() },
                known: crate::cli::help::ALL.join(", "),
            });
        }
        settings.push((name, value));
    }
    Ok(settings)
}

/// Reads the `--env-file` of the command line, if any, and sets its settings in the
/// environment, saying (by name, never by value) which already set variable it replaces.
///
/// # Safety
///
/// Sets environment variables: no other thread may exist (call it first in `main`).
pub unsafe fn load(cli: &Cli) -> Result<(), crate::error::Error> {
    let Some(path) = cli.env_file() else { return Ok(()) };
    for (name, value) in read(path)? {
        if !cli.quiet() && std::env::var_os(&name).is_some_and(|set| set != value.as_str()) {
            crate::errln!("Note: {name} from --env-file {} replaces the value set in the environment.", path.display());
        }
        // SAFETY: the caller promises that no other thread exists.
        unsafe { std::env::set_var(&name, &value) };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
        parse(Path::new("t.env"), text.as_bytes())
    }

    #[test]
    fn shell_style_lines_are_read() {
        let text = "\u{feff}# Trustpilot\n\nexport TRUSTPILOT_API_KEY=key-1\r\nTRUSTPILOT_API_SECRET='se cret#$1'\n\
                    TRUSTPILOT_USERNAME=\"shop@example.com\" # the login\nTRUSTPILOT_PASSWORD='pa\"s\\ns'\n\
                    TRUSTPILOT_API_KEY=key-2\n";
        let settings = parsed(text).unwrap();
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("TRUSTPILOT_API_KEY", "key-1"),
                ("TRUSTPILOT_API_SECRET", "se cret#$1"),
                ("TRUSTPILOT_USERNAME", "shop@example.com"),
                ("TRUSTPILOT_PASSWORD", "pa\"s\\ns"),
                ("TRUSTPILOT_API_KEY", "key-2"),
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named_by_its_number_and_no_value_is_shown() {
        let table: &[(&str, usize, &str)] = &[
            ("TRUSTPILOT_API_KEY=ok\nsecret-value-123\n", 2, "env_file.malformed"),
            ("TRUSTPILOT_API_SECRET='secret-value-123\n", 1, "env_file.malformed"),
            ("\n\nTRUSTPILOT_PASSWORD=secret$value123\n", 3, "env_file.malformed"),
            // A backslash: dotenvy would read "\n" in double quotes as a line break.
            ("TRUSTPILOT_PASSWORD=\"secret\\nvalue123\"\n", 1, "env_file.malformed"),
            ("TRUSTPILOT_PASSWORD=secret\\value123\n", 1, "env_file.malformed"),
            ("TRUSTPILOT_APIKEY=secret-value-123\n", 1, "env_file.unknown_setting"),
            ("secretvalue123=x\n", 1, "env_file.unknown_setting"),
        ];
        for (text, line, code) in table {
            let error = parsed(text).unwrap_err();
            assert_eq!(error.code(), *code, "{text:?}: {error}");
            let message = error.to_string();
            assert!(message.contains(&format!("line {line}:")), "{message}");
            assert!(!message.contains("secret-value") && !message.contains("value123"), "{message}");
        }
        let error = parsed("TRUSTPILOT_APIKEY=x\n").unwrap_err();
        assert!(error.to_string().contains("TRUSTPILOT_APIKEY is not a setting tp-invite reads"), "{error}");
        let error = parse(Path::new("t.env"), b"TRUSTPILOT_API_KEY=\xff\n").unwrap_err();
        assert!(error.to_string().contains("line 1: it is not UTF-8 text"), "{error}");
    }
}
