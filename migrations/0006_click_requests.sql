-- Click-to-call requests (issue 7): status and visitor info for the
-- agent, kept answerable for the retention window (then 410), after
-- which the phone number and visitor info are forgotten. Times are epoch
-- milliseconds.
CREATE TABLE click_requests (
    id             TEXT PRIMARY KEY,
    site           TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    phone          TEXT NOT NULL,
    agent_group    TEXT NOT NULL,
    call_order     TEXT NOT NULL,
    visitor        TEXT NOT NULL,
    status         TEXT NOT NULL,
    cause          TEXT,
    sip_status     INTEGER,
    agent          TEXT,
    agent_call     TEXT,
    customer_call  TEXT,
    token_hash     BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX click_requests_site ON click_requests(site, created_at);
CREATE INDEX click_requests_phone ON click_requests(site, phone, created_at);
