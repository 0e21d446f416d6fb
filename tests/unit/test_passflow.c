/*
 * Tests of passflow.c against a migrated temporary database: the
 * passphrase check with its lockout (at exactly max_failures, not
 * before; reset by a right passphrase; a locked one stays locked), the
 * precedence of a certificate's own passphrase over its token's, one
 * answer for unknown serials, serials of two issuers without the
 * issuer, certificates without a passphrase and wrong passphrases (the
 * same code, message, database error and time: the answer floor, also
 * against a stored hash costlier than the setting), the re-hash of old
 * costs, a passphrase changed during its check, the target pinned by
 * issuer and serial, an audit log without the passphrase, the rate
 * limit and its windows (IPv6 by /64), the sweep, the idempotency
 * records scoped by passphrase, and the wiped JSON parse error of the
 * passphrase API.
 */
#include <time.h>

#include <argon2.h>

#include "unit.h"
#include "unit_db.h"

/* http_parse.c's test hook (RP_UNITTEST). */
void	 http_test_jerr(void (*)(const void *, size_t));

#define SEC	1000LL
#define DAY	(24LL * 3600 * SEC)
#define T0	1767225600000LL		/* 2026-01-01T00:00:00Z */
#define NOW	(T0 + DAY)

static const char issuer[] = "CN=Test Qualified CA,O=Test TSP,C=SI";
static const char issuer2[] = "CN=Other CA,O=Other TSP,C=SI";

/* The passphrases of the tests and their hashes (made once in main). */
static const char P1[] = "first card passphrase";
static const char P2[] = "own certificate secret";
static char H1[RP_PASS_HASH_MAX], H2[RP_PASS_HASH_MAX];

/* Registers a personal certificate; hash may be NULL.  Returns its row. */
static int64_t
cert(struct udb *t, const char *iss, const char *serial, const char *token,
    const char *hash)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	int64_t			 id = 0;

	memset(&ci, 0, sizeof(ci));
	(void)snprintf(ci.issuer, sizeof(ci.issuer), "%s", iss);
	(void)snprintf(ci.subject, sizeof(ci.subject), "CN=Holder %s", serial);
	(void)snprintf(ci.serial, sizeof(ci.serial), "%s", serial);
	(void)snprintf(ci.common_name, sizeof(ci.common_name), "Holder");
	(void)snprintf(ci.person_id, sizeof(ci.person_id), "PNOSI-%s",
	    serial);
	(void)snprintf(ci.aki, sizeof(ci.aki), "0A0B0C");
	(void)snprintf(ci.sha256, sizeof(ci.sha256), "%064zx",
	    strlen(iss) * 7919u + strtoul(serial, NULL, 16));
	ci.not_before = T0;
	ci.not_after = T0 + 5 * 365 * DAY;
	ci.pem = (char *)"-----BEGIN CERTIFICATE-----\n-----END "
	    "CERTIFICATE-----\n";
	memset(&ri, 0, sizeof(ri));
	ri.type = CT_PERSONAL;
	ri.term_years = 5;
	ri.token = token;
	ri.token_kind = "smartcard";
	ri.qscd = token != NULL;
	ri.pass_hash = hash;
	ri.actor = "admin:test";
	ri.now = T0;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import %s: %s %s", serial, ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
	return id;
}

/* Gives certificate row id its own passphrase, as an attacker with the
 * sqlite3 tool (or an older import) could. */
static void
own_pass(struct udb *t, int64_t id, const char *hash)
{
	char	 sql[512];

	(void)snprintf(sql, sizeof(sql), "INSERT INTO passphrases "
	    "(certificate_id, hash, updated_at) VALUES (%lld, '%s', 0)",
	    (long long)id, hash);
	(void)udb_raw(t, sql);
}

static long long
q(struct udb *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* udb_raw() of a formatted statement. */
static long long
q(struct udb *t, const char *fmt, ...)
{
	char	 sql[1024];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return udb_raw(t, sql);
}

/* One check of serial with pass; returns the error, fills ei. */
static enum rp_err
chk(struct udb *t, const char *serial, const char *pass,
    struct rp_errinfo *ei)
{
	struct pf_target	 tg;

	memset(ei, 0, sizeof(*ei));
	return pf_check(t->db, &t->cfg, NULL, serial, NULL, pass,
	    pass != NULL ? strlen(pass) : 0, "passphrase", NOW, &tg, ei);
}

static enum rp_err
chk_token(struct udb *t, const char *label, const char *pass,
    struct rp_errinfo *ei)
{
	struct pf_target	 tg;

	memset(ei, 0, sizeof(*ei));
	return pf_check(t->db, &t->cfg, NULL, NULL, label, pass,
	    strlen(pass), "passphrase", NOW, &tg, ei);
}

/* Seconds on the monotonic clock. */
static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* chk(), timed: returns the milliseconds it took, the error in *e. */
static double
timed_chk(struct udb *t, const char *serial, const char *pass,
    struct rp_errinfo *ei, enum rp_err *e)
{
	double	 t0 = mono();

	*e = chk(t, serial, pass, ei);
	return (mono() - t0) * 1000;
}

/* The hash of pass at cost m, t (one lane) with a fixed salt, made with
 * libargon2 directly: pass_hash() would refuse a short passphrase. */
static void
raw_hash(const char *pass, uint32_t m, uint32_t tc, char *out, size_t sz)
{
	static const unsigned char salt[16] = "0123456789abcdef";

	assert_int_equal(argon2id_hash_encoded(tc, m, 1, pass, strlen(pass),
	    salt, sizeof(salt), 32, out, sz), ARGON2_OK);
}

static void
audit_ok(struct udb *t)
{
	struct rp_errinfo	 ei;
	int64_t			 c, bad;
	char			 head[65];

	assert_int_equal(audit_verify(t->db, &c, &bad, head, &ei), RP_OK);
}

static void
test_right_passphrase(void **state)
{
	struct udb		*t = *state;
	struct pf_target	 tg;
	struct rp_errinfo	 ei;
	int64_t			 id;

	id = cert(t, issuer, "1A", NULL, H1);
	assert_int_equal(pf_check(t->db, &t->cfg, NULL, "1A", NULL, P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_OK);
	assert_int_equal(tg.cert, id);
	assert_int_equal(tg.token, 0);
	assert_int_equal(tg.pass, q(t, "SELECT id FROM passphrases"));
	assert_string_equal(tg.serial, "1A");
	assert_string_equal(tg.token_label, "");
	/* The target is pinned: the stored issuer, though none was given. */
	assert_string_equal(tg.issuer, issuer);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.ok' AND subject = 'certificate:1A' AND actor = "
	    "'passphrase'"), 1);
	/* With the issuer named, too; with another issuer it is unknown. */
	assert_int_equal(pf_check(t->db, &t->cfg, issuer, "1A", NULL, P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_OK);
	assert_int_equal(pf_check(t->db, &t->cfg, issuer2, "1A", NULL, P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_ERR_AUTH);
	/* Not a target: both or neither of serial and token. */
	assert_int_equal(pf_check(t->db, &t->cfg, NULL, "1A", "CARD", P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_ERR_INTERNAL);
	assert_int_equal(pf_check(t->db, &t->cfg, NULL, NULL, NULL, P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_ERR_INTERNAL);
	assert_int_equal(pf_check(t->db, &t->cfg, NULL, "1A", NULL, P1,
	    strlen(P1), NULL, NOW, &tg, &ei), RP_ERR_INTERNAL);
	audit_ok(t);
}

/* max_failures 3: two wrong entries count, the third locks and already
 * answers 423; then even the right passphrase is refused. */
static void
test_lockout_exact(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;

	t->cfg.policy.max_failures = 3;
	(void)snprintf(t->cfg.hotline, sizeof(t->cfg.hotline),
	    "+386 1 555 01 23");
	(void)cert(t, issuer, "2A", NULL, H1);
	assert_int_equal(chk(t, "2A", P2, &ei), RP_ERR_AUTH);
	assert_string_equal(ei.code, "auth_failed");
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 1);
	assert_int_equal(chk(t, "2A", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 2);
	assert_int_equal(q(t, "SELECT locked_at IS NULL FROM passphrases"),
	    1);
	assert_int_equal(chk(t, "2A", P2, &ei), RP_ERR_LOCKED);
	assert_string_equal(ei.code, "passphrase_locked");
	assert_non_null(strstr(ei.msg, "+386 1 555 01 23"));
	assert_non_null(strstr(ei.msg, "signed"));
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 3);
	assert_int_equal(q(t, "SELECT locked_at FROM passphrases"), NOW);
	/* The right passphrase does not unlock it, nor does it count. */
	assert_int_equal(chk(t, "2A", P1, &ei), RP_ERR_LOCKED);
	assert_int_equal(chk(t, "2A", P2, &ei), RP_ERR_LOCKED);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 3);
	assert_int_equal(q(t, "SELECT locked_at FROM passphrases"), NOW);
	/* Audited: three failures with their counts, the lock, and two
	 * attempts on the locked passphrase. */
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.failed'"), 3);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.failed' AND details LIKE '%%\"failures\":3%%'"), 1);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.locked' AND details LIKE '%%\"locked_now\":true%%'"),
	    1);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.locked' AND details LIKE "
	    "'%%\"locked_now\":false%%'"), 2);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.ok'"), 0);
	audit_ok(t);
}

