//! Privacy and the data's life: keyed pseudonyms, erasure, opt-outs, retention.

use std::time::Duration;

use api_types::Role;
use serde_json::{json, Value};

use crate::helpers::{settings, spawn_app_with, TestApp};
use crate::support::{SAMPLE, SAMPLE_MACS};

fn sample() -> Value {
    serde_json::from_str(SAMPLE).unwrap()
}

async fn keyed_app() -> TestApp {
    spawn_app_with(ncompass::config::Settings {
        mac_privacy: ncompass::privacy::MacPrivacy::Keyed,
        ..settings()
    })
    .await
}

/// Sends `request` with the bearer `token`; its status and JSON body (null when none).
async fn call(request: reqwest::RequestBuilder, token: &str) -> (u16, Value) {
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `probe` every 100 ms until it answers `Some`, for at most `limit`.
pub(crate) async fn within<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn keyed_mode_stores_pseudonyms_that_real_macs_still_find() {
    let app = keyed_app().await;
    app.ingest(&sample()).await;
    let page = app.get_json("/api/v1/probe-requests?limit=100").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for item in items {
        let mac = item["mac"].as_str().unwrap();
        assert!(!SAMPLE_MACS.contains(&mac), "{mac} is a real MAC");
        let first = u8::from_str_radix(&mac[..2], 16).unwrap();
        assert_eq!(first & 0x03, 0x02, "{mac}: locally administered unicast");
        // The access point's MAC stays.
        assert_eq!(item["node_mac"], "ac:86:74:61:4f:c0");
    }
    // Every filter by a real MAC, in any case and separator, finds its one row, with the
    // randomized flag of the real MAC.
    for (i, real) in SAMPLE_MACS.iter().enumerate() {
        let given = if i % 2 == 0 {
            real.to_uppercase().replace(':', "-")
        } else {
            real.to_string()
        };
        let found = app
            .get_json(&format!("/api/v1/probe-requests?mac={given}"))
            .await;
        let found = found["items"].as_array().unwrap();
        assert_eq!(found.len(), 1, "{given}");
        assert_eq!(found[0]["randomized"], i == 2, "{given}");
        // The pseudonym the page shows finds it too (a link on the dashboard).
        let pseudonym = found[0]["mac"].as_str().unwrap();
        let again = app
            .get_json(&format!("/api/v1/probe-requests?mac={pseudonym}"))
            .await;
        assert_eq!(again["items"][0]["id"], found[0]["id"]);
        let visits = app
            .get_json(&format!(
                "/api/v1/devices/179283/{given}/visits?since=1455840000&until=1455850000"
            ))
            .await;
        assert_eq!(visits["visits"].as_array().unwrap().len(), 1, "{given}");
        assert_eq!(visits["randomized"], i == 2);
    }
    // Only what the filter names is exported.
    let export = app
        .get("/api/v1/probe-requests/export?format=csv&mac=48:5A:3F:37:DE:F7")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(export.lines().count(), 2, "{export}");
    assert!(!export.contains("48:5a:3f:37:de:f7"));

    // A refused report keeps no body bytes nor a detail that could quote one.
    let mut bad = sample();
    bad["probe_requests"][0]["mac"] = json!("14:2d:27:29:16");
    assert_eq!(
        app.post_report("/receive", bad.to_string(), None)
            .await
            .status(),
        422
    );
    let rejections = within(Duration::from_secs(5), "the rejection", || async {
        let list = app.get_json("/api/v1/rejections").await;
        (!list["items"].as_array().unwrap().is_empty()).then_some(list)
    })
    .await;
    let rejection = &rejections["items"][0];
    assert_eq!(rejection["field"], "probe_requests[0].mac");
    assert_eq!(rejection["body_prefix"], "");
    assert_eq!(rejection["detail"], "");

    let health = app.get_json("/api/v1/health").await;
    assert_eq!(health["privacy"]["mac_privacy"], "keyed");
    assert_eq!(health["privacy"]["keep_probe_requests_s"], Value::Null);
}

#[actix_web::test]
async fn erasure_removes_a_device_everywhere_and_opts_it_out() {
    let app = crate::helpers::spawn_app().await;
    let mut second = sample();
    second["network_id"] = json!(42);
    app.ingest(&sample()).await;
    app.ingest(&second).await;
    // Merged into the presence segments, so there is something to erase there too.
    within(Duration::from_secs(10), "the merge", || async {
        (app.count("presence_segments") == 10).then_some(())
    })
    .await;
    let admin = app.add_token("privacy-officer", Role::Admin, None);
    let viewer = app.add_token("analyst", Role::Viewer, None);
    app.wait_until_guarded().await;
    let client = &app.client;

    // Viewers may not read a device's data, erase it, or touch the list.
    for request in [
        client.get(app.url("/api/v1/devices/48:5a:3f:37:de:f7/data")),
        client.delete(app.url("/api/v1/devices/48:5a:3f:37:de:f7")),
        client.get(app.url("/api/v1/opt-outs")),
        client
            .post(app.url("/api/v1/opt-outs"))
            .json(&json!({"mac": "48:5a:3f:37:de:f7"})),
        client.delete(app.url("/api/v1/opt-outs/48:5a:3f:37:de:f7")),
    ] {
        assert_eq!(call(request, &viewer).await.0, 403);
    }
    assert_eq!(app.count("opt_outs"), 0);

    let (_, data) = call(
        client.get(app.url("/api/v1/devices/48-5A-3F-37-DE-F7/data")),
        &admin,
    )
    .await;
    assert_eq!(data["probe_requests"].as_array().unwrap().len(), 2);
    assert_eq!(data["presence_segments"].as_array().unwrap().len(), 2);
    assert_eq!(data["opted_out"], false);
    assert_eq!(data["stored_as"], "48:5a:3f:37:de:f7");

    let (status, erased) = call(
        client.delete(app.url("/api/v1/devices/48-5A-3F-37-DE-F7")),
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(erased["probe_requests"], 2);
    assert_eq!(erased["presence_segments"], 2);
    assert_eq!(erased["opted_out"], true);
    assert_eq!(app.count("probe_requests"), 8);
    assert_eq!(app.count("presence_segments"), 8);
    let mut conn = ncompass::db::connect(&app.database).unwrap();
    use diesel::prelude::*;
    use ncompass::db::schema::{presence_segments, probe_requests};
    let left: i64 = probe_requests::table
        .filter(probe_requests::mac.eq("48:5a:3f:37:de:f7"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(left, 0);
    let left: i64 = presence_segments::table
        .filter(presence_segments::mac.eq(0x485a_3f37_def7_i64))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(left, 0);

    // A refused report naming it keeps no body bytes either; one that does not, does.
    for (n, mac, kept) in [
        (1, "48:5A:3F:37:DE:F7", false),
        (2, "02:00:00:00:00:77", true),
    ] {
        let bad = json!({"network_id": 1, "node_mac": "02:00:00:00:00:01", "version": 1,
            "probe_requests": [{"mac": mac, "count": -1, "min_signal": -60,
            "max_signal": -50, "avg_signal": -55, "first_seen": 1, "last_seen": 2,
            "associated": false}]});
        let refused = app.post_report("/receive", bad.to_string(), None).await;
        assert_eq!(refused.status(), 422);
        within(Duration::from_secs(5), "the rejection", || async {
            (app.count("rejections") == n).then_some(())
        })
        .await;
        let (_, rejections) = call(client.get(app.url("/api/v1/rejections")), &viewer).await;
        let body = rejections["items"][0]["body_prefix"].as_str().unwrap();
        assert_eq!(!body.is_empty(), kept, "{mac}: {body}");
    }

    // New posts of it are dropped, and counted; the others are stored.
    let mut later = sample();
    for probe in later["probe_requests"].as_array_mut().unwrap() {
        probe["first_seen"] = json!(1_455_900_000);
        probe["last_seen"] = json!(1_455_900_010);
    }
    let result = app.ingest(&later).await;
    assert_eq!(result["stored"], 4, "{result}");
    assert_eq!(app.count("probe_requests"), 12);
    let metrics = client
        .get(app.url("/metrics"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ncompass_probe_requests_opted_out_total 1"),
        "{metrics}"
    );

    // The list holds the keyed hash, never the MAC.
    let (_, list) = call(client.get(app.url("/api/v1/opt-outs")), &admin).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_ne!(items[0]["mac_hash"], "48:5a:3f:37:de:f7");
    assert_eq!(items[0]["created_by"], "token privacy-officer");

    // Off the list: stored again. Then the list's CRUD.
    let (removed, _) = call(
        client.delete(app.url("/api/v1/opt-outs/48:5A:3F:37:DE:F7")),
        &admin,
    )
    .await;
    assert_eq!(removed, 204);
    let (again, _) = call(
        client.delete(app.url("/api/v1/opt-outs/48:5a:3f:37:de:f7")),
        &admin,
    )
    .await;
    assert_eq!(again, 404);
    let result = app.ingest(&later).await;
    assert_eq!(result["stored"], 1, "{result}");
    for (body, status) in [
        (json!({"mac": "80:19:34:b8:bc:1c"}), 201),
        (json!({"mac": "80-19-34-B8-BC-1C"}), 200),
        (json!({"mac": "80:19:34"}), 422),
        (json!({"address": "80:19:34:b8:bc:1c"}), 400),
    ] {
        let (answered, _) =
            call(client.post(app.url("/api/v1/opt-outs")).json(&body), &admin).await;
        assert_eq!(answered, status, "{body}");
    }
    assert_eq!(app.count("opt_outs"), 1);

    // Erasure without the opt-out leaves the list alone.
    let (_, erased) = call(
        client.delete(app.url("/api/v1/devices/14:2d:27:29:16:f7?opt_out=false")),
        &admin,
    )
    .await;
    assert_eq!(erased["opted_out"], false);
    assert_eq!(erased["probe_requests"], 3);
    assert_eq!(app.count("opt_outs"), 1);
    let (bad, _) = call(client.delete(app.url("/api/v1/devices/not-a-mac")), &admin).await;
    assert_eq!(bad, 400);
}

#[actix_web::test]
async fn retention_deletes_old_rows_while_their_presence_figures_stay() {
    let app = spawn_app_with(ncompass::config::Settings {
        keep_probe_requests: Some(Duration::from_secs(3_600)),
        ..settings()
    })
    .await;
    let now = ncompass::unix_now();
    let report = |node: &str, last_seen: i64| {
        let probes: Vec<Value> = (0..50)
            .map(|i| {
                json!({"mac": format!("00:16:3e:00:00:{i:02x}"), "count": 1,
                       "min_signal": -60, "max_signal": -50, "avg_signal": -55,
                       "first_seen": last_seen - 30, "last_seen": last_seen,
                       "associated": i % 2 == 0})
            })
            .collect();
        json!({"network_id": 7, "node_mac": node, "version": 1, "probe_requests": probes})
    };
    let old_range = format!(
        "/api/v1/stats/summary?network_id=7&since={}&until={}",
        now - 4 * 3_600,
        now - 2 * 3_600
    );
    app.ingest(&report("02:00:00:00:00:01", now - 3 * 3_600))
        .await;
    // The figures of the old range, before retention has run (it runs a pass at once,
    // but only rows merged into the segments are deleted: read them right away).
    let before = app.get_json(&old_range).await;
    assert_eq!(before["devices"], 50, "{before}");
    app.ingest(&report("02:00:00:00:00:02", now - 600)).await;

    // Gone within a pass or two, while ingestion goes on.
    within(Duration::from_secs(30), "old rows deleted", || async {
        app.ingest(&report("02:00:00:00:00:03", ncompass::unix_now() - 60))
            .await;
        let listed = app
            .get_json(&format!(
                "/api/v1/probe-requests?until={}&limit=10",
                now - 3_600
            ))
            .await;
        listed["items"].as_array().unwrap().is_empty().then_some(())
    })
    .await;
    let recent = app
        .get_json(&format!("/api/v1/probe-requests?since={}", now - 3_600))
        .await;
    assert!(!recent["items"].as_array().unwrap().is_empty());
    // The presence figures of the old range come from its segments now.
    let after = app.get_json(&old_range).await;
    assert_eq!(after, before);

    let health = app.get_json("/api/v1/health").await;
    assert_eq!(health["privacy"]["keep_probe_requests_s"], 3_600);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ncompass_retention_deleted_rows_total{table=\"probe_requests\"} 50"),
        "{metrics}"
    );
    let oldest = metrics
        .lines()
        .find_map(|line| line.strip_prefix("ncompass_oldest_probe_request_timestamp_seconds "))
        .expect("the oldest row kept")
        .parse::<i64>()
        .unwrap();
    assert!(oldest >= now - 3_600, "{oldest}");
}

#[actix_web::test]
async fn retention_keeps_the_file_from_growing_under_a_steady_load() {
    if crate::support::postgres().is_some() {
        return; // a file's size: SQLite's concern (PostgreSQL reuses its own pages)
    }
    let app = spawn_app_with(ncompass::config::Settings {
        keep_probe_requests: Some(Duration::from_secs(3_600)),
        keep_presence: Some(Duration::from_secs(3_600)),
        ..settings()
    })
    .await;
    // Each round posts rows that are past the limit already: retention must delete as
    // fast as they come, and the freed pages must be reused or given back.
    let mut sizes = Vec::new();
    for round in 0..5_u32 {
        for report in 0..20_u32 {
            let last_seen = ncompass::unix_now() - 2 * 3_600 - i64::from(round * 100 + report);
            let probes: Vec<Value> = (0..200)
                .map(|i| {
                    json!({"mac": format!("00:16:3e:{round:02x}:{:02x}:{:02x}", i / 256, i % 256),
                           "count": 1, "min_signal": -60, "max_signal": -50, "avg_signal": -55,
                           "first_seen": last_seen - 10, "last_seen": last_seen,
                           "associated": false})
                })
                .collect();
            app.ingest(&json!({"network_id": 9, "node_mac": "02:00:00:00:00:09",
                               "version": 1, "probe_requests": probes}))
                .await;
        }
        within(Duration::from_secs(30), "the round deleted", || async {
            (app.count("probe_requests") == 0 && app.count("presence_segments") == 0).then_some(())
        })
        .await;
        // Let the checkpointer copy the deletions into the file.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let size = std::fs::metadata(&app.database).unwrap().len();
        sizes.push(size);
    }
    let first = sizes[1];
    assert!(
        sizes[2..].iter().all(|size| *size <= first + first / 10),
        "the file grew: {sizes:?}"
    );
}

#[actix_web::test]
async fn retention_drops_whole_day_partitions() {
    let app = spawn_app_with(ncompass::config::Settings {
        keep_probe_requests: Some(Duration::from_secs(86_400)),
        keep_presence: Some(Duration::from_secs(2 * 86_400)),
        ..settings()
    })
    .await;
    // The partition of three days ago, as an instance running then would have made it.
    let now = ncompass::unix_now();
    let day = now.div_euclid(86_400) - 3;
    let partition = ncompass::db::partitions::name(day);
    let mut conn = ncompass::db::connect(&app.database).unwrap();
    ncompass::db::partitions::ensure(&mut conn, day * 86_400).unwrap();
    let exists = |conn: &mut ncompass::db::Conn| {
        #[derive(diesel::QueryableByName)]
        struct Found {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            found: bool,
        }
        use diesel::RunQueryDsl;
        let sql = match conn {
            ncompass::db::Conn::Postgres(_) => {
                format!("SELECT to_regclass('{partition}') IS NOT NULL AS found")
            }
            ncompass::db::Conn::Sqlite(_) => format!(
                "SELECT count(*) > 0 AS found FROM sqlite_master WHERE name = '{partition}'"
            ),
        };
        diesel::sql_query(sql)
            .get_result::<Found>(conn)
            .unwrap()
            .found
    };
    assert!(exists(&mut conn));
    let at = day * 86_400 + 43_200;
    let probes: Vec<Value> = (0..30)
        .map(|i| {
            json!({"mac": format!("00:16:3e:00:01:{i:02x}"), "count": 1,
                   "min_signal": -60, "max_signal": -50, "avg_signal": -55,
                   "first_seen": at - 20, "last_seen": at, "associated": false})
        })
        .collect();
    app.ingest(&json!({"network_id": 3, "node_mac": "02:00:00:00:00:03",
                       "version": 1, "probe_requests": probes}))
        .await;
    within(Duration::from_secs(30), "the partition dropped", || async {
        let mut conn = ncompass::db::connect(&app.database).unwrap();
        (!exists(&mut conn)).then_some(())
    })
    .await;
    assert_eq!(app.count("probe_requests"), 0);
    within(Duration::from_secs(30), "the segments deleted", || async {
        (app.count("presence_segments") == 0).then_some(())
    })
    .await;
    // A new connection: the pooled one idled past the server's keep-alive meanwhile.
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ncompass_retention_deleted_rows_total{table=\"presence_segments\"} 30"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ncompass_retention_deleted_rows_total{table=\"probe_requests\"} 30"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn erasing_a_pseudonym_whose_rows_are_gone_opts_the_device_out() {
    let app = keyed_app().await;
    app.ingest(&sample()).await;
    within(Duration::from_secs(10), "the merge", || async {
        (app.count("presence_segments") == 5).then_some(())
    })
    .await;
    let page = app
        .get_json("/api/v1/probe-requests?mac=48:5a:3f:37:de:f7")
        .await;
    let pseudonym = page["items"][0]["mac"].as_str().unwrap().to_string();
    // Its rows past retention; its presence segments kept.
    let mut conn = ncompass::db::connect(&app.database).unwrap();
    use diesel::connection::SimpleConnection;
    conn.batch_execute("DELETE FROM probe_requests").unwrap();
    let data = app
        .get_json(&format!("/api/v1/devices/{pseudonym}/data"))
        .await;
    assert_eq!(data["stored_as"], pseudonym.as_str());
    assert_eq!(data["presence_segments"].as_array().unwrap().len(), 1);

    let erased = app
        .client
        .delete(app.url(&format!("/api/v1/devices/{pseudonym}")))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), 200);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(erased["presence_segments"], 1);
    assert_eq!(app.count("presence_segments"), 4);
    // The entry is the pseudonym itself (the keyed hash of the real MAC), so the device's
    // next report is dropped.
    let list = app.get_json("/api/v1/opt-outs").await;
    assert_eq!(list["items"][0]["mac_hash"], pseudonym.as_str());
    let mut later = sample();
    for probe in later["probe_requests"].as_array_mut().unwrap() {
        probe["first_seen"] = json!(1_455_900_000);
        probe["last_seen"] = json!(1_455_900_010);
    }
    let result = app.ingest(&later).await;
    assert_eq!(result["stored"], 4, "{result}");
}
