/*
 * Tests of staff.c and h_staff.c: staff_auth() against a migrated
 * database with staff accounts for certificates made here with OpenSSL
 * (every refusal, each audited with its reason code and the same
 * message; the right role; the actor "staff:<name>#<id>" within the
 * lifecycle's limit), the hotline's verified token (round trip,
 * tampering, expiry, another agent, target, scope, form or secret),
 * h_staff.c's parsers, and the handlers called as the router calls
 * them: one passphrase check makes one request, a lock since the check
 * refuses, a double submission racing itself answers with one request,
 * the agent's checks are rate-limited, views and failed checks are
 * audited, and the officer's audit trail of a request.  Run from the
 * repository top (db/ and templates/ are read from there).
 */
#include <stdio.h>
#include <strings.h>

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
	char			*pem, *esc, sha[65], want[64];

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
	(void)snprintf(want, sizeof(want), "staff:Cene#%lld",
	    (long long)w.id);
	assert_string_equal(w.actor, want);
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
	(void)snprintf(sql, sizeof(sql), "staff:Agent Ana#%lld",
	    (long long)w.id);
	assert_string_equal(w.actor, sql);
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

/* Two action forms' ids (RP_ID_LEN characters). */
static const char FORM_A[] = "AAECAwQFBgcICQoLDA0ODw";
static const char FORM_B[] = "EBESExQVFhcYGRobHB0eHw";

/* A proof of agent staff for target in scope, form, passphrase row pass,
 * issued at issued. */
static struct staff_proof
proof(int64_t staff, enum staff_scope sc, int64_t target, const char *form,
    int64_t pass, int64_t issued)
{
	struct staff_proof	 p;

	memset(&p, 0, sizeof(p));
	p.staff = staff;
	p.scope = sc;
	p.target = target;
	p.form_id = form;
	p.pass = pass;
	p.issued = issued;
	return p;
}

static void
make_tok(const unsigned char *secret, int64_t staff, enum staff_scope sc,
    int64_t target, const char *form, int64_t pass, int64_t now,
    char tok[STAFF_VERIFIED_LEN + 1])
{
	struct staff_proof	 p;

	p = proof(staff, sc, target, form, pass, now);
	assert_int_equal(staff_verified_make(secret, &p, tok,
	    STAFF_VERIFIED_LEN + 1), RP_OK);
	assert_int_equal(strlen(tok), STAFF_VERIFIED_LEN);
	assert_true(strspn(tok, b64) == STAFF_VERIFIED_LEN);
}

/*
 * Checks tok for agent staff, scope, target and form at now.  Returns
 * the result; a refusal must leave pass and issued 0.
 */
