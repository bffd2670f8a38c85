//! Templates and checks as the content defines them, and how a check resolves for a host
//! (platform applicability, then the first matching distro/version override).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::expect::{Expectation, Scalar};
use crate::platform::{Distro, HostOs, OsKind, VersionConstraint};
use crate::probe::{Judgement, Probe};

crate::text_enum! {
    /// How much a failed check matters; ordered most severe first.
    pub enum Severity as "severity" {
        Critical = "critical",
        High = "high",
        Medium = "medium",
        Low = "low",
        Info = "info",
    }
}

impl Severity {
    /// Weight in the severity-weighted score (the second seed's table; info counts nothing).
    pub fn weight(self) -> u32 {
        match self {
            Severity::Critical => 10,
            Severity::High => 5,
            Severity::Medium => 3,
            Severity::Low => 1,
            Severity::Info => 0,
        }
    }
}

crate::text_enum! {
    /// The benchmark family a template implements; copies and imports of one's own are
    /// `custom`.
    pub enum Framework as "framework" {
        CisLevel1 = "cis_level1",
        CisLevel2 = "cis_level2",
        Stig = "stig",
        Custom = "custom",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub framework: Framework,
    pub os: OsKind,
    pub version: String,
    pub benchmark: String,
    /// How agents evaluate the checks; absent means Bulwark's own collectors.
    #[serde(default, skip_serializing_if = "Engine::is_native")]
    pub engine: Engine,
    pub checks: Vec<Check>,
}

/// Who decides a template's checks on the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Engine {
    /// Bulwark's collectors evaluate each check's probe.
    #[default]
    Native,
    /// OpenSCAP (`oscap xccdf eval`) runs a profile of an imported data stream; each check is
    /// one of the profile's rules.
    Oscap(ScapSource),
}

impl Engine {
    pub fn is_native(&self) -> bool {
        matches!(self, Engine::Native)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Engine::Native => "native",
            Engine::Oscap(_) => "oscap",
        }
    }
}

/// The exact SCAP content a template was imported from, enough to run it again anywhere.
/// Written by the server, never by people, and read by agents of other versions: unknown
/// fields are ignored so that an older agent still runs a newer server's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScapSource {
    /// SHA-256 of the source data stream file, hex: the key the server keeps it under.
    pub datastream: String,
    /// File name it was imported as, for people.
    pub file_name: String,
    /// `oscap --datastream-id` and `--xccdf-id` of the benchmark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastream_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xccdf_id: Option<String>,
    pub benchmark_id: String,
    pub profile_id: String,
    /// CPE names of the platforms the benchmark targets.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// The values the profile's rules use, as the profile sets or refines them (oscap applies
    /// them itself; kept so that people see what the profile demands).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ScapValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScapValue {
    pub id: String,
    pub title: String,
    pub value: String,
}

