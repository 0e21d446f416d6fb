/*
 * sign-client: the load generator of the signed-submission benchmark
 * (tests/bench/bench_sign.sh, issue 6).  Each of THREADS threads runs a
 * loop of whole signed submissions, as a subscriber's software would make
 * them, over one kept-alive HTTPS connection of its own (a libcurl easy
 * handle):
 *
 *   1. POST URL/api/v1/challenges {"action","serial"[,"reason"][,"issuer"]}
 *      and expects 201 {"challenge_id","document",...};
 *   2. signs the document's exact bytes in-process with OpenSSL's CMS:
 *      SignedData, attached, SHA-256, signed attributes, DER, with the
 *      signer's certificate and the extra certificates (its issuing CA)
 *      added, as `openssl cms -sign -binary -md sha256 -nodetach
 *      -outform DER` makes it;
 *   3. POST URL/api/v1/requests {"challenge_id","signature": base64 of
 *      the DER} and expects 202.
 * The threads take the target serials, one per submission, in turn from
 * SERIALS (one upper-case hex serial a line): a certificate holds one
 * open request of an action, so every submission needs its own.
 *
 *	sign-client -u URL -c CERT -k KEY [-C CAFILE] [-e CHAIN] [-a ACTION]
 *	    [-r REASON] [-i ISSUER] [-j THREADS] [-n COUNT] [-q] SERIALS
 *
 * CERT and KEY (PEM) are the signer's; CAFILE is the TLS trust of the
 * portal (its self-signed certificate); CHAIN more certificates to put
 * into the signature (PEM, any number).  ACTION defaults to suspend.
 * COUNT (default: every serial of the file) submissions are made.  The
 * clock runs from the moment every thread has its handle ready until the
 * last submission is answered.  Prints one line (here folded; -q: the
 * first error answers are not shown on stderr):
 *
 *	sign-client: threads 8 submissions 400 ok 400 errors 0
 *	    seconds 1.234 rate 324.1/s cpu 0.850 s per-submission 2.12 ms
 *	    signing 0.31 ms latency p50 21.0 ms p99 40.3 ms
 *
 * "cpu" is this process's own CPU time (user + system) during the run,
 * so that the caller can tell how much of the machine the client took;
 * "signing" is the part of it spent in CMS_sign and the encoding, per
 * submission; the latencies are of whole submissions (both calls).
 * Errors are counted by kind on a second line when there are any:
 *
 *	sign-client: errors: challenge 3 (last HTTP 429) submit 0
 *	    (last HTTP 0) transport 0 sign 0
 *
 * Exit status: 0 when every submission was answered 202, 1 otherwise or
 * when something could not be set up, 2 for a bad command line.
 */
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define SC_THREADS_MAX	256ul
#define SC_COUNT_MAX	1000000ul
#define SC_SERIAL_MAX	64u		/* bytes of a serial, as the portal */
#define SC_SERIALS_FILE_MAX (64ul * 1024ul * 1024ul)
#define SC_RESP_MAX	(64u * 1024u)	/* bytes of one answer kept */
#define SC_URL_MAX	1024u
#define SC_ERRS_SHOWN	5u		/* error answers printed at most */
#define SC_TIMEOUT_MS	30000L		/* one HTTP exchange */

/* What the threads share, read-only during the run but for the lock. */
struct sc_run {
	char		 url_chal[SC_URL_MAX];
	char		 url_req[SC_URL_MAX];
	const char	*cafile;	/* NULL: the system's */
	const char	*action;
	const char	*reason;	/* NULL: none sent */
	const char	*issuer;	/* NULL: none sent */
	X509		*cert;
	EVP_PKEY	*key;
	STACK_OF(X509)	*chain;		/* put into the signature */
	char		**serials;
	size_t		 count;		/* submissions to make */
	double		*lat;		/* [count], seconds, < 0: failed */
	int		 quiet;
	pthread_mutex_t	 lock;		/* guards what follows */
	pthread_cond_t	 cond;		/* ready went up, or go was set */
	size_t		 next;		/* the next serial to take */
	unsigned int	 shown;		/* error answers printed so far */
	unsigned long	 ready;		/* threads at the start line */
	int		 go;		/* the start */
};

