//! What the presence analytics read and keep: the probe requests as observations, and
//! the presence segments (see [`ncompass_core::analytics`]). The writer merges stored rows into
//! the segments whenever it has no report to store ([`catch_up`]), recording how far
//! it got in `presence_progress`; [`presence`] reads a range's segments and merges in
//! the rows past that mark, so the figures are exact however far behind it is.

use crate::placeholders::column;
use crate::segment_codec::{decode, encode, sql_mac};
use diesel::prelude::*;

use super::{Conn, MultiBackend};

use super::schema::{presence_progress, presence_segments, probe_requests};
use ncompass_core::analytics::{
    self, MacId, Observation, Segment, MAX_OBSERVATION_SPAN_S, SEGMENT_GAP_S,
};
use ncompass_core::cloudtrax::Mac;

/// Every observation with `last_seen >= from` and `first_seen <= to`, of `network_id`
/// and client `mac` (canonical) if given (served by the last_seen index, or the mac
/// index for one device). At most `limit` of them (the caller asks one more to know
/// whether it was reached).
pub fn observations(
    conn: &mut Conn,
    from: i64,
    to: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Observation>> {
    observations_after(conn, 0, from, to, network_id, mac, limit)
}

/// The rows with an id above `after_id` that overlap `from..=to`, of `network_id` and
/// client `mac` if given. Bounded on both ends of the last_seen index: an observation
/// that overlaps `from..=to` ends by `to` plus the longest span the analytics take (a
/// longer one, stored before the webhook refused them, counts for its last days only).
fn overlapping<'a>(
    after_id: i64,
    from: i64,
    to: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
) -> probe_requests::BoxedQuery<'a, MultiBackend> {
    use probe_requests as p;
    let mut query = p::table
        .filter(p::last_seen.between(from, to.saturating_add(MAX_OBSERVATION_SPAN_S)))
        .filter(p::first_seen.le(to))
        .into_boxed();
    if after_id > 0 {
        query = query.filter(p::id.gt(after_id));
    }
    if let Some(network_id) = network_id {
        query = query.filter(p::network_id.eq(network_id));
    }
    if let Some(mac) = mac {
        query = query.filter(p::mac.eq(mac.to_string()));
    }
    query
}

