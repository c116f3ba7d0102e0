-- TOTP second factor (RFC 6238). secret is base32; enabled_ms 0 while the
-- user has started but not confirmed setup. last_step stops a code being
-- used twice.
CREATE TABLE user_totp (
	user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret     TEXT NOT NULL,
	enabled_ms BIGINT NOT NULL DEFAULT 0,
	last_step  BIGINT NOT NULL DEFAULT 0
);

-- Single-use backup codes, stored hashed.
CREATE TABLE backup_codes (
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash TEXT NOT NULL,
	used_ms   BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, code_hash)
);

-- One-time sign-in codes sent by email or SMS: 6 digits, 5 minutes,
-- 3 tries.
CREATE TABLE login_codes (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  TEXT NOT NULL,
	channel    TEXT NOT NULL,
	expires_ms BIGINT NOT NULL,
	tries      INTEGER NOT NULL DEFAULT 0,
	used_ms    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX login_codes_user ON login_codes (user_id, expires_ms);

ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
