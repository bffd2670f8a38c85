//! The agent API under `/api/v1/agent/`: enrollment with the organization secret, then signed
//! requests only (see [`crate::agent_auth`]): heartbeat, differential inventory, jobs by long
//! poll with acknowledgement, and scan results, which finish the scan through the ingest.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::inventory::{self, CATEGORIES};
use bulwark_protocol::inventory::CategoryJson;
use bulwark_protocol::wire::{
    AgentResult, EnrollRequest, EnrollResponse, FEATURES, FailRequest, HeartbeatRequest,
    HeartbeatResponse, InventoryRequest, InventoryResponse, JobReport, JobsResponse,
    ResultsRequest, ResultsResponse,
};
use bulwark_protocol::{AgentKey, Job, JobKind, SignedJob, valid_agent_id};
use bulwark_store::{AgentJob, Completion, Enrolled, Enrollment, JobOutcome, Scope};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::agent_auth::Agent;
use crate::auth::hash_secret;
use crate::body::{Body, Params};
use crate::error::{ApiResult, AppError};

/// The name of the job-signing key in the store.
const JOB_KEY: &str = "jobs";
/// Jobs handed out per poll.
const JOBS_PER_POLL: i64 = 10;
/// The most of an agent's inventory refusal reason that the host row keeps.
const MAX_REFUSAL_CHARS: usize = 500;

/// At most `max` characters of `text`, cut at a character boundary.
fn bounded(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(at, _)| &text[..at])
}

/// The key that signs jobs: the first one any replica wrote to the store.
pub async fn job_key(state: &AppState) -> ApiResult<&AgentKey> {
    state
        .job_key
        .get_or_try_init(|| async {
            let candidate = AgentKey::generate();
            let (secret, _) = state
                .store
                .server_key(JOB_KEY, (&candidate.secret_hex(), &candidate.public_hex()))
                .await?;
            AgentKey::from_secret_hex(&secret)
                .map_err(|e| AppError::Internal(format!("the stored job key is unusable: {e}")))
        })
        .await
}

/// What an agent says about itself is bounded before it is stored: a compromised agent must
/// not be able to fill the database or break a page.
fn check_agent_version(version: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&version.len()) && version.bytes().all(|b| b.is_ascii_graphic());
    match ok {
        true => Ok(()),
        false => Err(AppError::invalid(
            "agent_version",
            "agent_version is 1-64 visible ASCII characters",
        )),
    }
}

/// The longest host fact (name, OS id and version, kernel) an agent may report.
const MAX_FACT_CHARS: usize = 255;

fn enrollment_of(req: &EnrollRequest) -> ApiResult<Enrollment> {
    check_agent_version(&req.agent_version)?;
    for (field, value) in [
        ("system.hostname", &req.system.hostname),
        ("system.os_id", &req.system.os_id),
        ("system.os_version", &req.system.os_version),
        ("system.kernel", &req.system.kernel),
    ] {
        if value.chars().count() > MAX_FACT_CHARS {
            return Err(AppError::invalid(
                field,
                format!("{field} is at most {MAX_FACT_CHARS} characters"),
            ));
        }
    }
    if !valid_agent_id(&req.agent_id) {
        return Err(AppError::invalid(
            "agent_id",
            "agent ids are 1-64 letters, digits, '-', '_' or '.', starting with a letter, digit or '_'",
        ));
    }
    if !bulwark_protocol::signing::valid_public_key(&req.public_key) {
        return Err(AppError::invalid(
            "public_key",
            "public_key must be an Ed25519 public key in hex (64 digits)",
        ));
    }
    let s = &req.system;
    if s.hostname.trim().is_empty() {
        return Err(AppError::invalid(
            "system.hostname",
            "hostname must not be empty",
        ));
    }
    let os_kind = bulwark_core::OsKind::parse(&s.os_kind).ok_or_else(|| {
        AppError::invalid("system.os_kind", format!("unknown OS type {:?}", s.os_kind))
    })?;
    Ok(Enrollment {
        agent_id: req.agent_id.clone(),
        public_key: req.public_key.to_ascii_lowercase(),
        agent_version: req.agent_version.clone(),
        hostname: s.hostname.trim().to_owned(),
        os_kind,
        os_id: s.os_id.clone(),
        os_version: s.os_version.clone(),
        kernel: s.kernel.clone(),
    })
}

