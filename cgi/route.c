/*
 * The page table and the dispatcher.  This is the front line of defence:
 * a request reaches a handler only after its path, method, query, body,
 * cookies and (for HTML forms) CSRF token passed, and with only the fields
 * the route declares.  It is also the only place where an internal error
 * becomes an HTTP status code and an error body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

/*
 * Route flags.  An API route answers and takes JSON only: a cross-site
 * HTML form cannot send JSON without a CORS preflight, which nothing here
 * grants.  Every other route that takes a body takes forms only and needs
 * a valid CSRF token; there is no way to opt out.
 */
#define ROUTE_API	0x01u	/* JSON answers, JSON errors, JSON bodies */
#define ROUTE_PERSONAL	0x02u	/* Cache-Control: no-store */
#define ROUTE_CACHE	0x04u	/* the answer depends on the configuration
				   alone: rendered once per worker */

struct route_def {
	enum method	 method;
	const char	*path;	/* exact, or a pattern ending in a star */
	const char	*name;	/* label in logs and metrics */
	unsigned int	 flags;
	unsigned int	 fields;/* FIELD_BIT() of every accepted field */
	enum rp_err	(*fn)(struct req *);
};

#define ROUTE_ALL_FIELDS ((1u << FIELD__MAX) - 1)

static const struct route_def routes[] = {
	{ METHOD_GET, "/", "landing", ROUTE_CACHE, 0, h_landing },
	{ METHOD_GET, "/healthz", "healthz", ROUTE_API, 0, h_healthz },
	{ METHOD_GET, "/metrics", "metrics", ROUTE_API, 0, h_metrics },
	/* Subscriber pages and the passphrase API (h_public.c). */
	{ METHOD_GET, "/suspend", "suspend_form", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_SERIAL) | FIELD_BIT(FIELD_TOKEN), h_suspend_form },
	{ METHOD_POST, "/suspend", "suspend_post", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_ACTION) | FIELD_BIT(FIELD_SERIAL) |
	    FIELD_BIT(FIELD_TOKEN) | FIELD_BIT(FIELD_ISSUER) |
	    FIELD_BIT(FIELD_SCOPE) | FIELD_BIT(FIELD_PASSPHRASE) |
	    FIELD_BIT(FIELD_REASON) | FIELD_BIT(FIELD_CSRF) |
	    FIELD_BIT(FIELD_FORM_ID), h_suspend_post },
	{ METHOD_GET, "/requests/*", "request_page", ROUTE_PERSONAL, 0,
	    h_request_page },
	{ METHOD_POST, "/api/v1/requests", "api_request_post",
	    ROUTE_API | ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_ACTION) | FIELD_BIT(FIELD_SERIAL) |
	    FIELD_BIT(FIELD_TOKEN) | FIELD_BIT(FIELD_ISSUER) |
	    FIELD_BIT(FIELD_PASSPHRASE) | FIELD_BIT(FIELD_REASON) |
	    FIELD_BIT(FIELD_CHALLENGE_ID) | FIELD_BIT(FIELD_SIGNATURE),
	    h_api_request_post },
	{ METHOD_GET, "/api/v1/requests/*", "api_request_get",
	    ROUTE_API | ROUTE_PERSONAL, 0, h_api_request_get },
	/* Hotline console and officer queue (h_staff.c). */
	{ METHOD_GET, "/agent/", "agent", ROUTE_PERSONAL, FIELD_BIT(FIELD_Q),
	    h_agent },
	{ METHOD_GET, "/agent/certificates/*", "agent_cert", ROUTE_PERSONAL,
	    0, h_agent_cert },
	{ METHOD_POST, "/agent/verify", "agent_verify", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_CERT) | FIELD_BIT(FIELD_SCOPE) |
	    FIELD_BIT(FIELD_PASSPHRASE) | FIELD_BIT(FIELD_CSRF),
	    h_agent_verify },
	{ METHOD_POST, "/agent/act", "agent_act", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_CERT) | FIELD_BIT(FIELD_SCOPE) |
	    FIELD_BIT(FIELD_VERIFIED) | FIELD_BIT(FIELD_ACTION) |
	    FIELD_BIT(FIELD_REASON) | FIELD_BIT(FIELD_CALL_REF) |
	    FIELD_BIT(FIELD_CALLER_NAME) | FIELD_BIT(FIELD_NOTE) |
	    FIELD_BIT(FIELD_CSRF) | FIELD_BIT(FIELD_FORM_ID), h_agent_act },
	{ METHOD_GET, "/agent/requests/*", "agent_request", ROUTE_PERSONAL, 0,
	    h_agent_request },
	{ METHOD_GET, "/officer/", "officer", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_STATE), h_officer },
	{ METHOD_GET, "/officer/requests/*", "officer_request",
	    ROUTE_PERSONAL, 0, h_officer_request },
	{ METHOD_POST, "/officer/retry", "officer_retry", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_REQUEST_ID) | FIELD_BIT(FIELD_CSRF),
	    h_officer_retry },
	{ METHOD_POST, "/officer/reject", "officer_reject", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_REQUEST_ID) | FIELD_BIT(FIELD_NOTE) |
	    FIELD_BIT(FIELD_CSRF), h_officer_reject },
	/* Signed requests and approvals: the API (h_sign.c). */
	{ METHOD_POST, "/api/v1/challenges", "api_challenge_post",
	    ROUTE_API | ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_ACTION) | FIELD_BIT(FIELD_SERIAL) |
	    FIELD_BIT(FIELD_TOKEN) | FIELD_BIT(FIELD_ISSUER) |
	    FIELD_BIT(FIELD_REASON) | FIELD_BIT(FIELD_REQUEST_ID) |
	    FIELD_BIT(FIELD_CSR), h_api_challenge_post },
	{ METHOD_POST, "/api/v1/requests/*/approvals", "api_approval_post",
	    ROUTE_API | ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_CHALLENGE_ID) | FIELD_BIT(FIELD_SIGNATURE),
	    h_api_approval_post },
	/* The same for people (h_signpage.c). */
	{ METHOD_GET, "/revoke", "sign_form", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_SERIAL) | FIELD_BIT(FIELD_TOKEN), h_sign_form },
	{ METHOD_GET, "/reactivate", "sign_form_reactivate", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_SERIAL), h_sign_form },
	{ METHOD_GET, "/recover", "sign_form_recover", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_SERIAL), h_sign_form },
	{ METHOD_POST, "/sign", "sign_start", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_ACTION) | FIELD_BIT(FIELD_SERIAL) |
	    FIELD_BIT(FIELD_TOKEN) | FIELD_BIT(FIELD_ISSUER) |
	    FIELD_BIT(FIELD_REASON) | FIELD_BIT(FIELD_REQUEST_ID) |
	    FIELD_BIT(FIELD_CSR) | FIELD_BIT(FIELD_CSRF), h_sign_start },
	{ METHOD_GET, "/sign/*", "sign_page", ROUTE_PERSONAL, 0, h_sign_page },
	{ METHOD_GET, "/sign/*/document", "sign_document", ROUTE_PERSONAL, 0,
	    h_sign_document },
	{ METHOD_POST, "/sign/*", "sign_submit", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_SIGNATURE) | FIELD_BIT(FIELD_CSRF), h_sign_submit },
	{ METHOD_GET, "/approvals/", "approvals", ROUTE_PERSONAL, 0,
	    h_approvals },
	{ METHOD_GET, "/approvals/*", "approval_page", ROUTE_PERSONAL, 0,
	    h_approval_page },
