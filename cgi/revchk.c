/*
 * Signed requests, DESIGN §3 step 5: is the signer's certificate revoked?
 *
 * rev_check() asks, in this order:
 *
 * 1. The cache (revocation_cache, shared by every worker): an OCSP
 *    response for the certificate's OCSP id (SHA-256 of the DER of its
 *    SHA-1 CertID), kept until its nextUpdate (or thisUpdate plus
 *    [signature] ocsp_max_age when it has none).  Only verified "good" and
 *    final "revoked" responses are stored (not a revocation with reason
 *    certificateHold, which the CA may lift before nextUpdate), and a
 *    cached one is verified again like a fresh one (signer, CertID,
 *    freshness at now) before it answers; one that fails, or that says
 *    certificateHold, is ignored, never believed.
 * 2. The OCSP responder named first in the certificate's AIA: a POST of
 *    an OCSP request with a nonce.  The answer must come with status 200
 *    and Content-Type application/ocsp-response; it must be a successful
 *    response signed by the issuing CA itself or by a responder
 *    certificate that the issuing CA issued with the OCSPSigning extended
 *    key usage (OCSP_basic_verify() with the issuer alone as trust and the
 *    chain checked at now); it must carry a status for exactly this
 *    CertID; a nonce in it must be ours (one without a nonce counts only
 *    when fresh, which every answer must be anyway); and it must be
 *    fresh at now: thisUpdate not later than now plus the clock skew,
 *    nextUpdate not earlier than now minus the skew, or without
 *    nextUpdate a thisUpdate no older than ocsp_max_age.  good is
 *    SIG_OK, revoked (a hold included) SIG_REVOKED, unknown
 *    SIG_REV_UNKNOWN (refused: no CRL is asked).
 * 3. Only when the responder gave no usable answer: the CRL of the first
 *    http(s) URI among the certificate's CRL distribution points (one
 *    without reasons and without a CRL issuer), cached by URL until its
 *    nextUpdate.  It must be signed with the issuer's key, be issued
 *    under the issuer's name, be complete (no delta CRL, no issuing
 *    distribution point that narrows it to CA certificates, attribute
 *    certificates or some reasons, or that names a distribution point
 *    other than the URL fetched or one of the certificate's, RFC 5280
 *    6.3.3 (b)(2)(i); no unknown critical extension) and fresh
 *    (lastUpdate not after now plus the skew, nextUpdate present and not
 *    before now minus the skew); else SIG_CRL_INVALID.  Listed is
 *    SIG_REVOKED, not listed SIG_OK.  A CRL that lists the certificate
 *    with reason certificateHold is not cached, and a cached CRL that
 *    does (cached for another certificate) is fetched again; only when
 *    that fetch gives no answer does the cached hold still refuse.
 *
 * What "no usable answer" means, and so when the CRL is asked: no OCSP
 * URL in the AIA (or none that is http or https), a URL the client may
 * not fetch (plain http to another host without allow_http_any), a
 * connection failure or timeout, an HTTP status other than 200, and also
 * an answer that is not a signed response at all: a body that is not an
 * OCSP response or not the Content-Type of one, one over 64 KiB, or an
 * unsigned error status (tryLater, internalError, malformedRequest,
 * sigRequired, unauthorized).  Those answers are unsigned, so anyone on
 * the path could make them, exactly as anyone can drop the connection:
 * refusing on them would add no safety, and the CRL that answers
 * instead is signed and checked as strictly.  A signed response that
 * fails is different: a wrong signer, a stale response, a nonce that is
 * not ours or a response without our CertID is an attack signal (a
 * replayed or forged answer) and is refused with its reason, without
 * asking the CRL.  When the CRL cannot answer either (no CDP, no
 * connection), the refusal names the OCSP failure: SIG_OCSP_INVALID
 * after an unusable answer, else SIG_REV_UNAVAILABLE.
 *
 * Every time is judged at the now given (ms), never by the wall clock,
 * so that tests can move it.  Cache writes are small transactions of
 * their own, made outside any request's transaction; a failed one is
 * logged at warn and changes nothing about the answer.  A refusal is
 * never cached, so a problem of our own transport cannot stick.
 *
 * The URLs come from a certificate that already chained to a trust
 * anchor (sig.c, steps 1 to 4), that is from a qualified CA.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"

#define REV_OCSP_MAX	(64u * 1024u)	/* bytes of one OCSP answer */
#define REV_REQ_MAX	(4u * 1024u)	/* bytes of one OCSP request */
#define REV_URL_MAX	512u		/* an AIA or CDP URL, NUL included */
#define REV_OCSP_CTYPE	"application/ocsp-response"
#define REV_OCSP_REQ	"application/ocsp-request"
#define REV_CRL_CTYPE	"application/pkix-crl"

