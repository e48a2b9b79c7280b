//! One async function per REST endpoint. URLs are relative: the backend serves this app.

use std::cell::RefCell;

use api_types::{
    IngestResult, NodeList, PrivacySummary, ProbeRequestCount, ProbeRequestPage, ProbeRequestQuery,
    Problem, SessionInfo, SignIn,
};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use web_sys::AbortSignal;
use yew::Callback;

use crate::query;

/// What can go wrong talking to the server; `Clone + PartialEq` to live in state.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No answer: the server is down or the network is out.
    Unreachable(String),
    /// The server answered with an error (a problem+json body).
    Status {
        status: u16,
        detail: String,
        parameter: Option<String>,
    },
    /// The answer was not what this dashboard expects.
    Unexpected(String),
}

impl ApiError {
    /// What happened and what to do, for a person.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unreachable(_) => {
                "Cannot reach the NCompass server. Check that it is running; \
                 the view retries on its own."
                    .to_string()
            }
            ApiError::Status {
                status,
                detail,
                parameter: Some(parameter),
            } => format!("The filter {parameter} is not valid: {detail} (HTTP {status})."),
            ApiError::Status { status, detail, .. } if *status >= 500 => {
                format!("The server has a problem: {detail} (HTTP {status}). Try again shortly.")
            }
            ApiError::Status { status, detail, .. } => {
                format!("The server refused the request: {detail} (HTTP {status}).")
            }
            ApiError::Unexpected(detail) => {
                format!("The server's answer was not understood ({detail}). Reload the page.")
            }
        }
    }
}

