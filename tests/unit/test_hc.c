/*
 * Tests of hc.c, the hardened HTTP client, against real local TLS servers
 * (tests/contract/hc_server.py with throwaway certificates): answers of
 * every status come back, a redirect is not followed, timeouts, refused
 * connections, a wrong trust anchor, a certificate for another host
 * name and a missing client certificate fail, an oversize answer is cut,
 * and http:// is refused unless allowed, and then only toward loopback
 * (or toward any host with http_any, revchk.c's OCSP and CRL fetches,
 * against a plain http server, tests/integration/ocspfixed.py).  Also the
 * checks of the TLS files' owner and modes.
 */
#include "unit.h"
#include "unit_proc.h"

#include <sys/stat.h>
#include <sys/time.h>

int		 hc_host_loopback(const char *);
int		 hc_mode_safe(const struct stat *, int, uid_t, char *, size_t);
enum rp_err	 hc_url_allowed(const struct hc *, const char *, char *,
		    size_t);

#define LIMIT	4096u		/* max_response of the test clients */

struct env {
	char	 dir[UP_DIR_MAX];
	char	 ca[128], other_ca[128], cert[128], key[128];
	pid_t	 plain_pid;	/* TLS, no client certificate asked */
	pid_t	 mtls_pid;	/* TLS, a client certificate required */
	pid_t	 ip_pid;	/* TLS, a certificate for 127.0.0.1 alone */
	int	 plain_port;
	int	 mtls_port;
	int	 ip_port;
};

static struct env	 env;

/*
 * Starts hc_server.py with its port file name and the certificate
 * cert.pem (and cert.key) of the test directory; returns the port or -1.
 */
static int
start_server(const char *name, const char *cert, int mtls, pid_t *pid)
{
	char	 server[160], key[160], portf[160], log[160];
	char	*argv[12];
	int	 i = 0;

	(void)snprintf(server, sizeof(server), "%s/%s.pem", env.dir, cert);
	(void)snprintf(key, sizeof(key), "%s/%s.key", env.dir, cert);
	(void)snprintf(portf, sizeof(portf), "%s/%s.port", env.dir, name);
	(void)snprintf(log, sizeof(log), "%s/%s.log", env.dir, name);
	argv[i++] = "python3";
	argv[i++] = "tests/contract/hc_server.py";
	argv[i++] = "--cert";
	argv[i++] = server;
	argv[i++] = "--key";
	argv[i++] = key;
	argv[i++] = "--port-file";
	argv[i++] = portf;
	if (mtls) {
		argv[i++] = "--client-ca";
		argv[i++] = env.ca;
	}
	argv[i] = NULL;
	if ((*pid = up_spawn(argv, log)) == -1)
		return -1;
	return up_wait_port(portf, *pid, 10000);
}

/*
 * Issues ipcert.pem and ipcert.key from the test CA: a server certificate
 * whose only name is the address 127.0.0.1 (subject CN "ca.example", not
 * a name the client may use when the certificate has alternative names).
 * Returns 0 or -1.
 */
