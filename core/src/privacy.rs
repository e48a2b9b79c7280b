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
//! Checking a database against the key and mode, retention, erasure and pseudonymizing
//! a stored database live in the storage crate; this module is the pure part.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::cloudtrax::Report;
use crate::mac::Mac;

/// How client MACs are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacPrivacy {
    /// As the access point heard them.
    Raw,
    /// Replaced by a keyed pseudonym before anything is stored or logged.
    Keyed,
}

impl MacPrivacy {
    pub fn as_str(self) -> &'static str {
        match self {
            MacPrivacy::Raw => "raw",
            MacPrivacy::Keyed => "keyed",
        }
    }
}

impl std::fmt::Display for MacPrivacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MacPrivacy {
    type Err = String;

    fn from_str(text: &str) -> Result<MacPrivacy, String> {
        match text {
            "raw" => Ok(MacPrivacy::Raw),
            "keyed" => Ok(MacPrivacy::Keyed),
            other => Err(format!("unknown MAC privacy mode {other:?} (raw or keyed)")),
        }
    }
}

/// The secret of the keyed hash: 32 random bytes, kept in a file of its own.
#[derive(Clone)]
pub struct MacKey([u8; KEY_BYTES]);

/// The length of a key.
pub const KEY_BYTES: usize = 32;

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MacKey({})", self.fingerprint())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the MAC key file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the MAC key file {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the MAC key file {path} does not hold a key (64 hexadecimal digits on one line); \
         restore the file it was, or remove it to have a new key made (only on a new \
         database: data stored under the old key could no longer be found by MAC)"
    )]
    Malformed { path: String },
}

impl MacKey {
    /// The key in `path`, or a new one written there (mode 0600) when there is no file.
    pub fn load_or_create(path: &Path) -> Result<MacKey, KeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => MacKey::parse(&text).ok_or_else(|| KeyError::Malformed {
                path: path.display().to_string(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = MacKey::random().map_err(|source| KeyError::Create {
                    path: path.display().to_string(),
                    source,
                })?;
                match key.write_new(path) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "created a new MAC key file; back it up with the database");
                        Ok(key)
                    }
                    // Another instance created it meanwhile: use theirs.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        MacKey::load_or_create(path)
                    }
                    Err(source) => Err(KeyError::Create {
                        path: path.display().to_string(),
                        source,
                    }),
                }
            }
            Err(source) => Err(KeyError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn random() -> std::io::Result<MacKey> {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
        Ok(MacKey(bytes))
    }

    /// Written to a temporary file first and linked into place, so no reader ever sees a
    /// half-written key and two instances starting at once end up with one key.
    fn write_new(&self, path: &Path) -> std::io::Result<()> {
        let dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temporary = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name()
                .map_or_else(|| "key".into(), |name| name.to_string_lossy()),
            std::process::id()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = (|| {
            let mut file = options.open(&temporary)?;
            writeln!(file, "{}", hex::encode(self.0))?;
            file.sync_all()?;
            std::fs::hard_link(&temporary, path)
        })();
        let _ = std::fs::remove_file(&temporary);
        written
    }

    fn parse(text: &str) -> Option<MacKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(MacKey(bytes.try_into().ok()?))
    }

    /// A key for tests.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> MacKey {
        MacKey(bytes)
    }

    fn hmac(&self, message: &[u8]) -> [u8; 32] {
        // HMAC takes a key of any length: `new_from_slice` cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// The pseudonym of `mac`: the first 48 bits of HMAC-SHA256(key, canonical MAC),
    /// locally administered (bit 0x02 set) and unicast (bit 0x01 clear).
    pub fn pseudonym(&self, mac: Mac) -> Mac {
        let digest = self.hmac(mac.canonical().as_str().as_bytes());
        let mut octets = [0u8; 6];
        octets.copy_from_slice(&digest[..6]);
        octets[0] = (octets[0] | 0x02) & !0x01;
        Mac::from_octets(octets)
    }

    /// Names the key without revealing it: the database keeps it to refuse a server
    /// started with another key.
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.hmac(b"ncompass MAC key fingerprint")[..8])
    }
}

/// The privacy settings a server runs with, shared by the webhook, the writer and the
/// API.
#[derive(Debug, Clone)]
pub struct Privacy {
    pub mode: MacPrivacy,
    pub key: MacKey,
    /// Probe requests (and their reports and rejections) are deleted this long after
    /// their `last_seen`; kept for ever when `None`.
    pub keep_probe_requests: Option<Duration>,
    /// Presence segments are deleted this long after they end.
    pub keep_presence: Option<Duration>,
}

impl Privacy {
    /// Replaces every client MAC of `report` by its pseudonym in `keyed` mode, after
    /// noting whether the real one is randomized. Nothing to do in `raw` mode.
    pub fn apply(&self, report: &mut Report) {
        if self.mode == MacPrivacy::Keyed {
            for probe in &mut report.probe_requests {
                probe.randomized = probe.mac.is_randomized();
                probe.mac = self.key.pseudonym(probe.mac);
            }
        }
    }

    /// The MAC a client MAC is stored under: itself, or its pseudonym.
    pub fn stored(&self, mac: Mac) -> Mac {
        match self.mode {
            MacPrivacy::Raw => mac,
            MacPrivacy::Keyed => self.key.pseudonym(mac),
        }
    }

    /// The stored MACs a MAC given to the API may name. In `keyed` mode it may be a
    /// real MAC (an owner's request: its pseudonym is stored) or a pseudonym read off
    /// a page (stored as it is); both are looked for. A false match would need a
    /// pseudonym equal to another device's pseudonym's pseudonym: 1 in 2^46.
    pub fn candidates(&self, mac: Mac) -> Vec<Mac> {
        match self.mode {
            MacPrivacy::Raw => vec![mac],
            MacPrivacy::Keyed => vec![self.key.pseudonym(mac), mac],
        }
    }

