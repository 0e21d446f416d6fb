/*
 * What revportal reads from a certificate: one PEM file, checked strictly
 * because it comes from outside (an import, a staff enrolment), parsed
 * with OpenSSL into a struct cert_info of fixed-size text fields.
 *
 * The PEM framing is read here rather than by PEM_read_bio_X509(), which
 * skips text before the block, ignores what follows it and accepts
 * encryption headers.  The file must be exactly one "CERTIFICATE" block
 * (RFC 7468) with optional white space around it, the base64 must be
 * canonical and the DER must be exactly one certificate.  Every value
 * copied out must fit its array whole: nothing is ever cut.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"

#define PEM_BEGIN	"-----BEGIN "
#define PEM_END		"-----END "
#define PEM_DASHES	"-----"
#define PEM_LABEL_MAX	64u		/* longest label we look at */
#define PEM_CERT	"CERTIFICATE"
#define SERIAL_BYTES	20u		/* RFC 5280 4.1.2.2 */
#define AKI_BYTES	((sizeof(((struct cert_info *)0)->aki) - 1) / 2)

/*
 * RFC 2253 text, most specific RDN first, with UTF-8 written as it is
 * rather than as \XX escapes.  Control characters are still escaped.
 */
#define DN_FLAGS	(XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB)

/* What other PEM blocks are, to say so without echoing the file. */
static const struct {
	const char	*label;
	const char	*what;
} pem_kinds[] = {
	{ "PRIVATE KEY", "a private key" },
	{ "ENCRYPTED PRIVATE KEY", "an encrypted private key" },
	{ "RSA PRIVATE KEY", "an RSA private key" },
	{ "EC PRIVATE KEY", "an EC private key" },
	{ "DSA PRIVATE KEY", "a DSA private key" },
	{ "PUBLIC KEY", "a public key" },
	{ "RSA PUBLIC KEY", "an RSA public key" },
	{ "CERTIFICATE REQUEST", "a certificate signing request (CSR)" },
	{ "NEW CERTIFICATE REQUEST", "a certificate signing request (CSR)" },
	{ "X509 CRL", "a certificate revocation list (CRL)" },
	{ "PKCS7", "a PKCS#7 structure" },
	{ "CMS", "a CMS structure" },
	{ "PKCS12", "a PKCS#12 bundle" },
	{ "X509 CERTIFICATE", "an old-style \"X509 CERTIFICATE\" block "
	    "(only \"CERTIFICATE\" is accepted)" },
	{ "TRUSTED CERTIFICATE", "an OpenSSL \"TRUSTED CERTIFICATE\" block "
	    "(only \"CERTIFICATE\" is accepted)" },
};

/* Returns 1 for the white space allowed around and inside a PEM block. */
static int
pem_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Returns 1 when p[0..len) starts with the NUL-terminated s. */
static int
mem_starts(const char *p, size_t len, const char *s)
{
	size_t	 n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

/*
 * Returns the offset of the first occurrence of the NUL-terminated needle
 * in p[0..len), or len when there is none.
 */
static size_t
mem_find(const char *p, size_t len, const char *needle)
{
	size_t	 i, n = strlen(needle);

	if (n > len)
		return len;
	for (i = 0; i <= len - n; i++)
		if (p[i] == needle[0] && memcmp(p + i, needle, n) == 0)
			return i;
	return len;
}

/*
 * Reads the BEGIN line at the start of p[0..len).  On success sets
 * *label and *labellen to its label and *linelen to the length of the
 * line up to and including its line break, and returns 1.  Returns 0
 * when the text does not start with "-----BEGIN label-----" followed by
 * optional blanks and a line break, the label being at most
 * PEM_LABEL_MAX printable ASCII characters.
 */
static int
pem_begin_line(const char *p, size_t len, const char **label,
    size_t *labellen, size_t *linelen)
{
	size_t	 i, start = sizeof(PEM_BEGIN) - 1, end;

	if (!mem_starts(p, len, PEM_BEGIN))
		return 0;
	end = start + mem_find(p + start, len - start, PEM_DASHES);
	if (end == len || end - start > PEM_LABEL_MAX)
		return 0;
	for (i = start; i < end; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	*label = p + start;
	*labellen = end - start;
	i = end + sizeof(PEM_DASHES) - 1;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < len && p[i] == '\r')
		i++;
	if (i == len || p[i] != '\n')
		return 0;
	*linelen = i + 1;
	return 1;
}

/*
 * Says what a PEM block with label[0..len) is, from pem_kinds[]; a label
 * not in the table is described without being repeated.
 */
static const char *
pem_kind(const char *label, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(pem_kinds) / sizeof(pem_kinds[0]); i++)
		if (strlen(pem_kinds[i].label) == len &&
		    memcmp(pem_kinds[i].label, label, len) == 0)
			return pem_kinds[i].what;
	return "a PEM block of another kind";
}