static enum rp_err
chk_tok(const unsigned char *secret, int64_t staff, enum staff_scope sc,
    int64_t target, const char *form, const char *tok, int64_t now)
{
	struct staff_proof	 p = proof(staff, sc, target, form, -1, -1);
	enum rp_err		 e;

	e = staff_verified_check(secret, &p, tok, now);
	if (e != RP_OK) {
		assert_int_equal(p.pass, 0);
		assert_int_equal(p.issued, 0);
	}
	return e;
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
	char			 tok[STAFF_VERIFIED_LEN + 1];
	char			 tok2[STAFF_VERIFIED_LEN + 1];
	struct staff_proof	 p;

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A, 5, NOW, tok);
	/* The check gives back the passphrase row and the time. */
	p = proof(7, STAFF_SCOPE_CERT, 42, FORM_A, 0, 0);
	assert_int_equal(staff_verified_check(secret1, &p, tok, NOW), RP_OK);
	assert_int_equal(p.pass, 5);
	assert_int_equal(p.issued, NOW);
	/* Deterministic for the same inputs, different for others. */
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A, 5, NOW, tok2);
	assert_string_equal(tok, tok2);
	make_tok(secret1, 7, STAFF_SCOPE_TOKEN, 42, FORM_A, 5, NOW, tok2);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_TOKEN, 42, FORM_A,
	    tok2, NOW), RP_OK);
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A, 6, NOW, tok2);
	assert_string_not_equal(tok, tok2);
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_B, 5, NOW, tok2);
	assert_string_not_equal(tok, tok2);
	/* Too small an output; a bad proof. */
	p = proof(7, STAFF_SCOPE_CERT, 42, FORM_A, 5, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2,
	    STAFF_VERIFIED_LEN), RP_ERR_NOMEM);
	assert_string_equal(tok2, "");
	assert_int_equal(staff_verified_make(NULL, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	assert_int_equal(staff_verified_make(secret1, NULL, tok2,
	    sizeof(tok2)), RP_ERR_INTERNAL);
	p = proof(0, STAFF_SCOPE_CERT, 42, FORM_A, 5, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	p = proof(7, STAFF_SCOPE__MAX, 42, FORM_A, 5, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	p = proof(7, STAFF_SCOPE_CERT, 0, FORM_A, 5, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	p = proof(7, STAFF_SCOPE_CERT, 42, FORM_A, 0, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	p = proof(7, STAFF_SCOPE_CERT, 42, NULL, 5, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	p = proof(7, STAFF_SCOPE_CERT, 42, "AAECAwQFBgcICQoLDA0OD", 5, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	p = proof(7, STAFF_SCOPE_CERT, 42, "AAECAwQFBgcICQoLDA0ODwx", 5, NOW);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
	p = proof(7, STAFF_SCOPE_CERT, 42, FORM_A, 5, -1);
	assert_int_equal(staff_verified_make(secret1, &p, tok2, sizeof(tok2)),
	    RP_ERR_INTERNAL);
}

static void
test_verified_tampered(void **state)
{
	char		 tok[STAFF_VERIFIED_LEN + 1];
	char		 bad[STAFF_VERIFIED_LEN + 2];
	size_t		 byte;
	unsigned int	 bit;

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A, 5, NOW, tok);
	/* Every bit of the time, the passphrase row and the MAC matters. */
	for (byte = 0; byte < 48; byte++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, tok, sizeof(tok));
			flip_bit(bad, byte, bit);
			assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT,
			    42, FORM_A, bad, NOW), RP_ERR_FORBIDDEN);
		}
	/* Cut short, one too many, a foreign character, empty, NULL. */
	memcpy(bad, tok, sizeof(tok));
	bad[STAFF_VERIFIED_LEN - 1] = '\0';
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    bad, NOW), RP_ERR_FORBIDDEN);
	memcpy(bad, tok, sizeof(tok));
	bad[STAFF_VERIFIED_LEN] = 'A';
	bad[STAFF_VERIFIED_LEN + 1] = '\0';
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    bad, NOW), RP_ERR_FORBIDDEN);
	memcpy(bad, tok, sizeof(tok));
	bad[10] = '+';
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    bad, NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    "", NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    NULL, NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(staff_verified_check(secret1, NULL, tok, NOW),
	    RP_ERR_FORBIDDEN);
	/* A CSRF token is no verified token. */
	assert_int_equal(csrf_token(secret1, "AAECAwQFBgcICQoLDA0ODw", NOW,
	    bad, sizeof(bad)), RP_OK);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    bad, NOW), RP_ERR_FORBIDDEN);
}

static void
test_verified_expiry(void **state)
{
	char	 tok[STAFF_VERIFIED_LEN + 1];

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A, 5, NOW, tok);
	/* 15 minutes to the second, then no more. */
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW + STAFF_VERIFIED_TTL), RP_OK);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW + STAFF_VERIFIED_TTL + 1), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW + 86400), RP_ERR_FORBIDDEN);
	/* A clock a minute behind is fine; issued further ahead is not. */
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW - 60), RP_OK);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW - 61), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, -1), RP_ERR_FORBIDDEN);
}

