//! Templates and their checks. System templates come from the shipped content and are
//! read-only (any edit is `Forbidden`, except the active flag); custom templates belong to an
//! organization. A check is stored as its core definition in JSON, without its inline tests.

use async_trait::async_trait;
use bulwark_core::{Check, Framework, OsKind, Template, TestCases};

use super::{SqlStore, scope_clause, visible};
use crate::db::{Arg, SqlBuf, Tx};
use crate::{
    Result, Scope, StoreError, TemplateCheck, TemplateFilter, TemplateStore, TemplateSummary, args,
    new_id, now,
};

const SUMMARY: &str = "SELECT t.id, t.org_id, t.name, t.framework, t.os_kind, t.version, t.benchmark, t.is_system, \
    t.active, (SELECT COUNT(*) FROM template_checks c WHERE c.template_id = t.id) AS check_count, \
    t.revision, t.created_at, t.updated_at, t.scap_source, t.copied_from FROM templates t";

/// Marks a template changed: a new revision invalidates cached checks.
const BUMP: &str = "UPDATE templates SET updated_at = $1, revision = revision + 1 WHERE id = $2";

#[derive(sqlx::FromRow)]
struct CheckRow {
    position: i64,
    enabled: bool,
    definition: String,
}

#[derive(sqlx::FromRow)]
struct Hash {
    content_hash: String,
}

fn definition(check: &Check) -> Result<String> {
    let mut stored = check.clone();
    stored.tests = TestCases::default();
    serde_json::to_string(&stored)
        .map_err(|e| StoreError::Invalid(format!("check {}: {e}", check.id)))
}

async fn insert_check(tx: &mut Tx, template_id: &str, position: i64, check: &Check) -> Result<()> {
    insert_checks(tx, template_id, position, std::slice::from_ref(check)).await
}

/// Checks per INSERT statement (5 parameters each).
const CHECKS_PER_INSERT: usize = 200;

/// Inserts checks at consecutive positions from `first`, many rows per statement.
pub(super) async fn insert_checks(
    tx: &mut Tx,
    template_id: &str,
    first: i64,
    checks: &[Check],
) -> Result<()> {
    for (n, chunk) in checks.chunks(CHECKS_PER_INSERT).enumerate() {
        let mut b = SqlBuf::new(
            "INSERT INTO template_checks (template_id, check_id, position, enabled, definition) VALUES ",
            vec![],
        );
        for (i, check) in chunk.iter().enumerate() {
            let position = first + (n * CHECKS_PER_INSERT + i) as i64;
            let sep = if i == 0 { "" } else { ", " };
            b.push(
                &format!("{sep}(?, ?, ?, ?, ?)"),
                args![
                    template_id,
                    &check.id,
                    position,
                    check.enabled,
                    definition(check)?
                ],
            );
        }
        tx.execute(&b.sql, b.args).await?;
    }
    Ok(())
}

