/*
 * Tests of a recovery's defences across csr.c, ca_cfssl.c, outbox.c and
 * lifecycle.c (the review of issue 6):
 *
 *	- the request's subject is the old certificate's byte for byte, and
 *	  it asks for no extension but the old subjectAltName, unchanged;
 *	  an RSA-PSS request names SHA-256 or stronger for its hash and its
 *	  MGF1 (csr_check());
 *	- the certificate the CA issued carries the request's key and the
 *	  old subjectAltName (csr_successor_check()); the old names as
 *	  cfssl's hosts (csr_san_hosts());
 *	- the cfssl driver sends "hosts", so that the REAL cfssl 1.2.0
 *	  (started here on a loopback port, as in test_ca_cfssl.c) writes
 *	  the old certificate's names and never the request's;
 *	- the relay: a recovery does not act once a revocation or a
 *	  suspension has overtaken it; the new certificate is on record
 *	  (recoveries row, registry) as soon as it is kept, and a failure
 *	  after that says so; a suspension may follow an open recovery.
 */
#include "unit.h"
#include "unit_db.h"
#include "unit_proc.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY	(24LL * 3600 * 1000)
#define T0	1767225600000LL		/* 2026-01-01T00:00:00Z */
#define NOW	(T0 + DAY)
#define LEASE	60000u
#define OWNER	"relay-a:1"

/* --- keys, names, requests, certificates ------------------------------ */

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

/*
 * The subject C=SI, serialNumber=PNOSI-RC, CN=cn, each value of string
 * type mb (MBSTRING_UTF8 writes UTF8String but for C and serialNumber;
 * V_ASN1_PRINTABLESTRING a PrintableString).
 */
static X509_NAME *
name(const char *cn, int cntype)
{
	X509_NAME	*n = X509_NAME_new();

	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8,
	    (const unsigned char *)"SI", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "serialNumber",
	    MBSTRING_UTF8, (const unsigned char *)"PNOSI-RC", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", cntype,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	return n;
}

static char *
bio_text(BIO *bio)
{
	char	*p, *s;
	long	 n;

	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	assert_non_null(s = malloc((size_t)n + 1));
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(bio);
	return s;
}

/* An extension from its OpenSSL configuration text ("email:a@b"). */
static X509_EXTENSION *
ext(int nid, const char *value)
{
	X509_EXTENSION	*x = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	if (x == NULL)
		fail_msg("extension %d %s", nid, value);
	return x;
}

/*
 * The PEM of a certificate for key with subject n (freed here), self-
 * signed with SHA-256, serial serial, valid from nb to na (ms), with the
 * subjectAltName san (OpenSSL's text; NULL: none).
 */
static char *
cert(EVP_PKEY *key, X509_NAME *n, long serial, int64_t nb, int64_t na,
    const char *san)
{
	X509		*x = X509_new();
	X509_EXTENSION	*e;
	BIO		*bio = BIO_new(BIO_s_mem());

	assert_non_null(x);
	assert_non_null(bio);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x),
	    (time_t)(nb / 1000)));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x),
	    (time_t)(na / 1000)));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (san != NULL) {
		e = ext(NID_subject_alt_name, san);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	X509_free(x);
	X509_NAME_free(n);
	return bio_text(bio);
}

/*
 * The PEM of a request for key with subject n (freed here), signed with
 * SHA-256, asking for the extensions exts (NULL: none; freed here) in an
 * attribute of type attr (NID_ext_req, NID_ms_ext_req); twice 1 asks
 * again in the attribute of the other type, twice 2 in a second
 * attribute of type attr.
 */
