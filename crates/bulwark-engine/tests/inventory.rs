//! Inventory collection: from fixture roots (files only) and from the running machine.

use std::path::Path;

use bulwark_core::template::TestCase;
use bulwark_engine::HostRoot;
use bulwark_engine::fixture::FixtureRoot;
use bulwark_engine::inventory::collect;

fn fixture(name: &str) -> FixtureRoot {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/hosts/{name}.yaml"));
    let case: TestCase = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    FixtureRoot::new(&case).unwrap()
}

#[test]
fn an_offline_root_yields_its_files_inventory_and_no_live_parts() {
    for (name, os_id, package, service) in [
        ("debian12", "debian", "openssh-server", "ssh"),
        ("rhel9", "rhel", "openssh-server", "sshd"),
    ] {
        let root = fixture(name);
        let inv = collect(&HostRoot::offline(root.path())).unwrap();
        assert_eq!(
            (inv.system.os_kind.as_str(), inv.system.os_id.as_str()),
            ("linux", os_id),
            "{name}"
        );
        assert!(!inv.system.hostname.is_empty());
        assert!(
            inv.software
                .iter()
                .any(|s| s.name == package && !s.version.is_empty()),
            "{name}: {:?}",
            inv.software
        );
        let svc = inv
            .services
            .iter()
            .find(|s| s.name == service)
            .unwrap_or_else(|| panic!("{name}: {:?}", inv.services));
        assert_eq!(svc.start_type, "enabled", "{name}");
        assert_eq!(svc.state, "unknown", "{name}: an image runs nothing");
        assert!(
            svc.state_source.starts_with("offline root"),
            "{name}: {svc:?}"
        );
        assert!(
            inv.startup
                .iter()
                .any(|s| s.kind == "systemd" && s.name == format!("{service}.service")),
            "{name}"
        );
        let root_user = inv.users.iter().find(|u| u.name == "root").unwrap();
        assert!(root_user.admin && root_user.uid == 0);
        assert!(inv.groups.iter().any(|g| g.name == "root"));
        assert!(
            inv.processes.is_empty() && inv.drives.is_empty(),
            "{name}: live-only parts stay empty offline"
        );
    }
}

#[test]
fn the_running_machine_has_processes_drives_and_interfaces() {
    let inv = collect(&HostRoot::live()).unwrap();
    let me = std::process::id();
    assert!(
        inv.processes.iter().any(|p| p.pid == me),
        "this test's own process"
    );
    assert!(!inv.drives.is_empty() || !Path::new("/proc/mounts").exists());
    assert!(inv.network.interfaces.iter().any(|i| i.name == "lo"));
    assert!(inv.hardware.cpu_cores >= 1);
    assert!(!inv.system.kernel.is_empty());
}

/// Where an init system answers (systemd here, or SysV scripts where systemd does not run),
/// some service has a real state; where none does, every unknown carries its reason.
#[test]
fn the_running_machine_reports_service_states_from_its_init_system() {
    let inv = collect(&HostRoot::live()).unwrap();
    assert!(
        !inv.services.is_empty(),
        "this machine has service units or init scripts"
    );
    for svc in &inv.services {
        assert!(
            !svc.state_source.is_empty(),
            "{svc:?}: a state says where it came from"
        );
    }
    let answered: Vec<_> = inv
        .services
        .iter()
        .filter(|s| s.state != "unknown")
        .collect();
    let systemd_runs = Path::new("/run/systemd/system").is_dir();
    let init_scripts = Path::new("/etc/init.d")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some());
    if systemd_runs || init_scripts {
        assert!(
            !answered.is_empty(),
            "the init system answered for no service: {:?}",
            inv.services
        );
        assert!(
            answered.iter().all(|s| [
                "running",
                "exited",
                "stopped",
                "inactive",
                "failed",
                "activating",
                "deactivating"
            ]
            .contains(&s.state.as_str())),
            "{answered:?}"
        );
    }
}

#[test]
fn a_template_for_another_os_is_refused_before_any_check_runs() {
    let root = fixture("debian12");
    let windows = bulwark_content::shipped_template("cis-windows-server-l1")
        .unwrap()
        .expect("shipped");
    let err = bulwark_engine::scan(HostRoot::offline(root.path()), &windows, |_, _, _| {})
        .expect_err("a Windows template cannot scan a Linux root");
    assert_eq!(
        err.to_string(),
        "template cis-windows-server-l1 is written for windows, but this host runs linux; bind a linux template to scan it"
    );
}

