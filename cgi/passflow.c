/*
 * What the subscriber pages, the API and the hotline console share about
 * revocation passphrases:
 *
 *  - pf_check(): the passphrase of a certificate (its own, else its
 *    token's) or of a token, with the lockout of DESIGN §2.  Unknown
 *    targets, serials of several issuers named without the issuer,
 *    targets without a passphrase and wrong passphrases get one answer
 *    after Argon2id work of the same cost and the same write transaction
 *    (which for them finds no row and stores nothing).  The Argon2id work
 *    runs outside any transaction; the count, re-read inside one short
 *    write transaction together with the hash (a passphrase changed
 *    meanwhile is refused, not counted), commits with its audit entry.
 *    Every answer is held back until [argon2] answer_floor_ms after the
 *    call, on the monotonic clock, so that the database work and a
 *    stored hash costlier than the current setting do not tell a known
 *    target from an unknown one (a hash costlier than the floor itself
 *    still shows; a right passphrase hashes such a hash again at the
 *    current cost, so they converge).
 *  - pf_rate(): fixed windows of attempts per client address (an IPv6
 *    address by its /64) in table rate_limits, shared by every worker;
 *    pf_sweep() drops ended ones and old idempotency records.
 *  - pf_idem_*(): the idempotency record of a POST that made a request,
 *    scoped by the passphrase that authenticated it and written by
 *    lc_create()'s in-transaction hook with the request.
 *
 * Nothing here ever logs, audits or stores a passphrase, not even its
 * length.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "extern.h"

/*
 * The one answer to an unknown target and a wrong passphrase; it names
 * the issuer, since a serial number of several issuers without one is
 * such a target too.
 */
#define PF_AUTH_MSG	"The serial number or the passphrase is not right. " \
			"If the portal asks for it, also give the issuer as " \
			"written in the certificate."

/* Longest client address kept in a rate-limit key (IPv6 is 45). */
#define PF_CLIENT_MAX	64u

/* Milliseconds in a day, for the idempotency records' age. */
#define PF_DAY_MS	(24LL * 3600 * 1000)

/* A passphrase row as read before and inside the check. */
struct pf_row {
	int		 have;		/* a row exists */
	int64_t		 id;
	int64_t		 failures;
	int		 locked;
	int		 scope_token;	/* the token's passphrase */
	char		 hash[RP_PASS_HASH_MAX];	/* "": damaged */
};

#ifdef RP_UNITTEST
/*
 * Tests only: a function called between the Argon2id verification and
 * the counting transaction, where another worker or an administrator
 * may change the passphrase.
 */
static void	(*pf_between)(void *);
static void	*pf_between_arg;

void
pf_test_between(void (*fn)(void *), void *arg)
{
	pf_between = fn;
	pf_between_arg = arg;
}

#define PF_BETWEEN()	do {						\
	if (pf_between != NULL)						\
		pf_between(pf_between_arg);				\
} while (0)
#else
#define PF_BETWEEN()	do { } while (0)
#endif

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
 * target, no passphrase, or a serial of several issuers without the
 * issuer: no target either, so that a stranger cannot tell).  Returns
 * RP_OK or a database error.
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
		if (e == RP_ERR_NOT_FOUND || e == RP_ERR_BAD_INPUT ||
		    e == RP_ERR_CONFLICT)
			return RP_OK;
		if (e != RP_OK)
			return e;
		t->cert = c.id;
		memcpy(t->issuer, c.issuer, sizeof(t->issuer));
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
 * or "token"), for passphrase.locked "locked_now", whether this attempt
 * locked it (else it was locked already), and for passphrase.ok
 * "rehashed": true when the stored hash was replaced by one of the
 * current cost (absent otherwise).
 */
static enum rp_err
pf_audit(struct db *db, const char *actor, const char *event,
    const char *subject, const struct pf_row *r, int64_t failures,
    int locked_now, int rehashed, int64_t now, struct rp_errinfo *ei)
{
	json_t		*d;
	enum rp_err	 e;

	d = json_pack("{s:I, s:s}", "failures", (json_int_t)failures,
	    "scope", r->scope_token ? "token" : "certificate");
	if (d == NULL || (strcmp(event, "passphrase.locked") == 0 &&
	    json_object_set_new(d, "locked_now", json_boolean(locked_now)) !=
	    0) || (rehashed && strcmp(event, "passphrase.ok") == 0 &&
	    json_object_set_new(d, "rehashed", json_true()) != 0)) {
		json_decref(d);
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	}
	e = audit_append(db, now, actor, event, subject, d, ei);
	json_decref(d);
	return e;
}

