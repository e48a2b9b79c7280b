DROP INDEX probe_requests_observation;
CREATE UNIQUE INDEX probe_requests_observation
    ON probe_requests (network_id, node_mac, mac, first_seen, last_seen);