pub async fn enroll(
    State(state): State<AppState>,
    Body(req): Body<EnrollRequest>,
) -> ApiResult<Json<EnrollResponse>> {
    let enrollment = enrollment_of(&req)?;
    let org = state
        .store
        .org_by_secret(&hash_secret(&req.org_secret))
        .await?
        .ok_or_else(|| {
            AppError::Unauthorized(
                "the organization secret is not valid; copy it again from the organization's settings".into(),
            )
        })?;
    let host = match state.store.enroll(&org.id, &enrollment).await? {
        Enrolled::New(h) => {
            tracing::info!(host = %h.id, agent = %enrollment.agent_id, "agent enrolled");
            h
        }
        Enrolled::Again(h) => h,
        Enrolled::Taken => {
            return Err(AppError::invalid(
                "agent_id",
                format!(
                    "agent id {} is already enrolled with another key; to reset this agent, delete its \
                     state directory's agent_id and agent.key (default /var/lib/bulwark-agent) and start it again, \
                     or remove the host on the server first",
                    enrollment.agent_id
                ),
            ));
        }
    };
    let network = inventory::Network {
        interfaces: req.interfaces.clone(),
        ..Default::default()
    };
    // Enrollment doubles as the first sight of the system and network categories, so the
    // host page has them before the first inventory sync.
    let first = [
        ("system", serde_json::to_value(&req.system)),
        ("network", serde_json::to_value(&network)),
    ];
    let have = state.store.inventory_hashes(&host.id).await?;
    let missing: Vec<(String, String, serde_json::Value)> = first
        .into_iter()
        .filter(|(name, _)| !have.iter().any(|(c, _)| c == name))
        .filter_map(|(name, v)| {
            v.ok()
                .map(|v| (name.to_owned(), CategoryJson::of(&v).hash(), v))
        })
        .collect();
    state.store.store_inventory(&host.id, &missing).await?;
    Ok(Json(EnrollResponse {
        host_id: host.id,
        server_public_key: job_key(&state).await?.public_hex(),
        heartbeat_secs: state.config.heartbeat_secs,
        inventory_secs: state.config.inventory_secs,
    }))
}

pub async fn heartbeat(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Body(req): Body<HeartbeatRequest>,
) -> ApiResult<Json<HeartbeatResponse>> {
    check_agent_version(&req.agent_version)?;
    // A spool holds a bounded number of items; more dropped than it could ever hold is a lie.
    let spool_dropped = i64::try_from(req.spool_dropped)
        .ok()
        .filter(|n| *n <= 1_000_000_000)
        .ok_or_else(|| {
            AppError::invalid(
                "spool_dropped",
                "spool_dropped is at most 1000000000 per heartbeat",
            )
        })?;
    let now = bulwark_store::now();
    state.presence.beat(&agent.host_id, now);
    // The host row is written only when something in it changed, not on every beat.
    let refused = req
        .inventory_refused
        .as_deref()
        .map(|r| bounded(r, MAX_REFUSAL_CHARS));
    if agent.agent_version.as_deref() != Some(req.agent_version.as_str())
        || req.spool_dropped > 0
        || agent.inventory_refused.as_deref() != refused
    {
        state
            .store
            .update_agent(&agent.host_id, &req.agent_version, spool_dropped, refused)
            .await?;
    }
    let mut features: BTreeMap<String, bool> =
        FEATURES.iter().map(|f| ((*f).to_owned(), true)).collect();
    // Account-wide rows come first, so the organization's own flag overwrites them.
    for flag in state.store.feature_flags_for(&agent.org_id).await? {
        features.insert(flag.feature, flag.enabled);
    }
    Ok(Json(HeartbeatResponse {
        pending_jobs: state.store.pending_jobs(&agent.host_id, now).await? as u64,
        features,
        server_time: now,
        heartbeat_secs: state.config.heartbeat_secs,
    }))
}

fn check_shape<T: DeserializeOwned>(name: &str, value: &serde_json::Value) -> ApiResult<()> {
    serde_json::from_value::<T>(value.clone())
        .map(drop)
        .map_err(|e| AppError::invalid(&format!("categories.{name}"), format!("{name}: {e}")))
}

/// Refuses a category that is not one of ours or not in its shape, so nothing malformed is
/// stored and served.
fn validate_category(name: &str, value: &serde_json::Value) -> ApiResult<()> {
    match name {
        "system" => check_shape::<inventory::SystemInfo>(name, value),
        "hardware" => check_shape::<inventory::Hardware>(name, value),
        "network" => check_shape::<inventory::Network>(name, value),
        "services" => check_shape::<Vec<inventory::Service>>(name, value),
        "processes" => check_shape::<Vec<inventory::Process>>(name, value),
        "users" => check_shape::<Vec<inventory::LocalUser>>(name, value),
        "groups" => check_shape::<Vec<inventory::LocalGroup>>(name, value),
        "software" => check_shape::<Vec<inventory::Software>>(name, value),
        "drives" => check_shape::<Vec<inventory::Drive>>(name, value),
        "security" => check_shape::<inventory::Security>(name, value),
        "startup" => check_shape::<Vec<inventory::StartupItem>>(name, value),
        "patches" => check_shape::<Vec<inventory::Patch>>(name, value),
        "events" => check_shape::<inventory::Events>(name, value),
        _ => Err(AppError::invalid(
            &format!("categories.{name}"),
            format!(
                "unknown inventory category {name:?}; known: {}",
                CATEGORIES.join(", ")
            ),
        )),
    }
}

