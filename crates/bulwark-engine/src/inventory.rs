//! A host's inventory for the server's host pages and server-evaluated checks. What lives in
//! files (OS, accounts, packages, units, cron, resolver, firewall and encryption settings) is
//! read under the [`HostRoot`], so an offline root gets the same inventory the host itself
//! would; what exists only on a running system (processes, drives, interfaces, CPU and
//! memory) is read through `sysinfo` and only when the root is live.

use bulwark_core::inventory::*;
use bulwark_core::{HostInventory, OsKind};

use std::collections::BTreeMap;

use crate::collect::accounts::Accounts;
use crate::collect::packages::Packages;
use crate::collect::service_state;
use crate::collect::services::Units;
use crate::host::{HostRoot, RootError};

/// Groups whose members administer a Linux host.
const ADMIN_GROUPS: [&str; 4] = ["sudo", "wheel", "admin", "root"];

pub fn collect(host: &HostRoot) -> Result<HostInventory, RootError> {
    // A running Windows system is read through the tools' outputs, as an evidence root is.
    if host.is_live() && cfg!(windows) {
        let evidence =
            crate::windows::live::LiveEvidence::record_inventory().map_err(|e| RootError::Io {
                path: crate::windows::EVIDENCE_DIR.into(),
                source: std::io::Error::other(e),
            })?;
        let mut inventory = collect(&evidence.root())?;
        inventory.system.architecture = std::env::consts::ARCH.into();
        inventory.system.uptime_secs = sysinfo::System::uptime().ok();
        live(&mut inventory);
        return Ok(inventory);
    }
    let os = host.detect_os()?;
    let mut inventory = HostInventory {
        system: SystemInfo {
            hostname: crate::scan::hostname(host, &os),
            os_kind: os.kind.as_str().into(),
            os_id: os.id.clone(),
            os_version: os.version_id.clone(),
            os_name: os.pretty_name.clone(),
            kernel: kernel(host),
            architecture: if host.is_live() {
                std::env::consts::ARCH.into()
            } else {
                String::new()
            },
            uptime_secs: host
                .is_live()
                .then(sysinfo::System::uptime)
                .and_then(Result::ok),
        },
        ..Default::default()
    };
    if os.kind == OsKind::Windows {
        windows_inventory(host, &mut inventory);
        return Ok(inventory);
    }
    let accounts = Accounts::load(host);
    let units = Units::load(host);
    inventory.users = users(host, &accounts);
    inventory.groups = accounts
        .groups
        .iter()
        .map(|g| LocalGroup {
            name: g.name.clone(),
            gid: g.gid,
            members: g.members.clone(),
        })
        .collect();
    inventory.software = Packages::load(host)
        .map(|p| {
            p.iter()
                .map(|(name, version)| Software {
                    name: name.into(),
                    version: version.into(),
                })
                .collect()
        })
        .unwrap_or_default();
    inventory.software.sort_by(|a, b| a.name.cmp(&b.name));
    inventory.services = services(host, &units);
    inventory.startup = startup(host, &units);
    inventory.security = security(host, &units, &inventory.software);
    inventory.network = resolver(host);
    inventory.patches = crate::collect::history::patches(host);
    inventory.events = crate::collect::history::events(host);
    if host.is_live() {
        live(&mut inventory);
    }
    Ok(inventory)
}

/// Software and services from a Windows evidence root; left empty where the evidence was
/// not recorded.
fn windows_inventory(host: &HostRoot, inventory: &mut HostInventory) {
    use crate::windows::{self, registry::Registry};
    let evidence = |file: &str| windows::read_evidence(host, file).ok();
    if let Some(text) = evidence(windows::SOFTWARE_FILE) {
        inventory.software = windows::inventory::software(&Registry::parse(&text));
    }
    if let Some(states) = evidence(windows::SERVICE_STATES_FILE) {
        let starts = evidence(windows::SERVICE_STARTS_FILE).unwrap_or_default();
        inventory.services = windows::inventory::services(&states, &starts);
    }
}

fn read(host: &HostRoot, path: &str) -> String {
    host.read(path).ok().flatten().unwrap_or_default()
}

fn kernel(host: &HostRoot) -> String {
    if host.is_live() {
        return read(host, "/proc/sys/kernel/osrelease").trim().to_owned();
    }
    // Offline, the newest installed kernel's module directory names it.
    let mut kernels: Vec<String> = host
        .glob("/lib/modules/*")
        .into_iter()
        .filter_map(|p| p.rsplit('/').next().map(str::to_owned))
        .collect();
    kernels.sort_by(|a, b| bulwark_core::version::compare(a, b));
    kernels.pop().unwrap_or_default()
}

