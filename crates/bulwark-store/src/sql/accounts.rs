//! Organizations, users, credentials (sessions and API tokens, stored as hashes) and login
//! failures for rate limiting.

use async_trait::async_trait;
use bulwark_core::Role;

use super::{SqlStore, scope_clause, visible};
use crate::db::placeholders;
use crate::{
    AccountStore, CredentialKind, Org, Result, Scope, StoreError, User, args, new_id, now,
};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    role: String,
    all_orgs: bool,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: String,
    org_id: String,
}

impl SqlStore {
    async fn users_with_orgs(&self, rows: Vec<UserRow>) -> Result<Vec<(User, String)>> {
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let members: Vec<MemberRow> = self
            .db
            .fetch_all(
                &format!(
                    "SELECT user_id, org_id FROM user_orgs WHERE user_id IN ({}) ORDER BY org_id",
                    placeholders(1, ids.len())
                ),
                ids.iter().map(crate::db::Arg::from).collect(),
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                let role = Role::parse(&r.role).ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "user {} has unknown role {:?}",
                        r.username, r.role
                    ))
                })?;
                let orgs = members
                    .iter()
                    .filter(|m| m.user_id == r.id)
                    .map(|m| m.org_id.clone())
                    .collect();
                Ok((
                    User {
                        id: r.id,
                        username: r.username,
                        role,
                        all_orgs: r.all_orgs,
                        orgs,
                        created_at: r.created_at,
                    },
                    r.password_hash,
                ))
            })
            .collect()
    }
}

const USER_COLUMNS: &str = "id, username, password_hash, role, all_orgs, created_at";

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_org(&self, name: &str, secret_hash: &str) -> Result<Org> {
        let org = Org {
            id: new_id(),
            name: name.to_owned(),
            created_at: now(),
        };
        self.db
            .execute(
                "INSERT INTO orgs (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
                args![&org.id, &org.name, secret_hash, org.created_at],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("an organization named {name:?} already exists"))
                }
                e => e,
            })?;
        Ok(org)
    }

    async fn list_orgs(&self, scope: &Scope) -> Result<Vec<Org>> {
        let (clause, args) = scope_clause(scope, "id", 1);
        self.db
            .fetch_all(
                &format!("SELECT id, name, created_at FROM orgs WHERE {clause} ORDER BY name"),
                args,
            )
            .await
    }

    async fn get_org(&self, scope: &Scope, id: &str) -> Result<Org> {
        visible(scope, id, "organization")?;
        self.db
            .fetch_optional(
                "SELECT id, name, created_at FROM orgs WHERE id = $1",
                args![id],
            )
            .await?
            .ok_or(StoreError::NotFound("organization"))
    }

    async fn set_org_secret(&self, scope: &Scope, id: &str, secret_hash: &str) -> Result<()> {
        visible(scope, id, "organization")?;
        match self
            .db
            .execute(
                "UPDATE orgs SET secret_hash = $1 WHERE id = $2",
                args![secret_hash, id],
            )
            .await?
        {
            0 => Err(StoreError::NotFound("organization")),
            _ => Ok(()),
        }
    }

    async fn org_by_secret(&self, secret_hash: &str) -> Result<Option<Org>> {
        self.db
            .fetch_optional(
                "SELECT id, name, created_at FROM orgs WHERE secret_hash = $1",
                args![secret_hash],
            )
            .await
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        orgs: Option<&[String]>,
    ) -> Result<User> {
        let id = new_id();
        let created_at = now();
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO users (id, username, password_hash, role, all_orgs, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![&id, username, password_hash, role.as_str(), orgs.is_none(), created_at],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(format!("a user named {username:?} already exists")),
            e => e,
        })?;
        for org in orgs.unwrap_or_default() {
            tx.execute(
                "INSERT INTO user_orgs (user_id, org_id) VALUES ($1, $2)",
                args![&id, org],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::NotFound("organization"),
                e => e,
            })?;
        }
        tx.commit().await?;
        Ok(User {
            id,
            username: username.to_owned(),
            role,
            all_orgs: orgs.is_none(),
            orgs: orgs.map(<[String]>::to_vec).unwrap_or_default(),
            created_at,
        })
    }

    async fn list_users(&self, scope: &Scope) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = match scope {
            Scope::All => {
                self.db
                    .fetch_all(
                        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"),
                        vec![],
                    )
                    .await?
            }
            Scope::Orgs(_) => {
                let (clause, args) = scope_clause(scope, "m.org_id", 1);
                self.db
                    .fetch_all(
                        &format!(
                            "SELECT DISTINCT u.id, u.username, u.password_hash, u.role, u.all_orgs, u.created_at \
                             FROM users u JOIN user_orgs m ON m.user_id = u.id WHERE {clause} ORDER BY u.username"
                        ),
                        args,
                    )
                    .await?
            }
        };
        Ok(self
            .users_with_orgs(rows)
            .await?
            .into_iter()
            .map(|(u, _)| u)
            .collect())
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>> {
        let rows: Vec<UserRow> = self
            .db
            .fetch_all(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"),
                args![username],
            )
            .await?;
        Ok(self.users_with_orgs(rows).await?.into_iter().next())
    }

    async fn add_credential(
        &self,
        user_id: &str,
        token_hash: &str,
        kind: CredentialKind,
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO credentials (token_hash, user_id, kind, name, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                args![token_hash, user_id, kind.as_str(), name, expires_at, now()],
            )
            .await?;
        Ok(())
    }

    async fn user_by_credential(&self, token_hash: &str, now: i64) -> Result<Option<User>> {
        let rows: Vec<UserRow> = self
            .db
            .fetch_all(
                "SELECT u.id, u.username, u.password_hash, u.role, u.all_orgs, u.created_at FROM users u \
                 JOIN credentials c ON c.user_id = u.id \
                 WHERE c.token_hash = $1 AND (c.expires_at IS NULL OR c.expires_at > $2)",
                args![token_hash, now],
            )
            .await?;
        Ok(self
            .users_with_orgs(rows)
            .await?
            .into_iter()
            .next()
            .map(|(u, _)| u))
    }

    async fn delete_credential(&self, token_hash: &str) -> Result<()> {
        self.db
            .execute(
                "DELETE FROM credentials WHERE token_hash = $1",
                args![token_hash],
            )
            .await?;
        Ok(())
    }

    async fn record_login_failure(
        &self,
        username: &str,
        source: &str,
        at: i64,
        forget_before: i64,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "DELETE FROM login_failures WHERE at < $1",
            args![forget_before],
        )
        .await?;
        tx.execute(
            "INSERT INTO login_failures (username, source, at) VALUES ($1, $2, $3)",
            args![username, source, at],
        )
        .await?;
        tx.commit().await
    }

    async fn login_pressure(
        &self,
        username: &str,
        source: &str,
        since: i64,
    ) -> Result<crate::LoginPressure> {
        #[derive(sqlx::FromRow)]
        struct Failures {
            n: i64,
            last: Option<i64>,
        }
        let mut pressure = crate::LoginPressure::default();
        for (column, value) in [("username", username), ("source", source)] {
            let f: Failures = self
                .db
                .fetch_one(
                    &format!(
                        "SELECT COUNT(*) AS n, MAX(at) AS last FROM login_failures WHERE {column} = $1 AND at >= $2"
                    ),
                    args![value, since],
                )
                .await?;
            match column {
                "username" => (pressure.user_failures, pressure.user_last) = (f.n, f.last),
                _ => (pressure.source_failures, pressure.source_last) = (f.n, f.last),
            }
        }
        Ok(pressure)
    }
}
