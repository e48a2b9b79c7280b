//! Meraki Scanning API sources: the validator, the secret, v2 and v3 posts stored as
//! probe requests with their device descriptions, idempotency, all-or-nothing, limits,
//! and the sources' admin API and command line.

use serde_json::{json, Value};

use crate::access::{ncompass, succeeds};
use crate::helpers::*;

const SECRET: &str = "s3cret-meraki";
const VALIDATOR: &str = "da6a17c407bc11f1d8a5ae7f7e8e3c5a8a6bfa1c";
const V2: &[u8] = ncompass::meraki::samples::V2;
const V3: &[u8] = ncompass::meraki::samples::V3;

/// Adds a Meraki source straight to the database, as `ncompass source add` does.
fn add_source(app: &TestApp, name: &str, secret: &str) {
    app.add_source(name, VALIDATOR, secret);
}

async fn add_by_api(app: &TestApp, source: &Value) -> reqwest::Response {
    let url = app.url("/api/v1/sources");
    app.client.post(url).json(source).send().await.unwrap()
}

async fn remove_by_api(app: &TestApp, name: &str) -> reqwest::Response {
    let url = app.url(&format!("/api/v1/sources/{name}"));
    app.client.delete(url).send().await.unwrap()
}

async fn app_with_source() -> TestApp {
    let app = spawn_app().await;
    add_source(&app, "lobby", SECRET);
    app
}