#ifdef RP_TESTING
	/* Compiled into the test build only: they exercise the parsers. */
	{ METHOD_GET, "/_test/form", "test_form", ROUTE_PERSONAL, 0,
	    h_test_form_get },
	{ METHOD_POST, "/_test/form", "test_form_post", ROUTE_PERSONAL,
	    FIELD_BIT(FIELD_NOTE) | FIELD_BIT(FIELD_CSRF), h_test_form_post },
	{ METHOD_POST, "/_test/echo", "test_form_echo", ROUTE_PERSONAL,
	    ROUTE_ALL_FIELDS, h_test_echo },
	{ METHOD_POST, "/api/v1/_test/echo", "test_echo",
	    ROUTE_API | ROUTE_PERSONAL, ROUTE_ALL_FIELDS, h_test_echo },
	{ METHOD_GET, "/_test/slow", "test_slow", 0, 0, h_test_slow },
#endif
};

#define ROUTES_N	(sizeof(routes) / sizeof(routes[0]))
#define ROUTE_NONE	ROUTES_N	/* the metrics slot of unmatched paths */

_Static_assert(ROUTES_N + 1 <= RP_ROUTES_MAX,
    "more routes than RP_ROUTES_MAX: raise it");

unsigned int
route_count(void)
{
	return ROUTES_N + 1;
}

const char *
route_name(unsigned int i)
{
	return i < ROUTES_N ? routes[i].name : "unmatched";
}

