use std::path::PathBuf;

pub use api_types::Role;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use ncompass::clock::Clock;
pub use ncompass::config::Settings;
use ncompass::startup::Application;
use serde_json::{json, Value};

pub const SAMPLE: &[u8] = ncompass::cloudtrax::samples::V1;
pub const SAMPLE_SECRET: &str = "s3cret-presence-key";
pub const SAMPLE_SIGNATURE: &str =
    "46db2c725c05830ebc9ab2770414c820c5e59b55ef3300b3f0c0380d2f9f2a47";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The SQLite file's path, or the PostgreSQL URL, as `--database` takes it.
    pub database: String,
    /// The app's clock: tests move it forward instead of waiting.
    pub clock: Clock,
    /// Its `--mac-key-file` (a second instance on the same database needs the same).
    pub mac_key_file: PathBuf,
    /// Stopped (and its thread joined) when the test ends, before its files go.
    _server: ncompass::app::startup::Background,
    _dir: tempfile::TempDir,
}

pub fn settings() -> Settings {
    Settings {
        database: String::new(),
        bind: "127.0.0.1:0".to_string(),
        secret: Vec::new(),
        secret_on_command_line: false,
        max_body: 1024 * 1024,
        meraki_max_body: 16 * 1024 * 1024,
        static_dir: PathBuf::from("no-dashboard-here"),
        oui_file: PathBuf::from("no-oui-file-here"),
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
    }
}

/// The app with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings()).await
}

/// The app with `settings`, on a new database file and a free port.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_in(tempfile::tempdir().unwrap(), settings).await
}

/// The database file [`spawn_app_in`] uses in `dir` on SQLite.
pub fn database_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("ncompass.db")
}

/// A new, empty database for one test: a file in `dir`, or a database of its own on
/// the PostgreSQL server.
pub fn new_database(dir: &tempfile::TempDir) -> String {
    let Some(server) = crate::support::postgres() else {
        return database_in(dir).to_str().unwrap().to_string();
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "ncompass_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    crate::support::create_database(&server, &name)
}

/// The app with `settings` on a new database (in `dir` on SQLite).
pub async fn spawn_app_in(dir: tempfile::TempDir, mut settings: Settings) -> TestApp {
    let database = if settings.database.is_empty() {
        new_database(&dir)
    } else {
        settings.database.clone()
    };
    settings.database = database.clone();
    if settings.mac_key_file.is_none() {
        settings.mac_key_file = Some(dir.path().join("ncompass.key"));
    }
    let mac_key_file = settings.mac_key_file.clone().unwrap_or_default();
    let clock = Clock::system();
    let server = Application::spawn(&settings, clock.clone()).unwrap();
    let address = format!("http://127.0.0.1:{}", server.port());
    TestApp {
        address,
        client: reqwest::Client::new(),
        database,
        clock,
        mac_key_file,
        _server: server,
        _dir: dir,
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// POSTs `body` as is, with no Content-Type, and a `Signature` header if given.
    pub async fn post_report(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(signature) = signature {
            request = request.header("Signature", signature);
        }
        request.send().await.unwrap()
    }

    /// POSTs a report to `/receive` and expects it stored.
    pub async fn ingest(&self, report: &Value) -> Value {
        let response = self.post_report("/receive", report.to_string(), None).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// GETs `path` and returns its body as text, whatever the status.
    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// Adds a Meraki source straight to the database, as `ncompass source add` does.
    pub fn add_source(&self, name: &str, validator: &str, secret: &str) {
        let source = ncompass::db::sources::Source {
            name: name.to_string(),
            vendor: "meraki".to_string(),
            validator: validator.to_string(),
            secret_sha256: ncompass::meraki::secret_digest(secret),
            created_at: self.clock.now(),
            created_by: "test".to_string(),
        };
        assert!(self
            .db()
            .run_blocking(|conn| ncompass::db::sources::add(conn, &source))
            .unwrap());
    }

    /// Counts rows straight from the database, as an operator's sqlite3 or psql would.
    pub fn count(&self, table: &str) -> i64 {
        let mut conn = ncompass::db::connect(&self.database).unwrap();
        diesel::sql_query(format!("SELECT count(*) AS count FROM {table}"))
            .get_result::<Count>(&mut conn)
            .unwrap()
            .count
    }

    /// Runs SQL straight on the database, as an operator's sqlite3 or psql would.
    pub fn execute(&self, sql: &str) {
        use diesel::connection::SimpleConnection;
        ncompass::db::connect(&self.database)
            .unwrap()
            .batch_execute(sql)
            .unwrap();
    }

    pub fn stored(&self) -> (i64, i64) {
        (self.count("probe_requests"), self.count("reports"))
    }

    /// The app's database, as the command line opens it.
    pub fn db(&self) -> ncompass::db::Database {
        ncompass::db::Database::open(&self.database, 1).unwrap()
    }

    /// Adds a user straight to the database, as `ncompass user add` does.
    pub fn add_user(&self, name: &str, role: Role, password: &str) {
        let hash = ncompass::auth::credentials::hash_password(password).unwrap();
        let now = self.clock.now();
        assert!(self
            .db()
            .run_blocking(|conn| ncompass::db::users::add(conn, name, role, &hash, now))
            .unwrap());
    }

    /// Creates an API token straight in the database, as `ncompass token create` does,
    /// expiring at `expires_at`; returns the token.
    pub fn add_token(&self, name: &str, role: Role, expires_at: Option<i64>) -> String {
        let token = ncompass::auth::credentials::new_token();
        let hash = ncompass::auth::credentials::fingerprint(&token);
        let now = self.clock.now();
        assert!(self
            .db()
            .run_blocking(|conn| {
                ncompass::db::tokens::create(conn, name, role, &hash, now, expires_at)
            })
            .unwrap());
        token
    }

    /// Waits until the server has seen that accounts exist (it looks once a second):
    /// a loopback client without a credential is then refused.
    pub async fn wait_until_guarded(&self) {
        for _ in 0..50 {
            if self.get("/api/v1/session").await.status() == 401 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the server stayed in protected mode");
    }

    /// Signs in and returns the session cookie's value.
    pub async fn sign_in(&self, username: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/session"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "sign-in of {username}");
        session_cookie(&response).expect("a session cookie")
    }

    /// GET with the session cookie `session`.
    pub async fn get_as(&self, path: &str, session: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Cookie", format!("ncompass_session={session}"))
            .send()
            .await
            .unwrap()
    }

    /// GET with `Authorization: Bearer token`.
    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// The value the response's `Set-Cookie` gives `ncompass_session`, if it sets it.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("ncompass_session="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
}

/// Asserts a problem+json error response with `status`, and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status);
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|t| !t.is_empty()));
    problem
}

pub fn sample() -> Value {
    serde_json::from_slice(SAMPLE).unwrap()
}

pub fn report(network_id: i64, node_mac: &str, probe_requests: Vec<Value>) -> Value {
    json!({
        "network_id": network_id,
        "node_mac": node_mac,
        "version": 1,
        "probe_requests": probe_requests,
    })
}

pub fn probe(mac: &str, first_seen: i64, last_seen: i64, associated: bool) -> Value {
    json!({
        "mac": mac,
        "count": 3,
        "min_signal": -80,
        "max_signal": -60,
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

/// The newest rejection, once the writer has recorded it.
pub async fn newest_rejection(app: &TestApp, count: usize) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let list = app.get_json("/api/v1/rejections").await;
        let items = list["items"].as_array().unwrap();
        if items.len() >= count {
            return items[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no rejection recorded"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
