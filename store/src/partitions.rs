//! Day partitions of `probe_requests`, on `last_seen`'s UTC day, on both databases: an
//! insert touches only its day's indexes (their size is a day's, whatever the
//! database holds), and retention drops a whole day at once.
//!
//! PostgreSQL: declarative partitioning. Each instance makes sure, at start-up and then
//! hourly, that the partitions of yesterday through the next few days exist; an
//! advisory lock keeps two instances from creating the same one at once. Rows outside
//! every day partition (a clock at 1970, a report from far ahead) land in
//! `probe_requests_default`.
//!
//! SQLite has no partitioning of its own, so it is built here: a table
//! `probe_requests_d<unix day>` a day, each with the indexes one table had, the table
//! `probe_requests_default` for rows of a day that has no partition, and a view
//! `probe_requests` (`UNION ALL` of them all, today's columns) that every read goes
//! through: SQLite flattens it into one ordered merge of index scans, one per table
//! (`MERGE (UNION ALL)` in a plan), so a page of the list still reads about a page of
//! rows. The view, and `INSTEAD OF` triggers that make it take the inserts, updates and
//! deletes of other programs (sqlite3, a test) like a table, are rebuilt in the
//! transaction that adds or drops a partition. The server's own writes go to the
//! tables directly: [`insert`] for the writer, [`tables`] for retention and erasure.
//!
//! A day gets its partition when its first row arrives while the day is recent (from
//! [`LATE_DAYS`] before the day the report is received to the day after); a row of an
//! older day with no partition goes to the default table. So where a row goes depends
//! only on its `last_seen` and on partitions that, once a day is old, never appear
//! again: a replay finds its original and stays a duplicate. Ids are handed out from
//! `probe_request_ids`, in commit order, unique across the tables.
//!
//! A database of an earlier release (one table), like a new one (the migrations make
//! the one table first), is converted by [`upgrade`]: the default table, resumable
//! chunks, then the indexes, then the old table dropped.

use diesel::connection::SimpleConnection;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{OptionalExtension, QueryableByName, RunQueryDsl};

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

/// The Unix day of a partition's name; `None` for any other table.
pub fn day_of(name: &str) -> Option<i64> {
    name.strip_prefix("probe_requests_d")?.parse().ok()
}

/// SQLite: rows of a day with no partition.
pub const DEFAULT: &str = "probe_requests_default";
/// SQLite: the single table of earlier releases, until [`upgrade`] has moved its rows.
pub const LEGACY: &str = "probe_requests_legacy";
/// SQLite: a day gets its partition if its first row is received at most this many days
/// after it (a late report, an access point that posts a backlog).
pub const LATE_DAYS: i64 = 2;
/// SQLite: the days of an earlier release's rows that [`upgrade`] gives a partition of
/// their own, counted back from the upgrade's day; older rows go to the default table.
pub const UPGRADE_DAYS: i64 = 400;
/// SQLite caps a compound SELECT at 500 terms: past this many tables the view unions
/// views of this many.
const VIEW_ARMS: usize = 400;

const COLUMNS: &str = "id, report_id, network_id, node_mac, mac, count, min_signal, \
                       max_signal, avg_signal, last_seen_signal, first_seen, last_seen, \
                       associated, randomized";
const COLUMN_NAMES: [&str; 14] = [
    "id",
    "report_id",
    "network_id",
    "node_mac",
    "mac",
    "count",
    "min_signal",
    "max_signal",
    "avg_signal",
    "last_seen_signal",
    "first_seen",
    "last_seen",
    "associated",
    "randomized",
];

/// A SQLite table of probe requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// The partition's day; `None` for the default and legacy tables.
    pub day: Option<i64>,
}

impl Table {
    /// Whether every row of it has `last_seen` before `cutoff`.
    pub fn ends_before(&self, cutoff: i64) -> bool {
        self.day.is_some_and(|day| (day + 1) * DAY_S <= cutoff)
    }

