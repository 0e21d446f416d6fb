/*
 * Unit tests of the signed-request pages for people (h_signpage.c): the
 * words and readers on their own, then the pages through route_dispatch()
 * on a migrated database: the step-1 forms, the refusals of POST /sign
 * before anything is issued, step 2 of an unknown or issued document,
 * the document's download, and the approvals page with and without a
 * representative's session.  The signature path itself is signflow.c's
 * (tests/unit, tests/browser/test_sign.sh drives it end to end).
 */
#include "unit.h"
#include "unit_db.h"

struct fixture {
	struct udb	*u;
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
	void		*u = NULL;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (udb_setup(&u) != 0) {
		free(fx);
		return -1;
	}
	fx->u = u;
	memset(fx->u->cfg.secret, 0x5a, sizeof(fx->u->cfg.secret));
	(void)snprintf(fx->u->cfg.portal_url, sizeof(fx->u->cfg.portal_url),
	    "https://portal.test");
	snprintf(dir, sizeof(dir), "%s/templates", src ? src : ".");
	if ((fx->tmpl = tmpl_load(dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		u = fx->u;
		(void)udb_teardown(&u);
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
	void		*u = fx->u;

	input_free(&fx->req.in);
	resp_free(&fx->req.resp);
	buf_free(&fx->head);
	tmpl_free(fx->tmpl);
	(void)udb_teardown(&u);
	free(fx);
	return 0;
}

/* A fresh request (the previous one freed); sig: a stand-in non-NULL
 * sig_ctx (the pages only test it against NULL) or NULL. */
static struct req *
mkreq(struct fixture *fx, enum method m, const char *path, int sig)
{
	input_free(&fx->req.in);
	resp_free(&fx->req.resp);
	buf_reset(&fx->head);
	memset(&fx->req, 0, sizeof(fx->req));
	fx->req.cfg = &fx->u->cfg;
	fx->req.tmpl = fx->tmpl;
	fx->req.db = fx->u->db;
	fx->req.sig = sig ? (struct sig_ctx *)fx : NULL;
	fx->req.method = m;
	fx->req.path = path;
	fx->req.now = rp_now_ms() / 1000;
	fx->req.remote_addr = "192.0.2.7";
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

/* Sets field f of r's input to the string v. */
static void
setf(struct req *r, enum field f, const char *v)
{
	struct rp_errinfo	 ei;

	assert_int_equal(field_set(&r->in, f, v, strlen(v), NULL, &ei), RP_OK);
}

/*
 * Gives r a valid form post: a CSRF cookie with its token, a same-origin
 * fetch, and a form body the caller's fields stand for (route_dispatch()
 * parses body; it is empty here, the fields set by the caller's body).
 */
static void
formpost(struct req *r, const char *body_text, char *cookie_hdr,
    size_t cookie_sz)
{
	char	 cookie[CSRF_COOKIE_LEN + 1], tok[CSRF_TOKEN_MAX + 1];
	static char	 bodybuf[2048];
	int	 n;

	assert_int_equal(csrf_new_cookie(cookie), RP_OK);
	assert_int_equal(csrf_token(r->cfg->secret, cookie, r->now, tok,
	    sizeof(tok)), RP_OK);
	n = snprintf(cookie_hdr, cookie_sz, "%s=%s",
	    cookie_names[COOKIE_CSRF], cookie);
	assert_true(n > 0 && (size_t)n < cookie_sz);
	n = snprintf(bodybuf, sizeof(bodybuf), "csrf_token=%s%s%s", tok,
	    body_text[0] != '\0' ? "&" : "", body_text);
	assert_true(n > 0 && (size_t)n < sizeof(bodybuf));
	r->cookie_hdr = cookie_hdr;
	r->fetch_site = "same-origin";
	r->ctype = "application/x-www-form-urlencoded";
	r->body = bodybuf;
	r->bodylen = (size_t)n;
}

/*
 * Runs sql on a connection of its own and returns the first column of
 * its first row as an integer (0 when there is none), stepping it to the
 * end; fails the test on an SQLite error.
 */
static int64_t
sql_count(struct fixture *fx, const char *sql)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	int64_t		 v = 0;
	int		 rc, first = 1;

	assert_int_equal(sqlite3_open(fx->u->cfg.database, &h), SQLITE_OK);
	assert_int_equal(sqlite3_busy_timeout(h, 5000), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (first)
			v = sqlite3_column_int64(st, 0);
		first = 0;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* Whether p[0..len) is byte for byte the stored document of challenge
 * id. */
static int
doc_equal(struct fixture *fx, const char *id, const char *p, size_t len)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	int		 same = 0;

	assert_int_equal(sqlite3_open(fx->u->cfg.database, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT document FROM "
	    "challenges WHERE public_id = ?", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (size_t)sqlite3_column_bytes(st, 0) == len)
		same = memcmp(sqlite3_column_text(st, 0), p, len) == 0;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return same;
}

/* --- the words and readers ------------------------------------------ */

static void
test_form_action(void **state)
{
	(void)state;
	assert_int_equal(sp_form_action("/revoke"), ACT_REVOKE);
	assert_int_equal(sp_form_action("/reactivate"), ACT_REACTIVATE);
	assert_int_equal(sp_form_action("/recover"), ACT_RECOVER);
	assert_int_equal(sp_form_action("/suspend"), ACT__MAX);
	assert_int_equal(sp_form_action("/revoke/"), ACT__MAX);
	assert_int_equal(sp_form_action("/REVOKE"), ACT__MAX);
	assert_int_equal(sp_form_action("revoke"), ACT__MAX);
	assert_int_equal(sp_form_action(""), ACT__MAX);
	assert_int_equal(sp_form_action(NULL), ACT__MAX);
}

static void
test_signers_words(void **state)
{
	(void)state;
	assert_string_equal(sp_signers_words(SIGNERS_SUBJECT),
	    "the person named in the certificate");
	assert_non_null(strstr(sp_signers_words(SIGNERS_SUBJECT_OR_REP),
	    ", or a legal representative"));
	assert_non_null(strstr(sp_signers_words(SIGNERS_SUBJECT_AND_REP),
	    "two signatures"));
	assert_non_null(strstr(sp_signers_words(SIGNERS_REP),
	    "a legal representative"));
	assert_string_equal(sp_signers_words(SIGNERS_NONE), "not possible");
	assert_string_equal(sp_signers_words(SIGNERS__MAX), "not possible");
}

static void
test_parties_words(void **state)
{
	(void)state;
	assert_string_equal(sp_parties_words(0), "nobody");
	assert_string_equal(sp_parties_words(REL_SUBJECT),
	    "the person named in the certificate");
	assert_string_equal(sp_parties_words(REL_LEGAL_REP),
	    "a legal representative of the organisation");
	assert_string_equal(sp_parties_words(REL_SUBJECT | REL_LEGAL_REP),
	    "the person named in the certificate and a legal "
	    "representative of the organisation");
	/* Bits that name no party are not parties. */
	assert_string_equal(sp_parties_words(0x4u), "nobody");
	assert_string_equal(sp_parties_words(0x4u | REL_SUBJECT),
	    "the person named in the certificate");
}

static void
test_back(void **state)
{
	char	 out[64], small[8];

	(void)state;
	assert_int_equal(sp_back("revoke", "", out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/revoke");
	assert_int_equal(sp_back("reactivate", "", out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/reactivate");
	assert_int_equal(sp_back("recover", "", out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/recover");
	assert_int_equal(sp_back("suspend", "", out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/suspend");
	assert_int_equal(sp_back("approve", "AAAAAAAAAAAAAAAAAAAAAB", out,
	    sizeof(out)), RP_OK);
	assert_string_equal(out, "/approvals/AAAAAAAAAAAAAAAAAAAAAB");
	assert_int_equal(sp_back("approve", "", out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/approvals/");
	assert_int_equal(sp_back("approve", NULL, out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/approvals/");
	assert_int_equal(sp_back("login", NULL, out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/approvals/");
	/* An action word the portal does not know goes home. */
	assert_int_equal(sp_back("delete", NULL, out, sizeof(out)), RP_OK);
	assert_string_equal(out, "/");
	assert_int_equal(sp_back("reactivate", NULL, small, sizeof(small)),
	    RP_ERR_INTERNAL);
}

/* Runs sp_read() on r's fields; returns its error, code in *code. */
static enum rp_err
read_form(struct req *r, struct chal_new *n, char serial[RP_SERIAL_MAX],
    enum action *form, const char **code)
{
	enum rp_err	 e;

	memset(&r->err, 0, sizeof(r->err));
	e = sp_read(r, n, serial, form);
	*code = r->err.code != NULL ? r->err.code : "";
	return e;
}

static void
test_read(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r;
	struct chal_new	 n;
	char		 serial[RP_SERIAL_MAX];
	enum action	 form;
	const char	*code;

	/* No action. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_SERIAL, "42ba");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "action_required");

	/* A revocation by serial: canonical, unspecified, revoke's form. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	setf(r, FIELD_SERIAL, "00:42:ba");
	setf(r, FIELD_ISSUER, "");
	assert_int_equal(read_form(r, &n, serial, &form, &code), RP_OK);
	assert_int_equal(n.action, ACT_REVOKE);
	assert_string_equal(n.serial, "42BA");
	assert_null(n.token);
	assert_null(n.issuer);
	assert_null(n.csr_pem);
	assert_int_equal(n.reason, REASON_UNSPECIFIED);
	assert_false(n.approve || n.login);
	assert_int_equal(form, ACT_REVOKE);

	/* The whole card, with a reason and an issuer. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	setf(r, FIELD_TOKEN, "CARD-1");
	setf(r, FIELD_REASON, "keyCompromise");
	setf(r, FIELD_ISSUER, "CN=CA");
	assert_int_equal(read_form(r, &n, serial, &form, &code), RP_OK);
	assert_null(n.serial);
	assert_string_equal(n.token, "CARD-1");
	assert_string_equal(n.issuer, "CN=CA");
	assert_int_equal(n.reason, REASON_KEY_COMPROMISE);

	/* Both, or neither. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	setf(r, FIELD_TOKEN, "CARD-1");
	setf(r, FIELD_SERIAL, "42");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "serial_or_token");
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "serial_required");

	/* Too long a serial for 20 bytes. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	setf(r, FIELD_SERIAL, "1234567890123456789012345678901234567890A");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "bad_serial");

	/* privilegeWithdrawn is staff's; a subscriber cannot give it. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	setf(r, FIELD_SERIAL, "42");
	setf(r, FIELD_REASON, "privilegeWithdrawn");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "bad_reason");

	/* A reactivation: one certificate, no reason, its own form. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "reactivate");
	setf(r, FIELD_TOKEN, "CARD-1");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "serial_required");
	assert_int_equal(form, ACT_REACTIVATE);
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "reactivate");
	setf(r, FIELD_SERIAL, "42");
	setf(r, FIELD_REASON, "unspecified");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "unexpected_reason");

	/* A recovery needs its CSR; nothing else takes one. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "recover");
	setf(r, FIELD_SERIAL, "42");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "csr_required");
	assert_int_equal(form, ACT_RECOVER);
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "recover");
	setf(r, FIELD_SERIAL, "42");
	setf(r, FIELD_CSR, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
	    "-----END CERTIFICATE REQUEST-----\n");
	assert_int_equal(read_form(r, &n, serial, &form, &code), RP_OK);
	assert_non_null(n.csr_pem);
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	setf(r, FIELD_SERIAL, "42");
	setf(r, FIELD_CSR, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
	    "-----END CERTIFICATE REQUEST-----\n");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "unexpected_csr");

	/* A request id goes with an approval only. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "revoke");
	setf(r, FIELD_SERIAL, "42");
	setf(r, FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAAB");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "unexpected_request_id");

	/* A suspension is shown on the revocation form. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "suspend");
	setf(r, FIELD_SERIAL, "42");
	assert_int_equal(read_form(r, &n, serial, &form, &code), RP_OK);
	assert_int_equal(n.action, ACT_SUSPEND);
	assert_int_equal(form, ACT_REVOKE);

	/* Approve: the request id only. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "approve");
	setf(r, FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAAB");
	assert_int_equal(read_form(r, &n, serial, &form, &code), RP_OK);
	assert_true(n.approve);
	assert_false(n.login);
	assert_string_equal(n.request_id, "AAAAAAAAAAAAAAAAAAAAAB");
	assert_int_equal(form, ACT__MAX);
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "approve");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "request_id_required");
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "approve");
	setf(r, FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAAB");
	setf(r, FIELD_SERIAL, "42");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "unexpected_field");

	/* Login: nothing else at all. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "login");
	assert_int_equal(read_form(r, &n, serial, &form, &code), RP_OK);
	assert_true(n.login);
	assert_false(n.approve);
	assert_null(n.request_id);
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	setf(r, FIELD_ACTION, "login");
	setf(r, FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAAB");
	assert_int_equal(read_form(r, &n, serial, &form, &code),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(code, "unexpected_field");
}

/* --- the pages ------------------------------------------------------ */

static void
test_forms(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r;
	const char	*b;

	r = mkreq(fx, METHOD_GET, "/revoke", 1);
	r->query = "serial=42%3Aba";
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	b = body(r);
	assert_non_null(strstr(b, "<h1>Revoke a certificate</h1>"));
	assert_non_null(strstr(b, "name=\"action\" value=\"revoke\""));
	assert_non_null(strstr(b, "id=\"s-serial\" name=\"serial\" "
	    "value=\"42:ba\""));
	assert_non_null(strstr(b, "id=\"t-token\""));
	assert_non_null(strstr(b, "value=\"keyCompromise\""));
	assert_null(strstr(b, "privilegeWithdrawn"));
	assert_null(strstr(b, "id=\"s-csr\""));
	assert_non_null(strstr(b, "name=\"csrf_token\" value=\""));
	/* The who-must-sign column: business revocation, either party. */
	assert_non_null(strstr(b, "Business certificate (of an employee)"
	    "</th><td>the person named in the certificate, or a legal "
	    "representative"));
	assert_null(strstr(b, "id=\"not-available\""));
	/* The page is personal: a CSRF cookie, no caching. */
	assert_non_null(strstr(head(fx), "Cache-Control: no-store\r\n"));

	r = mkreq(fx, METHOD_GET, "/reactivate", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	b = body(r);
	assert_non_null(strstr(b, "name=\"action\" value=\"reactivate\""));
	assert_null(strstr(b, "id=\"t-token\""));
	assert_null(strstr(b, "id=\"s-reason\""));
	/* Business reactivation: both parties, and the wait is said. */
	assert_non_null(strstr(b, "Business certificate (of an employee)"
	    "</th><td>the person named in the certificate and a legal "
	    "representative of the organisation: two signatures"));
	assert_non_null(strstr(b, "waits up to 7 days"));

	r = mkreq(fx, METHOD_GET, "/recover", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	b = body(r);
	assert_non_null(strstr(b, "id=\"s-csr\" name=\"csr\""));
	assert_non_null(strstr(b, "openssl x509 -x509toreq -in old-certificate.pem -engine pkcs11"));
	/* TLS cannot be recovered. */
	assert_non_null(strstr(b, "TLS certificate</th><td>not possible"));

	/* Without trust anchors: said, and no form. */
	r = mkreq(fx, METHOD_GET, "/revoke", 0);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), "id=\"not-available\""));
	assert_null(strstr(body(r), "action=\"/sign\""));

	/* /reactivate acts on one certificate: a token is refused. */
	r = mkreq(fx, METHOD_GET, "/reactivate", 1);
	r->query = "token=CARD-1";
	route_dispatch(r);
	assert_int_equal(r->resp.status, 400);
	assert_null(strstr(body(r), "action=\"/sign\""));
}

static void
test_start_refusals(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r;
	char		 ck[128];

	/* No CSRF token: refused before the handler. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	r->ctype = "application/x-www-form-urlencoded";
	r->body = "action=revoke&serial=42";
	r->bodylen = strlen(r->body);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 403);
	assert_int_equal(sql_count(fx, "SELECT count(*) FROM challenges"), 0);

	/* An unknown certificate: the form again, 404, the value kept. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	formpost(r, "action=revoke&serial=4242&reason=superseded", ck,
	    sizeof(ck));
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
	assert_non_null(strstr(body(r), "id=\"form-error\""));
	assert_non_null(strstr(body(r), "value=\"4242\""));
	assert_non_null(strstr(body(r), "value=\"superseded\" selected"));
	assert_int_equal(sql_count(fx, "SELECT count(*) FROM challenges"), 0);

	/* A missing CSR: the recovery form again, 400. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	formpost(r, "action=recover&serial=4242", ck, sizeof(ck));
	route_dispatch(r);
	assert_int_equal(r->resp.status, 400);
	assert_non_null(strstr(body(r), "<h1>Recover a certificate</h1>"));
	assert_non_null(strstr(body(r), "Paste the certificate request"));

	/* Approving an unknown request: the router's 404 page. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	formpost(r, "action=approve&request_id=AAAAAAAAAAAAAAAAAAAAAB", ck,
	    sizeof(ck));
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);

	/* Without trust anchors: 422 on the form. */
	r = mkreq(fx, METHOD_POST, "/sign", 0);
	formpost(r, "action=login", ck, sizeof(ck));
	route_dispatch(r);
	assert_int_equal(r->resp.status, 422);
	assert_non_null(strstr(body(r), "not available"));
	assert_int_equal(sql_count(fx, "SELECT count(*) FROM challenges"), 0);
}

static void
test_login_document(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r;
	char		 ck[128], path[64], dpath[80];
	const char	*loc, *b;

	/* A login needs no registry entry: 303 to its step 2. */
	r = mkreq(fx, METHOD_POST, "/sign", 1);
	formpost(r, "action=login", ck, sizeof(ck));
	route_dispatch(r);
	assert_int_equal(r->resp.status, 303);
	loc = strstr(head(fx), "Location: /sign/");
	assert_non_null(loc);
	assert_int_equal(snprintf(path, sizeof(path), "%.*s", 6 + 22,
	    loc + 10), 28);
	assert_int_equal(sql_count(fx, "SELECT count(*) FROM challenges "
	    "WHERE action = 'login'"), 1);

	r = mkreq(fx, METHOD_GET, path, 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	b = body(r);
	assert_non_null(strstr(b, "<pre class=\"document\" id=\"document\" "
	    "aria-labelledby=\"doc-h\">revportal-request/1\naction: login\n"));
	assert_non_null(strstr(b, "enctype=\"multipart/form-data\""));
	assert_non_null(strstr(b, "accept=\".p7s,.p7m,"
	    "application/pkcs7-signature\""));
	assert_non_null(strstr(b, "-engine pkcs11 -keyform engine"));
	assert_non_null(strstr(b, "Sign in</button>"));

	/* The download: exactly the stored document. */
	assert_true(snprintf(dpath, sizeof(dpath), "%s/document", path) <
	    (int)sizeof(dpath));
	r = mkreq(fx, METHOD_GET, dpath, 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_string_equal(r->resp.ctype, "text/plain; charset=utf-8");
	assert_non_null(strstr(head(fx), "Content-Disposition: attachment; "
	    "filename=\"revportal-request.txt\"\r\n"));
	assert_true(doc_equal(fx, path + 6, r->resp.body.p,
	    r->resp.body.len));
	assert_int_equal(r->resp.body.p[r->resp.body.len - 1], '\n');

	/* Used: step 2 says so and offers no upload. */
	assert_int_equal(sql_count(fx, "UPDATE challenges SET used_at = 1 "
	    "RETURNING 1"), 1);
	r = mkreq(fx, METHOD_GET, path, 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), "already been signed"));
	assert_non_null(strstr(body(r), "href=\"/approvals/\""));
	assert_null(strstr(body(r), "type=\"file\""));
}

static void
test_unknown_document(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r;

	r = mkreq(fx, METHOD_GET, "/sign/AAAAAAAAAAAAAAAAAAAAAB", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
	r = mkreq(fx, METHOD_GET, "/sign/short", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
	r = mkreq(fx, METHOD_GET, "/sign/AAAAAAAAAAAAAAAAAAAAAB/document", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
	r = mkreq(fx, METHOD_GET, "/approvals/AAAAAAAAAAAAAAAAAAAAAB", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 404);
}

static void
test_approvals_session(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r;
	char		 cookie[128], hdr[200];
	int64_t		 person;

	/* No cookie: the login page, and no cookie is deleted. */
	r = mkreq(fx, METHOD_GET, "/approvals/", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), "name=\"action\" value=\"login\""));
	assert_null(strstr(body(r), "id=\"pending\""));
	assert_null(strstr(head(fx), "__Host-rp_rep="));

	/* A representative with a session: their (empty) list. */
	assert_int_equal(sql_count(fx, "INSERT INTO organisations (org_id, "
	    "name, created_at) VALUES ('VATSI-11111111', 'Acme', 1) "
	    "RETURNING 1"), 1);
	assert_int_equal(sql_count(fx, "INSERT INTO persons (person_id, name, "
	    "created_at) VALUES ('PNOSI-1000000000003', 'Rebeka Zupan', 1) "
	    "RETURNING 1"), 1);
	person = sql_count(fx, "SELECT id FROM persons");
	assert_int_equal(sql_count(fx, "INSERT INTO legal_reps "
	    "(organisation_id, person_id, valid_from) VALUES (1, 1, 1) "
	    "RETURNING 1"), 1);
	assert_int_equal(sf_session_make(fx->u->cfg.secret, person,
	    rp_now_ms(), cookie, sizeof(cookie)), RP_OK);
	(void)snprintf(hdr, sizeof(hdr), "%s=%s", cookie_names[COOKIE_REP],
	    cookie);
	r = mkreq(fx, METHOD_GET, "/approvals/", 1);
	r->cookie_hdr = hdr;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), "Rebeka Zupan"));
	assert_non_null(strstr(body(r), "id=\"none\""));
	assert_null(strstr(body(r), "value=\"login\""));

	/* One character of the MAC changed: the login page, the cookie
	 * deleted. */
	hdr[strlen(hdr) - 1] = hdr[strlen(hdr) - 1] == 'A' ? 'B' : 'A';
	r = mkreq(fx, METHOD_GET, "/approvals/", 1);
	r->cookie_hdr = hdr;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), "value=\"login\""));
	assert_null(strstr(body(r), "Rebeka Zupan"));
	assert_non_null(strstr(head(fx), "Set-Cookie: __Host-rp_rep=; Path=/; "
	    "Max-Age=0"));

	/* Another instance's secret: not valid here either. */
	assert_int_equal(sf_session_make((const unsigned char *)
	    "0123456789abcdef0123456789abcdef", person, rp_now_ms(), cookie,
	    sizeof(cookie)), RP_OK);
	(void)snprintf(hdr, sizeof(hdr), "%s=%s", cookie_names[COOKIE_REP],
	    cookie);
	r = mkreq(fx, METHOD_GET, "/approvals/", 1);
	r->cookie_hdr = hdr;
	route_dispatch(r);
	assert_non_null(strstr(body(r), "value=\"login\""));
}

/*
 * Inserts request pub (awaiting approval of a legal rep, approval
 * deadline expires) for a business certificate of organisation org
 * (organisations.id) named serial, with the subject person's signature.
 */
static void
add_pending(struct fixture *fx, int64_t org, const char *serial,
    const char *pub, int64_t expires)
{
	char	 q[1400];
	int64_t	 cert, req;

	(void)snprintf(q, sizeof(q), "INSERT INTO certificates (issuer_dn, "
	    "serial, subject_dn, type, person_id, organisation_id, "
	    "not_before, not_after, term_years, status, status_at, "
	    "suspended_at, suspended_until, aki, sha256, pem, created_at) "
	    "VALUES ('CN=CA', '%s', 'CN=Bob Kranjc,serialNumber=PNOSI-2', "
	    "'business', 2, %lld, 1, 4102444800000, 5, 'suspended', 1, 1, "
	    "4102444800000, 'AA', 'sha-%s', 'pem', 1) RETURNING id", serial,
	    (long long)org, serial);
	cert = sql_count(fx, q);
	(void)snprintf(q, sizeof(q), "INSERT INTO requests (public_id, "
	    "action, reason, channel, auth_method, requester, state, "
	    "received_at, due_at, approval_expires_at, updated_at, need) "
	    "VALUES ('%s', 'reactivate', 'unspecified', 'web', 'signature', "
	    "'person:PNOSI-2', 'awaiting_approval', 1000, 2000, %lld, 1000, "
	    "2) RETURNING id", pub, (long long)expires);
	req = sql_count(fx, q);
	(void)snprintf(q, sizeof(q), "INSERT INTO request_certificates "
	    "(request_id, certificate_id) VALUES (%lld, %lld) RETURNING 1",
	    (long long)req, (long long)cert);
	assert_int_equal(sql_count(fx, q), 1);
	(void)snprintf(q, sizeof(q), "INSERT INTO approvals (request_id, "
	    "person_id, roles, approved_at) VALUES (%lld, 2, 1, 1000) "
	    "RETURNING 1", (long long)req);
	assert_int_equal(sql_count(fx, q), 1);
}

static void
test_approvals_list(void **state)
{
	struct fixture	*fx = *state;
	struct req	*r;
	char		 cookie[128], hdr[200];
	const char	*b;
	int64_t		 far = 4102444800000LL;

	assert_int_equal(sql_count(fx, "INSERT INTO organisations (org_id, "
	    "name, created_at) VALUES ('VATSI-11111111', 'Acme d.o.o.', 1), "
	    "('VATSI-22222222', 'Other d.d.', 1) RETURNING 1"), 1);
	assert_int_equal(sql_count(fx, "INSERT INTO persons (person_id, name, "
	    "email, created_at) VALUES ('PNOSI-1', 'Rebeka Zupan', "
	    "'rebeka@example.test', 1), ('PNOSI-2', 'Bob Kranjc', "
	    "'bob@example.test', 1), ('PNOSI-3', 'Oto Vidmar', NULL, 1) "
	    "RETURNING 1"), 1);
	/* Rebeka represents Acme now; Oto represented it until 2. */
	assert_int_equal(sql_count(fx, "INSERT INTO legal_reps "
	    "(organisation_id, person_id, valid_from, valid_to) VALUES "
	    "(1, 1, 1, NULL), (1, 3, 1, 2) RETURNING 1"), 1);
	add_pending(fx, 1, "A1", "AAAAAAAAAAAAAAAAAAAAA1", far);
	add_pending(fx, 2, "B2", "AAAAAAAAAAAAAAAAAAAAA2", far);
	add_pending(fx, 1, "C3", "AAAAAAAAAAAAAAAAAAAAA3", 5);

	assert_int_equal(sf_session_make(fx->u->cfg.secret, 1, rp_now_ms(),
	    cookie, sizeof(cookie)), RP_OK);
	(void)snprintf(hdr, sizeof(hdr), "%s=%s", cookie_names[COOKIE_REP],
	    cookie);
	r = mkreq(fx, METHOD_GET, "/approvals/", 1);
	r->cookie_hdr = hdr;
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	b = body(r);
	/* Acme's open request only: not another organisation's, not one
	 * past its deadline. */
	assert_non_null(strstr(b, "href=\"/approvals/AAAAAAAAAAAAAAAAAAAAA1\""));
	assert_null(strstr(b, "AAAAAAAAAAAAAAAAAAAAA2"));
	assert_null(strstr(b, "AAAAAAAAAAAAAAAAAAAAA3"));
	assert_non_null(strstr(b, "Reactivation of\n<code>A1</code>"));
	assert_non_null(strstr(b, "Bob Kranjc, Acme d.o.o."));
	assert_non_null(strstr(b, "Still to sign: a legal representative"));
	/* Never an identifier or an address of a person. */
	assert_null(strstr(b, "PNOSI-"));
	assert_null(strstr(b, "example.test"));

	/* Oto no longer represents Acme: an empty list. */
	assert_int_equal(sf_session_make(fx->u->cfg.secret, 3, rp_now_ms(),
	    cookie, sizeof(cookie)), RP_OK);
	(void)snprintf(hdr, sizeof(hdr), "%s=%s", cookie_names[COOKIE_REP],
	    cookie);
	r = mkreq(fx, METHOD_GET, "/approvals/", 1);
	r->cookie_hdr = hdr;
	route_dispatch(r);
	assert_non_null(strstr(body(r), "id=\"none\""));
	assert_null(strstr(body(r), "AAAAAAAAAAAAAAAAAAAAA1"));

	/* The request's own page: what is asked, who signed, the button. */
	r = mkreq(fx, METHOD_GET, "/approvals/AAAAAAAAAAAAAAAAAAAAA1", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	b = body(r);
	assert_non_null(strstr(b, "<span id=\"state-name\">Waiting for "
	    "approval</span>"));
	assert_non_null(strstr(b, "Still to sign: <strong>a legal "
	    "representative of the organisation</strong>"));
	assert_non_null(strstr(b, "<dd>by the person named in the "
	    "certificate, <time"));
	assert_non_null(strstr(b, "<code>A1</code>: Business certificate (of "
	    "an employee), Bob Kranjc,\nAcme d.o.o. (VATSI-11111111)"));
	assert_non_null(strstr(b, "name=\"action\" value=\"approve\""));
	assert_non_null(strstr(b, "name=\"request_id\" "
	    "value=\"AAAAAAAAAAAAAAAAAAAAA1\""));
	assert_null(strstr(b, "PNOSI-"));
	assert_null(strstr(b, "example.test"));

	/* Once queued: its state and the status page, no button. */
	assert_int_equal(sql_count(fx, "UPDATE requests SET state = 'queued', "
	    "need = 0 WHERE public_id = 'AAAAAAAAAAAAAAAAAAAAA1' RETURNING 1"),
	    1);
	r = mkreq(fx, METHOD_GET, "/approvals/AAAAAAAAAAAAAAAAAAAAA1", 1);
	route_dispatch(r);
	assert_int_equal(r->resp.status, 200);
	assert_non_null(strstr(body(r), ">Approved</span>"));
	assert_non_null(strstr(body(r),
	    "href=\"/requests/AAAAAAAAAAAAAAAAAAAAA1\""));
	assert_null(strstr(body(r), "value=\"approve\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_action),
		cmocka_unit_test(test_signers_words),
		cmocka_unit_test(test_parties_words),
		cmocka_unit_test(test_back),
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login_document, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_document, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_approvals_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_approvals_list, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
