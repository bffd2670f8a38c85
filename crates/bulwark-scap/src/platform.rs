//! Which operating systems a benchmark fits: its CPE names (`cpe:/o:redhat:enterprise_linux:9`)
//! turned into os-release terms (`ID=rhel`, `VERSION_ID` 9 or 9.x), so that a host's
//! `/etc/os-release` picks the data streams and profiles meant for it.

use serde::{Deserialize, Serialize};

/// An operating system a CPE name stands for, in os-release terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsFit {
    /// os-release `ID`.
    pub id: String,
    /// The `VERSION_ID` it fits, itself or any of its minor versions (`9` fits `9.3`);
    /// `None` when the CPE leaves the version open.
    pub version: Option<String>,
}

impl OsFit {
    pub fn fits(&self, os_release_id: &str, version_id: &str) -> bool {
        if !self.id.eq_ignore_ascii_case(os_release_id.trim()) {
            return false;
        }
        let version_id = version_id.trim();
        match &self.version {
            None => true,
            Some(version) => {
                version_id == version
                    || version_id
                        .strip_prefix(version.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            }
        }
    }
}

/// CPE (vendor, product) of an operating system and the os-release `ID` it has.
const OS_IDS: &[(&str, &str, &str)] = &[
    ("canonical", "ubuntu_linux", "ubuntu"),
    ("debian", "debian_linux", "debian"),
    ("redhat", "enterprise_linux", "rhel"),
    ("redhat", "enterprise_linux_coreos", "rhcos"),
    ("centos", "centos", "centos"),
    ("oracle", "linux", "ol"),
    ("fedoraproject", "fedora", "fedora"),
    ("almalinux", "almalinux", "almalinux"),
    ("rocky", "rocky", "rocky"),
    ("rockylinux", "rocky", "rocky"),
    ("amazon", "linux", "amzn"),
    ("amazon", "amazon_linux", "amzn"),
    ("suse", "linux_enterprise_server", "sles"),
    ("suse", "linux_enterprise_desktop", "sled"),
    ("suse", "sles", "sles"),
    ("opensuse", "leap", "opensuse-leap"),
    ("opensuse", "tumbleweed", "opensuse-tumbleweed"),
    ("alinux", "alibaba_cloud_linux", "alinux"),
    ("anolis", "anolis_os", "anolis"),
    ("scientificlinux", "scientificlinux", "scientific"),
    ("uos", "uniontech_os_server", "uos"),
];

/// The operating system a CPE name stands for, if it is one this table knows. Reads both the
/// URI binding (`cpe:/o:vendor:product:version:...`) and the 2.3 formatted string
/// (`cpe:2.3:o:vendor:product:version:...`).
pub fn os_fit(cpe: &str) -> Option<OsFit> {
    let cpe = cpe.trim();
    let rest = cpe
        .strip_prefix("cpe:/")
        .or_else(|| cpe.strip_prefix("cpe:2.3:"))?;
    let mut parts = rest.split(':');
    if parts.next()? != "o" {
        return None;
    }
    let vendor = unescape(parts.next()?);
    let product = unescape(parts.next()?);
    let version = parts.next().map(unescape);
    let (_, _, id) = OS_IDS
        .iter()
        .find(|(v, p, _)| v.eq_ignore_ascii_case(&vendor) && p.eq_ignore_ascii_case(&product))?;
    let version = version.filter(|v| !v.is_empty() && v != "*" && v != "-");
    Some(OsFit {
        id: (*id).to_string(),
        version,
    })
}

/// The operating systems a list of CPE names fits, each once, in the order first named.
pub fn os_fits<S: AsRef<str>>(cpes: &[S]) -> Vec<OsFit> {
    let mut fits: Vec<OsFit> = Vec::new();
    for fit in cpes.iter().filter_map(|c| os_fit(c.as_ref())) {
        if !fits.contains(&fit) {
            fits.push(fit);
        }
    }
    fits
}

/// Whether a host with this os-release `ID` and `VERSION_ID` is one the CPE names are for.
pub fn fits<S: AsRef<str>>(cpes: &[S], os_release_id: &str, version_id: &str) -> bool {
    cpes.iter()
        .filter_map(|c| os_fit(c.as_ref()))
        .any(|fit| fit.fits(os_release_id, version_id))
}

/// Percent-encoding (URI binding) and backslash quoting (2.3 binding) off a component.
fn unescape(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '%' => {
                let hex: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(byte) if byte.is_ascii() => out.push(char::from(byte)),
                    _ => {
                        out.push('%');
                        out.push_str(&hex);
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(id: &str, version: Option<&str>) -> Option<OsFit> {
        Some(OsFit {
            id: id.to_string(),
            version: version.map(str::to_string),
        })
    }

    #[test]
    fn cpe_names_become_os_release_terms() {
        let cases = [
            ("cpe:/o:redhat:enterprise_linux:9", fit("rhel", Some("9"))),
            (
                "cpe:/o:redhat:enterprise_linux:8.4",
                fit("rhel", Some("8.4")),
            ),
            (
                "cpe:/o:redhat:enterprise_linux:7::server",
                fit("rhel", Some("7")),
            ),
            (
                "cpe:/o:canonical:ubuntu_linux:22.04::~~lts~~~",
                fit("ubuntu", Some("22.04")),
            ),
            ("cpe:/o:debian:debian_linux:12", fit("debian", Some("12"))),
            ("cpe:/o:oracle:linux:9", fit("ol", Some("9"))),
            ("cpe:/o:centos:centos:9", fit("centos", Some("9"))),
            ("cpe:/o:fedoraproject:fedora:38", fit("fedora", Some("38"))),
            (
                "cpe:/o:suse:linux_enterprise_server:15",
                fit("sles", Some("15")),
            ),
            (
                "cpe:/o:opensuse:leap:15.0",
                fit("opensuse-leap", Some("15.0")),
            ),
            ("cpe:/o:almalinux:almalinux:9", fit("almalinux", Some("9"))),
            ("cpe:/o:amazon:amazon_linux:2023", fit("amzn", Some("2023"))),
            (
                "cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:lts:*:*:*",
                fit("ubuntu", Some("22.04")),
            ),
            (
                "cpe:2.3:o:debian:debian_linux:*:*:*:*:*:*:*:*",
                fit("debian", None),
            ),
            ("cpe:/o:debian:debian_linux", fit("debian", None)),
            ("cpe:/o:redhat:enterprise_linux:-", fit("rhel", None)),
            ("cpe:/a:machine", None),
            ("cpe:/a:redhat:enterprise_linux:9", None),
            ("cpe:/o:apple:macos:10.15", None),
            ("#machine", None),
            ("", None),
        ];
        for (cpe, expected) in cases {
            assert_eq!(os_fit(cpe), expected, "{cpe}");
        }
    }

    #[test]
    fn hosts_fit_by_id_and_version() {
        let rhel9 = ["cpe:/o:redhat:enterprise_linux:9"];
        let ubuntu2204 = ["cpe:/o:canonical:ubuntu_linux:22.04::~~lts~~~"];
        let rhel8_minor = ["cpe:/o:redhat:enterprise_linux:8.1"];
        let debian_any = ["cpe:/o:debian:debian_linux"];
        let cases: [(&[&str], &str, &str, bool); 16] = [
            (&rhel9, "rhel", "9.3", true),
            (&rhel9, "rhel", "9", true),
            (&rhel9, "rhel", "90", false),
            (&rhel9, "rhel", "8.9", false),
            (&rhel9, "centos", "9", false),
            (&rhel9, "RHEL", " 9.0\n", true),
            (&ubuntu2204, "ubuntu", "22.04", true),
            (&ubuntu2204, "ubuntu", "22.10", false),
            (&ubuntu2204, "ubuntu", "20.04", false),
            (&ubuntu2204, "debian", "22.04", false),
            (&rhel8_minor, "rhel", "8.1", true),
            (&rhel8_minor, "rhel", "8.10", false),
            (&debian_any, "debian", "12", true),
            (&debian_any, "debian", "", true),
            (&[], "debian", "12", false),
            (&["cpe:/a:machine"], "debian", "12", false),
        ];
        for (cpes, id, version, expected) in cases {
            assert_eq!(
                fits(cpes, id, version),
                expected,
                "{cpes:?} {id} {version:?}"
            );
        }
    }

    #[test]
    fn os_fits_lists_each_os_once() {
        let cpes = [
            "cpe:/o:redhat:enterprise_linux:7",
            "cpe:/o:redhat:enterprise_linux:7::client",
            "cpe:/o:redhat:enterprise_linux:7::server",
            "cpe:/o:centos:centos:7",
            "cpe:/a:machine",
        ];
        assert_eq!(
            os_fits(&cpes),
            vec![
                fit("rhel", Some("7")).unwrap(),
                fit("centos", Some("7")).unwrap()
            ]
        );
    }
}
