//! Plain pages served by the backend itself.

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;

const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NCompass</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1b1f24; }
code { background: #f3f4f6; padding: 0 .25rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>NCompass</h1>
<p>Receiver and API for CloudTrax Wi-Fi presence reports.</p>
<p>The dashboard is not built on this server: <code>make run</code> builds it, or point
<code>--static-dir</code> / <code>NCOMPASS_STATIC_DIR</code> at Trunk's output.</p>
<ul>
<li>Point CloudTrax's Presence Reporting at <code>/receive</code> on this server.</li>
<li><a href="/api/docs">API reference</a> (<a href="/api/v1/openapi.json">OpenAPI document</a>)</li>
<li><a href="/api/v1/probe-requests">Latest probe requests</a> as JSON</li>
<li><a href="/api/v1/nodes">Access points</a> as JSON</li>
</ul>
</body>
</html>
"#;

/// The page at `/` when the dashboard is not built.
pub fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(INDEX)
}
