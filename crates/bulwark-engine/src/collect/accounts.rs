//! Local accounts from /etc/passwd, /etc/group, /etc/shadow and login.defs, and the
//! `accounts` rules judged on them.

use std::collections::{BTreeMap, HashMap, HashSet};

use bulwark_core::CheckOutcome;
use bulwark_core::probe::AccountRule;

use crate::host::HostRoot;

/// System accounts that traditionally keep GID 0 as their primary group.
const GID_ZERO_ALLOWED: [&str; 4] = ["sync", "shutdown", "halt", "operator"];

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub password: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Shadow {
    pub name: String,
    pub hash: String,
    pub last_change: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub warn: Option<i64>,
    pub inactive: Option<i64>,
}

#[derive(Debug, Default)]
pub struct Accounts {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub shadow: Vec<Shadow>,
    /// Files that could not be read, with the reason; rules needing them report an error.
    pub problems: BTreeMap<&'static str, String>,
    pub uid_min: u32,
    /// The login shells /etc/shells lists; None when the file does not exist.
    pub shells: Option<Vec<String>>,
    uid_names: HashMap<u32, String>,
    gid_names: HashMap<u32, String>,
}

fn field(parts: &[&str], i: usize) -> Option<i64> {
    parts.get(i).and_then(|s| s.trim().parse().ok())
}

impl Accounts {
    pub fn load(host: &HostRoot) -> Self {
        let mut accounts = Accounts {
            uid_min: 1000,
            ..Default::default()
        };
        let mut read = |path: &'static str| match host.read(path) {
            Ok(Some(text)) => text,
            Ok(None) => {
                accounts
                    .problems
                    .insert(path, format!("{path} does not exist"));
                String::new()
            }
            Err(e) => {
                accounts.problems.insert(path, e.to_string());
                String::new()
            }
        };
        let passwd = read("/etc/passwd");
        let group = read("/etc/group");
        let shadow = read("/etc/shadow");
        for line in passwd
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let p: Vec<&str> = line.split(':').collect();
            if p.len() < 7 {
                continue;
            }
            let (Ok(uid), Ok(gid)) = (p[2].parse(), p[3].parse()) else {
                continue;
            };
            accounts.users.push(User {
                name: p[0].into(),
                password: p[1].into(),
                uid,
                gid,
                home: p[5].into(),
                shell: p[6].into(),
            });
        }
        for line in group
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let p: Vec<&str> = line.split(':').collect();
            if p.len() < 4 {
                continue;
            }
            let Ok(gid) = p[2].parse() else { continue };
            let members = p[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect();
            accounts.groups.push(Group {
                name: p[0].into(),
                gid,
                members,
            });
        }
        for line in shadow.lines().filter(|l| !l.trim().is_empty()) {
            let p: Vec<&str> = line.split(':').collect();
            if p.len() < 2 {
                continue;
            }
            accounts.shadow.push(Shadow {
                name: p[0].into(),
                hash: p[1].into(),
                last_change: field(&p, 2),
                min: field(&p, 3),
                max: field(&p, 4),
                warn: field(&p, 5),
                inactive: field(&p, 6),
            });
        }
        if let Ok(Some(text)) = host.read("/etc/shells") {
            accounts.shells = Some(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned)
                    .collect(),
            );
        }
        if let Ok(Some(defs)) = host.read("/etc/login.defs") {
            for line in defs.lines() {
                let mut words = line.split_whitespace();
                if words.next() == Some("UID_MIN")
                    && let Some(v) = words.next().and_then(|v| v.parse().ok())
                {
                    accounts.uid_min = v;
                }
            }
        }
        for u in &accounts.users {
            accounts
                .uid_names
                .entry(u.uid)
                .or_insert_with(|| u.name.clone());
        }
        for g in &accounts.groups {
            accounts
                .gid_names
                .entry(g.gid)
                .or_insert_with(|| g.name.clone());
        }
        accounts
    }

    pub fn user_name(&self, uid: u32) -> String {
        self.uid_names
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }

    pub fn group_name(&self, gid: u32) -> String {
        self.gid_names
            .get(&gid)
            .cloned()
            .unwrap_or_else(|| gid.to_string())
    }

    pub fn has_uid(&self, uid: u32) -> bool {
        self.uid_names.contains_key(&uid)
    }

    pub fn has_gid(&self, gid: u32) -> bool {
        self.gid_names.contains_key(&gid)
    }

    fn needs(&self, files: &[&'static str]) -> Result<(), String> {
        let missing: Vec<&String> = files.iter().filter_map(|f| self.problems.get(f)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.into_iter().cloned().collect::<Vec<_>>().join("; "))
        }
    }

    /// Shadow entries whose password can be used to log in.
    fn usable(&self) -> impl Iterator<Item = &Shadow> {
        self.shadow
            .iter()
            .filter(|s| !s.hash.starts_with('!') && !s.hash.starts_with('*') && !s.hash.is_empty())
    }

    fn shadow_of(&self, name: &str) -> Option<&Shadow> {
        self.shadow.iter().find(|s| s.name == name)
    }

    /// Whether a shell lets its account log in: listed in /etc/shells (when the file exists)
    /// and not nologin or false.
    fn valid_shell(&self, shell: &str) -> bool {
        let refused = shell.is_empty() || shell.ends_with("/nologin") || shell.ends_with("/false");
        !refused
            && self
                .shells
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == shell))
    }
}

