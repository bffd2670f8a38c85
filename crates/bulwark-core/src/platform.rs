//! What a host is: its operating system kind and, on Linux, its distribution from os-release.
//! Overrides and platform restrictions in the content are matched against this.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version;

crate::text_enum! {
    /// The operating system family a host runs and a template is written for.
    pub enum OsKind as "OS type" {
        Linux = "linux",
        Windows = "windows",
        Darwin = "darwin",
    }
}

/// Distribution families whose facts differ in the benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Distro {
    Debian,
    Ubuntu,
    Rhel,
    Amzn,
}

impl Distro {
    pub const ALL: [Distro; 4] = [Distro::Debian, Distro::Ubuntu, Distro::Rhel, Distro::Amzn];

    pub fn as_str(self) -> &'static str {
        match self {
            Distro::Debian => "debian",
            Distro::Ubuntu => "ubuntu",
            Distro::Rhel => "rhel",
            Distro::Amzn => "amzn",
        }
    }

    pub fn parse(s: &str) -> Option<Distro> {
        Distro::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// os-release IDs of the RHEL family.
const RHEL_IDS: &[&str] = &["rhel", "centos", "rocky", "almalinux", "ol", "fedora"];

/// Exact os-release IDs an override may name besides the families.
pub const KNOWN_IDS: &[&str] = &[
    "debian",
    "ubuntu",
    "rhel",
    "centos",
    "rocky",
    "almalinux",
    "ol",
    "fedora",
    "amzn",
];

/// Reads an os-release file (`/etc/os-release`): the ID, ID_LIKE, VERSION_ID and PRETTY_NAME
/// a host gives of itself, with quotes removed. Anything else is ignored.
pub fn parse_os_release(text: &str) -> HostOs {
    let mut os = HostOs {
        kind: OsKind::Linux,
        id: "linux".into(),
        id_like: vec![],
        version_id: String::new(),
        pretty_name: String::new(),
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches('"')
            .trim_matches('\'')
            .to_string();
        match key.trim() {
            "ID" => os.id = value.to_lowercase(),
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_lowercase).collect(),
            "VERSION_ID" => os.version_id = value,
            "PRETTY_NAME" => os.pretty_name = value,
            _ => {}
        }
    }
    os
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HostOs {
    pub kind: OsKind,
    /// os-release `ID`, e.g. `debian`.
    pub id: String,
    /// os-release `ID_LIKE`, split.
    #[serde(default)]
    pub id_like: Vec<String>,
    /// os-release `VERSION_ID`, e.g. `12` or `22.04`.
    #[serde(default)]
    pub version_id: String,
    #[serde(default)]
    pub pretty_name: String,
}

impl HostOs {
    pub fn family(&self) -> Option<Distro> {
        let ids = std::iter::once(self.id.as_str()).chain(self.id_like.iter().map(String::as_str));
        for id in ids {
            match id {
                "debian" if self.id != "ubuntu" => return Some(Distro::Debian),
                "ubuntu" => return Some(Distro::Ubuntu),
                "amzn" => return Some(Distro::Amzn),
                id if RHEL_IDS.contains(&id) => return Some(Distro::Rhel),
                _ => {}
            }
        }
        None
    }

    /// Whether an override's `distro` (a family or an exact ID) names this host.
    pub fn matches_distro(&self, selector: &str) -> bool {
        self.id == selector || self.family().is_some_and(|f| f.as_str() == selector)
    }

    pub fn family_name(&self) -> &str {
        self.family().map(Distro::as_str).unwrap_or(&self.id)
    }
}

impl fmt::Display for HostOs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pretty_name.is_empty() {
            write!(f, "{} {}", self.id, self.version_id)
        } else {
            f.write_str(&self.pretty_name)
        }
    }
}

/// A constraint on `VERSION_ID` such as `>=9` or `=22.04`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConstraint {
    op: &'static str,
    version: String,
}

impl VersionConstraint {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        for op in [">=", "<=", ">", "<", "="] {
            if let Some(rest) = s.strip_prefix(op) {
                let version = rest.trim();
                if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
                    break;
                }
                return Ok(VersionConstraint {
                    op,
                    version: version.to_string(),
                });
            }
        }
        Err(format!(
            "invalid version constraint {s:?}: expected e.g. \">=9\" or \"=22.04\""
        ))
    }

    pub fn holds(&self, version_id: &str) -> bool {
        use std::cmp::Ordering::*;
        let ord = version::compare(version_id, &self.version);
        match self.op {
            ">=" => ord != Less,
            "<=" => ord != Greater,
            ">" => ord == Greater,
            "<" => ord == Less,
            _ => ord == Equal || version_id.split('.').next() == Some(self.version.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(id: &str, like: &[&str], version: &str) -> HostOs {
        HostOs {
            kind: OsKind::Linux,
            id: id.into(),
            id_like: like.iter().map(|s| s.to_string()).collect(),
            version_id: version.into(),
            pretty_name: String::new(),
        }
    }

    #[test]
    fn families_from_os_release() {
        let cases = [
            (os("debian", &[], "12"), Some(Distro::Debian)),
            (os("ubuntu", &["debian"], "22.04"), Some(Distro::Ubuntu)),
            (
                os("rocky", &["rhel", "centos", "fedora"], "9.3"),
                Some(Distro::Rhel),
            ),
            (os("ol", &["fedora"], "9.2"), Some(Distro::Rhel)),
            (
                os("amzn", &["centos", "rhel", "fedora"], "2023"),
                Some(Distro::Amzn),
            ),
            (
                os("linuxmint", &["ubuntu", "debian"], "21"),
                Some(Distro::Ubuntu),
            ),
            (os("alpine", &[], "3.19"), None),
        ];
        for (host, want) in cases {
            assert_eq!(host.family(), want, "{host:?}");
        }
        assert!(os("rocky", &["rhel"], "9").matches_distro("rhel"));
        assert!(os("rocky", &["rhel"], "9").matches_distro("rocky"));
        assert!(!os("rocky", &["rhel"], "9").matches_distro("almalinux"));
    }

    #[test]
    fn version_constraints() {
        let cases = [
            (">=9", "9.3", true),
            (">=9", "8.10", false),
            ("<9", "8.10", true),
            ("=22.04", "22.04", true),
            ("=9", "9.3", true),
            (">12", "12", false),
            ("<=20.04", "22.04", false),
        ];
        for (c, v, want) in cases {
            assert_eq!(
                VersionConstraint::parse(c).unwrap().holds(v),
                want,
                "{c} on {v}"
            );
        }
        assert!(VersionConstraint::parse("~9").is_err());
        assert!(VersionConstraint::parse(">=").is_err());
    }
}
