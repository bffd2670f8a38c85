//! The provisioning gate's storage: compliance settings and their sealed secrets, provisioned
//! machines from recording to settlement and release, the overview's cards, Terraform run
//! tasks and the hosts scheduled rescans go to. Every test runs on SQLite and on PostgreSQL.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bulwark_core::provisioning::{
    CisProfile, ComplianceSettings, EnforcementMode, ProvisionSource, ProvisionStatus, Tally,
    VmProvider,
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
    settings_round_trip_and_secrets_set_stay_or_clear,
    settings_of_another_organization_look_missing,
    scheduled_compliance_lists_enabled_schedules_only,
    a_machine_is_recorded_once_per_run_and_address,
    machine_lists_filter_page_and_stay_in_scope,
    a_machine_starts_and_settles_once,
    only_a_held_machine_is_released_and_only_once,
    overview_counts_completed_held_and_passing_machines,
    run_tasks_are_recorded_once_and_keep_their_reports,
    provisioned_hosts_answer_the_latest_record_per_host,
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
    let host_a = s.create_host(&new_host(&a, "web-a")).await.unwrap();
    let host_b = s.create_host(&new_host(&b, "web-b")).await.unwrap();
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

fn new_host(org: &Org, name: &str) -> NewHost {
    NewHost {
        org_id: org.id.clone(),
        hostname: name.into(),
        os_kind: bulwark_core::OsKind::Linux,
        os_id: "ubuntu".into(),
        os_version: "24.04".into(),
    }
}

/// A pending scan of the host with the shipped CIS Level 1 template.
async fn scan_of(s: &Arc<dyn Store>, host: &Host) -> Scan {
    let t = bulwark_content::shipped_template("cis-linux-l1")
        .unwrap()
        .expect("shipped L1");
    s.sync_system_template(&t, "v1").await.unwrap();
    s.create_scan(
        &Scope::All,
        &NewScan {
            org_id: host.org_id.clone(),
            host_id: host.id.clone(),
            policy_id: None,
            template_id: t.id.clone(),
            trigger_kind: TriggerKind::OnDemand,
            passing_threshold: 80.0,
            created_at: None,
        },
    )
    .await
    .unwrap()
}

fn settings(enabled: bool, schedule: Option<&str>) -> ComplianceSettings {
    ComplianceSettings {
        enabled,
        enforcement_mode: EnforcementMode::Block,
        profile: CisProfile::Level2Server,
        min_score: 85.5,
        block_on_critical: true,
        block_on_high: true,
        scan_on_provision: true,
        scan_schedule: schedule.map(String::from),
        ssh_user: "provisioner".into(),
        ssh_credential_id: Some("cred-1".into()),
        ssh_sudo: false,
        trust_new_host_keys: false,
        exempted_rules: vec!["CIS-1.1.1".into(), "CIS-5.2.4".into()],
        exempted_projects: vec!["sandbox".into()],
        allow_insecure_callbacks: true,
    }
}

fn machine(org: &Org, run: &str, address: &str) -> NewProvisionedVm {
    NewProvisionedVm {
        org_id: org.id.clone(),
        source: ProvisionSource::TerraformRunTask,
        provider: VmProvider::Aws,
        tf_organization: Some("acme".into()),
        workspace: Some("prod-web".into()),
        project: Some("web".into()),
        run_id: run.into(),
        address: address.into(),
        port: 2222,
        hostname: format!("vm-{address}"),
        host_key: Some("SHA256:abcdef".into()),
        run_task_id: None,
        status: ProvisionStatus::Pending,
        exempted: false,
        failure: None,
        enforcement_mode: EnforcementMode::Block,
        profile: CisProfile::Level1Server,
        min_score: 80.0,
    }
}

async fn record(s: &Arc<dyn Store>, vm: &NewProvisionedVm) -> ProvisionedVm {
    let (vm, new) = s.record_provisioned_vm(&Scope::All, vm).await.unwrap();
    assert!(new, "{} should be a new machine", vm.address);
    vm
}

fn completed(score: Option<f64>, blocked: bool, at: i64) -> VmSettlement {
    VmSettlement {
        status: ProvisionStatus::Completed,
        failure: None,
        tally: Some(Tally {
            score,
            critical_failures: 2,
            high_failures: 3,
            medium_failures: 5,
            low_failures: 7,
        }),
        counts: Some(bulwark_core::Counts {
            pass: 40,
            fail: 17,
            error: 1,
            skip: 2,
            waived: 4,
            not_checked: 3,
            not_selected: 5,
            informational: 6,
        }),
        enforcement_mode: EnforcementMode::Block,
        blocked,
        reason: blocked.then(|| "2 critical CIS check(s) failed".to_string()),
        at,
    }
}

fn failed(reason: &str, blocked: bool, at: i64) -> VmSettlement {
    VmSettlement {
        status: ProvisionStatus::Failed,
        failure: Some(reason.into()),
        tally: None,
        counts: None,
        enforcement_mode: EnforcementMode::Block,
        blocked,
        reason: blocked.then(|| format!("could not be scanned: {reason}")),
        at,
    }
}

/// The default filter, changed by `change`.
fn filter(change: impl FnOnce(&mut ProvisionedVmFilter)) -> ProvisionedVmFilter {
    let mut filter = ProvisionedVmFilter::default();
    change(&mut filter);
    filter
}

fn not_found<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(StoreError::NotFound(_)))
}

fn conflict<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

fn ids<'a>(vms: impl IntoIterator<Item = &'a ProvisionedVm>) -> BTreeSet<String> {
    vms.into_iter().map(|v| v.id.clone()).collect()
}

