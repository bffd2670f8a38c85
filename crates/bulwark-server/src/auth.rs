//! Who is calling: API tokens (`Authorization: Bearer`) and session cookies from
//! `POST /api/v1/auth/login`. Credentials are stored as SHA-256 hashes, passwords as argon2
//! hashes; repeated login failures slow down the next try (see `throttle`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use bulwark_core::Permission;
use bulwark_store::{CredentialKind, Scope, User};
use rand::RngCore;
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::api::answers::{LoggedIn, LoggedOut, Me};
use crate::body::Body;
use crate::error::{ApiResult, AppError};

pub const SESSION_COOKIE: &str = "bulwark_session";

/// A password hash with the same parameters as real ones, verified for user names that do
/// not exist, so that a login takes as long whether or not the name is known.
static UNKNOWN_USER_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    hash_password("no account has this password").expect("argon2 hashes a fixed password")
});

/// Where a request came from, for throttling failed logins: the peer address of the
/// connection (`listen::serve` records it), or `unknown` in process.
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Source(peer.map_or_else(
            || "unknown".to_owned(),
            |c| c.0.ip().to_string(),
        )))
    }
}

/// SHA-256 in hex: how tokens, sessions and enrollment secrets are kept. They are random
/// and long, so a fast hash is enough; passwords use argon2.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret with a recognisable prefix (`bwt_` tokens, `bws_` sessions, `bwe_`
/// enrollment secrets).
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The authenticated caller and the organizations they may see.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub scope: Scope,
}

impl Caller {
    pub fn require(&self, permission: Permission) -> ApiResult<()> {
        if self.user.role.can(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "role {} does not have the {permission} permission",
                self.user.role.as_str()
            )))
        }
    }

    /// The organization a create request is for: the one named, or else the only one the
    /// caller sees (an account-wide caller of an installation with one organization too).
    pub async fn org_for(
        &self,
        store: &std::sync::Arc<dyn bulwark_store::Store>,
        named: Option<&str>,
    ) -> ApiResult<String> {
        let seen = match (named, &self.scope) {
            (Some(org), _) => return Ok(org.to_owned()),
            (None, Scope::Orgs(orgs)) if orgs.len() == 1 => return Ok(orgs[0].clone()),
            (None, Scope::Orgs(orgs)) => orgs.len(),
            (None, Scope::All) => {
                let orgs = store.list_orgs(&Scope::All).await?;
                match orgs.as_slice() {
                    [only] => return Ok(only.id.clone()),
                    all => all.len(),
                }
            }
        };
        Err(AppError::invalid(
            "org_id",
            format!("choose the organization (org_id): you see {seen}"),
        ))
    }
}

pub fn presented_credential(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(token.trim().to_owned());
    }
    session_of(headers)
}

