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
            let report = ncompass::routes::samples::sample_report()?;
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
