//! The browser-test harness: the real backend (on a temp SQLite file and a free port)
//! serving the real built dashboard (`dist/`, built by `make test`), and a headless
//! Chromium driven through ChromeDriver.
//!
//! Test support code: failing loudly (panics) is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use ncompass::config::Settings;
use ncompass::startup::Application;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// How long a condition may take to become true in the browser.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The built dashboard: `NCOMPASS_E2E_DIST`, or `dist/` at the workspace root.
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("NCOMPASS_E2E_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "the dashboard is not built in {}: run `make test` (or `make frontend`) first",
        dir.display()
    );
    dir
}

/// Where failing tests leave a screenshot and the page's HTML.
pub fn artifacts_dir() -> PathBuf {
    workspace_root().join("e2e").join("artifacts")
}

pub struct Harness {
    /// `http://127.0.0.1:PORT` of the backend (or of the slow proxy in front of it).
    pub base: String,
    proxy: Option<ServerHandle>,
    /// The SQLite file's path, or the PostgreSQL URL, as `--database` takes it.
    pub database: String,
    pub http: reqwest::Client,
    pub browser: Client,
    /// Stopped, its thread joined, when the harness is dropped (a failing test too).
    server: ncompass::app::startup::Background,
    driver: Child,
    _dir: tempfile::TempDir,
}

