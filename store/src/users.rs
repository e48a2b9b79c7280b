//! People who sign in to the dashboard: name, role and Argon2id password hash.

use api_types::Role;
use diesel::prelude::*;

use super::Conn;

use super::schema::{api_tokens, sessions, users};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: i64,
    pub password_changed_at: i64,
}

/// A row of `users` as diesel reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(super) struct Row {
    id: i64,
    username: String,
    role: String,
    password_hash: String,
    created_at: i64,
    password_changed_at: i64,
}

impl From<Row> for User {
    fn from(row: Row) -> User {
        User {
            id: row.id,
            username: row.username,
            // The table's CHECK admits only the two roles; anything else gets the lesser.
            role: Role::parse(&row.role).unwrap_or(Role::Viewer),
            password_hash: row.password_hash,
            created_at: row.created_at,
            password_changed_at: row.password_changed_at,
        }
    }
}

/// Adds a user; `false` when the name is taken.
pub fn add(
    conn: &mut Conn,
    username: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> QueryResult<bool> {
    super::unless_taken(
        diesel::insert_into(users::table)
            .values((
                users::username.eq(username),
                users::role.eq(role.as_str()),
                users::password_hash.eq(password_hash),
                users::created_at.eq(now),
                users::password_changed_at.eq(now),
            ))
            .execute(conn),
    )
}

pub fn find(conn: &mut Conn, username: &str) -> QueryResult<Option<User>> {
    users::table
        .select(Row::as_select())
        .filter(users::username.eq(username))
        .first(conn)
        .optional()
        .map(|row| row.map(User::from))
}

/// Every user, by name.
pub fn list(conn: &mut Conn) -> QueryResult<Vec<User>> {
    Ok(users::table
        .select(Row::as_select())
        .order(users::username)
        .load(conn)?
        .into_iter()
        .map(User::from)
        .collect())
}

/// Replaces the password hash and ends every session of the user; `false` when there is
/// no such user.
pub fn set_password(
    conn: &mut Conn,
    username: &str,
    password_hash: &str,
    now: i64,
) -> QueryResult<bool> {
    super::write_transaction(conn, |conn| {
        let Some(found) = find(conn, username)? else {
            return Ok(false);
        };
        diesel::update(users::table.filter(users::id.eq(found.id)))
            .set((
                users::password_hash.eq(password_hash),
                users::password_changed_at.eq(now),
            ))
            .execute(conn)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(found.id))).execute(conn)?;
        Ok(true)
    })
}

/// Removes the user and ends their sessions; `false` when there is no such user.
pub fn remove(conn: &mut Conn, username: &str) -> QueryResult<bool> {
    super::write_transaction(conn, |conn| {
        let Some(found) = find(conn, username)? else {
            return Ok(false);
        };
        diesel::delete(sessions::table.filter(sessions::user_id.eq(found.id))).execute(conn)?;
        diesel::delete(users::table.filter(users::id.eq(found.id))).execute(conn)?;
        Ok(true)
    })
}

/// Whether any user or API token exists: without one, the server is in protected mode.
pub fn any_credentials(conn: &mut Conn) -> QueryResult<bool> {
    let users: bool =
        diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result(conn)?;
    if users {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(
        api_tokens::table.select(api_tokens::id),
    ))
    .get_result(conn)
}
