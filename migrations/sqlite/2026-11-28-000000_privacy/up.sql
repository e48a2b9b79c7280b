-- What the database itself must remember about how it was written (backend/src/
-- privacy): the fingerprint of the MAC key (a server started with another key refuses),
-- the MAC privacy mode its client MACs are in, and the opt-out list's version (bumped on
-- every change, so each writer reloads the list within the transaction it stores in).
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO settings (name, value) VALUES ('opt_out_version', '0');

-- Client MACs whose observations are dropped at ingest and never stored. Only the keyed
-- hash (as a MAC, see privacy::MacKey::pseudonym) is kept, in both privacy modes.
CREATE TABLE opt_outs (
    mac_hash TEXT PRIMARY KEY NOT NULL,
    -- Server clock, Unix seconds, and who added it (a user, a token, or the CLI).
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
) WITHOUT ROWID;

-- Retention deletes a report once none of its probe requests is left: that test, and
-- the foreign key's own check on deleting a report, read this index (PostgreSQL's
-- migrations have had it from the start).
CREATE INDEX probe_requests_by_report ON probe_requests (report_id);
