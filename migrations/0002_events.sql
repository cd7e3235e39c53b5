-- Status webhooks and their durable outbox. Times are epoch milliseconds.

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- One row per (event, webhook) until delivered (then deleted) or dead.
-- Within a (webhook, grp) only the oldest pending row is attempted, so a
-- call's events arrive in order.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    grp         TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    last_error  TEXT
);
CREATE INDEX outbox_heads ON outbox(webhook_id, state, grp, id);
CREATE INDEX outbox_due ON outbox(webhook_id, state, next_at);
