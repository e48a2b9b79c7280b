-- PostgreSQL twin of migrations/sqlite/2026-12-11-000000_ground_truth.
CREATE TABLE ground_truth (
    id BIGSERIAL PRIMARY KEY,
    network_id BIGINT NOT NULL,
    zone TEXT,
    since BIGINT NOT NULL,
    until BIGINT NOT NULL,
    people BIGINT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX ground_truth_by_network ON ground_truth (network_id, since);
