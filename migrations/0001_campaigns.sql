-- dialerd's store, embedded default (SQLite). Times are epoch milliseconds.
-- A PostgreSQL backend implements the same repository (src/store/mod.rs).

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    client_id     TEXT NOT NULL REFERENCES clients(id),
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (client_id, username)
);

-- Only a hash of the session id is kept: a copy of the database does not
-- hand out live sessions.
CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY,
    client_id   TEXT NOT NULL,
    username    TEXT NOT NULL,
    role        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE schedules (
    client_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    PRIMARY KEY (client_id, name)
);

CREATE TABLE services (
    client_id             TEXT NOT NULL,
    id                    TEXT NOT NULL,
    name                  TEXT NOT NULL,
    sort                  TEXT NOT NULL,
    time_zone             TEXT NOT NULL,
    schedule              TEXT,
    report_at_end_of_day  INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    PRIMARY KEY (client_id, id)
);

CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id        TEXT NOT NULL,
    service_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    type             TEXT NOT NULL,
    state            TEXT NOT NULL,
    allow_append     INTEGER NOT NULL,
    settings         TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    day              TEXT NOT NULL,
    state_changed_at INTEGER NOT NULL,
    uploaded         INTEGER NOT NULL DEFAULT 0,
    loaded           INTEGER NOT NULL DEFAULT 0,
    appended         INTEGER NOT NULL DEFAULT 0,
    next_seq         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX campaigns_find ON campaigns(client_id, service_id, created_at);

-- The queue. class 0 = appended (order_key = append sequence, FIFO),
-- class 1 = loaded (order_key = the service sort's memcmp key).
-- state: ready (dialable now), waiting (until due_at), dialing, done.
CREATE TABLE records (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id       INTEGER NOT NULL,
    class             INTEGER NOT NULL,
    order_key         BLOB NOT NULL,
    state             TEXT NOT NULL,
    due_at            INTEGER NOT NULL,
    phone_idx         INTEGER NOT NULL DEFAULT 0,
    attempts_on_phone INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    phone1            TEXT NOT NULL,
    data              TEXT NOT NULL,
    last_disposition  TEXT,
    final             TEXT,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX records_queue ON records(campaign_id, state, class, order_key);
CREATE INDEX records_due ON records(campaign_id, state, due_at);

-- Every call dialerd placed for a campaign (an attempt) or through the API.
-- A campaign attempt is written before its INVITE leaves and completed when
-- it ends; one still open at start-up was interrupted by a crash.
CREATE TABLE calls (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    campaign_id  INTEGER,
    record_id    INTEGER,
    phone_idx    INTEGER,
    phone        TEXT NOT NULL,
    trunk        TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    disposition  TEXT,
    sip_status   INTEGER,
    cause        TEXT,
    outcome      TEXT,
    digits       TEXT,
    duration_ms  INTEGER
);
CREATE INDEX calls_campaign ON calls(campaign_id, started_at);
CREATE INDEX calls_started ON calls(started_at);
CREATE INDEX calls_phone ON calls(client_id, phone, started_at);
CREATE INDEX calls_open ON calls(campaign_id) WHERE ended_at IS NULL;

-- Do-not-call: client_id '*' is the global list.
CREATE TABLE dnc (
    client_id  TEXT NOT NULL,
    phone      TEXT NOT NULL,
    source     TEXT NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (client_id, phone)
);
