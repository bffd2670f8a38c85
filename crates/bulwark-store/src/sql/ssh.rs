//! Agentless hosts: named SSH credentials (sealed secrets), SSH targets with their pinned host
//! keys and last check, and the delivery of their jobs to the server's own SSH workers.

use async_trait::async_trait;

use super::agents::{JOB_COLUMNS, PENDING};
use super::{SqlStore, scope_clause, visible};
use crate::{
    AgentJob, Host, NewSshCredential, NewSshHost, Result, Scope, SshCheckRecord, SshCredential,
    SshStore, SshTarget, StoreError, args, new_id, now,
};

const CREDENTIAL_SELECT: &str = "SELECT c.id, c.org_id, c.name, c.kind, c.public_key, c.created_at, \
     (SELECT COUNT(*) FROM ssh_targets t WHERE t.credential_id = c.id) AS hosts \
     FROM ssh_credentials c";

const TARGET_SELECT: &str = "SELECT t.host_id, h.org_id, t.address, t.port, t.username, t.credential_id, \
     c.name AS credential_name, t.escalation, t.host_key, t.offered_key, t.checked_at, t.check_ok, t.check_report \
     FROM ssh_targets t JOIN hosts h ON h.id = t.host_id JOIN ssh_credentials c ON c.id = t.credential_id";

#[derive(sqlx::FromRow)]
struct Sealed {
    secret: String,
}

#[derive(sqlx::FromRow)]
struct HostId {
    host_id: String,
}

impl SqlStore {
    async fn credential(&self, id: &str) -> Result<SshCredential> {
        self.db
            .fetch_optional(&format!("{CREDENTIAL_SELECT} WHERE c.id = $1"), args![id])
            .await?
            .ok_or(StoreError::NotFound("SSH credential"))
    }

    async fn target(&self, host_id: &str) -> Result<SshTarget> {
        self.db
            .fetch_optional(
                &format!("{TARGET_SELECT} WHERE t.host_id = $1"),
                args![host_id],
            )
            .await?
            .ok_or(StoreError::NotFound("SSH target"))
    }
}

#[async_trait]
impl SshStore for SqlStore {
    async fn create_ssh_credential(
        &self,
        scope: &Scope,
        c: &NewSshCredential,
    ) -> Result<SshCredential> {
        visible(scope, &c.org_id, "organization")?;
        let id = new_id();
        let written = self
            .db
            .execute(
                "INSERT INTO ssh_credentials (id, org_id, name, kind, secret, public_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![&id, &c.org_id, &c.name, c.kind, &c.sealed_secret, c.public_key.clone(), now()],
            )
            .await;
        match written {
            Err(StoreError::Conflict(_)) => {
                return Err(StoreError::Conflict(format!(
                    "this organization already has an SSH credential named {:?}",
                    c.name
                )));
            }
            other => other?,
        };
        self.credential(&id).await
    }

    async fn list_ssh_credentials(&self, scope: &Scope) -> Result<Vec<SshCredential>> {
        let (clause, args) = scope_clause(scope, "c.org_id", 1);
        self.db
            .fetch_all(
                &format!("{CREDENTIAL_SELECT} WHERE {clause} ORDER BY c.name, c.id"),
                args,
            )
            .await
    }

    async fn delete_ssh_credential(&self, scope: &Scope, id: &str) -> Result<()> {
        let credential = self.credential(id).await?;
        visible(scope, &credential.org_id, "SSH credential")?;
        if credential.hosts > 0 {
            return Err(StoreError::Conflict(format!(
                "SSH credential {:?} is used by {} host(s); give them another credential or remove them first",
                credential.name, credential.hosts
            )));
        }
        self.db
            .execute("DELETE FROM ssh_credentials WHERE id = $1", args![id])
            .await?;
        Ok(())
    }

    async fn sealed_ssh_secret(&self, id: &str) -> Result<(SshCredential, String)> {
        let credential = self.credential(id).await?;
        let sealed: Sealed = self
            .db
            .fetch_one(
                "SELECT secret FROM ssh_credentials WHERE id = $1",
                args![id],
            )
            .await?;
        Ok((credential, sealed.secret))
    }

