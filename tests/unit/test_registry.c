/*
 * Tests of registry.c and pass.c: importing certificates made here with
 * OpenSSL (persons, organisations, tokens, passphrases, the audit entry),
 * every refusal leaving the database as it was, finding certificates,
 * legal representatives at the edges of their period, staff accounts,
 * and Argon2id hashing and its strict format check.  Each test has its
 * own database in a mkdtemp() directory, migrated with the real
 * migrations in db/ (run from the repository root).
 */
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "unit.h"

#define NOW	((int64_t)1795300000000)	/* 2026-11-21, ms */
#define DAY	((int64_t)86400000)
#define ACTOR	"admin:test"
#define ISSUER1	"Test Qualified CA"
#define ISSUER2	"Other Qualified CA"
/* A valid Argon2id string (salt "saltsaltsaltsalt", made with argon2). */
#define HASH1	"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" \
		"MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI"

struct treg {
	char		 dir[64];
	struct config	 cfg;
	struct db	*db;
	EVP_PKEY	*key;
};

/* What a test certificate says about its subject. */
struct tcert {
	const char	*issuer_cn;
	const char	*cn;
	const char	*person_id;	/* subject serialNumber, or NULL */
	const char	*org;		/* O, or NULL */
	const char	*org_id;	/* organizationIdentifier, or NULL */
	const char	*email;		/* emailAddress, or NULL */
	long		 serial;
	long		 days;
};

static int
rm_tree(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[1024];
	int		 rc = 0;

	if (unlink(path) == 0)
		return 0;
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (rm_tree(p) == -1)
			rc = -1;
	}
	(void)closedir(d);
	if (rmdir(path) == -1)
		rc = -1;
	return rc;
}

static int
setup(void **state)
{
	struct treg	*t;
	char		 err[512];

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	(void)snprintf(t->dir, sizeof(t->dir), "/tmp/rp-reg-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	conf_defaults(&t->cfg);
	(void)snprintf(t->cfg.database, sizeof(t->cfg.database),
	    "%s/revportal.db", t->dir);
	(void)snprintf(t->cfg.db_dir, sizeof(t->cfg.db_dir), "db");
	if (db_migrate(&t->cfg, err, sizeof(err)) != RP_OK ||
	    (t->db = db_open(&t->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		(void)rm_tree(t->dir);
		free(t);
		return -1;
	}
	if ((t->key = EVP_EC_gen("P-256")) == NULL) {
		db_close(t->db);
		(void)rm_tree(t->dir);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct treg	*t = *state;
	int		 rc;

	db_close(t->db);
	EVP_PKEY_free(t->key);
	rc = rm_tree(t->dir);
	free(t);
	return rc;
}

static void
name_add(X509_NAME *n, const char *field, const char *value)
{
	if (value == NULL)
		return;
	assert_int_equal(X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0), 1);
}

/*
 * Makes the certificate tc describes, signed with the test key, and
 * reads it with x509_read_pem() into info (the caller frees it with
 * cert_info_free()).
 */
static void
make_cert(struct treg *t, const struct tcert *tc, struct cert_info *info)
{
	struct rp_errinfo	 ei;
	X509			*x;
	X509_NAME		*iss;
	BIO			*bio;
	char			*p;
	long			 n;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x),
	    tc->serial), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x),
	    tc->days * 86400));
	assert_int_equal(X509_set_pubkey(x, t->key), 1);
	assert_non_null(iss = X509_NAME_new());
	name_add(iss, "C", "SI");
	name_add(iss, "O", "Test TSP");
	name_add(iss, "CN", tc->issuer_cn != NULL ? tc->issuer_cn : ISSUER1);
	assert_int_equal(X509_set_issuer_name(x, iss), 1);
	X509_NAME_free(iss);
	name_add(X509_get_subject_name(x), "C", "SI");
	name_add(X509_get_subject_name(x), "O", tc->org);
	name_add(X509_get_subject_name(x), "organizationIdentifier",
	    tc->org_id);
	name_add(X509_get_subject_name(x), "serialNumber", tc->person_id);
	name_add(X509_get_subject_name(x), "CN", tc->cn);
	name_add(X509_get_subject_name(x), "emailAddress", tc->email);
	assert_true(X509_sign(x, t->key, EVP_sha256()) > 0);
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(x509_read_pem(p, (size_t)n, info, &ei), RP_OK);
	BIO_free(bio);
	X509_free(x);
}

/* An import description with the defaults of the admin tool. */
static struct reg_import
imp_of(enum cert_type type)
{
	struct reg_import	 imp;

	memset(&imp, 0, sizeof(imp));
	imp.type = type;
	imp.token_kind = "smartcard";
	imp.actor = ACTOR;
	imp.now = NOW;
	return imp;
}

/*
 * Imports info in a transaction of its own: committed on success,
 * rolled back otherwise.  Returns the result; ei gets the error.
 */
static enum rp_err
import_tx(struct treg *t, const struct cert_info *info,
    const struct reg_import *imp, int64_t *id, struct rp_errinfo *ei)
{
	enum rp_err	 e;

	assert_int_equal(db_begin(t->db), RP_OK);
	if ((e = reg_import_cert(t->db, info, imp, id, ei)) == RP_OK)
		assert_int_equal(db_commit(t->db), RP_OK);
	else
		db_rollback(t->db);
	return e;
}

/* Makes and imports a certificate; asserts that it worked. */
static int64_t
add_cert(struct treg *t, const struct tcert *tc, const struct reg_import *imp)
{
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	int64_t			 id = 0;

	make_cert(t, tc, &info);
	memset(&ei, 0, sizeof(ei));
	if (import_tx(t, &info, imp, &id, &ei) != RP_OK)
		fail_msg("import: %s", ei.msg);
	cert_info_free(&info);
	assert_true(id > 0);
	return id;
}

