//! Reading the Asset Reporting Format document that `oscap xccdf eval --results-arf` writes:
//! the XCCDF `TestResult`s in its reports, each rule's outcome with its check and messages.
//! The copy of the source data stream and the OVAL results it also carries are passed over
//! (but read with the same refusals: no DTD, no custom entity).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ScapError;
use crate::benchmark::{Check, Ident, Severity};
use crate::datastream::read_check;
use crate::xml::{Element, Ns, XmlReader};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArfResults {
    /// Every `TestResult` of the document's reports, in document order (oscap writes one).
    pub test_results: Vec<TestResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub id: String,
    pub benchmark_id: Option<String>,
    pub profile_id: Option<String>,
    /// As written: ISO 8601 date-times, e.g. `2026-01-05T10:11:12+00:00`.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub test_system: Option<String>,
    /// The host's name; the first `target` when there are several.
    pub target: Option<String>,
    pub target_addresses: Vec<String>,
    pub target_facts: Vec<Fact>,
    pub scores: Vec<Score>,
    pub rule_results: Vec<RuleResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The scoring model, e.g. `urn:xccdf:scoring:default`.
    pub system: Option<String>,
    pub maximum: Option<f64>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    pub idref: String,
    pub outcome: RuleOutcome,
    pub severity: Severity,
    pub time: Option<String>,
    pub idents: Vec<Ident>,
    pub checks: Vec<Check>,
    pub messages: Vec<Message>,
}

/// A scanner's note on a rule result; `severity` is `info`, `warning` or `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub severity: Option<String>,
    pub text: String,
}

/// XCCDF's rule result values (`<result>` of a `rule-result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleOutcome {
    Pass,
    Fail,
    Error,
    Unknown,
    NotApplicable,
    NotChecked,
    NotSelected,
    Informational,
    Fixed,
}

impl RuleOutcome {
    pub const ALL: [RuleOutcome; 9] = [
        RuleOutcome::Pass,
        RuleOutcome::Fail,
        RuleOutcome::Error,
        RuleOutcome::Unknown,
        RuleOutcome::NotApplicable,
        RuleOutcome::NotChecked,
        RuleOutcome::NotSelected,
        RuleOutcome::Informational,
        RuleOutcome::Fixed,
    ];

    /// The XCCDF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleOutcome::Pass => "pass",
            RuleOutcome::Fail => "fail",
            RuleOutcome::Error => "error",
            RuleOutcome::Unknown => "unknown",
            RuleOutcome::NotApplicable => "notapplicable",
            RuleOutcome::NotChecked => "notchecked",
            RuleOutcome::NotSelected => "notselected",
            RuleOutcome::Informational => "informational",
            RuleOutcome::Fixed => "fixed",
        }
    }
}

impl fmt::Display for RuleOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleOutcome {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or(())
    }
}

/// Reads an ARF document. Refuses DTDs, entities other than the predefined ones, and a
/// document whose root is not `arf:asset-report-collection`; errors name the line.
pub fn read_arf_results(xml: &[u8]) -> Result<ArfResults, ScapError> {
    let mut reader = XmlReader::new(xml)?;
    let root = reader.root()?;
    if !root.is(Ns::Arf, "asset-report-collection") {
        return Err(ScapError::NotAnArf {
            root: root.name().to_string(),
        });
    }
    let mut results = ArfResults {
        test_results: Vec::new(),
    };
    while let Some(child) = reader.next_child()? {
        if child.is(Ns::Arf, "reports") {
            find_test_results(&mut reader, &mut results.test_results)?;
        } else {
            reader.skip()?;
        }
    }
    reader.finish()?;
    Ok(results)
}

/// A report's content may be any document; the TestResults are wherever they are inside it.
fn find_test_results(
    reader: &mut XmlReader<'_>,
    found: &mut Vec<TestResult>,
) -> Result<(), ScapError> {
    while let Some(child) = reader.next_child()? {
        if child.is(Ns::Xccdf, "TestResult") {
            let result = read_test_result(reader, &child)?;
            found.push(result);
        } else if child.ns == Ns::Arf {
            find_test_results(reader, found)?;
        } else {
            reader.skip()?;
        }
    }
    Ok(())
}

