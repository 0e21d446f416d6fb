/*
 * The hotline console (/agent/) and the officer queue (/officer/).
 *
 * Every handler first maps the client certificate to a staff account with
 * the role of its pages (staff_auth()); a refusal is the staff_denied page
 * with 403.  The agent finds a certificate, checks the caller's
 * passphrase (pf_check(), which counts toward the same lockout as the
 * online form; the checks of one agent are rate-limited), and acts with
 * the proof of that check (a "verified" token bound to the agent, the
 * target, the passphrase and one action form, see staff.c) through
 * lc_create() on the hotline channel: one check, one request.  The
 * officer watches the queue and retries or rejects requests through
 * lc_transition().  Every step is audited with the staff account
 * ("staff:<name>#<id>"): the searches, views and checks here, the
 * requests in lifecycle.c.
 *
 * Only POST changes anything, and the router has checked the CSRF token
 * of every POST before a handler runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "extern.h"

#define HS_QUERY_MIN	2u	/* bytes of a search, at least */
#define HS_RESULTS_MAX	50	/* search results shown */
#define HS_HISTORY_MAX	50	/* requests of a certificate shown */
#define HS_TRAIL_MAX	100u	/* audit entries shown: the newest */
#define HS_VIEWS_MAX	20u	/* views of a request shown: newest */
#define HS_CERT_TRAIL_MAX 10u	/* a request's entries per certificate */
#define HS_CHECKS_MAX	10u	/* passphrase checks before a request */
#define HS_DETAILS_MAX	600u	/* bytes of one audit entry's details shown */
#define HS_QUEUE_MAX	200	/* requests of the queue shown */
#define HS_REFRESH	5	/* seconds between refreshes of a page */
#define HS_LIKE_MAX	(2u * 200u + 3u) /* a pattern of FIELD_Q's 200 bytes */

/* People's words for the reasons an agent may record. */
static const struct {
	enum crl_reason	 reason;
	const char	*label;
} hs_reasons[] = {
	{ REASON_UNSPECIFIED, "No reason given" },
	{ REASON_KEY_COMPROMISE, "Card or key lost or stolen; the PIN or key "
	    "may be known to others" },
	{ REASON_AFFILIATION_CHANGED, "Left the organisation, or data in the "
	    "certificate changed" },
	{ REASON_SUPERSEDED, "Replaced by a new certificate; card blocked or "
	    "broken" },
	{ REASON_CESSATION, "No longer needed; organisation ceased" },
	{ REASON_PRIVILEGE_WITHDRAWN, "Privilege withdrawn (staff only)" },
};

#define HS_REASONS_N	(sizeof(hs_reasons) / sizeof(hs_reasons[0]))

/* The two things an agent may do, in the order offered. */
static const struct {
	enum action	 action;
	const char	*label;
} hs_actions[] = {
	{ ACT_SUSPEND, "Suspend: a temporary hold, lifted with a signed "
	    "reactivation request" },
	{ ACT_REVOKE, "Revoke: permanent, cannot be undone" },
};

#define HS_ACTIONS_N	(sizeof(hs_actions) / sizeof(hs_actions[0]))

/*
 * Renders the staff_denied page with 403.  Returns RP_OK, or the
 * renderer's error.
 */
static enum rp_err
hs_denied(struct req *req)
{
	json_t		*ctx;
	enum rp_err	 e;

	if ((ctx = json_pack("{s:s}", "title", "Access denied")) == NULL)
		return RP_ERR_NOMEM;
	e = resp_html(req, 403, TMPL_STAFF_DENIED, ctx);
	json_decref(ctx);
	return e;
}

/*
 * Authenticates the staff member for a page of role into w.  Returns
 * RP_OK with *done 0 to go on; RP_OK with *done 1 when the refusal page
 * is in req->resp (the handler returns at once); or an error.
 */
static enum rp_err
hs_auth(struct req *req, unsigned int role, struct staff_who *w, int *done)
{
	enum rp_err	 e;

	*done = 0;
	if ((e = staff_auth(req, role, w)) != RP_ERR_FORBIDDEN)
		return e;
	*done = 1;
	memset(&req->err, 0, sizeof(req->err));
	return hs_denied(req);
}

/*
 * Returns a new JSON string of ms as "2026-11-21 22:40:50 UTC", or
 * JSON null for 0 (no time); NULL without memory.
 */
static json_t *
hs_time(int64_t ms)
{
	char	 t[32], out[40];
	int	 n;

	if (ms == 0)
		return json_null();
	rp_time_format(ms, t);
	/* "2026-11-21T22:40:50.123Z": date, time, no fraction. */
	if (strlen(t) < 19)
		return json_string(t);
	t[10] = ' ';
	t[19] = '\0';
	n = snprintf(out, sizeof(out), "%s UTC", t);
	if (n < 0 || (size_t)n >= sizeof(out))
		return json_string(t);
	return json_string(out);
}

/*
 * Returns a new JSON string of s shown to staff, or JSON null for NULL:
 * at most max bytes (cut at a character boundary, "…" added), and text
 * that is not visible (invalid UTF-8, controls, bidi) with every byte
 * outside printable ASCII as '?'.  s comes from the database but may
 * hold what a CA or an importer wrote.  NULL without memory.
 */
static json_t *
hs_text(const char *s, size_t max)
{
	char	*c;
	json_t	*v;
	size_t	 len, i;
	int	 cut = 0;

	if (s == NULL)
		return json_null();
	len = strlen(s);
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		cut = 1;
	}
	if ((c = malloc(len + 4)) == NULL)
		return NULL;
	memcpy(c, s, len);
	c[len] = '\0';
	if (!rp_text_visible(c, len))
		for (i = 0; i < len; i++)
			if ((unsigned char)c[i] < 0x20 ||
			    (unsigned char)c[i] > 0x7e)
				c[i] = '?';
	if (cut)
		memcpy(c + len, "\xe2\x80\xa6", 4);
	v = json_string(c);
	free(c);
	return v;
}

/*
 * Sets key of o to v (a new reference, consumed; NULL means out of
 * memory).  Returns RP_OK or RP_ERR_NOMEM.
 */
static enum rp_err
hs_set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		return RP_ERR_NOMEM;
	return RP_OK;
}

/*
 * Sets key of o to the array a and "have_<key>" to whether a has any
 * element.  a is consumed, on failure too.  Returns RP_OK, RP_ERR_NOMEM,
 * or RP_ERR_INTERNAL for a key too long.
 */
static enum rp_err
hs_set_list(json_t *o, const char *key, json_t *a)
{
	char		 have[32];
	enum rp_err	 e;
	int		 n;

	n = snprintf(have, sizeof(have), "have_%s", key);
	if (n < 0 || (size_t)n >= sizeof(have)) {
		json_decref(a);
		return RP_ERR_INTERNAL;
	}
	if ((e = hs_set(o, have, json_boolean(json_array_size(a) > 0))) !=
	    RP_OK) {
		json_decref(a);
		return e;
	}
	return hs_set(o, key, a);
}

/*
 * Ends q, whose rows filled the array a, and sets a as key of ctx with
 * hs_set_list().  a is consumed.  A failed statement is recorded as
 * "cannot read <what>".  Returns RP_OK or the error.
 */
static enum rp_err
hs_list_end(struct req *req, struct dbq *q, json_t *ctx, const char *key,
    json_t *a, const char *what)
{
	enum rp_err	 e;

	if ((e = dbq_end(q)) != RP_OK) {
		json_decref(a);
		return rp_fail(&req->err, e, "db", "cannot read %s", what);
	}
	return hs_set_list(ctx, key, a);
}

/*
 * Returns the context every staff page starts with: title, the staff
 * member's name, and a CSRF token for its forms when csrf is set.  NULL
 * with *e set on failure.  The caller releases it.
 */
static json_t *
hs_ctx(struct req *req, const struct staff_who *w, const char *title,
    int csrf, enum rp_err *e)
{
	char	 tok[CSRF_TOKEN_MAX + 1];
	json_t	*ctx;

	tok[0] = '\0';
	if (csrf && (*e = resp_csrf_token(req, tok, sizeof(tok))) != RP_OK)
		return NULL;
	if ((ctx = json_pack("{s:s, s:s, s:s}", "title", title,
	    "staff_name", w->name, "csrf", tok)) == NULL)
		*e = RP_ERR_NOMEM;
	return ctx;
}

/*
 * Writes one audit entry of staff member w in a transaction of its own
 * (details borrowed, may be NULL).  Returns RP_OK or the error, with
 * req->err filled: a staff step that cannot be audited is not done.
 */
static enum rp_err
hs_audit(struct req *req, const struct staff_who *w, const char *action,
    const char *subject, const json_t *details)
{
	enum rp_err	 e;

	if ((e = db_begin(req->db)) != RP_OK)
		return rp_fail(&req->err, e, "db_busy", "the database is busy");
	if ((e = audit_append(req->db, rp_now_ms(), w->actor, action,
	    subject, details, &req->err)) != RP_OK) {
		db_rollback(req->db);
		return e;
	}
	if ((e = db_commit(req->db)) != RP_OK)
		return rp_fail(&req->err, e, "db_commit",
		    "cannot write the audit log");
	return RP_OK;
}

/*
 * Parses s as a row id: 1 to 18 decimal digits without a leading zero.
 * Returns 1 with *id set, else 0.
 */
UNITTEST int
hs_row_id(const char *s, int64_t *id)
{
	int64_t	 v = 0;
	size_t	 i;

	*id = 0;
	if (s == NULL || s[0] < '1' || s[0] > '9')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == 18 || s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*id = v;
	return 1;
}

/*
 * Writes the LIKE pattern "%<q>%" for q[0..len) into out (outsz bytes),
 * with '!', '%' and '_' of q escaped by '!' (the ESCAPE character of
 * DB_STAFF_SEARCH), so q matches itself as a substring and nothing
 * else.  Returns 0, or -1 when out is too small.
 */
UNITTEST int
hs_like_pattern(const char *q, size_t len, char *out, size_t outsz)
{
	size_t	 i, o = 0;

	if (outsz < 3 || len > (outsz - 3) / 2)
		return -1;
	out[o++] = '%';
	for (i = 0; i < len; i++) {
		if (q[i] == '!' || q[i] == '%' || q[i] == '_')
			out[o++] = '!';
		out[o++] = q[i];
	}
	out[o++] = '%';
	out[o] = '\0';
	return 0;
}

