-- revportal migration 0003: what the passphrase flows and the relay keep
-- besides the requests themselves.

-- Passphrase attempts per client in fixed windows, shared by every
-- worker.  key is "pass:<IPv4 address>", "pass:<IPv6 /64 prefix>" or, for
-- a hotline agent's caller checks, "pass:staff:<id>"; old windows are
-- deleted by the sweep.
CREATE TABLE rate_limits (
	key		TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 128),
	window_start	INTEGER NOT NULL,
	hits		INTEGER NOT NULL CHECK (hits >= 0)
) STRICT;

-- The first answer to a POST that made a request, by its Idempotency-Key
-- or by the one-time id of its HTML form, scoped by the passphrase row
-- that authenticated it ("api:<passphrase id>:<key>", "form:<passphrase
-- id>:<form id>"; hotline forms "hotline:<form id>" with status 303), so
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

-- The relay's timings and the CA's last answer, per outbox row:
-- first_sent_at when a relay first took it (it may have reached the CA
-- from then on), done_at when the CA confirmed it, ca_status the CA's
-- last HTTP status, sent_at when the CA first held it pending (EJBCA:
-- waiting for an approval, which ends after [relay] pending_max_hours).
ALTER TABLE outbox ADD COLUMN first_sent_at INTEGER;
ALTER TABLE outbox ADD COLUMN done_at INTEGER;
ALTER TABLE outbox ADD COLUMN ca_status INTEGER;
ALTER TABLE outbox ADD COLUMN sent_at INTEGER;

-- The relay's claim takes the waiting rows in next_attempt_at order: an
-- index of those rows alone, in that order, so that nothing is sorted
-- (the index of 0002 on (state, next_attempt_at) made SQLite sort every
-- due row of both states at each claim).  The rows of one certificate,
-- for the check that a revocation has overtaken a suspension.
DROP INDEX outbox_due;
CREATE INDEX outbox_waiting ON outbox (next_attempt_at)
	WHERE state IN ('pending', 'sent');
CREATE INDEX outbox_certificate ON outbox (certificate_id);
