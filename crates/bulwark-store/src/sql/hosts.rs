//! Hosts, their latest inventory per category, and host groups with parents.

use async_trait::async_trait;

use super::{SqlStore, scope_clause, visible};
use crate::model::HostRow;
use crate::{Host, HostGroup, HostStore, NewHost, Result, Scope, StoreError, args, new_id, now};

/// A host row with its last heartbeat; `h` is hosts, `hs` host_seen.
pub(crate) const HOST_SELECT: &str = "SELECT h.id, h.org_id, h.hostname, h.os_kind, h.os_id, h.os_version, h.kernel, \
     h.status, hs.last_seen_at, h.created_at, h.agent_id, h.agent_version, h.spool_dropped, h.inventory_refused, h.connection \
     FROM hosts h LEFT JOIN host_seen hs ON hs.host_id = h.id";

#[derive(sqlx::FromRow)]
struct Data {
    data: String,
}

#[derive(sqlx::FromRow)]
struct Hash {
    category: String,
    hash: String,
}

#[derive(sqlx::FromRow)]
struct GroupLink {
    id: String,
    parent_id: Option<String>,
}

impl SqlStore {
    pub(crate) async fn host_where(&self, condition: &str, arg: &str) -> Result<Option<Host>> {
        let row: Option<HostRow> = self
            .db
            .fetch_optional(&format!("{HOST_SELECT} WHERE {condition}"), args![arg])
            .await?;
        Ok(row.map(|r| r.at(now())))
    }
}

#[async_trait]
impl HostStore for SqlStore {
    async fn create_host(&self, h: &NewHost) -> Result<Host> {
        let id = new_id();
        let at = now();
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO hosts (id, org_id, hostname, os_kind, os_id, os_version, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7)",
            args![&id, &h.org_id, &h.hostname, &h.os_kind, &h.os_id, &h.os_version, at],
        )
        .await?;
        tx.execute(
            "INSERT INTO host_seen (host_id, last_seen_at) VALUES ($1, $2)",
            args![&id, at],
        )
        .await?;
        tx.commit().await?;
        Ok(self
            .host_where("h.id = $1", &id)
            .await?
            .expect("the host was just written"))
    }

    async fn get_host(&self, scope: &Scope, id: &str) -> Result<Host> {
        let h = self
            .host_where("h.id = $1", id)
            .await?
            .ok_or(StoreError::NotFound("host"))?;
        visible(scope, &h.org_id, "host")?;
        Ok(h)
    }

    async fn host_by_agent_id(&self, scope: &Scope, agent_id: &str) -> Result<Host> {
        let h = self
            .host_where("h.agent_id = $1", agent_id)
            .await?
            .ok_or(StoreError::NotFound("host"))?;
        visible(scope, &h.org_id, "host")?;
        Ok(h)
    }

    async fn list_hosts(&self, scope: &Scope) -> Result<Vec<Host>> {
        let (clause, args) = scope_clause(scope, "h.org_id", 1);
        let rows: Vec<HostRow> = self
            .db
            .fetch_all(
                &format!("{HOST_SELECT} WHERE {clause} ORDER BY h.hostname, h.id"),
                args,
            )
            .await?;
        let now = now();
        Ok(rows.into_iter().map(|r| r.at(now)).collect())
    }

    async fn set_maintenance(&self, scope: &Scope, id: &str, maintenance: bool) -> Result<()> {
        self.get_host(scope, id).await?;
        let mode = if maintenance { "maintenance" } else { "active" };
        self.db
            .execute(
                "UPDATE hosts SET status = $1 WHERE id = $2",
                args![mode, id],
            )
            .await?;
        Ok(())
    }

    async fn delete_host(&self, scope: &Scope, id: &str) -> Result<()> {
        self.get_host(scope, id).await?;
        let mut tx = self.db.begin().await?;
        // host_compliance and exceptions reference the host too; everything goes with it.
        tx.execute("DELETE FROM host_compliance WHERE host_id = $1", args![id])
            .await?;
        tx.execute("DELETE FROM hosts WHERE id = $1", args![id])
            .await?;
        tx.commit().await
    }

    async fn store_inventory(
        &self,
        host_id: &str,
        categories: &[(String, String, serde_json::Value)],
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let at = now();
        for (category, hash, data) in categories {
            tx.execute(
                "INSERT INTO host_inventory (host_id, category, hash, data, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (host_id, category) DO UPDATE SET hash = excluded.hash, data = excluded.data, updated_at = excluded.updated_at",
                args![host_id, category, hash, data.to_string(), at],
            )
            .await?;
        }
        tx.commit().await
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

    async fn inventory_hashes(&self, host_id: &str) -> Result<Vec<(String, String)>> {
        let rows: Vec<Hash> = self
            .db
            .fetch_all(
                "SELECT category, hash FROM host_inventory WHERE host_id = $1 ORDER BY category",
                args![host_id],
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.category, r.hash)).collect())
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

    async fn group_hosts(&self, scope: &Scope, group_id: &str) -> Result<Vec<String>> {
        let groups = self.list_groups(scope).await?;
        if !groups.iter().any(|g| g.id == group_id) {
            return Err(StoreError::NotFound("group"));
        }
        // The group and its descendants; groups are few, so the tree is walked here.
        let mut wanted = vec![group_id.to_owned()];
        let mut i = 0;
        while i < wanted.len() {
            let parent = wanted[i].clone();
            wanted.extend(
                groups
                    .iter()
                    .filter(|g| g.parent_id.as_deref() == Some(parent.as_str()))
                    .map(|g| g.id.clone()),
            );
            i += 1;
        }
        #[derive(sqlx::FromRow)]
        struct Member {
            host_id: String,
        }
        let mut hosts = Vec::new();
        for group in &wanted {
            let members: Vec<Member> = self
                .db
                .fetch_all(
                    "SELECT host_id FROM host_group_members WHERE group_id = $1",
                    args![group.as_str()],
                )
                .await?;
            hosts.extend(members.into_iter().map(|m| m.host_id));
        }
        hosts.sort();
        hosts.dedup();
        Ok(hosts)
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
