//! The error report: one line per problem of a row, written beside the input.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::record::cell::protect;
use crate::record::results::{Layout, RecordError, sync_dir, temp_beside};
use crate::validate::{Checked, Problem};

/// The header, exactly as SPEC section 3 fixes it.
pub const HEADER: [&str; 6] = ["row", "line", "field", "code", "value", "message"];

/// Whether the file at `path` is an error report of this tool (its first line is [`HEADER`],
/// in any delimiter, with or without a byte order mark), which a new report may replace.
pub fn is_error_report(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(256);
    let Ok(file) = File::open(path) else { return false };
    if file.take(256).read_to_end(&mut head).is_err() {
        return false;
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    // Read as CSV: a spreadsheet may have quoted every cell.
    super::DELIMITERS.into_iter().any(|delimiter| {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).from_reader(line);
        let mut record = csv::StringRecord::new();
        matches!(reader.read_record(&mut record), Ok(true)) && record.iter().map(str::trim).eq(HEADER)
    })
}

/// Writes the report into a file beside its final path and puts it in place only when done,
/// so a half-written report never stands under the final name.
pub struct ErrorReport {
    path: PathBuf,
    out: csv::Writer<BufWriter<File>>,
    temp: tempfile::TempPath,
    problems: u64,
    tally: Tally,
}

/// How many rows had a problem of one code, and the first of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeCount {
    pub code: &'static str,
    pub rows: u64,
    pub example: Example,
}

/// The first row with a problem of some code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    pub row: u64,
    pub line: u64,
    pub field: &'static str,
    pub value: String,
    pub message: String,
}

/// Rows by problem code, in the order the codes first appeared. Codes are a closed set, so
/// this stays small whatever the length of the file.
#[derive(Debug, Default)]
struct Tally {
    codes: Vec<CodeCount>,
    /// The last row counted for each code (a row counts once per code).
    last_row: Vec<u64>,
}

impl Tally {
    fn add(&mut self, row: u64, line: u64, problem: &Problem) {
        match self.codes.iter().position(|c| c.code == problem.code) {
            Some(i) if self.last_row[i] == row => {}
            Some(i) => {
                self.codes[i].rows += 1;
                self.last_row[i] = row;
            }
            None => {
                let example = Example {
                    row,
                    line,
                    field: problem.field,
                    value: problem.value.clone(),
                    message: problem.message.clone(),
                };
                self.codes.push(CodeCount { code: problem.code, rows: 1, example });
                self.last_row.push(row);
            }
        }
    }

    /// The most frequent first; among equals, the first seen first.
    fn into_ranked(self) -> Vec<CodeCount> {
        let mut codes = self.codes;
        codes.sort_by_key(|c| std::cmp::Reverse(c.rows));
        codes
    }
}

impl ErrorReport {
    /// A report at `path`, written with the layout's delimiter and byte order mark (its
    /// columns are always [`HEADER`]).
    pub fn create(path: &Path, layout: Layout) -> Result<ErrorReport, RecordError> {
        super::results::remove_stale_temps(path);
        let (mut file, temp) = temp_beside(path)?;
        let error = |io: std::io::Error| RecordError::Write { path: path.to_path_buf(), io };
        if layout.bom {
            std::io::Write::write_all(&mut file, "\u{feff}".as_bytes()).map_err(error)?;
        }
        let mut out =
            csv::WriterBuilder::new().delimiter(layout.delimiter).from_writer(BufWriter::with_capacity(1 << 16, file));
        out.write_record(HEADER).map_err(|e| error(e.into()))?;
        Ok(ErrorReport { path: path.to_path_buf(), out, temp, problems: 0, tally: Tally::default() })
    }

    pub fn write(&mut self, row: u64, line: u64, problem: &Problem) -> Result<(), RecordError> {
        self.problems += 1;
        self.tally.add(row, line, problem);
        let (row, line) = (row.to_string(), line.to_string());
        let record = [
            row.as_str(),
            line.as_str(),
            problem.field,
            problem.code,
            &protect(&problem.value),
            &protect(&problem.message),
        ];
        self.out.write_record(record).map_err(|e| RecordError::Write { path: self.path.clone(), io: e.into() })
    }

