-- When the entry went out in an email digest (0: not yet).
ALTER TABLE notifications ADD COLUMN emailed_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_digest ON notifications (emailed_ms, read_ms, created_ms);
