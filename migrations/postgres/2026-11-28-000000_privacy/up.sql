-- PostgreSQL twin of migrations/sqlite/2026-11-28-000000_privacy (probe_requests_by_report
-- exists here already).
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings (name, value) VALUES ('opt_out_version', '0');

CREATE TABLE opt_outs (
    mac_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
