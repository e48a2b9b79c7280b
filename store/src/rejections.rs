//! The bounded log of refused reports.

use api_types::Rejection;
use diesel::prelude::*;

use super::Conn;

use super::schema::rejections;

/// How many rejections are kept of each reason; older ones of that reason are deleted
/// as new ones arrive. Per reason, so that a flood of one kind (unsigned posts from
/// anyone) cannot flush what the log says about another (a real access point's
/// invalid reports).
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

impl NewRejection {
    /// The rejection with every text as any database can hold it: PostgreSQL refuses
    /// U+0000 in text, and a refused body may hold anything.
    fn storable(&self) -> NewRejection {
        let clean = |text: &str| text.replace('\0', "\u{FFFD}");
        NewRejection {
            reason: clean(&self.reason),
            detail: clean(&self.detail),
            field: self.field.as_deref().map(clean),
            node_mac: self.node_mac.as_deref().map(clean),
            body_prefix: clean(&self.body_prefix),
            ..self.clone()
        }
    }
}

/// Records `new` and drops what falls beyond the newest [`KEPT`] of each reason, in a
/// savepoint of the caller's (the writer's) transaction: a failure rolls back the
/// rejections alone and is returned, and the caller's transaction goes on, so that
/// recording a refusal never costs a report stored beside it.
pub fn record(conn: &mut Conn, new: &[NewRejection]) -> QueryResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    conn.transaction(|conn| {
        for rejection in new {
            diesel::insert_into(rejections::table)
                .values(rejection.storable())
                .execute(conn)?;
        }
        let mut reasons: Vec<&str> = new.iter().map(|r| r.reason.as_str()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        for reason in reasons {
            let reason = reason.replace('\0', "\u{FFFD}");
            let oldest_kept: Option<i64> = rejections::table
                .filter(rejections::reason.eq(&reason))
                .select(rejections::id)
                .order(rejections::id.desc())
                .offset(KEPT - 1)
                .first(conn)
                .optional()?;
            if let Some(oldest_kept) = oldest_kept {
                diesel::delete(
                    rejections::table
                        .filter(rejections::reason.eq(&reason))
                        .filter(rejections::id.lt(oldest_kept)),
                )
                .execute(conn)?;
            }
        }
        Ok(())
    })
}

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

    #[test]
    fn a_flood_of_one_reason_keeps_the_others() {
        let (_dir, mut conn) = migrated();
        let mut signature = rejection(0);
        signature.reason = "missing_signature".into();
        record(&mut conn, &[rejection(1), rejection(2)]).unwrap();
        let flood: Vec<NewRejection> = (0..KEPT + 10).map(|_| signature.clone()).collect();
        record(&mut conn, &flood).unwrap();
        let all = list(&mut conn, 10_000).unwrap();
        assert_eq!(all.len() as i64, KEPT + 2);
        let invalid: Vec<i64> = all
            .iter()
            .filter(|r| r.reason == "invalid_report")
            .map(|r| r.received_at)
            .collect();
        assert_eq!(invalid, [2, 1]);
    }

    #[test]
    fn a_nul_byte_is_stored_as_a_replacement_character() {
        let (_dir, mut conn) = migrated();
        let mut nul = rejection(1);
        nul.body_prefix = "{\"a\0b\": 1}".into();
        nul.detail = "at \0".into();
        record(&mut conn, &[nul]).unwrap();
        let stored = &list(&mut conn, 1).unwrap()[0];
        assert_eq!(stored.body_prefix, "{\"a\u{FFFD}b\": 1}");
        assert_eq!(stored.detail, "at \u{FFFD}");
    }
}
