//! The provisioning gate: an organization's compliance settings for freshly provisioned
//! machines, and the rule that decides whether a scanned machine may be handed over.
//!
//! A machine created by a provisioning run (Terraform, or any tool that calls the API) is
//! scanned against the organization's CIS profile. In `block` mode the blocking rules
//! (critical failures, high failures, a score below the minimum) hold its handover until it
//! passes or an administrator releases it; `audit` and `warn` only record (warn also notifies).

use serde::{Deserialize, Serialize};

use crate::Severity;

crate::text_enum! {
    /// What a failing scan of a provisioned machine does to its handover.
    pub enum EnforcementMode as "enforcement mode" {
        /// Record the results; never block.
        Audit = "audit",
        /// Record and notify through the organization's webhooks; never block.
        Warn = "warn",
        /// Hold the handover until the machine passes the blocking rules or an administrator
        /// releases it.
        Block = "block",
    }
}

crate::text_enum! {
    /// The CIS profiles a provisioned machine can be judged against.
    pub enum CisProfile as "CIS profile" {
        Level1Server = "level1_server",
        Level2Server = "level2_server",
        Level1Workstation = "level1_workstation",
        Level2Workstation = "level2_workstation",
    }
}

impl CisProfile {
    /// The shipped template that implements the profile.
    pub fn template_id(self) -> &'static str {
        match self {
            CisProfile::Level1Server => "cis-linux-l1",
            CisProfile::Level2Server => "cis-linux-l2",
            CisProfile::Level1Workstation => "cis-linux-l1-workstation",
            CisProfile::Level2Workstation => "cis-linux-l2-workstation",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CisProfile::Level1Server => "CIS Level 1 Server",
            CisProfile::Level2Server => "CIS Level 2 Server",
            CisProfile::Level1Workstation => "CIS Level 1 Workstation",
            CisProfile::Level2Workstation => "CIS Level 2 Workstation",
        }
    }
}

crate::text_enum! {
    /// Where a provisioned machine runs.
    pub enum VmProvider as "provider" {
        Aws = "aws",
        Azure = "azure",
        Gcp = "gcp",
        Vmware = "vmware",
        Proxmox = "proxmox",
        /// Anything else a generic tool reports (bare metal, a lab hypervisor).
        Other = "other",
    }
}

crate::text_enum! {
    /// How a provisioned machine became known.
    pub enum ProvisionSource as "provisioning source" {
        /// A Terraform run task at its post-apply stage.
        TerraformRunTask = "terraform_run_task",
        /// A Terraform notification of a completed run.
        TerraformNotification = "terraform_notification",
        /// The generic API, for any other tool.
        Api = "api",
    }
}

crate::text_enum! {
    /// A provisioned machine's scan, as the provisioning pages show it.
    pub enum ProvisionStatus as "provisioning status" {
        /// Recorded; the scan has not started.
        Pending = "pending",
        /// The scanner is connecting to or checking the machine.
        Running = "running",
        /// Scanned; results and a handover decision exist.
        Completed = "completed",
        /// The scan could not be done (not a compliance failure): the reason says why.
        Failed = "failed",
        /// Not scanned: aborted, or skipped because scanning is off or the project is exempt.
        Cancelled = "cancelled",
    }
}

impl ProvisionStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ProvisionStatus::Completed | ProvisionStatus::Failed | ProvisionStatus::Cancelled
        )
    }
}

