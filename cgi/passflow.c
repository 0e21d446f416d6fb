/*
 * What the subscriber pages, the API and the hotline console share about
 * revocation passphrases:
 *
 *  - pf_check(): the passphrase of a certificate (its own, else its
 *    token's) or of a token, with the lockout of DESIGN §2.  Unknown
 *    targets, targets without a passphrase and wrong passphrases get one
 *    answer after Argon2id work of the same cost.  The Argon2id work runs
 *    outside any transaction; the count, re-read inside one short write
 *    transaction, commits with its audit entry.
 *  - pf_rate(): fixed windows of attempts per client address in table
 *    rate_limits, shared by every worker; pf_sweep() drops ended ones.
 *  - pf_idem_*(): the idempotency record of a POST that made a request,
 *    written by lc_create()'s in-transaction hook with the request.
 *
 * Nothing here ever logs, audits or stores a passphrase, not even its
 * length.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "extern.h"

/* The one answer to an unknown target and a wrong passphrase. */
#define PF_AUTH_MSG	"The serial number or the passphrase is not right."

/* Longest client address kept in a rate-limit key (IPv6 is 45). */
#define PF_CLIENT_MAX	64u

/* A passphrase row as read before and inside the check. */
struct pf_row {
	int		 have;		/* a row exists */
	int64_t		 id;
	int64_t		 failures;
	int		 locked;
	int		 scope_token;	/* the token's passphrase */
	char		 hash[RP_PASS_HASH_MAX];	/* "": damaged */
};

/* The answer to an unknown target or a wrong passphrase. */
static enum rp_err
pf_auth_failed(struct rp_errinfo *ei)
{
	return rp_fail(ei, RP_ERR_AUTH, "auth_failed", "%s", PF_AUTH_MSG);
}

/* The answer to a locked passphrase: what to do instead. */
static enum rp_err
pf_locked(const struct config *cfg, struct rp_errinfo *ei)
{
	if (cfg->hotline[0] == '\0')
		return rp_fail(ei, RP_ERR_LOCKED, "passphrase_locked",
		    "The passphrase is locked. Please send a request signed "
		    "with your qualified signature or visit the registration "
		    "office.");
	return rp_fail(ei, RP_ERR_LOCKED, "passphrase_locked",
	    "The passphrase is locked. Please send a request signed with "
	    "your qualified signature, visit the registration office or "
	    "call the hotline: %s.", cfg->hotline);
}

/*
 * Reads the passphrase row of statement s (DB_PASS_OF_CERT or
 * DB_PASS_OF_TOKEN) for row id key into r; r->have says whether there
 * is one.  A hash too long for its buffer is kept as "" (damaged: it
 * never verifies).  Returns RP_OK or a database error.
 */
static enum rp_err
pf_pass_read(struct db *db, enum db_stmt s, int64_t key, struct pf_row *r)
{
	struct dbq	 q;
	const char	*h;
	size_t		 len;

	memset(r, 0, sizeof(*r));
	dbq_start(&q, db, s);
	dbq_int(&q, key);
	if (dbq_step(&q)) {
		r->have = 1;
		r->id = dbq_col_int(&q, 0);
		h = dbq_col_text(&q, 1);
		if (h != NULL && (len = strlen(h)) < sizeof(r->hash))
			memcpy(r->hash, h, len + 1);
		r->failures = dbq_col_int(&q, 2);
		r->locked = !dbq_col_null(&q, 3);
		r->scope_token = s == DB_PASS_OF_TOKEN;
	}
	return dbq_end(&q);
}

/*
 * Finds what pf_check() checks: the certificate of serial (and issuer)
 * with its own passphrase or else its token's, or the token labelled
 * token with its passphrase.  Fills t and r (r->have 0 when there is no
 * target or no passphrase).  Returns RP_OK; RP_ERR_CONFLICT for an
 * ambiguous serial; a database error.
 */
static enum rp_err
pf_find(struct db *db, const char *issuer, const char *serial,
    const char *token, struct pf_target *t, struct pf_row *r,
    struct rp_errinfo *ei)
{
	struct cert_row	 c;
	struct dbq	 q;
	enum rp_err	 e;
	size_t		 len;

