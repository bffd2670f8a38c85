//! Running a script an operator wrote. Reached only with both locks open (the organization's
//! `script_execution` flag and this agent's `allow_scripts`; see the daemon). The script is a
//! private temporary file run by its interpreter, in a directory of its own, with a clean
//! environment, its timeout, and output capped like every job's.

use std::process::Command;
use std::time::Duration;

use bulwark_core::job::Interpreter;

use super::Report;
use super::run::run_command;

pub fn run_script(interpreter: Interpreter, script: &str, timeout_secs: u32) -> Report {
    let dir = match tempfile::Builder::new().prefix("bulwark-script-").tempdir() {
        Ok(d) => d,
        Err(e) => return Report::failed(format!("cannot make a directory for the script: {e}")),
    };
    let (file_name, mut cmd) = match interpreter {
        Interpreter::Bash => ("script.sh", Command::new("/bin/bash")),
        Interpreter::Sh => ("script.sh", Command::new("/bin/sh")),
        Interpreter::Powershell => {
            let mut c = Command::new(if cfg!(windows) {
                "powershell.exe"
            } else {
                "pwsh"
            });
            c.args([
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-File",
            ]);
            ("script.ps1", c)
        }
    };
    let path = dir.path().join(file_name);
    if let Err(e) = std::fs::write(&path, script) {
        return Report::failed(format!("cannot write the script: {e}"));
    }
    cmd.arg(&path).current_dir(dir.path());
    let timeout = Duration::from_secs(u64::from(timeout_secs));
    match run_command(cmd, None, timeout) {
        Ok(ran) => {
            let summary = match (ran.timed_out, ran.exit_code) {
                (true, _) => format!("the script was killed at its timeout of {timeout_secs} s"),
                (false, Some(0)) => "the script exited 0".to_owned(),
                (false, Some(code)) => format!("the script exited {code}"),
                (false, None) => "the script was killed by a signal".to_owned(),
            };
            Report::from_run(ran.ok(), summary, ran)
        }
        Err(e) => Report::failed(format!("cannot run the script with {interpreter}: {e}")),
    }
}
