/*
 * Unit tests of the router and the response head: the page table, method
 * and path checks, error bodies, CSRF on form posts, security headers.
 * They run route_dispatch() on hand-made requests, without a server.
 */
#include "unit.h"

struct fixture {
	struct config	 cfg;
	struct tmpl_set	*tmpl;
	struct req	 req;
	struct buf	 head;
};

static int
setup(void **state)
{
	struct fixture	*fx;
	char		 err[256], dir[512];
	const char	*src = getenv("RP_SRCDIR");

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	conf_defaults(&fx->cfg);
	memset(fx->cfg.secret, 0x5a, sizeof(fx->cfg.secret));
	snprintf(dir, sizeof(dir), "%s/templates", src ? src : ".");
	if ((fx->tmpl = tmpl_load(dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(fx);
		return -1;
	}
	buf_init(&fx->head, RP_HDRS_MAX + 4096);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	input_free(&fx->req.in);
	resp_free(&fx->req.resp);
	buf_free(&fx->head);
	tmpl_free(fx->tmpl);
	free(fx);
	return 0;
}

/* Prepares a fresh request; the previous one is freed. */
static struct req *
mkreq(struct fixture *fx, enum method m, const char *path)
{
	input_free(&fx->req.in);
	resp_free(&fx->req.resp);
	buf_reset(&fx->head);
	memset(&fx->req, 0, sizeof(fx->req));
	fx->req.cfg = &fx->cfg;
	fx->req.tmpl = fx->tmpl;
	fx->req.method = m;
	fx->req.path = path;
	fx->req.now = 1800000000;
	resp_init(&fx->req.resp);
	return &fx->req;
}

static const char *
body(struct req *r)
{
	return r->resp.body.p ? r->resp.body.p : "";
}

static const char *
head(struct fixture *fx)
{
	assert_int_equal(resp_head(&fx->req, &fx->head), RP_OK);
	return fx->head.p;
}

static void
test_landing(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_GET, "/");
	const char	*h;

	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_string_equal(r->resp.ctype, "text/html; charset=utf-8");
	assert_non_null(strstr(body(r), "href=\"/suspend\""));
	h = head(fx);
	assert_non_null(strstr(h, "Status: 200 OK\r\n"));
	assert_non_null(strstr(h, "Content-Security-Policy: default-src 'self'"));
	assert_non_null(strstr(h, "frame-ancestors 'none'"));
	assert_null(strstr(h, "unsafe-inline"));
	assert_non_null(strstr(h, "Strict-Transport-Security: max-age=31536000"));
	assert_non_null(strstr(h, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(h, "Referrer-Policy: no-referrer\r\n"));
	assert_non_null(strstr(h, "Cache-Control: no-cache\r\n"));
	assert_string_equal(h + strlen(h) - 4, "\r\n\r\n");
}

static void
test_head_routes_like_get(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_HEAD, "/");

	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_string_equal(route_name(r->route), "landing");
}

static void
test_not_found_html_and_json(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_GET, "/nowhere");

	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
	assert_string_equal(r->resp.ctype, "text/html; charset=utf-8");
	assert_string_equal(route_name(r->route), "unmatched");

	r = mkreq(fx, METHOD_GET, "/api/v1/nowhere");
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
	assert_string_equal(r->resp.ctype, "application/json");
	assert_non_null(strstr(body(r), "\"error\":\"not_found\""));
	assert_non_null(strstr(body(r), "\"message\":"));
}

static void
test_method_not_allowed(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_POST, "/");

	route_dispatch(r);
	assert_int_equal(r->resp.status, 405);
	assert_non_null(strstr(head(fx), "Allow: GET, HEAD\r\n"));

	r = mkreq(fx, METHOD_OTHER, "/healthz");
	route_dispatch(r);
	assert_int_equal(r->resp.status, 405);
}

static void
test_bad_paths(void **state)
{
	struct fixture	*fx = *state;
	static const char *const bad[] = {
		"", "noslash", "/a b", "/tab\there", "/ctl\x01", "/del\x7f",
		"/\xc3\xa9", NULL
	};
	char		 longp[RP_PATH_MAX + 8];
	struct req	*r;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = mkreq(fx, METHOD_GET, bad[i]);
		route_dispatch(r);
		assert_int_equal(r->resp.status, 400);
	}
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	r = mkreq(fx, METHOD_GET, longp);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 400);
}