/*
 * Returns q[0..*len) without leading and trailing blanks (space, tab),
 * adjusting *len.
 */
static const char *
hs_trim(const char *q, size_t *len)
{
	while (*len > 0 && (q[0] == ' ' || q[0] == '\t')) {
		q++;
		(*len)--;
	}
	while (*len > 0 && (q[*len - 1] == ' ' || q[*len - 1] == '\t' ||
	    q[*len - 1] == '\r' || q[*len - 1] == '\n'))
		(*len)--;
	return q;
}

/*
 * Reads the row in hand of DB_STAFF_SEARCH or DB_STAFF_CERT into a new
 * JSON object (every key present, null where the registry has nothing):
 * id, serial, type, status, issuer, token, org_id, org_name, person_id,
 * person_name, email.  NULL without memory.
 */
static json_t *
hs_cert_json(const struct dbq *q)
{
	return json_pack("{s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, "
	    "s:s?, s:s?, s:s?}",
	    "id", (json_int_t)dbq_col_int(q, 0),
	    "serial", dbq_col_text(q, 1),
	    "type", dbq_col_text(q, 2),
	    "status", dbq_col_text(q, 3),
	    "issuer", dbq_col_text(q, 4),
	    "token", dbq_col_text(q, 5),
	    "org_id", dbq_col_text(q, 6),
	    "org_name", dbq_col_text(q, 7),
	    "person_id", dbq_col_text(q, 8),
	    "person_name", dbq_col_text(q, 9),
	    "email", dbq_col_text(q, 10));
}

/*
 * Searches the registry for q[0..len): the certificate whose serial it
 * is (in any hex form), and every certificate whose person's name,
 * e-mail or identifier, organisation's name or identifier, or token
 * label contains it.  Sets results (a new array, at most
 * HS_RESULTS_MAX) and *more when there were more.  Returns RP_OK or an
 * error.
 */
static enum rp_err
hs_search(struct req *req, const char *q, size_t len, json_t **results,
    int *more)
{
	struct dbq	 dq;
	char		 serial[RP_SERIAL_MAX], like[HS_LIKE_MAX];
	json_t		*row;
	enum rp_err	 e;

	*more = 0;
	if ((*results = json_array()) == NULL)
		return RP_ERR_NOMEM;
	if (hs_like_pattern(q, len, like, sizeof(like)) == -1)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_query",
		    "The search is too long.");
	dbq_start(&dq, req->db, DB_STAFF_SEARCH);
	if (x509_serial_norm(q, len, serial) == RP_OK)
		dbq_text(&dq, serial);
	else
		dbq_null(&dq);
	dbq_text(&dq, like);
	dbq_int(&dq, HS_RESULTS_MAX + 1);
	while (dbq_step(&dq)) {
		if (json_array_size(*results) == HS_RESULTS_MAX) {
			*more = 1;
			break;
		}
		if ((row = hs_cert_json(&dq)) == NULL ||
		    json_array_append_new(*results, row) != 0) {
			dq.err = RP_ERR_NOMEM;
			break;
		}
	}
	if ((e = dbq_end(&dq)) != RP_OK)
		return rp_fail(&req->err, e, "db", "cannot search");
	return RP_OK;
}

/*
 * GET /agent/?q=: the search form and, with q, the certificates that
 * match, the search audited as agent.search.
 */
enum rp_err
h_agent(struct req *req)
{
	const struct param	*p = &req->in.f[FIELD_Q];
	struct staff_who	 w;
	json_t			*ctx = NULL, *res = NULL, *d = NULL;
	const char		*q = "";
	char			 subject[80];
	size_t			 len = 0;
	enum rp_err		 e;
	int			 done, more = 0, n;

	if ((e = hs_auth(req, ROLE_AGENT, &w, &done)) != RP_OK || done)
		return e;
	if (p->set) {
		len = p->len;
		q = hs_trim(p->val, &len);
	}
	if ((ctx = hs_ctx(req, &w, "Hotline console", 0, &e)) == NULL)
		goto out;
	if ((e = hs_set(ctx, "q", json_stringn(q, len))) != RP_OK)
		goto out;
	if (len == 0)
		goto render;
	if ((e = hs_set(ctx, "searched", json_true())) != RP_OK)
		goto out;
	if (len < HS_QUERY_MIN) {
		e = hs_set(ctx, "search_error", json_sprintf("Type at least "
		    "%u characters.", HS_QUERY_MIN));
		if (e != RP_OK)
			goto out;
		goto render;
	}
	if ((e = hs_search(req, q, len, &res, &more)) != RP_OK)
		goto out;
	n = snprintf(subject, sizeof(subject), "staff:%s", w.sha256);
	if (n < 0 || (size_t)n >= sizeof(subject)) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	if ((d = json_pack("{s:s%, s:I, s:b}", "q", q, len, "results",
	    (json_int_t)json_array_size(res), "more", more)) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if ((e = hs_audit(req, &w, "agent.search", subject, d)) != RP_OK)
		goto out;
	if ((e = hs_set(ctx, "result_count",
	    json_integer((json_int_t)json_array_size(res)))) != RP_OK ||
	    (e = hs_set(ctx, "more", json_boolean(more))) != RP_OK)
		goto out;
	e = hs_set_list(ctx, "results", res);
	res = NULL;
	if (e != RP_OK)
		goto out;
render:
	e = resp_html(req, 200, TMPL_AGENT, ctx);
out:
	json_decref(d);
	json_decref(res);
	json_decref(ctx);
	return e;
}

/*
 * Reads certificate id: the registry's row into c and the shown facts
 * (names and identifiers) into a new object *o.  Returns RP_OK;
 * RP_ERR_NOT_FOUND (req->err filled); another error.
 */
static enum rp_err
hs_cert_load(struct req *req, int64_t id, struct cert_row *c, json_t **o)
{
	struct dbq	 q;
	enum rp_err	 e;

	*o = NULL;
	if ((e = reg_cert_get(req->db, id, c)) == RP_ERR_NOT_FOUND)
		return rp_fail(&req->err, e, "unknown_certificate",
		    "There is no such certificate.");
	if (e != RP_OK)
		return rp_fail(&req->err, e, "db", "cannot read the "
		    "certificate");
	dbq_start(&q, req->db, DB_STAFF_CERT);
	dbq_int(&q, id);
	if (dbq_step(&q) && (*o = hs_cert_json(&q)) == NULL)
		q.err = RP_ERR_NOMEM;
	if ((e = dbq_end(&q)) == RP_OK && *o == NULL)
		e = RP_ERR_INTERNAL;	/* it was there a moment ago */
	if (e != RP_OK) {
		json_decref(*o);
		*o = NULL;
		return rp_fail(&req->err, e, "db", "cannot read the "
		    "certificate");
	}
	if ((e = hs_set(*o, "not_before", hs_time(c->not_before))) !=
	    RP_OK ||
	    (e = hs_set(*o, "not_after", hs_time(c->not_after))) != RP_OK ||
	    (e = hs_set(*o, "suspended_until",
	    hs_time(c->status == CS_SUSPENDED ? c->suspended_until : 0))) !=
	    RP_OK ||
	    (e = hs_set(*o, "qscd", json_boolean(c->qscd))) != RP_OK) {
		json_decref(*o);
		*o = NULL;
	}
	return e;
}

/* The state of an audit trail being collected. */
struct hs_trail {
	json_t		*rows;
	const char	*issuer;	/* keep only entries of this issuer */
	int		 nomem;
};

/*
 * Adds entry e to the trail's rows (seq, at, actor, action, subject,
 * details; the texts made fit to show).  An entry whose details name
 * another issuer than t->issuer is about another certificate with the
 * same serial and is left out.  Returns 0, or 1 (t->nomem set) without
 * memory.
 */
static int
hs_trail_row(struct hs_trail *t, const struct audit_entry *e)
{
	json_t		*d, *iss, *row;
	int		 other = 0;

	if (t->issuer != NULL &&
	    (d = json_loads(e->details, 0, NULL)) != NULL) {
		iss = json_object_get(d, "issuer");
		other = json_is_string(iss) &&
		    strcmp(json_string_value(iss), t->issuer) != 0;
		json_decref(d);
	}
	if (other)
		return 0;
	if ((row = json_pack("{s:I, s:o, s:o, s:s, s:o, s:o}",
	    "seq", (json_int_t)e->seq, "at", hs_time(e->at),
	    "actor", hs_text(e->actor, RP_TEXT_MAX), "action", e->action,
	    "subject", hs_text(e->subject, RP_TEXT_MAX),
	    "details", hs_text(e->details, HS_DETAILS_MAX))) == NULL ||
	    json_array_append_new(t->rows, row) != 0) {
		t->nomem = 1;
		return 1;
	}
	return 0;
}

/*
 * audit_each() callback: adds entry e to the trail, dropping the oldest
 * beyond HS_TRAIL_MAX.  Returns 0 to go on, 1 to stop (out of memory).
 */
static int
hs_trail_add(void *arg, const struct audit_entry *e)
{
	struct hs_trail	*t = arg;

	if (hs_trail_row(t, e) != 0)
		return 1;
	if (json_array_size(t->rows) > HS_TRAIL_MAX &&
	    json_array_remove(t->rows, 0) != 0) {
		t->nomem = 1;
		return 1;
	}
	return 0;
}

/*
 * Sets key ("trail") and "have_<key>" of ctx to the audit entries of
 * subject (only those of issuer when not NULL), the newest
 * HS_TRAIL_MAX.
 */
static enum rp_err
hs_trail(struct req *req, json_t *ctx, const char *key, const char *subject,
    const char *issuer)
{
	struct hs_trail	 t;
	enum rp_err	 e;

	t.issuer = issuer;
	t.nomem = 0;
	if ((t.rows = json_array()) == NULL)
		return RP_ERR_NOMEM;
	e = audit_each(req->db, subject, hs_trail_add, &t);
	if (e == RP_OK && t.nomem)
		e = RP_ERR_NOMEM;
	if (e != RP_OK) {
		json_decref(t.rows);
		return rp_fail(&req->err, e, "db", "cannot read the audit log");
	}
	return hs_set_list(ctx, key, t.rows);
}

/*
 * Sets key of ctx to the state of the passphrase of certificate or
 * token id (statement s: DB_PASS_OF_CERT or DB_PASS_OF_TOKEN): null when
 * there is none, else failures and when it was locked (null if not).
 * The hash is never read out.
 */
static enum rp_err
hs_pass_state(struct req *req, json_t *ctx, const char *key,
    enum db_stmt s, int64_t id)
{
	struct dbq	 q;
	json_t		*v = NULL;
	enum rp_err	 e;

	if (id == 0)
		return hs_set(ctx, key, json_null());
	dbq_start(&q, req->db, s);
	dbq_int(&q, id);
	if (dbq_step(&q) && (v = json_pack("{s:I, s:o}", "failures",
	    (json_int_t)dbq_col_int(&q, 2), "locked_at",
	    hs_time(dbq_col_null(&q, 3) ? 0 : dbq_col_int(&q, 3)))) == NULL)
		q.err = RP_ERR_NOMEM;
	if ((e = dbq_end(&q)) != RP_OK) {
		json_decref(v);
		return rp_fail(&req->err, e, "db", "cannot read passphrases");
	}
	return hs_set(ctx, key, v != NULL ? v : json_null());
}

/*
 * Returns a new object with the shown facts of cert_row c, for lists:
 * id, serial, type, status, issuer.  NULL without memory.
 */
static json_t *
hs_row_json(const struct cert_row *c)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)c->id,
	    "serial", c->serial, "type", dom_type_name(c->type),
	    "status", dom_status_name(c->status), "issuer", c->issuer);
}

