/*
 * The EJBCA backend, on EJBCA's REST interface v1 (the published OpenAPI
 * document; /work/shared/reference has the paths revportal uses).
 *
 *	PUT {base}/ejbca/ejbca-rest-api/v1/certificate/{issuer_dn}/{serial}
 *	    /revoke?reason=KEY_COMPROMISE
 *	GET {base}/ejbca/ejbca-rest-api/v1/certificate/{issuer_dn}/{serial}
 *	    /revocationstatus
 *
 * issuer_dn is the issuing CA's subject DN, percent-encoded as one path
 * segment; the serial is hex without a prefix.  A suspension is a
 * revocation with CERTIFICATE_HOLD, a reactivation one with
 * REMOVE_FROM_CRL (and never an invalidity_date).  Authentication is the
 * TLS client certificate of struct hc.
 *
 * The outcome is judged by the revocation status EJBCA reports, never by
 * its message: EJBCA says "Successfully revoked" after a REMOVE_FROM_CRL
 * as well, when the certificate is active again.  After a 200 the driver
 * reads the status; 202 means the action waits for an approval inside
 * EJBCA (CA_PENDING, and check reads the status later), and so does a
 * 202 to a revoke sent again while that approval is pending (the
 * reference does not say what EJBCA answers then; the contract server
 * answers 202 again); 409 means already revoked, and the status tells
 * whether that is what was wanted.
 *
 * A recovery's new certificate comes from the PKCS#10 enrolment,
 *
 *	POST {base}/ejbca/ejbca-rest-api/v1/certificate/pkcs10enroll
 *	{"certificate_request": "<PEM>", "certificate_profile_name": ...,
 *	 "end_entity_profile_name": ..., "certificate_authority_name": ...,
 *	 "username": ..., "password": ..., "include_chain": false,
 *	 "response_format": "DER"}
 *
 * (EnrollCertificateRestRequest), answered 201 (200 in some versions)
 * with CertificateEnrollmentRestResponse, whose "certificate" is
 * OpenAPI "format: byte": base64 of what EJBCA holds, which is itself
 * the base64 of the DER (the published example decodes to "MIID...").
 * The driver takes either: one decoding that gives DER, or two.  The
 * names come from [relay]: ejbca_ca_name (required), the certificate and
 * end entity profiles (empty: the old certificate's type name).  The
 * username is the old certificate's subject serialNumber (the ETSI
 * person identifier, PNOSI-...), so that the end entity is the
 * subscriber's; a certificate without one (an e-seal) uses
 * "revportal-<old serial>".  The password, the end entity's enrolment
 * code, is new random text for each call: EJBCA sets it on the end
 * entity it adds or edits, and nobody needs it afterwards.  A 202 (the
 * enrolment waits for an approval inside EJBCA) is not waited for: an
 * enrolment asked again could issue twice, so it is a permanent failure
 * for an officer, who finishes it at the CA.
 *
 * The REST enrolment has no field for the subjectAltName: EJBCA takes
 * it from the request (as far as the end entity profile lets it), and
 * job->old_cert_pem is not sent.  The relay refuses a new certificate
 * whose subjectAltName is not the old one's (csr_successor_check()), so
 * against EJBCA a subscriber whose old certificate has one repeats it in
 * the request, which csr_check() lets through unchanged only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"

#define EJBCA_URL_MAX	(RP_DN_MAX * 3 + 1024)	/* encoded DN and the rest */
#define EJBCA_WORD_MAX	32u			/* one reason word */

/*
 * What the driver asks of EJBCA, each piece named once, so that
 * tests/unit/test_ca_ejbca_ref.c finds every one in the OpenAPI
 * document: the server's base path (servers[].url), the resource of a
 * certificate ({issuer_dn}/{certificate_serial_number} follow it), and
 * the calls on it with their method and query parameter.
 */
#define EJBCA_SERVER	"/ejbca/ejbca-rest-api"
#define EJBCA_RESOURCE	"/v1/certificate/"
#define EJBCA_ENROLL	"/v1/certificate/pkcs10enroll"
#define EJBCA_ENROLL_METHOD "POST"
#define EJBCA_USER_MAX	(RP_SERIAL_MAX + 16u)	/* "revportal-<serial>" */

