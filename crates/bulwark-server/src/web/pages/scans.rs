//! Scans: the list (filters, id search, auto-refresh while any scan runs, export), bulk
//! scans with a progress bar, and one scan's results with its reports.

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use bulwark_core::outcome::listing_key;
use bulwark_core::{Severity, Status};
use bulwark_report::Finding;
use bulwark_store::{Host, Policy, Scan, ScanStatus};
use serde::Deserialize;

use crate::AppState;
use crate::api::reports::neutralize;
use crate::api::scans::{self, ScanQuery, TriggerBody};
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::AppError;
use crate::web::form::{Done, Form, Outcome, go_to, parse};
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};
use crate::web::{charts, fmt};

/// The scan list's filters, echoed into its links and refreshes.
struct Filters {
    status: String,
    q: String,
    host: String,
    host_id: String,
    offset: i64,
}

/// Scans drawn per page of the list.
const PAGE_SIZE: i64 = 50;

impl Filters {
    fn of(q: &ScanQuery) -> Filters {
        Filters {
            status: q.status.clone().unwrap_or_default(),
            q: q.q.clone().unwrap_or_default(),
            host: q.host.clone().unwrap_or_default(),
            host_id: q.host_id.clone().unwrap_or_default(),
            offset: q.offset.unwrap_or(0).max(0),
        }
    }

    /// The list's query string at `offset` (the filters kept).
    fn query_at(&self, offset: i64) -> String {
        serde_urlencoded::to_string([
            ("status", self.status.as_str()),
            ("q", self.q.as_str()),
            ("host", self.host.as_str()),
            ("host_id", self.host_id.as_str()),
            ("offset", offset.to_string().as_str()),
        ])
        .unwrap_or_default()
    }

    fn query(&self) -> String {
        self.query_at(self.offset)
    }

    fn is_filtered(&self) -> bool {
        !self.status.is_empty()
            || !self.q.is_empty()
            || !self.host.is_empty()
            || !self.host_id.is_empty()
    }
}

#[derive(Template)]
#[template(path = "scans.html")]
struct ScansPage {
    chrome: Chrome,
    scans: Vec<Scan>,
    filters: Filters,
    refresh: bool,
    hosts: Vec<Host>,
    policies: Vec<Policy>,
    /// The selected host's numbers above the list.
    host_stats: Option<HostStats>,
}

/// One host's scans in brief: how many, the latest completed one, and its last 30 days.
struct HostStats {
    total: usize,
    /// True when there are more scans than were counted.
    more: bool,
    latest: Option<Scan>,
    chart: Option<String>,
}

/// Scans counted for the selected host's card.
const HOST_SCANS_COUNTED: i64 = 1000;

async fn host_stats(s: &AppState, caller: &Caller, host_id: &str) -> Result<HostStats, AppError> {
    let history = s
        .store
        .host_history(&caller.scope, host_id, HOST_SCANS_COUNTED)
        .await?;
    let latest = s.store.latest_scan(&caller.scope, host_id).await?;
    let since = bulwark_store::now() - 30 * 86_400;
    let points: Vec<charts::Point> = history
        .iter()
        .rev()
        .filter(|scan| scan.completed_at.is_some_and(|t| t >= since))
        .map(|scan| charts::Point {
            label: fmt::day(&scan.completed_at.unwrap_or(scan.created_at)),
            value: scan.score,
            note: scan.template_name.clone(),
        })
        .collect();
    let title = match &latest {
        Some(scan) => format!("Score of each scan, last 30 days ({})", scan.template_name),
        None => "Score of each scan, last 30 days".to_owned(),
    };
    Ok(HostStats {
        total: history.len(),
        more: history.len() as i64 >= HOST_SCANS_COUNTED,
        latest,
        chart: charts::score_line(&title, &points, None),
    })
}

#[derive(Template)]
#[template(path = "scan_table.html")]
struct ScanTable {
    scans: Vec<Scan>,
    filters: Filters,
    refresh: bool,
}

fn any_active(scans: &[Scan]) -> bool {
    scans.iter().any(|s| s.status.is_active())
}

