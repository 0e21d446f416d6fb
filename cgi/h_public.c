/*
 * The subscriber's pages and the passphrase API: the suspension form
 * (GET and POST /suspend), a request's status page (GET /requests/{id})
 * and their JSON twins (POST /api/v1/requests, GET
 * /api/v1/requests/{id}).
 *
 * A passphrase request runs in a fixed order: the form's or body's
 * syntax (the idempotency key's too), then the client's rate limit, the
 * passphrase check (pf_check()), the idempotency record under the key
 * scoped by the passphrase that passed (a repeat gets the first answer
 * and makes nothing new; a repeat therefore needs the passphrase too,
 * and counts like any attempt), and only then lc_create(), which asks
 * the policy about exactly the certificate or token pf_check()
 * authenticated.  So a stranger never learns a certificate's status from
 * a 409 or 422, nor that a key was used: every such answer comes after
 * authentication.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* The audit actor and requester of every passphrase request here. */
#define PUB_ACTOR	"passphrase"

/* Seconds between refreshes of a status page: moving, and waiting. */
#define PUB_REFRESH_FAST	5
#define PUB_REFRESH_SLOW	30

/* What one passphrase request asks, read from a form or a JSON body. */
struct pub_ask {
	enum action	 action;
	char		 serial[RP_SERIAL_MAX];	/* canonical, or "" */
	const char	*token;			/* label, or NULL */
	const char	*issuer;		/* NULL: any issuer */
	enum crl_reason	 reason;
	const char	*pass;			/* req->in's */
	size_t		 passlen;
};

/* What a request that was made (or made before) is. */
struct pub_made {
	char		 id[RP_ID_LEN + 1];
	enum req_state	 state;
	int		 status;		/* 202 */
};

/*
 * Reads the request's fields into a: action (suspend by default on the
 * form; required in the API), serial number or token label (scope says
 * which on the form), issuer, reason, passphrase.  Returns RP_OK or the
 * refusal in req->err: RP_ERR_BAD_INPUT for a missing or bad field,
 * RP_ERR_POLICY for what a passphrase can never do here (signed requests,
 * reactivation, recovery).  a->pass points into req->in.
 */
static enum rp_err
pub_read(struct req *req, int api, struct pub_ask *a)
{
	const struct input	*in = &req->in;
	const struct param	*ser = &in->f[FIELD_SERIAL];
	const struct param	*tok = &in->f[FIELD_TOKEN];
	const struct param	*sc = &in->f[FIELD_SCOPE];
	const struct param	*iss = &in->f[FIELD_ISSUER];
	const struct param	*pass = &in->f[FIELD_PASSPHRASE];
	const struct param	*rs = &in->f[FIELD_REASON];
	int			 token;

	memset(a, 0, sizeof(*a));
	a->reason = REASON_UNSPECIFIED;
	a->action = ACT_SUSPEND;
	if (in->f[FIELD_ACTION].set)
		a->action = dom_action_parse(in->f[FIELD_ACTION].val);
	else if (api)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "action_required",
		    "Say which action: suspend or revoke.");
	switch (a->action) {
	case ACT_SUSPEND:
	case ACT_REVOKE:
		break;
	case ACT_REACTIVATE:
	case ACT_RECOVER:
		return rp_fail(&req->err, RP_ERR_POLICY,
		    policy_code_name(POL_NEEDS_SIGNATURE), "Reactivation and "
		    "recovery need a request signed with a qualified "
		    "electronic signature.");
	default:
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_action",
		    "The action must be suspend or revoke.");
	}

	if (ser->set && tok->set)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "serial_or_token",
		    "Give either a serial number or a token label, not both.");
	token = sc->set ? strcmp(sc->val, "token") == 0 : tok->set;
	if (token) {
		if (!tok->set)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "token_required", "Enter the label of the card "
			    "or token.");
		a->token = tok->val;
	} else {
		if (!ser->set)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "serial_required", "Enter the serial number of "
			    "the certificate.");
		if (x509_serial_norm(ser->val, ser->len, a->serial) != RP_OK)
			return rp_fail(&req->err, RP_ERR_BAD_INPUT,
			    "bad_serial", "The serial number is not valid: "
			    "it has at most 40 hexadecimal digits.");
	}
	if (iss->set && iss->len > 0)
		a->issuer = iss->val;
	if (rs->set && (a->reason = dom_reason_parse(rs->val)) ==
	    REASON__MAX)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_reason",
		    "The reason is not one of the offered ones.");
	if (!pass->set || pass->len == 0)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT,
		    "passphrase_required", "Enter the revocation passphrase.");
	a->pass = pass->val;
	a->passlen = pass->len;
	return RP_OK;
}

