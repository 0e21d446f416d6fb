/*
 * A recovery's PKCS#10 certificate request (RFC 2986), from the new
 * device: what the portal checks before it stores one with a request and
 * before the relay hands it to the CA.
 *
 * The text must be exactly one PEM block "CERTIFICATE REQUEST" (or the
 * older "NEW CERTIFICATE REQUEST"), with nothing but white space around
 * it, no PEM headers, and a body that is the DER of one request and
 * nothing more (BER that re-encodes differently is refused: the hash the
 * signer signs names the bytes the CA receives).  Then:
 *
 *	proof of possession	the request verifies under its own key
 *	key strength		RSA 2048 to 16384 bits, or EC P-256, P-384,
 *				P-521, as for signers (sig.c); signed with
 *				SHA-256 or stronger
 *	same subscriber data	the subject equals the old certificate's:
 *				X509_NAME_cmp() of the canonical encodings,
 *				so the same attributes in the same order
 *				with the same values; a PrintableString
 *				against a UTF8String, letter case and runs of
 *				white space do not count (RFC 5280 7.1)
 *	a new key		not the old certificate's key
 *
 * Refusals are RP_ERR_BAD_INPUT with the codes csr_invalid, csr_pop,
 * csr_key_weak, csr_subject and csr_same_key and a sentence for people.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"

#define CSR_RSA_MIN_BITS	2048
#define CSR_RSA_MAX_BITS	16384

/* Returns 1 when s[0..len) holds only white space (or nothing). */
static int
csr_blank(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return 0;
	return 1;
}

/*
 * Parses pem (len bytes) as one PEM certificate request: see the top of
 * the file.  Returns RP_OK with the request in *reqp (X509_REQ_free() it)
 * and its DER in *der (*derlen bytes, OPENSSL_free() it); else
 * RP_ERR_BAD_INPUT ("csr_invalid") or RP_ERR_NOMEM with ei filled and
 * nothing to free.
 */
static enum rp_err
csr_parse(const char *pem, size_t len, X509_REQ **reqp, unsigned char **der,
    long *derlen, struct rp_errinfo *ei)
{
	enum rp_err		 e = RP_ERR_BAD_INPUT;
	BIO			*bio = NULL;
	X509_REQ		*req = NULL;
	char			*name = NULL, *header = NULL;
	unsigned char		*data = NULL, *again = NULL;
	const unsigned char	*p;
	char			 rest[64];
	long			 dlen = 0;
	size_t			 skip;
	int			 n, alen;

	*reqp = NULL;
	*der = NULL;
	*derlen = 0;
	if (pem == NULL || len == 0) {
		(void)rp_fail(ei, RP_ERR_BAD_INPUT, "csr_invalid",
		    "The certificate request is empty.");
		goto out;
	}
	if (len > CSR_PEM_MAX || len > INT32_MAX) {
		(void)rp_fail(ei, RP_ERR_BAD_INPUT, "csr_invalid",
		    "The certificate request is longer than %u bytes.",
		    CSR_PEM_MAX);
		goto out;
	}
	if (memchr(pem, '\0', len) != NULL)
		goto bad;
	/* PEM_read_bio() skips text before the block: none is allowed. */
	for (skip = 0; skip < len && csr_blank(pem + skip, 1); skip++)
		continue;
	if (len - skip < 11 || memcmp(pem + skip, "-----BEGIN ", 11) != 0)
		goto bad;
	if ((bio = BIO_new_mem_buf(pem + skip, (int)(len - skip))) == NULL) {
		e = rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
		goto out;
	}
	if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1 ||
	    (strcmp(name, PEM_STRING_X509_REQ) != 0 &&
	    strcmp(name, PEM_STRING_X509_REQ_OLD) != 0) ||
	    header[0] != '\0' || dlen <= 0)
		goto bad;
	/* After the block: white space only (a second block is refused). */
	while ((n = BIO_read(bio, rest, sizeof(rest))) > 0)
		if (!csr_blank(rest, (size_t)n))
			goto bad;
	p = data;
	if ((req = d2i_X509_REQ(NULL, &p, dlen)) == NULL || p != data + dlen)
		goto bad;
	/* DER as sent, not BER that OpenSSL would write otherwise. */
	if ((alen = i2d_X509_REQ(req, &again)) != dlen ||
	    memcmp(again, data, (size_t)dlen) != 0)
		goto bad;
	*reqp = req;
	*der = data;
	*derlen = dlen;
	data = NULL;
	e = RP_OK;
	goto out;
