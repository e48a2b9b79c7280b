//! Vendor sources: the Meraki receivers an operator configured (`/meraki/NAME`), shared
//! by every instance on the database. The shared secret is kept only as its SHA-256.

use diesel::prelude::*;

use super::schema::sources;
use super::Conn;

/// A source as stored, its secret's digest included (never shown).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = sources)]
pub struct Source {
    pub name: String,
    pub vendor: String,
    pub validator: String,
    pub secret_sha256: String,
    pub created_at: i64,
    pub created_by: String,
}

impl Source {
    /// As the API shows it: without the secret's digest.
    pub fn shown(&self) -> api_types::Source {
        api_types::Source {
            name: self.name.clone(),
            vendor: self.vendor.clone(),
            validator: self.validator.clone(),
            url_path: format!("/meraki/{}", self.name),
            created_at: self.created_at,
            created_by: self.created_by.clone(),
        }
    }
}

/// Adds `source`; false when a source of that name exists (nothing is changed).
pub fn add(conn: &mut Conn, source: &Source) -> QueryResult<bool> {
    let row = (
        sources::name.eq(&source.name),
        sources::vendor.eq(&source.vendor),
        sources::validator.eq(&source.validator),
        sources::secret_sha256.eq(&source.secret_sha256),
        sources::created_at.eq(source.created_at),
        sources::created_by.eq(&source.created_by),
    );
    let added = on_each_backend!(conn, |c| diesel::insert_into(sources::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(added > 0)
}

/// The source called `name`.
pub fn get(conn: &mut Conn, name: &str) -> QueryResult<Option<Source>> {
    sources::table
        .find(name)
        .select(Source::as_select())
        .first(conn)
        .optional()
}

/// Every source, by name.
pub fn list(conn: &mut Conn) -> QueryResult<Vec<Source>> {
    sources::table
        .order(sources::name)
        .select(Source::as_select())
        .load(conn)
}

/// Removes the source called `name`; false when there was none. What it stored stays.
pub fn remove(conn: &mut Conn, name: &str) -> QueryResult<bool> {
    Ok(diesel::delete(sources::table.find(name)).execute(conn)? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;

    fn source(name: &str) -> Source {
        Source {
            name: name.to_string(),
            vendor: "meraki".to_string(),
            validator: "da6a17c407bc11f1d8a5ae7f7e8e3c5a8a6bfa1c".to_string(),
            secret_sha256: "00".repeat(32),
            created_at: 1_796_637_600,
            created_by: "admin".to_string(),
        }
    }

    #[test]
    fn sources_are_added_once_listed_by_name_and_removed() {
        let (_dir, mut conn) = migrated();
        assert_eq!(add(&mut conn, &source("lobby")).ok(), Some(true));
        assert_eq!(add(&mut conn, &source("cafe")).ok(), Some(true));
        let mut again = source("lobby");
        again.validator = "other".to_string();
        assert_eq!(
            add(&mut conn, &again).ok(),
            Some(false),
            "a name is taken once"
        );
        assert_eq!(
            get(&mut conn, "lobby").ok().flatten(),
            Some(source("lobby"))
        );
        let names: Vec<String> = list(&mut conn)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["cafe", "lobby"]);
        assert_eq!(remove(&mut conn, "lobby").ok(), Some(true));
        assert_eq!(remove(&mut conn, "lobby").ok(), Some(false));
        assert_eq!(get(&mut conn, "lobby").ok().flatten(), None);
    }
}
