-- Agents and agent groups created through the API (issue 7). Those from
-- the configuration are not stored. Times are epoch milliseconds.

CREATE TABLE agents (
    client_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    extension   TEXT NOT NULL,
    uri         TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, id)
);

-- `body`: JSON {agents, steps: [{strategy, ring_timeout_s}], fallback_dialplan}.
CREATE TABLE agent_groups (
    client_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, id)
);
