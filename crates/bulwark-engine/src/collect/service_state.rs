//! Whether services are running, which only the running system knows. Unit files say how a
//! service starts, never whether it runs, so on a live root the init system is asked: systemd
//! through `systemctl show` (no shell, a timeout), else through its cgroup tree (a service
//! runs while its cgroup holds processes); a host whose init is not systemd through its SysV
//! scripts' `status` action, as `service --status-all` does. Where nothing answers, and on
//! offline roots, the state is `unknown` with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::collect::command::{Capture, RunError, run_bounded};
use crate::host::HostRoot;

pub const UNKNOWN: &str = "unknown";
/// How long `systemctl show` may take for every unit at once.
const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one init script's `status` may take.
const INIT_SCRIPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Enough for a few thousand units' three properties.
const SYSTEMCTL_OUTPUT_CAP: u64 = 4 << 20;

/// A service's state and where it came from (or, for `unknown`, why nothing said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub state: String,
    pub source: String,
}

impl Observed {
    fn new(state: &str, source: &str) -> Self {
        Observed {
            state: state.to_owned(),
            source: source.to_owned(),
        }
    }
}

/// Where the running system can be asked; [`LiveSystem::this_machine`] outside tests.
#[derive(Debug, Clone)]
pub struct LiveSystem {
    /// Exists while systemd is the running init (what `sd_booted()` tests).
    pub systemd_marker: PathBuf,
    pub systemctl: PathBuf,
    pub cgroup_root: PathBuf,
    pub init_scripts: PathBuf,
}

impl LiveSystem {
    pub fn this_machine() -> Self {
        LiveSystem {
            systemd_marker: "/run/systemd/system".into(),
            systemctl: "systemctl".into(),
            cgroup_root: "/sys/fs/cgroup".into(),
            init_scripts: "/etc/init.d".into(),
        }
    }
}

/// The state of each named service (bare names, without `.service`).
pub fn observe(host: &HostRoot, names: &[String]) -> BTreeMap<String, Observed> {
    if !host.is_live() {
        let why = "offline root: only the running system knows whether a service runs";
        return names
            .iter()
            .map(|n| (n.clone(), Observed::new(UNKNOWN, why)))
            .collect();
    }
    observe_live(&LiveSystem::this_machine(), names)
}

pub fn observe_live(system: &LiveSystem, names: &[String]) -> BTreeMap<String, Observed> {
    if system.systemd_marker.is_dir() {
        let answer = systemctl_show(&system.systemctl, names)
            .map(|states| (states, "systemctl"))
            .or_else(|systemctl_failed| {
                cgroup_states(&system.cgroup_root, names)
                    .map(|states| (states, "cgroup"))
                    .map_err(|cgroup_failed| format!("{systemctl_failed}; {cgroup_failed}"))
            });
        return match answer {
            Ok((states, source)) => names
                .iter()
                .map(|n| {
                    let observed = match states.get(n) {
                        Some(state) => Observed::new(state, source),
                        None => Observed::new(UNKNOWN, "systemd does not know this unit"),
                    };
                    (n.clone(), observed)
                })
                .collect(),
            Err(why) => names
                .iter()
                .map(|n| {
                    let reason = format!(
                        "systemd runs but neither systemctl nor its cgroup tree answered: {why}"
                    );
                    (n.clone(), Observed::new(UNKNOWN, &reason))
                })
                .collect(),
        };
    }
    init_script_states(&system.init_scripts, names)
}

/// States from `systemctl show -p Id,ActiveState,SubState UNIT...`: `running` for an active
/// unit with a running main process, `exited` for an active one-shot, else systemd's
/// ActiveState (`inactive`, `failed`, `activating`, `deactivating`).
fn systemctl_show(systemctl: &Path, names: &[String]) -> Result<BTreeMap<String, String>, String> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut cmd = Command::new(systemctl);
    cmd.args([
        "show",
        "--no-pager",
        "--property=Id,ActiveState,SubState",
        "--",
    ])
    .args(names.iter().map(|n| format!("{n}.service")))
    .env_clear()
    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    .env("LC_ALL", "C");
    let (status, out) = run_bounded(
        cmd,
        Capture::Stdout,
        SYSTEMCTL_OUTPUT_CAP,
        SYSTEMCTL_TIMEOUT,
    )
    .map_err(|e| match e {
        RunError::Start(e) => format!("cannot run systemctl: {e}"),
        RunError::TimedOut => format!("systemctl show took over {}s", SYSTEMCTL_TIMEOUT.as_secs()),
        RunError::Wait(e) => e,
    })?;
    if !status.success() {
        return Err(format!("systemctl show exited with {status}"));
    }
    Ok(parse_systemctl_show(&String::from_utf8_lossy(&out)))
}

