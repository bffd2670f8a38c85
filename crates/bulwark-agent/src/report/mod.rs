//! Renderings of a scan report: terminal table, JUnit XML, HTML, and the timings list.

mod html;
mod junit;
mod table;

pub use html::html;
pub use junit::junit;
pub use table::{table, timings};
