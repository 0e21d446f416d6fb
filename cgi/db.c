/*
 * The SQLite store: the only file that includes sqlite3.h.
 *
 * db_migrate() runs once in the supervisor: it creates the database if
 * needed and applies db_dir/migrations/NNNN_*.sql up to DB_SCHEMA_VERSION,
 * one transaction per file.  Each worker then calls db_open(), which
 * checks the schema version and prepares every statement of db_sql[]
 * once.  All SQL text of the program is fixed and lives in db_sql[]; the
 * two exceptions are the migration scripts (files, run as they are) and
 * "PRAGMA user_version = N", since a PRAGMA cannot take a bound value.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "extern.h"

/* The newest migration this program knows. */
#define DB_SCHEMA_VERSION	4

/* The largest migration file read. */
#define DB_MIGRATION_MAX	(1024u * 1024u)

#define CERT_COLS \
	"SELECT c.id, c.issuer_dn, c.serial, c.subject_dn, c.type, c.status, " \
	"c.person_id, c.organisation_id, c.token_id, p.person_id, o.org_id, " \
	"t.label, t.qscd, c.not_before, c.not_after, c.term_years, " \
	"c.status_at, c.suspended_at, c.suspended_until, c.reason, c.aki " \
	"FROM certificates c LEFT JOIN persons p ON p.id = c.person_id " \
	"LEFT JOIN organisations o ON o.id = c.organisation_id " \
	"LEFT JOIN tokens t ON t.id = c.token_id "

#define REQ_COLS \
	"SELECT r.id, r.public_id, r.action, r.reason, r.channel, " \
	"r.auth_method, r.state, r.requester, r.token_id, r.staff_id, " \
	"r.received_at, r.due_at, r.approval_expires_at, r.completed_at, " \
	"r.updated_at, r.need, r.call_reference, r.caller_name, r.notes, " \
	"r.outcome FROM requests r "

/* The request states that are not final. */
#define OPEN_STATES \
	"('awaiting_approval', 'queued', 'relayed', 'failed')"

/*
 * Every SQL statement of the program, one per entry, prepared once.  The
 * comment of an entry names its bound values (?) in order where the SQL
 * does not make them plain; CERT_COLS and REQ_COLS rows are read by
 * registry.c's and lifecycle.c's row readers.
 */
