CREATE TABLE files (
	id           TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	uploader_id  TEXT NOT NULL,
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         BIGINT NOT NULL,
	storage_key  TEXT NOT NULL,
	created_ms   BIGINT NOT NULL,
	deleted_ms   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX files_workspace ON files (workspace_id, deleted_ms);

-- Where a file was shared: seeing it needs seeing one of these channels.
CREATE TABLE file_shares (
	file_id    TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
	channel_id TEXT NOT NULL,
	message_id TEXT NOT NULL DEFAULT '',
	shared_ms  BIGINT NOT NULL,
	PRIMARY KEY (file_id, channel_id, message_id)
);
CREATE INDEX file_shares_message ON file_shares (message_id);
