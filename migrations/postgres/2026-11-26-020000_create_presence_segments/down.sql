DROP TABLE presence_progress;
DROP TABLE presence_segments;
