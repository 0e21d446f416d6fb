/*
 * Tests of staff.c and of h_staff.c's parsers: staff_auth() against a
 * migrated database with staff accounts for certificates made here with
 * OpenSSL (every refusal, each audited with its reason code and the same
 * message; the right role), and the hotline's verified token (round
 * trip, tampering, expiry, another agent, target, scope or secret).
 * Run from the repository top (the migrations are read from db/).
 */
#include <stdio.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "unit.h"
#include "unit_db.h"

#define NOW	((int64_t)1795300000)	/* 2026-11-21, seconds */
#define ACTOR	"admin:test"

static const unsigned char secret1[RP_SECRET_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};
static const unsigned char secret2[RP_SECRET_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 33
};

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The one message of every refusal: it names no check. */
#define DENIED_MSG	"No valid staff certificate, no staff account, or " \
			"not allowed here."

/*
 * Makes a self-signed certificate with common name cn and serial, and
 * returns its PEM text (the caller frees it).
 */
static char *
make_pem(const char *cn, long serial)
{
	EVP_PKEY	*key;
	X509		*x;
	BIO		*bio;
	char		*p, *out;
	long		 n;

	assert_non_null(key = EVP_EC_gen("P-256"));
	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "O", MBSTRING_UTF8, (const unsigned char *)"Test TSP", -1, -1, 0),
	    1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)),
	    1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	assert_non_null(out = rp_strndup(p, (size_t)n));
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(key);
	return out;
}

/*
 * Returns s percent-encoded the way nginx's $ssl_client_escaped_cert
 * does it: everything but letters, digits and "-._~" as %XX.  The
 * caller frees it.
 */
static char *
escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i, o = 0, len = strlen(s);
	char			*out;
	unsigned char		 c;

	assert_non_null(out = malloc(3 * len + 1));
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

/* Reads pem into info (freed by the caller with cert_info_free()). */
static void
read_pem(const char *pem, struct cert_info *info)
{
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	assert_int_equal(x509_read_pem(pem, strlen(pem), info, &ei), RP_OK);
}

/* Adds an active staff account for pem with roles, named name. */
static void
add_staff(struct udb *t, const char *pem, const char *name,
    unsigned int roles, char sha[65])
{
	struct cert_info	 info;
	struct rp_errinfo	 ei;

	read_pem(pem, &info);
	memcpy(sha, info.sha256, 65);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_add(t->db, &info, name, roles, ACTOR,
	    NOW * 1000, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	cert_info_free(&info);
}

/* A request as fcgi.c makes it, for the staff page path. */
static void
req_init(struct req *req, struct udb *t, const char *verify,
    const char *cert)
{
	memset(req, 0, sizeof(*req));
	req->cfg = &t->cfg;
	req->db = t->db;
	req->method = METHOD_GET;
	req->path = "/agent/";
	req->client_verify = verify;
	req->client_cert = cert;
	req->now = NOW;
}

/*
 * Counts the staff.denied entries with actor and reason code.
 */
static long long
denied(struct udb *t, const char *actor, const char *reason)
{
	char	 sql[512];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
	    "action = 'staff.denied' AND actor = '%s' AND details = "
	    "'{\"path\":\"/agent/\",\"reason\":\"%s\"}'", actor, reason);
	return udb_raw(t, sql);
}

/*
 * Runs staff_auth() for role and checks the refusal: 403, the one
 * message, w zeroed, and one more staff.denied entry of actor and
 * reason.
 */
static void
expect_denied(struct udb *t, struct req *req, unsigned int role,
    const char *actor, const char *reason)
{
	struct staff_who	 w;
	long long		 before = denied(t, actor, reason);

	memset(&w, 0x55, sizeof(w));
	assert_int_equal(staff_auth(req, role, &w), RP_ERR_FORBIDDEN);
	assert_string_equal(req->err.code, "staff_denied");
	assert_string_equal(req->err.msg, DENIED_MSG);
	assert_int_equal(w.id, 0);
	assert_int_equal(w.roles, 0);
	assert_string_equal(w.name, "");
	assert_string_equal(w.actor, "");
	assert_int_equal(denied(t, actor, reason), before + 1);
}

