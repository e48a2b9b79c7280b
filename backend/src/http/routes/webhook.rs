//! The CloudTrax Presence Reporting webhook.

use std::time::Instant;

use actix_web::web::{self, Data, Json};
use actix_web::HttpRequest;
use api_types::IngestResult;

use super::AppState;
use crate::cloudtrax::{parse_report, verify_signature_any, Mac, TimeRules};
use crate::db::rejections::NewRejection;
use crate::http::error::AppError;
use crate::pipeline::metrics::RejectReason;
use crate::privacy::MacPrivacy;

/// A CloudTrax presence report, as the webhook takes it (`cloudtrax::parse_report`;
/// this type only documents it). Fields it does not know are ignored.
///
/// Besides each field's rules, every probe request has `first_seen <= last_seen`,
/// `last_seen - first_seen` at most the server's `--max-span` (default 3600 s), and
/// `last_seen` at most 86400 s after the report is received (a clock ahead); there is no
/// lower bound, so old data can be imported. A report breaking any rule is refused whole
/// (422).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Report {
    /// The CloudTrax network.
    #[schema(minimum = 0)]
    network_id: i64,
    /// The reporting access point's MAC.
    node_mac: String,
    /// The report format: only 1 exists.
    #[schema(minimum = 1, maximum = 1)]
    version: i64,
    /// What the access point heard since its last report (may be empty).
    probe_requests: Vec<ReportedProbeRequest>,
}

/// One client an access point heard, as reported.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ReportedProbeRequest {
    /// The client's MAC.
    mac: String,
    /// Probe requests heard from it.
    #[schema(minimum = 0)]
    count: i64,
    /// Weakest signal, dBm.
    #[schema(minimum = -128, maximum = 0)]
    min_signal: i32,
    /// Strongest signal, dBm.
    #[schema(minimum = -128, maximum = 0)]
    max_signal: i32,
    /// Average signal, dBm.
    #[schema(minimum = -128, maximum = 0)]
    avg_signal: i32,
    /// Signal of the last probe request, dBm (newer firmware only).
    #[schema(minimum = -128, maximum = 0)]
    last_seen_signal: Option<i32>,
    /// First heard, Unix seconds; not after `last_seen`.
    #[schema(minimum = 0)]
    first_seen: i64,
    /// Last heard, Unix seconds.
    #[schema(minimum = 0)]
    last_seen: i64,
    /// Whether the client was connected to the network.
    associated: bool,
}