static const char *const db_sql[DB__MAX] = {
	[DB_JOURNAL_WAL] = "PRAGMA journal_mode = WAL",
	[DB_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[DB_FOREIGN_KEYS_ON] = "PRAGMA foreign_keys = ON",
	[DB_FOREIGN_KEYS_OFF] = "PRAGMA foreign_keys = OFF",
	[DB_FOREIGN_KEYS] = "PRAGMA foreign_keys",
	[DB_FOREIGN_KEY_CHECK] = "PRAGMA foreign_key_check",
	[DB_USER_VERSION] = "PRAGMA user_version",
	[DB_BEGIN] = "BEGIN IMMEDIATE",
	[DB_BEGIN_READ] = "BEGIN DEFERRED",
	[DB_COMMIT] = "COMMIT",
	[DB_ROLLBACK] = "ROLLBACK",
	[DB_HEALTH] = "SELECT 1 FROM meta LIMIT 1",

	/* Registry. */
	[DB_ORG_GET] = "SELECT id, name FROM organisations WHERE org_id = ?",
	[DB_ORG_ADD] = "INSERT INTO organisations (org_id, name, created_at) "
	    "VALUES (?, ?, ?)",
	[DB_PERSON_GET] = "SELECT id, name, email FROM persons "
	    "WHERE person_id = ?",
	[DB_PERSON_ADD] = "INSERT INTO persons (person_id, name, email, "
	    "created_at) VALUES (?, ?, ?, ?)",
	[DB_TOKEN_GET] = "SELECT id, kind, qscd FROM tokens WHERE label = ?",
	[DB_TOKEN_ADD] = "INSERT INTO tokens (label, kind, qscd, created_at) "
	    "VALUES (?, ?, ?, ?)",
	/* issuer, serial, subject, type, person, organisation, token,
	 * not_before, not_after, term_years, now (status_at), aki, sha256,
	 * pem, now (created_at) */
	[DB_CERT_ADD] = "INSERT INTO certificates (issuer_dn, serial, "
	    "subject_dn, type, person_id, organisation_id, token_id, "
	    "not_before, not_after, term_years, status, status_at, aki, "
	    "sha256, pem, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "'valid', ?, ?, ?, ?, ?)",
	/* serial, issuer or NULL for any */
	[DB_CERT_BY_SERIAL] = CERT_COLS "WHERE c.serial = ?1 AND "
	    "(?2 IS NULL OR c.issuer_dn = ?2) ORDER BY c.id LIMIT 2",
	[DB_CERT_BY_ROW] = CERT_COLS "WHERE c.id = ?",
	/* label, limit */
	[DB_CERTS_BY_TOKEN] = CERT_COLS "WHERE t.label = ? ORDER BY c.id "
	    "LIMIT ?",
	[DB_CERTS_OF_REQUEST] = CERT_COLS "JOIN request_certificates rc ON "
	    "rc.certificate_id = c.id WHERE rc.request_id = ? ORDER BY c.id",
	/* status, status_at, suspended_at, suspended_until, reason, id */
	[DB_CERT_SET_STATUS] = "UPDATE certificates SET status = ?, "
	    "status_at = ?, suspended_at = ?, suspended_until = ?, "
	    "reason = ? WHERE id = ?",
	[DB_CERTS_ALL] = CERT_COLS "ORDER BY c.id",
	/* issuer, serial, sha256: is it there already? */
	[DB_CERT_DUP] = "SELECT id FROM certificates WHERE (issuer_dn = ? "
	    "AND serial = ?) OR sha256 = ? LIMIT 1",
	/* token or NULL, certificate or NULL, hash, now */
	[DB_PASS_ADD] = "INSERT INTO passphrases (token_id, certificate_id, "
	    "hash, updated_at) VALUES (?, ?, ?, ?)",
	[DB_PASS_OF_TOKEN] = "SELECT id, hash, failures, locked_at "
	    "FROM passphrases WHERE token_id = ?",
	[DB_PASS_OF_CERT] = "SELECT id, hash, failures, locked_at "
	    "FROM passphrases WHERE certificate_id = ?",
	/* organisation, person, valid_from, valid_to or NULL */
	[DB_REP_ADD] = "INSERT INTO legal_reps (organisation_id, person_id, "
	    "valid_from, valid_to) VALUES (?, ?, ?, ?)",
	/* now, organisation, person, now */
	[DB_REP_END] = "UPDATE legal_reps SET valid_to = ?1 WHERE "
	    "organisation_id = ?2 AND person_id = ?3 AND valid_from <= ?1 AND "
	    "(valid_to IS NULL OR valid_to > ?1)",
	/* organisation, person, t */
	[DB_REP_ACTIVE] = "SELECT 1 FROM legal_reps WHERE organisation_id = ?1 "
	    "AND person_id = ?2 AND valid_from <= ?3 AND (valid_to IS NULL "
	    "OR valid_to > ?3) LIMIT 1",
	[DB_REPS_ALL] = "SELECT o.org_id, o.name, p.person_id, p.name, "
	    "r.valid_from, r.valid_to FROM legal_reps r JOIN organisations o "
	    "ON o.id = r.organisation_id JOIN persons p ON p.id = r.person_id "
	    "ORDER BY o.org_id, r.valid_from",
	/* name, cert_sha256, subject_dn, roles, now, now */
	[DB_STAFF_ADD] = "INSERT INTO staff (name, cert_sha256, subject_dn, "
	    "roles, active, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, "
	    "?)",
	/* active, now, cert_sha256 */
	[DB_STAFF_SET_ACTIVE] = "UPDATE staff SET active = ?, updated_at = ? "
	    "WHERE cert_sha256 = ?",
	[DB_STAFF_BY_SHA] = "SELECT id, name, roles, active FROM staff "
	    "WHERE cert_sha256 = ?",
	[DB_STAFF_ALL] = "SELECT id, name, cert_sha256, subject_dn, roles, "
	    "active, created_at FROM staff ORDER BY id",
	/* certificate: what CERT_COLS leaves out, for the export */
	[DB_CERT_EXPORT] = "SELECT sha256, pem, created_at FROM certificates "
	    "WHERE id = ?",
	[DB_PERSONS_ALL] = "SELECT id, person_id, name, email, created_at "
	    "FROM persons ORDER BY id",
	[DB_ORGS_ALL] = "SELECT id, org_id, name, created_at FROM "
	    "organisations ORDER BY id",
	/* with whether a passphrase is set, never the hash */
	[DB_TOKENS_ALL] = "SELECT t.id, t.label, t.kind, t.qscd, t.created_at, "
	    "EXISTS (SELECT 1 FROM passphrases s WHERE s.token_id = t.id) "
	    "FROM tokens t ORDER BY t.id",
	/* organisation, person, valid_from, valid_to or NULL: a period of
	 * theirs that overlaps [valid_from, valid_to); empty (cancelled)
	 * periods overlap nothing */
	[DB_REP_OVERLAP] = "SELECT 1 FROM legal_reps WHERE organisation_id = "
	    "?1 AND person_id = ?2 AND (valid_to IS NULL OR valid_to > "
	    "valid_from) AND (?4 IS NULL OR valid_from < ?4) AND (valid_to IS "
	    "NULL OR valid_to > ?3) LIMIT 1",
	/* now, organisation, person: periods not begun end at their start */
	[DB_REP_CANCEL] = "UPDATE legal_reps SET valid_to = valid_from WHERE "
	    "organisation_id = ?2 AND person_id = ?3 AND valid_from > ?1 AND "
	    "(valid_to IS NULL OR valid_to > valid_from)",

	/* Requests. */
	/* public_id, action, token, reason, channel, auth_method, requester,
	 * staff, state, received_at, due_at, approval_expires_at,
	 * updated_at, need, call_reference, caller_name, notes */
	[DB_REQ_ADD] = "INSERT INTO requests (public_id, action, token_id, "
	    "reason, channel, auth_method, requester, staff_id, state, "
	    "received_at, due_at, approval_expires_at, updated_at, need, "
	    "call_reference, caller_name, notes) VALUES (?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[DB_REQ_CERT_ADD] = "INSERT INTO request_certificates (request_id, "
	    "certificate_id) VALUES (?, ?)",
	[DB_REQ_GET] = REQ_COLS "WHERE r.public_id = ?",
	[DB_REQ_BY_ROW] = REQ_COLS "WHERE r.id = ?",
	/* new state, now, completed_at or NULL, need, outcome or NULL, id,
	 * old state: a compare-and-set, 0 rows when it moved meanwhile */
	[DB_REQ_SET_STATE] = "UPDATE requests SET state = ?, updated_at = ?, "
	    "completed_at = ?, need = ?, outcome = ? WHERE id = ? AND "
	    "state = ?",
	/* certificate: its open requests, revocations first */
	[DB_REQ_OPEN_FOR_CERT] = "SELECT r.id, r.action, r.public_id FROM "
	    "requests r JOIN request_certificates rc ON rc.request_id = r.id "
	    "WHERE rc.certificate_id = ? AND r.state IN " OPEN_STATES
	    " ORDER BY r.action = 'revoke' DESC, r.id",
	/* state or NULL, due before or NULL (open ones only), limit */
	[DB_REQ_LIST] = REQ_COLS "WHERE (?1 IS NULL OR r.state = ?1) AND "
	    "(?2 IS NULL OR (r.due_at <= ?2 AND r.state IN " OPEN_STATES
	    ")) ORDER BY r.due_at, r.id LIMIT ?3",
	/* request, person or NULL, staff or NULL, roles, signature or NULL,
	 * signer_sha256 or NULL, now */
	[DB_APPROVAL_ADD] = "INSERT INTO approvals (request_id, person_id, "
	    "staff_id, roles, signature, signer_sha256, approved_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)",
	[DB_APPROVALS_OF] = "SELECT a.id, p.person_id, p.name, a.staff_id, "
	    "a.roles, a.signer_sha256, a.approved_at, a.person_id FROM "
	    "approvals a LEFT JOIN persons p ON p.id = a.person_id "
	    "WHERE a.request_id = ? ORDER BY a.id",
	/* request, certificate, action, payload, key, now (next attempt),
	 * now, now */
	[DB_OUTBOX_ADD] = "INSERT INTO outbox (request_id, certificate_id, "
	    "action, payload, idempotency_key, next_attempt_at, created_at, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[DB_OUTBOX_OF] = "SELECT id, certificate_id, action, payload, "
	    "idempotency_key, state, attempts, next_attempt_at, last_error "
	    "FROM outbox WHERE request_id = ? ORDER BY id",
	/* now, now, request: dead rows go back to pending (a wait for an
	 * approval that ended in a dead row starts afresh) */
	[DB_OUTBOX_REQUEUE] = "UPDATE outbox SET state = 'pending', "
	    "attempts = 0, next_attempt_at = ?, updated_at = ?, "
	    "lease_owner = NULL, lease_until = NULL, sent_at = NULL WHERE "
	    "request_id = ? AND state = 'dead'",
	/* request id, since: the certificates the CA confirmed at since or
	 * later (0: ever) -> certificate_id */
	[DB_OUTBOX_DONE_CERTS] = "SELECT certificate_id FROM outbox WHERE "
	    "request_id = ? AND state = 'done' AND coalesce(done_at, 0) >= ?",
	/* now: held certificates past their limit, without an open
	 * revocation or a reactivation already on its way to the CA (one
	 * still waiting for signatures does not stop the limit) */
	[DB_SWEEP_SUSPENDED] = "SELECT c.id FROM certificates c WHERE "
	    "c.status = 'suspended' AND c.suspended_until <= ?1 AND "
	    "c.not_after >= ?1 AND NOT "
	    "EXISTS (SELECT 1 FROM request_certificates rc JOIN requests r "
	    "ON r.id = rc.request_id WHERE rc.certificate_id = c.id AND "
	    "(r.state IN " OPEN_STATES " AND r.action = 'revoke' OR "
	    "r.state IN ('queued', 'relayed') AND r.action = 'reactivate')) "
	    "ORDER BY c.id LIMIT 100",
	[DB_SWEEP_APPROVALS] = "SELECT public_id FROM requests WHERE "
	    "state = 'awaiting_approval' AND approval_expires_at <= ? "
	    "ORDER BY id LIMIT 100",

	/* Audit log. */
	[DB_AUDIT_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC "
	    "LIMIT 1",
	/* seq, at, actor, action, subject, details, prev_hash, hash */
	[DB_AUDIT_ADD] = "INSERT INTO audit (seq, at, actor, action, subject, "
	    "details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[DB_AUDIT_ALL] = "SELECT seq, at, actor, action, subject, details, "
	    "prev_hash, hash FROM audit ORDER BY seq",
	[DB_AUDIT_OF] = "SELECT seq, at, actor, action, subject, details, "
	    "prev_hash, hash FROM audit WHERE subject = ? ORDER BY seq",
	[DB_AUDIT_AT] = "SELECT hash FROM audit WHERE seq = ?",

	/* The meta table: key, value. */
	[DB_META_GET] = "SELECT value FROM meta WHERE key = ?",
	/* key, value */
	[DB_META_SET] = "INSERT INTO meta (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",

	/* Passphrase checks, rate limit, idempotency (passflow.c). */
	/* passphrase id: its count, lock and hash, re-read inside the
	 * check's transaction */
	[DB_PF_PASS_GET] = "SELECT failures, locked_at, hash FROM passphrases "
	    "WHERE id = ?",
	/* failures, locked_at or NULL, now, a new hash or NULL to keep the
	 * stored one, id */
	[DB_PF_PASS_SET] = "UPDATE passphrases SET failures = ?, "
	    "locked_at = ?, updated_at = ?, hash = coalesce(?, hash) "
	    "WHERE id = ?",
	/* key, now, window (ms): counts one hit in the key's window, or
	 * starts a new window at now when the last one ended (or lies in
	 * the future: the clock went back); returns hits, window_start */
	[DB_PF_RATE_HIT] = "INSERT INTO rate_limits (key, window_start, hits) "
	    "VALUES (?1, ?2, 1) ON CONFLICT (key) DO UPDATE SET "
	    "hits = CASE WHEN ?2 >= window_start AND ?2 < window_start + ?3 "
	    "THEN hits + 1 ELSE 1 END, "
	    "window_start = CASE WHEN ?2 >= window_start AND "
	    "?2 < window_start + ?3 THEN window_start ELSE ?2 END "
	    "RETURNING hits, window_start",
	/* now, window (ms): the windows that ended */
	[DB_PF_RATE_SWEEP] = "DELETE FROM rate_limits WHERE "
	    "window_start + ?2 <= ?1",
	/* key: fingerprint, request public id, status, state (also the
	 * hotline's form records, h_staff.c) */
	[DB_PF_IDEM_GET] = "SELECT i.fingerprint, r.public_id, i.status, "
	    "i.state FROM idempotency i JOIN requests r ON "
	    "r.id = i.request_id WHERE i.key = ?",
	/* key, fingerprint, request row, status, state, now */
	[DB_PF_IDEM_ADD] = "INSERT INTO idempotency (key, fingerprint, "
	    "request_id, status, state, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	/* before (ms): the records made before it */
	[DB_PF_IDEM_SWEEP] = "DELETE FROM idempotency WHERE created_at < ?",

	/* Staff console and officer queue (staff.c, h_staff.c). */
	/* h_staff.c reads the rows of these two: id, serial, type, status,
	 * issuer, token label, org id, org name, person id, person name,
	 * e-mail (NULL where there is none). */
#define STAFF_CERT_COLS \
	"SELECT c.id, c.serial, c.type, c.status, c.issuer_dn, t.label, " \
	"o.org_id, o.name, p.person_id, p.name, p.email " \
	"FROM certificates c LEFT JOIN persons p ON p.id = c.person_id " \
	"LEFT JOIN organisations o ON o.id = c.organisation_id " \
	"LEFT JOIN tokens t ON t.id = c.token_id "
	/* canonical serial or NULL, LIKE pattern ('!' escapes), limit: the
	 * certificate of that very serial first */
	[DB_STAFF_SEARCH] = STAFF_CERT_COLS "WHERE c.serial = ?1 OR "
	    "p.name LIKE ?2 ESCAPE '!' OR p.email LIKE ?2 ESCAPE '!' OR "
	    "p.person_id LIKE ?2 ESCAPE '!' OR o.name LIKE ?2 ESCAPE '!' OR "
	    "o.org_id LIKE ?2 ESCAPE '!' OR t.label LIKE ?2 ESCAPE '!' "
	    "ORDER BY (c.serial = ?1) DESC, c.id LIMIT ?3",
	[DB_STAFF_CERT] = STAFF_CERT_COLS "WHERE c.id = ?",
#undef STAFF_CERT_COLS
	/* certificate, limit: its requests, newest first */
	[DB_STAFF_CERT_REQS] = "SELECT r.public_id, r.action, r.state, "
	    "r.channel, r.requester, r.received_at, r.completed_at, "
	    "r.call_reference FROM requests r JOIN request_certificates rc "
	    "ON rc.request_id = r.id WHERE rc.certificate_id = ? "
	    "ORDER BY r.id DESC LIMIT ?",
	/* state or NULL for every open one, now, limit: public id, action,
	 * state, channel, requester, received, due, outcome, call
	 * reference, overdue (open past due), its serials, the outbox's
	 * last errors; overdue first, then open ones oldest first and
	 * closed ones newest first */
	[DB_STAFF_QUEUE] = "SELECT r.public_id, r.action, r.state, "
	    "r.channel, r.requester, r.received_at, r.due_at, r.outcome, "
	    "r.call_reference, r.state IN " OPEN_STATES " AND r.due_at <= ?2 "
	    "AS overdue, (SELECT substr(group_concat(c.serial, ' '), 1, 400) "
	    "FROM request_certificates rc JOIN certificates c ON c.id = "
	    "rc.certificate_id WHERE rc.request_id = r.id), (SELECT "
	    "substr(group_concat(o.last_error, ' | '), 1, 400) FROM outbox o "
	    "WHERE o.request_id = r.id AND o.last_error IS NOT NULL) "
	    "FROM requests r WHERE (?1 IS NULL AND r.state IN " OPEN_STATES
	    ") OR r.state = ?1 ORDER BY overdue DESC, CASE WHEN r.state IN "
	    OPEN_STATES " THEN r.received_at ELSE -r.received_at END, "
	    "CASE WHEN r.state IN " OPEN_STATES " THEN r.id ELSE -r.id END "
	    "LIMIT ?3",
	/* passphrases.id: whether it is locked (no row: it is gone) */
	[DB_STAFF_PASS_LOCKED] = "SELECT locked_at IS NOT NULL FROM "
	    "passphrases WHERE id = ?",
	/* The audit entries the officer reads, newest first: seq, at,
	 * actor, action, subject, details. */
#define STAFF_AUDIT_COLS \
	"SELECT seq, at, actor, action, subject, details FROM audit "
	/* subject, 1 for the views of it only or 0 for everything else,
	 * limit */
	[DB_STAFF_TRAIL_OF] = STAFF_AUDIT_COLS "WHERE subject = ?1 AND "
	    "(action IN ('agent.request_view', 'officer.view')) = ?2 "
	    "ORDER BY seq DESC LIMIT ?3",
	/* subject "certificate:<serial>", request public id, issuer, limit:
	 * what that request did to the certificate */
	[DB_STAFF_TRAIL_CERT] = STAFF_AUDIT_COLS "WHERE subject = ?1 AND "
	    "action IN ('certificate.status', 'certificate.unchanged') AND "
	    "CASE WHEN json_valid(details) THEN json_extract(details, "
	    "'$.request') = ?2 AND json_extract(details, '$.issuer') IS ?3 "
	    "ELSE 0 END ORDER BY seq DESC LIMIT ?4",
	/* subject, until (ms), limit: the passphrase checks of a
	 * certificate or token up to a request's receipt */
	[DB_STAFF_TRAIL_CHECKS] = STAFF_AUDIT_COLS "WHERE subject = ?1 AND "
	    "(action = 'agent.verify' OR action GLOB 'passphrase.*') AND "
	    "at <= ?2 ORDER BY seq DESC LIMIT ?3",
#undef STAFF_AUDIT_COLS

	/* Relay (outbox.c).  A row waits for the CA while it is pending or
	 * sent and its request is queued or relayed; a sent row also while
	 * its request has moved on (failed, rejected), since the CA may
	 * still carry it out.  The claim walks the partial index
	 * outbox_waiting in next_attempt_at order (id, the rowid, breaks
	 * ties), so it sorts nothing. */
#define OUTBOX_WAITING \
	"o.state IN ('pending', 'sent') AND (r.state IN ('queued', " \
	"'relayed') OR (o.state = 'sent' AND r.state IN ('failed', " \
	"'rejected')))"
	/* now, limit: the rows due first whose lease is free or has run
	 * out */
#define OUTBOX_DUE \
	"SELECT o.id, o.request_id, o.state, o.attempts, o.first_sent_at, " \
	"o.payload, o.idempotency_key, r.public_id, r.received_at, " \
	"o.certificate_id, r.state, o.sent_at, o.issued_pem FROM outbox o " \
	"INDEXED BY " \
	"outbox_waiting JOIN requests r ON r.id = o.request_id WHERE " \
	OUTBOX_WAITING " AND o.next_attempt_at <= ?1 AND (o.lease_until " \
	"IS NULL OR o.lease_until <= ?1) ORDER BY o.next_attempt_at, o.id " \
	"LIMIT ?2"
	[DB_OUTBOX_DUE] = OUTBOX_DUE,
	/* the same: its plan (id, parent, notused, detail), for the test
	 * that the claim sorts nothing */
	[DB_OUTBOX_DUE_PLAN] = "EXPLAIN QUERY PLAN " OUTBOX_DUE,
#undef OUTBOX_DUE
	/* owner, lease_until, now (first_sent_at if none), now, id, now */
	[DB_OUTBOX_LEASE] = "UPDATE outbox SET lease_owner = ?, "
	    "lease_until = ?, first_sent_at = coalesce(first_sent_at, ?), "
	    "updated_at = ? WHERE id = ? AND (lease_until IS NULL OR "
	    "lease_until <= ?)",
	/* state, attempts, next_attempt_at, last_error or NULL, ca_status
	 * or NULL (kept), done_at or NULL, now, id, owner: only while the
	 * lease is still the owner's; sent_at stamped when the row first
	 * becomes sent */
	[DB_OUTBOX_RECORD] = "UPDATE outbox SET state = ?1, attempts = ?2, "
	    "next_attempt_at = ?3, last_error = ?4, ca_status = "
	    "coalesce(?5, ca_status), done_at = ?6, sent_at = CASE WHEN "
	    "?1 = 'sent' THEN coalesce(sent_at, ?7) ELSE sent_at END, "
	    "lease_owner = NULL, lease_until = NULL, updated_at = ?7 "
	    "WHERE id = ?8 AND lease_owner = ?9",
	/* now, id, owner */
	[DB_OUTBOX_RELEASE] = "UPDATE outbox SET lease_owner = NULL, "
	    "lease_until = NULL, updated_at = ? WHERE id = ? AND "
	    "lease_owner = ?",
	/* request: its rows the CA has not confirmed */
	[DB_OUTBOX_UNDONE] = "SELECT count(*) FROM outbox WHERE "
	    "request_id = ? AND state <> 'done'",
	/* the rows waiting for the CA: how many, the oldest's created_at */
	[DB_OUTBOX_STATS] = "SELECT count(*), min(o.created_at) FROM outbox o "
	    "JOIN requests r ON r.id = o.request_id WHERE " OUTBOX_WAITING,
	/* when the next of them falls due, its lease run out */
	[DB_OUTBOX_NEXT] = "SELECT min(max(o.next_attempt_at, "
	    "coalesce(o.lease_until, 0))) FROM outbox o JOIN requests r ON "
	    "r.id = o.request_id WHERE " OUTBOX_WAITING,
	/* certificate, now, owner: whether a revocation of it reached the
	 * CA (a revoke row sent or done, or the registry says revoked),
	 * and until when another relay holds a revoke row of it (NULL:
	 * none does) */
	[DB_OUTBOX_REVOKE_STATE] = "SELECT coalesce((SELECT status = "
	    "'revoked' FROM certificates WHERE id = ?1), 0) OR EXISTS "
	    "(SELECT 1 FROM outbox WHERE certificate_id = ?1 AND action = "
	    "'revoke' AND state = 'done'), (SELECT "
	    "max(lease_until) FROM outbox WHERE certificate_id = ?1 AND "
	    "action = 'revoke' AND state IN ('pending', 'sent') AND "
	    "lease_until > ?2 AND lease_owner IS NOT ?3)",
	/* next_attempt_at, now, id, owner: put off, the lease given back */
	[DB_OUTBOX_POSTPONE] = "UPDATE outbox SET next_attempt_at = ?, "
	    "lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE "
	    "id = ? AND lease_owner = ?",
	/* lease_until, now, id, owner */
	[DB_OUTBOX_RENEW] = "UPDATE outbox SET lease_until = ?, "
	    "updated_at = ? WHERE id = ? AND lease_owner = ?",
	/* first_sent_at as before the claim (NULL), now, id, owner: a row
	 * given back that was never sent in this claim */
	[DB_OUTBOX_UNCLAIM] = "UPDATE outbox SET first_sent_at = ?, "
	    "lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE "
	    "id = ? AND lease_owner = ?",
#undef OUTBOX_WAITING

	/* Challenges and signed requests (chal.c, signflow.c). */
	/* public_id, nonce, action, certificate or NULL, token or NULL,
	 * request or NULL, reason or NULL, document, issued_at, expires_at,
	 * csr_pem or NULL */
	[DB_CHAL_ADD] = "INSERT INTO challenges (public_id, nonce, action, "
	    "certificate_id, token_id, request_id, reason, document, "
	    "issued_at, expires_at, csr_pem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?)",
	/* public_id: id, public_id, action, certificate, token, request,
	 * reason, document, issued_at, expires_at, used_at, csr_pem, the
	 * certificate's issuer and serial, the token's label, the
	 * request's public id (NULL where there is none) */
	[DB_CHAL_GET] = "SELECT ch.id, ch.public_id, ch.action, "
	    "ch.certificate_id, ch.token_id, ch.request_id, ch.reason, "
	    "ch.document, ch.issued_at, ch.expires_at, ch.used_at, "
	    "ch.csr_pem, c.issuer_dn, c.serial, t.label, r.public_id FROM "
	    "challenges ch LEFT JOIN certificates c ON c.id = "
	    "ch.certificate_id LEFT JOIN tokens t ON t.id = ch.token_id "
	    "LEFT JOIN requests r ON r.id = ch.request_id WHERE "
	    "ch.public_id = ?",
	/* now, id, the time of use: 0 rows when it was used already or
	 * expired meanwhile */
	[DB_CHAL_USE] = "UPDATE challenges SET used_at = ? WHERE id = ? AND "
	    "used_at IS NULL AND expires_at > ?",
	/* person, t: whether they are a legal rep of any organisation */
	[DB_SF_REP_ANY] = "SELECT 1 FROM legal_reps WHERE person_id = ?1 AND "
	    "valid_from <= ?2 AND (valid_to IS NULL OR valid_to > ?2) LIMIT 1",
	/* signer certificate SHA-256 -> its status in the registry, and
	 * whether a revocation or suspension of it is under way */
	[DB_SF_SIGNER_STATE] = "SELECT c.status, EXISTS (SELECT 1 FROM "
	    "request_certificates rc JOIN requests r ON r.id = rc.request_id "
	    "WHERE rc.certificate_id = c.id AND r.action IN ('revoke', "
	    "'suspend') AND r.state IN ('queued', 'relayed')) FROM "
	    "certificates c WHERE c.sha256 = ?",
	/* Revocation cache (revchk.c). */
	/* key, now -> kind, der: an answer still in force */
	[DB_REV_GET] = "SELECT kind, der FROM revocation_cache WHERE "
	    "key = ? AND next_update > ?",
	/* key, kind, der, this_update, next_update, fetched_at: never
	 * replaces an answer with an older one */
	[DB_REV_PUT] = "INSERT INTO revocation_cache (key, kind, der, "
	    "this_update, next_update, fetched_at) VALUES (?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, "
	    "der = excluded.der, this_update = excluded.this_update, "
	    "next_update = excluded.next_update, "
	    "fetched_at = excluded.fetched_at "
	    "WHERE excluded.this_update >= revocation_cache.this_update",
	/* now: answers out of force */
	[DB_REV_SWEEP] = "DELETE FROM revocation_cache WHERE next_update <= ?",

	/* Approval pages (h_signpage.c). */
	/* persons.id -> name */
	[DB_SP_PERSON_NAME] = "SELECT name FROM persons WHERE id = ?",
	/* persons.id, now, limit: the requests awaiting approval (and not
	 * past their approval deadline) of every organisation the person
	 * represents at now, newest first, one row each -> public_id,
	 * action, reason, received_at, approval_expires_at, need, the
	 * first certificate's serial and type, the organisation's name,
	 * the subject person's name (or NULL), how many certificates */
	[DB_SP_PENDING] = "SELECT r.public_id, r.action, r.reason, "
	    "r.received_at, r.approval_expires_at, r.need, c.serial, c.type, "
	    "o.name, p.name, count(*), min(c.id) FROM legal_reps lr "
	    "JOIN certificates c ON c.organisation_id = lr.organisation_id "
	    "JOIN request_certificates rc ON rc.certificate_id = c.id "
	    "JOIN requests r ON r.id = rc.request_id "
	    "JOIN organisations o ON o.id = c.organisation_id "
	    "LEFT JOIN persons p ON p.id = c.person_id "
	    "WHERE lr.person_id = ?1 AND lr.valid_from <= ?2 AND "
	    "(lr.valid_to IS NULL OR lr.valid_to > ?2) AND "
	    "r.state = 'awaiting_approval' AND "
	    "(r.approval_expires_at IS NULL OR r.approval_expires_at > ?2) "
	    "GROUP BY r.id ORDER BY r.received_at DESC, r.id DESC LIMIT ?3",
	/* requests.id -> serial, type, subject_dn, the subject person's
	 * name, the organisation's name and identifier, the token's label
	 * (NULL where there is none), in certificate order */
	[DB_SP_REQUEST_CERTS] = "SELECT c.serial, c.type, c.subject_dn, "
	    "p.name, o.name, o.org_id, t.label FROM request_certificates rc "
	    "JOIN certificates c ON c.id = rc.certificate_id "
	    "LEFT JOIN persons p ON p.id = c.person_id "
	    "LEFT JOIN organisations o ON o.id = c.organisation_id "
	    "LEFT JOIN tokens t ON t.id = c.token_id "
	    "WHERE rc.request_id = ? ORDER BY c.id",
	/* E-mail (mail.c). */
	/* request row -> public_id, action, reason, state, need,
	 * received_at, approval_expires_at, outcome */
	[DB_MAIL_REQ] = "SELECT public_id, action, reason, state, need, "
	    "received_at, approval_expires_at, outcome FROM requests "
	    "WHERE id = ?",
	/* persons.id -> name, email */
	[DB_MAIL_PERSON] = "SELECT name, email FROM persons WHERE id = ?",
	/* organisation, t, limit -> persons.id, name, email of the legal
	 * representatives in office at t */
	[DB_MAIL_REPS] = "SELECT DISTINCT p.id, p.name, p.email FROM "
	    "legal_reps r JOIN persons p ON p.id = r.person_id WHERE "
	    "r.organisation_id = ?1 AND r.valid_from <= ?2 AND (r.valid_to "
	    "IS NULL OR r.valid_to > ?2) ORDER BY p.id LIMIT ?3",
	/* request, limit -> persons.id, name, email of those who signed */
	[DB_MAIL_SIGNERS] = "SELECT DISTINCT p.id, p.name, p.email FROM "
	    "approvals a JOIN persons p ON p.id = a.person_id WHERE "
	    "a.request_id = ? ORDER BY p.id LIMIT ?",
	/* request, event, rcpt, subject, body, now (next attempt), now:
	 * nothing when that recipient has that event's message already */
	[DB_MAIL_ADD] = "INSERT INTO mail_queue (request_id, event, rcpt, "
	    "subject, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, "
	    "?, ?, ?) ON CONFLICT DO NOTHING",
	/* now: the pending message due first whose lease is free or has
	 * run out -> id, rcpt, subject, body, attempts, created_at */
	[DB_MAIL_DUE] = "SELECT id, rcpt, subject, body, attempts, "
	    "created_at FROM mail_queue INDEXED BY mail_queue_waiting WHERE "
	    "state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS "
	    "NULL OR lease_until <= ?1) ORDER BY next_attempt_at, id LIMIT 1",
	/* owner, lease_until, id, now */
	[DB_MAIL_LEASE] = "UPDATE mail_queue SET lease_owner = ?, "
	    "lease_until = ? WHERE id = ? AND state = 'pending' AND "
	    "(lease_until IS NULL OR lease_until <= ?)",
	/* state, attempts, next_attempt_at, last_error or NULL, sent_at or
	 * NULL, id, owner: only while the lease is the owner's */
	[DB_MAIL_RECORD] = "UPDATE mail_queue SET state = ?, attempts = ?, "
	    "next_attempt_at = ?, last_error = ?, sent_at = ?, "
	    "lease_owner = NULL, lease_until = NULL WHERE id = ? AND "
	    "lease_owner = ?",
	/* when the next pending message falls due, its lease run out */
	[DB_MAIL_NEXT] = "SELECT min(max(next_attempt_at, "
	    "coalesce(lease_until, 0))) FROM mail_queue WHERE "
	    "state = 'pending'",
	/* before, limit: the messages sent, or given up (next_attempt_at
	 * is then when), before that time */
	[DB_MAIL_PURGE] = "DELETE FROM mail_queue WHERE id IN (SELECT id "
	    "FROM mail_queue WHERE state IN ('sent', 'dead') AND "
	    "coalesce(sent_at, next_attempt_at) < ?1 ORDER BY id LIMIT ?2)",
	/* Recovery (csr.c, outbox.c recovery rows). */
	/* request row, the CSR's PEM, its SHA-256 (hex) */
	[DB_REC_ADD] = "INSERT INTO recoveries (request_id, csr_pem, "
	    "csr_sha256) VALUES (?, ?, ?)",
	/* request row -> csr_pem, csr_sha256, new_serial, new_pem,
	 * issued_at (NULL until the CA issued) */
	[DB_REC_GET] = "SELECT csr_pem, csr_sha256, new_serial, new_pem, "
	    "issued_at FROM recoveries WHERE request_id = ?",
	/* issued PEM, now, outbox row, owner: kept once, while leased */
	[DB_REC_ISSUED] = "UPDATE outbox SET issued_pem = ?, updated_at = ? "
	    "WHERE issued_pem IS NULL AND id = ? AND lease_owner = ?",
	/* new serial, new PEM, issued_at, request row: filled once */
	[DB_REC_DONE] = "UPDATE recoveries SET new_serial = ?, new_pem = ?, "
	    "issued_at = ? WHERE request_id = ? AND new_serial IS NULL",
	/* old certificate, now: its status; whether a revocation of it is
	 * done or in a relay's hands (a revoke row done, or leased now);
	 * whether a suspension is (a suspend row leased now, or done while
	 * its request is still open) */
	[DB_REC_BLOCKED] = "SELECT (SELECT status FROM certificates WHERE "
	    "id = ?1), EXISTS (SELECT 1 FROM outbox WHERE certificate_id = "
	    "?1 AND action = 'revoke' AND (state = 'done' OR (state IN "
	    "('pending', 'sent') AND lease_until > ?2))), EXISTS (SELECT 1 "
	    "FROM outbox o JOIN requests r ON r.id = o.request_id WHERE "
	    "o.certificate_id = ?1 AND o.action = 'suspend' AND ((o.state IN "
	    "('pending', 'sent') AND o.lease_until > ?2) OR (o.state = "
	    "'done' AND r.state IN " OPEN_STATES ")))",

};

/* One worker's connection and its prepared statements. */
struct db {
	sqlite3		*h;
	sqlite3_stmt	*stmt[DB__MAX];
};

#ifdef RP_UNITTEST
/* The error code the next db_step() returns instead of stepping. */
static int db_fault;
/* The same for the next step of one statement only (db_fault_stmt()). */
static int db_fault_code;
static enum db_stmt db_fault_id = DB__MAX;

/*
 * Makes the next statement step of this process fail with code (an
 * SQLite result code); 0 cancels.  Tests only: not in production builds.
 */
void
db_fault_set(int code)
{
	db_fault = code;
}

/*
 * Makes the next step of statement id (through a struct dbq) fail with
 * code, e.g. a COMMIT with SQLITE_FULL; 0 cancels.  Tests only.
 */
void
db_fault_stmt(enum db_stmt id, int code)
{
	db_fault_id = code != 0 ? id : DB__MAX;
	db_fault_code = code;
}
#endif

/*
 * sqlite3_step() with the test fault hook.  Returns its result code.
 */
static int
db_step(sqlite3_stmt *stmt)
{
#ifdef RP_UNITTEST
	int	 rc;

	if (db_fault != 0) {
		rc = db_fault;
		db_fault = 0;
		return rc;
	}
#endif
	return sqlite3_step(stmt);
}

/*
 * Maps an SQLite result code of a failed call to our error: contention
 * and I/O trouble is RP_ERR_UNAVAILABLE (try again later), anything else
 * a bug or damage, RP_ERR_INTERNAL.
 */
static enum rp_err
db_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return RP_ERR_UNAVAILABLE;
	default:
		return RP_ERR_INTERNAL;
	}
}

