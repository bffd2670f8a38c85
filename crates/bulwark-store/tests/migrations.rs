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
