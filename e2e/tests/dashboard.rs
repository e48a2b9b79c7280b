//! The dashboard in a real headless Chromium against the real backend serving the real
//! built frontend, each test on a fresh database. A failing test leaves a screenshot in
//! `e2e/artifacts/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use e2e::*;
use serde_json::{json, Value};

fn sample() -> Value {
    serde_json::from_slice(SAMPLE).unwrap()
}

#[actix_web::test]
async fn empty_state_offers_the_sample_and_shows_it() {
    browser_test("empty_state", async |h: &Harness| {
        h.open("/probe-requests").await;
        let empty = h.wait_for_text("[data-testid=empty]").await;
        assert!(empty.contains("No probe requests yet"), "{empty}");
        assert!(
            empty.contains(&format!("{}/receive", h.base)),
            "says where to point CloudTrax: {empty}"
        );

        h.click("[data-testid=add-sample]").await;
        h.wait_for_rows(5).await;
        let macs = h.texts("[data-testid=mac]").await;
        assert_eq!(macs.len(), 5);
        assert!(macs.contains(&"48:5a:3f:37:de:f7".to_string()));
        let feed = h.wait_for_text("[data-testid=feed]").await;
        assert!(feed.contains("1 of 1 access points"), "{feed}");
        // Anyone looking is told what is kept, and for how long.
        let privacy = h.wait_for_text("[data-testid=privacy]").await;
        assert!(
            privacy.contains("Device MACs are stored as heard."),
            "{privacy}"
        );
        assert!(
            privacy.contains("Probe requests are kept with no time limit"),
            "{privacy}"
        );
    })
    .await;
}

#[actix_web::test]
async fn rows_appear_after_a_report_is_posted_and_are_marked_new() {
    browser_test("rows_appear", async |h: &Harness| {
        h.post_report(&sample()).await;
        h.open("/probe-requests").await;
        let before = h.wait_for_rows(5).await;

        let later: Value = serde_json::from_slice(SAMPLE_LAST_SEEN_SIGNAL).unwrap();
        h.post_report(&later).await;
        h.click("[data-testid=refresh]").await;
        let after = h.wait_for_rows(7).await;
        let new: Vec<i64> = after.iter().copied().filter(|id| !before.contains(id)).collect();
        assert_eq!(new.len(), 2);
        let marked = h
            .js("return Array.from(document.querySelectorAll('tr.new')).map(r => Number(r.dataset.id))")
            .await;
        let marked: HashSet<i64> = marked.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(marked, new.into_iter().collect::<HashSet<_>>(), "exactly the new rows are marked");
        // The randomized client carries the badge.
        let badges = h.texts(".badge.randomized").await;
        assert_eq!(badges.len(), 2, "e2:9f:fc:.. and 4e:20:5d:.. are randomized");
    })
    .await;
}

/// Two access points on two networks, associated and not, randomized and not.
async fn seed_mixed(h: &Harness) {
    h.post_report(&sample()).await;
    h.post_report(&serde_json::from_slice(SAMPLE_LAST_SEEN_SIGNAL).unwrap())
        .await;
}

#[actix_web::test]
async fn each_filter_narrows_the_table_and_lives_in_the_url() {
    browser_test("filters", async |h: &Harness| {
        seed_mixed(h).await;
        h.open("/probe-requests").await;
        h.wait_for_rows(7).await;
        // The downloads say how many rows they fetch, for the filters in force.
        let downloads = || async { h.texts("[data-testid^=export-]").await.join(" | ") };
        h.eventually("the downloads counted", || async {
            (downloads().await == "Download CSV (7 rows) | Download NDJSON (7 rows)").then_some(())
        })
        .await;

        // Client MAC, typed in another spelling.
        h.type_into("#f-mac", "48-5A-3F-37-DE-F7").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(1).await;
        assert!(
            h.location()
                .await
                .contains("mac=48%3A5a%3A3f%3A37%3Ade%3Af7"),
            "{}",
            h.location().await
        );
        h.eventually("the downloads counted anew", || async {
            (downloads().await == "Download CSV (1 row) | Download NDJSON (1 row)").then_some(())
        })
        .await;
        h.click("button[type=reset]").await;
        h.wait_for_rows(7).await;
        assert_eq!(h.location().await, "/probe-requests");

        // Access point.
        h.type_into("#f-node", "AC:86:74:82:9A:30").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(2).await;
        assert!(h
            .location()
            .await
            .contains("node_mac=ac%3A86%3A74%3A82%3A9a%3A30"));
        h.click("button[type=reset]").await;
        h.wait_for_rows(7).await;

        // Network.
        h.set_value("#f-network", "179283").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(5).await;
        assert!(h.location().await.contains("network_id=179283"));
        h.click("button[type=reset]").await;
        h.wait_for_rows(7).await;

        // Associated only: 48:5a:.. and 00:1a:..
        h.set_value("#f-associated", "true").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(2).await;
        assert!(h.location().await.contains("associated=true"));
        // ... and hide randomized on top: still 2 (both are global MACs).
        h.set_value("#f-randomized", "false").await;
        h.click("button[type=submit]").await;
        assert!(
            h.eventually("randomized=false in the URL", || async {
                h.location()
                    .await
                    .contains("randomized=false")
                    .then_some(true)
            })
            .await
        );
        h.wait_for_rows(2).await;
        h.click("button[type=reset]").await;
        h.wait_for_rows(7).await;

        // Hide randomized alone: 7 - 2.
        h.set_value("#f-randomized", "false").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(5).await;
        assert!(h.location().await.contains("randomized=false"));
        h.click("button[type=reset]").await;
        h.wait_for_rows(7).await;

        // Time range: the 2016 sample's last_seen run from 1455845809 to 1455845820;
        // pick 1455845811..=1455845819 through the inputs (local time, minute precision
        // gives the whole minute), then check against the URL's numbers.
        h.set_value("#f-since", "2016-02-19T00:00").await;
        h.set_value("#f-until", "2016-02-20T00:00").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(5).await;
        let location = h.location().await;
        assert!(
            location.contains("since=") && location.contains("until="),
            "{location}"
        );
        h.click("button[type=reset]").await;
        h.wait_for_rows(7).await;

        // The table's filters are links (open in a new tab, copy), applied in place.
        let href = h
            .js("return document.querySelector('a[data-testid=mac]').getAttribute('href')")
            .await;
        assert!(href.as_str().unwrap().starts_with("/?mac="), "{href}");
        // Clicking a MAC in the table filters by it.
        h.click("[data-testid=mac]").await;
        h.wait_for_rows(1).await;
        assert!(h.location().await.contains("mac="));
        // And an access point.
        h.click("button[type=reset]").await;
        h.wait_for_rows(7).await;
        h.click("[data-testid=node-mac]").await;
        let rows = h
            .eventually("rows of one access point", || async {
                let count = h.row_ids().await.len();
                (count == 5 || count == 2).then_some(count)
            })
            .await;
        assert!(rows < 7);
        assert!(h.location().await.contains("node_mac="));
    })
    .await;
}

/// Every filter a URL can hold, to the second: what Apply must give back unchanged.
const EVERY_FILTER: &str = "mac=48:5a:3f:37:de:f7&node_mac=ac:86:74:61:4f:c0&network_id=179283\
     &source_vendor=cloudtrax&associated=false&randomized=true&since=1455845807&until=1455845819&limit=25";

