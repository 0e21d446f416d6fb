/*
 * Tests of sig.c: CMS signatures made by the qualified test PKI
 * (tests/integration/qpki.sh, with openssl cms and, for carol, a SoftHSM2
 * token) are accepted with the signer's fields filled, and every kind of
 * damage, weak algorithm or unqualified certificate is refused with its
 * own reason.  The QCStatements walker, the base64 decoder and the input
 * forms are tested directly.  Run from the top of the repository.
 */
#include "unit.h"

#include <sys/stat.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

/* The static functions of sig.c reached through UNITTEST. */
int		 der_tlv(const unsigned char *, size_t, unsigned char *,
		    size_t *, size_t *);
int		 qc_parse(const unsigned char *, size_t, unsigned int *);
enum sig_why	 sig_decode(const unsigned char *, size_t,
		    unsigned char **, size_t *);
enum sig_why	 pss_check(const X509_ALGOR *);

/* As in sig.c. */
#define QC_COMPLIANCE	0x1u
#define QC_SSCD		0x2u
#define QC_TYPE		0x4u
#define QC_TYPE_OTHER	0x8u

#define DIR_MAX		64u
#define PATH_LEN	256u
#define DAY_MS		(24 * 3600 * (int64_t)1000)

static const char doc1[] =
    "revportal-request/1\n"
    "action: revoke\n"
    "issuer: CN=revportal Test Qualified CA,O=Test TSP,C=SI\n"
    "serial: 42BA82334FDAB97D86A19279BAB5E87934D85554\n"
    "reason: keyCompromise\n"
    "request: -\n"
    "nonce: 9f2c0d4e5a6b7c8d9e0f1a2b3c4d5e6f\n"
    "issued-at: 2026-11-21T22:40:50Z\n"
    "portal: https://revoke.example.si\n";

/* The same for another certificate. */
static const char doc2[] =
    "revportal-request/1\n"
    "action: revoke\n"
    "issuer: CN=revportal Test Qualified CA,O=Test TSP,C=SI\n"
    "serial: 42BA82334FDAB97D86A19279BAB5E87934D85555\n"
    "reason: keyCompromise\n"
    "request: -\n"
    "nonce: 9f2c0d4e5a6b7c8d9e0f1a2b3c4d5e6f\n"
    "issued-at: 2026-11-21T22:40:50Z\n"
    "portal: https://revoke.example.si\n";

/*
 * Makes the PKI and every signature of the tests in $1 (the fixture
 * directory).  Certificates beyond qpki's: badqc (a QCStatements that
 * is cut short), eseal (QcType eseal only), nocomp (QcSSCD and QcType
 * esign but no QcCompliance), nopid (no serialNumber), k1 (a self-signed
 * secp256k1 key), selfca (a self-signed CA, the anchor of a_self), and
 * three self-signed anchors without basicConstraints: kucs (keyUsage
 * keyCertSign), nsca (a Netscape CA cert type), v1root (version 1).
 */
