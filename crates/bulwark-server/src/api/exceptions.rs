//! Exceptions (waivers) for a rule, scoped to a host, a host group or the organization,
//! with an optional expiry; `DELETE` revokes.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_store::{Exception, NewException};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionQuery {
    pub state: Option<String>,
}

const STATES: [&str; 3] = ["active", "expired", "revoked"];

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ExceptionQuery>,
) -> ApiResult<Json<Vec<Exception>>> {
    if let Some(st) = &q.state
        && !STATES.contains(&st.as_str())
    {
        return Err(AppError::invalid(
            "state",
            "state must be active, expired or revoked",
        ));
    }
    Ok(Json(
        s.store
            .list_exceptions(&caller.scope, q.state.as_deref())
            .await?,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub org_id: Option<String>,
    pub rule_id: String,
    pub reason: String,
    pub host_id: Option<String>,
    pub group_id: Option<String>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<CreateBody>,
) -> ApiResult<Json<Exception>> {
    // An exception for a host or group belongs to its organization unless one is named.
    let org_id = match (&b.org_id, &b.host_id, &b.group_id) {
        (None, Some(host), _) => s.store.get_host(&caller.scope, host).await?.org_id,
        (None, None, Some(group)) => {
            s.store
                .list_groups(&caller.scope)
                .await?
                .into_iter()
                .find(|g| &g.id == group)
                .ok_or(AppError::NotFound("host group".into()))?
                .org_id
        }
        (named, _, _) => caller.org_for(named.as_deref())?,
    };
    if b.rule_id.trim().is_empty() {
        return Err(AppError::invalid(
            "rule_id",
            "rule_id must name a check, e.g. CIS-1.1.1",
        ));
    }
    if b.reason.trim().is_empty() {
        return Err(AppError::invalid(
            "reason",
            "a reason is required: say why the check is waived",
        ));
    }
    if b.host_id.is_some() && b.group_id.is_some() {
        return Err(AppError::invalid(
            "group_id",
            "scope an exception to a host or to a host group, not both",
        ));
    }
    let now = bulwark_store::now();
    if b.expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::invalid("expires_at", "expires_at is in the past"));
    }
    let new = NewException {
        org_id,
        rule_id: b.rule_id.trim().into(),
        reason: b.reason.trim().into(),
        host_id: b.host_id,
        group_id: b.group_id,
        expires_at: b.expires_at,
        created_by: caller.user.username.clone(),
    };
    Ok(Json(s.store.create_exception(&caller.scope, &new).await?))
}

pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Exception>> {
    Ok(Json(s.store.get_exception(&caller.scope, &id).await?))
}

pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Exception>> {
    Ok(Json(
        s.store
            .revoke_exception(&caller.scope, &id, bulwark_store::now())
            .await?,
    ))
}
