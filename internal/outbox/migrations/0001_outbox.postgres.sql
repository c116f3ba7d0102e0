-- Events recorded in the same transaction as the change that caused them;
-- the relay publishes them in seq order and deletes each once published.
CREATE TABLE outbox (
	seq        BIGSERIAL PRIMARY KEY,
	event_id   TEXT NOT NULL UNIQUE,
	subject    TEXT NOT NULL,
	header     TEXT NOT NULL DEFAULT '',
	data       BYTEA NOT NULL,
	created_ms BIGINT NOT NULL
);
