-- Events recorded in the same transaction as the change that caused them;
-- the relay publishes them in seq order and deletes each once published.
CREATE TABLE outbox (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id   TEXT NOT NULL UNIQUE,
	subject    TEXT NOT NULL,
	header     TEXT NOT NULL DEFAULT '',
	data       BLOB NOT NULL,
	created_ms INTEGER NOT NULL
);