async fn find(
    s: &AppState,
    caller: &Caller,
    q: ScanQuery,
) -> Result<(Vec<Scan>, Filters), AppError> {
    let filters = Filters::of(&q);
    let q = ScanQuery {
        limit: q.limit.or(Some(PAGE_SIZE)),
        ..q
    };
    let scans = scans::list(State(s.clone()), caller.clone(), Params(q))
        .await?
        .0;
    Ok((scans, filters))
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    q: Result<Params<ScanQuery>, AppError>,
) -> PageResult {
    let Params(q) = q.or_page(&chrome)?;
    let host_stats = match q.host_id.as_deref().filter(|h| !h.is_empty()) {
        Some(host_id) => Some(host_stats(&s, &caller, host_id).await.or_page(&chrome)?),
        None => None,
    };
    let (scans, filters) = find(&s, &caller, q).await.or_page(&chrome)?;
    let hosts = s.store.list_hosts(&caller.scope).await.or_page(&chrome)?;
    let policies = s
        .store
        .list_policies(&caller.scope)
        .await
        .or_page(&chrome)?;
    Ok(render_html(&ScansPage {
        chrome,
        refresh: any_active(&scans),
        scans,
        filters,
        hosts,
        policies,
        host_stats,
    }))
}

/// The table alone, for the auto-refresh.
pub async fn table(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    q: Result<Params<ScanQuery>, AppError>,
) -> PageResult {
    let Params(q) = q.or_page(&chrome)?;
    let (scans, filters) = find(&s, &caller, q).await.or_page(&chrome)?;
    Ok(render_html(&ScanTable {
        refresh: any_active(&scans),
        scans,
        filters,
    }))
}

/// The htmx event a started scan raises: scan lists on the page reload.
const SCANS_STARTED: &str = "scans-started";

#[derive(Deserialize)]
pub struct Trigger {
    #[serde(default)]
    policy_id: Option<String>,
    #[serde(default)]
    template_id: Option<String>,
    #[serde(default)]
    host_id: Vec<String>,
}

/// One scan per selected host through the API's trigger (each host checked as the API
/// checks it); the answer is a progress bar that follows the scans that started.
pub async fn trigger(State(s): State<AppState>, caller: Caller, Form(t): Form<Trigger>) -> Outcome {
    if t.host_id.is_empty() {
        return Err(AppError::invalid("host_id", "select at least one host").into());
    }
    let mut started = Vec::new();
    let mut refused = Vec::new();
    for host_id in t.host_id {
        // A form's unselected choice arrives as an empty string.
        let chosen = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let body = TriggerBody {
            host_id,
            policy_id: chosen(&t.policy_id),
            template_id: chosen(&t.template_id),
        };
        match scans::trigger(State(s.clone()), caller.clone(), Body(body)).await {
            Ok(scan) => started.push(scan.0.id),
            Err(e) => refused.push(e.to_string()),
        }
    }
    if started.is_empty() {
        return Err(AppError::Conflict(refused.join("; ")).into());
    }
    let progress = progress_of(&s, &caller, started, refused).await?;
    Ok(Done::ShowAndSignal(
        progress
            .render()
            .map_err(|e| AppError::Internal(e.to_string()))?,
        SCANS_STARTED,
    ))
}

#[derive(Template)]
#[template(path = "scan_progress.html")]
struct Progress {
    ids: Vec<String>,
    finished: usize,
    completed: usize,
    failed: usize,
    refused: Vec<String>,
    percent: usize,
}

impl Progress {
    fn query(&self) -> String {
        serde_urlencoded::to_string(self.ids.iter().map(|id| ("id", id)).collect::<Vec<_>>())
            .unwrap_or_default()
    }
}

async fn progress_of(
    s: &AppState,
    caller: &Caller,
    ids: Vec<String>,
    refused: Vec<String>,
) -> Result<Progress, AppError> {
    let mut finished = 0;
    let mut completed = 0;
    let mut failed = 0;
    for id in &ids {
        let scan = s.store.get_scan(&caller.scope, id).await?;
        match scan.status {
            ScanStatus::Completed => {
                finished += 1;
                completed += 1;
            }
            ScanStatus::Failed | ScanStatus::Cancelled => {
                finished += 1;
                failed += 1;
            }
            ScanStatus::Pending | ScanStatus::Running => {}
        }
    }
    Ok(Progress {
        percent: finished * 100 / ids.len().max(1),
        ids,
        finished,
        completed,
        failed,
        refused,
    })
}

