DROP TABLE alert_deliveries;
ALTER TABLE nodes DROP COLUMN silent_since;
DROP TABLE node_labels;
DROP TABLE networks;
