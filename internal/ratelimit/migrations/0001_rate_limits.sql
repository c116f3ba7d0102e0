-- One row per key and window; rows of finished windows are deleted by the
-- limiter now and then.
CREATE TABLE rate_limits (
	bucket     TEXT PRIMARY KEY,
	hits       INTEGER NOT NULL,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_ms);