/* With max_failures 1 the first wrong entry locks. */
static void
test_lockout_one(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;

	t->cfg.policy.max_failures = 1;
	t->cfg.hotline[0] = '\0';
	(void)cert(t, issuer, "2B", NULL, H1);
	assert_int_equal(chk(t, "2B", P2, &ei), RP_ERR_LOCKED);
	/* No hotline configured: the message does not dangle. */
	assert_null(strstr(ei.msg, "hotline"));
	assert_int_equal(chk(t, "2B", P1, &ei), RP_ERR_LOCKED);
}

static void
test_reset_on_success(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;

	t->cfg.policy.max_failures = 3;
	(void)cert(t, issuer, "3A", NULL, H1);
	assert_int_equal(chk(t, "3A", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(chk(t, "3A", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(chk(t, "3A", P1, &ei), RP_OK);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 0);
	/* Two more wrong ones do not lock: the count started again. */
	assert_int_equal(chk(t, "3A", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(chk(t, "3A", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT locked_at IS NULL FROM passphrases"),
	    1);
	assert_int_equal(chk(t, "3A", P1, &ei), RP_OK);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.ok' AND details LIKE '%%\"failures\":2%%'"), 2);
	/* A locked state written behind its back is honoured. */
	(void)udb_raw(t, "UPDATE passphrases SET locked_at = 5, failures = 9");
	assert_int_equal(chk(t, "3A", P1, &ei), RP_ERR_LOCKED);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 9);
}

/*
 * A certificate's own passphrase comes before its token's; a token
 * request uses the token's; a certificate of the token without its own
 * passphrase uses the token's, and its failures count on the token.
 */
static void
test_token_precedence(void **state)
{
	struct udb		*t = *state;
	struct pf_target	 tg;
	struct rp_errinfo	 ei;
	int64_t			 own, other, card;

	t->cfg.policy.max_failures = 5;
	own = cert(t, issuer, "4A", "CARD-4", H1);
	other = cert(t, issuer, "4B", "CARD-4", NULL);
	own_pass(t, own, H2);
	card = q(t, "SELECT id FROM tokens WHERE label = 'CARD-4'");
	assert_int_equal(q(t, "SELECT count(*) FROM passphrases"), 2);

	assert_int_equal(chk(t, "4A", P2, &ei), RP_OK);
	assert_int_equal(chk(t, "4A", P1, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT failures FROM passphrases WHERE "
	    "certificate_id = %lld", (long long)own), 1);
	assert_int_equal(q(t, "SELECT failures FROM passphrases WHERE "
	    "token_id = %lld", (long long)card), 0);

	assert_int_equal(chk(t, "4B", P1, &ei), RP_OK);
	assert_int_equal(chk(t, "4B", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT failures FROM passphrases WHERE "
	    "token_id = %lld", (long long)card), 1);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.failed' AND subject = 'certificate:4B' AND details "
	    "LIKE '%%\"scope\":\"token\"%%'"), 1);

	assert_int_equal(pf_check(t->db, &t->cfg, NULL, NULL, "CARD-4", P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_OK);
	assert_int_equal(tg.token, card);
	assert_int_equal(tg.cert, 0);
	assert_string_equal(tg.token_label, "CARD-4");
	assert_string_equal(tg.issuer, "");
	assert_string_equal(tg.serial, "");
	assert_int_equal(q(t, "SELECT failures FROM passphrases WHERE "
	    "token_id = %lld", (long long)card), 0);
	assert_int_equal(chk_token(t, "CARD-4", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE subject = "
	    "'token:CARD-4'"), 2);
	/* An unknown token and an empty label are unknown targets. */
	assert_int_equal(chk_token(t, "CARD-X", P1, &ei), RP_ERR_AUTH);
	assert_int_equal(chk_token(t, "", P1, &ei), RP_ERR_AUTH);
	(void)other;
	audit_ok(t);
}

/*
 * Unknown serial, certificate without a passphrase, wrong passphrase:
 * the same error, code and message.  The first two lock nothing and
 * write nothing.
 */
static void
test_one_answer(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 unknown, nopass, wrong;
	long long		 audit;
	int			 i;

	t->cfg.policy.max_failures = 3;
	(void)cert(t, issuer, "5A", NULL, H1);
	(void)cert(t, issuer, "5B", NULL, NULL);
	audit = q(t, "SELECT count(*) FROM audit");
	for (i = 0; i < 10; i++) {
		assert_int_equal(chk(t, "5C", P1, &unknown), RP_ERR_AUTH);
		assert_int_equal(chk(t, "5B", P1, &nopass), RP_ERR_AUTH);
	}
	assert_int_equal(q(t, "SELECT count(*) FROM audit"), audit);
	assert_int_equal(q(t, "SELECT count(*) FROM passphrases WHERE "
	    "failures > 0 OR locked_at IS NOT NULL"), 0);
	assert_int_equal(q(t, "SELECT count(*) FROM passphrases"), 1);
	assert_int_equal(chk(t, "5A", P2, &wrong), RP_ERR_AUTH);
	assert_string_equal(unknown.code, wrong.code);
	assert_string_equal(nopass.code, wrong.code);
	assert_string_equal(unknown.msg, wrong.msg);
	assert_string_equal(nopass.msg, wrong.msg);
	assert_string_equal(wrong.code, "auth_failed");
	/* A passphrase of no length, or too long to be one, is wrong too. */
	assert_int_equal(chk(t, "5A", "", &wrong), RP_ERR_AUTH);
	assert_int_equal(chk(t, "5A", NULL, &wrong), RP_ERR_LOCKED);
}

/* Nothing of the passphrase reaches the audit log: not the text, not
 * its length, no key but the count, scope and lock flag. */
static void
test_audit_has_no_passphrase(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	char			 sql[256];

	t->cfg.policy.max_failures = 3;
	(void)cert(t, issuer, "6A", NULL, H1);
	(void)chk(t, "6A", P2, &ei);
	(void)chk(t, "6A", P1, &ei);
	(void)chk(t, "6A", "wrong-wrong-wrong", &ei);
	(void)chk(t, "6A", "wrong-wrong-wrong", &ei);
	(void)chk(t, "6A", "wrong-wrong-wrong", &ei);
	(void)chk(t, "6A", P1, &ei);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action LIKE "
	    "'passphrase.%%'"), 7);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
	    "instr(details || actor || subject, '%s') OR instr(details || "
	    "actor || subject, '%s') OR instr(details, 'wrong-wrong')", P1,
	    P2);
	assert_int_equal(udb_raw(t, sql), 0);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action LIKE "
	    "'passphrase.%%' AND (instr(details, 'len') OR "
	    "instr(details, 'argon') OR json_extract(details, '$.failures') "
	    "IS NULL)"), 0);
	assert_int_equal(q(t, "SELECT count(*) FROM audit, json_each("
	    "audit.details) WHERE audit.action LIKE 'passphrase.%%' AND "
	    "json_each.key NOT IN ('failures', 'scope', 'locked_now', "
	    "'rehashed')"), 0);
}

