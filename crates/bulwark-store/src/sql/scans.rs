//! Scans: creation, the status machine (pending → running → completed | failed, or
//! cancelled), and completion, which stores results, scores and rollups in one transaction.

use async_trait::async_trait;
use bulwark_core::outcome::listing_key;
use bulwark_core::{ScoreSummary, Status};

use super::agents::UNFINISHED;
use super::hosts::HOST_SELECT;
use super::result_sets::{ResultSetRow, Stored, encode};
use super::{SqlStore, scope_clause, visible};
use crate::db::{Arg, Tx};
use crate::model::{HostRow, ONLINE_WITHIN_SECS, SSH_ONLINE_WITHIN_SECS};
use crate::{
    Completion, Host, NewScan, Policy, Result, Scan, ScanFilter, ScanResult, ScanStore, Scope,
    StoreError, args, new_id, now,
};

pub(super) const COLUMNS: &str = "id, org_id, host_id, hostname, policy_id, template_id, template_name, framework, \
    os_kind, trigger_kind, status, created_at, started_at, completed_at, score, weighted_score, risk, passed, failed, \
    errors, skipped, waived, total, passing_threshold, message";

#[derive(sqlx::FromRow)]
struct ScanState {
    org_id: String,
    host_id: String,
    policy_id: Option<String>,
    passing_threshold: f64,
}