	memset(r, 0, sizeof(*r));
	if (serial != NULL) {
		e = reg_cert_find(db, issuer, serial, &c, ei);
		if (e == RP_ERR_NOT_FOUND || e == RP_ERR_BAD_INPUT)
			return RP_OK;
		if (e != RP_OK)
			return e;
		t->cert = c.id;
		memcpy(t->serial, c.serial, sizeof(t->serial));
		if ((e = pf_pass_read(db, DB_PASS_OF_CERT, c.id, r)) !=
		    RP_OK)
			return rp_fail(ei, e, "db", "cannot read passphrases");
		if (!r->have && c.token != 0 &&
		    (e = pf_pass_read(db, DB_PASS_OF_TOKEN, c.token, r)) !=
		    RP_OK)
			return rp_fail(ei, e, "db", "cannot read passphrases");
		return RP_OK;
	}
	if ((len = strlen(token)) == 0 || len >= sizeof(t->token_label))
		return RP_OK;
	dbq_start(&q, db, DB_TOKEN_GET);
	dbq_text(&q, token);
	if (dbq_step(&q))
		t->token = dbq_col_int(&q, 0);
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read tokens");
	if (t->token == 0)
		return RP_OK;
	memcpy(t->token_label, token, len + 1);
	if ((e = pf_pass_read(db, DB_PASS_OF_TOKEN, t->token, r)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read passphrases");
	return RP_OK;
}

/*
 * Appends the audit entry event about subject, inside the caller's
 * transaction, with details: "failures", the count (for passphrase.ok
 * the count it cleared), "scope", whose passphrase it was ("certificate"
 * or "token"), and for passphrase.locked "locked_now", whether this
 * attempt locked it (else it was locked already).
 */
static enum rp_err
pf_audit(struct db *db, const char *actor, const char *event,
    const char *subject, const struct pf_row *r, int64_t failures,
    int locked_now, int64_t now, struct rp_errinfo *ei)
{
	json_t		*d;
	enum rp_err	 e;

	d = json_pack("{s:I, s:s}", "failures", (json_int_t)failures,
	    "scope", r->scope_token ? "token" : "certificate");
	if (d == NULL || (strcmp(event, "passphrase.locked") == 0 &&
	    json_object_set_new(d, "locked_now", json_boolean(locked_now)) !=
	    0)) {
		json_decref(d);
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	}
	e = audit_append(db, now, actor, event, subject, d, ei);
	json_decref(d);
	return e;
}

/*
 * Counts the attempt on passphrase row r whose verification said ok, in
 * one write transaction with its audit entries: the count and the lock
 * are read again inside it, since another worker may have moved them
 * while this one hashed.  A locked passphrase stays locked and keeps its
 * count, whatever was entered; a right one resets the count to 0; a
 * wrong one adds a failure and locks at max_failures.  Sets *locked.
 * Returns RP_OK, RP_ERR_NOT_FOUND when the row is gone, or the error of
 * the transaction (nothing was stored then).
 */
static enum rp_err
pf_count(struct db *db, const struct config *cfg, const struct pf_row *r,
    int ok, const char *actor, const char *subject, int64_t now,
    int *locked, struct rp_errinfo *ei)
{
	struct dbq	 q;
	int64_t		 failures = 0;
	enum rp_err	 e;
	int		 found = 0, was_locked = 0, n;

	*locked = 0;
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	dbq_start(&q, db, DB_PF_PASS_GET);
	dbq_int(&q, r->id);
	if (dbq_step(&q)) {
		found = 1;
		failures = dbq_col_int(&q, 0);
		was_locked = !dbq_col_null(&q, 1);
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot read the passphrase");
		goto out;
	}
	if (!found) {
		e = RP_ERR_NOT_FOUND;
		goto out;
	}
	if (was_locked) {
		*locked = 1;
		e = pf_audit(db, actor, "passphrase.locked", subject, r,
		    failures, 0, now, ei);
		goto out;
	}
	dbq_start(&q, db, DB_PF_PASS_SET);
	if (ok) {
		dbq_int(&q, 0);
		dbq_null(&q);
	} else {
		failures++;
		*locked = failures >= (int64_t)cfg->policy.max_failures;
		dbq_int(&q, failures);
		if (*locked)
			dbq_int(&q, now);
		else
			dbq_null(&q);
	}
	dbq_int(&q, now);
	dbq_int(&q, r->id);
	if ((e = dbq_exec(&q, &n)) != RP_OK || n != 1) {
		e = rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
		    "cannot count the attempt");
		goto out;
	}
	if (ok)
		e = pf_audit(db, actor, "passphrase.ok", subject, r, failures,
		    0, now, ei);
	else if ((e = pf_audit(db, actor, "passphrase.failed", subject, r,
	    failures, 0, now, ei)) == RP_OK && *locked)
		e = pf_audit(db, actor, "passphrase.locked", subject, r,
		    failures, 1, now, ei);
out:
	if (e != RP_OK) {
		db_rollback(db);
		return e;
	}
	if ((e = db_commit(db)) != RP_OK)
		return rp_fail(ei, e, "db_commit", "cannot store the attempt");
	if (*locked && !was_locked)
		rplog(RPLOG_WARN, "passphrase_locked", "subject=%s "
		    "failures=%lld", subject, (long long)failures);
	return RP_OK;
}

/*
 * Checks pass[0..len) against the passphrase of the certificate serial
 * (with issuer, which may be NULL) or of the token label token, and
 * counts the attempt; see extern.h.  t is filled on RP_OK (and as far as
 * the target was found otherwise).  Must run outside a transaction.
 */
enum rp_err
pf_check(struct db *db, const struct config *cfg, const char *issuer,
    const char *serial, const char *token, const char *pass, size_t len,
    const char *actor, int64_t now, struct pf_target *t,
    struct rp_errinfo *ei)
{
	struct pf_row	 r;
	char		 subject[16 + RP_LABEL_MAX];
	enum rp_err	 e;
	int		 ok = 0, locked = 0, n;

