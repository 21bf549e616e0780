//! Storage: one sqlx layer over SQLite (the embedded default) and PostgreSQL
//! (several nodes on one database).
//!
//! [`Db`] is an enum over the two pools; each query is written once with
//! `$N` placeholders and expanded for both drivers by [`on_pool!`]. Every
//! function that reads or writes tenant data takes a [`TenantId`] and
//! filters by it: there is deliberately no lookup across tenants.
//!
//! [`TenantId`]: crate::ids::TenantId

pub mod acme_accounts;
pub mod acme_challenges;
pub mod activity;
pub mod args;
pub mod audit;
pub mod billing;
pub mod branding;
pub mod catalog;
pub mod changes;
pub mod clients;
pub mod comments;
pub mod documents;
pub mod invitations;
pub mod leases;
pub mod notifications;
pub mod oidc_providers;
pub mod ott_exchange;
pub mod otts;
pub mod outbox;
pub mod password_resets;
pub mod portal_domains;
pub mod projects;
pub mod roles;
pub mod routes;
pub mod sessions;
pub mod tenants;
pub mod throttle;
pub mod tickets;
pub mod two_factor;
mod types;
pub mod users;
mod write_gate;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
/// Both arms must produce the same type.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$tx` bound to a transaction of either backend.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$t:ident| $body:expr) => {
        match $tx {
            $crate::db::DbTx::Sqlite($t) => $body,
            $crate::db::DbTx::Postgres($t) => $body,
        }
    };
}

/// A connection pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction on one of the two backends.
pub enum DbTx {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl DbTx {
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            DbTx::Sqlite(t) => t.commit().await?,
            DbTx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A SQLite write transaction: `BEGIN IMMEDIATE` on a pooled connection,
/// ended by [`SqliteTx::commit`] or, when dropped, rolled back.
///
/// Not sqlx's `Transaction`: after a failed write (`SQLITE_FULL`,
/// `SQLITE_IOERR`) SQLite may roll the transaction back itself, sqlx's
/// `ROLLBACK` then fails, and its connection goes back to the pool still
/// counting itself inside a transaction, refusing every later `BEGIN
/// IMMEDIATE` ("attempted to call begin_with at non-zero transaction
/// depth"): a full disk would break writes on that connection for good.
/// Here a connection that cannot be brought back out of its transaction is
/// closed instead.
///
/// It begins only in this process's turn ([`write_gate`]), so writers queue
/// instead of sleeping in SQLite's busy handler.
pub struct SqliteTx {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>,
    turn: Option<write_gate::WriteTurn>,
}

impl SqliteTx {
    async fn begin(pool: &SqlitePool) -> Result<SqliteTx, sqlx::Error> {
        let mut tx = SqliteTx::hold(pool).await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *tx).await?;
        Ok(tx)
    }

    /// This process's write turn and a connection, before `BEGIN`.
    async fn hold(pool: &SqlitePool) -> Result<SqliteTx, sqlx::Error> {
        let turn = write_gate::turn(pool).await?;
        let conn = pool.acquire().await?;
        Ok(SqliteTx {
            conn: Some(conn),
            turn: Some(turn),
        })
    }

    /// Returns the connection to the pool as it is (its transaction ended
    /// by a statement of its own) and ends the turn.
    fn release(mut self) {
        self.conn.take();
        self.turn.take();
    }

    async fn commit(mut self) -> Result<(), sqlx::Error> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        let committed = sqlx::query("COMMIT").execute(&mut *conn).await.map(|_| ());
        if committed.is_err() {
            end_transaction(conn).await;
        }
        committed
    }
}

/// Runs `script`, a `BEGIN IMMEDIATE; ...; COMMIT;` of several statements,
/// as one command of sqlx's SQLite worker thread (one hand-off to it and
/// back, not one per statement) in this process's write turn, and returns
/// the rows its statements produced. Numbered placeholders (`$N`) mean the
/// same value in every statement. When a statement fails the script stops
/// there and what it began is rolled back (or the connection closed, like
/// [`SqliteTx`]'s).
///
/// sqlx runs the statements of one query string in turn on SQLite only
/// (and calls that behaviour deprecated, without a replacement that binds
/// values: launchbadge/sqlx#3108); the version is pinned and
/// `core/tests/ott_exchange.rs` runs a script on every build.
pub(crate) async fn sqlite_script<'q>(
    pool: &SqlitePool,
    script: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
) -> Result<Vec<sqlx::sqlite::SqliteRow>, sqlx::Error> {
    debug_assert!({
        let sql = sqlx::Execute::sql(&script).trim();
        sql.starts_with("BEGIN IMMEDIATE;") && sql.ends_with("COMMIT;")
    });
    // Held like a transaction: failed or abandoned half-way (the request
    // cancelled), it is rolled back when dropped.
    let mut held = SqliteTx::hold(pool).await?;
    // All of it (`fetch_optional` would stop the script at its first row).
    let rows = script.fetch_all(&mut *held).await?;
    held.release();
    Ok(rows)
}

