//! Retention: deleting probe requests (then their reports, and rejections) and presence
//! segments older than the operator keeps them (`--keep-probe-requests`,
//! `--keep-presence`).
//!
//! The writer calls [`delete_chunk`] in its idle time, one bounded transaction at a
//! time, so a report arriving meanwhile waits for one chunk at most. A probe request is
//! deleted only once it is merged into the presence segments (id at most the merge's
//! watermark), so the presence figures of a range keep working from the segments after
//! its rows are gone. Whole day partitions past the limit are dropped
//! ([`drop_partitions`]) instead of deleting their rows one by one. On SQLite the freed
//! pages go back to the file system ([`release_free_pages`]; the file is in
//! `auto_vacuum = INCREMENTAL` mode, see `db::migrate`).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::schema::{presence_progress, presence_segments, probe_requests};
use super::{Conn, Placeholders};

const DAY_S: i64 = 86_400;

/// Where the scan of the cutoff day's segments stopped: (day, network, MAC, start).
pub type SegmentKey = (i64, i64, i64, i64);

/// What to delete: rows whose time is before these (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cutoffs {
    /// Probe requests with `last_seen` before it; reports received before it with no
    /// probe request left; rejections received before it.
    pub probe_requests: Option<i64>,
    /// Presence segments ending before it.
    pub presence: Option<i64>,
}

impl Cutoffs {
    pub fn at(privacy: &ncompass_core::privacy::Privacy, now: i64) -> Cutoffs {
        let before = |keep: Option<std::time::Duration>| {
            keep.map(|keep| now.saturating_sub(i64::try_from(keep.as_secs()).unwrap_or(i64::MAX)))
        };
        Cutoffs {
            probe_requests: before(privacy.keep_probe_requests),
            presence: before(privacy.keep_presence),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.probe_requests.is_none() && self.presence.is_none()
    }
}

/// Rows deleted, per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deleted {
    pub probe_requests: u64,
    pub presence_segments: u64,
    pub reports: u64,
    pub rejections: u64,
    /// Device descriptions (manufacturer, OS, SSID) not heard since the cutoff.
    pub devices: u64,
    /// Segments of the cutoff day remain to be looked at (see [`delete_chunk`]'s
    /// cursor), even if this chunk deleted none.
    pub more_to_scan: bool,
}

impl Deleted {
    pub fn total(&self) -> u64 {
        self.probe_requests + self.presence_segments + self.reports + self.rejections + self.devices
    }

    /// Another chunk may find something: rows were deleted, or segments remain to scan.
    pub fn more(&self) -> bool {
        self.total() > 0 || self.more_to_scan
    }

    pub fn add(&mut self, other: Deleted) {
        self.probe_requests += other.probe_requests;
        self.presence_segments += other.presence_segments;
        self.reports += other.reports;
        self.rejections += other.rejections;
        self.devices += other.devices;
        self.more_to_scan = other.more_to_scan;
    }
}

/// Deletes at most `chunk` rows of each table past `cutoffs`, in one write transaction.
/// `cursor` carries the scan of the cutoff day's segments from chunk to chunk (start a
/// pass with `None`). Nothing more ([`Deleted::more`]): retention has caught up.
pub fn delete_chunk(
    conn: &mut Conn,
    cutoffs: Cutoffs,
    chunk: i64,
    cursor: &mut Option<SegmentKey>,
) -> QueryResult<Deleted> {
    super::write_transaction(conn, |conn| {
        let mut deleted = Deleted::default();
        if let Some(cutoff) = cutoffs.probe_requests {
            deleted.probe_requests = delete_probe_requests(conn, cutoff, chunk)?;
            deleted.reports = delete_reports(conn, cutoff, chunk)?;
            deleted.devices = super::devices::delete_before(conn, cutoff, chunk)?;
            let mut bind = Placeholders::of(conn);
            let sql = format!(
                "DELETE FROM rejections WHERE id IN \
                 (SELECT id FROM rejections WHERE received_at < {} ORDER BY id LIMIT {})",
                bind.next(),
                bind.next()
            );
            deleted.rejections = rows(
                diesel::sql_query(sql)
                    .bind::<BigInt, _>(cutoff)
                    .bind::<BigInt, _>(chunk)
                    .execute(conn)?,
            );
        }
        if let Some(cutoff) = cutoffs.presence {
            let (segments, more_to_scan) = delete_segments(conn, cutoff, chunk, cursor)?;
            deleted.presence_segments = segments;
            deleted.more_to_scan = more_to_scan;
        }
        if deleted.probe_requests > 0 {
            keep_watermark_below_next_id(conn)?;
        }
        Ok(deleted)
    })
}

