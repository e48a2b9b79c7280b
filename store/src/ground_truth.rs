//! Ground truth: counts of people taken by other means over a window, recorded by
//! administrators (API or CSV import), to check and calibrate estimates against.

use api_types::{GroundTruth, NewGroundTruth};
use diesel::prelude::*;

use super::schema::ground_truth;
use super::Conn;

/// Stores `entries` (validated by the caller) in one transaction: all or none. Their
/// ids, in order.
pub fn add_all(
    conn: &mut Conn,
    entries: &[NewGroundTruth],
    created_at: i64,
    created_by: &str,
) -> QueryResult<Vec<i64>> {
    super::write_transaction(conn, |conn| {
        entries
            .iter()
            .map(|entry| {
                diesel::insert_into(ground_truth::table)
                    .values((
                        ground_truth::network_id.eq(entry.network_id),
                        ground_truth::zone.eq(entry.zone.as_deref()),
                        ground_truth::since.eq(entry.since),
                        ground_truth::until.eq(entry.until),
                        ground_truth::people.eq(entry.people),
                        ground_truth::source.eq(&entry.source),
                        ground_truth::created_at.eq(created_at),
                        ground_truth::created_by.eq(created_by),
                    ))
                    .returning(ground_truth::id)
                    .get_result(conn)
            })
            .collect()
    })
}

type Row = (i64, i64, Option<String>, i64, i64, i64, String, i64, String);

/// The counts of one network (or all), newest window first, at most `limit`.
pub fn list(conn: &mut Conn, network_id: Option<i64>, limit: i64) -> QueryResult<Vec<GroundTruth>> {
    let mut query = ground_truth::table
        .select((
            ground_truth::id,
            ground_truth::network_id,
            ground_truth::zone,
            ground_truth::since,
            ground_truth::until,
            ground_truth::people,
            ground_truth::source,
            ground_truth::created_at,
            ground_truth::created_by,
        ))
        .order((ground_truth::since.desc(), ground_truth::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(network_id) = network_id {
        query = query.filter(ground_truth::network_id.eq(network_id));
    }
    Ok(query
        .load::<Row>(conn)?
        .into_iter()
        .map(
            |(id, network_id, zone, since, until, people, source, created_at, created_by)| {
                GroundTruth {
                    id,
                    network_id,
                    zone,
                    since,
                    until,
                    people,
                    source,
                    created_at,
                    created_by,
                }
            },
        )
        .collect())
}

/// Removes one count; false when there is none with that id.
pub fn remove(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(ground_truth::table.find(id)).execute(conn)? > 0)
}
