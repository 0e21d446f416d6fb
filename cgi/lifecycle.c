/*
 * The lifecycle of a request: the one owner of its state machine
 *
 *	(new) -> awaiting_approval -> queued -> relayed -> completed
 *	(new) -> queued
 *	awaiting_approval -> rejected | expired
 *	queued -> failed,  relayed -> failed
 *	failed -> queued (an officer retries) | rejected
 *
 * Every change runs in one write transaction with its audit entry; a
 * request that reaches queued gets its outbox rows (one per certificate)
 * in that same transaction, so the relay can never miss one and never
 * see one that was not answered.  An illegal change is an error
 * (RP_ERR_CONFLICT, "illegal_transition"), never a silent no-op.
 *
 * Callers authenticate before calling (passphrase, signature, staff
 * certificate); this module asks the policy and the registry, never the
 * network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define RS_BIT(s)	(1u << (s))

/* The open (not final) states. */
#define RS_OPEN		(RS_BIT(RS_AWAITING_APPROVAL) | RS_BIT(RS_QUEUED) | \
			    RS_BIT(RS_RELAYED) | RS_BIT(RS_FAILED))

/* The states each state may move to; lc_new_states for a new request. */
static const unsigned int lc_next[RS__MAX] = {
	[RS_AWAITING_APPROVAL] = RS_BIT(RS_QUEUED) | RS_BIT(RS_REJECTED) |
	    RS_BIT(RS_EXPIRED),
	[RS_QUEUED] = RS_BIT(RS_RELAYED) | RS_BIT(RS_FAILED),
	[RS_RELAYED] = RS_BIT(RS_COMPLETED) | RS_BIT(RS_FAILED),
	[RS_COMPLETED] = 0,
	[RS_REJECTED] = 0,
	[RS_EXPIRED] = 0,
	[RS_FAILED] = RS_BIT(RS_QUEUED) | RS_BIT(RS_REJECTED),
};

static const unsigned int lc_new_states =
    RS_BIT(RS_AWAITING_APPROVAL) | RS_BIT(RS_QUEUED);

/*
 * Returns 1 when a request may move from state from to state to; from
 * RS__MAX asks about a new request.  Anything out of range is 0.
 */
int
lc_legal(enum req_state from, enum req_state to)
{
	if ((unsigned int)to >= RS__MAX)
		return 0;
	if (from == RS__MAX)
		return (lc_new_states & RS_BIT(to)) != 0;
	if ((unsigned int)from >= RS__MAX)
		return 0;
	return (lc_next[from] & RS_BIT(to)) != 0;
}

/*
 * Copies the text of column col (NULL as "") into out of size outsz.
 * Returns 0, or -1 when it does not fit (a damaged row).
 */
static int
lc_col(const struct dbq *q, int col, char *out, size_t outsz)
{
	const char	*s;
	size_t		 len;

	s = dbq_col_text(q, col);
	if (s == NULL)
		s = "";
	len = strlen(s);
	if (len >= outsz)
		return -1;
	memcpy(out, s, len + 1);
	return 0;
}

/*
 * Reads the row in hand of a REQ_COLS statement (db.c) into r.  Returns
 * 0, or -1 for a row with words this program does not know (fail
 * closed: a damaged or foreign database).
 */
static int
lc_row(const struct dbq *q, struct request *r)
{
	memset(r, 0, sizeof(*r));
	r->id = dbq_col_int(q, 0);
	r->action = dom_action_parse(dbq_col_text(q, 2));
	r->reason = dom_reason_parse(dbq_col_text(q, 3));
	r->channel = dom_channel_parse(dbq_col_text(q, 4));
	r->auth = dom_auth_parse(dbq_col_text(q, 5));
	r->state = dom_state_parse(dbq_col_text(q, 6));
	r->token = dbq_col_int(q, 8);
	r->staff = dbq_col_int(q, 9);
	r->received_at = dbq_col_int(q, 10);
	r->due_at = dbq_col_int(q, 11);
	r->approval_expires_at = dbq_col_int(q, 12);
	r->completed_at = dbq_col_int(q, 13);
	r->updated_at = dbq_col_int(q, 14);
	r->need = (unsigned int)dbq_col_int(q, 15);
	if (r->action == ACT__MAX || r->reason == REASON__MAX ||
	    r->channel == CH__MAX || r->auth == AUTH__MAX ||
	    r->state == RS__MAX || r->need > (REL_SUBJECT | REL_LEGAL_REP))
		return -1;
	if (lc_col(q, 1, r->public_id, sizeof(r->public_id)) == -1 ||
	    lc_col(q, 7, r->requester, sizeof(r->requester)) == -1 ||
	    lc_col(q, 16, r->call_reference, sizeof(r->call_reference)) ==
	    -1 ||
	    lc_col(q, 17, r->caller_name, sizeof(r->caller_name)) == -1 ||
	    lc_col(q, 18, r->notes, sizeof(r->notes)) == -1 ||
	    lc_col(q, 19, r->outcome, sizeof(r->outcome)) == -1)
		return -1;
	return 0;
}

/*
 * Reads request public_id into r.  Returns RP_OK, RP_ERR_NOT_FOUND, or
 * a database error.
 */
enum rp_err
lc_get(struct db *db, const char *public_id, struct request *r)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 found = 0;

	memset(r, 0, sizeof(*r));
	dbq_start(&q, db, DB_REQ_GET);
	dbq_text(&q, public_id);
	if (dbq_step(&q)) {
		found = 1;
		if (lc_row(&q, r) == -1)
			q.err = RP_ERR_INTERNAL;
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return e;
	return found ? RP_OK : RP_ERR_NOT_FOUND;
}

/*
 * Begins a write transaction and reads request public_id into r.
 * Returns RP_OK inside the transaction; otherwise the error with ei
 * filled and no transaction open.
 */
static enum rp_err
lc_begin_get(struct db *db, const char *public_id, struct request *r,
    struct rp_errinfo *ei)
{
	enum rp_err	 e;

	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	if ((e = lc_get(db, public_id, r)) != RP_OK) {
		db_rollback(db);
		return rp_fail(ei, e, e == RP_ERR_NOT_FOUND ?
		    "unknown_request" : "db", "no such request");
	}
	return RP_OK;
}

/*
 * A request's certificates, read into a calloc'ed array: *rows (freed by
 * the caller) and *n.
 */
struct lc_certs {
	struct cert_row	*rows;
	size_t		 n;
};

/*
 * Reads the certificates of request id into c (empty on entry).
 * Returns RP_OK or an error; c->rows is the caller's to free either way.
 */
static enum rp_err
lc_certs_of(struct db *db, int64_t id, struct lc_certs *c)
{
	enum rp_err	 e;

	if ((c->rows = calloc(RP_TOKEN_CERTS_MAX, sizeof(*c->rows))) == NULL)
		return RP_ERR_NOMEM;
	e = reg_request_certs(db, id, c->rows, RP_TOKEN_CERTS_MAX, &c->n);
	/* A request has one to RP_TOKEN_CERTS_MAX certificates. */
	if (e == RP_ERR_TOO_LARGE || (e == RP_OK && c->n == 0))
		return RP_ERR_INTERNAL;
	return e;
}

/*
 * Returns the REL_* relation of actor to certificate c at now: a
 * passphrase is the subscriber's (subject); a signer is the subject when
 * they are the certificate's person, and a legal rep when registered as
 * one for its organisation at now; staff have none.
 */
static enum rp_err
lc_relation(struct db *db, const struct lc_actor *a,
    const struct cert_row *c, int64_t now, unsigned int *rel)
{
	enum rp_err	 e;
	int		 yes = 0;

	*rel = 0;
	if (a->auth == AUTH_PASSPHRASE) {
		*rel = REL_SUBJECT;
		return RP_OK;
	}
	if (a->auth == AUTH_STAFF) {
		*rel = a->parties & (REL_SUBJECT | REL_LEGAL_REP);
		return RP_OK;
	}
	if (a->auth != AUTH_SIGNATURE || a->person == 0)
		return RP_OK;
	if (c->person != 0 && c->person == a->person)
		*rel |= REL_SUBJECT;
	if (c->organisation != 0) {
		if ((e = reg_is_rep(db, c->organisation, a->person, now,
		    &yes)) != RP_OK)
			return e;
		if (yes)
			*rel |= REL_LEGAL_REP;
	}
	return RP_OK;
}

