//! The Prometheus rules and the Grafana dashboard in `deploy/` speak of metrics this
//! server exposes, and Prometheus's own tool accepts them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::*;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

/// Every `ncompass_*` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("ncompass_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        // Not part of a longer word (a file name like `ncompass_test_1`): preceded by a
        // character that cannot be in a metric name.
        let before = rest[..start].chars().last();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.insert(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    names
}

/// The names `/metrics` exposes: every sample's, and every declared family's (a gauge
/// may have no sample yet, like the oldest row's age without retention).
async fn exposed(app: &TestApp) -> BTreeSet<String> {
    let text = app.get("/metrics").await.text().await.unwrap();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let name = match line.strip_prefix("# TYPE ") {
            Some(declared) => declared.split(' ').next(),
            None if line.starts_with('#') => None,
            None => line.split(['{', ' ']).next(),
        };
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            names.insert(name.to_string());
        }
    }
    names
}

/// `promtool`, from Debian's prometheus package (`make test` installs it). Without it
/// the check is skipped, unless NCOMPASS_REQUIRE_PROMTOOL is set (as `make test` does).
fn promtool(args: &[&str]) -> Option<String> {
    let output = match Command::new("promtool").args(args).output() {
        Ok(output) => output,
        Err(error) => {
            assert!(
                std::env::var_os("NCOMPASS_REQUIRE_PROMTOOL").is_none(),
                "promtool is required here: {error} (apt-get install prometheus)"
            );
            eprintln!(
                "promtool not found ({error}): skipping `promtool {}`",
                args.join(" ")
            );
            return None;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool {}: {text}",
        args.join(" ")
    );
    Some(text)
}

#[actix_web::test]
async fn the_alert_rules_and_the_dashboard_use_only_exposed_metrics() {
    let app = spawn_app().await;
    app.ingest(&sample()).await;
    let exposed = exposed(&app).await;
    assert!(
        exposed.contains("ncompass_node_last_report_timestamp_seconds"),
        "{exposed:?}"
    );

    let rules = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let used = metric_names(&rules);
    assert!(used.len() >= 6, "{used:?}");
    let unknown: Vec<&String> = used.difference(&exposed).collect();
    assert!(
        unknown.is_empty(),
        "alerts.yml uses metrics /metrics lacks: {unknown:?}"
    );

    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(deploy("grafana/ncompass.json")).unwrap())
            .unwrap();
    assert_eq!(dashboard["title"], "NCompass");
    let panels = dashboard["panels"].as_array().unwrap();
    let expressions: Vec<&str> = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap())
        .map(|target| target["expr"].as_str().unwrap())
        .collect();
    assert!(expressions.len() >= panels.len());
    let used: BTreeSet<String> = expressions.iter().flat_map(|e| metric_names(e)).collect();
    let unknown: Vec<&String> = used.difference(&exposed).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard queries metrics /metrics lacks: {unknown:?}"
    );
    // The operator's first questions have a panel.
    for needed in [
        "ncompass_node_last_report_timestamp_seconds",
        "ncompass_reports_rejected_total",
        "ncompass_ingest_latency_seconds_bucket",
        "ncompass_alert_delivery_failures_total",
    ] {
        assert!(used.contains(needed), "no panel shows {needed}");
    }

    // Prometheus's own checks: the rules parse, their unit tests pass, and every panel's
    // query is valid PromQL (as a recording rule of a scratch file).
    let Some(checked) = promtool(&[
        "check",
        "rules",
        deploy("prometheus/alerts.yml").to_str().unwrap(),
    ]) else {
        return;
    };
    assert!(checked.contains("SUCCESS: 8 rules found"), "{checked}");
    let tested = promtool(&[
        "test",
        "rules",
        deploy("prometheus/alerts_test.yml").to_str().unwrap(),
    ])
    .unwrap();
    assert!(tested.contains("SUCCESS"), "{tested}");
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("panels.yml");
    let rules: Vec<Value> = expressions
        .iter()
        .enumerate()
        .map(|(i, expr)| json!({"record": format!("panel:query_{i}"), "expr": expr}))
        .collect();
    // JSON is YAML.
    std::fs::write(
        &scratch,
        json!({"groups": [{"name": "panels", "rules": rules}]}).to_string(),
    )
    .unwrap();
    let checked = promtool(&["check", "rules", scratch.to_str().unwrap()]).unwrap();
    assert!(
        checked.contains(&format!("SUCCESS: {} rules found", expressions.len())),
        "{checked}"
    );
}

#[test]
fn metric_names_are_found_whole() {
    assert_eq!(
        metric_names(
            "sum(rate(ncompass_a_total[5m])) / ncompass_b{x=\"ncompass_c\"} my_ncompass_d"
        ),
        BTreeSet::from([
            "ncompass_a_total".to_string(),
            "ncompass_b".to_string(),
            "ncompass_c".to_string()
        ])
    );
}
