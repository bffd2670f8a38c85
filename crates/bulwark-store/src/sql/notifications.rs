//! Stored notifications (low scores) and the webhooks an admin configured.

use async_trait::async_trait;

use super::{SqlStore, scope_clause, visible};
use crate::{Notification, NotificationStore, Result, Scope, Webhook, args, new_id, now};

#[async_trait]
impl NotificationStore for SqlStore {
    async fn add_notification(&self, n: &Notification) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO notifications (id, org_id, host_id, scan_id, level, message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![&n.id, &n.org_id, n.host_id.clone(), n.scan_id.clone(), &n.level, &n.message, n.created_at],
            )
            .await?;
        Ok(())
    }

    async fn list_notifications(&self, scope: &Scope, limit: i64) -> Result<Vec<Notification>> {
        let (clause, mut args) = scope_clause(scope, "org_id", 1);
        let sql = format!(
            "SELECT id, org_id, host_id, scan_id, level, message, created_at FROM notifications WHERE {clause} \
             ORDER BY created_at DESC, id DESC LIMIT ${}",
            args.len() + 1
        );
        args.push(limit.into());
        self.db.fetch_all(&sql, args).await
    }

    async fn add_webhook(
        &self,
        scope: &Scope,
        org_id: &str,
        url: &str,
        secret: &str,
    ) -> Result<Webhook> {
        visible(scope, org_id, "organization")?;
        let w = Webhook {
            id: new_id(),
            org_id: org_id.into(),
            url: url.into(),
            secret: secret.into(),
            created_at: now(),
        };
        self.db
            .execute(
                "INSERT INTO webhooks (id, org_id, url, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![&w.id, &w.org_id, &w.url, &w.secret, w.created_at],
            )
            .await?;
        Ok(w)
    }

    async fn list_webhooks(&self, scope: &Scope, org_id: &str) -> Result<Vec<Webhook>> {
        visible(scope, org_id, "organization")?;
        self.db
            .fetch_all("SELECT id, org_id, url, secret, created_at FROM webhooks WHERE org_id = $1 ORDER BY created_at", args![org_id])
            .await
    }
}
