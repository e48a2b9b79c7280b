//! The command line: subcommands, and settings from flags or `NCOMPASS_*` variables.

use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};

/// Receiver, REST API and dashboard for CloudTrax Wi-Fi presence reports.
///
/// Point each CloudTrax network's Presence Reporting at http://HOST:PORT/receive and set
/// the same secret there and in --secret. Every setting can also come from the
/// environment variable named beside it; a flag wins over the variable.
#[derive(Debug, Parser)]
#[command(name = "ncompass", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    /// What to do; `serve` when left out.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the webhook, the API and the dashboard until
    /// SIGINT or SIGTERM (requests in flight are finished first).
    Serve,
    /// Create the database file if needed and apply pending migrations, then exit.
    Migrate,
    /// Store the sample CloudTrax report (5 probe requests), as POST /api/v1/samples
    /// does. Idempotent.
    Seed,
    /// Print the OpenAPI document of the REST API as YAML (what openapi.yaml holds).
    Openapi,
    /// Rewrite the client MACs of an existing database as keyed pseudonyms (to serve it
    /// with --mac-privacy keyed from then on), in chunks, with progress on standard
    /// error. Stop the server first. An interrupted run goes on where it stopped when
    /// run again.
    Pseudonymize,
    /// Write a consistent copy of the SQLite database to PATH while the server runs and
    /// keeps ingesting, then check the copy (`PRAGMA integrity_check`). PATH must not
    /// exist yet.
    Backup {
        /// Where the copy goes; a new file.
        path: std::path::PathBuf,
    },
    /// Manage the people who sign in to the dashboard (works while the server runs).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the API tokens of programs (works while the server runs).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the vendor sources: the Meraki networks that post to /meraki/NAME (works
    /// while the server runs; every instance on the database sees them).
    #[command(subcommand)]
    Source(SourceCommand),
    /// Counts of people taken by other means (a door counter, a manual tally), to
    /// check and calibrate the estimates against (works while the server runs).
    #[command(subcommand, name = "ground-truth")]
    GroundTruth(GroundTruthCommand),
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum GroundTruthCommand {
    /// Import counts from a CSV file with the header
    /// `network_id,zone,since,until,people,source` (zone may be empty; since and until
    /// Unix seconds or RFC 3339 times like 2026-12-01T10:00:00+01:00). Every line is
    /// checked first: one bad line imports nothing and says which.
    Import {
        /// The CSV file (`-` for standard input).
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum SourceCommand {
    /// Add a source: `source add meraki NAME --validator V --secret S`. Meraki's
    /// dashboard then gets http(s)://HOST/meraki/NAME, the same secret, and checks that
    /// the URL answers V. The secret is kept only as its SHA-256; --secret-stdin reads
    /// it from standard input's first line instead of the command line.
    Add {
        /// The vendor; `meraki` (CloudTrax posts to /receive and needs no source).
        vendor: String,
        /// Lower-case letters, digits, `-` and `_`: the last part of the URL.
        name: String,
        /// The validator string Meraki shows beside the Scanning API's URL.
        #[arg(long)]
        validator: String,
        /// Read the secret from standard input (its first line).
        #[arg(long)]
        secret_stdin: bool,
    },
    /// List the sources: name, vendor, URL path, validator, created (never the secret).
    List,
    /// Remove a source: its URL answers 404 from then on. What it stored stays.
    Remove { name: String },
}

impl Cli {
    /// Parses the process's arguments (exits with clap's message when they are wrong).
    pub fn parse_args() -> Self {
        Self::try_parse_args_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    /// Parses `args`, noting where --secret came from (see
    /// [`Settings::secret_on_command_line`]).
    pub fn try_parse_args_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let matches = Self::command().try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        let given_on_line = |matches: &clap::ArgMatches| {
            matches.value_source("secret") == Some(clap::parser::ValueSource::CommandLine)
        };
        cli.settings.secret_on_command_line = given_on_line(&matches)
            || matches.subcommand().is_some_and(|(_, sub)| {
                given_on_line(sub) || sub.subcommand().is_some_and(|(_, sub)| given_on_line(sub))
            });
        Ok(cli)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is asked on the terminal, or read from standard input
    /// with --password-stdin (its first line).
    Add {
        /// Letters, digits and . _ @ - (stored in lower case).
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: api_types::Role,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users: name, role, created, password changed.
    List,
    /// Change a user's password; their sessions end.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user; their sessions end.
    Remove { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it alone on standard output. It is shown this once:
    /// only its SHA-256 is kept.
    Create {
        /// Names the token in `token list`, `token revoke` and the audit log.
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: api_types::Role,
        /// The token stops working after this long, like 90d or 12h; never when left
        /// out.
        #[arg(long, value_parser = parse_duration)]
        expires: Option<Duration>,
    },
    /// List the tokens: name, role, created, last used, expiry (never the token).
    List,
    /// Revoke a token: it stops working at once.
    Revoke { name: String },
}

/// `viewer` or `admin`.
/// A count that clap has bounded as a u32.
fn usize_of(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn parse_role(text: &str) -> Result<api_types::Role, String> {
    api_types::Role::parse(text.trim())
        .ok_or_else(|| format!("{text:?} is not a role: use viewer or admin"))
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// The database: an SQLite file's path (the default; created when missing), or a
    /// PostgreSQL URL (`postgres://user:password@host:5432/dbname`). Migrated at start-up.
    #[arg(
        long,
        env = "NCOMPASS_DATABASE",
        default_value = "ncompass.db",
        global = true
    )]
    pub database: String,

    /// Address and port to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "NCOMPASS_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Shared secret of the CloudTrax webhook. When set, every report must carry a
    /// `Signature` header holding the HMAC-SHA256 of its body under this secret; when
    /// not set, anyone who can reach the server can post reports. Give it several
    /// times (in the variable: separated by commas) to accept a report signed with any
    /// of them, so the secret can be changed in CloudTrax without losing a report.
    #[arg(
        long,
        env = "NCOMPASS_SECRET",
        hide_env_values = true,
        value_delimiter = ',',
        global = true
    )]
    pub secret: Vec<String>,

    /// Whether --secret was given on the command line (not only through NCOMPASS_SECRET):
    /// `source add` takes the source's secret from it.
    #[arg(skip)]
    pub secret_on_command_line: bool,

    /// Largest webhook body accepted, in bytes (suffixes KiB and MiB allowed); larger
    /// bodies are refused with 413.
    #[arg(long, env = "NCOMPASS_MAX_BODY", default_value = "1MiB", value_parser = parse_size, global = true)]
    pub max_body: usize,

    /// Largest Meraki Scanning API post accepted (`/meraki/NAME`), in bytes (suffixes
    /// KiB and MiB allowed): Meraki posts thousands of observations at once (a 10,000-
    /// observation v3 post is about 6 MiB). Larger posts are refused with 413.
    #[arg(long, env = "NCOMPASS_MERAKI_MAX_BODY", default_value = "16MiB", value_parser = parse_size, global = true)]
    pub meraki_max_body: usize,

    /// How many probe requests may wait for the writer before new reports are refused
    /// with 503 (a report counts as at least 1). Bounds memory when the disk falls
    /// behind.
    #[arg(
        long,
        env = "NCOMPASS_QUEUE_LIMIT",
        default_value_t = 200_000,
        global = true
    )]
    pub queue_limit: u64,

    /// When a report counts as stored: `full` survives a power loss (an fsync per
    /// batch of reports), `normal` survives a crash of the process only.
    #[arg(long, env = "NCOMPASS_DURABILITY", value_parser = durability_parser(), default_value_t = crate::pipeline::Durability::Full, global = true)]
    pub durability: crate::pipeline::Durability,

    /// The longest time one probe request may span (`last_seen - first_seen`), like
    /// `30m`, `1h` or `2d` (at most 7 days); a report holding a longer one is refused
    /// with 422. Real observations span about a reporting interval; a much longer one
    /// comes from an access point whose clock was reset.
    #[arg(long, env = "NCOMPASS_MAX_SPAN", default_value = "1h", value_parser = parse_max_span, global = true)]
    pub max_span: Duration,

    /// How long a client may take to send a webhook body once its request line and
    /// headers have arrived, like `10s`; a slower body is answered 408 and its
    /// connection closed.
    #[arg(long, env = "NCOMPASS_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub body_timeout: Duration,

    /// How long a report waits for the writer to store it before it is answered 503
    /// with `Retry-After` (the writer is stalled or restarting), like `30s`.
    #[arg(long, env = "NCOMPASS_REPLY_TIMEOUT", default_value = "30s", value_parser = parse_duration, global = true)]
    pub reply_timeout: Duration,

    /// How many analytics requests (`/api/v1/stats/*`, a device's visits) may compute
    /// at once; more are answered 503 with `Retry-After`. Default: the number of cores.
    #[arg(long, env = "NCOMPASS_ANALYTICS_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..=1024), global = true)]
    pub analytics_concurrency: Option<u32>,

    /// Files NCompass creates (the SQLite database with its WAL and shared-memory files,
    /// backups, the MAC key) are readable by their owner only (0600); with this, also by
    /// the owner's group (0640), e.g. for a reporting job that reads the file. Existing
    /// files readable more widely than that are named in a warning at start-up.
    #[arg(long, env = "NCOMPASS_GROUP_READABLE", global = true)]
    pub group_readable: bool,

    /// How many client connections may be open at once; past it a request is answered
    /// 503 with `Retry-After` and its connection closed (and twice as many are not even
    /// accepted). Bounds the file descriptors and memory idle or trickling clients hold.
    #[arg(long, env = "NCOMPASS_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000).map(usize_of), global = true)]
    pub max_connections: usize,

    /// How many exports (`/api/v1/probe-requests/export`) may stream at once; more are
    /// answered 503 with `Retry-After`. Each holds a database connection and a buffer of
    /// a few MB while its client reads.
    #[arg(long, env = "NCOMPASS_MAX_EXPORTS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024).map(usize_of), global = true)]
    pub max_exports: usize,

    /// Directory of the built dashboard (Trunk's output), served at `/`. When it holds
    /// no index.html, `/` shows a plain page with links to the API instead.
    #[arg(
        long,
        env = "NCOMPASS_STATIC_DIR",
        default_value = "dist",
        global = true
    )]
    pub static_dir: std::path::PathBuf,

    /// The IEEE registry of MAC blocks (its CSV), for the `vendor` of each row: Debian's
    /// copy (package `ieee-data`, which `make run` installs) by default. Read once at
    /// start-up; without it, `vendor` is null but for randomized MACs.
    #[arg(
        long,
        env = "NCOMPASS_OUI_FILE",
        default_value = ncompass_core::oui::DEFAULT_FILE,
        global = true
    )]
    pub oui_file: std::path::PathBuf,

    /// The address people and programs reach NCompass at, like
    /// `https://ncompass.example.org` (through a TLS proxy). Its origin is the only one
    /// from which a signed-in browser may change data, and when it is https the session
    /// cookie is marked `Secure`. Without it a request's own `Host` is taken as the
    /// dashboard's origin.
    #[arg(long, env = "NCOMPASS_PUBLIC_URL", value_parser = parse_public_url, global = true)]
    pub public_url: Option<String>,

    /// Address of a reverse proxy in front of NCompass (nginx), whose
    /// `X-Forwarded-For` names the real client: sign-in slow-down and the audit log then
    /// count clients, not the proxy. Give it several times (in the variable: separated
    /// by commas). Never give an address that untrusted clients connect from.
    #[arg(
        long,
        env = "NCOMPASS_TRUSTED_PROXY",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxy: Vec<std::net::IpAddr>,

    /// How client MACs are stored: `raw`, as heard; or `keyed`, replaced before anything
    /// is stored or logged by a pseudonym (HMAC-SHA256 under the key in
    /// --mac-key-file, shown as a locally administered MAC), so the database never holds
    /// a real client MAC. A database keeps the mode it was first served in: convert an
    /// existing one with `ncompass pseudonymize`.
    #[arg(long, env = "NCOMPASS_MAC_PRIVACY", value_parser = mac_privacy_parser(), default_value_t = crate::privacy::MacPrivacy::Raw, global = true)]
    pub mac_privacy: crate::privacy::MacPrivacy,

    /// The secret key of the MAC pseudonyms and of the opt-out list (64 hex digits),
    /// created (mode 0600) when missing. Default: the SQLite database's path plus
    /// `.key`, or `ncompass.key` in the working directory for PostgreSQL (every instance
    /// needs the same file). Keep it out of the database's backups' reach, and back it
    /// up on its own: without it no stored device can be found by its MAC.
    #[arg(long, env = "NCOMPASS_MAC_KEY_FILE", global = true)]
    pub mac_key_file: Option<std::path::PathBuf>,

    /// Delete probe requests (and then their reports, and rejections) this long after
    /// their `last_seen`, like `24h` or `30d`; kept for ever when not set.
    #[arg(long, env = "NCOMPASS_KEEP_PROBE_REQUESTS", value_parser = parse_keep, global = true)]
    pub keep_probe_requests: Option<Duration>,

    /// Delete presence segments (what the presence figures are computed from) this
    /// long after they end, like `400d`; kept for ever when not set. Figures of a range
    /// keep working after its probe requests are deleted, as long as its segments are
    /// kept.
    #[arg(long, env = "NCOMPASS_KEEP_PRESENCE", value_parser = parse_keep, global = true)]
    pub keep_presence: Option<Duration>,

    /// An access point that has reported before and sent nothing for this long, like
    /// `5m`, is silent: `/api/v1/nodes` and the dashboard say so, and each
    /// --alert-webhook is told.
    #[arg(long, env = "NCOMPASS_SILENCE_AFTER", default_value = "5m", value_parser = parse_duration, global = true)]
    pub silence_after: Duration,

    /// A URL (http or https) to POST a JSON event to when an access point goes silent
    /// and when it comes back. Give it several times (in the variable: separated by
    /// commas) for several receivers; each gets every event at least once, retried with
    /// exponential backoff for up to an hour.
    #[arg(
        long,
        env = "NCOMPASS_ALERT_WEBHOOK",
        value_delimiter = ',',
        value_parser = parse_alert_url,
        global = true
    )]
    pub alert_webhook: Vec<String>,

    /// Secret that signs each alert event: its `Signature` header holds the lower-case
    /// hex HMAC-SHA256 of the exact body under this secret (as CloudTrax signs reports).
    /// Unsigned when not set.
    #[arg(
        long,
        env = "NCOMPASS_ALERT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub alert_secret: Option<String>,

    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `ncompass=debug`).
    #[arg(long = "log", env = "RUST_LOG", default_value = "info", global = true)]
    pub log: String,
}

