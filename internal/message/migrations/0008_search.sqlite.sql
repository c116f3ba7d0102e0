-- Full-text index of message text, kept in step by triggers in the same
-- transaction as every insert, edit and delete.
CREATE VIRTUAL TABLE message_fts USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');

-- +statement
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO message_fts (rowid, text) VALUES (new.rowid, new.text);
END;
-- -statement
-- +statement
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
	DELETE FROM message_fts WHERE rowid = old.rowid;
	INSERT INTO message_fts (rowid, text) VALUES (new.rowid, new.text);
END;
-- -statement
-- +statement
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	DELETE FROM message_fts WHERE rowid = old.rowid;
END;
-- -statement

INSERT INTO message_fts (rowid, text) SELECT rowid, text FROM messages;
CREATE INDEX messages_channel_created ON messages (channel_id, created_ms);
