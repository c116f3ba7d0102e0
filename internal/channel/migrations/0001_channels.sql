-- kind: public, private, dm, group. Named channels (public, private) have
-- a name unique in their workspace; DMs have none.
CREATE TABLE channels (
	id           TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	kind         TEXT NOT NULL,
	name         TEXT,
	topic        TEXT NOT NULL DEFAULT '',
	purpose      TEXT NOT NULL DEFAULT '',
	is_general   INTEGER NOT NULL DEFAULT 0,
	created_by   TEXT NOT NULL,
	created_ms   BIGINT NOT NULL,
	updated_ms   BIGINT NOT NULL,
	archived_ms  BIGINT NOT NULL DEFAULT 0,
	UNIQUE (workspace_id, name)
);
CREATE INDEX channels_workspace ON channels (workspace_id, kind);

CREATE TABLE channel_members (
	channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL,
	joined_ms  BIGINT NOT NULL,
	PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_user ON channel_members (user_id, channel_id);
