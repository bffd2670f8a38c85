//! Jobs of templates with the `oscap` engine: the agent runs OpenSCAP on the exact data
//! stream the template was imported from (fetched from the server once, kept under its
//! SHA-256 and checked against it), reads the ARF it writes, and reports each of the
//! template's rules. No shell is involved: `oscap` gets its arguments as a list.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bulwark_core::{Check, ScapSource};
use bulwark_engine::collect::command::{Capture, RunError, run_bounded};
use bulwark_protocol::wire::AgentResult;
use bulwark_scap::read_arf_results;
use sha2::{Digest, Sha256};

/// A profile of a large benchmark takes seconds to minutes; a scanner stuck for this long is
/// stopped and the scan failed.
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What is kept of oscap's messages: enough for its last lines in a failed job's reason.
const MAX_MESSAGE_BYTES: u64 = 256 * 1024;

/// What one run gave: a result per rule the template lists, and the ARF as oscap wrote it.
pub struct OscapRun {
    pub results: Vec<AgentResult>,
    pub arf: Vec<u8>,
}

/// Where a verified copy of the data stream lives in the agent's state directory.
pub fn cached_datastream(state_dir: &Path, digest: &str) -> PathBuf {
    state_dir.join("scap").join(format!("{digest}.xml"))
}

/// Keeps a downloaded data stream if its bytes have the digest the signed job named.
pub fn keep_datastream(state_dir: &Path, digest: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let actual = hex::encode(Sha256::digest(bytes));
    if actual != digest {
        return Err(format!(
            "the server sent a data stream with SHA-256 {actual}, but the job names {digest}"
        ));
    }
    let path = cached_datastream(state_dir, digest);
    path.parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| crate::daemon::files::write_atomic(&path, bytes, 0o600))
        .map_err(|e| format!("cannot keep the data stream at {}: {e:#}", path.display()))?;
    Ok(path)
}

/// Whether a cached copy is still the file the digest names.
pub fn verified(path: &Path, digest: &str) -> bool {
    std::fs::read(path).is_ok_and(|bytes| hex::encode(Sha256::digest(&bytes)) == digest)
}