/* The members of EnrollCertificateRestRequest the driver sends. */
enum ejbca_efield {
	EF_CSR,
	EF_CERT_PROFILE,
	EF_EE_PROFILE,
	EF_CA_NAME,
	EF_USERNAME,
	EF_PASSWORD,
	EF_INCLUDE_CHAIN,
	EF_FORMAT,
	EF__MAX
};

static const struct ejbca_field {
	const char	*name;
	const char	*type;		/* its OpenAPI type */
} ejbca_efields[EF__MAX] = {
	[EF_CSR] = { "certificate_request", "string" },
	[EF_CERT_PROFILE] = { "certificate_profile_name", "string" },
	[EF_EE_PROFILE] = { "end_entity_profile_name", "string" },
	[EF_CA_NAME] = { "certificate_authority_name", "string" },
	[EF_USERNAME] = { "username", "string" },
	[EF_PASSWORD] = { "password", "string" },
	[EF_INCLUDE_CHAIN] = { "include_chain", "boolean" },
	[EF_FORMAT] = { "response_format", "string" },
};

/* The members of CertificateEnrollmentRestResponse the driver reads. */
enum ejbca_rfield {
	RF_CERTIFICATE,
	RF_SERIAL,
	RF__MAX
};

static const struct ejbca_field ejbca_rfields[RF__MAX] = {
	[RF_CERTIFICATE] = { "certificate", "string" },
	[RF_SERIAL] = { "serial_number", "string" },
};

enum ejbca_op {
	EJBCA_REVOKE,
	EJBCA_STATUS,
	EJBCA__OPS
};

static const struct ejbca_call {
	const char	*method;
	const char	*op;		/* the path after the serial's "/" */
	const char	*query;		/* its one query parameter, NULL */
} ejbca_calls[EJBCA__OPS] = {
	[EJBCA_REVOKE] = { "PUT", "revoke", "reason" },
	[EJBCA_STATUS] = { "GET", "revocationstatus", NULL },
};

#ifdef RP_UNITTEST
/* Reached by tests/unit/test_ca_ejbca_ref.c, which declares them too. */
int		 ejbca_ref_call(unsigned int, const char **, const char **,
		    const char **, const char **, const char **);
const char	*ejbca_ref_word(unsigned int);
int		 ejbca_ref_enroll(const char **, const char **, const char **);
int		 ejbca_ref_field(int, unsigned int, const char **,
		    const char **);
#endif

/* EJBCA's reason words (RevocationReasons), by RFC 5280 value. */
static const char *const ejbca_words[REASON__MAX] = {
	[REASON_UNSPECIFIED] = "UNSPECIFIED",
	[REASON_KEY_COMPROMISE] = "KEY_COMPROMISE",
	[REASON_CA_COMPROMISE] = "CA_COMPROMISE",
	[REASON_AFFILIATION_CHANGED] = "AFFILIATION_CHANGED",
	[REASON_SUPERSEDED] = "SUPERSEDED",
	[REASON_CESSATION] = "CESSATION_OF_OPERATION",
	[REASON_HOLD] = "CERTIFICATE_HOLD",
	[REASON_REMOVE_FROM_CRL] = "REMOVE_FROM_CRL",
	[REASON_PRIVILEGE_WITHDRAWN] = "PRIVILEGES_WITHDRAWN",
	[REASON_AA_COMPROMISE] = "AA_COMPROMISE",
};

/* A certificate's revocation status as EJBCA reports it. */
struct ejbca_status {
	int		 revoked;
	enum crl_reason	 reason;	/* REASON__MAX: none or unknown */
	char		 word[EJBCA_WORD_MAX];	/* as reported, printable */
};

#ifdef RP_UNITTEST
/*
 * Gives call i of the driver (0 to EJBCA__OPS - 1): the server's base
 * path, the certificate resource, the method, the operation's path
 * segment and its query parameter (NULL for none).  Returns 1, or 0 past
 * the last call.  For the tests only.
 */