static char *
req_ext(EVP_PKEY *key, X509_NAME *n, STACK_OF(X509_EXTENSION) *exts,
    int attr, int twice)
{
	X509_REQ	*r = X509_REQ_new();
	BIO		*bio = BIO_new(BIO_s_mem());
	unsigned char	*der;
	int		 len;

	assert_non_null(r);
	assert_non_null(bio);
	assert_int_equal(X509_REQ_set_version(r, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	if (exts != NULL) {
		der = NULL;
		assert_true((len = i2d_X509_EXTENSIONS(exts, &der)) > 0);
		/* Added as it is, so that it can be there twice. */
		assert_int_equal(X509_REQ_add1_attr_by_NID(r, attr,
		    V_ASN1_SEQUENCE, der, len), 1);
		/* OpenSSL adds no attribute twice: a second one under
		 * another type, turned into attr when twice is 2. */
		if (twice)
			assert_int_equal(X509_REQ_add1_attr_by_NID(r,
			    twice == 2 ? NID_pkcs9_unstructuredName :
			    attr == NID_ext_req ? NID_ms_ext_req : NID_ext_req,
			    V_ASN1_SEQUENCE, der, len), 1);
		if (twice == 2)
			assert_int_equal(X509_ATTRIBUTE_set1_object(
			    X509_REQ_get_attr(r, 1), OBJ_nid2obj(attr)), 1);
		assert_int_equal(X509_REQ_get_attr_count(r), twice ? 2 : 1);
		OPENSSL_free(der);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(bio, r), 1);
	X509_REQ_free(r);
	X509_NAME_free(n);
	return bio_text(bio);
}

static char *
req(EVP_PKEY *key, X509_NAME *n)
{
	return req_ext(key, n, NULL, NID_ext_req, 0);
}

/* A stack of up to two extensions (b may be NULL). */
static STACK_OF(X509_EXTENSION) *
exts2(X509_EXTENSION *a, X509_EXTENSION *b)
{
	STACK_OF(X509_EXTENSION)	*s = sk_X509_EXTENSION_new_null();

	assert_non_null(s);
	assert_true(sk_X509_EXTENSION_push(s, a) > 0);
	if (b != NULL)
		assert_true(sk_X509_EXTENSION_push(s, b) > 0);
	return s;
}

/* csr_check() of pem against old: RP_OK, or the refusal's code. */
static const char *
check(const char *pem, const char *old)
{
	static char		 code[64];
	struct rp_errinfo	 ei;
	char			 sha[65];

	memset(&ei, 0, sizeof(ei));
	if (csr_check(pem, strlen(pem), old, sha, &ei) == RP_OK) {
		assert_int_equal(strlen(sha), 64);
		return "ok";
	}
	assert_string_equal(sha, "");
	(void)snprintf(code, sizeof(code), "%s", ei.code);
	return code;
}

/* --- csr.c --------------------------------------------------------------- */

/*
 * The subject is compared as DER: letter case, white space and another
 * string type of the same text are refused (X509_NAME_cmp() took them).
 */
static void
test_subject_exact(void **state)
{
	EVP_PKEY	*old = ec_key(), *nk = ec_key();
	char		*oldpem, *p;

	(void)state;
	oldpem = cert(old, name("Rec Holder", MBSTRING_UTF8), 1, T0,
	    T0 + DAY, NULL);
	p = req(nk, name("Rec Holder", MBSTRING_UTF8));
	assert_string_equal(check(p, oldpem), "ok");
	free(p);
	p = req(nk, name("REC  holder", MBSTRING_UTF8));
	assert_string_equal(check(p, oldpem), "csr_subject");
	free(p);
	p = req(nk, name("REC\nholder", MBSTRING_UTF8));
	assert_string_equal(check(p, oldpem), "csr_subject");
	free(p);
	p = req(nk, name("Rec Holder", V_ASN1_PRINTABLESTRING));
	assert_string_equal(check(p, oldpem), "csr_subject");
	free(p);
	free(oldpem);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
}

/*
 * The extensions a request asks for: none, or the old certificate's
 * subjectAltName exactly; anything else, a second SAN, a second
 * extensionRequest attribute or Microsoft's older attribute with another
 * SAN is refused.
 */
static void
test_requested_extensions(void **state)
{
	const char	*same = "email:rec@example.test,DNS:rec.example.test";
	EVP_PKEY	*old = ec_key(), *nk = ec_key();
	char		*oldpem, *nosan, *p;

	(void)state;
	oldpem = cert(old, name("Rec Holder", MBSTRING_UTF8), 1, T0,
	    T0 + DAY, same);
	nosan = cert(old, name("Rec Holder", MBSTRING_UTF8), 2, T0,
	    T0 + DAY, NULL);

	/* None asked for: the CA is told the old names (cfssl's hosts). */
	p = req(nk, name("Rec Holder", MBSTRING_UTF8));
	assert_string_equal(check(p, oldpem), "ok");
	assert_string_equal(check(p, nosan), "ok");
	free(p);
	/* The same names: let through; against no SAN: refused. */
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, same), NULL), NID_ext_req, 0);
	assert_string_equal(check(p, oldpem), "ok");
	assert_string_equal(check(p, nosan), "csr_extensions");
	free(p);
	/* Another address, the same in another order, one more name. */
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, "email:ceo@bank.test"), NULL),
	    NID_ext_req, 0);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	free(p);
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, "DNS:rec.example.test,"
	    "email:rec@example.test"), NULL), NID_ext_req, 0);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	free(p);
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, "email:rec@example.test,"
	    "DNS:rec.example.test,DNS:www.bank.test"), NULL), NID_ext_req, 0);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	free(p);
	/* The right SAN with another extension, or another alone. */
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, same), ext(NID_key_usage,
	    "critical,keyCertSign")), NID_ext_req, 0);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	free(p);
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_basic_constraints, "critical,CA:TRUE"), NULL),
	    NID_ext_req, 0);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	assert_string_equal(check(p, nosan), "csr_extensions");
	free(p);
	/* The right SAN twice in one list; the attribute twice. */
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, same), ext(NID_subject_alt_name,
	    same)), NID_ext_req, 0);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	free(p);
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, same), NULL), NID_ext_req, 1);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	free(p);
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, same), NULL), NID_ext_req, 2);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	free(p);
	/* Microsoft's attribute is read too. */
	p = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, "email:ceo@bank.test"), NULL),
	    NID_ms_ext_req, 0);
	assert_string_equal(check(p, oldpem), "csr_extensions");
	assert_string_equal(check(p, nosan), "csr_extensions");
	free(p);
	free(oldpem);
	free(nosan);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
}