struct rev_ctx {
	struct hc	*ocsp;		/* answers up to REV_OCSP_MAX */
	struct hc	*crl;		/* answers up to crl_max */
	size_t		 crl_max;	/* [signature] crl_max_size */
	int64_t		 skew_ms;	/* [signature] clock_skew_seconds */
	int64_t		 max_age_ms;	/* [signature] ocsp_max_age_seconds */
};

/* What one verified OCSP response says about the certificate. */
struct rev_ocsp_ans {
	int64_t		 this_update;	/* ms */
	int64_t		 until;		/* ms: nextUpdate, or thisUpdate +
					   max age */
	/* The response is no signed answer (malformed, an error status):
	 * the CRL may answer instead. */
	int		 soft;
	int		 hold;		/* revoked, reason certificateHold */
};

/* What one verified CRL says about the certificate. */
struct rev_crl_ans {
	int64_t		 last;		/* ms: lastUpdate */
	int64_t		 next;		/* ms: nextUpdate */
	/* Listed with reason certificateHold, or with a reason that cannot
	 * be read: a revocation not known to be final. */
	int		 hold;
};

/*
 * Makes the revocation checker of one worker from cfg: two HTTP clients
 * (OCSP answers capped at REV_OCSP_MAX, CRLs at sig_crl_max, both with
 * the sig_ocsp_timeout_ms timeouts, plain http to any host only with
 * sig_http_any) and the settings.  Returns NULL with a sentence in err
 * when a client cannot be made.  The caller frees it with
 * rev_ctx_free().
 */
struct rev_ctx *
rev_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	struct rev_ctx	*c;
	struct hc_conf	 hcc;
	char		 why[256];

	if (errlen > 0)
		err[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&hcc, 0, sizeof(hcc));
	hcc.allow_http = 1;
	hcc.http_any = cfg->sig_http_any;
	hcc.accept = REV_OCSP_CTYPE;
	hcc.connect_timeout_ms = cfg->sig_ocsp_timeout_ms;
	hcc.timeout_ms = cfg->sig_ocsp_timeout_ms;
	hcc.max_response = REV_OCSP_MAX;
	if ((c->ocsp = hc_new(&hcc, why, sizeof(why))) == NULL) {
		(void)snprintf(err, errlen, "the OCSP client: %s", why);
		goto fail;
	}
	hcc.accept = REV_CRL_CTYPE;
	hcc.max_response = cfg->sig_crl_max;
	if ((c->crl = hc_new(&hcc, why, sizeof(why))) == NULL) {
		(void)snprintf(err, errlen, "the CRL client: %s", why);
		goto fail;
	}
	c->crl_max = cfg->sig_crl_max;
	c->skew_ms = (int64_t)cfg->sig_clock_skew * 1000;
	c->max_age_ms = (int64_t)cfg->sig_ocsp_max_age * 1000;
	return c;
fail:
	rev_ctx_free(c);
	return NULL;
}

void
rev_ctx_free(struct rev_ctx *c)
{
	if (c == NULL)
		return;
	hc_free(c->ocsp);
	hc_free(c->crl);
	free(c);
}

/*
 * Converts an ASN.1 time (UTCTime or GeneralizedTime) into milliseconds
 * since the epoch in *ms.  Returns 0, or -1 when t is NULL or malformed.
 */
static int
rev_time_ms(const ASN1_TIME *t, int64_t *ms)
{
	struct tm	 tm;
	time_t		 s;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	if ((s = timegm(&tm)) == (time_t)-1)
		return -1;
	/* ASN.1 times end in year 9999: no overflow in ms. */
	*ms = (int64_t)s * 1000;
	return 0;
}

/*
 * Returns 1 when the NUL-terminated url is one the checker may fetch
 * and log: http:// or https://, shorter than REV_URL_MAX, and made only
 * of the characters RFC 3986 allows in a URL (no space, quote, backslash
 * or control character).
 */
