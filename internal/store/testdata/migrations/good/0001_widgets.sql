-- A portable table: both databases accept this SQL.
CREATE TABLE widgets (
	id    TEXT PRIMARY KEY,
	name  TEXT NOT NULL UNIQUE,
	count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX widgets_count ON widgets (count);
