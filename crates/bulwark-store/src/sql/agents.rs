//! Agents: enrollment, request nonces, batched heartbeat times, the job queue (at least once:
//! a lease per delivery, redelivery when it runs out), the server's key pairs and feature
//! flags.

use std::collections::HashSet;

use async_trait::async_trait;

use super::scans::fail_scan_in;
use super::{SqlStore, scope_clause, visible};
use crate::db::Arg;
use crate::{
    AgentIdentity, AgentJob, AgentStore, Enrolled, Enrollment, FeatureFlag, NonceUse, Result,
    Scope, StoreError, args, new_id, now,
};

/// Heartbeat times per statement: 2 parameters each, far below both backends' limits.
const SEEN_PER_STATEMENT: usize = 500;
/// Nonces per statement: 3 parameters each.
const NONCES_PER_STATEMENT: usize = 300;
/// Spent nonces deleted per transaction.
const NONCES_PER_PRUNE: u64 = 500;

pub(super) const JOB_COLUMNS: &str = "id, org_id, host_id, kind, scan_id, status, priority, action, created_by, lease_until, \
     deliveries, message, deadline_at, started_at, finished_at, exit_code, stdout, stderr, output_truncated, created_at, updated_at";

/// The states of a job that has not ended.
pub(crate) const UNFINISHED: &str = "('queued', 'delivered', 'running')";

/// Jobs an agent may be handed: never delivered, or delivered and not acknowledged in time,
/// or a scan that was running and not finished in time (a scan is safe to run twice; an
/// action such as "kill" or "create user" is not, so a running action waits for its deadline
/// instead), and in every case not past its deadline.
pub(super) const PENDING: &str = "((status = 'queued' OR (status = 'delivered' AND lease_until <= $2) \
     OR (status = 'running' AND kind = 'compliance_scan' AND lease_until <= $2)) \
     AND (deadline_at IS NULL OR deadline_at > $2))";

/// Critical first, then high, then normal; oldest first within each.
pub(super) const DELIVERY_ORDER: &str =
    "CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 ELSE 2 END, created_at, id";

#[derive(sqlx::FromRow)]
struct KeyRow {
    secret: String,
    public_key: String,
}

#[derive(sqlx::FromRow)]
struct NonceKey {
    agent_id: String,
    nonce: String,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

impl SqlStore {
    /// Delivers the candidates that are still pending, each under a lease. The pending
    /// condition is checked again in the update: with two replicas claiming at once, only
    /// one update matches a job and only that replica delivers it.
    pub(super) async fn deliver(
        &self,
        candidates: Vec<AgentJob>,
        now: i64,
        lease_secs: i64,
    ) -> Result<Vec<AgentJob>> {
        let mut claimed = Vec::with_capacity(candidates.len());
        for job in candidates {
            let n = self
                .db
                .execute(
                    &format!(
                        "UPDATE agent_jobs SET status = 'delivered', lease_until = $3, deliveries = deliveries + 1, updated_at = $2 \
                         WHERE id = $1 AND {PENDING}"
                    ),
                    args![&job.id, now, now + lease_secs],
                )
                .await?;
            if n == 1 {
                claimed.push(AgentJob {
                    status: bulwark_core::JobStatus::Delivered,
                    lease_until: Some(now + lease_secs),
                    deliveries: job.deliveries + 1,
                    updated_at: now,
                    ..job
                });
            }
        }
        Ok(claimed)
    }

