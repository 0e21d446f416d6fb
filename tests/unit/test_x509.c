/*
 * Tests of x509.c.  The certificates are made here with OpenSSL: an
 * issuing CA and leaf certificates with the attributes revportal reads,
 * then damaged or bent in every way x509_read_pem() must refuse.
 */
#include <stdio.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit.h"

#define NB_S	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define NA_S	((time_t)1924992000)	/* 2031-01-01T00:00:00Z */
#define CA_DN	"CN=Example Qualified CA,O=Example TSP,C=SI"
#define CN_UTF8	"\xc5\xa0pela \xc4\x8cuk"	/* Špela Čuk */

static EVP_PKEY	*ca_key, *leaf_key;
static X509	*ca;

static int
setup(void **state)
{
	X509_NAME	*n;
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	(void)state;
	if ((ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (ca = X509_new()) == NULL)
		return -1;
	n = X509_get_subject_name(ca);
	if (X509_set_version(ca, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(ca), 1) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(ca), NB_S) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(ca), NA_S) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC,
	    (const unsigned char *)"SI", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Example TSP", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Example Qualified CA", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(ca, n) != 1 ||
	    X509_set_pubkey(ca, ca_key) != 1)
		return -1;
	X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier,
	    "hash")) == NULL)
		return -1;
	if (X509_add_ext(ca, ext, -1) != 1) {
		X509_EXTENSION_free(ext);
		return -1;
	}
	X509_EXTENSION_free(ext);
	if (X509_sign(ca, ca_key, EVP_sha256()) <= 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}

/* A leaf issued by ca with serial, validity NB_S..NA_S, empty subject. */
static X509 *
leaf_new(long serial)
{
	X509	*x;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), NB_S));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), NA_S));
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(ca)),
	    1);
	assert_int_equal(X509_set_pubkey(x, leaf_key), 1);
	return x;
}

/* Adds a subject attribute from UTF-8 text, the way a CA would. */
static void
name_add(X509 *x, const char *field, const char *val)
{
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    field, MBSTRING_UTF8, (const unsigned char *)val, -1, -1, 0), 1);
}

/* Adds a subject attribute of ASN.1 type type with exactly these bytes. */
static void
name_add_raw(X509 *x, int nid, int type, const char *val, int len)
{
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    nid, type, (const unsigned char *)val, len, -1, 0), 1);
}

/* Adds an extension from its OpenSSL configuration text. */
static void
ext_add(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

static void
leaf_sign(X509 *x)
{
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0) {
		ERR_print_errors_fp(stderr);
		fail_msg("X509_sign failed");
	}
}

/* Returns the malloc'd contents of a memory BIO, freeing the BIO. */
static char *
bio_take(BIO *bio, size_t *lenp)
{
	char	*p = NULL, *s;
	long	 n;

	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	assert_non_null(s = malloc((size_t)n + 1));
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(bio);
	if (lenp != NULL)
		*lenp = (size_t)n;
	return s;
}

static char *
cert_pem(X509 *x)
{
	BIO	*bio;

	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	return bio_take(bio, NULL);
}

/* A PEM block with any label around any bytes. */
static char *
pem_block(const char *label, const unsigned char *data, long len)
{
	BIO	*bio;

	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_true(PEM_write_bio(bio, label, "", data, len) > 0);
	return bio_take(bio, NULL);
}

static char *
cat(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);
	char	*s;

	assert_non_null(s = malloc(la + lb + 1));
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* Upper- or lower-case hex of n bytes, into a static buffer. */
static const char *
hex(const unsigned char *p, size_t n, int upper)
{
	static char	 out[256];
	const char	*d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t		 i;

	assert_true(n * 2 < sizeof(out));
	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 0xf];
	}
	out[2 * n] = '\0';
	return out;
}

/*
 * Returns the PEM of x's DER with the first occurrence of the n bytes
 * from replaced by the n bytes to, so that no library check applies.
 */
static char *
der_patch_pem(X509 *x, const char *from, const char *to, size_t n)
{
	unsigned char	*der = NULL;
	char		*pem;
	size_t		 i;
	int		 derlen;

	assert_true((derlen = i2d_X509(x, &der)) > 0);
	for (i = 0; i + n <= (size_t)derlen; i++)
		if (memcmp(der + i, from, n) == 0)
			break;
	assert_true(i + n <= (size_t)derlen);
	memcpy(der + i, to, n);
	pem = pem_block("CERTIFICATE", der, derlen);
	OPENSSL_free(der);
	return pem;
}

/* Reads text and expects success. */
static void
read_ok(const char *text, size_t len, struct cert_info *info)
{
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (x509_read_pem(text, len, info, &ei) != RP_OK)
		fail_msg("x509_read_pem: %s: %s", ei.code, ei.msg);
	assert_non_null(info->pem);
	assert_int_equal(ERR_peek_error(), 0);
}

