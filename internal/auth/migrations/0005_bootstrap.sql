-- The one row that says who became the first system administrator; its
-- primary key settles a race between first sign-ups.
CREATE TABLE auth_bootstrap (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	user_id TEXT NOT NULL
);
