//! Several `ncompass serve` processes on one PostgreSQL database, as behind a load
//! balancer: reports spread over them and replayed to each are stored whole and once,
//! one instance killed mid-load costs no acknowledged report, and ten instances started
//! at once migrate once. PostgreSQL only: `make test` runs this file inside a throwaway
//! cluster (scripts/test-postgres.sh, with `--ignored`); a plain `cargo test` lists
//! these tests as ignored, never as passed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::Value;

mod support;

use support::{assert_whole, body, free_port, node_mac, PROBES_PER_REPORT};

const POSTERS: u32 = 8;

/// Why these tests are ignored by a plain `cargo test`.
const POSTGRES_ONLY: &str =
    "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored";

/// A new database on the test server; without one, the test fails (it was asked for
/// with `--ignored`, so it must not pass without running).
fn new_database(test: &str) -> String {
    let server = support::postgres()
        .unwrap_or_else(|| panic!("NCOMPASS_TEST_POSTGRES is not set: {POSTGRES_ONLY}"));
    let name = format!("ncompass_cluster_{}_{test}", std::process::id());
    support::create_database(&server, &name)
}

/// An instance: the child process and its base URL. Killed (SIGKILL) when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ncompass serve` on `database` without waiting for it.
fn spawn(database: &str) -> Instance {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_ncompass"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--log",
            "error",
        ])
        .args(["--database", database, "--static-dir", "no-dashboard-here"])
        // Every instance of one database shares its MAC key, as in production.
        .arg("--mac-key-file")
        .arg(std::env::temp_dir().join(format!(
            "ncompass-test-{}.key",
            database.rsplit('/').next().unwrap_or("db")
        )))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Waits until `instance` answers its health check.
