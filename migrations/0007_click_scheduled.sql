-- Scheduled click-to-call callbacks (issue 7 item 5): `due_at` is when a
-- `scheduled` request runs (epoch milliseconds; the asked time moved to
-- the site's next opening). NULL for requests that ran at once. The
-- scheduler reloads `scheduled` rows at start, earliest first.
ALTER TABLE click_requests ADD COLUMN due_at INTEGER;
CREATE INDEX click_requests_scheduled ON click_requests(status, due_at);
