//! Mount points and their options: /proc/self/mounts on a live host; /etc/fstab and systemd
//! `.mount` units for an offline root.

use bulwark_core::CheckOutcome;

use crate::host::HostRoot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub device: String,
    pub mount_point: String,
    pub fstype: String,
    pub options: Vec<String>,
    pub source: &'static str,
}

#[derive(Debug, Default)]
pub struct Mounts {
    pub entries: Vec<MountEntry>,
}

/// Undoes the octal escapes (`\040` for a space) of fstab and /proc/self/mounts.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            if digits.len() == 3
                && let Ok(v) = u8::from_str_radix(&digits, 8)
            {
                out.push(v as char);
                for _ in 0..3 {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn parse_table(text: &str, source: &'static str) -> Vec<MountEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4).then(|| MountEntry {
                device: unescape(f[0]),
                mount_point: unescape(f[1]),
                fstype: f[2].into(),
                options: f[3].split(',').map(String::from).collect(),
                source,
            })
        })
        .collect()
}

fn parse_mount_unit(text: &str) -> Option<MountEntry> {
    let (mut what, mut r#where, mut fstype, mut options) =
        (String::new(), None, String::new(), Vec::new());
    let mut in_mount = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_mount = line == "[Mount]";
            continue;
        }
        if !in_mount {
            continue;
        }
        match line.split_once('=') {
            Some(("What", v)) => what = v.trim().into(),
            Some(("Where", v)) => r#where = Some(v.trim().to_string()),
            Some(("Type", v)) => fstype = v.trim().into(),
            Some(("Options", v)) => options = v.trim().split(',').map(String::from).collect(),
            _ => {}
        }
    }
    Some(MountEntry {
        device: what,
        mount_point: r#where?,
        fstype,
        options,
        source: "systemd unit",
    })
}

impl Mounts {
    pub fn load(host: &HostRoot) -> Result<Self, String> {
        if host.is_live() {
            let text = host.read("/proc/self/mounts").map_err(|e| e.to_string())?;
            if let Some(text) = text {
                return Ok(Mounts {
                    entries: parse_table(&text, "/proc/self/mounts"),
                });
            }
        }
        let mut entries = Vec::new();
        if let Some(fstab) = host.read("/etc/fstab").map_err(|e| e.to_string())? {
            entries.extend(parse_table(&fstab, "/etc/fstab"));
        }
        for unit in host.glob("/etc/systemd/system/*.mount") {
            if let Ok(Some(text)) = host.read(&unit)
                && let Some(entry) = parse_mount_unit(&text)
            {
                entries.push(entry);
            }
        }
        Ok(Mounts { entries })
    }

    /// The entry in effect for a mount point (the last one mounted over it).
    pub fn find(&self, mount_point: &str) -> Option<&MountEntry> {
        let wanted = mount_point.trim_end_matches('/');
        self.entries
            .iter()
            .rev()
            .find(|e| e.mount_point.trim_end_matches('/') == wanted)
    }
}

pub fn judge(
    mounts: &Mounts,
    path: &str,
    options: &[String],
    require_separate: bool,
) -> CheckOutcome {
    let expected = if options.is_empty() {
        format!("{path} is a separate mount")
    } else {
        format!("{path} mounted with {}", options.join(","))
    };
    let Some(entry) = mounts.find(path) else {
        let why = format!("{path} is not a separate mount");
        return if require_separate {
            CheckOutcome::judged(false, Some(why), expected)
        } else {
            CheckOutcome::skip(expected, why)
        };
    };
    let missing: Vec<&String> = options
        .iter()
        .filter(|o| !entry.options.contains(o))
        .collect();
    let actual = format!(
        "{} on {} type {} ({}) from {}",
        entry.device,
        entry.mount_point,
        entry.fstype,
        entry.options.join(","),
        entry.source
    );
    let outcome = CheckOutcome::judged(missing.is_empty(), Some(actual), expected);
    if missing.is_empty() {
        outcome
    } else {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        outcome.with_reason(format!("missing {}", names.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_units_parse() {
        let t = parse_table(
            "# x\nUUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n/dev/sdb1 /mnt/my\\040disk ext4 ro 0 0\n",
            "fstab",
        );
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].options, ["rw", "nosuid", "nodev"]);
        assert_eq!(t[2].mount_point, "/mnt/my disk");
        let u = parse_mount_unit("[Unit]\nDescription=tmp\n[Mount]\nWhat=tmpfs\nWhere=/tmp\nType=tmpfs\nOptions=mode=1777,strictatime,nosuid,nodev\n").unwrap();
        assert_eq!(u.mount_point, "/tmp");
        assert!(u.options.contains(&"nodev".to_string()));
    }

    #[test]
    fn judging_mounts() {
        let m = Mounts {
            entries: parse_table("tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n", "fstab"),
        };
        let opts = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            judge(&m, "/tmp", &opts(&["nodev"]), false).status,
            bulwark_core::Status::Pass
        );
        let f = judge(&m, "/tmp", &opts(&["nodev", "noexec"]), false);
        assert_eq!(
            (f.status, f.reason.as_deref()),
            (bulwark_core::Status::Fail, Some("missing noexec"))
        );
        assert_eq!(
            judge(&m, "/var/tmp", &opts(&["nodev"]), false).status,
            bulwark_core::Status::Skip
        );
        assert_eq!(
            judge(&m, "/var/tmp", &[], true).status,
            bulwark_core::Status::Fail
        );
    }
}
