//! Probes: what a check collects from a host, one variant per check kind with its parameters.
//! The engine implements each; the content validates them; the server ships them in jobs.

use serde::{Deserialize, Serialize};

use crate::expect::{Expectation, Operator};
use crate::platform::OsKind;

/// A parameter that may be one string or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// What to conclude when no file matches a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineMatch {
    Any,
    All,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfigFormat {
    /// sshd_config: case-insensitive keywords, Include, first value wins, Match ends globals.
    Sshd,
    /// `KEY value` (login.defs): last value wins.
    Space,
    /// `key = value` (auditd.conf, pwquality.conf): last value wins.
    Equals,
    /// systemd INI with sections and drop-ins.
    Systemd,
}

/// The include directives a `file_content` probe follows, in the syntax of the program that
/// reads the files: what that program loads is what gets judged, wherever the setting lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncludeSyntax {
    /// rsyslog: `$IncludeConfig PATH` and `include(file="PATH" ...)`.
    Rsyslog,
    /// nftables: `include "PATH"`.
    Nftables,
}

/// Which path a `file_permissions` probe derives from a setting that names a file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum PathTake {
    /// The named file itself.
    #[default]
    File,
    /// The directory that holds it.
    Directory,
    /// Every file in that directory.
    DirectoryFiles,
}

/// A setting of another file that names the path to judge (auditd.conf's `log_file`), so the
/// check follows the host's own configuration instead of assuming the default location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathFrom {
    pub file: String,
    pub format: ConfigFormat,
    pub key: String,
    #[serde(default)]
    pub take: PathTake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountRule {
    Uid0OnlyRoot,
    NoEmptyPasswords,
    PasswordsShadowed,
    GroupsExist,
    UniqueUids,
    UniqueGids,
    UniqueUserNames,
    UniqueGroupNames,
    RootGidZero,
    ShadowGroupEmpty,
    MaxDays,
    MinDays,
    WarnDays,
    Inactive,
    SystemAccountsNologin,
    LastChangeInPast,
    Gid0OnlyRootGroup,
    RootPasswordSet,
    RootPasswordNotEmpty,
    NologinAccountsLocked,
}

