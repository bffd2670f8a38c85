//! Validation beyond what serde checks: template metadata, duplicate ids (naming both places),
//! each check's own problems, the categories of Linux and Windows templates, and kinds and test
//! cases that do not fit the template's OS.

use std::collections::HashMap;

use bulwark_core::{Check, OsKind, Probe};

use crate::Problem;
use crate::load::Loaded;

pub const LINUX_CATEGORIES: [&str; 11] = [
    "Filesystem",
    "Services",
    "Network Parameters",
    "Logging and Auditing",
    "Access and Authentication",
    "Firewall",
    "Mandatory Access Control",
    "Process Hardening",
    "Password Policy",
    "Account Lockout",
    "User Rights",
];

pub const WINDOWS_CATEGORIES: [&str; 11] = [
    "Account Policies",
    "Password Policy",
    "Account Lockout",
    "User Rights Assignment",
    "Security Options",
    "Audit Policy",
    "Services",
    "Firewall",
    "Network Security",
    "Registry Configuration",
    "Logon Banner",
];

/// Base layouts of test cases per template OS.
const WINDOWS_BASES: [&str; 1] = ["windows2022"];

/// Problems of a check that depend on its template's OS: kinds of the other OS, login banner
/// paths, and test cases on the other OS's base layouts.
fn os_problems(os: OsKind, check: &Check) -> Vec<String> {
    let mut problems = Vec::new();
    let probes = check
        .variants()
        .into_iter()
        .map(|(p, _)| p)
        .chain(check.only_if.as_ref());
    for probe in probes {
        if let Some(kind_os) = probe.os()
            && kind_os != os
        {
            problems.push(format!(
                "kind {} is for {} templates, this one is {}",
                probe.kind(),
                kind_os.as_str(),
                os.as_str()
            ));
        }
        if let Probe::LoginBanner { path, .. } = probe {
            match (os, path) {
                (OsKind::Windows, Some(_)) => problems.push(
                    "login_banner takes no path on windows: it reads LegalNoticeCaption and LegalNoticeText from the registry".into(),
                ),
                (OsKind::Linux, None) => problems.push(
                    "login_banner needs a path on linux (an absolute path such as /etc/issue)".into(),
                ),
                _ => {}
            }
        }
    }
    let cases = check.tests.pass.iter().chain(&check.tests.fail);
    for case in cases {
        let windows_case = case
            .os
            .as_deref()
            .is_some_and(|o| WINDOWS_BASES.contains(&o));
        if os == OsKind::Windows && !windows_case {
            problems.push(format!(
                "test cases of a windows template need os: {}",
                WINDOWS_BASES.join(" | ")
            ));
            break;
        }
        if os == OsKind::Linux && windows_case {
            problems.push("a linux template's test case uses a windows base layout".into());
            break;
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// Problems of a check's remediation metadata: every script says how disruptive it is, and
/// `disruption` and `reboot` describe a script, so they need one.
fn remediation_problems(check: &Check) -> Vec<String> {
    let r = &check.remediation;
    let mut problems = Vec::new();
    if r.script.is_some() && r.disruption.is_none() {
        problems.push(
            "remediation.script needs a disruption (low, medium or high): how much running it can disturb the host".into(),
        );
    }
    if r.script.is_none() && (r.disruption.is_some() || r.reboot) {
        problems.push(
            "remediation.disruption and remediation.reboot describe a script; this check has none"
                .into(),
        );
    }
    problems
}

fn valid_template_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_check_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

pub fn validate(loaded: &Loaded, meta_file: &str) -> Vec<Problem> {
    let t = &loaded.template;
    let mut problems = Vec::new();
    if !valid_template_id(&t.id) {
        problems.push(Problem {
            file: meta_file.to_string(),
            line: None,
            check: None,
            message: format!(
                "template id {:?} must be lowercase letters, digits and dashes",
                t.id
            ),
        });
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, (check, loc)) in t.checks.iter().zip(&loaded.locations).enumerate() {
        let mut report = |message: String| {
            problems.push(Problem {
                file: loc.file.clone(),
                line: Some(loc.line),
                check: Some(check.id.clone()),
                message,
            })
        };
        if !valid_check_id(&check.id) {
            report(format!(
                "id {:?} may only hold letters, digits, dashes, dots and underscores",
                check.id
            ));
        }
        if let Some(&first) = seen.get(check.id.as_str()) {
            let other = &loaded.locations[first];
            report(format!(
                "duplicate check id, first defined at {}:{}",
                other.file, other.line
            ));
        } else {
            seen.insert(&check.id, i);
        }
        let categories: &[&str] = match t.os {
            OsKind::Linux => &LINUX_CATEGORIES,
            OsKind::Windows => &WINDOWS_CATEGORIES,
            OsKind::Darwin => &[],
        };
        if !categories.is_empty() && !categories.contains(&check.category.as_str()) {
            report(format!(
                "unknown category {:?}; use one of: {}",
                check.category,
                categories.join(", ")
            ));
        }
        for p in remediation_problems(check) {
            report(p);
        }
        for p in os_problems(t.os, check) {
            report(p);
        }
        for p in check.problems() {
            report(p);
        }
    }
    problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    problems
}
