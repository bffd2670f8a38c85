//! Collectors, one module per family of check kinds. Each reads the host through
//! [`crate::host::HostRoot`] (and the per-scan caches in [`crate::facts::Facts`]) and returns
//! an outcome; none of them fails the scan.

pub mod accounts;
pub mod audit;
pub mod banner;
pub mod command;
pub mod config;
pub mod files;
pub mod history;
pub mod listening;
pub mod modules;
pub mod mounts;
pub mod packages;
pub mod pam;
pub mod service_state;
pub mod services;
pub mod sysctl;
pub mod walk;
