//! The vendor of each row's MAC, from the IEEE registry the server reads at start-up:
//! in the list, one row, and the export; `randomized` for a randomized MAC; none when
//! MACs are stored keyed.

use serde_json::Value;

use crate::helpers::*;

const REGISTRY: &str = "Registry,Assignment,Organization Name,Organization Address\n\
    MA-L,F0D1A9,\"Apple, Inc.\",1 Infinite Loop Cupertino CA US 95014 \n\
    MA-L,485A3F,WISOL,\"373-7, Gajang-dong Osan-si Gyeonggi-do KR 447-210 \"\n";

#[actix_web::test]
async fn rows_name_their_macs_vendor_from_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oui.csv");
    std::fs::write(&file, REGISTRY).unwrap();
    let mut with_registry = settings();
    with_registry.oui_file = file;
    let app = spawn_app_with(with_registry).await;
    app.ingest(&report(
        4,
        "ac:86:74:00:00:04",
        vec![
            probe("f0:d1:a9:00:00:01", 1_764_115_200, 1_764_115_260, false),
            probe("f2:d1:a9:00:00:02", 1_764_115_200, 1_764_115_270, false),
            probe("00:11:22:00:00:03", 1_764_115_200, 1_764_115_280, false),
        ],
    ))
    .await;
    let page = app.get_json("/api/v1/probe-requests").await;
    let vendor_of = |mac: &str| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["mac"] == mac)
            .unwrap()["vendor"]
            .clone()
    };
    assert_eq!(vendor_of("f0:d1:a9:00:00:01"), "Apple, Inc.");
    assert_eq!(vendor_of("f2:d1:a9:00:00:02"), "randomized");
    assert_eq!(vendor_of("00:11:22:00:00:03"), Value::Null);
    let id = page["items"][2]["id"].as_i64().unwrap();
    assert_eq!(
        app.get_json(&format!("/api/v1/probe-requests/{id}")).await["vendor"],
        "Apple, Inc."
    );
    let csv = app
        .get_text("/api/v1/probe-requests/export?format=csv")
        .await;
    assert!(csv.contains(",\"Apple, Inc.\"\r\n"), "{csv}");
    assert!(csv.contains(",randomized\r\n"), "{csv}");
}

#[actix_web::test]
async fn without_the_registry_only_randomized_macs_say_so() {
    let app = spawn_app().await;
    app.ingest(&report(
        4,
        "ac:86:74:00:00:04",
        vec![
            probe("f0:d1:a9:00:00:01", 1_764_115_200, 1_764_115_260, false),
            probe("f2:d1:a9:00:00:02", 1_764_115_200, 1_764_115_270, false),
        ],
    ))
    .await;
    let page = app.get_json("/api/v1/probe-requests").await;
    let vendors: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["vendor"])
        .collect();
    assert_eq!(vendors, [&Value::from("randomized"), &Value::Null]);
}

#[actix_web::test]
async fn keyed_pseudonyms_name_no_vendor() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oui.csv");
    std::fs::write(&file, REGISTRY).unwrap();
    let app = spawn_app_with(ncompass::config::Settings {
        mac_privacy: ncompass::privacy::MacPrivacy::Keyed,
        oui_file: file,
        ..settings()
    })
    .await;
    app.ingest(&report(
        4,
        "ac:86:74:00:00:04",
        vec![probe(
            "f0:d1:a9:00:00:01",
            1_764_115_200,
            1_764_115_260,
            false,
        )],
    ))
    .await;
    let page = app.get_json("/api/v1/probe-requests").await;
    assert_eq!(page["items"][0]["vendor"], Value::Null);
}