/* A request signed with RSA-PSS with md as its hash and mgf as MGF1's. */
static char *
req_pss(EVP_PKEY *key, const EVP_MD *md, const EVP_MD *mgf)
{
	X509_REQ	*r = X509_REQ_new();
	X509_NAME	*n = name("Rec Holder", MBSTRING_UTF8);
	EVP_MD_CTX	*mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx = NULL;
	BIO		*bio = BIO_new(BIO_s_mem());

	assert_non_null(r);
	assert_non_null(mctx);
	assert_non_null(bio);
	assert_int_equal(X509_REQ_set_version(r, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	assert_int_equal(EVP_DigestSignInit(mctx, &pctx, md, NULL, key), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    RSA_PSS_SALTLEN_DIGEST) > 0);
	assert_true(X509_REQ_sign_ctx(r, mctx) > 0);
	assert_int_equal(X509_REQ_get_signature_nid(r), NID_rsassaPss);
	assert_int_equal(PEM_write_bio_X509_REQ(bio, r), 1);
	EVP_MD_CTX_free(mctx);
	X509_REQ_free(r);
	X509_NAME_free(n);
	return bio_text(bio);
}

/*
 * RSA-PSS: SHA-256 or stronger for both the hash and MGF1; SHA-1 in
 * either (absent parameters mean SHA-1) is refused.
 */
static void
test_pss_digests(void **state)
{
	EVP_PKEY	*old = ec_key(), *rsa;
	char		*oldpem, *p;

	(void)state;
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(rsa);
	oldpem = cert(old, name("Rec Holder", MBSTRING_UTF8), 1, T0,
	    T0 + DAY, NULL);
	p = req_pss(rsa, EVP_sha256(), EVP_sha256());
	assert_string_equal(check(p, oldpem), "ok");
	free(p);
	p = req_pss(rsa, EVP_sha384(), EVP_sha512());
	assert_string_equal(check(p, oldpem), "ok");
	free(p);
	p = req_pss(rsa, EVP_sha1(), EVP_sha1());
	assert_string_equal(check(p, oldpem), "csr_invalid");
	free(p);
	p = req_pss(rsa, EVP_sha256(), EVP_sha1());
	assert_string_equal(check(p, oldpem), "csr_invalid");
	free(p);
	p = req_pss(rsa, EVP_sha1(), EVP_sha256());
	assert_string_equal(check(p, oldpem), "csr_invalid");
	free(p);
	free(oldpem);
	EVP_PKEY_free(old);
	EVP_PKEY_free(rsa);
}

/* csr_successor_check(): RP_OK, or the refusal's code. */
static const char *
successor(const char *csr, const char *old, const char *issued)
{
	static char		 code[64];
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (csr_successor_check(csr, old, issued, strlen(issued), &ei) ==
	    RP_OK)
		return "ok";
	(void)snprintf(code, sizeof(code), "%s", ei.code);
	return code;
}

/*
 * What the CA issued: the request's key and the old subjectAltName, DER
 * for DER (none for none).
 */
static void
test_successor_check(void **state)
{
	const char	*san = "email:rec@example.test";
	EVP_PKEY	*old = ec_key(), *nk = ec_key();
	char		*oldpem, *nosan, *csr, *good, *evil, *bare, *other;

	(void)state;
	oldpem = cert(old, name("Rec Holder", MBSTRING_UTF8), 1, T0,
	    T0 + DAY, san);
	nosan = cert(old, name("Rec Holder", MBSTRING_UTF8), 2, T0,
	    T0 + DAY, NULL);
	csr = req(nk, name("Rec Holder", MBSTRING_UTF8));
	good = cert(nk, name("Rec Holder", V_ASN1_PRINTABLESTRING), 3, NOW,
	    NOW + DAY, san);
	evil = cert(nk, name("Rec Holder", MBSTRING_UTF8), 4, NOW, NOW + DAY,
	    "email:rec@example.test,email:ceo@bank.test");
	bare = cert(nk, name("Rec Holder", MBSTRING_UTF8), 5, NOW, NOW + DAY,
	    NULL);
	other = cert(old, name("Rec Holder", MBSTRING_UTF8), 6, NOW,
	    NOW + DAY, san);
	assert_string_equal(successor(csr, oldpem, good), "ok");
	assert_string_equal(successor(csr, oldpem, evil), "issued_san");
	assert_string_equal(successor(csr, oldpem, bare), "issued_san");
	assert_string_equal(successor(csr, nosan, bare), "ok");
	assert_string_equal(successor(csr, nosan, good), "issued_san");
	assert_string_equal(successor(csr, oldpem, other),
	    "issued_mismatch");
	assert_string_equal(successor(csr, "junk", good), "csr_old_cert");
	free(oldpem);
	free(nosan);
	free(csr);
	free(good);
	free(evil);
	free(bare);
	free(other);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
}

/* csr_san_hosts() of a certificate with san: the hosts joined by ' ',
 * or the refusal's code. */
static const char *
hosts(const char *san)
{
	static char		 out[1024];
	struct csr_hosts	 h;
	struct rp_errinfo	 ei;
	EVP_PKEY		*k = ec_key();
	char			*pem;
	size_t			 i, len = 0;

	pem = cert(k, name("Hosts", MBSTRING_UTF8), 9, T0, T0 + DAY, san);
	memset(&ei, 0, sizeof(ei));
	out[0] = '\0';
	if (csr_san_hosts(pem, &h, &ei) != RP_OK) {
		(void)snprintf(out, sizeof(out), "%s", ei.code);
		assert_int_equal(h.n, 0);
	} else
		for (i = 0; i < h.n; i++)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
			    "%s%s", i > 0 ? " " : "", h.name[i]);
	free(pem);
	EVP_PKEY_free(k);
	return out;
}

/*
 * The old names as cfssl's hosts: DNS names, e-mail and IP addresses in
 * the order cfssl writes them; what it could not write again is refused.
 */
