//! Validation beyond what serde checks: template metadata, duplicate ids (naming both places),
//! each check's own problems, and the categories of Linux templates.

use std::collections::HashMap;

use bulwark_core::OsKind;

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
        if t.os == OsKind::Linux && !LINUX_CATEGORIES.contains(&check.category.as_str()) {
            report(format!(
                "unknown category {:?}; use one of: {}",
                check.category,
                LINUX_CATEGORIES.join(", ")
            ));
        }
        for p in check.problems() {
            report(p);
        }
    }
    problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    problems
}