/*
 * Checks that pem[0..len) is one CERTIFICATE block with nothing but white
 * space around it and decodes its base64.  On success *der is a new
 * buffer of *derlen bytes that the caller frees.  On failure returns
 * RP_ERR_BAD_INPUT (or RP_ERR_NOMEM) with ei filled, *der NULL.
 */
static enum rp_err
pem_unwrap(const char *pem, size_t len, unsigned char **der,
    size_t *derlen, struct rp_errinfo *ei)
{
	const char	*label, *body;
	size_t		 i, at, labellen, linelen, bodylen, rest;

	*der = NULL;
	*derlen = 0;
	for (i = 0; i < len && pem_space(pem[i]); i++)
		continue;
	if (i == len)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "not_pem",
		    "the file is empty or blank");
	at = i + mem_find(pem + i, len - i, PEM_BEGIN);
	if (at == len) {
		if ((unsigned char)pem[0] == 0x30)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "not_pem",
			    "the file looks like binary DER, not PEM; convert "
			    "it with: openssl x509 -inform DER -outform PEM");
		return rp_fail(ei, RP_ERR_BAD_INPUT, "not_pem",
		    "the file holds no PEM \"-----BEGIN\" line");
	}
	if (at != i)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "leading_data",
		    "the file has text before the certificate's BEGIN line");
	if (!pem_begin_line(pem + at, len - at, &label, &labellen, &linelen))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "not_pem",
		    "the PEM BEGIN line is malformed");
	if (labellen != sizeof(PEM_CERT) - 1 ||
	    memcmp(label, PEM_CERT, labellen) != 0)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "not_certificate",
		    "the file holds %s, not a certificate",
		    pem_kind(label, labellen));

	/* The END line starts a line and names the same label. */
	body = pem + at + linelen;
	rest = len - at - linelen;
	bodylen = mem_find(body, rest, PEM_END);
	if (bodylen == rest)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate has no END line; is the file cut short?");
	if ((bodylen > 0 && body[bodylen - 1] != '\n') ||
	    !mem_starts(body + bodylen, rest - bodylen,
	    PEM_END PEM_CERT PEM_DASHES))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate's END line is malformed");

	/* Only white space may follow. */
	i = bodylen + sizeof(PEM_END PEM_CERT PEM_DASHES) - 1;
	while (i < rest && pem_space(body[i]))
		i++;
	if (i < rest) {
		if (mem_starts(body + i, rest - i,
		    PEM_BEGIN PEM_CERT PEM_DASHES))
			return rp_fail(ei, RP_ERR_BAD_INPUT,
			    "two_certificates", "the file holds more than one "
			    "certificate; give one certificate per file");
		if (pem_begin_line(body + i, rest - i, &label, &labellen,
		    &linelen))
			return rp_fail(ei, RP_ERR_BAD_INPUT, "trailing_data",
			    "the certificate is followed by %s; give the "
			    "certificate alone", pem_kind(label, labellen));
		return rp_fail(ei, RP_ERR_BAD_INPUT, "trailing_data",
		    "the file has text after the certificate's END line");
	}

	if ((*der = malloc(bodylen / 4 * 3 + 3)) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	if ((*derlen = rp_b64_decode(body, bodylen, *der,
	    bodylen / 4 * 3 + 3)) == 0) {
		free(*der);
		*der = NULL;
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate's base64 text is malformed or cut short");
	}
	return RP_OK;
}

/*
 * Returns 1 when s[0..n) is valid UTF-8 without control characters (C0,
 * DEL or C1, NUL included), 0 otherwise.
 */
