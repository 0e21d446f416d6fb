/*
 * Tests of csr.c: a recovery's PKCS#10 request.  Keys, requests and the
 * old certificate are made here with OpenSSL, fresh for each run: one
 * good request, then one test per refusal (bad self-signature, weak key
 * or digest, another subject, the old key) and per malformed input
 * (garbage, truncated, two blocks, a certificate, empty, text around the
 * block, PEM headers, BER).
 */
#include "unit.h"
#include "unit_csr.h"

#include <openssl/rsa.h>

struct fix {
	EVP_PKEY	*old_key;	/* the old certificate's, P-256 */
	EVP_PKEY	*new_key;	/* the new device's, P-256 */
	char		*old_pem;	/* the old certificate */
	char		*good;		/* a request for new_key, same subject */
};

static struct fix	 fx;

static EVP_PKEY *
rsa_key(size_t bits)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);

	assert_non_null(k);
	return k;
}

/*
 * The subject: C=SI, serialNumber=PNOSI-1001, CN=<cn>, each a UTF8String
 * unless printable is set; swapped puts CN before serialNumber.
 */
static X509_NAME *
name(const char *cn, int printable, int swapped)
{
	X509_NAME	*n = X509_NAME_new();
	int		 t = printable ? V_ASN1_PRINTABLESTRING : MBSTRING_UTF8;

	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "C",
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)"SI", -1, -1, 0), 1);
	if (swapped)
		assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", t,
		    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "serialNumber",
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)"PNOSI-1001", -1,
	    -1, 0), 1);
	if (!swapped)
		assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", t,
		    (const unsigned char *)cn, -1, -1, 0), 1);
	return n;
}

/*
 * A self-signed certificate for key with subject n (freed here), valid
 * for a day from now.
 */
static char *
cert_pem(EVP_PKEY *key, X509_NAME *n)
{
	int64_t	 now = (int64_t)time(NULL) * 1000;

	return ucsr_cert(key, n, 4242, now, now + 86400 * 1000LL);
}

/* PEM of der (len bytes) under label, malloc'ed. */
static char *
der_pem(const char *label, const unsigned char *der, long len)
{
	BIO	*bio = BIO_new(BIO_s_mem());

	assert_non_null(bio);
	assert_true(PEM_write_bio(bio, label, "", der, len) > 0);
	return ucsr_text(bio);
}

/* The DER of request PEM s (malloc'ed), its length in *len. */
static unsigned char *
req_der(const char *s, long *len)
{
	BIO		*bio = BIO_new_mem_buf(s, -1);
	char		*nm = NULL, *hd = NULL;
	unsigned char	*d = NULL, *copy;

	assert_non_null(bio);
	assert_int_equal(PEM_read_bio(bio, &nm, &hd, &d, len), 1);
	copy = malloc((size_t)*len);
	assert_non_null(copy);
	memcpy(copy, d, (size_t)*len);
	OPENSSL_free(nm);
	OPENSSL_free(hd);
	OPENSSL_free(d);
	BIO_free(bio);
	return copy;
}

static int
setup(void **state)
{
	(void)state;
	fx.old_key = ucsr_ec_key("P-256");
	fx.new_key = ucsr_ec_key("P-256");
	fx.old_pem = cert_pem(fx.old_key, name("Ana Novak", 0, 0));
	fx.good = ucsr_req(fx.new_key, name("Ana Novak", 0, 0), EVP_sha256());
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx.old_key);
	EVP_PKEY_free(fx.new_key);
	free(fx.old_pem);
	free(fx.good);
	return 0;
}

/* csr_check() on s; the error's code, NULL on success (sha256 in sha). */
static const char *
check(const char *s, size_t len, char sha[65])
{
	static struct rp_errinfo	 ei;
	enum rp_err			 e;

	memset(&ei, 0, sizeof(ei));
	memset(sha, 'x', 65);
	e = csr_check(s, len, fx.old_pem, sha, &ei);
	if (e == RP_OK) {
		assert_int_equal(strlen(sha), 64);
		return NULL;
	}
	assert_string_equal(sha, "");
	assert_int_equal(e, RP_ERR_BAD_INPUT);
	assert_non_null(ei.code);
	/* A sentence for people. */
	assert_true(strlen(ei.msg) > 20);
	return ei.code;
}

