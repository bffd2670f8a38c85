//! Installed packages from the dpkg status database or the rpm database (rpmdb.sqlite, read
//! read-only and immutable so that an image is never written to).

use std::collections::HashMap;

use crate::host::HostRoot;

const DPKG_STATUS: &str = "/var/lib/dpkg/status";
const RPMDB_PATHS: [&str; 2] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];
const RPMDB_BDB: &str = "/var/lib/rpm/Packages";

#[derive(Debug, Default)]
pub struct Packages {
    versions: HashMap<String, String>,
    pub source: String,
}

impl Packages {
    pub fn load(host: &HostRoot) -> Result<Self, String> {
        let mut packages = Packages::default();
        let mut sources = Vec::new();
        if let Some(status) = host.read(DPKG_STATUS).map_err(|e| e.to_string())? {
            packages.versions.extend(parse_dpkg_status(&status));
            sources.push(DPKG_STATUS);
        }
        for path in RPMDB_PATHS {
            let on_disk = host.path(path);
            if on_disk.is_file() {
                let rows = read_rpmdb(&on_disk).map_err(|e| format!("{path}: {e}"))?;
                packages.versions.extend(rows);
                sources.push(path);
                break;
            }
        }
        if sources.is_empty() {
            if host.path(RPMDB_BDB).is_file() {
                return Err(format!(
                    "{RPMDB_BDB}: the Berkeley DB rpm database (RHEL 8 and older) is not supported; rpmdb.sqlite is"
                ));
            }
            return Err(format!(
                "no package database found ({DPKG_STATUS}, {})",
                RPMDB_PATHS.join(", ")
            ));
        }
        packages.source = sources.join(", ");
        Ok(packages)
    }

    pub fn version(&self, name: &str) -> Option<&str> {
        self.versions.get(name).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.versions.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Packages whose status is `install ok installed` (removed packages keep a stanza with
/// `deinstall ok config-files` and must not count).
pub fn parse_dpkg_status(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for stanza in text.split("\n\n") {
        let (mut name, mut version, mut installed) = (None, None, false);
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.trim().ends_with(" installed");
            }
        }
        if let (Some(n), true) = (name, installed) {
            out.insert(n.to_string(), version.unwrap_or("").to_string());
        }
    }
    out
}

/// The rpm database's packages with the time each was installed (the Patches tab).
pub fn rpm_install_times(host: &HostRoot) -> Result<Vec<bulwark_core::inventory::Patch>, String> {
    let Some(path) = RPMDB_PATHS
        .iter()
        .map(|p| host.path(p))
        .find(|p| p.is_file())
    else {
        return Ok(vec![]);
    };
    Ok(read_rpm_headers(&path)?
        .into_iter()
        .map(|h| bulwark_core::inventory::Patch {
            package: h.name,
            version: h.evr,
            installed_at: h.installed_at,
            source: "rpm".into(),
        })
        .collect())
}

fn read_rpmdb(path: &std::path::Path) -> Result<HashMap<String, String>, String> {
    Ok(read_rpm_headers(path)?
        .into_iter()
        .map(|h| (h.name, h.evr))
        .collect())
}

fn read_rpm_headers(path: &std::path::Path) -> Result<Vec<rpm_header::Header>, String> {
    use rusqlite::OpenFlags;
    let encoded: String = path
        .to_string_lossy()
        .chars()
        .map(|c| match c {
            '%' => "%25".to_string(),
            '?' => "%3f".to_string(),
            '#' => "%23".to_string(),
            c => c.to_string(),
        })
        .collect();
    let uri = format!("file:{encoded}?immutable=1");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(uri, flags).map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let blobs = stmt
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for blob in blobs {
        let blob = blob.map_err(|e| e.to_string())?;
        out.extend(rpm_header::parse(&blob));
    }
    Ok(out)
}

/// The few tags of an RPM header blob that identify a package.
pub mod rpm_header {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const INSTALLTIME: u32 = 1008;
    const ARCH: u32 = 1022;
    const TYPE_INT32: u32 = 4;
    const TYPE_STRING: u32 = 6;

    #[derive(Debug, PartialEq, Eq)]
    pub struct Header {
        pub name: String,
        /// `[epoch:]version-release`
        pub evr: String,
        /// Unix seconds, from the header's install time.
        pub installed_at: Option<i64>,
    }