/*
 * Puts the words for people of lc_create()'s refusal into req->err:
 * the policy's code (res_code) when it was the policy, else the
 * lifecycle's own code (already in req->err) with better words for the
 * ones a subscriber meets.
 */
static void
pub_refusal(struct req *req, enum rp_err e, enum policy_code res_code,
    enum action act)
{
	const char	*code = req->err.code;
	const char	*hl = req->cfg->hotline;

	if (res_code != POL_ALLOW) {
		code = policy_code_name(res_code);
		switch (res_code) {
		case POL_WRONG_STATUS:
			(void)rp_fail(&req->err, e, code, "The certificate's "
			    "status does not allow this: it may already be "
			    "%s.", act == ACT_SUSPEND ? "suspended or revoked" :
			    "revoked");
			return;
		case POL_CERT_EXPIRED:
			(void)rp_fail(&req->err, e, code, "The certificate "
			    "has expired; it no longer needs to be %s.",
			    act == ACT_SUSPEND ? "suspended" : "revoked");
			return;
		case POL_NOT_ALLOWED_FOR_TYPE:
			(void)rp_fail(&req->err, e, code, "%s",
			    act == ACT_SUSPEND ? "This kind of certificate "
			    "(such as a TLS or website certificate) cannot be "
			    "suspended; it can only be revoked." :
			    "This cannot be done to this kind of certificate.");
			return;
		case POL_REASON_NOT_ALLOWED:
			(void)rp_fail(&req->err, e, code, "This reason cannot "
			    "be given for this certificate; please choose "
			    "another.");
			return;
		case POL_NEEDS_SIGNATURE:
			(void)rp_fail(&req->err, e, code, "The passphrase is "
			    "not enough for this: send a request signed with "
			    "a qualified electronic signature%s%s.",
			    hl[0] != '\0' ? ", or call the hotline: " : "", hl);
			return;
		default:
			(void)rp_fail(&req->err, e, code, "The passphrase does "
			    "not allow this.");
			return;
		}
	}
	if (code == NULL)
		return;
	if (strcmp(code, "request_pending") == 0)
		(void)rp_fail(&req->err, e, code, "A request for this "
		    "certificate is already being processed.");
	else if (strcmp(code, "unknown_token") == 0)
		(void)rp_fail(&req->err, e, code, "The card or token holds no "
		    "certificate.");
	else if (strcmp(code, "token_too_large") == 0)
		(void)rp_fail(&req->err, e, code, "The card holds too many "
		    "certificates for one request; please call the hotline.");
}

/*
 * Makes the passphrase request a, in the order the file's comment says,
 * for channel ch, with the idempotency key (kind "api" or "form"; key
 * NULL for none).  Returns RP_OK with m filled (a new request, or the
 * one made before under the same key and passphrase); otherwise the
 * refusal in req->err, with *retry_after set for RP_ERR_RATE.
 */