/* One thread's handle and counts. */
struct sc_worker {
	struct sc_run	*run;
	pthread_t	 tid;
	CURL		*curl;
	struct curl_slist *hdr;
	char		*resp;		/* [SC_RESP_MAX + 1] */
	size_t		 resplen;
	int		 overflow;	/* the answer was longer */
	unsigned long	 ok;
	unsigned long	 err_chal;	/* the challenge was refused */
	unsigned long	 err_sub;	/* the submission was refused */
	unsigned long	 err_net;	/* transport, or an unreadable answer */
	unsigned long	 err_sign;	/* CMS or encoding failed */
	long		 last_chal;	/* the last refusal's HTTP status */
	long		 last_sub;
	double		 sign_cpu;	/* thread CPU seconds spent signing */
	int		 failed;	/* could not be set up */
};

/* Prints the usage on stderr and returns the exit status 2. */
static int
usage(void)
{
	fprintf(stderr, "usage: sign-client -u URL -c CERT -k KEY [-C CAFILE] "
	    "[-e CHAIN] [-a ACTION]\n"
	    "                   [-r REASON] [-i ISSUER] [-j THREADS] "
	    "[-n COUNT] [-q] SERIALS\n");
	return 2;
}

/*
 * Parses s as a decimal number in min..max into *v.  Returns 0, or -1
 * for anything else (sign, blanks, trailing text, overflow).
 */
static int
parse_num(const char *s, unsigned long min, unsigned long max,
    unsigned long *v)
{
	char			*end;
	unsigned long long	 n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*v = (unsigned long)n;
	return 0;
}

/* The clock clk in seconds (0 when it cannot be read). */
static double
clock_s(clockid_t clk)
{
	struct timespec	 ts;

	if (clock_gettime(clk, &ts) == -1)
		return 0.0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's CPU time (user + system) in seconds. */
static double
cpu_s(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0.0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Prints OpenSSL's error queue after what, on stderr, and clears it. */
static void
ssl_err(const char *what)
{
	unsigned long	 e;
	char		 buf[256];

	fprintf(stderr, "sign-client: %s\n", what);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "sign-client: | %s\n", buf);
	}
}

/*
 * Reads the serials of path, one a line (blank lines skipped; a line
 * must be 1 to SC_SERIAL_MAX - 1 hex digits), into a NULL-terminated
 * array in *out, its length in *n.  The caller frees each string and the
 * array.  Returns 0, or -1 with a message on stderr.
 */
static int
read_serials(const char *path, char ***out, size_t *n)
{
	FILE		*f;
	char		 line[SC_SERIAL_MAX + 2], **v = NULL, **nv;
	size_t		 len, cap = 0, k = 0, lineno = 0, total = 0;
	int		 rc = -1;

	*out = NULL;
	*n = 0;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "sign-client: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strlen(line);
		total += len;
		if (total > SC_SERIALS_FILE_MAX) {
			fprintf(stderr, "sign-client: %s: larger than %lu "
			    "bytes\n", path, SC_SERIALS_FILE_MAX);
			goto out;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f)) {
			fprintf(stderr, "sign-client: %s:%zu: line too long\n",
			    path, lineno);
			goto out;
		}
		if (len == 0)
			continue;
		if (strspn(line, "0123456789ABCDEFabcdef") != len) {
			fprintf(stderr, "sign-client: %s:%zu: not a hex "
			    "serial\n", path, lineno);
			goto out;
		}
		if (k + 1 >= cap) {
			if (cap > SC_COUNT_MAX) {
				fprintf(stderr, "sign-client: %s: more than "
				    "%lu serials\n", path, SC_COUNT_MAX);
				goto out;
			}
			cap = cap == 0 ? 256 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[k] = strdup(line)) == NULL)
			goto nomem;
		v[++k] = NULL;
	}
	if (ferror(f)) {
		fprintf(stderr, "sign-client: %s: read error\n", path);
		goto out;
	}
	if (k == 0) {
		fprintf(stderr, "sign-client: %s: no serials\n", path);
		goto out;
	}
	*out = v;
	*n = k;
	v = NULL;
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, "sign-client: out of memory\n");
out:
	if (v != NULL) {
		for (len = 0; len < k; len++)
			free(v[len]);
		free(v);
	}
	(void)fclose(f);
	return rc;
}

