//! One agentless scan: the scanner and the job's checks uploaded into a fresh directory in the
//! login user's home (not /tmp, which hardened hosts mount noexec), the scanner's SHA-256
//! verified there, one run under `timeout` (and `sudo -n`), the directory removed whatever
//! happened, and the answer handed to the ingest an agent's results go through.

use std::time::Duration;

use bulwark_ssh::{RunLimits, RunOutput, Session, SshError};
use bulwark_store::{AgentJob, Escalation, Scope, SshTarget, StoreError};
use tokio::time::Instant;

use super::check::{self, SCANNER_ARCHITECTURES, SshCheckReport, free_kib, output_of};
use super::{Scanner, connect};
use crate::AppState;

/// The scanner's answer is a few hundred KB; far more is not the scanner talking.
const MAX_ANSWER: usize = 16 * 1024 * 1024;
/// What agentless scans tell a check that would run a command: no agent owner opted in.
pub const COMMANDS_REFUSED: &str =
    "agentless scans do not run command checks: there is no agent whose owner could allow them";
const SCANNER_NAME: &str = "bulwark-scanner";

/// Runs a claimed job to its end: the scan is completed with the host's results, or failed
/// with the reason. Never panics the worker.
pub async fn run_job(state: &AppState, job: AgentJob) {
    let started = std::time::Instant::now();
    match scan(state, &job).await {
        Ok(checks) => tracing::info!(
            host = %job.host_id, job = %job.id, checks, ms = started.elapsed().as_millis() as u64,
            "agentless scan completed"
        ),
        Err(reason) => {
            tracing::warn!(host = %job.host_id, job = %job.id, reason = %reason, "agentless scan failed");
            if let Err(e) = state
                .store
                .fail_job(&job.host_id, &job.id, &reason, bulwark_store::now())
                .await
            {
                tracing::error!(job = %job.id, error = %e, "cannot record the failed agentless scan");
            }
            state.provisioning_wake.notify_one();
        }
    }
}

async fn scan(state: &AppState, job: &AgentJob) -> Result<usize, String> {
    let store = &state.store;
    let scan_id = job.scan_id.as_deref().ok_or("the job has no scan")?;
    let scan = store
        .get_scan(&Scope::All, scan_id)
        .await
        .map_err(|e| e.to_string())?;
    if scan.status.is_final() {
        return Ok(0);
    }
    let template = match store.get_template(&Scope::All, &scan.template_id).await {
        Ok(t) => t,
        Err(StoreError::NotFound(_)) => return Err("the scan's template was deleted".into()),
        Err(e) => return Err(e.to_string()),
    };
    let target = store
        .ssh_target(&Scope::All, &job.host_id)
        .await
        .map_err(|e| e.to_string())?;
    if target.host_key.is_none() {
        return Err(
            "the host key is not approved yet: run Check on the host page and approve the key it offers".into(),
        );
    }
    let checks = state
        .checks
        .checks(store.as_ref(), &template)
        .await
        .map_err(|e| e.to_string())?;
    // Exempted rules are not run at all; ingest lists them as exempted.
    let exempted = crate::provisioning::exempted_rules(state, &scan)
        .await
        .map_err(|e| e.to_string())?;
    let enabled: Vec<bulwark_core::Check> = checks
        .iter()
        .filter(|c| c.enabled && !exempted.contains(&c.check.id))
        .map(|c| c.check.for_evaluation())
        .collect();
    let work = match template.engine() {
        bulwark_core::Engine::Native => {
            let scanner = state.agentless.scanner(&state.config.agentless).await?;
            let request = bulwark_scanner::ScanRequest {
                template_id: template.id.clone(),
                template_name: template.name.clone(),
                checks: enabled,
                commands: bulwark_scanner::CommandPolicy::Refused {
                    reason: COMMANDS_REFUSED.into(),
                },
            };
            let job = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
            Work::Native { scanner, job }
        }
        bulwark_core::Engine::Oscap(source) => {
            let datastream = store
                .datastream_for_host(&job.host_id, &source.datastream)
                .await
                .map_err(|e| format!("the template's data stream: {e}"))?;
            Work::Scap {
                source: Box::new(source.clone()),
                datastream,
                rules: enabled.into_iter().map(|c| c.id).collect(),
            }
        }
    };
    store
        .ack_job(&job.host_id, &job.id, bulwark_store::now())
        .await
        .map_err(|e| e.to_string())?;

    let deadline = Instant::now() + state.config.agentless.scan_deadline;
    let session = match connect::open(state, &target).await {
        Ok(session) => session,
        Err(refusal) => {
            if refusal.offered_key.is_some() {
                // The host page shows the key to approve, as after a Check.
                let report = SshCheckReport::refused(refusal.message.clone(), bulwark_store::now());
                let _ = check::record(state, &job.host_id, &report, refusal.offered_key).await;
            }
            return Err(refusal.message);
        }
    };
    let remote = Remote {
        state,
        session: &session,
        target: &target,
        deadline,
    };
    let found = match work {
        Work::Native { scanner, job } => remote
            .scan(&scanner, &job)
            .await
            .map(|answer| (answer.results, Some(answer.os))),
        Work::Scap {
            source,
            datastream,
            rules,
        } => match remote.scap(&source, &datastream).await {
            Ok(arf) => scap_results(state, scan_id, arf, rules)
                .await
                .map(|results| (results, None)),
            Err(reason) => Err(reason),
        },
    };
    session.close().await;
    let (results, os) = found?;

    let count = results.len();
    let now = bulwark_store::now();
    crate::ingest::submit(state, scan_id, results)
        .await
        .map_err(|e| format!("storing the results: {e}"))?;
    let host = store
        .get_host(&Scope::All, &job.host_id)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(os) = os {
        let _ = store
            .update_host_system(
                &job.host_id,
                &host.hostname,
                &os.id,
                &os.version_id,
                &host.kernel,
            )
            .await;
    }
    let _ = store.record_seen(&[(job.host_id.clone(), now)]).await;
    Ok(count)
}

