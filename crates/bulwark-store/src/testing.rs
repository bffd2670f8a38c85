//! Databases for tests: a fresh SQLite file, or a fresh schema in the PostgreSQL server named
//! by `BULWARK_TEST_POSTGRES` (default: the local `test` database). The same suites run on
//! both, so a query that only works on one backend fails a test.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;

use crate::db::Db;
use crate::{Store, StoreError};

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_url() -> String {
    std::env::var("BULWARK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into())
}

/// A store on a new SQLite file inside `dir`.
pub async fn sqlite(dir: &std::path::Path) -> Result<Arc<dyn Store>, StoreError> {
    crate::connect(&format!("sqlite://{}", dir.join("bulwark.db").display())).await
}

/// A store on a new, uniquely named schema of the test PostgreSQL database.
pub async fn postgres() -> Result<Arc<dyn Store>, StoreError> {
    Ok(crate::from_db(postgres_db().await?))
}

pub async fn postgres_db() -> Result<Db, StoreError> {
    postgres_db_at(&postgres_url()).await
}

/// A new, uniquely named schema in the PostgreSQL database `url` names.
pub async fn postgres_db_at(url: &str) -> Result<Db, StoreError> {
    let (first, _) = schema_pools(url, 1).await?;
    Ok(first)
}

/// Two independent pools on one new schema: two server replicas sharing a database.
pub async fn postgres_pair() -> Result<(Db, Db), StoreError> {
    let (first, second) = schema_pools(&postgres_url(), 2).await?;
    Ok((first, second.expect("two pools were asked for")))
}

/// A URL of the test PostgreSQL database that works in a new, empty schema: for tests that
/// start the `bulwark` binary itself.
pub async fn postgres_schema_url() -> Result<String, StoreError> {
    let url = postgres_url();
    let schema = new_schema(&url).await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options[search_path]={schema}"))
}

/// Test schemas older than this are dropped when a new one is made, so that repeated runs do
/// not fill the test database (tests never run this long).
const SCHEMA_MAX_AGE_SECS: i64 = 3 * 3600;

async fn new_schema(url: &str) -> Result<String, StoreError> {
    let now = crate::now();
    let schema = format!("t_{now}_{}", uuid::Uuid::new_v4().simple());
    let base = PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(e.to_string()))?;
    let admin = Db::connect_postgres_plain(base).await?;
    #[derive(sqlx::FromRow)]
    struct Name {
        nspname: String,
    }
    let existing: Vec<Name> = admin
        .fetch_all(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'",
            vec![],
        )
        .await?;
    for old in existing.iter().filter(|n| stale(&n.nspname, now)) {
        // Another run may drop the same schema at once; that is fine.
        let _ = admin
            .execute(
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", old.nspname),
                vec![],
            )
            .await;
    }
    admin
        .execute(&format!("CREATE SCHEMA {schema}"), vec![])
        .await?;
    Ok(schema)
}

/// `t_<unix seconds>_<uuid>` older than the limit, or the older `t_<uuid>` form.
fn stale(name: &str, now: i64) -> bool {
    let Some(rest) = name.strip_prefix("t_") else {
        return false;
    };
    match rest.split_once('_') {
        Some((secs, _)) => secs
            .parse::<i64>()
            .is_ok_and(|t| now - t > SCHEMA_MAX_AGE_SECS),
        None => rest.len() == 32 && rest.chars().all(|c| c.is_ascii_hexdigit()),
    }
}

async fn schema_pools(url: &str, pools: usize) -> Result<(Db, Option<Db>), StoreError> {
    let schema = new_schema(url).await?;
    let base = PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(e.to_string()))?;
    let options = base.options([("search_path", schema.as_str())]);
    let first = Db::connect_postgres(options.clone()).await?;
    let second = match pools {
        2 => Some(Db::connect_postgres(options).await?),
        _ => None,
    };
    Ok((first, second))
}