/// Reads `systemctl show`'s blocks (one per unit, separated by blank lines).
pub fn parse_systemctl_show(text: &str) -> BTreeMap<String, String> {
    let mut states = BTreeMap::new();
    for block in text.split("\n\n") {
        let mut id = None;
        let (mut active, mut sub) = ("", "");
        for line in block.lines() {
            match line.split_once('=') {
                Some(("Id", v)) => id = v.strip_suffix(".service"),
                Some(("ActiveState", v)) => active = v,
                Some(("SubState", v)) => sub = v,
                _ => {}
            }
        }
        let Some(id) = id else { continue };
        let state = match (active, sub) {
            ("active", "running") => "running",
            ("active", "exited") => "exited",
            ("", _) => continue,
            (active, _) => active,
        };
        states.insert(id.to_owned(), state.to_owned());
    }
    states
}

/// States from the cgroup tree systemd keeps (unified, or the v1 `systemd` hierarchy): a
/// service runs while `NAME.service/cgroup.procs` lists a process; without processes (or a
/// cgroup) it does not.
fn cgroup_states(root: &Path, names: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut found = BTreeMap::new();
    find_service_cgroups(root, 0, &mut found);
    if found.is_empty() {
        return Err(format!("no service cgroups under {}", root.display()));
    }
    Ok(names
        .iter()
        .map(|n| {
            let running = found.get(n).copied().unwrap_or(false);
            (
                n.clone(),
                if running { "running" } else { "inactive" }.to_owned(),
            )
        })
        .collect())
}

fn find_service_cgroups(dir: &Path, depth: usize, found: &mut BTreeMap<String, bool>) {
    // Services sit at most a few slices deep; the limit keeps a pathological tree cheap.
    if depth > 6 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            continue;
        }
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(service) = name.strip_suffix(".service") {
            let has_processes = std::fs::read_to_string(path.join("cgroup.procs"))
                .is_ok_and(|procs| !procs.trim().is_empty());
            *found.entry(service.to_owned()).or_default() |= has_processes;
        } else {
            find_service_cgroups(&path, depth + 1, found);
        }
    }
}

/// States from SysV init scripts' `status` action, whose exit codes the LSB defines: 0
/// running, 1–3 not running, anything else unknown.
fn init_script_states(dir: &Path, names: &[String]) -> BTreeMap<String, Observed> {
    std::thread::scope(|scope| {
        let asked: Vec<_> = names
            .iter()
            .map(|name| {
                let script = dir.join(name);
                let handle = script
                    .is_file()
                    .then(|| scope.spawn(move || init_script_status(&script)));
                (name, handle)
            })
            .collect();
        asked
            .into_iter()
            .map(|(name, handle)| {
                let observed = match handle {
                    Some(h) => h.join().unwrap_or_else(|_| {
                        Observed::new(UNKNOWN, "reading the init script's status panicked")
                    }),
                    None => Observed::new(
                        UNKNOWN,
                        &format!(
                            "systemd is not running and {} has no script for it",
                            dir.display()
                        ),
                    ),
                };
                (name.clone(), observed)
            })
            .collect()
    })
}

fn init_script_status(script: &Path) -> Observed {
    let mut cmd = Command::new(script);
    cmd.arg("status")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C");
    match run_bounded(cmd, Capture::Stdout, 4096, INIT_SCRIPT_TIMEOUT) {
        Ok((status, _)) => match status.code() {
            Some(0) => Observed::new("running", "init script"),
            Some(1..=3) => Observed::new("stopped", "init script"),
            code => Observed::new(
                UNKNOWN,
                &format!("{} status answered {code:?}", script.display()),
            ),
        },
        Err(RunError::TimedOut) => Observed::new(
            UNKNOWN,
            &format!(
                "{} status took over {}s",
                script.display(),
                INIT_SCRIPT_TIMEOUT.as_secs()
            ),
        ),
        Err(RunError::Start(e)) => {
            Observed::new(UNKNOWN, &format!("cannot run {}: {e}", script.display()))
        }
        Err(RunError::Wait(e)) => Observed::new(UNKNOWN, &e),
    }
}