    /// Whether it may hold rows with `last_seen` before `cutoff`.
    pub fn starts_before(&self, cutoff: i64) -> bool {
        self.day.is_none_or(|day| day * DAY_S < cutoff)
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// SQLite: every table the view reads, day partitions oldest first, then the default
/// table and, during an upgrade, the legacy one. Empty on PostgreSQL.
pub fn tables(conn: &mut Conn) -> QueryResult<Vec<Table>> {
    let Conn::Sqlite(sqlite) = conn else {
        return Ok(Vec::new());
    };
    sqlite_tables(sqlite)
}

fn sqlite_tables(conn: &mut SqliteConnection) -> QueryResult<Vec<Table>> {
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name LIKE 'probe\\_requests\\_%' ESCAPE '\\'",
    )
    .load(conn)?;
    let mut days: Vec<i64> = names.iter().filter_map(|n| day_of(&n.name)).collect();
    days.sort_unstable();
    let mut tables: Vec<Table> = days
        .into_iter()
        .map(|day| Table {
            name: name(day),
            day: Some(day),
        })
        .collect();
    for special in [DEFAULT, LEGACY] {
        if names.iter().any(|n| n.name == special) {
            tables.push(Table {
                name: special.to_string(),
                day: None,
            });
        }
    }
    Ok(tables)
}

/// The statements that create a partition's table (and, with `indexes`, its indexes),
/// each a no-op if it exists.
fn create_sql(name: &str, indexes: bool) -> String {
    let mut sql = format!(
        "CREATE TABLE IF NOT EXISTS {name} (\
         id INTEGER PRIMARY KEY NOT NULL, \
         report_id INTEGER NOT NULL REFERENCES reports (id), \
         network_id BIGINT NOT NULL, node_mac TEXT NOT NULL, mac TEXT NOT NULL, \
         count BIGINT NOT NULL, min_signal INTEGER NOT NULL, max_signal INTEGER NOT NULL, \
         avg_signal INTEGER NOT NULL, last_seen_signal INTEGER, first_seen BIGINT NOT NULL, \
         last_seen BIGINT NOT NULL, associated BOOLEAN NOT NULL, randomized BOOLEAN NOT NULL);"
    );
    if indexes {
        sql.push_str(&index_sql(name));
    }
    sql
}

/// A partition's indexes, as the single table had them (see the migrations): the
/// idempotency key, and one `(filter, last_seen)` index a list filter, each ending with
/// the rowid (= id), so each serves its filter in keyset order without sorting.
fn index_sql(name: &str) -> String {
    format!(
        "CREATE UNIQUE INDEX IF NOT EXISTS {name}_observation \
             ON {name} (network_id, node_mac, last_seen, mac, first_seen); \
         CREATE INDEX IF NOT EXISTS {name}_by_last_seen ON {name} (last_seen); \
         CREATE INDEX IF NOT EXISTS {name}_by_mac ON {name} (mac, last_seen); \
         CREATE INDEX IF NOT EXISTS {name}_by_node ON {name} (node_mac, last_seen); \
         CREATE INDEX IF NOT EXISTS {name}_by_network ON {name} (network_id, last_seen); \
         CREATE INDEX IF NOT EXISTS {name}_by_associated ON {name} (associated, last_seen); \
         CREATE INDEX IF NOT EXISTS {name}_by_randomized ON {name} (randomized, last_seen); \
         CREATE INDEX IF NOT EXISTS {name}_by_report ON {name} (report_id);"
    )
}

/// SQLite: the view `probe_requests` over `tables`, and its triggers, in place of the
/// ones there are (call it in the transaction that changed the tables).
fn rebuild_view(conn: &mut SqliteConnection, tables: &[Table]) -> QueryResult<()> {
    let groups: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'view' \
         AND name LIKE 'probe\\_requests\\_g%' ESCAPE '\\'",
    )
    .load(conn)?;
    let mut sql = String::from("DROP VIEW IF EXISTS probe_requests;");
    for group in groups {
        sql.push_str(&format!("DROP VIEW {};", group.name));
    }
    let select = |from: &str| format!("SELECT {COLUMNS} FROM {from}");
    let union = |names: &mut dyn Iterator<Item = &str>| {
        names.map(select).collect::<Vec<_>>().join(" UNION ALL ")
    };
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    if names.len() <= VIEW_ARMS {
        sql.push_str(&format!(
            "CREATE VIEW probe_requests AS {};",
            union(&mut names.iter().copied())
        ));
    } else {
        let mut groups = Vec::new();
        for (i, chunk) in names.chunks(VIEW_ARMS).enumerate() {
            let group = format!("probe_requests_g{i}");
            sql.push_str(&format!(
                "CREATE VIEW {group} AS {};",
                union(&mut chunk.iter().copied())
            ));
            groups.push(group);
        }
        sql.push_str(&format!(
            "CREATE VIEW probe_requests AS {};",
            union(&mut groups.iter().map(String::as_str))
        ));
    }
    // Inserts: to the row's day partition if there is one, else to the default table;
    // the id from the sequence unless given.
    let values = COLUMN_NAMES
        .iter()
        .map(|column| match *column {
            "id" => "coalesce(NEW.id, (SELECT next FROM probe_request_ids))".to_string(),
            column => format!("NEW.{column}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Each day partition takes the rows of its day; the default table the others.
    let mut insert = String::new();
    let mut days = Vec::new();
    for day in tables.iter().filter_map(|t| t.day) {
        let within = format!(
            "(NEW.last_seen >= {} AND NEW.last_seen < {})",
            day * DAY_S,
            (day + 1) * DAY_S
        );
        insert.push_str(&format!(
            "INSERT INTO {} ({COLUMNS}) SELECT {values} WHERE {within};",
            name(day)
        ));
        days.push(within);
    }
    insert.push_str(&format!(
        "INSERT INTO {DEFAULT} ({COLUMNS}) SELECT {values} WHERE NOT ({});",
        if days.is_empty() {
            "0".to_string()
        } else {
            days.join(" OR ")
        }
    ));
    insert.push_str("UPDATE probe_request_ids SET next = max(next, coalesce(NEW.id, next) + 1);");
    let assignments = COLUMN_NAMES
        .iter()
        .map(|column| format!("{column} = NEW.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut update = String::new();
    let mut delete = String::new();
    for table in tables {
        update.push_str(&format!(
            "UPDATE {} SET {assignments} WHERE id = OLD.id;",
            table.name
        ));
        delete.push_str(&format!("DELETE FROM {} WHERE id = OLD.id;", table.name));
    }
    sql.push_str(&format!(
        "CREATE TRIGGER probe_requests_insert INSTEAD OF INSERT ON probe_requests \
         BEGIN {insert} END; \
         CREATE TRIGGER probe_requests_update INSTEAD OF UPDATE ON probe_requests \
         BEGIN {update} END; \
         CREATE TRIGGER probe_requests_delete INSTEAD OF DELETE ON probe_requests \
         BEGIN {delete} END;"
    ));
    conn.batch_execute(&sql)
}

/// SQLite: creates the partitions of `days` with their indexes (each a no-op if it
/// exists), and puts them in the view.
fn create_days(
    conn: &mut SqliteConnection,
    days: impl IntoIterator<Item = i64>,
) -> QueryResult<()> {
    for day in days {
        conn.batch_execute(&create_sql(&name(day), true))?;
    }
    let tables = sqlite_tables(conn)?;
    rebuild_view(conn, &tables)
}

/// SQLite: drops `table` and takes it out of the view (in the caller's transaction).
pub fn drop_table(conn: &mut Conn, table: &str) -> QueryResult<()> {
    let Conn::Sqlite(sqlite) = conn else {
        return Ok(());
    };
    let tables: Vec<Table> = sqlite_tables(sqlite)?
        .into_iter()
        .filter(|t| t.name != table)
        .collect();
    rebuild_view(sqlite, &tables)?;
    sqlite.batch_execute(&format!("DROP TABLE {table}"))
}

/// One row's insert into a partition table named at run time. Its SQL names the table,
/// so diesel caches one prepared statement a table (by the SQL's text), where
/// `diesel::sql_query` would prepare it again for every row.
struct RowInsert<'a> {
    table: &'a str,
    id: i64,
    report_id: i64,
    network_id: i64,
    node_mac: &'a str,
    mac: &'a str,
    probe: &'a ncompass_core::cloudtrax::ProbeRequest,
}

impl QueryFragment<Sqlite> for RowInsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("INSERT OR IGNORE INTO ");
        out.push_identifier(self.table)?;
        out.push_sql(" (");
        out.push_sql(COLUMNS);
        out.push_sql(") VALUES (");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.report_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.network_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.node_mac)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.mac)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.probe.count)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.probe.min_signal)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.probe.max_signal)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.probe.avg_signal)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Integer>, _>(&self.probe.last_seen_signal)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.probe.first_seen)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.probe.last_seen)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&self.probe.associated)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&self.probe.randomized)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryId for RowInsert<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<SqliteConnection> for RowInsert<'_> {}