/// The query of a location, as sorted pairs.
fn query_pairs(location: &str) -> Vec<(String, String)> {
    let query = location.split_once('?').map_or("", |(_, query)| query);
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                key.to_string(),
                value.replace("%3A", ":").replace("%3a", ":"),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// Opens every filter, applies the form untouched, and expects the same filters back.
async fn every_filter_survives_apply(h: &Harness, zone: &str) {
    seed_mixed(h).await;
    let in_browser = h
        .js("return Intl.DateTimeFormat().resolvedOptions().timeZone")
        .await;
    assert_eq!(in_browser, zone, "the browser's time zone");
    h.open(&format!("/?{EVERY_FILTER}")).await;
    // The form shows what is in force: three-way choices and times to the second.
    h.eventually("the form filled from the URL", || async {
        (h.js("return document.querySelector('#f-associated')?.value")
            .await
            == "false")
            .then_some(())
    })
    .await;
    assert_eq!(
        h.js("return document.querySelector('#f-randomized').value")
            .await,
        "true"
    );
    let since = h
        .js("return document.querySelector('#f-since').value")
        .await;
    assert!(since.as_str().unwrap().ends_with(":47"), "{since}");
    h.click("button[type=submit]").await;
    // Give a (wrong) navigation the time to happen, then compare.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let location = h.location().await;
    assert_eq!(
        query_pairs(&location),
        query_pairs(&format!("/?{EVERY_FILTER}")),
        "{location}"
    );
}

#[actix_web::test]
async fn every_filter_survives_apply_in_utc() {
    browser_test("round_trip_utc", async |h: &Harness| {
        every_filter_survives_apply(h, "UTC").await;
    })
    .await;
}

#[actix_web::test]
async fn every_filter_survives_apply_west_of_utc() {
    browser_test_in(
        "round_trip_west",
        "America/Los_Angeles",
        async |h: &Harness| {
            every_filter_survives_apply(h, "America/Los_Angeles").await;
        },
    )
    .await;
}

#[actix_web::test]
async fn an_old_answer_arriving_late_never_replaces_the_newer_one() {
    // Every list request filtered by a client MAC is answered 2 s late.
    let delay = std::time::Duration::from_secs(2);
    browser_test_slow("late_answer", "mac=", delay, async |h: &Harness| {
        seed_mixed(h).await;
        h.open("/probe-requests").await;
        h.wait_for_rows(7).await;
        // Filter by a MAC (slow), then at once by the network instead (fast).
        h.type_into("#f-mac", "48:5a:3f:37:de:f7").await;
        h.click("button[type=submit]").await;
        // While it loads, the rows shown are marked busy (dimmed, aria-busy).
        h.eventually("the busy table", || async {
            (h.js("return document.querySelector('.table-wrap').getAttribute('aria-busy')")
                .await
                == json!("true"))
            .then_some(())
        })
        .await;
        h.set_value("#f-mac", "").await;
        h.set_value("#f-network", "179283").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(5).await;
        // The MAC's answer arrives meanwhile: it was aborted, and is not shown.
        tokio::time::sleep(delay + std::time::Duration::from_millis(1_000)).await;
        assert_eq!(h.row_ids().await.len(), 5, "the newer filters' rows stay");
        let location = h.location().await;
        assert!(
            location.contains("network_id=179283") && !location.contains("mac=48"),
            "{location}"
        );
        let status = h.wait_for_text("[data-testid=status]").await;
        assert!(!status.to_lowercase().contains("loading"), "{status}");
        assert_eq!(
            h.js("return document.querySelector('.table-wrap').getAttribute('aria-busy')")
                .await,
            json!("false")
        );
    })
    .await;
}

/// 120 probe requests, one a second.
fn one_a_second() -> Vec<Value> {
    (0..120u32)
        .map(|i| {
            let at = 1_700_000_000 + i64::from(i);
            probe(&client_mac(i), at, at, false)
        })
        .collect()
}

/// Stores `probes` (120 of them) from one access point, opens the list 50 a page and
/// walks to page 3 with Older; returns the row ids of the three pages (50, 50, 20).
async fn walk_to_page_three(h: &Harness, probes: Vec<Value>) -> [Vec<i64>; 3] {
    h.post_report(&report(42, "AC:86:74:00:00:01", probes))
        .await;
    h.open("/?limit=50").await;
    let first = h.wait_for_rows(50).await;
    assert_eq!(h.wait_for_text("[data-testid=page-number]").await, "Page 1");
    h.click("[data-testid=next]").await;
    let second = h
        .eventually("the second page", || async {
            let ids = h.row_ids().await;
            (ids.len() == 50 && ids != first).then_some(ids)
        })
        .await;
    h.click("[data-testid=next]").await;
    let third = h.wait_for_rows(20).await;
    assert_eq!(h.wait_for_text("[data-testid=page-number]").await, "Page 3");
    [first, second, third]
}

/// The pager is below the table: a page reached from it is shown from the table's top,
/// not scrolled to its last row (issue 27), at a desktop's and a phone's width.
#[actix_web::test]
async fn paging_shows_the_new_page_from_the_tables_top() {
    browser_test("paging_scrolls", async |h: &Harness| {
        h.post_report(&report(42, "AC:86:74:00:00:01", one_a_second()))
            .await;
        for width in [1400, 390] {
            h.browser
                .set_window_size(width, if width > 600 { 1000 } else { 844 })
                .await
                .unwrap();
            h.open("/?limit=50").await;
            let first = h.wait_for_rows(50).await;
            let table_top = "return document.querySelector('[data-testid=table-top]')\
                             .getBoundingClientRect().top";
            // At the bottom of the page, where the pager is.
            h.js("window.scrollTo(0, document.body.scrollHeight); return true")
                .await;
            let before = h.js(table_top).await.as_f64().unwrap();
            assert!(before < -500.0, "{width} px: scrolled down: {before}");
            h.click("[data-testid=next]").await;
            h.eventually("the second page", || async {
                let ids = h.row_ids().await;
                (ids.len() == 50 && ids != first).then_some(())
            })
            .await;
            let top = h
                .eventually("the table's top in view", || async {
                    let top = h.js(table_top).await.as_f64().unwrap();
                    (top.abs() < 2.0).then_some(top)
                })
                .await;
            assert!(top.abs() < 2.0, "{width} px: {top}");
            // A refresh of the same page does not move the reader.
            // (Clicked by script: a WebDriver click would scroll to the button first.)
            h.js("window.scrollTo(0, document.body.scrollHeight); \
                  document.querySelector('[data-testid=refresh]').click(); return true")
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            let after = h.js(table_top).await.as_f64().unwrap();
            assert!(after < -500.0, "{width} px: a refresh scrolled: {after}");
        }
    })
    .await;
}

#[actix_web::test]
async fn a_double_click_on_newer_moves_one_page() {
    // Every page after the first is answered 1 s late, so a second click lands while
    // the first one's page loads.
    let delay = std::time::Duration::from_secs(1);
    browser_test_slow("double_click", "cursor=", delay, async |h: &Harness| {
        let [_, second, _] = walk_to_page_three(h, one_a_second()).await;
        // A person's double click on "Newer": the second click 100 ms after the first,
        // on the button as it is then, while page 2 loads. One page back, not two.
        h.js("document.querySelector('[data-testid=previous]').click(); \
              setTimeout(() => document.querySelector('[data-testid=previous]').click(), 100); \
              return true")
            .await;
        h.eventually("the second page again", || async {
            (h.row_ids().await == second).then_some(())
        })
        .await;
        tokio::time::sleep(delay + std::time::Duration::from_millis(500)).await;
        assert_eq!(h.row_ids().await, second, "still the second page");
        assert_eq!(h.wait_for_text("[data-testid=page-number]").await, "Page 2");
    })
    .await;
}

#[actix_web::test]
async fn back_forward_and_reload_keep_the_page_and_its_label() {
    browser_test("paging_history", async |h: &Harness| {
        let label = || async { h.wait_for_text("[data-testid=page-number]").await };
        let [first, second, third] = walk_to_page_three(h, one_a_second()).await;

        // Back: page 2, labelled so (it used to say "Page 3" for page 2, or lose it).
        h.browser.back().await.unwrap();
        h.wait_for_rows(50).await;
        assert_eq!(h.row_ids().await, second);
        assert_eq!(label().await, "Page 2");
        h.browser.forward().await.unwrap();
        h.wait_for_rows(20).await;
        assert_eq!(h.row_ids().await, third);
        assert_eq!(label().await, "Page 3");
        // Reload: the same page, the same label; Newer still walks back one page.
        h.browser.refresh().await.unwrap();
        h.wait_for_rows(20).await;
        assert_eq!(label().await, "Page 3");
        h.click("[data-testid=previous]").await;
        h.eventually("page 2 after Newer", || async {
            (h.row_ids().await == second).then_some(())
        })
        .await;
        assert_eq!(label().await, "Page 2");
        h.click("[data-testid=previous]").await;
        h.eventually("page 1 after Newer", || async {
            (h.row_ids().await == first).then_some(())
        })
        .await;
        assert_eq!(label().await, "Page 1");

        // A shared link to page 3, opened where this tab's walk is unknown (its
        // sessionStorage cleared): the same rows, the same label, from the URL.
        h.browser.back().await.unwrap();
        h.eventually("page 2 after Back", || async {
            (h.row_ids().await == second).then_some(())
        })
        .await;
        h.browser.back().await.unwrap();
        h.eventually("page 3 after Back", || async {
            (h.row_ids().await == third).then_some(())
        })
        .await;
        let link = h.location().await;
        assert!(link.contains("page=3"), "{link}");
        h.js("sessionStorage.clear(); return true").await;
        h.open("/probe-requests").await;
        h.wait_for_rows(100).await;
        h.open(&link).await;
        h.wait_for_rows(20).await;
        assert_eq!(h.row_ids().await, third);
        assert_eq!(label().await, "Page 3");
    })
    .await;
}

#[actix_web::test]
async fn an_invalid_mac_is_explained_in_the_form() {
    browser_test("invalid_mac", async |h: &Harness| {
        seed_mixed(h).await;
        h.open("/probe-requests").await;
        h.wait_for_rows(7).await;
        h.type_into("#f-mac", "00:11:22").await;
        h.click("button[type=submit]").await;
        let message = h.wait_for_text("#mac-error").await;
        assert!(message.contains("6 octets"), "{message}");
        assert_eq!(h.location().await, "/probe-requests", "nothing applied");
    })
    .await;
}

#[actix_web::test]
async fn the_original_urls_open_the_equivalent_view() {
    browser_test("original_urls", async |h: &Harness| {
        seed_mixed(h).await;
        h.open("/filter?mac=48:5a:3f:37:de:f7&node_mac=AC:86:74:61:4F:C0")
            .await;
        h.wait_for_rows(1).await;
        assert_eq!(h.texts("[data-testid=mac]").await, ["48:5a:3f:37:de:f7"]);
        assert_eq!(
            h.js("return document.querySelector('#f-mac').value").await,
            "48:5a:3f:37:de:f7"
        );

        // The downloads carry the view's filters, and serve the same rows.
        let href = h
            .js("return document.querySelector('[data-testid=export-csv]').href")
            .await;
        let href = href.as_str().unwrap().to_string();
        assert!(
            href.contains("format=csv") && href.contains("mac=48%3A5a%3A3f%3A37%3Ade%3Af7"),
            "{href}"
        );
        let csv = h
            .http
            .get(&href)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(csv.lines().count(), 2, "header and the one row: {csv}");

        h.open("/filter?node_mac=ac:86:74:82:9a:30").await;
        h.wait_for_rows(2).await;

        h.open("/?limit=3").await;
        h.wait_for_rows(3).await;
        assert_eq!(
            h.js("return document.querySelector('#f-limit').value")
                .await,
            "3",
            "a page size from the URL is offered even when the menu lacks it"
        );
    })
    .await;
}

#[actix_web::test]
async fn pages_forward_and_back_with_no_row_missed_or_repeated() {
    browser_test("paging", async |h: &Harness| {
        // Two a second: pages split seconds, where keyset paging must tie-break by id.
        let probes: Vec<Value> = (0..120u32)
            .map(|i| {
                probe(
                    &client_mac(i),
                    1_700_000_000 + i64::from(i / 2),
                    1_700_000_000 + i64::from(i / 2),
                    i % 3 == 0,
                )
            })
            .collect();
        let [first, second, third] = walk_to_page_three(h, probes).await;
        assert!(
            h.js("return document.querySelector('[data-testid=next]').disabled")
                .await
                == json!(true),
            "no page after the last"
        );

        let all: Vec<i64> = first.iter().chain(&second).chain(&third).copied().collect();
        let unique: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 120);
        assert_eq!(unique.len(), 120, "no row repeated or missed");
        assert!(h.location().await.contains("cursor="));

        h.click("[data-testid=previous]").await;
        let back = h
            .eventually("the second page again", || async {
                let ids = h.row_ids().await;
                (ids == second).then_some(ids)
            })
            .await;
        assert_eq!(back, second);
        h.click("[data-testid=previous]").await;
        h.eventually("the first page again", || async {
            (h.row_ids().await == first).then_some(())
        })
        .await;
        assert!(!h.location().await.contains("cursor="));
    })
    .await;
}