pub async fn inventory(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Body(req): Body<InventoryRequest>,
) -> ApiResult<Json<InventoryResponse>> {
    let mut changed = Vec::with_capacity(req.categories.len());
    for (name, json) in &req.categories {
        let value: serde_json::Value = json
            .parse()
            .map_err(|e| AppError::invalid(&format!("categories.{name}"), e.to_string()))?;
        validate_category(name, &value)?;
        // The hash covers the bytes the agent sent, which is what the agent hashed.
        let hash = json.hash();
        if req.hashes.get(name) != Some(&hash) {
            return Err(AppError::invalid(
                &format!("hashes.{name}"),
                format!("the hash of {name} does not match its contents"),
            ));
        }
        changed.push((name.clone(), hash, value));
    }
    state
        .store
        .store_inventory(&agent.host_id, &changed)
        .await?;
    if let Some(system) = req.categories.get("system") {
        let s: inventory::SystemInfo = system
            .parse()
            .map_err(|e| AppError::invalid("categories.system", e.to_string()))?;
        state
            .store
            .update_host_system(
                &agent.host_id,
                &s.hostname,
                &s.os_id,
                &s.os_version,
                &s.kernel,
            )
            .await?;
    }
    let held: BTreeMap<String, String> = state
        .store
        .inventory_hashes(&agent.host_id)
        .await?
        .into_iter()
        .collect();
    let resend = req
        .hashes
        .iter()
        .filter(|(name, hash)| {
            CATEGORIES.contains(&name.as_str()) && held.get(*name) != Some(*hash)
        })
        .map(|(name, _)| name.clone())
        .collect();
    Ok(Json(InventoryResponse {
        stored: changed.into_iter().map(|(name, _, _)| name).collect(),
        resend,
    }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollQuery {
    /// Seconds to wait for a job when none is ready (long poll); 0 answers at once.
    #[serde(default)]
    wait: u64,
}

/// Builds the signed job the agent runs; a job whose scan or template is gone, or a script
/// whose organization switched script execution off since it was queued, fails instead.
async fn signed(
    state: &AppState,
    agent: &bulwark_store::AgentIdentity,
    job: &AgentJob,
) -> ApiResult<Option<SignedJob>> {
    let kind = match (&job.scan_id, &job.action.0) {
        (Some(scan_id), _) => match scan_job(state, agent, job, scan_id).await? {
            Some(kind) => kind,
            None => return Ok(None),
        },
        (None, Some(action)) => {
            if action.runs_caller_code()
                && !crate::commands::enabled_for(state.store.as_ref(), &agent.org_id).await?
            {
                let reason = format!(
                    "script execution was switched off for this organization (feature {}) after the job was queued",
                    crate::commands::FEATURE
                );
                state
                    .store
                    .fail_job(&agent.host_id, &job.id, &reason, bulwark_store::now())
                    .await?;
                return Ok(None);
            }
            JobKind::HostAction {
                action: action.clone(),
            }
        }
        (None, None) => return Ok(None),
    };
    let job = Job {
        id: job.id.clone(),
        agent_id: agent.agent_id.clone(),
        issued_at: bulwark_store::now(),
        deadline_at: job.deadline_at,
        kind,
    };
    Ok(Some(SignedJob::sign(&job, job_key(state).await?)))
}

/// A scan job's checks as the agent evaluates them; `None` (and the job failed) when the
/// scan's template was deleted.
async fn scan_job(
    state: &AppState,
    agent: &bulwark_store::AgentIdentity,
    job: &AgentJob,
    scan_id: &str,
) -> ApiResult<Option<JobKind>> {
    let scan = state.store.get_scan(&Scope::All, scan_id).await?;
    let template = match state
        .store
        .get_template(&Scope::All, &scan.template_id)
        .await
    {
        Ok(t) => t,
        Err(bulwark_store::StoreError::NotFound(_)) => {
            state
                .store
                .fail_job(
                    &agent.host_id,
                    &job.id,
                    "the scan's template was deleted",
                    bulwark_store::now(),
                )
                .await?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let checks = state.checks.checks(state.store.as_ref(), &template).await?;
    let commands_on = crate::commands::enabled_for(state.store.as_ref(), &scan.org_id).await?;
    // Exempted rules are not run at all; ingest lists them as exempted.
    let exempted = crate::provisioning::exempted_rules(state, &scan).await?;
    Ok(Some(JobKind::ComplianceScan {
        scan_id: scan.id.clone(),
        template_id: template.id.clone(),
        template_name: template.name.clone(),
        engine: template.engine().clone(),
        checks: checks
            .iter()
            .filter(|c| c.enabled && (commands_on || !c.check.runs_commands()))
            .filter(|c| !exempted.contains(&c.check.id))
            .map(|c| c.check.for_evaluation())
            .collect(),
    }))
}

pub async fn jobs(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Params(q): Params<PollQuery>,
) -> ApiResult<Json<JobsResponse>> {
    let wait = Duration::from_secs(q.wait.min(state.config.max_poll_secs));
    let deadline = tokio::time::Instant::now() + wait;
    let wake = state.presence.waiter(&agent.host_id);
    let claimed = loop {
        let now = bulwark_store::now();
        let claimed = state
            .store
            .claim_jobs(
                &agent.host_id,
                now,
                state.config.job_lease_secs,
                JOBS_PER_POLL,
            )
            .await;
        match claimed {
            Ok(c) if !c.is_empty() || tokio::time::Instant::now() >= deadline => break Ok(c),
            Ok(_) => {
                if tokio::time::timeout_at(deadline, wake.notified())
                    .await
                    .is_err()
                {
                    break Ok(Vec::new());
                }
            }
            Err(e) => break Err(e),
        }
    };
    state.presence.release(&agent.host_id, wake);
    let mut jobs = Vec::new();
    for job in claimed? {
        if let Some(s) = signed(&state, &agent, &job).await? {
            jobs.push(s);
        }
    }
    Ok(Json(JobsResponse { jobs }))
}

pub async fn ack(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Path(job_id): Path<String>,
) -> ApiResult<Json<AgentJob>> {
    Ok(Json(
        state
            .store
            .ack_job(&agent.host_id, &job_id, bulwark_store::now())
            .await?,
    ))
}

pub async fn fail(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Path(job_id): Path<String>,
    Body(req): Body<FailRequest>,
) -> ApiResult<Json<AgentJob>> {
    let reason: String = req.reason.chars().take(2000).collect();
    tracing::warn!(host = %agent.host_id, job = %job_id, reason = %reason, "agent reported a job failed");
    Ok(Json(
        state
            .store
            .fail_job(&agent.host_id, &job_id, &reason, bulwark_store::now())
            .await?,
    ))
}

/// The most of each output stream the server keeps, whatever an agent sends.
const MAX_OUTPUT_BYTES: usize = bulwark_protocol::wire::MAX_JOB_OUTPUT_BYTES;

/// At most `max` bytes of `text`, cut at a character boundary; whether anything was cut.
fn capped(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_owned(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

pub async fn report(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Path(job_id): Path<String>,
    Body(req): Body<JobReport>,
) -> ApiResult<Json<AgentJob>> {
    let (stdout, cut_out) = capped(&req.stdout, MAX_OUTPUT_BYTES);
    let (stderr, cut_err) = capped(&req.stderr, MAX_OUTPUT_BYTES);
    let outcome = JobOutcome {
        succeeded: req.succeeded,
        message: bounded(&req.summary, 2000).to_owned(),
        exit_code: req.exit_code.map(i64::from),
        stdout,
        stderr,
        truncated: req.truncated || cut_out || cut_err,
    };
    let job = state
        .store
        .finish_job(&agent.host_id, &job_id, &outcome, bulwark_store::now())
        .await?;
    tracing::info!(host = %agent.host_id, job = %job_id, status = %job.status, "agent reported a job");
    Ok(Json(job))
}

pub async fn results(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Path(scan_id): Path<String>,
    Body(req): Body<ResultsRequest>,
) -> ApiResult<Json<ResultsResponse>> {
    let scan = state.store.get_scan(&Scope::All, &scan_id).await?;
    if scan.host_id != agent.host_id {
        // Another host's scan looks missing, like another tenant's object.
        return Err(AppError::NotFound("scan".into()));
    }
    let reported: Vec<AgentResult> = req.results;
    let outcome = match crate::ingest::submit(&state, &scan_id, reported).await? {
        Completion::Completed => "completed",
        Completion::AlreadyFinished => "already_finished",
    };
    Ok(Json(ResultsResponse {
        scan_id,
        outcome: outcome.into(),
    }))
}
