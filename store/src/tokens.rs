//! API tokens of programs: name, role, expiry, and the SHA-256 of the token (the token
//! itself is never stored).

use api_types::Role;
use diesel::prelude::*;

use super::Conn;

use super::schema::api_tokens;

/// A token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub token_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// A row of `api_tokens` as diesel reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
struct Row {
    id: i64,
    name: String,
    role: String,
    token_hash: String,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
}

impl From<Row> for Token {
    fn from(row: Row) -> Token {
        Token {
            id: row.id,
            name: row.name,
            role: Role::parse(&row.role).unwrap_or(Role::Viewer),
            token_hash: row.token_hash,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        }
    }
}

/// Stores a new token; `false` when the name is taken.
pub fn create(
    conn: &mut Conn,
    name: &str,
    role: Role,
    token_hash: &str,
    now: i64,
    expires_at: Option<i64>,
) -> QueryResult<bool> {
    super::unless_taken(
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::name.eq(name),
                api_tokens::role.eq(role.as_str()),
                api_tokens::token_hash.eq(token_hash),
                api_tokens::created_at.eq(now),
                api_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn),
    )
}

/// The token whose SHA-256 is `token_hash`, expired or not.
pub fn find_by_hash(conn: &mut Conn, token_hash: &str) -> QueryResult<Option<Token>> {
    api_tokens::table
        .select(Row::as_select())
        .filter(api_tokens::token_hash.eq(token_hash))
        .first(conn)
        .optional()
        .map(|row| row.map(Token::from))
}

/// Records a use of the token.
pub fn touch(conn: &mut Conn, id: i64, now: i64) -> QueryResult<()> {
    diesel::update(api_tokens::table.filter(api_tokens::id.eq(id)))
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// Every token, by name.
pub fn list(conn: &mut Conn) -> QueryResult<Vec<Token>> {
    Ok(api_tokens::table
        .select(Row::as_select())
        .order(api_tokens::name)
        .load(conn)?
        .into_iter()
        .map(Token::from)
        .collect())
}

/// Deletes the token; `false` when there is no token of that name.
pub fn revoke(conn: &mut Conn, name: &str) -> QueryResult<bool> {
    diesel::delete(api_tokens::table.filter(api_tokens::name.eq(name)))
        .execute(conn)
        .map(|deleted| deleted > 0)
}
