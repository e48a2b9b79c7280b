use std::process::ExitCode;

use clap::Parser;
use ncompass::config::{Cli, Command, Settings};
use ncompass::db::Database;
use ncompass::startup::Application;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.settings.log);
    match run(cli.command.unwrap_or(Command::Serve), &cli.settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("ncompass: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    command: Command,
    settings: &Settings,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match command {
        Command::Serve => Application::build(settings)?.run_until_stopped().await?,
        Command::Migrate => {
            let applied = ncompass::db::migrate(&settings.database)?;
            println!(
                "{}: {} migration(s) applied",
                ncompass::db::redacted(&settings.database),
                applied.len()
            );
        }
        Command::Seed => {
            let db = Database::open(&settings.database, 1)?;
            let privacy = ncompass::privacy::open(settings)?;
            let mut report = ncompass::routes::samples::sample_report()?;
            privacy.apply(&mut report);
            let result = db.run_blocking(|conn| {
                ncompass::db::reports::store(conn, &report, ncompass::unix_now())
            })?;
            println!(
                "{}: sample report stored ({} new probe requests, {} already there)",
                ncompass::db::redacted(&settings.database),
                result.stored,
                result.duplicates
            );
        }
        Command::Openapi => print!("{}", ncompass::openapi::yaml()?),
        Command::Pseudonymize => {
            ncompass::db::migrate(&settings.database)?;
            let key = ncompass::privacy::MacKey::load_or_create(&settings.mac_key_path())?;
            let mut conn = ncompass::db::connect(&settings.database)?;
            let converted = ncompass::privacy::pseudonymize::run(
                &mut conn,
                &key,
                ncompass::privacy::pseudonymize::CHUNK_ROWS,
                None,
                &mut std::io::stderr(),
            )?;
            if converted.already_keyed {
                println!(
                    "{}: its MACs are pseudonymized already; serve it with --mac-privacy keyed",
                    ncompass::db::redacted(&settings.database)
                );
            } else {
                println!(
                    "{}: pseudonymized {} probe requests and {} presence segments; serve it with --mac-privacy keyed",
                    ncompass::db::redacted(&settings.database),
                    converted.probe_requests,
                    converted.presence_segments
                );
            }
        }
        Command::Backup { path } => {
            let copied =
                ncompass::backup::backup(&settings.database, &path, &mut std::io::stderr())?;
            println!(
                "{}: {} probe requests, {} bytes; integrity check ok. The MAC key file ({}) is \
                 not part of it: keep a copy of that too.",
                path.display(),
                copied.probe_requests,
                copied.bytes,
                settings.mac_key_path().display()
            );
        }
        Command::User(command) => ncompass::accounts::user(&command, settings)?,
        Command::Token(command) => ncompass::accounts::token(&command, settings)?,
    }
    Ok(())
}

fn init_logging(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|error| {
        eprintln!("ncompass: ignoring the log filter {filter:?} ({error}); using \"info\"");
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