static void
expect(const char *s, size_t len, const char *code)
{
	char		 sha[65];
	const char	*got = check(s, len, sha);

	if (got == NULL)
		fail_msg("accepted, expected %s", code);
	assert_string_equal(got, code);
}

/* The good request passes and its hash is the SHA-256 of its DER. */
static void
test_good(void **state)
{
	unsigned char	 md[32];
	unsigned char	*der;
	char		 sha[65], hex[65];
	unsigned int	 mdlen;
	long		 len;
	size_t		 i;

	(void)state;
	assert_null(check(fx.good, strlen(fx.good), sha));
	der = req_der(fx.good, &len);
	assert_int_equal(EVP_Digest(der, (size_t)len, md, &mdlen,
	    EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(sha, hex);
	free(der);
}

/* The length is honoured: the text need not be terminated. */
static void
test_length_bound(void **state)
{
	char	*s, sha[65];
	size_t	 len = strlen(fx.good);

	(void)state;
	s = malloc(len + 10);
	assert_non_null(s);
	memcpy(s, fx.good, len);
	memcpy(s + len, "GARBAGE!!!", 10);
	assert_null(check(s, len, sha));
	expect(s, len + 10, "csr_invalid");
	/* Trailing white space is fine. */
	memcpy(s + len, "\n\n  \r\n\t   ", 10);
	assert_null(check(s, len + 10, sha));
	/* But not a NUL. */
	s[len + 9] = '\0';
	expect(s, len + 10, "csr_invalid");
	free(s);
}

/* RSA 2048, P-384 and P-521 are accepted; an attribute of another
 * string type or case is not the same subject (the new certificate would
 * carry it): refused. */
static void
test_other_keys_exact_names(void **state)
{
	EVP_PKEY	*k;
	char		*s, sha[65];

	(void)state;
	k = rsa_key(2048);
	s = ucsr_req(k, name("Ana Novak", 0, 0), EVP_sha256());
	assert_null(check(s, strlen(s), sha));
	free(s);
	EVP_PKEY_free(k);
	k = ucsr_ec_key("P-384");
	s = ucsr_req(k, name("Ana Novak", 0, 0), EVP_sha384());
	assert_null(check(s, strlen(s), sha));
	free(s);
	EVP_PKEY_free(k);
	k = ucsr_ec_key("P-521");
	s = ucsr_req(k, name("Ana Novak", 0, 0), EVP_sha512());
	assert_null(check(s, strlen(s), sha));
	free(s);
	s = ucsr_req(k, name("ANA  novak", 1, 0), EVP_sha512());
	expect(s, strlen(s), "csr_subject");
	free(s);
	EVP_PKEY_free(k);
}

/* A self-signature that does not verify: one bit of it flipped. */
static void
test_pop(void **state)
{
	unsigned char	*der;
	char		*s;
	long		 len;

	(void)state;
	der = req_der(fx.good, &len);
	/* The signature's BIT STRING ends the DER. */
	der[len - 3] ^= 0x01;
	s = der_pem("CERTIFICATE REQUEST", der, len);
	expect(s, strlen(s), "csr_pop");
	free(s);
	free(der);
}

/* The key is signed over another subject: also no proof. */
static void
test_pop_swapped_key(void **state)
{
	X509_REQ	*r;
	BIO		*bio;
	EVP_PKEY	*other = ucsr_ec_key("P-256");
	char		*s;

	(void)state;
	bio = BIO_new_mem_buf(fx.good, -1);
	r = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	assert_non_null(r);
	BIO_free(bio);
	/* Signed with new_key, but claims other's public key. */
	assert_int_equal(X509_REQ_set_pubkey(r, other), 1);
	assert_true(X509_REQ_sign(r, fx.new_key, EVP_sha256()) > 0);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509_REQ(bio, r), 1);
	s = ucsr_text(bio);
	expect(s, strlen(s), "csr_pop");
	free(s);
	X509_REQ_free(r);
	EVP_PKEY_free(other);
}

static void
test_key_weak(void **state)
{
	EVP_PKEY	*k;
	char		*s;

	(void)state;
	k = rsa_key(1024);
	s = ucsr_req(k, name("Ana Novak", 0, 0), EVP_sha256());
	expect(s, strlen(s), "csr_key_weak");
	free(s);
	EVP_PKEY_free(k);
	k = ucsr_ec_key("P-224");
	s = ucsr_req(k, name("Ana Novak", 0, 0), EVP_sha256());
	expect(s, strlen(s), "csr_key_weak");
	free(s);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	s = ucsr_req(k, name("Ana Novak", 0, 0), NULL);
	expect(s, strlen(s), "csr_key_weak");
	free(s);
	EVP_PKEY_free(k);
}

/* Signed with SHA-1: refused as a request (the key is fine). */
static void
test_sha1(void **state)
{
	char	*s;

	(void)state;
	s = ucsr_req(fx.new_key, name("Ana Novak", 0, 0), EVP_sha1());
	expect(s, strlen(s), "csr_invalid");
	free(s);
}

static void
test_subject(void **state)
{
	char		*s;
	X509_NAME	*n;

	(void)state;
	s = ucsr_req(fx.new_key, name("Ana Novakova", 0, 0), EVP_sha256());
	expect(s, strlen(s), "csr_subject");
	free(s);
	/* The same attributes in another order. */
	s = ucsr_req(fx.new_key, name("Ana Novak", 0, 1), EVP_sha256());
	expect(s, strlen(s), "csr_subject");
	free(s);
	/* One attribute more. */
	n = name("Ana Novak", 0, 0);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Firma", -1, -1, 0), 1);
	s = ucsr_req(fx.new_key, n, EVP_sha256());
	expect(s, strlen(s), "csr_subject");
	free(s);
	/* None at all. */
	s = ucsr_req(fx.new_key, X509_NAME_new(), EVP_sha256());
	expect(s, strlen(s), "csr_subject");
	free(s);
}

static void
test_same_key(void **state)
{
	char	*s;

	(void)state;
	s = ucsr_req(fx.old_key, name("Ana Novak", 0, 0), EVP_sha256());
	expect(s, strlen(s), "csr_same_key");
	free(s);
}

static void
test_malformed(void **state)
{
	static const char	 junk[] = "\x30\x82\x01\x00 not PEM at all";
	char			*s, *two, *cert;
	size_t			 len = strlen(fx.good);

	(void)state;
	expect("", 0, "csr_invalid");
	expect(NULL, 0, "csr_invalid");
	expect(junk, sizeof(junk) - 1, "csr_invalid");
	expect("-----BEGIN CERTIFICATE REQUEST-----\n"
	    "-----END CERTIFICATE REQUEST-----\n", 70, "csr_invalid");
	/* Truncated: half of it, and all but the END line. */
	expect(fx.good, len / 2, "csr_invalid");
	expect(fx.good, len - 35, "csr_invalid");
	/* Two blocks. */
	two = malloc(2 * len + 1);
	assert_non_null(two);
	memcpy(two, fx.good, len);
	memcpy(two + len, fx.good, len + 1);
	expect(two, 2 * len, "csr_invalid");
	/* Text before the block. */
	memcpy(two, "hello\n", 6);
	memcpy(two + 6, fx.good, len + 1);
	expect(two, len + 6, "csr_invalid");
	/* A NUL inside. */
	memcpy(two, fx.good, len + 1);
	two[len / 2] = '\0';
	expect(two, len, "csr_invalid");
	free(two);
	/* A certificate instead of a request. */
	cert = cert_pem(fx.new_key, name("Ana Novak", 0, 0));
	expect(cert, strlen(cert), "csr_invalid");
	free(cert);
	/* The request's DER under a certificate's label. */
	s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, fx.good, len + 1);
	memcpy(s + 11, "CERTIFICATE-REQUEST", 19);
	expect(s, len, "csr_invalid");
	free(s);
}

