//! Bulwark's domain model: what a template and a check are, how a collected value is judged,
//! and how results become scores. Pure by design (no IO, no async) so that the agent, the
//! server and the content tooling all agree on the same rules.

pub mod access;
pub mod expect;
pub mod inventory;
pub mod job;
pub mod outcome;
pub mod platform;
pub mod probe;
pub mod provisioning;
pub mod score;
pub mod template;
pub mod text_enum;
pub mod version;

pub use access::{Permission, Role};
pub use expect::{Expectation, Operator};
pub use inventory::HostInventory;
pub use job::{HostAction, JobPriority, JobStatus, JobType};
pub use outcome::{CheckOutcome, Status};
pub use platform::{Distro, HostOs, OsKind};
pub use probe::Probe;
pub use score::{Counts, Risk, ScoreSummary};
pub use template::{
    Check, Disruption, Engine, Framework, Remediation, ScapSource, ScapValue, Severity, Template,
    TestCase, TestCases,
};
