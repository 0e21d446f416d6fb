/*
 * A signed request from its challenge to the lifecycle, the same for the
 * API (h_sign.c) and the pages (h_signpage.c).  sf_submit() runs in a
 * fixed order:
 *
 *  1. signed requests must be configured ([signature] anchors_dir):
 *     otherwise 422 not_available, before anything is read;
 *  2. the client's rate limit (pf_rate_kind() "sig", shared with the
 *     issuance of challenges);
 *  3. a repeat of an Idempotency-Key gets the first answer (the nonce
 *     is single-use, so the record is looked up before it);
 *  4. the challenge: known, unused, unexpired, and for this call (an
 *     approve challenge for exactly this request, a login challenge for
 *     a login, an action's challenge for POST /api/v1/requests);
 *  5. sig_verify() (DESIGN §3 steps 1 to 4) against the challenge's
 *     document, rev_check() (step 5);
 *  6. the signer's subject serialNumber mapped to persons.id (0 for a
 *     signer the registry does not know: the lifecycle then finds no
 *     relation, and refuses);
 *  7. lc_create() or lc_approve_tx() (step 6, the who-must-sign rule),
 *     with the challenge marked used (and the idempotency record
 *     written) inside the same transaction; for a login, the signer
 *     must be a legal representative now, and only the challenge is
 *     used.
 *
 * Every refusal of steps 4 and 5 is audited ("signature.refused", its
 * sig_why name, what is known of the signer, the client's address) in
 * its own transaction, and answered 401 with one code and one message,
 * whatever the cause; a signer the lifecycle does not allow is audited
 * as "signature.not_allowed" and answered 403.  When such an audit
 * entry cannot be written the answer is 503: no refusal goes unrecorded.
 * A refusal of the lifecycle (409, 422) leaves the challenge unused, so
 * the same signature may be sent again while it lives.
 *
 * The representative's session after a login is a cookie
 *	<person>.<expiry ms>.<b64url HMAC-SHA256(K, "rep|<person>|<expiry>")>
 * with K = HMAC-SHA256(instance secret, "revportal-rep-session"), a key
 * of its own, so that no other MAC of the portal can stand for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "extern.h"

/* The one answer to every refused signature or challenge. */
#define SF_AUTH_MSG	"The signature could not be verified."

/* The audit actor of refusals: the signer is not authenticated. */
#define SF_ACTOR	"signature"

/* The domain label of the session key (NUL not included). */
#define SF_SESSION_LABEL	"revportal-rep-session"
#define SF_MAC_LEN	32u
#define SF_MAC_B64	43u	/* unpadded base64url of 32 bytes */

/* Longest client address kept in an audit entry. */
#define SF_CLIENT_MAX	64u

#ifdef RP_UNITTEST
static enum sig_why	(*sf_verify_fn)(const void *, size_t, const char *,
			    size_t, struct signer *);

void
sf_test_verify(enum sig_why (*fn)(const void *, size_t, const char *,
    size_t, struct signer *))
{
	sf_verify_fn = fn;
}
#endif

/*
 * Step 5 as this portal knows it: a signer certificate of this TSP's
 * registry that is suspended or revoked here, or whose revocation or
 * suspension is queued or with the CA, is refused as revoked, whatever a
 * (possibly cached, possibly lagging) OCSP answer said.  Otherwise a
 * thief holding a card and PIN could sign a reactivation of the very
 * certificate its holder just suspended.  Returns SIG_OK, SIG_REVOKED,
 * or SIG_INTERNAL when the registry cannot be read.
 */
static enum sig_why
sf_registry_state(struct db *db, const struct signer *s)
{
	struct dbq	 q;
	const char	*st;
	enum sig_why	 w = SIG_OK;

	dbq_start(&q, db, DB_SF_SIGNER_STATE);
	dbq_text(&q, s->sha256);
	if (dbq_step(&q)) {
		st = dbq_col_text(&q, 0);
		if (st == NULL || dom_status_parse(st) != CS_VALID ||
		    dbq_col_int(&q, 1) != 0)
			w = SIG_REVOKED;
	}
	if (dbq_end(&q) != RP_OK)
		return SIG_INTERNAL;
	return w;
}

