-- revportal migration 0003: what the passphrase flows and the relay keep
-- besides the requests themselves.

-- Passphrase attempts per client address in fixed windows, shared by
-- every worker.  key is "pass:<address>"; old windows are deleted by the
-- sweep.
CREATE TABLE rate_limits (
	key		TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 128),
	window_start	INTEGER NOT NULL,
	hits		INTEGER NOT NULL CHECK (hits >= 0)
) STRICT;

-- The first answer to a POST that made a request, by its Idempotency-Key
-- ("api:<key>") or by the one-time id of the HTML form ("form:<id>"), so
-- that sending it again answers the same and makes nothing new.  The
-- fingerprint (SHA-256 hex of what was asked, never of a secret) tells a
-- repeat from a different request under a reused key.
CREATE TABLE idempotency (
	key		TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 300),
	fingerprint	TEXT NOT NULL CHECK (length(fingerprint) = 64),
	request_id	INTEGER NOT NULL REFERENCES requests(id),
	status		INTEGER NOT NULL,
	state		TEXT NOT NULL CHECK (state IN ('awaiting_approval',
			    'queued', 'relayed', 'completed', 'rejected',
			    'expired', 'failed')),
	created_at	INTEGER NOT NULL
) STRICT;

-- The relay's timings and the CA's last answer, per outbox row.
ALTER TABLE outbox ADD COLUMN first_sent_at INTEGER;
ALTER TABLE outbox ADD COLUMN done_at INTEGER;
ALTER TABLE outbox ADD COLUMN ca_status INTEGER;
