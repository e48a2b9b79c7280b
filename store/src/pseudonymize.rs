//! `ncompass pseudonymize`: converts a database that holds real client MACs to `keyed`
//! mode in place. Probe requests are rewritten in chunks of ids, presence segments a day
//! at a time (their key holds the MAC), rejection bodies are dropped; each chunk commits
//! with its progress (in `settings`), so an interrupted run goes on where it stopped.
//! While it runs the database is marked `pseudonymizing`, and no server starts on it.

use std::io::Write;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use ncompass_core::mac::Mac;
use ncompass_core::privacy::MacKey;

use crate::mac_mode::PrivacyError;
use crate::metadata;
use crate::schema::{presence_segments, probe_requests, rejections};
use crate::Conn;

/// Progress of the probe requests: every row with an id up to it is done.
const THROUGH_ID: &str = "pseudonymize_through_id";
/// Progress of the presence segments: every day up to it is done.
const THROUGH_DAY: &str = "pseudonymize_through_day";

/// Probe requests rewritten per transaction.
pub const CHUNK_ROWS: i64 = 5_000;

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Converted {
    pub probe_requests: u64,
    pub presence_segments: u64,
    pub rejections: u64,
    /// Device descriptions (manufacturer, OS, SSID) moved to their pseudonyms.
    pub devices: u64,
    /// The database was in `keyed` mode already: nothing to do.
    pub already_keyed: bool,
    /// Stopped after the number of chunks asked for (tests of an interrupted run).
    pub interrupted: bool,
}

