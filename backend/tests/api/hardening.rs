//! Hostile input and operational faults: times a broken clock sends, a row such a
//! clock left in the database, another process holding the write lock, clients that
//! trickle their bodies, and HEAD. Each answer is checked, and what was stored.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn each_time_rule_is_a_422_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let now = ncompass::unix_now();
    let ok = probe("00:11:22:00:00:01", now - 60, now - 30, true);
    let cases = [
        // An access point whose clock restarted at 1970: 56 years in one probe.
        (
            probe("00:11:22:00:00:02", 1_000, now, false),
            "at most 3600 s after first_seen",
        ),
        // The hostile post that used to take the server down.
        (
            probe("00:11:22:00:00:02", 0, 9_000_000_000_000_000_000, false),
            "clock is ahead",
        ),
        // A span one second over the default hour.
        (
            probe("00:11:22:00:00:02", now - 3_601, now, false),
            "at most 3600 s",
        ),
        // A clock more than a day ahead of the server's.
        (
            probe("00:11:22:00:00:02", now + 90_000, now + 90_010, false),
            "clock is ahead",
        ),
    ];
    for (n, (bad, says)) in cases.into_iter().enumerate() {
        let body = report(179283, "ac:86:74:61:4f:c0", vec![ok.clone(), bad]);
        let response = app.post_report("/receive", body.to_string(), None).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["field"], "probe_requests[1].last_seen");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
        assert_eq!(app.stored(), (0, 0), "nothing of the report is stored");
        let rejection = newest_rejection(&app, n + 1).await;
        assert_eq!(rejection["reason"], "invalid_report");
        assert_eq!(rejection["field"], "probe_requests[1].last_seen");
        assert!(rejection["detail"].as_str().unwrap().contains(says));
    }
    // Within the rules: an hour exactly, a clock a little ahead, and old data.
    let fine = report(
        179283,
        "ac:86:74:61:4f:c0",
        vec![
            ok,
            probe("00:11:22:00:00:03", now - 3_600, now, false),
            probe("00:11:22:00:00:04", now + 3_000, now + 3_600, false),
            probe("00:11:22:00:00:05", 1_455_845_791, 1_455_845_811, false),
        ],
    );
    let stored = app.ingest(&fine).await;
    assert_eq!(stored["stored"], 4);
}

#[actix_web::test]
async fn max_span_is_the_operators() {
    let app = spawn_app_with(Settings {
        max_span: Duration::from_secs(6 * 3_600),
        ..settings()
    })
    .await;
    let now = ncompass::unix_now();
    let long = report(
        1,
        "ac:86:74:61:4f:c0",
        vec![probe("00:11:22:00:00:01", now - 5 * 3_600, now, false)],
    );
    app.ingest(&long).await;
    let longer = report(
        1,
        "ac:86:74:61:4f:c0",
        vec![probe("00:11:22:00:00:01", now - 7 * 3_600, now, false)],
    );
    let response = app.post_report("/receive", longer.to_string(), None).await;
    let problem = assert_problem(response, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("21600 s"));
}

