use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::*;

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// Every row of every page of `query`, following next_cursor.
async fn walk(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/probe-requests?{query}&cursor={cursor}"),
            None => format!("/api/v1/probe-requests?{query}"),
        };
        let page = app.get_json(&path).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return items,
        }
    }
}

/// 2,500 rows from 25 access points, several rows per second of last_seen.
async fn seed_2500(app: &TestApp) {
    for node in 0..25u32 {
        let probes = (0..100u32)
            .map(|i| {
                let n = node * 100 + i;
                let last_seen = 1_700_000_000 + i64::from(n / 3);
                probe(&client_mac(n), last_seen - 10, last_seen, n % 2 == 0)
            })
            .collect();
        app.ingest(&report(7, &format!("AC:86:74:00:00:{node:02X}"), probes))
            .await;
    }
}

#[actix_web::test]
async fn pages_of_100_walk_2500_rows_while_reports_keep_arriving() {
    let app = spawn_app().await;
    seed_2500(&app).await;
    let original: HashSet<i64> = (1..=2500).collect();
    // Past every seeded row, and within the day a clock may be ahead of the server's.
    let newest = ncompass::unix_now() - 86_400;

    let mut seen = Vec::new();
    let mut order = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/probe-requests?limit=100&cursor={cursor}"),
            None => "/api/v1/probe-requests?limit=100".to_string(),
        };
        let page = app.get_json(&path).await;
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_i64().unwrap());
            order.push((
                item["last_seen"].as_i64().unwrap(),
                item["id"].as_i64().unwrap(),
            ));
        }
        // New reports arrive between pages: newer ones, and late ones whose last_seen
        // falls in the middle of what is still to be read.
        let n = 10_000 + pages * 2;
        app.ingest(&report(
            7,
            "AC:86:74:00:01:00",
            vec![
                // Newer than every seeded row (a day ago), so it lands before the cursor.
                probe(
                    &client_mac(n),
                    newest - 10 + i64::from(n),
                    newest + i64::from(n),
                    true,
                ),
                probe(&client_mac(n + 1), 1_700_000_000, 1_700_000_400, false),
            ],
        ))
        .await;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no row repeated");
    assert!(original.is_subset(&unique), "no original row missed");
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted, "newest last_seen first, then newest id");
    assert!(pages >= 25);
}

#[actix_web::test]
async fn limit_defaults_to_100_and_caps_at_1000() {
    let app = spawn_app().await;
    seed_2500(&app).await;
    let page = app.get_json("/api/v1/probe-requests").await;
    assert_eq!(ids(&page).len(), 100);
    assert!(page["next_cursor"].is_string());
    let mut sizes = Vec::new();
    let mut path = "/api/v1/probe-requests?limit=1000".to_string();
    loop {
        let page = app.get_json(&path).await;
        sizes.push(ids(&page).len());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/probe-requests?limit=1000&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        sizes,
        [1000, 1000, 500],
        "the last page says there is no next one"
    );
}

#[actix_web::test]
async fn every_filter_narrows_the_list() {
    let app = spawn_app().await;
    app.ingest(&sample()).await;
    app.ingest(&serde_json::from_slice(ncompass::cloudtrax::samples::LAST_SEEN_SIGNAL).unwrap())
        .await;
    let other_network = report(
        5,
        "00:18:0A:00:00:01",
        vec![probe("48:5a:3f:37:de:f7", 1455845000, 1455845100, true)],
    );
    app.ingest(&other_network).await;
    // 5 + 2 + 1 rows.
    assert_eq!(walk(&app, "limit=3").await.len(), 8);

    type Matches = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(&str, Matches, usize)> = vec![
        (
            "mac=48:5A:3F:37:DE:F7",
            Box::new(|i| i["mac"] == "48:5a:3f:37:de:f7"),
            2,
        ),
        (
            "mac=48-5a-3f-37-de-f7",
            Box::new(|i| i["mac"] == "48:5a:3f:37:de:f7"),
            2,
        ),
        (
            "node_mac=ac-86-74-61-4f-c0",
            Box::new(|i| i["node_mac"] == "ac:86:74:61:4f:c0"),
            5,
        ),
        (
            "node_mac=AC:86:74:82:9A:30",
            Box::new(|i| i["node_mac"] == "ac:86:74:82:9a:30"),
            2,
        ),
        ("network_id=5", Box::new(|i| i["network_id"] == 5), 1),
        (
            "network_id=179283",
            Box::new(|i| i["network_id"] == 179283),
            5,
        ),
        ("associated=true", Box::new(|i| i["associated"] == true), 3),
        (
            "associated=false",
            Box::new(|i| i["associated"] == false),
            5,
        ),
        ("randomized=true", Box::new(|i| i["randomized"] == true), 2),
        (
            "randomized=false",
            Box::new(|i| i["randomized"] == false),
            6,
        ),
        (
            "since=1455845811",
            Box::new(|i| i["last_seen"].as_i64().unwrap() >= 1455845811),
            6,
        ),
        (
            "until=1455845811",
            Box::new(|i| i["last_seen"].as_i64().unwrap() <= 1455845811),
            3,
        ),
        (
            "since=1455845809&until=1455845817",
            Box::new(|i| (1455845809..=1455845817).contains(&i["last_seen"].as_i64().unwrap())),
            3,
        ),
        (
            "mac=48:5a:3f:37:de:f7&network_id=179283",
            Box::new(|i| i["mac"] == "48:5a:3f:37:de:f7" && i["network_id"] == 179283),
            1,
        ),
        (
            "associated=false&randomized=false&node_mac=ac:86:74:61:4f:c0",
            Box::new(|i| i["associated"] == false && i["randomized"] == false),
            3,
        ),
        ("mac=00:00:00:00:00:00", Box::new(|_| false), 0),
    ];
    for (query, matches, expected) in cases {
        // Walk in small pages so the cursor is exercised together with each filter.
        let items = walk(&app, &format!("{query}&limit=1")).await;
        assert_eq!(items.len(), expected, "{query}");
        assert!(items.iter().all(&matches), "{query}: {items:?}");
    }
    // The randomized flag is what the locally administered bit says.
    for item in walk(&app, "limit=100").await {
        let first_octet = u8::from_str_radix(&item["mac"].as_str().unwrap()[..2], 16).unwrap();
        assert_eq!(item["randomized"], first_octet & 2 != 0, "{item}");
    }
}

