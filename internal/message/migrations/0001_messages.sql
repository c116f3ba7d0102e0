-- One counter per channel: taking the next seq serialises the channel's
-- writers, so seq order is commit order and outbox order (see outbox).
CREATE TABLE channel_counters (
	channel_id TEXT PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
	last_seq   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE messages (
	id              TEXT PRIMARY KEY,
	channel_id      TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	seq             BIGINT NOT NULL,
	author_id       TEXT NOT NULL,
	client_msg_id   TEXT NOT NULL DEFAULT '',
	text            TEXT NOT NULL,
	thread_id       TEXT NOT NULL DEFAULT '',
	reply_count     INTEGER NOT NULL DEFAULT 0,
	last_reply_ms   BIGINT NOT NULL DEFAULT 0,
	created_ms      BIGINT NOT NULL,
	edited_ms       BIGINT NOT NULL DEFAULT 0,
	deleted_ms      BIGINT NOT NULL DEFAULT 0,
	UNIQUE (channel_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages (author_id, client_msg_id) WHERE client_msg_id <> '';
CREATE INDEX messages_thread ON messages (thread_id, seq) WHERE thread_id <> '';

-- Earlier texts of edited messages.
CREATE TABLE message_edits (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	edited_ms  BIGINT NOT NULL,
	old_text   TEXT NOT NULL
);
CREATE INDEX message_edits_message ON message_edits (message_id, edited_ms);