async fn post(app: &TestApp, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn stored_ok(app: &TestApp, body: impl Into<reqwest::Body>) -> Value {
    let response = post(app, "/meraki/lobby", body).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// A Prometheus sample's value, 0 when it is absent.
async fn metric(app: &TestApp, sample: &str) -> f64 {
    let text = app.get_text("/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

fn with(body: &[u8], change: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_slice(body).unwrap();
    change(&mut value);
    value.to_string()
}

#[actix_web::test]
async fn get_answers_the_validator_and_an_unknown_source_is_404() {
    let app = app_with_source().await;
    let response = app.get("/meraki/lobby").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(response.text().await.unwrap(), VALIDATOR);

    assert_problem(app.get("/meraki/cafe").await, 404).await;
    assert_problem(post(&app, "/meraki/cafe", V3).await, 404).await;
    assert_eq!(app.stored(), (0, 0));
}

#[actix_web::test]
async fn a_wrong_or_missing_secret_is_403_and_nothing_is_stored() {
    let app = app_with_source().await;
    let wrong = with(V3, |v| v["secret"] = json!("s3cret-merakI"));
    let missing = with(V3, |v| {
        v.as_object_mut().unwrap().remove("secret");
    });
    let not_text = with(V3, |v| v["secret"] = json!(12));
    for body in [wrong, missing, not_text] {
        let problem = assert_problem(post(&app, "/meraki/lobby", body).await, 403).await;
        assert!(
            !problem.to_string().contains(SECRET),
            "the secret is never echoed: {problem}"
        );
    }
    // A source's secret opens only its own URL.
    add_source(&app, "cafe", "another-secret");
    assert_problem(post(&app, "/meraki/cafe", V3).await, 403).await;
    assert_eq!(app.stored(), (0, 0));
    assert_eq!(app.count("devices"), 0);
    assert_eq!(
        metric(
            &app,
            "ncompass_reports_rejected_total{reason=\"bad_secret\"}"
        )
        .await,
        4.0
    );
    // The rejection log keeps no byte of the body (it holds the secret).
    let bytes = app.count("rejections WHERE body_prefix <> ''");
    assert_eq!(bytes, 0);
}

#[actix_web::test]
async fn a_v3_post_is_stored_per_access_point_with_its_devices_and_network() {
    let app = app_with_source().await;
    let result = stored_ok(&app, V3).await;
    let network_id = ncompass::meraki::network_number("L_643802754597887745");
    assert_eq!(result["network_id"], network_id);
    assert!(network_id < 0, "Meraki networks never meet CloudTrax's ids");
    let (observations, stored) = (
        result["observations"].as_i64().unwrap(),
        result["stored"].as_i64().unwrap(),
    );
    assert!(observations >= 3, "{result}");
    assert_eq!(result["probe_requests"], stored);
    assert_eq!(result["duplicates"], 0);
    assert_eq!(app.count("probe_requests"), stored);

    // The first client: heard by two access points (its rssiRecords), associated,
    // described; its IP address and user id are nowhere.
    let page = app
        .get_json("/api/v1/probe-requests?mac=00:26:ab:b8:a9:a5")
        .await;
    let items = page["items"].as_array().unwrap();
    let mut heard: Vec<(String, i64)> = items
        .iter()
        .map(|item| {
            (
                item["node_mac"].as_str().unwrap().to_string(),
                item["max_signal"].as_i64().unwrap(),
            )
        })
        .collect();
    heard.sort();
    assert_eq!(
        heard,
        [
            ("88:15:44:ab:cd:01".to_string(), -52),
            ("88:15:44:ab:cd:02".to_string(), -67)
        ]
    );
    let first = &items[0];
    assert_eq!(first["source_vendor"], "meraki");
    assert_eq!(first["manufacturer"], "Seiko Epson");
    assert_eq!(first["os"], "Android");
    assert_eq!(first["ssid"], "Guest Wi-Fi");
    assert_eq!(first["associated"], true);
    assert_eq!(first["randomized"], false);
    assert_eq!(first["network_id"], network_id);
    let at = 1_796_637_590; // 2026-12-07T09:59:50Z
    assert_eq!(
        (first["first_seen"].as_i64(), first["last_seen"].as_i64()),
        (Some(at), Some(at))
    );
    let everything = app.get_text("/api/v1/probe-requests?limit=1000").await;
    for never in ["192.168.0.15", "jane@example.com", "fe80"] {
        assert!(!everything.contains(never), "{never} is never stored");
    }
    // The randomized, associated client without a manufacturer.
    let page = app
        .get_json("/api/v1/probe-requests?mac=da:a1:19:3b:55:0c")
        .await;
    assert_eq!(page["items"][0]["randomized"], true);
    assert_eq!(page["items"][0]["manufacturer"], Value::Null);
    assert_eq!(page["items"][0]["ssid"], "Staff");
    assert_eq!(page["items"][0]["node_mac"], "88:15:44:ab:cd:01");

    // The network, named after Meraki's id, and its access points, say their vendor.
    let networks = app.get_json("/api/v1/networks").await;
    let network = networks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["network_id"] == network_id)
        .unwrap()
        .clone();
    assert_eq!(network["vendor"], "meraki");
    assert_eq!(network["meraki_id"], "L_643802754597887745");
    assert_eq!(
        network["name"], "L_643802754597887745",
        "named after Meraki's id"
    );
    // An operator names it (a negative id is a network id like any other), and the
    // next post keeps that name.
    let named = app
        .client
        .put(app.url(&format!("/api/v1/networks/{network_id}")))
        .json(&json!({"name": "Lobby building"}))
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 200);
    stored_ok(&app, V3).await;
    let networks = app.get_json("/api/v1/networks").await;
    assert!(
        networks.to_string().contains("\"Lobby building\""),
        "{networks}"
    );
    let page = app
        .get_json(&format!(
            "/api/v1/probe-requests?network_id={network_id}&source_vendor=meraki"
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len() as i64, stored);
    assert_eq!(page["items"][0]["network_name"], "Lobby building");
    let cloudtrax_only = app
        .get_json("/api/v1/probe-requests?source_vendor=cloudtrax")
        .await;
    assert_eq!(cloudtrax_only["items"], json!([]));
    let nodes = app.get_json("/api/v1/nodes").await;
    let nodes = nodes["items"].as_array().unwrap();
    assert!(!nodes.is_empty());
    assert!(nodes.iter().all(|n| n["vendor"] == "meraki"), "{nodes:?}");

    // The same post again, and v3 re-sending the latest records a minute later with no
    // new location: nothing new.
    let again = stored_ok(&app, V3).await;
    assert_eq!(
        (again["stored"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(stored))
    );
    let resent = with(V3, |v| {
        for observation in v["data"]["observations"].as_array_mut().unwrap() {
            observation["locations"] = json!([]);
        }
    });
    let resent = stored_ok(&app, resent).await;
    assert_eq!(resent["stored"], 0, "{resent}");
    assert_eq!(app.count("probe_requests"), stored);
    // The export carries the description too.
    let csv = app
        .get_text("/api/v1/probe-requests/export?format=csv&mac=00:26:ab:b8:a9:a5")
        .await;
    let mut lines = csv.lines().map(str::trim_end);
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",source_vendor,manufacturer,os,ssid,vendor"),
        "{csv}"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .contains(",meraki,Seiko Epson,Android,Guest Wi-Fi,"),
        "{csv}"
    );
}

#[actix_web::test]
async fn a_v2_post_is_stored_with_signals_in_dbm_at_the_posting_access_point() {
    let app = app_with_source().await;
    let result = stored_ok(&app, V2).await;
    assert!(result["stored"].as_i64().unwrap() >= 2, "{result}");
    assert_eq!(
        result["stored"], result["observations"],
        "one row an observation"
    );
    let page = app
        .get_json("/api/v1/probe-requests?mac=00:26:ab:b8:a9:a5")
        .await;
    let item = &page["items"][0];
    assert_eq!(item["node_mac"], "00:18:0a:13:dd:b0");
    assert_eq!(item["max_signal"], 24 - 95);
    assert_eq!(item["first_seen"], 1_796_637_590);
    assert_eq!(item["source_vendor"], "meraki");
    assert_eq!(item["os"], "Android");
    let again = stored_ok(&app, V2).await;
    assert_eq!(again["stored"], 0);
}

#[actix_web::test]
async fn a_malformed_or_absurd_post_names_its_field_and_stores_nothing() {
    let app = app_with_source().await;
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"secret\": \"s3cret-meraki\", ".to_string(), 400, ""),
        (
            with(V3, |v| {
                v["data"]["observations"][1]["clientMac"] = json!("00:26:ab")
            }),
            422,
            "data.observations[1].clientMac",
        ),
        (with(V3, |v| v["version"] = json!("4.0")), 422, "version"),
        (with(V3, |v| v["type"] = json!("Sonar")), 422, "type"),
        (
            with(V3, |v| {
                v["data"]["observations"][0]["latestRecord"]["time"] =
                    json!("2999-01-01T00:00:00Z");
                v["data"]["observations"][0]["locations"][0]["time"] =
                    json!("2999-01-01T00:00:00Z");
            }),
            422,
            "data.observations[0]",
        ),
        (
            with(V3, |v| {
                v["data"]["observations"][0]["locations"][0]["rssiRecords"][0]["rssi"] = json!(40)
            }),
            422,
            "data.observations[0].locations[0].rssiRecords[0].rssi",
        ),
        (
            with(V2, |v| v["data"]["observations"][0]["rssi"] = json!(500)),
            422,
            "data.observations[0].rssi",
        ),
        (
            with(V3, |v| v["data"]["networkId"] = json!("")),
            422,
            "data.networkId",
        ),
    ];
    for (body, status, field) in cases {
        let problem = assert_problem(post(&app, "/meraki/lobby", body.clone()).await, status).await;
        if status == 422 {
            let named = problem["field"].as_str().unwrap_or_default();
            assert!(named.starts_with(field), "{field}: {problem}");
        }
    }
    assert_eq!(app.stored(), (0, 0));
    assert_eq!(app.count("devices"), 0);
    assert_eq!(app.count("networks"), 0);
}

