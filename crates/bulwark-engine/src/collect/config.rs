//! Effective values of keys in configuration files: sshd_config (Include, first match wins),
//! `KEY value` files such as login.defs, `key = value` files such as auditd.conf, and systemd
//! INI files with drop-ins.

use bulwark_core::probe::ConfigFormat;

use crate::host::{HostRoot, ReadError};

/// Where a value came from, for the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: String,
    pub file: String,
}

pub struct Lookup<'a> {
    pub path: &'a str,
    pub format: ConfigFormat,
    pub key: &'a str,
    pub section: Option<&'a str>,
    pub dropins: Option<&'a str>,
}

pub fn lookup(host: &HostRoot, q: &Lookup) -> Result<Option<Found>, ReadError> {
    match q.format {
        ConfigFormat::Sshd => sshd(host, q.path, q.key, 0),
        ConfigFormat::Space | ConfigFormat::Equals | ConfigFormat::Systemd => {
            let mut files = vec![q.path.to_string()];
            if let Some(d) = q.dropins {
                files.extend(host.glob(d));
            }
            let mut found = None;
            for file in files {
                let Some(text) = host.read(&file)? else {
                    continue;
                };
                if let Some(value) = last_value(&text, q.format, q.key, q.section) {
                    found = Some(Found { value, file });
                }
            }
            Ok(found)
        }
    }
}

fn strip_comment(line: &str) -> &str {
    let t = line.trim();
    if t.starts_with('#') || t.starts_with(';') {
        ""
    } else {
        t
    }
}

fn last_value(
    text: &str,
    format: ConfigFormat,
    key: &str,
    section: Option<&str>,
) -> Option<String> {
    let mut current_section: Option<String> = None;
    let mut found = None;
    for line in text.lines() {
        let line = strip_comment(line);
        if line.is_empty() {
            continue;
        }
        if format == ConfigFormat::Systemd && line.starts_with('[') && line.ends_with(']') {
            current_section = Some(line[1..line.len() - 1].trim().to_string());
            continue;
        }
        let (k, v) = match format {
            ConfigFormat::Space => match line.split_once(char::is_whitespace) {
                Some((k, v)) => (k, v),
                None => (line, ""),
            },
            // A bare word is a flag (pwquality's `enforce_for_root`): present, with no value.
            _ => line.split_once('=').unwrap_or((line, "")),
        };
        if k.trim() != key {
            continue;
        }
        if format == ConfigFormat::Systemd && current_section.as_deref() != section {
            continue;
        }
        found = Some(unquote(v.trim()).to_string());
    }
    found
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

/// sshd reads the first value of a keyword; an `Include` is read where it stands; a `Match`
/// block ends the global section (its settings apply only to matching connections).
fn sshd(host: &HostRoot, path: &str, key: &str, depth: u32) -> Result<Option<Found>, ReadError> {
    let Some(text) = host.read(path)? else {
        return Ok(None);
    };
    for line in text.lines() {
        let line = strip_comment(line);
        if line.is_empty() {
            continue;
        }
        let (k, v) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (
                k,
                v.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
            ),
            None => (line, ""),
        };
        if k.eq_ignore_ascii_case("match") {
            break;
        }
        if k.eq_ignore_ascii_case("include") && depth < 16 {
            for pattern in v.split_whitespace() {
                let pattern = if pattern.starts_with('/') {
                    pattern.to_string()
                } else {
                    format!("/etc/ssh/{pattern}")
                };
                for file in host.glob(&pattern) {
                    if let Some(found) = sshd(host, &file, key, depth + 1)? {
                        return Ok(Some(found));
                    }
                }
            }
            continue;
        }
        if k.eq_ignore_ascii_case(key) {
            return Ok(Some(Found {
                value: unquote(v.trim()).to_string(),
                file: path.to_string(),
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn host(files: &[(&str, &str)]) -> (tempfile::TempDir, HostRoot) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let host = HostRoot::offline(dir.path());
        (dir, host)
    }

    fn get(
        host: &HostRoot,
        path: &str,
        format: ConfigFormat,
        key: &str,
        section: Option<&str>,
        dropins: Option<&str>,
    ) -> Option<String> {
        lookup(
            host,
            &Lookup {
                path,
                format,
                key,
                section,
                dropins,
            },
        )
        .unwrap()
        .map(|f| f.value)
    }

    #[test]
    fn sshd_first_match_through_includes() {
        let (_d, h) = host(&[
            (
                "/etc/ssh/sshd_config",
                "Include sshd_config.d/*.conf\npermitrootlogin yes\nMaxAuthTries=3\nMatch User bob\n  X11Forwarding yes\n",
            ),
            (
                "/etc/ssh/sshd_config.d/10-hardening.conf",
                "# hardening\nPermitRootLogin no\n",
            ),
        ]);
        let s = |k| {
            get(
                &h,
                "/etc/ssh/sshd_config",
                ConfigFormat::Sshd,
                k,
                None,
                None,
            )
        };
        assert_eq!(s("PermitRootLogin").as_deref(), Some("no"));
        assert_eq!(s("MaxAuthTries").as_deref(), Some("3"));
        assert_eq!(s("X11Forwarding"), None);
    }

    #[test]
    fn key_value_formats_take_the_last_value() {
        let (_d, h) = host(&[
            (
                "/etc/login.defs",
                "PASS_MAX_DAYS 99999\n#PASS_MAX_DAYS 1\nPASS_MAX_DAYS\t365\n",
            ),
            (
                "/etc/security/pwquality.conf",
                "minlen = 8\nenforce_for_root\n",
            ),
            ("/etc/security/pwquality.conf.d/50.conf", "minlen=14\n"),
            (
                "/etc/systemd/journald.conf",
                "[Journal]\nStorage=auto\n[Other]\nStorage=none\n",
            ),
            (
                "/etc/systemd/journald.conf.d/60.conf",
                "[Journal]\nStorage=persistent\n",
            ),
        ]);
        assert_eq!(
            get(
                &h,
                "/etc/login.defs",
                ConfigFormat::Space,
                "PASS_MAX_DAYS",
                None,
                None
            )
            .as_deref(),
            Some("365")
        );
        assert_eq!(
            get(
                &h,
                "/etc/security/pwquality.conf",
                ConfigFormat::Equals,
                "minlen",
                None,
                Some("/etc/security/pwquality.conf.d/*.conf")
            )
            .as_deref(),
            Some("14")
        );
        assert_eq!(
            get(
                &h,
                "/etc/security/pwquality.conf",
                ConfigFormat::Equals,
                "minlen",
                None,
                None
            )
            .as_deref(),
            Some("8")
        );
        assert_eq!(
            get(
                &h,
                "/etc/security/pwquality.conf",
                ConfigFormat::Equals,
                "enforce_for_root",
                None,
                None
            )
            .as_deref(),
            Some("")
        );
        assert_eq!(
            get(
                &h,
                "/etc/systemd/journald.conf",
                ConfigFormat::Systemd,
                "Storage",
                Some("Journal"),
                Some("/etc/systemd/journald.conf.d/*.conf")
            )
            .as_deref(),
            Some("persistent")
        );
        assert_eq!(
            get(
                &h,
                "/etc/systemd/journald.conf",
                ConfigFormat::Systemd,
                "Storage",
                Some("Journal"),
                None
            )
            .as_deref(),
            Some("auto")
        );
        assert_eq!(
            get(
                &h,
                "/etc/missing.conf",
                ConfigFormat::Equals,
                "x",
                None,
                None
            ),
            None
        );
    }
}
