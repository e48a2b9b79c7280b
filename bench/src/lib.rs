//! Realistic CloudTrax traffic, and ways to measure a receiver with it.
//!
//! - [`Workload`] makes report bodies: many access points, each posting once per 30 s
//!   period in a random order; a share of each report's clients are "residents" heard
//!   again every period (repeated MACs, new observations), the rest are passers-by, new
//!   devices, a share of them with randomized MACs. MACs are spread as real ones are
//!   (vendor prefixes with random tails, [`MacSpread`]) and clients are timed now.
//!   Deterministic for a seed (but for the clock), so runs compare.
//! - [`saturate`] and [`fixed_rate`] post them and record every latency.
//! - [`null_server`] and [`raw_sqlite_insert`] are the ceilings ingestion is measured
//!   against: HTTP without the database, and the database without HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

pub mod fill;

/// A tiny deterministic PRNG (xorshift64*): benchmarks must not depend on a crate's
/// idea of randomness changing between versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How a [`Workload`] draws MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacSpread {
    /// As real traffic spreads them: globally unique MACs are a vendor's OUI with a
    /// random tail, randomized ones 46 random bits with the locally administered bit;
    /// access points post in a random order each period. Every figure is measured with it.
    Realistic,
    /// The first generator's: MACs numbered in sequence, access points in order. Index
    /// inserts then land at the right edge of each B-tree, which flatters the storage
    /// (about 1.8x on an empty SQLite file): kept only where a section compares the two.
    Sequential,
}

#[derive(Debug, Clone)]
pub struct Workload {
    /// Distinct access points.
    pub nodes: u32,
    /// Probe requests per report.
    pub probes: u32,
    /// Share of each report's clients heard in every period (same MAC, new times).
    pub resident_share: f64,
    /// Share of the other clients whose MAC is randomized (locally administered).
    pub randomized_share: f64,
    /// Sign each body with this secret (the `Signature` header).
    pub secret: Option<String>,
    pub seed: u64,
    /// Unix time of the first period; `None`: the periods end now, so clients are
    /// timed as a live network's are (the newest a few seconds old).
    pub start: Option<i64>,
    pub macs: MacSpread,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            nodes: 2000,
            probes: 100,
            resident_share: 0.3,
            randomized_share: 0.4,
            secret: None,
            seed: 42,
            start: None,
            macs: MacSpread::Realistic,
        }
    }
}

/// A body to post and its signature header, if signed.
pub type Post = (String, Option<String>);

/// `prefix` as the first octet, the low 40 bits of `n` as the other five.
fn mac(prefix: u8, n: u64) -> String {
    mac_of((u64::from(prefix) << 40) | (n & 0xFF_FFFF_FFFF))
}