static int
text_ok(const unsigned char *s, size_t n)
{
	size_t	 i;

	if (!rp_utf8_valid((const char *)s, n))
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		/* U+0080..U+009F are 0xc2 0x80..0x9f in UTF-8. */
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

/*
 * Copies the text s[0..n), the value of the attribute named what, into
 * out (outsz bytes) with a NUL.  Returns RP_OK, or RP_ERR_BAD_INPUT when
 * it is not text_ok() or does not fit whole.
 */
static enum rp_err
text_copy(const unsigned char *s, size_t n, const char *what, char *out,
    size_t outsz, struct rp_errinfo *ei)
{
	if (n >= outsz)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_attribute",
		    "the %s is longer than %zu bytes", what, outsz - 1);
	if (!text_ok(s, n))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_attribute",
		    "the %s is not UTF-8 text without control characters",
		    what);
	memcpy(out, s, n);
	out[n] = '\0';
	return RP_OK;
}

/*
 * Writes name as RFC 2253 text (DN_FLAGS) into out (RP_DN_MAX bytes).
 * what names the DN in messages.  Returns RP_OK; RP_ERR_BAD_INPUT when
 * OpenSSL cannot print it or the text fails text_copy(); RP_ERR_NOMEM.
 */
static enum rp_err
dn_text(const X509_NAME *name, const char *what, char out[RP_DN_MAX],
    struct rp_errinfo *ei)
{
	BIO		*bio;
	char		*p = NULL;
	long		 n;
	enum rp_err	 e;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	if (X509_NAME_print_ex(bio, name, 0, DN_FLAGS) < 0) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the %s cannot be read as text", what);
		goto out;
	}
	if ((n = BIO_get_mem_data(bio, &p)) < 0 || (n > 0 && p == NULL)) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "cannot read back the %s", what);
		goto out;
	}
	e = text_copy((const unsigned char *)p, (size_t)n, what, out,
	    RP_DN_MAX, ei);
out:
	BIO_free(bio);
	return e;
}

/*
 * Copies the one attribute nid of the subject name into out (outsz
 * bytes) as UTF-8, "" when absent; what names it in messages.  Returns
 * RP_OK, or RP_ERR_BAD_INPUT when it appears more than once, is not a
 * string type, or fails text_copy().
 */
static enum rp_err
name_attr(const X509_NAME *name, int nid, const char *what, char *out,
    size_t outsz, struct rp_errinfo *ei)
{
	const X509_NAME_ENTRY	*ne;
	const ASN1_STRING	*s;
	unsigned char		*u = NULL;
	int			 idx, n;
	enum rp_err		 e;

	out[0] = '\0';
	if ((idx = X509_NAME_get_index_by_NID(name, nid, -1)) == -1)
		return RP_OK;
	if (idx < 0)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "unknown attribute %s", what);
	if (X509_NAME_get_index_by_NID(name, nid, idx) != -1)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "duplicate_attribute",
		    "the subject has more than one %s; it is ambiguous",
		    what);
	if ((ne = X509_NAME_get_entry(name, idx)) == NULL ||
	    (s = X509_NAME_ENTRY_get_data(ne)) == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "cannot read the subject %s", what);
	if ((n = ASN1_STRING_to_UTF8(&u, s)) < 0)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_attribute",
		    "the subject %s is not a valid text string", what);
	e = text_copy(u, (size_t)n, what, out, outsz, ei);
	OPENSSL_free(u);
	return e;
}

/*
 * Copies the first rfc822Name of x's subjectAltName into out (outsz
 * bytes), "" when there is none.  Returns RP_OK, or RP_ERR_BAD_INPUT
 * when the extension does not decode, appears twice, or the address is
 * not printable ASCII without spaces or does not fit.
 */
static enum rp_err
san_email(const X509 *x, char *out, size_t outsz, struct rp_errinfo *ei)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	const unsigned char	*s;
	int			 crit = -1, i, n, k;
	enum rp_err		 e = RP_OK;

	out[0] = '\0';
	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit,
	    NULL)) == NULL) {
		if (crit == -1)
			return RP_OK;
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the subjectAltName extension is malformed or repeated");
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g == NULL || g->type != GEN_EMAIL)
			continue;
		if (g->d.rfc822Name == NULL) {
			e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
			    "the subjectAltName extension is malformed");
			break;
		}
		s = ASN1_STRING_get0_data(g->d.rfc822Name);
		n = ASN1_STRING_length(g->d.rfc822Name);
		for (k = 0; k < n; k++)
			if (s[k] <= 0x20 || s[k] >= 0x7f)
				break;
		if (n <= 0 || k < n)
			e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_attribute",
			    "the subjectAltName e-mail address is not "
			    "printable ASCII");
		else
			e = text_copy(s, (size_t)n,
			    "subjectAltName e-mail address", out, outsz, ei);
		break;
	}
	GENERAL_NAMES_free(gens);
	return e;
}

