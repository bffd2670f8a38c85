//! `bulwark-agent run`: the daemon. It enrolls once (id, key and the server's job key are
//! kept in the state directory), then runs four loops: heartbeat (~60 s, jittered),
//! inventory (~300 s, differential), jobs (long poll; a job runs only if the server's key
//! signed it for this agent) and the spool (whatever could not be sent, oldest first).

pub mod actions;
pub mod client;
pub mod config;
mod files;
pub mod install;
mod oscap;
pub mod spool;
pub mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use bulwark_core::{Engine, JobType};
use bulwark_engine::HostRoot;
use bulwark_protocol::inventory::CategoryJson;
use bulwark_protocol::jobs::Opened;
use bulwark_protocol::wire::{
    self, AgentResult, EnrollRequest, FailRequest, HeartbeatRequest, HeartbeatResponse,
    InventoryRequest, InventoryResponse, JobsResponse, ResultsRequest, ResultsResponse,
};
use bulwark_protocol::{Job, JobKind, SignedJob};
use bulwark_scanner::{CommandPolicy, ScanRequest};
use rand::Rng;
use tokio::sync::Mutex as AsyncMutex;

use client::{CallError, Client, now};
use config::AgentConfig;
use spool::{Item, Spool};
use state::{Enrollment, State};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Seconds a job poll waits on the server.
const POLL_WAIT_SECS: u64 = 30;

/// A running agent: its configuration, identity and what enrollment told it.
pub struct Daemon {
    config: AgentConfig,
    state: State,
    http: reqwest::Client,
    client: Client,
    enrollment: Mutex<Enrollment>,
    intervals: Mutex<(u64, u64)>,
    spool: Mutex<Spool>,
    /// Held while enrolling again, so loops that all hear "not enrolled" enroll once.
    reenrolling: AsyncMutex<()>,
    /// Inventory syncs the server refused in a row, and its last reason; reported in every
    /// heartbeat until a sync is accepted.
    inventory_refusals: Mutex<Option<(u64, String)>>,
}

fn enroll_request(config: &AgentConfig, state: &State) -> anyhow::Result<EnrollRequest> {
    let host = HostRoot::at(&config.root);
    let inventory = bulwark_engine::inventory::collect(&host)
        .with_context(|| format!("cannot read the host at {}", config.root.display()))?;
    Ok(EnrollRequest {
        agent_id: state.agent_id.clone(),
        org_secret: config.org_secret.clone(),
        public_key: state.key.public_hex(),
        agent_version: VERSION.into(),
        system: inventory.system,
        interfaces: inventory.network.interfaces,
    })
}

/// Whether an enrollment failure needs a person (bad secret, taken id) or only time.
pub enum EnrollError {
    NeedsOperator(String),
    Retry(String),
}

/// One enrollment attempt; on success the state directory remembers it.
pub async fn enroll_once(
    config: &AgentConfig,
    state: &State,
    http: &reqwest::Client,
) -> Result<Enrollment, EnrollError> {
    let req =
        enroll_request(config, state).map_err(|e| EnrollError::NeedsOperator(format!("{e:#}")))?;
    match client::enroll(http, &config.server_url, &req).await {
        Ok(answer) => {
            let enrollment = Enrollment {
                host_id: answer.host_id,
                server_public_key: answer.server_public_key,
            };
            state
                .save_enrollment(&enrollment)
                .map_err(|e| EnrollError::NeedsOperator(format!("{e:#}")))?;
            Ok(enrollment)
        }
        Err(CallError::Refused {
            status: 401,
            message,
        }) => Err(EnrollError::NeedsOperator(format!(
            "enrollment refused: {message} (check org_secret in the agent configuration)"
        ))),
        Err(CallError::Refused { message, .. }) => Err(EnrollError::NeedsOperator(format!(
            "enrollment refused: {message}"
        ))),
        Err(e) => Err(EnrollError::Retry(e.to_string())),
    }
}

fn jittered(secs: u64) -> Duration {
    let base = secs.max(1) as f64;
    Duration::from_secs_f64(base * rand::rng().random_range(0.9..1.1))
}

