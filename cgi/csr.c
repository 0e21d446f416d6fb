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
 *				SHA-256 or stronger (RSA-PSS: its hash and
 *				its MGF1 hash both, read from the
 *				parameters; absent ones mean SHA-1)
 *	same subscriber data	the subject is the old certificate's, byte
 *				for byte (the DER of the two names): the
 *				same attributes in the same order with the
 *				same values and string types.  Letter case,
 *				runs of white space or a UTF8String for a
 *				PrintableString are refused, since the CA
 *				may copy the request's subject as it is.  A
 *				subscriber makes the request from the old
 *				certificate's subject (openssl x509
 *				-x509toreq, or req -subj with the types the
 *				CA used: cfssl writes PrintableString
 *				wherever it can)
 *	requested extensions	none, but a subjectAltName whose value is
 *				the DER of the old certificate's (none when
 *				it has none): cfssl copies a request's names
 *				into the certificate unless told otherwise.
 *				One extensionRequest attribute (or
 *				Microsoft's older one) at most, holding
 *				exactly one DER list of extensions; other
 *				attributes are not read by the CAs and are
 *				let through
 *	a new key		not the old certificate's key
 *
 * Refusals are RP_ERR_BAD_INPUT with the codes csr_invalid, csr_pop,
 * csr_key_weak, csr_subject, csr_extensions and csr_same_key and a
 * sentence for people.
 *
 * The relay checks what the CA issued for the request
 * (csr_successor_check()): the request's key and the old certificate's
 * subjectAltName, DER for DER.  Its subject is not compared: cfssl
 * writes the names it knows anew and drops organizationIdentifier.  And
 * csr_san_hosts() gives cfssl the old certificate's names as its
 * "hosts", the only way to keep cfssl from copying the request's.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* Returns 1 for a digest of SHA-256 strength or more, else 0. */
static int
csr_md_strong(int nid)
{
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512 ||
	    nid == NID_sha3_256 || nid == NID_sha3_384 || nid == NID_sha3_512;
}

/*
 * Returns 1 when the RSA-PSS parameters of req's signature name a strong
 * hash (csr_md_strong()) and MGF1 with a strong hash, else 0.  Absent
 * parameters mean SHA-1 (RFC 4055), so they are refused.
 */
static int
csr_pss_strong(const X509_REQ *req)
{
	const X509_ALGOR	*alg = NULL;
	RSA_PSS_PARAMS		*pss = NULL;
	X509_ALGOR		*mgfmd = NULL;
	int			 ok = 0;

	X509_REQ_get0_signature(req, NULL, &alg);
	if (alg == NULL || alg->parameter == NULL ||
	    (pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS),
	    alg->parameter)) == NULL)
		goto out;
	if (pss->hashAlgorithm == NULL ||
	    !csr_md_strong(OBJ_obj2nid(pss->hashAlgorithm->algorithm)))
		goto out;
	if (pss->maskGenAlgorithm == NULL ||
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 ||
	    pss->maskGenAlgorithm->parameter == NULL ||
	    (mgfmd = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
	    pss->maskGenAlgorithm->parameter)) == NULL ||
	    !csr_md_strong(OBJ_obj2nid(mgfmd->algorithm)))
		goto out;
	ok = 1;
out:
	X509_ALGOR_free(mgfmd);
	RSA_PSS_PARAMS_free(pss);
	return ok;
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
	if (signid == NID_rsassaPss) {
		/* Its digests are in the parameters. */
		if (!csr_pss_strong(req))
			return rp_fail(ei, RP_ERR_BAD_INPUT, "csr_invalid",
			    "The certificate request is signed with RSA-PSS "
			    "without SHA-256 or stronger for both its hash "
			    "and its mask (MGF1).");
		return RP_OK;
	}
	if (OBJ_find_sigid_algs(signid, &mdnid, &pknid) != 1 ||
	    !csr_md_strong(mdnid))
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
 * Points *p and *len at the value of x's subjectAltName extension (the
 * DER of its GeneralNames, borrowed from x); *p is NULL when x has none.
 * Returns 0, or -1 when x has two or the extension is unreadable.
 */
