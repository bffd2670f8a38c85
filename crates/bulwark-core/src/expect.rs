//! Expectations: an operator and a value that a collected value is judged against.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    Regex,
    NotRegex,
    Lt,
    Le,
    Gt,
    Ge,
    VersionLt,
    VersionLe,
    VersionGt,
    VersionGe,
    In,
    NotIn,
    Exists,
    Absent,
    /// The actual's comma-separated items, as a set, equal the expected ones.
    SetEquals,
    /// Every comma-separated item of the actual is one of the expected ones.
    SubsetOf,
}

impl Operator {
    /// Whether the operator needs a value to compare with.
    pub fn needs_value(self) -> bool {
        !matches!(self, Operator::Exists | Operator::Absent)
    }

    /// Whether the operator takes a list rather than one value.
    pub fn takes_list(self) -> bool {
        matches!(self, Operator::In | Operator::NotIn)
    }

    /// Whether the operator compares comma-separated items as sets (its value is a list, or
    /// one comma-separated string).
    pub fn compares_sets(self) -> bool {
        matches!(self, Operator::SetEquals | Operator::SubsetOf)
    }

    /// Operators that hold when nothing was collected.
    fn passes_on_absent(self) -> bool {
        matches!(
            self,
            Operator::Absent
                | Operator::NotEquals
                | Operator::NotContains
                | Operator::NotRegex
                | Operator::NotIn
        )
    }

    fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "not_equals",
            Operator::Contains => "contains",
            Operator::NotContains => "not_contains",
            Operator::Regex => "regex",
            Operator::NotRegex => "not_regex",
            Operator::Lt => "lt",
            Operator::Le => "le",
            Operator::Gt => "gt",
            Operator::Ge => "ge",
            Operator::VersionLt => "version_lt",
            Operator::VersionLe => "version_le",
            Operator::VersionGt => "version_gt",
            Operator::VersionGe => "version_ge",
            Operator::In => "in",
            Operator::NotIn => "not_in",
            Operator::Exists => "exists",
            Operator::Absent => "absent",
            Operator::SetEquals => "set_equals",
            Operator::SubsetOf => "subset_of",
        }
    }
}

/// A scalar or a list from the content; numbers and booleans are kept as their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ExpectedValue {
    List(Vec<Scalar>),
    One(Scalar),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(s) => f.write_str(s),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub op: Operator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ExpectedValue>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
}

/// Why an expectation is malformed; reported by content validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectationError(pub String);

impl fmt::Display for ExpectationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Expectation {
    pub fn new(op: Operator, value: Option<&str>) -> Self {
        Expectation {
            op,
            value: value.map(|v| ExpectedValue::One(Scalar::Text(v.to_string()))),
            ignore_case: false,
        }
    }

