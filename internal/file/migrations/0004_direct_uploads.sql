-- Direct uploads in progress: the client PUTs the bytes straight to the
-- object store with a pre-signed request, then asks for them to become a
-- file. A row past expires_ms is swept, with whatever was uploaded for it.
CREATE TABLE direct_uploads (
	id           TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	channel_id   TEXT NOT NULL DEFAULT '',
	user_id      TEXT NOT NULL,
	name         TEXT NOT NULL,
	size         BIGINT NOT NULL,
	created_ms   BIGINT NOT NULL,
	expires_ms   BIGINT NOT NULL
);
CREATE INDEX direct_uploads_expires ON direct_uploads (expires_ms);
