-- Failed logins are throttled per user name and per source address.
ALTER TABLE login_failures ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_by_source ON login_failures (source, at);
