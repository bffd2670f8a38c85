//! Policies bind a template to an organization and OS type (or a CIS level to every OS type
//! without a policy of its own); validated on create and update (interval 24-168 hours,
//! threshold 0-100, schedule type and cron expression), every problem reported at once.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::OsKind;
use bulwark_store::{
    CisLevel, Policy, PolicyOverride, PolicyTarget, ScheduleType, Scope, TemplateFilter,
    TemplateSummary,
};
use schemars::JsonSchema;
use serde::Deserialize;

use super::answers::Deleted;
use crate::AppState;
use crate::auth::Caller;
use crate::body::Body;
use crate::error::{ApiResult, AppError, Problems};
use crate::scheduler;

pub const MIN_INTERVAL_HOURS: i64 = 24;
pub const MAX_INTERVAL_HOURS: i64 = 168;

/// A policy as clients send it; on update every field is optional.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    org_id: Option<String>,
    name: Option<String>,
    /// The OS type whose hosts the policy judges; `all` covers every OS type that has no
    /// policy of its own, and binds by `cis_level` instead of a template.
    os_type: Option<PolicyTarget>,
    template_id: Option<String>,
    scan_interval_hours: Option<i64>,
    active: Option<bool>,
    passing_threshold: Option<f64>,
    schedule_type: Option<ScheduleType>,
    /// A cron expression; `null` removes it.
    #[serde(default, deserialize_with = "super::present")]
    cron: Option<Option<String>>,
    /// The benchmark level: for one OS type, its shipped template of that level is bound; for
    /// `all`, each host is judged by the shipped template of that level for its OS.
    cis_level: Option<CisLevel>,
    /// The other form's OS type.
    target_os: Option<PolicyTarget>,
    /// The other form's interval, in whole hours' worth of minutes (1440-10080).
    check_interval_minutes: Option<i64>,
    /// The other form's passing threshold.
    passing_score_threshold: Option<f64>,
}

/// The shipped template of a CIS level for an OS type: the active system template of that
/// level's framework, where there is one.
pub async fn level_template(
    s: &AppState,
    level: CisLevel,
    os: OsKind,
) -> ApiResult<Option<TemplateSummary>> {
    let filter = TemplateFilter {
        system: Some(true),
        framework: Some(level.framework()),
        os_kind: Some(os),
    };
    let mut shipped = s.store.list_templates(&Scope::All, &filter).await?;
    shipped.retain(|t| t.active);
    shipped.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(shipped.into_iter().next())
}

/// Reads the other form's fields (`target_os`, `check_interval_minutes`,
/// `passing_score_threshold`) into this form's; a field given both ways is refused. The
/// interval rule is the same in both forms: whole hours, 24 to 168 of them.
fn normalize(mut b: PolicyBody, problems: &mut Problems) -> PolicyBody {
    fn one_of<T>(
        ours: &mut Option<T>,
        theirs: Option<T>,
        field: &str,
        other: &str,
        problems: &mut Problems,
    ) {
        match (ours.is_some(), theirs) {
            (true, Some(_)) => problems.add(field, format!("give {other} or {field}, not both")),
            (false, Some(v)) => *ours = Some(v),
            (_, None) => {}
        }
    }
    let target = b.target_os.take();
    one_of(&mut b.os_type, target, "target_os", "os_type", problems);
    if let Some(minutes) = b.check_interval_minutes.take() {
        let (min, max) = (MIN_INTERVAL_HOURS * 60, MAX_INTERVAL_HOURS * 60);
        if !(min..=max).contains(&minutes) || minutes % 60 != 0 {
            problems.add(
                "check_interval_minutes",
                format!(
                    "check_interval_minutes must be whole hours between {min} (1 day) and {max} (7 days), got {minutes}: scans run at most daily and at least weekly"
                ),
            );
        } else {
            one_of(
                &mut b.scan_interval_hours,
                Some(minutes / 60),
                "check_interval_minutes",
                "scan_interval_hours",
                problems,
            );
        }
    }
    let threshold = b.passing_score_threshold.take();
    one_of(
        &mut b.passing_threshold,
        threshold,
        "passing_score_threshold",
        "passing_threshold",
        problems,
    );
    b
}

