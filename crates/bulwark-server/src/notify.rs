//! Notifications after a scan: a score below the warning threshold (70 by default) is a
//! warning, below the critical threshold (50) critical. They are stored, listed at
//! `/api/v1/notifications`, and posted to the organization's webhooks — only URLs an admin
//! configured — as JSON signed with HMAC-SHA256, with a timeout per attempt and a bounded
//! number of attempts, in the background so that ingest never waits for a slow receiver.

use std::time::Duration;

use bulwark_store::{Notification, Scan, Scope, StoreError, Webhook};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::AppState;

/// Header carrying `sha256=HEX` of the HMAC of `TIMESTAMP.BODY` under the webhook's secret.
pub const SIGNATURE_HEADER: &str = "x-bulwark-signature";
pub const TIMESTAMP_HEADER: &str = "x-bulwark-timestamp";
const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(5);

/// The signature a receiver recomputes to trust a delivery.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts one notification to one webhook; returns the attempts made and whether one succeeded.
pub async fn deliver(
    client: &reqwest::Client,
    hook: &Webhook,
    event: &str,
    n: &Notification,
) -> (u32, bool) {
    let body = serde_json::to_vec(&serde_json::json!({ "event": event, "notification": n }))
        .expect("a notification serializes");
    for attempt in 1..=ATTEMPTS {
        let ts = bulwark_store::now();
        let sent = client
            .post(&hook.url)
            .timeout(TIMEOUT)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sign(&hook.secret, ts, &body))
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return (attempt, true),
            Ok(r) => {
                tracing::warn!(webhook = %hook.id, status = %r.status(), attempt, "webhook refused the notification")
            }
            Err(e) => {
                tracing::warn!(webhook = %hook.id, error = %e, attempt, "webhook unreachable")
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
    }
    (ATTEMPTS, false)
}

/// The level a score earns, if any.
pub fn level(score: Option<f64>, warning_below: f64, critical_below: f64) -> Option<&'static str> {
    match score? {
        s if s < critical_below => Some("critical"),
        s if s < warning_below => Some("warning"),
        _ => None,
    }
}

pub async fn after_scan(state: &AppState, scan: &Scan) -> Result<(), StoreError> {
    let Some(level) = level(
        scan.score,
        state.config.warning_below,
        state.config.critical_below,
    ) else {
        return Ok(());
    };
    let n = Notification {
        id: bulwark_store::new_id(),
        org_id: scan.org_id.clone(),
        host_id: Some(scan.host_id.clone()),
        scan_id: Some(scan.id.clone()),
        level: level.into(),
        message: format!(
            "{} scored {:.1}% on {} ({} failed checks)",
            scan.hostname,
            scan.score.unwrap_or_default(),
            scan.template_name,
            scan.failed
        ),
        created_at: bulwark_store::now(),
    };
    publish(state, "compliance.score_low", n).await
}

/// A provisioned machine failed the blocking rules in warn mode: recorded and sent, never
/// enforced.
pub async fn provisioning_warning(
    state: &AppState,
    vm: &bulwark_store::ProvisionedVm,
    reason: &str,
) -> Result<(), StoreError> {
    let n = Notification {
        id: bulwark_store::new_id(),
        org_id: vm.org_id.clone(),
        host_id: vm.host_id.clone(),
        scan_id: vm.scan_id.clone(),
        level: "warning".into(),
        message: format!(
            "provisioned machine {} ({}) would be blocked from handover: {reason} (warn mode: not enforced)",
            vm.hostname, vm.address
        ),
        created_at: bulwark_store::now(),
    };
    publish(state, "provisioning.warning", n).await
}

/// Stores a notification and posts it to the organization's webhooks in the background.
async fn publish(state: &AppState, event: &'static str, n: Notification) -> Result<(), StoreError> {
    state.store.add_notification(&n).await?;
    let hooks = state.store.list_webhooks(&Scope::All, &n.org_id).await?;
    if !hooks.is_empty() {
        let client = state.http.clone();
        tokio::spawn(async move {
            for hook in hooks {
                deliver(&client, &hook, event, &n).await;
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn levels_follow_the_thresholds() {
        for (score, want) in [
            (None, None),
            (Some(100.0), None),
            (Some(70.0), None),
            (Some(69.99), Some("warning")),
            (Some(50.0), Some("warning")),
            (Some(49.9), Some("critical")),
            (Some(0.0), Some("critical")),
        ] {
            assert_eq!(super::level(score, 70.0, 50.0), want, "{score:?}");
        }
    }
}
