//! Settings: organizations and their enrollment secrets, users and roles, webhooks. Secrets
//! are shown once, in the page that made them, and never again.

use askama::Template;
use axum::extract::{Path, State};
use bulwark_store::{Org, User, Webhook};

use crate::AppState;
use crate::api::settings::{self, FlagBody, OrgBody, UserBody, WebhookBody};
use crate::auth::Caller;
use crate::body::Body;
use crate::error::AppError;
use crate::web::fmt;
use crate::web::form::{Done, Form, Outcome, go_to};
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};

struct OrgView {
    org: Org,
    webhooks: Vec<Webhook>,
    /// Each agent feature with whether it is on for this organization, and whether the
    /// organization's own flag (rather than the account-wide one or the default) says so.
    features: Vec<(&'static str, bool, bool)>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    orgs: Vec<OrgView>,
    users: Vec<User>,
    account_wide: bool,
}

impl SettingsPage {
    fn org_names(&self, user: &User) -> String {
        if user.all_orgs {
            return "every organization".into();
        }
        user.orgs
            .iter()
            .map(|id| {
                self.orgs
                    .iter()
                    .find(|o| &o.org.id == id)
                    .map_or(id.as_str(), |o| o.org.name.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub async fn page(State(s): State<AppState>, caller: Caller, chrome: Chrome) -> PageResult {
    let orgs = settings::list_orgs(State(s.clone()), caller.clone())
        .await
        .or_page(&chrome)?
        .0;
    let mut views = Vec::new();
    for org in orgs {
        let webhooks = s
            .store
            .list_webhooks(&caller.scope, &org.id)
            .await
            .or_page(&chrome)?;
        let flags = s.store.feature_flags_for(&org.id).await.or_page(&chrome)?;
        let features = bulwark_protocol::wire::FEATURES
            .iter()
            .map(|feature| {
                // Account-wide rows come first; the organization's own overrides them.
                let flag = flags.iter().rfind(|f| f.feature == *feature);
                (
                    *feature,
                    flag.is_none_or(|f| f.enabled),
                    flag.is_some_and(|f| f.org_id == org.id),
                )
            })
            .collect();
        views.push(OrgView {
            org,
            webhooks,
            features,
        });
    }
    let users = settings::list_users(State(s.clone()), caller.clone())
        .await
        .or_page(&chrome)?
        .0;
    Ok(render_html(&SettingsPage {
        chrome,
        orgs: views,
        users,
        account_wide: caller.scope == bulwark_store::Scope::All,
    }))
}

/// A secret shown once, with what it is for.
#[derive(Template)]
#[template(path = "secret.html")]
struct SecretShown<'a> {
    heading: &'a str,
    secret: &'a str,
    note: &'a str,
}

fn show_secret(heading: &str, secret: &str, note: &str) -> Outcome {
    let html = SecretShown {
        heading,
        secret,
        note,
    }
    .render()
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Done::Show(html))
}

pub async fn create_org(
    State(s): State<AppState>,
    caller: Caller,
    Form(b): Form<OrgBody>,
) -> Outcome {
    let created = settings::create_org(State(s), caller, Body(b)).await?.0;
    show_secret(
        &format!("Organization {} created", created.org.name),
        &created.enrollment_secret,
        "Agents enroll with this secret (bulwark-agent install --org-secret …). Copy it now: it is not shown again. Reload the page to see the organization in the list.",
    )
}

pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Outcome {
    let rotated = settings::rotate_secret(State(s), caller, Path(id)).await?.0;
    show_secret(
        "New enrollment secret",
        &rotated.enrollment_secret,
        "The previous secret no longer enrolls agents; agents already enrolled keep working. Copy it now: it is not shown again.",
    )
}

pub async fn add_webhook(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(b): Form<WebhookBody>,
) -> Outcome {
    let created = settings::add_webhook(State(s), caller, Path(id), Body(b))
        .await?
        .0;
    show_secret(
        &format!("Webhook to {} added", created.webhook.url),
        &created.signing_secret,
        "Deliveries are signed with this key (x-bulwark-signature, HMAC-SHA256). Copy it now: it is not shown again.",
    )
}

pub async fn create_user(
    State(s): State<AppState>,
    caller: Caller,
    Form(b): Form<UserBody>,
) -> Outcome {
    let _ = settings::create_user(State(s), caller, Body(b)).await?;
    go_to("/settings")
}

pub async fn set_flag(
    State(s): State<AppState>,
    caller: Caller,
    Form(b): Form<FlagBody>,
) -> Outcome {
    let _ = settings::set_flag(State(s), caller, Body(b)).await?;
    go_to("/settings")
}
