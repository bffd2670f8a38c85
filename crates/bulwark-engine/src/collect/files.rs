//! file_exists, file_permissions and file_content.

use bulwark_core::CheckOutcome;
use bulwark_core::probe::{LineMatch, Missing, OneOrMany, parse_mode};
use regex::Regex;

use crate::facts::Facts;

/// `present` when the path exists; for a `~/` path, the homes' files that exist (an empty
/// one counts: the benchmark asks for none at all).
pub fn exists(facts: &Facts, path: &str) -> Option<String> {
    if path.starts_with("~/") {
        let found = facts.paths(path);
        return (!found.is_empty()).then(|| found.join(", "));
    }
    facts
        .host
        .path(path)
        .symlink_metadata()
        .ok()
        .map(|_| "present".to_string())
}

fn missing_outcome(missing: Missing, expected: String, what: &str) -> CheckOutcome {
    match missing {
        Missing::Pass => CheckOutcome::judged(true, None, expected).with_reason(what.to_string()),
        Missing::Fail => CheckOutcome::judged(false, None, expected).with_reason(what.to_string()),
        Missing::Skip => CheckOutcome::skip(expected, what.to_string()),
    }
}

pub fn permissions(
    facts: &Facts,
    path: &str,
    max_mode: Option<&str>,
    owner: Option<&OneOrMany>,
    group: Option<&OneOrMany>,
    missing: Option<Missing>,
) -> CheckOutcome {
    let max = max_mode.and_then(parse_mode);
    let owners = owner.map(OneOrMany::to_vec);
    let groups = group.map(OneOrMany::to_vec);
    let mut expected = Vec::new();
    if let Some(m) = max_mode {
        expected.push(format!("mode {m} or stricter"));
    }
    if let Some(o) = &owners {
        expected.push(format!("owner {}", o.join(" or ")));
    }
    if let Some(g) = &groups {
        expected.push(format!("group {}", g.join(" or ")));
    }
    let expected = expected.join(", ");
    let matches = facts.paths(path);
    if matches.is_empty() {
        return missing_outcome(
            missing.unwrap_or(Missing::Skip),
            expected,
            &format!("{path} does not exist"),
        );
    }
    let accounts = facts.accounts();
    let mut evidence = Vec::new();
    let mut ok = true;
    for host_path in &matches {
        let meta = match facts.host.path(host_path).metadata() {
            Ok(m) => m,
            Err(e) => return CheckOutcome::error(expected, format!("{host_path}: {e}")),
        };
        let Some(unix) = crate::unix_meta::of(&meta) else {
            return CheckOutcome::error(expected, crate::unix_meta::UNAVAILABLE);
        };
        let mode = unix.mode & 0o7777;
        let user = accounts.user_name(unix.uid);
        let grp = accounts.group_name(unix.gid);
        let mut bad = Vec::new();
        if let Some(max) = max
            && mode & !max != 0
        {
            bad.push(format!("mode {mode:04o} exceeds {max:04o}"));
        }
        if let Some(o) = &owners
            && !o.contains(&user)
        {
            bad.push(format!("owner {user}"));
        }
        if let Some(g) = &groups
            && !g.contains(&grp)
        {
            bad.push(format!("group {grp}"));
        }
        let line = format!("{host_path} {mode:04o} {user}:{grp}");
        if bad.is_empty() {
            evidence.push(line);
        } else {
            ok = false;
            // Offending files first so that truncation keeps what matters.
            evidence.insert(0, format!("{line} ({})", bad.join(", ")));
        }
    }
    CheckOutcome::judged(ok, Some(evidence.join("\n")), expected)
}

pub fn content(
    facts: &Facts,
    paths: &OneOrMany,
    pattern: &str,
    line_match: LineMatch,
    ignore_comments: bool,
    missing: Option<Missing>,
) -> CheckOutcome {
    let how = match line_match {
        LineMatch::Any => "a line matching",
        LineMatch::All => "every line matching",
        LineMatch::None => "no line matching",
    };
    let path = paths.to_vec().join(", ");
    let expected = format!("{how} /{pattern}/ in {path}");
    let re = match Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => return CheckOutcome::error(expected, format!("invalid pattern: {e}")),
    };
    let files: Vec<String> = paths.to_vec().iter().flat_map(|p| facts.paths(p)).collect();
    if files.is_empty()
        && let Some(m) = missing
    {
        return missing_outcome(m, expected, &format!("{path} does not exist"));
    }
    let mut matching = Vec::new();
    let mut not_matching = Vec::new();
    for file in &files {
        // A pattern such as /etc/sudoers* also matches directories (sudoers.d); they hold no lines.
        if facts.host.path(file).is_dir() {
            continue;
        }
        let text = match facts.host.read(file) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => return CheckOutcome::error(expected, e.to_string()),
        };
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || (ignore_comments && trimmed.starts_with('#')) {
                continue;
            }
            let shown = if files.len() > 1 || path.contains(['*', ',']) {
                format!("{file}:{}: {trimmed}", n + 1)
            } else {
                trimmed.to_string()
            };
            if re.is_match(line) {
                matching.push(shown);
            } else {
                not_matching.push(shown);
            }
        }
    }
    let matched = matching.len();
    let (passed, actual) = match line_match {
        LineMatch::Any => (!matching.is_empty(), matching),
        LineMatch::None => (matching.is_empty(), matching),
        LineMatch::All => (
            !matching.is_empty() && not_matching.is_empty(),
            not_matching,
        ),
    };
    let actual = if actual.is_empty() {
        if files.is_empty() {
            format!("{path}: no such file")
        } else if line_match == LineMatch::All && passed {
            format!("all {matched} lines match")
        } else {
            "no matching line".to_string()
        }
    } else {
        actual.join("\n")
    };
    CheckOutcome::judged(passed, Some(actual), expected)
}
