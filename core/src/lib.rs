//! The NCompass domain, with no database, HTTP, command line or async runtime: the MAC
//! type and its forms ([`mac`]), the CloudTrax webhook contract ([`cloudtrax`]), the
//! presence analytics ([`analytics`]: segments, visits, figures), the MAC pseudonyms
//! and log redaction ([`privacy`]) and the clock ([`clock`]).
//!
//! Every layer above depends on it (storage, the ingestion pipeline, the HTTP API, the
//! fuzz targets); it depends on nothing of theirs. Pure functions, unit tested here.

pub mod analytics;
pub mod clock;
pub mod cloudtrax;
pub mod csv;
pub mod mac;
pub mod meraki;
pub mod oui;
pub mod privacy;