/* Signs x and reads it, expecting success. */
static void
leaf_read(X509 *x, struct cert_info *info)
{
	char	*pem;

	leaf_sign(x);
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), info);
	free(pem);
}

/*
 * Reads text and expects failure e with code; checks that info is left
 * empty, the message is a sentence and the OpenSSL error queue is empty.
 * Returns the message in a static buffer.
 */
static const char *
read_fail(const char *text, size_t len, enum rp_err e, const char *code)
{
	static struct rp_errinfo ei;
	struct cert_info	 info;

	memset(&ei, 0, sizeof(ei));
	memset(&info, 0xa5, sizeof(info));
	ERR_raise(ERR_LIB_USER, ERR_R_INTERNAL_ERROR); /* stale error */
	assert_int_equal(x509_read_pem(text, len, &info, &ei), e);
	assert_non_null(ei.code);
	assert_string_equal(ei.code, code);
	assert_true(strlen(ei.msg) > 10);
	assert_null(info.pem);
	assert_string_equal(info.subject, "");
	assert_string_equal(info.serial, "");
	assert_int_equal(info.not_after, 0);
	assert_int_equal(ERR_peek_error(), 0);
	cert_info_free(&info);
	return ei.msg;
}

/* Signs x, reads it and expects failure e with code; frees x. */
static const char *
leaf_fail(X509 *x, enum rp_err e, const char *code)
{
	const char	*msg;
	char		*pem;

	leaf_sign(x);
	pem = cert_pem(x);
	msg = read_fail(pem, strlen(pem), e, code);
	free(pem);
	X509_free(x);
	return msg;
}

/* A leaf with everything revportal reads. */
static X509 *
full_leaf(void)
{
	X509	*x;
	BIGNUM	*bn = NULL;

	x = leaf_new(1);
	assert_true(BN_hex2bn(&bn, "0123456789ABCDEF") > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	name_add(x, "C", "SI");
	name_add(x, "O", "Example d.o.o.");
	name_add(x, "organizationIdentifier", "VATSI-12345678");
	name_add(x, "serialNumber", "PNOSI-1234567890123");
	name_add(x, "CN", CN_UTF8);
	name_add(x, "emailAddress", "spela.cuk@example.si");
	ext_add(x, NID_authority_key_identifier, "keyid:always");
	ext_add(x, NID_subject_alt_name, "email:other@example.si");
	leaf_sign(x);
	return x;
}

/*
 * x509_info() on a certificate OpenSSL holds gives what x509_read_pem()
 * gives for its PEM; no certificate is an internal error.
 */
static void
test_info_same_as_pem(void **state)
{
	struct cert_info	 a, b;
	struct rp_errinfo	 ei;
	X509			*x;
	char			*pem;

	(void)state;
	x = full_leaf();
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), &a);
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(x509_info(x, &b, &ei), RP_OK);
	assert_string_equal(a.issuer, b.issuer);
	assert_string_equal(a.subject, b.subject);
	assert_string_equal(a.serial, b.serial);
	assert_string_equal(a.person_id, b.person_id);
	assert_string_equal(a.org_id, b.org_id);
	assert_string_equal(a.email, b.email);
	assert_string_equal(a.sha256, b.sha256);
	assert_string_equal(a.pem, b.pem);
	assert_int_equal(a.not_after, b.not_after);
	assert_int_equal(ERR_peek_error(), 0);
	cert_info_free(&a);
	cert_info_free(&b);
	memset(&b, 0xa5, sizeof(b));
	assert_int_equal(x509_info(NULL, &b, &ei), RP_ERR_INTERNAL);
	free(pem);
	X509_free(x);
}

static void
test_full(void **state)
{
	struct cert_info	 info;
	X509			*x;
	char			*pem;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	const ASN1_OCTET_STRING	*ski;

	(void)state;
	x = full_leaf();
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), &info);

	assert_string_equal(info.issuer, CA_DN);
	assert_string_equal(info.subject,
	    "emailAddress=spela.cuk@example.si,CN=" CN_UTF8 ","
	    "serialNumber=PNOSI-1234567890123,"
	    "organizationIdentifier=VATSI-12345678,"
	    "O=Example d.o.o.,C=SI");
	assert_string_equal(info.serial, "123456789ABCDEF");
	assert_string_equal(info.common_name, CN_UTF8);
	assert_string_equal(info.org_name, "Example d.o.o.");
	assert_string_equal(info.person_id, "PNOSI-1234567890123");
	assert_string_equal(info.org_id, "VATSI-12345678");
	/* The subject's address wins over the subjectAltName's. */
	assert_string_equal(info.email, "spela.cuk@example.si");

	assert_non_null(ski = X509_get0_subject_key_id(ca));
	assert_int_equal(ASN1_STRING_length(ski), 20);
	assert_string_equal(info.aki,
	    hex(ASN1_STRING_get0_data(ski), 20, 1));

	assert_int_equal(X509_digest(x, EVP_sha256(), md, &mdlen), 1);
	assert_int_equal(mdlen, 32);
	assert_string_equal(info.sha256, hex(md, 32, 0));

	assert_int_equal(info.not_before, (int64_t)NB_S * 1000);
	assert_int_equal(info.not_after, (int64_t)NA_S * 1000);
	/* The same certificate, the same PEM. */
	assert_string_equal(info.pem, pem);

	cert_info_free(&info);
	assert_null(info.pem);
	cert_info_free(&info);
	cert_info_free(NULL);
	free(pem);
	X509_free(x);
}

