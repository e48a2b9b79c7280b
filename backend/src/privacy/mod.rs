//! What NCompass keeps of the people its access points hear, and for how long.
//!
//! - The MAC privacy mode (`--mac-privacy`): `raw` stores client MACs as heard; `keyed`
//!   replaces each, before anything is stored or logged, by a pseudonym: HMAC-SHA256 of
//!   the canonical MAC under a secret key (the key file, outside the database), its
//!   first 48 bits shown as a MAC with the locally administered bit set and the
//!   multicast bit clear. A pseudonym can never equal a vendor's (universally
//!   administered) MAC, and every page, filter and chart works on it unchanged.
//! - The opt-out list holds the same keyed hashes, in both modes: the real MACs of
//!   people who opted out are never stored.
//! - The database remembers the key's fingerprint and the mode its MACs are in, so a
//!   server started with another key or mode refuses instead of mixing them.
//!
//! The pure part (modes, keys, pseudonyms, redaction) is `ncompass_core::privacy`,
//! re-exported here; this module adds what needs the settings and the database.
//! Retention and erasure live in `db::retention` and `db::opt_outs`; switching an
//! existing database to `keyed` in [`pseudonymize`].

use std::path::PathBuf;

pub use ncompass_core::privacy::*;
pub use ncompass_store::privacy::{check_database, PrivacyError};
pub use ncompass_store::pseudonymize;

use crate::db;

/// The default key file: beside an SQLite database (`ncompass.db.key`), or
/// `ncompass.key` in the working directory for PostgreSQL.
pub fn default_key_file(database: &str) -> PathBuf {
    match db::Kind::of(database) {
        db::Kind::Sqlite => PathBuf::from(format!("{database}.key")),
        db::Kind::Postgres => PathBuf::from("ncompass.key"),
    }
}

/// The settings of `settings`, with the key loaded (or created).
fn from_settings(settings: &crate::config::Settings) -> Result<Privacy, KeyError> {
    let key = MacKey::load_or_create(&settings.mac_key_path())?;
    Ok(Privacy {
        mode: settings.mac_privacy,
        key,
        keep_probe_requests: settings.keep_probe_requests,
        keep_presence: settings.keep_presence,
    })
}

/// The privacy settings of `settings`, checked against the database (which must be
/// migrated): the key loaded or created, and the database's key and mode agreeing.
pub fn open(settings: &crate::config::Settings) -> Result<Privacy, PrivacyError> {
    let privacy = from_settings(settings)?;
    let mut conn = db::connect(&settings.database)?;
    check_database(&privacy, &mut conn, &settings.mac_key_path())?;
    Ok(privacy)
}