/*
 * Prepares the single statement sql on h into *stmt with flags (0 or
 * SQLITE_PREPARE_PERSISTENT).  Returns SQLITE_OK, or an error code with
 * *stmt NULL; text after the first statement is an error (SQLITE_MISUSE).
 */
static int
db_prepare(sqlite3 *h, const char *sql, unsigned int flags,
    sqlite3_stmt **stmt)
{
	const char	*tail = NULL;
	int		 rc;

	*stmt = NULL;
	rc = sqlite3_prepare_v3(h, sql, -1, flags, stmt, &tail);
	if (rc != SQLITE_OK)
		return rc;
	if (*stmt == NULL)
		return SQLITE_MISUSE;	/* empty text */
	while (tail != NULL && isspace((unsigned char)*tail))
		tail++;
	if (tail != NULL && *tail != '\0') {
		(void)sqlite3_finalize(*stmt);	/* it did not fail */
		*stmt = NULL;
		return SQLITE_MISUSE;
	}
	return SQLITE_OK;
}

/*
 * The authorizer while a migration script runs: the script may change
 * the schema and the data, but not end or nest the transaction that
 * makes it all-or-nothing, attach other files, or change the
 * connection's settings (user_version is set by db_apply() itself).
 */
static int
db_migration_auth(void *arg, int action, const char *a, const char *b,
    const char *c, const char *d)
{
	(void)arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	switch (action) {
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
	case SQLITE_PRAGMA:
		return SQLITE_DENY;
	default:
		return SQLITE_OK;
	}
}

