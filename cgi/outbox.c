/*
 * The outbox as revportal-relay sees it: the database side of delivering
 * a queued request to the CA.
 *
 * One turn (outbox_run()) is three steps.  The claim takes the row due
 * first, of a request still queued or relayed, whose lease is free or
 * has run out, and leases it to this relay inside one BEGIN IMMEDIATE
 * transaction, so that two relays never hold the same row.  The claim
 * also stamps first_sent_at, before anything goes to the CA: a row that
 * comes back with first_sent_at set may have reached the CA already (a
 * relay that crashed after sending, or a call that timed out), so it is
 * first checked with the driver and recorded done without acting again
 * when the CA says so.  Then the driver is called outside any
 * transaction.  Last, the outcome is recorded in one transaction with
 * the request's state change and the audit entries:
 *
 *	CA_DONE		row done; the request relayed (if it was queued),
 *			and completed once every row of it is done (the
 *			certificates change status then, in lifecycle.c)
 *	CA_PENDING	row sent, checked again after pending_check_ms;
 *			the request relayed
 *	CA_RETRY	attempts + 1, the next try after an exponential
 *			backoff with jitter; the CA's words in last_error
 *	CA_PERMANENT,
 *	CA_UNSUPPORTED	row dead, the request failed with the CA's words
 *			as its outcome, for an officer to retry or reject
 *
 * A request that moved meanwhile (an officer's decision, another relay
 * failing it for another row) is not overwritten: the row is released
 * as it was, or recorded done when the CA did act.  A recording that
 * fails leaves row and request as they were, the row still leased: it
 * comes back after its lease, checked first.  Only a relay that stops
 * releases a row it holds but did not send.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "extern.h"

/* The jitter of a backoff: from 80% to 120% of the delay, in permille. */
#define OUTBOX_JITTER_LOW	800u
#define OUTBOX_JITTER_SPAN	401u

/* Upper bounds of revportal_relay_delivery_seconds, one CA call. */
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
 * action, issuer, serial, aki, reason) into row and row->job.  Returns
 * 0, or -1 with the reason logged for a payload this program did not
 * write: the row is then damaged and goes to no CA.
 */
static int
outbox_payload(struct outbox_row *row, const char *text, size_t len)
{
	json_t		*p;
	json_error_t	 je;
	const char	*request = NULL, *action = NULL, *issuer = NULL;
	const char	*serial = NULL, *aki = NULL, *reason = NULL;
	char		 canon[RP_SERIAL_MAX];
	int		 rc = -1;

	if ((p = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		goto out;
	if (json_unpack_ex(p, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "request", &request, "action", &action, "issuer", &issuer,
	    "serial", &serial, "aki", &aki, "reason", &reason) != 0)
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
 * Claims the row due first at now for oc->owner: leases it for
 * oc->lease_ms in one write transaction and reads it into row.  *got is
 * 0 when no row is due.  A row whose payload cannot be read is claimed
 * too, with row->damaged set, so that it ends as a dead letter rather
 * than blocking the queue.  Returns RP_OK or a database error (nothing
 * changed).  Nothing to free.
 */
enum rp_err
outbox_claim(struct db *db, const struct outbox_conf *oc, int64_t now,
    struct outbox_row *row, int *got, struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*s;
	char		*payload = NULL;
	size_t		 plen = 0;
	int64_t		 v;
	enum rp_err	 e;
	int		 n, found = 0;

	*got = 0;
	memset(row, 0, sizeof(*row));
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	dbq_start(&q, db, DB_OUTBOX_DUE);
	dbq_int(&q, now);
	if (dbq_step(&q)) {
		found = 1;
		row->id = dbq_col_int(&q, 0);
		row->request = dbq_col_int(&q, 1);
		s = dbq_col_text(&q, 2);
		row->sent = s != NULL && strcmp(s, "sent") == 0;
		v = dbq_col_int(&q, 3);
		row->attempts = v < 0 ? 0 : v > INT_MAX ? INT_MAX :
		    (unsigned int)v;
		row->first_sent_at = dbq_col_int(&q, 4);
		plen = dbq_col_bytes(&q, 5);
		if (plen <= OUTBOX_PAYLOAD_MAX &&
		    (s = dbq_col_text(&q, 5)) != NULL &&
		    (payload = rp_strndup(s, plen)) == NULL)
			q.err = RP_ERR_NOMEM;
		if (outbox_copy(row->idem_key, sizeof(row->idem_key),
		    dbq_col_text(&q, 6)) == -1)
			row->damaged = 1;
		/* requests.public_id has exactly RP_ID_LEN characters. */
		if (outbox_copy(row->public_id, sizeof(row->public_id),
		    dbq_col_text(&q, 7)) == -1)
			q.err = RP_ERR_INTERNAL;
		row->received_at = dbq_col_int(&q, 8);
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		db_rollback(db);
		(void)rp_fail(ei, e, "db", "cannot read the outbox");
		goto out;
	}
	if (!found) {
		db_rollback(db);
		goto out;
	}
	dbq_start(&q, db, DB_OUTBOX_LEASE);
	dbq_text(&q, oc->owner);
	dbq_int(&q, now + (int64_t)oc->lease_ms);
	dbq_int(&q, now);
	dbq_int(&q, now);
	dbq_int(&q, row->id);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, &n)) != RP_OK || n != 1) {
		db_rollback(db);
		e = rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
		    "cannot lease the outbox row");
		goto out;
	}
	if ((e = db_commit(db)) != RP_OK) {
		(void)rp_fail(ei, e, "db_commit",
		    "cannot lease the outbox row");
		goto out;
	}
	row->job.issuer = row->issuer;
	row->job.serial = row->serial;
	row->job.aki = row->aki;
	row->job.idem_key = row->idem_key;
	if (payload == NULL || row->damaged ||
	    outbox_payload(row, payload, plen) == -1)
		row->damaged = 1;
	*got = 1;