fn rows(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

/// The oldest merged probe requests before `cutoff` (served by the `last_seen` index).
fn delete_probe_requests(conn: &mut Conn, cutoff: i64, chunk: i64) -> QueryResult<u64> {
    let mut bind = Placeholders::of(conn);
    let (cutoff_at, chunk_at) = (bind.next(), bind.next());
    let sqlite = matches!(conn, Conn::Sqlite(_));
    let delete = |table: &str| match sqlite {
        true => format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} \
             WHERE last_seen < {cutoff_at} \
             AND id <= (SELECT through_id FROM presence_progress) \
             ORDER BY last_seen LIMIT {chunk_at})"
        ),
        // The partition key beside the id lets each row's delete go to its partition.
        false => format!(
            "DELETE FROM {table} WHERE (id, last_seen) IN (SELECT id, last_seen \
             FROM {table} WHERE last_seen < {cutoff_at} \
             AND id <= (SELECT through_id FROM presence_progress) \
             ORDER BY last_seen LIMIT {chunk_at})"
        ),
    };
    // SQLite: each table that may hold rows before the cutoff (the days past it are
    // dropped whole by `drop_partitions`, so this is the cutoff's day, the default
    // table, and days not merged yet); PostgreSQL routes the delete itself.
    let tables: Vec<String> = match conn {
        Conn::Sqlite(_) => super::partitions::tables(conn)?
            .into_iter()
            .filter(|table| table.starts_before(cutoff))
            .map(|table| table.name)
            .collect(),
        Conn::Postgres(_) => vec!["probe_requests".to_string()],
    };
    let mut deleted = 0;
    for table in tables {
        let left = chunk - i64::try_from(deleted).unwrap_or(i64::MAX);
        if left <= 0 {
            break;
        }
        deleted += rows(
            diesel::sql_query(delete(&table))
                .bind::<BigInt, _>(cutoff)
                .bind::<BigInt, _>(left)
                .execute(conn)?,
        );
    }
    Ok(deleted)
}

/// Reports received before `cutoff` that have no probe request left. A probe request's
/// `last_seen` is at most [`ncompass_core::cloudtrax::MAX_CLOCK_AHEAD_S`] after its report was
/// received, so only reports received that long before the oldest row kept can be
/// rowless: the scan starts and ends there, and does not walk, chunk after chunk, the
/// reports whose rows still wait for deletion (a large backlog when retention is first
/// turned on). Each report is still checked, in case an older row breaks the rule.
fn delete_reports(conn: &mut Conn, cutoff: i64, chunk: i64) -> QueryResult<u64> {
    let oldest_row: Option<i64> = probe_requests::table
        .select(probe_requests::last_seen)
        .order(probe_requests::last_seen)
        .first(conn)
        .optional()?;
    let before = oldest_row.map_or(cutoff, |oldest| {
        cutoff.min(oldest.saturating_sub(ncompass_core::cloudtrax::MAX_CLOCK_AHEAD_S))
    });
    let mut bind = Placeholders::of(conn);
    let sql = format!(
        "DELETE FROM reports WHERE id IN (SELECT r.id FROM reports r \
         WHERE r.received_at < {} \
         AND NOT EXISTS (SELECT 1 FROM probe_requests p WHERE p.report_id = r.id) \
         ORDER BY r.received_at LIMIT {})",
        bind.next(),
        bind.next()
    );
    Ok(rows(
        diesel::sql_query(sql)
            .bind::<BigInt, _>(before)
            .bind::<BigInt, _>(chunk)
            .execute(conn)?,
    ))
}

