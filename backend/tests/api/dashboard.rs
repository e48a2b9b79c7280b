use std::path::PathBuf;

use crate::helpers::*;

/// A stand-in for Trunk's output: what matters here is how the server serves it.
fn built_dashboard() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let index = format!(
        "<!doctype html><title>NCompass</title>{}",
        "<!-- padding -->".repeat(50)
    );
    std::fs::write(dir.path().join("index.html"), index).unwrap();
    std::fs::write(
        dir.path().join("frontend-0a1b2c.js"),
        "export default function(){}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("frontend-0a1b2c_bg.wasm"),
        [0u8, 97, 115, 109],
    )
    .unwrap();
    dir
}

async fn spawn_with_dashboard(dir: &tempfile::TempDir) -> TestApp {
    spawn_app_with(Settings {
        static_dir: PathBuf::from(dir.path()),
        oui_file: PathBuf::from("no-oui-file-here"),
        ..settings()
    })
    .await
}

#[actix_web::test]
async fn app_paths_and_the_original_urls_load_the_dashboard() {
    let dist = built_dashboard();
    let app = spawn_with_dashboard(&dist).await;
    for path in [
        "/",
        "/?limit=100",
        "/filter?mac=00:1a:2b:3c:4d:5e&node_mac=AC:86:74:61:4F:C0",
        "/some/app/route",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>NCompass</title>"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn built_files_are_served_with_their_type_cached_and_compressed() {
    let dist = built_dashboard();
    let app = spawn_with_dashboard(&dist).await;
    let response = app.get("/frontend-0a1b2c_bg.wasm").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/wasm");
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        [0u8, 97, 115, 109]
    );

    let gzipped = app
        .client
        .get(app.url("/"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
}

#[actix_web::test]
async fn missing_files_and_api_paths_are_not_the_dashboard() {
    let dist = built_dashboard();
    let app = spawn_with_dashboard(&dist).await;
    assert_problem(app.get("/missing-file.js").await, 404).await;
    assert_problem(app.get("/api/v1/nothing").await, 404).await;
    // The API still works beside it.
    assert_eq!(app.get("/api/v1/health").await.status(), 200);
}

#[actix_web::test]
async fn without_a_build_the_root_says_how_to_get_one() {
    let app = spawn_app().await;
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("make run") && page.contains("/api/docs"));
    assert_problem(app.get("/filter").await, 404).await;
}
