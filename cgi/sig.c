/*
 * Signed requests, DESIGN §3 steps 1 to 4: a CMS SignedData over the
 * request document, checked with OpenSSL's CMS and X509 APIs and failing
 * closed at the first thing that is not right, each refusal with its own
 * enum sig_why for the audit log.
 *
 * The order is fixed: the size; the encoding (DER, base64 or PEM armour
 * around base64) and a CMS SignedData with nothing after it; exactly one
 * SignerInfo whose certificate is in the message; its digest and
 * signature algorithms and key; the content (byte for byte the document,
 * or the document given to a detached signature) and the signature
 * proper; the chain to the trust anchors at the given time; and the
 * qualified profile (QCStatements, keyUsage, subject serialNumber).
 *
 * The QCStatements extension (RFC 3739, ETSI EN 319 412-5) is read by a
 * small DER walker of this file rather than by OpenSSL, which has no
 * public decoder for it.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"

#define PEM_BEGIN	"-----BEGIN "
#define PEM_END		"-----END "
#define PEM_DASHES	"-----"
#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	8192	/* beyond: refused, not worth the CPU */

/* What qc_parse() found; see there. */
#define QC_COMPLIANCE	0x1u	/* QcCompliance 0.4.0.1862.1.1 */
#define QC_SSCD		0x2u	/* QcSSCD 0.4.0.1862.1.4 */
#define QC_TYPE		0x4u	/* a QcType 0.4.0.1862.1.6 */
#define QC_TYPE_OTHER	0x8u	/* a QcType without esign */

#ifdef RP_UNITTEST
/* Reached by tests/unit/test_sig.c, which declares them too. */
int		 der_tlv(const unsigned char *, size_t, unsigned char *,
		    size_t *, size_t *);
int		 qc_parse(const unsigned char *, size_t, unsigned int *);
enum sig_why	 sig_decode(const unsigned char *, size_t,
		    unsigned char **, size_t *);
enum sig_why	 pss_check(const X509_ALGOR *);
#endif

/* The contents octets of the statement identifiers. */
static const unsigned char oid_qc_compliance[] = {
	0x04, 0x00, 0x8e, 0x46, 0x01, 0x01
};
static const unsigned char oid_qc_sscd[] = {
	0x04, 0x00, 0x8e, 0x46, 0x01, 0x04
};
static const unsigned char oid_qc_type[] = {
	0x04, 0x00, 0x8e, 0x46, 0x01, 0x06
};
static const unsigned char oid_qct_esign[] = {
	0x04, 0x00, 0x8e, 0x46, 0x01, 0x06, 0x01
};

/* Audited by name: never rename one. */
static const char *const sig_why_names[] = {
	"ok",
	"too_large",
	"garbage",
	"not_cms",
	"signer_count",
	"no_signer_cert",
	"digest_weak",
	"key_weak",
	"bad_signature",
	"content_mismatch",
	"untrusted",
	"cert_expired",
	"cert_not_yet_valid",
	"not_qualified",
	"no_qscd",
	"not_esign",
	"no_nonrep",
	"no_person_id",
	"revoked",
	"rev_unknown",
	"rev_unavailable",
	"ocsp_bad_signer",
	"ocsp_stale",
	"ocsp_invalid",
	"crl_invalid",
	"challenge_unknown",
	"nonce_used",
	"nonce_expired",
	"wrong_purpose",
	"internal",
};

_Static_assert(sizeof(sig_why_names) / sizeof(sig_why_names[0]) == SIG__MAX,
    "sig_why_names[] must name every enum sig_why");

struct sig_ctx {
	X509_STORE	*store;		/* the anchors, PARTIAL_CHAIN */
	int		 require_qscd;
};

/* Returns the stable audit name of w; "internal" for no valid w. */
const char *
sig_why_name(enum sig_why w)
{
	if ((unsigned int)w >= SIG__MAX)
		return "internal";
	return sig_why_names[w];
}

/* Returns 1 when name ends in ".pem" or ".crt" and is not hidden. */
static int
anchor_name(const char *name)
{
	size_t	 n = strlen(name);

	if (name[0] == '.' || n <= 4)
		return 0;
	return strcmp(name + n - 4, ".pem") == 0 ||
	    strcmp(name + n - 4, ".crt") == 0;
}