    pub(super) async fn job_of_host(&self, host_id: &str, job_id: &str) -> Result<AgentJob> {
        self.db
            .fetch_optional::<AgentJob>(
                &format!("SELECT {JOB_COLUMNS} FROM agent_jobs WHERE id = $1 AND host_id = $2"),
                args![job_id, host_id],
            )
            .await?
            .map(AgentJob::described)
            .ok_or(StoreError::NotFound("job"))
    }
}

fn flag_org(scope: &Scope, org_id: Option<&str>) -> Result<String> {
    match org_id {
        Some(org) => {
            visible(scope, org, "organization")?;
            Ok(org.to_owned())
        }
        None if *scope == Scope::All => Ok(String::new()),
        None => Err(StoreError::Forbidden(
            "account-wide flags need access to every organization; name an organization".into(),
        )),
    }
}

#[async_trait]
impl AgentStore for SqlStore {
    async fn enroll(&self, org_id: &str, e: &Enrollment) -> Result<Enrolled> {
        if let Some(known) = self.agent(&e.agent_id).await? {
            if known.public_key != e.public_key || known.org_id != org_id {
                return Ok(Enrolled::Taken);
            }
            self.db
                .execute(
                    "UPDATE hosts SET hostname = $1, os_kind = $2, os_id = $3, os_version = $4, kernel = $5, agent_version = $6 \
                     WHERE id = $7",
                    args![&e.hostname, &e.os_kind, &e.os_id, &e.os_version, &e.kernel, &e.agent_version, &known.host_id],
                )
                .await?;
            self.record_seen(&[(known.host_id.clone(), now())]).await?;
            let host = self.host_where("h.id = $1", &known.host_id).await?;
            return host
                .map(Enrolled::Again)
                .ok_or(StoreError::NotFound("host"));
        }
        let id = new_id();
        let at = now();
        let mut tx = self.db.begin().await?;
        let inserted = tx
            .execute(
                "INSERT INTO hosts (id, org_id, hostname, os_kind, os_id, os_version, kernel, status, created_at, agent_id, public_key, agent_version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11)",
                args![&id, org_id, &e.hostname, &e.os_kind, &e.os_id, &e.os_version, &e.kernel, at, &e.agent_id, &e.public_key, &e.agent_version],
            )
            .await;
        match inserted {
            // Another request enrolled the same id between our read and this insert.
            Err(StoreError::Conflict(_)) => return Ok(Enrolled::Taken),
            other => other?,
        };
        tx.execute(
            "INSERT INTO host_seen (host_id, last_seen_at) VALUES ($1, $2)",
            args![&id, at],
        )
        .await?;
        tx.commit().await?;
        let host = self.host_where("h.id = $1", &id).await?;
        host.map(Enrolled::New).ok_or(StoreError::NotFound("host"))
    }

    async fn agent(&self, agent_id: &str) -> Result<Option<AgentIdentity>> {
        self.db
            .fetch_optional(
                "SELECT id AS host_id, org_id, agent_id, public_key, agent_version, inventory_refused FROM hosts WHERE agent_id = $1",
                args![agent_id],
            )
            .await
    }

    async fn forget_nonce(&self, agent_id: &str, nonce: &str) -> Result<()> {
        self.db
            .execute(
                "DELETE FROM agent_nonces WHERE agent_id = $1 AND nonce = $2",
                args![agent_id, nonce],
            )
            .await?;
        Ok(())
    }

