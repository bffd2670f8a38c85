//! Dashboard, trends and the streamed export (CSV or NDJSON, in batches, completed scans
//! only). Export cells that a spreadsheet would run as a formula are neutralized.

use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use bulwark_store::{Dashboard, ExportFilter, Scan, Scope, Trends};
use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::body::Params;
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    pub org_id: Option<String>,
}

pub async fn dashboard(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<DashboardQuery>,
) -> ApiResult<Json<Dashboard>> {
    if let Some(org) = &q.org_id {
        s.store.get_org(&caller.scope, org).await?;
    }
    Ok(Json(
        s.store
            .dashboard(&caller.scope, q.org_id.as_deref())
            .await?,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrendsQuery {
    pub days: Option<i64>,
    pub policy_id: Option<String>,
}

pub async fn trends(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<TrendsQuery>,
) -> ApiResult<Json<Trends>> {
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(AppError::invalid("days", "days must be between 1 and 365"));
    }
    if let Some(p) = &q.policy_id {
        s.store.get_policy(&caller.scope, p).await?;
    }
    Ok(Json(
        s.store
            .trends(
                &caller.scope,
                days,
                q.policy_id.as_deref(),
                bulwark_store::now(),
            )
            .await?,
    ))
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
    Json,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    pub format: Option<Format>,
    pub policy_id: Option<String>,
    pub host_id: Option<String>,
    pub limit: Option<i64>,
}

pub const MAX_EXPORT: i64 = 100_000;
const BATCH: i64 = 1_000;
pub const CSV_HEADER: [&str; 13] = [
    "scan_id",
    "host",
    "template",
    "framework",
    "os_type",
    "score",
    "passed",
    "failed",
    "error",
    "skipped",
    "waived",
    "total",
    "scan_date",
];

/// A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, carriage return first) gets
/// a leading apostrophe, so it is shown as text.
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn csv_row(s: &Scan) -> Vec<String> {
    vec![
        neutralize(&s.id),
        neutralize(&s.hostname),
        neutralize(&s.template_name),
        neutralize(&s.framework),
        neutralize(s.os_kind.as_str()),
        s.score.map(|v| format!("{v:.2}")).unwrap_or_default(),
        s.passed.to_string(),
        s.failed.to_string(),
        s.errors.to_string(),
        s.skipped.to_string(),
        s.waived.to_string(),
        s.total.to_string(),
        rfc3339(s.completed_at.unwrap_or_default()),
    ]
}

/// One exported scan: a line of the NDJSON export, and the CSV export's columns.
#[derive(serde::Serialize, JsonSchema)]
pub struct ExportRow {
    pub scan_id: String,
    pub host: String,
    pub template: String,
    pub framework: String,
    pub os_type: String,
    pub score: Option<f64>,
    pub passed: i64,
    pub failed: i64,
    pub error: i64,
    pub skipped: i64,
    /// Failures covered by an exception: with the others, they add up to `total`.
    pub waived: i64,
    pub total: i64,
    /// RFC 3339, UTC.
    pub scan_date: String,
}

fn ndjson_row(s: &Scan) -> ExportRow {
    ExportRow {
        scan_id: s.id.clone(),
        host: s.hostname.clone(),
        template: s.template_name.clone(),
        framework: s.framework.clone(),
        os_type: s.os_kind.to_string(),
        score: s.score,
        passed: s.passed,
        failed: s.failed,
        error: s.errors,
        skipped: s.skipped,
        waived: s.waived,
        total: s.total,
        scan_date: rfc3339(s.completed_at.unwrap_or_default()),
    }
}

fn render(format: Format, scans: &[Scan], header: bool) -> Vec<u8> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            if header {
                let _ = w.write_record(CSV_HEADER);
            }
            for s in scans {
                let _ = w.write_record(csv_row(s));
            }
            w.into_inner().unwrap_or_default()
        }
        Format::Ndjson | Format::Json => {
            let mut out = Vec::new();
            for s in scans {
                out.extend(serde_json::to_vec(&ndjson_row(s)).expect("an export row serializes"));
                out.push(b'\n');
            }
            out
        }
    }
}

struct Cursor {
    store: std::sync::Arc<dyn bulwark_store::Store>,
    scope: Scope,
    filter: ExportFilter,
    format: Format,
    after: Option<(i64, String)>,
    sent: i64,
    first: bool,
    done: bool,
}

pub async fn export(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format.unwrap_or(Format::Csv);
    let limit = q.limit.unwrap_or(10_000);
    if !(1..=MAX_EXPORT).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_EXPORT}"),
        ));
    }
    if let Some(p) = &q.policy_id {
        s.store.get_policy(&caller.scope, p).await?;
    }
    if let Some(h) = &q.host_id {
        s.store.get_host(&caller.scope, h).await?;
    }
    let cursor = Cursor {
        store: s.store.clone(),
        scope: caller.scope.clone(),
        filter: ExportFilter {
            policy_id: q.policy_id,
            host_id: q.host_id,
            limit,
        },
        format,
        after: None,
        sent: 0,
        first: true,
        done: false,
    };
    // Batches are fetched as the client reads, so memory stays flat whatever the limit.
    let body = stream::unfold(cursor, |mut c| async move {
        if c.done {
            return None;
        }
        let want = BATCH.min(c.filter.limit - c.sent);
        let batch = match c
            .store
            .export_batch(&c.scope, &c.filter, c.after.clone(), want)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "export batch failed");
                return Some((Err(std::io::Error::other(e.to_string())), c));
            }
        };
        c.sent += batch.len() as i64;
        c.done = (batch.len() as i64) < want || c.sent >= c.filter.limit;
        if let Some(last) = batch.last() {
            c.after = Some((last.completed_at.unwrap_or_default(), last.id.clone()));
        }
        let bytes = render(c.format, &batch, c.first);
        c.first = false;
        Some((Ok::<_, std::io::Error>(bytes), c))
    })
    .boxed();
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        _ => ("application/x-ndjson", "ndjson"),
    };
    Ok((
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"compliance-export.{ext}\""),
            ),
        ],
        HttpBody::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn formula_cells_are_neutralized() {
        for (cell, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("web-01", "web-01"),
            ("", ""),
        ] {
            assert_eq!(super::neutralize(cell), want);
        }
    }

    proptest! {
        #[test]
        fn neutralized_cells_never_start_a_formula_and_keep_their_text(cell in ".*") {
            let out = super::neutralize(&cell);
            prop_assert!(!matches!(out.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')));
            prop_assert!(out.ends_with(&cell));
        }
    }
}
