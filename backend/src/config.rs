//! The command line: subcommands, and settings from flags or `NCOMPASS_*` variables.

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
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
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// SQLite database file; created and migrated at start-up when missing.
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
    /// not set, anyone who can reach the server can post reports.
    #[arg(long, env = "NCOMPASS_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,

    /// Largest webhook body accepted, in bytes (suffixes KiB and MiB allowed); larger
    /// bodies are refused with 413.
    #[arg(long, env = "NCOMPASS_MAX_BODY", default_value = "1MiB", value_parser = parse_size, global = true)]
    pub max_body: usize,

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
    #[arg(long, env = "NCOMPASS_DURABILITY", value_enum, default_value_t = crate::ingest::Durability::Full, global = true)]
    pub durability: crate::ingest::Durability,

    /// Directory of the built dashboard (Trunk's output), served at `/`. When it holds
    /// no index.html, `/` shows a plain page with links to the API instead.
    #[arg(
        long,
        env = "NCOMPASS_STATIC_DIR",
        default_value = "dist",
        global = true
    )]
    pub static_dir: std::path::PathBuf,

    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `ncompass=debug`).
    #[arg(long = "log", env = "RUST_LOG", default_value = "info", global = true)]
    pub log: String,
}

impl Settings {
    /// The webhook secret, treating an empty value as none.
    pub fn webhook_secret(&self) -> Option<&[u8]> {
        self.secret
            .as_deref()
            .filter(|secret| !secret.is_empty())
            .map(str::as_bytes)
    }
}

/// `1048576`, `512KiB`, `1MiB` (also `K`, `KB`, `M`, `MB`, meaning the same powers of two).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size in bytes (like 1048576 or 1MiB)"))?;
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
    fn defaults_and_flags() {
        let cli = Cli::try_parse_from(["ncompass"]).unwrap();
        assert_eq!(cli.command, None);
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
        assert_eq!(cli.settings.webhook_secret(), None);
    }
}
