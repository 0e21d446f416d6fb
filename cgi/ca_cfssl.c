/*
 * The cfssl backend, for cfssl 1.2.0 as Debian ships it (golang-cfssl).
 *
 * A revocation or a suspension is one call,
 *
 *	POST {base}/api/v1/cfssl/revoke
 *	{"serial": "<decimal>", "authority_key_id": "<hex>",
 *	 "reason": "<RFC 5280 name>"}
 *
 * which cfssl carries out synchronously as one UPDATE of its certificates
 * table: {"success":true,...} means the row is revoked.  It answers
 * {"success":false,"errors":[{"code":N,"message":"..."}]} otherwise, code
 * 11200 when no row has that serial and key identifier.
 *
 * A recovery's new certificate (enroll) is one call too,
 *
 *	POST {base}/api/v1/cfssl/sign
 *	{"certificate_request": "<PEM>", "profile": "<type>",
 *	 "hosts": ["<name>", ...]}
 *
 * answered {"success":true,"result":{"certificate":"<PEM>"}}; the profile
 * is the old certificate's type (personal, business, ...), as
 * deploy/dev/signing.json names them (cfssl 1.2.0 signs a name it does
 * not know with its default profile).  cfssl records the certificate in
 * its database.  It copies only the subject attributes Go knows by name
 * (organizationIdentifier is lost), so the relay checks the issued
 * certificate's key and subjectAltName, not its subject.  The old
 * certificate is then revoked with reason superseded through the revoke
 * call above.
 *
 * "hosts" is always sent: without it (or with null) cfssl 1.2.0 copies
 * the request's DNS names, e-mail and IP addresses into the certificate,
 * whoever's they are.  Given a list, it writes those names instead, and
 * none for an empty list (tests/unit/test_recovery.c asks the real
 * cfssl).  The list is the old certificate's subjectAltName
 * (csr_san_hosts()); one cfssl cannot write again is not sent.
 *
 * What cfssl cannot do is said, never pretended: it has no way to lift a
 * hold (a "removeFromCRL" revocation leaves the row revoked, with reason
 * 8), and no status call, so check answers CA_UNSUPPORTED and the relay
 * delivers again.  Delivering again is
 * harmless to the outcome but not invisible: cfssl sets revoked_at anew
 * and writes the reason it is given over the old one.
 *
 * The serial number travels in decimal (cfssl stores big.Int.String()),
 * the authority key identifier in lower-case hex without colons
 * (hex.EncodeToString).  But Debian's cfssl 1.2.0 (built with Go 1.19)
 * stores an EMPTY key identifier for the certificates it signs itself, as
 * tests/unit/test_ca_cfssl.c shows: its signer reads the identifier from
 * the certificate template, which the Go library no longer fills in while
 * signing.  So when cfssl knows no row under the one identifier, the
 * driver asks once more under the other.  cfssl's serial numbers are 20
 * random bytes, so that row is the certificate.  Which of the two forms
 * cfssl last knew a certificate under is remembered for the process and
 * tried first, so that a delivery is one call, not two, against a cfssl
 * that stores every certificate the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"

#define CFSSL_PATH		"/api/v1/cfssl/revoke"
#define CFSSL_SIGN_PATH		"/api/v1/cfssl/sign"
#define CFSSL_DEC_MAX		50u	/* 2^160 - 1 has 49 digits, + NUL */
#define CFSSL_AKI_MAX		128u	/* hex digits of a key identifier */
#define CFSSL_CODE_NOT_FOUND	11200	/* CertStoreError + RecordNotFound */
#define CFSSL_CODE_STORE	11000	/* CertStoreError, unknown cause */

/* What one revoke call came to. */
enum cfssl_verdict {
	CFSSL_REVOKED,		/* success: the row is revoked */
	CFSSL_NOT_FOUND,	/* no row with this serial and AKI */
	CFSSL_OTHER		/* anything else: the result is set */
};

#ifdef RP_UNITTEST
/* Reached by tests/unit/test_ca_cfssl.c, which declares them too. */
enum rp_err	 cfssl_serial_decimal(const char *, char *, size_t);
int		 cfssl_aki_hint(int);
#endif

