/*
 * Signed requests and approvals, the API calls (DESIGN §5):
 *
 *	POST /api/v1/challenges
 *	    {"action", "serial" | "token", "issuer"?, "reason"?,
 *	    "request_id"? (approve), "csr"? (recover)}
 *	    -> 201 {"challenge_id", "document", "expires_at"}
 *	POST /api/v1/requests {"challenge_id", "signature"}
 *	    -> 202 {"request_id", "state", "status_url", "need"}
 *	POST /api/v1/requests/{id}/approvals {"challenge_id", "signature"}
 *	    -> 202 {"request_id", "state", "need"}
 *
 * "need" lists who still has to sign, as the words "subject" and
 * "legal_rep".  An Idempotency-Key on the two signed calls gives a
 * repeat of the same body the first answer (see sf_idem_init()).  The
 * work is signflow.c's; this file reads the fields and writes the JSON.
 * A signed call names its challenge and signature only: the challenge
 * already says what is asked, so any other field is refused rather than
 * left to contradict it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* The fields a signed call may carry. */
#define HS_SIGNED_FIELDS \
	(FIELD_BIT(FIELD_CHALLENGE_ID) | FIELD_BIT(FIELD_SIGNATURE))

/* The answer when signed requests are not configured. */
static enum rp_err
hs_not_available(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_POLICY, "not_available",
	    "Signed requests are not available on this portal.");
}

/*
 * Reads the fields of POST /api/v1/challenges into n; serial is n's
 * buffer for the canonical serial number.  Returns RP_OK or
 * RP_ERR_BAD_INPUT with req->err filled.
 */
static enum rp_err
hs_challenge_read(struct req *req, struct chal_new *n,
    char serial[RP_SERIAL_MAX])
{
	const struct input	*in = &req->in;
	const struct param	*act = &in->f[FIELD_ACTION];
	const struct param	*rs = &in->f[FIELD_REASON];

	memset(n, 0, sizeof(*n));
	n->reason = REASON_UNSPECIFIED;
	n->now = rp_now_ms();
	if (!act->set)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "action_required",
		    "Say which action: revoke, suspend, reactivate, recover, "
		    "approve or login.");
	if (strcmp(act->val, "approve") == 0)
		n->approve = 1;
	else if (strcmp(act->val, "login") == 0)
		n->login = 1;
	else if ((n->action = dom_action_parse(act->val)) == ACT__MAX)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_action",
		    "The action must be revoke, suspend, reactivate, recover, "
		    "approve or login.");
	if (in->f[FIELD_SERIAL].set) {
		if (x509_serial_norm(in->f[FIELD_SERIAL].val,
		    in->f[FIELD_SERIAL].len, serial) != RP_OK)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "bad_serial", "The serial number is not valid: it "
			    "has at most 40 hexadecimal digits.");
		n->serial = serial;
	}
	if (in->f[FIELD_TOKEN].set)
		n->token = in->f[FIELD_TOKEN].val;
	if (in->f[FIELD_ISSUER].set && in->f[FIELD_ISSUER].len > 0)
		n->issuer = in->f[FIELD_ISSUER].val;
	/* A login's session serves the pages only (h_signpage.c). */
	if (n->login)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_action",
		    "A login is made on the approvals page, not through the "
		    "API.");
	if (rs->set) {
		if (n->approve || n->action == ACT_REACTIVATE ||
		    n->action == ACT_RECOVER)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "unexpected_reason", "An approval, a reactivation "
			    "or a recovery carries no reason of its own.");
		if ((n->reason = dom_reason_parse(rs->val)) == REASON__MAX)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "bad_reason", "The reason is not one of the "
			    "offered ones.");
	}
	if (in->f[FIELD_REQUEST_ID].set)
		n->request_id = in->f[FIELD_REQUEST_ID].val;
	if (in->f[FIELD_CSR].set)
		n->csr_pem = in->f[FIELD_CSR].val;
	return RP_OK;
}

/*
 * POST /api/v1/challenges: 201 with the document to sign.  Refusals are
 * the router's JSON errors (429 with Retry-After).
 */
enum rp_err
h_api_challenge_post(struct req *req)
{
	struct chal_new		 n;
	struct challenge	 c;
	char			 serial[RP_SERIAL_MAX], exp[32];
	json_t			*o;
	enum rp_err		 e;

	if (req->sig == NULL)
		return hs_not_available(req);
	if ((e = hs_challenge_read(req, &n, serial)) != RP_OK)
		return e;
	if ((e = sf_challenge(req, &n, &c)) != RP_OK)
		return e;
	rp_time_format(c.expires_at, exp);
	if ((o = json_pack("{s:s, s:s%, s:s}", "challenge_id", c.public_id,
	    "document", c.document, c.doclen, "expires_at", exp)) == NULL)
		e = RP_ERR_NOMEM;
	else
		e = resp_json(&req->resp, 201, o);
	json_decref(o);
	chal_free(&c);
	return e;
}

