//! The provisioning gate's settings, provisioned machines and Terraform run tasks.

use async_trait::async_trait;
use bulwark_core::provisioning::{ComplianceSettings, ProvisionStatus};

use super::{SqlStore, scope_clause, visible};
use crate::db::Arg;
use crate::{
    NewProvisionedVm, NewRunTask, ProvisionedVm, ProvisionedVmFilter, ProvisioningOverview,
    ProvisioningSecret, ProvisioningStore, Result, RunTask, RunTaskReport, Scope,
    SealedSecretUpdates, StoreError, StoredComplianceSettings, VmSettlement, args, new_id,
};

const VM_COLUMNS: &str = "id, org_id, source, provider, tf_organization, workspace, project, run_id, address, port, \
    hostname, host_key, created_at, host_id, scan_id, run_task_id, status, exempted, failure, enforcement_mode, profile, \
    min_score, score, critical_failures, high_failures, medium_failures, low_failures, passed, failed, errors, \
    not_applicable, handover_blocked, block_reason, released_by, released_at, release_reason, finished_at";
const TASK_COLUMNS: &str = "id, org_id, task_result_id, run_id, workspace, callback_url, received_at, machines, reported, \
    reported_at, message, attempts, last_error, done";
const SETTINGS_COLUMNS: &str = "org_id, settings, run_task_key IS NOT NULL AS has_run_task_key, \
    notification_token IS NOT NULL AS has_notification_token, terraform_token IS NOT NULL AS has_terraform_token, \
    scheduled_at, updated_at, updated_by";
const DEFAULT_VMS: i64 = 50;
const MAX_VMS: i64 = 500;
const UNFINISHED: &str = "('pending', 'running')";

#[derive(sqlx::FromRow)]
struct SettingsRow {
    org_id: String,
    settings: String,
    has_run_task_key: bool,
    has_notification_token: bool,
    has_terraform_token: bool,
    scheduled_at: Option<i64>,
    updated_at: i64,
    updated_by: String,
}

impl SettingsRow {
    fn parse(self) -> Result<StoredComplianceSettings> {
        let settings: ComplianceSettings = serde_json::from_str(&self.settings).map_err(|e| {
            StoreError::Invalid(format!(
                "the stored compliance settings of organization {} do not parse: {e}",
                self.org_id
            ))
        })?;
        Ok(StoredComplianceSettings {
            org_id: self.org_id,
            settings,
            has_run_task_key: self.has_run_task_key,
            has_notification_token: self.has_notification_token,
            has_terraform_token: self.has_terraform_token,
            scheduled_at: self.scheduled_at,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
        })
    }
}

