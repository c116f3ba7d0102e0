-- The delivery log (ours; upstream has none): one row per attempt on one
-- channel. notification_id is the inbox row's id, kept as text and without
-- a foreign key so the log never blocks or fails a delivery.
CREATE TABLE notify_deliveries (
	seq             bigserial PRIMARY KEY,
	tenant_id       text    NOT NULL,
	user_id         text    NOT NULL,
	notification_id text    NOT NULL,
	channel         text    NOT NULL DEFAULT '',
	provider        text    NOT NULL DEFAULT '',
	destination     text    NOT NULL DEFAULT '',
	attempt         integer NOT NULL DEFAULT 0,
	status          text    NOT NULL,
	receipt_id      text    NOT NULL DEFAULT '',
	error           text    NOT NULL DEFAULT '',
	at_ms           bigint  NOT NULL
);
CREATE INDEX notify_deliveries_row
	ON notify_deliveries (tenant_id, user_id, notification_id);