/*
 * A serial of two issuers without the issuer answers exactly as an
 * unknown serial (before authentication nobody learns that the serial
 * exists twice): 401, the same code and message, nothing counted or
 * audited.  With the issuer named, each certificate is its own.
 */
static void
test_ambiguous_serial(void **state)
{
	struct udb		*t = *state;
	struct pf_target	 tg;
	struct rp_errinfo	 ei, unknown;
	long long		 audit;

	(void)cert(t, issuer, "7A", NULL, H1);
	(void)cert(t, issuer2, "7A", NULL, H2);
	audit = q(t, "SELECT count(*) FROM audit");
	assert_int_equal(chk(t, "7B", P1, &unknown), RP_ERR_AUTH);
	assert_int_equal(chk(t, "7A", P1, &ei), RP_ERR_AUTH);
	assert_string_equal(ei.code, unknown.code);
	assert_string_equal(ei.msg, unknown.msg);
	assert_non_null(strstr(ei.msg, "issuer"));
	assert_int_equal(chk(t, "7A", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT count(*) FROM audit"), audit);
	assert_int_equal(q(t, "SELECT count(*) FROM passphrases WHERE "
	    "failures > 0"), 0);
	assert_int_equal(pf_check(t->db, &t->cfg, issuer2, "7A", NULL, P2,
	    strlen(P2), "passphrase", NOW, &tg, &ei), RP_OK);
	assert_string_equal(tg.issuer, issuer2);
	assert_int_equal(pf_check(t->db, &t->cfg, issuer2, "7A", NULL, P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_ERR_AUTH);
	assert_int_equal(tg.pass, 0);
	/* An empty issuer is no issuer. */
	assert_int_equal(pf_check(t->db, &t->cfg, "", "7A", NULL, P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_ERR_AUTH);
	assert_string_equal(ei.msg, unknown.msg);
}

/*
 * A busy database answers the same for every target (503 each): an
 * unknown one runs the same write transaction as a known one.
 */
static void
test_busy_same_for_all(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 known, unknown, nopass, amb;
	struct pf_target	 tg;

	(void)cert(t, issuer, "BA", NULL, H1);
	(void)cert(t, issuer, "BB", NULL, NULL);
	(void)cert(t, issuer, "BC", NULL, H1);
	(void)cert(t, issuer2, "BC", NULL, H1);
	db_fault_stmt(DB_BEGIN, SQLITE_BUSY);
	assert_int_equal(chk(t, "BA", P2, &known), RP_ERR_UNAVAILABLE);
	db_fault_stmt(DB_BEGIN, SQLITE_BUSY);
	assert_int_equal(chk(t, "BF", P2, &unknown), RP_ERR_UNAVAILABLE);
	db_fault_stmt(DB_BEGIN, SQLITE_BUSY);
	assert_int_equal(chk(t, "BB", P2, &nopass), RP_ERR_UNAVAILABLE);
	db_fault_stmt(DB_BEGIN, SQLITE_BUSY);
	assert_int_equal(chk(t, "BC", P2, &amb), RP_ERR_UNAVAILABLE);
	assert_string_equal(unknown.code, known.code);
	assert_string_equal(unknown.msg, known.msg);
	assert_string_equal(nopass.code, known.code);
	assert_string_equal(amb.msg, known.msg);
	db_fault_stmt(DB_BEGIN, SQLITE_BUSY);
	assert_int_equal(pf_check(t->db, &t->cfg, NULL, NULL, "NO-CARD", P1,
	    strlen(P1), "passphrase", NOW, &tg, &unknown), RP_ERR_UNAVAILABLE);
	assert_string_equal(unknown.msg, known.msg);
	assert_int_equal(q(t, "SELECT count(*) FROM passphrases WHERE "
	    "failures > 0"), 0);
	/* Without the fault, the usual answers. */
	assert_int_equal(chk(t, "BF", P2, &unknown), RP_ERR_AUTH);
	assert_int_equal(chk(t, "BA", P1, &known), RP_OK);
}

/*
 * Every answer takes at least the floor: unknown, no passphrase, wrong,
 * right, locked, and a busy database.
 */
static void
test_floor_every_answer(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	enum rp_err		 e;
	double			 ms;
	const double		 floor_ms = 150;

	t->cfg.argon2_floor_ms = (unsigned int)floor_ms;
	t->cfg.policy.max_failures = 2;
	(void)cert(t, issuer, "FA", NULL, H1);
	(void)cert(t, issuer, "FB", NULL, NULL);
#define FLOOR(ser, pass, want) do {					\
	ms = timed_chk(t, ser, pass, &ei, &e);				\
	assert_int_equal(e, want);					\
	if (ms < floor_ms)						\
		fail_msg("%s: %.1f ms < floor %.0f ms", ser, ms,	\
		    floor_ms);						\
} while (0)
	FLOOR("FC", P1, RP_ERR_AUTH);
	FLOOR("FB", P1, RP_ERR_AUTH);
	FLOOR("FA", P2, RP_ERR_AUTH);
	FLOOR("FA", P1, RP_OK);
	FLOOR("FA", P2, RP_ERR_AUTH);
	FLOOR("FA", P2, RP_ERR_LOCKED);
	FLOOR("FA", P1, RP_ERR_LOCKED);
	db_fault_stmt(DB_BEGIN, SQLITE_BUSY);
	FLOOR("FC", P1, RP_ERR_UNAVAILABLE);
#undef FLOOR
	/* Floor 0: none (the unit tests' default; main.c measures one). */
	t->cfg.argon2_floor_ms = 0;
	assert_int_equal(chk(t, "FC", P1, &ei), RP_ERR_AUTH);
}

/*
 * A stored hash costlier than the setting (imported from elsewhere, or
 * made before the setting went down) verifies slower than the dummy of
 * an unknown serial; a floor above its time makes both answers take the
 * same time.
 */
static void
test_floor_costly_hash(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 unknown, wrong;
	char			 costly[RP_PASS_HASH_MAX];
	double			 t0, v = 1e9, d, tu = 0, tw = 0, mu = 1e9;
	double			 mw = 1e9;
	enum rp_err		 e;
	unsigned int		 floor_ms;
	int			 i;

	assert_int_equal(pass_cost_set(65536, 3, 1), RP_OK);
	assert_int_equal(pass_hash(P1, strlen(P1), costly, sizeof(costly)),
	    RP_OK);
	assert_int_equal(pass_cost_set(19456, 2, 1), RP_OK);
	assert_int_equal(pass_dummy_init(), RP_OK);
	(void)cert(t, issuer, "CA", NULL, costly);
	t->cfg.policy.max_failures = 20;
	for (i = 0; i < 2; i++) {
		t0 = mono();
		(void)pass_verify(costly, P2, strlen(P2));
		if ((d = (mono() - t0) * 1000) < v)
			v = d;
	}
	floor_ms = (unsigned int)(v * 3) + 100;
	t->cfg.argon2_floor_ms = floor_ms;
	for (i = 0; i < 2; i++) {
		d = timed_chk(t, "CB", P2, &unknown, &e);
		assert_int_equal(e, RP_ERR_AUTH);
		tu += d;
		mu = d < mu ? d : mu;
		d = timed_chk(t, "CA", P2, &wrong, &e);
		assert_int_equal(e, RP_ERR_AUTH);
		tw += d;
		mw = d < mw ? d : mw;
	}
	tu /= 2;
	tw /= 2;
	print_message("costly hash %.1f ms, floor %u ms: unknown %.1f ms, "
	    "wrong %.1f ms\n", v, floor_ms, tu, tw);
	if (mu < floor_ms || mw < floor_ms)
		fail_msg("under the floor %u ms: unknown %.1f, wrong %.1f",
		    floor_ms, mu, mw);
	if (tw - tu > floor_ms * 0.25 || tu - tw > floor_ms * 0.25)
		fail_msg("unknown %.1f ms, wrong %.1f ms: differ by more than "
		    "%.1f ms", tu, tw, floor_ms * 0.25);
	assert_string_equal(unknown.msg, wrong.msg);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 2);
}

/*
 * A right passphrase under a hash of another cost is hashed again at the
 * current cost, in the transaction that resets the count, and audited
 * as "rehashed"; a wrong one, a locked one and one the current rules
 * would not accept keep their hash.
 */
static void
test_rehash(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	char			 old[RP_PASS_HASH_MAX], shorth[RP_PASS_HASH_MAX];
	int64_t			 a, b, c;

	t->cfg.policy.max_failures = 5;
	raw_hash(P1, 20480, 3, old, sizeof(old));
	raw_hash("short", 20480, 3, shorth, sizeof(shorth));
	a = cert(t, issuer, "E1", NULL, old);
	b = cert(t, issuer, "E2", NULL, old);
	c = cert(t, issuer, "E3", NULL, shorth);
#define HASH_IS(id, h)	assert_int_equal(q(t, "SELECT hash = '%s' FROM "  \
	"passphrases WHERE certificate_id = %lld", (h), (long long)(id)), 1)
	assert_int_equal(chk(t, "E1", P2, &ei), RP_ERR_AUTH);
	HASH_IS(a, old);
	assert_int_equal(chk(t, "E1", P1, &ei), RP_OK);
	assert_int_equal(q(t, "SELECT count(*) FROM passphrases WHERE "
	    "certificate_id = %lld AND failures = 0 AND hash LIKE "
	    "'$argon2id$v=19$m=19456,t=2,p=1$%%'", (long long)a), 1);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.ok' AND subject = 'certificate:E1' AND "
	    "json_extract(details, '$.rehashed') = 1 AND "
	    "json_extract(details, '$.failures') = 1"), 1);
	/* The new hash holds the same passphrase, and is not made again. */
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE "
	    "json_extract(details, '$.rehashed') IS NOT NULL"), 1);
	assert_int_equal(chk(t, "E1", P1, &ei), RP_OK);
	assert_int_equal(chk(t, "E1", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT count(*) FROM audit WHERE "
	    "json_extract(details, '$.rehashed') IS NOT NULL"), 1);
	/* Locked: right or not, nothing changes. */
	(void)udb_raw(t, "UPDATE passphrases SET locked_at = 5 WHERE "
	    "certificate_id IN (SELECT id FROM certificates WHERE serial = "
	    "'E2')");
	assert_int_equal(chk(t, "E2", P1, &ei), RP_ERR_LOCKED);
	HASH_IS(b, old);
	/* A passphrase pass_hash() refuses (too short) keeps its hash. */
	assert_int_equal(chk(t, "E3", "short", &ei), RP_OK);
	HASH_IS(c, shorth);
	/* A failing re-hash is no failure of the check. */
	(void)udb_raw(t, "UPDATE passphrases SET locked_at = NULL, "
	    "failures = 0");
	pass_fault_next();
	assert_int_equal(chk(t, "E2", P1, &ei), RP_OK);
	HASH_IS(b, old);
	assert_int_equal(chk(t, "E2", P1, &ei), RP_OK);
	assert_int_equal(q(t, "SELECT hash LIKE '$argon2id$v=19$m=19456,t=2,"
	    "p=1$%%' FROM passphrases WHERE certificate_id = %lld",
	    (long long)b), 1);