static int
csr_cert_san(const X509 *x, const unsigned char **p, int *len)
{
	X509_EXTENSION		*ext;
	ASN1_OCTET_STRING	*v;
	int			 i;

	*p = NULL;
	*len = 0;
	if ((i = X509_get_ext_by_NID(x, NID_subject_alt_name, -1)) < 0)
		return 0;
	if (X509_get_ext_by_NID(x, NID_subject_alt_name, i) >= 0 ||
	    (ext = X509_get_ext(x, i)) == NULL ||
	    (v = X509_EXTENSION_get_data(ext)) == NULL)
		return -1;
	*p = ASN1_STRING_get0_data(v);
	*len = ASN1_STRING_length(v);
	return 0;
}

/* Returns 1 when a (alen bytes, NULL: none) and b are the same bytes. */
static int
csr_same(const unsigned char *a, int alen, const unsigned char *b,
    int blen)
{
	if (a == NULL || b == NULL)
		return a == b;
	return alen == blen && alen >= 0 &&
	    memcmp(a, b, (size_t)alen) == 0;
}

/* Returns 1 when the DER encodings of a and b are the same, else 0. */
static int
csr_name_same(const X509_NAME *a, const X509_NAME *b)
{
	const unsigned char	*pa, *pb;
	size_t			 la, lb;

	if (a == NULL || b == NULL ||
	    X509_NAME_get0_der(a, &pa, &la) != 1 ||
	    X509_NAME_get0_der(b, &pb, &lb) != 1)
		return 0;
	return la == lb && memcmp(pa, pb, la) == 0;
}

/*
 * Checks the extensions req asks for against the old certificate old:
 * see the top of the file.  Returns RP_OK; RP_ERR_BAD_INPUT
 * "csr_extensions"; RP_ERR_INTERNAL "csr_old_cert" when old has two
 * subjectAltNames.
 */
static enum rp_err
csr_extensions(const X509_REQ *req, const X509 *old, struct rp_errinfo *ei)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_ATTRIBUTE		*attr;
	X509_EXTENSION		*ext;
	ASN1_TYPE		*t;
	ASN1_OCTET_STRING	*v;
	const unsigned char	*p, *osan;
	int			 i, n, nid, osanlen, seen = 0, sans = 0;
	enum rp_err		 e = RP_ERR_BAD_INPUT;

	if (csr_cert_san(old, &osan, &osanlen) == -1)
		return rp_fail(ei, RP_ERR_INTERNAL, "csr_old_cert",
		    "the certificate to be recovered has an unreadable "
		    "subjectAltName");
	n = X509_REQ_get_attr_count(req);
	for (i = 0; i < n; i++) {
		if ((attr = X509_REQ_get_attr(req, i)) == NULL)
			goto bad;
		nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr));
		if (nid != NID_ext_req && nid != NID_ms_ext_req)
			continue;
		/* One attribute of one value: the DER list, nothing after. */
		if (seen++ > 0 || X509_ATTRIBUTE_count(attr) != 1 ||
		    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
		    t->type != V_ASN1_SEQUENCE || t->value.sequence == NULL)
			goto bad;
		p = t->value.sequence->data;
		if ((exts = d2i_X509_EXTENSIONS(NULL, &p,
		    t->value.sequence->length)) == NULL ||
		    p != t->value.sequence->data + t->value.sequence->length)
			goto bad;
	}
	for (i = 0; exts != NULL && i < sk_X509_EXTENSION_num(exts); i++) {
		ext = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) !=
		    NID_subject_alt_name || sans++ > 0 ||
		    (v = X509_EXTENSION_get_data(ext)) == NULL ||
		    osan == NULL || !csr_same(ASN1_STRING_get0_data(v),
		    ASN1_STRING_length(v), osan, osanlen))
			goto bad;
	}
	e = RP_OK;
	goto out;
bad:
	(void)rp_fail(ei, RP_ERR_BAD_INPUT, "csr_extensions",
	    "The certificate request asks for extensions: it may carry only "
	    "the old certificate's subjectAltName, unchanged, or none.");
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return e;
}

