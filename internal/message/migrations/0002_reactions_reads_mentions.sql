CREATE TABLE reactions (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL,
	emoji      TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (message_id, emoji, user_id)
);

-- Where each member has read up to in a channel (by seq).
CREATE TABLE channel_reads (
	channel_id    TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id       TEXT NOT NULL,
	last_read_seq BIGINT NOT NULL,
	updated_ms    BIGINT NOT NULL,
	PRIMARY KEY (channel_id, user_id)
);

-- Users named in a message (<@id>), for mention counts and notifications;
-- @channel and @here are a flag on the message instead of a row per member.
CREATE TABLE message_mentions (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	channel_id TEXT NOT NULL,
	seq        BIGINT NOT NULL,
	user_id    TEXT NOT NULL,
	PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_mentions_user ON message_mentions (user_id, channel_id, seq);

ALTER TABLE messages ADD COLUMN broadcast INTEGER NOT NULL DEFAULT 0;
