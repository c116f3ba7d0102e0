-- Images get dimensions and thumbnails from a worker: thumbs is pending,
-- done, failed or none (not an image).
ALTER TABLE files ADD COLUMN width INTEGER NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN height INTEGER NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN thumbs TEXT NOT NULL DEFAULT 'none';
ALTER TABLE files ADD COLUMN thumbs_claimed_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX files_thumbs ON files (thumbs, thumbs_claimed_ms);