/*
 * Runs sql once on h: prepares, steps to the end, finalizes.  When the
 * first step gives a row and out is not NULL, its first column is copied
 * to out (outsz bytes, NUL terminated).  Returns SQLITE_OK or the first
 * error code; err gets "what: sqlite's message".
 */
static int
db_once(sqlite3 *h, const char *sql, char *out, size_t outsz,
    char *err, size_t errlen)
{
	sqlite3_stmt		*stmt;
	const unsigned char	*txt;
	int			 rc, first = 1;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if ((rc = db_prepare(h, sql, 0, &stmt)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(h));
		return rc;
	}
	while ((rc = db_step(stmt)) == SQLITE_ROW) {
		if (first && out != NULL && outsz > 0) {
			txt = sqlite3_column_text(stmt, 0);
			if (txt == NULL)
				txt = (const unsigned char *)"";
			(void)snprintf(out, outsz, "%s", (const char *)txt);
		}
		first = 0;
	}
	if (rc != SQLITE_DONE)
		(void)snprintf(err, errlen, "%s: %s", sql,
		    sqlite3_errstr(rc));
	else
		rc = SQLITE_OK;
	/* finalize() repeats the step's error, reported above. */
	(void)sqlite3_finalize(stmt);
	return rc;
}

/*
 * Reads PRAGMA user_version of h into *version.  Returns SQLITE_OK or an
 * error code with err filled.
 */
