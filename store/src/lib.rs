//! Storage: the database (an SQLite file, or PostgreSQL), its connection pool and
//! migrations, and one module per table or concern with its queries. Every SQL string,
//! PRAGMA and SET of the project is in this crate; the layers above call its functions
//! (through [`Database::run`] from requests, [`Database::run_blocking`] or a connection
//! of their own from background threads) and see its errors ([`StoreError`],
//! [`OpenError`], [`FailureKind`]), never a status code: this crate knows nothing of
//! HTTP, the command line or the server's settings.
//!
//! One code base for both databases: every query takes a [`Conn`] (diesel's
//! `MultiConnection` over both), and a query whose SQL is the same is written once. What
//! differs lives in one place per concern, as a `match` on the [`Conn`] variant: opening
//! and tuning a connection and migrating ([`connect`], [`migrate`]), write transactions
//! ([`write_transaction`]), inserts that skip duplicates and upserts (`reports`,
//! `presence`), telling failures apart ([`FailureKind`]), the day partitions
//! (`partitions`: PostgreSQL's own, SQLite's made of a table a day and a view), its advisory locks (`locks`) and the writer's own connection
//! (`writer`).

/// Runs `$body` with `$c` bound to the concrete connection of either database: for the
/// few statements diesel's multi-backend cannot build (upserts), written once and built
/// for each backend.
macro_rules! on_each_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::Conn::Sqlite($c) => $body,
            $crate::Conn::Postgres($c) => $body,
        }
    };
}

pub mod alerts;
pub mod backup;
mod connection;
pub mod devices;
mod error;
pub mod ground_truth;
pub mod locks;
pub mod mac_mode;
pub mod metadata;
pub mod nodes;
pub mod opt_outs;
pub mod partitions;
mod placeholders;
pub mod places;
mod pool;
pub mod presence;
pub mod probe_requests;
pub mod pseudonymize;
pub mod rejections;
pub mod reports;
pub mod retention;
pub mod schema;
mod segment_codec;
pub mod sessions;
pub mod sources;
pub mod tokens;
mod transaction;
pub mod users;
pub mod writer;

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

pub use connection::{
    connect, migrate, migrate_with_progress, ping, redacted, set_lock_wait, Kind, BUSY_TIMEOUT,
    JOURNAL_SIZE_LIMIT_BYTES, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS,
};
pub use diesel::result::{Error as QueryError, QueryResult};
pub use error::{is_retryable, FailureKind, OpenError, StoreError};
pub use placeholders::Placeholders;
pub use pool::Database;
pub(crate) use transaction::unless_taken;
pub use transaction::{read_transaction, write_transaction};

/// A connection to either database. Queries are written against this type.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::{Integer, Text};
    use diesel::Connection;
    use diesel::{QueryableByName, RunQueryDsl};

    /// A new, empty database `NAME_PID` on the PostgreSQL server of the test run
    /// (`NCOMPASS_TEST_POSTGRES`, see scripts/test-postgres.sh): its URL. Panics without
    /// one: the tests that call it are `#[ignore]`d, run only where there is one.
    pub(crate) fn postgres_database(name: &str) -> String {
        let server = std::env::var("NCOMPASS_TEST_POSTGRES")
            .ok()
            .filter(|url| !url.is_empty())
            .expect("NCOMPASS_TEST_POSTGRES is not set: this test needs PostgreSQL");
        let name = format!("{name}_{}", std::process::id());
        connect(&server)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (address, parameters) = server.split_once('?').unwrap_or((&server, ""));
        format!(
            "{}/{name}?{parameters}",
            address.rsplit_once('/').unwrap().0
        )
    }

    /// A migrated database in a temp dir, and a connection to it.
    pub(crate) fn migrated() -> (tempfile::TempDir, Conn) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        let path = path.to_str().unwrap();
        migrate(path).unwrap();
        (dir, connect(path).unwrap())
    }

    /// The file of a database made by [`migrated`].
    pub(crate) fn path_of(dir: &tempfile::TempDir) -> String {
        dir.path().join("test.db").to_str().unwrap().to_string()
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
        let expected: [(&str, &[&str]); 14] = [
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
                    schema::networks::vendor::NAME,
                    schema::networks::meraki_id::NAME,
                    schema::networks::opening_hours::NAME,
                ],
            ),
            (
                "sources",
                &[
                    schema::sources::name::NAME,
                    schema::sources::vendor::NAME,
                    schema::sources::validator::NAME,
                    schema::sources::secret_sha256::NAME,
                    schema::sources::created_at::NAME,
                    schema::sources::created_by::NAME,
                ],
            ),
            (
                "devices",
                &[
                    schema::devices::mac::NAME,
                    schema::devices::manufacturer::NAME,
                    schema::devices::os::NAME,
                    schema::devices::ssid::NAME,
                    schema::devices::seen_at::NAME,
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
        for (table, wanted) in expected.iter() {
            let actual: Vec<String> = columns(&mut conn, table)
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            assert_eq!(actual, *wanted, "columns of {table}");
        }
        // The only nullable column is the optional CloudTrax field (the view says
        // nothing of NOT NULL: its tables do). Each table of the view has its columns.
        for table in crate::partitions::tables(&mut conn).unwrap() {
            let actual: Vec<String> = columns(&mut conn, &table.name)
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            assert_eq!(actual, expected[2].1, "columns of {}", table.name);
        }
        let nullable: Vec<String> = columns(&mut conn, crate::partitions::DEFAULT)
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
        assert!(StoreError::from(full).is_unavailable());
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
        assert!(StoreError::from(busy).is_unavailable());
        holder.batch_execute("COMMIT").unwrap();
        let other = fail(&mut conn, "SELECT * FROM no_such_table");
        assert_eq!(FailureKind::of(&other), FailureKind::Other);
        assert!(!StoreError::from(other).is_unavailable());
    }
}
