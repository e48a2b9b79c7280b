DROP TABLE probe_requests;
DROP TABLE nodes;
DROP TABLE reports;
