//! The alert outbox: one row per event and receiver, written in the transaction that
//! changed the state the event announces, and delivered by `crate::alerts` (any
//! instance; a claim is a lease, so a delivery whose instance died is retried).

use diesel::prelude::*;

use super::schema::alert_deliveries as deliveries;
use super::Conn;

/// A delivery due to be tried.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Due {
    pub id: i64,
    /// The receiver's key (see `crate::alerts::receiver_key`).
    pub receiver: String,
    pub body: String,
    pub created_at: i64,
    /// Attempts made before this one.
    pub attempts: i32,
}

/// Says that this instance delivers to `receivers` (keys), as of `now` (Unix seconds).
pub fn announce_receivers(conn: &mut Conn, receivers: &[String], now: i64) -> QueryResult<()> {
    use super::schema::alert_receivers as announced;
    use diesel::upsert::excluded;
    for receiver in receivers {
        let row = (announced::receiver.eq(receiver), announced::seen_at.eq(now));
        on_each_backend!(conn, |conn| diesel::insert_into(announced::table)
            .values(row)
            .on_conflict(announced::receiver)
            .do_update()
            .set(announced::seen_at.eq(excluded(announced::seen_at)))
            .execute(conn))?;
    }
    Ok(())
}

/// The receivers some instance announced at or after `since`, with `own` (which may not
/// have been announced yet): those an event is queued for.
pub fn receivers(conn: &mut Conn, own: &[String], since: i64) -> QueryResult<Vec<String>> {
    use super::schema::alert_receivers as announced;
    let mut all: Vec<String> = announced::table
        .filter(announced::seen_at.ge(since))
        .select(announced::receiver)
        .load(conn)?;
    all.extend(own.iter().cloned());
    all.sort();
    all.dedup();
    Ok(all)
}

/// Forgets receivers no instance has announced since `before`.
pub fn forget_receivers(conn: &mut Conn, before: i64) -> QueryResult<usize> {
    use super::schema::alert_receivers as announced;
    diesel::delete(announced::table.filter(announced::seen_at.lt(before))).execute(conn)
}

/// Queues `event`, as its JSON body, for each of `receivers` (keys).
pub fn enqueue(
    conn: &mut Conn,
    receivers: &[String],
    event: &(impl serde::Serialize + ?Sized),
    now_ms: i64,
) -> QueryResult<()> {
    let body = serde_json::to_string(event)
        .map_err(|error| diesel::result::Error::SerializationError(error.into()))?;
    let body = body.as_str();
    for receiver in receivers {
        diesel::insert_into(deliveries::table)
            .values((
                deliveries::receiver.eq(receiver),
                deliveries::body.eq(body),
                deliveries::created_at.eq(now_ms.div_euclid(1000)),
                deliveries::next_attempt_ms.eq(now_ms),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn pending() -> deliveries::BoxedQuery<'static, super::MultiBackend> {
    deliveries::table
        .filter(deliveries::delivered_at.is_null())
        .filter(deliveries::abandoned_at.is_null())
        .into_boxed()
}

/// Whether a delivery to one of `receivers` is due at `now_ms` (a read: [`claim`]
/// takes the write lock only when one is).
pub fn any_due(conn: &mut Conn, receivers: &[String], now_ms: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        deliveries::table
            .filter(deliveries::delivered_at.is_null())
            .filter(deliveries::abandoned_at.is_null())
            .filter(deliveries::next_attempt_ms.le(now_ms))
            .filter(deliveries::receiver.eq_any(receivers)),
    ))
    .get_result(conn)
}

/// Claims up to `limit` deliveries to `receivers` due at `now_ms`, oldest first, by
/// moving their next attempt `lease_ms` ahead: another instance (or this one, later)
/// takes a claimed delivery again only once its lease has run out. Each one is claimed
/// by one caller: the update re-checks that it is still due.
pub fn claim(
    conn: &mut Conn,
    receivers: &[String],
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
) -> QueryResult<Vec<Due>> {
    super::write_transaction(conn, |conn| {
        let due: Vec<Due> = pending()
            .filter(deliveries::receiver.eq_any(receivers.to_vec()))
            .filter(deliveries::next_attempt_ms.le(now_ms))
            .order(deliveries::id)
            .limit(limit)
            .select((
                deliveries::id,
                deliveries::receiver,
                deliveries::body,
                deliveries::created_at,
                deliveries::attempts,
            ))
            .load(conn)?;
        let mut claimed = Vec::with_capacity(due.len());
        for delivery in due {
            let updated = diesel::update(
                deliveries::table
                    .find(delivery.id)
                    .filter(deliveries::delivered_at.is_null())
                    .filter(deliveries::abandoned_at.is_null())
                    .filter(deliveries::next_attempt_ms.le(now_ms)),
            )
            .set(deliveries::next_attempt_ms.eq(now_ms.saturating_add(lease_ms)))
            .execute(conn)?;
            if updated == 1 {
                claimed.push(delivery);
            }
        }
        Ok(claimed)
    })
}

/// The receiver answered 2xx.
pub fn delivered(conn: &mut Conn, id: i64, now: i64) -> QueryResult<()> {
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::delivered_at.eq(Some(now)),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The attempt failed: try again at `next_attempt_ms`, or never (`abandoned_at`).
pub fn failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    next_attempt_ms: i64,
    abandoned_at: Option<i64>,
) -> QueryResult<()> {
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::next_attempt_ms.eq(next_attempt_ms),
            deliveries::abandoned_at.eq(abandoned_at),
            deliveries::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives up on pending deliveries created before `before` (Unix seconds): those of a
/// receiver no running instance has configured any more (the others are given up by
/// their deliverer after their last attempt).
pub fn abandon_expired(conn: &mut Conn, before: i64, now: i64) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::delivered_at.is_null())
            .filter(deliveries::abandoned_at.is_null())
            .filter(deliveries::created_at.lt(before)),
    )
    .set((
        deliveries::abandoned_at.eq(Some(now)),
        deliveries::last_error.eq(Some("not delivered within an hour")),
    ))
    .execute(conn)
}