static void
test_match_patterns(void **state)
{
	char	 arg[8];

	(void)state;
	assert_int_equal(route_match("/a", "/a", arg, sizeof(arg)), 1);
	assert_int_equal(route_match("/a", "/a/", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*", "/r/Ab_-9", arg, sizeof(arg)), 1);
	assert_string_equal(arg, "Ab_-9");
	assert_int_equal(route_match("/r/*", "/r/", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*", "/r/a/b", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*", "/r/a.b", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*", "/r/%41", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*", "/x/abc", arg, sizeof(arg)), 0);
	/* Too long for arg: refused, not truncated. */
	assert_int_equal(route_match("/r/*", "/r/abcdefgh", arg, sizeof(arg)),
	    0);
	assert_int_equal(route_match("/r/*", "/r/abcdefg", arg, sizeof(arg)),
	    1);
	/* A star segment followed by the rest of the pattern. */
	assert_int_equal(route_match("/r/*/x", "/r/ab/x", arg, sizeof(arg)),
	    1);
	assert_string_equal(arg, "ab");
	assert_int_equal(route_match("/r/*/x", "/r/ab", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*/x", "/r/ab/", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*/x", "/r/ab/xy", arg, sizeof(arg)),
	    0);
	assert_int_equal(route_match("/r/*/x", "/r//x", arg, sizeof(arg)), 0);
	assert_int_equal(route_match("/r/*/x", "/r/a/b/x", arg, sizeof(arg)),
	    0);
	assert_int_equal(route_match("/r/*", "/r/ab/x", arg, sizeof(arg)), 0);
}

static void
test_body_limits(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_POST, "/api/v1/_test/echo");

	r->body_status = BODY_TOO_LARGE;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 413);
	assert_non_null(strstr(body(r), "\"error\":\"body_too_large\""));

	r = mkreq(fx, METHOD_POST, "/api/v1/_test/echo");
	r->body_status = BODY_INVALID;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 400);
	assert_non_null(strstr(body(r), "\"error\":\"bad_length\""));

	r = mkreq(fx, METHOD_POST, "/api/v1/_test/echo");
	r->ctype = "application/json";
	r->body = "{\"action\":";
	r->bodylen = strlen(r->body);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 400);
	assert_non_null(strstr(body(r), "\"error\":\"bad_json\""));

	r = mkreq(fx, METHOD_POST, "/api/v1/_test/echo");
	r->ctype = "application/xml";
	r->body = "<x/>";
	r->bodylen = 4;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 415);
}

static void
test_echo_masks_secrets(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_POST, "/api/v1/_test/echo");

	r->ctype = "application/json";
	r->body = "{\"action\":\"suspend\",\"passphrase\":\"hunter2hunter2\"}";
	r->bodylen = strlen(r->body);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), "\"action\":\"suspend\""));
	assert_null(strstr(body(r), "hunter2"));
	assert_non_null(strstr(head(fx), "Cache-Control: no-store\r\n"));
}

/*
 * API routes take JSON only, so a cross-site HTML form (which can send
 * url-encoded, multipart or text/plain bodies without a preflight) never
 * reaches an API handler; HTML routes take forms only.
 */
static void
test_body_kinds_per_route(void **state)
{
	struct fixture	*fx = *state;
	static const char *const forms[] = {
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=b",
		"text/plain",
		NULL,
	};
	struct req	*r;
	size_t		 i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		r = mkreq(fx, METHOD_POST, "/api/v1/_test/echo");
		r->ctype = forms[i];
		r->body = "action=revoke&passphrase=x";
		r->bodylen = strlen(r->body);
		route_dispatch(r);
		assert_int_equal(r->resp.status, 415);
		assert_non_null(strstr(body(r), "\"error\":\"json_required\""));
	}

	/* An HTML route refuses JSON before looking at any token. */
	r = mkreq(fx, METHOD_POST, "/_test/form");
	r->ctype = "application/json";
	r->body = "{\"note\":\"x\"}";
	r->bodylen = strlen(r->body);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 415);

	/* An HTML POST with no body at all still needs its token. */
	r = mkreq(fx, METHOD_POST, "/_test/echo");
	route_dispatch(r);
	assert_int_equal(r->resp.status, 403);
}

