//! Check and Detect OS: connect with the pinned key, then ask the host what a scan will need
//! (its OS and architecture, sudo without a password, room for the scanner, oscap) and keep
//! the OS, so that templates are chosen for it like for an agent's host.

use bulwark_ssh::{RunLimits, Session};
use bulwark_store::{Escalation, Scope, SshCheckRecord, SshTarget};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::connect;
use crate::AppState;
use crate::error::ApiResult;

/// The architectures there is a scanner build for (`uname -m`).
pub const SCANNER_ARCHITECTURES: [&str; 1] = ["x86_64"];

bulwark_core::text_enum! {
    /// What `sudo -n -l` says the login user may do without a password.
    pub enum SudoAccess as "sudo access" {
        /// The host's escalation is `none`: the scan runs as the login user.
        NotUsed = "not_used",
        /// Commands run without a password (all of them, or the scanner).
        Passwordless = "passwordless",
        NeedsPassword = "needs_password",
        /// sudoers has `requiretty`, which a non-interactive session can never satisfy.
        RequiresTty = "requires_tty",
        /// sudoers sets NOEXEC, under which the scanner cannot start the programs it asks.
        Noexec = "noexec",
        Denied = "denied",
        Unknown = "unknown",
    }
}

/// What one check of an agentless host found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SshCheckReport {
    /// A scan can run: logged in, a Linux host of a supported architecture, sudo usable
    /// when asked for, and room for the scanner.
    pub ok: bool,
    /// Why not, in words a person can act on.
    pub problems: Vec<String>,
    pub checked_at: i64,
    pub logged_in: bool,
    /// os-release ID, VERSION_ID and PRETTY_NAME.
    pub os_id: Option<String>,
    pub os_version: Option<String>,
    pub os_name: Option<String>,
    pub kernel: Option<String>,
    pub architecture: Option<String>,
    pub sudo: SudoAccess,
    /// Where scans put the scanner (the login user's home directory), and its free space.
    pub work_dir: Option<String>,
    pub work_dir_free_mb: Option<u64>,
    /// `oscap --version`'s first line, when the host has OpenSCAP (SCAP templates need it).
    pub oscap: Option<String>,
}

impl SshCheckReport {
    /// Nothing learnt yet: a check that has not logged in.
    fn empty(now: i64) -> Self {
        SshCheckReport {
            ok: false,
            problems: Vec::new(),
            checked_at: now,
            logged_in: false,
            os_id: None,
            os_version: None,
            os_name: None,
            kernel: None,
            architecture: None,
            sudo: SudoAccess::Unknown,
            work_dir: None,
            work_dir_free_mb: None,
            oscap: None,
        }
    }

    /// A check (or a scan) that could not log in, and why.
    pub(super) fn refused(message: String, now: i64) -> Self {
        SshCheckReport {
            problems: vec![message],
            ..SshCheckReport::empty(now)
        }
    }
}

const SHORT: RunLimits = RunLimits {
    deadline: Duration::from_secs(20),
    max_output: 256 * 1024,
};