impl SqlStore {
    /// The template if the scope sees it (system templates are seen by everyone).
    pub(super) async fn visible_template(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<TemplateSummary> {
        let t: TemplateSummary = self
            .db
            .fetch_optional(&format!("{SUMMARY} WHERE t.id = $1"), args![id])
            .await?
            .ok_or(StoreError::NotFound("template"))?;
        if let Some(org) = &t.org_id {
            visible(scope, org, "template")?;
        }
        Ok(t)
    }

    async fn editable_template(&self, scope: &Scope, id: &str) -> Result<TemplateSummary> {
        let t = self.visible_template(scope, id).await?;
        if t.is_system {
            return Err(StoreError::Forbidden(format!(
                "template {} is a system template and is read-only; copy it to edit its checks",
                t.name
            )));
        }
        Ok(t)
    }
}

#[async_trait]
impl TemplateStore for SqlStore {
    async fn sync_system_template(&self, template: &Template, content_hash: &str) -> Result<bool> {
        let existing: Option<Hash> = self
            .db
            .fetch_optional(
                "SELECT content_hash FROM templates WHERE id = $1",
                args![&template.id],
            )
            .await?;
        if existing
            .as_ref()
            .is_some_and(|h| h.content_hash == content_hash)
        {
            return Ok(false);
        }
        let ts = now();
        let mut tx = self.db.begin().await?;
        let os = template.os.as_str();
        // Replicas starting together may all get here: the first to write a template's
        // content wins and the others find nothing left to do (an insert that conflicts waits
        // for the winner's commit, then does nothing; an update finds the hash already set).
        if existing.is_some() {
            let changed = tx
                .execute(
                    "UPDATE templates SET name = $2, framework = $3, os_kind = $4, version = $5, benchmark = $6, \
                     content_hash = $7, updated_at = $8, revision = revision + 1 WHERE id = $1 AND content_hash <> $7",
                    args![&template.id, &template.name, template.framework, os, &template.version, &template.benchmark, content_hash, ts],
                )
                .await?;
            if changed == 0 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM template_checks WHERE template_id = $1",
                args![&template.id],
            )
            .await?;
        } else {
            let inserted = tx
                .execute(
                    "INSERT INTO templates (id, org_id, name, framework, os_kind, version, benchmark, is_system, active, \
                     content_hash, created_at, updated_at) VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                     ON CONFLICT (id) DO NOTHING",
                    args![&template.id, &template.name, template.framework, os, &template.version, &template.benchmark, true, true, content_hash, ts],
                )
                .await?;
            if inserted == 0 {
                return Ok(false);
            }
        }
        insert_checks(&mut tx, &template.id, 0, &template.checks).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_templates(
        &self,
        scope: &Scope,
        filter: &TemplateFilter,
    ) -> Result<Vec<TemplateSummary>> {
        let (clause, mut args) = scope_clause(scope, "t.org_id", 1);
        let mut sql = format!("{SUMMARY} WHERE (t.org_id IS NULL OR {clause})");
        if let Some(system) = filter.system {
            sql.push_str(if system {
                " AND t.is_system = $"
            } else {
                " AND t.is_system <> $"
            });
            sql.push_str(&(args.len() + 1).to_string());
            args.push(Arg::Bool(true));
        }
        for (column, value) in [
            ("t.framework", filter.framework.map(Framework::as_str)),
            ("t.os_kind", filter.os_kind.map(OsKind::as_str)),
        ] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} = ${}", args.len() + 1));
                args.push(v.into());
            }
        }
        sql.push_str(" ORDER BY t.is_system DESC, t.name");
        self.db.fetch_all(&sql, args).await
    }

    async fn get_template(&self, scope: &Scope, id: &str) -> Result<TemplateSummary> {
        self.visible_template(scope, id).await
    }

    async fn template_checks(&self, scope: &Scope, id: &str) -> Result<Vec<TemplateCheck>> {
        self.visible_template(scope, id).await?;
        let rows: Vec<CheckRow> = self
            .db
            .fetch_all(
                "SELECT position, enabled, definition FROM template_checks WHERE template_id = $1 ORDER BY position",
                args![id],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                let mut check: Check = serde_json::from_str(&r.definition).map_err(|e| {
                    StoreError::Invalid(format!(
                        "stored check of template {id} does not parse: {e}"
                    ))
                })?;
                check.enabled = r.enabled;
                Ok(TemplateCheck {
                    position: r.position,
                    enabled: r.enabled,
                    runs_commands: check.runs_commands(),
                    check,
                })
            })
            .collect()
    }

    async fn copy_template(
        &self,
        scope: &Scope,
        id: &str,
        name: &str,
        org_id: &str,
    ) -> Result<TemplateSummary> {
        let source = self.visible_template(scope, id).await?;
        visible(scope, org_id, "organization")?;
        let new = new_id();
        let ts = now();
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO templates (id, org_id, name, framework, os_kind, version, benchmark, is_system, active, \
             content_hash, created_at, updated_at, scap_source, datastream, copied_from) \
             SELECT $1, $2, $3, $4, os_kind, version, benchmark, $5, $6, content_hash, $7, $7, scap_source, datastream, id \
             FROM templates WHERE id = $8",
            args![&new, org_id, name, Framework::Custom.as_str(), false, true, ts, &source.id],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::NotFound("organization"),
            e => e,
        })?;
        tx.execute(
            "INSERT INTO template_checks (template_id, check_id, position, enabled, definition) \
             SELECT $1, check_id, position, enabled, definition FROM template_checks WHERE template_id = $2",
            args![&new, &source.id],
        )
        .await?;
        tx.commit().await?;
        self.visible_template(scope, &new).await
    }

    async fn set_checks_enabled(
        &self,
        scope: &Scope,
        id: &str,
        check_ids: &[String],
        enabled: bool,
    ) -> Result<u64> {
        let template = self.editable_template(scope, id).await?;
        let mut tx = self.db.begin().await?;
        let mut changed = 0;
        for check in check_ids {
            let n = tx
                .execute(
                    "UPDATE template_checks SET enabled = $1 WHERE template_id = $2 AND check_id = $3",
                    args![enabled, id, check],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Invalid(format!(
                    "template {} has no check {check:?}",
                    template.name
                )));
            }
            changed += n;
        }
        tx.execute(BUMP, args![now(), id]).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn update_check(&self, scope: &Scope, id: &str, check: &Check) -> Result<()> {
        self.editable_template(scope, id).await?;
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE template_checks SET enabled = $1, definition = $2 WHERE template_id = $3 AND check_id = $4",
                args![check.enabled, definition(check)?, id, &check.id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound("check"));
        }
        tx.execute(BUMP, args![now(), id]).await?;
        tx.commit().await
    }

    async fn delete_check(&self, scope: &Scope, id: &str, check_id: &str) -> Result<()> {
        self.editable_template(scope, id).await?;
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "DELETE FROM template_checks WHERE template_id = $1 AND check_id = $2",
                args![id, check_id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound("check"));
        }
        tx.execute(BUMP, args![now(), id]).await?;
        tx.commit().await
    }

    async fn add_check(&self, scope: &Scope, id: &str, check: &Check) -> Result<()> {
        let template = self.editable_template(scope, id).await?;
        #[derive(sqlx::FromRow)]
        struct Next {
            next: i64,
        }
        let mut tx = self.db.begin().await?;
        let next: Option<Next> = tx
            .fetch_optional(
                "SELECT COALESCE(MAX(position), -1) + 1 AS next FROM template_checks WHERE template_id = $1",
                args![id],
            )
            .await?;
        insert_check(&mut tx, id, next.map_or(0, |n| n.next), check)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "template {} already has a check {:?}",
                    template.name, check.id
                )),
                e => e,
            })?;
        tx.execute(BUMP, args![now(), id]).await?;
        tx.commit().await
    }

    async fn delete_template(&self, scope: &Scope, id: &str) -> Result<()> {
        let template = self.editable_template(scope, id).await?;
        #[derive(sqlx::FromRow)]
        struct Referrer {
            name: String,
        }
        let mut tx = self.db.begin().await?;
        let referrers: Vec<Referrer> = tx
            .fetch_all(
                "SELECT name FROM policies WHERE template_id = $1 \
                 OR id IN (SELECT policy_id FROM policy_overrides WHERE template_id = $1) ORDER BY name",
                args![id],
            )
            .await?;
        if !referrers.is_empty() {
            let names: Vec<&str> = referrers.iter().map(|r| r.name.as_str()).collect();
            return Err(StoreError::Conflict(format!(
                "template {} is used by policy {}; delete or update the policy first",
                template.name,
                names.join(", ")
            )));
        }
        tx.execute(
            "DELETE FROM template_checks WHERE template_id = $1",
            args![id],
        )
        .await?;
        tx.execute("DELETE FROM templates WHERE id = $1", args![id])
            .await?;
        tx.commit().await
    }

    async fn set_template_active(&self, scope: &Scope, id: &str, active: bool) -> Result<()> {
        self.visible_template(scope, id).await?;
        self.db
            .execute(
                "UPDATE templates SET active = $1, updated_at = $2 WHERE id = $3",
                args![active, now(), id],
            )
            .await?;
        Ok(())
    }
}
