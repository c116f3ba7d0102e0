-- A reply also shown in the channel ("also send to #channel").
ALTER TABLE messages ADD COLUMN also_in_channel INTEGER NOT NULL DEFAULT 0;
