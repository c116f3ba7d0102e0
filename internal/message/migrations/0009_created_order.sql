-- Newest-first search across a workspace's channels can walk this index
-- backwards and stop at a page, when a word is so common that collecting
-- every match first would cost more.
CREATE INDEX messages_created ON messages (created_ms);