#undef HASH_IS
	audit_ok(t);
}

/* pf_test_between(): swaps the passphrases' hash between H1 and H2. */
static void
swap_hash(void *arg)
{
	struct udb	*t = arg;

	(void)q(t, "UPDATE passphrases SET hash = CASE WHEN hash = '%s' "
	    "THEN '%s' ELSE '%s' END", H1, H2, H1);
}

/*
 * A passphrase changed between its verification and its count (an
 * administrator set a new one) fails closed: 401, nothing counted,
 * nothing audited, the new hash kept.
 */
static void
test_hash_changed_meanwhile(void **state)
{
	struct udb		*t = *state;
	struct pf_target	 tg;
	struct rp_errinfo	 ei, unknown;
	long long		 audit;

	t->cfg.policy.max_failures = 5;
	(void)cert(t, issuer, "D1", NULL, H1);
	audit = q(t, "SELECT count(*) FROM audit");
	assert_int_equal(chk(t, "D9", P1, &unknown), RP_ERR_AUTH);
	pf_test_between(swap_hash, t);
	/* Right for the hash read, which is gone by the count. */
	assert_int_equal(pf_check(t->db, &t->cfg, NULL, "D1", NULL, P1,
	    strlen(P1), "passphrase", NOW, &tg, &ei), RP_ERR_AUTH);
	assert_string_equal(ei.msg, unknown.msg);
	assert_int_equal(tg.pass, 0);
	assert_int_equal(q(t, "SELECT hash = '%s' FROM passphrases", H2), 1);
	/* Wrong for the hash read: not counted either. */
	assert_int_equal(chk(t, "D1", P1, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT hash = '%s' FROM passphrases", H1), 1);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 0);
	assert_int_equal(q(t, "SELECT count(*) FROM audit"), audit);
	pf_test_between(NULL, NULL);
	assert_int_equal(chk(t, "D1", P1, &ei), RP_OK);
	assert_int_equal(chk(t, "D1", P2, &ei), RP_ERR_AUTH);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 1);
}

/* A failure to store the count refuses and stores nothing. */
static void
test_count_fails_closed(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	long long		 audit;

	(void)cert(t, issuer, "8A", NULL, H1);
	audit = q(t, "SELECT count(*) FROM audit");
	db_fault_stmt(DB_PF_PASS_SET, SQLITE_FULL);
	assert_int_equal(chk(t, "8A", P2, &ei), RP_ERR_UNAVAILABLE);
	db_fault_stmt(DB_PF_PASS_SET, SQLITE_FULL);
	assert_int_equal(chk(t, "8A", P1, &ei), RP_ERR_UNAVAILABLE);
	db_fault_stmt(DB_COMMIT, SQLITE_FULL);
	assert_int_equal(chk(t, "8A", P2, &ei), RP_ERR_UNAVAILABLE);
	db_fault_stmt(DB_BEGIN, SQLITE_BUSY);
	assert_int_equal(chk(t, "8A", P1, &ei), RP_ERR_UNAVAILABLE);
	assert_int_equal(q(t, "SELECT failures FROM passphrases"), 0);
	assert_int_equal(q(t, "SELECT count(*) FROM audit"), audit);
	assert_int_equal(chk(t, "8A", P1, &ei), RP_OK);
}

/* The fixed window: rate_attempts pass, the next is refused with the
 * seconds to the window's end, and the next window starts afresh. */
static void
test_rate_window(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	unsigned int		 ra = 99;
	int			 i;

	t->cfg.rate_attempts = 3;
	t->cfg.rate_window = 60;
	for (i = 0; i < 3; i++) {
		assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1",
		    NOW + i * SEC, &ra, &ei), RP_OK);
		assert_int_equal(ra, 0);
	}
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1", NOW + 10 * SEC,
	    &ra, &ei), RP_ERR_RATE);
	assert_string_equal(ei.code, "rate_limited");
	assert_int_equal(ra, 50);
	/* Rounded up: 49.5 s to wait is 50. */
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1",
	    NOW + 10 * SEC + 500, &ra, &ei), RP_ERR_RATE);
	assert_int_equal(ra, 50);
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1",
	    NOW + 59 * SEC + 500, &ra, &ei), RP_ERR_RATE);
	assert_int_equal(ra, 1);
	/* Another address has its own allowance. */
	assert_int_equal(pf_rate(t->db, &t->cfg, "2001:db8::1", NOW + 10 * SEC,
	    &ra, &ei), RP_OK);
	/* The window ends 60 s after its first attempt. */
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1", NOW + 60 * SEC,
	    &ra, &ei), RP_OK);
	assert_int_equal(q(t, "SELECT hits FROM rate_limits WHERE key = "
	    "'pass:192.0.2.1'"), 1);
	assert_int_equal(q(t, "SELECT window_start FROM rate_limits WHERE "
	    "key = 'pass:192.0.2.1'"), NOW + 60 * SEC);
	for (i = 0; i < 2; i++)
		assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1",
		    NOW + 61 * SEC, &ra, &ei), RP_OK);
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1", NOW + 61 * SEC,
	    &ra, &ei), RP_ERR_RATE);
	assert_int_equal(ra, 59);
	/* A clock that went back starts a new window rather than waiting. */
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1", NOW, &ra, &ei),
	    RP_OK);
}