#[actix_web::test]
async fn stored_markup_renders_as_text() {
    browser_test("markup_as_text", async |h: &Harness| {
        h.post_report(&sample()).await;
        // Stored by someone writing to the database directly: the API returns it
        // as is, and the page must show it as text.
        h.sql(
            "INSERT INTO probe_requests (report_id, network_id, node_mac, mac, count, min_signal, \
             max_signal, avg_signal, first_seen, last_seen, associated, randomized) VALUES \
             (1, 1, '<img src=x onerror=\"window.__pwned=1\">', '<script>window.__pwned=2</script>', \
              1, -60, -50, -55, 2000000000, 2000000000, false, false)",
        );
        h.open("/probe-requests").await;
        h.wait_for_rows(6).await;
        let macs = h.texts("[data-testid=mac]").await;
        assert_eq!(macs[0], "<script>window.__pwned=2</script>");
        let nodes = h.texts("[data-testid=node-mac]").await;
        assert_eq!(nodes[0], "<img src=x onerror=\"window.__pwned=1\">");
        assert_eq!(h.js("return typeof window.__pwned").await, "undefined");
        assert_eq!(h.js("return document.querySelectorAll('table script, table img').length").await, 0);
    })
    .await;
}

#[actix_web::test]
async fn the_api_being_down_shows_an_error_and_keeps_the_table() {
    browser_test("api_down", async |h: &Harness| {
        h.post_report(&sample()).await;
        h.open("/probe-requests").await;
        h.wait_for_rows(5).await;
        h.stop_server().await;
        h.click("[data-testid=refresh]").await;
        let error = h.wait_for_text("[data-testid=error]").await;
        assert!(
            error.contains("Cannot reach the NCompass server"),
            "{error}"
        );
        assert_eq!(h.row_ids().await.len(), 5, "the last data stays on screen");
        // The feed header keeps the access point it knew, and says it could not
        // refresh: never "0 of 0 access points", which reads like an outage.
        h.wait_for_text("[data-testid=feed-stale]").await;
        let feed = h.wait_for_text("[data-testid=feed]").await;
        assert!(feed.contains("of 1 access points"), "{feed}");
        assert!(!feed.contains("of 0 access points"), "{feed}");
    })
    .await;
}

#[actix_web::test]
async fn a_refused_filter_shows_an_error_not_a_blank_page() {
    browser_test("refused_filter", async |h: &Harness| {
        h.post_report(&sample()).await;
        h.open("/?mac=not-a-mac").await;
        let error = h.wait_for_text("[data-testid=error]").await;
        assert!(error.contains("mac"), "{error}");
        assert!(h
            .wait_for_text("[data-testid=filters]")
            .await
            .contains("Client MAC"));
    })
    .await;
}

#[actix_web::test]
async fn the_overview_asks_for_whole_local_days_and_refuses_over_31_days() {
    browser_test_in("overview_ranges", "America/New_York", async |h: &Harness| {
        h.post_report(&sample()).await;
        // The venue's days, not the viewer's: the network is in Berlin, the browser in
        // New York.
        h.put_json("/api/v1/networks/179283", &json!({"time_zone": "Europe/Berlin"})).await;
        // "Last 7 days": from the network's midnight six days before today's, so the
        // first bar is a whole day (it used to start at now minus 7 x 24 h).
        h.open("/overview?range=7d").await;
        let since = h
            .eventually("the series request", || async {
                let since = h
                    .js("const e = performance.getEntriesByType('resource').map(e => e.name).find(n => n.includes('/api/v1/stats/series')); return e ? Number(new URL(e).searchParams.get('since')) : null")
                    .await;
                since.as_i64()
            })
            .await;
        // A Berlin midnight, six calendar days before today's there.
        let berlin = |unix: i64| format!("new Date({unix} * 1000).toLocaleString('en-GB', {{timeZone: 'Europe/Berlin', hourCycle: 'h23'}})");
        let since_there = h.js(&format!("return {}", berlin(since))).await;
        assert!(since_there.as_str().unwrap().ends_with("00:00:00"), "{since_there}");
        let days = h
            .js(&format!("const p = s => s.split(',')[0].split('/'); const d = s => Date.UTC(p(s)[2], p(s)[1] - 1, p(s)[0]); return (d({}) - d({})) / 86400000", berlin(0).replace("new Date(0 * 1000)", "new Date()"), berlin(since)))
            .await;
        assert_eq!(days, json!(6), "{since_there}");
        let tz = h.wait_for_text("[data-testid=overview-tz]").await;
        assert!(tz.contains("Europe/Berlin"), "{tz}");

        // A custom range over 31 days is explained, not sent to be refused.
        h.open(&format!("/overview?since=0&until={}", 32 * 86_400)).await;
        let said = h.wait_for_text("[data-testid=range-too-long]").await;
        assert!(said.contains("at most 31 days"), "{said}");
        assert_eq!(h.js("return document.querySelectorAll('.card').length").await, 0);
        h.open("/overview?range=today").await;
        h.set_value("#r-since", "2026-01-01T00:00:00").await;
        h.set_value("#r-until", "2026-02-15T00:00:00").await;
        h.click("form.custom-range button[type=submit]").await;
        let said = h.wait_for_text("form.custom-range [role=alert]").await;
        assert!(said.contains("at most 31 days"), "{said}");
        assert!(h.location().await.contains("range=today"), "nothing applied");
    })
    .await;
}

#[actix_web::test]
async fn the_overview_shows_presence_figures_and_leads_to_a_device() {
    browser_test("overview", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // A visitor (600 s at -58 dBm, associated) and a randomized passer-by (10 s).
        let mut visitor = probe("00:11:22:33:44:01", now - 900, now - 300, true);
        visitor["max_signal"] = json!(-58);
        let passer_by = probe("02:11:22:33:44:02", now - 200, now - 190, false);
        h.post_report(&report(31, "AC:86:74:00:00:31", vec![visitor, passer_by])).await;
        // The same time a week before: one passer-by.
        let week = 7 * 86_400;
        h.post_report(&report(31, "AC:86:74:00:00:31", vec![probe("00:11:22:33:44:09", now - week - 200, now - week - 190, false)])).await;

        h.open("/overview?range=hour").await;
        let cards = h
            .eventually("the summary cards", || async {
                let cards = h
                    .js("return Array.from(document.querySelectorAll('.card')).map(c => [c.querySelector('.label').textContent, c.querySelector('.value').textContent])")
                    .await;
                let cards: Vec<(String, String)> = serde_json::from_value(cards).unwrap();
                (!cards.is_empty()).then_some(cards)
            })
            .await;
        let value = |label: &str| cards.iter().find(|(l, _)| l == label).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(value("devices"), "2");
        assert_eq!(value("non-randomized devices"), "1");
        assert_eq!(value("associated devices"), "1");
        assert_eq!(value("visits"), "2");
        assert_eq!(value("visitors"), "1");
        assert_eq!(value("passers-by"), "1");
        assert_eq!(value("capture rate"), "50%");
        // Against the same time last week, in words.
        assert_eq!(h.wait_for_text("[data-testid=change-devices]").await, "+100%: 1 at the same time last week");
        assert_eq!(h.wait_for_text("[data-testid=change-visitors]").await, "none at the same time last week");
        // Three charts with axes, legends and hover titles.
        assert_eq!(h.js("return document.querySelectorAll('figure.chart').length").await, 3);
        assert!(h.js("return document.querySelectorAll('figure.chart rect title').length").await.as_i64().unwrap() > 0);
        assert_eq!(h.texts("[data-testid=ap-table] tbody .mono").await, ["ac:86:74:00:00:31"]);
        // Its figures download as CSV, one row per bucket and one for the range.
        let csv = h
            .js("return decodeURIComponent(document.querySelector('[data-testid=overview-csv]').getAttribute('href').split(',').slice(1).join(','))")
            .await;
        let csv = csv.as_str().unwrap();
        assert!(csv.starts_with("bucket_start,bucket_end,bucket_start_local,bucket_end_local,tz,devices,"), "{csv}");
        let range_row = csv.lines().find(|l| l.starts_with("range,")).unwrap();
        assert_eq!(range_row.split(',').nth(5), Some("2"), "{range_row}");
        // Beside the Unix seconds, ISO 8601 local times of the zone counted in (UTC here).
        let start_local = range_row.split(',').nth(2).unwrap();
        assert!(start_local.len() == 25 && start_local.ends_with("+00:00") && start_local.as_bytes()[10] == b'T', "{range_row}");
        // The last hour in twelve bars of 5 minutes.
        let buckets = csv.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).count();
        assert_eq!(buckets, 12, "{csv}");
        // The last hour moves on: the page says when it was computed and that it refreshes.
        let status = h.wait_for_text("[data-testid=overview-status]").await;
        assert!(status.starts_with("Computed ") && status.ends_with("refreshes every 60 s"), "{status}");

        // A custom range from the URL: the last 250 s hold only the passer-by's visit
        // (the visitor's ended 300 s ago).
        h.open(&format!("/overview?since={}&until={now}", now - 250)).await;
        let devices = h
            .eventually("the custom range's figures", || async {
                let value = h
                    .js("const c = Array.from(document.querySelectorAll('.card')).find(c => c.querySelector('.label').textContent === 'devices'); return c ? c.querySelector('.value').textContent : null")
                    .await;
                value.as_str().map(str::to_string)
            })
            .await;
        assert_eq!(devices, "1", "only the passer-by was heard in the last 250 s");
        // A range with nothing in it says so instead of drawing blank axes.
        h.open("/overview?since=100&until=200").await;
        h.eventually("empty charts", || async {
            (h.js("return document.querySelectorAll('[data-testid=chart-empty]').length").await == json!(3)).then_some(())
        })
        .await;
        h.open(&format!("/overview?since={}&until={now}", now - 250)).await;
        h.wait_for_text("[data-testid=overview-status]").await;
        // A custom range is fixed: nothing to refresh.
        let status = h.wait_for_text("[data-testid=overview-status]").await;
        assert!(!status.contains("refreshes"), "{status}");
        assert!(!h.js("return document.querySelector('#r-since').value").await.as_str().unwrap().is_empty());

        // From the table (with last week's row too), a MAC's device link opens its page.
        h.open("/probe-requests").await;
        h.wait_for_rows(3).await;
        h.click("a.device-link[href='/device/31/00%3A11%3A22%3A33%3A44%3A01']").await;
        let title = h.wait_for_text("[data-testid=device] h2").await;
        assert!(title.contains("00:11:22:33:44:01") && title.contains("network 31"), "{title}");
        h.eventually("one visit in the table", || async {
            (h.js("return document.querySelectorAll('[data-testid=visits] tbody tr').length").await == json!(1)).then_some(())
        })
        .await;
        assert_eq!(h.js("return document.querySelectorAll('.timeline rect.s-visitors').length").await, 1);
        h.wait_for_rows(1).await;
        // Its rows download whole.
        let href = h.js("return document.querySelector('[data-testid=device-csv]').href").await;
        let csv = reqwest::get(href.as_str().unwrap()).await.unwrap().text().await.unwrap();
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(csv.contains("00:11:22:33:44:01"), "{csv}");
    })
    .await;
}

