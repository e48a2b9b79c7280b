-- One report's rows land together in the idempotency key. Client MACs are spread over
-- the whole key space, so with the MAC third, a report's 100 observations fell on up to
-- 100 pages of its access point's part of the index, each written again at every commit
-- (the cost that grew with the stored rows: issue 23). With last_seen third, they fall
-- on the few newest pages of that part. The same columns, so the same observations are
-- duplicates as before.
DROP INDEX probe_requests_observation;
CREATE UNIQUE INDEX probe_requests_observation
    ON probe_requests (network_id, node_mac, last_seen, mac, first_seen);