/// [`observations`] of the rows with an id above `after_id` only.
fn observations_after(
    conn: &mut Conn,
    after_id: i64,
    from: i64,
    to: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Observation>> {
    Ok(overlapping(after_id, from, to, network_id, mac)
        .select(OBSERVATION)
        .limit(limit)
        .load::<ObservationRow>(conn)?
        .into_iter()
        .filter_map(observation)
        .collect())
}

/// Up to this many rows past the merge mark are read by id (the primary key range) and
/// filtered here; more, through the last_seen index ([`observations_after`]). The writer
/// keeps the backlog near zero, and for a handful of rows past the mark SQLite's planner
/// would still walk every index entry of the range to find them (100 ms over a day of
/// 1M rows, for nothing once the writer has caught up).
const BACKLOG_READ_BY_ID: i64 = 10_000;

/// [`observations_after`] for a small backlog: every row past `after_id`, read by id,
/// those overlapping `from..=to` (of `network_id` and `mac` if given) kept.
fn recent_observations(
    conn: &mut Conn,
    after_id: i64,
    from: i64,
    to: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
) -> QueryResult<Vec<Observation>> {
    let rows = probe_requests::table
        .filter(probe_requests::id.gt(after_id))
        .order(probe_requests::id)
        .limit(BACKLOG_READ_BY_ID.saturating_add(1))
        .select(OBSERVATION)
        .load::<ObservationRow>(conn)?;
    let last = to.saturating_add(MAX_OBSERVATION_SPAN_S);
    let wanted_mac = mac.map(|mac| Mac::parse(mac).map(|mac| mac.to_u64()));
    Ok(rows
        .into_iter()
        .filter_map(observation)
        .filter(|row| (from..=last).contains(&row.last_seen) && row.first_seen <= to)
        .filter(|row| network_id.is_none_or(|id| row.network_id == id))
        .filter(|row| wanted_mac.is_none_or(|wanted| wanted == Some(row.mac)))
        .collect())
}

/// What [`presence`] read.
#[derive(Debug)]
pub enum PresenceRead {
    /// Every segment of the range, stored and pending merged.
    Segments(Vec<Segment>),
    /// More than the limit of stored segments lie in the range.
    TooManySegments,
    /// More than the limit of the range's rows wait to be merged into the segments;
    /// `backlog` rows in all do. Decided from a bounded count, before reading any.
    Merging { backlog: i64 },
}

/// The segments of all stored rows over the UTC days `first_day..=last_day`, of
/// `network_id` and client `mac` if given: the stored segments merged with the rows the
/// writer has not merged yet, read in one snapshot. Refuses (without reading them)
/// when more than `limit` of either would be read.
pub fn presence(
    conn: &mut Conn,
    first_day: i64,
    last_day: i64,
    network_id: Option<i64>,
    mac: Option<MacId>,
    limit: i64,
) -> QueryResult<PresenceRead> {
    // One snapshot: the mark, the segments and the rows past the mark must agree.
    super::read_transaction(conn, |conn| {
        let through = watermark(conn)?;
        let mac_text = mac.map(|mac| Mac::from_u64(mac).canonical());
        let mac_text = mac_text.as_ref().map(|mac| mac.as_str());
        let from = first_day.saturating_mul(86_400);
        let to = last_day.saturating_add(1).saturating_mul(86_400) - 1;
        // Right after a large import the rows past the mark can be millions: count
        // (at most limit + 1 of) those in range before loading any.
        let backlog = backlog(conn)?;
        if backlog > limit
            && pending_at_least(conn, through, from, to, network_id, mac_text, limit)? > limit
        {
            return Ok(PresenceRead::Merging { backlog });
        }
        let stored = segments(
            conn,
            first_day,
            last_day,
            network_id,
            mac,
            limit.saturating_add(1),
        )?;
        if i64::try_from(stored.len()).unwrap_or(i64::MAX) > limit {
            return Ok(PresenceRead::TooManySegments);
        }
        let pending = match backlog {
            0 => Vec::new(),
            1..=BACKLOG_READ_BY_ID => {
                recent_observations(conn, through, from, to, network_id, mac_text)?
            }
            _ => observations_after(
                conn,
                through,
                from,
                to,
                network_id,
                mac_text,
                limit.saturating_add(1),
            )?,
        };
        if i64::try_from(pending.len()).unwrap_or(i64::MAX) > limit {
            return Ok(PresenceRead::Merging { backlog });
        }
        if pending.is_empty() {
            return Ok(PresenceRead::Segments(stored));
        }
        let mut pieces = analytics::segments(&pending, SEGMENT_GAP_S);
        pieces.retain(|piece| (first_day..=last_day).contains(&piece.day));
        pieces.extend(stored);
        Ok(PresenceRead::Segments(analytics::merge(
            pieces,
            SEGMENT_GAP_S,
        )))
    })
}

/// At least how many rows past `after_id` overlap `from..=to` (of `network_id` and
/// `mac` if given), counting no further than `limit + 1`. An upper bound, read from a
/// covering index alone (no row is fetched): it leaves out the `first_seen` condition,
/// so rows that begin after `to` within the longest span count too. 3M rows waiting,
/// 1M counted: about 0.1-0.2 s here, where loading them took 1.2 s.
fn pending_at_least(
    conn: &mut Conn,
    after_id: i64,
    from: i64,
    to: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
    limit: i64,
) -> QueryResult<i64> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        rows: i64,
    }
    let placeholders = super::Placeholders::of(conn);
    let mut query = diesel::sql_query(pending_count_sql(
        placeholders,
        network_id.is_some(),
        mac.is_some(),
    ))
    .into_boxed::<MultiBackend>()
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to.saturating_add(MAX_OBSERVATION_SPAN_S))
    .bind::<BigInt, _>(after_id);
    if let Some(network_id) = network_id {
        query = query.bind::<BigInt, _>(network_id);
    }
    if let Some(mac) = mac {
        query = query.bind::<Text, _>(mac.to_string());
    }
    Ok(query
        .bind::<BigInt, _>(limit.saturating_add(1))
        .get_result::<Count>(conn)?
        .rows)
}

/// The SQL of [`pending_at_least`]: binds from, to, after_id, then network_id and mac
/// when filtered by, then the limit.
fn pending_count_sql(mut bind: super::Placeholders, network_id: bool, mac: bool) -> String {
    let mut sql = format!(
        "SELECT count(*) AS rows FROM (SELECT 1 FROM probe_requests \
         WHERE last_seen BETWEEN {} AND {} AND id > {}",
        bind.next(),
        bind.next(),
        bind.next()
    );
    if network_id {
        sql.push_str(&format!(" AND network_id = {}", bind.next()));
    }
    if mac {
        sql.push_str(&format!(" AND mac = {}", bind.next()));
    }
    sql.push_str(&format!(" LIMIT {}) AS pending", bind.next()));
    sql
}

/// The last probe request id merged into the segments.
pub fn watermark(conn: &mut Conn) -> QueryResult<i64> {
    presence_progress::table
        .select(presence_progress::through_id)
        .first(conn)
}

