//! Policies: bind a template to an organization's hosts of one OS type; edit, overrides per
//! host, on-demand scans, delete.

use askama::Template;
use axum::extract::{Path, Query, State};
use bulwark_store::{
    Host, Org, Policy, PolicyOverride, Scan, ScanFilter, TemplateFilter, TemplateSummary,
};
use serde::Deserialize;

use crate::AppState;
use crate::api::policies::{self, OverrideBody, PolicyBody};
use crate::auth::Caller;
use crate::body::Body;
use crate::web::fmt;
use crate::web::form::{Form, Outcome, go_to};
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    policies: Vec<Policy>,
    templates: Vec<TemplateSummary>,
    orgs: Vec<Org>,
}

impl PoliciesPage {
    fn binding(&self, p: &Policy) -> String {
        binding(&self.templates, p)
    }
}

/// A template's name for a page, or its id when the caller cannot see it any more.
fn template_name(templates: &[TemplateSummary], id: &str) -> String {
    templates
        .iter()
        .find(|t| t.id == id)
        .map_or_else(|| id.to_owned(), |t| t.name.clone())
}

/// What judges a policy's hosts, as a page says it.
fn binding(templates: &[TemplateSummary], p: &Policy) -> String {
    match (&p.template_id, p.cis_level) {
        (Some(id), _) => template_name(templates, id),
        (None, Some(level)) => format!("CIS {level}, the shipped template for each host's OS"),
        (None, None) => "no template".into(),
    }
}

pub async fn list(State(s): State<AppState>, caller: Caller, chrome: Chrome) -> PageResult {
    let policies = policies::list(State(s.clone()), caller.clone())
        .await
        .or_page(&chrome)?
        .0;
    let templates = s
        .store
        .list_templates(&caller.scope, &TemplateFilter::default())
        .await
        .or_page(&chrome)?;
    let orgs = s.store.list_orgs(&caller.scope).await.or_page(&chrome)?;
    Ok(render_html(&PoliciesPage {
        chrome,
        policies,
        templates,
        orgs,
    }))
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: Chrome,
    policy: Policy,
    tab: &'static str,
    templates: Vec<TemplateSummary>,
    overrides: Vec<PolicyOverride>,
    /// Hosts the policy covers.
    hosts: Vec<Host>,
    scans: Vec<Scan>,
}

impl PolicyPage {
    fn template_name(&self, id: &str) -> String {
        template_name(&self.templates, id)
    }

    fn binding(&self, p: &Policy) -> String {
        binding(&self.templates, p)
    }

    fn hostname(&self, id: &str) -> String {
        self.hosts
            .iter()
            .find(|h| h.id == id)
            .map_or_else(|| id.to_owned(), |h| h.hostname.clone())
    }
}

#[derive(Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
}

pub async fn detail(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Path(id): Path<String>,
    Query(q): Query<TabQuery>,
) -> PageResult {
    let tab = match q.tab.as_deref() {
        Some("overrides") => "overrides",
        Some("scans") => "scans",
        _ => "settings",
    };
    let policy = policies::get_one(State(s.clone()), caller.clone(), Path(id.clone()))
        .await
        .or_page(&chrome)?
        .0;
    let overrides = policies::list_overrides(State(s.clone()), caller.clone(), Path(id.clone()))
        .await
        .or_page(&chrome)?
        .0;
    let templates = s
        .store
        .list_templates(&caller.scope, &TemplateFilter::default())
        .await
        .or_page(&chrome)?
        .into_iter()
        .filter(|t| policy.os_kind.os().is_none_or(|os| t.os_kind == os))
        .collect();
    let policies = s
        .store
        .list_policies(&caller.scope)
        .await
        .or_page(&chrome)?;
    let hosts = s
        .store
        .list_hosts(&caller.scope)
        .await
        .or_page(&chrome)?
        .into_iter()
        .filter(|h| {
            bulwark_store::policy_for_host(&policies, &h.org_id, h.os_kind)
                .is_some_and(|p| p.id == policy.id)
        })
        .collect();
    let filter = ScanFilter {
        policy_id: Some(id),
        limit: Some(50),
        ..ScanFilter::default()
    };
    let scans = s
        .store
        .list_scans(&caller.scope, &filter)
        .await
        .or_page(&chrome)?;
    Ok(render_html(&PolicyPage {
        chrome,
        policy,
        tab,
        templates,
        overrides,
        hosts,
        scans,
    }))
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(b): Form<PolicyBody>,
) -> Outcome {
    let policy = policies::create(State(s), caller, Body(b)).await?.0;
    go_to(format!("/policies/{}", policy.id))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(b): Form<PolicyBody>,
) -> Outcome {
    let _ = policies::update(State(s), caller, Path(id.clone()), Body(b)).await?;
    go_to(format!("/policies/{id}"))
}

pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Outcome {
    let _ = policies::delete_one(State(s), caller, Path(id)).await?;
    go_to("/policies")
}

pub async fn add_override(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(b): Form<OverrideBody>,
) -> Outcome {
    let _ = policies::add_override(State(s), caller, Path(id.clone()), Body(b)).await?;
    go_to(format!("/policies/{id}?tab=overrides"))
}

pub async fn delete_override(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, override_id)): Path<(String, String)>,
) -> Outcome {
    let _ = policies::delete_override(State(s), caller, Path((id.clone(), override_id))).await?;
    go_to(format!("/policies/{id}?tab=overrides"))
}