/*
 * Returns 1 when the hash stored now (h, as re-read inside the counting
 * transaction) is the one verified before (mine, as pf_pass_read() kept
 * it: "" for one too long for its buffer), else 0.
 */
static int
pf_hash_same(const char *h, const char *mine)
{
	if (h == NULL)
		return 0;
	if (strlen(h) >= RP_PASS_HASH_MAX)
		return mine[0] == '\0';
	return strcmp(h, mine) == 0;
}

/*
 * Counts the attempt on passphrase row r whose verification said ok, in
 * one write transaction with its audit entries: the count, the lock and
 * the hash are read again inside it, since another worker may have moved
 * them while this one hashed.  A locked passphrase stays locked and
 * keeps its count, whatever was entered; a right one resets the count
 * to 0 (and, when rehash is not "", replaces the stored hash by rehash,
 * the passphrase hashed at the current cost, audited as "rehashed"); a
 * wrong one adds a failure and locks at max_failures.  Sets *locked.
 * Returns RP_OK; RP_ERR_NOT_FOUND when there is no row r->id (r->id 0,
 * an unknown target, runs the same transaction and ends here); RP_ERR_AUTH
 * when the hash is no longer the one verified (nothing is counted); or
 * the error of the transaction (nothing was stored then).
 */
static enum rp_err
pf_count(struct db *db, const struct config *cfg, const struct pf_row *r,
    int ok, const char *rehash, const char *actor, const char *subject,
    int64_t now, int *locked, struct rp_errinfo *ei)
{
	struct dbq	 q;
	int64_t		 failures = 0;
	enum rp_err	 e;
	int		 found = 0, same = 0, was_locked = 0, rehashed = 0, n;

	*locked = 0;
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	dbq_start(&q, db, DB_PF_PASS_GET);
	dbq_int(&q, r->id);
	if (dbq_step(&q)) {
		found = 1;
		failures = dbq_col_int(&q, 0);
		was_locked = !dbq_col_null(&q, 1);
		same = pf_hash_same(dbq_col_text(&q, 2), r->hash);
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot read the passphrase");
		goto out;
	}
	if (!found) {
		e = RP_ERR_NOT_FOUND;
		goto out;
	}
	if (!same) {
		/* Verified against a hash that is gone: fail closed. */
		e = RP_ERR_AUTH;
		goto out;
	}
	if (was_locked) {
		*locked = 1;
		e = pf_audit(db, actor, "passphrase.locked", subject, r,
		    failures, 0, 0, now, ei);
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
	if (ok && rehash[0] != '\0') {
		dbq_text(&q, rehash);
		rehashed = 1;
	} else
		dbq_null(&q);
	dbq_int(&q, r->id);
	if ((e = dbq_exec(&q, &n)) != RP_OK || n != 1) {
		e = rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
		    "cannot count the attempt");
		goto out;
	}
	if (ok)
		e = pf_audit(db, actor, "passphrase.ok", subject, r, failures,
		    0, rehashed, now, ei);
	else if ((e = pf_audit(db, actor, "passphrase.failed", subject, r,
	    failures, 0, 0, now, ei)) == RP_OK && *locked)
		e = pf_audit(db, actor, "passphrase.locked", subject, r,
		    failures, 1, 0, now, ei);
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
 * The check of pf_check() without its floor; the same contract.  The
 * stored hash and its replacement are wiped before returning.
 */
static enum rp_err
pf_check_once(struct db *db, const struct config *cfg, const char *issuer,
    const char *serial, const char *token, const char *pass, size_t len,
    const char *actor, int64_t now, struct pf_target *t,
    struct rp_errinfo *ei)
{
	struct pf_row	 r;
	char		 subject[16 + RP_LABEL_MAX];
	char		 rehash[RP_PASS_HASH_MAX];
	enum rp_err	 e;
	int		 ok = 0, locked = 0, n;

	memset(t, 0, sizeof(*t));
	memset(&r, 0, sizeof(r));
	rehash[0] = '\0';
	if ((serial == NULL) == (token == NULL) || actor == NULL ||
	    actor[0] == '\0' || cfg == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "a passphrase check without its target or actor");
	if (issuer != NULL && issuer[0] == '\0')
		issuer = NULL;
	if ((e = pf_find(db, issuer, serial, token, t, &r, ei)) != RP_OK)
		goto out;

	/*
	 * The Argon2id work, outside any transaction, the same whether or
	 * not there is something to check.  A right passphrase under a hash
	 * of another cost is hashed again here, before the transaction, so
	 * that the write lock is not held over it; a passphrase that
	 * pass_hash() refuses (imported under older rules) keeps its hash.
	 */
	if (r.have && pass_hash_valid(r.hash)) {
		ok = pass_verify(r.hash, pass, len);
		if (ok && pass_rehash_due(r.hash) && pass_hash(pass, len,
		    rehash, sizeof(rehash)) != RP_OK)
			rehash[0] = '\0';
	} else
		pass_verify_dummy(pass, len);
	PF_BETWEEN();

	if (serial != NULL)
		n = snprintf(subject, sizeof(subject), "certificate:%s",
		    t->serial);
	else
		n = snprintf(subject, sizeof(subject), "token:%s",
		    t->token_label);
	if (n < 0 || (size_t)n >= sizeof(subject)) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "subject", "audit subject");
		goto out;
	}
	/* Without a row (r.id 0) the same transaction finds nothing. */
	e = pf_count(db, cfg, &r, ok, rehash, actor, subject, now, &locked,
	    ei);
	if (e == RP_ERR_NOT_FOUND || e == RP_ERR_AUTH)
		e = pf_auth_failed(ei);
	else if (e == RP_OK && locked)
		e = pf_locked(cfg, ei);
	else if (e == RP_OK && !ok)
		e = pf_auth_failed(ei);
	else if (e == RP_OK)
		t->pass = r.id;
