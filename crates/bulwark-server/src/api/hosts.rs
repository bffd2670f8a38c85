//! Hosts and host groups (agents register hosts; see the agent API).

use axum::Json;
use axum::extract::{Path, State};
use bulwark_store::{Host, HostGroup};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::body::Body;
use crate::error::{ApiResult, AppError};

pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Host>>> {
    Ok(Json(s.store.list_hosts(&caller.scope).await?))
}

pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Host>> {
    Ok(Json(s.store.get_host(&caller.scope, &id).await?))
}

pub async fn list_groups(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<HostGroup>>> {
    Ok(Json(s.store.list_groups(&caller.scope).await?))
}

#[derive(Deserialize)]
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
    let org = caller.org_for(b.org_id.as_deref())?;
    if b.name.trim().is_empty() {
        return Err(AppError::invalid("name", "name must not be empty"));
    }
    Ok(Json(
        s.store
            .create_group(&caller.scope, &org, b.name.trim(), b.parent_id.as_deref())
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    host_id: String,
}

pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<MemberBody>,
) -> ApiResult<Json<Value>> {
    s.store
        .add_group_member(&caller.scope, &id, &b.host_id)
        .await?;
    Ok(Json(json!({ "group_id": id, "host_id": b.host_id })))
}
