//! Fake root filesystems for tests, benchmarks and the content harness: a base layout per
//! distribution (os-release, accounts, a package database) plus a test case's own files,
//! packages and services; for Windows, an evidence directory of tool outputs rendered from the
//! case's registry, security policy, audit policy and services.
//!
//! Ownership is set with chown, so building a root needs root privileges (or `fakeroot`).

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown, lchown, symlink};
use std::path::{Path, PathBuf};

use bulwark_core::probe::parse_mode;
use bulwark_core::template::{FileSpec, RegistryData, ServiceSetup, TestCase};

use crate::collect::packages::rpm_header;
use crate::windows;

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("unknown base layout {0:?} (debian12, ubuntu2204, rhel9 or windows2022)")]
    UnknownOs(String),
    #[error("{0}")]
    Mismatch(String),
    #[error("{path}: {message}")]
    Write { path: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Debian12,
    Ubuntu2204,
    Rhel9,
    Windows2022,
}

impl Base {
    pub fn parse(name: Option<&str>) -> Result<Base, FixtureError> {
        match name.unwrap_or("debian12") {
            "debian12" => Ok(Base::Debian12),
            "ubuntu2204" => Ok(Base::Ubuntu2204),
            "rhel9" => Ok(Base::Rhel9),
            "windows2022" => Ok(Base::Windows2022),
            other => Err(FixtureError::UnknownOs(other.to_string())),
        }
    }

    fn is_rpm(self) -> bool {
        self == Base::Rhel9
    }

    pub fn is_windows(self) -> bool {
        self == Base::Windows2022
    }
}

const DEBIAN_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
";
const DEBIAN_GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
man:x:12:
sudo:x:27:
shadow:x:42:
utmp:x:43:
staff:x:50:
users:x:100:
nogroup:x:65534:
";
const RHEL_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
adm:x:3:4:adm:/var/adm:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/spool/mail:/sbin/nologin
nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin
sshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin
";
const RHEL_GROUP: &str = "root:x:0:
bin:x:1:
daemon:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
mail:x:12:
wheel:x:10:
sshd:x:74:
ssh_keys:x:101:
users:x:100:
nobody:x:65534:
";

fn shadow_of(passwd: &str) -> String {
    passwd
        .lines()
        .map(|l| {
            format!(
                "{}:*:19700:0:99999:7:::\n",
                l.split(':').next().unwrap_or_default()
            )
        })
        .collect()
}

fn gshadow_of(group: &str) -> String {
    group
        .lines()
        .map(|l| format!("{}:*::\n", l.split(':').next().unwrap_or_default()))
        .collect()
}

/// One file of a layout before it is written.
struct Entry {
    content: Option<String>,
    mode: u32,
    owner: u32,
    group: u32,
    dir: bool,
    symlink: Option<String>,
}

impl Entry {
    fn text(content: impl Into<String>, mode: u32, group: u32) -> Entry {
        Entry {
            content: Some(content.into()),
            mode,
            owner: 0,
            group,
            dir: false,
            symlink: None,
        }
    }
}