out:
	explicit_bzero(r.hash, sizeof(r.hash));
	explicit_bzero(rehash, sizeof(rehash));
	if (e != RP_OK)
		t->pass = 0;
	return e;
}

/*
 * Sleeps until floor_ms milliseconds after start on the monotonic clock,
 * through interruptions by signals; returns at once when that time has
 * passed or floor_ms is 0.
 */
static void
pf_floor(const struct timespec *start, unsigned int floor_ms)
{
	struct timespec	 until;
	int		 rc;

	if (floor_ms == 0)
		return;
	until.tv_sec = start->tv_sec + (time_t)(floor_ms / 1000);
	until.tv_nsec = start->tv_nsec + (long)(floor_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	do
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until,
		    NULL);
	while (rc == EINTR);
}

/*
 * Checks pass[0..len) against the passphrase of the certificate serial
 * (with issuer, which may be NULL) or of the token label token, and
 * counts the attempt; see extern.h.  t is filled on RP_OK (and as far as
 * the target was found otherwise).  Whatever the answer, it is returned
 * no sooner than cfg->argon2_floor_ms after the call.  Must run outside
 * a transaction.
 */
enum rp_err
pf_check(struct db *db, const struct config *cfg, const char *issuer,
    const char *serial, const char *token, const char *pass, size_t len,
    const char *actor, int64_t now, struct pf_target *t,
    struct rp_errinfo *ei)
{
	struct timespec	 start;
	enum rp_err	 e;
	int		 timed;

	timed = clock_gettime(CLOCK_MONOTONIC, &start) == 0;
	e = pf_check_once(db, cfg, issuer, serial, token, pass, len, actor,
	    now, t, ei);
	if (timed && cfg != NULL)
		pf_floor(&start, cfg->argon2_floor_ms);
	return e;
}

/*
 * Writes the rate-limit key of client into key: kind ("pass", "sig"),
 * ':' and the address nginx passed, or "unknown" for none or one that is not a short run of
 * visible ASCII (nginx never passes one; the key must stay bounded).  An
 * IPv6 address stands for its /64 network, "pass:<prefix>::/64" (one
 * subscriber line usually gets a whole /64, so its 2^64 addresses must
 * not each get an allowance); an IPv4-mapped IPv6 address for its IPv4
 * address.  Any other text (an IPv4 address, "staff:<id>") is kept as it
 * is.
 */
static void
pf_rate_key(const char *kind, const char *client, char *key, size_t keysz)
{
	struct in6_addr	 a6;
	char		 net[INET6_ADDRSTRLEN];
	size_t		 i, len;

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
	if (strchr(client, ':') != NULL &&
	    inet_pton(AF_INET6, client, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			if (inet_ntop(AF_INET, &a6.s6_addr[12], net,
			    sizeof(net)) != NULL) {
				(void)snprintf(key, keysz, "%s:%s", kind,
				    net);
				return;
			}
		} else {
			memset(&a6.s6_addr[8], 0, 8);
			if (inet_ntop(AF_INET6, &a6, net, sizeof(net)) !=
			    NULL) {
				(void)snprintf(key, keysz, "%s:%s/64", kind,
				    net);
				return;
			}
		}
		client = "unknown";
	}
	(void)snprintf(key, keysz, "%s:%s", kind, client);
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
	return pf_rate_kind(db, cfg, "pass", client, now, retry_after, ei);
}

