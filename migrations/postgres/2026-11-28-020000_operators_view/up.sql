-- PostgreSQL twin of migrations/sqlite/2026-11-28-020000_operators_view.
CREATE TABLE networks (
    network_id BIGINT PRIMARY KEY,
    name TEXT,
    time_zone TEXT NOT NULL DEFAULT 'UTC'
);

CREATE TABLE node_labels (
    node_mac TEXT PRIMARY KEY,
    name TEXT,
    zone TEXT
);
CREATE INDEX node_labels_by_zone ON node_labels (zone);

ALTER TABLE nodes ADD COLUMN silent_since BIGINT;
UPDATE nodes SET silent_since = last_report_at
    WHERE last_report_at < CAST(extract(epoch FROM now()) AS BIGINT) - 86400;

CREATE TABLE alert_deliveries (
    id BIGSERIAL PRIMARY KEY,
    receiver TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    delivered_at BIGINT,
    abandoned_at BIGINT,
    last_error TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (delivered_at, abandoned_at, next_attempt_ms);
