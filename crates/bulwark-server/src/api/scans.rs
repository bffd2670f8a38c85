//! Scans: on-demand triggers, lists with filters, results and cancellation.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::Status;
use bulwark_store::{
    DEFAULT_PASSING_THRESHOLD, NewScan, Scan, ScanFilter, ScanResult, ScanStatus, TriggerKind,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanQuery {
    pub status: Option<String>,
    pub host_id: Option<String>,
    pub policy_id: Option<String>,
    /// Id prefix, e.g. the 8 characters the scan list shows.
    pub q: Option<String>,
    /// Scans of hosts whose name starts with this (any case).
    pub host: Option<String>,
    pub limit: Option<i64>,
    /// Scans skipped before the first listed (newest first), for paging.
    pub offset: Option<i64>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ScanQuery>,
) -> ApiResult<Json<Vec<Scan>>> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(v) => Some(ScanStatus::parse(v).ok_or_else(|| {
            AppError::invalid(
                "status",
                "status must be pending, running, completed, failed or cancelled",
            )
        })?),
    };
    if q.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    if q.offset.is_some_and(|o| o < 0) {
        return Err(AppError::invalid("offset", "offset must not be negative"));
    }
    let filter = ScanFilter {
        status,
        host_id: q.host_id,
        policy_id: q.policy_id,
        id_prefix: q.q,
        hostname_prefix: q.host.filter(|h| !h.trim().is_empty()),
        limit: q.limit,
        offset: q.offset,
    };
    Ok(Json(s.store.list_scans(&caller.scope, &filter).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    pub host_id: String,
    /// The policy whose template (or the host's override) is run and whose passing threshold
    /// judges the result.
    #[serde(default)]
    pub policy_id: Option<String>,
    /// Any active template that fits the host instead (see `templates?host_id=`); with a
    /// policy, it replaces the policy's template for this scan only.
    #[serde(default)]
    pub template_id: Option<String>,
}

pub async fn trigger(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<TriggerBody>,
) -> ApiResult<Json<Scan>> {
    if b.policy_id.is_none() && b.template_id.is_none() {
        return Err(AppError::invalid(
            "policy_id",
            "name a policy, or a template_id to scan with",
        ));
    }
    let host = s.store.get_host(&caller.scope, &b.host_id).await?;
    let policy = match &b.policy_id {
        Some(id) => Some(s.store.get_policy(&caller.scope, id).await?),
        None => None,
    };
    if let Some(policy) = &policy {
        if host.org_id != policy.org_id {
            return Err(AppError::Conflict(format!(
                "host {} is not in the policy's organization; pick a policy of the host's organization",
                host.hostname
            )));
        }
        let policies = s.store.list_policies(&caller.scope).await?;
        let judging = bulwark_store::policy_for_host(&policies, &host.org_id, host.os_kind);
        if judging.is_none_or(|p| p.id != policy.id) {
            return Err(AppError::Conflict(format!(
                "host {} runs {}, which policy {} does not cover{}",
                host.hostname,
                host.os_kind,
                policy.name,
                judging.map_or(String::new(), |p| format!("; policy {} covers it", p.name))
            )));
        }
    }
    // Maintenance is when people harden a host, and want to see the effect at once.
    if !host.is_online() && !host.maintenance {
        return Err(AppError::Conflict(format!(
            "host {} is offline (health {}); an on-demand scan needs an online host or one in maintenance (check that its agent is running)",
            host.hostname, host.health
        )));
    }
    let template_id = match (&b.template_id, &policy) {
        (Some(t), _) => t.clone(),
        (None, Some(policy)) => crate::api::policies::TemplateChooser::new(&s)
            .template_for(policy, &host)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "policy {} binds CIS {}, and Bulwark ships no template of that level for {}; name a template_id",
                    policy.name,
                    policy.cis_level.map_or("?", |l| l.as_str()),
                    host.os_kind
                ))
            })?,
        (None, None) => unreachable!("checked above"),
    };
    let template = s
        .store
        .get_template(&caller.scope, &template_id)
        .await
        .map_err(|e| match (e, &b.template_id) {
            (bulwark_store::StoreError::NotFound(_), Some(_)) => AppError::invalid(
                "template_id",
                format!("there is no template {template_id:?}"),
            ),
            (e, _) => e.into(),
        })?;
    if template.org_id.as_ref().is_some_and(|o| *o != host.org_id) {
        return Err(AppError::invalid(
            "template_id",
            format!("template {} belongs to another organization", template.name),
        ));
    }
    if !template.active {
        return Err(AppError::Conflict(format!(
            "template {} is inactive; activate it to scan with it",
            template.name
        )));
    }
    if !super::templates::fits(&template, &host) {
        let meant_for = match template.engine() {
            bulwark_core::Engine::Oscap(source) => source.platforms.join(", "),
            bulwark_core::Engine::Native => template.os_kind.to_string(),
        };
        return Err(AppError::Conflict(format!(
            "template {} is meant for {meant_for}; host {} runs {} {}",
            template.name, host.hostname, host.os_id, host.os_version
        )));
    }
    let scan = s
        .store
        .create_scan(
            &caller.scope,
            &NewScan {
                org_id: host.org_id.clone(),
                host_id: host.id,
                policy_id: policy.as_ref().map(|p| p.id.clone()),
                template_id,
                trigger_kind: TriggerKind::OnDemand,
                passing_threshold: policy
                    .as_ref()
                    .map_or(DEFAULT_PASSING_THRESHOLD, |p| p.passing_threshold),
                created_at: None,
            },
        )
        .await?;
    s.jobs_ready(&scan.host_id);
    Ok(Json(scan))
}

pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Scan>> {
    Ok(Json(s.store.get_scan(&caller.scope, &id).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsQuery {
    pub status: Option<Status>,
    pub severity: Option<bulwark_core::Severity>,
    /// Words that the check's id or title holds (any case).
    pub q: Option<String>,
}

/// Whether a result's check id or title holds `search` (any case); an empty search holds.
pub fn matches_search(search: &str, check_id: &str, title: &str) -> bool {
    let search = search.trim().to_lowercase();
    search.is_empty()
        || check_id.to_lowercase().contains(&search)
        || title.to_lowercase().contains(&search)
}

pub async fn results(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<ResultsQuery>,
) -> ApiResult<Json<Vec<ScanResult>>> {
    let search = q.q.unwrap_or_default();
    Ok(Json(
        s.store
            .scan_results(&caller.scope, &id, q.status)
            .await?
            .into_iter()
            .filter(|r| q.severity.is_none_or(|s| r.severity == s))
            .filter(|r| matches_search(&search, &r.check_id, &r.title))
            .collect(),
    ))
}

pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Scan>> {
    Ok(Json(
        s.store
            .cancel_scan(&caller.scope, &id, bulwark_store::now())
            .await?,
    ))
}
