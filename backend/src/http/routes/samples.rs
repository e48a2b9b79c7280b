use actix_web::web::{Data, Json};
use api_types::IngestResult;

use super::AppState;
use crate::cloudtrax::{parse_report, Report, TimeRules};
use crate::http::error::AppError;

/// The sample report of the original receiver's README: one access point, 5 clients.
pub const SAMPLE_REPORT: &[u8] = ncompass_core::cloudtrax::samples::V1;

/// The sample report, parsed as if received at `now`. It is part of the binary and
/// checked by a unit test.
pub fn sample_report(now: i64) -> Result<Report, AppError> {
    Ok(parse_report(SAMPLE_REPORT, &TimeRules::at(now))?)
}

/// Add the sample report
///
/// Stores the sample CloudTrax report (5 probe requests from one access point) through
/// the same path as the webhook, for a first look at an empty installation. Like any
/// report it is idempotent: a second call stores nothing new.
#[utoipa::path(
    post,
    path = "/api/v1/samples",
    tag = "probe requests",
    operation_id = "add_sample",
    responses(
        (status = 200, description = "The sample is stored", body = IngestResult),
        (status = 503, description = "The server is overloaded or the database is unavailable; retry", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(state: Data<AppState>) -> Result<Json<IngestResult>, AppError> {
    let now = state.clock.now();
    state
        .ingest
        .store(sample_report(now)?, now)
        .await
        .map(Json)
        .map_err(AppError::from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sample_is_valid() {
        assert_eq!(
            super::sample_report(crate::unix_now())
                .unwrap()
                .probe_requests
                .len(),
            5
        );
    }
}
