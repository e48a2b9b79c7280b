-- A device's observations merged where they lie at most 120 s apart (SEGMENT_GAP_S in
-- backend/src/analytics.rs), cut at UTC midnight. Kept by the writer in the same
-- transaction as the probe requests, so the presence figures of a day read these
-- instead of every row; a database from before this migration is filled from its probe
-- requests at start-up (db::presence::rebuild). Derived data: emptied, it is rebuilt.
--
-- Clustered by day (WITHOUT ROWID): the figures of a range read its days as one
-- contiguous run of the table, and the writer finds the segments a new observation
-- touches by the key's prefix. A device's segments of a day are disjoint, so their
-- starts are unique.
CREATE TABLE presence_segments (
    -- The UTC day (Unix seconds / 86400) the segment lies in.
    day BIGINT NOT NULL,
    network_id BIGINT NOT NULL,
    -- The client MAC as a 48-bit number (0x485a3f37def7 for 48:5a:3f:37:de:f7).
    mac BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    -- The whole segment in one fixed binary layout (db::presence::encode): reading one
    -- column per row is what makes a day of 200,000 segments fast to load.
    segment BLOB NOT NULL,
    PRIMARY KEY (day, network_id, mac, first_seen)
) WITHOUT ROWID;
-- One device's visits (its page).
CREATE INDEX presence_segments_by_device ON presence_segments (mac, network_id, day);
