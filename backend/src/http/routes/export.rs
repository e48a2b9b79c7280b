//! Exporting probe requests as CSV or NDJSON, streamed in constant memory: rows are
//! read a page at a time along the same keyset order as the list, and the next page is
//! read only once the client has taken the previous one.

use actix_web::http::header;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use api_types::ProbeRequest;
use tokio::sync::mpsc;

use super::parse_query;
use super::probe_requests::FilterQuery;
use super::AppState;
use crate::db;
use crate::http::error::AppError;

/// Rows read per database round trip.
const ROWS_PER_READ: u32 = 5_000;
/// Chunks buffered between the reader and a slow client: the memory bound.
const CHUNKS_IN_FLIGHT: usize = 2;

/// How long an export waits for its client to take the next chunk before it gives up
/// (the body ends unfinished): a client that stops reading does not hold an export slot
/// (`--max-exports`) and a database connection's worth of work forever.
const STALLED_CLIENT: std::time::Duration = std::time::Duration::from_secs(60);

/// The columns of the CSV export, in order: the CloudTrax fields under their own names.
/// Then the names an administrator gave the network and the access point, and its zone
/// (empty when none); what a vendor's feed told of the device; and the vendor of its
/// MAC from the IEEE registry (`randomized` for a randomized MAC).
pub const CSV_HEADER: &str = "id,network_id,node_mac,mac,count,min_signal,max_signal,avg_signal,\
last_seen_signal,first_seen,last_seen,associated,randomized,network_name,node_name,zone,\
source_vendor,manufacturer,os,ssid,vendor\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// RFC 4180: a header row, CRLF line ends, fields quoted where needed.
    Csv,
    /// One JSON object per line, as in the list's `items`.
    Ndjson,
}

/// The export's own query parameter (its filters are [`FilterQuery`]'s, read from the
/// same query string).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` or `ndjson`.
    #[param(example = "csv")]
    format: ExportFormat,
}

/// Export probe requests
///
/// Every probe request matching the filters (the same as the list's), newest `last_seen`
/// first, as CSV (RFC 4180, with a header row) or NDJSON, streamed: the download starts
/// at once and the server's memory does not grow with its size.
#[utoipa::path(
    get,
    path = "/api/v1/probe-requests/export",
    tag = "probe requests",
    operation_id = "export_probe_requests",
    params(ExportQuery, FilterQuery),
    responses(
        (status = 200, description = "The rows, streamed: CSV for `format=csv`, NDJSON for `format=ndjson`", content(
            (String = "text/csv", example = "id,network_id,node_mac,mac,count,min_signal,max_signal,avg_signal,last_seen_signal,first_seen,last_seen,associated,randomized,network_name,node_name,zone\r\n42,179283,ac:86:74:61:4f:c0,48:5a:3f:37:de:f7,10,-37,-26,-30,,1455845791,1455845811,true,false,Main street store,Entrance,Ground floor\r\n"),
            (String = "application/x-ndjson", example = "{\"id\":42,\"network_id\":179283,\"node_mac\":\"ac:86:74:61:4f:c0\",\"mac\":\"48:5a:3f:37:de:f7\"}\n"),
        )),
        (status = 400, description = "`format` or a filter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable, or `--max-exports` exports are streaming already (retry after `Retry-After` seconds); before the first row. Later, a failure or a client that reads nothing for a minute ends the body early, without its last chunk", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export(request: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, AppError> {
    let query: ExportQuery = parse_query(request.query_string())?;
    let filters: FilterQuery = parse_query(request.query_string())?;
    let filter = filters.resolve(&state).await?;
    // A zone's rows are read by one walk per access point: smaller reads keep each
    // round trip's work about the same.
    let rows_per_read = filter.node_macs.as_ref().map_or(ROWS_PER_READ, |nodes| {
        (ROWS_PER_READ / u32::try_from(nodes.len().max(1)).unwrap_or(1)).max(500)
    });
    let format = query.format;
    let Ok(slot) = std::sync::Arc::clone(&state.exports).try_acquire_owned() else {
        return Err(AppError::TryLater {
            detail: format!(
                "{} exports are streaming already, the most this server runs at once \
                 (--max-exports); retry shortly",
                state.max_exports
            ),
            retry_after: 5,
        });
    };
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::clone(&finished);
    let (chunks, stream) = mpsc::channel::<Result<Bytes, AppError>>(CHUNKS_IN_FLIGHT);
    if format == ExportFormat::Csv {
        // The channel is empty and has room: this cannot fail.
        let _ = chunks.try_send(Ok(Bytes::from_static(CSV_HEADER.as_bytes())));
    }
    let db = state.db.clone();
    let vendors = state.clone();
    actix_web::rt::spawn(async move {
        let _slot = slot;
        let mut after = None;
        let mut directory = None;
        loop {
            let filter = filter.clone();
            let names = directory.clone();
            let page = db
                .run(move |conn| {
                    let mut page = db::probe_requests::list(conn, &filter, after, rows_per_read)?;
                    // Read once: one export names every row alike.
                    let names = match names {
                        Some(names) => names,
                        None => std::sync::Arc::new(db::places::directory(conn)?),
                    };
                    page.items.iter_mut().for_each(|row| names.label(row));
                    db::devices::describe(conn, &mut page.items)?;
                    Ok((page, names))
                })
                .await;
            let mut page = match page {
                Ok((page, names)) => {
                    directory = Some(names);
                    page
                }
                Err(error) => {
                    // The status is sent; all that can be done is to end the body early.
                    tracing::error!(%error, "export stopped by a database error");
                    let _ = chunks.send(Err(error.into())).await;
                    return;
                }
            };
            page.items
                .iter_mut()
                .for_each(|row| vendors.label_vendor(row));
            let chunk = render(format, &page.items);
            match tokio::time::timeout(STALLED_CLIENT, chunks.send(Ok(Bytes::from(chunk)))).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return, // the client went away
                Err(_) => {
                    tracing::info!(
                        "export stopped: its client read nothing for {STALLED_CLIENT:?}"
                    );
                    return;
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => {
                    done.store(true, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
            }
        }
    });
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"probe-requests.{extension}\""),
        ))
        .streaming(ReceiverStream(stream, finished)))
}

/// A tokio receiver as a `Stream` of body chunks; a body whose export stopped before
/// its last row ends in an error, so that the client sees it cut short (no final
/// chunk), never a complete-looking file.
struct ReceiverStream(
    mpsc::Receiver<Result<Bytes, AppError>>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
);

impl futures_util::Stream for ReceiverStream {
    type Item = Result<Bytes, AppError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.0.poll_recv(context) {
            std::task::Poll::Ready(None) if !self.1.load(std::sync::atomic::Ordering::SeqCst) => {
                self.1.store(true, std::sync::atomic::Ordering::SeqCst);
                std::task::Poll::Ready(Some(Err(AppError::TryLater {
                    detail: "the export stopped before its end".to_string(),
                    retry_after: 5,
                })))
            }
            poll => poll,
        }
    }
}

