//! Kernel parameters: the value persisted in sysctl configuration (with systemd-sysctl's
//! precedence, then /etc/sysctl.conf as `sysctl --system` applies it last) and, on a live host,
//! the running value in /proc/sys.

use std::collections::{BTreeMap, HashMap};

use crate::host::HostRoot;

const DIRS: [&str; 5] = [
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

#[derive(Debug, Default)]
pub struct Persisted {
    /// key -> (value, file that set it last)
    values: HashMap<String, (String, String)>,
}

pub fn normalize(key: &str) -> String {
    key.trim().replace('/', ".")
}

impl Persisted {
    pub fn load(host: &HostRoot) -> Result<Self, String> {
        // A file name in an earlier directory hides the same name in later ones.
        let mut by_name: BTreeMap<String, String> = BTreeMap::new();
        for dir in DIRS {
            for path in host.glob(&format!("{dir}/*.conf")) {
                let name = path.rsplit('/').next().unwrap_or_default().to_string();
                by_name.entry(name).or_insert(path);
            }
        }
        let mut files: Vec<String> = by_name.into_values().collect();
        files.push("/etc/sysctl.conf".into());
        let mut persisted = Persisted::default();
        for file in files {
            let text = match host.read(&file) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => return Err(e.to_string()),
            };
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                    continue;
                }
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                let key = normalize(k.trim_start_matches('-'));
                persisted
                    .values
                    .insert(key, (v.trim().to_string(), file.clone()));
            }
        }
        Ok(persisted)
    }

    pub fn get(&self, key: &str) -> Option<&(String, String)> {
        self.values.get(&normalize(key))
    }
}

/// The running value from /proc/sys, whitespace collapsed (multi-value parameters use tabs).
pub fn live(host: &HostRoot, key: &str) -> Result<Option<String>, String> {
    let path = format!("/proc/sys/{}", normalize(key).replace('.', "/"));
    host.read(&path)
        .map(|v| v.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn precedence_follows_file_names_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let w = |p: &str, t: &str| {
            let p = dir.path().join(p);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, t).unwrap();
        };
        w(
            "usr/lib/sysctl.d/50-default.conf",
            "net.ipv4.ip_forward = 1\nkernel.yama.ptrace_scope=0\n",
        );
        w(
            "etc/sysctl.d/50-default.conf",
            "kernel.yama.ptrace_scope = 1\n",
        );
        w("etc/sysctl.d/60-net.conf", "net/ipv4/ip_forward=0\n");
        w("etc/sysctl.d/99-late.conf", "fs.suid_dumpable = 2\n");
        w("etc/sysctl.conf", "fs.suid_dumpable = 0\n");
        let p = Persisted::load(&HostRoot::offline(dir.path())).unwrap();
        // /etc hides the vendor file of the same name, so ip_forward comes only from 60-net.
        assert_eq!(
            p.get("net.ipv4.ip_forward").unwrap(),
            &("0".into(), "/etc/sysctl.d/60-net.conf".into())
        );
        assert_eq!(p.get("kernel.yama.ptrace_scope").unwrap().0, "1");
        assert_eq!(p.get("fs.suid_dumpable").unwrap().1, "/etc/sysctl.conf");
        assert!(p.get("net.ipv4.tcp_syncookies").is_none());
    }
}
