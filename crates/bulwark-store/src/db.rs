//! The one place where the two backends differ at run time: a pool (or a transaction) of
//! either SQLite or PostgreSQL, running the same SQL text with `$n` placeholders and the same
//! row types. Every query of the store goes through [`Db`] or [`Tx`], so a query is written
//! once and runs on both.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Database, Encode, FromRow, PgPool, Postgres, Sqlite, SqlitePool, Type};

use crate::error::StoreError;

/// A bound parameter. Owned, so that a list of them can be built before the query.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}

/// States are stored as their text (see `bulwark_core::text_enum!`).
macro_rules! text_args {
    ($($state:ty),*) => {$(
        impl From<$state> for Arg {
            fn from(v: $state) -> Self {
                Arg::Text(Some(v.as_str().to_owned()))
            }
        }
        impl From<&$state> for Arg {
            fn from(v: &$state) -> Self {
                Arg::from(*v)
            }
        }
        impl From<Option<$state>> for Arg {
            fn from(v: Option<$state>) -> Self {
                Arg::Text(v.map(|v| v.as_str().to_owned()))
            }
        }
    )*};
}

text_args!(
    bulwark_core::OsKind,
    bulwark_core::Risk,
    bulwark_core::Framework,
    crate::ScheduleType,
    crate::PolicyTarget,
    crate::CisLevel,
    crate::ScanStatus,
    crate::TriggerKind,
    crate::HostConnection,
    crate::Escalation,
    crate::SshCredentialKind,
    bulwark_core::JobType,
    bulwark_core::JobStatus,
    bulwark_core::JobPriority,
    crate::AuditOutcome,
    bulwark_core::provisioning::EnforcementMode,
    bulwark_core::provisioning::CisProfile,
    bulwark_core::provisioning::VmProvider,
    bulwark_core::provisioning::ProvisionSource,
    bulwark_core::provisioning::ProvisionStatus
);
/// A nullable TEXT column, read so that a nullable state column can become `Option<State>`
/// (`#[sqlx(try_from = "NullableText")]`): the states are declared in bulwark-core, which
/// knows nothing of SQL, so the store converts them here.
pub struct NullableText(Option<String>);

impl<DB: Database> Type<DB> for NullableText
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> sqlx::Decode<'r, DB> for NullableText
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        use sqlx::ValueRef as _;
        if value.is_null() {
            return Ok(NullableText(None));
        }
        Ok(NullableText(Some(
            <String as sqlx::Decode<'r, DB>>::decode(value)?,
        )))
    }
}

macro_rules! nullable_states {
    ($($state:ty),*) => {$(
        impl TryFrom<NullableText> for Option<$state> {
            type Error = bulwark_core::text_enum::UnknownValue;

            fn try_from(text: NullableText) -> Result<Self, Self::Error> {
                text.0.map(|t| t.parse()).transpose()
            }
        }
    )*};
}

nullable_states!(bulwark_core::Risk, crate::CisLevel);

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<u32> for Arg {
    fn from(v: u32) -> Self {
        Arg::Int(Some(i64::from(v)))
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(Some(v))
    }
}
impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::Float(v)
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// Builds a `Vec<Arg>` from values of mixed types.
#[macro_export]
#[doc(hidden)]
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::Arg::from($v)),*] };
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments>;

fn bind<'q, DB: Database>(mut q: Query<'q, DB>, args: Vec<Arg>) -> Query<'q, DB>
where
    Option<String>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    Vec<u8>: Encode<'q, DB> + Type<DB>,
{
    for a in args {
        q = match a {
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Float(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// A row type readable from both backends.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub enum Db {
    /// SQLite has one writer at a time. Write transactions queue on the lock in this process
    /// instead of polling SQLite's busy handler, whose growing sleeps turn contention into
    /// long tails. The checkpointer runs while any clone of the database lives.
    Sqlite(SqlitePool, Arc<Mutex<()>>, Arc<Checkpointer>),
    Postgres(PgPool),
}

/// Moves the write-ahead log into the database file off the write path. SQLite's automatic
/// checkpoint runs inside a writer's commit, holding the write lock through the copy and the
/// fsync, and on a virtual disk every write queued behind it waited (heartbeat p99 of seconds
/// once the database outgrew the page cache). Here a passive checkpoint on a connection of its
/// own copies frames every second while writers go on. A passive checkpoint alone never lets
/// the log restart under constant reads and writes (it grew past 2 GB in three minutes), so
/// every tenth second a `RESTART` checkpoint runs between two writes: it waits for the readers
/// of older snapshots (milliseconds), copies the few frames the passive ones left, and makes
/// the next writer start the log from the beginning.
pub struct Checkpointer(tokio::task::AbortHandle);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    const EVERY: Duration = Duration::from_secs(1);
    const BETWEEN_WRITES_EVERY: u32 = 10;

    fn start(pool: SqlitePool, writer: Arc<Mutex<()>>) -> Self {
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(Self::EVERY);
            for round in 1u32.. {
                every.tick().await;
                let (_turn, mode) = match round % Self::BETWEEN_WRITES_EVERY {
                    0 => (Some(writer.lock().await), "RESTART"),
                    _ => (None, "PASSIVE"),
                };
                // A failed checkpoint only lets the log grow until the next one succeeds.
                let _ = sqlx::query(AssertSqlSafe(format!("PRAGMA wal_checkpoint({mode})")))
                    .execute(&pool)
                    .await;
            }
        });
        Checkpointer(task.abort_handle())
    }
}