static enum rp_err
pub_submit(struct req *req, const struct pub_ask *a, enum channel ch,
    const char *kind, const char *key, struct pub_made *m,
    unsigned int *retry_after)
{
	const struct config	*cfg = req->cfg;
	struct pf_idem		 idem;
	struct pf_idem_hit	 hit;
	struct pf_target	 t;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 again;
	const char		*serial = a->token == NULL ? a->serial : NULL;
	int64_t			 now = rp_now_ms();
	enum rp_err		 e;
	int			 found = 0;

	memset(m, 0, sizeof(*m));
	*retry_after = 0;
	if (key != NULL && (e = pf_idem_init(&idem, kind, key, a->action,
	    a->issuer, serial, a->token, a->reason, now, &req->err)) !=
	    RP_OK)
		return e;
	if ((e = pf_rate(req->db, cfg, req->remote_addr, now, retry_after,
	    &req->err)) != RP_OK)
		return e;
	if ((e = pf_check(req->db, cfg, a->issuer, serial, a->token, a->pass,
	    a->passlen, PUB_ACTOR, now, &t, &req->err)) != RP_OK)
		return e;
	if (key != NULL) {
		if ((e = pf_idem_bind(&idem, t.pass, &req->err)) != RP_OK ||
		    (e = pf_idem_find(req->db, &idem, &hit, &found,
		    &req->err)) != RP_OK)
			return e;
		if (found)
			goto again;
	}

	/* Exactly what pf_check() authenticated, by issuer and serial. */
	memset(&n, 0, sizeof(n));
	n.action = a->action;
	if (a->token == NULL) {
		n.issuer = t.issuer;
		n.serial = t.serial;
	} else
		n.token = t.token_label;
	n.reason = a->reason;
	n.actor.channel = ch;
	n.actor.auth = AUTH_PASSPHRASE;
	n.actor.name = PUB_ACTOR;
	/* Received now: after the Argon2id work, not before it. */
	n.now = rp_now_ms();
	if (key != NULL) {
		n.in_tx = pf_idem_record;
		n.in_tx_arg = &idem;
	}
	if ((e = lc_create(req->db, &cfg->policy, &n, &res, &req->err)) !=
	    RP_OK) {
		/*
		 * A double submission racing this one may have made the
		 * request first (the open request or the key refused this
		 * one): then this one answers as that one did.
		 */
		if (key != NULL && pf_idem_find(req->db, &idem, &hit, &found,
		    &again) == RP_OK && found)
			goto again;
		pub_refusal(req, e, res.code, a->action);
		return e;
	}
	memcpy(m->id, res.public_id, sizeof(m->id));
	m->state = res.state;
	m->status = 202;
	if (m->state == RS_QUEUED)
		relay_nudge(cfg->relay_socket);
	return RP_OK;
again:
	memcpy(m->id, hit.public_id, sizeof(m->id));
	m->state = hit.state;
	m->status = hit.status;
	return RP_OK;
}

/*
 * Renders the suspension form with status: the two forms (one
 * certificate by serial number, the whole card by token label), with a
 * fresh CSRF token and each with its own form id (one id per form: the
 * id names one submission), what the policy allows, the fee notice and
 * the lockout count.  When the page answers a refusal, error is its
 * message and the entered values come back (never the passphrase); after
 * a failed passphrase check the optional issuer field is unfolded, since
 * the one message for it says an issuer may be needed.
 */
static enum rp_err
pub_form(struct req *req, int status, const char *error)
{
	const struct policy	*p = &req->cfg->policy;
	const struct input	*in = &req->in;
	char			 csrf[CSRF_TOKEN_MAX + 1];
	char			 form_id[RP_ID_LEN + 1];
	char			 form_id_card[RP_ID_LEN + 1];
	json_t			*ctx = NULL, *list;
	enum crl_reason		 chosen = REASON_UNSPECIFIED;
	enum rp_err		 e;
	int			 revoke, scope_token, ask_issuer;

	if ((e = resp_csrf_token(req, csrf, sizeof(csrf))) != RP_OK ||
	    (e = rp_random_id(form_id)) != RP_OK ||
	    (e = rp_random_id(form_id_card)) != RP_OK)
		return e;
	if (in->f[FIELD_REASON].set)
		chosen = dom_reason_parse(in->f[FIELD_REASON].val);
	revoke = in->f[FIELD_ACTION].set &&
	    strcmp(in->f[FIELD_ACTION].val, "revoke") == 0;
	ask_issuer = in->f[FIELD_ISSUER].len > 0 || (error != NULL &&
	    req->err.code != NULL &&
	    strcmp(req->err.code, "auth_failed") == 0);
	scope_token = in->f[FIELD_SCOPE].set ?
	    strcmp(in->f[FIELD_SCOPE].val, "token") == 0 :
	    in->f[FIELD_TOKEN].set;
	ctx = json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*, s:s*, s:s*, s:b, "
	    "s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:b, s:b, s:b}",
	    "title", "Suspend a certificate",
	    "csrf", csrf,
	    "form_id", form_id,
	    "form_id_card", form_id_card,
	    "error", error,
	    "serial", in->f[FIELD_SERIAL].set ? in->f[FIELD_SERIAL].val : NULL,
	    "token", in->f[FIELD_TOKEN].set ? in->f[FIELD_TOKEN].val : NULL,
	    "issuer", in->f[FIELD_ISSUER].set ? in->f[FIELD_ISSUER].val : NULL,
	    "offer_revoke", p->online_revoke || p->revoke_unsuspendable,
	    "online_revoke", p->online_revoke,
	    "revoke_unsuspendable", !p->online_revoke &&
	    p->revoke_unsuspendable,
	    "act_revoke", revoke,
	    "fee_suspend", p->fee[ACT_SUSPEND],
	    "fee_revoke", p->fee[ACT_REVOKE],
	    "max_failures", (json_int_t)p->max_failures,
	    "suspend_days", (json_int_t)p->suspend_max_days,
	    "suspend_end_revoke", p->suspend_end_action == ACT_REVOKE,
	    "scope_token", scope_token,
	    "ask_issuer", ask_issuer);
	if (ctx == NULL || (list = dom_reason_choices(p->reasons_subscriber,
	    chosen)) == NULL || json_object_set_new(ctx, "reasons", list) != 0)
		goto nomem;
	e = resp_html(req, status, TMPL_SUSPEND, ctx);
	json_decref(ctx);
	return e;