/* qsort() order of the file names: bytewise. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Adds every certificate of the PEM file dir/name to store, counting
 * them in *count (at most RP_ANCHORS_MAX).  The file must hold at least
 * one block, each a "CERTIFICATE" without headers whose DER is exactly
 * one certificate of a CA (basicConstraints CA:TRUE, or a version 1
 * self-signed root).  Text outside the blocks is allowed, as "openssl
 * x509 -text" writes it.  Returns 0, or -1 with err filled.
 */
static int
anchor_file(X509_STORE *store, const char *dir, const char *name,
    size_t *count, char *err, size_t errlen)
{
	char		 path[RP_CONF_STR + 256], why[RP_ERRMSG_MAX];
	char		*text = NULL, *label = NULL, *header = NULL;
	unsigned char	*data = NULL;
	const unsigned char *p;
	long		 len;
	size_t		 textlen = 0, here = 0;
	unsigned long	 e;
	BIO		*bio = NULL;
	X509		*x = NULL;
	int		 n, ca, rc = -1;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		(void)snprintf(err, errlen, "trust anchor path too long");
		return -1;
	}
	if ((text = rp_read_file(path, RP_ANCHOR_FILE_MAX, &textlen, why,
	    sizeof(why))) == NULL) {
		(void)snprintf(err, errlen, "trust anchor %s: %s%s", path,
		    why, strstr(why, "NUL") != NULL ?
		    " (DER? only PEM is read)" : "");
		return -1;
	}
	if (textlen > INT32_MAX ||
	    (bio = BIO_new_mem_buf(text, (int)textlen)) == NULL) {
		(void)snprintf(err, errlen, "trust anchor %s: out of memory",
		    path);
		goto out;
	}
	for (;;) {
		ERR_clear_error();
		if (PEM_read_bio(bio, &label, &header, &data, &len) != 1) {
			e = ERR_peek_last_error();
			if (here > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break;
			(void)snprintf(err, errlen, "trust anchor %s: %s",
			    path, here == 0 ? "no PEM certificate in it" :
			    "a malformed PEM block");
			goto out;
		}
		if (strcmp(label, "CERTIFICATE") != 0 || header[0] != '\0') {
			(void)snprintf(err, errlen, "trust anchor %s: a PEM "
			    "block that is not a plain CERTIFICATE", path);
			goto out;
		}
		p = data;
		if ((x = d2i_X509(NULL, &p, len)) == NULL ||
		    p != data + len) {
			(void)snprintf(err, errlen, "trust anchor %s: a "
			    "CERTIFICATE block that is not one certificate",
			    path);
			goto out;
		}
		/* 1: basicConstraints CA:TRUE, 3: a v1 self-signed root; not
		 * 4 or 5 (keyCertSign or Netscape CA without the former). */
		if ((ca = X509_check_ca(x)) != 1 && ca != 3) {
			(void)snprintf(err, errlen, "trust anchor %s: a "
			    "certificate that is not a CA", path);
			goto out;
		}
		if (*count >= RP_ANCHORS_MAX) {
			(void)snprintf(err, errlen, "more than %u trust "
			    "anchors", RP_ANCHORS_MAX);
			goto out;
		}
		if (X509_STORE_add_cert(store, x) != 1) {
			(void)snprintf(err, errlen, "trust anchor %s: cannot "
			    "add it", path);
			goto out;
		}
		X509_free(x);
		x = NULL;
		OPENSSL_free(label);
		OPENSSL_free(header);
		OPENSSL_free(data);
		label = header = NULL;
		data = NULL;
		(*count)++;
		here++;
	}
	rc = 0;
out:
	X509_free(x);
	OPENSSL_free(label);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	free(text);
	ERR_clear_error();
	return rc;
}

/*
 * Loads the trust anchors: every certificate of every "*.pem" and "*.crt"
 * file (PEM, several per file allowed) directly in anchors_dir, read in
 * name order; other names (the hash links of c_rehash among them) are
 * left alone.  Every anchor is trusted as it is (X509_V_FLAG_PARTIAL_
 * CHAIN), so an issuing CA may be configured without its root.  Returns
 * a new context for sig_verify(), freed with sig_ctx_free(), or NULL
 * with err filled: a missing or unreadable directory, no anchor file, a
 * file that cannot be read or holds anything but CA certificates.
 */