/*
 * 1 when cfssl last knew a certificate under the empty key identifier,
 * 0 under its real one: the form the next delivery tries first.  The one
 * mutable state of a driver, a hint for this process (the relay talks
 * to one CA, one call at a time): it orders two calls that would both
 * be made otherwise, and never changes what a call says or what counts
 * as done.
 */
static int	 cfssl_empty_first;

#ifdef RP_UNITTEST
/*
 * Returns the hint (1: the empty identifier first), after setting it to
 * set when set is 0 or 1.  For the tests only.
 */
int
cfssl_aki_hint(int set)
{
	if (set == 0 || set == 1)
		cfssl_empty_first = set;
	return cfssl_empty_first;
}
#endif

/* Returns the value of hex digit c (either case), or -1. */
static int
cfssl_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Writes the serial number given in hex (either case, leading zeros
 * allowed, 1 to 40 digits, nothing else) as a decimal string without
 * leading zeros ("0" for zero) into out.  The number is kept as decimal
 * digits, least significant first, and multiplied by 16 digit by digit.
 * Returns RP_OK, RP_ERR_BAD_INPUT for input that is not such a serial, or
 * RP_ERR_NOMEM when out cannot hold the result.
 */
UNITTEST enum rp_err
cfssl_serial_decimal(const char *hex, char *out, size_t outsz)
{
	unsigned char	 dec[CFSSL_DEC_MAX - 1];
	size_t		 i, j, n = 0, len;
	unsigned int	 v, carry;
	int		 d;

	if (outsz > 0)
		out[0] = '\0';
	if (hex == NULL || (len = strlen(hex)) == 0 || len >= RP_SERIAL_MAX)
		return RP_ERR_BAD_INPUT;
	for (i = 0; i < len; i++) {
		if ((d = cfssl_hexval(hex[i])) < 0)
			return RP_ERR_BAD_INPUT;
		carry = (unsigned int)d;
		for (j = 0; j < n; j++) {
			v = dec[j] * 16u + carry;
			dec[j] = (unsigned char)(v % 10);
			carry = v / 10;
		}
		/* Below 16^40, so never more than 49 digits. */
		while (carry > 0 && n < sizeof(dec)) {
			dec[n++] = (unsigned char)(carry % 10);
			carry /= 10;
		}
		if (carry > 0)
			return RP_ERR_INTERNAL;
	}
	if (n == 0)
		dec[n++] = 0;
	if (outsz <= n)
		return RP_ERR_NOMEM;
	for (i = 0; i < n; i++)
		out[i] = (char)('0' + dec[n - 1 - i]);
	out[n] = '\0';
	return RP_OK;
}

/*
 * Writes the key identifier as cfssl stores it, lower-case hex, into out
 * (CFSSL_AKI_MAX + 1 bytes); NULL and "" give "".  Returns 1, or 0 for
 * anything but an even number of hex digits within CFSSL_AKI_MAX.
 */
static int
cfssl_aki(const char *aki, char out[CFSSL_AKI_MAX + 1])
{
	size_t	 i, len;

	out[0] = '\0';
	if (aki == NULL)
		return 1;
	len = strlen(aki);
	if (len > CFSSL_AKI_MAX || len % 2 != 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (cfssl_hexval(aki[i]) < 0)
			return 0;
		out[i] = (aki[i] >= 'A' && aki[i] <= 'F') ?
		    (char)(aki[i] - 'A' + 'a') : aki[i];
	}
	out[len] = '\0';
	return 1;
}

/*
 * Reads cfssl's first error from an answer body: its code and message
 * (a pointer into root, valid while root lives; "" when absent).  *success
 * is 1 for "success": true.  Returns root, which the caller releases with
 * json_decref(), or NULL when the body is not a cfssl answer.
 */
