//! The scheduler: every tick (30 minutes by default) the replica that holds the `scheduler`
//! lease expires exceptions, fails jobs that agents never finished and, for each active policy, creates scans for the hosts that are
//! due — at most `sweep_limit` per policy and tick. The lease is judged by the database clock,
//! so with several replicas exactly one does the work of a tick.

use std::collections::HashMap;
use std::time::Duration;

use bulwark_store::{NewScan, Policy, ScheduleType, Scope, TemplateSummary};
use croner::Cron;

use crate::AppState;
use crate::error::{ApiResult, AppError};

pub const LEASE: &str = "scheduler";

/// What one tick did; `None` when another replica holds the lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TickReport {
    pub scans_created: usize,
    pub exceptions_expired: u64,
    /// Jobs delivered `max_deliveries` times without a result: failed with their scans.
    pub jobs_abandoned: u64,
}

/// The cut-off for "due": hosts whose last completed scan is at or before it need a scan.
/// `None` for manual policies, which only run on demand.
pub fn due_before(policy: &Policy, now: i64) -> ApiResult<Option<i64>> {
    match policy.schedule_type {
        ScheduleType::Manual => Ok(None),
        ScheduleType::Scheduled => {
            let expr = policy.cron.as_deref().unwrap_or_default();
            let cron = parse_cron(expr).map_err(|m| AppError::invalid("cron", m))?;
            Ok(last_fire_before(&cron, now))
        }
        ScheduleType::Continuous => Ok(Some(now - policy.interval_hours * 3600)),
    }
}

pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    expr.parse::<Cron>()
        .map_err(|e| format!("cron expression {expr:?} does not parse: {e}"))
}

/// A scheduled policy obeys the interval rule of every policy: its firings are at least
/// `min_hours` and at most `max_hours` apart. Checked over a year of firings from a fixed
/// date, which covers every period a five-field expression can have but leap days.
pub fn check_cron_interval(cron: &Cron, min_hours: i64, max_hours: i64) -> Result<(), String> {
    const HOUR: i64 = 3600;
    let start = chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("2026-01-01 is a time"); // 2026-01-01T00:00Z
    let horizon = start.timestamp() + 400 * 24 * HOUR;
    let mut previous: Option<i64> = None;
    for fire in cron.iter_after(start).take(2000) {
        let at = fire.timestamp();
        if let Some(before) = previous {
            let gap = at - before;
            if gap < min_hours * HOUR {
                return Err(format!(
                    "cron {:?} fires {} apart; scans may run at most once every {min_hours} hours",
                    cron.pattern.to_string(),
                    words(gap)
                ));
            }
            if gap > max_hours * HOUR {
                return Err(format!(
                    "cron {:?} leaves {} between scans; scans must run at least every {max_hours} hours",
                    cron.pattern.to_string(),
                    words(gap)
                ));
            }
        }
        if at > horizon {
            return Ok(());
        }
        previous = Some(at);
    }
    match previous {
        None => Err(format!("cron {:?} never fires", cron.pattern.to_string())),
        Some(_) => Ok(()),
    }
}

fn words(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 48 * 3600 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// The latest time at or before `now` that the expression fires.
pub(crate) fn last_fire_before(cron: &Cron, now: i64) -> Option<i64> {
    let now = chrono::DateTime::from_timestamp(now, 0)?;
    cron.find_previous_occurrence(&now, true)
        .ok()
        .map(|t| t.timestamp())
}

pub async fn tick(state: &AppState) -> ApiResult<Option<TickReport>> {
    tick_at(state, bulwark_store::now()).await
}

/// One tick as of `now` (Unix seconds): exceptions expire and scans fall due by this time.
pub async fn tick_at(state: &AppState, now: i64) -> ApiResult<Option<TickReport>> {
    let ttl = state.config.scheduler_interval.as_secs() as i64;
    if !state
        .store
        .try_lease(LEASE, &state.config.replica_id, ttl.max(1))
        .await?
    {
        return Ok(None);
    }
    let mut report = TickReport {
        exceptions_expired: state.store.expire_exceptions(now).await?,
        jobs_abandoned: state
            .store
            .abandon_jobs(now, state.config.max_deliveries)
            .await?,
        ..Default::default()
    };
    // Templates looked up once per tick; a policy may name one for each of thousands of hosts.
    let mut templates: HashMap<String, Option<TemplateSummary>> = HashMap::new();
    let mut chooser = crate::api::policies::TemplateChooser::new(state);
    for policy in state.store.active_policies().await? {
        let before = match due_before(&policy, now) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(policy = %policy.id, error = %e, "policy skipped by the scheduler");
                continue;
            }
        };
        for host in state
            .store
            .hosts_due(&policy, before, now, state.config.sweep_limit)
            .await?
        {
            let Some(template_id) = chooser.template_for(&policy, &host).await? else {
                tracing::debug!(policy = %policy.id, host = %host.id, os = %host.os_kind,
                    "no shipped template of the policy's level for the host's OS");
                continue;
            };
            if !templates.contains_key(&template_id) {
                let found = match state.store.get_template(&Scope::All, &template_id).await {
                    Ok(t) => Some(t),
                    Err(bulwark_store::StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                };
                templates.insert(template_id.clone(), found);
            }
            let refusal = match &templates[&template_id] {
                None => Some("the template no longer exists".to_owned()),
                Some(t) if t.os_kind != host.os_kind => Some(format!(
                    "template {} is written for {}, the host runs {}",
                    t.name, t.os_kind, host.os_kind
                )),
                Some(t) if !t.active => Some(format!("template {} is inactive", t.name)),
                Some(_) => None,
            };
            if let Some(why) = refusal {
                // A scan that cannot judge the host would only score nothing; say why instead.
                tracing::warn!(policy = %policy.id, host = %host.id, reason = %why, "scheduled scan not created");
                continue;
            }
            state
                .store
                .create_scan(
                    &Scope::All,
                    &NewScan {
                        org_id: policy.org_id.clone(),
                        host_id: host.id.clone(),
                        policy_id: Some(policy.id.clone()),
                        template_id,
                        trigger_kind: bulwark_store::TriggerKind::Scheduled,
                        passing_threshold: policy.passing_threshold,
                        created_at: None,
                    },
                )
                .await?;
            state.jobs_ready(&host.id);
            report.scans_created += 1;
        }
    }
    tracing::debug!(
        scans = report.scans_created,
        expired = report.exceptions_expired,
        "scheduler tick"
    );
    Ok(Some(report))
}