nomem:
	json_decref(ctx);
	return RP_ERR_NOMEM;
}

/*
 * GET /suspend: the form, with ?serial= or ?token= filled in.
 */
enum rp_err
h_suspend_form(struct req *req)
{
	return pub_form(req, 200, NULL);
}

/*
 * Adds the Retry-After header of a rate-limit answer.
 */
static enum rp_err
pub_retry_after(struct req *req, unsigned int secs)
{
	return resp_header(&req->resp, "Retry-After", "%u",
	    secs > 0 ? secs : 1);
}

/*
 * POST /suspend: makes the request and answers 303 See Other to its
 * status page (so a reload does not post again; a double submission of
 * the same form, by its form_id, leads to the same request).  A refusal
 * shows the form again with its message and status (400, 401, 409, 422,
 * 423, 429 with Retry-After), the entered values but not the
 * passphrase.  Server failures go to the router's error page.
 */
enum rp_err
h_suspend_post(struct req *req)
{
	const struct param	*fid = &req->in.f[FIELD_FORM_ID];
	struct pub_ask		 a;
	struct pub_made		 m;
	unsigned int		 retry = 0;
	enum rp_err		 e;
	int			 status;

	if ((e = pub_read(req, 0, &a)) != RP_OK)
		goto refused;
	if (!fid->set) {
		e = rp_fail(&req->err, RP_ERR_BAD_INPUT, "form_id_required",
		    "This form is incomplete. Please reload the page and try "
		    "again.");
		goto refused;
	}
	if ((e = pub_submit(req, &a, CH_WEB, "form", fid->val, &m, &retry)) !=
	    RP_OK)
		goto refused;
	if ((e = resp_header(&req->resp, "Location", "/requests/%s", m.id)) !=
	    RP_OK)
		return e;
	req->resp.status = 303;
	req->resp.ctype = "text/plain; charset=utf-8";
	return buf_addf(&req->resp.body, "See /requests/%s\n", m.id);
refused:
	if ((status = route_status_of(e)) >= 500)
		return e;
	if (e == RP_ERR_RATE && (e = pub_retry_after(req, retry)) != RP_OK)
		return e;
	return pub_form(req, status, req->err.msg);
}

/*
 * POST /api/v1/requests with a passphrase: 202 {"request_id", "state",
 * "status_url"}; the same answer again for a repeated Idempotency-Key.
 * Refusals are the router's JSON errors (429 with Retry-After).
 */
enum rp_err
h_api_request_post(struct req *req)
{
	struct pub_ask	 a;
	struct pub_made	 m;
	json_t		*o;
	char		 url[RP_CONF_STR + 64];
	unsigned int	 retry = 0;
	enum rp_err	 e;
	int		 n;

	/* A signed request: h_sign.c's. */
	if (req->in.f[FIELD_CHALLENGE_ID].set ||
	    req->in.f[FIELD_SIGNATURE].set)
		return h_api_signed_request(req);
	if ((e = pub_read(req, 1, &a)) != RP_OK)
		return e;
	e = pub_submit(req, &a, CH_API, "api", req->idem_key, &m, &retry);
	if (e == RP_ERR_RATE)
		req->retry_after = retry > 0 ? retry : 1;
	if (e != RP_OK)
		return e;
	n = snprintf(url, sizeof(url), "%s/api/v1/requests/%s",
	    req->cfg->portal_url, m.id);
	if (n < 0 || (size_t)n >= sizeof(url))
		return RP_ERR_INTERNAL;
	if ((o = json_pack("{s:s, s:s, s:s}", "request_id", m.id,
	    "state", dom_state_name(m.state), "status_url", url)) == NULL)
		return RP_ERR_NOMEM;
	e = resp_json(&req->resp, m.status, o);
	json_decref(o);
	return e;
}

