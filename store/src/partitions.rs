//! PostgreSQL's day partitions of `probe_requests` (declarative partitioning on
//! `last_seen`). Each instance makes sure, at start-up and then hourly, that the
//! partitions of yesterday through the next few days exist; an advisory lock keeps two
//! instances from creating the same one at once. Rows outside every day partition (a
//! clock at 1970, a report from far ahead) land in `probe_requests_default`. SQLite has
//! one table: nothing to do.

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;

use super::{Conn, QueryResult};

/// Days created ahead of today: a week of hourly retries before a day's rows would
/// have to go to the default partition.
pub const DAYS_AHEAD: i64 = 7;

/// How long creating a partition waits for its lock. Creating one locks the whole table
/// (every insert and read waits behind it), so it gives up quickly and is tried again
/// an hour later rather than stall ingestion behind a long reader.
const LOCK_WAIT: &str = "1s";

const DAY_S: i64 = 86_400;

/// The name of the partition of `day` (Unix days).
pub fn name(day: i64) -> String {
    format!("probe_requests_d{day}")
}

/// Creates the partitions of yesterday through [`DAYS_AHEAD`] days after `now`'s day
/// that do not exist yet (a quick catalogue lookup skips those that do, taking no lock). A day whose rows already sit in the default partition is left
/// there (creating its partition would fail) and logged.
pub fn ensure(conn: &mut Conn, now: i64) -> QueryResult<()> {
    let Conn::Postgres(pg) = conn else {
        return Ok(());
    };
    let today = now.div_euclid(DAY_S);
    for day in today - 1..=today + DAYS_AHEAD {
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "to_regclass('{}') IS NOT NULL",
            name(day)
        )))
        .get_result(pg)?;
        if exists {
            continue;
        }
        let sql = format!(
            "BEGIN; SET LOCAL lock_timeout = '{LOCK_WAIT}'; \
             SELECT pg_advisory_xact_lock({lock}); \
             CREATE TABLE IF NOT EXISTS {name} PARTITION OF probe_requests \
             FOR VALUES FROM ({from}) TO ({to}); COMMIT;",
            lock = crate::locks::PARTITIONS,
            name = name(day),
            from = day * DAY_S,
            to = (day + 1) * DAY_S,
        );
        if let Err(error) = pg.batch_execute(&sql) {
            let _ = pg.batch_execute("ROLLBACK");
            if error.to_string().contains("default partition") {
                tracing::warn!(
                    day,
                    "the default partition holds rows of this day: they stay there ({error})"
                );
            } else {
                return Err(error);
            }
        }
    }
    Ok(())
}
