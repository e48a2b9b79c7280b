//! The pool of connections the server's requests and background tasks share.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};

use crate::{
    connect, migrate, redacted, Conn, Kind, OpenError, QueryResult, StoreError, BUSY_TIMEOUT,
};

/// The pool's connection attempts: r2d2 makes them on threads of its own that nobody
/// joins, so a pool dropped while one is in progress would leave it running, and a
/// process exiting meanwhile tears down the libraries under it (libpq's SCRAM exchange
/// read a lock of libcrypto's that exit handlers had destroyed: a SIGSEGV at exit).
#[derive(Debug, Default)]
struct Connects {
    in_flight: AtomicUsize,
    closing: AtomicBool,
}

/// Held by every clone of a [`Database`]; when the last goes, the pool stops opening
/// connections and waits (at most [`CLOSE_WAIT`]) for the attempts in progress.
#[derive(Debug)]
struct Closer(Arc<Connects>);

/// The longest a dropped pool waits for its connection attempts in progress.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.closing.store(true, Ordering::SeqCst);
        let started = Instant::now();
        while self.0.in_flight.load(Ordering::SeqCst) > 0 && started.elapsed() < CLOSE_WAIT {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Connections for the pool, each opened by [`connect`].
#[derive(Debug)]
struct Manager {
    url: String,
    connects: Arc<Connects>,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        // Counted before `closing` is read: a dropped pool either sees this attempt and
        // waits for it, or this attempt sees the pool closing.
        self.connects.in_flight.fetch_add(1, Ordering::SeqCst);
        let opened = if self.connects.closing.load(Ordering::SeqCst) {
            Err(OpenError::Closing)
        } else {
            connect(&self.url)
        };
        self.connects.in_flight.fetch_sub(1, Ordering::SeqCst);
        opened.map_err(|error| match error {
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
    /// First, so that it is dropped before the pool: see [`Closer`].
    _closer: Arc<Closer>,
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
        let connects = Arc::new(Connects::default());
        let pool = Pool::builder()
            .max_size(max_connections)
            // Connections open as they are needed: many instances on one PostgreSQL
            // server do not hold their maximum each from the start.
            .min_idle(Some(2.min(max_connections)))
            .connection_timeout(BUSY_TIMEOUT)
            .build(Manager {
                url: url.to_string(),
                connects: Arc::clone(&connects),
            })
            .map_err(|source| OpenError::Pool {
                path: redacted(url),
                source,
            })?;
        Ok(Database {
            _closer: Arc::new(Closer(connects)),
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
