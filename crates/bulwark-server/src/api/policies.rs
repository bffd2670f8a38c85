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
    /// The other form: the benchmark level, whose shipped template for the OS type is bound.
    cis_level: Option<CisLevel>,
    /// The other form's OS type.
    target_os: Option<TargetOs>,
    /// The other form's interval, in whole hours' worth of minutes (1440-10080).
    check_interval_minutes: Option<i64>,
    /// The other form's passing threshold.
    passing_score_threshold: Option<f64>,
}

bulwark_core::text_enum! {
    /// A CIS benchmark level, as the policy's other form names templates.
    pub enum CisLevel as "CIS level" {
        Level1 = "level_1",
        Level2 = "level_2",
    }
}

bulwark_core::text_enum! {
    /// The other form's OS type; `all` stands for every OS type without a policy of its own.
    pub enum TargetOs as "target OS" {
        Windows = "windows",
        Darwin = "darwin",
        Linux = "linux",
        All = "all",
    }
}

/// The shipped template of a level for an OS type, where there is one.
fn level_template(level: CisLevel, os: OsKind) -> Option<&'static str> {
    match (level, os) {
        (CisLevel::Level1, OsKind::Linux) => Some("cis-linux-l1"),
        (CisLevel::Level2, OsKind::Linux) => Some("cis-linux-l2"),
        (CisLevel::Level1, OsKind::Windows) => Some("cis-windows-server-l1"),
        _ => None,
    }
}

/// Reads the other form's fields (`cis_level`, `target_os`, `check_interval_minutes`,
/// `passing_score_threshold`) into this form's; a field given both ways is refused. The
/// interval rule is the same in both forms: whole hours, 24 to 168 of them.
fn normalize(mut b: PolicyBody, current_os: Option<OsKind>) -> ApiResult<PolicyBody> {
    fn one_of<T>(
        ours: &mut Option<T>,
        theirs: Option<T>,
        field: &str,
        other: &str,
    ) -> ApiResult<()> {
        match (ours.is_some(), theirs) {
            (true, Some(_)) => Err(AppError::invalid(
                field,
                format!("give {other} or {field}, not both"),
            )),
            (false, Some(v)) => {
                *ours = Some(v);
                Ok(())
            }
            (_, None) => Ok(()),
        }
    }
    let target = match b.target_os.take() {
        Some(TargetOs::All) => {
            return Err(AppError::invalid(
                "target_os",
                "target_os all is not supported: create one policy for each OS type (linux, windows, darwin)",
            ));
        }
        Some(TargetOs::Linux) => Some(OsKind::Linux),
        Some(TargetOs::Windows) => Some(OsKind::Windows),
        Some(TargetOs::Darwin) => Some(OsKind::Darwin),
        None => None,
    };
    one_of(&mut b.os_type, target, "target_os", "os_type")?;
    if let Some(level) = b.cis_level.take() {
        let os = b.os_type.or(current_os).ok_or_else(|| {
            AppError::invalid("target_os", "target_os is required with cis_level")
        })?;
        let template = level_template(level, os).ok_or_else(|| {
            AppError::invalid(
                "cis_level",
                format!(
                    "Bulwark ships no CIS {level} template for {os}; name a template_id instead"
                ),
            )
        })?;
        one_of(
            &mut b.template_id,
            Some(template.to_owned()),
            "cis_level",
            "template_id",
        )?;
    }
    if let Some(minutes) = b.check_interval_minutes.take() {
        let (min, max) = (MIN_INTERVAL_HOURS * 60, MAX_INTERVAL_HOURS * 60);
        if !(min..=max).contains(&minutes) || minutes % 60 != 0 {
            return Err(AppError::invalid(
                "check_interval_minutes",
                format!(
                    "check_interval_minutes must be whole hours between {min} (1 day) and {max} (7 days), got {minutes}: scans run at most daily and at least weekly"
                ),
            ));
        }
        one_of(
            &mut b.scan_interval_hours,
            Some(minutes / 60),
            "check_interval_minutes",
            "scan_interval_hours",
        )?;
    }
    let threshold = b.passing_score_threshold.take();
    one_of(
        &mut b.passing_threshold,
        threshold,
        "passing_score_threshold",
        "passing_threshold",
    )?;
    Ok(b)
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
    let b = normalize(b, None)?;
    let org_id = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    for (field, missing) in [
        ("name", b.name.is_none()),
        ("os_type", b.os_type.is_none()),
        ("template_id", b.template_id.is_none()),
    ] {
        if missing {
            return Err(AppError::invalid(
                field,
                format!("{field} is required (or, in the other form, target_os and cis_level)"),
            ));
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
    let b = normalize(b, Some(p.os_kind))?;
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
