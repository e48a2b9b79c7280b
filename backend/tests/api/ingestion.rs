//! The writer under concurrency, overload and refusals: what is answered 2xx is stored,
//! what is refused is not, and refusals are kept for diagnosis.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

/// A report of `probes` distinct observations from access point number `node`.
fn distinct_report(node: u32, probes: u32) -> Value {
    let node_mac = format!(
        "AC:86:74:{:02X}:{:02X}:{:02X}",
        node >> 16,
        (node >> 8) & 0xff,
        node & 0xff
    );
    report(
        7,
        &node_mac,
        (0..probes)
            .map(|i| {
                probe(
                    &client_mac(node * 1000 + i),
                    1_700_000_000,
                    1_700_000_030,
                    false,
                )
            })
            .collect(),
    )
}

async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio_sleep(Duration::from_millis(20)).await;
    }
}

async fn tokio_sleep(duration: Duration) {
    actix_web::rt::time::sleep(duration).await;
}

#[actix_web::test]
async fn concurrent_reports_are_all_stored_once() {
    let app = spawn_app().await;
    let posts = (0..64u32).map(|node| {
        let body = distinct_report(node, 25).to_string();
        let request = app.client.post(app.url("/receive")).body(body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.stored(), (64 * 25, 64));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ncompass_reports_accepted_total 64"),
        "{metrics}"
    );
    assert!(metrics.contains(&format!("ncompass_probe_requests_stored_total {}", 64 * 25)));
    assert!(metrics.contains("ncompass_ingest_latency_seconds_count 64"));
    assert!(metrics.contains("ncompass_writer_queue_probe_requests 0"));
}

#[actix_web::test]
async fn an_overloaded_writer_sheds_load_with_503_and_stores_only_what_it_accepted() {
    // A queue of 1 probe request: a report is admitted only into an empty queue.
    let app = spawn_app_with(Settings {
        queue_limit: 1,
        ..settings()
    })
    .await;
    let posts = (0..64u32).map(|node| {
        let body = distinct_report(node, 2).to_string();
        let request = app.client.post(app.url("/receive")).body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            if status == 503 {
                assert_eq!(response.headers()["retry-after"], "1");
                assert_problem(response, 503).await;
            }
            status
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    let accepted = statuses.iter().filter(|s| **s == 200).count() as i64;
    let shed = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!(
        accepted as usize + shed,
        64,
        "only 200 or 503: {statuses:?}"
    );
    assert!(shed > 0, "64 concurrent reports overlap in a queue of 1");
    assert!(accepted > 0);
    assert_eq!(
        app.stored(),
        (accepted * 2, accepted),
        "stored exactly what was answered 200"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(&format!(
        "ncompass_reports_rejected_total{{reason=\"overloaded\"}} {shed}"
    )));
}

#[actix_web::test]
async fn listing_never_blocks_ingestion_nor_sees_database_locked() {
    let app = spawn_app().await;
    let writers = (0..40u32).map(|node| {
        let body = distinct_report(node, 50).to_string();
        let request = app.client.post(app.url("/receive")).body(body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let readers = (0..40).map(|i| {
        let request = app.client.get(app.url(&format!(
            "/api/v1/probe-requests?limit=1000&associated=false&since={i}"
        )));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let (written, read) = futures_util::future::join(
        futures_util::future::join_all(writers),
        futures_util::future::join_all(readers),
    )
    .await;
    assert!(
        written.iter().chain(&read).all(|s| *s == 200),
        "{written:?} {read:?}"
    );
    assert_eq!(app.count("probe_requests"), 40 * 50);
}

#[actix_web::test]
async fn refused_reports_are_kept_for_diagnosis() {
    let app = spawn_app_with(Settings {
        secret: vec![SAMPLE_SECRET.to_string()],
        max_body: 4096,
        ..settings()
    })
    .await;
    // Unsigned, wrongly signed, invalid (signed), not JSON (signed), too large.
    app.post_report("/receive", SAMPLE, None).await;
    app.post_report("/receive", SAMPLE, Some(&"0".repeat(64)))
        .await;
    let invalid = br#"{"network_id": 5, "node_mac": "ac-86-74-00-00-09", "version": 1, "probe_requests": [{"mac": "nope"}]}"#;
    let signature = ncompass::cloudtrax::sign(SAMPLE_SECRET.as_bytes(), invalid);
    app.post_report("/receive", &invalid[..], Some(&signature))
        .await;
    let garbage = b"<html>not json</html>";
    let signature = ncompass::cloudtrax::sign(SAMPLE_SECRET.as_bytes(), garbage);
    app.post_report("/receive", &garbage[..], Some(&signature))
        .await;
    app.post_report("/receive", vec![b' '; 5000], None).await;
    assert_eq!(app.stored(), (0, 0), "nothing of them stored as reports");

    let list = eventually("5 rejections", || async {
        let list = app.get_json("/api/v1/rejections").await;
        (list["items"].as_array().unwrap().len() == 5).then_some(list)
    })
    .await;
    let items = list["items"].as_array().unwrap();
    let reasons: Vec<&str> = items
        .iter()
        .map(|i| i["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "too_large",
            "invalid_json",
            "invalid_report",
            "bad_signature",
            "missing_signature"
        ],
        "newest first"
    );
    let invalid = &items[2];
    assert_eq!(invalid["status"], 422);
    assert_eq!(invalid["field"], "probe_requests[0].mac");
    assert_eq!(invalid["node_mac"], "ac:86:74:00:00:09");
    assert_eq!(invalid["network_id"], 5);
    assert!(invalid["body_prefix"]
        .as_str()
        .unwrap()
        .starts_with("{\"network_id\": 5"));
    let unsigned = &items[4];
    assert_eq!(unsigned["status"], 401);
    // An unsigned body is never parsed, not even for the log: its first bytes are
    // kept as they came, and they name the access point to whoever reads them.
    assert_eq!(unsigned["node_mac"], Value::Null);
    assert_eq!(unsigned["network_id"], Value::Null);
    let prefix = unsigned["body_prefix"].as_str().unwrap();
    assert_eq!(prefix.len(), 256);
    assert!(prefix.contains("AC:86:74:61:4F:C0"), "{prefix}");
    let wrongly_signed = &items[3];
    assert_eq!(wrongly_signed["node_mac"], Value::Null);

    let limited = app.get_json("/api/v1/rejections?limit=2").await;
    assert_eq!(limited["items"].as_array().unwrap().len(), 2);
    for bad in ["limit=0", "limit=1001", "limit=x"] {
        let problem =
            assert_problem(app.get(&format!("/api/v1/rejections?{bad}")).await, 400).await;
        assert_eq!(problem["parameter"], "limit");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for reason in [
        "too_large",
        "invalid_json",
        "invalid_report",
        "bad_signature",
        "missing_signature",
    ] {
        assert!(
            metrics.contains(&format!(
                "ncompass_reports_rejected_total{{reason=\"{reason}\"}} 1"
            )),
            "{reason}: {metrics}"
        );
    }
}

/// A refused body may hold any byte; PostgreSQL's text refuses U+0000. Refusals posted
/// among signed reports are logged (the NUL as U+FFFD) and cost none of the reports,
/// and health stays good.
#[actix_web::test]
async fn a_refused_body_with_a_nul_byte_costs_no_report_and_is_logged() {
    let app = spawn_app_with(Settings {
        secret: vec![SAMPLE_SECRET.to_string()],
        ..settings()
    })
    .await;
    let app = &app;
    let mut legitimate = Vec::new();
    let mut attacks = Vec::new();
    for node in 0..20u32 {
        let body = distinct_report(node, 10).to_string();
        let signature = ncompass::cloudtrax::sign(SAMPLE_SECRET.as_bytes(), body.as_bytes());
        legitimate.push(async move {
            app.post_report("/receive", body, Some(&signature))
                .await
                .status()
                .as_u16()
        });
        attacks.push(async move {
            app.post_report("/receive", &b"{\"node_mac\": \"\0\"}"[..], None)
                .await
                .status()
                .as_u16()
        });
    }
    let (legitimate, attacks) = futures_util::future::join(
        futures_util::future::join_all(legitimate),
        futures_util::future::join_all(attacks),
    )
    .await;
    assert!(legitimate.iter().all(|s| *s == 200), "{legitimate:?}");
    assert!(attacks.iter().all(|s| *s == 401), "{attacks:?}");
    assert_eq!(app.stored(), (200, 20));
    let rejection = newest_rejection(app, 20).await;
    assert_eq!(rejection["body_prefix"], "{\"node_mac\": \"\u{FFFD}\"}");
    assert_eq!(app.get("/api/v1/health").await.status(), 200);
}