static void
test_unexpected_field(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_POST, "/_test/form");

	r->ctype = "application/x-www-form-urlencoded";
	r->body = "note=x&action=revoke";
	r->bodylen = strlen(r->body);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 400);
	assert_non_null(strstr(body(r), "action"));

	/* A known field in the query of a page that takes none. */
	r = mkreq(fx, METHOD_GET, "/");
	r->query = "serial=12";
	route_dispatch(r);
	assert_int_equal(r->resp.status, 400);

	/* Unknown query parameters (tracking links) are ignored. */
	r = mkreq(fx, METHOD_GET, "/");
	r->query = "utm_source=mail";
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
}

/* Gets a form page and returns its token and cookie for the next post. */
static void
get_form(struct fixture *fx, char *cookie, char *tok, size_t toksz)
{
	struct req	*r = mkreq(fx, METHOD_GET, "/_test/form");
	const char	*p, *q;

	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	p = strstr(body(r), "name=\"csrf_token\" value=\"");
	assert_non_null(p);
	p += strlen("name=\"csrf_token\" value=\"");
	q = strchr(p, '"');
	assert_non_null(q);
	assert_true((size_t)(q - p) < toksz);
	memcpy(tok, p, (size_t)(q - p));
	tok[q - p] = '\0';
	p = strstr(r->resp.headers.p, "Set-Cookie: __Host-rp_csrf=");
	assert_non_null(p);
	p += strlen("Set-Cookie: __Host-rp_csrf=");
	memcpy(cookie, p, CSRF_COOKIE_LEN);
	cookie[CSRF_COOKIE_LEN] = '\0';
	assert_non_null(strstr(r->resp.headers.p,
	    "; Secure; HttpOnly; SameSite=Strict\r\n"));
}

/* Posts the test form with the given cookie, Origin and Sec-Fetch-Site. */
static struct req *
post_form_from(struct fixture *fx, const char *cookie, const char *bodytxt,
    const char *origin, const char *fetch_site)
{
	static char	 chdr[128];
	struct req	*r = mkreq(fx, METHOD_POST, "/_test/form");

	snprintf(chdr, sizeof(chdr), "other=1; __Host-rp_csrf=%s", cookie);
	r->cookie_hdr = cookie ? chdr : NULL;
	r->ctype = "application/x-www-form-urlencoded";
	r->body = bodytxt;
	r->bodylen = strlen(bodytxt);
	r->origin = origin;
	r->fetch_site = fetch_site;
	route_dispatch(r);
	return r;
}

static struct req *
post_form(struct fixture *fx, const char *cookie, const char *bodytxt,
    const char *origin)
{
	return post_form_from(fx, cookie, bodytxt, origin, NULL);
}