int
ejbca_ref_call(unsigned int i, const char **server, const char **resource,
    const char **method, const char **op, const char **query)
{
	if (i >= EJBCA__OPS)
		return 0;
	*server = EJBCA_SERVER;
	*resource = EJBCA_RESOURCE;
	*method = ejbca_calls[i].method;
	*op = ejbca_calls[i].op;
	*query = ejbca_calls[i].query;
	return 1;
}

/*
 * Returns EJBCA's word for reason (an enum crl_reason), NULL for a value
 * EJBCA has none for (7) or out of range.  For the tests only.
 */
const char *
ejbca_ref_word(unsigned int reason)
{
	return reason < REASON__MAX ? ejbca_words[reason] : NULL;
}
#endif

#ifdef RP_UNITTEST
/*
 * Gives the enrolment call: the server's base path, the path and the
 * method.  Returns 1.  For the tests only.
 */
int
ejbca_ref_enroll(const char **server, const char **path,
    const char **method)
{
	*server = EJBCA_SERVER;
	*path = EJBCA_ENROLL;
	*method = EJBCA_ENROLL_METHOD;
	return 1;
}

/*
 * Gives member i of the enrolment's request body (response 0) or of its
 * answer that the driver reads (response 1): its name and OpenAPI type.
 * Returns 1, or 0 past the last.  For the tests only.
 */
int
ejbca_ref_field(int response, unsigned int i, const char **name,
    const char **type)
{
	const struct ejbca_field	*f;

	if (response ? i >= RF__MAX : i >= EF__MAX)
		return 0;
	f = response ? &ejbca_rfields[i] : &ejbca_efields[i];
	*name = f->name;
	*type = f->type;
	return 1;
}
#endif

/* Returns the reason EJBCA's word names, or REASON__MAX. */
static enum crl_reason
ejbca_reason_parse(const char *word)
{
	unsigned int	 i;

	for (i = 0; i < REASON__MAX; i++)
		if (ejbca_words[i] != NULL && strcmp(word, ejbca_words[i]) == 0)
			return (enum crl_reason)i;
	return REASON__MAX;
}

/*
 * Writes the string member key of the JSON object in hr's body (EJBCA's
 * "error_message" or "info_message") into out, fit for an officer; ""
 * when there is none.
 */
