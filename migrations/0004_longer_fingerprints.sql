-- A row's fingerprint may be a client's Idempotency-Key, which can be up to 255
-- characters (the producer refuses longer ones): room for all of it, so that a retry
-- with the same key matches the stored row instead of a truncated copy of its key.
ALTER TABLE students MODIFY request_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL;
