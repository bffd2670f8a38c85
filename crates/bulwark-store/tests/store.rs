//! The store suite: every test runs on SQLite and on PostgreSQL.

use std::future::Future;
use std::sync::Arc;

use bulwark_core::{
    CheckOutcome, HostAction, JobPriority, JobStatus, JobType, Role, ScoreSummary, Severity, Status,
};
use bulwark_store::*;

async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(testing::sqlite(dir.path()).await.unwrap()).await
}

async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = testing::postgres().await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {} is needed for the store suite: {e}",
            testing::postgres_url()
        )
    });
    test(store).await
}

/// Declares a test once and runs it on both backends.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::on_sqlite(super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::on_postgres(super::$name).await }
        }
    )*};
}

both!(
    tenancy_hides_other_organizations,
    system_templates_are_read_only_and_copies_are_editable,
    template_delete_rules,
    one_policy_per_org_and_os_and_one_override_per_host,
    exception_lifecycle,
    completing_a_scan_is_atomic_and_idempotent,
    results_list_what_needs_action_first,
    agent_reports_inventory_refusals,
    dashboard_trends_and_export,
    scheduler_due_hosts,
    lease_has_one_holder,
    groups_include_ancestors,
    accounts_and_credentials,
    agents_enroll_once_per_key,
    nonces_are_used_once,
    heartbeats_derive_status_and_health,
    jobs_are_delivered_at_least_once,
    failed_and_abandoned_jobs_fail_their_scans,
    inventory_keeps_the_latest_per_category,
    the_first_server_key_wins,
    feature_flags_account_wide_and_per_org,
    agentless_hosts_share_sealed_credentials_within_their_org,
    agentless_host_keys_are_approved_as_seen,
    agentless_jobs_go_to_ssh_workers_only,
    host_actions_go_first_end_once_and_expire,
    the_audit_log_is_append_only_and_scoped,
);

struct World {
    a: Org,
    b: Org,
    host_a: Host,
    host_b: Host,
    only_a: Scope,
    only_b: Scope,
}

async fn world(s: &Arc<dyn Store>) -> World {
    let a = s.create_org("alpha", "hash-a").await.unwrap();
    let b = s.create_org("beta", "hash-b").await.unwrap();
    let host = |org: &Org, name: &str| NewHost {
        org_id: org.id.clone(),
        hostname: name.into(),
        os_kind: bulwark_core::OsKind::Linux,
        os_id: "debian".into(),
        os_version: "12".into(),
    };
    let host_a = s.create_host(&host(&a, "web-a")).await.unwrap();
    let host_b = s.create_host(&host(&b, "web-b")).await.unwrap();
    let only_a = Scope::Orgs(vec![a.id.clone()]);
    let only_b = Scope::Orgs(vec![b.id.clone()]);
    World {
        a,
        b,
        host_a,
        host_b,
        only_a,
        only_b,
    }
}

async fn system_template(s: &Arc<dyn Store>) -> String {
    let t = bulwark_content::shipped_template("cis-linux-l1")
        .unwrap()
        .expect("shipped L1");
    assert!(s.sync_system_template(&t, "v1").await.unwrap());
    t.id.clone()
}

fn policy(org: &Org, template: &str) -> Policy {
    Policy::draft(
        &org.id,
        "Linux baseline",
        bulwark_core::OsKind::Linux,
        template,
    )
}

fn result(id: &str, category: &str, severity: Severity, status: Status) -> ScanResult {
    ScanResult {
        check_id: id.into(),
        title: format!("title of {id}"),
        category: category.into(),
        severity,
        outcome: CheckOutcome {
            status,
            actual: Some("seen".into()),
            expected: "wanted".into(),
            reason: None,
        },
    }
}

fn summary(results: &[ScanResult]) -> ScoreSummary {
    ScoreSummary::from_results(results.iter().map(|r| (r.severity, r.outcome.status)))
}

fn not_found<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(StoreError::NotFound(_)))
}