impl Settings {
    /// The MAC key file: `--mac-key-file`, or its default beside the database.
    pub fn mac_key_path(&self) -> std::path::PathBuf {
        self.mac_key_file
            .clone()
            .unwrap_or_else(|| default_key_file(&self.database))
    }

    /// What the ingestion pipeline is started with.
    pub fn ingest_config(&self) -> crate::pipeline::IngestConfig {
        crate::pipeline::IngestConfig {
            database: self.database.clone(),
            queue_limit: self.queue_limit,
            durability: self.durability,
            reply_timeout: self.reply_timeout,
        }
    }

    /// What the silence monitor and the alert deliveries are started with.
    pub fn alert_config(&self) -> crate::pipeline::alerts::AlertConfig {
        crate::pipeline::alerts::AlertConfig::new(
            self.silence_after,
            self.alert_webhook.clone(),
            self.alert_secret.as_deref(),
        )
    }

    /// The analytics concurrency: the setting, or the number of cores.
    pub fn analytics_slots(&self) -> usize {
        self.analytics_concurrency.map_or_else(
            || std::thread::available_parallelism().map_or(2, usize::from),
            |slots| usize::try_from(slots).unwrap_or(1),
        )
    }

    /// The webhook secrets, leaving out empty values. None: ingestion is open.
    pub fn webhook_secrets(&self) -> Vec<Vec<u8>> {
        self.secret
            .iter()
            .filter(|secret| !secret.is_empty())
            .map(|secret| secret.as_bytes().to_vec())
            .collect()
    }

