//! A form is submitted once. Forms that create something carry a random `_once` token; the
//! guard spends it before the handler runs and gives it back when the handler fails, so going
//! back in the browser and posting the same form again answers 409 instead of creating a
//! duplicate, while a form corrected after an error can still be sent. Tokens live in the
//! store's single-use nonce table under the pseudo-agent `form:USER` (agent ids cannot hold a
//! colon), so every replica sees them, and they are pruned with the agents' nonces.

use axum::body::{Body, Bytes};
use bulwark_store::NonceUse;

use crate::AppState;
use crate::error::AppError;

/// The form field that carries the token.
pub const FIELD: &str = "_once";
/// How long a rendered form stays submittable once.
const LIFETIME_SECS: i64 = 24 * 3600;

/// A fresh token for one form.
pub fn token() -> String {
    crate::auth::new_secret("f")
}

/// The token of a form body, and the body without it.
pub fn take(bytes: &Bytes) -> (Option<String>, Body) {
    let mut token = None;
    let kept: Vec<(String, String)> = form_urlencoded::parse(bytes)
        .filter(|(k, v)| {
            if k == FIELD {
                token = Some(v.to_string());
                false
            } else {
                true
            }
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    (token, Body::from(body))
}

fn owner(user_id: &str) -> String {
    format!("form:{user_id}")
}

/// Spends `token` for `user_id`: an error when the form was submitted before.
pub async fn spend(state: &AppState, user_id: &str, token: &str) -> Result<(), AppError> {
    let fresh = state
        .store
        .use_nonces(&[NonceUse {
            agent_id: owner(user_id),
            nonce: token.to_owned(),
            expires_at: bulwark_store::now() + LIFETIME_SECS,
        }])
        .await?;
    if fresh.first() == Some(&true) {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "this form was already submitted; reload the page to send it again".into(),
        ))
    }
}

/// Gives a token back after its submission failed, so the corrected form can be sent.
pub async fn give_back(state: &AppState, user_id: &str, token: &str) {
    if let Err(e) = state.store.forget_nonce(&owner(user_id), token).await {
        tracing::warn!(error = %e, "could not release a form token");
    }
}
