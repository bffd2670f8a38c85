//! Notifications after a scan: a score below the warning threshold (70 by default) is a
//! warning, below the critical threshold (50) critical. They are stored and listed at
//! `/api/v1/notifications`.

use bulwark_store::{Notification, Scan, StoreError};

use crate::AppState;

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
    state.store.add_notification(&n).await
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