static void
test_csrf(void **state)
{
	struct fixture	*fx = *state;
	char		 cookie[CSRF_COOKIE_LEN + 1], tok[128], b[256];
	char		 other[CSRF_COOKIE_LEN + 1];
	struct req	*r;

	get_form(fx, cookie, tok, sizeof(tok));
	snprintf(b, sizeof(b), "csrf_token=%s&note=hi", tok);

	r = post_form(fx, cookie, b, NULL);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), "<p id=\"echo\">hi</p>"));

	r = post_form(fx, cookie, b, "https://127.0.0.1:8443");
	assert_int_equal(r->resp.status, 200);

	r = post_form(fx, cookie, b, "https://evil.example");
	assert_int_equal(r->resp.status, 403);
	assert_null(strstr(body(r), "<p id=\"echo\">"));

	/* Our pages say Referrer-Policy: no-referrer, so browsers send
	 * "Origin: null" on their own form posts: no origin, not a foreign
	 * one.  The token decides. */
	r = post_form(fx, cookie, b, "null");
	assert_int_equal(r->resp.status, 200);
	r = post_form(fx, cookie, "note=hi", "null");
	assert_int_equal(r->resp.status, 403);
	/* Similar-looking origins are not ours. */
	r = post_form(fx, cookie, b, "https://127.0.0.1:8443.evil.example");
	assert_int_equal(r->resp.status, 403);
	r = post_form(fx, cookie, b, "https://127.0.0.1:844");
	assert_int_equal(r->resp.status, 403);
	r = post_form(fx, cookie, b, "http://127.0.0.1:8443");
	assert_int_equal(r->resp.status, 403);

	r = post_form(fx, NULL, b, NULL);
	assert_int_equal(r->resp.status, 403);

	r = post_form(fx, cookie, "note=hi", NULL);
	assert_int_equal(r->resp.status, 403);

	/* A token made for another browser's cookie. */
	assert_int_equal(csrf_new_cookie(other), RP_OK);
	r = post_form(fx, other, b, NULL);
	assert_int_equal(r->resp.status, 403);

	/* Expired: the same token a day later. */
	r = mkreq(fx, METHOD_POST, "/_test/form");
	snprintf(b, sizeof(b), "csrf_token=%s&note=hi", tok);
	{
		char chdr[64];

		snprintf(chdr, sizeof(chdr), "__Host-rp_csrf=%s", cookie);
		r->cookie_hdr = chdr;
		r->ctype = "application/x-www-form-urlencoded";
		r->body = b;
		r->bodylen = strlen(b);
		r->now += 86400;
		route_dispatch(r);
		assert_int_equal(r->resp.status, 403);
	}
}

/* A cookie that is 22 characters but not canonical is replaced. */
static void
test_csrf_bad_cookie_replaced(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_GET, "/_test/form");

	r->cookie_hdr = "__Host-rp_csrf=AAAAAAAAAAAAAAAAAAAAAB";
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(r->resp.headers.p);
	assert_non_null(strstr(r->resp.headers.p, "Set-Cookie: __Host-rp_csrf="));
	assert_null(strstr(r->resp.headers.p, "AAAAAAAAAAAAAAAAAAAAAB"));

	/* A good one is kept: no new cookie. */
	r = mkreq(fx, METHOD_GET, "/_test/form");
	r->cookie_hdr = "__Host-rp_csrf=AAAAAAAAAAAAAAAAAAAAAA";
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_true(r->resp.headers.p == NULL ||
	    strstr(r->resp.headers.p, "Set-Cookie") == NULL);
}

/*
 * A page that depends only on the configuration is rendered once per
 * worker: the second answer is the first one's copy (the configuration
 * never changes while a worker runs, so changing it here shows the copy).
 */
static void
test_page_cache(void **state)
{
	struct fixture		*fx = *state;
	struct page_cache	*pc = calloc(1, sizeof(*pc));
	struct req		*r;
	char			 first[8192], saved[64];

	assert_non_null(pc);
	memcpy(saved, fx->cfg.hotline, sizeof(saved));
	r = mkreq(fx, METHOD_GET, "/");
	r->cache = pc;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_true(r->resp.body.len < sizeof(first));
	memcpy(first, body(r), r->resp.body.len + 1);
	assert_non_null(strstr(first, saved));

	(void)snprintf(fx->cfg.hotline, sizeof(fx->cfg.hotline), "+1 999");
	r = mkreq(fx, METHOD_GET, "/");
	r->cache = pc;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_string_equal(r->resp.ctype, "text/html; charset=utf-8");
	assert_string_equal(body(r), first);

	/* Without a cache the page is rendered anew. */
	r = mkreq(fx, METHOD_GET, "/");
	route_dispatch(r);
	assert_non_null(strstr(body(r), "+1 999"));

	/* Errors and other routes are never kept. */
	r = mkreq(fx, METHOD_GET, "/nowhere");
	r->cache = pc;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
	r = mkreq(fx, METHOD_GET, "/_test/form");
	r->cache = pc;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_int_equal(pc->have[r->route], 0);

	memcpy(fx->cfg.hotline, saved, sizeof(saved));
	page_cache_free(pc);
	page_cache_free(NULL);
}

