-- The operator's view (backend/src/routes/places.rs, backend/src/alerts.rs): names and
-- time zones of networks, names and zones of access points, and silence alerts.

-- A network's name and the IANA time zone its days and hours are counted in. A network
-- without a row here is unnamed and in UTC.
CREATE TABLE networks (
    network_id BIGINT PRIMARY KEY NOT NULL,
    name TEXT,
    time_zone TEXT NOT NULL DEFAULT 'UTC'
) WITHOUT ROWID;

-- An access point's name and zone, by its MAC (unique across networks). Its current
-- zone is the one every view and filter uses, past data included.
CREATE TABLE node_labels (
    node_mac TEXT PRIMARY KEY NOT NULL,
    name TEXT,
    zone TEXT
) WITHOUT ROWID;
CREATE INDEX node_labels_by_zone ON node_labels (zone);

-- When the silence monitor declared an access point silent: the time of its last
-- report then (NULL while it is reporting). Set and cleared in the same transaction as
-- the alert it sends, so each change is announced once by whichever instance saw it.
-- Access points already quiet for a day are taken as known to be silent: upgrading does
-- not announce every access point ever taken down.
ALTER TABLE nodes ADD COLUMN silent_since BIGINT;
UPDATE nodes SET silent_since = last_report_at
    WHERE last_report_at < CAST(strftime('%s', 'now') AS INTEGER) - 86400;

-- Alert events waiting to be delivered, one row per event and receiver (an outbox):
-- written with the state change that caused it, deleted a week after delivery.
CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- Which --alert-webhook: the SHA-256 of its URL, never the URL (it may hold a token;
    -- the instance delivering resolves it from its own settings).
    receiver TEXT NOT NULL,
    -- The exact JSON body; its signature is computed when it is sent.
    body TEXT NOT NULL,
    -- Unix seconds.
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Unix milliseconds; a claimed delivery is pushed a lease ahead.
    next_attempt_ms BIGINT NOT NULL,
    delivered_at BIGINT,
    -- Given up on (an hour of failures).
    abandoned_at BIGINT,
    last_error TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (delivered_at, abandoned_at, next_attempt_ms);
