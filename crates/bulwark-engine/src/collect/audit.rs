//! Audit rules as the audit daemon loads them, and whether a wanted rule is covered. Which
//! file that is depends on how auditd.service loads rules after start: `augenrules --load`
//! merges /etc/audit/rules.d/*.rules, `auditctl -R FILE` loads FILE (usually
//! /etc/audit/audit.rules). Without a unit to read, rules.d is taken when it has files.

use std::collections::BTreeSet;

use bulwark_core::CheckOutcome;

use crate::host::HostRoot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Watch {
        path: String,
        perms: BTreeSet<char>,
    },
    Syscall {
        list: BTreeSet<String>,
        fields: BTreeSet<String>,
        syscalls: BTreeSet<String>,
    },
}

#[derive(Debug, Default)]
pub struct Rules {
    pub rules: Vec<(Rule, String)>,
    pub sources: Vec<String>,
    /// How the daemon loads them, for the evidence: "augenrules" or "auditctl -R".
    pub loader: &'static str,
}

/// Where systemd finds auditd.service, the administrator's copy first.
const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The file `auditctl -R` loads according to auditd.service (its unit and drop-ins, an empty
/// `ExecStartPost=` resetting the list); `None` when the unit uses augenrules or is not there.
fn auditctl_file(host: &HostRoot) -> Option<String> {
    let unit = UNIT_DIRS
        .iter()
        .map(|d| format!("{d}/auditd.service"))
        .find(|p| host.read(p).ok().flatten().is_some())?;
    let mut files = vec![unit];
    for dir in UNIT_DIRS {
        files.extend(host.glob(&format!("{dir}/auditd.service.d/*.conf")));
    }
    let mut post: Vec<String> = Vec::new();
    for file in files {
        let text = host.read(&file).ok().flatten().unwrap_or_default();
        for line in text.lines().map(str::trim) {
            if let Some(value) = line.strip_prefix("ExecStartPost=") {
                if value.trim().is_empty() {
                    post.clear();
                } else {
                    post.push(value.trim().to_owned());
                }
            }
        }
    }
    if post.iter().any(|c| c.contains("augenrules")) {
        return None;
    }
    post.iter().find_map(|command| {
        let words: Vec<&str> = command
            .trim_start_matches(['-', '@', '+', '!'])
            .split_whitespace()
            .collect();
        let at = words.iter().position(|w| *w == "-R")?;
        words[0]
            .ends_with("auditctl")
            .then(|| words.get(at + 1).map(|f| (*f).to_owned()))?
    })
}

fn normalize_field(f: &str) -> Option<String> {
    let f = f.trim();
    if f.starts_with("key=") {
        return None;
    }
    for unset in ["-1", "4294967295"] {
        if let Some(name) = f.strip_suffix(unset).and_then(|p| p.strip_suffix("!=")) {
            return Some(format!("{name}!=unset"));
        }
    }
    Some(f.to_string())
}

/// `/etc/network/` and `/etc/network` watch the same directory.
fn trim_slash(path: &str) -> &str {
    if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    }
}