static void
test_san_hosts(void **state)
{
	char	 many[2048];
	size_t	 i, len = 0;

	(void)state;
	assert_string_equal(hosts(NULL), "");
	assert_string_equal(hosts("DNS:a.test,DNS:*.b.test,"
	    "email:rec@example.test,IP:10.0.0.1,IP:2001:db8::1"),
	    "a.test *.b.test rec@example.test 10.0.0.1 2001:db8::1");
	/* cfssl writes DNS names first: another order is not kept. */
	assert_string_equal(hosts("email:rec@example.test,DNS:a.test"),
	    "san_hosts");
	assert_string_equal(hosts("IP:10.0.0.1,DNS:a.test"), "san_hosts");
	/* Names cfssl cannot make, or would make into another kind. */
	assert_string_equal(hosts("URI:https://a.test/"), "san_hosts");
	assert_string_equal(hosts("RID:1.2.3.4"), "san_hosts");
	assert_string_equal(hosts("otherName:1.2.3.4;UTF8:x"), "san_hosts");
	assert_string_equal(hosts("DNS:10.0.0.1"), "san_hosts");
	assert_string_equal(hosts("DNS:a@b.test"), "san_hosts");
	assert_string_equal(hosts("DNS:a b.test"), "san_hosts");
	assert_string_equal(hosts("email:Rec <rec@example.test>"),
	    "san_hosts");
	assert_string_equal(hosts("email:rec"), "san_hosts");
	assert_string_equal(hosts("IP:::ffff:10.0.0.1"), "san_hosts");
	/* At most CSR_HOSTS_MAX names. */
	for (i = 0; i < CSR_HOSTS_MAX; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len,
		    "%sDNS:h%zu.test", i > 0 ? "," : "", i);
	assert_string_equal(strrchr(hosts(many), ' ') + 1, "h15.test");
	(void)snprintf(many + len, sizeof(many) - len, ",DNS:one.more");
	assert_string_equal(hosts(many), "san_hosts");
}

/* --- the real cfssl --------------------------------------------------- */

struct cfenv {
	char		 dir[UP_DIR_MAX];
	pid_t		 pid;
	char		 base[64];
	struct hc	*hc;
};

static struct cfenv	 cf;

