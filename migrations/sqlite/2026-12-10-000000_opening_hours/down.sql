ALTER TABLE networks DROP COLUMN opening_hours;