/*
 * Checks the recovery request pem (len bytes, need not be terminated)
 * against the old certificate (old_cert_pem, the registry's PEM): one
 * PEM request, proof of possession, key strength, the same subject, no
 * extension but the same subjectAltName, and a new key (see the top of
 * the file).  On RP_OK sha256 holds the lower-case hex SHA-256 of the
 * request's DER, what the signed document names; otherwise it is "" and
 * ei says why: RP_ERR_BAD_INPUT with "csr_invalid", "csr_pop",
 * "csr_key_weak", "csr_subject", "csr_extensions" or "csr_same_key";
 * RP_ERR_INTERNAL when the old certificate cannot be read; RP_ERR_NOMEM.
 * Nothing to free.
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
	    !csr_name_same(subj, X509_get_subject_name(old))) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "csr_subject",
		    "The subject of the certificate request differs from "
		    "the certificate's: a recovery keeps the same subscriber "
		    "data, attribute by attribute, in the same order, "
		    "letter for letter and with the same string types.");
		goto out;
	}
	if ((e = csr_extensions(req, old, ei)) != RP_OK)
		goto out;
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

/*
 * Checks the certificate cert_pem (certlen bytes) that the CA issued for
 * the recovery request csr_pem (terminated) in place of the certificate
 * old_cert_pem (terminated): it carries the request's key
 * (csr_issued_check()) and a subjectAltName whose DER is the old
 * certificate's, or none when that has none.  Returns RP_OK;
 * RP_ERR_BAD_INPUT "issued_mismatch" (the key, or a certificate that
 * cannot be read) or "issued_san"; RP_ERR_INTERNAL "csr_old_cert" when
 * the old certificate cannot be read.  Nothing to free.
 */
enum rp_err
csr_successor_check(const char *csr_pem, const char *old_cert_pem,
    const char *cert_pem, size_t certlen, struct rp_errinfo *ei)
{
	BIO			*bio = NULL;
	X509			*old = NULL, *x = NULL;
	const unsigned char	*a, *b;
	int			 alen, blen;
	enum rp_err		 e;

	if ((e = csr_issued_check(csr_pem, cert_pem, certlen, ei)) != RP_OK)
		return e;
	if ((old = csr_old_cert(old_cert_pem)) == NULL) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "csr_old_cert",
		    "cannot read the certificate to be recovered");
		goto out;
	}
	/* csr_issued_check() read it within these bounds. */
	if ((bio = BIO_new_mem_buf(cert_pem, (int)certlen)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "issued_mismatch",
		    "the certificate the CA issued cannot be read");
		goto out;
	}
	if (csr_cert_san(old, &a, &alen) == -1 ||
	    csr_cert_san(x, &b, &blen) == -1 || !csr_same(a, alen, b, blen)) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "issued_san",
		    "the certificate the CA issued does not carry the old "
		    "certificate's subjectAltName");
		goto out;
	}
	e = RP_OK;
out:
	BIO_free(bio);
	X509_free(x);
	X509_free(old);
	return e;
}

/* The kinds of names cfssl makes of its hosts, in the order it writes. */
enum csr_host_kind {
	CSR_HOST_DNS = 1,
	CSR_HOST_EMAIL,
	CSR_HOST_IP
};

/*
 * Returns 1 when text (len bytes) is a name cfssl takes for a DNS name and
 * writes back as it is: letters, digits, '-', '.', '_' and '*', at most
 * 253 bytes, and not an IP address (cfssl tries that first).
 */