/*
 * Steps 1 to 5 for signature in against the document of challenge c at
 * now.  Returns SIG_OK with s filled (the caller frees it with
 * sig_signer_free()), else why not, s then holding nothing to free (its
 * text may name the signer).
 */
static enum sig_why
sf_verify(struct req *req, const struct sf_in *in, const struct challenge *c,
    int64_t now, struct signer *s)
{
	enum sig_why	 w;

#ifdef RP_UNITTEST
	if (sf_verify_fn != NULL)
		return sf_verify_fn(in->sig, in->siglen, c->document,
		    c->doclen, s);
#endif
	if ((w = sig_verify(req->sig, in->sig, in->siglen, c->document,
	    c->doclen, now, s)) != SIG_OK)
		return w;
	if ((w = rev_check(req->rev, req->db, s, now)) == SIG_OK)
		w = sf_registry_state(req->db, s);
	if (w != SIG_OK) {
		/* Freed here; the text fields stay for the audit entry. */
		sig_signer_free(s);
	}
	return w;
}

/*
 * Adds key: value to d when value is not empty.  Returns 0, or -1
 * without memory.
 */
static int
sf_set(json_t *d, const char *key, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	return json_object_set_new(d, key, json_string(value));
}

/*
 * Appends, in its own transaction, the audit entry action
 * ("signature.refused", "signature.not_allowed") about challenge id
 * with why, what is known of signer s (may be NULL) and the client's
 * address.  Returns RP_OK; otherwise RP_ERR_UNAVAILABLE (or
 * RP_ERR_NOMEM) with req->err filled, and the caller answers that
 * instead of the refusal.
 */
static enum rp_err
sf_audit(struct req *req, const char *action, const char *id,
    const char *why, const struct signer *s, int64_t now)
{
	struct rp_errinfo	 ei;
	char			 subject[16 + 64], client[SF_CLIENT_MAX + 1];
	json_t			*d;
	enum rp_err		 e;
	int			 n;

	n = snprintf(subject, sizeof(subject), "challenge:%s",
	    id != NULL ? id : "-");
	if (n < 0 || (size_t)n >= sizeof(subject))
		(void)snprintf(subject, sizeof(subject), "challenge:-");
	(void)snprintf(client, sizeof(client), "%s",
	    req->remote_addr != NULL && req->remote_addr[0] != '\0' ?
	    req->remote_addr : "unknown");
	if ((d = json_pack("{s:s, s:s}", "why", why, "client", client)) ==
	    NULL || (s != NULL && (sf_set(d, "signer_sha256", s->sha256) != 0 ||
	    sf_set(d, "signer_person_id", s->person_id) != 0 ||
	    sf_set(d, "signer_issuer", s->issuer) != 0 ||
	    sf_set(d, "signer_serial", s->serial) != 0))) {
		json_decref(d);
		return rp_fail(&req->err, RP_ERR_NOMEM, "nomem",
		    "out of memory");
	}
	if ((e = db_begin(req->db)) == RP_OK) {
		if ((e = audit_append(req->db, now, SF_ACTOR, action, subject,
		    d, &ei)) == RP_OK)
			e = db_commit(req->db);
		else
			db_rollback(req->db);
	}
	json_decref(d);
	rplog(e == RP_OK ? RPLOG_INFO : RPLOG_ERROR, "signature_refused",
	    "action=%s why=%s %s audited=%d", action, why, subject,
	    e == RP_OK);
	if (e != RP_OK)
		return rp_fail(&req->err, RP_ERR_UNAVAILABLE, "db_busy",
		    "The refusal could not be recorded; please try again.");
	return RP_OK;
}

