/*
 * Signed requests for people: the same work as h_sign.c's API calls
 * (signflow.c does it), as plain HTML forms in two steps, and the pages
 * of legal representatives.
 *
 *	GET /revoke, /reactivate, /recover	step 1: what to do to which
 *						certificate (h_sign_form)
 *	POST /sign				issues the document; 303 to
 *						step 2 (h_sign_start)
 *	GET /sign/{challenge}			step 2: the document, how to
 *						sign it, the upload (h_sign_page)
 *	GET /sign/{challenge}/document		the document's exact bytes
 *	POST /sign/{challenge}			the .p7s: verified and acted on;
 *						303 onwards (h_sign_submit)
 *	GET /approvals/{request}		what a request awaiting approval
 *						asks, and the button that makes
 *						the approve document
 *	GET /approvals/				a legal representative's login
 *						(a signed "login" document), or
 *						with its cookie the requests of
 *						their organisations
 *
 * Pages use no script (the content security policy allows none inline):
 * the document is shown in a <pre>, offered as a download, and signed on
 * the person's own machine with openssl and their card.
 *
 * What the approval page shows: anyone with a request's id reads its
 * status page already, so this page shows that (action, serial numbers,
 * reason, times, which parties signed, never who by name) plus what a
 * legal representative needs to decide: the certificate's type, the name
 * of the person it names and the organisation's name and identifier.
 * Never a person's identifier (the subject serialNumber is a national
 * identity number), an e-mail address or a signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

/* The one answer to every refused signature (signflow.c's words). */
#define SP_AUTH_MSG	"The signature could not be verified."
#define SP_FORBID_MSG	"Your certificate does not allow this request for " \
			"this certificate."
#define SP_FORBID_LOGIN	"Your certificate does not name a registered legal " \
			"representative of an organisation."

/* Requests on a legal representative's list, at most. */
#define SP_LIST_MAX	100

/* The file a document downloads as. */
#define SP_DOC_FILE	"revportal-request.txt"

/* The certificate types, for people. */
static const char *const sp_type_words[CT__MAX] = {
	[CT_PERSONAL] = "Personal certificate",
	[CT_BUSINESS] = "Business certificate (of an employee)",
	[CT_APPLICATION] = "Application certificate",
	[CT_ESEAL] = "Electronic seal",
	[CT_TLS] = "TLS certificate",
	[CT_QWAC] = "Website certificate (QWAC)",
};

/* The parties, for people. */
#define SP_SUBJECT	"the person named in the certificate"
#define SP_REP		"a legal representative of the organisation"

/* The type t for people; "-" for none. */
static const char *
sp_type(enum cert_type t)
{
	return (unsigned int)t < CT__MAX ? sp_type_words[t] : "-";
}

/* "Revocation", ... for action a; "-" for none. */
static const char *
sp_action_noun(enum action a)
{
	const char	*s;

	return (s = dom_action_noun(a)) != NULL ? s : "-";
}

/*
 * Returns the action whose step-1 form path is (/revoke, /reactivate,
 * /recover), else ACT__MAX.
 */
UNITTEST enum action
sp_form_action(const char *path)
{
	if (path == NULL)
		return ACT__MAX;
	if (strcmp(path, "/revoke") == 0)
		return ACT_REVOKE;
	if (strcmp(path, "/reactivate") == 0)
		return ACT_REACTIVATE;
	if (strcmp(path, "/recover") == 0)
		return ACT_RECOVER;
	return ACT__MAX;
}

/* Who must sign under rule s, for people. */
UNITTEST const char *
sp_signers_words(enum signers s)
{
	switch (s) {
	case SIGNERS_SUBJECT:
		return SP_SUBJECT;
	case SIGNERS_SUBJECT_OR_REP:
		return SP_SUBJECT ", or " SP_REP;
	case SIGNERS_SUBJECT_AND_REP:
		return SP_SUBJECT " and " SP_REP ": two signatures";
	case SIGNERS_REP:
		return SP_REP " (the person named in the certificate may sign "
		    "as well)";
	default:
		return "not possible";
	}
}

/*
 * The parties of the REL_* set rel, for people ("nobody" for none): who
 * still has to sign, or whom a signature stood for.
 */
UNITTEST const char *
sp_parties_words(unsigned int rel)
{
	switch (rel & (REL_SUBJECT | REL_LEGAL_REP)) {
	case REL_SUBJECT:
		return SP_SUBJECT;
	case REL_LEGAL_REP:
		return SP_REP;
	case REL_SUBJECT | REL_LEGAL_REP:
		return SP_SUBJECT " and " SP_REP;
	default:
		return "nobody";
	}
}

/*
 * Writes the address of step 1 for a challenge of action word action
 * (and, for approve, request id request) into out.  Returns RP_OK, or
 * RP_ERR_INTERNAL when out is too small.
 */
