//! CSRF tokens: derived from the session secret, which only the browser holding the
//! `HttpOnly` cookie knows, so another site can neither read nor forge one. htmx sends the
//! token in a header (set once on `<body>`); a form posted without script carries it as the
//! `_csrf` field, which is checked and removed before the form reaches its handler.

use axum::body::{Body, to_bytes};
use axum::http::HeaderMap;
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::form;
use crate::error::AppError;

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "_csrf";

pub fn token(session: &str) -> String {
    hex::encode(Sha256::digest(
        format!("bulwark-csrf\0{session}").as_bytes(),
    ))
}

/// Equal tokens, compared through their hashes so that the time taken says nothing about
/// how much of a guess was right.
pub fn matches(presented: &str, expected: &str) -> bool {
    Sha256::digest(presented.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// The form body without its `_csrf` field, when the request carries the session's token.
pub async fn verify(
    session: &str,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Body, Response> {
    let expected = token(session);
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| form::failure(AppError::TooLarge))?;
    let header_ok = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &expected));
    let mut field_ok = false;
    let kept: Vec<(String, String)> = form_urlencoded::parse(&bytes)
        .filter(|(k, v)| {
            if k == FIELD {
                field_ok |= matches(v, &expected);
                false
            } else {
                true
            }
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !(header_ok || field_ok) {
        return Err(form::failure(AppError::Forbidden(
            "this form is out of date or came from another site; reload the page and try again"
                .into(),
        )));
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    Ok(Body::from(encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_session() {
        assert_eq!(token("bws_a"), token("bws_a"));
        assert_ne!(token("bws_a"), token("bws_b"));
        assert!(matches(&token("bws_a"), &token("bws_a")));
        assert!(!matches("", &token("bws_a")));
    }
}