/*
 * The refusal of a signature or challenge for why: audited, then 401
 * with the one message.  Returns RP_ERR_AUTH, or the audit's error.
 */
static enum rp_err
sf_refuse(struct req *req, const char *id, enum sig_why why,
    const struct signer *s, int64_t now, struct sf_out *out)
{
	enum rp_err	 e;

	out->why = why;
	if ((e = sf_audit(req, "signature.refused", id, sig_why_name(why), s,
	    now)) != RP_OK)
		return e;
	/* Our own failure (memory, the database), not the signature's. */
	if (why == SIG_INTERNAL)
		return rp_fail(&req->err, RP_ERR_UNAVAILABLE, "unavailable",
		    "The signature could not be checked just now; please "
		    "try again.");
	return rp_fail(&req->err, RP_ERR_AUTH, "signature_invalid", "%s",
	    SF_AUTH_MSG);
}

/*
 * The refusal of a verified signer who may not act here: audited, then
 * 403.  Returns RP_ERR_FORBIDDEN, or the audit's error.
 */
static enum rp_err
sf_forbid(struct req *req, const char *id, const char *why,
    const struct signer *s, int64_t now)
{
	enum rp_err	 e;

	if ((e = sf_audit(req, "signature.not_allowed", id, why, s, now)) !=
	    RP_OK)
		return e;
	return rp_fail(&req->err, RP_ERR_FORBIDDEN,
	    policy_code_name(POL_NOT_AUTHORISED), "The signer may not make "
	    "this request for this certificate.");
}

/*
 * Returns 1 when challenge c is for the call in (see the file's
 * comment), else 0.
 */
static int
sf_purpose_ok(const struct sf_in *in, const struct challenge *c)
{
	if (in->approve != NULL)
		return strcmp(c->action, "approve") == 0 &&
		    c->request_id[0] != '\0' &&
		    strcmp(c->request_id, in->approve) == 0;
	if (in->login)
		return strcmp(c->action, "login") == 0;
	return dom_action_parse(c->action) != ACT__MAX;
}

/* What the in-transaction hook does: use the challenge, keep the key. */
struct sf_tx {
	int64_t		 chal;
	int64_t		 now;
	struct pf_idem	*idem;
};

/*
 * The in_tx hook of lc_create() and lc_approve_tx(): marks the challenge
 * used and stores the idempotency record, in the request's transaction.
 */
static enum rp_err
sf_in_tx(struct db *db, void *arg, int64_t row, const struct lc_result *res,
    struct rp_errinfo *ei)
{
	struct sf_tx	*tx = arg;
	enum rp_err	 e;

	if ((e = chal_use(db, tx->chal, tx->now, ei)) != RP_OK)
		return e;
	if (tx->idem != NULL)
		return pf_idem_record(db, tx->idem, row, res, ei);
	return RP_OK;
}

/*
 * Reads persons.id of the signer's person_id into *person (0 when the
 * registry does not know them).
 */
static enum rp_err
sf_person(struct db *db, const char *person_id, int64_t *person)
{
	struct dbq	 q;

	*person = 0;
	if (person_id[0] == '\0')
		return RP_OK;
	dbq_start(&q, db, DB_PERSON_GET);
	dbq_text(&q, person_id);
	if (dbq_step(&q))
		*person = dbq_col_int(&q, 0);
	return dbq_end(&q);
}

/*
 * A legal representative's login: person must represent some
 * organisation at now; the challenge is used and the login audited in
 * one transaction.  Returns RP_OK, RP_ERR_FORBIDDEN (audited), or
 * another error with req->err filled (RP_ERR_CONFLICT "nonce_used" when
 * another worker used the challenge first).
 */
