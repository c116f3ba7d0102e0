-- Append-only: the application never updates or deletes rows.
CREATE TABLE audit_log (
	id           TEXT PRIMARY KEY,
	at_ms        BIGINT NOT NULL,
	workspace_id TEXT NOT NULL DEFAULT '',
	actor_id     TEXT NOT NULL DEFAULT '',
	action       TEXT NOT NULL,
	target_kind  TEXT NOT NULL DEFAULT '',
	target_id    TEXT NOT NULL DEFAULT '',
	result       TEXT NOT NULL,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT '',
	request_id   TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_time ON audit_log (at_ms, id);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, at_ms, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at_ms, id);