/// A fresh database for one test: its own on the run's PostgreSQL server when
/// `NCOMPASS_TEST_POSTGRES` names one (scripts/test-postgres.sh), else a file in `dir`.
fn new_database(dir: &tempfile::TempDir) -> String {
    use diesel::connection::SimpleConnection;
    let Some(server) = std::env::var("NCOMPASS_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        return dir.path().join("ncompass.db").to_str().unwrap().to_string();
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "ncompass_e2e_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut conn = ncompass::db::connect(&server).unwrap();
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    // The server's URL naming the new database, its parameters (sslmode) kept, as
    // backend/tests/support does.
    let (address, parameters) = match server.split_once('?') {
        Some((address, parameters)) => (address, format!("?{parameters}")),
        None => (server.as_str(), String::new()),
    };
    let (base, _) = address.rsplit_once('/').unwrap();
    format!("{base}/{name}{parameters}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Harness {
    /// Starts the backend on a fresh database, ChromeDriver and a headless Chromium whose
    /// time zone is UTC, whatever the machine's.
    pub async fn start() -> Harness {
        Harness::start_in("UTC").await
    }

    /// [`Harness::start`] with the browser in the IANA time zone `zone`.
    pub async fn start_in(zone: &str) -> Harness {
        Harness::start_with(zone, None).await
    }

    /// [`Harness::start_in`]; with `slow`, the browser reaches the backend through a
    /// proxy that answers every request whose path and query contain `slow.0` only after
    /// `slow.1` (an old answer arriving after a newer one).
    pub async fn start_with(zone: &str, slow: Option<(&str, Duration)>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let database = new_database(&dir);
        let settings = Settings {
            database: database.clone(),
            bind: "127.0.0.1:0".to_string(),
            secret: Vec::new(),
            secret_on_command_line: false,
            max_body: 1024 * 1024,
            meraki_max_body: 16 * 1024 * 1024,
            static_dir: dist_dir(),
            oui_file: PathBuf::from("/usr/share/ieee-data/oui.csv"),
            log: "warn".to_string(),
            queue_limit: 200_000,
            durability: ncompass::ingest::Durability::Full,
            max_span: std::time::Duration::from_secs(3_600),
            body_timeout: std::time::Duration::from_secs(10),
            reply_timeout: std::time::Duration::from_secs(30),
            analytics_concurrency: None,
            public_url: None,
            trusted_proxy: Vec::new(),
            mac_privacy: ncompass::privacy::MacPrivacy::Raw,
            mac_key_file: None,
            keep_probe_requests: None,
            keep_presence: None,
            silence_after: std::time::Duration::from_secs(300),
            alert_webhook: Vec::new(),
            alert_secret: None,
            max_connections: 1024,
            max_exports: 4,
            group_readable: false,
        };
        let server = Application::spawn(&settings, ncompass::clock::Clock::system()).unwrap();
        let backend = format!("http://127.0.0.1:{}", server.port());
        let (base, proxy) = match slow {
            Some((pattern, delay)) => {
                let (base, proxy) = slow_proxy(backend, pattern.to_string(), delay);
                (base, Some(proxy))
            }
            None => (backend, None),
        };

        let driver_port = free_port();
        // Chromium takes its time zone from TZ, which ChromeDriver passes on.
        let driver = Command::new("chromedriver")
            .env("TZ", zone)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is not installed: `make test` installs it");
        let browser = connect(driver_port, &dir.path().join("chromium-profile")).await;
        Harness {
            base,
            database,
            // Idle connections are dropped well before the server's 5 s keep-alive
            // closes them: a request sent on one the server is closing at that moment
            // fails with IncompleteMessage (seen once in CI, in add_user).
            http: reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
            browser,
            server,
            proxy,
            driver,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Opens `path` of the dashboard.
    pub async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.unwrap();
    }

    /// The path and query of the page shown, e.g. `/?mac=...`.
    pub async fn location(&self) -> String {
        let url = self.browser.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{}", url.path(), query),
            None => url.path().to_string(),
        }
    }

    pub async fn js(&self, script: &str) -> Value {
        self.browser.execute(script, vec![]).await.unwrap()
    }

    /// Polls `probe` until it returns `Some`, failing with `what` after [`PATIENCE`].
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The `data-id` of every row of the probe table, top to bottom.
    pub async fn row_ids(&self) -> Vec<i64> {
        let ids = self
            .js("return Array.from(document.querySelectorAll('[data-testid=probe-table] tbody tr')).map(r => Number(r.dataset.id))")
            .await;
        ids.as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect()
    }

    /// The text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let script = format!(
            "return Array.from(document.querySelectorAll({})).map(e => e.textContent)",
            json!(css)
        );
        self.js(&script)
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|text| text.as_str().unwrap().to_string())
            .collect()
    }

    /// Waits until the table shows exactly `count` rows, and returns their ids.
    pub async fn wait_for_rows(&self, count: usize) -> Vec<i64> {
        self.eventually(&format!("{count} rows"), || async {
            let ids = self.row_ids().await;
            (ids.len() == count).then_some(ids)
        })
        .await
    }

    /// Waits for an element matching `css`.
    pub async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.browser
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element {css}: {error}"))
    }

    /// Waits for an element matching `css` and returns its text.
    pub async fn wait_for_text(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap()
    }

    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    /// Replaces the value of the input `css` as typing would (Yew listens to `input`).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    /// Sets an input's or a select's value through script (for `datetime-local`, which
    /// takes keys in a locale-dependent order) and fires the `input` and `change` events.
    pub async fn set_value(&self, css: &str, value: &str) {
        // The page renders once the dashboard knows who is signed in: wait for it.
        self.element(css).await;
        let script = format!(
            "const e = document.querySelector({}); e.value = {}; \
             e.dispatchEvent(new Event('input', {{bubbles: true}})); \
             e.dispatchEvent(new Event('change', {{bubbles: true}}));",
            json!(css),
            json!(value)
        );
        self.js(&script).await;
    }

    /// Posts a CloudTrax report to the webhook, as an access point would.
    pub async fn post_report(&self, report: &Value) -> Value {
        let response = self
            .http
            .post(self.url("/receive"))
            .body(report.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// PUTs a JSON body to the API (loopback: no credential needed while no account
    /// exists), as an administrator's script would; expects 200.
    pub async fn put_json(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "PUT {path}");
        response.json().await.unwrap()
    }

    /// GETs a JSON answer from the API (loopback, as [`Harness::put_json`]); expects 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Runs axe-core (from npm, in `.tools/`, injected here: nothing is fetched) on the
    /// page as it is, and returns its serious and critical WCAG violations, each as
    /// "rule (impact): up to three elements".
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = workspace_root().join(".tools/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "{}: {error} (scripts/install-toolchain.sh --browser installs it)",
                path.display()
            )
        });
        self.browser
            .execute(&format!("{source}\nreturn true;"), vec![])
            .await
            .unwrap();
        let found = self
            .browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}, resultTypes: ['violations']})
                   .then(r => done(r.violations
                       .filter(v => v.impact === 'serious' || v.impact === 'critical')
                       .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// Runs SQL on the database directly, as an operator's sqlite3 or psql would.
    pub fn sql(&self, statement: &str) {
        use diesel::connection::SimpleConnection;
        let mut conn = ncompass::db::connect(&self.database).unwrap();
        conn.batch_execute(statement).unwrap();
    }

    /// Adds a user as `ncompass user add` does, and waits until the server has left
    /// protected mode (it looks once a second).
    pub async fn add_user(&self, name: &str, role: api_types::Role, password: &str) {
        let hash = ncompass::auth::credentials::hash_password(password).unwrap();
        let db = ncompass::db::Database::open(&self.database, 1).unwrap();
        assert!(db
            .run_blocking(|conn| ncompass::db::users::add(conn, name, role, &hash, 0))
            .unwrap());
        self.eventually("access control to start", || async {
            // A connection lost on the way is asked again, like a refusal.
            let response = self
                .http
                .get(self.url("/api/v1/session"))
                .send()
                .await
                .ok()?;
            (response.status() == 401).then_some(())
        })
        .await;
    }

    /// Types `username` and `password` into the sign-in page and submits.
    pub async fn sign_in(&self, username: &str, password: &str) {
        // Not while an earlier attempt is in flight: its refusal would clear the
        // password typed meanwhile, and the form ignores a submit while busy.
        self.eventually("the sign-in form to be ready", || async {
            (self.texts("[data-testid=sign-in-submit]").await == ["Sign in"]).then_some(())
        })
        .await;
        self.type_into("#sign-in-username", username).await;
        self.type_into("#sign-in-password", password).await;
        self.click("[data-testid=sign-in-submit]").await;
    }

    /// Stops the backend: the dashboard's API is down from now on.
    pub async fn stop_server(&self) {
        self.server.handle().stop(false).await;
    }

    /// Saves a screenshot and the page's HTML under `e2e/artifacts/NAME.*`.
    pub async fn save_artifacts(&self, name: &str) {
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        if let Ok(png) = self.browser.screenshot().await {
            let path = dir.join(format!("{name}.png"));
            std::fs::write(&path, png).unwrap();
            eprintln!("screenshot saved to {}", path.display());
        }
        if let Ok(html) = self.browser.source().await {
            std::fs::write(dir.join(format!("{name}.html")), html).unwrap();
        }
    }

    /// Closes the browser and stops ChromeDriver and the backend.
    pub async fn finish(mut self) {
        let _ = self.browser.clone().close().await;
        let _ = self.driver.kill().await;
        if let Some(proxy) = &self.proxy {
            proxy.stop(false).await;
        }
        self.server.handle().stop(false).await;
    }
}

/// Headers that belong to one connection, not to the message a proxy passes on.
const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "transfer-encoding",
];

