//! Jobs: the work a server asks of a host. A compliance scan is one kind; the others are the
//! host-control actions an operator takes from a host's page (a service, a process, local
//! users and groups, network diagnostics run from inside the host's network, a script).
//! Every parameter that reaches the host is validated here, by the server when the job is
//! created and by the agent again when it arrives, so a name can never become an option
//! or a shell word on the host.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

crate::text_enum! {
    /// Delivered in this order: an operator's action is not queued behind a scan.
    pub enum JobPriority as "job priority" {
        Critical = "critical",
        High = "high",
        Normal = "normal",
    }
}

crate::text_enum! {
    /// queued → delivered → running → succeeded | failed | expired | cancelled.
    pub enum JobStatus as "job status" {
        Queued = "queued",
        Delivered = "delivered",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Expired = "expired",
        Cancelled = "cancelled",
    }
}

impl JobStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Expired | JobStatus::Cancelled
        )
    }
}

crate::text_enum! {
    /// What a job does, as lists filter it.
    pub enum JobType as "job type" {
        ComplianceScan = "compliance_scan",
        Service = "service",
        Process = "process",
        User = "user",
        Group = "group",
        Diagnostic = "diagnostic",
        Script = "script",
    }
}

crate::text_enum! {
    pub enum ServiceAction as "service action" {
        Start = "start",
        Stop = "stop",
        Restart = "restart",
        Enable = "enable",
        Disable = "disable",
    }
}

crate::text_enum! {
    pub enum Interpreter as "script interpreter" {
        Bash = "bash",
        Sh = "sh",
        Powershell = "powershell",
    }
}

/// A secret (a password) encrypted for one agent's key; only that agent can open it, and
/// only inside the job it was sealed for. Hex of the ephemeral X25519 key and of the
/// AES-256-GCM ciphertext with its tag.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SealedSecret {
    pub ephemeral: String,
    pub ciphertext: String,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret(…)")
    }
}

/// One host-control action. Passwords are only ever here sealed for the host's agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HostAction {
    Service {
        name: String,
        action: ServiceAction,
    },
    /// SIGTERM, then SIGKILL once `grace_secs` have passed.
    KillProcess {
        pid: u32,
        #[serde(default = "default_grace")]
        grace_secs: u32,
    },
    /// `admin`: a member of the administrators' group (sudo or wheel; Administrators).
    CreateUser {
        name: String,
        #[serde(default)]
        admin: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<SealedSecret>,
    },
    DeleteUser {
        name: String,
    },
    SetUserEnabled {
        name: String,
        enabled: bool,
    },
    ResetPassword {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<SealedSecret>,
    },
    CreateGroup {
        name: String,
    },
    DeleteGroup {
        name: String,
    },
    AddGroupMember {
        group: String,
        user: String,
    },
    RemoveGroupMember {
        group: String,
        user: String,
    },
    Ping {
        target: String,
    },
    Traceroute {
        target: String,
    },
    /// Resolves `name` with the host's resolver, or with `server` (an IP address, optional
    /// port 53 unless given).
    DnsLookup {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_port: Option<u16>,
    },
    /// Listening ports and established connections.
    Netstat,
    PortCheck {
        target: String,
        port: u16,
    },
    Script {
        interpreter: Interpreter,
        script: String,
        #[serde(default = "default_script_timeout")]
        timeout_secs: u32,
    },
}

fn default_grace() -> u32 {
    10
}

fn default_script_timeout() -> u32 {
    300
}

/// The longest script a job carries.
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;
pub const MAX_SCRIPT_TIMEOUT_SECS: u32 = 3600;
pub const MAX_GRACE_SECS: u32 = 300;

impl HostAction {
    pub fn job_type(&self) -> JobType {
        use HostAction::*;
        match self {
            Service { .. } => JobType::Service,
            KillProcess { .. } => JobType::Process,
            CreateUser { .. }
            | DeleteUser { .. }
            | SetUserEnabled { .. }
            | ResetPassword { .. } => JobType::User,
            CreateGroup { .. }
            | DeleteGroup { .. }
            | AddGroupMember { .. }
            | RemoveGroupMember { .. } => JobType::Group,
            Ping { .. } | Traceroute { .. } | DnsLookup { .. } | Netstat | PortCheck { .. } => {
                JobType::Diagnostic
            }
            Script { .. } => JobType::Script,
        }
    }

