//! Cisco Meraki's Scanning API (v2 and v3): a post's body checked and validated, and
//! mapped to the model every vendor's data is stored in: one [`Report`] per access
//! point that heard something, plus what the post says of each device ([`Device`]).
//!
//! The contract (Cisco's Scanning API documentation): a JSON body with `version`
//! (`"2.0"`, `"2.1"`, `"3.0"`), `secret` (the shared secret of the receiving URL, a body
//! field), `type` (v2 `DevicesSeen` / `BluetoothDevicesSeen`, v3 `WiFi` / `BLE`, and
//! `Bluetooth` seen in real v3 traffic) and `data`:
//! - v2: `data.apMac` (the posting access point) and `data.observations[]` with
//!   `clientMac`, `seenTime` (ISO 8601), `seenEpoch`, `rssi` (positive: dBm = rssi - 95),
//!   `ssid` (null when not associated), `os`, `manufacturer`;
//! - v3: `data.networkId` and `data.observations[]` with `clientMac`, `manufacturer`,
//!   `os`, `ssid`, `latestRecord {time, nearestApMac, nearestApRssi}` (dBm) and
//!   `locations[] {time, rssiRecords[] {apMac, rssi}}`.
//!
//! IP addresses, user ids, coordinates and tags are never read (unknown fields are
//! ignored), so they cannot be stored.
//!
//! The mapping, one probe request per (access point, record time) a Wi-Fi observation
//! holds: v3 each location's `rssiRecords` when any location has them, else the
//! `latestRecord`'s nearest access point; v2 the posting `apMac` at `seenEpoch`.
//! `first_seen = last_seen` = the record's time, `count` 1, every signal the record's
//! dBm, associated when `ssid` is set, randomized from the client MAC's locally
//! administered bit. A record re-sent in a later post (v3 repeats a client's latest
//! record after it has gone) maps to the same observation key and is stored once.
//!
//! Pure functions of bytes, unit tested below and fuzzed (`fuzz/fuzz_targets/meraki.rs`).

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cloudtrax::{Object, SIGNAL_RANGE};
use crate::cloudtrax::{ProbeRequest, Report, ReportError, TimeRules, MAX_CLOCK_AHEAD_S};
use crate::mac::Mac;

/// v2's `rssi` is the signal above the noise floor: dBm = rssi - 95.
pub const V2_RSSI_OFFSET: i64 = 95;
/// The longest manufacturer, OS or SSID kept (an SSID is at most 32 bytes; the
/// others are vendor strings).
pub const MAX_TEXT_BYTES: usize = 128;
/// The most locations one v3 observation may hold, and records one location may hold:
/// real posts have a handful; more is a broken or hostile sender.
pub const MAX_LOCATIONS: usize = 64;
pub const MAX_RSSI_RECORDS: usize = 64;
/// The most probe requests one post may map to: bounds the work of one request
/// whatever the body limit is set to.
pub const MAX_PROBE_REQUESTS: usize = 250_000;
/// The longest Meraki network id taken (real ones are like `L_643802754597887745`).
pub const MAX_NETWORK_ID_BYTES: usize = 64;

/// The Scanning API's major versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    /// The number stored as the report's version.
    pub fn number(self) -> i64 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// What a post is about: Wi-Fi clients are stored, Bluetooth devices only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WiFi,
    Bluetooth,
}

/// A post's outside: read before anything else, so that a post without the right
/// secret costs one shallow parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub version: Version,
    pub kind: Kind,
    /// The body's `secret` field; `None` when absent or not a string.
    pub secret: Option<String>,
}

/// What a Meraki network is stored as: an NCompass network of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Meraki's id (v3 `networkId`); for v2, which names no network, the receiving
    /// source's name.
    pub meraki_id: String,
    /// Its stable NCompass number ([`network_number`]).
    pub network_id: i64,
}

/// What a post says of a device (by its client MAC): kept per device, shown beside
/// its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub mac: Mac,
    pub manufacturer: Option<String>,
    pub os: Option<String>,
    pub ssid: Option<String>,
    /// The latest record time the post holds for it, Unix seconds.
    pub seen: i64,
}

/// A validated post, mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub version: Version,
    pub kind: Kind,
    pub network: Network,
    /// Observations in the body (Wi-Fi or Bluetooth).
    pub observations: u64,
    /// Observations received but not stored by design (Bluetooth).
    pub ignored: u64,
    /// One report per access point that heard something, its rows in key order.
    pub reports: Vec<Report>,
    /// Each device the post describes, once.
    pub devices: Vec<Device>,
}

impl Post {
    /// Probe requests the post maps to.
    pub fn probe_requests(&self) -> usize {
        self.reports.iter().map(|r| r.probe_requests.len()).sum()
    }
}

/// The NCompass network number of a Meraki network: negative (CloudTrax's are never),
/// stable (a hash of the id: every instance and every database agree), within
/// JavaScript's safe integers (52 bits).
pub fn network_number(meraki_id: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(b"ncompass meraki network\0")
        .chain_update(meraki_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let bits = u64::from_le_bytes(first) >> 12;
    // 52 bits: fits i64 with room, so the negation cannot overflow.
    -1 - i64::try_from(bits).unwrap_or(0)
}

/// Why a new source is refused: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub field: &'static str,
    pub message: String,
}

/// The longest source name, validator and secret taken.
pub const MAX_SOURCE_NAME: usize = 64;
pub const MAX_VALIDATOR: usize = 128;
pub const SECRET_BYTES: std::ops::RangeInclusive<usize> = 8..=256;