static int
rev_url_ok(const char *url, size_t len)
{
	static const char	 ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%";
	size_t			 i;

	if (len == 0 || len >= REV_URL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (url[i] == '\0' || strchr(ok, url[i]) == NULL)
			return 0;
	return strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0;
}

/*
 * Copies into out (REV_URL_MAX bytes) the first OCSP URL of cert's
 * authority information access that rev_url_ok() accepts.  Returns 1,
 * or 0 when there is none.
 */
static int
rev_ocsp_url(X509 *cert, char out[REV_URL_MAX])
{
	STACK_OF(OPENSSL_STRING) *urls;
	const char		*u;
	size_t			 len;
	int			 i, found = 0;

	if ((urls = X509_get1_ocsp(cert)) == NULL)
		return 0;
	for (i = 0; i < sk_OPENSSL_STRING_num(urls) && !found; i++) {
		u = sk_OPENSSL_STRING_value(urls, i);
		len = strnlen(u, REV_URL_MAX);
		if (rev_url_ok(u, len)) {
			memcpy(out, u, len + 1);
			found = 1;
		}
	}
	X509_email_free(urls);
	return found;
}

/*
 * Returns 1 when the CRL distribution point dp names its CRL by a full
 * name and is neither limited to some reasons nor names another CRL
 * issuer (whose CRL would not be complete for the certificate).
 */
static int
rev_dp_complete(const DIST_POINT *dp)
{
	return dp->reasons == NULL && dp->CRLissuer == NULL &&
	    dp->distpoint != NULL && dp->distpoint->type == 0;
}

/*
 * Returns 1 when names holds a URI equal, byte for byte, to u (len
 * bytes, len > 0), else 0.
 */
static int
rev_names_have_uri(const GENERAL_NAMES *names, const void *u, size_t len)
{
	const GENERAL_NAME	*gn;
	int			 i;

	if (len == 0 || len > INT32_MAX)
		return 0;
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type == GEN_URI &&
		    ASN1_STRING_length(gn->d.ia5) == (int)len &&
		    memcmp(ASN1_STRING_get0_data(gn->d.ia5), u, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Copies into out (REV_URL_MAX bytes) the first URI of cert's CRL
 * distribution points that rev_url_ok() accepts, among the distribution
 * points that rev_dp_complete() accepts.  Returns 1, or 0 when there is
 * none.
 */
static int
rev_cdp_url(X509 *cert, char out[REV_URL_MAX])
{
	CRL_DIST_POINTS		*dps;
	DIST_POINT		*dp;
	GENERAL_NAMES		*names;
	GENERAL_NAME		*gn;
	const unsigned char	*u;
	int			 i, j, len, found = 0;

	dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL,
	    NULL);
	if (dps == NULL)
		return 0;
	for (i = 0; i < sk_DIST_POINT_num(dps) && !found; i++) {
		dp = sk_DIST_POINT_value(dps, i);
		if (!rev_dp_complete(dp))
			continue;
		names = dp->distpoint->name.fullname;
		for (j = 0; j < sk_GENERAL_NAME_num(names) && !found; j++) {
			gn = sk_GENERAL_NAME_value(names, j);
			if (gn->type != GEN_URI)
				continue;
			u = ASN1_STRING_get0_data(gn->d.ia5);
			len = ASN1_STRING_length(gn->d.ia5);
			if (len <= 0 || !rev_url_ok((const char *)u,
			    (size_t)len))
				continue;
			memcpy(out, u, (size_t)len);
			out[len] = '\0';
			found = 1;
		}
	}
	CRL_DIST_POINTS_free(dps);
	return found;
}

/*
 * Writes the cache key of the OCSP id: SHA-256 over its DER, lower-case
 * hex, into key.  Returns 0, or -1 when OpenSSL fails.
 */
static int
rev_id_key(OCSP_CERTID *id, char key[65])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		*der = NULL, md[32];
	unsigned int		 mdlen = 0;
	int			 len, rc = -1;
	size_t			 i;

	if ((len = i2d_OCSP_CERTID(id, &der)) <= 0)
		return -1;
	if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) ==
	    1 && mdlen == sizeof(md)) {
		for (i = 0; i < sizeof(md); i++) {
			key[2 * i] = hex[md[i] >> 4];
			key[2 * i + 1] = hex[md[i] & 0xf];
		}
		key[64] = '\0';
		rc = 0;
	}
	OPENSSL_free(der);
	return rc;
}

/*
 * Appends to der the cache entry key of kind ("ocsp" or "crl") still in
 * force at now.  Returns 1 when there is one, else 0 (none, or a failure
 * to read it, which is logged: the network answers instead).
 */
