-- Meraki Scanning API receivers (issue 24): each source is served at /meraki/NAME and
-- shared by every instance on the database.
CREATE TABLE sources (
    name TEXT PRIMARY KEY NOT NULL,
    -- Only 'meraki' so far (CloudTrax posts to /receive with the server's secrets).
    vendor TEXT NOT NULL,
    -- What GET /meraki/NAME answers: the organization's validator string.
    validator TEXT NOT NULL,
    -- SHA-256 of the shared secret posted in each body, hex: the secret itself is not
    -- kept, so neither the API nor a copy of the file can give it back.
    secret_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
) WITHOUT ROWID;

-- What a vendor says of a device (Meraki: manufacturer, OS, the SSID it is connected
-- to), by its stored client MAC (in keyed mode its pseudonym). Never IP addresses or
-- user ids. Erased with the device's rows; expires with the raw rows' retention.
CREATE TABLE devices (
    mac TEXT PRIMARY KEY NOT NULL,
    manufacturer TEXT,
    os TEXT,
    ssid TEXT,
    -- The latest record time the description came with, Unix seconds.
    seen_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX devices_by_seen_at ON devices (seen_at);

-- Which vendor a network's access points report with (NULL: CloudTrax), and Meraki's
-- own id of it (its NCompass number is derived from that id).
ALTER TABLE networks ADD COLUMN vendor TEXT;
ALTER TABLE networks ADD COLUMN meraki_id TEXT;