pub enum Tx {
    /// The guard keeps this process's other writers waiting until the transaction ends.
    Sqlite(sqlx::Transaction<'static, Sqlite>, OwnedMutexGuard<()>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

fn sql(text: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(text.to_owned())
}

/// SQLite finds a named placeholder (`$3`) by walking a list, so binding a statement with
/// hundreds of them takes quadratic time. When the numbers run 1, 2, 3... each once, plain
/// `?` means the same and binds by position.
fn for_sqlite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut expected = 1u32;
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        if digits.parse::<u32>() != Ok(expected) {
            return text.to_owned();
        }
        expected += 1;
        out.push('?');
    }
    out
}

/// Runs one statement against whichever executor `$exec` holds; the body is written once and
/// type-checked for each backend.
macro_rules! on_backend {
    ($target:expr, $sql:expr, $args:expr, |$q:ident, $e:ident| $body:expr) => {
        match $target {
            Db::Sqlite(pool, _, _) => {
                let $q = bind(
                    sqlx::query::<Sqlite>(AssertSqlSafe(for_sqlite($sql))),
                    $args,
                );
                let $e = pool;
                $body
            }
            Db::Postgres(pool) => {
                let $q = bind(sqlx::query::<Postgres>(sql($sql)), $args);
                let $e = pool;
                $body
            }
        }
    };
}

macro_rules! on_tx {
    ($target:expr, $sql:expr, $args:expr, |$q:ident, $e:ident| $body:expr) => {
        match $target {
            Tx::Sqlite(tx, _) => {
                let $q = bind(
                    sqlx::query::<Sqlite>(AssertSqlSafe(for_sqlite($sql))),
                    $args,
                );
                let $e = &mut **tx;
                $body
            }
            Tx::Postgres(tx) => {
                let $q = bind(sqlx::query::<Postgres>(sql($sql)), $args);
                let $e = &mut **tx;
                $body
            }
        }
    };
}

