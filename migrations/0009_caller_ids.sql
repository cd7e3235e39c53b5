-- The caller ID each call showed (campaign caller-ID pools pick the number
-- used least today from these counts).
ALTER TABLE calls ADD COLUMN caller_id TEXT;
CREATE INDEX calls_caller_id ON calls(client_id, caller_id, started_at) WHERE caller_id IS NOT NULL;
