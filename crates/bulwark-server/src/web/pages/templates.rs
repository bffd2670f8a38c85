//! Templates: system and custom, copy, activate in bulk, delete; a template's checks with
//! bulk enable/disable, edits of a check, and custom checks written in the content format.

use askama::Template;
use axum::extract::{Path, Query, State};
use bulwark_core::Check;
use bulwark_store::{Org, TemplateCheck, TemplateSummary};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::api::templates::{self, ActiveBody, BulkToggle, CheckPatch, CopyBody, TemplateQuery};
use crate::auth::Caller;
use crate::body::{Body, Params, parse_json};
use crate::error::AppError;
use crate::web::fmt;
use crate::web::form::{Form, Outcome, go_to};
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};

#[derive(Template)]
#[template(path = "templates.html")]
struct TemplatesPage {
    chrome: Chrome,
    templates: Vec<TemplateSummary>,
    kind: String,
}

#[derive(Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Query(q): Query<KindQuery>,
) -> PageResult {
    let kind = q.kind.unwrap_or_default();
    let system = match kind.as_str() {
        "system" => Some(true),
        "custom" => Some(false),
        _ => None,
    };
    let query = TemplateQuery {
        system,
        framework: None,
        os: None,
        host_id: None,
    };
    let templates = templates::list(State(s.clone()), caller.clone(), Params(query))
        .await
        .or_page(&chrome)?
        .0;
    Ok(render_html(&TemplatesPage {
        chrome,
        templates,
        kind,
    }))
}

#[derive(Template)]
#[template(path = "template.html")]
struct TemplatePage {
    chrome: Chrome,
    template: TemplateSummary,
    checks: Vec<TemplateCheck>,
    orgs: Vec<Org>,
    /// The check whose edit form is open.
    editing: Option<String>,
}

impl TemplatePage {
    fn expect_json(&self, check: &Check) -> String {
        check
            .expect
            .as_ref()
            .and_then(|e| serde_json::to_string(e).ok())
            .unwrap_or_default()
    }

    fn probe_json(&self, check: &Check) -> String {
        serde_json::to_string(&check.probe).unwrap_or_default()
    }

    fn overrides_json(&self, check: &Check) -> String {
        serde_json::to_string_pretty(&check.overrides).unwrap_or_default()
    }
}

#[derive(Deserialize)]
pub struct EditQuery {
    edit: Option<String>,
}

pub async fn detail(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
) -> PageResult {
    let detail = templates::get_one(State(s.clone()), caller.clone(), Path(id))
        .await
        .or_page(&chrome)?
        .0;
    let orgs = s.store.list_orgs(&caller.scope).await.or_page(&chrome)?;
    Ok(render_html(&TemplatePage {
        chrome,
        template: detail.template,
        checks: detail.checks,
        orgs,
        editing: q.edit,
    }))
}

pub async fn copy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(b): Form<CopyBody>,
) -> Outcome {
    let copy = templates::copy(State(s), caller, Path(id), Body(b))
        .await?
        .0;
    go_to(format!("/templates/{}", copy.id))
}

#[derive(Deserialize)]
pub struct BulkActive {
    #[serde(default)]
    template_id: Vec<String>,
    active: bool,
}

/// The active flag of each selected template, through the API's per-template endpoint.
pub async fn bulk_active(
    State(s): State<AppState>,
    caller: Caller,
    Form(b): Form<BulkActive>,
) -> Outcome {
    if b.template_id.is_empty() {
        return Err(AppError::invalid("template_id", "select at least one template").into());
    }
    for id in b.template_id {
        let _ = templates::set_active(
            State(s.clone()),
            caller.clone(),
            Path(id),
            Body(ActiveBody { active: b.active }),
        )
        .await?;
    }
    go_to("/templates")
}

pub async fn delete_check(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, check)): Path<(String, String)>,
) -> Outcome {
    let _ = templates::delete_check(State(s), caller, Path((id.clone(), check))).await?;
    go_to(format!("/templates/{id}"))
}

pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Outcome {
    let _ = templates::delete_one(State(s), caller, Path(id)).await?;
    go_to("/templates")
}

#[derive(Deserialize)]
pub struct NewCheck {
    check_yaml: String,
}

/// A custom check written as in a content file (one YAML list item); errors carry the line.
pub async fn add_check(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(f): Form<NewCheck>,
) -> Outcome {
    let parsed = bulwark_content::parse_check_list("check", &f.check_yaml).map_err(|problems| {
        let message = problems
            .iter()
            .map(|p| match p.line {
                Some(line) => format!("line {line}: {}", p.message),
                None => p.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        AppError::invalid("check_yaml", message)
    })?;
    let mut checks = parsed.checks.into_iter();
    let (Some((check, _)), None) = (checks.next(), checks.next()) else {
        return Err(AppError::invalid(
            "check_yaml",
            "write exactly one check (one item starting with \"- id:\")",
        )
        .into());
    };
    let _ = templates::add_check(State(s), caller, Path(id.clone()), Body(check)).await?;
    go_to(format!("/templates/{id}"))
}

#[derive(Deserialize)]
pub struct Toggle {
    #[serde(default)]
    check_ids: Vec<String>,
    enabled: bool,
}

pub async fn toggle_checks(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(t): Form<Toggle>,
) -> Outcome {
    let body = BulkToggle {
        check_ids: t.check_ids,
        enabled: t.enabled,
    };
    let _ = templates::bulk_toggle(State(s), caller, Path(id.clone()), Body(body)).await?;
    go_to(format!("/templates/{id}"))
}

/// The edit form: probe and expectation as the JSON the API takes, enabled and severity as
/// choices. Parsed as the API parses a patch, so errors name `probe.…` or `expect.…`.
#[derive(Deserialize)]
pub struct EditCheck {
    enabled: Option<bool>,
    severity: Option<String>,
    probe: Option<String>,
    expect: Option<String>,
    overrides: Option<String>,
}

pub async fn edit_check(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, check)): Path<(String, String)>,
    Form(f): Form<EditCheck>,
) -> Outcome {
    let json_of = |field: &str, text: Option<String>| -> Result<serde_json::Value, AppError> {
        match text.filter(|t| !t.trim().is_empty()) {
            Some(t) => serde_json::from_str(&t)
                .map_err(|e| AppError::invalid(field, format!("{field} is not valid JSON: {e}"))),
            None => Ok(serde_json::Value::Null),
        }
    };
    let patch = json!({
        "enabled": f.enabled,
        "severity": f.severity,
        "probe": json_of("probe", f.probe)?,
        "expect": json_of("expect", f.expect)?,
        "overrides": json_of("overrides", f.overrides)?,
    });
    let patch: CheckPatch = parse_json(patch.to_string().as_bytes())?;
    let _ =
        templates::patch_check(State(s), caller, Path((id.clone(), check)), Body(patch)).await?;
    go_to(format!("/templates/{id}"))
}
