//! The CloudTrax Presence Reporting webhook contract (`shared/cloudtrax/CONTRACT.md`):
//! parse and validate a report body into a typed [`Report`], and check its `Signature`.
//!
//! Everything here is a pure function of bytes: no I/O, no clock, no database. It is
//! unit tested rule by rule below and is the target of the parser fuzzer.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use serde::Deserialize;
use sha2::Sha256;

pub use crate::mac::{CanonicalMac, Mac};

/// The only report format version CloudTrax has ever sent.
pub const SUPPORTED_VERSION: i64 = 1;
/// Signals are dBm as a signed byte, never above 0.
pub const SIGNAL_RANGE: std::ops::RangeInclusive<i64> = -128..=0;
/// How far `last_seen` may lie after the moment the report is received: a clock ahead
/// of the server's by more than this is broken, not early.
pub const MAX_CLOCK_AHEAD_S: i64 = 86_400;
/// The default of `--max-span`: the longest `last_seen - first_seen` of one probe
/// request. CloudTrax reports every 30 or 60 seconds, so a real observation spans
/// about that; an hour leaves room for batching access points.
pub const DEFAULT_MAX_SPAN_S: i64 = 3_600;
/// The largest `--max-span` an operator may set. Everything downstream (presence
/// segments, range queries) is bounded by it, whatever the setting.
pub const MAX_SPAN_LIMIT_S: i64 = 7 * 86_400;

/// The rules of a report's times that depend on the receiver: when the report arrived
/// and how long one observation may last. There is no lower bound relative to now, so
/// old data can be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRules {
    /// When the report was received, Unix seconds: `last_seen` may be at most
    /// [`MAX_CLOCK_AHEAD_S`] after it.
    pub received_at: i64,
    /// The longest `last_seen - first_seen`, seconds (at most [`MAX_SPAN_LIMIT_S`]).
    pub max_span_s: i64,
}

impl TimeRules {
    /// The default span rule for a report received at `received_at`.
    pub fn at(received_at: i64) -> TimeRules {
        TimeRules {
            received_at,
            max_span_s: DEFAULT_MAX_SPAN_S,
        }
    }
}

/// The contract's sample reports (`shared/cloudtrax/`): what `ncompass seed` stores and
/// what the tests of every layer post.
pub mod samples {
    /// A version 1 report as CloudTrax documents it (signed in `sample-v1.signature.txt`).
    pub const V1: &[u8] = include_bytes!("../samples/sample-v1.json");
    /// A report whose probe requests carry the optional `last_seen_signal`.
    pub const LAST_SEEN_SIGNAL: &[u8] = include_bytes!("../samples/sample-last-seen-signal.json");
}

/// A validated report: every rule of the contract holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub network_id: i64,
    pub node_mac: Mac,
    pub version: i64,
    pub probe_requests: Vec<ProbeRequest>,
}

/// A validated probe request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub mac: Mac,
    pub count: i64,
    pub min_signal: i32,
    pub max_signal: i32,
    pub avg_signal: i32,
    pub last_seen_signal: Option<i32>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub associated: bool,
    /// The client MAC as heard is locally administered ([`Mac::is_randomized`]): noted
    /// before `mac` may be replaced by a pseudonym (`privacy::Privacy::apply`).
    pub randomized: bool,
}

/// Why a body is not a valid report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The body is not JSON at all (HTTP 400).
    #[error("the body is not valid JSON: {0}")]
    Syntax(String),
    /// The body is JSON but breaks a rule of the contract (HTTP 422). `field` is the
    /// JSON path of the offending value, e.g. `probe_requests[3].mac`; `None` for the
    /// document as a whole.
    #[error("{}: {message}", field.as_deref().unwrap_or("report"))]
    Invalid {
        field: Option<String>,
        message: String,
    },
}