static void
ejbca_body_text(const struct hc_resp *hr, const char *key, char *out,
    size_t outsz)
{
	json_t		*root, *v;
	const char	*s;

	out[0] = '\0';
	if (hr->body.len == 0 || (root = json_loadb(hr->body.p, hr->body.len,
	    JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return;
	if (json_is_object(root) && json_is_string(v = json_object_get(root,
	    key))) {
		s = json_string_value(v);
		ca_text(out, outsz, s, json_string_length(v));
	}
	json_decref(root);
}

/*
 * Returns 1 when the hex serials a and b name the same number: either
 * case, leading zeros ignored.
 */
static int
ejbca_same_serial(const char *a, const char *b)
{
	while (*a == '0' && a[1] != '\0')
		a++;
	while (*b == '0' && b[1] != '\0')
		b++;
	return strcasecmp(a, b) == 0;
}

/*
 * Writes into url the certificate's resource, {base}/ejbca/ejbca-rest-api
 * /v1/certificate/{issuer_dn}/{serial}.  Returns 1, or 0 with r set to
 * CA_PERMANENT when the base URL is empty or the URL too long.
 */
static int
ejbca_cert_url(struct buf *url, const char *base_url,
    const struct ca_job *job, struct ca_result *r)
{
	if (ca_url_base(url, base_url) != RP_OK ||
	    buf_adds(url, EJBCA_SERVER EJBCA_RESOURCE) != RP_OK ||
	    ca_url_segment(url, job->issuer) != RP_OK ||
	    buf_addc(url, '/') != RP_OK ||
	    buf_adds(url, job->serial) != RP_OK) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the CA's base "
		    "URL is empty or the URL too long");
		return 0;
	}
	return 1;
}

/*
 * Reads a revocationstatus answer from hr into st.  Returns 1, or 0 when
 * it is not a JSON object with a boolean "revoked", or names another
 * serial number than job's.
 */
static int
ejbca_status_parse(const struct hc_resp *hr, const struct ca_job *job,
    struct ejbca_status *st)
{
	json_t		*root, *v;
	int		 ok = 0;

	st->revoked = 0;
	st->reason = REASON__MAX;
	st->word[0] = '\0';
	if (hr->body.len == 0 || (root = json_loadb(hr->body.p, hr->body.len,
	    JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	if (!json_is_object(root) ||
	    !json_is_boolean(v = json_object_get(root, "revoked")))
		goto out;
	st->revoked = json_is_true(v);
	if (json_is_string(v = json_object_get(root, "serial_number")) &&
	    !ejbca_same_serial(json_string_value(v), job->serial))
		goto out;
	if (json_is_string(v = json_object_get(root, "revocation_reason"))) {
		st->reason = ejbca_reason_parse(json_string_value(v));
		ca_text(st->word, sizeof(st->word), json_string_value(v),
		    json_string_length(v));
	}
	if (st->word[0] == '\0')
		(void)snprintf(st->word, sizeof(st->word), "no reason given");
	ok = 1;
out:
	json_decref(root);
	return ok;
}

/*
 * Asks for the revocation status of the certificate at cert_url.  Returns
 * 1 with st filled and r's HTTP status set; or 0 with r set: CA_RETRY
 * when there is no answer, or it is 5xx, 429, unreadable or about another
 * certificate; CA_PERMANENT for 404 (no such CA or certificate) and any
 * other refusal.
 */
static int
ejbca_status(struct hc *hc, const char *cert_url, const struct ca_job *job,
    struct ejbca_status *st, struct ca_result *r)
{
	struct buf	 url;
	struct hc_resp	 hr;
	char		 msg[RP_ERRMSG_MAX];
	enum rp_err	 e;
	int		 ok = 0;

	memset(&hr, 0, sizeof(hr));
	buf_init(&url, EJBCA_URL_MAX);
	if (buf_addf(&url, "%s/%s", cert_url,
	    ejbca_calls[EJBCA_STATUS].op) != RP_OK) {
		ca_result_set(r, CA_PERMANENT, 0, "status: the URL is too "
		    "long");
		goto out;
	}
	if ((e = hc_request(hc, ejbca_calls[EJBCA_STATUS].method, url.p,
	    NULL, NULL, 0, &hr)) != RP_OK) {
		ca_transport(r, e, &hr, "status");
		goto out;
	}
	ejbca_body_text(&hr, "error_message", msg, sizeof(msg));
	if (hr.status == 200) {
		r->http_status = hr.status;
		if ((ok = ejbca_status_parse(&hr, job, st)) == 0)
			ca_result_set(r, CA_RETRY, hr.status, "status: the "
			    "CA's answer is unreadable or for another "
			    "certificate");
	} else if (hr.status == 429 || hr.status >= 500)
		ca_result_set(r, CA_RETRY, hr.status, "status: the CA is "
		    "unavailable (HTTP %ld) %s", hr.status, msg);
	else if (hr.status == 404)
		ca_result_set(r, CA_PERMANENT, hr.status, "status: the CA "
		    "knows no such CA or certificate (HTTP 404) %s", msg);
	else
		ca_result_set(r, CA_PERMANENT, hr.status, "status: the CA "
		    "refused (HTTP %ld) %s", hr.status, msg);
out:
	hc_resp_free(&hr);
	buf_free(&url);
	return ok;
}

/*
 * Sets r by comparing the status EJBCA reports with the one job wants:
 * CA_DONE when they agree; CA_PENDING while the wanted status may still
 * come (not revoked yet, or on hold when a revocation or a reactivation
 * is wanted); CA_PERMANENT when it no longer can (revoked for good,
 * with another reason than a wanted revocation's, or at all when a hold
 * or a reactivation is wanted).  ctx starts the message.
 */
static void
ejbca_judge(const struct ca_job *job, const struct ejbca_status *st,
    long status, const char *ctx, struct ca_result *r)
{
	const char	*want = ejbca_words[job->reason];
	int		 held = st->revoked && st->reason == REASON_HOLD;

	switch (job->action) {
	case ACT_REVOKE:
		if (st->revoked && st->reason == job->reason)
			ca_result_set(r, CA_DONE, status, "%srevoked at the "
			    "CA (%s)", ctx, st->word);
		else if (!st->revoked || held)
			ca_result_set(r, CA_PENDING, status, "%snot revoked "
			    "at the CA yet (%s)", ctx, st->revoked ?
			    "on hold" : "revoked: false");
		else
			ca_result_set(r, CA_PERMANENT, status, "%salready "
			    "revoked at the CA with reason %s, not %s", ctx,
			    st->word, want);
		break;
	case ACT_SUSPEND:
		if (held)
			ca_result_set(r, CA_DONE, status, "%son hold at the CA "
			    "(%s)", ctx, st->word);
		else if (!st->revoked)
			ca_result_set(r, CA_PENDING, status, "%snot on hold "
			    "at the CA yet (revoked: false)", ctx);
		else
			ca_result_set(r, CA_PERMANENT, status, "%srevoked for "
			    "good at the CA (%s): it cannot be suspended", ctx,
			    st->word);
		break;
	case ACT_REACTIVATE:
		if (!st->revoked)
			ca_result_set(r, CA_DONE, status, "%sactive again at "
			    "the CA (revoked: false)", ctx);
		else if (held)
			ca_result_set(r, CA_PENDING, status, "%sstill on hold "
			    "at the CA", ctx);
		else
			ca_result_set(r, CA_PERMANENT, status, "%srevoked for "
			    "good at the CA (%s): it cannot be reactivated",
			    ctx, st->word);
		break;
	default:
		ca_result_set(r, CA_PERMANENT, status, "unknown action");
		break;
	}
}

/*
 * Reads the status after the CA answered the revoke call with status and
 * judges it (ejbca_judge()).  When the status cannot be read for a
 * passing reason the outcome is CA_PENDING: the CA took the call, and
 * check reads the status later instead of sending it again.
 */
static void
ejbca_confirm(struct hc *hc, const char *cert_url, const struct ca_job *job,
    long status, const char *ctx, struct ca_result *r)
{
	struct ejbca_status	 st;

	if (ejbca_status(hc, cert_url, job, &st, r)) {
		ejbca_judge(job, &st, status, ctx, r);
		return;
	}
	if (r->outcome == CA_RETRY)
		ca_result_set(r, CA_PENDING, status, "%sthe CA answered HTTP "
		    "%ld; its status is not read yet: %s", ctx, status,
		    r->message);
	else
		r->http_status = status;
}

/*
 * Asks EJBCA to revoke, suspend or reactivate job's certificate (see the
 * top of the file); recovery is CA_UNSUPPORTED for now.  A job that
 * ca_job_valid() refuses is never sent.
 */
static void
ejbca_deliver(struct hc *hc, const char *base_url, const struct ca_job *job,
    struct ca_result *r)
{
	struct buf	 cert_url, url;
	struct hc_resp	 hr;
	char		 msg[RP_ERRMSG_MAX];
	enum rp_err	 e;
	long		 st;

	memset(r, 0, sizeof(*r));
	memset(&hr, 0, sizeof(hr));
	buf_init(&cert_url, EJBCA_URL_MAX);
	buf_init(&url, EJBCA_URL_MAX);
	if (job->action == ACT_RECOVER) {
		ca_result_set(r, CA_UNSUPPORTED, 0, "a recovery is an "
		    "enrolment, then a revocation: not one delivery");
		goto out;
	}
	if (!ca_job_valid(job, r) || !ejbca_cert_url(&cert_url, base_url,
	    job, r))
		goto out;
	/* The reason words are [A-Z_]: nothing to encode. */
	if (buf_addf(&url, "%s/%s?%s=%s", cert_url.p,
	    ejbca_calls[EJBCA_REVOKE].op, ejbca_calls[EJBCA_REVOKE].query,
	    ejbca_words[job->reason]) != RP_OK) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the URL is too "
		    "long");
		goto out;
	}
	if ((e = hc_request(hc, ejbca_calls[EJBCA_REVOKE].method, url.p,
	    NULL, NULL, 0, &hr)) != RP_OK) {
		ca_transport(r, e, &hr, "revoke");
		goto out;
	}
	st = hr.status;
	if (st == 202) {
		ejbca_body_text(&hr, "info_message", msg, sizeof(msg));
		ca_result_set(r, CA_PENDING, st, "pending approval at the "
		    "CA%s%s", msg[0] != '\0' ? ": " : "", msg);
		goto out;
	}
	ejbca_body_text(&hr, "error_message", msg, sizeof(msg));
	if (st >= 200 && st < 300)
		ejbca_confirm(hc, cert_url.p, job, st, "", r);
	else if (st == 409)
		ejbca_confirm(hc, cert_url.p, job, st, "the CA says already "
		    "revoked: ", r);
	else if (st == 429 || st >= 500)
		ca_result_set(r, CA_RETRY, st, "the CA is unavailable "
		    "(HTTP %ld) %s", st, msg);
	else if (st == 404)
		ca_result_set(r, CA_PERMANENT, st, "the CA knows no such CA "
		    "or certificate (HTTP 404) %s", msg);
	else if (st >= 400)
		ca_result_set(r, CA_PERMANENT, st, "the CA refused (HTTP %ld) "
		    "%s", st, msg);
	else
		ca_result_set(r, CA_PERMANENT, st, "unexpected answer from the "
		    "CA (HTTP %ld)", st);
out:
	hc_resp_free(&hr);
	buf_free(&url);
	buf_free(&cert_url);
}

/*
 * Reads the certificate's revocation status and judges it against job
 * (ejbca_judge()): the call after CA_PENDING, or before delivering again.
 */
static void
ejbca_check(struct hc *hc, const char *base_url, const struct ca_job *job,
    struct ca_result *r)
{
	struct buf		 cert_url;
	struct ejbca_status	 st;

	memset(r, 0, sizeof(*r));
	buf_init(&cert_url, EJBCA_URL_MAX);
	if (job->action == ACT_RECOVER) {
		ca_result_set(r, CA_UNSUPPORTED, 0, "a recovery is an "
		    "enrolment, then a revocation: not one status");
		goto out;
	}
	if (!ca_job_valid(job, r) || !ejbca_cert_url(&cert_url, base_url,
	    job, r))
		goto out;
	if (ejbca_status(hc, cert_url.p, job, &st, r))
		ejbca_judge(job, &st, r->http_status, "", r);
out:
	buf_free(&cert_url);
}

/*
 * Decodes base64 text s (len bytes, no white space, padded) into a new
 * buffer *out (*outlen bytes; free() it).  Returns 0, or -1 for text
 * that is not such base64 or too long.
 */
static int
ejbca_b64(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	static const char	 alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=";
	size_t			 i, pad = 0;
	int			 n;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len % 4 != 0 || len > CA_ISSUED_MAX * 2)
		return -1;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	if (memchr(s, '=', len - pad) != NULL ||
	    (*out = malloc(len / 4 * 3 + 1)) == NULL)
		return -1;
	if ((n = EVP_DecodeBlock(*out, (const unsigned char *)s,
	    (int)len)) < 0 || (size_t)n < pad) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*outlen = (size_t)n - pad;
	return 0;
}

/*
 * Turns the enrolment answer's "certificate" (s, len bytes: base64 of
 * the DER, or base64 of the base64 of the DER) into PEM in
 * r->issued_pem, and checks it against the answer's serial_number when
 * one was given.  Returns 1, or 0 when it is not one DER certificate.
 */
static int
ejbca_issued(const char *s, size_t len, const char *serial,
    struct ca_result *r)
{
	unsigned char		*der = NULL, *inner = NULL;
	const unsigned char	*p;
	X509			*x = NULL;
	BIO			*bio = NULL;
	BIGNUM			*bn = NULL;
	char			*hex = NULL, *pem;
	size_t			 dlen, ilen;
	long			 plen;
	int			 ok = 0;

	if (ejbca_b64(s, len, &der, &dlen) == -1 || dlen == 0)
		goto out;
	if (der[0] != 0x30) {
		/* The base64 text of the DER, encoded once more. */
		if (ejbca_b64((const char *)der, dlen, &inner, &ilen) == -1)
			goto out;
		free(der);
		der = inner;
		dlen = ilen;
		inner = NULL;
	}
	p = der;
	if (dlen > CA_ISSUED_MAX || (x = d2i_X509(NULL, &p, (long)dlen)) ==
	    NULL || p != der + dlen)
		goto out;
	if (serial != NULL) {
		if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x),
		    NULL)) == NULL || (hex = BN_bn2hex(bn)) == NULL ||
		    !ejbca_same_serial(hex, serial))
			goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1 ||
	    (plen = BIO_get_mem_data(bio, &pem)) <= 0)
		goto out;
	ok = ca_issued_set(r, pem, (size_t)plen);
