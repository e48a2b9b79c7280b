//! The dashboard: Trunk's built files (`dist/`), loaded into memory at start-up and
//! served at `/`, with `index.html` for every other page path so that the app's own
//! routes (and the original receiver's `/?limit=` and `/filter?...` URLs) load it.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use actix_web::http::header;
use actix_web::http::Method;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use flate2::write::GzEncoder;
use flate2::Compression;

use super::{pages, AppState};
use crate::http::error::AppError;

struct Asset {
    body: Bytes,
    /// The gzip-compressed body, when that is smaller.
    gzipped: Option<Bytes>,
    content_type: &'static str,
}

/// The built dashboard, in memory.
pub struct Dashboard {
    /// By URL path: `/index.html`, `/frontend-1a2b3c.wasm`, ...
    assets: HashMap<String, Asset>,
}

impl Dashboard {
    /// Loads every file below `dir`. `Ok(None)` when `dir` holds no `index.html` (the
    /// dashboard was not built): the server then shows a plain page at `/`.
    pub fn load(dir: &Path) -> std::io::Result<Option<Dashboard>> {
        if !dir.join("index.html").is_file() {
            return Ok(None);
        }
        let mut assets = HashMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            for entry in std::fs::read_dir(&folder)? {
                let path = entry?.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(dir).unwrap_or(&path);
                let url = format!(
                    "/{}",
                    relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/")
                );
                let body = std::fs::read(&path)?;
                let content_type = content_type(&url);
                let gzipped = if compressible(content_type) {
                    gzip(&body)?.filter(|gzipped| gzipped.len() < body.len())
                } else {
                    None
                };
                assets.insert(
                    url,
                    Asset {
                        body: Bytes::from(body),
                        gzipped: gzipped.map(Bytes::from),
                        content_type,
                    },
                );
            }
        }
        Ok(Some(Dashboard { assets }))
    }
}

impl Dashboard {
    /// The built file at URL `path` (e.g. `/api-docs/index.html`), as a response that
    /// must be revalidated, if the build has it.
    pub fn page(&self, request: &HttpRequest, path: &str) -> Option<HttpResponse> {
        self.assets
            .get(path)
            .map(|asset| respond(request, asset, "no-cache"))
    }
}

/// Every GET that no other route takes: a dashboard file, the dashboard's page, or 404.
pub async fn serve(request: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, AppError> {
    let path = request.path();
    let not_found = || AppError::NotFound(format!("there is nothing at {path}"));
    if path.starts_with("/api/") || path == "/api" {
        return Err(not_found());
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(AppError::MethodNotAllowed("GET, HEAD"));
    }
    let Some(dashboard) = &state.dashboard else {
        return if path == "/" {
            Ok(pages::index())
        } else {
            Err(not_found())
        };
    };
    if let Some(asset) = dashboard.assets.get(path).filter(|_| path != "/index.html") {
        // Trunk puts a content hash in every file name but index.html's; the API
        // reference's files (copied as they are) are kept an hour.
        let cache_control = if path.starts_with("/api-docs/") {
            "public, max-age=3600"
        } else {
            "public, max-age=31536000, immutable"
        };
        return Ok(respond(&request, asset, cache_control));
    }
    // A path with a file extension asks for a file; anything else is a page of the app.
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    if last_segment.contains('.') {
        return Err(not_found());
    }
    match dashboard.assets.get("/index.html") {
        Some(index) => Ok(respond(&request, index, "no-cache")),
        None => Err(not_found()),
    }
}

fn respond(request: &HttpRequest, asset: &Asset, cache_control: &str) -> HttpResponse {
    let accepts_gzip = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|coding| coding.trim().starts_with("gzip"))
        });
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::VARY, "Accept-Encoding"));
    match (&asset.gzipped, accepts_gzip) {
        (Some(gzipped), true) => response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(gzipped.clone()),
        _ => response.body(asset.body.clone()),
    }
}

fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit('.').next().unwrap_or_default();
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || matches!(
            content_type,
            "application/wasm" | "application/json" | "image/svg+xml"
        )
}

fn gzip(body: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(body)?;
    encoder.finish().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_index_means_no_dashboard() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Dashboard::load(dir.path()).unwrap().is_none());
    }

    #[test]
    fn loads_files_by_url_path_with_gzip_when_smaller() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>".repeat(100)).unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/app-12ab.wasm"), [0u8, 1, 2]).unwrap();
        let dashboard = Dashboard::load(dir.path()).unwrap().unwrap();
        let index = &dashboard.assets["/index.html"];
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(index.gzipped.as_ref().unwrap().len() < index.body.len());
        let wasm = &dashboard.assets["/assets/app-12ab.wasm"];
        assert_eq!(wasm.content_type, "application/wasm");
        assert!(wasm.gzipped.is_none(), "3 bytes do not shrink");
    }
}
