CREATE TABLE pins (
	channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	pinned_by  TEXT NOT NULL,
	pinned_ms  BIGINT NOT NULL,
	PRIMARY KEY (channel_id, message_id)
);

CREATE TABLE saved_items (
	user_id    TEXT NOT NULL,
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	saved_ms   BIGINT NOT NULL,
	PRIMARY KEY (user_id, message_id)
);
CREATE INDEX saved_items_user ON saved_items (user_id, saved_ms);

CREATE TABLE channel_bookmarks (
	id         TEXT PRIMARY KEY,
	channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	title      TEXT NOT NULL,
	url        TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_ms BIGINT NOT NULL
);
CREATE INDEX channel_bookmarks_channel ON channel_bookmarks (channel_id, created_ms);

-- Who follows which thread, and how far they read it.
CREATE TABLE thread_follows (
	thread_id     TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	user_id       TEXT NOT NULL,
	channel_id    TEXT NOT NULL,
	following     INTEGER NOT NULL DEFAULT 1,
	last_read_seq BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX thread_follows_user ON thread_follows (user_id, following);
