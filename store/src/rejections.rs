//! The bounded log of refused reports.

use api_types::Rejection;
use diesel::prelude::*;

use super::Conn;

use super::schema::rejections;

/// How many rejections are kept; older ones are deleted as new ones arrive.
pub const KEPT: i64 = 1000;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = rejections)]
pub struct NewRejection {
    pub received_at: i64,
    pub status: i32,
    pub reason: String,
    pub detail: String,
    pub field: Option<String>,
    pub network_id: Option<i64>,
    pub node_mac: Option<String>,
    pub body_prefix: String,
}

/// Records `new` and drops what falls beyond the newest [`KEPT`]. Call inside the
/// writer's transaction.
pub fn record(conn: &mut Conn, new: &[NewRejection]) -> QueryResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    for rejection in new {
        diesel::insert_into(rejections::table)
            .values(rejection)
            .execute(conn)?;
    }
    let newest: Option<i64> = rejections::table
        .select(diesel::dsl::max(rejections::id))
        .first(conn)?;
    if let Some(newest) = newest {
        diesel::delete(rejections::table.filter(rejections::id.le(newest - KEPT))).execute(conn)?;
    }
    Ok(())
}

/// The newest `limit` rejections, newest first.
/// The newest `limit` rejections, newest first (names left for [`super::places::Directory::label_rejection`]).
pub fn list(conn: &mut Conn, limit: i64) -> QueryResult<Vec<Rejection>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        i64,
        i32,
        String,
        String,
        Option<String>,
        Option<i64>,
        Option<String>,
        String,
    )> = rejections::table
        .select((
            rejections::id,
            rejections::received_at,
            rejections::status,
            rejections::reason,
            rejections::detail,
            rejections::field,
            rejections::network_id,
            rejections::node_mac,
            rejections::body_prefix,
        ))
        .order(rejections::id.desc())
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                received_at,
                status,
                reason,
                detail,
                field,
                network_id,
                node_mac,
                body_prefix,
            )| {
                Rejection {
                    id,
                    received_at,
                    status: u16::try_from(status).unwrap_or(0),
                    reason,
                    detail,
                    field,
                    network_id,
                    node_mac,
                    network_name: None,
                    node_name: None,
                    zone: None,
                    body_prefix,
                }
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;

    fn rejection(n: i64) -> NewRejection {
        NewRejection {
            received_at: n,
            status: 422,
            reason: "invalid_report".into(),
            detail: format!("number {n}"),
            field: Some("version".into()),
            network_id: None,
            node_mac: None,
            body_prefix: "{}".into(),
        }
    }

    #[test]
    fn keeps_only_the_newest() {
        let (_dir, mut conn) = migrated();
        let batch: Vec<NewRejection> = (0..KEPT + 25).map(rejection).collect();
        record(&mut conn, &batch[..10]).unwrap();
        record(&mut conn, &batch[10..]).unwrap();
        let all = list(&mut conn, 10_000).unwrap();
        assert_eq!(all.len() as i64, KEPT);
        assert_eq!(all[0].received_at, KEPT + 24, "newest first");
        assert_eq!(
            all.last().unwrap().received_at,
            25,
            "the oldest 25 are gone"
        );
        assert_eq!(list(&mut conn, 3).unwrap().len(), 3);
    }
}
