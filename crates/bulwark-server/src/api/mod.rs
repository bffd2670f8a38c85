//! The JSON API. One table, [`ROUTES`], names every endpoint with its method, path, the
//! permission it needs and a summary; the router, the permission checks, the OpenAPI document
//! and the role-matrix test are all built from it, so they cannot drift apart.

pub mod agent;
pub mod agentless;
pub mod answers;
pub mod audit;
pub mod compliance;
pub mod exceptions;
pub mod hosts;
pub mod jobs;
mod openapi;

pub use openapi::build as openapi_document;
pub mod policies;
pub mod provisioning;
pub mod report;
pub mod reports;
pub mod scans;
pub mod scap;
pub mod settings;
pub mod templates;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use bulwark_core::Permission;
use bulwark_core::Permission::*;

use crate::AppState;
use crate::auth::{self, Caller};
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any logged-in caller.
    Authenticated,
    /// A request signed by an enrolled agent (see [`crate::agent_auth`]).
    Agent,
    /// A delivery signed with a secret of the organization its path names (Terraform's
    /// HMAC signatures); the handler verifies it, and it is audited as the sender's.
    Signed,
    Needs(Permission),
    /// The permission, held by a caller who sees every organization: for what belongs to all
    /// of them (the shipped templates).
    AccountWide(Permission),
}

impl Access {
    /// Checks a caller against what the route needs.
    pub fn admits(self, caller: &Caller) -> crate::error::ApiResult<()> {
        match self {
            Access::Needs(p) => caller.require(p),
            Access::AccountWide(p) => {
                caller.require(p)?;
                match caller.scope {
                    bulwark_store::Scope::All => Ok(()),
                    _ => Err(crate::error::AppError::Forbidden(format!(
                        "this changes what every organization shares: it needs {p} over every organization, and this {} sees only some",
                        caller.user.role.as_str()
                    ))),
                }
            }
            Access::Public | Access::Authenticated | Access::Agent | Access::Signed => Ok(()),
        }
    }
}

/// Describes a type in the API document (see [`openapi`]).
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

fn schema_of<T: schemars::JsonSchema>(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<T>()
}

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub query: Option<SchemaFn>,
    pub body: Option<SchemaFn>,
    /// The media type of a raw (non-JSON) request body; such routes take up to the upload
    /// limit instead of the body limit.
    pub upload: Option<&'static str>,
    pub answer: SchemaFn,
    handler: fn() -> MethodRouter<AppState>,
}

/// One line per endpoint: `METHOD "PATH" ACCESS, "summary" => handler [, query Q] [, body B]
/// [, upload "media/type"], answer A;` — Q, B and A are the types the handler reads and
/// answers, for the document; `upload` names a raw request body's media type.
macro_rules! routes {
    ($($method:ident $path:literal $access:expr, $summary:literal => $handler:path
        $(, query $query:ty)? $(, body $body:ty)? $(, upload $upload:literal)?, answer $answer:ty;)*) => {
        pub const ROUTES: &[Route] = &[$(Route {
            method: routes!(@upper $method),
            path: $path,
            access: $access,
            summary: $summary,
            query: routes!(@query $($query)?),
            body: routes!(@body $($body)?),
            upload: routes!(@upload $($upload)?),
            answer: schema_of::<$answer>,
            handler: || $method($handler),
        }),*];
    };
    (@query) => { None };
    (@query $t:ty) => { Some(schema_of::<$t> as SchemaFn) };
    (@body) => { None };
    (@body $t:ty) => { Some(schema_of::<$t> as SchemaFn) };
    (@upload) => { None };
    (@upload $media:literal) => { Some($media) };
    (@upper get) => { "GET" };
    (@upper post) => { "POST" };
    (@upper put) => { "PUT" };
    (@upper patch) => { "PATCH" };
    (@upper delete) => { "DELETE" };
}

const VIEW: Access = Access::Needs(ComplianceView);
const MANAGE: Access = Access::Needs(ComplianceManage);