/// Checks a new source's name (its URL's last segment), vendor, validator and secret.
pub fn check_source(
    name: &str,
    vendor: &str,
    validator: &str,
    secret: &str,
) -> Result<(), SourceError> {
    let error = |field, message: String| Err(SourceError { field, message });
    let name_ok = !name.is_empty()
        && name.len() <= MAX_SOURCE_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return error(
            "name",
            format!("must be 1 to {MAX_SOURCE_NAME} of a-z, 0-9, '-' and '_', got {name:?}"),
        );
    }
    if vendor != "meraki" {
        return error("vendor", format!("must be \"meraki\", got {vendor:?}"));
    }
    let validator_ok = !validator.is_empty()
        && validator.len() <= MAX_VALIDATOR
        && validator.bytes().all(|b| b.is_ascii_graphic());
    if !validator_ok {
        return error(
            "validator",
            format!("must be 1 to {MAX_VALIDATOR} printable ASCII characters without spaces (Meraki's organization validator)"),
        );
    }
    if !SECRET_BYTES.contains(&secret.len()) {
        return error(
            "secret",
            format!(
                "must be {} to {} bytes, got {}",
                SECRET_BYTES.start(),
                SECRET_BYTES.end(),
                secret.len()
            ),
        );
    }
    Ok(())
}