fn users(host: &HostRoot, accounts: &Accounts) -> Vec<LocalUser> {
    let admins: Vec<&str> = accounts
        .groups
        .iter()
        .filter(|g| ADMIN_GROUPS.contains(&g.name.as_str()))
        .flat_map(|g| g.members.iter().map(String::as_str))
        .collect();
    let lastlog = host
        .read_bytes("/var/log/lastlog")
        .ok()
        .flatten()
        .unwrap_or_default();
    accounts
        .users
        .iter()
        .map(|u| {
            let shadow = accounts.shadow.iter().find(|s| s.name == u.name);
            let expires = shadow.and_then(|s| match (s.last_change, s.max) {
                (Some(changed), Some(max)) if max < 99_999 => Some((changed + max) * 86_400),
                _ => None,
            });
            LocalUser {
                name: u.name.clone(),
                uid: u.uid,
                admin: u.uid == 0 || admins.contains(&u.name.as_str()),
                shell: u.shell.clone(),
                home: u.home.clone(),
                last_login: last_login(&lastlog, u.uid),
                password_expires: expires,
                locked: shadow.is_some_and(|s| s.hash.starts_with('!') || s.hash.starts_with('*')),
            }
        })
        .collect()
}

/// lastlog is an array indexed by uid of 292-byte records whose first 4 bytes are the time.
fn last_login(lastlog: &[u8], uid: u32) -> Option<i64> {
    const RECORD: usize = 292;
    let at = (uid as usize).checked_mul(RECORD)?;
    let bytes: [u8; 4] = lastlog.get(at..at + 4)?.try_into().ok()?;
    let time = i32::from_le_bytes(bytes);
    (time > 0).then_some(i64::from(time))
}

/// Every service unit, and every SysV init script without one; files tell how each starts,
/// the running system (when the root is live) whether it runs.
fn services(host: &HostRoot, units: &Units) -> Vec<Service> {
    let mut start_types: BTreeMap<String, String> = units
        .names()
        .into_iter()
        .filter(|n| n.ends_with(".service") && !n.contains('@'))
        .map(|unit| {
            let name = unit.trim_end_matches(".service").to_owned();
            (name, units.state(host, unit).to_owned())
        })
        .collect();
    for script in service_state::init_script_names(host) {
        start_types.entry(script).or_insert_with(|| "sysv".into());
    }
    let names: Vec<String> = start_types.keys().cloned().collect();
    let mut observed = service_state::observe(host, &names);
    start_types
        .into_iter()
        .map(|(name, start_type)| {
            let seen = observed.remove(&name).expect("observe answers every name");
            Service {
                name,
                state: seen.state,
                start_type,
                state_source: seen.source,
            }
        })
        .collect()
}

fn startup(host: &HostRoot, units: &Units) -> Vec<StartupItem> {
    let mut items: Vec<StartupItem> = units
        .names()
        .into_iter()
        .filter(|n| units.state(host, n) == "enabled")
        .map(|n| StartupItem {
            kind: "systemd".into(),
            name: n.into(),
            detail: "enabled".into(),
        })
        .collect();
    let mut cron_files = vec!["/etc/crontab".to_owned()];
    cron_files.extend(host.glob("/etc/cron.d/*"));
    cron_files.extend(host.glob("/var/spool/cron/crontabs/*"));
    cron_files.extend(host.glob("/var/spool/cron/*"));
    for file in cron_files {
        for line in read(host, &file).lines().map(str::trim) {
            let is_job = !line.is_empty()
                && !line.starts_with('#')
                && (line.starts_with('@')
                    || line.starts_with(|c: char| c.is_ascii_digit() || c == '*'));
            if is_job {
                items.push(StartupItem {
                    kind: "cron".into(),
                    name: file.clone(),
                    detail: line.into(),
                });
            }
        }
    }
    items
}

fn security(host: &HostRoot, units: &Units, software: &[Software]) -> Security {
    let enabled = |unit: &str| units.state(host, unit) == "enabled";
    let ufw = read(host, "/etc/ufw/ufw.conf")
        .lines()
        .any(|l| l.trim().eq_ignore_ascii_case("ENABLED=yes"));
    let firewall = if ufw {
        "ufw enabled"
    } else if enabled("firewalld.service") {
        "firewalld enabled"
    } else if enabled("nftables.service") {
        "nftables enabled"
    } else if enabled("netfilter-persistent.service") || enabled("iptables.service") {
        "iptables enabled"
    } else if ["ufw", "firewalld", "nftables", "iptables"]
        .iter()
        .any(|p| software.iter().any(|s| s.name == *p))
    {
        "installed, not enabled"
    } else {
        "none"
    };
    let crypttab = read(host, "/etc/crypttab");
    let encrypted = crypttab
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    let root_device = read(host, "/etc/fstab")
        .lines()
        .map(str::split_whitespace)
        .filter_map(|mut f| Some((f.next()?.to_owned(), f.next()?.to_owned())))
        .find(|(_, mount)| mount == "/")
        .map(|(dev, _)| dev)
        .unwrap_or_default();
    let disk_encryption = match encrypted {
        0 => "none",
        _ if root_device.starts_with("/dev/mapper/") => "full",
        _ => "partial",
    };
    let selinux = read(host, "/etc/selinux/config")
        .lines()
        .find_map(|l| l.trim().strip_prefix("SELINUX=").map(str::to_owned));
    let mandatory_access_control = match selinux {
        Some(mode) if mode != "disabled" => format!("selinux {mode}"),
        _ if software.iter().any(|s| s.name == "apparmor") => "apparmor".into(),
        _ => "none".into(),
    };
    Security {
        firewall: firewall.into(),
        disk_encryption: disk_encryption.into(),
        mandatory_access_control,
    }
}