static const char script[] =
    "set -e\n"
    "D=$1\n"
    ". tests/integration/qpki.sh\n"
    "qpki_init \"$D/pki\"\n"
    "P=$D/pki\n"
    "cd \"$D\"\n"
    "s() { qpki_sign \"$P\" \"$@\"; }\n"
    "sd() { qpki_sign_detached \"$P\" \"$@\"; }\n"
    "s alice doc1.txt alice.p7s\n"
    "sd alice doc1.txt alice_det.p7s\n"
    "openssl base64 -in alice.p7s -out alice.b64\n"
    "openssl cms -cmsout -inform DER -in alice.p7s -outform PEM "
    "-out alice.pem\n"
    "sed 's/CMS-----/PKCS7-----/' alice.pem >alice.p7.pem\n"
    "s alice doc2.txt alice_doc2.p7s\n"
    "sd alice doc2.txt alice_doc2_det.p7s\n"
    "s alice doc1.txt noattr.p7s sha256 -noattr\n"
    "s alice doc1.txt sha384.p7s sha384\n"
    "s alice doc1.txt sha1.p7s sha1\n"
    "s alice doc1.txt sha224.p7s sha224\n"
    "s alice doc1.txt two.p7s sha256 -signer \"$P/bob.pem\" "
    "-inkey \"$P/bob.key\"\n"
    "s alice doc1.txt nocerts.p7s sha256 -nocerts\n"
    "s bob doc1.txt bob.p7s\n"
    "s rsa2048 doc1.txt rsa2048.p7s\n"
    "s rsa2048 doc1.txt pss.p7s sha256 -keyopt rsa_padding_mode:pss\n"
    "s rsa2048 doc1.txt pss_mgf1.p7s sha256 -keyopt rsa_padding_mode:pss "
    "-keyopt rsa_mgf1_md:sha1\n"
    "s rsa1024 doc1.txt rsa1024.p7s\n"
    "s carol doc1.txt carol.p7s\n"
    "for n in expired notyet untrusted noqc nosscd nonrep; do\n"
    "  s $n doc1.txt $n.p7s\n"
    "done\n"
    "openssl cms -data_create -in doc1.txt -outform DER -out data.der\n"
    "mk() {\n"
    "  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
    "-out $1.key\n"
    "  openssl req -new -key $1.key -subj \"$2\" -out $1.csr\n"
    "  printf 'keyUsage=critical,nonRepudiation,digitalSignature\\n"
    "1.3.6.1.5.5.7.1.3=DER:%s\\n' \"$3\" >$1.ext\n"
    "  openssl x509 -req -in $1.csr -CA \"$P/ca.pem\" -CAkey \"$P/ca.key\" "
    "-set_serial 0x$(openssl rand -hex 8) -days 30 -extfile $1.ext "
    "-out $1.pem\n"
    "  openssl cms -sign -binary -md sha256 -nodetach -outform DER "
    "-signer $1.pem -inkey $1.key -in doc1.txt -out $1.p7s\n"
    "}\n"
    "mk badqc /C=SI/CN=Bad/serialNumber=PNOSI-2 "
    "30:09:30:08:06:06:04:00:8E:46:01:01\n"
    "mk eseal /C=SI/CN=Seal/serialNumber=PNOSI-3 "
    "30:29:30:08:06:06:04:00:8E:46:01:01:30:08:06:06:04:00:8E:46:01:04:"
    "30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:02\n"
    "mk nocomp /C=SI/CN=NoComp/serialNumber=PNOSI-4 "
    "30:1F:30:08:06:06:04:00:8E:46:01:04:"
    "30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:01\n"
    "mk nopid /C=SI/CN=Nobody "
    "30:29:30:08:06:06:04:00:8E:46:01:01:30:08:06:06:04:00:8E:46:01:04:"
    "30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:01\n"
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 "
    "-nodes -keyout k1.key -subj /CN=k1 -days 30 -out k1.pem\n"
    "openssl cms -sign -binary -md sha256 -nodetach -outform DER "
    "-signer k1.pem -inkey k1.key -in doc1.txt -out k1.p7s\n"
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
    "-nodes -keyout selfca.key -subj /CN=selfca -days 30 "
    "-addext basicConstraints=critical,CA:true -out selfca.pem\n"
    "openssl cms -sign -binary -md sha256 -nodetach -outform DER "
    "-signer selfca.pem -inkey selfca.key -in doc1.txt -out selfca.p7s\n"
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
    "-out noca.key\n"
    "openssl req -new -key noca.key -subj /CN=noca -out noca.csr\n"
    "printf 'keyUsage=critical,keyCertSign,cRLSign\\n' >kucs.ext\n"
    "printf 'nsCertType=sslCA,emailCA,objCA\\n' >nsca.ext\n"
    "for n in kucs nsca; do\n"
    "  openssl x509 -req -in noca.csr -signkey noca.key -days 30 "
    "-extfile $n.ext -out $n.pem\n"
    "done\n"
    "openssl x509 -req -in noca.csr -signkey noca.key -days 30 "
    "-out v1root.pem\n"
    /* Anchor directories for sig_ctx_new(). */
    "mkdir a_ca a_root a_multi a_empty a_key a_leaf a_der a_text a_self\n"
    "mkdir a_kucs a_nsca a_v1\n"
    "cp kucs.pem a_kucs/\n"
    "cp nsca.pem a_nsca/\n"
    "cp v1root.pem a_v1/\n"
    "cp selfca.pem a_self/\n"
    "cp \"$P/ca.pem\" a_ca/\n"
    "cp \"$P/root.pem\" a_root/root.crt\n"
    "cat \"$P/root.pem\" \"$P/ca.pem\" >a_multi/both.pem\n"
    "echo not a certificate >a_empty/README\n"
    "cp \"$P/root.pem\" a_key/root.pem\n"
    "cp \"$P/alice.key\" a_key/zz.pem\n"
    "cp \"$P/alice.pem\" a_leaf/alice.pem\n"
    "openssl x509 -in \"$P/root.pem\" -outform DER -out a_der/root.crt\n"
    "echo 'subject=CN=x' >a_text/t.pem\n";

static struct {
	char		 dir[DIR_MAX];
	int64_t		 now;		/* ms */
	struct sig_ctx	*ctx;		/* pki/anchors, require_qscd */
	struct sig_ctx	*lax;		/* pki/anchors, no QSCD needed */
} fx;

/* Returns a new buffer with the file name in the fixture, length *len. */
static unsigned char *
load(const char *name, size_t *len)
{
	char		 path[PATH_LEN];
	unsigned char	*p;
	FILE		*f;
	long		 n;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", fx.dir,
	    name) < sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	p = malloc((size_t)n);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	(void)fclose(f);
	*len = (size_t)n;
	return p;
}