    async fn create_ssh_host(&self, scope: &Scope, h: &NewSshHost) -> Result<Host> {
        visible(scope, &h.org_id, "organization")?;
        // Another organization's credential looks missing, like any object of another tenant.
        let credential = self.credential(&h.credential_id).await?;
        if credential.org_id != h.org_id {
            return Err(StoreError::NotFound("SSH credential"));
        }
        let id = new_id();
        let at = now();
        let mut tx = self.db.begin().await?;
        // The OS is not known until the first check detects it; until then the host is
        // Linux, the only OS the SSH scanner reads.
        tx.execute(
            "INSERT INTO hosts (id, org_id, hostname, os_kind, os_id, os_version, status, created_at, connection) \
             VALUES ($1, $2, $3, 'linux', '', '', 'active', $4, 'ssh')",
            args![&id, &h.org_id, &h.hostname, at],
        )
        .await?;
        tx.execute(
            "INSERT INTO ssh_targets (host_id, address, port, username, credential_id, escalation, host_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                &id,
                &h.address,
                i64::from(h.port),
                &h.username,
                &h.credential_id,
                h.escalation,
                h.host_key.clone()
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(self
            .host_where("h.id = $1", &id)
            .await?
            .expect("the host was just written"))
    }

    async fn ssh_target(&self, scope: &Scope, host_id: &str) -> Result<SshTarget> {
        let target = self.target(host_id).await?;
        visible(scope, &target.org_id, "SSH target")?;
        Ok(target)
    }

    async fn record_ssh_check(
        &self,
        host_id: &str,
        check: &SshCheckRecord,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE ssh_targets SET checked_at = $1, check_ok = $2, check_report = $3, \
             offered_key = COALESCE($4, offered_key) WHERE host_id = $5",
            args![
                now,
                check.ok,
                &check.report,
                check.offered_key.clone(),
                host_id
            ],
        )
        .await?;
        if check.ok {
            tx.execute(
                "INSERT INTO host_seen (host_id, last_seen_at) VALUES ($1, $2) \
                 ON CONFLICT (host_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                args![host_id, now],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn approve_host_key(
        &self,
        scope: &Scope,
        host_id: &str,
        fingerprint: &str,
    ) -> Result<SshTarget> {
        let target = self.ssh_target(scope, host_id).await?;
        if target.offered_key.as_deref() != Some(fingerprint) {
            return Err(StoreError::Conflict(match &target.offered_key {
                Some(offered) => format!(
                    "the host now offers {offered}, not {fingerprint}; compare that key with the host's own and approve it instead"
                ),
                None => "the host has offered no key to approve; run Check first".to_string(),
            }));
        }
        // Only the key that was seen: a newer offer in between makes this update match nothing.
        let n = self
            .db
            .execute(
                "UPDATE ssh_targets SET host_key = offered_key, offered_key = NULL \
                 WHERE host_id = $1 AND offered_key = $2",
                args![host_id, fingerprint],
            )
            .await?;
        if n != 1 {
            return Err(StoreError::Conflict(
                "the host offered another key meanwhile; check it again".into(),
            ));
        }
        self.target(host_id).await
    }

    async fn claim_ssh_jobs(&self, now: i64, lease_secs: i64, limit: i64) -> Result<Vec<AgentJob>> {
        // Driven by the agentless hosts, each looked up in the jobs' per-host index: this runs
        // every few seconds on every replica, and the jobs table keeps every finished job.
        let columns: Vec<String> = JOB_COLUMNS.split(", ").map(|c| format!("j.{c}")).collect();
        let candidates: Vec<AgentJob> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT {} FROM ssh_targets t JOIN agent_jobs j ON j.host_id = t.host_id \
                     WHERE j.kind = 'compliance_scan' AND {PENDING} ORDER BY j.created_at, j.id LIMIT $1",
                    columns.join(", ")
                ),
                args![limit, now],
            )
            .await?;
        self.deliver(candidates, now, lease_secs).await
    }

    async fn ssh_hosts_due_check(&self, before: i64, limit: i64) -> Result<Vec<String>> {
        let rows: Vec<HostId> = self
            .db
            .fetch_all(
                "SELECT t.host_id FROM ssh_targets t JOIN hosts h ON h.id = t.host_id \
                 WHERE h.status = 'active' AND (t.checked_at IS NULL OR t.checked_at < $1) \
                 ORDER BY t.checked_at IS NOT NULL, t.checked_at, t.host_id LIMIT $2",
                args![before, limit],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.host_id).collect())
    }
}
