//! Ingest of a scan's results, in the first seed's order: the agent's per-check outcomes
//! (already resolved for the host's distro and version), then the server-evaluated checks
//! from the host's inventory, then exceptions (host, then group with its parents, then
//! organization) turning failures into `waived`, then scores. The store writes it all in one
//! transaction, idempotently on the scan id.

use std::collections::HashMap;

use bulwark_core::template::Resolved;
use bulwark_core::{CheckOutcome, HostOs, OsKind, ScoreSummary, Status};
use bulwark_store::{Completion, Exception, ScanResult, Scope, TemplateCheck};

use crate::AppState;
use crate::error::{ApiResult, AppError};
use crate::notify;
use crate::server_checks::{self, Inventory};

pub use bulwark_protocol::wire::AgentResult;

/// Joins the agent's outcomes with the template's enabled checks. A check the agent did not
/// report is `error`; outcomes for checks the template does not have are ignored.
pub fn join_results(checks: &[TemplateCheck], reported: Vec<AgentResult>) -> Vec<ScanResult> {
    let mut by_id: HashMap<String, CheckOutcome> = reported
        .into_iter()
        .map(|r| (r.check_id, r.outcome))
        .collect();
    checks
        .iter()
        .filter(|c| c.enabled)
        .map(|c| {
            let outcome = by_id.remove(&c.check.id).unwrap_or_else(|| {
                let why = if c.check.runs_commands() {
                    crate::commands::HELD_BACK
                } else {
                    "the agent sent no result for this check"
                };
                CheckOutcome::error(expected_of(c), why)
            });
            let outcome = bound_evidence(outcome);
            // The agent never waives: only the server applies exceptions.
            let outcome = if outcome.status == Status::Waived {
                CheckOutcome {
                    status: Status::Fail,
                    ..outcome
                }
            } else {
                outcome
            };
            ScanResult {
                check_id: c.check.id.clone(),
                title: c.check.title.clone(),
                category: c.check.category.clone(),
                severity: c.check.severity,
                outcome,
            }
        })
        .collect()
}

/// The longest evidence text (actual, expected, reason) kept per result: enough for a file's
/// offending lines, and a bound on what a compromised agent can make the server store.
pub const MAX_EVIDENCE_CHARS: usize = 4096;

/// An agent's outcome with each text cut to [`MAX_EVIDENCE_CHARS`], saying where it was cut;
/// a result that is not a verdict always says why, even when the agent did not.
fn bound_evidence(outcome: CheckOutcome) -> CheckOutcome {
    fn cut(text: String) -> String {
        match text.char_indices().nth(MAX_EVIDENCE_CHARS) {
            Some((at, _)) => format!("{} … (cut at {MAX_EVIDENCE_CHARS} characters)", &text[..at]),
            None => text,
        }
    }
    let verdict = matches!(outcome.status, Status::Pass | Status::Fail);
    let reason = match outcome.reason.filter(|r| !r.trim().is_empty()) {
        None if !verdict => Some(format!(
            "the agent reported {} without saying why",
            outcome.status.as_str()
        )),
        reason => reason,
    };
    CheckOutcome {
        actual: outcome.actual.map(cut),
        expected: cut(outcome.expected),
        reason: reason.map(cut),
        ..outcome
    }
}

fn expected_of(c: &TemplateCheck) -> String {
    bulwark_core::Check::describe_expectation(&c.check.probe, c.check.expect.as_ref())
}

/// Which exception waives a failure of `check_id` on this host, looking at host-scoped
/// exceptions first, then the host's groups (with their parents), then organization-wide.
pub fn matching_exception<'a>(
    exceptions: &'a [Exception],
    check_id: &str,
    host_id: &str,
    groups: &[String],
) -> Option<&'a Exception> {
    let for_rule = || exceptions.iter().filter(move |x| x.rule_id == check_id);
    for_rule()
        .find(|x| x.host_id.as_deref() == Some(host_id))
        .or_else(|| for_rule().find(|x| x.group_id.as_ref().is_some_and(|g| groups.contains(g))))
        .or_else(|| for_rule().find(|x| x.host_id.is_none() && x.group_id.is_none()))
}

/// Marks failed results covered by an exception as `waived`, saying which exception.
pub fn apply_exceptions(
    results: &mut [ScanResult],
    exceptions: &[Exception],
    host_id: &str,
    groups: &[String],
) {
    for r in results
        .iter_mut()
        .filter(|r| r.outcome.status == Status::Fail)
    {
        if let Some(x) = matching_exception(exceptions, &r.check_id, host_id, groups) {
            let scope = match (&x.host_id, &x.group_id) {
                (Some(_), _) => "host",
                (None, Some(_)) => "host group",
                (None, None) => "organization",
            };
            r.outcome.status = Status::Waived;
            r.outcome.reason = Some(format!(
                "waived by {scope} exception {}: {}",
                x.id, x.reason
            ));
        }
    }
}