static int
db_user_version(sqlite3 *h, int *version, char *err, size_t errlen)
{
	char		 buf[32];
	char		*end;
	long long	 v;
	int		 rc;

	rc = db_once(h, db_sql[DB_USER_VERSION], buf, sizeof(buf),
	    err, errlen);
	if (rc != SQLITE_OK)
		return rc;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0' || v < 0 ||
	    v > 0x7fffffff) {
		(void)snprintf(err, errlen, "bad user_version \"%.20s\"", buf);
		return SQLITE_CORRUPT;
	}
	*version = (int)v;
	return SQLITE_OK;
}

/*
 * The busy handler of every connection: how long one wait for a lock
 * may last, and when the current wait began.  SQLite's own busy timeout
 * sleeps 1, 2, 5, 10 ms and more between tries, which with many short
 * write transactions (a request is one) leaves the CPU idle while a
 * writer waits for a lock freed long before; this one tries again after
 * 0.1 ms, doubling to at most 2 ms.  One per process: the programs are
 * single-threaded, and a wait never interleaves with another.
 */
static struct {
	unsigned int	 timeout_ms;
	struct timespec	 start;
} db_busy_state;

#define DB_BUSY_FIRST_US	100L
#define DB_BUSY_MAX_US		2000L

/*
 * SQLite's busy callback: n is how often it ran for this wait.  Returns
 * nonzero to try again (after a sleep), 0 to give up with SQLITE_BUSY.
 */