/* Writes n bytes of p as hex digits into out (2n + 1 bytes) with a NUL. */
static void
hex_encode(const unsigned char *p, size_t n, int upper, char *out)
{
	const char	*digits = upper ? "0123456789ABCDEF" :
			    "0123456789abcdef";
	size_t		 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/*
 * Writes the keyIdentifier of x's authorityKeyIdentifier into out as
 * upper-case hex, "" when the extension or the field is absent.  Returns
 * RP_OK, or RP_ERR_BAD_INPUT when the extension does not decode, appears
 * twice, or its key identifier is longer than out can hold.
 */
static enum rp_err
aki_hex(const X509 *x, char out[AKI_BYTES * 2 + 1], struct rp_errinfo *ei)
{
	AUTHORITY_KEYID	*akid;
	int		 crit = -1, n;
	enum rp_err	 e = RP_OK;

	out[0] = '\0';
	if ((akid = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit,
	    NULL)) == NULL) {
		if (crit == -1)
			return RP_OK;
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the authorityKeyIdentifier extension is malformed or "
		    "repeated");
	}
	if (akid->keyid != NULL) {
		n = ASN1_STRING_length(akid->keyid);
		if (n < 0 || (size_t)n > AKI_BYTES)
			e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
			    "the authority key identifier is longer than "
			    "%zu bytes", AKI_BYTES);
		else
			hex_encode(ASN1_STRING_get0_data(akid->keyid),
			    (size_t)n, 1, out);
	}
	AUTHORITY_KEYID_free(akid);
	return e;
}

/*
 * Writes x's serial number in canonical form into out.  Returns RP_OK,
 * or RP_ERR_BAD_INPUT for a negative or zero serial (RFC 5280 4.1.2.2
 * wants a positive one) or one longer than 20 bytes.
 */
static enum rp_err
serial_text(const X509 *x, char out[RP_SERIAL_MAX], struct rp_errinfo *ei)
{
	const ASN1_INTEGER	*sn;
	const unsigned char	*p;
	char			 hex[SERIAL_BYTES * 2 + 1];
	int			 n;

	out[0] = '\0';
	if ((sn = X509_get0_serialNumber(x)) == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "the certificate has no serial number");
	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_serial",
		    "the certificate's serial number is negative");
	if (ASN1_STRING_type(sn) != V_ASN1_INTEGER)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "the certificate's serial number is not an integer");

	/* OpenSSL keeps the magnitude, big-endian. */
	p = ASN1_STRING_get0_data(sn);
	n = ASN1_STRING_length(sn);
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	if (n <= 0)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_serial",
		    "the certificate's serial number is zero");
	if ((size_t)n > SERIAL_BYTES)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_serial",
		    "the certificate's serial number is longer than %u bytes",
		    SERIAL_BYTES);
	hex_encode(p, (size_t)n, 1, hex);
	if (x509_serial_norm(hex, 2 * (size_t)n, out) != RP_OK)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "cannot write the serial number");
	return RP_OK;
}

/*
 * Converts t to milliseconds since the epoch in *ms.  Returns RP_OK, or
 * RP_ERR_BAD_INPUT when t is not a valid time; what names it.
 */
static enum rp_err
time_ms(const ASN1_TIME *t, const char *what, int64_t *ms,
    struct rp_errinfo *ei)
{
	struct tm	 tm;
	time_t		 s;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate's %s is not a valid time", what);
	s = timegm(&tm);
	/* -1 is also 1969-12-31T23:59:59Z, which timegm() leaves alone. */
	if (s == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 &&
	    tm.tm_mday == 31 && tm.tm_hour == 23 && tm.tm_min == 59 &&
	    tm.tm_sec == 59))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate's %s is out of range", what);
	/* ASN.1 years have four digits: no overflow in int64_t. */
	*ms = (int64_t)s * 1000;
	return RP_OK;
}

/*
 * Writes x as a new NUL-terminated PEM string into *out, which the
 * caller frees.  Returns RP_OK or RP_ERR_NOMEM.
 */
