//! Policies bind a template to an organization and OS type; validated on create and update
//! (interval 24-168 hours, threshold 0-100, schedule type and cron expression).

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::OsKind;
use bulwark_store::{Policy, PolicyOverride, ScheduleType};
use schemars::JsonSchema;
use serde::Deserialize;

use super::answers::Deleted;
use crate::AppState;
use crate::auth::Caller;
use crate::body::Body;
use crate::error::{ApiResult, AppError};
use crate::scheduler;

pub const MIN_INTERVAL_HOURS: i64 = 24;
pub const MAX_INTERVAL_HOURS: i64 = 168;

/// A policy as clients send it; on update every field is optional.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    org_id: Option<String>,
    name: Option<String>,
    os_type: Option<OsKind>,
    template_id: Option<String>,
    scan_interval_hours: Option<i64>,
    active: Option<bool>,
    passing_threshold: Option<f64>,
    schedule_type: Option<ScheduleType>,
    /// A cron expression; `null` removes it.
    #[serde(default, deserialize_with = "super::present")]
    cron: Option<Option<String>>,
}

fn apply(p: &mut Policy, b: PolicyBody) {
    macro_rules! set {
        ($($field:ident <- $src:ident),*) => {$(if let Some(v) = b.$src { p.$field = v; })*};
    }
    set!(name <- name, os_kind <- os_type, template_id <- template_id, interval_hours <- scan_interval_hours,
        active <- active, passing_threshold <- passing_threshold, schedule_type <- schedule_type);
    if let Some(cron) = b.cron {
        p.cron = cron;
    }
}

/// Every rule a stored policy obeys; the first broken one answers 422 with its field.
pub fn validate(p: &Policy) -> ApiResult<()> {
    if p.name.trim().is_empty() {
        return Err(AppError::invalid("name", "name must not be empty"));
    }
    if !(MIN_INTERVAL_HOURS..=MAX_INTERVAL_HOURS).contains(&p.interval_hours) {
        return Err(AppError::invalid(
            "scan_interval_hours",
            format!(
                "scan_interval_hours must be between {MIN_INTERVAL_HOURS} (1 day) and {MAX_INTERVAL_HOURS} (7 days), got {}",
                p.interval_hours
            ),
        ));
    }
    if !(0.0..=100.0).contains(&p.passing_threshold) {
        return Err(AppError::invalid(
            "passing_threshold",
            "passing_threshold must be between 0 and 100",
        ));
    }
    match p.schedule_type {
        ScheduleType::Scheduled => match &p.cron {
            None => Err(AppError::invalid(
                "cron",
                "a scheduled policy needs a cron expression",
            )),
            Some(c) => scheduler::parse_cron(c)
                .and_then(|cron| {
                    scheduler::check_cron_interval(&cron, MIN_INTERVAL_HOURS, MAX_INTERVAL_HOURS)
                })
                .map_err(|m| AppError::invalid("cron", m)),
        },
        ScheduleType::Continuous | ScheduleType::Manual => Ok(()),
    }
}

/// The template a policy binds must be one the caller sees, written for the policy's OS, and
/// active: another OS's template would judge nothing and score as if it had.
async fn check_template(s: &AppState, caller: &Caller, p: &Policy) -> ApiResult<()> {
    let template = s
        .store
        .get_template(&caller.scope, &p.template_id)
        .await
        .map_err(|e| match e {
            bulwark_store::StoreError::NotFound(_) => AppError::invalid(
                "template_id",
                format!("there is no template {:?}", p.template_id),
            ),
            other => other.into(),
        })?;
    if template.org_id.as_ref().is_some_and(|o| *o != p.org_id) {
        return Err(AppError::invalid(
            "template_id",
            format!("template {} belongs to another organization", template.name),
        ));
    }
    match super::templates::unbindable(&template, p.os_kind) {
        Some(why) => Err(AppError::invalid("template_id", why)),
        None => Ok(()),
    }
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Policy>>> {
    Ok(Json(s.store.list_policies(&caller.scope).await?))
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<PolicyBody>,
) -> ApiResult<Json<Policy>> {
    let org_id = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    for (field, missing) in [
        ("name", b.name.is_none()),
        ("os_type", b.os_type.is_none()),
        ("template_id", b.template_id.is_none()),
    ] {
        if missing {
            return Err(AppError::invalid(field, format!("{field} is required")));
        }
    }
    // Name, OS type and template were checked above; `apply` fills them in.
    let mut p = Policy::draft(&org_id, "", OsKind::Linux, "");
    apply(&mut p, b);
    validate(&p)?;
    check_template(&s, &caller, &p).await?;
    Ok(Json(s.store.create_policy(&caller.scope, &p).await?))
}

pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Policy>> {
    Ok(Json(s.store.get_policy(&caller.scope, &id).await?))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<PolicyBody>,
) -> ApiResult<Json<Policy>> {
    let mut p = s.store.get_policy(&caller.scope, &id).await?;
    if b.org_id.as_deref().is_some_and(|o| o != p.org_id) {
        return Err(AppError::invalid(
            "org_id",
            "a policy cannot move to another organization",
        ));
    }
    let (old_template, old_os) = (p.template_id.clone(), p.os_kind);
    apply(&mut p, b);
    validate(&p)?;
    if p.template_id != old_template || p.os_kind != old_os {
        check_template(&s, &caller, &p).await?;
    }
    Ok(Json(s.store.update_policy(&caller.scope, &p).await?))
}

pub async fn delete_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Deleted>> {
    s.store.delete_policy(&caller.scope, &id).await?;
    Ok(Json(Deleted { deleted: id }))
}

pub async fn list_overrides(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PolicyOverride>>> {
    Ok(Json(s.store.list_overrides(&caller.scope, &id).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    host_id: String,
    template_id: String,
}

pub async fn add_override(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<OverrideBody>,
) -> ApiResult<Json<PolicyOverride>> {
    let policy = s.store.get_policy(&caller.scope, &id).await?;
    check_template(
        &s,
        &caller,
        &Policy {
            template_id: b.template_id.clone(),
            ..policy
        },
    )
    .await?;
    Ok(Json(
        s.store
            .add_override(&caller.scope, &id, &b.host_id, &b.template_id)
            .await?,
    ))
}

pub async fn delete_override(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, override_id)): Path<(String, String)>,
) -> ApiResult<Json<Deleted>> {
    s.store
        .delete_override(&caller.scope, &id, &override_id)
        .await?;
    Ok(Json(Deleted {
        deleted: override_id,
    }))
}
