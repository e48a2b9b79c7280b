-- PostgreSQL twin of migrations/sqlite/2026-12-08-000000_meraki_sources.
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    vendor TEXT NOT NULL,
    validator TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE devices (
    mac TEXT PRIMARY KEY,
    manufacturer TEXT,
    os TEXT,
    ssid TEXT,
    seen_at BIGINT NOT NULL
);
CREATE INDEX devices_by_seen_at ON devices (seen_at);

ALTER TABLE networks ADD COLUMN vendor TEXT;
ALTER TABLE networks ADD COLUMN meraki_id TEXT;
