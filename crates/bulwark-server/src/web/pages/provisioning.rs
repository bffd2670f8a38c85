//! The provisioning gate's pages: the overview (four cards and the 20 most recent machines),
//! every scan result with filters and pages, and the organization's settings (admins), with
//! Release on blocked machines for admins.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bulwark_core::provisioning::{
    CisProfile, ComplianceSettings, EnforcementMode, ProvisionStatus,
};
use bulwark_store::{ProvisionedVm, ProvisionedVmFilter, ProvisioningOverview, SshCredential};
use serde::Deserialize;

use crate::AppState;
use crate::api::provisioning::{self as api, OrgQuery, ReleaseBody, SettingsAnswer, SettingsBody};
use crate::api::report::ReportQuery;
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::web::fmt;
use crate::web::form::{Done, Form, Outcome};
use crate::web::page::{Chrome, OrErrorPage, PageQuery, PageResult, render_html};

const PAGE_SIZE: i64 = 50;
const STATUSES: [ProvisionStatus; 5] = ProvisionStatus::ALL;
const MODES: [EnforcementMode; 3] = EnforcementMode::ALL;
const PROFILES: [CisProfile; 4] = CisProfile::ALL;

/// The provisioning colour band of a score: ≥ 90 green, ≥ 70 amber, below red.
pub fn band(score: &Option<f64>) -> &'static str {
    match score {
        Some(s) if *s >= 90.0 => "score-good",
        Some(s) if *s >= 70.0 => "score-warn",
        Some(_) => "score-bad",
        None => "score-none",
    }
}

/// The badge a machine shows: its status, or "blocked" / "released" when a decision holds.
pub fn badge(vm: &ProvisionedVm) -> (&'static str, &'static str) {
    match (vm.held(), vm.released_at.is_some(), vm.status) {
        (true, _, _) => ("blocked", "badge-fail"),
        (false, true, _) => ("released", "badge-excepted"),
        (_, _, ProvisionStatus::Completed) => ("completed", "badge-pass"),
        (_, _, ProvisionStatus::Failed) => ("failed", "badge-error"),
        (_, _, ProvisionStatus::Cancelled) => ("cancelled", "badge-skip"),
        (_, _, ProvisionStatus::Running) => ("running", "badge-running"),
        (_, _, ProvisionStatus::Pending) => ("pending", "badge-pending"),
    }
}

/// The machines table both tabs show.
#[derive(Template)]
#[template(path = "provisioning_rows.html")]
struct Rows<'a> {
    chrome: &'a Chrome,
    vms: &'a [ProvisionedVm],
}

#[derive(Template)]
#[template(path = "provisioning.html")]
struct OverviewPage {
    chrome: Chrome,
    tab: &'static str,
    overview: ProvisioningOverview,
    rows: String,
}

fn rows(chrome: &Chrome, vms: &[ProvisionedVm]) -> Result<String, crate::error::AppError> {
    Rows { chrome, vms }
        .render()
        .map_err(|e| crate::error::AppError::Internal(e.to_string()))
}

pub async fn overview(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    PageQuery(q): PageQuery<OrgQuery>,
) -> PageResult {
    let answer = api::overview(State(s), caller, Params(q))
        .await
        .or_page(&chrome)?
        .0;
    let rows = rows(&chrome, &answer.recent).or_page(&chrome)?;
    Ok(render_html(&OverviewPage {
        chrome,
        tab: "overview",
        overview: answer.overview,
        rows,
    }))
}

#[derive(Template)]
#[template(path = "provisioning_results.html")]
struct ResultsPage {
    chrome: Chrome,
    tab: &'static str,
    filter: ProvisionedVmFilter,
    rows: String,
    count: usize,
    previous: Option<String>,
    next: Option<String>,
}

pub async fn results(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    PageQuery(mut filter): PageQuery<ProvisionedVmFilter>,
) -> PageResult {
    filter.limit = Some(PAGE_SIZE);
    let offset = filter.offset.unwrap_or(0).max(0);
    let vms = api::list_vms(State(s), caller, Params(filter.clone()))
        .await
        .or_page(&chrome)?
        .0;
    let at = |offset: i64| {
        let page = ProvisionedVmFilter {
            offset: Some(offset),
            limit: None,
            ..filter.clone()
        };
        format!(
            "/provisioning/results?{}",
            serde_urlencoded::to_string(&page).unwrap_or_default()
        )
    };
    let rows = rows(&chrome, &vms).or_page(&chrome)?;
    Ok(render_html(&ResultsPage {
        previous: (offset > 0).then(|| at((offset - PAGE_SIZE).max(0))),
        next: (vms.len() as i64 == PAGE_SIZE).then(|| at(offset + PAGE_SIZE)),
        count: vms.len(),
        chrome,
        tab: "results",
        filter,
        rows,
    }))
}

