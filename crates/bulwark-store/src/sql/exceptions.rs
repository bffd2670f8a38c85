//! Exceptions (waivers): active → expired by the sweep, active → revoked by a user; both
//! terminal.

use async_trait::async_trait;

use super::{SqlStore, scope_clause, visible};
use crate::{
    Exception, ExceptionState, ExceptionStore, NewException, Result, Scope, StoreError, args,
    new_id, now,
};

/// Only a caller who sees every organization changes what applies to all of them.
fn account_wide_caller(scope: &Scope) -> Result<()> {
    match scope {
        Scope::All => Ok(()),
        Scope::Orgs(_) => Err(StoreError::Forbidden(
            "an account-wide exception applies to every organization; only an account-wide user may change it".into(),
        )),
    }
}

const COLUMNS: &str = "id, org_id, rule_id, reason, host_id, group_id, expires_at, state, created_by, created_at, ended_at";

#[async_trait]
impl ExceptionStore for SqlStore {
    async fn create_exception(&self, scope: &Scope, e: &NewException) -> Result<Exception> {
        match &e.org_id {
            Some(org) => visible(scope, org, "organization")?,
            None => account_wide_caller(scope)?,
        }
        if let Some(host) = &e.host_id {
            let h = crate::HostStore::get_host(self, scope, host).await?;
            if e.org_id.as_ref() != Some(&h.org_id) {
                return Err(StoreError::NotFound("host"));
            }
        }
        if let Some(group) = &e.group_id {
            let groups = crate::HostStore::list_groups(self, scope).await?;
            if !groups
                .iter()
                .any(|g| &g.id == group && e.org_id.as_ref() == Some(&g.org_id))
            {
                return Err(StoreError::NotFound("host group"));
            }
        }
        let x = Exception {
            id: new_id(),
            org_id: e.org_id.clone(),
            rule_id: e.rule_id.clone(),
            reason: e.reason.clone(),
            host_id: e.host_id.clone(),
            group_id: e.group_id.clone(),
            expires_at: e.expires_at,
            state: ExceptionState::Active,
            created_by: e.created_by.clone(),
            created_at: now(),
            ended_at: None,
        };
        self.db
            .execute(
                &format!("INSERT INTO exceptions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
                args![&x.id, x.org_id.clone(), &x.rule_id, &x.reason, x.host_id.clone(), x.group_id.clone(), x.expires_at,
                    x.state.as_str(), &x.created_by, x.created_at, x.ended_at],
            )
            .await?;
        Ok(x)
    }

    async fn list_exceptions(
        &self,
        scope: &Scope,
        state: Option<ExceptionState>,
    ) -> Result<Vec<Exception>> {
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        // Account-wide exceptions apply to every organization, so every caller sees them.
        let mut sql =
            format!("SELECT {COLUMNS} FROM exceptions WHERE (org_id IS NULL OR {clause})");
        if let Some(state) = state {
            sql.push_str(&format!(" AND state = ${}", args.len() + 1));
            args.push(state.as_str().into());
        }
        sql.push_str(" ORDER BY created_at DESC");
        self.db.fetch_all(&sql, args).await
    }

    async fn get_exception(&self, scope: &Scope, id: &str) -> Result<Exception> {
        let x: Exception = self
            .db
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM exceptions WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or(StoreError::NotFound("exception"))?;
        if let Some(org) = &x.org_id {
            visible(scope, org, "exception")?;
        }
        Ok(x)
    }

    async fn revoke_exception(&self, scope: &Scope, id: &str, now: i64) -> Result<Exception> {
        let x = self.get_exception(scope, id).await?;
        if x.org_id.is_none() {
            account_wide_caller(scope)?;
        }
        let n = self
            .db
            .execute(
                "UPDATE exceptions SET state = 'revoked', ended_at = $1 WHERE id = $2 AND state = 'active'",
                args![now, id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "exception {id} is already {}",
                x.state
            )));
        }
        self.get_exception(scope, id).await
    }

    async fn update_exception(
        &self,
        scope: &Scope,
        id: &str,
        reason: &str,
        expires_at: Option<i64>,
    ) -> Result<Exception> {
        let x = self.get_exception(scope, id).await?;
        if x.org_id.is_none() {
            account_wide_caller(scope)?;
        }
        let n = self
            .db
            .execute(
                "UPDATE exceptions SET reason = $1, expires_at = $2 WHERE id = $3 AND state = 'active'",
                args![reason, expires_at, id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "exception {id} is {}; only an active exception can be changed",
                x.state
            )));
        }
        self.get_exception(scope, id).await
    }

    async fn expire_exceptions(&self, now: i64) -> Result<u64> {
        self.db
            .execute(
                "UPDATE exceptions SET state = 'expired', ended_at = $1 \
                 WHERE state = 'active' AND expires_at IS NOT NULL AND expires_at <= $1",
                args![now],
            )
            .await
    }

    async fn active_exceptions(&self, org_id: &str, now: i64) -> Result<Vec<Exception>> {
        // An exception past its expiry no longer applies even before the sweep marks it.
        self.db
            .fetch_all(
                &format!(
                    "SELECT {COLUMNS} FROM exceptions WHERE (org_id = $1 OR org_id IS NULL) AND state = 'active' \
                     AND (expires_at IS NULL OR expires_at > $2)"
                ),
                args![org_id, now],
            )
            .await
    }
}
