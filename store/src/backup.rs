//! `ncompass backup PATH`: a consistent copy of the SQLite database, taken while the
//! server runs and keeps ingesting.
//!
//! `VACUUM INTO` reads one snapshot of the database (a read transaction: in WAL mode the
//! writer goes on meanwhile) and writes it, compacted, to a new file. The copy is
//! written beside PATH under a temporary name, checked with `PRAGMA integrity_check`,
//! synced and only then renamed to PATH: PATH is either a whole, checked copy or absent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::Conn;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backup copies an SQLite database; for PostgreSQL use its own tools (pg_dump, or \
         pg_basebackup with WAL archiving)"
    )]
    Postgres,
    #[error("there is no database at {0}")]
    NoDatabase(String),
    #[error("{0} exists already: give a new file (a backup never overwrites)")]
    Exists(String),
    #[error(transparent)]
    Open(#[from] crate::OpenError),
    #[error("the copy failed: {0}")]
    Copy(#[source] diesel::result::Error),
    #[error("the copy at {path} failed its integrity check: {report}")]
    Corrupt { path: String, report: String },
    #[error("cannot finish the copy at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What the copy holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub bytes: u64,
    pub probe_requests: i64,
}

/// Copies the database `database` to `target`, reporting progress to `progress`.
pub fn backup(
    database: &str,
    target: &Path,
    progress: &mut (dyn Write + Send),
) -> Result<Copied, BackupError> {
    if crate::Kind::of(database) == crate::Kind::Postgres {
        return Err(BackupError::Postgres);
    }
    if !Path::new(database).exists() {
        return Err(BackupError::NoDatabase(database.to_string()));
    }
    if target.exists() {
        return Err(BackupError::Exists(target.display().to_string()));
    }
    let io = |source| BackupError::Io {
        path: target.display().to_string(),
        source,
    };
    let partial = partial_path(target);
    // A copy an earlier, interrupted run left behind.
    match std::fs::remove_file(&partial) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(io(error)),
        _ => {}
    }
    let mut conn = crate::connect(database)?;
    let total = database_bytes(&mut conn).map_err(BackupError::Copy)?;

    // The copy's size against the database's, every half second, while it is written.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = Arc::clone(&done);
        let partial = partial.clone();
        move |progress: &mut (dyn Write + Send)| {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                let written = std::fs::metadata(&partial).map_or(0, |m| m.len());
                let _ = writeln!(
                    progress,
                    "backup: {}% ({} of at most {})",
                    (written * 100 / total.max(1)).min(99),
                    mib(written),
                    mib(total)
                );
            }
        }
    };
    let copied = std::thread::scope(|scope| {
        let reporter = scope.spawn(|| watcher(progress));
        let copied = diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(partial.to_string_lossy())
            .execute(&mut conn);
        done.store(true, Ordering::SeqCst);
        let _ = reporter.join();
        copied
    });
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::Copy(error));
    }
    let _ = writeln!(progress, "backup: checking the copy (integrity_check)");
    let checked = check(&partial);
    let probe_requests = match checked {
        Ok(rows) => rows,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::File::open(&partial)
        .and_then(|file| file.sync_all())
        .map_err(io)?;
    // Never over a file that appeared meanwhile.
    std::fs::hard_link(&partial, target).map_err(io)?;
    std::fs::remove_file(&partial).map_err(io)?;
    if let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    let bytes = std::fs::metadata(target).map_or(0, |m| m.len());
    Ok(Copied {
        bytes,
        probe_requests,
    })
}

fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The database's size: pages in use times the page size.
fn database_bytes(conn: &mut Conn) -> QueryResult<u64> {
    #[derive(QueryableByName)]
    struct Size {
        #[diesel(sql_type = BigInt)]
        bytes: i64,
    }
    let size: Size = diesel::sql_query(
        "SELECT (SELECT page_count FROM pragma_page_count()) * \
         (SELECT page_size FROM pragma_page_size()) AS bytes",
    )
    .get_result(conn)?;
    Ok(u64::try_from(size.bytes).unwrap_or(0))
}

/// `PRAGMA integrity_check` of the copy at `path`; its probe requests.
fn check(path: &Path) -> Result<i64, BackupError> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }
    let corrupt = |report: String| BackupError::Corrupt {
        path: path.display().to_string(),
        report,
    };
    let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|error| corrupt(error.to_string()))?;
    conn.batch_execute("PRAGMA query_only = ON")
        .map_err(BackupError::Copy)?;
    let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(|error| corrupt(error.to_string()))?;
    let report: Vec<String> = lines.into_iter().map(|line| line.integrity_check).collect();
    if report != ["ok"] {
        return Err(corrupt(report.join("; ")));
    }
    crate::schema::probe_requests::table
        .count()
        .get_result(&mut conn)
        .map_err(BackupError::Copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_checked_never_overwrites_and_leaves_nothing_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("ncompass.db");
        let source = source.to_str().unwrap();
        crate::migrate(source).unwrap();
        let target = dir.path().join("copy.db");
        let mut progress = Vec::new();
        let copied = backup(source, &target, &mut progress).unwrap();
        assert_eq!(copied.probe_requests, 0);
        assert!(copied.bytes > 0);
        assert!(!partial_path(&target).exists());
        assert!(String::from_utf8(progress)
            .unwrap()
            .contains("integrity_check"));
        assert!(matches!(
            backup(source, &target, &mut Vec::new()),
            Err(BackupError::Exists(_))
        ));
        assert!(matches!(
            backup(
                dir.path().join("missing.db").to_str().unwrap(),
                &dir.path().join("other.db"),
                &mut Vec::new()
            ),
            Err(BackupError::NoDatabase(_))
        ));
        assert!(matches!(
            backup("postgres://x/y", &dir.path().join("pg.db"), &mut Vec::new()),
            Err(BackupError::Postgres)
        ));
        // A damaged copy is refused, and removed.
        std::fs::write(dir.path().join("bad.db"), b"SQLite format 3\0garbage").unwrap();
        assert!(check(&dir.path().join("bad.db")).is_err());
    }
}
