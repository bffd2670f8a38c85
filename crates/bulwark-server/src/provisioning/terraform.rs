//! Terraform's side of the gate: run-task and notification deliveries (HMAC-SHA512 of the raw
//! body under the organization's key, compared in constant time), the machines a run
//! created (read from the workspace's state outputs), and the run task's callback.
//!
//! The machines convention: the workspace declares an output named `bulwark_machines`, a list
//! of objects with `address` and optionally `hostname`, `port`, `provider`, `project` and
//! `host_key` (see [`super::MachineEntry`]). After an apply, Bulwark reads it through
//! Terraform's API (`GET /api/v2/workspaces/{id}/current-state-version-outputs`) on the host
//! the delivery came from, with the organization's Terraform API token (or, for a run task
//! without one, the run's own token).

use bulwark_core::provisioning::ComplianceSettings;
use hmac::{Hmac, Mac};
use reqwest::Url;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha512;

use super::MachineEntry;
use crate::outbound::OutboundPolicy;

pub const RUN_TASK_SIGNATURE: &str = "x-tfc-task-signature";
pub const NOTIFICATION_SIGNATURE: &str = "x-tfe-notification-signature";
/// The workspace output that lists the machines a run created.
pub const MACHINES_OUTPUT: &str = "bulwark_machines";
/// The stage at which machines exist.
pub const POST_APPLY: &str = "post_apply";

/// Whether `signature` (hex) is the HMAC-SHA512 of `body` under `key`; compared in constant
/// time by the MAC itself.
pub fn signature_matches(key: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The signature Terraform sends: hex HMAC-SHA512 of the body.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A run task request, in HashiCorp's payload (version 1). Fields Bulwark does not use are
/// accepted and ignored: Terraform adds some over time.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct RunTaskRequest {
    pub payload_version: u32,
    pub stage: String,
    pub access_token: String,
    pub task_result_id: String,
    pub task_result_callback_url: String,
    pub run_id: String,
    #[serde(default)]
    pub organization_name: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub workspace_name: Option<String>,
    #[serde(default)]
    pub is_speculative: bool,
    #[serde(default)]
    pub run_app_url: Option<String>,
}

/// A notification delivery, in HashiCorp's payload (version 1).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct NotificationRequest {
    pub payload_version: u32,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub run_url: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub workspace_name: Option<String>,
    #[serde(default)]
    pub organization_name: Option<String>,
    pub notifications: Vec<NotificationEvent>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct NotificationEvent {
    #[serde(default)]
    pub message: Option<String>,
    pub trigger: String,
    #[serde(default)]
    pub run_status: Option<String>,
}

impl NotificationRequest {
    /// A completed apply: the run reached `applied`.
    pub fn applied(&self) -> bool {
        self.notifications
            .iter()
            .any(|n| n.trigger == "run:completed" && n.run_status.as_deref() == Some("applied"))
    }
}

/// Where Bulwark may call Terraform for this organization: public addresses only, unless an
/// administrator allowed private and loopback ones in the organization's settings (the
/// installation's webhook setting does not extend to Terraform).
pub fn callback_policy(settings: &ComplianceSettings) -> OutboundPolicy {
    OutboundPolicy {
        allow_private: settings.allow_insecure_callbacks,
    }
}

/// Checks a URL Terraform gave (callback, run page): a permitted address, and https unless
/// insecure callbacks are allowed.
pub fn check_terraform_url(settings: &ComplianceSettings, text: &str) -> Result<Url, String> {
    let url = callback_policy(settings).check_url(text)?;
    if url.scheme() != "https" && !settings.allow_insecure_callbacks {
        return Err(
            "Terraform is called over https only (an administrator can allow http in the compliance settings)"
                .into(),
        );
    }
    Ok(url)
}

#[derive(Deserialize)]
struct Outputs {
    data: Vec<OutputItem>,
}

#[derive(Deserialize)]
struct OutputItem {
    attributes: OutputAttributes,
}

#[derive(Deserialize)]
struct OutputAttributes {
    name: String,
    #[serde(default)]
    value: serde_json::Value,
}