static void
test_auth_no_certificate(void **state)
{
	struct udb	*t = *state;
	struct req	 req;

	req_init(&req, t, NULL, NULL);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "no_certificate");
	req_init(&req, t, "NONE", NULL);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "no_certificate");
	req_init(&req, t, "", NULL);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "no_certificate");
	/* nginx said SUCCESS but passed no certificate. */
	req_init(&req, t, "SUCCESS", NULL);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "no_certificate");
	req_init(&req, t, "SUCCESS", "");
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "no_certificate");
	/* The subject names no fingerprint. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "action = 'staff.denied' AND subject = 'staff:none'"), 5);
}

static void
test_auth_not_verified(void **state)
{
	struct udb	*t = *state;
	struct req	 req;
	char		*pem, *esc, sha[65];

	/* Even the certificate of an active agent, if nginx did not
	 * verify it, or said something other than exactly SUCCESS. */
	pem = make_pem("Agent Ana", 0x2001);
	esc = escape(pem);
	add_staff(t, pem, NULL, ROLE_AGENT, sha);
	req_init(&req, t, "FAILED:unable to get local issuer certificate",
	    esc);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "not_verified");
	req_init(&req, t, "success", esc);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "not_verified");
	req_init(&req, t, "SUCCESS ", esc);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "not_verified");
	free(esc);
	free(pem);
}

static void
test_auth_bad_certificate(void **state)
{
	struct udb	*t = *state;
	struct req	 req;
	char		*pem, *pem2, *two, *esc, *big;
	size_t		 len;

	/* Garbage, a bad escape, a PEM cut short, two certificates. */
	req_init(&req, t, "SUCCESS", "garbage");
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "bad_certificate");
	req_init(&req, t, "SUCCESS", "-----BEGIN%20CERTIFICATE-----%zz");
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "bad_certificate");
	req_init(&req, t, "SUCCESS", "%4");
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "bad_certificate");
	pem = make_pem("Agent Ana", 0x2001);
	pem2 = make_pem("Agent Bor", 0x2002);
	pem[strlen(pem) / 2] = '\0';
	esc = escape(pem);
	req_init(&req, t, "SUCCESS", esc);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "bad_certificate");
	free(esc);
	free(pem);
	pem = make_pem("Agent Ana", 0x2001);
	len = strlen(pem) + strlen(pem2);
	assert_non_null(two = malloc(len + 1));
	(void)snprintf(two, len + 1, "%s%s", pem, pem2);
	esc = escape(two);
	req_init(&req, t, "SUCCESS", esc);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "bad_certificate");
	free(esc);
	free(two);
	/* Over the limit before and after decoding. */
	assert_non_null(big = malloc(3u * RP_PEM_MAX + 2));
	memset(big, 'A', 3u * RP_PEM_MAX + 1);
	big[3u * RP_PEM_MAX + 1] = '\0';
	req_init(&req, t, "SUCCESS", big);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "bad_certificate");
	big[RP_PEM_MAX + 1] = '\0';
	req_init(&req, t, "SUCCESS", big);
	expect_denied(t, &req, ROLE_AGENT, "anonymous", "bad_certificate");
	free(big);
	free(pem);
	free(pem2);
}