/* Writes the NUL-terminated text into the fixture file name. */
static int
store(const char *name, const char *text)
{
	char	 path[PATH_LEN];
	FILE	*f;
	size_t	 n = strlen(text);
	int	 ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", fx.dir, name) >=
	    sizeof(path) || (f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(text, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Makes a context for the anchors directory name of the fixture. */
static struct sig_ctx *
ctx_for(const char *name, int qscd, char *err, size_t errlen)
{
	struct sig_ctx	*c;
	char		 path[PATH_LEN];

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", fx.dir,
	    name) < sizeof(path));
	c = sig_ctx_new(path, qscd, err, errlen);
	assert_int_equal(ERR_peek_error(), 0);
	return c;
}

static int
group_setup(void **state)
{
	char	 cmd[PATH_LEN * 2], err[RP_ERRMSG_MAX];

	(void)state;
	if ((size_t)snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_sig-XXXXXX") >=
	    sizeof(fx.dir) || mkdtemp(fx.dir) == NULL)
		return -1;
	if (store("doc1.txt", doc1) != 0 || store("doc2.txt", doc2) != 0 ||
	    store("make.sh", script) != 0)
		return -1;
	if ((size_t)snprintf(cmd, sizeof(cmd), "bash %s/make.sh %s "
	    ">%s/make.log 2>&1", fx.dir, fx.dir, fx.dir) >= sizeof(cmd))
		return -1;
	if (system(cmd) != 0) {
		fprintf(stderr, "test_sig: fixture failed, see %s/make.log\n",
		    fx.dir);
		return -1;
	}
	fx.now = (int64_t)time(NULL) * 1000;
	if ((fx.ctx = ctx_for("pki/anchors", 1, err, sizeof(err))) == NULL ||
	    (fx.lax = ctx_for("pki/anchors", 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "test_sig: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	char	 cmd[PATH_LEN];

	(void)state;
	sig_ctx_free(fx.ctx);
	sig_ctx_free(fx.lax);
	if (fx.dir[0] != '\0' && getenv("TEST_SIG_KEEP") == NULL &&
	    (size_t)snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir) <
	    sizeof(cmd))
		(void)system(cmd);
	return 0;
}

/* Verifies the fixture file name over doc at now with c. */
static enum sig_why
verify_at(const struct sig_ctx *c, const char *name, const char *doc,
    int64_t now, struct signer *out)
{
	unsigned char	*p;
	size_t		 len;
	enum sig_why	 w;

	p = load(name, &len);
	w = sig_verify(c, p, len, doc, strlen(doc), now, out);
	free(p);
	assert_int_equal(ERR_peek_error(), 0);
	return w;
}

/* Asserts that name over doc is refused with want, nothing to free. */
static void
refused(const struct sig_ctx *c, const char *name, const char *doc,
    enum sig_why want)
{
	struct signer	 s;

	assert_string_equal(sig_why_name(verify_at(c, name, doc, fx.now,
	    &s)), sig_why_name(want));
	assert_null(s.cert);
	assert_null(s.issuer_cert);
	assert_null(s.chain);
}

/* Verifies the bytes p[0..len) over doc1 with the strict context. */
static enum sig_why
verify_mem(const void *p, size_t len)
{
	struct signer	 s;
	enum sig_why	 w;

	w = sig_verify(fx.ctx, p, len, doc1, strlen(doc1), fx.now, &s);
	sig_signer_free(&s);
	assert_int_equal(ERR_peek_error(), 0);
	return w;
}

/* Asserts that out holds alice, issued by the test CA, with a chain. */
static void
is_alice(const struct signer *s)
{
	size_t	 i;

	assert_string_equal(s->person_id, "PNOSI-1000000000001");
	assert_string_equal(s->org_id, "");
	assert_string_equal(s->common_name, "Alice Novak");
	assert_string_equal(s->subject,
	    "serialNumber=PNOSI-1000000000001,CN=Alice Novak,C=SI");
	assert_string_equal(s->issuer,
	    "CN=revportal Test Qualified CA,O=Test TSP,C=SI");
	assert_string_equal(s->email, "alice@example.test");
	assert_int_equal(strlen(s->sha256), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", s->sha256[i]));
	assert_true(strlen(s->serial) > 0 && s->serial[0] != '0');
	assert_non_null(s->cert);
	assert_non_null(s->issuer_cert);
	assert_non_null(s->chain);
}

/* Asserts that s's serial is the QPKI_SERIAL_<NAME> of the fixture. */
static void
serial_is(const struct signer *s, const char *name)
{
	char		*env, line[128];
	unsigned char	*p;
	size_t		 len;
	int		 n;

	p = load("pki/env", &len);
	env = rp_strndup(p, len);
	free(p);
	assert_non_null(env);
	n = snprintf(line, sizeof(line), "QPKI_SERIAL_%s='%s'\n", name,
	    s->serial);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_non_null(strstr(env, line));
	free(env);
}

static void
test_alice_attached(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "alice.p7s", doc1, fx.now, &s),
	    SIG_OK);
	is_alice(&s);
	serial_is(&s, "ALICE");
	sig_signer_free(&s);
	assert_null(s.cert);
	assert_null(s.chain);
	sig_signer_free(&s);
	sig_signer_free(NULL);
}

static void
test_alice_detached(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "alice_det.p7s", doc1, fx.now,
	    &s), SIG_OK);
	is_alice(&s);
	sig_signer_free(&s);
}

static void
test_alice_base64(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "alice.b64", doc1, fx.now, &s),
	    SIG_OK);
	is_alice(&s);
	sig_signer_free(&s);
}

static void
test_alice_pem(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "alice.pem", doc1, fx.now, &s),
	    SIG_OK);
	is_alice(&s);
	sig_signer_free(&s);
	assert_int_equal(verify_at(fx.ctx, "alice.p7.pem", doc1, fx.now, &s),
	    SIG_OK);
	is_alice(&s);
	sig_signer_free(&s);
}

/* Without signed attributes the signature covers the content itself. */
static void
test_no_signed_attributes(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "noattr.p7s", doc1, fx.now, &s),
	    SIG_OK);
	is_alice(&s);
	sig_signer_free(&s);
	assert_int_equal(verify_at(fx.ctx, "sha384.p7s", doc1, fx.now, &s),
	    SIG_OK);
	sig_signer_free(&s);
}

static void
test_bob_org_id(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "bob.p7s", doc1, fx.now, &s),
	    SIG_OK);
	assert_string_equal(s.person_id, "PNOSI-1000000000002");
	assert_string_equal(s.org_id, "VATSI-11111111");
	assert_string_equal(s.common_name, "Bob Kranjc");
	assert_string_equal(s.email, "");
	serial_is(&s, "BOB");
	sig_signer_free(&s);
}

static void
test_rsa2048(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "rsa2048.p7s", doc1, fx.now, &s),
	    SIG_OK);
	assert_string_equal(s.person_id, "PNOSI-1000000000006");
	sig_signer_free(&s);
	assert_int_equal(verify_at(fx.ctx, "pss.p7s", doc1, fx.now, &s),
	    SIG_OK);
	sig_signer_free(&s);
}

static void
test_pss_mgf1_sha1(void **state)
{
	(void)state;
	refused(fx.ctx, "pss_mgf1.p7s", doc1, SIG_DIGEST_WEAK);
}

/* The smart-card path: carol's key lives in a SoftHSM2 token. */
static void
test_carol_token(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "carol.p7s", doc1, fx.now, &s),
	    SIG_OK);
	assert_string_equal(s.person_id, "PNOSI-1000000000019");
	assert_string_equal(s.common_name, "Carol Horvat");
	serial_is(&s, "CAROL");
	sig_signer_free(&s);
}