/* A leaf with nothing optional: all those fields are "". */
static void
test_minimal(void **state)
{
	struct cert_info	 info;
	X509			*x;
	char			*pem;

	(void)state;
	x = leaf_new(0x0a);
	name_add(x, "CN", "Only a name");
	leaf_sign(x);
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), &info);
	assert_string_equal(info.subject, "CN=Only a name");
	assert_string_equal(info.common_name, "Only a name");
	assert_string_equal(info.serial, "A");
	assert_string_equal(info.org_name, "");
	assert_string_equal(info.person_id, "");
	assert_string_equal(info.org_id, "");
	assert_string_equal(info.email, "");
	assert_string_equal(info.aki, "");
	assert_int_equal(strlen(info.sha256), 64);
	cert_info_free(&info);
	free(pem);
	X509_free(x);
}

/* Without a subject emailAddress, the first rfc822Name of the SAN. */
static void
test_san_email(void **state)
{
	struct cert_info	 info;
	X509			*x;
	char			*pem;

	(void)state;
	x = leaf_new(2);
	name_add(x, "CN", "Legal Rep");
	ext_add(x, NID_subject_alt_name, "DNS:www.example.si,"
	    "email:first@example.si,email:second@example.si");
	leaf_sign(x);
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), &info);
	assert_string_equal(info.email, "first@example.si");
	cert_info_free(&info);
	free(pem);
	X509_free(x);

	/* A SAN without e-mail: none. */
	x = leaf_new(2);
	name_add(x, "CN", "Server");
	ext_add(x, NID_subject_alt_name, "DNS:www.example.si");
	leaf_sign(x);
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), &info);
	assert_string_equal(info.email, "");
	cert_info_free(&info);
	free(pem);
	X509_free(x);
}

/* Serial numbers: high bit set (DER adds a 00), 20 bytes, one byte. */
static void
test_serials(void **state)
{
	static const struct {
		const char	*bn;
		const char	*want;
	} t[] = {
		{ "80", "80" },
		{ "1", "1" },
		{ "00FF", "FF" },
		{ "8000000000000000000000000000000000000001",
		    "8000000000000000000000000000000000000001" },
		{ "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
		    "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" },
	};
	struct cert_info	 info;
	X509			*x;
	BIGNUM			*bn;
	char			*pem;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		x = leaf_new(1);
		bn = NULL;
		assert_true(BN_hex2bn(&bn, t[i].bn) > 0);
		assert_non_null(BN_to_ASN1_INTEGER(bn,
		    X509_get_serialNumber(x)));
		BN_free(bn);
		name_add(x, "CN", "Serial");
		leaf_sign(x);
		pem = cert_pem(x);
		read_ok(pem, strlen(pem), &info);
		assert_string_equal(info.serial, t[i].want);
		cert_info_free(&info);
		free(pem);
		X509_free(x);
	}
}

/* UTCTime before 1970 (at -1 s exactly) and GeneralizedTime after 2049. */
static void
test_times(void **state)
{
	struct cert_info	 info;
	X509			*x;
	char			*pem;

	(void)state;
	x = leaf_new(3);
	name_add(x, "CN", "Times");
	assert_int_equal(ASN1_TIME_set_string(X509_getm_notBefore(x),
	    "691231235959Z"), 1);
	assert_int_equal(ASN1_TIME_set_string(X509_getm_notAfter(x),
	    "20510101000000Z"), 1);
	leaf_sign(x);
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), &info);
	assert_int_equal(info.not_before, -1000);
	assert_int_equal(info.not_after, (int64_t)2556144000 * 1000);
	cert_info_free(&info);
	free(pem);
	X509_free(x);
}