    /// Which secrets (1-based, in the order given) start or end with whitespace: a line
    /// end read from a file along with the secret makes every report a 401, so start-up
    /// warns of it.
    pub fn secrets_with_whitespace(&self) -> Vec<usize> {
        self.secret
            .iter()
            .filter(|secret| !secret.is_empty())
            .enumerate()
            .filter(|(_, secret)| secret.trim() != secret.as_str())
            .map(|(i, _)| i + 1)
            .collect()
    }
}

/// The default key file: beside an SQLite database (`ncompass.db.key`), or
/// `ncompass.key` in the working directory for PostgreSQL.
pub fn default_key_file(database: &str) -> std::path::PathBuf {
    match crate::db::Kind::of(database) {
        crate::db::Kind::Sqlite => std::path::PathBuf::from(format!("{database}.key")),
        crate::db::Kind::Postgres => std::path::PathBuf::from("ncompass.key"),
    }
}

/// A flag whose values are a lower layer's type (which knows no clap): the values and
/// their help as `--help` lists them, each parsed by the type's own `FromStr`.
fn choices<T>(
    values: &'static [(&'static str, &'static str)],
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    PossibleValuesParser::new(
        values
            .iter()
            .map(|(name, help)| PossibleValue::new(*name).help(*help)),
    )
    .try_map(|text| text.parse::<T>())
}

