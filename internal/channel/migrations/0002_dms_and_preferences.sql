-- A direct conversation is found by its sorted member list.
ALTER TABLE channels ADD COLUMN dm_key TEXT;
CREATE UNIQUE INDEX channels_dm_key ON channels (workspace_id, dm_key);

-- Each member's own settings for a channel.
ALTER TABLE channel_members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channel_members ADD COLUMN notify_level TEXT NOT NULL DEFAULT 'all';
ALTER TABLE channel_members ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channel_members ADD COLUMN section TEXT NOT NULL DEFAULT '';