    pub fn priority(&self) -> JobPriority {
        match self.job_type() {
            JobType::Diagnostic => JobPriority::High,
            JobType::ComplianceScan => JobPriority::Normal,
            _ => JobPriority::Critical,
        }
    }

    /// Whether the action runs code the caller wrote: such an action needs both the
    /// organization's `script_execution` flag and the agent owner's `allow_scripts`.
    pub fn runs_caller_code(&self) -> bool {
        matches!(self, HostAction::Script { .. })
    }

    /// What the action does, in a few words, for lists and the audit log (never a secret).
    pub fn describe(&self) -> String {
        use HostAction::*;
        match self {
            Service { name, action } => format!("{action} service {name}"),
            KillProcess { pid, .. } => format!("kill process {pid}"),
            CreateUser { name, admin, .. } => match admin {
                true => format!("create administrator {name}"),
                false => format!("create user {name}"),
            },
            DeleteUser { name } => format!("delete user {name}"),
            SetUserEnabled { name, enabled } => match enabled {
                true => format!("enable user {name}"),
                false => format!("disable user {name}"),
            },
            ResetPassword { name, .. } => format!("reset the password of {name}"),
            CreateGroup { name } => format!("create group {name}"),
            DeleteGroup { name } => format!("delete group {name}"),
            AddGroupMember { group, user } => format!("add {user} to group {group}"),
            RemoveGroupMember { group, user } => format!("remove {user} from group {group}"),
            Ping { target } => format!("ping {target}"),
            Traceroute { target } => format!("traceroute {target}"),
            DnsLookup { name, server, .. } => match server {
                Some(s) => format!("DNS lookup {name} at {s}"),
                None => format!("DNS lookup {name}"),
            },
            Netstat => "netstat".into(),
            PortCheck { target, port } => format!("port check {target}:{port}"),
            Script {
                interpreter,
                script,
                ..
            } => format!("{interpreter} script ({} bytes)", script.len()),
        }
    }

    /// Every problem with the action's parameters, each with the field it is in.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        use HostAction::*;
        let mut problems = Vec::new();
        let mut check = |field: &'static str, ok: bool, message: String| {
            if !ok {
                problems.push((field, message));
            }
        };
        match self {
            Service { name, .. } => check(
                "name",
                valid_service_name(name),
                format!(
                    "{name:?} is not a service name (letters, digits and @ . _ : -, starting with a letter or digit, at most 128)"
                ),
            ),
            KillProcess { pid, grace_secs } => {
                check(
                    "pid",
                    *pid > 1,
                    "pid must be a process id above 1 (the init process is never killed)".into(),
                );
                check(
                    "grace_secs",
                    *grace_secs <= MAX_GRACE_SECS,
                    format!("grace_secs is at most {MAX_GRACE_SECS}"),
                );
            }
            CreateUser { name, .. }
            | DeleteUser { name }
            | SetUserEnabled { name, .. }
            | ResetPassword { name, .. } => {
                check("name", valid_account_name(name), account_name_message(name))
            }
            CreateGroup { name } | DeleteGroup { name } => {
                check("name", valid_account_name(name), account_name_message(name))
            }
            AddGroupMember { group, user } | RemoveGroupMember { group, user } => {
                check(
                    "group",
                    valid_account_name(group),
                    account_name_message(group),
                );
                check("user", valid_account_name(user), account_name_message(user));
            }
            Ping { target } | Traceroute { target } | PortCheck { target, .. } => check(
                "target",
                valid_target(target),
                format!("{target:?} is neither an IP address nor a host name"),
            ),
            DnsLookup { name, server, .. } => {
                check(
                    "name",
                    valid_hostname(name),
                    format!("{name:?} is not a host name"),
                );
                if let Some(server) = server {
                    check(
                        "server",
                        server.parse::<IpAddr>().is_ok(),
                        format!("{server:?} is not an IP address"),
                    );
                }
            }
            Netstat => {}
            Script {
                script,
                timeout_secs,
                ..
            } => {
                check(
                    "script",
                    !script.trim().is_empty() && script.len() <= MAX_SCRIPT_BYTES,
                    format!("a script is 1 to {MAX_SCRIPT_BYTES} bytes"),
                );
                check(
                    "timeout_secs",
                    (1..=MAX_SCRIPT_TIMEOUT_SECS).contains(timeout_secs),
                    format!("timeout_secs is 1 to {MAX_SCRIPT_TIMEOUT_SECS}"),
                );
            }
        }
        if let PortCheck { port: 0, .. } = self {
            problems.push(("port", "port is 1 to 65535".into()));
        }
        problems
    }
}

