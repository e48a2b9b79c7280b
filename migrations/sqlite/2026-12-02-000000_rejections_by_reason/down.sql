DROP INDEX rejections_by_reason;