static void
test_expired(void **state)
{
	struct signer	 s;

	(void)state;
	refused(fx.ctx, "expired.p7s", doc1, SIG_CERT_EXPIRED);
	/* Alice herself, three years on, is past her notAfter. */
	assert_int_equal(verify_at(fx.ctx, "alice.p7s", doc1,
	    fx.now + 3 * 366 * DAY_MS, &s), SIG_CERT_EXPIRED);
	/* The refusal still names her, owning nothing. */
	assert_string_equal(s.person_id, "PNOSI-1000000000001");
	assert_null(s.cert);
	assert_null(s.chain);
}

static void
test_not_yet_valid(void **state)
{
	struct signer	 s;

	(void)state;
	refused(fx.ctx, "notyet.p7s", doc1, SIG_CERT_NOT_YET_VALID);
	assert_int_equal(verify_at(fx.ctx, "alice.p7s", doc1,
	    fx.now - 2 * DAY_MS, &s), SIG_CERT_NOT_YET_VALID);
	assert_null(s.cert);
}

static void
test_untrusted(void **state)
{
	(void)state;
	refused(fx.ctx, "untrusted.p7s", doc1, SIG_UNTRUSTED);
}

static void
test_not_qualified(void **state)
{
	(void)state;
	refused(fx.ctx, "noqc.p7s", doc1, SIG_NOT_QUALIFIED);
	refused(fx.lax, "noqc.p7s", doc1, SIG_NOT_QUALIFIED);
}

static void
test_malformed_qcstatements(void **state)
{
	(void)state;
	refused(fx.ctx, "badqc.p7s", doc1, SIG_NOT_QUALIFIED);
}

static void
test_no_qc_compliance(void **state)
{
	(void)state;
	refused(fx.ctx, "nocomp.p7s", doc1, SIG_NOT_QUALIFIED);
	refused(fx.lax, "nocomp.p7s", doc1, SIG_NOT_QUALIFIED);
}

/* A signer that is itself an anchor has no issuer to ask about. */
static void
test_signer_is_anchor(void **state)
{
	struct sig_ctx	*c;
	char		 err[RP_ERRMSG_MAX];

	(void)state;
	c = ctx_for("a_self", 1, err, sizeof(err));
	assert_non_null(c);
	refused(c, "selfca.p7s", doc1, SIG_UNTRUSTED);
	refused(c, "alice.p7s", doc1, SIG_UNTRUSTED);
	sig_ctx_free(c);
	refused(fx.ctx, "selfca.p7s", doc1, SIG_UNTRUSTED);
}

static void
test_nosscd(void **state)
{
	struct signer	 s;

	(void)state;
	refused(fx.ctx, "nosscd.p7s", doc1, SIG_NO_QSCD);
	assert_int_equal(verify_at(fx.lax, "nosscd.p7s", doc1, fx.now, &s),
	    SIG_OK);
	assert_string_equal(s.person_id, "PNOSI-1000000000010");
	sig_signer_free(&s);
}

static void
test_not_esign(void **state)
{
	(void)state;
	refused(fx.ctx, "eseal.p7s", doc1, SIG_NOT_ESIGN);
}

static void
test_no_nonrep(void **state)
{
	(void)state;
	refused(fx.ctx, "nonrep.p7s", doc1, SIG_NO_NONREP);
}

static void
test_no_person_id(void **state)
{
	(void)state;
	refused(fx.ctx, "nopid.p7s", doc1, SIG_NO_PERSON_ID);
}

static void
test_sha1(void **state)
{
	(void)state;
	refused(fx.ctx, "sha1.p7s", doc1, SIG_DIGEST_WEAK);
	refused(fx.ctx, "sha224.p7s", doc1, SIG_DIGEST_WEAK);
}

static void
test_rsa1024(void **state)
{
	(void)state;
	refused(fx.ctx, "rsa1024.p7s", doc1, SIG_KEY_WEAK);
}

static void
test_other_curve(void **state)
{
	(void)state;
	refused(fx.ctx, "k1.p7s", doc1, SIG_KEY_WEAK);
}

static void
test_altered_one_byte(void **state)
{
	char	 alt[sizeof(doc1)];

	(void)state;
	memcpy(alt, doc1, sizeof(doc1));
	alt[sizeof("revportal-request/1\naction: re") - 1] ^= 0x01;
	refused(fx.ctx, "alice.p7s", alt, SIG_CONTENT_MISMATCH);
	refused(fx.ctx, "alice_det.p7s", alt, SIG_BAD_SIGNATURE);
	/* One byte longer or shorter. */
	alt[sizeof(doc1) - 2] = '\0';
	refused(fx.ctx, "alice.p7s", alt, SIG_CONTENT_MISMATCH);
	refused(fx.ctx, "alice_det.p7s", alt, SIG_BAD_SIGNATURE);
}

/* The content inside the CMS changed: it equals doc, the signature not. */
static void
test_altered_inside(void **state)
{
	struct signer	 s;
	unsigned char	*p;
	char		 alt[sizeof(doc1)];
	size_t		 len, at, n = strlen(doc1);

	(void)state;
	p = load("alice.p7s", &len);
	for (at = 0; at + n <= len; at++)
		if (memcmp(p + at, doc1, n) == 0)
			break;
	assert_true(at + n <= len);
	p[at + 40] ^= 0x01;
	memcpy(alt, doc1, sizeof(doc1));
	alt[40] ^= 0x01;
	assert_int_equal(sig_verify(fx.ctx, p, len, alt, strlen(alt), fx.now,
	    &s), SIG_BAD_SIGNATURE);
	assert_null(s.cert);
	/* Against the original document: not what is inside. */
	assert_int_equal(sig_verify(fx.ctx, p, len, doc1, n, fx.now, &s),
	    SIG_CONTENT_MISMATCH);
	free(p);
}