impl Daemon {
    /// Opens the state and enrolls if needed, retrying while the server is unreachable.
    pub async fn start(config: AgentConfig) -> anyhow::Result<Arc<Daemon>> {
        let state = State::open(&config.state_dir)?;
        let spool = Spool::open(
            &config.state_dir.join("spool"),
            config.spool_max_items,
            config.spool_max_bytes,
        )?;
        let http = client::http_client();
        let enrollment = match state.enrollment() {
            Some(e) => e,
            None => enroll_until_done(&config, &state, &http).await?,
        };
        tracing::info!(agent = %state.agent_id, host = %enrollment.host_id, server = %config.server_url, "agent enrolled");
        let client = Client::new(
            http.clone(),
            &config.server_url,
            &state.agent_id,
            state.key.clone(),
        );
        Ok(Arc::new(Daemon {
            config,
            state,
            http,
            client,
            enrollment: Mutex::new(enrollment),
            intervals: Mutex::new((60, 300)),
            spool: Mutex::new(spool),
            reenrolling: AsyncMutex::new(()),
            inventory_refusals: Mutex::new(None),
        }))
    }

    fn server_key(&self) -> String {
        self.enrollment
            .lock()
            .expect("enrollment lock")
            .server_public_key
            .clone()
    }

    /// After the server forgot this agent (it was removed): enroll again with the secret.
    async fn reenroll(&self, why: &str) {
        let _guard = self.reenrolling.lock().await;
        // Another loop may have done it while we waited.
        if let Ok(HeartbeatResponse { .. }) = self.heartbeat_once().await {
            return;
        }
        tracing::warn!(reason = %why, "the server does not know this agent; enrolling again");
        self.state.forget_enrollment();
        match enroll_until_done(&self.config, &self.state, &self.http).await {
            Ok(e) => *self.enrollment.lock().expect("enrollment lock") = e,
            Err(e) => tracing::error!(error = %format!("{e:#}"), "enrolling again failed"),
        }
    }

    /// Handles a failed call: enroll again if the server forgot us.
    async fn after_error(&self, e: &CallError) {
        if let CallError::NotEnrolled(why) = e {
            self.reenroll(why).await;
        }
    }

    async fn heartbeat_once(&self) -> Result<HeartbeatResponse, CallError> {
        let (dropped, pending) = {
            let spool = self.spool.lock().expect("spool lock");
            (spool.dropped(), spool.len() as u64)
        };
        let inventory_refused = self
            .inventory_refusals
            .lock()
            .expect("refusals lock")
            .as_ref()
            .map(|(count, reason)| format!("{reason} ({count} in a row)"));
        let beat = HeartbeatRequest {
            agent_version: VERSION.into(),
            spool_dropped: dropped,
            spool_pending: pending,
            inventory_refused,
        };
        let answer: HeartbeatResponse = self.client.post(wire::HEARTBEAT_PATH, &beat).await?;
        if dropped > 0 {
            let _ = self
                .spool
                .lock()
                .expect("spool lock")
                .reported_dropped(dropped);
        }
        Ok(answer)
    }

