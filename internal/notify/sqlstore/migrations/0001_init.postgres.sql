-- The schema of the upstream notify service (its migration 1, "init"),
-- kept column for column so notifyd adopts a database upstream migrated.
-- Every statement is IF NOT EXISTS: a database where the tables exist but
-- the ledger lacks the row migrates without error.
CREATE TABLE IF NOT EXISTS notify_notifications (
	id              uuid   PRIMARY KEY,
	tenant_id       text   NOT NULL,
	user_id         text   NOT NULL,
	notification_id text   NOT NULL,
	subject_ref     text   NOT NULL DEFAULT '',
	subject_type    text   NOT NULL DEFAULT '',
	title           text   NOT NULL DEFAULT '',
	body            text   NOT NULL DEFAULT '',
	channel         text   NOT NULL DEFAULT '',
	status          text   NOT NULL,
	created_at_ms   bigint NOT NULL,
	delivered_at_ms bigint NOT NULL DEFAULT 0,
	ack_at_ms       bigint NOT NULL DEFAULT 0,
	read_at_ms      bigint NOT NULL DEFAULT 0,
	CONSTRAINT notify_notifications_tenant_user_nid_uq UNIQUE (tenant_id, user_id, notification_id)
);
CREATE INDEX IF NOT EXISTS notify_notifications_user_created
	ON notify_notifications (tenant_id, user_id, created_at_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS notify_notifications_user_unread
	ON notify_notifications (tenant_id, user_id) WHERE status <> 'read';

CREATE TABLE IF NOT EXISTS notify_devices (
	id             uuid   PRIMARY KEY,
	tenant_id      text   NOT NULL,
	user_id        text   NOT NULL,
	device_type    text   NOT NULL,
	token          text   NOT NULL DEFAULT '',
	created_at_ms  bigint NOT NULL DEFAULT 0,
	last_active_ms bigint NOT NULL DEFAULT 0,
	CONSTRAINT notify_devices_tenant_user_type_uq UNIQUE (tenant_id, user_id, device_type)
);
CREATE INDEX IF NOT EXISTS notify_devices_user
	ON notify_devices (tenant_id, user_id, device_type);
