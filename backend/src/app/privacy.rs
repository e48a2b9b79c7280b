//! The privacy settings a server runs with, opened from its settings: the MAC key
//! loaded (or created) from its file and checked against what the database remembers
//! (`db::mac_mode`). The modes, keys and pseudonyms themselves are
//! `ncompass_core::privacy`.

use ncompass_core::privacy::{KeyError, MacKey, Privacy};
use ncompass_store::mac_mode::{check_database, PrivacyError};

use crate::app::config::Settings;
use crate::db;

/// The settings of `settings`, with the key loaded (or created).
fn from_settings(settings: &Settings) -> Result<Privacy, KeyError> {
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
pub fn open(settings: &Settings) -> Result<Privacy, PrivacyError> {
    let privacy = from_settings(settings)?;
    let mut conn = db::connect(&settings.database)?;
    check_database(&privacy, &mut conn, &settings.mac_key_path())?;
    Ok(privacy)
}
