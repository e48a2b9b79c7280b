-- Who may read and change the data: people (users, signing in to the dashboard) and
-- programs (API tokens). Both carry a role: 'viewer' reads, 'admin' also changes.

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Lower case; compared as stored.
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
    -- Argon2id, in the PHC string format (algorithm, parameters and salt included).
    password_hash TEXT NOT NULL,
    -- Server clock, Unix seconds.
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
    -- SHA-256 of the token, lower-case hex; the token itself is shown once and never kept.
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    -- Updated at most once a minute.
    last_used_at BIGINT,
    -- NULL: never expires.
    expires_at BIGINT
);

-- Dashboard sign-ins. The cookie holds a random id; only its SHA-256 is kept here.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    -- Updated at most once a minute; a session idle for 12 h has ended.
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