UNITTEST enum rp_err
sp_back(const char *action, const char *request, char *out, size_t outsz)
{
	int	 n;

	if (strcmp(action, "approve") == 0 && request != NULL &&
	    request[0] != '\0')
		n = snprintf(out, outsz, "/approvals/%s", request);
	else if (strcmp(action, "approve") == 0 ||
	    strcmp(action, "login") == 0)
		n = snprintf(out, outsz, "/approvals/");
	else if (strcmp(action, "suspend") == 0)
		n = snprintf(out, outsz, "/suspend");
	else if (dom_action_parse(action) != ACT__MAX)
		n = snprintf(out, outsz, "/%s", action);
	else
		n = snprintf(out, outsz, "/");
	if (n < 0 || (size_t)n >= outsz)
		return RP_ERR_INTERNAL;
	return RP_OK;
}

/*
 * Writes a time (ms) for people, "2026-11-22 05:40 UTC", into out; and
 * when iso is not NULL the exact time for a <time datetime> into it.
 */
static void
sp_time(int64_t ms, char out[32], char iso[32])
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (iso != NULL)
		rp_time_format(ms, iso);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		(void)snprintf(out, 32, "-");
}

/*
 * Writes how long a request waits for approval under the policy, "7
 * days" or "36 hours", into out.
 */
static void
sp_wait_words(const struct policy *p, char *out, size_t outsz)
{
	unsigned int	 h = p->approval_expiry_hours;

	if (h >= 24 && h % 24 == 0)
		(void)snprintf(out, outsz, "%u day%s", h / 24,
		    h == 24 ? "" : "s");
	else
		(void)snprintf(out, outsz, "%u hour%s", h, h == 1 ? "" : "s");
}

/*
 * Sets key to a new JSON value v (NULL: out of memory) in o.  Returns 0,
 * or -1 without memory.
 */
static int
sp_set(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

/* The Retry-After of a rate-limited answer the page itself renders. */
static enum rp_err
sp_retry_after(struct req *req)
{
	return resp_header(&req->resp, "Retry-After", "%u",
	    req->retry_after > 0 ? req->retry_after : 1);
}

/* Answers 303 See Other to location (a path of this site). */
static enum rp_err
sp_see_other(struct req *req, const char *location)
{
	enum rp_err	 e;

	if ((e = resp_header(&req->resp, "Location", "%s", location)) !=
	    RP_OK)
		return e;
	req->resp.status = 303;
	req->resp.ctype = "text/plain; charset=utf-8";
	buf_reset(&req->resp.body);
	return buf_addf(&req->resp.body, "See %s\n", location);
}

/*
 * Renders the step-1 form of act (revoke, reactivate, recover) with
 * status: what is asked, who must sign for which type of certificate
 * (the policy's who-must-sign column of act), the fee notice, and the
 * forms, with a fresh CSRF token.  On a refusal, error is its message
 * and the entered values come back; the issuer field is unfolded when
 * it was filled or the serial named several certificates.
 */
static enum rp_err
sp_form(struct req *req, enum action act, int status, const char *error)
{
	const struct policy	*p = &req->cfg->policy;
	const struct input	*in = &req->in;
	enum sign_group		 g;
	char			 csrf[CSRF_TOKEN_MAX + 1], wait[32];
	json_t			*ctx = NULL, *list, *o;
	enum crl_reason		 chosen = REASON_UNSPECIFIED;
	const char		*title;
	enum rp_err		 e;
	size_t			 i;
	int			 two = 0, ask_issuer, scope_token;

	switch (act) {
	case ACT_REACTIVATE:
		g = SG_REACTIVATE;
		title = "Reactivate a certificate";
		break;
	case ACT_RECOVER:
		g = SG_RECOVER;
		title = "Recover a certificate";
		break;
	default:
		act = ACT_REVOKE;
		g = SG_REVOKE_SUSPEND;
		title = "Revoke a certificate";
		break;
	}
	if ((e = resp_csrf_token(req, csrf, sizeof(csrf))) != RP_OK)
		return e;
	if (in->f[FIELD_REASON].set)
		chosen = dom_reason_parse(in->f[FIELD_REASON].val);
	ask_issuer = in->f[FIELD_ISSUER].len > 0 || (error != NULL &&
	    req->err.code != NULL &&
	    strcmp(req->err.code, "ambiguous_serial") == 0);
	scope_token = in->f[FIELD_TOKEN].set;
	sp_wait_words(p, wait, sizeof(wait));
	ctx = json_pack("{s:s, s:s, s:s, s:s*, s:s*, s:s*, s:s*, s:s*, s:b, "
	    "s:b, s:b, s:b, s:b, s:b, s:s, s:I, s:I, s:I}",
	    "title", title,
	    "action", dom_action_name(act),
	    "csrf", csrf,
	    "error", error,
	    "serial", in->f[FIELD_SERIAL].set ? in->f[FIELD_SERIAL].val : NULL,
	    "token", in->f[FIELD_TOKEN].set ? in->f[FIELD_TOKEN].val : NULL,
	    "issuer", in->f[FIELD_ISSUER].set ? in->f[FIELD_ISSUER].val : NULL,
	    "csr", in->f[FIELD_CSR].set ? in->f[FIELD_CSR].val : NULL,
	    "is_revoke", act == ACT_REVOKE,
	    "is_reactivate", act == ACT_REACTIVATE,
	    "is_recover", act == ACT_RECOVER,
	    "fee", p->fee[act],
	    "ask_issuer", ask_issuer,
	    "scope_token", scope_token,
	    "approval_wait", wait,
	    "recover_term", (json_int_t)p->recover_term_years,
	    "recover_months", (json_int_t)p->recover_window_months,
	    "renewal_days", (json_int_t)p->recover_renewal_days);
	if (ctx == NULL ||
	    sp_set(ctx, "available", json_boolean(req->sig != NULL)) != 0 ||
	    (list = json_array()) == NULL ||
	    json_object_set_new(ctx, "signers", list) != 0)
		goto nomem;
	for (i = 0; i < CT__MAX; i++) {
		if (p->signers[i][g] == SIGNERS_SUBJECT_AND_REP)
			two = 1;
		if ((o = json_pack("{s:s, s:s}", "type", sp_type(i),
		    "who", sp_signers_words(p->signers[i][g]))) == NULL ||
		    json_array_append_new(list, o) != 0)
			goto nomem;
	}
	if (sp_set(ctx, "two_parties", json_boolean(two)) != 0 ||
	    sp_set(ctx, "reasons", act == ACT_REVOKE ?
	    dom_reason_choices(p->reasons_subscriber, chosen) :
	    json_array()) != 0)
		goto nomem;
	e = resp_html(req, status, TMPL_SIGN_FORM, ctx);
	json_decref(ctx);
	return e;
nomem:
	json_decref(ctx);
	return RP_ERR_NOMEM;
}

/*
 * GET /revoke, /reactivate, /recover: step 1, the form of the action
 * the path names, with ?serial= (or for /revoke ?token=) filled in.
 */
enum rp_err
h_sign_form(struct req *req)
{
	enum action	 act = sp_form_action(req->path);

	if (act == ACT__MAX)
		return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found",
		    "There is no such page.");
	return sp_form(req, act, 200, NULL);
}