static enum rp_err
pem_text(X509 *x, char **out, struct rp_errinfo *ei)
{
	BIO		*bio;
	char		*p = NULL;
	long		 n;
	enum rp_err	 e = RP_ERR_NOMEM;

	*out = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (PEM_write_bio_X509(bio, x) != 1)
		goto out;
	if ((n = BIO_get_mem_data(bio, &p)) <= 0 || p == NULL)
		goto out;
	if ((*out = rp_strndup(p, (size_t)n)) == NULL)
		goto out;
	e = RP_OK;
out:
	BIO_free(bio);
	if (e != RP_OK)
		return rp_fail(ei, e, "nomem",
		    "out of memory writing the certificate");
	return e;
}

/*
 * Checks that x encodes back to exactly der[0..derlen).  OpenSSL reads
 * some BER and quietly mends some fields (unused bits of a BIT STRING),
 * and then the fingerprint of the file would not be the fingerprint of
 * the certificate revportal stores and shows.  Returns RP_OK,
 * RP_ERR_BAD_INPUT or RP_ERR_NOMEM.
 */
static enum rp_err
der_canonical(X509 *x, const unsigned char *der, size_t derlen,
    struct rp_errinfo *ei)
{
	unsigned char	*re = NULL;
	int		 relen;
	enum rp_err	 e = RP_OK;

	if ((relen = i2d_X509(x, &re)) <= 0)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem",
		    "out of memory encoding the certificate");
	if ((size_t)relen != derlen || memcmp(re, der, derlen) != 0)
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate is not in canonical DER encoding");
	OPENSSL_free(re);
	return e;
}

/*
 * Fills info from x, whose DER encoding is der[0..derlen).  Returns RP_OK
 * or an error with ei filled; info may then hold a partial result,
 * info->pem included, which the caller frees and clears.
 */
static enum rp_err
cert_fill(X509 *x, const unsigned char *der, size_t derlen,
    struct cert_info *info, struct rp_errinfo *ei)
{
	const X509_NAME	*subj, *iss;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	enum rp_err	 e;

	/* Caches and checks the extensions OpenSSL knows. */
	if (X509_check_purpose(x, -1, 0) != 1)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate's extensions are malformed");
	if ((e = serial_text(x, info->serial, ei)) != RP_OK)
		return e;
	if ((iss = X509_get_issuer_name(x)) == NULL ||
	    (subj = X509_get_subject_name(x)) == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "the certificate has no names");
	if (X509_NAME_entry_count(iss) == 0)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate's issuer name is empty");
	if ((e = dn_text(iss, "issuer name", info->issuer, ei)) != RP_OK ||
	    (e = dn_text(subj, "subject name", info->subject, ei)) != RP_OK)
		return e;
	if ((e = name_attr(subj, NID_commonName, "commonName",
	    info->common_name, sizeof(info->common_name), ei)) != RP_OK ||
	    (e = name_attr(subj, NID_organizationName, "organizationName",
	    info->org_name, sizeof(info->org_name), ei)) != RP_OK ||
	    (e = name_attr(subj, NID_serialNumber, "serialNumber",
	    info->person_id, sizeof(info->person_id), ei)) != RP_OK ||
	    (e = name_attr(subj, NID_organizationIdentifier,
	    "organizationIdentifier", info->org_id, sizeof(info->org_id),
	    ei)) != RP_OK ||
	    (e = name_attr(subj, NID_pkcs9_emailAddress, "emailAddress",
	    info->email, sizeof(info->email), ei)) != RP_OK)
		return e;
	if (info->email[0] == '\0' &&
	    (e = san_email(x, info->email, sizeof(info->email), ei)) != RP_OK)
		return e;
	if ((e = aki_hex(x, info->aki, ei)) != RP_OK)
		return e;

	if (EVP_Digest(der, derlen, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "cannot compute the certificate's SHA-256");
	hex_encode(md, mdlen, 0, info->sha256);

	if ((e = time_ms(X509_get0_notBefore(x), "notBefore",
	    &info->not_before, ei)) != RP_OK ||
	    (e = time_ms(X509_get0_notAfter(x), "notAfter",
	    &info->not_after, ei)) != RP_OK)
		return e;
	if (info->not_after <= info->not_before)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_validity",
		    "the certificate's notAfter is not after its notBefore");

	return pem_text(x, &info->pem, ei);
}

/*
 * Fills info from an X509 OpenSSL already decoded (sig.c's signer from a
 * CMS), with the same checks as x509_read_pem() but without its PEM
 * round trip.  Returns as x509_read_pem() does;
 * on error info is zeroed.  The OpenSSL error queue is left empty.
 */