async fn ready(instance: &Instance) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = client
            .get(format!("{}/api/v1/health", instance.base))
            .send()
            .await;
        if health.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(Instant::now() < deadline, "{} did not start", instance.base);
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start(database: &str) -> Instance {
    let instance = spawn(database);
    ready(&instance).await;
    instance
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(database: &str, sql: &str) -> i64 {
    let mut conn = ncompass::db::connect(database).unwrap();
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

/// Every row, newest first, as `instance` pages through them.
async fn all_ids(client: &reqwest::Client, instance: &Instance) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/api/v1/probe-requests?limit=1000", instance.base);
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
}

#[actix_web::test]
#[ignore = "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored"]
async fn two_instances_store_each_report_once_whole_and_list_the_same_rows() {
    let database = new_database("two");
    let instances = Arc::new([start(&database).await, start(&database).await]);
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let posters: Vec<_> = (0..POSTERS)
        .map(|poster| {
            let (instances, acknowledged, client) = (
                Arc::clone(&instances),
                Arc::clone(&acknowledged),
                client.clone(),
            );
            actix_web::rt::spawn(async move {
                for sequence in 0..40 {
                    // To one instance, and the same report at once to the other.
                    let first = usize::try_from((poster + sequence) % 2).unwrap();
                    let body = body(poster, sequence);
                    let post = |instance: &Instance| {
                        client
                            .post(format!("{}/receive", instance.base))
                            .body(body.clone())
                            .send()
                    };
                    let (a, b) = futures_util::future::join(
                        post(&instances[first]),
                        post(&instances[1 - first]),
                    )
                    .await;
                    let (a, b) = (a.unwrap().status(), b.unwrap().status());
                    assert!(a == 200 && b == 200, "answered {a} and {b}");
                    acknowledged
                        .lock()
                        .unwrap()
                        .insert(node_mac(poster, sequence));
                }
            })
        })
        .collect();
    for poster in posters {
        poster.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), usize::try_from(POSTERS * 40).unwrap());
    assert_whole(&database, &acknowledged);
    // Each observation once, though each report was stored by both instances.
    assert_eq!(
        count(&database, "SELECT count(*) AS n FROM probe_requests"),
        i64::from(POSTERS * 40 * PROBES_PER_REPORT)
    );
    // Both list the same rows in the same order.
    let (a, b) = (
        all_ids(&client, &instances[0]).await,
        all_ids(&client, &instances[1]).await,
    );
    assert_eq!(
        a.len(),
        usize::try_from(POSTERS * 40 * PROBES_PER_REPORT).unwrap()
    );
    assert_eq!(a, b);
    // Once merged (by one instance at a time), the figures are exact on both: the 20
    // clients, each heard by every access point.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        &database,
        "SELECT (SELECT coalesce(max(id), 0) FROM probe_requests) - through_id AS n FROM presence_progress",
    ) > 0
    {
        assert!(Instant::now() < deadline, "the segments never caught up");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let range = "since=1699990000&until=1700010000";
    for instance in instances.iter() {
        let summary: Value = client
            .get(format!("{}/api/v1/stats/summary?{range}", instance.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(summary["devices"], PROBES_PER_REPORT, "{summary}");
    }
}

#[actix_web::test]
#[ignore = "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored"]
async fn an_instance_killed_mid_load_loses_no_acknowledged_report() {
    let database = new_database("kill");
    let mut doomed = start(&database).await;
    let survivor = start(&database).await;
    let targets = Arc::new([doomed.base.clone(), survivor.base.clone()]);
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let after_kill = Arc::new(Mutex::new(0_u32));
    let killed = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let posters: Vec<_> = (0..POSTERS)
        .map(|poster| {
            let (targets, acknowledged, client) = (
                Arc::clone(&targets),
                Arc::clone(&acknowledged),
                client.clone(),
            );
            let (after_kill, killed, stop) = (
                Arc::clone(&after_kill),
                Arc::clone(&killed),
                Arc::clone(&stop),
            );
            actix_web::rt::spawn(async move {
                for sequence in 0..10_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // Alternate between the instances, as a load balancer would; a post
                    // to the dead one fails to connect (or is cut) and is not retried.
                    let target = &targets[usize::try_from(sequence % 2).unwrap()];
                    let sent = client
                        .post(format!("{target}/receive"))
                        .body(body(poster, sequence))
                        .send()
                        .await;
                    if let Ok(response) = sent {
                        if response.status() == 200 {
                            acknowledged
                                .lock()
                                .unwrap()
                                .insert(node_mac(poster, sequence));
                            if killed.load(Ordering::Relaxed) {
                                *after_kill.lock().unwrap() += 1;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    doomed.child.kill().unwrap(); // SIGKILL, mid-load
    doomed.child.wait().unwrap();
    killed.store(true, Ordering::Relaxed);
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for poster in posters {
        poster.await.unwrap();
    }
    let after_kill = *after_kill.lock().unwrap();
    assert!(
        after_kill > 10,
        "the survivor kept storing: {after_kill} reports after the kill"
    );
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_whole(&database, &acknowledged);
    let health = client
        .get(format!("{}/api/v1/health", survivor.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    eprintln!(
        "{} reports acknowledged, {after_kill} of them after the kill",
        acknowledged.len()
    );
}

#[actix_web::test]
#[ignore = "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored"]
async fn ten_instances_started_at_once_migrate_once_and_all_serve() {
    let database = new_database("ten");
    let instances: Vec<Instance> = (0..10).map(|_| spawn(&database)).collect();
    futures_util::future::join_all(instances.iter().map(ready)).await;
    let migrations = count(
        &database,
        "SELECT count(*) AS n FROM __diesel_schema_migrations",
    );
    assert_eq!(
        usize::try_from(migrations).unwrap(),
        std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../migrations/postgres"
        ))
        .unwrap()
        .count()
    );
    // And created the day partitions once each: yesterday to a week ahead, and the
    // default one.
    let partitions = count(
        &database,
        "SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'probe_requests'::regclass",
    );
    assert_eq!(partitions, ncompass::db::partitions::DAYS_AHEAD + 2 + 1);
    let client = reqwest::Client::new();
    for instance in &instances {
        let nodes = client
            .get(format!("{}/api/v1/nodes", instance.base))
            .send()
            .await
            .unwrap();
        assert_eq!(nodes.status(), 200);
    }
}

/// nginx in front of `upstreams`, with the site of deploy/nginx/ncompass.conf, in the
/// foreground, on a free loopback port; stopped when dropped.
struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx(upstreams: &[&Instance]) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let site = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/nginx/ncompass.conf"
    ))
    .unwrap();
    let servers: String = upstreams
        .iter()
        .map(|instance| {
            format!(
                "    server {} max_fails=3 fail_timeout=5s;\n",
                instance.base.trim_start_matches("http://")
            )
        })
        .collect();
    let mut site: String = site
        .lines()
        .filter(|line| !line.trim_start().starts_with("server 127.0.0.1:808"))
        .map(|line| format!("{line}\n"))
        .collect();
    site = site
        .replacen(
            "upstream ncompass {\n",
            &format!("upstream ncompass {{\n{servers}"),
            1,
        )
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
    let work = dir.path().display();
    std::fs::write(dir.path().join("site.conf"), site).unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "daemon off; master_process off; pid {work}/nginx.pid; error_log {work}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{ access_log off; client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;\n\
             fastcgi_temp_path {work}/fastcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;\n\
             include {work}/site.conf; }}\n"
        ),
    )
    .unwrap();
    let child = Command::new("nginx")
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .arg("-p")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx is not installed: scripts/test-postgres.sh installs it");
    Nginx {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

#[actix_web::test]
#[ignore = "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored"]
async fn through_nginx_an_instance_stopped_mid_load_costs_no_report() {
    let database = new_database("nginx");
    let mut doomed = start(&database).await;
    let survivor = start(&database).await;
    let proxy = nginx(&[&doomed, &survivor]);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get(format!("{}/api/v1/health", proxy.base))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nginx did not start");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    // Posters that never retry, as access points; one instance is killed meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let posters: Vec<_> = (0..4)
        .map(|poster| {
            let (stop, acknowledged, client) =
                (Arc::clone(&stop), Arc::clone(&acknowledged), client.clone());
            let url = format!("{}/receive", proxy.base);
            actix_web::rt::spawn(async move {
                let mut sent = 0;
                for sequence in 0..10_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let response = client
                        .post(&url)
                        .body(body(poster, sequence))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(
                        response.status(),
                        200,
                        "report {poster}/{sequence} was lost"
                    );
                    acknowledged
                        .lock()
                        .unwrap()
                        .insert(node_mac(poster, sequence));
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = 0;
    for poster in posters {
        sent += poster.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), sent);
    let stored = assert_whole(&database, &acknowledged);
    assert_eq!(stored, sent, "every report posted is stored, each once");
}
