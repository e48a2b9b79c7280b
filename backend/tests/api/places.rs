//! The operator's view: names, zones and time zones; occupancy now; silence alerts.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::*;
use crate::support::receiver::{receiver, Receiver};

const ENTRANCE: &str = "ac:86:74:00:00:01";
const CAFE: &str = "ac:86:74:00:00:02";
const BACK_OFFICE: &str = "ac:86:74:00:00:03";

async fn put(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn networks_and_access_points_are_named_and_validated() {
    let app = spawn_app().await;
    app.ingest(&report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(1), 1_764_115_200, 1_764_115_260, true)],
    ))
    .await;
    // Unnamed as soon as they report.
    let networks = app.get_json("/api/v1/networks").await;
    assert_eq!(
        networks["items"],
        json!([{"network_id": 7, "name": null, "time_zone": "UTC", "opening_hours": null, "nodes": 1,
                "vendor": "cloudtrax", "meraki_id": null,
                "last_report_at": networks["items"][0]["last_report_at"]}])
    );
    let node = &app.get_json("/api/v1/nodes").await["items"][0];
    assert_eq!(
        (node["name"].clone(), node["zone"].clone()),
        (json!(null), json!(null))
    );

    let response = put(
        &app,
        "/api/v1/networks/7",
        json!({"name": "Main street", "time_zone": "america/new_york"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let network: Value = response.json().await.unwrap();
    assert_eq!(network["name"], "Main street");
    assert_eq!(network["time_zone"], "America/New_York");
    let response = put(
        &app,
        "/api/v1/nodes/AC-86-74-00-00-01",
        json!({"name": " Entrance ", "zone": "Ground floor"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"node_mac": ENTRANCE, "name": "Entrance", "zone": "Ground floor"})
    );
    // A network and an access point may be set up before they report.
    assert_eq!(
        put(&app, "/api/v1/networks/8", json!({"name": "Warehouse"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        put(
            &app,
            &format!("/api/v1/nodes/{CAFE}"),
            json!({"name": "Café"})
        )
        .await
        .status(),
        200
    );

    let networks = app.get_json("/api/v1/networks").await["items"].clone();
    assert_eq!(networks.as_array().unwrap().len(), 2);
    assert_eq!(
        networks[1],
        json!({"network_id": 8, "name": "Warehouse", "time_zone": "UTC", "opening_hours": null, "nodes": 0, "last_report_at": null,
               "vendor": "cloudtrax", "meraki_id": null})
    );
    let node = &app.get_json("/api/v1/nodes").await["items"][0];
    assert_eq!(node["name"], "Entrance");
    assert_eq!(node["zone"], "Ground floor");
    assert_eq!(node["network_name"], "Main street");

    // Refused, and nothing changed.
    for (path, body, field) in [
        (
            "/api/v1/networks/7",
            json!({"name": "x", "time_zone": "Mars/Olympus"}),
            "time_zone",
        ),
        (
            "/api/v1/networks/7",
            json!({"name": "", "time_zone": "UTC"}),
            "name",
        ),
        (
            "/api/v1/networks/7",
            json!({"name": "=HYPERLINK()"}),
            "name",
        ),
        (
            &format!("/api/v1/nodes/{ENTRANCE}") as &str,
            json!({"name": "a\nb"}),
            "name",
        ),
        (
            &format!("/api/v1/nodes/{ENTRANCE}"),
            json!({"zone": "z".repeat(101)}),
            "zone",
        ),
    ] {
        let problem = assert_problem(put(&app, path, body.clone()).await, 422).await;
        assert_eq!(problem["field"], field, "{body}");
    }
    // A misspelt field is refused, not taken for "reset the time zone".
    let problem = assert_problem(
        put(
            &app,
            "/api/v1/networks/7",
            json!({"name": "x", "timezone": "UTC"}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("timezone"),
        "{problem}"
    );
    let problem = assert_problem(put(&app, "/api/v1/nodes/not-a-mac", json!({})).await, 400).await;
    assert_eq!(problem["parameter"], "node_mac");
    let problem = assert_problem(put(&app, "/api/v1/networks/seven", json!({})).await, 400).await;
    assert_eq!(problem["parameter"], "network_id");
    let response = app
        .client
        .put(app.url("/api/v1/networks/7"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400).await;
    // A key given twice is refused (as the webhook refuses it), and so is an array.
    for body in [r#"{"name": "A", "name": "B"}"#, "[]", r#"["A"]"#] {
        let response = app
            .client
            .put(app.url("/api/v1/networks/7"))
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 400).await;
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{body}");
    }
    assert_ne!(
        app.get_json("/api/v1/networks").await["items"][0]["name"],
        "B"
    );
    let response = app
        .client
        .put(app.url("/api/v1/networks/7"))
        .body(vec![b' '; 5000])
        .send()
        .await
        .unwrap();
    assert_problem(response, 413).await;
    assert_eq!(
        app.get_json("/api/v1/networks").await["items"][0]["time_zone"],
        "America/New_York"
    );
    assert_eq!(
        app.get_json("/api/v1/nodes").await["items"][0]["name"],
        "Entrance"
    );
    // Wrong methods say which one is right.
    let response = app.get("/api/v1/networks/7").await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "PUT");
    // An access point taken down is forgotten (its name stays for when it returns).
    let forget = |mac: &str| {
        app.client
            .delete(app.url(&format!("/api/v1/nodes/{mac}")))
            .send()
    };
    assert_eq!(forget(ENTRANCE).await.unwrap().status(), 204);
    assert_eq!(app.get_json("/api/v1/nodes").await["items"], json!([]));
    assert_eq!(app.count("probe_requests"), 1, "its data stays");
    assert_problem(forget(ENTRANCE).await.unwrap(), 404).await;
    app.ingest(&report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(2), 1_764_115_300, 1_764_115_360, true)],
    ))
    .await;
    assert_eq!(
        app.get_json("/api/v1/nodes").await["items"][0]["name"],
        "Entrance"
    );
    // Leaving a field out resets it.
    let network: Value = put(&app, "/api/v1/networks/7", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (network["name"].clone(), network["time_zone"].clone()),
        (json!(null), json!("UTC"))
    );
}

#[actix_web::test]
async fn names_show_wherever_macs_do_and_zones_filter() {
    let app = spawn_app().await;
    let t = 1_764_115_200;
    app.ingest(&report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(1), t, t + 60, true)],
    ))
    .await;
    app.ingest(&report(
        7,
        CAFE,
        vec![probe(&client_mac(2), t + 100, t + 160, false)],
    ))
    .await;
    app.ingest(&report(
        7,
        BACK_OFFICE,
        vec![probe(&client_mac(3), t + 200, t + 260, false)],
    ))
    .await;
    put(&app, "/api/v1/networks/7", json!({"name": "Main street"})).await;
    put(
        &app,
        &format!("/api/v1/nodes/{ENTRANCE}"),
        json!({"name": "Entrance", "zone": "Ground"}),
    )
    .await;
    put(
        &app,
        &format!("/api/v1/nodes/{CAFE}"),
        json!({"name": "Café, \"north\"", "zone": "Ground"}),
    )
    .await;
    put(
        &app,
        &format!("/api/v1/nodes/{BACK_OFFICE}"),
        json!({"zone": "Staff"}),
    )
    .await;

    let page = app.get_json("/api/v1/probe-requests").await;
    let names: Vec<(Value, Value, Value)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["node_name"].clone(),
                row["zone"].clone(),
                row["network_name"].clone(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (json!(null), json!("Staff"), json!("Main street")),
            (
                json!("Café, \"north\""),
                json!("Ground"),
                json!("Main street")
            ),
            (json!("Entrance"), json!("Ground"), json!("Main street")),
        ]
    );
    let one = app
        .get_json(&format!(
            "/api/v1/probe-requests/{}",
            page["items"][2]["id"]
        ))
        .await;
    assert_eq!(one["node_name"], "Entrance");

    // The zone filter: by the access points' current zone, past rows included.
    let ground = app.get_json("/api/v1/probe-requests?zone=Ground").await;
    assert_eq!(ground["items"].as_array().unwrap().len(), 2);
    let nowhere = app.get_json("/api/v1/probe-requests?zone=Roof").await;
    assert_eq!(nowhere["items"], json!([]));
    put(
        &app,
        &format!("/api/v1/nodes/{CAFE}"),
        json!({"name": "Café", "zone": "Staff"}),
    )
    .await;
    let ground = app.get_json("/api/v1/probe-requests?zone=Ground").await;
    assert_eq!(ground["items"].as_array().unwrap().len(), 1);
    assert_eq!(ground["items"][0]["node_mac"], ENTRANCE);
    let problem = assert_problem(app.get("/api/v1/probe-requests?zone=").await, 400).await;
    assert_eq!(problem["parameter"], "zone");
    // A zone of many access points (more than are walked one by one) filters the list,
    // the export and the count like a small one.
    for n in 0..65 {
        put(
            &app,
            &format!("/api/v1/nodes/ac:86:75:00:00:{n:02x}"),
            json!({"zone": "Hall"}),
        )
        .await;
    }
    for n in [CAFE, BACK_OFFICE] {
        put(&app, &format!("/api/v1/nodes/{n}"), json!({"zone": "Hall"})).await;
    }
    let hall = app
        .get_json("/api/v1/probe-requests?zone=Hall&limit=1")
        .await;
    assert_eq!(hall["items"][0]["node_mac"], BACK_OFFICE);
    let hall = app
        .get_json(&format!(
            "/api/v1/probe-requests?zone=Hall&limit=1&cursor={}",
            hall["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(hall["items"][0]["node_mac"], CAFE);
    assert_eq!(hall["next_cursor"], json!(null));
    let count = app.get_json("/api/v1/probe-requests/count?zone=Hall").await;
    assert_eq!(count, json!({"count": 2, "exact": true}));
    let csv = app
        .get("/api/v1/probe-requests/export?format=csv&zone=Hall")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    put(
        &app,
        &format!("/api/v1/nodes/{CAFE}"),
        json!({"name": "Café", "zone": "Staff"}),
    )
    .await;
    put(
        &app,
        &format!("/api/v1/nodes/{BACK_OFFICE}"),
        json!({"zone": "Staff"}),
    )
    .await;
    // Past 1,024 access points a zone is refused by the list and the export (a page of a
    // quiet zone costs a seek per access point): filter by network or access point.
    let arena: Vec<String> = (0..1_025)
        .map(|n| format!("('ac:86:76:00:{:02x}:{:02x}', 'Arena')", n >> 8, n & 0xff))
        .collect();
    app.execute(&format!(
        "INSERT INTO node_labels (node_mac, zone) VALUES {}",
        arena.join(", ")
    ));
    for path in [
        "/api/v1/probe-requests?zone=Arena",
        "/api/v1/probe-requests/export?format=csv&zone=Arena",
        "/api/v1/probe-requests/count?zone=Arena",
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(problem["parameter"], "zone", "{path}");
    }
    let hall = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={t}&until={}&zone=Hall",
            t + 3_600
        ))
        .await;
    assert_eq!(hall["devices"], 0);

    // The export carries the names as extra columns, and filters by zone too.
    let csv = app
        .get("/api/v1/probe-requests/export?format=csv&zone=Staff")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0]
            .ends_with(",network_name,node_name,zone,source_vendor,manufacturer,os,ssid,vendor"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].ends_with(",Main street,,Staff,cloudtrax,,,,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with(",Main street,Café,Staff,cloudtrax,,,,"),
        "{}",
        lines[2]
    );
    let ndjson = app
        .get("/api/v1/probe-requests/export?format=ndjson&zone=Ground")
        .await
        .text()
        .await
        .unwrap();
    let row: Value = serde_json::from_str(ndjson.lines().next().unwrap()).unwrap();
    assert_eq!(row["node_name"], "Entrance");

    // Analytics by zone, with names.
    let range = format!("since={t}&until={}", t + 3_600);
    let staff = app
        .get_json(&format!("/api/v1/stats/summary?{range}&zone=Staff"))
        .await;
    assert_eq!(staff["devices"], 2);
    let nodes = app
        .get_json(&format!("/api/v1/stats/nodes?{range}&zone=Staff"))
        .await;
    let listed: HashSet<(String, Value)> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["node_mac"].as_str().unwrap().to_string(),
                item["name"].clone(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        HashSet::from([
            (CAFE.to_string(), json!("Café")),
            (BACK_OFFICE.to_string(), json!(null))
        ])
    );
    let empty = app
        .get_json(&format!("/api/v1/stats/summary?{range}&zone=Roof"))
        .await;
    assert_eq!(empty["devices"], 0);
    let visits = app
        .get_json(&format!(
            "/api/v1/devices/7/{}/visits?{range}",
            client_mac(1)
        ))
        .await;
    assert_eq!(visits["visits"][0]["strongest_node_name"], "Entrance");
    assert_eq!(visits["network_name"], "Main street");
    // What is kept of a device, for its owner: named rows too.
    let data = app
        .get_json(&format!("/api/v1/devices/{}/data", client_mac(1)))
        .await;
    assert_eq!(
        (
            data["probe_requests"][0]["node_name"].clone(),
            data["probe_requests"][0]["zone"].clone(),
            data["probe_requests"][0]["network_name"].clone()
        ),
        (json!("Entrance"), json!("Ground"), json!("Main street"))
    );
    // A refused report of a named access point names it.
    let mut broken = report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(4), t + 300, t + 360, false)],
    );
    broken["probe_requests"][0]["count"] = json!(-1);
    let response = app.post_report("/receive", broken.to_string(), None).await;
    assert_eq!(response.status(), 422);
    let rejection = newest_rejection(&app, 1).await;
    assert_eq!(
        (
            rejection["node_mac"].clone(),
            rejection["node_name"].clone(),
            rejection["zone"].clone(),
            rejection["network_name"].clone()
        ),
        (
            json!(ENTRANCE),
            json!("Entrance"),
            json!("Ground"),
            json!("Main street")
        )
    );

    // /metrics: every access point's last report, with its name and zone.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let line = metrics
        .lines()
        .find(|line| {
            line.starts_with(&format!(
                "ncompass_node_last_report_timestamp_seconds{{network=\"7\",node=\"{ENTRANCE}\""
            ))
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(
        line.contains("name=\"Entrance\",zone=\"Ground\"}"),
        "{line}"
    );
}

#[actix_web::test]
async fn a_networks_days_are_its_own_across_a_dst_change() {
    let app = spawn_app().await;
    // New York moves to daylight time at 02:00 on 8 March 2026: that day has 23 hours.
    let (march_7, march_8, march_9, march_10) =
        (1_772_859_600, 1_772_946_000, 1_773_028_800, 1_773_115_200);
    let one_thirty_est = march_8 + 5_400;
    let three_thirty_edt = march_8 + 3 * 3_600 + 1_800 - 3_600;
    app.ingest(&report(
        5,
        ENTRANCE,
        vec![
            probe(&client_mac(1), one_thirty_est, one_thirty_est + 60, false),
            probe(
                &client_mac(2),
                three_thirty_edt,
                three_thirty_edt + 60,
                false,
            ),
            // 23:30 on the 8th in New York, already the 9th in UTC.
            probe(&client_mac(3), march_9 - 1_800, march_9 - 1_740, false),
        ],
    ))
    .await;
    put(
        &app,
        "/api/v1/networks/5",
        json!({"time_zone": "America/New_York"}),
    )
    .await;
    let range = format!("since={march_7}&until={}", march_10 - 1);
    for scope in ["&network_id=5", ""] {
        let series = app
            .get_json(&format!("/api/v1/stats/series?bucket=day&{range}{scope}"))
            .await;
        assert_eq!(series["tz"], "America/New_York", "{scope}");
        let starts: Vec<i64> = series["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["since"].as_i64().unwrap())
            .collect();
        assert_eq!(starts, [march_7, march_8, march_9], "{scope}");
        assert_eq!(series["points"][1]["until"], march_9 - 1);
        assert_eq!(series["points"][1]["devices"], 3);
        assert_eq!(series["points"][2]["devices"], 0);
    }
    let summary = app
        .get_json(&format!("/api/v1/stats/summary?{range}&network_id=5"))
        .await;
    assert_eq!(summary["tz"], "America/New_York");
    // `tz` still overrides: in UTC the third device falls on the 9th.
    let utc = app
        .get_json(&format!(
            "/api/v1/stats/series?bucket=day&{range}&network_id=5&tz=UTC"
        ))
        .await;
    assert_eq!(utc["tz"], "UTC");
    let by_day: Vec<i64> = utc["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["devices"].as_i64().unwrap())
        .collect();
    assert_eq!(by_day, [0, 2, 1, 0]);
    // A second network in another zone: over both, UTC.
    put(
        &app,
        "/api/v1/networks/6",
        json!({"time_zone": "Europe/Berlin"}),
    )
    .await;
    app.ingest(&report(
        6,
        CAFE,
        vec![probe(&client_mac(9), march_8, march_8 + 60, false)],
    ))
    .await;
    let both = app
        .get_json(&format!("/api/v1/stats/series?bucket=day&{range}"))
        .await;
    assert_eq!(both["tz"], "UTC");
}

#[actix_web::test]
async fn occupancy_now_counts_the_windows_devices() {
    let app = spawn_app().await;
    let now = app.clock.now();
    put(
        &app,
        &format!("/api/v1/nodes/{ENTRANCE}"),
        json!({"zone": "Ground"}),
    )
    .await;
    put(
        &app,
        &format!("/api/v1/nodes/{CAFE}"),
        json!({"zone": "Upstairs"}),
    )
    .await;
    let randomized = |n: u32| format!("02:aa:00:00:00:{n:02x}");
    // (network, node, mac, seconds ago, associated)
    let seen: Vec<(i64, &str, String, i64, bool)> = vec![
        (7, ENTRANCE, client_mac(1), 10, false),
        (7, CAFE, client_mac(1), 20, true), // the same device, in both zones, associated once
        (7, ENTRANCE, client_mac(2), 100, false),
        (7, ENTRANCE, randomized(1), 50, false),
        (7, CAFE, randomized(2), 250, false),
        (7, BACK_OFFICE, client_mac(3), 30, true), // in no zone
        (8, ENTRANCE, client_mac(2), 40, false),   // the same MAC in another network
        (7, ENTRANCE, client_mac(4), 400, false),  // out of the window
        (7, CAFE, randomized(3), 2_000, true),     // out of the window
    ];
    for (network, node, mac, ago, associated) in &seen {
        let last = now - ago;
        app.ingest(&report(
            *network,
            node,
            vec![probe(mac, last - 5, last, *associated)],
        ))
        .await;
    }
    // The independent count: distinct (network, mac) in the window, associated if any
    // row says so, per zone of the access point.
    let zones: HashMap<&str, Option<&str>> = HashMap::from([
        (ENTRANCE, Some("Ground")),
        (CAFE, Some("Upstairs")),
        (BACK_OFFICE, None),
    ]);
    type Devices = HashMap<(i64, String), bool>;
    let mut expected: HashMap<Option<Option<&str>>, Devices> = HashMap::new();
    for (network, node, mac, ago, associated) in &seen {
        if *ago > 300 {
            continue;
        }
        for scope in [None, Some(zones[node])] {
            *expected
                .entry(scope)
                .or_default()
                .entry((*network, mac.clone()))
                .or_default() |= associated;
        }
    }
    let figures = |devices: &HashMap<(i64, String), bool>| {
        let random = |mac: &str| u8::from_str_radix(&mac[..2], 16).unwrap() & 2 != 0;
        (
            devices.len() as i64,
            devices.values().filter(|a| **a).count() as i64,
            devices
                .iter()
                .filter(|((_, m), a)| !**a && !random(m))
                .count() as i64,
            devices
                .iter()
                .filter(|((_, m), a)| !**a && random(m))
                .count() as i64,
        )
    };
    let answer = app.get_json("/api/v1/stats/now").await;
    assert_eq!(answer["window_s"], 300);
    assert_eq!(
        (
            answer["devices"].as_i64().unwrap(),
            answer["devices_associated"].as_i64().unwrap(),
            answer["devices_non_randomized_unassociated"]
                .as_i64()
                .unwrap(),
            answer["devices_randomized_unassociated"].as_i64().unwrap()
        ),
        figures(&expected[&None])
    );
    assert_eq!(answer["devices"], 6);
    let zones_answered: HashMap<Option<String>, (i64, i64, i64, i64)> = answer["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| {
            (
                z["zone"].as_str().map(str::to_string),
                (
                    z["devices"].as_i64().unwrap(),
                    z["devices_associated"].as_i64().unwrap(),
                    z["devices_non_randomized_unassociated"].as_i64().unwrap(),
                    z["devices_randomized_unassociated"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    let zones_expected: HashMap<Option<String>, (i64, i64, i64, i64)> = expected
        .iter()
        .filter_map(|(scope, devices)| {
            scope.map(|zone| (zone.map(str::to_string), figures(devices)))
        })
        .collect();
    assert_eq!(zones_answered, zones_expected);
    // Narrowed, and a wider window.
    let ground = app
        .get_json("/api/v1/stats/now?zone=Ground&network_id=7")
        .await;
    assert_eq!(
        (
            ground["devices"].clone(),
            ground["zones"].as_array().unwrap().len()
        ),
        (json!(3), 1)
    );
    let one = app
        .get_json(&format!("/api/v1/stats/now?node_mac={CAFE}"))
        .await;
    assert_eq!(
        one["devices"], 2,
        "client 1 and a randomized one at the café"
    );
    let none = app
        .get_json(&format!("/api/v1/stats/now?node_mac={CAFE}&zone=Ground"))
        .await;
    assert_eq!(none["devices"], 0);
    let wider = app.get_json("/api/v1/stats/now?window_s=3600").await;
    assert_eq!(wider["devices"], 8);
    for bad in [
        "window_s=0",
        "window_s=3601",
        "window_s=x",
        "network_id=x",
        "zone=",
    ] {
        let problem = assert_problem(app.get(&format!("/api/v1/stats/now?{bad}")).await, 400).await;
        assert_eq!(
            problem["parameter"],
            bad.split('=').next().unwrap(),
            "{bad}"
        );
    }
}

const ALERT_SECRET: &str = "alert-secret";

fn signed(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(ALERT_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn alerting_app(receivers: &[&Receiver]) -> TestApp {
    let mut settings = settings();
    settings.alert_webhook = receivers.iter().map(|r| r.url.clone()).collect();
    settings.alert_secret = Some(ALERT_SECRET.to_string());
    settings.silence_after = Duration::from_secs(300);
    spawn_app_with(settings).await
}

#[actix_web::test]
async fn an_access_point_goes_silent_and_comes_back_and_receivers_are_told() {
    let receiver = receiver(0, false).await;
    let flaky = receiver_failing_twice().await;
    let app = alerting_app(&[&receiver, &flaky]).await;
    put(
        &app,
        &format!("/api/v1/nodes/{ENTRANCE}"),
        json!({"name": "Entrance", "zone": "Ground"}),
    )
    .await;
    let now = app.clock.now();
    app.ingest(&report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(1), now - 30, now - 5, false)],
    ))
    .await;
    let reported_at = app.get_json("/api/v1/nodes").await["items"][0]["last_report_at"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.get_json("/api/v1/nodes").await["items"][0]["silent"],
        false
    );

    app.clock.advance(301);
    let node = app.get_json("/api/v1/nodes").await["items"][0].clone();
    assert_eq!(
        (node["silent"].clone(), node["silent_since"].clone()),
        (json!(true), json!(reported_at))
    );
    let seen = receiver.wait_for(1).await;
    let (signature, body) = &seen[0];
    assert_eq!(signature.as_deref(), Some(signed(body).as_str()));
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        event,
        json!({"id": format!("node_silent:7:{ENTRANCE}:{reported_at}"), "event": "node_silent",
               "network": 7, "node": ENTRANCE, "name": "Entrance", "zone": "Ground",
               "since": reported_at})
    );

    // The receiver that fails twice gets the event on the third try.
    let flaky_seen = flaky.wait_for(3).await;
    assert!(
        flaky_seen.iter().all(|attempt| *attempt == seen[0]),
        "{flaky_seen:?}"
    );

    // It reports again: back.
    app.clock.advance(-301);
    app.ingest(&report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(2), now - 3, now - 1, false)],
    ))
    .await;
    assert_eq!(
        app.get_json("/api/v1/nodes").await["items"][0]["silent"],
        false
    );
    let seen = receiver.wait_for(2).await;
    let back: Value = serde_json::from_str(&seen[1].1).unwrap();
    assert_eq!(back["event"], "node_back");
    assert_eq!(back["node"], ENTRANCE);
    assert_eq!(seen[1].0.as_deref(), Some(signed(&seen[1].1).as_str()));
    assert_eq!(flaky.wait_for(4).await[3], seen[1]);
    wait_for_metric(&app, "ncompass_alert_deliveries_total 4\n").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ncompass_alert_delivery_failures_total 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ncompass_alert_events_total{event=\"node_silent\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ncompass_alert_events_total{event=\"node_back\"} 1\n"),
        "{metrics}"
    );
    // Each event once per receiver.
    assert_eq!(receiver.bodies().len(), 2);
    assert_eq!(flaky.bodies().len(), 4);
}

/// Two instances on one database, one of them started without `--alert-webhook`: when
/// that one records an access point's silence, the event is still queued for the other
/// instance's receiver (announced in the database) and delivered by it.
#[actix_web::test]
async fn an_instance_without_receivers_queues_events_for_the_others() {
    let receiver = receiver(0, false).await;
    let delivering = alerting_app(&[&receiver]).await;
    // It announces its receivers as it starts.
    for _ in 0..100 {
        if delivering.count("alert_receivers") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivering.count("alert_receivers"), 1);
    // The other instance calls an access point silent after a second, the first after
    // five minutes: the other records the change.
    let mut quiet = settings();
    quiet.database = delivering.database.clone();
    quiet.mac_key_file = Some(delivering.mac_key_file.clone());
    quiet.silence_after = Duration::from_secs(1);
    let recording = spawn_app_with(quiet).await;
    let now = recording.clock.now();
    recording
        .ingest(&report(
            7,
            ENTRANCE,
            vec![probe(&client_mac(1), now - 30, now - 5, false)],
        ))
        .await;
    let seen = receiver.wait_for(1).await;
    let event: Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(
        (event["event"].clone(), event["node"].clone()),
        (json!("node_silent"), json!(ENTRANCE))
    );
    assert_eq!(seen[0].0.as_deref(), Some(signed(&seen[0].1).as_str()));
    // Queued once, for the one receiver, delivered by the instance that has it.
    wait_for_metric(&delivering, "ncompass_alert_deliveries_total 1\n").await;
    assert_eq!(delivering.count("alert_deliveries"), 1);
    wait_for_metric(
        &recording,
        "ncompass_alert_events_total{event=\"node_silent\"} 1\n",
    )
    .await;
}

async fn receiver_failing_twice() -> Receiver {
    receiver(2, false).await
}

async fn wait_for_metric(app: &TestApp, line: &str) {
    for _ in 0..100 {
        if app
            .get("/metrics")
            .await
            .text()
            .await
            .unwrap()
            .contains(line)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/metrics never showed {line:?}");
}

#[actix_web::test]
async fn a_hanging_receiver_never_holds_up_ingestion() {
    let hanging = receiver(0, true).await;
    let app = alerting_app(&[&hanging]).await;
    let now = app.clock.now();
    app.ingest(&report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(1), now - 30, now - 5, false)],
    ))
    .await;
    app.clock.advance(301);
    // The event is with the receiver, which does not answer...
    hanging.wait_for(1).await;
    app.clock.advance(-301);
    // ...while reports keep being stored at once.
    for n in 0..20 {
        let response = app
            .client
            .post(app.url("/receive"))
            .timeout(Duration::from_secs(5))
            .body(
                report(
                    7,
                    CAFE,
                    vec![probe(&client_mac(100 + n), now - 20, now - 2, false)],
                )
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(app.count("probe_requests"), 21);
    assert_eq!(hanging.bodies().len(), 1);
}

/// A captured report replayed (the signature has no nonce) is answered as the re-send it
/// is, but it adds no report and does not make a silent access point look alive.
#[actix_web::test]
async fn a_replayed_report_does_not_bring_a_silent_access_point_back() {
    let app = alerting_app(&[]).await;
    let now = app.clock.now();
    let captured = report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(1), now - 30, now - 5, false)],
    );
    let first = app.ingest(&captured).await;
    let reported_at = app.get_json("/api/v1/nodes").await["items"][0]["last_report_at"]
        .as_i64()
        .unwrap();
    app.clock.advance(301);
    assert_eq!(
        app.get_json("/api/v1/nodes").await["items"][0]["silent"],
        true
    );
    for _ in 0..20 {
        let again = app.ingest(&captured).await;
        assert_eq!(
            (again["stored"].clone(), again["duplicates"].clone()),
            (json!(0), json!(1))
        );
        assert_eq!(again["report_id"], first["report_id"]);
    }
    let node = app.get_json("/api/v1/nodes").await["items"][0].clone();
    assert_eq!(node["silent"], true, "{node}");
    assert_eq!(node["last_report_at"], reported_at);
    assert_eq!(app.count("reports"), 1);
    assert_eq!(app.count("probe_requests"), 1);

    // A report with anything new in it is the access point itself: alive again.
    app.ingest(&report(
        7,
        ENTRANCE,
        vec![probe(&client_mac(2), now + 290, now + 300, false)],
    ))
    .await;
    assert_eq!(
        app.get_json("/api/v1/nodes").await["items"][0]["silent"],
        false
    );
    assert_eq!(app.count("reports"), 2);
}

