//! The API's self-description: the OpenAPI document, and a human-readable reference page
//! rendered from it on the server (no script, nothing fetched from elsewhere).

use std::fmt::Write as _;

use actix_web::http::header::ContentType;
use actix_web::web::Data;
use actix_web::HttpResponse;
use serde_json::Value;

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

/// The API reference page at `/api/docs`.
pub async fn reference(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(state.api_reference_html.clone())
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

const STYLE: &str = "
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1b1f24; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
h1 { margin-bottom: .25rem; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .25rem; margin-top: 2.5rem; }
section.op { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
section.op h3 { font-family: ui-monospace, monospace; font-size: 1rem; margin: .5rem 0; }
.method { display: inline-block; min-width: 3.5rem; text-align: center; border-radius: 4px; color: #fff; padding: 0 .4rem; margin-right: .5rem; }
.get { background: #0969da; } .post { background: #1a7f37; } .put, .patch { background: #9a6700; } .delete { background: #cf222e; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #eaeef2; padding: .25rem .5rem; }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; background: #f6f8fa; border-radius: 4px; }
code { padding: 0 .2rem; } pre { padding: .5rem; overflow-x: auto; }
nav ul { columns: 2; } .deprecated { text-decoration: line-through; }
";

/// Renders the OpenAPI document (as JSON) into one self-contained HTML page.
pub fn render_reference(openapi: &Value) -> String {
    let mut page = String::new();
    let info = &openapi["info"];
    let title = text(&info["title"]);
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} API reference</title><style>{STYLE}</style></head><body><main>\
         <h1>{title} API reference</h1><p>Version {version} · \
         <a href=\"/api/v1/openapi.json\">OpenAPI document (JSON)</a></p>{description}",
        title = escape(&title),
        version = escape(&text(&info["version"])),
        description = paragraphs(&text(&info["description"])),
    );

    let operations = operations(openapi);
    page.push_str("<nav><h2>Endpoints</h2><ul>");
    for (path, method, operation) in &operations {
        let _ = write!(
            page,
            "<li><a href=\"#{id}\"><code>{method} {path}</code></a> {summary}</li>",
            id = escape(&anchor(method, path)),
            method = method.to_uppercase(),
            path = escape(path),
            summary = escape(&text(&operation["summary"])),
        );
    }
    page.push_str("</ul></nav>");

    for tag in openapi["tags"].as_array().into_iter().flatten() {
        let name = text(&tag["name"]);
        let _ = write!(
            page,
            "<h2>{}</h2>{}",
            escape(&capitalised(&name)),
            paragraphs(&text(&tag["description"]))
        );
        for (path, method, operation) in operations.iter().filter(|(_, _, operation)| {
            operation["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(&name)))
        }) {
            render_operation(&mut page, path, method, operation);
        }
    }

    page.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = openapi["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            render_schema(&mut page, name, schema);
        }
    }
    page.push_str("</main></body></html>\n");
    page
}

fn operations(openapi: &Value) -> Vec<(String, &'static str, &Value)> {
    let mut operations = Vec::new();
    for (path, item) in openapi["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((path.clone(), method, operation));
            }
        }
    }
    operations
}

fn render_operation(page: &mut String, path: &str, method: &str, operation: &Value) {
    let deprecated = operation["deprecated"].as_bool().unwrap_or(false);
    let _ = write!(
        page,
        "<section class=\"op\" id=\"{id}\"><h3><span class=\"method {method}\">{upper}</span>\
         <span class=\"{class}\">{path}</span></h3><p><strong>{summary}</strong></p>{description}",
        id = escape(&anchor(method, path)),
        upper = method.to_uppercase(),
        class = if deprecated { "deprecated" } else { "" },
        path = escape(path),
        summary = escape(&text(&operation["summary"])),
        description = paragraphs(&text(&operation["description"])),
    );
    if let Some(role) = operation["security"][0]["bearer"][0].as_str() {
        let _ = write!(
            page,
            "<p class=\"security\">Needs the role <code>{role}</code>: an API token \
             (<code>Authorization: Bearer ncp_…</code>) or a dashboard session.</p>",
            role = escape(role),
        );
    }

    if let Some(parameters) = operation["parameters"].as_array().filter(|p| !p.is_empty()) {
        page.push_str(
            "<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th>\
             <th>Required</th><th>Description</th></tr>",
        );
        for parameter in parameters {
            let _ =
                write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                escape(&text(&parameter["name"])),
                escape(&text(&parameter["in"])),
                schema_type(&parameter["schema"]),
                if parameter["required"].as_bool().unwrap_or(false) { "yes" } else { "no" },
                escape(&text(&parameter["description"])),
                example(&parameter["example"]),
            );
        }
        page.push_str("</table>");
    }

    let body = &operation["requestBody"];
    if body.is_object() {
        let _ = write!(
            page,
            "<h4>Request body</h4>{}",
            paragraphs(&text(&body["description"]))
        );
        render_content(page, &body["content"]);
    }

    page.push_str(
        "<h4>Responses</h4><table><tr><th>Status</th><th>Description</th><th>Body</th></tr>",
    );
    for (status, response) in operation["responses"].as_object().into_iter().flatten() {
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>",
            escape(status),
            escape(&text(&response["description"]))
        );
        render_content(page, &response["content"]);
        page.push_str("</td></tr>");
    }
    page.push_str("</table></section>");
}

