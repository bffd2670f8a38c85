//! SCAP content as Bulwark sees it: what a data stream offers (benchmarks, profiles, the
//! operating systems they fit), a profile turned into a template whose checks are its rules,
//! and XCCDF rule results turned into Bulwark's statuses.

use bulwark_core::probe::Probe;
use bulwark_core::template::{Check, Remediation, TestCases};
use bulwark_core::{Engine, Framework, OsKind, ScapSource, ScapValue, Severity, Status, Template};
use serde::Serialize;

use crate::benchmark::{Benchmark, Severity as XccdfSeverity};
use crate::{DataStream, ResolvedRule, RuleOutcome, ScapError, os_fits};

/// What a data stream holds, for choosing a profile to import.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Contents {
    /// SHA-256 of the file, hex.
    pub digest: String,
    pub benchmarks: Vec<BenchmarkInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct BenchmarkInfo {
    pub id: String,
    pub title: String,
    pub version: Option<String>,
    /// CPE names of the platforms it targets.
    pub platforms: Vec<String>,
    /// The same as os-release terms, e.g. `ubuntu 22.04`.
    pub fits: Vec<String>,
    pub profiles: Vec<ProfileInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProfileInfo {
    pub id: String,
    pub title: String,
    /// Rules the profile selects.
    pub rules: usize,
}

pub fn contents(ds: &DataStream) -> Result<Contents, ScapError> {
    let benchmarks = ds
        .benchmarks()
        .iter()
        .map(|b| {
            let profiles = b
                .profiles()
                .iter()
                .filter(|p| !p.is_abstract)
                .map(|p| {
                    Ok(ProfileInfo {
                        id: p.id.clone(),
                        title: p.title.clone(),
                        rules: b.resolve_profile(&p.id)?.rules.len(),
                    })
                })
                .collect::<Result<_, ScapError>>()?;
            Ok(BenchmarkInfo {
                id: b.id.clone(),
                title: b.title.clone(),
                version: b.version.clone(),
                platforms: b.platforms.clone(),
                fits: os_fits(&b.platforms)
                    .into_iter()
                    .map(|f| match f.version {
                        Some(v) => format!("{} {v}", f.id),
                        None => f.id,
                    })
                    .collect(),
                profiles,
            })
        })
        .collect::<Result<_, ScapError>>()?;
    Ok(Contents {
        digest: ds.digest().to_string(),
        benchmarks,
    })
}

/// The benchmark holding `profile_id` (profile ids are unique within SSG's data streams; the
/// first benchmark that has it wins otherwise).
fn benchmark_of<'d>(ds: &'d DataStream, profile_id: &str) -> Result<&'d Benchmark, ScapError> {
    ds.benchmarks()
        .iter()
        .find(|b| b.profile(profile_id).is_some())
        .ok_or_else(|| ScapError::UnknownProfile {
            id: profile_id.to_string(),
            available: ds
                .benchmarks()
                .iter()
                .flat_map(|b| b.profiles().iter().map(|p| p.id.clone()))
                .collect(),
        })
}

/// A template running `profile_id` of the data stream through oscap: one check per selected
/// rule, carrying the rule's texts, fix, identifiers and references.
pub fn profile_template(
    ds: &DataStream,
    profile_id: &str,
    file_name: &str,
) -> Result<Template, ScapError> {
    let benchmark = benchmark_of(ds, profile_id)?;
    let profile = benchmark.resolve_profile(profile_id)?;
    let target = ds.eval_target(&benchmark.id);
    let windows = benchmark
        .platforms
        .iter()
        .any(|p| p.contains(":microsoft:windows"));
    Ok(Template {
        id: String::new(),
        name: format!("{} — {}", benchmark.title, profile.title),
        framework: framework_of(profile_id),
        os: if windows {
            OsKind::Windows
        } else {
            OsKind::Linux
        },
        version: benchmark.version.clone().unwrap_or_default(),
        benchmark: benchmark.title.clone(),
        engine: Engine::Oscap(ScapSource {
            datastream: ds.digest().to_string(),
            file_name: file_name.to_string(),
            datastream_id: target.as_ref().map(|t| t.datastream_id.clone()),
            xccdf_id: target.map(|t| t.xccdf_id),
            benchmark_id: benchmark.id.clone(),
            profile_id: profile_id.to_string(),
            platforms: benchmark.platforms.clone(),
            values: profile
                .values
                .iter()
                .map(|v| ScapValue {
                    id: v.id.clone(),
                    title: v.title.clone(),
                    value: v.value.clone(),
                })
                .collect(),
        }),
        checks: profile.rules.iter().map(check_of).collect(),
    })
}