impl AccountRule {
    /// The name of the numeric limit the rule needs, if any.
    pub fn limit_param(self) -> Option<&'static str> {
        match self {
            AccountRule::MaxDays | AccountRule::Inactive => Some("max"),
            AccountRule::MinDays | AccountRule::WarnDays => Some("min"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WalkFinding {
    WorldWritable,
    NoStickyDirs,
    Unowned,
    Ungrouped,
    Suid,
    Sgid,
}

/// The address family a firewall rule set filters: iptables and ip6tables keep separate rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddressFamily {
    Ipv4,
    Ipv6,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum CommandOutput {
    #[default]
    Stdout,
    ExitCode,
}

fn default_true() -> bool {
    true
}
fn default_timeout() -> u64 {
    10
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Probe {
    FileExists {
        path: String,
    },
    FilePermissions {
        /// Used as is, or when `path_from`'s setting is not set.
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path_from: Option<PathFrom>,
        /// Only files with a line matching this regex are judged (private keys by content).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        containing: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<OneOrMany>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<OneOrMany>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        missing: Option<Missing>,
    },
    FileContent {
        /// One glob or a list of globs; every matching file is read.
        path: OneOrMany,
        pattern: String,
        #[serde(rename = "match")]
        line_match: LineMatch,
        /// Only lines matching this regex are judged (the lines that set the setting).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lines: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        includes: Option<IncludeSyntax>,
        #[serde(default = "default_true")]
        ignore_comments: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        missing: Option<Missing>,
    },
    ConfigValue {
        path: String,
        format: ConfigFormat,
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dropins: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
    Pam {
        service: String,
        #[serde(rename = "type")]
        pam_type: String,
        module: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arg: Option<String>,
    },
    Sysctl {
        key: String,
    },
    KernelModule {
        module: String,
    },
    Mount {
        path: String,
        #[serde(default)]
        options: Vec<String>,
        #[serde(default)]
        require_separate: bool,
    },
    PackageInstalled {
        name: OneOrMany,
    },
    PackageAbsent {
        name: OneOrMany,
    },
    ServiceState {
        name: OneOrMany,
    },
    /// Linux: a banner file (`path`). Windows: no path; the legal notice caption and text.
    LoginBanner {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        #[serde(default = "default_true")]
        require_text: bool,
    },
    Accounts {
        rule: AccountRule,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
    },
    AuditRule {
        rule: String,
    },
    FsWalk {
        find: WalkFinding,
        #[serde(default)]
        allow: Vec<String>,
    },
    /// Every socket of `family` listening on a non-loopback address has a rule naming its
    /// protocol and port in the saved rules (`rules`: files in iptables-save syntax, such as
    /// ufw's user.rules or iptables-persistent's rules.v4). Live hosts only: the sockets come
    /// from the running kernel.
    ListeningPorts {
        family: AddressFamily,
        rules: OneOrMany,
    },
    /// Windows: a registry value (`reg query`).
    RegistryValue {
        key: String,
        name: String,
    },
    /// Windows: a setting of the local security policy (`secedit /export`).
    SecurityPolicy {
        section: String,
        key: String,
    },
    /// Windows: the inclusion setting of an advanced audit policy subcategory (`auditpol`).
    AuditPolicy {
        subcategory: String,
    },
    /// Evaluated by the server from the host's software inventory: passes when an installed
    /// package's name matches (case-insensitive; `*` and `?` wildcards).
    SoftwareInstalled {
        name: String,
    },
    /// Evaluated by the server from the host's service inventory: passes when the service
    /// exists (case-insensitive name) and is running or active.
    ServiceRunning {
        name: String,
    },
    /// An XCCDF rule of the template's SCAP data stream, decided by OpenSCAP (templates with
    /// the `oscap` engine); Bulwark's own collectors report it as an error.
    XccdfRule {
        rule: String,
    },
    Command {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        argv: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shell: Option<String>,
        #[serde(default = "default_timeout")]
        timeout_secs: u64,
        #[serde(default)]
        output: CommandOutput,
    },
}

/// Whether a probe kind judges a collected value with an `expect`, or judges itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// The check's `expect` is required.
    NeedsExpectation,
    /// The check may give an `expect`; this one applies otherwise.
    DefaultExpectation(Expectation),
    /// The kind decides pass or fail itself; an `expect` is an error.
    SelfJudged,
    /// The kind decides pass or fail itself; an `expect`, if the check gives one, must also
    /// hold for what it found (package_installed: the installed version).
    OptionalExpectation,
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::FileExists { .. } => "file_exists",
            Probe::FilePermissions { .. } => "file_permissions",
            Probe::FileContent { .. } => "file_content",
            Probe::ConfigValue { .. } => "config_value",
            Probe::Pam { .. } => "pam",
            Probe::Sysctl { .. } => "sysctl",
            Probe::KernelModule { .. } => "kernel_module",
            Probe::Mount { .. } => "mount",
            Probe::PackageInstalled { .. } => "package_installed",
            Probe::PackageAbsent { .. } => "package_absent",
            Probe::ServiceState { .. } => "service_state",
            Probe::LoginBanner { .. } => "login_banner",
            Probe::Accounts { .. } => "accounts",
            Probe::AuditRule { .. } => "audit_rule",
            Probe::FsWalk { .. } => "fs_walk",
            Probe::ListeningPorts { .. } => "listening_ports",
            Probe::Command { .. } => "command",
            Probe::RegistryValue { .. } => "registry_value",
            Probe::SecurityPolicy { .. } => "security_policy",
            Probe::AuditPolicy { .. } => "audit_policy",
            Probe::SoftwareInstalled { .. } => "software_installed",
            Probe::ServiceRunning { .. } => "service_running",
            Probe::XccdfRule { .. } => "xccdf_rule",
        }
    }

    /// Kinds the server evaluates from the inventory the agent already syncs; agents skip
    /// them.
    pub fn server_evaluated(&self) -> bool {
        matches!(
            self,
            Probe::SoftwareInstalled { .. } | Probe::ServiceRunning { .. }
        )
    }

    /// The operating system a kind reads, or `None` for kinds with a collector on each.
    pub fn os(&self) -> Option<OsKind> {
        match self {
            Probe::RegistryValue { .. }
            | Probe::SecurityPolicy { .. }
            | Probe::AuditPolicy { .. } => Some(OsKind::Windows),
            Probe::ServiceState { .. }
            | Probe::LoginBanner { .. }
            | Probe::Command { .. }
            | Probe::SoftwareInstalled { .. }
            | Probe::ServiceRunning { .. }
            | Probe::XccdfRule { .. } => None,
            _ => Some(OsKind::Linux),
        }
    }

    pub fn judgement(&self) -> Judgement {
        match self {
            Probe::FileExists { .. } => {
                Judgement::DefaultExpectation(Expectation::new(Operator::Exists, None))
            }
            Probe::ConfigValue { .. }
            | Probe::Pam { .. }
            | Probe::Sysctl { .. }
            | Probe::ServiceState { .. }
            | Probe::Command { .. }
            | Probe::RegistryValue { .. }
            | Probe::SecurityPolicy { .. }
            | Probe::AuditPolicy { .. } => Judgement::NeedsExpectation,
            Probe::PackageInstalled { .. } => Judgement::OptionalExpectation,
            _ => Judgement::SelfJudged,
        }
    }

    /// Problems with the parameters that serde cannot see: bad regexes, bad modes, missing
    /// limits, relative paths.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        // `~/` stands for every login account's home directory (file kinds only).
        let mut absolute = |what: &str, p: &str| {
            if !p.starts_with('/') && !p.starts_with("~/") {
                problems.push(format!(
                    "{what} must be an absolute path (or ~/ for every home directory), got {p:?}"
                ));
            }
        };
        match self {
            Probe::FileExists { path } | Probe::Mount { path, .. } => absolute("path", path),
            Probe::LoginBanner { path, .. } => {
                if let Some(path) = path {
                    absolute("path", path);
                }
            }
            Probe::RegistryValue { key, name } => {
                let hive = key.split('\\').next().unwrap_or_default();
                if !(hive.eq_ignore_ascii_case("HKLM")
                    || hive.eq_ignore_ascii_case("HKEY_LOCAL_MACHINE"))
                    || key.split('\\').nth(1).is_none_or(|k| k.trim().is_empty())
                {
                    problems.push(format!(
                        "key must be a key under HKLM\\ (or HKEY_LOCAL_MACHINE\\), got {key:?}"
                    ));
                }
                if key.contains('/') {
                    problems.push(format!("key separates names with \\, not /, got {key:?}"));
                }
                if name.trim().is_empty() {
                    problems.push("name (the value name) must not be empty".into());
                }
            }
            Probe::SecurityPolicy { section, key } => {
                if !SECEDIT_SECTIONS.contains(&section.as_str()) {
                    problems.push(format!(
                        "unknown security policy section {section:?}; use one of: {}",
                        SECEDIT_SECTIONS.join(", ")
                    ));
                }
                if key.trim().is_empty() {
                    problems.push("key must not be empty".into());
                }
            }
            Probe::AuditPolicy { subcategory } => {
                if subcategory.trim().is_empty() || subcategory.contains(',') {
                    problems.push(format!(
                        "subcategory must be an audit subcategory name such as \"Credential Validation\", got {subcategory:?}"
                    ));
                }
            }
            Probe::FilePermissions {
                path,
                path_from,
                containing,
                max_mode,
                owner,
                group,
                ..
            } => {
                absolute("path", path);
                if let Some(from) = path_from {
                    absolute("path_from.file", &from.file);
                    if from.format == ConfigFormat::Systemd {
                        problems.push(
                            "path_from reads sshd, space or equals files, not systemd units".into(),
                        );
                    }
                }
                if let Some(re) = containing
                    && let Err(e) = regex::Regex::new(re)
                {
                    problems.push(format!("invalid containing regex {re:?}: {e}"));
                }
                if let Some(mode) = max_mode
                    && parse_mode(mode).is_none()
                {
                    problems.push(format!(
                        "max_mode must be an octal mode like \"0644\", got {mode:?}"
                    ));
                }
                if max_mode.is_none() && owner.is_none() && group.is_none() {
                    problems.push("file_permissions needs max_mode, owner or group".into());
                }
            }
            Probe::FileContent {
                path,
                pattern,
                lines,
                ..
            } => {
                for p in path.to_vec() {
                    absolute("path", &p);
                }
                if let Err(e) = regex::Regex::new(pattern) {
                    problems.push(format!("invalid pattern {pattern:?}: {e}"));
                }
                if let Some(lines) = lines
                    && let Err(e) = regex::Regex::new(lines)
                {
                    problems.push(format!("invalid lines regex {lines:?}: {e}"));
                }
            }
            Probe::ConfigValue {
                path,
                format,
                section,
                dropins,
                ..
            } => {
                absolute("path", path);
                if let Some(d) = dropins {
                    absolute("dropins", d);
                }
                match (format, section) {
                    (ConfigFormat::Systemd, None) => {
                        problems.push("format systemd needs a section".into())
                    }
                    (ConfigFormat::Systemd, Some(_)) | (_, None) => {}
                    (_, Some(_)) => problems.push("section is only for format systemd".into()),
                }
            }
            Probe::Pam {
                service,
                pam_type,
                module,
                ..
            } => {
                if service.contains('/') {
                    problems.push(format!(
                        "service is a file name under /etc/pam.d, got {service:?}"
                    ));
                }
                if !["auth", "account", "password", "session"].contains(&pam_type.as_str()) {
                    problems.push(format!(
                        "type must be auth, account, password or session, got {pam_type:?}"
                    ));
                }
                if !module.ends_with(".so") {
                    problems.push(format!("module should name a .so file, got {module:?}"));
                }
            }
            Probe::Sysctl { key } => {
                if key.is_empty() || key.contains('/') || key.contains("..") {
                    problems.push(format!("invalid sysctl key {key:?}"));
                }
            }
            Probe::KernelModule { module } => {
                if module.is_empty() || module.contains(['/', ' ']) {
                    problems.push(format!("invalid module name {module:?}"));
                }
            }
            Probe::Accounts { rule, max, min } => match (rule.limit_param(), max, min) {
                (Some("max"), None, _) => problems.push(format!("rule {rule:?} needs max")),
                (Some("min"), _, None) => problems.push(format!("rule {rule:?} needs min")),
                (None, Some(_), _) | (None, _, Some(_)) => {
                    problems.push(format!("rule {rule:?} takes no max or min"))
                }
                _ => {}
            },
            Probe::AuditRule { rule } => {
                if !(rule.starts_with("-w ") || rule.starts_with("-a ")) {
                    problems.push(format!("audit rule must start with -w or -a, got {rule:?}"));
                }
            }
            Probe::FsWalk { .. } => {}
            Probe::ListeningPorts { rules, .. } => {
                for p in rules.to_vec() {
                    if !p.starts_with('/') {
                        problems.push(format!("rules must be absolute paths, got {p:?}"));
                    }
                }
            }
            Probe::XccdfRule { rule } => {
                if !rule.starts_with("xccdf_") {
                    problems.push(format!(
                        "{rule:?} is not an XCCDF 1.2 rule id (xccdf_<namespace>_rule_<name>)"
                    ));
                }
            }
            Probe::SoftwareInstalled { name } | Probe::ServiceRunning { name } => {
                if name.trim().is_empty() {
                    problems.push("name must not be empty".into());
                }
            }
            Probe::Command { argv, shell, .. } => match (argv, shell) {
                (Some(a), None) if a.is_empty() => problems.push("argv is empty".into()),
                (Some(_), None) | (None, Some(_)) => {}
                _ => problems.push("command needs exactly one of argv and shell".into()),
            },
            Probe::PackageInstalled { name }
            | Probe::PackageAbsent { name }
            | Probe::ServiceState { name } => {
                if name.to_vec().iter().any(|n| n.is_empty()) {
                    problems.push("name must not be empty".into());
                }
            }
        }
        problems
    }
}

/// What a `listening_ports` check asks for, in words, for reports.
pub const LISTENING_PORTS_EXPECTED: &str =
    "a saved firewall rule for every port listening beyond loopback";

/// The sections of the file `secedit /export` writes that a `security_policy` check may read.
pub const SECEDIT_SECTIONS: [&str; 12] = [
    "System Access",
    "Event Audit",
    "Kerberos Policy",
    "Registry Values",
    "Privilege Rights",
    "Service General Setting",
    "Registry Keys",
    "File Security",
    "Group Membership",
    "System Log",
    "Security Log",
    "Application Log",
];

/// Parses an octal mode such as "0644" or "644".
pub fn parse_mode(mode: &str) -> Option<u32> {
    if mode.is_empty() || mode.len() > 5 {
        return None;
    }
    u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_octal() {
        assert_eq!(parse_mode("0644"), Some(0o644));
        assert_eq!(parse_mode("600"), Some(0o600));
        assert_eq!(parse_mode("1777"), Some(0o1777));
        assert_eq!(parse_mode("0899"), None);
        assert_eq!(parse_mode("rw-r--r--"), None);
    }

    #[test]
    fn probe_problems_are_named() {
        let cases: Vec<(Probe, &str)> = vec![
            (
                Probe::FileExists {
                    path: "etc/passwd".into(),
                },
                "path must be an absolute path",
            ),
            (
                Probe::FileContent {
                    path: OneOrMany::One("/etc/x".into()),
                    pattern: "(".into(),
                    line_match: LineMatch::Any,
                    lines: None,
                    includes: None,
                    ignore_comments: true,
                    missing: None,
                },
                "invalid pattern",
            ),
            (
                Probe::FileContent {
                    path: OneOrMany::One("/etc/x".into()),
                    pattern: "x".into(),
                    line_match: LineMatch::All,
                    lines: Some("[".into()),
                    includes: None,
                    ignore_comments: true,
                    missing: None,
                },
                "invalid lines regex",
            ),
            (
                Probe::FilePermissions {
                    path: "/var/log/audit".into(),
                    path_from: Some(PathFrom {
                        file: "etc/audit/auditd.conf".into(),
                        format: ConfigFormat::Equals,
                        key: "log_file".into(),
                        take: PathTake::Directory,
                    }),
                    containing: None,
                    max_mode: Some("0750".into()),
                    owner: None,
                    group: None,
                    missing: None,
                },
                "path_from.file must be an absolute path",
            ),
            (
                Probe::FilePermissions {
                    path: "/etc/ssh/*".into(),
                    path_from: None,
                    containing: Some("(".into()),
                    max_mode: Some("0600".into()),
                    owner: None,
                    group: None,
                    missing: None,
                },
                "invalid containing regex",
            ),
            (
                Probe::Accounts {
                    rule: AccountRule::MaxDays,
                    max: None,
                    min: None,
                },
                "needs max",
            ),
            (
                Probe::Command {
                    argv: None,
                    shell: None,
                    timeout_secs: 1,
                    output: CommandOutput::Stdout,
                },
                "exactly one of argv and shell",
            ),
            (
                Probe::AuditRule {
                    rule: "-k identity".into(),
                },
                "must start with -w or -a",
            ),
            (
                Probe::RegistryValue {
                    key: r"HKCU\Software\X".into(),
                    name: "V".into(),
                },
                "key must be a key under HKLM",
            ),
            (
                Probe::RegistryValue {
                    key: r"HKLM\".into(),
                    name: "V".into(),
                },
                "key must be a key under HKLM",
            ),
            (
                Probe::RegistryValue {
                    key: r"hklm\SOFTWARE\X".into(),
                    name: " ".into(),
                },
                "name (the value name) must not be empty",
            ),
            (
                Probe::SecurityPolicy {
                    section: "Password Policy".into(),
                    key: "MinimumPasswordLength".into(),
                },
                "unknown security policy section \"Password Policy\"",
            ),
            (
                Probe::SecurityPolicy {
                    section: "System Access".into(),
                    key: "".into(),
                },
                "key must not be empty",
            ),
            (
                Probe::AuditPolicy {
                    subcategory: "".into(),
                },
                "subcategory must be an audit subcategory name",
            ),
        ];
        for (probe, want) in cases {
            let problems = probe.problems();
            assert!(
                problems.iter().any(|p| p.contains(want)),
                "{probe:?}: {problems:?}"
            );
        }
    }
}