/*
 * Reads POST /sign into n (serial: n's buffer for the canonical serial
 * number) and *form, the step-1 page that shows a refusal: the action's
 * form (revoke's for suspend), or ACT__MAX for an approval (the approval
 * page) or a login (the login page).  Each field is checked against the
 * action before anything is issued, with words for people.  Returns
 * RP_OK, or RP_ERR_BAD_INPUT with req->err filled.
 */
UNITTEST enum rp_err
sp_read(struct req *req, struct chal_new *n, char serial[RP_SERIAL_MAX],
    enum action *form)
{
	const struct input	*in = &req->in;
	const struct param	*act = &in->f[FIELD_ACTION];
	const struct param	*ser = &in->f[FIELD_SERIAL];
	const struct param	*tok = &in->f[FIELD_TOKEN];
	const struct param	*rs = &in->f[FIELD_REASON];
	const struct param	*rid = &in->f[FIELD_REQUEST_ID];
	const struct param	*csr = &in->f[FIELD_CSR];

	memset(n, 0, sizeof(*n));
	n->reason = REASON_UNSPECIFIED;
	n->now = rp_now_ms();
	*form = ACT_REVOKE;
	if (!act->set)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "action_required",
		    "This form is incomplete. Please reload the page and try "
		    "again.");
	if (strcmp(act->val, "approve") == 0 || strcmp(act->val, "login") ==
	    0) {
		*form = ACT__MAX;
		n->approve = act->val[0] == 'a';
		n->login = !n->approve;
		if (ser->set || tok->set || rs->set || csr->set ||
		    (n->login && rid->set))
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "unexpected_field", "This form carries fields it "
			    "should not. Please reload the page and try again.");
		if (n->approve && !rid->set)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "request_id_required", "This form is incomplete. "
			    "Please reload the page and try again.");
		n->request_id = n->approve ? rid->val : NULL;
		return RP_OK;
	}
	if ((n->action = dom_action_parse(act->val)) == ACT__MAX)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_action",
		    "This form is incomplete. Please reload the page and try "
		    "again.");
	*form = n->action == ACT_SUSPEND ? ACT_REVOKE : n->action;
	if (rid->set)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT,
		    "unexpected_request_id", "This form carries fields it "
		    "should not. Please reload the page and try again.");
	if (ser->set && tok->set)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "serial_or_token",
		    "Give either a serial number or a card label, not both.");
	if (tok->set) {
		if (n->action != ACT_REVOKE && n->action != ACT_SUSPEND)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "serial_required", "This acts on one certificate: "
			    "enter its serial number.");
		n->token = tok->val;
	} else if (!ser->set)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "serial_required",
		    "Enter the serial number of the certificate.");
	else if (x509_serial_norm(ser->val, ser->len, serial) != RP_OK)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_serial",
		    "The serial number is not valid: it has at most 40 "
		    "hexadecimal digits.");
	else
		n->serial = serial;
	if (in->f[FIELD_ISSUER].set && in->f[FIELD_ISSUER].len > 0)
		n->issuer = in->f[FIELD_ISSUER].val;
	if (rs->set) {
		if (n->action != ACT_REVOKE && n->action != ACT_SUSPEND)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "unexpected_reason", "A reason goes with a "
			    "revocation or suspension only.");
		n->reason = dom_reason_parse(rs->val);
		if (n->reason == REASON__MAX ||
		    (n->reason != REASON_UNSPECIFIED &&
		    (req->cfg->policy.reasons_subscriber &
		    REASON_BIT(n->reason)) == 0))
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "bad_reason", "The reason is not one of the "
			    "offered ones.");
	}
	if (n->action == ACT_RECOVER) {
		if (!csr->set)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "csr_required", "Paste the certificate request "
			    "(CSR) made on the new card.");
		n->csr_pem = csr->val;
	} else if (csr->set)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "unexpected_csr",
		    "A certificate request goes with a recovery only.");
	return RP_OK;
}

