//! Transactions as the project takes them on either database: writes take the write
//! lock up front, reads see one snapshot.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::{Conn, QueryResult};

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