/// Deliveries neither made nor given up on.
pub fn pending_count(conn: &mut Conn) -> QueryResult<i64> {
    pending().count().get_result(conn)
}

/// Forgets deliveries made or given up on before `before` (Unix seconds).
pub fn prune(conn: &mut Conn, before: i64) -> QueryResult<usize> {
    diesel::delete(
        deliveries::table.filter(
            deliveries::delivered_at
                .lt(before)
                .or(deliveries::abandoned_at.lt(before)),
        ),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;

    #[test]
    fn a_claim_is_a_lease() {
        let (_dir, mut conn) = migrated();
        let receivers = ["a".to_string(), "b".to_string()];
        enqueue(&mut conn, &receivers, "{}", 10_000).unwrap();
        assert_eq!(pending_count(&mut conn).unwrap(), 2);
        assert!(!any_due(&mut conn, &receivers, 9_999).unwrap());
        assert!(claim(&mut conn, &receivers, 9_999, 30_000, 10)
            .unwrap()
            .is_empty());
        assert!(any_due(&mut conn, &receivers, 10_000).unwrap());
        // An instance configured with other receivers leaves them alone.
        assert!(!any_due(&mut conn, &["c".to_string()], 10_000).unwrap());
        assert!(claim(&mut conn, &["c".to_string()], 10_000, 30_000, 10)
            .unwrap()
            .is_empty());
        let claimed = claim(&mut conn, &receivers, 10_000, 30_000, 10).unwrap();
        assert_eq!(claimed.len(), 2);
        assert_eq!((claimed[0].created_at, claimed[0].attempts), (10, 0));
        // Leased: nobody else takes them until the lease runs out.
        assert!(claim(&mut conn, &receivers, 39_999, 30_000, 10)
            .unwrap()
            .is_empty());
        delivered(&mut conn, claimed[0].id, 11).unwrap();
        failed(&mut conn, claimed[1].id, "503", 41_000, None).unwrap();
        assert!(claim(&mut conn, &receivers, 40_999, 30_000, 10)
            .unwrap()
            .is_empty());
        let again = claim(&mut conn, &receivers, 41_000, 30_000, 10).unwrap();
        assert_eq!((again.len(), again[0].attempts), (1, 1));
        failed(&mut conn, again[0].id, "timeout", 0, Some(3_700)).unwrap();
        assert_eq!(pending_count(&mut conn).unwrap(), 0);
        assert!(claim(&mut conn, &receivers, 100_000, 30_000, 10)
            .unwrap()
            .is_empty());
        assert_eq!(prune(&mut conn, 3_700).unwrap(), 1);
        assert_eq!(prune(&mut conn, 3_701).unwrap(), 1);
        // A receiver nobody delivers to any more is given up after an hour.
        enqueue(&mut conn, &["gone".to_string()], "{}", 20_000).unwrap();
        assert_eq!(abandon_expired(&mut conn, 20, 3_620).unwrap(), 0);
        assert_eq!(abandon_expired(&mut conn, 21, 3_621).unwrap(), 1);
        assert_eq!(pending_count(&mut conn).unwrap(), 0);
    }

    #[test]
    fn events_go_to_every_receiver_announced_lately() {
        let (_dir, mut conn) = migrated();
        let (a, b, c) = ("a".to_string(), "b".to_string(), "c".to_string());
        announce_receivers(&mut conn, &[a.clone(), b.clone()], 1_000).unwrap();
        // Announced again later: its time moves on, no second row.
        announce_receivers(&mut conn, std::slice::from_ref(&b), 1_500).unwrap();
        assert_eq!(
            receivers(&mut conn, &[], 900).unwrap(),
            [a.clone(), b.clone()]
        );
        // An instance's own receivers count even before it announced them.
        assert_eq!(
            receivers(&mut conn, std::slice::from_ref(&c), 1_200).unwrap(),
            [b.clone(), c.clone()]
        );
        assert_eq!(forget_receivers(&mut conn, 1_200).unwrap(), 1);
        assert_eq!(receivers(&mut conn, &[], 0).unwrap(), [b]);
    }
}