static enum rp_err
sf_login(struct req *req, const struct challenge *c, const struct signer *s,
    int64_t person, int64_t now)
{
	struct dbq	 q;
	char		 subject[16 + RP_LABEL_MAX];
	json_t		*d = NULL;
	enum rp_err	 e;
	int		 rep = 0;

	if (person != 0) {
		dbq_start(&q, req->db, DB_SF_REP_ANY);
		dbq_int(&q, person);
		dbq_int(&q, now);
		if (dbq_step(&q))
			rep = 1;
		if ((e = dbq_end(&q)) != RP_OK)
			return rp_fail(&req->err, e, "db", "cannot read the "
			    "registry");
	}
	if (!rep)
		return sf_forbid(req, c->public_id, "not_a_legal_rep", s, now);
	(void)snprintf(subject, sizeof(subject), "person:%s", s->person_id);
	if ((d = json_pack("{s:s, s:s}", "challenge", c->public_id,
	    "signer_sha256", s->sha256)) == NULL)
		return rp_fail(&req->err, RP_ERR_NOMEM, "nomem",
		    "out of memory");
	if ((e = db_begin(req->db)) != RP_OK) {
		json_decref(d);
		return rp_fail(&req->err, e, "db_busy", "the database is busy");
	}
	if ((e = chal_use(req->db, c->id, now, &req->err)) != RP_OK ||
	    (e = audit_append(req->db, now, SF_ACTOR, "rep.login", subject, d,
	    &req->err)) != RP_OK)
		db_rollback(req->db);
	else if ((e = db_commit(req->db)) != RP_OK)
		(void)rp_fail(&req->err, e, "db_commit", "cannot record the "
		    "login");
	json_decref(d);
	return e;
}

/*
 * Fills out from the idempotency record found for in->idem: the request
 * made first, its state then and what it needs now.
 */
static enum rp_err
sf_replay(struct req *req, const struct pf_idem_hit *hit, struct sf_out *out)
{
	struct request	 r;
	enum rp_err	 e;

	out->replay = 1;
	out->why = SIG_OK;
	memcpy(out->lc.public_id, hit->public_id, sizeof(out->lc.public_id));
	out->lc.state = hit->state;
	if ((e = lc_get(req->db, hit->public_id, &r)) != RP_OK)
		return rp_fail(&req->err, e == RP_ERR_NOT_FOUND ?
		    RP_ERR_INTERNAL : e, "db", "cannot read the request");
	/* Who still has to sign, if the first answer waited for anyone. */
	out->lc.need = hit->state == RS_AWAITING_APPROVAL ? r.need : 0;
	return RP_OK;
}

/*
 * Verifies and acts: see extern.h and the comment at the top.  req->err
 * says why on every error; req->retry_after is set for RP_ERR_RATE.
 */