/*
 * Loads the signer: the first certificate of certfile into *cert, the
 * key of keyfile into *key (it must match), and every certificate of
 * chainfile (NULL: none) into *chain.  The caller frees them.  Returns
 * 0, or -1 with a message on stderr.
 */
static int
load_signer(const char *certfile, const char *keyfile, const char *chainfile,
    X509 **cert, EVP_PKEY **key, STACK_OF(X509) **chain)
{
	BIO		*b = NULL;
	X509		*x;
	int		 rc = -1;

	*cert = NULL;
	*key = NULL;
	if ((*chain = sk_X509_new_null()) == NULL)
		goto fail;
	if ((b = BIO_new_file(certfile, "r")) == NULL ||
	    (*cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		ssl_err(certfile);
		goto out;
	}
	BIO_free(b);
	if ((b = BIO_new_file(keyfile, "r")) == NULL ||
	    (*key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		ssl_err(keyfile);
		goto out;
	}
	if (X509_check_private_key(*cert, *key) != 1) {
		ssl_err("the key does not belong to the certificate");
		goto out;
	}
	BIO_free(b);
	b = NULL;
	if (chainfile != NULL) {
		if ((b = BIO_new_file(chainfile, "r")) == NULL) {
			ssl_err(chainfile);
			goto out;
		}
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
			if (sk_X509_push(*chain, x) <= 0) {
				X509_free(x);
				goto fail;
			}
		/* The end of the file ends the loop with a "no start line". */
		ERR_clear_error();
		if (sk_X509_num(*chain) == 0) {
			fprintf(stderr, "sign-client: %s: no certificate\n",
			    chainfile);
			goto out;
		}
	}
	rc = 0;
	goto out;
fail:
	ssl_err("out of memory");
out:
	BIO_free(b);
	if (rc == -1) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		sk_X509_pop_free(*chain, X509_free);
		*cert = NULL;
		*key = NULL;
		*chain = NULL;
	}
	return rc;
}

/*
 * Signs doc (len bytes) as the run's signer: an attached CMS SignedData
 * with SHA-256 and the signed attributes, the signer's certificate and
 * the chain in it, as DER.  On success *b64 is the base64 of that DER
 * (NUL-terminated, no line breaks; the caller frees it) and 0 is
 * returned; -1 otherwise.
 */
static int
cms_sign_b64(const struct sc_run *run, const char *doc, size_t len,
    char **b64)
{
	CMS_ContentInfo	*cms = NULL;
	BIO		*in = NULL;
	unsigned char	*der = NULL, *out = NULL;
	const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
	int		 derlen, rc = -1;
	size_t		 outlen;

	*b64 = NULL;
	if (len > INT32_MAX)
		goto out;
	if ((in = BIO_new_mem_buf(doc, (int)len)) == NULL ||
	    (cms = CMS_sign(NULL, NULL, run->chain, NULL, flags)) == NULL ||
	    CMS_add1_signer(cms, run->cert, run->key, EVP_sha256(),
	    flags) == NULL ||
	    CMS_final(cms, in, NULL, CMS_BINARY) != 1 ||
	    (derlen = i2d_CMS_ContentInfo(cms, &der)) <= 0)
		goto out;
	/* 4 bytes for every 3, rounded up, and the NUL. */
	outlen = ((size_t)derlen + 2) / 3 * 4 + 1;
	if ((out = malloc(outlen)) == NULL)
		goto out;
	if (EVP_EncodeBlock(out, der, derlen) < 0)
		goto out;
	*b64 = (char *)out;
	out = NULL;
	rc = 0;
out:
	free(out);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

/* libcurl's write callback: keeps at most SC_RESP_MAX bytes. */
static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sc_worker	*w = arg;
	size_t			 n;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return 0;
	n = size * nmemb;
	if (n > SC_RESP_MAX - w->resplen) {
		w->overflow = 1;
		return 0;
	}
	memcpy(w->resp + w->resplen, p, n);
	w->resplen += n;
	w->resp[w->resplen] = '\0';
	return n;
}

/*
 * POSTs the JSON body to url on the worker's handle.  On a completed
 * exchange returns 0 with *status the HTTP status and the answer in
 * w->resp (w->resplen bytes, NUL-terminated); -1 on a transport error.
 */
static int
post(struct sc_worker *w, const char *url, const char *body, long *status)
{
	CURLcode	 cc;

	w->resplen = 0;
	w->resp[0] = '\0';
	w->overflow = 0;
	*status = 0;
	if (curl_easy_setopt(w->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE,
	    (long)strlen(body)) != CURLE_OK)
		return -1;
	if ((cc = curl_easy_perform(w->curl)) != CURLE_OK) {
		(void)snprintf(w->resp, SC_RESP_MAX + 1, "%s",
		    curl_easy_strerror(cc));
		w->resplen = strlen(w->resp);
		return -1;
	}
	if (curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, status) !=
	    CURLE_OK)
		return -1;
	return 0;
}

