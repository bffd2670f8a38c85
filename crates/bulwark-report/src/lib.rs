//! One completed compliance scan rendered for the people and tools that consume it: a
//! self-contained HTML report, a JSON document and an ARF 1.1 asset report collection that
//! SCAP tools read. Pure rendering: no database, no HTTP, no processes.

pub mod arf;
mod html;
mod json;
mod model;
mod summary;
mod text;
mod when;

pub use arf::arf;
pub use html::html;
pub use json::{JSON_FORMAT_VERSION, JsonReport, json};
pub use model::{Finding, Report, ReportScan};
pub use summary::Summary;