/*
 * Sets "others" and "have_others" of ctx to the other certificates on
 * the token of c.
 */
static enum rp_err
hs_token_others(struct req *req, json_t *ctx, const struct cert_row *c)
{
	struct cert_row	*rows = NULL;
	json_t		*a = NULL;
	size_t		 i, n = 0;
	enum rp_err	 e;

	if ((a = json_array()) == NULL)
		return RP_ERR_NOMEM;
	if (c->token != 0) {
		if ((rows = calloc(RP_TOKEN_CERTS_MAX, sizeof(*rows))) ==
		    NULL) {
			e = RP_ERR_NOMEM;
			goto out;
		}
		if ((e = reg_token_certs(req->db, c->token_label, rows,
		    RP_TOKEN_CERTS_MAX, &n, &req->err)) != RP_OK)
			goto out;
		for (i = 0; i < n; i++)
			if (rows[i].id != c->id &&
			    json_array_append_new(a, hs_row_json(&rows[i])) !=
			    0) {
				e = RP_ERR_NOMEM;
				goto out;
			}
	}
	e = hs_set_list(ctx, "others", a);
	a = NULL;
out:
	free(rows);
	json_decref(a);
	return e;
}

/*
 * Sets "history" and "have_history" of ctx to the requests of
 * certificate id, newest first.
 */
static enum rp_err
hs_history(struct req *req, json_t *ctx, int64_t id)
{
	struct dbq	 q;
	json_t		*a, *row;

	if ((a = json_array()) == NULL)
		return RP_ERR_NOMEM;
	dbq_start(&q, req->db, DB_STAFF_CERT_REQS);
	dbq_int(&q, id);
	dbq_int(&q, HS_HISTORY_MAX);
	while (dbq_step(&q)) {
		row = json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:o, "
		    "s:o}",
		    "public_id", dbq_col_text(&q, 0),
		    "action", dbq_col_text(&q, 1),
		    "state", dbq_col_text(&q, 2),
		    "channel", dbq_col_text(&q, 3),
		    "requester", hs_text(dbq_col_text(&q, 4), RP_TEXT_MAX),
		    "received_at", hs_time(dbq_col_int(&q, 5)),
		    "completed_at", hs_time(dbq_col_int(&q, 6)),
		    "call_reference", hs_text(dbq_col_text(&q, 7),
		    RP_LABEL_MAX));
		if (row == NULL || json_array_append_new(a, row) != 0) {
			q.err = RP_ERR_NOMEM;
			break;
		}
	}
	return hs_list_end(req, &q, ctx, "history", a, "requests");
}

/*
 * Renders the certificate page of c (facts o, borrowed) for agent w
 * with status, and verify_error (may be NULL) above the verify form.
 */
static enum rp_err
hs_cert_page(struct req *req, const struct staff_who *w,
    const struct cert_row *c, json_t *o, int status, const char *verify_error)
{
	json_t		*ctx;
	char		 subject[16 + RP_SERIAL_MAX];
	char		 tsubject[16 + RP_LABEL_MAX];
	enum rp_err	 e;
	int		 n;

	if ((ctx = hs_ctx(req, w, "Certificate", 1, &e)) == NULL)
		return e;
	n = snprintf(subject, sizeof(subject), "certificate:%s", c->serial);
	if (n < 0 || (size_t)n >= sizeof(subject)) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	n = snprintf(tsubject, sizeof(tsubject), "token:%s", c->token_label);
	if (n < 0 || (size_t)n >= sizeof(tsubject)) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	if ((e = hs_set(ctx, "cert", json_incref(o))) != RP_OK ||
	    (e = hs_set(ctx, "max_failures",
	    json_integer(req->cfg->policy.max_failures))) != RP_OK ||
	    (verify_error != NULL && (e = hs_set(ctx, "verify_error",
	    json_string(verify_error))) != RP_OK) ||
	    (e = hs_pass_state(req, ctx, "pass_cert", DB_PASS_OF_CERT,
	    c->id)) != RP_OK ||
	    (e = hs_pass_state(req, ctx, "pass_token", DB_PASS_OF_TOKEN,
	    c->token)) != RP_OK ||
	    (e = hs_token_others(req, ctx, c)) != RP_OK ||
	    (e = hs_history(req, ctx, c->id)) != RP_OK ||
	    (e = hs_trail(req, ctx, "trail", subject, c->issuer)) != RP_OK ||
	    (c->token != 0 && (e = hs_trail(req, ctx, "token_trail",
	    tsubject, NULL)) != RP_OK))
		goto out;
	e = resp_html(req, status, TMPL_AGENT_CERT, ctx);
out:
	json_decref(ctx);
	return e;
}

/*
 * Audits step action (agent.view, agent.verify) of agent w on
 * certificate c, with the issuer and extra details (a new reference,
 * consumed; may be NULL).
 */
static enum rp_err
hs_audit_cert(struct req *req, const struct staff_who *w, const char *action,
    const struct cert_row *c, json_t *extra)
{
	char		 subject[16 + RP_SERIAL_MAX];
	json_t		*d;
	enum rp_err	 e;
	int		 n;

	n = snprintf(subject, sizeof(subject), "certificate:%s", c->serial);
	if (n < 0 || (size_t)n >= sizeof(subject)) {
		json_decref(extra);
		return RP_ERR_INTERNAL;
	}
	if ((d = json_pack("{s:s, s:I}", "issuer", c->issuer, "cert",
	    (json_int_t)c->id)) == NULL ||
	    (extra != NULL && json_object_update(d, extra) != 0)) {
		json_decref(d);
		json_decref(extra);
		return RP_ERR_NOMEM;
	}
	json_decref(extra);
	e = hs_audit(req, w, action, subject, d);
	json_decref(d);
	return e;
}

/*
 * GET /agent/certificates/{id}: the certificate, its token's other
 * certificates, its requests and audit entries, and the form that
 * checks the caller's passphrase; audited as agent.view.
 */
enum rp_err
h_agent_cert(struct req *req)
{
	struct staff_who	 w;
	struct cert_row		 c;
	json_t			*o = NULL;
	int64_t			 id;
	enum rp_err		 e;
	int			 done;

	if ((e = hs_auth(req, ROLE_AGENT, &w, &done)) != RP_OK || done)
		return e;
	if (!hs_row_id(req->arg, &id))
		return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found",
		    "There is no such certificate.");
	if ((e = hs_cert_load(req, id, &c, &o)) != RP_OK)
		return e;
	if ((e = hs_audit_cert(req, &w, "agent.view", &c, NULL)) == RP_OK)
		e = hs_cert_page(req, &w, &c, o, 200, NULL);
	json_decref(o);
	return e;
}

/*
 * Reads the scope field: "token" or, absent or "certificate", the one
 * certificate.
 */
static enum staff_scope
hs_scope(const struct req *req)
{
	const struct param	*p = &req->in.f[FIELD_SCOPE];

	return p->set && strcmp(p->val, "token") == 0 ? STAFF_SCOPE_TOKEN :
	    STAFF_SCOPE_CERT;
}

/*
 * Reads the certificate named by the cert field into c and its facts
 * into *o, checking that it can be the target of scope.  Returns RP_OK,
 * or RP_ERR_BAD_INPUT, RP_ERR_NOT_FOUND, another error (req->err
 * filled).
 */
static enum rp_err
hs_form_cert(struct req *req, enum staff_scope scope, struct cert_row *c,
    json_t **o)
{
	const struct param	*p = &req->in.f[FIELD_CERT];
	int64_t			 id;
	enum rp_err		 e;

	*o = NULL;
	memset(c, 0, sizeof(*c));
	if (!p->set || !hs_row_id(p->val, &id))
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "no_certificate",
		    "The form names no certificate. Go back to the search "
		    "and open the certificate again.");
	if ((e = hs_cert_load(req, id, c, o)) != RP_OK)
		return e;
	if (scope == STAFF_SCOPE_TOKEN && c->token == 0) {
		json_decref(*o);
		*o = NULL;
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "no_token",
		    "This certificate is on no token: act on the certificate "
		    "alone.");
	}
	return RP_OK;
}

/*
 * Returns 1 when the policy lets an agent do action with reason on c at
 * now on the caller's passphrase, else 0.
 */
static int
hs_allowed(const struct policy *pol, const struct cert_row *c,
    enum action action, enum crl_reason reason, int64_t now)
{
	struct policy_query	 q;
	struct policy_decision	 d;

	memset(&q, 0, sizeof(q));
	q.action = action;
	q.cert.type = c->type;
	q.cert.status = c->status;
	q.cert.not_before = c->not_before;
	q.cert.not_after = c->not_after;
	q.cert.term_years = c->term_years;
	q.cert.qscd = c->qscd;
	q.channel = CH_HOTLINE;
	q.auth = AUTH_PASSPHRASE;
	q.relation = REL_SUBJECT;
	q.roles = ROLE_AGENT;
	q.reason = reason;
	q.now = now;
	return policy_decide(pol, &q, &d) == POL_ALLOW;
}

