//! The one error type of the HTTP layer. Every non-2xx response is an RFC 9457
//! `application/problem+json` body; 5xx bodies say nothing internal and the cause goes
//! to the log.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use api_types::{Problem, PROBLEM_CONTENT_TYPE};

use crate::cloudtrax::{ReportError, SignatureError};
use crate::db::FailureKind;
use crate::pipeline::IngestError;

#[derive(thiserror::Error)]
pub enum AppError {
    /// The request body is not JSON.
    #[error("{0}")]
    MalformedBody(String),
    /// The body could not be read to its end (the client went away, a broken chunk).
    #[error("the body could not be read: {0}")]
    UnreadableBody(String),
    /// The body is JSON but breaks a rule; `field` is its JSON path.
    #[error("{message}")]
    InvalidBody {
        field: Option<String>,
        message: String,
    },
    /// A query or path parameter is not acceptable.
    #[error("{message}")]
    InvalidParameter { parameter: String, message: String },
    #[error("{0}")]
    Unauthorized(SignatureError),
    /// No credential, or one that is unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid credential without the role needed, or a client refused by protected
    /// mode or by the cross-site check.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts (failed sign-ins); retry after the delay.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u32 },
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    NotFound(String),
    /// The resource exists already.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MethodNotAllowed(&'static str),
    /// Anything that is our fault. The cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The writer is further behind than the queue limit: shed load, retry later.
    #[error("the server is receiving more than it can store right now; retry shortly")]
    Overloaded,
    /// The database is out of reach (pool exhausted or file unusable).
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A valid report the database could not store (full, locked, failing writer):
    /// nothing of it was stored; the writer logged the cause once.
    #[error("the report was not stored: {reason}; retry after {retry_after} s")]
    NotStored { reason: String, retry_after: u32 },
    /// The server cannot take this request now (a bound it keeps); retry later.
    #[error("{detail}")]
    TryLater { detail: String, retry_after: u32 },
    /// More connections are open than `--max-connections`; this one is closed after
    /// the answer.
    #[error("the server has {limit} connections open, the most it keeps (--max-connections); retry shortly")]
    TooManyConnections { limit: usize },
    /// The body did not arrive in time; the connection is closed after the answer.
    #[error("the body did not arrive within {limit_s} s")]
    BodyTimeout { limit_s: u64 },
}

/// Redacted: whatever logs an error (actix's logger does, at debug level) never sees a
/// MAC a client sent (a refused parameter quotes it), in either privacy mode.
impl std::fmt::Debug for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cause = match self {
            AppError::Internal(cause) | AppError::Unavailable(cause) => {
                format!(": {}", crate::privacy::redact_macs(&cause.to_string()))
            }
            _ => String::new(),
        };
        write!(
            f,
            "AppError({}{cause})",
            crate::privacy::redact_macs(&self.to_string())
        )
    }
}

impl AppError {
    /// Why an ingestion endpoint (`/receive`, `/meraki/{name}`) refused a post, as the
    /// rejection metric and log count it; `None` for an answer they do not count.
    pub(crate) fn reject_reason(&self) -> Option<crate::pipeline::metrics::RejectReason> {
        use crate::pipeline::metrics::RejectReason;
        Some(match self {
            AppError::UnreadableBody(_) => RejectReason::UnreadableBody,
            AppError::MalformedBody(_) => RejectReason::InvalidJson,
            AppError::InvalidBody { .. } => RejectReason::InvalidReport,
            AppError::Unauthorized(SignatureError::Missing) => RejectReason::MissingSignature,
            AppError::Unauthorized(_) => RejectReason::BadSignature,
            AppError::Forbidden(_) => RejectReason::BadSecret,
            AppError::PayloadTooLarge { .. } => RejectReason::TooLarge,
            AppError::BodyTimeout { .. } => RejectReason::BodyTimeout,
            AppError::Overloaded => RejectReason::Overloaded,
            AppError::NotStored { .. } => RejectReason::NotStored,
            _ => return None,
        })
    }

    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AppError::Internal(error.into())
    }

    pub fn parameter(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::InvalidParameter {
            parameter: parameter.into(),
            message: message.into(),
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let (field, parameter) = match self {
            AppError::InvalidBody { field, .. } => (field.clone(), None),
            AppError::InvalidParameter { parameter, .. } => (None, Some(parameter.clone())),
            _ => (None, None),
        };
        Problem {
            problem_type: "about:blank".to_string(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
            field,
            parameter,
        }
    }
}

impl From<ReportError> for AppError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::Syntax(message) => AppError::MalformedBody(message),
            ReportError::Invalid { field, message } => AppError::InvalidBody {
                message: match &field {
                    Some(field) => format!("{field}: {message}"),
                    None => message,
                },
                field,
            },
        }
    }
}

