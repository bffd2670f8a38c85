//! Exceptions: waive a rule for a host, a host group or an organization, with a reason and
//! an optional expiry; revoke them.

use askama::Template;
use axum::extract::{Path, Query, State};
use bulwark_store::{Exception, ExceptionState, Host, HostGroup, Org};
use serde::Deserialize;

use crate::AppState;
use crate::api::exceptions::{self, CreateBody, ExceptionQuery, Moment, UpdateBody};
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::AppError;
use crate::web::fmt;
use crate::web::form::{Form, Outcome, go_to};
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};

#[derive(Template)]
#[template(path = "exceptions.html")]
struct ExceptionsPage {
    chrome: Chrome,
    exceptions: Vec<Exception>,
    state: Option<ExceptionState>,
    hosts: Vec<Host>,
    groups: Vec<HostGroup>,
    /// Offered as a choice when the caller sees more than one.
    orgs: Vec<Org>,
    /// The caller sees every organization, and may waive a rule in all of them.
    account_wide: bool,
    /// Prefilled from a scan's "Create an exception".
    rule_id: String,
    host_id: String,
}

impl ExceptionsPage {
    fn scope_of(&self, e: &Exception) -> String {
        if let Some(h) = &e.host_id {
            let name = self
                .hosts
                .iter()
                .find(|x| &x.id == h)
                .map_or(h.as_str(), |x| &x.hostname);
            format!("host {name}")
        } else if let Some(g) = &e.group_id {
            let name = self
                .groups
                .iter()
                .find(|x| &x.id == g)
                .map_or(g.as_str(), |x| &x.name);
            format!("group {name}")
        } else if e.org_id.is_none() {
            "every organization".into()
        } else {
            "whole organization".into()
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    rule_id: Option<String>,
    host_id: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => Some(
            text.parse::<ExceptionState>()
                .map_err(|e| AppError::invalid("state", e.to_string()))
                .or_page(&chrome)?,
        ),
        None => None,
    };
    let exceptions = exceptions::list(
        State(s.clone()),
        caller.clone(),
        Params(ExceptionQuery { state }),
    )
    .await
    .or_page(&chrome)?
    .0;
    let hosts = s.store.list_hosts(&caller.scope).await.or_page(&chrome)?;
    let groups = s.store.list_groups(&caller.scope).await.or_page(&chrome)?;
    let orgs = s.store.list_orgs(&caller.scope).await.or_page(&chrome)?;
    Ok(render_html(&ExceptionsPage {
        chrome,
        exceptions,
        state,
        hosts,
        groups,
        orgs,
        account_wide: caller.scope == bulwark_store::Scope::All,
        rule_id: q.rule_id.unwrap_or_default(),
        host_id: q.host_id.unwrap_or_default(),
    }))
}

/// The form: a date instead of unix seconds; the rest as the API names it.
#[derive(Deserialize)]
pub struct NewException {
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default)]
    account_wide: bool,
    rule_id: String,
    reason: String,
    host_id: Option<String>,
    group_id: Option<String>,
    expires_on: Option<String>,
}

/// A form's unanswered choice arrives as an empty string.
fn chosen(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.trim().is_empty())
}

/// The API's expiry errors, named as the form names the field.
fn on_form(e: AppError) -> AppError {
    match e.field() {
        Some("expires_at") => AppError::invalid("expires_on", e.to_string()),
        _ => e,
    }
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(f): Form<NewException>,
) -> Outcome {
    let body = CreateBody {
        org_id: chosen(f.org_id),
        rule_id: f.rule_id,
        reason: f.reason,
        host_id: chosen(f.host_id),
        group_id: chosen(f.group_id),
        expires_at: chosen(f.expires_on).map(Moment::Text),
        account_wide: f.account_wide,
    };
    let _ = exceptions::create(State(s), caller, Body(body))
        .await
        .map_err(on_form)?;
    go_to("/exceptions")
}

#[derive(Deserialize)]
pub struct EditException {
    reason: String,
    /// Empty: no expiry.
    expires_on: Option<String>,
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(f): Form<EditException>,
) -> Outcome {
    let body = UpdateBody {
        reason: Some(f.reason),
        expires_at: Some(chosen(f.expires_on).map(Moment::Text)),
    };
    let _ = exceptions::update(State(s), caller, Path(id), Body(body))
        .await
        .map_err(on_form)?;
    go_to("/exceptions")
}

pub async fn revoke(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Outcome {
    let _ = exceptions::revoke(State(s), caller, Path(id)).await?;
    go_to("/exceptions")
}
