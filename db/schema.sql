-- revportal: the current database schema, for reading.
--
-- This file is documentation: it is the sum of db/migrations/*.sql, which
-- are what db_migrate() actually runs.  The unit test tests/unit/test_db.c
-- checks that loading this file gives the same tables, indexes and SQL as
-- applying every migration, so change both together.
--
-- Schema version (PRAGMA user_version): 4.

-- Facts about this database itself: when it was made, what it is.
-- Rows: created_at (UTC, ISO 8601), schema ('revportal').
CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	TEXT NOT NULL
) STRICT;

-- Since 0002: the registry, requests, the outbox and the audit log.
-- Times are INTEGER milliseconds since the epoch, UTC.

-- A company or other organisation, by its ETSI EN 319 412-1
-- organizationIdentifier (e.g. VATSI-12345678).
CREATE TABLE organisations (
	id		INTEGER PRIMARY KEY,
	org_id		TEXT NOT NULL UNIQUE CHECK (length(org_id) BETWEEN 3 AND 63),
	name		TEXT NOT NULL,
	created_at	INTEGER NOT NULL
) STRICT;

-- A natural person, by the ETSI semantics identifier in the subject
-- serialNumber of their certificates (e.g. PNOSI-1234567890123).
CREATE TABLE persons (
	id		INTEGER PRIMARY KEY,
	person_id	TEXT NOT NULL UNIQUE CHECK (length(person_id) BETWEEN 3 AND 63),
	name		TEXT NOT NULL,
	email		TEXT,
	created_at	INTEGER NOT NULL
) STRICT;

-- Who may represent an organisation, and when.  valid_to NULL: still.
CREATE TABLE legal_reps (
	id		INTEGER PRIMARY KEY,
	organisation_id	INTEGER NOT NULL REFERENCES organisations(id),
	person_id	INTEGER NOT NULL REFERENCES persons(id),
	valid_from	INTEGER NOT NULL,
	valid_to	INTEGER CHECK (valid_to IS NULL OR valid_to >= valid_from),
	UNIQUE (organisation_id, person_id, valid_from)
) STRICT;

CREATE INDEX legal_reps_person ON legal_reps (person_id);

-- A device holding keys: a smart card, a USB key, a cloud (remote QSCD)
-- account.  "I lost my card" acts on all of its certificates.
CREATE TABLE tokens (
	id		INTEGER PRIMARY KEY,
	label		TEXT NOT NULL UNIQUE CHECK (length(label) BETWEEN 1 AND 63),
	kind		TEXT NOT NULL CHECK (kind IN ('smartcard', 'usb', 'cloud', 'software')),
	qscd		INTEGER NOT NULL CHECK (qscd IN (0, 1)),
	created_at	INTEGER NOT NULL
) STRICT;

CREATE TABLE certificates (
	id		INTEGER PRIMARY KEY,
	issuer_dn	TEXT NOT NULL,
	serial		TEXT NOT NULL CHECK (serial GLOB '[0-9A-F]*' AND
			    serial NOT GLOB '*[^0-9A-F]*' AND length(serial) <= 40),
	subject_dn	TEXT NOT NULL,
	type		TEXT NOT NULL CHECK (type IN ('personal', 'business',
			    'application', 'eseal', 'tls', 'qwac')),
	person_id	INTEGER REFERENCES persons(id),
	organisation_id	INTEGER REFERENCES organisations(id),
	token_id	INTEGER REFERENCES tokens(id),
	not_before	INTEGER NOT NULL,
	not_after	INTEGER NOT NULL CHECK (not_after > not_before),
	term_years	INTEGER NOT NULL CHECK (term_years BETWEEN 1 AND 10),
	status		TEXT NOT NULL DEFAULT 'valid' CHECK (status IN
			    ('valid', 'suspended', 'revoked')),
	status_at	INTEGER NOT NULL,
	-- While suspended: since when, and when the hold ends by policy.
	suspended_at	INTEGER,
	suspended_until	INTEGER,
	-- The reason the subscriber gave for the suspension or revocation
	-- (RFC 5280 name); a suspension's is carried to the revocation that
	-- may end it.
	reason		TEXT CHECK (reason IN ('unspecified', 'keyCompromise', 'cACompromise',
			    'affiliationChanged', 'superseded', 'cessationOfOperation',
			    'certificateHold', 'removeFromCRL', 'privilegeWithdrawn',
			    'aACompromise')),
	aki		TEXT NOT NULL,
	sha256		TEXT NOT NULL UNIQUE,
	pem		TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	UNIQUE (issuer_dn, serial),
	CHECK ((status = 'suspended') = (suspended_at IS NOT NULL AND
	    suspended_until IS NOT NULL))
) STRICT;

CREATE INDEX certificates_serial ON certificates (serial);
CREATE INDEX certificates_token ON certificates (token_id);
CREATE INDEX certificates_person ON certificates (person_id);
CREATE INDEX certificates_organisation ON certificates (organisation_id);
CREATE INDEX certificates_suspended ON certificates (suspended_until)
	WHERE status = 'suspended';

-- The revocation passphrase, only as an Argon2id string, for a token (all
-- its certificates) or one certificate without a token.
CREATE TABLE passphrases (
	id		INTEGER PRIMARY KEY,
	token_id	INTEGER UNIQUE REFERENCES tokens(id),
	certificate_id	INTEGER UNIQUE REFERENCES certificates(id),
	hash		TEXT NOT NULL CHECK (hash GLOB '$argon2id$*'),
	failures	INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
	locked_at	INTEGER,
	updated_at	INTEGER NOT NULL,
	CHECK ((token_id IS NULL) <> (certificate_id IS NULL))
) STRICT;

-- Hotline agents, RA officers, administrators: by the SHA-256 of their
-- TLS client certificate.  roles is a comma list of agent, officer, admin.
CREATE TABLE staff (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL,
	cert_sha256	TEXT NOT NULL UNIQUE CHECK (length(cert_sha256) = 64 AND
			    cert_sha256 NOT GLOB '*[^0-9a-f]*'),
	subject_dn	TEXT NOT NULL,
	roles		TEXT NOT NULL CHECK (roles <> ''),
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;

-- A request to act on one certificate, or on every certificate of a token
-- (token_id set).  request_certificates lists the targets either way.
CREATE TABLE requests (
	id		INTEGER PRIMARY KEY,
	public_id	TEXT NOT NULL UNIQUE CHECK (length(public_id) = 22),
	action		TEXT NOT NULL CHECK (action IN ('revoke', 'suspend',
			    'reactivate', 'recover')),
	token_id	INTEGER REFERENCES tokens(id),
	reason		TEXT NOT NULL CHECK (reason IN ('unspecified', 'keyCompromise', 'cACompromise',
			    'affiliationChanged', 'superseded', 'cessationOfOperation',
			    'certificateHold', 'removeFromCRL', 'privilegeWithdrawn',
			    'aACompromise')),
	channel		TEXT NOT NULL CHECK (channel IN ('web', 'api', 'hotline',
			    'officer', 'system')),
	auth_method	TEXT NOT NULL CHECK (auth_method IN ('passphrase',
			    'signature', 'staff')),
	-- Who asked, as "person:PNOSI-…", "staff:<name>", "passphrase" or
	-- "system".
	requester	TEXT NOT NULL,
	staff_id	INTEGER REFERENCES staff(id),
	state		TEXT NOT NULL CHECK (state IN ('awaiting_approval',
			    'queued', 'relayed', 'completed', 'rejected',
			    'expired', 'failed')),
	received_at	INTEGER NOT NULL,
	due_at		INTEGER NOT NULL,
	approval_expires_at INTEGER,
	completed_at	INTEGER,
	updated_at	INTEGER NOT NULL,
	-- Parties still to sign (REL_* bits); 0 once queued.
	need		INTEGER NOT NULL DEFAULT 0,
	-- Hotline: the call, the caller's stated name; anyone: notes.
	call_reference	TEXT,
	caller_name	TEXT,
	notes		TEXT,
	-- Why an officer rejected it, or why the relay gave up.
	outcome		TEXT
) STRICT;

CREATE INDEX requests_state ON requests (state, due_at);

CREATE TABLE request_certificates (
	request_id	INTEGER NOT NULL REFERENCES requests(id),
	certificate_id	INTEGER NOT NULL REFERENCES certificates(id),
	PRIMARY KEY (request_id, certificate_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX request_certificates_cert ON request_certificates (certificate_id);

-- One signature (or staff confirmation) on a request.
CREATE TABLE approvals (
	id		INTEGER PRIMARY KEY,
	request_id	INTEGER NOT NULL REFERENCES requests(id),
	person_id	INTEGER REFERENCES persons(id),
	staff_id	INTEGER REFERENCES staff(id),
	-- REL_* bits this approval stands for: 1 subject, 2 legal rep.
	roles		INTEGER NOT NULL CHECK (roles BETWEEN 0 AND 3),
	signature	BLOB,
	signer_sha256	TEXT,
	approved_at	INTEGER NOT NULL
) STRICT;

CREATE INDEX approvals_request ON approvals (request_id);

-- Request documents issued for signing (DESIGN §3): single use.  Since
-- 0004 a recovery's challenge keeps the CSR it binds (csr_pem).
CREATE TABLE challenges (
	id		INTEGER PRIMARY KEY,
	public_id	TEXT NOT NULL UNIQUE CHECK (length(public_id) = 22),
	nonce		TEXT NOT NULL UNIQUE,
	action		TEXT NOT NULL CHECK (action IN ('revoke', 'suspend',
			    'reactivate', 'recover', 'approve', 'login')),
	certificate_id	INTEGER REFERENCES certificates(id),
	token_id	INTEGER REFERENCES tokens(id),
	request_id	INTEGER REFERENCES requests(id),
	reason		TEXT CHECK (reason IN ('unspecified', 'keyCompromise', 'cACompromise',
			    'affiliationChanged', 'superseded', 'cessationOfOperation',
			    'certificateHold', 'removeFromCRL', 'privilegeWithdrawn',
			    'aACompromise')),
	document	TEXT NOT NULL,
	issued_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL CHECK (expires_at > issued_at),
	used_at		INTEGER
, csr_pem TEXT) STRICT;

-- What the relay must tell the CA: one row per certificate of a queued
-- request.  The idempotency key is unique per row and stays the same
-- across retries.  Migration 0003 added the last four columns, which
-- SQLite appends to the table's text as shown: first_sent_at (a relay
-- first took the row), done_at (the CA confirmed it), ca_status (the
-- CA's last HTTP status), sent_at (the CA first held it pending); 0004
-- added issued_pem (what the CA issued for a recovery row).
CREATE TABLE outbox (
	id		INTEGER PRIMARY KEY,
	request_id	INTEGER NOT NULL REFERENCES requests(id),
	certificate_id	INTEGER NOT NULL REFERENCES certificates(id),
	action		TEXT NOT NULL CHECK (action IN ('revoke', 'suspend',
			    'reactivate', 'recover')),
	payload		TEXT NOT NULL,
	idempotency_key	TEXT NOT NULL UNIQUE,
	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
			    ('pending', 'sent', 'done', 'dead')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_attempt_at	INTEGER NOT NULL,
	lease_owner	TEXT,
	lease_until	INTEGER,
	last_error	TEXT,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
, first_sent_at INTEGER, done_at INTEGER, ca_status INTEGER, sent_at INTEGER, issued_pem TEXT) STRICT;

-- The rows waiting for the CA in the order the relay claims them
-- (next_attempt_at, then id), and the rows of one certificate.
CREATE INDEX outbox_waiting ON outbox (next_attempt_at)
	WHERE state IN ('pending', 'sent');
CREATE INDEX outbox_request ON outbox (request_id);
CREATE INDEX outbox_certificate ON outbox (certificate_id);

-- The audit log: append-only, each entry chained to the one before by
-- SHA-256 (cgi/audit.c says exactly what is hashed).  The triggers stop
-- accidents; the chain is what catches a deliberate edit.
CREATE TABLE audit (
	seq		INTEGER PRIMARY KEY CHECK (seq >= 1),
	at		INTEGER NOT NULL,
	actor		TEXT NOT NULL,
	action		TEXT NOT NULL,
	subject		TEXT NOT NULL,
	details		TEXT NOT NULL,
	prev_hash	TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash		TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT;

CREATE INDEX audit_subject ON audit (subject);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

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

-- Since 0004: signed requests, recovery, e-mail.

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
