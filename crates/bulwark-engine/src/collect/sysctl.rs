//! Kernel parameters: every value persisted in the files the boot-time loaders read
//! (systemd-sysctl's directories, a file name in an earlier directory hiding the same name in
//! later ones, then /etc/sysctl.conf as `sysctl --system` applies it last) and, on a live host,
//! the running value in /proc/sys. A parameter is compliant only when every file that sets it
//! sets a compliant value: a conflicting file is a finding even where a later one wins, as
//! the benchmark's audit has it.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::host::HostRoot;

const DIRS: [&str; 5] = [
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

/// One `key = value` line of a loaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub file: String,
    pub line: usize,
}

impl Setting {
    /// `file:line`, for evidence.
    pub fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Default)]
pub struct Persisted {
    /// key -> every setting of it, in the order the loaders apply them
    settings: HashMap<String, Vec<Setting>>,
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
        // Debian links /etc/sysctl.d/99-sysctl.conf to /etc/sysctl.conf: one file, read once.
        let mut seen = HashSet::new();
        for file in files {
            let text = match host.read(&file) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => return Err(e.to_string()),
            };
            let real = std::fs::canonicalize(host.path(&file)).unwrap_or_else(|_| host.path(&file));
            if !seen.insert(real) {
                continue;
            }
            for (number, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                    continue;
                }
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                let key = normalize(k.trim_start_matches('-'));
                persisted.settings.entry(key).or_default().push(Setting {
                    value: v.trim().to_string(),
                    file: file.clone(),
                    line: number + 1,
                });
            }
        }
        Ok(persisted)
    }

    /// The value that takes effect at boot (the last one applied) and where it is set.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.all(key).last()
    }

    /// Every setting of the parameter, in the order they are applied.
    pub fn all(&self, key: &str) -> &[Setting] {
        self.settings
            .get(&normalize(key))
            .map_or(&[], Vec::as_slice)
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
            p.get("net.ipv4.ip_forward").unwrap().place(),
            "/etc/sysctl.d/60-net.conf:1"
        );
        assert_eq!(
            p.all("net.ipv4.ip_forward").len(),
            1,
            "the hidden vendor file is not read"
        );
        assert_eq!(p.get("kernel.yama.ptrace_scope").unwrap().value, "1");
        let dumpable: Vec<(String, String)> = p
            .all("fs.suid_dumpable")
            .iter()
            .map(|s| (s.value.clone(), s.place()))
            .collect();
        assert_eq!(
            dumpable,
            [
                ("2".to_owned(), "/etc/sysctl.d/99-late.conf:1".to_owned()),
                ("0".to_owned(), "/etc/sysctl.conf:1".to_owned())
            ],
            "every setting, in the order applied; sysctl.conf last"
        );
        assert!(p.get("net.ipv4.tcp_syncookies").is_none());
    }
}
