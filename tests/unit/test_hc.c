/*
 * Tests of hc.c, the hardened HTTP client, against real local TLS servers
 * (tests/contract/hc_server.py with throwaway certificates): answers of
 * every status come back, a redirect is not followed, timeouts, refused
 * connections, a wrong trust anchor and a missing client certificate fail,
 * an oversize answer is cut, and http:// is refused unless allowed, and
 * then only toward loopback.
 */
#include "unit.h"
#include "unit_proc.h"

#include <sys/time.h>

int		 hc_host_loopback(const char *);

#define LIMIT	4096u		/* max_response of the test clients */

struct env {
	char	 dir[UP_DIR_MAX];
	char	 ca[128], other_ca[128], cert[128], key[128];
	pid_t	 plain_pid;	/* TLS, no client certificate asked */
	pid_t	 mtls_pid;	/* TLS, a client certificate required */
	int	 plain_port;
	int	 mtls_port;
};

static struct env	 env;

/* Starts hc_server.py with its port file name; returns the port or -1. */
static int
start_server(const char *name, int mtls, pid_t *pid)
{
	char	 server[160], key[160], portf[160], log[160];
	char	*argv[12];
	int	 i = 0;

	(void)snprintf(server, sizeof(server), "%s/server.pem", env.dir);
	(void)snprintf(key, sizeof(key), "%s/server.key", env.dir);
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

static int
setup(void **state)
{
	(void)state;
	memset(&env, 0, sizeof(env));
	if (up_tmpdir("rp-hc", env.dir) == -1 || up_mkcerts(env.dir) == -1)
		return -1;
	(void)snprintf(env.ca, sizeof(env.ca), "%s/ca.pem", env.dir);
	(void)snprintf(env.other_ca, sizeof(env.other_ca), "%s/other-ca.pem",
	    env.dir);
	(void)snprintf(env.cert, sizeof(env.cert), "%s/client.pem", env.dir);
	(void)snprintf(env.key, sizeof(env.key), "%s/client.key", env.dir);
	if ((env.plain_port = start_server("plain", 0, &env.plain_pid)) == -1 ||
	    (env.mtls_port = start_server("mtls", 1, &env.mtls_pid)) == -1) {
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
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_http_refused),
		cmocka_unit_test(test_no_proxy_from_environment),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
