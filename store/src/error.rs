//! The storage layer's errors: opening the database ([`OpenError`]), and a failed call
//! ([`StoreError`]) with what kind of failure it is ([`FailureKind`]), so that callers
//! decide what to do (retry, answer 503, give up) without reading database messages.
//! Nothing here knows about HTTP: the HTTP layer maps these to statuses, once.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database {path}: {source}")]
    Connect {
        path: String,
        #[source]
        source: diesel::ConnectionError,
    },
    #[error("cannot set up the database {path}: {source}")]
    Setup {
        path: String,
        #[source]
        source: DieselError,
    },
    #[error("cannot migrate the database {path}: {source}")]
    Migrate {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot create the connection pool for {path}: {source}")]
    Pool {
        path: String,
        #[source]
        source: diesel::r2d2::PoolError,
    },
    /// The pool is being dropped: it opens no more connections.
    #[error("the connection pool is closing")]
    Closing,
}

/// A call to the database that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had: the pool's wait ran out, or opening one failed.
    #[error("no database connection could be had: {0}")]
    Unreachable(#[source] diesel::r2d2::PoolError),
    /// A statement failed; [`StoreError::kind`] says how.
    #[error(transparent)]
    Query(#[from] DieselError),
    /// The call's blocking task ended without an answer (it panicked).
    #[error("the database call did not finish: {0}")]
    Interrupted(String),
}

impl StoreError {
    /// What kind of failure it is: a connection that cannot be had is an I/O failure
    /// (the database is out of reach), a panic is none of the database's kinds.
    pub fn kind(&self) -> FailureKind {
        match self {
            StoreError::Unreachable(_) => FailureKind::Io,
            StoreError::Query(error) => FailureKind::of(error),
            StoreError::Interrupted(_) => FailureKind::Other,
        }
    }

    /// Whether this is a condition of the server that passes (a lock held past the
    /// busy timeout, a full disk, an I/O error, the database out of reach) rather than
    /// a bug: the HTTP layer answers 503 and retry, not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self.kind(),
            FailureKind::Busy | FailureKind::Full | FailureKind::Io
        )
    }
}

/// Why a statement failed, as far as what to do about it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The disk (or `max_page_count`) is full: retry once space is freed.
    Full,
    /// Another connection held the write lock past the busy timeout: retry shortly.
    Busy,
    /// The file could not be read or written (I/O error, read-only, unopenable).
    Io,
    /// A constraint refused one report's rows: that report's fault, not the batch's.
    Report,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The `kind` label of `ncompass_store_failures_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Full => "full",
            FailureKind::Busy => "busy",
            FailureKind::Io => "io",
            FailureKind::Report => "report",
            FailureKind::Other => "other",
        }
    }

    /// Every kind, in the order `/metrics` lists them.
    pub const ALL: [FailureKind; 5] = [
        FailureKind::Full,
        FailureKind::Busy,
        FailureKind::Io,
        FailureKind::Report,
        FailureKind::Other,
    ];

    /// Of a failed statement. Diesel passes SQLite's error text for the codes it has no
    /// kind for; these are SQLite's fixed texts of `SQLITE_FULL`, `SQLITE_BUSY`,
    /// `SQLITE_LOCKED`, `SQLITE_IOERR`, `SQLITE_READONLY` and `SQLITE_CANTOPEN`.
    pub fn of(error: &DieselError) -> FailureKind {
        match error {
            DieselError::RollbackErrorOnCommit { commit_error, .. } => {
                FailureKind::of(commit_error)
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::CheckViolation,
                _,
            ) => FailureKind::Report,
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                FailureKind::Busy
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => FailureKind::Io,
            // A rollback failed on a connection that went away mid-transaction (a
            // database restarting): the connection is lost, not the data refused.
            DieselError::BrokenTransactionManager => FailureKind::Io,
            DieselError::DatabaseError(_, info) => {
                let message = info.message();
                // PostgreSQL's texts of a full disk, a lock or deadlock, a server going away.
                if message.contains("No space left on device") {
                    FailureKind::Full
                } else if message.contains("deadlock detected") || message.contains("lock timeout")
                {
                    FailureKind::Busy
                } else if message.contains("terminating connection")
                    || message.contains("read-only transaction")
                    || message.contains("server closed the connection")
                    || message.contains("the database system is")
                {
                    FailureKind::Io
                } else if message.contains("database or disk is full") {
                    FailureKind::Full
                } else if message.contains("database is locked")
                    || message.contains("database table is locked")
                {
                    FailureKind::Busy
                } else if message.contains("disk I/O error")
                    || message.contains("readonly database")
                    || message.contains("unable to open database file")
                {
                    FailureKind::Io
                } else {
                    FailureKind::Other
                }
            }
            _ => FailureKind::Other,
        }
    }

    /// Whether retrying later may succeed without anyone changing the request: every
    /// kind but a report's own.
    pub fn is_transient(self) -> bool {
        self != FailureKind::Report
    }
}

/// Whether running the same transaction again may succeed at once: PostgreSQL failed it
/// to break a deadlock or a serialization conflict with another session.
pub fn is_retryable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}
