//! The error report: one line per problem of a row, written beside the input.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::record::cell::protect;
use crate::record::results::{RecordError, sync_dir, temp_beside};
use crate::validate::{Checked, Problem, Validator};

/// The header, exactly as SPEC section 3 fixes it.
pub const HEADER: [&str; 6] = ["row", "line", "field", "code", "value", "message"];

/// Writes the report into a file beside its final path and puts it in place only when done,
/// so a half-written report never stands under the final name.
pub struct ErrorReport {
    path: PathBuf,
    out: csv::Writer<BufWriter<File>>,
    temp: tempfile::TempPath,
    problems: u64,
}

impl ErrorReport {
    pub fn create(path: &Path) -> Result<ErrorReport, RecordError> {
        super::results::remove_stale_temps(path);
        let (file, temp) = temp_beside(path)?;
        let mut out = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        out.write_record(HEADER).map_err(|e| RecordError::Write { path: path.to_path_buf(), io: e.into() })?;
        Ok(ErrorReport { path: path.to_path_buf(), out, temp, problems: 0 })
    }

    pub fn write(&mut self, row: u64, line: u64, problem: &Problem) -> Result<(), RecordError> {
        self.problems += 1;
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

    /// Every problem of a row the validator refused (a duplicate is one line too).
    pub fn write_checked(&mut self, row: u64, line: u64, checked: &Checked) -> Result<(), RecordError> {
        for problem in &checked.problems {
            self.write(row, line, problem)?;
        }
        if checked.duplicate && checked.problems.is_empty() {
            self.write(row, line, &Validator::duplicate_problem(&checked.invitation))?;
        }
        Ok(())
    }

    /// Puts the report in place if it holds a problem; otherwise removes any old report at
    /// that path, since a stale one would describe another run. Returns whether it exists.
    pub fn finish(mut self) -> Result<bool, RecordError> {
        let error = |source: std::io::Error| RecordError::Write { path: self.path.clone(), io: source };
        if self.problems == 0 {
            drop(self.out);
            match std::fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(error(e)),
            }
            return Ok(false);
        }
        self.out.flush().map_err(error)?;
        self.out.get_ref().get_ref().sync_data().map_err(error)?;
        drop(self.out);
        self.temp.persist(&self.path).map_err(|e| RecordError::Write { path: self.path.clone(), io: e.error })?;
        sync_dir(&self.path);
        Ok(true)
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
        let report = ErrorReport::create(&path).unwrap();
        assert!(!report.finish().unwrap());
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left");

        let mut report = ErrorReport::create(&path).unwrap();
        let problem = Problem {
            field: "name",
            code: "name.required",
            value: "=1+1".into(),
            message: "The name is empty.".into(),
        };
        report.write(3, 4, &problem).unwrap();
        assert!(!path.exists(), "nothing under the final name before finish");
        assert!(report.finish().unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "row,line,field,code,value,message\n3,4,name,name.required,'=1+1,The name is empty.\n"
        );
    }
}
