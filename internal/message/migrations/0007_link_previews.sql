-- Previews of links in messages, fetched by a worker (once each, any node).
CREATE TABLE link_previews (
	message_id       TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	url              TEXT NOT NULL,
	position         INTEGER NOT NULL,
	status           TEXT NOT NULL DEFAULT 'pending',
	claimed_until_ms BIGINT NOT NULL DEFAULT 0,
	attempts         INTEGER NOT NULL DEFAULT 0,
	title            TEXT NOT NULL DEFAULT '',
	description      TEXT NOT NULL DEFAULT '',
	image_url        TEXT NOT NULL DEFAULT '',
	site_name        TEXT NOT NULL DEFAULT '',
	fetched_ms       BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (message_id, url)
);
CREATE INDEX link_previews_pending ON link_previews (status, claimed_until_ms);
