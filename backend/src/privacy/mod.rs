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

pub mod pseudonymize;

use std::path::{Path, PathBuf};

pub use ncompass_core::privacy::*;

use crate::db::{self, settings, Conn};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot read the database's privacy settings: {0}")]
    Database(#[from] diesel::result::Error),
    #[error(
        "the database was written under another MAC key (its fingerprint is {stored}, the \
         key in {path} has {given}): start with the key file it was written with \
         (--mac-key-file); with another key no stored MAC could be found or erased"
    )]
    OtherKey {
        stored: String,
        given: String,
        path: String,
    },
    #[error(
        "the database holds real (raw) client MACs; to store pseudonyms from now on, first \
         convert what is stored: stop the server and run `ncompass pseudonymize` with the \
         same --database and --mac-key-file, then start it with --mac-privacy keyed"
    )]
    HoldsRawMacs,
    #[error(
        "the database holds pseudonymized client MACs (it was served with --mac-privacy \
         keyed); pseudonyms cannot be turned back into MACs, so serve it with \
         --mac-privacy keyed"
    )]
    HoldsPseudonyms,
    #[error(
        "an `ncompass pseudonymize` run on this database was interrupted; run it again \
         (it goes on where it stopped) before serving"
    )]
    PseudonymizeUnfinished,
}

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

/// Makes sure the database was written under this key and in this mode, recording
/// both in a database that has none yet.
pub fn check_database(
    privacy: &Privacy,
    conn: &mut Conn,
    key_path: &Path,
) -> Result<(), PrivacyError> {
    let fingerprint = privacy.key.fingerprint();
    let stored = settings::get_or_insert(conn, settings::MAC_KEY_FINGERPRINT, &fingerprint)?;
    if stored != fingerprint {
        return Err(PrivacyError::OtherKey {
            stored,
            given: fingerprint,
            path: key_path.display().to_string(),
        });
    }
    let wanted = privacy.mode.as_str();
    let stored = settings::get(conn, settings::MAC_PRIVACY)?;
    let raw_stored = matches!(stored.as_deref(), None | Some("raw"));
    match stored.as_deref() {
        Some(mode) if mode == wanted => return Ok(()),
        Some(settings::PSEUDONYMIZING) => return Err(PrivacyError::PseudonymizeUnfinished),
        _ => {}
    }
    // A database from before the setting holds raw MACs; an empty one takes any mode.
    if (raw_stored && privacy.mode == MacPrivacy::Raw) || !settings::holds_client_macs(conn)? {
        settings::set(conn, settings::MAC_PRIVACY, wanted)?;
        Ok(())
    } else if raw_stored {
        Err(PrivacyError::HoldsRawMacs)
    } else {
        Err(PrivacyError::HoldsPseudonyms)
    }
}

/// The privacy settings of `settings`, checked against the database (which must be
/// migrated): the key loaded or created, and the database's key and mode agreeing.
pub fn open(settings: &crate::config::Settings) -> Result<Privacy, PrivacyError> {
    let privacy = from_settings(settings)?;
    let mut conn = db::connect(&settings.database).map_err(|error| {
        PrivacyError::Database(diesel::result::Error::QueryBuilderError(Box::new(error)))
    })?;
    check_database(&privacy, &mut conn, &settings.mac_key_path())?;
    Ok(privacy)
}