static void
test_other_document(void **state)
{
	(void)state;
	refused(fx.ctx, "alice_doc2.p7s", doc1, SIG_CONTENT_MISMATCH);
	refused(fx.ctx, "alice_doc2_det.p7s", doc1, SIG_BAD_SIGNATURE);
	refused(fx.ctx, "alice.p7s", doc2, SIG_CONTENT_MISMATCH);
	refused(fx.ctx, "alice.p7s", "", SIG_CONTENT_MISMATCH);
}

static void
test_two_signers(void **state)
{
	(void)state;
	refused(fx.ctx, "two.p7s", doc1, SIG_SIGNER_COUNT);
}

static void
test_no_signer_cert(void **state)
{
	(void)state;
	refused(fx.ctx, "nocerts.p7s", doc1, SIG_NO_SIGNER_CERT);
}

static void
test_not_signed_data(void **state)
{
	(void)state;
	refused(fx.ctx, "data.der", doc1, SIG_NOT_CMS);
	/* A certificate is a SEQUENCE too; in PEM, it is no CMS armour. */
	refused(fx.ctx, "a_der/root.crt", doc1, SIG_NOT_CMS);
	refused(fx.ctx, "pki/anchors/ca.pem", doc1, SIG_GARBAGE);
}

static void
test_garbage(void **state)
{
	static const unsigned char bin[] = {
		0x00, 0xff, 0x13, 0x37, 0x80, 0x30, 0x82, 0x01
	};
	static const char text[] = "this is not a signature";
	static const char pem[] = "-----BEGIN CERTIFICATE-----\n"
	    "MIIB\n-----END CERTIFICATE-----\n";

	(void)state;
	assert_int_equal(verify_mem(bin, sizeof(bin)), SIG_GARBAGE);
	assert_int_equal(verify_mem(text, strlen(text)), SIG_GARBAGE);
	assert_int_equal(verify_mem(pem, strlen(pem)), SIG_GARBAGE);
}

static void
test_base64_of_garbage(void **state)
{
	static const char b64[] = "aGVsbG8gd29ybGQ=\n";	/* hello world */
	static const char seq[] = "MAMCAQE=";		/* 30 03 02 01 01 */

	(void)state;
	assert_int_equal(verify_mem(b64, strlen(b64)), SIG_NOT_CMS);
	assert_int_equal(verify_mem(seq, strlen(seq)), SIG_NOT_CMS);
}

static void
test_truncated(void **state)
{
	unsigned char	*p;
	size_t		 len, cut[] = { 1, 2, 4, 10, 100, 0, 0, 0 };
	size_t		 i;

	(void)state;
	p = load("alice.p7s", &len);
	cut[5] = len / 2;
	cut[6] = len - 10;
	cut[7] = len - 1;
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		assert_int_equal(verify_mem(p, cut[i]), SIG_NOT_CMS);
	free(p);
}

static void
test_trailing_bytes(void **state)
{
	unsigned char	*p, *q;
	size_t		 len;

	(void)state;
	p = load("alice.p7s", &len);
	q = malloc(len + 1);
	assert_non_null(q);
	memcpy(q, p, len);
	q[len] = 0x00;
	assert_int_equal(verify_mem(q, len + 1), SIG_NOT_CMS);
	q[len] = 0x30;
	assert_int_equal(verify_mem(q, len + 1), SIG_NOT_CMS);
	assert_int_equal(verify_mem(q, len), SIG_OK);
	free(q);
	free(p);
}

static void
test_empty(void **state)
{
	(void)state;
	assert_int_equal(verify_mem("", 0), SIG_GARBAGE);
	assert_int_equal(verify_mem(NULL, 0), SIG_GARBAGE);
	assert_int_equal(verify_mem(" \n", 2), SIG_GARBAGE);
}

static void
test_too_large(void **state)
{
	unsigned char	*p;

	(void)state;
	p = malloc(RP_SIG_MAX + 1);
	assert_non_null(p);
	memset(p, 'A', RP_SIG_MAX + 1);
	assert_int_equal(verify_mem(p, RP_SIG_MAX + 1), SIG_TOO_LARGE);
	/* At the limit it is read: base64 of zeros, not a CMS. */
	assert_int_equal(verify_mem(p, RP_SIG_MAX), SIG_NOT_CMS);
	free(p);
}

static void
test_bad_arguments(void **state)
{
	struct signer	 s;

	(void)state;
	assert_int_equal(verify_at(fx.ctx, "alice.p7s", doc1, -1, &s),
	    SIG_INTERNAL);
	assert_int_equal(sig_verify(NULL, "x", 1, doc1, strlen(doc1), fx.now,
	    &s), SIG_INTERNAL);
	assert_null(s.cert);
}

static void
test_why_names(void **state)
{
	(void)state;
	assert_string_equal(sig_why_name(SIG_OK), "ok");
	assert_string_equal(sig_why_name(SIG_TOO_LARGE), "too_large");
	assert_string_equal(sig_why_name(SIG_CONTENT_MISMATCH),
	    "content_mismatch");
	assert_string_equal(sig_why_name(SIG_NO_PERSON_ID), "no_person_id");
	assert_string_equal(sig_why_name(SIG_OCSP_STALE), "ocsp_stale");
	assert_string_equal(sig_why_name(SIG_WRONG_PURPOSE), "wrong_purpose");
	assert_string_equal(sig_why_name(SIG_INTERNAL), "internal");
	assert_string_equal(sig_why_name(SIG__MAX), "internal");
	assert_string_equal(sig_why_name((enum sig_why)-1), "internal");
}