    async fn heartbeat_loop(self: Arc<Self>) {
        let mut features = BTreeMap::new();
        loop {
            match self.heartbeat_once().await {
                Ok(answer) => {
                    if answer.features != features {
                        tracing::info!(features = ?answer.features, "feature flags");
                        features = answer.features;
                    }
                    self.intervals.lock().expect("intervals lock").0 = answer.heartbeat_secs;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "heartbeat failed");
                    self.after_error(&e).await;
                }
            }
            let every = self.intervals.lock().expect("intervals lock").0;
            tokio::time::sleep(jittered(every)).await;
        }
    }

    /// Collects the inventory and sends what changed since the server's last accepted sync.
    async fn sync_inventory(&self) -> anyhow::Result<()> {
        let root = self.config.root.clone();
        let inventory = tokio::task::spawn_blocking(move || {
            bulwark_engine::inventory::collect(&HostRoot::at(root))
        })
        .await??;
        let split = bulwark_protocol::inventory::categories(&inventory);
        let hashes: BTreeMap<String, String> = split
            .iter()
            .map(|(k, (h, _))| (k.clone(), h.clone()))
            .collect();
        let accepted = self.state.inventory_hashes();
        let changed = split
            .iter()
            .filter(|(k, (h, _))| accepted.get(*k) != Some(h))
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect();
        let result = self.send_inventory(hashes, split, changed).await;
        match &result {
            Ok(()) => *self.inventory_refusals.lock().expect("refusals lock") = None,
            Err(e) => {
                if let Some(CallError::Refused { message, .. }) = e.downcast_ref::<CallError>() {
                    let reported = {
                        let mut refusals = self.inventory_refusals.lock().expect("refusals lock");
                        let count = refusals.as_ref().map_or(0, |(n, _)| *n) + 1;
                        *refusals = Some((count, message.clone()));
                        count
                    };
                    // Said at once, not at the next beat, so the host page shows it now.
                    if reported == 1 {
                        let _ = self.heartbeat_once().await;
                    }
                }
            }
        }
        result
    }

    async fn send_inventory(
        &self,
        hashes: BTreeMap<String, String>,
        split: BTreeMap<String, (String, CategoryJson)>,
        changed: BTreeMap<String, CategoryJson>,
    ) -> anyhow::Result<()> {
        let request = InventoryRequest {
            hashes: hashes.clone(),
            categories: changed,
        };
        let answer: InventoryResponse = match self.client.post(wire::INVENTORY_PATH, &request).await
        {
            Ok(a) => a,
            Err(e @ CallError::Unreachable(_)) => {
                // Spooled whole, so it stands on its own whenever it is sent.
                let full = InventoryRequest {
                    hashes,
                    categories: split.into_iter().map(|(k, (_, v))| (k, v)).collect(),
                };
                self.spool
                    .lock()
                    .expect("spool lock")
                    .push(&Item::Inventory { request: full })?;
                return Err(e.into());
            }
            Err(e) => {
                self.after_error(&e).await;
                return Err(e.into());
            }
        };
        if !answer.resend.is_empty() {
            let again = InventoryRequest {
                hashes: hashes.clone(),
                categories: split
                    .iter()
                    .filter(|(k, _)| answer.resend.contains(k))
                    .map(|(k, (_, v))| (k.clone(), v.clone()))
                    .collect(),
            };
            let _: InventoryResponse = self.client.post(wire::INVENTORY_PATH, &again).await?;
        }
        self.state.save_inventory_hashes(&hashes)?;
        tracing::debug!(
            stored = answer.stored.len(),
            resent = answer.resend.len(),
            "inventory synced"
        );
        Ok(())
    }

    async fn inventory_loop(self: Arc<Self>) {
        loop {
            if let Err(e) = self.sync_inventory().await {
                tracing::warn!(error = %format!("{e:#}"), "inventory sync failed; the host page shows the reason");
            }
            let every = self.intervals.lock().expect("intervals lock").1;
            tokio::time::sleep(jittered(every)).await;
        }
    }

    async fn jobs_loop(self: Arc<Self>) {
        let mut backoff = 1;
        loop {
            let path = format!("{}?wait={POLL_WAIT_SECS}", wire::JOBS_PATH);
            match self.client.get::<JobsResponse>(&path).await {
                Ok(answer) => {
                    backoff = 1;
                    for job in answer.jobs {
                        self.handle_job(job).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "polling for jobs failed");
                    self.after_error(&e).await;
                    tokio::time::sleep(Duration::from_secs(backoff)).await;
                    backoff = (backoff * 2).min(60);
                }
            }
        }
    }

    /// Sends an item now, or spools it when the server is unreachable.
    async fn deliver(&self, item: Item) {
        match self.send_item(&item).await {
            Ok(()) => {}
            Err(CallError::Unreachable(why)) => {
                tracing::warn!(reason = %why, "server unreachable; spooling");
                if let Err(e) = self.spool.lock().expect("spool lock").push(&item) {
                    tracing::error!(error = %format!("{e:#}"), "cannot spool; the item is lost");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the server refused an item; dropping it");
                self.after_error(&e).await;
            }
        }
    }

    async fn send_item(&self, item: &Item) -> Result<(), CallError> {
        match item {
            Item::Results {
                scan_id,
                results,
                arf,
            } => {
                if let Some(path) = arf {
                    self.send_arf(scan_id, path).await?;
                }
                let body = ResultsRequest {
                    results: results.clone(),
                };
                let answer: ResultsResponse = self
                    .client
                    .post(&wire::results_path(scan_id), &body)
                    .await?;
                tracing::info!(scan = %scan_id, outcome = %answer.outcome, "results delivered");
                if let Some(path) = arf {
                    let _ = std::fs::remove_file(path);
                }
            }
            Item::JobFailed { job_id, reason } => {
                let body = FailRequest {
                    reason: reason.clone(),
                };
                let _: serde_json::Value = self
                    .client
                    .post(&wire::job_fail_path(job_id), &body)
                    .await?;
            }
            Item::JobReport { job_id, report } => {
                let _: serde_json::Value = self
                    .client
                    .post(&wire::job_report_path(job_id), report)
                    .await?;
            }
            Item::Inventory { request } => {
                let _: InventoryResponse = self.client.post(wire::INVENTORY_PATH, request).await?;
                let _ = self.state.save_inventory_hashes(&request.hashes);
            }
        }
        Ok(())
    }

    async fn handle_job(&self, signed: SignedJob) {
        let job = match signed.open(&self.server_key(), &self.state.agent_id, now()) {
            Ok(Opened::Job(job)) => *job,
            Ok(Opened::Unreadable(reason)) => {
                let reason = format!("unsupported by agent version {VERSION}: {reason}");
                tracing::warn!(job = %signed.id, reason = %reason, "cannot read a job");
                self.deliver(Item::JobFailed {
                    job_id: signed.id,
                    reason,
                })
                .await;
                return;
            }
            Err(refusal) => {
                // Not run and not acknowledged: a job this agent cannot trust.
                tracing::error!(job = %signed.id, reason = %refusal, "refused a job that is not signed by this agent's server");
                return;
            }
        };
        if let Err(e) = self
            .client
            .post::<serde_json::Value>(&wire::job_ack_path(&job.id), &serde_json::json!({}))
            .await
        {
            tracing::warn!(job = %job.id, error = %e, "acknowledging a job failed; running it anyway");
        }
        if let Some(deadline) = job.deadline_at
            && now() > deadline
        {
            let reason = "the job arrived after its deadline; not started".to_owned();
            return self
                .deliver(Item::JobFailed {
                    job_id: job.id,
                    reason,
                })
                .await;
        }
        let Job { id, kind, .. } = job;
        match kind {
            JobKind::HostAction { action } => self.run_action(id, action).await,
            JobKind::ComplianceScan {
                scan_id,
                engine: Engine::Oscap(source),
                checks,
                ..
            } => self.run_oscap_job(id, scan_id, source, checks).await,
            JobKind::ComplianceScan {
                scan_id,
                template_id,
                template_name,
                checks,
                engine: Engine::Native,
            } => {
                tracing::info!(scan = %scan_id, template = %template_id, checks = checks.len(), "scan started");
                let root = self.config.root.clone();
                let allow_commands = self.config.allow_commands;
                let outcome = tokio::task::spawn_blocking(move || {
                    run_scan(&root, template_id, template_name, checks, allow_commands)
                })
                .await;
                match outcome {
                    Ok(Ok(results)) => {
                        self.deliver(Item::Results {
                            scan_id,
                            results,
                            arf: None,
                        })
                        .await
                    }
                    Ok(Err(reason)) => self.deliver(Item::JobFailed { job_id: id, reason }).await,
                    Err(panic) => {
                        self.deliver(Item::JobFailed {
                            job_id: id,
                            reason: format!("the scan crashed: {panic}"),
                        })
                        .await
                    }
                }
            }
        }
    }

    /// Runs a host-control action and reports how it ended. Code an operator wrote runs only
    /// with both locks open: this agent's own `allow_scripts`, and the organization's
    /// `script_execution` flag as the server says it is now (asked again at arrival, so a
    /// flag switched off after the job was queued stops it here).
    async fn run_action(&self, job_id: String, action: bulwark_core::HostAction) {
        tracing::info!(job = %job_id, action = %action.describe(), "host action started");
        if action.runs_caller_code()
            && let Err(reason) = self.scripts_allowed().await
        {
            return self.deliver(Item::JobFailed { job_id, reason }).await;
        }
        let password = match &action {
            bulwark_core::HostAction::CreateUser {
                password: Some(sealed),
                ..
            }
            | bulwark_core::HostAction::ResetPassword {
                password: Some(sealed),
                ..
            } => {
                let context = bulwark_protocol::sealed::context(&job_id, "password");
                match self.state.key.open_sealed(sealed, &context) {
                    Ok(p) => Some(p),
                    Err(reason) => return self.deliver(Item::JobFailed { job_id, reason }).await,
                }
            }
            _ => None,
        };
        let changes_inventory = matches!(
            action.job_type(),
            JobType::Service | JobType::Process | JobType::User | JobType::Group
        );
        let report = actions::perform(&self.config.root, action, password).await;
        tracing::info!(job = %job_id, succeeded = report.succeeded, summary = %report.summary, "host action finished");
        let succeeded = report.succeeded;
        self.deliver(Item::JobReport {
            job_id,
            report: report.into_wire(),
        })
        .await;
        // The host page shows what the action changed now, not at the next periodic sync.
        if succeeded
            && changes_inventory
            && let Err(e) = self.sync_inventory().await
        {
            tracing::warn!(error = %format!("{e:#}"), "inventory sync after an action failed");
        }
    }

    /// Both locks of script execution, this agent's first (it needs no network).
    async fn scripts_allowed(&self) -> Result<(), String> {
        if !self.config.allow_scripts {
            return Err(SCRIPTS_REFUSED.into());
        }
        let answer = self.heartbeat_once().await.map_err(|e| {
            format!("cannot confirm the script_execution flag with the server: {e}")
        })?;
        match answer.features.get("script_execution") {
            Some(true) => Ok(()),
            _ => Err(
                "the organization's script_execution flag is off; the script was not run".into(),
            ),
        }
    }

    /// Sends a scan's ARF; one already gone (sent before a crash) is not an error.
    async fn send_arf(&self, scan_id: &str, path: &Path) -> Result<(), CallError> {
        let Ok(bytes) = std::fs::read(path) else {
            return Ok(());
        };
        let _: serde_json::Value = self
            .client
            .upload(&wire::arf_path(scan_id), "application/zstd", bytes)
            .await?;
        Ok(())
    }

    /// The job's data stream: the verified cached copy, or fetched from the server.
    async fn datastream(&self, digest: &str) -> Result<PathBuf, String> {
        let cached = oscap::cached_datastream(&self.config.state_dir, digest);
        if oscap::verified(&cached, digest) {
            return Ok(cached);
        }
        let bytes = self
            .client
            .download(&wire::datastream_path(digest))
            .await
            .map_err(|e| format!("cannot fetch the data stream {digest}: {e}"))?;
        oscap::keep_datastream(&self.config.state_dir, digest, &bytes)
    }

    async fn run_oscap_job(
        &self,
        job_id: String,
        scan_id: String,
        source: bulwark_core::ScapSource,
        checks: Vec<bulwark_core::Check>,
    ) {
        tracing::info!(scan = %scan_id, profile = %source.profile_id, rules = checks.len(), "oscap scan started");
        let datastream = match self.datastream(&source.datastream).await {
            Ok(path) => path,
            Err(reason) => return self.deliver(Item::JobFailed { job_id, reason }).await,
        };
        let root = self.config.root.clone();
        let arf_dir = self.config.state_dir.join("scap").join("arf");
        let arf_file = arf_dir.join(format!("{scan_id}.xml.zst"));
        let outcome = tokio::task::spawn_blocking(move || {
            let run = oscap::run(&root, &datastream, &source, &checks, oscap::TIMEOUT)?;
            let compressed = zstd::bulk::compress(&run.arf, 3)
                .map_err(|e| format!("compressing the ARF: {e}"))?;
            std::fs::create_dir_all(&arf_dir)
                .and_then(|()| files::write_atomic(&arf_file, &compressed, 0o600))
                .map_err(|e| format!("cannot keep the ARF at {}: {e}", arf_file.display()))?;
            Ok::<_, String>((run.results, arf_file))
        })
        .await;
        match outcome {
            Ok(Ok((results, arf))) => {
                self.deliver(Item::Results {
                    scan_id,
                    results,
                    arf: Some(arf),
                })
                .await
            }
            Ok(Err(reason)) => self.deliver(Item::JobFailed { job_id, reason }).await,
            Err(panic) => {
                self.deliver(Item::JobFailed {
                    job_id,
                    reason: format!("the oscap scan crashed: {panic}"),
                })
                .await
            }
        }
    }

    /// Sends spooled items oldest first; stops at the first that cannot be delivered yet.
    async fn flush_spool(&self) {
        let items = self.spool.lock().expect("spool lock").items();
        for (path, item) in items {
            match self.send_item(&item).await {
                Ok(()) => {}
                Err(CallError::Unreachable(_)) => return,
                Err(e) => {
                    tracing::error!(error = %e, "the server refused a spooled item; dropping it");
                    self.after_error(&e).await;
                    if matches!(e, CallError::NotEnrolled(_)) {
                        return;
                    }
                }
            }
            if let Err(e) = self.spool.lock().expect("spool lock").remove(&path) {
                tracing::error!(error = %format!("{e:#}"), "cannot remove a sent spool item");
            }
        }
    }

    async fn spool_loop(self: Arc<Self>) {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            self.flush_spool().await;
        }
    }
}