static void
test_auth_unknown_disabled(void **state)
{
	struct udb		*t = *state;
	struct req		 req;
	struct staff_who	 w;
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	char			*pem, *esc, sha[65];

	/* A certificate nginx verified, but no account has it. */
	pem = make_pem("Stranger", 0x3001);
	esc = escape(pem);
	read_pem(pem, &info);
	req_init(&req, t, "SUCCESS", esc);
	expect_denied(t, &req, ROLE_AGENT, info.sha256, "unknown");
	cert_info_free(&info);
	free(esc);
	free(pem);

	/* An account, then disabled: refused; enabled again: let in. */
	pem = make_pem("Agent Cene", 0x3002);
	esc = escape(pem);
	add_staff(t, pem, "Cene", ROLE_AGENT, sha);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_set_active(t->db, sha, 0, ACTOR,
	    NOW * 1000, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	req_init(&req, t, "SUCCESS", esc);
	expect_denied(t, &req, ROLE_AGENT, sha, "disabled");
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_set_active(t->db, sha, 1, ACTOR,
	    NOW * 1000, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	req_init(&req, t, "SUCCESS", esc);
	assert_int_equal(staff_auth(&req, ROLE_AGENT, &w), RP_OK);
	assert_string_equal(w.actor, "staff:Cene");
	free(esc);
	free(pem);
}

static void
test_auth_roles(void **state)
{
	struct udb		*t = *state;
	struct req		 req;
	struct staff_who	 w;
	char			*agent, *officer, *both, *ea, *eo, *eb;
	char			 sa[65], so[65], sb[65], sql[256];
	long long		 entries;

	agent = make_pem("Agent Ana", 0x4001);
	officer = make_pem("Officer Bor", 0x4002);
	both = make_pem("Both Cvetka", 0x4003);
	ea = escape(agent);
	eo = escape(officer);
	eb = escape(both);
	add_staff(t, agent, NULL, ROLE_AGENT, sa);
	add_staff(t, officer, NULL, ROLE_OFFICER, so);
	add_staff(t, both, NULL, ROLE_AGENT | ROLE_OFFICER, sb);

	/* An officer on the agent pages, an agent on the officer's. */
	req_init(&req, t, "SUCCESS", eo);
	expect_denied(t, &req, ROLE_AGENT, so, "wrong_role");
	req_init(&req, t, "SUCCESS", ea);
	expect_denied(t, &req, ROLE_OFFICER, sa, "wrong_role");
	/* Both roles asked at once need both. */
	req_init(&req, t, "SUCCESS", ea);
	expect_denied(t, &req, ROLE_AGENT | ROLE_OFFICER, sa, "wrong_role");
	/* No role asked is a bug and lets nobody in. */
	req_init(&req, t, "SUCCESS", eb);
	expect_denied(t, &req, 0, sb, "wrong_role");

	/* The right role: w filled, nothing audited. */
	entries = udb_raw(t, "SELECT count(*) FROM audit");
	req_init(&req, t, "SUCCESS", ea);
	assert_int_equal(staff_auth(&req, ROLE_AGENT, &w), RP_OK);
	assert_true(w.id > 0);
	assert_string_equal(w.name, "Agent Ana");
	assert_string_equal(w.actor, "staff:Agent Ana");
	assert_string_equal(w.sha256, sa);
	assert_int_equal(w.roles, ROLE_AGENT);
	req_init(&req, t, "SUCCESS", eo);
	assert_int_equal(staff_auth(&req, ROLE_OFFICER, &w), RP_OK);
	assert_string_equal(w.name, "Officer Bor");
	assert_int_equal(w.roles, ROLE_OFFICER);
	req_init(&req, t, "SUCCESS", eb);
	assert_int_equal(staff_auth(&req, ROLE_AGENT | ROLE_OFFICER, &w),
	    RP_OK);
	assert_int_equal(w.roles, ROLE_AGENT | ROLE_OFFICER);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit"), entries);

	/* A roles word this program does not know grants nothing. */
	(void)snprintf(sql, sizeof(sql), "UPDATE staff SET roles = "
	    "'agent,boss' WHERE cert_sha256 = '%s'", sa);
	(void)udb_raw(t, sql);
	req_init(&req, t, "SUCCESS", ea);
	expect_denied(t, &req, ROLE_AGENT, sa, "wrong_role");
	free(ea);
	free(eo);
	free(eb);
	free(agent);
	free(officer);
	free(both);
}

static void
test_auth_db_error(void **state)
{
	struct udb		*t = *state;
	struct req		 req;
	struct staff_who	 w;
	char			*pem, *esc, sha[65];

	/* A database failure is no decision: not 403, not audited. */
	pem = make_pem("Agent Ana", 0x5001);
	esc = escape(pem);
	add_staff(t, pem, NULL, ROLE_AGENT, sha);
	req_init(&req, t, "SUCCESS", esc);
	db_fault_stmt(DB_STAFF_BY_SHA, 5 /* SQLITE_BUSY */);
	assert_int_equal(staff_auth(&req, ROLE_AGENT, &w),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "action = 'staff.denied'"), 0);
	free(esc);
	free(pem);
}

/* --- the verified token ---------------------------------------------- */

static void
make_tok(const unsigned char *secret, int64_t staff, enum staff_scope sc,
    int64_t target, int64_t now, char tok[STAFF_VERIFIED_LEN + 1])
{
	assert_int_equal(staff_verified_make(secret, staff, sc, target, now,
	    tok, STAFF_VERIFIED_LEN + 1), RP_OK);
	assert_int_equal(strlen(tok), STAFF_VERIFIED_LEN);
	assert_true(strspn(tok, b64) == STAFF_VERIFIED_LEN);
}

/* Flips one bit of the raw byte at index byte by re-encoding the token. */
static void
flip_bit(char *tok, size_t byte, unsigned int bit)
{
	size_t		 bitpos = byte * 8 + (7 - bit);
	size_t		 ci = bitpos / 6;
	unsigned int	 cb = 5 - bitpos % 6;
	const char	*p;

	p = strchr(b64, tok[ci]);
	assert_non_null(p);
	tok[ci] = b64[(size_t)(p - b64) ^ (1u << cb)];
}

static void
test_verified_round_trip(void **state)
{
	char	 tok[STAFF_VERIFIED_LEN + 1], tok2[STAFF_VERIFIED_LEN + 1];
	int64_t	 issued = -1;

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, NOW, tok);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW, &issued), RP_OK);
	assert_int_equal(issued, NOW);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW, NULL), RP_OK);
	/* Deterministic for the same inputs, different for others. */
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, NOW, tok2);
	assert_string_equal(tok, tok2);
	make_tok(secret1, 7, STAFF_SCOPE_TOKEN, 42, NOW, tok2);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_TOKEN,
	    42, tok2, NOW, NULL), RP_OK);
	/* Too small an output, a bad argument. */
	assert_int_equal(staff_verified_make(secret1, 7, STAFF_SCOPE_CERT, 42,
	    NOW, tok2, STAFF_VERIFIED_LEN), RP_ERR_NOMEM);
	assert_string_equal(tok2, "");
	assert_int_equal(staff_verified_make(NULL, 7, STAFF_SCOPE_CERT, 42,
	    NOW, tok2, sizeof(tok2)), RP_ERR_INTERNAL);
	assert_int_equal(staff_verified_make(secret1, 0, STAFF_SCOPE_CERT, 42,
	    NOW, tok2, sizeof(tok2)), RP_ERR_INTERNAL);
	assert_int_equal(staff_verified_make(secret1, 7, STAFF_SCOPE__MAX, 42,
	    NOW, tok2, sizeof(tok2)), RP_ERR_INTERNAL);
	assert_int_equal(staff_verified_make(secret1, 7, STAFF_SCOPE_CERT, 0,
	    NOW, tok2, sizeof(tok2)), RP_ERR_INTERNAL);
}