/// An organization's compliance settings for provisioned machines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceSettings {
    /// The master switch: off, deliveries are recorded and nothing is scanned or blocked.
    pub enabled: bool,
    pub enforcement_mode: EnforcementMode,
    pub profile: CisProfile,
    /// The lowest score (0-100) that counts as passing; below it, block mode blocks.
    pub min_score: f64,
    pub block_on_critical: bool,
    pub block_on_high: bool,
    /// Scan every machine a provisioning run reports.
    pub scan_on_provision: bool,
    /// Rescan the organization's provisioned machines on this cron schedule (five fields,
    /// UTC); absent, no periodic scans.
    pub scan_schedule: Option<String>,
    /// The user the scanner logs in as.
    pub ssh_user: String,
    /// The organization's SSH credential (by id) the scanner logs in with.
    pub ssh_credential_id: Option<String>,
    /// Run the scanner with `sudo -n` (the login user needs passwordless sudo).
    pub ssh_sudo: bool,
    /// Trust the key a new machine presents at its first contact when the provisioning
    /// delivery did not say which key to expect (the machine was just created by the
    /// organization's own pipeline); the key is then pinned like any approved key.
    pub trust_new_host_keys: bool,
    /// Check ids skipped on provisioned machines: not run, not scored, listed as exempted.
    pub exempted_rules: Vec<String>,
    /// Terraform projects whose machines are recorded but never scanned.
    pub exempted_projects: Vec<String>,
    /// Let Terraform callbacks and API reads go to http:// or private and loopback
    /// addresses (a self-hosted Terraform Enterprise on the LAN); off, only public https.
    pub allow_insecure_callbacks: bool,
}

impl Default for ComplianceSettings {
    fn default() -> Self {
        ComplianceSettings {
            enabled: false,
            enforcement_mode: EnforcementMode::Audit,
            profile: CisProfile::Level1Server,
            min_score: 70.0,
            block_on_critical: true,
            block_on_high: false,
            scan_on_provision: true,
            scan_schedule: None,
            ssh_user: "ubuntu".into(),
            ssh_credential_id: None,
            ssh_sudo: true,
            trust_new_host_keys: true,
            exempted_rules: Vec::new(),
            exempted_projects: Vec::new(),
            allow_insecure_callbacks: false,
        }
    }
}

impl ComplianceSettings {
    /// What is wrong with the settings, as (field, message) pairs; empty when they are usable.
    /// The cron expression's syntax is checked by the server, which owns the cron parser.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(0.0..=100.0).contains(&self.min_score) || self.min_score.is_nan() {
            problems.push((
                "min_score",
                format!("{} is not a score; use 0 to 100", self.min_score),
            ));
        }
        let user = self.ssh_user.trim();
        if user.is_empty()
            || user.starts_with('-')
            || user.contains(|c: char| c.is_whitespace() || c.is_control())
        {
            problems.push(("ssh_user", format!("{user:?} is not a user name")));
        }
        for (field, list) in [
            ("exempted_rules", &self.exempted_rules),
            ("exempted_projects", &self.exempted_projects),
        ] {
            if let Some(blank) = list.iter().position(|s| s.trim().is_empty()) {
                problems.push((field, format!("entry {} is empty", blank + 1)));
            }
        }
        problems
    }

    pub fn exempts_project(&self, project: Option<&str>) -> bool {
        project.is_some_and(|p| self.exempted_projects.iter().any(|x| x.trim() == p.trim()))
    }

    pub fn exempts_rule(&self, check_id: &str) -> bool {
        self.exempted_rules.iter().any(|x| x.trim() == check_id)
    }

    /// Why a scan with this tally blocks the handover; empty when it does not. Every rule is
    /// evaluated whatever the mode, so audit and warn can show what block would have done.
    pub fn blocking_reasons(&self, tally: &Tally) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.block_on_critical && tally.critical_failures > 0 {
            reasons.push(format!(
                "{} critical CIS check(s) failed",
                tally.critical_failures
            ));
        }
        if self.block_on_high && tally.high_failures > 0 {
            reasons.push(format!(
                "{} high-severity CIS check(s) failed",
                tally.high_failures
            ));
        }
        match tally.score {
            Some(score) if score < self.min_score => reasons.push(format!(
                "score {} below minimum {}",
                one_decimal(score),
                one_decimal(self.min_score)
            )),
            None => reasons.push("no check could be scored".into()),
            Some(_) => {}
        }
        reasons
    }

    /// The handover decision for a completed scan: the reasons, and whether they block.
    pub fn judge(&self, tally: &Tally) -> Verdict {
        let reasons = self.blocking_reasons(tally);
        Verdict {
            blocked: self.enforcement_mode == EnforcementMode::Block && !reasons.is_empty(),
            reasons,
        }
    }
}