out:
	OPENSSL_free(hex);
	BN_free(bn);
	BIO_free(bio);
	X509_free(x);
	free(inner);
	free(der);
	return ok;
}

/*
 * Writes the username of job's end entity into out (see the top of the
 * file).  Returns 1, or 0 when it does not fit.
 */
static int
ejbca_username(const struct ca_job *job, char out[EJBCA_USER_MAX])
{
	int	 n;

	if (job->person != NULL && job->person[0] != '\0')
		n = snprintf(out, EJBCA_USER_MAX, "%s", job->person);
	else
		n = snprintf(out, EJBCA_USER_MAX, "revportal-%s", job->serial);
	return n > 0 && (size_t)n < EJBCA_USER_MAX;
}

/*
 * Returns the enrolment body of job (json_decref() it), or NULL with r
 * set: CA_PERMANENT for a job that lacks what it needs (nothing sent),
 * CA_RETRY without memory or randomness.
 */
static json_t *
ejbca_enroll_body(const struct ca_job *job, struct ca_result *r)
{
	json_t		*b;
	const char	*v[EF__MAX];
	char		 user[EJBCA_USER_MAX], pass[RP_ID_LEN + 1];
	size_t		 len;
	unsigned int	 i;

	if (job->action != ACT_RECOVER || job->csr_pem == NULL ||
	    (len = strlen(job->csr_pem)) == 0 || len > CSR_PEM_MAX ||
	    job->cert_type == NULL || job->cert_type[0] == '\0' ||
	    job->serial == NULL || !ejbca_username(job, user)) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: an enrolment "
		    "needs a recovery's certificate request and type");
		return NULL;
	}
	if (job->ejbca_ca_name == NULL || job->ejbca_ca_name[0] == '\0') {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: [relay] "
		    "ejbca_ca_name is not set");
		return NULL;
	}
	if (rp_random_id(pass) != RP_OK) {
		ca_result_set(r, CA_RETRY, 0, "no randomness for the "
		    "enrolment code");
		return NULL;
	}
	v[EF_CSR] = job->csr_pem;
	v[EF_CERT_PROFILE] = job->ejbca_cert_profile != NULL &&
	    job->ejbca_cert_profile[0] != '\0' ? job->ejbca_cert_profile :
	    job->cert_type;
	v[EF_EE_PROFILE] = job->ejbca_ee_profile != NULL &&
	    job->ejbca_ee_profile[0] != '\0' ? job->ejbca_ee_profile :
	    job->cert_type;
	v[EF_CA_NAME] = job->ejbca_ca_name;
	v[EF_USERNAME] = user;
	v[EF_PASSWORD] = pass;
	v[EF_INCLUDE_CHAIN] = NULL;
	v[EF_FORMAT] = "DER";
	if ((b = json_object()) == NULL)
		goto nomem;
	for (i = 0; i < EF__MAX; i++)
		if (json_object_set_new(b, ejbca_efields[i].name,
		    i == EF_INCLUDE_CHAIN ? json_false() :
		    json_string(v[i])) != 0)
			goto nomem;
	return b;