static int
rev_cache_get(struct db *db, const char *key, const char *kind,
    int64_t now, struct buf *der)
{
	struct dbq	 q;
	const char	*k;
	const void	*blob;
	size_t		 len = 0;
	enum rp_err	 e;
	int		 found = 0;

	dbq_start(&q, db, DB_REV_GET);
	dbq_text(&q, key);
	dbq_int(&q, now);
	if (dbq_step(&q)) {
		k = dbq_col_text(&q, 0);
		blob = dbq_col_blob(&q, 1, &len);
		if (k != NULL && strcmp(k, kind) == 0 && blob != NULL &&
		    len > 0 && buf_add(der, blob, len) == RP_OK)
			found = 1;
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		rplog(RPLOG_WARN, "revchk_cache_read", "kind=%s error=%s",
		    kind, rp_err_name(e));
		buf_reset(der);
		return 0;
	}
	return found;
}

/*
 * Stores a verified answer (der, len bytes) of kind under key until
 * next_update, in a transaction of its own that also drops the entries
 * out of force at now.  A failure is logged at warn and otherwise
 * ignored: the answer counts all the same.  An answer already out of
 * force is not stored.
 */
static void
rev_cache_put(struct db *db, const char *key, const char *kind,
    const void *der, size_t len, int64_t this_update, int64_t next_update,
    int64_t now)
{
	struct dbq	 q;
	enum rp_err	 e;

	if (next_update <= now)
		return;
	if ((e = db_begin(db)) != RP_OK)
		goto fail;
	dbq_start(&q, db, DB_REV_SWEEP);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, NULL)) != RP_OK)
		goto rollback;
	dbq_start(&q, db, DB_REV_PUT);
	dbq_text(&q, key);
	dbq_text(&q, kind);
	dbq_blob(&q, der, len);
	dbq_int(&q, this_update);
	dbq_int(&q, next_update);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, NULL)) != RP_OK)
		goto rollback;
	if ((e = db_commit(db)) != RP_OK)
		goto rollback;
	return;
rollback:
	db_rollback(db);
fail:
	rplog(RPLOG_WARN, "revchk_cache_write", "kind=%s error=%s", kind,
	    rp_err_name(e));
}

/*
 * Judges the OCSP response der (len bytes) about the certificate of
 * signer s, whose id is id, at now: see the top of this file.  req is
 * the request it answers (its nonce is then compared), or NULL for a
 * response from the cache.  Returns SIG_OK (good), SIG_REVOKED or
 * SIG_REV_UNKNOWN with a filled (a->hold set for a revocation with
 * reason certificateHold), else the refusal; a->soft is set when the
 * response is no signed answer at all (SIG_OCSP_INVALID, the CRL may
 * answer).
 */
static enum sig_why
rev_ocsp_judge(const struct rev_ctx *ctx, const unsigned char *der,
    size_t len, const struct signer *s, OCSP_CERTID *id, OCSP_REQUEST *req,
    int64_t now, struct rev_ocsp_ans *a)
{
	OCSP_RESPONSE		*resp = NULL;
	OCSP_BASICRESP		*bs = NULL;
	X509_STORE		*store = NULL;
	STACK_OF(X509)		*certs = NULL;
	ASN1_GENERALIZEDTIME	*thisupd = NULL, *nextupd = NULL;
	const unsigned char	*p = der;
	X509			*issuer = s->issuer_cert;
	enum sig_why		 why = SIG_OCSP_INVALID;
	int64_t			 tu, nu = 0;
	int			 status, reason;

	memset(a, 0, sizeof(*a));
	a->soft = 1;
	if (len == 0 || len > REV_OCSP_MAX ||
	    (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    p != der + len ||
	    OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL)
		goto out;
	a->soft = 0;

	/* The signer: the issuer itself, or its delegated responder. */
	why = SIG_INTERNAL;
	if ((store = X509_STORE_new()) == NULL ||
	    (certs = sk_X509_new_null()) == NULL ||
	    X509_STORE_add_cert(store, issuer) != 1 ||
	    sk_X509_push(certs, issuer) <= 0 ||
	    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1)
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store),
	    (time_t)(now / 1000));
	if (OCSP_basic_verify(bs, certs, store, 0) != 1) {
		why = SIG_OCSP_BAD_SIGNER;
		goto out;
	}
	why = SIG_OCSP_INVALID;
	/* 0: both carry a nonce and they differ (a replay). */
	if (req != NULL && OCSP_check_nonce(req, bs) == 0)
		goto out;
	if (OCSP_resp_find_status(bs, id, &status, &reason, NULL, &thisupd,
	    &nextupd) != 1)
		goto out;
	if (rev_time_ms(thisupd, &tu) == -1 ||
	    (nextupd != NULL && (rev_time_ms(nextupd, &nu) == -1 || nu < tu)))
		goto out;
	why = SIG_OCSP_STALE;
	if (tu > now + ctx->skew_ms)
		goto out;
	if (nextupd != NULL ? nu < now - ctx->skew_ms :
	    tu < now - ctx->max_age_ms)
		goto out;
	a->this_update = tu;
	a->until = nextupd != NULL ? nu : tu + ctx->max_age_ms;
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		why = SIG_OK;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		why = SIG_REVOKED;
		a->hold = reason == OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
		break;
	case V_OCSP_CERTSTATUS_UNKNOWN:
		why = SIG_REV_UNKNOWN;
		break;
	default:
		why = SIG_OCSP_INVALID;
		break;
	}