/// A reverse proxy to `backend` that holds back every request whose path and query
/// contain `pattern` by `delay`. Returns its base URL and a handle to stop it.
fn slow_proxy(backend: String, pattern: String, delay: Duration) -> (String, ServerHandle) {
    let client = reqwest::Client::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || {
        let (client, backend, pattern) = (client.clone(), backend.clone(), pattern.clone());
        actix_web::App::new().default_service(actix_web::web::to(
            move |request: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                let (client, backend, pattern) = (client.clone(), backend.clone(), pattern.clone());
                async move {
                    let path = request.uri().to_string();
                    if path.contains(&pattern) {
                        tokio::time::sleep(delay).await;
                    }
                    let method =
                        reqwest::Method::from_bytes(request.method().as_str().as_bytes()).unwrap();
                    let mut forward = client
                        .request(method, format!("{backend}{path}"))
                        .body(body.to_vec());
                    for (name, value) in request.headers() {
                        if !HOP_BY_HOP.contains(&name.as_str()) {
                            forward = forward.header(name.as_str(), value.as_bytes());
                        }
                    }
                    let answer = forward.send().await.unwrap();
                    let mut response = actix_web::HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(answer.status().as_u16()).unwrap(),
                    );
                    for (name, value) in answer.headers() {
                        if !HOP_BY_HOP.contains(&name.as_str()) {
                            response.append_header((name.as_str(), value.as_bytes()));
                        }
                    }
                    response.body(answer.bytes().await.unwrap().to_vec())
                }
            },
        ))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

