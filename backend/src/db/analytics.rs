//! What the presence analytics read.

use diesel::prelude::*;

use super::schema::probe_requests;
use crate::analytics::Observation;

/// Every observation with `last_seen >= from` and `first_seen <= to`, of `network_id`
/// and client `mac` (canonical) if given (served by the last_seen index, or the mac
/// index for one device; the caller widens the range by the visit horizon).
pub fn observations(
    conn: &mut SqliteConnection,
    from: i64,
    to: i64,
    network_id: Option<i64>,
    mac: Option<&str>,
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