struct sig_ctx *
sig_ctx_new(const char *anchors_dir, int require_qscd, char *err,
    size_t errlen)
{
	struct sig_ctx	*c = NULL;
	DIR		*d = NULL;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 nnames = 0, i, count = 0;
	int		 ok = 0;

	if (anchors_dir == NULL || anchors_dir[0] == '\0') {
		(void)snprintf(err, errlen, "no trust anchor directory");
		return NULL;
	}
	if ((d = opendir(anchors_dir)) == NULL) {
		(void)snprintf(err, errlen, "trust anchor directory %s: %s",
		    anchors_dir, strerror(errno));
		return NULL;
	}
	if ((names = calloc(RP_ANCHORS_MAX, sizeof(*names))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!anchor_name(de->d_name))
			continue;
		if (nnames == RP_ANCHORS_MAX) {
			(void)snprintf(err, errlen, "trust anchor directory "
			    "%s: more than %u files", anchors_dir,
			    RP_ANCHORS_MAX);
			goto out;
		}
		if ((names[nnames] = strdup(de->d_name)) == NULL) {
			(void)snprintf(err, errlen, "out of memory");
			goto out;
		}
		nnames++;
	}
	if (nnames == 0) {
		(void)snprintf(err, errlen, "trust anchor directory %s holds "
		    "no .pem or .crt file", anchors_dir);
		goto out;
	}
	qsort(names, nnames, sizeof(*names), name_cmp);

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->store = X509_STORE_new()) == NULL ||
	    X509_STORE_set_flags(c->store, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	c->require_qscd = require_qscd != 0;
	for (i = 0; i < nnames; i++)
		if (anchor_file(c->store, anchors_dir, names[i], &count, err,
		    errlen) == -1)
			goto out;
	ok = 1;
out:
	if (names != NULL)
		for (i = 0; i < nnames; i++)
			free(names[i]);
	free(names);
	if (d != NULL)
		(void)closedir(d);
	ERR_clear_error();
	if (!ok) {
		sig_ctx_free(c);
		return NULL;
	}
	return c;
}

/* Frees c; accepts NULL. */
void
sig_ctx_free(struct sig_ctx *c)
{
	if (c == NULL)
		return;
	X509_STORE_free(c->store);
	free(c);
}