int
route_status_of(enum rp_err e)
{
	switch (e) {
	case RP_OK:
		return 200;
	case RP_ERR_BAD_INPUT:
		return 400;
	case RP_ERR_AUTH:
		return 401;
	case RP_ERR_FORBIDDEN:
		return 403;
	case RP_ERR_NOT_FOUND:
		return 404;
	case RP_ERR_METHOD:
		return 405;
	case RP_ERR_CONFLICT:
		return 409;
	case RP_ERR_TOO_LARGE:
		return 413;
	case RP_ERR_MEDIA:
		return 415;
	case RP_ERR_POLICY:
		return 422;
	case RP_ERR_LOCKED:
		return 423;
	case RP_ERR_RATE:
		return 429;
	case RP_ERR_UNAVAILABLE:
		return 503;
	case RP_ERR_NOMEM:
	case RP_ERR_INTERNAL:
	case RP_ERR__MAX:
		break;
	}
	return 500;
}

/*
 * Returns 1 when path matches pattern; a "/ *" segment in the pattern
 * (at the end, or followed by the rest of the pattern, as in
 * "/api/v1/requests/ * /approvals") takes one segment of 1 to sizeof(arg)-1
 * characters of [A-Za-z0-9_-], copied into arg.
 */
UNITTEST int
route_match(const char *pattern, const char *path, char *arg, size_t argsz)
{
	const char	*star;
	size_t		 pre, n;

	if ((star = strstr(pattern, "/*")) == NULL ||
	    (star[2] != '\0' && star[2] != '/'))
		return strcmp(pattern, path) == 0;
	pre = (size_t)(star - pattern) + 1;
	if (strncmp(pattern, path, pre) != 0)
		return 0;
	path += pre;
	n = strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-");
	if (n == 0 || n >= argsz || strcmp(path + n, star + 2) != 0)
		return 0;
	memcpy(arg, path, n);
	arg[n] = '\0';
	return 1;
}

/* Returns 1 when the path is well-formed: '/', then visible ASCII. */
static int
route_path_ok(const char *path)
{
	size_t	 i;

	if (path == NULL || path[0] != '/')
		return 0;
	for (i = 0; path[i] != '\0'; i++)
		if (i >= RP_PATH_MAX || (unsigned char)path[i] <= 0x20 ||
		    (unsigned char)path[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Finds the route of req's method and path.  Returns RP_OK with
 * req->route set, RP_ERR_METHOD when the path exists for other methods
 * (allow then lists them), else RP_ERR_NOT_FOUND.
 */
static enum rp_err
route_find(struct req *req, char *allow, size_t allowsz)
{
	static const char *const mnames[METHOD__MAX] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "OTHER"
	};
	enum method	 m = req->method == METHOD_HEAD ? METHOD_GET :
			    req->method;
	size_t		 i, used = 0;
	int		 n, seen = 0;

	allow[0] = '\0';
	for (i = 0; i < ROUTES_N; i++) {
		if (!route_match(routes[i].path, req->path, req->arg,
		    sizeof(req->arg)))
			continue;
		if (routes[i].method == m) {
			req->route = (unsigned int)i;
			return RP_OK;
		}
		n = snprintf(allow + used, allowsz - used, "%s%s",
		    seen ? ", " : "", mnames[routes[i].method]);
		if (n > 0 && (size_t)n < allowsz - used)
			used += (size_t)n;
		if (routes[i].method == METHOD_GET &&
		    (n = snprintf(allow + used, allowsz - used, ", HEAD")) > 0 &&
		    (size_t)n < allowsz - used)
			used += (size_t)n;
		seen = 1;
	}
	req->arg[0] = '\0';
	return seen ? RP_ERR_METHOD : RP_ERR_NOT_FOUND;
}

/*
 * Parses the query, the body and the cookies into req->in and checks the
 * fields against the route's list.
 */
static enum rp_err
route_input(struct req *req, const struct route_def *rd)
{
	enum http_body	 want;
	enum rp_err	 e;
	size_t		 i;

	if (req->cookie_hdr != NULL &&
	    (e = http_parse_cookies(&req->in, req->cookie_hdr,
	    strlen(req->cookie_hdr))) != RP_OK)
		return e;
	if (req->query != NULL && req->query[0] != '\0' &&
	    (e = http_parse_query(&req->in, req->query, strlen(req->query),
	    &req->err)) != RP_OK)
		return e;
	if (req->method == METHOD_POST || req->method == METHOD_PUT) {
		switch (req->body_status) {
		case BODY_OK:
			break;
		case BODY_NOMEM:
			return rp_fail(&req->err, RP_ERR_NOMEM, "internal_error",
			    "no memory for the request body");
		case BODY_INVALID:
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "bad_length", "The request body was incomplete "
			    "or its length was invalid.");
		case BODY_TOO_LARGE:
			return rp_fail(&req->err, RP_ERR_TOO_LARGE,
			    "body_too_large", "The request body is larger "
			    "than %zu bytes.", req->cfg->max_body);
		}
		want = (rd->flags & ROUTE_API) ? HTTP_BODY_JSON : HTTP_BODY_FORM;
		if (req->bodylen > 0 && http_body_kind(req->ctype) != want)
			return want == HTTP_BODY_JSON ?
			    rp_fail(&req->err, RP_ERR_MEDIA, "json_required",
			    "This address takes a JSON body (Content-Type: "
			    "application/json).") :
			    rp_fail(&req->err, RP_ERR_MEDIA, "form_required",
			    "This page takes a form.");
		if ((e = http_parse_body(&req->in, req->ctype, req->body,
		    req->bodylen, &req->err)) != RP_OK)
			return e;
	}
	for (i = 0; i < FIELD__MAX; i++)
		if (req->in.f[i].set && !(rd->fields & FIELD_BIT(i)))
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "unexpected_field", "The field \"%s\" is not "
			    "accepted here.", fields[i].name);
	return RP_OK;
}

