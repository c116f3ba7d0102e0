-- Accounts at external identity providers, linked to ours.
CREATE TABLE user_identities (
	provider   TEXT NOT NULL,
	subject    TEXT NOT NULL,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- Sign-ins in flight: the state we sent, with its nonce and PKCE verifier.
CREATE TABLE oidc_states (
	state_hash TEXT PRIMARY KEY,
	provider   TEXT NOT NULL,
	nonce      TEXT NOT NULL,
	verifier   TEXT NOT NULL,
	redirect   TEXT NOT NULL,
	expires_ms BIGINT NOT NULL
);
