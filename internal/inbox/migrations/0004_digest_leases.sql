-- One node at a time writes a person's digest: it holds the lease until
-- until_ms, so nodes running the digest together never email twice.
CREATE TABLE digest_leases (
	user_id  TEXT PRIMARY KEY,
	until_ms BIGINT NOT NULL
);