impl ReportError {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ReportError::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

// The wire format as loosely as serde can take it: types are checked by serde (with the
// path of a mistyped value), presence and ranges by `validate`. Unknown fields are ignored.
#[derive(Deserialize)]
struct WireReport {
    network_id: Option<i64>,
    node_mac: Option<String>,
    version: Option<i64>,
    probe_requests: Option<Vec<Object<WireProbeRequest>>>,
}

#[derive(Deserialize)]
struct WireProbeRequest {
    mac: Option<String>,
    count: Option<i64>,
    min_signal: Option<i64>,
    max_signal: Option<i64>,
    avg_signal: Option<i64>,
    last_seen_signal: Option<i64>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    associated: Option<bool>,
}

/// A struct that serde may only read from a JSON object. (A derived `Deserialize` also
/// takes an array of the fields in order, which would let `[1, "ac:…", 1, []]` pass.)
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(ObjectVisitor(std::marker::PhantomData))
            .map(Object)
    }
}

/// Parses and validates the exact bytes of a webhook body, received under `rules`.
pub fn parse_report(body: &[u8], rules: &TimeRules) -> Result<Report, ReportError> {
    let Object(wire): Object<WireReport> = deserialize_body(body)?;
    validate(wire, rules)
}

/// The whole body as `T`: a syntax error (or bytes after the document) is
/// [`ReportError::Syntax`], a value of the wrong type [`ReportError::Invalid`] with
/// its JSON path.
pub(crate) fn deserialize_body<'de, T: Deserialize<'de>>(
    body: &'de [u8],
) -> Result<T, ReportError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            ReportError::Invalid {
                field: (path != ".").then_some(path),
                message: without_position(&inner),
            }
        } else {
            ReportError::Syntax(inner.to_string())
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ReportError::Syntax(error.to_string()))?;
    Ok(value)
}

/// serde_json appends "at line 1 column 42" to data errors; the field path says more.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn validate(wire: WireReport, rules: &TimeRules) -> Result<Report, ReportError> {
    let version = required(wire.version, "version")?;
    if version != SUPPORTED_VERSION {
        return Err(ReportError::invalid(
            "version",
            format!("must be {SUPPORTED_VERSION}, got {version}"),
        ));
    }
    let network_id = non_negative(required(wire.network_id, "network_id")?, "network_id")?;
    let node_mac = mac(required(wire.node_mac, "node_mac")?, "node_mac")?;
    let wire_probes = required(wire.probe_requests, "probe_requests")?;
    let probe_requests = wire_probes
        .into_iter()
        .enumerate()
        .map(|(i, Object(probe))| validate_probe(probe, &format!("probe_requests[{i}]"), rules))
        .collect::<Result<_, _>>()?;
    Ok(Report {
        network_id,
        node_mac,
        version,
        probe_requests,
    })
}

