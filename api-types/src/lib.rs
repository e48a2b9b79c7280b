//! The NCompass REST contract: every request and response body of `/api/v1` and of the
//! CloudTrax webhook, as plain serde types.
//!
//! This crate is compiled both into the backend and into the wasm dashboard, so it
//! depends on serde alone; the OpenAPI schema derives sit behind the `openapi` feature,
//! which only the backend turns on.

use serde::{Deserialize, Serialize};

/// One probe request as stored: what one access point heard of one client in one
/// reporting period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": 42,
    "network_id": 179283,
    "node_mac": "ac:86:74:61:4f:c0",
    "mac": "48:5a:3f:37:de:f7",
    "count": 10,
    "min_signal": -37,
    "max_signal": -26,
    "avg_signal": -30,
    "last_seen_signal": null,
    "first_seen": 1455845791,
    "last_seen": 1455845811,
    "associated": true,
    "randomized": false,
    "vendor": "cloudtrax"
})))]
pub struct ProbeRequest {
    /// Stable identifier of the stored row.
    pub id: i64,
    /// CloudTrax network the reporting access point belongs to.
    pub network_id: i64,
    /// MAC of the access point that heard the client (canonical: lower case, colons).
    pub node_mac: String,
    /// MAC of the client device (canonical: lower case, colons).
    pub mac: String,
    /// Times the client was heard in the reporting period.
    pub count: i64,
    /// Weakest signal in the period, dBm.
    pub min_signal: i32,
    /// Strongest signal in the period, dBm.
    pub max_signal: i32,
    /// Average signal in the period, dBm.
    pub avg_signal: i32,
    /// Signal of the last frame heard, dBm (sent by later firmware only).
    pub last_seen_signal: Option<i32>,
    /// First time heard in the period, Unix seconds (UTC).
    pub first_seen: i64,
    /// Last time heard in the period, Unix seconds (UTC).
    pub last_seen: i64,
    /// The client was connected to the network.
    pub associated: bool,
    /// The client MAC is locally administered (a randomized, private address).
    pub randomized: bool,
    /// The network's name, when an administrator gave it one.
    #[serde(default)]
    pub network_name: Option<String>,
    /// The access point's name, when it has one.
    #[serde(default)]
    pub node_name: Option<String>,
    /// The access point's current zone, when it has one.
    #[serde(default)]
    pub zone: Option<String>,
    /// Which vendor's access points reported it (`cloudtrax` or `meraki`).
    #[serde(default)]
    pub source_vendor: Vendor,
    /// The device's manufacturer, as a vendor (Meraki) reported it; null when none did.
    #[serde(default)]
    pub manufacturer: Option<String>,
    /// The device's operating system, as a vendor (Meraki) reported it.
    #[serde(default)]
    pub os: Option<String>,
    /// The SSID the device was last reported connected to (Meraki).
    #[serde(default)]
    pub ssid: Option<String>,
    /// The organization IEEE assigned the MAC's first three bytes to (the server's copy
    /// of the registry, Debian's `ieee-data`); `randomized` for a randomized MAC (it
    /// was assigned to nobody); null when the block is unknown, or when MACs are stored
    /// keyed (a pseudonym has no vendor).
    #[serde(default)]
    pub vendor: Option<String>,
}

/// The access points' vendor a row, an access point or a network came from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// CloudTrax and the access points that post its format (`POST /receive`).
    #[default]
    Cloudtrax,
    /// Cisco Meraki's Scanning API (`/meraki/{name}`).
    Meraki,
}

impl Vendor {
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Cloudtrax => "cloudtrax",
            Vendor::Meraki => "meraki",
        }
    }

    /// The vendor named `text` (as the API spells it).
    pub fn parse(text: &str) -> Option<Vendor> {
        match text {
            "cloudtrax" => Some(Vendor::Cloudtrax),
            "meraki" => Some(Vendor::Meraki),
            _ => None,
        }
    }

    /// Whether the vendor's feed leaves randomized MACs out (Meraki's Scanning API v3
    /// reports only clients that are associated or have a stable MAC), so that its
    /// capture rates are not comparable to another's.
    pub fn drops_randomized(self) -> bool {
        self == Vendor::Meraki
    }
}

/// One page of probe requests, newest `last_seen` first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeRequestPage {
    pub items: Vec<ProbeRequest>,
    /// Pass as `cursor` to get the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// How many probe requests match a set of filters, counted no further than a cap so the
/// answer costs the same on any table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"count": 1234, "exact": true})))]
pub struct ProbeRequestCount {
    /// The rows matching the filters; the cap when `exact` is false.
    pub count: u64,
    /// `false`: counting stopped at the cap (`count`), and more rows match.
    pub exact: bool,
}

/// The most rows `GET /api/v1/probe-requests/count` counts.
pub const MAX_COUNT: u64 = 100_000;

