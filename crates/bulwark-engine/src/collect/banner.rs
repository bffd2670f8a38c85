//! Login banners (/etc/issue, /etc/issue.net, /etc/motd): they must say something, and must not
//! reveal the operating system through getty escapes or its name.

use bulwark_core::{CheckOutcome, HostOs};

use crate::host::HostRoot;

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