crate::text_enum! {
    /// How much applying a remediation script can disturb the running host: `low` changes a
    /// setting nothing running depends on; `medium` restarts or reloads a service, or changes
    /// what users and programs may do; `high` can cut off access (SSH daemon, PAM, firewall,
    /// account lockout, immutable audit rules) or stop the host from booting as before.
    pub enum Disruption as "disruption" {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// How disruptive running the script is (shipped content sets it for every script).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption: Option<Disruption>,
    /// The script's change takes full effect only after a reboot.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reboot: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub category: String,
    pub severity: Severity,
    pub description: String,
    pub rationale: String,
    pub remediation: Remediation,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Distro families the check applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Distro>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A condition for the check to apply (e.g. the package it hardens is installed); when it
    /// does not hold, the check is `skip` with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if: Option<Probe>,
    pub probe: Probe,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
    #[serde(default, skip_serializing_if = "TestCases::is_empty")]
    pub tests: TestCases,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// A family (`rhel`) or an exact os-release ID (`rocky`).
    pub distro: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
}

impl Override {
    fn applies_to(&self, host: &HostOs) -> bool {
        host.matches_distro(&self.distro)
            && self.version.as_deref().is_none_or(|v| {
                VersionConstraint::parse(v).is_ok_and(|c| c.holds(&host.version_id))
            })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCases {
    #[serde(default)]
    pub pass: Vec<TestCase>,
    #[serde(default)]
    pub fail: Vec<TestCase>,
}

impl TestCases {
    pub fn is_empty(&self) -> bool {
        self.pass.is_empty() && self.fail.is_empty()
    }
}

/// A fake host state for one inline test: a base layout plus files, packages and services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Base layout: `debian12` (default), `ubuntu2204` or `rhel9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Files under /proc in this case stand for the running kernel.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, ServiceSetup>,
    /// Windows: registry key -> value name -> value (rendered as `reg query` output).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub registry: BTreeMap<String, BTreeMap<String, RegistryData>>,
    /// Windows: section -> key -> value (rendered as the file `secedit /export` writes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub security_policy: BTreeMap<String, BTreeMap<String, Scalar>>,
    /// Windows: subcategory -> inclusion setting (rendered as `auditpol /r` output).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_policy: BTreeMap<String, String>,
}

/// A registry value in a test case: an integer is a REG_DWORD, a string a REG_SZ, a list a
/// REG_MULTI_SZ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RegistryData {
    Dword(u32),
    Text(String),
    Multi(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FileSpec {
    Text(String),
    Detailed(FileDetails),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dir: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symlink: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceSetup {
    Enabled,
    Disabled,
    Masked,
    /// Windows only: demand start.
    Manual,
}

/// What a check amounts to on one host.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    Run {
        probe: &'a Probe,
        expect: Option<&'a Expectation>,
    },
    NotApplicable(String),
}

impl Check {
    /// The check as an agent needs it to evaluate it. The prose (description, rationale,
    /// remediation, references) and the inline tests stay on the server, which reports from
    /// its own copy of the template: they are most of a check's size, and a scan job carries
    /// every check.
    pub fn for_evaluation(&self) -> Check {
        Check {
            id: self.id.clone(),
            title: self.title.clone(),
            category: self.category.clone(),
            severity: self.severity,
            description: String::new(),
            rationale: String::new(),
            remediation: Remediation::default(),
            references: Vec::new(),
            platforms: self.platforms.clone(),
            enabled: self.enabled,
            only_if: self.only_if.clone(),
            probe: self.probe.clone(),
            expect: self.expect.clone(),
            overrides: self.overrides.clone(),
            tests: TestCases::default(),
        }
    }

    /// Applies platform restrictions and the first matching override.
    pub fn resolve<'a>(&'a self, template_os: OsKind, host: &HostOs) -> Resolved<'a> {
        if host.kind != template_os {
            return Resolved::NotApplicable(format!(
                "{} check on a {} host",
                template_os.as_str(),
                host.kind.as_str()
            ));
        }
        if !self.platforms.is_empty() && !self.platforms.iter().any(|p| host.family() == Some(*p)) {
            let names: Vec<&str> = self.platforms.iter().map(|p| p.as_str()).collect();
            return Resolved::NotApplicable(format!(
                "applies to {} only, host is {}",
                names.join(", "),
                host.family_name()
            ));
        }
        let chosen = self.overrides.iter().find(|o| o.applies_to(host));
        let probe = chosen.and_then(|o| o.probe.as_ref()).unwrap_or(&self.probe);
        let expect = chosen
            .and_then(|o| o.expect.as_ref())
            .or(self.expect.as_ref());
        Resolved::Run { probe, expect }
    }

    /// Every (probe, expectation) pair the check can run with, for validation.
    /// Whether evaluating the check may run a program on the host (its probe, its condition
    /// or any override's probe is a command): such content is code, and runs only where the
    /// organization and the agent allow it.
    pub fn runs_commands(&self) -> bool {
        self.variants()
            .into_iter()
            .map(|(p, _)| p)
            .chain(self.only_if.as_ref())
            .any(|p| matches!(p, Probe::Command { .. }))
    }

    pub fn variants(&self) -> Vec<(&Probe, Option<&Expectation>)> {
        let mut out = vec![(&self.probe, self.expect.as_ref())];
        for o in &self.overrides {
            out.push((
                o.probe.as_ref().unwrap_or(&self.probe),
                o.expect.as_ref().or(self.expect.as_ref()),
            ));
        }
        out
    }

    /// Shape problems of the check itself (not of its YAML): expectations that do not fit
    /// their probe, bad overrides, missing test cases.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (field, value) in [
            ("title", &self.title),
            ("category", &self.category),
            ("description", &self.description),
            ("rationale", &self.rationale),
            ("remediation.text", &self.remediation.text),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{field} is empty"));
            }
        }
        if let Some(condition) = &self.only_if {
            problems.extend(
                condition
                    .problems()
                    .into_iter()
                    .map(|p| format!("only_if: {p}")),
            );
            if condition.judgement() == Judgement::NeedsExpectation {
                problems.push(format!(
                    "only_if: kind {} needs an expect and cannot be a condition",
                    condition.kind()
                ));
            }
        }
        for (probe, expect) in self.variants() {
            problems.extend(probe.problems());
            match (probe.judgement(), expect) {
                (Judgement::NeedsExpectation, None) => {
                    problems.push(format!("kind {} needs an expect", probe.kind()))
                }
                (Judgement::SelfJudged, Some(_)) => problems.push(format!(
                    "kind {} judges itself and takes no expect",
                    probe.kind()
                )),
                _ => {}
            }
            if let Some(e) = expect
                && let Err(err) = e.validate()
            {
                problems.push(format!("expect: {err}"));
            }
            if let (Probe::SecurityPolicy { section, .. }, Some(e)) = (probe, expect)
                && section == "Privilege Rights"
                && e.to_string().contains('*')
            {
                problems.push(
                    "expect: Privilege Rights values are collected without the * before each SID; write S-1-5-32-544, not *S-1-5-32-544".into(),
                );
            }
        }
        for o in &self.overrides {
            if Distro::parse(&o.distro).is_none()
                && !crate::platform::KNOWN_IDS.contains(&o.distro.as_str())
            {
                problems.push(format!("override names unknown distro {:?}", o.distro));
            }
            if let Some(v) = &o.version
                && let Err(e) = VersionConstraint::parse(v)
            {
                problems.push(format!("override: {e}"));
            }
            if o.probe.is_none() && o.expect.is_none() {
                problems.push(format!("override for {} changes nothing", o.distro));
            }
        }
        if self.tests.pass.is_empty() {
            problems.push("tests need at least one pass case".into());
        }
        if self.tests.fail.is_empty() {
            problems.push("tests need at least one fail case".into());
        }
        problems
    }

    /// The expectation in words, for reports.
    pub fn describe_expectation(probe: &Probe, expect: Option<&Expectation>) -> String {
        match expect {
            Some(e) => e.to_string(),
            None => match probe.judgement() {
                Judgement::DefaultExpectation(e) => e.to_string(),
                _ if matches!(probe, Probe::ListeningPorts { .. }) => {
                    crate::probe::LISTENING_PORTS_EXPECTED.to_string()
                }
                _ => format!("{} check passes", probe.kind()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::Operator;

    fn host(id: &str, version: &str) -> HostOs {
        HostOs {
            kind: OsKind::Linux,
            id: id.into(),
            id_like: vec![],
            version_id: version.into(),
            pretty_name: String::new(),
        }
    }

    fn check() -> Check {
        Check {
            id: "CIS-1".into(),
            title: "t".into(),
            category: "Services".into(),
            severity: Severity::Medium,
            description: "d".into(),
            rationale: "r".into(),
            remediation: Remediation {
                text: "fix".into(),
                ..Remediation::default()
            },
            references: vec![],
            platforms: vec![],
            enabled: true,
            only_if: None,
            probe: Probe::ServiceState {
                name: crate::probe::OneOrMany::One("cron.service".into()),
            },
            expect: Some(Expectation::new(Operator::Equals, Some("enabled"))),
            overrides: vec![Override {
                distro: "rhel".into(),
                version: Some(">=9".into()),
                probe: Some(Probe::ServiceState {
                    name: crate::probe::OneOrMany::One("crond.service".into()),
                }),
                expect: None,
            }],
            tests: TestCases {
                pass: vec![TestCase::default()],
                fail: vec![TestCase::default()],
            },
        }
    }

    #[test]
    fn overrides_pick_by_distro_and_version() {
        let c = check();
        let name = |h: &HostOs| match c.resolve(OsKind::Linux, h) {
            Resolved::Run {
                probe: Probe::ServiceState { name },
                expect,
            } => {
                assert!(expect.is_some());
                name.to_vec()[0].clone()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(name(&host("debian", "12")), "cron.service");
        assert_eq!(name(&host("rocky", "9.3")), "crond.service");
        assert_eq!(name(&host("rhel", "8.9")), "cron.service");
    }

    #[test]
    fn platforms_and_os_kind_make_checks_not_applicable() {
        let mut c = check();
        c.platforms = vec![Distro::Debian, Distro::Ubuntu];
        assert_eq!(
            c.resolve(OsKind::Linux, &host("rhel", "9")),
            Resolved::NotApplicable("applies to debian, ubuntu only, host is rhel".into())
        );
        let mut windows = host("windows", "10");
        windows.kind = OsKind::Windows;
        assert!(matches!(
            c.resolve(OsKind::Linux, &windows),
            Resolved::NotApplicable(_)
        ));
    }

    #[test]
    fn problems_cover_expectations_and_tests() {
        let mut c = check();
        c.expect = None;
        c.tests.fail.clear();
        let p = c.problems();
        assert!(
            p.contains(&"kind service_state needs an expect".to_string()),
            "{p:?}"
        );
        assert!(
            p.contains(&"tests need at least one fail case".to_string()),
            "{p:?}"
        );
    }

    mod resolution {
        use super::*;
        use proptest::prelude::*;

        const DISTROS: [&str; 6] = ["debian", "ubuntu", "rhel", "rocky", "amzn", "centos"];

        fn probe(n: usize) -> Probe {
            Probe::Sysctl {
                key: format!("k{n}"),
            }
        }

        proptest! {
            /// The probe a host gets is the first override whose distro and version match it,
            /// or the check's own: compared with a direct model of that rule.
            #[test]
            fn first_matching_override_wins(
                overrides in prop::collection::vec((0usize..6, prop::option::of(7u32..11)), 0..6),
                host_id in 0usize..6,
                host_version in 7u32..11,
            ) {
                let mut c = check();
                c.probe = probe(100);
                c.overrides = overrides
                    .iter()
                    .enumerate()
                    .map(|(i, (d, v))| Override {
                        distro: DISTROS[*d].into(),
                        version: v.map(|v| format!(">={v}")),
                        probe: Some(probe(i)),
                        expect: None,
                    })
                    .collect();
                let h = host(DISTROS[host_id], &host_version.to_string());
                fn family(id: &str) -> &str {
                    match id {
                        "rocky" | "centos" | "rhel" => "rhel",
                        other => other,
                    }
                }
                let model = overrides
                    .iter()
                    .position(|(d, v)| {
                        let named = DISTROS[*d];
                        (named == DISTROS[host_id] || named == family(DISTROS[host_id]))
                            && v.is_none_or(|v| host_version >= v)
                    })
                    .map_or(probe(100), probe);
                match c.resolve(OsKind::Linux, &h) {
                    Resolved::Run { probe, .. } => prop_assert_eq!(probe, &model),
                    other => prop_assert!(false, "{other:?}"),
                }
            }
        }
    }
}