/// SSG names its profiles after the benchmark they implement (`cis_level2_server`,
/// `cis_workstation_l1`, `stig_gui`; RHEL's plain `cis` is level 2 server).
fn framework_of(profile_id: &str) -> Framework {
    let name = profile_id
        .rsplit("_profile_")
        .next()
        .unwrap_or(profile_id)
        .to_ascii_lowercase();
    if name.contains("stig") {
        Framework::Stig
    } else if name.contains("cis") && (name.contains("l1") || name.contains("level1")) {
        Framework::CisLevel1
    } else if name.contains("cis") {
        Framework::CisLevel2
    } else {
        Framework::Custom
    }
}

fn severity_of(s: XccdfSeverity) -> Severity {
    match s {
        XccdfSeverity::High => Severity::High,
        XccdfSeverity::Medium => Severity::Medium,
        // A rule without a severity still counts a little in the weighted score.
        XccdfSeverity::Low | XccdfSeverity::Unknown => Severity::Low,
        XccdfSeverity::Info => Severity::Info,
    }
}

const SHELL_FIX: &str = "urn:xccdf:fix:script:sh";

fn check_of(rule: &ResolvedRule) -> Check {
    let mut references: Vec<String> = rule.idents.iter().map(|i| i.id.clone()).collect();
    references.extend(rule.references.iter().map(|r| match &r.href {
        Some(href) => format!("{} ({href})", r.text),
        None => r.text.clone(),
    }));
    Check {
        id: rule.id.clone(),
        title: rule.title.clone(),
        category: rule.category().unwrap_or("General").to_string(),
        severity: severity_of(rule.severity),
        description: rule.description.clone(),
        rationale: rule.rationale.clone(),
        remediation: {
            let shell = rule
                .fixes
                .iter()
                .find(|f| f.system.as_deref() == Some(SHELL_FIX));
            Remediation {
                text: rule.fixtext.clone().unwrap_or_default(),
                script: shell.map(|f| f.text.clone()),
                // The data stream's own judgement of its fix ("unknown" says nothing).
                disruption: shell
                    .and_then(|f| f.disruption.as_deref())
                    .and_then(bulwark_core::Disruption::parse),
                reboot: shell.is_some_and(|f| f.reboot),
            }
        },
        references,
        platforms: vec![],
        enabled: true,
        only_if: None,
        probe: Probe::XccdfRule {
            rule: rule.id.clone(),
        },
        expect: None,
        overrides: vec![],
        tests: TestCases::default(),
    }
}

/// One outcome per check (by rule id) that oscap reported in `arf`, in the checks' order; a
/// rule oscap did not report is left out (the server records it as an error). What the agent
/// and agentless scans of `oscap` templates send.
pub fn check_outcomes<'a>(
    check_ids: impl IntoIterator<Item = &'a str>,
    arf: &crate::ArfResults,
) -> Vec<(String, bulwark_core::CheckOutcome)> {
    let by_rule: std::collections::HashMap<&str, &crate::RuleResult> = arf
        .test_results
        .iter()
        .flat_map(|t| t.rule_results.iter())
        .map(|r| (r.idref.as_str(), r))
        .collect();
    check_ids
        .into_iter()
        .filter_map(|id| {
            let rule = by_rule.get(id)?;
            let messages: Vec<&str> = rule.messages.iter().map(|m| m.text.as_str()).collect();
            Some((
                id.to_owned(),
                bulwark_core::CheckOutcome {
                    status: outcome_status(rule.outcome),
                    actual: Some(format!("oscap: {}", rule.outcome.as_str())),
                    expected: "the rule's OVAL check passes".into(),
                    reason: match messages.is_empty() {
                        false => Some(messages.join("; ")),
                        true => outcome_reason(rule.outcome).map(str::to_owned),
                    },
                },
            ))
        })
        .collect()
}

