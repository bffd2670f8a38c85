//! A host's inventory as the agent collects it and the server keeps it: one value per
//! category, so that the agent can send only the categories that changed (differential sync)
//! and the server can keep the latest of each. Fields the agent could not read are empty
//! rather than absent, so a category always has the same shape.

use serde::{Deserialize, Serialize};

/// Category names, as agents send them, the store keys them and the API serves them.
pub const CATEGORIES: [&str; 13] = [
    "system",
    "hardware",
    "network",
    "services",
    "processes",
    "users",
    "groups",
    "software",
    "drives",
    "security",
    "startup",
    "patches",
    "events",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemInfo {
    pub hostname: String,
    /// linux | windows
    pub os_kind: String,
    /// The distro id (`debian`, `rhel`...) or `windows`.
    pub os_id: String,
    pub os_version: String,
    /// The distribution's own name for itself (PRETTY_NAME).
    pub os_name: String,
    pub kernel: String,
    pub architecture: String,
    pub uptime_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Hardware {
    pub vendor: String,
    pub model: String,
    pub serial: String,
    pub bios_vendor: String,
    pub bios_version: String,
    pub cpu_model: String,
    pub cpu_cores: u32,
    pub cpu_mhz: Option<f64>,
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Network {
    pub interfaces: Vec<Interface>,
    pub nameservers: Vec<String>,
    pub search_domains: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interface {
    pub name: String,
    pub mac: String,
    pub addresses: Vec<String>,
    pub up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Service {
    pub name: String,
    /// running, active, stopped, inactive, failed...
    pub state: String,
    /// enabled, disabled, masked, static, auto, manual... (empty when unknown)
    #[serde(default)]
    pub start_type: String,
    /// Who told the state (`systemctl`, `cgroup`, `init script`, `service control manager`),
    /// or, when the state is `unknown`, why nothing could.
    #[serde(default)]
    pub state_source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub user: String,
    /// Share of one CPU since the process started.
    pub cpu_percent: f64,
    pub memory_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LocalUser {
    pub name: String,
    pub uid: u32,
    pub admin: bool,
    pub shell: String,
    pub home: String,
    /// Unix seconds; `None` when the host keeps no record.
    pub last_login: Option<i64>,
    /// Unix seconds at which the password expires; `None` when it never does.
    pub password_expires: Option<i64>,
    pub locked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LocalGroup {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Software {
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Drive {
    pub mount: String,
    pub device: String,
    pub fs_type: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub used_percent: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Security {
    /// The firewall the host uses (nftables, firewalld, ufw, iptables) and whether it is
    /// enabled, in words; `unknown` when none was found.
    pub firewall: String,
    /// none | partial | full | unknown, from the mount table and crypttab.
    pub disk_encryption: String,
    /// SELinux or AppArmor and its mode, or `none`.
    pub mandatory_access_control: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StartupItem {
    /// systemd | cron
    pub kind: String,
    pub name: String,
    /// The unit's state, or the cron line.
    pub detail: String,
}

/// An installed package or update, newest first: from dpkg's log (Debian, Ubuntu), the
/// rpm database's install times (Red Hat), or the hotfix list (Windows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Patch {
    /// The package name, or a hotfix's KB id.
    pub package: String,
    #[serde(default)]
    pub version: String,
    /// Unix seconds; `None` when the source keeps no time.
    pub installed_at: Option<i64>,
    /// dpkg | rpm | hotfix
    pub source: String,
}

/// The most recent system log entries the agent sends (and the Events tab shows).
pub const MAX_EVENTS: usize = 300;

/// Recent system log entries, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Events {
    /// Where they were read: journald, a syslog file's path, the Event Log, or why none
    /// could be ("no system log found: …").
    pub origin: String,
    pub entries: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// Unix seconds; `None` when the line carried no time the agent could read.
    pub at: Option<i64>,
    /// emergency, alert, critical, error, warning, notice, info or debug.
    pub level: String,
    /// The program or service that logged it.
    pub source: String,
    pub message: String,
}

/// The levels an event can have, most severe first.
pub const EVENT_LEVELS: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
];

/// Everything the agent collects in one pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HostInventory {
    pub system: SystemInfo,
    pub hardware: Hardware,
    pub network: Network,
    pub services: Vec<Service>,
    pub processes: Vec<Process>,
    pub users: Vec<LocalUser>,
    pub groups: Vec<LocalGroup>,
    pub software: Vec<Software>,
    pub drives: Vec<Drive>,
    pub security: Security,
    pub startup: Vec<StartupItem>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub events: Events,
}
