//! A host as the engine sees it: a root directory (`/` for the live system, or an extracted
//! image), whether its /proc describes the running kernel, and safe ways to read files in it.
//!
//! Reads never block and never leave the root: special files (fifos, devices, sockets) are
//! refused before opening, large files are refused by size, and symbolic links in an offline
//! root are resolved inside that root, as a chroot would, so an image cannot point a check at
//! the scanning machine's own files.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use bulwark_core::HostOs;

/// Configuration files larger than this are refused rather than read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: not a regular file ({kind})")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path}: {size} bytes is more than the {MAX_FILE_BYTES} bytes read for a check")]
    TooLarge { path: String, size: u64 },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not valid UTF-8 text")]
    NotText { path: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "{0}: not a Linux root filesystem (no /etc/os-release or /usr/lib/os-release) nor a Windows evidence directory (no bulwark-evidence/windows/os.txt)"
    )]
    NotLinux(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// Scanning with another OS's template would judge nothing and score as if it had.
    #[error(
        "template {template} is written for {template_os}, but this host runs {host_os}; bind a {host_os} template to scan it"
    )]
    WrongOs {
        template: String,
        template_os: &'static str,
        host_os: &'static str,
    },
}

#[derive(Debug, Clone)]
pub struct HostRoot {
    root: PathBuf,
    live: bool,
}

impl HostRoot {
    /// The running system.
    pub fn live() -> Self {
        HostRoot {
            root: PathBuf::from("/"),
            live: true,
        }
    }

    /// An extracted root filesystem; its /proc (if any) is not trusted to be live.
    pub fn offline(root: impl Into<PathBuf>) -> Self {
        HostRoot {
            root: root.into(),
            live: false,
        }
    }

    /// A root whose /proc stands for the running kernel (tests of live behaviour).
    pub fn with_live_proc(root: impl Into<PathBuf>) -> Self {
        HostRoot {
            root: root.into(),
            live: true,
        }
    }

    /// `/` is live, anything else offline.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        if root == Path::new("/") {
            Self::live()
        } else {
            Self::offline(root)
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn is_live(&self) -> bool {
        self.live
    }

    fn is_system_root(&self) -> bool {
        self.root == Path::new("/")
    }

    /// The on-disk path of a host path, with symbolic links resolved inside the root.
    pub fn path(&self, host_path: &str) -> PathBuf {
        if self.is_system_root() {
            return PathBuf::from(host_path);
        }
        self.resolve_inside(Path::new(host_path), 0)
    }

    fn resolve_inside(&self, host_path: &Path, depth: u32) -> PathBuf {
        let mut resolved = PathBuf::from("/");
        let mut components: Vec<Component> = host_path.components().collect();
        components.reverse();
        while let Some(c) = components.pop() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::Normal(name) => {
                    let candidate = resolved.join(name);
                    let on_disk = self
                        .root
                        .join(candidate.strip_prefix("/").unwrap_or(&candidate));
                    match fs::read_link(&on_disk) {
                        Ok(target) if depth < 40 => {
                            let rest: PathBuf = components.iter().rev().collect();
                            let next = if target.is_absolute() {
                                target.join(rest)
                            } else {
                                resolved.join(target).join(rest)
                            };
                            return self.resolve_inside(&next, depth + 1);
                        }
                        _ => resolved = candidate,
                    }
                }
            }
        }
        self.root
            .join(resolved.strip_prefix("/").unwrap_or(&resolved))
    }

    /// The host path of an on-disk path under the root.
    pub fn host_path(&self, on_disk: &Path) -> String {
        match on_disk.strip_prefix(&self.root) {
            Ok(rel) if !self.is_system_root() => format!("/{}", rel.display()),
            _ => on_disk.display().to_string(),
        }
    }

    /// Reads a text file; `Ok(None)` when it does not exist.
    pub fn read(&self, host_path: &str) -> Result<Option<String>, ReadError> {
        let on_disk = self.path(host_path);
        read_text(&on_disk, host_path)
    }

    /// Reads a file's bytes (text in another encoding); `Ok(None)` when it does not exist.
    pub fn read_bytes(&self, host_path: &str) -> Result<Option<Vec<u8>>, ReadError> {
        read_bytes(&self.path(host_path), host_path)
    }

    /// Lists host paths matching a glob pattern, sorted.
    pub fn glob(&self, pattern: &str) -> Vec<String> {
        if !pattern.contains(['*', '?', '[']) {
            return if self.path(pattern).symlink_metadata().is_ok() {
                vec![pattern.to_string()]
            } else {
                vec![]
            };
        }
        let (dir, file_pattern) = match pattern.rsplit_once('/') {
            Some((d, f)) if !d.contains(['*', '?', '[']) => (d, f),
            _ => return self.glob_deep(pattern),
        };
        let Ok(matcher) = glob::Pattern::new(file_pattern) else {
            return vec![];
        };
        let dir = if dir.is_empty() { "/" } else { dir };
        let Ok(entries) = fs::read_dir(self.path(dir)) else {
            return vec![];
        };
        let mut out: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| matcher.matches(name))
            .map(|name| format!("{}/{}", dir.trim_end_matches('/'), name))
            .collect();
        out.sort();
        out
    }

    fn glob_deep(&self, pattern: &str) -> Vec<String> {
        let full = self.root.join(pattern.trim_start_matches('/'));
        let Ok(paths) = glob::glob(&full.to_string_lossy()) else {
            return vec![];
        };
        let mut out: Vec<String> = paths.flatten().map(|p| self.host_path(&p)).collect();
        out.sort();
        out
    }

    /// Identifies the operating system from os-release, or else from a Windows evidence
    /// directory, or says why this is neither.
    pub fn detect_os(&self) -> Result<HostOs, RootError> {
        let meta = fs::metadata(&self.root).map_err(|source| RootError::Io {
            path: self.root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(RootError::NotADirectory(self.root.clone()));
        }
        match ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| self.read(p).ok().flatten())
        {
            Some(text) => Ok(parse_os_release(&text)),
            None => {
                crate::windows::detect(self).ok_or_else(|| RootError::NotLinux(self.root.clone()))
            }
        }
    }
}