impl Db {
    /// Opens the database a URL names: `sqlite://PATH` (created when missing) or
    /// `postgres://...`, and applies that backend's migrations.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        let db = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad SQLite URL {url:?}: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // A 64 MiB page cache and memory-mapped reads per connection: ingest and the
                // dashboard otherwise spend their time re-reading pages with pread.
                .pragma("cache_size", "-65536")
                .pragma("mmap_size", "268435456")
                .pragma("wal_autocheckpoint", "0")
                .pragma("journal_size_limit", "67108864");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            let writer = Arc::new(Mutex::new(()));
            let checkpointer = Arc::new(Checkpointer::start(pool.clone(), writer.clone()));
            Db::Sqlite(pool, writer, checkpointer)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad PostgreSQL URL: {e}")))?;
            Self::connect_postgres(options).await?
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
            )));
        };
        Ok(db)
    }

    /// A small pool without migrations, for administrative statements.
    pub async fn connect_postgres_plain(options: PgConnectOptions) -> Result<Db, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Db::Postgres(pool))
    }

    pub async fn connect_postgres(options: PgConnectOptions) -> Result<Db, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Db::Postgres(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begins a write transaction. SQLite takes the write lock at once (`BEGIN IMMEDIATE`)
    /// so that two writers wait for each other instead of failing on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(pool, writer, _) => {
                let guard = writer.clone().lock_owned().await;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, guard)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs one statement outside a transaction. On SQLite a single write does not queue on
    /// the writer lock: under CPU saturation the lock's hand-offs formed convoys that tripled
    /// heartbeat tails, while one short statement rarely meets a busy database.
    pub async fn execute(&self, text: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        on_backend!(self, text, args, |q, e| Ok(q
            .execute(e)
            .await?
            .rows_affected()))
    }

    pub async fn fetch_all<T: Row>(
        &self,
        text: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        on_backend!(self, text, args, |q, e| {
            let rows = q.fetch_all(e).await?;
            rows.iter()
                .map(|r| T::from_row(r).map_err(StoreError::from))
                .collect()
        })
    }

    pub async fn fetch_optional<T: Row>(
        &self,
        text: &str,
        args: Vec<Arg>,
    ) -> Result<Option<T>, StoreError> {
        on_backend!(self, text, args, |q, e| {
            match q.fetch_optional(e).await? {
                Some(r) => Ok(Some(T::from_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    pub async fn fetch_one<T: Row>(&self, text: &str, args: Vec<Arg>) -> Result<T, StoreError> {
        on_backend!(self, text, args, |q, e| Ok(T::from_row(
            &q.fetch_one(e).await?
        )?))
    }

    /// The database's clock in Unix seconds: leases are judged by it so that replicas with
    /// skewed clocks still agree.
    pub fn now_sql(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "CAST(strftime('%s','now') AS BIGINT)",
            Db::Postgres(_) => "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
        }
    }
}

impl Tx {
    pub async fn execute(&mut self, text: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        on_tx!(self, text, args, |q, e| Ok(q
            .execute(e)
            .await?
            .rows_affected()))
    }

    pub async fn fetch_all<T: Row>(
        &mut self,
        text: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        on_tx!(self, text, args, |q, e| {
            let rows = q.fetch_all(e).await?;
            rows.iter()
                .map(|r| T::from_row(r).map_err(StoreError::from))
                .collect()
        })
    }

    pub async fn fetch_optional<T: Row>(
        &mut self,
        text: &str,
        args: Vec<Arg>,
    ) -> Result<Option<T>, StoreError> {
        on_tx!(self, text, args, |q, e| {
            match q.fetch_optional(e).await? {
                Some(r) => Ok(Some(T::from_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx, _guard) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// `$start, $start+1, ...` for an `IN (...)` list of `n` values.
pub fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// SQL assembled from fragments: each `?` in a pushed fragment becomes the next `$n`, so
/// dynamic filters never count placeholders by hand. (`?` never appears in our SQL text
/// otherwise.)
#[derive(Debug, Clone, Default)]
pub struct SqlBuf {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl SqlBuf {
    pub fn new(fragment: &str, args: Vec<Arg>) -> Self {
        let mut b = SqlBuf::default();
        b.push(fragment, args);
        b
    }

    pub fn push(&mut self, fragment: &str, args: Vec<Arg>) -> &mut Self {
        let mut parts = fragment.split('?');
        if let Some(first) = parts.next() {
            self.sql.push_str(first);
        }
        let mut n = self.args.len();
        for part in parts {
            n += 1;
            self.sql.push_str(&format!("${n}"));
            self.sql.push_str(part);
        }
        debug_assert_eq!(
            n,
            self.args.len() + args.len(),
            "placeholders and values differ in {fragment:?}"
        );
        self.args.extend(args);
        self
    }

    /// `AND column IN (...)` for the scope's organizations.
    pub fn scope(&mut self, scope: &crate::Scope, column: &str) -> &mut Self {
        match scope {
            crate::Scope::All => self,
            crate::Scope::Orgs(orgs) => {
                let marks = vec!["?"; orgs.len().max(1)].join(", ");
                if orgs.is_empty() {
                    self.push(" AND 1 = 0", vec![])
                } else {
                    let frag = format!(" AND {column} IN ({marks})");
                    self.push(&frag, orgs.iter().map(Arg::from).collect())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sequential_placeholders_become_positional_on_sqlite() {
        for (text, want) in [
            ("SELECT $1, $2, $3", "SELECT ?, ?, ?"),
            ("VALUES ($1, $2), ($3, $4)", "VALUES (?, ?), (?, ?)"),
            ("SELECT $1 WHERE a = $1", "SELECT $1 WHERE a = $1"),
            ("SELECT $2, $1", "SELECT $2, $1"),
            ("SELECT 1", "SELECT 1"),
        ] {
            assert_eq!(super::for_sqlite(text), want, "{text}");
        }
    }
}
