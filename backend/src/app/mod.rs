//! The application: the command line and settings ([`config`], the only place that
//! reads flags or the environment), start-up ([`startup`]: each subsystem handed its own
//! config), and the CLI commands ([`run`], [`accounts`], [`sources`]).

pub mod accounts;
pub mod config;
pub mod files;
pub mod ground_truth;
pub mod privacy;
pub mod sources;
pub mod startup;

use tracing_subscriber::EnvFilter;

use config::{Command, Settings};

/// Carries out `command` with `settings`: serving, or one of the CLI commands.
pub async fn run(
    command: Command,
    settings: &Settings,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    files::restrict_new_files(settings.group_readable);
    if !matches!(command, Command::Openapi) {
        files::warn_if_loose(
            &settings.database,
            &settings.mac_key_path(),
            settings.group_readable,
        );
    }
    match command {
        Command::Serve => {
            crate::app::startup::Application::build(settings)?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            let applied = crate::db::migrate_with_progress(&settings.database, &mut |line| {
                eprintln!("{line}")
            })?;
            println!(
                "{}: {} migration(s) applied",
                crate::db::redacted(&settings.database),
                applied.len()
            );
        }
        Command::Seed => {
            let db = crate::db::Database::open(&settings.database, 1)?;
            let privacy = crate::app::privacy::open(settings)?;
            let now = crate::clock::Clock::system().now();
            let mut report = crate::http::routes::samples::sample_report(now)?;
            privacy.apply(&mut report);
            let result = db.run_blocking(|conn| crate::db::reports::store(conn, &report, now))?;
            println!(
                "{}: sample report stored ({} new probe requests, {} already there)",
                crate::db::redacted(&settings.database),
                result.stored,
                result.duplicates
            );
        }
        Command::Openapi => print!("{}", crate::http::openapi::yaml()?),
        Command::Pseudonymize => {
            crate::db::migrate(&settings.database)?;
            let key = crate::privacy::MacKey::load_or_create(&settings.mac_key_path())?;
            let mut conn = crate::db::connect(&settings.database)?;
            let converted = crate::db::pseudonymize::run(
                &mut conn,
                &key,
                crate::db::pseudonymize::CHUNK_ROWS,
                None,
                &mut std::io::stderr(),
            )?;
            if converted.already_keyed {
                println!(
                    "{}: its MACs are pseudonymized already; serve it with --mac-privacy keyed",
                    crate::db::redacted(&settings.database)
                );
            } else {
                println!(
                    "{}: pseudonymized {} probe requests, {} presence segments and {} device \
                     descriptions; serve it with --mac-privacy keyed",
                    crate::db::redacted(&settings.database),
                    converted.probe_requests,
                    converted.presence_segments,
                    converted.devices
                );
            }
        }
        Command::Backup { path } => {
            let copied = crate::backup::backup(&settings.database, &path, &mut std::io::stderr())?;
            println!(
                "{}: {} probe requests, {} bytes; integrity check ok. The MAC key file ({}) is \
                 not part of it: keep a copy of that too.",
                path.display(),
                copied.probe_requests,
                copied.bytes,
                settings.mac_key_path().display()
            );
        }
        Command::User(command) => crate::app::accounts::user(&command, settings)?,
        Command::Token(command) => crate::app::accounts::token(&command, settings)?,
        Command::Source(command) => crate::app::sources::source(&command, settings)?,
        Command::GroundTruth(command) => crate::app::ground_truth::run(&command, settings)?,
    }
    Ok(())
}

/// Logs to standard error through `filter` (tracing's EnvFilter syntax).
pub fn init_logging(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|error| {
        eprintln!("ncompass: ignoring the log filter {filter:?} ({error}); using \"info\"");
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
