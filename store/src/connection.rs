//! Opening the database: which one a `--database` value names, the connection's tuning
//! (SQLite PRAGMAs, PostgreSQL settings), migrations, and the few statements that set
//! how a connection waits.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::{locks, partitions, Conn, OpenError, QueryResult};

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
fn connection_pragmas() -> String {
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

/// How long opening a PostgreSQL connection may take, unless the URL says otherwise
/// (`connect_timeout=`): libpq's default is to wait for ever, so a database host that
/// drops packets would hang the writer's reconnection and every pool checkout.
pub const CONNECT_TIMEOUT_SECONDS: u32 = 5;

/// `url` with libpq's `connect_timeout` set to [`CONNECT_TIMEOUT_SECONDS`] when it has
/// none of its own.
fn with_connect_timeout(url: &str) -> std::borrow::Cow<'_, str> {
    let query = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    if query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("connect_timeout"))
    {
        return std::borrow::Cow::Borrowed(url);
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    std::borrow::Cow::Owned(format!(
        "{url}{separator}connect_timeout={CONNECT_TIMEOUT_SECONDS}"
    ))
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
            let mut conn =
                PgConnection::establish(&with_connect_timeout(url)).map_err(connect_error)?;
            conn.batch_execute(&postgres_settings())
                .map_err(setup_error)?;
            Ok(Conn::Postgres(conn))
        }
    }
}

/// Opens the database at `url` (creating an SQLite file if needed) and applies every
/// pending migration. Returns the names of the migrations applied.
pub fn migrate(url: &str) -> Result<Vec<String>, OpenError> {
    migrate_with_progress(url, &mut |line| tracing::info!("{line}"))
}

/// [`migrate`], telling `progress` how far a long conversion is (an SQLite file of an
/// earlier release moved into day partitions: `partitions::upgrade`).
pub fn migrate_with_progress(
    url: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<String>, OpenError> {
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
            conn.batch_execute(&format!("SELECT pg_advisory_lock({})", locks::MIGRATION))
                .map_err(|source| OpenError::Setup {
                    path: redacted(url),
                    source,
                })?;
            let applied: Result<Vec<String>, _> = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| applied.iter().map(ToString::to_string).collect());
            let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({})", locks::MIGRATION));
            applied.map_err(migrate_error)?
        }
    };
    let now = ncompass_core::clock::unix_now();
    partitions::upgrade(&mut conn, now, progress).map_err(|source| OpenError::Setup {
        path: redacted(url),
        source,
    })?;
    // Not a reason to refuse to start: rows go to the default partition meanwhile, and
    // the writer tries again hourly.
    if let Err(error) = partitions::ensure(&mut conn, now) {
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
mod tests {
    use super::*;

    #[test]
    fn a_connect_timeout_is_added_unless_the_url_has_one() {
        assert_eq!(
            with_connect_timeout("postgres://u:p@h:5432/db"),
            "postgres://u:p@h:5432/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/db?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=disable&connect_timeout=20"),
            "postgres://u@h/db?sslmode=disable&connect_timeout=20"
        );
        // A parameter that merely ends in the name is not the name.
        assert_eq!(
            with_connect_timeout("postgres://h/db?x_connect_timeout=1"),
            "postgres://h/db?x_connect_timeout=1&connect_timeout=5"
        );
    }
}