/* No address, an empty one and a strange one all count as "unknown". */
static void
test_rate_unknown_client(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	unsigned int		 ra;
	char			 longaddr[200];

	t->cfg.rate_attempts = 3;
	t->cfg.rate_window = 60;
	memset(longaddr, '1', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	assert_int_equal(pf_rate(t->db, &t->cfg, NULL, NOW, &ra, &ei), RP_OK);
	assert_int_equal(pf_rate(t->db, &t->cfg, "", NOW, &ra, &ei), RP_OK);
	assert_int_equal(pf_rate(t->db, &t->cfg, "a b", NOW, &ra, &ei),
	    RP_OK);
	assert_int_equal(pf_rate(t->db, &t->cfg, longaddr, NOW, &ra, &ei),
	    RP_ERR_RATE);
	assert_int_equal(q(t, "SELECT count(*) FROM rate_limits"), 1);
	assert_int_equal(q(t, "SELECT hits FROM rate_limits WHERE key = "
	    "'pass:unknown'"), 4);
}

static void
test_rate_sweep(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	unsigned int		 ra, n = 99;

	t->cfg.rate_window = 60;
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1", NOW, &ra, &ei),
	    RP_OK);
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.2", NOW + 30 * SEC,
	    &ra, &ei), RP_OK);
	assert_int_equal(pf_sweep(t->db, &t->cfg, NOW + 59 * SEC, &n, &ei),
	    RP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(pf_sweep(t->db, &t->cfg, NOW + 60 * SEC, &n, &ei),
	    RP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(q(t, "SELECT count(*) FROM rate_limits WHERE key = "
	    "'pass:192.0.2.2'"), 1);
	assert_int_equal(pf_sweep(t->db, &t->cfg, NOW + 90 * SEC, NULL, &ei),
	    RP_OK);
	assert_int_equal(q(t, "SELECT count(*) FROM rate_limits"), 0);
	/* A failing idempotency sweep is reported. */
	db_fault_stmt(DB_PF_IDEM_SWEEP, SQLITE_FULL);
	assert_int_equal(pf_sweep(t->db, &t->cfg, NOW, &n, &ei),
	    RP_ERR_UNAVAILABLE);
	/* A failing rate-limit store refuses (fail closed). */
	db_fault_stmt(DB_PF_RATE_HIT, SQLITE_FULL);
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1", NOW, &ra, &ei),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(q(t, "SELECT count(*) FROM rate_limits"), 0);
}

/*
 * Per client address, except that an IPv6 address counts for its /64
 * (and an IPv4-mapped one for its IPv4 address); other text as given.
 */
static void
test_rate_ipv6_64(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	unsigned int		 ra;

	t->cfg.rate_attempts = 2;
	t->cfg.rate_window = 60;
#define RATE(addr, want) assert_int_equal(pf_rate(t->db, &t->cfg, addr, \
	NOW, &ra, &ei), want)
	RATE("2001:db8:1:2::1", RP_OK);
	RATE("2001:db8:1:2:ffff:ffff:ffff:ffff", RP_OK);
	RATE("2001:DB8:1:2:0:0:0:77", RP_ERR_RATE);
	RATE("2001:db8:1:3::1", RP_OK);
	RATE("2001:db8:1:3::2", RP_OK);
	RATE("2001:db8:1:3:8000::", RP_ERR_RATE);
	assert_int_equal(q(t, "SELECT hits FROM rate_limits WHERE key = "
	    "'pass:2001:db8:1:2::/64'"), 3);
	assert_int_equal(q(t, "SELECT hits FROM rate_limits WHERE key = "
	    "'pass:2001:db8:1:3::/64'"), 3);
	RATE("::ffff:192.0.2.9", RP_OK);
	RATE("192.0.2.9", RP_OK);
	RATE("::ffff:c000:209", RP_ERR_RATE);
	assert_int_equal(q(t, "SELECT hits FROM rate_limits WHERE key = "
	    "'pass:192.0.2.9'"), 3);
	/* IPv4 addresses are not grouped. */
	RATE("192.0.2.10", RP_OK);
	assert_int_equal(q(t, "SELECT hits FROM rate_limits WHERE key = "
	    "'pass:192.0.2.10'"), 1);
	/* Not addresses: kept as they are. */
	RATE("staff:7", RP_OK);
	RATE("fe80::1%eth0", RP_OK);
	RATE("2001:db8::1::2", RP_OK);
	assert_int_equal(q(t, "SELECT count(*) FROM rate_limits WHERE key IN "
	    "('pass:staff:7', 'pass:fe80::1%%eth0', 'pass:2001:db8::1::2')"),
	    3);
	/* The whole /64 of ::1 and :: itself. */
	RATE("::1", RP_OK);
	RATE("::", RP_OK);
	assert_int_equal(q(t, "SELECT hits FROM rate_limits WHERE key = "
	    "'pass:::/64'"), 2);
