-- Erasing a device, its access request and `ncompass pseudonymize` look for one MAC's
-- presence segments in every day: without this index each read the whole table, and an
-- erasure held the write lock (every report waiting) meanwhile. Segments are written by
-- the idle writer's merge, not on the report's path, so ingestion does not pay for it.
CREATE INDEX presence_segments_by_mac ON presence_segments (mac);