/* Returns 1 for the white space allowed in base64 and around PEM. */
static int
b64_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Returns 1 when p[0..len) starts with the NUL-terminated s. */
static int
mem_starts(const unsigned char *p, size_t len, const char *s)
{
	size_t	 n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

/*
 * Finds the base64 body of the PEM armour p[0..len): a BEGIN line with
 * the label CMS or PKCS7, the body, the END line of the same label, and
 * only white space around.  Sets *body and *bodylen and returns 1, or
 * returns 0 when p is not such a text.
 */
static int
pem_body(const unsigned char *p, size_t len, const unsigned char **body,
    size_t *bodylen)
{
	static const char *const labels[] = { "CMS", "PKCS7" };
	char		 end[32];
	size_t		 i, k, at, endlen;
	int		 n;

	for (i = 0; i < len && b64_space(p[i]); i++)
		continue;
	if (!mem_starts(p + i, len - i, PEM_BEGIN))
		return 0;
	i += sizeof(PEM_BEGIN) - 1;
	for (k = 0; k < sizeof(labels) / sizeof(labels[0]); k++) {
		n = snprintf(end, sizeof(end), "%s" PEM_DASHES, labels[k]);
		if (n < 0 || (size_t)n >= sizeof(end))
			return 0;
		if (mem_starts(p + i, len - i, end))
			break;
	}
	if (k == sizeof(labels) / sizeof(labels[0]))
		return 0;
	i += (size_t)n;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	if (i == len || p[i] != '\n')
		return 0;
	i++;

	/* The END line, then only white space. */
	n = snprintf(end, sizeof(end), PEM_END "%s" PEM_DASHES, labels[k]);
	if (n < 0 || (size_t)n >= sizeof(end))
		return 0;
	endlen = (size_t)n;
	for (at = i; at < len; at++)
		if (p[at] == '-')
			break;
	if (!mem_starts(p + at, len - at, end))
		return 0;
	for (k = at + endlen; k < len; k++)
		if (!b64_space(p[k]))
			return 0;
	*body = p + i;
	*bodylen = at - i;
	return 1;
}

/*
 * Turns the signature as given, sig[0..len) (len at most RP_SIG_MAX), into
 * DER: as it is when it starts with 0x30 (a SEQUENCE); else the base64
 * body of CMS or PKCS7 PEM armour; else the whole text as base64.  On
 * SIG_OK *der is a new buffer of *derlen bytes that the caller frees;
 * SIG_GARBAGE when none of these decodes, SIG_INTERNAL out of memory.
 */
UNITTEST enum sig_why
sig_decode(const unsigned char *sig, size_t len, unsigned char **der,
    size_t *derlen)
{
	const unsigned char	*b64 = sig;
	size_t			 b64len = len;

	*der = NULL;
	*derlen = 0;
	if (sig == NULL || len == 0)
		return SIG_GARBAGE;
	if (sig[0] == 0x30) {
		if ((*der = malloc(len)) == NULL)
			return SIG_INTERNAL;
		memcpy(*der, sig, len);
		*derlen = len;
		return SIG_OK;
	}
	(void)pem_body(sig, len, &b64, &b64len);
	if ((*der = malloc(b64len / 4 * 3 + 3)) == NULL)
		return SIG_INTERNAL;
	if ((*derlen = rp_b64_decode((const char *)b64, b64len, *der,
	    b64len / 4 * 3 + 3)) == 0) {
		free(*der);
		*der = NULL;
		return SIG_GARBAGE;
	}
	return SIG_OK;
}

/*
 * Reads one DER TLV at the start of p[0..len): its identifier octet in
 * *tag, the length of its header in *hdr and of its contents in *clen,
 * the contents lying wholly inside p[0..len).  Returns 0, or -1 for a
 * high tag number (none occurs in QCStatements), an indefinite or
 * non-minimal length, a length of more than four octets, or contents
 * that run past len.
 */
UNITTEST int
der_tlv(const unsigned char *p, size_t len, unsigned char *tag,
    size_t *hdr, size_t *clen)
{
	size_t	 i, n, l = 0;

	if (len < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	if (p[1] < 0x80) {
		l = p[1];
		i = 2;
	} else {
		n = p[1] & 0x7f;
		/* 0x80 is the indefinite form, not DER. */
		if (n == 0 || n > 4 || len - 2 < n || p[2] == 0)
			return -1;
		for (i = 0; i < n; i++)
			l = l << 8 | p[2 + i];
		if (l < 0x80)
			return -1;
		i = 2 + n;
	}
	if (l > len - i)
		return -1;
	*tag = p[0];
	*hdr = i;
	*clen = l;
	return 0;
}

/*
 * Returns 1 when the DER OBJECT IDENTIFIER contents o[0..olen) are the
 * bytes of want, 0 otherwise.
 */
static int
oid_is(const unsigned char *o, size_t olen, const unsigned char *want,
    size_t wantlen)
{
	return olen == wantlen && memcmp(o, want, olen) == 0;
}

/*
 * Reads the statementInfo of a QcType, the contents p[0..len) of a
 * SEQUENCE OF OBJECT IDENTIFIER.  Returns 1 when esign is among them,
 * 0 when it is not (an empty list included), -1 when the list is
 * malformed.
 */
static int
qc_type_esign(const unsigned char *p, size_t len)
{
	unsigned char	 tag;
	size_t		 hdr, clen;
	int		 esign = 0;

	while (len > 0) {
		if (der_tlv(p, len, &tag, &hdr, &clen) == -1 ||
		    tag != 0x06 || clen == 0)
			return -1;
		if (oid_is(p + hdr, clen, oid_qct_esign,
		    sizeof(oid_qct_esign)))
			esign = 1;
		p += hdr + clen;
		len -= hdr + clen;
	}
	return esign;
}

/*
 * Reads the value p[0..len) of a QCStatements extension (RFC 3739):
 * SEQUENCE OF SEQUENCE { statementId OBJECT IDENTIFIER, statementInfo
 * ANY OPTIONAL }, DER, with nothing after it.  Sets in *flags
 * QC_COMPLIANCE and QC_SSCD for those statements, QC_TYPE for a QcType
 * and QC_TYPE_OTHER for a QcType that does not name esign; other
 * statements are skipped once their encoding has been checked.  Returns
 * 0, or -1 (and *flags 0) when the value is malformed anywhere.
 */
UNITTEST int
qc_parse(const unsigned char *p, size_t len, unsigned int *flags)
{
	const unsigned char	*st, *info;
	unsigned char		 tag, infotag;
	size_t			 hdr, clen, stlen, idhdr, idlen, infolen;
	unsigned int		 f = 0;
	int			 esign;

	*flags = 0;
	if (der_tlv(p, len, &tag, &hdr, &clen) == -1 || tag != 0x30 ||
	    clen != len - hdr)
		return -1;
	p += hdr;
	len = clen;
	while (len > 0) {
		/* One QCStatement. */
		if (der_tlv(p, len, &tag, &hdr, &clen) == -1 || tag != 0x30)
			return -1;
		st = p + hdr;
		stlen = clen;
		p += hdr + clen;
		len -= hdr + clen;

		if (der_tlv(st, stlen, &tag, &idhdr, &idlen) == -1 ||
		    tag != 0x06 || idlen == 0)
			return -1;
		info = st + idhdr + idlen;
		infolen = stlen - idhdr - idlen;
		infotag = 0;
		if (infolen > 0) {
			/* One element, exactly. */
			if (der_tlv(info, infolen, &infotag, &hdr,
			    &clen) == -1 || clen != infolen - hdr)
				return -1;
			info += hdr;
			infolen = clen;
		} else
			info = NULL;

		st += idhdr;
		if (oid_is(st, idlen, oid_qc_compliance,
		    sizeof(oid_qc_compliance)))
			f |= QC_COMPLIANCE;
		else if (oid_is(st, idlen, oid_qc_sscd, sizeof(oid_qc_sscd)))
			f |= QC_SSCD;
		else if (oid_is(st, idlen, oid_qc_type,
		    sizeof(oid_qc_type))) {
			if (info == NULL || infotag != 0x30 ||
			    (esign = qc_type_esign(info, infolen)) == -1)
				return -1;
			f |= QC_TYPE;
			if (!esign)
				f |= QC_TYPE_OTHER;
		}
	}
	*flags = f;
	return 0;
}

/* Returns 1 for the digests accepted: SHA-2 and SHA-3 of 256 bits up. */
static int
digest_strong(int nid)
{
	switch (nid) {
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
	case NID_sha3_256:
	case NID_sha3_384:
	case NID_sha3_512:
		return 1;
	default:
		return 0;
	}
}

/*
 * Checks the RSASSA-PSS parameters of the signature algorithm alg: a
 * hash and an MGF1 hash that are both digest_strong() (absent means
 * SHA-1).  Returns SIG_OK, SIG_DIGEST_WEAK, or SIG_KEY_WEAK when the
 * parameters do not decode.
 */
UNITTEST enum sig_why
pss_check(const X509_ALGOR *alg)
{
	const ASN1_OBJECT	*obj;
	const void		*pval;
	const ASN1_STRING	*s;
	const unsigned char	*p;
	RSA_PSS_PARAMS		*pss = NULL;
	X509_ALGOR		*mgfmd = NULL;
	int			 ptype;
	enum sig_why		 why = SIG_KEY_WEAK;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE || (s = pval) == NULL)
		goto out;
	p = ASN1_STRING_get0_data(s);
	if ((pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(s))) ==
	    NULL || p != ASN1_STRING_get0_data(s) + ASN1_STRING_length(s))
		goto out;
	why = SIG_DIGEST_WEAK;
	if (pss->hashAlgorithm == NULL ||
	    !digest_strong(OBJ_obj2nid(pss->hashAlgorithm->algorithm)) ||
	    pss->maskGenAlgorithm == NULL ||
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1)
		goto out;
	X509_ALGOR_get0(&obj, &ptype, &pval, pss->maskGenAlgorithm);
	if (ptype != V_ASN1_SEQUENCE || (s = pval) == NULL)
		goto out;
	p = ASN1_STRING_get0_data(s);
	if ((mgfmd = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(s))) ==
	    NULL || !digest_strong(OBJ_obj2nid(mgfmd->algorithm)))
		goto out;
	why = SIG_OK;
