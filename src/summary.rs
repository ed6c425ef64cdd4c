//! The end of a run as the user reads it: counts by status, the files written, and the next
//! command to run; or one JSON object for scripts.

use std::fmt;

pub use crate::text::{Count, shell_quote};
use std::path::PathBuf;

use serde::Serialize;

use crate::error::Error;
use crate::exit::Exit;
use crate::journal::Status;
use crate::record::errors::CodeCount;
use crate::record::results::Counts;
use crate::{errln, outln};

/// How many problem codes the text summary lists (the JSON lists all).
const PROBLEMS_SHOWN: usize = 5;
/// How much of a problem's value the text summary shows.
const VALUE_SHOWN: usize = 40;

/// What a run did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub rows: u64,
    pub sent: u64,
    pub already_sent: u64,
    pub failed: u64,
    pub invalid: u64,
    pub duplicate: u64,
    pub excluded: u64,
    pub skipped: u64,
    pub unknown: u64,
    pub ready: u64,
    pub results: Option<PathBuf>,
    pub errors: Option<PathBuf>,
    /// The problems of the error report by code, the most frequent first, each with its
    /// first row.
    pub problems: Vec<CodeCount>,
    pub exit_code: u8,
    /// Why the command could not run (exit 1 or 2).
    pub error: Option<ErrorSummary>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// The command to run next, if anything is left to do.
    pub next: Option<String>,
    /// The ledger the run read or wrote.
    pub ledger: Option<PathBuf>,
    /// Where an earlier results file that recorded real sends was kept.
    pub kept: Option<PathBuf>,
    #[serde(skip)]
    pub advice: Vec<String>,
    /// The run made invitation links (`tp-invite links`) rather than sending emails.
    #[serde(skip)]
    pub links: bool,
}

/// `--json`'s `error` object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorSummary {
    pub code: String,
    pub message: String,
}

impl Summary {
    /// Counts from the results report.
    pub fn from_counts(counts: &Counts, results: PathBuf, errors: Option<PathBuf>) -> Summary {
        Summary {
            rows: counts.rows,
            sent: counts.get(Status::Sent),
            already_sent: counts.get(Status::AlreadySent),
            failed: counts.get(Status::Failed),
            invalid: counts.get(Status::Invalid),
            duplicate: counts.get(Status::Duplicate),
            excluded: counts.get(Status::Excluded),
            skipped: counts.get(Status::Skipped),
            unknown: counts.get(Status::Unknown),
            ready: counts.get(Status::Ready),
            results: Some(results),
            errors,
            ..Summary::default()
        }
    }

    /// The summary of a command that could not run.
    pub fn of_error(error: &Error) -> Summary {
        Summary {
            exit_code: error.exit().code(),
            error: Some(ErrorSummary { code: error.code().to_string(), message: error.to_string() }),
            ..Summary::default()
        }
    }

    /// The exit code the counts call for, once the run has completed. `duplicate`,
    /// `excluded`, `already_sent` and rows left by `--limit` are not problems.
    pub fn completed_exit(&self) -> Exit {
        if self.failed > 0 || self.unknown > 0 {
            Exit::FailedRows
        } else if self.invalid > 0 {
            Exit::InvalidRows
        } else {
            Exit::Success
        }
    }

    /// Prints the summary: JSON on stdout with `json`, else lines on stderr unless `quiet`.
    /// Why a run stopped early is always said on stderr, in one line when the summary's
    /// text is not shown. A closed stdout or stderr is not an error: there is just no one
    /// left to tell.
    pub fn print(&self, json: bool, quiet: bool) {
        if json {
            self.print_json();
        } else if !quiet {
            errln!("{self}");
            return;
        }
        if let Some(reason) = &self.stopped {
            errln!("tp-invite: stopped: {reason}");
        }
    }

    /// The summary as one JSON object on stdout.
    pub fn print_json(&self) {
        match serde_json::to_string(self) {
            Ok(text) => outln!("{text}"),
            Err(e) => outln!(
                "{}",
                serde_json::json!({ "exit_code": 1, "error": { "code": "internal", "message": e.to_string() } })
            ),
        }
    }
}