out:
	sk_X509_free(certs);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return why;
}

/*
 * Returns 1 when the media type of the Content-Type ctype (its
 * parameters ignored) is want, case aside.
 */
static int
rev_ctype_is(const char *ctype, const char *want)
{
	size_t	 n;

	n = strcspn(ctype, ";");
	while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
		n--;
	return n == strlen(want) && strncasecmp(ctype, want, n) == 0;
}

/*
 * Encodes an OCSP request for id with a fresh nonce into *reqp (the
 * caller frees it with OCSP_REQUEST_free()) and its DER into *derp (the
 * caller frees it with OPENSSL_free()), *lenp bytes.  Returns 0, or -1
 * with nothing to free.
 */
static int
rev_ocsp_request(OCSP_CERTID *id, OCSP_REQUEST **reqp, unsigned char **derp,
    size_t *lenp)
{
	OCSP_REQUEST	*req;
	OCSP_CERTID	*cid;
	unsigned char	*der = NULL;
	int		 len;

	*reqp = NULL;
	*derp = NULL;
	if ((req = OCSP_REQUEST_new()) == NULL)
		return -1;
	if ((cid = OCSP_CERTID_dup(id)) == NULL)
		goto fail;
	if (OCSP_request_add0_id(req, cid) == NULL) {
		OCSP_CERTID_free(cid);
		goto fail;
	}
	if (OCSP_request_add1_nonce(req, NULL, -1) != 1)
		goto fail;
	if ((len = i2d_OCSP_REQUEST(req, &der)) <= 0)
		goto fail;
	if ((size_t)len > REV_REQ_MAX) {
		OPENSSL_free(der);
		goto fail;
	}
	*reqp = req;
	*derp = der;
	*lenp = (size_t)len;
	return 0;
fail:
	OCSP_REQUEST_free(req);
	return -1;
}

/*
 * Asks the OCSP responder at url about the signer s (id, cache key key)
 * at now, and caches a good answer or a final revocation (not one with
 * reason certificateHold, which may be lifted).  Returns the answer's
 * SIG_OK, SIG_REVOKED, SIG_REV_UNKNOWN or refusal with *fallback 0; or,
 * with *fallback 1, the reason to give when the CRL cannot answer
 * either: SIG_REV_UNAVAILABLE (no connection, not allowed, an HTTP
 * error) or SIG_OCSP_INVALID (no signed response in the answer).
 */
