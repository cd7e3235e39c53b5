-- Q.850 hangup causes (issue 9): the cause code and text of the RFC 3326
-- `Reason` header that ended the call (the far end's BYE or final error
-- response, else the one on our BYE). NULL when no cause was given.
ALTER TABLE calls ADD COLUMN q850_cause INTEGER;
ALTER TABLE calls ADD COLUMN q850_text TEXT;