/* CRLF line ends, white space around, up to RP_PEM_MAX bytes in all. */
static void
test_white_space(void **state)
{
	struct cert_info	 info;
	X509			*x;
	char			*pem, *crlf, *big;
	size_t			 i, o, len;

	(void)state;
	x = full_leaf();
	pem = cert_pem(x);
	len = strlen(pem);
	assert_non_null(crlf = malloc(2 * len + 16));
	o = 0;
	crlf[o++] = '\r';
	crlf[o++] = '\n';
	crlf[o++] = ' ';
	crlf[o++] = '\t';
	for (i = 0; i < len; i++) {
		if (pem[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = pem[i];
	}
	crlf[o++] = '\r';
	crlf[o++] = '\n';
	crlf[o] = '\0';
	read_ok(crlf, o, &info);
	assert_string_equal(info.pem, pem);
	assert_string_equal(info.person_id, "PNOSI-1234567890123");
	cert_info_free(&info);

	/* No final line break at all. */
	read_ok(pem, len - 1, &info);
	cert_info_free(&info);

	/* Exactly RP_PEM_MAX bytes: accepted; one more: too large. */
	assert_non_null(big = malloc(RP_PEM_MAX + 1));
	memset(big, '\n', RP_PEM_MAX + 1);
	memcpy(big + 100, pem, len);
	read_ok(big, RP_PEM_MAX, &info);
	cert_info_free(&info);
	read_fail(big, RP_PEM_MAX + 1, RP_ERR_TOO_LARGE, "too_large");

	free(big);
	free(crlf);
	free(pem);
	X509_free(x);
}

/* Not PEM at all: empty, blank, garbage, DER. */
static void
test_not_pem(void **state)
{
	static const char garbage[] = "SECRET-PASSPHRASE-hunter2\n";
	char		 label[100];
	X509		*x;
	unsigned char	*der = NULL;
	int		 derlen;
	const char	*msg;

	(void)state;
	read_fail("", 0, RP_ERR_BAD_INPUT, "not_pem");
	read_fail(NULL, 0, RP_ERR_BAD_INPUT, "not_pem");
	read_fail(" \r\n\t\n", 5, RP_ERR_BAD_INPUT, "not_pem");
	msg = read_fail(garbage, sizeof(garbage) - 1, RP_ERR_BAD_INPUT,
	    "not_pem");
	assert_null(strstr(msg, "SECRET"));
	assert_null(strstr(msg, "hunter2"));
	read_fail("\0\0\0\0", 4, RP_ERR_BAD_INPUT, "not_pem");
	read_fail("-----BEGIN CERTIFICATE", 22, RP_ERR_BAD_INPUT, "not_pem");
	read_fail("-----BEGIN CERTIFICATE-----", 27, RP_ERR_BAD_INPUT,
	    "not_pem");
	read_fail("-----BEGIN CERTIFICATE----- x\n", 30, RP_ERR_BAD_INPUT,
	    "not_pem");
	read_fail("-----BEGIN \x01-----\n", 18, RP_ERR_BAD_INPUT, "not_pem");
	/* Labels of up to 64 characters. */
	memset(label, 'A', sizeof(label));
	memcpy(label, "-----BEGIN ", 11);
	memcpy(label + 11 + 64, "-----\n", 6);
	read_fail(label, 11 + 64 + 6, RP_ERR_BAD_INPUT, "not_certificate");
	label[11 + 64] = 'A';
	memcpy(label + 11 + 65, "-----\n", 6);
	read_fail(label, 11 + 65 + 6, RP_ERR_BAD_INPUT, "not_pem");

	x = full_leaf();
	assert_true((derlen = i2d_X509(x, &der)) > 0);
	msg = read_fail((const char *)der, (size_t)derlen, RP_ERR_BAD_INPUT,
	    "not_pem");
	assert_non_null(strstr(msg, "DER"));
	OPENSSL_free(der);
	X509_free(x);
}

/* PEM blocks of other kinds, named in the message. */
static void
test_not_certificate(void **state)
{
	BIO		*bio;
	X509_REQ	*req;
	X509		*x;
	unsigned char	*der = NULL;
	int		 derlen;
	char		*s;
	const char	*msg;

	(void)state;
	/* A private key. */
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PrivateKey(bio, leaf_key, NULL, NULL,
	    0, NULL, NULL), 1);
	s = bio_take(bio, NULL);
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "not_certificate");
	assert_non_null(strstr(msg, "private key"));
	free(s);

	/* A CSR. */
	assert_non_null(req = X509_REQ_new());
	assert_int_equal(X509_REQ_set_pubkey(req, leaf_key), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(
	    X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
	    (const unsigned char *)"csr", -1, -1, 0), 1);
	assert_true(X509_REQ_sign(req, leaf_key, EVP_sha256()) > 0);
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
	s = bio_take(bio, NULL);
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "not_certificate");
	assert_non_null(strstr(msg, "CSR"));
	free(s);
	X509_REQ_free(req);

	/* A CRL, an old-style label and an unknown one around a good DER. */
	x = full_leaf();
	assert_true((derlen = i2d_X509(x, &der)) > 0);
	s = pem_block("X509 CRL", der, derlen);
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "not_certificate");
	assert_non_null(strstr(msg, "CRL"));
	free(s);
	s = pem_block("X509 CERTIFICATE", der, derlen);
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "not_certificate");
	free(s);
	s = pem_block("SECRET STUFF", der, derlen);
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "not_certificate");
	assert_null(strstr(msg, "SECRET"));
	free(s);
	OPENSSL_free(der);
	X509_free(x);
}