/// The digest a source's secret is kept as (hex SHA-256): the secret is not stored.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `presented` (a post's `secret`) is the secret of `digest`, in time that does
/// not depend on where they differ.
pub fn secret_matches(digest: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    let ours = secret_digest(presented);
    let (a, b) = (ours.as_bytes(), digest.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct WireSecret {
    secret: Option<serde_json::Value>,
}

/// A post's `secret` field alone (`None`: absent or not a string), read before any
/// other rule is checked; [`ReportError::Syntax`] for a body that is not JSON.
pub fn read_secret(body: &[u8]) -> Result<Option<String>, ReportError> {
    let Object(wire): Object<WireSecret> = deserialize(body)?;
    Ok(match wire.secret {
        Some(serde_json::Value::String(secret)) => Some(secret),
        _ => None,
    })
}

#[derive(Deserialize)]
struct WireEnvelope {
    version: Option<serde_json::Value>,
    secret: Option<serde_json::Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
    data: Option<IgnoredAny>,
}

/// Reads a post's version, type and secret, ignoring the rest. 400 for a body that is
/// not JSON, 422 naming the field for a missing or unknown version or type.
pub fn read_envelope(body: &[u8]) -> Result<Envelope, ReportError> {
    let Object(wire): Object<WireEnvelope> = deserialize(body)?;
    let version = match &wire.version {
        None => return Err(invalid("version", "is required")),
        Some(serde_json::Value::String(text)) => match text.as_str() {
            "2.0" | "2.1" => Version::V2,
            "3.0" => Version::V3,
            other => {
                return Err(invalid(
                    "version",
                    format!("must be \"2.0\", \"2.1\" or \"3.0\", got {other:?}"),
                ))
            }
        },
        Some(other) => {
            return Err(invalid(
                "version",
                format!("must be a string like \"3.0\", got {other}"),
            ))
        }
    };
    let kind = match (version, wire.kind.as_deref()) {
        (_, None) => return Err(invalid("type", "is required")),
        (Version::V2, Some("DevicesSeen")) | (Version::V3, Some("WiFi")) => Kind::WiFi,
        (Version::V2, Some("BluetoothDevicesSeen")) | (Version::V3, Some("BLE" | "Bluetooth")) => {
            Kind::Bluetooth
        }
        (Version::V2, Some(other)) => {
            return Err(invalid(
                "type",
                format!(
                "must be \"DevicesSeen\" or \"BluetoothDevicesSeen\" for version 2, got {other:?}"
            ),
            ))
        }
        (Version::V3, Some(other)) => {
            return Err(invalid(
                "type",
                format!("must be \"WiFi\", \"BLE\" or \"Bluetooth\" for version 3, got {other:?}"),
            ))
        }
    };
    if wire.data.is_none() {
        return Err(invalid("data", "is required"));
    }
    let secret = match wire.secret {
        Some(serde_json::Value::String(secret)) => Some(secret),
        _ => None,
    };
    Ok(Envelope {
        version,
        kind,
        secret,
    })
}

#[derive(Deserialize)]
struct WireBody<D> {
    data: Option<Object<D>>,
}

#[derive(Deserialize)]
struct WireCounted {
    observations: Option<Vec<IgnoredAny>>,
    #[serde(rename = "networkId")]
    network_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireV2Data {
    ap_mac: Option<String>,
    observations: Option<Vec<Object<WireV2Observation>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireV2Observation {
    client_mac: Option<String>,
    seen_time: Option<String>,
    seen_epoch: Option<i64>,
    rssi: Option<i64>,
    ssid: Option<String>,
    os: Option<String>,
    manufacturer: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireV3Data {
    network_id: Option<String>,
    observations: Option<Vec<Object<WireV3Observation>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireV3Observation {
    client_mac: Option<String>,
    ssid: Option<String>,
    os: Option<String>,
    manufacturer: Option<String>,
    latest_record: Option<Object<WireLatestRecord>>,
    locations: Option<Vec<Object<WireLocation>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLatestRecord {
    time: Option<String>,
    nearest_ap_mac: Option<String>,
    nearest_ap_rssi: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLocation {
    time: Option<String>,
    rssi_records: Option<Vec<Object<WireRssiRecord>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRssiRecord {
    ap_mac: Option<String>,
    rssi: Option<i64>,
}

/// Parses and validates a whole post whose [`Envelope`] was read, received under
/// `rules`. `v2_network` names the network of a v2 post (which names none): the
/// receiving source's name. Every rule holds for every record, or the post is refused
/// whole: 400 for a body that is not JSON, 422 naming the first offending field.
pub fn parse_post(
    body: &[u8],
    envelope: &Envelope,
    rules: &TimeRules,
    v2_network: &str,
) -> Result<Post, ReportError> {
    if envelope.kind == Kind::Bluetooth {
        let Object(wire): Object<WireBody<WireCounted>> = deserialize(body)?;
        let Object(data) = wire.data.ok_or_else(|| invalid("data", "is required"))?;
        let observations = data
            .observations
            .ok_or_else(|| invalid("data.observations", "is required"))?;
        let meraki_id = match (envelope.version, data.network_id) {
            (Version::V3, Some(id)) => network_id(id)?,
            _ => v2_network.to_string(),
        };
        let count = u64::try_from(observations.len()).unwrap_or(u64::MAX);
        return Ok(Post {
            version: envelope.version,
            kind: Kind::Bluetooth,
            network: network(meraki_id),
            observations: count,
            ignored: count,
            reports: Vec::new(),
            devices: Vec::new(),
        });
    }
    let mut rows = Rows::default();
    let (meraki_id, observations) = match envelope.version {
        Version::V2 => {
            let Object(wire): Object<WireBody<WireV2Data>> = deserialize(body)?;
            let Object(data) = wire.data.ok_or_else(|| invalid("data", "is required"))?;
            let ap = mac(required(data.ap_mac, "data.apMac")?, "data.apMac")?;
            let observations = required(data.observations, "data.observations")?;
            let count = observations.len();
            for (i, Object(observation)) in observations.into_iter().enumerate() {
                v2_observation(
                    &mut rows,
                    ap,
                    observation,
                    &format!("data.observations[{i}]"),
                    rules,
                )?;
            }
            (v2_network.to_string(), count)
        }
        Version::V3 => {
            let Object(wire): Object<WireBody<WireV3Data>> = deserialize(body)?;
            let Object(data) = wire.data.ok_or_else(|| invalid("data", "is required"))?;
            let id = network_id(required(data.network_id, "data.networkId")?)?;
            let observations = required(data.observations, "data.observations")?;
            let count = observations.len();
            for (i, Object(observation)) in observations.into_iter().enumerate() {
                v3_observation(
                    &mut rows,
                    observation,
                    &format!("data.observations[{i}]"),
                    rules,
                )?;
            }
            (id, count)
        }
    };
    let network = network(meraki_id);
    let reports = rows
        .by_ap
        .into_iter()
        .map(|(ap, probes)| Report {
            network_id: network.network_id,
            node_mac: Mac::from_u64(ap),
            version: envelope.version.number(),
            probe_requests: probes.into_values().collect(),
        })
        .collect();
    Ok(Post {
        version: envelope.version,
        kind: Kind::WiFi,
        network,
        observations: u64::try_from(observations).unwrap_or(u64::MAX),
        ignored: 0,
        reports,
        devices: rows.devices.into_values().collect(),
    })
}

/// The probe requests and devices of a post so far.
#[derive(Default)]
struct Rows {
    /// access point -> (time, client) -> its probe request; a record repeated within
    /// the post is one observation.
    by_ap: BTreeMap<u64, BTreeMap<(i64, u64), ProbeRequest>>,
    count: usize,
    devices: BTreeMap<u64, Device>,
}

impl Rows {
    fn add(
        &mut self,
        ap: Mac,
        client: Mac,
        time: i64,
        signal: i32,
        associated: bool,
    ) -> Result<(), ReportError> {
        let probes = self.by_ap.entry(ap.to_u64()).or_default();
        if let std::collections::btree_map::Entry::Vacant(entry) =
            probes.entry((time, client.to_u64()))
        {
            if self.count >= MAX_PROBE_REQUESTS {
                return Err(ReportError::Invalid {
                    field: Some("data.observations".to_string()),
                    message: format!(
                        "maps to more than {MAX_PROBE_REQUESTS} probe requests; split the post"
                    ),
                });
            }
            self.count += 1;
            entry.insert(ProbeRequest {
                mac: client,
                count: 1,
                min_signal: signal,
                max_signal: signal,
                avg_signal: signal,
                last_seen_signal: Some(signal),
                first_seen: time,
                last_seen: time,
                associated,
                randomized: client.is_randomized(),
            });
        }
        Ok(())
    }

    fn describe(&mut self, device: Device) {
        let keep = |new: Option<String>, old: Option<String>| new.or(old);
        match self.devices.entry(device.mac.to_u64()) {
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(device);
            }
            std::collections::btree_map::Entry::Occupied(mut entry) => {
                let old = entry.get().clone();
                // The later description wins; what it leaves out, the earlier says.
                let (newer, older) = if device.seen >= old.seen {
                    (device, old)
                } else {
                    (old, device)
                };
                entry.insert(Device {
                    mac: newer.mac,
                    manufacturer: keep(newer.manufacturer, older.manufacturer),
                    os: keep(newer.os, older.os),
                    ssid: keep(newer.ssid, older.ssid),
                    seen: newer.seen,
                });
            }
        }
    }
}

fn v2_observation(
    rows: &mut Rows,
    ap: Mac,
    wire: WireV2Observation,
    at: &str,
    rules: &TimeRules,
) -> Result<(), ReportError> {
    let path = |name: &str| format!("{at}.{name}");
    let client = mac(
        required(wire.client_mac, &path("clientMac"))?,
        &path("clientMac"),
    )?;
    let time = match (wire.seen_epoch, wire.seen_time) {
        (Some(epoch), seen_time) => {
            let epoch = record_time(epoch, &path("seenEpoch"), rules)?;
            if let Some(text) = seen_time {
                let parsed = iso_time(&text, &path("seenTime"))?;
                if (parsed - epoch).abs() > 1 {
                    return Err(invalid(
                        path("seenTime"),
                        format!("must be the same moment as seenEpoch ({epoch}), got {text:?}"),
                    ));
                }
            }
            epoch
        }
        (None, Some(text)) => record_time(
            iso_time(&text, &path("seenTime"))?,
            &path("seenTime"),
            rules,
        )?,
        (None, None) => return Err(invalid(path("seenEpoch"), "is required (or seenTime)")),
    };
    let rssi = required(wire.rssi, &path("rssi"))?;
    if !(0..=V2_RSSI_OFFSET).contains(&rssi) {
        return Err(invalid(
            path("rssi"),
            format!("must be from 0 to {V2_RSSI_OFFSET} (dB above the noise floor), got {rssi}"),
        ));
    }
    let signal = dbm(rssi - V2_RSSI_OFFSET, &path("rssi"))?;
    let device = describe(client, wire.manufacturer, wire.os, wire.ssid, time, at)?;
    rows.add(ap, client, time, signal, device.ssid.is_some())?;
    rows.describe(device);
    Ok(())
}

fn v3_observation(
    rows: &mut Rows,
    wire: WireV3Observation,
    at: &str,
    rules: &TimeRules,
) -> Result<(), ReportError> {
    let path = |name: &str| format!("{at}.{name}");
    let client = mac(
        required(wire.client_mac, &path("clientMac"))?,
        &path("clientMac"),
    )?;
    let associated = wire.ssid.as_deref().is_some_and(|ssid| !ssid.is_empty());
    let locations = wire.locations.unwrap_or_default();
    if locations.len() > MAX_LOCATIONS {
        return Err(invalid(
            path("locations"),
            format!(
                "must hold at most {MAX_LOCATIONS} locations, got {}",
                locations.len()
            ),
        ));
    }
    let mut latest: Option<i64> = None;
    let mut heard = false;
    for (i, Object(location)) in locations.into_iter().enumerate() {
        let at = path(&format!("locations[{i}]"));
        let Some(records) = location.rssi_records.filter(|r| !r.is_empty()) else {
            continue;
        };
        if records.len() > MAX_RSSI_RECORDS {
            return Err(invalid(
                format!("{at}.rssiRecords"),
                format!(
                    "must hold at most {MAX_RSSI_RECORDS} records, got {}",
                    records.len()
                ),
            ));
        }
        let field = format!("{at}.time");
        let time = record_time(
            iso_time(&required(location.time, &field)?, &field)?,
            &field,
            rules,
        )?;
        for (j, Object(record)) in records.into_iter().enumerate() {
            let at = format!("{at}.rssiRecords[{j}]");
            let ap = mac(
                required(record.ap_mac, &format!("{at}.apMac"))?,
                &format!("{at}.apMac"),
            )?;
            let signal = dbm(
                required(record.rssi, &format!("{at}.rssi"))?,
                &format!("{at}.rssi"),
            )?;
            rows.add(ap, client, time, signal, associated)?;
        }
        heard = true;
        latest = latest.max(Some(time));
    }
    let record = match wire.latest_record {
        Some(Object(record)) => Some(record),
        None if heard => None,
        None => {
            return Err(invalid(
                path("latestRecord"),
                "is required when no location has rssiRecords",
            ))
        }
    };
    if let Some(record) = record {
        let at = path("latestRecord");
        let field = format!("{at}.time");
        let time = record_time(
            iso_time(&required(record.time, &field)?, &field)?,
            &field,
            rules,
        )?;
        let ap_field = format!("{at}.nearestApMac");
        let rssi_field = format!("{at}.nearestApRssi");
        // Validated even when the locations' records are used: a broken latest record
        // is a broken post.
        let ap = mac(required(record.nearest_ap_mac, &ap_field)?, &ap_field)?;
        let signal = dbm(required(record.nearest_ap_rssi, &rssi_field)?, &rssi_field)?;
        if !heard {
            rows.add(ap, client, time, signal, associated)?;
        }
        latest = latest.max(Some(time));
    }
    let seen = latest.unwrap_or_default();
    rows.describe(describe(
        client,
        wire.manufacturer,
        wire.os,
        wire.ssid,
        seen,
        at,
    )?);
    Ok(())
}

/// A device's description, each text checked; an empty one is no description.
fn describe(
    mac: Mac,
    manufacturer: Option<String>,
    os: Option<String>,
    ssid: Option<String>,
    seen: i64,
    at: &str,
) -> Result<Device, ReportError> {
    let text = |value: Option<String>, name: &str| -> Result<Option<String>, ReportError> {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        if value.len() > MAX_TEXT_BYTES {
            return Err(invalid(
                format!("{at}.{name}"),
                format!(
                    "must be at most {MAX_TEXT_BYTES} bytes, got {}",
                    value.len()
                ),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(invalid(
                format!("{at}.{name}"),
                "must not hold control characters",
            ));
        }
        Ok(Some(value))
    };
    Ok(Device {
        mac,
        manufacturer: text(manufacturer, "manufacturer")?,
        os: text(os, "os")?,
        ssid: text(ssid, "ssid")?,
        seen,
    })
}

fn network(meraki_id: String) -> Network {
    Network {
        network_id: network_number(&meraki_id),
        meraki_id,
    }
}

fn network_id(id: String) -> Result<String, ReportError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_NETWORK_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(invalid(
            "data.networkId",
            format!(
                "must be a Meraki network id like \"L_643802754597887745\" (letters, digits, \
                 '_' and '-', at most {MAX_NETWORK_ID_BYTES}), got {id:?}"
            ),
        ));
    }
    Ok(id)
}

/// A record's time, under the same rules as a CloudTrax `last_seen`: not before 1970,
/// at most [`MAX_CLOCK_AHEAD_S`] after the post is received.
fn record_time(time: i64, field: &str, rules: &TimeRules) -> Result<i64, ReportError> {
    if time < 0 {
        return Err(invalid(
            field,
            format!("must not be before 1970, got {time}"),
        ));
    }
    let latest = rules.received_at.saturating_add(MAX_CLOCK_AHEAD_S);
    if time > latest {
        return Err(invalid(
            field,
            format!(
                "must be at most {MAX_CLOCK_AHEAD_S} s after the post is received ({time} > \
                 {latest}): the sender's clock is ahead"
            ),
        ));
    }
    Ok(time)
}

/// An ISO 8601 time with its offset (`2026-12-07T10:15:30Z`, fractions allowed), as
/// Unix seconds (fractions dropped).
fn iso_time(text: &str, field: &str) -> Result<i64, ReportError> {
    text.parse::<jiff::Timestamp>()
        .map(|time| time.as_second())
        .map_err(|_| {
            invalid(
                field,
                format!("must be an ISO 8601 time with an offset, like \"2026-12-07T10:15:30Z\", got {text:?}"),
            )
        })
}

fn dbm(value: i64, field: &str) -> Result<i32, ReportError> {
    if !SIGNAL_RANGE.contains(&value) {
        return Err(invalid(
            field,
            format!(
                "must be a signal in dBm from {} to {}, got {value}",
                SIGNAL_RANGE.start(),
                SIGNAL_RANGE.end()
            ),
        ));
    }
    i32::try_from(value).map_err(|_| invalid(field, "out of range"))
}

fn mac(text: String, field: &str) -> Result<Mac, ReportError> {
    Mac::parse(&text).ok_or_else(|| {
        invalid(
            field,
            format!("must be a MAC address of 6 octets, like 00:1a:2b:3c:4d:5e, got {text:?}"),
        )
    })
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ReportError> {
    value.ok_or_else(|| invalid(field, "is required"))
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ReportError {
    ReportError::Invalid {
        field: Some(field.into()),
        message: message.into(),
    }
}

/// The whole body as `T`, with the path of a mistyped value (422) or a syntax error (400).
fn deserialize<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, ReportError> {
    crate::cloudtrax::deserialize_body(body)
}

/// Bodies for tests and benchmarks: the documentation's examples, and a generator of
/// real-looking v3 posts of any size.
pub mod samples {
    /// A v2 `DevicesSeen` post as the Scanning API documentation shows it (secret
    /// `s3cret-meraki`).
    pub const V2: &[u8] = include_bytes!("../samples/meraki-v2.json");
    /// A v3 `WiFi` post as the Scanning API documentation shows it (secret
    /// `s3cret-meraki`, network `L_643802754597887745`).
    pub const V3: &[u8] = include_bytes!("../samples/meraki-v3.json");
    /// A v3 `BLE` post.
    pub const V3_BLE: &[u8] = include_bytes!("../samples/meraki-v3-ble.json");

    /// A v3 WiFi post of `observations` clients heard by a network of 40 access points
    /// at `now`, drawn from `seed`: vendors' OUIs with random tails, a few randomized
    /// (associated) MACs, each client with one location heard by 1 to 4 access points.
    pub fn v3_body(observations: usize, seed: u64, now: i64, secret: &str) -> Vec<u8> {
        const OUIS: [u32; 8] = [
            0x3C22FB, 0xF01898, 0xA483E7, 0x001A11, 0xDCA632, 0x8C8590, 0xB827EB, 0x404E36,
        ];
        const MANUFACTURERS: [&str; 8] = [
            "Apple",
            "Apple",
            "Apple",
            "Google",
            "Raspberry Pi",
            "Apple",
            "Raspberry Pi",
            "HTC",
        ];
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            // xorshift64*: deterministic, no dependency.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mac = |value: u64| {
            let o = value.to_be_bytes();
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                o[2], o[3], o[4], o[5], o[6], o[7]
            )
        };
        let time = |t: i64| {
            jiff::Timestamp::from_second(t)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let aps: Vec<String> = (0..40u64)
            .map(|i| mac(0x88_15_44_00_00_00 + i * 7))
            .collect();
        let mut items = Vec::with_capacity(observations);
        for _ in 0..observations {
            let r = next();
            let pick = usize::try_from(r % 8).unwrap_or(0);
            let randomized = r % 10 == 0;
            let client = if randomized {
                (next() & 0xFFFF_FFFF_FFFF & !0x01_00_00_00_00_00) | 0x02_00_00_00_00_00
            } else {
                (u64::from(OUIS[pick]) << 24) | (next() & 0xFF_FFFF)
            };
            let seen = now - i64::try_from(next() % 60).unwrap_or(0);
            let heard_by = 1 + usize::try_from(next() % 4).unwrap_or(0);
            let first_ap = usize::try_from(next() % 40).unwrap_or(0);
            let records: Vec<String> = (0..heard_by)
                .map(|k| {
                    let rssi = -40 - i64::try_from(next() % 50).unwrap_or(0);
                    format!(
                        "{{\"apMac\":\"{}\",\"rssi\":{rssi}}}",
                        aps[(first_ap + k * 3) % aps.len()]
                    )
                })
                .collect();
            let nearest = &aps[first_ap];
            let ssid = if randomized || r % 3 == 0 {
                "\"Guest Wi-Fi\"".to_string()
            } else {
                "null".to_string()
            };
            items.push(format!(
                "{{\"clientMac\":\"{client}\",\"manufacturer\":\"{manufacturer}\",\"os\":null,\
                 \"ssid\":{ssid},\"ipv4\":null,\"ipv6\":null,\"userId\":null,\
                 \"latestRecord\":{{\"time\":\"{t}\",\"nearestApMac\":\"{nearest}\",\"nearestApRssi\":-45}},\
                 \"locations\":[{{\"lat\":37.77,\"lng\":-122.39,\"x\":12.4,\"y\":3.1,\"variance\":4.2,\
                 \"floorPlanId\":\"g_727\",\"floorPlanName\":\"Level 1\",\"time\":\"{t}\",\
                 \"nearestApTags\":[\"lobby\"],\"rssiRecords\":[{records}]}}]}}",
                client = mac(client),
                manufacturer = if randomized { "" } else { MANUFACTURERS[pick] },
                t = time(seen),
                records = records.join(","),
            ));
        }
        format!(
            "{{\"version\":\"3.0\",\"secret\":\"{secret}\",\"type\":\"WiFi\",\"data\":\
             {{\"networkId\":\"L_643802754597887745\",\"observations\":[{}]}}}}",
            items.join(",")
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When the sample posts were received: their records are from 2026-12-07 10:00 UTC.
    const RECEIVED: i64 = 1_796_637_600;

    fn parse(body: &[u8]) -> Result<Post, ReportError> {
        let envelope = read_envelope(body)?;
        parse_post(body, &envelope, &TimeRules::at(RECEIVED), "lobby")
    }

    fn field_of(error: ReportError) -> Option<String> {
        match error {
            ReportError::Invalid { field, .. } => field,
            ReportError::Syntax(_) => None,
        }
    }

    /// `sample` on one line, without spaces after colons and commas between values,
    /// with `from` replaced by `to` (once).
    fn edited(sample: &[u8], from: &str, to: &str) -> Vec<u8> {
        let text = std::str::from_utf8(sample).unwrap_or_default();
        let text: String = text
            .lines()
            .map(str::trim)
            .collect::<String>()
            .replace("\": ", "\":")
            .replace("\", \"", "\",\"")
            .replace(", {", ",{");
        assert!(text.contains(from), "the sample holds {from}");
        text.replacen(from, to, 1).into_bytes()
    }

    fn v3_with(from: &str, to: &str) -> Vec<u8> {
        edited(samples::V3, from, to)
    }

    fn v2_with(from: &str, to: &str) -> Vec<u8> {
        edited(samples::V2, from, to)
    }

    #[test]
    fn a_source_needs_a_url_name_a_validator_and_a_long_enough_secret() {
        let check = |name: &str, vendor: &str, validator: &str, secret: &str| {
            check_source(name, vendor, validator, secret).map_err(|e| e.field)
        };
        assert_eq!(check("lobby-2_a", "meraki", "da6a17c4", "12345678"), Ok(()));
        assert_eq!(check("", "meraki", "v", "12345678"), Err("name"));
        assert_eq!(check("Lobby", "meraki", "v", "12345678"), Err("name"));
        assert_eq!(check("a/b", "meraki", "v", "12345678"), Err("name"));
        assert_eq!(
            check(&"a".repeat(65), "meraki", "v", "12345678"),
            Err("name")
        );
        assert_eq!(check("lobby", "cisco", "v", "12345678"), Err("vendor"));
        assert_eq!(check("lobby", "meraki", "", "12345678"), Err("validator"));
        assert_eq!(
            check("lobby", "meraki", "a b", "12345678"),
            Err("validator")
        );
        assert_eq!(check("lobby", "meraki", "v", "1234567"), Err("secret"));
        assert_eq!(
            check("lobby", "meraki", "v", &"s".repeat(257)),
            Err("secret")
        );
    }

    #[test]
    fn a_secret_matches_its_digest_only() {
        let digest = secret_digest("s3cret-meraki");
        assert_eq!(digest.len(), 64);
        assert!(secret_matches(&digest, Some("s3cret-meraki")));
        assert!(!secret_matches(&digest, Some("s3cret-merakI")));
        assert!(!secret_matches(&digest, Some("")));
        assert!(!secret_matches(&digest, None));
        assert!(!secret_matches("", Some("s3cret-meraki")));
    }

    #[test]
    fn network_numbers_are_negative_stable_and_safe_in_javascript() {
        let a = network_number("L_643802754597887745");
        assert_eq!(
            a, -3_831_620_037_363_106,
            "the number is part of the stored data"
        );
        assert_ne!(a, network_number("L_643802754597887746"));
        for id in ["", "N_1", "L_643802754597887745", "lobby"] {
            let n = network_number(id);
            assert!((-(1_i64 << 52)..0).contains(&n), "{id}: {n}");
        }
    }

    #[test]
    fn the_envelope_names_version_type_and_secret() {
        let envelope = read_envelope(samples::V3).map_err(field_of);
        assert_eq!(
            envelope,
            Ok(Envelope {
                version: Version::V3,
                kind: Kind::WiFi,
                secret: Some("s3cret-meraki".to_string()),
            })
        );
        let v2 = read_envelope(samples::V2).map_err(field_of);
        assert_eq!(
            v2.map(|e| (e.version, e.kind)),
            Ok((Version::V2, Kind::WiFi))
        );
        let ble = read_envelope(samples::V3_BLE).map_err(field_of);
        assert_eq!(ble.map(|e| e.kind), Ok(Kind::Bluetooth));
        for (body, field) in [
            (&br#"{"secret":"x","type":"WiFi","data":{}}"#[..], "version"),
            (
                br#"{"version":"4.0","secret":"x","type":"WiFi","data":{}}"#,
                "version",
            ),
            (
                br#"{"version":3,"secret":"x","type":"WiFi","data":{}}"#,
                "version",
            ),
            (br#"{"version":"3.0","secret":"x","data":{}}"#, "type"),
            (
                br#"{"version":"3.0","secret":"x","type":"DevicesSeen","data":{}}"#,
                "type",
            ),
            (
                br#"{"version":"2.0","secret":"x","type":"WiFi","data":{}}"#,
                "type",
            ),
            (br#"{"version":"3.0","secret":"x","type":"WiFi"}"#, "data"),
        ] {
            assert_eq!(
                read_envelope(body).map_err(field_of),
                Err(Some(field.to_string()))
            );
        }
        assert!(matches!(
            read_envelope(b"{\"version\":"),
            Err(ReportError::Syntax(_))
        ));
        assert!(matches!(
            read_envelope(b"[1,2]"),
            Err(ReportError::Invalid { .. })
        ));
        // No secret, or not a string: the receiver answers 403, not a parse error.
        let none = read_envelope(br#"{"version":"3.0","type":"WiFi","data":{}}"#).map_err(field_of);
        assert_eq!(none.map(|e| e.secret), Ok(None));
    }

    #[test]
    fn a_v3_post_maps_to_one_row_per_access_point_that_heard_each_record() {
        let post = parse(samples::V3).map_err(field_of);
        let Ok(post) = post else {
            panic!("the v3 sample parses: {post:?}");
        };
        assert_eq!(post.network.meraki_id, "L_643802754597887745");
        assert_eq!(
            post.network.network_id,
            network_number("L_643802754597887745")
        );
        assert_eq!(post.observations, 3);
        assert_eq!(post.ignored, 0);
        // Client 1: two access points in its location's rssiRecords; client 2: no
        // location, its nearest access point; client 3: rssiRecords of one.
        let rows: Vec<(String, String, i64, i32, bool, bool)> = post
            .reports
            .iter()
            .flat_map(|report| {
                report.probe_requests.iter().map(move |p| {
                    (
                        report.node_mac.to_string(),
                        p.mac.to_string(),
                        p.last_seen,
                        p.max_signal,
                        p.associated,
                        p.randomized,
                    )
                })
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "88:15:44:ab:cd:01".into(),
                    "00:26:ab:b8:a9:a5".into(),
                    1_796_637_590,
                    -52,
                    true,
                    false
                ),
                (
                    "88:15:44:ab:cd:01".into(),
                    "da:a1:19:3b:55:0c".into(),
                    1_796_637_595,
                    -71,
                    true,
                    true
                ),
                (
                    "88:15:44:ab:cd:02".into(),
                    "00:26:ab:b8:a9:a5".into(),
                    1_796_637_590,
                    -67,
                    true,
                    false
                ),
                (
                    "88:15:44:ab:cd:03".into(),
                    "f0:18:98:11:22:33".into(),
                    1_796_637_580,
                    -60,
                    false,
                    false
                ),
            ]
        );
        for report in &post.reports {
            assert_eq!(report.version, 3);
            assert_eq!(report.network_id, post.network.network_id);
            for probe in &report.probe_requests {
                assert_eq!((probe.count, probe.first_seen), (1, probe.last_seen));
                assert_eq!(probe.last_seen_signal, Some(probe.min_signal));
            }
        }
        type Described<'a> = (String, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let devices: Vec<Described> = post
            .devices
            .iter()
            .map(|d| {
                (
                    d.mac.to_string(),
                    d.manufacturer.as_deref(),
                    d.os.as_deref(),
                    d.ssid.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            devices,
            vec![
                (
                    "00:26:ab:b8:a9:a5".into(),
                    Some("Seiko Epson"),
                    Some("Android"),
                    Some("Guest Wi-Fi")
                ),
                ("da:a1:19:3b:55:0c".into(), None, None, Some("Staff")),
                ("f0:18:98:11:22:33".into(), Some("Apple"), Some("iOS"), None),
            ]
        );
    }

    #[test]
    fn a_v2_post_maps_to_rows_of_its_access_point_in_dbm() {
        let post = parse(samples::V2).map_err(field_of);
        let Ok(post) = post else {
            panic!("the v2 sample parses: {post:?}");
        };
        assert_eq!(post.network.meraki_id, "lobby");
        assert_eq!(post.reports.len(), 1);
        let report = &post.reports[0];
        assert_eq!(
            (report.node_mac.to_string(), report.version),
            ("00:18:0a:13:dd:b0".into(), 2)
        );
        let rows: Vec<(String, i64, i32, bool)> = report
            .probe_requests
            .iter()
            .map(|p| (p.mac.to_string(), p.last_seen, p.avg_signal, p.associated))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("00:26:ab:b8:a9:a5".into(), 1_796_637_590, 24 - 95, true),
                ("6c:40:08:aa:bb:cc".into(), 1_796_637_592, 11 - 95, false),
            ]
        );
    }

    #[test]
    fn a_bluetooth_post_is_counted_and_maps_to_nothing() {
        let post = parse(samples::V3_BLE).map_err(field_of);
        assert_eq!(
            post.map(|p| (p.observations, p.ignored, p.reports.len(), p.devices.len())),
            Ok((2, 2, 0, 0))
        );
    }

    #[test]
    fn every_broken_field_is_named() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                v3_with(
                    "\"clientMac\":\"00:26:ab:b8:a9:a5\"",
                    "\"clientMac\":\"00:26:ab\"",
                ),
                "data.observations[0].clientMac",
            ),
            (
                v3_with("\"rssi\":-52", "\"rssi\":-200"),
                "data.observations[0].locations[0].rssiRecords[0].rssi",
            ),
            (
                v3_with("\"rssi\":-52", "\"rssi\":12"),
                "data.observations[0].locations[0].rssiRecords[0].rssi",
            ),
            (
                v3_with("\"apMac\":\"88:15:44:ab:cd:01\"", "\"apMac\":\"zz\""),
                "data.observations[0].locations[0].rssiRecords[0].apMac",
            ),
            (
                v3_with(
                    "\"time\":\"2026-12-07T09:59:50Z\",\"nearestApTags\"",
                    "\"time\":\"yesterday\",\"nearestApTags\"",
                ),
                "data.observations[0].locations[0].time",
            ),
            (
                v3_with(
                    "\"time\":\"2026-12-07T09:59:50Z\",\"nearestApTags\"",
                    "\"time\":\"2126-12-07T09:59:50Z\",\"nearestApTags\"",
                ),
                "data.observations[0].locations[0].time",
            ),
            (
                v3_with(
                    "\"time\":\"2026-12-07T09:59:50Z\",\"nearestApTags\"",
                    "\"time\":\"1969-12-31T23:59:59Z\",\"nearestApTags\"",
                ),
                "data.observations[0].locations[0].time",
            ),
            (
                v3_with(
                    "\"networkId\":\"L_643802754597887745\"",
                    "\"networkId\":\"L 6438; drop\"",
                ),
                "data.networkId",
            ),
            (
                v3_with("\"networkId\":\"L_643802754597887745\",", ""),
                "data.networkId",
            ),
            (
                v3_with(
                    "\"manufacturer\":\"Seiko Epson\"",
                    "\"manufacturer\":\"Seiko\\u0000Epson\"",
                ),
                "data.observations[0].manufacturer",
            ),
            (
                v3_with("\"nearestApRssi\":-71", "\"nearestApRssi\":\"-71\""),
                "data.observations[1].latestRecord.nearestApRssi",
            ),
            (
                v3_with("\"observations\":[", "\"observations\":7,\"x\":["),
                "data.observations",
            ),
            (
                v2_with("\"rssi\":24", "\"rssi\":-24"),
                "data.observations[0].rssi",
            ),
            (
                v2_with("\"rssi\":24", "\"rssi\":300"),
                "data.observations[0].rssi",
            ),
            (
                v2_with("\"seenEpoch\":1796637590", "\"seenEpoch\":1796637000"),
                "data.observations[0].seenTime",
            ),
            (
                v2_with("\"apMac\":\"00:18:0a:13:dd:b0\",", ""),
                "data.apMac",
            ),
        ];
        for (body, field) in cases {
            let text = String::from_utf8_lossy(&body).into_owned();
            assert_eq!(
                parse(&body).map_err(field_of).map(|_| ()),
                Err(Some(field.to_string())),
                "{text}"
            );
        }
    }

    #[test]
    fn a_record_repeated_within_a_post_is_one_row() {
        let body = v3_with(
            "\"rssiRecords\":[{\"apMac\":\"88:15:44:ab:cd:01\",\"rssi\":-52}",
            "\"rssiRecords\":[{\"apMac\":\"88:15:44:ab:cd:01\",\"rssi\":-52},{\"apMac\":\"88:15:44:ab:cd:01\",\"rssi\":-50}",
        );
        let plain = parse(samples::V3)
            .map(|p| p.probe_requests())
            .map_err(field_of);
        let repeated = parse(&body).map(|p| p.probe_requests()).map_err(field_of);
        assert_eq!(repeated, plain);
    }

    #[test]
    fn the_generated_body_is_valid_and_as_large_as_asked() {
        let body = samples::v3_body(3_000, 7, RECEIVED, "s3cret-meraki");
        let post = parse(&body).map_err(field_of);
        let Ok(post) = post else {
            panic!("the generated body parses: {post:?}");
        };
        assert_eq!(post.observations, 3_000);
        assert!(post.probe_requests() >= 3_000, "{}", post.probe_requests());
        assert!(
            post.reports.len() > 30,
            "heard by most of the 40 access points"
        );
        assert!(post.devices.iter().any(|d| d.mac.is_randomized()));
        assert_eq!(
            samples::v3_body(3_000, 7, RECEIVED, "s3cret-meraki"),
            body,
            "deterministic"
        );
    }
}