pub async fn list_probe_requests(
    query: &ProbeRequestQuery,
    signal: Option<&AbortSignal>,
) -> Result<ProbeRequestPage, ApiError> {
    let query_string = query::to_query_string(query);
    let url = if query_string.is_empty() {
        "/api/v1/probe-requests".to_string()
    } else {
        format!("/api/v1/probe-requests?{query_string}")
    };
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

/// How many rows the export of `query`'s filters has (up to the server's cap).
pub async fn count_probe_requests(
    query: &ProbeRequestQuery,
    signal: Option<&AbortSignal>,
) -> Result<ProbeRequestCount, ApiError> {
    let url = query::count_url(query);
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn list_nodes(signal: Option<&AbortSignal>) -> Result<NodeList, ApiError> {
    decode(
        Request::get("/api/v1/nodes")
            .abort_signal(signal)
            .send()
            .await,
    )
    .await
}

/// What the server keeps of the devices heard, and for how long (no credential needed).
pub async fn privacy() -> Result<PrivacySummary, ApiError> {
    decode(Request::get("/api/v1/privacy").send().await).await
}

pub async fn add_sample() -> Result<IngestResult, ApiError> {
    decode(Request::post("/api/v1/samples").send().await).await
}

/// Who is signed in. A 401 here means "nobody", not "the session ended".
pub async fn current_session() -> Result<SessionInfo, ApiError> {
    let response = sent(Request::get("/api/v1/session").send().await)?;
    if response.ok() {
        return body(response).await;
    }
    Err(problem(response).await)
}

/// Signs in; the server sets the session cookie.
pub async fn sign_in(credentials: &SignIn) -> Result<(), ApiError> {
    let request = Request::post("/api/v1/session")
        .json(credentials)
        .map_err(|error| ApiError::Unexpected(error.to_string()))?;
    let response = sent(request.send().await)?;
    if response.ok() {
        return Ok(());
    }
    Err(problem(response).await)
}

/// Signs out; the server ends the session and clears the cookie.
pub async fn sign_out() -> Result<(), ApiError> {
    let response = sent(Request::delete("/api/v1/session").send().await)?;
    if response.ok() {
        return Ok(());
    }
    Err(problem(response).await)
}

thread_local! {
    /// Told when a request is answered 401: the session has ended (expired, signed out
    /// elsewhere, password changed).
    static SESSION_ENDED: RefCell<Option<Callback<()>>> = const { RefCell::new(None) };
}

/// Sets (or, with `None`, clears) what to do when the session ends.
pub fn on_session_ended(callback: Option<Callback<()>>) {
    SESSION_ENDED.with(|slot| *slot.borrow_mut() = callback);
}

fn sent(sent: Result<Response, gloo_net::Error>) -> Result<Response, ApiError> {
    sent.map_err(|error| ApiError::Unreachable(error.to_string()))
}

async fn body<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    response
        .json::<T>()
        .await
        .map_err(|error| ApiError::Unexpected(error.to_string()))
}

async fn decode<T: DeserializeOwned>(
    sent_request: Result<Response, gloo_net::Error>,
) -> Result<T, ApiError> {
    let response = sent(sent_request)?;
    if response.ok() {
        return body(response).await;
    }
    if response.status() == 401 {
        if let Some(callback) = SESSION_ENDED.with(|slot| slot.borrow().clone()) {
            callback.emit(());
        }
    }
    Err(problem(response).await)
}

/// The error of a response that is not 2xx, from its problem+json body.
async fn problem(response: Response) -> ApiError {
    let status = response.status();
    let status_text = response.status_text();
    match response.json::<Problem>().await {
        Ok(problem) => ApiError::Status {
            status,
            // A field of a body the server refused (a form's): named with the reason.
            detail: match problem.field {
                Some(field) => format!("{field}: {}", problem.detail),
                None => problem.detail,
            },
            parameter: problem.parameter,
        },
        Err(_) => ApiError::Status {
            status,
            detail: status_text,
            parameter: None,
        },
    }
}

/// `?key=value&...` for the analytics endpoints (values already plain).
fn query_string(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

pub async fn stats_summary(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::StatsSummary, ApiError> {
    let url = format!("/api/v1/stats/summary?{}", query_string(params));
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn stats_series(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::StatsSeries, ApiError> {
    let url = format!("/api/v1/stats/series?{}", query_string(params));
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn dwell_histogram(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::DwellHistogram, ApiError> {
    let url = format!("/api/v1/stats/dwell-histogram?{}", query_string(params));
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn stats_zones(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::ZoneRanking, ApiError> {
    let url = format!("/api/v1/stats/zones?{}", query_string(params));
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn stats_networks(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::NetworkRanking, ApiError> {
    let url = format!("/api/v1/stats/networks?{}", query_string(params));
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn stats_nodes(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::NodeStatsList, ApiError> {
    let url = format!("/api/v1/stats/nodes?{}", query_string(params));
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn list_networks(
    signal: Option<&AbortSignal>,
) -> Result<api_types::NetworkList, ApiError> {
    decode(
        Request::get("/api/v1/networks")
            .abort_signal(signal)
            .send()
            .await,
    )
    .await
}

/// Replaces a network's settings (administrators); answers them as stored.
pub async fn put_network(
    network_id: i64,
    settings: &api_types::NetworkSettings,
) -> Result<api_types::Network, ApiError> {
    let request = Request::put(&format!("/api/v1/networks/{network_id}"))
        .json(settings)
        .map_err(|error| ApiError::Unexpected(error.to_string()))?;
    decode(request.send().await).await
}

/// Occupancy now, narrowed by `params` (`network_id`, `zone`).
pub async fn stats_now(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::NowStats, ApiError> {
    let url = format!("/api/v1/stats/now?{}", query_string(params));
    decode(Request::get(&url).abort_signal(signal).send().await).await
}

pub async fn device_visits(
    network_id: i64,
    mac: &str,
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::DeviceVisits, ApiError> {
    let url = format!(
        "/api/v1/devices/{network_id}/{mac}/visits?{}",
        query_string(params)
    );
    decode(Request::get(&url).abort_signal(signal).send().await).await
}
