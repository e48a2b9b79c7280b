use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

async fn export(app: &TestApp, query: &str) -> (reqwest::header::HeaderMap, String) {
    let response = app
        .get(&format!("/api/v1/probe-requests/export?{query}"))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

/// 2,500 rows from 25 access points, across more than one internal read.
async fn seed(app: &TestApp) {
    for node in 0..25u32 {
        let probes = (0..100u32)
            .map(|i| {
                let n = node * 100 + i;
                probe(
                    &client_mac(n),
                    1_700_000_000,
                    1_700_000_000 + i64::from(n),
                    n % 2 == 0,
                )
            })
            .collect();
        app.ingest(&report(7, &format!("AC:86:74:00:00:{node:02X}"), probes))
            .await;
    }
}

#[actix_web::test]
async fn csv_has_a_header_and_every_matching_row() {
    let app = spawn_app().await;
    seed(&app).await;
    let (headers, body) = export(&app, "format=csv").await;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("probe-requests.csv"));
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "id,network_id,node_mac,mac,count,min_signal,max_signal,avg_signal,last_seen_signal,first_seen,last_seen,associated,randomized,network_name,node_name,zone,source_vendor,manufacturer,os,ssid,vendor"
    );
    assert_eq!(lines.len(), 1 + 2500);
    let ids: HashSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 2500, "no row repeated");
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first.len(), 21);
    assert_eq!(first[10], "1700002499", "newest last_seen first");
}

#[actix_web::test]
async fn ndjson_with_filters_matches_the_list() {
    let app = spawn_app().await;
    seed(&app).await;
    let query = "node_mac=ac-86-74-00-00-03&associated=true&since=1700000310&until=1700000390";
    let (headers, body) = export(&app, &format!("format=ndjson&{query}")).await;
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let exported: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed = app
        .get_json(&format!("/api/v1/probe-requests?limit=1000&{query}"))
        .await;
    assert_eq!(&exported, listed["items"].as_array().unwrap());
    assert_eq!(exported.len(), 41, "the even n of 310..=390, all in node 3");
}

#[actix_web::test]
async fn an_empty_export_is_just_the_header() {
    let app = spawn_app().await;
    let (_, csv) = export(&app, "format=csv").await;
    assert_eq!(csv.lines().count(), 1);
    let (_, ndjson) = export(&app, "format=ndjson").await;
    assert_eq!(ndjson, "");
}

#[actix_web::test]
async fn bad_format_or_filter_is_400_naming_it() {
    let app = spawn_app().await;
    for (query, parameter) in [
        ("", "format"),
        ("format=xml", "format"),
        ("format=", "format"),
        ("format=csv&mac=nope", "mac"),
        ("format=csv&since=9&until=3", "until"),
        ("format=csv&network_id=x", "network_id"),
    ] {
        let response = app
            .get(&format!("/api/v1/probe-requests/export?{query}"))
            .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
}

/// The count says how many rows the export with the same filters has.
#[actix_web::test]
async fn the_count_is_the_number_of_rows_the_export_has() {
    let app = spawn_app().await;
    seed(&app).await;
    let named = app
        .client
        .put(app.url("/api/v1/nodes/ac:86:74:00:00:04"))
        .json(&serde_json::json!({"name": "Door", "zone": "Front"}))
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 200);
    for query in [
        "",
        "node_mac=ac-86-74-00-00-03&associated=true&since=1700000310&until=1700000390",
        "associated=false",
        "mac=00:00:00:00:00:00",
        "zone=Front",
        "zone=Nowhere",
        "network_id=8",
    ] {
        let counted = app
            .get_json(&format!("/api/v1/probe-requests/count?{query}"))
            .await;
        let (_, ndjson) = export(&app, &format!("format=ndjson&{query}")).await;
        assert_eq!(counted["count"], ndjson.lines().count(), "{query}");
        assert_eq!(counted["exact"], true, "{query}");
    }
}

#[actix_web::test]
async fn a_bad_count_filter_is_400_naming_it() {
    let app = spawn_app().await;
    for (query, parameter) in [
        ("mac=nope", "mac"),
        ("node_mac=", "node_mac"),
        ("since=9&until=3", "until"),
        ("network_id=1.5", "network_id"),
        ("associated=maybe", "associated"),
        ("zone=", "zone"),
    ] {
        let response = app
            .get(&format!("/api/v1/probe-requests/count?{query}"))
            .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
}

/// At most `--max-exports` stream at once: one more is answered 503 with Retry-After,
/// and a slot is free again once its client goes away.
#[actix_web::test]
async fn exports_past_the_limit_are_503_and_a_slot_frees_when_its_client_leaves() {
    let app = spawn_app_with(Settings {
        max_exports: 1,
        ..settings()
    })
    .await;
    // 200,000 rows: more than the socket buffers and the export's two chunks hold, so an
    // export whose client reads nothing stays in progress.
    app.execute(
        "INSERT INTO reports (network_id, node_mac, version, received_at, \
           probe_request_count, stored_count, duplicate_count) \
         VALUES (7, 'ac:86:74:61:4f:c0', 1, 1700000000, 200000, 200000, 0);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) \
         INSERT INTO probe_requests (report_id, network_id, node_mac, mac, count, min_signal, \
           max_signal, avg_signal, first_seen, last_seen, associated, randomized) \
         SELECT (SELECT max(id) FROM reports), 7, 'ac:86:74:61:4f:c0', \
           '00:11:22:33:44:55', 1, -70, -50, -60, 1700000000 + i, 1700000000 + i, false, false \
         FROM n;",
    );
    let path = "/api/v1/probe-requests/export?format=ndjson";
    let stalled = app.get(path).await;
    assert_eq!(stalled.status(), 200);
    let refused = app.get(path).await;
    assert_eq!(refused.headers()["retry-after"], "5");
    let problem = assert_problem(refused, 503).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("--max-exports"),
        "{problem}"
    );
    drop(stalled);
    let mut status = 0;
    for _ in 0..100 {
        let response = app
            .get("/api/v1/probe-requests/export?format=csv&limit=1")
            .await;
        status = response.status().as_u16();
        if status == 200 {
            drop(response);
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "no slot came free");
}
