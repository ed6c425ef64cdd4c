//! The files a run leaves behind: the results report and the error report.

pub mod background;
pub mod cell;
pub mod errors;
pub mod report;
pub mod results;

pub use errors::ErrorReport;

/// The delimiters a report may be written in (`--excel` keeps the input's, if it is one of
/// them) and is read back in: the ones spreadsheets save.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
pub use results::{RecordError, ResultLine, ResultsWriter, Status};