/// Converts the database on `conn` to `keyed` mode under `key`, reporting progress to
/// `progress`. `max_chunks` stops the run early, as an interruption would.
pub fn run(
    conn: &mut Conn,
    key: &MacKey,
    chunk_rows: i64,
    max_chunks: Option<usize>,
    progress: &mut dyn Write,
) -> Result<Converted, PrivacyError> {
    let fingerprint = key.fingerprint();
    let stored = metadata::get_or_insert(conn, metadata::MAC_KEY_FINGERPRINT, &fingerprint)?;
    if stored != fingerprint {
        return Err(PrivacyError::OtherKey {
            stored,
            given: fingerprint,
            path: "--mac-key-file".to_string(),
        });
    }
    let mut converted = Converted::default();
    if metadata::get(conn, metadata::MAC_PRIVACY)?.as_deref() == Some("keyed") {
        converted.already_keyed = true;
        return Ok(converted);
    }
    metadata::set(conn, metadata::MAC_PRIVACY, metadata::PSEUDONYMIZING)?;
    let mut chunks = 0;
    let mut budget = || {
        chunks += 1;
        max_chunks.is_some_and(|max| chunks > max)
    };

    // Probe requests, by id.
    let mut through: i64 = number(metadata::get(conn, THROUGH_ID)?);
    let left: i64 = probe_requests::table
        .filter(probe_requests::id.gt(through))
        .count()
        .get_result(conn)?;
    let mut done = 0_i64;
    loop {
        if budget() {
            converted.interrupted = true;
            return Ok(converted);
        }
        let rewritten = crate::write_transaction(conn, |conn| {
            let rows: Vec<(i64, String)> = probe_requests::table
                .filter(probe_requests::id.gt(through))
                .order(probe_requests::id)
                .limit(chunk_rows)
                .select((probe_requests::id, probe_requests::mac))
                .load(conn)?;
            for (id, mac) in &rows {
                let Some(real) = Mac::parse(mac) else {
                    continue;
                };
                diesel::update(probe_requests::table.filter(probe_requests::id.eq(id)))
                    .set(probe_requests::mac.eq(key.pseudonym(real).to_string()))
                    .execute(conn)?;
            }
            if let Some((last, _)) = rows.last() {
                metadata::set(conn, THROUGH_ID, &last.to_string())?;
            }
            Ok::<_, diesel::result::Error>(rows.last().map(|(last, _)| (*last, rows.len())))
        })?;
        let Some((last, rows)) = rewritten else {
            break;
        };
        through = last;
        done += i64::try_from(rows).unwrap_or(0);
        converted.probe_requests += u64::try_from(rows).unwrap_or(0);
        let _ = writeln!(
            progress,
            "pseudonymize: probe requests {done} of {left} ({}%)",
            done * 100 / left.max(1)
        );
    }

    // Presence segments, a day at a time: the MAC is part of their key.
    let mut day = metadata::get(conn, THROUGH_DAY)?
        .as_deref()
        .map_or(i64::MIN, |text| number(Some(text.to_string())));
    loop {
        if budget() {
            converted.interrupted = true;
            return Ok(converted);
        }
        let next: Option<i64> = presence_segments::table
            .filter(presence_segments::day.gt(day))
            .select(diesel::dsl::min(presence_segments::day))
            .first(conn)?;
        let Some(next) = next else {
            break;
        };
        let rewritten = crate::write_transaction(conn, |conn| {
            let rows: Vec<(i64, i64, i64, Vec<u8>)> = presence_segments::table
                .filter(presence_segments::day.eq(next))
                .select((
                    presence_segments::network_id,
                    presence_segments::mac,
                    presence_segments::first_seen,
                    presence_segments::segment,
                ))
                .load(conn)?;
            diesel::delete(presence_segments::table.filter(presence_segments::day.eq(next)))
                .execute(conn)?;
            for (network_id, mac, first_seen, bytes) in &rows {
                let Some(real) = Mac::from_i64(*mac) else {
                    continue;
                };
                let pseudonym = key.pseudonym(real);
                let Some(mut segment) = crate::segment_codec::decode(bytes) else {
                    continue;
                };
                segment.mac = pseudonym.to_u64();
                on_each_backend!(conn, |c| diesel::insert_into(presence_segments::table)
                    .values((
                        presence_segments::day.eq(next),
                        presence_segments::network_id.eq(network_id),
                        presence_segments::mac.eq(pseudonym.to_i64()),
                        presence_segments::first_seen.eq(first_seen),
                        presence_segments::segment.eq(crate::segment_codec::encode(&segment)),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c))?;
            }
            metadata::set(conn, THROUGH_DAY, &next.to_string())?;
            Ok::<_, diesel::result::Error>(rows.len())
        })?;
        day = next;
        converted.presence_segments += u64::try_from(rewritten).unwrap_or(0);
        let _ = writeln!(
            progress,
            "pseudonymize: presence segments of day {} done ({} so far)",
            jiff::Timestamp::from_second(next * 86_400)
                .map(|at| at.strftime("%Y-%m-%d").to_string())
                .unwrap_or_else(|_| next.to_string()),
            converted.presence_segments
        );
    }

    // Rejections: their body bytes and detail may hold a MAC.
    converted.rejections = u64::try_from(
        diesel::update(
            rejections::table.filter(rejections::body_prefix.ne("").or(rejections::detail.ne(""))),
        )
        .set((rejections::body_prefix.eq(""), rejections::detail.eq("")))
        .execute(conn)?,
    )
    .unwrap_or(0);

    // Device descriptions, in the transaction that marks the file keyed (so that a
    // second run cannot key them twice).
    crate::write_transaction(conn, |conn| {
        converted.devices = crate::devices::pseudonymize(conn, &|mac| {
            Mac::parse(mac).map(|real| key.pseudonym(real).to_string())
        })?;
        metadata::set(conn, metadata::MAC_PRIVACY, "keyed")?;
        diesel::delete(
            crate::schema::settings::table
                .filter(crate::schema::settings::name.eq_any([THROUGH_ID, THROUGH_DAY])),
        )
        .execute(conn)?;
        Ok::<_, diesel::result::Error>(())
    })?;
    if matches!(conn, Conn::Sqlite(_)) {
        // The old pages are overwritten (secure_delete); the WAL's copies go too.
        let _ = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    let _ = writeln!(
        progress,
        "pseudonymize: done: {} probe requests, {} presence segments, {} rejection bodies dropped; serve with --mac-privacy keyed",
        converted.probe_requests, converted.presence_segments, converted.rejections
    );
    Ok(converted)
}

fn number(text: Option<String>) -> i64 {
    text.and_then(|text| text.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;
    use ncompass_core::cloudtrax::{parse_report, TimeRules};

    fn key() -> MacKey {
        MacKey::from_bytes([3; 32])
    }

    fn store_sample(conn: &mut Conn) {
        let body = ncompass_core::cloudtrax::samples::V1;
        let report = parse_report(body, &TimeRules::at(ncompass_core::clock::unix_now())).unwrap();
        crate::reports::store(conn, &report, 1_455_845_900).unwrap();
        while crate::presence::catch_up(conn, 1_000).unwrap() > 0 {}
    }

    fn macs(conn: &mut Conn) -> (Vec<String>, Vec<i64>) {
        let mut rows: Vec<String> = probe_requests::table
            .select(probe_requests::mac)
            .load(conn)
            .unwrap();
        rows.sort();
        let mut segments: Vec<i64> = presence_segments::table
            .select(presence_segments::mac)
            .load(conn)
            .unwrap();
        segments.sort_unstable();
        (rows, segments)
    }

    #[test]
    fn an_interrupted_run_goes_on_where_it_stopped_and_ends_like_an_uninterrupted_one() {
        let (_a, mut whole) = migrated();
        let (_b, mut interrupted) = migrated();
        store_sample(&mut whole);
        store_sample(&mut interrupted);
        let (real_rows, _) = macs(&mut whole);

        let once = run(&mut whole, &key(), 2, None, &mut Vec::new()).unwrap();
        assert_eq!(once.probe_requests, 5);
        assert!(!once.interrupted);

        // Two rows, then stop: the database says so, and a server refuses it.
        let first = run(&mut interrupted, &key(), 2, Some(1), &mut Vec::new()).unwrap();
        assert!(first.interrupted);
        assert_eq!(
            metadata::get(&mut interrupted, metadata::MAC_PRIVACY)
                .unwrap()
                .as_deref(),
            Some(metadata::PSEUDONYMIZING)
        );
        let mut progress = Vec::new();
        let rest = run(&mut interrupted, &key(), 2, None, &mut progress).unwrap();
        assert_eq!(first.probe_requests + rest.probe_requests, 5);
        assert!(String::from_utf8(progress).unwrap().contains("of 3"));

        assert_eq!(macs(&mut whole), macs(&mut interrupted));
        let (rows, segments) = macs(&mut whole);
        for (row, real) in rows.iter().zip(&real_rows) {
            assert!(!real_rows.contains(row), "{row} is a real MAC");
            assert!(Mac::parse(row).unwrap().is_randomized(), "{real}");
        }
        let expected: Vec<String> = {
            let mut expected: Vec<String> = real_rows
                .iter()
                .map(|real| key().pseudonym(Mac::parse(real).unwrap()).to_string())
                .collect();
            expected.sort();
            expected
        };
        assert_eq!(rows, expected);
        assert!(!segments.is_empty());
        for segment in segments {
            let text = Mac::from_u64(u64::try_from(segment).unwrap()).to_string();
            assert!(expected.contains(&text), "segment of {text}");
        }
        // The randomized flag still tells the real MACs apart.
        let randomized: Vec<bool> = probe_requests::table
            .select(probe_requests::randomized)
            .load(&mut whole)
            .unwrap();
        assert!(randomized.iter().any(|r| !r));
        assert_eq!(
            metadata::get(&mut whole, metadata::MAC_PRIVACY)
                .unwrap()
                .as_deref(),
            Some("keyed")
        );
        // Run again: nothing to do.
        assert!(
            run(&mut whole, &key(), 2, None, &mut Vec::new())
                .unwrap()
                .already_keyed
        );
        // Another key: refused.
        assert!(matches!(
            run(
                &mut whole,
                &MacKey::from_bytes([4; 32]),
                2,
                None,
                &mut Vec::new()
            ),
            Err(PrivacyError::OtherKey { .. })
        ));
    }
}