fn close(got: Option<f64>, want: Option<f64>) -> bool {
    match (got, want) {
        (Some(g), Some(w)) => (g - w).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

/// Waits until the store's clock (whole seconds) has passed `t`, so that the next record is
/// strictly newer.
async fn after_second(t: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while bulwark_store::now() <= t {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not move"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const SECRETS: [ProvisioningSecret; 3] = [
    ProvisioningSecret::RunTaskKey,
    ProvisioningSecret::NotificationToken,
    ProvisioningSecret::TerraformToken,
];

fn update(v: Option<Option<&str>>) -> Option<Option<String>> {
    v.map(|inner| inner.map(String::from))
}

async fn settings_round_trip_and_secrets_set_stay_or_clear(s: Arc<dyn Store>) {
    let w = world(&s).await;
    assert_eq!(
        s.compliance_settings(&w.only_a, &w.a.id).await.unwrap(),
        None
    );
    for which in SECRETS {
        assert_eq!(
            s.sealed_provisioning_secret(&w.a.id, which).await.unwrap(),
            None
        );
    }

    // Each step: the updates of (run task key, notification token, Terraform token), and
    // the sealed values stored after it. `None` leaves, `Some(None)` clears.
    type Step = ([Option<Option<&'static str>>; 3], [Option<&'static str>; 3]);
    let steps: [Step; 5] = [
        ([None, None, None], [None, None, None]),
        (
            [Some(Some("rtk-1")), Some(Some("nt-1")), Some(Some("tf-1"))],
            [Some("rtk-1"), Some("nt-1"), Some("tf-1")],
        ),
        (
            [None, Some(None), Some(Some("tf-2"))],
            [Some("rtk-1"), None, Some("tf-2")],
        ),
        ([None, None, None], [Some("rtk-1"), None, Some("tf-2")]),
        (
            [Some(None), Some(Some("nt-3")), Some(None)],
            [None, Some("nt-3"), None],
        ),
    ];
    for (n, (updates, want)) in steps.into_iter().enumerate() {
        let n = n as i64;
        // The settings change at every step too, and are stored whole.
        let mut wanted = settings(n % 2 == 0, Some("0 3 * * *"));
        wanted.min_score = 60.0 + n as f64;
        wanted.exempted_rules.push(format!("CIS-9.{n}"));
        if n == 3 {
            wanted = ComplianceSettings::default();
        }
        let secrets = SealedSecretUpdates {
            run_task_key: update(updates[0]),
            notification_token: update(updates[1]),
            terraform_token: update(updates[2]),
        };
        let by = format!("admin-{n}");
        let put = s
            .put_compliance_settings(&w.only_a, &w.a.id, &wanted, &secrets, &by, 1_000 + n)
            .await
            .unwrap();
        let expected = StoredComplianceSettings {
            org_id: w.a.id.clone(),
            settings: wanted.clone(),
            has_run_task_key: want[0].is_some(),
            has_notification_token: want[1].is_some(),
            has_terraform_token: want[2].is_some(),
            scheduled_at: None,
            updated_at: 1_000 + n,
            updated_by: by,
        };
        assert_eq!(put, expected, "step {n}");
        assert_eq!(
            s.compliance_settings(&w.only_a, &w.a.id).await.unwrap(),
            Some(expected.clone()),
            "step {n}"
        );
        assert_eq!(
            s.compliance_settings(&Scope::All, &w.a.id).await.unwrap(),
            Some(expected),
            "step {n}"
        );
        for (which, want) in SECRETS.into_iter().zip(want) {
            assert_eq!(
                s.sealed_provisioning_secret(&w.a.id, which).await.unwrap(),
                want.map(String::from),
                "step {n}: {which:?}"
            );
        }
    }
    // The other organization was never touched.
    assert_eq!(
        s.compliance_settings(&w.only_b, &w.b.id).await.unwrap(),
        None
    );
    assert_eq!(
        s.sealed_provisioning_secret(&w.b.id, ProvisioningSecret::NotificationToken)
            .await
            .unwrap(),
        None
    );
}

async fn settings_of_another_organization_look_missing(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let mine = s
        .put_compliance_settings(
            &w.only_a,
            &w.a.id,
            &settings(true, None),
            &SealedSecretUpdates {
                run_task_key: Some(Some("rtk-a".into())),
                ..Default::default()
            },
            "alice",
            100,
        )
        .await
        .unwrap();
    assert!(not_found(s.compliance_settings(&w.only_b, &w.a.id).await));
    assert!(not_found(
        s.put_compliance_settings(
            &w.only_b,
            &w.a.id,
            &ComplianceSettings::default(),
            &SealedSecretUpdates {
                run_task_key: Some(Some("stolen".into())),
                ..Default::default()
            },
            "mallory",
            200,
        )
        .await
    ));
    assert!(not_found(
        s.compliance_settings(&Scope::Orgs(vec![]), &w.a.id).await
    ));
    // The refused write changed nothing.
    assert_eq!(
        s.compliance_settings(&w.only_a, &w.a.id).await.unwrap(),
        Some(mine)
    );
    assert_eq!(
        s.sealed_provisioning_secret(&w.a.id, ProvisioningSecret::RunTaskKey)
            .await
            .unwrap()
            .as_deref(),
        Some("rtk-a")
    );
    // An organization that does not exist has no settings to write.
    assert!(not_found(
        s.put_compliance_settings(
            &Scope::All,
            "no-such-org",
            &ComplianceSettings::default(),
            &SealedSecretUpdates::default(),
            "root",
            300,
        )
        .await
    ));
    assert_eq!(
        s.compliance_settings(&Scope::All, "no-such-org")
            .await
            .unwrap(),
        None
    );
}

async fn scheduled_compliance_lists_enabled_schedules_only(s: Arc<dyn Store>) {
    // (enabled, schedule, listed)
    let cases = [
        (true, Some("0 3 * * *"), true),
        (true, None, false),
        (false, Some("0 3 * * *"), false),
        (false, None, false),
        (true, Some("*/15 * * * *"), true),
    ];
    let mut orgs = Vec::new();
    for (n, (enabled, schedule, _)) in cases.iter().enumerate() {
        let org = s
            .create_org(&format!("org-{n}"), &format!("hash-{n}"))
            .await
            .unwrap();
        s.put_compliance_settings(
            &Scope::All,
            &org.id,
            &settings(*enabled, *schedule),
            &SealedSecretUpdates::default(),
            "root",
            500,
        )
        .await
        .unwrap();
        orgs.push(org);
    }
    // An organization without settings is never listed.
    s.create_org("bare", "hash-bare").await.unwrap();

    let listed = s.scheduled_compliance().await.unwrap();
    let got: BTreeSet<String> = listed.iter().map(|c| c.org_id.clone()).collect();
    let want: BTreeSet<String> = orgs
        .iter()
        .zip(cases)
        .filter(|(_, (_, _, listed))| *listed)
        .map(|(o, _)| o.id.clone())
        .collect();
    assert_eq!(got, want);
    for stored in &listed {
        let (_, schedule, _) = cases[orgs.iter().position(|o| o.id == stored.org_id).unwrap()];
        assert_eq!(stored.settings.scan_schedule.as_deref(), schedule);
        assert_eq!(stored.scheduled_at, None);
    }

    // Marking one organization's firing touches only its settings.
    s.mark_compliance_scheduled(&orgs[0].id, 1_700_000_000)
        .await
        .unwrap();
    s.mark_compliance_scheduled(&orgs[4].id, 1_700_000_900)
        .await
        .unwrap();
    s.mark_compliance_scheduled(&orgs[0].id, 1_700_003_600)
        .await
        .unwrap();
    let marks: Vec<Option<i64>> = {
        let mut marks = Vec::new();
        for org in &orgs {
            let stored = s.compliance_settings(&Scope::All, &org.id).await.unwrap();
            marks.push(stored.unwrap().scheduled_at);
        }
        marks
    };
    assert_eq!(
        marks,
        [Some(1_700_003_600), None, None, None, Some(1_700_000_900)]
    );
    let listed = s.scheduled_compliance().await.unwrap();
    let first = listed.iter().find(|c| c.org_id == orgs[0].id).unwrap();
    assert_eq!(first.scheduled_at, Some(1_700_003_600));
}

async fn a_machine_is_recorded_once_per_run_and_address(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let wanted = machine(&w.a, "run-1", "10.0.0.1");
    let before = bulwark_store::now();
    let (first, new) = s.record_provisioned_vm(&w.only_a, &wanted).await.unwrap();
    assert!(new);
    // Everything the delivery said is kept; nothing about a scan exists yet.
    let expected = ProvisionedVm {
        id: first.id.clone(),
        org_id: w.a.id.clone(),
        source: ProvisionSource::TerraformRunTask,
        provider: VmProvider::Aws,
        tf_organization: Some("acme".into()),
        workspace: Some("prod-web".into()),
        project: Some("web".into()),
        run_id: "run-1".into(),
        address: "10.0.0.1".into(),
        port: 2222,
        hostname: "vm-10.0.0.1".into(),
        host_key: Some("SHA256:abcdef".into()),
        created_at: first.created_at,
        host_id: None,
        scan_id: None,
        run_task_id: None,
        status: ProvisionStatus::Pending,
        exempted: false,
        failure: None,
        enforcement_mode: EnforcementMode::Block,
        profile: CisProfile::Level1Server,
        min_score: 80.0,
        score: None,
        critical_failures: None,
        high_failures: None,
        medium_failures: None,
        low_failures: None,
        passed: None,
        failed: None,
        errors: None,
        not_applicable: None,
        handover_blocked: false,
        block_reason: None,
        released_by: None,
        released_at: None,
        release_reason: None,
        finished_at: None,
    };
    assert_eq!(first, expected);
    assert!(first.created_at >= before && first.created_at <= bulwark_store::now());
    assert!(!first.held() && !first.handover_allowed());
    assert_eq!(
        s.get_provisioned_vm(&w.only_a, &first.id).await.unwrap(),
        first
    );

    // A replayed delivery answers the first record, unchanged, whatever else it says.
    let mut replay = wanted.clone();
    replay.hostname = "renamed".into();
    replay.status = ProvisionStatus::Cancelled;
    replay.provider = VmProvider::Gcp;
    for attempt in [&wanted, &replay] {
        let (again, new) = s.record_provisioned_vm(&Scope::All, attempt).await.unwrap();
        assert!(!new);
        assert_eq!(again, first);
    }

    // Any other (organization, run, address) is another machine.
    let other_address = machine(&w.a, "run-1", "10.0.0.2");
    let other_run = machine(&w.a, "run-2", "10.0.0.1");
    let other_org = machine(&w.b, "run-1", "10.0.0.1");
    let mut seen = BTreeSet::from([first.id.clone()]);
    for vm in [&other_address, &other_run, &other_org] {
        let (got, new) = s.record_provisioned_vm(&Scope::All, vm).await.unwrap();
        assert!(new, "{} {} {}", vm.org_id, vm.run_id, vm.address);
        assert!(seen.insert(got.id.clone()), "a new id for {}", vm.address);
        assert_eq!(
            (&got.org_id, &got.run_id, &got.address),
            (&vm.org_id, &vm.run_id, &vm.address)
        );
    }
    assert_eq!(
        s.list_provisioned_vms(&Scope::All, &ProvisionedVmFilter::default())
            .await
            .unwrap()
            .len(),
        4
    );

    // A machine recorded already final (an exempt project) is finished when recorded.
    let mut exempt = machine(&w.a, "run-3", "10.0.0.3");
    exempt.status = ProvisionStatus::Cancelled;
    exempt.exempted = true;
    exempt.project = Some("sandbox".into());
    exempt.failure = Some("the project is exempt".into());
    exempt.tf_organization = None;
    exempt.workspace = None;
    exempt.host_key = None;
    let exempt = record(&s, &exempt).await;
    assert_eq!(exempt.status, ProvisionStatus::Cancelled);
    assert!(exempt.exempted);
    assert_eq!(exempt.failure.as_deref(), Some("the project is exempt"));
    assert_eq!(exempt.finished_at, Some(exempt.created_at));
    assert_eq!(
        (exempt.tf_organization, exempt.workspace, exempt.host_key),
        (None, None, None)
    );

    // Another organization's caller can neither record for A nor see A's machine.
    assert!(not_found(
        s.record_provisioned_vm(&w.only_b, &machine(&w.a, "run-9", "10.9.9.9"))
            .await
    ));
    assert!(not_found(s.get_provisioned_vm(&w.only_b, &first.id).await));
    assert!(not_found(
        s.get_provisioned_vm(&w.only_a, "no-such-vm").await
    ));
}

async fn machine_lists_filter_page_and_stay_in_scope(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let mut pending = machine(&w.a, "run-1", "10.0.1.1");
    pending.project = Some("db".into());
    let pending = record(&s, &pending).await;
    let mut exempt = machine(&w.a, "run-1", "10.0.1.2");
    exempt.project = Some("sandbox".into());
    exempt.status = ProvisionStatus::Cancelled;
    exempt.exempted = true;
    let exempt = record(&s, &exempt).await;
    let held = record(&s, &machine(&w.a, "run-1", "10.0.1.3")).await;
    let passed = record(&s, &machine(&w.a, "run-1", "10.0.1.4")).await;
    let released = record(&s, &machine(&w.a, "run-2", "10.0.1.5")).await;
    let mut no_project = machine(&w.a, "run-2", "10.0.1.6");
    no_project.project = None;
    let no_project = record(&s, &no_project).await;
    let theirs = record(&s, &machine(&w.b, "run-1", "10.0.1.1")).await;
    let theirs_held = record(&s, &machine(&w.b, "run-1", "10.0.1.3")).await;

    for (vm, blocked) in [(&held, true), (&passed, false), (&released, true)] {
        assert!(
            s.settle_provisioned_vm(&vm.id, &completed(Some(50.0), blocked, 2_000))
                .await
                .unwrap()
        );
    }
    assert!(
        s.settle_provisioned_vm(&theirs_held.id, &failed("timeout", true, 2_000))
            .await
            .unwrap()
    );
    s.release_provisioned_vm(&w.only_a, &released.id, "root", "accepted risk", 3_000)
        .await
        .unwrap();

    let nobody = Scope::Orgs(vec![]);
    let all_a = [&pending, &exempt, &held, &passed, &released, &no_project];
    let cases: Vec<(&str, &Scope, ProvisionedVmFilter, Vec<&ProvisionedVm>)> = vec![
        ("A: everything", &w.only_a, filter(|_| {}), all_a.to_vec()),
        (
            "all: everything",
            &Scope::All,
            filter(|_| {}),
            [all_a.as_slice(), &[&theirs, &theirs_held]].concat(),
        ),
        (
            "all: organization B",
            &Scope::All,
            filter(|f| f.org_id = Some(w.b.id.clone())),
            vec![&theirs, &theirs_held],
        ),
        (
            "A: pending",
            &w.only_a,
            filter(|f| f.status = Some(ProvisionStatus::Pending)),
            vec![&pending, &no_project],
        ),
        (
            "A: completed",
            &w.only_a,
            filter(|f| f.status = Some(ProvisionStatus::Completed)),
            vec![&held, &passed, &released],
        ),
        (
            "A: cancelled",
            &w.only_a,
            filter(|f| f.status = Some(ProvisionStatus::Cancelled)),
            vec![&exempt],
        ),
        (
            "A: running",
            &w.only_a,
            filter(|f| f.status = Some(ProvisionStatus::Running)),
            vec![],
        ),
        (
            "A: project web",
            &w.only_a,
            filter(|f| f.project = Some("web".into())),
            vec![&held, &passed, &released],
        ),
        (
            "A: project db",
            &w.only_a,
            filter(|f| f.project = Some("db".into())),
            vec![&pending],
        ),
        (
            "A: an empty project is no filter",
            &w.only_a,
            filter(|f| f.project = Some(String::new())),
            all_a.to_vec(),
        ),
        (
            "A: held",
            &w.only_a,
            filter(|f| f.blocked = Some(true)),
            vec![&held],
        ),
        (
            "A: not held (a released machine is not held)",
            &w.only_a,
            filter(|f| f.blocked = Some(false)),
            vec![&pending, &exempt, &passed, &released, &no_project],
        ),
        (
            "all: held",
            &Scope::All,
            filter(|f| f.blocked = Some(true)),
            vec![&held, &theirs_held],
        ),
        (
            "A: completed web not held",
            &w.only_a,
            filter(|f| {
                f.status = Some(ProvisionStatus::Completed);
                f.project = Some("web".into());
                f.blocked = Some(false);
            }),
            vec![&passed, &released],
        ),
        (
            "B: everything",
            &w.only_b,
            filter(|_| {}),
            vec![&theirs, &theirs_held],
        ),
        (
            "B asking for A's organization",
            &w.only_b,
            filter(|f| f.org_id = Some(w.a.id.clone())),
            vec![],
        ),
        ("no organizations", &nobody, filter(|_| {}), vec![]),
    ];
    for (name, scope, f, want) in cases {
        let got = s.list_provisioned_vms(scope, &f).await.unwrap();
        assert_eq!(ids(&got), ids(want.iter().copied()), "{name}");
        assert_eq!(got.len(), want.len(), "{name}: no duplicates");
        assert!(
            got.windows(2).all(|p| p[0].created_at >= p[1].created_at),
            "{name}: newest first"
        );
        assert!(got.iter().all(|v| scope.allows(&v.org_id)), "{name}");
    }

    // Pages of two cover A's six machines once each, in the order of the whole list.
    let whole = s
        .list_provisioned_vms(&w.only_a, &ProvisionedVmFilter::default())
        .await
        .unwrap();
    let mut paged = Vec::new();
    for offset in [0, 2, 4, 6] {
        let page = s
            .list_provisioned_vms(
                &w.only_a,
                &ProvisionedVmFilter {
                    limit: Some(2),
                    offset: Some(offset),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            page.len(),
            if offset < 6 { 2 } else { 0 },
            "offset {offset}"
        );
        paged.extend(page);
    }
    assert_eq!(paged, whole);
    // Limits outside 1..=500 are brought inside; a negative offset is the start.
    for (limit, offset, len) in [
        (Some(0), None, 1),
        (Some(-5), Some(-3), 1),
        (Some(5_000), Some(5), 1),
    ] {
        let got = s
            .list_provisioned_vms(
                &w.only_a,
                &ProvisionedVmFilter {
                    limit,
                    offset,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(got.len(), len, "limit {limit:?} offset {offset:?}");
    }

    assert!(not_found(s.get_provisioned_vm(&w.only_b, &held.id).await));
    assert!(not_found(s.get_provisioned_vm(&w.only_a, &theirs.id).await));
    assert_eq!(
        s.get_provisioned_vm(&w.only_b, &theirs.id)
            .await
            .unwrap()
            .id,
        theirs.id
    );
}

async fn a_machine_starts_and_settles_once(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let scan = scan_of(&s, &w.host_a).await;
    let other_scan = scan_of(&s, &w.host_a).await;
    let scanned = record(&s, &machine(&w.a, "run-1", "10.0.2.1")).await;
    let never_started = record(&s, &machine(&w.a, "run-1", "10.0.2.2")).await;
    let connecting = record(&s, &machine(&w.a, "run-1", "10.0.2.3")).await;
    assert!(s.unsettled_provisioned_vms(10).await.unwrap().is_empty());

    s.start_provisioned_vm(&scanned.id, Some(&w.host_a.id), Some(&scan.id))
        .await
        .unwrap();
    // Connecting: the host exists, the scan not yet.
    s.start_provisioned_vm(&connecting.id, Some(&w.host_a.id), None)
        .await
        .unwrap();
    let running = s.get_provisioned_vm(&w.only_a, &scanned.id).await.unwrap();
    assert_eq!(
        (
            running.status,
            running.host_id.as_deref(),
            running.scan_id.as_deref()
        ),
        (
            ProvisionStatus::Running,
            Some(w.host_a.id.as_str()),
            Some(scan.id.as_str())
        )
    );
    let connecting_now = s
        .get_provisioned_vm(&w.only_a, &connecting.id)
        .await
        .unwrap();
    assert_eq!(
        (
            connecting_now.status,
            connecting_now.host_id.as_deref(),
            connecting_now.scan_id
        ),
        (ProvisionStatus::Running, Some(w.host_a.id.as_str()), None)
    );
    // Only a running machine with a scan waits to be settled.
    let unsettled = s.unsettled_provisioned_vms(10).await.unwrap();
    assert_eq!(ids(&unsettled), BTreeSet::from([scanned.id.clone()]));
    assert_eq!(unsettled[0], running);
    // Machines that never got a scan are stalled once they are older than the cut-off.
    let later = bulwark_store::now() + 10;
    assert_eq!(
        ids(&s.stalled_provisioned_vms(later, 10).await.unwrap()),
        BTreeSet::from([never_started.id.clone(), connecting.id.clone()])
    );
    assert!(
        s.stalled_provisioned_vms(later - 3600, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.stalled_provisioned_vms(later, 1).await.unwrap().len(), 1);

    // Starting again without ids keeps them; the connecting machine gets its scan.
    s.start_provisioned_vm(&scanned.id, None, None)
        .await
        .unwrap();
    assert_eq!(
        s.get_provisioned_vm(&w.only_a, &scanned.id).await.unwrap(),
        running
    );
    s.start_provisioned_vm(&connecting.id, None, Some(&other_scan.id))
        .await
        .unwrap();
    let unsettled = s.unsettled_provisioned_vms(10).await.unwrap();
    assert_eq!(
        ids(&unsettled),
        BTreeSet::from([scanned.id.clone(), connecting.id.clone()])
    );
    assert_eq!(s.unsettled_provisioned_vms(1).await.unwrap().len(), 1);
    assert_eq!(
        ids(&s.stalled_provisioned_vms(later, 10).await.unwrap()),
        BTreeSet::from([never_started.id.clone()]),
        "a machine with a scan is not stalled"
    );

    let settlement = completed(Some(64.25), true, 5_000);
    assert!(
        s.settle_provisioned_vm(&scanned.id, &settlement)
            .await
            .unwrap()
    );
    // Once: a second settlement (a replica racing, a retry) changes nothing.
    let passing = completed(Some(99.0), false, 6_000);
    assert!(
        !s.settle_provisioned_vm(&scanned.id, &passing)
            .await
            .unwrap()
    );
    let settled = s.get_provisioned_vm(&w.only_a, &scanned.id).await.unwrap();
    let tallies = (
        settled.score,
        settled.critical_failures,
        settled.high_failures,
        settled.medium_failures,
        settled.low_failures,
    );
    assert_eq!(tallies, (Some(64.25), Some(2), Some(3), Some(5), Some(7)));
    // not applicable: skipped, not checked, not selected and informational.
    let counts = (
        settled.passed,
        settled.failed,
        settled.errors,
        settled.not_applicable,
    );
    assert_eq!(counts, (Some(40), Some(17), Some(1), Some(16)));
    assert_eq!(settled.status, ProvisionStatus::Completed);
    assert_eq!(settled.enforcement_mode, EnforcementMode::Block);
    assert!(settled.handover_blocked && settled.held() && !settled.handover_allowed());
    assert_eq!(
        settled.block_reason.as_deref(),
        Some("2 critical CIS check(s) failed")
    );
    assert_eq!(settled.finished_at, Some(5_000));
    assert_eq!(settled.failure, None);
    assert_eq!(
        (settled.host_id.as_deref(), settled.scan_id.as_deref()),
        (Some(w.host_a.id.as_str()), Some(scan.id.as_str()))
    );
    // A settled machine does not start again.
    s.start_provisioned_vm(&scanned.id, Some(&w.host_a.id), Some(&other_scan.id))
        .await
        .unwrap();
    assert_eq!(
        s.get_provisioned_vm(&w.only_a, &scanned.id).await.unwrap(),
        settled
    );
    assert_eq!(
        ids(&s.unsettled_provisioned_vms(10).await.unwrap()),
        BTreeSet::from([connecting.id.clone()])
    );

    // A machine that never started can fail; with no tally, nothing is counted. Warn mode
    // records what block mode would have done without holding the machine.
    let warn = VmSettlement {
        enforcement_mode: EnforcementMode::Warn,
        ..failed("no route to host", false, 7_000)
    };
    assert!(
        s.settle_provisioned_vm(&never_started.id, &warn)
            .await
            .unwrap()
    );
    let failed_vm = s
        .get_provisioned_vm(&w.only_a, &never_started.id)
        .await
        .unwrap();
    assert_eq!(
        (
            failed_vm.status,
            failed_vm.failure.as_deref(),
            failed_vm.enforcement_mode,
            failed_vm.handover_blocked,
            failed_vm.finished_at
        ),
        (
            ProvisionStatus::Failed,
            Some("no route to host"),
            EnforcementMode::Warn,
            false,
            Some(7_000)
        )
    );
    assert_eq!(
        (
            failed_vm.score,
            failed_vm.critical_failures,
            failed_vm.passed,
            failed_vm.not_applicable
        ),
        (None, None, None, None)
    );
    assert!(failed_vm.handover_allowed());

    // A completed scan with nothing scored keeps its counts but no score.
    assert!(
        s.settle_provisioned_vm(&connecting.id, &completed(None, false, 8_000))
            .await
            .unwrap()
    );
    let unscored = s
        .get_provisioned_vm(&w.only_a, &connecting.id)
        .await
        .unwrap();
    assert_eq!(
        (unscored.score, unscored.critical_failures, unscored.passed),
        (None, Some(2), Some(40))
    );
    assert!(!unscored.handover_blocked && unscored.block_reason.is_none());
    assert!(s.unsettled_provisioned_vms(10).await.unwrap().is_empty());
    assert!(
        !s.settle_provisioned_vm("no-such-vm", &settlement)
            .await
            .unwrap()
    );
}

async fn only_a_held_machine_is_released_and_only_once(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let pending = record(&s, &machine(&w.a, "run-1", "10.0.3.1")).await;
    let running = record(&s, &machine(&w.a, "run-1", "10.0.3.2")).await;
    s.start_provisioned_vm(&running.id, None, None)
        .await
        .unwrap();
    let passed = record(&s, &machine(&w.a, "run-1", "10.0.3.3")).await;
    s.settle_provisioned_vm(&passed.id, &completed(Some(95.0), false, 100))
        .await
        .unwrap();
    let warned = record(&s, &machine(&w.a, "run-1", "10.0.3.4")).await;
    s.settle_provisioned_vm(
        &warned.id,
        &VmSettlement {
            enforcement_mode: EnforcementMode::Warn,
            reason: Some("score 40 below minimum 80".into()),
            ..completed(Some(40.0), false, 100)
        },
    )
    .await
    .unwrap();
    let blocked = record(&s, &machine(&w.a, "run-1", "10.0.3.5")).await;
    s.settle_provisioned_vm(&blocked.id, &completed(Some(40.0), true, 100))
        .await
        .unwrap();
    let unreachable = record(&s, &machine(&w.a, "run-1", "10.0.3.6")).await;
    s.settle_provisioned_vm(&unreachable.id, &failed("timeout", true, 100))
        .await
        .unwrap();

    // Nothing to release unless the machine is held.
    for vm in [&pending, &running, &passed, &warned] {
        assert!(
            conflict(
                s.release_provisioned_vm(&w.only_a, &vm.id, "root", "ship it", 200)
                    .await
            ),
            "{}",
            vm.address
        );
        let after = s.get_provisioned_vm(&w.only_a, &vm.id).await.unwrap();
        assert_eq!(
            (after.released_by, after.released_at, after.release_reason),
            (None, None, None)
        );
    }

    for (vm, by, reason, at) in [
        (&blocked, "alice", "accepted risk until the next image", 300),
        (&unreachable, "bob", "checked by hand", 400),
    ] {
        // Another organization's caller sees no such machine, and releases nothing.
        assert!(not_found(
            s.release_provisioned_vm(&w.only_b, &vm.id, "mallory", "mine now", at)
                .await
        ));
        assert!(
            s.get_provisioned_vm(&w.only_a, &vm.id)
                .await
                .unwrap()
                .held()
        );
        let released = s
            .release_provisioned_vm(&w.only_a, &vm.id, by, reason, at)
            .await
            .unwrap();
        assert_eq!(
            (
                released.released_by.as_deref(),
                released.released_at,
                released.release_reason.as_deref()
            ),
            (Some(by), Some(at), Some(reason))
        );
        // Still blocked by the scan's verdict, no longer held back.
        assert!(released.handover_blocked && !released.held() && released.handover_allowed());
        assert_eq!(
            s.get_provisioned_vm(&w.only_a, &vm.id).await.unwrap(),
            released
        );
        // A second release is refused and keeps the first one's record.
        let again = s
            .release_provisioned_vm(&Scope::All, &vm.id, "carol", "again", at + 50)
            .await;
        match again {
            Err(StoreError::Conflict(message)) => {
                assert!(message.contains(by), "{message}")
            }
            other => panic!("a second release: {other:?}"),
        }
        assert_eq!(
            s.get_provisioned_vm(&w.only_a, &vm.id).await.unwrap(),
            released
        );
    }
    assert!(not_found(
        s.release_provisioned_vm(&w.only_a, "no-such-vm", "root", "r", 500)
            .await
    ));
    assert!(
        s.list_provisioned_vms(
            &w.only_a,
            &ProvisionedVmFilter {
                blocked: Some(true),
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty()
    );
}

async fn overview_counts_completed_held_and_passing_machines(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let empty = ProvisioningOverview {
        average_score: None,
        total_scans: 0,
        completed_scans: 0,
        blocked: 0,
        pass_rate: None,
    };
    assert_eq!(
        s.provisioning_overview(&Scope::All, None).await.unwrap(),
        empty
    );

    enum End {
        Pending,
        Running,
        Completed(Option<f64>, bool),
        Failed(bool),
        Released(f64),
    }
    // (organization, minimum score, how its scan ended)
    let machines = [
        (&w.a, 80.0, End::Completed(Some(90.0), false)),
        (&w.a, 80.0, End::Completed(Some(60.0), true)),
        (&w.a, 70.0, End::Released(75.0)),
        (&w.a, 80.0, End::Completed(Some(80.0), false)),
        (&w.a, 95.0, End::Completed(None, true)),
        (&w.a, 80.0, End::Failed(true)),
        (&w.a, 80.0, End::Failed(false)),
        (&w.a, 80.0, End::Pending),
        (&w.a, 80.0, End::Running),
        (&w.b, 80.0, End::Completed(Some(10.0), true)),
        (&w.b, 5.0, End::Completed(Some(10.0), false)),
    ];
    for (n, (org, min_score, end)) in machines.iter().enumerate() {
        let vm = record(
            &s,
            &NewProvisionedVm {
                min_score: *min_score,
                ..machine(org, "run-1", &format!("10.0.4.{n}"))
            },
        )
        .await;
        let settlement = match end {
            End::Pending => continue,
            End::Running => {
                s.start_provisioned_vm(&vm.id, None, None).await.unwrap();
                continue;
            }
            End::Completed(score, blocked) => completed(*score, *blocked, 10),
            End::Failed(blocked) => failed("refused", *blocked, 10),
            End::Released(score) => completed(Some(*score), true, 10),
        };
        assert!(s.settle_provisioned_vm(&vm.id, &settlement).await.unwrap());
        if let End::Released(_) = end {
            s.release_provisioned_vm(&Scope::All, &vm.id, "root", "fine", 20)
                .await
                .unwrap();
        }
    }

    let only_a = ProvisioningOverview {
        // The scored completed scans: 90, 60, 75 and 80.
        average_score: Some(76.25),
        total_scans: 9,
        completed_scans: 5,
        // The 60, the unscored completed scan and the failed scan in block mode.
        blocked: 3,
        // 90 ≥ 80, 75 ≥ 70 and 80 ≥ 80 of five completed.
        pass_rate: Some(60.0),
    };
    let only_b = ProvisioningOverview {
        average_score: Some(10.0),
        total_scans: 2,
        completed_scans: 2,
        blocked: 1,
        pass_rate: Some(50.0),
    };
    // With C's one pending machine.
    let everyone = ProvisioningOverview {
        average_score: Some(325.0 / 6.0),
        total_scans: 12,
        completed_scans: 7,
        blocked: 4,
        pass_rate: Some(4.0 * 100.0 / 7.0),
    };
    let none_completed = ProvisioningOverview {
        total_scans: 1,
        ..empty.clone()
    };
    let c = s.create_org("gamma", "hash-c").await.unwrap();
    record(&s, &machine(&c, "run-1", "10.0.5.1")).await;
    let nobody = Scope::Orgs(vec![]);
    let only_c = Scope::Orgs(vec![c.id.clone()]);
    let cases = [
        ("A", &w.only_a, None, &only_a),
        ("all, A", &Scope::All, Some(w.a.id.as_str()), &only_a),
        ("A, A", &w.only_a, Some(w.a.id.as_str()), &only_a),
        ("B", &w.only_b, None, &only_b),
        ("all", &Scope::All, None, &everyone),
        ("B asking for A", &w.only_b, Some(w.a.id.as_str()), &empty),
        ("no organizations", &nobody, None, &empty),
        ("C: nothing completed", &only_c, None, &none_completed),
    ];
    for (name, scope, org, want) in cases {
        let got = s.provisioning_overview(scope, org).await.unwrap();
        assert_eq!(
            (got.total_scans, got.completed_scans, got.blocked),
            (want.total_scans, want.completed_scans, want.blocked),
            "{name}"
        );
        assert!(
            close(got.average_score, want.average_score),
            "{name}: average {:?}, want {:?}",
            got.average_score,
            want.average_score
        );
        assert!(
            close(got.pass_rate, want.pass_rate),
            "{name}: pass rate {:?}, want {:?}",
            got.pass_rate,
            want.pass_rate
        );
    }
}

fn run_task(org: &Org, task_result_id: &str, received_at: i64) -> NewRunTask {
    NewRunTask {
        org_id: org.id.clone(),
        task_result_id: task_result_id.into(),
        run_id: format!("run-{task_result_id}"),
        workspace: Some("prod-web".into()),
        callback_url: format!(
            "https://app.terraform.io/api/v2/task-results/{task_result_id}/callback"
        ),
        sealed_access_token: format!("sealed-token-{task_result_id}"),
        received_at,
    }
}

async fn run_tasks_are_recorded_once_and_keep_their_reports(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let wanted = run_task(&w.a, "taskrs-1", 1_000);
    let (task, new) = s.record_run_task(&w.only_a, &wanted).await.unwrap();
    assert!(new);
    assert_eq!(
        task,
        RunTask {
            id: task.id.clone(),
            org_id: w.a.id.clone(),
            task_result_id: "taskrs-1".into(),
            run_id: "run-taskrs-1".into(),
            workspace: Some("prod-web".into()),
            callback_url: wanted.callback_url.clone(),
            received_at: 1_000,
            machines: None,
            reported: None,
            reported_at: None,
            message: None,
            attempts: 0,
            last_error: None,
            done: false,
        }
    );
    // A replayed delivery answers the first record, whatever else it carries.
    let replay = NewRunTask {
        callback_url: "https://elsewhere.example/callback".into(),
        sealed_access_token: "sealed-other".into(),
        received_at: 9_000,
        ..wanted.clone()
    };
    for attempt in [&wanted, &replay] {
        let (again, new) = s.record_run_task(&Scope::All, attempt).await.unwrap();
        assert!(!new);
        assert_eq!(again, task);
    }
    assert_eq!(
        s.sealed_run_task_token(&task.id).await.unwrap(),
        "sealed-token-taskrs-1"
    );
    assert!(not_found(s.sealed_run_task_token("no-such-task").await));
    // The same task result id in another organization is another task; a caller outside
    // the organization records nothing.
    let (theirs, new) = s
        .record_run_task(&w.only_b, &run_task(&w.b, "taskrs-1", 500))
        .await
        .unwrap();
    assert!(new);
    assert_ne!(theirs.id, task.id);
    assert!(not_found(
        s.record_run_task(&w.only_b, &run_task(&w.a, "taskrs-2", 600))
            .await
    ));
    let (later, _) = s
        .record_run_task(&w.only_a, &run_task(&w.a, "taskrs-3", 2_000))
        .await
        .unwrap();

    let open_ids = |tasks: Vec<RunTask>| tasks.into_iter().map(|t| t.id).collect::<Vec<_>>();
    // Oldest first.
    assert_eq!(
        open_ids(s.open_run_tasks(10).await.unwrap()),
        [theirs.id.clone(), task.id.clone(), later.id.clone()]
    );
    assert_eq!(
        open_ids(s.open_run_tasks(1).await.unwrap()),
        vec![theirs.id.clone()]
    );

    s.run_task_machines(&task.id, 3).await.unwrap();
    let current = |tasks: Vec<RunTask>, id: &str| tasks.into_iter().find(|t| t.id == id);
    assert_eq!(
        current(s.open_run_tasks(10).await.unwrap(), &task.id)
            .unwrap()
            .machines,
        Some(3)
    );

    // Each callback attempt, and the task as it stands after it:
    // (sent, message, error, done, at) → (reported, reported_at, message, attempts, last_error).
    type Attempt = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        bool,
        i64,
    );
    type After = (
        Option<&'static str>,
        Option<i64>,
        Option<&'static str>,
        i64,
        Option<&'static str>,
    );
    let attempts: [(Attempt, After); 4] = [
        (
            (
                Some("running"),
                Some("scanning 3 machines"),
                None,
                false,
                1_100,
            ),
            (
                Some("running"),
                Some(1_100),
                Some("scanning 3 machines"),
                1,
                None,
            ),
        ),
        // Terraform did not answer: what was last sent stays, the error is kept.
        (
            (None, None, Some("connection refused"), false, 1_200),
            (
                Some("running"),
                Some(1_100),
                Some("scanning 3 machines"),
                2,
                Some("connection refused"),
            ),
        ),
        (
            (None, Some("2 of 3 scanned"), Some("HTTP 502"), false, 1_300),
            (
                Some("running"),
                Some(1_100),
                Some("2 of 3 scanned"),
                3,
                Some("HTTP 502"),
            ),
        ),
        (
            (
                Some("failed"),
                Some("1 machine held back"),
                None,
                true,
                1_400,
            ),
            (
                Some("failed"),
                Some(1_400),
                Some("1 machine held back"),
                4,
                None,
            ),
        ),
    ];
    for (n, ((sent, message, error, done, at), want)) in attempts.into_iter().enumerate() {
        s.run_task_reported(
            &task.id,
            &RunTaskReport {
                sent: sent.map(String::from),
                message: message.map(String::from),
                error: error.map(String::from),
                done,
                at,
            },
        )
        .await
        .unwrap();
        let open = s.open_run_tasks(10).await.unwrap();
        assert_eq!(
            current(open, &task.id).is_none(),
            done,
            "attempt {n}: listed while open only"
        );
        // A replay reads the task back whether or not it is done.
        let (now, _) = s.record_run_task(&Scope::All, &wanted).await.unwrap();
        assert_eq!(
            (
                now.reported.as_deref(),
                now.reported_at,
                now.message.as_deref(),
                now.attempts,
                now.last_error.as_deref()
            ),
            want,
            "attempt {n}"
        );
        assert_eq!((now.done, now.machines), (done, Some(3)), "attempt {n}");
    }
    assert_eq!(
        open_ids(s.open_run_tasks(10).await.unwrap()),
        [theirs.id.clone(), later.id.clone()]
    );
    // The other tasks were not touched.
    let untouched = current(s.open_run_tasks(10).await.unwrap(), &later.id).unwrap();
    assert_eq!((untouched.attempts, untouched.reported), (0, None));

    // The run's machines, by hostname.
    for (address, task_id) in [
        ("10.0.6.2", Some(&task.id)),
        ("10.0.6.1", Some(&task.id)),
        ("10.0.6.3", Some(&later.id)),
        ("10.0.6.4", None),
    ] {
        record(
            &s,
            &NewProvisionedVm {
                run_task_id: task_id.cloned(),
                ..machine(&w.a, "run-taskrs", address)
            },
        )
        .await;
    }
    let hostnames = |vms: Vec<ProvisionedVm>| {
        vms.into_iter()
            .map(|v| (v.hostname, v.run_task_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        hostnames(s.run_task_vms(&task.id).await.unwrap()),
        [
            ("vm-10.0.6.1".to_string(), Some(task.id.clone())),
            ("vm-10.0.6.2".to_string(), Some(task.id.clone())),
        ]
    );
    assert_eq!(
        hostnames(s.run_task_vms(&later.id).await.unwrap()),
        [("vm-10.0.6.3".to_string(), Some(later.id.clone()))]
    );
    assert!(s.run_task_vms(&theirs.id).await.unwrap().is_empty());
}

async fn provisioned_hosts_answer_the_latest_record_per_host(s: Arc<dyn Store>) {
    let w = world(&s).await;
    let other_a = s.create_host(&new_host(&w.a, "db-a")).await.unwrap();
    let started = |vm: NewProvisionedVm, host: &Host| {
        let s = s.clone();
        let host = host.id.clone();
        async move {
            let vm = record(&s, &vm).await;
            s.start_provisioned_vm(&vm.id, Some(&host), None)
                .await
                .unwrap();
            s.get_provisioned_vm(&Scope::All, &vm.id).await.unwrap()
        }
    };
    let old = started(machine(&w.a, "run-1", "10.0.7.1"), &w.host_a).await;
    let db = started(machine(&w.a, "run-1", "10.0.7.2"), &other_a).await;
    let theirs = started(machine(&w.b, "run-1", "10.0.7.1"), &w.host_b).await;
    // A machine whose scan never started has no host and is not rescanned.
    record(&s, &machine(&w.a, "run-1", "10.0.7.9")).await;
    after_second(old.created_at).await;
    // A later run reports the same host again (the scheduled rescans do exactly this).
    let newer = started(machine(&w.a, "schedule-1", "10.0.7.1"), &w.host_a).await;
    assert!(newer.created_at > old.created_at);
    s.settle_provisioned_vm(&newer.id, &completed(Some(90.0), false, 50))
        .await
        .unwrap();
    let newer = s.get_provisioned_vm(&Scope::All, &newer.id).await.unwrap();

    let got = s.provisioned_hosts(&w.a.id).await.unwrap();
    // By the machines' hostnames: vm-10.0.7.1 (the newer record of web-a), vm-10.0.7.2.
    assert_eq!(got, [newer.clone(), db.clone()]);
    assert_eq!(s.provisioned_hosts(&w.b.id).await.unwrap(), [theirs]);
    assert!(s.provisioned_hosts("no-such-org").await.unwrap().is_empty());

    // Two records of one host in quick succession (most often within the same second) still
    // answer one record for it: the newer, or either when they tie.
    let cache = s.create_host(&new_host(&w.a, "cache-a")).await.unwrap();
    let first = started(machine(&w.a, "run-5", "10.0.7.3"), &cache).await;
    let second = started(machine(&w.a, "run-6", "10.0.7.3"), &cache).await;
    let got = s.provisioned_hosts(&w.a.id).await.unwrap();
    let hosts: Vec<_> = got.iter().map(|v| v.host_id.clone().unwrap()).collect();
    assert_eq!(
        hosts,
        [w.host_a.id.clone(), other_a.id.clone(), cache.id.clone()]
    );
    let cached = &got[2];
    assert!(cached.id == first.id || cached.id == second.id);
    assert_eq!(cached.created_at, second.created_at);
}
