//! Windows services through the service control manager: start, stop and the state read
//! back through its API (language-independent, unlike `sc`'s output); the start type set
//! with Windows' own `sc.exe config`, which changes only that setting (rewriting a service's
//! whole configuration through the API would re-quote its command line).

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use bulwark_core::job::ServiceAction;
use windows_service::service::{ServiceAccess, ServiceStartType, ServiceState};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

use super::Report;
use super::run::run;

const SETTLE: Duration = Duration::from_secs(30);
const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_ALREADY_RUNNING: i32 = 1056;
const ERROR_SERVICE_NOT_ACTIVE: i32 = 1062;

fn os_error(e: &windows_service::Error) -> Option<i32> {
    match e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    }
}

pub fn act(name: &str, action: ServiceAction) -> Report {
    match control(name, action) {
        Ok(report) => report,
        Err(e) => Report::failed(e),
    }
}

fn control(name: &str, action: ServiceAction) -> Result<Report, String> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(|e| format!("cannot reach the service control manager: {e}"))?;
    let access = ServiceAccess::QUERY_STATUS
        | ServiceAccess::START
        | ServiceAccess::STOP
        | ServiceAccess::QUERY_CONFIG;
    let service = match manager.open_service(name, access) {
        Ok(s) => s,
        Err(e) if os_error(&e) == Some(ERROR_SERVICE_DOES_NOT_EXIST) => {
            return Ok(Report::failed(format!("no such service: {name}")));
        }
        Err(e) => return Err(format!("cannot open service {name}: {e}")),
    };
    let state = || {
        service
            .query_status()
            .map(|s| s.current_state)
            .map_err(|e| format!("cannot read the state of {name}: {e}"))
    };
    let settle = |want: ServiceState| -> Result<ServiceState, String> {
        let until = Instant::now() + SETTLE;
        loop {
            let now = state()?;
            if now == want || Instant::now() >= until {
                return Ok(now);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let start = || match service.start::<&OsStr>(&[]) {
        Err(e) if os_error(&e) != Some(ERROR_SERVICE_ALREADY_RUNNING) => {
            Err(format!("start {name} failed: {e}"))
        }
        _ => Ok(()),
    };
    let stop = || match service.stop() {
        Err(e) if os_error(&e) != Some(ERROR_SERVICE_NOT_ACTIVE) => {
            Err(format!("stop {name} failed: {e}"))
        }
        _ => Ok(()),
    };
    let running = |s: ServiceState| match s {
        ServiceState::Running => "running",
        _ => "not running",
    };
    Ok(match action {
        ServiceAction::Start | ServiceAction::Restart => {
            if action == ServiceAction::Restart {
                stop()?;
                settle(ServiceState::Stopped)?;
            }
            start()?;
            let now = settle(ServiceState::Running)?;
            Report {
                succeeded: now == ServiceState::Running,
                summary: format!("{action} {name}: {name} is {}", running(now)),
                ..Default::default()
            }
        }
        ServiceAction::Stop => {
            stop()?;
            let now = settle(ServiceState::Stopped)?;
            Report {
                succeeded: now == ServiceState::Stopped,
                summary: format!("{action} {name}: {name} is {}", running(now)),
                ..Default::default()
            }
        }
        ServiceAction::Enable | ServiceAction::Disable => {
            let wanted = match action {
                ServiceAction::Enable => "auto",
                _ => "disabled",
            };
            let ran = run(&["sc.exe", "config", name, "start=", wanted], None, SETTLE)?;
            if !ran.ok() {
                let why = format!(
                    "sc.exe config exited {}: {}",
                    ran.exit_code
                        .map_or_else(|| "by a signal".into(), |c| c.to_string()),
                    ran.complaint()
                );
                return Ok(Report::from_run(
                    false,
                    format!("{action} {name} failed: {why}"),
                    ran,
                ));
            }
            let start_type = service
                .query_config()
                .map(|c| c.start_type)
                .map_err(|e| format!("cannot read the configuration of {name}: {e}"))?;
            let at_boot = start_type == ServiceStartType::AutoStart;
            Report::from_run(
                at_boot == (action == ServiceAction::Enable),
                format!(
                    "{action} {name}: {name} is {}",
                    if at_boot {
                        "enabled at boot"
                    } else {
                        "disabled at boot"
                    }
                ),
                ran,
            )
        }
    })
}