/* Fills the policy's view of certificate c. */
static void
lc_policy_cert(const struct cert_row *c, struct policy_cert *pc)
{
	pc->type = c->type;
	pc->status = c->status;
	pc->not_before = c->not_before;
	pc->not_after = c->not_after;
	pc->term_years = c->term_years;
	pc->qscd = c->qscd;
}

/*
 * Returns 1 when action on c in a token request changes nothing (the
 * certificate is already where the action would take it, or it has
 * expired), so the request leaves it out rather than failing for the
 * whole card: "I lost my card" must work while an old certificate on
 * it has run out.
 */
static int
lc_noop(enum action act, const struct cert_row *c, int64_t now)
{
	if (now > c->not_after)
		return 1;
	switch (act) {
	case ACT_REVOKE:
		return c->status == CS_REVOKED;
	case ACT_SUSPEND:
		return c->status != CS_VALID;
	default:
		return 0;
	}
}

/*
 * The reason the CA is told: what a suspension and a reactivation mean
 * in CRL terms, the subscriber's reason for a revocation, superseded for
 * the old certificate of a recovery.
 */
static enum crl_reason
lc_ca_reason(enum action act, enum crl_reason r)
{
	switch (act) {
	case ACT_SUSPEND:
		return REASON_HOLD;
	case ACT_REACTIVATE:
		return REASON_REMOVE_FROM_CRL;
	case ACT_RECOVER:
		return REASON_SUPERSEDED;
	default:
		return r;
	}
}

/*
 * Checks that no open request stands in the way of a new action on
 * certificate cert: one request at a time per certificate, except that a
 * revocation may always follow an open request of another kind (a
 * subscriber who suspended and then wants it revoked), and a suspension
 * may follow an open recovery (which can wait days for an approval: an
 * emergency must not).  The recovery then does not act on a certificate
 * that is suspended or revoked, or on its way there, at its turn
 * (outbox.c): it fails, for an officer.  RP_ERR_CONFLICT
 * "request_pending" otherwise.
 */
