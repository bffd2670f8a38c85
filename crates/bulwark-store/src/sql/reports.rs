//! The dashboard, trends and export. Totals and trends read the per-day rollups and the
//! latest-per-host table that ingest keeps, so their cost does not grow with stored scans;
//! "last N scans" panels read N scans through the (org, completed_at) index.

use async_trait::async_trait;

use super::SqlStore;
use std::collections::BTreeMap;

use super::result_sets::{ResultSetRow, Stored};
use super::scans::COLUMNS;
use crate::db::{Arg, SqlBuf, placeholders};
use crate::{
    Bucket, CategoryScore, Dashboard, ExportFilter, FailingCheck, FrameworkScore, HostScore,
    ReportStore, Result, Scan, Scope, TrendDay, Trends, args,
};

#[derive(sqlx::FromRow)]
struct Totals {
    scans: Option<i64>,
    scored: Option<i64>,
    score_sum: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct LatestCounts {
    hosts: i64,
    latest: i64,
    /// `None` when there are no rows (SUM of nothing).
    passing: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct PolicyRef {
    id: String,
    name: String,
    framework: String,
}

#[derive(sqlx::FromRow)]
struct Average {
    average: Option<f64>,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    scans: i64,
    scored: i64,
    score_sum: f64,
    passed: i64,
    failed: i64,
}

/// `WHERE` for an organization column: the scope plus an optional single organization.
fn orgs(scope: &Scope, column: &str, org_id: Option<&str>) -> SqlBuf {
    let mut b = SqlBuf::new(" WHERE 1 = 1", vec![]);
    b.scope(scope, column);
    if let Some(org) = org_id {
        b.push(&format!(" AND {column} = ?"), args![org]);
    }
    b
}

/// Runs `head` + the filter + `tail`.
fn query(head: &str, filter: &SqlBuf, tail: &str, extra: Vec<Arg>) -> (String, Vec<Arg>) {
    let mut b = SqlBuf::new(head, vec![]);
    b.sql.push_str(&filter.sql);
    b.args.extend(filter.args.iter().cloned());
    b.push(tail, extra);
    (b.sql, b.args)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn date_of(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

#[async_trait]
impl ReportStore for SqlStore {
    async fn dashboard(&self, scope: &Scope, org_id: Option<&str>) -> Result<Dashboard> {
        let scans = orgs(scope, "org_id", org_id);
        let latest = orgs(scope, "hc.org_id", org_id);
        let (sql, a) = query(
            // A policy over every OS type has no template; its level names its framework.
            "SELECT p.id, p.name, COALESCE(t.framework, CASE p.cis_level WHEN 'level_1' THEN 'cis_level1' \
             ELSE 'cis_level2' END) AS framework FROM policies p LEFT JOIN templates t ON t.id = p.template_id",
            &orgs(scope, "p.org_id", org_id),
            " AND p.active = ? ORDER BY p.name",
            args![true],
        );
        let policies: Vec<PolicyRef> = self.db.fetch_all(&sql, a).await?;
        let (sql, a) = query(
            "SELECT CAST(SUM(scans) AS BIGINT) AS scans, CAST(SUM(scored) AS BIGINT) AS scored, SUM(score_sum) AS score_sum FROM scan_daily",
            &scans,
            "",
            vec![],
        );
        let totals: Totals = self.db.fetch_one(&sql, a).await?;
        // Hosts scanned and the pass rate come from one pass over the latest-per-host rows.
        let (sql, a) = query(
            "SELECT COUNT(DISTINCT hc.host_id) AS hosts, COUNT(*) AS latest, \
             CAST(SUM(CASE WHEN hc.passing THEN 1 ELSE 0 END) AS BIGINT) AS passing \
             FROM host_compliance hc",
            &latest,
            "",
            vec![],
        );
        let latest_counts: LatestCounts = self.db.fetch_one(&sql, a).await?;

        let mut framework_scores = Vec::new();
        for p in &policies {
            let avg: Average = self
                .db
                .fetch_one(
                    "SELECT AVG(score) AS average, COUNT(*) AS n FROM (SELECT score FROM scans WHERE policy_id = $1 \
                     AND status = 'completed' ORDER BY completed_at DESC LIMIT 100) recent",
                    args![&p.id],
                )
                .await?;
            framework_scores.push(FrameworkScore {
                policy_id: p.id.clone(),
                policy_name: p.name.clone(),
                framework: p.framework.clone(),
                average_score: avg.average.map(round2),
                scans: avg.n,
            });
        }

        const HOST_SCORE: &str = "SELECT hc.host_id, h.hostname, hc.policy_id, hc.scan_id, hc.score, hc.risk, \
            hc.completed_at FROM host_compliance hc JOIN hosts h ON h.id = hc.host_id";
        let (sql, a) = query(
            HOST_SCORE,
            &latest,
            " AND hc.score IS NOT NULL ORDER BY hc.score, h.hostname LIMIT 10",
            vec![],
        );
        let worst_hosts: Vec<HostScore> = self.db.fetch_all(&sql, a).await?;
        let (sql, a) = query(
            HOST_SCORE,
            &latest,
            " AND hc.passing = ? ORDER BY hc.score, h.hostname LIMIT 50",
            args![false],
        );
        let non_compliant_hosts: Vec<HostScore> = self.db.fetch_all(&sql, a).await?;
        let (sql, a) = query(
            "SELECT hc.risk AS key, COUNT(*) AS count FROM host_compliance hc",
            &latest,
            " GROUP BY hc.risk ORDER BY hc.risk",
            vec![],
        );
        let risk_distribution: Vec<Bucket> = self.db.fetch_all(&sql, a).await?;

        let recent = self.recent_results(&scans).await?;
        let top_failing_checks = top_failing(&recent)?;
        let category_breakdown = category_breakdown(&recent);
        Ok(Dashboard {
            total_policies: policies.len() as i64,
            total_scans: totals.scans.unwrap_or(0),
            average_score: match (totals.score_sum, totals.scored) {
                (Some(sum), Some(n)) if n > 0 => Some(round2(sum / n as f64)),
                _ => None,
            },
            hosts_scanned: latest_counts.hosts,
            pass_rate: (latest_counts.latest > 0).then(|| {
                round2(
                    latest_counts.passing.unwrap_or(0) as f64 * 100.0 / latest_counts.latest as f64,
                )
            }),
            framework_scores,
            worst_hosts,
            top_failing_checks,
            risk_distribution,
            category_breakdown,
            non_compliant_hosts,
        })
    }

    async fn trends(
        &self,
        scope: &Scope,
        days: i64,
        policy_id: Option<&str>,
        now: i64,
    ) -> Result<Trends> {
        let mut filter = orgs(scope, "org_id", None);
        filter.push(" AND day >= ?", args![now.div_euclid(86_400) - days + 1]);
        if let Some(p) = policy_id {
            filter.push(" AND policy_id = ?", args![p]);
        }
        let (sql, a) = query(
            "SELECT day, CAST(SUM(scans) AS BIGINT) AS scans, CAST(SUM(scored) AS BIGINT) AS scored, SUM(score_sum) AS score_sum, \
             CAST(SUM(passed) AS BIGINT) AS passed, CAST(SUM(failed) AS BIGINT) AS failed FROM scan_daily",
            &filter,
            " GROUP BY day ORDER BY day",
            vec![],
        );
        let rows: Vec<DayRow> = self.db.fetch_all(&sql, a).await?;
        let daily: Vec<TrendDay> = rows
            .iter()
            .map(|r| TrendDay {
                date: date_of(r.day),
                average_score: (r.scored > 0).then(|| round2(r.score_sum / r.scored as f64)),
                scan_count: r.scans,
                passed: r.passed,
                failed: r.failed,
            })
            .collect();
        let scored: i64 = rows.iter().map(|r| r.scored).sum();
        let sum: f64 = rows.iter().map(|r| r.score_sum).sum();
        let averages = daily.iter().filter_map(|d| d.average_score);
        Ok(Trends {
            days,
            average_score: (scored > 0).then(|| round2(sum / scored as f64)),
            min_score: averages.clone().reduce(f64::min),
            max_score: averages.reduce(f64::max),
            total_scans: rows.iter().map(|r| r.scans).sum(),
            daily,
        })
    }

    async fn export_batch(
        &self,
        scope: &Scope,
        f: &ExportFilter,
        after: Option<(i64, String)>,
        batch: i64,
    ) -> Result<Vec<Scan>> {
        let mut filter = orgs(scope, "org_id", None);
        filter.push(" AND status = 'completed'", vec![]);
        if let Some(p) = &f.policy_id {
            filter.push(" AND policy_id = ?", args![p]);
        }
        if let Some(h) = &f.host_id {
            filter.push(" AND host_id = ?", args![h]);
        }
        if let Some((at, id)) = after {
            filter.push(
                " AND (completed_at < ? OR (completed_at = ? AND id < ?))",
                args![at, at, id],
            );
        }
        let (sql, a) = query(
            &format!("SELECT {COLUMNS} FROM scans"),
            &filter,
            " ORDER BY completed_at DESC, id DESC LIMIT ?",
            args![batch],
        );
        self.db.fetch_all(&sql, a).await
    }
}

/// How many of the newest completed scans the dashboard's per-check panels read.
const RECENT_SCANS: i64 = 50;

impl SqlStore {
    /// The results of the newest completed scans the filter sees, one list per scan. The ids
    /// come first and go in as a list: joined as a subquery, PostgreSQL's planner read every
    /// stored result (160 ms at 1M scans).
    async fn recent_results(&self, scans: &SqlBuf) -> Result<Vec<Vec<Stored>>> {
        #[derive(sqlx::FromRow)]
        struct Id {
            id: String,
        }
        let (sql, a) = query(
            "SELECT id FROM scans",
            scans,
            &format!(" AND status = 'completed' ORDER BY completed_at DESC LIMIT {RECENT_SCANS}"),
            vec![],
        );
        let ids: Vec<Arg> = self
            .db
            .fetch_all::<Id>(&sql, a)
            .await?
            .into_iter()
            .map(|r| Arg::from(r.id))
            .collect();
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT scan_id, encoding, body FROM scan_result_sets WHERE scan_id IN ({})",
            placeholders(1, ids.len())
        );
        let sets: Vec<ResultSetRow> = self.db.fetch_all(&sql, ids).await?;
        sets.iter().map(ResultSetRow::records).collect()
    }
}

/// The ten checks that failed most often, most failures first.
fn top_failing(scans: &[Vec<Stored>]) -> Result<Vec<FailingCheck>> {
    let mut failing: BTreeMap<&str, FailingCheck> = BTreeMap::new();
    for r in scans.iter().flatten().filter(|r| r.status == "fail") {
        match failing.entry(&r.check_id) {
            std::collections::btree_map::Entry::Occupied(mut seen) => seen.get_mut().failures += 1,
            std::collections::btree_map::Entry::Vacant(new) => {
                new.insert(FailingCheck {
                    check_id: r.check_id.clone(),
                    title: r.title.clone(),
                    severity: r.severity.parse().map_err(|e| {
                        crate::StoreError::Invalid(format!("stored result of {}: {e}", r.check_id))
                    })?,
                    failures: 1,
                });
            }
        }
    }
    let mut top: Vec<FailingCheck> = failing.into_values().collect();
    // Stable: equal counts stay in check id order.
    top.sort_by_key(|c| std::cmp::Reverse(c.failures));
    top.truncate(10);
    Ok(top)
}

/// Passed and failed results per category, in category order.
fn category_breakdown(scans: &[Vec<Stored>]) -> Vec<CategoryScore> {
    let mut counts: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for r in scans.iter().flatten() {
        let (passed, failed) = counts.entry(&r.category).or_default();
        match r.status.as_str() {
            "pass" => *passed += 1,
            "fail" => *failed += 1,
            _ => {}
        }
    }
    counts
        .into_iter()
        .map(|(category, (passed, failed))| CategoryScore {
            category: category.to_owned(),
            passed,
            failed,
            score: (passed + failed > 0)
                .then(|| round2(passed as f64 * 100.0 / (passed + failed) as f64)),
        })
        .collect()
}
