//! Reports of a completed scan: HTML for people, JSON with every rule's details, and ARF for
//! SCAP tools (the ARF `oscap` itself wrote for SCAP scans; one Bulwark writes for native
//! scans). Rendering lives in `bulwark-report`; this gathers what it needs.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bulwark_core::{Check, Status};
use bulwark_report::{Finding, Report, ReportScan};
use bulwark_store::{Scan, Scope, StoreError};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::body::Params;
use crate::error::{ApiResult, AppError};

#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Html,
    Json,
    Arf,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    #[serde(default)]
    pub format: ReportFormat,
}

pub async fn report(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<ReportQuery>,
) -> ApiResult<Response> {
    render(&s, &caller.scope, &id, q.format).await
}

/// A completed scan's report in the format asked for.
pub async fn render(
    s: &AppState,
    scope: &Scope,
    id: &str,
    format: ReportFormat,
) -> ApiResult<Response> {
    let scan = s.store.get_scan(scope, id).await?;
    if scan.status != bulwark_store::ScanStatus::Completed {
        return Err(AppError::Conflict(format!(
            "scan {id} is {}; reports are made of completed scans",
            scan.status
        )));
    }
    let short_id = &id[..id.len().min(8)];
    // Downloads: the type, and a file name people can tell apart.
    let attachment = |media: &str, ext: &str, body: Vec<u8>| {
        let disposition = format!("attachment; filename=\"bulwark-scan-{short_id}.{ext}\"");
        (
            [
                (header::CONTENT_TYPE, media.to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response()
    };
    if let ReportFormat::Arf = format
        && let Some(arf) = s.store.artifact(scope, id, "arf").await?
    {
        return Ok(attachment("application/xml", "arf.xml", arf));
    }
    let report = gather(s, scope, scan).await?;
    Ok(match format {
        ReportFormat::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            bulwark_report::html(&report),
        )
            .into_response(),
        ReportFormat::Json => attachment(
            "application/json",
            "json",
            bulwark_report::json(&report).to_string().into_bytes(),
        ),
        ReportFormat::Arf => attachment(
            "application/xml",
            "arf.xml",
            bulwark_report::arf(&report).into_bytes(),
        ),
    })
}

/// The scan, its results, and the texts of its template's checks. A template deleted since
/// leaves the results with their titles only.
pub async fn gather(s: &AppState, scope: &Scope, scan: Scan) -> ApiResult<Report> {
    let results = s.store.scan_results(scope, &scan.id, None).await?;
    let checks: HashMap<String, Check> =
        match s.store.template_checks(scope, &scan.template_id).await {
            Ok(checks) => checks
                .into_iter()
                .map(|c| (c.check.id.clone(), c.check))
                .collect(),
            Err(StoreError::NotFound(_)) => HashMap::new(),
            Err(e) => return Err(e.into()),
        };
    let engine = match s.store.get_template(scope, &scan.template_id).await {
        Ok(t) => t.engine().as_str(),
        Err(_) => "native",
    };
    let host = s.store.get_host(scope, &scan.host_id).await?;
    let policy_name = match &scan.policy_id {
        Some(p) => s.store.get_policy(scope, p).await.ok().map(|p| p.name),
        None => None,
    };
    let findings = results
        .into_iter()
        .map(|r| {
            let check = checks.get(&r.check_id);
            let (idents, references): (Vec<String>, Vec<String>) = check
                .map(|c| c.references.iter().cloned().partition(|r| is_ident(r)))
                .unwrap_or_default();
            Finding {
                title: r.title,
                category: r.category,
                severity: r.severity,
                status: r.outcome.status,
                description: check.map(|c| c.description.clone()).unwrap_or_default(),
                rationale: check.map(|c| c.rationale.clone()).unwrap_or_default(),
                remediation: check
                    .map(|c| c.remediation.text.clone())
                    .unwrap_or_default(),
                remediation_script: check.and_then(|c| c.remediation.script.clone()),
                references,
                idents,
                actual: r.outcome.actual,
                expected: r.outcome.expected,
                waived_by: (r.outcome.status == Status::Waived)
                    .then(|| r.outcome.reason.clone())
                    .flatten(),
                reason: r.outcome.reason,
                check_id: r.check_id,
            }
        })
        .collect();
    Ok(Report {
        scan: ReportScan {
            id: scan.id,
            host_id: scan.host_id,
            hostname: scan.hostname,
            os: format!("{} {}", host.os_id, host.os_version),
            template_id: scan.template_id,
            template_name: scan.template_name,
            framework: scan.framework,
            policy_id: scan.policy_id,
            policy_name,
            started_at: scan.started_at,
            completed_at: scan.completed_at.unwrap_or(scan.created_at),
            score: scan.score,
            weighted_score: scan.weighted_score,
            risk: scan.risk,
            passing_threshold: scan.passing_threshold,
            engine: engine.into(),
        },
        findings,
    })
}

/// Identifiers in a check's references: CCE, CCI and STIG ids (SCAP imports put them first).
fn is_ident(reference: &str) -> bool {
    ["CCE-", "CCI-", "SV-", "V-"]
        .iter()
        .any(|p| reference.starts_with(p))
}