static int
make_ip_cert(void)
{
	char	 key[160], csr[160], ext[160], pem[160], ca[160], cakey[160];
	char	 serial[160];
	char	*req[] = { "openssl", "req", "-new", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
	    "-out", csr, "-subj", "/CN=ca.example", NULL };
	char	*sign[] = { "openssl", "x509", "-req", "-in", csr, "-CA", ca,
	    "-CAkey", cakey, "-CAserial", serial, "-CAcreateserial", "-days",
	    "2", "-extfile", ext, "-out", pem, NULL };
	FILE	*f;

	(void)snprintf(key, sizeof(key), "%s/ipcert.key", env.dir);
	(void)snprintf(csr, sizeof(csr), "%s/ipcert.csr", env.dir);
	(void)snprintf(ext, sizeof(ext), "%s/ipcert.ext", env.dir);
	(void)snprintf(pem, sizeof(pem), "%s/ipcert.pem", env.dir);
	(void)snprintf(ca, sizeof(ca), "%s/ca.pem", env.dir);
	(void)snprintf(cakey, sizeof(cakey), "%s/ca.key", env.dir);
	(void)snprintf(serial, sizeof(serial), "%s/ipcert.srl", env.dir);
	if ((f = fopen(ext, "w")) == NULL)
		return -1;
	if (fputs("basicConstraints=CA:FALSE\n"
	    "keyUsage=critical,digitalSignature\n"
	    "extendedKeyUsage=serverAuth\n"
	    "subjectAltName=IP:127.0.0.1\n", f) < 0) {
		(void)fclose(f);
		return -1;
	}
	if (fclose(f) != 0)
		return -1;
	return up_run(req, NULL) == 0 && up_run(sign, NULL) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	(void)state;
	memset(&env, 0, sizeof(env));
	if (up_tmpdir("rp-hc", env.dir) == -1 || up_mkcerts(env.dir) == -1 ||
	    make_ip_cert() == -1)
		return -1;
	(void)snprintf(env.ca, sizeof(env.ca), "%s/ca.pem", env.dir);
	(void)snprintf(env.other_ca, sizeof(env.other_ca), "%s/other-ca.pem",
	    env.dir);
	(void)snprintf(env.cert, sizeof(env.cert), "%s/client.pem", env.dir);
	(void)snprintf(env.key, sizeof(env.key), "%s/client.key", env.dir);
	if ((env.plain_port = start_server("plain", "server", 0,
	    &env.plain_pid)) == -1 ||
	    (env.mtls_port = start_server("mtls", "server", 1,
	    &env.mtls_pid)) == -1 ||
	    (env.ip_port = start_server("ip", "ipcert", 0,
	    &env.ip_pid)) == -1) {
		fprintf(stderr, "test_hc: a test server did not start; see "
		    "%s/*.log\n", env.dir);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	up_stop(env.plain_pid);
	up_stop(env.mtls_pid);
	up_stop(env.ip_pid);
	up_rmrf(env.dir);
	return 0;
}

/* A client trusting ca (NULL: the test CA), with or without a client
 * certificate. */
static struct hc *
client(const char *ca, int mtls, int allow_http, unsigned int timeout_ms)
{
	struct hc_conf	 c;
	struct hc	*hc;
	char		 err[256];

	memset(&c, 0, sizeof(c));
	c.ca_file = ca != NULL ? ca : env.ca;
	c.cert_file = mtls ? env.cert : NULL;
	c.key_file = mtls ? env.key : NULL;
	c.allow_http = allow_http;
	c.connect_timeout_ms = timeout_ms;
	c.timeout_ms = timeout_ms;
	c.max_response = LIMIT;
	hc = hc_new(&c, err, sizeof(err));
	if (hc == NULL)
		fprintf(stderr, "hc_new: %s\n", err);
	assert_non_null(hc);
	return hc;
}

static void
url(char *out, size_t outsz, const char *host, int port, const char *path)
{
	int	 n;

	n = snprintf(out, outsz, "https://%s:%d%s", host, port, path);
	assert_true(n > 0 && (size_t)n < outsz);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The JSON /echo answered in r. */
static json_t *
echo_of(const struct hc_resp *r)
{
	json_t	*j;

	assert_int_equal(r->status, 200);
	j = json_loadb(r->body.p, r->body.len, 0, NULL);
	assert_non_null(j);
	return j;
}

static const char *
echo_str(json_t *j, const char *key)
{
	const char	*s;

	s = json_string_value(json_object_get(j, key));
	assert_non_null(s);
	return s;
}

static const char *
echo_hdr(json_t *j, const char *name)
{
	return json_string_value(json_object_get(json_object_get(j,
	    "headers"), name));
}

static void
test_get_and_headers(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];
	json_t		*j;

	(void)state;
	hc = client(NULL, 0, 0, 5000);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	j = echo_of(&r);
	assert_string_equal(echo_str(j, "method"), "GET");
	assert_string_equal(echo_hdr(j, "accept"), "application/json");
	assert_string_equal(echo_hdr(j, "user-agent"), "revportal/1");
	/* No body, no Content-Type; no proxy headers. */
	assert_null(echo_hdr(j, "content-type"));
	assert_string_equal(echo_str(j, "client"), "");
	json_decref(j);
	hc_resp_free(&r);
	/* The host name is checked too: localhost is in the certificate. */
	url(u, sizeof(u), "localhost", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_int_equal(r.status, 200);
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_post_put_then_get(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];
	const char	 body[] = "{\"serial\":\"1\"}";
	json_t		*j;

	(void)state;
	hc = client(NULL, 0, 0, 5000);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "POST", u, NULL, body,
	    sizeof(body) - 1, &r), RP_OK);
	j = echo_of(&r);
	assert_string_equal(echo_str(j, "method"), "POST");
	assert_string_equal(echo_str(j, "body"), body);
	assert_string_equal(echo_hdr(j, "content-type"), "application/json");
	assert_string_equal(echo_hdr(j, "accept"), "application/json");
	json_decref(j);
	hc_resp_free(&r);

	assert_int_equal(hc_request(hc, "PUT", u, NULL, NULL, 0, &r), RP_OK);
	j = echo_of(&r);
	assert_string_equal(echo_str(j, "method"), "PUT");
	assert_string_equal(echo_str(j, "body"), "");
	assert_string_equal(echo_hdr(j, "content-length"), "0");
	assert_null(echo_hdr(j, "content-type"));
	json_decref(j);
	hc_resp_free(&r);

	/* Nothing of the POST or the PUT survives into the next request. */
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	j = echo_of(&r);
	assert_string_equal(echo_str(j, "method"), "GET");
	assert_string_equal(echo_str(j, "body"), "");
	assert_null(echo_hdr(j, "content-type"));
	json_decref(j);
	hc_resp_free(&r);

	/* Another content type is sent as given, one with a CR not at all. */
	assert_int_equal(hc_request(hc, "POST", u, "text/plain", "a", 1, &r),
	    RP_OK);
	j = echo_of(&r);
	assert_string_equal(echo_hdr(j, "content-type"), "text/plain");
	json_decref(j);
	hc_resp_free(&r);
	assert_int_not_equal(hc_request(hc, "POST", u, "text/plain\r\nX: y",
	    "a", 1, &r), RP_OK);
	assert_int_equal(r.status, 0);
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_status_codes_come_back(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];

	(void)state;
	hc = client(NULL, 0, 0, 5000);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/nothing");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.p, "{\"error\":\"not found\"}");
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_redirect_not_followed(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];

	(void)state;
	hc = client(NULL, 0, 0, 5000);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/redirect");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_int_equal(r.status, 302);
	/* The 302's own body, not /echo's. */
	assert_string_equal(r.body.p, "{}");
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_oversize_answer_cut(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];

	(void)state;
	hc = client(NULL, 0, 0, 5000);
	/* Exactly the limit passes. */
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/big?n=4096");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_int_equal(r.body.len, LIMIT);
	hc_resp_free(&r);
	/* One byte more does not, and the buffer stops at the limit. */
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/big?n=4097");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_TOO_LARGE);
	assert_true(r.body.len <= LIMIT);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.error, "4096"));
	hc_resp_free(&r);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/big?n=1000000");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_TOO_LARGE);
	assert_true(r.body.len <= LIMIT);
	hc_resp_free(&r);
	/* The handle still works afterwards. */
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_int_equal(r.status, 200);
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_timeout_silent_server(void **state)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct hc		*hc;
	struct hc_resp		 r;
	char			 u[128];
	int			 fd;
	int64_t			 t0;

	(void)state;
	/* Listens, never accepts: the TCP handshake completes in the
	 * backlog and the TLS handshake never does. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	hc = client(NULL, 0, 0, 400);
	url(u, sizeof(u), "127.0.0.1", ntohs(sin.sin_port), "/echo");
	t0 = now_ms();
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(r.status, 0);
	assert_true(r.error[0] != '\0');
	hc_resp_free(&r);
	(void)close(fd);

	/* A server that accepts and then takes too long to answer. */
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/slow?ms=3000");
	t0 = now_ms();
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	assert_true(now_ms() - t0 < 2500);
	assert_non_null(strstr(r.error, "imed out"));
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_refused(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];
	int		 port;

	(void)state;
	hc = client(NULL, 0, 0, 2000);
	assert_true((port = up_free_port()) > 0);
	url(u, sizeof(u), "127.0.0.1", port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(r.status, 0);
	assert_true(r.error[0] != '\0');
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_wrong_ca(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];

	(void)state;
	hc = client(env.other_ca, 0, 0, 5000);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.body.len, 0);
	assert_non_null(strstr(r.error, "certificate"));
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_client_certificate(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];
	json_t		*j;

	(void)state;
	url(u, sizeof(u), "127.0.0.1", env.mtls_port, "/echo");
	hc = client(NULL, 1, 0, 5000);
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	j = echo_of(&r);
	assert_string_equal(echo_str(j, "client"),
	    "commonName=revportal relay");
	json_decref(j);
	hc_resp_free(&r);
	hc_free(hc);
	/* Without one the server refuses the handshake: no answer. */
	hc = client(NULL, 0, 0, 5000);
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(r.status, 0);
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_http_refused(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];
	int64_t		 t0;
	int		 port;

	(void)state;
	hc = client(NULL, 0, 0, 2000);
	(void)snprintf(u, sizeof(u), "http://127.0.0.1:%d/echo",
	    env.plain_port);
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_BAD_INPUT);
	assert_non_null(strstr(r.error, "http://"));
	hc_resp_free(&r);
	assert_int_equal(hc_request(hc, "GET", "ftp://127.0.0.1/x", NULL,
	    NULL, 0, &r), RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	assert_int_equal(hc_request(hc, "GET", "file:///etc/passwd", NULL,
	    NULL, 0, &r), RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	assert_int_equal(hc_request(hc, "GET", "not a url", NULL, NULL, 0,
	    &r), RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	hc_free(hc);

	/* With allow_http: refused before any connection to another host
	 * (192.0.2.1 is TEST-NET-1 and would time out) ... */
	hc = client(NULL, 0, 1, 2000);
	t0 = now_ms();
	assert_int_equal(hc_request(hc, "GET", "http://192.0.2.1/x", NULL,
	    NULL, 0, &r), RP_ERR_BAD_INPUT);
	assert_true(now_ms() - t0 < 500);
	assert_non_null(strstr(r.error, "loopback"));
	hc_resp_free(&r);
	assert_int_equal(hc_request(hc, "GET", "http://localhost.example/x",
	    NULL, NULL, 0, &r), RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	assert_int_equal(hc_request(hc, "GET", "http://[::2]/x", NULL, NULL,
	    0, &r), RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	/* ... while loopback passes the check and is tried (refused). */
	assert_true((port = up_free_port()) > 0);
	(void)snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", port);
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	hc_resp_free(&r);
	/* https elsewhere stays allowed: it fails only at connecting. */
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	hc_resp_free(&r);
	hc_free(hc);
}

/* A client with http_any (and allow_http as given) and an Accept value. */
static struct hc *
client_any(int http_any, int allow_http, const char *accept)
{
	struct hc_conf	 c;
	struct hc	*hc;
	char		 err[256];

	memset(&c, 0, sizeof(c));
	c.ca_file = env.ca;
	c.allow_http = allow_http;
	c.http_any = http_any;
	c.accept = accept;
	c.connect_timeout_ms = 2000;
	c.timeout_ms = 2000;
	c.max_response = LIMIT;
	hc = hc_new(&c, err, sizeof(err));
	if (hc == NULL)
		fprintf(stderr, "hc_new: %s\n", err);
	assert_non_null(hc);
	return hc;
}

/*
 * http_any lets http:// reach any host, which the policy check alone
 * shows (no packet to 192.0.2.1 or a name is sent: hc_url_allowed() is
 * what hc_request() asks first); without it allow_http still means
 * loopback only.  Other schemes stay refused.  A real plain http server
 * on loopback answers a client that has http_any alone, with the
 * Accept value it was given and the answer's Content-Type read back.
 */
static void
test_http_any(void **state)
{
	static const char *const far[] = { "http://192.0.2.1/x",
	    "http://ocsp.example.test/", "HTTP://192.0.2.1:8080/ca.crl",
	    "http://[2001:db8::1]/" };
	struct hc	*any, *loop, *none;
	struct hc_resp	 r;
	char		 why[RP_ERRMSG_MAX], u[128], file[160], log[160];
	char		 port_s[16];
	char		*argv[] = { "python3", "tests/integration/ocspfixed.py",
	    port_s, file, "application/ocsp-response", NULL };
	FILE		*f;
	size_t		 i;
	pid_t		 pid;
	int		 port;
	int64_t		 t0;

	(void)state;
	any = client_any(1, 0, "application/ocsp-response");
	loop = client_any(0, 1, NULL);
	none = client_any(0, 0, NULL);
	for (i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		if (hc_url_allowed(any, far[i], why, sizeof(why)) != RP_OK)
			fail_msg("%s refused with http_any: %s", far[i], why);
		assert_int_equal(hc_url_allowed(loop, far[i], why,
		    sizeof(why)), RP_ERR_BAD_INPUT);
		assert_non_null(strstr(why, "loopback"));
		assert_int_equal(hc_url_allowed(none, far[i], why,
		    sizeof(why)), RP_ERR_BAD_INPUT);
	}
	assert_int_equal(hc_url_allowed(any, "https://192.0.2.1/", why,
	    sizeof(why)), RP_OK);
	assert_int_equal(hc_url_allowed(any, "ftp://192.0.2.1/", why,
	    sizeof(why)), RP_ERR_BAD_INPUT);
	assert_int_equal(hc_url_allowed(any, "ldap://192.0.2.1/", why,
	    sizeof(why)), RP_ERR_BAD_INPUT);
	assert_int_equal(hc_url_allowed(any, "file:///etc/passwd", why,
	    sizeof(why)), RP_ERR_BAD_INPUT);
	assert_int_equal(hc_url_allowed(any, "not a url", why, sizeof(why)),
	    RP_ERR_BAD_INPUT);
	/* The client without http_any refuses at once, sending nothing. */
	t0 = now_ms();
	assert_int_equal(hc_request(loop, "GET", far[0], NULL, NULL, 0, &r),
	    RP_ERR_BAD_INPUT);
	assert_true(now_ms() - t0 < 500);
	hc_resp_free(&r);

	/* A plain http server on loopback. */
	(void)snprintf(file, sizeof(file), "%s/any.der", env.dir);
	(void)snprintf(log, sizeof(log), "%s/any.log", env.dir);
	assert_non_null(f = fopen(file, "w"));
	assert_int_equal(fputs("0123456789", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_true((port = up_free_port()) > 0);
	(void)snprintf(port_s, sizeof(port_s), "%d", port);
	assert_true((pid = up_spawn(argv, log)) > 0);
	if (up_wait_listen(port, pid, 10000) != 0) {
		up_stop(pid);
		fail_msg("ocspfixed.py did not start; see %s", log);
	}
	(void)snprintf(u, sizeof(u), "http://127.0.0.1:%d/", port);
	assert_int_equal(hc_request(any, "POST", u, "application/ocsp-request",
	    "req", 3, &r), RP_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/ocsp-response");
	assert_string_equal(r.body.p, "0123456789");
	hc_resp_free(&r);
	assert_int_equal(hc_request(none, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(r.ctype, "");
	hc_resp_free(&r);
	up_stop(pid);
	hc_free(any);
	hc_free(loop);
	hc_free(none);
}

/* The Accept value goes out as given; an unsafe one stops hc_new(). */
static void
test_accept_and_ctype(void **state)
{
	struct hc_conf	 c;
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128], err[256], longv[200];
	json_t		*j;

	(void)state;
	hc = client_any(0, 0, "application/pkix-crl");
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_string_equal(r.ctype, "application/json");
	j = echo_of(&r);
	assert_string_equal(echo_hdr(j, "accept"), "application/pkix-crl");
	json_decref(j);
	hc_resp_free(&r);
	hc_free(hc);

	memset(&c, 0, sizeof(c));
	c.connect_timeout_ms = 1000;
	c.timeout_ms = 1000;
	c.max_response = 100;
	c.accept = "text/plain\r\nX-Injected: 1";
	assert_null(hc_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "Accept"));
	c.accept = "";
	assert_null(hc_new(&c, err, sizeof(err)));
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	c.accept = longv;
	assert_null(hc_new(&c, err, sizeof(err)));
	c.accept = "application/ocsp-response";
	assert_non_null(hc = hc_new(&c, err, sizeof(err)));
	hc_free(hc);
}

static void
test_no_proxy_from_environment(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];
	char		 proxy[64];
	int		 port;

	(void)state;
	/* A proxy that does not exist: used, it would refuse. */
	assert_true((port = up_free_port()) > 0);
	(void)snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port);
	assert_int_equal(setenv("https_proxy", proxy, 1), 0);
	assert_int_equal(setenv("HTTPS_PROXY", proxy, 1), 0);
	assert_int_equal(setenv("all_proxy", proxy, 1), 0);
	hc = client(NULL, 0, 0, 5000);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_int_equal(r.status, 200);
	hc_resp_free(&r);
	hc_free(hc);
	(void)unsetenv("https_proxy");
	(void)unsetenv("HTTPS_PROXY");
	(void)unsetenv("all_proxy");
}

static void
test_bad_requests(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];

	(void)state;
	hc = client(NULL, 0, 0, 2000);
	url(u, sizeof(u), "127.0.0.1", env.plain_port, "/echo");
	assert_int_equal(hc_request(hc, "PATCH", u, NULL, NULL, 0, &r),
	    RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	assert_int_equal(hc_request(hc, "GET", NULL, NULL, NULL, 0, &r),
	    RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	assert_int_equal(hc_request(hc, "POST", u, NULL, NULL, 3, &r),
	    RP_ERR_BAD_INPUT);
	hc_resp_free(&r);
	hc_free(hc);
}

static void
test_new_refuses_bad_conf(void **state)
{
	struct hc_conf	 c;
	char		 err[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.connect_timeout_ms = 1000;
	c.timeout_ms = 1000;
	c.max_response = 0;
	assert_null(hc_new(&c, err, sizeof(err)));
	assert_true(err[0] != '\0');
	c.max_response = 100;
	c.timeout_ms = 0;
	assert_null(hc_new(&c, err, sizeof(err)));
	c.timeout_ms = 600001;
	assert_null(hc_new(&c, err, sizeof(err)));
	c.timeout_ms = 1000;
	c.connect_timeout_ms = 0;
	assert_null(hc_new(&c, err, sizeof(err)));
	c.connect_timeout_ms = 1000;
	c.timeout_ms = 1000;
	c.key_file = "client.key";
	assert_null(hc_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "certificate"));
	/* Files that cannot be read stop it at once, not at each request. */
	c.key_file = NULL;
	c.ca_file = "/nonexistent/ca.pem";
	assert_null(hc_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "CA file"));
	c.ca_file = env.ca;
	c.cert_file = "/nonexistent/client.pem";
	assert_null(hc_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "client certificate"));
	c.cert_file = env.cert;
	c.key_file = "/nonexistent/client.key";
	assert_null(hc_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "client key"));
	c.key_file = env.key;
	hc_free(hc_new(&c, err, sizeof(err)));
	hc_free(NULL);
	hc_resp_free(NULL);
}

static void
test_host_loopback(void **state)
{
	static const char *const yes[] = { "localhost", "LocalHost",
	    "127.0.0.1", "127.255.255.254", "127.0.0.53", "[::1]",
	    "[0:0:0:0:0:0:0:1]" };
	static const char *const no[] = { "", "128.0.0.1", "126.255.255.255",
	    "10.0.0.1", "localhost.example", "localhost.", "127.1",
	    "127.0.0.1.example", "::1", "[::2]", "[::ffff:127.0.0.1]", "[::1",
	    "::1]", "[]", "0.0.0.0", "[::]" };
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!hc_host_loopback(yes[i]))
			fail_msg("%s should be loopback", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (hc_host_loopback(no[i]))
			fail_msg("%s should not be loopback", no[i]);
}

/*
 * The host name is verified, not only the chain: a server whose
 * certificate (from the trusted CA) names only 127.0.0.1 answers at
 * that address and is refused as localhost, with no answer read; its
 * subject CN, ca.example, is no name either.
 */
static void
test_wrong_host(void **state)
{
	struct hc	*hc;
	struct hc_resp	 r;
	char		 u[128];

	(void)state;
	hc = client(NULL, 0, 0, 5000);
	url(u, sizeof(u), "127.0.0.1", env.ip_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r), RP_OK);
	assert_int_equal(r.status, 200);
	hc_resp_free(&r);
	url(u, sizeof(u), "localhost", env.ip_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.body.len, 0);
	assert_non_null(strstr(r.error, "localhost"));
	hc_resp_free(&r);
	/* And the handle is not left trusting it: the next call is new. */
	url(u, sizeof(u), "localhost", env.ip_port, "/echo");
	assert_int_equal(hc_request(hc, "GET", u, NULL, NULL, 0, &r),
	    RP_ERR_UNAVAILABLE);
	hc_resp_free(&r);
	hc_free(hc);
}

/* A struct stat of a regular file with mode and owner uid. */
static struct stat
st_of(mode_t mode, uid_t uid)
{
	struct stat	 st;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | mode;
	st.st_uid = uid;
	return st;
}

/*
 * The TLS files the relay is given: a key owned by the user that runs
 * it and closed to everyone else; anchors and a certificate that no one
 * but their owner may write.  First the judgement, then real files.
 */
static void
test_file_safe(void **state)
{
	static const mode_t key_ok[] = { 0600, 0400, 0700, 0200 };
	static const mode_t key_bad[] = { 0640, 0604, 0660, 0644, 0610, 0601,
	    0602, 0620, 0777 };
	static const mode_t pub_ok[] = { 0644, 0444, 0600, 0640, 0755 };
	static const mode_t pub_bad[] = { 0664, 0646, 0666, 0620, 0602,
	    0777 };
	struct stat	 st;
	char		 why[256], path[160];
	uid_t		 me = geteuid();
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(key_ok) / sizeof(key_ok[0]); i++) {
		st = st_of(key_ok[i], me);
		if (!hc_mode_safe(&st, 1, me, why, sizeof(why)))
			fail_msg("key %04o: %s", (unsigned)key_ok[i], why);
	}
	for (i = 0; i < sizeof(key_bad) / sizeof(key_bad[0]); i++) {
		st = st_of(key_bad[i], me);
		if (hc_mode_safe(&st, 1, me, why, sizeof(why)))
			fail_msg("key %04o passed", (unsigned)key_bad[i]);
		assert_non_null(strstr(why, "0600 or 0400"));
	}
	/* Someone else's key, even closed. */
	st = st_of(0600, me + 1);
	assert_false(hc_mode_safe(&st, 1, me, why, sizeof(why)));
	assert_non_null(strstr(why, "owned by uid"));
	for (i = 0; i < sizeof(pub_ok) / sizeof(pub_ok[0]); i++) {
		st = st_of(pub_ok[i], me + 1);
		if (!hc_mode_safe(&st, 0, me, why, sizeof(why)))
			fail_msg("file %04o: %s", (unsigned)pub_ok[i], why);
	}
	for (i = 0; i < sizeof(pub_bad) / sizeof(pub_bad[0]); i++) {
		st = st_of(pub_bad[i], me);
		if (hc_mode_safe(&st, 0, me, why, sizeof(why)))
			fail_msg("file %04o passed", (unsigned)pub_bad[i]);
		assert_non_null(strstr(why, "write"));
	}
	st = st_of(0600, me);
	st.st_mode = S_IFDIR | 0700;
	assert_false(hc_mode_safe(&st, 1, me, why, sizeof(why)));
	assert_non_null(strstr(why, "regular file"));

	/* Real files: mkcerts.sh leaves keys 0600, certificates 0644. */
	assert_true(hc_file_safe(env.key, 1, why, sizeof(why)));
	assert_true(hc_file_safe(env.ca, 0, why, sizeof(why)));
	assert_true(hc_file_safe(env.cert, 0, why, sizeof(why)));
	assert_int_equal(chmod(env.key, 0640), 0);
	assert_false(hc_file_safe(env.key, 1, why, sizeof(why)));
	assert_int_equal(chmod(env.key, 0600), 0);
	assert_int_equal(chmod(env.ca, 0664), 0);
	assert_false(hc_file_safe(env.ca, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "0664"));
	assert_int_equal(chmod(env.ca, 0644), 0);
	assert_false(hc_file_safe(env.dir, 0, why, sizeof(why)));
	(void)snprintf(path, sizeof(path), "%s/none.pem", env.dir);
	assert_false(hc_file_safe(path, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "No such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_loopback),
		cmocka_unit_test(test_new_refuses_bad_conf),
		cmocka_unit_test(test_get_and_headers),
		cmocka_unit_test(test_post_put_then_get),
		cmocka_unit_test(test_status_codes_come_back),
		cmocka_unit_test(test_redirect_not_followed),
		cmocka_unit_test(test_oversize_answer_cut),
		cmocka_unit_test(test_timeout_silent_server),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_wrong_host),
		cmocka_unit_test(test_file_safe),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_http_refused),
		cmocka_unit_test(test_http_any),
		cmocka_unit_test(test_accept_and_ctype),
		cmocka_unit_test(test_no_proxy_from_environment),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