static enum rp_err
lc_check_open(struct db *db, int64_t cert, enum action act,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum action	 open;
	enum rp_err	 e;
	int		 clash = 0;

	dbq_start(&q, db, DB_REQ_OPEN_FOR_CERT);
	dbq_int(&q, cert);
	while (dbq_step(&q)) {
		open = dom_action_parse(dbq_col_text(&q, 1));
		if (act == ACT_REVOKE && open != ACT_REVOKE)
			continue;
		if (act == ACT_SUSPEND && open == ACT_RECOVER)
			continue;
		clash = 1;
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read open requests");
	if (clash)
		return rp_fail(ei, RP_ERR_CONFLICT, "request_pending",
		    "a request for this certificate is already being "
		    "processed");
	return RP_OK;
}

/*
 * Refuses to reactivate certificate c once its hold has reached the
 * policy's limit when the limit ends in revocation: from then on the
 * certificate is on its way to being revoked, whether or not the
 * minute's sweep has made that request yet.
 */
static enum rp_err
lc_check_limit(const struct policy *pol, enum action act,
    const struct cert_row *c, int64_t now, struct rp_errinfo *ei)
{
	if (act != ACT_REACTIVATE || pol->suspend_end_action != ACT_REVOKE ||
	    c->status != CS_SUSPENDED || c->suspended_until == 0 ||
	    now < c->suspended_until)
		return RP_OK;
	return rp_fail(ei, RP_ERR_CONFLICT, "suspension_ended",
	    "%s: the suspension reached its limit; the certificate is being "
	    "revoked", c->serial);
}

/*
 * Sets request r's state to to (a compare-and-set on r->state, so a
 * concurrent change is caught), with need, outcome (may be NULL) and
 * completed_at when to is final-and-done.  Updates r.  No legality
 * check: callers have made it.
 */
static enum rp_err
lc_set_state(struct db *db, struct request *r, enum req_state to,
    unsigned int need, const char *outcome, int64_t now,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 n;

	dbq_start(&q, db, DB_REQ_SET_STATE);
	dbq_text(&q, dom_state_name(to));
	dbq_int(&q, now);
	if (to == RS_COMPLETED)
		dbq_int(&q, now);
	else
		dbq_null(&q);
	dbq_int(&q, need);
	dbq_text(&q, outcome);
	dbq_int(&q, r->id);
	dbq_text(&q, dom_state_name(r->state));
	if ((e = dbq_exec(&q, &n)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot update the request");
	if (n != 1)
		return rp_fail(ei, RP_ERR_CONFLICT, "state_changed",
		    "the request changed meanwhile");
	r->state = to;
	r->need = need;
	if (to == RS_COMPLETED)
		r->completed_at = now;
	r->updated_at = now;
	return RP_OK;
}

/*
 * Writes one audit entry about request r: action "request.<event>",
 * subject "request:<public id>", details d (borrowed; may be NULL), and
 * queues the e-mail the event warrants (mail.c).
 */
static enum rp_err
lc_audit(struct db *db, const struct request *r, const char *actor,
    const char *event, const json_t *d, int64_t now, struct rp_errinfo *ei)
{
	char		 action[48], subject[16 + RP_ID_LEN];
	enum rp_err	 e;
	int		 n;

	n = snprintf(action, sizeof(action), "request.%s", event);
	if (n < 0 || (size_t)n >= sizeof(action))
		return rp_fail(ei, RP_ERR_INTERNAL, "audit", "event name");
	n = snprintf(subject, sizeof(subject), "request:%s", r->public_id);
	if (n < 0 || (size_t)n >= sizeof(subject))
		return rp_fail(ei, RP_ERR_INTERNAL, "audit", "subject");
	if ((e = audit_append(db, now, actor, action, subject, d, ei)) !=
	    RP_OK)
		return e;
	/* The e-mail the event warrants, in the same transaction. */
	return mail_event(db, r->id, event, now, ei);
}

/*
 * Reads the CSR stored with recovery request id into *csr (the caller
 * frees it).  RP_ERR_INTERNAL when a recovery has none.
 */
static enum rp_err
lc_recovery_csr(struct db *db, int64_t id, char **csr, struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*s;
	enum rp_err	 e = RP_ERR_INTERNAL;

	*csr = NULL;
	dbq_start(&q, db, DB_REC_GET);
	dbq_int(&q, id);
	if (dbq_step(&q) && (s = dbq_col_text(&q, 0)) != NULL)
		e = (*csr = rp_strndup(s, strlen(s))) == NULL ?
		    RP_ERR_NOMEM : RP_OK;
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK) {
		free(*csr);
		*csr = NULL;
		return rp_fail(ei, e, "db", "cannot read the recovery's "
		    "certificate request");
	}
	return RP_OK;
}

/*
 * Reads the PEM of certificate id into *pem (the caller frees it).
 */
static enum rp_err
lc_cert_pem(struct db *db, int64_t id, char **pem)
{
	struct dbq	 q;
	const char	*s;
	enum rp_err	 e = RP_ERR_INTERNAL;

	*pem = NULL;
	dbq_start(&q, db, DB_CERT_EXPORT);
	dbq_int(&q, id);
	if (dbq_step(&q) && (s = dbq_col_text(&q, 1)) != NULL)
		e = (*pem = rp_strndup(s, strlen(s))) == NULL ?
		    RP_ERR_NOMEM : RP_OK;
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK) {
		free(*pem);
		*pem = NULL;
	}
	return e;
}

/*
 * A recovery asks for a new certificate for one certificate c (not a
 * token) with n's CSR, which must pass csr_check() against the old
 * certificate here again, inside the request's transaction: the
 * challenge checked it when it was issued, but the request is what the
 * relay sends.  Fills sha256.  Returns RP_OK or RP_ERR_BAD_INPUT
 * ("recover_one", "csr_required", csr_check()'s codes), or another
 * error.
 */
static enum rp_err
lc_recovery_check(struct db *db, const struct lc_new *n,
    const struct lc_certs *c, char sha256[65], struct rp_errinfo *ei)
{
	char		*pem = NULL;
	enum rp_err	 e;

	sha256[0] = '\0';
	if (n->token != NULL || c->n != 1)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "recover_one",
		    "A recovery names one certificate by its serial number.");
	if (n->csr_pem == NULL || n->csr_pem[0] == '\0')
		return rp_fail(ei, RP_ERR_BAD_INPUT, "csr_required",
		    "A recovery needs the certificate request (CSR) of the "
		    "new key.");
	if ((e = lc_cert_pem(db, c->rows[0].id, &pem)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the certificate");
	e = csr_check(n->csr_pem, strlen(n->csr_pem), pem, sha256, ei);
	free(pem);
	return e;
}

/*
 * Makes the outbox rows of request r, one per certificate, and moves it
 * to queued with its audit entry.  Inside the caller's transaction.  A
 * recovery's row also carries its CSR (from recoveries), the old
 * certificate's type and its subject person's identifier: what the
 * relay needs to ask for the new certificate.
 */
static enum rp_err
lc_enqueue(struct db *db, struct request *r, const struct lc_certs *c,
    const char *actor, int64_t now, struct rp_errinfo *ei)
{
	struct dbq	 q;
	json_t		*p = NULL, *d = NULL;
	char		*text = NULL, *csr = NULL, key[RP_ID_LEN + 24];
	const char	*reason;
	size_t		 i;
	enum rp_err	 e = RP_ERR_NOMEM;
	int		 n;

	reason = dom_reason_name(lc_ca_reason(r->action, r->reason));
	if (r->action == ACT_RECOVER &&
	    (e = lc_recovery_csr(db, r->id, &csr, ei)) != RP_OK)
		goto out;
	for (i = 0; i < c->n; i++) {
		p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
		    "request", r->public_id,
		    "action", dom_action_name(r->action),
		    "issuer", c->rows[i].issuer,
		    "serial", c->rows[i].serial,
		    "aki", c->rows[i].aki,
		    "reason", reason);
		/* A recovery: what the CA's enrolment needs (outbox.c). */
		if (p != NULL && r->action == ACT_RECOVER &&
		    (json_object_set_new(p, "csr", json_string(csr)) != 0 ||
		    json_object_set_new(p, "type",
		    json_string(dom_type_name(c->rows[i].type))) != 0 ||
		    json_object_set_new(p, "person",
		    json_string(c->rows[i].person_id)) != 0)) {
			json_decref(p);
			p = NULL;
		}
		if (p == NULL ||
		    (text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS)) ==
		    NULL) {
			e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
			goto out;
		}
		if (strlen(text) > OUTBOX_PAYLOAD_MAX) {
			e = rp_fail(ei, RP_ERR_TOO_LARGE, "payload",
			    "the request is too large for the outbox");
			goto out;
		}
		/*
		 * Stable across retries, but neither CA takes such a key
		 * (cfssl's revoke and EJBCA's REST revoke have none): it
		 * names the row in the log and the audit.  Sending again is
		 * made safe otherwise: the relay stamps first_sent_at before
		 * a call and asks the CA for the certificate's status before
		 * acting again (EJBCA's revocationstatus), and each action
		 * is idempotent at the CA: revoking again with the same
		 * reason changes nothing but cfssl's revoked_at, and EJBCA
		 * answers 409 and the status tells done.
		 */
		n = snprintf(key, sizeof(key), "%s.%zu", r->public_id, i + 1);
		if (n < 0 || (size_t)n >= sizeof(key)) {
			e = rp_fail(ei, RP_ERR_INTERNAL, "key", "outbox key");
			goto out;
		}
		dbq_start(&q, db, DB_OUTBOX_ADD);
		dbq_int(&q, r->id);
		dbq_int(&q, c->rows[i].id);
		dbq_text(&q, dom_action_name(r->action));
		dbq_text(&q, text);
		dbq_text(&q, key);
		dbq_int(&q, now);
		dbq_int(&q, now);
		dbq_int(&q, now);
		if ((e = dbq_exec(&q, NULL)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot write the outbox");
			goto out;
		}
		free(text);
		text = NULL;
		json_decref(p);
		p = NULL;
	}
	if ((e = lc_set_state(db, r, RS_QUEUED, 0, NULL, now, ei)) != RP_OK)
		goto out;
	if ((d = json_pack("{s:I, s:s}", "outbox_rows", (json_int_t)c->n,
	    "ca_reason", reason)) == NULL) {
		e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
		goto out;
	}
	e = lc_audit(db, r, actor, "queued", d, now, ei);
out:
	json_decref(d);
	json_decref(p);
	free(text);
	free(csr);
	return e;
}

/*
 * Resolves the target of n into c: the one certificate of serial (and
 * issuer), or every certificate of token.  Returns RP_OK, or
 * RP_ERR_NOT_FOUND ("unknown_certificate"), RP_ERR_CONFLICT for an
 * ambiguous serial, RP_ERR_BAD_INPUT when not exactly one of serial and
 * token is given.
 */
static enum rp_err
lc_targets(struct db *db, const struct lc_new *n, struct lc_certs *c,
    int64_t *token, struct rp_errinfo *ei)
{
	enum rp_err	 e;

	*token = 0;
	if ((n->serial == NULL) == (n->token == NULL))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "target",
		    "give either a serial number or a token");
	if ((c->rows = calloc(RP_TOKEN_CERTS_MAX, sizeof(*c->rows))) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	if (n->serial != NULL) {
		if ((e = reg_cert_find(db, n->issuer, n->serial, &c->rows[0],
		    ei)) != RP_OK)
			return e;
		c->n = 1;
		return RP_OK;
	}
	if ((e = reg_token_certs(db, n->token, c->rows, RP_TOKEN_CERTS_MAX,
	    &c->n, ei)) != RP_OK)
		return e;
	if (c->n == 0)
		return rp_fail(ei, RP_ERR_NOT_FOUND, "unknown_certificate",
		    "no such certificate or token");
	*token = c->rows[0].token;
	return RP_OK;
}

/*
 * Asks the policy about every certificate of c for the request q (its
 * cert member filled per certificate here), dropping from c the
 * certificates of a token request that the action would not change.
 * Fills res (code, need as the union, flags) and *rel with the actor's
 * relation to the first certificate kept.  Returns RP_OK when allowed;
 * otherwise the policy's error with ei naming the refusal.
 */
static enum rp_err
lc_decide(struct db *db, const struct policy *pol, const struct lc_actor *a,
    struct policy_query *pq, struct lc_certs *c, int token,
    struct lc_result *res, unsigned int *rel, struct rp_errinfo *ei)
{
	struct policy_decision	 d;
	unsigned int		 r;
	size_t			 i, kept = 0;
	enum rp_err		 e;

	res->need = 0;
	res->flags = 0;
	*rel = 0;
	for (i = 0; i < c->n; i++) {
		if (token && lc_noop(pq->action, &c->rows[i], pq->now))
			continue;
		if ((e = lc_relation(db, a, &c->rows[i], pq->now, &r)) !=
		    RP_OK)
			return rp_fail(ei, e, "db", "cannot read the registry");
		lc_policy_cert(&c->rows[i], &pq->cert);
		pq->relation = r;
		if (policy_decide(pol, pq, &d) != POL_ALLOW) {
			res->code = d.code;
			return rp_fail(ei, policy_code_err(d.code),
			    policy_code_name(d.code), "%s: %s",
			    c->rows[i].serial, policy_code_name(d.code));
		}
		if (kept == 0)
			*rel = r;
		res->need |= d.need;
		res->flags |= d.flags;
		if (kept != i)
			c->rows[kept] = c->rows[i];
		kept++;
	}
	c->n = kept;
	if (kept == 0) {
		res->code = POL_WRONG_STATUS;
		return rp_fail(ei, RP_ERR_CONFLICT, "wrong_status",
		    "no certificate of this token can be changed so");
	}
	res->code = POL_ALLOW;
	return RP_OK;
}

/*
 * Records the approval of actor a (a signer) on request r standing for
 * the parties roles.
 */
static enum rp_err
lc_add_approval(struct db *db, const struct request *r,
    const struct lc_actor *a, unsigned int roles, int64_t now,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	dbq_start(&q, db, DB_APPROVAL_ADD);
	dbq_int(&q, r->id);
	if (a->person != 0)
		dbq_int(&q, a->person);
	else
		dbq_null(&q);
	if (a->staff != 0)
		dbq_int(&q, a->staff);
	else
		dbq_null(&q);
	dbq_int(&q, roles);
	dbq_blob(&q, a->signature, a->siglen);
	dbq_text(&q, a->signer_sha256);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, NULL)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot record the approval");
	return RP_OK;
}

