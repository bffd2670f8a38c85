//! The web UI: pages rendered on the server (askama templates, SVG charts drawn here) and
//! forms sent with htmx. Every UI route names the API endpoint whose data it shows or whose
//! effect it has; it takes that endpoint's permission from [`crate::api::ROUTES`], and its
//! handler calls that endpoint's handler, so the UI cannot allow what the API refuses nor
//! validate differently. Form posts carry a CSRF token bound to the session.

mod assets;
mod charts;
pub(crate) mod csrf;
mod fmt;
mod form;
mod once;
mod page;
mod pages;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};

use crate::AppState;
use crate::api::{Access, ROUTES};
use crate::auth::{Caller, hash_secret, session_of};

pub use page::Chrome;
pub use pages::hosts::TABS as HOST_TABS;

/// A page or a form action, and the API endpoint (method and path) it stands for.
pub struct UiRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub mirrors: (&'static str, &'static str),
    handler: fn() -> MethodRouter<AppState>,
}

/// One line per UI route: `METHOD "PATH" mirrors METHOD "API PATH" => handler;`.
macro_rules! ui_routes {
    ($($method:ident $path:literal mirrors $api_method:ident $api_path:literal => $handler:path;)*) => {
        pub const UI_ROUTES: &[UiRoute] = &[$(UiRoute {
            method: ui_routes!(@upper $method),
            path: $path,
            mirrors: (stringify!($api_method), $api_path),
            handler: || $method($handler),
        }),*];
    };
    (@upper get) => { "GET" };
    (@upper post) => { "POST" };
}