static int
db_busy(void *arg, int n)
{
	struct timespec	 now, ts;
	long		 us;
	int64_t		 waited;

	(void)arg;
	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return 0;
	if (n == 0)
		db_busy_state.start = now;
	/* In nanoseconds: a division of a negative nanosecond difference
	 * would round toward zero and give up up to 1 ms early. */
	waited = ((int64_t)now.tv_sec - db_busy_state.start.tv_sec) *
	    1000000000 + (now.tv_nsec - db_busy_state.start.tv_nsec);
	if (waited >= (int64_t)db_busy_state.timeout_ms * 1000000)
		return 0;
	us = DB_BUSY_FIRST_US;
	while (n-- > 0 && us < DB_BUSY_MAX_US)
		us *= 2;
	if (us > DB_BUSY_MAX_US)
		us = DB_BUSY_MAX_US;
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000L;
	(void)nanosleep(&ts, NULL);
	return 1;
}

/*
 * Opens cfg->database with flags (plus NOFOLLOW) and sets up the
 * connection: extended result codes, defensive mode, no trusted schema,
 * the busy timeout, WAL, synchronous FULL, foreign keys.  Returns the
 * handle, to be closed with sqlite3_close(), or NULL with err filled.
 */
static sqlite3 *
db_connect(const struct config *cfg, int flags, char *err, size_t errlen)
{
	sqlite3		*h = NULL;
	char		 what[RP_ERRMSG_MAX], mode[16];
	int		 rc, on = 0, syserr;

	rc = sqlite3_open_v2(cfg->database, &h,
	    flags | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		syserr = h != NULL ? sqlite3_system_errno(h) : 0;
		(void)snprintf(err, errlen, "%s: cannot open database: %s%s%s",
		    cfg->database, h != NULL ? sqlite3_errmsg(h) :
		    sqlite3_errstr(rc), syserr != 0 ? ": " : "",
		    syserr != 0 ? strerror(syserr) : "");
		goto fail;
	}
	if (sqlite3_extended_result_codes(h, 1) != SQLITE_OK ||
	    sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) !=
	    SQLITE_OK || on != 1) {
		(void)snprintf(err, errlen, "%s: cannot turn on defensive "
		    "mode", cfg->database);
		goto fail;
	}
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	on = 1;
	if (sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on) !=
	    SQLITE_OK || on != 0) {
		(void)snprintf(err, errlen, "%s: cannot turn off trusted "
		    "schema", cfg->database);
		goto fail;
	}
#endif
	db_busy_state.timeout_ms = cfg->busy_timeout_ms;
	if (sqlite3_busy_handler(h, db_busy, NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: cannot set the busy timeout",
		    cfg->database);
		goto fail;
	}
	if (db_once(h, db_sql[DB_JOURNAL_WAL], mode, sizeof(mode),
	    what, sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		goto fail;
	}
	if (strcasecmp(mode, "wal") != 0) {
		(void)snprintf(err, errlen, "%s: journal mode is \"%.15s\", "
		    "not wal", cfg->database, mode);
		goto fail;
	}
	if (db_once(h, db_sql[DB_SYNC_FULL], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_FOREIGN_KEYS_ON], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_FOREIGN_KEYS], mode, sizeof(mode), what,
	    sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		goto fail;
	}
	if (strcmp(mode, "1") != 0) {
		(void)snprintf(err, errlen, "%s: foreign keys stay off",
		    cfg->database);
		goto fail;
	}
	return h;
fail:
	/* Nothing is prepared, so close() cannot be busy. */
	(void)sqlite3_close(h);
	return NULL;
}


/*
 * Finds the migration files of dir/migrations: names NNNN_<name>.sql,
 * NNNN from 0001.  Other names not ending in ".sql" and dot files are
 * ignored; another *.sql name, a number used twice or a number in
 * (from, DB_SCHEMA_VERSION] without a file is an error.  Files numbered
 * above DB_SCHEMA_VERSION are left for a newer program.  On success
 * files[n] holds the path of migration n for each such n (the caller
 * frees each) and 0 is returned; else -1 with err filled and nothing to
 * free.
 */