static void
test_verified_binding(void **state)
{
	char	 tok[STAFF_VERIFIED_LEN + 1];

	(void)state;
	make_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A, 5, NOW, tok);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW), RP_OK);
	/* Another agent. */
	assert_int_equal(chk_tok(secret1, 8, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
	/* Another target. */
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 43, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
	/* The same number as a token: another scope. */
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_TOKEN, 42, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
	/* Another form: one check is good for one action form only. */
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, FORM_B,
	    tok, NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42,
	    "AAECAwQFBgcICQoLDA0OD", tok, NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, 42, NULL,
	    tok, NOW), RP_ERR_FORBIDDEN);
	/* Another instance's secret, or none. */
	assert_int_equal(chk_tok(secret2, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(NULL, 7, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
	/* Nonsense arguments. */
	assert_int_equal(chk_tok(secret1, 0, STAFF_SCOPE_CERT, 42, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE__MAX, 42, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
	assert_int_equal(chk_tok(secret1, 7, STAFF_SCOPE_CERT, -42, FORM_A,
	    tok, NOW), RP_ERR_FORBIDDEN);
}

/* --- the actor -------------------------------------------------------- */

/* Returns 1 when s is well-formed UTF-8, else 0. */
static int
utf8_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;

	while (*p != '\0') {
		if (*p < 0x80)
			n = 0;
		else if ((*p & 0xe0) == 0xc0)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0)
			n = 3;
		else
			return 0;
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n + 1;
	}
	return 1;
}

static void
test_actor(void **state)
{
	char	 out[RP_TEXT_MAX], name[RP_TEXT_MAX], small[16];
	size_t	 i;

	(void)state;
	assert_int_equal(staff_actor("Agent Ana", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "staff:Agent Ana#3");
	/* Two accounts with one name are two actors. */
	assert_int_equal(staff_actor("Agent Ana", 12, out, sizeof(out)), 0);
	assert_string_equal(out, "staff:Agent Ana#12");
	assert_int_equal(staff_actor("", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "staff:#1");

	/* The longest name (255 bytes of two-byte letters and one 'x'):
	 * cut at a character boundary, the id whole, under RP_TEXT_MAX. */
	name[0] = 'x';
	for (i = 1; i + 1 < sizeof(name); i += 2)
		memcpy(name + i, "\xc5\xbe", 2);	/* ž */
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(strlen(name), RP_TEXT_MAX - 1);
	assert_int_equal(staff_actor(name, 123456789012LL, out, sizeof(out)),
	    0);
	assert_true(strlen(out) < RP_TEXT_MAX);
	assert_true(strlen(out) >= RP_TEXT_MAX - 2);
	assert_true(utf8_ok(out));
	assert_memory_equal(out, "staff:x\xc5\xbe", 9);
	assert_string_equal(out + strlen(out) - 13, "#123456789012");
	/* With an id one digit shorter the cut falls between letters. */
	assert_int_equal(staff_actor(name, 12345678901LL, out, sizeof(out)),
	    0);
	assert_true(strlen(out) < RP_TEXT_MAX);
	assert_true(utf8_ok(out));
	assert_string_equal(out + strlen(out) - 12, "#12345678901");

	/* Room for the id but not the name; not even for the id. */
	assert_int_equal(staff_actor("Agent Ana", 42, small, 10), 0);
	assert_string_equal(small, "staff:#42");
	assert_int_equal(staff_actor("Agent Ana", 42, small, 9), -1);
	assert_string_equal(small, "");
	assert_int_equal(staff_actor("Agent Ana", 0, small, sizeof(small)),
	    -1);
	assert_int_equal(staff_actor("Agent Ana", -3, small, sizeof(small)),
	    -1);
}

static void
test_auth_long_name(void **state)
{
	struct udb		*t = *state;
	struct req		 req;
	struct staff_who	 w;
	char			*pem, *esc, sha[65], name[RP_TEXT_MAX];
	char			 want[64];
	size_t			 i;

	/* A display name as long as the registry keeps: the actor still
	 * fits what lc_create() takes, ends in the account id, and is
	 * valid UTF-8. */
	for (i = 0; i + 1 < sizeof(name); i += 2)
		memcpy(name + i, "\xc4\x8d", 2);	/* č */
	name[sizeof(name) - 2] = 'y';
	name[sizeof(name) - 1] = '\0';
	pem = make_pem("Agent Long", 0x6001);
	esc = escape(pem);
	add_staff(t, pem, name, ROLE_AGENT, sha);
	req_init(&req, t, "SUCCESS", esc);
	assert_int_equal(staff_auth(&req, ROLE_AGENT, &w), RP_OK);
	assert_string_equal(w.name, name);
	assert_true(strlen(w.actor) < RP_TEXT_MAX);
	assert_true(utf8_ok(w.actor));
	(void)snprintf(want, sizeof(want), "#%lld", (long long)w.id);
	assert_string_equal(w.actor + strlen(w.actor) - strlen(want), want);
	assert_memory_equal(w.actor, "staff:\xc4\x8d", 8);
	free(esc);
	free(pem);
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

/* --- the console and the queue, called as the router calls them -------- */

#define H_ISSUER	"CN=Test Qualified CA,O=Test TSP,C=SI"
#define H_PASS		"caller revocation phrase"
#define H_CERTS		3
#define H_VIEWS_MAX	20	/* h_staff.c's HS_VIEWS_MAX */

/* The Argon2id hash of H_PASS, made once in main(). */
static char h_hash[RP_PASS_HASH_MAX];

/*
 * A migrated database with an agent who is also an officer ("Agent
 * Ana"), a second agent, three personal certificates with passphrases,
 * and the templates.
 */
struct hfx {
	struct udb	*t;
	struct tmpl_set	*tmpl;
	char		*pem, *esc;		/* Agent Ana */
	char		*pem2, *esc2;		/* Agent Bine */
	int64_t		 staff;
	int64_t		 cert[H_CERTS];
	int64_t		 pass[H_CERTS];
	char		 serial[H_CERTS][8];
	char		 actor[RP_TEXT_MAX];
};

/* Imports personal certificate serial with passphrase H_PASS. */
static int64_t
h_cert(struct udb *t, const char *serial)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	int64_t			 id = 0, now = rp_now_ms();

	memset(&ci, 0, sizeof(ci));
	(void)snprintf(ci.issuer, sizeof(ci.issuer), "%s", H_ISSUER);
	(void)snprintf(ci.subject, sizeof(ci.subject), "CN=Holder %s",
	    serial);
	(void)snprintf(ci.serial, sizeof(ci.serial), "%s", serial);
	(void)snprintf(ci.common_name, sizeof(ci.common_name), "Holder");
	(void)snprintf(ci.person_id, sizeof(ci.person_id), "PNOSI-%s",
	    serial);
	(void)snprintf(ci.aki, sizeof(ci.aki), "0A0B0C");
	(void)snprintf(ci.sha256, sizeof(ci.sha256), "%064lx",
	    strtoul(serial, NULL, 16));
	ci.not_before = now - 86400000LL;
	ci.not_after = now + 4 * 365 * 86400000LL;
	ci.pem = (char *)"-----BEGIN CERTIFICATE-----\n-----END "
	    "CERTIFICATE-----\n";
	memset(&ri, 0, sizeof(ri));
	ri.type = CT_PERSONAL;
	ri.term_years = 5;
	ri.pass_hash = h_hash;
	ri.actor = ACTOR;
	ri.now = now;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import %s: %s %s", serial, ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
	return id;
}

static int
h_setup(void **state)
{
	struct hfx	*fx;
	void		*u = NULL;
	char		 err[256], sql[160], sha[65], sha2[65];
	size_t		 i;

	if (udb_setup(&u) != 0)
		return -1;
	if ((fx = calloc(1, sizeof(*fx))) == NULL) {
		(void)udb_teardown(&u);
		return -1;
	}
	fx->t = u;
	memset(fx->t->cfg.secret, 0x5a, sizeof(fx->t->cfg.secret));
	if ((fx->tmpl = tmpl_load("templates", err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(fx);
		(void)udb_teardown(&u);
		return -1;
	}
	fx->pem = make_pem("Agent Ana", 0x7001);
	fx->esc = escape(fx->pem);
	fx->pem2 = make_pem("Agent Bine", 0x7002);
	fx->esc2 = escape(fx->pem2);
	add_staff(fx->t, fx->pem, NULL, ROLE_AGENT | ROLE_OFFICER, sha);
	add_staff(fx->t, fx->pem2, NULL, ROLE_AGENT, sha2);
	(void)snprintf(sql, sizeof(sql), "SELECT id FROM staff WHERE "
	    "cert_sha256 = '%s'", sha);
	fx->staff = udb_raw(fx->t, sql);
	(void)snprintf(fx->actor, sizeof(fx->actor), "staff:Agent Ana#%lld",
	    (long long)fx->staff);
	for (i = 0; i < H_CERTS; i++) {
		(void)snprintf(fx->serial[i], sizeof(fx->serial[i]), "7A%02zu",
		    i);
		fx->cert[i] = h_cert(fx->t, fx->serial[i]);
		(void)snprintf(sql, sizeof(sql), "SELECT id FROM passphrases "
		    "WHERE certificate_id = %lld", (long long)fx->cert[i]);
		fx->pass[i] = udb_raw(fx->t, sql);
		assert_true(fx->pass[i] > 0);
	}
	*state = fx;
	return 0;
}

static int
h_teardown(void **state)
{
	struct hfx	*fx = *state;
	void		*u = fx->t;

	tmpl_free(fx->tmpl);
	free(fx->pem);
	free(fx->esc);
	free(fx->pem2);
	free(fx->esc2);
	free(fx);
	return udb_teardown(&u);
}

/* A request of method to path with the client certificate esc. */
static void
h_req(struct hfx *fx, struct req *req, enum method m, const char *path,
    const char *esc)
{
	memset(req, 0, sizeof(*req));
	req->cfg = &fx->t->cfg;
	req->tmpl = fx->tmpl;
	req->db = fx->t->db;
	req->method = m;
	req->path = path;
	req->client_verify = "SUCCESS";
	req->client_cert = esc;
	req->now = rp_now_ms() / 1000;
	resp_init(&req->resp);
}

/* Sets form field f of req to v, as the router's parser would. */
static void
h_set(struct req *req, enum field f, const char *v)
{
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (field_set(&req->in, f, v, strlen(v), NULL, &ei) != RP_OK)
		fail_msg("field %d: %s", (int)f, ei.msg);
}

static void
h_free(struct req *req)
{
	input_free(&req->in);
	resp_free(&req->resp);
}

/* Copies the value of response header name of req into out ("" if
 * none). */
static void
h_header(const struct req *req, const char *name, char *out, size_t outsz)
{
	const char	*p = req->resp.headers.p, *end, *v;
	size_t		 len = req->resp.headers.len, nlen = strlen(name);

	out[0] = '\0';
	end = p + len;
	while (p != NULL && p < end) {
		if ((size_t)(end - p) > nlen + 2 &&
		    strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			v = p + nlen + 1;
			while (v < end && *v == ' ')
				v++;
			len = 0;
			while (v + len < end && v[len] != '\r' &&
			    len + 1 < outsz)
				len++;
			memcpy(out, v, len);
			out[len] = '\0';
			return;
		}
		if ((p = memchr(p, '\n', (size_t)(end - p))) != NULL)
			p++;
	}
}

/* Returns 1 when the body of req's answer holds s. */
static int
h_has(const struct req *req, const char *s)
{
	size_t	 i, n = strlen(s), len = req->resp.body.len;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(req->resp.body.p + i, s, n) == 0)
			return 1;
	return 0;
}

/* Counts the rows of a formatted query on the test database. */
static long long
h_count(struct hfx *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static long long
h_count(struct hfx *fx, const char *fmt, ...)
{
	char	 sql[1024];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return udb_raw(fx->t, sql);
}

/* A verified token of Agent Ana for certificate i and form, with the
 * passphrase row pass, issued now. */
static void
h_mint(struct hfx *fx, size_t i, const char *form, int64_t pass,
    char tok[STAFF_VERIFIED_LEN + 1])
{
	make_tok(fx->t->cfg.secret, fx->staff, STAFF_SCOPE_CERT, fx->cert[i],
	    form, pass, rp_now_ms() / 1000, tok);
}

/* POST /agent/act for certificate i with the form id, the token, action
 * (reason keyCompromise) and call reference cref.  req to be freed. */
static enum rp_err
h_act(struct hfx *fx, struct req *req, size_t i, const char *form,
    const char *tok, const char *action, const char *cref)
{
	char	 id[24];

	h_req(fx, req, METHOD_POST, "/agent/act", fx->esc);
	(void)snprintf(id, sizeof(id), "%lld", (long long)fx->cert[i]);
	h_set(req, FIELD_CERT, id);
	h_set(req, FIELD_SCOPE, "certificate");
	h_set(req, FIELD_VERIFIED, tok);
	h_set(req, FIELD_FORM_ID, form);
	h_set(req, FIELD_ACTION, action);
	h_set(req, FIELD_REASON, "keyCompromise");
	h_set(req, FIELD_CALL_REF, cref);
	h_set(req, FIELD_CALLER_NAME, "Holder");
	return h_agent_act(req);
}

/* POST /agent/verify of certificate i with pass by the agent of esc. */
static enum rp_err
h_verify(struct hfx *fx, struct req *req, const char *esc, size_t i,
    const char *pass)
{
	char	 id[24];

	h_req(fx, req, METHOD_POST, "/agent/verify", esc);
	(void)snprintf(id, sizeof(id), "%lld", (long long)fx->cert[i]);
	h_set(req, FIELD_CERT, id);
	h_set(req, FIELD_SCOPE, "certificate");
	h_set(req, FIELD_PASSPHRASE, pass);
	return h_agent_verify(req);
}

/* Acts on certificate i with a fresh verification and form FORM_A;
 * copies the request's public id into id. */
static void
h_make_request(struct hfx *fx, size_t i, char id[RP_ID_LEN + 1])
{
	struct req	 req;
	char		 tok[STAFF_VERIFIED_LEN + 1], loc[128];

	h_mint(fx, i, FORM_A, fx->pass[i], tok);
	assert_int_equal(h_act(fx, &req, i, FORM_A, tok, "suspend",
	    "CALL-1"), RP_OK);
	assert_int_equal(req.resp.status, 303);
	h_header(&req, "Location", loc, sizeof(loc));
	assert_int_equal(strlen(loc), strlen("/agent/requests/") + RP_ID_LEN);
	memcpy(id, loc + strlen("/agent/requests/"), RP_ID_LEN + 1);
	h_free(&req);
}

static void
test_act_one_check_one_request(void **state)
{
	struct hfx	*fx = *state;
	struct req	 req;
	char		 tok[STAFF_VERIFIED_LEN + 1], loc[128], loc2[128];

	h_mint(fx, 0, FORM_A, fx->pass[0], tok);
	assert_int_equal(h_act(fx, &req, 0, FORM_A, tok, "suspend",
	    "CALL-1"), RP_OK);
	assert_int_equal(req.resp.status, 303);
	h_header(&req, "Location", loc, sizeof(loc));
	assert_true(strncmp(loc, "/agent/requests/", 16) == 0);
	h_free(&req);
	/* The request names the account, not only its display name; the
	 * form's record has the hotline's own prefix. */
	assert_int_equal(h_count(fx, "SELECT count(*) FROM requests WHERE "
	    "requester = '%s' AND staff_id = %lld", fx->actor,
	    (long long)fx->staff), 1);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM audit WHERE "
	    "action = 'request.received' AND actor = '%s'", fx->actor), 1);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM idempotency WHERE "
	    "key = 'hotline:%s'", FORM_A), 1);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM idempotency WHERE "
	    "key NOT LIKE 'hotline:%%'"), 0);

	/* The same form again: the same request. */
	assert_int_equal(h_act(fx, &req, 0, FORM_A, tok, "suspend",
	    "CALL-1"), RP_OK);
	assert_int_equal(req.resp.status, 303);
	h_header(&req, "Location", loc2, sizeof(loc2));
	assert_string_equal(loc, loc2);
	h_free(&req);
	/* The same check with another form id: refused. */
	assert_int_equal(h_act(fx, &req, 0, FORM_B, tok, "revoke", "CALL-2"),
	    RP_ERR_FORBIDDEN);
	assert_string_equal(req.err.code, "not_verified");
	assert_non_null(strstr(req.err.msg, "verify the caller again"));
	h_free(&req);
	/* The same form with other values: refused. */
	assert_int_equal(h_act(fx, &req, 0, FORM_A, tok, "revoke", "CALL-1"),
	    RP_ERR_CONFLICT);
	assert_string_equal(req.err.code, "form_used");
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM requests"), 1);
}