enum rp_err
sf_submit(struct req *req, const struct sf_in *in, struct sf_out *out)
{
	const struct config	*cfg = req->cfg;
	struct challenge	 c;
	struct signer		 s;
	struct pf_idem_hit	 hit;
	struct rp_errinfo	 again;
	struct sf_tx		 tx;
	struct lc_new		 n;
	struct lc_actor		 a;
	char			 actor[16 + RP_LABEL_MAX];
	unsigned int		 retry = 0;
	int64_t			 now = rp_now_ms();
	enum sig_why		 why;
	enum rp_err		 e;
	int			 found = 0, have_signer = 0;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	out->why = SIG_INTERNAL;
	if (req->sig == NULL)
		return rp_fail(&req->err, RP_ERR_POLICY, "not_available",
		    "Signed requests are not available on this portal.");
	if (in->challenge_id == NULL || in->sig == NULL ||
	    (in->approve != NULL && in->login))
		return rp_fail(&req->err, RP_ERR_INTERNAL, "bad_call",
		    "a signed request without its challenge or signature");
	if ((e = pf_rate_kind(req->db, cfg, "sig", req->remote_addr, now,
	    &retry, &req->err)) != RP_OK) {
		if (e == RP_ERR_RATE)
			req->retry_after = retry > 0 ? retry : 1;
		return e;
	}
	if (in->idem != NULL) {
		if ((e = pf_idem_find(req->db, in->idem, &hit, &found,
		    &req->err)) != RP_OK)
			return e;
		if (found)
			return sf_replay(req, &hit, out);
	}

	e = chal_get(req->db, in->challenge_id, &c);
	if (e == RP_ERR_NOT_FOUND)
		why = SIG_CHALLENGE_UNKNOWN;
	else if (e != RP_OK) {
		(void)rp_fail(&req->err, e, "db", "cannot read the challenge");
		goto out;
	} else if (c.used_at != 0)
		why = SIG_NONCE_USED;
	else if (now >= c.expires_at)
		why = SIG_NONCE_EXPIRED;
	else if (!sf_purpose_ok(in, &c))
		why = SIG_WRONG_PURPOSE;
	else if ((why = sf_verify(req, in, &c, now, &s)) == SIG_OK)
		have_signer = 1;
	if (why != SIG_OK) {
		e = sf_refuse(req, in->challenge_id, why, &s, now, out);
		goto out;
	}
	out->why = SIG_OK;
	memcpy(out->person_id, s.person_id, sizeof(out->person_id));
	if ((e = sf_person(req->db, s.person_id, &out->person)) != RP_OK) {
		(void)rp_fail(&req->err, e, "db", "cannot read the registry");
		goto out;
	}

	if (in->login) {
		e = sf_login(req, &c, &s, out->person, now);
		goto lost;
	}
	(void)snprintf(actor, sizeof(actor), "person:%s", s.person_id);
	memset(&a, 0, sizeof(a));
	a.channel = in->channel == CH_API ? CH_API : CH_WEB;
	a.auth = AUTH_SIGNATURE;
	a.name = actor;
	a.person = out->person;
	a.signature = in->sig;
	a.siglen = in->siglen;
	a.signer_sha256 = s.sha256;
	memset(&tx, 0, sizeof(tx));
	tx.chal = c.id;
	tx.now = now;
	tx.idem = in->idem;
	if (in->approve != NULL) {
		/* An unregistered signer represents nobody. */
		if (out->person == 0) {
			e = sf_forbid(req, c.public_id, "unknown_person", &s,
			    now);
			goto out;
		}
		e = lc_approve_tx(req->db, &cfg->policy, c.request_id, &a, now,
		    sf_in_tx, &tx, &out->lc, &req->err);
	} else {
		memset(&n, 0, sizeof(n));
		n.action = dom_action_parse(c.action);
		if (c.token_label[0] != '\0')
			n.token = c.token_label;
		else {
			n.issuer = c.issuer;
			n.serial = c.serial;
		}
		n.reason = c.reason;
		n.actor = a;
		n.csr_pem = c.csr_pem;
		n.now = now;
		n.in_tx = sf_in_tx;
		n.in_tx_arg = &tx;
		e = lc_create(req->db, &cfg->policy, &n, &out->lc, &req->err);
	}
	if (e == RP_OK) {
		rplog(RPLOG_INFO, "signed_request", "challenge=%s request=%s "
		    "state=%s", c.public_id, out->lc.public_id,
		    dom_state_name(out->lc.state));
		if (out->lc.state == RS_QUEUED)
			relay_nudge(cfg->relay_socket);
		goto out;
	}
	/* A twin of this call (the same key) may have won the race. */
	if (in->idem != NULL && pf_idem_find(req->db, in->idem, &hit, &found,
	    &again) == RP_OK && found) {
		e = sf_replay(req, &hit, out);
		goto out;
	}
	if (e == RP_ERR_FORBIDDEN) {
		e = sf_forbid(req, c.public_id, req->err.code != NULL ?
		    req->err.code : "not_authorised", &s, now);
		goto out;
	}
lost:
	/* Another worker used the challenge between the check and now. */
	if (e == RP_ERR_CONFLICT && req->err.code != NULL &&
	    strcmp(req->err.code, "nonce_used") == 0)
		e = sf_refuse(req, c.public_id, SIG_NONCE_USED, &s, now, out);
out:
	if (have_signer)
		sig_signer_free(&s);
	chal_free(&c);
	return e;
}

