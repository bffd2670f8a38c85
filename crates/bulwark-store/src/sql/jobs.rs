//! Host-control jobs as operators see them, and the audit log.

use async_trait::async_trait;

use super::agents::{JOB_COLUMNS, UNFINISHED};
use super::scans::fail_scan_in;
use super::{SqlStore, scope_clause, visible};
use crate::db::Arg;
use crate::{
    AgentJob, AuditEntry, AuditFilter, AuditStore, HostConnection, JobFilter, JobOutcome, JobStore,
    NewJob, Result, Scope, StoreError, args,
};

const DEFAULT_JOBS: i64 = 100;
const MAX_JOBS: i64 = 500;
const DEFAULT_AUDIT: i64 = 200;
const MAX_AUDIT: i64 = 5000;

const AUDIT_COLUMNS: &str =
    "id, at, org_id, actor, actor_id, action, target, outcome, detail, source_ip";

impl SqlStore {
    async fn job_in_scope(&self, scope: &Scope, id: &str) -> Result<AgentJob> {
        let job: AgentJob = self
            .db
            .fetch_optional(
                &format!("SELECT {JOB_COLUMNS} FROM agent_jobs WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or(StoreError::NotFound("job"))?;
        visible(scope, &job.org_id, "job")?;
        Ok(job.described())
    }
}

#[async_trait]
impl JobStore for SqlStore {
    async fn create_job(&self, scope: &Scope, job: &NewJob) -> Result<AgentJob> {
        let host = crate::HostStore::get_host(self, scope, &job.host_id).await?;
        if host.connection != HostConnection::Agent {
            return Err(StoreError::Invalid(
                "host-control actions run through an agent; this host is scanned over SSH and has none".into(),
            ));
        }
        let action = serde_json::to_string(&job.action)
            .map_err(|e| StoreError::Invalid(format!("the action does not serialize: {e}")))?;
        let at = crate::now();
        self.db
            .execute(
                "INSERT INTO agent_jobs (id, org_id, host_id, kind, status, priority, action, created_by, deadline_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $9)",
                args![&job.id, &host.org_id, &host.id, job.action.job_type(), job.action.priority(), action,
                    &job.created_by, job.deadline_at, at],
            )
            .await?;
        self.job_in_scope(scope, &job.id).await
    }

    async fn get_job(&self, scope: &Scope, id: &str) -> Result<AgentJob> {
        self.job_in_scope(scope, id).await
    }

    async fn list_jobs(&self, scope: &Scope, filter: &JobFilter) -> Result<Vec<AgentJob>> {
        if let Some(host) = &filter.host_id {
            crate::HostStore::get_host(self, scope, host).await?;
        }
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM agent_jobs WHERE ({clause})");
        let mut and = |column: &str, value: Arg, args: &mut Vec<Arg>| {
            args.push(value);
            sql.push_str(&format!(" AND {column} = ${}", args.len()));
        };
        if let Some(host) = &filter.host_id {
            and("host_id", host.into(), &mut args);
        }
        if let Some(kind) = filter.kind {
            and("kind", kind.into(), &mut args);
        }
        if let Some(status) = filter.status {
            and("status", status.into(), &mut args);
        }
        let limit = filter.limit.unwrap_or(DEFAULT_JOBS).clamp(1, MAX_JOBS);
        sql.push_str(&format!(" ORDER BY created_at DESC, id LIMIT {limit}"));
        let jobs: Vec<AgentJob> = self.db.fetch_all(&sql, args).await?;
        Ok(jobs.into_iter().map(AgentJob::described).collect())
    }

    async fn cancel_job(&self, scope: &Scope, id: &str, now: i64) -> Result<AgentJob> {
        let job = self.job_in_scope(scope, id).await?;
        let mut tx = self.db.begin().await?;
        if let Some(scan) = &job.scan_id {
            tx.execute(
                "UPDATE scans SET status = 'cancelled', completed_at = $1 WHERE id = $2 AND status IN ('pending', 'running')",
                args![now, scan],
            )
            .await?;
        }
        let n = tx
            .execute(
                "UPDATE agent_jobs SET status = 'cancelled', message = 'cancelled before the agent started it', \
                 updated_at = $1, finished_at = $1 WHERE id = $2 AND status IN ('queued', 'delivered')",
                args![now, id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "the job is {}; only a queued or delivered job can be cancelled",
                job.status
            )));
        }
        tx.commit().await?;
        self.job_in_scope(scope, id).await
    }