/// Merges up to `limit` rows past the watermark into the segments and moves the mark,
/// in one transaction; returns how many it merged (0: caught up, or on PostgreSQL
/// another instance is merging). The writer calls it whenever its queue is empty, a
/// chunk at a time, so a report that arrives waits for one chunk at most.
///
/// On PostgreSQL several instances insert at once, and a row can commit after a row
/// with a higher id: merging by id alone would pass it by for ever. So each chunk stops
/// at a *horizon*, an id below which every row has committed ([`safe_horizon`]), and
/// one instance merges at a time (an advisory lock).
pub fn catch_up(conn: &mut Conn, limit: i64) -> QueryResult<usize> {
    let horizon = match conn {
        Conn::Sqlite(_) => i64::MAX,
        Conn::Postgres(_) => match safe_horizon(conn)? {
            Some(horizon) => horizon,
            None => return Ok(0),
        },
    };
    use probe_requests as p;
    super::write_transaction(conn, |conn| {
        if let Conn::Postgres(pg) = conn {
            let merging_here: bool =
                diesel::select(pg_try_advisory_xact_lock(crate::locks::PRESENCE_MERGE))
                    .get_result(pg)?;
            if !merging_here {
                return Ok(0);
            }
        }
        // An erasure committing while this merge reads would leave segments of the rows
        // it deletes: it waits for this (and this for it), as a batch of reports does.
        super::opt_outs::hold_list_shared(conn)?;
        let through = watermark(conn)?;
        let rows: Vec<(i64, ObservationRow)> = p::table
            .filter(p::id.gt(through))
            .filter(p::id.le(horizon))
            .order(p::id)
            .limit(limit)
            .select((p::id, OBSERVATION))
            .load(conn)?;
        let Some((last, _)) = rows.last() else {
            return Ok(0);
        };
        let last = *last;
        let merged = rows.len();
        let rows: Vec<Observation> = rows
            .into_iter()
            .filter_map(|(_, row)| observation(row))
            .collect();
        absorb(conn, &rows)?;
        diesel::update(presence_progress::table)
            .set(presence_progress::through_id.eq(last))
            .execute(conn)?;
        Ok(merged)
    })
}

diesel::define_sql_function! {
    fn pg_try_advisory_xact_lock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}

/// On PostgreSQL: the highest id such that every row with an id up to it has
/// committed (or never will); `None` when no row waits or another instance merges.
/// `LOCK ... IN SHARE MODE` waits for the transactions inserting right now (each holds
/// ROW EXCLUSIVE from its first insert), for as long as the connection's lock wait;
/// once granted, no insert is in flight, and every later one takes an id above the
/// highest visible. It is asked only by the instance holding the merge lock, only when
/// rows wait, and released at once: inserts queue behind it for milliseconds.
fn safe_horizon(conn: &mut Conn) -> QueryResult<Option<i64>> {
    use diesel::connection::SimpleConnection;
    if backlog(conn)? == 0 {
        return Ok(None);
    }
    super::write_transaction(conn, |conn| {
        if let Conn::Postgres(pg) = conn {
            let merging_here: bool =
                diesel::select(pg_try_advisory_xact_lock(crate::locks::PRESENCE_MERGE))
                    .get_result(pg)?;
            if !merging_here {
                return Ok(None);
            }
        }
        conn.batch_execute("LOCK TABLE probe_requests IN SHARE MODE")?;
        let newest: Option<i64> = probe_requests::table
            .select(probe_requests::id)
            .order(probe_requests::id.desc())
            .first(conn)
            .optional()?;
        Ok(Some(newest.unwrap_or(0)))
    })
}

/// How many probe requests wait to be merged into the segments.
pub fn backlog(conn: &mut Conn) -> QueryResult<i64> {
    let newest: Option<i64> = probe_requests::table
        .select(probe_requests::id)
        .order(probe_requests::id.desc())
        .first(conn)
        .optional()?;
    Ok(newest.unwrap_or(0).saturating_sub(watermark(conn)?).max(0))
}

/// The stored segments of the UTC days `first_day..=last_day`, of `network_id` and
/// client `mac` if given; at most `limit`. The table is clustered by day, so a range of
/// days reads one contiguous run of it (one device: one seek a day), one column a row.
pub fn segments(
    conn: &mut Conn,
    first_day: i64,
    last_day: i64,
    network_id: Option<i64>,
    mac: Option<MacId>,
    limit: i64,
) -> QueryResult<Vec<Segment>> {
    let rows = segments_query(first_day, last_day, network_id, mac)
        .limit(limit)
        .load::<Vec<u8>>(conn)?;
    Ok(rows.iter().filter_map(|bytes| decode(bytes)).collect())
}

/// SQLite's plan for [`segments`] (`EXPLAIN QUERY PLAN`), one step a line, after the
/// SQL: for the benchmark's record and the test that keeps it on the key.
pub fn segments_plan(
    conn: &mut Conn,
    network_id: Option<i64>,
    mac: Option<MacId>,
) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let Conn::Sqlite(conn) = conn else {
        return Err(diesel::result::Error::QueryBuilderError(
            "query plans are read from SQLite only".into(),
        ));
    };
    let query = sqlite_segments_query(0, 1, network_id, mac).limit(1);
    let debug = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
    // Without the "-- binds: [...]" suffix; unbound parameters don't change a plan.
    let sql = debug
        .split(" -- binds:")
        .next()
        .unwrap_or_default()
        .to_string();
    let steps = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load::<Step>(conn)?;
    let steps: Vec<String> = steps.into_iter().map(|step| step.detail).collect();
    Ok(format!("{sql}\n{}", steps.join("\n")))
}