    /// The opt-out list's entry for a real MAC: its keyed hash, in both modes.
    pub fn opt_out_entry(&self, mac: Mac) -> Mac {
        self.key.pseudonym(mac)
    }

    /// The opt-out entry of a client MAC as stored: in `keyed` mode it is its
    /// pseudonym already.
    pub fn opt_out_entry_of_stored(&self, stored: Mac) -> Mac {
        match self.mode {
            MacPrivacy::Raw => self.key.pseudonym(stored),
            MacPrivacy::Keyed => stored,
        }
    }

    /// The opt-out entry of the device given to the API as `mac` and found stored as
    /// `found` ([`Privacy::candidates`]): a pseudonym given is the hash already.
    pub fn opt_out_entry_of_device(&self, mac: Mac, found: Option<Mac>) -> Mac {
        found.map_or_else(
            || self.opt_out_entry(mac),
            |stored| self.opt_out_entry_of_stored(stored),
        )
    }

    /// What `/api/v1/health` and the dashboard tell anyone looking.
    pub fn summary(&self) -> api_types::PrivacySummary {
        let seconds = |keep: Option<Duration>| keep.map(|keep| keep.as_secs());
        api_types::PrivacySummary {
            mac_privacy: self.mode.as_str().to_string(),
            keep_probe_requests_s: seconds(self.keep_probe_requests),
            keep_presence_s: seconds(self.keep_presence),
        }
    }
}

/// Replaces text that looks like a MAC (12 hex digits in pairs separated by `:`, `-`
/// or their percent-encodings) by `<mac>`: access log lines in `keyed` mode, where a
/// filter or a device path may name a real MAC.
pub fn redact_macs(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(length) = mac_at(&bytes[i..]) {
            out.push_str("<mac>");
            i += length;
        } else {
            let c = text[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The MACs written in `text` (with `:` or `-`, any case).
pub fn macs_in(text: &str) -> impl Iterator<Item = Mac> + '_ {
    (0..text.len()).filter_map(move |at| {
        let candidate = text.get(at..at + 17)?;
        Mac::parse(candidate)
    })
}

/// `text` with its percent-escapes decoded (what the router and the query parser see),
/// so that a MAC written `48%2D5a…` is recognised too.
pub fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The length of a MAC starting at the beginning of `bytes`, if one does.
fn mac_at(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for octet in 0..6 {
        if octet > 0 {
            at += separator_at(&bytes[at..])?;
        }
        if !(bytes.get(at)?.is_ascii_hexdigit() && bytes.get(at + 1)?.is_ascii_hexdigit()) {
            return None;
        }
        at += 2;
    }
    Some(at)
}

fn separator_at(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [b':' | b'-', ..] => Some(1),
        [b'%', b'3', b'a' | b'A', ..] => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MacKey {
        MacKey::from_bytes([7; KEY_BYTES])
    }

    #[test]
    fn pseudonyms_are_stable_locally_administered_unicast_and_keyed() {
        let real = Mac::parse("48:5a:3f:37:de:f7").unwrap();
        let pseudonym = key().pseudonym(real);
        assert_eq!(pseudonym, key().pseudonym(real));
        assert_ne!(pseudonym, real);
        assert!(pseudonym.is_randomized());
        assert_eq!(pseudonym.octets()[0] & 0x01, 0);
        assert_ne!(
            pseudonym,
            MacKey::from_bytes([8; KEY_BYTES]).pseudonym(real)
        );
        // Any case and separator name the same MAC.
        let upper = Mac::parse("48-5A-3F-37-DE-F7").unwrap();
        assert_eq!(key().pseudonym(upper), pseudonym);
    }

    #[test]
    fn key_files_are_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.key");
        let created = MacKey::load_or_create(&path).unwrap();
        let again = MacKey::load_or_create(&path).unwrap();
        assert_eq!(created.fingerprint(), again.fingerprint());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(matches!(
            MacKey::load_or_create(&path),
            Err(KeyError::Malformed { .. })
        ));
        let missing_dir = dir.path().join("nowhere").join("db.key");
        assert!(matches!(
            MacKey::load_or_create(&missing_dir),
            Err(KeyError::Create { .. })
        ));
    }

    #[test]
    fn log_lines_lose_their_macs() {
        assert_eq!(
            redact_macs("GET /api/v1/probe-requests?mac=48%3A5a%3A3F%3A37%3Ade%3Af7&x=1"),
            "GET /api/v1/probe-requests?mac=<mac>&x=1"
        );
        assert_eq!(
            redact_macs("DELETE /api/v1/devices/48-5A-3F-37-DE-F7 HTTP/1.1"),
            "DELETE /api/v1/devices/<mac> HTTP/1.1"
        );
        assert_eq!(redact_macs("/api/v1/nodes é"), "/api/v1/nodes é");
        assert_eq!(
            redact_macs(&percent_decoded(
                "/api/v1/devices/%34%38%2D5a-3f-37-de-f7/data"
            )),
            "/api/v1/devices/<mac>/data"
        );
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(
            macs_in("{\"mac\": \"48:5A:3F:37:DE:F7\", \"x\": \"4e-20-5d-18-d0-ab\"}")
                .map(|mac| mac.to_string())
                .collect::<Vec<_>>(),
            ["48:5a:3f:37:de:f7", "4e:20:5d:18:d0:ab"]
        );
        assert_eq!(redact_macs("48:5a:3f"), "48:5a:3f");
    }
}
