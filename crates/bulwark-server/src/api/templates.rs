//! Templates: list, get with checks, copy, active flag, custom checks, bulk toggle, edit,
//! delete. The store refuses edits of system templates (403) and deletes of templates in use
//! (409).

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::{Check, Expectation, Probe};
use bulwark_store::{TemplateFilter, TemplateSummary};
use schemars::JsonSchema;
use serde::Deserialize;

use super::answers::{Deleted, TemplateDetail, Toggled};
use crate::AppState;
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    pub system: Option<bool>,
    pub framework: Option<bulwark_core::Framework>,
    pub os: Option<bulwark_core::OsKind>,
    /// Only templates that fit this host: its OS type, and for SCAP content the systems the
    /// data stream's CPE names target (what a scan or policy for the host can use).
    pub host_id: Option<String>,
}

/// Whether a template can scan the host: same OS type, and SCAP content meant for its
/// os-release (content that names no platform fits any).
/// Why `template` may not be bound to a policy for `os_kind` (or newly to anything, when
/// inactive); `None` when it may.
pub(crate) fn unbindable(
    template: &TemplateSummary,
    os_kind: bulwark_core::OsKind,
) -> Option<String> {
    if template.os_kind != os_kind {
        return Some(format!(
            "template {} is written for {}; a policy for {os_kind} needs a {os_kind} template",
            template.name, template.os_kind
        ));
    }
    (!template.active).then(|| {
        format!(
            "template {} is inactive; activate it or pick another template",
            template.name
        )
    })
}

pub(crate) fn fits(template: &TemplateSummary, host: &bulwark_store::Host) -> bool {
    template.os_kind == host.os_kind
        && match template.engine() {
            bulwark_core::Engine::Native => true,
            bulwark_core::Engine::Oscap(source) => {
                source.platforms.is_empty()
                    || bulwark_scap::fits(&source.platforms, &host.os_id, &host.os_version)
            }
        }
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<TemplateQuery>,
) -> ApiResult<Json<Vec<TemplateSummary>>> {
    let filter = TemplateFilter {
        system: q.system,
        framework: q.framework,
        os_kind: q.os,
    };
    let mut templates = s.store.list_templates(&caller.scope, &filter).await?;
    if let Some(host_id) = q.host_id {
        let host = s.store.get_host(&caller.scope, &host_id).await?;
        templates.retain(|t| fits(t, &host));
    }
    Ok(Json(templates))
}

pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TemplateDetail>> {
    let template = s.store.get_template(&caller.scope, &id).await?;
    let checks = s.store.template_checks(&caller.scope, &id).await?;
    Ok(Json(TemplateDetail { template, checks }))
}