    /// Every problem of a row: why it is invalid, and what is wrong with its line item (a
    /// duplicate is not a problem: the results say why it is not sent).
    pub fn write_checked(&mut self, row: u64, line: u64, checked: &Checked) -> Result<(), RecordError> {
        for problem in checked.problems.iter().chain(&checked.product_problems) {
            self.write(row, line, problem)?;
        }
        Ok(())
    }

    /// Puts the report in place if it holds a problem; otherwise removes any old report at
    /// that path, since a stale one would describe another run. Returns the problems by code
    /// (the most frequent first) when the report exists.
    pub fn finish(mut self) -> Result<Option<Vec<CodeCount>>, RecordError> {
        let error = |source: std::io::Error| RecordError::Write { path: self.path.clone(), io: source };
        if self.problems == 0 {
            drop(self.out);
            match std::fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(error(e)),
            }
            return Ok(None);
        }
        self.out.flush().map_err(error)?;
        self.out.get_ref().get_ref().sync_data().map_err(error)?;
        drop(self.out);
        self.temp.persist(&self.path).map_err(|e| RecordError::Write { path: self.path.clone(), io: e.error })?;
        sync_dir(&self.path);
        Ok(Some(self.tally.into_ranked()))
    }

    pub fn problems(&self) -> u64 {
        self.problems
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_only_when_there_is_a_problem_and_stale_reports_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.csv");
        std::fs::write(&path, "old").unwrap();
        let report = ErrorReport::create(&path, Layout::default()).unwrap();
        assert!(report.finish().unwrap().is_none());
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left");

        let mut report = ErrorReport::create(&path, Layout::default()).unwrap();
        let problem = Problem {
            field: "name",
            code: "name.required",
            value: "=1+1".into(),
            message: "The name is empty.".into(),
        };
        report.write(3, 4, &problem).unwrap();
        assert!(!path.exists(), "nothing under the final name before finish");
        assert!(report.finish().unwrap().is_some());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "row,line,field,code,value,message\n3,4,name,name.required,'=1+1,The name is empty.\n"
        );
    }

    #[test]
    fn excel_layout_has_a_bom_and_the_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.csv");
        let mut report =
            ErrorReport::create(&path, Layout { delimiter: b';', bom: true, ..Layout::default() }).unwrap();
        report.write(1, 2, &problem("email", "email.invalid", "a;b")).unwrap();
        report.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "\u{feff}row;line;field;code;value;message\n1;2;email;email.invalid;\"a;b\";m\n"
        );
    }

    fn problem(field: &'static str, code: &'static str, value: &str) -> Problem {
        Problem { field, code, value: value.into(), message: "m".into() }
    }

    #[test]
    fn problems_are_tallied_by_rows_per_code_with_the_first_example() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = ErrorReport::create(&dir.path().join("e.csv"), Layout::default()).unwrap();
        let lines = [
            (1, problem("tags", "tags.invalid_char", "a b")),
            (1, problem("tags", "tags.invalid_char", "c d")),
            (2, problem("email", "email.invalid", "jane@")),
            (3, problem("email", "email.invalid", "joe@")),
            (3, problem("name", "name.required", "")),
            (4, problem("email", "email.invalid", "x")),
        ];
        for (row, problem) in &lines {
            report.write(*row, row + 1, problem).unwrap();
        }
        let ranked = report.finish().unwrap().unwrap();
        let summary: Vec<(&str, u64, u64, &str)> =
            ranked.iter().map(|c| (c.code, c.rows, c.example.row, c.example.value.as_str())).collect();
        assert_eq!(
            summary,
            [("email.invalid", 3, 2, "jane@"), ("tags.invalid_char", 1, 1, "a b"), ("name.required", 1, 3, "")]
        );
    }
}