/// Rolls back what is left of a transaction on `conn`; closes the
/// connection when it stays inside one.
async fn end_transaction(mut conn: sqlx::pool::PoolConnection<sqlx::Sqlite>) {
    let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await else {
        return;
    };
    // SQLite rolled it back itself: the connection is out of it already.
    let rolled_back = e
        .as_database_error()
        .is_some_and(|d| d.message().contains("no transaction is active"));
    if !rolled_back {
        conn.close_on_drop();
    }
}

impl std::ops::Deref for SqliteTx {
    type Target = sqlx::SqliteConnection;

    fn deref(&self) -> &sqlx::SqliteConnection {
        self.conn
            .as_ref()
            .expect("a transaction's connection until it ends")
    }
}

impl std::ops::DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut sqlx::SqliteConnection {
        self.conn
            .as_mut()
            .expect("a transaction's connection until it ends")
    }
}

impl Drop for SqliteTx {
    /// Not committed: rolled back on a task of the current runtime (the
    /// connection returns to the pool after the `ROLLBACK`); without a
    /// runtime, the connection is closed, which rolls back too.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // The next writer's turn starts once the rollback is done.
        let turn = self.turn.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    end_transaction(conn).await;
                    drop(turn);
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// A storage failure, mapped by callers (unique violation -> 409, missing
/// row -> 404, the rest -> 500).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl DbError {
    /// Whether this is the database being away or unable to take writes
    /// (down, restarting, unreachable, pool timed out, disk full or
    /// read-only) rather than a bug or bad data: answered 503, retried
    /// later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Sqlx(e) => sqlx_unavailable(e),
            DbError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sqlx_unavailable(e),
            _ => false,
        }
    }

    /// Whether the database could not write for lack of space (SQLite's
    /// `SQLITE_FULL`: the disk or `max_page_count`; PostgreSQL's
    /// `disk_full`, 53100). The transaction was rolled back.
    pub fn is_storage_full(&self) -> bool {
        let DbError::Sqlx(sqlx::Error::Database(d)) = self else {
            return false;
        };
        match d.code() {
            Some(code) if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() => {
                code == "53100"
            }
            Some(code) => code.parse::<i32>().is_ok_and(|c| c & 0xff == 13),
            None => false,
        }
    }

    /// Turns a unique-constraint violation into [`DbError::Conflict`].
    pub(crate) fn conflict_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
        move |e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Conflict(what),
            _ => DbError::Sqlx(e),
        }
    }
}

/// Fails with a clear reason when no file can be created in `dir` (a
/// read-only or immutable directory, a full disk): SQLite needs to create
/// its WAL and shared-memory files beside the database, and would only say
/// "unable to open database file".
fn ensure_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".porta-write-check-{}", std::process::id()));
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"ok"));
    let _ = std::fs::remove_file(&probe);
    created.map_err(|e| std::io::Error::new(e.kind(), format!("cannot write in {}: {e}", dir.display())))
}

/// See [`DbError::is_unavailable`].
fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => match d.code() {
            // PostgreSQL: class 08 (connection exception), 57P01-57P03
            // (shut down by the administrator, crash, cannot connect now),
            // 53 (insufficient resources: disk full, out of memory,
            // too many connections), 25006 (read-only transaction: a standby).
            Some(code) if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() => {
                code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(&*code, "57P01" | "57P02" | "57P03" | "25006")
            }
            // SQLite's primary result codes (the low byte of the extended
            // one): SQLITE_BUSY 5, SQLITE_READONLY 8, SQLITE_IOERR 10,
            // SQLITE_FULL 13, SQLITE_CANTOPEN 14.
            Some(code) => code
                .parse::<i32>()
                .is_ok_and(|c| matches!(c & 0xff, 5 | 8 | 10 | 13 | 14)),
            None => false,
        },
        _ => false,
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How a pool waits for the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long taking a connection may wait (for a free one, or for a new
    /// one to open while the server refuses or is starting) before it fails
    /// with `PoolTimedOut`: the bound on how long a request waits while the
    /// database is away.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection, if any.
    pub statement_timeout: Option<Duration>,
}

impl PoolSettings {
    /// `max_connections` with the default timeouts (tests, tools).
    pub fn with_max_connections(max_connections: u32) -> PoolSettings {
        PoolSettings {
            max_connections,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: None,
        }
    }