#[actix_web::test]
async fn bluetooth_posts_are_answered_and_counted_not_stored() {
    let app = app_with_source().await;
    let result = stored_ok(&app, ncompass::meraki::samples::V3_BLE).await;
    let observations = result["observations"].as_i64().unwrap();
    assert!(observations >= 1);
    assert_eq!(result["ignored"], observations);
    assert_eq!(result["stored"], 0);
    assert_eq!(app.stored(), (0, 0));
    assert_eq!(
        metric(
            &app,
            "ncompass_meraki_observations_total{type=\"bluetooth\"}"
        )
        .await,
        observations as f64
    );
    assert_eq!(
        metric(&app, "ncompass_meraki_observations_ignored_total").await,
        observations as f64
    );
    stored_ok(&app, V3).await;
    assert!(metric(&app, "ncompass_meraki_observations_total{type=\"wifi\"}").await >= 3.0);
}

#[actix_web::test]
async fn ten_thousand_observations_are_stored_whole_or_not_at_all() {
    let app = app_with_source().await;
    let now = app.clock.now();
    let body = ncompass::meraki::samples::v3_body(10_000, 7, now, SECRET);
    // The same post with its last client's MAC broken: refused whole.
    let broken = with(&body, |v| {
        v["data"]["observations"][9_999]["clientMac"] = json!("not a mac")
    });
    let problem = assert_problem(post(&app, "/meraki/lobby", broken).await, 422).await;
    assert_eq!(problem["field"], "data.observations[9999].clientMac");
    assert_eq!(app.stored(), (0, 0));
    assert_eq!(app.count("devices"), 0);

    let result = stored_ok(&app, body.clone()).await;
    assert_eq!(result["observations"], 10_000);
    let rows = result["probe_requests"].as_i64().unwrap();
    assert!(
        rows > 10_000,
        "several access points hear a client: {result}"
    );
    assert_eq!(
        result["stored"].as_i64().unwrap() + result["duplicates"].as_i64().unwrap(),
        rows
    );
    assert_eq!(
        app.count("probe_requests"),
        result["stored"].as_i64().unwrap()
    );
    let again = stored_ok(&app, body).await;
    assert_eq!(again["stored"], 0);
}

