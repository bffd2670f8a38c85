//! Logging in and out of the UI: the same sessions, lockout and cookie as the API's login.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{close_session, open_session, session_cookie, session_of};
use crate::web::csrf;
use crate::web::form::Form;
use crate::web::page::render_html;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path of this site: `next` must not send the user elsewhere after logging in.
/// Where to go after logging in: a path on this site only. Browsers drop tabs and line breaks
/// from addresses (`/\t/evil` would become `//evil`, another site), and a line break would
/// not fit in a header, so anything but visible characters (or a backslash) leads home.
fn local(next: Option<String>) -> String {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    })
    .unwrap_or_else(|| "/".into())
}

pub async fn form(Query(q): Query<Next>) -> Response {
    render_html(&LoginPage {
        next: local(q.next),
        username: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    crate::auth::Source(source): crate::auth::Source,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let next = local(c.next);
    match open_session(&state, &c.username, &c.password, &source).await {
        Ok((_, session, _)) => (
            [(
                header::SET_COOKIE,
                session_cookie(
                    Some(&session),
                    state.config.session_hours,
                    crate::auth::over_https(&headers),
                ),
            )],
            Redirect::to(&next),
        )
            .into_response(),
        Err(e) => {
            let status = e.status();
            let page = LoginPage {
                next,
                username: c.username,
                error: Some(e.to_string()),
            };
            (status, render_html(&page)).into_response()
        }
    }
}

/// Logging out is a form (with the CSRF token), so another site cannot end the session.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let expected = session_of(&headers).map(|s| csrf::token(&s));
    let presented = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == csrf::FIELD)
        .map(|(_, v)| v.into_owned());
    if expected.is_none() || expected != presented {
        return Redirect::to("/").into_response();
    }
    if let Err(e) = close_session(&state, &headers).await {
        tracing::warn!(error = %e, "could not end a session");
    }
    (
        [(
            header::SET_COOKIE,
            session_cookie(None, 0, crate::auth::over_https(&headers)),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}