static void
test_act_lock_after_check(void **state)
{
	struct hfx	*fx = *state;
	struct req	 req;
	char		 tok[STAFF_VERIFIED_LEN + 1];

	/* Verified, then the passphrase is locked (wrong entries on the
	 * web form meanwhile): the act is refused and leaves nothing. */
	h_mint(fx, 0, FORM_A, fx->pass[0], tok);
	(void)h_count(fx, "UPDATE passphrases SET failures = 5, locked_at = 1 "
	    "WHERE id = %lld", (long long)fx->pass[0]);
	assert_int_equal(h_act(fx, &req, 0, FORM_A, tok, "suspend",
	    "CALL-1"), RP_ERR_LOCKED);
	assert_string_equal(req.err.code, "passphrase_locked");
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM requests"), 0);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM idempotency"), 0);
	/* Unlocked again, the same form goes through. */
	(void)h_count(fx, "UPDATE passphrases SET failures = 0, locked_at = "
	    "NULL WHERE id = %lld", (long long)fx->pass[0]);
	assert_int_equal(h_act(fx, &req, 0, FORM_A, tok, "suspend",
	    "CALL-1"), RP_OK);
	assert_int_equal(req.resp.status, 303);
	h_free(&req);
	/* A passphrase row that is not there (any more): refused. */
	h_mint(fx, 1, FORM_B, 999999, tok);
	assert_int_equal(h_act(fx, &req, 1, FORM_B, tok, "suspend",
	    "CALL-2"), RP_ERR_FORBIDDEN);
	assert_string_equal(req.err.code, "not_verified");
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM requests"), 1);
}