#[actix_web::test]
async fn zones_and_networks_ranked_over_a_range() {
    let app = spawn_app().await;
    let t = 1_764_115_200; // 2025-11-26 00:00 UTC
    let other = "ac:86:74:00:00:09";
    // Network 9: the entrance and the café in "Ground", the back office in "Upstairs";
    // network 10: one access point in "Annex".
    for (node, zone, name) in [
        (ENTRANCE, "Ground", "Entrance"),
        (CAFE, "Ground", "Café"),
        (BACK_OFFICE, "Upstairs", "Back office"),
        (other, "Annex", "Annex door"),
    ] {
        put(
            &app,
            &format!("/api/v1/nodes/{node}"),
            json!({"name": name, "zone": zone}),
        )
        .await;
    }
    put(&app, "/api/v1/networks/9", json!({"name": "Main street"})).await;
    // Device 1 heard by both Ground access points (one device there, not two), device 2
    // at the café for 20 minutes (a visitor), device 3 upstairs, devices 4 and 5 in the
    // annex; and the hour before, device 6 upstairs.
    let mut long = probe(&client_mac(2), t + 600, t + 1_800, false);
    long["max_signal"] = json!(-50);
    app.ingest(&report(
        9,
        ENTRANCE,
        vec![probe(&client_mac(1), t + 60, t + 120, false)],
    ))
    .await;
    app.ingest(&report(
        9,
        CAFE,
        vec![probe(&client_mac(1), t + 130, t + 190, false), long],
    ))
    .await;
    app.ingest(&report(
        9,
        BACK_OFFICE,
        vec![
            probe(&client_mac(3), t + 60, t + 120, false),
            probe(&client_mac(6), t - 1_800, t - 1_740, false),
        ],
    ))
    .await;
    app.ingest(&report(
        10,
        other,
        vec![
            probe(&client_mac(4), t + 60, t + 120, false),
            probe(&client_mac(5), t + 60, t + 120, false),
        ],
    ))
    .await;
    let range = format!("since={t}&until={}", t + 3_599);

    let zones = app
        .get_json(&format!("/api/v1/stats/zones?{range}&compare=previous"))
        .await;
    let rows: Vec<(String, i64, i64, i64)> = zones["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| {
            (
                z["zone"].as_str().unwrap().to_string(),
                z["figures"]["devices"].as_i64().unwrap(),
                z["figures"]["visitors"].as_i64().unwrap(),
                z["figures"]["compared"]["devices"].as_i64().unwrap(),
            )
        })
        .collect();
    // Most visitors first, then most devices.
    assert_eq!(
        rows,
        [
            ("Ground".to_string(), 2, 1, 0),
            ("Annex".to_string(), 2, 0, 0),
            ("Upstairs".to_string(), 1, 0, 1)
        ]
    );
    assert_eq!(zones["items"][0]["access_points"], json!([ENTRANCE, CAFE]));
    assert_eq!(
        zones["items"][2]["figures"]["compared"]["change"]["devices"],
        0.0
    );
    // Narrowed to network 9: the annex (network 10's) is not listed.
    let nine = app
        .get_json(&format!("/api/v1/stats/zones?{range}&network_id=9"))
        .await;
    let names: Vec<&str> = nine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["zone"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ground", "Upstairs"]);

    let networks = app
        .get_json(&format!("/api/v1/stats/networks?{range}"))
        .await;
    let rows: Vec<(i64, Value, i64, i64)> = networks["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["network_id"].as_i64().unwrap(),
                n["name"].clone(),
                n["figures"]["devices"].as_i64().unwrap(),
                n["figures"]["visitors"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [(9, json!("Main street"), 3, 1), (10, json!(null), 2, 0)]
    );
    assert!(networks["items"][0]["figures"].get("compared").is_none());

    for path in ["/api/v1/stats/zones", "/api/v1/stats/networks"] {
        let problem =
            assert_problem(app.get(&format!("{path}?{range}&compare=never")).await, 400).await;
        assert_eq!(problem["parameter"], "compare", "{path}");
        let problem = assert_problem(app.get(&format!("{path}?since=10&until=5")).await, 400).await;
        assert_eq!(problem["parameter"], "until", "{path}");
    }
}
