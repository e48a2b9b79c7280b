-- The --alert-webhook receivers of the running instances: each instance says which
-- receivers it has (the SHA-256 of each URL, never the URL) at start-up and every
-- minute. An event is queued for every receiver seen lately, whichever instance
-- records the change, so instances with different (or no) --alert-webhook lists
-- never lose an event another instance's receivers were owed.
CREATE TABLE alert_receivers (
    receiver TEXT PRIMARY KEY NOT NULL,
    -- Unix seconds.
    seen_at BIGINT NOT NULL
);
