/*
 * libFuzzer target for sig.c.  The first byte of the input chooses what
 * the rest is:
 *   even: a signature, given as it is to sig_verify() over a fixed
 *         document (every input form and refusal of steps 1 to 4);
 *   odd:  the value of a QCStatements extension, put into a certificate
 *         that a CA made at start-up issues, which then signs the
 *         document, so that the mutations reach the QCStatements walker
 *         behind a valid signature and chain.
 * A verification must end with a known reason (for the second kind one
 * of ok, not_qualified, no_qscd, not_esign), own nothing unless it is
 * SIG_OK, and leave the OpenSSL error queue empty (FUZZ_CMS_VERBOSE in
 * the environment prints each reason).  The CA is written to
 * a temporary directory that is removed at exit.  Built with
 * tests/fuzz/replay.c it replays a saved corpus (tests/fuzz/corpus-cms/).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"

#define FZ_DIR_MAX	64u
#define FZ_EXT_MAX	4096u	/* bytes of a fuzzed extension */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char fz_doc[] = "revportal-request/1\naction: revoke\n"
    "serial: 42BA82334FDAB97D86A19279BAB5E87934D85554\n";

static struct {
	char		 dir[FZ_DIR_MAX];
	char		 pem[FZ_DIR_MAX + 16];
	struct sig_ctx	*ctx;
	EVP_PKEY	*cakey;
	EVP_PKEY	*key;		/* the leaf's */
	X509		*ca;
	int64_t		 now;		/* ms */
} fz;

/* Removes the CA file and its directory. */
static void
fz_cleanup(void)
{
	sig_ctx_free(fz.ctx);
	X509_free(fz.ca);
	EVP_PKEY_free(fz.cakey);
	EVP_PKEY_free(fz.key);
	if (fz.pem[0] != '\0')
		(void)unlink(fz.pem);
	if (fz.dir[0] != '\0')
		(void)rmdir(fz.dir);
}

/*
 * Makes a certificate for key with the subject cn (plus serialNumber
 * when person), valid from a day ago for a year, issued by issuer (NULL:
 * self-signed, a CA) with ext[0..extlen) as its QCStatements when ext is
 * not NULL.  Returns it, or NULL.
 */