#[async_trait]
impl ScanStore for SqlStore {
    async fn create_scan(&self, scope: &Scope, s: &NewScan) -> Result<Scan> {
        visible(scope, &s.org_id, "organization")?;
        let host = crate::HostStore::get_host(self, scope, &s.host_id).await?;
        if host.org_id != s.org_id {
            return Err(StoreError::NotFound("host"));
        }
        let template = crate::TemplateStore::get_template(self, scope, &s.template_id).await?;
        let id = new_id();
        let at = s.created_at.unwrap_or_else(now);
        // The scan and the job that carries it to the agent exist together or not at all.
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO scans (id, org_id, host_id, hostname, policy_id, template_id, template_name, framework, os_kind, \
             trigger_kind, status, created_at, passing_threshold) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12)",
            args![&id, &s.org_id, &s.host_id, &host.hostname, s.policy_id.clone(), &template.id, &template.name,
                &template.framework, &template.os_kind, &s.trigger_kind, at, s.passing_threshold],
        )
        .await?;
        tx.execute(
            "INSERT INTO agent_jobs (id, org_id, host_id, kind, scan_id, status, priority, created_at, updated_at) \
             VALUES ($1, $2, $3, 'compliance_scan', $4, 'queued', 'normal', $5, $5)",
            args![new_id(), &s.org_id, &s.host_id, &id, at],
        )
        .await?;
        tx.commit().await?;
        self.get_scan(scope, &id).await
    }

    async fn get_scan(&self, scope: &Scope, id: &str) -> Result<Scan> {
        let s: Scan = self
            .db
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM scans WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or(StoreError::NotFound("scan"))?;
        visible(scope, &s.org_id, "scan")?;
        Ok(s)
    }

    async fn list_scans(&self, scope: &Scope, f: &ScanFilter) -> Result<Vec<Scan>> {
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        let mut sql = format!("SELECT {COLUMNS} FROM scans WHERE {clause}");
        let and = |sql: &mut String, args: &mut Vec<Arg>, cond: &str, v: Arg| {
            sql.push_str(&format!(" AND {cond}${}", args.len() + 1));
            args.push(v);
        };
        if let Some(status) = f.status {
            and(&mut sql, &mut args, "status = ", status.as_str().into());
        }
        if let Some(host) = &f.host_id {
            and(&mut sql, &mut args, "host_id = ", host.into());
        }
        if let Some(policy) = &f.policy_id {
            and(&mut sql, &mut args, "policy_id = ", policy.into());
        }
        if let Some(prefix) = &f.id_prefix {
            // Ids are lowercase UUIDs; anything else cannot match, and `%`/`_` must not act.
            let clean: String = prefix
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_hexdigit() || *c == '-')
                .collect();
            and(&mut sql, &mut args, "id LIKE ", format!("{clean}%").into());
        }
        if let Some(prefix) = &f.hostname_prefix {
            // Host names hold no wildcard a person means; escape LIKE's own.
            let escaped: String = prefix
                .to_lowercase()
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            and(
                &mut sql,
                &mut args,
                "LOWER(hostname) LIKE ",
                format!("{escaped}%").into(),
            );
            sql.push_str(" ESCAPE '\\'");
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
            args.len() + 1,
            args.len() + 2
        ));
        args.push(f.limit.unwrap_or(100).clamp(1, 1000).into());
        args.push(f.offset.unwrap_or(0).max(0).into());
        self.db.fetch_all(&sql, args).await
    }

    async fn mark_scan_running(&self, id: &str, now: i64) -> Result<()> {
        self.db
            .execute(
                "UPDATE scans SET status = 'running', started_at = $1 WHERE id = $2 AND status = 'pending'",
                args![now, id],
            )
            .await?;
        Ok(())
    }

    async fn cancel_scan(&self, scope: &Scope, id: &str, now: i64) -> Result<Scan> {
        let s = self.get_scan(scope, id).await?;
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE scans SET status = 'cancelled', completed_at = $1 WHERE id = $2 AND status IN ('pending', 'running')",
                args![now, id],
            )
            .await?;
        tx.execute(
            &format!("UPDATE agent_jobs SET status = 'cancelled', updated_at = $1, finished_at = $1 WHERE scan_id = $2 AND status IN {UNFINISHED}"),
            args![now, id],
        )
        .await?;
        tx.commit().await?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "scan {id} is already {}",
                s.status
            )));
        }
        self.get_scan(scope, id).await
    }

    async fn fail_scan(&self, id: &str, message: &str, now: i64) -> Result<()> {
        let mut tx = self.db.begin().await?;
        fail_scan_in(&mut tx, id, message, now).await?;
        tx.commit().await
    }

    async fn complete_scan(
        &self,
        id: &str,
        results: &[ScanResult],
        summary: &ScoreSummary,
        now: i64,
    ) -> Result<Completion> {
        let c = &summary.counts;
        let summary_json =
            serde_json::to_string(summary).map_err(|e| StoreError::Invalid(e.to_string()))?;
        // Encoded before the transaction: the writer lock is held for writes only.
        let (encoding, body) = encode(results)?;
        let mut tx = self.db.begin().await?;
        // The status change comes first and only from pending or running: a retried
        // submission matches no row and writes nothing.
        let state: Option<ScanState> = tx
            .fetch_optional(
                "UPDATE scans SET status = 'completed', started_at = COALESCE(started_at, $2), completed_at = $2, score = $3, \
                 weighted_score = $4, risk = $5, passed = $6, failed = $7, errors = $8, skipped = $9, waived = $10, total = $11, \
                 summary = $12 WHERE id = $1 AND status IN ('pending', 'running') \
                 RETURNING org_id, host_id, policy_id, passing_threshold",
                args![id, now, summary.score, summary.weighted_score, summary.risk.as_str(), c.pass, c.fail, c.error, c.skip,
                    c.waived, c.total(), summary_json],
            )
            .await?;
        let Some(state) = state else {
            drop(tx);
            #[derive(sqlx::FromRow)]
            struct Found {
                n: i64,
            }
            let found: Found = self
                .db
                .fetch_one("SELECT COUNT(*) AS n FROM scans WHERE id = $1", args![id])
                .await?;
            return match found.n {
                0 => Err(StoreError::NotFound("scan")),
                _ => Ok(Completion::AlreadyFinished),
            };
        };
        tx.execute(
            "INSERT INTO scan_result_sets (scan_id, encoding, body) VALUES ($1, $2, $3)",
            args![id, encoding, body],
        )
        .await?;
        let policy = state.policy_id.clone().unwrap_or_default();
        if !policy.is_empty() {
            let passing = summary.meets(state.passing_threshold);
            tx.execute(
                "INSERT INTO host_compliance (host_id, policy_id, org_id, scan_id, score, risk, passing, completed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (host_id, policy_id) DO UPDATE SET \
                 scan_id = excluded.scan_id, score = excluded.score, risk = excluded.risk, passing = excluded.passing, \
                 completed_at = excluded.completed_at WHERE host_compliance.completed_at <= excluded.completed_at",
                args![&state.host_id, &policy, &state.org_id, id, summary.score, summary.risk.as_str(), passing, now],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO scan_daily (org_id, policy_id, day, scans, scored, score_sum, passed, failed) \
             VALUES ($1, $2, $3, 1, $4, $5, $6, $7) ON CONFLICT (org_id, policy_id, day) DO UPDATE SET \
             scans = scan_daily.scans + 1, scored = scan_daily.scored + excluded.scored, \
             score_sum = scan_daily.score_sum + excluded.score_sum, passed = scan_daily.passed + excluded.passed, \
             failed = scan_daily.failed + excluded.failed",
            args![&state.org_id, &policy, now.div_euclid(86_400), i64::from(summary.score.is_some()),
                summary.score.unwrap_or(0.0), c.pass, c.fail],
        )
        .await?;
        tx.execute(
            &format!("UPDATE agent_jobs SET status = 'succeeded', updated_at = $1, finished_at = $1 WHERE scan_id = $2 AND status IN {UNFINISHED}"),
            args![now, id],
        )
        .await?;
        tx.commit().await?;
        Ok(Completion::Completed)
    }

    async fn scan_results(
        &self,
        scope: &Scope,
        id: &str,
        status: Option<Status>,
    ) -> Result<Vec<ScanResult>> {
        self.get_scan(scope, id).await?;
        let set: Option<ResultSetRow> = self
            .db
            .fetch_optional(
                "SELECT scan_id, encoding, body FROM scan_result_sets WHERE scan_id = $1",
                args![id],
            )
            .await?;
        let Some(set) = set else {
            return Ok(vec![]);
        };
        let mut results = set
            .records()?
            .into_iter()
            .map(Stored::into_result)
            .filter(|r| match (r, status) {
                (Ok(r), Some(wanted)) => r.outcome.status == wanted,
                _ => true,
            })
            .collect::<Result<Vec<ScanResult>>>()?;
        results.sort_by(|a, b| {
            listing_key(a.outcome.status, a.severity, &a.check_id).cmp(&listing_key(
                b.outcome.status,
                b.severity,
                &b.check_id,
            ))
        });
        Ok(results)
    }

    async fn hosts_due(
        &self,
        policy: &Policy,
        before: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Host>> {
        let rows: Vec<HostRow> = self
            .db
            .fetch_all(
                &format!("{HOST_SELECT} LEFT JOIN host_compliance hc ON hc.host_id = h.id AND hc.policy_id = $3 \
                 WHERE h.org_id = $1 AND h.status = 'active' \
                 AND hs.last_seen_at >= CASE WHEN h.connection = 'ssh' THEN $7 ELSE $6 END \
                 AND (h.os_kind = $2 OR ($2 = 'all' AND NOT EXISTS \
                      (SELECT 1 FROM policies own WHERE own.org_id = h.org_id AND own.os_kind = h.os_kind))) \
                 AND (hc.completed_at IS NULL OR hc.completed_at <= $4) \
                 AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.host_id = h.id AND s.policy_id = $3 \
                                 AND s.status IN ('pending', 'running')) \
                 ORDER BY hc.completed_at IS NOT NULL, hc.completed_at, h.id LIMIT $5"),
                args![&policy.org_id, &policy.os_kind, &policy.id, before, limit, now - ONLINE_WITHIN_SECS, now - SSH_ONLINE_WITHIN_SECS],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.at(now)).collect())
    }

    async fn latest_scores(&self, scope: &Scope) -> Result<Vec<crate::LatestScore>> {
        let (clause, args) = scope_clause(scope, "hc.org_id", 1);
        let rows: Vec<crate::LatestScore> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT hc.host_id, hc.score, hc.completed_at FROM host_compliance hc \
                     WHERE {clause} ORDER BY hc.host_id, hc.completed_at DESC"
                ),
                args,
            )
            .await?;
        // A host with several policies keeps the latest of its scans.
        let mut latest: Vec<crate::LatestScore> = Vec::with_capacity(rows.len());
        for row in rows {
            if latest.last().is_none_or(|l| l.host_id != row.host_id) {
                latest.push(row);
            }
        }
        Ok(latest)
    }

    async fn latest_scan(&self, scope: &Scope, host_id: &str) -> Result<Option<Scan>> {
        crate::HostStore::get_host(self, scope, host_id).await?;
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        self.db
            .fetch_optional(
                &format!(
                    "SELECT {columns} FROM host_compliance hc JOIN scans s ON s.id = hc.scan_id \
                     WHERE hc.host_id = $1 ORDER BY hc.completed_at DESC, s.id LIMIT 1"
                ),
                args![host_id],
            )
            .await
    }

    async fn host_history(&self, scope: &Scope, host_id: &str, limit: i64) -> Result<Vec<Scan>> {
        crate::HostStore::get_host(self, scope, host_id).await?;
        self.db
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM scans WHERE host_id = $1 AND status = 'completed' ORDER BY completed_at DESC LIMIT $2"),
                args![host_id, limit],
            )
            .await
    }
}

/// Fails a pending or running scan and the job that carried it, inside `tx`.
pub(crate) async fn fail_scan_in(tx: &mut Tx, id: &str, message: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE scans SET status = 'failed', completed_at = $1, message = $2 WHERE id = $3 AND status IN ('pending', 'running')",
        args![now, message, id],
    )
    .await?;
    tx.execute(
        &format!("UPDATE agent_jobs SET status = 'failed', message = $1, updated_at = $2, finished_at = $2 WHERE scan_id = $3 AND status IN {UNFINISHED}"),
        args![message, now, id],
    )
    .await?;
    Ok(())
}