#[actix_web::test]
async fn every_page_passes_an_automated_accessibility_check() {
    browser_test("accessibility", async |h: &Harness| {
        h.post_report(&sample()).await;
        h.put_json(
            "/api/v1/nodes/ac:86:74:61:4f:c0",
            &json!({"name": "Entrance", "zone": "Ground"}),
        )
        .await;
        for (path, ready) in [
            ("/", "[data-testid=today-visitors]"),
            ("/probe-requests", "[data-testid=probe-table]"),
            ("/overview?range=hour", "[data-testid=now-devices]"),
            ("/overview?since=100&until=200", "[data-testid=chart-empty]"),
            ("/settings", "[data-testid=network-settings-179283]"),
            (
                "/device/179283/48:5a:3f:37:de:f7",
                "[data-testid=visits-range]",
            ),
        ] {
            h.open(path).await;
            h.wait_for_text(ready).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let violations = h.accessibility_violations().await;
            assert!(violations.is_empty(), "{path}: {violations:#?}");
        }
        // The sign-in page, once an account exists.
        h.add_user(
            "alice",
            api_types::Role::Admin,
            "correct horse battery staple",
        )
        .await;
        h.open("/probe-requests").await;
        h.wait_for_text("form").await;
        let violations = h.accessibility_violations().await;
        assert!(violations.is_empty(), "sign-in: {violations:#?}");
    })
    .await;
}

#[actix_web::test]
async fn an_overview_before_any_report_says_how_to_connect_access_points() {
    browser_test("overview_setup", async |h: &Harness| {
        h.open("/overview").await;
        let setup = h.wait_for_text("[data-testid=overview-setup]").await;
        assert!(setup.contains("No access point has reported yet"), "{setup}");
        let url = h.wait_for_text("[data-testid=setup-cloudtrax-url]").await;
        let origin = h.js("return window.location.origin").await;
        assert_eq!(json!(url), json!(format!("{}/receive", origin.as_str().unwrap())));
        // No figures of zero, and no CSV of zeros, beside it.
        assert_eq!(h.js("return document.querySelectorAll('[data-testid=overview-csv], [data-testid=summary]').length").await, json!(0));
        // The first report: the figures replace the pointer on the next load.
        h.post_report(&sample()).await;
        h.open("/overview").await;
        h.wait_for_text("[data-testid=overview-csv]").await;
        assert_eq!(h.js("return document.querySelectorAll('[data-testid=overview-setup]').length").await, json!(0));
    })
    .await;
}

#[actix_web::test]
async fn the_overview_ranks_zones_and_networks_and_sorts_them() {
    browser_test("rankings", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let (door, shop, annex) = ("ac:86:74:00:00:61", "ac:86:74:00:00:62", "ac:86:74:00:00:63");
        // Network 61: the door (zone "Street", three devices) and the shop (zone
        // "Shop", one visitor of ten minutes); network 62: the annex (zone "Annex", two).
        h.post_report(&report(61, door, (1..=3).map(|i| probe(&client_mac(i), now - 300, now - 280, false)).collect())).await;
        let mut visitor = probe(&client_mac(4), now - 900, now - 60, false);
        visitor["max_signal"] = json!(-50);
        h.post_report(&report(61, shop, vec![visitor])).await;
        h.post_report(&report(62, annex, (5..=6).map(|i| probe(&client_mac(i), now - 300, now - 280, false)).collect())).await;
        for (node, zone) in [(door, "Street"), (shop, "Shop"), (annex, "Annex")] {
            h.put_json(&format!("/api/v1/nodes/{node}"), &json!({"name": zone, "zone": zone})).await;
        }
        h.put_json("/api/v1/networks/61", &json!({"name": "Main street"})).await;
        h.open("/overview?range=hour").await;
        let names = |testid: &'static str| async move {
            h.js(&format!("return Array.from(document.querySelectorAll('[data-testid={testid}] tbody .place-name')).map(e => e.textContent)")).await
        };
        // Most visitors first, then most devices.
        h.eventually("the zone ranking", || async {
            (names("zone-ranking").await == json!(["Shop", "Street", "Annex"])).then_some(())
        })
        .await;
        assert_eq!(names("network-ranking").await, json!(["Main street", "Network 62"]));
        // Sorted by devices, then reversed; by name.
        let sort_by = |label: &'static str| async move {
            h.js(&format!("Array.from(document.querySelectorAll('[data-testid=zone-ranking] th button')).find(b => b.textContent.startsWith('{label}')).click(); return true")).await;
        };
        sort_by("Devices").await;
        assert_eq!(names("zone-ranking").await, json!(["Street", "Annex", "Shop"]));
        assert_eq!(
            h.js("return document.querySelector('[data-testid=zone-ranking] th[aria-sort=descending]').textContent").await,
            json!("Devices ▼")
        );
        sort_by("Devices").await;
        assert_eq!(names("zone-ranking").await, json!(["Shop", "Annex", "Street"]));
        sort_by("Name").await;
        assert_eq!(names("zone-ranking").await, json!(["Annex", "Shop", "Street"]));
        // The door falls silent: its zone is marked partial, and the Overview names it
        // beside the figures.
        h.sql(&format!("UPDATE nodes SET last_report_at = last_report_at - 3600 WHERE node_mac = '{door}'"));
        h.open("/overview?range=hour").await;
        let said = h.wait_for_text("[data-testid=silent-in-scope]").await;
        assert!(said.starts_with("Not reporting: Street (Street) since "), "{said}");
        let partial = h
            .eventually("the partial zone", || async {
                let rows = h.js("return Array.from(document.querySelectorAll('[data-testid=zone-ranking] tbody tr')).map(r => [r.querySelector('.place-name').textContent, (r.querySelector('[data-testid=partial]') || {}).textContent || ''])").await;
                let rows: Vec<(String, String)> = serde_json::from_value(rows).ok()?;
                (rows.len() == 3).then_some(rows)
            })
            .await;
        for (zone, badge) in partial {
            let expected = if zone == "Street" { "partial: 1 of 1 access points silent" } else { "" };
            assert_eq!(badge, expected, "{zone}");
        }
        // Narrowed to the annex, nothing silent is in scope.
        h.open("/overview?range=hour&zone=Annex").await;
        h.wait_for_text("[data-testid=now-devices]").await;
        h.wait_for_text("[data-testid=summary]").await;
        assert_eq!(h.js("return document.querySelectorAll('[data-testid=silent-in-scope]').length").await, json!(0));
        // A ranked place's name opens the Overview narrowed to it, over the same range.
        h.open("/overview?range=hour").await;
        h.eventually("the network ranking", || async {
            (names("network-ranking").await == json!(["Main street", "Network 62"])).then_some(())
        })
        .await;
        h.click("[data-testid=network-ranking] tbody tr:first-child .place-name a").await;
        h.eventually("the network's Overview", || async {
            let location = h.location().await;
            (location.contains("network_id=61") && location.contains("range=hour")).then_some(())
        })
        .await;
        assert_eq!(h.js("return document.querySelector('#o-network').value").await, json!("61"));
    })
    .await;
}

