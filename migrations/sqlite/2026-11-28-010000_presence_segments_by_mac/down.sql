DROP INDEX presence_segments_by_mac;