/* The concurrent twin of test_act_race: the same form, sent by another
 * worker, which makes the request between the first look at the form's
 * record and lc_create(). */
static char race_loc[128];

static void
race_twin(struct req *req)
{
	struct req	 twin = *req;

	hs_test_before_create = NULL;
	resp_init(&twin.resp);
	memset(&twin.err, 0, sizeof(twin.err));
	assert_int_equal(h_agent_act(&twin), RP_OK);
	assert_int_equal(twin.resp.status, 303);
	h_header(&twin, "Location", race_loc, sizeof(race_loc));
	resp_free(&twin.resp);
}

static void
test_act_race(void **state)
{
	struct hfx	*fx = *state;
	struct req	 req;
	char		 tok[STAFF_VERIFIED_LEN + 1], loc[128];
	enum rp_err	 e;

	/* The twin's request is open on the certificate, so lc_create()
	 * refuses this one before the form's key is ever tried: the
	 * answer is still the twin's request. */
	race_loc[0] = '\0';
	h_mint(fx, 0, FORM_A, fx->pass[0], tok);
	hs_test_before_create = race_twin;
	e = h_act(fx, &req, 0, FORM_A, tok, "suspend", "CALL-1");
	hs_test_before_create = NULL;
	assert_int_equal(e, RP_OK);
	assert_int_equal(req.resp.status, 303);
	h_header(&req, "Location", loc, sizeof(loc));
	assert_true(race_loc[0] != '\0');
	assert_string_equal(loc, race_loc);
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM requests"), 1);
}