/// `--durability`: the storage's own type.
fn durability_parser() -> impl clap::builder::TypedValueParser<Value = crate::pipeline::Durability>
{
    choices(&[
        ("full", "synchronous=FULL: a 2xx survives a power loss (one fsync per batch)"),
        ("normal", "synchronous=NORMAL: a 2xx survives a crash of the process; a power loss may take back the last commits (never corrupts the file)"),
    ])
}

/// `--mac-privacy`: the domain's own type.
fn mac_privacy_parser() -> impl clap::builder::TypedValueParser<Value = crate::privacy::MacPrivacy>
{
    choices(&[
        ("raw", "As the access point heard them"),
        (
            "keyed",
            "Replaced by a keyed pseudonym before anything is stored or logged",
        ),
    ])
}

/// An http or https URL with a host.
fn parse_public_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("{text:?} is not an http:// or https:// URL"))?;
    if rest.split('/').next().unwrap_or_default().is_empty() {
        return Err(format!("{text:?} names no host"));
    }
    Ok(text.to_string())
}

/// An alert receiver: an http or https URL with a host. Empty values (a trailing comma
/// in the variable) are refused rather than silently dropped.
/// The message never repeats the URL: it may hold a token, and lands in the journal.
fn parse_alert_url(text: &str) -> Result<String, String> {
    let url = parse_public_url(text).map_err(|_| {
        "an alert receiver must be an http:// or https:// URL with a host".to_string()
    })?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an alert receiver's URL must not hold whitespace".to_string());
    }
    Ok(url)
}