static json_t *
cfssl_answer(const struct hc_resp *hr, int *success, json_int_t *code,
    const char **msg)
{
	json_t		*root, *ok, *errs, *first, *v;

	*success = 0;
	*code = 0;
	*msg = "";
	if ((root = json_loadb(hr->body.p != NULL ? hr->body.p : "",
	    hr->body.len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return NULL;
	if (!json_is_object(root) ||
	    !json_is_boolean(ok = json_object_get(root, "success"))) {
		json_decref(root);
		return NULL;
	}
	*success = json_is_true(ok);
	errs = json_object_get(root, "errors");
	if (json_is_array(errs) && json_array_size(errs) > 0 &&
	    json_is_object(first = json_array_get(errs, 0))) {
		if (json_is_integer(v = json_object_get(first, "code")))
			*code = json_integer_value(v);
		if (json_is_string(v = json_object_get(first, "message")))
			*msg = json_string_value(v);
	}
	return root;
}

/*
 * Sends one revoke call for serial (decimal) and aki (lower-case hex,
 * possibly "") with reason, and judges cfssl's answer.  Returns
 * CFSSL_REVOKED or CFSSL_NOT_FOUND with r's status set, or CFSSL_OTHER
 * with r set entirely.
 */
static enum cfssl_verdict
cfssl_revoke(struct hc *hc, const char *url, const char *serial,
    const char *aki, const char *reason, struct ca_result *r)
{
	struct hc_resp		 hr;
	json_t			*req = NULL, *ans = NULL;
	char			*body = NULL;
	const char		*msg;
	json_int_t		 code;
	int			 success;
	enum rp_err		 e;
	enum cfssl_verdict	 v = CFSSL_OTHER;

	memset(&hr, 0, sizeof(hr));
	if ((req = json_pack("{s:s, s:s, s:s}", "serial", serial,
	    "authority_key_id", aki, "reason", reason)) == NULL ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		ca_result_set(r, CA_RETRY, 0, "out of memory");
		goto out;
	}
	if ((e = hc_request(hc, "POST", url, "application/json", body,
	    strlen(body), &hr)) != RP_OK) {
		ca_transport(r, e, &hr, "revoke");
		goto out;
	}
	r->http_status = hr.status;
	ans = cfssl_answer(&hr, &success, &code, &msg);
	if (hr.status >= 200 && hr.status < 300 && ans != NULL && success) {
		v = CFSSL_REVOKED;
		goto out;
	}
	if (ans != NULL && !success && code == CFSSL_CODE_NOT_FOUND) {
		v = CFSSL_NOT_FOUND;
		goto out;
	}
	if (hr.status >= 500 || hr.status == 429)
		ca_result_set(r, CA_RETRY, hr.status, "cfssl is unavailable "
		    "(HTTP %ld): %s", hr.status, msg);
	else if (ans != NULL && !success && code == CFSSL_CODE_STORE)
		ca_result_set(r, CA_RETRY, hr.status, "cfssl's certificate "
		    "database failed: %s", msg);
	else if (ans == NULL && hr.status >= 200 && hr.status < 300)
		ca_result_set(r, CA_RETRY, hr.status, "cfssl's answer "
		    "(HTTP %ld) is unreadable", hr.status);
	else if (ans == NULL)
		ca_result_set(r, CA_PERMANENT, hr.status, "HTTP %ld from "
		    "cfssl, not a cfssl answer", hr.status);
	else
		ca_result_set(r, CA_PERMANENT, hr.status, "cfssl refused "
		    "(HTTP %ld, code %lld): %s", hr.status, (long long)code,
		    msg);
out:
	json_decref(ans);
	json_decref(req);
	free(body);
	hc_resp_free(&hr);
	return v;
}

/*
 * Asks cfssl to revoke or suspend job's certificate.  CA_DONE when cfssl
 * says it revoked the row; CA_UNSUPPORTED for a reactivation or a
 * recovery, which cfssl cannot do; CA_PERMANENT for an unknown
 * certificate or any other refusal; CA_RETRY when cfssl is unreachable,
 * times out, answers 5xx or 429 or its database failed.
 */
static void
cfssl_deliver(struct hc *hc, const char *base_url, const struct ca_job *job,
    struct ca_result *r)
{
	struct buf		 url;
	char			 serial[CFSSL_DEC_MAX];
	char			 aki[CFSSL_AKI_MAX + 1];
	const char		*reason;
	enum cfssl_verdict	 v;
	int			 empty;

	memset(r, 0, sizeof(*r));
	buf_init(&url, RP_PATH_MAX * 2);
	if (job->action == ACT_REACTIVATE) {
		ca_result_set(r, CA_UNSUPPORTED, 0, "cfssl cannot lift a "
		    "hold: the certificate stays suspended at the CA");
		goto out;
	}
	if (job->action == ACT_RECOVER) {
		ca_result_set(r, CA_UNSUPPORTED, 0, "a recovery is an "
		    "enrolment, then a revocation: not one delivery");
		goto out;
	}
	if (!ca_job_valid(job, r))
		goto out;
	reason = dom_reason_name(job->reason);
	if (!cfssl_aki(job->aki, aki)) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the authority "
		    "key identifier is not hex");
		goto out;
	}
	if (cfssl_serial_decimal(job->serial, serial, sizeof(serial)) !=
	    RP_OK || reason == NULL) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the serial "
		    "number or the reason does not convert");
		goto out;
	}
	if (ca_url_base(&url, base_url) != RP_OK ||
	    buf_adds(&url, CFSSL_PATH) != RP_OK) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the CA's base "
		    "URL is empty or too long");
		goto out;
	}
	/* The form that worked last first; cfssl 1.2.0 writes rows under
	 * an empty key identifier.  A certificate without one has one form. */
	empty = aki[0] == '\0' || cfssl_empty_first;
	v = cfssl_revoke(hc, url.p, serial, empty ? "" : aki, reason, r);
	if (v == CFSSL_NOT_FOUND && aki[0] != '\0') {
		empty = !empty;
		v = cfssl_revoke(hc, url.p, serial, empty ? "" : aki, reason,
		    r);
	}
	if (v == CFSSL_REVOKED && aki[0] != '\0')
		cfssl_empty_first = empty;
	if (v == CFSSL_REVOKED)
		ca_result_set(r, CA_DONE, r->http_status, "%s at cfssl (%s)",
		    job->action == ACT_SUSPEND ? "suspended" : "revoked",
		    reason);
	else if (v == CFSSL_NOT_FOUND)
		ca_result_set(r, CA_PERMANENT, r->http_status, "cfssl knows "
		    "no certificate with serial %s (decimal %s)", job->serial,
		    serial);