/// Sets the fields of `p` a body names, except the binding (template or level), which
/// [`bind`] settles.
fn apply(p: &mut Policy, b: &mut PolicyBody) {
    macro_rules! set {
        ($($field:ident <- $src:ident),*) => {$(if let Some(v) = b.$src.take() { p.$field = v; })*};
    }
    set!(name <- name, os_kind <- os_type, interval_hours <- scan_interval_hours,
        active <- active, passing_threshold <- passing_threshold, schedule_type <- schedule_type);
    if let Some(cron) = b.cron.take() {
        p.cron = cron;
    }
}

/// Settles what judges the policy's hosts once its target is known: a policy for one OS type
/// binds a template (named, or its level's shipped one); a policy for every OS type binds a
/// level. A template the caller names is checked by [`check_template`].
async fn bind(
    s: &AppState,
    p: &mut Policy,
    template_id: Option<String>,
    level: Option<CisLevel>,
    problems: &mut Problems,
) -> ApiResult<()> {
    match p.os_kind.os() {
        None => {
            if template_id.is_some() {
                problems.add(
                    "template_id",
                    "a policy for every OS type binds a cis_level, not a template: each host gets that level's template for its OS",
                );
            }
            p.template_id = None;
            p.cis_level = level.or(p.cis_level);
            if p.cis_level.is_none() {
                problems.add(
                    "cis_level",
                    "cis_level is required for a policy that covers every OS type",
                );
            }
        }
        Some(os) => {
            let shipped = match level {
                Some(level) => match level_template(s, level, os).await? {
                    Some(t) => Some(t.id),
                    None => {
                        problems.add(
                            "cis_level",
                            format!("Bulwark ships no CIS {level} template for {os}; name a template_id instead"),
                        );
                        None
                    }
                },
                None => None,
            };
            if template_id.is_some() && level.is_some() {
                problems.add("cis_level", "give template_id or cis_level, not both");
            }
            p.cis_level = None;
            p.template_id = template_id.or(shipped).or(p.template_id.take());
            if p.template_id.is_none() && level.is_none() {
                problems.add(
                    "template_id",
                    "template_id is required (or cis_level, for the shipped template of a level)",
                );
            }
        }
    }
    Ok(())
}

/// Every rule a stored policy obeys, each broken one named with its field.
pub fn validate(p: &Policy, problems: &mut Problems) {
    if p.name.trim().is_empty() {
        problems.add("name", "name must not be empty");
    }
    if !(MIN_INTERVAL_HOURS..=MAX_INTERVAL_HOURS).contains(&p.interval_hours) {
        problems.add(
            "scan_interval_hours",
            format!(
                "scan_interval_hours must be between {MIN_INTERVAL_HOURS} (1 day) and {MAX_INTERVAL_HOURS} (7 days), got {}",
                p.interval_hours
            ),
        );
    }
    if !(0.0..=100.0).contains(&p.passing_threshold) {
        problems.add(
            "passing_threshold",
            "passing_threshold must be between 0 and 100",
        );
    }
    if p.schedule_type == ScheduleType::Scheduled {
        match &p.cron {
            None => problems.add("cron", "a scheduled policy needs a cron expression"),
            Some(c) => {
                if let Err(m) = scheduler::parse_cron(c).and_then(|cron| {
                    scheduler::check_cron_interval(&cron, MIN_INTERVAL_HOURS, MAX_INTERVAL_HOURS)
                }) {
                    problems.add("cron", m);
                }
            }
        }
    }
}