#[actix_web::test]
async fn overview_charts_keep_their_text_size_show_values_on_tap_and_mark_days_without_data() {
    browser_test("chart_text", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // The network's first report is now: the six days before today have no data.
        h.post_report(&report(71, "ac:86:74:00:00:71", vec![probe(&client_mac(1), now - 120, now - 60, false)])).await;
        // Each axis label's rendered text size: its font size times the scale it is
        // drawn at (an SVG label's scale is the chart's).
        let label_heights = "return Array.from(document.querySelectorAll('.chart .x-axis span, .chart .y-axis span')).map(e => parseFloat(getComputedStyle(e).fontSize) * e.getBoundingClientRect().height / e.offsetHeight)";
        let mut heights = Vec::new();
        for width in [1400, 390] {
            h.browser.set_window_size(width, if width > 600 { 1000 } else { 844 }).await.unwrap();
            h.open("/overview?range=7d").await;
            let labels = h
                .eventually("the day bars", || async {
                    let labels = h.texts(".chart .x-axis span").await;
                    (labels.len() >= 7).then_some(labels)
                })
                .await;
            // Days say their weekday.
            assert!(
                labels[..7].iter().all(|l| ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().any(|d| l.starts_with(d))),
                "{labels:?}"
            );
            let sizes = h.js(label_heights).await;
            let sizes: Vec<f64> = serde_json::from_value(sizes).unwrap();
            assert!(sizes.iter().all(|size| (10.0..=16.0).contains(size)), "{width} px: {sizes:?}");
            heights.push(sizes[0]);
            // Days before the first report: "no data", not zero, in the drawing and the
            // table.
            assert_eq!(h.js("return document.querySelector('.chart').querySelectorAll('rect.no-data').length").await, json!(6));
            let cells = h.js("return Array.from(document.querySelector('[data-testid=chart-table]').querySelectorAll('tbody tr td:first-of-type')).map(e => e.textContent)").await;
            let cells: Vec<String> = serde_json::from_value(cells).unwrap();
            assert_eq!(cells.iter().filter(|c| *c == "no data").count(), 6, "{cells:?}");
            assert_ne!(cells[6], "no data");
            // A tap shows a bar's values (phones have no hover).
            h.js("const bars = document.querySelector('.chart').querySelectorAll('.bar'); bars[bars.length - 1].dispatchEvent(new MouseEvent('click', {bubbles: true})); return true").await;
            let values = h
                .eventually("the tapped bar's values", || async {
                    let text = h.wait_for_text("[data-testid=chart-values]").await;
                    text.contains("Randomized").then_some(text)
                })
                .await;
            assert!(values.starts_with(&labels[6]) && values.ends_with("devices"), "{values}");
            h.js("document.querySelector('.chart').querySelectorAll('.bar')[0].dispatchEvent(new MouseEvent('click', {bubbles: true})); return true").await;
            let values = h.wait_for_text("[data-testid=chart-values]").await;
            assert!(values.contains("no data"), "{values}");
        }
        // The same text size on a wide screen and a phone (SVG text was 26 px and 6 px).
        assert!((heights[0] - heights[1]).abs() < 0.5, "{heights:?}");
        // Yesterday, all before the first report: said, not drawn as a day of zeros.
        h.open("/overview?range=yesterday").await;
        let said = h.wait_for_text("[data-testid=chart-empty]").await;
        assert_eq!(said, "No data in this range: no access point here was reporting");
        assert_eq!(h.js("return document.querySelector('nav.ranges a[aria-current=page]').textContent").await, json!("Yesterday"));
        // The last 30 days: 30 day bars, 29 of them without data.
        h.open("/overview?range=30d").await;
        h.eventually("thirty days", || async {
            let rows = h.js("const t = document.querySelector('[data-testid=chart-table]'); return t && t.querySelectorAll('tbody tr').length").await;
            (rows == json!(30)).then_some(())
        })
        .await;
    })
    .await;
}

#[actix_web::test]
async fn home_answers_today_and_old_links_land_on_the_table() {
    browser_test("home", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let (day, week) = (86_400, 7 * 86_400);
        let visitor = |n: u32, ago: i64| {
            let mut visit = probe(&client_mac(n), now - ago - 400, now - ago - 60, false);
            visit["max_signal"] = json!(-50);
            visit
        };
        // Two visitors now, one yesterday at this time, one a week ago at this time.
        h.post_report(&report(81, "ac:86:74:00:00:81", vec![visitor(1, 0), visitor(2, 0), visitor(3, day), visitor(4, week)])).await;
        h.put_json("/api/v1/nodes/ac:86:74:00:00:81", &json!({"name": "Door", "zone": "Ground"})).await;
        for width in [1400, 390] {
            h.browser.set_window_size(width, if width > 600 { 1000 } else { 844 }).await.unwrap();
            h.open("/").await;
            assert_eq!(h.wait_for_text("[data-testid=today-visitors]").await, "2");
            assert_eq!(h.wait_for_text("[data-testid=today-vs-last-week]").await, "+100%: 1 at the same time last week");
            assert_eq!(h.wait_for_text("[data-testid=today-vs-yesterday]").await, "+100%: 1 yesterday at this time");
            assert_eq!(h.wait_for_text("[data-testid=busiest-zones]").await, "Ground: 2 visitors (+100% on last week)");
            h.wait_for_text("[data-testid=now-devices]").await;
            // The headline is on the first screen, phone too.
            let top = h.js("return document.querySelector('[data-testid=today-visitors]').getBoundingClientRect().bottom").await.as_f64().unwrap();
            let height = h.js("return window.innerHeight").await.as_f64().unwrap();
            assert!(top < height, "{width} px: the visitors are below the first screen ({top} px)");
            assert_eq!(h.js("return document.querySelector('nav.links a[aria-current=page]').textContent").await, json!("Today"));
            assert_eq!(h.js("return document.title").await, json!("Today · NCompass"));
        }
        // Old links to the table land on the table, with their filters.
        let mac = client_mac(1);
        for link in [format!("/?mac={mac}"), format!("/filter?mac={mac}")] {
            h.open(&link).await;
            let rows = h.wait_for_rows(1).await;
            assert_eq!(rows.len(), 1, "{link}");
            assert_eq!(h.texts("[data-testid=mac]").await, std::slice::from_ref(&mac), "{link}");
            assert_eq!(h.js("return document.querySelector('nav.links a[aria-current=page]').textContent").await, json!("Probe requests"), "{link}");
        }
        // The table is one click away.
        h.open("/").await;
        h.wait_for_text("[data-testid=today-visitors]").await;
        h.click("nav.links a[href='/probe-requests']").await;
        h.wait_for_rows(4).await;
        assert!(h.location().await.starts_with("/probe-requests"));
    })
    .await;
}

#[actix_web::test]
async fn the_table_filters_by_name_and_reads_as_cards_on_a_phone() {
    browser_test("filters_by_name", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let (entrance, cafe, annex) = ("ac:86:74:00:00:91", "ac:86:74:00:00:92", "ac:86:74:00:00:93");
        h.post_report(&report(91, entrance, vec![probe(&client_mac(1), now - 100, now - 90, false), probe(&client_mac(2), now - 80, now - 70, false)])).await;
        h.post_report(&report(91, cafe, vec![probe(&client_mac(3), now - 60, now - 50, false)])).await;
        h.post_report(&report(92, annex, vec![probe(&client_mac(4), now - 40, now - 30, false)])).await;
        h.put_json(&format!("/api/v1/nodes/{entrance}"), &json!({"name": "Entrance", "zone": "Ground"})).await;
        h.put_json(&format!("/api/v1/nodes/{cafe}"), &json!({"name": "Café"})).await;
        h.put_json("/api/v1/networks/91", &json!({"name": "Main street"})).await;

        // Wide: the filters are open; an access point by its name (any case).
        h.open("/probe-requests").await;
        h.wait_for_rows(4).await;
        assert_eq!(h.js("return document.querySelector('[data-testid=filters-panel]').open").await, json!(true));
        let suggested = h.js("return Array.from(document.querySelectorAll('#known-nodes option')).map(o => o.value)").await;
        let mut suggested: Vec<String> = serde_json::from_value(suggested).unwrap();
        suggested.sort();
        assert_eq!(suggested, ["Café", "Entrance", annex]);
        h.type_into("#f-node", "entrance").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(2).await;
        assert!(h.location().await.contains("node_mac=ac%3A86%3A74%3A00%3A00%3A91"), "{}", h.location().await);
        assert_eq!(h.wait_for_text("[data-testid=filters-panel] summary").await, "Filters (1 in force)");
        // A name nobody has: said, nothing applied.
        h.type_into("#f-node", "Roof").await;
        h.click("button[type=submit]").await;
        let error = h.wait_for_text("#node_mac-error").await;
        assert!(error.starts_with("No access point is named"), "{error}");
        assert!(h.location().await.contains("node_mac=ac%3A86%3A74%3A00%3A00%3A91"));
        // A MAC typed still works; the network from a menu of names.
        h.set_value("#f-node", "").await;
        let networks = h.texts("#f-network option").await;
        assert_eq!(networks, ["Any", "Main street (91)", "Network 92"]);
        h.set_value("#f-network", "92").await;
        h.click("button[type=submit]").await;
        h.wait_for_rows(1).await;
        assert!(h.location().await.contains("network_id=92"), "{}", h.location().await);

        // A phone: the filters folded, the first row on the first screen, every field of
        // a row in view with its label, nothing to scroll sideways.
        h.browser.set_window_size(390, 844).await.unwrap();
        h.open("/probe-requests").await;
        h.wait_for_rows(4).await;
        assert_eq!(h.js("return document.querySelector('[data-testid=filters-panel]').open").await, json!(false));
        let first = h.js("return document.querySelector('[data-testid=probe-table] tbody tr').getBoundingClientRect().top").await.as_f64().unwrap();
        assert!(first < 600.0, "the first row starts {first} px down");
        assert_eq!(
            h.js("const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth").await,
            json!(0)
        );
        let labels = h.js("return Array.from(document.querySelector('[data-testid=probe-table] tbody tr').querySelectorAll('td')).map(td => getComputedStyle(td, '::before').content)").await;
        assert_eq!(
            labels,
            json!(["\"Last seen\"", "\"Client\"", "\"Access point\"", "\"Network\"", "\"Count\"", "\"Signal (dBm)\"", "\"Duration\"", "\"Associated\""])
        );
        let right = h.js("return Math.max(...Array.from(document.querySelector('[data-testid=probe-table] tbody tr').querySelectorAll('td')).map(td => td.getBoundingClientRect().right))").await.as_f64().unwrap();
        assert!(right <= 390.0, "a field ends at {right} px");
        // Opened on demand.
        h.click("[data-testid=filters-panel] summary").await;
        h.element("#f-mac").await;
        assert_eq!(h.js("return document.querySelector('[data-testid=filters-panel]').open").await, json!(true));
    })
    .await;
}