static int
cf_write(const char *path, const char *s)
{
	FILE	*f;
	int	 rc;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	rc = fputs(s, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
cf_setup(void **state)
{
	char	 ca[128], cakey[128], tls[128], tlskey[128], conf[128];
	char	 log[128], port[16];
	char	*serve[] = { "cfssl", "serve", "-address", "127.0.0.1",
	    "-port", port, "-ca", ca, "-ca-key", cakey, "-config", conf,
	    "-tls-cert", tls, "-tls-key", tlskey, NULL };
	struct hc_conf	 hcc;
	char		 err[256];
	int		 p;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	if (up_tmpdir("rp-recovery", cf.dir) == -1 ||
	    up_mkcerts(cf.dir) == -1)
		return -1;
#define P(buf, n) (void)snprintf(buf, sizeof(buf), "%s/" n, cf.dir)
	P(ca, "ca.pem");
	P(cakey, "ca.key");
	P(tls, "server.pem");
	P(tlskey, "server.key");
	P(conf, "cfssl.json");
	P(log, "cfssl.log");
#undef P
	if (cf_write(conf, "{\"signing\":{\"default\":{\"expiry\":\"24h\","
	    "\"usages\":[\"digital signature\"]},\"profiles\":{\"personal\":"
	    "{\"expiry\":\"48h\",\"usages\":[\"digital signature\"]}}}}\n") ==
	    -1 || (p = up_free_port()) == -1)
		return -1;
	(void)snprintf(port, sizeof(port), "%d", p);
	if ((cf.pid = up_spawn(serve, log)) == -1 ||
	    up_wait_listen(p, cf.pid, 15000) == -1) {
		fprintf(stderr, "test_recovery: cfssl did not start; see %s\n",
		    log);
		return -1;
	}
	(void)snprintf(cf.base, sizeof(cf.base), "https://127.0.0.1:%d", p);
	memset(&hcc, 0, sizeof(hcc));
	hcc.ca_file = ca;
	hcc.connect_timeout_ms = 5000;
	hcc.timeout_ms = 10000;
	hcc.max_response = 64 * 1024;
	if ((cf.hc = hc_new(&hcc, err, sizeof(err))) == NULL)
		return -1;
	return 0;
}

static int
cf_teardown(void **state)
{
	(void)state;
	hc_free(cf.hc);
	up_stop(cf.pid);
	up_rmrf(cf.dir);
	return 0;
}

/* The subjectAltName of pem in OpenSSL's words ("" for none). */
static char *
san_text(const char *pem)
{
	BIO		*in = BIO_new_mem_buf(pem, -1), *out;
	X509		*x;
	int		 i;

	assert_non_null(in);
	assert_non_null(x = PEM_read_bio_X509(in, NULL, NULL, NULL));
	BIO_free(in);
	assert_non_null(out = BIO_new(BIO_s_mem()));
	assert_int_equal(BIO_write(out, "", 0) >= 0, 1);
	if ((i = X509_get_ext_by_NID(x, NID_subject_alt_name, -1)) >= 0)
		assert_int_equal(X509V3_EXT_print(out,
		    X509_get_ext(x, i), 0, 0), 1);
	X509_free(x);
	if (i < 0) {
		BIO_free(out);
		return strdup("");
	}
	return bio_text(out);
}

/*
 * cfssl 1.2.0 copies a request's names into the certificate unless it is
 * given "hosts": the driver sends the old certificate's names, and an
 * empty list without them, which leaves the certificate without a
 * subjectAltName.  A subjectAltName cfssl cannot write again is not sent.
 */
static void
test_cfssl_hosts_real(void **state)
{
	const char		*san = "email:rec@example.test";
	EVP_PKEY		*old = ec_key(), *nk = ec_key();
	struct ca_job		 j;
	struct ca_result	 r;
	char			*oldpem, *nosan, *uri, *csr, *s;

	(void)state;
	oldpem = cert(old, name("Rec Holder", MBSTRING_UTF8), 1, T0,
	    T0 + 400 * DAY, san);
	nosan = cert(old, name("Rec Holder", MBSTRING_UTF8), 2, T0,
	    T0 + 400 * DAY, NULL);
	uri = cert(old, name("Rec Holder", MBSTRING_UTF8), 3, T0,
	    T0 + 400 * DAY, "URI:https://rec.example.test/");
	/* A request for someone else's names, as cfssl would copy them. */
	csr = req_ext(nk, name("Rec Holder", MBSTRING_UTF8),
	    exts2(ext(NID_subject_alt_name, "email:ceo@bank.test,"
	    "DNS:www.bank.test"), NULL), NID_ext_req, 0);
	memset(&j, 0, sizeof(j));
	j.action = ACT_RECOVER;
	j.issuer = "CN=revportal test CA";
	j.serial = "01";
	j.reason = REASON_SUPERSEDED;
	j.idem_key = "AAAAAAAAAAAAAAAAAAAAAA.1";
	j.csr_pem = csr;
	j.cert_type = "personal";
	j.person = "PNOSI-RC";

	j.old_cert_pem = oldpem;
	ca_cfssl_driver.enroll(cf.hc, cf.base, &j, &r);
	if (r.outcome != CA_DONE)
		fail_msg("%s: %s", ca_outcome_name(r.outcome), r.message);
	s = san_text(r.issued_pem);
	assert_string_equal(s, "email:rec@example.test");
	free(s);
	assert_string_equal(successor(csr, oldpem, r.issued_pem), "ok");

	j.old_cert_pem = nosan;
	ca_cfssl_driver.enroll(cf.hc, cf.base, &j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	s = san_text(r.issued_pem);
	assert_string_equal(s, "");
	free(s);
	assert_string_equal(successor(csr, nosan, r.issued_pem), "ok");

	/* None given: none either, never the request's. */
	j.old_cert_pem = NULL;
	ca_cfssl_driver.enroll(cf.hc, cf.base, &j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	s = san_text(r.issued_pem);
	assert_string_equal(s, "");
	free(s);

	j.old_cert_pem = uri;
	ca_cfssl_driver.enroll(cf.hc, cf.base, &j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 0);
	assert_string_equal(r.issued_pem, "");
	assert_non_null(strstr(r.message, "not sent"));
	free(oldpem);
	free(nosan);
	free(uri);
	free(csr);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
}

/* --- the relay ----------------------------------------------------------- */

/* The test driver: what it answers, what it saw. */
struct tdrv {
	struct ca_result	 deliver;
	struct ca_result	 enroll;
	unsigned int		 delivers, checks, enrolls;
	enum crl_reason		 reason;	/* of the last delivery */
	char			 old_pem[RP_PEM_MAX];	/* enroll's */
	int			 stop_in_enroll;
};

static struct tdrv		 td;
static int64_t			 tnow;
static volatile sig_atomic_t	 tstop;

static int64_t
tclock(void)
{
	return tnow;
}

static void
td_deliver(struct hc *hc, const char *url, const struct ca_job *j,
    struct ca_result *r)
{
	(void)hc;
	(void)url;
	td.delivers++;
	td.reason = j->reason;
	*r = td.deliver;
}

static void
td_check(struct hc *hc, const char *url, const struct ca_job *j,
    struct ca_result *r)
{
	(void)hc;
	(void)url;
	(void)j;
	td.checks++;
	memset(r, 0, sizeof(*r));
	r->outcome = CA_UNSUPPORTED;
}

static void
td_enroll(struct hc *hc, const char *url, const struct ca_job *j,
    struct ca_result *r)
{
	(void)hc;
	(void)url;
	td.enrolls++;
	(void)snprintf(td.old_pem, sizeof(td.old_pem), "%s",
	    j->old_cert_pem != NULL ? j->old_cert_pem : "(null)");
	if (td.stop_in_enroll)
		tstop = 1;
	*r = td.enroll;
}

static const struct ca_driver tdriver = { "test", td_deliver, td_check,
    td_enroll };

static void
answer(struct ca_result *r, enum ca_outcome o, long status, const char *msg)
{
	memset(r, 0, sizeof(*r));
	r->outcome = o;
	r->http_status = status;
	(void)snprintf(r->message, sizeof(r->message), "%s", msg);
}

static struct outbox_conf
conf(void)
{
	struct outbox_conf	 oc;

	memset(&oc, 0, sizeof(oc));
	oc.owner = OWNER;
	oc.actor = "system:relay";
	oc.lease_ms = LEASE;
	oc.backoff_min_ms = 500;
	oc.backoff_max_ms = 300000;
	oc.pending_check_ms = 30000;
	oc.pending_max_hours = 72;
	oc.clock = tclock;
	oc.stop = &tstop;
	return oc;
}

static int
setup(void **state)
{
	memset(&td, 0, sizeof(td));
	tnow = NOW;
	tstop = 0;
	return udb_setup(state);
}

static struct outbox_report
run(struct udb *t)
{
	struct outbox_conf	 oc = conf();
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (outbox_run(t->db, &t->cfg.policy, &oc, NULL, &tdriver, NULL,
	    "https://ca.test", &rep, &ei) != RP_OK)
		fail_msg("outbox_run: %s: %s", ei.code, ei.msg);
	return rep;
}

/* The state of request id, and its outcome into outcome (may be NULL). */
static enum req_state
state_of(struct udb *t, const char *id, char *outcome, size_t outsz)
{
	struct request	 r;

	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	if (outcome != NULL)
		(void)snprintf(outcome, outsz, "%s", r.outcome);
	return r.state;
}

/*
 * The fixture: an old personal certificate 7E01 of PNOSI-RC (with the
 * subjectAltName san, NULL: none), registered; a queued recovery of it
 * with a CSR for a new key nk; the CA's answers: 7E02 for nk (with
 * issued_san), then the revocation done.
 */
struct rfix {
	EVP_PKEY	*old, *nk;
	char		*old_pem, *csr, *issued;
	char		 id[RP_ID_LEN + 1];
};

static void
rfix_make(struct udb *t, struct rfix *f, const char *san,
    const char *issued_san)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	int64_t			 id;

	memset(f, 0, sizeof(*f));
	f->old = ec_key();
	f->nk = ec_key();
	f->old_pem = cert(f->old, name("Rec Holder", MBSTRING_UTF8), 0x7E01,
	    T0, T0 + 5 * 365 * DAY, san);
	memset(&ci, 0, sizeof(ci));
	if (x509_read_pem(f->old_pem, strlen(f->old_pem), &ci, &ei) != RP_OK)
		fail_msg("x509_read_pem: %s %s", ei.code, ei.msg);
	memset(&ri, 0, sizeof(ri));
	ri.type = CT_PERSONAL;
	ri.term_years = 5;
	ri.actor = "admin:test";
	ri.now = T0;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import: %s %s", ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
	cert_info_free(&ci);
	f->csr = req(f->nk, name("Rec Holder", MBSTRING_UTF8));
	f->issued = cert(f->nk, name("Rec Holder", MBSTRING_UTF8), 0x7E02,
	    NOW, NOW + 5 * 365 * DAY, issued_san);
	memset(&n, 0, sizeof(n));
	n.action = ACT_RECOVER;
	n.serial = "7E01";
	n.reason = REASON_UNSPECIFIED;
	n.actor.channel = CH_API;
	n.actor.auth = AUTH_SIGNATURE;
	n.actor.name = "person:PNOSI-RC";
	n.actor.person = udb_raw(t, "SELECT id FROM persons WHERE person_id "
	    "= 'PNOSI-RC'");
	n.actor.signature = "\x30\x80sig";
	n.actor.siglen = 5;
	n.actor.signer_sha256 = "ab";
	n.csr_pem = f->csr;
	n.now = NOW;
	if (lc_create(t->db, &t->cfg.policy, &n, &res, &ei) != RP_OK)
		fail_msg("lc_create: %s: %s", ei.code, ei.msg);
	assert_int_equal(res.state, RS_QUEUED);
	memcpy(f->id, res.public_id, sizeof(f->id));
	answer(&td.enroll, CA_DONE, 200, "issued");
	(void)snprintf(td.enroll.issued_pem, sizeof(td.enroll.issued_pem),
	    "%s", f->issued);
	answer(&td.deliver, CA_DONE, 200, "revoked");
}

static void
rfix_free(struct rfix *f)
{
	EVP_PKEY_free(f->old);
	EVP_PKEY_free(f->nk);
	free(f->old_pem);
	free(f->csr);
	free(f->issued);
}

/*
 * Asks for act on 7E01 at now through the hotline (a revocation, reason
 * keyCompromise) or online with the passphrase (a suspension).  Returns
 * lc_create()'s result; the request's public id goes to id.
 */
static enum rp_err
ask(struct udb *t, enum action act, int64_t now, char id[RP_ID_LEN + 1],
    struct rp_errinfo *ei)
{
	struct lc_new		 n;
	struct lc_result	 res;
	enum rp_err		 e;

	memset(&n, 0, sizeof(n));
	n.action = act;
	n.serial = "7E01";
	n.reason = act == ACT_REVOKE ? REASON_KEY_COMPROMISE :
	    REASON_UNSPECIFIED;
	n.actor.channel = CH_WEB;
	n.actor.auth = AUTH_PASSPHRASE;
	n.actor.name = "passphrase";
	if (act == ACT_REVOKE) {
		n.actor.channel = CH_HOTLINE;
		n.actor.roles = ROLE_AGENT;
		n.actor.name = "staff:ana";
		n.call_reference = "CALL-1";
		n.caller_name = "Rec Holder";
	}
	n.now = now;
	memset(ei, 0, sizeof(*ei));
	if ((e = lc_create(t->db, &t->cfg.policy, &n, &res, ei)) == RP_OK)
		memcpy(id, res.public_id, RP_ID_LEN + 1);
	return e;
}

static long long
count(struct udb *t, const char *sql)
{
	return udb_raw(t, sql);
}

/*
 * The review's scenario: the enrolment meets a 503 and backs off; the
 * hotline revokes the old certificate (keyCompromise) and that
 * completes; the recovery's next turn neither enrols nor revokes again:
 * it fails, saying why, and the revocation's reason stands.
 */
static void
test_revoked_before_enrol(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct rfix		 f;
	char			 rid[RP_ID_LEN + 1], outcome[RP_TEXT_MAX];

	rfix_make(t, &f, NULL, NULL);
	answer(&td.enroll, CA_RETRY, 503, "CA offline");
	rep = run(t);
	assert_int_equal(rep.result, OB_RETRY);
	assert_int_equal(td.enrolls, 1);
	/* The revocation may follow the open recovery, and goes at once. */
	assert_int_equal(ask(t, ACT_REVOKE, NOW, rid, &ei), RP_OK);
	rep = run(t);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(td.reason, REASON_KEY_COMPROMISE);
	assert_int_equal(state_of(t, rid, NULL, 0), RS_COMPLETED);

	/* The CA is back; the recovery's turn. */
	answer(&td.enroll, CA_DONE, 200, "issued");
	(void)snprintf(td.enroll.issued_pem, sizeof(td.enroll.issued_pem),
	    "%s", f.issued);
	tnow += 3600000;
	rep = run(t);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.enrolls, 1);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(state_of(t, f.id, outcome, sizeof(outcome)),
	    RS_FAILED);
	assert_non_null(strstr(outcome, "revoked meanwhile"));
	assert_null(strstr(outcome, "issued the new"));
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E01' AND status = 'revoked' AND reason = "
	    "'keyCompromise'"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E02'"), 0);
	assert_int_equal(count(t, "SELECT count(*) FROM recoveries WHERE "
	    "new_serial IS NULL"), 1);
	/* Not sent again: the row is dead. */
	tnow += 3600000;
	rep = run(t);
	assert_int_equal(rep.result, OB_NONE);
	rfix_free(&f);
}

/*
 * The same after the CA issued: the revoke step meets a 503, the
 * hotline's revocation completes, and the recovery's next turn does not
 * send its superseded revocation.  It fails saying that the new
 * certificate was issued, which is registered (once) and valid.
 */
static void
test_revoked_before_revoke_step(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct rfix		 f;
	char			 rid[RP_ID_LEN + 1], outcome[RP_TEXT_MAX];

	rfix_make(t, &f, NULL, NULL);
	answer(&td.deliver, CA_RETRY, 503, "CA offline");
	rep = run(t);
	assert_int_equal(rep.result, OB_RETRY);
	assert_int_equal(td.enrolls, 1);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(td.reason, REASON_SUPERSEDED);
	assert_int_equal(ask(t, ACT_REVOKE, NOW, rid, &ei), RP_OK);
	answer(&td.deliver, CA_DONE, 200, "revoked");
	rep = run(t);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(td.reason, REASON_KEY_COMPROMISE);

	tnow += 3600000;
	rep = run(t);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.enrolls, 1);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(td.checks, 0);
	assert_int_equal(state_of(t, f.id, outcome, sizeof(outcome)),
	    RS_FAILED);
	assert_non_null(strstr(outcome, "revoked meanwhile"));
	assert_non_null(strstr(outcome, "7E02"));
	assert_non_null(strstr(outcome, "registered"));
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E01' AND status = 'revoked' AND reason = "
	    "'keyCompromise'"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E02' AND status = 'valid'"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM audit WHERE action "
	    "= 'certificate.import' AND json_extract(details, '$.replaces') "
	    "= '7E01'"), 1);
	rfix_free(&f);
}

