//! Service actions. Where systemd runs (it made `/run/systemd/system`), `systemctl`; where it
//! does not, the init scripts through `service` for start/stop/restart, and `update-rc.d`
//! (Debian) or `chkconfig` (Red Hat) for enable/disable. After the action the service's
//! state is read back the same way, so the report says what is true, not what was asked.

use std::path::Path;
use std::time::Duration;

use bulwark_core::job::ServiceAction;

use super::Report;
use super::run::{Ran, run};

const TIMEOUT: Duration = Duration::from_secs(90);

/// How this host manages services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Systemd,
    SysV,
}

pub fn manager(root: &Path) -> Manager {
    match root.join("run/systemd/system").is_dir() {
        true => Manager::Systemd,
        false => Manager::SysV,
    }
}

fn exists(root: &Path, manager: Manager, name: &str) -> Result<bool, String> {
    match manager {
        Manager::Systemd => {
            // `systemctl cat` fails for a unit it has no file for.
            Ok(run(&["systemctl", "cat", "--", name], None, TIMEOUT)?.ok())
        }
        Manager::SysV => Ok(root.join("etc/init.d").join(name).is_file()),
    }
}

/// Whether the service runs now: `systemctl is-active`, or the init script's `status`
/// (LSB: exit 0 means running).
pub fn is_running(manager: Manager, name: &str) -> Result<bool, String> {
    let ran = match manager {
        Manager::Systemd => run(
            &["systemctl", "is-active", "--quiet", "--", name],
            None,
            TIMEOUT,
        )?,
        Manager::SysV => run(&["service", name, "status"], None, TIMEOUT)?,
    };
    Ok(ran.ok())
}

/// Whether the service starts at boot: `systemctl is-enabled`, or a start link (`S..name`)
/// in a multi-user runlevel's rc directory.
pub fn is_enabled(root: &Path, manager: Manager, name: &str) -> Result<bool, String> {
    match manager {
        Manager::Systemd => Ok(run(
            &["systemctl", "is-enabled", "--quiet", "--", name],
            None,
            TIMEOUT,
        )?
        .ok()),
        Manager::SysV => Ok((2..=5).any(|level| {
            std::fs::read_dir(root.join(format!("etc/rc{level}.d")))
                .into_iter()
                .flatten()
                .flatten()
                .any(|entry| {
                    let file = entry.file_name().to_string_lossy().into_owned();
                    file.starts_with('S') && file.get(3..) == Some(name)
                })
        })),
    }
}

fn enable_argv(root: &Path, name: &str, enable: bool) -> Vec<String> {
    let word = |on: &str, off: &str| if enable { on } else { off }.to_owned();
    if root.join("usr/sbin/update-rc.d").exists() {
        vec!["update-rc.d".into(), name.into(), word("enable", "disable")]
    } else {
        vec!["chkconfig".into(), name.into(), word("on", "off")]
    }
}

pub fn act(root: &Path, name: &str, action: ServiceAction) -> Report {
    let manager = manager(root);
    match exists(root, manager, name) {
        Ok(true) => {}
        Ok(false) => return Report::failed(format!("no such service: {name}")),
        Err(e) => return Report::failed(e),
    }
    let argv: Vec<String> = match (manager, action) {
        (Manager::Systemd, _) => vec![
            "systemctl".into(),
            action.as_str().into(),
            "--".into(),
            name.into(),
        ],
        (Manager::SysV, ServiceAction::Enable) => enable_argv(root, name, true),
        (Manager::SysV, ServiceAction::Disable) => enable_argv(root, name, false),
        (Manager::SysV, _) => vec!["service".into(), name.into(), action.as_str().into()],
    };
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let ran: Ran = match run(&argv, None, TIMEOUT) {
        Ok(ran) => ran,
        Err(e) => return Report::failed(e),
    };
    if !ran.ok() {
        let why = match ran.timed_out {
            true => format!("{} did not finish within {} s", argv[0], TIMEOUT.as_secs()),
            false => ran.complaint(),
        };
        return Report::from_run(false, format!("{action} {name} failed: {why}"), ran);
    }
    let (now, wanted) = match action {
        ServiceAction::Start | ServiceAction::Restart => (is_running(manager, name), true),
        ServiceAction::Stop => (is_running(manager, name), false),
        ServiceAction::Enable => (is_enabled(root, manager, name), true),
        ServiceAction::Disable => (is_enabled(root, manager, name), false),
    };
    let state = |yes: bool| match (action, yes) {
        (ServiceAction::Enable | ServiceAction::Disable, true) => "enabled at boot",
        (ServiceAction::Enable | ServiceAction::Disable, false) => "disabled at boot",
        (_, true) => "running",
        (_, false) => "not running",
    };
    match now {
        Ok(is) => Report::from_run(
            is == wanted,
            format!("{action} {name}: {name} is {}", state(is)),
            ran,
        ),
        Err(e) => Report::from_run(
            false,
            format!("{action} {name}: its state cannot be read: {e}"),
            ran,
        ),
    }
}