bad:
	(void)rp_fail(ei, RP_ERR_BAD_INPUT, "csr_invalid",
	    "This is not one PKCS#10 certificate request in PEM form "
	    "(-----BEGIN CERTIFICATE REQUEST-----).");
	X509_REQ_free(req);
	req = NULL;
out:
	OPENSSL_free(again);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return e;
}

/*
 * Checks the key of req and the digest of its self-signature: see the top
 * of the file.  Returns RP_OK or RP_ERR_BAD_INPUT ("csr_key_weak",
 * "csr_invalid" for a weak digest) with ei filled.
 */
static enum rp_err
csr_strength(X509_REQ *req, EVP_PKEY *pk, struct rp_errinfo *ei)
{
	char	 group[64];
	size_t	 glen;
	int	 type, bits, signid, mdnid, pknid;

	type = EVP_PKEY_get_base_id(pk);
	if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits < CSR_RSA_MIN_BITS || bits > CSR_RSA_MAX_BITS)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "csr_key_weak",
			    "The new key is RSA with %d bits; at least %d are "
			    "needed.", bits, CSR_RSA_MIN_BITS);
	} else if (type == EVP_PKEY_EC) {
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group),
		    &glen) != 1 || (strcmp(group, SN_X9_62_prime256v1) != 0 &&
		    strcmp(group, SN_secp384r1) != 0 &&
		    strcmp(group, SN_secp521r1) != 0))
			return rp_fail(ei, RP_ERR_BAD_INPUT, "csr_key_weak",
			    "The new key is on an elliptic curve other than "
			    "P-256, P-384 or P-521.");
	} else
		return rp_fail(ei, RP_ERR_BAD_INPUT, "csr_key_weak",
		    "The new key must be RSA (2048 bits or more) or ECDSA "
		    "(P-256, P-384 or P-521).");

	signid = X509_REQ_get_signature_nid(req);
	if (signid == NID_rsassaPss)
		return RP_OK;	/* its digest is in the parameters */
	if (OBJ_find_sigid_algs(signid, &mdnid, &pknid) != 1 ||
	    (mdnid != NID_sha256 && mdnid != NID_sha384 &&
	    mdnid != NID_sha512 && mdnid != NID_sha3_256 &&
	    mdnid != NID_sha3_384 && mdnid != NID_sha3_512))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "csr_invalid",
		    "The certificate request must be signed with SHA-256 "
		    "or stronger.");
	return RP_OK;
}

/* Reads the certificate in pem; NULL when it is not one.  X509_free(). */
static X509 *
csr_old_cert(const char *pem)
{
	BIO	*bio;
	X509	*x;
	size_t	 len;

	if (pem == NULL || (len = strlen(pem)) == 0 || len > RP_PEM_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return x;
}

/* Writes the lower-case hex SHA-256 of p (len bytes) into out. */
static int
csr_sha256(const unsigned char *p, size_t len, char out[65])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[32];
	unsigned int		 mdlen = 0;
	size_t			 i;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return -1;
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	return 0;
}

/*
 * Checks the recovery request pem (len bytes, need not be terminated)
 * against the old certificate (old_cert_pem, the registry's PEM): one
 * PEM request, proof of possession, key strength, the same subject and a
 * new key (see the top of the file).  On RP_OK sha256 holds the
 * lower-case hex SHA-256 of the request's DER, what the signed document
 * names; otherwise it is "" and ei says why: RP_ERR_BAD_INPUT with
 * "csr_invalid", "csr_pop", "csr_key_weak", "csr_subject" or
 * "csr_same_key"; RP_ERR_INTERNAL when the old certificate cannot be
 * read; RP_ERR_NOMEM.  Nothing to free.
 */
