//! Bind parameters in hand-written SQL.

use crate::Conn;

/// Bind parameters in hand-written SQL: `?` on SQLite, `$1`, `$2`, ... on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders {
    numbered: bool,
    next: usize,
}

impl Placeholders {
    pub fn of(conn: &Conn) -> Placeholders {
        Placeholders {
            numbered: matches!(conn, Conn::Postgres(_)),
            next: 0,
        }
    }

    /// The next parameter's placeholder.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> String {
        self.next += 1;
        if self.numbered {
            format!("${}", self.next)
        } else {
            "?".to_string()
        }
    }
}

/// One field of every row, as the array a PostgreSQL `unnest($1::type[], ...)` binds:
/// a column of rows sent in one parameter.
pub(crate) fn column<T, R>(rows: &[T], field: impl Fn(&T) -> R) -> Vec<R> {
    rows.iter().map(field).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_database() {
        let (_dir, conn) = crate::tests::migrated();
        let mut sqlite = Placeholders::of(&conn);
        assert_eq!(
            (sqlite.next(), sqlite.next()),
            ("?".to_string(), "?".to_string())
        );
        let mut numbered = Placeholders {
            numbered: true,
            next: 0,
        };
        assert_eq!(
            (numbered.next(), numbered.next()),
            ("$1".to_string(), "$2".to_string())
        );
    }
}