out:
	buf_free(&url);
}

/*
 * cfssl 1.2.0 has no call that tells a certificate's status: CA_UNSUPPORTED,
 * so the relay delivers again instead.
 */
static void
cfssl_check(struct hc *hc, const char *base_url, const struct ca_job *job,
    struct ca_result *r)
{
	(void)hc;
	(void)base_url;
	(void)job;
	memset(r, 0, sizeof(*r));
	ca_result_set(r, CA_UNSUPPORTED, 0, "cfssl has no status call: "
	    "deliver again (a repeated revocation is harmless, but cfssl "
	    "records the new time)");
}

/*
 * Checks what an enrolment job must carry: a recovery with its CSR (at
 * most CSR_PEM_MAX bytes) and the old certificate's type.  Returns 1, or
 * 0 with r CA_PERMANENT (nothing sent).
 */
static int
cfssl_enroll_valid(const struct ca_job *job, struct ca_result *r)
{
	size_t	 len;

	if (job->action != ACT_RECOVER || job->csr_pem == NULL ||
	    (len = strlen(job->csr_pem)) == 0 || len > CSR_PEM_MAX ||
	    job->cert_type == NULL || job->cert_type[0] == '\0') {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: an enrolment "
		    "needs a recovery's certificate request and type");
		return 0;
	}
	return 1;
}

/*
 * Returns the body of job's sign call (json_decref() it): its CSR, the
 * profile of its certificate type, and as "hosts" the names of the old
 * certificate's subjectAltName (an empty list without one).  NULL with r
 * set: CA_PERMANENT for a subjectAltName cfssl cannot write again
 * (nothing sent), CA_RETRY without memory.
 */
static json_t *
cfssl_sign_body(const struct ca_job *job, struct ca_result *r)
{
	struct csr_hosts	*h = NULL;
	struct rp_errinfo	 why;
	json_t			*req = NULL, *hosts = NULL;
	size_t			 i;

	memset(&why, 0, sizeof(why));
	if ((h = malloc(sizeof(*h))) == NULL)
		goto nomem;
	h->n = 0;
	if (job->old_cert_pem != NULL &&
	    csr_san_hosts(job->old_cert_pem, h, &why) != RP_OK) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: %s",
		    why.msg[0] != '\0' ? why.msg : "the old certificate's "
		    "subjectAltName cannot be read");
		goto out;
	}
	if ((hosts = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < h->n; i++)
		if (json_array_append_new(hosts, json_string(h->name[i])) !=
		    0)
			goto nomem;
	if ((req = json_pack("{s:s, s:s}", "certificate_request",
	    job->csr_pem, "profile", job->cert_type)) == NULL)
		goto nomem;
	/* json_object_set_new() takes hosts, also when it fails. */
	if (json_object_set_new(req, "hosts", hosts) != 0) {
		hosts = NULL;
		goto nomem;
	}
	hosts = NULL;
	goto out;
nomem:
	json_decref(req);
	req = NULL;
	ca_result_set(r, CA_RETRY, 0, "out of memory");
out:
	json_decref(hosts);
	free(h);
	return req;
}