static int
csr_host_dns(const char *text, size_t len)
{
	unsigned char	 ip[16];

	if (len == 0 || len > 253 || strlen(text) != len ||
	    text[strspn(text, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")] != '\0')
		return 0;
	return inet_pton(AF_INET, text, ip) != 1 &&
	    inet_pton(AF_INET6, text, ip) != 1;
}

/*
 * Returns 1 when text (len bytes) is an e-mail address that Go's
 * mail.ParseAddress() gives back unchanged: one '@' between a dot-atom
 * local part and a domain of letters, digits, '-' and '.'.
 */
static int
csr_host_email(const char *text, size_t len)
{
	static const char	 atext[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.";
	const char		*at;
	size_t			 local;

	if (len == 0 || len > 254 || strlen(text) != len ||
	    (at = strchr(text, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	local = (size_t)(at - text);
	if (local == 0 || strspn(text, atext) != local || text[0] == '.' ||
	    text[local - 1] == '.' || strstr(text, "..") != NULL)
		return 0;
	at++;
	return at[0] != '\0' && at[0] != '.' &&
	    at[strspn(at, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")] == '\0' &&
	    at[strlen(at) - 1] != '.' && strstr(at, "..") == NULL;
}

/*
 * Writes the names of the subjectAltName of the certificate old_cert_pem
 * (terminated) into h as cfssl's "hosts": the strings from which cfssl
 * 1.2.0 writes the same subjectAltName again (an IP address where one
 * parses, else an e-mail address where Go's parser takes one, else a
 * DNS name; DNS names first, then e-mail addresses, then IP addresses,
 * each in the given order).  h->n is 0 when it has none.  Returns RP_OK;
 * RP_ERR_BAD_INPUT "san_hosts" for a subjectAltName cfssl cannot write
 * again (another kind of name, another order, more than CSR_HOSTS_MAX
 * names, a name cfssl would read as another kind, an IPv4 address in
 * IPv6 form); RP_ERR_INTERNAL "csr_old_cert" when the certificate cannot
 * be read.  Nothing to free.
 */
enum rp_err
csr_san_hosts(const char *old_cert_pem, struct csr_hosts *h,
    struct rp_errinfo *ei)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	X509			*x;
	GENERAL_NAMES		*gns = NULL;
	GENERAL_NAME		*g;
	const unsigned char	*d;
	char			*out;
	int			 crit = -1, i, len, kind, last = 0;
	enum rp_err		 e = RP_ERR_BAD_INPUT;

	memset(h, 0, sizeof(*h));
	if ((x = csr_old_cert(old_cert_pem)) == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "csr_old_cert",
		    "cannot read the certificate to be recovered");
	if ((gns = X509_get_ext_d2i(x, NID_subject_alt_name, &crit,
	    NULL)) == NULL) {
		/* -1: there is none; else two, or an unreadable one. */
		if (crit == -1)
			e = RP_OK;
		goto out;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gns); i++) {
		g = sk_GENERAL_NAME_value(gns, i);
		if (h->n == CSR_HOSTS_MAX)
			goto out;
		out = h->name[h->n];
		switch (g->type) {
		case GEN_DNS:
		case GEN_EMAIL:
			kind = g->type == GEN_DNS ? CSR_HOST_DNS :
			    CSR_HOST_EMAIL;
			d = ASN1_STRING_get0_data(g->d.ia5);
			len = ASN1_STRING_length(g->d.ia5);
			if (len <= 0 || (size_t)len >= CSR_HOST_MAX)
				goto out;
			memcpy(out, d, (size_t)len);
			out[len] = '\0';
			if (kind == CSR_HOST_DNS ?
			    !csr_host_dns(out, (size_t)len) :
			    !csr_host_email(out, (size_t)len))
				goto out;
			break;
		case GEN_IPADD:
			kind = CSR_HOST_IP;
			d = ASN1_STRING_get0_data(g->d.ip);
			len = ASN1_STRING_length(g->d.ip);
			/* Go writes an IPv4-mapped address as IPv4. */
			if (len == 4) {
				if (inet_ntop(AF_INET, d, out,
				    CSR_HOST_MAX) == NULL)
					goto out;
			} else if (len == 16 && memcmp(d, v4mapped,
			    sizeof(v4mapped)) != 0) {
				if (inet_ntop(AF_INET6, d, out,
				    CSR_HOST_MAX) == NULL)
					goto out;
			} else
				goto out;
			break;
		default:
			goto out;
		}
		if (kind < last)
			goto out;
		last = kind;
		h->n++;
	}
	e = RP_OK;
out:
	if (e != RP_OK && e != RP_ERR_INTERNAL) {
		memset(h, 0, sizeof(*h));
		(void)rp_fail(ei, e, "san_hosts", "the old certificate's "
		    "subjectAltName is not one cfssl can write again (DNS "
		    "names, then e-mail addresses, then IP addresses, at "
		    "most %u)", CSR_HOSTS_MAX);
	}
	GENERAL_NAMES_free(gns);
	X509_free(x);
	return e;
}
