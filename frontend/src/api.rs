//! One async function per REST endpoint. URLs are relative: the backend serves this app.

use api_types::{IngestResult, NodeList, ProbeRequestPage, ProbeRequestQuery, Problem};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use web_sys::AbortSignal;

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

pub async fn list_nodes(signal: Option<&AbortSignal>) -> Result<NodeList, ApiError> {
    decode(
        Request::get("/api/v1/nodes")
            .abort_signal(signal)
            .send()
            .await,
    )
    .await
}

pub async fn add_sample() -> Result<IngestResult, ApiError> {
    decode(Request::post("/api/v1/samples").send().await).await
}

async fn decode<T: DeserializeOwned>(
    sent: Result<Response, gloo_net::Error>,
) -> Result<T, ApiError> {
    let response = sent.map_err(|error| ApiError::Unreachable(error.to_string()))?;
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|error| ApiError::Unexpected(error.to_string()));
    }
    let status = response.status();
    let status_text = response.status_text();
    Err(match response.json::<Problem>().await {
        Ok(problem) => ApiError::Status {
            status,
            detail: problem.detail,
            parameter: problem.parameter,
        },
        Err(_) => ApiError::Status {
            status,
            detail: status_text,
            parameter: None,
        },
    })
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

pub async fn stats_nodes(
    params: &[(&str, String)],
    signal: Option<&AbortSignal>,
) -> Result<api_types::NodeStatsList, ApiError> {
    let url = format!("/api/v1/stats/nodes?{}", query_string(params));
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
