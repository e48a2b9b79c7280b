-- Presence segments: see migrations/sqlite/2026-11-26-020000 for what each column holds.
CREATE TABLE presence_segments (
    day BIGINT NOT NULL,
    network_id BIGINT NOT NULL,
    mac BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    segment BYTEA NOT NULL,
    PRIMARY KEY (day, network_id, mac, first_seen)
);

CREATE TABLE presence_progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through_id BIGINT NOT NULL
);
INSERT INTO presence_progress (id, through_id) VALUES (1, 0);