    async fn use_nonces(&self, uses: &[NonceUse]) -> Result<Vec<bool>> {
        // A second copy of a nonce within the batch is a replay of the first.
        let mut seen = HashSet::new();
        let first: Vec<bool> = uses
            .iter()
            .map(|u| seen.insert((u.agent_id.as_str(), u.nonce.as_str())))
            .collect();
        let unique: Vec<&NonceUse> = uses
            .iter()
            .zip(&first)
            .filter_map(|(u, first)| first.then_some(u))
            .collect();
        let mut stored = HashSet::new();
        let mut tx = self.db.begin().await?;
        for chunk in unique.chunks(NONCES_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, CAST(${} AS BIGINT))",
                        3 * i + 1,
                        3 * i + 2,
                        3 * i + 3
                    )
                })
                .collect();
            let args = chunk
                .iter()
                .flat_map(|u| {
                    [
                        Arg::from(&u.agent_id),
                        Arg::from(&u.nonce),
                        Arg::from(u.expires_at),
                    ]
                })
                .collect();
            let new: Vec<NonceKey> = tx
                .fetch_all(
                    &format!(
                        "INSERT INTO agent_nonces (agent_id, nonce, expires_at) VALUES {} \
                         ON CONFLICT DO NOTHING RETURNING agent_id, nonce",
                        rows.join(", ")
                    ),
                    args,
                )
                .await?;
            stored.extend(new.into_iter().map(|k| (k.agent_id, k.nonce)));
        }
        tx.commit().await?;
        Ok(uses
            .iter()
            .zip(first)
            .map(|(u, first)| first && stored.contains(&(u.agent_id.clone(), u.nonce.clone())))
            .collect())
    }

    async fn prune_nonces(&self, now: i64) -> Result<u64> {
        // In short transactions that queue on the writer like any other: a minute of spent
        // nonces is ~20,000 rows at 10,000 agents, and one DELETE of them held SQLite's
        // writer long enough to stall every request behind it (a 437 ms heartbeat window).
        let mut pruned = 0;
        loop {
            let mut tx = self.db.begin().await?;
            let n = tx
                .execute(
                    &format!(
                        "DELETE FROM agent_nonces WHERE (agent_id, nonce) IN \
                         (SELECT agent_id, nonce FROM agent_nonces WHERE expires_at < $1 LIMIT {NONCES_PER_PRUNE})"
                    ),
                    args![now],
                )
                .await?;
            tx.commit().await?;
            pruned += n;
            if n < NONCES_PER_PRUNE {
                return Ok(pruned);
            }
        }
    }

    async fn record_seen(&self, seen: &[(String, i64)]) -> Result<()> {
        let mut tx = self.db.begin().await?;
        // A few multi-row statements instead of one per host: the batch holds SQLite's
        // single writer for milliseconds, not for a statement round trip per agent.
        for chunk in seen.chunks(SEEN_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, CAST(${} AS BIGINT))", 2 * i + 1, 2 * i + 2))
                .collect();
            let args = chunk
                .iter()
                .flat_map(|(host, at)| [Arg::from(host), Arg::from(*at)])
                .collect();
            // Joined with hosts, so that a host removed since its beat is skipped instead of
            // failing the batch on the foreign key.
            tx.execute(
                &format!(
                    "INSERT INTO host_seen (host_id, last_seen_at) \
                     SELECT v.column1, v.column2 FROM (VALUES {}) AS v JOIN hosts h ON h.id = v.column1 WHERE true \
                     ON CONFLICT (host_id) DO UPDATE SET last_seen_at = excluded.last_seen_at \
                     WHERE host_seen.last_seen_at < excluded.last_seen_at",
                    rows.join(", ")
                ),
                args,
            )
            .await?;
        }
        tx.commit().await
    }

    async fn update_agent(
        &self,
        host_id: &str,
        agent_version: &str,
        spool_dropped: i64,
        inventory_refused: Option<&str>,
    ) -> Result<()> {
        self.db
            .execute(
                "UPDATE hosts SET agent_version = $1, spool_dropped = spool_dropped + $2, inventory_refused = $3 WHERE id = $4",
                args![agent_version, spool_dropped, inventory_refused, host_id],
            )
            .await?;
        Ok(())
    }

    async fn update_host_system(
        &self,
        host_id: &str,
        hostname: &str,
        os_id: &str,
        os_version: &str,
        kernel: &str,
    ) -> Result<()> {
        self.db
            .execute(
                "UPDATE hosts SET hostname = $1, os_id = $2, os_version = $3, kernel = $4 WHERE id = $5",
                args![hostname, os_id, os_version, kernel, host_id],
            )
            .await?;
        Ok(())
    }

    async fn pending_jobs(&self, host_id: &str, now: i64) -> Result<i64> {
        let c: Count = self
            .db
            .fetch_one(
                &format!("SELECT COUNT(*) AS n FROM agent_jobs WHERE host_id = $1 AND {PENDING}"),
                args![host_id, now],
            )
            .await?;
        Ok(c.n)
    }

    async fn claim_jobs(
        &self,
        host_id: &str,
        now: i64,
        lease_secs: i64,
        limit: i64,
    ) -> Result<Vec<AgentJob>> {
        let candidates: Vec<AgentJob> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM agent_jobs WHERE host_id = $1 AND {PENDING} ORDER BY {DELIVERY_ORDER} LIMIT $3"
                ),
                args![host_id, now, limit],
            )
            .await?;
        self.deliver(candidates, now, lease_secs).await
    }

    async fn ack_job(&self, host_id: &str, job_id: &str, now: i64) -> Result<AgentJob> {
        let job = self.job_of_host(host_id, job_id).await?;
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE agent_jobs SET status = 'running', started_at = COALESCE(started_at, $1), updated_at = $1 \
             WHERE id = $2 AND status IN ('queued', 'delivered')",
            args![now, job_id],
        )
        .await?;
        if let Some(scan) = &job.scan_id {
            tx.execute(
                "UPDATE scans SET status = 'running', started_at = $1 WHERE id = $2 AND status = 'pending'",
                args![now, scan],
            )
            .await?;
        }
        tx.commit().await?;
        self.job_of_host(host_id, job_id).await
    }

    async fn fail_job(
        &self,
        host_id: &str,
        job_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<AgentJob> {
        let job = self.job_of_host(host_id, job_id).await?;
        let mut tx = self.db.begin().await?;
        match &job.scan_id {
            Some(scan) => fail_scan_in(&mut tx, scan, reason, now).await?,
            None => {
                tx.execute(
                    &format!("UPDATE agent_jobs SET status = 'failed', message = $1, updated_at = $2, finished_at = $2 WHERE id = $3 AND status IN {UNFINISHED}"),
                    args![reason, now, job_id],
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.job_of_host(host_id, job_id).await
    }

    async fn abandon_jobs(&self, now: i64, max_deliveries: i64) -> Result<u64> {
        let stuck: Vec<AgentJob> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM agent_jobs WHERE status IN ('delivered', 'running') AND kind = 'compliance_scan' \
                     AND lease_until <= $1 AND deliveries >= $2"
                ),
                args![now, max_deliveries],
            )
            .await?;
        for job in &stuck {
            let reason = format!(
                "the agent did not finish the job after {} deliveries",
                job.deliveries
            );
            self.fail_job(&job.host_id, &job.id, &reason, now).await?;
        }
        Ok(stuck.len() as u64)
    }

    async fn server_key(&self, name: &str, candidate: (&str, &str)) -> Result<(String, String)> {
        self.db
            .execute(
                "INSERT INTO server_keys (name, secret, public_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                args![name, candidate.0, candidate.1, now()],
            )
            .await?;
        let key: KeyRow = self
            .db
            .fetch_one(
                "SELECT secret, public_key FROM server_keys WHERE name = $1",
                args![name],
            )
            .await?;
        Ok((key.secret, key.public_key))
    }

    async fn set_feature_flag(
        &self,
        scope: &Scope,
        org_id: Option<&str>,
        feature: &str,
        enabled: bool,
    ) -> Result<FeatureFlag> {
        let flag = FeatureFlag {
            org_id: flag_org(scope, org_id)?,
            feature: feature.into(),
            enabled,
            updated_at: now(),
        };
        self.db
            .execute(
                "INSERT INTO feature_flags (org_id, feature, enabled, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id, feature) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
                args![&flag.org_id, &flag.feature, flag.enabled, flag.updated_at],
            )
            .await?;
        Ok(flag)
    }

    async fn delete_feature_flag(
        &self,
        scope: &Scope,
        org_id: Option<&str>,
        feature: &str,
    ) -> Result<()> {
        let org = flag_org(scope, org_id)?;
        let n = self
            .db
            .execute(
                "DELETE FROM feature_flags WHERE org_id = $1 AND feature = $2",
                args![&org, feature],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound("feature flag"));
        }
        Ok(())
    }

    async fn list_feature_flags(&self, scope: &Scope) -> Result<Vec<FeatureFlag>> {
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        // Everyone who may list flags sees the account-wide ones that apply to them.
        args.push("".into());
        self.db
            .fetch_all(
                &format!(
                    "SELECT org_id, feature, enabled, updated_at FROM feature_flags WHERE ({clause}) OR org_id = ${} \
                     ORDER BY org_id, feature",
                    args.len()
                ),
                args,
            )
            .await
    }

    async fn feature_flags_for(&self, org_id: &str) -> Result<Vec<FeatureFlag>> {
        self.db
            .fetch_all(
                "SELECT org_id, feature, enabled, updated_at FROM feature_flags WHERE org_id IN ('', $1) ORDER BY org_id, feature",
                args![org_id],
            )
            .await
    }
}