static enum rp_err	sp_approval(struct req *, const char *, int,
			    const char *);
static enum rp_err	sp_login(struct req *, int, const char *);

/*
 * POST /sign: issues the document of the form's request (an action on a
 * certificate or card, an approval, a legal representative's login) and
 * answers 303 to its step-2 page.  A refusal shows the page the form
 * came from again, with its message and status (400, 404, 409, 422, 429
 * with Retry-After) and the entered values; server failures go to the
 * router's error page.
 */
enum rp_err
h_sign_start(struct req *req)
{
	struct chal_new		 n;
	struct challenge	 c;
	char			 serial[RP_SERIAL_MAX], loc[16 + RP_ID_LEN];
	enum action		 form = ACT_REVOKE;
	enum rp_err		 e;
	int			 status;

	memset(&c, 0, sizeof(c));
	if ((e = sp_read(req, &n, serial, &form)) != RP_OK)
		goto refused;
	if ((e = sf_challenge(req, &n, &c)) != RP_OK)
		goto refused;
	(void)snprintf(loc, sizeof(loc), "/sign/%s", c.public_id);
	e = sp_see_other(req, loc);
	chal_free(&c);
	return e;
refused:
	chal_free(&c);
	if ((status = route_status_of(e)) >= 500)
		return e;
	if (e == RP_ERR_RATE && (e = sp_retry_after(req)) != RP_OK)
		return e;
	if (form != ACT__MAX)
		return sp_form(req, form, status, req->err.msg);
	if (n.approve && n.request_id != NULL)
		return sp_approval(req, n.request_id, status, req->err.msg);
	if (n.login)
		return sp_login(req, status, req->err.msg);
	/* An approval form without its request: nothing to show again. */
	return e;
}

/*
 * Renders step 2 of challenge c with status: the document, its
 * download, how to sign it and the upload form while it can be used;
 * otherwise that it was used or has expired, with the way back to step
 * 1.  error is a refusal's message, or NULL.
 */
static enum rp_err
sp_doc(struct req *req, const struct challenge *c, int status,
    const char *error)
{
	char		 csrf[CSRF_TOKEN_MAX + 1], back[16 + RP_ID_LEN];
	char		 exp[32], exp_iso[32];
	json_t		*ctx;
	int64_t		 now = rp_now_ms();
	enum rp_err	 e;
	int		 used = c->used_at != 0;
	int		 expired = !used && now >= c->expires_at;
	int		 login = strcmp(c->action, "login") == 0;
	int		 approve = strcmp(c->action, "approve") == 0;

	if ((e = resp_csrf_token(req, csrf, sizeof(csrf))) != RP_OK ||
	    (e = sp_back(c->action, c->request_id, back, sizeof(back))) !=
	    RP_OK)
		return e;
	sp_time(c->expires_at, exp, exp_iso);
	ctx = json_pack("{s:s, s:s, s:s, s:s%, s:s, s:s, s:s, s:s*, s:b, "
	    "s:b, s:b, s:b, s:b, s:b, s:s, s:I}",
	    "title", login ? "Sign in with your signature" :
	    approve ? "Sign the approval" : "Sign your request",
	    "challenge_id", c->public_id,
	    "csrf", csrf,
	    "document", c->document, c->doclen,
	    "expires", exp,
	    "expires_iso", exp_iso,
	    "back", back,
	    "error", error,
	    "usable", !used && !expired,
	    "used", used,
	    "expired", expired,
	    "is_login", login,
	    "is_approve", approve,
	    "is_action", !login && !approve,
	    "file", SP_DOC_FILE,
	    "minutes", (json_int_t)(RP_CHAL_TTL_MS / 60000));
	if (ctx == NULL)
		return RP_ERR_NOMEM;
	e = resp_html(req, status, TMPL_SIGN_DOC, ctx);
	json_decref(ctx);
	return e;
}