/* Prints what step answered (the first SC_ERRS_SHOWN of the run). */
static void
show_err(struct sc_worker *w, const char *serial, const char *step,
    long status)
{
	struct sc_run	*run = w->run;
	size_t		 len = w->resplen;
	int		 show = 0;

	if (run->quiet)
		return;
	if (pthread_mutex_lock(&run->lock) != 0)
		return;
	if (run->shown < SC_ERRS_SHOWN) {
		run->shown++;
		show = 1;
	}
	(void)pthread_mutex_unlock(&run->lock);
	if (!show)
		return;
	/* The answer on one line: without its final line break. */
	while (len > 0 && (w->resp[len - 1] == '\n' ||
	    w->resp[len - 1] == '\r'))
		len--;
	fprintf(stderr, "sign-client: serial %s: %s: HTTP %ld: %.*s\n",
	    serial, step, status, (int)(len > 300 ? 300 : len), w->resp);
}

/*
 * One whole submission for serial.  Returns 0 when it was answered 202,
 * else -1 with the error counted in w.
 */
static int
submit_one(struct sc_worker *w, const char *serial)
{
	const struct sc_run *run = w->run;
	json_t		*req = NULL, *ans = NULL;
	const char	*cid, *doc;
	char		*body = NULL, *b64 = NULL, *cidcopy = NULL;
	double		 t0;
	size_t		 doclen;
	long		 status;
	int		 rc = -1;

	/* 1. The challenge. */
	if ((req = json_pack("{s:s, s:s}", "action", run->action,
	    "serial", serial)) == NULL ||
	    (run->reason != NULL && json_object_set_new(req, "reason",
	    json_string(run->reason)) != 0) ||
	    (run->issuer != NULL && json_object_set_new(req, "issuer",
	    json_string(run->issuer)) != 0) ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		w->err_net++;
		goto out;
	}
	if (post(w, run->url_chal, body, &status) == -1) {
		w->err_net++;
		show_err(w, serial, "challenge (transport)", status);
		goto out;
	}
	if (status != 201) {
		w->err_chal++;
		w->last_chal = status;
		show_err(w, serial, "challenge", status);
		goto out;
	}
	if (w->overflow || (ans = json_loadb(w->resp, w->resplen, 0,
	    NULL)) == NULL ||
	    (cid = json_string_value(json_object_get(ans, "challenge_id"))) ==
	    NULL ||
	    (doc = json_string_value(json_object_get(ans, "document"))) ==
	    NULL) {
		w->err_net++;
		show_err(w, serial, "challenge (unreadable answer)", status);
		goto out;
	}
	doclen = json_string_length(json_object_get(ans, "document"));

	/* 2. The signature, on this thread's CPU clock. */
	t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	if (cms_sign_b64(run, doc, doclen, &b64) == -1) {
		w->err_sign++;
		ERR_clear_error();
		goto out;
	}
	w->sign_cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
	if ((cidcopy = strdup(cid)) == NULL) {
		w->err_sign++;
		goto out;
	}

	/* 3. The signed request. */
	json_decref(req);
	free(body);
	body = NULL;
	if ((req = json_pack("{s:s, s:s}", "challenge_id", cidcopy,
	    "signature", b64)) == NULL ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		w->err_net++;
		goto out;
	}
	if (post(w, run->url_req, body, &status) == -1) {
		w->err_net++;
		show_err(w, serial, "request (transport)", status);
		goto out;
	}
	if (status != 202) {
		w->err_sub++;
		w->last_sub = status;
		show_err(w, serial, "request", status);
		goto out;
	}
	w->ok++;
	rc = 0;
out:
	free(cidcopy);
	free(b64);
	free(body);
	json_decref(ans);
	json_decref(req);
	return rc;
}