fn base_files(base: Base) -> Vec<(String, Entry)> {
    let os_release = match base {
        Base::Debian12 => {
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
        }
        Base::Ubuntu2204 => {
            "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n"
        }
        Base::Windows2022 => unreachable!("Windows bases are evidence directories"),
        Base::Rhel9 => {
            "NAME=\"Red Hat Enterprise Linux\"\nVERSION_ID=\"9.4\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n"
        }
    };
    let (passwd, group) = if base.is_rpm() {
        (RHEL_PASSWD, RHEL_GROUP)
    } else {
        (DEBIAN_PASSWD, DEBIAN_GROUP)
    };
    // Debian keeps shadow files 0640 root:shadow, RHEL 0000 root:root.
    let (shadow_mode, shadow_group) = if base.is_rpm() {
        (0o000, 0)
    } else {
        (0o640, 42)
    };
    let hostname = match base {
        Base::Debian12 => "debian-fixture",
        Base::Ubuntu2204 => "ubuntu-fixture",
        Base::Rhel9 => "rhel-fixture",
        Base::Windows2022 => unreachable!("Windows bases are evidence directories"),
    };
    // What other scanners identify the distribution by (OpenSCAP's platform checks read
    // these), as the real base-files and redhat-release packages install them.
    let release_file = match base {
        Base::Ubuntu2204 => Some((
            "/etc/lsb-release",
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION=\"Ubuntu 22.04.4 LTS\"\n",
        )),
        Base::Rhel9 => Some((
            "/etc/redhat-release",
            "Red Hat Enterprise Linux release 9.4 (Plow)\n",
        )),
        Base::Debian12 => Some(("/etc/debian_version", "12.5\n")),
        Base::Windows2022 => None,
    };
    let mut files = vec![
        (
            "/usr/lib/os-release".into(),
            Entry::text(os_release, 0o644, 0),
        ),
        (
            "/etc/os-release".into(),
            Entry {
                content: None,
                mode: 0o777,
                owner: 0,
                group: 0,
                dir: false,
                symlink: Some("../usr/lib/os-release".into()),
            },
        ),
        (
            "/etc/hostname".into(),
            Entry::text(format!("{hostname}\n"), 0o644, 0),
        ),
        ("/etc/passwd".into(), Entry::text(passwd, 0o644, 0)),
        ("/etc/group".into(), Entry::text(group, 0o644, 0)),
        (
            "/etc/shadow".into(),
            Entry::text(shadow_of(passwd), shadow_mode, shadow_group),
        ),
        (
            "/etc/gshadow".into(),
            Entry::text(gshadow_of(group), shadow_mode, shadow_group),
        ),
        (
            "/tmp".into(),
            Entry {
                content: None,
                mode: 0o1777,
                owner: 0,
                group: 0,
                dir: true,
                symlink: None,
            },
        ),
    ];
    if let Some((path, text)) = release_file {
        files.push((path.into(), Entry::text(text, 0o644, 0)));
    }
    files
}

fn entry_of(spec: &FileSpec) -> Result<Entry, String> {
    Ok(match spec {
        FileSpec::Text(t) => Entry::text(t.clone(), 0o644, 0),
        FileSpec::Detailed(d) => {
            let default_mode = if d.dir { 0o755 } else { 0o644 };
            let mode = match &d.mode {
                Some(m) => {
                    parse_mode(m).ok_or_else(|| format!("mode {m:?} is not an octal mode"))?
                }
                None => default_mode,
            };
            Entry {
                content: d.content.clone().or(if d.dir || d.symlink.is_some() {
                    None
                } else {
                    Some(String::new())
                }),
                mode,
                owner: d.owner.unwrap_or(0),
                group: d.group.unwrap_or(0),
                dir: d.dir,
                symlink: d.symlink.clone(),
            }
        }
    })
}

fn write_entry(root: &Path, host_path: &str, e: &Entry) -> Result<(), FixtureError> {
    let err = |message: String| FixtureError::Write {
        path: host_path.to_string(),
        message,
    };
    let path = root.join(host_path.trim_start_matches('/'));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|x| err(x.to_string()))?;
    }
    if path.symlink_metadata().is_ok() {
        if path.is_dir() && !path.is_symlink() {
            if !e.dir {
                fs::remove_dir_all(&path).map_err(|x| err(x.to_string()))?;
            }
        } else {
            fs::remove_file(&path).map_err(|x| err(x.to_string()))?;
        }
    }
    if let Some(target) = &e.symlink {
        symlink(target, &path).map_err(|x| err(x.to_string()))?;
        return lchown(&path, Some(e.owner), Some(e.group)).map_err(|x| {
            err(format!(
                "chown needs root (run as root or under fakeroot): {x}"
            ))
        });
    }
    if e.dir {
        fs::create_dir_all(&path).map_err(|x| err(x.to_string()))?;
    } else {
        fs::write(&path, e.content.as_deref().unwrap_or_default())
            .map_err(|x| err(x.to_string()))?;
    }
    chown(&path, Some(e.owner), Some(e.group)).map_err(|x| {
        err(format!(
            "chown needs root (run as root or under fakeroot): {x}"
        ))
    })?;
    fs::set_permissions(&path, fs::Permissions::from_mode(e.mode)).map_err(|x| err(x.to_string()))
}

