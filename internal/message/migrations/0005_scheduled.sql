-- Scheduled messages (kind message) and reminders (kind reminder), done
-- by a worker once each, whichever node claims them.
CREATE TABLE scheduled_items (
	id               TEXT PRIMARY KEY,
	kind             TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	channel_id       TEXT NOT NULL,
	message_id       TEXT NOT NULL DEFAULT '',
	thread_id        TEXT NOT NULL DEFAULT '',
	text             TEXT NOT NULL DEFAULT '',
	due_ms           BIGINT NOT NULL,
	status           TEXT NOT NULL DEFAULT 'pending',
	claimed_until_ms BIGINT NOT NULL DEFAULT 0,
	attempts         INTEGER NOT NULL DEFAULT 0,
	error            TEXT NOT NULL DEFAULT '',
	created_ms       BIGINT NOT NULL,
	done_ms          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX scheduled_due ON scheduled_items (status, due_ms);
CREATE INDEX scheduled_user ON scheduled_items (user_id, status, due_ms);