out:
	free(payload);
	return e;
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
	enum rp_err	 e;
	int		 n;

	dbq_start(&q, db, DB_OUTBOX_RELEASE);
	dbq_int(&q, now);
	dbq_int(&q, row->id);
	dbq_text(&q, oc->owner);
	if ((e = dbq_exec(&q, &n)) != RP_OK)
		return e;
	return n == 1 ? RP_OK : RP_ERR_CONFLICT;
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
	enum rp_err	 e;
	int		 n;

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
	dbq_int(&q, row->id);
	dbq_text(&q, oc->owner);
	if ((e = dbq_exec(&q, &n)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot update the outbox");
	if (n != 1)
		return rp_fail(ei, RP_ERR_CONFLICT, "lease_lost",
		    "the outbox row is no longer leased to this relay");
	return RP_OK;
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
 * Records the CA's answer res about row, leased by oc->owner, at now, in
 * one write transaction with the request's change (lifecycle.c) and the
 * audit entries: see the top of this file.  res->outcome CA_DONE with
 * checked set in rep (rep->checked) says a check found the work done.
 * Fills rep->result (and completed, completion_ms).  Returns RP_OK; on
 * any error nothing has changed (the row is still leased): a database
 * error, RP_ERR_CONFLICT "lease_lost" when another relay took the row,
 * RP_ERR_INTERNAL for a request that is not there.
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
		break;
	case CA_PENDING:
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

	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	if ((e = lc_get(db, row->public_id, &r)) != RP_OK) {
		e = rp_fail(ei, e == RP_ERR_NOT_FOUND ? RP_ERR_INTERNAL : e,
		    "db", "cannot read the request of the outbox row");
		goto out;
	}
	moved = r.state != RS_QUEUED && r.state != RS_RELAYED;
	if (moved && out != OB_DONE) {
		/* Left as it was for whoever moved the request. */
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
		if (moved)
			out = OB_MOVED;
	}
	if (!moved && (out == OB_DONE || out == OB_PENDING) &&
	    r.state == RS_QUEUED &&
	    (e = lc_transition_in(db, pol, row->public_id, RS_RELAYED,
	    oc->actor, NULL, now, ei)) != RP_OK)
		goto out;
	if (!moved && out == OB_DONE) {
		if ((e = outbox_undone(db, row->request, &undone, ei)) !=
		    RP_OK)
			goto out;
		if (undone == 0) {
			if ((e = lc_transition_in(db, pol, row->public_id,
			    RS_COMPLETED, oc->actor, NULL, now, ei)) != RP_OK)
				goto out;
			rep->completed = 1;
			rep->completion_ms = now - r.received_at;
		}
	}
	if (!moved && out == OB_DEAD &&
	    (e = lc_transition_in(db, pol, row->public_id, RS_FAILED,
	    oc->actor, words, now, ei)) != RP_OK)
		goto out;
	if ((e = db_commit(db)) != RP_OK) {
		rep->completed = 0;
		rep->completion_ms = 0;
		return rp_fail(ei, e, "db_commit", "cannot record the outcome");
	}
	rep->result = out;
	if (moved)
		rplog(RPLOG_WARN, "outbox_moved", "request=%s key=%s "
		    "state=%s outcome=%s", row->public_id, row->idem_key,
		    dom_state_name(r.state), ca_outcome_name(res->outcome));
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
    const struct outbox_row *row, struct ca_result *res,
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
		fn(hc, url, &row->job, res);
	res->message[sizeof(res->message) - 1] = '\0';
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
 * One turn of the relay: claims the row due first, asks the CA through
 * drv (hc and the base url are the driver's), and records the outcome.
 * A row the CA may have seen already (first_sent_at set, or sent) is
 * checked first: done, or unreachable, is recorded as it is; a sent row
 * still pending, or refused, likewise; anything else is delivered (again:
 * the idempotency key is the same).  A stopping relay claims nothing,
 * and releases a row it holds instead of making another call.  rep says
 * what happened (OB_NONE: nothing was due, or stopping).  Returns RP_OK,
 * or the error of the claim or the recording (the row then stays leased
 * and comes back after its lease).
 */
enum rp_err
outbox_run(struct db *db, const struct policy *pol,
    const struct outbox_conf *oc, const struct ca_driver *drv,
    struct hc *hc, const char *url, struct outbox_report *rep,
    struct rp_errinfo *ei)
{
	struct outbox_row	*row;
	struct ca_result	 res;
	enum rp_err		 e;
	int			 got, deliver = 1;

	memset(rep, 0, sizeof(*rep));
	/* Stopping, nothing new is taken: the report says OB_NONE. */
	if (outbox_stopping(oc))
		return RP_OK;
	if ((row = malloc(sizeof(*row))) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	if ((e = outbox_claim(db, oc, outbox_now(oc), row, &got, ei)) !=
	    RP_OK || !got)
		goto out;
	memcpy(rep->public_id, row->public_id, sizeof(rep->public_id));
	memcpy(rep->idem_key, row->idem_key, sizeof(rep->idem_key));
	memset(&res, 0, sizeof(res));
	if (row->damaged) {
		res.outcome = CA_PERMANENT;
		(void)snprintf(res.message, sizeof(res.message), "revportal: "
		    "the outbox row is damaged and was not sent");
		deliver = 0;
	} else if (row->sent || row->first_sent_at != 0) {
		if (outbox_stopping(oc))
			goto release;
		outbox_call(drv->check, hc, url, row, &res, rep);
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
	}
	if (deliver) {
		if (outbox_stopping(oc))
			goto release;
		outbox_call(drv->deliver, hc, url, row, &res, rep);
		rep->delivered = 1;
	}
	e = outbox_record(db, pol, oc, row, &res, outbox_now(oc), rep, ei);
	/* Stopping, the lease is given back rather than left to run out. */
	if (e != RP_OK && outbox_stopping(oc))
		(void)outbox_release(db, oc, row, outbox_now(oc));
	goto out;
release:
	rep->result = OB_RELEASED;
	if ((e = outbox_release(db, oc, row, outbox_now(oc))) != RP_OK)
		(void)rp_fail(ei, e, "db", "cannot release the outbox row");
out:
	free(row);
	return e;
}

/*
 * Reads the queue at now into st: the rows waiting for the CA (pending
 * or sent, of requests queued or relayed), the age of the oldest, and
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
 * (st, when not NULL), deliveries by outcome, the time of each CA call,
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
	    "Time of one call to the CA.", m->call_bucket,
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