static void
test_verified_tampered(void **state)
{
	char		 tok[STAFF_VERIFIED_LEN + 1];
	char		 bad[STAFF_VERIFIED_LEN + 2];
	size_t		 byte;
	unsigned int	 bit;
	int64_t		 issued = -1;
	const char	*p;

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, NOW, tok);
	/* Every bit of the timestamp and the MAC matters. */
	for (byte = 0; byte < 40; byte++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, tok, sizeof(tok));
			flip_bit(bad, byte, bit);
			assert_int_equal(staff_verified_check(secret1, 7,
			    STAFF_SCOPE_CERT, 42, bad, NOW, &issued),
			    RP_ERR_FORBIDDEN);
			assert_int_equal(issued, 0);
		}
	/* The last character carries four unused bits: another spelling
	 * of the same bytes is refused. */
	memcpy(bad, tok, sizeof(tok));
	p = strchr(b64, bad[STAFF_VERIFIED_LEN - 1]);
	bad[STAFF_VERIFIED_LEN - 1] = b64[(size_t)(p - b64) ^ 1u];
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, bad, NOW, NULL), RP_ERR_FORBIDDEN);
	/* Cut short, one too many, a foreign character, empty, NULL. */
	memcpy(bad, tok, sizeof(tok));
	bad[STAFF_VERIFIED_LEN - 1] = '\0';
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, bad, NOW, NULL), RP_ERR_FORBIDDEN);
	memcpy(bad, tok, sizeof(tok));
	bad[STAFF_VERIFIED_LEN] = 'A';
	bad[STAFF_VERIFIED_LEN + 1] = '\0';
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, bad, NOW, NULL), RP_ERR_FORBIDDEN);
	memcpy(bad, tok, sizeof(tok));
	bad[10] = '+';
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, bad, NOW, NULL), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, "", NOW, NULL), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, NULL, NOW, NULL), RP_ERR_FORBIDDEN);
	/* A CSRF token is no verified token, though shaped alike. */
	assert_int_equal(csrf_token(secret1, "AAECAwQFBgcICQoLDA0ODw", NOW,
	    bad, sizeof(bad)), RP_OK);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, bad, NOW, NULL), RP_ERR_FORBIDDEN);
}

static void
test_verified_expiry(void **state)
{
	char	 tok[STAFF_VERIFIED_LEN + 1];

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, NOW, tok);
	/* 15 minutes to the second, then no more. */
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW + STAFF_VERIFIED_TTL, NULL), RP_OK);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW + STAFF_VERIFIED_TTL + 1, NULL), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW + 86400, NULL), RP_ERR_FORBIDDEN);
	/* A clock a minute behind is fine; issued further ahead is not. */
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW - 60, NULL), RP_OK);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW - 61, NULL), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    42, tok, -1, NULL), RP_ERR_FORBIDDEN);
}