#[actix_web::test]
async fn a_database_holding_a_huge_span_row_starts_merges_and_serves() {
    // A database written by an earlier build, which accepted any span: a probe from
    // 1970 to the year 285 billion, and the 1970-clock one.
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(&dir);
    ncompass::db::migrate(&database).unwrap();
    let now = ncompass::unix_now();
    let mut conn = ncompass::db::connect(&database).unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO reports (network_id, node_mac, version, received_at, \
           probe_request_count, stored_count, duplicate_count) \
         VALUES (7, 'ac:86:74:61:4f:c0', 1, {now}, 2, 2, 0);
         INSERT INTO probe_requests (report_id, network_id, node_mac, mac, count, min_signal, \
           max_signal, avg_signal, first_seen, last_seen, associated, randomized) \
         VALUES ((SELECT max(id) FROM reports), 7, 'ac:86:74:61:4f:c0', '00:11:22:00:00:01', \
                 1, -70, -50, -60, 0, 9000000000000000000, false, false),
                ((SELECT max(id) FROM reports), 7, 'ac:86:74:61:4f:c0', '00:11:22:00:00:02', \
                 1, -70, -50, -60, 1000, {now}, true, false);"
    ))
    .unwrap();
    drop(conn);

    let app = spawn_app_in(
        dir,
        Settings {
            database,
            ..settings()
        },
    )
    .await;
    assert_eq!(app.get("/api/v1/health").await.status(), 200);
    // The idle writer merges both rows into the segments (a few pieces each, not one
    // per day since 1970) and the server keeps serving.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        if metrics
            .lines()
            .any(|l| l == "ncompass_presence_backlog_probe_requests 0")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the rows were not merged");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let segments = app.count("presence_segments");
    assert!(segments <= 18, "{segments} segments for two rows");

    let summary = app
        .get_json(&format!(
            "/api/v1/stats/summary?since={}&until={now}&network_id=7",
            now - 86_400
        ))
        .await;
    // The 1970-clock device counts for its last days only.
    assert_eq!(summary["devices"], 1);
    let visits = app
        .get_json("/api/v1/devices/7/00:11:22:00:00:01/visits")
        .await;
    assert_eq!(visits["visits"], json!([]));
    for path in [
        "/api/v1/stats/series?bucket=day&network_id=7",
        "/api/v1/stats/dwell-histogram?network_id=7",
        "/api/v1/stats/nodes",
        "/api/v1/probe-requests",
        "/api/v1/probe-requests/export?format=ndjson",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    // Far-future ranges are answered, not computed over for ages.
    let far = app
        .get("/api/v1/stats/summary?since=8999999999999000000&until=8999999999999086400")
        .await;
    assert!(
        far.status() == 200 || far.status() == 400,
        "{}",
        far.status()
    );
    // And reports are stored as before.
    app.ingest(&report(
        7,
        "ac:86:74:61:4f:c0",
        vec![probe("00:11:22:00:00:03", now - 60, now, false)],
    ))
    .await;
    assert_eq!(app.count("probe_requests"), 3);
}

#[actix_web::test]
async fn a_write_lock_held_elsewhere_delays_no_request_past_the_busy_timeout() {
    let app = spawn_app().await;
    let now = ncompass::unix_now();
    app.ingest(&report(
        1,
        "ac:00:00:00:00:01",
        vec![probe("00:11:22:00:00:01", now - 60, now, false)],
    ))
    .await;

    // An operator's sqlite3 (or a backup, or a second instance) takes the write lock
    // and keeps it for 7 s, longer than the 5 s busy timeout.
    let path = app.database.clone();
    let (locked, is_locked) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut conn = ncompass::db::connect(&path).unwrap();
        // The write lock: SQLite's database-wide one, or on PostgreSQL a lock on the
        // reports table that every insert of a report needs.
        conn.batch_execute(match &conn {
            ncompass::db::Conn::Sqlite(_) => "BEGIN IMMEDIATE",
            ncompass::db::Conn::Postgres(_) => "BEGIN; LOCK TABLE reports IN EXCLUSIVE MODE",
        })
        .unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(7));
        conn.batch_execute("COMMIT").unwrap();
        Instant::now()
    });
    is_locked.recv().unwrap();
    let locked_at = Instant::now();

    // Two posters keep sending while the lock is held.
    let poster = |node: u32| {
        let app = &app;
        async move {
            let mut answers = Vec::new();
            let mut sequence = 0;
            while locked_at.elapsed() < Duration::from_secs(8) {
                sequence += 1;
                let mac = format!("00:22:{:02x}:00:00:{sequence:02x}", node);
                let body = report(
                    1,
                    &format!("ac:00:00:00:00:{node:02x}"),
                    vec![probe(&mac, now - 60, now, false)],
                );
                let started = Instant::now();
                let response = app.post_report("/receive", body.to_string(), None).await;
                let took = started.elapsed();
                let status = response.status().as_u16();
                if status == 503 {
                    assert!(response.headers().contains_key("retry-after"));
                }
                answers.push((mac, status, took));
                actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            }
            answers
        }
    };
    let (first, second) = futures_util::future::join(poster(2), poster(3)).await;
    let released_at = holder.join().unwrap();
    let answers: Vec<_> = first.into_iter().chain(second).collect();
    for (mac, status, took) in &answers {
        assert!(*status == 200 || *status == 503, "{mac}: answered {status}");
        assert!(
            *took < Duration::from_millis(6_500),
            "{mac}: took {took:?}, longer than the busy timeout plus a margin"
        );
    }
    assert!(
        answers.iter().any(|(_, status, _)| *status == 503),
        "a lock held past the busy timeout refuses reports"
    );
    // Storing resumes right after the release, with no restart.
    let started = Instant::now();
    app.ingest(&report(
        1,
        "ac:00:00:00:00:09",
        vec![probe("00:11:22:00:00:09", now - 60, now, false)],
    ))
    .await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(released_at.elapsed() < Duration::from_secs(3));
    // What was answered 200 is stored, what was answered 503 is not.
    let stored = app.count("probe_requests");
    let ok = answers
        .iter()
        .filter(|(_, status, _)| *status == 200)
        .count();
    assert_eq!(stored, 2 + i64::try_from(ok).unwrap());
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        !metrics.contains("ncompass_store_failures_total{kind=\"busy\"} 0"),
        "{metrics}"
    );
}

