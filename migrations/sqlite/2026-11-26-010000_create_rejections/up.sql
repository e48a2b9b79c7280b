-- Reports refused at the webhook, kept for diagnosis: why an access point's posts fail.
-- Bounded: the writer keeps the newest rows only (see db::rejections::KEPT).
CREATE TABLE rejections (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Server clock, Unix seconds.
    received_at BIGINT NOT NULL,
    -- The HTTP status answered, and a short machine-readable reason.
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    -- JSON path of the offending field, when there is one.
    field TEXT,
    -- The access point, when the body names it (read loosely, even if unsigned).
    network_id BIGINT,
    node_mac TEXT,
    -- The first bytes of the body, as (lossy) UTF-8.
    body_prefix TEXT NOT NULL
);
