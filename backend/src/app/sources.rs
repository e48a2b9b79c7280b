//! The command line's `source` command: the Meraki networks that post to `/meraki/NAME`,
//! on the same database as a running server (which sees a change at the next post).

use std::io::BufRead;

use super::accounts::{audit, operator, print_table, time};
use crate::app::config::{Settings, SourceCommand};
use crate::db::{self, Database};
use crate::meraki;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs a `source` command.
pub fn source(command: &SourceCommand, settings: &Settings) -> Result<(), Error> {
    match command {
        SourceCommand::Add {
            vendor,
            name,
            validator,
            secret_stdin,
        } => {
            let secret = secret_of(settings, *secret_stdin)?;
            meraki::check_source(name, vendor, validator, &secret)
                .map_err(|error| format!("{}: {}", argument_of(error.field), error.message))?;
            let source = db::sources::Source {
                name: name.clone(),
                vendor: vendor.clone(),
                validator: validator.clone(),
                secret_sha256: meraki::secret_digest(&secret),
                created_at: crate::unix_now(),
                created_by: format!("cli:{}", operator()),
            };
            let db = Database::open(&settings.database, 1)?;
            if !db.run_blocking(|conn| db::sources::add(conn, &source))? {
                return Err(format!(
                    "a source called {name} exists already (remove it first, or pick another name)"
                )
                .into());
            }
            audit(&format!("added {vendor} source {name}"));
            eprintln!(
                "source {name} added: point {vendor}'s Scanning API at <this server's URL>{} \
                 with the same secret; it answers the validator {validator}",
                source.shown().url_path
            );
        }
        SourceCommand::List => {
            let db = Database::open(&settings.database, 1)?;
            let rows = db
                .run_blocking(db::sources::list)?
                .iter()
                .map(|source| {
                    let shown = source.shown();
                    vec![
                        shown.name,
                        shown.vendor,
                        shown.url_path,
                        shown.validator,
                        time(Some(shown.created_at)),
                        shown.created_by,
                    ]
                })
                .collect();
            print_table(
                &["NAME", "VENDOR", "PATH", "VALIDATOR", "CREATED", "BY"],
                rows,
            )?;
        }
        SourceCommand::Remove { name } => {
            let db = Database::open(&settings.database, 1)?;
            if !db.run_blocking(|conn| db::sources::remove(conn, name))? {
                return Err(format!("there is no source called {name}").into());
            }
            audit(&format!("removed source {name}"));
            eprintln!("source {name} removed: /meraki/{name} answers 404 from now on");
        }
    }
    Ok(())
}

/// The new source's secret: standard input's first line with --secret-stdin, else the
/// one --secret given on the command line (NCOMPASS_SECRET, the CloudTrax secret of the
/// environment, is never taken for it).
fn secret_of(settings: &Settings, from_stdin: bool) -> Result<String, Error> {
    if from_stdin {
        if settings.secret_on_command_line {
            return Err("give the secret either with --secret or with --secret-stdin".into());
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    if !settings.secret_on_command_line {
        return Err("a source needs its shared secret: --secret S or --secret-stdin".into());
    }
    match settings.secret.as_slice() {
        [secret] => Ok(secret.clone()),
        _ => Err(
            "--secret takes one secret here (a secret with a comma goes through --secret-stdin)"
                .into(),
        ),
    }
}

/// How the command line names a field of the source.
fn argument_of(field: &str) -> String {
    match field {
        "vendor" => "VENDOR".to_string(),
        "name" => "NAME".to_string(),
        other => format!("--{other}"),
    }
}