/// An access point that has posted at least one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "network_id": 179283,
    "node_mac": "ac:86:74:61:4f:c0",
    "first_report_at": 1764150000,
    "last_report_at": 1764153600,
    "reports": 120,
    "reports_last_hour": 120,
    "probe_requests": 5400,
    "name": "Entrance",
    "zone": "Ground floor",
    "network_name": "Main street store",
    "silent": false,
    "silent_since": null
})))]
pub struct Node {
    pub network_id: i64,
    /// Which vendor's format it reports in.
    #[serde(default)]
    pub vendor: Vendor,
    /// MAC of the access point (canonical: lower case, colons).
    pub node_mac: String,
    /// Its name, set with `PUT /api/v1/nodes/{node_mac}`; null while unnamed.
    #[serde(default)]
    pub name: Option<String>,
    /// Its zone (a group of access points, like a floor); null when in none.
    #[serde(default)]
    pub zone: Option<String>,
    /// Its network's name; null while unnamed.
    #[serde(default)]
    pub network_name: Option<String>,
    /// No report has arrived from it for `--silence-after` (default 5 minutes).
    #[serde(default)]
    pub silent: bool,
    /// While silent: when its last report arrived, Unix seconds; null otherwise.
    #[serde(default)]
    pub silent_since: Option<i64>,
    /// When the first report arrived, Unix seconds (server clock).
    pub first_report_at: i64,
    /// When the latest report arrived, Unix seconds (server clock).
    pub last_report_at: i64,
    /// Reports received, duplicates included.
    pub reports: i64,
    /// Reports received in the hour before this answer: 120 for an access point posting
    /// every 30 s, 0 for one that has gone quiet.
    pub reports_last_hour: i64,
    /// Probe requests stored from this access point (duplicates not counted).
    pub probe_requests: i64,
}

/// Every access point seen, most recently reporting first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeList {
    pub items: Vec<Node>,
}

/// What happened to an accepted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "report_id": 7,
    "received": 5,
    "stored": 3,
    "duplicates": 2
})))]
pub struct IngestResult {
    /// Identifier of the stored report record. A report whose every probe request was
    /// stored before (a re-sent or replayed body) keeps no record of its own and is not
    /// taken as a sign that its access point is alive: this names the report that
    /// stored them.
    pub report_id: i64,
    /// Probe requests in the report.
    pub received: i64,
    /// Probe requests stored as new rows.
    pub stored: i64,
    /// Probe requests already stored from an earlier post (same network, node, client,
    /// first and last seen) and therefore not stored again.
    pub duplicates: i64,
}

/// Service health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"status": "ok", "database": "ok",
    "writer": {"status": "ok", "alive": true, "oldest_queued_ms": null, "last_error": null,
               "last_error_at": null, "restarts": 0},
    "privacy": {"mac_privacy": "keyed", "keep_probe_requests_s": 86400, "keep_presence_s": null}})))]
pub struct Health {
    /// `ok` when the service can serve requests and store reports.
    pub status: String,
    /// `ok` when the database answered a query.
    pub database: String,
    /// The writer that stores reports.
    pub writer: WriterStatus,
    /// What is kept of the devices heard, and for how long.
    pub privacy: PrivacySummary,
}

/// What the server keeps of the devices its access points hear, and for how long: the
/// dashboard's footer shows it to anyone looking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivacySummary {
    /// `raw`: client MACs are stored as heard. `keyed`: each is replaced, before it is
    /// stored or logged, by a keyed pseudonym (HMAC-SHA256 under a secret key, shown as
    /// a locally administered MAC).
    pub mac_privacy: String,
    /// Probe requests are deleted this many seconds after their `last_seen`; null:
    /// kept for ever.
    pub keep_probe_requests_s: Option<u64>,
    /// Presence segments (the presence figures' source) are deleted this many seconds
    /// after they end; null: kept for ever.
    pub keep_presence_s: Option<u64>,
}

/// The writer that stores every report, as `/api/v1/health` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WriterStatus {
    /// `ok` when ingestion can make progress, else why not (restarting, stalled, or
    /// its last attempt to store failed).
    pub status: String,
    /// A run of the writer is going (false while it restarts).
    pub alive: bool,
    /// How long the oldest report waiting for the writer has waited, milliseconds;
    /// null when none waits.
    pub oldest_queued_ms: Option<u64>,
    /// The writer's last error (a failed store, a panic, a connection that broke).
    pub last_error: Option<String>,
    /// When that error happened, Unix seconds.
    pub last_error_at: Option<i64>,
    /// Times the writer started anew after a panic or a broken connection.
    pub restarts: u64,
}

/// An RFC 9457 problem document: the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "type": "about:blank",
    "title": "Unprocessable Content",
    "status": 422,
    "detail": "must be a MAC address of 6 octets, like 00:1a:2b:3c:4d:5e",
    "field": "probe_requests[3].mac"
})))]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type (the HTTP reason phrase).
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a human.
    pub detail: String,
    /// JSON path of the offending field in the request body, e.g. `probe_requests[3].mac`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Name of the offending query or path parameter, e.g. `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// Media type of [`Problem`] bodies.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Query parameters of `GET /api/v1/probe-requests`. Every filter is optional; filters
/// combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ProbeRequestQuery {
    /// Page size, 1 to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 1000, default = 100, example = 100)
    )]
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Client MAC, exact match; any case, `:` or `-` separators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(example = "48:5a:3f:37:de:f7"))]
    pub mac: Option<String>,
    /// Access point MAC, exact match; any case, `:` or `-` separators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(example = "AC-86-74-61-4F-C0"))]
    pub node_mac: Option<String>,
    /// Only probe requests heard by the access points now in this zone (exact name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(example = "Ground floor"))]
    pub zone: Option<String>,
    /// Network id: CloudTrax's, or negative for a Meraki network (see `/api/v1/networks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(example = 179283))]
    pub network_id: Option<i64>,
    /// Only rows reported by this vendor's access points: `cloudtrax` (and those that
    /// post its format) or `meraki`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_vendor: Option<Vendor>,
    /// `true`: only clients connected to the network; `false`: only those that were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated: Option<bool>,
    /// `true`: only randomized (locally administered) client MACs; `false`: only
    /// globally unique ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub randomized: Option<bool>,
    /// Only probe requests last seen at or after this time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 0, example = 1455845700))]
    pub since: Option<i64>,
    /// Only probe requests last seen at or before this time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 0, example = 1455845900))]
    pub until: Option<i64>,
}

/// Default page size of `GET /api/v1/probe-requests`.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size of `GET /api/v1/probe-requests`.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A report refused at the webhook, kept for diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": 12,
    "received_at": 1764153600,
    "status": 401,
    "reason": "bad_signature",
    "detail": "the Signature header does not match the body",
    "field": null,
    "network_id": 179283,
    "node_mac": "ac:86:74:61:4f:c0",
    "body_prefix": "{\"network_id\":179283,\"node_mac\":\"AC:86:74:61:4F:C0\",..."
})))]
pub struct Rejection {
    pub id: i64,
    /// When it arrived, Unix seconds (server clock).
    pub received_at: i64,
    /// The HTTP status it was answered with.
    pub status: u16,
    /// `invalid_json`, `invalid_report`, `missing_signature`, `bad_signature`,
    /// `too_large`, `unreadable_body` or `body_timeout`.
    pub reason: String,
    /// What was wrong, as answered to the access point.
    pub detail: String,
    /// JSON path of the offending field, for `invalid_report`.
    pub field: Option<String>,
    /// The network the body names, when it names one; never read from a body whose
    /// signature was refused (such a body is not parsed at all).
    pub network_id: Option<i64>,
    /// The access point the body names, canonical, when it names a valid one.
    pub node_mac: Option<String>,
    /// The network's name, when it names one that has a name.
    #[serde(default)]
    pub network_name: Option<String>,
    /// The access point's name, when it names one that has a name.
    #[serde(default)]
    pub node_name: Option<String>,
    /// The access point's current zone, when it has one.
    #[serde(default)]
    pub zone: Option<String>,
    /// The first bytes of the body (lossy UTF-8).
    pub body_prefix: String,
}

/// The most recent rejections, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectionList {
    pub items: Vec<Rejection>,
}

