//! The pool of connections the server's requests and background tasks share.

use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};

use crate::{
    connect, migrate, redacted, Conn, Kind, OpenError, QueryResult, StoreError, BUSY_TIMEOUT,
};

/// Connections for the pool, each opened by [`connect`].
#[derive(Debug)]
struct Manager {
    url: String,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        connect(&self.url).map_err(|error| match error {
            OpenError::Connect { source, .. } => diesel::r2d2::Error::ConnectionError(source),
            OpenError::Setup { source, .. } => diesel::r2d2::Error::QueryError(source),
            other => diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                other.to_string(),
            )),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// The database as requests and background tasks see it: a pool of connections.
#[derive(Clone)]
pub struct Database {
    pool: Pool<Manager>,
    kind: Kind,
}

impl Database {
    /// Migrates the database at `url`, then opens a pool of `max_connections` to it.
    pub fn open(url: &str, max_connections: u32) -> Result<Database, OpenError> {
        let applied = migrate(url)?;
        if !applied.is_empty() {
            tracing::info!(database = %redacted(url), migrations = ?applied, "applied migrations");
        }
        let pool = Pool::builder()
            .max_size(max_connections)
            // Connections open as they are needed: many instances on one PostgreSQL
            // server do not hold their maximum each from the start.
            .min_idle(Some(2.min(max_connections)))
            .connection_timeout(BUSY_TIMEOUT)
            .build(Manager {
                url: url.to_string(),
            })
            .map_err(|source| OpenError::Pool {
                path: redacted(url),
                source,
            })?;
        Ok(Database {
            pool,
            kind: Kind::of(url),
        })
    }

    /// Which database this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Runs `query` on a pooled connection on the blocking thread pool (the async
    /// runtime's: actix runs on tokio), so that the database's synchronous calls never
    /// stall the async workers.
    pub async fn run<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Conn) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn: PooledConnection<_> = pool.get().map_err(StoreError::Unreachable)?;
            Ok(query(&mut conn)?)
        })
        .await
        .map_err(|error| StoreError::Interrupted(error.to_string()))?
    }

    /// Runs `query` on the calling thread: for the command line and the background
    /// threads, not for handlers.
    pub fn run_blocking<T>(
        &self,
        query: impl FnOnce(&mut Conn) -> QueryResult<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get().map_err(StoreError::Unreachable)?;
        Ok(query(&mut conn)?)
    }
}
