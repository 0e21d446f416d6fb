/*
 * Request documents (DESIGN §3) and their single-use nonces.
 *
 * A challenge is what the portal asks a signer to sign: the document,
 * stored with its target (a certificate, every certificate of a token,
 * a request awaiting approval, or nobody for a legal representative's
 * login), a nonce of 128 random bits, and a life of RP_CHAL_TTL_MS.  The
 * document is
 *
 *	revportal-request/1
 *	action: <revoke|suspend|reactivate|recover|approve|login>
 *	issuer: <the certificate's issuer DN as stored, or ->
 *	serial: <canonical hex, or ->
 *	token: <label>			(a token request only)
 *	reason: <RFC 5280 name, or ->
 *	request: <public id of the approved request, or ->
 *	csr-sha256: <hex>		(a recovery only)
 *	nonce: <32 hex digits>
 *	issued-at: <YYYY-MM-DDTHH:MM:SSZ>
 *	portal: <[site] portal_url>
 *
 * in UTF-8 with LF line ends and one final LF.  No value may hold a
 * control character, so that no target can add a line of its own.
 *
 * Serial numbers are public (every CRL and every signed document lists
 * them), so an unknown certificate is answered as such (404
 * unknown_certificate) rather than hidden like the passphrase flow hides
 * it; the caller rate-limits issuance per client instead.  For the same
 * reason a reactivation of a certificate that is not suspended is
 * refused at once (409 wrong_status): CRLs and OCSP tell anyone its
 * status, and the signer is spared a card operation that could never
 * succeed.  Everything else the policy decides only after the signature
 * authenticated the signer (signflow.c): no policy answers to strangers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "extern.h"

#define CHAL_NONCE_BYTES	16u	/* 128 bits */

/*
 * Returns 1 when s may stand as a value in a document line: 1 to max-1
 * bytes, none of them a C0 control or DEL (UTF-8 beyond ASCII passes;
 * the registry checked it when the value was stored), else 0.
 */
static int
chal_value_ok(const char *s, size_t max)
{
	size_t	 i, len;

	if (s == NULL || (len = strnlen(s, max)) == 0 || len >= max)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Writes ms as the document's issued-at, "2026-11-21T22:40:50Z" (the
 * second, rounded down).  Returns RP_OK or RP_ERR_INTERNAL for a time
 * gmtime cannot take.
 */
static enum rp_err
chal_time(int64_t ms, char out[32])
{
	struct tm	 tm;
	time_t		 t;

	if (ms < 0)
		return RP_ERR_INTERNAL;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return RP_ERR_INTERNAL;
	return RP_OK;
}

/* What a document says, filled by chal_issue() from the registry. */
struct chal_doc {
	const char	*action;	/* the word */
	const char	*issuer;	/* NULL: "-" */
	const char	*serial;	/* NULL: "-" */
	const char	*token;		/* NULL: no token line */
	const char	*reason;	/* NULL: "-" */
	const char	*request;	/* NULL: "-" */
	const char	*csr_sha256;	/* NULL: no csr-sha256 line */
	char		 nonce[2 * CHAL_NONCE_BYTES + 1];
	char		 issued[32];
	const char	*portal;
};

/*
 * Writes document d into b (empty, with its limit RP_DOC_MAX).  Returns
 * RP_OK; RP_ERR_INTERNAL for a value that cannot stand in a line;
 * RP_ERR_NOMEM over the limit.
 */
