//! Storage: the database (an SQLite file, or PostgreSQL), its connection pool and
//! migrations, and one module per table with its queries. All SQL of the project lives
//! below this module; handlers call [`Database::run`] with one of these query functions.
//!
//! One code base for both databases: every query takes a [`Conn`] (diesel's
//! `MultiConnection` over both), and a query whose SQL is the same is written once. What
//! differs lives in one place per concern, as a `match` on the [`Conn`] variant: opening
//! and tuning a connection and migrating ([`connect`], [`migrate`]), write transactions
//! ([`write_transaction`]), inserts that skip duplicates and upserts (`reports`,
//! `presence`), telling failures apart ([`FailureKind`]) and PostgreSQL's day partitions
//! (`partitions`).

/// Runs `$body` with `$c` bound to the concrete connection of either database: for the
/// few statements diesel's multi-backend cannot build (upserts), written once and built
/// for each backend.
macro_rules! on_each_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_each_backend;

pub mod alerts;
pub mod nodes;
pub mod opt_outs;
pub mod partitions;
pub mod places;
pub mod presence;
pub mod probe_requests;
pub mod rejections;
pub mod reports;
pub mod retention;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod users;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

pub use diesel::result::QueryResult;

/// A connection to either database. Queries are written against this type.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Which database a `--database` value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    /// `postgres://` and `postgresql://` URLs are PostgreSQL; anything else is the path
    /// of an SQLite file.
    pub fn of(url: &str) -> Kind {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Kind::Postgres
        } else {
            Kind::Sqlite
        }
    }
}

/// `url` fit for a log line or an error message: a PostgreSQL URL's password is
/// hidden, whether in its user information or in its query (`?password=`).
pub fn redacted(url: &str) -> String {
    if Kind::of(url) == Kind::Sqlite {
        return url.to_string();
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    // The host follows the last `@` (a password may hold an unencoded one).
    let authority_and_path = match before_query.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            if credentials.contains(':') {
                format!("{user}:***@{host}")
            } else {
                format!("{user}@{host}")
            }
        }
        None => before_query.to_string(),
    };
    let query = query.map(|query| {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(query) => format!("{scheme}://{authority_and_path}?{query}"),
        None => format!("{scheme}://{authority_and_path}"),
    }
}

/// The migrations of `migrations/sqlite/` and `migrations/postgres/`, compiled into the
/// binary. Both directories hold the same versions, each in its database's dialect.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// PostgreSQL advisory lock key held while migrating, so that instances starting at once
/// migrate one after the other (the later ones find nothing to do).
const MIGRATION_LOCK: i64 = 0x6e63_6f6d_7061_7301;

/// How long a connection waits for another writer before giving up with "database is
/// locked". Writes are short, so this is only reached under real trouble.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The WAL is truncated to this size after a checkpoint that emptied it, so a burst of
/// writes does not leave a large file behind.
pub const JOURNAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Applied to every SQLite connection when it is opened.
/// - WAL: readers never block the writer, nor the writer readers.
/// - synchronous=NORMAL: in WAL mode a commit survives a crash of the process; only a
///   power loss or OS crash can take back the last commits (never corrupts the file).
/// - foreign_keys: `probe_requests.report_id` must name a report.
/// - journal_size_limit: the WAL shrinks back after a burst ([`JOURNAL_SIZE_LIMIT_BYTES`]).
/// - secure_delete: deleted content is overwritten with zeros, so an erased MAC is gone
///   from the file, not just unlinked.
///
/// None of them takes the write lock on an existing file, so a connection opens at once
/// beside a writer in a long transaction. (`auto_vacuum = INCREMENTAL` would: it is set
/// once, by [`migrate`].)
pub(crate) fn connection_pragmas() -> String {
    format!(
        "PRAGMA busy_timeout = {};\
         PRAGMA secure_delete = ON;\
         PRAGMA journal_mode = WAL;\
         PRAGMA synchronous = NORMAL;\
         PRAGMA foreign_keys = ON;\
         PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES};",
        BUSY_TIMEOUT.as_millis()
    )
}