/// Segments ending before `cutoff`: whole days before its day by the key, then those
/// of its own day that end before it (read, as their end is inside the segment), in
/// key order from `cursor`, so segments still going on are read past once, not again
/// at every chunk. Returns the segments deleted, and whether the day's scan goes on.
fn delete_segments(
    conn: &mut Conn,
    cutoff: i64,
    chunk: i64,
    cursor: &mut Option<SegmentKey>,
) -> QueryResult<(u64, bool)> {
    let cutoff_day = cutoff.div_euclid(DAY_S);
    let mut bind = Placeholders::of(conn);
    let sql = format!(
        "DELETE FROM presence_segments WHERE (day, network_id, mac, first_seen) IN \
         (SELECT day, network_id, mac, first_seen FROM presence_segments \
          WHERE day < {} ORDER BY day LIMIT {})",
        bind.next(),
        bind.next()
    );
    let mut deleted = rows(
        diesel::sql_query(sql)
            .bind::<BigInt, _>(cutoff_day)
            .bind::<BigInt, _>(chunk)
            .execute(conn)?,
    );
    if deleted > 0 {
        return Ok((deleted, false));
    }
    use presence_segments as s;
    let (network_after, mac_after, first_after) = match *cursor {
        Some((day, network_id, mac, first_seen)) if day == cutoff_day => {
            (network_id, mac, first_seen)
        }
        _ => (i64::MIN, i64::MIN, i64::MIN),
    };
    let candidates: Vec<(i64, i64, i64, Vec<u8>)> = s::table
        .filter(s::day.eq(cutoff_day))
        .filter(
            s::network_id
                .gt(network_after)
                .or(s::network_id.eq(network_after).and(
                    s::mac
                        .gt(mac_after)
                        .or(s::mac.eq(mac_after).and(s::first_seen.gt(first_after))),
                )),
        )
        .filter(s::first_seen.lt(cutoff))
        .order((s::network_id, s::mac, s::first_seen))
        .select((s::network_id, s::mac, s::first_seen, s::segment))
        .limit(chunk)
        .load(conn)?;
    let more_to_scan = i64::try_from(candidates.len()).unwrap_or(i64::MAX) >= chunk;
    *cursor = candidates
        .last()
        .map(|(network_id, mac, first_seen, _)| (cutoff_day, *network_id, *mac, *first_seen))
        .filter(|_| more_to_scan);
    for (network_id, mac, first_seen, segment) in candidates {
        let ended = crate::segment_codec::decode(&segment).is_some_and(|s| s.last_seen < cutoff);
        if ended {
            deleted += rows(
                diesel::delete(s::table.find((cutoff_day, network_id, mac, first_seen)))
                    .execute(conn)?,
            );
        }
    }
    Ok((deleted, more_to_scan))
}

/// Keeps the merge's watermark at or below the highest id left, so that "every row up
/// to it is merged" stays true of the rows there are. Ids are never handed out twice
/// (SQLite: `probe_request_ids`, see `partitions`; PostgreSQL: a sequence), so this only
/// tidies the watermark after the newest rows are deleted.
pub fn keep_watermark_below_next_id(conn: &mut Conn) -> QueryResult<()> {
    if matches!(conn, Conn::Sqlite(_)) {
        let newest: Option<i64> = probe_requests::table
            .select(probe_requests::id)
            .order(probe_requests::id.desc())
            .first(conn)
            .optional()?;
        diesel::update(presence_progress::table)
            .filter(presence_progress::through_id.gt(newest.unwrap_or(0)))
            .set(presence_progress::through_id.eq(newest.unwrap_or(0)))
            .execute(conn)?;
    }
    Ok(())
}