nomem:
	json_decref(b);
	ca_result_set(r, CA_RETRY, 0, "out of memory");
	return NULL;
}

/*
 * Asks EJBCA to issue a certificate for job's CSR (see the top of the
 * file).  CA_DONE with r->issued_pem after 200 or 201 with a certificate;
 * CA_RETRY when there is no answer or it is 5xx or 429 (nothing was
 * issued); CA_PERMANENT for 202 (waiting for an approval at the CA), any
 * refusal with EJBCA's words, and an answer without a readable
 * certificate.
 */
static void
ejbca_enroll(struct hc *hc, const char *base_url, const struct ca_job *job,
    struct ca_result *r)
{
	struct buf	 url;
	struct hc_resp	 hr;
	json_t		*body = NULL, *ans = NULL, *c, *sn;
	char		*text = NULL, msg[RP_ERRMSG_MAX];
	enum rp_err	 e;
	long		 st;

	memset(r, 0, sizeof(*r));
	memset(&hr, 0, sizeof(hr));
	buf_init(&url, EJBCA_URL_MAX);
	if ((body = ejbca_enroll_body(job, r)) == NULL)
		goto out;
	if (ca_url_base(&url, base_url) != RP_OK ||
	    buf_adds(&url, EJBCA_SERVER EJBCA_ENROLL) != RP_OK) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the CA's base "
		    "URL is empty or too long");
		goto out;
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		ca_result_set(r, CA_RETRY, 0, "out of memory");
		goto out;
	}
	if ((e = hc_request(hc, EJBCA_ENROLL_METHOD, url.p,
	    "application/json", text, strlen(text), &hr)) != RP_OK) {
		ca_transport(r, e, &hr, "enrol");
		goto out;
	}
	st = hr.status;
	if (st == 200 || st == 201) {
		ans = json_loadb(hr.body.p != NULL ? hr.body.p : "",
		    hr.body.len, JSON_REJECT_DUPLICATES, NULL);
		c = json_object_get(ans, ejbca_rfields[RF_CERTIFICATE].name);
		sn = json_object_get(ans, ejbca_rfields[RF_SERIAL].name);
		if (json_is_string(c) && (sn == NULL || json_is_string(sn)) &&
		    ejbca_issued(json_string_value(c), json_string_length(c),
		    json_string_value(sn), r))
			ca_result_set(r, CA_DONE, st, "EJBCA issued the new "
			    "certificate");
		else
			ca_result_set(r, CA_PERMANENT, st, "the CA's answer "
			    "to the enrolment (HTTP %ld) holds no readable "
			    "certificate", st);
		goto out;
	}
	if (st == 202) {
		ejbca_body_text(&hr, "info_message", msg, sizeof(msg));
		ca_result_set(r, CA_PERMANENT, st, "the enrolment waits for "
		    "an approval at the CA: finish it there, it is not asked "
		    "again%s%s", msg[0] != '\0' ? ": " : "", msg);
		goto out;
	}
	ejbca_body_text(&hr, "error_message", msg, sizeof(msg));
	if (st == 429 || st >= 500)
		ca_result_set(r, CA_RETRY, st, "the CA is unavailable "
		    "(HTTP %ld) %s", st, msg);
	else
		ca_result_set(r, CA_PERMANENT, st, "the CA refused the "
		    "enrolment (HTTP %ld) %s", st, msg);
out:
	json_decref(ans);
	json_decref(body);
	free(text);
	hc_resp_free(&hr);
	buf_free(&url);
}

const struct ca_driver ca_ejbca_driver = {
	.name = "ejbca",
	.deliver = ejbca_deliver,
	.check = ejbca_check,
	.enroll = ejbca_enroll,
};
