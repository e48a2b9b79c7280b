//! What the presence analytics read and keep: the probe requests as observations, and
//! the presence segments (see [`crate::analytics`]) that the writer keeps up to date in
//! the transaction that stores the rows.

use diesel::prelude::*;

use super::schema::{presence_segments, probe_requests};
use crate::analytics::{self, MacId, Observation, Segment, SEGMENT_GAP_S};
use crate::cloudtrax::Mac;

/// How many probe requests [`rebuild`] reads at a time.
const REBUILD_CHUNK: i64 = 50_000;

/// Every observation with `last_seen >= from` and `first_seen <= to`, of `network_id`
/// and client `mac` (canonical) if given (served by the last_seen index, or the mac
/// index for one device). At most `limit` of them (the caller asks one more to know
/// whether it was reached).
pub fn observations(
    conn: &mut SqliteConnection,
    from: i64,
    to: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Observation>> {
    use probe_requests as p;
    let mut query = p::table
        .filter(p::last_seen.ge(from))
        .filter(p::first_seen.le(to))
        .select(OBSERVATION)
        .into_boxed();
    if let Some(network_id) = network_id {
        query = query.filter(p::network_id.eq(network_id));
    }
    if let Some(mac) = mac {
        query = query.filter(p::mac.eq(mac.to_string()));
    }
    Ok(query
        .limit(limit)
        .load::<ObservationRow>(conn)?
        .into_iter()
        .filter_map(observation)
        .collect())
}

/// The stored segments of the UTC days `first_day..=last_day`, of `network_id` and
/// client `mac` if given; at most `limit`. The table is clustered by day, so a range of
/// days reads one contiguous run of it (one device: its index), one column a row.
pub fn segments(
    conn: &mut SqliteConnection,
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
    conn: &mut SqliteConnection,
    network_id: Option<i64>,
    mac: Option<MacId>,
) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let query = segments_query(0, 1, network_id, mac).limit(1);
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

type SegmentQuery = presence_segments::BoxedQuery<
    'static,
    diesel::sqlite::Sqlite,
    diesel::dsl::SqlTypeOf<presence_segments::segment>,
>;

fn segments_query(
    first_day: i64,
    last_day: i64,
    network_id: Option<i64>,
    mac: Option<MacId>,
) -> SegmentQuery {
    use presence_segments as s;
    let mut query = s::table
        .filter(s::day.between(first_day, last_day))
        .select(s::segment)
        .into_boxed();
    if let Some(network_id) = network_id {
        query = query.filter(s::network_id.eq(network_id));
    }
    if let Some(mac) = mac {
        query = query.filter(s::mac.eq(sql_mac(mac)));
    }
    query
}

/// Merges newly stored observations into the stored segments: each piece of a new
/// observation is joined with every stored segment of its device and day within
/// [`SEGMENT_GAP_S`] (bridging two of them when it falls between), so the stored
/// segments are always those [`analytics::segments`] makes of all the rows, in
/// whatever order the rows arrived. Call it in the transaction that stores them.
pub fn absorb(conn: &mut SqliteConnection, observations: &[Observation]) -> QueryResult<()> {
    use presence_segments as s;
    for piece in analytics::segments(observations, SEGMENT_GAP_S) {
        let device = s::table
            .filter(s::day.eq(piece.day))
            .filter(s::network_id.eq(piece.network_id))
            .filter(s::mac.eq(sql_mac(piece.mac)));
        // The device's segments of the day starting early enough to touch the piece;
        // of those (disjoint, so their ends rise with their starts), the ones that end
        // late enough, latest first.
        let candidates: Vec<Vec<u8>> = device
            .filter(s::first_seen.le(piece.last_seen.saturating_add(SEGMENT_GAP_S)))
            .order(s::first_seen.desc())
            .select(s::segment)
            .load(conn)?;
        let reach = piece.first_seen.saturating_sub(SEGMENT_GAP_S);
        let mut touching = candidates
            .iter()
            .filter_map(|bytes| decode(bytes))
            .take_while(|segment| segment.last_seen >= reach);
        let Some(stored) = touching.next() else {
            diesel::insert_into(s::table)
                .values((
                    s::day.eq(piece.day),
                    s::network_id.eq(piece.network_id),
                    s::mac.eq(sql_mac(piece.mac)),
                    s::first_seen.eq(piece.first_seen),
                    s::segment.eq(encode(&piece)),
                ))
                .execute(conn)?;
            continue;
        };
        let mut merged = stored.clone();
        merged.absorb(piece);
        // Segments the piece bridges: into the latest, and gone.
        let bridged: Vec<i64> = touching
            .map(|segment| {
                let start = segment.first_seen;
                merged.absorb(segment);
                start
            })
            .collect();
        if !bridged.is_empty() {
            diesel::delete(device.filter(s::first_seen.eq_any(bridged))).execute(conn)?;
        }
        // Nothing to write when the piece was covered already; the key only when the
        // start moved.
        if merged != stored {
            diesel::update(device.filter(s::first_seen.eq(stored.first_seen)))
                .set((
                    s::first_seen.eq(merged.first_seen),
                    s::segment.eq(encode(&merged)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Makes the segments anew from every stored probe request, in one transaction, and
/// returns how many rows it read. For a database from before the segments existed, and
/// after a change of [`SEGMENT_GAP_S`].
pub fn rebuild(conn: &mut SqliteConnection) -> QueryResult<u64> {
    use probe_requests as p;
    conn.immediate_transaction(|conn| {
        diesel::delete(presence_segments::table).execute(conn)?;
        let total: i64 = p::table.count().get_result(conn)?;
        let (mut after, mut read) = (0_i64, 0_u64);
        loop {
            let chunk: Vec<(i64, ObservationRow)> = p::table
                .filter(p::id.gt(after))
                .order(p::id)
                .limit(REBUILD_CHUNK)
                .select((p::id, OBSERVATION))
                .load(conn)?;
            let Some((last, _)) = chunk.last() else {
                break;
            };
            after = *last;
            read += chunk.len() as u64;
            let chunk: Vec<Observation> = chunk
                .into_iter()
                .filter_map(|(_, row)| observation(row))
                .collect();
            absorb(conn, &chunk)?;
            tracing::info!(read, total, "rebuilding the presence segments");
        }
        Ok(read)
    })
}

/// Rebuilds the segments when probe requests are stored but no segment is: a database
/// written before they existed. Returns the rows read, if it rebuilt.
pub fn rebuild_if_missing(conn: &mut SqliteConnection) -> QueryResult<Option<u64>> {
    let rows = probe_requests::table
        .select(probe_requests::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    let segments = presence_segments::table
        .select(presence_segments::day)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if rows && !segments {
        rebuild(conn).map(Some)
    } else {
        Ok(None)
    }
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

/// A MAC as the segments table stores it: its 48-bit number (always within i64).
fn sql_mac(mac: MacId) -> i64 {
    i64::try_from(mac & 0xffff_ffff_ffff).unwrap_or_default()
}

/// Bytes of a segment's fixed part: network (8), MAC (6), first and last seen (8 + 8),
/// strongest signal (4), its access point (6) and start (8), flags (1); then 6 bytes
/// per access point.
const FIXED: usize = 49;

/// A segment in the table's `segment` column: little-endian numbers, MACs in 6 bytes.
pub fn encode(segment: &Segment) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED + 6 * segment.nodes.len());
    out.extend_from_slice(&segment.network_id.to_le_bytes());
    out.extend_from_slice(&segment.mac.to_le_bytes()[..6]);
    out.extend_from_slice(&segment.first_seen.to_le_bytes());
    out.extend_from_slice(&segment.last_seen.to_le_bytes());
    out.extend_from_slice(&segment.max_signal.to_le_bytes());
    out.extend_from_slice(&segment.strongest_node.to_le_bytes()[..6]);
    out.extend_from_slice(&segment.strongest_first_seen.to_le_bytes());
    out.push(u8::from(segment.associated) | u8::from(segment.randomized) << 1);
    for node in &segment.nodes {
        out.extend_from_slice(&node.to_le_bytes()[..6]);
    }
    out
}

/// The segment of [`encode`]'s bytes; `None` for bytes it did not write.
pub fn decode(bytes: &[u8]) -> Option<Segment> {
    if bytes.len() < FIXED || (bytes.len() - FIXED) % 6 != 0 {
        return None;
    }
    let int = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let mac = |at: usize| {
        let mut octets = [0; 8];
        octets[..6].copy_from_slice(&bytes[at..at + 6]);
        u64::from_le_bytes(octets)
    };
    let first_seen = int(14);
    Some(Segment {
        network_id: int(0),
        mac: mac(8),
        day: first_seen.div_euclid(86_400),
        first_seen,
        last_seen: int(22),
        max_signal: i32::from_le_bytes(bytes[30..34].try_into().unwrap_or_default()),
        strongest_node: mac(34),
        strongest_first_seen: int(40),
        associated: bytes[48] & 1 != 0,
        randomized: bytes[48] & 2 != 0,
        nodes: (FIXED..bytes.len()).step_by(6).map(mac).collect(),
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{buckets, summary, visits, visits_of_observations, Bucket};
    use crate::analytics::{Days, Thresholds, Visit};
    use crate::cloudtrax::parse_report;
    use crate::db::tests::migrated;
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
    /// access point, in the generated order, then posts the first report again.
    fn store_all(conn: &mut SqliteConnection, seen: &[Seen], chunk: usize) {
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
        for (network, node, probes) in reports.into_iter().chain(again) {
            let body = serde_json::json!({
                "network_id": network, "node_mac": format!("ac:00:00:00:00:{node:02x}"),
                "version": 1, "probe_requests": probes,
            });
            let report = parse_report(body.to_string().as_bytes()).unwrap();
            crate::db::reports::store(conn, &report, T0).unwrap();
        }
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

    /// Network, MAC, start, end, signal, strongest access point, associated, randomized,
    /// access points.
    type Shape = (i64, MacId, i64, i64, i32, MacId, bool, bool, Vec<MacId>);

    /// A visit without its spans (which follow the gap the segments were made at).
    fn shape(visits: &[Visit]) -> Vec<Shape> {
        visits
            .iter()
            .map(|v| {
                (
                    v.network_id,
                    v.mac,
                    v.start,
                    v.end,
                    v.max_signal,
                    v.strongest_node,
                    v.associated,
                    v.randomized,
                    v.nodes.clone(),
                )
            })
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
            visit_gap_s in SEGMENT_GAP_S..1_500,
            visitor_dwell_s in 0i64..900,
        ) {
            let (_dir, mut conn) = migrated();
            store_all(&mut conn, &seen, chunk);
            let rows = observations(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap();
            let kept = sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
            prop_assert_eq!(&kept, &sorted(analytics::segments(&rows, SEGMENT_GAP_S)));

            let t = Thresholds { visit_gap_s, visitor_dwell_s, nearby_signal_dbm: -75 };
            let from_segments = visits(kept.clone(), &t);
            let from_rows = visits_of_observations(&rows, &t);
            prop_assert_eq!(shape(&from_segments), shape(&from_rows));

            let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
            // The whole span (crossing midnight in UTC and in Berlin), and one hour.
            for (since, until) in [(T0, T0 + 12_000), (T0 + 3_000, T0 + 6_600)] {
                let days = Days::new(since, until, &berlin).unwrap();
                for node in [None, Some(number("ac:00:00:00:00:01"))] {
                    prop_assert_eq!(
                        summary(&from_segments, since, until, node, &t, &days),
                        summary(&from_rows, since, until, node, &t, &days)
                    );
                }
                let bounds = buckets(since, until, Bucket::Hour, &berlin).unwrap();
                let days = Days::new(bounds[0].0, bounds.last().unwrap().1 - 1, &berlin).unwrap();
                prop_assert_eq!(
                    analytics::series(&from_segments, &bounds, None, &t, &days),
                    analytics::series(&from_rows, &bounds, None, &t, &days)
                );
            }

            // Rebuilding from the rows gives the same segments.
            rebuild(&mut conn).unwrap();
            let rebuilt = sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
            prop_assert_eq!(kept, rebuilt);
        }
    }

    #[test]
    fn a_database_without_segments_gets_them_at_start_up() {
        let (dir, mut conn) = migrated();
        store_all(
            &mut conn,
            &[
                (1, 0, 0, 60, -70, false),
                (1, 1, 100, 60, -60, true),
                (2, 0, 5_000, 10, -70, false),
            ],
            5,
        );
        let kept = sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
        // Device 1: one segment 0..160 heard by both access points, strongest ac:..:01.
        assert_eq!(kept.len(), 2);
        let one = kept
            .iter()
            .find(|s| s.mac == number(&device_mac(1)))
            .unwrap();
        assert_eq!((one.last_seen - one.first_seen, one.nodes.len()), (160, 2));
        assert_eq!(one.strongest_node, number("ac:00:00:00:00:01"));
        // As written by a version before the segments: rows, no segments.
        diesel::delete(presence_segments::table)
            .execute(&mut conn)
            .unwrap();
        let path = dir.path().join("test.db");
        crate::db::migrate(path.to_str().unwrap()).unwrap();
        let rebuilt =
            sorted(segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap());
        assert_eq!(kept, rebuilt);
        // And nothing to do the next time.
        assert_eq!(rebuild_if_missing(&mut conn).unwrap(), None);
    }

    #[test]
    fn a_range_of_days_reads_only_their_segments() {
        let (_dir, mut conn) = migrated();
        store_all(&mut conn, &[(1, 0, 0, 10, -70, false)], 1);
        for (network_id, mac, access) in [
            (None, None, "PRIMARY KEY (day>? AND day<?)"),
            (Some(1), None, "PRIMARY KEY (day>? AND day<?)"),
            (
                Some(1),
                Some(1),
                "INDEX presence_segments_by_device (mac=? AND network_id=? AND day>? AND day<?)",
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
        let count = |conn: &mut SqliteConnection| {
            segments(conn, i64::MIN, i64::MAX, None, None, i64::MAX)
                .unwrap()
                .len()
        };
        assert_eq!(count(&mut conn), 2);
        store_all(&mut conn, &[(1, 1, 100, 100, -60, false)], 5);
        let one = segments(&mut conn, i64::MIN, i64::MAX, None, None, i64::MAX).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].first_seen, one[0].last_seen), (T0, T0 + 310));
        assert_eq!(
            one[0].nodes,
            [number("ac:00:00:00:00:00"), number("ac:00:00:00:00:01")]
        );
    }
}
