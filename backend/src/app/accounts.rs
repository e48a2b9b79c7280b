//! The command line's `user` and `token` commands: managing who may read and change the
//! data, on the same database file as a running server (which sees the changes within
//! a second).

use std::io::{BufRead, Write};

use api_types::Role;

use crate::app::config::{Settings, TokenCommand, UserCommand};
use crate::db::{self, Database};
use crate::http::auth::credentials;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs a `user` command.
pub fn user(command: &UserCommand, settings: &Settings) -> Result<(), Error> {
    let db = Database::open(&settings.database, 1)?;
    let now = crate::unix_now();
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let name = credentials::normalize_name(name)?;
            let password = read_password(*password_stdin, true)?;
            let hash = credentials::hash_password(&password)?;
            let role = *role;
            let added = db.run_blocking(|conn| db::users::add(conn, &name, role, &hash, now))?;
            if !added {
                return Err(format!("a user named {name} exists already").into());
            }
            audit(&format!("added user {name} with role {}", role.as_str()));
            eprintln!("user {name} added ({})", role.as_str());
        }
        UserCommand::List => {
            let users = db.run_blocking(db::users::list)?;
            let rows = users
                .iter()
                .map(|user| {
                    vec![
                        user.username.clone(),
                        user.role.as_str().to_string(),
                        time(Some(user.created_at)),
                        time(Some(user.password_changed_at)),
                    ]
                })
                .collect();
            print_table(&["NAME", "ROLE", "CREATED", "PASSWORD CHANGED"], rows)?;
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let name = credentials::normalize_name(name)?;
            if db
                .run_blocking(|conn| db::users::find(conn, &name))?
                .is_none()
            {
                return Err(format!("there is no user named {name}").into());
            }
            let password = read_password(*password_stdin, true)?;
            let hash = credentials::hash_password(&password)?;
            if !db.run_blocking(|conn| db::users::set_password(conn, &name, &hash, now))? {
                return Err(format!("there is no user named {name}").into());
            }
            audit(&format!(
                "changed the password of user {name}; their sessions ended"
            ));
            eprintln!("password of {name} changed; their sessions have ended");
        }
        UserCommand::Remove { name } => {
            let name = credentials::normalize_name(name)?;
            if !db.run_blocking(|conn| db::users::remove(conn, &name))? {
                return Err(format!("there is no user named {name}").into());
            }
            audit(&format!("removed user {name}; their sessions ended"));
            eprintln!("user {name} removed; their sessions have ended");
        }
    }
    Ok(())
}

/// Runs a `token` command.
pub fn token(command: &TokenCommand, settings: &Settings) -> Result<(), Error> {
    let db = Database::open(&settings.database, 1)?;
    let now = crate::unix_now();
    match command {
        TokenCommand::Create {
            name,
            role,
            expires,
        } => {
            let name = credentials::normalize_name(name)?;
            let role: Role = *role;
            let expires_at = expires.map(|after| {
                now.saturating_add(i64::try_from(after.as_secs()).unwrap_or(i64::MAX))
            });
            let token = credentials::new_token();
            let hash = credentials::fingerprint(&token);
            let created = db.run_blocking(|conn| {
                db::tokens::create(conn, &name, role, &hash, now, expires_at)
            })?;
            if !created {
                return Err(format!(
                    "a token named {name} exists already (revoke it first, or pick another name)"
                )
                .into());
            }
            audit(&format!("created token {name} with role {}", role.as_str()));
            // The token alone on standard output, for `TOKEN=$(ncompass token create …)`.
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}")?;
            out.flush()?;
            eprintln!(
                "token {name} created ({}, {}); it is shown this once",
                role.as_str(),
                match expires_at {
                    Some(at) => format!("expires {}", time(Some(at))),
                    None => "never expires".to_string(),
                }
            );
        }
        TokenCommand::List => {
            let tokens = db.run_blocking(db::tokens::list)?;
            let rows = tokens
                .iter()
                .map(|token| {
                    let mut expires = token
                        .expires_at
                        .map_or_else(|| "never".to_string(), |at| time(Some(at)));
                    if token.expires_at.is_some_and(|at| at <= now) {
                        expires.push_str(" (expired)");
                    }
                    vec![
                        token.name.clone(),
                        token.role.as_str().to_string(),
                        time(Some(token.created_at)),
                        time(token.last_used_at),
                        expires,
                    ]
                })
                .collect();
            print_table(&["NAME", "ROLE", "CREATED", "LAST USED", "EXPIRES"], rows)?;
        }
        TokenCommand::Revoke { name } => {
            let name = credentials::normalize_name(name)?;
            if !db.run_blocking(|conn| db::tokens::revoke(conn, &name))? {
                return Err(format!("there is no token named {name}").into());
            }
            audit(&format!("revoked token {name}"));
            eprintln!("token {name} revoked");
        }
    }
    Ok(())
}

/// Logs an administrative change with the operating-system user who made it.
pub(super) fn audit(what: &str) {
    tracing::info!(target: "ncompass::audit", by = %operator(), "command line: {what}");
}

/// The operating-system user running the command (the one behind `sudo`, if any).
pub(super) fn operator() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The new password: the first line of standard input, or asked twice on the terminal.
fn read_password(from_stdin: bool, confirm: bool) -> Result<String, Error> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ").map_err(|error| {
            format!("cannot read the password from the terminal ({error}); use --password-stdin")
        })?;
        if confirm {
            let again = rpassword::prompt_password("Password again: ")?;
            if again != first {
                return Err("the two passwords differ".into());
            }
        }
        first
    };
    credentials::check_password(&password)?;
    Ok(password)
}

/// A time as RFC 3339 UTC, to the second; `-` for none.
pub(super) fn time(at: Option<i64>) -> String {
    at.and_then(|at| jiff::Timestamp::from_second(at).ok())
        .map_or_else(
            || "-".to_string(),
            |at| at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// Columns padded to their widest cell.
pub(super) fn print_table(header: &[&str], rows: Vec<Vec<String>>) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let header: Vec<String> = header.iter().map(ToString::to_string).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