static enum rp_err
chal_document(const struct chal_doc *d, struct buf *b)
{
	const char *const	 v[] = { d->issuer, d->serial, d->token,
				    d->reason, d->request, d->csr_sha256,
				    d->portal };
	size_t			 i;
	enum rp_err		 e;

	if (!chal_value_ok(d->action, 16) ||
	    strlen(d->nonce) != 2 * CHAL_NONCE_BYTES ||
	    !chal_value_ok(d->issued, sizeof(d->issued)) ||
	    d->portal == NULL)
		return RP_ERR_INTERNAL;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] != NULL && !chal_value_ok(v[i], RP_DN_MAX))
			return RP_ERR_INTERNAL;
	if ((e = buf_addf(b, "revportal-request/1\naction: %s\nissuer: %s\n"
	    "serial: %s\n", d->action, d->issuer != NULL ? d->issuer : "-",
	    d->serial != NULL ? d->serial : "-")) != RP_OK)
		return e;
	if (d->token != NULL && (e = buf_addf(b, "token: %s\n", d->token)) !=
	    RP_OK)
		return e;
	if ((e = buf_addf(b, "reason: %s\nrequest: %s\n",
	    d->reason != NULL ? d->reason : "-",
	    d->request != NULL ? d->request : "-")) != RP_OK)
		return e;
	/*
	 * The recovery's new key: without its hash in the signed text, a
	 * document signed for one CSR could be submitted again (stolen,
	 * or replayed by whoever saw it) with another key of the thief's.
	 */
	if (d->csr_sha256 != NULL && (e = buf_addf(b, "csr-sha256: %s\n",
	    d->csr_sha256)) != RP_OK)
		return e;
	return buf_addf(b, "nonce: %s\nissued-at: %s\nportal: %s\n",
	    d->nonce, d->issued, d->portal);
}

/* Fills d->nonce with CHAL_NONCE_BYTES random bytes as lower-case hex. */
static enum rp_err
chal_nonce(struct chal_doc *d)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 r[CHAL_NONCE_BYTES];
	size_t			 i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return RP_ERR_INTERNAL;
	for (i = 0; i < sizeof(r); i++) {
		d->nonce[2 * i] = hex[r[i] >> 4];
		d->nonce[2 * i + 1] = hex[r[i] & 0x0f];
	}
	d->nonce[2 * sizeof(r)] = '\0';
	return RP_OK;
}

/*
 * Reads the PEM of certificate row id into a new string *pem (the
 * caller frees it).  Returns RP_OK, RP_ERR_NOT_FOUND or a database
 * error.
 */
static enum rp_err
chal_cert_pem(struct db *db, int64_t id, char **pem)
{
	struct dbq	 q;
	const char	*p;
	enum rp_err	 e = RP_ERR_NOT_FOUND;

	*pem = NULL;
	dbq_start(&q, db, DB_CERT_EXPORT);
	dbq_int(&q, id);
	if (dbq_step(&q)) {
		e = RP_OK;
		if ((p = dbq_col_text(&q, 1)) == NULL)
			e = RP_ERR_INTERNAL;
		else if ((*pem = rp_strndup(p, strlen(p))) == NULL)
			e = RP_ERR_NOMEM;
	}
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK) {
		free(*pem);
		*pem = NULL;
	}
	return e;
}

/*
 * Checks that n asks for exactly one kind of target: a certificate or a
 * token for an action, a request id for approve, nothing for login; a
 * CSR for a recovery of one certificate and for nothing else.
 */
static enum rp_err
chal_check_new(const struct chal_new *n, struct rp_errinfo *ei)
{
	int	 has_serial = n->serial != NULL, has_token = n->token != NULL;

	if (n->approve && n->login)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "a challenge for two purposes");
	if (n->login) {
		if (has_serial || has_token || n->request_id != NULL ||
		    n->csr_pem != NULL)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "login_alone",
			    "A login document names no certificate, token or "
			    "request.");
		return RP_OK;
	}
	if (n->approve) {
		if (n->request_id == NULL)
			return rp_fail(ei, RP_ERR_BAD_INPUT,
			    "request_id_required", "Say which request to "
			    "approve (request_id).");
		if (has_serial || has_token || n->csr_pem != NULL)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "approve_alone",
			    "An approval names the request only, not a "
			    "certificate, token or CSR.");
		return RP_OK;
	}
	if ((unsigned int)n->action >= ACT__MAX)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_action",
		    "The action must be revoke, suspend, reactivate, recover, "
		    "approve or login.");
	if (has_serial == has_token)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "serial_or_token",
		    "Give either a serial number or a token label.");
	if (n->request_id != NULL)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "unexpected_request_id",
		    "A request id goes with an approval only.");
	if (dom_reason_name(n->reason) == NULL)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_reason",
		    "The reason is not one of the offered ones.");
	if (n->action == ACT_RECOVER) {
		if (has_token)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "recover_one",
			    "A recovery names one certificate by its serial "
			    "number.");
		if (n->csr_pem == NULL)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "csr_required",
			    "A recovery needs the certificate request (CSR) "
			    "of the new key.");
	} else if (n->csr_pem != NULL)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "unexpected_csr",
		    "A certificate request goes with a recovery only.");
	return RP_OK;
}

