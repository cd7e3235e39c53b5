-- Click-to-call request nonces (issue 7): each is accepted once. Kept
-- until the signature's tolerance window has passed, so a replay is
-- refused even across a restart. Times are epoch milliseconds.
CREATE TABLE click_nonces (
    site        TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (site, nonce)
);
CREATE INDEX click_nonces_expiry ON click_nonces(expires_at);