/* Fetch metadata: only our own pages (or a person's own action) post. */
static void
test_csrf_fetch_site(void **state)
{
	struct fixture	*fx = *state;
	static const char *const bad[] = { "cross-site", "same-site", "",
	    "Same-Origin", "same-origin " };
	char		 cookie[CSRF_COOKIE_LEN + 1], tok[128], b[256];
	struct req	*r;
	size_t		 i;

	get_form(fx, cookie, tok, sizeof(tok));
	snprintf(b, sizeof(b), "csrf_token=%s&note=hi", tok);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = post_form_from(fx, cookie, b, NULL, bad[i]);
		assert_int_equal(r->resp.status, 403);
	}
	for (i = 0; i < 2; i++) {
		r = post_form_from(fx, cookie, b, NULL,
		    i ? "none" : "same-origin");
		assert_int_equal(r->resp.status, 200);
	}
}

static void
test_healthz_without_db(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_GET, "/healthz");

	route_dispatch(r);
	assert_int_equal(r->resp.status, 503);
	assert_string_equal(r->resp.ctype, "application/json");
	assert_non_null(strstr(body(r), "\"error\":\"db_unavailable\""));
}

static void
test_status_mapping(void **state)
{
	(void)state;
	assert_int_equal(route_status_of(RP_OK), 200);
	assert_int_equal(route_status_of(RP_ERR_BAD_INPUT), 400);
	assert_int_equal(route_status_of(RP_ERR_AUTH), 401);
	assert_int_equal(route_status_of(RP_ERR_FORBIDDEN), 403);
	assert_int_equal(route_status_of(RP_ERR_NOT_FOUND), 404);
	assert_int_equal(route_status_of(RP_ERR_METHOD), 405);
	assert_int_equal(route_status_of(RP_ERR_CONFLICT), 409);
	assert_int_equal(route_status_of(RP_ERR_TOO_LARGE), 413);
	assert_int_equal(route_status_of(RP_ERR_MEDIA), 415);
	assert_int_equal(route_status_of(RP_ERR_POLICY), 422);
	assert_int_equal(route_status_of(RP_ERR_LOCKED), 423);
	assert_int_equal(route_status_of(RP_ERR_RATE), 429);
	assert_int_equal(route_status_of(RP_ERR_NOMEM), 500);
	assert_int_equal(route_status_of(RP_ERR_INTERNAL), 500);
	assert_int_equal(route_status_of(RP_ERR_UNAVAILABLE), 503);
	assert_int_equal(route_status_of((enum rp_err)99), 500);
}

static void
test_resp_header_injection(void **state)
{
	struct resp	 r;

	(void)state;
	resp_init(&r);
	assert_int_equal(resp_header(&r, "X-A", "ok %d", 1), RP_OK);
	assert_int_equal(resp_header(&r, "X-B", "a\r\nSet-Cookie: x=y"),
	    RP_ERR_INTERNAL);
	assert_int_equal(resp_header(&r, "X-C\r\nX-D", "v"), RP_ERR_INTERNAL);
	assert_int_equal(resp_cookie(&r, "c", "a;b", -1), RP_ERR_INTERNAL);
	assert_int_equal(resp_cookie(&r, "c", "a b", -1), RP_ERR_INTERNAL);
	assert_int_equal(resp_cookie(&r, "c", "abc", 0), RP_OK);
	assert_string_equal(r.headers.p, "X-A: ok 1\r\nSet-Cookie: c=abc; "
	    "Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict\r\n");
	resp_free(&r);
}

static void
test_hsts_off(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r = mkreq(fx, METHOD_GET, "/");

	fx->cfg.hsts_max_age = 0;
	route_dispatch(r);
	assert_null(strstr(head(fx), "Strict-Transport-Security"));
	fx->cfg.hsts_max_age = 31536000;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_landing),
		cmocka_unit_test(test_head_routes_like_get),
		cmocka_unit_test(test_not_found_html_and_json),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_match_patterns),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_echo_masks_secrets),
		cmocka_unit_test(test_body_kinds_per_route),
		cmocka_unit_test(test_unexpected_field),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_csrf_bad_cookie_replaced),
		cmocka_unit_test(test_csrf_fetch_site),
		cmocka_unit_test(test_page_cache),
		cmocka_unit_test(test_healthz_without_db),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_resp_header_injection),
		cmocka_unit_test(test_hsts_off),
	};

	return cmocka_run_group_tests_name("route", tests, setup, teardown);
}