fn validate_probe(
    wire: WireProbeRequest,
    at: &str,
    rules: &TimeRules,
) -> Result<ProbeRequest, ReportError> {
    // Fields are checked in the order CloudTrax sends them, so the first error named
    // is the first one a reader of the body meets.
    let path = |name: &str| format!("{at}.{name}");
    let signal = |value: Option<i64>, name: &str| -> Result<i32, ReportError> {
        signal(required(value, &path(name))?, &path(name))
    };
    let mac = mac(required(wire.mac, &path("mac"))?, &path("mac"))?;
    let count = non_negative(required(wire.count, &path("count"))?, &path("count"))?;
    let min_signal = signal(wire.min_signal, "min_signal")?;
    let max_signal = signal(wire.max_signal, "max_signal")?;
    let avg_signal = signal(wire.avg_signal, "avg_signal")?;
    let last_seen_signal = wire
        .last_seen_signal
        .map(|value| self::signal(value, &path("last_seen_signal")))
        .transpose()?;
    let first_seen = non_negative(
        required(wire.first_seen, &path("first_seen"))?,
        &path("first_seen"),
    )?;
    let last_seen = non_negative(
        required(wire.last_seen, &path("last_seen"))?,
        &path("last_seen"),
    )?;
    if first_seen > last_seen {
        return Err(ReportError::invalid(
            path("first_seen"),
            format!("must not be after last_seen ({first_seen} > {last_seen})"),
        ));
    }
    let latest = rules.received_at.saturating_add(MAX_CLOCK_AHEAD_S);
    if last_seen > latest {
        return Err(ReportError::invalid(
            path("last_seen"),
            format!(
                "must be at most {MAX_CLOCK_AHEAD_S} s after the report is received \
                 ({last_seen} > {latest}): the access point's clock is ahead"
            ),
        ));
    }
    // Both are non-negative, so the difference cannot overflow.
    let span = last_seen - first_seen;
    if span > rules.max_span_s {
        return Err(ReportError::invalid(
            path("last_seen"),
            format!(
                "must be at most {} s after first_seen, got {span} s ({first_seen} to \
                 {last_seen}): the access point's clock was probably reset",
                rules.max_span_s
            ),
        ));
    }
    Ok(ProbeRequest {
        mac,
        count,
        min_signal,
        max_signal,
        avg_signal,
        last_seen_signal,
        first_seen,
        last_seen,
        associated: required(wire.associated, &path("associated"))?,
        randomized: mac.is_randomized(),
    })
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ReportError> {
    value.ok_or_else(|| ReportError::invalid(field, "is required"))
}

fn non_negative(value: i64, field: &str) -> Result<i64, ReportError> {
    if value < 0 {
        return Err(ReportError::invalid(
            field,
            format!("must not be negative, got {value}"),
        ));
    }
    Ok(value)
}

fn signal(value: i64, field: &str) -> Result<i32, ReportError> {
    if !SIGNAL_RANGE.contains(&value) {
        return Err(ReportError::invalid(
            field,
            format!(
                "must be a signal in dBm from {} to {}, got {value}",
                SIGNAL_RANGE.start(),
                SIGNAL_RANGE.end()
            ),
        ));
    }
    // In range of a signed byte, so the conversion cannot fail.
    i32::try_from(value).map_err(|_| ReportError::invalid(field, "out of range"))
}

fn mac(text: String, field: &str) -> Result<Mac, ReportError> {
    Mac::parse(&text).ok_or_else(|| {
        ReportError::invalid(
            field,
            format!("must be a MAC address of 6 octets, like 00:1a:2b:3c:4d:5e, got {text:?}"),
        )
    })
}

/// Why a request's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Signature header is missing")]
    Missing,
    #[error("the Signature header is not an HMAC-SHA256 in hex or base64")]
    Malformed,
    #[error("the Signature header does not match the body")]
    Mismatch,
}

/// Checks the `Signature` header: the HMAC-SHA256 of the exact body bytes keyed with the
/// shared secret, as hex (either case) or standard or URL-safe base64 (padded or not).
/// The comparison takes constant time.
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&[u8]>,
) -> Result<(), SignatureError> {
    verify_signature_any(&[secret], body, header)
}