routes! {
    get "/api/openapi.json" Access::Public, "This document" => openapi::document, answer serde_json::Value;
    post "/api/v1/auth/login" Access::Public, "Log in with user name and password; sets the session cookie" => auth::login, body auth::Login, answer answers::LoggedIn;
    post "/api/v1/auth/logout" Access::Authenticated, "End the current session" => auth::logout, answer answers::LoggedOut;
    get "/api/v1/auth/me" Access::Authenticated, "The caller, their role and permissions" => auth::me, answer answers::Me;

    get "/api/v1/compliance/templates" VIEW, "List templates (filters: system, framework, os, host_id = only those that fit the host)" => templates::list, query templates::TemplateQuery, answer Vec<bulwark_store::TemplateSummary>;
    get "/api/v1/compliance/templates/{id}" VIEW, "A template with its checks" => templates::get_one, answer answers::TemplateDetail;
    delete "/api/v1/compliance/templates/{id}" MANAGE, "Delete a custom template and its checks (system: 403, used by a policy: 409)" => templates::delete_one, answer answers::Deleted;
    post "/api/v1/compliance/templates/{id}/copy" MANAGE, "Copy a template into an organization" => templates::copy, body templates::CopyBody, answer bulwark_store::TemplateSummary;
    post "/api/v1/compliance/templates/{id}/active" MANAGE, "Set a template's active flag (allowed on system templates)" => templates::set_active, body templates::ActiveBody, answer bulwark_store::TemplateSummary;
    post "/api/v1/compliance/templates/{id}/checks" MANAGE, "Add a custom check to a custom template" => templates::add_check, body bulwark_core::Check, answer bulwark_core::Check;
    post "/api/v1/compliance/templates/{id}/checks/bulk-toggle" MANAGE, "Enable or disable several checks" => templates::bulk_toggle, body templates::BulkToggle, answer answers::Toggled;
    post "/api/v1/compliance/templates/import-scap" MANAGE, "Read an SCAP source data stream: list its benchmarks and profiles, or import one profile as a template (profile, org_id)" => scap::import, query scap::ImportQuery, upload "application/xml", answer scap::Imported;
    delete "/api/v1/compliance/templates/{id}/checks/{check}" MANAGE, "Remove a check from a custom template (system: 403)" => templates::delete_check, answer answers::Deleted;
    patch "/api/v1/compliance/templates/{id}/checks/{check}" MANAGE, "Edit a check's parameters, expected value or enabled flag" => templates::patch_check, body templates::CheckPatch, answer bulwark_core::Check;

    get "/api/v1/compliance/policies" VIEW, "List policies" => policies::list, answer Vec<bulwark_store::Policy>;
    post "/api/v1/compliance/policies" MANAGE, "Create a policy (one per organization and OS type)" => policies::create, body policies::PolicyBody, answer bulwark_store::Policy;
    get "/api/v1/compliance/policies/{id}" VIEW, "A policy" => policies::get_one, answer bulwark_store::Policy;
    put "/api/v1/compliance/policies/{id}" MANAGE, "Update a policy" => policies::update, body policies::PolicyBody, answer bulwark_store::Policy;
    delete "/api/v1/compliance/policies/{id}" MANAGE, "Delete a policy and its overrides" => policies::delete_one, answer answers::Deleted;
    get "/api/v1/compliance/policies/{id}/overrides" VIEW, "A policy's per-host template overrides" => policies::list_overrides, answer Vec<bulwark_store::PolicyOverride>;
    post "/api/v1/compliance/policies/{id}/overrides" MANAGE, "Give one host another template (one per host and policy)" => policies::add_override, body policies::OverrideBody, answer bulwark_store::PolicyOverride;
    delete "/api/v1/compliance/policies/{id}/overrides/{override_id}" MANAGE, "Remove an override" => policies::delete_override, answer answers::Deleted;

    get "/api/v1/compliance/exceptions" VIEW, "List exceptions (filter: state)" => exceptions::list, query exceptions::ExceptionQuery, answer Vec<bulwark_store::Exception>;
    post "/api/v1/compliance/exceptions" MANAGE, "Create an exception for a rule (host, host group or organization)" => exceptions::create, body exceptions::CreateBody, answer bulwark_store::Exception;
    patch "/api/v1/compliance/exceptions/{id}" MANAGE, "Change an active exception's reason or expiry" => exceptions::update, body exceptions::UpdateBody, answer bulwark_store::Exception;
    get "/api/v1/compliance/exceptions/{id}" VIEW, "An exception" => exceptions::get_one, answer bulwark_store::Exception;
    delete "/api/v1/compliance/exceptions/{id}" MANAGE, "Revoke an exception" => exceptions::revoke, answer bulwark_store::Exception;

    get "/api/v1/compliance/scans" VIEW, "List scans (filters: status, host_id, policy_id, q = id prefix, limit)" => scans::list, query scans::ScanQuery, answer Vec<bulwark_store::Scan>;
    post "/api/v1/compliance/scans" MANAGE, "Trigger an on-demand scan of an online host for a policy" => scans::trigger, body scans::TriggerBody, answer bulwark_store::Scan;
    get "/api/v1/compliance/scans/{id}" VIEW, "A scan" => scans::get_one, answer bulwark_store::Scan;
    get "/api/v1/compliance/scans/{id}/results" VIEW, "A scan's per-check results (filter: status)" => scans::results, query scans::ResultsQuery, answer Vec<bulwark_store::ScanResult>;
    get "/api/v1/compliance/scans/{id}/report" VIEW, "A completed scan's report: html, json, or arf (format)" => report::report, query report::ReportQuery, answer bulwark_report::JsonReport;
    post "/api/v1/compliance/scans/{id}/cancel" MANAGE, "Cancel a pending or running scan" => scans::cancel, answer bulwark_store::Scan;

    get "/api/v1/compliance/dashboard" VIEW, "Aggregate compliance posture (filter: org_id)" => reports::dashboard, query reports::DashboardQuery, answer bulwark_store::Dashboard;
    get "/api/v1/compliance/trends" VIEW, "Daily scores over 1-365 days (filters: days, policy_id)" => reports::trends, query reports::TrendsQuery, answer bulwark_store::Trends;
    get "/api/v1/compliance/export" VIEW, "Completed scans as CSV or NDJSON, streamed (format, policy_id, host_id, limit)" => reports::export, query reports::ExportQuery, answer reports::ExportRow;

    get "/api/v1/compliance/results/agent/{id}" VIEW, "The latest results of a host (by agent id or host id)" => compliance::agent_results, answer compliance::LatestResults;
    get "/api/v1/compliance/score/agent/{id}" VIEW, "The latest score of a host (by agent id or host id)" => compliance::agent_score, answer compliance::LatestScore;
    get "/api/v1/compliance/history/agent/{id}" VIEW, "A host's score history (by agent id or host id)" => compliance::agent_history, query compliance::HistoryQuery, answer compliance::History;
    get "/api/v1/compliance/stats" VIEW, "Overall statistics" => compliance::stats, answer compliance::Stats;
    get "/api/v1/compliance/trend" VIEW, "Trend data (as trends)" => reports::trends, query reports::TrendsQuery, answer bulwark_store::Trends;
    get "/api/v1/compliance/stats/top-failing" VIEW, "Most common failing checks" => compliance::top_failing, answer compliance::TopFailing;
    get "/api/v1/compliance/checks" VIEW, "Every check of the templates the caller sees (filter: template_id)" => compliance::checks, query compliance::ChecksQuery, answer compliance::Catalogue;
    post "/api/v1/compliance/checks/seed" Access::AccountWide(SettingsManage), "Re-import the shipped templates (account-wide administrators)" => compliance::seed, answer crate::seed::SeedReport;

    post "/api/v1/agent/enroll" Access::Public, "Enroll an agent with its organization's secret and public key" => agent::enroll, body bulwark_protocol::wire::EnrollRequest, answer bulwark_protocol::wire::EnrollResponse;
    post "/api/v1/agent/heartbeat" Access::Agent, "Heartbeat; answers pending jobs and feature flags" => agent::heartbeat, body bulwark_protocol::wire::HeartbeatRequest, answer bulwark_protocol::wire::HeartbeatResponse;
    post "/api/v1/agent/inventory" Access::Agent, "Differential inventory: every category's hash, the changed ones in full" => agent::inventory, body bulwark_protocol::wire::InventoryRequest, answer bulwark_protocol::wire::InventoryResponse;
    get "/api/v1/agent/jobs" Access::Agent, "Signed jobs for this agent (long poll: wait = seconds)" => agent::jobs, query agent::PollQuery, answer bulwark_protocol::wire::JobsResponse;
    post "/api/v1/agent/jobs/{id}/ack" Access::Agent, "The agent started a job" => agent::ack, answer bulwark_store::AgentJob;
    post "/api/v1/agent/jobs/{id}/report" Access::Agent, "How a host-control job ended: outcome, exit code, output (capped)" => agent::report, body bulwark_protocol::wire::JobReport, answer bulwark_store::AgentJob;
    post "/api/v1/agent/jobs/{id}/fail" Access::Agent, "The agent could not run a job (reason)" => agent::fail, body bulwark_protocol::wire::FailRequest, answer bulwark_store::AgentJob;
    get "/api/v1/agent/datastreams/{digest}" Access::Agent, "The SCAP data stream a job runs, by its SHA-256" => scap::datastream, answer String;
    post "/api/v1/agent/scans/{id}/arf" Access::Agent, "The ARF oscap wrote for a scan, zstd-compressed; sent before the results" => scap::upload_arf, upload "application/zstd", answer scap::ArfStored;
    post "/api/v1/agent/scans/{id}/results" Access::Agent, "A scan's results; finishes the scan (idempotent)" => agent::results, body bulwark_protocol::wire::ResultsRequest, answer bulwark_protocol::wire::ResultsResponse;

    post "/api/v1/hosts" Access::Needs(HostsManage), "Register a host the server scans over SSH (agentless); agent hosts enroll themselves" => agentless::create_host, body agentless::HostBody, answer bulwark_store::Host;
    get "/api/v1/hosts/{id}/ssh" Access::Needs(HostsView), "An agentless host's connection, host key state and last check" => agentless::target, answer bulwark_store::SshTarget;
    post "/api/v1/hosts/{id}/ssh/check" Access::Needs(HostsManage), "Check an agentless host now: connect, verify its key, detect OS, architecture, sudo, free space, oscap" => agentless::check, answer crate::agentless::SshCheckReport;
    post "/api/v1/hosts/{id}/ssh/approve-key" Access::Needs(HostsManage), "Approve the host key an agentless host offered (its fingerprint, as the last check showed it)" => agentless::approve_key, body agentless::ApproveBody, answer bulwark_store::SshTarget;
    get "/api/v1/ssh-credentials" Access::Needs(HostsView), "SSH credentials of agentless hosts (never their secrets)" => agentless::list_credentials, answer Vec<bulwark_store::SshCredential>;
    post "/api/v1/ssh-credentials" Access::Needs(HostsManage), "Store an SSH credential sealed (a private key, a generated key, or a password)" => agentless::create_credential, body agentless::CredentialBody, answer agentless::CredentialCreated;
    delete "/api/v1/ssh-credentials/{id}" Access::Needs(HostsManage), "Remove an SSH credential no host uses" => agentless::delete_credential, answer answers::Deleted;
    get "/api/v1/hosts" Access::Needs(HostsView), "List hosts (filters: status, health, os_kind, group_id)" => hosts::list, query hosts::HostFilter, answer Vec<bulwark_store::Host>;
    get "/api/v1/hosts/{id}" Access::Needs(HostsView), "A host with its latest inventory" => hosts::get_one, answer answers::HostDetail;
    delete "/api/v1/hosts/{id}" Access::Needs(HostsManage), "Remove a host; its agent must enroll again" => hosts::delete_one, answer answers::Deleted;
    put "/api/v1/hosts/{id}/maintenance" Access::Needs(HostsManage), "Put a host in or out of maintenance" => hosts::set_maintenance, body hosts::MaintenanceBody, answer bulwark_store::Host;
    get "/api/v1/hosts/{id}/jobs" Access::Needs(HostsView), "A host's recent jobs, newest first" => hosts::jobs, answer Vec<bulwark_store::AgentJob>;
    post "/api/v1/hosts/{id}/jobs" Access::Needs(HostsManage), "Queue a host-control action (service, process, user, group, diagnostic, script) for the host's agent" => jobs::create, body jobs::JobBody, answer bulwark_store::AgentJob;
    post "/api/v1/jobs/bulk" Access::Needs(HostsManage), "Queue one action for several hosts (answers the jobs and the hosts refused, with why)" => jobs::create_bulk, body jobs::BulkJobBody, answer jobs::BulkQueued;
    get "/api/v1/jobs" Access::Needs(HostsView), "Jobs fleet-wide, newest first (filters: host_id, kind, status, limit)" => jobs::list, query bulwark_store::JobFilter, answer Vec<bulwark_store::AgentJob>;
    get "/api/v1/jobs/{id}" Access::Needs(HostsView), "A job with its output" => jobs::get_one, answer bulwark_store::AgentJob;
    post "/api/v1/jobs/{id}/cancel" Access::Needs(HostsManage), "Cancel a job the agent has not started" => jobs::cancel, answer bulwark_store::AgentJob;
    get "/api/v1/hosts/{id}/{category}" Access::Needs(HostsView), "One inventory category of a host" => hosts::category, answer serde_json::Value;
    get "/api/v1/host-groups" Access::Needs(HostsView), "List host groups" => hosts::list_groups, answer Vec<bulwark_store::HostGroup>;
    post "/api/v1/host-groups" Access::Needs(HostsManage), "Create a host group (optionally under a parent)" => hosts::create_group, body hosts::GroupBody, answer bulwark_store::HostGroup;
    post "/api/v1/host-groups/{id}/members" Access::Needs(HostsManage), "Add a host to a group" => hosts::add_member, body hosts::MemberBody, answer answers::Membership;

    get "/api/v1/provisioning/settings" Access::Needs(ProvisioningManage), "An organization's compliance settings for provisioned machines (org_id); secrets only as set or not" => provisioning::get_settings, query provisioning::OrgQuery, answer provisioning::SettingsAnswer;
    put "/api/v1/provisioning/settings" Access::Needs(ProvisioningManage), "Replace an organization's compliance settings; secrets are write-only (null clears)" => provisioning::put_settings, body provisioning::SettingsBody, answer provisioning::SettingsAnswer;
    get "/api/v1/provisioning/overview" Access::Needs(ProvisioningView), "Average score, total scans, blocked machines, pass rate, and the 20 most recent machines (org_id)" => provisioning::overview, query provisioning::OrgQuery, answer provisioning::OverviewAnswer;
    post "/api/v1/provisioning/terraform/{org_id}/run-task" Access::Signed, "A Terraform run task delivery (X-TFC-Task-Signature); post-apply runs are scanned and the task's callback told" => provisioning::run_task, body crate::provisioning::terraform::RunTaskRequest, answer provisioning::Delivery;
    post "/api/v1/provisioning/terraform/{org_id}/notification" Access::Signed, "A Terraform notification (X-TFE-Notification-Signature); completed applies are scanned" => provisioning::notification, body crate::provisioning::terraform::NotificationRequest, answer provisioning::Delivery;
    get "/api/v1/provisioned-vms" Access::Needs(ProvisioningView), "Provisioned machines, newest first (filters: org_id, status, project, blocked, limit, offset)" => provisioning::list_vms, query bulwark_store::ProvisionedVmFilter, answer Vec<bulwark_store::ProvisionedVm>;
    post "/api/v1/provisioned-vms" Access::Needs(HostsManage), "Report machines a provisioning tool created (any tool; idempotent per run and address); they are scanned as the settings say" => provisioning::submit, body provisioning::SubmitBody, answer Vec<bulwark_store::ProvisionedVm>;
    get "/api/v1/provisioned-vms/{id}" Access::Needs(ProvisioningView), "A provisioned machine with its scan's outcome and handover decision" => provisioning::get_vm, answer bulwark_store::ProvisionedVm;
    get "/api/v1/provisioned-vms/{id}/handover" Access::Needs(ProvisioningView), "Whether the machine may be handed over now (for a pipeline to poll)" => provisioning::handover, answer provisioning::Handover;
    post "/api/v1/provisioned-vms/{id}/release" Access::Needs(ProvisioningManage), "Release a blocked machine's handover, with a reason (recorded and audited)" => provisioning::release, body provisioning::ReleaseBody, answer bulwark_store::ProvisionedVm;
    get "/api/v1/provisioned-vms/{id}/report" Access::Needs(ProvisioningView), "The machine's scan report: html, json, or arf (format)" => provisioning::vm_report, query report::ReportQuery, answer bulwark_report::JsonReport;

    get "/api/v1/notifications" VIEW, "Recent notifications" => settings::notifications, answer Vec<bulwark_store::Notification>;
    get "/api/v1/orgs" Access::Needs(SettingsManage), "List organizations" => settings::list_orgs, answer Vec<bulwark_store::Org>;
    post "/api/v1/orgs" Access::Needs(SettingsManage), "Create an organization; answers its enrollment secret once" => settings::create_org, body settings::OrgBody, answer answers::OrgCreated;
    post "/api/v1/orgs/{id}/rotate-secret" Access::Needs(SettingsManage), "Replace an organization's enrollment secret" => settings::rotate_secret, answer answers::SecretRotated;
    get "/api/v1/orgs/{id}/webhooks" Access::Needs(SettingsManage), "An organization's webhooks" => settings::list_webhooks, answer Vec<bulwark_store::Webhook>;
    post "/api/v1/orgs/{id}/webhooks" Access::Needs(SettingsManage), "Add a webhook" => settings::add_webhook, body settings::WebhookBody, answer answers::WebhookCreated;
    get "/api/v1/feature-flags" Access::Needs(SettingsManage), "Agent feature flags (account-wide and per organization)" => settings::list_flags, answer Vec<bulwark_store::FeatureFlag>;
    put "/api/v1/feature-flags" Access::Needs(SettingsManage), "Enable or disable an agent feature (org_id empty: account-wide)" => settings::set_flag, body settings::FlagBody, answer bulwark_store::FeatureFlag;
    delete "/api/v1/feature-flags" Access::Needs(SettingsManage), "Remove a flag, back to the default (enabled)" => settings::delete_flag, query settings::FlagQuery, answer answers::FlagDeleted;
    get "/api/v1/audit" Access::Needs(SettingsManage), "The audit log, newest first (filters: org_id, actor, action, outcome, since, limit)" => audit::list, query bulwark_store::AuditFilter, answer Vec<bulwark_store::AuditEntry>;
    get "/api/v1/audit/export" Access::Needs(SettingsManage), "The audit log as CSV (same filters)" => audit::export, query bulwark_store::AuditFilter, answer String;
    get "/api/v1/users" Access::Needs(SettingsManage), "List users" => settings::list_users, answer Vec<bulwark_store::User>;
    post "/api/v1/users" Access::Needs(SettingsManage), "Create a user" => settings::create_user, body settings::UserBody, answer bulwark_store::User;
}