/*
 * Finds the target of n inside the caller's transaction and fills d and
 * out (certificate, token, request, reason; the strings d points to live
 * in out).  *csr_sha gets the CSR's hash for a recovery.
 */
static enum rp_err
chal_target(struct db *db, const struct chal_new *n, struct chal_doc *d,
    struct challenge *out, char csr_sha[65], struct rp_errinfo *ei)
{
	struct cert_row	*rows = NULL;
	struct request	 r;
	char		*pem = NULL;
	size_t		 cnt = 0;
	enum rp_err	 e = RP_OK;

	if (n->login) {
		d->action = "login";
		return RP_OK;
	}
	if ((rows = calloc(RP_TOKEN_CERTS_MAX, sizeof(*rows))) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	if (n->approve) {
		d->action = "approve";
		if (strlen(n->request_id) != RP_ID_LEN ||
		    (e = lc_get(db, n->request_id, &r)) == RP_ERR_NOT_FOUND) {
			e = rp_fail(ei, RP_ERR_NOT_FOUND, "unknown_request",
			    "There is no request with this id.");
			goto out;
		}
		if (e != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot read the request");
			goto out;
		}
		if (r.state != RS_AWAITING_APPROVAL) {
			e = rp_fail(ei, RP_ERR_CONFLICT, "wrong_state",
			    "The request is %s: it awaits no approval.",
			    dom_state_name(r.state));
			goto out;
		}
		if ((e = reg_request_certs(db, r.id, rows, RP_TOKEN_CERTS_MAX,
		    &cnt)) != RP_OK || cnt == 0) {
			e = rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
			    "cannot read the request's certificates");
			goto out;
		}
		out->request = r.id;
		out->certificate = rows[0].id;
		out->reason = r.reason;
		memcpy(out->request_id, r.public_id, sizeof(out->request_id));
		memcpy(out->issuer, rows[0].issuer, sizeof(out->issuer));
		memcpy(out->serial, rows[0].serial, sizeof(out->serial));
		d->issuer = out->issuer;
		d->serial = out->serial;
		d->reason = dom_reason_name(r.reason);
		d->request = out->request_id;
		goto out;
	}

	d->action = dom_action_name(n->action);
	d->reason = dom_reason_name(n->reason);
	out->reason = n->reason;
	if (n->token != NULL) {
		if ((e = reg_token_certs(db, n->token, rows,
		    RP_TOKEN_CERTS_MAX, &cnt, ei)) != RP_OK)
			goto out;
		if (cnt == 0 || strlen(n->token) >= sizeof(out->token_label)) {
			e = rp_fail(ei, RP_ERR_NOT_FOUND, "unknown_token",
			    "There is no card or token with this label.");
			goto out;
		}
		out->token = rows[0].token;
		memcpy(out->token_label, n->token, strlen(n->token) + 1);
		d->token = out->token_label;
		goto out;
	}
	if ((e = reg_cert_find(db, n->issuer, n->serial, &rows[0], ei)) !=
	    RP_OK)
		goto out;
	out->certificate = rows[0].id;
	memcpy(out->issuer, rows[0].issuer, sizeof(out->issuer));
	memcpy(out->serial, rows[0].serial, sizeof(out->serial));
	d->issuer = out->issuer;
	d->serial = out->serial;
	if (n->action == ACT_REACTIVATE && rows[0].status != CS_SUSPENDED) {
		e = rp_fail(ei, RP_ERR_CONFLICT, "wrong_status",
		    "Only a suspended certificate can be reactivated.");
		goto out;
	}
	if (n->action == ACT_RECOVER) {
		if ((e = chal_cert_pem(db, rows[0].id, &pem)) != RP_OK) {
			(void)rp_fail(ei, e, "db", "cannot read the "
			    "certificate");
			goto out;
		}
		if ((e = csr_check(n->csr_pem, strlen(n->csr_pem), pem,
		    csr_sha, ei)) != RP_OK)
			goto out;
		if (strlen(csr_sha) != 64) {
			e = rp_fail(ei, RP_ERR_INTERNAL, "csr_hash",
			    "the CSR check gave no hash");
			goto out;
		}
		d->csr_sha256 = csr_sha;
	}
out:
	free(pem);
	free(rows);
	return e;
}

