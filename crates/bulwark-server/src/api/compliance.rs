//! The second seed's endpoints, answered from the same store: per-host results, score and
//! history, overall stats, top failing checks, the check catalogue and re-seeding.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_store::Scope;
use serde::Deserialize;
use serde_json::{Value, json};

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
) -> ApiResult<Json<Value>> {
    let scan = latest_completed(&s, &caller.scope, &id).await?;
    let results = s.store.scan_results(&caller.scope, &scan.id, None).await?;
    Ok(Json(json!({ "scan": scan, "results": results })))
}

pub async fn agent_score(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let scan = latest_completed(&s, &caller.scope, &id).await?;
    Ok(Json(json!({
        "host_id": scan.host_id, "scan_id": scan.id, "score": scan.score, "weighted_score": scan.weighted_score,
        "risk": scan.risk, "passing": scan.score.is_some_and(|v| v >= scan.passing_threshold),
        "passed": scan.passed, "failed": scan.failed, "completed_at": scan.completed_at,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<i64>,
}

pub async fn agent_history(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    let host_id = host_id_of(&s, &caller.scope, &id).await?;
    let scans = s.store.host_history(&caller.scope, &host_id, limit).await?;
    let points: Vec<Value> = scans
        .iter()
        .map(|x| json!({ "scan_id": x.id, "score": x.score, "weighted_score": x.weighted_score, "completed_at": x.completed_at, "policy_id": x.policy_id }))
        .collect();
    Ok(Json(json!({ "host_id": id, "history": points })))
}

pub async fn stats(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let d = s.store.dashboard(&caller.scope, None).await?;
    let hosts = s.store.list_hosts(&caller.scope).await?.len();
    Ok(Json(json!({
        "total_hosts": hosts, "hosts_scanned": d.hosts_scanned, "compliant_percent": d.pass_rate,
        "average_score": d.average_score, "total_scans": d.total_scans, "total_policies": d.total_policies,
        "risk_distribution": d.risk_distribution,
    })))
}

pub async fn top_failing(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let d = s.store.dashboard(&caller.scope, None).await?;
    Ok(Json(json!({ "top_failing_checks": d.top_failing_checks })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksQuery {
    template_id: Option<String>,
}

pub async fn checks(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ChecksQuery>,
) -> ApiResult<Json<Value>> {
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
            out.push(json!({
                "template_id": t.id, "check_id": c.check.id, "title": c.check.title, "category": c.check.category,
                "severity": c.check.severity, "kind": c.check.probe.kind(), "enabled": c.enabled,
            }));
        }
    }
    Ok(Json(json!({ "checks": out })))
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
