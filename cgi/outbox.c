/*
 * The outbox as revportal-relay sees it: the database side of delivering
 * a queued request to the CA.
 *
 * One turn (outbox_run()) is three steps.  The claim takes the row due
 * first that still waits for the CA (pending or sent, of a request
 * queued or relayed; or sent, of a request that has moved on, below)
 * and whose lease is free or has run out, and leases it to this relay
 * inside one BEGIN IMMEDIATE transaction, so that two relays never hold
 * the same row.  The claim also stamps first_sent_at, before anything
 * goes to the CA: a row that comes back with first_sent_at set may have
 * reached the CA already (a relay that crashed after sending, or a call
 * that timed out), so it is first checked with the driver and recorded
 * done without acting again when the CA says so.  Then the driver is
 * called outside any transaction, the lease renewed before a call when
 * less of it is left than a call and its recording may take
 * (call_max_ms); the claim's lease covers the first call.  Last, the
 * outcome is recorded in one transaction with the request's state
 * change and the audit entries:
 *
 *	CA_DONE		row done; the request relayed (if it was queued),
 *			and completed once every row of it is done (the
 *			certificates change status then, in lifecycle.c)
 *	CA_PENDING	row sent, checked again after pending_check_ms;
 *			the request relayed.  A row the CA has held
 *			pending for pending_max_hours goes dead instead:
 *			the approval at the CA did not come
 *	CA_RETRY	attempts + 1, the next try after an exponential
 *			backoff with jitter; the CA's words in last_error
 *	CA_PERMANENT,
 *	CA_UNSUPPORTED	row dead, the request failed with the CA's words
 *			as its outcome, for an officer to retry or reject
 *
 * A revocation may overtake a suspension or reactivation of the same
 * certificate (it is urgent, and it goes as soon as it is due).  A
 * suspension or reactivation whose certificate a revocation has reached
 * at the CA (a revoke row done, or the registry says revoked; one only
 * waiting for an approval there does not count, as it may never come)
 * is therefore never sent: cfssl would write certificateHold over the
 * revocation's reason.  It is recorded done with "superseded by a
 * revocation", and lifecycle.c leaves the certificate alone.  While
 * another relay holds a revoke row of the certificate, the suspension
 * is put off until that lease ends.
 *
 * A request that moved meanwhile (an officer's decision, another relay
 * failing it for another row) is not changed.  A row of it the CA has
 * not taken is released as it was.  A row the CA has taken is recorded
 * as the CA says: done (the certificate then follows the CA, through
 * lc_apply_done()), sent (checked on until the CA settles it: an
 * approval inside EJBCA may still come), or dead.  A recording that
 * fails leaves row and request as they were, the row still leased: it
 * comes back after its lease, checked first.  Only a relay that stops
 * releases a row it holds but did not send.
 *
 * A recovery's row is two steps.  First the CA issues the new
 * certificate for the request's CSR (the driver's enroll, given the old
 * certificate so that cfssl writes its subjectAltName and no other);
 * what it issued, once checked to carry the CSR's key and the old
 * certificate's subjectAltName (csr_successor_check()), is kept in
 * outbox.issued_pem in a transaction of its own at once, so that a relay
 * that crashes or fails later never asks for a second one.  The same
 * transaction fills the request's recoveries row and registers the new
 * certificate (outbox_recovered()): it is valid at the CA from then on,
 * whatever becomes of the rest, and staff must be able to find and
 * revoke it.  A row with issued_pem goes straight to the second step,
 * the old certificate's revocation with reason superseded, as any
 * revocation (check first when it may have reached the CA).  Its CA_DONE
 * completes the request (the certificate registered already is left as
 * it is).  An enrolment the CA refuses is a dead row like a refused
 * revocation; a dead row that has issued_pem says so in the request's
 * outcome, with the new certificate's serial.
 *
 * A recovery does not act on a certificate that has left it, before
 * either step: when the registry says the old certificate is revoked or
 * suspended, or a revocation of it is done or in a relay's hands (a
 * revoke row done, or leased), or a suspension is (a suspend row leased,
 * or done while its request is still open), the row goes dead without a
 * call, "the certificate was revoked meanwhile" (or suspended), and the
 * request fails.  Revocations and suspensions may follow an open
 * recovery (lifecycle.c), and a revocation may overtake it at the CA:
 * acting on would issue a certificate for a key the subscriber may have
 * lost with the old one, and revoke the old certificate a second time,
 * with cfssl writing superseded over keyCompromise and a new time.  A
 * suspension is the same warning, so it too stops the recovery, for an
 * officer to reject or retry once the certificate is valid again.  What
 * remains open: a revocation claimed by another relay between this
 * check and the revoke step may reach cfssl before the superseded one,
 * which then writes over its reason.
 *
 * A certificate may still be issued twice, where the CA cannot be asked
 * which certificate a CSR got:
 *
 *	- a crash between the CA's answer to the enrolment and the commit
 *	  that keeps it, or a database error in that commit: the row comes
 *	  back after its lease and enrols again;
 *	- an enrolment that timed out (or whose connection broke) after the
 *	  CA issued: CA_RETRY, and the next turn enrols again;
 *	- an answer without a readable certificate (a 200 whose body is cut
 *	  or unreadable, an EJBCA 202 approved later at the CA): the row
 *	  is dead, and an officer's retry enrols again.
 *
 * The first certificate then stays valid at the CA, unknown to the
 * registry: the audit log's outbox entries of the request and the CA's
 * own records are where to look.
 *
 * Leases are times on the wall clock (rp_now_ms()), compared across
 * relays on other hosts: a clock stepped forward ends leases early.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "extern.h"

/*
 * A turn whose driver calls took less than this (seconds) lets the next
 * claim take a batch: its commit is then a good part of a row's time.
 */
#define OUTBOX_FAST_CALLS	0.05

/* The jitter of a backoff: from 80% to 120% of the delay, in permille. */
#define OUTBOX_JITTER_LOW	800u
#define OUTBOX_JITTER_SPAN	401u

/*
 * Upper bounds of revportal_relay_delivery_seconds: one driver call, a
 * delivery or a check (an EJBCA delivery is two HTTP requests).
 */
static const double outbox_call_le[] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};
static const char *const outbox_call_le_text[] = {
	"0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
	"10", "30"
};
#define OUTBOX_NCALL_LE	(sizeof(outbox_call_le) / sizeof(outbox_call_le[0]))

/*
 * Upper bounds of revportal_relay_completion_seconds, from receipt to
 * the CA's confirmation: seconds are the aim, 24 hours the limit.
 */
static const int64_t outbox_done_le[] = {
	1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400
};
static const char *const outbox_done_le_text[] = {
	"1", "5", "10", "30", "60", "300", "900", "3600", "14400", "86400"
};
#define OUTBOX_NDONE_LE	(sizeof(outbox_done_le) / sizeof(outbox_done_le[0]))

_Static_assert(OUTBOX_NCALL_LE + 1 == OUTBOX_CALL_BUCKETS,
    "OUTBOX_CALL_BUCKETS does not match the bounds");
_Static_assert(sizeof(outbox_call_le_text) / sizeof(outbox_call_le_text[0])
    == OUTBOX_NCALL_LE, "call bounds and labels differ");
_Static_assert(OUTBOX_NDONE_LE + 1 == OUTBOX_DONE_BUCKETS,
    "OUTBOX_DONE_BUCKETS does not match the bounds");
_Static_assert(sizeof(outbox_done_le_text) / sizeof(outbox_done_le_text[0])
    == OUTBOX_NDONE_LE, "completion bounds and labels differ");

/* The outcome labels of revportal_relay_deliveries_total. */
static const char *const outbox_result_names[OB_DEAD + 1] = {
	[OB_DONE] = "done",
	[OB_PENDING] = "pending",
	[OB_RETRY] = "retry",
	[OB_DEAD] = "dead",
};

/* Milliseconds since the epoch from the configured clock. */
static int64_t
outbox_now(const struct outbox_conf *oc)
{
	return oc->clock != NULL ? oc->clock() : rp_now_ms();
}

/* Returns 1 once the relay is to stop. */
static int
outbox_stopping(const struct outbox_conf *oc)
{
	return oc->stop != NULL && *oc->stop != 0;
}

