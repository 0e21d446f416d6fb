/*
 * Keys, certificates and certificate requests made with OpenSSL for the
 * unit tests of a recovery (csr.c, lifecycle.c, outbox.c), fresh for each
 * run.  Include after unit.h, and after unit_db.h for ucsr_import().
 * Each function fails the test on any OpenSSL error; the strings it
 * returns are malloc'ed and the caller frees them.
 */
#ifndef REVPORTAL_UNIT_CSR_H
#define REVPORTAL_UNIT_CSR_H

#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A new EC key on the named curve ("P-256"); EVP_PKEY_free() it. */
static inline EVP_PKEY *
ucsr_ec_key(const char *curve)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	assert_non_null(k);
	return k;
}

/*
 * A subscriber's subject, each value a UTF8String: C=SI,
 * [organizationIdentifier=org,] serialNumber=pid, CN=cn.
 */
static inline X509_NAME *
ucsr_name(const char *pid, const char *org, const char *cn)
{
	X509_NAME	*n = X509_NAME_new();

	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8,
	    (const unsigned char *)"SI", -1, -1, 0), 1);
	if (org != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(n,
		    "organizationIdentifier", MBSTRING_UTF8,
		    (const unsigned char *)org, -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "serialNumber",
	    MBSTRING_UTF8, (const unsigned char *)pid, -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	return n;
}

/* The text a memory bio holds as a string; the bio is freed. */
static inline char *
ucsr_text(BIO *bio)
{
	char	*p, *s;
	long	 n;

	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(bio);
	return s;
}

/*
 * The PEM of a certificate for key with subject n (freed here) and the
 * serial number given, signed by itself with SHA-256, valid from nb to
 * na (milliseconds since the epoch).
 */
static inline char *
ucsr_cert(EVP_PKEY *key, X509_NAME *n, long serial, int64_t nb, int64_t na)
{
	X509	*x = X509_new();
	BIO	*bio = BIO_new(BIO_s_mem());

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
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	X509_free(x);
	X509_NAME_free(n);
	return ucsr_text(bio);
}

/*
 * The PEM of a PKCS#10 request for key with subject n (freed here),
 * signed with md (NULL for a key that takes none, such as Ed25519).
 */
static inline char *
ucsr_req(EVP_PKEY *key, X509_NAME *n, const EVP_MD *md)
{
	X509_REQ	*r = X509_REQ_new();
	BIO		*bio = BIO_new(BIO_s_mem());

	assert_non_null(r);
	assert_non_null(bio);
	assert_int_equal(X509_REQ_set_version(r, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	assert_true(X509_REQ_sign(r, key, md) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(bio, r), 1);
	X509_REQ_free(r);
	X509_NAME_free(n);
	return ucsr_text(bio);
}

#ifdef REVPORTAL_UNIT_DB_H
/*
 * Registers certificate pem in t's database as of type ty for a term of
 * 5 years, imported at now by "admin:test", and returns its row.
 */
static inline int64_t
ucsr_import(struct udb *t, const char *pem, enum cert_type ty, int64_t now)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	int64_t			 id = 0;

	memset(&ci, 0, sizeof(ci));
	if (x509_read_pem(pem, strlen(pem), &ci, &ei) != RP_OK)
		fail_msg("x509_read_pem: %s %s", ei.code, ei.msg);
	memset(&ri, 0, sizeof(ri));
	ri.type = ty;
	ri.term_years = 5;
	ri.actor = "admin:test";
	ri.now = now;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import: %s %s", ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
	cert_info_free(&ci);
	return id;
}
#endif /* REVPORTAL_UNIT_DB_H */

#endif /* REVPORTAL_UNIT_CSR_H */
