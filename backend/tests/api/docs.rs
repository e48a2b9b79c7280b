use crate::helpers::*;

/// `openapi.yaml` is what `ncompass openapi` prints. Regenerate it with
/// `make openapi` when this fails.
#[test]
fn committed_openapi_yaml_is_up_to_date() {
    let committed = include_str!("../../../openapi.yaml");
    let generated = ncompass::openapi::yaml().unwrap();
    assert!(
        committed == generated,
        "openapi.yaml is out of date: run `make openapi` and commit the result"
    );
}

#[actix_web::test]
async fn the_spec_and_the_reference_page_are_served() {
    let app = spawn_app().await;
    let served = app.get_json("/api/v1/openapi.json").await;
    let generated: serde_json::Value =
        serde_json::from_str(&ncompass::openapi::json().unwrap()).unwrap();
    assert_eq!(served, generated);
    for path in [
        "/receive",
        "/recieve",
        "/api/v1/probe-requests",
        "/api/v1/probe-requests/{id}",
        "/api/v1/nodes",
        "/api/v1/samples",
        "/api/v1/health",
    ] {
        assert!(served["paths"][path].is_object(), "{path} is documented");
    }

    // Without a built dashboard, the reference page says how to get it.
    let response = app.get("/api/docs").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = response.text().await.unwrap();
    assert!(page.contains("make run") && page.contains("/api/v1/openapi.json"));

    let index = app.get("/").await;
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("/api/docs"));
}

/// With the dashboard built, `/api/docs` is its `api-docs/index.html` (the Swagger UI
/// page; the browser tests load the real one), revalidated, gzipped when asked; its
/// files are kept an hour, not forever (their names carry no content hash).
#[actix_web::test]
async fn the_reference_is_the_built_page_served_gzipped() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>app</title>",
    )
    .unwrap();
    std::fs::create_dir_all(dist.path().join("api-docs/swagger-ui-0")).unwrap();
    let page = format!(
        "<!doctype html><title>NCompass API reference</title>{}",
        "<div id=swagger-ui></div>".repeat(50)
    );
    std::fs::write(dist.path().join("api-docs/index.html"), &page).unwrap();
    std::fs::write(
        dist.path()
            .join("api-docs/swagger-ui-0/swagger-ui-bundle.js"),
        "window.SwaggerUIBundle = function () {};".repeat(50),
    )
    .unwrap();
    let mut settings = settings();
    settings.static_dir = dist.path().to_path_buf();
    let app = spawn_app_with(settings).await;

    // The test client does not decompress: the bytes are as sent.
    let response = app
        .client
        .get(app.url("/api/docs"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(app.get("/api/docs").await.text().await.unwrap(), page);

    let script = app.get("/api-docs/swagger-ui-0/swagger-ui-bundle.js").await;
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["cache-control"], "public, max-age=3600");
}

/// Every documented operation is routed: none answers "there is nothing at".
#[actix_web::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let spec: serde_json::Value =
        serde_json::from_str(&ncompass::openapi::json().unwrap()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "1")
            .replace("{network_id}", "1")
            .replace("{mac}", "00:11:22:33:44:55")
            .replace("{node_mac}", "00:11:22:33:44:55");
        for method in item.as_object().unwrap().keys() {
            let request = match method.as_str() {
                "get" => app.client.get(app.url(&concrete)),
                "post" => app.client.post(app.url(&concrete)).body("{}"),
                "delete" => app.client.delete(app.url(&concrete)),
                "put" => app.client.put(app.url(&concrete)).body("{}"),
                other => panic!("{other} {path} is documented but not tried here"),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            assert!(
                !(status == 404 && body.contains("there is nothing at")),
                "{method} {path} is documented but not routed"
            );
            assert_ne!(status, 405, "{method} {path}");
        }
    }
}
