-- One row per accepted CloudTrax report: the feed's health, and the origin of each
-- stored probe request.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY NOT NULL,
    network_id BIGINT NOT NULL,
    node_mac TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- Server clock, Unix seconds.
    received_at BIGINT NOT NULL,
    -- Probe requests in the report, and how many of them were new rows.
    probe_request_count INTEGER NOT NULL,
    stored_count INTEGER NOT NULL,
    duplicate_count INTEGER NOT NULL
);
CREATE INDEX reports_by_node ON reports (network_id, node_mac, received_at);
CREATE INDEX reports_by_received_at ON reports (received_at);

-- One row per access point, kept up to date at ingestion so that listing the access
-- points never scans the reports.
CREATE TABLE nodes (
    network_id BIGINT NOT NULL,
    node_mac TEXT NOT NULL,
    first_report_at BIGINT NOT NULL,
    last_report_at BIGINT NOT NULL,
    reports BIGINT NOT NULL,
    probe_requests BIGINT NOT NULL,
    PRIMARY KEY (network_id, node_mac)
) WITHOUT ROWID;
CREATE INDEX nodes_by_last_report_at ON nodes (last_report_at);

-- Every probe request, one row each, a column per CloudTrax field under its own name.
-- MACs are canonical text: lower case, colon separated.
CREATE TABLE probe_requests (
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
    -- The client MAC is locally administered (first octet has bit 0x02 set).
    randomized BOOLEAN NOT NULL
);

-- Idempotency: one observation is stored once, however often it is posted.
CREATE UNIQUE INDEX probe_requests_observation
    ON probe_requests (network_id, node_mac, mac, first_seen, last_seen);

-- The list is ordered by (last_seen DESC, id DESC); in SQLite every index ends with the
-- rowid (= id), so each of these serves its filter in keyset order without sorting.
CREATE INDEX probe_requests_by_last_seen ON probe_requests (last_seen);
CREATE INDEX probe_requests_by_mac ON probe_requests (mac, last_seen);
CREATE INDEX probe_requests_by_node ON probe_requests (node_mac, last_seen);
CREATE INDEX probe_requests_by_network ON probe_requests (network_id, last_seen);
CREATE INDEX probe_requests_by_associated ON probe_requests (associated, last_seen);
CREATE INDEX probe_requests_by_randomized ON probe_requests (randomized, last_seen);