static void
test_verify_rate(void **state)
{
	struct hfx	*fx = *state;
	struct req	 req;
	char		 v[32];
	long long	 ok, checks;
	int		 i;

	fx->t->cfg.rate_attempts = 2;
	for (i = 0; i < 2; i++) {
		assert_int_equal(h_verify(fx, &req, fx->esc, 0, H_PASS),
		    RP_OK);
		assert_int_equal(req.resp.status, 200);
		h_free(&req);
	}
	ok = h_count(fx, "SELECT count(*) FROM audit WHERE action = "
	    "'passphrase.ok'");
	checks = h_count(fx, "SELECT count(*) FROM audit WHERE action = "
	    "'agent.verify'");
	assert_int_equal(ok, 2);
	/* The third within the window: 429 with Retry-After, the
	 * certificate page, and the passphrase not even checked. */
	assert_int_equal(h_verify(fx, &req, fx->esc, 0, "a wrong guess at it"),
	    RP_OK);
	assert_int_equal(req.resp.status, 429);
	h_header(&req, "Retry-After", v, sizeof(v));
	assert_true(strtol(v, NULL, 10) >= 1 && strtol(v, NULL, 10) <= 60);
	assert_true(h_has(&req, "Too many passphrase checks"));
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT failures FROM passphrases WHERE "
	    "id = %lld", (long long)fx->pass[0]), 0);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM audit WHERE "
	    "action = 'agent.verify'"), checks);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM rate_limits WHERE "
	    "key = 'pass:staff:%lld'", (long long)fx->staff), 1);
	/* Per agent: another agent checks on. */
	assert_int_equal(h_verify(fx, &req, fx->esc2, 0, H_PASS), RP_OK);
	assert_int_equal(req.resp.status, 200);
	h_free(&req);
}