/*
 * Makes the worker's handle: kept-alive HTTPS (or HTTP) only, peer
 * verified against the run's CA file, JSON bodies, no "Expect:
 * 100-continue" (a signature is over libcurl's 1 KiB threshold, and the
 * wait would be measured), timeouts.  Returns 0, or -1.
 */
static int
worker_init(struct sc_worker *w)
{
	const struct sc_run *run = w->run;
	struct curl_slist *h;

	if ((w->resp = malloc(SC_RESP_MAX + 1)) == NULL ||
	    (w->curl = curl_easy_init()) == NULL)
		return -1;
	if ((h = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL)
		return -1;
	w->hdr = h;
	if ((h = curl_slist_append(w->hdr, "Expect:")) == NULL)
		return -1;
	w->hdr = h;
	if (curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->hdr) !=
	    CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_data) !=
	    CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w) != CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "https,http") !=
	    CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L) !=
	    CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, SC_TIMEOUT_MS) !=
	    CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_SSL_VERIFYPEER, 1L) !=
	    CURLE_OK ||
	    curl_easy_setopt(w->curl, CURLOPT_SSL_VERIFYHOST, 2L) !=
	    CURLE_OK)
		return -1;
	if (run->cafile != NULL && curl_easy_setopt(w->curl, CURLOPT_CAINFO,
	    run->cafile) != CURLE_OK)
		return -1;
	return 0;
}

/* Frees what worker_init() made. */
static void
worker_free(struct sc_worker *w)
{
	curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->hdr);
	free(w->resp);
	w->curl = NULL;
	w->hdr = NULL;
	w->resp = NULL;
}

/*
 * A thread: sets up its handle, says it is ready and waits for the start
 * with the others, then takes serials in turn until none is left.  A
 * thread whose set-up failed reports ready all the same (the start waits
 * for every thread) and then stops.
 */
static void *
worker_main(void *arg)
{
	struct sc_worker *w = arg;
	struct sc_run	*run = w->run;
	double		 t0;
	size_t		 i;

	if (worker_init(w) == -1)
		w->failed = 1;
	if (pthread_mutex_lock(&run->lock) != 0) {
		/* Cannot happen with a default mutex; the start would hang. */
		abort();
	}
	run->ready++;
	(void)pthread_cond_broadcast(&run->cond);
	while (!run->go)
		(void)pthread_cond_wait(&run->cond, &run->lock);
	(void)pthread_mutex_unlock(&run->lock);
	while (!w->failed) {
		if (pthread_mutex_lock(&run->lock) != 0) {
			w->failed = 1;
			break;
		}
		i = run->next < run->count ? run->next++ : run->count;
		(void)pthread_mutex_unlock(&run->lock);
		if (i == run->count)
			break;
		t0 = clock_s(CLOCK_MONOTONIC);
		if (submit_one(w, run->serials[i]) == 0)
			run->lat[i] = clock_s(CLOCK_MONOTONIC) - t0;
	}
	worker_free(w);
	return NULL;
}