/// Runs ticks forever at the configured interval.
pub async fn run(state: AppState) {
    let mut interval =
        tokio::time::interval(state.config.scheduler_interval.max(Duration::from_secs(1)));
    loop {
        interval.tick().await;
        if let Err(e) = tick(&state).await {
            tracing::error!(error = %e, "scheduler tick failed");
        }
    }
}

/// How often jobs past their deadline are expired: an operator waiting on an action for an
/// offline host learns within seconds of the deadline, not at the next scheduler tick.
pub const EXPIRY_INTERVAL: Duration = Duration::from_secs(5);

/// Expires jobs past their deadline, on every replica: the update is conditional, so two
/// replicas expiring the same job write it once.
pub async fn expire_jobs(state: AppState) {
    let mut interval = tokio::time::interval(EXPIRY_INTERVAL);
    loop {
        interval.tick().await;
        match state.store.expire_jobs(bulwark_store::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "jobs expired at their deadline"),
            Err(e) => tracing::error!(error = %e, "expiring jobs failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(schedule: &str, cron: Option<&str>) -> Policy {
        Policy {
            schedule_type: schedule.parse().unwrap(),
            cron: cron.map(Into::into),
            ..Policy::draft("o", "n", bulwark_core::OsKind::Linux, "t")
        }
    }

    #[test]
    fn due_cut_off_per_schedule_type() {
        let now = 1_800_000_000; // 2027-01-15T08:00:00Z
        let cases = [
            (policy("continuous", None), Some(now - 24 * 3600)),
            (policy("manual", None), None),
            // Daily at 02:00 UTC: the last firing is 6 hours before now.
            (policy("scheduled", Some("0 2 * * *")), Some(now - 6 * 3600)),
        ];
        for (p, want) in cases {
            assert_eq!(due_before(&p, now).unwrap(), want, "{}", p.schedule_type);
        }
        assert!(matches!(
            due_before(&policy("scheduled", Some("every day")), now),
            Err(e) if e.field() == Some("cron")
        ));
    }

    #[test]
    fn cron_firings_obey_the_interval_rule() {
        let cases = [
            ("0 2 * * *", Ok(())),
            ("30 23 * * 1", Ok(())),
            ("0 2 * * 1-5", Ok(())),
            ("0 2 * * 1,4", Ok(())),
            ("* * * * *", Err("fires 1 minutes apart")),
            ("0 */12 * * *", Err("fires 12 hours apart")),
            ("0 2 * * 1,2", Ok(())),
            ("0 2,3 * * *", Err("fires 1 hours apart")),
            ("0 2 1 * *", Err("days between scans")),
            ("0 2 * * 0", Ok(())),
            ("0 0 1 1 *", Err("365 days between scans")),
        ];
        for (expr, want) in cases {
            let got = check_cron_interval(&parse_cron(expr).unwrap(), 24, 168);
            match (want, got) {
                (Ok(()), Ok(())) => {}
                (Err(part), Err(message)) => {
                    assert!(message.contains(part), "{expr}: {message}");
                }
                (want, got) => panic!("{expr}: want {want:?}, got {got:?}"),
            }
        }
    }
}