static void
test_verify_error_audited(void **state)
{
	struct hfx	*fx = *state;
	struct req	 req;

	/* The check cannot store its count: the error is the answer, and
	 * the attempt is audited as such. */
	db_fault_stmt(DB_PF_PASS_GET, 5 /* SQLITE_BUSY */);
	assert_int_equal(h_verify(fx, &req, fx->esc, 0, H_PASS),
	    RP_ERR_UNAVAILABLE);
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM audit WHERE "
	    "action = 'agent.verify' AND actor = '%s' AND details LIKE "
	    "'%%\"outcome\":\"error\"%%'", fx->actor), 1);
}

static void
test_views_audited(void **state)
{
	struct hfx	*fx = *state;
	struct req	 req;
	char		 id[RP_ID_LEN + 1];

	h_make_request(fx, 0, id);
	h_req(fx, &req, METHOD_GET, "/agent/requests/x", fx->esc);
	(void)snprintf(req.arg, sizeof(req.arg), "%s", id);
	assert_int_equal(h_agent_request(&req), RP_OK);
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM audit WHERE "
	    "action = 'agent.request_view' AND subject = 'request:%s' AND "
	    "actor = '%s'", id, fx->actor), 1);

	h_req(fx, &req, METHOD_GET, "/officer/", fx->esc);
	assert_int_equal(h_officer(&req), RP_OK);
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM audit WHERE "
	    "action = 'officer.queue' AND actor = '%s' AND details LIKE "
	    "'%%\"rows\":1%%'", fx->actor), 1);

	h_req(fx, &req, METHOD_GET, "/officer/requests/x", fx->esc);
	(void)snprintf(req.arg, sizeof(req.arg), "%s", id);
	assert_int_equal(h_officer_request(&req), RP_OK);
	h_free(&req);
	assert_int_equal(h_count(fx, "SELECT count(*) FROM audit WHERE "
	    "action = 'officer.view' AND subject = 'request:%s' AND "
	    "actor = '%s'", id, fx->actor), 1);
}

/* Appends one audit entry at (ms) in a transaction of its own. */
static void
h_audit(struct hfx *fx, int64_t at, const char *action, const char *subject,
    const char *details)
{
	struct rp_errinfo	 ei;
	json_t			*d;

	assert_non_null(d = json_loads(details, 0, NULL));
	assert_int_equal(db_begin(fx->t->db), RP_OK);
	if (audit_append(fx->t->db, at, "test", action, subject, d, &ei) !=
	    RP_OK)
		fail_msg("audit: %s", ei.msg);
	assert_int_equal(db_commit(fx->t->db), RP_OK);
	json_decref(d);
}

/* Counts the entries of action in trail (NULL: all). */
static size_t
h_trail_count(const json_t *trail, const char *action)
{
	const json_t	*row;
	size_t		 i, n = 0;

	json_array_foreach(trail, i, row)
		if (action == NULL || strcmp(json_string_value(
		    json_object_get(row, "action")), action) == 0)
			n++;
	return n;
}

