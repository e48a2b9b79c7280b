-- Counts of people taken by other means (a door counter, a manual tally) over a window:
-- what estimates are checked and calibrated against.
CREATE TABLE ground_truth (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
