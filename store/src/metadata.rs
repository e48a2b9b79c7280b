//! Database metadata, kept in the `settings` table: what the database remembers about
//! how it was written (the MAC key's fingerprint, the MAC privacy mode, a
//! pseudonymization's progress, the opt-out list's version).

use diesel::prelude::*;

use super::schema::{presence_segments, probe_requests, rejections, settings};
use super::Conn;

pub const MAC_KEY_FINGERPRINT: &str = "mac_key_fingerprint";
/// `raw`, `keyed`, or [`PSEUDONYMIZING`] while `ncompass pseudonymize` runs.
pub const MAC_PRIVACY: &str = "mac_privacy";
pub const PSEUDONYMIZING: &str = "pseudonymizing";
/// Bumped by every change of the opt-out list and every erasure.
pub const OPT_OUT_VERSION: &str = "opt_out_version";

pub fn get(conn: &mut Conn, name: &str) -> QueryResult<Option<String>> {
    settings::table
        .find(name)
        .select(settings::value)
        .first(conn)
        .optional()
}

/// Sets `name` to `value`, inserting or replacing it.
pub fn set(conn: &mut Conn, name: &str, value: &str) -> QueryResult<()> {
    on_each_backend!(conn, |c| diesel::insert_into(settings::table)
        .values((settings::name.eq(name), settings::value.eq(value)))
        .on_conflict(settings::name)
        .do_update()
        .set(settings::value.eq(value))
        .execute(c))?;
    Ok(())
}

/// The value of `name`, storing `value` first when it has none (two instances starting
/// at once agree on the first one stored).
pub fn get_or_insert(conn: &mut Conn, name: &str, value: &str) -> QueryResult<String> {
    on_each_backend!(conn, |c| diesel::insert_into(settings::table)
        .values((settings::name.eq(name), settings::value.eq(value)))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(get(conn, name)?.unwrap_or_else(|| value.to_string()))
}

/// Whether any client MAC is stored: a probe request, a presence segment, or a
/// rejection that kept body bytes.
pub fn holds_client_macs(conn: &mut Conn) -> QueryResult<bool> {
    let rows: Option<i64> = probe_requests::table
        .select(probe_requests::id)
        .first(conn)
        .optional()?;
    let segments: Option<i64> = presence_segments::table
        .select(presence_segments::day)
        .first(conn)
        .optional()?;
    let bodies: Option<i64> = rejections::table
        .filter(rejections::body_prefix.ne(""))
        .select(rejections::id)
        .first(conn)
        .optional()?;
    Ok(rows.is_some() || segments.is_some() || bodies.is_some())
}
