//! The files a run leaves behind: the results record (also the crash-safe journal), its
//! metadata, and the error report.

pub mod background;
pub mod cell;
pub mod errors;
pub mod meta;
pub mod results;

pub use errors::ErrorReport;
pub use results::{Loaded, RecordError, ResultLine, ResultsWriter, Status};
