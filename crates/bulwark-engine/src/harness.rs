//! Runs a check's inline test cases: each case becomes a fake root, the check is evaluated on
//! it, and the outcome must be the one the case is filed under (pass or fail).

use bulwark_core::{Check, CheckOutcome, OsKind, Status};
use rayon::prelude::*;

use crate::evaluate::evaluate;
use crate::facts::Facts;
use crate::fixture::FixtureRoot;
use crate::host::HostRoot;

#[derive(Debug, Clone)]
pub struct CaseFailure {
    pub check_id: String,
    /// `pass[0]`, `fail[1]`, with the case's name when it has one.
    pub case: String,
    pub wanted: Status,
    pub outcome: Result<CheckOutcome, String>,
}

impl std::fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Err(e) => write!(f, "test {}: could not run: {e}", self.case),
            Ok(o) => {
                write!(
                    f,
                    "test {}: wanted {} but got {}",
                    self.case,
                    self.wanted.as_str(),
                    o.status.as_str()
                )?;
                if let Some(a) = &o.actual {
                    write!(f, "; actual: {}", a.replace('\n', " | "))?;
                }
                if let Some(r) = &o.reason {
                    write!(f, "; reason: {r}")?;
                }
                write!(f, "; expected: {}", o.expected)
            }
        }
    }
}

/// Runs every case of one check; returns the cases that did not come out as filed.
pub fn run_check_cases(template_os: OsKind, check: &Check) -> Vec<CaseFailure> {
    let cases = check
        .tests
        .pass
        .iter()
        .enumerate()
        .map(|(i, c)| (Status::Pass, format!("pass[{i}]"), c))
        .chain(
            check
                .tests
                .fail
                .iter()
                .enumerate()
                .map(|(i, c)| (Status::Fail, format!("fail[{i}]"), c)),
        );
    let mut failures = Vec::new();
    for (wanted, label, case) in cases {
        let label = match &case.name {
            Some(n) => format!("{label} ({n})"),
            None => label,
        };
        let outcome = FixtureRoot::new(case)
            .map_err(|e| e.to_string())
            .and_then(|root| {
                let host = if case.live {
                    HostRoot::with_live_proc(root.path())
                } else {
                    HostRoot::offline(root.path())
                };
                let os = host.detect_os().map_err(|e| e.to_string())?;
                Ok(evaluate(&Facts::new(host, os), template_os, check))
            });
        if !matches!(&outcome, Ok(o) if o.status == wanted) {
            failures.push(CaseFailure {
                check_id: check.id.clone(),
                case: label,
                wanted,
                outcome,
            });
        }
    }
    failures
}

/// Runs the cases of many checks in parallel; failures come back in check order.
pub fn run_all(template_os: OsKind, checks: &[Check]) -> Vec<CaseFailure> {
    checks
        .par_iter()
        .flat_map_iter(|c| run_check_cases(template_os, c))
        .collect()
}