fn resolver(host: &HostRoot) -> Network {
    let mut network = Network::default();
    for line in read(host, "/etc/resolv.conf").lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => network.nameservers.extend(words.next().map(str::to_owned)),
            Some("search") | Some("domain") => {
                network.search_domains.extend(words.map(str::to_owned))
            }
            _ => {}
        }
    }
    network
}

/// Processes, drives, interfaces, CPU and memory of the running system.
fn live(inventory: &mut HostInventory) {
    use sysinfo::{Disks, Networks, ProcessRefreshKind, ProcessesToUpdate, System};

    // A platform sysinfo cannot read leaves these categories empty rather than failing the
    // whole inventory.
    let Ok(mut system) = System::new_all() else {
        return;
    };
    // CPU use is a difference between two readings.
    std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::everything(),
    );
    // A process runs as a uid, named by the accounts read above; on Windows as a SID.
    #[cfg(unix)]
    let process_user = |p: &sysinfo::Process| {
        p.user_id()
            .and_then(|uid| inventory.users.iter().find(|x| x.uid == **uid))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    // Named by its SID: resolving names means enumerating the system's accounts, which is
    // slow on domain members and unreliable under Windows layers such as Wine.
    #[cfg(not(unix))]
    let process_user =
        |p: &sysinfo::Process| p.user_id().map(|u| (**u).to_string()).unwrap_or_default();
    inventory.processes = system
        .processes()
        .values()
        .map(|p| Process {
            pid: p.pid().as_u32(),
            name: p.name().to_string_lossy().into_owned(),
            user: process_user(p),
            cpu_percent: f64::from(p.cpu_usage()),
            memory_bytes: p.memory(),
        })
        .collect();
    inventory.processes.sort_by_key(|p| p.pid);
    let cpu = system.cpus().first();
    inventory.hardware = Hardware {
        vendor: dmi("sys_vendor"),
        model: dmi("product_name"),
        serial: dmi("product_serial"),
        bios_vendor: dmi("bios_vendor"),
        bios_version: dmi("bios_version"),
        cpu_model: cpu.map(|c| c.brand().trim().to_owned()).unwrap_or_default(),
        cpu_cores: system.cpus().len() as u32,
        cpu_mhz: cpu.map(|c| c.frequency() as f64).filter(|f| *f > 0.0),
        memory_bytes: Some(system.total_memory()),
    };
    let disks = Disks::new_with_refreshed_list();
    inventory.drives = disks
        .iter()
        .flat_map(|d| d.iter())
        .map(|d| {
            let total = d.total_space();
            let used = total.saturating_sub(d.available_space());
            Drive {
                mount: d.mount_point().display().to_string(),
                device: d.name().to_string_lossy().into_owned(),
                fs_type: d.file_system().to_string_lossy().into_owned(),
                total_bytes: total,
                used_bytes: used,
                used_percent: if total == 0 {
                    0.0
                } else {
                    (used as f64 * 1000.0 / total as f64).round() / 10.0
                },
            }
        })
        .collect();
    let networks = Networks::new_with_refreshed_list();
    let mut interfaces: Vec<Interface> = networks
        .iter()
        .flat_map(|n| n.iter())
        .map(|(name, data)| (name.to_string_lossy().into_owned(), data))
        .map(|(name, data)| Interface {
            mac: data.mac_address().to_string(),
            addresses: data
                .ip_networks()
                .iter()
                .map(|n| format!("{}/{}", n.addr, n.prefix))
                .collect(),
            up: std::fs::read_to_string(format!("/sys/class/net/{name}/operstate"))
                .is_ok_and(|s| s.trim() == "up" || s.trim() == "unknown"),
            name,
        })
        .collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    inventory.network.interfaces = interfaces;
}

/// A DMI field of the running machine (empty when the platform has none or hides it).
fn dmi(field: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/dmi/id/{field}"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lastlog_records_are_indexed_by_uid() {
        let mut log = vec![0u8; 292 * 3];
        log[292 * 2..292 * 2 + 4].copy_from_slice(&1_700_000_000i32.to_le_bytes());
        assert_eq!(last_login(&log, 2), Some(1_700_000_000));
        assert_eq!(last_login(&log, 1), None, "never logged in");
        assert_eq!(last_login(&log, 9), None, "beyond the file");
    }
}
