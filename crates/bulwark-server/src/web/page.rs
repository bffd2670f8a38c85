//! What every page shares: the signed-in user and what they may do (so that a viewer is
//! shown no controls they cannot use), the navigation, and the CSRF token for its forms.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use bulwark_core::Permission;

use super::csrf;
use crate::AppState;
use crate::auth::Caller;
use crate::error::AppError;

/// The session secret of the request, put there by the guard.
#[derive(Clone)]
pub struct Session(pub String);

pub const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/hosts", "Hosts"),
    ("/policies", "Policies"),
    ("/templates", "Templates"),
    ("/scans", "Scans"),
    ("/jobs", "Jobs"),
    ("/exceptions", "Exceptions"),
    ("/trends", "Trends"),
    ("/export", "Export"),
];

pub struct Chrome {
    pub username: String,
    pub role: &'static str,
    pub csrf: String,
    /// The navigation entry the page belongs to.
    pub section: &'static str,
    pub can_manage: bool,
    pub can_manage_hosts: bool,
    pub can_settings: bool,
    /// Sees the provisioning gate (provisioners and admins).
    pub can_provisioning: bool,
    /// Changes the gate's settings and releases blocked machines (admins).
    pub can_release: bool,
}

impl Chrome {
    pub fn new(caller: &Caller, session: &str, path: &str) -> Chrome {
        let section = NAV
            .iter()
            .chain(
                [
                    ("/settings", "Settings"),
                    ("/audit", "Audit"),
                    ("/provisioning", "Provisioning"),
                ]
                .iter(),
            )
            .filter(|(p, _)| {
                *p == path || (*p != "/" && path.starts_with(p) && path[p.len()..].starts_with('/'))
            })
            .map(|(p, _)| *p)
            .next()
            .unwrap_or("");
        let role = caller.user.role;
        Chrome {
            username: caller.user.username.clone(),
            role: role.as_str(),
            csrf: csrf::token(session),
            section,
            can_manage: role.can(Permission::ComplianceManage),
            can_manage_hosts: role.can(Permission::HostsManage),
            can_settings: role.can(Permission::SettingsManage),
            can_provisioning: role.can(Permission::ProvisioningView),
            can_release: role.can(Permission::ProvisioningManage),
        }
    }

    /// A hidden field that lets a form that creates something be submitted once (a fresh
    /// token at every call, so each form of a page has its own).
    pub fn once(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            super::once::FIELD,
            super::once::token()
        )
    }

    /// The htmx attribute that sends the CSRF token with every request of the page.
    pub fn hx_headers(&self) -> String {
        format!("{{\"{}\": \"{}\"}}", csrf::HEADER, self.csrf)
    }
}

impl FromRequestParts<AppState> for Chrome {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        match (
            parts.extensions.get::<Caller>(),
            parts.extensions.get::<Session>(),
        ) {
            (Some(caller), Some(Session(session))) => {
                Ok(Chrome::new(caller, session, parts.uri.path()))
            }
            _ => Err(AppError::Unauthorized("log in first".into()).into_response()),
        }
    }
}

pub fn render_html<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// The error page a handler answers instead of its page (boxed: a response is large).
pub struct PageError(Box<Response>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        *self.0
    }
}

pub type PageResult = Result<Response, PageError>;

/// A page, or the error page when gathering it failed.
pub trait OrErrorPage<T> {
    fn or_page(self, chrome: &Chrome) -> Result<T, PageError>;
}

impl<T, E: Into<AppError>> OrErrorPage<T> for Result<T, E> {
    fn or_page(self, chrome: &Chrome) -> Result<T, PageError> {
        self.map_err(|e| PageError(Box::new(error_page(chrome, e.into()))))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: &'a Chrome,
    title: &'static str,
    message: String,
}

/// A failed page says what went wrong in the words of the API's error, inside the layout.
pub fn error_page(chrome: &Chrome, e: AppError) -> Response {
    let title = match e.status().as_u16() {
        403 => "Not allowed",
        404 => "Not found",
        409 => "Not possible right now",
        400 | 422 => "Check the address",
        _ => "Something went wrong",
    };
    if let AppError::Internal(detail) = &e {
        tracing::error!(detail = %detail, "page failed");
    }
    let message = match &e {
        AppError::NotFound(what) => {
            format!("This {what} does not exist, or it belongs to an organization you cannot see.")
        }
        e => e.to_string(),
    };
    let page = ErrorPage {
        chrome,
        title,
        message,
    };
    (e.status(), render_html(&page)).into_response()
}

/// A page's query string parsed like the API's, except that empty values (a filter left at
/// "any", an empty text box) are dropped first: a GET form sends every field.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let kept = serde_urlencoded::to_string(&kept).unwrap_or_default();
        crate::body::parse_query(&kept)
            .map(PageQuery)
            .map_err(IntoResponse::into_response)
    }
}