/*
 * The CSRF defence of HTML form posts, in layers:
 *  - Fetch metadata: a browser that sends Sec-Fetch-Site must say the
 *    post came from our own pages ("same-origin"; "none" is a person's
 *    own action, such as a bookmark).
 *  - Origin: when the browser names one, it must be ours.  "null" names
 *    none: browsers send it for every form post from a page with
 *    Referrer-Policy: no-referrer, which is ours.
 *  - The form token, valid for this browser's CSRF cookie: the layer
 *    that holds on its own, whatever the browser.
 * The cookie is SameSite=Strict besides, so other sites' posts lack it.
 */
static enum rp_err
route_csrf(struct req *req)
{
	const struct param	*tok = &req->in.f[FIELD_CSRF];

	if (req->fetch_site != NULL &&
	    strcmp(req->fetch_site, "same-origin") != 0 &&
	    strcmp(req->fetch_site, "none") != 0)
		return rp_fail(&req->err, RP_ERR_FORBIDDEN, "csrf_failed",
		    "This form was sent from another site.");
	if (req->origin != NULL && strcmp(req->origin, "null") != 0 &&
	    strcmp(req->origin, req->cfg->portal_url) != 0)
		return rp_fail(&req->err, RP_ERR_FORBIDDEN, "csrf_failed",
		    "This form was sent from another site.");
	if (!tok->set || csrf_check(req->cfg->secret,
	    req->in.cookie[COOKIE_CSRF], tok->val, req->now,
	    req->cfg->csrf_ttl) != RP_OK)
		return rp_fail(&req->err, RP_ERR_FORBIDDEN, "csrf_failed",
		    "This form has expired or did not come from this site. "
		    "Please go back, reload the page and try again.");
	return RP_OK;
}

/*
 * Replaces whatever the handler left with the error answer for e: JSON
 * {"error","message"} under /api/ and for API routes, the error page
 * otherwise.  If even that fails, a plain-text answer.
 */
static void
route_error(struct req *req, enum rp_err e, int api, const char *allow)
{
	int		 st = route_status_of(e);
	const char	*code = req->err.code ? req->err.code : rp_err_name(e);
	const char	*msg = req->err.msg;
	json_t		*o;
	enum rp_err	 r;

	if (msg[0] == '\0' || e == RP_ERR_NOMEM || e == RP_ERR_INTERNAL) {
		/* Internal details stay in the log, not in the answer. */
		if (st >= 500) {
			if (msg[0] != '\0')
				rplog(RPLOG_ERROR, "internal", "route=%s "
				    "code=%s detail=\"%s\"",
				    route_name(req->route),
				    code, msg);
			code = rp_err_name(e);
			msg = "Something went wrong on our side. Nothing was "
			    "changed; please try again or call the hotline.";
		} else if (msg[0] == '\0')
			msg = http_status_text(st);
	}
	buf_reset(&req->resp.headers);
	req->resp.personal = 1;
	if (allow != NULL && allow[0] != '\0' &&
	    resp_header(&req->resp, "Allow", "%s", allow) != RP_OK)
		goto plain;
	if (st == 429 && req->retry_after > 0 && resp_header(&req->resp,
	    "Retry-After", "%u", req->retry_after) != RP_OK)
		goto plain;
	if (api) {
		o = json_pack("{s:s, s:s}", "error", code, "message", msg);
		if (o == NULL)
			goto plain;
		r = resp_json(&req->resp, st, o);
		json_decref(o);
	} else if (st == 404) {
		r = resp_html(req, st, TMPL_NOT_FOUND, NULL);
	} else {
		o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "status", st,
		    "status_text", http_status_text(st), "message", msg,
		    "code", code, "title", http_status_text(st));
		if (o == NULL)
			goto plain;
		r = resp_html(req, st, TMPL_ERROR, o);
		json_decref(o);
	}
	if (r == RP_OK)
		return;