fn render_content(page: &mut String, content: &Value) {
    for (media_type, media) in content.as_object().into_iter().flatten() {
        let _ = write!(
            page,
            "<div><code>{}</code> {}</div>{}",
            escape(media_type),
            schema_type(&media["schema"]),
            example(&media["example"]),
        );
    }
}

fn render_schema(page: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        page,
        "<section class=\"op\" id=\"schema-{id}\"><h3>{name}</h3>{description}",
        id = escape(name),
        name = escape(name),
        description = paragraphs(&text(&schema["description"])),
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(properties) = schema["properties"].as_object() {
        page.push_str(
            "<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>",
        );
        for (field, property) in properties {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(field),
                schema_type(property),
                if required.contains(&field.as_str()) {
                    "yes"
                } else {
                    "no"
                },
                escape(&text(&property["description"])),
            );
        }
        page.push_str("</table>");
    }
    page.push_str(&example(&schema["example"]));
    page.push_str("</section>");
}

/// A schema's type in a few words, linking to named schemas.
fn schema_type(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(variants) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return variants
            .iter()
            .map(schema_type)
            .collect::<Vec<_>>()
            .join(" or ");
    }
    let kind = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => String::new(),
    };
    let described = match kind.as_str() {
        "array" => format!("array of {}", schema_type(&schema["items"])),
        _ => {
            let format = text(&schema["format"]);
            if format.is_empty() {
                escape(&kind)
            } else {
                format!("{} ({})", escape(&kind), escape(&format))
            }
        }
    };
    let mut bounds = Vec::new();
    for (key, word) in [
        ("minimum", "min"),
        ("maximum", "max"),
        ("default", "default"),
    ] {
        if !schema[key].is_null() {
            bounds.push(format!("{word} {}", schema[key]));
        }
    }
    if bounds.is_empty() {
        described
    } else {
        format!("{described}, {}", escape(&bounds.join(", ")))
    }
}

fn example(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("<pre>{}</pre>", escape(&pretty))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|paragraph| !paragraph.trim().is_empty())
        .map(|paragraph| format!("<p>{}</p>", inline_code(&escape(paragraph))))
        .collect()
}

/// `code` spans of the descriptions, after escaping.
fn inline_code(escaped: &str) -> String {
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn anchor(method: &str, path: &str) -> String {
    format!("{method}{}", path.replace(['/', '{', '}'], "-"))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_lists_every_operation_and_schema() {
        let openapi: Value = serde_json::from_str(&crate::openapi::json().unwrap()).unwrap();
        let page = render_reference(&openapi);
        for (path, method, _) in operations(&openapi) {
            assert!(
                page.contains(&format!("id=\"{}\"", anchor(method, &path))),
                "{method} {path}"
            );
        }
        for name in openapi["components"]["schemas"].as_object().unwrap().keys() {
            assert!(page.contains(&format!("id=\"schema-{name}\"")), "{name}");
        }
        assert!(page.contains("<code>limit</code>"));
        assert!(page.contains("Needs the role <code>admin</code>"));
        assert!(page.contains("Authorization: Bearer $TOKEN"));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no external links"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            paragraphs("use `a<b`\n\nnext"),
            "<p>use <code>a&lt;b</code></p><p>next</p>"
        );
    }
}