	memset(t, 0, sizeof(*t));
	if ((serial == NULL) == (token == NULL) || actor == NULL ||
	    actor[0] == '\0' || cfg == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "a passphrase check without its target or actor");
	if (issuer != NULL && issuer[0] == '\0')
		issuer = NULL;
	e = pf_find(db, issuer, serial, token, t, &r, ei);
	if (e != RP_OK && e != RP_ERR_CONFLICT)
		return e;

	/*
	 * The Argon2id work, outside any transaction, the same whether or
	 * not there is something to check.
	 */
	if (r.have && pass_hash_valid(r.hash))
		ok = pass_verify(r.hash, pass, len);
	else
		pass_verify_dummy(pass, len);
	explicit_bzero(r.hash, sizeof(r.hash));
	if (e == RP_ERR_CONFLICT)
		return e;
	if (!r.have)
		return pf_auth_failed(ei);

	if (serial != NULL)
		n = snprintf(subject, sizeof(subject), "certificate:%s",
		    t->serial);
	else
		n = snprintf(subject, sizeof(subject), "token:%s",
		    t->token_label);
	if (n < 0 || (size_t)n >= sizeof(subject))
		return rp_fail(ei, RP_ERR_INTERNAL, "subject", "audit subject");
	e = pf_count(db, cfg, &r, ok, actor, subject, now, &locked, ei);
	if (e == RP_ERR_NOT_FOUND)
		return pf_auth_failed(ei);
	if (e != RP_OK)
		return e;
	if (locked)
		return pf_locked(cfg, ei);
	if (!ok)
		return pf_auth_failed(ei);
	t->pass = r.id;
	return RP_OK;
}

/*
 * Writes the rate-limit key of client into key: "pass:" and the address
 * nginx passed, or "unknown" for none or one that is not a short run of
 * visible ASCII (nginx never passes one; the key must stay bounded).
 */
static void
pf_rate_key(const char *client, char *key, size_t keysz)
{
	size_t	 i, len;

	len = client != NULL ? strnlen(client, PF_CLIENT_MAX + 1) : 0;
	if (len == 0 || len > PF_CLIENT_MAX)
		client = "unknown";
	else
		for (i = 0; i < len; i++)
			if ((unsigned char)client[i] <= 0x20 ||
			    (unsigned char)client[i] >= 0x7f) {
				client = "unknown";
				break;
			}
	(void)snprintf(key, keysz, "pass:%s", client);
}

/*
 * Counts one passphrase attempt of client in the fixed window that began
 * with its first attempt, [ratelimit] window_seconds long, in one small
 * transaction.  Returns RP_OK while the window holds at most
 * rate_attempts attempts; then RP_ERR_RATE with *retry_after the
 * seconds until the window ends (1 at least).  A database error
 * otherwise (the caller refuses: fail closed).
 */
enum rp_err
pf_rate(struct db *db, const struct config *cfg, const char *client,
    int64_t now, unsigned int *retry_after, struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		 key[8 + PF_CLIENT_MAX];
	int64_t		 win, hits = 0, start = now, left;
	enum rp_err	 e;

	*retry_after = 0;
	win = (int64_t)cfg->rate_window * 1000;
	pf_rate_key(client, key, sizeof(key));
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	dbq_start(&q, db, DB_PF_RATE_HIT);
	dbq_text(&q, key);
	dbq_int(&q, now);
	dbq_int(&q, win);
	if (dbq_step(&q)) {
		hits = dbq_col_int(&q, 0);
		start = dbq_col_int(&q, 1);
	} else if (q.err == RP_OK)
		q.err = RP_ERR_INTERNAL;	/* RETURNING gives a row */
	if ((e = dbq_end(&q)) != RP_OK) {
		db_rollback(db);
		return rp_fail(ei, e, "db", "cannot count the attempt");
	}
	if ((e = db_commit(db)) != RP_OK)
		return rp_fail(ei, e, "db_commit", "cannot count the attempt");
	if (hits <= (int64_t)cfg->rate_attempts)
		return RP_OK;
	left = start + win - now;
	if (left > win)
		left = win;
	left = (left + 999) / 1000;
	*retry_after = left < 1 ? 1 : (unsigned int)left;
	return rp_fail(ei, RP_ERR_RATE, "rate_limited", "Too many attempts "
	    "from your address. Please try again in %u seconds.",
	    *retry_after);
}

/*
 * Deletes the rate-limit windows that ended by now, for the sweep.
 */
enum rp_err
pf_sweep(struct db *db, const struct config *cfg, int64_t now,
    unsigned int *deleted, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 n = 0;

	if (deleted != NULL)
		*deleted = 0;
	dbq_start(&q, db, DB_PF_RATE_SWEEP);
	dbq_int(&q, now);
	dbq_int(&q, (int64_t)cfg->rate_window * 1000);
	if ((e = dbq_exec(&q, &n)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot delete rate-limit windows");
	if (deleted != NULL)
		*deleted = n > 0 ? (unsigned int)n : 0;
	return RP_OK;
}

/*
 * Adds one field of the fingerprint: a tag byte, the presence byte, the
 * length in 8 bytes (big-endian) and the bytes, so that no two different
 * requests encode alike.  Returns 1, or 0 when OpenSSL fails.
 */
static int
pf_fp_add(EVP_MD_CTX *ctx, char tag, const char *s)
{
	unsigned char	 head[10];
	uint64_t	 len = s != NULL ? strlen(s) : 0;
	size_t		 i;

	head[0] = (unsigned char)tag;
	head[1] = s != NULL;
	for (i = 0; i < 8; i++)
		head[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return EVP_DigestUpdate(ctx, head, sizeof(head)) == 1 &&
	    (len == 0 || EVP_DigestUpdate(ctx, s, (size_t)len) == 1);
}

/*
 * Fills idem for a POST of kind ("api" or "form") under key: see
 * extern.h.  Returns RP_OK, RP_ERR_BAD_INPUT for a bad key, or
 * RP_ERR_INTERNAL for a bad call or an OpenSSL failure.
 */
enum rp_err
pf_idem_init(struct pf_idem *idem, const char *kind, const char *key,
    enum action act, const char *issuer, const char *serial,
    const char *token, enum crl_reason reason, int64_t now,
    struct rp_errinfo *ei)
{
	static const char	 hex[] = "0123456789abcdef";
	EVP_MD_CTX		*ctx = NULL;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	size_t			 len;
	enum rp_err		 e = RP_ERR_INTERNAL;
	int			 n;

	memset(idem, 0, sizeof(*idem));
	if (kind == NULL || (strcmp(kind, "api") != 0 &&
	    strcmp(kind, "form") != 0) || (serial == NULL) == (token == NULL) ||
	    dom_action_name(act) == NULL || dom_reason_name(reason) == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "an idempotency record without its request");
	len = key != NULL ? strnlen(key, PF_IDEM_KEY_MAX + 1) : 0;
	if (len == 0 || len > PF_IDEM_KEY_MAX)
		goto badkey;
	for (i = 0; i < len; i++)
		if ((unsigned char)key[i] <= 0x20 ||
		    (unsigned char)key[i] >= 0x7f)
			goto badkey;
	n = snprintf(idem->key, sizeof(idem->key), "%s:%s", kind, key);
	if (n < 0 || (size_t)n >= sizeof(idem->key))
		goto badkey;
	idem->now = now;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    !pf_fp_add(ctx, 'V', "revportal-idempotency/1") ||
	    !pf_fp_add(ctx, 'A', dom_action_name(act)) ||
	    !pf_fp_add(ctx, 'S', serial) ||
	    !pf_fp_add(ctx, 'T', token) ||
	    !pf_fp_add(ctx, 'I', issuer != NULL && issuer[0] != '\0' ?
	    issuer : NULL) ||
	    !pf_fp_add(ctx, 'R', dom_reason_name(reason)) ||
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
	return e;
badkey:
	memset(idem, 0, sizeof(*idem));
	return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_idempotency_key",
	    "An Idempotency-Key is 1 to %u visible ASCII characters.",
	    PF_IDEM_KEY_MAX);
}

/*
 * Looks idem's key up.  Returns RP_OK with *found 0 when it is new, or 1
 * with hit holding the first answer when it was used for the same
 * fingerprint; RP_ERR_POLICY ("idempotency_key_reused") when it was used
 * for another; a database error, or RP_ERR_INTERNAL for a damaged row.
 */
enum rp_err
pf_idem_find(struct db *db, const struct pf_idem *idem,
    struct pf_idem_hit *hit, int *found, struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*fp, *id;
	enum rp_err	 e;
	int		 same = 0;

	*found = 0;
	memset(hit, 0, sizeof(*hit));
	dbq_start(&q, db, DB_PF_IDEM_GET);
	dbq_text(&q, idem->key);
	if (dbq_step(&q)) {
		*found = 1;
		fp = dbq_col_text(&q, 0);
		id = dbq_col_text(&q, 1);
		hit->status = (int)dbq_col_int(&q, 2);
		hit->state = dom_state_parse(dbq_col_text(&q, 3));
		if (fp == NULL || strlen(fp) != 64 || id == NULL ||
		    strlen(id) != RP_ID_LEN || hit->state == RS__MAX ||
		    hit->status < 200 || hit->status > 299)
			q.err = RP_ERR_INTERNAL;
		else {
			same = rp_ct_equal(fp, idem->fingerprint, 64);
			memcpy(hit->public_id, id, RP_ID_LEN + 1);
		}
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		*found = 0;
		memset(hit, 0, sizeof(*hit));
		return rp_fail(ei, e, "db", "cannot read idempotency records");
	}
	if (*found && !same) {
		*found = 0;
		memset(hit, 0, sizeof(*hit));
		return rp_fail(ei, RP_ERR_POLICY, "idempotency_key_reused",
		    "This idempotency key was used for a different request.");
	}
	return RP_OK;
}

/*
 * The lc_new.in_tx hook: stores the struct pf_idem arg for request_row
 * with the answer res (202 and its state) inside lc_create()'s
 * transaction.  Returns RP_OK; RP_ERR_CONFLICT ("idempotency_race") when
 * the key is stored already; a database error.
 */
enum rp_err
pf_idem_record(struct db *db, void *arg, int64_t request_row,
    const struct lc_result *res, struct rp_errinfo *ei)
{
	const struct pf_idem	*idem = arg;
	struct dbq		 q;
	enum rp_err		 e;

	if (idem == NULL || idem->key[0] == '\0' ||
	    strlen(idem->fingerprint) != 64 ||
	    dom_state_name(res->state) == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "an idempotency record without its key");
	dbq_start(&q, db, DB_PF_IDEM_ADD);
	dbq_text(&q, idem->key);
	dbq_text(&q, idem->fingerprint);
	dbq_int(&q, request_row);
	dbq_int(&q, 202);
	dbq_text(&q, dom_state_name(res->state));
	dbq_int(&q, idem->now);
	if ((e = dbq_exec(&q, NULL)) == RP_ERR_CONFLICT)
		return rp_fail(ei, e, "idempotency_race",
		    "the idempotency key was stored meanwhile");
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot store the idempotency "
		    "record");
	return RP_OK;
}
