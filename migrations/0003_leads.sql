-- Lead qualification (seed 001). Times are epoch milliseconds.

-- One-time tokens from `action=token_create`; consumed by one lead_submit.
CREATE TABLE lead_tokens (
    token_hash   BLOB PRIMARY KEY,
    account_key  TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX lead_tokens_expiry ON lead_tokens(expires_at);

-- API keys created through /v1/clients/{id}/lead-keys (config keys are
-- not stored). Only a hash of the key is kept.
CREATE TABLE lead_keys (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    account_key  TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    label        TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE leads (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       TEXT NOT NULL,
    account_key     TEXT NOT NULL,
    service_id      INTEGER NOT NULL,
    interaction_id  TEXT NOT NULL,
    phone           TEXT NOT NULL,
    fields          TEXT NOT NULL,
    state           TEXT NOT NULL,
    reason          TEXT,
    campaign_id     INTEGER,
    record_id       INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    message_rounds  INTEGER NOT NULL DEFAULT 0,
    out_of_hours    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- A form re-posted with the same interaction id is the same lead.
    UNIQUE (account_key, interaction_id)
);
CREATE INDEX leads_record ON leads(record_id);
CREATE INDEX leads_state ON leads(state, id);
CREATE INDEX leads_client ON leads(client_id, id);

CREATE TABLE lead_history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id  INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX lead_history_lead ON lead_history(lead_id, id);

-- Email/SMS/WhatsApp messages, rendered when queued so a crash or a
-- template change never alters what a lead receives.
CREATE TABLE lead_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id     INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX lead_messages_due ON lead_messages(state, next_at);
CREATE INDEX lead_messages_lead ON lead_messages(lead_id, id);

-- A lead's record in its qualification campaign, found by the lead id its
-- data carries (only records of leads are indexed).
CREATE INDEX records_lead ON records(campaign_id, json_extract(data, '$.fields.lead_id'))
    WHERE json_extract(data, '$.fields.lead_id') IS NOT NULL;