/// Whether a password field is locked the way `passwd -S` reports `L`: it starts with `!` or `*`.
fn locked(hash: &str) -> bool {
    hash.starts_with('!') || hash.starts_with('*')
}

/// Today as a number of days since 1970-01-01, the unit of /etc/shadow's date fields.
fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            i64::try_from(d.as_secs() / 86_400).unwrap_or(i64::MAX)
        })
}

fn duplicates<'a>(items: impl Iterator<Item = (String, &'a str)>) -> Vec<String> {
    let mut seen: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (key, name) in items {
        seen.entry(key).or_default().push(name);
    }
    seen.into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(key, names)| format!("{key}: {}", names.join(", ")))
        .collect()
}

pub fn judge(
    accounts: &Accounts,
    rule: AccountRule,
    max: Option<i64>,
    min: Option<i64>,
) -> CheckOutcome {
    use AccountRule::*;
    let expected = match rule {
        Uid0OnlyRoot => "only root has uid 0".to_string(),
        NoEmptyPasswords => "no account has an empty password field".into(),
        PasswordsShadowed => "every password field in /etc/passwd is x".into(),
        GroupsExist => "every primary group exists in /etc/group".into(),
        UniqueUids => "no two accounts share a uid".into(),
        UniqueGids => "no two groups share a gid".into(),
        UniqueUserNames => "no two accounts share a name".into(),
        UniqueGroupNames => "no two groups share a name".into(),
        RootGidZero => "root, and no other account, has primary group gid 0".into(),
        ShadowGroupEmpty => "the shadow group has no members".into(),
        MaxDays => format!(
            "maximum password age set and at most {} days",
            max.unwrap_or(0)
        ),
        MinDays => format!("minimum password age at least {} days", min.unwrap_or(0)),
        WarnDays => format!("password expiry warning at least {} days", min.unwrap_or(0)),
        Inactive => format!("inactivity lock set and at most {} days", max.unwrap_or(0)),
        SystemAccountsNologin => "system accounts have no login shell".into(),
        LastChangeInPast => "no password was last changed on a date after today".into(),
        Gid0OnlyRootGroup => "root is the only group with gid 0".into(),
        RootPasswordSet => "root has a usable password hash (not empty, not locked)".into(),
        RootPasswordNotEmpty => "root's password is set or locked, not empty".into(),
        NologinAccountsLocked => "accounts without a valid login shell are locked".into(),
    };
    let needed: &[&'static str] = match rule {
        NoEmptyPasswords | MaxDays | MinDays | WarnDays | Inactive | LastChangeInPast
        | RootPasswordSet | RootPasswordNotEmpty => &["/etc/shadow"],
        GroupsExist | ShadowGroupEmpty => &["/etc/passwd", "/etc/group"],
        UniqueGids | UniqueGroupNames | Gid0OnlyRootGroup => &["/etc/group"],
        NologinAccountsLocked => &["/etc/passwd", "/etc/shadow"],
        _ => &["/etc/passwd"],
    };
    if let Err(reason) = accounts.needs(needed) {
        return CheckOutcome::error(expected, reason);
    }
    let offenders: Vec<String> = match rule {
        Uid0OnlyRoot => accounts
            .users
            .iter()
            .filter(|u| u.uid == 0 && u.name != "root")
            .map(|u| u.name.clone())
            .collect(),
        NoEmptyPasswords => accounts
            .shadow
            .iter()
            .filter(|s| s.hash.is_empty())
            .map(|s| s.name.clone())
            .collect(),
        PasswordsShadowed => accounts
            .users
            .iter()
            .filter(|u| u.password != "x")
            .map(|u| u.name.clone())
            .collect(),
        GroupsExist => accounts
            .users
            .iter()
            .filter(|u| !accounts.has_gid(u.gid))
            .map(|u| format!("{} (gid {})", u.name, u.gid))
            .collect(),
        UniqueUids => duplicates(
            accounts
                .users
                .iter()
                .map(|u| (format!("uid {}", u.uid), u.name.as_str())),
        ),
        UniqueGids => duplicates(
            accounts
                .groups
                .iter()
                .map(|g| (format!("gid {}", g.gid), g.name.as_str())),
        ),
        UniqueUserNames => duplicates(
            accounts
                .users
                .iter()
                .map(|u| (u.name.clone(), u.name.as_str())),
        ),
        UniqueGroupNames => duplicates(
            accounts
                .groups
                .iter()
                .map(|g| (g.name.clone(), g.name.as_str())),
        ),
        // root's primary group is 0, and root is the only account whose primary group is 0
        // (sync, shutdown, halt and operator excepted, as the benchmark's audit has them).
        RootGidZero => accounts
            .users
            .iter()
            .filter(|u| {
                if u.name == "root" {
                    u.gid != 0
                } else {
                    u.gid == 0 && !GID_ZERO_ALLOWED.contains(&u.name.as_str())
                }
            })
            .map(|u| format!("{} (gid {})", u.name, u.gid))
            .collect(),
        ShadowGroupEmpty => {
            let shadow = accounts.groups.iter().find(|g| g.name == "shadow");
            let mut out: Vec<String> = shadow
                .map(|g| g.members.iter().map(|m| format!("{m} (member)")).collect())
                .unwrap_or_default();
            if let Some(g) = shadow {
                out.extend(
                    accounts
                        .users
                        .iter()
                        .filter(|u| u.gid == g.gid)
                        .map(|u| format!("{} (primary group)", u.name)),
                );
            }
            out
        }
        MaxDays => {
            let limit = max.unwrap_or(0);
            accounts
                .usable()
                .filter(|s| s.max.is_none_or(|m| m > limit))
                .map(|s| format!("{} (max {})", s.name, opt(s.max)))
                .collect()
        }
        MinDays => {
            let limit = min.unwrap_or(0);
            accounts
                .usable()
                .filter(|s| s.min.is_none_or(|m| m < limit))
                .map(|s| format!("{} (min {})", s.name, opt(s.min)))
                .collect()
        }
        WarnDays => {
            let limit = min.unwrap_or(0);
            accounts
                .usable()
                .filter(|s| s.warn.is_none_or(|m| m < limit))
                .map(|s| format!("{} (warn {})", s.name, opt(s.warn)))
                .collect()
        }
        Inactive => {
            let limit = max.unwrap_or(0);
            accounts
                .usable()
                .filter(|s| s.inactive.is_none_or(|m| m > limit))
                .map(|s| format!("{} (inactive {})", s.name, opt(s.inactive)))
                .collect()
        }
        SystemAccountsNologin => {
            let exempt: HashSet<&str> = ["root", "sync", "shutdown", "halt"].into();
            accounts
                .users
                .iter()
                .filter(|u| u.uid < accounts.uid_min && !exempt.contains(u.name.as_str()))
                .filter(|u| !(u.shell.ends_with("/nologin") || u.shell.ends_with("/false")))
                .map(|u| format!("{} ({})", u.name, u.shell))
                .collect()
        }
        // Accounts with a usable password whose last change lies after today: the password
        // ageing rules count from that date, so expiry would never arrive.
        LastChangeInPast => {
            let today = today();
            accounts
                .usable()
                .filter(|s| s.last_change.is_some_and(|d| d > today))
                .map(|s| {
                    format!(
                        "{} (changed on day {}, today is day {today})",
                        s.name,
                        opt(s.last_change)
                    )
                })
                .collect()
        }
        Gid0OnlyRootGroup => accounts
            .groups
            .iter()
            .filter(|g| g.gid == 0 && g.name != "root")
            .map(|g| format!("{} (gid 0)", g.name))
            .collect(),
        // `passwd -S root` must say P (Ubuntu), or P or L (Debian, RHEL: access controlled).
        RootPasswordSet | RootPasswordNotEmpty => match accounts.shadow_of("root") {
            None => vec!["root (no entry in /etc/shadow)".to_string()],
            Some(s) if s.hash.is_empty() => vec!["root (empty password)".to_string()],
            Some(s) if rule == RootPasswordSet && locked(&s.hash) => {
                vec!["root (password locked)".to_string()]
            }
            Some(_) => Vec::new(),
        },
        // Accounts other than root whose shell is not a valid login shell must be locked, as
        // `passwd -S` reports it (L: the password field starts with ! or *). Accounts without
        // a shadow entry have no password to lock and are not listed.
        NologinAccountsLocked => accounts
            .users
            .iter()
            .filter(|u| u.name != "root" && !accounts.valid_shell(&u.shell))
            .filter_map(|u| {
                let s = accounts.shadow_of(&u.name)?;
                (!locked(&s.hash)).then(|| {
                    let state = if s.hash.is_empty() {
                        "empty password"
                    } else {
                        "not locked"
                    };
                    format!("{} ({}, {state})", u.name, u.shell)
                })
            })
            .collect(),
    };
    let actual = if offenders.is_empty() {
        "none".to_string()
    } else {
        offenders.join(", ")
    };
    CheckOutcome::judged(offenders.is_empty(), Some(actual), expected)
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "unset".to_string(), |v| v.to_string())
}
