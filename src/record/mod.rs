//! The files a run leaves behind: the results report and the error report.

pub mod background;
pub mod cell;
pub mod errors;
pub mod report;
pub mod results;

pub use errors::ErrorReport;
pub use results::{RecordError, ResultLine, ResultsWriter, Status};