/// A command's stdout (trimmed) when it exits 0.
pub(super) async fn output_of(session: &Session, argv: &[&str]) -> Result<String, String> {
    let out = session
        .run(argv, None, SHORT)
        .await
        .map_err(|e| e.to_string())?;
    if out.truncated {
        return Err(format!(
            "the host printed more than {} KB in answer to `{}`; does the login shell print text of its own?",
            SHORT.max_output / 1024,
            argv.join(" ")
        ));
    }
    if out.exit_status == Some(0) {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Reads `sudo -n -l`: whether the scan can escalate without a password or a terminal.
pub(super) fn sudo_access(exit_ok: bool, stdout: &str, stderr: &str) -> SudoAccess {
    let err = stderr.to_lowercase();
    if !exit_ok {
        return if err.contains("password is required") {
            SudoAccess::NeedsPassword
        } else if err.contains("tty") {
            SudoAccess::RequiresTty
        } else if err.contains("not in the sudoers") || err.contains("may not run sudo") {
            SudoAccess::Denied
        } else {
            SudoAccess::Unknown
        };
    }
    let rules: Vec<&str> = stdout.lines().filter(|l| l.contains("NOPASSWD:")).collect();
    let usable = |l: &&&str| {
        let after = l.split("NOPASSWD:").nth(1).unwrap_or_default();
        after.contains("ALL") || after.contains("bulwark-scanner")
    };
    match rules.iter().find(usable) {
        Some(rule) if rule.contains("NOEXEC:") => SudoAccess::Noexec,
        Some(_) => SudoAccess::Passwordless,
        None => SudoAccess::NeedsPassword,
    }
}

fn sudo_problem(access: SudoAccess, user: &str) -> Option<String> {
    match access {
        SudoAccess::NotUsed | SudoAccess::Passwordless => None,
        SudoAccess::NeedsPassword => Some(format!(
            "sudo asks {user} for a password; give it passwordless sudo for the scanner (README: agentless scanning)"
        )),
        SudoAccess::RequiresTty => Some(
            "sudoers has requiretty for this user, and a scan has no terminal; add `Defaults:USER !requiretty`".into(),
        ),
        SudoAccess::Noexec => Some(
            "sudoers sets NOEXEC for this user's rule; the scanner must start systemctl and rpm, so drop NOEXEC from the scanner's rule".into(),
        ),
        SudoAccess::Denied => Some(format!("{user} may not use sudo on this host")),
        SudoAccess::Unknown => Some("sudo's answer could not be read".into()),
    }
}

/// Free KiB in `df -Pk`'s last line (the fourth column).
pub(super) fn free_kib(df: &str) -> Option<u64> {
    df.lines().last()?.split_whitespace().nth(3)?.parse().ok()
}

/// Checks a host now (the caller has checked the host is theirs), records what was found, and
/// keeps the OS it detected.
pub async fn check_host(state: &AppState, host_id: &str) -> ApiResult<SshCheckReport> {
    let target = state.store.ssh_target(&Scope::All, host_id).await?;
    let now = bulwark_store::now();
    let report = match connect::open(state, &target).await {
        Err(refusal) => {
            let report = SshCheckReport::refused(refusal.message, now);
            record(state, host_id, &report, refusal.offered_key).await?;
            return Ok(report);
        }
        Ok(session) => {
            let report = inspect(state, &session, &target, now).await;
            session.close().await;
            report
        }
    };
    record(state, host_id, &report, None).await?;
    if let (Some(os_id), Some(version)) = (&report.os_id, &report.os_version) {
        let host = state.store.get_host(&Scope::All, host_id).await?;
        state
            .store
            .update_host_system(
                host_id,
                &host.hostname,
                os_id,
                version,
                report.kernel.as_deref().unwrap_or_default(),
            )
            .await?;
    }
    Ok(report)
}

/// Keeps the report on the host's target; `offered_key` is a key the host presented that is
/// not the approved one.
pub(super) async fn record(
    state: &AppState,
    host_id: &str,
    report: &SshCheckReport,
    offered_key: Option<String>,
) -> ApiResult<()> {
    let record = SshCheckRecord {
        ok: report.ok,
        offered_key,
        report: serde_json::to_string(report).expect("a report serializes"),
    };
    state
        .store
        .record_ssh_check(host_id, &record, report.checked_at)
        .await?;
    Ok(())
}

async fn inspect(
    state: &AppState,
    session: &Session,
    target: &SshTarget,
    now: i64,
) -> SshCheckReport {
    let mut report = SshCheckReport::empty(now);
    report.logged_in = true;
    match output_of(session, &["uname", "-s", "-r", "-m"]).await {
        Ok(uname) => {
            let words: Vec<&str> = uname.split_whitespace().collect();
            if words.first() != Some(&"Linux") {
                report
                    .problems
                    .push(format!("not a Linux host (uname says {uname:?})"));
            }
            report.kernel = words.get(1).map(|s| s.to_string());
            report.architecture = words.get(2).map(|s| s.to_string());
        }
        Err(e) => report.problems.push(format!("uname failed: {e}")),
    }
    if let Some(arch) = &report.architecture
        && !SCANNER_ARCHITECTURES.contains(&arch.as_str())
    {
        report.problems.push(format!(
            "unsupported architecture {arch}: the scanner is built for {}",
            SCANNER_ARCHITECTURES.join(", ")
        ));
    }
    let os_release = match output_of(session, &["cat", "/etc/os-release"]).await {
        Ok(text) => Ok(text),
        Err(_) => output_of(session, &["cat", "/usr/lib/os-release"]).await,
    };
    match os_release {
        Ok(text) => {
            let os = bulwark_core::platform::parse_os_release(&text);
            report.os_id = Some(os.id);
            report.os_version = Some(os.version_id);
            report.os_name = Some(os.pretty_name);
        }
        Err(e) => report
            .problems
            .push(format!("no /etc/os-release to detect the OS from: {e}")),
    }
    report.sudo = match target.escalation {
        Escalation::None => SudoAccess::NotUsed,
        Escalation::Sudo => match session.run(&["sudo", "-n", "-l"], None, SHORT).await {
            Ok(out) => sudo_access(
                out.exit_status == Some(0),
                &String::from_utf8_lossy(&out.stdout),
                &String::from_utf8_lossy(&out.stderr),
            ),
            Err(e) => {
                report.problems.push(format!("sudo -n -l failed: {e}"));
                SudoAccess::Unknown
            }
        },
    };
    if let Some(problem) = sudo_problem(report.sudo, &target.username) {
        report.problems.push(problem);
    }
    if let Ok(home) = output_of(session, &["sh", "-c", "printf '%s\\n' \"${HOME:-/tmp}\""]).await {
        if let Ok(df) = output_of(session, &["df", "-Pk", &home]).await {
            report.work_dir_free_mb = free_kib(&df).map(|k| k / 1024);
        }
        report.work_dir = Some(home);
    }
    let needed_mb = state
        .agentless
        .scanner(&state.config.agentless)
        .await
        .map(|s| (s.bytes.len() as u64 * 2).div_ceil(1024 * 1024))
        .unwrap_or(16);
    if let Some(free) = report.work_dir_free_mb
        && free < needed_mb
    {
        report.problems.push(format!(
            "only {free} MB free in {}; a scan needs {needed_mb} MB there",
            report.work_dir.as_deref().unwrap_or("the home directory")
        ));
    }
    report.oscap = output_of(session, &["oscap", "--version"])
        .await
        .ok()
        .and_then(|v| v.lines().next().map(str::to_string));
    report.ok = report.problems.is_empty();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_listings_read_as_the_scan_will_meet_them() {
        let cases = [
            (
                true,
                "User scan may run the following commands on h:\n    (ALL) NOPASSWD: ALL\n",
                "",
                SudoAccess::Passwordless,
            ),
            (
                true,
                "    (root) NOPASSWD: sha256:ab12 /home/scan/.bulwark-scan.*/bulwark-scanner\n",
                "",
                SudoAccess::Passwordless,
            ),
            (
                true,
                "    (root) NOPASSWD: NOEXEC: ALL\n",
                "",
                SudoAccess::Noexec,
            ),
            (true, "    (ALL : ALL) ALL\n", "", SudoAccess::NeedsPassword),
            (
                true,
                "    (root) NOPASSWD: /usr/bin/apt\n",
                "",
                SudoAccess::NeedsPassword,
            ),
            (
                false,
                "",
                "sudo: a password is required\n",
                SudoAccess::NeedsPassword,
            ),
            (
                false,
                "",
                "sudo: sorry, you must have a tty to run sudo\n",
                SudoAccess::RequiresTty,
            ),
            (
                false,
                "",
                "scan is not in the sudoers file.\n",
                SudoAccess::Denied,
            ),
            (
                false,
                "",
                "Sorry, user scan may not run sudo on h.\n",
                SudoAccess::Denied,
            ),
        ];
        for (ok, out, err, want) in cases {
            assert_eq!(sudo_access(ok, out, err), want, "{out}{err}");
        }
    }

    #[test]
    fn free_space_is_read_from_df() {
        let df = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/sda1         30830500 12345678  17000000      43% /\n";
        assert_eq!(free_kib(df), Some(17_000_000));
        assert_eq!(free_kib("garbage"), None);
    }
}