static void
test_ctx_anchor_forms(void **state)
{
	struct sig_ctx	*c;
	struct signer	 s;
	char		 err[RP_ERRMSG_MAX];
	static const char *const dirs[] = { "a_ca", "a_root", "a_multi" };
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		c = ctx_for(dirs[i], 1, err, sizeof(err));
		assert_non_null(c);
		assert_int_equal(verify_at(c, "alice.p7s", doc1, fx.now,
		    &s), SIG_OK);
		/* The issuer is the CA, whichever anchor ends the chain. */
		assert_int_equal(X509_cmp(s.issuer_cert,
		    sk_X509_value(s.chain, 1)), 0);
		sig_signer_free(&s);
		refused(c, "untrusted.p7s", doc1, SIG_UNTRUSTED);
		sig_ctx_free(c);
	}
	/* A version 1 self-signed root, which has no basicConstraints. */
	c = ctx_for("a_v1", 1, err, sizeof(err));
	assert_non_null(c);
	sig_ctx_free(c);
	sig_ctx_free(NULL);
}

/* Asserts that the anchors directory name is refused, saying what. */
static void
ctx_refused(const char *name, const char *what)
{
	char	 err[RP_ERRMSG_MAX];

	err[0] = '\0';
	assert_null(ctx_for(name, 1, err, sizeof(err)));
	if (strstr(err, what) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", name, err, what);
}

static void
test_ctx_refusals(void **state)
{
	char	 err[RP_ERRMSG_MAX];

	(void)state;
	ctx_refused("missing", "No such file");
	ctx_refused("doc1.txt", "Not a directory");
	ctx_refused("a_empty", "no .pem or .crt file");
	/* A private key after a good root: the whole directory fails. */
	ctx_refused("a_key", "zz.pem: a PEM block that is not a plain");
	ctx_refused("a_leaf", "not a CA");
	/* Without basicConstraints CA:TRUE only a version 1 self-signed root
	 * is a CA; keyCertSign or a Netscape CA type alone is not. */
	ctx_refused("a_kucs", "kucs.pem: a certificate that is not a CA");
	ctx_refused("a_nsca", "nsca.pem: a certificate that is not a CA");
	ctx_refused("a_der", "only PEM is read");
	ctx_refused("a_text", "no PEM certificate");
	err[0] = '\0';
	assert_null(sig_ctx_new("", 1, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	err[0] = '\0';
	assert_null(sig_ctx_new(NULL, 1, err, sizeof(err)));
	assert_true(strlen(err) > 0);
}

/* The QCStatements of DESIGN.md 3, and the same without QcSSCD. */
static const unsigned char qc_full[] = {
	0x30, 0x29, 0x30, 0x08, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01,
	0x01, 0x30, 0x08, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x04,
	0x30, 0x13, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06, 0x30,
	0x09, 0x06, 0x07, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06, 0x01
};

/* Asserts qc_parse() of p[0..len): rc, and the flags when rc is 0. */
static void
qc_is(const unsigned char *p, size_t len, int rc, unsigned int flags)
{
	unsigned int	 f = 0xff;

	assert_int_equal(qc_parse(p, len, &f), rc);
	assert_int_equal(f, rc == 0 ? flags : 0);
}

static void
test_qc_walker_good(void **state)
{
	static const unsigned char empty[] = { 0x30, 0x00 };
	static const unsigned char nosscd[] = {
		0x30, 0x1f, 0x30, 0x08, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x01, 0x30, 0x13, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x06, 0x30, 0x09, 0x06, 0x07, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x06, 0x01
	};
	/* QcType eseal and esign; QcPDS skipped; QcCompliance with NULL. */
	static const unsigned char mixed[] = {
		0x30, 0x36,
		0x30, 0x1c, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06,
		0x30, 0x12, 0x06, 0x07, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06,
		0x02, 0x06, 0x07, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06, 0x01,
		0x30, 0x0a, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x05,
		0x30, 0x00,
		0x30, 0x0a, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x01,
		0x05, 0x00
	};
	/* QcType eseal only, and an empty QcType. */
	static const unsigned char eseal[] = {
		0x30, 0x21,
		0x30, 0x13, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06,
		0x30, 0x09, 0x06, 0x07, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06,
		0x02,
		0x30, 0x0a, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06,
		0x30, 0x00
	};
	/* A long-form length, minimal: 0x81 0x82 for 130 bytes. */
	unsigned char	 big[3 + 130];
	size_t		 i;

	(void)state;
	qc_is(qc_full, sizeof(qc_full), 0, QC_COMPLIANCE | QC_SSCD | QC_TYPE);
	qc_is(nosscd, sizeof(nosscd), 0, QC_COMPLIANCE | QC_TYPE);
	qc_is(empty, sizeof(empty), 0, 0);
	qc_is(mixed, sizeof(mixed), 0, QC_COMPLIANCE | QC_TYPE);
	qc_is(eseal, sizeof(eseal), 0, QC_TYPE | QC_TYPE_OTHER);
	/* 13 QcSSCD statements of 10 bytes. */
	big[0] = 0x30;
	big[1] = 0x81;
	big[2] = 130;
	for (i = 0; i < 13; i++)
		memcpy(big + 3 + 10 * i, qc_full + 12, 10);
	qc_is(big, sizeof(big), 0, QC_SSCD);
}

static void
test_qc_walker_malformed(void **state)
{
	/* Where qc_full has a length octet. */
	static const size_t lens[] = { 1, 3, 5, 13, 15, 23, 25, 33, 35 };
	unsigned char	 b[sizeof(qc_full) + 1];
	size_t		 i;
	static const unsigned char indefinite[] = {
		0x30, 0x80, 0x30, 0x08, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x01, 0x00, 0x00
	};
	static const unsigned char nonminimal[] = {
		0x30, 0x81, 0x0a, 0x30, 0x08, 0x06, 0x06, 0x04, 0x00, 0x8e,
		0x46, 0x01, 0x01
	};
	static const unsigned char zeropad[] = {
		0x30, 0x82, 0x00, 0x0a, 0x30, 0x08, 0x06, 0x06, 0x04, 0x00,
		0x8e, 0x46, 0x01, 0x01
	};
	static const unsigned char fivelen[] = {
		0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x0a
	};
	static const unsigned char huge[] = {
		0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00
	};
	static const unsigned char inner_set[] = {
		0x30, 0x0a, 0x31, 0x08, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x01
	};
	static const unsigned char id_not_oid[] = {
		0x30, 0x0a, 0x30, 0x08, 0x04, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x01
	};
	static const unsigned char id_empty[] = {
		0x30, 0x04, 0x30, 0x02, 0x06, 0x00
	};
	static const unsigned char statement_empty[] = {
		0x30, 0x02, 0x30, 0x00
	};
	static const unsigned char two_infos[] = {
		0x30, 0x0e, 0x30, 0x0c, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x01, 0x05, 0x00, 0x05, 0x00
	};
	static const unsigned char info_overrun[] = {
		0x30, 0x0c, 0x30, 0x0a, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x01, 0x05, 0x05
	};
	static const unsigned char qctype_noinfo[] = {
		0x30, 0x0a, 0x30, 0x08, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x06
	};
	static const unsigned char qctype_not_seq[] = {
		0x30, 0x13, 0x30, 0x11, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x06, 0x06, 0x07, 0x04, 0x00, 0x8e, 0x46, 0x01, 0x06,
		0x01
	};
	static const unsigned char qctype_not_oid[] = {
		0x30, 0x0e, 0x30, 0x0c, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x06, 0x30, 0x02, 0x04, 0x00
	};
	static const unsigned char high_tag[] = {
		0x30, 0x0d, 0x30, 0x0b, 0x06, 0x06, 0x04, 0x00, 0x8e, 0x46,
		0x01, 0x05, 0x1f, 0x81, 0x00
	};
	static const unsigned char not_seq[] = {
		0x31, 0x00
	};

	(void)state;
	/* Every cut of the good value, the empty one included. */
	for (i = 0; i < sizeof(qc_full); i++)
		qc_is(qc_full, i, -1, 0);
	/* A byte after it. */
	memcpy(b, qc_full, sizeof(qc_full));
	b[sizeof(qc_full)] = 0x00;
	qc_is(b, sizeof(b), -1, 0);
	/* Each inner length one too long or too short. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(b, qc_full, sizeof(qc_full));
		b[lens[i]]++;
		qc_is(b, sizeof(qc_full), -1, 0);
		b[lens[i]] -= 2;
		qc_is(b, sizeof(qc_full), -1, 0);
	}
	qc_is(indefinite, sizeof(indefinite), -1, 0);
	qc_is(nonminimal, sizeof(nonminimal), -1, 0);
	qc_is(zeropad, sizeof(zeropad), -1, 0);
	qc_is(fivelen, sizeof(fivelen), -1, 0);
	qc_is(huge, sizeof(huge), -1, 0);
	qc_is(inner_set, sizeof(inner_set), -1, 0);
	qc_is(id_not_oid, sizeof(id_not_oid), -1, 0);
	qc_is(id_empty, sizeof(id_empty), -1, 0);
	qc_is(statement_empty, sizeof(statement_empty), -1, 0);
	qc_is(two_infos, sizeof(two_infos), -1, 0);
	qc_is(info_overrun, sizeof(info_overrun), -1, 0);
	qc_is(qctype_noinfo, sizeof(qctype_noinfo), -1, 0);
	qc_is(qctype_not_seq, sizeof(qctype_not_seq), -1, 0);
	qc_is(qctype_not_oid, sizeof(qctype_not_oid), -1, 0);
	qc_is(high_tag, sizeof(high_tag), -1, 0);
	qc_is(not_seq, sizeof(not_seq), -1, 0);
}

static void
test_der_tlv(void **state)
{
	static const unsigned char shortform[] = { 0x04, 0x02, 0xaa, 0xbb };
	static const unsigned char longform[] = { 0x04, 0x81, 0x80 };
	unsigned char	 zeropad[4 + 128];
	unsigned char	 tag = 0;
	size_t		 hdr = 0, clen = 0;

	(void)state;
	assert_int_equal(der_tlv(shortform, 4, &tag, &hdr, &clen), 0);
	assert_int_equal(tag, 0x04);
	assert_int_equal(hdr, 2);
	assert_int_equal(clen, 2);
	/* Trailing bytes are the caller's business. */
	assert_int_equal(der_tlv(shortform, 3, &tag, &hdr, &clen), -1);
	assert_int_equal(der_tlv(shortform, 1, &tag, &hdr, &clen), -1);
	assert_int_equal(der_tlv(shortform, 0, &tag, &hdr, &clen), -1);
	/* 128 contents bytes announced, none there. */
	assert_int_equal(der_tlv(longform, 3, &tag, &hdr, &clen), -1);
	/* The same length with a leading zero octet, then without. */
	memset(zeropad, 0, sizeof(zeropad));
	zeropad[0] = 0x04;
	zeropad[1] = 0x82;
	zeropad[3] = 0x80;
	assert_int_equal(der_tlv(zeropad, sizeof(zeropad), &tag, &hdr, &clen),
	    -1);
	zeropad[1] = 0x81;
	zeropad[2] = 0x80;
	assert_int_equal(der_tlv(zeropad, sizeof(zeropad) - 1, &tag, &hdr,
	    &clen), 0);
	assert_int_equal(hdr, 3);
	assert_int_equal(clen, 128);
	/* A high tag number. */
	zeropad[0] = 0x1f;
	assert_int_equal(der_tlv(zeropad, sizeof(zeropad) - 1, &tag, &hdr,
	    &clen), -1);
}

/* Runs pss_check() on the RSASSA-PSS parameters der[0..len). */
static enum sig_why
pss_with(const unsigned char *der, size_t len)
{
	X509_ALGOR	*alg;
	ASN1_STRING	*params;
	enum sig_why	 w;

	alg = X509_ALGOR_new();
	params = ASN1_STRING_new();
	assert_non_null(alg);
	assert_non_null(params);
	assert_int_equal(ASN1_STRING_set(params, der, (int)len), 1);
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss),
	    V_ASN1_SEQUENCE, params), 1);
	w = pss_check(alg);
	X509_ALGOR_free(alg);
	ERR_clear_error();
	return w;
}