/* Anything before or after the one block. */
static void
test_surroundings(void **state)
{
	BIO		*bio;
	X509		*x;
	char		*pem, *capem, *s, *key;
	const char	*msg;

	(void)state;
	x = full_leaf();
	pem = cert_pem(x);
	capem = cert_pem(ca);

	s = cat(pem, capem);
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "two_certificates");
	free(s);
	s = cat(pem, pem);
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "two_certificates");
	free(s);

	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PrivateKey(bio, leaf_key, NULL, NULL,
	    0, NULL, NULL), 1);
	key = bio_take(bio, NULL);
	s = cat(pem, key);
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "trailing_data");
	assert_non_null(strstr(msg, "private key"));
	free(s);
	/* A key first is not a certificate, whatever follows. */
	s = cat(key, pem);
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "not_certificate");
	free(s);
	free(key);

	s = cat(pem, "garbage\n");
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "trailing_data");
	assert_null(strstr(msg, "garbage"));
	free(s);
	/* Text on the END line itself. */
	assert_int_equal(pem[strlen(pem) - 1], '\n');
	pem[strlen(pem) - 1] = '\0';
	s = cat(pem, "x\n");
	pem[strlen(pem)] = '\n';
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "trailing_data");
	free(s);
	/* A NUL after the block. */
	s = cat(pem, "");
	read_fail(s, strlen(s) + 1, RP_ERR_BAD_INPUT, "trailing_data");
	free(s);

	/* openssl x509 -text output: text before the block. */
	s = cat("Certificate:\n    Data: ...\n", pem);
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "leading_data");
	free(s);

	free(capem);
	free(pem);
	X509_free(x);
}

/* Damage inside the block. */
static void
test_bad_block(void **state)
{
	X509		*x;
	unsigned char	*der = NULL, *der2;
	int		 derlen;
	char		*pem, *s, *t, *p;
	const char	*msg;
	size_t		 len, half, i;

	(void)state;
	x = full_leaf();
	pem = cert_pem(x);
	len = strlen(pem);
	half = len / 2;

	/* Cut short: no END line. */
	msg = read_fail(pem, half, RP_ERR_BAD_INPUT, "bad_certificate");
	assert_non_null(strstr(msg, "no END line"));
	/* Cut short, with an END line: truncated base64. */
	assert_non_null(s = malloc(half + 1));
	memcpy(s, pem, half);
	s[half] = '\0';
	if ((p = strrchr(s, '\n')) != NULL)
		p[1] = '\0';
	t = cat(s, "-----END CERTIFICATE-----\n");
	read_fail(t, strlen(t), RP_ERR_BAD_INPUT, "bad_certificate");
	free(t);
	/* The same with a line of padding: base64 fine, DER cut. */
	t = cat(s, "AAAA\n-----END CERTIFICATE-----\n");
	read_fail(t, strlen(t), RP_ERR_BAD_INPUT, "bad_certificate");
	free(t);
	free(s);

	/* A character outside base64. */
	assert_non_null(s = strdup(pem));
	s[40] = '!';
	read_fail(s, len, RP_ERR_BAD_INPUT, "bad_certificate");
	/* '=' in the middle. */
	s[40] = '=';
	read_fail(s, len, RP_ERR_BAD_INPUT, "bad_certificate");
	free(s);

	/* An encryption header, as PEM_read_bio would accept. */
	t = cat("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n",
	    pem + strlen("-----BEGIN CERTIFICATE-----\n"));
	read_fail(t, strlen(t), RP_ERR_BAD_INPUT, "bad_certificate");
	free(t);

	/* An END line of another label, and one not at a line start. */
	assert_non_null(s = strdup(pem));
	assert_non_null(p = strstr(s, "-----END CERTIFICATE"));
	memcpy(p + 9, "CERTIFICATX", 11);
	read_fail(s, len, RP_ERR_BAD_INPUT, "bad_certificate");
	free(s);
	assert_non_null(s = strdup(pem));
	assert_non_null(p = strstr(s, "\n-----END CERTIFICATE"));
	*p = ' ';
	read_fail(s, len, RP_ERR_BAD_INPUT, "bad_certificate");
	free(s);

	/* An empty block. */
	s = cat("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n");
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "bad_certificate");
	free(s);

	/* Extra bytes after the DER inside the block. */
	assert_true((derlen = i2d_X509(x, &der)) > 0);
	assert_non_null(der2 = malloc((size_t)derlen + 2));
	memcpy(der2, der, (size_t)derlen);
	der2[derlen] = 0;
	der2[derlen + 1] = 0;
	s = pem_block("CERTIFICATE", der2, derlen + 2);
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "bad_certificate");
	assert_non_null(strstr(msg, "extra bytes"));
	free(s);
	/*
	 * Non-zero unused bits in the signature BIT STRING: OpenSSL reads it
	 * and clears them, so the DER read is not the DER it would write.
	 */
	for (i = (size_t)derlen - 3; i > 0; i--)
		if (der[i] == 0x03 && der[i + 1] == (size_t)derlen - i - 2 &&
		    der[i + 2] == 0x00)
			break;
	assert_true(i > 0);
	der[i + 2] = 0x01;
	der[derlen - 1] |= 0x01;
	s = pem_block("CERTIFICATE", der, derlen);
	msg = read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "bad_certificate");
	assert_non_null(strstr(msg, "canonical"));
	free(s);
	/* Base64 of something that is not a certificate. */
	s = pem_block("CERTIFICATE", (const unsigned char *)"hello", 5);
	read_fail(s, strlen(s), RP_ERR_BAD_INPUT, "bad_certificate");
	free(s);
	free(der2);
	OPENSSL_free(der);

	free(pem);
	X509_free(x);
}