/// Parses one auditctl rule line; `None` for control lines (-D, -b, -e, -f) and comments.
pub fn parse(line: &str) -> Option<Rule> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut i = 0;
    let (mut watch, mut perms, mut list) = (None, BTreeSet::new(), None);
    let (mut fields, mut syscalls) = (BTreeSet::new(), BTreeSet::new());
    while i < words.len() {
        let value = words.get(i + 1).copied();
        match words[i] {
            "-w" => watch = value.map(|v| trim_slash(v).to_string()),
            "-p" => perms.extend(value.unwrap_or("").chars()),
            "-a" | "-A" => {
                list = value.map(|v| v.split(',').map(String::from).collect::<BTreeSet<_>>())
            }
            "-S" => syscalls.extend(value.unwrap_or("").split(',').map(String::from)),
            "-F" => {
                if let Some(f) = value.and_then(normalize_field) {
                    fields.insert(f);
                }
            }
            "-k" => {}
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    if let Some(path) = watch {
        return Some(Rule::Watch { path, perms });
    }
    let list = list?;
    // `-a always,exit [-F arch=ARCH] -F path=X -F perm=wa` is the same as a watch on X (the
    // form the RHEL 9 STIG writes, once per architecture).
    let path = fields.iter().find_map(|f| {
        f.strip_prefix("path=")
            .or_else(|| f.strip_prefix("dir="))
            .map(|p| trim_slash(p).to_string())
    });
    let perm = fields
        .iter()
        .find_map(|f| f.strip_prefix("perm=").map(String::from));
    let only_watch_fields = fields.iter().all(|f| {
        ["path=", "dir=", "perm=", "arch="]
            .iter()
            .any(|p| f.starts_with(p))
    });
    if let (Some(path), Some(perm), true) = (&path, &perm, syscalls.is_empty() && only_watch_fields)
    {
        return Some(Rule::Watch {
            path: path.clone(),
            perms: perm.chars().collect(),
        });
    }
    Some(Rule::Syscall {
        list,
        fields,
        syscalls,
    })
}

impl Rules {
    pub fn load(host: &HostRoot) -> Result<Self, String> {
        let (files, loader) = match auditctl_file(host) {
            Some(file) => (vec![file], "auditctl -R"),
            None => {
                let merged = host.glob("/etc/audit/rules.d/*.rules");
                if merged.is_empty() {
                    (vec!["/etc/audit/audit.rules".to_owned()], "auditctl -R")
                } else {
                    (merged, "augenrules")
                }
            }
        };
        let mut rules = Rules {
            loader,
            ..Rules::default()
        };
        for file in files {
            let Some(text) = host.read(&file).map_err(|e| e.to_string())? else {
                continue;
            };
            rules.sources.push(file);
            for line in text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                if let Some(rule) = parse(line) {
                    rules.rules.push((rule, line.to_string()));
                }
            }
        }
        Ok(rules)
    }

    /// The loaded lines that together cover `wanted`, or `None` when it is not covered.
    pub fn covering(&self, wanted: &Rule) -> Option<Vec<&str>> {
        match wanted {
            Rule::Watch { path, perms } => self
                .rules
                .iter()
                .find(|(r, _)| matches!(r, Rule::Watch { path: p, perms: q } if p == path && perms.is_subset(q)))
                .map(|(_, line)| vec![line.as_str()]),
            Rule::Syscall { list, fields, syscalls } => {
                let same: Vec<&(Rule, String)> = self
                    .rules
                    .iter()
                    .filter(|(r, _)| matches!(r, Rule::Syscall { list: l, fields: f, .. } if l == list && f == fields))
                    .collect();
                if same.is_empty() {
                    return None;
                }
                let have: BTreeSet<&String> = same
                    .iter()
                    .flat_map(|(r, _)| match r {
                        Rule::Syscall { syscalls, .. } => syscalls.iter().collect::<Vec<_>>(),
                        Rule::Watch { .. } => vec![],
                    })
                    .collect();
                syscalls.iter().all(|s| have.contains(s)).then(|| same.iter().map(|(_, l)| l.as_str()).collect())
            }
        }
    }
}

pub fn judge(rules: &Rules, wanted_text: &str) -> CheckOutcome {
    let expected = format!("an audit rule covering: {wanted_text}");
    let Some(wanted) = parse(wanted_text) else {
        return CheckOutcome::error(expected, format!("cannot parse audit rule {wanted_text:?}"));
    };
    if rules.sources.is_empty() {
        return CheckOutcome::judged(false, Some("no audit rules files".into()), expected);
    }
    match rules.covering(&wanted) {
        Some(lines) => CheckOutcome::judged(
            true,
            Some(format!("{} (loaded by {})", lines.join("\n"), rules.loader)),
            expected,
        ),
        None => CheckOutcome::judged(
            false,
            Some(format!(
                "no covering rule in {} (loaded by {})",
                rules.sources.join(", "),
                rules.loader
            )),
            expected,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Rules {
        Rules {
            rules: text
                .lines()
                .filter_map(|l| parse(l).map(|r| (r, l.to_string())))
                .collect(),
            sources: vec!["/etc/audit/rules.d/50.rules".into()],
            loader: "augenrules",
        }
    }

    #[test]
    fn coverage_cases() {
        let loaded = rules(
            "-w /etc/passwd -p wa -k identity\n\
             -a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change\n\
             -a exit,always -F arch=b64 -S clock_settime -k time-change\n\
             -a always,exit -F path=/etc/shadow -F perm=wa -k identity\n\
             -a always,exit -F arch=b64 -F path=/etc/gshadow -F perm=wa -k identity\n\
             -a always,exit -F arch=b64 -F path=/etc/sudoers -F perm=wa -F auid>=1000 -k x\n\
             -a always,exit -F arch=b64 -S creat -F exit=-EACCES -F auid>=1000 -F auid!=4294967295 -k access\n\
             -e 2",
        );
        let cases = [
            ("-w /etc/passwd -p wa -k identity", true),
            ("-w /etc/passwd -p w", true),
            ("-w /etc/passwd -p wax", false),
            ("-w /etc/group -p wa", false),
            ("-w /etc/passwd/ -p wa", true),
            ("-w /etc/shadow -p wa -k x", true),
            ("-w /etc/gshadow -p wa", true),
            ("-w /etc/sudoers -p wa", false),
            (
                "-a always,exit -F arch=b64 -S adjtimex -S settimeofday -S clock_settime -k time-change",
                true,
            ),
            ("-a always,exit -F arch=b32 -S adjtimex", false),
            (
                "-a always,exit -F arch=b64 -S creat -F exit=-EACCES -F auid>=1000 -F auid!=unset",
                true,
            ),
            (
                "-a always,exit -F arch=b64 -S creat -F exit=-EPERM -F auid>=1000 -F auid!=unset",
                false,
            ),
        ];
        for (wanted, want) in cases {
            assert_eq!(
                judge(&loaded, wanted).status == bulwark_core::Status::Pass,
                want,
                "{wanted}"
            );
        }
    }
}
