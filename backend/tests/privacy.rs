//! Privacy through the real binary: what reaches the database files and the logs in
//! `keyed` mode, the key and mode checks at start-up, `ncompass pseudonymize`, erasure
//! leaving no copy in the files, and `ncompass backup` under load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::{assert_whole, body, free_port, node_mac, SAMPLE, SAMPLE_MACS};

fn ncompass(database: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ncompass"));
    command
        .args(args)
        .arg("--database")
        .arg(database)
        .arg("--static-dir")
        .arg(database.with_extension("no-dashboard"));
    command
}

fn run(database: &Path, args: &[&str]) -> Output {
    ncompass(database, args).output().unwrap()
}

/// A running `ncompass serve`, its log going to a file.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Server {
    async fn start(database: &Path, args: &[&str]) -> Server {
        Server::start_logging(database, "info", args).await
    }

    /// [`Server::start`], logging at `level`.
    async fn start_logging(database: &Path, level: &str, args: &[&str]) -> Server {
        let port = free_port();
        let log = database.with_extension(format!("{port}.log"));
        let mut child = ncompass(database, &["serve", "--log", level])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let health = client.get(format!("{url}/api/v1/health")).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return Server { child, url, log };
            }
            if Instant::now() >= deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not start: {}",
                    std::fs::read_to_string(&log).unwrap()
                );
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, and waits for the clean stop.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// Every file of the database: the file itself, its WAL and shared memory.
fn database_bytes(database: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut path = database.as_os_str().to_owned();
            path.push(suffix);
            PathBuf::from(path)
        })
        .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Where `mac` is found in the database's files: as canonical text (the rows), upper
/// case (as a body may carry it), and as the 6 bytes of its number (the segments).
fn copies_of(database: &Path, mac: &str) -> Vec<String> {
    let octets: Vec<u8> = mac
        .split(':')
        .map(|octet| u8::from_str_radix(octet, 16).unwrap())
        .collect();
    let mut little = octets.clone();
    little.reverse();
    let forms: [(&str, Vec<u8>); 4] = [
        ("text", mac.as_bytes().to_vec()),
        ("upper case", mac.to_uppercase().into_bytes()),
        ("big-endian number", octets),
        ("little-endian number", little),
    ];
    let mut found = Vec::new();
    for (path, bytes) in database_bytes(database) {
        for (form, needle) in &forms {
            if contains(&bytes, needle) {
                found.push(format!("{} in {}", form, path.display()));
            }
        }
    }
    found
}

