use serde_json::json;

use crate::helpers::*;

const T0: i64 = 1_764_115_200; // a UTC day boundary

fn seen(mac: &str, first: i64, last: i64, signal: i64, associated: bool) -> serde_json::Value {
    json!({
        "mac": mac, "count": 1, "min_signal": signal - 10, "max_signal": signal, "avg_signal": signal - 5,
        "first_seen": T0 + first, "last_seen": T0 + last, "associated": associated
    })
}

#[actix_web::test]
async fn the_summary_is_computed_from_the_stored_rows() {
    let app = spawn_app().await;
    // Access point 1 hears a visitor (0..400 at -60, associated) and a randomized
    // passer-by (0..30); access point 2 hears the visitor too (200..500) and, a day
    // later, a second visit of it (86,400..86,460).
    app.ingest(&report(
        9,
        "ac:86:74:00:00:01",
        vec![
            seen("00:11:22:33:44:55", 0, 400, -60, true),
            seen("02:11:22:33:44:66", 0, 30, -70, false),
        ],
    ))
    .await;
    app.ingest(&report(
        9,
        "ac:86:74:00:00:02",
        vec![
            seen("00:11:22:33:44:55", 200, 500, -65, true),
            seen("00:11:22:33:44:55", 86_400, 86_460, -65, false),
        ],
    ))
    .await;

    let two_days = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={T0}&until={}",
            T0 + 2 * 86_400 - 1
        ))
        .await;
    // Visits: 00:..:55 0..500 (dwell 500, -60: visitor), 02:..:66 0..30 (passer-by),
    // 00:..:55 again 86,400..86,460 (60 s: passer-by). Dwells 30, 60, 500.
    assert_eq!(two_days["devices"], 2);
    assert_eq!(two_days["devices_non_randomized"], 1);
    assert_eq!(two_days["devices_associated"], 1);
    assert_eq!(two_days["visits"], 3);
    assert_eq!(two_days["visitors"], 1);
    assert_eq!(two_days["passers_by"], 2);
    assert!((two_days["capture_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(two_days["dwell_p50_s"], 60);
    assert_eq!(two_days["dwell_p90_s"], 500);
    assert_eq!(two_days["returning_devices"], 1);
    assert_eq!(two_days["visit_gap_s"], 600);

    // Stricter thresholds recompute at once: nobody is near enough at -55 dBm.
    let strict = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={T0}&until={}&nearby_signal_dbm=-55",
            T0 + 86_399
        ))
        .await;
    assert_eq!(
        (strict["visits"].as_i64(), strict["visitors"].as_i64()),
        (Some(2), Some(0))
    );
    // One access point, or another network.
    let node = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={T0}&until={}&node_mac=AC-86-74-00-00-01",
            T0 + 86_399
        ))
        .await;
    assert_eq!(node["devices"], 2);
    let other = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={T0}&until={}&network_id=8",
            T0 + 86_399
        ))
        .await;
    assert_eq!(other["visits"], 0);
    assert!(other["capture_rate"].is_null());
}

#[actix_web::test]
async fn any_visit_gap_and_the_days_of_a_time_zone() {
    let app = spawn_app().await;
    // One device, 22:00..22:10 UTC and 22:11:40..22:20 UTC (100 s apart), then
    // 23:30..23:40 UTC, which is 00:30..00:40 of the next day in Berlin (UTC+1).
    app.ingest(&report(
        3,
        "ac:86:74:00:00:01",
        vec![
            seen("00:11:22:33:44:55", 79_200, 79_800, -60, false),
            seen("00:11:22:33:44:55", 79_900, 80_400, -60, false),
            seen("00:11:22:33:44:55", 84_600, 85_200, -60, false),
        ],
    ))
    .await;
    let day = format!("since={T0}&until={}", T0 + 86_399);
    let visits = |summary: &serde_json::Value| summary["visits"].as_i64().unwrap();
    // The default gap (600 s) joins the first two; 60 s (below the stored segments'
    // 120 s, so computed from the rows) splits them; 7,200 s joins all three (4,200 s apart).
    let default = app.get_json(&format!("/api/v1/stats/summary?{day}")).await;
    assert_eq!(visits(&default), 2);
    let short = app
        .get_json(&format!("/api/v1/stats/summary?{day}&visit_gap_s=60"))
        .await;
    assert_eq!(visits(&short), 3);
    let long = app
        .get_json(&format!("/api/v1/stats/summary?{day}&visit_gap_s=7200"))
        .await;
    assert_eq!(visits(&long), 1);
    assert_eq!(long["dwell_p50_s"], 6_000);
    // Returning: one UTC day, but two Berlin days (the range's UTC day covers the end of
    // one Berlin day and the start of the next).
    assert_eq!(default["returning_devices"], 0);
    let berlin = app
        .get_json(&format!("/api/v1/stats/summary?{day}&tz=Europe/Berlin"))
        .await;
    assert_eq!(berlin["returning_devices"], 1);
    assert_eq!(visits(&berlin), 2);

    // The idle writer merges the rows into presence segments (the first two, 100 s
    // apart, into one): the figures read from them are the same.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.count("presence_progress WHERE through_id = (SELECT max(id) FROM probe_requests)")
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer did not merge the rows"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.count("presence_segments"), 2);
    // And says so to operators.
    while !app
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap()
        .contains("\nncompass_presence_backlog_probe_requests 0\n")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the backlog gauge stayed up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.get_json(&format!("/api/v1/stats/summary?{day}")).await,
        default
    );
}

