-- Resumable uploads keep each chunk as an object in the file store instead
-- of on one node's disk, so any node may take the next chunk or complete
-- the upload. start_byte orders them; a chunk is recorded in the same
-- transaction that moves uploads.received past it.
CREATE TABLE upload_chunks (
	upload_id   TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
	start_byte  BIGINT NOT NULL,
	size        BIGINT NOT NULL,
	storage_key TEXT NOT NULL,
	PRIMARY KEY (upload_id, start_byte)
);