fn render(format: ExportFormat, rows: &[ProbeRequest]) -> String {
    let mut out = String::with_capacity(rows.len() * 120);
    for row in rows {
        match format {
            ExportFormat::Csv => csv_row(&mut out, row),
            ExportFormat::Ndjson => {
                if let Ok(line) = serde_json::to_string(row) {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn csv_row(out: &mut String, row: &ProbeRequest) {
    use std::fmt::Write as _;
    let _ = write!(out, "{},{},", row.id, row.network_id);
    csv_field(out, &row.node_mac);
    out.push(',');
    csv_field(out, &row.mac);
    let _ = write!(
        out,
        ",{},{},{},{},",
        row.count, row.min_signal, row.max_signal, row.avg_signal
    );
    if let Some(signal) = row.last_seen_signal {
        let _ = write!(out, "{signal}");
    }
    let _ = write!(
        out,
        ",{},{},{},{},",
        row.first_seen, row.last_seen, row.associated, row.randomized
    );
    for (i, name) in [&row.network_name, &row.node_name, &row.zone]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, name.as_deref().unwrap_or(""));
    }
    out.push(',');
    out.push_str(row.source_vendor.as_str());
    for text in [&row.manufacturer, &row.os, &row.ssid, &row.vendor] {
        out.push(',');
        csv_field(out, text.as_deref().unwrap_or(""));
    }
    out.push_str("\r\n");
}

/// RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes
/// doubled.
fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ProbeRequest {
        ProbeRequest {
            id: 42,
            network_id: 179283,
            node_mac: "ac:86:74:61:4f:c0".into(),
            mac: "48:5a:3f:37:de:f7".into(),
            count: 10,
            min_signal: -37,
            max_signal: -26,
            avg_signal: -30,
            last_seen_signal: None,
            first_seen: 1455845791,
            last_seen: 1455845811,
            associated: true,
            randomized: false,
            network_name: None,
            node_name: None,
            zone: None,
            source_vendor: api_types::Vendor::Cloudtrax,
            manufacturer: None,
            os: None,
            ssid: None,
            vendor: Some("Apple, Inc.".to_string()),
        }
    }

    #[test]
    fn csv_rows_follow_rfc_4180() {
        let mut odd = row();
        odd.mac = "a,\"b\"\nc".into();
        odd.last_seen_signal = Some(-28);
        odd.node_name = Some("Café, \"Nord\"".into());
        odd.zone = Some("Ground".into());
        odd.source_vendor = api_types::Vendor::Meraki;
        odd.manufacturer = Some("Seiko Epson".into());
        odd.ssid = Some("Guest, 5 GHz".into());
        assert_eq!(
            render(ExportFormat::Csv, &[row(), odd]),
            "42,179283,ac:86:74:61:4f:c0,48:5a:3f:37:de:f7,10,-37,-26,-30,,1455845791,1455845811,true,false,,,,cloudtrax,,,,\"Apple, Inc.\"\r\n\
             42,179283,ac:86:74:61:4f:c0,\"a,\"\"b\"\"\nc\",10,-37,-26,-30,-28,1455845791,1455845811,true,false,,\"Café, \"\"Nord\"\"\",Ground,meraki,Seiko Epson,,\"Guest, 5 GHz\",\"Apple, Inc.\"\r\n"
        );
        assert_eq!(CSV_HEADER.split(',').count(), 21);
    }

    #[test]
    fn ndjson_is_one_object_per_line() {
        let text = render(ExportFormat::Ndjson, &[row(), row()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let parsed: ProbeRequest = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(parsed, row());
    }
}
