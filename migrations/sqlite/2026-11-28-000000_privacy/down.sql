DROP INDEX probe_requests_by_report;
DROP TABLE opt_outs;
DROP TABLE settings;