async fn enroll_until_done(
    config: &AgentConfig,
    state: &State,
    http: &reqwest::Client,
) -> anyhow::Result<Enrollment> {
    let mut wait = 1;
    loop {
        match enroll_once(config, state, http).await {
            Ok(e) => return Ok(e),
            Err(EnrollError::NeedsOperator(message)) if message.contains("already enrolled") => {
                bail!(message)
            }
            Err(EnrollError::NeedsOperator(message)) => {
                // A wrong secret may be fixed in the configuration; keep trying, slowly.
                tracing::error!("{message}");
                wait = 60;
            }
            Err(EnrollError::Retry(why)) => {
                tracing::warn!(reason = %why, "cannot reach the server to enroll")
            }
        }
        tokio::time::sleep(Duration::from_secs(wait)).await;
        wait = (wait * 2).min(60);
    }
}

/// Why a script job was not run, when the agent's owner has not opted in.
pub const SCRIPTS_REFUSED: &str = "this agent does not run scripts: its owner has not set allow_scripts = true in the agent's configuration";

/// Why a check that runs a command was not run, when the agent's owner has not opted in.
pub const COMMANDS_REFUSED: &str = "this agent does not run command checks: its owner has not set allow_commands = true in the agent's configuration";

/// Evaluates the job's checks on the host, as agentless scans do (bulwark-scanner). Checks
/// that run commands are evaluated only with `allow_commands`; otherwise each is an error.
fn run_scan(
    root: &Path,
    id: String,
    name: String,
    checks: Vec<bulwark_core::Check>,
    allow_commands: bool,
) -> Result<Vec<AgentResult>, String> {
    let commands = if allow_commands {
        CommandPolicy::Allowed
    } else {
        CommandPolicy::Refused {
            reason: COMMANDS_REFUSED.into(),
        }
    };
    let request = ScanRequest {
        template_id: id,
        template_name: name,
        checks,
        commands,
    };
    Ok(bulwark_scanner::run(root, request)?.results)
}

