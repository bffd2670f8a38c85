//! Login banners. Linux (/etc/issue, /etc/issue.net, /etc/motd): they must say something, and
//! must not reveal the operating system through getty escapes or its name. Windows: the legal
//! notice caption and text shown before logon must both be set.

use bulwark_core::{CheckOutcome, HostOs};

use crate::host::HostRoot;
use crate::windows::live::BANNER_KEY;
use crate::windows::registry::Registry;

/// Windows: `LegalNoticeCaption` and `LegalNoticeText` under the policies' System key.
pub fn judge_windows(registry: &Registry, require_text: bool) -> CheckOutcome {
    let expected = if require_text {
        "LegalNoticeCaption and LegalNoticeText set".to_string()
    } else {
        "a legal notice, if any".to_string()
    };
    let get = |name: &str| {
        registry
            .value(BANNER_KEY, name)
            .map(|v| v.text())
            .unwrap_or_default()
    };
    let (caption, text) = (get("LegalNoticeCaption"), get("LegalNoticeText"));
    let mut missing = Vec::new();
    for (name, value) in [("LegalNoticeCaption", &caption), ("LegalNoticeText", &text)] {
        if value.trim().is_empty() {
            missing.push(format!("{name} is empty or missing"));
        }
    }
    let actual = format!(
        "caption: {}; text: {}",
        if caption.trim().is_empty() {
            "(empty)"
        } else {
            caption.trim()
        },
        if text.trim().is_empty() {
            "(empty)"
        } else {
            text.trim()
        }
    );
    let passed = !require_text || missing.is_empty();
    let outcome = CheckOutcome::judged(passed, Some(actual), expected);
    if passed {
        outcome
    } else {
        outcome.with_reason(missing.join("; "))
    }
}

const ESCAPES: [&str; 4] = ["\\m", "\\r", "\\s", "\\v"];

pub fn judge(host: &HostRoot, os: &HostOs, path: &str, require_text: bool) -> CheckOutcome {
    let expected = format!(
        "{}no \\m \\r \\s \\v escapes and no mention of {}",
        if require_text { "a warning text, " } else { "" },
        os.id
    );
    let text = match host.read(path) {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => return CheckOutcome::error(expected, e.to_string()),
    };
    let mut problems: Vec<String> = ESCAPES
        .iter()
        .filter(|e| text.contains(*e))
        .map(|e| format!("contains {e}"))
        .collect();
    let lower = text.to_lowercase();
    let mut names = vec![os.id.to_lowercase()];
    if let Some(family) = os.family() {
        names.push(family.as_str().to_string());
    }
    names.sort();
    names.dedup();
    for name in names.iter().filter(|n| n.len() > 2) {
        if lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == name)
        {
            problems.push(format!("names the OS ({name})"));
        }
    }
    if require_text && text.trim().is_empty() {
        problems.push(format!("{path} is empty or missing"));
    }
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    let actual = if first.is_empty() {
        "(empty)".to_string()
    } else {
        first
    };
    let outcome = CheckOutcome::judged(problems.is_empty(), Some(actual), expected);
    if problems.is_empty() {
        outcome
    } else {
        outcome.with_reason(problems.join("; "))
    }
}