/// The segments' query for backend `$db`: [`MultiBackend`] to read, SQLite's own for
/// [`segments_plan`].
macro_rules! segments_query_builder {
    ($name:ident, $db:ty) => {
        fn $name(
            first_day: i64,
            last_day: i64,
            network_id: Option<i64>,
            mac: Option<MacId>,
        ) -> presence_segments::BoxedQuery<
            'static,
            $db,
            diesel::dsl::SqlTypeOf<presence_segments::segment>,
        > {
            use presence_segments as s;
            let mut query = s::table.select(s::segment).into_boxed();
            query = match (network_id, mac) {
                // One device: a seek to its key prefix in each day (the range is 33 days at
                // most) instead of a walk through the days.
                (Some(network_id), Some(mac)) => query
                    .filter(s::day.eq_any((first_day..=last_day).collect::<Vec<_>>()))
                    .filter(s::network_id.eq(network_id))
                    .filter(s::mac.eq(sql_mac(mac))),
                (network_id, mac) => {
                    query = query.filter(s::day.between(first_day, last_day));
                    if let Some(network_id) = network_id {
                        query = query.filter(s::network_id.eq(network_id));
                    }
                    if let Some(mac) = mac {
                        query = query.filter(s::mac.eq(sql_mac(mac)));
                    }
                    query
                }
            };
            query
        }
    };
}

segments_query_builder!(segments_query, MultiBackend);
segments_query_builder!(sqlite_segments_query, diesel::sqlite::Sqlite);

/// Merges observations into the stored segments: the stored segments of every device
/// and day the observations touch are read in one go, merged with the observations'
/// pieces in memory ([`analytics::merge`], the same function the figures use), and
/// only what changed is written back (a segment grown under its key updated, one
/// bridged or whose start moved deleted, a new one or one under its new start
/// inserted). So the stored segments are always those
/// [`analytics::segments`] makes of all the rows merged, in whatever order they
/// arrived, and a chunk costs a few statements on PostgreSQL, not two a device (most
/// clients of a busy venue are new devices: one segment each).
fn absorb(conn: &mut Conn, observations: &[Observation]) -> QueryResult<()> {
    let pieces = analytics::segments(observations, SEGMENT_GAP_S);
    let mut devices: Vec<DeviceDay> = pieces
        .iter()
        .map(|piece| DeviceDay {
            day: piece.day,
            network_id: piece.network_id,
            mac: sql_mac(piece.mac),
        })
        .collect();
    devices.sort_unstable();
    devices.dedup();
    let stored = stored_segments(conn, &devices)?;
    // Stored segments not matched (yet) by a merged one of the same key and content.
    let mut stale: std::collections::HashMap<SegmentKey, Segment> = stored
        .iter()
        .map(|segment| (SegmentKey::of(segment), segment.clone()))
        .collect();
    let mut changes = Changes::default();
    for segment in analytics::merge(stored.into_iter().chain(pieces).collect(), SEGMENT_GAP_S) {
        let key = SegmentKey::of(&segment);
        match stale.remove(&key) {
            Some(before) if before == segment => {}
            // Same key, more heard (a returning device's segment grown at its end): an
            // update in place, which PostgreSQL makes without touching an index.
            Some(_) => changes.updates.push((key, segment)),
            None => changes.inserts.push((key, segment)),
        }
    }
    // Left: stored segments bridged into another, or whose start moved (their content
    // is inserted under the new key).
    changes.deletes = stale.into_keys().collect();
    // In the table's key order: neighbouring segments land on the same pages.
    changes.deletes.sort_unstable();
    changes.updates.sort_unstable_by_key(|(key, _)| *key);
    changes.inserts.sort_unstable_by_key(|(key, _)| *key);
    write_changes(conn, &changes)
}

/// What a merge chunk writes back to `presence_segments`.
#[derive(Default)]
struct Changes {
    deletes: Vec<SegmentKey>,
    updates: Vec<(SegmentKey, Segment)>,
    inserts: Vec<(SegmentKey, Segment)>,
}

/// A device's day: the key prefix of its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct DeviceDay {
    day: i64,
    network_id: i64,
    mac: i64,
}

/// The key of a stored segment, in the table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct SegmentKey {
    day: i64,
    network_id: i64,
    mac: i64,
    first_seen: i64,
}

impl SegmentKey {
    fn of(segment: &Segment) -> SegmentKey {
        SegmentKey {
            day: segment.day,
            network_id: segment.network_id,
            mac: sql_mac(segment.mac),
            first_seen: segment.first_seen,
        }
    }
}

/// Rows a PostgreSQL insert of [`write_changes`] writes (5 binds each).
const POSTGRES_SEGMENTS_PER_INSERT: usize = 2_000;

