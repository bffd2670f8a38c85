//! SCAP: importing a source data stream as a template, serving the exact file to the agents
//! that run it, and keeping the ARF `oscap` wrote for a scan.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use bulwark_scap::{Contents, ScapError, contents, profile_template, read_datastream};
use bulwark_store::{Scope, TemplateSummary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::agent_auth::Agent;
use crate::auth::Caller;
use crate::body::Params;
use crate::error::{ApiResult, AppError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The profile to import; without it nothing is stored and the answer lists what the data
    /// stream offers.
    profile: Option<String>,
    /// The organization the template belongs to (required with `profile`).
    org_id: Option<String>,
    /// The template's name (default: benchmark and profile titles).
    name: Option<String>,
    /// The file's name, shown with the template (default: `datastream.xml`).
    file_name: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct Imported {
    pub contents: Contents,
    /// The template made from `profile`, when one was asked for.
    pub template: Option<TemplateSummary>,
}

/// What was wrong with an uploaded file, as a 422 about the body: the reader's messages name
/// the line.
fn unreadable(e: ScapError) -> AppError {
    AppError::invalid("body", e.to_string())
}

/// File names end up in `oscap` command lines on agents and in pages; keep them plain.
fn plain_file_name(name: &str) -> ApiResult<String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(AppError::invalid(
            "file_name",
            "use letters, digits, '.', '-' and '_' only (at most 200)",
        ))
    }
}

pub async fn import(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<Imported>> {
    let file_name = plain_file_name(q.file_name.as_deref().unwrap_or("datastream.xml"))?;
    // Parsing a 24 MB data stream takes a quarter of a second of CPU: off the async workers.
    let (ds, contents) = tokio::task::spawn_blocking(move || {
        let ds = read_datastream(&body).map_err(unreadable)?;
        let contents = contents(&ds).map_err(unreadable)?;
        Ok::<_, AppError>(((ds, body), contents))
    })
    .await
    .map_err(|e| AppError::Internal(format!("reading the data stream: {e}")))??;
    let Some(profile) = q.profile else {
        return Ok(Json(Imported {
            contents,
            template: None,
        }));
    };
    let org_id = q.org_id.ok_or_else(|| {
        AppError::invalid(
            "org_id",
            "the organization the template belongs to is required with a profile",
        )
    })?;
    let (ds, xml) = ds;
    let mut template = profile_template(&ds, &profile, &file_name)
        .map_err(|e| AppError::invalid("profile", e.to_string()))?;
    if let Some(name) = q.name {
        if name.trim().is_empty() {
            return Err(AppError::invalid("name", "must not be empty"));
        }
        template.name = name;
    }
    let summary = s
        .store
        .import_scap_template(&caller.scope, &org_id, &template, &file_name, &xml)
        .await?;
    Ok(Json(Imported {
        contents,
        template: Some(summary),
    }))
}

/// The data stream a job names, for the agent of a host whose organization runs it.
pub async fn datastream(
    State(s): State<AppState>,
    Agent(agent): Agent,
    Path(digest): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let xml = s.store.datastream_for_host(&agent.host_id, &digest).await?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml))
}

/// Largest ARF accepted once decompressed: oscap's ARF of a CIS profile is about 15 MB.
const MAX_ARF_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Serialize, JsonSchema)]
pub struct ArfStored {
    pub scan_id: String,
    pub bytes: u64,
}

/// The ARF of a scan of this agent's host, zstd-compressed, sent before its results.
pub async fn upload_arf(
    State(s): State<AppState>,
    Agent(agent): Agent,
    Path(scan_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ArfStored>> {
    let scan = s.store.get_scan(&Scope::All, &scan_id).await?;
    if scan.host_id != agent.host_id {
        return Err(AppError::NotFound("scan".into()));
    }
    if !scan.status.is_active() {
        return Err(AppError::Conflict(format!(
            "scan {scan_id} is {}; its ARF can only be sent while it runs",
            scan.status
        )));
    }
    let bytes = decompressed_size(&body)?;
    s.store.store_artifact(&scan_id, "arf", &body).await?;
    Ok(Json(ArfStored { scan_id, bytes }))
}

/// Checks that the body is zstd of at most [`MAX_ARF_BYTES`], without keeping the output.
fn decompressed_size(body: &[u8]) -> ApiResult<u64> {
    use std::io::Read;
    let decoder = zstd::stream::Decoder::new(body)
        .map_err(|e| AppError::BadRequest(format!("the ARF is not zstd-compressed: {e}")))?;
    let n = std::io::copy(&mut decoder.take(MAX_ARF_BYTES + 1), &mut std::io::sink())
        .map_err(|e| AppError::BadRequest(format!("the ARF is not zstd-compressed: {e}")))?;
    if n > MAX_ARF_BYTES {
        return Err(AppError::TooLarge);
    }
    Ok(n)
}
