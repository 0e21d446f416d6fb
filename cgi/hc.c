/*
 * The one HTTP client toward the CA, on libcurl's easy interface.
 *
 * Every request goes through the same hardening (curl's
 * libcurl-security.md): https only, or http to a loopback address when
 * the configuration allows it for a development CA (or to any host for
 * the signed OCSP and CRL answers of revchk.c, http_any); no redirects; no
 * proxy from the environment; connect and total timeouts; peer and host
 * verification always on, against the configured trust anchors alone
 * when there are any; an optional client certificate for mutual TLS; and
 * an answer body capped in the write callback.  A struct hc keeps one
 * easy handle, so its connection to the CA is reused; the handle's
 * options are reset and set again before each request, so nothing of one
 * request leaks into the next.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "extern.h"

#define HC_USER_AGENT	"revportal/1"
#define HC_JSON		"application/json"
#define HC_HDR_MAX	128u	/* one request header line */
#define HC_TIMEOUT_MAX	600000u	/* ms: ten minutes, fits any long */

struct hc {
	CURL		*curl;
	char		*ca_file;	/* NULL: the system's anchors */
	char		*cert_file;	/* NULL: no client certificate */
	char		*key_file;	/* NULL: the key is in cert_file */
	char		*accept;	/* NULL: HC_JSON */
	int		 allow_http;
	int		 http_any;
	unsigned int	 connect_timeout_ms;
	unsigned int	 timeout_ms;
	size_t		 max_response;
	char		 errbuf[CURL_ERROR_SIZE];
};

/* What the write callback fills: the answer, and whether it overflowed. */
struct hc_sink {
	struct buf	*body;
	int		 too_large;
};

#ifdef RP_UNITTEST
/* Reached by tests/unit/test_hc.c, which declares them too. */
int		 hc_host_loopback(const char *);
int		 hc_mode_safe(const struct stat *, int, uid_t, char *, size_t);
enum rp_err	 hc_url_allowed(const struct hc *, const char *, char *,
		    size_t);
#endif

/*
 * Returns 1 when s is a header value fit to send: 1 to HC_HDR_MAX - 16
 * bytes of printable ASCII (a CR or LF would start another header).
 */
static int
hc_value_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ||
		    i >= HC_HDR_MAX - 16)
			return 0;
	return i > 0;
}

/* Returns a copy of s, NULL for NULL or "" (*bad is set when out of memory). */
static char *
hc_strdup_opt(const char *s, int *bad)
{
	char	*p;

	if (s == NULL || s[0] == '\0')
		return NULL;
	if ((p = strdup(s)) == NULL)
		*bad = 1;
	return p;
}

/*
 * Returns 1 when path is NULL, "" or a file this process can read; else 0
 * with a sentence naming what in err.
 */
static int
hc_file_ok(const char *path, const char *what, char *err, size_t errlen)
{
	if (path == NULL || path[0] == '\0' || access(path, R_OK) == 0)
		return 1;
	(void)snprintf(err, errlen, "cannot read the %s %s: %s", what, path,
	    strerror(errno));
	return 0;
}

/*
 * Judges the status st of a TLS file for a process of effective user
 * euid: a regular file; a secret (a private key) owned by euid and
 * closed to group and others (no bit of 077: a key readable by its group
 * is as good as public); any other writable by its owner alone (no bit
 * of 022), so that no one else can swap the anchors the client trusts or
 * the certificate it shows.  Returns 1, or 0 with a sentence in why.
 */