static enum sig_why
rev_ocsp_ask(struct rev_ctx *ctx, struct db *db, const char *key,
    const char *url, const struct signer *s, OCSP_CERTID *id, int64_t now,
    int *fallback)
{
	OCSP_REQUEST		*req = NULL;
	unsigned char		*der = NULL;
	size_t			 len = 0;
	struct hc_resp		 r;
	struct rev_ocsp_ans	 a;
	enum rp_err		 e;
	enum sig_why		 why;

	*fallback = 0;
	if (rev_ocsp_request(id, &req, &der, &len) == -1)
		return SIG_INTERNAL;
	e = hc_request(ctx->ocsp, "POST", url, REV_OCSP_REQ, der, len, &r);
	*fallback = 1;
	if (e == RP_ERR_NOMEM || e == RP_ERR_INTERNAL) {
		*fallback = 0;
		why = SIG_INTERNAL;
	} else if (e == RP_ERR_TOO_LARGE) {
		rplog(RPLOG_INFO, "revchk_ocsp", "url=\"%s\" error=\"answer "
		    "over %u bytes\"", url, REV_OCSP_MAX);
		why = SIG_OCSP_INVALID;
	} else if (e != RP_OK || r.status != 200) {
		rplog(RPLOG_INFO, "revchk_ocsp", "url=\"%s\" status=%ld "
		    "error=\"%s\"", url, r.status, e != RP_OK ? r.error :
		    "not 200");
		why = SIG_REV_UNAVAILABLE;
	} else if (!rev_ctype_is(r.ctype, REV_OCSP_CTYPE)) {
		rplog(RPLOG_INFO, "revchk_ocsp", "url=\"%s\" error=\"not an "
		    "OCSP response\"", url);
		why = SIG_OCSP_INVALID;
	} else {
		why = rev_ocsp_judge(ctx, (const unsigned char *)r.body.p,
		    r.body.len, s, id, req, now, &a);
		*fallback = a.soft;
		if (a.soft)
			rplog(RPLOG_INFO, "revchk_ocsp", "url=\"%s\" "
			    "error=\"no signed response\"", url);
		else if (why == SIG_OK || (why == SIG_REVOKED && !a.hold))
			rev_cache_put(db, key, "ocsp", r.body.p, r.body.len,
			    a.this_update, a.until, now);
	}
	hc_resp_free(&r);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	return why;
}

/*
 * RFC 5280 6.3.3 (b)(2)(i): returns 1 when the issuing distribution
 * point idp names no distribution point, or names one by a full name
 * with a URI that is url (where the CRL was fetched) or a URI of one of
 * cert's distribution points that rev_dp_complete() accepts.  Else 0:
 * the CRL of another partition of the CA, or one named relative to its
 * issuer, which no URI of the certificate can match.
 */
static int
rev_idp_names_us(const ISSUING_DIST_POINT *idp, X509 *cert, const char *url)
{
	CRL_DIST_POINTS		*dps;
	const DIST_POINT	*dp;
	const GENERAL_NAMES	*names;
	const GENERAL_NAME	*gn;
	int			 i, j, found = 0;

	if (idp->distpoint == NULL)
		return 1;
	if (idp->distpoint->type != 0)
		return 0;
	names = idp->distpoint->name.fullname;
	if (rev_names_have_uri(names, url, strnlen(url, REV_URL_MAX)))
		return 1;
	dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL,
	    NULL);
	if (dps == NULL)
		return 0;
	for (i = 0; i < sk_DIST_POINT_num(dps) && !found; i++) {
		dp = sk_DIST_POINT_value(dps, i);
		if (!rev_dp_complete(dp))
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(names) && !found; j++) {
			gn = sk_GENERAL_NAME_value(names, j);
			if (gn->type == GEN_URI && rev_names_have_uri(
			    dp->distpoint->name.fullname,
			    ASN1_STRING_get0_data(gn->d.ia5),
			    (size_t)ASN1_STRING_length(gn->d.ia5)))
				found = 1;
		}
	}
	CRL_DIST_POINTS_free(dps);
	return found;
}

/*
 * Returns 1 when crl, fetched from url, is complete for the end-entity
 * certificate cert: no delta CRL, no unknown critical extension, and an
 * issuing distribution point (if any) that does not narrow it to CA or
 * attribute certificates or to some reasons, is not indirect and names
 * no distribution point but one of cert's (rev_idp_names_us()).  Else 0.
 */