/// What a scan takes to the host.
enum Work {
    Native {
        scanner: std::sync::Arc<Scanner>,
        job: Vec<u8>,
    },
    Scap {
        source: Box<bulwark_core::ScapSource>,
        datastream: Vec<u8>,
        /// The template's enabled rules, in its order.
        rules: Vec<String>,
    },
}

/// The largest ARF taken back from a host; the SCAP Security Guide's CIS profiles write 15 MB.
const MAX_ARF: usize = 128 * 1024 * 1024;

/// Reads the ARF the host's oscap wrote, keeps it with the scan (as an agent's is kept), and
/// answers one result per rule of the template that oscap reported.
async fn scap_results(
    state: &AppState,
    scan_id: &str,
    arf: Vec<u8>,
    rules: Vec<String>,
) -> Result<Vec<bulwark_protocol::wire::AgentResult>, String> {
    let (results, compressed) = tokio::task::spawn_blocking(move || {
        let parsed = bulwark_scap::read_arf_results(&arf)
            .map_err(|e| format!("the ARF the host's oscap wrote: {e}"))?;
        let results: Vec<_> =
            bulwark_scap::check_outcomes(rules.iter().map(String::as_str), &parsed)
                .into_iter()
                .map(|(check_id, outcome)| bulwark_protocol::wire::AgentResult {
                    check_id,
                    outcome,
                })
                .collect();
        let compressed =
            zstd::bulk::compress(&arf, 3).map_err(|e| format!("compressing the ARF: {e}"))?;
        Ok::<_, String>((results, compressed))
    })
    .await
    .map_err(|e| format!("reading the ARF: {e}"))??;
    state
        .store
        .store_artifact(scan_id, "arf", &compressed)
        .await
        .map_err(|e| format!("keeping the ARF: {e}"))?;
    Ok(results)
}

#[derive(Clone, Copy)]
struct Remote<'a> {
    state: &'a AppState,
    session: &'a Session,
    target: &'a SshTarget,
    deadline: Instant,
}

