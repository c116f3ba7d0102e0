-- Full-text index of message text (English stemming), computed by the
-- database, so it is always in step with edits and deletes.
ALTER TABLE messages ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED;
CREATE INDEX messages_tsv ON messages USING GIN (tsv);
CREATE INDEX messages_channel_created ON messages (channel_id, created_ms);
