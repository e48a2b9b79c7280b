//! Opening hours: set per network, validated, and the visitor figures counted within
//! them by default (`hours=all` counts every hour), saying so.

use serde_json::{json, Value};

use crate::helpers::*;

const T0: i64 = 1_764_115_200; // Wednesday 2025-11-26 00:00:00 UTC
const HOUR: i64 = 3_600;

async fn put_network(app: &TestApp, network_id: i64, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/networks/{network_id}")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn seen(mac: &str, first: i64, last: i64) -> Value {
    json!({
        "mac": mac, "count": 1, "min_signal": -70, "max_signal": -60, "avg_signal": -65,
        "first_seen": T0 + first, "last_seen": T0 + last, "associated": false
    })
}

async fn network(app: &TestApp, network_id: i64) -> Value {
    let networks = app.get_json("/api/v1/networks").await;
    networks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["network_id"] == network_id)
        .cloned()
        .unwrap()
}

#[actix_web::test]
async fn opening_hours_are_validated_stored_canonical_and_reset() {
    let app = spawn_app().await;
    let response = put_network(
        &app,
        7,
        json!({"name": "Store", "opening_hours": {
            "mon": ["14:00-18:00", "09:00-12:30", "12:00-13:00"],
            "fri": ["22:00-02:00"], "sun": []
        }}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.unwrap();
    let canonical = json!({"mon": ["09:00-13:00", "14:00-18:00"], "fri": ["22:00-02:00"]});
    assert_eq!(stored["opening_hours"], canonical);
    assert_eq!(network(&app, 7).await["opening_hours"], canonical);

    // Each bad value: 422 naming the field, and what was stored stays.
    for (hours, field) in [
        (json!({"mon": ["9-17"]}), "opening_hours.mon"),
        (json!({"tue": ["24:00-09:00"]}), "opening_hours.tue"),
        (json!({"wed": ["25:00-26:00"]}), "opening_hours.wed"),
        (json!({"sat": vec!["01:00-02:00"; 9]}), "opening_hours.sat"),
        (json!({"sun": ["9:00-17:00"]}), "opening_hours.sun"),
    ] {
        let response = put_network(&app, 7, json!({"name": "Store", "opening_hours": hours})).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["field"], field, "{hours}");
    }
    // An unknown weekday or a wrong type is refused as a bad body, not ignored.
    for hours in [
        json!({"monday": ["09:00-17:00"]}),
        json!({"mon": "09:00-17:00"}),
        json!("always"),
    ] {
        let response = put_network(&app, 7, json!({"opening_hours": hours})).await;
        assert!(response.status().is_client_error(), "{hours}");
    }
    assert_eq!(network(&app, 7).await["opening_hours"], canonical);
    assert_eq!(network(&app, 7).await["name"], "Store");

    // Closed all week is a setting too (a venue under renovation).
    let response = put_network(&app, 7, json!({"opening_hours": {"sun": []}})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(network(&app, 7).await["opening_hours"], json!({}));
    // Left out, like the other settings: reset to none.
    let response = put_network(&app, 7, json!({"name": "Store"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(network(&app, 7).await["opening_hours"], Value::Null);
}

#[actix_web::test]
async fn figures_count_within_opening_hours_unless_asked_for_all() {
    let app = spawn_app().await;
    // Network 7 opens 09:00-17:00 every day, in Berlin (UTC+1 in November): 08:00-16:00
    // UTC. Network 8 has no opening hours.
    let every_day: Vec<&str> = vec!["09:00-17:00"];
    let week: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|day| (day.to_string(), json!(every_day)))
        .collect();
    let response = put_network(
        &app,
        7,
        json!({"time_zone": "Europe/Berlin", "opening_hours": week}),
    )
    .await;
    assert_eq!(response.status(), 200);
    // In network 7 (UTC): a cleaner at 02:00-02:50 (closed), a shopper at 10:00-10:20,
    // one who arrives at 15:50 and stays to 16:30 (overlaps the closing), and a
    // night guard 20:00-20:50. In network 8, the same cleaner's hours.
    app.ingest(&report(
        7,
        "ac:86:74:00:00:01",
        vec![
            seen("00:11:22:33:44:01", 2 * HOUR, 2 * HOUR + 3_000),
            seen("00:11:22:33:44:02", 10 * HOUR, 10 * HOUR + 1_200),
            seen("00:11:22:33:44:03", 15 * HOUR + 3_000, 16 * HOUR + 1_800),
            seen("00:11:22:33:44:04", 20 * HOUR, 20 * HOUR + 3_000),
        ],
    ))
    .await;
    app.ingest(&report(
        8,
        "ac:86:74:00:00:02",
        vec![seen("00:11:22:33:44:05", 2 * HOUR, 2 * HOUR + 3_000)],
    ))
    .await;
    let day = format!("since={T0}&until={}", T0 + 86_399);

    let open = app
        .get_json(&format!("/api/v1/stats/summary?{day}&network_id=7"))
        .await;
    assert_eq!(open["hours"], "open");
    assert_eq!(
        (open["devices"].as_i64(), open["visitors"].as_i64()),
        (Some(2), Some(2))
    );
    assert!(open.get("closed").is_none());
    let all = app
        .get_json(&format!(
            "/api/v1/stats/summary?{day}&network_id=7&hours=all"
        ))
        .await;
    assert_eq!(all["hours"], "all");
    assert_eq!(all["devices"], 4);
    // A network without opening hours counts every hour, and says so.
    let other = app
        .get_json(&format!("/api/v1/stats/summary?{day}&network_id=8"))
        .await;
    assert_eq!(
        (other["hours"].as_str(), other["devices"].as_i64()),
        (Some("all"), Some(1))
    );
    // Over both networks: each counted within its own hours (2 + 1).
    let both = app.get_json(&format!("/api/v1/stats/summary?{day}")).await;
    assert_eq!(
        (both["hours"].as_str(), both["devices"].as_i64()),
        (Some("open"), Some(3))
    );

    // The series: buckets outside the hours are closed (zeros that mean closed), and a
    // visit counts only in the buckets where the store was open.
    let series = app
        .get_json(&format!(
            "/api/v1/stats/series?bucket=hour&{day}&network_id=7"
        ))
        .await;
    assert_eq!(series["hours"], "open");
    let points = series["points"].as_array().unwrap();
    assert_eq!(points.len(), 24);
    let at = |hour: usize| {
        let point = &points[hour];
        (point["devices"].as_i64().unwrap(), point["closed"] == true)
    };
    assert_eq!(at(2), (0, true), "the cleaner's hour is closed");
    assert_eq!(at(7), (0, true));
    assert_eq!(at(8), (0, false), "opening hour, UTC 08:00");
    assert_eq!(at(10), (1, false));
    assert_eq!(at(15), (1, false));
    assert_eq!(
        at(16),
        (0, true),
        "after closing the late shopper no longer counts"
    );
    assert_eq!(at(20), (0, true));
    let every_hour = app
        .get_json(&format!(
            "/api/v1/stats/series?bucket=hour&{day}&network_id=7&hours=all"
        ))
        .await;
    assert_eq!(every_hour["hours"], "all");
    let points = every_hour["points"].as_array().unwrap();
    assert_eq!(
        (points[2]["devices"].as_i64(), points[2].get("closed")),
        (Some(1), None)
    );
    assert_eq!(points[16]["devices"], 1);

    // Rankings count the same way; a network closed over the whole range says so.
    let ranking = app.get_json(&format!("/api/v1/stats/networks?{day}")).await;
    assert_eq!(ranking["hours"], "open");
    let figures = |id: i64| {
        ranking["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["network_id"] == id)
            .unwrap()["figures"]
            .clone()
    };
    assert_eq!(figures(7)["devices"], 2);
    assert_eq!(figures(8)["devices"], 1);
    let night = format!("since={}&until={}", T0 + 20 * HOUR, T0 + 22 * HOUR);
    let ranking = app
        .get_json(&format!("/api/v1/stats/networks?{night}"))
        .await;
    let seven = ranking["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["network_id"] == 7)
        .unwrap()
        .clone();
    assert_eq!(
        (
            seven["figures"]["devices"].as_i64(),
            seven["figures"]["closed"].as_bool()
        ),
        (Some(0), Some(true))
    );
    let closed = app
        .get_json(&format!("/api/v1/stats/summary?{night}&network_id=7"))
        .await;
    assert_eq!(closed["closed"], true);

    // The histogram and the access points count the same visits as the summary.
    let histogram = app
        .get_json(&format!("/api/v1/stats/dwell-histogram?{day}&network_id=7"))
        .await;
    let visits: i64 = histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["visits"].as_i64().unwrap())
        .sum();
    assert_eq!(visits, 2);
    let nodes = app
        .get_json(&format!("/api/v1/stats/nodes?{day}&network_id=7"))
        .await;
    assert_eq!(nodes["items"][0]["devices"], 2);

    // A bad `hours` is a 400 naming it.
    let problem = assert_problem(
        app.get(&format!("/api/v1/stats/summary?{day}&hours=sometimes"))
            .await,
        400,
    )
    .await;
    assert_eq!(problem["parameter"], "hours");
}