/*
 * Reads challenge req->arg into c (chal_free() after, either way).
 * Returns RP_OK; RP_ERR_NOT_FOUND with req->err filled for a malformed
 * or unknown id; a database error.
 */
static enum rp_err
sp_chal(struct req *req, struct challenge *c)
{
	enum rp_err	 e;

	memset(c, 0, sizeof(*c));
	if (strlen(req->arg) != RP_ID_LEN ||
	    (e = chal_get(req->db, req->arg, c)) == RP_ERR_NOT_FOUND)
		return rp_fail(&req->err, RP_ERR_NOT_FOUND,
		    "unknown_challenge", "There is no such document to sign. "
		    "Please start again.");
	if (e != RP_OK)
		return rp_fail(&req->err, e, "db", "cannot read the document");
	return RP_OK;
}

/* GET /sign/{challenge}: step 2. */
enum rp_err
h_sign_page(struct req *req)
{
	struct challenge	 c;
	enum rp_err		 e;

	if ((e = sp_chal(req, &c)) == RP_OK)
		e = sp_doc(req, &c, 200, NULL);
	chal_free(&c);
	return e;
}

/*
 * GET /sign/{challenge}/document: the document as a file, byte for byte
 * what is signed (a used or expired one too: it is only text).
 */
enum rp_err
h_sign_document(struct req *req)
{
	struct challenge	 c;
	enum rp_err		 e;

	if ((e = sp_chal(req, &c)) != RP_OK)
		goto out;
	if ((e = resp_header(&req->resp, "Content-Disposition",
	    "attachment; filename=\"%s\"", SP_DOC_FILE)) != RP_OK)
		goto out;
	buf_reset(&req->resp.body);
	if ((e = buf_add(&req->resp.body, c.document, c.doclen)) != RP_OK)
		goto out;
	req->resp.status = 200;
	req->resp.ctype = "text/plain; charset=utf-8";
out:
	chal_free(&c);
	return e;
}

/*
 * POST /sign/{challenge}: the uploaded signature (FIELD_SIGNATURE, the
 * file's bytes) goes to sf_submit() for the challenge's purpose.  Then
 * 303: to the request's status page, to the approval page of an
 * approved request, or after a login, with the representative's session
 * cookie, to their list.  A refused signature shows step 2 again with
 * the one message (401), a signer not allowed with another (403); other
 * refusals are the router's error pages.  The same file sent twice (a
 * double click) gets the first answer again: the idempotency record of
 * the challenge, under the key "web", holds it.
 */
enum rp_err
h_sign_submit(struct req *req)
{
	const struct param	*sig = &req->in.f[FIELD_SIGNATURE];
	struct challenge	 c;
	struct pf_idem		 idem;
	struct sf_in		 si;
	struct sf_out		 out;
	char			 loc[32 + RP_ID_LEN], cookie[128];
	enum rp_err		 e;
	int			 known;

	if ((e = sp_chal(req, &c)) != RP_OK && e != RP_ERR_NOT_FOUND)
		goto out;
	known = e == RP_OK;
	if (known && (!sig->set || sig->len == 0)) {
		e = sp_doc(req, &c, 400, "Choose the signature file (.p7s) to "
		    "upload.");
		goto out;
	}
	if (!sig->set || sig->len == 0) {
		e = rp_fail(&req->err, RP_ERR_BAD_INPUT, "signature_required",
		    "Choose the signature file (.p7s) to upload.");
		goto out;
	}
	memset(&si, 0, sizeof(si));
	si.challenge_id = req->arg;
	si.sig = sig->val;
	si.siglen = sig->len;
	si.channel = CH_WEB;
	if (known && strcmp(c.action, "approve") == 0)
		si.approve = c.request_id;
	else if (known && strcmp(c.action, "login") == 0)
		si.login = 1;
	if (known && !si.login) {
		if ((e = sf_idem_init(&idem, req->arg, sig->val, sig->len, "web",
		    rp_now_ms(), &req->err)) != RP_OK)
			goto out;
		si.idem = &idem;
	}
	e = sf_submit(req, &si, &out);
	if (e == RP_OK) {
		if (si.login) {
			if ((e = sf_session_make(req->cfg->secret, out.person,
			    rp_now_ms(), cookie, sizeof(cookie))) != RP_OK ||
			    (e = resp_cookie(&req->resp,
			    cookie_names[COOKIE_REP], cookie,
			    RP_REP_SESSION_MS / 1000)) != RP_OK)
				goto out;
			e = sp_see_other(req, "/approvals/");
		} else {
			(void)snprintf(loc, sizeof(loc), "%s%s", si.approve !=
			    NULL ? "/approvals/" : "/requests/",
			    out.lc.public_id);
			e = sp_see_other(req, loc);
		}
		goto out;
	}
	if (!known || (e != RP_ERR_AUTH && e != RP_ERR_FORBIDDEN))
		goto out;
	/* As it is now: the refusal may be that it was used meanwhile. */
	chal_free(&c);
	if (sp_chal(req, &c) != RP_OK) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	/*
	 * A login sent twice: the first answer used the challenge and set
	 * the cookie.  Only then: another person's refused login in a
	 * browser that holds someone's session must not land on that list.
	 */
	if (si.login && e == RP_ERR_AUTH && c.used_at != 0 &&
	    sf_session_check(req->cfg->secret, req->in.cookie[COOKIE_REP],
	    rp_now_ms()) != 0) {
		e = sp_see_other(req, "/approvals/");
		goto out;
	}
	e = e == RP_ERR_AUTH ? sp_doc(req, &c, 401, SP_AUTH_MSG) :
	    sp_doc(req, &c, 403, strcmp(c.action, "login") == 0 ?
	    SP_FORBID_LOGIN : SP_FORBID_MSG);
out:
	chal_free(&c);
	return e;
}