static void
test_pss_parameters(void **state)
{
	/* hash [0] sha256, maskGen [1] mgf1 with sha256. */
	static const unsigned char good[] = {
		0x30, 0x2f,
		0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
		0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60,
		0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00
	};
	/* hash [0] sha1, maskGen [1] mgf1 with sha256. */
	static const unsigned char sha1hash[] = {
		0x30, 0x2b,
		0xa0, 0x0b, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02,
		0x1a, 0x05, 0x00,
		0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60,
		0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00
	};
	/* No hash (SHA-1 by default), maskGen mgf1 with sha256. */
	static const unsigned char nohash[] = {
		0x30, 0x1e,
		0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60,
		0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00
	};
	/* hash [0] sha256, no maskGen (MGF1 with SHA-1 by default). */
	static const unsigned char nomgf[] = {
		0x30, 0x11,
		0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00
	};
	static const unsigned char broken[] = { 0x30, 0x05, 0xa0, 0x03 };

	(void)state;
	assert_int_equal(pss_with(good, sizeof(good)), SIG_OK);
	assert_int_equal(pss_with(sha1hash, sizeof(sha1hash)),
	    SIG_DIGEST_WEAK);
	assert_int_equal(pss_with(nohash, sizeof(nohash)), SIG_DIGEST_WEAK);
	assert_int_equal(pss_with(nomgf, sizeof(nomgf)), SIG_DIGEST_WEAK);
	assert_int_equal(pss_with(good, sizeof(good) - 1), SIG_KEY_WEAK);
	assert_int_equal(pss_with(broken, sizeof(broken)), SIG_KEY_WEAK);
}

