//! The opt-out list, and erasing a device.
//!
//! The list holds keyed hashes only (`privacy::Privacy::opt_out_entry`). Each writer
//! keeps it in memory and checks the list's version in the very transaction that stores
//! a batch ([`OptOutCache::refresh`]); every change bumps the version in the change's own
//! transaction. So a batch either commits before an opt-out or an erasure (and the
//! erasure deletes its rows) or sees the new list (and drops them): no observation of an
//! opted-out device is stored after the change, on one instance or many. On PostgreSQL
//! batches (and the presence merge) hold [`crate::locks::OPT_OUT_LIST`] shared and a change holds it
//! exclusively: PostgreSQL queues those fairly, so a steady stream of batches on many
//! instances cannot starve an erasure (row locks `FOR SHARE` would).
//!
//! The same read tells a writer when `ncompass pseudonymize` switched the database's
//! MAC mode under it: it refuses to store rather than mix real MACs with pseudonyms.

use std::collections::HashSet;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::metadata::{MAC_PRIVACY, OPT_OUT_VERSION};
use super::schema::{opt_outs, presence_segments, settings};
use super::Conn;
use ncompass_core::cloudtrax::Mac;

/// Holds [`crate::locks::OPT_OUT_LIST`] shared until the transaction ends (PostgreSQL; SQLite's write
/// lock serializes everything already).
pub fn hold_list_shared(conn: &mut Conn) -> QueryResult<()> {
    if matches!(conn, Conn::Postgres(_)) {
        conn.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock_shared({})",
            crate::locks::OPT_OUT_LIST
        ))?;
    }
    Ok(())
}

/// The opt-out list as a writer holds it.
#[derive(Debug, Default)]
pub struct OptOutCache {
    version: Option<String>,
    hashes: HashSet<Mac>,
}

impl OptOutCache {
    /// Brings the list up to date, inside the caller's write transaction: one indexed
    /// read while unchanged. Fails when the database's MAC mode is no longer `mode`.
    pub fn refresh(&mut self, conn: &mut Conn, mode: &str) -> QueryResult<()> {
        hold_list_shared(conn)?;
        let rows: Vec<(String, String)> = settings::table
            .filter(settings::name.eq_any([OPT_OUT_VERSION, MAC_PRIVACY]))
            .select((settings::name, settings::value))
            .load(conn)?;
        let value = |name: &str| {
            rows.iter()
                .find(|(found, _)| found == name)
                .map(|(_, value)| value.clone())
        };
        if let Some(stored) = value(MAC_PRIVACY).filter(|stored| stored != mode) {
            return Err(diesel::result::Error::QueryBuilderError(
                format!(
                    "the database's MACs are now {stored}, this server stores them {mode}: \
                     restart it with --mac-privacy {stored}"
                )
                .into(),
            ));
        }
        let version = value(OPT_OUT_VERSION).unwrap_or_default();
        if self.version.as_ref() != Some(&version) {
            self.hashes = opt_outs::table
                .select(opt_outs::mac_hash)
                .load::<String>(conn)?
                .iter()
                .filter_map(|hash| Mac::parse(hash))
                .collect();
            self.version = Some(version);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub fn contains(&self, hash: Mac) -> bool {
        self.hashes.contains(&hash)
    }
}

/// Bumps the list's version: every writer reloads the list before its next batch (and
/// on PostgreSQL, waits for the batches storing right now to commit first).
fn bump_version(conn: &mut Conn) -> QueryResult<()> {
    if matches!(conn, Conn::Postgres(_)) {
        conn.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({})",
            crate::locks::OPT_OUT_LIST
        ))?;
    }
    conn.batch_execute(&format!(
        "UPDATE settings SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) \
         WHERE name = '{OPT_OUT_VERSION}'"
    ))
}

/// Runs `change` in a write transaction that, on SQLite, waits for the disk before it
/// is acknowledged (pool connections commit with `synchronous = NORMAL`): an erasure or
/// an opt-out must survive a power cut once answered.
fn durably<T>(conn: &mut Conn, change: impl FnOnce(&mut Conn) -> QueryResult<T>) -> QueryResult<T> {
    let sqlite = matches!(conn, Conn::Sqlite(_));
    if sqlite {
        conn.batch_execute("PRAGMA synchronous = FULL")?;
    }
    let result = super::write_transaction(conn, change);
    if sqlite {
        conn.batch_execute("PRAGMA synchronous = NORMAL")?;
    }
    result
}

/// Every entry, newest first.
pub fn list(conn: &mut Conn) -> QueryResult<Vec<api_types::OptOut>> {
    Ok(opt_outs::table
        .select((
            opt_outs::mac_hash,
            opt_outs::created_at,
            opt_outs::created_by,
        ))
        .order((opt_outs::created_at.desc(), opt_outs::mac_hash))
        .load::<(String, i64, String)>(conn)?
        .into_iter()
        .map(|(mac_hash, created_at, created_by)| api_types::OptOut {
            mac_hash,
            created_at,
            created_by,
        })
        .collect())
}

/// Adds `hash` to the list; false when it is there already.
pub fn add(conn: &mut Conn, hash: Mac, at: i64, by: &str) -> QueryResult<bool> {
    durably(conn, |conn| insert(conn, hash, at, by))
}