/// Bulwark's status for an XCCDF rule result: the scanner's `unknown` is an error (it could
/// not decide), `notapplicable` a skip, `fixed` a pass; the not-scored kinds keep their own.
pub fn outcome_status(outcome: RuleOutcome) -> Status {
    match outcome {
        RuleOutcome::Pass | RuleOutcome::Fixed => Status::Pass,
        RuleOutcome::Fail => Status::Fail,
        RuleOutcome::Error | RuleOutcome::Unknown => Status::Error,
        RuleOutcome::NotApplicable => Status::Skip,
        RuleOutcome::NotChecked => Status::NotChecked,
        RuleOutcome::NotSelected => Status::NotSelected,
        RuleOutcome::Informational => Status::Informational,
    }
}

/// Why a rule that was neither passed nor failed got its status, when the scanner added no
/// message of its own: every result that is not a verdict names what was missing.
pub fn outcome_reason(outcome: RuleOutcome) -> Option<&'static str> {
    match outcome {
        RuleOutcome::Pass | RuleOutcome::Fixed | RuleOutcome::Fail => None,
        RuleOutcome::NotApplicable => Some(
            "oscap judged the rule not applicable: the host does not match the rule's platform (CPE)",
        ),
        RuleOutcome::Error => Some("oscap could not evaluate the rule (error)"),
        RuleOutcome::Unknown => Some("oscap could not decide the rule (unknown)"),
        RuleOutcome::NotChecked => Some("the rule has no automated check oscap could run"),
        RuleOutcome::NotSelected => Some("the profile does not select this rule"),
        RuleOutcome::Informational => Some("an informational rule, which oscap does not score"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_that_is_not_a_verdict_has_a_reason() {
        for outcome in RuleOutcome::ALL {
            let verdict = matches!(outcome_status(outcome), Status::Pass | Status::Fail);
            assert_eq!(outcome_reason(outcome).is_none(), verdict, "{outcome:?}");
        }
    }

    #[test]
    fn frameworks_follow_ssg_profile_names() {
        for (id, want) in [
            (
                "xccdf_org.ssgproject.content_profile_cis_level1_server",
                Framework::CisLevel1,
            ),
            (
                "xccdf_org.ssgproject.content_profile_cis_workstation_l1",
                Framework::CisLevel1,
            ),
            (
                "xccdf_org.ssgproject.content_profile_cis_level2_workstation",
                Framework::CisLevel2,
            ),
            (
                "xccdf_org.ssgproject.content_profile_cis",
                Framework::CisLevel2,
            ),
            (
                "xccdf_org.ssgproject.content_profile_stig_gui",
                Framework::Stig,
            ),
            (
                "xccdf_org.ssgproject.content_profile_standard",
                Framework::Custom,
            ),
        ] {
            assert_eq!(framework_of(id), want, "{id}");
        }
    }

    #[test]
    fn every_xccdf_result_has_a_status() {
        for (outcome, want) in [
            (RuleOutcome::Pass, Status::Pass),
            (RuleOutcome::Fixed, Status::Pass),
            (RuleOutcome::Fail, Status::Fail),
            (RuleOutcome::Error, Status::Error),
            (RuleOutcome::Unknown, Status::Error),
            (RuleOutcome::NotApplicable, Status::Skip),
            (RuleOutcome::NotChecked, Status::NotChecked),
            (RuleOutcome::NotSelected, Status::NotSelected),
            (RuleOutcome::Informational, Status::Informational),
        ] {
            assert_eq!(outcome_status(outcome), want, "{outcome:?}");
        }
    }
}
