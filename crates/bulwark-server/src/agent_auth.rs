//! Signed agent requests. The permission layer calls [`verify`] for every `Access::Agent`
//! route: it reads the body (within the body limit), looks up the agent's enrolled key,
//! checks the clock, the signature and the nonce, and hands the handler the agent's
//! identity as a request extension. Every refusal is a 401 whose message says why.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use bulwark_protocol::signing::{MAX_SKEW_SECS, RequestParts};
use bulwark_protocol::{Refusal, SignedHeaders};
use bulwark_store::{AgentIdentity, NonceUse};

use crate::AppState;
use crate::error::AppError;

/// The enrolled agent a request came from.
#[derive(Debug, Clone)]
pub struct Agent(pub AgentIdentity);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Agent {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Agent>().cloned().ok_or_else(|| {
            AppError::Unauthorized("this endpoint takes signed agent requests".into())
        })
    }
}

fn refused(r: Refusal) -> AppError {
    AppError::Unauthorized(r.to_string())
}

pub async fn verify(
    state: &AppState,
    req: Request,
    body_limit: usize,
) -> Result<Request, AppError> {
    let (mut parts, body) = req.into_parts();
    let headers = SignedHeaders::read(|name| parts.headers.get(name).and_then(|v| v.to_str().ok()))
        .map_err(refused)?;
    let bytes = to_bytes(body, body_limit)
        .await
        .map_err(|_| AppError::TooLarge)?;
    let identity = state
        .store
        .agent(&headers.agent_id)
        .await?
        .ok_or_else(|| refused(Refusal::UnknownAgent))?;
    let request = RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        body: &bytes,
    };
    headers
        .verify(&identity.public_key, &request, bulwark_store::now())
        .map_err(refused)?;
    // Only a verified request spends its nonce, so a forger cannot burn an agent's nonces.
    let keep_until = headers.timestamp + MAX_SKEW_SECS + 60;
    let nonce = NonceUse {
        agent_id: headers.agent_id.clone(),
        nonce: headers.nonce.clone(),
        expires_at: keep_until,
    };
    if !state.nonces.spend(nonce).await? {
        return Err(refused(Refusal::Replayed));
    }
    parts.extensions.insert(Agent(identity));
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