fn insert(conn: &mut Conn, hash: Mac, at: i64, by: &str) -> QueryResult<bool> {
    bump_version(conn)?;
    let hash = hash.to_string();
    let added = on_each_backend!(conn, |c| diesel::insert_into(opt_outs::table)
        .values((
            opt_outs::mac_hash.eq(&hash),
            opt_outs::created_at.eq(at),
            opt_outs::created_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(added > 0)
}

/// Removes `hash` from the list; false when it was not there.
pub fn remove(conn: &mut Conn, hash: Mac) -> QueryResult<bool> {
    durably(conn, |conn| {
        bump_version(conn)?;
        let removed = diesel::delete(opt_outs::table.find(hash.to_string())).execute(conn)?;
        Ok(removed > 0)
    })
}

/// Whether `hash` is on the list.
pub fn contains(conn: &mut Conn, hash: Mac) -> QueryResult<bool> {
    Ok(get(conn, hash)?.is_some())
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub probe_requests: i64,
    pub presence_segments: i64,
    pub rejections_scrubbed: i64,
    /// The opt-out entry added, if one was asked for.
    pub opted_out: Option<Mac>,
}

/// Removes every probe request and presence segment stored under any of `stored` (the
/// MACs the device may be stored as), in every network, and the body bytes of any
/// rejection that names one. With `opt_out` (time, who), adds the device to the list in
/// the same transaction, under the entry `entry` gives for the stored MAC found (`None`:
/// nothing was stored under any candidate).
pub fn erase(
    conn: &mut Conn,
    stored: &[Mac],
    opt_out: Option<(i64, &str)>,
    entry: &dyn Fn(Option<Mac>) -> Mac,
) -> QueryResult<Erased> {
    durably(conn, |conn| {
        bump_version(conn)?;
        let mut probe_requests = 0;
        let mut presence_segments = 0;
        let mut found = None;
        for mac in stored {
            let rows = super::partitions::delete_mac(conn, &mac.to_string())?;
            let segments = diesel::delete(
                presence_segments::table.filter(presence_segments::mac.eq(mac.to_i64())),
            )
            .execute(conn)?;
            // The manufacturer, OS and network name the vendor told about it.
            let described = super::devices::forget(conn, &[mac.to_string()])?;
            if (rows + segments > 0 || described > 0) && found.is_none() {
                found = Some(*mac);
            }
            probe_requests += rows;
            presence_segments += segments;
        }
        let mut rejections_scrubbed = 0;
        for mac in stored {
            let colons = mac.to_string();
            for pattern in [colons.clone(), colons.replace(':', "-")] {
                let mut bind = super::Placeholders::of(conn);
                let sql = format!(
                    "UPDATE rejections SET body_prefix = '', detail = '' \
                     WHERE lower(body_prefix) LIKE {} OR lower(detail) LIKE {}",
                    bind.next(),
                    bind.next()
                );
                let like = format!("%{pattern}%");
                rejections_scrubbed += diesel::sql_query(sql)
                    .bind::<Text, _>(&like)
                    .bind::<Text, _>(&like)
                    .execute(conn)?;
            }
        }
        let opted_out = match opt_out {
            Some((at, by)) => {
                let hash = entry(found);
                insert(conn, hash, at, by)?;
                Some(hash)
            }
            None => None,
        };
        super::retention::keep_watermark_below_next_id(conn)?;
        Ok(Erased {
            probe_requests: i64::try_from(probe_requests).unwrap_or(i64::MAX),
            presence_segments: i64::try_from(presence_segments).unwrap_or(i64::MAX),
            rejections_scrubbed: i64::try_from(rejections_scrubbed).unwrap_or(i64::MAX),
            opted_out,
        })
    })
}

/// One entry of the list.
pub fn get(conn: &mut Conn, hash: Mac) -> QueryResult<Option<api_types::OptOut>> {
    Ok(opt_outs::table
        .find(hash.to_string())
        .select((
            opt_outs::mac_hash,
            opt_outs::created_at,
            opt_outs::created_by,
        ))
        .first::<(String, i64, String)>(conn)
        .optional()?
        .map(|(mac_hash, created_at, created_by)| api_types::OptOut {
            mac_hash,
            created_at,
            created_by,
        }))
}

/// Everything stored about a device (under any of `stored`), for an access request:
/// its probe requests (newest first, at most `limit`) and presence segments.
pub fn data(
    conn: &mut Conn,
    stored: &[Mac],
    limit: i64,
) -> QueryResult<(
    Vec<api_types::ProbeRequest>,
    bool,
    Vec<api_types::StoredSegment>,
)> {
    let texts: Vec<String> = stored.iter().map(ToString::to_string).collect();
    let numbers: Vec<i64> = stored.iter().map(|mac| mac.to_i64()).collect();
    super::read_transaction(conn, |conn| {
        let mut rows = super::probe_requests::of_macs(conn, &texts, limit + 1)?;
        let truncated = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let segments: Vec<Vec<u8>> = presence_segments::table
            .filter(presence_segments::mac.eq_any(&numbers))
            .order((presence_segments::day, presence_segments::first_seen))
            .limit(limit)
            .select(presence_segments::segment)
            .load(conn)?;
        let segments = segments
            .iter()
            .filter_map(|bytes| crate::segment_codec::decode(bytes))
            .map(|segment| api_types::StoredSegment {
                network_id: segment.network_id,
                mac: Mac::from_u64(segment.mac).to_string(),
                first_seen: segment.first_seen,
                last_seen: segment.last_seen,
                max_signal: segment.heard.max_signal,
                strongest_node_mac: Mac::from_u64(segment.heard.strongest_node).to_string(),
                associated: segment.heard.associated,
                node_macs: segment
                    .heard
                    .nodes
                    .iter()
                    .map(|node| Mac::from_u64(*node).to_string())
                    .collect(),
            })
            .collect();
        Ok((rows, truncated, segments))
    })
}
