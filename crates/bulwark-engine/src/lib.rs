//! The check engine: collectors that read a host under a root directory, and evaluation of a
//! template's checks against it. Only this crate reads a host.

pub mod collect;
pub mod evaluate;
pub mod facts;
#[cfg(unix)]
pub mod fixture;
#[cfg(unix)]
pub mod harness;
pub mod host;
pub mod inventory;
pub mod scan;
pub mod unix_meta;
pub mod windows;

pub use facts::Facts;
pub use host::{HostRoot, RootError};
pub use scan::{CheckResult, HostInfo, ScanReport, scan};