UNITTEST int
hc_mode_safe(const struct stat *st, int secret, uid_t euid, char *why,
    size_t whylen)
{
	unsigned int	 mode = (unsigned int)(st->st_mode & 07777);

	if (!S_ISREG(st->st_mode)) {
		(void)snprintf(why, whylen, "not a regular file");
		return 0;
	}
	if (secret && st->st_uid != euid) {
		(void)snprintf(why, whylen, "owned by uid %lu, not by uid %lu "
		    "that runs this program", (unsigned long)st->st_uid,
		    (unsigned long)euid);
		return 0;
	}
	if (secret && (mode & 077) != 0) {
		(void)snprintf(why, whylen, "mode %04o lets group or others "
		    "in; it must be 0600 or 0400", mode);
		return 0;
	}
	if (!secret && (mode & 022) != 0) {
		(void)snprintf(why, whylen, "mode %04o lets group or others "
		    "write it; it must not be writable but by its owner "
		    "(0644 or 0444)", mode);
		return 0;
	}
	return 1;
}

/*
 * Checks the TLS file at path with hc_mode_safe() for this process's
 * effective user, following a symbolic link to the file itself.  Returns
 * 1, or 0 with a sentence in why (also when it cannot be looked at).
 */
int
hc_file_safe(const char *path, int secret, char *why, size_t whylen)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	return hc_mode_safe(&st, secret, geteuid(), why, whylen);
}

/*
 * Makes a client from conf, which need not outlive it.  Returns NULL with
 * a sentence in err when conf is unusable (a timeout of zero or over
 * HC_TIMEOUT_MAX, no answer limit, a key without a certificate, an
 * Accept value that is not one line of printable ASCII, a file
 * that cannot be read, so that the relay stops at start-up rather than
 * fail each delivery) or libcurl cannot start.  The caller frees the
 * client with hc_free().  libcurl's global state is initialised here and
 * released by hc_free(); libcurl counts the calls.
 */
struct hc *
hc_new(const struct hc_conf *conf, char *err, size_t errlen)
{
	struct hc	*hc;
	int		 bad = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (conf->connect_timeout_ms == 0 || conf->timeout_ms == 0 ||
	    conf->connect_timeout_ms > HC_TIMEOUT_MAX ||
	    conf->timeout_ms > HC_TIMEOUT_MAX || conf->max_response == 0) {
		(void)snprintf(err, errlen, "the CA client needs timeouts of "
		    "1 to %u ms and a non-zero answer limit", HC_TIMEOUT_MAX);
		return NULL;
	}
	if ((conf->key_file != NULL && conf->key_file[0] != '\0') &&
	    (conf->cert_file == NULL || conf->cert_file[0] == '\0')) {
		(void)snprintf(err, errlen, "a client key needs its "
		    "certificate file");
		return NULL;
	}
	if (conf->accept != NULL && !hc_value_ok(conf->accept)) {
		(void)snprintf(err, errlen, "the Accept value must be one "
		    "short line of printable ASCII");
		return NULL;
	}
	if (!hc_file_ok(conf->ca_file, "CA file", err, errlen) ||
	    !hc_file_ok(conf->cert_file, "client certificate", err, errlen) ||
	    !hc_file_ok(conf->key_file, "client key", err, errlen))
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		(void)snprintf(err, errlen, "libcurl did not initialise");
		return NULL;
	}
	if ((hc = calloc(1, sizeof(*hc))) == NULL) {
		curl_global_cleanup();
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	hc->ca_file = hc_strdup_opt(conf->ca_file, &bad);
	hc->cert_file = hc_strdup_opt(conf->cert_file, &bad);
	hc->key_file = hc_strdup_opt(conf->key_file, &bad);
	hc->accept = hc_strdup_opt(conf->accept, &bad);
	hc->allow_http = conf->allow_http != 0 || conf->http_any != 0;
	hc->http_any = conf->http_any != 0;
	hc->connect_timeout_ms = conf->connect_timeout_ms;
	hc->timeout_ms = conf->timeout_ms;
	hc->max_response = conf->max_response;
	if (bad || (hc->curl = curl_easy_init()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		hc_free(hc);
		return NULL;
	}
	return hc;
}

void
hc_free(struct hc *hc)
{
	if (hc == NULL)
		return;
	if (hc->curl != NULL)
		curl_easy_cleanup(hc->curl);
	free(hc->ca_file);
	free(hc->cert_file);
	free(hc->key_file);
	free(hc->accept);
	free(hc);
	curl_global_cleanup();
}

void
hc_resp_free(struct hc_resp *r)
{
	if (r == NULL)
		return;
	buf_free(&r->body);
}

/*
 * Returns 1 when host, as libcurl's URL parser gives it, is a loopback
 * address: "localhost" (which libcurl resolves itself, never through the
 * resolver), a dotted IPv4 address in 127.0.0.0/8, or "[::1]"; 0 for
 * anything else, including other spellings of those addresses.
 */
UNITTEST int
hc_host_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 v6[INET6_ADDRSTRLEN];
	size_t		 len;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	len = strlen(host);
	if (len < 3 || len - 2 >= sizeof(v6) || host[0] != '[' ||
	    host[len - 1] != ']')
		return 0;
	memcpy(v6, host + 1, len - 2);
	v6[len - 2] = '\0';
	if (inet_pton(AF_INET6, v6, &a6) != 1)
		return 0;
	return IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * Checks url against the configuration before anything is sent: https,
 * or http to a loopback host when allow_http is set, to any host when
 * http_any is.  Returns RP_OK, or RP_ERR_BAD_INPUT with the reason in why
 * (RP_ERR_NOMEM when out of memory).
 */
UNITTEST enum rp_err
hc_url_allowed(const struct hc *hc, const char *url, char *why,
    size_t whylen)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL;
	enum rp_err	 e = RP_ERR_BAD_INPUT;

	if ((u = curl_url()) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return RP_ERR_NOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		(void)snprintf(why, whylen, "the CA URL is malformed");
		goto out;
	}
	if (strcmp(scheme, "https") == 0)
		e = RP_OK;
	else if (strcmp(scheme, "http") != 0)
		(void)snprintf(why, whylen, "the CA URL must use https");
	else if (!hc->allow_http)
		(void)snprintf(why, whylen, "http:// is not allowed toward "
		    "the CA");
	else if (!hc->http_any && !hc_host_loopback(host))
		(void)snprintf(why, whylen, "http:// is allowed only to a "
		    "loopback address");
	else
		e = RP_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return e;
}

