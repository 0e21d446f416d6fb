/*
 * Routes compiled into the test build only (RP_TESTING): a CSRF-protected
 * HTML form and a JSON echo, so the integration tests can drive the
 * parsers and the CSRF check through the real nginx.  The release build
 * has none of this.
 */
#include <errno.h>
#include <time.h>

#include "extern.h"

#ifdef RP_TESTING

/*
 * GET /_test/slow: answers after two seconds, so a test can stop the
 * server while a request is in hand and see it finished.
 */
enum rp_err
h_test_slow(struct req *req)
{
	struct timespec	 ts = { 2, 0 };

	while (nanosleep(&ts, &ts) != 0)
		if (errno != EINTR)
			return RP_ERR_INTERNAL;
	req->resp.ctype = "text/plain; charset=utf-8";
	return buf_adds(&req->resp.body, "done\n");
}

/*
 * The test form with a CSRF token for this browser; with note not NULL
 * it also shows what was posted.
 */
static enum rp_err
h_test_form(struct req *req, const char *note)
{
	char		 tok[CSRF_TOKEN_MAX + 1];
	json_t		*ctx;
	enum rp_err	 e;

	if ((e = resp_csrf_token(req, tok, sizeof(tok))) != RP_OK)
		return e;
	if ((ctx = json_pack("{s:s, s:s, s:b, s:s}", "title", "Test form",
	    "csrf", tok, "echo", note != NULL, "note",
	    note != NULL ? note : "")) == NULL)
		return RP_ERR_NOMEM;
	e = resp_html(req, 200, TMPL_TEST_FORM, ctx);
	json_decref(ctx);
	return e;
}

/* GET /_test/form: the form with a fresh CSRF token. */
enum rp_err
h_test_form_get(struct req *req)
{
	return h_test_form(req, NULL);
}

/* POST /_test/form: reached only with a valid token; shows the note. */
enum rp_err
h_test_form_post(struct req *req)
{
	return h_test_form(req, req->in.f[FIELD_NOTE].set ?
	    req->in.f[FIELD_NOTE].val : "");
}

/*
 * POST /api/v1/_test/echo (JSON) and POST /_test/echo (forms, with a
 * CSRF token): every accepted field back as JSON; binary
 * fields as their length and file name, secret ones masked.
 */
enum rp_err
h_test_echo(struct req *req)
{
	json_t		*o, *v;
	size_t		 i;
	enum rp_err	 e;

	if ((o = json_object()) == NULL)
		return RP_ERR_NOMEM;
	for (i = 0; i < FIELD__MAX; i++) {
		const struct param *p = &req->in.f[i];

		if (!p->set)
			continue;
		if (fields[i].flags & FIELDF_SECRET)
			v = json_string("(secret)");
		else if (fields[i].flags & FIELDF_BINARY)
			v = json_pack("{s:I, s:s?}", "bytes",
			    (json_int_t)p->len, "filename", p->filename);
		else
			v = json_stringn(p->val, p->len);
		if (v == NULL || json_object_set_new(o, fields[i].name, v)) {
			json_decref(o);
			return RP_ERR_NOMEM;
		}
	}
	e = resp_json(&req->resp, 200, o);
	json_decref(o);
	return e;
}

#endif /* RP_TESTING */
