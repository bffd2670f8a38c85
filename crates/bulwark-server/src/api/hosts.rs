//! Hosts (agents enroll them; see the agent API), their inventory and jobs, and host groups.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::OsKind;
use bulwark_core::inventory::CATEGORIES;
use bulwark_store::{AgentJob, Health, Host, HostGroup, HostStatus};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::answers::{Deleted, HostDetail, Membership};
use crate::AppState;
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostFilter {
    pub status: Option<HostStatus>,
    pub health: Option<Health>,
    pub os_kind: Option<OsKind>,
    /// Hosts in this group or a group below it.
    pub group_id: Option<String>,
    /// Words that the host name, distribution or agent id holds (any case).
    pub q: Option<String>,
    pub sort: Option<HostSort>,
    /// At most this many hosts (1-1000), after `offset` of them; all when absent.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

bulwark_core::text_enum! {
    /// The order of a host list: by name (the default), most recently seen first, by
    /// operating system, lowest latest score first (never scanned last), or most recently
    /// scanned first.
    pub enum HostSort as "host order" {
        Hostname = "hostname",
        LastSeen = "last_seen",
        Os = "os",
        Score = "score",
        LastScan = "last_scan",
    }
}

impl HostFilter {
    /// The same filter without paging: every host that matches.
    pub fn unpaged(&self) -> HostFilter {
        HostFilter {
            status: self.status,
            health: self.health,
            os_kind: self.os_kind,
            group_id: self.group_id.clone(),
            q: self.q.clone(),
            sort: self.sort,
            limit: None,
            offset: None,
        }
    }
}

fn matches_words(q: &str, host: &Host) -> bool {
    let q = q.trim().to_lowercase();
    q.is_empty()
        || [
            host.hostname.as_str(),
            host.os_id.as_str(),
            host.agent_id.as_deref().unwrap_or_default(),
        ]
        .iter()
        .any(|field| field.to_lowercase().contains(&q))
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Params(f): Params<HostFilter>,
) -> ApiResult<Json<Vec<Host>>> {
    let in_group = match &f.group_id {
        Some(g) => Some(s.store.group_hosts(&caller.scope, g).await?),
        None => None,
    };
    if f.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    if f.offset.is_some_and(|o| o < 0) {
        return Err(AppError::invalid("offset", "offset must not be negative"));
    }
    let q = f.q.clone().unwrap_or_default();
    let mut hosts: Vec<Host> = s
        .store
        .list_hosts(&caller.scope)
        .await?
        .into_iter()
        .filter(|h| {
            f.status.is_none_or(|s| s == h.status)
                && f.health.is_none_or(|s| s == h.health)
                && f.os_kind.is_none_or(|s| s == h.os_kind)
                && in_group.as_ref().is_none_or(|ids| ids.contains(&h.id))
                && matches_words(&q, h)
        })
        .collect();
    match f.sort.unwrap_or(HostSort::Hostname) {
        // The store lists by name already.
        HostSort::Hostname => {}
        HostSort::LastSeen => hosts.sort_by_key(|h| std::cmp::Reverse(h.last_seen_at)),
        HostSort::Os => hosts.sort_by(|a, b| {
            (a.os_kind, &a.os_id, &a.os_version).cmp(&(b.os_kind, &b.os_id, &b.os_version))
        }),
        HostSort::Score | HostSort::LastScan => {
            let latest: std::collections::HashMap<String, bulwark_store::LatestScore> = s
                .store
                .latest_scores(&caller.scope)
                .await?
                .into_iter()
                .map(|l| (l.host_id.clone(), l))
                .collect();
            if f.sort == Some(HostSort::Score) {
                // Worst first; hosts without a scored scan after every scored one.
                hosts.sort_by(|a, b| {
                    let score = |h: &Host| latest.get(&h.id).and_then(|l| l.score);
                    match (score(a), score(b)) {
                        (Some(x), Some(y)) => x.total_cmp(&y),
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (None, None) => std::cmp::Ordering::Equal,
                    }
                });
            } else {
                hosts.sort_by_key(|h| std::cmp::Reverse(latest.get(&h.id).map(|l| l.completed_at)));
            }
        }
    }
    let offset = f.offset.unwrap_or(0) as usize;
    let limit = f.limit.map_or(usize::MAX, |l| l as usize);
    Ok(Json(hosts.into_iter().skip(offset).take(limit).collect()))
}

/// A host with every inventory category the server holds (`null` for those not yet sent).
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<HostDetail>> {
    let host = s.store.get_host(&caller.scope, &id).await?;
    let mut inventory = std::collections::BTreeMap::new();
    for category in CATEGORIES {
        inventory.insert(
            category.to_owned(),
            s.store.inventory(&host.id, category).await?,
        );
    }
    Ok(Json(HostDetail { host, inventory }))
}

pub async fn category(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, category)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(AppError::NotFound(format!(
            "inventory category {category:?} (known: {})",
            CATEGORIES.join(", ")
        )));
    }
    let host = s.store.get_host(&caller.scope, &id).await?;
    let data = s
        .store
        .inventory(&host.id, &category)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!("{category} inventory of this host (not sent yet)"))
        })?;
    Ok(Json(data))
}

pub async fn delete_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Deleted>> {
    s.store.delete_host(&caller.scope, &id).await?;
    Ok(Json(Deleted { deleted: id }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceBody {
    maintenance: bool,
}

pub async fn set_maintenance(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<MaintenanceBody>,
) -> ApiResult<Json<Host>> {
    s.store
        .set_maintenance(&caller.scope, &id, b.maintenance)
        .await?;
    Ok(Json(s.store.get_host(&caller.scope, &id).await?))
}

pub async fn jobs(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AgentJob>>> {
    let filter = bulwark_store::JobFilter {
        host_id: Some(id),
        ..Default::default()
    };
    Ok(Json(s.store.list_jobs(&caller.scope, &filter).await?))
}

pub async fn list_groups(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<HostGroup>>> {
    Ok(Json(s.store.list_groups(&caller.scope).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    org_id: Option<String>,
    name: String,
    parent_id: Option<String>,
}

pub async fn create_group(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<GroupBody>,
) -> ApiResult<Json<HostGroup>> {
    let org = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    if b.name.trim().is_empty() {
        return Err(AppError::invalid("name", "name must not be empty"));
    }
    Ok(Json(
        s.store
            .create_group(&caller.scope, &org, b.name.trim(), b.parent_id.as_deref())
            .await?,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    pub host_id: String,
}

pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<MemberBody>,
) -> ApiResult<Json<Membership>> {
    s.store
        .add_group_member(&caller.scope, &id, &b.host_id)
        .await?;
    Ok(Json(Membership {
        group_id: id,
        host_id: b.host_id,
    }))
}
