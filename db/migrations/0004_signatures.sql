-- revportal migration 0004: what signed requests, recovery and e-mail
-- keep (issue 6).

-- A recovery's new key: the PKCS#10 request from the new device, checked
-- when the request was made (proof of possession, subject), and the
-- certificate the CA issued for it once it did.
CREATE TABLE recoveries (
	request_id	INTEGER PRIMARY KEY REFERENCES requests(id),
	csr_pem		TEXT NOT NULL CHECK (length(csr_pem) BETWEEN 1 AND 16384),
	csr_sha256	TEXT NOT NULL CHECK (length(csr_sha256) = 64),
	new_serial	TEXT,
	new_pem		TEXT,
	issued_at	INTEGER
) STRICT;

-- A challenge for a recovery names the CSR it binds (the document carries
-- its SHA-256), so the signed document cannot be moved to another key.
ALTER TABLE challenges ADD COLUMN csr_pem TEXT;

-- The relay keeps what the CA issued for a recovery row before it asks
-- for the old certificate's revocation, so a retry never issues twice.
ALTER TABLE outbox ADD COLUMN issued_pem TEXT;

-- Revocation status answers about signer certificates, shared by every
-- worker: an OCSP response (DER) by the certificate's OCSP id (SHA-256
-- hex of issuer name hash, issuer key hash and serial), or a CRL by its
-- URL, kept until next_update.
CREATE TABLE revocation_cache (
	key		TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 600),
	kind		TEXT NOT NULL CHECK (kind IN ('ocsp', 'crl')),
	der		BLOB NOT NULL,
	this_update	INTEGER NOT NULL,
	next_update	INTEGER NOT NULL,
	fetched_at	INTEGER NOT NULL
) STRICT;

-- E-mail to send about a request, written in the transaction of the
-- change it tells of and sent by revportal-relay over SMTP.
CREATE TABLE mail_queue (
	id		INTEGER PRIMARY KEY,
	request_id	INTEGER REFERENCES requests(id),
	event		TEXT NOT NULL CHECK (event IN ('received',
			    'needs_approval', 'completed', 'failed', 'expired',
			    'rejected')),
	rcpt		TEXT NOT NULL CHECK (length(rcpt) BETWEEN 3 AND 254),
	subject		TEXT NOT NULL,
	body		TEXT NOT NULL,
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
			    ('pending', 'sent', 'dead')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_attempt_at	INTEGER NOT NULL,
	lease_owner	TEXT,
	lease_until	INTEGER,
	last_error	TEXT,
	created_at	INTEGER NOT NULL,
	sent_at		INTEGER
) STRICT;

CREATE INDEX mail_queue_waiting ON mail_queue (next_attempt_at)
	WHERE state = 'pending';

-- One message per recipient per event of a request: an event told again
-- (a request that fails twice) mails nobody twice.
CREATE UNIQUE INDEX mail_queue_once ON mail_queue (request_id, event,
	rcpt COLLATE NOCASE);
