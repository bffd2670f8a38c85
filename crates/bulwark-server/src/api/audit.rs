//! The audit log: read with filters, exported as CSV. Entries are written by the permission
//! layers (see [`crate::audit`]), never through an endpoint.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bulwark_store::{AuditEntry, AuditFilter};

use crate::AppState;
use crate::auth::Caller;
use crate::body::Params;
use crate::error::{ApiResult, AppError};

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(filter): Params<AuditFilter>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(state.store.list_audit(&caller.scope, &filter).await?))
}

/// The audit log as CSV (every cell a spreadsheet would evaluate neutralized).
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Params(filter): Params<AuditFilter>,
) -> ApiResult<Response> {
    let entries = state.store.list_audit(&caller.scope, &filter).await?;
    csv_response(&entries)
}

pub fn csv_response(entries: &[AuditEntry]) -> ApiResult<Response> {
    use super::reports::neutralize;
    let internal = |e: csv::Error| AppError::Internal(e.to_string());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "time",
        "org_id",
        "actor",
        "action",
        "target",
        "outcome",
        "detail",
        "source_ip",
    ])
    .map_err(internal)?;
    for e in entries {
        let time = chrono::DateTime::from_timestamp(e.at, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let row = [
            time,
            e.org_id.clone(),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone().unwrap_or_default(),
            e.outcome.to_string(),
            e.detail.clone().unwrap_or_default(),
            e.source_ip.clone().unwrap_or_default(),
        ];
        out.write_record(row.iter().map(|c| neutralize(c)))
            .map_err(internal)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bulwark-audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