/// "64.2", "70": a score as people write it.
fn one_decimal(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// What a completed scan found, as the blocking rules read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tally {
    pub score: Option<f64>,
    pub critical_failures: i64,
    pub high_failures: i64,
    pub medium_failures: i64,
    pub low_failures: i64,
}

impl Tally {
    /// Counts one failed check of this severity (info failures count nowhere).
    pub fn count_failure(&mut self, severity: Severity) {
        match severity {
            Severity::Critical => self.critical_failures += 1,
            Severity::High => self.high_failures += 1,
            Severity::Medium => self.medium_failures += 1,
            Severity::Low => self.low_failures += 1,
            Severity::Info => {}
        }
    }
}

/// A handover decision: blocked only in block mode; the reasons are kept in every mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub blocked: bool,
    pub reasons: Vec<String>,
}

impl Verdict {
    pub fn reason(&self) -> Option<String> {
        (!self.reasons.is_empty()).then(|| self.reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(score: f64, critical: i64, high: i64) -> Tally {
        Tally {
            score: Some(score),
            critical_failures: critical,
            high_failures: high,
            ..Tally::default()
        }
    }

    #[test]
    fn blocking_rules_follow_the_settings() {
        let block = ComplianceSettings {
            enforcement_mode: EnforcementMode::Block,
            ..ComplianceSettings::default()
        };
        let high_too = ComplianceSettings {
            block_on_high: true,
            ..block.clone()
        };
        let no_critical = ComplianceSettings {
            block_on_critical: false,
            ..block.clone()
        };
        let cases: [(&ComplianceSettings, Tally, &[&str]); 6] = [
            (&block, tally(95.0, 0, 4), &[]),
            (
                &block,
                tally(95.0, 3, 0),
                &["3 critical CIS check(s) failed"],
            ),
            (&block, tally(64.24, 0, 0), &["score 64.2 below minimum 70"]),
            (
                &high_too,
                tally(50.0, 1, 2),
                &[
                    "1 critical CIS check(s) failed",
                    "2 high-severity CIS check(s) failed",
                    "score 50 below minimum 70",
                ],
            ),
            (&no_critical, tally(90.0, 3, 0), &[]),
            (&block, tally(70.0, 0, 0), &[]),
        ];
        for (settings, tally, want) in cases {
            let verdict = settings.judge(&tally);
            assert_eq!(verdict.reasons, want, "{tally:?}");
            assert_eq!(verdict.blocked, !want.is_empty(), "{tally:?}");
        }
    }

    #[test]
    fn audit_and_warn_record_reasons_but_never_block() {
        for mode in [EnforcementMode::Audit, EnforcementMode::Warn] {
            let settings = ComplianceSettings {
                enforcement_mode: mode,
                ..ComplianceSettings::default()
            };
            let verdict = settings.judge(&tally(10.0, 5, 5));
            assert!(!verdict.blocked, "{mode}");
            assert_eq!(verdict.reasons.len(), 2, "{mode}: {verdict:?}");
        }
    }

    #[test]
    fn settings_problems_name_their_field() {
        let bad = ComplianceSettings {
            enabled: true,
            min_score: 101.0,
            ssh_user: "-oProxyCommand".into(),
            exempted_projects: vec!["web".into(), " ".into()],
            ..ComplianceSettings::default()
        };
        let fields: Vec<&str> = bad.problems().iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["min_score", "ssh_user", "exempted_projects"]);
        assert!(ComplianceSettings::default().problems().is_empty());
    }

    #[test]
    fn every_profile_names_a_distinct_template() {
        let ids: std::collections::HashSet<&str> =
            CisProfile::ALL.iter().map(|p| p.template_id()).collect();
        assert_eq!(ids.len(), CisProfile::ALL.len());
    }
}