ui_routes! {
    get "/" mirrors GET "/api/v1/compliance/dashboard" => pages::dashboard::page;

    get "/hosts" mirrors GET "/api/v1/hosts" => pages::hosts::list;
    get "/hosts/{id}" mirrors GET "/api/v1/hosts/{id}" => pages::hosts::detail;
    post "/hosts/{id}/maintenance" mirrors PUT "/api/v1/hosts/{id}/maintenance" => pages::hosts::maintenance;
    post "/hosts/{id}/delete" mirrors DELETE "/api/v1/hosts/{id}" => pages::hosts::delete;
    post "/host-groups" mirrors POST "/api/v1/host-groups" => pages::hosts::create_group;
    post "/hosts/{id}/groups" mirrors POST "/api/v1/host-groups/{id}/members" => pages::hosts::add_to_group;
    post "/hosts/agentless" mirrors POST "/api/v1/hosts" => pages::hosts::create_agentless;
    post "/ssh-credentials" mirrors POST "/api/v1/ssh-credentials" => pages::hosts::create_credential;
    post "/hosts/{id}/ssh/check" mirrors POST "/api/v1/hosts/{id}/ssh/check" => pages::hosts::ssh_check;
    post "/hosts/{id}/ssh/approve-key" mirrors POST "/api/v1/hosts/{id}/ssh/approve-key" => pages::hosts::approve_key;

    post "/hosts/{id}/jobs" mirrors POST "/api/v1/hosts/{id}/jobs" => pages::jobs::create;
    post "/jobs/bulk" mirrors POST "/api/v1/jobs/bulk" => pages::jobs::create_bulk;
    get "/jobs" mirrors GET "/api/v1/jobs" => pages::jobs::list;
    get "/jobs/{id}" mirrors GET "/api/v1/jobs/{id}" => pages::jobs::detail;
    post "/jobs/{id}/cancel" mirrors POST "/api/v1/jobs/{id}/cancel" => pages::jobs::cancel;
    get "/provisioning" mirrors GET "/api/v1/provisioning/overview" => pages::provisioning::overview;
    get "/provisioning/results" mirrors GET "/api/v1/provisioned-vms" => pages::provisioning::results;
    get "/provisioning/settings" mirrors GET "/api/v1/provisioning/settings" => pages::provisioning::settings;
    post "/provisioning/settings" mirrors PUT "/api/v1/provisioning/settings" => pages::provisioning::save_settings;
    post "/provisioning/vms/{id}/release" mirrors POST "/api/v1/provisioned-vms/{id}/release" => pages::provisioning::release;
    get "/provisioning/vms/{id}/report" mirrors GET "/api/v1/provisioned-vms/{id}/report" => pages::provisioning::report;
    get "/audit" mirrors GET "/api/v1/audit" => pages::audit::page;
    get "/audit.csv" mirrors GET "/api/v1/audit/export" => pages::audit::export;
    post "/settings/flags" mirrors PUT "/api/v1/feature-flags" => pages::settings::set_flag;

    get "/templates" mirrors GET "/api/v1/compliance/templates" => pages::templates::list;
    get "/templates/{id}" mirrors GET "/api/v1/compliance/templates/{id}" => pages::templates::detail;
    post "/templates/{id}/copy" mirrors POST "/api/v1/compliance/templates/{id}/copy" => pages::templates::copy;
    post "/templates/active" mirrors POST "/api/v1/compliance/templates/{id}/active" => pages::templates::bulk_active;
    post "/templates/{id}/delete" mirrors DELETE "/api/v1/compliance/templates/{id}" => pages::templates::delete;
    post "/templates/{id}/checks" mirrors POST "/api/v1/compliance/templates/{id}/checks" => pages::templates::add_check;
    post "/templates/{id}/toggle-checks" mirrors POST "/api/v1/compliance/templates/{id}/checks/bulk-toggle" => pages::templates::toggle_checks;
    post "/templates/{id}/checks/{check}/delete" mirrors DELETE "/api/v1/compliance/templates/{id}/checks/{check}" => pages::templates::delete_check;
    post "/templates/{id}/checks/{check}" mirrors PATCH "/api/v1/compliance/templates/{id}/checks/{check}" => pages::templates::edit_check;

    get "/policies" mirrors GET "/api/v1/compliance/policies" => pages::policies::list;
    post "/policies" mirrors POST "/api/v1/compliance/policies" => pages::policies::create;
    get "/policies/{id}" mirrors GET "/api/v1/compliance/policies/{id}" => pages::policies::detail;
    post "/policies/{id}" mirrors PUT "/api/v1/compliance/policies/{id}" => pages::policies::update;
    post "/policies/{id}/delete" mirrors DELETE "/api/v1/compliance/policies/{id}" => pages::policies::delete;
    post "/policies/{id}/overrides" mirrors POST "/api/v1/compliance/policies/{id}/overrides" => pages::policies::add_override;
    post "/policies/{id}/overrides/{override_id}/delete" mirrors DELETE "/api/v1/compliance/policies/{id}/overrides/{override_id}" => pages::policies::delete_override;

    get "/scans" mirrors GET "/api/v1/compliance/scans" => pages::scans::list;
    get "/scans/table" mirrors GET "/api/v1/compliance/scans" => pages::scans::table;
    post "/scans" mirrors POST "/api/v1/compliance/scans" => pages::scans::trigger;
    get "/scans/progress" mirrors GET "/api/v1/compliance/scans" => pages::scans::progress;
    get "/scans/{id}" mirrors GET "/api/v1/compliance/scans/{id}" => pages::scans::detail;
    get "/scans/{id}/results.csv" mirrors GET "/api/v1/compliance/scans/{id}/results" => pages::scans::results_csv;
    post "/scans/{id}/cancel" mirrors POST "/api/v1/compliance/scans/{id}/cancel" => pages::scans::cancel;

    get "/exceptions" mirrors GET "/api/v1/compliance/exceptions" => pages::exceptions::list;
    post "/exceptions" mirrors POST "/api/v1/compliance/exceptions" => pages::exceptions::create;
    post "/exceptions/{id}/revoke" mirrors DELETE "/api/v1/compliance/exceptions/{id}" => pages::exceptions::revoke;
    post "/exceptions/{id}" mirrors PATCH "/api/v1/compliance/exceptions/{id}" => pages::exceptions::update;

    get "/export" mirrors GET "/api/v1/compliance/export" => pages::export::page;
    get "/trends" mirrors GET "/api/v1/compliance/trends" => pages::trends::page;

    get "/settings" mirrors GET "/api/v1/orgs" => pages::settings::page;
    post "/settings/orgs" mirrors POST "/api/v1/orgs" => pages::settings::create_org;
    post "/settings/orgs/{id}/rotate-secret" mirrors POST "/api/v1/orgs/{id}/rotate-secret" => pages::settings::rotate_secret;
    post "/settings/orgs/{id}/webhooks" mirrors POST "/api/v1/orgs/{id}/webhooks" => pages::settings::add_webhook;
    post "/settings/users" mirrors POST "/api/v1/users" => pages::settings::create_user;
}

