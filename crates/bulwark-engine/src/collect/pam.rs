//! PAM service files: the control and arguments of a module line.

use crate::host::{HostRoot, ReadError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    pub control: String,
    pub args: Vec<String>,
    pub line: String,
}

/// The first line of `pam_type` that loads `module` in /etc/pam.d/`service`.
pub fn find(
    host: &HostRoot,
    service: &str,
    pam_type: &str,
    module: &str,
) -> Result<Option<PamLine>, ReadError> {
    let path = format!("/etc/pam.d/{service}");
    let Some(text) = host.read(&path)? else {
        return Ok(None);
    };
    for logical in logical_lines(&text) {
        let line = logical.trim();
        if line.is_empty() {
            continue;
        }
        let mut tokens = tokenize(line).into_iter();
        let Some(t) = tokens.next() else { continue };
        if t.trim_start_matches('-') != pam_type {
            continue;
        }
        let Some(control) = tokens.next() else {
            continue;
        };
        let Some(m) = tokens.next() else { continue };
        if m.rsplit('/').next() != Some(module) {
            continue;
        }
        return Ok(Some(PamLine {
            control,
            args: tokens.collect(),
            line: line.to_string(),
        }));
    }
    Ok(None)
}

/// The lines libpam reads: a backslash at the end continues a line, and `#` starts a comment
/// wherever it stands (so `pam_pwhistory.so remember=5 # enforce_for_root` has no
/// `enforce_for_root`).
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        match raw.strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued);
                current.push(' ');
            }
            None => {
                current.push_str(raw);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    for line in &mut out {
        if let Some(at) = line.find('#') {
            line.truncate(at);
        }
    }
    out
}

/// Splits a PAM line into words, keeping `[...]` groups (controls and arguments) whole.
fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth -= 1;
                current.push(c);
            }
            c if c.is_whitespace() && depth == 0 => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The value of an argument: `remember=5` gives `5`, a bare flag gives `present`.
pub fn arg_value(line: &PamLine, arg: &str) -> Option<String> {
    line.args.iter().find_map(|a| match a.split_once('=') {
        Some((k, v)) if k == arg => Some(v.to_string()),
        None if a == arg => Some("present".to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_bracketed_controls() {
        assert_eq!(
            tokenize("auth [success=1 default=ignore] pam_unix.so nullok"),
            [
                "auth",
                "[success=1 default=ignore]",
                "pam_unix.so",
                "nullok"
            ]
        );
    }

    #[test]
    fn finds_module_lines_and_args() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/pam.d")).unwrap();
        std::fs::write(
            dir.path().join("etc/pam.d/common-password"),
            "# comment\npassword requisite pam_pwquality.so retry=3\npassword [success=1 default=ignore] /lib/security/pam_unix.so obscure yescrypt\n-password optional pam_gnome_keyring.so\n",
        )
        .unwrap();
        let host = HostRoot::offline(dir.path());
        let unix = find(&host, "common-password", "password", "pam_unix.so")
            .unwrap()
            .unwrap();
        assert_eq!(unix.control, "[success=1 default=ignore]");
        assert_eq!(arg_value(&unix, "yescrypt").as_deref(), Some("present"));
        assert_eq!(arg_value(&unix, "nullok"), None);
        let q = find(&host, "common-password", "password", "pam_pwquality.so")
            .unwrap()
            .unwrap();
        assert_eq!(arg_value(&q, "retry").as_deref(), Some("3"));
        assert!(
            find(&host, "common-password", "auth", "pam_unix.so")
                .unwrap()
                .is_none()
        );
        assert!(
            find(&host, "common-password", "password", "pam_gnome_keyring.so")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn comments_and_continuations_are_read_as_libpam_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/pam.d")).unwrap();
        std::fs::write(
            dir.path().join("etc/pam.d/common-password"),
            "password required pam_pwhistory.so remember=24 use_authtok # enforce_for_root\n\
             password requisite pam_pwquality.so \\\n  retry=3 enforce_for_root\n",
        )
        .unwrap();
        let host = HostRoot::offline(dir.path());
        let history = find(&host, "common-password", "password", "pam_pwhistory.so")
            .unwrap()
            .unwrap();
        assert_eq!(arg_value(&history, "remember").as_deref(), Some("24"));
        assert_eq!(
            arg_value(&history, "enforce_for_root"),
            None,
            "a comment is no argument"
        );
        let quality = find(&host, "common-password", "password", "pam_pwquality.so")
            .unwrap()
            .unwrap();
        assert_eq!(
            arg_value(&quality, "enforce_for_root").as_deref(),
            Some("present"),
            "a continued line keeps its arguments"
        );
    }
}
