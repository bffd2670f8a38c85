//! file_exists, file_permissions and file_content.

use std::collections::HashSet;
use std::sync::LazyLock;

use bulwark_core::CheckOutcome;
use bulwark_core::probe::{
    IncludeSyntax, LineMatch, Missing, OneOrMany, PathFrom, PathTake, parse_mode,
};
use regex::Regex;

use crate::collect::config;
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

pub struct PermissionQuery<'a> {
    pub path: &'a str,
    pub path_from: Option<&'a PathFrom>,
    pub containing: Option<&'a str>,
    pub max_mode: Option<&'a str>,
    pub owner: Option<&'a OneOrMany>,
    pub group: Option<&'a OneOrMany>,
    pub missing: Option<Missing>,
}

/// The path a `path_from` setting names (or the probe's own path when it is unset), and how
/// it was found, for the expectation text.
fn judged_path(facts: &Facts, q: &PermissionQuery) -> Result<(String, String), String> {
    let Some(from) = q.path_from else {
        return Ok((q.path.to_string(), q.path.to_string()));
    };
    let lookup = config::Lookup {
        path: &from.file,
        format: from.format,
        key: &from.key,
        section: None,
        dropins: None,
    };
    let found = config::lookup(&facts.host, &lookup).map_err(|e| e.to_string())?;
    let Some(found) = found else {
        return Ok((
            q.path.to_string(),
            format!("{} ({} not set in {})", q.path, from.key, from.file),
        ));
    };
    let named = found.value.trim().trim_matches('"');
    if !named.starts_with('/') {
        return Err(format!(
            "{}: {} names {named:?}, not an absolute path",
            found.file, from.key
        ));
    }
    let directory = || match named.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
    };
    let path = match from.take {
        PathTake::File => named.to_string(),
        PathTake::Directory => directory(),
        PathTake::DirectoryFiles => format!("{}/*", directory().trim_end_matches('/')),
    };
    let shown = format!("{path} (from {} = {named} in {})", from.key, found.file);
    Ok((path, shown))
}

pub fn permissions(facts: &Facts, q: &PermissionQuery) -> CheckOutcome {
    let max = q.max_mode.and_then(parse_mode);
    let owners = q.owner.map(OneOrMany::to_vec);
    let groups = q.group.map(OneOrMany::to_vec);
    let mut expected = Vec::new();
    if let Some(m) = q.max_mode {
        expected.push(format!("mode {m} or stricter"));
    }
    if let Some(o) = &owners {
        expected.push(format!("owner {}", o.join(" or ")));
    }
    if let Some(g) = &groups {
        expected.push(format!("group {}", g.join(" or ")));
    }
    let mut expected = expected.join(", ");
    let (path, shown_path) = match judged_path(facts, q) {
        Ok(p) => p,
        Err(reason) => return CheckOutcome::error(expected, reason),
    };
    if q.path_from.is_some() {
        expected = format!("{expected}: {shown_path}");
    }
    let mut matches = facts.paths(&path);
    if let Some(containing) = q.containing {
        let re = match Regex::new(containing) {
            Ok(re) => re,
            Err(e) => return CheckOutcome::error(expected, format!("invalid containing: {e}")),
        };
        expected = format!("{expected}, for the files with a line matching /{containing}/");
        matches.retain(|file| {
            !facts.host.path(file).is_dir()
                && facts
                    .host
                    .read(file)
                    .ok()
                    .flatten()
                    .is_some_and(|text| text.lines().any(|l| re.is_match(l)))
        });
    }
    if matches.is_empty() {
        let what = match q.containing {
            Some(c) => format!("no file of {path} has a line matching /{c}/"),
            None => format!("{path} does not exist"),
        };
        return missing_outcome(q.missing.unwrap_or(Missing::Skip), expected, &what);
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

pub struct ContentQuery<'a> {
    pub paths: &'a OneOrMany,
    pub pattern: &'a str,
    pub line_match: LineMatch,
    pub lines: Option<&'a str>,
    pub includes: Option<IncludeSyntax>,
    pub ignore_comments: bool,
    pub missing: Option<Missing>,
}

/// Include chains deeper than this are refused: real configurations nest one or two levels.
const MAX_INCLUDE_DEPTH: usize = 8;
/// At most this many files are read for one probe, whatever the includes say.
const MAX_INCLUDED_FILES: usize = 512;

static RSYSLOG_LEGACY_INCLUDE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\$IncludeConfig\s+(\S+)").expect("static regex"));
static RSYSLOG_INCLUDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s;])include\s*\([^)]*\bfile\s*=\s*"([^"]+)""#).expect("static regex")
});
static NFTABLES_INCLUDE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*include\s+"([^"]+)""#).expect("static regex"));