/*
 * A revocation in another relay's hands (leased, not yet done) stops the
 * recovery too, before the enrolment; a dead revoke row does not.
 */
static void
test_revocation_leased(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct rfix		 f;
	char			 rid[RP_ID_LEN + 1], outcome[RP_TEXT_MAX];

	rfix_make(t, &f, NULL, NULL);
	assert_int_equal(ask(t, ACT_REVOKE, NOW, rid, &ei), RP_OK);
	(void)udb_raw(t, "UPDATE outbox SET lease_owner = 'relay-b:2', "
	    "lease_until = 1767312060000, first_sent_at = 1767312000000 "
	    "WHERE action = 'revoke'");
	rep = run(t);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.enrolls, 0);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(state_of(t, f.id, outcome, sizeof(outcome)),
	    RS_FAILED);
	assert_non_null(strstr(outcome, "revoked meanwhile"));
	rfix_free(&f);
}

static void
test_revocation_dead_does_not_block(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct rfix		 f;
	char			 rid[RP_ID_LEN + 1];

	rfix_make(t, &f, NULL, NULL);
	assert_int_equal(ask(t, ACT_REVOKE, NOW, rid, &ei), RP_OK);
	(void)udb_raw(t, "UPDATE outbox SET state = 'dead' WHERE action = "
	    "'revoke'");
	rep = run(t);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.enrolls, 1);
	assert_int_equal(state_of(t, f.id, NULL, 0), RS_COMPLETED);
	rfix_free(&f);
}