    fn be32(b: &[u8], at: usize) -> Option<u32> {
        b.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Parses the index and data store of a header as rpm stores it in rpmdb.sqlite.
    pub fn parse(blob: &[u8]) -> Option<Header> {
        let count = be32(blob, 0)? as usize;
        let data_len = be32(blob, 4)? as usize;
        let data_start = 8 + count.checked_mul(16)?;
        let data = blob.get(data_start..data_start.checked_add(data_len)?)?;
        let (mut name, mut version, mut release, mut epoch) = (None, None, None, None);
        let mut installed_at = None;
        for i in 0..count {
            let at = 8 + i * 16;
            let (tag, ty, offset) = (
                be32(blob, at)?,
                be32(blob, at + 4)?,
                be32(blob, at + 8)? as usize,
            );
            let string = || {
                let rest = data.get(offset..)?;
                let end = rest.iter().position(|&b| b == 0)?;
                String::from_utf8(rest[..end].to_vec()).ok()
            };
            match (tag, ty) {
                (NAME, TYPE_STRING) => name = string(),
                (VERSION, TYPE_STRING) => version = string(),
                (RELEASE, TYPE_STRING) => release = string(),
                (EPOCH, TYPE_INT32) => epoch = be32(data, offset),
                (INSTALLTIME, TYPE_INT32) => installed_at = be32(data, offset).map(i64::from),
                _ => {}
            }
        }
        let evr = match (epoch, version?, release) {
            (Some(e), v, Some(r)) if e > 0 => format!("{e}:{v}-{r}"),
            (_, v, Some(r)) => format!("{v}-{r}"),
            (_, v, None) => v,
        };
        Some(Header {
            name: name?,
            evr,
            installed_at,
        })
    }

    /// The install time [`encode`] writes (2023-11-14).
    pub const ENCODED_INSTALL_TIME: u32 = 1_700_000_000;

    /// Encodes a header with the identifying tags and an install time (used to build
    /// RHEL-like fixture roots).
    pub fn encode(name: &str, version: &str, release: &str) -> Vec<u8> {
        let mut data = Vec::new();
        let mut index = Vec::new();
        for (tag, value) in [
            (NAME, name),
            (VERSION, version),
            (RELEASE, release),
            (ARCH, "x86_64"),
        ] {
            index.push((tag, TYPE_STRING, data.len() as u32));
            data.extend_from_slice(value.as_bytes());
            data.push(0);
        }
        // Integers are aligned to 4 bytes in the data store, as rpm writes them.
        while data.len() % 4 != 0 {
            data.push(0);
        }
        index.push((INSTALLTIME, TYPE_INT32, data.len() as u32));
        data.extend_from_slice(&ENCODED_INSTALL_TIME.to_be_bytes());
        let mut blob = Vec::new();
        blob.extend_from_slice(&(index.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (tag, ty, offset) in index {
            for v in [tag, ty, offset, 1] {
                blob.extend_from_slice(&v.to_be_bytes());
            }
        }
        blob.extend_from_slice(&data);
        blob
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_counts_only_installed_packages() {
        let status = "Package: sudo\nStatus: install ok installed\nVersion: 1.9.13p3-1+deb12u1\n\nPackage: telnet\nStatus: deinstall ok config-files\nVersion: 0.17+2.4-2\n\nPackage: aide\nStatus: install ok installed\nVersion: 0.18.3-1\n";
        let p = parse_dpkg_status(status);
        assert_eq!(
            p.get("sudo").map(String::as_str),
            Some("1.9.13p3-1+deb12u1")
        );
        assert!(!p.contains_key("telnet"));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn rpm_headers_round_trip_and_reject_garbage() {
        let blob = rpm_header::encode("openssh-server", "8.7p1", "38.el9");
        assert_eq!(
            rpm_header::parse(&blob),
            Some(rpm_header::Header {
                name: "openssh-server".into(),
                evr: "8.7p1-38.el9".into(),
                installed_at: Some(i64::from(rpm_header::ENCODED_INSTALL_TIME)),
            })
        );
        assert_eq!(rpm_header::parse(&[0, 0, 0, 9, 255, 255, 255, 255]), None);
        assert_eq!(rpm_header::parse(&[]), None);
    }
}