/// Presence figures for a time range (see the README's definitions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "since": 1764115200, "until": 1764201599,
    "visit_gap_s": 600, "visitor_dwell_s": 300, "nearby_signal_dbm": -75,
    "devices": 412, "devices_non_randomized": 173, "devices_associated": 58,
    "devices_non_randomized_unassociated": 130, "devices_randomized_unassociated": 224,
    "visits": 530, "visitors": 121, "passers_by": 409, "capture_rate": 0.2283,
    "dwell_p50_s": 45, "dwell_p90_s": 1260, "returning_devices": 0
})))]
pub struct StatsSummary {
    /// The range, Unix seconds, inclusive.
    pub since: i64,
    pub until: i64,
    /// The thresholds the figures were computed with.
    pub visit_gap_s: i64,
    pub visitor_dwell_s: i64,
    pub nearby_signal_dbm: i32,
    /// Devices (client MACs within a network) with a visit overlapping the range, all of
    /// them: randomized MACs inflate this.
    pub devices: i64,
    /// Of those, devices whose MAC is not randomized.
    pub devices_non_randomized: i64,
    /// Of those, devices that were associated (connected) during a visit.
    pub devices_associated: i64,
    /// Devices never associated in the range, with a globally unique MAC. With
    /// `devices_associated` and `devices_randomized_unassociated` it splits `devices`.
    pub devices_non_randomized_unassociated: i64,
    /// Devices never associated in the range, with a randomized MAC.
    pub devices_randomized_unassociated: i64,
    /// Visits overlapping the range.
    pub visits: i64,
    /// Visits whose dwell reaches the visitor threshold and whose strongest signal
    /// reaches the nearby threshold.
    pub visitors: i64,
    /// The other visits.
    pub passers_by: i64,
    /// visitors / visits; `null` without visits.
    pub capture_rate: Option<f64>,
    /// Median dwell of the visits, seconds; `null` without visits.
    pub dwell_p50_s: Option<i64>,
    /// 90th percentile dwell of the visits, seconds; `null` without visits.
    pub dwell_p90_s: Option<i64>,
    /// Devices seen on a local day (of the request's `tz`, default UTC) of the range
    /// after having been seen on an earlier day of the range.
    pub returning_devices: i64,
    /// The IANA time zone whose local days `returning_devices` counts (the request's
    /// `tz`, else the network's); absent in a series' points (the series names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// With `compare=previous|last_week`: the same figures over the comparison window
    /// (of the whole range, or of this bucket in a series), and the change; absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared: Option<Compared>,
    /// `open` when the figures count only visits overlapping the opening hours of their
    /// network (the default wherever a network of the scope has opening hours), `all`
    /// when they count every hour (`hours=all`, or no opening hours set); absent in a
    /// series' points and a ranking's items (the answer names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// True when the range (or this bucket) lies wholly outside the opening hours of
    /// every network of the scope: its zeros mean closed, not empty. Absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    /// How much of what the scope's access points should have reported in the range
    /// (or bucket) arrived: the figures miss what the missing reports would have
    /// carried. Absent when not computed (a scope too large to count its reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<Completeness>,
    /// With `estimator=`: the estimate of the people (or devices) of the range or
    /// bucket, naming its estimator and the parameters it used (docs/ESTIMATORS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
}

/// An estimate of how many were there, by a named estimator (docs/ESTIMATORS.md):
/// `devices` (every MAC), `non_randomized`, `associated`, or `adjusted` (non-randomized
/// devices without long dwellers, divided by the share of phones that do not randomize,
/// measured on the associated devices of the range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "estimator": "adjusted", "value": 412.5, "long_dwell_s": 14400,
    "excluded_long_dwellers": 6, "randomized_share": 0.6,
    "randomized_share_from": "measured: 54 of 90 associated devices randomized"
})))]
pub struct Estimate {
    pub estimator: String,
    /// The estimate (a count for `devices`, `non_randomized` and `associated`).
    pub value: f64,
    /// `adjusted`: a device with a visit this long or longer is left out (staff,
    /// stationary devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_dwell_s: Option<i64>,
    /// `adjusted`: how many devices that left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_long_dwellers: Option<i64>,
    /// `adjusted`: the share of phones taken to randomize (at most 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub randomized_share: Option<f64>,
    /// `adjusted`: where that share comes from (measured on the associated devices of
    /// the range, or the default when fewer than 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub randomized_share_from: Option<String>,
}

/// The reports the access points of a scope were expected to send over a range, and
/// those received. Each access point's cadence is learned from its own reports (the
/// median count of the 5-minute, quarter-hour or hour slots it reported in; else its
/// average since its first report); nothing is expected of it before its first report
/// nor after now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "expected_reports": 240, "received_reports": 180, "share": 0.75,
    "silent_nodes": ["ac:86:74:00:00:02"]
})))]
pub struct Completeness {
    pub expected_reports: i64,
    pub received_reports: i64,
    /// received / expected, at most 1; null when none was expected (no access point
    /// had reported yet).
    pub share: Option<f64>,
    /// The access points that sent less than half of the reports expected of them in
    /// the range: what they would have heard is missing from the figures.
    pub silent_nodes: Vec<String>,
}

/// A range's (or bucket's) figures over the window it is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "compare": "last_week", "since": 1763510400, "until": 1763596799,
    "devices": 380, "devices_non_randomized": 160, "devices_associated": 61,
    "visits": 498, "visitors": 104, "passers_by": 394, "dwell_p50_s": 40,
    "returning_devices": 0,
    "change": {"devices": 0.0842, "devices_non_randomized": 0.0813,
               "devices_associated": -0.0492, "visits": 0.0643, "visitors": 0.1635}
})))]
pub struct Compared {
    /// `previous`: the window of the same length just before the range (or bucket);
    /// `last_week`: the same local times seven days before.
    pub compare: String,
    /// The comparison window, Unix seconds, inclusive.
    pub since: i64,
    pub until: i64,
    pub devices: i64,
    pub devices_non_randomized: i64,
    pub devices_associated: i64,
    pub visits: i64,
    pub visitors: i64,
    pub passers_by: i64,
    pub dwell_p50_s: Option<i64>,
    pub returning_devices: i64,
    /// The change from the comparison window to the range.
    pub change: FigureChange,
}

