//! The API's self-description: the OpenAPI document, and the interactive reference at
//! `/api/docs` (Swagger UI, built into `dist/api-docs/` with the dashboard and served from
//! memory like it: nothing is fetched from elsewhere).

use actix_web::http::header::ContentType;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use super::AppState;

/// The OpenAPI document
///
/// This API described as OpenAPI 3.1 JSON (the same document as `openapi.yaml`).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(state.openapi_json.clone())
}

/// Where the reference page is in the dashboard's build.
const REFERENCE_PAGE: &str = "/api-docs/index.html";

/// The API reference at `/api/docs`: Swagger UI over `/api/v1/openapi.json` ("try it out"
/// against this server, an API token under "Authorize"). Without a built dashboard, a
/// plain page says how to get it and links the document.
pub async fn reference(request: HttpRequest, state: Data<AppState>) -> HttpResponse {
    state
        .dashboard
        .as_ref()
        .and_then(|dashboard| dashboard.page(&request, REFERENCE_PAGE))
        .unwrap_or_else(|| {
            HttpResponse::Ok()
                .content_type(ContentType::html())
                .insert_header(("Cache-Control", "no-cache"))
                .body(NOT_BUILT)
        })
}

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NCompass API reference</title>
</head>
<body>
<h1>NCompass API reference</h1>
<p>The interactive reference is built with the dashboard, which this server does not
have: <code>make run</code> builds both, or point <code>--static-dir</code> /
<code>NCOMPASS_STATIC_DIR</code> at Trunk's output.</p>
<p>The OpenAPI document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>
(the same as <code>openapi.yaml</code> in the source).</p>
</body>
</html>
"#;