#[actix_web::test]
async fn the_table_and_the_device_page_show_times_in_the_networks_zone() {
    browser_test_in("one_zone", "America/New_York", async |h: &Harness| {
        h.post_report(&sample()).await;
        // The venue is in Berlin; the browser in New York.
        h.put_json("/api/v1/networks/179283", &json!({"time_zone": "Europe/Berlin"})).await;
        let in_zone = |unix: i64, tz: &str| {
            format!("return new Intl.DateTimeFormat(undefined, {{timeZone: '{tz}', dateStyle: 'short', timeStyle: 'medium'}}).format(new Date({unix} * 1000))")
        };
        h.open("/probe-requests").await;
        h.wait_for_rows(5).await;
        let status = h.wait_for_text("[data-testid=status]").await;
        assert!(status.contains("times in Europe/Berlin"), "{status}");
        let id = h.row_ids().await[0];
        let row = h.get_json(&format!("/api/v1/probe-requests/{id}")).await;
        let last_seen = row["last_seen"].as_i64().unwrap();
        let shown = h.texts("[data-testid=last-seen-local]").await[0].clone();
        assert_eq!(json!(shown), h.js(&in_zone(last_seen, "Europe/Berlin")).await);
        assert_ne!(json!(shown), h.js(&in_zone(last_seen, "America/New_York")).await);
        // Dates are entered in the same zone: 12:00 in Berlin is 11:00 UTC in January.
        assert!(h.wait_for_text("[data-testid=since-label]").await.ends_with("(Europe/Berlin)"));
        h.set_value("#f-since", "2026-01-15T12:00:00").await;
        h.click("button[type=submit]").await;
        h.eventually("the since filter", || async {
            h.location().await.contains("since=1768474800").then_some(())
        })
        .await;
        // (Chrome shows whole minutes without their seconds.)
        let since = h.js("return document.querySelector('#f-since').value").await;
        assert!(since.as_str().is_some_and(|v| v.starts_with("2026-01-15T12:00")), "{since}");
        // The device page too.
        h.open("/device/179283/48:5a:3f:37:de:f7").await;
        let said = h.wait_for_text("[data-testid=device-tz]").await;
        assert_eq!(said, "Days and times in Europe/Berlin, the network's time zone");
    })
    .await;
}

#[actix_web::test]
async fn at_phone_width_no_page_scrolls_sideways() {
    browser_test("phone_width", async |h: &Harness| {
        h.post_report(&sample()).await;
        h.browser.set_window_size(360, 800).await.unwrap();
        let width = h.js("return window.innerWidth").await.as_i64().unwrap();
        assert!(width <= 400, "the viewport is {width} px");
        for (path, ready) in [
            ("/", "[data-testid=today-visitors]"),
            ("/probe-requests", "[data-testid=probe-table]"),
            ("/overview?range=hour", "[data-testid=occupancy-now]"),
            ("/device/179283/48:5a:3f:37:de:f7", "[data-testid=visits-range]"),
            ("/settings", "[data-testid=network-settings-179283]"),
        ] {
            h.open(path).await;
            h.wait_for_text(ready).await;
            if path == "/settings" {
                // With the week's hours open, the widest form.
                h.click("#network-179283-has-hours").await;
                h.wait_for_text("#network-179283-sun").await;
            }
            // Let the figures arrive too.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let overflow = h
                .js("const w = document.documentElement.clientWidth; return Array.from(document.querySelectorAll('body *')).filter(e => { const r = e.getBoundingClientRect(); return r.right > w + 1 && !e.closest('.table-wrap'); }).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")
                .await;
            let scroll = h.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth").await;
            assert_eq!(scroll, json!(0), "{path} scrolls sideways; wider than the page: {overflow}");
        }
    })
    .await;
}

#[actix_web::test]
async fn a_hidden_tab_asks_nothing_and_catches_up_when_shown() {
    browser_test("hidden_tab", async |h: &Harness| {
        h.post_report(&sample()).await;
        h.open("/probe-requests").await;
        h.wait_for_rows(5).await;
        let asked = || async {
            h.js("return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/probe-requests')).length")
                .await
                .as_i64()
                .unwrap()
        };
        let set_hidden = |hidden: bool| {
            format!("Object.defineProperty(document, 'hidden', {{value: {hidden}, configurable: true}}); document.dispatchEvent(new Event('visibilitychange'))")
        };
        h.js(&set_hidden(true)).await;
        let before = asked().await;
        // Past the 30 s refresh: nothing asked while hidden.
        tokio::time::sleep(std::time::Duration::from_secs(32)).await;
        assert_eq!(asked().await, before, "a hidden tab refreshed");
        // Shown again: the missed refresh at once, not 30 s later.
        h.js(&set_hidden(false)).await;
        h.eventually("the refresh made up", || async { (asked().await > before).then_some(()) })
            .await;
    })
    .await;
}

#[actix_web::test]
async fn a_device_heard_last_month_shows_its_visits_and_pages_through_all_its_rows() {
    browser_test("device_pages", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mac = "00:11:22:33:44:77";
        // 130 observations a minute apart, forty days ago: one long visit; and one
        // observation of 30 s ten days after it: a short one (the 7 days up to it hold
        // only that one).
        let start = now - 40 * 86_400;
        let mut probes: Vec<Value> = (0..130).map(|i| probe(mac, start + i * 60, start + i * 60 + 30, false)).collect();
        probes.push(probe(mac, start + 10 * 86_400, start + 10 * 86_400 + 30, false));
        for chunk in probes.chunks(50) {
            h.post_report(&report(51, "ac:86:74:00:00:51", chunk.to_vec())).await;
        }
        h.open(&format!("/device/51/{mac}")).await;
        let range = h.wait_for_text("[data-testid=visits-range]").await;
        assert!(range.contains("up to its last probe request") && range.ends_with("(1)"), "{range}");
        h.eventually("its visit", || async {
            (h.js("return document.querySelectorAll('[data-testid=visits] tbody tr').length").await == json!(1)).then_some(())
        })
        .await;
        let first = h.wait_for_rows(100).await;
        // Older, clicked at the page's bottom, shows its page from the table's top.
        let rows_top = "return document.querySelector('[data-testid=device-rows]').getBoundingClientRect().top";
        h.js("window.scrollTo(0, document.body.scrollHeight); return true").await;
        let before = h.js(rows_top).await.as_f64().unwrap();
        assert!(before < -500.0, "scrolled down: {before}");
        h.js("document.querySelector('[data-testid=device-older]').click(); return true").await;
        let second = h.wait_for_rows(31).await;
        assert!(second.iter().all(|id| !first.contains(id)), "no row twice");
        assert!(h.wait_for_text("[data-testid=device-pager]").await.contains("Page 2"));
        // At the top of the window, or below it when the short last page cannot
        // scroll that far: in view either way.
        let height = h.js("return window.innerHeight").await.as_f64().unwrap();
        h.eventually("the table's top in view", || async {
            let top = h.js(rows_top).await.as_f64().unwrap();
            (top > -2.0 && top < height).then_some(top)
        })
        .await;
        h.click("[data-testid=device-pager] button:first-child").await;
        assert_eq!(h.wait_for_rows(100).await, first);
        // 31 days up to its last row hold both visits.
        h.click("[data-testid=days-31]").await;
        h.eventually("the 31-day range", || async {
            let range = h.js("const e = document.querySelector('[data-testid=visits-range]'); return e && e.textContent").await;
            range.as_str().filter(|r| r.contains("31 days") && r.ends_with("(2)")).map(str::to_string)
        })
        .await;
        // On a phone, the 30 s visit is still a mark one can see and tap: its fill is
        // about 1 px at this scale, its outline (drawn in screen pixels) makes it 4.
        // Hit-tested 1.4 px either side of its middle, it is there.
        h.browser.set_window_size(390, 844).await.unwrap();
        let hits = h
            .eventually("the phone's timeline", || async {
                let hits = h
                    .js("const svg = document.querySelector('.timeline svg'); \
                         if (!svg || svg.getBoundingClientRect().width >= 390) return null; \
                         const rects = Array.from(svg.querySelectorAll('rect.s-visitors, rect.s-passers')); \
                         if (rects.length !== 2) return null; \
                         const short = rects.reduce((a, b) => a.getBoundingClientRect().width < b.getBoundingClientRect().width ? a : b); \
                         short.scrollIntoView({block: 'center'}); \
                         const r = short.getBoundingClientRect(); \
                         const [x, y] = [r.left + r.width / 2, r.top + r.height / 2]; \
                         return [r.width, ...[-1.4, 1.4].map(dx => document.elementFromPoint(x + dx, y) === short)];")
                    .await;
                hits.as_array().cloned()
            })
            .await;
        assert!(hits[0].as_f64().unwrap() < 2.0, "the fill alone is a sliver here: {hits:?}");
        assert_eq!(hits[1..], [json!(true), json!(true)], "the short visit is wider than its fill: {hits:?}");
        assert_eq!(h.js("return document.title").await, json!(format!("Device {mac} · NCompass")));
    })
    .await;
}

