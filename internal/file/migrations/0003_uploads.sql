-- Resumable uploads in progress: chunks are appended on the node's disk
-- until received reaches size, then the whole becomes a file.
CREATE TABLE uploads (
	id           TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	channel_id   TEXT NOT NULL DEFAULT '',
	user_id      TEXT NOT NULL,
	name         TEXT NOT NULL,
	size         BIGINT NOT NULL,
	received     BIGINT NOT NULL DEFAULT 0,
	created_ms   BIGINT NOT NULL,
	expires_ms   BIGINT NOT NULL
);
CREATE INDEX uploads_expires ON uploads (expires_ms);