fn dpkg_status(packages: &[String]) -> String {
    packages
        .iter()
        .map(|p| {
            let (name, version) = p.split_once('=').unwrap_or((p, "1.0-1"));
            format!("Package: {name}\nStatus: install ok installed\nVersion: {version}\nArchitecture: amd64\n\n")
        })
        .collect()
}

fn write_rpmdb(root: &Path, packages: &[String]) -> Result<(), FixtureError> {
    let path = root.join("var/lib/rpm/rpmdb.sqlite");
    let err = |message: String| FixtureError::Write {
        path: "/var/lib/rpm/rpmdb.sqlite".into(),
        message,
    };
    fs::create_dir_all(path.parent().unwrap_or(root)).map_err(|e| err(e.to_string()))?;
    let conn = rusqlite::Connection::open(&path).map_err(|e| err(e.to_string()))?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);")
        .map_err(|e| err(e.to_string()))?;
    // rpm's own index tables, with the Name index filled: librpm (and so OpenSCAP's rpminfo
    // probe, which the cross-check runs on these roots) opens the database read-only and
    // finds packages by name through it.
    for index in RPMDB_INDEXES {
        let key_type = if index == "Installtid" {
            "BLOB"
        } else {
            "TEXT"
        };
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS '{index}' (key '{key_type}' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum));"
        ))
        .map_err(|e| err(e.to_string()))?;
    }
    for p in packages {
        let (name, version) = p.split_once('=').unwrap_or((p, "1.0-1.el9"));
        let (version, release) = version.split_once('-').unwrap_or((version, "1.el9"));
        conn.execute(
            "INSERT INTO Packages (blob) VALUES (?1)",
            [rpm_header::encode(name, version, release)],
        )
        .map_err(|e| err(e.to_string()))?;
        conn.execute(
            "INSERT INTO Name (key, hnum, idx) VALUES (?1, last_insert_rowid(), 0)",
            [name],
        )
        .map_err(|e| err(e.to_string()))?;
    }
    Ok(())
}

/// The index tables of rpm's SQLite database (rpm 4.16 and later).
const RPMDB_INDEXES: [&str; 18] = [
    "Name",
    "Basenames",
    "Group",
    "Requirename",
    "Providename",
    "Conflictname",
    "Obsoletename",
    "Triggername",
    "Dirnames",
    "Installtid",
    "Sigmd5",
    "Sha1header",
    "Filetriggername",
    "Transfiletriggername",
    "Recommendname",
    "Suggestname",
    "Supplementname",
    "Enhancename",
];

const UNIT_TEMPLATE: &str = "[Unit]\nDescription=fixture unit\n\n[Service]\nExecStart=/usr/bin/true\n\n[Install]\nWantedBy=multi-user.target\n";