out:
	X509_ALGOR_free(mgfmd);
	RSA_PSS_PARAMS_free(pss);
	return why;
}

/*
 * Step 3 for the signer certificate x and the SignerInfo algorithms dig
 * and sigalg: a digest_strong() digest; an RSA key of RSA_MIN_BITS to
 * RSA_MAX_BITS with PKCS#1 v1.5 or PSS, or an EC key on P-256, P-384 or
 * P-521 with ECDSA; a signature algorithm that names a hash names a
 * strong one and the key's type.  Returns SIG_OK, SIG_DIGEST_WEAK or
 * SIG_KEY_WEAK.
 */
static enum sig_why
alg_check(X509 *x, const X509_ALGOR *dig, const X509_ALGOR *sigalg)
{
	EVP_PKEY	*pk;
	char		 group[64];
	size_t		 glen = 0;
	int		 signid, mdnid, pknid, type, bits, rsa;

	if (!digest_strong(OBJ_obj2nid(dig->algorithm)))
		return SIG_DIGEST_WEAK;
	if ((pk = X509_get0_pubkey(x)) == NULL)
		return SIG_KEY_WEAK;
	type = EVP_PKEY_get_base_id(pk);
	rsa = type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS;
	if (rsa) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			return SIG_KEY_WEAK;
	} else if (type == EVP_PKEY_EC) {
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group),
		    &glen) != 1 || (strcmp(group, SN_X9_62_prime256v1) != 0 &&
		    strcmp(group, SN_secp384r1) != 0 &&
		    strcmp(group, SN_secp521r1) != 0))
			return SIG_KEY_WEAK;
	} else
		return SIG_KEY_WEAK;

	signid = OBJ_obj2nid(sigalg->algorithm);
	if (signid == NID_rsassaPss)
		return rsa ? pss_check(sigalg) : SIG_KEY_WEAK;
	if (type == EVP_PKEY_RSA_PSS)
		return SIG_KEY_WEAK;
	if (signid == NID_rsaEncryption)
		return type == EVP_PKEY_RSA ? SIG_OK : SIG_KEY_WEAK;
	if (signid == NID_X9_62_id_ecPublicKey)
		return type == EVP_PKEY_EC ? SIG_OK : SIG_KEY_WEAK;
	/* sha256WithRSAEncryption, ecdsa-with-SHA384 and their like. */
	if (OBJ_find_sigid_algs(signid, &mdnid, &pknid) != 1)
		return SIG_KEY_WEAK;
	if (!digest_strong(mdnid))
		return SIG_DIGEST_WEAK;
	if ((rsa && pknid != NID_rsaEncryption) ||
	    (!rsa && pknid != NID_X9_62_id_ecPublicKey))
		return SIG_KEY_WEAK;
	return SIG_OK;
}

