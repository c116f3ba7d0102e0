-- When the entry was pushed to the person's devices (0: not yet).
ALTER TABLE notifications ADD COLUMN pushed_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_push ON notifications (pushed_ms, created_ms);
