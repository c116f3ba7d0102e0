-- Mention counts look for @channel/@here messages after a read position;
-- without this they would walk every unread message of the channel.
CREATE INDEX messages_broadcast ON messages (channel_id, seq) WHERE broadcast = 1;