/*
 * Fills the text fields of out from the signer certificate x, read by
 * x509.c's x509_info() so they have the same form as everywhere else
 * (RFC 2253 names, canonical serial, lower-case SHA-256 of the DER).
 * Returns 0, or -1 when x509.c refuses the certificate's names (a
 * repeated or non-text attribute, one too long for its field, a serial
 * number that is not positive); out's text is then left empty.
 */
static int
signer_text(X509 *x, struct signer *out)
{
	struct cert_info	 info;
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (x509_info(x, &info, &ei) != RP_OK)
		return -1;
	/* The arrays have the same sizes as in struct cert_info. */
	_Static_assert(sizeof(out->person_id) == sizeof(info.person_id) &&
	    sizeof(out->org_id) == sizeof(info.org_id) &&
	    sizeof(out->common_name) == sizeof(info.common_name) &&
	    sizeof(out->subject) == sizeof(info.subject) &&
	    sizeof(out->issuer) == sizeof(info.issuer) &&
	    sizeof(out->serial) == sizeof(info.serial) &&
	    sizeof(out->sha256) == sizeof(info.sha256) &&
	    sizeof(out->email) == sizeof(info.email),
	    "struct signer and struct cert_info disagree");
	memcpy(out->person_id, info.person_id, sizeof(out->person_id));
	memcpy(out->org_id, info.org_id, sizeof(out->org_id));
	memcpy(out->common_name, info.common_name, sizeof(out->common_name));
	memcpy(out->subject, info.subject, sizeof(out->subject));
	memcpy(out->issuer, info.issuer, sizeof(out->issuer));
	memcpy(out->serial, info.serial, sizeof(out->serial));
	memcpy(out->sha256, info.sha256, sizeof(out->sha256));
	memcpy(out->email, info.email, sizeof(out->email));
	cert_info_free(&info);
	return 0;
}

/* Maps an X509_verify_cert() error to a reason. */
static enum sig_why
chain_why(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return SIG_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return SIG_CERT_NOT_YET_VALID;
	case X509_V_ERR_OUT_OF_MEM:
		return SIG_INTERNAL;
	default:
		return SIG_UNTRUSTED;
	}
}

/*
 * Step 4: the qualified profile of the signer certificate x.  Returns
 * SIG_OK, SIG_NOT_QUALIFIED (no QCStatements, two of them, a malformed
 * one, or no QcCompliance), SIG_NO_QSCD (no QcSSCD while require_qscd),
 * SIG_NOT_ESIGN or SIG_NO_NONREP.
 */