/// A Windows evidence root gives installed programs (Uninstall keys, both registry views)
/// and services with state and start type, so Software Installed and Service Running judge
/// Windows hosts as they judge Linux ones.
#[test]
fn a_windows_evidence_root_has_software_and_services() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/windows/server2022");
    let inv = collect(&HostRoot::offline(&root)).unwrap();
    assert_eq!(inv.system.os_kind, "windows");
    let software: Vec<(&str, &str)> = inv
        .software
        .iter()
        .map(|s| (s.name.as_str(), s.version.as_str()))
        .collect();
    assert_eq!(
        software,
        [
            ("Microsoft Edge", "120.0.2210.91"),
            ("Mozilla Firefox (x86 en-US)", "121.0"),
            ("OpenSSH Server", "9.5.0.0"),
        ]
    );
    let services: Vec<(&str, &str, &str)> = inv
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.state.as_str(), s.start_type.as_str()))
        .collect();
    assert_eq!(
        services,
        [
            ("RemoteRegistry", "stopped", "disabled"),
            ("Spooler", "running", "auto"),
            ("WinDefend", "running", "auto"),
            ("wuauserv", "stopped", "manual"),
        ]
    );
}

#[test]
fn patches_and_events_come_from_the_hosts_own_logs() {
    let debian = fixture("debian12");
    let log = debian.path().join("var/log");
    std::fs::create_dir_all(&log).unwrap();
    std::fs::write(
        log.join("dpkg.log"),
        "2026-11-02 09:00:00 status installed man-db:amd64 2.11.2-2\n\
         2026-11-02 09:00:01 status half-installed openssl:amd64 3.0.15-1~deb12u1\n\
         2026-12-01 08:00:00 status installed openssl:amd64 3.0.15-1~deb12u1\n",
    )
    .unwrap();
    std::fs::write(
        log.join("syslog"),
        "2026-12-07T08:00:00+00:00 web1 CRON[10]: (root) CMD (run-parts /etc/cron.hourly)\n\
         2026-12-07T08:00:05+00:00 web1 sshd[812]: error: PAM: Authentication failure for root\n",
    )
    .unwrap();
    let inv = collect(&HostRoot::offline(debian.path())).unwrap();
    let patches: Vec<(&str, &str)> = inv
        .patches
        .iter()
        .map(|p| (p.package.as_str(), p.source.as_str()))
        .collect();
    assert_eq!(
        patches,
        [("openssl", "dpkg"), ("man-db", "dpkg")],
        "newest first, installs only"
    );
    assert_eq!(inv.events.origin, "/var/log/syslog");
    let events: Vec<(&str, &str)> = inv
        .events
        .entries
        .iter()
        .map(|e| (e.source.as_str(), e.level.as_str()))
        .collect();
    assert_eq!(
        events,
        [("sshd", "error"), ("CRON", "info")],
        "newest first"
    );

    let rhel = fixture("rhel9");
    let inv = collect(&HostRoot::offline(rhel.path())).unwrap();
    let ssh = inv
        .patches
        .iter()
        .find(|p| p.package == "openssh-server")
        .unwrap_or_else(|| panic!("{:?}", inv.patches));
    assert_eq!(
        (ssh.source.as_str(), ssh.installed_at),
        ("rpm", Some(1_700_000_000))
    );
    assert!(
        inv.events.origin.starts_with("no system log found"),
        "{}",
        inv.events.origin
    );
}

#[test]
fn this_machine_lists_its_updates_and_says_where_its_events_come_from() {
    let inv = collect(&HostRoot::live()).unwrap();
    if std::path::Path::new("/var/log/dpkg.log").exists() {
        assert!(
            inv.patches
                .iter()
                .all(|p| p.source == "dpkg" && p.installed_at.is_some()),
            "{:?}",
            inv.patches.first()
        );
        assert!(!inv.patches.is_empty());
    }
    assert!(!inv.events.origin.is_empty());
    assert!(inv.events.entries.len() <= bulwark_core::inventory::MAX_EVENTS);
}
