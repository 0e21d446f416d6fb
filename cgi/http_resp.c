/*
 * Building answers: status line, the security headers every answer
 * carries, cookies, JSON and HTML bodies.  Nothing here writes to the
 * network; fcgi.c sends what resp_head() and the body hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/*
 * The content security policy of every page: nothing inline, nothing
 * from elsewhere, no framing, forms post only to us.
 */
#define RESP_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self'; object-src 'none'; base-uri 'none'; " \
	"form-action 'self'; frame-ancestors 'none'"

void
resp_init(struct resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->headers, RP_HDRS_MAX);
	buf_init(&r->body, RP_RESP_MAX);
}

/* Empties r for the next request, keeping its buffers' memory. */
void
resp_reset(struct resp *r)
{
	r->status = 0;
	r->ctype = NULL;
	r->personal = 0;
	buf_reset(&r->headers);
	buf_reset(&r->body);
}

void
resp_free(struct resp *r)
{
	if (r == NULL)
		return;
	buf_free(&r->headers);
	buf_free(&r->body);
}

/*
 * Returns 1 when s may appear in a header value: printable ASCII and
 * space only, so no value can split a header.
 */
static int
resp_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * Adds the header "name: value" with value formatted from fmt.  A value
 * with control characters is refused (RP_ERR_INTERNAL): header values
 * come from our code, so that would be a bug, not bad input.
 */
enum rp_err
resp_header(struct resp *r, const char *name, const char *fmt, ...)
{
	char		 val[1024];
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val) || !resp_value_ok(val) ||
	    !resp_value_ok(name))
		return RP_ERR_INTERNAL;
	return buf_addf(&r->headers, "%s: %s\r\n", name, val);
}

/*
 * Sets a cookie that only this site over HTTPS can read or send: Secure,
 * HttpOnly, SameSite=Strict, Path=/.  max_age < 0 leaves it a session
 * cookie; 0 deletes it.  Name and value must be cookie-safe tokens.
 */
enum rp_err
resp_cookie(struct resp *r, const char *name, const char *value,
    long max_age)
{
	const char	*p;

	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == ';' || *p == ',' ||
		    *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
			return RP_ERR_INTERNAL;
	if (max_age >= 0)
		return resp_header(r, "Set-Cookie",
		    "%s=%s; Path=/; Max-Age=%ld; Secure; HttpOnly; "
		    "SameSite=Strict", name, value, max_age);
	return resp_header(r, "Set-Cookie",
	    "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict", name, value);
}

/*
 * Replaces the body with the compact encoding of obj (not consumed) and
 * sets the status and JSON content type.
 */
enum rp_err
resp_json(struct resp *r, int status, const json_t *obj)
{
	char		*s;
	enum rp_err	 e;

	if ((s = json_dumps(obj, JSON_COMPACT)) == NULL)
		return RP_ERR_NOMEM;
	buf_reset(&r->body);
	if ((e = buf_adds(&r->body, s)) == RP_OK)
		e = buf_addc(&r->body, '\n');
	free(s);
	if (e != RP_OK)
		return e;
	r->status = status;
	r->ctype = "application/json";
	return RP_OK;
}

/*
 * Renders template id inside the layout into the body.  The context ctx
 * (owned by the caller, may be NULL) gets the values every page shows:
 * site name, hotline, portal URL.
 */
enum rp_err
resp_html(struct req *req, int status, enum tmpl_id id, json_t *ctx)
{
	json_t		*own = NULL;
	enum rp_err	 e;

	if (ctx == NULL && (ctx = own = json_object()) == NULL)
		return RP_ERR_NOMEM;
	if (json_object_set_new(ctx, "site_name",
	    json_string(req->cfg->site_name)) != 0 ||
	    json_object_set_new(ctx, "hotline",
	    json_string(req->cfg->hotline)) != 0 ||
	    json_object_set_new(ctx, "portal_url",
	    json_string(req->cfg->portal_url)) != 0) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	buf_reset(&req->resp.body);
	if ((e = tmpl_render(req->tmpl, id, ctx, &req->resp.body)) != RP_OK)
		goto out;
	req->resp.status = status;
	req->resp.ctype = "text/html; charset=utf-8";
out:
	json_decref(own);
	return e;
}

/*
 * Gives the page a CSRF token for its forms, made for this browser's
 * CSRF cookie; a browser without a well-formed cookie gets a new one.
 */
enum rp_err
resp_csrf_token(struct req *req, char *out, size_t outsz)
{
	const char	*have = req->in.cookie[COOKIE_CSRF];
	enum rp_err	 e;

	if (req->csrf_cookie[0] == '\0') {
		if (have != NULL && csrf_cookie_valid(have)) {
			memcpy(req->csrf_cookie, have, CSRF_COOKIE_LEN + 1);
		} else {
			if ((e = csrf_new_cookie(req->csrf_cookie)) != RP_OK)
				return e;
			if ((e = resp_cookie(&req->resp,
			    cookie_names[COOKIE_CSRF], req->csrf_cookie,
			    -1)) != RP_OK)
				return e;
		}
	}
	req->resp.personal = 1;
	return csrf_token(req->cfg->secret, req->csrf_cookie, req->now,
	    out, outsz);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 423: return "Locked";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* Appends v in decimal: the hot path has no use for printf. */
static enum rp_err
resp_addnum(struct buf *out, unsigned long long v)
{
	char	 d[24];
	size_t	 i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return buf_add(out, d + i, sizeof(d) - i);
}

/*
 * Writes the CGI response head of req's answer into out: status, type,
 * length, the security headers, caching, then the handler's own headers
 * and the blank line.
 */
enum rp_err
resp_head(const struct req *req, struct buf *out)
{
	const struct resp	*r = &req->resp;
	int			 st = r->status > 0 ? r->status : 200;
	enum rp_err		 e;

	if ((e = buf_adds(out, "Status: ")) != RP_OK ||
	    (e = resp_addnum(out, (unsigned int)st)) != RP_OK ||
	    (e = buf_addc(out, ' ')) != RP_OK ||
	    (e = buf_adds(out, http_status_text(st))) != RP_OK ||
	    (e = buf_adds(out, "\r\nContent-Type: ")) != RP_OK ||
	    (e = buf_adds(out, r->ctype != NULL ? r->ctype :
	    "text/plain; charset=utf-8")) != RP_OK ||
	    (e = buf_adds(out, "\r\nContent-Length: ")) != RP_OK ||
	    (e = resp_addnum(out, r->body.len)) != RP_OK ||
	    (e = buf_adds(out, "\r\n"
	    "Content-Security-Policy: " RESP_CSP "\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Cross-Origin-Opener-Policy: same-origin\r\n")) != RP_OK)
		return e;
	if (req->cfg->hsts_max_age > 0 &&
	    ((e = buf_adds(out, "Strict-Transport-Security: max-age="))
	    != RP_OK ||
	    (e = resp_addnum(out, req->cfg->hsts_max_age)) != RP_OK ||
	    (e = buf_adds(out, "; includeSubDomains\r\n")) != RP_OK))
		return e;
	if ((e = buf_adds(out, r->personal ?
	    "Cache-Control: no-store\r\n" :
	    "Cache-Control: no-cache\r\n")) != RP_OK)
		return e;
	if (r->headers.len > 0 &&
	    (e = buf_add(out, r->headers.p, r->headers.len)) != RP_OK)
		return e;
	return buf_adds(out, "\r\n");
}
