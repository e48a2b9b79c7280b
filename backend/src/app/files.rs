//! The files that hold personal data (phones' MACs, password hashes): the SQLite
//! database with its WAL and shared-memory files, backups, the MAC key. Every file the
//! process creates is private (umask 077, or 027 with `--group-readable`), and existing
//! ones readable more widely are named at start-up.

use std::path::{Path, PathBuf};

/// Makes every file this process creates from now on private to its owner (and its
/// group when `group_readable`), whatever the umask it was started with.
pub fn restrict_new_files(group_readable: bool) {
    let mask = if group_readable { 0o027 } else { 0o077 };
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
}

/// The files of `database` (an SQLite path; nothing for a PostgreSQL URL) and the key
/// file that exist and may be read by more than the owner (and the group when
/// `group_readable`), with their modes.
pub fn loose(database: &str, key_file: &Path, group_readable: bool) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let allowed = if group_readable { 0o750 } else { 0o700 };
    let mut paths = vec![key_file.to_path_buf()];
    if crate::db::Kind::of(database) == crate::db::Kind::Sqlite {
        paths.extend(
            ["", "-wal", "-shm"]
                .iter()
                .map(|suffix| PathBuf::from(format!("{database}{suffix}"))),
        );
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let mode = std::fs::metadata(&path).ok()?.permissions().mode() & 0o777;
            (mode & !allowed != 0).then_some((path, mode))
        })
        .collect()
}

/// Logs a warning naming each [`loose`] file and how to fix it.
pub fn warn_if_loose(database: &str, key_file: &Path, group_readable: bool) {
    let fix = if group_readable { "640" } else { "600" };
    for (path, mode) in loose(database, key_file, group_readable) {
        tracing::warn!(
            "{} holds personal data and is readable by other users (mode {mode:04o}): \
             run `chmod {fix} {}`",
            path.display(),
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn loose_files_are_found_and_private_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("x.db");
        let key = dir.path().join("x.key");
        for (path, mode) in [(&database, 0o644), (&key, 0o600)] {
            std::fs::write(path, "").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let database = database.to_str().unwrap();
        assert_eq!(
            loose(database, &key, false),
            [(PathBuf::from(database), 0o644)]
        );
        std::fs::set_permissions(database, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(loose(database, &key, true).is_empty());
        assert_eq!(loose(database, &key, false).len(), 1);
        assert!(loose("postgres://u@h/db", &key, false).is_empty());
    }
}
