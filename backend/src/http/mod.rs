//! The HTTP layer, the only one that touches actix-web: every path in
//! [`routes::configure`], access control ([`auth`]), the OpenAPI document ([`openapi`]),
//! and the one mapping of every error (storage, pipeline, parser) to an RFC 9457
//! problem ([`error`]). Handlers validate, call the storage or the pipeline, and map the
//! result; they write no SQL.

pub mod auth;
pub mod error;
pub mod limits;
pub mod log;
pub mod openapi;
pub mod routes;