/// The template a policy binds must be one the caller sees, written for the policy's OS, and
/// active: another OS's template would judge nothing and score as if it had.
async fn check_template(s: &AppState, caller: &Caller, p: &Policy) -> ApiResult<()> {
    let (Some(template_id), Some(os)) = (&p.template_id, p.os_kind.os()) else {
        return Ok(());
    };
    let template = s
        .store
        .get_template(&caller.scope, template_id)
        .await
        .map_err(|e| match e {
            bulwark_store::StoreError::NotFound(_) => AppError::invalid(
                "template_id",
                format!("there is no template {template_id:?}"),
            ),
            other => other.into(),
        })?;
    if template.org_id.as_ref().is_some_and(|o| *o != p.org_id) {
        return Err(AppError::invalid(
            "template_id",
            format!("template {} belongs to another organization", template.name),
        ));
    }
    match super::templates::unbindable(&template, os) {
        Some(why) => Err(AppError::invalid("template_id", why)),
        None => Ok(()),
    }
}

/// Everything create and update share once the policy's current state is known: the body
/// applied, the binding settled, every rule checked, each problem reported at once.
async fn settle(
    s: &AppState,
    caller: &Caller,
    p: &mut Policy,
    b: PolicyBody,
    mut problems: Problems,
) -> ApiResult<()> {
    let mut b = normalize(b, &mut problems);
    let (template_id, level) = (b.template_id.take(), b.cis_level.take());
    let template_named = template_id.is_some();
    apply(p, &mut b);
    bind(s, p, template_id, level, &mut problems).await?;
    validate(p, &mut problems);
    if template_named || level.is_some() {
        let checked = check_template(s, caller, p).await;
        problems.check(checked)?;
    }
    problems.into_result()
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
    let mut problems = Problems::default();
    if b.name.is_none() {
        problems.add("name", "name is required");
    }
    if b.os_type.is_none() && b.target_os.is_none() {
        problems.add(
            "os_type",
            "os_type is required (linux, windows, darwin, or all for every OS type without a policy of its own)",
        );
    }
    // Placeholders until `settle` fills in what the body names.
    let mut p = Policy::draft(&org_id, "", OsKind::Linux, "");
    p.template_id = None;
    settle(&s, &caller, &mut p, b, problems).await?;
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
    let mut problems = Problems::default();
    if b.org_id.as_deref().is_some_and(|o| o != p.org_id) {
        problems.add("org_id", "a policy cannot move to another organization");
    }
    let old_os = p.os_kind;
    let retarget = b.os_type.or(b.target_os).is_some_and(|t| t != old_os);
    settle(&s, &caller, &mut p, b, problems).await?;
    if retarget {
        // The kept template was checked against the old OS type.
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
    let host = s.store.get_host(&caller.scope, &b.host_id).await?;
    // An override judges one host, so its template must fit that host's OS, whatever the
    // policy covers.
    check_template(
        &s,
        &caller,
        &Policy {
            os_kind: host.os_kind.into(),
            template_id: Some(b.template_id.clone()),
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

/// Which template judges a host under a policy: the host's override, else the policy's
/// template, else (for a policy over every OS type) its level's shipped template for the
/// host's OS. Level lookups are remembered, since the scheduler asks for many hosts.
pub struct TemplateChooser<'a> {
    state: &'a AppState,
    levels: std::collections::HashMap<(CisLevel, OsKind), Option<String>>,
}

impl<'a> TemplateChooser<'a> {
    pub fn new(state: &'a AppState) -> Self {
        TemplateChooser {
            state,
            levels: Default::default(),
        }
    }

    /// `None` when nothing judges the host: a level without a shipped template for its OS.
    pub async fn template_for(
        &mut self,
        policy: &Policy,
        host: &bulwark_store::Host,
    ) -> ApiResult<Option<String>> {
        if let Some(o) = self.state.store.override_for(&policy.id, &host.id).await? {
            return Ok(Some(o.template_id));
        }
        match (&policy.template_id, policy.cis_level) {
            (Some(t), _) => Ok(Some(t.clone())),
            (None, Some(level)) => {
                let key = (level, host.os_kind);
                if !self.levels.contains_key(&key) {
                    let shipped = level_template(self.state, level, host.os_kind).await?;
                    self.levels.insert(key, shipped.map(|t| t.id));
                }
                Ok(self.levels[&key].clone())
            }
            (None, None) => Ok(None),
        }
    }
}
