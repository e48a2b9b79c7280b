-- PostgreSQL twin of migrations/sqlite/2026-11-26-000000: the same tables and columns
-- (backend/src/db/schema.rs describes both), in PostgreSQL's dialect, and probe_requests
-- partitioned by day on last_seen.

-- One row per accepted CloudTrax report.
CREATE TABLE reports (
    id BIGSERIAL PRIMARY KEY,
    network_id BIGINT NOT NULL,
    node_mac TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- Server clock, Unix seconds.
    received_at BIGINT NOT NULL,
    probe_request_count INTEGER NOT NULL,
    stored_count INTEGER NOT NULL,
    duplicate_count INTEGER NOT NULL
);
CREATE INDEX reports_by_node ON reports (network_id, node_mac, received_at);
CREATE INDEX reports_by_received_at ON reports (received_at);

-- One row per access point, kept up to date at ingestion.
CREATE TABLE nodes (
    network_id BIGINT NOT NULL,
    node_mac TEXT NOT NULL,
    first_report_at BIGINT NOT NULL,
    last_report_at BIGINT NOT NULL,
    reports BIGINT NOT NULL,
    probe_requests BIGINT NOT NULL,
    PRIMARY KEY (network_id, node_mac)
);
CREATE INDEX nodes_by_last_report_at ON nodes (last_report_at);

-- Partitioned by UTC day of last_seen (Unix seconds): the server creates each day's
-- partition ahead of time (db::partitions); rows outside every day partition (a clock at
-- 1970) land in the default partition. Keys include last_seen, as partitioning requires.
CREATE TABLE probe_requests (
    id BIGSERIAL NOT NULL,
    report_id BIGINT NOT NULL REFERENCES reports (id),
    network_id BIGINT NOT NULL,
    node_mac TEXT NOT NULL,
    mac TEXT NOT NULL,
    count BIGINT NOT NULL,
    min_signal INTEGER NOT NULL,
    max_signal INTEGER NOT NULL,
    avg_signal INTEGER NOT NULL,
    last_seen_signal INTEGER,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    associated BOOLEAN NOT NULL,
    randomized BOOLEAN NOT NULL,
    PRIMARY KEY (id, last_seen)
) PARTITION BY RANGE (last_seen);
CREATE TABLE probe_requests_default PARTITION OF probe_requests DEFAULT;

-- The observation: the idempotency key.
CREATE UNIQUE INDEX probe_requests_observation
    ON probe_requests (network_id, node_mac, mac, first_seen, last_seen);

CREATE INDEX probe_requests_by_last_seen ON probe_requests (last_seen, id);
CREATE INDEX probe_requests_by_mac ON probe_requests (mac, last_seen, id);
CREATE INDEX probe_requests_by_node ON probe_requests (node_mac, last_seen, id);
CREATE INDEX probe_requests_by_network ON probe_requests (network_id, last_seen, id);
CREATE INDEX probe_requests_by_associated ON probe_requests (associated, last_seen, id);
CREATE INDEX probe_requests_by_randomized ON probe_requests (randomized, last_seen, id);
CREATE INDEX probe_requests_by_report ON probe_requests (report_id);
