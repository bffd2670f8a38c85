//! Form posts: their fields parsed into the API's own body types (so a form is validated
//! exactly as the same JSON would be, with the same field names in its errors), and what a
//! form gets back — a page to go to, a fragment to show in the form, or the error beside the
//! field it is about.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The header htmx follows to another page after a form succeeds (the guard turns it into a
/// plain redirect for a form posted without script).
pub const REDIRECT: &str = "hx-redirect";

/// A form body, parsed as the API parses JSON: an unknown, missing or mistyped field is an
/// error naming that field. Empty inputs are absent values.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Response;

    /// Reads at most the route's body limit (axum's `DefaultBodyLimit`, 2 MiB unless the
    /// route says otherwise), so a form cannot be an unbounded read before authentication.
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            failure(match e.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge,
                _ => AppError::BadRequest(e.body_text()),
            })
        })?;
        parse(&bytes).map(Form).map_err(failure)
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if let Some((name, _)) =
        form_urlencoded::parse(bytes).find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(AppError::invalid(
            &name,
            "text may not contain NUL characters",
        ));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes)
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let de = serde_html_form::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = match message.split('`').nth(1) {
            Some(name) if message.starts_with("missing field") => name.to_owned(),
            _ if path == "." => "form".to_owned(),
            _ => path,
        };
        let message = if message.starts_with("missing field") {
            format!("{field} is required")
        } else {
            message
        };
        AppError::invalid(&field, message)
    })
}

/// Where a successful form leads, or what it shows in place.
pub enum Done {
    GoTo(String),
    Show(String),
    /// Shows the HTML and raises an htmx event on the page, so that the parts that list
    /// what the form changed refresh themselves.
    ShowAndSignal(String, &'static str),
    /// A response built by the handler (one that carries an audit note, say).
    Response(Box<Response>),
}

/// A form's error: the API's error, answered as the form shows it (see [`failure`]).
pub struct FormError(AppError);

impl From<AppError> for FormError {
    fn from(e: AppError) -> Self {
        FormError(e)
    }
}

impl IntoResponse for FormError {
    fn into_response(self) -> Response {
        failure(self.0)
    }
}

pub type Outcome = Result<Done, FormError>;

pub fn go_to(path: impl Into<String>) -> Outcome {
    Ok(Done::GoTo(path.into()))
}

impl IntoResponse for Done {
    fn into_response(self) -> Response {
        match self {
            Done::GoTo(path) => match HeaderValue::from_str(&path) {
                Ok(location) => (StatusCode::OK, [(REDIRECT, location)], "").into_response(),
                Err(_) => failure(AppError::Internal(format!("bad redirect {path:?}"))),
            },
            Done::Show(html) => Html(html).into_response(),
            Done::ShowAndSignal(html, event) => {
                ([("HX-Trigger", event)], Html(html)).into_response()
            }
            Done::Response(response) => *response,
        }
    }
}

/// An error as a form shows it: one alert, and one line for each field that is wrong.
#[derive(askama::Template)]
#[template(
    source = r#"<div class="alert alert-error" role="alert">{% if fields.is_empty() %}{{ message }}{% else %}{% for f in fields %}<div data-field="{{ f.field }}"><strong>{{ f.field }}</strong>: {{ f.message }}</div>{% endfor %}{% endif %}</div>"#,
    ext = "html"
)]
struct Alert<'a> {
    fields: &'a [crate::error::FieldError],
    message: String,
}

/// An error as the form shows it: the status of the API's answer, and an alert naming each
/// field that is wrong (the page's script also puts each message beside its field).
pub fn failure(e: AppError) -> Response {
    if let AppError::Internal(detail) = &e {
        tracing::error!(detail = %detail, "form failed");
    }
    let alert = Alert {
        fields: e.field_errors(),
        message: e.to_string(),
    };
    let mut response = (e.status(), super::page::render_html(&alert)).into_response();
    response
        .extensions_mut()
        .insert(crate::audit::ErrorMessage(alert.message));
    response
}

pub fn session_ended() -> Response {
    let mut response = failure(AppError::Unauthorized(
        "your session has ended; log in again".into(),
    ));
    response
        .headers_mut()
        .insert(REDIRECT, HeaderValue::from_static("/login"));
    response
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        hours: Option<i64>,
        active: Option<bool>,
        #[serde(default)]
        ids: Vec<String>,
    }

    #[test]
    fn errors_are_escaped_and_name_their_field() {
        let response = super::failure(crate::error::AppError::invalid("name", "<b>x</b>"));
        assert_eq!(response.status(), 422);
    }

    #[test]
    fn forms_parse_like_the_api_bodies() {
        let s: Sample = super::parse(b"name=a+b&hours=&active=true&ids=x&ids=y").unwrap();
        assert_eq!(
            s,
            Sample {
                name: "a b".into(),
                hours: None,
                active: Some(true),
                ids: vec!["x".into(), "y".into()]
            }
        );
        for (body, field) in [
            (&b"hours=3"[..], "name"),
            (b"name=a&hours=soon", "hours"),
            (b"name=a&colour=red", "colour"),
        ] {
            let e = super::parse::<Sample>(body).unwrap_err();
            assert_eq!(e.field(), Some(field), "{e}");
        }
    }
}