/// Names of the host's SysV init scripts (the services a host without systemd may run).
pub fn init_script_names(host: &HostRoot) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(host.path("/etc/init.d")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        // Not services: the skeleton, helper files, and dpkg leftovers.
        .filter(|n| {
            !n.starts_with('.')
                && !n.contains(".dpkg-")
                && !matches!(
                    n.as_str(),
                    "README" | "skeleton" | "rc" | "rcS" | "functions"
                )
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn systemctl_show_blocks_become_states() {
        let text = "Id=ssh.service\nActiveState=active\nSubState=running\n\n\
                    Id=apt-daily.service\nActiveState=inactive\nSubState=dead\n\n\
                    Id=networking.service\nActiveState=active\nSubState=exited\n\n\
                    Id=nginx.service\nActiveState=failed\nSubState=failed\n\n\
                    Id=gone.service\nActiveState=\nSubState=\n";
        let states = parse_systemctl_show(text);
        let want = [
            ("apt-daily", "inactive"),
            ("networking", "exited"),
            ("nginx", "failed"),
            ("ssh", "running"),
        ];
        assert_eq!(
            states
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            want
        );
    }

    fn live_system(dir: &Path, systemd: bool) -> LiveSystem {
        let marker = dir.join("run-systemd-system");
        if systemd {
            std::fs::create_dir_all(&marker).unwrap();
        }
        LiveSystem {
            systemd_marker: marker,
            // Never answers, so the cgroup tree is read.
            systemctl: dir.join("no-systemctl"),
            cgroup_root: dir.join("cgroup"),
            init_scripts: dir.join("init.d"),
        }
    }

    #[test]
    fn the_cgroup_tree_tells_running_from_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let system = live_system(dir.path(), true);
        for (unit, procs) in [
            ("system.slice/ssh.service", "812\n813\n"),
            ("system.slice/cron.service", ""),
            // cgroup v1 keeps systemd's tree in a named hierarchy.
            ("systemd/system.slice/rsyslog.service", "455\n"),
        ] {
            let path = system.cgroup_root.join(unit);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join("cgroup.procs"), procs).unwrap();
        }
        let got = observe_live(&system, &names(&["ssh", "cron", "rsyslog", "nginx"]));
        let states: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|(n, o)| (n.as_str(), o.state.as_str(), o.source.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                ("cron", "inactive", "cgroup"),
                ("nginx", "inactive", "cgroup"),
                ("rsyslog", "running", "cgroup"),
                ("ssh", "running", "cgroup"),
            ]
        );
    }

    #[test]
    fn systemd_without_an_answer_is_unknown_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let system = live_system(dir.path(), true);
        let got = observe_live(&system, &names(&["ssh"]));
        assert_eq!(got["ssh"].state, UNKNOWN);
        assert!(
            got["ssh"].source.contains("cannot run systemctl"),
            "{:?}",
            got["ssh"]
        );
        assert!(
            got["ssh"].source.contains("no service cgroups"),
            "{:?}",
            got["ssh"]
        );
    }

    #[test]
    fn init_scripts_answer_where_systemd_does_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let system = live_system(dir.path(), false);
        std::fs::create_dir_all(&system.init_scripts).unwrap();
        for (name, body) in [
            ("postgresql", "exit 0"),
            ("redis-server", "exit 3"),
            ("odd", "exit 4"),
            ("hangs", "exec sleep 30"),
        ] {
            let path = system.init_scripts.join(name);
            std::fs::write(
                &path,
                format!("#!/bin/sh\n[ \"$1\" = status ] || exit 9\n{body}\n"),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let got = observe_live(
            &system,
            &names(&["postgresql", "redis-server", "odd", "hangs", "ssh"]),
        );
        assert_eq!(got["postgresql"], Observed::new("running", "init script"));
        assert_eq!(got["redis-server"], Observed::new("stopped", "init script"));
        assert_eq!(got["odd"].state, UNKNOWN);
        assert!(got["odd"].source.contains("Some(4)"), "{:?}", got["odd"]);
        assert_eq!(got["hangs"].state, UNKNOWN);
        assert!(
            got["hangs"].source.contains("took over"),
            "{:?}",
            got["hangs"]
        );
        assert_eq!(got["ssh"].state, UNKNOWN);
        assert!(got["ssh"].source.contains("no script"), "{:?}", got["ssh"]);
    }

    #[test]
    fn an_offline_root_is_unknown_because_it_is_offline() {
        let dir = tempfile::tempdir().unwrap();
        let got = observe(&HostRoot::at(dir.path()), &names(&["ssh"]));
        assert_eq!(got["ssh"].state, UNKNOWN);
        assert!(got["ssh"].source.starts_with("offline root"));
    }
}