/// Relative changes, `(now - then) / then`: 0.25 is 25% more than in the comparison
/// window; `null` where the comparison window had none (no ratio to give).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FigureChange {
    pub devices: Option<f64>,
    pub devices_non_randomized: Option<f64>,
    pub devices_associated: Option<f64>,
    pub visits: Option<f64>,
    pub visitors: Option<f64>,
}

impl FigureChange {
    /// From the figures `then` (the comparison window's) to `now`.
    pub fn between(now: &StatsSummary, then: &StatsSummary) -> FigureChange {
        let change = |now: i64, then: i64| (then != 0).then(|| (now - then) as f64 / then as f64);
        FigureChange {
            devices: change(now.devices, then.devices),
            devices_non_randomized: change(now.devices_non_randomized, then.devices_non_randomized),
            devices_associated: change(now.devices_associated, then.devices_associated),
            visits: change(now.visits, then.visits),
            visitors: change(now.visitors, then.visitors),
        }
    }
}

impl Compared {
    /// `then` (the comparison window's figures, named `compare`) beside `now`.
    pub fn of(compare: &str, now: &StatsSummary, then: &StatsSummary) -> Compared {
        Compared {
            compare: compare.to_string(),
            since: then.since,
            until: then.until,
            devices: then.devices,
            devices_non_randomized: then.devices_non_randomized,
            devices_associated: then.devices_associated,
            visits: then.visits,
            visitors: then.visitors,
            passers_by: then.passers_by,
            dwell_p50_s: then.dwell_p50_s,
            returning_devices: then.returning_devices,
            change: FigureChange::between(now, then),
        }
    }
}

/// One bucket of the dwell-time histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DwellBucket {
    /// Dwell from this many seconds (inclusive)...
    pub from_s: i64,
    /// ... to this many (exclusive); `null` for the last, open bucket.
    pub to_s: Option<i64>,
    /// Visits in the bucket.
    pub visits: i64,
    /// Of them, visitors.
    pub visitors: i64,
}

/// Visits of a range by dwell time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DwellHistogram {
    pub since: i64,
    pub until: i64,
    pub buckets: Vec<DwellBucket>,
}

/// Presence figures of one access point over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeStats {
    pub node_mac: String,
    /// The access point's name, when it has one.
    #[serde(default)]
    pub name: Option<String>,
    /// Its current zone, when it has one.
    #[serde(default)]
    pub zone: Option<String>,
    /// Devices it heard during visits overlapping the range.
    pub devices: i64,
    /// Visits it heard (a visit heard by several access points counts for each).
    pub visits: i64,
    /// Devices for which it is the strongest access point over the range.
    pub strongest_for_devices: i64,
}

/// Per access point figures, most devices first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeStatsList {
    pub since: i64,
    pub until: i64,
    pub items: Vec<NodeStats>,
}

/// A zone's figures over a range: all its access points together (a device heard by two
/// of them counts once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneFigures {
    pub zone: String,
    /// Its access points (as named in `PUT /api/v1/nodes/{node_mac}`).
    pub access_points: Vec<String>,
    /// The summary's figures of the visits heard by any of them (with `compared` when
    /// asked).
    pub figures: StatsSummary,
}

/// The zones of a range, most visitors first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneRanking {
    pub since: i64,
    pub until: i64,
    /// The IANA time zone whose local days `returning_devices` counts.
    pub tz: String,
    /// `open` or `all`, as the summary's `hours`.
    #[serde(default = "all_hours")]
    pub hours: String,
    pub items: Vec<ZoneFigures>,
}

/// A network's figures over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkFigures {
    pub network_id: i64,
    pub name: Option<String>,
    /// The summary's figures of its visits (with `compared` when asked).
    pub figures: StatsSummary,
}

/// The networks of a range, most visitors first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkRanking {
    pub since: i64,
    pub until: i64,
    /// The IANA time zone whose local days `returning_devices` counts.
    pub tz: String,
    /// `open` or `all`, as the summary's `hours`.
    #[serde(default = "all_hours")]
    pub hours: String,
    pub items: Vec<NetworkFigures>,
}

/// One visit of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceVisit {
    /// First `first_seen` of the visit, Unix seconds.
    pub start: i64,
    /// Last `last_seen` of the visit, Unix seconds.
    pub end: i64,
    pub dwell_s: i64,
    /// The access point that heard it strongest.
    pub strongest_node_mac: String,
    /// That access point's name, when it has one.
    #[serde(default)]
    pub strongest_node_name: Option<String>,
    /// The strongest signal of the visit, dBm.
    pub max_signal: i32,
    pub associated: bool,
    pub visitor: bool,
}

/// A device's visits over a range, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceVisits {
    pub network_id: i64,
    /// The network's name, when an administrator gave it one.
    #[serde(default)]
    pub network_name: Option<String>,
    /// Canonical client MAC.
    pub mac: String,
    pub randomized: bool,
    pub since: i64,
    pub until: i64,
    pub visits: Vec<DeviceVisit>,
}