#[actix_web::test]
async fn bad_summary_parameters_are_400_naming_them() {
    let app = spawn_app().await;
    for (query, parameter) in [
        ("since=10&until=5", "until"),
        ("since=0&until=99999999", "until"),
        ("since=x", "since"),
        ("node_mac=nope", "node_mac"),
        ("visit_gap_s=-1", "visit_gap_s"),
        ("nearby_signal_dbm=5", "nearby_signal_dbm"),
        ("network_id=two", "network_id"),
        ("tz=Mars/Olympus_Mons", "tz"),
    ] {
        let response = app.get(&format!("/api/v1/stats/summary?{query}")).await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
    // Defaults: the last 24 hours, which hold nothing here.
    let empty = app.get_json("/api/v1/stats/summary").await;
    assert_eq!(
        empty["until"].as_i64().unwrap() - empty["since"].as_i64().unwrap(),
        86_400
    );
    assert_eq!(empty["devices"], 0);
}

#[actix_web::test]
async fn histogram_access_points_and_a_devices_visits() {
    // One observation below lasts 4,000 s: more than the default --max-span.
    let app = spawn_app_with(Settings {
        max_span: std::time::Duration::from_secs(2 * 3_600),
        ..settings()
    })
    .await;
    // 00:..:55 heard by ap1 (-70) and ap2 (-50) in one visit 0..400; 00:..:77 by ap1
    // only, 0..4,000; then 00:..:55 again 2,000..2,030 (a second visit: gap 1,600).
    app.ingest(&report(
        9,
        "ac:86:74:00:00:01",
        vec![
            seen("00:11:22:33:44:55", 0, 100, -70, false),
            seen("00:11:22:33:44:77", 0, 4_000, -60, true),
        ],
    ))
    .await;
    app.ingest(&report(
        9,
        "ac:86:74:00:00:02",
        vec![
            seen("00:11:22:33:44:55", 100, 400, -50, false),
            seen("00:11:22:33:44:55", 2_000, 2_030, -50, false),
        ],
    ))
    .await;
    let range = format!("since={T0}&until={}", T0 + 86_399);

    let histogram = app
        .get_json(&format!("/api/v1/stats/dwell-histogram?{range}"))
        .await;
    let buckets = histogram["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 8);
    // Dwells 30 s [0, 60), 400 s [300, 900) visitor, 4,000 s [3600, 7200) visitor.
    assert_eq!(
        buckets[0],
        json!({"from_s": 0, "to_s": 60, "visits": 1, "visitors": 0})
    );
    assert_eq!(
        buckets[2],
        json!({"from_s": 300, "to_s": 900, "visits": 1, "visitors": 1})
    );
    assert_eq!(buckets[5]["visits"], 1);
    assert_eq!(
        buckets[7],
        json!({"from_s": 14400, "to_s": null, "visits": 0, "visitors": 0})
    );

    let nodes = app.get_json(&format!("/api/v1/stats/nodes?{range}")).await;
    assert_eq!(
        nodes["items"],
        json!([
            {"node_mac": "ac:86:74:00:00:01", "name": null, "zone": null, "devices": 2, "visits": 2, "strongest_for_devices": 1},
            {"node_mac": "ac:86:74:00:00:02", "name": null, "zone": null, "devices": 1, "visits": 2, "strongest_for_devices": 1},
        ])
    );

    let device = app
        .get_json(&format!(
            "/api/v1/devices/9/00-11-22-33-44-55/visits?{range}"
        ))
        .await;
    assert_eq!(device["mac"], "00:11:22:33:44:55");
    assert_eq!(device["randomized"], false);
    assert_eq!(
        device["visits"],
        json!([
            {"start": T0, "end": T0 + 400, "dwell_s": 400, "strongest_node_mac": "ac:86:74:00:00:02", "strongest_node_name": null,
             "max_signal": -50, "associated": false, "visitor": true},
            {"start": T0 + 2_000, "end": T0 + 2_030, "dwell_s": 30, "strongest_node_mac": "ac:86:74:00:00:02", "strongest_node_name": null,
             "max_signal": -50, "associated": false, "visitor": false},
        ])
    );
    for (path, parameter) in [
        ("/api/v1/devices/x/00:11:22:33:44:55/visits", "network_id"),
        ("/api/v1/devices/9/nope/visits", "mac"),
        ("/api/v1/stats/nodes?since=5&until=1", "until"),
        (
            "/api/v1/stats/dwell-histogram?visitor_dwell_s=-1",
            "visitor_dwell_s",
        ),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(problem["parameter"], parameter, "{path}");
    }
}

#[actix_web::test]
async fn series_buckets_are_clipped_to_the_range() {
    let app = spawn_app().await;
    // 12:00 UTC of T0's day; one device at 12:10-12:20, another at 13:10-13:20.
    let noon = T0 + 43_200;
    app.ingest(&report(
        9,
        "ac:86:74:00:00:01",
        vec![
            seen("00:11:22:33:44:01", 43_800, 44_400, -60, false),
            seen("00:11:22:33:44:02", 47_400, 48_000, -60, false),
        ],
    ))
    .await;
    let points = |since: i64, until: i64| {
        let app = &app;
        async move {
            let series = app
                .get_json(&format!(
                    "/api/v1/stats/series?bucket=hour&since={since}&until={until}"
                ))
                .await;
            series["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["since"].as_i64().unwrap(),
                        p["until"].as_i64().unwrap(),
                        p["devices"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // 12:00 to 13:00 (until inclusive): the 13:00 bucket is one second, and the device
    // heard at 13:10 is in no bucket of the range.
    assert_eq!(
        points(noon, noon + 3_600).await,
        [(noon, noon + 3_599, 1), (noon + 3_600, noon + 3_600, 0)]
    );
    // From 12:30: a half-hour first bucket, which holds no one heard before 12:30.
    assert_eq!(
        points(noon + 1_800, noon + 7_199).await,
        [
            (noon + 1_800, noon + 3_599, 0),
            (noon + 3_600, noon + 7_199, 1)
        ]
    );
    // No bucket holds more than the whole range's summary.
    let summary = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={noon}&until={}",
            noon + 3_600
        ))
        .await;
    assert_eq!(summary["devices"], 1);
}

#[actix_web::test]
async fn an_hour_in_five_and_fifteen_minute_buckets_and_too_many_refused() {
    let app = spawn_app().await;
    let noon = T0 + 43_200;
    // Three devices, at 12:02, 12:17 and 12:50 (each for a minute).
    app.ingest(&report(
        9,
        "ac:86:74:00:00:01",
        vec![
            seen("00:11:22:33:44:01", 43_320, 43_380, -60, false),
            seen("00:11:22:33:44:02", 44_220, 44_280, -60, false),
            seen("00:11:22:33:44:03", 46_200, 46_260, -60, false),
        ],
    ))
    .await;
    let devices = |bucket: &'static str| {
        let app = &app;
        async move {
            let series = app
                .get_json(&format!(
                    "/api/v1/stats/series?bucket={bucket}&since={noon}&until={}",
                    noon + 3_599
                ))
                .await;
            assert_eq!(series["bucket"], bucket);
            series["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["since"].as_i64().unwrap() - noon,
                        p["devices"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let fives = devices("5m").await;
    assert_eq!(fives.len(), 12, "{fives:?}");
    assert!(fives
        .iter()
        .enumerate()
        .all(|(i, (at, _))| *at == i as i64 * 300));
    assert_eq!(
        fives.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    );
    assert_eq!(
        devices("15m").await,
        [(0, 1), (900, 1), (1_800, 0), (2_700, 1)]
    );
    // More than a week of 5-minute buckets (or three of 15) is refused, not computed.
    for (bucket, days) in [("5m", 8), ("15m", 22)] {
        let problem = assert_problem(
            app.get(&format!(
                "/api/v1/stats/series?bucket={bucket}&since={T0}&until={}",
                T0 + days * 86_400
            ))
            .await,
            400,
        )
        .await;
        assert_eq!(problem["parameter"], "bucket", "{bucket}");
        assert!(
            problem["detail"].as_str().unwrap().contains("2100"),
            "{problem}"
        );
    }
    // A week of 5-minute buckets is answered, also from mid-bucket (2,017 of them).
    let week = app
        .get_json(&format!(
            "/api/v1/stats/series?bucket=5m&since={}&until={}",
            T0 + 1,
            T0 + 7 * 86_400
        ))
        .await;
    assert_eq!(week["points"].as_array().unwrap().len(), 2_017);
    let problem = assert_problem(app.get("/api/v1/stats/series?bucket=1m").await, 400).await;
    assert_eq!(problem["parameter"], "bucket");
}

#[actix_web::test]
async fn figures_compared_with_the_previous_period_and_last_week() {
    let app = spawn_app().await;
    let noon = T0 + 43_200;
    let week = 7 * 86_400;
    // This day's 12:00-13:00: four devices (two at 12:10, two at 12:40); the hour
    // before: one; the same hour a week before: two, both at 12:10.
    app.ingest(&report(
        9,
        "ac:86:74:00:00:01",
        vec![
            seen("00:11:22:33:44:01", 43_800, 43_860, -60, false),
            seen("00:11:22:33:44:02", 43_800, 43_860, -60, true),
            seen("00:11:22:33:44:03", 45_600, 45_660, -60, false),
            seen("00:11:22:33:44:04", 45_600, 45_660, -60, false),
            seen("00:11:22:33:44:05", 40_200, 40_260, -60, false),
            seen(
                "00:11:22:33:44:06",
                43_800 - week,
                43_860 - week,
                -60,
                false,
            ),
            seen(
                "00:11:22:33:44:07",
                43_800 - week,
                43_860 - week,
                -60,
                false,
            ),
        ],
    ))
    .await;
    let range = format!("since={noon}&until={}", noon + 3_599);
    let summary = app
        .get_json(&format!("/api/v1/stats/summary?{range}&compare=last_week"))
        .await;
    assert_eq!(summary["devices"], 4);
    let compared = &summary["compared"];
    assert_eq!(compared["compare"], "last_week");
    assert_eq!(
        (compared["since"].as_i64(), compared["until"].as_i64()),
        (Some(noon - week), Some(noon - week + 3_599))
    );
    assert_eq!(compared["devices"], 2);
    assert_eq!(compared["change"]["devices"], 1.0, "4 against 2: +100%");
    assert_eq!(compared["devices_associated"], 0);
    assert_eq!(
        compared["change"]["devices_associated"],
        serde_json::Value::Null,
        "nothing to divide by"
    );
    // The comparison window's figures are those of a separate query of that window.
    for compare in ["last_week", "previous"] {
        let with = app
            .get_json(&format!("/api/v1/stats/summary?{range}&compare={compare}"))
            .await;
        let window = &with["compared"];
        let alone = app
            .get_json(&format!(
                "/api/v1/stats/summary?since={}&until={}",
                window["since"], window["until"]
            ))
            .await;
        for figure in [
            "devices",
            "devices_non_randomized",
            "devices_associated",
            "visits",
            "visitors",
            "passers_by",
            "dwell_p50_s",
            "returning_devices",
        ] {
            assert_eq!(window[figure], alone[figure], "{compare}: {figure}");
        }
    }
    let previous = app
        .get_json(&format!("/api/v1/stats/summary?{range}&compare=previous"))
        .await;
    assert_eq!(previous["compared"]["since"], noon - 3_600);
    assert_eq!(previous["compared"]["devices"], 1);
    assert_eq!(previous["compared"]["change"]["devices"], 3.0);
    // Without `compare`, no `compared`.
    let plain = app
        .get_json(&format!("/api/v1/stats/summary?{range}"))
        .await;
    assert!(plain.get("compared").is_none(), "{plain}");

    // A series: each quarter hour against its own a week before.
    let series = app
        .get_json(&format!(
            "/api/v1/stats/series?bucket=15m&{range}&compare=last_week"
        ))
        .await;
    let pairs: Vec<(i64, i64, i64)> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(
                p["compared"]["since"].as_i64().unwrap(),
                p["since"].as_i64().unwrap() - week
            );
            (
                p["since"].as_i64().unwrap() - noon,
                p["devices"].as_i64().unwrap(),
                p["compared"]["devices"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [(0, 2, 2), (900, 0, 0), (1_800, 2, 0), (2_700, 0, 0)]
    );
    // Each bucket's comparison is that bucket of a separate series of the window.
    let alone = app
        .get_json(&format!(
            "/api/v1/stats/series?bucket=15m&since={}&until={}",
            noon - week,
            noon - week + 3_599
        ))
        .await;
    let compared: Vec<&serde_json::Value> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["compared"]["visits"])
        .collect();
    let separately: Vec<&serde_json::Value> = alone["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["visits"])
        .collect();
    assert_eq!(compared, separately);

    let problem = assert_problem(
        app.get(&format!("/api/v1/stats/summary?{range}&compare=yesterday"))
            .await,
        400,
    )
    .await;
    assert_eq!(problem["parameter"], "compare");
}

#[actix_web::test]
async fn a_series_by_local_day_across_a_dst_change() {
    let app = spawn_app().await;
    // Berlin's local midnights around the 2026-03-29 change: 03-28 00:00 CET =
    // 1774652400, 03-29 00:00 CET = 1774738800, 03-30 00:00 CEST = 1774821600.
    let at = |t: i64| {
        json!({"mac": "00:11:22:33:44:55", "count": 1, "min_signal": -70, "max_signal": -60,
               "avg_signal": -65, "first_seen": t, "last_seen": t + 600, "associated": false})
    };
    // A visit at 23:00 local on the 28th (22:00 UTC, the 28th in UTC too), one at
    // 23:30 local on the 29th (21:30 UTC: still the 29th locally, as UTC), and one at
    // 00:30 local on the 30th (22:30 UTC on the 29th: another day only in Berlin).
    app.ingest(&report(
        9,
        "ac:86:74:00:00:01",
        vec![at(1774735200), at(1774819800), at(1774823400)],
    ))
    .await;
    let series = app
        .get_json(
            "/api/v1/stats/series?bucket=day&tz=Europe/Berlin&since=1774652400&until=1774907999",
        )
        .await;
    assert_eq!(series["tz"], "Europe/Berlin");
    let points = series["points"].as_array().unwrap();
    let bounds: Vec<(i64, i64)> = points
        .iter()
        .map(|p| (p["since"].as_i64().unwrap(), p["until"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        bounds,
        [
            (1774652400, 1774738799),
            (1774738800, 1774821599),
            (1774821600, 1774907999)
        ],
        "the 29th has 23 hours"
    );
    let visits: Vec<i64> = points
        .iter()
        .map(|p| p["visits"].as_i64().unwrap())
        .collect();
    assert_eq!(visits, [1, 1, 1]);
    // The same in UTC days: the last two visits fall on the 29th.
    let utc = app
        .get_json("/api/v1/stats/series?bucket=day&since=1774656000&until=1774828799")
        .await;
    let visits: Vec<i64> = utc["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["visits"].as_i64().unwrap())
        .collect();
    assert_eq!(visits, [1, 2]);
    // Hours: 24 on an ordinary day.
    let hours = app
        .get_json("/api/v1/stats/series?bucket=hour&since=1774656000&until=1774742399")
        .await;
    assert_eq!(hours["points"].as_array().unwrap().len(), 24);

    for (query, parameter) in [
        ("since=0&until=10", "bucket"),
        ("bucket=week", "bucket"),
        ("bucket=day&tz=Mars/Olympus", "tz"),
    ] {
        let problem =
            assert_problem(app.get(&format!("/api/v1/stats/series?{query}")).await, 400).await;
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
}
