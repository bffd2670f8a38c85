//! SCAP content, parsed: source data streams (XCCDF 1.2 benchmarks with their profiles, rules
//! and values, resolved per profile), the operating systems a benchmark fits from its CPE
//! names, and the ARF results `oscap xccdf eval --results-arf` writes.
//!
//! Pure parsing of bytes handed in: no files, network, database or processes. The XML is read
//! as a stream of events (never a tree of the whole file), DTDs are refused and no entity is
//! expanded but the five predefined ones and character references, so neither an XML bomb nor
//! an external entity can reach further than an error.

mod arf;
mod benchmark;
mod datastream;
mod error;
mod platform;
mod resolve;
mod template;
mod text;
mod xml;

pub use arf::{
    ArfResults, Fact, Message, RuleOutcome, RuleResult, Score, TestResult, read_arf_results,
};
pub use benchmark::{
    Benchmark, CCE_SYSTEMS, Check, CheckContentRef, CheckExport, CpePlatform, Fix, Group, Ident,
    OVAL_SYSTEM, PlainText, Profile, Reference, Rule, RuleRefinement, Selection, Severity, Value,
    ValueOption, ValueSetting,
};
pub use datastream::{ComponentRef, CpeItem, DataStream, EvalTarget, Stream, read_datastream};
pub use error::ScapError;
pub use platform::{OsFit, fits, os_fit, os_fits};
pub use resolve::{
    GroupRef, ResolvedFix, ResolvedProfile, ResolvedRule, ResolvedValue, ValueOrigin,
};
pub use template::{
    BenchmarkInfo, Contents, ProfileInfo, check_outcomes, contents, outcome_reason, outcome_status,
    profile_template,
};
pub use text::{Piece, RichText};
