-- The upstream notify schema on SQLite: the same tables, columns, defaults,
-- constraint and index names; ids are lower-case canonical UUID text, so
-- their BINARY order equals PostgreSQL's uuid order.
CREATE TABLE IF NOT EXISTS notify_notifications (
	id              TEXT    NOT NULL PRIMARY KEY,
	tenant_id       TEXT    NOT NULL,
	user_id         TEXT    NOT NULL,
	notification_id TEXT    NOT NULL,
	subject_ref     TEXT    NOT NULL DEFAULT '',
	subject_type    TEXT    NOT NULL DEFAULT '',
	title           TEXT    NOT NULL DEFAULT '',
	body            TEXT    NOT NULL DEFAULT '',
	channel         TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL,
	created_at_ms   INTEGER NOT NULL,
	delivered_at_ms INTEGER NOT NULL DEFAULT 0,
	ack_at_ms       INTEGER NOT NULL DEFAULT 0,
	read_at_ms      INTEGER NOT NULL DEFAULT 0,
	CONSTRAINT notify_notifications_tenant_user_nid_uq UNIQUE (tenant_id, user_id, notification_id)
);
CREATE INDEX IF NOT EXISTS notify_notifications_user_created
	ON notify_notifications (tenant_id, user_id, created_at_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS notify_notifications_user_unread
	ON notify_notifications (tenant_id, user_id) WHERE status <> 'read';

CREATE TABLE IF NOT EXISTS notify_devices (
	id             TEXT    NOT NULL PRIMARY KEY,
	tenant_id      TEXT    NOT NULL,
	user_id        TEXT    NOT NULL,
	device_type    TEXT    NOT NULL,
	token          TEXT    NOT NULL DEFAULT '',
	created_at_ms  INTEGER NOT NULL DEFAULT 0,
	last_active_ms INTEGER NOT NULL DEFAULT 0,
	CONSTRAINT notify_devices_tenant_user_type_uq UNIQUE (tenant_id, user_id, device_type)
);
CREATE INDEX IF NOT EXISTS notify_devices_user
	ON notify_devices (tenant_id, user_id, device_type);
