//! Dashboard sessions, kept server-side: the SHA-256 of the cookie's random id, whose
//! user, when it began and when it was last used.

use diesel::prelude::*;

use super::Conn;

use super::schema::{sessions, users};
use super::users::{self as users_db, User};

/// At most this many sessions per user are kept; signing in once more ends the oldest.
pub const KEPT_PER_USER: i64 = 32;

/// How long sessions last, seconds: since the last request, and since signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub idle_s: i64,
    pub max_s: i64,
}

impl Lifetime {
    /// Whether a session that began at `created_at` and was last used at `last_seen_at`
    /// is still valid at `now`.
    pub fn is_live(self, created_at: i64, last_seen_at: i64, now: i64) -> bool {
        now.saturating_sub(last_seen_at) < self.idle_s
            && now.saturating_sub(created_at) < self.max_s
    }
}

/// A stored session with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user: User,
}

/// Stores a new session of `user_id`, whose password was checked against
/// `password_hash`, and deletes the sessions that have ended as well as the user's
/// oldest beyond [`KEPT_PER_USER`]. `false`, storing nothing, when the user is gone or
/// their password changed since it was checked: a password change or a removal ends
/// every session, including one being started at that moment.
pub fn create(
    conn: &mut Conn,
    id_hash: &str,
    user_id: i64,
    password_hash: &str,
    now: i64,
    lifetime: Lifetime,
) -> QueryResult<bool> {
    super::write_transaction(conn, |conn| {
        // SQLite's BEGIN IMMEDIATE already keeps a password change out until this
        // commits; on PostgreSQL the row lock does (the change's UPDATE waits for it, and
        // its DELETE of the user's sessions then sees this one).
        let current: Option<String> = match conn {
            Conn::Sqlite(c) => users::table
                .select(users::password_hash)
                .filter(users::id.eq(user_id))
                .first(c)
                .optional()?,
            Conn::Postgres(c) => users::table
                .select(users::password_hash)
                .filter(users::id.eq(user_id))
                .for_share()
                .first(c)
                .optional()?,
        };
        if current.as_deref() != Some(password_hash) {
            return Ok(false);
        }
        diesel::delete(
            sessions::table.filter(
                sessions::last_seen_at
                    .le(now.saturating_sub(lifetime.idle_s))
                    .or(sessions::created_at.le(now.saturating_sub(lifetime.max_s))),
            ),
        )
        .execute(conn)?;
        let kept: Vec<String> = sessions::table
            .select(sessions::id_hash)
            .filter(sessions::user_id.eq(user_id))
            .order(sessions::created_at.desc())
            .limit(KEPT_PER_USER - 1)
            .load(conn)?;
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::id_hash.ne_all(kept)),
        )
        .execute(conn)?;
        diesel::insert_into(sessions::table)
            .values((
                sessions::id_hash.eq(id_hash),
                sessions::user_id.eq(user_id),
                sessions::created_at.eq(now),
                sessions::last_seen_at.eq(now),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// The session whose id hashes to `id_hash`, with its user; ended or not.
pub fn find(conn: &mut Conn, id_hash: &str) -> QueryResult<Option<Session>> {
    let row: Option<(i64, i64, users_db::Row)> = sessions::table
        .inner_join(users::table)
        .select((
            sessions::created_at,
            sessions::last_seen_at,
            users_db::Row::as_select(),
        ))
        .filter(sessions::id_hash.eq(id_hash))
        .first(conn)
        .optional()?;
    Ok(row.map(|(created_at, last_seen_at, user)| Session {
        created_at,
        last_seen_at,
        user: User::from(user),
    }))
}

/// Records a use of the session.
pub fn touch(conn: &mut Conn, id_hash: &str, now: i64) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::id_hash.eq(id_hash)))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// Ends the session (signing out).
pub fn delete(conn: &mut Conn, id_hash: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::id_hash.eq(id_hash)))
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;
    use api_types::Role;

    const LIFETIME: Lifetime = Lifetime {
        idle_s: 100,
        max_s: 1_000,
    };

    fn count(conn: &mut Conn) -> i64 {
        sessions::table.count().get_result(conn).unwrap()
    }

    #[test]
    fn a_session_starts_only_for_the_password_that_was_checked() {
        let (_dir, mut conn) = migrated();
        assert!(users_db::add(&mut conn, "alice", Role::Viewer, "hash-1", 0).unwrap());
        let alice = users_db::find(&mut conn, "alice").unwrap().unwrap();
        assert!(create(&mut conn, "s1", alice.id, "hash-1", 10, LIFETIME).unwrap());
        assert_eq!(count(&mut conn), 1);
        // The password changed while the old one was being checked: no session, and
        // the change ended the first one.
        assert!(users_db::set_password(&mut conn, "alice", "hash-2", 20).unwrap());
        assert!(!create(&mut conn, "s2", alice.id, "hash-1", 20, LIFETIME).unwrap());
        assert_eq!(count(&mut conn), 0);
        // Removed meanwhile: no session either, and no error.
        assert!(users_db::remove(&mut conn, "alice").unwrap());
        assert!(!create(&mut conn, "s3", alice.id, "hash-2", 30, LIFETIME).unwrap());
        assert_eq!(count(&mut conn), 0);
    }

    #[test]
    fn ended_sessions_and_the_oldest_beyond_the_limit_are_dropped() {
        let (_dir, mut conn) = migrated();
        assert!(users_db::add(&mut conn, "bob", Role::Viewer, "h", 0).unwrap());
        let bob = users_db::find(&mut conn, "bob").unwrap().unwrap();
        for i in 0..(KEPT_PER_USER + 5) {
            assert!(create(&mut conn, &format!("s{i}"), bob.id, "h", i, LIFETIME).unwrap());
        }
        assert_eq!(count(&mut conn), KEPT_PER_USER);
        // Much later every earlier one has ended: only the new one is left.
        assert!(create(&mut conn, "late", bob.id, "h", 10_000, LIFETIME).unwrap());
        assert_eq!(count(&mut conn), 1);
    }
}