#[actix_web::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    app.ingest(&sample()).await;
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage!", "cursor"),
        ("cursor=MTIz", "cursor"),
        ("mac=00:11:22", "mac"),
        ("node_mac=hello", "node_mac"),
        ("network_id=1.5", "network_id"),
        ("network_id=abc", "network_id"),
        ("associated=maybe", "associated"),
        ("randomized=1", "randomized"),
        ("since=yesterday", "since"),
        ("until=-5", "until"),
        ("since=20&until=10", "until"),
    ] {
        let response = app.get(&format!("/api/v1/probe-requests?{query}")).await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
}

#[actix_web::test]
async fn one_probe_request_by_id() {
    let app = spawn_app().await;
    app.ingest(&sample()).await;
    let page = app.get_json("/api/v1/probe-requests?limit=1").await;
    let first = &page["items"][0];
    let id = first["id"].as_i64().unwrap();
    let one = app.get_json(&format!("/api/v1/probe-requests/{id}")).await;
    assert_eq!(&one, first);
    assert_eq!(
        one,
        json!({
            "id": id, "network_id": 179283, "node_mac": "ac:86:74:61:4f:c0",
            "mac": "80:19:34:b8:bc:1c", "count": 2, "min_signal": -65, "max_signal": -61,
            "avg_signal": -63, "last_seen_signal": null, "first_seen": 1455845819,
            "last_seen": 1455845820, "associated": false, "randomized": false,
            "network_name": null, "node_name": null, "zone": null,
            "source_vendor": "cloudtrax", "manufacturer": null, "os": null, "ssid": null,
            "vendor": null
        })
    );
    assert_problem(app.get("/api/v1/probe-requests/999999").await, 404).await;
    let problem = assert_problem(app.get("/api/v1/probe-requests/abc").await, 400).await;
    assert_eq!(problem["parameter"], "id");
}

#[actix_web::test]
async fn nodes_list_each_access_point_with_its_totals() {
    let app = spawn_app().await;
    app.ingest(&sample()).await;
    app.ingest(&sample()).await;
    app.ingest(&report(
        5,
        "00-18-0a-00-00-01",
        vec![probe("00:11:22:33:44:55", 1, 2, true)],
    ))
    .await;
    let nodes = app.get_json("/api/v1/nodes").await;
    let items = nodes["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let sample_node = items
        .iter()
        .find(|n| n["node_mac"] == "ac:86:74:61:4f:c0")
        .unwrap();
    assert_eq!(sample_node["network_id"], 179283);
    // The sample posted again is a re-send: no report of its own.
    assert_eq!(sample_node["reports"], 1);
    assert_eq!(sample_node["reports_last_hour"], 1);
    assert_eq!(sample_node["probe_requests"], 5);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - sample_node["last_report_at"].as_i64().unwrap()).abs() < 60);
    let other = items
        .iter()
        .find(|n| n["node_mac"] == "00:18:0a:00:00:01")
        .unwrap();
    assert_eq!(
        (other["reports"].as_i64(), other["probe_requests"].as_i64()),
        (Some(1), Some(1))
    );
}

#[actix_web::test]
async fn samples_go_through_ingestion_and_are_idempotent() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/samples"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["stored"], 5);
    let response = app
        .client
        .post(app.url("/api/v1/samples"))
        .send()
        .await
        .unwrap();
    let result: Value = response.json().await.unwrap();
    assert_eq!(
        (result["stored"].as_i64(), result["duplicates"].as_i64()),
        (Some(0), Some(5))
    );
    // The second is a re-send of the first: it keeps no report record.
    assert_eq!(app.stored(), (5, 1));
    // No state-changing GET.
    assert_problem(app.get("/api/v1/samples").await, 405).await;
    assert_eq!(app.stored(), (5, 1));
}

#[actix_web::test]
async fn health_and_unknown_api_paths() {
    let app = spawn_app().await;
    let health = app.get_json("/api/v1/health").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    assert_eq!(
        health["writer"],
        json!({"status": "ok", "alive": true, "oldest_queued_ms": null, "last_error": null,
               "last_error_at": null, "restarts": 0})
    );
    for path in ["/api/v1/nothing", "/api/v2/probe-requests", "/api/"] {
        let problem = assert_problem(app.get(path).await, 404).await;
        assert!(problem["detail"].as_str().unwrap().contains(path));
    }
}
