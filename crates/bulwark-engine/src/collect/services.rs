//! systemd unit state read from unit files and symlinks, as `systemctl is-enabled` would say
//! it, without a running systemd: masked, enabled, static, disabled, or absent.

use std::collections::{HashMap, HashSet};
use std::fs;

use crate::host::HostRoot;

/// Admin directories first: a unit here hides a vendor unit of the same name.
const ADMIN_DIRS: [&str; 2] = ["/etc/systemd/system", "/run/systemd/system"];
const VENDOR_DIRS: [&str; 3] = [
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

#[derive(Debug, Default)]
pub struct Units {
    /// unit name -> host path of its file
    files: HashMap<String, String>,
    masked: HashSet<String>,
    /// units linked from a `.wants`/`.requires` directory, or aliases, in the admin directories
    enabled: HashSet<String>,
    /// units pulled in by vendor `.wants` directories (systemctl calls them static)
    vendor_wanted: HashSet<String>,
}

impl Units {
    pub fn load(host: &HostRoot) -> Self {
        let mut units = Units::default();
        for (admin, dir) in ADMIN_DIRS
            .iter()
            .map(|d| (true, *d))
            .chain(VENDOR_DIRS.iter().map(|d| (false, *d)))
        {
            let Ok(entries) = fs::read_dir(host.path(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let Ok(ft) = entry.file_type() else { continue };
                let host_path = format!("{dir}/{name}");
                if ft.is_dir() && (name.ends_with(".wants") || name.ends_with(".requires")) {
                    let Ok(links) = fs::read_dir(entry.path()) else {
                        continue;
                    };
                    for link in links.flatten() {
                        if let Ok(unit) = link.file_name().into_string() {
                            if admin {
                                units.enabled.insert(unit);
                            } else {
                                units.vendor_wanted.insert(unit);
                            }
                        }
                    }
                    continue;
                }
                if ft.is_symlink() {
                    let target = fs::read_link(entry.path()).unwrap_or_default();
                    if target.as_os_str() == "/dev/null" {
                        if admin {
                            units.masked.insert(name.clone());
                        }
                        continue;
                    }
                    let target_name = target
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    if admin && target_name != name {
                        // An alias link (sshd.service -> ssh.service) exists only while enabled.
                        units.enabled.insert(target_name.to_string());
                        units.enabled.insert(name.clone());
                    }
                }
                if ft.is_file() || ft.is_symlink() {
                    units.files.entry(name).or_insert(host_path);
                }
            }
        }
        units
    }

    /// Every unit with a file (or masked), sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .files
            .keys()
            .chain(self.masked.iter())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn state(&self, host: &HostRoot, unit: &str) -> &'static str {
        if self.masked.contains(unit) {
            return "masked";
        }
        let Some(path) = self.files.get(unit) else {
            return "absent";
        };
        if self.enabled.contains(unit) {
            return "enabled";
        }
        let text = host.read(path).ok().flatten().unwrap_or_default();
        let installable = has_install_section(&text);
        if !installable || self.vendor_wanted.contains(unit) {
            "static"
        } else {
            "disabled"
        }
    }
}

fn has_install_section(unit: &str) -> bool {
    let mut in_install = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_install = line == "[Install]";
            continue;
        }
        if in_install
            && ["WantedBy=", "RequiredBy=", "Alias=", "Also=", "UpheldBy="]
                .iter()
                .any(|k| line.starts_with(k))
        {
            return true;
        }
    }
    false
}

/// Adds `.service` to a bare name.
pub fn unit_name(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn states_from_files_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let unit = "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";
        for name in [
            "cron.service",
            "avahi-daemon.service",
            "rsync.service",
            "ssh.service",
        ] {
            fs::create_dir_all(r.join("usr/lib/systemd/system")).unwrap();
            fs::write(r.join("usr/lib/systemd/system").join(name), unit).unwrap();
        }
        fs::write(
            r.join("usr/lib/systemd/system/systemd-journald.service"),
            "[Service]\nExecStart=/x\n",
        )
        .unwrap();
        fs::create_dir_all(r.join("etc/systemd/system/multi-user.target.wants")).unwrap();
        symlink(
            "/lib/systemd/system/cron.service",
            r.join("etc/systemd/system/multi-user.target.wants/cron.service"),
        )
        .unwrap();
        symlink(
            "/dev/null",
            r.join("etc/systemd/system/avahi-daemon.service"),
        )
        .unwrap();
        symlink(
            "/lib/systemd/system/ssh.service",
            r.join("etc/systemd/system/sshd.service"),
        )
        .unwrap();
        let host = HostRoot::offline(r);
        let units = Units::load(&host);
        let cases = [
            ("cron.service", "enabled"),
            ("avahi-daemon.service", "masked"),
            ("rsync.service", "disabled"),
            ("systemd-journald.service", "static"),
            ("ssh.service", "enabled"),
            ("sshd.service", "enabled"),
            ("telnet.socket", "absent"),
        ];
        for (name, want) in cases {
            assert_eq!(units.state(&host, name), want, "{name}");
        }
    }
}
