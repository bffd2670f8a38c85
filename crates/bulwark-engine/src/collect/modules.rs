//! Kernel modules: modprobe configuration (`install NAME /bin/false`, `blacklist NAME`), the
//! modules the installed kernels ship (modules.dep, modules.builtin), and, live, /proc/modules.

use std::collections::{BTreeMap, HashMap, HashSet};

use bulwark_core::CheckOutcome;

use crate::host::HostRoot;

const DIRS: [&str; 4] = [
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
];
const DISABLING_COMMANDS: [&str; 4] =
    ["/bin/false", "/bin/true", "/usr/bin/false", "/usr/bin/true"];

#[derive(Debug, Default)]
pub struct Modprobe {
    install: HashMap<String, (String, String)>,
    blacklist: HashMap<String, String>,
    /// Module names shipped by installed kernels; `None` when no kernel modules are installed
    /// (containers, minimal images), so only the configuration can be judged.
    available: Option<HashSet<String>>,
    builtin: HashSet<String>,
}

/// modprobe treats `-` and `_` in module names alike.
pub fn canonical(name: &str) -> String {
    name.replace('-', "_")
}

fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    canonical(file.split(".ko").next().unwrap_or(file))
}

impl Modprobe {
    pub fn load(host: &HostRoot) -> Result<Self, String> {
        let mut by_name: BTreeMap<String, String> = BTreeMap::new();
        for dir in DIRS {
            for path in host.glob(&format!("{dir}/*.conf")) {
                let name = path.rsplit('/').next().unwrap_or_default().to_string();
                by_name.entry(name).or_insert(path);
            }
        }
        let mut m = Modprobe::default();
        for file in by_name.into_values() {
            let Some(text) = host.read(&file).map_err(|e| e.to_string())? else {
                continue;
            };
            for line in text.lines() {
                let mut words = line.split_whitespace();
                match (words.next(), words.next()) {
                    (Some("install"), Some(module)) => {
                        let command = words.collect::<Vec<_>>().join(" ");
                        m.install
                            .entry(canonical(module))
                            .or_insert((command, file.clone()));
                    }
                    (Some("blacklist"), Some(module)) => {
                        m.blacklist.entry(canonical(module)).or_insert(file.clone());
                    }
                    _ => {}
                }
            }
        }
        for kernel in host.glob("/lib/modules/*") {
            if let Ok(Some(dep)) = host.read(&format!("{kernel}/modules.dep")) {
                let available = m.available.get_or_insert_with(HashSet::new);
                for line in dep.lines() {
                    if let Some((path, _)) = line.split_once(':') {
                        available.insert(module_name(path));
                    }
                }
            }
            if let Ok(Some(builtin)) = host.read(&format!("{kernel}/modules.builtin")) {
                m.builtin.extend(builtin.lines().map(module_name));
            }
        }
        Ok(m)
    }
}

fn loaded(host: &HostRoot, module: &str) -> Result<bool, String> {
    let text = host
        .read("/proc/modules")
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    Ok(text
        .lines()
        .any(|l| l.split_whitespace().next().map(canonical).as_deref() == Some(module)))
}

pub fn judge(host: &HostRoot, modprobe: &Modprobe, module: &str) -> CheckOutcome {
    let name = canonical(module);
    let expected =
        format!("{module} cannot be loaded (install {module} /bin/false, blacklisted, not loaded)");
    if host.is_live() {
        match loaded(host, &name) {
            Ok(true) => {
                return CheckOutcome::judged(false, Some(format!("{module} is loaded")), expected);
            }
            Ok(false) => {}
            Err(e) => return CheckOutcome::error(expected, e),
        }
    }
    if modprobe.builtin.contains(&name) {
        return CheckOutcome::judged(
            false,
            Some(format!("{module} is built into the kernel")),
            expected,
        );
    }
    if let Some(available) = &modprobe.available
        && !available.contains(&name)
    {
        return CheckOutcome::judged(
            true,
            Some(format!("{module} is not shipped by the installed kernels")),
            expected,
        );
    }
    let install = modprobe.install.get(&name);
    let disabled = install.is_some_and(|(cmd, _)| DISABLING_COMMANDS.contains(&cmd.as_str()));
    let blacklisted = modprobe.blacklist.get(&name);
    let mut evidence = vec![match install {
        Some((cmd, file)) => format!("install {cmd} ({file})"),
        None => "no install directive".into(),
    }];
    evidence.push(match blacklisted {
        Some(file) => format!("blacklisted ({file})"),
        None => "not blacklisted".into(),
    });
    if host.is_live() {
        evidence.push("not loaded".into());
    }
    CheckOutcome::judged(
        disabled && blacklisted.is_some(),
        Some(evidence.join(", ")),
        expected,
    )
}
