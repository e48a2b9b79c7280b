//! The database's own record of how its MACs are stored: it remembers the MAC key's
//! fingerprint and the privacy mode, so that a server started with another key or mode
//! refuses instead of mixing them.

use std::path::Path;

use ncompass_core::privacy::{KeyError, MacPrivacy, Privacy};

use crate::{metadata, Conn};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Open(#[from] crate::OpenError),
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

/// Makes sure the database was written under this key and in this mode, recording
/// both in a database that has none yet.
pub fn check_database(
    privacy: &Privacy,
    conn: &mut Conn,
    key_path: &Path,
) -> Result<(), PrivacyError> {
    let fingerprint = privacy.key.fingerprint();
    let stored = metadata::get_or_insert(conn, metadata::MAC_KEY_FINGERPRINT, &fingerprint)?;
    if stored != fingerprint {
        return Err(PrivacyError::OtherKey {
            stored,
            given: fingerprint,
            path: key_path.display().to_string(),
        });
    }
    let wanted = privacy.mode.as_str();
    let stored = metadata::get(conn, metadata::MAC_PRIVACY)?;
    let raw_stored = matches!(stored.as_deref(), None | Some("raw"));
    match stored.as_deref() {
        Some(mode) if mode == wanted => return Ok(()),
        Some(metadata::PSEUDONYMIZING) => return Err(PrivacyError::PseudonymizeUnfinished),
        _ => {}
    }
    // A database from before the setting holds raw MACs; an empty one takes any mode.
    if (raw_stored && privacy.mode == MacPrivacy::Raw) || !metadata::holds_client_macs(conn)? {
        metadata::set(conn, metadata::MAC_PRIVACY, wanted)?;
        Ok(())
    } else if raw_stored {
        Err(PrivacyError::HoldsRawMacs)
    } else {
        Err(PrivacyError::HoldsPseudonyms)
    }
}