static int
rev_crl_complete(X509_CRL *crl, X509 *cert, const char *url)
{
	ISSUING_DIST_POINT	*idp;
	X509_EXTENSION		*ext;
	int			 i, n, nid, crit = -1, ok;

	n = X509_CRL_get_ext_count(crl);
	for (i = 0; i < n; i++) {
		ext = X509_CRL_get_ext(crl, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		if (nid == NID_delta_crl)
			return 0;
		if (X509_EXTENSION_get_critical(ext) &&
		    nid != NID_issuing_distribution_point)
			return 0;
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	if (idp == NULL)
		return crit == -1;	/* absent, not undecodable or twice */
	ok = !idp->onlyCA && !idp->onlyattr && idp->onlysomereasons == NULL &&
	    !idp->indirectCRL && rev_idp_names_us(idp, cert, url);
	ISSUING_DIST_POINT_free(idp);
	return ok;
}

/*
 * Returns 1 when the CRL entry rev may still be lifted: its reasonCode
 * is certificateHold, or cannot be read (undecodable, or twice), so that
 * the revocation is not known to be final.  Returns 0 for an entry
 * without a reasonCode or with another reason.
 */
static int
rev_entry_hold(X509_REVOKED *rev)
{
	ASN1_ENUMERATED	*code;
	int		 crit = -1, hold;

	code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
	if (code == NULL)
		return crit != -1;
	hold = ASN1_ENUMERATED_get(code) == CRL_REASON_CERTIFICATE_HOLD;
	ASN1_ENUMERATED_free(code);
	return hold;
}

/*
 * Judges the CRL der (len bytes), fetched from url, for the signer s at
 * now: see the top of this file.  Returns SIG_OK (not listed) or
 * SIG_REVOKED with a filled (a->hold set when the revocation is not
 * known to be final), else SIG_CRL_INVALID.
 */
static enum sig_why
rev_crl_judge(const struct rev_ctx *ctx, const unsigned char *der,
    size_t len, const struct signer *s, const char *url, int64_t now,
    struct rev_crl_ans *a)
{
	X509_CRL		*crl;
	X509_REVOKED		*rev = NULL;
	EVP_PKEY		*pk;
	const unsigned char	*p = der;
	X509			*cert = s->cert, *issuer = s->issuer_cert;
	enum sig_why		 why = SIG_CRL_INVALID;
	int			 rc;

	memset(a, 0, sizeof(*a));
	if (len == 0 || len > ctx->crl_max || len > (size_t)INT32_MAX ||
	    (crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		return SIG_CRL_INVALID;
	if (p != der + len ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(issuer)) != 0 ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_issuer_name(cert)) != 0 ||
	    (pk = X509_get0_pubkey(issuer)) == NULL ||
	    X509_CRL_verify(crl, pk) != 1 ||
	    !rev_crl_complete(crl, cert, url) ||
	    rev_time_ms(X509_CRL_get0_lastUpdate(crl), &a->last) == -1 ||
	    rev_time_ms(X509_CRL_get0_nextUpdate(crl), &a->next) == -1 ||
	    a->next < a->last || a->last > now + ctx->skew_ms ||
	    a->next < now - ctx->skew_ms)
		goto out;
	/* 1: listed; 2: listed as removeFromCRL, which only a delta CRL
	 * may say (and those are refused above). */
	rc = X509_CRL_get0_by_cert(crl, &rev, cert);
	if (rc == 0)
		why = SIG_OK;
	else if (rc == 1) {
		why = SIG_REVOKED;
		a->hold = rev_entry_hold(rev);
	}
out:
	X509_CRL_free(crl);
	return why;
}

/*
 * The CRL fallback for the signer s at now: the cached CRL of its first
 * distribution point, else that CRL fetched (and cached when it says
 * good or a final revocation).  A cached CRL that lists the certificate
 * with reason certificateHold is fetched again, as the hold may have
 * been lifted since; it answers only when that fetch gets no answer.
 * Returns SIG_OK, SIG_REVOKED or SIG_CRL_INVALID with *none 0;
 * SIG_REV_UNAVAILABLE with *none 1 when there is no distribution point
 * or no answer from it.
 */
static enum sig_why
rev_crl(struct rev_ctx *ctx, struct db *db, const struct signer *s,
    int64_t now, int *none)
{
	char			 url[REV_URL_MAX];
	struct buf		 der;
	struct hc_resp		 r;
	struct rev_crl_ans	 a;
	enum rp_err		 e;
	enum sig_why		 why;
	int			 held = 0;

	*none = 1;
	if (!rev_cdp_url(s->cert, url))
		return SIG_REV_UNAVAILABLE;
	buf_init(&der, ctx->crl_max);
	if (rev_cache_get(db, url, "crl", now, &der)) {
		why = rev_crl_judge(ctx, (const unsigned char *)der.p, der.len,
		    s, url, now, &a);
		buf_free(&der);
		if (why == SIG_OK || (why == SIG_REVOKED && !a.hold)) {
			*none = 0;
			return why;
		}
		if (why == SIG_REVOKED) {
			held = 1;
			rplog(RPLOG_INFO, "revchk_crl", "url=\"%s\" "
			    "error=\"cached CRL holds the certificate: "
			    "fetching again\"", url);
		} else
			/* Another issuer's CRL at the same URL, or damage. */
			rplog(RPLOG_INFO, "revchk_crl", "url=\"%s\" "
			    "error=\"cached CRL not usable\"", url);
	}
	buf_free(&der);
	e = hc_request(ctx->crl, "GET", url, NULL, NULL, 0, &r);
	if (e == RP_ERR_NOMEM || e == RP_ERR_INTERNAL) {
		*none = 0;
		why = SIG_INTERNAL;
	} else if (e == RP_ERR_TOO_LARGE) {
		rplog(RPLOG_WARN, "revchk_crl", "url=\"%s\" error=\"CRL over "
		    "crl_max_size (%zu bytes)\"", url, ctx->crl_max);
		*none = 0;
		why = SIG_CRL_INVALID;
	} else if (e != RP_OK || r.status != 200) {
		rplog(RPLOG_INFO, "revchk_crl", "url=\"%s\" status=%ld "
		    "error=\"%s\"", url, r.status, e != RP_OK ? r.error :
		    "not 200");
		why = SIG_REV_UNAVAILABLE;
		if (held) {
			/* The cached hold, still in force, answers. */
			*none = 0;
			why = SIG_REVOKED;
		}
	} else {
		*none = 0;
		why = rev_crl_judge(ctx, (const unsigned char *)r.body.p,
		    r.body.len, s, url, now, &a);
		if (why == SIG_OK || (why == SIG_REVOKED && !a.hold))
			rev_cache_put(db, url, "crl", r.body.p, r.body.len,
			    a.last, a.next, now);
		else if (why != SIG_REVOKED)
			rplog(RPLOG_INFO, "revchk_crl", "url=\"%s\" "
			    "error=\"CRL refused: %s\"", url,
			    sig_why_name(why));
	}
	hc_resp_free(&r);
	return why;
}

/*
 * Step 5 for the signer s at now (ms): see the top of this file.
 * Returns SIG_OK when the certificate is known good, else the reason to
 * refuse; SIG_INTERNAL when s holds no certificate and its issuer, or
 * the issuer did not issue it.  Leaves OpenSSL's error queue empty.
 */
enum sig_why
rev_check(struct rev_ctx *ctx, struct db *db, const struct signer *s,
    int64_t now)
{
	OCSP_CERTID		*id = NULL;
	struct rev_ocsp_ans	 a;
	struct buf		 der;
	X509			*cert, *issuer;
	char			 key[65], url[REV_URL_MAX];
	enum sig_why		 why = SIG_INTERNAL, ocsp_why;
	int			 fallback, none;

	buf_init(&der, REV_OCSP_MAX);
	if (ctx == NULL || db == NULL || s == NULL || s->cert == NULL ||
	    s->issuer_cert == NULL)
		goto out;
	cert = s->cert;
	issuer = s->issuer_cert;
	if (X509_check_issued(issuer, cert) != X509_V_OK ||
	    (id = OCSP_cert_to_id(NULL, cert, issuer)) == NULL ||
	    rev_id_key(id, key) == -1)
		goto out;

	/* 1. The cache. */
	if (rev_cache_get(db, key, "ocsp", now, &der)) {
		why = rev_ocsp_judge(ctx, (const unsigned char *)der.p,
		    der.len, s, id, NULL, now, &a);
		if (why == SIG_OK || (why == SIG_REVOKED && !a.hold))
			goto out;
		/* Holds are not cached, but one found there (an older
		 * version's) may have been lifted since: ask again. */
		rplog(RPLOG_INFO, "revchk_ocsp", "error=\"cached response "
		    "not usable: %s\"", why == SIG_REVOKED ?
		    "certificate_hold" : sig_why_name(why));
	}

	/* 2. The responder. */
	ocsp_why = SIG_REV_UNAVAILABLE;
	fallback = 1;
	if (rev_ocsp_url(cert, url))
		ocsp_why = rev_ocsp_ask(ctx, db, key, url, s, id, now,
		    &fallback);
	if (!fallback) {
		why = ocsp_why;
		goto out;
	}

	/* 3. The CRL, when the responder gave no usable answer. */
	why = rev_crl(ctx, db, s, now, &none);
	if (none)
		why = ocsp_why;
out:
	buf_free(&der);
	OCSP_CERTID_free(id);
	ERR_clear_error();
	return why;
}