/// The path an include directive on this line names, as an absolute glob: relative paths are
/// taken from the including file's directory, and a directory stands for the files in it.
fn include_target(syntax: IncludeSyntax, line: &str, including: &str) -> Option<String> {
    let named = match syntax {
        IncludeSyntax::Rsyslog => RSYSLOG_LEGACY_INCLUDE
            .captures(line)
            .or_else(|| RSYSLOG_INCLUDE.captures(line)),
        IncludeSyntax::Nftables => NFTABLES_INCLUDE.captures(line),
    }?
    .get(1)?
    .as_str()
    .to_string();
    let absolute = if named.starts_with('/') {
        named
    } else {
        let dir = including.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{named}")
    };
    Some(match absolute.strip_suffix('/') {
        Some(dir) => format!("{dir}/*"),
        None => absolute,
    })
}

/// The files a program reads starting from `roots`: each in order, followed right away by the
/// files its include directives name (recursively, each file once).
fn with_includes(
    facts: &Facts,
    roots: Vec<String>,
    syntax: IncludeSyntax,
) -> Result<Vec<String>, String> {
    fn visit(
        facts: &Facts,
        file: String,
        syntax: IncludeSyntax,
        depth: usize,
        seen: &mut HashSet<String>,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        if !seen.insert(file.clone()) {
            return Ok(());
        }
        if out.len() >= MAX_INCLUDED_FILES {
            return Err(format!(
                "more than {MAX_INCLUDED_FILES} files through include directives"
            ));
        }
        out.push(file.clone());
        if facts.host.path(&file).is_dir() {
            return Ok(());
        }
        let text = match facts.host.read(&file) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let Some(target) = include_target(syntax, line, &file) else {
                continue;
            };
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(format!(
                    "{file}: includes nested deeper than {MAX_INCLUDE_DEPTH} levels"
                ));
            }
            for included in facts.paths(&target) {
                visit(facts, included, syntax, depth + 1, seen, out)?;
            }
        }
        Ok(())
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for root in roots {
        visit(facts, root, syntax, 0, &mut seen, &mut out)?;
    }
    Ok(out)
}

pub fn content(facts: &Facts, q: &ContentQuery) -> CheckOutcome {
    let how = match q.line_match {
        LineMatch::Any => "a line matching",
        LineMatch::All => "every line matching",
        LineMatch::None => "no line matching",
    };
    let path = q.paths.to_vec().join(", ");
    let scope = q
        .lines
        .map(|l| format!(" among the lines matching /{l}/"))
        .unwrap_or_default();
    let following = if q.includes.is_some() {
        " and the files they include"
    } else {
        ""
    };
    let expected = format!("{how} /{}/{scope} in {path}{following}", q.pattern);
    let re = match Regex::new(q.pattern) {
        Ok(re) => re,
        Err(e) => return CheckOutcome::error(expected, format!("invalid pattern: {e}")),
    };
    let selector = match q.lines.map(Regex::new).transpose() {
        Ok(s) => s,
        Err(e) => return CheckOutcome::error(expected, format!("invalid lines: {e}")),
    };
    let mut files: Vec<String> = q
        .paths
        .to_vec()
        .iter()
        .flat_map(|p| facts.paths(p))
        .collect();
    if let Some(syntax) = q.includes {
        files = match with_includes(facts, files, syntax) {
            Ok(f) => f,
            Err(reason) => return CheckOutcome::error(expected, reason),
        };
    }
    if files.is_empty()
        && let Some(m) = q.missing
    {
        return missing_outcome(m, expected, &format!("{path} does not exist"));
    }
    let mut matching = Vec::new();
    let mut not_matching = Vec::new();
    let name_files = files.len() > 1 || path.contains(['*', ',']);
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
            if trimmed.is_empty() || (q.ignore_comments && trimmed.starts_with('#')) {
                continue;
            }
            if selector.as_ref().is_some_and(|s| !s.is_match(line)) {
                continue;
            }
            let shown = if name_files {
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
    let (passed, actual) = match q.line_match {
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
        } else if q.line_match == LineMatch::All && passed {
            format!("all {matched} lines match")
        } else if let Some(lines) = q.lines {
            format!("no line matches /{lines}/")
        } else {
            "no matching line".to_string()
        }
    } else {
        actual.join("\n")
    };
    CheckOutcome::judged(passed, Some(actual), expected)
}