static void
test_verified_binding(void **state)
{
	char	 tok[STAFF_VERIFIED_LEN + 1];

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, NOW, tok);
	/* Another agent. */
	assert_int_equal(staff_verified_check(secret1, 8, STAFF_SCOPE_CERT,
	    42, tok, NOW, NULL), RP_ERR_FORBIDDEN);
	/* Another target. */
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    43, tok, NOW, NULL), RP_ERR_FORBIDDEN);
	/* The same number as a token: another scope. */
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_TOKEN,
	    42, tok, NOW, NULL), RP_ERR_FORBIDDEN);
	/* Another instance's secret, or none. */
	assert_int_equal(staff_verified_check(secret2, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW, NULL), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(NULL, 7, STAFF_SCOPE_CERT,
	    42, tok, NOW, NULL), RP_ERR_FORBIDDEN);
	/* Nonsense arguments. */
	assert_int_equal(staff_verified_check(secret1, 0, STAFF_SCOPE_CERT,
	    42, tok, NOW, NULL), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE__MAX,
	    42, tok, NOW, NULL), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(secret1, 7, STAFF_SCOPE_CERT,
	    -42, tok, NOW, NULL), RP_ERR_FORBIDDEN);
}

/* --- h_staff.c's parsers ------------------------------------------------ */

static void
test_row_id(void **state)
{
	int64_t	 id;

	(void)state;
	assert_int_equal(hs_row_id("1", &id), 1);
	assert_int_equal(id, 1);
	assert_int_equal(hs_row_id("1234567890", &id), 1);
	assert_int_equal(id, 1234567890);
	assert_int_equal(hs_row_id("999999999999999999", &id), 1);
	assert_int_equal(id, 999999999999999999LL);
	assert_int_equal(hs_row_id("1000000000000000000", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(hs_row_id("0", &id), 0);
	assert_int_equal(hs_row_id("01", &id), 0);
	assert_int_equal(hs_row_id("", &id), 0);
	assert_int_equal(hs_row_id("-1", &id), 0);
	assert_int_equal(hs_row_id("+1", &id), 0);
	assert_int_equal(hs_row_id(" 1", &id), 0);
	assert_int_equal(hs_row_id("1 ", &id), 0);
	assert_int_equal(hs_row_id("12a", &id), 0);
	assert_int_equal(hs_row_id("0x10", &id), 0);
	assert_int_equal(hs_row_id(NULL, &id), 0);
}

static void
test_like_pattern(void **state)
{
	char	 out[32];

	(void)state;
	assert_int_equal(hs_like_pattern("ana", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "%ana%");
	/* The wildcards and the escape character match themselves. */
	assert_int_equal(hs_like_pattern("5%_!x", 5, out, sizeof(out)), 0);
	assert_string_equal(out, "%5!%!_!!x%");
	assert_int_equal(hs_like_pattern("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "%%");
	/* The worst case must fit: two bytes per byte and three more. */
	assert_int_equal(hs_like_pattern("%%%%", 4, out, 11), 0);
	assert_string_equal(out, "%!%!%!%!%%");
	assert_int_equal(hs_like_pattern("abcd", 4, out, 10), -1);
	assert_int_equal(hs_like_pattern("a", 1, out, 2), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_no_certificate,
		    udb_setup, udb_teardown),
		cmocka_unit_test_setup_teardown(test_auth_not_verified,
		    udb_setup, udb_teardown),
		cmocka_unit_test_setup_teardown(test_auth_bad_certificate,
		    udb_setup, udb_teardown),
		cmocka_unit_test_setup_teardown(test_auth_unknown_disabled,
		    udb_setup, udb_teardown),
		cmocka_unit_test_setup_teardown(test_auth_roles,
		    udb_setup, udb_teardown),
		cmocka_unit_test_setup_teardown(test_auth_db_error,
		    udb_setup, udb_teardown),
		cmocka_unit_test(test_verified_round_trip),
		cmocka_unit_test(test_verified_tampered),
		cmocka_unit_test(test_verified_expiry),
		cmocka_unit_test(test_verified_binding),
		cmocka_unit_test(test_row_id),
		cmocka_unit_test(test_like_pattern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