/// The session secret in the request's cookie.
pub fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{SESSION_COOKIE}="))
                .map(str::to_owned)
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let credential = presented_credential(&parts.headers).ok_or_else(|| {
            AppError::Unauthorized("send an API token (Authorization: Bearer) or log in".into())
        })?;
        // A browser sends the cookie wherever a page points it; a write to the JSON API on
        // the strength of the cookie alone also needs the session's CSRF token, which only
        // the site's own pages know. (The pages' own routes check it before their handlers.)
        let by_cookie = parts.headers.get(AUTHORIZATION).is_none();
        if by_cookie && parts.uri.path().starts_with("/api/") && !parts.method.is_safe() {
            let expected = crate::web::csrf::token(&credential);
            let presented = parts
                .headers
                .get(crate::web::csrf::HEADER)
                .and_then(|v| v.to_str().ok());
            if !presented.is_some_and(|p| crate::web::csrf::matches(p, &expected)) {
                return Err(AppError::Forbidden(format!(
                    "a change made with the session cookie needs the {} header from the site's pages; API clients use a token",
                    crate::web::csrf::HEADER
                )));
            }
        }
        let user = state
            .store
            .user_by_credential(&hash_secret(&credential), bulwark_store::now())
            .await?
            .ok_or_else(|| {
                AppError::Unauthorized("the token or session is unknown or expired".into())
            })?;
        let caller = Caller {
            scope: user.scope(),
            user,
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

/// A new session for a user name and password: the session secret for the cookie and the
/// user. Shared by the API's login and the web UI's login form.
pub async fn open_session(
    state: &AppState,
    username: &str,
    password: &str,
    source: &str,
) -> ApiResult<(User, String, i64)> {
    use crate::throttle::{PER_SOURCE, PER_USER, WINDOW_SECS};
    let now = bulwark_store::now();
    let p = state
        .store
        .login_pressure(username, source, now - WINDOW_SECS)
        .await?;
    let wait = PER_USER
        .wait_secs(p.user_failures, p.user_last, now)
        .max(PER_SOURCE.wait_secs(p.source_failures, p.source_last, now));
    if wait > 0 {
        let refusal = format!("too many failed logins; try again in {wait} s");
        crate::audit::login(state, username, None, source, Some(refusal.clone())).await;
        return Err(AppError::TooMany(refusal));
    }
    let found = state.store.user_by_name(username).await?;
    let user = match found {
        Some((user, phc)) if verify_password(password, &phc) => Some(user),
        Some(_) => None,
        None => {
            verify_password(password, &UNKNOWN_USER_HASH);
            None
        }
    };
    let Some(user) = user else {
        state
            .store
            .record_login_failure(username, source, now, now - WINDOW_SECS)
            .await?;
        tracing::info!(%username, %source, "login failed");
        crate::audit::login(
            state,
            username,
            None,
            source,
            Some("wrong user name or password".into()),
        )
        .await;
        return Err(AppError::Unauthorized("wrong user name or password".into()));
    };
    crate::audit::login(state, username, Some(&user), source, None).await;
    let session = new_secret("bws_");
    let expires_at = now + state.config.session_hours * 3600;
    state
        .store
        .add_credential(
            &user.id,
            &hash_secret(&session),
            CredentialKind::Session,
            "login",
            Some(expires_at),
        )
        .await?;
    Ok((user, session, expires_at))
}

/// Whether the browser reached the server over HTTPS: the server speaks plain HTTP, so that
/// is what a TLS-terminating proxy in front of it says (`X-Forwarded-Proto` or `Forwarded`).
/// A client that claims it falsely only makes its own cookie stricter.
pub fn over_https(headers: &HeaderMap) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    header("x-forwarded-proto").is_some_and(|p| p.trim() == "https")
        || header("forwarded")
            .is_some_and(|f| f.split([';', ',']).any(|part| part.trim() == "proto=https"))
}

/// The `Set-Cookie` value that carries a session (or, with `None`, ends it); `Secure` when
/// the browser came over HTTPS, so the cookie never travels in clear afterwards.
pub fn session_cookie(session: Option<&str>, hours: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = match session {
        Some(s) => format!(
            "{SESSION_COOKIE}={s}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
            hours * 3600
        ),
        None => {
            format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
        }
    };
    HeaderValue::from_str(&cookie).expect("session secrets are hex")
}

/// Ends the session in these headers' cookie, if any. An API token is not a session: it is
/// revoked through the token endpoints, never by logging out with it.
pub async fn close_session(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if let Some(credential) = session_of(headers) {
        state
            .store
            .delete_credential(&hash_secret(&credential))
            .await?;
    }
    Ok(())
}

pub async fn login(
    State(state): State<AppState>,
    Source(source): Source,
    request_headers: HeaderMap,
    Body(login): Body<Login>,
) -> ApiResult<impl IntoResponse> {
    let (user, session, expires_at) =
        open_session(&state, &login.username, &login.password, &source).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        session_cookie(
            Some(&session),
            state.config.session_hours,
            over_https(&request_headers),
        ),
    );
    Ok((headers, Json(LoggedIn { user, expires_at })))
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _: Caller,
) -> ApiResult<impl IntoResponse> {
    close_session(&state, &headers).await?;
    let mut out = HeaderMap::new();
    out.insert(SET_COOKIE, session_cookie(None, 0, over_https(&headers)));
    Ok((out, Json(LoggedOut { logged_out: true })))
}

pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        permissions: caller.user.role.permissions().to_vec(),
        user: caller.user,
    })
}
