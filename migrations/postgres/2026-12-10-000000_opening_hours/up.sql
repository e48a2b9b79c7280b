-- A network's opening hours (the canonical JSON of api_types::OpeningHours); NULL: none.
ALTER TABLE networks ADD COLUMN opening_hours TEXT;