/*
 * libcurl's write callback: appends to the answer until max_response.
 * Returning less than asked makes libcurl stop with CURLE_WRITE_ERROR.
 */
static size_t
hc_write(char *p, size_t size, size_t n, void *arg)
{
	struct hc_sink	*s = arg;

	/* libcurl promises size == 1. */
	if (size != 1)
		return 0;
	if (n > s->body->max || s->body->len > s->body->max - n) {
		s->too_large = 1;
		return 0;
	}
	if (buf_add(s->body, p, n) != RP_OK)
		return 0;
	return n;
}

/*
 * Sets every option of one request on a freshly reset handle.  Returns
 * the first failing libcurl code, or CURLE_OK.
 */
static CURLcode
hc_setup(struct hc *hc, const char *method, const char *url,
    const void *body, size_t len, struct curl_slist *hdrs,
    struct hc_sink *sink)
{
	CURL		*c = hc->curl;
	CURLcode	 rc;

#define HC_SET(opt, val) \
	do { \
		if ((rc = curl_easy_setopt(c, (opt), (val))) != CURLE_OK) \
			return rc; \
	} while (0)
	HC_SET(CURLOPT_ERRORBUFFER, hc->errbuf);
	HC_SET(CURLOPT_NOSIGNAL, 1L);
	HC_SET(CURLOPT_PROTOCOLS_STR, hc->allow_http ? "http,https" :
	    "https");
	HC_SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	HC_SET(CURLOPT_FOLLOWLOCATION, 0L);
	HC_SET(CURLOPT_MAXREDIRS, 0L);
	HC_SET(CURLOPT_PROXY, "");
	HC_SET(CURLOPT_NOPROXY, "*");
	HC_SET(CURLOPT_CONNECTTIMEOUT_MS, (long)hc->connect_timeout_ms);
	HC_SET(CURLOPT_TIMEOUT_MS, (long)hc->timeout_ms);
	HC_SET(CURLOPT_SSL_VERIFYPEER, 1L);
	HC_SET(CURLOPT_SSL_VERIFYHOST, 2L);
	HC_SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (hc->ca_file != NULL) {
		/* The configured anchors alone, not the system's as well. */
		HC_SET(CURLOPT_CAINFO, hc->ca_file);
		HC_SET(CURLOPT_CAPATH, (char *)NULL);
	}
	if (hc->cert_file != NULL) {
		HC_SET(CURLOPT_SSLCERT, hc->cert_file);
		HC_SET(CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (hc->key_file != NULL) {
		HC_SET(CURLOPT_SSLKEY, hc->key_file);
		HC_SET(CURLOPT_SSLKEYTYPE, "PEM");
	}
	HC_SET(CURLOPT_USERAGENT, HC_USER_AGENT);
	HC_SET(CURLOPT_HTTPHEADER, hdrs);
	HC_SET(CURLOPT_WRITEFUNCTION, hc_write);
	HC_SET(CURLOPT_WRITEDATA, sink);
	HC_SET(CURLOPT_URL, url);
	if (strcmp(method, "GET") == 0)
		HC_SET(CURLOPT_HTTPGET, 1L);
	else {
		/* POST sends the body; PUT and DELETE are POSTs renamed. */
		HC_SET(CURLOPT_POST, 1L);
		HC_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		HC_SET(CURLOPT_POSTFIELDS, len > 0 ? body : "");
		if (strcmp(method, "POST") != 0)
			HC_SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef HC_SET
	return CURLE_OK;
}

/*
 * Builds the request headers: Accept (accept, checked by hc_new(), or
 * JSON), and for a body its Content-Type (ctype, or JSON), for none no
 * Content-Type at all; "Expect:" keeps libcurl from waiting for a 100
 * Continue.  Returns the list, which the caller frees with
 * curl_slist_free_all(), or NULL when out of memory or ctype is unsafe.
 */
static struct curl_slist *
hc_headers(const char *accept, const char *ctype, int has_body)
{
	struct curl_slist	*l = NULL, *n;
	char			 line[HC_HDR_MAX];
	int			 w;
	size_t			 i;

	w = snprintf(line, sizeof(line), "Accept: %s",
	    accept != NULL ? accept : HC_JSON);
	if (w < 0 || (size_t)w >= sizeof(line))
		return NULL;
	if ((n = curl_slist_append(l, line)) == NULL)
		return NULL;
	l = n;
	if ((n = curl_slist_append(l, "Expect:")) == NULL)
		goto fail;
	l = n;
	if (!has_body) {
		/* An empty value drops the form type libcurl adds to a POST. */
		if ((n = curl_slist_append(l, "Content-Type:")) == NULL)
			goto fail;
		return n;
	}
	if (ctype == NULL)
		ctype = HC_JSON;
	for (i = 0; ctype[i] != '\0'; i++)
		if ((unsigned char)ctype[i] < 0x20 || ctype[i] == 0x7f)
			goto fail;
	w = snprintf(line, sizeof(line), "Content-Type: %s", ctype);
	if (w < 0 || (size_t)w >= sizeof(line))
		goto fail;
	if ((n = curl_slist_append(l, line)) == NULL)
		goto fail;
	return n;
fail:
	curl_slist_free_all(l);
	return NULL;
}

/*
 * Copies libcurl's error text s into out (outsz > 0), cut to fit and with
 * any byte outside printable ASCII written as '?'.  libcurl's messages
 * name hosts, addresses and TLS failures, never a key or a body.  Also
 * used for the answer's Content-Type, which the server chose.
 */
static void
hc_error_copy(char *out, size_t outsz, const char *s)
{
	size_t	 i, n;

	n = strlen(s);
	if (n > outsz - 1)
		n = outsz - 1;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	/* libcurl ends some messages with a newline. */
	while (n > 0 && out[n - 1] == '?' && (s[n - 1] == '\n' ||
	    s[n - 1] == '\r'))
		n--;
	out[n] = '\0';
}

/*
 * Sends one request and reads its answer into r (see extern.h for the
 * return values).  r is initialised here, whatever happens; the caller
 * releases it with hc_resp_free().
 */
enum rp_err
hc_request(struct hc *hc, const char *method, const char *url,
    const char *ctype, const void *body, size_t len, struct hc_resp *r)
{
	struct curl_slist	*hdrs = NULL;
	struct hc_sink		 sink;
	CURLcode		 rc;
	enum rp_err		 e;
	long			 status = 0;
	char			*rtype = NULL;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, hc->max_response);
	if (method == NULL || url == NULL ||
	    (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0)) {
		(void)snprintf(r->error, sizeof(r->error), "unsupported "
		    "request");
		return RP_ERR_BAD_INPUT;
	}
	if (body == NULL && len > 0) {
		(void)snprintf(r->error, sizeof(r->error), "a body length "
		    "without a body");
		return RP_ERR_BAD_INPUT;
	}
	if ((e = hc_url_allowed(hc, url, r->error, sizeof(r->error))) !=
	    RP_OK)
		return e;
	if ((hdrs = hc_headers(hc->accept, ctype, len > 0)) == NULL) {
		(void)snprintf(r->error, sizeof(r->error), "bad content type "
		    "or out of memory");
		return RP_ERR_NOMEM;
	}
	/* Nothing of a previous request survives but the connection. */
	curl_easy_reset(hc->curl);
	hc->errbuf[0] = '\0';
	sink.body = &r->body;
	sink.too_large = 0;
	if ((rc = hc_setup(hc, method, url, body, len, hdrs, &sink)) !=
	    CURLE_OK) {
		(void)snprintf(r->error, sizeof(r->error), "libcurl refused "
		    "an option: %s", curl_easy_strerror(rc));
		e = RP_ERR_INTERNAL;
		goto out;
	}
	rc = curl_easy_perform(hc->curl);
	if (curl_easy_getinfo(hc->curl, CURLINFO_RESPONSE_CODE, &status) ==
	    CURLE_OK)
		r->status = status;
	if (curl_easy_getinfo(hc->curl, CURLINFO_CONTENT_TYPE, &rtype) ==
	    CURLE_OK && rtype != NULL)
		hc_error_copy(r->ctype, sizeof(r->ctype), rtype);
	if (rc == CURLE_OK) {
		e = RP_OK;
		goto out;
	}
	if (sink.too_large) {
		(void)snprintf(r->error, sizeof(r->error), "the answer is "
		    "over %zu bytes", hc->max_response);
		e = RP_ERR_TOO_LARGE;
		goto out;
	}
	hc_error_copy(r->error, sizeof(r->error),
	    hc->errbuf[0] != '\0' ? hc->errbuf : curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_OUT_OF_MEMORY:
	case CURLE_WRITE_ERROR:
		e = RP_ERR_NOMEM;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		e = RP_ERR_BAD_INPUT;
		break;
	default:
		/* Connection, TLS, timeout: there is no answer. */
		e = RP_ERR_UNAVAILABLE;
		break;
	}
out:
	/* The handle must not keep pointers into this call's memory. */
	(void)curl_easy_setopt(hc->curl, CURLOPT_HTTPHEADER,
	    (struct curl_slist *)NULL);
	(void)curl_easy_setopt(hc->curl, CURLOPT_WRITEDATA, (void *)NULL);
	(void)curl_easy_setopt(hc->curl, CURLOPT_POSTFIELDS, (char *)NULL);
	curl_slist_free_all(hdrs);
	return e;
}