/*
 * pf_rate() for attempts of kind (1 to 7 lower-case letters), counted
 * apart from the others under "<kind>:<client>".  RP_ERR_INTERNAL for
 * another kind.
 */
enum rp_err
pf_rate_kind(struct db *db, const struct config *cfg, const char *kind,
    const char *client, int64_t now, unsigned int *retry_after,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		 key[8 + PF_CLIENT_MAX + 16];
	int64_t		 win, hits = 0, start = now, left;
	enum rp_err	 e;
	size_t		 i, klen;

	*retry_after = 0;
	klen = kind != NULL ? strnlen(kind, 8) : 0;
	for (i = 0; i < klen; i++)
		if (kind[i] < 'a' || kind[i] > 'z')
			break;
	if (klen == 0 || klen > 7 || i != klen)
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "a rate limit of no known kind");
	win = (int64_t)cfg->rate_window * 1000;
	pf_rate_key(kind, client, key, sizeof(key));
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
 * Deletes, for the sweep, the rate-limit windows that ended by now and
 * the idempotency records made more than PF_IDEM_KEEP_DAYS before now
 * (a repeat that late is a new request; the hotline's records too, whose
 * verified forms lived 15 minutes).  Each deletion is its own statement.
 * *deleted gets the rows deleted in all.  Returns RP_OK or a database
 * error (the windows may then be deleted already).
 */
enum rp_err
pf_sweep(struct db *db, const struct config *cfg, int64_t now,
    unsigned int *deleted, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 n = 0, m = 0;

	if (deleted != NULL)
		*deleted = 0;
	dbq_start(&q, db, DB_PF_RATE_SWEEP);
	dbq_int(&q, now);
	dbq_int(&q, (int64_t)cfg->rate_window * 1000);
	if ((e = dbq_exec(&q, &n)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot delete rate-limit windows");
	dbq_start(&q, db, DB_PF_IDEM_SWEEP);
	dbq_int(&q, now - (int64_t)PF_IDEM_KEEP_DAYS * PF_DAY_MS);
	if ((e = dbq_exec(&q, &m)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot delete idempotency "
		    "records");
	if (deleted != NULL)
		*deleted = (n > 0 ? (unsigned int)n : 0) +
		    (m > 0 ? (unsigned int)m : 0);
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
 * Fills idem for a POST of kind ("api" or "form") under key, not yet
 * bound to a passphrase (idem->key ""): see extern.h.  Returns RP_OK,
 * RP_ERR_BAD_INPUT for a bad key, or RP_ERR_INTERNAL for a bad call or
 * an OpenSSL failure.
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
	memcpy(idem->raw, key, len);
	idem->raw[len] = '\0';
	/* "api" or "form", checked above. */
	memcpy(idem->kind, kind, strlen(kind) + 1);
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
	if (e != RP_OK)
		memset(idem, 0, sizeof(*idem));
	return e;
badkey:
	memset(idem, 0, sizeof(*idem));
	return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_idempotency_key",
	    "An Idempotency-Key is 1 to %u visible ASCII characters.",
	    PF_IDEM_KEY_MAX);
}

/*
 * Scopes idem's key by passphrase row pass, the one pf_check() has just
 * accepted: "<kind>:<pass>:<key as sent>".  Returns RP_OK, or
 * RP_ERR_INTERNAL for a record pf_idem_init() did not fill or a pass
 * that is no row id (the key stays unbound then).
 */
enum rp_err
pf_idem_bind(struct pf_idem *idem, int64_t pass, struct rp_errinfo *ei)
{
	int	 n;

	idem->key[0] = '\0';
	if (pass <= 0 || idem->kind[0] == '\0' || idem->raw[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "an idempotency key without its passphrase");
	n = snprintf(idem->key, sizeof(idem->key), "%s:%lld:%s", idem->kind,
	    (long long)pass, idem->raw);
	if (n < 0 || (size_t)n >= sizeof(idem->key)) {
		idem->key[0] = '\0';
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "idempotency key too long");
	}
	return RP_OK;
}

/*
 * Looks idem's bound key up.  Returns RP_OK with *found 0 when it is
 * new, or 1 with hit holding the first answer when it was used for the
 * same fingerprint; RP_ERR_POLICY ("idempotency_key_reused") when it was
 * used for another; a database error, or RP_ERR_INTERNAL for a damaged
 * row or a key pf_idem_bind() did not scope.
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
	if (idem->key[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "bad_call",
		    "an idempotency key not bound to its passphrase");
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