#undef RATE
}

static void
test_idem_key_syntax(void **state)
{
	struct pf_idem		 id;
	struct rp_errinfo	 ei;
	char			 k[PF_IDEM_KEY_MAX + 2];

	(void)state;
	memset(k, 'k', sizeof(k));
	k[PF_IDEM_KEY_MAX] = '\0';
	assert_int_equal(pf_idem_init(&id, "api", k, ACT_SUSPEND, NULL, "1A",
	    NULL, REASON_UNSPECIFIED, NOW, &ei), RP_OK);
	/* Not bound to a passphrase yet. */
	assert_string_equal(id.key, "");
	assert_int_equal(strlen(id.fingerprint), 64);
	assert_int_equal(pf_idem_bind(&id, 0, &ei), RP_ERR_INTERNAL);
	assert_int_equal(pf_idem_bind(&id, -3, &ei), RP_ERR_INTERNAL);
	assert_string_equal(id.key, "");
	assert_int_equal(pf_idem_bind(&id, INT64_MAX, &ei), RP_OK);
	assert_int_equal(strlen(id.key), 4 + 19 + 1 + PF_IDEM_KEY_MAX);
	assert_int_equal(strncmp(id.key, "api:9223372036854775807:kkk", 27),
	    0);
	k[PF_IDEM_KEY_MAX] = 'k';
	k[PF_IDEM_KEY_MAX + 1] = '\0';
	assert_int_equal(pf_idem_init(&id, "api", k, ACT_SUSPEND, NULL, "1A",
	    NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_idempotency_key");
	assert_int_equal(pf_idem_init(&id, "api", "", ACT_SUSPEND, NULL, "1A",
	    NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(pf_idem_init(&id, "api", NULL, ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(pf_idem_init(&id, "api", "a b", ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(pf_idem_init(&id, "api", "a\tb", ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(pf_idem_init(&id, "api", "a\x7f", ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(pf_idem_init(&id, "api", "k\xc5\xa1", ACT_SUSPEND,
	    NULL, "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(pf_idem_init(&id, "api", "!~", ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_OK);
	assert_int_equal(pf_idem_bind(&id, 12, &ei), RP_OK);
	assert_string_equal(id.key, "api:12:!~");
	/* A refused key leaves nothing to bind. */
	assert_int_equal(pf_idem_init(&id, "api", "a b", ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(pf_idem_bind(&id, 12, &ei), RP_ERR_INTERNAL);
	/* Bad calls. */
	assert_int_equal(pf_idem_init(&id, "other", "k", ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_INTERNAL);
	assert_int_equal(pf_idem_init(&id, "api", "k", ACT_SUSPEND, NULL,
	    "1A", "CARD", REASON_UNSPECIFIED, NOW, &ei), RP_ERR_INTERNAL);
	assert_int_equal(pf_idem_init(&id, "api", "k", ACT_SUSPEND, NULL,
	    NULL, NULL, REASON_UNSPECIFIED, NOW, &ei), RP_ERR_INTERNAL);
}

/* The fingerprint covers exactly action, target, issuer and reason. */
static void
test_idem_fingerprint(void **state)
{
	struct pf_idem		 a, b;
	struct rp_errinfo	 ei;

	(void)state;
#define FP(x, act, iss, ser, tok, rs)					\
	assert_int_equal(pf_idem_init(&(x), "api", "k", act, iss, ser, tok, \
	    rs, NOW, &ei), RP_OK)
	FP(a, ACT_SUSPEND, NULL, "1A", NULL, REASON_UNSPECIFIED);
	FP(b, ACT_SUSPEND, NULL, "1A", NULL, REASON_UNSPECIFIED);
	assert_string_equal(a.fingerprint, b.fingerprint);
	FP(b, ACT_SUSPEND, "", "1A", NULL, REASON_UNSPECIFIED);
	assert_string_equal(a.fingerprint, b.fingerprint);
	FP(b, ACT_REVOKE, NULL, "1A", NULL, REASON_UNSPECIFIED);
	assert_string_not_equal(a.fingerprint, b.fingerprint);
	FP(b, ACT_SUSPEND, NULL, "1B", NULL, REASON_UNSPECIFIED);
	assert_string_not_equal(a.fingerprint, b.fingerprint);
	FP(b, ACT_SUSPEND, NULL, NULL, "1A", REASON_UNSPECIFIED);
	assert_string_not_equal(a.fingerprint, b.fingerprint);
	FP(b, ACT_SUSPEND, issuer, "1A", NULL, REASON_UNSPECIFIED);
	assert_string_not_equal(a.fingerprint, b.fingerprint);
	FP(b, ACT_SUSPEND, NULL, "1A", NULL, REASON_KEY_COMPROMISE);
	assert_string_not_equal(a.fingerprint, b.fingerprint);
	/* The key is not part of it, nor the passphrase it is bound to. */
	assert_int_equal(pf_idem_init(&b, "form", "other", ACT_SUSPEND, NULL,
	    "1A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_OK);
	assert_int_equal(pf_idem_bind(&b, 5, &ei), RP_OK);
	assert_string_equal(a.fingerprint, b.fingerprint);
	assert_string_equal(b.key, "form:5:other");
#undef FP
}

/* Makes a passphrase suspension of serial under idem; returns the error. */
static enum rp_err
make(struct udb *t, const char *serial, struct pf_idem *idem,
    struct lc_result *res, struct rp_errinfo *ei)
{
	struct lc_new	 n;

	memset(&n, 0, sizeof(n));
	n.action = ACT_SUSPEND;
	n.serial = serial;
	n.reason = REASON_UNSPECIFIED;
	n.actor.channel = CH_API;
	n.actor.auth = AUTH_PASSPHRASE;
	n.actor.name = "passphrase";
	n.now = NOW;
	n.in_tx = pf_idem_record;
	n.in_tx_arg = idem;
	return lc_create(t->db, &t->cfg.policy, &n, res, ei);
}

/* pf_idem_init() and pf_idem_bind() of a suspension of serial. */
static void
idem(struct pf_idem *x, const char *kind, const char *key,
    const char *serial, int64_t pass)
{
	struct rp_errinfo	 ei;

	assert_int_equal(pf_idem_init(x, kind, key, ACT_SUSPEND, NULL, serial,
	    NULL, REASON_UNSPECIFIED, NOW, &ei), RP_OK);
	assert_int_equal(pf_idem_bind(x, pass, &ei), RP_OK);
}

static void
test_idem_record_and_find(void **state)
{
	struct udb		*t = *state;
	struct pf_idem		 first, other, form, unbound;
	struct pf_idem_hit	 hit;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	int64_t			 pa, pb;
	int			 found = 7;

	(void)cert(t, issuer, "9A", NULL, H1);
	(void)cert(t, issuer, "9B", NULL, H1);
	pa = q(t, "SELECT p.id FROM passphrases p JOIN certificates c ON "
	    "c.id = p.certificate_id WHERE c.serial = '9A'");
	pb = q(t, "SELECT p.id FROM passphrases p JOIN certificates c ON "
	    "c.id = p.certificate_id WHERE c.serial = '9B'");
	assert_true(pa > 0 && pb > 0 && pa != pb);
	/* A key not bound to a passphrase is neither looked up nor kept. */
	assert_int_equal(pf_idem_init(&unbound, "api", "key-1", ACT_SUSPEND,
	    NULL, "9A", NULL, REASON_UNSPECIFIED, NOW, &ei), RP_OK);
	assert_int_equal(pf_idem_find(t->db, &unbound, &hit, &found, &ei),
	    RP_ERR_INTERNAL);
	assert_int_equal(found, 0);
	assert_int_equal(make(t, "9A", &unbound, &res, &ei), RP_ERR_INTERNAL);
	assert_int_equal(q(t, "SELECT count(*) FROM requests"), 0);

	idem(&first, "api", "key-1", "9A", pa);
	assert_int_equal(pf_idem_find(t->db, &first, &hit, &found, &ei),
	    RP_OK);
	assert_int_equal(found, 0);
	assert_int_equal(make(t, "9A", &first, &res, &ei), RP_OK);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency WHERE key = "
	    "'api:%lld:key-1' AND status = 202 AND state = 'queued' AND "
	    "created_at = %lld AND request_id = (SELECT id FROM requests)",
	    (long long)pa, (long long)NOW), 1);

	/* Same key, same passphrase, same request: the first answer. */
	assert_int_equal(pf_idem_find(t->db, &first, &hit, &found, &ei),
	    RP_OK);
	assert_int_equal(found, 1);
	assert_string_equal(hit.public_id, res.public_id);
	assert_int_equal(hit.state, RS_QUEUED);
	assert_int_equal(hit.status, 202);
	/* The answer stays the first even when the request moved on. */
	(void)udb_raw(t, "UPDATE requests SET state = 'relayed'");
	assert_int_equal(pf_idem_find(t->db, &first, &hit, &found, &ei),
	    RP_OK);
	assert_int_equal(hit.state, RS_QUEUED);

	/* Same key, same passphrase, another request: 422. */
	idem(&other, "api", "key-1", "9B", pa);
	assert_int_equal(pf_idem_find(t->db, &other, &hit, &found, &ei),
	    RP_ERR_POLICY);
	assert_string_equal(ei.code, "idempotency_key_reused");
	assert_int_equal(found, 0);
	assert_string_equal(hit.public_id, "");
	/* The same key under another passphrase is another key. */
	idem(&other, "api", "key-1", "9B", pb);
	assert_int_equal(pf_idem_find(t->db, &other, &hit, &found, &ei),
	    RP_OK);
	assert_int_equal(found, 0);
	idem(&other, "api", "key-1", "9A", pb);
	assert_int_equal(pf_idem_find(t->db, &other, &hit, &found, &ei),
	    RP_OK);
	assert_int_equal(found, 0);
	/* A form's id is another name space. */
	idem(&form, "form", "key-1", "9B", pa);
	assert_int_equal(pf_idem_find(t->db, &form, &hit, &found, &ei),
	    RP_OK);
	assert_int_equal(found, 0);

	/* A second request under a stored key rolls back entirely. */
	assert_int_equal(make(t, "9B", &first, &res, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "idempotency_race");
	assert_int_equal(q(t, "SELECT count(*) FROM requests"), 1);
	assert_int_equal(q(t, "SELECT count(*) FROM outbox"), 1);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency"), 1);
	/* Under the same key and another passphrase it is made, with its
	 * own record. */
	idem(&other, "api", "key-1", "9B", pb);
	assert_int_equal(make(t, "9B", &other, &res, &ei), RP_OK);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency WHERE key = "
	    "'api:%lld:key-1'", (long long)pb), 1);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency"), 2);
	/* A request refused by the lifecycle records nothing. */
	idem(&other, "api", "key-2", "9B", pb);
	assert_int_equal(make(t, "9B", &other, &res, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "request_pending");
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency"), 2);
	audit_ok(t);
}

/*
 * The sweep deletes idempotency records older than PF_IDEM_KEEP_DAYS
 * (the hotline's too), not younger ones, and counts them.
 */
static void
test_idem_sweep(void **state)
{
	struct udb		*t = *state;
	struct pf_idem		 a;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	unsigned int		 n = 99;
	int64_t			 keep = (int64_t)PF_IDEM_KEEP_DAYS * DAY;

	t->cfg.rate_window = 60;
	(void)cert(t, issuer, "9C", NULL, H1);
	idem(&a, "api", "old", "9C", 1);
	assert_int_equal(make(t, "9C", &a, &res, &ei), RP_OK);
	(void)q(t, "INSERT INTO idempotency (key, fingerprint, request_id, "
	    "status, state, created_at) SELECT 'form:1:edge', fingerprint, "
	    "request_id, 202, 'queued', %lld FROM idempotency",
	    (long long)(NOW + 1));
	(void)q(t, "INSERT INTO idempotency (key, fingerprint, request_id, "
	    "status, state, created_at) SELECT 'hotline:x', fingerprint, "
	    "request_id, 202, 'queued', %lld FROM idempotency WHERE key = "
	    "'api:1:old'", (long long)NOW);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency"), 3);
	assert_int_equal(pf_sweep(t->db, &t->cfg, NOW + keep, &n, &ei),
	    RP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(pf_sweep(t->db, &t->cfg, NOW + keep + 1, &n, &ei),
	    RP_OK);
	assert_int_equal(n, 2);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency WHERE key = "
	    "'form:1:edge'"), 1);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency"), 1);
	/* Rate-limit windows and records count together. */
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.1", NOW, &n, &ei),
	    RP_OK);
	assert_int_equal(pf_sweep(t->db, &t->cfg, NOW + keep + 2, &n, &ei),
	    RP_OK);
	assert_int_equal(n, 2);
	assert_int_equal(q(t, "SELECT count(*) FROM idempotency"), 0);
}

/* What the json_error_t looked like when http_parse_json() returned. */
static int	 jerr_calls;
static int	 jerr_clean;

static void
jerr_seen(const void *p, size_t n)
{
	const unsigned char	*b = p;
	size_t			 i;

	jerr_calls++;
	jerr_clean = 1;
	for (i = 0; i < n; i++)
		if (b[i] != 0)
			jerr_clean = 0;
}

/*
 * The passphrase API's body parser wipes jansson's error, whose text
 * quotes the input near the error (a passphrase), on every path: bad
 * JSON, a duplicate member, a document that is no object, an unknown
 * field and a good body.
 */
static void
test_json_error_wiped(void **state)
{
	static const char *const bodies[] = {
		"{\"passphrase\": \"Secret passphrase 1\" \"x\"}",
		"{\"passphrase\": Secret-passphrase-2}",
		"{\"passphrase\": \"a\", \"passphrase\": \"Secret 3\"}",
		"[\"Secret passphrase 4\"]",
		"{\"secret\": \"Secret passphrase 5\"}",
		"{\"passphrase\": \"Secret passphrase 6\"}",
	};
	static const enum rp_err want[] = { RP_ERR_BAD_INPUT,
	    RP_ERR_BAD_INPUT, RP_ERR_BAD_INPUT, RP_ERR_BAD_INPUT,
	    RP_ERR_BAD_INPUT, RP_OK };
	struct input		 in;
	struct rp_errinfo	 ei;
	size_t			 i;

	(void)state;
	http_test_jerr(jerr_seen);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		memset(&in, 0, sizeof(in));
		memset(&ei, 0, sizeof(ei));
		jerr_calls = 0;
		jerr_clean = 0;
		assert_int_equal(http_parse_json(&in, bodies[i],
		    strlen(bodies[i]), &ei), want[i]);
		if (jerr_calls != 1 || !jerr_clean)
			fail_msg("body %zu: json_error_t not wiped", i);
		assert_null(strstr(ei.msg, "Secret"));
		input_free(&in);
	}
	http_test_jerr(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, udb_setup, udb_teardown)
		T(test_right_passphrase),
		T(test_lockout_exact),
		T(test_lockout_one),
		T(test_reset_on_success),
		T(test_token_precedence),
		T(test_one_answer),
		T(test_audit_has_no_passphrase),
		T(test_ambiguous_serial),
		T(test_busy_same_for_all),
		T(test_floor_every_answer),
		T(test_floor_costly_hash),
		T(test_rehash),
		T(test_hash_changed_meanwhile),
		T(test_count_fails_closed),
		T(test_rate_window),
		T(test_rate_unknown_client),
		T(test_rate_ipv6_64),
		T(test_rate_sweep),
		T(test_idem_key_syntax),
		T(test_idem_fingerprint),
		T(test_idem_record_and_find),
		T(test_idem_sweep),
		T(test_json_error_wiped),
#undef T
	};

	if (pass_hash(P1, strlen(P1), H1, sizeof(H1)) != RP_OK ||
	    pass_hash(P2, strlen(P2), H2, sizeof(H2)) != RP_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