/// The summary's figures per 5 or 15 minutes, hour or day of a time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsSeries {
    /// `5m`, `15m`, `hour` or `day`.
    pub bucket: String,
    /// The IANA time zone whose hours or days the buckets are.
    pub tz: String,
    /// `open` or `all`, as the summary's `hours`: whether the points count only visits
    /// within opening hours (closed buckets say `closed`).
    #[serde(default = "all_hours")]
    pub hours: String,
    /// One summary per bucket, oldest first; each one's `since`/`until` are the bucket's
    /// first and last second.
    pub points: Vec<StatsSummary>,
}

/// What a caller may do. `viewer` reads everything; `admin` also changes data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    /// `viewer` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// How the caller of a request proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// The dashboard's session cookie, `ncompass_session`.
    Session,
    /// An API token, `Authorization: Bearer ncp_…`.
    Token,
    /// No credential: no account or token exists yet (protected mode), and the client
    /// is on the server's own machine.
    Loopback,
}

/// Who is signed in: the answer of `GET /api/v1/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "username": "alice",
    "role": "admin",
    "authenticated_by": "session"
})))]
pub struct SessionInfo {
    /// The user's name, or the token's name; absent in protected mode (loopback).
    pub username: Option<String>,
    pub role: Role,
    pub authenticated_by: AuthMethod,
}

/// The body of `POST /api/v1/session`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "username": "alice",
    "password": "correct horse battery staple"
})))]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("username", &self.username)
            .field("password", &"…")
            .finish()
    }
}

/// An entry of the opt-out list: the keyed hash of a client MAC whose observations are
/// dropped at ingest. The MAC itself is never kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "mac_hash": "d6:1f:0b:94:2e:71", "created_at": 1764201600, "created_by": "user alice"
})))]
pub struct OptOut {
    /// HMAC-SHA256 of the MAC under the server's key, as a locally administered MAC (in
    /// `keyed` mode: the device's pseudonym, as the API shows it).
    pub mac_hash: String,
    /// When it was added, Unix seconds.
    pub created_at: i64,
    /// Who added it: `user NAME`, `token NAME`, or the loopback client.
    pub created_by: String,
}

/// The opt-out list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOutList {
    pub items: Vec<OptOut>,
}

/// The body of `POST /api/v1/opt-outs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"mac": "48:5a:3f:37:de:f7"})))]
pub struct NewOptOut {
    /// The device's MAC (any case, `:` or `-`), as its owner gives it.
    pub mac: String,
}

/// What `DELETE /api/v1/devices/{mac}` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "mac": "48:5a:3f:37:de:f7", "probe_requests": 1440, "presence_segments": 12,
    "rejections_scrubbed": 0, "opted_out": true
})))]
pub struct Erasure {
    /// The MAC as given, in canonical form.
    pub mac: String,
    /// Probe requests removed, in every network.
    pub probe_requests: i64,
    /// Presence segments removed.
    pub presence_segments: i64,
    /// Rejected reports whose kept body bytes or detail named the MAC, now emptied.
    pub rejections_scrubbed: i64,
    /// The MAC is on the opt-out list now (its future observations are dropped).
    pub opted_out: bool,
}

/// A presence segment as stored: a device's observations merged where they lie at most
/// 120 s apart, within one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredSegment {
    pub network_id: i64,
    /// The client MAC as stored.
    pub mac: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub max_signal: i32,
    pub strongest_node_mac: String,
    pub associated: bool,
    /// Every access point that heard it.
    pub node_macs: Vec<String>,
}

/// Everything stored about one device, for its owner's access request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceData {
    /// The MAC as given, in canonical form.
    pub mac: String,
    /// `raw` or `keyed`: in `keyed` mode rows hold the MAC's pseudonym.
    pub mac_privacy: String,
    /// The MAC the rows are stored under (the pseudonym in `keyed` mode); null when
    /// nothing is stored.
    pub stored_as: Option<String>,
    /// The MAC is on the opt-out list.
    pub opted_out: bool,
    /// Its probe requests in every network, newest first (at most 100,000: see
    /// `truncated`).
    pub probe_requests: Vec<ProbeRequest>,
    /// More probe requests are stored than listed: export the rest with
    /// `/api/v1/probe-requests/export?mac=`.
    pub truncated: bool,
    /// Its presence segments, oldest first (at most 100,000).
    pub presence_segments: Vec<StoredSegment>,
}

