//! The sample scans the report tests render: one of every status and severity, a hostile
//! title, and evidence with control characters.

#![allow(dead_code)] // each test file uses its own part of this module

use bulwark_core::{Severity, Status};
use bulwark_report::{Finding, Report, ReportScan};

pub const HOSTILE: &str = "<script>alert(\"x\")</script> \"&'";

pub fn scan() -> ReportScan {
    ReportScan {
        id: "scan-42".into(),
        host_id: "host-7".into(),
        hostname: "web-01.example.com".into(),
        os: "debian 12".into(),
        template_id: "cis-debian12-l1".into(),
        template_name: "CIS Debian 12 Level 1".into(),
        framework: "cis_level1".into(),
        policy_id: Some("policy-1".into()),
        policy_name: Some("Production Linux".into()),
        started_at: Some(1_767_607_200),
        completed_at: 1_767_607_262,
        score: Some(42.86),
        weighted_score: Some(42.42),
        risk: Some(bulwark_core::Risk::Critical),
        passing_threshold: 80.0,
        engine: "native".into(),
    }
}

pub fn finding(check_id: &str, severity: Severity, status: Status) -> Finding {
    Finding {
        check_id: check_id.into(),
        title: format!("Title of {check_id}"),
        category: "SSH".into(),
        severity,
        status,
        description: format!("Description of {check_id}."),
        rationale: format!("Rationale of {check_id}."),
        remediation: format!("Remediation of {check_id}."),
        remediation_script: None,
        references: vec![],
        idents: vec![],
        actual: None,
        expected: "a value".into(),
        reason: None,
        waived_by: None,
    }
}

/// Findings in template order, deliberately not in report order.
pub fn report() -> Report {
    use Severity::*;
    use Status::*;
    let mut findings = vec![
        finding("pass-low", Low, Pass),
        Finding {
            actual: Some("PermitRootLogin yes".into()),
            expected: "PermitRootLogin no".into(),
            remediation_script: Some(
                "sed -i 's/^PermitRootLogin.*/PermitRootLogin no/' /etc/ssh/sshd_config".into(),
            ),
            idents: vec!["CCE-80647-8".into(), "V-238201".into()],
            references: vec![
                "https://www.cisecurity.org/benchmark/debian_linux".into(),
                "CIS 5.2.10".into(),
            ],
            ..finding("fail-low", Low, Fail)
        },
        Finding {
            reason: Some("cannot read /etc/shadow: permission denied".into()),
            ..finding("error-medium", Medium, Error)
        },
        Finding {
            actual: Some("telnet installed".into()),
            reason: Some("exception EX-12: legacy device, until 2026-06-30".into()),
            waived_by: Some("alice@example.com".into()),
            ..finding("waived-high", High, Waived)
        },
        Finding {
            reason: Some("auditd is not installed".into()),
            ..finding("skip-info", Info, Skip)
        },
        Finding {
            actual: Some("ciphers: aes128-cbc\u{1b}[0m\u{0}".into()),
            category: "Cryptography".into(),
            ..finding("fail-critical", Critical, Fail)
        },
        Finding {
            title: HOSTILE.into(),
            description: HOSTILE.into(),
            actual: Some(HOSTILE.into()),
            ..finding("fail-high", High, Fail)
        },
        finding("pass-critical", Critical, Pass),
        finding("fail-medium", Medium, Fail),
    ];
    findings.push(Finding {
        category: "Cryptography".into(),
        ..finding("pass-medium", Medium, Pass)
    });
    Report {
        scan: scan(),
        findings,
    }
}