/*
 * Issues the challenge n asks for (see extern.h and the comment at the
 * top): in one write transaction, the target is found, the document
 * written and the challenge stored.  Returns RP_OK with out filled (the
 * caller frees it with chal_free()); otherwise an error with ei filled
 * and out empty.
 */
enum rp_err
chal_issue(struct db *db, const struct config *cfg, const struct chal_new *n,
    struct challenge *out, struct rp_errinfo *ei)
{
	struct chal_doc	 d;
	struct buf	 b;
	struct dbq	 q;
	char		 csr_sha[65];
	enum rp_err	 e;
	int		 intx = 0;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	buf_init(&b, RP_DOC_MAX);
	csr_sha[0] = '\0';
	if ((e = chal_check_new(n, ei)) != RP_OK)
		return e;
	if (cfg->portal_url[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "no_portal_url",
		    "[site] portal_url is not set");
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	intx = 1;
	if ((e = chal_target(db, n, &d, out, csr_sha, ei)) != RP_OK)
		goto out;
	d.portal = cfg->portal_url;
	if ((e = chal_nonce(&d)) != RP_OK ||
	    (e = rp_random_id(out->public_id)) != RP_OK) {
		(void)rp_fail(ei, e, "random", "no random numbers");
		goto out;
	}
	if ((e = chal_time(n->now, d.issued)) != RP_OK) {
		(void)rp_fail(ei, e, "clock", "no time for the document");
		goto out;
	}
	if (chal_document(&d, &b) != RP_OK) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "document",
		    "the document cannot be written");
		goto out;
	}
	out->issued_at = n->now;
	out->expires_at = n->now + RP_CHAL_TTL_MS;
	/* d.action is a fixed word of at most 10 characters. */
	memcpy(out->action, d.action, strlen(d.action) + 1);
	/* chal_check_new() let a CSR through for a recovery only. */
	if ((n->csr_pem != NULL && (out->csr_pem = rp_strndup(n->csr_pem,
	    strlen(n->csr_pem))) == NULL) ||
	    (out->document = rp_strndup(b.p, b.len)) == NULL) {
		e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
		goto out;
	}
	out->doclen = b.len;

	dbq_start(&q, db, DB_CHAL_ADD);
	dbq_text(&q, out->public_id);
	dbq_text(&q, d.nonce);
	dbq_text(&q, out->action);
	if (out->certificate != 0)
		dbq_int(&q, out->certificate);
	else
		dbq_null(&q);
	if (out->token != 0)
		dbq_int(&q, out->token);
	else
		dbq_null(&q);
	if (out->request != 0)
		dbq_int(&q, out->request);
	else
		dbq_null(&q);
	dbq_text(&q, n->login ? NULL : dom_reason_name(out->reason));
	dbq_text(&q, out->document);
	dbq_int(&q, out->issued_at);
	dbq_int(&q, out->expires_at);
	dbq_text(&q, out->csr_pem);
	if ((e = dbq_exec(&q, NULL)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot store the challenge");
		goto out;
	}
	out->id = db_last_id(db);
	intx = 0;
	if ((e = db_commit(db)) != RP_OK)
		(void)rp_fail(ei, e, "db_commit", "cannot store the challenge");
out:
	if (intx)
		db_rollback(db);
	buf_free(&b);
	if (e != RP_OK)
		chal_free(out);
	return e;
}

