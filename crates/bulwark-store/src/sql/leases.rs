//! Named leases judged by the database's clock: with several server replicas on one
//! database, exactly one holds the scheduler lease at a time.

use async_trait::async_trait;

use super::SqlStore;
use crate::{LeaseStore, Result, args};

#[derive(sqlx::FromRow)]
struct Holder {
    holder: String,
}

#[async_trait]
impl LeaseStore for SqlStore {
    async fn try_lease(&self, name: &str, holder: &str, ttl_secs: i64) -> Result<bool> {
        let now = self.db.now_sql();
        // One statement: insert, or take over when expired or already ours. The losing
        // replica's upsert matches no row and returns nothing.
        let mut tx = self.db.begin().await?;
        let row: Option<Holder> = tx
            .fetch_optional(
                &format!(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, {now} + $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE leases.expires_at <= {now} OR leases.holder = excluded.holder \
                     RETURNING holder"
                ),
                args![name, holder, ttl_secs],
            )
            .await?;
        tx.commit().await?;
        Ok(row.is_some_and(|r| r.holder == holder))
    }
}