static void
test_officer_trail(void **state)
{
	struct hfx		*fx = *state;
	struct req		 req;
	struct request		 r;
	struct rp_errinfo	 ei;
	json_t			*ctx, *certs, *trail, *row;
	char			 id[RP_ID_LEN + 1], subj[64], det[256];
	int64_t			 now = rp_now_ms(), seq, last = 0;
	size_t			 i;

	/* Fifteen old checks of the certificate, then the agent's own
	 * check, then the request. */
	(void)snprintf(subj, sizeof(subj), "certificate:%s", fx->serial[0]);
	(void)snprintf(det, sizeof(det), "{\"issuer\":\"%s\",\"outcome\":"
	    "\"failed\"}", H_ISSUER);
	for (i = 0; i < 15; i++)
		h_audit(fx, now - 60000 + (int64_t)i, "agent.verify", subj,
		    det);
	assert_int_equal(h_verify(fx, &req, fx->esc, 0, H_PASS), RP_OK);
	h_free(&req);
	h_make_request(fx, 0, id);
	/* A check after the request is not part of its story. */
	assert_int_equal(h_verify(fx, &req, fx->esc, 0, H_PASS), RP_OK);
	h_free(&req);
	/* The CA did it. */
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(lc_transition(fx->t->db, &fx->t->cfg.policy, id,
	    RS_RELAYED, "relay", NULL, rp_now_ms(), &ei), RP_OK);
	assert_int_equal(lc_transition(fx->t->db, &fx->t->cfg.policy, id,
	    RS_COMPLETED, "relay", NULL, rp_now_ms(), &ei), RP_OK);
	/* The same serial of another issuer, naming the request. */
	(void)snprintf(det, sizeof(det), "{\"issuer\":\"CN=Other CA\","
	    "\"request\":\"%s\",\"to\":\"revoked\"}", id);
	h_audit(fx, rp_now_ms(), "certificate.status", subj, det);
	/* A page left open: many views of the request. */
	(void)snprintf(subj, sizeof(subj), "request:%s", id);
	for (i = 0; i < 130; i++)
		h_audit(fx, rp_now_ms(), "officer.view", subj,
		    "{\"state\":\"completed\"}");

	h_req(fx, &req, METHOD_GET, "/officer/requests/x", fx->esc);
	assert_int_equal(lc_get(fx->t->db, id, &r), RP_OK);
	assert_non_null(ctx = json_object());
	assert_non_null(certs = json_pack("[{s:s, s:s}]", "serial",
	    fx->serial[0], "issuer", H_ISSUER));
	assert_int_equal(hs_request_trail(&req, ctx, &r, certs, ""), RP_OK);
	assert_non_null(trail = json_object_get(ctx, "trail"));
	assert_true(json_is_true(json_object_get(ctx, "have_trail")));
	/* The request's own story, however many views there were. */
	assert_int_equal(h_trail_count(trail, "request.received"), 1);
	assert_int_equal(h_trail_count(trail, "request.queued"), 1);
	assert_int_equal(h_trail_count(trail, "request.completed"), 1);
	assert_int_equal(h_trail_count(trail, "officer.view"), H_VIEWS_MAX);
	/* What it did to the certificate, this issuer's only. */
	assert_int_equal(h_trail_count(trail, "certificate.status"), 1);
	/* The last ten checks before it: the agent's (agent.verify and
	 * passphrase.ok) and eight of the old ones; none after it. */
	assert_int_equal(h_trail_count(trail, "agent.verify") +
	    h_trail_count(trail, "passphrase.ok"), 10);
	assert_int_equal(h_trail_count(trail, "passphrase.ok"), 1);
	/* In the order of the log, each once. */
	json_array_foreach(trail, i, row) {
		seq = json_integer_value(json_object_get(row, "seq"));
		assert_true(seq > last);
		last = seq;
		if (strcmp(json_string_value(json_object_get(row, "action")),
		    "passphrase.ok") == 0)
			assert_true(seq < h_count(fx, "SELECT seq FROM audit "
			    "WHERE action = 'request.received'"));
	}
	assert_int_equal(h_count(fx, "SELECT count(*) FROM audit WHERE "
	    "action = 'passphrase.ok'"), 2);
	json_decref(certs);
	json_decref(ctx);
	h_free(&req);

	/* The page shows it. */
	h_req(fx, &req, METHOD_GET, "/officer/requests/x", fx->esc);
	(void)snprintf(req.arg, sizeof(req.arg), "%s", id);
	assert_int_equal(h_officer_request(&req), RP_OK);
	assert_true(h_has(&req, "certificate.status"));
	assert_true(h_has(&req, "agent.verify"));
	h_free(&req);
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
		cmocka_unit_test(test_actor),
		cmocka_unit_test_setup_teardown(test_auth_long_name,
		    udb_setup, udb_teardown),
		cmocka_unit_test(test_row_id),
		cmocka_unit_test(test_like_pattern),
		cmocka_unit_test_setup_teardown(test_act_one_check_one_request,
		    h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_act_lock_after_check,
		    h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_act_race,
		    h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_verify_rate,
		    h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_verify_error_audited,
		    h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_views_audited,
		    h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_officer_trail,
		    h_setup, h_teardown),
	};

	if (pass_hash(H_PASS, strlen(H_PASS), h_hash, sizeof(h_hash)) !=
	    RP_OK) {
		fprintf(stderr, "pass_hash failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