async fn authorize(
    State(state): State<AppState>,
    route: &'static str,
    access: Access,
    body_limit: usize,
    req: Request,
    next: Next,
) -> Response {
    if access == Access::Agent {
        return match crate::agent_auth::verify(&state, req, body_limit).await {
            Ok(req) => next.run(req).await,
            Err(e) => e.into_response(),
        };
    }
    if access == Access::Signed {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let source_ip = crate::audit::source_ip(req.extensions());
        let response = next.run(req).await;
        let request = crate::audit::Request {
            method: &method,
            route,
            path: &path,
            caller: None,
            by_token: false,
            source_ip,
        };
        if let Some(mut entry) = crate::audit::entry(request, &response) {
            entry.actor = crate::audit::SIGNED_SENDER.into();
            // A refused delivery is the addressed organization's to see, when it exists.
            if entry.org_id.is_empty()
                && let Some(org) = signed_org(&path)
                && state
                    .store
                    .get_org(&bulwark_store::Scope::All, org)
                    .await
                    .is_ok()
            {
                entry.org_id = org.to_owned();
            }
            crate::audit::write(&state, &entry).await;
        }
        return response;
    }
    let (mut parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let by_token = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .is_some();
    let source_ip = crate::audit::source_ip(&parts.extensions);
    let caller = <Caller as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await;
    let (caller, response) = match caller {
        Err(e) => (None, e.into_response()),
        Ok(caller) => {
            let response = match access.admits(&caller) {
                Err(e) => e.into_response(),
                Ok(()) => next.run(Request::from_parts(parts, body)).await,
            };
            (Some(caller), response)
        }
    };
    let request = crate::audit::Request {
        method: &method,
        route,
        path: &path,
        caller: caller.as_ref(),
        by_token,
        source_ip,
    };
    if let Some(entry) = crate::audit::entry(request, &response) {
        crate::audit::write(&state, &entry).await;
    }
    response
}

/// The organization a signed delivery's path names (`/api/v1/provisioning/terraform/{org_id}/…`).
fn signed_org(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/provisioning/terraform/")?
        .split('/')
        .next()
        .filter(|org| !org.is_empty())
}

/// A body field that was sent, even as `null` (`Some(None)`), as opposed to left out
/// (`None`): how updates tell "clear this" from "leave it".
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The API's routes beside `others` (the web UI), with the API's fallback and body limit.
pub fn router(state: AppState, others: Router<AppState>) -> Router {
    let mut router = others;
    for r in ROUTES {
        let mut handler = (r.handler)();
        let body_limit = match r.upload {
            Some(_) => state.config.upload_limit,
            None => state.config.body_limit,
        };
        if r.upload.is_some() {
            handler = handler.layer(axum::extract::DefaultBodyLimit::max(body_limit));
        }
        if r.access != Access::Public {
            let (access, route) = (r.access, r.path);
            handler = handler.route_layer(middleware::from_fn_with_state(
                state.clone(),
                move |s, req, next| authorize(s, route, access, body_limit, req, next),
            ));
        }
        router = router.route(r.path, handler);
    }
    router
        .fallback(|| async { AppError::NotFound("endpoint".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.body_limit,
        ))
        .with_state(state)
}