/// Applied to every PostgreSQL connection: a lock held by another session is waited for
/// as long as SQLite's busy timeout, and a statement never runs for ever.
fn postgres_settings() -> String {
    format!(
        "SET lock_timeout = '{}ms'; SET statement_timeout = '300s';",
        BUSY_TIMEOUT.as_millis()
    )
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database {path}: {source}")]
    Connect {
        path: String,
        #[source]
        source: diesel::ConnectionError,
    },
    #[error("cannot set up the database {path}: {source}")]
    Setup {
        path: String,
        #[source]
        source: DieselError,
    },
    #[error("cannot migrate the database {path}: {source}")]
    Migrate {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot create the connection pool for {path}: {source}")]
    Pool {
        path: String,
        #[source]
        source: diesel::r2d2::PoolError,
    },
}

/// Opens a connection to `url` (an SQLite path, created if missing, or a PostgreSQL
/// URL) and tunes it for this server.
pub fn connect(url: &str) -> Result<Conn, OpenError> {
    let connect_error = |source| OpenError::Connect {
        path: redacted(url),
        source,
    };
    let setup_error = |source| OpenError::Setup {
        path: redacted(url),
        source,
    };
    match Kind::of(url) {
        Kind::Sqlite => {
            let mut conn = SqliteConnection::establish(url).map_err(connect_error)?;
            conn.batch_execute(&connection_pragmas())
                .map_err(setup_error)?;
            Ok(Conn::Sqlite(conn))
        }
        Kind::Postgres => {
            let mut conn = PgConnection::establish(url).map_err(connect_error)?;
            conn.batch_execute(&postgres_settings())
                .map_err(setup_error)?;
            Ok(Conn::Postgres(conn))
        }
    }
}

/// Opens the database at `url` (creating an SQLite file if needed) and applies every
/// pending migration. Returns the names of the migrations applied.
pub fn migrate(url: &str) -> Result<Vec<String>, OpenError> {
    let mut conn = connect(url)?;
    let migrate_error = |source| OpenError::Migrate {
        path: redacted(url),
        source,
    };
    if let Conn::Sqlite(_) = &mut conn {
        // Before the migrations: on a new file the tables are then created in this mode,
        // with no rewrite.
        incremental_auto_vacuum(&mut conn).map_err(|source| OpenError::Setup {
            path: redacted(url),
            source,
        })?;
    }
    let applied = match &mut conn {
        Conn::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(migrate_error)?
            .iter()
            .map(ToString::to_string)
            .collect(),
        Conn::Postgres(conn) => {
            // A session-level lock: held across the migrations' own transactions, and
            // released with the connection if this process dies.
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|source| OpenError::Setup {
                    path: redacted(url),
                    source,
                })?;
            let applied: Result<Vec<String>, _> = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| applied.iter().map(ToString::to_string).collect());
            let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            applied.map_err(migrate_error)?
        }
    };
    // Not a reason to refuse to start: rows go to the default partition meanwhile, and
    // the writer tries again hourly.
    if let Err(error) = partitions::ensure(&mut conn, crate::unix_now()) {
        tracing::warn!(%error, "cannot create the coming days' partitions now; trying again within the hour");
    }
    Ok(applied)
}

/// Pages freed by retention and erasure go back to the file system
/// (`PRAGMA incremental_vacuum`) only in `auto_vacuum = INCREMENTAL` mode. Setting it
/// takes the write lock, so it is done here, once at start-up, not per connection: on a
/// new, empty file it costs nothing; a file created before NCompass set it is converted
/// by one `VACUUM` (a rewrite of the file, once).
fn incremental_auto_vacuum(conn: &mut Conn) -> QueryResult<()> {
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        auto_vacuum: i32,
    }
    use diesel::RunQueryDsl;
    let mode = diesel::sql_query("PRAGMA auto_vacuum").get_result::<Mode>(conn)?;
    // 2: INCREMENTAL.
    if mode.auto_vacuum != 2 {
        tracing::info!("converting the database file to incremental auto-vacuum, once (rewrites the file: takes a while on a large one)");
        conn.batch_execute("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
    }
    Ok(())
}

/// Connections for the pool, each opened by [`connect`].
#[derive(Debug)]
struct Manager {
    url: String,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        connect(&self.url).map_err(|error| match error {
            OpenError::Connect { source, .. } => diesel::r2d2::Error::ConnectionError(source),
            OpenError::Setup { source, .. } => diesel::r2d2::Error::QueryError(source),
            other => diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                other.to_string(),
            )),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// The database as the HTTP layer sees it: a pool of connections.
#[derive(Clone)]
pub struct Database {
    pool: Pool<Manager>,
    kind: Kind,
}

impl Database {
    /// Migrates the database at `url`, then opens a pool of `max_connections` to it.
    pub fn open(url: &str, max_connections: u32) -> Result<Database, OpenError> {
        let applied = migrate(url)?;
        if !applied.is_empty() {
            tracing::info!(database = %redacted(url), migrations = ?applied, "applied migrations");
        }
        let pool = Pool::builder()
            .max_size(max_connections)
            // Connections open as they are needed: many instances on one PostgreSQL
            // server do not hold their maximum each from the start.
            .min_idle(Some(2.min(max_connections)))
            .connection_timeout(BUSY_TIMEOUT)
            .build(Manager {
                url: url.to_string(),
            })
            .map_err(|source| OpenError::Pool {
                path: redacted(url),
                source,
            })?;
        Ok(Database {
            pool,
            kind: Kind::of(url),
        })
    }

