//! What vendors say of each device (Meraki: manufacturer, OS, SSID), by its stored
//! client MAC: written at ingestion beside the rows, read beside a page of rows.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::schema::devices;
use super::{Conn, Placeholders};

/// A device's description, under its stored MAC (canonical text).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Description {
    pub mac: String,
    pub manufacturer: Option<String>,
    pub os: Option<String>,
    pub ssid: Option<String>,
    /// The latest record time it came with, Unix seconds.
    pub seen_at: i64,
}

/// A stored description is written again for the same values at most this often: its
/// `seen_at` (what retention reads) stays within this of the truth, and a device heard
/// every minute costs one write an hour, not one a post.
pub const REFRESH_S: i64 = 3_600;

/// Keeps `descriptions` (a batch's, in the caller's transaction): a value a newer one
/// leaves out is kept; an older description changes nothing.
pub fn remember(conn: &mut Conn, descriptions: &[Description]) -> QueryResult<()> {
    // One row per device (PostgreSQL refuses to upsert a key twice in one statement):
    // the latest description, with what it leaves out taken from the earlier ones.
    let mut latest: BTreeMap<&str, Description> = BTreeMap::new();
    for description in descriptions {
        latest
            .entry(description.mac.as_str())
            .and_modify(|kept| {
                let (newer, older) = if description.seen_at >= kept.seen_at {
                    (description.clone(), kept.clone())
                } else {
                    (kept.clone(), description.clone())
                };
                *kept = Description {
                    manufacturer: newer.manufacturer.or(older.manufacturer),
                    os: newer.os.or(older.os),
                    ssid: newer.ssid.or(older.ssid),
                    ..newer
                };
            })
            .or_insert_with(|| description.clone());
    }
    if latest.is_empty() {
        return Ok(());
    }
    let rows: Vec<&Description> = latest.values().collect();
    // Written only when it says something new, or when its time is an hour ahead.
    let update = format!(
        "ON CONFLICT (mac) DO UPDATE SET \
         manufacturer = COALESCE(excluded.manufacturer, devices.manufacturer), \
         os = COALESCE(excluded.os, devices.os), \
         ssid = COALESCE(excluded.ssid, devices.ssid), \
         seen_at = excluded.seen_at \
         WHERE excluded.seen_at >= devices.seen_at AND (\
         excluded.seen_at >= devices.seen_at + {REFRESH_S} \
         OR (excluded.manufacturer IS NOT NULL AND (devices.manufacturer IS NULL OR excluded.manufacturer <> devices.manufacturer)) \
         OR (excluded.os IS NOT NULL AND (devices.os IS NULL OR excluded.os <> devices.os)) \
         OR (excluded.ssid IS NOT NULL AND (devices.ssid IS NULL OR excluded.ssid <> devices.ssid)))"
    );
    match conn {
        // SQLite: one prepared statement a device, no round trip.
        Conn::Sqlite(conn) => {
            let sql = format!(
                "INSERT INTO devices (mac, manufacturer, os, ssid, seen_at) VALUES (?, ?, ?, ?, ?) {update}"
            );
            for row in rows {
                diesel::sql_query(&sql)
                    .bind::<Text, _>(&row.mac)
                    .bind::<Nullable<Text>, _>(&row.manufacturer)
                    .bind::<Nullable<Text>, _>(&row.os)
                    .bind::<Nullable<Text>, _>(&row.ssid)
                    .bind::<BigInt, _>(row.seen_at)
                    .execute(conn)?;
            }
        }
        // PostgreSQL: the batch in one statement, a column an array.
        Conn::Postgres(conn) => {
            use crate::placeholders::column;
            use diesel::sql_types::Array;
            let sql = format!(
                "INSERT INTO devices (mac, manufacturer, os, ssid, seen_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[]) {update}"
            );
            diesel::sql_query(sql)
                .bind::<Array<Text>, _>(column(&rows, |r| r.mac.clone()))
                .bind::<Array<Nullable<Text>>, _>(column(&rows, |r| r.manufacturer.clone()))
                .bind::<Array<Nullable<Text>>, _>(column(&rows, |r| r.os.clone()))
                .bind::<Array<Nullable<Text>>, _>(column(&rows, |r| r.ssid.clone()))
                .bind::<Array<BigInt>, _>(column(&rows, |r| r.seen_at))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The descriptions of `macs` (stored MACs, canonical text), by MAC: one query for a
/// page of rows.
pub fn of(conn: &mut Conn, macs: &[&str]) -> QueryResult<HashMap<String, Description>> {
    let mut found = HashMap::new();
    let mut wanted: Vec<&str> = macs.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    // Bounded IN lists: SQLite takes at most 32,766 parameters a statement.
    for chunk in wanted.chunks(1_000) {
        let rows: Vec<Description> = devices::table
            .filter(devices::mac.eq_any(chunk))
            .select(Description::as_select())
            .load(conn)?;
        found.extend(rows.into_iter().map(|row| (row.mac.clone(), row)));
    }
    Ok(found)
}

/// Fills in each row's device description (manufacturer, OS, SSID), where a vendor
/// gave one: one query for the page.
pub fn describe(conn: &mut Conn, rows: &mut [api_types::ProbeRequest]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let macs: Vec<String> = rows.iter().map(|row| row.mac.clone()).collect();
    let macs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let found = of(conn, &macs)?;
    for row in rows {
        if let Some(description) = found.get(&row.mac) {
            row.manufacturer.clone_from(&description.manufacturer);
            row.os.clone_from(&description.os);
            row.ssid.clone_from(&description.ssid);
        }
    }
    Ok(())
}

/// Forgets the descriptions of `macs` (an erasure).
pub fn forget(conn: &mut Conn, macs: &[String]) -> QueryResult<u64> {
    let deleted = diesel::delete(devices::table.filter(devices::mac.eq_any(macs))).execute(conn)?;
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}

/// Moves every description to the MAC `keyed` gives for its stored one (dropping those
/// it gives none for), in the caller's transaction: `pseudonymize`'s last step.
pub fn pseudonymize(conn: &mut Conn, keyed: &dyn Fn(&str) -> Option<String>) -> QueryResult<u64> {
    let all: Vec<Description> = devices::table.select(Description::as_select()).load(conn)?;
    diesel::delete(devices::table).execute(conn)?;
    let moved: Vec<Description> = all
        .into_iter()
        .filter_map(|description| {
            let mac = keyed(&description.mac)?;
            Some(Description { mac, ..description })
        })
        .collect();
    for chunk in moved.chunks(1000) {
        remember(conn, chunk)?;
    }
    Ok(u64::try_from(moved.len()).unwrap_or(u64::MAX))
}

/// Deletes at most `chunk` descriptions last seen before `cutoff` (retention).
pub fn delete_before(conn: &mut Conn, cutoff: i64, chunk: i64) -> QueryResult<u64> {
    let mut bind = Placeholders::of(conn);
    let sql = format!(
        "DELETE FROM devices WHERE mac IN \
         (SELECT mac FROM devices WHERE seen_at < {} ORDER BY seen_at LIMIT {})",
        bind.next(),
        bind.next()
    );
    let deleted = diesel::sql_query(sql)
        .bind::<BigInt, _>(cutoff)
        .bind::<BigInt, _>(chunk)
        .execute(conn)?;
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;

    fn described(
        mac: &str,
        manufacturer: Option<&str>,
        ssid: Option<&str>,
        seen_at: i64,
    ) -> Description {
        Description {
            mac: mac.to_string(),
            manufacturer: manufacturer.map(str::to_string),
            os: None,
            ssid: ssid.map(str::to_string),
            seen_at,
        }
    }

    #[test]
    fn a_newer_description_adds_to_the_stored_one_and_an_older_changes_nothing() {
        let (_dir, mut conn) = migrated();
        let mac = "00:26:ab:b8:a9:a5";
        let ok = |result: QueryResult<()>| assert!(result.is_ok(), "{result:?}");
        ok(remember(
            &mut conn,
            &[described(mac, Some("Apple"), None, 100)],
        ));
        ok(remember(
            &mut conn,
            &[described(mac, None, Some("Guest"), 200)],
        ));
        ok(remember(
            &mut conn,
            &[described(mac, Some("Google"), Some("Old"), 150)],
        ));
        let found = of(&mut conn, &[mac, "ff:ff:ff:ff:ff:ff"]).unwrap_or_default();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found.get(mac),
            Some(&described(mac, Some("Apple"), Some("Guest"), 200))
        );
        // The same values within the hour: not written again (its time stays).
        ok(remember(
            &mut conn,
            &[described(mac, Some("Apple"), Some("Guest"), 300)],
        ));
        assert_eq!(
            of(&mut conn, &[mac])
                .unwrap_or_default()
                .get(mac)
                .map(|d| d.seen_at),
            Some(200)
        );
        ok(remember(
            &mut conn,
            &[described(
                mac,
                Some("Apple"),
                Some("Guest"),
                200 + REFRESH_S,
            )],
        ));
        assert_eq!(
            of(&mut conn, &[mac])
                .unwrap_or_default()
                .get(mac)
                .map(|d| d.seen_at),
            Some(200 + REFRESH_S)
        );
        // Twice in one batch: one row, the later one's values first.
        ok(remember(
            &mut conn,
            &[
                described("02:00:00:00:00:01", Some("A"), None, 10),
                described("02:00:00:00:00:01", None, Some("S"), 20),
            ],
        ));
        assert_eq!(
            of(&mut conn, &["02:00:00:00:00:01"])
                .unwrap_or_default()
                .remove("02:00:00:00:00:01"),
            Some(described("02:00:00:00:00:01", Some("A"), Some("S"), 20))
        );
        assert_eq!(delete_before(&mut conn, 200 + REFRESH_S, 100).ok(), Some(1));
        assert_eq!(forget(&mut conn, &[mac.to_string()]).ok(), Some(1));
        assert!(of(&mut conn, &[mac]).unwrap_or_default().is_empty());
    }

    #[test]
    fn pseudonymizing_moves_each_description_to_its_pseudonym() {
        let (_dir, mut conn) = migrated();
        let ok = |result: QueryResult<()>| assert!(result.is_ok(), "{result:?}");
        ok(remember(
            &mut conn,
            &[
                described("00:26:ab:b8:a9:a5", Some("Seiko Epson"), None, 10),
                described("f0:18:98:11:22:33", Some("Apple"), Some("Guest"), 20),
                described("not a mac", None, None, 30),
            ],
        ));
        let keyed = |mac: &str| (mac != "not a mac").then(|| format!("k{}", &mac[1..]));
        assert_eq!(pseudonymize(&mut conn, &keyed).ok(), Some(2));
        let found = of(
            &mut conn,
            &[
                "00:26:ab:b8:a9:a5",
                "k0:26:ab:b8:a9:a5",
                "k0:18:98:11:22:33",
            ],
        )
        .unwrap_or_default();
        assert_eq!(found.len(), 2, "no real MAC is left: {found:?}");
        assert_eq!(
            found.get("k0:18:98:11:22:33"),
            Some(&described(
                "k0:18:98:11:22:33",
                Some("Apple"),
                Some("Guest"),
                20
            ))
        );
    }
}
