//! The agent built for Windows, run under Wine: its live inventory path (the `cfg(windows)`
//! code that runs `reg` and `sc` and parses what they print) on a real Windows API layer,
//! not only on recorded evidence. `scripts/test` installs Wine and MinGW, builds
//! `bulwark-agent.exe` and names it in `BULWARK_WINDOWS_AGENT`. Debian 12's Wine lacks `sc
//! queryex`, so service states are unknown here, each with its reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WINE: &str = "/usr/lib/wine/wine64";

fn agent_exe() -> PathBuf {
    let exe = std::env::var_os("BULWARK_WINDOWS_AGENT").map(PathBuf::from);
    match exe {
        Some(exe) if exe.is_file() && Path::new(WINE).exists() => exe,
        _ => panic!(
            "the Wine test needs {WINE} and the agent built for Windows in BULWARK_WINDOWS_AGENT; scripts/test provides both"
        ),
    }
}

fn wine(prefix: &Path, args: &[&str]) -> Output {
    let out = Command::new(WINE)
        .args(args)
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .output()
        .expect("wine runs");
    assert!(
        out.status.success(),
        "wine {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Builds `tests/wine/bcryptprimitives.c` into the prefix's system32, for a Wine older than
/// 9.0 (see the file).
fn provide_process_prng(prefix: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wine/bcryptprimitives.c");
    let dll = prefix.join("drive_c/windows/system32/bcryptprimitives.dll");
    let out = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-shared", "-O2", "-o"])
        .arg(&dll)
        .arg(&source)
        .arg("-ladvapi32")
        .output()
        .expect("MinGW's gcc runs (scripts/test installs gcc-mingw-w64-x86-64-win32)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_windows_agent_reads_a_live_inventory_under_wine() {
    let exe = agent_exe();
    let prefix = tempfile::tempdir().unwrap();
    // A program installed the way installers register one, in both registry views.
    let uninstall = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall";
    for (key, name, version) in [
        (
            format!(r"{uninstall}\BulwarkProbe"),
            "Bulwark Wine Probe",
            "1.2.3",
        ),
        (
            format!(r"{uninstall}\BulwarkHidden"),
            "Hidden runtime part",
            "9",
        ),
    ] {
        wine(
            prefix.path(),
            &["reg", "add", &key, "/v", "DisplayName", "/d", name, "/f"],
        );
        wine(
            prefix.path(),
            &[
                "reg",
                "add",
                &key,
                "/v",
                "DisplayVersion",
                "/d",
                version,
                "/f",
            ],
        );
    }
    wine(
        prefix.path(),
        &[
            "reg",
            "add",
            &format!(r"{uninstall}\BulwarkHidden"),
            "/v",
            "SystemComponent",
            "/t",
            "REG_DWORD",
            "/d",
            "1",
            "/f",
        ],
    );

    provide_process_prng(prefix.path());

    let out = wine(prefix.path(), &[exe.to_str().unwrap(), "inventory"]);
    let inventory: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(inventory["system"]["os_kind"], "windows", "{inventory:#}");
    assert!(
        !inventory["system"]["hostname"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "the computer name is read from the registry: {inventory:#}"
    );
    let software: Vec<(&str, &str)> = inventory["software"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["version"].as_str().unwrap()))
        .collect();
    assert!(
        software.contains(&("Bulwark Wine Probe", "1.2.3")),
        "{software:?}"
    );
    assert!(
        !software
            .iter()
            .any(|(name, _)| *name == "Hidden runtime part"),
        "system components are not programs: {software:?}"
    );
    // Wine's registry lists its services; its sc has no queryex, so their state is unknown
    // and each says why instead of passing for stopped.
    let services = inventory["services"].as_array().unwrap();
    let event_log = services
        .iter()
        .find(|s| s["name"] == "Eventlog")
        .unwrap_or_else(|| panic!("no Eventlog service: {services:?}"));
    assert_eq!(event_log["start_type"], "auto", "{event_log}");
    assert!(
        services.iter().all(|s| s["state"] != "unknown"
            || s["state_source"].as_str().unwrap().contains("sc queryex")),
        "{services:?}"
    );
    // What exists only on a running system comes from the Windows API through sysinfo.
    assert!(
        inventory["system"]["uptime_secs"].is_number(),
        "{inventory:#}"
    );
    assert_eq!(inventory["system"]["architecture"], "x86_64");
    let processes = inventory["processes"].as_array().unwrap();
    let me = processes
        .iter()
        .find(|p| p["name"] == "bulwark-agent.exe")
        .unwrap_or_else(|| panic!("the agent's own process is listed: {processes:?}"));
    assert!(
        me["user"].as_str().unwrap().starts_with("S-1-"),
        "a Windows process runs as a SID: {me}"
    );
}

/// Runs `bulwark-agent.exe action JSON` in the prefix and answers its report.
fn action(prefix: &Path, exe: &Path, json: &str) -> serde_json::Value {
    let out = Command::new(WINE)
        .arg(exe)
        .args(["action", json])
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .output()
        .expect("wine runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Service actions of the Windows build go through the service control manager's API: Wine's
/// print spooler starts and stops for real and its state is read back; an unknown service is
/// a failure that says so. Wine's `sc.exe` has no `config` command, so enabling says that
/// it failed and why, instead of claiming a start type it did not set.
#[test]
fn the_windows_agent_controls_services_through_the_scm_under_wine() {
    let exe = agent_exe();
    let prefix = tempfile::tempdir().unwrap();
    wine(prefix.path(), &["wineboot", "-i"]);
    provide_process_prng(prefix.path());
    let svc =
        |action: &str| format!(r#"{{"type": "service", "name": "Spooler", "action": "{action}"}}"#);

    let started = action(prefix.path(), &exe, &svc("start"));
    assert_eq!(started["succeeded"], true, "{started:#}");
    assert_eq!(started["summary"], "start Spooler: Spooler is running");
    let stopped = action(prefix.path(), &exe, &svc("stop"));
    assert_eq!(stopped["succeeded"], true, "{stopped:#}");
    assert_eq!(stopped["summary"], "stop Spooler: Spooler is not running");

    let unknown = action(
        prefix.path(),
        &exe,
        r#"{"type": "service", "name": "NoSuchService", "action": "start"}"#,
    );
    assert_eq!(unknown["succeeded"], false);
    assert_eq!(unknown["summary"], "no such service: NoSuchService");

    let enabled = action(prefix.path(), &exe, &svc("enable"));
    assert_eq!(enabled["succeeded"], false, "{enabled:#}");
    assert!(
        enabled["summary"]
            .as_str()
            .unwrap()
            .starts_with("enable Spooler failed: sc.exe config exited 1"),
        "{enabled:#}"
    );

    let kill = action(
        prefix.path(),
        &exe,
        r#"{"type": "kill_process", "pid": 4242}"#,
    );
    assert_eq!(
        kill["summary"],
        format!(
            "process is unsupported by agent version {} on windows",
            env!("CARGO_PKG_VERSION")
        ),
        "actions not built for Windows yet say so"
    );
}
