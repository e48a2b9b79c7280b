-- The rejection log keeps the newest rows of each reason (db::rejections::KEPT), so that
-- a flood of one kind of refusal cannot flush the others: trimming a reason walks this.
CREATE INDEX rejections_by_reason ON rejections (reason, id);