/// The 48 bits of `value` as a MAC.
fn mac_of(value: u64) -> String {
    let b = value.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

/// OUIs of makers of phones, laptops and their Wi-Fi chips (Apple first, then Samsung,
/// Google, OnePlus, Xiaomi, Intel, Oppo, Realtek, Amazon and others). The first ones
/// weigh more, as Apple's do in real traffic: a draw takes the lower of two indexes.
const CLIENT_OUIS: [u32; 24] = [
    0xF0_18_98, 0x3C_22_FB, 0xA4_83_E7, 0x8C_85_90, 0xD0_81_7A, 0x28_CF_E9, 0x5C_F9_38, 0xE4_B2_FB,
    0x8C_F5_A3, 0x24_18_1D, 0x3C_5A_B4, 0x94_65_2D, 0x00_9E_C8, 0x64_09_80, 0x7C_B2_7D, 0x00_1D_FE,
    0xC4_0B_CB, 0x2C_54_91, 0xA4_50_46, 0x60_AB_67, 0x1C_77_F6, 0x00_E0_4C, 0x40_4E_36, 0x74_C2_46,
];

/// OUIs of access point makers (Open Mesh / CloudTrax, Cisco Meraki, EnGenius).
const NODE_OUIS: [u32; 3] = [0xAC_86_74, 0x00_18_0A, 0x88_DC_96];

/// splitmix64: a stateless hash, so that the n-th resident or access point has the
/// same MAC wherever it is drawn.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A globally unique MAC: a client vendor's OUI and a 24-bit tail, both from `bits`.
fn vendor_mac(bits: u64) -> String {
    let (a, b) = ((bits >> 40) as usize % 24, (bits >> 48) as usize % 24);
    let oui = u64::from(CLIENT_OUIS[a.min(b)]);
    mac_of((oui << 24) | (bits & 0xFF_FFFF))
}

/// A randomized MAC: locally administered (0x02 set), unicast (0x01 clear), the other
/// 46 bits from `bits`.
fn randomized_mac(bits: u64) -> String {
    let value = (bits & 0xFFFF_FFFF_FFFF & !(0x01 << 40)) | (0x02 << 40);
    mac_of(value)
}

impl Workload {
    /// Access point `n`'s MAC, as posted (upper case, as CloudTrax sends it) and as
    /// stored after [`str::to_lowercase`].
    pub fn node_mac(&self, n: u64) -> String {
        match self.macs {
            MacSpread::Sequential => mac(0xac, n).to_uppercase(),
            MacSpread::Realistic => {
                let oui = u64::from(NODE_OUIS[(n % 3) as usize]);
                // The tail is a bijection of n (odd multiplier mod 2^24): no two access
                // points share a MAC. The same for every seed: runs that differ only by
                // seed post as the same access points.
                let tail = n.wrapping_mul(0x9E_37_79) & 0xFF_FFFF;
                mac_of((oui << 24) | tail).to_uppercase()
            }
        }
    }

    /// Resident `i` of access point `node` (heard by it in every period, whatever the
    /// seed), canonical.
    pub fn resident_mac(&self, node: u64, i: u32) -> String {
        match self.macs {
            MacSpread::Sequential => mac(0x00, node * 4096 + u64::from(i)),
            MacSpread::Realistic => vendor_mac(mix((node << 16) ^ u64::from(i))),
        }
    }

    /// The first period's Unix time for `count` posts.
    pub fn start_for(&self, count: usize) -> i64 {
        self.start.unwrap_or_else(|| {
            let periods = (count as u64).div_ceil(u64::from(self.nodes.max(1)));
            // The newest observation is then 10-30 s old when the posts are made.
            ncompass::unix_now() - 30 * i64::try_from(periods).unwrap() - 30
        })
    }

    /// `count` report bodies: every access point once per 30 s period (in a random
    /// order for [`MacSpread::Realistic`]), period after period.
    pub fn posts(&self, count: usize) -> Vec<Post> {
        self.iter(count).collect()
    }

    /// [`Workload::posts`] one at a time, for more than memory holds.
    pub fn iter(&self, count: usize) -> impl Iterator<Item = Post> + '_ {
        let mut rng = Rng::new(self.seed);
        let residents = ((f64::from(self.probes) * self.resident_share) as u32).min(self.probes);
        let start = self.start_for(count);
        let nodes = u64::from(self.nodes.max(1));
        let mut order: Vec<u64> = (0..nodes).collect();
        let mut next_passer_by = 0u64;
        (0..count).map(move |k| {
            let k = k as u64;
            let period = k / nodes;
            if k % nodes == 0 && self.macs == MacSpread::Realistic {
                // Fisher-Yates: this period's posting order.
                for i in (1..order.len()).rev() {
                    order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
            }
            let node = order[(k % nodes) as usize];
            let period_start = start + i64::try_from(period * 30).unwrap();
            let probes: Vec<_> = (0..self.probes)
                .map(|i| {
                    let resident = i < residents;
                    let randomized = !resident && rng.unit() < self.randomized_share;
                    let client = match (self.macs, resident) {
                        // Globally unique, stable per access point.
                        (_, true) => self.resident_mac(node, i),
                        (MacSpread::Sequential, false) => {
                            next_passer_by += 1;
                            mac(if randomized { 0x02 } else { 0x04 }, next_passer_by)
                        }
                        (MacSpread::Realistic, false) if randomized => {
                            randomized_mac(rng.next_u64())
                        }
                        (MacSpread::Realistic, false) => vendor_mac(rng.next_u64()),
                    };
                    let first_seen = period_start + (rng.next_u64() % 20) as i64;
                    let last_seen = first_seen + (rng.next_u64() % 10) as i64;
                    let min = -90 + (rng.next_u64() % 30) as i64;
                    let max = min + (rng.next_u64() % 20) as i64;
                    json!({
                        "mac": client,
                        "count": 1 + rng.next_u64() % 30,
                        "min_signal": min,
                        "max_signal": max,
                        "avg_signal": (min + max) / 2,
                        "last_seen_signal": max,
                        "first_seen": first_seen,
                        "last_seen": last_seen,
                        "associated": rng.unit() < 0.2,
                    })
                })
                .collect();
            let body = json!({
                "network_id": 1000 + node % 20,
                "node_mac": self.node_mac(node),
                "version": 1,
                "probe_requests": probes,
            })
            .to_string();
            let signature = self
                .secret
                .as_ref()
                .map(|secret| ncompass::cloudtrax::sign(secret.as_bytes(), body.as_bytes()));
            (body, signature)
        })
    }
}

/// The one number `sql` selects as `n` (e.g. `SELECT count(*) AS n FROM ...`).
pub fn count(conn: &mut ncompass::db::Conn, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

/// Creates a database named `name` (and this process's id) on the PostgreSQL server of
/// `server` (a URL of an existing database, e.g. `postgres`), and returns its URL.
pub fn new_postgres_database(server: &str, name: &str) -> String {
    use diesel::connection::SimpleConnection;
    let mut conn = ncompass::db::connect(server).unwrap();
    let name = format!("{name}_{}", std::process::id());
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// The release `ncompass` binary serving a temp SQLite file on a free loopback port.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub database: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(binary: &Path, durability: &str) -> Server {
        Server::start_on(binary, durability, None).await
    }

    /// On `database` if given (an existing file, kept), else on a new temp file.
    pub async fn start_on(binary: &Path, durability: &str, database: Option<PathBuf>) -> Server {
        Server::start_with(binary, durability, database, &[]).await
    }

    /// [`Server::start_on`] with more flags of `ncompass serve` (e.g. `--mac-privacy keyed`).
    pub async fn start_with(
        binary: &Path,
        durability: &str,
        database: Option<PathBuf>,
        extra: &[&str],
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let database = database.unwrap_or_else(|| dir.path().join("bench.db"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--log",
                "warn",
            ])
            .args(["--durability", durability, "--queue-limit", "2000000"])
            .arg("--database")
            .arg(&database)
            .arg("--static-dir")
            .arg(dir.path().join("none"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {}: {error} (run `make build` first)",
                    binary.display()
                )
            });
        let client = reqwest::Client::new();
        // Long enough for a migration of a filled file (an index rebuilt over 10M rows).
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut child = child;
        while client
            .get(format!("http://127.0.0.1:{port}/api/v1/health"))
            .send()
            .await
            .map_or(true, |r| r.status() != 200)
        {
            assert!(Instant::now() < deadline, "the server did not start");
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server exited before it served: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server {
            child,
            port,
            database,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Waits until the server's idle writer has merged every stored row into the presence
    /// segments (`ncompass_presence_backlog_probe_requests` is 0), so the analytics
    /// measured next read what a server at rest reads. Says how far it is every 10 s.
    pub async fn wait_for_merge(&self, client: &reqwest::Client, limit: Duration) {
        let started = Instant::now();
        let mut said = Instant::now();
        loop {
            let backlog = self.presence_backlog(client).await;
            if backlog == Some(0) {
                eprintln!(
                    "presence merged after {:.0} s",
                    started.elapsed().as_secs_f64()
                );
                return;
            }
            assert!(
                started.elapsed() < limit,
                "the presence merge did not catch up within {limit:?} (backlog {backlog:?})"
            );
            if said.elapsed() >= Duration::from_secs(10) {
                eprintln!(
                    "waiting for the presence merge: {} rows left",
                    backlog.map_or("?".to_string(), |rows| rows.to_string())
                );
                said = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The server's `ncompass_presence_backlog_probe_requests`, if it answers.
    async fn presence_backlog(&self, client: &reqwest::Client) -> Option<u64> {
        let text = client
            .get(self.url("/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("ncompass_presence_backlog_probe_requests "))
            .and_then(|value| value.trim().parse().ok())
    }

    pub fn stop(self) {
        drop(self);
    }
}

/// A benchmark that panics half-way does not leave its server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A day of presence at a venue, as the access points report it: visits of devices
/// (some coming back, many randomized) spread over the day, each heard by one to three
/// access points of its network, every access point reporting once a minute the
/// devices it heard in that minute. Unlike [`Workload`], the rows make realistic
/// visits, which is what the presence analytics are measured on.
#[derive(Debug, Clone)]
pub struct PresenceDay {
    pub networks: u32,
    pub nodes_per_network: u32,
    pub visits: u32,
    /// A UTC midnight.
    pub day_start: i64,
    pub seed: u64,
}

impl PresenceDay {
    /// Visits for about `rows` probe requests (65 rows a visit on average).
    pub fn with_rows(rows: u64, seed: u64) -> PresenceDay {
        PresenceDay {
            networks: 4,
            nodes_per_network: 50,
            visits: u32::try_from(rows / 65).unwrap_or(u32::MAX).max(1),
            day_start: 1_764_028_800, // 2025-11-25 00:00 UTC
            seed,
        }
    }

    /// The report bodies minute after minute (a visit starting late runs past the
    /// day's end), each minute's reports together.
    pub fn minutes(&self) -> impl Iterator<Item = Vec<Post>> + '_ {
        struct Planned {
            network: u32,
            mac: String,
            start: u32,
            minutes: u32,
            nodes: Vec<(u32, i64)>,
            associated: bool,
        }
        let mut rng = Rng::new(self.seed);
        let mut planned: Vec<Planned> = (0..self.visits)
            .map(|k| {
                let network = (rng.next_u64() % u64::from(self.networks)) as u32;
                let kind = rng.unit();
                let mac = if kind < 0.35 {
                    // One of 20,000 regulars per network: they come back.
                    mac(0x00, (u64::from(network) << 20) | (rng.next_u64() % 20_000))
                } else if kind < 0.8 {
                    mac(0x02, u64::from(k))
                } else {
                    mac(0x04, u64::from(k))
                };
                let length = rng.unit();
                let minutes = if length < 0.5 {
                    1 + rng.next_u64() % 5
                } else if length < 0.85 {
                    10 + rng.next_u64() % 50
                } else {
                    60 + rng.next_u64() % 180
                } as u32;
                let first_node = (rng.next_u64() % u64::from(self.nodes_per_network)) as u32;
                let heard_by = 1 + rng.next_u64() % 3;
                let nodes = (0..heard_by)
                    .map(|i| {
                        let node = (first_node + i as u32) % self.nodes_per_network;
                        (node, -90 + (rng.next_u64() % 60) as i64)
                    })
                    .collect();
                Planned {
                    network,
                    mac,
                    start: (rng.next_u64() % 1440) as u32,
                    minutes,
                    nodes,
                    associated: rng.unit() < 0.15,
                }
            })
            .collect();
        planned.sort_by_key(|visit| visit.start);
        let last_minute = planned
            .iter()
            .map(|visit| visit.start + visit.minutes)
            .max()
            .unwrap_or(0);
        let mut next = 0;
        let mut active: Vec<Planned> = Vec::new();
        (0..last_minute).map(move |minute| {
            active.retain(|visit| visit.start + visit.minutes > minute);
            while next < planned.len() && planned[next].start == minute {
                active.push(std::mem::replace(
                    &mut planned[next],
                    Planned {
                        network: 0,
                        mac: String::new(),
                        start: 0,
                        minutes: 0,
                        nodes: Vec::new(),
                        associated: false,
                    },
                ));
                next += 1;
            }
            let period_start = self.day_start + i64::from(minute) * 60;
            let mut reports: std::collections::BTreeMap<(u32, u32), Vec<serde_json::Value>> =
                std::collections::BTreeMap::new();
            for visit in &active {
                for (node, signal) in &visit.nodes {
                    // A device is missed by an access point now and then: gaps.
                    if rng.unit() < 0.1 {
                        continue;
                    }
                    let first_seen = period_start + (rng.next_u64() % 30) as i64;
                    let last_seen = first_seen + (rng.next_u64() % 30) as i64;
                    reports
                        .entry((visit.network, *node))
                        .or_default()
                        .push(json!({
                            "mac": visit.mac,
                            "count": 1 + rng.next_u64() % 10,
                            "min_signal": signal - 5,
                            "max_signal": signal,
                            "avg_signal": signal - 2,
                            "first_seen": first_seen,
                            "last_seen": last_seen,
                            "associated": visit.associated,
                        }));
                }
            }
            reports
                .into_iter()
                .map(|((network, node), probes)| {
                    let body = json!({
                        "network_id": 2000 + network,
                        "node_mac": mac(0xac, u64::from(network) << 8 | u64::from(node)),
                        "version": 1,
                        "probe_requests": probes,
                    });
                    (body.to_string(), None)
                })
                .collect()
        })
    }
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub ok: u64,
    /// 503: shed by the receiver.
    pub shed: u64,
    /// Any other status, or no answer.
    pub failed: u64,
    pub elapsed: Duration,
    /// Of the 200s, microseconds.
    pub latencies: Vec<u64>,
    /// Probe requests in the reports answered 200.
    pub probes_ok: u64,
}

impl LoadResult {
    pub fn reports_per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn probes_per_second(&self) -> f64 {
        self.probes_ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of the 200s' latency, milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[index] as f64 / 1000.0
    }

    pub fn absorb(&mut self, other: LoadResult) {
        self.ok += other.ok;
        self.shed += other.shed;
        self.failed += other.failed;
        self.probes_ok += other.probes_ok;
        self.latencies.extend(other.latencies);
    }
}

async fn post_one(
    client: &reqwest::Client,
    url: &str,
    (body, signature): &Post,
    probes: u64,
    result: &mut LoadResult,
) {
    let mut request = client.post(url).body(body.clone());
    if let Some(signature) = signature {
        request = request.header("Signature", signature);
    }
    let started = Instant::now();
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            match status {
                200 => {
                    result.ok += 1;
                    result.probes_ok += probes;
                    result.latencies.push(started.elapsed().as_micros() as u64);
                }
                503 => result.shed += 1,
                _ => result.failed += 1,
            }
        }
        Err(_) => result.failed += 1,
    }
}

/// Posts `posts` (each once, in order) from `concurrency` connections as fast as the
/// receiver answers, for at most `duration`.
pub async fn saturate(
    url: &str,
    posts: Arc<Vec<Post>>,
    probes_per_report: u64,
    concurrency: usize,
    duration: Duration,
) -> LoadResult {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = client.clone();
            let posts = Arc::clone(&posts);
            let next = Arc::clone(&next);
            let url = url.to_string();
            tokio::spawn(async move {
                let mut result = LoadResult::default();
                while Instant::now() < deadline {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(post) = posts.get(index) else { break };
                    post_one(&client, &url, post, probes_per_report, &mut result).await;
                }
                result
            })
        })
        .collect();
    let mut total = LoadResult::default();
    for worker in workers {
        total.absorb(worker.await.unwrap());
    }
    total.elapsed = started.elapsed();
    total
}

/// Posts at a fixed rate (an open loop: a slow answer does not slow the arrivals, as
/// with real access points) for `duration`.
pub async fn fixed_rate(
    url: &str,
    posts: Arc<Vec<Post>>,
    probes_per_report: u64,
    reports_per_second: f64,
    duration: Duration,
) -> LoadResult {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let total_posts = ((reports_per_second * duration.as_secs_f64()) as usize).min(posts.len());
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    for index in 0..total_posts {
        let due = started + Duration::from_secs_f64(index as f64 / reports_per_second);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let posts = Arc::clone(&posts);
        let url = url.to_string();
        let sender = sender.clone();
        tokio::spawn(async move {
            let mut result = LoadResult::default();
            post_one(&client, &url, &posts[index], probes_per_report, &mut result).await;
            let _ = sender.send(result);
        });
    }
    drop(sender);
    let mut total = LoadResult::default();
    while let Some(result) = receiver.recv().await {
        total.absorb(result);
    }
    total.elapsed = started.elapsed();
    total
}

/// An HTTP server of the same framework and settings that reads each body whole and
/// answers 200 with a small JSON body, touching no database: the HTTP ceiling.
/// Returns its port; it runs on its own threads until the process ends.
pub fn null_server() -> u16 {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(|| {
                App::new()
                    .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                    .route(
                        "/receive",
                        web::post().to(|body: web::Bytes| async move {
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(format!("{{\"received\":{}}}", body.len()))
                        }),
                    )
            })
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    port
}

/// Inserts every probe request of `posts` into today's day partition of `probe_requests`
/// in a fresh, migrated database at `path` (same schema, same indexes), in one transaction with one
/// prepared statement, through SQLite's C API: the database ceiling. Returns the rows
/// inserted and the time taken.
pub fn raw_sqlite_insert(
    path: &std::path::Path,
    posts: &[Post],
    synchronous_full: bool,
) -> (u64, Duration) {
    use libsqlite3_sys as ffi;
    use std::ffi::CString;

    ncompass::db::migrate(path.to_str().unwrap()).unwrap();
    // Parse before timing: the ceiling is the database's, not serde's.
    let reports: Vec<ncompass::cloudtrax::Report> = posts
        .iter()
        .map(|(body, _)| {
            ncompass::cloudtrax::parse_report(
                body.as_bytes(),
                &ncompass::cloudtrax::TimeRules::at(ncompass::unix_now()),
            )
            .unwrap()
        })
        .collect();
    let rows: Vec<(i64, String, String, &ncompass::cloudtrax::ProbeRequest)> = reports
        .iter()
        .flat_map(|report| {
            let node = report.node_mac.to_string();
            report.probe_requests.iter().map(move |probe| {
                (
                    report.network_id,
                    node.clone(),
                    probe.mac.to_string(),
                    probe,
                )
            })
        })
        .collect();

    let exec = |db: *mut ffi::sqlite3, sql: &str| {
        let sql = CString::new(sql).unwrap();
        // SAFETY: db is an open connection; sql is NUL-terminated.
        let rc = unsafe {
            ffi::sqlite3_exec(
                db,
                sql.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, ffi::SQLITE_OK, "{sql:?}");
    };
    let path = CString::new(path.to_str().unwrap()).unwrap();
    let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
    // SAFETY: FFI calls on a connection this function opens and closes, with
    // NUL-terminated strings and bound values that outlive each step.
    unsafe {
        assert_eq!(ffi::sqlite3_open(path.as_ptr(), &mut db), ffi::SQLITE_OK);
        exec(db, "PRAGMA journal_mode = WAL");
        exec(
            db,
            if synchronous_full {
                "PRAGMA synchronous = FULL"
            } else {
                "PRAGMA synchronous = NORMAL"
            },
        );
        exec(
            db,
            "INSERT INTO reports (id, network_id, node_mac, version, received_at, probe_request_count, stored_count, duplicate_count) \
             VALUES (1, 0, '', 1, 0, 0, 0, 0)",
        );
        let started = Instant::now();
        exec(db, "BEGIN IMMEDIATE");
        // Today's day partition (made by the migration), with its indexes.
        let table = ncompass::db::partitions::name(ncompass::unix_now().div_euclid(86_400));
        let sql = CString::new(format!(
            "INSERT INTO {table} (report_id, network_id, node_mac, mac, count, min_signal, max_signal, \
             avg_signal, last_seen_signal, first_seen, last_seen, associated, randomized) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT DO NOTHING"
        ))
        .unwrap();
        let mut statement: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
        assert_eq!(
            ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut statement, std::ptr::null_mut()),
            ffi::SQLITE_OK
        );
        let mut inserted = 0u64;
        for (network_id, node, client, probe) in &rows {
            ffi::sqlite3_bind_int64(statement, 1, *network_id);
            ffi::sqlite3_bind_text(
                statement,
                2,
                node.as_ptr().cast(),
                node.len() as i32,
                ffi::SQLITE_STATIC(),
            );
            ffi::sqlite3_bind_text(
                statement,
                3,
                client.as_ptr().cast(),
                client.len() as i32,
                ffi::SQLITE_STATIC(),
            );
            ffi::sqlite3_bind_int64(statement, 4, probe.count);
            ffi::sqlite3_bind_int(statement, 5, probe.min_signal);
            ffi::sqlite3_bind_int(statement, 6, probe.max_signal);
            ffi::sqlite3_bind_int(statement, 7, probe.avg_signal);
            match probe.last_seen_signal {
                Some(signal) => ffi::sqlite3_bind_int(statement, 8, signal),
                None => ffi::sqlite3_bind_null(statement, 8),
            };
            ffi::sqlite3_bind_int64(statement, 9, probe.first_seen);
            ffi::sqlite3_bind_int64(statement, 10, probe.last_seen);
            ffi::sqlite3_bind_int(statement, 11, i32::from(probe.associated));
            ffi::sqlite3_bind_int(statement, 12, i32::from(probe.mac.is_randomized()));
            assert_eq!(ffi::sqlite3_step(statement), ffi::SQLITE_DONE);
            inserted += ffi::sqlite3_changes(db) as u64;
            ffi::sqlite3_reset(statement);
        }
        ffi::sqlite3_finalize(statement);
        exec(db, "COMMIT");
        let elapsed = started.elapsed();
        ffi::sqlite3_close(db);
        (inserted, elapsed)
    }
}

/// Resident memory of process `pid` (VmRSS) and its peak (VmHWM), in MiB.
pub fn resident_memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// ncompass's own storage code without HTTP: the reports of `posts` parsed up front,
/// then stored by `db::reports::store_in_transaction` in transactions of `batch`
/// reports, as the writer does. Splits ingestion's cost between storage and the rest.
pub fn storage_only(path: &std::path::Path, posts: &[Post], batch: usize) -> (u64, Duration) {
    use diesel::connection::SimpleConnection;
    let path = path.to_str().unwrap();
    ncompass::db::migrate(path).unwrap();
    let reports: Vec<ncompass::cloudtrax::Report> = posts
        .iter()
        .map(|(body, _)| {
            ncompass::cloudtrax::parse_report(
                body.as_bytes(),
                &ncompass::cloudtrax::TimeRules::at(ncompass::unix_now()),
            )
            .unwrap()
        })
        .collect();
    let mut conn = ncompass::db::connect(path).unwrap();
    conn.batch_execute("PRAGMA synchronous = FULL;").unwrap();
    let started = Instant::now();
    let mut stored = 0u64;
    for chunk in reports.chunks(batch.max(1)) {
        let chunk: Vec<(&ncompass::cloudtrax::Report, i64)> =
            chunk.iter().map(|report| (report, 0)).collect();
        let results = ncompass::db::write_transaction(&mut conn, |conn| {
            ncompass::db::reports::store_in_transaction(conn, &chunk)
        })
        .unwrap();
        stored += results.iter().map(|r| r.stored as u64).sum::<u64>();
    }
    (stored, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(posts: &[Post]) -> Vec<ncompass::cloudtrax::Report> {
        posts
            .iter()
            .map(|(body, _)| {
                ncompass::cloudtrax::parse_report(
                    body.as_bytes(),
                    &ncompass::cloudtrax::TimeRules::at(ncompass::unix_now()),
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn workload_bodies_are_valid_reports_with_the_asked_mix() {
        for macs in [MacSpread::Realistic, MacSpread::Sequential] {
            let workload = Workload {
                nodes: 3,
                probes: 50,
                macs,
                ..Workload::default()
            };
            let reports = parsed(&workload.posts(6));
            assert!(reports.iter().all(|r| r.probe_requests.len() == 50));
            let nodes: std::collections::HashSet<_> = reports.iter().map(|r| r.node_mac).collect();
            assert_eq!(nodes.len(), 3);
            // Each access point's residents come back in the next period, with new times.
            for report in &reports[..3] {
                let again = reports[3..]
                    .iter()
                    .find(|r| r.node_mac == report.node_mac)
                    .unwrap();
                let (first, again) = (&report.probe_requests[0], &again.probe_requests[0]);
                assert_eq!(first.mac, again.mac, "{macs:?}");
                assert!(again.first_seen >= first.first_seen + 10);
            }
            let all: Vec<_> = reports.iter().flat_map(|r| &r.probe_requests).collect();
            let randomized = all.iter().filter(|p| p.mac.is_randomized()).count() as f64;
            let passers_by = all.len() as f64 * 0.7;
            assert!(
                (randomized / passers_by - 0.4).abs() < 0.1,
                "{randomized} of {passers_by}"
            );
        }
    }

    #[test]
    fn realistic_macs_spread_over_vendors_and_the_key_space_and_clients_are_timed_now() {
        let workload = Workload::default();
        let posts = workload.posts(4_000);
        let reports = parsed(&posts);
        let macs: Vec<u64> = reports
            .iter()
            .flat_map(|r| &r.probe_requests)
            .map(|p| p.mac.to_u64())
            .collect();
        // Unicast, always; randomized ones carry the locally administered bit and
        // nothing else of a vendor's prefix.
        assert!(macs.iter().all(|mac| mac >> 40 & 0x01 == 0));
        let vendors: std::collections::HashSet<u64> = macs
            .iter()
            .filter(|mac| *mac >> 40 & 0x02 == 0)
            .map(|mac| mac >> 24)
            .collect();
        assert!(vendors
            .iter()
            .all(|oui| CLIENT_OUIS.contains(&(*oui as u32))));
        assert!(vendors.len() >= 20, "{} vendors", vendors.len());
        // Spread over the key space: every sixteenth of it holds some MACs (the
        // sequential generator's fall into three).
        let sixteenths: std::collections::HashSet<u64> = macs.iter().map(|mac| mac >> 44).collect();
        assert!(sixteenths.len() >= 12, "{sixteenths:?}");
        // Passers-by are new devices: few MACs repeat beyond the residents.
        let distinct: std::collections::HashSet<&u64> = macs.iter().collect();
        assert!(distinct.len() as f64 > macs.len() as f64 * 0.69);
        // The access points post in a new order every period.
        let order = |period: usize| -> Vec<_> {
            reports[period * 2000..(period + 1) * 2000]
                .iter()
                .map(|r| r.node_mac)
                .collect()
        };
        assert_ne!(order(0), order(1));
        let nodes: std::collections::HashSet<_> = order(0).into_iter().collect();
        assert_eq!(nodes.len(), 2000);
        // The newest observation is under a minute old.
        let newest = reports
            .iter()
            .flat_map(|r| &r.probe_requests)
            .map(|p| p.last_seen)
            .max()
            .unwrap();
        let age = ncompass::unix_now() - newest;
        assert!((0..60).contains(&age), "{age} s old");
    }
}