/// A CloudTrax network: its name and the time zone its days and hours are counted in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "network_id": 179283, "name": "Main street store", "time_zone": "America/New_York",
    "opening_hours": {"mon": ["09:00-21:00"], "sat": ["10:00-18:00"]},
    "nodes": 4, "last_report_at": 1764201600
})))]
pub struct Network {
    pub network_id: i64,
    /// Which vendor's access points report for it.
    #[serde(default)]
    pub vendor: Vendor,
    /// Meraki's id of the network (`L_...`; for a v2 source, the source's name); null for
    /// CloudTrax networks.
    #[serde(default)]
    pub meraki_id: Option<String>,
    /// Null while unnamed.
    pub name: Option<String>,
    /// IANA time zone: presence analytics of this network bucket its local hours and
    /// days unless a request gives `tz`. `UTC` until set.
    pub time_zone: String,
    /// When it is open, in its time zone; null when no opening hours are set (every
    /// hour counts).
    #[serde(default)]
    pub opening_hours: Option<OpeningHours>,
    /// Access points of it that have reported.
    pub nodes: i64,
    /// When its latest report arrived, Unix seconds; null if none has (a network named
    /// before it reports).
    pub last_report_at: Option<i64>,
}

/// Every network that has reported or been named, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkList {
    pub items: Vec<Network>,
}

/// The body of `PUT /api/v1/networks/{network_id}`: replaces the network's settings.
/// An unknown field is refused (a misspelt one would otherwise reset its setting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "Main street store", "time_zone": "America/New_York",
    "opening_hours": {"mon": ["09:00-21:00"], "sat": ["10:00-18:00"]}
})))]
pub struct NetworkSettings {
    /// 1 to 100 characters, no control characters; null or absent: unnamed.
    #[serde(default)]
    pub name: Option<String>,
    /// An IANA time zone name, like `Europe/Berlin`; absent or null: `UTC`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// When the network is open, in its time zone; absent or null: no opening hours
    /// (visitor figures count every hour).
    #[serde(default)]
    pub opening_hours: Option<OpeningHours>,
}

/// A week of opening hours, in the network's local time: per weekday, its open
/// intervals as `HH:MM-HH:MM` (24-hour clock). `24:00` ends a day at midnight; an
/// interval that ends where or before it starts runs past midnight into the next day
/// (`22:00-02:00`; `06:00-06:00` is 24 hours). A day left out or empty is closed (`{}`
/// is closed all week). At most 8 intervals a day; overlapping ones are merged. Visitor figures of the network count the visits that
/// overlap these hours unless a request asks `hours=all`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "mon": ["09:00-21:00"], "tue": ["09:00-21:00"], "wed": ["09:00-21:00"],
    "thu": ["09:00-21:00"], "fri": ["09:00-22:00"], "sat": ["10:00-14:00", "15:00-18:00"]
})))]
pub struct OpeningHours {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_items = 8,
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        )
    )]
    pub mon: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_items = 8,
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        )
    )]
    pub tue: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_items = 8,
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        )
    )]
    pub wed: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_items = 8,
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        )
    )]
    pub thu: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_items = 8,
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        )
    )]
    pub fri: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_items = 8,
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        )
    )]
    pub sat: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_items = 8,
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        )
    )]
    pub sun: Vec<String>,
}

impl OpeningHours {
    /// The weekdays' field names, Monday first.
    pub const DAYS: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// Each weekday's intervals, Monday first.
    pub fn days(&self) -> [&Vec<String>; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }

    /// Each weekday's intervals to change, Monday first.
    pub fn days_mut(&mut self) -> [&mut Vec<String>; 7] {
        [
            &mut self.mon,
            &mut self.tue,
            &mut self.wed,
            &mut self.thu,
            &mut self.fri,
            &mut self.sat,
            &mut self.sun,
        ]
    }
}

fn all_hours() -> String {
    "all".to_string()
}

/// The body of `PUT /api/v1/nodes/{node_mac}`: replaces the access point's name and zone.
/// An unknown field is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "Entrance", "zone": "Ground floor"
})))]
pub struct NodeSettings {
    /// 1 to 100 characters, no control characters; null or absent: unnamed.
    #[serde(default)]
    pub name: Option<String>,
    /// A group of access points (a floor, a shop), same rules as `name`; null or absent:
    /// in no zone.
    #[serde(default)]
    pub zone: Option<String>,
}

/// An access point's name and zone, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeLabel {
    pub node_mac: String,
    pub name: Option<String>,
    pub zone: Option<String>,
}

/// Devices heard in one zone in the window of `GET /api/v1/stats/now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneNow {
    /// The zone; null for access points in no zone.
    pub zone: Option<String>,
    pub devices: i64,
    pub devices_associated: i64,
    pub devices_non_randomized_unassociated: i64,
    pub devices_randomized_unassociated: i64,
}

