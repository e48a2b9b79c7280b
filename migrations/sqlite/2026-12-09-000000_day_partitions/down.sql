-- Back to one table: every partition's rows into it (the view reads them all).
CREATE TABLE probe_requests_single (
    id INTEGER PRIMARY KEY NOT NULL,
    report_id INTEGER NOT NULL REFERENCES reports (id),
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
    randomized BOOLEAN NOT NULL
);
INSERT INTO probe_requests_single SELECT * FROM probe_requests;
DROP VIEW probe_requests;
DROP TABLE probe_request_ids;
DROP TABLE IF EXISTS probe_requests_legacy;
DROP TABLE IF EXISTS probe_requests_default;
-- The day partitions (probe_requests_d*) are left behind: SQL alone cannot name them.
-- Their rows are in the table below.
ALTER TABLE probe_requests_single RENAME TO probe_requests;
CREATE UNIQUE INDEX probe_requests_observation
    ON probe_requests (network_id, node_mac, last_seen, mac, first_seen);
CREATE INDEX probe_requests_by_last_seen ON probe_requests (last_seen);
CREATE INDEX probe_requests_by_mac ON probe_requests (mac, last_seen);
CREATE INDEX probe_requests_by_node ON probe_requests (node_mac, last_seen);
CREATE INDEX probe_requests_by_network ON probe_requests (network_id, last_seen);
CREATE INDEX probe_requests_by_associated ON probe_requests (associated, last_seen);
CREATE INDEX probe_requests_by_randomized ON probe_requests (randomized, last_seen);
CREATE INDEX probe_requests_by_report ON probe_requests (report_id);
