-- The delivery log (ours; upstream has none): one row per attempt on one
-- channel. notification_id is the inbox row's id, kept as text and without
-- a foreign key so the log never blocks or fails a delivery.
CREATE TABLE notify_deliveries (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id       TEXT    NOT NULL,
	user_id         TEXT    NOT NULL,
	notification_id TEXT    NOT NULL,
	channel         TEXT    NOT NULL DEFAULT '',
	provider        TEXT    NOT NULL DEFAULT '',
	destination     TEXT    NOT NULL DEFAULT '',
	attempt         INTEGER NOT NULL DEFAULT 0,
	status          TEXT    NOT NULL,
	receipt_id      TEXT    NOT NULL DEFAULT '',
	error           TEXT    NOT NULL DEFAULT '',
	at_ms           INTEGER NOT NULL
);
CREATE INDEX notify_deliveries_row
	ON notify_deliveries (tenant_id, user_id, notification_id);
