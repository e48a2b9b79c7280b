//! What the presence analytics read.

use diesel::prelude::*;

use super::schema::probe_requests;
use crate::analytics::Observation;

/// Every observation with `last_seen >= from` and `first_seen <= to`, of `network_id`
/// and client `mac` (canonical) if given (served by the last_seen index, or the mac
/// index for one device; the caller widens the range by the visit horizon).
/// At most `limit` of them (the caller asks one more to know whether it was reached).
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
        .select((
            p::network_id,
            p::mac,
            p::node_mac,
            p::first_seen,
            p::last_seen,
            p::max_signal,
            p::associated,
            p::randomized,
        ))
        .into_boxed();
    if let Some(network_id) = network_id {
        query = query.filter(p::network_id.eq(network_id));
    }
    if let Some(mac) = mac {
        query = query.filter(p::mac.eq(mac.to_string()));
    }
    type Row = (i64, String, String, i64, i64, i32, bool, bool);
    Ok(query
        .limit(limit)
        .load::<Row>(conn)?
        .into_iter()
        .map(
            |(
                network_id,
                mac,
                node_mac,
                first_seen,
                last_seen,
                max_signal,
                associated,
                randomized,
            )| {
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
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrax::parse_report;
    use crate::db::tests::migrated;

    #[test]
    fn reads_the_range_up_to_the_limit() {
        let (_dir, mut conn) = migrated();
        let report = parse_report(include_bytes!("../../samples/sample-v1.json")).unwrap();
        crate::db::reports::store(&mut conn, &report, 1).unwrap();
        // The sample's last_seen run from 1455845809 to 1455845820.
        assert_eq!(
            observations(&mut conn, 0, i64::MAX, None, None, 100)
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            observations(&mut conn, 0, i64::MAX, None, None, 2)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            observations(&mut conn, 1455845815, i64::MAX, None, None, 100)
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            observations(&mut conn, 0, i64::MAX, Some(1), None, 100)
                .unwrap()
                .len(),
            0
        );
        let one =
            observations(&mut conn, 0, i64::MAX, None, Some("48:5a:3f:37:de:f7"), 100).unwrap();
        assert_eq!((one.len(), one[0].max_signal), (1, -26));
    }
}