/// Drops the day partitions (on both databases) whose every row is past `cutoff` and merged
/// into the presence segments (dropping is instant where deleting a day's rows is not).
/// Takes the partition's lock without waiting and the table's for 100 ms at most, and
/// leaves the partition to the row deletes (or a later try) when it cannot have them.
/// Returns the rows dropped.
pub fn drop_partitions(conn: &mut Conn, cutoff: i64, now: i64) -> QueryResult<u64> {
    let now_day = now.div_euclid(DAY_S);
    #[derive(QueryableByName)]
    struct Partition {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let partitions: Vec<String> = match conn {
        Conn::Sqlite(_) => super::partitions::tables(conn)?
            .into_iter()
            .map(|table| table.name)
            .collect(),
        Conn::Postgres(_) => diesel::sql_query(
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'probe_requests'::regclass AND c.relname LIKE 'probe_requests_d%'",
        )
        .load::<Partition>(conn)?
        .into_iter()
        .map(|partition| partition.name)
        .collect(),
    };
    let mut dropped = 0;
    for partition in partitions {
        let Some(day) = super::partitions::day_of(&partition) else {
            continue;
        };
        if (day + 1) * DAY_S > cutoff {
            continue;
        }
        #[derive(QueryableByName)]
        struct Extent {
            #[diesel(sql_type = BigInt)]
            rows: i64,
        }
        #[derive(QueryableByName)]
        struct Newest {
            #[diesel(sql_type = Nullable<BigInt>)]
            newest: Option<i64>,
        }
        let name = super::partitions::name(day);
        // SQLite: the day's pages go to the free list without being zeroed first
        // (secure_delete FAST for this transaction): zeroing writes every page of the
        // day, 24x the time (8.3 s instead of 0.35 s for 2.5 million rows, BENCHMARKS.md)
        // with the write lock held. The writer then gives the free pages back to the file
        // system in its idle time (`release_free_pages`: relocated over, or cut off the
        // end), after which none of the day's bytes is in the file. An erasure still
        // zeroes what it deletes.
        let sqlite = matches!(conn, Conn::Sqlite(_));
        if sqlite {
            conn.batch_execute("PRAGMA secure_delete = FAST")?;
        }
        let outcome = super::write_transaction(conn, |conn| -> QueryResult<Option<u64>> {
            // PostgreSQL: the partition first, without waiting: from then on no insert
            // can add a row to it (an old report arriving now waits, then goes to the
            // default partition once it is gone), so what is checked is what is
            // dropped. SQLite: the write transaction has the whole file.
            if let Conn::Postgres(_) = conn {
                conn.batch_execute(&format!(
                    "SET LOCAL lock_timeout = '100ms'; LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE NOWAIT"
                ))?;
            }
            // The newest id first (an index's end): a partition not merged yet is left
            // at that cost, every pass until it is.
            let newest: Option<i64> =
                diesel::sql_query(format!("SELECT max(id) AS newest FROM {name}"))
                    .get_result::<Newest>(conn)?
                    .newest;
            let through = super::presence::watermark(conn)?;
            if newest.is_some_and(|newest| newest > through) {
                return Ok(None);
            }
            // Yesterday's partition is made again hourly (db::partitions): an empty one
            // is left alone rather than dropped and made again every hour.
            if newest.is_none() && day >= now_day - 1 {
                return Ok(None);
            }
            // SQLite: from the partition's id range (two rowid seeks), not count(*),
            // which would read a day's index (minutes at the planned deployment's
            // 576 million rows a day) in the writer's thread. Exact unless rows of
            // another day were stored amid the day's (ids are handed out in commit
            // order) or some were erased: then it is an upper bound.
            let sql = match conn {
                Conn::Sqlite(_) => {
                    // One aggregate a SELECT: SQLite answers each from the rowid's end.
                    format!(
                        "SELECT coalesce((SELECT max(id) FROM {name}) \
                         - (SELECT min(id) FROM {name}) + 1, 0) AS rows"
                    )
                }
                Conn::Postgres(_) => format!("SELECT count(*) AS rows FROM {name}"),
            };
            let extent: Extent = diesel::sql_query(sql).get_result(conn)?;
            match conn {
                // Out of the view in the same transaction.
                Conn::Sqlite(_) => super::partitions::drop_table(conn, &name)?,
                // The parent's lock queues every reader and writer behind it while it
                // waits: 100 ms at most, then the next pass tries again.
                Conn::Postgres(_) => conn.batch_execute(&format!("DROP TABLE {name}"))?,
            }
            Ok(Some(u64::try_from(extent.rows).unwrap_or(0)))
        });
        if sqlite {
            conn.batch_execute("PRAGMA secure_delete = ON")?;
        }
        match outcome {
            Ok(Some(rows)) => {
                tracing::info!(partition = %name, rows, "dropped a day partition past the retention period");
                dropped += rows;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(%error, partition = %name, "cannot drop the partition now; trying again later");
            }
        }
    }
    Ok(dropped)
}

/// SQLite: gives up to `pages` free pages back to the file system (the file shrinks).
pub fn release_free_pages(conn: &mut Conn, pages: u32) -> QueryResult<()> {
    if matches!(conn, Conn::Sqlite(_)) {
        conn.batch_execute(&format!("PRAGMA incremental_vacuum({pages})"))?;
    }
    Ok(())
}

/// The `last_seen` of the oldest probe request kept, and the start (UTC midnight) of
/// the oldest presence segment's day: for `/metrics`.
pub fn oldest(conn: &mut Conn) -> QueryResult<(Option<i64>, Option<i64>)> {
    let probe: Option<i64> = probe_requests::table
        .select(probe_requests::last_seen)
        .order(probe_requests::last_seen)
        .first(conn)
        .optional()?;
    let day: Option<i64> = presence_segments::table
        .select(diesel::dsl::min(presence_segments::day))
        .first(conn)?;
    Ok((probe, day.map(|day| day * DAY_S)))
}

/// Runs [`delete_chunk`] until nothing is left (for the tests and for a caller that
/// owns the database, like the command line).
#[cfg(test)]
pub fn delete_all(conn: &mut Conn, cutoffs: Cutoffs, chunk: i64) -> QueryResult<Deleted> {
    let mut total = Deleted::default();
    let mut cursor = None;
    loop {
        let deleted = delete_chunk(conn, cutoffs, chunk, &mut cursor)?;
        if !deleted.more() {
            return Ok(total);
        }
        total.add(deleted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejections::NewRejection;
    use crate::tests::migrated;
    use ncompass_core::cloudtrax::{parse_report, TimeRules};

    const SAMPLE: &[u8] = ncompass_core::cloudtrax::samples::V1;
    /// The sample's probe requests' last_seen lie in 1455845809..=1455845820.
    const RECEIVED: i64 = 1_455_845_900;

    fn count(conn: &mut Conn, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        diesel::sql_query(format!("SELECT count(*) AS count FROM {table}"))
            .get_result::<Count>(conn)
            .unwrap()
            .count
    }

    #[test]
    fn only_merged_rows_go_then_their_reports_rejections_and_ended_segments() {
        let (_dir, mut conn) = migrated();
        let report =
            parse_report(SAMPLE, &TimeRules::at(ncompass_core::clock::unix_now())).unwrap();
        crate::reports::store(&mut conn, &report, RECEIVED).unwrap();
        crate::rejections::record(
            &mut conn,
            &[NewRejection {
                received_at: RECEIVED,
                status: 422,
                reason: "invalid_report".into(),
                detail: String::new(),
                field: None,
                network_id: None,
                node_mac: None,
                body_prefix: String::new(),
            }],
        )
        .unwrap();
        let everything = Cutoffs {
            probe_requests: Some(RECEIVED + 1),
            presence: None,
        };
        // Not merged into the segments yet: nothing may go.
        let deleted = delete_all(&mut conn, everything, 2).unwrap();
        assert_eq!(deleted.probe_requests, 0);
        assert_eq!(deleted.reports, 0, "the report still has its rows");
        assert_eq!(deleted.rejections, 1);
        while crate::presence::catch_up(&mut conn, 100).unwrap() > 0 {}
        let segments = count(&mut conn, "presence_segments");
        assert_eq!(segments, 5);

        // A cutoff inside the rows' range keeps the newer ones.
        let deleted = delete_all(
            &mut conn,
            Cutoffs {
                probe_requests: Some(1_455_845_817),
                presence: None,
            },
            2,
        )
        .unwrap();
        assert_eq!(deleted.probe_requests, 2, "last_seen 1455845809 and ..811");
        assert_eq!(deleted.reports, 0);
        let deleted = delete_all(&mut conn, everything, 2).unwrap();
        assert_eq!(deleted.probe_requests, 3);
        assert_eq!(deleted.reports, 1);
        assert_eq!(count(&mut conn, "reports"), 0);
        assert_eq!(count(&mut conn, "rejections"), 0);
        // The segments outlive the rows, and the merge watermark fell back with the ids.
        assert_eq!(count(&mut conn, "presence_segments"), segments);
        assert_eq!(crate::presence::watermark(&mut conn).unwrap(), 0);

        // Segments go by their end: the one ending at 1455845820 stays with a cutoff
        // at it, goes one second later.
        let deleted = delete_all(
            &mut conn,
            Cutoffs {
                probe_requests: None,
                presence: Some(1_455_845_820),
            },
            2,
        )
        .unwrap();
        assert_eq!(deleted.presence_segments, 4);
        let deleted = delete_all(
            &mut conn,
            Cutoffs {
                probe_requests: None,
                presence: Some(1_455_845_821),
            },
            2,
        )
        .unwrap();
        assert_eq!(deleted.presence_segments, 1);
        // A new row after everything was deleted is merged again (its id is 1 again).
        crate::reports::store(&mut conn, &report, RECEIVED).unwrap();
        while crate::presence::catch_up(&mut conn, 100).unwrap() > 0 {}
        assert_eq!(count(&mut conn, "presence_segments"), 5);
    }
}
