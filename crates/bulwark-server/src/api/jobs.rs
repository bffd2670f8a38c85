//! Host-control jobs (services, processes, users and groups, diagnostics, scripts). A job is validated as it is created (the same rules the agent applies again),
//! its password sealed for the host's agent before it is stored, and a script needs the
//! organization's `script_execution` flag on and an admin's permission; the agent's owner
//! holds the second lock (`allow_scripts`).

use axum::extract::{Path, State};
use axum::{Extension, Json};
use bulwark_core::job::SealedSecret;
use bulwark_core::{HostAction, Permission};
use bulwark_store::{AgentJob, JobFilter, NewJob};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::audit::Note;
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::{ApiResult, AppError, Problems};

/// How long a host has to take an action when the request does not say.
const DEFAULT_DEADLINE_SECS: i64 = 600;
const MAX_DEADLINE_SECS: i64 = 7 * 24 * 3600;
const MAX_PASSWORD_CHARS: usize = 256;
/// Hosts one bulk request may reach.
const MAX_BULK_HOSTS: usize = 500;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    pub action: HostAction,
    /// For `create_user` (optional) and `reset_password` (required): the password. The server
    /// seals it for the host's agent at once; it is never stored, logged or shown in clear.
    #[serde(default)]
    pub password: Option<String>,
    /// Seconds the host has to run the job before it expires (default 600; scripts: their
    /// timeout plus 600).
    #[serde(default)]
    pub deadline_secs: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkJobBody {
    pub host_ids: Vec<String>,
    pub action: HostAction,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub deadline_secs: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BulkQueued {
    pub jobs: Vec<AgentJob>,
    /// Hosts that got no job, with why.
    pub refused: Vec<Refused>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Refused {
    pub host_id: String,
    pub reason: String,
}

fn needs_password(action: &HostAction) -> Option<bool> {
    match action {
        HostAction::CreateUser { .. } => Some(false),
        HostAction::ResetPassword { .. } => Some(true),
        _ => None,
    }
}

/// Every problem of the request that does not depend on the host.
fn check_request(body: &JobBody) -> ApiResult<()> {
    let mut problems = Problems::default();
    for (field, message) in body.action.problems() {
        problems.add(&format!("action.{field}"), message);
    }
    let sealed_in_action = matches!(
        &body.action,
        HostAction::CreateUser {
            password: Some(_),
            ..
        } | HostAction::ResetPassword {
            password: Some(_),
            ..
        }
    );
    if sealed_in_action {
        problems.add(
            "action.password",
            "send the password in the body's password field; the server seals it for the agent",
        );
    }
    match (needs_password(&body.action), &body.password) {
        (None, Some(_)) => problems.add("password", "this action takes no password"),
        (Some(true), None) => problems.add("password", "a new password is required"),
        (Some(_), Some(p)) if p.is_empty() || p.chars().count() > MAX_PASSWORD_CHARS => problems
            .add(
                "password",
                format!("a password is 1 to {MAX_PASSWORD_CHARS} characters"),
            ),
        // A line break would let a password write a second account's line for chpasswd.
        (Some(_), Some(p)) if p.chars().any(char::is_control) => {
            problems.add("password", "a password holds no control characters")
        }
        _ => {}
    }
    if let Some(secs) = body.deadline_secs
        && !(30..=MAX_DEADLINE_SECS).contains(&secs)
    {
        problems.add(
            "deadline_secs",
            format!("deadline_secs is 30 to {MAX_DEADLINE_SECS}"),
        );
    }
    problems.into_result()
}

fn deadline_secs(body: &JobBody) -> i64 {
    body.deadline_secs.unwrap_or(match &body.action {
        HostAction::Script { timeout_secs, .. } => i64::from(*timeout_secs) + DEFAULT_DEADLINE_SECS,
        _ => DEFAULT_DEADLINE_SECS,
    })
}

/// Queues one validated request for one host: the script locks, then the password sealed
/// for this host's agent in this job.
async fn queue(
    state: &AppState,
    caller: &Caller,
    host_id: &str,
    body: &JobBody,
) -> ApiResult<AgentJob> {
    let host = state.store.get_host(&caller.scope, host_id).await?;
    if body.action.runs_caller_code() {
        if !caller.user.role.can(Permission::SettingsManage) {
            return Err(AppError::Forbidden(
                "a script runs as root on the host; only an admin (settings.manage) may run one"
                    .into(),
            ));
        }
        if !crate::commands::enabled_for(state.store.as_ref(), &host.org_id).await? {
            return Err(AppError::Forbidden(format!(
                "script execution is switched off for this organization (feature {})",
                crate::commands::FEATURE
            )));
        }
    }
    let id = bulwark_store::new_id();
    let mut action = body.action.clone();
    if let Some(password) = &body.password {
        let agent = match &host.agent_id {
            Some(agent_id) => state.store.agent(agent_id).await?,
            None => None,
        }
        .ok_or_else(|| {
            AppError::BadRequest("this host has no agent to seal the password for".into())
        })?;
        let sealed: SealedSecret = bulwark_protocol::sealed::seal(
            &agent.public_key,
            &bulwark_protocol::sealed::context(&id, "password"),
            password.as_bytes(),
        )
        .map_err(|e| AppError::Internal(format!("cannot seal the password: {e}")))?;
        match &mut action {
            HostAction::CreateUser { password, .. }
            | HostAction::ResetPassword { password, .. } => *password = Some(sealed),
            _ => unreachable!("check_request allows a password only for user actions"),
        }
    }
    let job = NewJob {
        id,
        host_id: host.id.clone(),
        action,
        created_by: caller.user.username.clone(),
        deadline_at: bulwark_store::now() + deadline_secs(body),
    };
    let job = state.store.create_job(&caller.scope, &job).await?;
    state.jobs_ready(&host.id);
    Ok(job)
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(host_id): Path<String>,
    Body(body): Body<JobBody>,
) -> ApiResult<(Extension<Note>, Json<AgentJob>)> {
    check_request(&body)?;
    let job = queue(&state, &caller, &host_id, &body).await?;
    let note = Note::new(
        &job.org_id,
        format!("{} (job {})", body.action.describe(), job.id),
    );
    Ok((Extension(note), Json(job)))
}

pub async fn create_bulk(
    State(state): State<AppState>,
    caller: Caller,
    Body(bulk): Body<BulkJobBody>,
) -> ApiResult<(Extension<Note>, Json<BulkQueued>)> {
    if bulk.host_ids.is_empty() || bulk.host_ids.len() > MAX_BULK_HOSTS {
        return Err(AppError::invalid(
            "host_ids",
            format!("name 1 to {MAX_BULK_HOSTS} hosts"),
        ));
    }
    let body = JobBody {
        action: bulk.action,
        password: bulk.password,
        deadline_secs: bulk.deadline_secs,
    };
    check_request(&body)?;
    let mut answer = BulkQueued {
        jobs: Vec::new(),
        refused: Vec::new(),
    };
    for host_id in &bulk.host_ids {
        match queue(&state, &caller, host_id, &body).await {
            Ok(job) => answer.jobs.push(job),
            Err(e @ AppError::Internal(_)) => return Err(e),
            Err(e) => answer.refused.push(Refused {
                host_id: host_id.clone(),
                reason: e.to_string(),
            }),
        }
    }
    let note = Note {
        org_id: answer.jobs.first().map(|j| j.org_id.clone()),
        detail: format!(
            "{} on {} host(s), {} refused",
            body.action.describe(),
            answer.jobs.len(),
            answer.refused.len()
        ),
    };
    Ok((Extension(note), Json(answer)))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(filter): Params<JobFilter>,
) -> ApiResult<Json<Vec<AgentJob>>> {
    Ok(Json(state.store.list_jobs(&caller.scope, &filter).await?))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentJob>> {
    Ok(Json(state.store.get_job(&caller.scope, &id).await?))
}

pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(Extension<Note>, Json<AgentJob>)> {
    let job = state
        .store
        .cancel_job(&caller.scope, &id, bulwark_store::now())
        .await?;
    let what = job.summary.clone().unwrap_or_else(|| job.kind.to_string());
    let note = Note::new(&job.org_id, format!("cancelled: {what}"));
    Ok((Extension(note), Json(job)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::job::Interpreter;

    fn body(action: HostAction, password: Option<&str>) -> JobBody {
        JobBody {
            action,
            password: password.map(str::to_owned),
            deadline_secs: None,
        }
    }

    fn fields(result: ApiResult<()>) -> Vec<String> {
        match result {
            Ok(()) => vec![],
            Err(e) => e.field_errors().iter().map(|f| f.field.clone()).collect(),
        }
    }

    #[test]
    fn passwords_travel_beside_the_action_and_never_hold_a_line_break() {
        let reset = |p| {
            fields(check_request(&body(
                HostAction::ResetPassword {
                    name: "alice".into(),
                    password: None,
                },
                p,
            )))
        };
        assert_eq!(reset(Some("correct horse")), Vec::<String>::new());
        assert_eq!(reset(None), ["password"]);
        assert_eq!(reset(Some("a\nroot:x")), ["password"]);
        let ping = fields(check_request(&body(
            HostAction::Ping {
                target: "127.0.0.1".into(),
            },
            Some("x"),
        )));
        assert_eq!(ping, ["password"]);
    }

    #[test]
    fn every_problem_names_its_field_under_action() {
        let script = HostAction::Script {
            interpreter: Interpreter::Sh,
            script: String::new(),
            timeout_secs: 0,
        };
        let mut request = body(script, None);
        request.deadline_secs = Some(1);
        assert_eq!(
            fields(check_request(&request)),
            ["action.script", "action.timeout_secs", "deadline_secs"]
        );
    }
}
