//! What the presence analytics read and keep: the probe requests as observations, and
//! the presence segments (see [`crate::analytics`]) that the writer keeps up to date in
//! the transaction that stores the rows.

use diesel::prelude::*;

use super::schema::{presence_segments, probe_requests};
use crate::analytics::{self, Observation, Segment, SEGMENT_GAP_S};

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
        .map(observation)
        .collect())
}

/// The stored segments of the UTC days `first_day..=last_day`, of `network_id` and
/// client `mac` (canonical) if given; at most `limit`.
pub fn segments(
    conn: &mut SqliteConnection,
    first_day: i64,
    last_day: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Segment>> {
    use presence_segments as s;
    let mut query = s::table
        .filter(s::day.between(first_day, last_day))
        .select(SEGMENT)
        .into_boxed();
    if let Some(network_id) = network_id {
        query = query.filter(s::network_id.eq(network_id));
    }
    if let Some(mac) = mac {
        query = query.filter(s::mac.eq(mac.to_string()));
    }
    Ok(query
        .limit(limit)
        .load::<SegmentRow>(conn)?
        .into_iter()
        .map(segment)
        .collect())
}

/// Merges newly stored observations into the stored segments: each piece of a new
/// observation is joined with every stored segment of its device and day within
/// [`SEGMENT_GAP_S`] (bridging two of them when it falls between), so the stored
/// segments are always those [`analytics::segments`] makes of all the rows, in
/// whatever order the rows arrived. Call it in the transaction that stores them.
pub fn absorb(conn: &mut SqliteConnection, observations: &[Observation]) -> QueryResult<()> {
    use presence_segments as s;
    for mut merged in analytics::segments(observations, SEGMENT_GAP_S) {
        let touching: Vec<(i64, SegmentRow)> = s::table
            .filter(s::network_id.eq(merged.network_id))
            .filter(s::mac.eq(&merged.mac))
            .filter(s::day.eq(merged.day))
            .filter(s::first_seen.le(merged.last_seen.saturating_add(SEGMENT_GAP_S)))
            .filter(s::last_seen.ge(merged.first_seen.saturating_sub(SEGMENT_GAP_S)))
            .select((s::id, SEGMENT))
            .load(conn)?;
        let mut ids = Vec::with_capacity(touching.len());
        for (id, row) in touching {
            merged.absorb(segment(row));
            ids.push(id);
        }
        let node_macs = merged.nodes.join(",");
        let values = (
            s::network_id.eq(merged.network_id),
            s::mac.eq(&merged.mac),
            s::day.eq(merged.day),
            s::first_seen.eq(merged.first_seen),
            s::last_seen.eq(merged.last_seen),
            s::max_signal.eq(merged.max_signal),
            s::strongest_node_mac.eq(&merged.strongest_node),
            s::strongest_first_seen.eq(merged.strongest_first_seen),
            s::associated.eq(merged.associated),
            s::randomized.eq(merged.randomized),
            s::node_macs.eq(&node_macs),
        );
        match ids.split_first() {
            None => {
                diesel::insert_into(s::table).values(values).execute(conn)?;
            }
            Some((keep, rest)) => {
                diesel::update(s::table.find(keep))
                    .set(values)
                    .execute(conn)?;
                if !rest.is_empty() {
                    diesel::delete(s::table.filter(s::id.eq_any(rest))).execute(conn)?;
                }
            }
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
            let chunk: Vec<Observation> =
                chunk.into_iter().map(|(_, row)| observation(row)).collect();
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
        .select(presence_segments::id)
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

fn observation(row: ObservationRow) -> Observation {
    let (network_id, mac, node_mac, first_seen, last_seen, max_signal, associated, randomized) =
        row;
    Observation {
        network_id,
        mac,
        node_mac,
        first_seen,
        last_seen,
        max_signal,
        associated,
        randomized,
    }
}

type SegmentRow = (
    i64,
    String,
    i64,
    i64,
    i64,
    i32,
    String,
    i64,
    bool,
    bool,
    String,
);

const SEGMENT: (
    presence_segments::network_id,
    presence_segments::mac,
    presence_segments::day,
    presence_segments::first_seen,
    presence_segments::last_seen,
    presence_segments::max_signal,
    presence_segments::strongest_node_mac,
    presence_segments::strongest_first_seen,
    presence_segments::associated,
    presence_segments::randomized,
    presence_segments::node_macs,
) = (
    presence_segments::network_id,
    presence_segments::mac,
    presence_segments::day,
    presence_segments::first_seen,
    presence_segments::last_seen,
    presence_segments::max_signal,
    presence_segments::strongest_node_mac,
    presence_segments::strongest_first_seen,
    presence_segments::associated,
    presence_segments::randomized,
    presence_segments::node_macs,
);

fn segment(row: SegmentRow) -> Segment {
    let (
        network_id,
        mac,
        day,
        first_seen,
        last_seen,
        max_signal,
        strongest_node,
        strongest_first_seen,
        associated,
        randomized,
        node_macs,
    ) = row;
    Segment {
        network_id,
        mac,
        day,
        first_seen,
        last_seen,
        max_signal,
        strongest_node,
        strongest_first_seen,
        associated,
        randomized,
        nodes: node_macs.split(',').map(str::to_string).collect(),
    }
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
            (a.network_id, &a.mac, a.day, a.first_seen).cmp(&(
                b.network_id,
                &b.mac,
                b.day,
                b.first_seen,
            ))
        });
        segments
    }

    /// Network, MAC, start, end, signal, strongest access point, associated, randomized,
    /// access points.
    type Shape = (i64, String, i64, i64, i32, String, bool, bool, Vec<String>);

    /// A visit without its spans (which follow the gap the segments were made at).
    fn shape(visits: &[Visit]) -> Vec<Shape> {
        visits
            .iter()
            .map(|v| {
                (
                    v.network_id,
                    v.mac.clone(),
                    v.start,
                    v.end,
                    v.max_signal,
                    v.strongest_node.clone(),
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
                for node in [None, Some("ac:00:00:00:00:01")] {
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
        let one = kept.iter().find(|s| s.mac == device_mac(1)).unwrap();
        assert_eq!((one.last_seen - one.first_seen, one.nodes.len()), (160, 2));
        assert_eq!(one.strongest_node, "ac:00:00:00:00:01");
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
        assert_eq!(one[0].nodes, ["ac:00:00:00:00:00", "ac:00:00:00:00:01"]);
    }
}
