//! One parallel walk of the local filesystems answers every `fs_walk` check (world-writable
//! files, directories without the sticky bit, unowned and ungrouped files, SUID and SGID
//! programs). Pseudo and network filesystems are skipped, as CIS's `find -xdev` audits do.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use bulwark_core::CheckOutcome;
use bulwark_core::probe::WalkFinding;

use crate::facts::Facts;

/// Paths kept per finding; the count goes on beyond this.
const KEEP: usize = 10_000;
const ALWAYS_SKIPPED: [&str; 4] = ["/proc", "/sys", "/dev", "/run"];
const SKIPPED_FS: [&str; 22] = [
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "tracefs",
    "debugfs",
    "securityfs",
    "pstore",
    "bpf",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "autofs",
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "fuse.sshfs",
];

#[derive(Debug, Default)]
pub struct Findings {
    found: HashMap<WalkFinding, (Vec<String>, usize)>,
    pub visited: usize,
    pub unreadable: usize,
}

impl Findings {
    pub fn collect(facts: &Facts) -> Self {
        let host = &facts.host;
        let mut skipped: HashSet<PathBuf> = ALWAYS_SKIPPED.iter().map(|p| host.path(p)).collect();
        if host.is_live()
            && let Ok(mounts) = facts.mounts()
        {
            for m in &mounts.entries {
                if SKIPPED_FS.contains(&m.fstype.as_str()) {
                    skipped.insert(host.path(&m.mount_point));
                }
            }
        }
        let accounts = facts.accounts();
        let root = host.root().to_path_buf();
        let walker = jwalk::WalkDir::new(&root)
            .skip_hidden(false)
            .follow_links(false)
            // Its own pool: jwalk refuses to run inside a busy shared rayon pool (the content
            // harness evaluates checks in parallel).
            .parallelism(jwalk::Parallelism::RayonNewPool(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ))
            .process_read_dir(move |_, _, _, children| {
                children.retain(|c| c.as_ref().map_or(true, |e| !skipped.contains(&e.path())));
            });
        let mut findings = Findings::default();
        for entry in walker {
            let Ok(entry) = entry else {
                findings.unreadable += 1;
                continue;
            };
            findings.visited += 1;
            let Ok(meta) = entry.path().symlink_metadata() else {
                findings.unreadable += 1;
                continue;
            };
            let ft = meta.file_type();
            if ft.is_symlink() {
                continue;
            }
            let Some(unix) = crate::unix_meta::of(&meta) else {
                findings.unreadable += 1;
                continue;
            };
            let mode = unix.mode;
            let mut hits = Vec::with_capacity(2);
            if ft.is_file() {
                if mode & 0o002 != 0 {
                    hits.push(WalkFinding::WorldWritable);
                }
                if mode & 0o4000 != 0 {
                    hits.push(WalkFinding::Suid);
                }
                if mode & 0o2000 != 0 {
                    hits.push(WalkFinding::Sgid);
                }
            } else if ft.is_dir() && mode & 0o002 != 0 && mode & 0o1000 == 0 {
                hits.push(WalkFinding::NoStickyDirs);
            }
            if !accounts.has_uid(unix.uid) {
                hits.push(WalkFinding::Unowned);
            }
            if !accounts.has_gid(unix.gid) {
                hits.push(WalkFinding::Ungrouped);
            }
            for hit in hits {
                let (paths, count) = findings.found.entry(hit).or_default();
                *count += 1;
                if paths.len() < KEEP {
                    paths.push(host.host_path(&entry.path()));
                }
            }
        }
        for (paths, _) in findings.found.values_mut() {
            paths.sort();
        }
        findings
    }

    pub fn get(&self, finding: WalkFinding) -> (&[String], usize) {
        self.found
            .get(&finding)
            .map_or((&[], 0), |(p, c)| (p.as_slice(), *c))
    }
}

fn describe(finding: WalkFinding) -> &'static str {
    match finding {
        WalkFinding::WorldWritable => "world-writable files",
        WalkFinding::NoStickyDirs => "world-writable directories without the sticky bit",
        WalkFinding::Unowned => "files owned by no known user",
        WalkFinding::Ungrouped => "files owned by no known group",
        WalkFinding::Suid => "SUID programs",
        WalkFinding::Sgid => "SGID programs",
    }
}

pub fn judge(findings: &Findings, finding: WalkFinding, allow: &[String]) -> CheckOutcome {
    let patterns: Vec<glob::Pattern> = allow
        .iter()
        .filter_map(|a| glob::Pattern::new(a).ok())
        .collect();
    let what = describe(finding);
    let expected = if allow.is_empty() {
        format!("no {what}")
    } else {
        format!("no {what} beyond the allowed list")
    };
    let (paths, total) = findings.get(finding);
    let offending: Vec<&String> = paths
        .iter()
        .filter(|p| !patterns.iter().any(|g| g.matches(p)))
        .collect();
    let allowed = paths.len() - offending.len();
    let unlisted = total - paths.len();
    let mut actual = if offending.is_empty() && unlisted == 0 {
        format!(
            "none found ({} entries walked{})",
            findings.visited,
            if allowed > 0 {
                format!(", {allowed} allowed")
            } else {
                String::new()
            }
        )
    } else {
        let shown: Vec<&str> = offending.iter().take(50).map(|s| s.as_str()).collect();
        let more = offending.len().saturating_sub(50) + unlisted;
        format!(
            "{} found: {}{}",
            offending.len() + unlisted,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    };
    if findings.unreadable > 0 {
        actual.push_str(&format!(
            " ({} entries could not be read)",
            findings.unreadable
        ));
    }
    CheckOutcome::judged(
        offending.is_empty() && unlisted == 0,
        Some(actual),
        expected,
    )
}