#[derive(Deserialize)]
struct ProgressQuery {
    #[serde(default)]
    id: Vec<String>,
}

pub async fn progress(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    RawQuery(query): RawQuery,
) -> PageResult {
    let q: ProgressQuery = parse(query.unwrap_or_default().as_bytes()).or_page(&chrome)?;
    let ids: Vec<String> = q.id.into_iter().take(1000).collect();
    let progress = progress_of(&s, &caller, ids, vec![])
        .await
        .or_page(&chrome)?;
    let html = render_html(&progress);
    if progress.finished == progress.ids.len() {
        // The page's score cards and lists reload with the finished scans.
        return Ok(([("HX-Trigger", SCANS_FINISHED)], html).into_response());
    }
    Ok(html.into_response())
}

/// The htmx event raised when the scans a page follows have all finished.
const SCANS_FINISHED: &str = "scans-finished";

#[derive(Template)]
#[template(path = "scan.html")]
struct ScanPage {
    chrome: Chrome,
    scan: Scan,
    findings: Vec<Finding>,
    counts: Vec<(Status, usize)>,
    status: Option<Status>,
    severity: Option<Severity>,
    q: String,
}

#[derive(Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
    severity: Option<String>,
    q: Option<String>,
}

pub async fn detail(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
) -> PageResult {
    let scan = scans::get_one(State(s.clone()), caller.clone(), Path(id))
        .await
        .or_page(&chrome)?
        .0;
    let status = q
        .status
        .as_deref()
        .and_then(|v| Status::ALL.into_iter().find(|s| s.as_str() == v));
    let findings = if scan.status == ScanStatus::Completed {
        crate::api::report::gather(&s, &caller.scope, scan.clone())
            .await
            .or_page(&chrome)?
            .findings
    } else {
        vec![]
    };
    let counts = Status::ALL
        .into_iter()
        .map(|st| (st, findings.iter().filter(|f| f.status == st).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let severity = q
        .severity
        .as_deref()
        .and_then(|v| v.parse::<Severity>().ok());
    let search = q.q.unwrap_or_default().trim().to_owned();
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| status.is_none_or(|s| f.status == s))
        .filter(|f| severity.is_none_or(|s| f.severity == s))
        .filter(|f| crate::api::scans::matches_search(&search, &f.check_id, &f.title))
        .collect();
    // What needs attention first, as every list of results: failures, the most severe on top.
    findings.sort_by(|a, b| {
        listing_key(a.status, a.severity, &a.check_id).cmp(&listing_key(
            b.status,
            b.severity,
            &b.check_id,
        ))
    });
    Ok(render_html(&ScanPage {
        chrome,
        scan,
        findings,
        counts,
        status,
        severity,
        q: search,
    }))
}

/// A scan's results as CSV, cells a spreadsheet would evaluate neutralized.
pub async fn results_csv(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Path(id): Path<String>,
) -> PageResult {
    let results = s
        .store
        .scan_results(&caller.scope, &id, None)
        .await
        .or_page(&chrome)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "check_id", "title", "category", "severity", "status", "actual", "expected", "reason",
    ];
    let mut write = |row: Vec<String>| out.write_record(row.iter().map(|c| neutralize(c)));
    write(header.iter().map(|h| h.to_string()).collect())
        .map_err(|e| AppError::Internal(e.to_string()))
        .or_page(&chrome)?;
    for r in results {
        write(vec![
            r.check_id,
            r.title,
            r.category,
            r.severity.as_str().into(),
            r.outcome.status.as_str().into(),
            r.outcome.actual.unwrap_or_default(),
            r.outcome.expected,
            r.outcome.reason.unwrap_or_default(),
        ])
        .map_err(|e| AppError::Internal(e.to_string()))
        .or_page(&chrome)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))
        .or_page(&chrome)?;
    let disposition = format!(
        "attachment; filename=\"bulwark-scan-{}-results.csv\"",
        fmt::short(&id)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

pub async fn cancel(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Outcome {
    let _ = scans::cancel(State(s), caller, Path(id.clone())).await?;
    go_to(format!("/scans/{id}"))
}