#[actix_web::test]
async fn a_post_over_the_meraki_body_limit_is_413() {
    let mut settings = settings();
    settings.meraki_max_body = 64 * 1024;
    let app = spawn_app_with(settings).await;
    add_source(&app, "lobby", SECRET);
    let body = ncompass::meraki::samples::v3_body(1_000, 1, app.clock.now(), SECRET);
    assert!(body.len() > 64 * 1024);
    assert_problem(post(&app, "/meraki/lobby", body).await, 413).await;
    assert_eq!(app.stored(), (0, 0));
    // The CloudTrax limit does not bind Meraki posts: a body between the two is taken.
    let mut settings = crate::helpers::settings();
    settings.max_body = 16 * 1024;
    let app = spawn_app_with(settings).await;
    add_source(&app, "lobby", SECRET);
    let body = ncompass::meraki::samples::v3_body(200, 1, app.clock.now(), SECRET);
    assert!(body.len() > 16 * 1024);
    stored_ok(&app, body).await;
}

#[actix_web::test]
async fn keyed_mode_opt_outs_and_erasure_apply_to_meraki_rows() {
    let mut settings = settings();
    settings.mac_privacy = ncompass::privacy::MacPrivacy::Keyed;
    let app = spawn_app_with(settings).await;
    add_source(&app, "lobby", SECRET);
    stored_ok(&app, V3).await;
    let everything = app.get_text("/api/v1/probe-requests?limit=1000").await;
    assert!(
        !everything.contains("00:26:ab:b8:a9:a5"),
        "no real MAC is shown"
    );
    assert!(
        everything.contains("Seiko Epson"),
        "descriptions follow the pseudonym"
    );

    // Erasing the device by its real MAC removes its rows and its description, and
    // opts it out: the next post stores nothing of it.
    let erased: Value = app
        .client
        .delete(app.url("/api/v1/devices/00:26:ab:b8:a9:a5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(erased["probe_requests"], 2, "{erased}");
    let before = app.count("probe_requests");
    let devices = app.count("devices");
    let later = with(V3, |v| {
        for observation in v["data"]["observations"].as_array_mut().unwrap() {
            observation["latestRecord"]["time"] = json!("2026-12-07T10:00:50Z");
            for location in observation["locations"].as_array_mut().unwrap() {
                location["time"] = json!("2026-12-07T10:00:50Z");
            }
        }
    });
    stored_ok(&app, later).await;
    let text = app.get_text("/api/v1/probe-requests?limit=1000").await;
    assert!(
        !text.contains("Seiko Epson"),
        "the opted-out device's description is gone"
    );
    assert!(
        app.count("probe_requests") > before,
        "the others are stored"
    );
    assert_eq!(
        app.count("devices"),
        devices,
        "and no description of it comes back"
    );
}

#[actix_web::test]
async fn retention_deletes_old_meraki_rows_and_the_descriptions_of_devices_gone() {
    let mut settings = settings();
    settings.keep_probe_requests = Some(std::time::Duration::from_secs(3_600));
    let app = spawn_app_with(settings).await;
    add_source(&app, "lobby", SECRET);
    let now = ncompass::unix_now();
    // Heard three hours ago (other seeds: other clients), and a minute ago.
    let old = ncompass::meraki::samples::v3_body(50, 1, now - 3 * 3_600, SECRET);
    stored_ok(&app, old).await;
    let recent = stored_ok(&app, ncompass::meraki::samples::v3_body(50, 2, now, SECRET)).await;
    let recent_devices = 50;
    assert!(
        app.count("devices") > recent_devices,
        "both posts described their devices"
    );
    crate::privacy::within(
        std::time::Duration::from_secs(30),
        "old rows and descriptions deleted",
        || async {
            (app.count("devices") == recent_devices
                && app.count("probe_requests") == recent["stored"].as_i64().unwrap())
            .then_some(())
        },
    )
    .await;
}

#[actix_web::test]
async fn the_sources_api_adds_lists_and_removes_without_showing_the_secret() {
    let app = spawn_app().await;
    let new =
        json!({"name": "lobby", "vendor": "meraki", "validator": VALIDATOR, "secret": SECRET});
    let response = add_by_api(&app, &new).await;
    assert_eq!(response.status(), 201);
    let source: Value = response.json().await.unwrap();
    assert_eq!(source["url_path"], "/meraki/lobby");
    assert_eq!(source["vendor"], "meraki");
    assert!(source.get("secret").is_none() && !source.to_string().contains(SECRET));
    // Its URL works at once, with that secret.
    assert_eq!(app.get_text("/meraki/lobby").await, VALIDATOR);
    stored_ok(&app, V3).await;

    let taken = add_by_api(&app, &new).await;
    assert_problem(taken, 409).await;
    for (field, value) in [
        ("secret", json!("short")),
        ("name", json!("Lobby/1")),
        ("vendor", json!("cloudtrax")),
        ("validator", json!("has spaces")),
    ] {
        let mut bad = new.clone();
        bad["name"] = json!("other");
        bad[field] = value;
        let response = add_by_api(&app, &bad).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["field"], field);
    }
    let mut extra = new.clone();
    extra["name"] = json!("other");
    extra["colour"] = json!("red");
    let response = add_by_api(&app, &extra).await;
    assert_problem(response, 400).await;

    let list = app.get_json("/api/v1/sources").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(SECRET));

    let removed = remove_by_api(&app, "lobby").await;
    assert_eq!(removed.status(), 204);
    assert_problem(app.get("/meraki/lobby").await, 404).await;
    let again = remove_by_api(&app, "lobby").await;
    assert_problem(again, 404).await;
    assert!(app.count("probe_requests") > 0, "what it stored stays");
}