/// The host's operating system as overrides see it.
pub fn host_os(host: &bulwark_store::Host) -> HostOs {
    HostOs {
        kind: host.os_kind,
        id: host.os_id.clone(),
        id_like: vec![],
        version_id: host.os_version.clone(),
        pretty_name: String::new(),
    }
}

/// Replaces the outcome of each server-evaluated check (after the host's overrides pick its
/// probe) with the server's own evaluation from the inventory.
pub fn apply_server_checks(
    results: &mut [ScanResult],
    checks: &[TemplateCheck],
    template_os: &str,
    host: &HostOs,
    inventory: &Inventory,
) {
    let template_os = OsKind::parse(template_os).unwrap_or(OsKind::Linux);
    for r in results.iter_mut() {
        let Some(c) = checks.iter().find(|c| c.check.id == r.check_id) else {
            continue;
        };
        if !c.check.probe.server_evaluated()
            && !c
                .check
                .overrides
                .iter()
                .any(|o| o.probe.as_ref().is_some_and(|p| p.server_evaluated()))
        {
            continue;
        }
        r.outcome = match c.check.resolve(template_os, host) {
            Resolved::NotApplicable(reason) => CheckOutcome::skip(expected_of(c), reason),
            Resolved::Run { probe, .. } => match server_checks::evaluate(probe, inventory) {
                Some(outcome) => outcome,
                None => continue,
            },
        };
    }
}

async fn inventory_of<T: serde::de::DeserializeOwned>(
    state: &AppState,
    host_id: &str,
    category: &str,
) -> ApiResult<Option<T>> {
    match state.store.inventory(host_id, category).await? {
        None => Ok(None),
        Some(v) => serde_json::from_value(v).map(Some).map_err(|e| {
            AppError::Internal(format!(
                "stored {category} inventory of host {host_id} does not parse: {e}"
            ))
        }),
    }
}

pub fn summarize(results: &[ScanResult]) -> ScoreSummary {
    ScoreSummary::from_results(results.iter().map(|r| (r.severity, r.outcome.status)))
}

/// Finishes a scan with the agent's results. Retrying with the same scan id is harmless.
pub async fn submit(
    state: &AppState,
    scan_id: &str,
    reported: Vec<AgentResult>,
) -> ApiResult<Completion> {
    let store = &state.store;
    let scan = store.get_scan(&Scope::All, scan_id).await?;
    if scan.status.is_final() {
        return Ok(Completion::AlreadyFinished);
    }
    let template = store.get_template(&Scope::All, &scan.template_id).await?;
    let checks = state.checks.checks(store.as_ref(), &template).await?;
    let mut results = join_results(&checks, reported);
    // The inventory and the host's groups are read only when something needs them.
    let needs_inventory = checks.iter().any(|c| {
        c.enabled
            && (c.check.probe.server_evaluated()
                || c.check
                    .overrides
                    .iter()
                    .any(|o| o.probe.as_ref().is_some_and(|p| p.server_evaluated())))
    });
    if needs_inventory {
        let host = store.get_host(&Scope::All, &scan.host_id).await?;
        let inventory = Inventory {
            software: inventory_of(state, &host.id, server_checks::SOFTWARE).await?,
            services: inventory_of(state, &host.id, server_checks::SERVICES).await?,
        };
        apply_server_checks(
            &mut results,
            &checks,
            template.os_kind.as_str(),
            &host_os(&host),
            &inventory,
        );
    }
    let now = bulwark_store::now();
    let exceptions = store.active_exceptions(&scan.org_id, now).await?;
    let groups = if exceptions.iter().any(|x| x.group_id.is_some()) {
        store.groups_of_host(&scan.host_id).await?
    } else {
        Vec::new()
    };
    apply_exceptions(&mut results, &exceptions, &scan.host_id, &groups);
    exempt(
        &mut results,
        &crate::provisioning::exempted_rules(state, &scan).await?,
    );
    let summary = summarize(&results);
    let completion = store
        .complete_scan(scan_id, &results, &summary, now)
        .await?;
    if completion == Completion::Completed {
        let done = bulwark_store::Scan {
            status: bulwark_store::ScanStatus::Completed,
            completed_at: Some(now),
            score: summary.score,
            weighted_score: summary.weighted_score,
            risk: Some(summary.risk),
            passed: summary.counts.pass.into(),
            failed: summary.counts.fail.into(),
            errors: summary.counts.error.into(),
            skipped: summary.counts.skip.into(),
            waived: summary.counts.waived.into(),
            total: summary.counts.total().into(),
            ..scan
        };
        notify::after_scan(state, &done)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if done.trigger_kind == bulwark_store::TriggerKind::Provision {
            state.provisioning_wake.notify_one();
        }
    }
    Ok(completion)
}