pub fn read_text(on_disk: &Path, shown_as: &str) -> Result<Option<String>, ReadError> {
    let Some(bytes) = read_bytes(on_disk, shown_as)? else {
        return Ok(None);
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| ReadError::NotText {
            path: shown_as.to_string(),
        })
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`]; `Ok(None)` when it does not exist.
pub fn read_bytes(on_disk: &Path, shown_as: &str) -> Result<Option<Vec<u8>>, ReadError> {
    let meta = match fs::metadata(on_disk) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ReadError::Io {
                path: shown_as.to_string(),
                source,
            });
        }
    };
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_dir() {
            "directory"
        } else {
            crate::unix_meta::special_kind(&ft)
        };
        return Err(ReadError::NotRegular {
            path: shown_as.to_string(),
            kind,
        });
    }
    // /proc files report size 0 but are small; regular files are bounded by their size.
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge {
            path: shown_as.to_string(),
            size: meta.len(),
        });
    }
    let file = fs::File::open(on_disk).map_err(|source| ReadError::Io {
        path: shown_as.to_string(),
        source,
    })?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: shown_as.to_string(),
            source,
        })?;
    Ok(Some(bytes))
}

/// os-release's fields, read as the scanned host wrote them.
pub use bulwark_core::platform::parse_os_release;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_resolve_inside_an_offline_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(
            root.join("usr/lib/os-release"),
            "ID=debian\nVERSION_ID=\"12\"\n",
        )
        .unwrap();
        symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
        symlink("../../../../etc/shadow", root.join("etc/escape")).unwrap();
        let host = HostRoot::offline(root);
        assert_eq!(
            host.path("/etc/os-release"),
            root.join("usr/lib/os-release")
        );
        assert_eq!(host.path("/etc/escape"), root.join("etc/shadow"));
        assert_eq!(host.detect_os().unwrap().version_id, "12");
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_text(&fifo, "/fifo").unwrap_err();
        assert_eq!(err.to_string(), "/fifo: not a regular file (fifo)");
        assert!(
            read_text(&dir.path().join("missing"), "/missing")
                .unwrap()
                .is_none()
        );
        let dev = read_text(Path::new("/dev/zero"), "/dev/zero").unwrap_err();
        assert_eq!(dev.to_string(), "/dev/zero: not a regular file (device)");
    }

    #[test]
    fn a_directory_without_os_release_is_not_linux() {
        let dir = tempfile::tempdir().unwrap();
        let err = HostRoot::offline(dir.path()).detect_os().unwrap_err();
        assert!(
            err.to_string().contains("not a Linux root filesystem"),
            "{err}"
        );
    }

    #[test]
    fn globs_list_matching_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc/sysctl.d")).unwrap();
        for f in ["b.conf", "a.conf", "c.txt"] {
            fs::write(dir.path().join("etc/sysctl.d").join(f), "").unwrap();
        }
        let host = HostRoot::offline(dir.path());
        assert_eq!(
            host.glob("/etc/sysctl.d/*.conf"),
            ["/etc/sysctl.d/a.conf", "/etc/sysctl.d/b.conf"]
        );
        assert_eq!(host.glob("/etc/sysctl.d/a.conf"), ["/etc/sysctl.d/a.conf"]);
        assert!(host.glob("/etc/nothing/*").is_empty());
    }
}
