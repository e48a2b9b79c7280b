-- Day partitions on SQLite (issue 23): one table of probe requests per UTC day of
-- `last_seen`, `probe_requests_d<unix day>`, each with its own indexes, so that an
-- insert touches only its day's indexes and retention drops a whole day at once.
-- `probe_requests` becomes a view over every partition (today's columns, for sqlite3,
-- pandas and Spark as for the server's own reads), rebuilt by the server whenever a
-- partition comes or goes (store/src/partitions.rs).
--
-- This migration only renames the single table of earlier releases to
-- `probe_requests_legacy`; `ncompass migrate` (or the server at start-up) then moves its
-- rows into their days' partitions in resumable chunks and drops it.
ALTER TABLE probe_requests RENAME TO probe_requests_legacy;

-- The day partitions and `probe_requests_default` (rows of a day that has no
-- partition: a clock at 1970, a late replay, a day older than the upgrade keeps apart)
-- are made by the server, from one definition (partitions.rs, `create_sql`).

-- Ids are unique across partitions and handed out in commit order (the presence
-- merge's watermark relies on it): the next one is kept here.
CREATE TABLE probe_request_ids (next BIGINT NOT NULL);
INSERT INTO probe_request_ids SELECT coalesce(max(id), 0) + 1 FROM probe_requests_legacy;

-- Until the server has moved the rows (store/src/partitions.rs, `upgrade`), the view
-- reads the single table alone.
CREATE VIEW probe_requests AS
    SELECT id, report_id, network_id, node_mac, mac, count, min_signal, max_signal,
           avg_signal, last_seen_signal, first_seen, last_seen, associated, randomized
    FROM probe_requests_legacy;
