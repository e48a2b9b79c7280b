//! Estimators: `estimator=` names how devices become people, and gives back its
//! parameters with the figure.

use serde_json::{json, Value};

use crate::helpers::*;

const T0: i64 = 1_764_115_200; // a UTC day boundary

fn seen(mac: &str, first: i64, last: i64, associated: bool) -> Value {
    json!({
        "mac": mac, "count": 1, "min_signal": -70, "max_signal": -55, "avg_signal": -60,
        "first_seen": T0 + first, "last_seen": T0 + last, "associated": associated
    })
}

#[actix_web::test]
async fn each_estimator_is_named_with_its_parameters_and_adjusted_scales_by_the_measured_share() {
    let app = spawn_app().await;
    let mut probes = Vec::new();
    // Twelve connected phones, half of them with randomized MACs: the share measured.
    for i in 0..6 {
        probes.push(seen(
            &format!("00:11:22:00:00:{i:02x}"),
            36_000,
            37_200,
            true,
        ));
        probes.push(seen(
            &format!("02:11:22:00:00:{i:02x}"),
            36_000,
            37_200,
            true,
        ));
    }
    // Eight unconnected phones that do not randomize, and ten rotating MACs.
    for i in 0..8 {
        probes.push(seen(
            &format!("00:11:22:00:01:{i:02x}"),
            40_000,
            40_900,
            false,
        ));
    }
    for i in 0..10 {
        probes.push(seen(
            &format!("06:11:22:00:02:{i:02x}"),
            40_000,
            40_400,
            false,
        ));
    }
    // A till there five hours: a long dweller.
    for k in 0..6 {
        probes.push(seen(
            "00:11:22:00:03:01",
            30_000 + k * 3_000,
            30_000 + (k + 1) * 3_000,
            false,
        ));
    }
    app.ingest(&report(3, "ac:86:74:00:00:03", probes)).await;
    let day = format!("since={T0}&until={}", T0 + 86_399);
    let estimate = |estimator: &'static str| {
        let app = &app;
        let day = day.clone();
        async move {
            app.get_json(&format!(
                "/api/v1/stats/summary?{day}&estimator={estimator}"
            ))
            .await
        }
    };
    let devices = estimate("devices").await;
    assert_eq!(devices["devices"], 31);
    assert_eq!(
        devices["estimate"],
        json!({"estimator": "devices", "value": 31.0})
    );
    assert_eq!(estimate("non_randomized").await["estimate"]["value"], 15.0);
    assert_eq!(estimate("associated").await["estimate"]["value"], 12.0);
    // 14 non-randomized phones without the till, over 1 - 0.5.
    let adjusted = estimate("adjusted").await;
    assert_eq!(
        adjusted["estimate"],
        json!({"estimator": "adjusted", "value": 28.0, "long_dwell_s": 14_400,
               "excluded_long_dwellers": 1, "randomized_share": 0.5,
               "randomized_share_from": "measured: 6 of 12 associated devices randomized"})
    );
    // A longer long dwell keeps the till: 15 over 1 - 0.5.
    let lenient = app
        .get_json(&format!(
            "/api/v1/stats/summary?{day}&estimator=adjusted&long_dwell_s=20000"
        ))
        .await;
    assert_eq!(lenient["estimate"]["value"], 30.0);
    assert_eq!(lenient["estimate"]["excluded_long_dwellers"], 0);
    // Without `estimator`, no estimate: the figures as before.
    assert!(app
        .get_json(&format!("/api/v1/stats/summary?{day}"))
        .await
        .get("estimate")
        .is_none());
    // Each bucket of a series, scaled by the range's share.
    let series = app
        .get_json(&format!(
            "/api/v1/stats/series?bucket=hour&{day}&estimator=adjusted"
        ))
        .await;
    let points = series["points"].as_array().unwrap();
    // 11:00 UTC (40,000 s is 11:06): the eight phones.
    assert_eq!(points[11]["estimate"]["value"], 16.0);
    assert_eq!(points[11]["estimate"]["randomized_share"], 0.5);
    assert_eq!(points[3]["estimate"]["value"], 0.0);

    // Bad values are 400s naming the parameter.
    for (query, parameter) in [
        ("estimator=people", "estimator"),
        ("estimator=adjusted&long_dwell_s=10", "long_dwell_s"),
    ] {
        let response = app
            .get(&format!("/api/v1/stats/summary?{day}&{query}"))
            .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
}
