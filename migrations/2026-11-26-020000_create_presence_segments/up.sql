-- A device's observations merged where they lie at most 120 s apart (SEGMENT_GAP_S in
-- backend/src/analytics.rs), cut at UTC midnight. Kept by the writer in the same
-- transaction as the probe requests, so the presence figures of a day read these
-- instead of every row; a database from before this migration is filled from its probe
-- requests at start-up (db::presence::rebuild).
CREATE TABLE presence_segments (
    id INTEGER PRIMARY KEY NOT NULL,
    network_id BIGINT NOT NULL,
    mac TEXT NOT NULL,
    -- The UTC day (Unix seconds / 86400) the segment lies in.
    day BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    max_signal INTEGER NOT NULL,
    -- The access point that heard the strongest signal, and when that observation
    -- began (ties: the earlier observation, then the smaller MAC).
    strongest_node_mac TEXT NOT NULL,
    strongest_first_seen BIGINT NOT NULL,
    associated BOOLEAN NOT NULL,
    randomized BOOLEAN NOT NULL,
    -- The access points that heard it: sorted, comma separated.
    node_macs TEXT NOT NULL
);
-- The writer finds the segments a new observation touches.
CREATE INDEX presence_segments_by_device ON presence_segments (network_id, mac, day, first_seen);
-- The analytics read the days of a range.
CREATE INDEX presence_segments_by_day ON presence_segments (day, network_id);
