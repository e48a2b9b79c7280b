use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn sample_is_stored_at_both_urls_with_canonical_macs() {
    for path in ["/receive", "/recieve"] {
        let app = spawn_app().await;
        let response = app.post_report(path, SAMPLE, None).await;
        assert_eq!(response.status(), 200, "{path}");
        let result: Value = response.json().await.unwrap();
        assert_eq!(result["received"], 5);
        assert_eq!(result["stored"], 5);
        assert_eq!(result["duplicates"], 0);
        assert_eq!(app.stored(), (5, 1));

        let page = app.get_json("/api/v1/probe-requests").await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        for item in items {
            assert_eq!(item["node_mac"], "ac:86:74:61:4f:c0", "stored canonical");
            assert_eq!(item["network_id"], 179283);
        }
        let macs: Vec<&str> = items.iter().map(|i| i["mac"].as_str().unwrap()).collect();
        assert_eq!(
            macs,
            [
                "80:19:34:b8:bc:1c",
                "14:2d:27:29:16:f7",
                "68:96:7b:c8:8b:e9",
                "48:5a:3f:37:de:f7",
                "4e:20:5d:18:d0:ab"
            ],
            "newest last_seen first"
        );
    }
}

#[actix_web::test]
async fn upper_case_and_dashed_macs_are_stored_canonical() {
    let app = spawn_app().await;
    let mut report = sample();
    report["node_mac"] = json!("ac-86-74-61-4f-c0");
    report["probe_requests"][0]["mac"] = json!("14-2D-27-29-16-F7");
    app.ingest(&report).await;
    let page = app
        .get_json("/api/v1/probe-requests?mac=14:2d:27:29:16:f7")
        .await;
    assert_eq!(page["items"][0]["mac"], "14:2d:27:29:16:f7");
    assert_eq!(page["items"][0]["node_mac"], "ac:86:74:61:4f:c0");
    // The same observation in another spelling is a duplicate, not a new row.
    let again = app.ingest(&sample()).await;
    assert_eq!(
        (again["stored"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(5))
    );
}

#[actix_web::test]
async fn body_is_read_whatever_the_content_type() {
    let app = spawn_app().await;
    for content_type in [
        "text/plain",
        "application/json",
        "application/x-www-form-urlencoded",
    ] {
        let response = app
            .client
            .post(app.url("/receive"))
            .header("Content-Type", content_type)
            .body(SAMPLE)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{content_type}");
    }
    // Stored once; the same body again is a re-send, with no report record of its own.
    assert_eq!(app.stored(), (5, 1));
}

#[actix_web::test]
async fn a_repeat_adds_no_rows_and_says_so() {
    let app = spawn_app().await;
    app.post_report("/receive", SAMPLE, None).await;
    let response = app.post_report("/recieve", SAMPLE, None).await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["stored"], 0);
    assert_eq!(result["duplicates"], 5);
    assert_eq!(app.count("probe_requests"), 5);

    // A report that overlaps: two known observations, one new.
    let mut overlap = sample();
    let probes = overlap["probe_requests"].as_array_mut().unwrap();
    probes.truncate(2);
    probes.push(probe("00:11:22:33:44:55", 1455845900, 1455845910, false));
    let result = app.ingest(&overlap).await;
    assert_eq!(
        (result["stored"].as_i64(), result["duplicates"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(app.count("probe_requests"), 6);
}

#[actix_web::test]
async fn an_empty_report_is_accepted_and_counted() {
    let app = spawn_app().await;
    let result = app.ingest(&report(1, "AC:86:74:00:00:01", vec![])).await;
    assert_eq!(result["received"], 0);
    assert_eq!(app.stored(), (0, 1));
    let nodes = app.get_json("/api/v1/nodes").await;
    assert_eq!(nodes["items"][0]["reports"], 1);
    assert_eq!(nodes["items"][0]["probe_requests"], 0);
}

/// Each rule of the contract: the status, the field named, and nothing stored.
#[actix_web::test]
async fn each_rejection_stores_nothing() {
    let app = spawn_app().await;
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut value = sample();
        edit(&mut value);
        value.to_string()
    };
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        ("{\"network_id\": 1,".to_string(), 400, None),
        ("not json".to_string(), 400, None),
        (String::new(), 400, None),
        ("[1, 2]".to_string(), 422, None),
        (broken(&|v| v["version"] = json!(2)), 422, Some("version")),
        (
            broken(&|v| v["network_id"] = json!(-5)),
            422,
            Some("network_id"),
        ),
        (
            broken(&|v| v["network_id"] = json!("179283")),
            422,
            Some("network_id"),
        ),
        (
            broken(&|v| v["node_mac"] = json!("AC:86:74:61:4F")),
            422,
            Some("node_mac"),
        ),
        (
            broken(&|v| {
                v.as_object_mut().unwrap().remove("probe_requests");
            }),
            422,
            Some("probe_requests"),
        ),
        (
            broken(&|v| v["probe_requests"][3]["mac"] = json!("68:96:7b:c8:8b:zz")),
            422,
            Some("probe_requests[3].mac"),
        ),
        (
            broken(&|v| v["probe_requests"][4]["count"] = json!(-1)),
            422,
            Some("probe_requests[4].count"),
        ),
        (
            broken(&|v| v["probe_requests"][4]["count"] = json!(1.5)),
            422,
            Some("probe_requests[4].count"),
        ),
        (
            broken(&|v| v["probe_requests"][1]["min_signal"] = json!(-129)),
            422,
            Some("probe_requests[1].min_signal"),
        ),
        (
            broken(&|v| v["probe_requests"][1]["max_signal"] = json!(3)),
            422,
            Some("probe_requests[1].max_signal"),
        ),
        (
            broken(&|v| v["probe_requests"][1]["avg_signal"] = json!("-30")),
            422,
            Some("probe_requests[1].avg_signal"),
        ),
        (
            broken(&|v| v["probe_requests"][0]["last_seen_signal"] = json!(1)),
            422,
            Some("probe_requests[0].last_seen_signal"),
        ),
        (
            broken(&|v| v["probe_requests"][2]["first_seen"] = json!(1455845810)),
            422,
            Some("probe_requests[2].first_seen"),
        ),
        (
            broken(&|v| v["probe_requests"][2]["first_seen"] = json!(-1)),
            422,
            Some("probe_requests[2].first_seen"),
        ),
        (
            broken(&|v| v["probe_requests"][2]["last_seen"] = json!(null)),
            422,
            Some("probe_requests[2].last_seen"),
        ),
        (
            broken(&|v| v["probe_requests"][0]["associated"] = json!("false")),
            422,
            Some("probe_requests[0].associated"),
        ),
    ];
    for (body, status, field) in cases {
        let response = app.post_report("/receive", body.clone(), None).await;
        let problem = assert_problem(response, status).await;
        assert_eq!(problem["field"].as_str(), field, "{body}");
        assert_eq!(app.stored(), (0, 0), "nothing stored for {body}");
    }
}

#[actix_web::test]
async fn a_body_over_the_limit_is_refused() {
    let app = spawn_app_with(Settings {
        max_body: 512,
        ..settings()
    })
    .await;
    assert!(SAMPLE.len() > 512);
    let problem = assert_problem(app.post_report("/receive", SAMPLE, None).await, 413).await;
    assert!(problem["detail"].as_str().unwrap().contains("512"));
    assert_eq!(app.stored(), (0, 0));
    // Under the limit is fine.
    let small = report(
        1,
        "ac:86:74:00:00:01",
        vec![probe("00:11:22:33:44:55", 1, 2, true)],
    );
    assert!(small.to_string().len() < 512);
    app.ingest(&small).await;
}

#[actix_web::test]
async fn the_default_limit_is_one_mebibyte() {
    let app = spawn_app().await;
    let mut big = report(1, "ac:86:74:00:00:01", vec![]);
    big["padding"] = json!("x".repeat(1024 * 1024));
    let response = app.post_report("/receive", big.to_string(), None).await;
    assert_problem(response, 413).await;
    assert_eq!(app.stored(), (0, 0));
}

#[actix_web::test]
async fn signature_is_checked_when_a_secret_is_set() {
    let app = spawn_app_with(Settings {
        secret: vec![SAMPLE_SECRET.to_string()],
        ..settings()
    })
    .await;

    // Missing, then wrong: 401 and nothing stored.
    let problem = assert_problem(app.post_report("/receive", SAMPLE, None).await, 401).await;
    assert!(problem["detail"].as_str().unwrap().contains("missing"));
    let wrong = SAMPLE_SIGNATURE.replace('4', "5");
    assert_problem(app.post_report("/receive", SAMPLE, Some(&wrong)).await, 401).await;
    assert_problem(
        app.post_report("/receive", SAMPLE, Some("not a signature"))
            .await,
        401,
    )
    .await;
    // The right signature over other bytes (a re-serialised body) does not match.
    let reserialised = sample().to_string();
    assert_problem(
        app.post_report("/receive", reserialised, Some(SAMPLE_SIGNATURE))
            .await,
        401,
    )
    .await;
    // A correctly signed but invalid report is still refused by validation.
    let invalid = b"{\"version\": 2}";
    let signature = ncompass::cloudtrax::sign(SAMPLE_SECRET.as_bytes(), invalid);
    let problem = assert_problem(
        app.post_report("/receive", &invalid[..], Some(&signature))
            .await,
        422,
    )
    .await;
    assert_eq!(problem["field"], "version");
    assert_eq!(app.stored(), (0, 0));

    // Right, in lower and upper case hex.
    let response = app
        .post_report("/receive", SAMPLE, Some(SAMPLE_SIGNATURE))
        .await;
    assert_eq!(response.status(), 200);
    let upper = SAMPLE_SIGNATURE.to_uppercase();
    let response = app.post_report("/recieve", SAMPLE, Some(&upper)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.stored(), (5, 1), "the second is a re-send of the first");
}

#[actix_web::test]
async fn a_secret_is_rotated_without_losing_a_report() {
    // The old secret and the new one, as NCOMPASS_SECRET="old,new" gives them.
    let app = spawn_app_with(Settings {
        secret: vec!["the-old-secret".to_string(), SAMPLE_SECRET.to_string()],
        ..settings()
    })
    .await;
    let now = ncompass::unix_now();
    let body = |n: u32| {
        report(
            1,
            "ac:86:74:00:00:01",
            vec![probe(&client_mac(n), now - 60, now, false)],
        )
        .to_string()
    };
    // Access points still on the old secret, and those already on the new one.
    let old = body(1);
    let signature = ncompass::cloudtrax::sign(b"the-old-secret", old.as_bytes());
    let response = app.post_report("/receive", old, Some(&signature)).await;
    assert_eq!(response.status(), 200);
    let new = body(2);
    let signature = ncompass::cloudtrax::sign(SAMPLE_SECRET.as_bytes(), new.as_bytes());
    let response = app.post_report("/receive", new, Some(&signature)).await;
    assert_eq!(response.status(), 200);
    // Any other secret is refused, and nothing of it stored.
    let third = body(3);
    let signature = ncompass::cloudtrax::sign(b"a-third-secret", third.as_bytes());
    assert_problem(
        app.post_report("/receive", third, Some(&signature)).await,
        401,
    )
    .await;
    assert_eq!(app.stored(), (2, 2));
}

#[actix_web::test]
async fn signature_in_base64_is_accepted() {
    use base64::Engine as _;
    let app = spawn_app_with(Settings {
        secret: vec![SAMPLE_SECRET.to_string()],
        ..settings()
    })
    .await;
    let raw = hex::decode(SAMPLE_SIGNATURE).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    let response = app.post_report("/receive", SAMPLE, Some(&encoded)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.count("probe_requests"), 5);
}

#[actix_web::test]
async fn without_a_secret_a_signature_is_not_required() {
    let app = spawn_app().await;
    let response = app.post_report("/receive", SAMPLE, Some("anything")).await;
    assert_eq!(response.status(), 200);
}

#[actix_web::test]
async fn other_methods_are_not_allowed() {
    let app = spawn_app().await;
    let response = app.get("/receive").await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_problem(response, 405).await;
    let response = app
        .client
        .delete(app.url("/api/v1/probe-requests"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 405).await;
}