fn read_test_result(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
) -> Result<TestResult, ScapError> {
    let mut result = TestResult {
        id: reader.required_attr(element, "id")?,
        benchmark_id: None,
        profile_id: None,
        start_time: reader.attr(element, "start-time")?,
        end_time: reader.attr(element, "end-time")?,
        test_system: reader.attr(element, "test-system")?,
        target: None,
        target_addresses: Vec::new(),
        target_facts: Vec::new(),
        scores: Vec::new(),
        rule_results: Vec::new(),
    };
    while let Some(child) = reader.next_child()? {
        if child.ns != Ns::Xccdf {
            reader.skip()?;
            continue;
        }
        match child.local_name() {
            "benchmark" => {
                result.benchmark_id = reader.attr(&child, "id")?;
                reader.skip()?;
            }
            "profile" => {
                result.profile_id = Some(reader.required_attr(&child, "idref")?);
                reader.skip()?;
            }
            "target" => {
                let target = reader.text()?;
                result.target.get_or_insert(target);
            }
            "target-address" => result.target_addresses.push(reader.text()?),
            "target-facts" => {
                while let Some(fact) = reader.next_child()? {
                    if fact.is(Ns::Xccdf, "fact") {
                        let name = reader.required_attr(&fact, "name")?;
                        let value = reader.text()?;
                        result.target_facts.push(Fact { name, value });
                    } else {
                        reader.skip()?;
                    }
                }
            }
            "score" => {
                let system = reader.attr(&child, "system")?;
                let maximum = reader
                    .attr(&child, "maximum")?
                    .map(|m| number(reader, &child, "score maximum", &m))
                    .transpose()?;
                let text = reader.text()?;
                let value = number(reader, &child, "score", &text)?;
                result.scores.push(Score {
                    system,
                    maximum,
                    value,
                });
            }
            "rule-result" => {
                let rule_result = read_rule_result(reader, &child)?;
                result.rule_results.push(rule_result);
            }
            _ => reader.skip()?,
        }
    }
    Ok(result)
}

fn number(
    reader: &XmlReader<'_>,
    element: &Element<'_>,
    what: &str,
    text: &str,
) -> Result<f64, ScapError> {
    text.trim().parse().map_err(|_| ScapError::InvalidValue {
        what: what.to_string(),
        value: text.to_string(),
        line: reader.element_line(element),
    })
}

fn read_rule_result(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
) -> Result<RuleResult, ScapError> {
    let idref = reader.required_attr(element, "idref")?;
    let severity = match reader.attr(element, "severity")? {
        None => Severity::Unknown,
        Some(s) => s.parse().map_err(|()| ScapError::InvalidValue {
            what: "severity of <rule-result>".to_string(),
            value: s.clone(),
            line: reader.element_line(element),
        })?,
    };
    let time = reader.attr(element, "time")?;
    let mut outcome = None;
    let mut idents = Vec::new();
    let mut checks = Vec::new();
    let mut messages = Vec::new();
    while let Some(child) = reader.next_child()? {
        if child.ns != Ns::Xccdf {
            reader.skip()?;
            continue;
        }
        match child.local_name() {
            "result" => {
                let text = reader.text()?;
                let parsed = text.parse().map_err(|()| ScapError::InvalidValue {
                    what: "rule result".to_string(),
                    value: text.clone(),
                    line: reader.element_line(&child),
                })?;
                outcome = Some(parsed);
            }
            "ident" => {
                let system = reader.required_attr(&child, "system")?;
                let id = reader.text()?;
                idents.push(Ident { system, id });
            }
            "message" => {
                let severity = reader.attr(&child, "severity")?;
                let text = reader.text()?;
                messages.push(Message { severity, text });
            }
            "check" => {
                let check = read_check(reader, &child)?;
                checks.push(check);
            }
            _ => reader.skip()?,
        }
    }
    let outcome = outcome.ok_or_else(|| ScapError::MissingElement {
        element: element.name().to_string(),
        child: "result".to_string(),
        line: reader.element_line(element),
    })?;
    Ok(RuleResult {
        idref,
        outcome,
        severity,
        time,
        idents,
        checks,
        messages,
    })
}