/* Issues the challenge of a POST /api/v1/challenges or an HTML form. */
enum rp_err
sf_challenge(struct req *req, const struct chal_new *n,
    struct challenge *out)
{
	unsigned int	 retry = 0;
	enum rp_err	 e;

	memset(out, 0, sizeof(*out));
	if (req->sig == NULL)
		return rp_fail(&req->err, RP_ERR_POLICY, "not_available",
		    "Signed requests are not available on this portal.");
	if ((e = pf_rate_kind(req->db, req->cfg, "sig", req->remote_addr,
	    n->now, &retry, &req->err)) != RP_OK) {
		if (e == RP_ERR_RATE)
			req->retry_after = retry > 0 ? retry : 1;
		return e;
	}
	return chal_issue(req->db, req->cfg, n, out, &req->err);
}

/*
 * Fills idem for a signed call: see extern.h.  Returns RP_OK,
 * RP_ERR_BAD_INPUT for a bad key, RP_ERR_INTERNAL for a bad call or an
 * OpenSSL failure.
 */
enum rp_err
sf_idem_init(struct pf_idem *idem, const char *challenge_id, const void *sig,
    size_t siglen, const char *key, int64_t now, struct rp_errinfo *ei)
{
	static const char	 hex[] = "0123456789abcdef";
	static const char	 label[] = "revportal-signed-idempotency/1";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	EVP_MD_CTX		*ctx = NULL;
	size_t			 i, len;
	enum rp_err		 e = RP_ERR_INTERNAL;
	int			 n;

	memset(idem, 0, sizeof(idem[0]));
	if (challenge_id == NULL || sig == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "an idempotency record without its challenge");
	len = key != NULL ? strnlen(key, PF_IDEM_KEY_MAX + 1) : 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)key[i] <= 0x20 ||
		    (unsigned char)key[i] >= 0x7f)
			break;
	if (len == 0 || len > PF_IDEM_KEY_MAX || i != len)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_idempotency_key",
		    "An Idempotency-Key is 1 to %u visible ASCII characters.",
		    PF_IDEM_KEY_MAX);
	memcpy(idem->kind, "sig", sizeof("sig"));
	memcpy(idem->raw, key, len);
	idem->raw[len] = '\0';
	idem->now = now;
	n = snprintf(idem->key, sizeof(idem->key), "sig:%s:%s", challenge_id,
	    idem->raw);
	if (n < 0 || (size_t)n >= sizeof(idem->key)) {
		(void)rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "idempotency key too long");
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, label, sizeof(label)) != 1 ||
	    EVP_DigestUpdate(ctx, challenge_id, strlen(challenge_id) + 1) !=
	    1 || (siglen > 0 && EVP_DigestUpdate(ctx, sig, siglen) != 1) ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		(void)rp_fail(ei, RP_ERR_INTERNAL, "digest", "SHA-256 failed");
		goto out;
	}
	for (i = 0; i < mdlen; i++) {
		idem->fingerprint[2 * i] = hex[md[i] >> 4];
		idem->fingerprint[2 * i + 1] = hex[md[i] & 0x0f];
	}
	idem->fingerprint[2 * mdlen] = '\0';
	e = RP_OK;
out:
	EVP_MD_CTX_free(ctx);
	if (e != RP_OK)
		memset(idem, 0, sizeof(idem[0]));
	return e;
}

/*
 * The session key: HMAC-SHA256 of the label under the instance secret.
 * Returns RP_OK or RP_ERR_INTERNAL.
 */
