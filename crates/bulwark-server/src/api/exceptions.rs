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
    pub state: Option<bulwark_store::ExceptionState>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ExceptionQuery>,
) -> ApiResult<Json<Vec<Exception>>> {
    Ok(Json(s.store.list_exceptions(&caller.scope, q.state).await?))
}

/// A moment as Unix seconds, an RFC 3339 time (`2027-01-31T18:00:00Z`) or a date
/// (`2027-01-31`, meaning the end of that day, UTC).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Moment {
    Unix(i64),
    Text(String),
}

impl Moment {
    fn unix(&self, field: &str) -> ApiResult<i64> {
        let text = match self {
            Moment::Unix(t) => return Ok(*t),
            Moment::Text(t) => t.trim(),
        };
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
            return Ok(t.timestamp());
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| t.and_utc().timestamp())
            .ok_or_else(|| {
                AppError::invalid(
                    field,
                    format!("{field} must be a date (2027-01-31), an RFC 3339 time or Unix seconds, not {text:?}"),
                )
            })
    }
}

/// An expiry that, when given, lies ahead.
fn future_expiry(expires_at: Option<&Moment>) -> ApiResult<Option<i64>> {
    let Some(moment) = expires_at else {
        return Ok(None);
    };
    let at = moment.unix("expires_at")?;
    if at <= bulwark_store::now() {
        return Err(AppError::invalid("expires_at", "expires_at is in the past"));
    }
    Ok(Some(at))
}

fn required_reason(reason: &str) -> ApiResult<&str> {
    match reason.trim() {
        "" => Err(AppError::invalid(
            "reason",
            "a reason is required: say why the check is waived",
        )),
        r => Ok(r),
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub org_id: Option<String>,
    pub rule_id: String,
    pub reason: String,
    pub host_id: Option<String>,
    pub group_id: Option<String>,
    pub expires_at: Option<Moment>,
    /// Waives the rule in every organization (an account-wide user's only; no org, host or
    /// group then).
    #[serde(default)]
    pub account_wide: bool,
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<CreateBody>,
) -> ApiResult<Json<Exception>> {
    if b.account_wide && (b.org_id.is_some() || b.host_id.is_some() || b.group_id.is_some()) {
        return Err(AppError::invalid(
            "account_wide",
            "an account-wide exception applies to every organization: leave org_id, host_id and group_id out",
        ));
    }
    // An exception for a host or group belongs to its organization unless one is named.
    let org_id = match (&b.org_id, &b.host_id, &b.group_id) {
        _ if b.account_wide => None,
        (None, Some(host), _) => Some(s.store.get_host(&caller.scope, host).await?.org_id),
        (None, None, Some(group)) => Some(
            s.store
                .list_groups(&caller.scope)
                .await?
                .into_iter()
                .find(|g| &g.id == group)
                .ok_or(AppError::NotFound("host group".into()))?
                .org_id,
        ),
        (named, _, _) => Some(caller.org_for(&s.store, named.as_deref()).await?),
    };
    // Every problem of the request at once.
    let mut problems = crate::error::Problems::default();
    if b.rule_id.trim().is_empty() {
        problems.add("rule_id", "rule_id must name a check, e.g. CIS-1.1.1");
    }
    let reason = problems.check(required_reason(&b.reason).map(str::to_owned))?;
    if b.host_id.is_some() && b.group_id.is_some() {
        problems.add(
            "group_id",
            "scope an exception to a host or to a host group, not both",
        );
    }
    let expires_at = problems.check(future_expiry(b.expires_at.as_ref()))?;
    problems.into_result()?;
    let (Some(reason), Some(expires_at)) = (reason, expires_at) else {
        unreachable!("into_result answers every check that gave no value");
    };
    let new = NewException {
        org_id,
        rule_id: b.rule_id.trim().into(),
        reason,
        expires_at,
        host_id: b.host_id,
        group_id: b.group_id,
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    pub reason: Option<String>,
    /// A new expiry; `null` makes the exception open-ended.
    #[serde(default, deserialize_with = "super::present")]
    pub expires_at: Option<Option<Moment>>,
}

/// A new reason or expiry for an active exception (what it waives and where stay).
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<UpdateBody>,
) -> ApiResult<Json<Exception>> {
    let current = s.store.get_exception(&caller.scope, &id).await?;
    let reason = match &b.reason {
        Some(r) => required_reason(r)?.to_owned(),
        None => current.reason,
    };
    let expires_at = match &b.expires_at {
        Some(expiry) => future_expiry(expiry.as_ref())?,
        None => current.expires_at,
    };
    Ok(Json(
        s.store
            .update_exception(&caller.scope, &id, &reason, expires_at)
            .await?,
    ))
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