/// The one mapping of storage failures to answers: a condition of the server that
/// passes (a lock held past the busy timeout, a full disk, an I/O error, no connection
/// to be had) is a 503 to retry; anything else is our fault, a 500. Either way the
/// cause goes to the log, not to the client.
impl From<crate::db::StoreError> for AppError {
    fn from(error: crate::db::StoreError) -> Self {
        if error.is_unavailable() {
            AppError::Unavailable(Box::new(error))
        } else {
            AppError::internal(error)
        }
    }
}

/// The pipeline's refusals of a valid report: each a 503, with what the client may be
/// told and when to retry. Nothing of the report was stored.
impl From<IngestError> for AppError {
    fn from(error: IngestError) -> Self {
        // The writer's own states say themselves; the database's say what failed.
        let (reason, retry_after) = match error {
            IngestError::Overloaded => return AppError::Overloaded,
            IngestError::Stopped | IngestError::Restarting => (error.to_string(), 1),
            IngestError::TimedOut(_) => (error.to_string(), 5),
            IngestError::NotStored(kind) => match kind {
                FailureKind::Full => ("the database's disk is full".to_string(), 30),
                FailureKind::Busy => (
                    "another process holds the database's write lock".to_string(),
                    5,
                ),
                FailureKind::Io => ("the database cannot be reached or written (a lost connection, an I/O error, a read-only file)".to_string(), 10),
                FailureKind::Report | FailureKind::Other => ("the database failed".to_string(), 5),
            },
        };
        AppError::NotStored {
            reason,
            retry_after,
        }
    }
}

impl From<SignatureError> for AppError {
    fn from(error: SignatureError) -> Self {
        AppError::Unauthorized(error)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::MalformedBody(_)
            | AppError::UnreadableBody(_)
            | AppError::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            AppError::InvalidBody { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) | AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_)
            | AppError::Overloaded
            | AppError::NotStored { .. }
            | AppError::TryLater { .. }
            | AppError::TooManyConnections { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(cause) | AppError::Unavailable(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "{self}");
            }
            // A refusal may quote what the client sent, a MAC included: the log never
            // keeps one (`--mac-privacy keyed` promises it; raw mode loses little).
            _ => tracing::debug!(
                "request refused: {}",
                crate::privacy::redact_macs(&self.to_string())
            ),
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        match self {
            AppError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Signature"));
            }
            AppError::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"ncompass\""));
            }
            AppError::MethodNotAllowed(allow) => {
                response.insert_header((header::ALLOW, *allow));
            }
            AppError::Unavailable(_) | AppError::Overloaded => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            AppError::NotStored { retry_after, .. }
            | AppError::TryLater { retry_after, .. }
            | AppError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            AppError::BodyTimeout { .. } => {
                // The rest of the body may still trickle in: close rather than read it.
                response.force_close();
            }
            AppError::TooManyConnections { .. } => {
                response.insert_header((header::RETRY_AFTER, "1"));
                response.force_close();
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_report_says_why_and_when_to_retry() {
        let cases = [
            (IngestError::Stopped, "the writer has stopped", 1),
            (
                IngestError::Restarting,
                "the writer failed while storing it and is restarting",
                1,
            ),
            (
                IngestError::TimedOut(std::time::Duration::from_secs(30)),
                "the writer did not store it within 30 s",
                5,
            ),
            (
                IngestError::NotStored(FailureKind::Full),
                "the database's disk is full",
                30,
            ),
            (
                IngestError::NotStored(FailureKind::Io),
                "the database cannot be reached or written (a lost connection, an I/O error, a read-only file)",
                10,
            ),
        ];
        for (error, want_reason, want_retry) in cases {
            match AppError::from(error) {
                AppError::NotStored {
                    reason,
                    retry_after,
                } => assert_eq!((reason.as_str(), retry_after), (want_reason, want_retry)),
                other => panic!("expected NotStored, got {other:?}"),
            }
        }
        assert!(matches!(
            AppError::from(IngestError::Overloaded),
            AppError::Overloaded
        ));
    }
}