enum rp_err
csr_check(const char *pem, size_t len, const char *old_cert_pem,
    char sha256[65], struct rp_errinfo *ei)
{
	X509_REQ	*req = NULL;
	X509		*old = NULL;
	EVP_PKEY	*pk, *oldpk;
	X509_NAME	*subj;
	unsigned char	*der = NULL;
	long		 derlen = 0;
	enum rp_err	 e;

	sha256[0] = '\0';
	if ((e = csr_parse(pem, len, &req, &der, &derlen, ei)) != RP_OK)
		goto out;
	if ((old = csr_old_cert(old_cert_pem)) == NULL ||
	    (oldpk = X509_get0_pubkey(old)) == NULL) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "csr_old_cert",
		    "cannot read the certificate to be recovered");
		goto out;
	}
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "csr_invalid",
		    "The certificate request carries no usable public key.");
		goto out;
	}
	if (X509_REQ_verify(req, pk) != 1) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "csr_pop",
		    "The certificate request is not signed with its own key: "
		    "make it again on the new device.");
		goto out;
	}
	if ((e = csr_strength(req, pk, ei)) != RP_OK)
		goto out;
	subj = X509_REQ_get_subject_name(req);
	if (subj == NULL || X509_NAME_entry_count(subj) == 0 ||
	    X509_NAME_cmp(subj, X509_get_subject_name(old)) != 0) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "csr_subject",
		    "The subject of the certificate request differs from "
		    "the certificate's: a recovery keeps the same subscriber "
		    "data, attribute by attribute and in the same order.");
		goto out;
	}
	if (EVP_PKEY_eq(pk, oldpk) == 1) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "csr_same_key",
		    "The certificate request is for the key of the old "
		    "certificate: a recovery needs a new key.");
		goto out;
	}
	if (csr_sha256(der, (size_t)derlen, sha256) == -1) {
		sha256[0] = '\0';
		e = rp_fail(ei, RP_ERR_INTERNAL, "digest", "no SHA-256");
		goto out;
	}
	e = RP_OK;
out:
	OPENSSL_free(der);
	X509_free(old);
	X509_REQ_free(req);
	return e;
}

/*
 * Checks that the certificate cert_pem (certlen bytes) the CA issued for
 * the request csr_pem (terminated) carries the request's public key.
 * Returns RP_OK; RP_ERR_BAD_INPUT "issued_mismatch" when it does not or
 * either cannot be read.  Nothing to free.
 */
enum rp_err
csr_issued_check(const char *csr_pem, const char *cert_pem, size_t certlen,
    struct rp_errinfo *ei)
{
	BIO		*bio = NULL;
	X509		*x = NULL;
	X509_REQ	*req = NULL;
	EVP_PKEY	*a, *b;
	size_t		 len;
	enum rp_err	 e = RP_ERR_BAD_INPUT;

	if (csr_pem == NULL || cert_pem == NULL || certlen == 0 ||
	    certlen > RP_PEM_MAX || (len = strlen(csr_pem)) == 0 ||
	    len > CSR_PEM_MAX)
		goto out;
	if ((bio = BIO_new_mem_buf(csr_pem, (int)len)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	BIO_free(bio);
	if ((bio = BIO_new_mem_buf(cert_pem, (int)certlen)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	if ((a = X509_REQ_get0_pubkey(req)) != NULL &&
	    (b = X509_get0_pubkey(x)) != NULL && EVP_PKEY_eq(a, b) == 1)
		e = RP_OK;
out:
	BIO_free(bio);
	X509_free(x);
	X509_REQ_free(req);
	if (e != RP_OK)
		return rp_fail(ei, e, "issued_mismatch", "the certificate the "
		    "CA issued does not carry the key of the request");
	return RP_OK;
}