async fn tenancy_hides_other_organizations(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let copy = s
        .copy_template(&w.only_a, &t, "mine", &w.a.id)
        .await
        .unwrap();
    let p = s
        .create_policy(&w.only_a, &policy(&w.a, &copy.id))
        .await
        .unwrap();
    let scan = s
        .create_scan(
            &w.only_a,
            &NewScan {
                org_id: w.a.id.clone(),
                host_id: w.host_a.id.clone(),
                policy_id: Some(p.id.clone()),
                template_id: copy.id.clone(),
                trigger_kind: bulwark_store::TriggerKind::OnDemand,
                passing_threshold: 80.0,
                created_at: None,
            },
        )
        .await
        .unwrap();
    let x = s
        .create_exception(
            &w.only_a,
            &NewException {
                org_id: Some(w.a.id.clone()),
                rule_id: "CIS-1.1.1".into(),
                reason: "r".into(),
                host_id: None,
                group_id: None,
                expires_at: None,
                created_by: "u".into(),
            },
        )
        .await
        .unwrap();
    // Every get of A's objects from B's scope looks exactly like a missing object.
    let b = &w.only_b;
    assert!(not_found(s.get_host(b, &w.host_a.id).await));
    assert!(not_found(s.get_policy(b, &p.id).await));
    assert!(not_found(s.get_template(b, &copy.id).await));
    assert!(not_found(s.template_checks(b, &copy.id).await));
    assert!(not_found(s.get_scan(b, &scan.id).await));
    assert!(not_found(s.scan_results(b, &scan.id, None).await));
    assert!(not_found(s.get_exception(b, &x.id).await));
    assert!(not_found(s.revoke_exception(b, &x.id, 1).await));
    assert!(not_found(s.delete_policy(b, &p.id).await));
    assert!(not_found(s.delete_template(b, &copy.id).await));
    assert!(not_found(s.get_org(b, &w.a.id).await));
    assert!(not_found(s.cancel_scan(b, &scan.id, 1).await));
    assert!(not_found(s.copy_template(b, &t, "steal", &w.a.id).await));
    assert!(
        not_found(s.add_override(&w.only_a, &p.id, &w.host_b.id, &t).await),
        "host of another org"
    );
    // Lists only show the caller's organizations; system templates are everyone's.
    assert_eq!(s.list_hosts(b).await.unwrap().len(), 1);
    assert!(s.list_policies(b).await.unwrap().is_empty());
    assert!(
        s.list_scans(b, &ScanFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.list_exceptions(b, None).await.unwrap().is_empty());
    let ids: Vec<String> = s
        .list_templates(b, &TemplateFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![t.clone()]);
    assert_eq!(s.list_hosts(&Scope::All).await.unwrap().len(), 2);
    assert!(s.list_hosts(&Scope::Orgs(vec![])).await.unwrap().is_empty());
}

async fn system_templates_are_read_only_and_copies_are_editable(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let shipped = bulwark_content::shipped_template("cis-linux-l1")
        .unwrap()
        .unwrap();
    assert!(
        !s.sync_system_template(&shipped, "v1").await.unwrap(),
        "same content hash: no change"
    );
    let checks = s.template_checks(&w.only_a, &t).await.unwrap();
    assert_eq!(checks.len(), shipped.checks.len());
    let first = checks[0].check.clone();
    let forbidden = |r: Result<()>| matches!(r, Err(StoreError::Forbidden(_)));
    assert!(forbidden(s.update_check(&w.only_a, &t, &first).await));
    assert!(forbidden(s.add_check(&w.only_a, &t, &first).await));
    assert!(forbidden(s.delete_template(&w.only_a, &t).await));
    assert!(forbidden(s.delete_check(&w.only_a, &t, &first.id).await));
    assert!(matches!(
        s.set_checks_enabled(&w.only_a, &t, std::slice::from_ref(&first.id), false)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    s.set_template_active(&w.only_a, &t, false).await.unwrap();
    assert!(!s.get_template(&w.only_a, &t).await.unwrap().active);

    let copy = s
        .copy_template(&w.only_a, &t, "Alpha L1", &w.a.id)
        .await
        .unwrap();
    assert!(!copy.is_system);
    assert_eq!(
        (copy.framework, copy.copied_from.as_deref()),
        (bulwark_core::Framework::Custom, Some(t.as_str())),
        "a copy is custom and remembers its source"
    );
    assert_eq!(copy.org_id.as_deref(), Some(w.a.id.as_str()));
    assert_eq!(copy.check_count as usize, shipped.checks.len());
    let ids: Vec<String> = checks.iter().take(3).map(|c| c.check.id.clone()).collect();
    assert_eq!(
        s.set_checks_enabled(&w.only_a, &copy.id, &ids, false)
            .await
            .unwrap(),
        3
    );
    assert!(matches!(
        s.set_checks_enabled(&w.only_a, &copy.id, &["NOPE".into()], false)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let mut edited = first.clone();
    edited.title = "edited".into();
    s.update_check(&w.only_a, &copy.id, &edited).await.unwrap();
    let mut custom = first.clone();
    custom.id = "CUSTOM-1".into();
    s.add_check(&w.only_a, &copy.id, &custom).await.unwrap();
    assert!(matches!(
        s.add_check(&w.only_a, &copy.id, &custom).await,
        Err(StoreError::Conflict(_))
    ));
    let last = checks.last().unwrap().check.id.clone();
    s.delete_check(&w.only_a, &copy.id, &last).await.unwrap();
    assert!(matches!(
        s.delete_check(&w.only_a, &copy.id, &last).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        matches!(
            s.delete_check(&w.only_b, &copy.id, "CUSTOM-1").await,
            Err(StoreError::NotFound(_))
        ),
        "another tenant's template"
    );
    let after = s.template_checks(&w.only_a, &copy.id).await.unwrap();
    assert_eq!(after.len(), shipped.checks.len());
    assert!(after.iter().all(|c| c.check.id != last));
    // The three switched off, less the first, which the edit above wrote back enabled, plus
    // any the template ships switched off.
    let shipped_off = shipped.checks.iter().filter(|c| !c.enabled).count();
    assert_eq!(after.iter().filter(|c| !c.enabled).count(), 2 + shipped_off);
    assert_eq!(after[0].check.title, "edited");
    assert_eq!(after.last().unwrap().check.id, "CUSTOM-1");
    // The system template is untouched by edits to its copy.
    assert_eq!(
        s.template_checks(&w.only_a, &t).await.unwrap()[0]
            .check
            .title,
        first.title
    );
    // New content replaces the system template's checks.
    let mut newer = shipped.clone();
    newer.checks.truncate(5);
    assert!(s.sync_system_template(&newer, "v2").await.unwrap());
    assert_eq!(s.template_checks(&w.only_a, &t).await.unwrap().len(), 5);
}

async fn template_delete_rules(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let used = s
        .copy_template(&w.only_a, &t, "used", &w.a.id)
        .await
        .unwrap();
    let unused = s
        .copy_template(&w.only_a, &t, "unused", &w.a.id)
        .await
        .unwrap();
    s.create_policy(&w.only_a, &policy(&w.a, &used.id))
        .await
        .unwrap();
    assert!(
        matches!(s.delete_template(&w.only_a, &used.id).await, Err(StoreError::Conflict(m)) if m.contains("policy"))
    );
    s.delete_template(&w.only_a, &unused.id).await.unwrap();
    assert!(not_found(s.get_template(&w.only_a, &unused.id).await));
    assert!(not_found(s.template_checks(&w.only_a, &unused.id).await));
    // A template of organization A cannot back a policy of B.
    assert!(not_found(
        s.create_policy(&Scope::All, &policy(&w.b, &used.id)).await
    ));
}

async fn one_policy_per_org_and_os_and_one_override_per_host(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    assert!(
        matches!(s.create_policy(&w.only_a, &policy(&w.a, &t)).await, Err(StoreError::Conflict(m)) if m.contains("linux"))
    );
    s.create_policy(&w.only_b, &policy(&w.b, &t)).await.unwrap();
    let mut windows = policy(&w.a, &t);
    windows.os_kind = bulwark_core::OsKind::Windows.into();
    let win = s.create_policy(&w.only_a, &windows).await.unwrap();
    let mut clash = win.clone();
    clash.os_kind = bulwark_core::OsKind::Linux.into();
    assert!(matches!(
        s.update_policy(&w.only_a, &clash).await,
        Err(StoreError::Conflict(_))
    ));
    let mut changed = p.clone();
    changed.interval_hours = 48;
    changed.active = false;
    let updated = s.update_policy(&w.only_a, &changed).await.unwrap();
    assert_eq!(updated.interval_hours, 48);
    assert_eq!(
        s.get_policy(&w.only_a, &p.id).await.unwrap().interval_hours,
        48
    );
    assert_eq!(s.active_policies().await.unwrap().len(), 2);

    let copy = s
        .copy_template(&w.only_a, &t, "strict", &w.a.id)
        .await
        .unwrap();
    let o = s
        .add_override(&w.only_a, &p.id, &w.host_a.id, &copy.id)
        .await
        .unwrap();
    assert!(matches!(
        s.add_override(&w.only_a, &p.id, &w.host_a.id, &t).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.override_for(&p.id, &w.host_a.id).await.unwrap(),
        Some(o.clone())
    );
    assert_eq!(s.list_overrides(&w.only_a, &p.id).await.unwrap().len(), 1);
    s.delete_override(&w.only_a, &p.id, &o.id).await.unwrap();
    assert!(not_found(s.delete_override(&w.only_a, &p.id, &o.id).await));
    assert_eq!(s.override_for(&p.id, &w.host_a.id).await.unwrap(), None);
    s.delete_policy(&w.only_a, &p.id).await.unwrap();
    assert!(not_found(s.get_policy(&w.only_a, &p.id).await));
}

async fn exception_lifecycle(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let new = |expires_at| NewException {
        org_id: Some(w.a.id.clone()),
        rule_id: "CIS-1.1.1".into(),
        reason: "vendor appliance".into(),
        host_id: Some(w.host_a.id.clone()),
        group_id: None,
        expires_at,
        created_by: "alice".into(),
    };
    let forever = s.create_exception(&w.only_a, &new(None)).await.unwrap();
    let soon = s
        .create_exception(&w.only_a, &new(Some(1_000)))
        .await
        .unwrap();
    let mut foreign = new(None);
    foreign.host_id = Some(w.host_b.id.clone());
    assert!(
        not_found(s.create_exception(&Scope::All, &foreign).await),
        "host of another org"
    );
    assert_eq!(s.active_exceptions(&w.a.id, 999).await.unwrap().len(), 2);
    assert_eq!(
        s.active_exceptions(&w.a.id, 1_000).await.unwrap().len(),
        1,
        "past expiry it stops applying"
    );
    assert_eq!(s.expire_exceptions(1_000).await.unwrap(), 1);
    assert_eq!(
        s.get_exception(&w.only_a, &soon.id).await.unwrap().state,
        "expired"
    );
    let revoked = s
        .revoke_exception(&w.only_a, &forever.id, 2_000)
        .await
        .unwrap();
    assert_eq!(
        (revoked.state.as_str(), revoked.ended_at),
        ("revoked", Some(2_000))
    );
    // Terminal states stay terminal.
    assert!(matches!(
        s.revoke_exception(&w.only_a, &soon.id, 3_000).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.revoke_exception(&w.only_a, &forever.id, 3_000).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.expire_exceptions(10_000).await.unwrap(), 0);
    assert_eq!(
        s.list_exceptions(&w.only_a, Some(ExceptionState::Revoked))
            .await
            .unwrap()
            .len(),
        1
    );

    // An account-wide exception applies in every organization, is seen by all, and is made
    // and changed only by an account-wide caller.
    let everywhere = NewException {
        org_id: None,
        host_id: None,
        ..new(None)
    };
    assert!(matches!(
        s.create_exception(&w.only_a, &everywhere).await,
        Err(StoreError::Forbidden(_))
    ));
    let account = s.create_exception(&Scope::All, &everywhere).await.unwrap();
    for (org, scope) in [(&w.a.id, &w.only_a), (&w.b.id, &w.only_b)] {
        assert!(
            s.active_exceptions(org, 10_000)
                .await
                .unwrap()
                .iter()
                .any(|x| x.id == account.id),
            "applies in {org}"
        );
        assert!(
            s.list_exceptions(scope, Some(ExceptionState::Active))
                .await
                .unwrap()
                .iter()
                .any(|x| x.id == account.id)
        );
    }
    assert!(matches!(
        s.revoke_exception(&w.only_b, &account.id, 11_000).await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        s.update_exception(&w.only_a, &account.id, "mine", None)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    s.revoke_exception(&Scope::All, &account.id, 11_000)
        .await
        .unwrap();
}

fn new_scan_for(w: &World, policy_id: &str, template: &str) -> NewScan {
    NewScan {
        org_id: w.a.id.clone(),
        host_id: w.host_a.id.clone(),
        policy_id: Some(policy_id.into()),
        template_id: template.into(),
        trigger_kind: bulwark_store::TriggerKind::Scheduled,
        passing_threshold: 80.0,
        created_at: None,
    }
}

async fn new_scan(s: &Arc<dyn Store>, w: &World, policy_id: &str, template: &str) -> Scan {
    s.create_scan(&w.only_a, &new_scan_for(w, policy_id, template))
        .await
        .unwrap()
}

/// Failures first, most severe first, whatever order the agent sent them in.
async fn results_list_what_needs_action_first(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let scan = new_scan(&s, &w, &p.id, &t).await;
    let sent = [
        ("A-1", Severity::Low, Status::Pass),
        ("A-2", Severity::Low, Status::Fail),
        ("A-3", Severity::Critical, Status::Skip),
        ("A-4", Severity::Medium, Status::Error),
        ("A-5", Severity::High, Status::Fail),
        ("A-0", Severity::High, Status::Fail),
        ("A-6", Severity::Critical, Status::Pass),
        ("A-7", Severity::Info, Status::Waived),
    ];
    let results: Vec<ScanResult> = sent
        .iter()
        .map(|(id, sev, st)| result(id, "Services", *sev, *st))
        .collect();
    s.complete_scan(&scan.id, &results, &summary(&results), 100)
        .await
        .unwrap();
    let listed: Vec<String> = s
        .scan_results(&w.only_a, &scan.id, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.check_id)
        .collect();
    assert_eq!(
        listed,
        ["A-0", "A-5", "A-2", "A-4", "A-7", "A-3", "A-6", "A-1"]
    );
}

/// The host row keeps the agent's last inventory refusal until the agent reports none.
async fn agent_reports_inventory_refusals(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let refused = |s: Arc<dyn Store>, only_a: Scope, id: String| async move {
        s.get_host(&only_a, &id).await.unwrap().inventory_refused
    };
    s.update_agent(&w.host_a.id, "1.0", 0, Some("hash mismatch (2 in a row)"))
        .await
        .unwrap();
    assert_eq!(
        refused(s.clone(), w.only_a.clone(), w.host_a.id.clone())
            .await
            .as_deref(),
        Some("hash mismatch (2 in a row)")
    );
    s.update_agent(&w.host_a.id, "1.0", 0, None).await.unwrap();
    assert_eq!(
        refused(s.clone(), w.only_a.clone(), w.host_a.id.clone()).await,
        None
    );
}

async fn completing_a_scan_is_atomic_and_idempotent(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let scan = new_scan(&s, &w, &p.id, &t).await;
    assert_eq!(scan.status, "pending");
    assert_eq!(scan.hostname, "web-a");
    s.mark_scan_running(&scan.id, 10).await.unwrap();
    let results: Vec<ScanResult> = (0..250)
        .map(|i| {
            result(
                &format!("C-{i:03}"),
                "Services",
                Severity::Medium,
                if i % 5 == 0 {
                    Status::Fail
                } else {
                    Status::Pass
                },
            )
        })
        .collect();
    let sum = summary(&results);
    assert_eq!(
        s.complete_scan(&scan.id, &results, &sum, 100)
            .await
            .unwrap(),
        Completion::Completed
    );
    assert_eq!(
        s.complete_scan(&scan.id, &results, &sum, 200)
            .await
            .unwrap(),
        Completion::AlreadyFinished
    );
    let done = s.get_scan(&w.only_a, &scan.id).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.passed, done.failed, done.total),
        ("completed", 200, 50, 250)
    );
    assert_eq!(done.score, Some(80.0));
    assert_eq!(done.completed_at, Some(100));
    assert_eq!(
        s.latest_scores(&w.only_a).await.unwrap(),
        [LatestScore {
            host_id: w.host_a.id.clone(),
            score: Some(80.0),
            completed_at: 100
        }]
    );
    assert!(
        s.latest_scores(&w.only_b).await.unwrap().is_empty(),
        "another tenant's scores are not seen"
    );
    assert_eq!(
        s.scan_results(&w.only_a, &scan.id, None)
            .await
            .unwrap()
            .len(),
        250
    );
    assert_eq!(
        s.scan_results(&w.only_a, &scan.id, Some(Status::Fail))
            .await
            .unwrap()
            .len(),
        50
    );
    let trends = s.trends(&w.only_a, 365, None, 100).await.unwrap();
    assert_eq!(
        trends.total_scans, 1,
        "a retried completion never counts twice"
    );

    // A submission that fails half-way leaves nothing behind: the duplicate id aborts it.
    let second = new_scan(&s, &w, &p.id, &t).await;
    let mut bad = results.clone();
    bad.push(results[0].clone());
    assert!(s.complete_scan(&second.id, &bad, &sum, 300).await.is_err());
    let after = s.get_scan(&w.only_a, &second.id).await.unwrap();
    assert_eq!(after.status, "pending");
    assert!(
        s.scan_results(&w.only_a, &second.id, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.trends(&w.only_a, 365, None, 300)
            .await
            .unwrap()
            .total_scans,
        1
    );

    assert_eq!(
        s.cancel_scan(&w.only_a, &second.id, 400)
            .await
            .unwrap()
            .status,
        "cancelled"
    );
    assert!(matches!(
        s.cancel_scan(&w.only_a, &second.id, 400).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.complete_scan(&second.id, &results, &sum, 500)
            .await
            .unwrap(),
        Completion::AlreadyFinished
    );
    let third = new_scan(&s, &w, &p.id, &t).await;
    s.fail_scan(&third.id, "agent could not parse the job", 600)
        .await
        .unwrap();
    let failed = s.get_scan(&w.only_a, &third.id).await.unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.message.as_deref()),
        ("failed", Some("agent could not parse the job"))
    );
    for (status, n) in [
        (ScanStatus::Completed, 1),
        (ScanStatus::Cancelled, 1),
        (ScanStatus::Failed, 1),
        (ScanStatus::Pending, 0),
    ] {
        let filter = ScanFilter {
            status: Some(status),
            ..Default::default()
        };
        assert_eq!(
            s.list_scans(&w.only_a, &filter).await.unwrap().len(),
            n,
            "{status:?}"
        );
    }
    let prefix = &scan.id[..8];
    let found = s
        .list_scans(
            &w.only_a,
            &ScanFilter {
                id_prefix: Some(prefix.to_uppercase()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
        vec![scan.id.clone()]
    );
    let none = s
        .list_scans(
            &w.only_a,
            &ScanFilter {
                id_prefix: Some("%".into()),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        none.len(),
        1,
        "a % in the prefix is not a wildcard: the prefix becomes empty"
    );

    // Pages of the newest first, and scans of hosts by the start of their name.
    let all = s
        .list_scans(&w.only_a, &ScanFilter::default())
        .await
        .unwrap();
    assert!(all.len() >= 3);
    let page = |offset: i64| {
        let s = s.clone();
        let scope = w.only_a.clone();
        async move {
            s.list_scans(
                &scope,
                &ScanFilter {
                    limit: Some(2),
                    offset: Some(offset),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.id)
            .collect::<Vec<_>>()
        }
    };
    let ids: Vec<String> = all.iter().map(|x| x.id.clone()).collect();
    assert_eq!(page(0).await, ids[..2]);
    assert_eq!(page(2).await, ids[2..ids.len().min(4)]);
    let by_host = |prefix: &str| {
        let s = s.clone();
        let scope = w.only_a.clone();
        let prefix = prefix.to_owned();
        async move {
            s.list_scans(
                &scope,
                &ScanFilter {
                    hostname_prefix: Some(prefix),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .len()
        }
    };
    assert_eq!(by_host("WEB-").await, all.len(), "any case");
    assert_eq!(by_host("web_").await, 0, "an underscore is not a wildcard");
    assert_eq!(by_host("db").await, 0);
}

async fn dashboard_trends_and_export(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let day = 86_400;
    // Three scans over two days: scores 50, 100 (day 1) and 75 (day 2).
    let plans: [(i64, &[Status]); 3] = [
        (10 * day + 5, &[Status::Pass, Status::Fail]),
        (10 * day + 9, &[Status::Pass, Status::Pass]),
        (
            11 * day + 1,
            &[Status::Pass, Status::Pass, Status::Pass, Status::Fail],
        ),
    ];
    let mut ids = vec![];
    for (at, statuses) in plans {
        let scan = new_scan(&s, &w, &p.id, &t).await;
        let results: Vec<ScanResult> = statuses
            .iter()
            .enumerate()
            .map(|(i, st)| {
                result(
                    &format!("CIS-{i}"),
                    if i % 2 == 0 { "Services" } else { "Filesystem" },
                    Severity::High,
                    *st,
                )
            })
            .collect();
        s.complete_scan(&scan.id, &results, &summary(&results), at)
            .await
            .unwrap();
        ids.push(scan.id);
    }
    let tr = s.trends(&w.only_a, 30, None, 11 * day + 10).await.unwrap();
    let days: Vec<(String, Option<f64>, i64)> = tr
        .daily
        .iter()
        .map(|d| (d.date.clone(), d.average_score, d.scan_count))
        .collect();
    assert_eq!(
        days,
        vec![
            ("1970-01-11".into(), Some(75.0), 2),
            ("1970-01-12".into(), Some(75.0), 1)
        ]
    );
    assert_eq!(
        (tr.total_scans, tr.average_score, tr.min_score, tr.max_score),
        (3, Some(75.0), Some(75.0), Some(75.0))
    );
    assert_eq!(
        s.trends(&w.only_a, 1, None, 11 * day + 10)
            .await
            .unwrap()
            .total_scans,
        1
    );
    assert_eq!(
        s.trends(&w.only_b, 30, None, 11 * day + 10)
            .await
            .unwrap()
            .total_scans,
        0
    );
    assert_eq!(
        s.trends(&w.only_a, 30, Some("other"), 11 * day + 10)
            .await
            .unwrap()
            .total_scans,
        0
    );

    let d = s.dashboard(&w.only_a, None).await.unwrap();
    assert_eq!(
        (d.total_policies, d.total_scans, d.hosts_scanned),
        (1, 3, 1)
    );
    assert_eq!(d.average_score, Some(75.0));
    assert_eq!(d.worst_hosts.len(), 1);
    assert_eq!(
        d.worst_hosts[0].score,
        Some(75.0),
        "the latest scan counts for the host"
    );
    assert_eq!(d.pass_rate, Some(0.0), "75 is below the threshold of 80");
    assert_eq!(d.non_compliant_hosts.len(), 1);
    assert_eq!(d.framework_scores[0].average_score, Some(75.0));
    assert_eq!(
        d.top_failing_checks
            .iter()
            .map(|c| (c.check_id.as_str(), c.failures))
            .collect::<Vec<_>>(),
        vec![("CIS-1", 1), ("CIS-3", 1)]
    );
    assert_eq!(
        d.risk_distribution,
        vec![Bucket {
            key: "medium".into(),
            count: 1
        }]
    );
    let cats: Vec<(String, i64, i64)> = d
        .category_breakdown
        .iter()
        .map(|c| (c.category.clone(), c.passed, c.failed))
        .collect();
    assert_eq!(
        cats,
        vec![("Filesystem".into(), 2, 2), ("Services".into(), 4, 0)]
    );
    let empty = s.dashboard(&w.only_b, None).await.unwrap();
    assert_eq!(
        (empty.total_scans, empty.average_score, empty.hosts_scanned),
        (0, None, 0)
    );

    // Export pages through completed scans newest first, without repeats.
    let filter = ExportFilter {
        limit: 10,
        ..Default::default()
    };
    let first = s.export_batch(&w.only_a, &filter, None, 2).await.unwrap();
    assert_eq!(
        first.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
        vec![ids[2].clone(), ids[1].clone()]
    );
    let last = first.last().unwrap();
    let rest = s
        .export_batch(
            &w.only_a,
            &filter,
            Some((last.completed_at.unwrap(), last.id.clone())),
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );
    assert!(
        s.export_batch(&w.only_b, &filter, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn scheduler_due_hosts(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let resting = s
        .create_host(&NewHost {
            org_id: w.a.id.clone(),
            hostname: "resting".into(),
            os_kind: bulwark_core::OsKind::Linux,
            os_id: "debian".into(),
            os_version: "12".into(),
        })
        .await
        .unwrap();
    s.set_maintenance(&w.only_a, &resting.id, true)
        .await
        .unwrap();
    let now = bulwark_store::now();
    let due = s.hosts_due(&p, 1_000, now, 50).await.unwrap();
    assert_eq!(
        due.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
        vec![w.host_a.id.clone()],
        "online, never scanned, same org, not in maintenance"
    );
    let later = now + bulwark_store::ONLINE_WITHIN_SECS + 1;
    assert!(
        s.hosts_due(&p, 1_000, later, 50).await.unwrap().is_empty(),
        "a host whose agent stopped beating is offline and not due"
    );
    let scan = new_scan(&s, &w, &p.id, &t).await;
    assert!(
        s.hosts_due(&p, 1_000, now, 50).await.unwrap().is_empty(),
        "a pending scan is not doubled"
    );
    let results = vec![result("C-1", "Services", Severity::Low, Status::Pass)];
    s.complete_scan(&scan.id, &results, &summary(&results), 900)
        .await
        .unwrap();
    assert!(
        s.hosts_due(&p, 899, now, 50).await.unwrap().is_empty(),
        "scanned after the cut-off"
    );
    assert_eq!(
        s.hosts_due(&p, 900, now, 50).await.unwrap().len(),
        1,
        "scanned at or before the cut-off"
    );
    assert_eq!(
        s.hosts_due(&p, 900, now, 0).await.unwrap().len(),
        0,
        "the sweep limit holds"
    );
}

async fn lease_has_one_holder(s: Arc<dyn Store>) {
    assert!(s.try_lease("scheduler", "replica-1", 60).await.unwrap());
    assert!(!s.try_lease("scheduler", "replica-2", 60).await.unwrap());
    assert!(
        s.try_lease("scheduler", "replica-1", 60).await.unwrap(),
        "the holder renews"
    );
    assert!(s.try_lease("other", "replica-2", 60).await.unwrap());
    // An expired lease (ttl in the past) is taken over.
    assert!(s.try_lease("short", "replica-1", -1).await.unwrap());
    assert!(s.try_lease("short", "replica-2", 60).await.unwrap());
    assert!(!s.try_lease("short", "replica-1", 60).await.unwrap());
}

async fn groups_include_ancestors(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let root = s
        .create_group(&w.only_a, &w.a.id, "all", None)
        .await
        .unwrap();
    let web = s
        .create_group(&w.only_a, &w.a.id, "web", Some(&root.id))
        .await
        .unwrap();
    let other = s
        .create_group(&w.only_a, &w.a.id, "db", None)
        .await
        .unwrap();
    s.add_group_member(&w.only_a, &web.id, &w.host_a.id)
        .await
        .unwrap();
    let mut groups = s.groups_of_host(&w.host_a.id).await.unwrap();
    groups.sort();
    let mut want = vec![root.id.clone(), web.id.clone()];
    want.sort();
    assert_eq!(groups, want);
    assert!(!groups.contains(&other.id));
    // A group holds the hosts of the groups below it.
    for group in [&root.id, &web.id] {
        assert_eq!(
            s.group_hosts(&w.only_a, group).await.unwrap(),
            vec![w.host_a.id.clone()]
        );
    }
    assert!(
        s.group_hosts(&w.only_a, &other.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(not_found(s.group_hosts(&w.only_b, &root.id).await));
    assert!(not_found(
        s.add_group_member(&w.only_b, &web.id, &w.host_b.id).await
    ));
    assert!(
        not_found(
            s.create_group(&w.only_b, &w.b.id, "x", Some(&root.id))
                .await
        ),
        "parent of another org"
    );
    assert!(matches!(
        s.create_group(&w.only_a, &w.a.id, "web", None).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn accounts_and_credentials(s: Arc<dyn Store>) {
    let w = world(&s).await;
    assert!(matches!(
        s.create_org("alpha", "x").await,
        Err(StoreError::Conflict(_))
    ));
    let u = s
        .create_user(
            "ann",
            "phc",
            Role::Viewer,
            Some(std::slice::from_ref(&w.a.id)),
        )
        .await
        .unwrap();
    assert_eq!(u.scope(), w.only_a);
    let admin = s
        .create_user("root", "phc2", Role::Admin, None)
        .await
        .unwrap();
    assert_eq!(admin.scope(), Scope::All);
    assert!(matches!(
        s.create_user("ann", "p", Role::Viewer, None).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(not_found(
        s.create_user("bob", "p", Role::Viewer, Some(&["nope".to_string()]))
            .await
    ));
    assert!(
        s.user_by_name("bob").await.unwrap().is_none(),
        "nothing half-written"
    );
    let (found, hash) = s.user_by_name("ann").await.unwrap().unwrap();
    assert_eq!((found.role, hash.as_str()), (Role::Viewer, "phc"));
    s.add_credential(&u.id, "tok-hash", CredentialKind::ApiToken, "ci", None)
        .await
        .unwrap();
    s.add_credential(&u.id, "old-session", CredentialKind::Session, "s", Some(50))
        .await
        .unwrap();
    assert_eq!(
        s.user_by_credential("tok-hash", 100)
            .await
            .unwrap()
            .map(|u| u.username),
        Some("ann".into())
    );
    assert!(
        s.user_by_credential("old-session", 100)
            .await
            .unwrap()
            .is_none(),
        "expired session"
    );
    s.delete_credential("tok-hash").await.unwrap();
    assert!(
        s.user_by_credential("tok-hash", 100)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.list_users(&w.only_a).await.unwrap().len(), 1);
    assert_eq!(s.list_users(&Scope::All).await.unwrap().len(), 2);
    assert_eq!(
        s.org_by_secret("hash-b").await.unwrap().map(|o| o.name),
        Some("beta".into())
    );
    s.set_org_secret(&w.only_b, &w.b.id, "hash-b2")
        .await
        .unwrap();
    assert!(s.org_by_secret("hash-b").await.unwrap().is_none());
    assert!(not_found(s.set_org_secret(&w.only_a, &w.b.id, "x").await));
    for (at, source) in [(10, "10.0.0.1"), (20, "10.0.0.2"), (30, "10.0.0.2")] {
        s.record_login_failure("ann", source, at, 0).await.unwrap();
    }
    s.record_login_failure("bob", "10.0.0.2", 40, 0)
        .await
        .unwrap();
    assert_eq!(
        s.login_pressure("ann", "10.0.0.2", 15).await.unwrap(),
        bulwark_store::LoginPressure {
            user_failures: 2,
            user_last: Some(30),
            source_failures: 3,
            source_last: Some(40),
        }
    );
    // Old failures are forgotten as new ones are recorded.
    s.record_login_failure("cy", "10.0.0.9", 50, 25)
        .await
        .unwrap();
    assert_eq!(
        s.login_pressure("ann", "10.0.0.1", 0).await.unwrap(),
        bulwark_store::LoginPressure {
            user_failures: 1,
            user_last: Some(30),
            source_failures: 0,
            source_last: None,
        }
    );
}

fn enrollment(agent_id: &str, key: &str) -> Enrollment {
    Enrollment {
        agent_id: agent_id.into(),
        public_key: key.into(),
        agent_version: "0.1.0".into(),
        hostname: "db-1".into(),
        os_kind: bulwark_core::OsKind::Linux,
        os_id: "rhel".into(),
        os_version: "9.4".into(),
        kernel: "5.14.0".into(),
    }
}

async fn agents_enroll_once_per_key(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let Enrolled::New(host) = s
        .enroll(&w.a.id, &enrollment("agent-1", "key-1"))
        .await
        .unwrap()
    else {
        panic!("first enrollment")
    };
    assert_eq!(
        (host.status.as_str(), host.health.as_str()),
        ("online", "healthy")
    );
    assert_eq!(host.agent_id.as_deref(), Some("agent-1"));
    assert_eq!(
        (host.os_id.as_str(), host.kernel.as_str()),
        ("rhel", "5.14.0")
    );

    let again = s
        .enroll(&w.a.id, &enrollment("agent-1", "key-1"))
        .await
        .unwrap();
    assert!(
        matches!(&again, Enrolled::Again(h) if h.id == host.id),
        "{again:?}"
    );
    assert_eq!(
        s.enroll(&w.a.id, &enrollment("agent-1", "key-2"))
            .await
            .unwrap(),
        Enrolled::Taken
    );
    assert_eq!(
        s.enroll(&w.b.id, &enrollment("agent-1", "key-1"))
            .await
            .unwrap(),
        Enrolled::Taken
    );

    let id = s.agent("agent-1").await.unwrap().unwrap();
    assert_eq!(
        (id.host_id.as_str(), id.public_key.as_str()),
        (host.id.as_str(), "key-1")
    );
    assert_eq!(
        s.host_by_agent_id(&w.only_a, "agent-1").await.unwrap().id,
        host.id
    );
    assert!(matches!(
        s.host_by_agent_id(&w.only_b, "agent-1").await,
        Err(StoreError::NotFound(_))
    ));

    // Removal forgets the agent: it can only come back by enrolling, even with a new key.
    s.delete_host(&w.only_a, &host.id).await.unwrap();
    assert_eq!(s.agent("agent-1").await.unwrap(), None);
    assert!(matches!(
        s.enroll(&w.a.id, &enrollment("agent-1", "key-2"))
            .await
            .unwrap(),
        Enrolled::New(_)
    ));
}

async fn nonces_are_used_once(s: Arc<dyn Store>) {
    let nonce = |agent: &str, nonce: &str| NonceUse {
        agent_id: agent.into(),
        nonce: nonce.into(),
        expires_at: 100,
    };
    assert_eq!(s.use_nonces(&[nonce("a", "n1")]).await.unwrap(), [true]);
    // A forgotten nonce can be used again; forgetting one that is not there changes nothing.
    s.use_nonces(&[nonce("form:u", "t1")]).await.unwrap();
    s.forget_nonce("form:u", "t1").await.unwrap();
    s.forget_nonce("form:u", "never").await.unwrap();
    assert_eq!(
        s.use_nonces(&[nonce("form:u", "t1")]).await.unwrap(),
        [true]
    );
    assert_eq!(
        s.use_nonces(&[nonce("form:u", "t1")]).await.unwrap(),
        [false]
    );
    assert_eq!(
        s.use_nonces(&[
            nonce("a", "n2"),
            nonce("a", "n1"),
            nonce("b", "n1"),
            nonce("a", "n2")
        ])
        .await
        .unwrap(),
        [true, false, true, false],
        "n1 was used by the first batch, n2 twice in this one; nonces are per agent"
    );
    let many: Vec<NonceUse> = (0..700).map(|i| nonce("c", &format!("n{i}"))).collect();
    assert!(
        s.use_nonces(&many).await.unwrap().iter().all(|new| *new),
        "a batch larger than one statement"
    );
    assert_eq!(s.use_nonces(&many[650..]).await.unwrap(), [false; 50]);
    assert_eq!(s.use_nonces(&[]).await.unwrap(), Vec::<bool>::new());
    assert_eq!(
        s.prune_nonces(101).await.unwrap(),
        704,
        "with the form token"
    );
}

async fn heartbeats_derive_status_and_health(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let Enrolled::New(host) = s
        .enroll(&w.a.id, &enrollment("agent-1", "k"))
        .await
        .unwrap()
    else {
        panic!("first enrollment")
    };
    assert_eq!(
        (host.status.as_str(), host.health.as_str()),
        ("online", "healthy")
    );
    let now = bulwark_store::now();
    // Beats of hosts removed since are skipped, in batches larger than one statement.
    let mut batch: Vec<(String, i64)> = (0..1_200).map(|i| (format!("gone-{i}"), now)).collect();
    batch.push((w.host_a.id.clone(), now + 5));
    s.record_seen(&batch).await.unwrap();
    s.record_seen(&[(w.host_a.id.clone(), now)]).await.unwrap();
    assert_eq!(
        s.get_host(&w.only_a, &w.host_a.id)
            .await
            .unwrap()
            .last_seen_at,
        Some(now + 5),
        "never moves back"
    );
    s.set_maintenance(&w.only_a, &w.host_a.id, true)
        .await
        .unwrap();
    assert_eq!(
        s.get_host(&w.only_a, &w.host_a.id).await.unwrap().status,
        "maintenance"
    );
    assert!(matches!(
        s.set_maintenance(&w.only_b, &w.host_a.id, false).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn jobs_are_delivered_at_least_once(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let scan = new_scan(&s, &w, &p.id, &t).await;
    let h = &w.host_a.id;
    assert_eq!(
        s.pending_jobs(h, 1_000).await.unwrap(),
        1,
        "a scan comes with its job"
    );
    assert_eq!(s.pending_jobs(&w.host_b.id, 1_000).await.unwrap(), 0);

    let first = s.claim_jobs(h, 1_000, 600, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].scan_id.as_deref(), first[0].deliveries),
        (Some(scan.id.as_str()), 1)
    );
    assert!(
        s.claim_jobs(h, 1_001, 600, 10).await.unwrap().is_empty(),
        "leased"
    );
    assert_eq!(s.pending_jobs(h, 1_599).await.unwrap(), 0);
    let again = s.claim_jobs(h, 1_600, 600, 10).await.unwrap();
    assert_eq!(again.len(), 1, "redelivered when the lease ran out");
    assert_eq!(again[0].deliveries, 2);

    assert!(
        matches!(
            s.ack_job(&w.host_b.id, &first[0].id, 1_601).await,
            Err(StoreError::NotFound(_))
        ),
        "another host's job"
    );
    s.ack_job(h, &first[0].id, 1_601).await.unwrap();
    assert_eq!(
        s.get_scan(&w.only_a, &scan.id).await.unwrap().status,
        "running"
    );

    let results = vec![result("C-1", "Services", Severity::Low, Status::Pass)];
    s.complete_scan(&scan.id, &results, &summary(&results), 1_700)
        .await
        .unwrap();
    let jobs = s.list_jobs(&w.only_a, &of_host(h)).await.unwrap();
    assert_eq!(jobs[0].status, JobStatus::Succeeded);
    assert_eq!(
        s.pending_jobs(h, 99_999).await.unwrap(),
        0,
        "a finished job is never redelivered"
    );

    let cancelled = new_scan(&s, &w, &p.id, &t).await;
    s.cancel_scan(&w.only_a, &cancelled.id, 1_800)
        .await
        .unwrap();
    assert_eq!(
        s.pending_jobs(h, 1_800).await.unwrap(),
        0,
        "a cancelled scan's job goes with it"
    );
    assert!(matches!(
        s.list_jobs(&w.only_b, &of_host(h)).await,
        Err(StoreError::NotFound(_))
    ));
}

fn of_host(host: &str) -> JobFilter {
    JobFilter {
        host_id: Some(host.into()),
        ..Default::default()
    }
}

fn action_job(host: &Host, action: HostAction, deadline_at: i64) -> NewJob {
    NewJob {
        id: new_id(),
        host_id: host.id.clone(),
        action,
        created_by: "alice".into(),
        deadline_at,
    }
}

async fn host_actions_go_first_end_once_and_expire(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let h = &w.host_a;
    let now = bulwark_store::now();
    let scan = new_scan(&s, &w, &p.id, &t).await;
    let ping = HostAction::Ping {
        target: "127.0.0.1".into(),
    };
    let stop = HostAction::Service {
        name: "nginx".into(),
        action: bulwark_core::job::ServiceAction::Stop,
    };
    let diag = s
        .create_job(&w.only_a, &action_job(h, ping, now + 600))
        .await
        .unwrap();
    let control = s
        .create_job(&w.only_a, &action_job(h, stop.clone(), now + 600))
        .await
        .unwrap();
    assert_eq!(
        (control.kind, control.priority, control.status),
        (JobType::Service, JobPriority::Critical, JobStatus::Queued)
    );
    assert_eq!(control.summary.as_deref(), Some("stop service nginx"));
    assert!(
        matches!(
            s.create_job(&w.only_b, &action_job(h, stop.clone(), now + 600))
                .await,
            Err(StoreError::NotFound(_))
        ),
        "another organization's host"
    );

    let order: Vec<String> = s
        .claim_jobs(&h.id, now, 600, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    let scan_job = s
        .list_jobs(
            &w.only_a,
            &JobFilter {
                kind: Some(JobType::ComplianceScan),
                ..of_host(&h.id)
            },
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(scan_job.scan_id.as_deref(), Some(scan.id.as_str()));
    assert_eq!(
        order,
        [control.id.clone(), diag.id.clone(), scan_job.id.clone()],
        "critical, high, normal"
    );

    let running = s.ack_job(&h.id, &control.id, now + 1).await.unwrap();
    assert_eq!(
        (running.status, running.started_at),
        (JobStatus::Running, Some(now + 1))
    );
    assert!(
        s.claim_jobs(&h.id, now + 10_000, 600, 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.id != control.id),
        "a running action is never delivered twice"
    );
    assert!(matches!(
        s.cancel_job(&w.only_a, &control.id, now + 2).await,
        Err(StoreError::Conflict(_))
    ));
    let outcome = JobOutcome {
        succeeded: true,
        message: "stop nginx: nginx is not running".into(),
        exit_code: Some(0),
        stdout: "out".into(),
        stderr: String::new(),
        truncated: true,
    };
    let done = s
        .finish_job(&h.id, &control.id, &outcome, now + 3)
        .await
        .unwrap();
    assert_eq!(
        (
            done.status,
            done.exit_code,
            done.output_truncated,
            done.finished_at
        ),
        (JobStatus::Succeeded, Some(0), true, Some(now + 3))
    );
    assert!(
        matches!(
            s.finish_job(&h.id, &control.id, &outcome, now + 4).await,
            Err(StoreError::Conflict(_))
        ),
        "a job ends once"
    );
    assert!(
        matches!(
            s.finish_job(&w.host_b.id, &diag.id, &outcome, now + 4)
                .await,
            Err(StoreError::NotFound(_))
        ),
        "another host's job"
    );

    // A job nobody takes expires at its deadline, with why.
    let late = s
        .create_job(&w.only_a, &action_job(h, HostAction::Netstat, now + 60))
        .await
        .unwrap();
    assert_eq!(s.expire_jobs(now + 59).await.unwrap(), 0);
    assert!(s.expire_jobs(now + 61).await.unwrap() >= 1);
    let late = s.get_job(&w.only_a, &late.id).await.unwrap();
    assert_eq!(late.status, JobStatus::Expired);
    assert!(late.message.unwrap().contains("deadline"));
    assert!(matches!(
        s.get_job(&w.only_b, &late.id).await,
        Err(StoreError::NotFound(_))
    ));

    let queued = s
        .create_job(&w.only_a, &action_job(h, HostAction::Netstat, now + 600))
        .await
        .unwrap();
    let cancelled = s.cancel_job(&w.only_a, &queued.id, now + 5).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    let filtered = s
        .list_jobs(
            &Scope::All,
            &JobFilter {
                status: Some(JobStatus::Cancelled),
                kind: Some(JobType::Diagnostic),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        filtered.iter().map(|j| &j.id).collect::<Vec<_>>(),
        [&queued.id]
    );
    assert!(
        s.list_jobs(&w.only_b, &JobFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}

fn audit(org: &str, actor: &str, action: &str, outcome: AuditOutcome, at: i64) -> AuditEntry {
    AuditEntry {
        id: new_id(),
        at,
        org_id: org.into(),
        actor: actor.into(),
        actor_id: None,
        action: action.into(),
        target: Some("/api/v1/x".into()),
        outcome,
        detail: Some("d".into()),
        source_ip: Some("127.0.0.1".into()),
    }
}

async fn the_audit_log_is_append_only_and_scoped(s: Arc<dyn Store>) {
    let w = world(&s).await;
    s.append_audit(&audit(
        &w.a.id,
        "alice",
        "POST /api/v1/hosts/{id}/jobs",
        AuditOutcome::Success,
        10,
    ))
    .await
    .unwrap();
    s.append_audit(&audit(
        &w.b.id,
        "bob",
        "DELETE /api/v1/hosts/{id}",
        AuditOutcome::Denied,
        20,
    ))
    .await
    .unwrap();
    s.append_audit(&audit("", "root", "auth.login", AuditOutcome::Success, 30))
        .await
        .unwrap();

    let mine = s
        .list_audit(&w.only_a, &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(),
        ["alice"]
    );
    let all = s
        .list_audit(&Scope::All, &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.at).collect::<Vec<_>>(),
        [30, 20, 10],
        "newest first, account-wide included"
    );
    let denied = s
        .list_audit(
            &Scope::All,
            &AuditFilter {
                outcome: Some(AuditOutcome::Denied),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(denied[0].actor, "bob");
    let jobs = s
        .list_audit(
            &Scope::All,
            &AuditFilter {
                action: Some("jobs".into()),
                since: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(matches!(
        s.list_audit(
            &w.only_a,
            &AuditFilter {
                org_id: Some(w.b.id.clone()),
                ..Default::default()
            }
        )
        .await,
        Err(StoreError::NotFound(_))
    ));
}

/// Nobody with SQL changes or removes an audit entry: the database refuses it.
async fn audit_rows_cannot_change(db: db::Db) {
    let s = from_db(db.clone());
    s.append_audit(&audit("", "root", "auth.login", AuditOutcome::Success, 30))
        .await
        .unwrap();
    for statement in [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
    ] {
        let refused = db.execute(statement, vec![]).await;
        assert!(refused.is_err(), "{statement} was allowed");
    }
    let kept = s
        .list_audit(&Scope::All, &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(kept[0].actor, "root");
}

mod audit_rows_cannot_change {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        super::audit_rows_cannot_change(bulwark_store::db::Db::connect(&url).await.unwrap()).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::audit_rows_cannot_change(bulwark_store::testing::postgres_db().await.unwrap()).await
    }
}

async fn failed_and_abandoned_jobs_fail_their_scans(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let h = &w.host_a.id;

    let scan = new_scan(&s, &w, &p.id, &t).await;
    let job = s.claim_jobs(h, 1_000, 600, 10).await.unwrap().remove(0);
    let failed = s
        .fail_job(h, &job.id, "the agent cannot read this job", 1_001)
        .await
        .unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    let scan = s.get_scan(&w.only_a, &scan.id).await.unwrap();
    assert_eq!(
        (scan.status.as_str(), scan.message.as_deref()),
        ("failed", Some("the agent cannot read this job"))
    );

    let stuck = new_scan(&s, &w, &p.id, &t).await;
    for at in [2_000, 2_600, 3_200] {
        assert_eq!(s.claim_jobs(h, at, 600, 10).await.unwrap().len(), 1);
    }
    assert_eq!(s.abandon_jobs(3_799, 3).await.unwrap(), 0, "still leased");
    assert_eq!(s.abandon_jobs(3_800, 3).await.unwrap(), 1);
    let stuck = s.get_scan(&w.only_a, &stuck.id).await.unwrap();
    assert_eq!(stuck.status, "failed");
    assert!(stuck.message.unwrap().contains("3 deliveries"));
}

async fn inventory_keeps_the_latest_per_category(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let h = &w.host_a.id;
    let v = |n: i64| serde_json::json!([{"name": "openssh-server", "version": n.to_string()}]);
    s.store_inventory(
        h,
        &[
            ("software".into(), "h1".into(), v(1)),
            ("services".into(), "h2".into(), v(2)),
        ],
    )
    .await
    .unwrap();
    s.store_inventory(h, &[("software".into(), "h3".into(), v(3))])
        .await
        .unwrap();
    assert_eq!(
        s.inventory_hashes(h).await.unwrap(),
        vec![
            ("services".to_owned(), "h2".to_owned()),
            ("software".to_owned(), "h3".to_owned())
        ]
    );
    assert_eq!(s.inventory(h, "software").await.unwrap(), Some(v(3)));
    assert_eq!(s.inventory(h, "drives").await.unwrap(), None);
}

async fn the_first_server_key_wins(s: Arc<dyn Store>) {
    let first = s
        .server_key("jobs", ("secret-1", "public-1"))
        .await
        .unwrap();
    let second = s
        .server_key("jobs", ("secret-2", "public-2"))
        .await
        .unwrap();
    assert_eq!(first, ("secret-1".to_owned(), "public-1".to_owned()));
    assert_eq!(second, first);
}

async fn feature_flags_account_wide_and_per_org(s: Arc<dyn Store>) {
    let w = world(&s).await;
    s.set_feature_flag(&Scope::All, None, "terminal", false)
        .await
        .unwrap();
    s.set_feature_flag(&w.only_a, Some(&w.a.id), "terminal", true)
        .await
        .unwrap();
    assert!(matches!(
        s.set_feature_flag(&w.only_a, None, "file_browser", false)
            .await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        s.set_feature_flag(&w.only_a, Some(&w.b.id), "terminal", false)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let for_a = s.feature_flags_for(&w.a.id).await.unwrap();
    assert_eq!(
        for_a
            .iter()
            .map(|f| (f.org_id.as_str(), f.enabled))
            .collect::<Vec<_>>(),
        vec![("", false), (w.a.id.as_str(), true)]
    );
    assert_eq!(
        s.list_feature_flags(&w.only_b).await.unwrap().len(),
        1,
        "b sees the account-wide flag only"
    );
    s.delete_feature_flag(&w.only_a, Some(&w.a.id), "terminal")
        .await
        .unwrap();
    assert!(matches!(
        s.delete_feature_flag(&w.only_a, Some(&w.a.id), "terminal")
            .await,
        Err(StoreError::NotFound(_))
    ));
}

fn ssh_credential(org: &Org, name: &str) -> NewSshCredential {
    NewSshCredential {
        org_id: org.id.clone(),
        name: name.into(),
        kind: SshCredentialKind::PrivateKey,
        sealed_secret: format!("sealed-{name}"),
        public_key: Some("ssh-ed25519 AAAA scan".into()),
    }
}

fn ssh_host(org: &Org, credential: &SshCredential, name: &str) -> NewSshHost {
    NewSshHost {
        org_id: org.id.clone(),
        hostname: name.into(),
        address: "192.0.2.10".into(),
        port: 22,
        username: "scan".into(),
        credential_id: credential.id.clone(),
        escalation: Escalation::Sudo,
        host_key: None,
    }
}

async fn agentless_hosts_share_sealed_credentials_within_their_org(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let key = s
        .create_ssh_credential(&w.only_a, &ssh_credential(&w.a, "scan key"))
        .await
        .unwrap();
    assert!(matches!(
        s.create_ssh_credential(&w.only_a, &ssh_credential(&w.a, "scan key")).await,
        Err(StoreError::Conflict(m)) if m.contains("scan key")
    ));
    assert!(
        not_found(
            s.create_ssh_credential(&w.only_b, &ssh_credential(&w.a, "x"))
                .await
        ),
        "into another organization"
    );
    let one = s
        .create_ssh_host(&w.only_a, &ssh_host(&w.a, &key, "db-1"))
        .await
        .unwrap();
    let two = s
        .create_ssh_host(&w.only_a, &ssh_host(&w.a, &key, "db-2"))
        .await
        .unwrap();
    assert_eq!(one.connection, HostConnection::Ssh);
    assert_eq!(w.host_a.connection, HostConnection::Agent);
    let listed = s.list_ssh_credentials(&w.only_a).await.unwrap();
    assert_eq!((listed.len(), listed[0].hosts), (1, 2));
    assert!(s.list_ssh_credentials(&w.only_b).await.unwrap().is_empty());
    // Another tenant can neither use, see, nor delete the credential, nor read the target.
    assert!(not_found(
        s.create_ssh_host(&w.only_b, &ssh_host(&w.b, &key, "theirs"))
            .await
    ));
    assert!(not_found(s.delete_ssh_credential(&w.only_b, &key.id).await));
    assert!(not_found(s.ssh_target(&w.only_b, &one.id).await));
    let target = s.ssh_target(&w.only_a, &two.id).await.unwrap();
    assert_eq!(
        (
            target.credential_name.as_str(),
            target.escalation,
            target.port
        ),
        ("scan key", Escalation::Sudo, 22)
    );
    let (credential, sealed) = s.sealed_ssh_secret(&key.id).await.unwrap();
    assert_eq!(
        (credential.name.as_str(), sealed.as_str()),
        ("scan key", "sealed-scan key")
    );
    assert!(
        !serde_json::to_string(&credential)
            .unwrap()
            .contains("sealed-"),
        "the credential as the API shows it never holds the secret"
    );
    assert!(matches!(
        s.delete_ssh_credential(&w.only_a, &key.id).await,
        Err(StoreError::Conflict(m)) if m.contains("2 host")
    ));
    s.delete_host(&w.only_a, &one.id).await.unwrap();
    s.delete_host(&w.only_a, &two.id).await.unwrap();
    s.delete_ssh_credential(&w.only_a, &key.id).await.unwrap();
    assert!(s.list_ssh_credentials(&w.only_a).await.unwrap().is_empty());
}

async fn agentless_host_keys_are_approved_as_seen(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let key = s
        .create_ssh_credential(&w.only_a, &ssh_credential(&w.a, "k"))
        .await
        .unwrap();
    let host = s
        .create_ssh_host(&w.only_a, &ssh_host(&w.a, &key, "db"))
        .await
        .unwrap();
    assert!(
        matches!(
            s.approve_host_key(&w.only_a, &host.id, "SHA256:aaa").await,
            Err(StoreError::Conflict(m)) if m.contains("no key")
        ),
        "nothing offered yet"
    );
    let first_contact = SshCheckRecord {
        ok: false,
        offered_key: Some("SHA256:aaa".into()),
        report: r#"{"message":"host key pending"}"#.into(),
    };
    s.record_ssh_check(&host.id, &first_contact, 1_000)
        .await
        .unwrap();
    let target = s.ssh_target(&w.only_a, &host.id).await.unwrap();
    assert_eq!(
        (
            target.offered_key.as_deref(),
            target.host_key.as_deref(),
            target.check_ok
        ),
        (Some("SHA256:aaa"), None, Some(false))
    );
    assert!(not_found(
        s.approve_host_key(&w.only_b, &host.id, "SHA256:aaa").await
    ));
    assert!(
        matches!(
            s.approve_host_key(&w.only_a, &host.id, "SHA256:bbb").await,
            Err(StoreError::Conflict(m)) if m.contains("SHA256:aaa")
        ),
        "only the key that was offered"
    );
    let approved = s
        .approve_host_key(&w.only_a, &host.id, "SHA256:aaa")
        .await
        .unwrap();
    assert_eq!(
        (
            approved.host_key.as_deref(),
            approved.offered_key.as_deref()
        ),
        (Some("SHA256:aaa"), None)
    );
    let seen_before = s.get_host(&w.only_a, &host.id).await.unwrap().last_seen_at;
    let ok = SshCheckRecord {
        ok: true,
        offered_key: None,
        report: r#"{"os":"debian 12"}"#.into(),
    };
    let later = now() + 10;
    s.record_ssh_check(&host.id, &ok, later).await.unwrap();
    let host_now = s.get_host(&w.only_a, &host.id).await.unwrap();
    assert_eq!(host_now.last_seen_at, Some(later), "{seen_before:?}");
    assert_eq!(host_now.status, HostStatus::Online);
    let target = s.ssh_target(&w.only_a, &host.id).await.unwrap();
    assert_eq!(
        serde_json::to_value(&target).unwrap()["check_report"],
        serde_json::json!({"os": "debian 12"}),
        "the report travels as JSON"
    );
    assert_eq!(
        s.ssh_hosts_due_check(later, 10).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        s.ssh_hosts_due_check(later + 1, 10).await.unwrap(),
        vec![host.id.clone()]
    );
}

async fn agentless_jobs_go_to_ssh_workers_only(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let t = system_template(&s).await;
    let p = s.create_policy(&w.only_a, &policy(&w.a, &t)).await.unwrap();
    let key = s
        .create_ssh_credential(&w.only_a, &ssh_credential(&w.a, "k"))
        .await
        .unwrap();
    let ssh = s
        .create_ssh_host(&w.only_a, &ssh_host(&w.a, &key, "db"))
        .await
        .unwrap();
    let agent_scan = new_scan(&s, &w, &p.id, &t).await;
    let ssh_scan = s
        .create_scan(
            &w.only_a,
            &NewScan {
                host_id: ssh.id.clone(),
                ..new_scan_for(&w, &p.id, &t)
            },
        )
        .await
        .unwrap();
    let claimed = s.claim_ssh_jobs(1_000, 600, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert_eq!(claimed[0].scan_id.as_deref(), Some(ssh_scan.id.as_str()));
    assert!(
        s.claim_ssh_jobs(1_001, 600, 10).await.unwrap().is_empty(),
        "leased"
    );
    assert_eq!(
        s.claim_ssh_jobs(1_600, 600, 10).await.unwrap().len(),
        1,
        "redelivered when the lease ran out"
    );
    let agent_jobs = s.claim_jobs(&w.host_a.id, 1_000, 600, 10).await.unwrap();
    assert_eq!(
        agent_jobs[0].scan_id.as_deref(),
        Some(agent_scan.id.as_str())
    );
}
