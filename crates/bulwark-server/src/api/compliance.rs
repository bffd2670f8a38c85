//! The second seed's endpoints, answered from the same store: per-host results, score and
//! history, overall stats, top failing checks, the check catalogue and re-seeding.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_store::{Scan, ScanResult, Scope};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Caller;
use crate::body::Params;
use crate::error::{ApiResult, AppError};

/// The host an `{id}` of these endpoints names: an agent id (as the seed's `agent/{uuid}`
/// paths mean) or, for hosts without an agent, the host id.
async fn host_id_of(s: &AppState, scope: &Scope, id: &str) -> ApiResult<String> {
    match s.store.host_by_agent_id(scope, id).await {
        Ok(host) => Ok(host.id),
        Err(bulwark_store::StoreError::NotFound(_)) => Ok(s.store.get_host(scope, id).await?.id),
        Err(e) => Err(e.into()),
    }
}

async fn latest_completed(s: &AppState, scope: &Scope, id: &str) -> ApiResult<bulwark_store::Scan> {
    let host_id = host_id_of(s, scope, id).await?;
    s.store
        .latest_scan(scope, &host_id)
        .await?
        .ok_or_else(|| AppError::NotFound("completed scan for this host".into()))
}

pub async fn agent_results(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<LatestResults>> {
    let scan = latest_completed(&s, &caller.scope, &id).await?;
    let results = s.store.scan_results(&caller.scope, &scan.id, None).await?;
    Ok(Json(LatestResults { scan, results }))
}

#[derive(Serialize, JsonSchema)]
pub struct LatestResults {
    pub scan: Scan,
    pub results: Vec<ScanResult>,
}

#[derive(Serialize, JsonSchema)]
pub struct LatestScore {
    pub host_id: String,
    pub scan_id: String,
    pub score: Option<f64>,
    pub weighted_score: Option<f64>,
    pub risk: Option<bulwark_core::Risk>,
    /// Whether the score meets the policy's passing threshold.
    pub passing: bool,
    pub passed: i64,
    pub failed: i64,
    pub completed_at: Option<i64>,
}

pub async fn agent_score(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<LatestScore>> {
    let scan = latest_completed(&s, &caller.scope, &id).await?;
    Ok(Json(LatestScore {
        passing: scan.score.is_some_and(|v| v >= scan.passing_threshold),
        host_id: scan.host_id,
        scan_id: scan.id,
        score: scan.score,
        weighted_score: scan.weighted_score,
        risk: scan.risk,
        passed: scan.passed,
        failed: scan.failed,
        completed_at: scan.completed_at,
    }))
}

#[derive(Serialize, JsonSchema)]
pub struct HistoryPoint {
    pub scan_id: String,
    pub score: Option<f64>,
    pub weighted_score: Option<f64>,
    pub completed_at: Option<i64>,
    pub policy_id: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct History {
    /// The host whose history this is (the path may name it by its agent id).
    pub host_id: String,
    pub history: Vec<HistoryPoint>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<i64>,
}

pub async fn agent_history(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    let host_id = host_id_of(&s, &caller.scope, &id).await?;
    let scans = s.store.host_history(&caller.scope, &host_id, limit).await?;
    let history = scans
        .into_iter()
        .map(|x| HistoryPoint {
            scan_id: x.id,
            score: x.score,
            weighted_score: x.weighted_score,
            completed_at: x.completed_at,
            policy_id: x.policy_id,
        })
        .collect();
    Ok(Json(History { host_id, history }))
}

#[derive(Serialize, JsonSchema)]
pub struct Stats {
    pub total_hosts: usize,
    pub hosts_scanned: i64,
    pub compliant_percent: Option<f64>,
    pub average_score: Option<f64>,
    pub total_scans: i64,
    pub total_policies: i64,
    pub risk_distribution: Vec<bulwark_store::Bucket>,
}

pub async fn stats(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Stats>> {
    let d = s.store.dashboard(&caller.scope, None).await?;
    let hosts = s.store.list_hosts(&caller.scope).await?.len();
    Ok(Json(Stats {
        total_hosts: hosts,
        hosts_scanned: d.hosts_scanned,
        compliant_percent: d.pass_rate,
        average_score: d.average_score,
        total_scans: d.total_scans,
        total_policies: d.total_policies,
        risk_distribution: d.risk_distribution,
    }))
}

#[derive(Serialize, JsonSchema)]
pub struct TopFailing {
    pub top_failing_checks: Vec<bulwark_store::FailingCheck>,
}

pub async fn top_failing(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<TopFailing>> {
    let d = s.store.dashboard(&caller.scope, None).await?;
    Ok(Json(TopFailing {
        top_failing_checks: d.top_failing_checks,
    }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksQuery {
    template_id: Option<String>,
}

pub async fn checks(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ChecksQuery>,
) -> ApiResult<Json<Catalogue>> {
    let templates = match q.template_id {
        Some(id) => vec![s.store.get_template(&caller.scope, &id).await?],
        None => {
            s.store
                .list_templates(&caller.scope, &Default::default())
                .await?
        }
    };
    let mut out = Vec::new();
    for t in templates {
        for c in s.store.template_checks(&caller.scope, &t.id).await? {
            out.push(CatalogueEntry {
                template_id: t.id.clone(),
                kind: c.check.probe.kind().to_owned(),
                check_id: c.check.id,
                title: c.check.title,
                category: c.check.category,
                severity: c.check.severity,
                enabled: c.enabled,
            });
        }
    }
    Ok(Json(Catalogue { checks: out }))
}

#[derive(Serialize, JsonSchema)]
pub struct CatalogueEntry {
    pub template_id: String,
    pub check_id: String,
    pub title: String,
    pub category: String,
    pub severity: bulwark_core::Severity,
    /// The probe kind (file_content, sysctl, registry_value...).
    pub kind: String,
    pub enabled: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct Catalogue {
    pub checks: Vec<CatalogueEntry>,
}

pub async fn seed(
    State(s): State<AppState>,
    _: Caller,
) -> ApiResult<Json<crate::seed::SeedReport>> {
    crate::seed::system_templates(s.store.as_ref())
        .await
        .map(Json)
        .map_err(|e| AppError::Internal(e.to_string()))
}