pub async fn delete_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Deleted>> {
    s.store.delete_template(&caller.scope, &id).await?;
    Ok(Json(Deleted { deleted: id }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyBody {
    name: String,
    org_id: Option<String>,
}

pub async fn copy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<CopyBody>,
) -> ApiResult<Json<TemplateSummary>> {
    let name = required("name", &b.name)?;
    let org = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    // A copy carries its source's command checks into another organization: code again.
    let source = s.store.get_template(&caller.scope, &id).await?;
    let target = TemplateSummary {
        org_id: Some(org.clone()),
        ..source
    };
    for c in s.store.template_checks(&caller.scope, &id).await? {
        crate::commands::may_write(s.store.as_ref(), &caller, &target, &c.check).await?;
    }
    Ok(Json(
        s.store
            .copy_template(&caller.scope, &id, name, &org)
            .await?,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveBody {
    pub active: bool,
}

pub async fn set_active(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<ActiveBody>,
) -> ApiResult<Json<TemplateSummary>> {
    // A system template is shared by every organization: only who manages the installation
    // may switch it for all of them.
    if s.store.get_template(&caller.scope, &id).await?.is_system {
        caller.require(bulwark_core::Permission::SettingsManage)?;
    }
    s.store
        .set_template_active(&caller.scope, &id, b.active)
        .await?;
    Ok(Json(s.store.get_template(&caller.scope, &id).await?))
}

pub async fn add_check(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(check): Body<Check>,
) -> ApiResult<Json<Check>> {
    let template = s.store.get_template(&caller.scope, &id).await?;
    crate::commands::may_write(s.store.as_ref(), &caller, &template, &check).await?;
    validate_check(&check)?;
    s.store.add_check(&caller.scope, &id, &check).await?;
    Ok(Json(check))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkToggle {
    pub check_ids: Vec<String>,
    pub enabled: bool,
}

pub async fn bulk_toggle(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<BulkToggle>,
) -> ApiResult<Json<Toggled>> {
    if b.check_ids.is_empty() {
        return Err(AppError::invalid("check_ids", "name at least one check"));
    }
    let changed = s
        .store
        .set_checks_enabled(&caller.scope, &id, &b.check_ids, b.enabled)
        .await
        .map_err(|e| match e {
            // The store names the check ids the template does not have.
            bulwark_store::StoreError::Invalid(message) => AppError::invalid("check_ids", message),
            other => other.into(),
        })?;
    Ok(Json(Toggled {
        changed,
        enabled: b.enabled,
    }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckPatch {
    enabled: Option<bool>,
    /// New probe parameters (the whole probe, with its kind).
    probe: Option<Probe>,
    /// New expected value and operator.
    expect: Option<Expectation>,
    severity: Option<bulwark_core::Severity>,
    /// The check's distribution and version overrides, replaced as a whole (`[]` removes
    /// them all).
    overrides: Option<Vec<bulwark_core::template::Override>>,
}

pub async fn patch_check(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, check_id)): Path<(String, String)>,
    Body(p): Body<CheckPatch>,
) -> ApiResult<Json<Check>> {
    // Read first so that system templates answer 403 and unknown checks 404 before validation.
    let template = s.store.get_template(&caller.scope, &id).await?;
    if template.is_system {
        return Err(AppError::Forbidden(format!(
            "template {} is a system template and is read-only; copy it to edit its checks",
            template.name
        )));
    }
    let mut check = s
        .store
        .template_checks(&caller.scope, &id)
        .await?
        .into_iter()
        .find(|c| c.check.id == check_id)
        .ok_or_else(|| AppError::NotFound("check".into()))?
        .check;
    if let Some(e) = p.enabled {
        check.enabled = e;
    }
    if let Some(probe) = p.probe {
        check.probe = probe;
    }
    if let Some(expect) = p.expect {
        check.expect = Some(expect);
    }
    if let Some(sev) = p.severity {
        check.severity = sev;
    }
    if let Some(overrides) = p.overrides {
        check.overrides = overrides;
    }
    // Who may write commands is asked before whether the check is well formed.
    crate::commands::may_write(s.store.as_ref(), &caller, &template, &check).await?;
    validate_check(&check)?;
    s.store.update_check(&caller.scope, &id, &check).await?;
    Ok(Json(check))
}

pub async fn delete_check(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, check_id)): Path<(String, String)>,
) -> ApiResult<Json<Deleted>> {
    s.store.delete_check(&caller.scope, &id, &check_id).await?;
    Ok(Json(Deleted { deleted: check_id }))
}

fn required<'a>(field: &str, value: &'a str) -> ApiResult<&'a str> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    Ok(v)
}

/// The content validator's shape rules, minus inline tests (API checks carry none).
fn validate_check(check: &Check) -> ApiResult<()> {
    required("id", &check.id)?;
    let problems: Vec<String> = check
        .problems()
        .into_iter()
        .filter(|p| !p.starts_with("tests need"))
        .collect();
    match problems.first() {
        None => Ok(()),
        Some(_) => Err(AppError::invalid("check", problems.join("; "))),
    }
}
