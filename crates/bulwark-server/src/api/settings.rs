//! Settings: organizations and their enrollment secrets, users and roles, webhooks, the
//! notification list and the agent feature flags (kill switch).

use axum::Json;
use axum::extract::{Path, State};
use bulwark_core::Role;
use bulwark_protocol::wire::FEATURES;
use bulwark_store::{FeatureFlag, Notification, Org, User, Webhook};
use schemars::JsonSchema;
use serde::Deserialize;

use super::answers::{FlagDeleted, OrgCreated, SecretRotated, WebhookCreated};
use crate::AppState;
use crate::auth::{self, Caller};
use crate::body::{Body, Params};
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgBody {
    name: String,
}

/// Creates an organization. Its enrollment secret is in this answer and nowhere else.
pub async fn create_org(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<OrgBody>,
) -> ApiResult<Json<OrgCreated>> {
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
    Ok(Json(OrgCreated {
        org,
        enrollment_secret: secret,
    }))
}

pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SecretRotated>> {
    let secret = auth::new_secret("bwe_");
    s.store
        .set_org_secret(&caller.scope, &id, &auth::hash_secret(&secret))
        .await?;
    Ok(Json(SecretRotated {
        org_id: id,
        enrollment_secret: secret,
    }))
}

pub async fn list_webhooks(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(s.store.list_webhooks(&caller.scope, &id).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    url: String,
}

pub async fn add_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<WebhookBody>,
) -> ApiResult<Json<WebhookCreated>> {
    s.config
        .outbound
        .check_url(&b.url)
        .map_err(|why| AppError::invalid("url", why))?;
    let secret = auth::new_secret("bwh_");
    let hook = s
        .store
        .add_webhook(&caller.scope, &id, &b.url, &secret)
        .await?;
    Ok(Json(WebhookCreated {
        webhook: hook,
        signing_secret: secret,
    }))
}

pub async fn list_users(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.store.list_users(&caller.scope).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    username: String,
    password: String,
    role: String,
    /// Organizations the user sees; omitted: the caller's only organization.
    org_ids: Option<Vec<String>>,
    /// An account-wide user, who sees every organization (only an account-wide caller may
    /// create one).
    #[serde(default)]
    all_orgs: bool,
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
    if b.all_orgs {
        if caller.scope != bulwark_store::Scope::All {
            return Err(AppError::Forbidden(
                "only an account-wide user can create another account-wide user".into(),
            ));
        }
        if b.org_ids.as_ref().is_some_and(|o| !o.is_empty()) {
            return Err(AppError::invalid(
                "org_ids",
                "an account-wide user sees every organization; leave org_ids out",
            ));
        }
        let hash = auth::hash_password(&b.password)?;
        return Ok(Json(
            s.store
                .create_user(b.username.trim(), &hash, role, None)
                .await?,
        ));
    }
    let orgs = match b.org_ids {
        Some(orgs) => orgs,
        None => vec![caller.org_for(&s.store, None).await?],
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

pub async fn list_flags(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<FeatureFlag>>> {
    Ok(Json(s.store.list_feature_flags(&caller.scope).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagBody {
    /// Absent or empty: account-wide.
    #[serde(default)]
    org_id: Option<String>,
    feature: String,
    enabled: bool,
}

fn known_feature(feature: &str) -> ApiResult<()> {
    if FEATURES.contains(&feature) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "feature",
            format!(
                "unknown feature {feature:?}; known: {}",
                FEATURES.join(", ")
            ),
        ))
    }
}

pub async fn set_flag(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<FlagBody>,
) -> ApiResult<Json<FeatureFlag>> {
    known_feature(&b.feature)?;
    let org = b.org_id.as_deref().filter(|o| !o.is_empty());
    Ok(Json(
        s.store
            .set_feature_flag(&caller.scope, org, &b.feature, b.enabled)
            .await?,
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagQuery {
    #[serde(default)]
    org_id: Option<String>,
    feature: String,
}

pub async fn delete_flag(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<FlagQuery>,
) -> ApiResult<Json<FlagDeleted>> {
    known_feature(&q.feature)?;
    let org = q.org_id.as_deref().filter(|o| !o.is_empty());
    s.store
        .delete_feature_flag(&caller.scope, org, &q.feature)
        .await?;
    Ok(Json(FlagDeleted {
        deleted: q.feature,
        org_id: org.map(str::to_owned),
    }))
}