static enum rp_err
sf_session_key(const unsigned char *secret, unsigned char key[SF_MAC_LEN])
{
	unsigned int	 len = 0;

	if (HMAC(EVP_sha256(), secret, RP_SECRET_LEN,
	    (const unsigned char *)SF_SESSION_LABEL,
	    sizeof(SF_SESSION_LABEL) - 1, key, &len) == NULL ||
	    len != SF_MAC_LEN)
		return RP_ERR_INTERNAL;
	return RP_OK;
}

/*
 * The MAC of person and expiry, as base64url, into out (SF_MAC_B64 + 1
 * bytes).  Returns RP_OK or RP_ERR_INTERNAL.
 */
static enum rp_err
sf_session_mac(const unsigned char *secret, int64_t person, int64_t expiry,
    char out[SF_MAC_B64 + 1])
{
	unsigned char	 key[SF_MAC_LEN], mac[SF_MAC_LEN];
	char		 msg[64];
	unsigned int	 len = 0;
	enum rp_err	 e = RP_ERR_INTERNAL;
	int		 n;

	n = snprintf(msg, sizeof(msg), "rep|%lld|%lld", (long long)person,
	    (long long)expiry);
	if (n > 0 && (size_t)n < sizeof(msg) &&
	    sf_session_key(secret, key) == RP_OK &&
	    HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)msg,
	    (size_t)n, mac, &len) != NULL && len == SF_MAC_LEN &&
	    rp_b64url_encode(mac, sizeof(mac), out, SF_MAC_B64 + 1) ==
	    SF_MAC_B64)
		e = RP_OK;
	explicit_bzero(key, sizeof(key));
	explicit_bzero(mac, sizeof(mac));
	return e;
}

/*
 * Writes the session cookie of person (persons.id, > 0), valid from now
 * (ms) for RP_REP_SESSION_MS, into out.  Returns RP_OK; RP_ERR_INTERNAL
 * for a bad person, a small out or a MAC failure (out then "").
 */
enum rp_err
sf_session_make(const unsigned char *secret, int64_t person, int64_t now,
    char *out, size_t outsz)
{
	char	 mac[SF_MAC_B64 + 1];
	int	 n;

	if (outsz > 0)
		out[0] = '\0';
	if (person <= 0 || now < 0 || now > INT64_MAX - RP_REP_SESSION_MS ||
	    sf_session_mac(secret, person, now + RP_REP_SESSION_MS, mac) !=
	    RP_OK)
		return RP_ERR_INTERNAL;
	n = snprintf(out, outsz, "%lld.%lld.%s", (long long)person,
	    (long long)(now + RP_REP_SESSION_MS), mac);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return RP_ERR_INTERNAL;
	}
	return RP_OK;
}

/*
 * Reads a positive decimal without sign or leading zero, of 1 to 18
 * digits, from *p up to the byte stop; advances *p past stop.  Returns
 * the value, or -1 when there is none.
 */
static int64_t
sf_number(const char **p, char stop)
{
	const char	*s = *p;
	int64_t		 v = 0;
	size_t		 i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 18)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || s[i] != stop || (s[0] == '0'))
		return -1;
	*p = s + i + 1;
	return v;
}

/*
 * Returns persons.id of a valid session cookie at now (ms): well-formed,
 * its MAC right (compared in constant time), not expired and not
 * further in the future than a session lasts; else 0.
 */
int64_t
sf_session_check(const unsigned char *secret, const char *cookie,
    int64_t now)
{
	const char	*p = cookie;
	char		 mac[SF_MAC_B64 + 1];
	int64_t		 person, expiry;

	if (cookie == NULL || strnlen(cookie, 128) >= 128 ||
	    (person = sf_number(&p, '.')) <= 0 ||
	    (expiry = sf_number(&p, '.')) <= 0 ||
	    strlen(p) != SF_MAC_B64 ||
	    sf_session_mac(secret, person, expiry, mac) != RP_OK)
		return 0;
	if (!rp_ct_equal(mac, p, SF_MAC_B64))
		return 0;
	if (now >= expiry || expiry - now > RP_REP_SESSION_MS)
		return 0;
	return person;
}