async fn post_sample(client: &reqwest::Client, url: &str) {
    let response = client
        .post(format!("{url}/receive"))
        .body(SAMPLE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[actix_web::test]
async fn keyed_mode_keeps_real_macs_out_of_the_files_and_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("keyed.db");
    // At debug level, where actix's logger also prints every refused request's error.
    let server = Server::start_logging(&database, "debug", &["--mac-privacy", "keyed"]).await;
    let client = reqwest::Client::new();
    post_sample(&client, &server.url).await;
    // A MAC with a character too many (a refused parameter quotes it), and an API token
    // in a query string.
    for mac in SAMPLE_MACS {
        let refused = client
            .get(format!("{}/api/v1/probe-requests?mac={mac}x", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
    }
    let token = format!("ncp_{}", "5e".repeat(32));
    client
        .get(format!("{}/api/v1/nodes?access_token={token}", server.url))
        .send()
        .await
        .unwrap();
    let mut bad: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
    bad["probe_requests"][1]["count"] = serde_json::json!(-1);
    let refused = client
        .post(format!("{}/receive", server.url))
        .body(bad.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    // Looked up by real MAC, in the query and in the path: the access log must not
    // print them.
    for mac in SAMPLE_MACS {
        let page: serde_json::Value = client
            .get(format!("{}/api/v1/probe-requests?mac={mac}", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{mac}");
        let data = client
            .get(format!("{}/api/v1/devices/{mac}/data", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(data.status(), 200);
    }
    // Merged into the segments, and the rejection stored, before looking.
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    for mac in SAMPLE_MACS {
        assert_eq!(copies_of(&database, mac), Vec::<String>::new(), "{mac}");
    }
    let log = server.stop();
    assert!(log.contains("/api/v1/probe-requests?mac=<mac>"), "{log}");
    assert!(log.contains("access_token=ncp_…"), "{log}");
    assert!(!log.contains(&token[4..]), "the token in the log:\n{log}");
    for mac in SAMPLE_MACS {
        assert!(
            !log.to_lowercase().contains(mac),
            "{mac} in the log:\n{log}"
        );
        assert_eq!(copies_of(&database, mac), Vec::<String>::new(), "{mac}");
    }

    // Another key: refused, saying why.
    let other_key = dir.path().join("other.key");
    let refused = run(
        &database,
        &[
            "serve",
            "--mac-privacy",
            "keyed",
            "--bind",
            "127.0.0.1:0",
            "--mac-key-file",
            other_key.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("written under another MAC key"),
        "{message}"
    );
    // Raw mode on a pseudonymized database: refused too.
    let refused = run(&database, &["serve", "--bind", "127.0.0.1:0"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("holds pseudonymized client MACs"),
        "{message}"
    );
    // An unreadable key file.
    let key = dir.path().join("keyed.db.key");
    std::fs::write(&key, "not a key").unwrap();
    let refused = run(
        &database,
        &["serve", "--mac-privacy", "keyed", "--bind", "127.0.0.1:0"],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("does not hold a key"), "{message}");
}

#[actix_web::test]
async fn pseudonymize_converts_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("raw.db");
    let seeded = run(&database, &["seed"]);
    assert!(seeded.status.success(), "{seeded:?}");
    // Keyed on raw data: refused, pointing at the command.
    let refused = run(
        &database,
        &["serve", "--mac-privacy", "keyed", "--bind", "127.0.0.1:0"],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("ncompass pseudonymize"), "{message}");
    // Merge the rows into the segments (a serve does it), so both are converted.
    let server = Server::start(&database, &[]).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    server.stop();
    assert!(!copies_of(&database, SAMPLE_MACS[1]).is_empty());

    let converted = run(&database, &["pseudonymize"]);
    assert!(converted.status.success(), "{converted:?}");
    let progress = String::from_utf8_lossy(&converted.stderr);
    assert!(
        progress.contains("probe requests 5 of 5 (100%)"),
        "{progress}"
    );
    assert!(
        progress.contains("presence segments of day 2016-02-19"),
        "{progress}"
    );
    for mac in SAMPLE_MACS {
        assert_eq!(copies_of(&database, mac), Vec::<String>::new(), "{mac}");
    }
    let again = run(&database, &["pseudonymize"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("pseudonymized already"));

    let server = Server::start(&database, &["--mac-privacy", "keyed"]).await;
    let page: serde_json::Value = reqwest::get(format!(
        "{}/api/v1/probe-requests?mac=4E-20-5D-18-D0-AB",
        server.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["randomized"], true);
    server.stop();
}

#[actix_web::test]
async fn an_erased_mac_is_gone_from_the_files_after_a_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("erase.db");
    let server = Server::start(&database, &[]).await;
    let client = reqwest::Client::new();
    post_sample(&client, &server.url).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let erased = client
        .delete(format!("{}/api/v1/devices/48:5a:3f:37:de:f7", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), 200);
    let erased: serde_json::Value = erased.json().await.unwrap();
    assert_eq!(erased["probe_requests"], 1);
    assert_eq!(erased["presence_segments"], 1);
    let log = server.stop();
    assert!(log.contains("device erased"), "{log}");
    assert_eq!(
        copies_of(&database, "48:5a:3f:37:de:f7"),
        Vec::<String>::new()
    );
    // The others are still there (the scan would find them).
    assert!(!copies_of(&database, "80:19:34:b8:bc:1c").is_empty());
}

#[actix_web::test]
async fn a_backup_taken_under_load_holds_every_report_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("live.db");
    let server = Server::start(&database, &["--durability", "normal"]).await;
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut posters = Vec::new();
    for poster in 0..4 {
        let (url, acknowledged, stop) = (
            server.url.clone(),
            Arc::clone(&acknowledged),
            Arc::clone(&stop),
        );
        posters.push(actix_web::rt::spawn(async move {
            let client = reqwest::Client::new();
            let mut sequence = 0;
            while !stop.load(Ordering::SeqCst) {
                let response = client
                    .post(format!("{url}/receive"))
                    .body(body(poster, sequence))
                    .send()
                    .await;
                if response.is_ok_and(|r| r.status() == 200) {
                    acknowledged
                        .lock()
                        .unwrap()
                        .insert(node_mac(poster, sequence));
                }
                sequence += 1;
            }
        }));
    }
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    let before: HashSet<String> = acknowledged.lock().unwrap().clone();
    assert!(before.len() > 10, "{}", before.len());
    let copy = dir.path().join("copy.db");
    let backup = ncompass(&database, &["backup", copy.to_str().unwrap()])
        .output()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    for poster in posters {
        poster.await.unwrap();
    }
    assert!(backup.status.success(), "{backup:?}");
    let stderr = String::from_utf8_lossy(&backup.stderr);
    assert!(stderr.contains("integrity_check"), "{stderr}");
    assert!(String::from_utf8_lossy(&backup.stdout).contains("integrity check ok"));
    let during = acknowledged.lock().unwrap().len();
    assert!(during > before.len(), "ingestion went on during the backup");
    server.stop();

    // The copy: every report acknowledged before the backup began, each whole.
    let copy_url = copy.to_str().unwrap().to_string();
    let stored = assert_whole(&copy_url, &before);
    assert!(stored >= before.len());
    // And it serves.
    let key = dir.path().join("live.db.key");
    let server = Server::start(&copy, &["--mac-key-file", key.to_str().unwrap()]).await;
    let page: serde_json::Value = reqwest::get(format!("{}/api/v1/nodes", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().len() >= before.len());
    server.stop();
    // A second backup to the same path is refused.
    let refused = run(&database, &["backup", copy.to_str().unwrap()]);
    assert!(!refused.status.success());
}

/// The database, its WAL and shared memory, the key file and a backup are created
/// readable by their owner only, whatever the umask the server was started with; a
/// database made readable to others is named in a warning at the next start.
#[actix_web::test]
async fn files_holding_personal_data_are_private_and_loose_ones_are_named() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("private.db");
    let server = Server::start(&database, &["--mac-privacy", "keyed"]).await;
    let client = reqwest::Client::new();
    post_sample(&client, &server.url).await;
    let files = database_bytes(&database);
    assert!(files.len() >= 3, "{files:?}");
    for (path, _) in &files {
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&dir.path().join("private.db.key")), 0o600);
    let log = server.stop();
    assert!(!log.contains("readable by other users"), "{log}");

    let backup = dir.path().join("backup.db");
    let output = run(
        &database,
        &["backup", backup.to_str().unwrap(), "--mac-privacy", "keyed"],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(mode(&backup), 0o600);

    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = Server::start(&database, &["--mac-privacy", "keyed"]).await;
    let log = server.stop();
    assert!(
        log.contains(&format!(
            "{} holds personal data and is readable by other users (mode 0644)",
            database.display()
        )),
        "{log}"
    );
}
