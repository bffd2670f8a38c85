//! Request bodies and query strings. JSON that does not parse answers 400; a wrong type, an
//! unknown or a missing field answers 422 naming the field (its path, via
//! serde_path_to_error); a body over the limit answers 413. Always in the one error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct Body<T>(pub T);

/// The field an error is about: the path serde reached, or for unknown and missing fields
/// the name in the message.
fn field_of(path: &str, message: &str) -> String {
    // For unknown fields serde's path already ends with the field; for missing ones the
    // path is the object holding it, and the message names the field.
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field `"));
    match (named, path) {
        (Some(name), "." | "") => name.to_owned(),
        (Some(name), p) => format!("{p}.{name}"),
        (None, "." | "") => "body".to_owned(),
        (None, p) => p.to_owned(),
    }
}

/// Text may not hold NUL characters: PostgreSQL cannot store them, and no field needs one.
const NUL: &str = "text may not contain NUL characters (\\u0000)";

/// The path of the first string holding a NUL in a JSON document, if any.
fn nul_in(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(|| path.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(path.to_owned());
            }
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            nul_in(v, &at)
        }),
        _ => None,
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // A NUL can only arrive escaped; the second parse runs only for bodies that might hold one.
    if bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"u0000"))
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(path) = nul_in(&value, "")
    {
        let field = if path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        return Err(AppError::invalid(&field, NUL));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(AppError::BadRequest(format!(
                    "request body is not valid JSON: {inner}"
                )))
            } else {
                let message = inner.to_string();
                Err(AppError::invalid(&field_of(&path, &message), message))
            }
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(AppError::BadRequest(
                "request body must be JSON (Content-Type: application/json)".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest(e.body_text())
            }
        })?;
        parse_json(&bytes).map(Body)
    }
}

pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Params)
    }
}

/// A query string parsed as [`Params`] does: a wrong or unknown field is an error naming it.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    if let Some((name, _)) =
        form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(AppError::invalid(&name, NUL));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        AppError::invalid(&field_of(&path, &message), message)
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        interval_hours: u32,
    }

    #[test]
    fn errors_name_the_field() {
        for (body, code, field) in [
            (
                r#"{"name": "x", "interval_hours": "soon"}"#,
                422,
                Some("interval_hours"),
            ),
            (r#"{"name": "x"}"#, 422, Some("interval_hours")),
            (
                r#"{"name": "x", "interval_hours": 1, "colour": 1}"#,
                422,
                Some("colour"),
            ),
            (r#"{"name": "x", "#, 400, None),
            ("[]", 422, Some("body")),
        ] {
            let err = super::parse_json::<Sample>(body.as_bytes()).unwrap_err();
            match (&err, field) {
                (crate::error::AppError::Invalid(_), Some(want)) => {
                    assert_eq!(err.field(), Some(want), "{body}")
                }
                (crate::error::AppError::BadRequest(_), None) => assert_eq!(code, 400),
                _ => panic!("{body}: {err:?}"),
            }
        }
    }
}