/* One request as the status page and the API show it. */
struct pub_view {
	struct request	 r;
	struct cert_row	*rows;		/* RP_TOKEN_CERTS_MAX */
	size_t		 n;
	json_t		*approvals;	/* array */
	char		 new_serial[RP_SERIAL_MAX];	/* recovery: issued */
};

static void
pub_view_free(struct pub_view *v)
{
	free(v->rows);
	json_decref(v->approvals);
	memset(v, 0, sizeof(*v));
}

/*
 * Reads the approvals of request id into a JSON array: for each, the
 * parties it stands for, how it was given and when; never a name, an
 * identifier or a signature (anyone with the request id reads this).
 */
static enum rp_err
pub_approvals(struct db *db, int64_t id, json_t **out)
{
	struct dbq	 q;
	json_t		*a, *o, *parties;
	char		 at[32];
	unsigned int	 roles;
	enum rp_err	 e;

	if ((*out = a = json_array()) == NULL)
		return RP_ERR_NOMEM;
	dbq_start(&q, db, DB_APPROVALS_OF);
	dbq_int(&q, id);
	while (dbq_step(&q)) {
		roles = (unsigned int)dbq_col_int(&q, 4);
		rp_time_format(dbq_col_int(&q, 6), at);
		/* Appended first, so that a itself frees it on any error. */
		if ((o = json_pack("{s:[], s:s, s:s}", "parties",
		    "by", dbq_col_null(&q, 7) ? "officer" : "signature",
		    "approved_at", at)) == NULL ||
		    json_array_append_new(a, o) != 0 ||
		    (parties = json_object_get(o, "parties")) == NULL ||
		    ((roles & REL_SUBJECT) && json_array_append_new(parties,
		    json_string("subject")) != 0) ||
		    ((roles & REL_LEGAL_REP) && json_array_append_new(parties,
		    json_string("legal_rep")) != 0)) {
			q.err = RP_ERR_NOMEM;
			break;
		}
	}
	e = dbq_end(&q);
	return e;
}

/*
 * Reads the serial of the certificate a recovery's CA issued into
 * v->new_serial ("" until it did).  Returns RP_OK or a database error.
 */
static enum rp_err
pub_new_serial(struct db *db, struct pub_view *v)
{
	struct dbq	 q;
	const char	*t;

	dbq_start(&q, db, DB_REC_GET);
	dbq_int(&q, v->r.id);
	if (dbq_step(&q) && (t = dbq_col_text(&q, 2)) != NULL &&
	    strlen(t) < sizeof(v->new_serial))
		memcpy(v->new_serial, t, strlen(t) + 1);
	return dbq_end(&q);
}

/*
 * Reads request req->arg (its public id) with its certificates and
 * approvals from one read snapshot into v (pub_view_free() after, either
 * way).  Returns RP_OK; RP_ERR_NOT_FOUND for a malformed or unknown id;
 * a database error.
 */
static enum rp_err
pub_view_load(struct req *req, struct pub_view *v)
{
	enum rp_err	 e;

	memset(v, 0, sizeof(*v));
	if (strlen(req->arg) != RP_ID_LEN)
		return rp_fail(&req->err, RP_ERR_NOT_FOUND, "unknown_request",
		    "There is no request with this id.");
	if ((v->rows = calloc(RP_TOKEN_CERTS_MAX, sizeof(*v->rows))) == NULL)
		return RP_ERR_NOMEM;
	if ((e = db_begin_read(req->db)) != RP_OK)
		return rp_fail(&req->err, e, "db_busy", "the database is busy");
	if ((e = lc_get(req->db, req->arg, &v->r)) == RP_ERR_NOT_FOUND)
		(void)rp_fail(&req->err, e, "unknown_request",
		    "There is no request with this id.");
	else if (e == RP_OK &&
	    (e = reg_request_certs(req->db, v->r.id, v->rows,
	    RP_TOKEN_CERTS_MAX, &v->n)) == RP_OK && v->n == 0)
		e = RP_ERR_INTERNAL;
	if (e == RP_OK)
		e = pub_approvals(req->db, v->r.id, &v->approvals);
	if (e == RP_OK && v->r.action == ACT_RECOVER)
		e = pub_new_serial(req->db, v);
	db_rollback(req->db);
	return e;
}