/// Finds a program in a `PATH`-style list of directories.
fn on_path(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    path.and_then(|paths| {
        std::env::split_paths(paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// The command that evaluates `root`: `oscap` for this host, `oscap-chroot ROOT` for a
/// mounted filesystem, looked up in `path` (the process's `PATH`).
fn scanner(root: &Path, path: Option<&std::ffi::OsStr>) -> Result<Command, String> {
    let live = root == Path::new("/");
    let (program, package) = match live {
        true => ("oscap", "openscap-scanner"),
        false => ("oscap-chroot", "openscap-utils"),
    };
    let path = on_path(program, path).ok_or_else(|| {
        format!(
            "{program} is not installed on this host: install the package {package} \
             (Debian/Ubuntu: apt-get install {package}; RHEL-like: dnf install openscap-scanner)"
        )
    })?;
    let mut command = Command::new(path);
    if !live {
        command.arg(root);
    }
    Ok(command)
}

/// Runs the profile and reads its results.
pub fn run(
    root: &Path,
    datastream: &Path,
    source: &ScapSource,
    checks: &[Check],
    timeout: Duration,
) -> Result<OscapRun, String> {
    let command = scanner(root, std::env::var_os("PATH").as_deref())?;
    evaluate(command, datastream, source, checks, timeout)
}

/// Runs `command` (the scanner, with the root for oscap-chroot) on the data stream's profile.
fn evaluate(
    mut command: Command,
    datastream: &Path,
    source: &ScapSource,
    checks: &[Check],
    timeout: Duration,
) -> Result<OscapRun, String> {
    let work = tempfile::tempdir().map_err(|e| format!("cannot make a work directory: {e}"))?;
    let arf_path = work.path().join("results-arf.xml");
    command.args(["xccdf", "eval", "--profile", &source.profile_id]);
    if let (Some(ds), Some(xccdf)) = (&source.datastream_id, &source.xccdf_id) {
        command.args(["--datastream-id", ds, "--xccdf-id", xccdf]);
    }
    command.arg("--results-arf").arg(&arf_path).arg(datastream);
    let (status, stderr) = run_bounded(command, Capture::Stderr, MAX_MESSAGE_BYTES, timeout)
        .map_err(|e| match e {
            RunError::Start(e) => format!("cannot start oscap: {e}"),
            RunError::TimedOut => format!(
                "oscap did not finish within {} s and was stopped",
                timeout.as_secs()
            ),
            RunError::Wait(e) => format!("waiting for oscap: {e}"),
        })?;
    let stderr = String::from_utf8_lossy(&stderr);
    // 0: every rule passed; 2: some failed. Anything else is the scanner's own failure.
    if !matches!(status.code(), Some(0 | 2)) {
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("oscap failed ({status}): {}", tail.join(" | ")));
    }
    let arf = std::fs::read(&arf_path)
        .map_err(|e| format!("oscap wrote no ARF ({e}); it said: {}", stderr.trim()))?;
    let parsed = read_arf_results(&arf).map_err(|e| format!("the ARF oscap wrote: {e}"))?;
    let results = bulwark_scap::check_outcomes(checks.iter().map(|c| c.id.as_str()), &parsed)
        .into_iter()
        .map(|(check_id, outcome)| AgentResult { check_id, outcome })
        .collect();
    Ok(OscapRun { results, arf })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn source() -> ScapSource {
        ScapSource {
            datastream: "0".repeat(64),
            file_name: "ds.xml".into(),
            datastream_id: None,
            xccdf_id: None,
            benchmark_id: "b".into(),
            profile_id: "p".into(),
            platforms: vec![],
            values: vec![],
        }
    }

    /// A stand-in scanner: a script in a directory of its own.
    fn fake_scanner(dir: &Path, body: &str) -> Command {
        let path = dir.join("oscap");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Command::new(path)
    }

    #[test]
    fn a_missing_scanner_names_the_package_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let path = Some(empty.path().as_os_str());
        for (root, package) in [("/", "openscap-scanner"), ("/mnt/image", "openscap-utils")] {
            let err = scanner(Path::new(root), path).err().unwrap();
            assert!(
                err.contains(&format!("install the package {package}")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_crashing_or_hanging_scanner_fails_with_its_message() {
        let dir = tempfile::tempdir().unwrap();
        let ds = dir.path().join("ds.xml");
        let crash = fake_scanner(
            dir.path(),
            "echo 'OpenSCAP Error: no such profile' >&2; exit 1",
        );
        let err = evaluate(crash, &ds, &source(), &[], Duration::from_secs(30))
            .err()
            .unwrap();
        assert!(
            err.contains("oscap failed") && err.contains("no such profile"),
            "{err}"
        );

        let hang = fake_scanner(dir.path(), "exec sleep 30");
        let err = evaluate(hang, &ds, &source(), &[], Duration::from_millis(300))
            .err()
            .unwrap();
        assert!(err.contains("did not finish within"), "{err}");

        let silent = fake_scanner(dir.path(), "exit 2");
        let err = evaluate(silent, &ds, &source(), &[], Duration::from_secs(30))
            .err()
            .unwrap();
        assert!(err.contains("wrote no ARF"), "{err}");
    }

    #[test]
    fn a_data_stream_is_kept_only_with_the_digest_the_job_names() {
        let state = tempfile::tempdir().unwrap();
        let bytes = b"<ds/>";
        let digest = hex::encode(Sha256::digest(bytes));
        let kept = keep_datastream(state.path(), &digest, bytes).unwrap();
        assert!(verified(&kept, &digest));
        let err = keep_datastream(state.path(), &"f".repeat(64), bytes).unwrap_err();
        assert!(err.contains("but the job names"), "{err}");
    }
}
