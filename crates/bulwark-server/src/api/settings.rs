//! Settings: organizations and their enrollment secrets, users and roles, webhooks, and the
//! notification list.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::Role;
use bulwark_store::{Notification, Org, User, Webhook};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{self, Caller};
use crate::body::Body;
use crate::error::{ApiResult, AppError};

pub async fn notifications(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<Notification>>> {
    Ok(Json(s.store.list_notifications(&caller.scope, 200).await?))
}

pub async fn list_orgs(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Org>>> {
    Ok(Json(s.store.list_orgs(&caller.scope).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgBody {
    name: String,
}

/// Creates an organization. Its enrollment secret is in this answer and nowhere else.
pub async fn create_org(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<OrgBody>,
) -> ApiResult<Json<Value>> {
    if caller.scope != bulwark_store::Scope::All {
        return Err(AppError::Forbidden(
            "only account-wide administrators create organizations".into(),
        ));
    }
    if b.name.trim().is_empty() {
        return Err(AppError::invalid("name", "name must not be empty"));
    }
    let secret = auth::new_secret("bwe_");
    let org = s
        .store
        .create_org(b.name.trim(), &auth::hash_secret(&secret))
        .await?;
    Ok(Json(json!({ "org": org, "enrollment_secret": secret })))
}

pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let secret = auth::new_secret("bwe_");
    s.store
        .set_org_secret(&caller.scope, &id, &auth::hash_secret(&secret))
        .await?;
    Ok(Json(json!({ "org_id": id, "enrollment_secret": secret })))
}

pub async fn list_webhooks(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(s.store.list_webhooks(&caller.scope, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    url: String,
}

pub async fn add_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<WebhookBody>,
) -> ApiResult<Json<Value>> {
    if !(b.url.starts_with("https://") || b.url.starts_with("http://")) {
        return Err(AppError::invalid(
            "url",
            "url must be an http:// or https:// address",
        ));
    }
    let secret = auth::new_secret("bwh_");
    let hook = s
        .store
        .add_webhook(&caller.scope, &id, &b.url, &secret)
        .await?;
    Ok(Json(json!({ "webhook": hook, "signing_secret": secret })))
}

pub async fn list_users(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.store.list_users(&caller.scope).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    username: String,
    password: String,
    role: String,
    /// Organizations the user sees; omitted: the caller's only organization.
    org_ids: Option<Vec<String>>,
}

pub async fn create_user(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<UserBody>,
) -> ApiResult<Json<User>> {
    let role = Role::parse(&b.role).ok_or_else(|| {
        AppError::invalid("role", "role must be viewer, user, provisioner or admin")
    })?;
    if b.username.trim().is_empty() {
        return Err(AppError::invalid("username", "username must not be empty"));
    }
    if b.password.chars().count() < 12 {
        return Err(AppError::invalid(
            "password",
            "password must have at least 12 characters",
        ));
    }
    let orgs = match b.org_ids {
        Some(orgs) => orgs,
        None => vec![caller.org_for(None)?],
    };
    if orgs.is_empty() {
        return Err(AppError::invalid(
            "org_ids",
            "a user needs at least one organization",
        ));
    }
    for org in &orgs {
        s.store.get_org(&caller.scope, org).await?;
    }
    let hash = auth::hash_password(&b.password)?;
    Ok(Json(
        s.store
            .create_user(b.username.trim(), &hash, role, Some(&orgs))
            .await?,
    ))
}
