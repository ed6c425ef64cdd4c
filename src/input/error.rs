//! Why an input file cannot be read, in words a shop owner can act on.

use std::path::{Path, PathBuf};

/// A problem with the input file that stops the run before anything is sent
/// (or, for [`InputError::Csv`] and a failing disk, at the record where it shows).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be opened or read.
    #[error("cannot read '{}': {reason}", .path.display())]
    Unreadable { path: PathBuf, reason: String },

    /// The file holds no header row (and no data).
    #[error(
        "'{}' is empty: it has no header row and no rows. Check that the export finished \
         and that this is the right file.",
        .path.display()
    )]
    Empty { path: PathBuf },

    /// The bytes are not text in the encoding used (detected or given with `--encoding`).
    #[error("'{}' {detail}. {hint}", .path.display())]
    Encoding { path: PathBuf, line: Option<u64>, detail: String, hint: String },

    /// A field the file must provide has no column.
    #[error("'{}' {message}", .path.display())]
    MissingColumns { path: PathBuf, missing: Vec<&'static str>, found: Vec<String>, message: String },

    /// A `--map` names a column (or a field) that is not there.
    #[error("{message}")]
    UnknownMap { path: PathBuf, field: String, column: String, message: String },

    /// The CSV structure breaks down at a record.
    #[error("'{}', line {line}: {detail}", .path.display())]
    Csv { path: PathBuf, line: u64, detail: String },
}

impl InputError {
    /// A stable, machine-readable name for the error report and `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::Unreadable { path, .. } if !path.exists() => "input.not_found",
            InputError::Unreadable { .. } => "input.unreadable",
            InputError::Empty { .. } => "input.empty",
            InputError::Encoding { .. } => "input.encoding",
            InputError::MissingColumns { .. } => "input.column_missing",
            InputError::UnknownMap { .. } => "input.unknown_column",
            InputError::Csv { .. } => "input.malformed",
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            InputError::Unreadable { path, .. }
            | InputError::Empty { path }
            | InputError::Encoding { path, .. }
            | InputError::MissingColumns { path, .. }
            | InputError::UnknownMap { path, .. }
            | InputError::Csv { path, .. } => path,
        }
    }

    /// The physical line the error is about, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            InputError::Encoding { line, .. } => *line,
            InputError::Csv { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The file cannot be opened or read; `io` says why.
    pub(crate) fn unreadable(path: &Path, io: &std::io::Error) -> InputError {
        let reason = match io.kind() {
            std::io::ErrorKind::NotFound => {
                "there is no such file. Check the path and the spelling of the file name.".to_string()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied. Check that your user may read the file.".to_string()
            }
            _ => format!("{io}. Check that the file is complete and readable."),
        };
        InputError::Unreadable { path: path.to_path_buf(), reason }
    }

    /// Reading failed part-way through, at `line`.
    pub(crate) fn unreadable_at(path: &Path, line: u64, io: &std::io::Error) -> InputError {
        InputError::Unreadable {
            path: path.to_path_buf(),
            reason: format!(
                "reading stopped at line {line}: {io}. Check that the file is complete and \
                 not being written to, then run again."
            ),
        }
    }
}

/// `"A", "B", "C"`: column names as messages quote them.
pub(crate) fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names.iter().map(|name| format!("\"{}\"", name.as_ref())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let path = PathBuf::from("x.csv");
        let table = [
            (InputError::Unreadable { path: path.clone(), reason: String::new() }, "input.not_found"),
            (InputError::Empty { path: path.clone() }, "input.empty"),
            (
                InputError::Encoding { path: path.clone(), line: None, detail: String::new(), hint: String::new() },
                "input.encoding",
            ),
            (
                InputError::MissingColumns {
                    path: path.clone(),
                    missing: vec![],
                    found: vec![],
                    message: String::new(),
                },
                "input.column_missing",
            ),
            (
                InputError::UnknownMap {
                    path: path.clone(),
                    field: String::new(),
                    column: String::new(),
                    message: String::new(),
                },
                "input.unknown_column",
            ),
            (InputError::Csv { path: path.clone(), line: 3, detail: String::new() }, "input.malformed"),
        ];
        for (error, code) in table {
            assert_eq!(error.code(), code);
            assert_eq!(error.path(), Path::new("x.csv"));
        }
        // A file that is there but cannot be read.
        let there = InputError::Unreadable { path: std::env::temp_dir(), reason: String::new() };
        assert_eq!(there.code(), "input.unreadable");
    }

    #[test]
    fn a_missing_file_says_so_and_names_it() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let error = InputError::unreadable(Path::new("customers.csv"), &io);
        assert_eq!(
            error.to_string(),
            "cannot read 'customers.csv': there is no such file. Check the path and the spelling of the file name."
        );
    }
}
