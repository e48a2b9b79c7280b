//! The writing connection's own settings and upkeep: how durably it commits, the WAL's
//! checkpoints (SQLite), the `synchronous` setting retention lowers for its deletes,
//! the free pages left behind, and whether a connection survived a failure. The
//! ingestion pipeline decides when; the statements are here.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::{connect, redacted, set_lock_wait, Conn, OpenError, QueryResult, BUSY_TIMEOUT};

/// The writer checkpoints by itself only past this many WAL pages (64 MiB of 4 KiB
/// pages): a bound on the WAL should the checkpointer fall behind.
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// How the writer's connection commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a 2xx survives a power loss (one fsync per batch).
    Full,
    /// `synchronous=NORMAL`: a 2xx survives a crash of the process; a power loss may
    /// take back the last commits (never corrupts the file).
    Normal,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }

    /// SQLite's `synchronous` value for it.
    fn synchronous(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(text: &str) -> Result<Durability, String> {
        match text {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!("unknown durability {other:?} (full or normal)")),
        }
    }
}

/// Opens the writer's connection to `url`: committing as `durability` asks, and on
/// SQLite leaving checkpoints to the checkpointer ([`checkpoint`]); `extra_sql` (for
/// the tests' fault injection) runs on it after.
pub fn open(url: &str, durability: Durability, extra_sql: &[String]) -> Result<Conn, OpenError> {
    let mut conn = connect(url)?;
    let setup_error = |source| OpenError::Setup {
        path: redacted(url),
        source,
    };
    match &mut conn {
        Conn::Sqlite(_) => {
            // Checkpoints run on their own thread (and core), not inside the writer's
            // commits; the writer's own auto-checkpoint is only a backstop.
            conn.batch_execute(&format!(
                "PRAGMA synchronous = {}; PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES};",
                durability.synchronous()
            ))
            .map_err(setup_error)?;
        }
        Conn::Postgres(_) => {
            // `normal` lets PostgreSQL acknowledge before the WAL reaches the disk (a
            // crash of the database server may take back the last commits).
            let commit = match durability {
                Durability::Full => "on",
                Durability::Normal => "off",
            };
            conn.batch_execute(&format!("SET synchronous_commit = {commit};"))
                .map_err(setup_error)?;
        }
    }
    for sql in extra_sql {
        conn.batch_execute(sql).map_err(setup_error)?;
    }
    Ok(conn)
}

/// Runs `sql` as it is: the tests' fault injection on the writer's connection (e.g.
/// `PRAGMA max_page_count`), nothing else.
pub fn execute(conn: &mut Conn, sql: &str) -> QueryResult<()> {
    conn.batch_execute(sql)
}

/// Copies committed WAL frames into the SQLite file. PASSIVE never blocks the writer or
/// readers; `truncate` (the last one, when the server stops) also empties the WAL file,
/// so that no old page (an erased row's) is left in it.
pub fn checkpoint(conn: &mut Conn, truncate: bool) -> QueryResult<()> {
    let mode = if truncate { "TRUNCATE" } else { "PASSIVE" };
    conn.batch_execute(&format!("PRAGMA wal_checkpoint({mode})"))
}

/// Copies the WAL into the database file and empties it, so the pages an erasure
/// overwrote leave no older copy behind. Best effort: with readers busy it finishes at
/// the next checkpoint, at the latest when the server stops. Nothing to do on
/// PostgreSQL.
pub fn empty_wal(conn: &mut Conn) {
    if matches!(conn, Conn::Sqlite(_)) {
        // TRUNCATE waits for readers and writers on the busy timeout, and the writer
        // waits behind it: give up quickly instead (the checkpointer's last run, at a
        // clean stop, empties the WAL anyway).
        let checkpointed =
            set_lock_wait(conn, Duration::from_millis(50)).and_then(|()| checkpoint(conn, true));
        if let Err(error) = checkpointed {
            tracing::debug!(%error, "checkpoint after an erasure");
        }
        let _ = set_lock_wait(conn, BUSY_TIMEOUT);
    }
}

/// Lowers the SQLite writer's `synchronous` to NORMAL for a retention chunk (a
/// retention commit lost to a power cut is redone), or puts back `durability`'s.
/// Nothing to do on PostgreSQL.
pub fn relax_sync(conn: &mut Conn, relaxed: bool, durability: Durability) -> QueryResult<()> {
    match conn {
        Conn::Sqlite(_) => {
            let synchronous = if relaxed {
                "NORMAL"
            } else {
                durability.synchronous()
            };
            conn.batch_execute(&format!("PRAGMA synchronous = {synchronous}"))
        }
        Conn::Postgres(_) => Ok(()),
    }
}

/// SQLite's count of free pages in the file (0 on PostgreSQL).
pub fn free_pages(conn: &mut Conn) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Free {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        freelist_count: i64,
    }
    match conn {
        Conn::Sqlite(_) => {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query("PRAGMA freelist_count")
                .get_result::<Free>(conn)?
                .freelist_count)
        }
        Conn::Postgres(_) => Ok(0),
    }
}

/// Whether the connection can still run a transaction after a failure: SQLite may have
/// rolled the transaction back by itself (a full disk, an I/O error), leaving diesel's
/// view of it out of step.
pub fn usable(conn: &mut Conn) -> bool {
    conn.transaction::<_, diesel::result::Error, _>(|conn| conn.batch_execute("SELECT 1"))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_names_round_trip() {
        for durability in [Durability::Full, Durability::Normal] {
            assert_eq!(durability.to_string().parse(), Ok(durability));
        }
        assert!("fast".parse::<Durability>().is_err());
    }

    #[test]
    fn the_writer_commits_as_asked_and_checkpoints() {
        #[derive(diesel::QueryableByName)]
        struct Synchronous {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        use diesel::RunQueryDsl;
        let (dir, _conn) = crate::tests::migrated();
        let path = dir.path().join("test.db");
        let mut conn = open(path.to_str().unwrap(), Durability::Full, &[]).unwrap();
        let read = |conn: &mut Conn| {
            diesel::sql_query("PRAGMA synchronous")
                .get_result::<Synchronous>(conn)
                .unwrap()
                .synchronous
        };
        // 2: FULL, 1: NORMAL.
        assert_eq!(read(&mut conn), 2);
        relax_sync(&mut conn, true, Durability::Full).unwrap();
        assert_eq!(read(&mut conn), 1);
        relax_sync(&mut conn, false, Durability::Full).unwrap();
        assert_eq!(read(&mut conn), 2);
        checkpoint(&mut conn, false).unwrap();
        checkpoint(&mut conn, true).unwrap();
        assert!(free_pages(&mut conn).unwrap() >= 0);
        assert!(usable(&mut conn));
    }
}