/// Occupancy now: the distinct devices heard in the last `window_s` seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "since": 1764201300, "until": 1764201600, "window_s": 300,
    "devices": 57, "devices_associated": 12, "devices_non_randomized_unassociated": 9,
    "devices_randomized_unassociated": 36,
    "zones": [{"zone": "Ground floor", "devices": 40, "devices_associated": 8,
               "devices_non_randomized_unassociated": 7, "devices_randomized_unassociated": 25}]
})))]
pub struct NowStats {
    /// The window: probe requests whose `last_seen` lies in `since..=until` (Unix
    /// seconds, server clock) count.
    pub since: i64,
    pub until: i64,
    pub window_s: i64,
    /// Distinct devices (client MACs within a network) heard in the window.
    pub devices: i64,
    /// Of them, associated (connected) in a probe request of the window.
    pub devices_associated: i64,
    /// Never associated in the window, with a globally unique MAC.
    pub devices_non_randomized_unassociated: i64,
    /// Never associated in the window, with a randomized MAC.
    pub devices_randomized_unassociated: i64,
    /// The same per zone of the access points that heard them, most devices first (a
    /// device heard in two zones counts in both).
    pub zones: Vec<ZoneNow>,
    /// The reports the scope's access points were expected to send in the window, and
    /// those received; absent when not computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<Completeness>,
}

/// A vendor source: where one vendor's access points post (`/meraki/{name}`). Its secret
/// is never shown after creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "lobby", "vendor": "meraki", "validator": "da6a17c407bc11f1d8a5ae7f7e8e3c5a8a6bfa1c",
    "url_path": "/meraki/lobby", "created_at": 1796637600, "created_by": "user alice"
})))]
pub struct Source {
    /// Its name, the last segment of its URL.
    pub name: String,
    /// Only `meraki` so far.
    pub vendor: String,
    /// What `GET /meraki/{name}` answers (Meraki's organization validator).
    pub validator: String,
    /// The path to give Meraki, after this server's address: `/meraki/{name}`.
    pub url_path: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Who created it (`user NAME`, `token NAME` or `command line`).
    pub created_by: String,
}

/// Every source, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceList {
    pub items: Vec<Source>,
}

/// The body of `POST /api/v1/sources`. An unknown field is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "lobby", "vendor": "meraki", "validator": "da6a17c407bc11f1d8a5ae7f7e8e3c5a8a6bfa1c",
    "secret": "a long random shared secret"
})))]
pub struct NewSource {
    /// 1 to 64 of `a-z`, `0-9`, `-` and `_`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_-]{1,64}$"))]
    pub name: String,
    /// `meraki`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^meraki$"))]
    pub vendor: String,
    /// The organization's validator string, shown in Meraki's dashboard (Network-wide >
    /// General > Location and scanning). 1 to 128 printable ASCII characters.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[!-~]{1,128}$"))]
    pub validator: String,
    /// The shared secret set beside the URL in Meraki's dashboard: 8 to 256 bytes. Kept
    /// only as its SHA-256: it cannot be read back.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 256))]
    pub secret: String,
}

/// The answer to a Meraki post: what it held and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "network_id": -3_831_620_037_363_106_i64, "observations": 3, "ignored": 0,
    "probe_requests": 4, "stored": 4, "duplicates": 0
})))]
pub struct MerakiIngestResult {
    /// The NCompass network the post's Meraki network is stored as (negative: Meraki
    /// networks are numbered apart from CloudTrax's).
    pub network_id: i64,
    /// Observations (clients) in the body, Wi-Fi or Bluetooth.
    pub observations: i64,
    /// Observations received and not stored by design: Bluetooth ones.
    pub ignored: i64,
    /// Probe requests the Wi-Fi observations map to: one per access point and record
    /// time.
    pub probe_requests: i64,
    /// Probe requests stored as new rows.
    pub stored: i64,
    /// Probe requests already stored (a re-sent post, or v3 re-sending a client's
    /// latest record): not stored again.
    pub duplicates: i64,
}

/// The body of `POST /api/v1/ground-truth`: a count of people taken by other means (a
/// door counter, a manual tally) over a window. An unknown field is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "network_id": 179283, "zone": "Ground floor", "since": 1764147600, "until": 1764151199,
    "people": 212, "source": "door counter"
})))]
pub struct NewGroundTruth {
    pub network_id: i64,
    /// The zone counted; absent or null: the whole network.
    #[serde(default)]
    pub zone: Option<String>,
    /// The window, Unix seconds, inclusive: at most 31 days, not in the future.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub since: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub until: i64,
    /// People counted in the window, 0 to 10,000,000.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10_000_000))]
    pub people: i64,
    /// Where the count comes from ("door counter", "manual tally"): 1 to 100 characters.
    pub source: String,
}

/// A stored ground-truth count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroundTruth {
    pub id: i64,
    pub network_id: i64,
    pub zone: Option<String>,
    pub since: i64,
    pub until: i64,
    pub people: i64,
    pub source: String,
    /// When it was recorded, Unix seconds, and by whom (`user NAME`, `token NAME`,
    /// `cli:OPERATOR`).
    pub created_at: i64,
    pub created_by: String,
}

/// Ground-truth counts, newest window first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroundTruthList {
    pub items: Vec<GroundTruth>,
}
