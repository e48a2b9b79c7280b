-- A device's observations merged where they lie at most 120 s apart (SEGMENT_GAP_S in
-- backend/src/analytics.rs), cut at UTC midnight. The writer keeps them up to date
-- whenever it has no report to store (see presence_progress), so the presence figures
-- of a day read these instead of every row. Derived data: a database from before this
-- migration (through_id 0) is filled from its rows the same way, and emptied with
-- through_id set back to 0, it is rebuilt.
--
-- Clustered by day (WITHOUT ROWID): the figures of a range read its days as one
-- contiguous run of the table, and the writer finds the segments a new observation
-- touches by the key's prefix. A device's segments of a day are disjoint, so their
-- starts are unique.
CREATE TABLE presence_segments (
    -- The UTC day (Unix seconds / 86400) the segment lies in.
    day BIGINT NOT NULL,
    network_id BIGINT NOT NULL,
    -- The client MAC as a 48-bit number (0x001a2b3c4d5e for 00:1a:2b:3c:4d:5e).
    mac BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    -- The whole segment in one fixed binary layout (db::presence::encode): reading one
    -- column per row is what makes a day of 200,000 segments fast to load.
    segment BLOB NOT NULL,
    PRIMARY KEY (day, network_id, mac, first_seen)
) WITHOUT ROWID;
-- No other index (later: presence_segments_by_mac, for erasure): one device's segments are a key prefix per day (`day IN (...)`), and
-- every index is one more B-tree insert per new segment on the writer's path.

-- The probe requests already merged into presence_segments: every row with
-- id <= through_id. The writer catches up whenever it has no report to store, so
-- keeping the segments never slows ingestion down; the analytics merge the rows past
-- it into what they read, so the figures are exact however far behind it is.
CREATE TABLE presence_progress (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    through_id BIGINT NOT NULL
);
INSERT INTO presence_progress (id, through_id) VALUES (1, 0);