    /// Which database this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Runs `query` on a pooled connection on the blocking thread pool, so that the
    /// database's synchronous calls never stall the async workers.
    pub async fn run<T, F>(&self, query: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut Conn) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn: PooledConnection<_> = pool
                .get()
                .map_err(|error| AppError::Unavailable(Box::new(error)))?;
            query(&mut conn).map_err(database_error)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Runs `query` on the calling thread: for the command line, not for handlers.
    pub fn run_blocking<T>(
        &self,
        query: impl FnOnce(&mut Conn) -> QueryResult<T>,
    ) -> Result<T, AppError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|error| AppError::Unavailable(Box::new(error)))?;
        query(&mut conn).map_err(database_error)
    }
}

/// Runs `body` in a transaction that takes the write lock up front: on SQLite `BEGIN
/// IMMEDIATE`, so that two writers queue on the busy timeout instead of one failing to
/// upgrade its read lock; on PostgreSQL a plain transaction (row locks are taken as
/// rows are written). Commits when `body` succeeds, rolls back when it fails.
pub fn write_transaction<T, E>(
    conn: &mut Conn,
    body: impl FnOnce(&mut Conn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    transaction(conn, "BEGIN IMMEDIATE", "BEGIN", body)
}

/// Runs `body` in a read-only transaction that sees one snapshot of the database
/// throughout: SQLite's deferred transaction does (in WAL mode); PostgreSQL needs
/// REPEATABLE READ (its default, READ COMMITTED, takes a snapshot per statement).
pub fn read_transaction<T, E>(
    conn: &mut Conn,
    body: impl FnOnce(&mut Conn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    transaction(
        conn,
        "BEGIN",
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        body,
    )
}

fn transaction<T, E>(
    conn: &mut Conn,
    sqlite_begin: &str,
    postgres_begin: &str,
    body: impl FnOnce(&mut Conn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    match conn {
        Conn::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, sqlite_begin)?,
        Conn::Postgres(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, postgres_begin)?;
        }
    }
    match body(conn) {
        Ok(value) => {
            Conn::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // The first error is the one that tells what happened (after SQLITE_FULL,
            // SQLite has rolled back by itself and ROLLBACK fails).
            if let Err(rollback) = Conn::rollback_transaction(conn) {
                tracing::debug!("rollback after a failed transaction: {rollback}");
            }
            Err(error)
        }
    }
}

/// An insert's outcome as "added" (`true`) or "that name is taken" (`false`, a unique
/// constraint refused it).
pub(crate) fn unless_taken(inserted: QueryResult<usize>) -> QueryResult<bool> {
    match inserted {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Why a statement failed, as far as what to do about it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The disk (or `max_page_count`) is full: retry once space is freed.
    Full,
    /// Another connection held the write lock past the busy timeout: retry shortly.
    Busy,
    /// The file could not be read or written (I/O error, read-only, unopenable).
    Io,
    /// A constraint refused one report's rows: that report's fault, not the batch's.
    Report,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The `kind` label of `ncompass_store_failures_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Full => "full",
            FailureKind::Busy => "busy",
            FailureKind::Io => "io",
            FailureKind::Report => "report",
            FailureKind::Other => "other",
        }
    }

    /// Every kind, in the order `/metrics` lists them.
    pub const ALL: [FailureKind; 5] = [
        FailureKind::Full,
        FailureKind::Busy,
        FailureKind::Io,
        FailureKind::Report,
        FailureKind::Other,
    ];

    /// Of a failed statement. Diesel passes SQLite's error text for the codes it has no
    /// kind for; these are SQLite's fixed texts of `SQLITE_FULL`, `SQLITE_BUSY`,
    /// `SQLITE_LOCKED`, `SQLITE_IOERR`, `SQLITE_READONLY` and `SQLITE_CANTOPEN`.
    pub fn of(error: &DieselError) -> FailureKind {
        match error {
            DieselError::RollbackErrorOnCommit { commit_error, .. } => {
                FailureKind::of(commit_error)
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::CheckViolation,
                _,
            ) => FailureKind::Report,
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                FailureKind::Busy
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => FailureKind::Io,
            DieselError::DatabaseError(_, info) => {
                let message = info.message();
                // PostgreSQL's texts of a full disk, a lock or deadlock, a server going away.
                if message.contains("No space left on device") {
                    FailureKind::Full
                } else if message.contains("deadlock detected") || message.contains("lock timeout")
                {
                    FailureKind::Busy
                } else if message.contains("terminating connection")
                    || message.contains("read-only transaction")
                    || message.contains("server closed the connection")
                    || message.contains("the database system is")
                {
                    FailureKind::Io
                } else if message.contains("database or disk is full") {
                    FailureKind::Full
                } else if message.contains("database is locked")
                    || message.contains("database table is locked")
                {
                    FailureKind::Busy
                } else if message.contains("disk I/O error")
                    || message.contains("readonly database")
                    || message.contains("unable to open database file")
                {
                    FailureKind::Io
                } else {
                    FailureKind::Other
                }
            }
            _ => FailureKind::Other,
        }
    }

    /// Whether retrying later may succeed without anyone changing the request: every
    /// kind but a report's own.
    pub fn is_transient(self) -> bool {
        self != FailureKind::Report
    }
}

/// Whether running the same transaction again may succeed at once: PostgreSQL failed it
/// to break a deadlock or a serialization conflict with another session.
pub fn is_retryable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// A lock held past the busy timeout, a full disk or an I/O error is a condition of the
/// server that passes (503, retry), not a bug (500).
pub(crate) fn database_error(error: DieselError) -> AppError {
    match FailureKind::of(&error) {
        FailureKind::Busy | FailureKind::Full | FailureKind::Io => {
            AppError::Unavailable(Box::new(error))
        }
        FailureKind::Report | FailureKind::Other => AppError::internal(error),
    }
}

/// Bind parameters in hand-written SQL: `?` on SQLite, `$1`, `$2`, ... on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders {
    numbered: bool,
    next: usize,
}

impl Placeholders {
    pub fn of(conn: &Conn) -> Placeholders {
        Placeholders {
            numbered: matches!(conn, Conn::Postgres(_)),
            next: 0,
        }
    }

    /// The next parameter's placeholder.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> String {
        self.next += 1;
        if self.numbered {
            format!("${}", self.next)
        } else {
            "?".to_string()
        }
    }
}

/// How long statements on `conn` wait for a lock another connection holds.
pub fn set_lock_wait(conn: &mut Conn, wait: Duration) -> QueryResult<()> {
    let sql = match conn {
        Conn::Sqlite(_) => format!("PRAGMA busy_timeout = {}", wait.as_millis()),
        Conn::Postgres(_) => format!("SET lock_timeout = '{}ms'", wait.as_millis()),
    };
    conn.batch_execute(&sql)
}

/// `SELECT 1`: the database answers.
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use diesel::sql_types::{Integer, Text};
    use diesel::{QueryableByName, RunQueryDsl};

    /// A migrated database in a temp dir, and a connection to it.
    pub(crate) fn migrated() -> (tempfile::TempDir, Conn) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        let path = path.to_str().unwrap();
        migrate(path).unwrap();
        (dir, connect(path).unwrap())
    }

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Integer)]
        notnull: i32,
    }

    fn columns(conn: &mut Conn, table: &str) -> Vec<(String, bool)> {
        diesel::sql_query(format!("PRAGMA table_info({table})"))
            .load::<Column>(conn)
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.notnull == 1))
            .collect()
    }

    #[test]
    fn schema_matches_migrations() {
        use diesel::Column as _;
        let (_dir, mut conn) = migrated();
        let expected: [(&str, &[&str]); 12] = [
            (
                "reports",
                &[
                    schema::reports::id::NAME,
                    schema::reports::network_id::NAME,
                    schema::reports::node_mac::NAME,
                    schema::reports::version::NAME,
                    schema::reports::received_at::NAME,
                    schema::reports::probe_request_count::NAME,
                    schema::reports::stored_count::NAME,
                    schema::reports::duplicate_count::NAME,
                ],
            ),
            (
                "nodes",
                &[
                    schema::nodes::network_id::NAME,
                    schema::nodes::node_mac::NAME,
                    schema::nodes::first_report_at::NAME,
                    schema::nodes::last_report_at::NAME,
                    schema::nodes::reports::NAME,
                    schema::nodes::probe_requests::NAME,
                    schema::nodes::silent_since::NAME,
                ],
            ),
            (
                "probe_requests",
                &[
                    schema::probe_requests::id::NAME,
                    schema::probe_requests::report_id::NAME,
                    schema::probe_requests::network_id::NAME,
                    schema::probe_requests::node_mac::NAME,
                    schema::probe_requests::mac::NAME,
                    schema::probe_requests::count::NAME,
                    schema::probe_requests::min_signal::NAME,
                    schema::probe_requests::max_signal::NAME,
                    schema::probe_requests::avg_signal::NAME,
                    schema::probe_requests::last_seen_signal::NAME,
                    schema::probe_requests::first_seen::NAME,
                    schema::probe_requests::last_seen::NAME,
                    schema::probe_requests::associated::NAME,
                    schema::probe_requests::randomized::NAME,
                ],
            ),
            (
                "presence_segments",
                &[
                    schema::presence_segments::day::NAME,
                    schema::presence_segments::network_id::NAME,
                    schema::presence_segments::mac::NAME,
                    schema::presence_segments::first_seen::NAME,
                    schema::presence_segments::segment::NAME,
                ],
            ),
            (
                "users",
                &[
                    schema::users::id::NAME,
                    schema::users::username::NAME,
                    schema::users::role::NAME,
                    schema::users::password_hash::NAME,
                    schema::users::created_at::NAME,
                    schema::users::password_changed_at::NAME,
                ],
            ),
            (
                "api_tokens",
                &[
                    schema::api_tokens::id::NAME,
                    schema::api_tokens::name::NAME,
                    schema::api_tokens::role::NAME,
                    schema::api_tokens::token_hash::NAME,
                    schema::api_tokens::created_at::NAME,
                    schema::api_tokens::last_used_at::NAME,
                    schema::api_tokens::expires_at::NAME,
                ],
            ),
            (
                "sessions",
                &[
                    schema::sessions::id_hash::NAME,
                    schema::sessions::user_id::NAME,
                    schema::sessions::created_at::NAME,
                    schema::sessions::last_seen_at::NAME,
                ],
            ),
            (
                "settings",
                &[schema::settings::name::NAME, schema::settings::value::NAME],
            ),
            (
                "opt_outs",
                &[
                    schema::opt_outs::mac_hash::NAME,
                    schema::opt_outs::created_at::NAME,
                    schema::opt_outs::created_by::NAME,
                ],
            ),
            (
                "networks",
                &[
                    schema::networks::network_id::NAME,
                    schema::networks::name::NAME,
                    schema::networks::time_zone::NAME,
                ],
            ),
            (
                "node_labels",
                &[
                    schema::node_labels::node_mac::NAME,
                    schema::node_labels::name::NAME,
                    schema::node_labels::zone::NAME,
                ],
            ),
            (
                "alert_deliveries",
                &[
                    schema::alert_deliveries::id::NAME,
                    schema::alert_deliveries::receiver::NAME,
                    schema::alert_deliveries::body::NAME,
                    schema::alert_deliveries::created_at::NAME,
                    schema::alert_deliveries::attempts::NAME,
                    schema::alert_deliveries::next_attempt_ms::NAME,
                    schema::alert_deliveries::delivered_at::NAME,
                    schema::alert_deliveries::abandoned_at::NAME,
                    schema::alert_deliveries::last_error::NAME,
                ],
            ),
        ];
        for (table, expected) in expected {
            let actual: Vec<String> = columns(&mut conn, table)
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            assert_eq!(actual, expected, "columns of {table}");
        }
        // The only nullable column is the optional CloudTrax field.
        let nullable: Vec<String> = columns(&mut conn, "probe_requests")
            .into_iter()
            .filter(|(_, not_null)| !not_null)
            .map(|(name, _)| name)
            .collect();
        assert_eq!(nullable, ["last_seen_signal"]);
    }

    #[test]
    fn urls_pick_the_database_and_hide_passwords() {
        assert_eq!(Kind::of("ncompass.db"), Kind::Sqlite);
        assert_eq!(Kind::of("/var/lib/ncompass/data.db"), Kind::Sqlite);
        assert_eq!(Kind::of("postgres://u@h/db"), Kind::Postgres);
        assert_eq!(Kind::of("postgresql://u@h/db"), Kind::Postgres);
        assert_eq!(
            redacted("postgres://ncompass:s3cret@db.example:5432/ncompass"),
            "postgres://ncompass:***@db.example:5432/ncompass"
        );
        assert_eq!(
            redacted("postgres://ncompass@db/x"),
            "postgres://ncompass@db/x"
        );
        assert_eq!(redacted("ncompass.db"), "ncompass.db");
    }

    #[test]
    fn placeholders_per_database() {
        let (_dir, conn) = migrated();
        let mut sqlite = Placeholders::of(&conn);
        assert_eq!(
            (sqlite.next(), sqlite.next()),
            ("?".to_string(), "?".to_string())
        );
        let mut numbered = Placeholders {
            numbered: true,
            next: 0,
        };
        assert_eq!(
            (numbered.next(), numbered.next()),
            ("$1".to_string(), "$2".to_string())
        );
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twice.db");
        let path = path.to_str().unwrap();
        assert!(!migrate(path).unwrap().is_empty());
        assert!(migrate(path).unwrap().is_empty());
    }

    #[test]
    fn connections_use_wal() {
        #[derive(QueryableByName)]
        struct Mode {
            #[diesel(sql_type = Text)]
            journal_mode: String,
        }
        let (_dir, mut conn) = migrated();
        let mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result::<Mode>(&mut conn)
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
        #[derive(QueryableByName)]
        struct Limit {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            journal_size_limit: i64,
        }
        let limit = diesel::sql_query("PRAGMA journal_size_limit")
            .get_result::<Limit>(&mut conn)
            .unwrap();
        assert_eq!(
            limit.journal_size_limit,
            i64::try_from(JOURNAL_SIZE_LIMIT_BYTES).unwrap()
        );
    }

    #[test]
    fn a_connection_opens_beside_a_writer_holding_the_lock() {
        #[derive(QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            auto_vacuum: i32,
        }
        let (dir, _conn) = migrated();
        let path = dir.path().join("test.db");
        let path = path.to_str().unwrap();
        // A long transaction of the writer (a merge, a retention chunk, a migration).
        let mut holder = SqliteConnection::establish(path).unwrap();
        holder.batch_execute("BEGIN IMMEDIATE").unwrap();
        let mut conn = connect(path).expect("opening needs no write lock");
        // ...and the file is still in incremental mode, set once by migrate.
        let mode = diesel::sql_query("PRAGMA auto_vacuum")
            .get_result::<Mode>(&mut conn)
            .unwrap();
        assert_eq!(mode.auto_vacuum, 2);
        holder.batch_execute("COMMIT").unwrap();
    }

    #[test]
    fn failures_are_told_apart_by_what_to_do_about_them() {
        let (dir, mut conn) = migrated();
        let fail = |conn: &mut Conn, sql: &str| conn.batch_execute(sql).unwrap_err();
        // A full database: no page may be added.
        conn.batch_execute("CREATE TABLE filler (x BLOB); PRAGMA max_page_count = 1;")
            .ok();
        let full = fail(&mut conn, "INSERT INTO filler VALUES (zeroblob(100000))");
        assert_eq!(FailureKind::of(&full), FailureKind::Full, "{full}");
        assert!(matches!(database_error(full), AppError::Unavailable(_)));
        conn.batch_execute("PRAGMA max_page_count = 1073741823")
            .unwrap();
        // One report's rows: a constraint.
        let constraint = fail(
            &mut conn,
            "INSERT INTO probe_requests (report_id, network_id, node_mac, mac, count, \
             min_signal, max_signal, avg_signal, first_seen, last_seen, associated, randomized) \
             VALUES (999, 1, 'a', 'b', 1, 0, 0, 0, 0, 0, 0, 0)",
        );
        assert_eq!(
            FailureKind::of(&constraint),
            FailureKind::Report,
            "{constraint}"
        );
        // Another connection holds the write lock past the busy timeout.
        let path = dir.path().join("test.db");
        let mut holder = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        holder.batch_execute("BEGIN IMMEDIATE").unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 10").unwrap();
        let busy = fail(&mut conn, "BEGIN IMMEDIATE");
        assert_eq!(FailureKind::of(&busy), FailureKind::Busy, "{busy}");
        assert!(matches!(database_error(busy), AppError::Unavailable(_)));
        holder.batch_execute("COMMIT").unwrap();
        let other = fail(&mut conn, "SELECT * FROM no_such_table");
        assert_eq!(FailureKind::of(&other), FailureKind::Other);
        assert!(matches!(database_error(other), AppError::Internal(_)));
    }
}
