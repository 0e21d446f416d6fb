/*
 * The audit log: append-only and hash-chained (EN 319 401 REQ-7.10).
 *
 * Entry n carries the hash of entry n-1 (64 zeros for the first) and its
 * own hash, the lower-case hex SHA-256 of
 *
 *	"revportal-audit/1\n" then, for each of seq, at, actor, action,
 *	subject, details and prev_hash: its decimal length, ':', its bytes,
 *	'\n'
 *
 * with seq and at written in decimal.  The length prefixes make the
 * encoding unambiguous, so no two different entries hash the same text.
 * Changing, deleting or reordering any entry breaks the chain at that
 * entry, which audit_verify() names.  Cutting entries off the end leaves
 * a shorter valid chain: the head hash audit_verify() reports is what an
 * operator records elsewhere to catch that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "extern.h"

#define AUDIT_LABEL	"revportal-audit/1\n"
#define AUDIT_HASH_LEN	64u
#define AUDIT_DETAILS_MAX (16u * 1024u)

static const char audit_zero[AUDIT_HASH_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * Adds one length-prefixed field to the digest.  Returns 0 or -1.
 */
static int
audit_field(EVP_MD_CTX *ctx, const char *s, size_t len)
{
	char	 pre[32];
	int	 n;

	n = snprintf(pre, sizeof(pre), "%zu:", len);
	if (n < 0 || (size_t)n >= sizeof(pre))
		return -1;
	if (EVP_DigestUpdate(ctx, pre, (size_t)n) != 1 ||
	    EVP_DigestUpdate(ctx, s, len) != 1 ||
	    EVP_DigestUpdate(ctx, "\n", 1) != 1)
		return -1;
	return 0;
}

/*
 * Computes the hash of entry e (its hash member is not read) into out as
 * 64 lower-case hex digits and a NUL.  Returns RP_OK or RP_ERR_INTERNAL.
 */
UNITTEST enum rp_err
audit_hash(const struct audit_entry *e, char out[AUDIT_HASH_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	EVP_MD_CTX		*ctx;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 num[2][32];
	const char		*f[7];
	size_t			 k;
	enum rp_err		 er = RP_ERR_INTERNAL;

	out[0] = '\0';
	if (snprintf(num[0], sizeof(num[0]), "%lld", (long long)e->seq) < 0 ||
	    snprintf(num[1], sizeof(num[1]), "%lld", (long long)e->at) < 0)
		return RP_ERR_INTERNAL;
	f[0] = num[0];
	f[1] = num[1];
	f[2] = e->actor;
	f[3] = e->action;
	f[4] = e->subject;
	f[5] = e->details;
	f[6] = e->prev_hash;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return RP_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, AUDIT_LABEL, sizeof(AUDIT_LABEL) - 1) != 1)
		goto out;
	for (k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
		if (f[k] == NULL)
			goto out;
		if (audit_field(ctx, f[k], strlen(f[k])) == -1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * mdlen] = '\0';
	er = RP_OK;
out:
	EVP_MD_CTX_free(ctx);
	return er;
}

/*
 * Returns 1 when key names a secret: a passphrase, password, signature
 * or secret, in any case, anywhere in the key.
 */
static int
audit_secret_key(const char *key)
{
	static const char *const words[] = {
		"passphrase", "password", "signature", "secret", "hash",
	};
	char	 low[64];
	size_t	 i, len;

	len = strlen(key);
	if (len >= sizeof(low))
		return 1;	/* no such key of ours is this long */
	for (i = 0; i < len; i++)
		low[i] = (key[i] >= 'A' && key[i] <= 'Z') ?
		    (char)(key[i] - 'A' + 'a') : key[i];
	low[len] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Checks that v holds no secret: under a key naming a secret only a
 * boolean or null may stand (whether one was given, never what).
 * Returns 1 when clean, 0 otherwise.
 */
UNITTEST int
audit_clean(const json_t *v, int depth)
{
	const char	*key;
	json_t		*m;
	size_t		 i;

	if (depth > 8)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, m) {
			if (audit_secret_key(key) && !json_is_boolean(m) &&
			    !json_is_null(m))
				return 0;
			if (!audit_clean(m, depth + 1))
				return 0;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (!audit_clean(m, depth + 1))
				return 0;
	}
	return 1;
}

/*
 * Appends an entry to the audit log.  Must run inside the caller's write
 * transaction (db_begin()), so that the entry commits or vanishes with
 * the change it records, and so that the sequence number and the chain
 * cannot race another writer.  details (borrowed, may be NULL for {})
 * is stored as compact JSON with sorted keys.  Returns RP_OK;
 * RP_ERR_INTERNAL with code "secret_in_audit" when details holds a
 * secret (a bug in the caller: nothing is written); a database error.
 */
enum rp_err
audit_append(struct db *db, int64_t now, const char *actor,
    const char *action, const char *subject, const json_t *details,
    struct rp_errinfo *ei)
{
	struct audit_entry	 e;
	struct dbq		 q;
	char			*text = NULL, prev[AUDIT_HASH_LEN + 1];
	char			 hash[AUDIT_HASH_LEN + 1];
	const char		*last;
	enum rp_err		 er;