/*
 * Copies column col of q (text or NULL) into out of outsz bytes; a value
 * too long is a damaged row (RP_ERR_INTERNAL in q).
 */
static void
chal_col(struct dbq *q, int col, char *out, size_t outsz)
{
	const char	*s = dbq_col_text(q, col);
	size_t		 len;

	out[0] = '\0';
	if (s == NULL)
		return;
	if ((len = strlen(s)) >= outsz) {
		q->err = RP_ERR_INTERNAL;
		return;
	}
	memcpy(out, s, len + 1);
}

/*
 * Reads challenge public_id into out, whatever its state.  Returns
 * RP_OK (free out with chal_free()), RP_ERR_NOT_FOUND for an id that is
 * malformed or unknown, or a database error (out empty).
 */
enum rp_err
chal_get(struct db *db, const char *public_id, struct challenge *out)
{
	struct dbq	 q;
	const char	*doc, *csr, *rs;
	enum rp_err	 e = RP_ERR_NOT_FOUND;

	memset(out, 0, sizeof(*out));
	if (public_id == NULL || strnlen(public_id, RP_ID_LEN + 1) !=
	    RP_ID_LEN)
		return RP_ERR_NOT_FOUND;
	dbq_start(&q, db, DB_CHAL_GET);
	dbq_text(&q, public_id);
	if (dbq_step(&q)) {
		e = RP_OK;
		out->id = dbq_col_int(&q, 0);
		chal_col(&q, 1, out->public_id, sizeof(out->public_id));
		chal_col(&q, 2, out->action, sizeof(out->action));
		out->certificate = dbq_col_int(&q, 3);
		out->token = dbq_col_int(&q, 4);
		out->request = dbq_col_int(&q, 5);
		rs = dbq_col_text(&q, 6);
		out->reason = rs != NULL ? dom_reason_parse(rs) :
		    REASON_UNSPECIFIED;
		doc = dbq_col_text(&q, 7);
		out->doclen = dbq_col_bytes(&q, 7);
		out->issued_at = dbq_col_int(&q, 8);
		out->expires_at = dbq_col_int(&q, 9);
		out->used_at = dbq_col_int(&q, 10);
		csr = dbq_col_text(&q, 11);
		chal_col(&q, 12, out->issuer, sizeof(out->issuer));
		chal_col(&q, 13, out->serial, sizeof(out->serial));
		chal_col(&q, 14, out->token_label, sizeof(out->token_label));
		chal_col(&q, 15, out->request_id, sizeof(out->request_id));
		if (doc == NULL || out->doclen == 0 ||
		    out->doclen > RP_DOC_MAX || out->reason == REASON__MAX)
			e = RP_ERR_INTERNAL;
		else if ((out->document = rp_strndup(doc, out->doclen)) ==
		    NULL || (csr != NULL &&
		    (out->csr_pem = rp_strndup(csr, strlen(csr))) == NULL))
			e = RP_ERR_NOMEM;
	}
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK)
		chal_free(out);
	return e;
}

/*
 * Marks challenge id used at now, inside the caller's write transaction.
 * Returns RP_OK; RP_ERR_CONFLICT ("nonce_used") when it was used already
 * (another worker won the race); a database error.
 */
enum rp_err
chal_use(struct db *db, int64_t id, int64_t now, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 n = 0;

	/*
	 * The expiry again, at the time of use: the revocation checks
	 * between the first look and now may have taken seconds.
	 */
	dbq_start(&q, db, DB_CHAL_USE);
	dbq_int(&q, now);
	dbq_int(&q, id);
	dbq_int(&q, rp_now_ms());
	if ((e = dbq_exec(&q, &n)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot use the challenge");
	if (n != 1)
		return rp_fail(ei, RP_ERR_CONFLICT, "nonce_used",
		    "the challenge was used already or has expired");
	return RP_OK;
}

void
chal_free(struct challenge *c)
{
	if (c == NULL)
		return;
	free(c->document);
	free(c->csr_pem);
	c->document = c->csr_pem = NULL;
}