    fn postgres(&self, url: &str) -> Result<(PgPoolOptions, PgConnectOptions), DbError> {
        let mut options = PgConnectOptions::from_str(url)?;
        if let Some(timeout) = self.statement_timeout {
            let millis = timeout.as_millis().to_string();
            options = options.options([("statement_timeout", millis.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout);
        Ok((ping_when_idle(pool), options))
    }

    fn sqlite(&self) -> SqlitePoolOptions {
        ping_when_idle(
            SqlitePoolOptions::new()
                .max_connections(self.max_connections)
                .acquire_timeout(self.acquire_timeout),
        )
    }
}

/// A connection idle for longer than this is pinged before it is handed
/// out; one used more recently is not (HikariCP's `aliveBypassWindowMs`,
/// same default).
pub const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// Pings a pooled connection before use only when it has been idle for
/// [`PING_AFTER_IDLE`]. sqlx's default pings every connection on every
/// acquire: a round trip before each query (to SQLite's worker thread, or
/// to the server), doubling the round trips of a busy pool whose
/// connections were all in use a moment ago. A connection that went bad in
/// the window fails its query once; sqlx pings every connection again when
/// it is returned (in the background; not configurable in 0.8) and drops
/// the broken ones there.
fn ping_when_idle<DB: sqlx::Database>(options: sqlx::pool::PoolOptions<DB>) -> sqlx::pool::PoolOptions<DB> {
    options.test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if meta.idle_for >= PING_AFTER_IDLE {
                sqlx::Connection::ping(conn).await?;
            }
            Ok(true)
        })
    })
}

impl Db {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`). A SQLite file
    /// and its directory are created if missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        Self::connect_with(url, PoolSettings::with_max_connections(max_connections)).await
    }

    /// [`Db::connect`] with the configured pool settings.
    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<Db, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Self::connect_sqlite(Path::new(path), settings).await;
        }
        let (pool, options) = settings.postgres(url)?;
        Ok(Db::Postgres(pool.connect_with(options).await?))
    }

    /// Like [`Db::connect`] but opens no connection until first use, so the
    /// connections belong to the runtime that uses them (the edge runs on
    /// Pingora's runtimes). Migrations must already have been applied.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Db, DbError> {
        Self::connect_lazy_with(url, PoolSettings::with_max_connections(max_connections))
    }

    /// [`Db::connect_lazy`] with the configured pool settings.
    pub fn connect_lazy_with(url: &str, settings: PoolSettings) -> Result<Db, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let pool = settings
                .sqlite()
                .connect_lazy_with(Self::sqlite_options(Path::new(path)));
            return Ok(Db::Sqlite(pool));
        }
        let (pool, options) = settings.postgres(url)?;
        Ok(Db::Postgres(pool.connect_lazy_with(options)))
    }

    fn sqlite_options(path: &Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
    }

    async fn connect_sqlite(path: &Path, settings: PoolSettings) -> Result<Db, DbError> {
        // The database holds password hashes and sessions: this user only.
        let io = |e| DbError::Sqlx(sqlx::Error::Io(e));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_file::create_private_dir(dir).map_err(io)?;
            ensure_writable(dir).map_err(io)?;
        }
        crate::private_file::ensure_private(path).map_err(io)?;
        let options = Self::sqlite_options(path);
        let pool = settings.sqlite().connect_with(options).await?;
        // SQLite opens a file it cannot write read-only, without an error
        // (an immutable file, a read-only mount), and even takes the write
        // lock: porta would serve and fail each write. Write the header's
        // user_version (unchanged) in a transaction rolled back, so such a
        // database is refused at start-up with SQLite's reason.
        let mut probe = pool.acquire().await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *probe)
            .await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *probe).await?;
        let written = sqlx::query(&format!("PRAGMA user_version = {version}"))
            .execute(&mut *probe)
            .await;
        sqlx::query("ROLLBACK").execute(&mut *probe).await?;
        written?;
        drop(probe);
        Ok(Db::Sqlite(pool))
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// The migrations of this backend (tests replay them partially).
    pub fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self {
            Db::Sqlite(_) => &SQLITE_MIGRATIONS,
            Db::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so that
    /// concurrent writers wait instead of failing with "database is locked").
    pub async fn begin(&self) -> Result<DbTx, DbError> {
        Ok(match self {
            Db::Sqlite(pool) => DbTx::Sqlite(SqliteTx::begin(pool).await?),
            Db::Postgres(pool) => DbTx::Postgres(pool.begin().await?),
        })
    }

    /// Which backend this is, for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}