/* PEM headers, bytes after the DER inside the block, BER lengths. */
static void
test_encoding(void **state)
{
	unsigned char	*der, *ber;
	char		*s, hdr[8192];
	long		 len;
	int		 n;

	(void)state;
	der = req_der(fx.good, &len);
	n = snprintf(hdr, sizeof(hdr), "-----BEGIN CERTIFICATE REQUEST-----\n"
	    "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n%s",
	    strchr(fx.good, '\n') + 1);
	assert_true(n > 0 && (size_t)n < sizeof(hdr));
	expect(hdr, (size_t)n, "csr_invalid");

	ber = malloc((size_t)len + 1);
	assert_non_null(ber);
	memcpy(ber, der, (size_t)len);
	ber[len] = 0;
	s = der_pem("CERTIFICATE REQUEST", ber, len + 1);
	expect(s, strlen(s), "csr_invalid");
	free(s);
	free(ber);

	/* The outer length in a longer form than DER's: a zero byte more. */
	assert_true(der[1] == 0x81 || der[1] == 0x82);
	ber = malloc((size_t)len + 1);
	assert_non_null(ber);
	ber[0] = 0x30;
	ber[1] = (unsigned char)(der[1] + 1);
	ber[2] = 0;
	memcpy(ber + 3, der + 2, (size_t)len - 2);
	s = der_pem("CERTIFICATE REQUEST", ber, len + 1);
	expect(s, strlen(s), "csr_invalid");
	free(s);
	free(ber);

	/* The older label is accepted. */
	s = der_pem("NEW CERTIFICATE REQUEST", der, len);
	assert_null(check(s, strlen(s), hdr));
	free(s);
	free(der);
}