/*
 * Appends to list, for request row id, one object per signature it has:
 * whom it stood for (never a name) and when.  Returns RP_OK or an error.
 * *first gets the REL_* set of the first one: who asked.
 */
static enum rp_err
sp_signed(struct db *db, int64_t id, json_t *list, unsigned int *first)
{
	struct dbq	 q;
	json_t		*o;
	char		 at[32], iso[32];
	unsigned int	 roles;
	int		 i = 0;

	*first = 0;
	dbq_start(&q, db, DB_APPROVALS_OF);
	dbq_int(&q, id);
	while (dbq_step(&q)) {
		roles = (unsigned int)dbq_col_int(&q, 4);
		if (i++ == 0)
			*first = roles;
		sp_time(dbq_col_int(&q, 6), at, iso);
		if ((o = json_pack("{s:s, s:s, s:s}", "who", !dbq_col_null(&q,
		    3) && roles == 0 ? "an officer of the registration office" :
		    sp_parties_words(roles), "at", at, "at_iso", iso)) == NULL ||
		    json_array_append_new(list, o) != 0) {
			q.err = RP_ERR_NOMEM;
			break;
		}
	}
	return dbq_end(&q);
}

/*
 * Appends to list the certificates of request row id as the approval
 * page shows them; *org gets whether any names an organisation.
 */
static enum rp_err
sp_certs(struct db *db, int64_t id, json_t *list, int *org)
{
	struct dbq	 q;
	json_t		*o;
	const char	*t;
	int		 n = 0;

	*org = 0;
	dbq_start(&q, db, DB_SP_REQUEST_CERTS);
	dbq_int(&q, id);
	while (dbq_step(&q)) {
		if (++n > (int)RP_TOKEN_CERTS_MAX)
			break;
		t = dbq_col_text(&q, 1);
		if (!dbq_col_null(&q, 4))
			*org = 1;
		if ((o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?}",
		    "serial", dbq_col_text(&q, 0),
		    "type", sp_type(t != NULL ? dom_type_parse(t) : CT__MAX),
		    "name", dbq_col_text(&q, 3),
		    "org_name", dbq_col_text(&q, 4),
		    "org_id", dbq_col_text(&q, 5),
		    "token", dbq_col_text(&q, 6))) == NULL ||
		    json_array_append_new(list, o) != 0) {
			q.err = RP_ERR_NOMEM;
			break;
		}
	}
	return dbq_end(&q);
}

/*
 * Renders the approval page of request public id with status: what is
 * asked and who signed, from one read snapshot; while it awaits
 * approval, who still has to sign, the deadline and the button that
 * makes the approve document; otherwise its state.  error is a refused
 * POST /sign's message, or NULL.  RP_ERR_NOT_FOUND for an unknown id.
 */