/* Base64 whose padding leaves non-zero bits is not the canonical text. */
static void
test_base64_pad_bits(void **state)
{
	X509		*x = NULL;
	unsigned char	*der = NULL;
	char		*pem = NULL, *eq;
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char	*c;
	int		 i, derlen;
	struct cert_info info;

	(void)state;
	/* ECDSA signatures vary in length: sign until there is padding. */
	for (i = 0; i < 64; i++) {
		x = leaf_new(4);
		name_add(x, "CN", i % 2 ? "pad" : "padd");
		leaf_sign(x);
		der = NULL;
		assert_true((derlen = i2d_X509(x, &der)) > 0);
		OPENSSL_free(der);
		if (derlen % 3 != 0)
			break;
		X509_free(x);
		x = NULL;
	}
	assert_non_null(x);
	pem = cert_pem(x);
	read_ok(pem, strlen(pem), &info);
	cert_info_free(&info);
	assert_non_null(eq = strchr(pem, '='));
	assert_non_null(c = strchr(b64, eq[-1]));
	eq[-1] = b64[(size_t)(c - b64) ^ 1];
	read_fail(pem, strlen(pem), RP_ERR_BAD_INPUT, "bad_certificate");
	free(pem);
	X509_free(x);
}

/* Serial numbers RFC 5280 forbids. */
static void
test_bad_serial(void **state)
{
	X509		*x;
	BIGNUM		*bn = NULL;

	(void)state;
	x = leaf_new(0);
	name_add(x, "CN", "Zero");
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_serial");

	x = leaf_new(42);
	assert_true(BN_hex2bn(&bn, "-2A") > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	name_add(x, "CN", "Negative");
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_serial");

	/* 21 bytes. */
	x = leaf_new(1);
	bn = NULL;
	assert_true(BN_hex2bn(&bn,
	    "010000000000000000000000000000000000000000") > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	name_add(x, "CN", "Long");
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_serial");
}

/* Attributes: repeated, with control characters, not UTF-8, too long. */
static void
test_bad_attributes(void **state)
{
	struct cert_info	 info;
	X509			*x;
	char			 big[300];
	char			*pem;
	const char		*msg;

	(void)state;
	x = leaf_new(5);
	name_add(x, "CN", "Twice");
	name_add(x, "serialNumber", "PNOSI-1234567890123");
	name_add(x, "serialNumber", "PNOSI-9999999999999");
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "duplicate_attribute");
	assert_non_null(strstr(msg, "serialNumber"));

	x = leaf_new(5);
	name_add(x, "CN", "Twice");
	name_add(x, "organizationIdentifier", "VATSI-12345678");
	name_add(x, "organizationIdentifier", "VATSI-12345678");
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "duplicate_attribute");
	assert_non_null(strstr(msg, "organizationIdentifier"));

	x = leaf_new(5);
	name_add(x, "CN", "One");
	name_add(x, "CN", "Two");
	leaf_fail(x, RP_ERR_BAD_INPUT, "duplicate_attribute");

	x = leaf_new(5);
	name_add(x, "CN", "\xc5\xa0pela\x01\xc4\x8cuk");
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	assert_non_null(strstr(msg, "commonName"));

	/* C1 control U+0085 and DEL. */
	x = leaf_new(5);
	name_add(x, "CN", "a\xc2\x85z");
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	x = leaf_new(5);
	name_add(x, "O", "a\x7fz");
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	assert_non_null(strstr(msg, "organizationName"));

	/* An embedded NUL. */
	x = leaf_new(5);
	name_add_raw(x, NID_commonName, V_ASN1_UTF8STRING, "ab\0cd", 5);
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");

	/*
	 * A UTF8String that is not UTF-8.  OpenSSL will not sign such a
	 * name, so the bytes are changed after signing.
	 */
	x = leaf_new(5);
	name_add(x, "CN", "a@@z");
	leaf_sign(x);
	pem = der_patch_pem(x, "a@@z", "a\xc3(z", 4);
	read_fail(pem, strlen(pem), RP_ERR_BAD_INPUT, "bad_certificate");
	free(pem);
	X509_free(x);

	/* A control character in an attribute only the DN shows: escaped. */
	x = leaf_new(5);
	name_add(x, "CN", "ok");
	name_add(x, "OU", "a\x01z");
	leaf_read(x, &info);
	assert_string_equal(info.subject, "OU=a\\01z,CN=ok");
	cert_info_free(&info);
	X509_free(x);

	/* commonName of 255 bytes fits, 256 does not. */
	memset(big, 'a', sizeof(big));
	x = leaf_new(5);
	name_add_raw(x, NID_commonName, V_ASN1_UTF8STRING, big,
	    RP_TEXT_MAX - 1);
	leaf_read(x, &info);
	assert_int_equal(strlen(info.common_name), RP_TEXT_MAX - 1);
	cert_info_free(&info);
	X509_free(x);
	x = leaf_new(5);
	name_add_raw(x, NID_commonName, V_ASN1_UTF8STRING, big, RP_TEXT_MAX);
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	assert_non_null(strstr(msg, "commonName"));

	/* serialNumber: 63 bytes fit, 64 do not. */
	x = leaf_new(5);
	name_add_raw(x, NID_serialNumber, V_ASN1_PRINTABLESTRING, big,
	    RP_LABEL_MAX);
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	assert_non_null(strstr(msg, "serialNumber"));
	x = leaf_new(5);
	name_add_raw(x, NID_serialNumber, V_ASN1_PRINTABLESTRING, big,
	    RP_LABEL_MAX - 1);
	leaf_read(x, &info);
	assert_int_equal(strlen(info.person_id), RP_LABEL_MAX - 1);
	cert_info_free(&info);
	X509_free(x);

	/* A commonName that is a BIT STRING, not a string of text. */
	x = leaf_new(5);
	name_add(x, "CN", "q@@q");
	leaf_sign(x);
	pem = der_patch_pem(x, "\x0c\x04q@@q", "\x03\x04\x00@@q", 6);
	msg = read_fail(pem, strlen(pem), RP_ERR_BAD_INPUT, "bad_attribute");
	assert_non_null(strstr(msg, "commonName"));
	free(pem);
	X509_free(x);
}