/// Every stored segment of `devices`: on SQLite a lookup a device (local, prepared
/// once), on PostgreSQL one query for them all (a round trip costs more than a lookup).
fn stored_segments(conn: &mut Conn, devices: &[DeviceDay]) -> QueryResult<Vec<Segment>> {
    use presence_segments as s;
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    match conn {
        Conn::Sqlite(conn) => {
            for device in devices {
                blobs.extend(
                    s::table
                        .filter(s::day.eq(device.day))
                        .filter(s::network_id.eq(device.network_id))
                        .filter(s::mac.eq(device.mac))
                        .select(s::segment)
                        .load::<Vec<u8>>(conn)?,
                );
            }
        }
        Conn::Postgres(conn) => {
            use diesel::sql_types::{Array, BigInt, Binary};
            #[derive(QueryableByName)]
            struct Blob {
                #[diesel(sql_type = Binary)]
                segment: Vec<u8>,
            }
            blobs = diesel::sql_query(
                "SELECT s.segment FROM unnest($1::int8[], $2::int8[], $3::int8[]) \
                 AS k(day, network_id, mac) JOIN presence_segments s \
                 ON s.day = k.day AND s.network_id = k.network_id AND s.mac = k.mac",
            )
            .bind::<Array<BigInt>, _>(column(devices, |d| d.day))
            .bind::<Array<BigInt>, _>(column(devices, |d| d.network_id))
            .bind::<Array<BigInt>, _>(column(devices, |d| d.mac))
            .load::<Blob>(conn)?
            .into_iter()
            .map(|blob| blob.segment)
            .collect();
        }
    }
    Ok(blobs.iter().filter_map(|bytes| decode(bytes)).collect())
}