/*
 * Returns the REL_* set need as a JSON array of "subject" and
 * "legal_rep" (a new reference), or NULL without memory.
 */
static json_t *
hs_need(unsigned int need)
{
	json_t	*a;

	if ((a = json_array()) == NULL)
		return NULL;
	if (((need & REL_SUBJECT) &&
	    json_array_append_new(a, json_string("subject")) != 0) ||
	    ((need & REL_LEGAL_REP) &&
	    json_array_append_new(a, json_string("legal_rep")) != 0)) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/*
 * The common part of the two signed calls: checks the body, makes the
 * idempotency record of an Idempotency-Key, and runs sf_submit() with
 * approve (the request id of the path, or NULL).  Returns RP_OK with out
 * filled, or the refusal in req->err.
 */
static enum rp_err
hs_signed(struct req *req, const char *approve, struct sf_out *out)
{
	const struct input	*in = &req->in;
	const struct param	*cid = &in->f[FIELD_CHALLENGE_ID];
	const struct param	*sig = &in->f[FIELD_SIGNATURE];
	struct pf_idem		 idem;
	struct sf_in		 si;
	size_t			 i;
	enum rp_err		 e;

	memset(out, 0, sizeof(*out));
	if (req->sig == NULL)
		return hs_not_available(req);
	for (i = 0; i < FIELD__MAX; i++)
		if (in->f[i].set && !(HS_SIGNED_FIELDS & FIELD_BIT(i)))
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "unexpected_field", "A signed request carries "
			    "challenge_id and signature only; the field "
			    "\"%s\" is not accepted with them.",
			    fields[i].name);
	if (!cid->set || !sig->set || sig->len == 0)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT,
		    "challenge_and_signature", "A signed request needs both "
		    "challenge_id and signature.");
	memset(&si, 0, sizeof(si));
	si.challenge_id = cid->val;
	si.sig = sig->val;
	si.siglen = sig->len;
	si.approve = approve;
	si.channel = CH_API;
	if (req->idem_key != NULL) {
		if ((e = sf_idem_init(&idem, cid->val, sig->val, sig->len,
		    req->idem_key, rp_now_ms(), &req->err)) != RP_OK)
			return e;
		si.idem = &idem;
	}
	return sf_submit(req, &si, out);
}

/*
 * POST /api/v1/requests with challenge_id and signature (h_public.c
 * hands it over): 202 with the request made.
 */
enum rp_err
h_api_signed_request(struct req *req)
{
	struct sf_out	 out;
	char		 url[RP_CONF_STR + 64];
	json_t		*o;
	enum rp_err	 e;
	int		 n;

	if ((e = hs_signed(req, NULL, &out)) != RP_OK)
		return e;
	n = snprintf(url, sizeof(url), "%s/api/v1/requests/%s",
	    req->cfg->portal_url, out.lc.public_id);
	if (n < 0 || (size_t)n >= sizeof(url))
		return RP_ERR_INTERNAL;
	if ((o = json_pack("{s:s, s:s, s:s, s:o}", "request_id",
	    out.lc.public_id, "state", dom_state_name(out.lc.state),
	    "status_url", url, "need", hs_need(out.lc.need))) == NULL)
		return RP_ERR_NOMEM;
	e = resp_json(&req->resp, 202, o);
	json_decref(o);
	return e;
}

/*
 * POST /api/v1/requests/{id}/approvals: 202 with the request's state
 * after this approval (queued once nobody else has to sign).
 */
enum rp_err
h_api_approval_post(struct req *req)
{
	struct sf_out	 out;
	json_t		*o;
	enum rp_err	 e;

	if (req->sig == NULL)
		return hs_not_available(req);
	if (strlen(req->arg) != RP_ID_LEN)
		return rp_fail(&req->err, RP_ERR_NOT_FOUND, "unknown_request",
		    "There is no request with this id.");
	if ((e = hs_signed(req, req->arg, &out)) != RP_OK)
		return e;
	if ((o = json_pack("{s:s, s:s, s:o}", "request_id", out.lc.public_id,
	    "state", dom_state_name(out.lc.state), "need",
	    hs_need(out.lc.need))) == NULL)
		return RP_ERR_NOMEM;
	e = resp_json(&req->resp, 202, o);
	json_decref(o);
	return e;
}