/* A SAN e-mail address with a control character or a space. */
static void
test_bad_san_email(void **state)
{
	static const char *const bad[] = { "a\x01@example.si",
	    "a b@example.si", "" };
	X509		*x;
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	ASN1_IA5STRING	*ia5;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = leaf_new(6);
		name_add(x, "CN", "San");
		assert_non_null(gens = GENERAL_NAMES_new());
		assert_non_null(g = GENERAL_NAME_new());
		assert_non_null(ia5 = ASN1_IA5STRING_new());
		assert_int_equal(ASN1_STRING_set(ia5, bad[i], -1), 1);
		GENERAL_NAME_set0_value(g, GEN_EMAIL, ia5);
		assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name,
		    gens, 0, X509V3_ADD_DEFAULT), 1);
		GENERAL_NAMES_free(gens);
		leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	}

	/* Two subjectAltName extensions. */
	x = leaf_new(6);
	name_add(x, "CN", "San");
	ext_add(x, NID_subject_alt_name, "email:a@example.si");
	ext_add(x, NID_subject_alt_name, "email:b@example.si");
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_certificate");
}

/* An extension OpenSSL knows that does not decode. */
static void
test_bad_extension(void **state)
{
	X509			*x;
	X509_EXTENSION		*ext;
	ASN1_OCTET_STRING	*os;
	const char		*msg;

	(void)state;
	x = leaf_new(10);
	name_add(x, "CN", "Bad keyUsage");
	/* A NULL where keyUsage has its BIT STRING. */
	assert_non_null(os = ASN1_OCTET_STRING_new());
	assert_int_equal(ASN1_OCTET_STRING_set(os,
	    (const unsigned char *)"\x05\x00", 2), 1);
	assert_non_null(ext = X509_EXTENSION_create_by_NID(NULL,
	    NID_key_usage, 1, os));
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "bad_certificate");
	assert_non_null(strstr(msg, "extensions"));
}

/* Key identifiers: 40 bytes fit, 41 do not. */
static void
test_aki_length(void **state)
{
	unsigned char		 id[41];
	AUTHORITY_KEYID		*akid;
	struct cert_info	 info;
	X509			*x;
	char			*pem;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(id); i++)
		id[i] = (unsigned char)(0xa0 + i % 16);
	for (i = 40; i <= 41; i++) {
		x = leaf_new(7);
		name_add(x, "CN", "Aki");
		assert_non_null(akid = AUTHORITY_KEYID_new());
		assert_non_null(akid->keyid = ASN1_OCTET_STRING_new());
		assert_int_equal(ASN1_OCTET_STRING_set(akid->keyid, id,
		    (int)i), 1);
		assert_int_equal(X509_add1_ext_i2d(x,
		    NID_authority_key_identifier, akid, 0,
		    X509V3_ADD_DEFAULT), 1);
		AUTHORITY_KEYID_free(akid);
		if (i == 41) {
			leaf_fail(x, RP_ERR_BAD_INPUT, "bad_certificate");
			continue;
		}
		leaf_sign(x);
		pem = cert_pem(x);
		read_ok(pem, strlen(pem), &info);
		assert_string_equal(info.aki, hex(id, 40, 1));
		cert_info_free(&info);
		free(pem);
		X509_free(x);
	}
}

