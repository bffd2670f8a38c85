//! Policies (one per organization and OS type) and their per-host template overrides.

use async_trait::async_trait;

use super::{SqlStore, scope_clause, visible};
use crate::{Policy, PolicyOverride, PolicyStore, Result, Scope, StoreError, args, new_id, now};

const COLUMNS: &str = "id, org_id, name, os_kind, template_id, cis_level, interval_hours, active, \
    passing_threshold, schedule_type, cron, created_at, updated_at";

fn duplicate(p: &Policy) -> impl FnOnce(StoreError) -> StoreError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "the organization already has a policy for {}; update or delete it first",
            match p.os_kind {
                crate::PolicyTarget::All => "every OS type".to_owned(),
                os => os.to_string(),
            }
        )),
        e => e,
    }
}

impl SqlStore {
    /// A template the policy's organization may use: a system template or its own copy.
    async fn usable_template(&self, scope: &Scope, org_id: &str, template_id: &str) -> Result<()> {
        let t = crate::TemplateStore::get_template(self, scope, template_id).await?;
        if t.org_id.as_deref().is_some_and(|o| o != org_id) {
            return Err(StoreError::NotFound("template"));
        }
        Ok(())
    }
}

#[async_trait]
impl PolicyStore for SqlStore {
    async fn create_policy(&self, scope: &Scope, policy: &Policy) -> Result<Policy> {
        visible(scope, &policy.org_id, "organization")?;
        if let Some(template_id) = &policy.template_id {
            self.usable_template(scope, &policy.org_id, template_id)
                .await?;
        }
        let ts = now();
        let p = Policy {
            id: new_id(),
            created_at: ts,
            updated_at: ts,
            ..policy.clone()
        };
        self.db
            .execute(
                &format!("INSERT INTO policies ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"),
                args![&p.id, &p.org_id, &p.name, &p.os_kind, p.template_id.clone(), p.cis_level, p.interval_hours, p.active,
                    p.passing_threshold, &p.schedule_type, p.cron.clone(), p.created_at, p.updated_at],
            )
            .await
            .map_err(duplicate(&p))?;
        Ok(p)
    }

    async fn list_policies(&self, scope: &Scope) -> Result<Vec<Policy>> {
        let (clause, args) = scope_clause(scope, "org_id", 1);
        self.db
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM policies WHERE {clause} ORDER BY name"),
                args,
            )
            .await
    }

    async fn active_policies(&self) -> Result<Vec<Policy>> {
        self.db
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM policies WHERE active = $1 ORDER BY id"),
                args![true],
            )
            .await
    }

    async fn get_policy(&self, scope: &Scope, id: &str) -> Result<Policy> {
        let p: Policy = self
            .db
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM policies WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or(StoreError::NotFound("policy"))?;
        visible(scope, &p.org_id, "policy")?;
        Ok(p)
    }

    async fn update_policy(&self, scope: &Scope, policy: &Policy) -> Result<Policy> {
        let current = self.get_policy(scope, &policy.id).await?;
        if policy.org_id != current.org_id {
            return Err(StoreError::Invalid(
                "a policy cannot move to another organization".into(),
            ));
        }
        if let Some(template_id) = &policy.template_id {
            self.usable_template(scope, &policy.org_id, template_id)
                .await?;
        }
        let p = Policy {
            updated_at: now(),
            created_at: current.created_at,
            ..policy.clone()
        };
        self.db
            .execute(
                "UPDATE policies SET name = $2, os_kind = $3, template_id = $4, cis_level = $5, interval_hours = $6, \
                 active = $7, passing_threshold = $8, schedule_type = $9, cron = $10, updated_at = $11 WHERE id = $1",
                args![&p.id, &p.name, &p.os_kind, p.template_id.clone(), p.cis_level, p.interval_hours, p.active,
                    p.passing_threshold, &p.schedule_type, p.cron.clone(), p.updated_at],
            )
            .await
            .map_err(duplicate(&p))?;
        Ok(p)
    }

    async fn delete_policy(&self, scope: &Scope, id: &str) -> Result<()> {
        self.get_policy(scope, id).await?;
        let mut tx = self.db.begin().await?;
        tx.execute(
            "DELETE FROM policy_overrides WHERE policy_id = $1",
            args![id],
        )
        .await?;
        tx.execute(
            "UPDATE scans SET policy_id = NULL WHERE policy_id = $1",
            args![id],
        )
        .await?;
        tx.execute("DELETE FROM policies WHERE id = $1", args![id])
            .await?;
        tx.commit().await
    }

    async fn add_override(
        &self,
        scope: &Scope,
        policy_id: &str,
        host_id: &str,
        template_id: &str,
    ) -> Result<PolicyOverride> {
        let policy = self.get_policy(scope, policy_id).await?;
        let host = crate::HostStore::get_host(self, scope, host_id).await?;
        if host.org_id != policy.org_id {
            return Err(StoreError::NotFound("host"));
        }
        self.usable_template(scope, &policy.org_id, template_id)
            .await?;
        let o = PolicyOverride {
            id: new_id(),
            policy_id: policy_id.into(),
            host_id: host_id.into(),
            template_id: template_id.into(),
            created_at: now(),
        };
        self.db
            .execute(
                "INSERT INTO policy_overrides (id, policy_id, host_id, template_id, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![&o.id, &o.policy_id, &o.host_id, &o.template_id, o.created_at],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "host {} already has an override in policy {}; delete it first",
                    host.hostname, policy.name
                )),
                e => e,
            })?;
        Ok(o)
    }

    async fn list_overrides(&self, scope: &Scope, policy_id: &str) -> Result<Vec<PolicyOverride>> {
        self.get_policy(scope, policy_id).await?;
        self.db
            .fetch_all(
                "SELECT id, policy_id, host_id, template_id, created_at FROM policy_overrides WHERE policy_id = $1 ORDER BY created_at",
                args![policy_id],
            )
            .await
    }

    async fn delete_override(
        &self,
        scope: &Scope,
        policy_id: &str,
        override_id: &str,
    ) -> Result<()> {
        self.get_policy(scope, policy_id).await?;
        match self
            .db
            .execute(
                "DELETE FROM policy_overrides WHERE id = $1 AND policy_id = $2",
                args![override_id, policy_id],
            )
            .await?
        {
            0 => Err(StoreError::NotFound("override")),
            _ => Ok(()),
        }
    }

    async fn override_for(&self, policy_id: &str, host_id: &str) -> Result<Option<PolicyOverride>> {
        self.db
            .fetch_optional(
                "SELECT id, policy_id, host_id, template_id, created_at FROM policy_overrides WHERE policy_id = $1 AND host_id = $2",
                args![policy_id, host_id],
            )
            .await
    }
}