#[actix_web::test]
async fn the_command_line_manages_sources_of_a_running_server() {
    let app = spawn_app().await;
    let db = app.database.as_str();
    succeeds(ncompass(
        db,
        &[
            "source",
            "add",
            "meraki",
            "lobby",
            "--validator",
            VALIDATOR,
            "--secret",
            SECRET,
        ],
        "",
    ));
    assert_eq!(app.get_text("/meraki/lobby").await, VALIDATOR);
    stored_ok(&app, V3).await;
    // From standard input; and never the CloudTrax secret of the environment.
    succeeds(ncompass(
        db,
        &[
            "source",
            "add",
            "meraki",
            "cafe",
            "--validator",
            "v",
            "--secret-stdin",
        ],
        "another-secret\n",
    ));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ncompass"));
    let refused = child
        .args([
            "--database",
            db,
            "source",
            "add",
            "meraki",
            "bar",
            "--validator",
            "v",
        ])
        .env("NCOMPASS_SECRET", "cloudtrax-secret")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--secret-stdin"));
    let short = ncompass(
        db,
        &[
            "source",
            "add",
            "meraki",
            "bar",
            "--validator",
            "v",
            "--secret",
            "short",
        ],
        "",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("--secret"));

    let list = succeeds(ncompass(db, &["source", "list"], ""));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[1].starts_with("cafe") && lines[2].starts_with("lobby"),
        "{list}"
    );
    assert!(
        lines[2].contains("/meraki/lobby") && lines[2].contains(VALIDATOR),
        "{list}"
    );
    assert!(!list.contains(SECRET) && !list.contains("another-secret"));

    succeeds(ncompass(db, &["source", "remove", "lobby"], ""));
    assert_problem(app.get("/meraki/lobby").await, 404).await;
    let gone = ncompass(db, &["source", "remove", "lobby"], "");
    assert!(!gone.status.success());
}