/* Names: a DN over RP_DN_MAX, an empty issuer. */
static void
test_bad_names(void **state)
{
	struct cert_info	 info;
	X509			*x;
	X509_NAME		*empty;
	char			 ou[RP_DN_MAX];
	int			 i;
	const char		*msg;

	(void)state;
	/* "OU=" and 1020 bytes: 1023 fit, one more does not. */
	memset(ou, 'o', sizeof(ou));
	x = leaf_new(8);
	name_add_raw(x, NID_organizationalUnitName, V_ASN1_UTF8STRING, ou,
	    RP_DN_MAX - 4);
	leaf_read(x, &info);
	assert_int_equal(strlen(info.subject), RP_DN_MAX - 1);
	cert_info_free(&info);
	X509_free(x);
	x = leaf_new(8);
	name_add_raw(x, NID_organizationalUnitName, V_ASN1_UTF8STRING, ou,
	    RP_DN_MAX - 3);
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	assert_non_null(strstr(msg, "subject name"));

	/* Many attributes, each short. */
	x = leaf_new(8);
	for (i = 0; i < 11; i++)
		name_add_raw(x, NID_organizationalUnitName,
		    V_ASN1_UTF8STRING, ou, 100);
	msg = leaf_fail(x, RP_ERR_BAD_INPUT, "bad_attribute");
	assert_non_null(strstr(msg, "subject name"));

	x = leaf_new(8);
	name_add(x, "CN", "No issuer");
	assert_non_null(empty = X509_NAME_new());
	assert_int_equal(X509_set_issuer_name(x, empty), 1);
	X509_NAME_free(empty);
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_certificate");
}

/* notAfter must be after notBefore. */
static void
test_bad_validity(void **state)
{
	X509	*x;

	(void)state;
	x = leaf_new(9);
	name_add(x, "CN", "Backwards");
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), NA_S));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), NB_S));
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_validity");

	x = leaf_new(9);
	name_add(x, "CN", "Instant");
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), NB_S));
	leaf_fail(x, RP_ERR_BAD_INPUT, "bad_validity");
}

/* Runs x509_serial_norm on the NUL-terminated in. */
static enum rp_err
norm(const char *in, char out[RP_SERIAL_MAX])
{
	memset(out, 'Z', RP_SERIAL_MAX);
	return x509_serial_norm(in, strlen(in), out);
}

static void
test_serial_norm(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;
	} good[] = {
		{ "42:ba:82:33", "42BA8233" },
		{ "0042BA82 334F", "42BA82334F" },
		{ "0", "0" },
		{ "00", "0" },
		{ "0:0", "0" },
		{ "a", "A" },
		{ "00:0a", "A" },
		{ "4:2BA", "42BA" },
		{ "ab:CD ef", "ABCDEF" },
		{ "ffffffffffffffffffffffffffffffffffffffff",
		    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" },
		{ "00000000ffffffffffffffffffffffffffffffffffffffff",
		    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" },
	};
	static const char *const bad[] = {
		"", ":", " ", "::", "a::b", "a: b", ":ab", "ab:", " ab", "ab ",
		"0x1A", "-42", "12g4", "12\t34", "12-34", "\xc3\xa9",
		"1ffffffffffffffffffffffffffffffffffffffff",
	};
	char	 out[RP_SERIAL_MAX];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (norm(good[i].in, out) != RP_OK)
			fail_msg("refused \"%s\"", good[i].in);
		assert_string_equal(out, good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (norm(bad[i], out) != RP_ERR_BAD_INPUT)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_string_equal(out, "");
	}
	/* len, not the NUL, ends the text; a NUL inside is refused. */
	assert_int_equal(x509_serial_norm("12:34xyz", 5, out), RP_OK);
	assert_string_equal(out, "1234");
	assert_int_equal(x509_serial_norm("12\0", 3, out), RP_ERR_BAD_INPUT);
	assert_int_equal(x509_serial_norm(NULL, 0, out), RP_ERR_BAD_INPUT);
	/* Idempotent. */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(norm(good[i].want, out), RP_OK);
		assert_string_equal(out, good[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_info_same_as_pem),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_san_email),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_white_space),
		cmocka_unit_test(test_not_pem),
		cmocka_unit_test(test_not_certificate),
		cmocka_unit_test(test_surroundings),
		cmocka_unit_test(test_bad_block),
		cmocka_unit_test(test_base64_pad_bits),
		cmocka_unit_test(test_bad_serial),
		cmocka_unit_test(test_bad_attributes),
		cmocka_unit_test(test_bad_san_email),
		cmocka_unit_test(test_bad_extension),
		cmocka_unit_test(test_aki_length),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_bad_validity),
		cmocka_unit_test(test_serial_norm),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