/// [`verify_signature`] under any of `secrets` (while a secret is rotated, access points
/// sign with the old one or the new one). Every secret is tried, so the time taken does
/// not tell which one matched; none matches an empty list.
pub fn verify_signature_any<S: AsRef<[u8]>>(
    secrets: &[S],
    body: &[u8],
    header: Option<&[u8]>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let claimed = decode_signature(header).ok_or(SignatureError::Malformed)?;
    let mut matched = false;
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_ref())
            .map_err(|_| SignatureError::Mismatch)?;
        mac.update(body);
        matched |= mac.verify_slice(&claimed).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The signature the access point is expected to send, as lower-case hex.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn decode_signature(header: &[u8]) -> Option<[u8; 32]> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let bytes = if text.len() == 64 {
        hex::decode(text).ok()?
    } else {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())?
    };
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const SAMPLE: &[u8] = samples::V1;
    const SAMPLE_SECRET: &[u8] = b"s3cret-presence-key";
    const SAMPLE_SIGNATURE: &str =
        "46db2c725c05830ebc9ab2770414c820c5e59b55ef3300b3f0c0380d2f9f2a47";

    /// Received now, with the default span.
    fn parse(body: &[u8]) -> Result<Report, ReportError> {
        parse_report(body, &TimeRules::at(crate::clock::unix_now()))
    }

    fn sample() -> Value {
        serde_json::from_slice(SAMPLE).unwrap()
    }

    fn parse_value(value: &Value) -> Result<Report, ReportError> {
        parse(value.to_string().as_bytes())
    }

    fn invalid_field(value: &Value) -> String {
        match parse_value(value) {
            Err(ReportError::Invalid {
                field: Some(field), ..
            }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn sample_parses_into_canonical_report() {
        let report = parse(SAMPLE).unwrap();
        assert_eq!(report.network_id, 179283);
        assert_eq!(report.node_mac.to_string(), "ac:86:74:61:4f:c0");
        assert_eq!(report.version, 1);
        assert_eq!(report.probe_requests.len(), 5);
        assert_eq!(
            report.probe_requests[1],
            ProbeRequest {
                mac: Mac::parse("48:5a:3f:37:de:f7").unwrap(),
                count: 10,
                min_signal: -37,
                max_signal: -26,
                avg_signal: -30,
                last_seen_signal: None,
                first_seen: 1455845791,
                last_seen: 1455845811,
                associated: true,
                randomized: false,
            }
        );
    }

    #[test]
    fn last_seen_signal_is_optional_and_unknown_fields_are_ignored() {
        let body = samples::LAST_SEEN_SIGNAL;
        let report = parse(body).unwrap();
        assert_eq!(report.probe_requests[0].last_seen_signal, Some(-72));

        let mut value = sample();
        value["firmware"] = json!("r1234");
        value["probe_requests"][0]["vendor"] = json!({"name": "x"});
        value["probe_requests"][0]["last_seen_signal"] = Value::Null;
        let report = parse_value(&value).unwrap();
        assert_eq!(report.probe_requests[0].last_seen_signal, None);
    }

    #[test]
    fn empty_probe_requests_is_a_valid_empty_report() {
        let mut value = sample();
        value["probe_requests"] = json!([]);
        assert!(parse_value(&value).unwrap().probe_requests.is_empty());
    }

    #[test]
    fn not_json_is_a_syntax_error() {
        for body in [
            &b""[..],
            b"{",
            b"not json",
            b"{\"version\": 1,}",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(parse(body), Err(ReportError::Syntax(_))),
                "{body:?}"
            );
        }
        let mut trailing = SAMPLE.to_vec();
        trailing.extend_from_slice(b" {}");
        assert!(matches!(parse(&trailing), Err(ReportError::Syntax(_))));
    }

    #[test]
    fn json_of_the_wrong_shape_is_invalid() {
        for body in [
            &b"[]"[..],
            b"[179283, \"AC:86:74:61:4F:C0\", 1, []]",
            b"42",
            b"\"report\"",
            b"null",
        ] {
            assert!(
                matches!(parse(body), Err(ReportError::Invalid { field: None, .. })),
                "{body:?}"
            );
        }
    }

    #[test]
    fn each_rule_names_the_offending_field() {
        type BreakRule = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, BreakRule)> = vec![
            ("version", Box::new(|v| v["version"] = json!(2))),
            ("version", Box::new(|v| v["version"] = json!("1"))),
            ("version", Box::new(|v| remove(v, "version"))),
            ("network_id", Box::new(|v| v["network_id"] = json!(-1))),
            ("network_id", Box::new(|v| v["network_id"] = json!(1.5))),
            (
                "network_id",
                Box::new(|v| v["network_id"] = json!("179283")),
            ),
            ("network_id", Box::new(|v| remove(v, "network_id"))),
            (
                "node_mac",
                Box::new(|v| v["node_mac"] = json!("AC:86:74:61:4F")),
            ),
            ("node_mac", Box::new(|v| v["node_mac"] = json!(12))),
            ("node_mac", Box::new(|v| v["node_mac"] = Value::Null)),
            ("probe_requests", Box::new(|v| remove(v, "probe_requests"))),
            (
                "probe_requests",
                Box::new(|v| v["probe_requests"] = json!({})),
            ),
            (
                "probe_requests[3]",
                Box::new(|v| v["probe_requests"][3] = json!(1)),
            ),
            (
                "probe_requests[3]",
                Box::new(|v| {
                    v["probe_requests"][3] =
                        json!(["68:96:7b:c8:8b:e9", 4, -54, -5, -27, null, 1, 2, false])
                }),
            ),
            (
                "probe_requests[3].mac",
                Box::new(|v| v["probe_requests"][3]["mac"] = json!("68:96:7b:c8:8b")),
            ),
            (
                "probe_requests[3].mac",
                Box::new(|v| remove(&mut v["probe_requests"][3], "mac")),
            ),
            (
                "probe_requests[2].count",
                Box::new(|v| v["probe_requests"][2]["count"] = json!(-1)),
            ),
            (
                "probe_requests[2].count",
                Box::new(|v| v["probe_requests"][2]["count"] = json!(2.5)),
            ),
            (
                "probe_requests[0].min_signal",
                Box::new(|v| v["probe_requests"][0]["min_signal"] = json!(1)),
            ),
            (
                "probe_requests[0].max_signal",
                Box::new(|v| v["probe_requests"][0]["max_signal"] = json!(-129)),
            ),
            (
                "probe_requests[0].avg_signal",
                Box::new(|v| v["probe_requests"][0]["avg_signal"] = json!(-70.5)),
            ),
            (
                "probe_requests[0].avg_signal",
                Box::new(|v| remove(&mut v["probe_requests"][0], "avg_signal")),
            ),
            (
                "probe_requests[0].last_seen_signal",
                Box::new(|v| v["probe_requests"][0]["last_seen_signal"] = json!(5)),
            ),
            (
                "probe_requests[4].first_seen",
                Box::new(|v| v["probe_requests"][4]["first_seen"] = json!(1455845821)),
            ),
            (
                "probe_requests[4].first_seen",
                Box::new(|v| v["probe_requests"][4]["first_seen"] = json!(-3)),
            ),
            (
                "probe_requests[4].last_seen",
                Box::new(|v| v["probe_requests"][4]["last_seen"] = json!("now")),
            ),
            (
                "probe_requests[4].last_seen",
                Box::new(|v| remove(&mut v["probe_requests"][4], "last_seen")),
            ),
            (
                "probe_requests[1].associated",
                Box::new(|v| v["probe_requests"][1]["associated"] = json!(1)),
            ),
            (
                "probe_requests[1].associated",
                Box::new(|v| v["probe_requests"][1]["associated"] = json!("true")),
            ),
        ];
        for (field, break_rule) in cases {
            let mut value = sample();
            break_rule(&mut value);
            assert_eq!(invalid_field(&value), field, "{value}");
        }
    }

    #[test]
    fn signal_bounds_are_inclusive() {
        let mut value = sample();
        value["probe_requests"][0]["min_signal"] = json!(-128);
        value["probe_requests"][0]["max_signal"] = json!(0);
        value["probe_requests"][0]["first_seen"] = json!(0);
        value["probe_requests"][0]["last_seen"] = json!(0);
        value["probe_requests"][0]["count"] = json!(0);
        let report = parse_value(&value).unwrap();
        assert_eq!(report.probe_requests[0].min_signal, -128);
        assert_eq!(report.probe_requests[0].max_signal, 0);
    }

    #[test]
    fn time_rules_bound_the_span_and_a_clock_ahead() {
        const NOW: i64 = 1_764_115_200;
        let rules = TimeRules::at(NOW);
        let with_times = |first: i64, last: i64| {
            let mut value = sample();
            value["probe_requests"][2]["first_seen"] = json!(first);
            value["probe_requests"][2]["last_seen"] = json!(last);
            parse_report(value.to_string().as_bytes(), &rules)
        };
        let field = |result: Result<Report, ReportError>| match result {
            Err(ReportError::Invalid {
                field: Some(field), ..
            }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        // The span: up to max_span_s inclusive.
        assert!(with_times(NOW - 3_600, NOW).is_ok());
        assert_eq!(
            field(with_times(NOW - 3_601, NOW)),
            "probe_requests[2].last_seen"
        );
        // An access point whose clock restarted at 1970: a span of 56 years.
        assert_eq!(field(with_times(1_000, NOW)), "probe_requests[2].last_seen");
        // The absurd span of the hostile post, and the top of i64.
        assert_eq!(
            field(with_times(0, 9_000_000_000_000_000_000)),
            "probe_requests[2].last_seen"
        );
        assert_eq!(
            field(with_times(i64::MAX - 10, i64::MAX)),
            "probe_requests[2].last_seen"
        );
        // A clock ahead: a day is tolerated, a second more is not.
        assert!(with_times(NOW + 86_400 - 60, NOW + 86_400).is_ok());
        assert_eq!(
            field(with_times(NOW + 86_400, NOW + 86_401)),
            "probe_requests[2].last_seen"
        );
        // No lower bound relative to now: old data can be imported.
        assert!(with_times(0, 30).is_ok());
        assert!(with_times(1_455_845_791, 1_455_845_811).is_ok());
        // The span is the operator's: a wider rule takes a longer observation.
        let wide = TimeRules {
            max_span_s: 86_400,
            ..rules
        };
        let mut value = sample();
        value["probe_requests"][0]["first_seen"] = json!(NOW - 86_400);
        value["probe_requests"][0]["last_seen"] = json!(NOW);
        assert!(parse_report(value.to_string().as_bytes(), &wide).is_ok());
        assert!(parse_report(value.to_string().as_bytes(), &rules).is_err());
        // A received_at near the end of time does not overflow.
        let late = TimeRules::at(i64::MAX);
        assert!(parse_report(SAMPLE, &late).is_ok());
    }

    fn remove(value: &mut Value, key: &str) {
        value.as_object_mut().unwrap().remove(key);
    }

    #[test]
    fn signature_of_the_sample_matches_the_published_one() {
        assert_eq!(sign(SAMPLE_SECRET, SAMPLE), SAMPLE_SIGNATURE);
    }

    #[test]
    fn signature_accepts_hex_in_either_case_and_base64() {
        let raw = hex::decode(SAMPLE_SIGNATURE).unwrap();
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let encodings = [
            SAMPLE_SIGNATURE.to_string(),
            SAMPLE_SIGNATURE.to_uppercase(),
            format!(" {SAMPLE_SIGNATURE} "),
            STANDARD.encode(&raw),
            STANDARD_NO_PAD.encode(&raw),
            URL_SAFE.encode(&raw),
            URL_SAFE_NO_PAD.encode(&raw),
        ];
        for header in encodings {
            assert_eq!(
                verify_signature(SAMPLE_SECRET, SAMPLE, Some(header.as_bytes())),
                Ok(()),
                "{header}"
            );
        }
    }

    #[test]
    fn any_of_several_secrets_may_sign() {
        let secrets = [b"old-secret".to_vec(), SAMPLE_SECRET.to_vec()];
        let header = Some(SAMPLE_SIGNATURE.as_bytes());
        assert_eq!(verify_signature_any(&secrets, SAMPLE, header), Ok(()));
        let old = sign(b"old-secret", SAMPLE);
        assert_eq!(
            verify_signature_any(&secrets, SAMPLE, Some(old.as_bytes())),
            Ok(())
        );
        let third = sign(b"third-secret", SAMPLE);
        assert_eq!(
            verify_signature_any(&secrets, SAMPLE, Some(third.as_bytes())),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature_any::<Vec<u8>>(&[], SAMPLE, header),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature_any(&secrets, SAMPLE, None),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn signature_rejects_missing_malformed_and_wrong() {
        let verify = |header: Option<&[u8]>| verify_signature(SAMPLE_SECRET, SAMPLE, header);
        assert_eq!(verify(None), Err(SignatureError::Missing));
        assert_eq!(verify(Some(b"")), Err(SignatureError::Malformed));
        assert_eq!(verify(Some(b"sha256")), Err(SignatureError::Malformed));
        assert_eq!(
            verify(Some(&SAMPLE_SIGNATURE.as_bytes()[..62])),
            Err(SignatureError::Malformed)
        );
        let mut wrong = SAMPLE_SIGNATURE.to_string();
        wrong.replace_range(0..1, "5");
        assert_eq!(
            verify(Some(wrong.as_bytes())),
            Err(SignatureError::Mismatch)
        );
        // Right signature, other secret or other bytes.
        assert_eq!(
            verify_signature(b"other", SAMPLE, Some(SAMPLE_SIGNATURE.as_bytes())),
            Err(SignatureError::Mismatch)
        );
        let mut body = SAMPLE.to_vec();
        body.push(b'\n');
        assert_eq!(
            verify_signature(SAMPLE_SECRET, &body, Some(SAMPLE_SIGNATURE.as_bytes())),
            Err(SignatureError::Mismatch)
        );
    }
}