/* What the action form shows besides the certificate. */
struct hs_act {
	const char	*verified;	/* the verified token */
	const char	*form_id;
	int64_t		 issued;	/* when the check was made, s */
	enum action	 action;	/* ACT__MAX: none chosen */
	enum crl_reason	 reason;
	const char	*call_reference;
	const char	*caller_name;
	const char	*notes;
	const char	*error;		/* NULL: none */
};

/*
 * Fills the "actions" and "reasons" of act with what the policy lets an
 * agent do on the targets (rows[0..n)): an action or a reason is
 * offered when it is allowed for at least one of them.  Also sets
 * "revoke_hint", "have_actions" and "suspend_only".
 */
static enum rp_err
hs_offer(struct req *req, json_t *act, const struct cert_row *rows,
    size_t n, const struct hs_act *a)
{
	const struct policy	*pol = &req->cfg->policy;
	json_t			*acts, *reasons, *v;
	int64_t			 now = rp_now_ms();
	struct buf		 hint;
	unsigned int		 offered = 0;
	size_t			 i, k, r;
	int			 ok, narrow = 0;
	enum rp_err		 e = RP_ERR_NOMEM;

	buf_init(&hint, 2048);
	acts = json_array();
	reasons = json_array();
	if (acts == NULL || reasons == NULL)
		goto out;
	for (k = 0; k < HS_ACTIONS_N; k++) {
		for (ok = 0, i = 0; i < n && !ok; i++)
			for (r = 0; r < HS_REASONS_N && !ok; r++)
				ok = hs_allowed(pol, &rows[i],
				    hs_actions[k].action, hs_reasons[r].reason,
				    now);
		if (!ok)
			continue;
		offered |= 1u << hs_actions[k].action;
		v = json_pack("{s:s, s:s, s:b}",
		    "value", dom_action_name(hs_actions[k].action),
		    "label", hs_actions[k].label,
		    "checked", a->action == hs_actions[k].action);
		if (v == NULL || json_array_append_new(acts, v) != 0)
			goto out;
	}
	for (r = 0; r < HS_REASONS_N; r++) {
		for (ok = 0, k = 0; k < HS_ACTIONS_N && !ok; k++)
			for (i = 0; i < n && !ok; i++)
				ok = (offered & 1u << hs_actions[k].action) &&
				    hs_allowed(pol, &rows[i],
				    hs_actions[k].action, hs_reasons[r].reason,
				    now);
		if (!ok)
			continue;
		v = json_pack("{s:s, s:s, s:b}",
		    "value", dom_reason_name(hs_reasons[r].reason),
		    "label", hs_reasons[r].label,
		    "selected", a->reason == hs_reasons[r].reason);
		if (v == NULL || json_array_append_new(reasons, v) != 0)
			goto out;
		/* The reasons a revocation takes, when fewer. */
		for (ok = 0, i = 0; i < n && !ok; i++)
			ok = hs_allowed(pol, &rows[i], ACT_REVOKE,
			    hs_reasons[r].reason, now);
		if (!ok) {
			narrow = 1;
			continue;
		}
		/* Each label in curly quotes (U+201C, U+201D). */
		if (buf_addf(&hint, "%s\xe2\x80\x9c%s\xe2\x80\x9d",
		    hint.len > 0 ? ", " : "", hs_reasons[r].label) != RP_OK)
			goto out;
	}
	if ((offered & 1u << ACT_REVOKE) && narrow && hint.len > 0 &&
	    (e = hs_set(act, "revoke_hint", json_stringn(hint.p,
	    hint.len))) != RP_OK)
		goto out;
	/* "A telephone call only suspends" tells the agent to suspend: said
	 * only where suspending is offered (not for a TLS certificate). */
	if ((e = hs_set(act, "suspend_only",
	    json_boolean(pol->hotline_action == ACT_SUSPEND &&
	    (offered & 1u << ACT_SUSPEND)))) != RP_OK)
		goto out;
	e = hs_set_list(act, "actions", acts);
	acts = NULL;
	if (e != RP_OK)
		goto out;
	e = hs_set(act, "reasons", reasons);
	reasons = NULL;
out:
	buf_free(&hint);
	json_decref(acts);
	json_decref(reasons);
	return e;
}

/*
 * Renders the action form for agent w on certificate c in scope, with
 * the values of a, with status.
 */