/// With `--json`, why a command could not run, as one object on stdout: for a run (`send`,
/// `retry`) with every count (all zero), for the other commands only `exit_code` and `error`.
pub fn print_error_json(error: &Error, run: bool) {
    let summary = Summary::of_error(error);
    match run {
        true => summary.print_json(),
        false => outln!("{}", serde_json::json!({ "exit_code": summary.exit_code, "error": summary.error })),
    }
}

/// A problem's value as the summary shows it: quoted, short, control characters escaped.
fn shown_value(value: &str) -> String {
    if value.is_empty() {
        return "(empty)".to_string();
    }
    let mut shown: String = value.chars().take(VALUE_SHOWN).flat_map(char::escape_default).collect();
    if value.chars().count() > VALUE_SHOWN {
        shown.push('…');
    }
    format!("'{shown}'")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let (sent, ready, already) = match self.links {
            true => ("given a new link", "ready for a link", "given their link again"),
            false => ("sent", "ready to send", "already sent"),
        };
        for (n, what) in [
            (self.sent, sent),
            (self.ready, ready),
            (self.already_sent, already),
            (self.failed, "failed"),
            (self.unknown, "unknown (may have been sent)"),
            (self.invalid, "invalid"),
            (self.duplicate, "duplicate"),
            (self.excluded, "excluded"),
            (self.skipped, "skipped"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if parts.is_empty() {
            parts.push("nothing to do".to_string());
        }
        writeln!(f, "{}: {}.", Count(self.rows, "row"), parts.join(", "))?;
        if let Some(reason) = &self.stopped {
            writeln!(f, "Stopped: {reason}")?;
        }
        if let Some(results) = &self.results {
            writeln!(f, "Results: {}", results.display())?;
        }
        if let Some(kept) = &self.kept {
            writeln!(f, "Kept:    {} (the earlier results, which record real sends)", kept.display())?;
        }
        if let Some(errors) = &self.errors {
            match self.invalid {
                0 => writeln!(f, "Errors:  {}", errors.display())?,
                n => writeln!(f, "Errors:  {} ({})", errors.display(), Count(n, "invalid row"))?,
            }
        }
        for problem in self.problems.iter().take(PROBLEMS_SHOWN) {
            let example = &problem.example;
            writeln!(
                f,
                "  {}: {}, e.g. row {} {}: {}",
                problem.code,
                Count(problem.rows, "row"),
                example.row,
                shown_value(&example.value),
                example.message
            )?;
        }
        if self.problems.len() > PROBLEMS_SHOWN {
            let more = (self.problems.len() - PROBLEMS_SHOWN) as u64;
            writeln!(f, "  and {} more: see the error report", Count(more, "code"))?;
        }
        if let Some(ledger) = &self.ledger {
            writeln!(f, "Ledger:  {}", ledger.display())?;
        }
        for line in &self.advice {
            writeln!(f, "{line}")?;
        }
        match &self.next {
            Some(next) => write!(f, "Next:    {next}"),
            None => write!(f, "Nothing is left to do."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_counts() {
        let mut s = Summary { rows: 3, sent: 3, ..Summary::default() };
        assert_eq!(s.completed_exit(), Exit::Success);
        s.duplicate = 1;
        s.excluded = 1;
        s.already_sent = 1;
        assert_eq!(s.completed_exit(), Exit::Success, "duplicates, exclusions and earlier sends are not problems");
        s.invalid = 1;
        assert_eq!(s.completed_exit(), Exit::InvalidRows);
        s.unknown = 1;
        assert_eq!(s.completed_exit(), Exit::FailedRows);
        let skipped = Summary { rows: 3, sent: 1, skipped: 2, ..Summary::default() };
        assert_eq!(skipped.completed_exit(), Exit::Success, "--limit does not fail a run");
    }

    #[test]
    fn json_has_the_documented_keys() {
        let s = Summary { rows: 1, ready: 1, results: Some("r.csv".into()), ..Summary::default() };
        let json = serde_json::to_value(&s).unwrap();
        for key in [
            "rows",
            "sent",
            "already_sent",
            "failed",
            "invalid",
            "duplicate",
            "excluded",
            "skipped",
            "unknown",
            "ready",
            "results",
            "errors",
            "exit_code",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["errors"], serde_json::Value::Null);
    }
}