static X509 *
fz_cert(EVP_PKEY *key, const char *cn, int person, const uint8_t *ext,
    size_t extlen)
{
	X509			*x;
	X509_NAME		*name;
	X509_EXTENSION		*e = NULL;
	ASN1_OCTET_STRING	*os = NULL;
	X509V3_CTX		 v3;
	int			 ok = 0;

	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), person ? 2 : 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365 * 86400L) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    (person && X509_NAME_add_entry_by_txt(name, "serialNumber",
	    MBSTRING_UTF8, (const unsigned char *)"PNOSI-1", -1, -1,
	    0) != 1) ||
	    X509_set_issuer_name(x, person ? X509_get_subject_name(fz.ca) :
	    name) != 1)
		goto out;
	X509V3_set_ctx(&v3, person ? fz.ca : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    person ? "critical,CA:FALSE" : "critical,CA:TRUE")) == NULL ||
	    X509_add_ext(x, e, -1) != 1)
		goto out;
	X509_EXTENSION_free(e);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, person ?
	    "critical,nonRepudiation,digitalSignature" :
	    "critical,keyCertSign,cRLSign")) == NULL ||
	    X509_add_ext(x, e, -1) != 1)
		goto out;
	X509_EXTENSION_free(e);
	e = NULL;
	if (ext != NULL) {
		if ((os = ASN1_OCTET_STRING_new()) == NULL ||
		    ASN1_OCTET_STRING_set(os, ext, (int)extlen) != 1 ||
		    (e = X509_EXTENSION_create_by_NID(NULL, NID_qcStatements,
		    0, os)) == NULL || X509_add_ext(x, e, -1) != 1)
			goto out;
	}
	if (X509_sign(x, person ? fz.cakey : key, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Makes the CA, the leaf key and the context once.  Aborts on failure. */
static void
fz_init(void)
{
	char	 err[RP_ERRMSG_MAX];
	FILE	*f;
	int	 n;

	if (fz.ctx != NULL)
		return;
	n = snprintf(fz.dir, sizeof(fz.dir), "/tmp/fuzz_cms-XXXXXX");
	if (n < 0 || (size_t)n >= sizeof(fz.dir) || mkdtemp(fz.dir) == NULL)
		abort();
	if (atexit(fz_cleanup) != 0 ||
	    (fz.cakey = EVP_EC_gen("P-256")) == NULL ||
	    (fz.key = EVP_EC_gen("P-256")) == NULL ||
	    (fz.ca = fz_cert(fz.cakey, "fuzz CA", 0, NULL, 0)) == NULL)
		abort();
	n = snprintf(fz.pem, sizeof(fz.pem), "%s/ca.pem", fz.dir);
	if (n < 0 || (size_t)n >= sizeof(fz.pem) ||
	    (f = fopen(fz.pem, "w")) == NULL)
		abort();
	if (PEM_write_X509(f, fz.ca) != 1 || fclose(f) != 0)
		abort();
	if ((fz.ctx = sig_ctx_new(fz.dir, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_cms: %s\n", err);
		abort();
	}
	fz.now = (int64_t)time(NULL) * 1000;
	ERR_clear_error();
}

/* Verifies sig[0..len) and checks the invariants; returns the reason. */
static enum sig_why
fz_verify(const void *sig, size_t len)
{
	struct signer	 s;
	enum sig_why	 w;

	w = sig_verify(fz.ctx, sig, len, fz_doc, strlen(fz_doc), fz.now, &s);
	if ((unsigned int)w >= SIG__MAX || w > SIG_NO_PERSON_ID)
		abort();
	if (w == SIG_OK) {
		if (s.cert == NULL || s.issuer_cert == NULL ||
		    s.chain == NULL || s.person_id[0] == '\0')
			abort();
	} else if (s.cert != NULL || s.issuer_cert != NULL ||
	    s.chain != NULL)
		abort();
	if (memchr(s.person_id, '\0', sizeof(s.person_id)) == NULL ||
	    memchr(s.subject, '\0', sizeof(s.subject)) == NULL)
		abort();
	sig_signer_free(&s);
	if (ERR_peek_error() != 0)
		abort();
	if (getenv("FUZZ_CMS_VERBOSE") != NULL)
		fprintf(stderr, "fuzz_cms: %s\n", sig_why_name(w));
	return w;
}

/* Signs the document with a leaf carrying ext and verifies it. */
static void
fz_qc(const uint8_t *ext, size_t len)
{
	STACK_OF(X509)	*certs = NULL;
	CMS_ContentInfo	*cms = NULL;
	X509		*leaf;
	BIO		*in = NULL;
	unsigned char	*der = NULL;
	int		 derlen;
	enum sig_why	 w;

	if (len > FZ_EXT_MAX ||
	    (leaf = fz_cert(fz.key, "fuzz leaf", 1, ext, len)) == NULL) {
		ERR_clear_error();
		return;
	}
	if ((certs = sk_X509_new_null()) == NULL ||
	    sk_X509_push(certs, fz.ca) <= 0 ||
	    (in = BIO_new_mem_buf(fz_doc, (int)strlen(fz_doc))) == NULL ||
	    (cms = CMS_sign(leaf, fz.key, certs, in, CMS_BINARY)) == NULL ||
	    (derlen = i2d_CMS_ContentInfo(cms, &der)) <= 0)
		abort();
	w = fz_verify(der, (size_t)derlen);
	if (w != SIG_OK && w != SIG_NOT_QUALIFIED && w != SIG_NO_QSCD &&
	    w != SIG_NOT_ESIGN)
		abort();
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_free(certs);
	X509_free(leaf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*copy;

	if (size == 0)
		return 0;
	fz_init();
	/* An exact-size copy, so reading past the end is caught. */
	if ((copy = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fz_qc(copy, size - 1);
	else
		(void)fz_verify(copy, size - 1);
	free(copy);
	return 0;
}