static enum rp_err
hs_act_page(struct req *req, const struct staff_who *w,
    const struct cert_row *c, enum staff_scope scope,
    const struct hs_act *a, int status)
{
	struct cert_row	*rows = NULL;
	json_t		*ctx = NULL, *act = NULL, *targets = NULL;
	size_t		 i, n = 1;
	enum rp_err	 e;

	if ((ctx = hs_ctx(req, w, "Act for the caller", 1, &e)) == NULL)
		goto out;
	if ((rows = calloc(RP_TOKEN_CERTS_MAX, sizeof(*rows))) == NULL ||
	    (targets = json_array()) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if (scope == STAFF_SCOPE_TOKEN) {
		if ((e = reg_token_certs(req->db, c->token_label, rows,
		    RP_TOKEN_CERTS_MAX, &n, &req->err)) != RP_OK)
			goto out;
	} else
		rows[0] = *c;
	for (i = 0; i < n; i++)
		if (json_array_append_new(targets, hs_row_json(&rows[i])) !=
		    0) {
			e = RP_ERR_NOMEM;
			goto out;
		}
	if ((act = json_pack("{s:b, s:s, s:s, s:I, s:s, s:s, s:s, s:I, "
	    "s:o, s:s, s:s, s:s, s:s?}",
	    "token_scope", scope == STAFF_SCOPE_TOKEN,
	    "token", c->token_label,
	    "serial", c->serial,
	    "cert_id", (json_int_t)c->id,
	    "scope", scope == STAFF_SCOPE_TOKEN ? "token" : "certificate",
	    "verified", a->verified,
	    "form_id", a->form_id,
	    "valid_minutes", (json_int_t)(STAFF_VERIFIED_TTL / 60),
	    "valid_until", hs_time((a->issued + STAFF_VERIFIED_TTL) * 1000),
	    "call_reference", a->call_reference != NULL ?
	    a->call_reference : "",
	    "caller_name", a->caller_name != NULL ? a->caller_name : "",
	    "notes", a->notes != NULL ? a->notes : "",
	    "act_error", a->error)) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if ((e = hs_set(act, "targets", targets)) != RP_OK) {
		targets = NULL;
		goto out;
	}
	targets = NULL;
	if ((e = hs_offer(req, act, rows, n, a)) != RP_OK)
		goto out;
	e = hs_set(ctx, "act", act);
	act = NULL;
	if (e != RP_OK)
		goto out;
	e = resp_html(req, status, TMPL_AGENT_ACT, ctx);
out:
	free(rows);
	json_decref(targets);
	json_decref(act);
	json_decref(ctx);
	return e;
}

/*
 * POST /agent/verify: checks the passphrase the caller gave for the
 * certificate (or its whole token) with pf_check(), which counts a
 * wrong one toward the lockout and audits it; audited here as
 * agent.verify with the outcome (ok, failed, locked, or error when the
 * check itself failed).  The checks of one agent are rate-limited like
 * a client address's (pf_rate() on "staff:<id>"): over the limit, the
 * certificate page with 429 and Retry-After, nothing checked.  A wrong
 * or locked passphrase shows the certificate page again with 401 or
 * 423; a right one, the action form with a new form id and a verified
 * token bound to this agent, target, form and passphrase row.
 */
enum rp_err
h_agent_verify(struct req *req)
{
	const struct param	*pp = &req->in.f[FIELD_PASSPHRASE];
	struct staff_who	 w;
	struct cert_row		 c;
	struct pf_target	 t;
	struct rp_errinfo	 ei;
	struct staff_proof	 p;
	struct hs_act		 a;
	enum staff_scope	 scope;
	json_t			*o = NULL, *d;
	char			 tok[STAFF_VERIFIED_LEN + 1];
	char			 form_id[RP_ID_LEN + 1];
	char			 client[32], msg[160];
	const char		*outcome;
	unsigned int		 retry = 0;
	enum rp_err		 e, pe;
	int			 done, n;

	if ((e = hs_auth(req, ROLE_AGENT, &w, &done)) != RP_OK || done)
		return e;
	scope = hs_scope(req);
	if ((e = hs_form_cert(req, scope, &c, &o)) != RP_OK)
		return e;
	if (!pp->set || pp->len == 0) {
		e = hs_cert_page(req, &w, &c, o, 400, "Type the passphrase "
		    "the caller gives.");
		goto out;
	}
	memset(&ei, 0, sizeof(ei));
	n = snprintf(client, sizeof(client), "staff:%lld", (long long)w.id);
	if (n < 0 || (size_t)n >= sizeof(client)) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	if ((e = pf_rate(req->db, req->cfg, client, rp_now_ms(), &retry,
	    &ei)) == RP_ERR_RATE) {
		rplog(RPLOG_WARN, "agent_verify_rate", "staff=%lld "
		    "retry_after=%u", (long long)w.id, retry);
		if ((e = resp_header(&req->resp, "Retry-After", "%u",
		    retry)) != RP_OK)
			goto out;
		n = snprintf(msg, sizeof(msg), "Too many passphrase checks "
		    "from this console in a short time; nothing was checked. "
		    "Try again in %u seconds.", retry);
		e = hs_cert_page(req, &w, &c, o, 429, n > 0 &&
		    (size_t)n < sizeof(msg) ? msg : "Too many passphrase "
		    "checks; nothing was checked. Try again later.");
		goto out;
	}
	if (e != RP_OK) {
		req->err = ei;
		goto out;
	}
	memset(&t, 0, sizeof(t));
	pe = pf_check(req->db, req->cfg, c.issuer,
	    scope == STAFF_SCOPE_CERT ? c.serial : NULL,
	    scope == STAFF_SCOPE_TOKEN ? c.token_label : NULL,
	    pp->val, pp->len, w.actor, rp_now_ms(), &t, &ei);
	switch (pe) {
	case RP_OK:
		outcome = "ok";
		break;
	case RP_ERR_AUTH:
		outcome = "failed";
		break;
	case RP_ERR_LOCKED:
		outcome = "locked";
		break;
	default:
		outcome = "error";
		break;
	}
	if ((d = json_pack("{s:s, s:s, s:s?, s:s*}", "outcome", outcome,
	    "scope", scope == STAFF_SCOPE_TOKEN ? "token" : "certificate",
	    "token", scope == STAFF_SCOPE_TOKEN ? c.token_label : NULL,
	    "code", pe != RP_OK && pe != RP_ERR_AUTH && pe != RP_ERR_LOCKED ?
	    ei.code : NULL)) == NULL)
		e = RP_ERR_NOMEM;
	else
		e = hs_audit_cert(req, &w, "agent.verify", &c, d);
	if (pe != RP_OK && pe != RP_ERR_AUTH && pe != RP_ERR_LOCKED) {
		/* The check's own failure is the answer, audited or not. */
		if (e != RP_OK)
			rplog(RPLOG_ERROR, "agent_verify_audit", "error=%s",
			    rp_err_name(e));
		req->err = ei;
		e = pe;
		goto out;
	}
	if (e != RP_OK)
		goto out;
	if (pe == RP_ERR_AUTH) {
		e = hs_cert_page(req, &w, &c, o, 401, "The passphrase does "
		    "not match, or none is set for this certificate or token. "
		    "Ask the caller to say it again; every wrong entry counts "
		    "toward the lock.");
		goto out;
	}
	if (pe == RP_ERR_LOCKED) {
		e = hs_cert_page(req, &w, &c, o, 423, "The passphrase is "
		    "locked after too many wrong entries. The caller must send "
		    "a request with a qualified electronic signature or visit "
		    "the registration office.");
		goto out;
	}
	if ((e = rp_random_id(form_id)) != RP_OK)
		goto out;
	memset(&p, 0, sizeof(p));
	p.staff = w.id;
	p.scope = scope;
	p.target = scope == STAFF_SCOPE_TOKEN ? c.token : c.id;
	p.form_id = form_id;
	p.pass = t.pass;
	p.issued = req->now;
	if ((e = staff_verified_make(req->cfg->secret, &p, tok,
	    sizeof(tok))) != RP_OK)
		goto out;
	memset(&a, 0, sizeof(a));
	a.verified = tok;
	a.form_id = form_id;
	a.issued = req->now;
	a.action = ACT__MAX;
	a.reason = REASON_UNSPECIFIED;
	e = hs_act_page(req, &w, &c, scope, &a, 200);
out:
	json_decref(o);
	return e;
}

/*
 * What a hotline form asked, hashed: the SHA-256 (lower-case hex) of
 * every value that decides the request, each length-prefixed, so that
 * the same form sent again is told from a different request under the
 * same form id.  Never a secret.
 */
static enum rp_err
hs_fingerprint(int64_t staff, int64_t cert, enum staff_scope scope,
    enum action action, enum crl_reason reason, const char *call_ref,
    const char *caller, const char *notes, char out[65])
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*f[4];
	struct buf		 b;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	size_t			 k;
	enum rp_err		 e;

	out[0] = '\0';
	f[0] = dom_reason_name(reason);
	f[1] = call_ref;
	f[2] = caller;
	f[3] = notes != NULL ? notes : "";
	buf_init(&b, 4u * 1024u);
	e = buf_addf(&b, "revportal-hotline-form/1\n%lld\n%lld\n%d\n%s\n",
	    (long long)staff, (long long)cert, (int)scope,
	    dom_action_name(action));
	for (k = 0; k < 4 && e == RP_OK; k++)
		if (f[k] == NULL)
			e = RP_ERR_INTERNAL;
		else
			e = buf_addf(&b, "%zu:%s\n", strlen(f[k]), f[k]);
	if (e == RP_OK && (EVP_Digest(b.p, b.len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32))
		e = RP_ERR_INTERNAL;
	buf_free(&b);
	if (e != RP_OK)
		return e;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	return RP_OK;
}

/* The idempotency record of one hotline form, for hs_idem_add(). */
struct hs_idem {
	char		 key[16 + RP_ID_LEN];	/* "hotline:<form_id>" */
	char		 fp[65];
	int64_t		 now;
	int64_t		 pass;		/* passphrases.id checked */
};

/*
 * lc_create()'s in-transaction hook.  First the passphrase the caller's
 * check matched is read again: locked since (RP_ERR_LOCKED) or gone
 * (RP_ERR_FORBIDDEN) refuses the request.  Then it records that form
 * key made request row, so the same form never makes a second request:
 * a key that is there already fails (RP_ERR_CONFLICT, "form_used").
 * Any failure rolls the request back.
 */
static enum rp_err
hs_idem_add(struct db *db, void *arg, int64_t row,
    const struct lc_result *res, struct rp_errinfo *ei)
{
	struct hs_idem	*h = arg;
	struct dbq	 q;
	enum rp_err	 e;
	int		 found = 0, locked = 0;

	dbq_start(&q, db, DB_STAFF_PASS_LOCKED);
	dbq_int(&q, h->pass);
	if (dbq_step(&q)) {
		found = 1;
		locked = dbq_col_int(&q, 0) != 0;
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the passphrase");
	if (!found)
		return rp_fail(ei, RP_ERR_FORBIDDEN, "not_verified",
		    "The passphrase the caller gave is no longer on record; "
		    "nothing was done. Verify the caller again.");
	if (locked)
		return rp_fail(ei, RP_ERR_LOCKED, "passphrase_locked",
		    "The passphrase was locked after the caller was verified "
		    "(too many wrong entries since); nothing was done. The "
		    "caller must send a request with a qualified electronic "
		    "signature or visit the registration office.");

	dbq_start(&q, db, DB_PF_IDEM_ADD);
	dbq_text(&q, h->key);
	dbq_text(&q, h->fp);
	dbq_int(&q, row);
	dbq_int(&q, 303);
	dbq_text(&q, dom_state_name(res->state));
	dbq_int(&q, h->now);
	if ((e = dbq_exec(&q, NULL)) == RP_ERR_CONFLICT)
		return rp_fail(ei, e, "form_used", "This form was sent "
		    "already.");
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot record the form");
	return RP_OK;
}

/*
 * Looks up the request a form with key made.  Returns RP_OK with
 * public_id (RP_ID_LEN + 1 bytes) filled and *same whether fp matches;
 * RP_ERR_NOT_FOUND when the form was never used; a database error.
 */
static enum rp_err
hs_idem_get(struct req *req, const struct hs_idem *h, char *public_id,
    int *same)
{
	struct dbq	 q;
	const char	*fp, *id;
	enum rp_err	 e;
	int		 found = 0;

	*same = 0;
	public_id[0] = '\0';
	dbq_start(&q, req->db, DB_PF_IDEM_GET);
	dbq_text(&q, h->key);
	if (dbq_step(&q)) {
		fp = dbq_col_text(&q, 0);
		id = dbq_col_text(&q, 1);
		if (fp == NULL || id == NULL || strlen(id) != RP_ID_LEN)
			q.err = RP_ERR_INTERNAL;
		else {
			found = 1;
			*same = strcmp(fp, h->fp) == 0;
			memcpy(public_id, id, RP_ID_LEN + 1);
		}
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(&req->err, e, "db", "cannot read the form "
		    "record");
	return found ? RP_OK : RP_ERR_NOT_FOUND;
}

/*
 * Answers 303 See Other to path/id (path a fixed string of ours, id a
 * public id).
 */
static enum rp_err
hs_redirect(struct req *req, const char *path, const char *id)
{
	enum rp_err	 e;

	if ((e = resp_header(&req->resp, "Location", "%s%s", path, id)) !=
	    RP_OK)
		return e;
	buf_reset(&req->resp.body);
	req->resp.status = 303;
	req->resp.ctype = "text/plain; charset=utf-8";
	return buf_addf(&req->resp.body, "See %s%s\n", path, id);
}

/*
 * Returns the sentence an agent reads for a policy refusal, or NULL to
 * keep lifecycle's.
 */
static const char *
hs_policy_text(enum policy_code c)
{
	switch (c) {
	case POL_WRONG_STATUS:
		return "The certificate's status does not allow this: a "
		    "suspended certificate cannot be suspended again, and a "
		    "revoked one cannot be changed.";
	case POL_CERT_EXPIRED:
		return "The certificate has expired; there is nothing to do.";
	case POL_NOT_ALLOWED_FOR_TYPE:
		return "This is not possible for this type of certificate: "
		    "TLS and website certificates cannot be suspended.";
	case POL_REASON_NOT_ALLOWED:
		return "This reason cannot be given for this action at the "
		    "hotline; choose another, or the caller sends a signed "
		    "request.";
	case POL_NEEDS_SIGNATURE:
		return "A telephone call cannot do this: it needs a request "
		    "with a qualified electronic signature, or a visit to "
		    "the registration office.";
	case POL_NOT_AUTHORISED:
		return "A hotline agent may not do this.";
	default:
		return NULL;
	}
}

/*
 * Reads one required text field of a form into *out (trimmed, pointing
 * into req->in; "" when absent) and *len.  Returns 1 when it holds
 * visible text, 0 when it is absent or blank, -1 when it holds
 * characters that are not shown as they are (bidi and C1 controls,
 * invalid UTF-8).
 */
static int
hs_required(struct req *req, enum field f, const char **out, size_t *len)
{
	const struct param	*p = &req->in.f[f];

	*out = "";
	*len = 0;
	if (!p->set)
		return 0;
	*len = p->len;
	*out = hs_trim(p->val, len);
	if (*len == 0)
		return 0;
	return rp_text_visible(*out, *len) ? 1 : -1;
}

#ifdef RP_UNITTEST
/* Tests only: see extern.h. */
void	(*hs_test_before_create)(struct req *);
#endif

/*
 * POST /agent/act: the agent acts on the verified caller's behalf.
 * Needs the form id and a valid verified token for this agent, target
 * and form, the call reference and the caller's stated name; makes the
 * request through lc_create() on the hotline channel (audited there as
 * received, with the call reference) with, in the same transaction, a
 * look at the checked passphrase (locked since: refused) and the form's
 * idempotency record "hotline:<form_id>"; nudges the relay, and answers
 * 303 to the request's page.  The same form sent again, also while its
 * twin is being made by another worker, goes to the same request; the
 * verification with another form id is refused (one check, one
 * request).
 */
enum rp_err
h_agent_act(struct req *req)
{
	const struct param	*pv = &req->in.f[FIELD_VERIFIED];
	const struct param	*pf = &req->in.f[FIELD_FORM_ID];
	const struct param	*pn = &req->in.f[FIELD_NOTE];
	struct staff_who	 w;
	struct cert_row		 c;
	struct hs_act		 a;
	struct hs_idem		 h;
	struct lc_new		 n;
	struct lc_result	 res;
	struct staff_proof	 p;
	struct rp_errinfo	 why;
	enum staff_scope	 scope;
	json_t			*o = NULL;
	char			*cref = NULL, *cname = NULL, *notes = NULL;
	char			 public_id[RP_ID_LEN + 1];
	const char		*s, *msg;
	size_t			 len, nlen = 0;
	enum rp_err		 e;
	int			 done, same, rref, rname, k;

	if ((e = hs_auth(req, ROLE_AGENT, &w, &done)) != RP_OK || done)
		return e;
	scope = hs_scope(req);
	if ((e = hs_form_cert(req, scope, &c, &o)) != RP_OK)
		return e;
	if (!pf->set) {
		e = rp_fail(&req->err, RP_ERR_BAD_INPUT, "no_form_id",
		    "The form is incomplete; verify the caller again.");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.staff = w.id;
	p.scope = scope;
	p.target = scope == STAFF_SCOPE_TOKEN ? c.token : c.id;
	p.form_id = pf->val;
	if (!pv->set || staff_verified_check(req->cfg->secret, &p, pv->val,
	    req->now) != RP_OK) {
		e = rp_fail(&req->err, RP_ERR_FORBIDDEN, "not_verified",
		    "The caller's verification is missing, has expired, was "
		    "made for another agent or certificate, or was used for "
		    "another form already: verify the caller again.");
		goto out;
	}

	memset(&a, 0, sizeof(a));
	a.verified = pv->val;
	a.form_id = pf->val;
	a.issued = p.issued;
	a.action = req->in.f[FIELD_ACTION].set ?
	    dom_action_parse(req->in.f[FIELD_ACTION].val) : ACT__MAX;
	a.reason = req->in.f[FIELD_REASON].set ?
	    dom_reason_parse(req->in.f[FIELD_REASON].val) :
	    REASON_UNSPECIFIED;
	if ((rref = hs_required(req, FIELD_CALL_REF, &s, &len)) == 1 &&
	    (cref = rp_strndup(s, len)) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if ((rname = hs_required(req, FIELD_CALLER_NAME, &s, &len)) == 1 &&
	    (cname = rp_strndup(s, len)) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	a.call_reference = cref;
	a.caller_name = cname;
	if (pn->set) {
		nlen = pn->len;
		s = hs_trim(pn->val, &nlen);
		if ((notes = rp_strndup(s, nlen)) == NULL) {
			e = RP_ERR_NOMEM;
			goto out;
		}
		a.notes = notes;
	}

	if (a.action != ACT_REVOKE && a.action != ACT_SUSPEND)
		a.error = "Choose an action: suspend or revoke.";
	else if (a.reason == REASON__MAX)
		a.error = "Choose a reason from the list.";
	else if (rref == 0)
		a.error = "The call reference is required, so that the request "
		    "can be traced to this call.";
	else if (rref == -1)
		a.error = "The call reference holds characters that cannot be "
		    "stored.";
	else if (rname == 0)
		a.error = "The caller's name, as the caller states it, is "
		    "required.";
	else if (rname == -1)
		a.error = "The caller's name holds characters that cannot be "
		    "stored.";
	else if (nlen >= RP_NOTE_MAX)
		a.error = "The notes are too long.";
	else if (notes != NULL && !rp_text_marks_ok(notes, nlen, 1))
		a.error = "The notes hold characters that cannot be stored.";
	if (a.error != NULL) {
		e = hs_act_page(req, &w, &c, scope, &a, 400);
		goto out;
	}

	memset(&h, 0, sizeof(h));
	h.now = rp_now_ms();
	h.pass = p.pass;
	k = snprintf(h.key, sizeof(h.key), "hotline:%s", pf->val);
	if (k < 0 || (size_t)k >= sizeof(h.key)) {
		e = rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_form_id",
		    "The form is damaged; verify the caller again.");
		goto out;
	}
	if ((e = hs_fingerprint(w.id, c.id, scope, a.action, a.reason, cref,
	    cname, notes, h.fp)) != RP_OK)
		goto out;
	if ((e = hs_idem_get(req, &h, public_id, &same)) == RP_OK)
		goto again;
	if (e != RP_ERR_NOT_FOUND)
		goto out;

	memset(&n, 0, sizeof(n));
	n.action = a.action;
	n.issuer = c.issuer;
	n.serial = scope == STAFF_SCOPE_CERT ? c.serial : NULL;
	n.token = scope == STAFF_SCOPE_TOKEN ? c.token_label : NULL;
	n.reason = a.reason;
	/* The caller's passphrase is what proves the request; the agent
	 * carries it over the hotline channel. */
	n.actor.channel = CH_HOTLINE;
	n.actor.auth = AUTH_PASSPHRASE;
	n.actor.name = w.actor;
	n.actor.staff = w.id;
	n.actor.roles = w.roles;
	n.call_reference = cref;
	n.caller_name = cname;
	n.notes = notes != NULL && notes[0] != '\0' ? notes : NULL;
	n.now = h.now;
	n.in_tx = hs_idem_add;
	n.in_tx_arg = &h;
#ifdef RP_UNITTEST
	if (hs_test_before_create != NULL)
		hs_test_before_create(req);
#endif
	memset(&req->err, 0, sizeof(req->err));
	if ((e = lc_create(req->db, &req->cfg->policy, &n, &res,
	    &req->err)) != RP_OK) {
		/*
		 * The same form sent twice at once: the twin may have made
		 * the request first, so this one was refused (the form's
		 * key, or the open request on the certificate).  Then this
		 * one answers as the twin did.
		 */
		why = req->err;
		if (hs_idem_get(req, &h, public_id, &same) == RP_OK)
			goto again;
		req->err = why;
		if (res.code != POL_ALLOW &&
		    (msg = hs_policy_text(res.code)) != NULL)
			(void)snprintf(req->err.msg, sizeof(req->err.msg),
			    "%s", msg);
		goto out;
	}
	rplog(RPLOG_INFO, "hotline_request", "request=%s state=%s",
	    res.public_id, dom_state_name(res.state));
	if (res.state == RS_QUEUED)
		relay_nudge(req->cfg->relay_socket);
	e = hs_redirect(req, "/agent/requests/", res.public_id);
	goto out;
again:
	if (!same) {
		e = rp_fail(&req->err, RP_ERR_CONFLICT, "form_used",
		    "This form was already used for another request: verify "
		    "the caller again to start a new one.");
		goto out;
	}
	e = hs_redirect(req, "/agent/requests/", public_id);
out:
	free(cref);
	free(cname);
	free(notes);
	json_decref(o);
	return e;
}

/* Returns 1 when a request in state s is still open. */
static int
hs_open(enum req_state s)
{
	return s == RS_AWAITING_APPROVAL || s == RS_QUEUED ||
	    s == RS_RELAYED || s == RS_FAILED;
}

/*
 * Reads request req->arg into r, its certificates into a new array
 * *certs and its facts into a new object *o (every key present).
 * Returns RP_OK, RP_ERR_NOT_FOUND, or another error (req->err filled).
 */
static enum rp_err
hs_request_load(struct req *req, struct request *r, json_t **o,
    json_t **certs)
{
	struct cert_row	*rows = NULL;
	size_t		 i, n = 0;
	int64_t		 now = rp_now_ms();
	enum rp_err	 e;

	*o = *certs = NULL;
	if (strlen(req->arg) != RP_ID_LEN)
		return rp_fail(&req->err, RP_ERR_NOT_FOUND, "unknown_request",
		    "There is no such request.");
	if ((e = lc_get(req->db, req->arg, r)) == RP_ERR_NOT_FOUND)
		return rp_fail(&req->err, e, "unknown_request",
		    "There is no such request.");
	if (e != RP_OK)
		return rp_fail(&req->err, e, "db", "cannot read the request");
	if ((rows = calloc(RP_TOKEN_CERTS_MAX, sizeof(*rows))) == NULL)
		return RP_ERR_NOMEM;
	if ((e = reg_request_certs(req->db, r->id, rows, RP_TOKEN_CERTS_MAX,
	    &n)) != RP_OK) {
		(void)rp_fail(&req->err, e, "db", "cannot read the "
		    "certificates");
		goto out;
	}
	if ((*certs = json_array()) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (json_array_append_new(*certs, hs_row_json(&rows[i])) != 0) {
			e = RP_ERR_NOMEM;
			goto out;
		}
	*o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, "
	    "s:o, s:o, s:o, s:b, s:b, s:o, s:o, s:o}",
	    "public_id", r->public_id,
	    "state", dom_state_name(r->state),
	    "action", dom_action_name(r->action),
	    "reason", dom_reason_name(r->reason),
	    "channel", dom_channel_name(r->channel),
	    "auth", dom_auth_name(r->auth),
	    "requester", hs_text(r->requester, RP_TEXT_MAX),
	    "token", n > 0 && r->token != 0 ? rows[0].token_label : "",
	    "received_at", hs_time(r->received_at),
	    "due_at", hs_time(r->due_at),
	    "completed_at", hs_time(r->completed_at),
	    "approval_expires_at", hs_time(r->state == RS_AWAITING_APPROVAL ?
	    r->approval_expires_at : 0),
	    "outcome", hs_text(r->outcome[0] != '\0' ? r->outcome : NULL,
	    RP_TEXT_MAX),
	    "open", hs_open(r->state),
	    "overdue", hs_open(r->state) && now > r->due_at,
	    "call_reference", hs_text(r->call_reference[0] != '\0' ?
	    r->call_reference : NULL, RP_LABEL_MAX),
	    "caller_name", hs_text(r->caller_name[0] != '\0' ?
	    r->caller_name : NULL, RP_TEXT_MAX),
	    "notes", hs_text(r->notes[0] != '\0' ? r->notes : NULL,
	    RP_NOTE_MAX));
	if (*o == NULL)
		e = RP_ERR_NOMEM;
out:
	free(rows);
	if (e != RP_OK) {
		json_decref(*certs);
		*certs = NULL;
	}
	return e;
}

/*
 * Audits step action (agent.request_view, officer.view) of staff member
 * w on request r: subject "request:<public id>", details its state.
 */
static enum rp_err
hs_audit_request(struct req *req, const struct staff_who *w,
    const char *action, const struct request *r)
{
	char		 subject[16 + RP_ID_LEN];
	json_t		*d;
	enum rp_err	 e;
	int		 n;

	n = snprintf(subject, sizeof(subject), "request:%s", r->public_id);
	if (n < 0 || (size_t)n >= sizeof(subject))
		return RP_ERR_INTERNAL;
	if ((d = json_pack("{s:s}", "state", dom_state_name(r->state))) ==
	    NULL)
		return RP_ERR_NOMEM;
	e = hs_audit(req, w, action, subject, d);
	json_decref(d);
	return e;
}

/*
 * GET /agent/requests/{id}: the request's live state, its due time and
 * whether it is overdue; the page refreshes itself while the request is
 * open.  Each view is audited as agent.request_view, except the page's
 * own reloads (query "auto=1"): an open tab would otherwise write an
 * entry every few seconds, around the clock, to a log nothing deletes.
 */
enum rp_err
h_agent_request(struct req *req)
{
	struct staff_who	 w;
	struct request		 r;
	json_t			*ctx = NULL, *o = NULL, *certs = NULL;
	enum rp_err		 e;
	int			 done;

	if ((e = hs_auth(req, ROLE_AGENT, &w, &done)) != RP_OK || done)
		return e;
	if ((e = hs_request_load(req, &r, &o, &certs)) != RP_OK)
		return e;
	if ((req->query == NULL || strcmp(req->query, "auto=1") != 0) &&
	    (e = hs_audit_request(req, &w, "agent.request_view", &r)) !=
	    RP_OK)
		goto out;
	if ((ctx = hs_ctx(req, &w, "Hotline request", 0, &e)) == NULL)
		goto out;
	if ((e = hs_set(o, "certs", certs)) != RP_OK) {
		certs = NULL;
		goto out;
	}
	certs = NULL;
	if (hs_open(r.state) && ((e = hs_set(ctx, "refresh",
	    json_integer(HS_REFRESH))) != RP_OK ||
	    (e = hs_set(ctx, "refresh_url", json_sprintf("/agent/requests/%s"
	    "?auto=1", r.public_id))) != RP_OK))
		goto out;
	e = hs_set(ctx, "request", o);
	o = NULL;
	if (e != RP_OK)
		goto out;
	e = resp_html(req, 200, TMPL_AGENT_ACT, ctx);
out:
	json_decref(certs);
	json_decref(o);
	json_decref(ctx);
	return e;
}

/*
 * GET /officer/?state=: requests in state (every open one when absent),
 * overdue ones first, then open ones oldest first and closed ones
 * newest first, at most HS_QUEUE_MAX, with the CA's last error of each;
 * audited as officer.queue.
 */
enum rp_err
h_officer(struct req *req)
{
	static const char *const labels[RS__MAX] = {
		[RS_AWAITING_APPROVAL] = "Awaiting signatures",
		[RS_QUEUED] = "Queued for the CA",
		[RS_RELAYED] = "Sent to the CA",
		[RS_COMPLETED] = "Completed",
		[RS_REJECTED] = "Rejected",
		[RS_EXPIRED] = "Expired",
		[RS_FAILED] = "Failed delivery",
	};
	const struct param	*p = &req->in.f[FIELD_STATE];
	struct staff_who	 w;
	struct dbq		 q;
	json_t			*ctx = NULL, *rows = NULL, *states = NULL, *v;
	json_t			*d = NULL;
	char			 subject[80];
	enum req_state		 st = RS__MAX;
	int64_t			 now = rp_now_ms(), overdue;
	json_int_t		 noverdue = 0;
	unsigned int		 dm = req->cfg->policy.due_minutes;
	size_t			 i;
	enum rp_err		 e;
	int			 done, more = 0, n;

	if ((e = hs_auth(req, ROLE_OFFICER, &w, &done)) != RP_OK || done)
		return e;
	if (p->set && (st = dom_state_parse(p->val)) == RS__MAX)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_state",
		    "Unknown state.");
	if ((ctx = hs_ctx(req, &w, "Request queue", 0, &e)) == NULL)
		goto out;
	if ((states = json_array()) == NULL ||
	    (rows = json_array()) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if ((v = json_pack("{s:s, s:s, s:b}", "value", "", "label",
	    "Every open request", "selected", st == RS__MAX)) == NULL ||
	    json_array_append_new(states, v) != 0) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < RS__MAX; i++)
		if ((v = json_pack("{s:s, s:s, s:b}", "value",
		    dom_state_name((enum req_state)i), "label", labels[i],
		    "selected", st == (enum req_state)i)) == NULL ||
		    json_array_append_new(states, v) != 0) {
			e = RP_ERR_NOMEM;
			goto out;
		}

	dbq_start(&q, req->db, DB_STAFF_QUEUE);
	if (st == RS__MAX)
		dbq_null(&q);
	else
		dbq_text(&q, dom_state_name(st));
	dbq_int(&q, now);
	dbq_int(&q, HS_QUEUE_MAX + 1);
	while (dbq_step(&q)) {
		if (json_array_size(rows) == HS_QUEUE_MAX) {
			more = 1;
			break;
		}
		overdue = dbq_col_int(&q, 9);
		noverdue += overdue != 0;
		v = json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:o, "
		    "s:o, s:b, s:o, s:o}",
		    "public_id", dbq_col_text(&q, 0),
		    "action", dbq_col_text(&q, 1),
		    "state", dbq_col_text(&q, 2),
		    "channel", dbq_col_text(&q, 3),
		    "requester", hs_text(dbq_col_text(&q, 4), RP_TEXT_MAX),
		    "received_at", hs_time(dbq_col_int(&q, 5)),
		    "due_at", hs_time(dbq_col_int(&q, 6)),
		    "outcome", hs_text(dbq_col_text(&q, 7), RP_TEXT_MAX),
		    "call_reference", hs_text(dbq_col_text(&q, 8),
		    RP_LABEL_MAX),
		    "overdue", overdue != 0,
		    "serials", hs_text(dbq_col_text(&q, 10), 1024),
		    "last_error", hs_text(dbq_col_text(&q, 11), 1024));
		if (v == NULL || json_array_append_new(rows, v) != 0) {
			q.err = RP_ERR_NOMEM;
			break;
		}
	}
	if ((e = dbq_end(&q)) != RP_OK) {
		(void)rp_fail(&req->err, e, "db", "cannot read the queue");
		goto out;
	}
	n = snprintf(subject, sizeof(subject), "staff:%s", w.sha256);
	if (n < 0 || (size_t)n >= sizeof(subject)) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	if ((d = json_pack("{s:s?, s:I, s:b}", "state", st == RS__MAX ?
	    NULL : dom_state_name(st), "rows",
	    (json_int_t)json_array_size(rows), "more", more)) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if ((e = hs_audit(req, &w, "officer.queue", subject, d)) != RP_OK)
		goto out;
	if ((e = hs_set(ctx, "row_count",
	    json_integer((json_int_t)json_array_size(rows)))) != RP_OK ||
	    (e = hs_set(ctx, "more", json_boolean(more))) != RP_OK ||
	    (e = hs_set(ctx, "overdue_count", json_integer(noverdue))) !=
	    RP_OK ||
	    (e = hs_set(ctx, "due_hours", dm % 60 != 0 ?
	    json_sprintf("%u minutes", dm) : json_sprintf("%u hour%s",
	    dm / 60, dm == 60 ? "" : "s"))) != RP_OK)
		goto out;
	e = hs_set_list(ctx, "rows", rows);
	rows = NULL;
	if (e != RP_OK)
		goto out;
	e = hs_set(ctx, "states", states);
	states = NULL;
	if (e != RP_OK)
		goto out;
	e = resp_html(req, 200, TMPL_OFFICER, ctx);
out:
	json_decref(d);
	json_decref(states);
	json_decref(rows);
	json_decref(ctx);
	return e;
}

/*
 * Sets "outbox" and "have_outbox" of ctx to the outbox rows of request
 * r, each named by its certificate's serial from certs.
 */
static enum rp_err
hs_outbox(struct req *req, json_t *ctx, const struct request *r,
    const json_t *certs)
{
	struct dbq	 q;
	json_t		*a, *row, *c;
	const char	*serial;
	size_t		 i;
	int64_t		 cert;

	if ((a = json_array()) == NULL)
		return RP_ERR_NOMEM;
	dbq_start(&q, req->db, DB_OUTBOX_OF);
	dbq_int(&q, r->id);
	while (dbq_step(&q)) {
		cert = dbq_col_int(&q, 1);
		serial = "?";
		json_array_foreach(certs, i, c)
			if (json_integer_value(json_object_get(c, "id")) ==
			    cert)
				serial = json_string_value(
				    json_object_get(c, "serial"));
		row = json_pack("{s:s, s:s?, s:I, s:o, s:o}",
		    "serial", serial != NULL ? serial : "?",
		    "state", dbq_col_text(&q, 5),
		    "attempts", (json_int_t)dbq_col_int(&q, 6),
		    "next_attempt_at", hs_time(dbq_col_int(&q, 7)),
		    "last_error", hs_text(dbq_col_text(&q, 8), 1024));
		if (row == NULL || json_array_append_new(a, row) != 0) {
			q.err = RP_ERR_NOMEM;
			break;
		}
	}
	return hs_list_end(req, &q, ctx, "outbox", a, "the outbox");
}

/*
 * Runs q (started and bound: a DB_STAFF_TRAIL_* statement) and adds its
 * rows to t.  Returns RP_OK, RP_ERR_NOMEM, or the statement's error.
 */
static enum rp_err
hs_trail_read(struct dbq *q, struct hs_trail *t)
{
	struct audit_entry	 ae;

	while (dbq_step(q)) {
		memset(&ae, 0, sizeof(ae));
		ae.seq = dbq_col_int(q, 0);
		ae.at = dbq_col_int(q, 1);
		ae.actor = dbq_col_text(q, 2);
		ae.action = dbq_col_text(q, 3);
		ae.subject = dbq_col_text(q, 4);
		ae.details = dbq_col_text(q, 5);
		if (ae.actor == NULL || ae.action == NULL ||
		    ae.subject == NULL || ae.details == NULL) {
			q->err = RP_ERR_INTERNAL;
			break;
		}
		if (hs_trail_row(t, &ae) != 0) {
			q->err = RP_ERR_NOMEM;
			break;
		}
	}
	return dbq_end(q);
}

/* qsort() order of trail rows: by seq. */
static int
hs_seq_cmp(const void *a, const void *b)
{
	json_int_t	 x, y;

	x = json_integer_value(json_object_get(*(json_t *const *)a, "seq"));
	y = json_integer_value(json_object_get(*(json_t *const *)b, "seq"));
	return (x > y) - (x < y);
}

/*
 * Replaces the rows of t with the same rows in the order of the log
 * (by seq), each entry once.  Returns RP_OK or RP_ERR_NOMEM (t->rows
 * unchanged then).
 */
static enum rp_err
hs_trail_sort(struct hs_trail *t)
{
	json_t		**v = NULL, *sorted = NULL;
	size_t		  i, n = json_array_size(t->rows);
	enum rp_err	  e = RP_ERR_NOMEM;

	if ((sorted = json_array()) == NULL)
		return RP_ERR_NOMEM;
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(t->rows, i);
	if (n > 0)
		qsort(v, n, sizeof(*v), hs_seq_cmp);
	for (i = 0; i < n; i++)
		if ((i == 0 || hs_seq_cmp(&v[i - 1], &v[i]) != 0) &&
		    json_array_append(sorted, v[i]) != 0)
			goto out;
	json_decref(t->rows);
	t->rows = sorted;
	sorted = NULL;
	e = RP_OK;
out:
	free(v);
	json_decref(sorted);
	return e;
}

/*
 * Sets "trail" and "have_trail" of ctx to the officer's audit trail of
 * request r, in the order of the log: its own entries (the newest
 * HS_TRAIL_MAX, and apart from them the newest HS_VIEWS_MAX views, so
 * that a page left open cannot push the rest out); for each of its
 * certificates (certs: objects with serial and issuer) what the request
 * did to it (certificate.status, certificate.unchanged naming the
 * request and the issuer, at most HS_CERT_TRAIL_MAX) and the last
 * HS_CHECKS_MAX passphrase checks (agent.verify, passphrase.*) up to the
 * request's receipt; and those of its token (label token, "" for none).
 * Returns RP_OK or an error (req->err filled for the database's).
 */
UNITTEST enum rp_err
hs_request_trail(struct req *req, json_t *ctx, const struct request *r,
    const json_t *certs, const char *token)
{
	struct hs_trail	 t;
	struct dbq	 q;
	const json_t	*c;
	const char	*serial, *issuer;
	char		 subject[16 + RP_LABEL_MAX];
	size_t		 i;
	enum rp_err	 e;
	int		 n, views;

	memset(&t, 0, sizeof(t));
	if ((t.rows = json_array()) == NULL)
		return RP_ERR_NOMEM;
	n = snprintf(subject, sizeof(subject), "request:%s", r->public_id);
	if (n < 0 || (size_t)n >= sizeof(subject)) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	for (views = 0; views < 2; views++) {
		dbq_start(&q, req->db, DB_STAFF_TRAIL_OF);
		dbq_text(&q, subject);
		dbq_int(&q, views);
		dbq_int(&q, views ? HS_VIEWS_MAX : HS_TRAIL_MAX);
		if ((e = hs_trail_read(&q, &t)) != RP_OK)
			goto dberr;
	}
	json_array_foreach(certs, i, c) {
		serial = json_string_value(json_object_get(c, "serial"));
		issuer = json_string_value(json_object_get(c, "issuer"));
		if (serial == NULL || issuer == NULL) {
			e = RP_ERR_INTERNAL;
			goto out;
		}
		n = snprintf(subject, sizeof(subject), "certificate:%s",
		    serial);
		if (n < 0 || (size_t)n >= sizeof(subject)) {
			e = RP_ERR_INTERNAL;
			goto out;
		}
		t.issuer = issuer;
		dbq_start(&q, req->db, DB_STAFF_TRAIL_CERT);
		dbq_text(&q, subject);
		dbq_text(&q, r->public_id);
		dbq_text(&q, issuer);
		dbq_int(&q, HS_CERT_TRAIL_MAX);
		if ((e = hs_trail_read(&q, &t)) != RP_OK)
			goto dberr;
		dbq_start(&q, req->db, DB_STAFF_TRAIL_CHECKS);
		dbq_text(&q, subject);
		dbq_int(&q, r->received_at);
		dbq_int(&q, HS_CHECKS_MAX);
		if ((e = hs_trail_read(&q, &t)) != RP_OK)
			goto dberr;
	}
	t.issuer = NULL;
	if (token != NULL && token[0] != '\0') {
		n = snprintf(subject, sizeof(subject), "token:%s", token);
		if (n < 0 || (size_t)n >= sizeof(subject)) {
			e = RP_ERR_INTERNAL;
			goto out;
		}
		dbq_start(&q, req->db, DB_STAFF_TRAIL_CHECKS);
		dbq_text(&q, subject);
		dbq_int(&q, r->received_at);
		dbq_int(&q, HS_CHECKS_MAX);
		if ((e = hs_trail_read(&q, &t)) != RP_OK)
			goto dberr;
	}
	if ((e = hs_trail_sort(&t)) != RP_OK)
		goto out;
	e = hs_set_list(ctx, "trail", t.rows);
	t.rows = NULL;
	goto out;
dberr:
	if (e != RP_ERR_NOMEM)
		(void)rp_fail(&req->err, e, "db", "cannot read the audit log");
out:
	json_decref(t.rows);
	return e;
}

/*
 * GET /officer/requests/{id}: one request with its certificates, its
 * delivery to the CA, its whole audit trail (hs_request_trail()), and
 * the retry (failed) and reject (failed or awaiting signatures) forms;
 * audited as officer.view.
 */
enum rp_err
h_officer_request(struct req *req)
{
	struct staff_who	 w;
	struct request		 r;
	json_t			*ctx = NULL, *o = NULL, *certs = NULL;
	enum rp_err		 e;
	int			 done;

	if ((e = hs_auth(req, ROLE_OFFICER, &w, &done)) != RP_OK || done)
		return e;
	if ((e = hs_request_load(req, &r, &o, &certs)) != RP_OK)
		return e;
	if ((e = hs_audit_request(req, &w, "officer.view", &r)) != RP_OK)
		goto out;
	if ((ctx = hs_ctx(req, &w, "Request", 1, &e)) == NULL)
		goto out;
	if ((e = hs_outbox(req, ctx, &r, certs)) != RP_OK ||
	    (e = hs_request_trail(req, ctx, &r, certs,
	    json_string_value(json_object_get(o, "token")))) != RP_OK ||
	    (e = hs_set(ctx, "can_retry",
	    json_boolean(lc_legal(r.state, RS_QUEUED) &&
	    r.state != RS_AWAITING_APPROVAL))) != RP_OK ||
	    (e = hs_set(ctx, "can_reject",
	    json_boolean(lc_legal(r.state, RS_REJECTED)))) != RP_OK)
		goto out;
	e = hs_set(ctx, "certs", certs);
	certs = NULL;
	if (e != RP_OK)
		goto out;
	e = hs_set(ctx, "request", o);
	o = NULL;
	if (e != RP_OK)
		goto out;
	e = resp_html(req, 200, TMPL_OFFICER_REQ, ctx);
out:
	json_decref(certs);
	json_decref(o);
	json_decref(ctx);
	return e;
}

/*
 * Reads the request_id field of an officer's form.  Returns it, or NULL
 * with req->err filled (RP_ERR_BAD_INPUT).
 */
static const char *
hs_request_id(struct req *req)
{
	const struct param	*p = &req->in.f[FIELD_REQUEST_ID];

	if (!p->set) {
		(void)rp_fail(&req->err, RP_ERR_BAD_INPUT, "no_request",
		    "The form names no request.");
		return NULL;
	}
	return p->val;
}

/*
 * POST /officer/retry: a failed request goes back to queued (the policy
 * asked again), audited with the officer's account; the relay is
 * nudged.  303 to the request's page.
 */
enum rp_err
h_officer_retry(struct req *req)
{
	struct staff_who	 w;
	const char		*id;
	enum rp_err		 e;
	int			 done;

	if ((e = hs_auth(req, ROLE_OFFICER, &w, &done)) != RP_OK || done)
		return e;
	if ((id = hs_request_id(req)) == NULL)
		return RP_ERR_BAD_INPUT;
	memset(&req->err, 0, sizeof(req->err));
	if ((e = lc_transition(req->db, &req->cfg->policy, id, RS_QUEUED,
	    w.actor, NULL, rp_now_ms(), &req->err)) != RP_OK)
		return e;
	relay_nudge(req->cfg->relay_socket);
	return hs_redirect(req, "/officer/requests/", id);
}

/*
 * POST /officer/reject: rejects a failed request or one awaiting
 * signatures; the reason (the note field) is required and becomes the
 * request's outcome.  303 to the request's page.
 */
enum rp_err
h_officer_reject(struct req *req)
{
	struct staff_who	 w;
	const char		*id, *s;
	char			*why = NULL;
	size_t			 len;
	enum rp_err		 e;
	int			 done, k;

	if ((e = hs_auth(req, ROLE_OFFICER, &w, &done)) != RP_OK || done)
		return e;
	if ((id = hs_request_id(req)) == NULL)
		return RP_ERR_BAD_INPUT;
	if ((k = hs_required(req, FIELD_NOTE, &s, &len)) == 0)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "reason_required",
		    "Say why the request is rejected: the reason is "
		    "required.");
	if (k == -1)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "bad_reason_text",
		    "The reason holds characters that cannot be stored.");
	if (len >= RP_TEXT_MAX)
		return rp_fail(&req->err, RP_ERR_BAD_INPUT, "reason_too_long",
		    "The reason is too long: at most %u bytes.",
		    RP_TEXT_MAX - 1);
	if ((why = rp_strndup(s, len)) == NULL)
		return RP_ERR_NOMEM;
	memset(&req->err, 0, sizeof(req->err));
	if ((e = lc_transition(req->db, &req->cfg->policy, id, RS_REJECTED,
	    w.actor, why, rp_now_ms(), &req->err)) == RP_OK)
		e = hs_redirect(req, "/officer/requests/", id);
	free(why);
	return e;
}
