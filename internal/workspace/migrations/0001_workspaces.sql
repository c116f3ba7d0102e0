CREATE TABLE workspaces (
	id         TEXT PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	updated_ms BIGINT NOT NULL
);

-- role: 1 guest, 2 member, 3 moderator, 4 admin, 5 owner (access.Role).
CREATE TABLE workspace_members (
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	user_id      TEXT NOT NULL,
	role         INTEGER NOT NULL,
	joined_ms    BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id, workspace_id);

CREATE TABLE invitations (
	id           TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	email        TEXT NOT NULL,
	role         INTEGER NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	invited_by   TEXT NOT NULL,
	created_ms   BIGINT NOT NULL,
	expires_ms   BIGINT NOT NULL,
	accepted_ms  BIGINT NOT NULL DEFAULT 0,
	accepted_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invitations_workspace ON invitations (workspace_id, created_ms);