static enum rp_err
sp_approval(struct req *req, const char *id, int status, const char *error)
{
	struct request	 r;
	char		 csrf[CSRF_TOKEN_MAX + 1];
	char		 recv[32], recv_iso[32], dl[32], dl_iso[32];
	const char	*name, *detail;
	json_t		*ctx = NULL, *certs = NULL, *signed_ = NULL;
	json_t		*first_cert;
	unsigned int	 first = 0;
	enum rp_err	 e;
	int		 org = 0, waiting;

	if (strlen(id) != RP_ID_LEN)
		return rp_fail(&req->err, RP_ERR_NOT_FOUND, "unknown_request",
		    "There is no request with this id.");
	if ((e = resp_csrf_token(req, csrf, sizeof(csrf))) != RP_OK)
		return e;
	if ((certs = json_array()) == NULL ||
	    (signed_ = json_array()) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if ((e = db_begin_read(req->db)) != RP_OK) {
		(void)rp_fail(&req->err, e, "db_busy", "the database is busy");
		goto out;
	}
	if ((e = lc_get(req->db, id, &r)) == RP_ERR_NOT_FOUND)
		(void)rp_fail(&req->err, e, "unknown_request",
		    "There is no request with this id.");
	else if (e == RP_OK && (e = sp_certs(req->db, r.id, certs, &org)) ==
	    RP_OK)
		e = sp_signed(req->db, r.id, signed_, &first);
	db_rollback(req->db);
	if (e != RP_OK)
		goto out;
	waiting = r.state == RS_AWAITING_APPROVAL;
	switch (r.state) {
	case RS_AWAITING_APPROVAL:
		name = "Waiting for approval";
		detail = "The request is sent to the CA once everyone who must "
		    "sign it has signed.";
		break;
	case RS_QUEUED:
	case RS_RELAYED:
		name = "Approved";
		detail = "Everyone who had to sign has signed: the request is "
		    "on its way to the certificate authority.";
		break;
	case RS_COMPLETED:
		name = "Done";
		detail = "The request was carried out.";
		break;
	case RS_EXPIRED:
		name = "Expired";
		detail = "The signatures it needed did not arrive in time; "
		    "nothing was changed.";
		break;
	default:
		name = dom_state_name(r.state);
		detail = "The request no longer waits for approval.";
		break;
	}
	sp_time(r.received_at, recv, recv_iso);
	sp_time(r.approval_expires_at, dl, dl_iso);
	if ((ctx = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s*, s:s, s:s, s:b, s:b, s:b, s:b, s:O, s:O}",
	    "title", "A request awaiting approval",
	    "request_id", r.public_id,
	    "state", dom_state_name(r.state),
	    "state_name", name,
	    "state_detail", detail,
	    "action_words", sp_action_noun(r.action),
	    "reason_words", dom_reason_words(r.reason),
	    "requested_by", first != 0 ? sp_parties_words(first) :
	    "the registration office",
	    "received", recv,
	    "received_iso", recv_iso,
	    "error", error,
	    "csrf", csrf,
	    "need_words", sp_parties_words(r.need),
	    "waiting", waiting,
	    "has_deadline", waiting && r.approval_expires_at != 0,
	    "available", req->sig != NULL,
	    "has_org", org,
	    "certs", certs,
	    "signed", signed_)) == NULL ||
	    (first_cert = json_array_get(certs, 0)) == NULL ||
	    json_object_set(ctx, "first_serial", json_object_get(first_cert,
	    "serial")) != 0 ||
	    (r.token != 0 && json_object_get(first_cert, "token") != NULL &&
	    json_object_set(ctx, "first_token", json_object_get(first_cert,
	    "token")) != 0) ||
	    sp_set(ctx, "deadline", json_string(dl)) != 0 ||
	    sp_set(ctx, "deadline_iso", json_string(dl_iso)) != 0) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	e = resp_html(req, status, TMPL_APPROVAL, ctx);
out:
	json_decref(ctx);
	json_decref(certs);
	json_decref(signed_);
	return e;
}

/* GET /approvals/{request}: the approval page. */
enum rp_err
h_approval_page(struct req *req)
{
	return sp_approval(req, req->arg, 200, NULL);
}

/*
 * Renders the login page of /approvals/ with status: what signing in
 * with a qualified signature means and the form that makes the login
 * document.  When the browser sent a representative's cookie that is not
 * valid (expired, or altered), it is deleted.
 */
static enum rp_err
sp_login(struct req *req, int status, const char *error)
{
	char		 csrf[CSRF_TOKEN_MAX + 1];
	json_t		*ctx;
	enum rp_err	 e;

	if ((e = resp_csrf_token(req, csrf, sizeof(csrf))) != RP_OK)
		return e;
	if (req->in.cookie[COOKIE_REP] != NULL &&
	    sf_session_check(req->cfg->secret, req->in.cookie[COOKIE_REP],
	    rp_now_ms()) == 0 && (e = resp_cookie(&req->resp, cookie_names[COOKIE_REP], "", 0)) !=
	    RP_OK)
		return e;
	if ((ctx = json_pack("{s:s, s:s, s:s*, s:b, s:b, s:I}",
	    "title", "Approvals for legal representatives",
	    "csrf", csrf,
	    "error", error,
	    "signed_in", 0,
	    "available", req->sig != NULL,
	    "session_minutes", (json_int_t)(RP_REP_SESSION_MS / 60000))) ==
	    NULL)
		return RP_ERR_NOMEM;
	e = resp_html(req, status, TMPL_APPROVALS, ctx);
	json_decref(ctx);
	return e;
}