impl Remote<'_> {
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    async fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<RunOutput, String> {
        let limits = RunLimits {
            deadline: self.left(),
            max_output: 64 * 1024,
        };
        self.session
            .run(argv, stdin, limits)
            .await
            .map_err(|e| self.transport(e))
    }

    fn transport(&self, e: SshError) -> String {
        match e {
            SshError::DeadlineExceeded { .. } => {
                "the scan ran past its deadline; what ran on the host was stopped".into()
            }
            SshError::Disconnected { .. } => format!(
                "the connection to {} was lost during the scan",
                self.target.address
            ),
            other => other.to_string(),
        }
    }

    async fn scan(
        &self,
        scanner: &Scanner,
        job: &[u8],
    ) -> Result<bulwark_scanner::ScanAnswer, String> {
        let arch = output_of(self.session, &["uname", "-m"]).await?;
        if arch.lines().count() > 1 {
            return Err(format!(
                "the host answers `uname -m` with more than its architecture ({:?}); does the login shell print text of its own?",
                arch.chars().take(120).collect::<String>()
            ));
        }
        if !SCANNER_ARCHITECTURES.contains(&arch.as_str()) {
            return Err(format!(
                "unsupported architecture {arch:?}: the scanner is built for {}",
                SCANNER_ARCHITECTURES.join(", ")
            ));
        }
        let dir = self.work_dir().await?;
        let result = self.in_work_dir(&dir, scanner, job).await;
        self.clean(&dir).await;
        result
    }

    /// The connection died mid-scan: the host's sshd ended the scan with it, but the work
    /// directory is still there. A new connection removes it.
    async fn remove_after_drop(&self, dir: &str) {
        match connect::open(self.state, self.target).await {
            Ok(session) => {
                let again = Remote {
                    session: &session,
                    ..*self
                };
                again.remove(dir).await;
                session.close().await;
            }
            Err(refusal) => {
                tracing::warn!(dir, reason = %refusal.message, "cannot reconnect to remove the agentless work directory")
            }
        }
    }

    /// A fresh directory in the login's home: not /tmp, which hardened hosts mount noexec.
    async fn work_dir(&self) -> Result<String, String> {
        let dir = output_of(
            self.session,
            &[
                "sh",
                "-c",
                "umask 077 && mktemp -d \"${HOME:-/tmp}/.bulwark-scan.XXXXXXXXXX\"",
            ],
        )
        .await
        .map_err(|e| format!("cannot make a work directory on the host: {e}"))?;
        if !is_work_dir(&dir) {
            return Err(format!(
                "the host's answer to mktemp is not a directory name ({:?}); does the login shell print text of its own?",
                dir.chars().take(120).collect::<String>()
            ));
        }
        Ok(dir)
    }

    /// Removes the work directory, over a new connection if the first one dropped.
    async fn clean(&self, dir: &str) {
        if !self.session.is_closed() {
            self.remove(dir).await;
        } else {
            self.remove_after_drop(dir).await;
        }
    }

    /// An SCAP template: the data stream evaluated by the host's own oscap, as oscap-ssh does,
    /// and the ARF it writes brought back.
    async fn scap(
        &self,
        source: &bulwark_core::ScapSource,
        datastream: &[u8],
    ) -> Result<Vec<u8>, String> {
        if output_of(self.session, &["oscap", "--version"])
            .await
            .is_err()
        {
            return Err(
                "the host has no OpenSCAP scanner (oscap) for this SCAP template: install the openscap-scanner package there, or scan it with a native template".into(),
            );
        }
        let dir = self.work_dir().await?;
        let result = self.scap_in(&dir, source, datastream).await;
        self.clean(&dir).await;
        result
    }

    async fn scap_in(
        &self,
        dir: &str,
        source: &bulwark_core::ScapSource,
        datastream: &[u8],
    ) -> Result<Vec<u8>, String> {
        self.room_for(dir, datastream.len() as u64 * 4).await?;
        let ds = format!("{dir}/datastream.xml");
        let arf = format!("{dir}/results-arf.xml");
        self.upload(&ds, datastream, dir).await?;
        let sum = output_of(self.session, &["sha256sum", &ds]).await?;
        if sum.split_whitespace().next() != Some(source.datastream.as_str()) {
            return Err("the data stream on the host is not the one sent (SHA-256 differs)".into());
        }
        let remote = self.left().as_secs().saturating_sub(3).max(1).to_string();
        let mut argv: Vec<&str> = vec!["timeout", "-k", "2", &remote];
        if self.target.escalation == Escalation::Sudo {
            argv.extend(["sudo", "-n"]);
        }
        argv.extend(["oscap", "xccdf", "eval", "--profile", &source.profile_id]);
        if let (Some(ds_id), Some(xccdf)) = (&source.datastream_id, &source.xccdf_id) {
            argv.extend(["--datastream-id", ds_id, "--xccdf-id", xccdf]);
        }
        argv.extend(["--results-arf", &arf, &ds]);
        let limits = RunLimits {
            deadline: self.left(),
            max_output: 4 * 1024 * 1024,
        };
        let out = self
            .session
            .run(&argv, None, limits)
            .await
            .map_err(|e| self.transport(e))?;
        // 0: every rule passed; 2: some failed. Anything else is the scanner's own failure.
        if !matches!(out.exit_status, Some(0 | 2)) {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(match out.exit_status {
                Some(124 | 137) => DEADLINE_ON_HOST.into(),
                Some(1) if is_sudo_refusal(&stderr) => sudo_refusal(&stderr, &self.target.username),
                status => format!(
                    "oscap failed on the host (exit {}): {}",
                    status.map_or("by a signal".to_string(), |s| s.to_string()),
                    tail.join(" | ")
                ),
            });
        }
        let limits = RunLimits {
            deadline: self.left(),
            max_output: MAX_ARF,
        };
        let taken = self
            .session
            .run(&["cat", &arf], None, limits)
            .await
            .map_err(|e| self.transport(e))?;
        if taken.truncated {
            return Err(format!(
                "the ARF oscap wrote is larger than {} MB",
                MAX_ARF / (1024 * 1024)
            ));
        }
        if taken.exit_status != Some(0) {
            return Err(format!(
                "oscap wrote no ARF: {}",
                String::from_utf8_lossy(&taken.stderr).trim()
            ));
        }
        Ok(taken.stdout)
    }

    async fn room_for(&self, dir: &str, needed: u64) -> Result<(), String> {
        if let Ok(df) = output_of(self.session, &["df", "-Pk", dir]).await
            && let Some(free) = free_kib(&df)
            && free * 1024 < needed
        {
            return Err(format!(
                "no space for the scan in {dir}: {free} KiB free, {} KiB needed",
                needed / 1024
            ));
        }
        Ok(())
    }

    /// Always runs, with a few seconds of its own: a failed or timed-out scan leaves nothing.
    async fn remove(&self, dir: &str) {
        let limits = RunLimits {
            deadline: Duration::from_secs(20),
            max_output: 4096,
        };
        match self
            .session
            .run(&["rm", "-rf", "--", dir], None, limits)
            .await
        {
            Ok(out) if out.exit_status == Some(0) => {}
            other => {
                tracing::warn!(dir, result = ?other.map(|o| o.exit_status), "could not remove the agentless work directory")
            }
        }
    }

    async fn in_work_dir(
        &self,
        dir: &str,
        scanner: &Scanner,
        job: &[u8],
    ) -> Result<bulwark_scanner::ScanAnswer, String> {
        self.room_for(dir, (scanner.bytes.len() + job.len()) as u64 * 2)
            .await
            .map_err(|e| e.replace("for the scan", "for the scanner"))?;
        let program = format!("{dir}/{SCANNER_NAME}");
        let job_file = format!("{dir}/job.json");
        self.upload(&program, &scanner.bytes, dir).await?;
        self.upload(&job_file, job, dir).await?;
        let sum = output_of(self.session, &["sha256sum", &program]).await?;
        let uploaded = sum.split_whitespace().next().unwrap_or_default();
        if uploaded != scanner.sha256 {
            return Err(format!(
                "the scanner on the host is not the one sent (SHA-256 {uploaded}, expected {})",
                scanner.sha256
            ));
        }
        // The host's `timeout` ends the run a little before our deadline and the scanner's own
        // a little before that, so that the most specific of the three reports it.
        let remote_secs = self.left().as_secs().saturating_sub(3).max(1);
        let (remote, own) = (
            remote_secs.to_string(),
            remote_secs.saturating_sub(2).max(1).to_string(),
        );
        let mut argv: Vec<&str> = vec!["timeout", "-k", "2", &remote];
        if self.target.escalation == Escalation::Sudo {
            argv.extend(["sudo", "-n"]);
        }
        argv.extend([
            program.as_str(),
            "--job",
            &job_file,
            "--deadline-secs",
            &own,
        ]);
        let limits = RunLimits {
            deadline: self.left(),
            max_output: MAX_ANSWER,
        };
        let out = self
            .session
            .run(&argv, None, limits)
            .await
            .map_err(|e| self.transport(e))?;
        read_answer(&out, dir, &self.target.username)
    }

    async fn upload(&self, path: &str, bytes: &[u8], dir: &str) -> Result<(), String> {
        let out = self
            .run(
                &["sh", "-c", "cat > \"$1\" && chmod 700 \"$1\"", "sh", path],
                Some(bytes),
            )
            .await?;
        if out.exit_status == Some(0) {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No space left") {
            Err(format!("no space left for the scanner in {dir}"))
        } else {
            Err(format!("uploading to {path} failed: {}", stderr.trim()))
        }
    }
}

