//! Small answer bodies shared by several endpoints, typed so that the API document can
//! describe them.

use std::collections::BTreeMap;

use bulwark_store::{Host, Org, TemplateCheck, TemplateSummary, User, Webhook};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
pub struct Deleted {
    /// The id (or name) of what was removed.
    pub deleted: String,
}

#[derive(Serialize, JsonSchema)]
pub struct HostDetail {
    pub host: Host,
    /// Every inventory category (see `/api/v1/hosts/{id}/{category}`); `null` when the agent
    /// has not sent it yet.
    pub inventory: BTreeMap<String, Option<serde_json::Value>>,
}

#[derive(Serialize, JsonSchema)]
pub struct Membership {
    pub group_id: String,
    pub host_id: String,
}

#[derive(Serialize, JsonSchema)]
pub struct OrgCreated {
    pub org: Org,
    /// Shown once; the server keeps only its hash.
    pub enrollment_secret: String,
}

#[derive(Serialize, JsonSchema)]
pub struct SecretRotated {
    pub org_id: String,
    /// Shown once; the previous secret no longer enrolls agents.
    pub enrollment_secret: String,
}

#[derive(Serialize, JsonSchema)]
pub struct WebhookCreated {
    pub webhook: Webhook,
    /// The HMAC key for `x-bulwark-signature`; shown once.
    pub signing_secret: String,
}

#[derive(Serialize, JsonSchema)]
pub struct FlagDeleted {
    pub deleted: String,
    /// `null` for the account-wide flag.
    pub org_id: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct TemplateDetail {
    pub template: TemplateSummary,
    pub checks: Vec<TemplateCheck>,
}

#[derive(Serialize, JsonSchema)]
pub struct Toggled {
    /// Checks whose enabled flag changed.
    pub changed: u64,
    pub enabled: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct LoggedIn {
    pub user: User,
    pub expires_at: i64,
}

#[derive(Serialize, JsonSchema)]
pub struct LoggedOut {
    pub logged_out: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct Me {
    pub user: User,
    pub permissions: Vec<bulwark_core::Permission>,
}