/*
 * Returns a JSON array of the serial numbers of c (new reference), or
 * NULL without memory.
 */
static json_t *
lc_serials(const struct lc_certs *c)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < c->n; i++)
		if (json_array_append_new(a, json_string(c->rows[i].serial))
		    != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/*
 * Checks the actor and the request's text before anything is read.
 */
static enum rp_err
lc_check_new(const struct lc_new *n, struct rp_errinfo *ei)
{
	const struct lc_actor	*a = &n->actor;

	if ((unsigned int)n->action >= ACT__MAX ||
	    (unsigned int)a->channel >= CH__MAX ||
	    (unsigned int)a->auth >= AUTH__MAX || a->name == NULL ||
	    a->name[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "a request without its action or actor");
	if (dom_reason_name(n->reason) == NULL)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_reason",
		    "unknown reason");
	if (n->csr_pem != NULL && n->action != ACT_RECOVER)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "unexpected_csr",
		    "A certificate request goes with a recovery only.");
	if ((n->call_reference != NULL &&
	    strlen(n->call_reference) >= RP_LABEL_MAX) ||
	    (n->caller_name != NULL && strlen(n->caller_name) >= RP_TEXT_MAX) ||
	    (n->notes != NULL && strlen(n->notes) >= RP_NOTE_MAX) ||
	    strlen(a->name) >= RP_TEXT_MAX)
		return rp_fail(ei, RP_ERR_TOO_LARGE, "too_long",
		    "a call reference, name or note is too long");
	if (a->channel == CH_HOTLINE && (n->call_reference == NULL ||
	    n->call_reference[0] == '\0' || n->caller_name == NULL ||
	    n->caller_name[0] == '\0'))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "call_details",
		    "a hotline request needs the call reference and the "
		    "caller's name");
	return RP_OK;
}

/*
 * Creates a request from n: finds its certificate(s), asks the policy,
 * and in one transaction writes the request, its certificates, the
 * initiator's approval (a signer's), its audit entry, and, when nobody
 * else has to sign, its outbox rows in state queued; otherwise it waits
 * in awaiting_approval for res->need.  A recovery (one certificate) needs
 * n->csr_pem, checked with csr_check() and stored in recoveries with
 * its SHA-256; a CSR with another action is refused ("unexpected_csr").
 * Returns RP_OK with res filled; else an error with ei saying why (and
 * res->code the policy's refusal when it was the policy), and nothing
 * written.
 */
enum rp_err
lc_create(struct db *db, const struct policy *pol, const struct lc_new *n,
    struct lc_result *res, struct rp_errinfo *ei)
{
	struct lc_certs		 c = { NULL, 0 };
	struct policy_query	 pq;
	struct request		 r;
	struct dbq		 q;
	json_t			*d = NULL;
	char			 csr_sha[65];
	unsigned int		 rel;
	size_t			 i;
	int64_t			 token;
	enum rp_err		 e;
	int			 intx = 0;

	memset(res, 0, sizeof(*res));
	res->code = POL_ALLOW;
	csr_sha[0] = '\0';
	if ((e = lc_check_new(n, ei)) != RP_OK)
		return e;
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	intx = 1;
	if ((e = lc_targets(db, n, &c, &token, ei)) != RP_OK)
		goto out;

	memset(&pq, 0, sizeof(pq));
	pq.action = n->action;
	pq.channel = n->actor.channel;
	pq.auth = n->actor.auth;
	pq.roles = n->actor.roles;
	pq.reason = n->reason;
	pq.now = n->now;
	if ((e = lc_decide(db, pol, &n->actor, &pq, &c, n->token != NULL,
	    res, &rel, ei)) != RP_OK)
		goto out;
	for (i = 0; i < c.n; i++) {
		if ((e = lc_check_open(db, c.rows[i].id, n->action, ei)) !=
		    RP_OK ||
		    (e = lc_check_limit(pol, n->action, &c.rows[i], n->now,
		    ei)) != RP_OK)
			goto out;
		/* The sweep picked the certificate outside this transaction:
		 * its hold must still be due now. */
		if (n->actor.channel == CH_SYSTEM &&
		    (c.rows[i].status != CS_SUSPENDED ||
		    c.rows[i].suspended_until > n->now)) {
			e = rp_fail(ei, RP_ERR_CONFLICT, "not_due",
			    "%s: the suspension is not at its limit",
			    c.rows[i].serial);
			goto out;
		}
	}
	if (n->action == ACT_RECOVER &&
	    (e = lc_recovery_check(db, n, &c, csr_sha, ei)) != RP_OK)
		goto out;

	memset(&r, 0, sizeof(r));
	if ((e = rp_random_id(r.public_id)) != RP_OK) {
		(void)rp_fail(ei, e, "random", "no random id");
		goto out;
	}
	r.action = n->action;
	r.reason = n->reason;
	r.state = res->need != 0 ? RS_AWAITING_APPROVAL : RS_QUEUED;
	r.received_at = n->now;
	r.due_at = policy_due_at(pol, n->now);
	r.need = res->need;