/*
 * A suspension may follow an open recovery (it used to be refused with
 * request_pending); the recovery then does not act on the suspended
 * certificate.  A second suspension is still refused.
 */
static void
test_suspension_follows_recovery(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct rfix		 f;
	char			 sid[RP_ID_LEN + 1], outcome[RP_TEXT_MAX];

	rfix_make(t, &f, NULL, NULL);
	if (ask(t, ACT_SUSPEND, NOW, sid, &ei) != RP_OK)
		fail_msg("suspend: %s: %s", ei.code, ei.msg);
	assert_int_equal(state_of(t, sid, NULL, 0), RS_QUEUED);
	assert_int_equal(ask(t, ACT_SUSPEND, NOW, sid, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "request_pending");
	/* The suspension goes first. */
	(void)udb_raw(t, "UPDATE outbox SET next_attempt_at = 1767315600000 "
	    "WHERE action = 'recover'");
	rep = run(t);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.reason, REASON_HOLD);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E01' AND status = 'suspended'"), 1);
	tnow += 3600000;
	rep = run(t);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.enrolls, 0);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(state_of(t, f.id, outcome, sizeof(outcome)),
	    RS_FAILED);
	assert_non_null(strstr(outcome, "suspended meanwhile"));
	rfix_free(&f);
}