/// Sets aside the results of exempted checks (which were not run): `skip`, saying why, so
/// they count in no score.
pub fn exempt(results: &mut [ScanResult], exempted: &[String]) {
    if exempted.is_empty() {
        return;
    }
    for r in results
        .iter_mut()
        .filter(|r| exempted.contains(&r.check_id))
    {
        r.outcome = CheckOutcome::skip(
            r.outcome.expected.clone(),
            crate::provisioning::EXEMPTED.to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::Severity;
    use proptest::prelude::*;

    fn exception(id: &str, rule: &str, host: Option<&str>, group: Option<&str>) -> Exception {
        Exception {
            id: id.into(),
            org_id: Some("o".into()),
            rule_id: rule.into(),
            reason: format!("reason {id}"),
            host_id: host.map(Into::into),
            group_id: group.map(Into::into),
            expires_at: None,
            state: bulwark_store::ExceptionState::Active,
            created_by: "u".into(),
            created_at: 0,
            ended_at: None,
        }
    }

    fn result(id: &str, status: Status) -> ScanResult {
        ScanResult {
            check_id: id.into(),
            title: id.into(),
            category: "Services".into(),
            severity: Severity::Medium,
            outcome: CheckOutcome {
                status,
                actual: None,
                expected: "x".into(),
                reason: None,
            },
        }
    }

    #[test]
    fn scope_resolution_prefers_host_then_group_then_org() {
        let all = vec![
            exception("org", "C1", None, None),
            exception("grp", "C1", None, Some("parent")),
            exception("hst", "C1", Some("h1"), None),
            exception("other-host", "C2", Some("h2"), None),
        ];
        let groups = ["child".to_string(), "parent".to_string()];
        let cases = [
            ("C1", "h1", &groups[..], Some("hst")),
            ("C1", "h9", &groups[..], Some("grp")),
            ("C1", "h9", &[][..], Some("org")),
            ("C2", "h1", &groups[..], None),
            ("C2", "h2", &[][..], Some("other-host")),
            ("C3", "h1", &groups[..], None),
        ];
        for (check, host, groups, want) in cases {
            let got = matching_exception(&all, check, host, groups).map(|x| x.id.as_str());
            assert_eq!(got, want, "{check} on {host} in {groups:?}");
        }
    }

    #[test]
    fn only_failures_are_waived_and_the_reason_says_by_what() {
        let mut results = vec![
            result("C1", Status::Fail),
            result("C1b", Status::Pass),
            result("C2", Status::Error),
        ];
        let x = vec![
            exception("x1", "C1", None, None),
            exception("x2", "C1b", None, None),
            exception("x3", "C2", None, None),
        ];
        apply_exceptions(&mut results, &x, "h", &[]);
        let statuses: Vec<Status> = results.iter().map(|r| r.outcome.status).collect();
        assert_eq!(statuses, vec![Status::Waived, Status::Pass, Status::Error]);
        assert_eq!(
            results[0].outcome.reason.as_deref(),
            Some("waived by organization exception x1: reason x1")
        );
    }

    proptest! {
        #[test]
        fn waivers_never_raise_failures_or_lower_the_score(
            statuses in prop::collection::vec(prop::sample::select(Status::ALL.to_vec()), 1..60),
            waived_rules in prop::collection::vec(0usize..60, 0..20),
        ) {
            let results: Vec<ScanResult> = statuses.iter().enumerate().map(|(i, s)| result(&format!("C{i}"), *s)).collect();
            let x: Vec<Exception> = waived_rules.iter().map(|i| exception(&format!("x{i}"), &format!("C{i}"), None, None)).collect();
            let before = summarize(&results);
            let mut after_results = results.clone();
            apply_exceptions(&mut after_results, &x, "h", &[]);
            let after = summarize(&after_results);
            prop_assert!(after.counts.fail <= before.counts.fail);
            prop_assert_eq!(after.counts.pass, before.counts.pass);
            prop_assert_eq!(after.counts.total(), before.counts.total());
            if let (Some(a), Some(b)) = (after.score, before.score) {
                prop_assert!(a >= b);
            }
            for (b, a) in results.iter().zip(&after_results) {
                if b.outcome.status != Status::Fail {
                    prop_assert_eq!(b.outcome.status, a.outcome.status);
                }
            }
        }
    }
}