/// Reads the workspace's `bulwark_machines` output through Terraform's API at `origin`.
pub async fn workspace_machines(
    client: &reqwest::Client,
    origin: &Url,
    workspace_id: &str,
    token: &str,
) -> Result<Vec<MachineEntry>, String> {
    if workspace_id.is_empty()
        || !workspace_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("{workspace_id:?} is not a workspace id"));
    }
    let url = origin
        .join(&format!(
            "/api/v2/workspaces/{workspace_id}/current-state-version-outputs"
        ))
        .map_err(|e| e.to_string())?;
    let response = client
        .get(url.clone())
        .bearer_auth(token)
        .header("accept", "application/vnd.api+json")
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| {
            format!(
                "Terraform's API at {} did not answer: {e}",
                url.origin().ascii_serialization()
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "Terraform's API answered {status} to the workspace's outputs (does the token may read them?)"
        ));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the workspace's outputs: {e}"))?;
    let outputs: Outputs = serde_json::from_slice(&body)
        .map_err(|e| format!("the workspace's outputs are not Terraform's output list: {e}"))?;
    let Some(found) = outputs
        .data
        .into_iter()
        .find(|o| o.attributes.name == MACHINES_OUTPUT)
    else {
        return Err(format!(
            "the workspace has no output named {MACHINES_OUTPUT}; declare it as a list of objects with an address (see the README's provisioning section)"
        ));
    };
    serde_json::from_value(found.attributes.value)
        .map_err(|e| format!("output {MACHINES_OUTPUT} is not a list of machines: {e}"))
}

/// The run task's result as Terraform takes it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskResult {
    pub status: CallbackStatus,
    pub message: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackStatus {
    Running,
    Passed,
    Failed,
}

impl CallbackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Running => "running",
            CallbackStatus::Passed => "passed",
            CallbackStatus::Failed => "failed",
        }
    }
}

/// PATCHes the run task's callback with a result.
pub async fn send_result(
    client: &reqwest::Client,
    callback: &str,
    token: &str,
    result: &TaskResult,
) -> Result<(), String> {
    // Terraform shows at most a short message in the run view.
    let message: String = result.message.chars().take(480).collect();
    let mut attributes = serde_json::json!({
        "status": result.status,
        "message": message,
    });
    if let Some(url) = &result.url {
        attributes["url"] = url.clone().into();
    }
    let body = serde_json::json!({"data": {"type": "task-results", "attributes": attributes}});
    let response = client
        .patch(callback)
        .bearer_auth(token)
        .header("content-type", "application/vnd.api+json")
        .timeout(std::time::Duration::from_secs(10))
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("the callback did not answer: {e}"))?;
    match response.status() {
        s if s.is_success() => Ok(()),
        s => Err(format!("the callback answered {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_the_exact_body_and_key() {
        let key = b"run-task-hmac-key";
        let body = br#"{"payload_version":1}"#;
        let good = sign(key, body);
        assert_eq!(good.len(), 128, "HMAC-SHA512 in hex");
        assert!(signature_matches(key, body, &good));
        assert!(signature_matches(key, body, &good.to_uppercase()));
        assert!(!signature_matches(b"another key", body, &good));
        assert!(!signature_matches(key, br#"{"payload_version":2}"#, &good));
        assert!(!signature_matches(key, body, &good[..64]));
        assert!(!signature_matches(key, body, "not hex"));
        assert!(!signature_matches(key, body, ""));
    }

    #[test]
    fn terraform_is_called_over_public_https_unless_allowed() {
        let strict = ComplianceSettings::default();
        let open = ComplianceSettings {
            allow_insecure_callbacks: true,
            ..ComplianceSettings::default()
        };
        for url in [
            "http://app.terraform.io/api/v2/task-results/x/callback",
            "https://127.0.0.1/api/v2/task-results/x/callback",
            "https://10.0.0.5/cb",
        ] {
            assert!(check_terraform_url(&strict, url).is_err(), "{url}");
        }
        assert!(
            check_terraform_url(
                &strict,
                "https://app.terraform.io/api/v2/task-results/x/callback"
            )
            .is_ok()
        );
        assert!(check_terraform_url(&open, "http://127.0.0.1:9000/cb").is_ok());
    }
}
