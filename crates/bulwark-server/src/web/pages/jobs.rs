//! Jobs: the fleet's jobs with filters (refreshing themselves while any is
//! unfinished), one job with its output, the forms that queue host actions (one host, or a
//! script for the hosts selected on the Hosts page).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use bulwark_core::job::{Interpreter, ServiceAction};
use bulwark_core::{HostAction, JobStatus, JobType};
use bulwark_store::{AgentJob, Host, JobFilter};
use serde::Deserialize;

use crate::AppState;
use crate::api::jobs::{self, BulkJobBody, JobBody};
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::{AppError, Problems};
use crate::web::fmt;
use crate::web::form::{Form, Outcome, go_to};
use crate::web::page::{Chrome, OrErrorPage, PageQuery, PageResult, render_html};

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    chrome: Chrome,
    jobs: Vec<AgentJob>,
    hosts: Vec<Host>,
    kind: Option<JobType>,
    status: Option<JobStatus>,
    host_id: Option<String>,
    /// Some job has not ended: the table refreshes itself.
    live: bool,
}

impl JobsPage {
    fn hostname(&self, id: &str) -> String {
        self.hosts
            .iter()
            .find(|h| h.id == id)
            .map_or_else(|| fmt::short(id).to_owned(), |h| h.hostname.clone())
    }
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    PageQuery(filter): PageQuery<JobFilter>,
) -> PageResult {
    let jobs = jobs::list(State(s.clone()), caller.clone(), Params(filter.clone()))
        .await
        .or_page(&chrome)?
        .0;
    let hosts = s.store.list_hosts(&caller.scope).await.or_page(&chrome)?;
    let live = jobs.iter().any(|j| !j.status.is_finished());
    Ok(render_html(&JobsPage {
        chrome,
        jobs,
        hosts,
        kind: filter.kind,
        status: filter.status,
        host_id: filter.host_id,
        live,
    }))
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    chrome: Chrome,
    job: AgentJob,
    hostname: String,
}

pub async fn detail(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Path(id): Path<String>,
) -> PageResult {
    let job = jobs::get_one(State(s.clone()), caller.clone(), Path(id))
        .await
        .or_page(&chrome)?
        .0;
    let hostname = s
        .store
        .get_host(&caller.scope, &job.host_id)
        .await
        .map_or_else(|_| job.host_id.clone(), |h| h.hostname);
    Ok(render_html(&JobPage {
        chrome,
        job,
        hostname,
    }))
}

pub async fn cancel(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Outcome {
    let _ = jobs::cancel(State(s), caller, Path(id.clone())).await?;
    go_to(format!("/jobs/{id}"))
}

/// What a host-action form sends: the action's type and whichever of its fields the form
/// has. Read into the API's [`JobBody`], so the API validates it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionForm {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    action: Option<ServiceAction>,
    pid: Option<u32>,
    grace_secs: Option<u32>,
    admin: Option<bool>,
    enabled: Option<bool>,
    password: Option<String>,
    group: Option<String>,
    user: Option<String>,
    target: Option<String>,
    port: Option<u16>,
    server: Option<String>,
    server_port: Option<u16>,
    interpreter: Option<Interpreter>,
    script: Option<String>,
    timeout_secs: Option<u32>,
    /// The hosts of a bulk form (the Hosts page's selection).
    #[serde(default)]
    host_id: Vec<String>,
}

impl ActionForm {
    /// The action, or every field it lacks.
    fn action(&mut self) -> Result<HostAction, AppError> {
        let mut problems = Problems::default();
        let mut need = |field: &str, value: Option<String>| {
            value.unwrap_or_else(|| {
                problems.add(field, format!("{field} is required"));
                String::new()
            })
        };
        let action = match self.kind.as_str() {
            "service" => HostAction::Service {
                name: need("name", self.name.take()),
                action: self.action.unwrap_or(ServiceAction::Restart),
            },
            "kill_process" => HostAction::KillProcess {
                pid: self.pid.unwrap_or(0),
                grace_secs: self.grace_secs.unwrap_or(10),
            },
            "create_user" => HostAction::CreateUser {
                name: need("name", self.name.take()),
                admin: self.admin.unwrap_or(false),
                password: None,
            },
            "delete_user" => HostAction::DeleteUser {
                name: need("name", self.name.take()),
            },
            "set_user_enabled" => HostAction::SetUserEnabled {
                name: need("name", self.name.take()),
                enabled: self.enabled.unwrap_or(true),
            },
            "reset_password" => HostAction::ResetPassword {
                name: need("name", self.name.take()),
                password: None,
            },
            "create_group" => HostAction::CreateGroup {
                name: need("name", self.name.take()),
            },
            "delete_group" => HostAction::DeleteGroup {
                name: need("name", self.name.take()),
            },
            "add_group_member" => HostAction::AddGroupMember {
                group: need("group", self.group.take()),
                user: need("user", self.user.take()),
            },
            "remove_group_member" => HostAction::RemoveGroupMember {
                group: need("group", self.group.take()),
                user: need("user", self.user.take()),
            },
            "ping" => HostAction::Ping {
                target: need("target", self.target.take()),
            },
            "traceroute" => HostAction::Traceroute {
                target: need("target", self.target.take()),
            },
            "dns_lookup" => HostAction::DnsLookup {
                name: need("name", self.name.take().or(self.target.take())),
                server: self.server.take(),
                server_port: self.server_port,
            },
            "netstat" => HostAction::Netstat,
            "port_check" => HostAction::PortCheck {
                target: need("target", self.target.take()),
                port: self.port.unwrap_or(0),
            },
            "script" => HostAction::Script {
                interpreter: self.interpreter.unwrap_or(Interpreter::Bash),
                script: need("script", self.script.take()),
                timeout_secs: self.timeout_secs.unwrap_or(300),
            },
            other => {
                return Err(AppError::invalid(
                    "type",
                    format!("{other:?} is not a host action"),
                ));
            }
        };
        problems.into_result()?;
        Ok(action)
    }
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Path(host_id): Path<String>,
    Form(mut form): Form<ActionForm>,
) -> Outcome {
    let body = JobBody {
        action: form.action()?,
        password: form.password.take(),
        deadline_secs: None,
    };
    let (note, job) = jobs::create(State(s), caller, Path(host_id), Body(body)).await?;
    let id = job.0.id.clone();
    // The audit note rides on the form's answer as it would on the API's.
    let mut done = go_to(format!("/jobs/{id}"))?.into_response();
    done.extensions_mut().insert(note.0);
    Ok(crate::web::form::Done::Response(Box::new(done)))
}

pub async fn create_bulk(
    State(s): State<AppState>,
    caller: Caller,
    Form(mut form): Form<ActionForm>,
) -> Outcome {
    let body = BulkJobBody {
        host_ids: std::mem::take(&mut form.host_id),
        action: form.action()?,
        password: form.password.take(),
        deadline_secs: None,
    };
    let kind = body.action.job_type();
    let (note, _) = jobs::create_bulk(State(s), caller, Body(body)).await?;
    let mut done = go_to(format!("/jobs?kind={kind}"))?.into_response();
    done.extensions_mut().insert(note.0);
    Ok(crate::web::form::Done::Response(Box::new(done)))
}
