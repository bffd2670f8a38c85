//! Killing a process: SIGTERM, a grace period for it to exit cleanly, then SIGKILL. The init
//! process and the agent itself are refused; the report says whether the process is gone.

use std::path::Path;
use std::time::{Duration, Instant};

use super::Report;

/// Whether the process still exists: a zombie has exited and only waits for its parent.
fn alive(root: &Path, pid: u32) -> bool {
    match std::fs::read_to_string(root.join(format!("proc/{pid}/stat"))) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn name_of(root: &Path, pid: u32) -> String {
    std::fs::read_to_string(root.join(format!("proc/{pid}/comm")))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

fn wait_gone(root: &Path, pid: u32, within: Duration) -> bool {
    let until = Instant::now() + within;
    loop {
        if !alive(root, pid) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
fn signal(pid: u32, sig: nix::sys::signal::Signal) -> Result<(), String> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig)
        .map_err(|e| format!("cannot signal process {pid}: {e}"))
}

pub fn kill(root: &Path, pid: u32, grace_secs: u32) -> Report {
    if pid <= 1 {
        return Report::failed("the init process (PID 1) is never killed".into());
    }
    if pid == std::process::id() {
        return Report::failed(format!(
            "process {pid} is this agent; it does not kill itself"
        ));
    }
    if !alive(root, pid) {
        return Report::failed(format!("no such process: {pid}"));
    }
    let name = name_of(root, pid);
    #[cfg(unix)]
    {
        use nix::sys::signal::Signal;
        if let Err(e) = signal(pid, Signal::SIGTERM) {
            return Report::failed(e);
        }
        if wait_gone(root, pid, Duration::from_secs(u64::from(grace_secs))) {
            return Report::done(format!(
                "process {pid} ({name}) is gone: it exited on SIGTERM"
            ));
        }
        if let Err(e) = signal(pid, Signal::SIGKILL) {
            return Report::failed(e);
        }
        match wait_gone(root, pid, Duration::from_secs(5)) {
            true => Report::done(format!(
                "process {pid} ({name}) is gone: it ignored SIGTERM for {grace_secs} s and was killed"
            )),
            false => Report::failed(format!(
                "process {pid} ({name}) is still there after SIGKILL"
            )),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (grace_secs, wait_gone as fn(&Path, u32, Duration) -> bool);
        Report::failed(format!(
            "killing process {pid} ({name}) is not supported on this platform yet"
        ))
    }
}