static enum sig_why
qualified_check(X509 *x, int require_qscd)
{
	X509_EXTENSION		*ext;
	const ASN1_OCTET_STRING	*v;
	unsigned int		 qc;
	int			 idx;

	if ((idx = X509_get_ext_by_NID(x, NID_qcStatements, -1)) < 0 ||
	    X509_get_ext_by_NID(x, NID_qcStatements, idx) >= 0 ||
	    (ext = X509_get_ext(x, idx)) == NULL ||
	    (v = X509_EXTENSION_get_data(ext)) == NULL ||
	    ASN1_STRING_length(v) <= 0 ||
	    qc_parse(ASN1_STRING_get0_data(v),
	    (size_t)ASN1_STRING_length(v), &qc) == -1 ||
	    !(qc & QC_COMPLIANCE))
		return SIG_NOT_QUALIFIED;
	if (require_qscd && !(qc & QC_SSCD))
		return SIG_NO_QSCD;
	if (qc & QC_TYPE_OTHER)
		return SIG_NOT_ESIGN;
	/* UINT32_MAX: no keyUsage at all. */
	if (X509_get_key_usage(x) == UINT32_MAX ||
	    !(X509_get_key_usage(x) & KU_NON_REPUDIATION))
		return SIG_NO_NONREP;
	return SIG_OK;
}

/*
 * Finds the one SignerInfo of cms and its certificate among certs (the
 * message's own certificates), which becomes the SignerInfo's signer
 * certificate.  Sets *si and *signer (not owned: they belong to cms and
 * certs).  Returns SIG_OK, SIG_SIGNER_COUNT or SIG_NO_SIGNER_CERT.
 */
static enum sig_why
signer_find(CMS_ContentInfo *cms, STACK_OF(X509) *certs,
    CMS_SignerInfo **si, X509 **signer)
{
	STACK_OF(CMS_SignerInfo)	*sis;
	X509				*x;
	int				 i;

	if ((sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1 ||
	    (*si = sk_CMS_SignerInfo_value(sis, 0)) == NULL)
		return SIG_SIGNER_COUNT;
	for (i = 0; i < sk_X509_num(certs); i++) {
		x = sk_X509_value(certs, i);
		if (CMS_SignerInfo_cert_cmp(*si, x) == 0) {
			CMS_SignerInfo_set1_signer_cert(*si, x);
			*signer = x;
			return SIG_OK;
		}
	}
	return SIG_NO_SIGNER_CERT;
}

/*
 * Step 4 (of sig_verify()'s order): the content and the signature.  An
 * attached content must be an id-data byte for byte doc[0..doclen); a
 * detached signature is verified over doc.  Returns SIG_OK,
 * SIG_CONTENT_MISMATCH, SIG_BAD_SIGNATURE or SIG_INTERNAL.
 */
static enum sig_why
content_check(CMS_ContentInfo *cms, const char *doc, size_t doclen)
{
	ASN1_OCTET_STRING	**pos;
	BIO			*dcont = NULL;
	enum sig_why		 why;

	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data ||
	    (pos = CMS_get0_content(cms)) == NULL)
		return SIG_CONTENT_MISMATCH;
	if (*pos != NULL) {
		if ((size_t)ASN1_STRING_length(*pos) != doclen ||
		    (doclen > 0 && memcmp(ASN1_STRING_get0_data(*pos), doc,
		    doclen) != 0))
			return SIG_CONTENT_MISMATCH;
	} else {
		if (doclen > INT32_MAX)
			return SIG_CONTENT_MISMATCH;
		if ((dcont = BIO_new_mem_buf(doclen > 0 ? doc : "",
		    (int)doclen)) == NULL)
			return SIG_INTERNAL;
	}
	why = CMS_verify(cms, NULL, NULL, dcont, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY | CMS_NOINTERN |
	    CMS_NOCRL) == 1 ? SIG_OK : SIG_BAD_SIGNATURE;
	BIO_free(dcont);
	return why;
}

/*
 * Step 5 (of sig_verify()'s order): the chain of x to the anchors of c
 * at now (ms), with the message's certificates certs as untrusted
 * intermediates; no extended key usage is asked for.  On SIG_OK sets
 * out->chain (owned) and out->issuer_cert (owned, a reference of
 * chain[1]).  Returns SIG_OK, SIG_UNTRUSTED (also for a signer that is
 * itself an anchor: it has no issuer to ask about revocation),
 * SIG_CERT_EXPIRED, SIG_CERT_NOT_YET_VALID or SIG_INTERNAL.
 */
