//! Databases for tests: a fresh SQLite file, or a fresh schema in the PostgreSQL server named
//! by `BULWARK_TEST_POSTGRES` (default: the local `test` database). The same suites run on
//! both, so a query that only works on one backend fails a test.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;

use crate::db::Db;
use crate::{Store, StoreError};

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_url() -> String {
    std::env::var("BULWARK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into())
}

/// A store on a new SQLite file inside `dir`.
pub async fn sqlite(dir: &std::path::Path) -> Result<Arc<dyn Store>, StoreError> {
    crate::connect(&format!("sqlite://{}", dir.join("bulwark.db").display())).await
}

/// A store on a new, uniquely named schema of the test PostgreSQL database.
pub async fn postgres() -> Result<Arc<dyn Store>, StoreError> {
    Ok(crate::from_db(postgres_db().await?))
}

pub async fn postgres_db() -> Result<Db, StoreError> {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let base = PgConnectOptions::from_str(&postgres_url())
        .map_err(|e| StoreError::Config(e.to_string()))?;
    let admin = Db::connect_postgres_plain(base.clone()).await?;
    admin
        .execute(&format!("CREATE SCHEMA {schema}"), vec![])
        .await?;
    Db::connect_postgres(base.options([("search_path", schema.as_str())])).await
}

/// Two independent pools on one new schema: two server replicas sharing a database.
pub async fn postgres_pair() -> Result<(Db, Db), StoreError> {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let base = PgConnectOptions::from_str(&postgres_url())
        .map_err(|e| StoreError::Config(e.to_string()))?;
    let admin = Db::connect_postgres_plain(base.clone()).await?;
    admin
        .execute(&format!("CREATE SCHEMA {schema}"), vec![])
        .await?;
    let options = base.options([("search_path", schema.as_str())]);
    let first = Db::connect_postgres(options.clone()).await?;
    let second = Db::connect_postgres(options).await?;
    Ok((first, second))
}