enum rp_err
x509_info(void *cert, struct cert_info *info, struct rp_errinfo *ei)
{
	X509		*x = cert;
	unsigned char	*der = NULL;
	enum rp_err	 e;
	int		 n;

	if (info == NULL || x == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "no info");
	memset(info, 0, sizeof(*info));
	if ((n = i2d_X509(x, &der)) <= 0 || (size_t)n > RP_PEM_MAX)
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate cannot be encoded");
	else if ((e = der_canonical(x, der, (size_t)n, ei)) == RP_OK)
		e = cert_fill(x, der, (size_t)n, info, ei);
	if (e != RP_OK) {
		cert_info_free(info);
		memset(info, 0, sizeof(*info));
	}
	OPENSSL_free(der);
	ERR_clear_error();
	return e;
}

/*
 * Reads one certificate from the untrusted PEM text pem[0..len) into
 * info.  Returns RP_OK with every field of info filled and info->pem a
 * new string that cert_info_free() releases.  Otherwise returns
 * RP_ERR_TOO_LARGE (len over RP_PEM_MAX), RP_ERR_BAD_INPUT (ei->code
 * "not_pem", "leading_data", "not_certificate", "two_certificates",
 * "trailing_data", "bad_certificate", "bad_serial", "bad_attribute",
 * "duplicate_attribute" or "bad_validity"), RP_ERR_NOMEM or
 * RP_ERR_INTERNAL, with ei filled and info zeroed: there is nothing to
 * free then, though cert_info_free() is harmless.  No message repeats the
 * input.  The OpenSSL error queue is left empty.
 */
enum rp_err
x509_read_pem(const char *pem, size_t len, struct cert_info *info,
    struct rp_errinfo *ei)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 derlen = 0;
	X509			*x = NULL;
	enum rp_err		 e;

	if (info == NULL)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "no info");
	memset(info, 0, sizeof(*info));
	if (len > RP_PEM_MAX) {
		e = rp_fail(ei, RP_ERR_TOO_LARGE, "too_large",
		    "the file is larger than %u bytes", RP_PEM_MAX);
		goto out;
	}
	if (pem == NULL)
		len = 0;
	if ((e = pem_unwrap(pem, len, &der, &derlen, ei)) != RP_OK)
		goto out;
	/* derlen is below RP_PEM_MAX, so it fits a long. */
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)derlen)) == NULL) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the file's content is not a valid X.509 certificate");
		goto out;
	}
	if (p != der + derlen) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the PEM block holds extra bytes after the certificate");
		goto out;
	}
	if ((e = der_canonical(x, der, derlen, ei)) != RP_OK)
		goto out;
	e = cert_fill(x, der, derlen, info, ei);
out:
	if (e != RP_OK) {
		cert_info_free(info);
		memset(info, 0, sizeof(*info));
	}
	X509_free(x);
	free(der);
	ERR_clear_error();
	return e;
}

/* Frees what info owns (its pem); accepts NULL and a zeroed info. */
void
cert_info_free(struct cert_info *info)
{
	if (info == NULL)
		return;
	free(info->pem);
	info->pem = NULL;
}

/*
 * Writes the serial number text in[0..len) in canonical form into out:
 * upper-case hex without leading zeros, "0" for zero.  The text is hex
 * digits in either case; a single ':' or ' ' may separate any two digits
 * (so "42:ba:82", "0042BA82 334F" and "4:2BA" are all accepted), but a
 * separator may not start or end it or follow another one.  Returns
 * RP_OK, or RP_ERR_BAD_INPUT (out then "") when the text is empty, holds
 * anything else, or has more than 40 digits after its leading zeros.
 */
enum rp_err
x509_serial_norm(const char *in, size_t len, char out[RP_SERIAL_MAX])
{
	size_t	 i, n = 0;
	int	 sep = 1;	/* before the first digit: no separator */
	char	 c;

	out[0] = '\0';
	if (in == NULL)
		return RP_ERR_BAD_INPUT;
	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == ':' || c == ' ') {
			if (sep)
				goto bad;
			sep = 1;
			continue;
		}
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			goto bad;
		sep = 0;
		if (n == 0 && c == '0')
			continue;
		if (n == RP_SERIAL_MAX - 1)
			goto bad;
		out[n++] = c;
	}
	/* Empty, or ends with a separator. */
	if (sep)
		goto bad;
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
	return RP_OK;
bad:
	out[0] = '\0';
	return RP_ERR_BAD_INPUT;
}
