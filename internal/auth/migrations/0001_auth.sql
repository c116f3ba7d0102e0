-- Accounts. email is stored lower-cased and is unique.
CREATE TABLE users (
	id              TEXT PRIMARY KEY,
	email           TEXT NOT NULL UNIQUE,
	display_name    TEXT NOT NULL,
	password_hash   TEXT NOT NULL,
	email_verified  INTEGER NOT NULL DEFAULT 0,
	system_admin    INTEGER NOT NULL DEFAULT 0,
	banned          INTEGER NOT NULL DEFAULT 0,
	title           TEXT NOT NULL DEFAULT '',
	time_zone       TEXT NOT NULL DEFAULT '',
	locale          TEXT NOT NULL DEFAULT '',
	failed_logins   INTEGER NOT NULL DEFAULT 0,
	locked_until_ms BIGINT NOT NULL DEFAULT 0,
	created_ms      BIGINT NOT NULL,
	updated_ms      BIGINT NOT NULL
);

-- A session is one signed-in device: one refresh-token family.
CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_ms   BIGINT NOT NULL,
	last_used_ms BIGINT NOT NULL,
	expires_ms   BIGINT NOT NULL,
	revoked_ms   BIGINT NOT NULL DEFAULT 0,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, revoked_ms);

-- Every refresh token ever issued, by SHA-256 of its value. A spent one
-- presented again means it was stolen: the whole session is revoked.
CREATE TABLE refresh_tokens (
	token_hash TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	spent_ms   BIGINT NOT NULL DEFAULT 0,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Single-use links and codes sent by email (verification, password reset).
CREATE TABLE email_tokens (
	token_hash TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL,
	expires_ms BIGINT NOT NULL,
	used_ms    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
