-- Per-user preferences as one validated JSON document.
CREATE TABLE user_settings (
	user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	settings   TEXT NOT NULL,
	updated_ms BIGINT NOT NULL
);

CREATE TABLE user_avatars (
	user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	content_type TEXT NOT NULL,
	width        INTEGER NOT NULL,
	height       INTEGER NOT NULL,
	data         BLOB NOT NULL,
	updated_ms   BIGINT NOT NULL
);

CREATE TABLE user_blocks (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (user_id, blocked_id)
);

-- Push targets; at most 10 per user (the least recently seen goes).
CREATE TABLE user_devices (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	platform     TEXT NOT NULL,
	push_token   TEXT NOT NULL,
	name         TEXT NOT NULL DEFAULT '',
	created_ms   BIGINT NOT NULL,
	last_seen_ms BIGINT NOT NULL,
	UNIQUE (user_id, push_token)
);

ALTER TABLE users ADD COLUMN status_emoji TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_clear_ms BIGINT NOT NULL DEFAULT 0;