static void
test_too_long(void **state)
{
	char	*s;
	size_t	 len = strlen(fx.good);

	(void)state;
	s = malloc(CSR_PEM_MAX + 1);
	assert_non_null(s);
	memcpy(s, fx.good, len);
	memset(s + len, ' ', CSR_PEM_MAX + 1 - len);
	expect(s, CSR_PEM_MAX + 1, "csr_invalid");
	free(s);
}

/* The old certificate unreadable: the portal's fault, not the user's. */
static void
test_old_cert_unreadable(void **state)
{
	struct rp_errinfo	 ei;
	char			 sha[65];

	(void)state;
	assert_int_equal(csr_check(fx.good, strlen(fx.good), "garbage", sha,
	    &ei), RP_ERR_INTERNAL);
	assert_string_equal(sha, "");
	assert_int_equal(csr_check(fx.good, strlen(fx.good), NULL, sha,
	    NULL), RP_ERR_INTERNAL);
}

/* The CA's certificate must carry the request's key. */
static void
test_issued_check(void **state)
{
	struct rp_errinfo	 ei;
	char			*good, *bad;

	(void)state;
	good = cert_pem(fx.new_key, name("Ana Novak", 0, 0));
	bad = cert_pem(fx.old_key, name("Ana Novak", 0, 0));
	assert_int_equal(csr_issued_check(fx.good, good, strlen(good), &ei),
	    RP_OK);
	assert_int_equal(csr_issued_check(fx.good, bad, strlen(bad), &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "issued_mismatch");
	assert_int_equal(csr_issued_check(fx.good, "junk", 4, &ei),
	    RP_ERR_BAD_INPUT);
	assert_int_equal(csr_issued_check(fx.good, good, 0, &ei),
	    RP_ERR_BAD_INPUT);
	assert_int_equal(csr_issued_check("junk", good, strlen(good), &ei),
	    RP_ERR_BAD_INPUT);
	assert_int_equal(csr_issued_check(NULL, good, strlen(good), NULL),
	    RP_ERR_BAD_INPUT);
	free(good);
	free(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_length_bound),
		cmocka_unit_test(test_other_keys_exact_names),
		cmocka_unit_test(test_pop),
		cmocka_unit_test(test_pop_swapped_key),
		cmocka_unit_test(test_key_weak),
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_same_key),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_old_cert_unreadable),
		cmocka_unit_test(test_issued_check),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