	/* Inserted as awaiting_approval or queued-to-be. */
	dbq_start(&q, db, DB_REQ_ADD);
	dbq_text(&q, r.public_id);
	dbq_text(&q, dom_action_name(n->action));
	if (token != 0)
		dbq_int(&q, token);
	else
		dbq_null(&q);
	dbq_text(&q, dom_reason_name(n->reason));
	dbq_text(&q, dom_channel_name(n->actor.channel));
	dbq_text(&q, dom_auth_name(n->actor.auth));
	dbq_text(&q, n->actor.name);
	if (n->actor.staff != 0)
		dbq_int(&q, n->actor.staff);
	else
		dbq_null(&q);
	dbq_text(&q, dom_state_name(RS_AWAITING_APPROVAL));
	dbq_int(&q, n->now);
	dbq_int(&q, r.due_at);
	if (res->need != 0)
		dbq_int(&q, policy_approval_expiry(pol, n->now));
	else
		dbq_null(&q);
	dbq_int(&q, n->now);
	dbq_int(&q, res->need);
	dbq_text(&q, n->call_reference);
	dbq_text(&q, n->caller_name);
	dbq_text(&q, n->notes);
	if ((e = dbq_exec(&q, NULL)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot store the request");
		goto out;
	}
	r.id = db_last_id(db);
	r.state = RS_AWAITING_APPROVAL;
	if (n->action == ACT_RECOVER) {
		/* The new key's request, kept with the request. */
		dbq_start(&q, db, DB_REC_ADD);
		dbq_int(&q, r.id);
		dbq_text(&q, n->csr_pem);
		dbq_text(&q, csr_sha);
		if ((e = dbq_exec(&q, NULL)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot store the "
			    "certificate request");
			goto out;
		}
	}
	for (i = 0; i < c.n; i++) {
		dbq_start(&q, db, DB_REQ_CERT_ADD);
		dbq_int(&q, r.id);
		dbq_int(&q, c.rows[i].id);
		if ((e = dbq_exec(&q, NULL)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot store the request");
			goto out;
		}
	}
	/* A signer's signature, or the parties of an officer's paper. */
	if ((n->actor.auth == AUTH_SIGNATURE ||
	    (n->actor.auth == AUTH_STAFF && rel != 0)) &&
	    (e = lc_add_approval(db, &r, &n->actor, rel, n->now, ei)) !=
	    RP_OK)
		goto out;

	d = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s*, s:I, s:s*, s:s*, "
	    "s:s*}",
	    "action", dom_action_name(n->action),
	    "reason", dom_reason_name(n->reason),
	    "channel", dom_channel_name(n->actor.channel),
	    "auth", dom_auth_name(n->actor.auth),
	    "certificates", lc_serials(&c),
	    "token", n->token,
	    "need", (json_int_t)res->need,
	    "call_reference", n->call_reference,
	    "caller_name", n->caller_name,
	    "notes", n->notes);
	if (d == NULL) {
		e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
		goto out;
	}
	if ((e = lc_audit(db, &r, n->actor.name, "received", d, n->now,
	    ei)) != RP_OK)
		goto out;
	if (res->need == 0 &&
	    (e = lc_enqueue(db, &r, &c, n->actor.name, n->now, ei)) != RP_OK)
		goto out;
	memcpy(res->public_id, r.public_id, sizeof(res->public_id));
	res->state = r.state;
	res->due_at = r.due_at;
	if (n->in_tx != NULL &&
	    (e = n->in_tx(db, n->in_tx_arg, r.id, res, ei)) != RP_OK)
		goto out;
	if ((e = db_commit(db)) != RP_OK) {
		intx = 0;	/* db_commit() rolled back */
		(void)rp_fail(ei, e, "db_commit", "cannot store the request");
		goto out;
	}
	intx = 0;
out:
	if (intx)
		db_rollback(db);
	if (e != RP_OK) {
		res->public_id[0] = '\0';
		res->state = RS_AWAITING_APPROVAL;
		res->due_at = 0;
	}
	json_decref(d);
	free(c.rows);
	return e;
}

/*
 * The signers of a request so far: who, and when they signed.  Each
 * approval adds a party to at least one certificate, so a request has at
 * most two per certificate plus the initiator's.
 */
#define LC_APPROVERS_MAX	(2u * RP_TOKEN_CERTS_MAX + 1u)

struct lc_approvers {
	int64_t		 person[LC_APPROVERS_MAX];
	int64_t		 at[LC_APPROVERS_MAX];
	size_t		 n;
	unsigned int	 paper;	/* parties an officer recorded */
};

/*
 * Reads the persons who signed request id so far into ap.
 */
static enum rp_err
lc_approvers(struct db *db, int64_t id, struct lc_approvers *ap,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	ap->n = 0;
	ap->paper = 0;
	dbq_start(&q, db, DB_APPROVALS_OF);
	dbq_int(&q, id);
	while (dbq_step(&q)) {
		if (dbq_col_null(&q, 7)) {
			/* An officer's record of a paper request. */
			ap->paper |= (unsigned int)dbq_col_int(&q, 4) &
			    (REL_SUBJECT | REL_LEGAL_REP);
			continue;
		}
		if (ap->n == LC_APPROVERS_MAX) {
			q.err = RP_ERR_INTERNAL;
			break;
		}
		ap->person[ap->n] = dbq_col_int(&q, 7);
		ap->at[ap->n] = dbq_col_int(&q, 6);
		ap->n++;
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read approvals");
	return RP_OK;
}

/*
 * Works out which parties (REL_*) of certificate c the signers ap stand
 * for, each judged at the time they signed (a legal rep whose term ended
 * since still counts for what they signed while in office).
 */
static enum rp_err
lc_approved_for(struct db *db, const struct lc_approvers *ap,
    const struct cert_row *c, unsigned int *approved)
{
	struct lc_actor	 who;
	unsigned int	 rel;
	size_t		 i;
	enum rp_err	 e;

	*approved = ap->paper;
	memset(&who, 0, sizeof(who));
	who.auth = AUTH_SIGNATURE;
	for (i = 0; i < ap->n; i++) {
		who.person = ap->person[i];
		if ((e = lc_relation(db, &who, c, ap->at[i], &rel)) != RP_OK)
			return e;
		*approved |= rel;
	}
	return RP_OK;
}

/*
 * Adds the approval of actor a to request public_id: a signer who
 * authenticated, or an officer entering the signature of a paper
 * approval they checked (a->parties).  The policy must find that a adds
 * a party still missing.
 * When nobody is missing any more the request is queued with its outbox
 * rows, all in one transaction.  Returns RP_OK with res filled; else an
 * error: RP_ERR_NOT_FOUND, RP_ERR_CONFLICT ("wrong_state",
 * "approval_expired"), the policy's refusal.
 */
enum rp_err
lc_approve(struct db *db, const struct policy *pol, const char *public_id,
    const struct lc_actor *a, int64_t now, struct lc_result *res,
    struct rp_errinfo *ei)
{
	return lc_approve_tx(db, pol, public_id, a, now, NULL, NULL, res, ei);
}

/*
 * lc_approve() with in_tx (NULL for none) called with in_tx_arg, the
 * request's row and res (filled as on success) inside the transaction
 * just before the commit: a signed approval's challenge is used up in
 * the same transaction as the approval.  An error of in_tx rolls back
 * everything and is returned.
 */
enum rp_err
lc_approve_tx(struct db *db, const struct policy *pol, const char *public_id,
    const struct lc_actor *a, int64_t now,
    enum rp_err (*in_tx)(struct db *, void *, int64_t,
    const struct lc_result *, struct rp_errinfo *), void *in_tx_arg,
    struct lc_result *res, struct rp_errinfo *ei)
{
	struct lc_certs		 c = { NULL, 0 };
	struct policy_query	 pq;
	struct policy_decision	 d;
	struct request		 r;
	json_t			*det = NULL;
	struct lc_approvers	 ap;
	unsigned int		 approved, rel, need = 0, adds = 0, before;
	size_t			 i;
	enum rp_err		 e;
	int			 intx = 0;

	memset(res, 0, sizeof(*res));
	res->code = POL_ALLOW;
	/* A signer, or an officer entering a signed paper approval. */
	if (a->name == NULL ||
	    !((a->auth == AUTH_SIGNATURE && a->person != 0 &&
	    (a->channel == CH_WEB || a->channel == CH_API)) ||
	    (a->auth == AUTH_STAFF && a->channel == CH_OFFICER)))
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "an approval needs a signer or an officer");
	if ((e = lc_begin_get(db, public_id, &r, ei)) != RP_OK)
		return e;
	intx = 1;
	if (r.state != RS_AWAITING_APPROVAL) {
		e = rp_fail(ei, RP_ERR_CONFLICT, "wrong_state",
		    "the request is %s, it takes no approvals",
		    dom_state_name(r.state));
		goto out;
	}
	if (r.approval_expires_at != 0 && now >= r.approval_expires_at) {
		e = rp_fail(ei, RP_ERR_CONFLICT, "approval_expired",
		    "the time for approvals has run out");
		goto out;
	}
	if ((e = lc_approvers(db, r.id, &ap, ei)) != RP_OK)
		goto out;
	if ((e = lc_certs_of(db, r.id, &c)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot read the certificates");
		goto out;
	}
	memset(&pq, 0, sizeof(pq));
	pq.action = r.action;
	/* The approver's way in: the who-must-sign rule is the same. */
	pq.channel = a->channel;
	pq.auth = a->auth;
	pq.roles = a->roles;
	pq.reason = r.reason;
	pq.now = now;
	/*
	 * Per certificate: a token's certificates may name different
	 * subjects and organisations, so who has signed is worked out for
	 * each one from the signers, never from a request-wide mask.
	 */
	for (i = 0; i < c.n; i++) {
		if ((e = lc_check_limit(pol, r.action, &c.rows[i], now, ei)) !=
		    RP_OK)
			goto out;
		lc_policy_cert(&c.rows[i], &pq.cert);
		if ((e = lc_approved_for(db, &ap, &c.rows[i], &approved)) !=
		    RP_OK ||
		    (e = lc_relation(db, a, &c.rows[i], now, &rel)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot read the registry");
			goto out;
		}
		/*
		 * What this certificate still lacked before a signed; the
		 * policy also checks its status and dates again.
		 */
		if (approved == 0) {
			e = rp_fail(ei, RP_ERR_CONFLICT, "approvals_invalid",
			    "%s: the earlier signatures no longer count",
			    c.rows[i].serial);
			goto out;
		}
		pq.relation = approved;
		pq.approved = 0;
		if (policy_decide(pol, &pq, &d) != POL_ALLOW) {
			res->code = d.code;
			e = rp_fail(ei, policy_code_err(d.code),
			    policy_code_name(d.code), "%s: %s",
			    c.rows[i].serial, policy_code_name(d.code));
			goto out;
		}
		if ((before = d.need) == 0)
			continue;
		/* a is nobody this certificate still needs. */
		if ((rel & before) == 0) {
			need |= before;
			continue;
		}
		pq.relation = rel;
		pq.approved = approved;
		if (policy_decide(pol, &pq, &d) != POL_ALLOW) {
			res->code = d.code;
			e = rp_fail(ei, policy_code_err(d.code),
			    policy_code_name(d.code), "%s: %s",
			    c.rows[i].serial, policy_code_name(d.code));
			goto out;
		}
		need |= d.need;
		res->flags |= d.flags;
		adds |= rel & before;
	}
	if (adds == 0) {
		res->code = POL_NOT_AUTHORISED;
		e = rp_fail(ei, RP_ERR_FORBIDDEN, "not_authorised",
		    "this signature adds no party the request still needs");
		goto out;
	}
	if ((e = lc_add_approval(db, &r, a, adds, now, ei)) != RP_OK)
		goto out;
	if ((det = json_pack("{s:I, s:I}", "adds", (json_int_t)adds,
	    "need", (json_int_t)need)) == NULL) {
		e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
		goto out;
	}
	if ((e = lc_audit(db, &r, a->name, "approved", det, now, ei)) !=
	    RP_OK)
		goto out;
	if (need != 0)
		e = lc_set_state(db, &r, RS_AWAITING_APPROVAL, need, NULL,
		    now, ei);
	else
		e = lc_enqueue(db, &r, &c, a->name, now, ei);
	if (e != RP_OK)
		goto out;
	memcpy(res->public_id, r.public_id, sizeof(res->public_id));
	res->state = r.state;
	res->need = need;
	res->due_at = r.due_at;
	if (in_tx != NULL &&
	    (e = in_tx(db, in_tx_arg, r.id, res, ei)) != RP_OK)
		goto out;
	if ((e = db_commit(db)) != RP_OK) {
		intx = 0;
		(void)rp_fail(ei, e, "db_commit", "cannot store the approval");
		goto out;
	}
	intx = 0;
out:
	if (intx)
		db_rollback(db);
	if (e != RP_OK) {
		res->public_id[0] = '\0';
		res->state = RS_AWAITING_APPROVAL;
		res->need = 0;
		res->due_at = 0;
	}
	json_decref(det);
	free(c.rows);
	return e;
}

/*
 * Returns 1 when a certificate in status st can still take action: the
 * status the action starts from.  A revoked certificate takes nothing.
 */
static int
lc_fits(enum action act, enum cert_status st)
{
	switch (act) {
	case ACT_REVOKE:
		return st == CS_VALID || st == CS_SUSPENDED;
	case ACT_SUSPEND:
	case ACT_RECOVER:
		return st == CS_VALID;
	case ACT_REACTIVATE:
		return st == CS_SUSPENDED;
	default:
		return 0;
	}
}

/* Returns the status action leaves a certificate in. */
static enum cert_status
lc_target(enum action act)
{
	switch (act) {
	case ACT_SUSPEND:
		return CS_SUSPENDED;
	case ACT_REACTIVATE:
		return CS_VALID;
	default:
		return CS_REVOKED;
	}
}

/*
 * Sets *yes when the CA has carried out a revocation of certificate
 * cert: a revoke row of it done (the registry may not say revoked yet:
 * its request may wait for another row).  A suspension or reactivation
 * must then leave the certificate alone, whatever it was answered.
 */
static enum rp_err
lc_revoked_at_ca(struct db *db, int64_t cert, int *yes,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	*yes = 0;
	dbq_start(&q, db, DB_OUTBOX_REVOKE_STATE);
	dbq_int(&q, cert);
	dbq_int(&q, 0);
	dbq_text(&q, NULL);
	if (dbq_step(&q))
		*yes = dbq_col_int(&q, 0) != 0;
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the certificate's "
		    "revocations");
	return RP_OK;
}

/*
 * Applies completed request r to each of its certificates c: revoked,
 * suspended until the policy's limit, or valid again, each with its
 * audit entry.  A certificate whose status no longer fits the action
 * (another request changed it meanwhile, above all a revocation) keeps
 * its status: a revoked certificate is never reinstated, re-suspended or
 * revoked again with another reason.  So does a certificate that a
 * suspension or reactivation would change while a revocation of it has
 * reached the CA (the relay then did not call the CA: "superseded by a
 * revocation").  Both are audited as certificate.unchanged.
 */
static enum rp_err
lc_apply(struct db *db, const struct policy *pol, const struct request *r,
    const struct lc_certs *c, const char *actor, int64_t now,
    struct rp_errinfo *ei)
{
	struct dbq		 q;
	json_t			*d;
	char			 subject[16 + RP_SERIAL_MAX];
	enum cert_status	 st;
	enum crl_reason		 reason;
	size_t			 i;
	enum rp_err		 e;
	int			 n, revoked;

	st = lc_target(r->action);
	reason = r->action == ACT_RECOVER ? REASON_SUPERSEDED : r->reason;
	for (i = 0; i < c->n; i++) {
		n = snprintf(subject, sizeof(subject), "certificate:%s",
		    c->rows[i].serial);
		if (n < 0 || (size_t)n >= sizeof(subject))
			return rp_fail(ei, RP_ERR_INTERNAL, "audit", "subject");
		revoked = 0;
		if ((r->action == ACT_SUSPEND || r->action == ACT_REACTIVATE) &&
		    lc_fits(r->action, c->rows[i].status) &&
		    (e = lc_revoked_at_ca(db, c->rows[i].id, &revoked, ei)) !=
		    RP_OK)
			return e;
		if (!lc_fits(r->action, c->rows[i].status) || revoked) {
			if ((d = json_pack("{s:s, s:s, s:s, s:s*}",
			    "request", r->public_id,
			    "issuer", c->rows[i].issuer,
			    "status", dom_status_name(c->rows[i].status),
			    "note", revoked ? "superseded by a revocation" :
			    NULL)) == NULL)
				return rp_fail(ei, RP_ERR_NOMEM, "nomem",
				    "out of memory");
			e = audit_append(db, now, actor,
			    "certificate.unchanged", subject, d, ei);
			json_decref(d);
			if (e != RP_OK)
				return e;
			continue;
		}
		dbq_start(&q, db, DB_CERT_SET_STATUS);
		dbq_text(&q, dom_status_name(st));
		dbq_int(&q, now);
		if (st == CS_SUSPENDED) {
			dbq_int(&q, now);
			dbq_int(&q, policy_suspension_end(pol, now));
		} else {
			dbq_null(&q);
			dbq_null(&q);
		}
		dbq_text(&q, st == CS_VALID ? NULL : dom_reason_name(reason));
		dbq_int(&q, c->rows[i].id);
		if ((e = dbq_exec(&q, &n)) != RP_OK || n != 1)
			return rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL,
			    "db", "cannot change the certificate's status");
		if ((d = json_pack("{s:s, s:s, s:s, s:s}",
		    "request", r->public_id,
		    "issuer", c->rows[i].issuer,
		    "from", dom_status_name(c->rows[i].status),
		    "to", dom_status_name(st))) == NULL)
			return rp_fail(ei, RP_ERR_NOMEM, "nomem",
			    "out of memory");
		e = audit_append(db, now, actor, "certificate.status", subject,
		    d, ei);
		json_decref(d);
		if (e != RP_OK)
			return e;
	}
	return RP_OK;
}

/*
 * Keeps in c only the certificates whose status does not yet show
 * action: applying it again would change nothing but add an audit
 * entry.
 */
static void
lc_only_unapplied(enum action act, struct lc_certs *c)
{
	size_t	 i, keep = 0;

	for (i = 0; i < c->n; i++) {
		if (c->rows[i].status == lc_target(act))
			continue;
		if (keep != i)
			c->rows[keep] = c->rows[i];
		keep++;
	}
	c->n = keep;
}

/*
 * Asks the policy again whether request r may still act on each of its
 * certificates c at now, as an officer asking now (a retry after a
 * failure: the certificate may have changed since).  Returns RP_OK or
 * the refusal.
 */
static enum rp_err
lc_recheck(const struct policy *pol, const struct request *r,
    const struct lc_certs *c, int64_t now, struct rp_errinfo *ei)
{
	struct policy_query	 pq;
	struct policy_decision	 d;
	size_t			 i;

	memset(&pq, 0, sizeof(pq));
	pq.action = r->action;
	pq.channel = CH_OFFICER;
	pq.auth = AUTH_STAFF;
	pq.roles = ROLE_OFFICER;
	/* Its signers were complete when it was queued. */
	pq.relation = REL_SUBJECT | REL_LEGAL_REP;
	pq.reason = r->reason;
	pq.now = now;
	for (i = 0; i < c->n; i++) {
		lc_policy_cert(&c->rows[i], &pq.cert);
		if (policy_decide(pol, &pq, &d) != POL_ALLOW)
			return rp_fail(ei, policy_code_err(d.code),
			    policy_code_name(d.code), "%s: %s",
			    c->rows[i].serial, policy_code_name(d.code));
	}
	return RP_OK;
}

/*
 * Checks the arguments of a transition: an actor, a state, an outcome
 * where one is needed and not too long.  Returns RP_OK or the error.
 */
static enum rp_err
lc_transition_args(enum req_state to, const char *actor,
    const char *outcome, struct rp_errinfo *ei)
{
	if (actor == NULL || actor[0] == '\0' || (unsigned int)to >= RS__MAX)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "a transition without its actor or state");
	if ((to == RS_REJECTED || to == RS_FAILED) &&
	    (outcome == NULL || outcome[0] == '\0'))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "outcome_required",
		    "say why the request is %s", dom_state_name(to));
	if (outcome != NULL && strlen(outcome) >= RP_TEXT_MAX)
		return rp_fail(ei, RP_ERR_TOO_LARGE, "too_long",
		    "the reason is too long");
	return RP_OK;
}