/* Returns the integer result of sql on the test's own connection. */
static int64_t
raw_int(struct treg *t, const char *sql)
{
	sqlite3		*h;
	sqlite3_stmt	*st;
	int64_t		 v;

	assert_int_equal(sqlite3_open_v2(t->cfg.database, &h,
	    SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	return v;
}

static void
raw_exec(struct treg *t, const char *sql)
{
	sqlite3		*h;
	char		*msg = NULL;

	assert_int_equal(sqlite3_open_v2(t->cfg.database, &h,
	    SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

/* The row counts of every table an import may touch, as one number. */
static int64_t
fingerprint(struct treg *t)
{
	return raw_int(t, "SELECT (SELECT count(*) FROM certificates) + "
	    "1000 * (SELECT count(*) FROM persons) + "
	    "1000000 * (SELECT count(*) FROM organisations) + "
	    "1000000000 * (SELECT count(*) FROM tokens) + "
	    "1000000000000 * (SELECT count(*) FROM passphrases) + "
	    "1000000000000000 * (SELECT count(*) FROM audit)");
}

/* Collects the audit entries of one subject: action|details lines. */
struct collect {
	char	 text[4096];
	int	 n;
};

static int
collect_cb(void *arg, const struct audit_entry *e)
{
	struct collect	*c = arg;
	size_t		 len = strlen(c->text);

	(void)snprintf(c->text + len, sizeof(c->text) - len, "%s %s %s\n",
	    e->actor, e->action, e->details);
	c->n++;
	return 0;
}

static void
collect(struct treg *t, const char *subject, struct collect *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(audit_each(t->db, subject, collect_cb, c), RP_OK);
}

/* --- import ------------------------------------------------------------ */

static void
test_import_types(void **state)
{
	struct treg		*t = *state;
	struct tcert		 personal = {
	    NULL, "Ana Novak", "PNOSI-1001", NULL, NULL, "ana@example.si",
	    0x1001, 1826 };
	struct tcert		 business = {
	    NULL, "Bojan Kranjc", "PNOSI-1002", "Podjetje d.o.o.",
	    "VATSI-12345678", NULL, 0x1002, 730 };
	struct tcert		 business2 = {
	    NULL, "Bojan Kranjc", "PNOSI-1002", "Podjetje d.o.o.",
	    "VATSI-12345678", NULL, 0x1003, 365 };
	struct tcert		 eseal = {
	    NULL, "Podjetje e-seal", NULL, "Podjetje d.o.o.", "VATSI-12345678",
	    NULL, 0x1004, 1095 };
	struct tcert		 tls = {
	    NULL, "www.example.si", NULL, NULL, NULL, NULL, 0x1005, 397 };
	struct reg_import	 imp;
	struct cert_row		 row;
	struct rp_errinfo	 ei;

	imp = imp_of(CT_PERSONAL);
	add_cert(t, &personal, &imp);
	imp = imp_of(CT_BUSINESS);
	add_cert(t, &business, &imp);
	add_cert(t, &business2, &imp);
	imp = imp_of(CT_ESEAL);
	add_cert(t, &eseal, &imp);
	imp = imp_of(CT_TLS);
	add_cert(t, &tls, &imp);

	assert_int_equal(reg_cert_find(t->db, NULL, "1001", &row, &ei),
	    RP_OK);
	assert_int_equal(row.type, CT_PERSONAL);
	assert_int_equal(row.status, CS_VALID);
	assert_string_equal(row.person_id, "PNOSI-1001");
	assert_string_equal(row.org_id, "");
	assert_int_equal(row.organisation, 0);
	assert_int_equal(row.token, 0);
	assert_string_equal(row.token_label, "");
	assert_int_equal(row.qscd, 0);
	assert_int_equal(row.term_years, 5);
	assert_int_equal(row.status_at, NOW);
	assert_int_equal(row.reason, REASON_UNSPECIFIED);
	assert_int_equal(row.not_after - row.not_before, 1826 * DAY);
	assert_string_equal(row.issuer, "CN=" ISSUER1 ",O=Test TSP,C=SI");
	assert_true(row.person > 0);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM persons WHERE "
	    "person_id = 'PNOSI-1001' AND name = 'Ana Novak' AND "
	    "email = 'ana@example.si'"), 1);

	assert_int_equal(reg_cert_find(t->db, NULL, "1002", &row, &ei),
	    RP_OK);
	assert_int_equal(row.type, CT_BUSINESS);
	assert_string_equal(row.person_id, "PNOSI-1002");
	assert_string_equal(row.org_id, "VATSI-12345678");
	assert_int_equal(row.term_years, 2);
	/* The second certificate of the person: no second person row. */
	assert_int_equal(raw_int(t, "SELECT count(*) FROM persons"), 2);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM organisations "
	    "WHERE org_id = 'VATSI-12345678' AND name = 'Podjetje d.o.o.'"),
	    1);
	assert_int_equal(raw_int(t, "SELECT count(DISTINCT person_id) FROM "
	    "certificates WHERE serial IN ('1002', '1003')"), 1);

	/* An e-seal: the organisation, no subject person. */
	assert_int_equal(reg_cert_find(t->db, NULL, "1004", &row, &ei),
	    RP_OK);
	assert_int_equal(row.type, CT_ESEAL);
	assert_int_equal(row.person, 0);
	assert_string_equal(row.person_id, "");
	assert_string_equal(row.org_id, "VATSI-12345678");
	assert_int_equal(row.term_years, 3);

	/* A TLS certificate with neither: 397 days is one year. */
	assert_int_equal(reg_cert_find(t->db, NULL, "1005", &row, &ei),
	    RP_OK);
	assert_int_equal(row.type, CT_TLS);
	assert_int_equal(row.person, 0);
	assert_int_equal(row.organisation, 0);
	assert_int_equal(row.term_years, 1);

	/* reg_cert_get() reads the same row. */
	assert_int_equal(reg_cert_get(t->db, row.id, &row), RP_OK);
	assert_string_equal(row.serial, "1005");
	assert_int_equal(reg_cert_get(t->db, 9999, &row), RP_ERR_NOT_FOUND);
}

static void
test_import_audit(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Cene Zupan", "PNOSI-1007", NULL, NULL, NULL, 0x1007, 1826 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct collect		 c;
	int64_t			 count, bad;
	char			 head[65];

	imp.token = "CARD-0001";
	imp.qscd = 1;
	imp.pass_hash = HASH1;
	add_cert(t, &tc, &imp);
	collect(t, "certificate:1007", &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.text, ACTOR " certificate.import "
	    "{\"issuer\":\"CN=" ISSUER1 ",O=Test TSP,C=SI\","
	    "\"passphrase\":true,\"qscd\":true,\"token\":\"CARD-0001\","
	    "\"type\":\"personal\"}\n");
	/* Never the hash itself, anywhere in the log. */
	assert_int_equal(raw_int(t, "SELECT count(*) FROM audit WHERE "
	    "details LIKE '%argon2%' OR details LIKE '%c2FsdH%'"), 0);
	assert_int_equal(audit_verify(t->db, &count, &bad, head, NULL),
	    RP_OK);
	assert_int_equal(count, 1);
}

static void
test_import_token_two_certs(void **state)
{
	struct treg		*t = *state;
	struct tcert		 access = {
	    NULL, "Cene Zupan", "PNOSI-1007", NULL, NULL, NULL, 0x1007, 1826 };
	struct tcert		 sign = {
	    NULL, "Cene Zupan", "PNOSI-1007", NULL, NULL, NULL, 0x1008, 1826 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_row		 rows[RP_TOKEN_CERTS_MAX];
	struct rp_errinfo	 ei;
	size_t			 n = 99;

	imp.token = "CARD-0001";
	imp.qscd = 1;
	imp.pass_hash = HASH1;
	add_cert(t, &access, &imp);
	imp.pass_hash = NULL;
	add_cert(t, &sign, &imp);

	assert_int_equal(reg_token_certs(t->db, "CARD-0001", rows,
	    RP_TOKEN_CERTS_MAX, &n, &ei), RP_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].serial, "1007");
	assert_string_equal(rows[1].serial, "1008");
	assert_string_equal(rows[0].token_label, "CARD-0001");
	assert_int_equal(rows[0].token, rows[1].token);
	assert_int_equal(rows[0].qscd, 1);
	assert_int_equal(rows[1].qscd, 1);
	assert_int_equal(rows[0].person, rows[1].person);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM tokens WHERE "
	    "label = 'CARD-0001' AND kind = 'smartcard' AND qscd = 1"), 1);
	/* One passphrase, for the token, not for a certificate. */
	assert_int_equal(raw_int(t, "SELECT count(*) FROM passphrases "
	    "WHERE token_id IS NOT NULL AND certificate_id IS NULL"), 1);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM passphrases"), 1);

	/* Never part of a token. */
	assert_int_equal(reg_token_certs(t->db, "CARD-0001", rows, 1, &n,
	    &ei), RP_ERR_TOO_LARGE);
	assert_int_equal(n, 0);
	assert_int_equal(reg_token_certs(t->db, "CARD-9999", rows,
	    RP_TOKEN_CERTS_MAX, &n, &ei), RP_ERR_NOT_FOUND);
	assert_string_equal(ei.code, "unknown_token");
}