/// The access an API endpoint requires; a UI route mirroring an unknown endpoint is a bug
/// the router's construction (and its test) catches.
fn access_of((method, path): (&str, &str)) -> Access {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("UI route mirrors {method} {path}, which the API lacks"))
        .access
}

/// The UI's routes, merged into the application beside the API.
pub fn router(state: AppState) -> Router<AppState> {
    let mut router = Router::new()
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/assets/{file}", get(assets::serve));
    for r in UI_ROUTES {
        let access = access_of(r.mirrors);
        let route = r.mirrors.1;
        let handler = (r.handler)().route_layer(middleware::from_fn_with_state(
            state.clone(),
            move |s, req, next| guard(s, route, access, req, next),
        ));
        router = router.route(r.path, handler);
    }
    router
}

/// Who may use a UI route: a logged-in user (else the login page, or for a form a message
/// that says to log in again) whose role has the mirrored endpoint's permission, and for a
/// form post, the session's CSRF token.
async fn guard(
    State(state): State<AppState>,
    route: &'static str,
    access: Access,
    req: Request,
    next: Next,
) -> Response {
    let is_form = req.method() == Method::POST;
    let Some((caller, session)) = session_caller(&state, req.headers()).await else {
        if is_form {
            return form::session_ended();
        }
        let next_path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let query = serde_urlencoded::to_string([("next", next_path)]).unwrap_or_default();
        return Redirect::to(&format!("/login?{query}")).into_response();
    };
    let (mut parts, body) = req.into_parts();
    let (body, once_token) = if is_form {
        let body = match csrf::verify(&session, &parts.headers, body, state.config.body_limit).await
        {
            Ok(body) => body,
            Err(response) => return response,
        };
        match axum::body::to_bytes(body, state.config.body_limit).await {
            Ok(bytes) => {
                let (token, body) = once::take(&bytes);
                (body, token)
            }
            Err(_) => return form::failure(crate::error::AppError::TooLarge),
        }
    } else {
        (body, None)
    };
    let path = parts.uri.path().to_owned();
    let audited = |caller: Caller| {
        let method = parts.method.clone();
        let source_ip = crate::audit::source_ip(&parts.extensions);
        let path = path.clone();
        let state = state.clone();
        move |response: Response| async move {
            let request = crate::audit::Request {
                method: &method,
                route,
                path: &path,
                caller: Some(&caller),
                by_token: false,
                source_ip,
            };
            if let Some(entry) = crate::audit::entry(request, &response) {
                crate::audit::write(&state, &entry).await;
            }
            response
        }
    };
    let audit = audited(caller.clone());
    if let Err(e) = access.admits(&caller) {
        return audit(if is_form {
            form::failure(e)
        } else {
            page::error_page(&Chrome::new(&caller, &session, ""), e)
        })
        .await;
    }
    let user_id = caller.user.id.clone();
    if let Some(token) = &once_token
        && let Err(e) = once::spend(&state, &user_id, token).await
    {
        return form::failure(e);
    }
    let htmx = parts.headers.contains_key("hx-request");
    parts.extensions.insert(page::Session(session));
    parts.extensions.insert(caller);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(token) = &once_token
        && !response.status().is_success()
    {
        once::give_back(&state, &user_id, token).await;
    }
    // A form posted without script follows a plain redirect instead of htmx's header.
    if !htmx && let Some(to) = response.headers_mut().remove(form::REDIRECT) {
        *response.status_mut() = StatusCode::SEE_OTHER;
        response.headers_mut().insert(header::LOCATION, to);
    }
    audit(response).await
}

/// The caller behind the session cookie (API tokens are for the API, not pages) and the
/// session secret, which the CSRF token is derived from.
async fn session_caller(state: &AppState, headers: &HeaderMap) -> Option<(Caller, String)> {
    let session = session_of(headers)?;
    let user = state
        .store
        .user_by_credential(&hash_secret(&session), bulwark_store::now())
        .await
        .ok()??;
    Some((
        Caller {
            scope: user.scope(),
            user,
        },
        session,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ui_route_mirrors_an_api_endpoint() {
        for r in UI_ROUTES {
            access_of(r.mirrors);
        }
    }

    #[test]
    fn ui_routes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in UI_ROUTES {
            assert!(seen.insert((r.method, r.path)), "{} {}", r.method, r.path);
        }
    }
}
