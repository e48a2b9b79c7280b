//! Completeness: every figure says how many of the reports its access points should
//! have sent arrived, and which access points were silent.

use serde_json::{json, Value};

use crate::helpers::*;

const HOUR: i64 = 3_600;
const A: &str = "ac:86:74:00:00:0a";
const B: &str = "ac:86:74:00:00:0b";

/// Reports of `node` received every `every` seconds over `[from, to)`, as rows of the
/// reports table.
fn reports(node: &str, from: i64, to: i64, every: i64) -> Vec<String> {
    (from..to)
        .step_by(every as usize)
        .map(|at| format!("(5, '{node}', 1, {at}, 1, 1, 0)"))
        .collect()
}

#[actix_web::test]
async fn figures_carry_completeness_and_name_a_silent_access_point() {
    let app = spawn_app().await;
    let now = app.clock.now();
    // Three whole hours, ending at least an hour ago.
    let base = now - now.rem_euclid(HOUR) - 4 * HOUR;
    // Both access points exist (one report each, received now: after the range), then
    // their history: A every 30 s for the three hours, B every 60 s but silent in the
    // second hour.
    for node in [A, B] {
        app.ingest(&report(
            5,
            node,
            vec![probe(&client_mac(1), base, base + 60, false)],
        ))
        .await;
    }
    let mut rows = reports(A, base, base + 3 * HOUR, 30);
    rows.extend(reports(B, base, base + HOUR, 60));
    rows.extend(reports(B, base + 2 * HOUR, base + 3 * HOUR, 60));
    app.execute(&format!(
        "INSERT INTO reports (network_id, node_mac, version, received_at, probe_request_count, \
         stored_count, duplicate_count) VALUES {}",
        rows.join(", ")
    ));
    app.execute(&format!("UPDATE nodes SET first_report_at = {base}"));

    let range = format!("since={base}&until={}&network_id=5", base + 3 * HOUR - 1);
    let summary = app
        .get_json(&format!("/api/v1/stats/summary?{range}"))
        .await;
    // 360 + 180 expected, 60 of B's missing; B sent two thirds: not silent over the range.
    assert_eq!(
        summary["completeness"],
        json!({"expected_reports": 540, "received_reports": 480, "share": 480.0 / 540.0,
               "silent_nodes": []})
    );
    let series = app
        .get_json(&format!("/api/v1/stats/series?bucket=hour&{range}"))
        .await;
    let hours: Vec<&Value> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["completeness"])
        .collect();
    assert_eq!(hours.len(), 3);
    assert_eq!(hours[0]["share"], 1.0);
    assert_eq!(hours[1]["received_reports"], 120);
    assert_eq!(hours[1]["expected_reports"], 180);
    assert_eq!(hours[1]["silent_nodes"], json!([B]));
    assert_eq!(hours[2]["silent_nodes"], json!([]));

    // Rankings: each place its own access points' completeness.
    app.client
        .put(app.url(&format!("/api/v1/nodes/{B}")))
        .json(&json!({"zone": "Back"}))
        .send()
        .await
        .unwrap();
    app.client
        .put(app.url(&format!("/api/v1/nodes/{A}")))
        .json(&json!({"zone": "Front"}))
        .send()
        .await
        .unwrap();
    let second_hour = format!("since={}&until={}", base + HOUR, base + 2 * HOUR - 1);
    let zones = app
        .get_json(&format!("/api/v1/stats/zones?{second_hour}"))
        .await;
    let zone = |name: &str| {
        zones["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|z| z["zone"] == name)
            .unwrap()["figures"]["completeness"]
            .clone()
    };
    assert_eq!(zone("Front")["share"], 1.0);
    assert_eq!(zone("Back")["received_reports"], 0);
    assert_eq!(zone("Back")["silent_nodes"], json!([B]));
    // Narrowed to a zone: only its access points' reports count.
    let back = app
        .get_json(&format!("/api/v1/stats/summary?{second_hour}&zone=Back"))
        .await;
    assert_eq!(back["completeness"]["expected_reports"], 60);
    assert_eq!(back["completeness"]["received_reports"], 0);
    assert_eq!(back["completeness"]["silent_nodes"], json!([B]));
    let networks = app
        .get_json(&format!("/api/v1/stats/networks?{second_hour}"))
        .await;
    assert_eq!(
        networks["items"][0]["figures"]["completeness"]["received_reports"],
        120
    );

    // Occupancy now: in the last hour only the two reports received now arrived, of a
    // report a minute expected from each (their cadence unknown in the window).
    let now_stats = app
        .get_json("/api/v1/stats/now?network_id=5&window_s=3600")
        .await;
    assert_eq!(now_stats["completeness"]["received_reports"], 2);
    // (Counted in whole 5-minute slots: the window's first slot may start before it.)
    let expected = now_stats["completeness"]["expected_reports"]
        .as_i64()
        .unwrap();
    assert!((120..=130).contains(&expected), "{expected}");
    assert_eq!(now_stats["completeness"]["silent_nodes"], json!([A, B]));

    // Before the access points' first report nothing is expected: no share.
    let before = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={}&until={}&network_id=5",
            base - 2 * HOUR,
            base - 1
        ))
        .await;
    assert_eq!(before["completeness"]["expected_reports"], 0);
    assert_eq!(before["completeness"]["share"], Value::Null);

    // Retention deleted the first two hours' reports (their presence figures stay):
    // nothing is expected there any more, rather than every access point silent.
    app.execute(&format!(
        "DELETE FROM reports WHERE received_at < {}",
        base + 2 * HOUR
    ));
    let first = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={base}&until={}&network_id=5",
            base + HOUR - 1
        ))
        .await;
    assert_eq!(first["completeness"]["expected_reports"], 0);
    assert_eq!(first["completeness"]["silent_nodes"], json!([]));
    let third = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={}&until={}&network_id=5",
            base + 2 * HOUR,
            base + 3 * HOUR - 1
        ))
        .await;
    assert_eq!(third["completeness"]["share"], 1.0);
}
