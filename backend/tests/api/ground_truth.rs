//! Ground truth: counts of people recorded by administrators (API and CSV import),
//! validated, listed and removed.

use serde_json::{json, Value};

use crate::helpers::*;

async fn post(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/ground-truth"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn counts_are_recorded_listed_and_removed_and_bad_ones_refused() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let window = |hours_ago: i64| (now - hours_ago * 3_600, now - (hours_ago - 1) * 3_600 - 1);
    let (since, until) = window(3);
    let response = post(
        &app,
        json!({"network_id": 7, "zone": " Ground ", "since": since, "until": until,
               "people": 212, "source": "door counter"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    let id = stored["id"].as_i64().unwrap();
    assert_eq!(
        stored,
        json!({"id": id, "network_id": 7, "zone": "Ground", "since": since, "until": until,
               "people": 212, "source": "door counter", "created_at": stored["created_at"],
               "created_by": stored["created_by"]})
    );
    let (since2, until2) = window(2);
    assert_eq!(
        post(&app, json!({"network_id": 8, "since": since2, "until": until2, "people": 0, "source": "tally"}))
            .await
            .status(),
        201
    );

    // Each bad count: 422 naming the field (or 400 for a body that is not one), and
    // nothing stored.
    for (body, field) in [
        (
            json!({"network_id": 7, "since": until, "until": since, "people": 1, "source": "x"}),
            "until",
        ),
        (
            json!({"network_id": 7, "since": now - 40 * 86_400, "until": now - 1, "people": 1, "source": "x"}),
            "until",
        ),
        (
            json!({"network_id": 7, "since": now - 60, "until": now + 3_600, "people": 1, "source": "x"}),
            "until",
        ),
        (
            json!({"network_id": 7, "since": -5, "until": 10, "people": 1, "source": "x"}),
            "since",
        ),
        (
            json!({"network_id": 7, "since": since, "until": until, "people": -1, "source": "x"}),
            "people",
        ),
        (
            json!({"network_id": 7, "since": since, "until": until, "people": 20_000_000, "source": "x"}),
            "people",
        ),
        (
            json!({"network_id": 7, "since": since, "until": until, "people": 1, "source": " "}),
            "source",
        ),
        (
            json!({"network_id": 7, "since": since, "until": until, "people": 1, "source": "x", "zone": "a\nb"}),
            "zone",
        ),
    ] {
        let problem = assert_problem(post(&app, body.clone()).await, 422).await;
        assert_eq!(problem["field"], field, "{body}");
    }
    for body in [
        json!({"network_id": 7, "since": since, "until": until, "people": 1}),
        json!({"network_id": 7, "since": since, "until": until, "people": 1, "source": "x", "extra": 1}),
        json!([1, 2]),
    ] {
        assert_problem(post(&app, body.clone()).await, 400).await;
    }
    assert_eq!(app.count("ground_truth"), 2);

    // Newest window first; one network's.
    let all = app.get_json("/api/v1/ground-truth").await;
    let networks: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["network_id"].as_i64().unwrap())
        .collect();
    assert_eq!(networks, [8, 7]);
    let seven = app.get_json("/api/v1/ground-truth?network_id=7").await;
    assert_eq!(seven["items"], json!([stored]));
    assert_problem(app.get("/api/v1/ground-truth?network_id=x").await, 400).await;
    assert_eq!(
        app.get_json("/api/v1/ground-truth?limit=1").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let problem = assert_problem(app.get("/api/v1/ground-truth?limit=0").await, 400).await;
    assert_eq!(problem["parameter"], "limit");

    // Removed once; then 404.
    let delete = || {
        app.client
            .delete(app.url(&format!("/api/v1/ground-truth/{id}")))
            .send()
    };
    assert_eq!(delete().await.unwrap().status(), 204);
    assert_problem(delete().await.unwrap(), 404).await;
    assert_eq!(app.count("ground_truth"), 1);
}

#[actix_web::test]
async fn the_command_line_imports_a_file_all_or_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let now = app.clock.now();
    let import = |text: String| {
        let file = dir.path().join("counts.csv");
        std::fs::write(&file, text).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_ncompass"))
            .args(["--database", &app.database, "ground-truth", "import"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let header = "network_id,zone,since,until,people,source";
    // A bad second line: nothing imported, the line named.
    let refused = import(format!(
        "{header}\n7,,{},{},10,door\n7,,{},{},10,door\n",
        now - 7_200,
        now - 3_601,
        now - 3_600,
        now + 3_600
    ));
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("line 3: until must not be in the future"),
        "{said}"
    );
    assert_eq!(app.count("ground_truth"), 0);
    let done = import(format!(
        "{header}\n7,Ground,{},{},10,door\n7,,{},{},12,\"tally, manual\"\n",
        now - 7_200,
        now - 3_601,
        now - 3_600,
        now - 1
    ));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stderr).contains("imported 2 ground-truth counts"));
    let items = app.get_json("/api/v1/ground-truth?network_id=7").await["items"].clone();
    assert_eq!(items[0]["source"], "tally, manual");
    assert_eq!(items[1]["zone"], "Ground");
    assert!(items[0]["created_by"].as_str().unwrap().starts_with("cli:"));
}