static enum sig_why
chain_check(const struct sig_ctx *c, X509 *x, STACK_OF(X509) *certs,
    int64_t now, struct signer *out)
{
	X509_STORE_CTX		*sctx;
	STACK_OF(X509)		*chain = NULL;
	X509			*issuer;
	enum sig_why		 why;

	if ((sctx = X509_STORE_CTX_new()) == NULL)
		return SIG_INTERNAL;
	if (X509_STORE_CTX_init(sctx, c->store, x, certs) != 1) {
		why = SIG_INTERNAL;
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(sctx),
	    (time_t)(now / 1000));
	if (X509_verify_cert(sctx) != 1) {
		why = chain_why(X509_STORE_CTX_get_error(sctx));
		goto out;
	}
	if ((chain = X509_STORE_CTX_get1_chain(sctx)) == NULL) {
		why = SIG_INTERNAL;
		goto out;
	}
	if (sk_X509_num(chain) < 2 ||
	    (issuer = sk_X509_value(chain, 1)) == NULL) {
		why = SIG_UNTRUSTED;
		goto out;
	}
	if (X509_up_ref(issuer) != 1) {
		why = SIG_INTERNAL;
		goto out;
	}
	out->issuer_cert = issuer;
	out->chain = chain;
	chain = NULL;
	why = SIG_OK;
out:
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(sctx);
	return why;
}

/*
 * Verifies sig (siglen bytes) over the document doc (doclen bytes) at
 * now (ms since the epoch), in the order of the file's comment; see
 * extern.h.  On SIG_OK every field of out is filled and out owns the
 * signer certificate, its issuer and the chain: sig_signer_free()
 * releases them.  On a refusal out owns nothing, but its text fields
 * name the signer once the certificate was found and read.  The OpenSSL
 * error queue is left empty.
 */
enum sig_why
sig_verify(const struct sig_ctx *c, const void *sig, size_t siglen,
    const char *doc, size_t doclen, int64_t now, struct signer *out)
{
	CMS_ContentInfo		*cms = NULL;
	CMS_SignerInfo		*si = NULL;
	STACK_OF(X509)		*certs = NULL;
	X509			*signer = NULL;
	X509_ALGOR		*dig = NULL, *sigalg = NULL;
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 derlen = 0;
	int			 named;
	enum sig_why		 why;

	memset(out, 0, sizeof(*out));
	if (c == NULL || (doc == NULL && doclen > 0) || now < 0)
		return SIG_INTERNAL;
	if (siglen > RP_SIG_MAX)
		return SIG_TOO_LARGE;

	/* Step 1: the encoding, and a SignedData with nothing after it. */
	if ((why = sig_decode(sig, siglen, &der, &derlen)) != SIG_OK)
		goto out;
	p = der;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		why = SIG_NOT_CMS;
		goto out;
	}

	/* Step 2: one SignerInfo, its certificate in the message. */
	if ((certs = CMS_get1_certs(cms)) == NULL)
		certs = sk_X509_new_null();
	if (certs == NULL) {
		why = SIG_INTERNAL;
		goto out;
	}
	if ((why = signer_find(cms, certs, &si, &signer)) != SIG_OK)
		goto out;
	named = signer_text(signer, out) == 0;

	/* Step 3: the algorithms and the key. */
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sigalg);
	if (dig == NULL || sigalg == NULL) {
		why = SIG_NOT_CMS;
		goto out;
	}
	if ((why = alg_check(signer, dig, sigalg)) != SIG_OK)
		goto out;

	/* Step 4: the content, byte for byte, and the signature. */
	if ((why = content_check(cms, doc, doclen)) != SIG_OK)
		goto out;

	/* Step 5: the chain, valid now. */
	if ((why = chain_check(c, signer, certs, now, out)) != SIG_OK)
		goto out;

	/* Step 6: qualified, for non-repudiation, naming a person. */
	if ((why = qualified_check(signer, c->require_qscd)) != SIG_OK)
		goto out;
	if (!named || out->person_id[0] == '\0') {
		why = SIG_NO_PERSON_ID;
		goto out;
	}
	if (X509_up_ref(signer) != 1) {
		why = SIG_INTERNAL;
		goto out;
	}
	out->cert = signer;
	why = SIG_OK;
out:
	if (why != SIG_OK) {
		sk_X509_pop_free(out->chain, X509_free);
		X509_free(out->issuer_cert);
		out->chain = NULL;
		out->issuer_cert = NULL;
		out->cert = NULL;
	}
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	free(der);
	ERR_clear_error();
	return why;
}

/* Frees what s owns (certificate, issuer, chain); accepts NULL. */
void
sig_signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	X509_free(s->issuer_cert);
	sk_X509_pop_free(s->chain, X509_free);
	s->cert = NULL;
	s->issuer_cert = NULL;
	s->chain = NULL;
}
