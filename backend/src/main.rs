use std::process::ExitCode;

use ncompass::app::config::{Cli, Command};

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse_args();
    ncompass::app::init_logging(&cli.settings.log);
    match ncompass::app::run(cli.command.unwrap_or(Command::Serve), &cli.settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("ncompass: {error}");
            ExitCode::FAILURE
        }
    }
}