/// Sends a request head announcing a 1000-byte body, then one byte a second, until
/// the server answers or closes. Returns the server's answer, or "" if none came.
fn trickle(port: u16, for_at_most: Duration) -> String {
    trickle_to(port, "/receive", for_at_most)
}

/// [`trickle`] to `path`.
pub fn trickle_to(port: u16, path: &str, for_at_most: Duration) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{{"
    )
    .unwrap();
    keep_sending(stream, b" ", for_at_most).0
}

/// Reads what the server answers on `stream`, sending `more` each second it says
/// nothing, until it closes the connection or `for_at_most` has passed. Returns the
/// answer and when the connection was closed (`None`: still open at the end).
fn keep_sending(
    mut stream: TcpStream,
    more: &[u8],
    for_at_most: Duration,
) -> (String, Option<Duration>) {
    stream
        .set_read_timeout(Some(Duration::from_millis(1_000)))
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut closed = None;
    while started.elapsed() < for_at_most {
        match stream.read(&mut buffer) {
            Ok(0) => {
                closed = Some(started.elapsed());
                break;
            }
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if stream.write_all(more).is_err() {
                    closed = Some(started.elapsed());
                    break;
                }
            }
            Err(_) => {
                closed = Some(started.elapsed());
                break;
            }
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

#[actix_web::test]
async fn clients_trickling_bodies_get_408_and_never_delay_others() {
    let app = spawn_app_with(Settings {
        body_timeout: Duration::from_secs(3),
        ..settings()
    })
    .await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let tricklers: Vec<_> = (0..50)
        .map(|_| std::thread::spawn(move || trickle(port, Duration::from_secs(8))))
        .collect();
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    // Meanwhile another access point's reports are stored within a second each.
    let now = ncompass::unix_now();
    for n in 0..10u32 {
        let started = Instant::now();
        let body = report(
            1,
            "ac:00:00:00:00:01",
            vec![probe(&client_mac(n), now - 60, now, false)],
        );
        app.ingest(&body).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "report {n} took {took:?}");
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(app.count("probe_requests"), 10);

    // Each trickler is answered 408 once its body is late, and its connection closed.
    for trickler in tricklers {
        let answer = trickle_result(trickler);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
    let rejection = newest_rejection(&app, 50).await;
    assert_eq!(rejection["reason"], "body_timeout");
    assert_eq!(rejection["status"], 408);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ncompass_reports_rejected_total{reason=\"body_timeout\"} 50"),
        "{metrics}"
    );
}

/// A HEAD request on a raw connection: the response head, and whatever followed it
/// before the server closed the connection.
fn raw_head(app: &TestApp, path: &str) -> (String, Vec<u8>) {
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |at| at + 4);
    let rest = answer.split_off(end);
    (String::from_utf8_lossy(&answer).into_owned(), rest)
}

fn trickle_result(handle: std::thread::JoinHandle<String>) -> String {
    handle.join().unwrap()
}

#[actix_web::test]
async fn head_answers_every_get_route_with_its_headers_and_no_body() {
    let app = spawn_app().await;
    app.ingest(&sample()).await;
    for path in [
        "/api/v1/health",
        "/api/v1/probe-requests",
        "/api/v1/probe-requests/1",
        "/api/v1/nodes",
        "/api/v1/rejections",
        "/api/v1/stats/summary",
        "/api/v1/probe-requests/export?format=csv",
        "/api/v1/openapi.json",
        "/api/docs",
        "/metrics",
    ] {
        let get = app.get(path).await;
        assert_eq!(get.status(), 200, "GET {path}");
        let get_type = get.headers()["content-type"].clone();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.headers()["content-type"], get_type, "HEAD {path}");
        // An HTTP client drops a body sent to a HEAD by itself: read the wire.
        let (head_line, rest) = raw_head(&app, path);
        assert!(
            head_line.starts_with("HTTP/1.1 200"),
            "HEAD {path}: {head_line}"
        );
        assert!(rest.is_empty(), "HEAD {path} sent a body: {rest:?}");
    }
    // A method no route has is still a 405 naming the allowed ones.
    let delete = app
        .client
        .delete(app.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 405);
    assert_eq!(delete.headers()["allow"], "GET, HEAD");
}

