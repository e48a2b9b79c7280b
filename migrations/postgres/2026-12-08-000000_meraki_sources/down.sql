ALTER TABLE networks DROP COLUMN meraki_id;
ALTER TABLE networks DROP COLUMN vendor;
DROP TABLE devices;
DROP TABLE sources;