#[actix_web::test]
async fn operators_see_names_zones_occupancy_now_and_silent_access_points() {
    browser_test("operators_view", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let entrance = "ac:86:74:00:00:41";
        let cafe = "ac:86:74:00:00:42";
        h.post_report(&report(41, entrance, vec![
            probe(&client_mac(1), now - 60, now - 20, true),
            probe(&client_mac(2), now - 50, now - 10, false),
        ])).await;
        h.post_report(&report(41, cafe, vec![probe("02:11:22:33:44:03", now - 40, now - 30, false)])).await;
        h.put_json(&format!("/api/v1/nodes/{entrance}"), &json!({"name": "Entrance", "zone": "Ground"})).await;
        h.put_json(&format!("/api/v1/nodes/{cafe}"), &json!({"name": "Café", "zone": "Upstairs"})).await;
        h.put_json("/api/v1/networks/41", &json!({"name": "Main street"})).await;

        // Names beside the MACs; a zone badge filters by zone, in the URL.
        h.open("/probe-requests").await;
        h.wait_for_rows(3).await;
        let mut names = h.texts("[data-testid=node-name]").await;
        names.sort();
        assert_eq!(names, ["Café", "Entrance", "Entrance"]);
        assert_eq!(h.texts("[data-testid=node-mac]").await.len(), 3, "the MACs stay visible");
        h.click("a[data-testid=zone]").await;
        h.eventually("the zone filter", || async {
            h.location().await.contains("zone=").then_some(())
        })
        .await;
        let zone = query_pairs(&h.location().await).into_iter().find(|(k, _)| k == "zone").unwrap().1;
        let expected = if zone == "Ground" { 2 } else { 1 };
        h.wait_for_rows(expected).await;
        assert_eq!(h.js("return document.querySelector('#f-zone').value").await, json!(zone));

        // Occupancy now, first on the Overview: three devices in the last 5 minutes.
        h.open("/overview?range=hour").await;
        let devices = h.wait_for_text("[data-testid=now-devices]").await;
        assert_eq!(devices, "3");
        let zones = h.wait_for_text("[data-testid=now-zones]").await;
        assert!(zones.contains("Ground: 2") && zones.contains("Upstairs: 1"), "{zones}");
        // Narrowed to one zone from its menu.
        h.js("const s = document.querySelector('[data-testid=overview-zone]'); s.value = 'Upstairs'; s.dispatchEvent(new Event('change', {bubbles: true}))").await;
        h.eventually("occupancy of the zone", || async {
            (h.js("const e = document.querySelector('[data-testid=now-devices]'); return e && e.textContent").await == json!("1")
                && h.location().await.contains("zone=Upstairs")).then_some(())
        })
        .await;
        // Or to one access point; the tab's title says which page this is.
        h.js("const s = document.querySelector('[data-testid=overview-zone]'); s.value = ''; s.dispatchEvent(new Event('change', {bubbles: true}))").await;
        h.eventually("all zones again", || async {
            (!h.location().await.contains("zone=")).then_some(())
        })
        .await;
        h.js(&format!("const s = document.querySelector('[data-testid=overview-node]'); s.value = '{entrance}'; s.dispatchEvent(new Event('change', {{bubbles: true}}))")).await;
        h.eventually("occupancy of the access point", || async {
            (h.js("const e = document.querySelector('[data-testid=now-devices]'); return e && e.textContent").await == json!("2")
                && h.location().await.contains("node_mac=")).then_some(())
        })
        .await;
        assert_eq!(h.js("return document.title").await, json!("Overview · NCompass"));

        // While every access point reports, the header names none.
        assert_eq!(h.js("return document.querySelectorAll('[data-testid=silent-nodes]').length").await, json!(0));
        // The café falls silent: the header names it, on every page.
        h.sql(&format!("UPDATE nodes SET last_report_at = last_report_at - 3600 WHERE node_mac = '{cafe}'"));
        for page in ["/overview", &format!("/device/41/{}", client_mac(1)), "/probe-requests"] {
            h.open(page).await;
            let silent = h.wait_for_text("header [data-testid=silent-nodes]").await;
            assert!(silent.contains("1 silent") && silent.contains("Café"), "{page}: {silent}");
            assert!(!silent.contains("Entrance"), "{page}: {silent}");
        }

        // The header marks the current section; moving to another puts the focus on its
        // heading; the current range is marked too; each chart's numbers are in a table.
        assert_eq!(
            h.js("return document.querySelector('nav.links a[aria-current=page]').textContent").await,
            json!("Probe requests")
        );
        h.click("nav.links a[href='/overview']").await;
        h.eventually("the focus on the Overview's heading", || async {
            (h.js("const e = document.activeElement; return e && e.tagName === 'H2' && e.textContent").await
                == json!("Presence overview"))
            .then_some(())
        })
        .await;
        assert_eq!(
            h.js("return document.querySelector('nav.links a[aria-current=page]').textContent").await,
            json!("Overview")
        );
        assert_eq!(
            h.js("return document.querySelector('nav.ranges a[aria-current=page]').textContent").await,
            json!("Today")
        );
        h.wait_for_text("[data-testid=overview-status]").await;
        assert_eq!(h.js("return document.querySelectorAll('[data-testid=chart-table]').length").await, json!(3));
        let bars = h.js("return document.querySelector('.chart').querySelectorAll('svg .bar').length").await;
        assert_eq!(
            h.js("return document.querySelector('[data-testid=chart-table]').querySelectorAll('tbody tr').length").await,
            bars
        );
    })
    .await;
}