/// `"512KiB"` as `("512", "KiB")`: the leading digits and the rest, trimmed.
fn number_and_unit(text: &str) -> (&str, &str) {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    (digits, unit.trim())
}

/// `1048576`, `512KiB`, `1MiB` (also `K`, `KB`, `M`, `MB`, meaning the same powers of two).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let (digits, unit) = number_and_unit(text);
    let number: usize = digits.parse().map_err(|_| {
        format!(
            "{:?} is not a size in bytes (like 1048576 or 1MiB)",
            text.trim()
        )
    })?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("unknown size unit {unit:?}; use bytes, KiB or MiB")),
    };
    let size = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if size == 0 {
        return Err("the size must be at least 1 byte".to_string());
    }
    Ok(size)
}

/// `90` (seconds), `90s`, `15m`, `24h`, `30d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (digits, unit) = number_and_unit(text);
    let number: u64 = digits.parse().map_err(|_| {
        format!(
            "{:?} is not a duration (like 90s, 15m, 24h or 30d)",
            text.trim()
        )
    })?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => return Err(format!("unknown duration unit {other:?}; use s, m, h or d")),
    };
    let seconds = number
        .checked_mul(seconds_per_unit)
        .filter(|seconds| *seconds <= 365 * 86_400)
        .ok_or_else(|| format!("{text:?} is too long (at most a year)"))?;
    if seconds == 0 {
        return Err("the duration must be at least 1 second".to_string());
    }
    Ok(Duration::from_secs(seconds))
}