/// Receive a CloudTrax report
///
/// The URL to configure in CloudTrax's Presence Reporting. The body is read as JSON
/// whatever its Content-Type. When the server has a secret, the `Signature` header must
/// hold the HMAC-SHA256 of the exact body bytes under it (or under any of its secrets,
/// while one is being rotated) (hex in either case, or
/// standard or URL-safe base64). A report is stored whole or not at all; an
/// observation (network, node, client MAC, first and last seen) already stored is
/// counted as a duplicate instead of being stored again, so re-sending is harmless.
#[utoipa::path(
    post,
    path = "/receive",
    tag = "webhook",
    operation_id = "receive",
    params(
        ("Signature" = Option<String>, Header,
         description = "HMAC-SHA256 of the body under the shared secret; required when the server has one",
         example = "46db2c725c05830ebc9ab2770414c820c5e59b55ef3300b3f0c0380d2f9f2a47"),
    ),
    request_body(
        description = "A CloudTrax presence report (version 1)",
        content_type = "application/json",
        content = Report,
        example = json!({
            "network_id": 179283,
            "node_mac": "AC:86:74:61:4F:C0",
            "version": 1,
            "probe_requests": [{
                "mac": "48:5a:3f:37:de:f7", "count": 10,
                "min_signal": -37, "max_signal": -26, "avg_signal": -30,
                "first_seen": 1455845791, "last_seen": 1455845811, "associated": true
            }]
        })
    ),
    responses(
        (status = 200, description = "The report is stored (durably, before this answer)", body = IngestResult),
        (status = 400, description = "The body is not JSON", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 401, description = "The Signature header is missing or does not match", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within the server's body timeout (`--body-timeout`); the connection is closed", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the server's limit", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks a rule of the contract; `field` is the JSON path of the offending value. Besides the field rules: each probe request's `last_seen - first_seen` is at most the server's `--max-span` (default 3600 s), and `last_seen` at most 86400 s after the report is received (a clock ahead); there is no lower bound, so old data can be imported", body = api_types::Problem, content_type = "application/problem+json",
         example = json!({"type": "about:blank", "title": "Unprocessable Content", "status": 422,
                          "detail": "must be a MAC address of 6 octets, like 00:1a:2b:3c:4d:5e, got \"68:96:7b\"",
                          "field": "probe_requests[3].mac"})),
        (status = 503, description = "The server is overloaded (its write queue is full), the database cannot store the report (disk full, write lock held by another process, I/O error) or the writer is restarting; nothing was stored, retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    request: HttpRequest,
    payload: web::Payload,
    state: Data<AppState>,
) -> Result<Json<IngestResult>, AppError> {
    let started = Instant::now();
    let received_at = state.clock.now();
    let body = match super::read_body(&request, payload, state.max_body, state.body_timeout).await {
        Ok(body) => body,
        Err(error) => {
            refused(&state, &error, None, received_at);
            return Err(error);
        }
    };
    match accept(&request, &body, &state, received_at).await {
        Ok(result) => {
            state.metrics.observe_latency(started.elapsed());
            Ok(Json(result))
        }
        Err(error) => {
            refused(&state, &error, Some(&body), received_at);
            Err(error)
        }
    }
}

async fn accept(
    request: &HttpRequest,
    body: &[u8],
    state: &AppState,
    received_at: i64,
) -> Result<IngestResult, AppError> {
    if !state.secrets.is_empty() {
        let signature = request
            .headers()
            .get("Signature")
            .map(|value| value.as_bytes());
        verify_signature_any(&state.secrets, body, signature)?;
    }
    let rules = TimeRules {
        received_at,
        max_span_s: state.max_span_s,
    };
    let report = parse_report(body, &rules)?;
    Ok(state.ingest.store(report, received_at).await?)
}

/// Counts a refused post and keeps it in the rejection log (server-side failures are
/// not the access point's fault and are only logged). `body`: what of it may be read
/// for the log (`None`: not one byte, as for a Meraki body, which holds its secret).
pub(super) fn refused(state: &AppState, error: &AppError, body: Option<&[u8]>, received_at: i64) {
    let Some(reason) = error.reject_reason() else {
        return;
    };
    state.metrics.rejected(reason);
    if matches!(reason, RejectReason::Overloaded | RejectReason::NotStored) {
        return;
    }
    // An unsigned body is never parsed, not even for the log: refusing it stays cheap.
    let hint = match (error, body) {
        (AppError::Unauthorized(_), _) | (_, None) => NodeHint::default(),
        (_, Some(body)) => NodeHint::read(body),
    };
    let problem = error.problem();
    // In `keyed` mode no byte of the body is kept, nor the detail (which may quote a
    // value of it): only the reason, the field and the status.
    let keyed = state.privacy.mode == MacPrivacy::Keyed;
    state.ingest.reject(NewRejection {
        received_at,
        status: i32::from(problem.status),
        reason: reason.as_str().to_string(),
        detail: if keyed { String::new() } else { problem.detail },
        field: problem.field,
        network_id: hint.network_id,
        node_mac: hint.node_mac,
        body_prefix: match body {
            Some(body) if !keyed => {
                String::from_utf8_lossy(&body[..body.len().min(BODY_PREFIX_BYTES)]).into_owned()
            }
            _ => String::new(),
        },
    });
}

/// How much of a refused body the rejection log keeps.
const BODY_PREFIX_BYTES: usize = 256;

/// The access point a body names, read loosely: for diagnosis only, never trusted.
#[derive(Default, serde::Deserialize)]
struct NodeHint {
    network_id: Option<i64>,
    node_mac: Option<String>,
}

impl NodeHint {
    fn read(body: &[u8]) -> NodeHint {
        #[derive(serde::Deserialize)]
        struct Loose {
            network_id: Option<serde_json::Value>,
            node_mac: Option<serde_json::Value>,
        }
        let Ok(loose) = serde_json::from_slice::<Loose>(body) else {
            return NodeHint::default();
        };
        NodeHint {
            network_id: loose.network_id.and_then(|v| v.as_i64()),
            node_mac: loose
                .node_mac
                .and_then(|v| v.as_str().and_then(Mac::parse))
                .map(|mac| mac.to_string()),
        }
    }
}

/// Receive a CloudTrax report (original spelling)
///
/// The same as `POST /receive`, under the misspelt path the original receiver served, so
/// that existing CloudTrax configurations keep working.
#[utoipa::path(
    post,
    path = "/recieve",
    tag = "webhook",
    operation_id = "receive_legacy",
    params(
        ("Signature" = Option<String>, Header, description = "As for `POST /receive`"),
    ),
    request_body(description = "As for `POST /receive`", content_type = "application/json", content = Report),
    responses(
        (status = 200, description = "The report is stored", body = IngestResult),
        (status = 400, description = "The body is not JSON", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 401, description = "The Signature header is missing or does not match", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within the server's body timeout; the connection is closed", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the server's limit", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks a rule of the contract (as for `POST /receive`)", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server is overloaded (its write queue is full), the database cannot store the report (disk full, write lock held by another process, I/O error) or the writer is restarting; nothing was stored, retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive_legacy(
    request: HttpRequest,
    payload: web::Payload,
    state: Data<AppState>,
) -> Result<Json<IngestResult>, AppError> {
    receive(request, payload, state).await
}