/// The rows of one report, for [`insert`].
pub(crate) struct ReportRows<'a> {
    pub report_id: i64,
    pub network_id: i64,
    pub node_mac: &'a str,
    /// In key order (so a day's rows are together), with their MACs as stored.
    pub probes: &'a [&'a ncompass_core::cloudtrax::ProbeRequest],
    pub macs: &'a [ncompass_core::mac::CanonicalMac],
}

/// Whether `error` says that `table` does not exist.
fn missing(error: &diesel::result::Error, table: &str) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(_, info)
        if info.message() == format!("no such table: {table}")
           || info.message() == format!("no such table: main.{table}"))
}

/// SQLite: stores a report's rows in their days' partitions (received at
/// `received_at`), skipping those stored before; returns how many were new. Creates a
/// recent day's partition on its first row (see the module's notes).
pub(crate) fn insert(
    conn: &mut SqliteConnection,
    rows: &ReportRows,
    received_at: i64,
) -> QueryResult<usize> {
    use crate::schema::probe_request_ids::dsl::{next, probe_request_ids};
    use diesel::{ExpressionMethods, QueryDsl};
    if rows.probes.is_empty() {
        return Ok(0);
    }
    let first_id: i64 = probe_request_ids.select(next).first(conn)?;
    let today = received_at.div_euclid(DAY_S);
    let mut stored = 0;
    // The table of the previous row's day (rows come day by day, in key order).
    let mut table: Option<(i64, String)> = None;
    for (i, (probe, mac)) in rows.probes.iter().zip(rows.macs).enumerate() {
        let day = probe.last_seen.div_euclid(DAY_S);
        let (_, target) = match &mut table {
            Some(current) if current.0 == day => current,
            other => other.insert((day, name(day))),
        };
        let id = first_id + i as i64;
        let insert = |conn: &mut SqliteConnection, table: &str| {
            RowInsert {
                table,
                id,
                report_id: rows.report_id,
                network_id: rows.network_id,
                node_mac: rows.node_mac,
                mac: mac.as_str(),
                probe,
            }
            .execute(conn)
        };
        stored += match insert(conn, target) {
            Err(error) if missing(&error, target) => {
                if (today - LATE_DAYS..=today + 1).contains(&day) {
                    create_days(conn, [day])?;
                } else {
                    *target = DEFAULT.to_string();
                }
                insert(conn, target)?
            }
            other => other?,
        };
    }
    diesel::update(probe_request_ids)
        .set(next.eq(first_id + rows.probes.len() as i64))
        .execute(conn)?;
    Ok(stored)
}