static int
db_find_migrations(const char *dir, int from,
    char *files[DB_SCHEMA_VERSION + 1], char *err, size_t errlen)
{
	char		 mdir[RP_CONF_STR + 16], path[RP_CONF_STR + 300];
	char		 seen[DB_SCHEMA_VERSION + 1][256];
	DIR		*d;
	struct dirent	*de;
	const char	*name;
	size_t		 len, i;
	int		 n, plen, rc = -1;

	memset(seen, 0, sizeof(seen));
	for (n = 0; n <= DB_SCHEMA_VERSION; n++)
		files[n] = NULL;
	n = snprintf(mdir, sizeof(mdir), "%s/migrations", dir);
	if (n < 0 || (size_t)n >= sizeof(mdir)) {
		(void)snprintf(err, errlen, "%s: name too long", dir);
		return -1;
	}
	if ((d = opendir(mdir)) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", mdir, strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				(void)snprintf(err, errlen, "%s: %s", mdir,
				    strerror(errno));
				goto out;
			}
			break;
		}
		name = de->d_name;
		len = strlen(name);
		if (name[0] == '.' || len < 4 ||
		    strcmp(name + len - 4, ".sql") != 0)
			continue;
		for (i = 0; i < 4; i++)
			if (!isdigit((unsigned char)name[i]))
				break;
		if (i < 4 || len < 10 || name[4] != '_' ||
		    len >= sizeof(seen[0])) {
			(void)snprintf(err, errlen, "%s/%s: not a migration "
			    "name (NNNN_name.sql)", mdir, name);
			goto out;
		}
		n = (name[0] - '0') * 1000 + (name[1] - '0') * 100 +
		    (name[2] - '0') * 10 + (name[3] - '0');
		if (n == 0) {
			(void)snprintf(err, errlen, "%s/%s: migrations are "
			    "numbered from 0001", mdir, name);
			goto out;
		}
		if (n > DB_SCHEMA_VERSION)
			continue;
		if (seen[n][0] != '\0') {
			(void)snprintf(err, errlen, "%s: %s and %s have the "
			    "same number", mdir, seen[n], name);
			goto out;
		}
		memcpy(seen[n], name, len + 1);
	}
	for (n = from + 1; n <= DB_SCHEMA_VERSION; n++) {
		if (seen[n][0] == '\0') {
			(void)snprintf(err, errlen, "%s: migration %04d is "
			    "missing", mdir, n);
			goto out;
		}
		plen = snprintf(path, sizeof(path), "%s/%s", mdir, seen[n]);
		if (plen < 0 || (size_t)plen >= sizeof(path) ||
		    (files[n] = strdup(path)) == NULL) {
			(void)snprintf(err, errlen, "%s/%s: name too long or "
			    "out of memory", mdir, seen[n]);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		for (n = 0; n <= DB_SCHEMA_VERSION; n++) {
			free(files[n]);
			files[n] = NULL;
		}
	(void)closedir(d);	/* read-only */
	return rc;
}

/*
 * Applies migration number n from path on h in one BEGIN IMMEDIATE
 * transaction ending with PRAGMA user_version = n.  Skips it when another
 * process applied it meanwhile.  Returns 0, or -1 with err naming the
 * file and the transaction rolled back.
 */
static int
db_apply(sqlite3 *h, int n, const char *path, char *err, size_t errlen)
{
	char	 what[RP_ERRMSG_MAX], setver[64], fk[128];
	char	*script = NULL, *msg = NULL;
	size_t	 len;
	int	 cur, rc = -1, intx = 0;

	if ((script = rp_read_file(path, DB_MIGRATION_MAX, &len, what,
	    sizeof(what))) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		return -1;
	}
	/*
	 * Foreign keys are off while the schema changes (a rebuilt parent
	 * table must not cascade into its children) and checked as a whole
	 * before the commit.  The pragma is a no-op inside a transaction,
	 * so it comes first.
	 */
	if (db_once(h, db_sql[DB_FOREIGN_KEYS_OFF], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_BEGIN], NULL, 0, what, sizeof(what)) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	intx = 1;
	if (db_user_version(h, &cur, what, sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	if (cur >= n) {
		rc = 0;		/* another process was faster */
		goto out;
	}
	if (cur != n - 1) {
		(void)snprintf(err, errlen, "%s: database went from version "
		    "%d to %d meanwhile", path, n - 1, cur);
		goto out;
	}
	if (sqlite3_set_authorizer(h, db_migration_auth, NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: cannot guard the script",
		    path);
		goto out;
	}
	cur = sqlite3_exec(h, script, NULL, NULL, &msg);
	(void)sqlite3_set_authorizer(h, NULL, NULL);
	if (cur != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s%s", path,
		    msg != NULL ? msg : sqlite3_errmsg(h),
		    cur == SQLITE_AUTH ? " (no BEGIN, COMMIT, SAVEPOINT, "
		    "ATTACH or PRAGMA in migrations)" : "");
		goto out;
	}
	if (db_once(h, db_sql[DB_FOREIGN_KEY_CHECK], fk, sizeof(fk),
	    what, sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	if (fk[0] != '\0') {
		(void)snprintf(err, errlen, "%s: leaves rows of table %s "
		    "without their parent row (foreign key)", path, fk);
		goto out;
	}
	if (sqlite3_get_autocommit(h)) {
		intx = 0;
		(void)snprintf(err, errlen, "%s: the script ended the "
		    "transaction (no BEGIN, COMMIT or ROLLBACK in migrations)",
		    path);
		goto out;
	}
	/* A PRAGMA cannot take a bound value; n is our own loop counter. */
	cur = snprintf(setver, sizeof(setver), "PRAGMA user_version = %d", n);
	if (cur < 0 || (size_t)cur >= sizeof(setver))
		goto out;
	if (db_once(h, setver, NULL, 0, what, sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_COMMIT], NULL, 0, what, sizeof(what)) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	intx = 0;
	rc = 0;
out:
	if (intx && !sqlite3_get_autocommit(h) &&
	    db_once(h, db_sql[DB_ROLLBACK], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK && rc == 0) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		rc = -1;
	}
	if (db_once(h, db_sql[DB_FOREIGN_KEYS_ON], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK && rc == 0) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		rc = -1;
	}
	sqlite3_free(msg);
	free(script);
	return rc;
}

/*
 * Creates cfg->database if needed and brings its schema to
 * DB_SCHEMA_VERSION with the migrations of cfg->db_dir.  Runs once, in
 * the supervisor, before any worker opens the database.  Each migration
 * is all or nothing.  Returns RP_OK; RP_ERR_UNAVAILABLE when the database
 * cannot be opened or set up, RP_ERR_INTERNAL for anything else (a newer
 * database, a bad or failing migration), with err filled.  Nothing to
 * free.
 */
enum rp_err
db_migrate(const struct config *cfg, char *err, size_t errlen)
{
	sqlite3		*h;
	char		*files[DB_SCHEMA_VERSION + 1];
	char		 what[RP_ERRMSG_MAX];
	int		 n, version, rc;
	enum rp_err	 e = RP_ERR_INTERNAL;

	if (errlen > 0)
		err[0] = '\0';
	for (n = 0; n <= DB_SCHEMA_VERSION; n++)
		files[n] = NULL;
	h = db_connect(cfg, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    err, errlen);
	if (h == NULL)
		return RP_ERR_UNAVAILABLE;
	if ((rc = db_user_version(h, &version, what, sizeof(what))) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		e = db_err(rc);
		goto out;
	}
	if (version > DB_SCHEMA_VERSION) {
		(void)snprintf(err, errlen, "%s: schema version %d is newer "
		    "than this program's %d; install the newer program",
		    cfg->database, version, DB_SCHEMA_VERSION);
		goto out;
	}
	if (version == DB_SCHEMA_VERSION) {
		e = RP_OK;
		goto out;
	}
	if (db_find_migrations(cfg->db_dir, version, files, err, errlen) ==
	    -1)
		goto out;
	for (n = version + 1; n <= DB_SCHEMA_VERSION; n++)
		if (db_apply(h, n, files[n], err, errlen) == -1)
			goto out;
	e = RP_OK;
out:
	for (n = 0; n <= DB_SCHEMA_VERSION; n++)
		free(files[n]);
	if (sqlite3_close(h) != SQLITE_OK && e == RP_OK) {
		(void)snprintf(err, errlen, "%s: cannot close", cfg->database);
		e = RP_ERR_INTERNAL;
	}
	return e;
}

/*
 * Opens this worker's connection to the existing, migrated database and
 * prepares every statement of db_sql[].  Returns the connection, to be
 * closed with db_close(), or NULL with err filled.
 */
struct db *
db_open(const struct config *cfg, char *err, size_t errlen)
{
	struct db	*db;
	char		 what[RP_ERRMSG_MAX];
	int		 version, i;

	if (errlen > 0)
		err[0] = '\0';
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((db->h = db_connect(cfg, SQLITE_OPEN_READWRITE, err, errlen)) ==
	    NULL)
		goto fail;
	if (db_user_version(db->h, &version, what, sizeof(what)) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		goto fail;
	}
	if (version != DB_SCHEMA_VERSION) {
		(void)snprintf(err, errlen, "%s: schema version %d, this "
		    "program needs %d; run the migrations first",
		    cfg->database, version, DB_SCHEMA_VERSION);
		goto fail;
	}
	for (i = 0; i < DB__MAX; i++)
		if (db_prepare(db->h, db_sql[i], SQLITE_PREPARE_PERSISTENT,
		    &db->stmt[i]) != SQLITE_OK) {
			(void)snprintf(err, errlen, "%s: cannot prepare "
			    "\"%s\": %s", cfg->database, db_sql[i],
			    sqlite3_errmsg(db->h));
			goto fail;
		}
	return db;
fail:
	db_close(db);
	return NULL;
}

/*
 * Finalizes every statement and closes the connection.  db may be NULL
 * or half opened.
 */
void
db_close(struct db *db)
{
	int	 i;

	if (db == NULL)
		return;
	for (i = 0; i < DB__MAX; i++)
		/* finalize() only repeats the last step's error. */
		(void)sqlite3_finalize(db->stmt[i]);
	/* All statements are gone, so close() cannot be busy. */
	(void)sqlite3_close(db->h);
	free(db);
}

/*
 * Checks that the database answers a cheap read.  Returns RP_OK,
 * RP_ERR_UNAVAILABLE when it is busy, locked, unreadable or the
 * connection is missing, RP_ERR_INTERNAL for anything else.
 */
enum rp_err
db_health(struct db *db)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (db == NULL || db->h == NULL)
		return RP_ERR_UNAVAILABLE;
	stmt = db->stmt[DB_HEALTH];
	rc = db_step(stmt);
	/* reset() repeats the step's error, handled below. */
	(void)sqlite3_reset(stmt);
	(void)sqlite3_clear_bindings(stmt);	/* always SQLITE_OK */
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return RP_OK;
	return db_err(rc);
}

/*
 * Returns the schema version (PRAGMA user_version) of the open database,
 * or -1 when it cannot be read.
 */
int
db_schema_version(struct db *db)
{
	sqlite3_stmt	*stmt;
	int		 rc, v = -1;

	if (db == NULL || db->h == NULL)
		return -1;
	stmt = db->stmt[DB_USER_VERSION];
	if ((rc = db_step(stmt)) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	(void)sqlite3_reset(stmt);	/* repeats the step's error */
	return v;
}

/*
 * Maps the SQLite result code of a failed step to our error: a violated
 * UNIQUE, CHECK, NOT NULL or foreign key constraint is RP_ERR_CONFLICT
 * (the caller says which); the rest as db_err().
 */
static enum rp_err
db_step_err(int rc)
{
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return RP_ERR_CONFLICT;
	return db_err(rc);
}

/*
 * Starts one use of statement id on db.  A statement left in use by a
 * caller that forgot dbq_end() is reset first.
 */
void
dbq_start(struct dbq *q, struct db *db, enum db_stmt id)
{
	memset(q, 0, sizeof(*q));
	q->db = db;
	if (db == NULL || db->h == NULL || (unsigned int)id >= DB__MAX) {
		q->err = RP_ERR_INTERNAL;
		return;
	}
	q->stmt = db->stmt[id];
	(void)sqlite3_reset(q->stmt);	/* repeats an old error only */
	(void)sqlite3_clear_bindings(q->stmt);
#ifdef RP_UNITTEST
	q->fault = id == db_fault_id ? db_fault_code : 0;
	if (q->fault != 0) {
		db_fault_id = DB__MAX;
		db_fault_code = 0;
	}
#endif
}

/*
 * Records the result rc of a bind: anything but SQLITE_OK is a bug (a
 * wrong count of values) or no memory.
 */
static void
dbq_bound(struct dbq *q, int rc)
{
	if (rc == SQLITE_OK)
		return;
	q->err = (rc & 0xff) == SQLITE_NOMEM ? RP_ERR_NOMEM : RP_ERR_INTERNAL;
	rplog(RPLOG_ERROR, "db_bind", "param=%d rc=%d", q->nbind, rc);
}

/* Binds the next value: an integer. */
void
dbq_int(struct dbq *q, int64_t v)
{
	if (q->err != RP_OK)
		return;
	dbq_bound(q, sqlite3_bind_int64(q->stmt, ++q->nbind, v));
}

/* Binds the next value: text (copied), or NULL for SQL NULL. */
void
dbq_text(struct dbq *q, const char *v)
{
	if (q->err != RP_OK)
		return;
	if (v == NULL)
		dbq_bound(q, sqlite3_bind_null(q->stmt, ++q->nbind));
	else
		dbq_bound(q, sqlite3_bind_text(q->stmt, ++q->nbind, v, -1,
		    SQLITE_TRANSIENT));
}

/* Binds the next value: a blob (copied), or NULL for SQL NULL. */
void
dbq_blob(struct dbq *q, const void *v, size_t len)
{
	if (q->err != RP_OK)
		return;
	if (v == NULL)
		dbq_bound(q, sqlite3_bind_null(q->stmt, ++q->nbind));
	else if (len > 0x7fffffff)
		q->err = RP_ERR_TOO_LARGE;
	else
		dbq_bound(q, sqlite3_bind_blob(q->stmt, ++q->nbind, v,
		    (int)len, SQLITE_TRANSIENT));
}

/* Binds the next value: SQL NULL. */
void
dbq_null(struct dbq *q)
{
	if (q->err != RP_OK)
		return;
	dbq_bound(q, sqlite3_bind_null(q->stmt, ++q->nbind));
}

/*
 * Steps the statement.  Returns 1 with a row in hand; 0 when there are
 * no more rows, or on failure with q->err set.
 */
int
dbq_step(struct dbq *q)
{
	int	 rc;

	q->row = 0;
	if (q->err != RP_OK)
		return 0;
#ifdef RP_UNITTEST
	if (q->fault != 0) {
		q->err = db_step_err(q->fault);
		q->fault = 0;
		return 0;
	}
#endif
	rc = db_step(q->stmt);
	if (rc == SQLITE_ROW) {
		q->row = 1;
		return 1;
	}
	if (rc != SQLITE_DONE) {
		q->err = db_step_err(rc);
		if (q->err != RP_ERR_CONFLICT)
			rplog(RPLOG_ERROR, "db_step", "rc=%d", rc);
	}
	return 0;
}

/* Column col of the row in hand as an integer (0 for NULL). */
int64_t
dbq_col_int(const struct dbq *q, int col)
{
	if (!q->row)
		return 0;
	return sqlite3_column_int64(q->stmt, col);
}

/* Column col as text, NULL for SQL NULL; valid until the next step. */
const char *
dbq_col_text(const struct dbq *q, int col)
{
	if (!q->row || sqlite3_column_type(q->stmt, col) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(q->stmt, col);
}

/* Column col as bytes and *len, NULL for SQL NULL or empty. */
const void *
dbq_col_blob(const struct dbq *q, int col, size_t *len)
{
	const void	*p;
	int		 n;

	*len = 0;
	if (!q->row || sqlite3_column_type(q->stmt, col) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(q->stmt, col);
	n = sqlite3_column_bytes(q->stmt, col);
	*len = n > 0 ? (size_t)n : 0;
	return p;
}

/* Returns 1 when column col of the row in hand is SQL NULL. */
int
dbq_col_null(const struct dbq *q, int col)
{
	return !q->row || sqlite3_column_type(q->stmt, col) == SQLITE_NULL;
}

/* The stored size of column col in bytes, 0 for NULL. */
size_t
dbq_col_bytes(const struct dbq *q, int col)
{
	int	 n;

	if (!q->row || sqlite3_column_type(q->stmt, col) == SQLITE_NULL)
		return 0;
	n = sqlite3_column_bytes(q->stmt, col);
	return n > 0 ? (size_t)n : 0;
}

/*
 * Ends the use: resets the statement and drops its bindings.  Returns
 * the first error of the use, RP_OK if none.
 */
enum rp_err
dbq_end(struct dbq *q)
{
	if (q->stmt != NULL) {
		/* reset() repeats the step's error, already in q->err. */
		(void)sqlite3_reset(q->stmt);
		(void)sqlite3_clear_bindings(q->stmt);
		q->stmt = NULL;
	}
	q->row = 0;
	return q->err;
}

/*
 * Steps a statement that returns no rows to its end and ends the use.
 * *changes (may be NULL) gets the rows it inserted, updated or deleted.
 */
enum rp_err
dbq_exec(struct dbq *q, int *changes)
{
	if (changes != NULL)
		*changes = 0;
	while (dbq_step(q))
		continue;
	if (q->err == RP_OK && changes != NULL)
		*changes = sqlite3_changes(q->db->h);
	return dbq_end(q);
}

/*
 * Runs one of the transaction statements.
 */
static enum rp_err
db_tx(struct db *db, enum db_stmt id)
{
	struct dbq	 q;

	dbq_start(&q, db, id);
	return dbq_exec(&q, NULL);
}

/*
 * Begins a write transaction: BEGIN IMMEDIATE takes the write lock now,
 * so two writers queue at the start (within the busy timeout) instead of
 * failing at their first write.  RP_ERR_UNAVAILABLE when busy.
 */
enum rp_err
db_begin(struct db *db)
{
	return db_tx(db, DB_BEGIN);
}

/*
 * Begins a read transaction: in WAL mode a consistent snapshot of the
 * database that neither waits for nor blocks the writers.  End it with
 * db_rollback().
 */
enum rp_err
db_begin_read(struct db *db)
{
	return db_tx(db, DB_BEGIN_READ);
}

/*
 * Commits.  With WAL and synchronous FULL the transaction is on disk when
 * this returns RP_OK.  On failure the transaction is rolled back, so the
 * caller never needs to.
 */
enum rp_err
db_commit(struct db *db)
{
	enum rp_err	 e;

	if ((e = db_tx(db, DB_COMMIT)) != RP_OK)
		db_rollback(db);
	return e;
}

/* Rolls back the open transaction, if any. */
void
db_rollback(struct db *db)
{
	if (db == NULL || db->h == NULL || sqlite3_get_autocommit(db->h))
		return;
	if (db_tx(db, DB_ROLLBACK) != RP_OK)
		rplog(RPLOG_ERROR, "db_rollback", "failed");
}

/* The rowid of the last INSERT on this connection. */
int64_t
db_last_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}