/// Writes `changes`: deletes first (an insert may take a deleted segment's key), then
/// updates and inserts. On SQLite a prepared statement a row (local calls); on
/// PostgreSQL one statement for the deletes, one for the updates, and one per
/// [`POSTGRES_SEGMENTS_PER_INSERT`] inserts.
fn write_changes(conn: &mut Conn, changes: &Changes) -> QueryResult<()> {
    use presence_segments as s;
    let row = |(key, segment): &(SegmentKey, Segment)| {
        (
            s::day.eq(key.day),
            s::network_id.eq(key.network_id),
            s::mac.eq(key.mac),
            s::first_seen.eq(key.first_seen),
            s::segment.eq(encode(segment)),
        )
    };
    match conn {
        Conn::Sqlite(conn) => {
            let keyed = |key: &SegmentKey| {
                s::table
                    .filter(s::day.eq(key.day))
                    .filter(s::network_id.eq(key.network_id))
                    .filter(s::mac.eq(key.mac))
                    .filter(s::first_seen.eq(key.first_seen))
            };
            for key in &changes.deletes {
                diesel::delete(keyed(key)).execute(conn)?;
            }
            for (key, segment) in &changes.updates {
                diesel::update(keyed(key))
                    .set(s::segment.eq(encode(segment)))
                    .execute(conn)?;
            }
            for insert in &changes.inserts {
                diesel::insert_into(s::table)
                    .values(row(insert))
                    .execute(conn)?;
            }
        }
        Conn::Postgres(conn) => {
            use diesel::sql_types::{Array, BigInt, Binary};
            let deletes = &changes.deletes;
            if !deletes.is_empty() {
                diesel::sql_query(
                    "DELETE FROM presence_segments s \
                     USING unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[]) \
                     AS k(day, network_id, mac, first_seen) \
                     WHERE s.day = k.day AND s.network_id = k.network_id \
                     AND s.mac = k.mac AND s.first_seen = k.first_seen",
                )
                .bind::<Array<BigInt>, _>(column(deletes, |k| k.day))
                .bind::<Array<BigInt>, _>(column(deletes, |k| k.network_id))
                .bind::<Array<BigInt>, _>(column(deletes, |k| k.mac))
                .bind::<Array<BigInt>, _>(column(deletes, |k| k.first_seen))
                .execute(conn)?;
            }
            let updates = &changes.updates;
            if !updates.is_empty() {
                diesel::sql_query(
                    "UPDATE presence_segments s SET segment = k.segment \
                     FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::bytea[]) \
                     AS k(day, network_id, mac, first_seen, segment) \
                     WHERE s.day = k.day AND s.network_id = k.network_id \
                     AND s.mac = k.mac AND s.first_seen = k.first_seen",
                )
                .bind::<Array<BigInt>, _>(column(updates, |(k, _)| k.day))
                .bind::<Array<BigInt>, _>(column(updates, |(k, _)| k.network_id))
                .bind::<Array<BigInt>, _>(column(updates, |(k, _)| k.mac))
                .bind::<Array<BigInt>, _>(column(updates, |(k, _)| k.first_seen))
                .bind::<Array<Binary>, _>(column(updates, |(_, segment)| encode(segment)))
                .execute(conn)?;
            }
            for chunk in changes.inserts.chunks(POSTGRES_SEGMENTS_PER_INSERT) {
                diesel::insert_into(s::table)
                    .values(chunk.iter().map(row).collect::<Vec<_>>())
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Forgets the segments, so the writer merges every row into them again when idle:
/// after a change of [`SEGMENT_GAP_S`] or of the blob layout. The figures read the
/// rows meanwhile (the same as `DELETE FROM presence_segments; UPDATE presence_progress
/// SET through_id = 0` in one transaction).
pub fn reset(conn: &mut Conn) -> QueryResult<()> {
    super::write_transaction(conn, |conn| {
        diesel::delete(presence_segments::table).execute(conn)?;
        diesel::update(presence_progress::table)
            .set(presence_progress::through_id.eq(0))
            .execute(conn)?;
        Ok(())
    })
}

type ObservationRow = (i64, String, String, i64, i64, i32, bool, bool);

const OBSERVATION: (
    probe_requests::network_id,
    probe_requests::mac,
    probe_requests::node_mac,
    probe_requests::first_seen,
    probe_requests::last_seen,
    probe_requests::max_signal,
    probe_requests::associated,
    probe_requests::randomized,
) = (
    probe_requests::network_id,
    probe_requests::mac,
    probe_requests::node_mac,
    probe_requests::first_seen,
    probe_requests::last_seen,
    probe_requests::max_signal,
    probe_requests::associated,
    probe_requests::randomized,
);

/// The row as an observation; `None` for a MAC that is not canonical text, which the
/// writer never stores.
fn observation(row: ObservationRow) -> Option<Observation> {
    let (network_id, mac, node_mac, first_seen, last_seen, max_signal, associated, randomized) =
        row;
    Some(Observation {
        network_id,
        mac: Mac::parse(&mac)?.to_u64(),
        node_mac: Mac::parse(&node_mac)?.to_u64(),
        first_seen,
        last_seen,
        max_signal,
        associated,
        randomized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;
    use ncompass_core::analytics::Heard;
    use ncompass_core::analytics::{buckets, summary, visits, visits_of_observations, Bucket};
    use ncompass_core::analytics::{Days, Thresholds, Visit};
    use ncompass_core::cloudtrax::{parse_report, TimeRules};
    use proptest::prelude::*;

    /// An hour before a UTC midnight (2025-11-26 00:00 UTC).
    const T0: i64 = 1_764_115_200 - 3_600;

    /// A generated observation: device, access point, start (s after T0), length (s),
    /// signal, associated.
    type Seen = (u8, u8, u16, u16, i8, bool);

    fn number(mac: &str) -> MacId {
        Mac::parse(mac).unwrap().to_u64()
    }

    fn device_mac(device: u8) -> String {
        // Every third device randomized (locally administered).
        let first = if device % 3 == 0 { 0x02 } else { 0x00 };
        format!("{first:02x}:00:00:00:00:{device:02x}")
    }

    /// Stores the observations as reports of at most `chunk` probe requests of one
    /// access point, in the generated order, then posts the first report again; 1 to 4
    /// reports a transaction.
    fn store_all(conn: &mut Conn, seen: &[Seen], chunk: usize) {
        let mut reports: Vec<(u8, u8, Vec<serde_json::Value>)> = Vec::new();
        for &(device, node, start, length, signal, associated) in seen {
            let network = device % 2;
            let first_seen = T0 + i64::from(start);
            let probe = serde_json::json!({
                "mac": device_mac(device), "count": 1,
                "min_signal": signal, "max_signal": signal, "avg_signal": signal,
                "first_seen": first_seen, "last_seen": first_seen + i64::from(length),
                "associated": associated,
            });
            match reports.last_mut() {
                Some((n, a, probes)) if (*n, *a) == (network, node) && probes.len() < chunk => {
                    probes.push(probe)
                }
                _ => reports.push((network, node, vec![probe])),
            }
        }
        let again = reports.first().cloned();
        let reports: Vec<_> = reports
            .into_iter()
            .chain(again)
            .map(|(network, node, probes)| {
                let body = serde_json::json!({
                    "network_id": network, "node_mac": format!("ac:00:00:00:00:{node:02x}"),
                    "version": 1, "probe_requests": probes,
                });
                parse_report(
                    body.to_string().as_bytes(),
                    &TimeRules::at(ncompass_core::clock::unix_now()),
                )
                .unwrap()
            })
            .collect();
        // Committed as the writer does, several reports a transaction (1 to 4).
        for batch in reports.chunks(chunk % 4 + 1) {
            let batch: Vec<_> = batch.iter().map(|report| (report, T0)).collect();
            crate::write_transaction(conn, |conn| {
                crate::reports::store_in_transaction(conn, &batch)
            })
            .unwrap();
        }
    }

    #[test]
    fn a_range_over_the_limit_is_refused_before_its_rows_are_loaded() {
        let (_dir, mut conn) = migrated();
        let seen: Vec<Seen> = (0..6)
            .map(|device| (device, 0, 100, 30, -60, false))
            .collect();
        store_all(&mut conn, &seen, 1);
        let (first_day, last_day) = (T0 / 86_400 - 1, T0 / 86_400 + 2);
        // Six rows wait to be merged, the limit is three: refused from the count.
        match presence(&mut conn, first_day, last_day, None, None, 3).unwrap() {
            PresenceRead::Merging { backlog } => assert_eq!(backlog, 6),
            other => panic!("expected Merging, got {other:?}"),
        }
        // A scope with few enough pending rows is answered although the backlog is large.
        match presence(&mut conn, first_day, last_day, Some(0), None, 3).unwrap() {
            PresenceRead::Segments(segments) => assert_eq!(segments.len(), 3),
            other => panic!("expected segments, got {other:?}"),
        }
        caught_up(&mut conn);
        match presence(&mut conn, first_day, last_day, None, None, 3).unwrap() {
            PresenceRead::TooManySegments => {}
            other => panic!("expected TooManySegments, got {other:?}"),
        }
        match presence(&mut conn, first_day, last_day, None, None, 6).unwrap() {
            PresenceRead::Segments(segments) => assert_eq!(segments.len(), 6),
            other => panic!("expected segments, got {other:?}"),
        }
    }

    #[test]
    fn the_pending_count_reads_a_covering_index_only() {
        #[derive(QueryableByName)]
        struct Step {
            #[diesel(sql_type = diesel::sql_types::Text)]
            detail: String,
        }
        let (_dir, mut conn) = migrated();
        for (network_id, mac) in [(false, false), (true, false), (false, true)] {
            let sql = pending_count_sql(crate::Placeholders::of(&conn), network_id, mac);
            let plan: Vec<String> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<Step>(&mut conn)
                .unwrap()
                .into_iter()
                .map(|step| step.detail)
                .collect();
            assert!(
                plan.iter()
                    .any(|step| step.contains("USING COVERING INDEX")),
                "{sql}: {plan:?}"
            );
        }
    }

    /// Merges every waiting row, 7 at a time.
    fn caught_up(conn: &mut Conn) {
        while catch_up(conn, 7).unwrap() > 0 {}
    }

    fn sorted(mut segments: Vec<Segment>) -> Vec<Segment> {
        segments.sort_by(|a, b| {
            (a.network_id, a.mac, a.day, a.first_seen).cmp(&(
                b.network_id,
                b.mac,
                b.day,
                b.first_seen,
            ))
        });
        segments
    }

    /// Network, MAC, start, end and what was heard.
    type Shape = (i64, MacId, i64, i64, Heard);

    /// A visit without its spans (which follow the gap the segments were made at).
    fn shape(visits: &[Visit]) -> Vec<Shape> {
        visits
            .iter()
            .map(|v| (v.network_id, v.mac, v.start, v.end, v.heard.clone()))
            .collect()
    }

    fn seen() -> impl Strategy<Value = Seen> {
        (
            0u8..6,
            0u8..3,
            0u16..9_000,
            0u16..400,
            -80i8..-70,
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The segments kept at ingestion, whatever order and grouping the rows come
        /// in, are those made from all the stored rows at once; and the figures from
        /// them agree with the figures computed from the rows for every visit gap the
        /// segments serve.
        #[test]
        fn kept_segments_agree_with_a_full_recomputation(
            seen in proptest::collection::vec(seen(), 1..80),
            chunk in 1usize..12,
            merged_first in 0i64..100,
            visit_gap_s in SEGMENT_GAP_S..1_500,
            visitor_dwell_s in 0i64..900,
        ) {
            let (_dir, mut conn) = migrated();
            store_all(&mut conn, &seen, chunk);
            let rows = observations(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap();
            let full = sorted(analytics::segments(&rows, SEGMENT_GAP_S));
            // Partly merged: what the analytics read is already every row's segments.
            catch_up(&mut conn, merged_first).unwrap();
            // The rows past the mark, read by id (a small backlog) or through the
            // last_seen index (a large one): the same observations.
            let through = watermark(&mut conn).unwrap();
            let key = |row: &Observation| (row.network_id, row.mac, row.node_mac, row.first_seen, row.last_seen);
            for (from, to) in [(T0, T0 + 3_600), (T0 + 3_000, T0 + 12_000)] {
                for network_id in [None, Some(1)] {
                    for mac in [None, Some(device_mac(1))] {
                        let mut by_id = recent_observations(&mut conn, through, from, to, network_id, mac.as_deref()).unwrap();
                        let mut by_index = observations_after(&mut conn, through, from, to, network_id, mac.as_deref(), i64::MAX).unwrap();
                        by_id.sort_by_key(key);
                        by_index.sort_by_key(key);
                        prop_assert_eq!(by_id, by_index);
                    }
                }
            }
            let read = presence(&mut conn, 0, i64::MAX / 86_400 - 1, None, None, i64::MAX).unwrap();
            let PresenceRead::Segments(read) = read else { panic!("refused: {read:?}") };
            prop_assert_eq!(&sorted(read), &full);
            // Caught up (in small chunks, as the writer does): the stored ones are too.
            caught_up(&mut conn);
            let kept = sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
            prop_assert_eq!(&kept, &full);

            let t = Thresholds { visit_gap_s, visitor_dwell_s, nearby_signal_dbm: -75 };
            let from_segments = visits(kept.clone(), &t);
            let from_rows = visits_of_observations(&rows, &t);
            prop_assert_eq!(shape(&from_segments), shape(&from_rows));

            let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
            // The whole span (crossing midnight in UTC and in Berlin), and one hour.
            for (since, until) in [(T0, T0 + 12_000), (T0 + 3_000, T0 + 6_600)] {
                let days = Days::new(since, until, &berlin).unwrap();
                let one = [number("ac:00:00:00:00:01")];
                let always = analytics::OpenTimes::always();
                for nodes in [None, Some(&one[..])] {
                    let counting = analytics::Counting { nodes, thresholds: &t, days: &days, open: &always };
                    prop_assert_eq!(
                        summary(&from_segments, since, until, &counting),
                        summary(&from_rows, since, until, &counting)
                    );
                }
                let bounds = buckets(since, until, Bucket::Hour, &berlin).unwrap();
                let days = Days::new(bounds[0].0, bounds.last().unwrap().1 - 1, &berlin).unwrap();
                let counting = analytics::Counting { nodes: None, thresholds: &t, days: &days, open: &always };
                prop_assert_eq!(
                    analytics::series(&from_segments, &bounds, &counting),
                    analytics::series(&from_rows, &bounds, &counting)
                );
            }

            // Merged anew from the rows: the same segments.
            reset(&mut conn).unwrap();
            caught_up(&mut conn);
            let rebuilt = sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
            prop_assert_eq!(kept, rebuilt);
        }
    }

    /// The merge on PostgreSQL (its reads and writes are its own statements): the kept
    /// segments are every row's segments, however the rows were chunked and merged.
    #[test]
    #[ignore = "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored"]
    fn postgres_kept_segments_agree_with_a_full_recomputation() {
        use diesel::connection::SimpleConnection;
        let url = crate::tests::postgres_database("presence_merge");
        crate::migrate(&url).unwrap();
        // The runner takes a `Fn`: the one connection is borrowed per case.
        let conn = std::cell::RefCell::new(crate::connect(&url).unwrap());
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 24,
            ..ProptestConfig::default()
        });
        let cases = (
            proptest::collection::vec(seen(), 1..80),
            1usize..12,
            0i64..100,
        );
        runner
            .run(&cases, |(seen, chunk, merged_first)| {
                let conn = &mut *conn.borrow_mut();
                conn.batch_execute(
                    "TRUNCATE probe_requests, reports, presence_segments CASCADE; \
                     UPDATE presence_progress SET through_id = 0",
                )
                .unwrap();
                store_all(conn, &seen, chunk);
                let rows = observations(conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap();
                let full = sorted(analytics::segments(&rows, SEGMENT_GAP_S));
                catch_up(conn, merged_first).unwrap();
                caught_up(conn);
                let kept =
                    sorted(segments(conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
                prop_assert_eq!(kept, full);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_database_from_before_the_segments_catches_up() {
        let (_dir, mut conn) = migrated();
        store_all(
            &mut conn,
            &[
                (1, 0, 0, 60, -70, false),
                (1, 1, 100, 60, -60, true),
                (2, 0, 5_000, 10, -70, false),
            ],
            5,
        );
        // Rows and nothing merged yet, as a database from before the segments.
        assert_eq!(backlog(&mut conn).unwrap(), 3);
        caught_up(&mut conn);
        assert_eq!(backlog(&mut conn).unwrap(), 0);
        let kept = sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
        // Device 1: one segment 0..160 heard by both access points, strongest ac:..:01.
        assert_eq!(kept.len(), 2);
        let one = kept
            .iter()
            .find(|s| s.mac == number(&device_mac(1)))
            .unwrap();
        assert_eq!(
            (one.last_seen - one.first_seen, one.heard.nodes.len()),
            (160, 2)
        );
        assert_eq!(one.heard.strongest_node, number("ac:00:00:00:00:01"));
        // Rebuilt from the rows: the same.
        reset(&mut conn).unwrap();
        assert_eq!(backlog(&mut conn).unwrap(), 3);
        caught_up(&mut conn);
        let rebuilt =
            sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
        assert_eq!(kept, rebuilt);
        // And nothing to do the next time.
        assert_eq!(catch_up(&mut conn, 10).unwrap(), 0);
    }

    #[test]
    fn a_range_of_days_reads_only_their_segments() {
        let (_dir, mut conn) = migrated();
        store_all(&mut conn, &[(1, 0, 0, 10, -70, false)], 1);
        for (network_id, mac, access) in [
            (None, None, "PRIMARY KEY (day>? AND day<?)"),
            (Some(1), None, "PRIMARY KEY (day>? AND day<?)"),
            // One device: its own index (which ends with the key), a seek per day.
            (
                Some(1),
                Some(1),
                "INDEX presence_segments_by_mac (mac=? AND day=? AND network_id=?)",
            ),
        ] {
            let plan = segments_plan(&mut conn, network_id, mac).unwrap();
            assert!(
                plan.contains(&format!("SEARCH presence_segments USING {access}")),
                "{plan}"
            );
        }
    }

    #[test]
    fn a_late_observation_bridges_two_segments() {
        let (_dir, mut conn) = migrated();
        // 0..10 and 300..310 are 290 s apart: two segments. Then 100..200 arrives: it
        // is within 120 s of both, so the three are one segment 0..310.
        store_all(
            &mut conn,
            &[(1, 0, 0, 10, -70, false), (1, 0, 300, 10, -70, false)],
            5,
        );
        caught_up(&mut conn);
        let count = |conn: &mut Conn| {
            segments(conn, i64::MIN, i64::MAX, None, None, i64::MAX)
                .unwrap()
                .len()
        };
        assert_eq!(count(&mut conn), 2);
        store_all(&mut conn, &[(1, 1, 100, 100, -60, false)], 5);
        caught_up(&mut conn);
        let one = segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].first_seen, one[0].last_seen), (T0, T0 + 310));
        assert_eq!(
            one[0].heard.nodes,
            [number("ac:00:00:00:00:00"), number("ac:00:00:00:00:01")]
        );
    }
}