static void
test_import_duplicate(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Ana Novak", "PNOSI-1001", NULL, NULL, NULL, 0x1001, 365 };
	struct tcert		 other = {
	    NULL, "Someone Else", "PNOSI-1999", "New Org", "VATSI-99999999",
	    NULL, 0x1001, 365 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	int64_t			 before, id = 0;

	imp.token = "CARD-1";
	make_cert(t, &tc, &info);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei), RP_OK);
	before = fingerprint(t);

	/* The same certificate again, even as another type. */
	imp = imp_of(CT_BUSINESS);
	imp.pass_hash = HASH1;
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "duplicate");
	assert_int_equal(id, 0);
	cert_info_free(&info);

	/* Another certificate with the same issuer and serial: its new
	 * person, organisation and token are not left behind either. */
	make_cert(t, &other, &info);
	imp.token = "CARD-2";
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "duplicate");
	cert_info_free(&info);
	assert_int_equal(fingerprint(t), before);
}

static void
test_import_token_mismatch(void **state)
{
	struct treg		*t = *state;
	struct tcert		 a = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x11, 365 };
	struct tcert		 b = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x12, 365 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	int64_t			 before, id;

	imp.token = "CARD-1";
	imp.qscd = 1;
	add_cert(t, &a, &imp);
	before = fingerprint(t);
	imp.qscd = 0;
	make_cert(t, &b, &info);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "token_mismatch");
	assert_int_equal(fingerprint(t), before);
	/* With the right QSCD flag it goes on the card. */
	imp.qscd = 1;
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei), RP_OK);
	cert_info_free(&info);
}

static void
test_import_token_full(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0, 365 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	int64_t			 id;
	unsigned int		 i;

	imp.token = "CARD-1";
	for (i = 0; i < RP_TOKEN_CERTS_MAX; i++) {
		tc.serial = 0x100 + (long)i;
		add_cert(t, &tc, &imp);
	}
	tc.serial = 0x200;
	make_cert(t, &tc, &info);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "token_full");
	cert_info_free(&info);
}

static void
test_import_passphrase_exists(void **state)
{
	struct treg		*t = *state;
	struct tcert		 a = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x21, 365 };
	struct tcert		 b = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x22, 365 };
	struct tcert		 c = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x23, 365 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	int64_t			 before, id;

	imp.token = "USB-1";
	imp.token_kind = "usb";
	imp.pass_hash = HASH1;
	add_cert(t, &a, &imp);
	before = fingerprint(t);
	make_cert(t, &b, &info);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "passphrase_exists");
	assert_int_equal(fingerprint(t), before);
	cert_info_free(&info);

	/* Without a token the hash belongs to the certificate. */
	imp = imp_of(CT_PERSONAL);
	imp.pass_hash = HASH1;
	id = add_cert(t, &c, &imp);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM passphrases WHERE "
	    "token_id IS NULL AND certificate_id IS NOT NULL"), 1);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM passphrases s "
	    "JOIN tokens k ON k.id = s.token_id WHERE k.kind = 'usb'"), 1);
	(void)id;
}

static void
test_import_bad_input(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x31, 365 };
	struct tcert		 longer = {
	    NULL, "CA-like", NULL, NULL, NULL, NULL, 0x32, 365 * 15 };
	struct tcert		 badorg = {
	    NULL, "www.example.si", NULL, "Org", "12345678", NULL, 0x33, 365 };
	struct tcert		 rlo = {
	    NULL, "Evil \xe2\x80\xaegnp.exe", NULL, NULL, NULL, NULL, 0x34,
	    365 };
	struct tcert		 tc2 = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x35, 365 };
	struct reg_import	 imp;
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	int64_t			 before, id;

	before = fingerprint(t);
	make_cert(t, &tc, &info);

	imp = imp_of(CT__MAX);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	imp = imp_of(CT_PERSONAL);
	imp.term_years = 11;
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_term");
	imp = imp_of(CT_PERSONAL);
	imp.qscd = 1;
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "qscd_needs_token");
	imp = imp_of(CT_PERSONAL);
	imp.token = "CARD-1";
	imp.token_kind = "floppy";
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_token_kind");
	imp = imp_of(CT_PERSONAL);
	imp.token = "";
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	imp = imp_of(CT_PERSONAL);
	imp.pass_hash = "$argon2id$v=19$m=19456,t=2,p=1$short$short";
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_passphrase_hash");
	imp = imp_of(CT_PERSONAL);
	imp.actor = NULL;
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_INTERNAL);
	cert_info_free(&info);

	/* 15 years cannot be rounded to a term: it must be given. */
	make_cert(t, &longer, &info);
	imp = imp_of(CT_TLS);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_term");
	imp.term_years = 10;
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei), RP_OK);
	cert_info_free(&info);
	before = fingerprint(t);

	/* An organizationIdentifier not of the ETSI form is refused. */
	make_cert(t, &badorg, &info);
	imp = imp_of(CT_TLS);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_org_id");
	cert_info_free(&info);
	/* A right-to-left override in the subject DN is refused. */
	make_cert(t, &rlo, &info);
	imp = imp_of(CT_TLS);
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_dn");
	cert_info_free(&info);
	/* A token label with a bidi control, a C1 control. */
	make_cert(t, &tc2, &info);
	imp = imp_of(CT_PERSONAL);
	imp.token = "CARD-\xe2\x80\x8f" "1";
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_token");
	imp.token = "CARD-\xc2\x9b" "1";
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_token");
	cert_info_free(&info);
	assert_int_equal(fingerprint(t), before);
}

/*
 * Only an ETSI natural-person serialNumber makes a person, and only for
 * types that have one: an EV TLS certificate's serialNumber is the
 * company register number.
 */
