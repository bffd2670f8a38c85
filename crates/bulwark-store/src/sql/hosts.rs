//! Hosts, their latest inventory per category, and host groups with parents.

use async_trait::async_trait;

use super::{SqlStore, scope_clause, visible};
use crate::{Host, HostGroup, HostStore, NewHost, Result, Scope, StoreError, args, new_id, now};

const COLUMNS: &str =
    "id, org_id, hostname, os_kind, os_id, os_version, status, last_seen_at, created_at";

#[derive(sqlx::FromRow)]
struct Data {
    data: String,
}

#[derive(sqlx::FromRow)]
struct GroupLink {
    id: String,
    parent_id: Option<String>,
}

#[async_trait]
impl HostStore for SqlStore {
    async fn create_host(&self, h: &NewHost) -> Result<Host> {
        let host = Host {
            id: new_id(),
            org_id: h.org_id.clone(),
            hostname: h.hostname.clone(),
            os_kind: h.os_kind.clone(),
            os_id: h.os_id.clone(),
            os_version: h.os_version.clone(),
            status: h.status.clone(),
            last_seen_at: Some(now()),
            created_at: now(),
        };
        self.db
            .execute(
                &format!(
                    "INSERT INTO hosts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                args![
                    &host.id,
                    &host.org_id,
                    &host.hostname,
                    &host.os_kind,
                    &host.os_id,
                    &host.os_version,
                    &host.status,
                    host.last_seen_at,
                    host.created_at
                ],
            )
            .await?;
        Ok(host)
    }

    async fn get_host(&self, scope: &Scope, id: &str) -> Result<Host> {
        let h: Host = self
            .db
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM hosts WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or(StoreError::NotFound("host"))?;
        visible(scope, &h.org_id, "host")?;
        Ok(h)
    }

    async fn list_hosts(&self, scope: &Scope) -> Result<Vec<Host>> {
        let (clause, args) = scope_clause(scope, "org_id", 1);
        self.db
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM hosts WHERE {clause} ORDER BY hostname"),
                args,
            )
            .await
    }

    async fn set_host_status(
        &self,
        scope: &Scope,
        id: &str,
        status: &str,
        seen_at: Option<i64>,
    ) -> Result<()> {
        self.get_host(scope, id).await?;
        self.db
            .execute(
                "UPDATE hosts SET status = $1, last_seen_at = COALESCE($2, last_seen_at) WHERE id = $3",
                args![status, seen_at, id],
            )
            .await?;
        Ok(())
    }

    async fn set_inventory(
        &self,
        host_id: &str,
        category: &str,
        hash: &str,
        data: &serde_json::Value,
    ) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO host_inventory (host_id, category, hash, data, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (host_id, category) DO UPDATE SET hash = excluded.hash, data = excluded.data, updated_at = excluded.updated_at",
                args![host_id, category, hash, data.to_string(), now()],
            )
            .await?;
        Ok(())
    }

    async fn inventory(&self, host_id: &str, category: &str) -> Result<Option<serde_json::Value>> {
        let row: Option<Data> = self
            .db
            .fetch_optional(
                "SELECT data FROM host_inventory WHERE host_id = $1 AND category = $2",
                args![host_id, category],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(&r.data)
                .map_err(|e| StoreError::Invalid(format!("stored inventory {category}: {e}")))
        })
        .transpose()
    }

    async fn create_group(
        &self,
        scope: &Scope,
        org_id: &str,
        name: &str,
        parent_id: Option<&str>,
    ) -> Result<HostGroup> {
        visible(scope, org_id, "organization")?;
        if let Some(parent) = parent_id {
            let groups = self.list_groups(scope).await?;
            if !groups.iter().any(|g| g.id == parent && g.org_id == org_id) {
                return Err(StoreError::NotFound("parent group"));
            }
        }
        let g = HostGroup {
            id: new_id(),
            org_id: org_id.into(),
            name: name.into(),
            parent_id: parent_id.map(str::to_owned),
            created_at: now(),
        };
        self.db
            .execute(
                "INSERT INTO host_groups (id, org_id, name, parent_id, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![&g.id, &g.org_id, &g.name, g.parent_id.clone(), g.created_at],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!("a group named {name:?} already exists")),
                e => e,
            })?;
        Ok(g)
    }

    async fn list_groups(&self, scope: &Scope) -> Result<Vec<HostGroup>> {
        let (clause, args) = scope_clause(scope, "org_id", 1);
        self.db
            .fetch_all(
                &format!("SELECT id, org_id, name, parent_id, created_at FROM host_groups WHERE {clause} ORDER BY name"),
                args,
            )
            .await
    }

    async fn add_group_member(&self, scope: &Scope, group_id: &str, host_id: &str) -> Result<()> {
        let host = self.get_host(scope, host_id).await?;
        let groups = self.list_groups(scope).await?;
        if !groups
            .iter()
            .any(|g| g.id == group_id && g.org_id == host.org_id)
        {
            return Err(StoreError::NotFound("group"));
        }
        self.db
            .execute(
                "INSERT INTO host_group_members (group_id, host_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![group_id, host_id],
            )
            .await?;
        Ok(())
    }

    async fn groups_of_host(&self, host_id: &str) -> Result<Vec<String>> {
        let direct: Vec<GroupLink> = self
            .db
            .fetch_all(
                "SELECT g.id, g.parent_id FROM host_groups g JOIN host_group_members m ON m.group_id = g.id WHERE m.host_id = $1",
                args![host_id],
            )
            .await?;
        let Some(first) = direct.first() else {
            return Ok(vec![]);
        };
        #[derive(sqlx::FromRow)]
        struct OrgOf {
            org_id: String,
        }
        let org: OrgOf = self
            .db
            .fetch_one(
                "SELECT org_id FROM host_groups WHERE id = $1",
                args![&first.id],
            )
            .await?;
        let all: Vec<GroupLink> = self
            .db
            .fetch_all(
                "SELECT id, parent_id FROM host_groups WHERE org_id = $1",
                args![&org.org_id],
            )
            .await?;
        let mut out: Vec<String> = Vec::new();
        let mut todo: Vec<String> = direct.into_iter().map(|g| g.id).collect();
        // Walk up the parents; `out` doubles as the visited set, so a cycle cannot loop.
        while let Some(id) = todo.pop() {
            if out.contains(&id) {
                continue;
            }
            if let Some(parent) = all
                .iter()
                .find(|g| g.id == id)
                .and_then(|g| g.parent_id.clone())
            {
                todo.push(parent);
            }
            out.push(id);
        }
        Ok(out)
    }
}