	if (actor == NULL || action == NULL || subject == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "audit_field",
		    "an audit entry lacks its actor, action or subject");
	if (details != NULL && !audit_clean(details, 0))
		return rp_fail(ei, RP_ERR_INTERNAL, "secret_in_audit",
		    "refused to write a secret to the audit log");
	text = details != NULL ? json_dumps(details,
	    JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	if (text == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	if (strlen(text) > AUDIT_DETAILS_MAX) {
		er = rp_fail(ei, RP_ERR_INTERNAL, "audit_too_large",
		    "audit details over %u bytes", AUDIT_DETAILS_MAX);
		goto out;
	}

	memcpy(prev, audit_zero, sizeof(prev));
	e.seq = 1;
	dbq_start(&q, db, DB_AUDIT_LAST);
	if (dbq_step(&q)) {
		e.seq = dbq_col_int(&q, 0) + 1;
		last = dbq_col_text(&q, 1);
		if (last == NULL || strlen(last) != AUDIT_HASH_LEN)
			q.err = RP_ERR_INTERNAL;
		else
			memcpy(prev, last, sizeof(prev));
	}
	if ((er = dbq_end(&q)) != RP_OK) {
		(void)rp_fail(ei, er, "db", "cannot read the audit log");
		goto out;
	}

	e.at = now;
	e.actor = actor;
	e.action = action;
	e.subject = subject;
	e.details = text;
	e.prev_hash = prev;
	if ((er = audit_hash(&e, hash)) != RP_OK) {
		(void)rp_fail(ei, er, "audit_hash", "cannot hash the entry");
		goto out;
	}
	dbq_start(&q, db, DB_AUDIT_ADD);
	dbq_int(&q, e.seq);
	dbq_int(&q, e.at);
	dbq_text(&q, actor);
	dbq_text(&q, action);
	dbq_text(&q, subject);
	dbq_text(&q, text);
	dbq_text(&q, prev);
	dbq_text(&q, hash);
	if ((er = dbq_exec(&q, NULL)) != RP_OK)
		(void)rp_fail(ei, er, "db", "cannot write the audit log");
out:
	free(text);
	return er;
}

/*
 * Reads the row in hand of an audit statement into e; the strings are
 * the statement's, valid until its next step.  Returns 0, or -1 for a
 * NULL where the schema forbids one (a damaged database).
 */
static int
audit_row(const struct dbq *q, struct audit_entry *e)
{
	e->seq = dbq_col_int(q, 0);
	e->at = dbq_col_int(q, 1);
	e->actor = dbq_col_text(q, 2);
	e->action = dbq_col_text(q, 3);
	e->subject = dbq_col_text(q, 4);
	e->details = dbq_col_text(q, 5);
	e->prev_hash = dbq_col_text(q, 6);
	e->hash = dbq_col_text(q, 7);
	if (e->actor == NULL || e->action == NULL || e->subject == NULL ||
	    e->details == NULL || e->prev_hash == NULL || e->hash == NULL)
		return -1;
	/* A NUL inside a value would hide the bytes after it from the
	 * hash: such a row is damaged. */
	if (strlen(e->actor) != dbq_col_bytes(q, 2) ||
	    strlen(e->action) != dbq_col_bytes(q, 3) ||
	    strlen(e->subject) != dbq_col_bytes(q, 4) ||
	    strlen(e->details) != dbq_col_bytes(q, 5) ||
	    strlen(e->prev_hash) != dbq_col_bytes(q, 6) ||
	    strlen(e->hash) != dbq_col_bytes(q, 7))
		return -1;
	return 0;
}

/*
 * Walks the whole log in sequence order and checks that the numbers run
 * 1, 2, 3 ... without a gap, that each entry names its predecessor's
 * hash and that each hash is right.  Returns RP_OK with *count entries
 * and head the last hash (64 zeros for an empty log); RP_ERR_CONFLICT
 * ("audit_broken") with *bad the first sequence number where the chain
 * breaks (the missing number for a deleted entry); a database error.
 */
enum rp_err
audit_verify(struct db *db, int64_t *count, int64_t *bad, char head[65],
    struct rp_errinfo *ei)
{
	struct audit_entry	 e;
	struct dbq		 q;
	char			 prev[AUDIT_HASH_LEN + 1];
	char			 hash[AUDIT_HASH_LEN + 1];
	int64_t			 want = 1;
	enum rp_err		 er;

	*count = 0;
	*bad = 0;
	memcpy(prev, audit_zero, sizeof(prev));
	dbq_start(&q, db, DB_AUDIT_ALL);
	while (dbq_step(&q)) {
		if (audit_row(&q, &e) == -1 || e.seq != want ||
		    strcmp(e.prev_hash, prev) != 0 ||
		    audit_hash(&e, hash) != RP_OK ||
		    strcmp(hash, e.hash) != 0) {
			*bad = want;
			break;
		}
		memcpy(prev, hash, sizeof(prev));
		want++;
	}
	if ((er = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, er, "db", "cannot read the audit log");
	*count = want - 1;
	memcpy(head, prev, AUDIT_HASH_LEN + 1);
	if (*bad != 0)
		return rp_fail(ei, RP_ERR_CONFLICT, "audit_broken",
		    "audit chain broken at sequence %lld", (long long)*bad);
	return RP_OK;
}

/*
 * Calls fn(arg, entry) for each entry about subject (all entries when
 * subject is NULL) in sequence order, until fn returns non-zero.  The
 * entry's strings are valid during the call only.  Returns RP_OK or a
 * database error (RP_ERR_INTERNAL for a damaged row).
 */
enum rp_err
audit_each(struct db *db, const char *subject,
    int (*fn)(void *, const struct audit_entry *), void *arg)
{
	struct audit_entry	 e;
	struct dbq		 q;

	if (subject != NULL) {
		dbq_start(&q, db, DB_AUDIT_OF);
		dbq_text(&q, subject);
	} else
		dbq_start(&q, db, DB_AUDIT_ALL);
	while (dbq_step(&q)) {
		if (audit_row(&q, &e) == -1) {
			q.err = RP_ERR_INTERNAL;
			break;
		}
		if (fn(arg, &e) != 0)
			break;
	}
	return dbq_end(&q);
}

/*
 * Reads the last entry's sequence number into *seq (0 for an empty log)
 * and its stored hash into head (64 zeros for an empty log).  Returns
 * RP_OK or a database error.
 */
enum rp_err
audit_head(struct db *db, int64_t *seq, char head[65])
{
	struct dbq	 q;
	const char	*h;

	*seq = 0;
	memcpy(head, audit_zero, AUDIT_HASH_LEN + 1);
	dbq_start(&q, db, DB_AUDIT_LAST);
	if (dbq_step(&q)) {
		*seq = dbq_col_int(&q, 0);
		h = dbq_col_text(&q, 1);
		if (h == NULL || strlen(h) != AUDIT_HASH_LEN)
			q.err = RP_ERR_INTERNAL;
		else
			memcpy(head, h, AUDIT_HASH_LEN + 1);
	}
	return dbq_end(&q);
}

/*
 * Copies the stored hash of entry seq into out.  Returns RP_OK,
 * RP_ERR_NOT_FOUND when the log has no such entry, or a database error.
 */
enum rp_err
audit_hash_at(struct db *db, int64_t seq, char out[65])
{
	struct dbq	 q;
	const char	*h;
	enum rp_err	 e;
	int		 found = 0;

	out[0] = '\0';
	dbq_start(&q, db, DB_AUDIT_AT);
	dbq_int(&q, seq);
	if (dbq_step(&q)) {
		found = 1;
		h = dbq_col_text(&q, 0);
		if (h == NULL || strlen(h) != AUDIT_HASH_LEN)
			q.err = RP_ERR_INTERNAL;
		else
			memcpy(out, h, AUDIT_HASH_LEN + 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return e;
	return found ? RP_OK : RP_ERR_NOT_FOUND;
}

/* The meta key holding the last sequence number audit_anchor() logged. */
#define AUDIT_ANCHOR_KEY	"audit_anchored_seq"

/*
 * Logs the head of the log ("event=audit_head seq=N hash=H") when it
 * moved since the last call, in one write transaction with the
 * remembered sequence number, so that each head is logged once.  The
 * log line goes out before the commit: a failed commit at worst logs a
 * head twice, never skips one.  *logged says whether it wrote.  Returns
 * RP_OK or a database error.
 */
enum rp_err
audit_anchor(struct db *db, int *logged, struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		 head[AUDIT_HASH_LEN + 1], num[32], *end;
	const char	*v;
	long long	 last = 0;
	int64_t		 seq;
	enum rp_err	 e;

	*logged = 0;
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	if ((e = audit_head(db, &seq, head)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot read the audit log");
		goto fail;
	}
	dbq_start(&q, db, DB_META_GET);
	dbq_text(&q, AUDIT_ANCHOR_KEY);
	if (dbq_step(&q) && (v = dbq_col_text(&q, 0)) != NULL) {
		errno = 0;
		last = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || last < 0)
			last = 0;	/* damaged: log the head again */
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot read the meta table");
		goto fail;
	}
	if (seq == last) {
		db_rollback(db);
		return RP_OK;
	}
	rplog(RPLOG_INFO, "audit_head", "seq=%lld hash=%s", (long long)seq,
	    head);
	*logged = 1;
	(void)snprintf(num, sizeof(num), "%lld", (long long)seq);
	dbq_start(&q, db, DB_META_SET);
	dbq_text(&q, AUDIT_ANCHOR_KEY);
	dbq_text(&q, num);
	if ((e = dbq_exec(&q, NULL)) != RP_OK) {
		(void)rp_fail(ei, e, "db", "cannot write the meta table");
		goto fail;
	}
	if ((e = db_commit(db)) != RP_OK)
		return rp_fail(ei, e, "db_commit", "cannot commit");
	return RP_OK;
fail:
	db_rollback(db);
	return e;
}