/// `bulwark-agent run`.
pub async fn run(config: AgentConfig) -> anyhow::Result<()> {
    let daemon = Daemon::start(config).await?;
    daemon.flush_spool().await;
    tokio::join!(
        daemon.clone().heartbeat_loop(),
        daemon.clone().inventory_loop(),
        daemon.clone().jobs_loop(),
        daemon.clone().spool_loop(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A check that creates `marker` when its command runs.
    fn touching(marker: &Path) -> bulwark_core::Check {
        serde_json::from_value(serde_json::json!({
            "id": "CMD-1", "title": "t", "category": "Services", "severity": "low",
            "description": "d", "rationale": "r", "remediation": {"text": "none"},
            "probe": {"kind": "command", "argv": ["/usr/bin/touch", marker], "timeout_secs": 5, "output": "exit_code"},
            "expect": {"op": "equals", "value": "0"},
        }))
        .unwrap()
    }

    #[test]
    fn commands_run_only_where_the_agents_owner_opted_in() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let refused = run_scan(
            Path::new("/"),
            "t".into(),
            "t".into(),
            vec![touching(&marker)],
            false,
        )
        .unwrap();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].outcome.status, bulwark_core::Status::Error);
        assert_eq!(refused[0].outcome.reason.as_deref(), Some(COMMANDS_REFUSED));
        assert!(!marker.exists(), "nothing was executed");

        let ran = run_scan(
            Path::new("/"),
            "t".into(),
            "t".into(),
            vec![touching(&marker)],
            true,
        )
        .unwrap();
        assert_eq!(
            ran[0].outcome.status,
            bulwark_core::Status::Pass,
            "{:?}",
            ran[0]
        );
        assert!(marker.exists());
    }
}