#[actix_web::test]
async fn a_meraki_row_shows_its_vendor_and_description_and_the_overview_warns() {
    browser_test("meraki_rows", async |h: &Harness| {
        let added = h
            .http
            .post(h.url("/api/v1/sources"))
            .json(
                &json!({"name": "lobby", "vendor": "meraki", "validator": "v4lidator",
                          "secret": "s3cret-meraki"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 201);
        let stored = h
            .http
            .post(h.url("/meraki/lobby"))
            .body(ncompass::meraki::samples::V3)
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status(), 200);
        let meraki_rows = stored.json::<Value>().await.unwrap()["stored"]
            .as_u64()
            .unwrap() as usize;
        h.post_report(&sample()).await;

        h.open("/probe-requests").await;
        h.wait_for_rows(meraki_rows + 5).await;
        let vendors = h.texts("[data-testid=source-vendor]").await;
        assert_eq!(
            vendors.iter().filter(|v| *v == "Meraki").count(),
            meraki_rows,
            "{vendors:?}"
        );
        assert_eq!(
            vendors.iter().filter(|v| *v == "CloudTrax").count(),
            5,
            "{vendors:?}"
        );
        let descriptions = h.texts("[data-testid=device-description]").await;
        assert!(
            descriptions
                .iter()
                .any(|d| d == "Seiko Epson · Android · Guest Wi-Fi"),
            "{descriptions:?}"
        );
        // The access point list says who reports.
        let node_vendors = h.texts("[data-testid=node-vendor]").await;
        assert!(
            node_vendors.contains(&"Meraki".to_string())
                && node_vendors.contains(&"CloudTrax".to_string())
        );

        // Filtered by source, in the URL.
        h.set_value("#f-source", "meraki").await;
        h.click("button[type=submit]").await;
        h.eventually("the source filter", || async {
            h.location()
                .await
                .contains("source_vendor=meraki")
                .then_some(())
        })
        .await;
        h.wait_for_rows(meraki_rows).await;
        let vendors = h.texts("[data-testid=source-vendor]").await;
        assert!(vendors.iter().all(|v| v == "Meraki"), "{vendors:?}");

        // The device page says what the vendor told about it.
        let network_id = ncompass::meraki::network_number("L_643802754597887745");
        h.open(&format!("/device/{network_id}/00:26:ab:b8:a9:a5"))
            .await;
        let about = h.wait_for_text("[data-testid=device-about]").await;
        assert_eq!(
            about,
            "Reported by Meraki access points: Seiko Epson · Android · Guest Wi-Fi. \
             MAC assigned to Seiko Epson Corporation (IEEE registry)"
        );

        // The Overview warns that this network's feed leaves randomized MACs out.
        h.open("/overview").await;
        let note = h.wait_for_text("[data-testid=vendor-note]").await;
        assert!(note.contains("L_643802754597887745 (Meraki)"), "{note}");
        assert!(note.contains("randomized"), "{note}");
    })
    .await;
}

#[actix_web::test]
async fn people_sign_in_see_what_their_role_allows_and_sign_out() {
    browser_test("sign_in", async |h: &Harness| {
        h.add_user("vic", api_types::Role::Viewer, "viewer password")
            .await;
        h.add_user("ada", api_types::Role::Admin, "admin password")
            .await;
        h.open("/probe-requests").await;
        h.element("[data-testid=sign-in]").await;

        // A wrong password: a clear error, and no hint whether the name exists.
        h.sign_in("vic", "not the password").await;
        let error = h.wait_for_text("[data-testid=sign-in-error]").await;
        assert_eq!(error, "The username or the password is wrong.");
        h.sign_in("nobody", "not the password").await;
        h.eventually("the same error for an unknown name", || async {
            let texts = h.texts("[data-testid=sign-in-error]").await;
            (texts == [error.clone()]).then_some(())
        })
        .await;

        // The viewer: the page loads, with no way to add data.
        h.sign_in("vic", "viewer password").await;
        let empty = h.wait_for_text("[data-testid=empty]").await;
        assert!(empty.contains("An admin can"), "{empty}");
        assert!(
            h.texts("[data-testid=add-sample]").await.is_empty(),
            "a viewer is offered no sample"
        );
        assert_eq!(h.wait_for_text("[data-testid=user]").await, "vic (viewer)");

        // Signing out returns to the sign-in page, and the session is gone.
        h.click("[data-testid=sign-out]").await;
        h.element("[data-testid=sign-in]").await;
        let response = h
            .http
            .get(h.url("/api/v1/probe-requests"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);

        // The admin adds the sample (a cookie-authenticated POST from the dashboard's own
        // origin passes the cross-site check).
        h.sign_in("ada", "admin password").await;
        h.click("[data-testid=add-sample]").await;
        h.wait_for_rows(5).await;
        assert_eq!(h.wait_for_text("[data-testid=user]").await, "ada (admin)");

        // A session that ends (here: deleted on the server) returns to sign-in, then back
        // to the page the person was on.
        h.open("/?mac=48:5a:3f:37:de:f7").await;
        h.wait_for_rows(1).await;
        h.sql("DELETE FROM sessions");
        h.click("[data-testid=refresh]").await;
        let notice = h.wait_for_text("[data-testid=session-ended]").await;
        assert!(notice.contains("session has ended"), "{notice}");
        assert_eq!(h.location().await, "/?mac=48:5a:3f:37:de:f7");
        h.sign_in("ada", "admin password").await;
        h.wait_for_rows(1).await;
        assert_eq!(h.location().await, "/?mac=48:5a:3f:37:de:f7");
    })
    .await;
}

/// `/api/docs` is Swagger UI served by this server: every operation listed, an
/// "Authorize" for API tokens, "Try it out" answered by this server, and no file
/// fetched from anywhere else.
#[actix_web::test]
async fn the_api_reference_lists_every_operation_and_tries_them_here() {
    browser_test("api_reference", async |h: &Harness| {
        let spec: Value = reqwest::get(h.url("/api/v1/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let operations: usize = spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        h.open("/api/docs").await;
        let shown = h
            .eventually("every operation listed", || async {
                let shown = h.texts(".opblock").await.len();
                (shown == operations).then_some(shown)
            })
            .await;
        assert_eq!(shown, operations);
        h.element(".auth-wrapper .authorize").await;

        // Try GET /api/v1/health from the page.
        h.click("#operations-service-health .opblock-summary-control")
            .await;
        h.click("#operations-service-health .try-out__btn").await;
        h.click("#operations-service-health .execute").await;
        let status = h
            .eventually("the answer shown", || async {
                let statuses = h
                    .texts("#operations-service-health .live-responses-table .response-col_status")
                    .await;
                // The table's header reads "Code"; the answer's row, its status.
                statuses
                    .iter()
                    .map(|status| status.trim().to_string())
                    .find(|status| status.parse::<u16>().is_ok())
            })
            .await;
        assert_eq!(status, "200");

        let origin = h.url("");
        let elsewhere = h
            .js(&format!(
                "return performance.getEntriesByType('resource').map(e => e.name)\
                 .filter(n => !n.startsWith({}) && !n.startsWith('data:'))",
                serde_json::json!(origin)
            ))
            .await;
        assert_eq!(elsewhere, serde_json::json!([]), "fetched from elsewhere");
    })
    .await;
}

#[actix_web::test]
async fn opening_hours_are_set_in_settings_and_figures_count_within_them() {
    browser_test("opening_hours", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let visitor = |n: u32, from: i64, to: i64| {
            let mut visit = probe(&client_mac(n), from, to, false);
            visit["max_signal"] = json!(-50);
            visit
        };
        // A shopper now, and someone at night five hours ago (outside the hours set below).
        h.post_report(&report(91, "ac:86:74:00:00:91", vec![
            visitor(1, now - 400, now - 60),
            visitor(2, now - 5 * 3_600, now - 5 * 3_600 + 400),
        ]))
        .await;
        // The access point has reported all day (the charts draw no data before its
        // first report).
        h.sql(&format!("UPDATE nodes SET first_report_at = {}", now - 7 * 3_600));
        // Open from two hours ago to an hour from now, every day (UTC, the network's zone;
        // past midnight where it has to).
        let clock = |at: i64| format!("{:02}:{:02}", at.rem_euclid(86_400) / 3_600, at.rem_euclid(3_600) / 60);
        let hours = format!("{}-{}", clock(now - 2 * 3_600), clock(now + 3_600));

        h.open("/settings").await;
        let form = "[data-testid=network-settings-91]";
        h.wait_for_text(form).await;
        assert_eq!(h.wait_for_text(&format!("{form} [data-testid=no-hours]")).await, "No opening hours: every hour counts.");
        h.type_into("#network-91-name", "Corner shop").await;
        h.click("#network-91-has-hours").await;
        // A bad interval: refused, naming the day, and nothing stored.
        h.type_into("#network-91-mon", "9-17").await;
        h.click(&format!("{form} button[type=submit]")).await;
        let error = h.wait_for_text("[data-testid=save-error]").await;
        assert!(error.contains("opening_hours.mon") && error.contains("\"9-17\""), "{error}");
        assert_eq!(h.get_json("/api/v1/networks").await["items"][0]["opening_hours"], Value::Null);
        for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
            h.type_into(&format!("#network-91-{day}"), &hours).await;
        }
        h.click(&format!("{form} button[type=submit]")).await;
        assert_eq!(h.wait_for_text("[data-testid=saved]").await, "Saved");
        let network = h.get_json("/api/v1/networks").await["items"][0].clone();
        assert_eq!(network["name"], "Corner shop");
        assert_eq!(network["opening_hours"]["sat"], json!([hours]));
        // As stored, after a reload.
        h.open("/settings").await;
        h.wait_for_text(form).await;
        let monday = h.js("return document.querySelector('#network-91-mon').value").await;
        assert_eq!(monday, json!(hours));

        // The Overview of the last six hours counts the shopper, not the night visit,
        // says so, and draws the closed quarter hours as closed, not as zeros.
        let visitors = "const c = Array.from(document.querySelectorAll('[data-testid=summary] .card')).find(c => c.querySelector('.label').textContent == 'visitors'); return c && c.querySelector('.value').textContent";
        let range = format!("since={}&until={now}", now - 6 * 3_600);
        h.open(&format!("/overview?{range}&network_id=91")).await;
        let line = h.wait_for_text("[data-testid=hours-line]").await;
        assert!(line.starts_with("Counted within opening hours"), "{line}");
        h.eventually("the visitors within opening hours", || async {
            (h.js(visitors).await == json!("1")).then_some(())
        })
        .await;
        let closed = h.js("return document.querySelector('.chart').querySelectorAll('rect.closed').length").await;
        assert!(closed.as_i64().unwrap() >= 14, "{closed}");
        let legend = h.texts(".chart .legend li").await;
        assert!(legend.iter().any(|l| l == "Closed"), "{legend:?}");
        // Every hour, one click away: the night visit counts too, and the range stays.
        h.click("[data-testid=hours-line] a").await;
        h.eventually("the visitors of every hour", || async {
            (h.js(visitors).await == json!("2")).then_some(())
        })
        .await;
        let location = h.location().await;
        assert!(location.contains("hours=all") && location.contains(&format!("since={}", now - 6 * 3_600)), "{location}");
        assert!(h.wait_for_text("[data-testid=hours-line]").await.starts_with("Counting every hour"));
        assert_eq!(h.js("return document.querySelector('.chart').querySelectorAll('rect.closed').length").await, json!(0));

        // Today says it counts within opening hours.
        h.open("/").await;
        h.wait_for_text("[data-testid=today-visitors]").await;
        let said = h.wait_for_text("[data-testid=today-hours]").await;
        assert!(said.starts_with("Counted within opening hours"), "{said}");
    })
    .await;
}

#[actix_web::test]
async fn the_overview_says_how_complete_its_figures_are_and_marks_partial_bars_and_zones() {
    browser_test("completeness", async |h: &Harness| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let hour = 3_600;
        let base = now - now.rem_euclid(hour) - 4 * hour;
        let (a, b) = ("ac:86:74:00:00:0a", "ac:86:74:00:00:0b");
        // Someone heard by each access point in each hour.
        for node in [a, b] {
            let probes = (0..3).map(|k| {
                let mut visit = probe(&client_mac(k), base + k as i64 * hour + 600, base + k as i64 * hour + 1_200, false);
                visit["max_signal"] = json!(-50);
                visit
            }).collect();
            h.post_report(&report(5, node, probes)).await;
        }
        h.put_json(&format!("/api/v1/nodes/{a}"), &json!({"name": "Door", "zone": "Front"})).await;
        h.put_json(&format!("/api/v1/nodes/{b}"), &json!({"name": "Till", "zone": "Back"})).await;
        // Their history: the door every 30 s for three hours, the till every 60 s but
        // silent in the second hour.
        let rows = |node: &str, from: i64, to: i64, every: usize| {
            (from..to).step_by(every).map(|at| format!("(5, '{node}', 1, {at}, 1, 1, 0)")).collect::<Vec<_>>()
        };
        let mut history = rows(a, base, base + 3 * hour, 30);
        history.extend(rows(b, base, base + hour, 60));
        history.extend(rows(b, base + 2 * hour, base + 3 * hour, 60));
        h.sql(&format!(
            "INSERT INTO reports (network_id, node_mac, version, received_at, probe_request_count, stored_count, duplicate_count) VALUES {}",
            history.join(", ")
        ));
        h.sql(&format!("UPDATE nodes SET first_report_at = {base}"));

        h.open(&format!("/overview?since={base}&until={}", base + 3 * hour - 1)).await;
        let said = h.wait_for_text("[data-testid=completeness]").await;
        assert!(said.starts_with("88% of expected reports (480 of 540)"), "{said}");
        // Three hours in 5-minute bars: the second hour's twelve miss the till's reports.
        let partial = h.js("return Array.from(document.querySelector('.chart').querySelectorAll('.bar')).map(b => b.classList.contains('partial'))").await;
        let partial: Vec<bool> = serde_json::from_value(partial).unwrap();
        assert_eq!(partial.len(), 36);
        assert!(partial.iter().enumerate().all(|(i, p)| *p == (12..24).contains(&i)), "{partial:?}");
        h.js("document.querySelector('.chart').querySelectorAll('.bar')[14].dispatchEvent(new MouseEvent('click', {bubbles: true})); return true").await;
        let values = h.wait_for_text("[data-testid=chart-values]").await;
        assert!(values.ends_with("(partial: 66% of expected reports)"), "{values}");
        // The zone of the till is partial over the range; the door's is whole.
        let ranking = h.wait_for_text("[data-testid=zone-ranking]").await;
        assert!(ranking.contains("partial: 66% of expected reports"), "{ranking}");
        assert_eq!(h.texts("[data-testid=zone-ranking] [data-testid=partial]").await.len(), 1);
        // The second hour alone names the silent access point.
        h.open(&format!("/overview?since={}&until={}", base + hour, base + 2 * hour - 1)).await;
        let said = h.wait_for_text("[data-testid=completeness]").await;
        assert!(said.contains("Silent in this range: Till."), "{said}");
    })
    .await;
}

#[actix_web::test]
async fn the_table_and_the_device_page_name_a_macs_vendor() {
    browser_test("mac_vendor", async |h: &Harness| {
        h.post_report(&sample()).await;
        // Debian's copy of the IEEE registry (installed by make): 48:5a:3f is WISOL's.
        h.open("/probe-requests?mac=48:5a:3f:37:de:f7").await;
        h.wait_for_rows(1).await;
        let vendors = h.texts("[data-testid=mac-vendor]").await;
        assert!(
            !vendors.is_empty() && vendors.iter().all(|v| v == "WISOL"),
            "{vendors:?}"
        );
        h.open("/device/179283/48:5a:3f:37:de:f7").await;
        let about = h.wait_for_text("[data-testid=device-about]").await;
        assert!(
            about.contains("MAC assigned to WISOL (IEEE registry)"),
            "{about}"
        );
    })
    .await;
}