fn account_name_message(name: &str) -> String {
    format!(
        "{name:?} is not an account name (letters, digits, '_', '.', '-', starting with a letter or '_', at most 32)"
    )
}

/// A systemd unit, an init script or a Windows service name; never an option.
pub fn valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "@._:-".contains(c))
}

/// A local user or group name that every platform's tools accept as one argument.
pub fn valid_account_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// A DNS name: dot-separated labels of letters, digits and inner hyphens.
pub fn valid_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// An IP address or a host name: what a diagnostic may be pointed at.
pub fn valid_target(target: &str) -> bool {
    target.parse::<IpAddr>().is_ok() || valid_hostname(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_be_options_or_shell_words_are_refused() {
        for bad in [
            "-rf", "--help", "a b", "a;reboot", "$(id)", "`id`", "a|b", "a\nb", "", "../x",
        ] {
            assert!(!valid_service_name(bad), "service {bad:?}");
            assert!(!valid_account_name(bad), "account {bad:?}");
            assert!(!valid_target(bad), "target {bad:?}");
        }
        for good in ["nginx", "ssh.service", "getty@tty1.service", "cron"] {
            assert!(valid_service_name(good), "{good}");
        }
        for good in ["alice", "_svc", "svc-backup", "a.b"] {
            assert!(valid_account_name(good), "{good}");
        }
        for good in ["127.0.0.1", "::1", "example.com", "db-1.internal."] {
            assert!(valid_target(good), "{good}");
        }
    }

    #[test]
    fn every_problem_is_named_with_its_field() {
        let script = HostAction::Script {
            interpreter: Interpreter::Sh,
            script: " ".into(),
            timeout_secs: 0,
        };
        let fields: Vec<_> = script.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["script", "timeout_secs"]);
        let member = HostAction::AddGroupMember {
            group: "x y".into(),
            user: "-u".into(),
        };
        let fields: Vec<_> = member.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["group", "user"]);
        assert_eq!(
            HostAction::KillProcess {
                pid: 1,
                grace_secs: 5
            }
            .problems()[0]
                .0,
            "pid"
        );
        assert!(
            HostAction::PortCheck {
                target: "localhost".into(),
                port: 22
            }
            .problems()
            .is_empty()
        );
    }

    #[test]
    fn control_outranks_diagnostics_which_outrank_scans() {
        let kill = HostAction::KillProcess {
            pid: 42,
            grace_secs: 1,
        };
        assert_eq!(kill.priority(), JobPriority::Critical);
        assert_eq!(HostAction::Netstat.priority(), JobPriority::High);
        assert!(JobPriority::Critical < JobPriority::High);
        assert!(JobPriority::High < JobPriority::Normal);
    }

    #[test]
    fn a_sealed_password_never_prints() {
        let action = HostAction::ResetPassword {
            name: "alice".into(),
            password: Some(SealedSecret {
                ephemeral: "ab".into(),
                ciphertext: "cd".into(),
            }),
        };
        assert!(!format!("{action:?}").contains("cd"));
        assert_eq!(action.describe(), "reset the password of alice");
    }
}
