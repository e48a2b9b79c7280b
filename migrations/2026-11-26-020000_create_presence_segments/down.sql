DROP TABLE presence_segments;
