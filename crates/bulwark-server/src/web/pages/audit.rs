//! The audit log for admins: every change and attempt, filtered, exported as CSV.

use askama::Template;
use axum::extract::State;
use bulwark_store::{AuditEntry, AuditFilter, AuditOutcome};

use crate::AppState;
use crate::api::audit;
use crate::auth::Caller;
use crate::body::Params;
use crate::web::fmt;
use crate::web::page::{Chrome, OrErrorPage, PageQuery, PageResult, render_html};

const AUDIT_OUTCOMES: [AuditOutcome; 3] = AuditOutcome::ALL;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditEntry>,
    filter: AuditFilter,
    query: String,
}

pub async fn page(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    PageQuery(filter): PageQuery<AuditFilter>,
) -> PageResult {
    let entries = audit::list(State(s), caller, Params(filter.clone()))
        .await
        .or_page(&chrome)?
        .0;
    let query = serde_urlencoded::to_string(&filter).unwrap_or_default();
    Ok(render_html(&AuditPage {
        chrome,
        entries,
        filter,
        query,
    }))
}

pub async fn export(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    PageQuery(filter): PageQuery<AuditFilter>,
) -> PageResult {
    audit::export(State(s), caller, Params(filter))
        .await
        .or_page(&chrome)
}