/*
 * Asks cfssl to sign job's CSR with the signing profile of job's
 * certificate type, for the names of the old certificate's
 * subjectAltName only (cfssl_sign_body()).  CA_DONE with r->issued_pem
 * when cfssl answers success with a certificate; CA_RETRY when cfssl is
 * unreachable, times out, answers 5xx or 429, or its database failed;
 * CA_PERMANENT for any refusal (an unknown profile, a request cfssl will
 * not sign), with cfssl's words, and for a subjectAltName it cannot
 * write again (not sent).
 */
static void
cfssl_enroll(struct hc *hc, const char *base_url, const struct ca_job *job,
    struct ca_result *r)
{
	struct buf	 url;
	struct hc_resp	 hr;
	json_t		*req = NULL, *ans = NULL, *res;
	char		*body = NULL;
	const char	*msg, *pem;
	json_int_t	 code;
	int		 success;
	enum rp_err	 e;

	memset(r, 0, sizeof(*r));
	memset(&hr, 0, sizeof(hr));
	buf_init(&url, RP_PATH_MAX * 2);
	if (!cfssl_enroll_valid(job, r))
		goto out;
	if (ca_url_base(&url, base_url) != RP_OK ||
	    buf_adds(&url, CFSSL_SIGN_PATH) != RP_OK) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the CA's base "
		    "URL is empty or too long");
		goto out;
	}
	if ((req = cfssl_sign_body(job, r)) == NULL)
		goto out;
	if ((body = json_dumps(req, JSON_COMPACT)) == NULL) {
		ca_result_set(r, CA_RETRY, 0, "out of memory");
		goto out;
	}
	if ((e = hc_request(hc, "POST", url.p, "application/json", body,
	    strlen(body), &hr)) != RP_OK) {
		ca_transport(r, e, &hr, "sign");
		goto out;
	}
	ans = cfssl_answer(&hr, &success, &code, &msg);
	if (hr.status >= 200 && hr.status < 300 && ans != NULL && success) {
		res = json_object_get(ans, "result");
		pem = json_string_value(json_object_get(res, "certificate"));
		if (pem != NULL && ca_issued_set(r, pem, strlen(pem)))
			ca_result_set(r, CA_DONE, hr.status, "cfssl issued "
			    "the new certificate (profile %s)", job->cert_type);
		else
			ca_result_set(r, CA_PERMANENT, hr.status, "cfssl "
			    "answered success without a certificate");
	} else if (hr.status >= 500 || hr.status == 429)
		ca_result_set(r, CA_RETRY, hr.status, "cfssl is unavailable "
		    "(HTTP %ld): %s", hr.status, msg);
	else if (ans != NULL && !success && code == CFSSL_CODE_STORE)
		ca_result_set(r, CA_RETRY, hr.status, "cfssl's certificate "
		    "database failed: %s", msg);
	else if (ans == NULL)
		ca_result_set(r, CA_PERMANENT, hr.status, "HTTP %ld from "
		    "cfssl, not a cfssl answer", hr.status);
	else
		ca_result_set(r, CA_PERMANENT, hr.status, "cfssl refused to "
		    "sign (HTTP %ld, code %lld): %s", hr.status,
		    (long long)code, msg);
out:
	json_decref(ans);
	json_decref(req);
	free(body);
	hc_resp_free(&hr);
	buf_free(&url);
}

const struct ca_driver ca_cfssl_driver = {
	.name = "cfssl",
	.deliver = cfssl_deliver,
	.check = cfssl_check,
	.enroll = cfssl_enroll,
};