static void
test_import_person_rule(void **state)
{
	struct treg		*t = *state;
	struct tcert		 ev = {
	    NULL, "www.shop.si", "5566778000", "Shop d.o.o.",
	    "VATSI-55667780", NULL, 0x51, 365 };
	struct tcert		 qwac = {
	    NULL, "qwac.shop.si", "PNOSI-5101", NULL, NULL, NULL, 0x52, 365 };
	struct tcert		 plain = {
	    NULL, "Ana", "12345678", NULL, NULL, NULL, 0x53, 365 };
	struct tcert		 shortid = {
	    NULL, "Ana", "AB", NULL, NULL, NULL, 0x54, 365 };
	struct tcert		 seal = {
	    NULL, "Seal", "TINSI-5105", "Shop d.o.o.", "VATSI-55667780",
	    NULL, 0x55, 365 };
	struct tcert		 idc = {
	    NULL, "Ana", "IDCSI-X7", NULL, NULL, NULL, 0x56, 365 };
	struct reg_import	 imp;
	struct cert_row		 row;
	struct rp_errinfo	 ei;

	imp = imp_of(CT_TLS);
	add_cert(t, &ev, &imp);
	imp = imp_of(CT_QWAC);
	add_cert(t, &qwac, &imp);
	imp = imp_of(CT_PERSONAL);
	add_cert(t, &plain, &imp);
	add_cert(t, &shortid, &imp);
	imp = imp_of(CT_ESEAL);
	add_cert(t, &seal, &imp);
	imp = imp_of(CT_APPLICATION);
	add_cert(t, &idc, &imp);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM persons"), 2);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM persons WHERE "
	    "person_id IN ('TINSI-5105', 'IDCSI-X7')"), 2);

	assert_int_equal(reg_cert_find(t->db, NULL, "51", &row, &ei), RP_OK);
	assert_int_equal(row.person, 0);
	assert_string_equal(row.org_id, "VATSI-55667780");
	assert_int_equal(reg_cert_find(t->db, NULL, "52", &row, &ei), RP_OK);
	assert_int_equal(row.person, 0);
	assert_int_equal(reg_cert_find(t->db, NULL, "53", &row, &ei), RP_OK);
	assert_int_equal(row.person, 0);
	assert_int_equal(reg_cert_find(t->db, NULL, "55", &row, &ei), RP_OK);
	assert_string_equal(row.person_id, "TINSI-5105");
	assert_int_equal(reg_cert_find(t->db, NULL, "56", &row, &ei), RP_OK);
	assert_string_equal(row.person_id, "IDCSI-X7");
}

/* The ETSI identifier forms, names, labels, e-mail, token kinds. */
static void
test_ident_forms(void **state)
{
	static const char *const persons[] = {
		"PNOSI-1", "PASDE-C01X00T47", "IDCSI-1234567890123",
		"TAXFR-0123456789", "TINSI-12345678",
		"PNOSI-a!b~",
	};
	static const char *const not_persons[] = {
		"", "5566778000", "PNO", "PNOSI", "PNOSI-", "PNOsi-1",
		"pnoSI-1", "PNOSI1", "PNOSI_1", "VATSI-1", "LEIXG-1",
		"PNOSI-1 2", "PNOSI-1\t", "PNOSI-\xc5\xa1",
		" PNOSI-1", "PNOS1-1", "PNOSI:1",
	};
	static const char *const orgs[] = {
		"VATSI-12345678", "NTRDE-HRB12345", "PSDBE-NBB-1234",
		"LEIXG-529900T8BM49AURSDO55", "VATXI-1",
	};
	static const char *const not_orgs[] = {
		"", "VAT", "VATSI", "VATSI-", "vatSI-1", "PNOSI-1",
		"VATSI-1 2", "12345678", "VATS1-1", "EORSI-1",
	};
	char	 id[64];
	size_t	 i;

	(void)state;
	/* 50 characters after the hyphen at most. */
	memset(id, '7', sizeof(id));
	memcpy(id, "PNOSI-", 6);
	id[6 + 50] = '\0';
	assert_true(reg_person_id_ok(id));
	id[6 + 50] = '7';
	id[6 + 51] = '\0';
	assert_false(reg_person_id_ok(id));
	for (i = 0; i < sizeof(persons) / sizeof(persons[0]); i++)
		if (!reg_person_id_ok(persons[i]))
			fail_msg("refused person %s", persons[i]);
	for (i = 0; i < sizeof(not_persons) / sizeof(not_persons[0]); i++)
		if (reg_person_id_ok(not_persons[i]))
			fail_msg("accepted person %s", not_persons[i]);
	assert_false(reg_person_id_ok(NULL));
	for (i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++)
		if (!reg_org_id_ok(orgs[i]))
			fail_msg("refused org %s", orgs[i]);
	for (i = 0; i < sizeof(not_orgs) / sizeof(not_orgs[0]); i++)
		if (reg_org_id_ok(not_orgs[i]))
			fail_msg("accepted org %s", not_orgs[i]);
	assert_false(reg_org_id_ok(NULL));

	/* Names: UTF-8 text, nothing that hides or reorders it. */
	assert_true(reg_name_ok("Ana Novak"));
	assert_true(reg_name_ok("\xc5\xa0pela \xc4\x8cuk"));
	/* Arabic letters are fine, the Arabic letter mark is not. */
	assert_true(reg_name_ok("\xd8\xb9\xd9\x84\xd9\x8a"));
	assert_true(reg_name_ok("a\xe2\x80\x94" "b"));	/* U+2014 dash */
	assert_false(reg_name_ok(""));
	assert_false(reg_name_ok(NULL));
	assert_false(reg_name_ok("Ana\tNovak"));
	assert_false(reg_name_ok("Ana\x7f"));
	assert_false(reg_name_ok("Ana\x1b[31m"));
	assert_false(reg_name_ok("Ana\xc2\x85"));		/* NEL, C1 */
	assert_false(reg_name_ok("Ana\xc2\x9b" "31m"));	/* CSI, C1 */
	assert_false(reg_name_ok("Evil \xe2\x80\xaegnp.exe"));/* RLO */
	assert_false(reg_name_ok("a\xe2\x80\xaa"));	/* LRE */
	assert_false(reg_name_ok("a\xe2\x80\x8e"));	/* LRM */
	assert_false(reg_name_ok("a\xe2\x80\x8f"));	/* RLM */
	assert_false(reg_name_ok("a\xe2\x81\xa6"));	/* LRI */
	assert_false(reg_name_ok("a\xe2\x81\xa9"));	/* PDI */
	assert_false(reg_name_ok("a\xe2\x80\xa8"));	/* LINE SEP */
	assert_false(reg_name_ok("a\xd8\x9c"));		/* ALM */
	assert_false(reg_name_ok("a\xc5"));		/* cut UTF-8 */
	assert_false(reg_name_ok("a\xc0\xaf"));		/* overlong */
	assert_true(reg_label_ok("CARD-0001"));
	assert_false(reg_label_ok(""));
	assert_false(reg_label_ok("CARD\xe2\x80\xae" "1"));
	assert_true(reg_email_ok("ana@example.si"));
	assert_false(reg_email_ok("ana"));
	assert_false(reg_email_ok("@example.si"));
	assert_false(reg_email_ok("ana@"));
	assert_false(reg_email_ok("a@b@c"));
	assert_false(reg_email_ok("ana novak@example.si"));
	assert_false(reg_email_ok("ana@exa\xe2\x80\xaemple.si"));
	assert_true(reg_token_kind_ok("usb"));
	assert_false(reg_token_kind_ok("floppy"));
	assert_false(reg_token_kind_ok(""));
	assert_false(reg_token_kind_ok(NULL));
}

