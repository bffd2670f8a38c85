//! The result of evaluating one check on one host. Evaluation never fails: a collector
//! problem is an `error` outcome carrying its reason.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
    /// A failure covered by an active exception; applied by the server, never by the agent.
    Waived,
    /// SCAP: the scanner has no automated check for the rule (a manual review).
    NotChecked,
    /// SCAP: the rule is in the benchmark but the profile does not select it.
    NotSelected,
    /// SCAP: the rule reports a fact rather than judging compliance.
    Informational,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::Skip,
        Status::Waived,
        Status::NotChecked,
        Status::NotSelected,
        Status::Informational,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Waived => "waived",
            Status::NotChecked => "not_checked",
            Status::NotSelected => "not_selected",
            Status::Informational => "informational",
        }
    }

    /// Where results of this status are listed: what needs action first (failures, errors),
    /// then what was set aside (waived, not scored, skipped), passes last. Every list of
    /// results and the report's sections use this order.
    pub fn listing_rank(self) -> u8 {
        match self {
            Status::Fail => 0,
            Status::Error => 1,
            Status::Waived => 2,
            Status::NotChecked | Status::NotSelected | Status::Informational => 3,
            Status::Skip => 4,
            Status::Pass => 5,
        }
    }
}

/// The order results are listed in: by status ([`Status::listing_rank`]), then severity
/// (critical first), then check id.
pub fn listing_key(
    status: Status,
    severity: crate::Severity,
    check_id: &str,
) -> (u8, crate::Severity, &str) {
    (status.listing_rank(), severity, check_id)
}

/// Longest actual value kept with a result; evidence beyond this is cut with a marker.
pub const MAX_ACTUAL_CHARS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckOutcome {
    pub status: Status,
    /// What the collector saw, truncated to [`MAX_ACTUAL_CHARS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// What the check wanted, in words.
    pub expected: String,
    /// Why the check is skip or error, or a short explanation of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CheckOutcome {
    pub fn judged(passed: bool, actual: Option<String>, expected: impl Into<String>) -> Self {
        CheckOutcome {
            status: if passed { Status::Pass } else { Status::Fail },
            actual: actual.map(truncate),
            expected: expected.into(),
            reason: None,
        }
    }

    pub fn skip(expected: impl Into<String>, reason: impl Into<String>) -> Self {
        CheckOutcome {
            status: Status::Skip,
            actual: None,
            expected: expected.into(),
            reason: Some(reason.into()),
        }
    }

    pub fn error(expected: impl Into<String>, reason: impl Into<String>) -> Self {
        CheckOutcome {
            status: Status::Error,
            actual: None,
            expected: expected.into(),
            reason: Some(reason.into()),
        }
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Cuts evidence to [`MAX_ACTUAL_CHARS`] on a character boundary, saying how much was left out.
pub fn truncate(s: String) -> String {
    if s.chars().count() <= MAX_ACTUAL_CHARS {
        return s;
    }
    let cut: String = s.chars().take(MAX_ACTUAL_CHARS).collect();
    let left = s.chars().count() - MAX_ACTUAL_CHARS;
    format!("{cut}… ({left} more characters)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_short_values_and_marks_long_ones() {
        assert_eq!(truncate("abc".into()), "abc");
        let long = "é".repeat(MAX_ACTUAL_CHARS + 10);
        let cut = truncate(long);
        assert!(cut.ends_with("… (10 more characters)"));
        assert!(cut.starts_with(&"é".repeat(MAX_ACTUAL_CHARS)));
    }
}