plain:
	buf_reset(&req->resp.body);
	req->resp.status = st;
	req->resp.ctype = "text/plain; charset=utf-8";
	(void)buf_addf(&req->resp.body, "%d %s\n", st, http_status_text(st));
}

/*
 * Runs the handler of rd, or for a ROUTE_CACHE route answers from the
 * worker's copy of its page, keeping the first plain 200 answer as that
 * copy.  A cached page never carries a cookie or other extra header.
 */
static enum rp_err
route_call(struct req *req, const struct route_def *rd)
{
	struct page_cache	*pc = req->cache;
	unsigned int		 i = req->route;
	enum rp_err		 e;

	if (!(rd->flags & ROUTE_CACHE) || pc == NULL)
		return rd->fn(req);
	if (pc->have[i]) {
		req->resp.status = 200;
		req->resp.ctype = pc->ctype[i];
		return buf_add(&req->resp.body, pc->body[i].p,
		    pc->body[i].len);
	}
	if ((e = rd->fn(req)) != RP_OK || (req->resp.status != 0 &&
	    req->resp.status != 200) || req->resp.headers.len != 0 ||
	    req->resp.personal)
		return e;
	buf_init(&pc->body[i], RP_RESP_MAX);
	if (buf_add(&pc->body[i], req->resp.body.p, req->resp.body.len) ==
	    RP_OK) {
		pc->ctype[i] = req->resp.ctype;
		pc->have[i] = 1;
	} else
		buf_free(&pc->body[i]);
	return RP_OK;
}

void
page_cache_free(struct page_cache *pc)
{
	size_t	 i;

	if (pc == NULL)
		return;
	for (i = 0; i < RP_ROUTES_MAX; i++)
		buf_free(&pc->body[i]);
	free(pc);
}

static double
route_now_mono(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Runs one request: finds its route, checks and parses its input, calls
 * the handler, turns any error into the answer, counts it and logs it.
 * req->resp must have been initialised with resp_init(); on return it
 * holds the answer, whatever happened.
 */
void
route_dispatch(struct req *req)
{
	const struct route_def	*rd = NULL;
	char			 allow[64];
	double			 t0 = route_now_mono(), dt;
	int			 api;
	enum rp_err		 e;

	allow[0] = '\0';
	req->route = ROUTE_NONE;
	metrics_in_flight(req->metrics, 1);
	if (!route_path_ok(req->path)) {
		api = 0;
		e = rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_path",
		    "The address is not valid.");
		goto done;
	}
	api = strncmp(req->path, "/api/", 5) == 0;
	if ((e = route_find(req, allow, sizeof(allow))) != RP_OK)
		goto done;
	rd = &routes[req->route];
	api = api || (rd->flags & ROUTE_API);
	if (rd->flags & ROUTE_PERSONAL)
		req->resp.personal = 1;
	if ((e = route_input(req, rd)) != RP_OK)
		goto done;
	if ((req->method == METHOD_POST || req->method == METHOD_PUT) &&
	    !(rd->flags & ROUTE_API) && (e = route_csrf(req)) != RP_OK)
		goto done;
	e = route_call(req, rd);
done:
	if (e != RP_OK)
		route_error(req, e, api, allow);
	if (req->resp.status == 0)
		req->resp.status = 200;
	dt = route_now_mono() - t0;
	if (req->metrics != NULL)
		metrics_observe(req->metrics, req->route, req->resp.status,
		    dt < 0 ? 0 : dt);
	metrics_in_flight(req->metrics, -1);
	/*
	 * nginx's access log has every request; here successes are debug
	 * detail, refusals are worth reading, and failures are errors.
	 */
	rplog(req->resp.status < 400 ? RPLOG_DEBUG :
	    req->resp.status < 500 ? RPLOG_INFO : RPLOG_ERROR, "request", "route=%s status=%d ms=%.3f bytes=%zu%s%s",
	    route_name(req->route), req->resp.status, dt * 1000,
	    req->resp.body.len, e != RP_OK ? " error=" : "",
	    e != RP_OK ? (req->err.code ? req->err.code : rp_err_name(e)) : "");
}