/* Seconds on the monotonic clock, for the time of a CA call. */
static double
outbox_mono(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Copies the string src (NULL counts as too long) into dst of dstsz.
 * Returns 0, or -1 when it does not fit.
 */
static int
outbox_copy(char *dst, size_t dstsz, const char *src)
{
	size_t	 len;

	if (src == NULL || (len = strlen(src)) >= dstsz)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* Returns 1 when s is hexadecimal digits only (or empty), else 0. */
static int
outbox_hex(const char *s)
{
	return s[strspn(s, "0123456789abcdefABCDEF")] == '\0';
}

/*
 * Reads the JSON payload text of row (lifecycle.c wrote it: request,
 * action, issuer, serial, aki, reason; for a recovery, and only then,
 * csr, type and person too) into row and row->job.  Returns 0, or -1
 * with the reason logged for a payload this program did not write: the
 * row is then damaged and goes to no CA.
 */
static int
outbox_payload(struct outbox_row *row, const char *text, size_t len)
{
	json_t		*p;
	json_error_t	 je;
	const char	*request = NULL, *action = NULL, *issuer = NULL;
	const char	*serial = NULL, *aki = NULL, *reason = NULL;
	const char	*csr = NULL, *type = NULL, *person = NULL;
	char		 canon[RP_SERIAL_MAX];
	int		 rc = -1;

	if ((p = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		goto out;
	if (json_unpack_ex(p, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s?:s, s?:s, s?:s}", "request", &request, "action", &action,
	    "issuer", &issuer, "serial", &serial, "aki", &aki, "reason",
	    &reason, "csr", &csr, "type", &type, "person", &person) != 0)
		goto out;
	/* A recovery's, all three; anything else's, none. */
	if (strcmp(action, dom_action_name(ACT_RECOVER)) == 0) {
		if (csr == NULL || type == NULL || person == NULL ||
		    dom_type_parse(type) >= CT__MAX || csr[0] == '\0' ||
		    outbox_copy(row->csr, sizeof(row->csr), csr) == -1 ||
		    outbox_copy(row->cert_type, sizeof(row->cert_type),
		    type) == -1 ||
		    outbox_copy(row->person, sizeof(row->person), person) ==
		    -1)
			goto out;
		row->job.csr_pem = row->csr;
		row->job.cert_type = row->cert_type;
		row->job.person = row->person;
	} else if (csr != NULL || type != NULL || person != NULL)
		goto out;
	if (strcmp(request, row->public_id) != 0 ||
	    (row->job.action = dom_action_parse(action)) >= ACT__MAX ||
	    (row->job.reason = dom_reason_parse(reason)) >= REASON__MAX ||
	    issuer[0] == '\0' ||
	    outbox_copy(row->issuer, sizeof(row->issuer), issuer) == -1 ||
	    x509_serial_norm(serial, strlen(serial), canon) != RP_OK ||
	    strcmp(canon, serial) != 0 ||
	    outbox_copy(row->serial, sizeof(row->serial), serial) == -1 ||
	    !outbox_hex(aki) ||
	    outbox_copy(row->aki, sizeof(row->aki), aki) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		rplog(RPLOG_ERROR, "outbox_damaged", "row=%lld request=%s",
		    (long long)row->id, row->public_id);
	json_decref(p);
	return rc;
}

/*
 * Reads the current row of q (DB_OUTBOX_DUE) into row, its payload text
 * into a copy at *payload (*plen bytes; NULL when too long: the row is
 * then damaged).  Errors stick in q.
 */
static void
outbox_read_row(struct dbq *q, struct outbox_row *row, char **payload,
    size_t *plen)
{
	const char	*s;
	int64_t		 v;

	memset(row, 0, sizeof(*row));
	*payload = NULL;
	row->id = dbq_col_int(q, 0);
	row->request = dbq_col_int(q, 1);
	s = dbq_col_text(q, 2);
	row->sent = s != NULL && strcmp(s, "sent") == 0;
	v = dbq_col_int(q, 3);
	row->attempts = v < 0 ? 0 : v > INT_MAX ? INT_MAX : (unsigned int)v;
	row->first_sent_at = dbq_col_int(q, 4);
	*plen = dbq_col_bytes(q, 5);
	if (*plen <= OUTBOX_PAYLOAD_MAX && (s = dbq_col_text(q, 5)) != NULL &&
	    (*payload = rp_strndup(s, *plen)) == NULL)
		q->err = RP_ERR_NOMEM;
	if (outbox_copy(row->idem_key, sizeof(row->idem_key),
	    dbq_col_text(q, 6)) == -1)
		row->damaged = 1;
	/* requests.public_id has exactly RP_ID_LEN characters. */
	if (outbox_copy(row->public_id, sizeof(row->public_id),
	    dbq_col_text(q, 7)) == -1)
		q->err = RP_ERR_INTERNAL;
	row->received_at = dbq_col_int(q, 8);
	row->certificate = dbq_col_int(q, 9);
	/* The CHECK constraint of requests.state: always known. */
	if ((row->req_state = dom_state_parse(dbq_col_text(q, 10))) >= RS__MAX)
		q->err = RP_ERR_INTERNAL;
	row->sent_at = dbq_col_int(q, 11);
	if (!dbq_col_null(q, 12) && outbox_copy(row->issued_pem,
	    sizeof(row->issued_pem), dbq_col_text(q, 12)) == -1)
		row->damaged = 1;
}

/*
 * Claims the rows due first at now for oc->owner, at most max (1 to
 * OUTBOX_BATCH_MAX): leases each for oc->lease_ms in one write
 * transaction and reads them into rows[0..*got).  A row whose payload
 * cannot be read is claimed too, with damaged set, so that it ends as a
 * dead letter rather than blocking the queue.  Returns RP_OK or a
 * database error (nothing changed, *got 0).  Nothing to free.
 */
static enum rp_err
outbox_claim_rows(struct db *db, const struct outbox_conf *oc, int64_t now,
    struct outbox_row *rows, unsigned int max, unsigned int *got,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		*payload[OUTBOX_BATCH_MAX];
	size_t		 plen[OUTBOX_BATCH_MAX];
	unsigned int	 n = 0, i;
	enum rp_err	 e;
	int		 changed;

	*got = 0;
	if (max == 0)
		max = 1;
	if (max > OUTBOX_BATCH_MAX)
		max = OUTBOX_BATCH_MAX;
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	dbq_start(&q, db, DB_OUTBOX_DUE);
	dbq_int(&q, now);
	dbq_int(&q, max);
	while (n < max && dbq_step(&q)) {
		outbox_read_row(&q, &rows[n], &payload[n], &plen[n]);
		n++;
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		db_rollback(db);
		(void)rp_fail(ei, e, "db", "cannot read the outbox");
		goto out;
	}
	if (n == 0) {
		db_rollback(db);
		goto out;
	}
	for (i = 0; i < n; i++) {
		dbq_start(&q, db, DB_OUTBOX_LEASE);
		dbq_text(&q, oc->owner);
		dbq_int(&q, now + (int64_t)oc->lease_ms);
		dbq_int(&q, now);
		dbq_int(&q, now);
		dbq_int(&q, rows[i].id);
		dbq_int(&q, now);
		if ((e = dbq_exec(&q, &changed)) != RP_OK || changed != 1) {
			db_rollback(db);
			e = rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
			    "cannot lease the outbox row");
			goto out;
		}
	}
	if ((e = db_commit(db)) != RP_OK) {
		(void)rp_fail(ei, e, "db_commit",
		    "cannot lease the outbox row");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rows[i].lease_until = now + (int64_t)oc->lease_ms;
		rows[i].job.issuer = rows[i].issuer;
		rows[i].job.serial = rows[i].serial;
		rows[i].job.aki = rows[i].aki;
		rows[i].job.idem_key = rows[i].idem_key;
		rows[i].job.ejbca_cert_profile = oc->ejbca_cert_profile;
		rows[i].job.ejbca_ee_profile = oc->ejbca_ee_profile;
		rows[i].job.ejbca_ca_name = oc->ejbca_ca_name;
		if (payload[i] == NULL || rows[i].damaged ||
		    outbox_payload(&rows[i], payload[i], plen[i]) == -1)
			rows[i].damaged = 1;
	}
	*got = n;
out:
	for (i = 0; i < n; i++)
		free(payload[i]);
	return e;
}

/*
 * Claims the row due first at now for oc->owner: leases it for
 * oc->lease_ms in one write transaction and reads it into row.  *got is
 * 0 when no row is due.  A row whose payload cannot be read is claimed
 * too, with row->damaged set (see outbox_claim_rows()).  Returns RP_OK
 * or a database error (nothing changed).  Nothing to free.
 */
enum rp_err
outbox_claim(struct db *db, const struct outbox_conf *oc, int64_t now,
    struct outbox_row *row, int *got, struct rp_errinfo *ei)
{
	unsigned int	 n;
	enum rp_err	 e;

	memset(row, 0, sizeof(*row));
	e = outbox_claim_rows(db, oc, now, row, 1, &n, ei);
	*got = n == 1;
	return e;
}

/*
 * Binds the id of row and oc->owner as the last parameters of q (started
 * and bound so far: a statement that changes row only while oc->owner
 * holds its lease), runs it and checks that it changed the row.  Returns
 * RP_OK; RP_ERR_CONFLICT "lease_lost" when the lease is no longer ours;
 * or a database error, recorded as "cannot <what>".  ei may be NULL.
 */
static enum rp_err
outbox_exec_leased(struct dbq *q, const struct outbox_conf *oc,
    const struct outbox_row *row, const char *what, struct rp_errinfo *ei)
{
	enum rp_err	 e;
	int		 n;

	dbq_int(q, row->id);
	dbq_text(q, oc->owner);
	if ((e = dbq_exec(q, &n)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot %s", what);
	if (n != 1)
		return rp_fail(ei, RP_ERR_CONFLICT, "lease_lost",
		    "the outbox row is no longer leased to this relay");
	return RP_OK;
}

/*
 * Releases the lease of row, held by oc->owner, leaving everything else
 * as it was: the row is due again at once.  Returns RP_OK,
 * RP_ERR_CONFLICT when the lease is no longer ours, or a database error.
 */
enum rp_err
outbox_release(struct db *db, const struct outbox_conf *oc,
    const struct outbox_row *row, int64_t now)
{
	struct dbq	 q;

	dbq_start(&q, db, DB_OUTBOX_RELEASE);
	dbq_int(&q, now);
	return outbox_exec_leased(&q, oc, row, "release the row", NULL);
}

/*
 * Gives back row, claimed by oc->owner but not sent in this claim, as
 * it was before the claim (its first_sent_at too): due again at once.
 * Returns RP_OK, RP_ERR_CONFLICT when the lease is no longer ours, or a
 * database error.
 */
static enum rp_err
outbox_unclaim(struct db *db, const struct outbox_conf *oc,
    const struct outbox_row *row, int64_t now)
{
	struct dbq	 q;

	dbq_start(&q, db, DB_OUTBOX_UNCLAIM);
	if (row->first_sent_at != 0)
		dbq_int(&q, row->first_sent_at);
	else
		dbq_null(&q);
	dbq_int(&q, now);
	return outbox_exec_leased(&q, oc, row, "give the row back", NULL);
}

/*
 * Gives back the rows of b not handed to the CA yet (a relay that
 * stops), as they were before the claim, and empties b.  A row another
 * relay has taken meanwhile is its own.  Returns RP_OK or the first
 * database error (b is emptied all the same: a row not given back comes
 * back when its lease ends).
 */
enum rp_err
outbox_batch_release(struct db *db, const struct outbox_conf *oc,
    struct outbox_batch *b, int64_t now)
{
	enum rp_err	 e, first = RP_OK;

	for (; b->next < b->n; b->next++) {
		e = outbox_unclaim(db, oc, &b->rows[b->next], now);
		if (e != RP_OK && e != RP_ERR_CONFLICT && first == RP_OK)
			first = e;
	}
	b->n = b->next = 0;
	return first;
}

/*
 * Makes sure the lease of row outlasts the driver call about to be made
 * at now and the recording of its answer: with less than
 * oc->call_max_ms left (or none), it is renewed for oc->lease_ms.
 * Returns RP_OK, RP_ERR_CONFLICT "lease_lost" when another relay has
 * taken the row (nothing must be sent then), or a database error.
 */
static enum rp_err
outbox_renew(struct db *db, const struct outbox_conf *oc,
    struct outbox_row *row, int64_t now, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	if (row->lease_until - now > (int64_t)oc->call_max_ms)
		return RP_OK;
	dbq_start(&q, db, DB_OUTBOX_RENEW);
	dbq_int(&q, now + (int64_t)oc->lease_ms);
	dbq_int(&q, now);
	if ((e = outbox_exec_leased(&q, oc, row, "renew the lease", ei)) !=
	    RP_OK)
		return e;
	row->lease_until = now + (int64_t)oc->lease_ms;
	return RP_OK;
}

/*
 * Looks at the revocations of row's certificate at now: *superseded is
 * set when one has been carried out by the CA (a revoke row done, or
 * the registry says revoked); *until, when another relay holds a revoke row
 * of it, to the end of that lease (else 0).  Returns RP_OK or a database
 * error.
 */
static enum rp_err
outbox_revocations(struct db *db, const struct outbox_conf *oc,
    const struct outbox_row *row, int64_t now, int *superseded,
    int64_t *until, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	*superseded = 0;
	*until = 0;
	dbq_start(&q, db, DB_OUTBOX_REVOKE_STATE);
	dbq_int(&q, row->certificate);
	dbq_int(&q, now);
	dbq_text(&q, oc->owner);
	if (dbq_step(&q)) {
		*superseded = dbq_col_int(&q, 0) != 0;
		if (!dbq_col_null(&q, 1))
			*until = dbq_col_int(&q, 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the revocations of "
		    "the certificate");
	return RP_OK;
}

/*
 * Reads the PEM of certificate id (the registry's) into *pem; the caller
 * frees it.  Returns RP_OK, RP_ERR_INTERNAL when it is not there, or a
 * database error.
 */
static enum rp_err
outbox_cert_pem(struct db *db, int64_t id, char **pem,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*s;
	enum rp_err	 e = RP_ERR_INTERNAL;

	*pem = NULL;
	dbq_start(&q, db, DB_CERT_EXPORT);
	dbq_int(&q, id);
	if (dbq_step(&q) && (s = dbq_col_text(&q, 1)) != NULL &&
	    strlen(s) <= RP_PEM_MAX)
		e = (*pem = rp_strndup(s, strlen(s))) == NULL ?
		    RP_ERR_NOMEM : RP_OK;
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK) {
		free(*pem);
		*pem = NULL;
		return rp_fail(ei, e, "db", "cannot read the certificate to "
		    "be recovered");
	}
	return RP_OK;
}

/*
 * Looks at the old certificate of recovery row at now (see the top of
 * the file): *why is NULL when the recovery may act, else a sentence
 * saying why not.  Returns RP_OK or a database error.
 */
static enum rp_err
outbox_recovery_blocked(struct db *db, const struct outbox_row *row,
    int64_t now, const char **why, struct rp_errinfo *ei)
{
	struct dbq		 q;
	enum cert_status	 st = CS__MAX;
	enum rp_err		 e;
	int			 revoking = 0, suspending = 0;

	*why = NULL;
	dbq_start(&q, db, DB_REC_BLOCKED);
	dbq_int(&q, row->certificate);
	dbq_int(&q, now);
	if (dbq_step(&q)) {
		st = dom_status_parse(dbq_col_text(&q, 0));
		revoking = dbq_col_int(&q, 1) != 0;
		suspending = dbq_col_int(&q, 2) != 0;
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the state of the "
		    "certificate to be recovered");
	if (st == CS_REVOKED || revoking)
		*why = "the certificate was revoked meanwhile";
	else if (st == CS_SUSPENDED || suspending)
		*why = "the certificate was suspended meanwhile";
	else if (st != CS_VALID)
		*why = "the certificate is not valid";
	return RP_OK;
}

/*
 * Puts row off until until, giving its lease back, without a CA call or
 * any other change.  Returns RP_OK, RP_ERR_CONFLICT "lease_lost", or a
 * database error.
 */
static enum rp_err
outbox_postpone(struct db *db, const struct outbox_conf *oc,
    const struct outbox_row *row, int64_t until, int64_t now,
    struct rp_errinfo *ei)
{
	struct dbq	 q;

	dbq_start(&q, db, DB_OUTBOX_POSTPONE);
	dbq_int(&q, until);
	dbq_int(&q, now);
	return outbox_exec_leased(&q, oc, row, "put the row off", ei);
}

/*
 * Returns the delay in ms before the next try of a row that failed
 * attempts times before: backoff_min_ms * 2^attempts, at most
 * backoff_max_ms, times a jitter from 80% to 120% (rnd % 401 permille
 * above 800), never above backoff_max_ms and never below 1.
 */
int64_t
outbox_backoff(const struct outbox_conf *oc, unsigned int attempts,
    uint32_t rnd)
{
	int64_t		 d = oc->backoff_min_ms, max = oc->backoff_max_ms;
	unsigned int	 i;

	for (i = 0; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	d = d * (int64_t)(OUTBOX_JITTER_LOW + rnd % OUTBOX_JITTER_SPAN) /
	    1000;
	if (d > max)
		d = max;
	return d < 1 ? 1 : d;
}

/* A random number for the jitter; the middle of the range without one. */
static uint32_t
outbox_random(void)
{
	unsigned char	 b[4];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return OUTBOX_JITTER_SPAN / 2;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

/*
 * Writes this process's lease owner into out of outsz: the host name (at
 * most OUTBOX_OWNER_HOST bytes of it), the process id and 16 random hex
 * digits, "<hostname>:<pid>:<hex>".  The random part keeps two relays
 * apart that share a host name and a pid: two containers, or a relay
 * restarted under the pid of one that died holding leases.  Returns
 * RP_OK, RP_ERR_INTERNAL when there is no randomness, RP_ERR_TOO_LARGE
 * when out is too small.
 */
enum rp_err
outbox_owner(char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 rnd[8];
	char			 host[256], rhex[2 * sizeof(rnd) + 1];
	size_t			 i;
	int			 n;

	if (outsz > 0)
		out[0] = '\0';
	if (gethostname(host, sizeof(host)) == -1)
		(void)snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return RP_ERR_INTERNAL;
	for (i = 0; i < sizeof(rnd); i++) {
		rhex[2 * i] = hex[rnd[i] >> 4];
		rhex[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	rhex[sizeof(rhex) - 1] = '\0';
	n = snprintf(out, outsz, "%.*s:%ld:%s", (int)OUTBOX_OWNER_HOST, host,
	    (long)getpid(), rhex);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return RP_ERR_TOO_LARGE;
	}
	return RP_OK;
}

/*
 * Writes what the CA said, for people (officers, the audit log, the
 * request's outcome), into out of outsz (at least RP_ERRMSG_MAX): its
 * message with control characters as spaces and, unless it is visible
 * UTF-8 text throughout, only its printable ASCII.  Without words, a
 * sentence naming the outcome and the HTTP status.
 */
static void
outbox_words(const struct ca_result *res, char *out, size_t outsz)
{
	size_t	 i, j, len;

	len = strnlen(res->message, sizeof(res->message));
	if (len >= outsz)
		len = outsz - 1;
	for (i = 0; i < len; i++) {
		out[i] = res->message[i];
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	}
	out[len] = '\0';
	if (!rp_text_visible(out, len)) {
		for (i = j = 0; i < len; i++)
			if ((unsigned char)out[i] < 0x7f)
				out[j++] = out[i];
		out[j] = '\0';
		len = j;
	}
	for (i = 0; out[i] == ' '; i++)
		continue;
	while (len > i && out[len - 1] == ' ')
		out[--len] = '\0';
	if (i > 0)
		memmove(out, out + i, len - i + 1);
	if (out[0] != '\0')
		return;
	if (res->http_status > 0)
		(void)snprintf(out, outsz, "the CA answered HTTP %ld (%s)",
		    res->http_status, ca_outcome_name(res->outcome));
	else
		(void)snprintf(out, outsz, "no answer from the CA (%s)",
		    ca_outcome_name(res->outcome));
}

/*
 * Audits what became of row: action "outbox.<event>" about the request,
 * with the row's key, the HTTP status, whether a check found it, the
 * CA's words and, when given, the state the request had moved to.
 */
static enum rp_err
outbox_audit(struct db *db, const struct outbox_conf *oc,
    const struct outbox_row *row, const struct ca_result *res,
    const char *words, const char *event, const char *moved,
    int checked, int64_t now, struct rp_errinfo *ei)
{
	json_t		*d;
	char		 action[32], subject[16 + RP_ID_LEN];
	enum rp_err	 e;
	int		 n;

	n = snprintf(action, sizeof(action), "outbox.%s", event);
	if (n < 0 || (size_t)n >= sizeof(action))
		return rp_fail(ei, RP_ERR_INTERNAL, "audit", "event name");
	n = snprintf(subject, sizeof(subject), "request:%s", row->public_id);
	if (n < 0 || (size_t)n >= sizeof(subject))
		return rp_fail(ei, RP_ERR_INTERNAL, "audit", "subject");
	if ((d = json_pack("{s:s, s:I, s:b, s:s, s:s*}", "key", row->idem_key,
	    "http_status", (json_int_t)res->http_status, "checked", checked,
	    "ca_message", words, "request_state", moved)) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	e = audit_append(db, now, oc->actor, action, subject, d, ei);
	json_decref(d);
	return e;
}

/*
 * Writes the outcome of row to the outbox (inside the caller's
 * transaction): state, attempts, next try, last error, the CA's HTTP
 * status, done_at, and the lease given back.  RP_ERR_CONFLICT
 * "lease_lost" when the row is no longer leased to oc->owner.
 */
static enum rp_err
outbox_write(struct db *db, const struct outbox_conf *oc,
    const struct outbox_row *row, const char *state, unsigned int attempts,
    int64_t next, const char *error, long status, int64_t done_at,
    int64_t now, struct rp_errinfo *ei)
{
	struct dbq	 q;

	dbq_start(&q, db, DB_OUTBOX_RECORD);
	dbq_text(&q, state);
	dbq_int(&q, attempts);
	dbq_int(&q, next);
	dbq_text(&q, error);
	if (status > 0)
		dbq_int(&q, status);
	else
		dbq_null(&q);
	if (done_at != 0)
		dbq_int(&q, done_at);
	else
		dbq_null(&q);
	dbq_int(&q, now);
	return outbox_exec_leased(&q, oc, row, "update the outbox", ei);
}

/*
 * Counts the rows of request (requests.id) the CA has not confirmed
 * into *n.
 */
static enum rp_err
outbox_undone(struct db *db, int64_t request, int64_t *n,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	*n = -1;
	dbq_start(&q, db, DB_OUTBOX_UNDONE);
	dbq_int(&q, request);
	if (dbq_step(&q))
		*n = dbq_col_int(&q, 0);
	if ((e = dbq_end(&q)) != RP_OK || *n < 0)
		return rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
		    "cannot count the outbox rows");
	return RP_OK;
}

/*
 * Puts the certificate pem that the CA issued for recovery row on record
 * inside the caller's transaction: the request's recoveries row gets it
 * (serial, PEM, now), and the registry the new certificate with the old
 * one's person, organisation, type and term, and no token
 * (reg_import_successor()).  Done when the certificate is kept, and
 * again, changing nothing, whenever the row is recorded: a certificate
 * kept and registered already is left as it is.  One the registry
 * refuses (a name with control characters) is kept unregistered, logged.
 * Returns RP_OK or an error (the caller rolls back).
 */
static enum rp_err
outbox_recovered(struct db *db, const struct outbox_conf *oc,
    const struct outbox_row *row, const char *pem, int64_t now,
    struct rp_errinfo *ei)
{
	struct cert_info	 info;
	struct cert_row		 old;
	struct rp_errinfo	 why;
	struct dbq		 q;
	const char		*s;
	int64_t			 id;
	size_t			 len;
	enum rp_err		 e;
	int			 n, same = 0;

	memset(&info, 0, sizeof(info));
	memset(&why, 0, sizeof(why));
	len = strnlen(pem, CA_ISSUED_MAX);
	if (len == 0 || len == CA_ISSUED_MAX ||
	    x509_read_pem(pem, len, &info, &why) != RP_OK) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "issued", "the recovery's "
		    "new certificate is not there or unreadable");
		goto out;
	}
	dbq_start(&q, db, DB_REC_DONE);
	dbq_text(&q, info.serial);
	dbq_text(&q, info.pem);
	dbq_int(&q, now);
	dbq_int(&q, row->request);
	if ((e = dbq_exec(&q, &n)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot record the recovery's new "
		    "certificate");
		goto out;
	}
	if (n == 0) {
		/* On record already: it must be this certificate. */
		dbq_start(&q, db, DB_REC_GET);
		dbq_int(&q, row->request);
		if (dbq_step(&q) && (s = dbq_col_text(&q, 2)) != NULL)
			same = strcmp(s, info.serial) == 0;
		if ((e = dbq_end(&q)) != RP_OK || !same) {
			e = rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
			    "the recovery's row names another new "
			    "certificate");
			goto out;
		}
	}
	if ((e = reg_cert_get(db, row->certificate, &old)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot read the old certificate");
		goto out;
	}
	e = reg_import_successor(db, &info, &old, oc->actor, now, &id, &why);
	if (e == RP_ERR_CONFLICT && why.code != NULL &&
	    strcmp(why.code, "duplicate") == 0)
		e = RP_OK;
	else if (e == RP_ERR_BAD_INPUT) {
		rplog(RPLOG_ERROR, "outbox_successor_unregistered",
		    "request=%s serial=%s why=%s", row->public_id,
		    info.serial, why.code != NULL ? why.code : "");
		e = RP_OK;
	} else if (e != RP_OK)
		(void)rp_fail(ei, e, why.code != NULL ? why.code : "db",
		    "%s", why.msg);
out:
	cert_info_free(&info);
	return e;
}

/*
 * Appends to words (of wordsz) what became of recovery row's new
 * certificate when the row fails after the CA issued it: its serial, and
 * that it is registered and valid.  Cut short rather than not said.
 */
static void
outbox_issued_note(const struct outbox_row *row, char *words,
    size_t wordsz)
{
	struct cert_info	 info;
	struct rp_errinfo	 why;
	char			 note[128 + RP_SERIAL_MAX];
	size_t			 len, nlen;
	int			 n;

	memset(&info, 0, sizeof(info));
	if (x509_read_pem(row->issued_pem, strnlen(row->issued_pem,
	    sizeof(row->issued_pem)), &info, &why) != RP_OK)
		info.serial[0] = '\0';
	n = snprintf(note, sizeof(note), "; the CA issued the new "
	    "certificate %s already: it is registered and valid, revoke it "
	    "if it is not wanted", info.serial[0] != '\0' ? info.serial :
	    "(unreadable)");
	cert_info_free(&info);
	if (n < 0 || (size_t)n >= sizeof(note) || wordsz == 0)
		return;
	nlen = (size_t)n;
	len = strnlen(words, wordsz);
	/* The note whole, the CA's words cut if they must be. */
	if (nlen >= wordsz)
		return;
	if (len > wordsz - 1 - nlen) {
		len = wordsz - 1 - nlen;
		/* Not inside a UTF-8 sequence. */
		while (len > 0 && ((unsigned char)words[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(words + len, note, nlen + 1);
}

/*
 * Records the CA's answer res about row, leased by oc->owner, at now, in
 * one write transaction with the request's change (lifecycle.c) and the
 * audit entries: see the top of this file.  res->outcome CA_DONE with
 * checked set in rep (rep->checked) says a check found the work done;
 * with row->superseded, that a revocation overtook the row.  Fills
 * rep->result (and completed, completion_ms, moved, moved_to).  Returns
 * RP_OK; on any error nothing has changed (the row is still leased): a
 * database error, RP_ERR_CONFLICT "lease_lost" when another relay took
 * the row, RP_ERR_INTERNAL for a request that is not there.
 */
enum rp_err
outbox_record(struct db *db, const struct policy *pol,
    const struct outbox_conf *oc, const struct outbox_row *row,
    const struct ca_result *res, int64_t now, struct outbox_report *rep,
    struct rp_errinfo *ei)
{
	struct request		 r;
	char			 words[RP_TEXT_MAX];
	const char		*state, *event = NULL, *error = NULL;
	enum outbox_result	 out;
	unsigned int		 attempts = row->attempts;
	int64_t			 next = now, done_at = 0, undone;
	enum rp_err		 e;
	int			 moved;

	outbox_words(res, words, sizeof(words));
	switch (res->outcome) {
	case CA_DONE:
		state = "done";
		done_at = now;
		out = OB_DONE;
		event = "done";
		if (row->superseded) {
			event = "superseded";
			error = words;
		}
		break;
	case CA_PENDING:
		if (row->sent && row->sent_at > 0 &&
		    oc->pending_max_hours > 0 && now - row->sent_at >=
		    (int64_t)oc->pending_max_hours * 3600000) {
			/* The approval never came: an officer decides. */
			(void)snprintf(words, sizeof(words), "approval at the "
			    "CA not granted within %u hours",
			    oc->pending_max_hours);
			state = "dead";
			error = words;
			out = OB_DEAD;
			event = "dead";
			break;
		}
		state = "sent";
		next = now + (int64_t)oc->pending_check_ms;
		out = OB_PENDING;
		if (!row->sent)
			event = "sent";
		break;
	case CA_RETRY:
		state = row->sent ? "sent" : "pending";
		if (attempts < INT_MAX)
			attempts++;
		next = now + outbox_backoff(oc, row->attempts,
		    outbox_random());
		error = words;
		out = OB_RETRY;
		break;
	default:
		state = "dead";
		error = words;
		out = OB_DEAD;
		event = "dead";
		break;
	}
	if (out == OB_DEAD && row->job.action == ACT_RECOVER &&
	    row->issued_pem[0] != '\0')
		outbox_issued_note(row, words, sizeof(words));

	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	if ((e = lc_get(db, row->public_id, &r)) != RP_OK) {
		e = rp_fail(ei, e == RP_ERR_NOT_FOUND ? RP_ERR_INTERNAL : e,
		    "db", "cannot read the request of the outbox row");
		goto out;
	}
	moved = r.state != RS_QUEUED && r.state != RS_RELAYED;
	if (moved && !row->sent && (out == OB_RETRY || out == OB_DEAD)) {
		/* The CA has not taken it: left as it was for whoever
		 * moved the request (an officer's retry sends it again). */
		if ((e = outbox_release(db, oc, row, now)) != RP_OK) {
			(void)rp_fail(ei, e, e == RP_ERR_CONFLICT ?
			    "lease_lost" : "db", "cannot release the row");
			goto out;
		}
		out = OB_MOVED;
	} else {
		if ((e = outbox_write(db, oc, row, state, attempts, next,
		    error, res->http_status, done_at, now, ei)) != RP_OK)
			goto out;
		if (event != NULL && (e = outbox_audit(db, oc, row, res,
		    words, event, moved ? dom_state_name(r.state) : NULL,
		    rep->checked, now, ei)) != RP_OK)
			goto out;
		if (out == OB_DONE && row->job.action == ACT_RECOVER &&
		    row->issued_pem[0] == '\0') {
			e = rp_fail(ei, RP_ERR_INTERNAL, "issued", "a "
			    "recovery done without its new certificate");
			goto out;
		}
	}
	/* A recovery's new certificate on record (already, unless it was
	 * kept before the registry took it there: see the top). */
	if (row->job.action == ACT_RECOVER && row->issued_pem[0] != '\0' &&
	    (e = outbox_recovered(db, oc, row, row->issued_pem, now, ei)) !=
	    RP_OK)
		goto out;
	if (moved) {
		/* The request stays as it is; its certificate follows what
		 * the CA confirmed. */
		if (out == OB_DONE && (e = lc_apply_done(db, pol,
		    row->public_id, row->certificate, oc->actor, now, ei)) !=
		    RP_OK)
			goto out;
	} else {
		if ((out == OB_DONE || out == OB_PENDING) &&
		    r.state == RS_QUEUED &&
		    (e = lc_transition_in(db, pol, row->public_id, RS_RELAYED,
		    oc->actor, NULL, now, ei)) != RP_OK)
			goto out;
		if (out == OB_DONE) {
			if ((e = outbox_undone(db, row->request, &undone,
			    ei)) != RP_OK)
				goto out;
			if (undone == 0) {
				if ((e = lc_transition_in(db, pol,
				    row->public_id, RS_COMPLETED, oc->actor,
				    NULL, now, ei)) != RP_OK)
					goto out;
				rep->completed = 1;
				rep->completion_ms = now - r.received_at;
			}
		}
		if (out == OB_DEAD &&
		    (e = lc_transition_in(db, pol, row->public_id, RS_FAILED,
		    oc->actor, words, now, ei)) != RP_OK)
			goto out;
	}
	if ((e = db_commit(db)) != RP_OK) {
		rep->completed = 0;
		rep->completion_ms = 0;
		return rp_fail(ei, e, "db_commit", "cannot record the outcome");
	}
	rep->result = out;
	rep->moved = moved;
	rep->moved_to = r.state;
	if (moved)
		rplog(RPLOG_WARN, "outbox_moved", "request=%s key=%s "
		    "state=%s outcome=%s recorded=%s", row->public_id,
		    row->idem_key, dom_state_name(r.state),
		    ca_outcome_name(res->outcome), out == OB_MOVED ? "no" :
		    state);
	return RP_OK;
out:
	db_rollback(db);
	rep->completed = 0;
	rep->completion_ms = 0;
	return e;
}

/*
 * Calls fn (a driver's deliver or check) for row, timed into rep.  An
 * outcome the interface does not know counts as CA_RETRY; the message is
 * always terminated.
 */
static void
outbox_call(void (*fn)(struct hc *, const char *, const struct ca_job *,
    struct ca_result *), struct hc *hc, const char *url,
    const struct ca_job *job, struct ca_result *res,
    struct outbox_report *rep)
{
	double	 t0;

	memset(res, 0, sizeof(*res));
	t0 = outbox_mono();
	if (fn == NULL) {
		res->outcome = CA_UNSUPPORTED;
		(void)snprintf(res->message, sizeof(res->message),
		    "the driver cannot do this");
	} else
		fn(hc, url, job, res);
	res->message[sizeof(res->message) - 1] = '\0';
	res->issued_pem[sizeof(res->issued_pem) - 1] = '\0';
	if ((unsigned int)res->outcome > CA_UNSUPPORTED) {
		res->outcome = CA_RETRY;
		(void)snprintf(res->message, sizeof(res->message),
		    "revportal: the driver gave an unknown outcome");
	}
	if (rep->calls < sizeof(rep->call_seconds) /
	    sizeof(rep->call_seconds[0]))
		rep->call_seconds[rep->calls++] = outbox_mono() - t0;
	rep->http_status = res->http_status;
}

/*
 * Asks the CA about job (row's, or the revocation step of its recovery)
 * through fn (drv->check, drv->deliver or drv->enroll), after renewing
 * row's lease if it might not outlast the call.  Returns RP_OK with res
 * set, or the error of the renewal (nothing was sent).
 */
static enum rp_err
outbox_ask(struct db *db, const struct outbox_conf *oc,
    void (*fn)(struct hc *, const char *, const struct ca_job *,
    struct ca_result *), struct hc *hc, const char *url,
    struct outbox_row *row, const struct ca_job *job,
    struct ca_result *res, struct outbox_report *rep,
    struct rp_errinfo *ei)
{
	enum rp_err	 e;

	if ((e = outbox_renew(db, oc, row, outbox_now(oc), ei)) != RP_OK)
		return e;
	outbox_call(fn, hc, url, job, res, rep);
	return RP_OK;
}

/*
 * Keeps the certificate the CA issued for recovery row (res->issued_pem)
 * in place of the certificate old_pem in outbox.issued_pem, in a
 * transaction of its own right after the enrolment, with an audit entry
 * "outbox.issued", and puts it on record (outbox_recovered(): the
 * recoveries row and the registry): a relay that crashes after this
 * never asks for it again, and goes on with the revocation.  A
 * certificate that is not one, or does not carry the request's key and
 * the old certificate's subjectAltName (csr_successor_check()), is not
 * kept: res becomes CA_PERMANENT with a sentence saying so, and RP_OK is
 * returned for the caller to record it.  Returns RP_OK (row's issued_pem
 * set when kept), RP_ERR_CONFLICT "lease_lost", or a database error
 * (nothing kept: the row comes back after its lease and enrols again).
 */
static enum rp_err
outbox_keep_issued(struct db *db, const struct outbox_conf *oc,
    struct outbox_row *row, const char *old_pem, struct ca_result *res,
    int64_t now, struct rp_errinfo *ei)
{
	struct cert_info	 info;
	struct rp_errinfo	 why;
	struct dbq		 q;
	json_t			*d = NULL;
	char			 subject[16 + RP_ID_LEN];
	size_t			 len;
	enum rp_err		 e;
	int			 n;

	memset(&info, 0, sizeof(info));
	memset(&why, 0, sizeof(why));
	len = strnlen(res->issued_pem, sizeof(res->issued_pem));
	if (len == 0 || len >= sizeof(row->issued_pem) ||
	    x509_read_pem(res->issued_pem, len, &info, &why) != RP_OK ||
	    csr_successor_check(row->csr, old_pem, res->issued_pem, len,
	    &why) != RP_OK) {
		rplog(RPLOG_ERROR, "outbox_issued_bad", "request=%s key=%s "
		    "serial=%s why=%s", row->public_id, row->idem_key,
		    info.serial[0] != '\0' ? info.serial : "-",
		    why.code != NULL ? why.code : "-");
		if (why.code != NULL && strcmp(why.code, "issued_san") == 0)
			ca_result_set(res, CA_PERMANENT, res->http_status,
			    "the CA issued certificate %s with a "
			    "subjectAltName other than the old "
			    "certificate's: not used, the old certificate is "
			    "not revoked; revoke the new one at the CA",
			    info.serial);
		else
			ca_result_set(res, CA_PERMANENT, res->http_status,
			    "the CA answered the enrolment with a "
			    "certificate that is not for the request's key%s"
			    "%s: not used, the old certificate is not "
			    "revoked", info.serial[0] != '\0' ? " (serial " :
			    "", info.serial[0] != '\0' ? info.serial : "");
		res->issued_pem[0] = '\0';
		e = RP_OK;
		goto out;
	}
	n = snprintf(subject, sizeof(subject), "request:%s", row->public_id);
	if (n < 0 || (size_t)n >= sizeof(subject) ||
	    (d = json_pack("{s:s, s:s, s:s, s:s}", "key", row->idem_key,
	    "new_serial", info.serial, "new_issuer", info.issuer,
	    "ca_message", res->message)) == NULL) {
		e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
		goto out;
	}
	if ((e = db_begin(db)) != RP_OK) {
		(void)rp_fail(ei, e, "db_busy", "the database is busy");
		goto out;
	}
	dbq_start(&q, db, DB_REC_ISSUED);
	dbq_text(&q, res->issued_pem);
	dbq_int(&q, now);
	if ((e = outbox_exec_leased(&q, oc, row, "keep the issued "
	    "certificate", ei)) != RP_OK ||
	    (e = audit_append(db, now, oc->actor, "outbox.issued", subject, d,
	    ei)) != RP_OK ||
	    (e = outbox_recovered(db, oc, row, res->issued_pem, now, ei)) !=
	    RP_OK) {
		db_rollback(db);
		goto out;
	}
	if ((e = db_commit(db)) != RP_OK) {
		(void)rp_fail(ei, e, "db_commit", "cannot keep the issued "
		    "certificate");
		goto out;
	}
	memcpy(row->issued_pem, res->issued_pem, len + 1);
	rplog(RPLOG_INFO, "outbox_issued", "request=%s key=%s serial=%s",
	    row->public_id, row->idem_key, info.serial);
out:
	json_decref(d);
	cert_info_free(&info);
	return e;
}

/*
 * Takes the next row to hand to the CA into *rowp: from b, claiming up
 * to oc->batch rows into it when it is empty (one row unless the last
 * turn's calls were fast); or, with b NULL, claimed alone into a new row
 * (*own set: the caller frees it).  A row of b after the first may
 * belong to a request that has moved on since the claim (another row of
 * it refused): its request's state is read again.  *rowp is NULL when
 * nothing is due.  Returns RP_OK or a database error.
 */
static enum rp_err
outbox_next(struct db *db, const struct outbox_conf *oc,
    struct outbox_batch *b, struct outbox_row **rowp, int *own,
    struct rp_errinfo *ei)
{
	struct request	 r;
	unsigned int	 n;
	enum rp_err	 e;

	*rowp = NULL;
	*own = 0;
	if (b == NULL) {
		if ((*rowp = malloc(sizeof(**rowp))) == NULL)
			return rp_fail(ei, RP_ERR_NOMEM, "nomem",
			    "out of memory");
		*own = 1;
		memset(*rowp, 0, sizeof(**rowp));
		if ((e = outbox_claim_rows(db, oc, outbox_now(oc), *rowp, 1,
		    &n, ei)) != RP_OK || n == 0) {
			free(*rowp);
			*rowp = NULL;
			*own = 0;
		}
		return e;
	}
	if (b->next >= b->n) {
		b->n = b->next = 0;
		if ((e = outbox_claim_rows(db, oc, outbox_now(oc), b->rows,
		    b->fast ? oc->batch : 1, &n, ei)) != RP_OK)
			return e;
		b->n = n;
	}
	if (b->next >= b->n)
		return RP_OK;
	*rowp = &b->rows[b->next++];
	if (b->next > 1) {
		if ((e = lc_get(db, (*rowp)->public_id, &r)) != RP_OK) {
			/* Claimed, so still leased: it comes back. */
			*rowp = NULL;
			return rp_fail(ei, e, "db", "cannot read the request "
			    "of the outbox row");
		}
		(*rowp)->req_state = r.state;
	}
	return RP_OK;
}

/*
 * One turn of the relay: takes the next row (from b, claimed there in
 * batches of oc->batch; or claimed alone when b is NULL), asks the CA
 * through drv (hc and the base url are the driver's), and records the
 * outcome.  A suspension or reactivation that a revocation has overtaken
 * is recorded done without a call, or put off while another relay holds
 * the revocation (OB_POSTPONED).  A recovery enrols first unless its row
 * has the issued certificate already, then revokes the old one as
 * superseded; before either step, one whose certificate was revoked or
 * suspended meanwhile goes dead without a call (see the top of the
 * file).  A row the CA may have seen already (first_sent_at set, or
 * sent) is checked first: done, or unreachable,
 * is recorded as it is; a sent row still pending, or refused, likewise;
 * anything else is delivered again (the check found it not done).  A
 * sent row of a request that has moved on is only ever checked; an
 * unsent one is given back without a call (OB_MOVED).  After a slow turn
 * the rest of b is given back and the next claim takes one row (see
 * struct outbox_batch).  A stopping relay
 * claims nothing, gives back the rows of b it has not handed to the CA,
 * and releases a row it holds instead of making another call.  rep says
 * what happened (OB_NONE: nothing was due, or stopping).  Returns RP_OK,
 * or the error of the claim, of a lease renewal or of the recording (the
 * row then stays leased and comes back after its lease).
 */
enum rp_err
outbox_run(struct db *db, const struct policy *pol,
    const struct outbox_conf *oc, struct outbox_batch *b,
    const struct ca_driver *drv, struct hc *hc, const char *url,
    struct outbox_report *rep, struct rp_errinfo *ei)
{
	struct outbox_row	*row = NULL;
	struct ca_result	 res;
	struct ca_job		 rj;
	const struct ca_job	*job;
	const char		*why = NULL;
	char			*old_pem = NULL;
	enum rp_err		 e;
	int64_t			 until;
	int			 own = 0, deliver = 1, superseded;

	memset(rep, 0, sizeof(*rep));
	/* Stopping, nothing new is taken: the report says OB_NONE. */
	if (outbox_stopping(oc)) {
		if (b != NULL && (e = outbox_batch_release(db, oc, b,
		    outbox_now(oc))) != RP_OK)
			return rp_fail(ei, e, "db", "cannot give the claimed "
			    "rows back");
		return RP_OK;
	}
	if ((e = outbox_next(db, oc, b, &row, &own, ei)) != RP_OK ||
	    row == NULL)
		goto out;
	memcpy(rep->public_id, row->public_id, sizeof(rep->public_id));
	memcpy(rep->idem_key, row->idem_key, sizeof(rep->idem_key));
	memset(&res, 0, sizeof(res));
	if (row->damaged) {
		res.outcome = CA_PERMANENT;
		(void)snprintf(res.message, sizeof(res.message), "revportal: "
		    "the outbox row is damaged and was not sent");
		goto record;
	}
	if (!row->sent && row->req_state != RS_QUEUED &&
	    row->req_state != RS_RELAYED) {
		/* Its request moved on after the claim: not for the CA. */
		rep->moved = 1;
		rep->moved_to = row->req_state;
		if ((e = outbox_unclaim(db, oc, row, outbox_now(oc))) ==
		    RP_OK)
			rep->result = OB_MOVED;
		else
			(void)rp_fail(ei, e, "db", "cannot give the row back");
		goto out;
	}
	if (row->job.action == ACT_SUSPEND ||
	    row->job.action == ACT_REACTIVATE) {
		if ((e = outbox_revocations(db, oc, row, outbox_now(oc),
		    &superseded, &until, ei)) != RP_OK)
			goto out;
		if (superseded) {
			row->superseded = rep->superseded = 1;
			res.outcome = CA_DONE;
			(void)snprintf(res.message, sizeof(res.message),
			    "superseded by a revocation");
			goto record;
		}
		if (until != 0) {
			if ((e = outbox_postpone(db, oc, row, until,
			    outbox_now(oc), ei)) == RP_OK)
				rep->result = OB_POSTPONED;
			goto out;
		}
	}
	job = &row->job;
	if (row->job.action == ACT_RECOVER) {
		/* Step 1, once: the new certificate, kept at once. */
		if (row->issued_pem[0] == '\0') {
			if ((e = outbox_recovery_blocked(db, row,
			    outbox_now(oc), &why, ei)) != RP_OK)
				goto out;
			if (why != NULL)
				goto blocked;
			if ((e = outbox_cert_pem(db, row->certificate,
			    &old_pem, ei)) != RP_OK)
				goto out;
			row->job.old_cert_pem = old_pem;
			if (outbox_stopping(oc))
				goto release;
			if ((e = outbox_ask(db, oc, drv->enroll, hc, url, row,
			    &row->job, &res, rep, ei)) != RP_OK)
				goto out;
			rep->delivered = 1;
			if (res.outcome == CA_PENDING)
				ca_result_set(&res, CA_PERMANENT,
				    res.http_status, "the enrolment is not "
				    "finished at the CA: %s", res.message);
			if (res.outcome == CA_DONE &&
			    (e = outbox_keep_issued(db, oc, row, old_pem, &res,
			    outbox_now(oc), ei)) != RP_OK)
				goto out;
			if (res.outcome != CA_DONE)
				goto record;
		}
		/* Step 2: the old certificate revoked as superseded, unless
		 * it has left the recovery meanwhile. */
		if ((e = outbox_recovery_blocked(db, row, outbox_now(oc),
		    &why, ei)) != RP_OK)
			goto out;
		if (why != NULL)
			goto blocked;
		rj = row->job;
		rj.action = ACT_REVOKE;
		rj.reason = REASON_SUPERSEDED;
		job = &rj;
	}
	if (row->sent || row->first_sent_at != 0) {
		if (outbox_stopping(oc))
			goto release;
		if ((e = outbox_ask(db, oc, drv->check, hc, url, row, job,
		    &res, rep, ei)) != RP_OK)
			goto out;
		rep->checked = 1;
		switch (res.outcome) {
		case CA_DONE:
		case CA_RETRY:
			deliver = 0;
			break;
		case CA_PENDING:
		case CA_PERMANENT:
			deliver = !row->sent;
			break;
		default:
			deliver = 1;
			break;
		}
		/* Claimed for its request that moved on: sent, only checked. */
		if (deliver && row->req_state != RS_QUEUED &&
		    row->req_state != RS_RELAYED) {
			deliver = 0;
			ca_result_set(&res, CA_PERMANENT, res.http_status,
			    "the CA cannot tell whether it carried out the "
			    "action, and the request is %s: not sent again",
			    dom_state_name(row->req_state));
		}
	}
	if (deliver) {
		if (outbox_stopping(oc))
			goto release;
		if ((e = outbox_ask(db, oc, drv->deliver, hc, url, row, job,
		    &res, rep, ei)) != RP_OK)
			goto out;
		rep->delivered = 1;
	}
	goto record;
blocked:
	/* Not the CA's words: the recovery did not act (see the top). */
	memset(&res, 0, sizeof(res));
	res.outcome = CA_PERMANENT;
	(void)snprintf(res.message, sizeof(res.message), "revportal: %s: "
	    "the recovery is not carried out", why);
	rplog(RPLOG_WARN, "outbox_recovery_blocked", "request=%s key=%s "
	    "why=\"%s\"", row->public_id, row->idem_key, why);
record:
	e = outbox_record(db, pol, oc, row, &res, outbox_now(oc), rep, ei);
	/* Stopping, the lease is given back rather than left to run out. */
	if (e != RP_OK && outbox_stopping(oc))
		(void)outbox_release(db, oc, row, outbox_now(oc));
	if (b != NULL && rep->calls > 0) {
		b->fast = rep->call_seconds[0] + (rep->calls > 1 ?
		    rep->call_seconds[1] : 0) < OUTBOX_FAST_CALLS;
		/* A slow CA: the rows held back are for any relay to take
		 * (one not given back returns when its lease ends). */
		if (!b->fast)
			(void)outbox_batch_release(db, oc, b, outbox_now(oc));
	}
	goto out;
release:
	/* Nothing delivered in this claim (a check acts on nothing). */
	rep->result = OB_RELEASED;
	if ((e = outbox_unclaim(db, oc, row, outbox_now(oc))) != RP_OK)
		(void)rp_fail(ei, e, "db", "cannot release the outbox row");
out:
	if (row != NULL)
		row->job.old_cert_pem = NULL;
	free(old_pem);
	if (own)
		free(row);
	return e;
}

/*
 * Reads the queue at now into st: the rows waiting for the CA (pending
 * or sent, of requests queued or relayed; sent, of requests that moved
 * on), the age of the oldest, and
 * when the next falls due (its lease run out).  Returns RP_OK or a
 * database error.
 */
enum rp_err
outbox_stats(struct db *db, int64_t now, struct outbox_stats *st)
{
	struct dbq	 q;
	enum rp_err	 e;

	memset(st, 0, sizeof(*st));
	dbq_start(&q, db, DB_OUTBOX_STATS);
	if (dbq_step(&q)) {
		st->depth = dbq_col_int(&q, 0);
		if (!dbq_col_null(&q, 1) && now > dbq_col_int(&q, 1))
			st->oldest_ms = now - dbq_col_int(&q, 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return e;
	dbq_start(&q, db, DB_OUTBOX_NEXT);
	if (dbq_step(&q) && !dbq_col_null(&q, 0))
		st->next_due = dbq_col_int(&q, 0);
	return dbq_end(&q);
}

/*
 * Appends the gauges <prefix>_queue_depth and <prefix>_oldest_age_seconds
 * of st to out in Prometheus text.  prefix is the caller's constant.
 */
enum rp_err
outbox_render_queue(struct buf *out, const char *prefix,
    const struct outbox_stats *st)
{
	return buf_addf(out,
	    "# HELP %s_queue_depth Outbox rows waiting for the CA.\n"
	    "# TYPE %s_queue_depth gauge\n"
	    "%s_queue_depth %lld\n"
	    "# HELP %s_oldest_age_seconds Age of the oldest outbox row "
	    "waiting for the CA.\n"
	    "# TYPE %s_oldest_age_seconds gauge\n"
	    "%s_oldest_age_seconds %lld.%03lld\n",
	    prefix, prefix, prefix, (long long)st->depth, prefix, prefix,
	    prefix, (long long)(st->oldest_ms / 1000),
	    (long long)(st->oldest_ms % 1000));
}

/* Counts one turn's report into m: its outcome, its calls, completion. */
void
outbox_metrics_count(struct outbox_metrics *m,
    const struct outbox_report *rep)
{
	double		 s;
	size_t		 i, k;

	if (rep->result >= OB_DONE && rep->result <= OB_DEAD)
		m->deliveries[rep->result]++;
	for (i = 0; i < rep->calls && i < 2; i++) {
		s = rep->call_seconds[i];
		if (!(s > 0))
			s = 0;
		if (s > 3600)
			s = 3600;
		for (k = 0; k < OUTBOX_NCALL_LE; k++)
			if (s <= outbox_call_le[k])
				break;
		m->call_bucket[k]++;
		m->call_sum_us += (uint64_t)(s * 1e6 + 0.5);
	}
	if (rep->completed) {
		s = rep->completion_ms > 0 ? (double)rep->completion_ms : 0;
		for (k = 0; k < OUTBOX_NDONE_LE; k++)
			if (s <= (double)outbox_done_le[k] * 1000)
				break;
		m->done_bucket[k]++;
		m->done_sum_ms += (uint64_t)s;
	}
}

/*
 * Appends one histogram, name with the per-bucket counts b (n bounds and
 * +Inf) under the labels le, and its sum, to out.
 */
static enum rp_err
outbox_render_hist(struct buf *out, const char *name, const char *help,
    const uint64_t *b, const char *const *le, size_t n, uint64_t sum,
    unsigned int sum_scale)
{
	uint64_t	 cum = 0;
	size_t		 k;
	enum rp_err	 e;

	if ((e = buf_addf(out, "# HELP %s %s\n# TYPE %s histogram\n", name,
	    help, name)) != RP_OK)
		return e;
	for (k = 0; k <= n; k++) {
		cum += b[k];
		if ((e = buf_addf(out, "%s_bucket{le=\"%s\"} %llu\n", name,
		    k < n ? le[k] : "+Inf", (unsigned long long)cum)) != RP_OK)
			return e;
	}
	if (sum_scale == 1000)
		e = buf_addf(out, "%s_sum %llu.%03llu\n", name,
		    (unsigned long long)(sum / 1000),
		    (unsigned long long)(sum % 1000));
	else
		e = buf_addf(out, "%s_sum %llu.%06llu\n", name,
		    (unsigned long long)(sum / 1000000),
		    (unsigned long long)(sum % 1000000));
	if (e != RP_OK)
		return e;
	return buf_addf(out, "%s_count %llu\n", name,
	    (unsigned long long)cum);
}

/*
 * Appends the relay's figures in Prometheus text 0.0.4 to out: the queue
 * (st, when not NULL), deliveries by outcome, the time of each driver
 * call (a delivery or a check: an EJBCA delivery is two HTTP requests),
 * the time from receipt to the CA's confirmation, and now (ms) as the
 * time they were written, so that a stale file shows.  Returns RP_OK or
 * RP_ERR_NOMEM at out's limit.
 */
enum rp_err
outbox_metrics_render(const struct outbox_metrics *m,
    const struct outbox_stats *st, int64_t now, struct buf *out)
{
	size_t		 i;
	enum rp_err	 e;

	if (st != NULL &&
	    (e = outbox_render_queue(out, "revportal_relay", st)) != RP_OK)
		return e;
	if ((e = buf_adds(out, "# HELP revportal_relay_deliveries_total "
	    "Outbox rows handled, by the outcome recorded.\n"
	    "# TYPE revportal_relay_deliveries_total counter\n")) != RP_OK)
		return e;
	for (i = OB_DONE; i <= OB_DEAD; i++)
		if ((e = buf_addf(out, "revportal_relay_deliveries_total"
		    "{outcome=\"%s\"} %llu\n", outbox_result_names[i],
		    (unsigned long long)m->deliveries[i])) != RP_OK)
			return e;
	if ((e = outbox_render_hist(out, "revportal_relay_delivery_seconds",
	    "Time of one CA driver call, a delivery or a check (an EJBCA "
	    "delivery is two HTTP requests: the revoke and the status).",
	    m->call_bucket,
	    outbox_call_le_text, OUTBOX_NCALL_LE, m->call_sum_us, 1000000)) !=
	    RP_OK ||
	    (e = outbox_render_hist(out, "revportal_relay_completion_seconds",
	    "From the receipt of a request to the CA's confirmation.",
	    m->done_bucket, outbox_done_le_text, OUTBOX_NDONE_LE,
	    m->done_sum_ms, 1000)) != RP_OK)
		return e;
	return buf_addf(out, "# HELP revportal_relay_metrics_timestamp_seconds "
	    "When revportal-relay wrote these figures.\n"
	    "# TYPE revportal_relay_metrics_timestamp_seconds gauge\n"
	    "revportal_relay_metrics_timestamp_seconds %lld.%03lld\n",
	    (long long)(now / 1000), (long long)(now % 1000));
}