/* A suspension in a relay's hands stops the recovery as well. */
static void
test_suspension_leased(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct rfix		 f;
	char			 sid[RP_ID_LEN + 1], outcome[RP_TEXT_MAX];

	rfix_make(t, &f, NULL, NULL);
	assert_int_equal(ask(t, ACT_SUSPEND, NOW, sid, &ei), RP_OK);
	(void)udb_raw(t, "UPDATE outbox SET lease_owner = 'relay-b:2', "
	    "lease_until = 1767312060000 WHERE action = 'suspend'");
	rep = run(t);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.enrolls, 0);
	assert_int_equal(state_of(t, f.id, outcome, sizeof(outcome)),
	    RS_FAILED);
	assert_non_null(strstr(outcome, "suspended meanwhile"));
	rfix_free(&f);
}

/*
 * The revoke step refused for good: the new certificate, valid at the
 * CA, is on record all the same (recoveries row, registry), and the
 * request's outcome names it.  The old certificate stays valid.
 */
static void
test_revoke_step_dead_keeps_successor(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rfix		 f;
	char			 outcome[RP_TEXT_MAX];

	rfix_make(t, &f, NULL, NULL);
	answer(&td.deliver, CA_PERMANENT, 400, "cfssl refused");
	rep = run(t);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(state_of(t, f.id, outcome, sizeof(outcome)),
	    RS_FAILED);
	assert_non_null(strstr(outcome, "cfssl refused"));
	assert_non_null(strstr(outcome, "7E02"));
	assert_int_equal(count(t, "SELECT count(*) FROM recoveries WHERE "
	    "new_serial = '7E02' AND new_pem LIKE '-----BEGIN CERTIFICATE%' "
	    "AND issued_at = 1767312000000"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates n JOIN "
	    "certificates o ON o.serial = '7E01' WHERE n.serial = '7E02' AND "
	    "n.person_id = o.person_id AND n.status = 'valid' AND o.status = "
	    "'valid'"), 1);
	rfix_free(&f);
}

/*
 * The new certificate is on record when it is kept, before the revoke
 * step; the completion later does not register it again.  The enrolment
 * is given the old certificate's PEM.
 */
static void
test_registered_when_kept(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rfix		 f;

	rfix_make(t, &f, "email:rec@example.test", "email:rec@example.test");
	td.stop_in_enroll = 1;
	rep = run(t);
	assert_int_equal(rep.result, OB_RELEASED);
	assert_int_equal(td.delivers, 0);
	assert_string_equal(td.old_pem, f.old_pem);
	assert_int_equal(count(t, "SELECT count(*) FROM outbox WHERE "
	    "issued_pem IS NOT NULL"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM recoveries WHERE "
	    "new_serial = '7E02'"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E02' AND status = 'valid'"), 1);
	tstop = 0;
	td.stop_in_enroll = 0;
	tnow += 1000;
	rep = run(t);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.enrolls, 1);
	assert_int_equal(state_of(t, f.id, NULL, 0), RS_COMPLETED);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E02' AND status = 'valid'"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E01' AND status = 'revoked' AND reason = "
	    "'superseded'"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM audit WHERE action "
	    "= 'certificate.import' AND json_extract(details, '$.replaces') "
	    "= '7E01'"), 1);
	rfix_free(&f);
}

/*
 * A certificate issued with a subjectAltName that is not the old one's
 * is not kept, registered or followed by the revocation.
 */
static void
test_issued_san_refused(void **state)
{
	struct udb		*t = *state;
	struct outbox_report	 rep;
	struct rfix		 f;
	char			 outcome[RP_TEXT_MAX];

	rfix_make(t, &f, NULL, "email:ceo@bank.test");
	rep = run(t);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(state_of(t, f.id, outcome, sizeof(outcome)),
	    RS_FAILED);
	assert_non_null(strstr(outcome, "subjectAltName"));
	assert_non_null(strstr(outcome, "7E02"));
	assert_int_equal(count(t, "SELECT count(*) FROM outbox WHERE "
	    "issued_pem IS NULL"), 1);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E02'"), 0);
	assert_int_equal(count(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E01' AND status = 'valid'"), 1);
	rfix_free(&f);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, udb_teardown)
	const struct CMUnitTest csr[] = {
		cmocka_unit_test(test_subject_exact),
		cmocka_unit_test(test_requested_extensions),
		cmocka_unit_test(test_pss_digests),
		cmocka_unit_test(test_successor_check),
		cmocka_unit_test(test_san_hosts),
	};
	const struct CMUnitTest cfssl[] = {
		cmocka_unit_test(test_cfssl_hosts_real),
	};
	const struct CMUnitTest relay[] = {
		T(test_revoked_before_enrol),
		T(test_revoked_before_revoke_step),
		T(test_revocation_leased),
		T(test_revocation_dead_does_not_block),
		T(test_suspension_follows_recovery),
		T(test_suspension_leased),
		T(test_revoke_step_dead_keeps_successor),
		T(test_registered_when_kept),
		T(test_issued_san_refused),
	};
#undef T
	int	 rc;

	rc = cmocka_run_group_tests_name("csr", csr, NULL, NULL);
	rc += cmocka_run_group_tests_name("cfssl", cfssl, cf_setup,
	    cf_teardown);
	rc += cmocka_run_group_tests_name("relay", relay, NULL, NULL);
	return rc;
}