/*
 * Adds to o who still has to sign ("need": "subject", "legal_rep") and
 * until when, and a recovery's new serial once issued.  Returns 0, or -1
 * without memory.
 */
static int
pub_view_extra(const struct pub_view *v, json_t *o)
{
	json_t	*need;
	char	 until[32];

	if ((need = json_array()) == NULL ||
	    json_object_set_new(o, "need", need) != 0)
		return -1;
	if ((v->r.need & REL_SUBJECT) != 0 &&
	    json_array_append_new(need, json_string("subject")) != 0)
		return -1;
	if ((v->r.need & REL_LEGAL_REP) != 0 &&
	    json_array_append_new(need, json_string("legal_rep")) != 0)
		return -1;
	if (v->r.state == RS_AWAITING_APPROVAL &&
	    v->r.approval_expires_at != 0) {
		rp_time_format(v->r.approval_expires_at, until);
		if (json_object_set_new(o, "approval_expires_at",
		    json_string(until)) != 0)
			return -1;
	}
	if (v->new_serial[0] != '\0' && json_object_set_new(o, "new_serial",
	    json_string(v->new_serial)) != 0)
		return -1;
	return 0;
}

/*
 * Returns request v as the API shows it (a new reference), or NULL
 * without memory: request_id, action, serial (the first certificate's),
 * state, reason, received_at, due_at, completed_at (null until then),
 * approvals; and for a token request token and serials.
 */
static json_t *
pub_view_json(const struct pub_view *v)
{
	json_t	*o, *serials;
	char	 recv[32], due[32], done[32];
	size_t	 i;

	rp_time_format(v->r.received_at, recv);
	rp_time_format(v->r.due_at, due);
	rp_time_format(v->r.completed_at, done);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:O}",
	    "request_id", v->r.public_id,
	    "action", dom_action_name(v->r.action),
	    "serial", v->rows[0].serial,
	    "state", dom_state_name(v->r.state),
	    "reason", dom_reason_name(v->r.reason),
	    "received_at", recv,
	    "due_at", due,
	    "completed_at", v->r.completed_at != 0 ? done : NULL,
	    "approvals", v->approvals);
	if (o == NULL || pub_view_extra(v, o) != 0)
		goto fail;
	if (v->r.token == 0)
		return o;
	if ((serials = json_array()) == NULL ||
	    json_object_set_new(o, "serials", serials) != 0 ||
	    json_object_set_new(o, "token",
	    json_string(v->rows[0].token_label)) != 0)
		goto fail;
	for (i = 0; i < v->n; i++)
		if (json_array_append_new(serials,
		    json_string(v->rows[i].serial)) != 0)
			goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* GET /api/v1/requests/{id}: the request as JSON, 404 when unknown. */
enum rp_err
h_api_request_get(struct req *req)
{
	struct pub_view	 v;
	json_t		*o = NULL;
	enum rp_err	 e;

	if ((e = pub_view_load(req, &v)) == RP_OK) {
		if ((o = pub_view_json(&v)) == NULL)
			e = RP_ERR_NOMEM;
		else
			e = resp_json(&req->resp, 200, o);
	}
	json_decref(o);
	pub_view_free(&v);
	return e;
}

/*
 * What the state of request r means, for people: a short name, and a
 * sentence; completed depends on the action, and on whether it was one
 * certificate or a whole card (r->token).
 */
