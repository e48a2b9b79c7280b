//! The ingestion pipeline: one writer thread owns the only writing connection and
//! commits the reports that arrived while it was busy together, in one transaction
//! (group commit). Each request waits for its own report's commit before it is
//! answered, so a 2xx means "stored, durably". Admission is bounded: when the writer
//! falls behind by more than the queue limit, reports are refused with 503 instead of
//! piling up in memory. When nothing is queued, the writer merges stored rows into
//! the presence segments (`db::presence::catch_up`), so analytics never slow ingestion.
//!
//! The writer is supervised: a panic ends one run of it, not the thread, and the next
//! run starts on a fresh connection, as does a run whose connection broke. Nothing
//! waits for it forever (a request's reply times out into a 503), every report's room
//! in the queue is given back however the report ends ([`Reservation`]), and
//! [`Ingest::health`] says whether ingestion can make progress.
//!
//! One file per task: [`admission`] (the handle requests use, the queue's bound,
//! health), [`writer`] (the writer thread and its supervision), [`commit`] (a batch in
//! one transaction), [`idle`] (the presence merge and the checkpointer), [`retention`]
//! (deleting what is past the retention periods); beside them [`alerts`] (the silence
//! monitor and the alert deliveries) and [`metrics`]. This layer returns its own errors
//! and never names an HTTP status: `http` maps them.

mod admission;
pub mod alerts;
mod commit;
mod idle;
pub mod metrics;
mod retention;
mod writer;

pub use crate::db::writer::Durability;
pub use admission::{
    Delivery, Ingest, IngestConfig, IngestError, Reservation, StartError, WriterHealth,
};