/// Sends a chunked request head to `path` and then a chunk a second, never the last
/// one, until the server closes the connection (see [`keep_sending`]).
fn trickle_chunked(port: u16, path: &str, for_at_most: Duration) -> (String, Option<Duration>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n"
    )
    .unwrap();
    keep_sending(stream, b"1\r\n \r\n", for_at_most)
}

/// An unterminated chunked body, to the webhook (which reads it) or to routes that never
/// read a body (a GET-only route, an unknown path), loses its connection within the body
/// timeout plus a second; actix would otherwise drain it for as long as it trickles.
#[actix_web::test]
async fn an_unterminated_chunked_body_loses_its_connection_within_the_body_timeout() {
    let app = spawn_app_with(Settings {
        body_timeout: Duration::from_secs(2),
        ..settings()
    })
    .await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let clients: Vec<_> = [
        "/receive",
        "/api/v1/health",
        "/no/such/path",
        "/api/v1/session",
    ]
    .into_iter()
    .map(|path| {
        std::thread::spawn(move || (path, trickle_chunked(port, path, Duration::from_secs(8))))
    })
    .collect();
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    for client in clients {
        let (path, (answer, closed)) = client.join().unwrap();
        let closed = closed.unwrap_or_else(|| panic!("{path}: still open after 8 s: {answer:?}"));
        assert!(
            closed <= Duration::from_secs(4),
            "{path}: closed after {closed:?}"
        );
        assert!(answer.starts_with("HTTP/1.1 4"), "{path}: {answer:?}");
    }
    assert_eq!(app.get("/api/v1/health").await.status(), 200);
}

/// Past `--max-connections`, a request is answered 503 with Retry-After and its
/// connection closed; once clients let go, requests are served again.
#[actix_web::test]
async fn connections_past_the_limit_are_answered_503_and_the_server_recovers() {
    let app = spawn_app_with(Settings {
        max_connections: 4,
        ..settings()
    })
    .await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    // Idle connections, each having made one request (so the server has taken them).
    let idle = std::thread::spawn(move || {
        (0..4)
            .map(|_| {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                write!(
                    stream,
                    "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                )
                .unwrap();
                let mut buffer = [0u8; 4096];
                let n = stream.read(&mut buffer).unwrap();
                assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
                stream
            })
            .collect::<Vec<_>>()
    });
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let idle = idle.join().unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let refused = client.get(app.url("/api/v1/health")).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["connection"], "close");
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("--max-connections"),
        "{problem}"
    );
    drop(idle);
    let mut status = 0;
    for _ in 0..50 {
        status = client
            .get(app.url("/api/v1/health"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

/// Every answer says not to sniff or frame it; the API's (personal data) are not kept
/// by caches, while the dashboard's files keep their own caching.
#[actix_web::test]
async fn answers_carry_nosniff_no_framing_and_no_store() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/probe-requests",
        "/api/v1/health",
        "/api/v1/nope",
        "/metrics",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            headers["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
}
