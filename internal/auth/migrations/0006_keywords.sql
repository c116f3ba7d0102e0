-- Words a user wants to hear about (settings.notifications.keywords),
-- kept as rows so a new message can find its watchers with one query.
CREATE TABLE user_keywords (
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	keyword TEXT NOT NULL,
	PRIMARY KEY (user_id, keyword)
);
