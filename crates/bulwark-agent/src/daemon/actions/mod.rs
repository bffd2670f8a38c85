//! Host-control actions: what a signed `host_action` job asks of this host. Each returns a
//! [`Report`] (what happened in a sentence, exit code and capped output) that the daemon
//! sends back; an unknown service, user or process is a failed report with the reason, never
//! a crash. Parameters are validated again here, whatever the server checked.

mod accounts;
mod diagnostics;
mod process;
pub mod run;
mod script;
#[cfg(not(windows))]
mod services;
#[cfg(windows)]
mod windows_services;

use std::path::Path;

use bulwark_core::HostAction;
use bulwark_protocol::wire::JobReport;

/// How an action ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub succeeded: bool,
    pub summary: String,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
}

impl Report {
    pub fn done(summary: String) -> Self {
        Report {
            succeeded: true,
            summary,
            ..Default::default()
        }
    }

    pub fn failed(summary: String) -> Self {
        Report {
            succeeded: false,
            summary,
            ..Default::default()
        }
    }

    pub fn from_run(succeeded: bool, summary: String, ran: run::Ran) -> Self {
        Report {
            succeeded,
            summary,
            exit_code: ran.exit_code,
            stdout: ran.stdout,
            stderr: ran.stderr,
            truncated: ran.truncated,
        }
    }

    pub fn into_wire(self) -> JobReport {
        JobReport {
            succeeded: self.succeeded,
            summary: self.summary,
            exit_code: self.exit_code,
            stdout: self.stdout,
            stderr: self.stderr,
            truncated: self.truncated,
        }
    }
}

/// A password opened from the job, kept only as long as the action needs it.
pub type Password = Vec<u8>;

/// Runs an action that was validated and whose locks were checked. `password` is the
/// opened secret of a user action.
pub async fn perform(root: &Path, action: HostAction, password: Option<Password>) -> Report {
    let problems = action.problems();
    if !problems.is_empty() {
        let said: Vec<String> = problems
            .into_iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect();
        return Report::failed(format!("refused: {}", said.join("; ")));
    }
    if let HostAction::DnsLookup {
        name,
        server,
        server_port,
    } = &action
    {
        return diagnostics::dns_lookup(name, server.as_deref(), *server_port).await;
    }
    let root = root.to_owned();
    let blocking = tokio::task::spawn_blocking(move || perform_blocking(&root, action, password));
    match blocking.await {
        Ok(report) => report,
        Err(e) => Report::failed(format!("the action crashed: {e}")),
    }
}

/// Whether this build performs the action on its platform: every action on Unix; on Windows
/// services, port checks and DNS lookups so far.
fn supported_here(action: &HostAction) -> bool {
    cfg!(unix)
        || matches!(
            action,
            HostAction::Service { .. }
                | HostAction::PortCheck { .. }
                | HostAction::DnsLookup { .. }
        )
}

fn perform_blocking(root: &Path, action: HostAction, password: Option<Password>) -> Report {
    use HostAction::*;
    if !supported_here(&action) {
        return Report::failed(format!(
            "{} is unsupported by agent version {} on {}",
            action.job_type(),
            super::VERSION,
            std::env::consts::OS
        ));
    }
    match action {
        #[cfg(windows)]
        Service { name, action } => windows_services::act(&name, action),
        #[cfg(not(windows))]
        Service { name, action } => services::act(root, &name, action),
        KillProcess { pid, grace_secs } => process::kill(root, pid, grace_secs),
        CreateUser { name, admin, .. } => {
            accounts::create_user(root, &name, admin, password.as_deref())
        }
        DeleteUser { name } => accounts::delete_user(root, &name),
        SetUserEnabled { name, enabled } => accounts::set_enabled(root, &name, enabled),
        ResetPassword { name, .. } => match password {
            Some(p) => accounts::reset_password(root, &name, &p),
            None => Report::failed("the job carries no password".into()),
        },
        CreateGroup { name } => accounts::create_group(root, &name),
        DeleteGroup { name } => accounts::delete_group(root, &name),
        AddGroupMember { group, user } => accounts::membership(root, &group, &user, true),
        RemoveGroupMember { group, user } => accounts::membership(root, &group, &user, false),
        Ping { target } => diagnostics::ping(&target),
        Traceroute { target } => diagnostics::traceroute(&target),
        DnsLookup { .. } => unreachable!("answered before the blocking part"),
        Netstat => diagnostics::netstat(root),
        PortCheck { target, port } => diagnostics::port_check(&target, port),
        Script {
            interpreter,
            script,
            timeout_secs,
        } => script::run_script(interpreter, &script, timeout_secs),
    }
}