const DEADLINE_ON_HOST: &str = "the scan ran past its deadline on the host and was stopped there";

fn is_sudo_refusal(stderr: &str) -> bool {
    stderr.starts_with("sudo:")
        || stderr.contains("sudoers")
        || stderr.contains("password is required")
}

/// What sudo's refusal means for the person who must fix it.
fn sudo_refusal(stderr: &str, user: &str) -> String {
    if stderr.contains("password is required") {
        format!(
            "sudo asks {user} for a password; give it passwordless sudo for the scanner (README: agentless scanning)"
        )
    } else if stderr.contains("tty") {
        "sudoers has requiretty for this user, and a scan has no terminal; add `Defaults:USER !requiretty`".into()
    } else {
        format!("sudo refused to run the scanner: {stderr}")
    }
}

/// `mktemp`'s answer as it must look: one absolute path to our directory.
fn is_work_dir(dir: &str) -> bool {
    dir.starts_with('/')
        && dir.contains("/.bulwark-scan.")
        && !dir.contains(|c: char| c.is_whitespace() || c.is_control())
}

/// What the scanner's run says: its answer, or why there is none, in words a person can act on.
fn read_answer(
    out: &RunOutput,
    dir: &str,
    user: &str,
) -> Result<bulwark_scanner::ScanAnswer, String> {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.truncated {
        return Err(format!(
            "the host printed more than {} MB instead of the scanner's answer; does the login shell print text of its own?",
            MAX_ANSWER / (1024 * 1024)
        ));
    }
    match out.exit_status {
        Some(0) => serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "the host's answer is not the scanner's JSON ({e}); it began {:?}",
                String::from_utf8_lossy(&out.stdout)
                    .chars()
                    .take(120)
                    .collect::<String>()
            )
        }),
        Some(124) | Some(137) => Err(DEADLINE_ON_HOST.into()),
        Some(126) => Err(format!(
            "the scanner cannot be executed in {dir} ({stderr}); is the home directory mounted noexec?"
        )),
        Some(3) => Err(stderr),
        Some(1) if is_sudo_refusal(&stderr) => Err(sudo_refusal(&stderr, user)),
        status => Err(format!(
            "the scanner failed (exit {}): {stderr}",
            status.map_or("by a signal".to_string(), |s| s.to_string())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(status: Option<u32>, stdout: &str, stderr: &str) -> RunOutput {
        RunOutput {
            exit_status: status,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn every_way_a_run_ends_has_a_reason() {
        let cases = [
            (out(Some(0), "garbage", ""), "not the scanner's JSON"),
            (out(Some(124), "", ""), "deadline"),
            (out(Some(126), "", "Permission denied"), "noexec"),
            (out(Some(1), "", "sudo: a password is required"), "password"),
            (
                out(Some(1), "", "sudo: sorry, you must have a tty to run sudo"),
                "requiretty",
            ),
            (
                out(Some(3), "", "bulwark-scanner: cannot start other programs"),
                "cannot start",
            ),
            (
                out(Some(1), "", "sudo: user scan is not allowed to execute x"),
                "sudo refused",
            ),
            (out(None, "", ""), "by a signal"),
        ];
        for (run, want) in cases {
            let reason = read_answer(&run, "/home/scan/.bulwark-scan.x", "scan").unwrap_err();
            assert!(reason.contains(want), "{reason:?} lacks {want:?}");
        }
        let mut flood = out(Some(0), "x", "");
        flood.truncated = true;
        assert!(
            read_answer(&flood, "/d", "u")
                .unwrap_err()
                .contains("more than 16 MB")
        );
    }

    #[test]
    fn only_our_directory_is_a_work_directory() {
        assert!(is_work_dir("/home/scan/.bulwark-scan.AbC123xYz0"));
        assert!(!is_work_dir("Welcome!\n/home/scan/.bulwark-scan.AbC"));
        assert!(!is_work_dir("/home/scan"));
        assert!(!is_work_dir("relative/.bulwark-scan.x"));
    }
}
