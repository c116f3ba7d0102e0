-- The in-app inbox: one row per person per message that concerns them.
CREATE TABLE notifications (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL,
	workspace_id TEXT NOT NULL,
	kind         TEXT NOT NULL,
	channel_id   TEXT NOT NULL,
	message_id   TEXT NOT NULL,
	thread_id    TEXT NOT NULL DEFAULT '',
	actor_id     TEXT NOT NULL,
	snippet      TEXT NOT NULL,
	created_ms   BIGINT NOT NULL,
	read_ms      BIGINT NOT NULL DEFAULT 0,
	UNIQUE (user_id, message_id)
);
CREATE INDEX notifications_user ON notifications (user_id, created_ms, id);
CREATE INDEX notifications_unread ON notifications (user_id, read_ms);