/// Writes the base layout and the case into `root`.
pub fn build(root: &Path, case: &TestCase) -> Result<(), FixtureError> {
    let base = Base::parse(case.os.as_deref())?;
    if base.is_windows() {
        return build_windows(root, case);
    }
    let windows_only = [
        ("registry", !case.registry.is_empty()),
        ("security_policy", !case.security_policy.is_empty()),
        ("audit_policy", !case.audit_policy.is_empty()),
        (
            "services: manual",
            case.services.values().any(|s| *s == ServiceSetup::Manual),
        ),
    ];
    if let Some((field, _)) = windows_only.iter().find(|(_, used)| *used) {
        return Err(FixtureError::Mismatch(format!(
            "{field} is for Windows cases (os: windows2022)"
        )));
    }
    let mut entries = base_files(base);
    for (path, spec) in &case.files {
        let entry = entry_of(spec).map_err(|message| FixtureError::Write {
            path: path.clone(),
            message,
        })?;
        entries.retain(|(p, _)| p != path);
        entries.push((path.clone(), entry));
    }
    for (name, setup) in &case.services {
        let vendor = format!("/usr/lib/systemd/system/{name}");
        if !entries.iter().any(|(p, _)| *p == vendor) {
            entries.push((vendor.clone(), Entry::text(UNIT_TEMPLATE, 0o644, 0)));
        }
        let link = |target: &str| Entry {
            content: None,
            mode: 0o777,
            owner: 0,
            group: 0,
            dir: false,
            symlink: Some(target.into()),
        };
        match setup {
            ServiceSetup::Enabled => entries.push((
                format!("/etc/systemd/system/multi-user.target.wants/{name}"),
                link(&vendor),
            )),
            ServiceSetup::Masked => {
                entries.push((format!("/etc/systemd/system/{name}"), link("/dev/null")))
            }
            ServiceSetup::Disabled | ServiceSetup::Manual => {}
        }
    }
    // Parents before children, so that a directory entry's mode is not undone by its files.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, entry) in &entries {
        write_entry(root, path, entry)?;
    }
    if base.is_rpm() {
        write_rpmdb(root, &case.packages)?;
    } else if !case.files.contains_key("/var/lib/dpkg/status") {
        let entry = Entry::text(dpkg_status(&case.packages), 0o644, 0);
        write_entry(root, "/var/lib/dpkg/status", &entry)?;
    }
    Ok(())
}

const WINDOWS_VERSION: &str = "    SystemRoot    REG_SZ    C:\\Windows\r
    BuildBranch    REG_SZ    fe_release\r
    CurrentBuild    REG_SZ    20348\r
    CurrentBuildNumber    REG_SZ    20348\r
    CurrentMajorVersionNumber    REG_DWORD    0xa\r
    CurrentMinorVersionNumber    REG_DWORD    0x0\r
    CurrentType    REG_SZ    Multiprocessor Free\r
    CurrentVersion    REG_SZ    6.3\r
    DisplayVersion    REG_SZ    21H2\r
    EditionID    REG_SZ    ServerStandard\r
    InstallationType    REG_SZ    Server\r
    ProductName    REG_SZ    Windows Server 2022 Standard\r
    UBR    REG_DWORD    0x8c3\r
";

/// `reg query` output for the case's registry map.
fn render_registry(case: &TestCase) -> String {
    let mut out = String::new();
    for (key, values) in &case.registry {
        let full = match key.split_once('\\') {
            Some((hive, rest)) if hive.eq_ignore_ascii_case("HKLM") => {
                format!("HKEY_LOCAL_MACHINE\\{rest}")
            }
            _ => key.clone(),
        };
        out.push_str(&format!("\r\n{full}\r\n"));
        for (name, value) in values {
            let (kind, data) = match value {
                RegistryData::Dword(n) => ("REG_DWORD", format!("0x{n:x}")),
                RegistryData::Text(t) => ("REG_SZ", t.clone()),
                RegistryData::Multi(items) => ("REG_MULTI_SZ", items.join("\\0")),
            };
            out.push_str(&format!("    {name}    {kind}    {data}\r\n"));
        }
    }
    out
}