#[derive(sqlx::FromRow)]
struct Sealed {
    value: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OverviewRow {
    average_score: Option<f64>,
    total_scans: i64,
    completed_scans: i64,
    blocked: i64,
    meeting_minimum: i64,
}

impl SqlStore {
    async fn vm_by_id(&self, id: &str) -> Result<ProvisionedVm> {
        self.db
            .fetch_optional(
                &format!("SELECT {VM_COLUMNS} FROM provisioned_vms WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or(StoreError::NotFound("provisioned machine"))
    }

    async fn settings_row(&self, org_id: &str) -> Result<Option<StoredComplianceSettings>> {
        let row: Option<SettingsRow> = self
            .db
            .fetch_optional(
                &format!("SELECT {SETTINGS_COLUMNS} FROM compliance_settings WHERE org_id = $1"),
                args![org_id],
            )
            .await?;
        row.map(SettingsRow::parse).transpose()
    }
}

#[async_trait]
impl ProvisioningStore for SqlStore {
    async fn compliance_settings(
        &self,
        scope: &Scope,
        org_id: &str,
    ) -> Result<Option<StoredComplianceSettings>> {
        visible(scope, org_id, "organization")?;
        self.settings_row(org_id).await
    }

    async fn put_compliance_settings(
        &self,
        scope: &Scope,
        org_id: &str,
        settings: &ComplianceSettings,
        secrets: &SealedSecretUpdates,
        by: &str,
        at: i64,
    ) -> Result<StoredComplianceSettings> {
        visible(scope, org_id, "organization")?;
        let json = serde_json::to_string(settings)
            .map_err(|e| StoreError::Invalid(format!("the settings do not serialize: {e}")))?;
        let mut tx = self.db.begin().await?;
        let org: Option<Sealed> = tx
            .fetch_optional("SELECT id AS value FROM orgs WHERE id = $1", args![org_id])
            .await?;
        if org.is_none() {
            return Err(StoreError::NotFound("organization"));
        }
        tx.execute(
            "INSERT INTO compliance_settings (org_id, settings, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
            args![org_id, json, at, by],
        )
        .await?;
        for (which, change) in [
            (ProvisioningSecret::RunTaskKey, &secrets.run_task_key),
            (
                ProvisioningSecret::NotificationToken,
                &secrets.notification_token,
            ),
            (ProvisioningSecret::TerraformToken, &secrets.terraform_token),
        ] {
            if let Some(value) = change {
                tx.execute(
                    &format!(
                        "UPDATE compliance_settings SET {} = $1 WHERE org_id = $2",
                        which.column()
                    ),
                    args![value.clone(), org_id],
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.settings_row(org_id)
            .await?
            .ok_or(StoreError::NotFound("compliance settings"))
    }

    async fn sealed_provisioning_secret(
        &self,
        org_id: &str,
        which: ProvisioningSecret,
    ) -> Result<Option<String>> {
        let row: Option<Sealed> = self
            .db
            .fetch_optional(
                &format!(
                    "SELECT {} AS value FROM compliance_settings WHERE org_id = $1",
                    which.column()
                ),
                args![org_id],
            )
            .await?;
        Ok(row.and_then(|r| r.value))
    }

    async fn scheduled_compliance(&self) -> Result<Vec<StoredComplianceSettings>> {
        let rows: Vec<SettingsRow> = self
            .db
            .fetch_all(
                &format!("SELECT {SETTINGS_COLUMNS} FROM compliance_settings"),
                args![],
            )
            .await?;
        let mut found = Vec::new();
        for row in rows {
            let stored = row.parse()?;
            if stored.settings.enabled && stored.settings.scan_schedule.is_some() {
                found.push(stored);
            }
        }
        Ok(found)
    }

    async fn mark_compliance_scheduled(&self, org_id: &str, at: i64) -> Result<()> {
        self.db
            .execute(
                "UPDATE compliance_settings SET scheduled_at = $1 WHERE org_id = $2",
                args![at, org_id],
            )
            .await?;
        Ok(())
    }

    async fn record_provisioned_vm(
        &self,
        scope: &Scope,
        vm: &NewProvisionedVm,
    ) -> Result<(ProvisionedVm, bool)> {
        visible(scope, &vm.org_id, "organization")?;
        let id = new_id();
        let at = crate::now();
        let finished = vm.status.is_final().then_some(at);
        let inserted = self
            .db
            .execute(
                "INSERT INTO provisioned_vms (id, org_id, source, provider, tf_organization, workspace, project, run_id, \
                 address, port, hostname, host_key, created_at, run_task_id, status, exempted, failure, enforcement_mode, \
                 profile, min_score, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
                 ON CONFLICT (org_id, run_id, address) DO NOTHING",
                args![&id, &vm.org_id, vm.source, vm.provider, vm.tf_organization.clone(), vm.workspace.clone(),
                    vm.project.clone(), &vm.run_id, &vm.address, i64::from(vm.port), &vm.hostname,
                    vm.host_key.clone(), at, vm.run_task_id.clone(), vm.status, vm.exempted, vm.failure.clone(),
                    vm.enforcement_mode, vm.profile, vm.min_score, finished],
            )
            .await?;
        let found: ProvisionedVm = self
            .db
            .fetch_one(
                &format!(
                    "SELECT {VM_COLUMNS} FROM provisioned_vms WHERE org_id = $1 AND run_id = $2 AND address = $3"
                ),
                args![&vm.org_id, &vm.run_id, &vm.address],
            )
            .await?;
        Ok((found, inserted == 1))
    }

    async fn get_provisioned_vm(&self, scope: &Scope, id: &str) -> Result<ProvisionedVm> {
        let vm = self.vm_by_id(id).await?;
        visible(scope, &vm.org_id, "provisioned machine")?;
        Ok(vm)
    }

    async fn list_provisioned_vms(
        &self,
        scope: &Scope,
        f: &ProvisionedVmFilter,
    ) -> Result<Vec<ProvisionedVm>> {
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        let mut sql = format!("SELECT {VM_COLUMNS} FROM provisioned_vms WHERE {clause}");
        let and = |sql: &mut String, args: &mut Vec<Arg>, cond: &str, v: Arg| {
            sql.push_str(&format!(" AND {cond}${}", args.len() + 1));
            args.push(v);
        };
        if let Some(org) = &f.org_id {
            and(&mut sql, &mut args, "org_id = ", org.into());
        }
        if let Some(status) = f.status {
            and(&mut sql, &mut args, "status = ", status.into());
        }
        if let Some(project) = f.project.as_deref().filter(|p| !p.is_empty()) {
            and(&mut sql, &mut args, "project = ", project.into());
        }
        match f.blocked {
            Some(true) => sql.push_str(" AND handover_blocked AND released_at IS NULL"),
            Some(false) => sql.push_str(" AND NOT (handover_blocked AND released_at IS NULL)"),
            None => {}
        }
        let limit = f.limit.unwrap_or(DEFAULT_VMS).clamp(1, MAX_VMS);
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
            args.len() + 1,
            args.len() + 2
        ));
        args.push(limit.into());
        args.push(f.offset.unwrap_or(0).max(0).into());
        self.db.fetch_all(&sql, args).await
    }

    async fn provisioning_overview(
        &self,
        scope: &Scope,
        org_id: Option<&str>,
    ) -> Result<ProvisioningOverview> {
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        let mut sql = format!(
            "SELECT AVG(score) AS average_score, COUNT(*) AS total_scans, \
             COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS completed_scans, \
             COALESCE(SUM(CASE WHEN handover_blocked AND released_at IS NULL THEN 1 ELSE 0 END), 0) AS blocked, \
             COALESCE(SUM(CASE WHEN status = 'completed' AND score >= min_score THEN 1 ELSE 0 END), 0) AS meeting_minimum \
             FROM provisioned_vms WHERE {clause}"
        );
        if let Some(org) = org_id {
            sql.push_str(&format!(" AND org_id = ${}", args.len() + 1));
            args.push(org.into());
        }
        let row: OverviewRow = self.db.fetch_one(&sql, args).await?;
        Ok(ProvisioningOverview {
            average_score: row.average_score,
            total_scans: row.total_scans,
            completed_scans: row.completed_scans,
            blocked: row.blocked,
            pass_rate: (row.completed_scans > 0)
                .then(|| row.meeting_minimum as f64 * 100.0 / row.completed_scans as f64),
        })
    }

    async fn start_provisioned_vm(
        &self,
        id: &str,
        host_id: Option<&str>,
        scan_id: Option<&str>,
    ) -> Result<()> {
        self.db
            .execute(
                &format!(
                    "UPDATE provisioned_vms SET status = 'running', host_id = COALESCE($1, host_id), \
                     scan_id = COALESCE($2, scan_id) WHERE id = $3 AND status IN {UNFINISHED}"
                ),
                args![host_id, scan_id, id],
            )
            .await?;
        Ok(())
    }

    async fn settle_provisioned_vm(&self, id: &str, s: &VmSettlement) -> Result<bool> {
        let (score, critical, high, medium, low) = match &s.tally {
            Some(t) => (
                t.score,
                Some(t.critical_failures),
                Some(t.high_failures),
                Some(t.medium_failures),
                Some(t.low_failures),
            ),
            None => (None, None, None, None, None),
        };
        let counts = s.counts.as_ref();
        let count = |pick: fn(&bulwark_core::Counts) -> u32| counts.map(|c| i64::from(pick(c)));
        let changed = self
            .db
            .execute(
                &format!(
                    "UPDATE provisioned_vms SET status = $1, failure = $2, score = $3, critical_failures = $4, \
                     high_failures = $5, medium_failures = $6, low_failures = $7, passed = $8, failed = $9, errors = $10, \
                     not_applicable = $11, enforcement_mode = $12, handover_blocked = $13, block_reason = $14, \
                     finished_at = $15 WHERE id = $16 AND status IN {UNFINISHED}"
                ),
                args![s.status, s.failure.clone(), score, critical, high, medium, low,
                    count(|c| c.pass), count(|c| c.fail), count(|c| c.error),
                    count(|c| c.skip + c.not_checked + c.not_selected + c.informational),
                    s.enforcement_mode, s.blocked, s.reason.clone(), s.at, id],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn unsettled_provisioned_vms(&self, limit: i64) -> Result<Vec<ProvisionedVm>> {
        self.db
            .fetch_all(
                &format!(
                    "SELECT {VM_COLUMNS} FROM provisioned_vms WHERE status = 'running' AND scan_id IS NOT NULL \
                     ORDER BY created_at LIMIT $1"
                ),
                args![limit],
            )
            .await
    }

    async fn stalled_provisioned_vms(&self, before: i64, limit: i64) -> Result<Vec<ProvisionedVm>> {
        self.db
            .fetch_all(
                &format!(
                    "SELECT {VM_COLUMNS} FROM provisioned_vms WHERE status IN {UNFINISHED} AND scan_id IS NULL \
                     AND NOT exempted AND created_at < $1 ORDER BY created_at LIMIT $2"
                ),
                args![before, limit],
            )
            .await
    }

    async fn release_provisioned_vm(
        &self,
        scope: &Scope,
        id: &str,
        by: &str,
        reason: &str,
        at: i64,
    ) -> Result<ProvisionedVm> {
        let vm = self.get_provisioned_vm(scope, id).await?;
        let changed = self
            .db
            .execute(
                "UPDATE provisioned_vms SET released_by = $1, released_at = $2, release_reason = $3 \
                 WHERE id = $4 AND handover_blocked AND released_at IS NULL",
                args![by, at, reason, id],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Conflict(match vm.released_by {
                Some(who) => format!("{} was already released by {who}", vm.hostname),
                None if vm.status == ProvisionStatus::Pending
                    || vm.status == ProvisionStatus::Running =>
                {
                    format!(
                        "{} is still being scanned; nothing is blocked yet",
                        vm.hostname
                    )
                }
                None => format!("{}'s handover is not blocked", vm.hostname),
            }));
        }
        self.vm_by_id(id).await
    }

    async fn provisioned_hosts(&self, org_id: &str) -> Result<Vec<ProvisionedVm>> {
        self.db
            .fetch_all(
                &format!(
                    "SELECT {VM_COLUMNS} FROM provisioned_vms v WHERE org_id = $1 AND host_id IS NOT NULL \
                     AND NOT exempted AND id = (SELECT w.id FROM provisioned_vms w WHERE w.host_id = v.host_id \
                     ORDER BY w.created_at DESC, w.id DESC LIMIT 1) ORDER BY hostname"
                ),
                args![org_id],
            )
            .await
    }

    async fn record_run_task(&self, scope: &Scope, t: &NewRunTask) -> Result<(RunTask, bool)> {
        visible(scope, &t.org_id, "organization")?;
        let inserted = self
            .db
            .execute(
                "INSERT INTO terraform_run_tasks (id, org_id, task_result_id, run_id, workspace, callback_url, access_token, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org_id, task_result_id) DO NOTHING",
                args![new_id(), &t.org_id, &t.task_result_id, &t.run_id, t.workspace.clone(), &t.callback_url,
                    &t.sealed_access_token, t.received_at],
            )
            .await?;
        let task: RunTask = self
            .db
            .fetch_one(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM terraform_run_tasks WHERE org_id = $1 AND task_result_id = $2"
                ),
                args![&t.org_id, &t.task_result_id],
            )
            .await?;
        Ok((task, inserted == 1))
    }

    async fn open_run_tasks(&self, limit: i64) -> Result<Vec<RunTask>> {
        self.db
            .fetch_all(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM terraform_run_tasks WHERE NOT done ORDER BY received_at LIMIT $1"
                ),
                args![limit],
            )
            .await
    }

    async fn sealed_run_task_token(&self, id: &str) -> Result<String> {
        let row: Option<Sealed> = self
            .db
            .fetch_optional(
                "SELECT access_token AS value FROM terraform_run_tasks WHERE id = $1",
                args![id],
            )
            .await?;
        row.and_then(|r| r.value)
            .ok_or(StoreError::NotFound("run task"))
    }

    async fn run_task_vms(&self, run_task_id: &str) -> Result<Vec<ProvisionedVm>> {
        self.db
            .fetch_all(
                &format!(
                    "SELECT {VM_COLUMNS} FROM provisioned_vms WHERE run_task_id = $1 ORDER BY hostname, id"
                ),
                args![run_task_id],
            )
            .await
    }

    async fn run_task_machines(&self, id: &str, machines: i64) -> Result<()> {
        self.db
            .execute(
                "UPDATE terraform_run_tasks SET machines = $1 WHERE id = $2",
                args![machines, id],
            )
            .await?;
        Ok(())
    }

    async fn run_task_reported(&self, id: &str, r: &RunTaskReport) -> Result<()> {
        self.db
            .execute(
                "UPDATE terraform_run_tasks SET reported = COALESCE($1, reported), \
                 reported_at = CASE WHEN $1 IS NULL THEN reported_at ELSE $2 END, message = COALESCE($3, message), \
                 attempts = attempts + 1, last_error = $4, done = $5 WHERE id = $6",
                args![r.sent.clone(), r.at, r.message.clone(), r.error.clone(), r.done, id],
            )
            .await?;
        Ok(())
    }
}