/* qsort's order of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The p-th percentile (nearest rank) of the n latencies of v that are
 * not negative, in milliseconds; v is sorted in place.  0 for none.
 */
static double
pct_ms(double *v, size_t n, double p)
{
	size_t	 first = 0, k, m;

	qsort(v, n, sizeof(*v), cmp_double);
	while (first < n && v[first] < 0.0)
		first++;
	m = n - first;
	if (m == 0)
		return 0.0;
	k = (size_t)(p / 100.0 * (double)m + 0.999999);
	if (k < 1)
		k = 1;
	if (k > m)
		k = m;
	return v[first + k - 1] * 1e3;
}

/*
 * Writes base/api/v1/<path> into out (SC_URL_MAX bytes), base without
 * its trailing slashes.  Returns 0, or -1 when it does not fit.
 */
static int
make_url(char *out, const char *base, const char *path)
{
	size_t	 len = strlen(base);
	int	 n;

	while (len > 0 && base[len - 1] == '/')
		len--;
	if (len > SC_URL_MAX)
		return -1;
	n = snprintf(out, SC_URL_MAX, "%.*s/api/v1/%s", (int)len, base, path);
	return n < 0 || (size_t)n >= SC_URL_MAX ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	struct sc_run	 run;
	struct sc_worker *w = NULL;
	const char	*url = NULL, *certfile = NULL, *keyfile = NULL;
	const char	*chainfile = NULL;
	unsigned long	 threads = 8, count = 0, ok = 0, echal = 0, esub = 0;
	unsigned long	 enet = 0, esign = 0, i, made = 0;
	long		 lchal = 0, lsub = 0;
	size_t		 nserials = 0;
	double		 t0, secs, c0, cpu, sign = 0.0, p50, p99;
	int		 ch, rc = 1, cond = 0, lock = 0, curl = 0;

	memset(&run, 0, sizeof(run));
	run.action = "suspend";
	while ((ch = getopt(argc, argv, "u:c:k:C:e:a:r:i:j:n:q")) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 'c':
			certfile = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'C':
			run.cafile = optarg;
			break;
		case 'e':
			chainfile = optarg;
			break;
		case 'a':
			run.action = optarg;
			break;
		case 'r':
			run.reason = optarg;
			break;
		case 'i':
			run.issuer = optarg;
			break;
		case 'j':
			if (parse_num(optarg, 1, SC_THREADS_MAX, &threads) ==
			    -1)
				return usage();
			break;
		case 'n':
			if (parse_num(optarg, 1, SC_COUNT_MAX, &count) == -1)
				return usage();
			break;
		case 'q':
			run.quiet = 1;
			break;
		default:
			return usage();
		}
	}
	if (optind + 1 != argc || url == NULL || certfile == NULL ||
	    keyfile == NULL || run.action[0] == '\0')
		return usage();
	if (make_url(run.url_chal, url, "challenges") == -1 ||
	    make_url(run.url_req, url, "requests") == -1) {
		fprintf(stderr, "sign-client: the URL is too long\n");
		return 2;
	}

	if (read_serials(argv[optind], &run.serials, &nserials) == -1)
		goto out;
	if (count == 0)
		count = nserials;
	if (count > nserials) {
		fprintf(stderr, "sign-client: %lu submissions asked for, but "
		    "only %zu serials given\n", count, nserials);
		goto out;
	}
	run.count = count;
	if (threads > count)
		threads = count;
	if ((run.lat = calloc(count, sizeof(*run.lat))) == NULL) {
		fprintf(stderr, "sign-client: out of memory\n");
		goto out;
	}
	for (i = 0; i < count; i++)
		run.lat[i] = -1.0;
	if (load_signer(certfile, keyfile, chainfile, &run.cert, &run.key,
	    &run.chain) == -1)
		goto out;
	/* Before any thread: libcurl's and jansson's global set-up. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "sign-client: curl_global_init failed\n");
		goto out;
	}
	curl = 1;
	json_object_seed(0);
	if (pthread_mutex_init(&run.lock, NULL) != 0)
		goto out;
	lock = 1;
	if (pthread_cond_init(&run.cond, NULL) != 0)
		goto out;
	cond = 1;
	if ((w = calloc(threads, sizeof(*w))) == NULL) {
		fprintf(stderr, "sign-client: out of memory\n");
		goto out;
	}
	for (i = 0; i < threads; i++) {
		w[i].run = &run;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "sign-client: cannot start a thread\n");
			break;
		}
		made++;
	}

	/* Every thread started is ready: go (or stop at once). */
	if (pthread_mutex_lock(&run.lock) != 0)
		abort();
	while (run.ready < made)
		(void)pthread_cond_wait(&run.cond, &run.lock);
	if (made < threads)
		run.next = run.count;
	run.go = 1;
	c0 = cpu_s();
	t0 = clock_s(CLOCK_MONOTONIC);
	(void)pthread_cond_broadcast(&run.cond);
	(void)pthread_mutex_unlock(&run.lock);
	for (i = 0; i < made; i++)
		(void)pthread_join(w[i].tid, NULL);
	secs = clock_s(CLOCK_MONOTONIC) - t0;
	cpu = cpu_s() - c0;
	if (made < threads)
		goto out;

	for (i = 0; i < threads; i++) {
		if (w[i].failed) {
			fprintf(stderr, "sign-client: a thread could not set "
			    "up its handle\n");
			goto out;
		}
		ok += w[i].ok;
		echal += w[i].err_chal;
		esub += w[i].err_sub;
		enet += w[i].err_net;
		esign += w[i].err_sign;
		sign += w[i].sign_cpu;
		if (w[i].last_chal != 0)
			lchal = w[i].last_chal;
		if (w[i].last_sub != 0)
			lsub = w[i].last_sub;
	}
	if (secs <= 0.0)
		secs = 1e-9;
	p50 = pct_ms(run.lat, count, 50.0);
	p99 = pct_ms(run.lat, count, 99.0);
	if (printf("sign-client: threads %lu submissions %lu ok %lu errors %lu "
	    "seconds %.3f rate %.1f/s cpu %.3f s per-submission %.2f ms "
	    "signing %.2f ms latency p50 %.1f ms p99 %.1f ms\n", threads,
	    count, ok, count - ok, secs, (double)ok / secs, cpu,
	    cpu * 1e3 / (double)count, sign * 1e3 / (double)count, p50,
	    p99) < 0 ||
	    (ok != count && printf("sign-client: errors: challenge %lu (last "
	    "HTTP %ld) submit %lu (last HTTP %ld) transport %lu sign %lu\n",
	    echal, lchal, esub, lsub, enet, esign) < 0) ||
	    fflush(stdout) == EOF) {
		perror("sign-client: stdout");
		goto out;
	}
	rc = ok == count ? 0 : 1;
out:
	free(w);
	if (cond)
		(void)pthread_cond_destroy(&run.cond);
	if (lock)
		(void)pthread_mutex_destroy(&run.lock);
	if (curl)
		curl_global_cleanup();
	X509_free(run.cert);
	EVP_PKEY_free(run.key);
	sk_X509_pop_free(run.chain, X509_free);
	if (run.serials != NULL) {
		for (i = 0; i < nserials; i++)
			free(run.serials[i]);
		free(run.serials);
	}
	free(run.lat);
	return rc;
}