/// A retention period: like [`parse_duration`], up to 100 years.
fn parse_keep(text: &str) -> Result<Duration, String> {
    let (digits, unit) = number_and_unit(text);
    let days: Option<u64> = match unit {
        "d" => digits.parse().ok(),
        _ => None,
    };
    match days {
        Some(days) if days > 365 => {
            if days > 36_500 {
                return Err(format!("{text:?} is too long (at most 36500d)"));
            }
            Ok(Duration::from_secs(days * 86_400))
        }
        _ => parse_duration(text),
    }
}

/// A [`parse_duration`] of at most [`crate::cloudtrax::MAX_SPAN_LIMIT_S`].
fn parse_max_span(text: &str) -> Result<Duration, String> {
    let span = parse_duration(text)?;
    if span.as_secs() > crate::cloudtrax::MAX_SPAN_LIMIT_S.unsigned_abs() {
        return Err(format!(
            "{text:?} is longer than the largest span accepted, 7d"
        ));
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("1MiB"), Ok(1_048_576));
        assert_eq!(parse_size("512KiB"), Ok(524_288));
        assert_eq!(parse_size("2 mb"), Ok(2_097_152));
        assert!(parse_size("").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("1GiB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999999MiB").is_err());
    }

    #[test]
    fn source_add_knows_whether_its_secret_came_from_the_command_line() {
        let cli = Cli::try_parse_args_from([
            "ncompass",
            "source",
            "add",
            "meraki",
            "lobby",
            "--validator",
            "v",
            "--secret",
            "s3cret-x",
        ])
        .unwrap();
        assert!(cli.settings.secret_on_command_line);
        assert_eq!(cli.settings.secret, ["s3cret-x"]);
        assert_eq!(
            cli.command,
            Some(Command::Source(SourceCommand::Add {
                vendor: "meraki".into(),
                name: "lobby".into(),
                validator: "v".into(),
                secret_stdin: false,
            }))
        );
        let cli = Cli::try_parse_args_from(["ncompass", "source", "list"]).unwrap();
        assert!(!cli.settings.secret_on_command_line);
    }

    #[test]
    fn secrets_rotate_given_several_times_or_separated_by_commas() {
        let cli = Cli::try_parse_from(["ncompass", "--secret", "old", "--secret", "new "]).unwrap();
        assert_eq!(
            cli.settings.webhook_secrets(),
            [b"old".to_vec(), b"new ".to_vec()]
        );
        assert_eq!(cli.settings.secrets_with_whitespace(), [2]);
        let cli = Cli::try_parse_from(["ncompass", "--secret", "a,b,,c"]).unwrap();
        assert_eq!(
            cli.settings.webhook_secrets(),
            [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert!(cli.settings.secrets_with_whitespace().is_empty());
        let cli = Cli::try_parse_from(["ncompass"]).unwrap();
        assert!(cli.settings.webhook_secrets().is_empty());
    }

    #[test]
    fn account_commands() {
        let cli = Cli::try_parse_from([
            "ncompass",
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .unwrap();
        assert_eq!(
            cli.command,
            Some(Command::User(UserCommand::Add {
                name: "alice".to_string(),
                role: api_types::Role::Admin,
                password_stdin: true
            }))
        );
        assert!(Cli::try_parse_from(["ncompass", "user", "add", "bob", "--role", "root"]).is_err());
        let cli = Cli::try_parse_from([
            "ncompass",
            "token",
            "create",
            "--name",
            "prometheus",
            "--role",
            "viewer",
            "--expires",
            "90d",
        ])
        .unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Token(TokenCommand::Create {
                name: "prometheus".to_string(),
                role: api_types::Role::Viewer,
                expires: Some(Duration::from_secs(90 * 86_400))
            }))
        );
        assert!(Cli::try_parse_from(["ncompass", "--public-url", "ftp://x"]).is_err());
        assert!(Cli::try_parse_from(["ncompass", "--public-url", "https://"]).is_err());
        let cli = Cli::try_parse_from(["ncompass", "--trusted-proxy", "127.0.0.1,::1"]).unwrap();
        assert_eq!(cli.settings.trusted_proxy.len(), 2);
        assert!(Cli::try_parse_from(["ncompass", "--trusted-proxy", "localhost"]).is_err());
        let cli = Cli::try_parse_from(["ncompass", "--public-url", "https://n.example/"]).unwrap();
        assert_eq!(
            cli.settings.public_url.as_deref(),
            Some("https://n.example/")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(2_592_000)));
        for bad in [
            "",
            "0",
            "0s",
            "-1s",
            "1.5h",
            "1w",
            "h",
            "366d",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_max_span("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_keep("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_keep("400d"), Ok(Duration::from_secs(400 * 86_400)));
        assert!(parse_keep("36501d").is_err());
        assert!(parse_keep("0d").is_err());
        assert!(parse_max_span("8d").is_err());
    }

    #[test]
    fn defaults_and_flags() {
        let cli = Cli::try_parse_from(["ncompass"]).unwrap();
        assert_eq!(cli.command, None);
        assert_eq!(cli.settings.max_span, Duration::from_secs(3_600));
        assert_eq!(cli.settings.body_timeout, Duration::from_secs(10));
        assert_eq!(cli.settings.reply_timeout, Duration::from_secs(30));
        assert_eq!(cli.settings.analytics_concurrency, None);
        assert_eq!(cli.settings.mac_privacy, crate::privacy::MacPrivacy::Raw);
        assert_eq!(cli.settings.keep_probe_requests, None);
        assert_eq!(
            cli.settings.mac_key_path(),
            std::path::PathBuf::from("ncompass.db.key")
        );
        let cli = Cli::try_parse_from([
            "ncompass",
            "--mac-privacy",
            "keyed",
            "--keep-probe-requests",
            "24h",
            "--keep-presence",
            "400d",
            "--database",
            "postgres://db/ncompass",
        ])
        .unwrap();
        assert_eq!(cli.settings.mac_privacy, crate::privacy::MacPrivacy::Keyed);
        assert_eq!(
            cli.settings.keep_probe_requests,
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            cli.settings.keep_presence,
            Some(Duration::from_secs(400 * 86_400))
        );
        assert_eq!(
            cli.settings.mac_key_path(),
            std::path::PathBuf::from("ncompass.key")
        );
        assert!(Cli::try_parse_from(["ncompass", "--mac-privacy", "hashed"]).is_err());
        assert_eq!(cli.settings.silence_after, Duration::from_secs(300));
        assert!(cli.settings.alert_webhook.is_empty());
        let cli = Cli::try_parse_from([
            "ncompass",
            "--silence-after",
            "2h",
            "--alert-webhook",
            "https://hooks.example/a,http://127.0.0.1:9/b",
            "--alert-webhook",
            "https://hooks.example/c",
        ])
        .unwrap();
        assert_eq!(cli.settings.silence_after, Duration::from_secs(7_200));
        assert_eq!(cli.settings.alert_webhook.len(), 3);
        for bad in ["ftp://x", "hooks.example", "https://", "https://a b"] {
            assert!(
                Cli::try_parse_from(["ncompass", "--alert-webhook", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(cli.settings.analytics_slots() >= 1);
        let cli = Cli::try_parse_from([
            "ncompass",
            "serve",
            "--bind",
            "0.0.0.0:9000",
            "--max-body",
            "2MiB",
            "--secret",
            "",
        ])
        .unwrap();
        assert_eq!(cli.command, Some(Command::Serve));
        assert_eq!(cli.settings.bind, "0.0.0.0:9000");
        assert_eq!(cli.settings.max_body, 2 * 1024 * 1024);
        assert!(cli.settings.webhook_secrets().is_empty());
    }
}
