//! The JSON API. One table, [`ROUTES`], names every endpoint with its method, path, the
//! permission it needs and a summary; the router, the permission checks, the OpenAPI document
//! and the role-matrix test are all built from it, so they cannot drift apart.

mod agent;
mod compliance;
mod exceptions;
mod hosts;
mod openapi;
mod policies;
mod reports;
mod scans;
mod settings;
mod templates;

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
    Needs(Permission),
}

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    handler: fn() -> MethodRouter<AppState>,
}

macro_rules! routes {
    ($($method:ident $path:literal $access:expr, $summary:literal => $handler:path;)*) => {
        pub const ROUTES: &[Route] = &[$(Route {
            method: routes!(@upper $method),
            path: $path,
            access: $access,
            summary: $summary,
            handler: || $method($handler),
        }),*];
    };
    (@upper get) => { "GET" };
    (@upper post) => { "POST" };
    (@upper put) => { "PUT" };
    (@upper patch) => { "PATCH" };
    (@upper delete) => { "DELETE" };
}

const VIEW: Access = Access::Needs(ComplianceView);
const MANAGE: Access = Access::Needs(ComplianceManage);

routes! {
    get "/api/openapi.json" Access::Public, "This document" => openapi::document;
    post "/api/v1/auth/login" Access::Public, "Log in with user name and password; sets the session cookie" => auth::login;
    post "/api/v1/auth/logout" Access::Authenticated, "End the current session" => auth::logout;
    get "/api/v1/auth/me" Access::Authenticated, "The caller, their role and permissions" => auth::me;

    get "/api/v1/compliance/templates" VIEW, "List templates (filters: system, framework, os)" => templates::list;
    get "/api/v1/compliance/templates/{id}" VIEW, "A template with its checks" => templates::get_one;
    delete "/api/v1/compliance/templates/{id}" MANAGE, "Delete a custom template and its checks (system: 403, used by a policy: 409)" => templates::delete_one;
    post "/api/v1/compliance/templates/{id}/copy" MANAGE, "Copy a template into an organization" => templates::copy;
    post "/api/v1/compliance/templates/{id}/active" MANAGE, "Set a template's active flag (allowed on system templates)" => templates::set_active;
    post "/api/v1/compliance/templates/{id}/checks" MANAGE, "Add a custom check to a custom template" => templates::add_check;
    post "/api/v1/compliance/templates/{id}/checks/bulk-toggle" MANAGE, "Enable or disable several checks" => templates::bulk_toggle;
    patch "/api/v1/compliance/templates/{id}/checks/{check}" MANAGE, "Edit a check's parameters, expected value or enabled flag" => templates::patch_check;

    get "/api/v1/compliance/policies" VIEW, "List policies" => policies::list;
    post "/api/v1/compliance/policies" MANAGE, "Create a policy (one per organization and OS type)" => policies::create;
    get "/api/v1/compliance/policies/{id}" VIEW, "A policy" => policies::get_one;
    put "/api/v1/compliance/policies/{id}" MANAGE, "Update a policy" => policies::update;
    delete "/api/v1/compliance/policies/{id}" MANAGE, "Delete a policy and its overrides" => policies::delete_one;
    get "/api/v1/compliance/policies/{id}/overrides" VIEW, "A policy's per-host template overrides" => policies::list_overrides;
    post "/api/v1/compliance/policies/{id}/overrides" MANAGE, "Give one host another template (one per host and policy)" => policies::add_override;
    delete "/api/v1/compliance/policies/{id}/overrides/{override_id}" MANAGE, "Remove an override" => policies::delete_override;

    get "/api/v1/compliance/exceptions" VIEW, "List exceptions (filter: state)" => exceptions::list;
    post "/api/v1/compliance/exceptions" MANAGE, "Create an exception for a rule (host, host group or organization)" => exceptions::create;
    get "/api/v1/compliance/exceptions/{id}" VIEW, "An exception" => exceptions::get_one;
    delete "/api/v1/compliance/exceptions/{id}" MANAGE, "Revoke an exception" => exceptions::revoke;

    get "/api/v1/compliance/scans" VIEW, "List scans (filters: status, host_id, policy_id, q = id prefix, limit)" => scans::list;
    post "/api/v1/compliance/scans" MANAGE, "Trigger an on-demand scan of an online host for a policy" => scans::trigger;
    get "/api/v1/compliance/scans/{id}" VIEW, "A scan" => scans::get_one;
    get "/api/v1/compliance/scans/{id}/results" VIEW, "A scan's per-check results (filter: status)" => scans::results;
    post "/api/v1/compliance/scans/{id}/cancel" MANAGE, "Cancel a pending or running scan" => scans::cancel;

    get "/api/v1/compliance/dashboard" VIEW, "Aggregate compliance posture (filter: org_id)" => reports::dashboard;
    get "/api/v1/compliance/trends" VIEW, "Daily scores over 1-365 days (filters: days, policy_id)" => reports::trends;
    get "/api/v1/compliance/export" VIEW, "Completed scans as CSV or NDJSON, streamed (format, policy_id, host_id, limit)" => reports::export;

    get "/api/v1/compliance/results/agent/{id}" VIEW, "The latest results of a host (by agent id or host id)" => compliance::agent_results;
    get "/api/v1/compliance/score/agent/{id}" VIEW, "The latest score of a host (by agent id or host id)" => compliance::agent_score;
    get "/api/v1/compliance/history/agent/{id}" VIEW, "A host's score history (by agent id or host id)" => compliance::agent_history;
    get "/api/v1/compliance/stats" VIEW, "Overall statistics" => compliance::stats;
    get "/api/v1/compliance/trend" VIEW, "Trend data (as trends)" => reports::trends;
    get "/api/v1/compliance/stats/top-failing" VIEW, "Most common failing checks" => compliance::top_failing;
    get "/api/v1/compliance/checks" VIEW, "Every check of the templates the caller sees (filter: template_id)" => compliance::checks;
    post "/api/v1/compliance/checks/seed" MANAGE, "Re-import the shipped templates" => compliance::seed;

    post "/api/v1/agent/enroll" Access::Public, "Enroll an agent with its organization's secret and public key" => agent::enroll;
    post "/api/v1/agent/heartbeat" Access::Agent, "Heartbeat; answers pending jobs and feature flags" => agent::heartbeat;
    post "/api/v1/agent/inventory" Access::Agent, "Differential inventory: every category's hash, the changed ones in full" => agent::inventory;
    get "/api/v1/agent/jobs" Access::Agent, "Signed jobs for this agent (long poll: wait = seconds)" => agent::jobs;
    post "/api/v1/agent/jobs/{id}/ack" Access::Agent, "The agent started a job" => agent::ack;
    post "/api/v1/agent/jobs/{id}/fail" Access::Agent, "The agent could not run a job (reason)" => agent::fail;
    post "/api/v1/agent/scans/{id}/results" Access::Agent, "A scan's results; finishes the scan (idempotent)" => agent::results;

    get "/api/v1/hosts" Access::Needs(HostsView), "List hosts (filters: status, health, os_kind)" => hosts::list;
    get "/api/v1/hosts/{id}" Access::Needs(HostsView), "A host with its latest inventory" => hosts::get_one;
    delete "/api/v1/hosts/{id}" Access::Needs(HostsManage), "Remove a host; its agent must enroll again" => hosts::delete_one;
    put "/api/v1/hosts/{id}/maintenance" Access::Needs(HostsManage), "Put a host in or out of maintenance" => hosts::set_maintenance;
    get "/api/v1/hosts/{id}/jobs" Access::Needs(HostsView), "A host's recent jobs" => hosts::jobs;
    get "/api/v1/hosts/{id}/{category}" Access::Needs(HostsView), "One inventory category of a host" => hosts::category;
    get "/api/v1/host-groups" Access::Needs(HostsView), "List host groups" => hosts::list_groups;
    post "/api/v1/host-groups" Access::Needs(HostsManage), "Create a host group (optionally under a parent)" => hosts::create_group;
    post "/api/v1/host-groups/{id}/members" Access::Needs(HostsManage), "Add a host to a group" => hosts::add_member;

    get "/api/v1/notifications" VIEW, "Recent notifications" => settings::notifications;
    get "/api/v1/orgs" Access::Needs(SettingsManage), "List organizations" => settings::list_orgs;
    post "/api/v1/orgs" Access::Needs(SettingsManage), "Create an organization; answers its enrollment secret once" => settings::create_org;
    post "/api/v1/orgs/{id}/rotate-secret" Access::Needs(SettingsManage), "Replace an organization's enrollment secret" => settings::rotate_secret;
    get "/api/v1/orgs/{id}/webhooks" Access::Needs(SettingsManage), "An organization's webhooks" => settings::list_webhooks;
    post "/api/v1/orgs/{id}/webhooks" Access::Needs(SettingsManage), "Add a webhook" => settings::add_webhook;
    get "/api/v1/feature-flags" Access::Needs(SettingsManage), "Agent feature flags (account-wide and per organization)" => settings::list_flags;
    put "/api/v1/feature-flags" Access::Needs(SettingsManage), "Enable or disable an agent feature (org_id empty: account-wide)" => settings::set_flag;
    delete "/api/v1/feature-flags" Access::Needs(SettingsManage), "Remove a flag, back to the default (enabled)" => settings::delete_flag;
    get "/api/v1/users" Access::Needs(SettingsManage), "List users" => settings::list_users;
    post "/api/v1/users" Access::Needs(SettingsManage), "Create a user" => settings::create_user;
}

async fn authorize(
    State(state): State<AppState>,
    access: Access,
    req: Request,
    next: Next,
) -> Response {
    if access == Access::Agent {
        return match crate::agent_auth::verify(&state, req).await {
            Ok(req) => next.run(req).await,
            Err(e) => e.into_response(),
        };
    }
    let (mut parts, body) = req.into_parts();
    let caller = match <Caller as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Access::Needs(p) = access
        && let Err(e) = caller.require(p)
    {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for r in ROUTES {
        let mut handler = (r.handler)();
        if r.access != Access::Public {
            let access = r.access;
            handler = handler.route_layer(middleware::from_fn_with_state(
                state.clone(),
                move |s, req, next| authorize(s, access, req, next),
            ));
        }
        router = router.route(r.path, handler);
    }
    router
        .fallback(|| async { AppError::NotFound("endpoint".into()) })
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.body_limit,
        ))
        .with_state(state)
}
