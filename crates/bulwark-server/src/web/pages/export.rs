//! Export: completed scans as CSV or JSON, downloaded from the API's streaming export.

use askama::Template;
use axum::extract::State;
use bulwark_store::{Host, Policy};

use crate::AppState;
use crate::api::reports::MAX_EXPORT;
use crate::auth::Caller;
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};

#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage {
    chrome: Chrome,
    policies: Vec<Policy>,
    hosts: Vec<Host>,
    max: i64,
}

pub async fn page(State(s): State<AppState>, caller: Caller, chrome: Chrome) -> PageResult {
    let policies = s
        .store
        .list_policies(&caller.scope)
        .await
        .or_page(&chrome)?;
    let hosts = s.store.list_hosts(&caller.scope).await.or_page(&chrome)?;
    Ok(render_html(&ExportPage {
        chrome,
        policies,
        hosts,
        max: MAX_EXPORT,
    }))
}
