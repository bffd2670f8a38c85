//! Per-scan caches: facts that many checks need (accounts, packages, unit files, modprobe and
//! sysctl configuration, audit rules, mounts, the filesystem walk; on Windows the recorded
//! registry, security policy, audit policy and services) are read once, on first use,
//! and shared. Each is a `Result` so that a broken file turns the checks that need it into
//! `error` outcomes with the reason, not the whole scan.

use std::sync::OnceLock;

use bulwark_core::HostOs;

use crate::collect::{accounts, audit, modules, mounts, packages, services, sysctl, walk};
use crate::host::HostRoot;
use crate::windows;

pub struct Facts {
    pub host: HostRoot,
    pub os: HostOs,
    accounts: OnceLock<accounts::Accounts>,
    login_homes: OnceLock<Vec<String>>,
    packages: OnceLock<Result<packages::Packages, String>>,
    units: OnceLock<services::Units>,
    modprobe: OnceLock<Result<modules::Modprobe, String>>,
    sysctl: OnceLock<Result<sysctl::Persisted, String>>,
    audit: OnceLock<Result<audit::Rules, String>>,
    mounts: OnceLock<Result<mounts::Mounts, String>>,
    walk: OnceLock<walk::Findings>,
    registry: OnceLock<Result<windows::registry::Registry, String>>,
    secedit: OnceLock<Result<windows::secedit::SecurityPolicy, String>>,
    auditpol: OnceLock<Result<windows::auditpol::AuditPolicy, String>>,
    win_services: OnceLock<Result<windows::services::Services, String>>,
}

impl Facts {
    pub fn new(host: HostRoot, os: HostOs) -> Self {
        Facts {
            host,
            os,
            accounts: OnceLock::new(),
            login_homes: OnceLock::new(),
            packages: OnceLock::new(),
            units: OnceLock::new(),
            modprobe: OnceLock::new(),
            sysctl: OnceLock::new(),
            audit: OnceLock::new(),
            mounts: OnceLock::new(),
            walk: OnceLock::new(),
            registry: OnceLock::new(),
            secedit: OnceLock::new(),
            auditpol: OnceLock::new(),
            win_services: OnceLock::new(),
        }
    }

    /// The host paths a content path names: a glob under the root, or with a leading `~/`,
    /// that path in the home directory of every account that can log in (a shell listed in
    /// /etc/shells, or any that is not nologin or false where the file is missing), root's
    /// included, as the benchmark's audits walk /etc/passwd rather than /home.
    pub fn paths(&self, pattern: &str) -> Vec<String> {
        let Some(rest) = pattern.strip_prefix("~/") else {
            return self.host.glob(pattern);
        };
        let mut found: Vec<String> = self
            .login_homes()
            .iter()
            .flat_map(|home| self.host.glob(&format!("{home}/{rest}")))
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// The home directories of the accounts that can log in, read once per scan.
    fn login_homes(&self) -> &[String] {
        self.login_homes.get_or_init(|| {
            let shells: Option<Vec<String>> =
                self.host.read("/etc/shells").ok().flatten().map(|t| {
                    t.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(str::to_owned)
                        .collect()
                });
            let can_log_in = |shell: &str| {
                let refused =
                    shell.ends_with("nologin") || shell.ends_with("/false") || shell.is_empty();
                !refused && shells.as_ref().is_none_or(|s| s.iter().any(|x| x == shell))
            };
            let mut homes: Vec<String> = self
                .accounts()
                .users
                .iter()
                .filter(|u| can_log_in(&u.shell) && u.home.starts_with('/') && u.home != "/")
                .map(|u| u.home.trim_end_matches('/').to_owned())
                .collect();
            homes.sort_unstable();
            homes.dedup();
            homes
        })
    }

    pub fn accounts(&self) -> &accounts::Accounts {
        self.accounts
            .get_or_init(|| accounts::Accounts::load(&self.host))
    }

    pub fn packages(&self) -> Result<&packages::Packages, &str> {
        self.packages
            .get_or_init(|| packages::Packages::load(&self.host))
            .as_ref()
            .map_err(|e| e.as_str())
    }

    pub fn units(&self) -> &services::Units {
        self.units.get_or_init(|| services::Units::load(&self.host))
    }

    pub fn modprobe(&self) -> Result<&modules::Modprobe, &str> {
        self.modprobe
            .get_or_init(|| modules::Modprobe::load(&self.host))
            .as_ref()
            .map_err(|e| e.as_str())
    }

    pub fn sysctl(&self) -> Result<&sysctl::Persisted, &str> {
        self.sysctl
            .get_or_init(|| sysctl::Persisted::load(&self.host))
            .as_ref()
            .map_err(|e| e.as_str())
    }

    pub fn audit_rules(&self) -> Result<&audit::Rules, &str> {
        self.audit
            .get_or_init(|| audit::Rules::load(&self.host))
            .as_ref()
            .map_err(|e| e.as_str())
    }

    pub fn mounts(&self) -> Result<&mounts::Mounts, &str> {
        self.mounts
            .get_or_init(|| mounts::Mounts::load(&self.host))
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// Windows: the recorded `reg query` outputs.
    pub fn registry(&self) -> Result<&windows::registry::Registry, &str> {
        self.registry
            .get_or_init(|| {
                windows::read_evidence(&self.host, windows::REGISTRY_FILE)
                    .map(|t| windows::registry::Registry::parse(&t))
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// Windows: the exported local security policy.
    pub fn security_policy(&self) -> Result<&windows::secedit::SecurityPolicy, &str> {
        self.secedit
            .get_or_init(|| {
                windows::read_evidence(&self.host, windows::SECEDIT_FILE)
                    .map(|t| windows::secedit::SecurityPolicy::parse(&t))
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// Windows: the recorded audit policy.
    pub fn audit_policy(&self) -> Result<&windows::auditpol::AuditPolicy, &str> {
        self.auditpol
            .get_or_init(|| {
                windows::read_evidence(&self.host, windows::AUDITPOL_FILE)
                    .and_then(|t| windows::auditpol::AuditPolicy::parse(&t))
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// Windows: the recorded service configurations.
    pub fn windows_services(&self) -> Result<&windows::services::Services, &str> {
        self.win_services
            .get_or_init(|| {
                windows::read_evidence(&self.host, windows::SERVICES_FILE)
                    .map(|t| windows::services::Services::parse(&t))
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// The one filesystem walk shared by every `fs_walk` check.
    pub fn walk(&self) -> &walk::Findings {
        self.walk.get_or_init(|| walk::Findings::collect(self))
    }

    /// Whether the walk already ran (for timings and benchmarks).
    pub fn walked(&self) -> bool {
        self.walk.get().is_some()
    }
}