/* A row this program cannot read is an error, never a guess. */
static void
test_row_fail_closed(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x41, 365 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_row		 row;
	struct rp_errinfo	 ei;
	int64_t			 id;

	id = add_cert(t, &tc, &imp);
	raw_exec(t, "UPDATE certificates SET reason = 'keyCompromise'");
	assert_int_equal(reg_cert_get(t->db, id, &row), RP_OK);
	assert_int_equal(row.reason, REASON_KEY_COMPROMISE);
	/* The schema refuses a word it does not know ... */
	{
		sqlite3	*h;

		assert_int_equal(sqlite3_open_v2(t->cfg.database, &h,
		    SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(h, "UPDATE certificates SET "
		    "reason = 'lostItSomehow'", NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_close(h), SQLITE_OK);
	}
	/* ... and a damaged database that holds one anyway fails closed. */
	raw_exec(t, "PRAGMA ignore_check_constraints = ON; UPDATE certificates "
	    "SET reason = 'lostItSomehow'");
	assert_int_equal(reg_cert_get(t->db, id, &row), RP_ERR_INTERNAL);
	assert_int_equal(row.id, 0);
	assert_int_equal(reg_cert_find(t->db, NULL, "41", &row, &ei),
	    RP_ERR_INTERNAL);
}

/*
 * A new subject person whose e-mail address (subject emailAddress or
 * SAN) is not an address is refused with "bad_email" and nothing is
 * stored: from a real certificate, and from hand-filled cert_info
 * e-mails that x509.c might pass.  The same certificate with a good
 * address then imports, so the e-mail alone was refused.
 */
static void
test_import_bad_email(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Ana", "PNOSI-1001", NULL, NULL, "ana.example.si", 0x61,
	    365 };
	static const char *const bad[] = {
		"ana.example.si",		/* no '@' */
		"@example.si",			/* nothing before it */
		"ana@",				/* nothing after it */
		"ana@example@si",		/* two */
		"ana novak@example.si",		/* a space */
		"a\xe2\x80\xae@example.si",	/* a bidi control */
		"a@",				/* too short */
	};
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	int64_t			 before, id;
	size_t			 i;

	before = fingerprint(t);
	make_cert(t, &tc, &info);
	assert_string_equal(info.email, "ana.example.si");
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_email");
	assert_int_equal(id, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(info.email, sizeof(info.email), "%s", bad[i]);
		memset(&ei, 0, sizeof(ei));
		if (import_tx(t, &info, &imp, &id, &ei) != RP_ERR_BAD_INPUT ||
		    ei.code == NULL || strcmp(ei.code, "bad_email") != 0)
			fail_msg("bad[%zu] \"%s\": %s", i, bad[i],
			    ei.code != NULL ? ei.code : "accepted");
	}
	assert_int_equal(fingerprint(t), before);

	(void)snprintf(info.email, sizeof(info.email), "ana@example.si");
	assert_int_equal(import_tx(t, &info, &imp, &id, &ei), RP_OK);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM persons WHERE "
	    "person_id = 'PNOSI-1001' AND email = 'ana@example.si'"), 1);
	cert_info_free(&info);
}

/* --- finding certificates -------------------------------------------- */

static void
test_cert_find(void **state)
{
	struct treg		*t = *state;
	struct tcert		 a = {
	    ISSUER1, "Ana", "PNOSI-1001", NULL, NULL, NULL, 0x42BA, 365 };
	struct tcert		 b = {
	    ISSUER2, "Bojan", "PNOSI-1002", NULL, NULL, NULL, 0x42BA, 365 };
	struct tcert		 c = {
	    ISSUER2, "Cene", "PNOSI-1003", NULL, NULL, NULL, 0x77, 365 };
	struct reg_import	 imp = imp_of(CT_PERSONAL);
	struct cert_row		 row;
	struct rp_errinfo	 ei;
	const char		*iss1 = "CN=" ISSUER1 ",O=Test TSP,C=SI";
	const char		*iss2 = "CN=" ISSUER2 ",O=Test TSP,C=SI";

	add_cert(t, &a, &imp);
	add_cert(t, &c, &imp);

	/* One certificate with this serial: found with or without issuer. */
	assert_int_equal(reg_cert_find(t->db, NULL, "42BA", &row, &ei),
	    RP_OK);
	assert_string_equal(row.person_id, "PNOSI-1001");
	assert_int_equal(reg_cert_find(t->db, iss1, "42BA", &row, &ei),
	    RP_OK);
	assert_int_equal(reg_cert_find(t->db, iss2, "42BA", &row, &ei),
	    RP_ERR_NOT_FOUND);
	assert_string_equal(ei.code, "unknown_certificate");
	assert_int_equal(reg_cert_find(t->db, NULL, "42BB", &row, &ei),
	    RP_ERR_NOT_FOUND);
	assert_int_equal(reg_cert_find(t->db, NULL, "", &row, &ei),
	    RP_ERR_BAD_INPUT);
	assert_int_equal(reg_cert_find(t->db, NULL, NULL, &row, &ei),
	    RP_ERR_BAD_INPUT);

	/* A second issuer with the same serial: ambiguous without one. */
	add_cert(t, &b, &imp);
	assert_int_equal(reg_cert_find(t->db, NULL, "42BA", &row, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "ambiguous_serial");
	assert_int_equal(row.id, 0);
	assert_int_equal(reg_cert_find(t->db, iss1, "42BA", &row, &ei),
	    RP_OK);
	assert_string_equal(row.person_id, "PNOSI-1001");
	assert_int_equal(reg_cert_find(t->db, iss2, "42BA", &row, &ei),
	    RP_OK);
	assert_string_equal(row.person_id, "PNOSI-1002");
	/* Other serials of the second issuer are still unique. */
	assert_int_equal(reg_cert_find(t->db, NULL, "77", &row, &ei), RP_OK);
}

/* --- legal representatives --------------------------------------------- */

/* Looks up the row ids of an organisation and a person. */
static void
ids_of(struct treg *t, const char *org_id, const char *person_id,
    int64_t *org, int64_t *person)
{
	char	 sql[256];

	(void)snprintf(sql, sizeof(sql), "SELECT id FROM organisations "
	    "WHERE org_id = '%s'", org_id);
	*org = raw_int(t, sql);
	(void)snprintf(sql, sizeof(sql), "SELECT id FROM persons WHERE "
	    "person_id = '%s'", person_id);
	*person = raw_int(t, sql);
}

static enum rp_err
rep_add_tx(struct treg *t, const char *org_id, const char *org_name,
    const char *person_id, const char *name, int64_t from, int64_t to,
    struct rp_errinfo *ei)
{
	enum rp_err	 e;

	assert_int_equal(db_begin(t->db), RP_OK);
	e = reg_rep_add(t->db, org_id, org_name, person_id, name, NULL, from,
	    to, ACTOR, NOW, ei);
	if (e == RP_OK)
		assert_int_equal(db_commit(t->db), RP_OK);
	else
		db_rollback(t->db);
	return e;
}

static enum rp_err
rep_end_tx(struct treg *t, const char *org_id, const char *person_id,
    int64_t now, struct rp_errinfo *ei)
{
	enum rp_err	 e;
	int		 ended = -1, cancelled = -1;

	assert_int_equal(db_begin(t->db), RP_OK);
	e = reg_rep_end(t->db, org_id, person_id, ACTOR, now, &ended,
	    &cancelled, ei);
	assert_true(ended >= 0 && cancelled >= 0);
	assert_true(e != RP_OK || ended + cancelled > 0);
	if (e == RP_OK)
		assert_int_equal(db_commit(t->db), RP_OK);
	else
		db_rollback(t->db);
	return e;
}

static void
test_is_rep_edges(void **state)
{
	struct treg		*t = *state;
	struct rp_errinfo	 ei;
	struct collect		 c;
	int64_t			 org, person;
	int64_t			 from = NOW, to = NOW + 30 * DAY;
	int			 yes;

	assert_int_equal(rep_add_tx(t, "VATSI-12345678", "Podjetje d.o.o.",
	    "PNOSI-5001", "Darja", from, to, &ei), RP_OK);
	ids_of(t, "VATSI-12345678", "PNOSI-5001", &org, &person);

	assert_int_equal(reg_is_rep(t->db, org, person, from - 1, &yes),
	    RP_OK);
	assert_false(yes);
	assert_int_equal(reg_is_rep(t->db, org, person, from, &yes), RP_OK);
	assert_true(yes);
	assert_int_equal(reg_is_rep(t->db, org, person, to - 1, &yes),
	    RP_OK);
	assert_true(yes);
	assert_int_equal(reg_is_rep(t->db, org, person, to, &yes), RP_OK);
	assert_false(yes);
	/* Another person, another organisation, none. */
	assert_int_equal(reg_is_rep(t->db, org, person + 1, from, &yes),
	    RP_OK);
	assert_false(yes);
	assert_int_equal(reg_is_rep(t->db, org + 1, person, from, &yes),
	    RP_OK);
	assert_false(yes);
	assert_int_equal(reg_is_rep(t->db, 0, person, from, &yes), RP_OK);
	assert_false(yes);
	assert_int_equal(reg_is_rep(t->db, org, 0, from, &yes), RP_OK);
	assert_false(yes);

	/* The same person again while in force: refused. */
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, from + DAY, 0, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "rep_exists");
	/* Any overlap is refused: a period that starts before and ends
	 * inside, one inside, one around, one from before, open-ended. */
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, from - 10 * DAY, from + 1, &ei), RP_ERR_CONFLICT);
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, from + DAY, from + 2 * DAY, &ei), RP_ERR_CONFLICT);
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, from - DAY, to + DAY, &ei), RP_ERR_CONFLICT);
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, from - DAY, 0, &ei), RP_ERR_CONFLICT);
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, to - 1, to + DAY, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "rep_exists");
	/* Periods are half-open: one may end where another starts. */
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, from - 10 * DAY, from, &ei), RP_OK);
	/* After the period: a new, open-ended representation. */
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, to, 0, &ei), RP_OK);
	assert_int_equal(reg_is_rep(t->db, org, person, to + 365 * DAY,
	    &yes), RP_OK);
	assert_true(yes);

	collect(t, "organisation:VATSI-12345678", &c);
	assert_int_equal(c.n, 3);
	assert_non_null(strstr(c.text, ACTOR " rep.add {\"person\":"
	    "\"PNOSI-5001\",\"valid_from\":\"2026-11-21T"));
	assert_non_null(strstr(c.text, "\"valid_to\":null}"));
}