#[derive(Template)]
#[template(path = "provisioning_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    tab: &'static str,
    orgs: Vec<bulwark_store::Org>,
    answer: SettingsAnswer,
    credentials: Vec<SshCredential>,
    exempted_rules: String,
    exempted_projects: String,
}

pub async fn settings(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    PageQuery(q): PageQuery<OrgQuery>,
) -> PageResult {
    // Someone who sees several organizations picks one; the first is shown until they do.
    let orgs = s.store.list_orgs(&caller.scope).await.or_page(&chrome)?;
    let q = OrgQuery {
        org_id: q.org_id.or_else(|| orgs.first().map(|o| o.id.clone())),
    };
    let answer = api::get_settings(State(s.clone()), caller.clone(), Params(q))
        .await
        .or_page(&chrome)?
        .0;
    let credentials = s
        .store
        .list_ssh_credentials(&caller.scope)
        .await
        .or_page(&chrome)?
        .into_iter()
        .filter(|c| c.org_id == answer.org_id)
        .collect();
    Ok(render_html(&SettingsPage {
        orgs,
        exempted_rules: answer.settings.exempted_rules.join("\n"),
        exempted_projects: answer.settings.exempted_projects.join("\n"),
        chrome,
        tab: "settings",
        credentials,
        answer,
    }))
}

/// The settings form: checkboxes (absent when unticked), lists one per line, and secrets
/// that are left alone when their field is empty.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsForm {
    org_id: String,
    #[serde(default)]
    enabled: bool,
    enforcement_mode: EnforcementMode,
    profile: CisProfile,
    min_score: f64,
    #[serde(default)]
    block_on_critical: bool,
    #[serde(default)]
    block_on_high: bool,
    #[serde(default)]
    scan_on_provision: bool,
    scan_schedule: Option<String>,
    ssh_user: String,
    ssh_credential_id: Option<String>,
    #[serde(default)]
    ssh_sudo: bool,
    #[serde(default)]
    trust_new_host_keys: bool,
    exempted_rules: Option<String>,
    exempted_projects: Option<String>,
    #[serde(default)]
    allow_insecure_callbacks: bool,
    run_task_key: Option<String>,
    notification_token: Option<String>,
    terraform_token: Option<String>,
}

fn lines(text: Option<String>) -> Vec<String> {
    text.unwrap_or_default()
        .split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl From<SettingsForm> for SettingsBody {
    fn from(f: SettingsForm) -> Self {
        SettingsBody {
            org_id: Some(f.org_id),
            settings: ComplianceSettings {
                enabled: f.enabled,
                enforcement_mode: f.enforcement_mode,
                profile: f.profile,
                min_score: f.min_score,
                block_on_critical: f.block_on_critical,
                block_on_high: f.block_on_high,
                scan_on_provision: f.scan_on_provision,
                scan_schedule: f.scan_schedule,
                ssh_user: f.ssh_user,
                ssh_credential_id: f.ssh_credential_id,
                ssh_sudo: f.ssh_sudo,
                trust_new_host_keys: f.trust_new_host_keys,
                exempted_rules: lines(f.exempted_rules),
                exempted_projects: lines(f.exempted_projects),
                allow_insecure_callbacks: f.allow_insecure_callbacks,
            },
            // An empty secret field keeps what is stored: the page never shows secrets back.
            run_task_key: f.run_task_key.map(Some),
            notification_token: f.notification_token.map(Some),
            terraform_token: f.terraform_token.map(Some),
        }
    }
}

pub async fn save_settings(
    State(s): State<AppState>,
    caller: Caller,
    Form(f): Form<SettingsForm>,
) -> Outcome {
    let org = f.org_id.clone();
    let response = api::put_settings(State(s), caller, Body(f.into())).await?;
    // The audit note travels on the API's response; keep it, then send the browser on.
    let mut response = response.into_response();
    let target = format!("/provisioning/settings?org_id={org}");
    response.headers_mut().insert(
        crate::web::form::REDIRECT,
        target.parse().expect("a path is a header value"),
    );
    Ok(Done::Response(Box::new(response)))
}

pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(b): Form<ReleaseBody>,
) -> Outcome {
    let response = api::release(State(s), caller, Path(id), Body(b)).await?;
    let mut response: Response = response.into_response();
    response.headers_mut().insert(
        crate::web::form::REDIRECT,
        "/provisioning".parse().expect("a path is a header value"),
    );
    Ok(Done::Response(Box::new(response)))
}

pub async fn report(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Path(id): Path<String>,
    PageQuery(q): PageQuery<ReportQuery>,
) -> PageResult {
    api::vm_report(State(s), caller, Path(id), Params(q))
        .await
        .or_page(&chrome)
}