    async fn finish_job(
        &self,
        host_id: &str,
        job_id: &str,
        outcome: &JobOutcome,
        now: i64,
    ) -> Result<AgentJob> {
        let job = self.job_of_host(host_id, job_id).await?;
        if job.scan_id.is_some() {
            return Err(StoreError::Invalid(
                "a scan job ends with the scan's results, not a report".into(),
            ));
        }
        let status = match outcome.succeeded {
            true => "succeeded",
            false => "failed",
        };
        let n = self
            .db
            .execute(
                &format!(
                    "UPDATE agent_jobs SET status = $1, message = $2, exit_code = $3, stdout = $4, stderr = $5, \
                     output_truncated = $6, started_at = COALESCE(started_at, $7), finished_at = $7, updated_at = $7 \
                     WHERE id = $8 AND status IN {UNFINISHED}"
                ),
                args![status, &outcome.message, outcome.exit_code, &outcome.stdout, &outcome.stderr,
                    outcome.truncated, now, job_id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "the job already ended ({})",
                job.status
            )));
        }
        self.job_of_host(host_id, job_id).await
    }

    async fn expire_jobs(&self, now: i64) -> Result<u64> {
        let due: Vec<AgentJob> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM agent_jobs WHERE deadline_at <= $1 AND status IN {UNFINISHED}"
                ),
                args![now],
            )
            .await?;
        for job in &due {
            let reason = match job.status {
                bulwark_core::JobStatus::Running => {
                    "the agent started the job but did not report before its deadline"
                }
                _ => "the host did not take the job before its deadline (offline or busy)",
            };
            let mut tx = self.db.begin().await?;
            if let Some(scan) = &job.scan_id {
                fail_scan_in(&mut tx, scan, reason, now).await?;
            }
            tx.execute(
                &format!(
                    "UPDATE agent_jobs SET status = 'expired', message = $1, updated_at = $2, finished_at = $2 \
                     WHERE id = $3 AND status IN {UNFINISHED}"
                ),
                args![reason, now, &job.id],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(due.len() as u64)
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                args![&e.id, e.at, &e.org_id, &e.actor, e.actor_id.clone(), &e.action, e.target.clone(),
                    e.outcome, e.detail.clone(), e.source_ip.clone()],
            )
            .await?;
        Ok(())
    }

    async fn list_audit(&self, scope: &Scope, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        // Account-wide entries (empty org) are seen only by whoever sees every organization.
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE ({clause})");
        let mut push = |condition: &str, value: Arg, args: &mut Vec<Arg>| {
            args.push(value);
            sql.push_str(&condition.replace('?', &format!("${}", args.len())));
        };
        if let Some(org) = &filter.org_id {
            visible(scope, org, "organization")?;
            push(" AND org_id = ?", org.into(), &mut args);
        }
        if let Some(actor) = &filter.actor {
            push(" AND actor = ?", actor.into(), &mut args);
        }
        if let Some(action) = &filter.action {
            push(
                " AND action LIKE ?",
                format!("%{}%", action.replace(['%', '_'], "")).into(),
                &mut args,
            );
        }
        if let Some(outcome) = filter.outcome {
            push(" AND outcome = ?", outcome.into(), &mut args);
        }
        if let Some(since) = filter.since {
            push(" AND at >= ?", since.into(), &mut args);
        }
        let limit = filter.limit.unwrap_or(DEFAULT_AUDIT).clamp(1, MAX_AUDIT);
        sql.push_str(&format!(" ORDER BY at DESC, id LIMIT {limit}"));
        self.db.fetch_all(&sql, args).await
    }
}