/// Fills the database with `scans` completed scans of `hosts` hosts spread over `days` days,
/// with per-check results for the newest `with_results` of them, and the rollups ingest would
/// have kept — for benchmarks of reads at a size that ingest would take hours to reach.
/// Returns the host ids.
pub async fn bench_fill(db: &Db, fill: &BenchFill<'_>) -> Result<Vec<String>, StoreError> {
    use crate::args;
    let now = crate::now();
    let mut tx = db.begin().await?;
    tx.execute(
        "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $1) \
         INSERT INTO hosts (id, org_id, hostname, os_kind, os_id, os_version, status, created_at) \
         SELECT 'bench-host-' || CAST(n AS TEXT), $2, 'host-' || CAST(n AS TEXT), 'linux', 'debian', '12', 'active', $3 FROM seq",
        args![fill.hosts as i64, fill.org_id, now],
    )
    .await?;
    tx.execute(
        "INSERT INTO host_seen (host_id, last_seen_at) SELECT id, $2 FROM hosts WHERE org_id = $1",
        args![fill.org_id, now],
    )
    .await?;
    let span = fill.days * 86_400;
    tx.execute(
        "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $1) \
         INSERT INTO scans (id, org_id, host_id, hostname, policy_id, template_id, template_name, framework, os_kind, \
           trigger_kind, status, created_at, started_at, completed_at, score, weighted_score, risk, passed, failed, errors, \
           skipped, waived, total, passing_threshold) \
         SELECT 'bench-scan-' || CAST(n AS TEXT), $2, 'bench-host-' || CAST(n % $3 AS TEXT), 'host-' || CAST(n % $3 AS TEXT), \
           $4, $5, 'Bench template', 'cis_level1', 'linux', 'scheduled', 'completed', \
           $6 - $7 + (n * $7) / $1, $6 - $7 + (n * $7) / $1, $6 - $7 + (n * $7) / $1, \
           CAST(40 + (n * 37) % 60 AS DOUBLE PRECISION), CAST(40 + (n * 37) % 60 AS DOUBLE PRECISION), \
           CASE WHEN n % 7 = 0 THEN 'critical' WHEN n % 5 = 0 THEN 'high' ELSE 'medium' END, \
           64 + (n * 37) % 96, 96 - (n * 37) % 96, 0, 0, 0, 160, 80 FROM seq",
        args![fill.scans as i64, fill.org_id, fill.hosts as i64, fill.policy_id, fill.template_id, now, span],
    )
    .await?;
    tx.execute(
        "INSERT INTO scan_daily (org_id, policy_id, day, scans, scored, score_sum, passed, failed) \
         SELECT org_id, policy_id, completed_at / 86400, COUNT(*), COUNT(score), SUM(score), SUM(passed), SUM(failed) \
         FROM scans WHERE org_id = $1 GROUP BY org_id, policy_id, completed_at / 86400",
        args![fill.org_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO host_compliance (host_id, policy_id, org_id, scan_id, score, risk, passing, completed_at) \
         SELECT host_id, policy_id, org_id, id, score, risk, score >= passing_threshold, completed_at FROM \
           (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY host_id ORDER BY completed_at DESC, id) AS rn \
            FROM scans s WHERE org_id = $1) latest WHERE rn = 1",
        args![fill.org_id],
    )
    .await?;
    // Every filled scan gets the same 160 results; the store reads them like ingest's own.
    let results: Vec<crate::ScanResult> = (0..160)
        .map(|n| crate::ScanResult {
            check_id: format!("BENCH-{n}"),
            title: format!("Bench check {n}"),
            category: format!("Category {}", n % 11),
            severity: bulwark_core::Severity::Medium,
            outcome: bulwark_core::CheckOutcome {
                status: match n % 3 {
                    0 => bulwark_core::Status::Fail,
                    _ => bulwark_core::Status::Pass,
                },
                actual: Some("seen".into()),
                expected: "wanted".into(),
                reason: None,
            },
        })
        .collect();
    let (encoding, body) = crate::sql::encode_results(&results)?;
    tx.execute(
        "INSERT INTO scan_result_sets (scan_id, encoding, body) \
         SELECT id, $3, $4 FROM scans WHERE org_id = $1 ORDER BY completed_at DESC LIMIT $2",
        args![fill.org_id, fill.with_results as i64, encoding, body],
    )
    .await?;
    tx.commit().await?;
    // Fresh statistics, as a long-running database would have.
    db.execute("ANALYZE", vec![]).await?;
    Ok((0..fill.hosts).map(|n| format!("bench-host-{n}")).collect())
}

pub struct BenchFill<'a> {
    pub org_id: &'a str,
    pub policy_id: &'a str,
    pub template_id: &'a str,
    pub hosts: usize,
    pub scans: usize,
    pub days: i64,
    pub with_results: usize,
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_old_test_schemas_are_stale() {
        let now = 1_000_000;
        for (name, want) in [
            ("t_980000_0123abcd", true),
            ("t_999000_0123abcd", false),
            ("t_4bdcc975a20f415db9702f45b90893a4", true),
            ("public", false),
            ("t_notes", false),
        ] {
            assert_eq!(super::stale(name, now), want, "{name}");
        }
    }
}