async fn connect(driver_port: u16, profile: &Path) -> Client {
    let mut options = serde_json::Map::new();
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| Path::new(path).exists());
    if let Some(binary) = chromium {
        options.insert("binary".into(), json!(binary));
    }
    options.insert(
        "args".into(),
        json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--window-size=1280,900",
            format!("--user-data-dir={}", profile.display()),
        ]),
    );
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), Value::Object(options));

    let url = format!("http://127.0.0.1:{driver_port}");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("cannot start Chromium through ChromeDriver: {error}"),
        }
    }
}

/// Runs a browser test on a fresh harness; when it fails, saves a screenshot and the
/// page's HTML as `e2e/artifacts/NAME.png` / `.html` before failing.
pub async fn browser_test<F>(name: &str, test: F)
where
    F: AsyncFnOnce(&Harness),
{
    browser_test_in(name, "UTC", test).await;
}

/// [`browser_test`] with the browser in the IANA time zone `zone`.
pub async fn browser_test_in<F>(name: &str, zone: &str, test: F)
where
    F: AsyncFnOnce(&Harness),
{
    run_browser_test(name, Harness::start_in(zone).await, test).await;
}

/// [`browser_test`] through a proxy that answers requests containing `pattern` only
/// after `delay` ([`Harness::start_with`]).
pub async fn browser_test_slow<F>(name: &str, pattern: &str, delay: Duration, test: F)
where
    F: AsyncFnOnce(&Harness),
{
    let harness = Harness::start_with("UTC", Some((pattern, delay))).await;
    run_browser_test(name, harness, test).await;
}

async fn run_browser_test<F>(name: &str, harness: Harness, test: F)
where
    F: AsyncFnOnce(&Harness),
{
    let outcome = AssertUnwindSafe(test(&harness)).catch_unwind().await;
    if outcome.is_err() {
        harness.save_artifacts(name).await;
    }
    harness.finish().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A CloudTrax report.
pub fn report(network_id: i64, node_mac: &str, probe_requests: Vec<Value>) -> Value {
    json!({
        "network_id": network_id,
        "node_mac": node_mac,
        "version": 1,
        "probe_requests": probe_requests,
    })
}

/// A probe request of a report.
pub fn probe(mac: &str, first_seen: i64, last_seen: i64, associated: bool) -> Value {
    json!({
        "mac": mac,
        "count": 4,
        "min_signal": -82,
        "max_signal": -58,
        "avg_signal": -70,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "associated": associated,
    })
}

/// A distinct, globally administered client MAC for each `n`.
pub fn client_mac(n: u32) -> String {
    let [_, b, c, d] = n.to_be_bytes();
    format!("00:11:22:{b:02x}:{c:02x}:{d:02x}")
}

pub const SAMPLE: &[u8] = include_bytes!("../../core/samples/sample-v1.json");
pub const SAMPLE_LAST_SEEN_SIGNAL: &[u8] =
    include_bytes!("../../core/samples/sample-last-seen-signal.json");