/*
 * Keeps in c only the certificates whose outbox row of request id is
 * done, i.e. confirmed by the CA (want 1), or only the others (want 0);
 * only rows done at since or later count as done (0: any).
 */
static enum rp_err
lc_only_done(struct db *db, int64_t id, struct lc_certs *c, int want,
    int64_t since, struct rp_errinfo *ei)
{
	struct dbq	 q;
	int64_t		 done[RP_TOKEN_CERTS_MAX];
	size_t		 nd = 0, i, j, keep = 0;
	enum rp_err	 e;

	dbq_start(&q, db, DB_OUTBOX_DONE_CERTS);
	dbq_int(&q, id);
	dbq_int(&q, since);
	while (dbq_step(&q)) {
		if (nd == RP_TOKEN_CERTS_MAX) {
			(void)dbq_end(&q);
			return rp_fail(ei, RP_ERR_INTERNAL, "db",
			    "too many outbox rows");
		}
		done[nd++] = dbq_col_int(&q, 0);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the outbox");
	for (i = 0; i < c->n; i++) {
		for (j = 0; j < nd; j++)
			if (c->rows[i].id == done[j])
				break;
		if ((j < nd) != (want != 0))
			continue;
		if (keep != i)
			c->rows[keep] = c->rows[i];
		keep++;
	}
	c->n = keep;
	return RP_OK;
}

/*
 * Moves request r (read inside the caller's write transaction) to state
 * to, as lc_transition() describes, with its audit entry.  Commits
 * nothing; on error the caller rolls back.
 */
static enum rp_err
lc_transition_tx(struct db *db, const struct policy *pol, struct request *r,
    enum req_state to, const char *actor, const char *outcome, int64_t now,
    struct rp_errinfo *ei)
{
	struct lc_certs	 c = { NULL, 0 };
	struct dbq	 q;
	json_t		*d = NULL;
	enum req_state	 from;
	enum rp_err	 e;

	from = r->state;
	if (!lc_legal(from, to) ||
	    (from == RS_AWAITING_APPROVAL && to == RS_QUEUED)) {
		e = rp_fail(ei, RP_ERR_CONFLICT, "illegal_transition",
		    "a request that is %s cannot become %s",
		    dom_state_name(from), dom_state_name(to));
		goto out;
	}
	if (to == RS_QUEUED) {
		/* A retry is asked again, as an officer would ask it now. */
		if ((e = lc_certs_of(db, r->id, &c)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot read certificates");
			goto out;
		}
		/* Those the CA confirmed already are not asked again. */
		if ((e = lc_only_done(db, r->id, &c, 0, 0, ei)) != RP_OK ||
		    (e = lc_recheck(pol, r, &c, now, ei)) != RP_OK)
			goto out;
		dbq_start(&q, db, DB_OUTBOX_REQUEUE);
		dbq_int(&q, now);
		dbq_int(&q, now);
		dbq_int(&q, r->id);
		if ((e = dbq_exec(&q, NULL)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot requeue");
			goto out;
		}
	}
	if (to == RS_COMPLETED || to == RS_FAILED ||
	    (from == RS_FAILED && to == RS_REJECTED)) {
		if ((e = lc_certs_of(db, r->id, &c)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot read certificates");
			goto out;
		}
		/* A failed token request may have been done at the CA for
		 * some of its certificates: those change as the CA says. */
		if (to == RS_FAILED &&
		    (e = lc_only_done(db, r->id, &c, 1, 0, ei)) != RP_OK)
			goto out;
		/*
		 * Rejecting a failed request: the CA may have confirmed
		 * rows since the failure (sent rows are checked on), and
		 * the relay applies those as it records them.  Should one
		 * have been missed, it is applied now; rows applied at the
		 * failure (done before it) and certificates that show the
		 * action already are left out, so nothing is audited twice.
		 */
		if (to == RS_REJECTED) {
			if ((e = lc_only_done(db, r->id, &c, 1, r->updated_at,
			    ei)) != RP_OK)
				goto out;
			lc_only_unapplied(r->action, &c);
		}
		if (c.n > 0 &&
		    (e = lc_apply(db, pol, r, &c, actor, now, ei)) != RP_OK)
			goto out;
	}
	if ((e = lc_set_state(db, r, to, 0, outcome, now, ei)) != RP_OK)
		goto out;
	if ((d = json_pack("{s:s, s:s, s:s*}", "from", dom_state_name(from),
	    "to", dom_state_name(to), "outcome", outcome)) == NULL) {
		e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
		goto out;
	}
	e = lc_audit(db, r, actor, dom_state_name(to), d, now, ei);
out:
	json_decref(d);
	free(c.rows);
	return e;
}

/*
 * Moves request public_id to state to for actor (the relay: relayed,
 * completed, failed; an officer: queued again after failed, rejected;
 * the sweep: expired), in one transaction with its audit entry.  A
 * request leaves awaiting_approval for queued only through lc_approve().
 * rejected and failed need an outcome (why); queued again puts its dead
 * outbox rows back; completed applies the action to the certificates,
 * and failed to those the CA confirmed (a token request may fail on one
 * certificate after the CA acted on another); rejected after failed to
 * those the CA confirmed since the failure and not applied yet.
 * Returns RP_OK; RP_ERR_CONFLICT "illegal_transition" when the state
 * machine has no such arrow (nothing changes); RP_ERR_NOT_FOUND;
 * RP_ERR_BAD_INPUT without a needed outcome; a database error.
 */
enum rp_err
lc_transition(struct db *db, const struct policy *pol, const char *public_id,
    enum req_state to, const char *actor, const char *outcome, int64_t now,
    struct rp_errinfo *ei)
{
	struct request	 r;
	enum rp_err	 e;

	if ((e = lc_transition_args(to, actor, outcome, ei)) != RP_OK)
		return e;
	if ((e = lc_begin_get(db, public_id, &r, ei)) != RP_OK)
		return e;
	if ((e = lc_transition_tx(db, pol, &r, to, actor, outcome, now,
	    ei)) != RP_OK) {
		db_rollback(db);
		return e;
	}
	if ((e = db_commit(db)) != RP_OK)
		return rp_fail(ei, e, "db_commit", "cannot store the change");
	return RP_OK;
}

/*
 * lc_transition() inside the caller's write transaction (db_begin()):
 * the relay records a CA's answer, the outbox row and the request's
 * change together.  Nothing is committed or rolled back here; on error
 * the caller rolls back, since the transaction may hold half a change.
 * Same returns as lc_transition().
 */
enum rp_err
lc_transition_in(struct db *db, const struct policy *pol,
    const char *public_id, enum req_state to, const char *actor,
    const char *outcome, int64_t now, struct rp_errinfo *ei)
{
	struct request	 r;
	enum rp_err	 e;

	if ((e = lc_transition_args(to, actor, outcome, ei)) != RP_OK)
		return e;
	if ((e = lc_get(db, public_id, &r)) != RP_OK)
		return rp_fail(ei, e, e == RP_ERR_NOT_FOUND ?
		    "unknown_request" : "db", "no such request");
	return lc_transition_tx(db, pol, &r, to, actor, outcome, now, ei);
}

/*
 * The CA confirmed the action of request public_id for its certificate
 * cert after the request had moved on (failed, or rejected after that):
 * the certificate follows the CA, through lc_apply() with its guard and
 * audit entry, unless its status shows the action already.  Inside the
 * caller's write transaction; nothing is committed or rolled back here.
 * Returns RP_OK (also when the request is open: completing it applies
 * the action), RP_ERR_INTERNAL for a certificate not of the request, or
 * a database error.
 */
enum rp_err
lc_apply_done(struct db *db, const struct policy *pol,
    const char *public_id, int64_t cert, const char *actor, int64_t now,
    struct rp_errinfo *ei)
{
	struct request	 r;
	struct lc_certs	 c = { NULL, 0 };
	size_t		 i;
	enum rp_err	 e;

	if ((e = lc_get(db, public_id, &r)) != RP_OK)
		return rp_fail(ei, e, e == RP_ERR_NOT_FOUND ?
		    "unknown_request" : "db", "no such request");
	if (r.state != RS_FAILED && r.state != RS_REJECTED)
		return RP_OK;
	if ((e = lc_certs_of(db, r.id, &c)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot read certificates");
		goto out;
	}
	for (i = 0; i < c.n; i++)
		if (c.rows[i].id == cert)
			break;
	if (i == c.n) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "db", "the certificate is "
		    "not the request's");
		goto out;
	}
	c.rows[0] = c.rows[i];
	c.n = 1;
	lc_only_unapplied(r.action, &c);
	if (c.n > 0)
		e = lc_apply(db, pol, &r, &c, actor, now, ei);
out:
	free(c.rows);
	return e;
}

/* The sweep works through at most this many items of each kind a run. */
#define LC_SWEEP_BATCH	100u

/*
 * Ends the suspensions past their limit: for each, a system request with
 * the policy's end action (revoke, carrying the reason given for the
 * suspension when the policy allows it, or reactivate).  A certificate
 * that already has such a request open is skipped, by the query and
 * again by lc_create() inside its transaction, so two sweeps at once
 * make one request.
 */
static enum rp_err
lc_sweep_suspensions(struct db *db, const struct policy *pol, int64_t now,
    struct lc_sweep_report *rep, struct rp_errinfo *ei)
{
	struct cert_row		*row = NULL;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 why;
	struct dbq		 q;
	int64_t			 ids[LC_SWEEP_BATCH];
	size_t			 k = 0, i;
	enum rp_err		 e;

	dbq_start(&q, db, DB_SWEEP_SUSPENDED);
	dbq_int(&q, now);
	while (k < LC_SWEEP_BATCH && dbq_step(&q))
		ids[k++] = dbq_col_int(&q, 0);
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read suspensions");
	if (k > 0 && (row = malloc(sizeof(*row))) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	for (i = 0; i < k; i++) {
		if ((e = reg_cert_get(db, ids[i], row)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot read a certificate");
			goto out;
		}
		memset(&n, 0, sizeof(n));
		n.action = pol->suspend_end_action;
		n.issuer = row->issuer;
		n.serial = row->serial;
		n.reason = REASON_UNSPECIFIED;
		if (n.action == ACT_REVOKE &&
		    (pol->reasons_staff & REASON_BIT(row->reason)) != 0)
			n.reason = row->reason;
		n.actor.channel = CH_SYSTEM;
		n.actor.auth = AUTH_STAFF;
		n.actor.name = "system:sweep";
		n.notes = "the suspension reached its limit";
		n.now = now;
		e = lc_create(db, pol, &n, &res, &why);
		if (e == RP_OK) {
			rep->suspensions_ended++;
			rplog(RPLOG_INFO, "sweep_suspension", "serial=%s "
			    "action=%s", row->serial,
			    dom_action_name(n.action));
		} else if (e == RP_ERR_CONFLICT || e == RP_ERR_POLICY ||
		    e == RP_ERR_FORBIDDEN)
			rplog(RPLOG_WARN, "sweep_suspension", "serial=%s "
			    "skipped=%s", row->serial, why.code);
		else {
			(void)rp_fail(ei, e, why.code, "%s", why.msg);
			goto out;
		}
	}
	e = RP_OK;
out:
	free(row);
	return e;
}

/*
 * Expires the requests whose approvals did not all come in time.  One
 * that moved meanwhile (approved, or expired by another sweep) is left.
 */
static enum rp_err
lc_sweep_approvals(struct db *db, const struct policy *pol, int64_t now,
    struct lc_sweep_report *rep, struct rp_errinfo *ei)
{
	struct rp_errinfo	 why;
	struct dbq		 q;
	char			 ids[LC_SWEEP_BATCH][RP_ID_LEN + 1];
	const char		*id;
	size_t			 k = 0, i;
	enum rp_err		 e;

	dbq_start(&q, db, DB_SWEEP_APPROVALS);
	dbq_int(&q, now);
	while (k < LC_SWEEP_BATCH && dbq_step(&q)) {
		id = dbq_col_text(&q, 0);
		if (id == NULL || strlen(id) != RP_ID_LEN) {
			q.err = RP_ERR_INTERNAL;
			break;
		}
		memcpy(ids[k++], id, RP_ID_LEN + 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read approvals");
	for (i = 0; i < k; i++) {
		e = lc_transition(db, pol, ids[i], RS_EXPIRED, "system:sweep",
		    "the approvals did not come in time", now, &why);
		if (e == RP_OK)
			rep->approvals_expired++;
		else if (e != RP_ERR_CONFLICT)
			return rp_fail(ei, e, why.code, "%s", why.msg);
	}
	return RP_OK;
}

/*
 * Counts (and logs) the open requests past their due time.
 */
static enum rp_err
lc_sweep_overdue(struct db *db, int64_t now, struct lc_sweep_report *rep,
    struct rp_errinfo *ei)
{
	struct request	 r;
	struct dbq	 q;
	enum rp_err	 e;

	dbq_start(&q, db, DB_REQ_LIST);
	dbq_null(&q);
	dbq_int(&q, now);
	dbq_int(&q, 1000);
	while (dbq_step(&q)) {
		if (lc_row(&q, &r) == -1) {
			q.err = RP_ERR_INTERNAL;
			break;
		}
		rep->overdue++;
		rplog(RPLOG_WARN, "overdue", "request=%s state=%s "
		    "late_s=%lld", r.public_id, dom_state_name(r.state),
		    (long long)((now - r.due_at) / 1000));
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read requests");
	return RP_OK;
}

/*
 * The minute-by-minute housekeeping: ends suspensions past their limit,
 * expires approvals past their time, counts overdue requests into rep.
 * Idempotent: run twice, or twice at once, it does each thing once.
 * Returns RP_OK or the first error.
 */
enum rp_err
lc_sweep(struct db *db, const struct policy *pol, int64_t now,
    struct lc_sweep_report *rep, struct rp_errinfo *ei)
{
	enum rp_err	 e;

	memset(rep, 0, sizeof(*rep));
	if ((e = lc_sweep_suspensions(db, pol, now, rep, ei)) != RP_OK ||
	    (e = lc_sweep_approvals(db, pol, now, rep, ei)) != RP_OK)
		return e;
	return lc_sweep_overdue(db, now, rep, ei);
}