/*
 * Appends to list the requests awaiting approval of every organisation
 * person represents at now, newest first, at most SP_LIST_MAX; *more
 * gets whether there were more.  *name gets the person's name (the
 * caller frees it; NULL when the person is unknown).
 */
static enum rp_err
sp_pending(struct db *db, int64_t person, int64_t now, json_t *list,
    char **name, int *more)
{
	struct dbq	 q;
	json_t		*o;
	char		 recv[32], recv_iso[32], dl[32], dl_iso[32];
	const char	*a, *t, *rs;
	enum rp_err	 e;
	int		 n = 0;

	*name = NULL;
	*more = 0;
	dbq_start(&q, db, DB_SP_PERSON_NAME);
	dbq_int(&q, person);
	if (dbq_step(&q) && dbq_col_text(&q, 0) != NULL &&
	    (*name = strdup(dbq_col_text(&q, 0))) == NULL)
		q.err = RP_ERR_NOMEM;
	if ((e = dbq_end(&q)) != RP_OK)
		return e;
	dbq_start(&q, db, DB_SP_PENDING);
	dbq_int(&q, person);
	dbq_int(&q, now);
	dbq_int(&q, SP_LIST_MAX + 1);
	while (dbq_step(&q)) {
		if (++n > SP_LIST_MAX) {
			*more = 1;
			break;
		}
		a = dbq_col_text(&q, 1);
		rs = dbq_col_text(&q, 2);
		t = dbq_col_text(&q, 7);
		sp_time(dbq_col_int(&q, 3), recv, recv_iso);
		sp_time(dbq_col_int(&q, 4), dl, dl_iso);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		    "s:b, s:s, s:s?, s:s?, s:b}",
		    "request_id", dbq_col_text(&q, 0),
		    "action_words", sp_action_noun(a != NULL ?
		    dom_action_parse(a) : ACT__MAX),
		    "reason_words", dom_reason_words(rs != NULL ?
		    dom_reason_parse(rs) : REASON__MAX),
		    "received", recv,
		    "received_iso", recv_iso,
		    "deadline", dl,
		    "deadline_iso", dl_iso,
		    "need_words", sp_parties_words((unsigned int)
		    dbq_col_int(&q, 5)),
		    "has_deadline", !dbq_col_null(&q, 4),
		    "serial", dbq_col_text(&q, 6),
		    "type", t != NULL ? sp_type(dom_type_parse(t)) : NULL,
		    "org_name", dbq_col_text(&q, 8),
		    "many", dbq_col_int(&q, 10) > 1);
		/* The array owns o once appended, also when that fails. */
		if (o != NULL && sp_set(o, "name", dbq_col_null(&q, 9) ?
		    json_null() : json_string(dbq_col_text(&q, 9))) != 0) {
			json_decref(o);
			o = NULL;
		}
		if (o == NULL || json_array_append_new(list, o) != 0) {
			q.err = RP_ERR_NOMEM;
			break;
		}
	}
	return dbq_end(&q);
}

/*
 * GET /approvals/: with a valid representative's cookie, the requests
 * awaiting approval of the organisations the person represents now;
 * otherwise the login page.
 */
enum rp_err
h_approvals(struct req *req)
{
	json_t		*ctx = NULL, *list = NULL;
	char		*name = NULL;
	int64_t		 now = rp_now_ms(), person;
	enum rp_err	 e;
	int		 more = 0;

	person = sf_session_check(req->cfg->secret, req->in.cookie[COOKIE_REP],
	    now);
	if (person <= 0)
		return sp_login(req, 200, NULL);
	if ((list = json_array()) == NULL)
		return RP_ERR_NOMEM;
	if ((e = db_begin_read(req->db)) != RP_OK) {
		(void)rp_fail(&req->err, e, "db_busy", "the database is busy");
		goto out;
	}
	e = sp_pending(req->db, person, now, list, &name, &more);
	db_rollback(req->db);
	if (e != RP_OK)
		goto out;
	if ((ctx = json_pack("{s:s, s:b, s:s*, s:O, s:b, s:b, s:I}",
	    "title", "Requests awaiting your approval",
	    "signed_in", 1,
	    "person_name", name,
	    "requests", list,
	    "none", json_array_size(list) == 0,
	    "more", more,
	    "list_max", (json_int_t)SP_LIST_MAX)) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	e = resp_html(req, 200, TMPL_APPROVALS, ctx);
out:
	free(name);
	json_decref(ctx);
	json_decref(list);
	return e;
}