static void
test_decode_forms(void **state)
{
	static const char pem[] = "-----BEGIN CMS-----\nMAMCAQE=\n"
	    "-----END CMS-----\n";
	static const char pem_crlf[] = "\r\n-----BEGIN PKCS7-----\r\nMAMC\r\n"
	    "AQE=\r\n-----END PKCS7-----\r\n\r\n";
	static const char mixed[] = "-----BEGIN CMS-----\nMAMCAQE=\n"
	    "-----END PKCS7-----\n";
	static const char after[] = "-----BEGIN CMS-----\nMAMCAQE=\n"
	    "-----END CMS-----\nmore\n";
	static const char header[] = "-----BEGIN CMS-----\nProc-Type: x\n\n"
	    "MAMCAQE=\n-----END CMS-----\n";
	static const char noend[] = "-----BEGIN CMS-----\nMAMCAQE=\n";
	static const unsigned char want[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	unsigned char	*der;
	size_t		 len;

	(void)state;
	assert_int_equal(sig_decode((const unsigned char *)pem, strlen(pem),
	    &der, &len), SIG_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(der, want, sizeof(want));
	free(der);
	assert_int_equal(sig_decode((const unsigned char *)pem_crlf,
	    strlen(pem_crlf), &der, &len), SIG_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(der, want, sizeof(want));
	free(der);
	/* DER is taken as it is. */
	assert_int_equal(sig_decode(want, sizeof(want), &der, &len), SIG_OK);
	assert_int_equal(len, sizeof(want));
	free(der);
	assert_int_equal(sig_decode((const unsigned char *)mixed,
	    strlen(mixed), &der, &len), SIG_GARBAGE);
	assert_null(der);
	assert_int_equal(sig_decode((const unsigned char *)after,
	    strlen(after), &der, &len), SIG_GARBAGE);
	assert_int_equal(sig_decode((const unsigned char *)header,
	    strlen(header), &der, &len), SIG_GARBAGE);
	assert_int_equal(sig_decode((const unsigned char *)noend,
	    strlen(noend), &der, &len), SIG_GARBAGE);
	assert_int_equal(len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alice_attached),
		cmocka_unit_test(test_alice_detached),
		cmocka_unit_test(test_alice_base64),
		cmocka_unit_test(test_alice_pem),
		cmocka_unit_test(test_no_signed_attributes),
		cmocka_unit_test(test_bob_org_id),
		cmocka_unit_test(test_rsa2048),
		cmocka_unit_test(test_pss_mgf1_sha1),
		cmocka_unit_test(test_carol_token),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_not_qualified),
		cmocka_unit_test(test_malformed_qcstatements),
		cmocka_unit_test(test_no_qc_compliance),
		cmocka_unit_test(test_signer_is_anchor),
		cmocka_unit_test(test_nosscd),
		cmocka_unit_test(test_not_esign),
		cmocka_unit_test(test_no_nonrep),
		cmocka_unit_test(test_no_person_id),
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_rsa1024),
		cmocka_unit_test(test_other_curve),
		cmocka_unit_test(test_altered_one_byte),
		cmocka_unit_test(test_altered_inside),
		cmocka_unit_test(test_other_document),
		cmocka_unit_test(test_two_signers),
		cmocka_unit_test(test_no_signer_cert),
		cmocka_unit_test(test_not_signed_data),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_base64_of_garbage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_why_names),
		cmocka_unit_test(test_ctx_anchor_forms),
		cmocka_unit_test(test_ctx_refusals),
		cmocka_unit_test(test_qc_walker_good),
		cmocka_unit_test(test_qc_walker_malformed),
		cmocka_unit_test(test_der_tlv),
		cmocka_unit_test(test_pss_parameters),
		cmocka_unit_test(test_decode_forms),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