static void
test_rep_add_bad(void **state)
{
	struct treg		*t = *state;
	struct rp_errinfo	 ei;
	int64_t			 before = fingerprint(t);

	/* New organisation or person without a name. */
	assert_int_equal(rep_add_tx(t, "VATSI-1", NULL, "PNOSI-1", "X", NOW,
	    0, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "unknown_organisation");
	assert_int_equal(rep_add_tx(t, "VATSI-1", "Org", "PNOSI-1", NULL,
	    NOW, 0, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "unknown_person");
	/* Bad identifiers, an empty period, a control character. */
	assert_int_equal(rep_add_tx(t, "V", "Org", "PNOSI-1", "X", NOW, 0,
	    &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_identifier");
	assert_int_equal(rep_add_tx(t, "VATSI-1", "Org", "5566778000", "X",
	    NOW, 0, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_identifier");
	assert_int_equal(rep_add_tx(t, "PNOSI-2", "Org", "PNOSI-1", "X", NOW,
	    0, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(rep_add_tx(t, "VATSI-1", "Org", "PNOSI-1",
	    "Evil \xe2\x80\xae", NOW, 0, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_name");
	assert_int_equal(rep_add_tx(t, "VATSI-1", "Org\xc2\x9b", "PNOSI-1",
	    "X", NOW, 0, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_name");
	assert_int_equal(rep_add_tx(t, "VATSI-1", "Org", "PNOSI-1", "X", NOW,
	    NOW, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_period");
	assert_int_equal(rep_add_tx(t, "VATSI-1", "Org\n2", "PNOSI-1", "X",
	    NOW, 0, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(fingerprint(t), before);
}

/*
 * add-rep of a new person with an e-mail that is not an address is
 * refused with "bad_email", and neither the organisation nor the person
 * nor the representation is stored; with a good address it works.
 */
static void
test_rep_add_bad_email(void **state)
{
	struct treg		*t = *state;
	struct rp_errinfo	 ei;
	int64_t			 before = fingerprint(t);
	enum rp_err		 e;

	memset(&ei, 0, sizeof(ei));
	assert_int_equal(db_begin(t->db), RP_OK);
	e = reg_rep_add(t->db, "VATSI-12345678", "Podjetje d.o.o.",
	    "PNOSI-5001", "Darja", "darja.example.si", NOW, 0, ACTOR, NOW,
	    &ei);
	db_rollback(t->db);
	assert_int_equal(e, RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_email");
	assert_int_equal(fingerprint(t), before);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM legal_reps"), 0);

	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_rep_add(t->db, "VATSI-12345678",
	    "Podjetje d.o.o.", "PNOSI-5001", "Darja", "darja@example.si", NOW,
	    0, ACTOR, NOW, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM persons WHERE "
	    "person_id = 'PNOSI-5001' AND email = 'darja@example.si'"), 1);
}

static void
test_rep_end(void **state)
{
	struct treg		*t = *state;
	struct rp_errinfo	 ei;
	struct collect		 c;
	int64_t			 org, person;
	int			 yes;

	assert_int_equal(rep_add_tx(t, "VATSI-12345678", "Podjetje",
	    "PNOSI-5001", "Darja", NOW - 10 * DAY, 0, &ei), RP_OK);
	ids_of(t, "VATSI-12345678", "PNOSI-5001", &org, &person);
	assert_int_equal(rep_end_tx(t, "VATSI-12345678", "PNOSI-5001", NOW,
	    &ei), RP_OK);
	assert_int_equal(reg_is_rep(t->db, org, person, NOW - 1, &yes),
	    RP_OK);
	assert_true(yes);
	assert_int_equal(reg_is_rep(t->db, org, person, NOW, &yes), RP_OK);
	assert_false(yes);
	/* Nothing left in force to end. */
	assert_int_equal(rep_end_tx(t, "VATSI-12345678", "PNOSI-5001",
	    NOW + DAY, &ei), RP_ERR_NOT_FOUND);
	assert_string_equal(ei.code, "no_rep");
	assert_int_equal(rep_end_tx(t, "VATSI-00000000", "PNOSI-5001",
	    NOW + DAY, &ei), RP_ERR_NOT_FOUND);
	assert_int_equal(rep_end_tx(t, "VATSI-12345678", "PNOSI-0000",
	    NOW + DAY, &ei), RP_ERR_NOT_FOUND);
	collect(t, "organisation:VATSI-12345678", &c);
	assert_int_equal(c.n, 2);
	assert_non_null(strstr(c.text, ACTOR " rep.end {\"ended\":1,"
	    "\"person\":\"PNOSI-5001\",\"valid_to\":\"2026-11-21T"));
}

/* A representation that has not begun can be removed: it ends at its
 * start, so it never takes effect, and says so in the audit log. */
static void
test_rep_end_future(void **state)
{
	struct treg		*t = *state;
	struct rp_errinfo	 ei;
	struct collect		 c;
	int64_t			 org, person;
	int			 yes, ended = -1, cancelled = -1;

	assert_int_equal(rep_add_tx(t, "VATSI-12345678", "Podjetje",
	    "PNOSI-5001", "Darja", NOW + 10 * DAY, 0, &ei), RP_OK);
	ids_of(t, "VATSI-12345678", "PNOSI-5001", &org, &person);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_rep_end(t->db, "VATSI-12345678", "PNOSI-5001",
	    ACTOR, NOW, &ended, &cancelled, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(ended, 0);
	assert_int_equal(cancelled, 1);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM legal_reps WHERE "
	    "valid_to = valid_from"), 1);
	assert_int_equal(reg_is_rep(t->db, org, person, NOW + 10 * DAY,
	    &yes), RP_OK);
	assert_false(yes);
	assert_int_equal(reg_is_rep(t->db, org, person, NOW + 400 * DAY,
	    &yes), RP_OK);
	assert_false(yes);
	/* Nothing left to remove; the empty period blocks nothing. */
	assert_int_equal(rep_end_tx(t, "VATSI-12345678", "PNOSI-5001", NOW,
	    &ei), RP_ERR_NOT_FOUND);
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, NOW, NOW + 20 * DAY, &ei), RP_OK);

	/* One in force and one to come: both go, each audited. */
	assert_int_equal(rep_add_tx(t, "VATSI-12345678", NULL, "PNOSI-5001",
	    NULL, NOW + 30 * DAY, 0, &ei), RP_OK);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_rep_end(t->db, "VATSI-12345678", "PNOSI-5001",
	    ACTOR, NOW + DAY, &ended, &cancelled, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(ended, 1);
	assert_int_equal(cancelled, 1);
	assert_int_equal(reg_is_rep(t->db, org, person, NOW + DAY - 1, &yes),
	    RP_OK);
	assert_true(yes);
	assert_int_equal(reg_is_rep(t->db, org, person, NOW + DAY, &yes),
	    RP_OK);
	assert_false(yes);
	assert_int_equal(reg_is_rep(t->db, org, person, NOW + 31 * DAY,
	    &yes), RP_OK);
	assert_false(yes);
	collect(t, "organisation:VATSI-12345678", &c);
	assert_int_equal(c.n, 6);
	assert_non_null(strstr(c.text, ACTOR " rep.cancel {\"cancelled\":1,"
	    "\"person\":\"PNOSI-5001\"}\n"));
	assert_non_null(strstr(c.text, ACTOR " rep.end {\"ended\":1,"));
	/* A malformed identifier is refused, not looked up. */
	assert_int_equal(rep_end_tx(t, "VATSI-12345678", "bogus", NOW, &ei),
	    RP_ERR_BAD_INPUT);
}

/* --- staff ------------------------------------------------------------ */

static void
test_staff(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Agent Ana", NULL, "Test TSP", NULL, NULL, 0x2001, 365 };
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	struct collect		 c;
	char			 sql[256], subject[80], upper[65];
	size_t			 i;

	make_cert(t, &tc, &info);
	(void)snprintf(subject, sizeof(subject), "staff:%s", info.sha256);
	(void)snprintf(sql, sizeof(sql), "SELECT active FROM staff WHERE "
	    "cert_sha256 = '%s' AND name = 'Agent Ana' AND "
	    "roles = 'agent,officer'", info.sha256);

	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_add(t->db, &info, NULL,
	    ROLE_AGENT | ROLE_OFFICER, ACTOR, NOW, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(raw_int(t, sql), 1);

	/* The same certificate twice; no role; an unknown role bit. */
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_add(t->db, &info, "Other", ROLE_ADMIN,
	    ACTOR, NOW, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "staff_exists");
	assert_int_equal(reg_staff_add(t->db, &info, "Other", 0, ACTOR, NOW,
	    &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(reg_staff_add(t->db, &info, "Other", 0x8, ACTOR,
	    NOW, &ei), RP_ERR_BAD_INPUT);
	db_rollback(t->db);

	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_set_active(t->db, info.sha256, 0, ACTOR,
	    NOW + 1, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(raw_int(t, sql), 0);
	/* Disabling again changes nothing and writes no entry. */
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_set_active(t->db, info.sha256, 0, ACTOR,
	    NOW + 2, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	collect(t, subject, &c);
	assert_int_equal(c.n, 2);
	assert_non_null(strstr(c.text, ACTOR " staff.add {\"name\":"
	    "\"Agent Ana\",\"roles\":\"agent,officer\",\"subject\":"));
	assert_non_null(strstr(c.text, ACTOR " staff.disable "
	    "{\"active\":false}\n"));

	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_set_active(t->db, info.sha256, 1, ACTOR,
	    NOW + 3, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(raw_int(t, sql), 1);

	/* Unknown and malformed fingerprints: stored ones are lower case. */
	for (i = 0; i < 64; i++)
		upper[i] = info.sha256[i] >= 'a' ? (char)(info.sha256[i] -
		    'a' + 'A') : info.sha256[i];
	upper[64] = '\0';
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_set_active(t->db, "0000000000000000000000"
	    "000000000000000000000000000000000000000000", 0, ACTOR, NOW,
	    &ei), RP_ERR_NOT_FOUND);
	assert_string_equal(ei.code, "unknown_staff");
	if (strcmp(upper, info.sha256) != 0)
		assert_int_equal(reg_staff_set_active(t->db, upper, 0, ACTOR,
		    NOW, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(reg_staff_set_active(t->db, "abc", 0, ACTOR, NOW,
	    &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(reg_staff_set_active(t->db, NULL, 0, ACTOR, NOW,
	    &ei), RP_ERR_BAD_INPUT);
	db_rollback(t->db);
	cert_info_free(&info);
}

/* A common name or given name that reorders text makes no account. */
static void
test_staff_bidi(void **state)
{
	struct treg		*t = *state;
	struct tcert		 tc = {
	    NULL, "Agent \xe2\x80\xae" "anA", NULL, "Test TSP", NULL, NULL,
	    0x2002, 365 };
	struct tcert		 ok = {
	    NULL, "Agent Bor", NULL, "Test TSP", NULL, NULL, 0x2003, 365 };
	struct cert_info	 info;
	struct rp_errinfo	 ei;

	make_cert(t, &tc, &info);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_add(t->db, &info, NULL, ROLE_AGENT, ACTOR,
	    NOW, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_name");
	/* Named otherwise, the subject DN still holds the override. */
	assert_int_equal(reg_staff_add(t->db, &info, "Agent Ana", ROLE_AGENT,
	    ACTOR, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_dn");
	db_rollback(t->db);
	cert_info_free(&info);
	make_cert(t, &ok, &info);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_staff_add(t->db, &info, "Bor \xc2\x85", ROLE_AGENT,
	    ACTOR, NOW, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_name");
	db_rollback(t->db);
	cert_info_free(&info);
	assert_int_equal(raw_int(t, "SELECT count(*) FROM staff"), 0);
}

/* --- passphrases ------------------------------------------------------ */

static void
test_pass_hash_round_trip(void **state)
{
	static const char	 pass[] = "correct horse battery staple";
	static const char	 utf8[] = "ge\xc5\xa1lo za preklic";
	char			 h1[RP_PASS_HASH_MAX], h2[RP_PASS_HASH_MAX];

	(void)state;
	assert_int_equal(pass_hash(pass, strlen(pass), h1, sizeof(h1)),
	    RP_OK);
	assert_int_equal(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31),
	    0);
	assert_true(pass_hash_valid(h1));
	assert_int_equal(argon2id_verify(h1, pass, strlen(pass)), ARGON2_OK);
	assert_int_not_equal(argon2id_verify(h1, pass, strlen(pass) - 1),
	    ARGON2_OK);
	assert_int_not_equal(argon2id_verify(h1, "correct horse battery "
	    "stapler", strlen(pass) + 1), ARGON2_OK);
	/* A new salt each time. */
	assert_int_equal(pass_hash(pass, strlen(pass), h2, sizeof(h2)),
	    RP_OK);
	assert_string_not_equal(h1, h2);
	assert_int_equal(argon2id_verify(h2, pass, strlen(pass)), ARGON2_OK);
	/* UTF-8 passphrases are fine. */
	assert_int_equal(pass_hash(utf8, strlen(utf8), h2, sizeof(h2)),
	    RP_OK);
	assert_int_equal(argon2id_verify(h2, utf8, strlen(utf8)), ARGON2_OK);
	/* The output buffer must hold it; nothing is left in it then. */
	memset(h2, 'x', sizeof(h2));
	assert_int_equal(pass_hash(pass, strlen(pass), h2, 60),
	    RP_ERR_NOMEM);
	assert_int_equal(h2[0], '\0');
	assert_int_equal(pass_hash(pass, strlen(pass), h2, 0), RP_ERR_NOMEM);
}

static void
test_pass_valid(void **state)
{
	char	 big[200], out[RP_PASS_HASH_MAX];

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_true(pass_valid("12345678", 8));
	assert_true(pass_valid(big, 128));
	assert_true(pass_valid("\xc5\xa1\xc5\xa1\xc5\xa1\xc5\xa1", 8));
	assert_true(pass_valid("with spaces ok", 14));
	assert_false(pass_valid("1234567", 7));
	assert_false(pass_valid(big, 129));
	assert_false(pass_valid(NULL, 8));
	assert_false(pass_valid("1234\t678", 8));
	assert_false(pass_valid("1234567\n", 8));
	assert_false(pass_valid("1234\x7f" "678", 8));
	assert_false(pass_valid("1234\0" "678", 8));
	assert_false(pass_valid("123456\xc2\x85", 8));	/* C1: NEL */
	assert_false(pass_valid("1234567\xc5", 8));	/* cut UTF-8 */
	assert_false(pass_valid("123456\xc0\xaf", 8));	/* overlong */
	assert_false(pass_valid("12345\xed\xa0\x80", 8)); /* surrogate */
	memset(out, 'x', sizeof(out));
	assert_int_equal(pass_hash("1234\t678", 8, out, sizeof(out)),
	    RP_ERR_BAD_INPUT);
	assert_int_equal(out[0], '\0');
}

static void
test_pass_hash_valid(void **state)
{
	static const char *const good[] = {
		HASH1,
		/* The cheapest and the dearest accepted. */
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$"
		    "MTIzNDU2Nzg5MDEyMzQ1Ng",
		"$argon2id$v=19$m=262144,t=10,p=4$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* A hash of whole 4-character groups: no spare bits. */
		"$argon2id$v=19$m=65536,t=3,p=4$YWJjZGVmZ2hpams$"
		    "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4",
	};
	static const char *const bad[] = {
		"",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2d$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* no version */
		"$argon2id$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* Too cheap to resist brute force (below OWASP's minimum
		 * of 19 MiB and two passes): the old lower bounds. */
		"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$"
		    "MTIzNDU2Nzg5MDEyMzQ1Ng",
		"$argon2id$v=19$m=19455,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=65536,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* So dear every check is a denial of service: the old
		 * upper bounds, and just over the new ones. */
		"$argon2id$v=19$m=4194304,t=10,p=16$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=262145,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456,t=11,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456,t=2,p=5$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* m out of range, leading zero */
		"$argon2id$v=19$m=7,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=019456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* t and p zero */
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* parameters out of order, spaces, signs */
		"$argon2id$v=19$t=2,m=19456,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456, t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=+19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* padding, a bad character, base64url */
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA==$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2Fsd!$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMT_",
		/* salt under 8 bytes, hash under 16, hash over 64 */
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTEx"
		    "MTExMTExMTExMTExMTExMTExMTExMTExMTEx",
		/* a length no base64 has (4n + 1) */
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2Fsd$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* non-zero spare bits: not the canonical spelling */
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdB$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		/* missing parts, extra parts */
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI$",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI ",
		"$argon2id$v=19$m=19456,t=2,p=1,keyid=abc$"
		    "c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		" $argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
		"plaintext passphrase",
	};
	char	 huge[400];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!pass_hash_valid(good[i]))
			fail_msg("refused good[%zu] %s", i, good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pass_hash_valid(bad[i]))
			fail_msg("accepted bad[%zu] %s", i, bad[i]);
	assert_false(pass_hash_valid(NULL));
	/* Longer than RP_PASS_HASH_MAX allows. */
	(void)snprintf(huge, sizeof(huge), "%s", HASH1);
	memset(huge + strlen(HASH1), 'A', sizeof(huge) - strlen(HASH1) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_false(pass_hash_valid(huge));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_types, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import_token_two_certs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_duplicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import_token_mismatch,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_token_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import_passphrase_exists,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_bad_input, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import_person_rule, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import_bad_email, setup,
		    teardown),
		cmocka_unit_test(test_ident_forms),
		cmocka_unit_test_setup_teardown(test_row_fail_closed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_find, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_is_rep_edges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rep_add_bad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rep_add_bad_email, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rep_end, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rep_end_future, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_staff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staff_bidi, setup,
		    teardown),
		cmocka_unit_test(test_pass_hash_round_trip),
		cmocka_unit_test(test_pass_valid),
		cmocka_unit_test(test_pass_hash_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