static void
pub_state_words(const struct request *r, const char **name,
    const char **detail)
{
	int	 many = r->token != 0;

	switch (r->state) {
	case RS_AWAITING_APPROVAL:
		*name = "Waiting for signatures";
		if (r->need == REL_LEGAL_REP)
			*detail = "The request waits for the signature of a "
			    "legal representative of the organisation before "
			    "it is sent to the CA.";
		else if (r->need == REL_SUBJECT)
			*detail = "The request waits for the signature of the "
			    "person named in the certificate before it is "
			    "sent to the CA.";
		else
			*detail = "The request waits for the signatures of the "
			    "person named in the certificate and of a legal "
			    "representative of the organisation before it is "
			    "sent to the CA.";
		break;
	case RS_QUEUED:
		*name = "Queued for the CA";
		*detail = "Your request was accepted and waits to be sent to the "
		    "certificate authority (CA).";
		break;
	case RS_RELAYED:
		*name = "With the CA";
		*detail = "The certificate authority has your request and is "
		    "carrying it out.";
		break;
	case RS_COMPLETED:
		*name = "Done";
		switch (r->action) {
		case ACT_SUSPEND:
			*detail = many ? "The card's certificates are "
			    "suspended: they no longer work for signing." :
			    "The certificate is suspended: it no longer "
			    "works for signing.";
			break;
		case ACT_REVOKE:
			*detail = many ? "The card's certificates are revoked "
			    "for good: they can never be used again." :
			    "The certificate is revoked for good: it can "
			    "never be used again.";
			break;
		case ACT_REACTIVATE:
			*detail = "The suspension is lifted: the certificate "
			    "works again.";
			break;
		default:
			*detail = "The certificate was recovered.";
			break;
		}
		break;
	case RS_REJECTED:
		*name = "Rejected";
		*detail = "The request was not carried out. Please call the "
		    "hotline if you need help.";
		break;
	case RS_EXPIRED:
		*name = "Expired";
		*detail = "The signatures it needed did not arrive in time; "
		    "nothing was changed.";
		break;
	default:
		*name = "Delayed";
		*detail = "Sending the request to the CA failed for now; our "
		    "staff are on it. If it is urgent, call the hotline.";
		break;
	}
}

/*
 * GET /requests/{id}: the status page.  It says what the state means,
 * shows the received, due and completed times, what comes next (how to
 * lift a suspension, the fees), and refreshes itself while the request
 * is still moving.
 */
enum rp_err
h_request_page(struct req *req)
{
	const struct policy	*p = &req->cfg->policy;
	struct pub_view		 v;
	json_t			*ctx = NULL;
	const char		*name, *detail, *act;
	enum rp_err		 e;
	int			 refresh = 0, fin;

	if ((e = pub_view_load(req, &v)) != RP_OK)
		goto out;
	pub_state_words(&v.r, &name, &detail);
	switch (v.r.state) {
	case RS_QUEUED:
	case RS_RELAYED:
		refresh = PUB_REFRESH_FAST;
		break;
	case RS_AWAITING_APPROVAL:
	case RS_FAILED:
		refresh = PUB_REFRESH_SLOW;
		break;
	default:
		break;
	}
	fin = v.r.state == RS_COMPLETED;
	switch (v.r.action) {
	case ACT_SUSPEND:
		act = "Suspension";
		break;
	case ACT_REVOKE:
		act = "Revocation";
		break;
	case ACT_REACTIVATE:
		act = "Reactivation";
		break;
	default:
		act = "Recovery";
		break;
	}
	if ((ctx = pub_view_json(&v)) == NULL ||
	    json_object_update_new(ctx, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:I, s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:b, s:b}",
	    "title", "Your request",
	    "action_words", act,
	    "state_name", name,
	    "state_detail", detail,
	    "reason_words", dom_reason_words(v.r.reason),
	    "refresh", (json_int_t)refresh,
	    "is_suspend", v.r.action == ACT_SUSPEND,
	    "is_revoke", v.r.action == ACT_REVOKE,
	    "suspended", fin && v.r.action == ACT_SUSPEND,
	    "fee_reactivate", p->fee[ACT_REACTIVATE],
	    "fee_revoke", p->fee[ACT_REVOKE],
	    "suspend_end_revoke", p->suspend_end_action == ACT_REVOKE,
	    "suspend_days", (json_int_t)p->suspend_max_days,
	    "done", fin,
	    "is_token", v.r.token != 0)) != 0) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	e = resp_html(req, 200, TMPL_REQUEST, ctx);
out:
	json_decref(ctx);
	pub_view_free(&v);
	return e;
}
