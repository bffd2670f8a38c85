//! Migrations keep what is stored: a database written by an older schema reads the same
//! through the store after the newer migrations ran, on both backends.

use bulwark_core::{Severity, Status};
use bulwark_store::{Scope, testing};

/// Rows as the schema of migration 0003 stored them: one per check result.
const BEFORE_RESULT_SETS: &[&str] = &[
    "INSERT INTO orgs (id, name, secret_hash, created_at) VALUES ('o1', 'alpha', 'h', 1)",
    "INSERT INTO hosts (id, org_id, hostname, os_kind, os_id, os_version, status, created_at) \
     VALUES ('h1', 'o1', 'web', 'linux', 'debian', '12', 'active', 1)",
    "INSERT INTO scans (id, org_id, host_id, hostname, template_id, template_name, framework, os_kind, trigger_kind, \
       status, created_at, completed_at, passing_threshold) \
     VALUES ('s1', 'o1', 'h1', 'web', 't1', 'T', 'cis_level1', 'linux', 'on_demand', 'completed', 1, 2, 80)",
    "INSERT INTO scan_results (scan_id, check_id, status, severity, category, title, actual, expected, reason) VALUES \
     ('s1', 'B-2', 'fail', 'high', 'Logging', 'Second', 'no', 'yes', 'it''s off'), \
     ('s1', 'A-1', 'pass', 'low', 'Access', 'First', NULL, 'anything', NULL)",
];

async fn results_survive_0004(url: &str, before: impl AsyncFnOnce()) {
    before().await;
    let store = bulwark_store::connect(url).await.unwrap();
    let results = store.scan_results(&Scope::All, "s1", None).await.unwrap();
    let seen: Vec<_> = results
        .iter()
        .map(|r| {
            (
                r.check_id.as_str(),
                r.outcome.status,
                r.severity,
                r.category.as_str(),
                r.title.as_str(),
                r.outcome.actual.as_deref(),
                r.outcome.expected.as_str(),
                r.outcome.reason.as_deref(),
            )
        })
        .collect();
    // Listed failures first, as every list of results is.
    assert_eq!(
        seen,
        vec![
            (
                "B-2",
                Status::Fail,
                Severity::High,
                "Logging",
                "Second",
                Some("no"),
                "yes",
                Some("it's off")
            ),
            (
                "A-1",
                Status::Pass,
                Severity::Low,
                "Access",
                "First",
                None,
                "anything",
                None
            ),
        ]
    );
    let failed = store
        .scan_results(&Scope::All, "s1", Some(Status::Fail))
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
}

#[tokio::test]
async fn sqlite_results_survive_the_move_to_result_sets() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    results_survive_0004(&url, async || {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .unwrap();
        sqlx::migrate!("migrations/sqlite")
            .run_to(3, &pool)
            .await
            .unwrap();
        for sql in BEFORE_RESULT_SETS {
            sqlx::query(*sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn postgres_results_survive_the_move_to_result_sets() {
    let url = testing::postgres_schema_url().await.unwrap();
    results_survive_0004(&url, async || {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::migrate!("migrations/postgres")
            .run_to(3, &pool)
            .await
            .unwrap();
        for sql in BEFORE_RESULT_SETS {
            sqlx::query(*sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    })
    .await;
}

/// A policy, its override and a scan of it as the schema of migration 0008 stored them.
const BEFORE_POLICIES_FOR_EVERY_OS: &[&str] = &[
    "INSERT INTO orgs (id, name, secret_hash, created_at) VALUES ('o1', 'alpha', 'h', 1)",
    "INSERT INTO hosts (id, org_id, hostname, os_kind, os_id, os_version, status, created_at) \
     VALUES ('h1', 'o1', 'web', 'linux', 'debian', '12', 'active', 1)",
    "INSERT INTO templates (id, org_id, name, framework, os_kind, version, benchmark, is_system, active, \
       content_hash, created_at, updated_at) \
     VALUES ('t1', NULL, 'T', 'cis_level1', 'linux', '1', 'b', TRUE, TRUE, 'x', 1, 1)",
    "INSERT INTO policies (id, org_id, name, os_kind, template_id, interval_hours, active, passing_threshold, \
       schedule_type, cron, created_at, updated_at) \
     VALUES ('p1', 'o1', 'Linux', 'linux', 't1', 24, TRUE, 80, 'continuous', NULL, 1, 1)",
    "INSERT INTO policy_overrides (id, policy_id, host_id, template_id, created_at) VALUES ('v1', 'p1', 'h1', 't1', 1)",
    "INSERT INTO scans (id, org_id, host_id, hostname, policy_id, template_id, template_name, framework, os_kind, \
       trigger_kind, status, created_at, passing_threshold) \
     VALUES ('s1', 'o1', 'h1', 'web', 'p1', 't1', 'T', 'cis_level1', 'linux', 'scheduled', 'pending', 1, 80)",
];

/// Copying the policies table (SQLite) must not cascade into its overrides or scans.
async fn policies_keep_their_overrides_and_scans(url: &str, before: impl AsyncFnOnce()) {
    before().await;
    let store = bulwark_store::connect(url).await.unwrap();
    let policy = store.get_policy(&Scope::All, "p1").await.unwrap();
    assert_eq!(
        (
            policy.template_id.as_deref(),
            policy.cis_level,
            policy.os_kind
        ),
        (Some("t1"), None, bulwark_store::PolicyTarget::Linux)
    );
    assert!(store.override_for("p1", "h1").await.unwrap().is_some());
    let scan = store.get_scan(&Scope::All, "s1").await.unwrap();
    assert_eq!(scan.policy_id.as_deref(), Some("p1"));
}

#[tokio::test]
async fn sqlite_policies_keep_their_overrides_and_scans_through_0009() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    policies_keep_their_overrides_and_scans(&url, async || {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool =
            sqlx::SqlitePool::connect_with(options.create_if_missing(true).foreign_keys(true))
                .await
                .unwrap();
        sqlx::migrate!("migrations/sqlite")
            .run_to(8, &pool)
            .await
            .unwrap();
        for sql in BEFORE_POLICIES_FOR_EVERY_OS {
            sqlx::query(*sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn postgres_policies_keep_their_overrides_and_scans_through_0009() {
    let url = testing::postgres_schema_url().await.unwrap();
    policies_keep_their_overrides_and_scans(&url, async || {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::migrate!("migrations/postgres")
            .run_to(8, &pool)
            .await
            .unwrap();
        for sql in BEFORE_POLICIES_FOR_EVERY_OS {
            sqlx::query(*sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    })
    .await;
}