/// The file `secedit /export` writes, as UTF-16LE with a byte order mark.
fn render_secedit(case: &TestCase) -> Vec<u8> {
    let mut text = String::from("[Unicode]\r\nUnicode=yes\r\n");
    for (section, keys) in &case.security_policy {
        text.push_str(&format!("[{section}]\r\n"));
        let sep = if section == "Registry Values" {
            "="
        } else {
            " = "
        };
        for (key, value) in keys {
            text.push_str(&format!("{key}{sep}{value}\r\n"));
        }
    }
    text.push_str("[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    bytes
}

fn render_auditpol(case: &TestCase) -> String {
    let mut out = String::from(
        "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting\r\n",
    );
    for (i, (sub, setting)) in case.audit_policy.iter().enumerate() {
        out.push_str(&format!(
            "WIN-FIXTURE,System,{sub},{{0CCE{:04X}-69AE-11D9-BED3-505054503030}},{setting},\r\n",
            0x9210 + i
        ));
    }
    out
}

fn render_services(case: &TestCase) -> Result<String, FixtureError> {
    let mut out = String::new();
    for (name, setup) in &case.services {
        let start = match setup {
            ServiceSetup::Enabled => "2   AUTO_START",
            ServiceSetup::Manual => "3   DEMAND_START",
            ServiceSetup::Disabled => "4   DISABLED",
            ServiceSetup::Masked => {
                return Err(FixtureError::Mismatch(format!(
                    "services: {name}: masked is for Linux cases; use enabled, manual or disabled"
                )));
            }
        };
        out.push_str(&format!(
            "[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: {name}\r\n        TYPE               : 20  WIN32_SHARE_PROCESS\r\n        START_TYPE         : {start}\r\n        ERROR_CONTROL      : 1   NORMAL\r\n        BINARY_PATH_NAME   : C:\\Windows\\system32\\svchost.exe -k LocalService -p\r\n        LOAD_ORDER_GROUP   :\r\n        TAG                : 0\r\n        DISPLAY_NAME       : {name}\r\n        DEPENDENCIES       :\r\n        SERVICE_START_NAME : NT AUTHORITY\\LocalService\r\n\r\n"
        ));
    }
    Ok(out)
}

/// A Windows host: an evidence directory with the tools' outputs rendered from the case
/// (`files` entries replace rendered files of the same path).
fn build_windows(root: &Path, case: &TestCase) -> Result<(), FixtureError> {
    if !case.packages.is_empty() {
        return Err(FixtureError::Mismatch(
            "packages are for Linux cases".into(),
        ));
    }
    let rendered: Vec<(&str, Vec<u8>)> = vec![
        (
            windows::OS_FILE,
            format!(
                "\r\n{}\r\n{WINDOWS_VERSION}\r\n\r\n{}\r\n    ComputerName    REG_SZ    WIN-FIXTURE\r\n\r\n",
                windows::VERSION_KEY,
                windows::COMPUTER_NAME_KEY
            )
            .into_bytes(),
        ),
        (windows::REGISTRY_FILE, render_registry(case).into_bytes()),
        (windows::SECEDIT_FILE, render_secedit(case)),
        (windows::AUDITPOL_FILE, render_auditpol(case).into_bytes()),
        (windows::SERVICES_FILE, render_services(case)?.into_bytes()),
    ];
    for (file, bytes) in rendered {
        let host_path = windows::evidence_path(file);
        if case.files.contains_key(&host_path) {
            continue;
        }
        let path = root.join(host_path.trim_start_matches('/'));
        let err = |e: std::io::Error| FixtureError::Write {
            path: host_path.clone(),
            message: e.to_string(),
        };
        fs::create_dir_all(path.parent().unwrap_or(root)).map_err(err)?;
        fs::write(&path, bytes).map_err(err)?;
    }
    let mut entries: Vec<(String, Entry)> = Vec::new();
    for (path, spec) in &case.files {
        let entry = entry_of(spec).map_err(|message| FixtureError::Write {
            path: path.clone(),
            message,
        })?;
        entries.push((path.clone(), entry));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, entry) in &entries {
        write_entry(root, path, entry)?;
    }
    Ok(())
}

/// A fake root in a temporary directory, removed on drop.
pub struct FixtureRoot {
    dir: tempfile::TempDir,
}

impl FixtureRoot {
    pub fn new(case: &TestCase) -> Result<Self, FixtureError> {
        let dir = tempfile::Builder::new()
            .prefix("bulwark-fixture-")
            .tempdir()
            .map_err(|e| FixtureError::Write {
                path: "(temporary directory)".into(),
                message: e.to_string(),
            })?;
        build(dir.path(), case)?;
        Ok(FixtureRoot { dir })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}