    /// Checks the shape: a value where the operator needs one, a list for in/not_in, a valid
    /// regex, and numbers for numeric comparisons.
    pub fn validate(&self) -> Result<(), ExpectationError> {
        let op = self.op.as_str();
        match (&self.value, self.op.needs_value()) {
            (None, true) => return Err(ExpectationError(format!("op {op} needs a value"))),
            (Some(_), false) => {
                return Err(ExpectationError(format!("op {op} takes no value")));
            }
            _ => {}
        }
        match (&self.value, self.op.takes_list()) {
            _ if self.op.compares_sets() => {}
            (Some(ExpectedValue::One(_)), true) => {
                return Err(ExpectationError(format!("op {op} needs a list value")));
            }
            (Some(ExpectedValue::List(_)), false) => {
                return Err(ExpectationError(format!(
                    "op {op} needs a single value, not a list"
                )));
            }
            _ => {}
        }
        if let Some(ExpectedValue::One(v)) = &self.value {
            let text = v.to_string();
            match self.op {
                Operator::Regex | Operator::NotRegex => {
                    regex::Regex::new(&text)
                        .map_err(|e| ExpectationError(format!("invalid regex {text:?}: {e}")))?;
                }
                Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => {
                    text.trim().parse::<f64>().map_err(|_| {
                        ExpectationError(format!("op {op} needs a number, got {text:?}"))
                    })?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn single(&self) -> String {
        match &self.value {
            Some(ExpectedValue::One(v)) => v.to_string(),
            Some(ExpectedValue::List(l)) => l.first().map(|v| v.to_string()).unwrap_or_default(),
            None => String::new(),
        }
    }

    fn list(&self) -> Vec<String> {
        match &self.value {
            Some(ExpectedValue::List(l)) => l.iter().map(|v| v.to_string()).collect(),
            Some(ExpectedValue::One(v)) => vec![v.to_string()],
            None => Vec::new(),
        }
    }

    /// The expected items of a set comparison: every list item split at commas, trimmed,
    /// lowercased, empty ones dropped.
    fn expected_set(&self) -> BTreeSet<String> {
        self.list().iter().flat_map(|v| items(v)).collect()
    }

    /// Judges a collected value (`None`: nothing was found).
    pub fn matches(&self, actual: Option<&str>) -> bool {
        if self.op.compares_sets() {
            // Nothing collected is the empty set.
            let a = items(actual.unwrap_or(""));
            let e = self.expected_set();
            return match self.op {
                Operator::SetEquals => a == e,
                _ => a.is_subset(&e),
            };
        }
        let Some(actual) = actual else {
            return self.op.passes_on_absent();
        };
        let fold = |s: &str| {
            if self.ignore_case {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        let a = fold(actual.trim());
        let e = fold(&self.single());
        match self.op {
            Operator::Exists => true,
            Operator::Absent => false,
            Operator::Equals => a == e,
            Operator::NotEquals => a != e,
            Operator::Contains => a.contains(&e),
            Operator::NotContains => !a.contains(&e),
            Operator::Regex | Operator::NotRegex => {
                let pattern = if self.ignore_case {
                    format!("(?i){e}")
                } else {
                    e
                };
                let found = regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(&a));
                found == (self.op == Operator::Regex)
            }
            Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => {
                match (a.parse::<f64>(), e.trim().parse::<f64>()) {
                    (Ok(x), Ok(y)) => {
                        let ord = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                        self.ordering_holds(ord)
                    }
                    _ => false,
                }
            }
            Operator::VersionLt
            | Operator::VersionLe
            | Operator::VersionGt
            | Operator::VersionGe => self.ordering_holds(version::compare(&a, &e)),
            Operator::In => self.list().iter().any(|v| fold(v) == a),
            Operator::NotIn => !self.list().iter().any(|v| fold(v) == a),
            Operator::SetEquals | Operator::SubsetOf => false,
        }
    }

    fn ordering_holds(&self, ord: Ordering) -> bool {
        match self.op {
            Operator::Lt | Operator::VersionLt => ord == Ordering::Less,
            Operator::Le | Operator::VersionLe => ord != Ordering::Greater,
            Operator::Gt | Operator::VersionGt => ord == Ordering::Greater,
            Operator::Ge | Operator::VersionGe => ord != Ordering::Less,
            _ => false,
        }
    }
}

/// Comma-separated items as a set: trimmed, case-insensitive, empty items dropped.
fn items(text: &str) -> BTreeSet<String> {
    text.split(',')
        .map(|i| i.trim().to_lowercase())
        .filter(|i| !i.is_empty())
        .collect()
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        match &self.value {
            Some(ExpectedValue::One(v)) => write!(f, " {v}")?,
            Some(ExpectedValue::List(l)) => {
                let items: Vec<String> = l.iter().map(|v| v.to_string()).collect();
                write!(f, " [{}]", items.join(", "))?;
            }
            None => {}
        }
        if self.ignore_case {
            f.write_str(" (ignoring case)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(op: Operator, value: Option<ExpectedValue>) -> Expectation {
        Expectation {
            op,
            value,
            ignore_case: false,
        }
    }
    fn one(v: &str) -> Option<ExpectedValue> {
        Some(ExpectedValue::One(Scalar::Text(v.into())))
    }
    fn list(v: &[&str]) -> Option<ExpectedValue> {
        Some(ExpectedValue::List(
            v.iter().map(|s| Scalar::Text(s.to_string())).collect(),
        ))
    }

    #[test]
    fn operators_judge_values() {
        use Operator::*;
        let cases: Vec<(Operator, Option<ExpectedValue>, Option<&str>, bool)> = vec![
            (Equals, one("no"), Some("no"), true),
            (Equals, one("no"), Some("yes"), false),
            (Equals, one("no"), None, false),
            (NotEquals, one("yes"), Some("no"), true),
            (NotEquals, one("yes"), None, true),
            (Contains, one("sha512"), Some("pam_unix.so sha512"), true),
            (
                NotContains,
                one("nullok"),
                Some("pam_unix.so nullok"),
                false,
            ),
            (Regex, one("^(VERBOSE|INFO)$"), Some("INFO"), true),
            (NotRegex, one("cbc"), Some("aes128-ctr,aes256-cbc"), false),
            (NotRegex, one("cbc"), None, true),
            (Lt, one("5"), Some("4"), true),
            (Le, one("4"), Some("4"), true),
            (Le, one("4"), Some("six"), false),
            (Gt, one("0"), Some("300"), true),
            (Ge, one("14"), Some("8"), false),
            (Ge, one("14"), None, false),
            (VersionGe, one("9.0"), Some("9.6p1"), true),
            (VersionLt, one("1.10"), Some("1.9"), true),
            (In, list(&["disabled", "masked"]), Some("masked"), true),
            (In, list(&["disabled", "masked"]), Some("enabled"), false),
            (NotIn, list(&["enabled"]), Some("disabled"), true),
            (NotIn, list(&["enabled"]), None, true),
            (Exists, None, Some(""), true),
            (Exists, None, None, false),
            (Absent, None, None, true),
            (Absent, None, Some("x"), false),
            (
                SetEquals,
                one("*S-1-5-32-544, S-1-5-11"),
                Some("s-1-5-11,S-1-5-32-544"),
                false,
            ),
            (
                SetEquals,
                one("S-1-5-32-544, S-1-5-11"),
                Some("s-1-5-11,S-1-5-32-544"),
                true,
            ),
            (
                SetEquals,
                list(&["S-1-5-32-544", "S-1-5-11"]),
                Some(" S-1-5-11 , S-1-5-32-544 "),
                true,
            ),
            (SetEquals, list(&["A", "B"]), Some("A"), false),
            (SetEquals, list(&["A"]), Some("A,B"), false),
            (SetEquals, list(&["A"]), None, false),
            (SetEquals, list(&[]), None, true),
            (SubsetOf, list(&["A", "B"]), Some("a"), true),
            (SubsetOf, one("A,B"), Some("b,A"), true),
            (SubsetOf, list(&["A", "B"]), Some("A,C"), false),
            (SubsetOf, list(&["A"]), None, true),
            (SubsetOf, list(&["A"]), Some(""), true),
        ];
        for (op, value, actual, want) in cases {
            let e = exp(op, value);
            assert_eq!(e.matches(actual), want, "{e} against {actual:?}");
        }
    }

    #[test]
    fn ignore_case_folds_both_sides() {
        let mut e = exp(Operator::Equals, one("No"));
        assert!(!e.matches(Some("no")));
        e.ignore_case = true;
        assert!(e.matches(Some("NO")));
    }

    #[test]
    fn validation_names_the_problem() {
        let cases: Vec<(Expectation, Option<&str>)> = vec![
            (exp(Operator::Equals, None), Some("op equals needs a value")),
            (
                exp(Operator::Exists, one("x")),
                Some("op exists takes no value"),
            ),
            (
                exp(Operator::In, one("x")),
                Some("op in needs a list value"),
            ),
            (
                exp(Operator::Le, one("four")),
                Some("op le needs a number, got \"four\""),
            ),
            (exp(Operator::Le, one("4")), None),
            (
                exp(Operator::SubsetOf, None),
                Some("op subset_of needs a value"),
            ),
            (exp(Operator::SubsetOf, one("A,B")), None),
            (exp(Operator::SetEquals, list(&["A", "B"])), None),
        ];
        for (e, want) in cases {
            assert_eq!(
                e.validate().err().map(|e| e.0),
                want.map(String::from),
                "{e}"
            );
        }
        assert!(
            exp(Operator::Regex, one("("))
                .validate()
                .unwrap_err()
                .0
                .starts_with("invalid regex")
        );
    }
}