/// SQLite: the partitions of `now`'s day and the next, created ahead of their first
/// rows (in one write transaction, if any is missing).
fn ensure_sqlite(conn: &mut Conn, now: i64) -> QueryResult<()> {
    let today = now.div_euclid(DAY_S);
    let Conn::Sqlite(sqlite) = conn else {
        return Ok(());
    };
    let have = sqlite_tables(sqlite)?;
    if (today..=today + 1).all(|day| have.iter().any(|t| t.day == Some(day))) {
        return Ok(());
    }
    if have.iter().any(|t| t.name == LEGACY) || !have.iter().any(|t| t.name == DEFAULT) {
        // Not converted yet (`upgrade` runs first), or not migrated yet.
        return Ok(());
    }
    super::write_transaction(conn, |conn| {
        let Conn::Sqlite(sqlite) = conn else {
            return Ok(());
        };
        create_days(sqlite, today..=today + 1)
    })
}

/// Creates the partitions of yesterday through [`DAYS_AHEAD`] days after `now`'s day
/// that do not exist yet (a quick catalogue lookup skips those that do, taking no lock). A day whose rows already sit in the default partition is left
/// there (creating its partition would fail) and logged.
pub fn ensure(conn: &mut Conn, now: i64) -> QueryResult<()> {
    let Conn::Postgres(pg) = conn else {
        return ensure_sqlite(conn, now);
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

/// Rows of the single table moved per transaction by [`upgrade`].
const UPGRADE_CHUNK: i64 = 100_000;
/// The legacy table's rows are moved through this id (kept in `settings`).
const UPGRADE_THROUGH: &str = "partition_upgrade_through_id";

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

#[derive(QueryableByName)]
struct MaybeValue {
    #[diesel(sql_type = Nullable<BigInt>)]
    value: Option<i64>,
}

/// What [`upgrade`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Upgraded {
    /// Rows moved out of the single table by this run.
    pub rows: u64,
    /// Day partitions the rows went to.
    pub partitions: usize,
    /// Stopped before the end (`max_chunks`); the next run goes on.
    pub interrupted: bool,
}

/// SQLite: converts a database of an earlier release (the single table, renamed
/// `probe_requests_legacy` by the migration) to day partitions, telling `progress` how
/// far it is. Resumable: each chunk of rows moves in one transaction with the id it
/// reached, so a run killed at any point goes on where it stopped when run again, and
/// no row is lost or moved twice. The partitions get their indexes after their rows
/// (a sort each instead of a B-tree insert a row). `None`: nothing to convert (a new
/// or converted database, or PostgreSQL).
pub fn upgrade(
    conn: &mut Conn,
    now: i64,
    progress: &mut dyn FnMut(&str),
) -> QueryResult<Option<Upgraded>> {
    upgrade_with(conn, now, UPGRADE_CHUNK, None, progress)
}

/// [`upgrade`] in chunks of `chunk` rows, stopping after `max_chunks` of them if given
/// (as a kill would: [`Upgraded::interrupted`]).
pub fn upgrade_with(
    conn: &mut Conn,
    now: i64,
    chunk: i64,
    max_chunks: Option<usize>,
    progress: &mut dyn FnMut(&str),
) -> QueryResult<Option<Upgraded>> {
    if !tables(conn)?.iter().any(|t| t.name == LEGACY) {
        return Ok(None);
    }
    let today = now.div_euclid(DAY_S);
    // 1. The days of its rows, one index seek a day, from the oldest kept apart.
    let mut days = Vec::new();
    let mut from = (today - UPGRADE_DAYS) * DAY_S;
    while let Some(seen) = diesel::sql_query(format!(
        "SELECT last_seen AS value FROM {LEGACY} WHERE last_seen >= ? \
         ORDER BY last_seen LIMIT 1"
    ))
    .bind::<BigInt, _>(from)
    .get_result::<Value>(conn)
    .optional()?
    {
        let day = seen.value.div_euclid(DAY_S);
        if day > today + 1 {
            break;
        }
        days.push(day);
        from = (day + 1) * DAY_S;
    }
    super::write_transaction(conn, |conn| {
        conn.batch_execute(&create_sql(DEFAULT, true))?;
        for day in &days {
            conn.batch_execute(&create_sql(&name(*day), false))?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    let mut upgraded = Upgraded {
        rows: 0,
        partitions: days.len(),
        interrupted: false,
    };
    let mut chunks = 0;

    // 2. The rows, a chunk of ids at a time.
    let through = |conn: &mut Conn| -> QueryResult<i64> {
        Ok(super::metadata::get(conn, UPGRADE_THROUGH)?
            .and_then(|text| text.parse().ok())
            .unwrap_or(0))
    };
    let start = through(conn)?;
    let left = diesel::sql_query(format!(
        "SELECT count(*) AS value FROM {LEGACY} WHERE id > ?"
    ))
    .bind::<BigInt, _>(start)
    .get_result::<Value>(conn)?
    .value;
    progress(&format!(
        "upgrade: moving {left} probe requests into {} day partitions",
        days.len()
    ));
    loop {
        if max_chunks.is_some_and(|max| chunks >= max) {
            upgraded.interrupted = true;
            return Ok(Some(upgraded));
        }
        chunks += 1;
        let moved = super::write_transaction(conn, |conn| -> QueryResult<Option<u64>> {
            let after = through(conn)?;
            let Some(last) = diesel::sql_query(format!(
                "SELECT max(id) AS value FROM \
                 (SELECT id FROM {LEGACY} WHERE id > ? ORDER BY id LIMIT ?)"
            ))
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(chunk)
            .get_result::<MaybeValue>(conn)?
            .value
            else {
                return Ok(None);
            };
            let chunk_days: Vec<Value> = diesel::sql_query(format!(
                "SELECT DISTINCT last_seen / {DAY_S} AS value FROM {LEGACY} \
                 WHERE id > ? AND id <= ?"
            ))
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(last)
            .load(conn)?;
            let mut rows = 0;
            for day in chunk_days.iter().map(|d| d.value) {
                let target = if days.contains(&day) {
                    name(day)
                } else {
                    DEFAULT.to_string()
                };
                rows += diesel::sql_query(format!(
                    "INSERT INTO {target} ({COLUMNS}) SELECT {COLUMNS} FROM {LEGACY} \
                     WHERE id > ? AND id <= ? AND last_seen / {DAY_S} = ? ORDER BY id"
                ))
                .bind::<BigInt, _>(after)
                .bind::<BigInt, _>(last)
                .bind::<BigInt, _>(day)
                .execute(conn)?;
            }
            super::metadata::set(conn, UPGRADE_THROUGH, &last.to_string())?;
            Ok(Some(rows as u64))
        })?;
        let Some(moved) = moved else {
            break;
        };
        upgraded.rows += moved;
        progress(&format!(
            "upgrade: probe requests {} of {left} ({}%)",
            upgraded.rows,
            upgraded.rows * 100 / (left.max(1) as u64)
        ));
    }

    // 3. The partitions' indexes (each a no-op if built by a run before).
    let partitions: Vec<Table> = tables(conn)?
        .into_iter()
        .filter(|t| t.day.is_some())
        .collect();
    for (i, table) in partitions.iter().enumerate() {
        super::write_transaction(conn, |conn| conn.batch_execute(&index_sql(&table.name)))?;
        progress(&format!(
            "upgrade: indexes of {} ({} of {})",
            table.name,
            i + 1,
            partitions.len()
        ));
    }

    // 4. The single table goes; the view reads the partitions.
    super::write_transaction(conn, |conn| {
        drop_table(conn, LEGACY)?;
        conn.batch_execute(&format!(
            "DELETE FROM settings WHERE name = '{UPGRADE_THROUGH}'"
        ))
    })?;
    progress("upgrade: done");
    Ok(Some(upgraded))
}

/// Deletes every probe request of the client `mac` (as stored); returns how many. On
/// SQLite a statement a table (the view's trigger would look for each row in every
/// table).
pub fn delete_mac(conn: &mut Conn, mac: &str) -> QueryResult<usize> {
    use crate::schema::probe_requests;
    use diesel::{ExpressionMethods, QueryDsl};
    if let Conn::Postgres(_) = conn {
        return diesel::delete(probe_requests::table.filter(probe_requests::mac.eq(mac)))
            .execute(conn);
    }
    let mut deleted = 0;
    for table in tables(conn)? {
        deleted += diesel::sql_query(format!("DELETE FROM {} WHERE mac = ?", table.name))
            .bind::<Text, _>(mac)
            .execute(conn)?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::store;
    use crate::reports::tests::{migrate_until, store_as_before};
    use crate::schema::probe_requests as p;
    use diesel::QueryDsl;
    use ncompass_core::cloudtrax::{parse_report, Report, TimeRules};

    type Stored = (
        (i64, i64, i64, String, String, i64, i32),
        (i32, i32, Option<i32>, i64, i64, bool, bool),
    );

    /// Every row the view shows, by id, every column.
    fn rows(conn: &mut Conn) -> Vec<Stored> {
        p::table
            .select((
                (
                    p::id,
                    p::report_id,
                    p::network_id,
                    p::node_mac,
                    p::mac,
                    p::count,
                    p::min_signal,
                ),
                (
                    p::max_signal,
                    p::avg_signal,
                    p::last_seen_signal,
                    p::first_seen,
                    p::last_seen,
                    p::associated,
                    p::randomized,
                ),
            ))
            .order(p::id)
            .load(conn)
            .unwrap()
    }

    /// The sample report with its observations `age` seconds before `now`.
    fn report_at(now: i64, age: i64) -> Report {
        let mut report = parse_report(
            ncompass_core::cloudtrax::samples::V1,
            &TimeRules::at(ncompass_core::clock::unix_now()),
        )
        .unwrap();
        for (i, probe) in report.probe_requests.iter_mut().enumerate() {
            probe.last_seen = now - age - i as i64;
            probe.first_seen = probe.last_seen - 10;
        }
        report
    }

    fn names(conn: &mut Conn) -> Vec<String> {
        tables(conn).unwrap().into_iter().map(|t| t.name).collect()
    }

    fn rows_in(conn: &mut Conn, table: &str) -> i64 {
        diesel::sql_query(format!("SELECT count(*) AS value FROM {table}"))
            .get_result::<Value>(conn)
            .unwrap()
            .value
    }

    #[test]
    fn rows_go_to_their_days_partition_and_old_days_to_the_default_table() {
        let (_dir, mut conn) = crate::tests::migrated();
        let now = ncompass_core::clock::unix_now();
        let today = now.div_euclid(DAY_S);
        // Today's and tomorrow's partitions are made ahead, and the default table.
        assert_eq!(
            names(&mut conn),
            [name(today), name(today + 1), DEFAULT.to_string()]
        );
        let (fresh, late, old) = (
            report_at(now, 60),
            report_at(now - now.rem_euclid(DAY_S), 100),
            report_at(now, (LATE_DAYS + 2) * DAY_S),
        );
        for report in [&fresh, &late, &old] {
            assert_eq!(store(&mut conn, report, now).unwrap().stored, 5);
        }
        // Yesterday's partition came with its first row; the old day's did not.
        let yesterday = name(today - 1);
        assert!(names(&mut conn).contains(&yesterday));
        assert_eq!(rows_in(&mut conn, &yesterday), 5);
        assert_eq!(rows_in(&mut conn, DEFAULT), 5);
        assert_eq!(rows(&mut conn).len(), 15);
        // Replays are duplicates wherever their originals went; ids stay unique.
        for report in [&fresh, &late, &old] {
            let again = store(&mut conn, report, now + 30).unwrap();
            assert_eq!((again.stored, again.duplicates), (0, 5));
        }
        let ids: std::collections::BTreeSet<i64> = rows(&mut conn).iter().map(|r| r.0 .0).collect();
        assert_eq!(ids.len(), 15);
        // Another program writes through the view as into a table.
        let mut other = crate::connect(&crate::tests::path_of(&_dir)).unwrap();
        other
            .batch_execute(&format!(
                "INSERT INTO probe_requests (report_id, network_id, node_mac, mac, count, \
                 min_signal, max_signal, avg_signal, first_seen, last_seen, associated, \
                 randomized) VALUES (1, 1, 'ac:86:74:00:00:01', '00:11:22:33:44:55', 1, 0, 0, \
                 0, {now}, {now}, 0, 0); \
                 UPDATE probe_requests SET count = 7 WHERE mac = '00:11:22:33:44:55';"
            ))
            .unwrap();
        assert_eq!(rows_in(&mut conn, &name(today)), 6);
        let new = rows(&mut conn)
            .into_iter()
            .find(|r| r.0 .4 == "00:11:22:33:44:55")
            .unwrap();
        assert!(new.0 .0 > *ids.last().unwrap());
        assert_eq!(new.0 .5, 7);
        other
            .batch_execute("DELETE FROM probe_requests WHERE mac = '00:11:22:33:44:55'")
            .unwrap();
        assert_eq!(rows(&mut conn).len(), 15);
        assert_eq!(
            delete_mac(&mut conn, &fresh.probe_requests[0].mac.to_string()).unwrap(),
            3
        );
    }

    #[test]
    fn retention_drops_a_merged_day_whole_and_keeps_zeroing_erasures() {
        let (_dir, mut conn) = crate::tests::migrated();
        let now = ncompass_core::clock::unix_now();
        let today = now.div_euclid(DAY_S);
        // Three days ago, as received then; and today.
        let old_at = (today - 3) * DAY_S + 3_600;
        store(&mut conn, &report_at(old_at, 60), old_at).unwrap();
        store(&mut conn, &report_at(now, 60), now).unwrap();
        let cutoff = (today - 2) * DAY_S;
        // Not merged into the presence segments yet: kept.
        assert_eq!(
            crate::retention::drop_partitions(&mut conn, cutoff, now).unwrap(),
            0
        );
        while crate::presence::catch_up(&mut conn, 100).unwrap() > 0 {}
        assert_eq!(
            crate::retention::drop_partitions(&mut conn, cutoff, now).unwrap(),
            5
        );
        assert!(!names(&mut conn).contains(&name(today - 3)));
        assert_eq!(rows(&mut conn).len(), 5);
        #[derive(QueryableByName)]
        struct Mode {
            #[diesel(sql_type = Integer)]
            secure_delete: i32,
        }
        let mode = diesel::sql_query("PRAGMA secure_delete")
            .get_result::<Mode>(&mut conn)
            .unwrap();
        assert_eq!(mode.secure_delete, 1, "zeroing is back on for erasures");
    }

    #[test]
    fn an_sqlite_file_of_the_release_before_is_moved_into_day_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("old.db");
        let url = url.to_str().unwrap();
        let now = ncompass_core::clock::unix_now();
        let today = now.div_euclid(DAY_S);
        let ages = [60, DAY_S, 10 * DAY_S, (UPGRADE_DAYS + 5) * DAY_S];
        let mut conn = crate::connect(url).unwrap();
        migrate_until(&mut conn, "day_partitions");
        for age in ages {
            store_as_before(&mut conn, &report_at(now, age), now - age);
        }
        let before = rows(&mut conn);
        assert_eq!(before.len(), 20);
        // The migration renames the table; the view shows it whole until it is moved.
        let Conn::Sqlite(sqlite) = &mut conn else {
            unreachable!()
        };
        use diesel_migrations::MigrationHarness;
        sqlite
            .run_pending_migrations(crate::SQLITE_MIGRATIONS)
            .unwrap();
        assert_eq!(rows(&mut conn), before);
        // Killed after two chunks of 3 rows: still every row once.
        let mut lines = Vec::new();
        let stopped = upgrade_with(&mut conn, now, 3, Some(2), &mut |line| {
            lines.push(line.to_string())
        })
        .unwrap()
        .unwrap();
        assert!(stopped.interrupted);
        assert_eq!(stopped.rows, 6);
        assert_eq!(rows(&mut conn), before);
        assert!(lines.iter().any(|line| line.contains("of 20")), "{lines:?}");
        // Started again (as the server does): it goes on and finishes.
        drop(conn);
        assert!(crate::migrate(url).unwrap().is_empty());
        let mut conn = crate::connect(url).unwrap();
        assert_eq!(rows(&mut conn), before);
        let tables = names(&mut conn);
        assert!(!tables.contains(&LEGACY.to_string()), "{tables:?}");
        for day in [today, today - 1, today - 10] {
            assert_eq!(rows_in(&mut conn, &name(day)), 5, "{}", name(day));
        }
        assert_eq!(rows_in(&mut conn, DEFAULT), 5);
        // Every partition has its indexes.
        let indexes = diesel::sql_query(format!(
            "SELECT count(*) AS value FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = '{}'",
            name(today - 10)
        ))
        .get_result::<Value>(&mut conn)
        .unwrap()
        .value;
        assert_eq!(indexes, 8);
        // What was stored is still a duplicate; new rows take new ids.
        for age in ages {
            let again = store(&mut conn, &report_at(now, age), now).unwrap();
            assert_eq!((again.stored, again.duplicates), (0, 5), "{age}");
        }
        let newest = before.iter().map(|r| r.0 .0).max().unwrap();
        store(&mut conn, &report_at(now, 30), now).unwrap();
        assert_eq!(
            rows(&mut conn).iter().filter(|r| r.0 .0 > newest).count(),
            5
        );
    }
}
