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

/// Stores a new session of `user_id`, and deletes the sessions that have ended as well
/// as the user's oldest beyond [`KEPT_PER_USER`].
pub fn create(
    conn: &mut Conn,
    id_hash: &str,
    user_id: i64,
    now: i64,
    lifetime: Lifetime,
) -> QueryResult<()> {
    super::write_transaction(conn, |conn| {
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
            .execute(conn)
            .map(drop)
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
