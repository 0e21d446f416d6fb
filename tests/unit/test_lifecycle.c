/*
 * Unit tests of lifecycle.c: the request state machine, request creation
 * and approval against the policy and the registry, the outbox and audit
 * entries written with each change, the sweep with an injected clock,
 * and crash safety (a failing commit leaves nothing behind).
 */
#include "unit.h"
#include "unit_db.h"
#include "unit_csr.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define DAY	(24LL * 3600 * 1000)
#define T0	1767225600000LL		/* 2026-01-01T00:00:00Z */

static const char issuer[] = "CN=Test Qualified CA,O=Test TSP,C=SI";

/* Registers a certificate of type ty; returns its row id. */
static int64_t
cert(struct udb *t, const char *serial, enum cert_type ty,
    const char *person, const char *org, const char *token, int years)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	int64_t			 id = 0;

	memset(&ci, 0, sizeof(ci));
	(void)snprintf(ci.issuer, sizeof(ci.issuer), "%s", issuer);
	(void)snprintf(ci.subject, sizeof(ci.subject), "CN=Holder %s", serial);
	(void)snprintf(ci.serial, sizeof(ci.serial), "%s", serial);
	(void)snprintf(ci.common_name, sizeof(ci.common_name), "Holder %s",
	    serial);
	if (org != NULL) {
		(void)snprintf(ci.org_id, sizeof(ci.org_id), "%s", org);
		(void)snprintf(ci.org_name, sizeof(ci.org_name), "Firma d.o.o.");
	}
	if (person != NULL)
		(void)snprintf(ci.person_id, sizeof(ci.person_id), "%s",
		    person);
	(void)snprintf(ci.aki, sizeof(ci.aki), "0A0B0C");
	(void)snprintf(ci.sha256, sizeof(ci.sha256), "%064zx",
	    strlen(serial) * 1000003u + (size_t)serial[0] * 7u +
	    (size_t)serial[strlen(serial) - 1]);
	ci.not_before = T0;
	ci.not_after = T0 + years * 365 * DAY;
	ci.pem = (char *)"-----BEGIN CERTIFICATE-----\n-----END "
	    "CERTIFICATE-----\n";
	memset(&ri, 0, sizeof(ri));
	ri.type = ty;
	ri.term_years = (unsigned int)years;
	ri.token = token;
	ri.token_kind = "smartcard";
	ri.qscd = token != NULL;
	ri.actor = "admin:test";
	ri.now = T0;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import %s: %s %s", serial, ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
	return id;
}

/* The row id of person pid. */
static int64_t
person(struct udb *t, const char *pid)
{
	char	 sql[200];

	(void)snprintf(sql, sizeof(sql), "SELECT id FROM persons WHERE "
	    "person_id = '%s'", pid);
	return udb_raw(t, sql);
}

static long long
count(struct udb *t, const char *table)
{
	char	 sql[100];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return udb_raw(t, sql);
}

/* A request by passphrase over the web. */
static void
pass_req(struct lc_new *n, enum action a, const char *serial, int64_t now)
{
	memset(n, 0, sizeof(*n));
	n->action = a;
	n->serial = serial;
	n->reason = REASON_UNSPECIFIED;
	n->actor.channel = CH_WEB;
	n->actor.auth = AUTH_PASSPHRASE;
	n->actor.name = "passphrase";
	n->now = now;
}

/* A request signed by person p over the API. */
static void
sig_req(struct lc_new *n, enum action a, const char *serial, int64_t p,
    int64_t now)
{
	memset(n, 0, sizeof(*n));
	n->action = a;
	n->serial = serial;
	n->reason = REASON_UNSPECIFIED;
	n->actor.channel = CH_API;
	n->actor.auth = AUTH_SIGNATURE;
	n->actor.name = "person:test";
	n->actor.person = p;
	n->actor.signature = "\x30\x80sig";
	n->actor.siglen = 5;
	n->actor.signer_sha256 = "ab";
	n->now = now;
}

/* Creates a request and expects RP_OK; returns the result. */
static struct lc_result
create_ok(struct udb *t, const struct lc_new *n)
{
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	if (lc_create(t->db, &t->cfg.policy, n, &res, &ei) != RP_OK)
		fail_msg("lc_create: %s: %s", ei.code, ei.msg);
	assert_int_equal(strlen(res.public_id), RP_ID_LEN);
	return res;
}

/* Moves a request through relayed to completed. */
static void
complete(struct udb *t, const char *id, int64_t now)
{
	struct rp_errinfo	 ei;

	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id, RS_RELAYED,
	    "relay", NULL, now, &ei), RP_OK);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id,
	    RS_COMPLETED, "relay", NULL, now, &ei), RP_OK);
}

static void
audit_ok(struct udb *t)
{
	struct rp_errinfo	 ei;
	int64_t			 c, bad;
	char			 head[65];

	assert_int_equal(audit_verify(t->db, &c, &bad, head, &ei), RP_OK);
}

/*
 * Every pair of states, and creation, against the arrows of the design:
 * awaiting_approval -> queued -> relayed -> completed; awaiting ->
 * rejected | expired; queued, relayed -> failed; failed -> queued |
 * rejected.  Written out here independently of lifecycle.c's table.
 */
static void
test_transition_table(void **state)
{
	static const struct { enum req_state f, to; } legal[] = {
		{ RS__MAX, RS_AWAITING_APPROVAL },
		{ RS__MAX, RS_QUEUED },
		{ RS_AWAITING_APPROVAL, RS_QUEUED },
		{ RS_AWAITING_APPROVAL, RS_REJECTED },
		{ RS_AWAITING_APPROVAL, RS_EXPIRED },
		{ RS_QUEUED, RS_RELAYED },
		{ RS_QUEUED, RS_FAILED },
		{ RS_RELAYED, RS_COMPLETED },
		{ RS_RELAYED, RS_FAILED },
		{ RS_FAILED, RS_QUEUED },
		{ RS_FAILED, RS_REJECTED },
	};
	unsigned int	 f, to, want, nlegal = 0;
	size_t		 i;

	(void)state;
	for (f = 0; f <= RS__MAX; f++)
		for (to = 0; to <= RS__MAX + 1; to++) {
			want = 0;
			for (i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
				if (legal[i].f == f && legal[i].to == to)
					want = 1;
			if ((unsigned int)lc_legal(f, to) != want)
				fail_msg("%s -> %s: want %u",
				    f == RS__MAX ? "(new)" :
				    dom_state_name(f), to >= RS__MAX ? "?" :
				    dom_state_name(to), want);
			nlegal += want;
		}
	assert_int_equal(nlegal, sizeof(legal) / sizeof(legal[0]));
	assert_int_equal(lc_legal(RS__MAX + 1, RS_QUEUED), 0);
}

static void
test_suspend_by_passphrase_queued(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct request		 r;

	(void)cert(t, "1A", CT_PERSONAL, "PNOSI-1", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "1A", T0 + DAY);
	n.reason = REASON_KEY_COMPROMISE;
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
	assert_int_equal(res.need, 0);
	assert_int_equal(res.due_at, T0 + 2 * DAY);
	assert_int_equal(lc_get(t->db, res.public_id, &r), RP_OK);
	assert_int_equal(r.state, RS_QUEUED);
	assert_int_equal(r.received_at, T0 + DAY);
	assert_int_equal(r.reason, REASON_KEY_COMPROMISE);
	assert_string_equal(r.requester, "passphrase");
	/* One outbox row, told as a hold, with a stable key. */
	assert_int_equal(count(t, "outbox"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "action = 'suspend' AND state = 'pending' AND payload LIKE "
	    "'%\"reason\":\"certificateHold\"%' AND payload LIKE "
	    "'%\"serial\":\"1A\"%' AND idempotency_key LIKE '%.1'"), 1);
	/* Received and queued, in the audit log, chained. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE action "
	    "IN ('request.received', 'request.queued')"), 2);
	audit_ok(t);
	/* The certificate changes only when the CA has confirmed. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'valid'"), 1);
	complete(t, res.public_id, T0 + DAY + 1000);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'suspended' AND suspended_at = 1767312001000 AND "
	    "suspended_until = 1767312001000 + 60 * 86400000 AND "
	    "reason = 'keyCompromise'"), 1);
	assert_int_equal(lc_get(t->db, res.public_id, &r), RP_OK);
	assert_int_equal(r.state, RS_COMPLETED);
	assert_int_equal(r.completed_at, T0 + DAY + 1000);
	audit_ok(t);
}

static void
test_token_request_covers_all(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;

	(void)cert(t, "2A", CT_PERSONAL, "PNOSI-2", NULL, "CARD-2", 5);
	(void)cert(t, "2B", CT_BUSINESS, "PNOSI-2", "VATSI-2", "CARD-2", 5);
	(void)cert(t, "2C", CT_PERSONAL, "PNOSI-2", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, NULL, T0 + DAY);
	n.token = "CARD-2";
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
	assert_int_equal(count(t, "request_certificates"), 2);
	assert_int_equal(count(t, "outbox"), 2);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "token_id IS NOT NULL"), 1);
	complete(t, res.public_id, T0 + DAY);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'suspended'"), 2);
	/* Revoking the card now covers both (revocable from suspended). */
	pass_req(&n, ACT_REVOKE, NULL, T0 + 2 * DAY);
	n.token = "CARD-2";
	n.actor.channel = CH_HOTLINE;
	n.actor.roles = ROLE_AGENT;
	n.actor.name = "staff:ana";
	n.call_reference = "CALL-1";
	n.caller_name = "Holder";
	res = create_ok(t, &n);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests r JOIN "
	    "request_certificates rc ON rc.request_id = r.id WHERE "
	    "r.action = 'revoke'"), 2);
}

/* A card whose one certificate is already suspended: only the other. */
static void
test_token_skips_unchanged(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	(void)cert(t, "3A", CT_PERSONAL, "PNOSI-3", NULL, "CARD-3", 5);
	(void)cert(t, "3B", CT_PERSONAL, "PNOSI-3", NULL, "CARD-3", 5);
	pass_req(&n, ACT_SUSPEND, "3A", T0 + DAY);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0 + DAY);
	pass_req(&n, ACT_SUSPEND, NULL, T0 + DAY);
	n.token = "CARD-3";
	res = create_ok(t, &n);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM request_certificates "
	    "rc JOIN certificates c ON c.id = rc.certificate_id WHERE "
	    "c.serial = '3B'"), 1);
	assert_int_equal(count(t, "request_certificates"), 2);
	complete(t, res.public_id, T0 + DAY);
	/* Nothing left to suspend: refused as a wrong status. */
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "wrong_status");
}

/* Refusals write nothing: no request, no audit entry, no outbox row. */
static void
test_refusals_write_nothing(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	long long		 audits;

	(void)cert(t, "4A", CT_TLS, NULL, "VATSI-4", NULL, 1);
	(void)cert(t, "4B", CT_PERSONAL, "PNOSI-4", NULL, NULL, 5);
	(void)cert(t, "4C", CT_PERSONAL, "PNOSI-4C", NULL, NULL, 5);
	audits = count(t, "audit");

	pass_req(&n, ACT_SUSPEND, "4A", T0 + DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_POLICY);
	assert_string_equal(ei.code, "not_allowed_for_type");
	assert_int_equal(res.code, POL_NOT_ALLOWED_FOR_TYPE);

	pass_req(&n, ACT_REVOKE, "4B", T0 + DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_POLICY);
	assert_string_equal(ei.code, "needs_signature");

	pass_req(&n, ACT_REACTIVATE, "4B", T0 + DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "wrong_status");

	pass_req(&n, ACT_SUSPEND, "FFFF", T0 + DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_NOT_FOUND);

	pass_req(&n, ACT_SUSPEND, NULL, T0 + DAY);
	n.token = "NO-SUCH-CARD";
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_NOT_FOUND);

	/* Both a serial and a token, or neither. */
	pass_req(&n, ACT_SUSPEND, "4B", T0 + DAY);
	n.token = "CARD";
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_BAD_INPUT);
	pass_req(&n, ACT_SUSPEND, NULL, T0 + DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_BAD_INPUT);

	/* Hotline without the call's details. */
	pass_req(&n, ACT_SUSPEND, "4B", T0 + DAY);
	n.actor.channel = CH_HOTLINE;
	n.actor.roles = ROLE_AGENT;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "call_details");

	/* A signer who is nobody to the certificate. */
	sig_req(&n, ACT_REVOKE, "4B", person(t, "PNOSI-4C"), T0 + DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_FORBIDDEN);
	assert_string_equal(ei.code, "not_authorised");

	assert_int_equal(count(t, "requests"), 0);
	assert_int_equal(count(t, "outbox"), 0);
	assert_int_equal(count(t, "approvals"), 0);
	assert_int_equal(count(t, "audit"), audits);
}

static void
test_open_request_blocks_another(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	(void)cert(t, "5A", CT_PERSONAL, "PNOSI-5", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "5A", T0 + DAY);
	(void)create_ok(t, &n);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "request_pending");
	/* A revocation may follow an open suspension ... */
	sig_req(&n, ACT_REVOKE, "5A", person(t, "PNOSI-5"), T0 + DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
	/* ... but not a second revocation. */
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_CONFLICT);
	assert_int_equal(count(t, "requests"), 2);
}

/*
 * Reactivating a business certificate needs the subject and a legal
 * rep: the first signature leaves it awaiting approval, a second from
 * the same side or from a stranger is refused, the rep's queues it.
 */
static void
test_two_party_reactivation(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, res2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	struct request		 r;
	char			 id[RP_ID_LEN + 1];

	(void)cert(t, "6A", CT_BUSINESS, "PNOSI-6", "VATSI-6", NULL, 5);
	(void)cert(t, "6B", CT_PERSONAL, "PNOSI-6R", NULL, NULL, 5);
	(void)cert(t, "6C", CT_PERSONAL, "PNOSI-6X", NULL, NULL, 5);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_rep_add(t->db, "VATSI-6", NULL, "PNOSI-6R", NULL,
	    NULL, T0, 0, "admin:test", T0, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);

	pass_req(&n, ACT_SUSPEND, "6A", T0 + DAY);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0 + DAY);

	sig_req(&n, ACT_REACTIVATE, "6A", person(t, "PNOSI-6"), T0 + 2 * DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	assert_int_equal(res.need, REL_LEGAL_REP);
	memcpy(id, res.public_id, sizeof(id));
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "action = 'reactivate'"), 0);
	assert_int_equal(udb_raw(t, "SELECT approval_expires_at FROM requests "
	    "WHERE action = 'reactivate'"), T0 + 2 * DAY + 7 * DAY);

	memset(&a, 0, sizeof(a));
	a.channel = CH_API;
	a.auth = AUTH_SIGNATURE;
	a.name = "person:PNOSI-6";
	a.person = person(t, "PNOSI-6");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a,
	    T0 + 2 * DAY, &res2, &ei), RP_ERR_FORBIDDEN);
	a.person = person(t, "PNOSI-6X");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a,
	    T0 + 2 * DAY, &res2, &ei), RP_ERR_FORBIDDEN);
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, "nosuchrequestid0000000",
	    &a, T0 + 2 * DAY, &res2, &ei), RP_ERR_NOT_FOUND);
	assert_int_equal(count(t, "approvals"), 1);

	a.person = person(t, "PNOSI-6R");
	a.name = "person:PNOSI-6R";
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a,
	    T0 + 3 * DAY, &res2, &ei), RP_OK);
	assert_int_equal(res2.state, RS_QUEUED);
	assert_int_equal(res2.need, 0);
	assert_int_equal(count(t, "approvals"), 2);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "action = 'reactivate' AND payload LIKE "
	    "'%\"reason\":\"removeFromCRL\"%'"), 1);
	/* No more approvals once queued. */
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a,
	    T0 + 3 * DAY, &res2, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "wrong_state");
	complete(t, id, T0 + 3 * DAY);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '6A' AND status = 'valid' AND suspended_at IS NULL"), 1);
	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_int_equal(r.state, RS_COMPLETED);
	audit_ok(t);
}

/* A legal rep whose term ended is nobody. */
static void
test_former_rep_refused(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	(void)cert(t, "7A", CT_BUSINESS, "PNOSI-7", "VATSI-7", NULL, 5);
	(void)cert(t, "7B", CT_PERSONAL, "PNOSI-7R", NULL, NULL, 5);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(reg_rep_add(t->db, "VATSI-7", NULL, "PNOSI-7R", NULL,
	    NULL, T0, T0 + 10 * DAY, "admin:test", T0, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	sig_req(&n, ACT_REVOKE, "7A", person(t, "PNOSI-7R"), T0 + 11 * DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_FORBIDDEN);
	sig_req(&n, ACT_REVOKE, "7A", person(t, "PNOSI-7R"), T0 + 9 * DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
}

/* Walks the transitions through lc_transition() on real requests. */
static void
test_transitions_on_requests(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	struct request		 r;
	const struct policy	*p = &t->cfg.policy;
	char			 id[RP_ID_LEN + 1];

	(void)cert(t, "8A", CT_PERSONAL, "PNOSI-8", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "8A", T0);
	res = create_ok(t, &n);
	memcpy(id, res.public_id, sizeof(id));

	/* queued: not straight to completed, not rejected, not expired. */
	assert_int_equal(lc_transition(t->db, p, id, RS_COMPLETED, "relay",
	    NULL, T0, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "illegal_transition");
	assert_int_equal(lc_transition(t->db, p, id, RS_REJECTED, "officer",
	    "no", T0, &ei), RP_ERR_CONFLICT);
	assert_int_equal(lc_transition(t->db, p, id, RS_EXPIRED, "sweep",
	    NULL, T0, &ei), RP_ERR_CONFLICT);
	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_int_equal(r.state, RS_QUEUED);

	/* queued -> failed needs a reason; then an officer retries. */
	assert_int_equal(lc_transition(t->db, p, id, RS_FAILED, "relay", NULL,
	    T0, &ei), RP_ERR_BAD_INPUT);
	(void)udb_raw(t, "UPDATE outbox SET state = 'dead', attempts = 9");
	assert_int_equal(lc_transition(t->db, p, id, RS_FAILED, "relay",
	    "CA said 404", T0, &ei), RP_OK);
	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_string_equal(r.outcome, "CA said 404");
	assert_int_equal(lc_transition(t->db, p, id, RS_QUEUED, "officer:bo",
	    NULL, T0 + 5, &ei), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'pending' AND next_attempt_at = 1767225600005"), 1);
	/* failed again, then rejected with a reason: final. */
	assert_int_equal(lc_transition(t->db, p, id, RS_FAILED, "relay",
	    "again", T0, &ei), RP_OK);
	assert_int_equal(lc_transition(t->db, p, id, RS_REJECTED, "officer:bo",
	    "", T0, &ei), RP_ERR_BAD_INPUT);
	assert_int_equal(lc_transition(t->db, p, id, RS_REJECTED, "officer:bo",
	    "duplicate of another request", T0, &ei), RP_OK);
	assert_int_equal(lc_transition(t->db, p, id, RS_QUEUED, "officer:bo",
	    NULL, T0, &ei), RP_ERR_CONFLICT);
	assert_int_equal(lc_transition(t->db, p, "nosuchrequestid0000000",
	    RS_FAILED, "relay", "x", T0, &ei), RP_ERR_NOT_FOUND);
	assert_int_equal(lc_transition(t->db, p, id, RS__MAX, "x", NULL, T0,
	    &ei), RP_ERR_INTERNAL);
	/* The certificate never changed. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'valid'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "subject LIKE 'request:%'"), 2 + 4);
	audit_ok(t);
}

/* awaiting_approval leaves for queued only through an approval. */
static void
test_no_approval_bypass(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	(void)cert(t, "9A", CT_ESEAL, "PNOSI-9", "VATSI-9", NULL, 5);
	pass_req(&n, ACT_SUSPEND, "9A", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "9A", person(t, "PNOSI-9"), T0 + DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, res.public_id,
	    RS_QUEUED, "officer:x", NULL, T0 + DAY, &ei), RP_ERR_CONFLICT);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, res.public_id,
	    RS_REJECTED, "officer:x", "caller withdrew", T0 + DAY, &ei),
	    RP_OK);
}

/*
 * The sweep with an injected clock: a suspension that began at day 0
 * is left alone on day 59, becomes a system revocation on day 60 (with
 * the reason given for the suspension), and a second run makes no second
 * request.
 */
static void
test_sweep_suspension_limit(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct lc_sweep_report	 rep;
	struct rp_errinfo	 ei;

	(void)cert(t, "AA", CT_PERSONAL, "PNOSI-A", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "AA", T0);
	n.reason = REASON_KEY_COMPROMISE;
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);

	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 59 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.suspensions_ended, 0);
	assert_int_equal(count(t, "requests"), 1);
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 60 * DAY - 1,
	    &rep, &ei), RP_OK);
	assert_int_equal(rep.suspensions_ended, 0);

	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 60 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.suspensions_ended, 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "action = 'revoke' AND channel = 'system' AND state = 'queued' "
	    "AND reason = 'keyCompromise' AND requester = 'system:sweep'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "action = 'revoke'"), 1);

	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 60 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.suspensions_ended, 0);
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 61 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.suspensions_ended, 0);
	assert_int_equal(count(t, "requests"), 2);
	audit_ok(t);
}

/* With end_action reinstate the sweep asks for a reactivation. */
static void
test_sweep_reinstates_when_set(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct lc_sweep_report	 rep;
	struct rp_errinfo	 ei;

	t->cfg.policy.suspend_end_action = ACT_REACTIVATE;
	t->cfg.policy.suspend_max_days = 30;
	(void)cert(t, "AB", CT_BUSINESS, "PNOSI-B", "VATSI-B", NULL, 5);
	pass_req(&n, ACT_SUSPEND, "AB", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 29 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.suspensions_ended, 0);
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 30 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.suspensions_ended, 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "action = 'reactivate' AND state = 'queued' AND reason = "
	    "'unspecified'"), 1);
}

static void
test_sweep_expires_approvals_and_counts_overdue(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct lc_sweep_report	 rep;
	struct rp_errinfo	 ei;
	struct request		 r;
	char			 id[RP_ID_LEN + 1];

	(void)cert(t, "BA", CT_BUSINESS, "PNOSI-C", "VATSI-C", NULL, 5);
	(void)cert(t, "BB", CT_PERSONAL, "PNOSI-D", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "BA", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "BA", person(t, "PNOSI-C"), T0 + DAY);
	res = create_ok(t, &n);
	memcpy(id, res.public_id, sizeof(id));
	pass_req(&n, ACT_SUSPEND, "BB", T0 + DAY);
	(void)create_ok(t, &n);

	/* Day 1 + 23 h: nothing due, nothing expired. */
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 2 * DAY - 3600000,
	    &rep, &ei), RP_OK);
	assert_int_equal(rep.approvals_expired, 0);
	assert_int_equal(rep.overdue, 0);
	/* Day 2: both open requests are past their 24 hours. */
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 2 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.overdue, 2);
	/* Day 8: the approval time (7 days) ran out. */
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 8 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.approvals_expired, 1);
	assert_int_equal(rep.overdue, 1);
	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_int_equal(r.state, RS_EXPIRED);
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 9 * DAY, &rep,
	    &ei), RP_OK);
	assert_int_equal(rep.approvals_expired, 0);
	audit_ok(t);
}

/*
 * Crash safety: when the commit fails (the disk is full) or any write of
 * the transaction does, the database holds neither the request, nor its
 * audit entry, nor its outbox row.
 */
static void
test_failed_commit_leaves_nothing(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	static const enum db_stmt where[] = {
		DB_COMMIT, DB_OUTBOX_ADD, DB_AUDIT_ADD, DB_REQ_CERT_ADD,
		DB_REQ_SET_STATE,
	};
	long long		 audits;
	size_t			 i;

	(void)cert(t, "CA", CT_PERSONAL, "PNOSI-E", NULL, NULL, 5);
	audits = count(t, "audit");
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		pass_req(&n, ACT_SUSPEND, "CA", T0);
		db_fault_stmt(where[i], SQLITE_FULL);
		assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res,
		    &ei), RP_ERR_UNAVAILABLE);
		assert_int_equal(count(t, "requests"), 0);
		assert_int_equal(count(t, "request_certificates"), 0);
		assert_int_equal(count(t, "outbox"), 0);
		assert_int_equal(count(t, "audit"), audits);
	}
	/* The connection is usable afterwards. */
	res = create_ok(t, &n);
	assert_int_equal(count(t, "outbox"), 1);
	/* A failed transition commit leaves the request where it was. */
	db_fault_stmt(DB_COMMIT, SQLITE_IOERR);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, res.public_id,
	    RS_RELAYED, "relay", NULL, T0, &ei), RP_ERR_UNAVAILABLE);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "state = 'queued'"), 1);
	audit_ok(t);
}

/* Registers person pid as a legal rep of organisation org from T0. */
static void
rep(struct udb *t, const char *org, const char *pid)
{
	struct rp_errinfo	 ei;

	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_rep_add(t->db, org, NULL, pid, NULL, NULL, T0, 0,
	    "admin:test", T0, &ei) != RP_OK)
		fail_msg("rep: %s %s", ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
}

/* A signer actor for lc_approve(). */
static struct lc_actor
signer(struct udb *t, const char *pid)
{
	struct lc_actor	 a;

	memset(&a, 0, sizeof(a));
	a.channel = CH_API;
	a.auth = AUTH_SIGNATURE;
	a.name = "person:signer";
	a.person = person(t, pid);
	return a;
}

/*
 * A revoked certificate is never reinstated, suspended again or given
 * another reason, even when an older request completes after the
 * revocation: the certificate keeps its status and the log says so.
 */
static void
test_revoked_is_final(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, react, rev, sus;

	(void)cert(t, "D1", CT_PERSONAL, "PNOSI-D1", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "D1", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "D1", person(t, "PNOSI-D1"), T0 + DAY);
	react = create_ok(t, &n);
	assert_int_equal(react.state, RS_QUEUED);
	sig_req(&n, ACT_REVOKE, "D1", person(t, "PNOSI-D1"), T0 + DAY);
	n.reason = REASON_KEY_COMPROMISE;
	rev = create_ok(t, &n);
	complete(t, rev.public_id, T0 + DAY + 1);
	complete(t, react.public_id, T0 + DAY + 2);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'revoked' AND reason = 'keyCompromise' AND "
	    "status_at = 1767312000001"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "action = 'certificate.unchanged'"), 1);

	/* The same with a suspension queued before the revocation. */
	(void)cert(t, "D2", CT_PERSONAL, "PNOSI-D2", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "D2", T0);
	sus = create_ok(t, &n);
	sig_req(&n, ACT_REVOKE, "D2", person(t, "PNOSI-D2"), T0);
	rev = create_ok(t, &n);
	complete(t, rev.public_id, T0 + 1);
	complete(t, sus.public_id, T0 + 2);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = 'D2' AND status = 'revoked' AND suspended_at IS NULL"),
	    1);
	audit_ok(t);
}

/*
 * Approvals count per certificate.  A card holds E1 (business, subject
 * A, organisation X) and E2 (business, subject C, organisation Y); A is
 * a rep of Y, B a rep of X and Y.  A asks to reactivate the card: A is
 * E1's subject and a rep for E2.  B's signature completes E1 but E2
 * still lacks its subject C; only C's signature queues the request.
 */
static void
test_token_approvals_per_certificate(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1];

	(void)cert(t, "E1", CT_BUSINESS, "PNOSI-A", "VATSI-X", "CARD-E", 5);
	(void)cert(t, "E2", CT_BUSINESS, "PNOSI-C", "VATSI-Y", "CARD-E", 5);
	(void)cert(t, "E3", CT_PERSONAL, "PNOSI-B", NULL, NULL, 5);
	rep(t, "VATSI-Y", "PNOSI-A");
	rep(t, "VATSI-X", "PNOSI-B");
	rep(t, "VATSI-Y", "PNOSI-B");
	pass_req(&n, ACT_SUSPEND, NULL, T0);
	n.token = "CARD-E";
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);

	sig_req(&n, ACT_REACTIVATE, NULL, person(t, "PNOSI-A"), T0 + DAY);
	n.token = "CARD-E";
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	assert_int_equal(res.need, REL_SUBJECT | REL_LEGAL_REP);
	memcpy(id, res.public_id, sizeof(id));

	a = signer(t, "PNOSI-B");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a, T0 + DAY,
	    &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_AWAITING_APPROVAL);
	assert_int_equal(r2.need, REL_SUBJECT);
	/* B again, or A again, adds nothing. */
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a, T0 + DAY,
	    &r2, &ei), RP_ERR_FORBIDDEN);
	a = signer(t, "PNOSI-A");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a, T0 + DAY,
	    &r2, &ei), RP_ERR_FORBIDDEN);
	assert_int_equal(count(t, "outbox"), 2);	/* the suspension's */

	a = signer(t, "PNOSI-C");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a, T0 + DAY,
	    &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_QUEUED);
	assert_int_equal(count(t, "outbox"), 4);
	audit_ok(t);
}

/* "I lost my card" works while an old certificate on it has expired. */
static void
test_token_skips_expired(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;

	(void)cert(t, "F1", CT_PERSONAL, "PNOSI-F", NULL, "CARD-F", 1);
	(void)cert(t, "F2", CT_PERSONAL, "PNOSI-F", NULL, "CARD-F", 5);
	pass_req(&n, ACT_SUSPEND, NULL, T0 + 400 * DAY);
	n.token = "CARD-F";
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM request_certificates "
	    "rc JOIN certificates c ON c.id = rc.certificate_id WHERE "
	    "c.serial = 'F2'"), 1);
	assert_int_equal(count(t, "request_certificates"), 1);
	/* One certificate alone, expired, is refused as such. */
	pass_req(&n, ACT_SUSPEND, "F1", T0 + 400 * DAY);
	{
		struct rp_errinfo	 ei;

		assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res,
		    &ei), RP_ERR_CONFLICT);
		assert_string_equal(ei.code, "certificate_expired");
	}
}

/*
 * A reactivation that waits for a second signature does not stretch a
 * suspension past its limit; one already queued for the CA does.
 */
static void
test_waiting_reactivation_does_not_stop_limit(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, waiting;
	struct lc_sweep_report	 rep1;
	struct rp_errinfo	 ei;
	struct request		 r;

	(void)cert(t, "C1", CT_BUSINESS, "PNOSI-G", "VATSI-G", NULL, 5);
	pass_req(&n, ACT_SUSPEND, "C1", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "C1", person(t, "PNOSI-G"), T0 + 59 * DAY);
	waiting = create_ok(t, &n);
	assert_int_equal(waiting.state, RS_AWAITING_APPROVAL);
	assert_int_equal(lc_sweep(t->db, &t->cfg.policy, T0 + 60 * DAY, &rep1,
	    &ei), RP_OK);
	assert_int_equal(rep1.suspensions_ended, 1);
	/* The revocation completes; the waiting reactivation can no longer
	 * be approved: the policy sees a revoked certificate. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "action = 'revoke' AND channel = 'system'"), 1);
	{
		char	 id[RP_ID_LEN + 1];
		struct dbq q;

		dbq_start(&q, t->db, DB_REQ_LIST);
		dbq_text(&q, "queued");
		dbq_null(&q);
		dbq_int(&q, 10);
		assert_int_equal(dbq_step(&q), 1);
		memcpy(id, dbq_col_text(&q, 1), sizeof(id));
		assert_int_equal(dbq_end(&q), RP_OK);
		complete(t, id, T0 + 60 * DAY);
	}
	(void)cert(t, "C2", CT_PERSONAL, "PNOSI-GR", NULL, NULL, 5);
	rep(t, "VATSI-G", "PNOSI-GR");
	{
		struct lc_actor	 a;

		a = signer(t, "PNOSI-GR");
		assert_int_equal(lc_approve(t->db, &t->cfg.policy,
		    waiting.public_id, &a, T0 + 61 * DAY, &res, &ei),
		    RP_ERR_CONFLICT);
		assert_string_equal(ei.code, "wrong_status");
	}
	assert_int_equal(lc_get(t->db, waiting.public_id, &r), RP_OK);
	assert_int_equal(r.state, RS_AWAITING_APPROVAL);
}

/* The approval time is checked by lc_approve() itself, to the ms. */
static void
test_approval_after_expiry_refused(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;

	(void)cert(t, "D3", CT_BUSINESS, "PNOSI-H", "VATSI-H", NULL, 5);
	(void)cert(t, "D4", CT_PERSONAL, "PNOSI-HR", NULL, NULL, 5);
	rep(t, "VATSI-H", "PNOSI-HR");
	pass_req(&n, ACT_SUSPEND, "D3", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "D3", person(t, "PNOSI-H"), T0 + DAY);
	res = create_ok(t, &n);
	a = signer(t, "PNOSI-HR");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id, &a,
	    T0 + 8 * DAY, &r2, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "approval_expired");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id, &a,
	    T0 + 8 * DAY - 1, &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_QUEUED);
}

/* A failing commit of an approval leaves the request as it was. */
static void
test_failed_approval_commit_leaves_nothing(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	long long		 audits;

	(void)cert(t, "D5", CT_ESEAL, "PNOSI-I", "VATSI-I", NULL, 5);
	(void)cert(t, "D6", CT_PERSONAL, "PNOSI-IR", NULL, NULL, 5);
	rep(t, "VATSI-I", "PNOSI-IR");
	pass_req(&n, ACT_SUSPEND, "D5", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "D5", person(t, "PNOSI-I"), T0 + DAY);
	res = create_ok(t, &n);
	audits = count(t, "audit");
	a = signer(t, "PNOSI-IR");
	db_fault_stmt(DB_COMMIT, SQLITE_FULL);
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id, &a,
	    T0 + DAY, &r2, &ei), RP_ERR_UNAVAILABLE);
	assert_int_equal(count(t, "approvals"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "action = 'reactivate'"), 0);
	assert_int_equal(count(t, "audit"), audits);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "state = 'awaiting_approval'"), 1);
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id, &a,
	    T0 + DAY, &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_QUEUED);
}

/* A retry after a failure asks the policy again. */
static void
test_retry_rechecks_policy(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 sus, rev;
	struct rp_errinfo	 ei;

	(void)cert(t, "D7", CT_PERSONAL, "PNOSI-J", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "D7", T0);
	sus = create_ok(t, &n);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, sus.public_id,
	    RS_FAILED, "relay", "CA unreachable", T0, &ei), RP_OK);
	sig_req(&n, ACT_REVOKE, "D7", person(t, "PNOSI-J"), T0);
	rev = create_ok(t, &n);
	complete(t, rev.public_id, T0 + 1);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, sus.public_id,
	    RS_QUEUED, "officer:bo", NULL, T0 + 2, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "wrong_status");
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, sus.public_id,
	    RS_REJECTED, "officer:bo", "revoked meanwhile", T0 + 2, &ei),
	    RP_OK);
}

/* A system request for a hold that is not at its limit is refused. */
static void
test_system_request_only_when_due(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	(void)cert(t, "D8", CT_PERSONAL, "PNOSI-K", NULL, NULL, 5);
	pass_req(&n, ACT_SUSPEND, "D8", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	memset(&n, 0, sizeof(n));
	n.action = ACT_REVOKE;
	n.serial = "D8";
	n.reason = REASON_UNSPECIFIED;
	n.actor.channel = CH_SYSTEM;
	n.actor.auth = AUTH_STAFF;
	n.actor.name = "system:sweep";
	n.now = T0 + 59 * DAY;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "not_due");
	n.now = T0 + 60 * DAY;
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
}

/* A second connection holding the write lock: busy, nothing written. */
static void
test_busy_database(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	struct db		*db2;
	char			 err[256];

	(void)cert(t, "D9", CT_PERSONAL, "PNOSI-L", NULL, NULL, 5);
	t->cfg.busy_timeout_ms = 100;
	assert_non_null(db2 = db_open(&t->cfg, err, sizeof(err)));
	assert_int_equal(db_begin(db2), RP_OK);
	pass_req(&n, ACT_SUSPEND, "D9", T0);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_UNAVAILABLE);
	db_rollback(db2);
	db_close(db2);
	assert_int_equal(count(t, "requests"), 0);
	(void)create_ok(t, &n);
	audit_ok(t);
}

/*
 * An officer enters a paper request: the parties who signed the paper
 * count as signatures, and the who-must-sign rule still holds.
 */
static void
test_officer_paper_request(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	(void)cert(t, "E7", CT_BUSINESS, "PNOSI-O", "VATSI-O", NULL, 5);
	pass_req(&n, ACT_SUSPEND, "E7", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);

	memset(&n, 0, sizeof(n));
	n.action = ACT_REACTIVATE;
	n.serial = "E7";
	n.reason = REASON_UNSPECIFIED;
	n.actor.channel = CH_OFFICER;
	n.actor.auth = AUTH_STAFF;
	n.actor.roles = ROLE_OFFICER;
	n.actor.name = "staff:bo";
	n.now = T0 + DAY;
	/* Nobody signed the paper: refused. */
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_FORBIDDEN);
	/* Only the subject signed: waits for a legal rep. */
	n.actor.parties = REL_SUBJECT;
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	assert_int_equal(res.need, REL_LEGAL_REP);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM approvals WHERE "
	    "person_id IS NULL AND roles = 1"), 1);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, res.public_id,
	    RS_REJECTED, "staff:bo", "entered twice", T0 + DAY, &ei), RP_OK);
	/* Both signed the paper: queued at once. */
	n.actor.parties = REL_SUBJECT | REL_LEGAL_REP;
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
	/* Without the officer role: refused. */
	n.actor.roles = ROLE_AGENT;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_FORBIDDEN);
}

/*
 * Approvals across the two ways in: a signer approves what an officer
 * entered from paper, and an officer enters the paper approval of what
 * a signer asked for.
 */
static void
test_officer_and_signer_approve_each_other(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a, off;
	struct rp_errinfo	 ei;

	(void)cert(t, "E8", CT_BUSINESS, "PNOSI-P", "VATSI-P", NULL, 5);
	(void)cert(t, "E9", CT_PERSONAL, "PNOSI-PR", NULL, NULL, 5);
	rep(t, "VATSI-P", "PNOSI-PR");
	pass_req(&n, ACT_SUSPEND, "E8", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);

	/* The officer enters the subject's paper; the rep signs online. */
	memset(&n, 0, sizeof(n));
	n.action = ACT_REACTIVATE;
	n.serial = "E8";
	n.reason = REASON_UNSPECIFIED;
	n.actor.channel = CH_OFFICER;
	n.actor.auth = AUTH_STAFF;
	n.actor.roles = ROLE_OFFICER;
	n.actor.name = "staff:bo";
	n.actor.parties = REL_SUBJECT;
	n.now = T0 + DAY;
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	a = signer(t, "PNOSI-P");	/* the subject again adds nothing */
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id, &a,
	    T0 + DAY, &r2, &ei), RP_ERR_FORBIDDEN);
	a = signer(t, "PNOSI-PR");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id, &a,
	    T0 + DAY, &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_QUEUED);
	complete(t, res.public_id, T0 + DAY);

	/* Suspended again; the subject signs online, the officer enters
	 * the rep's paper. */
	pass_req(&n, ACT_SUSPEND, "E8", T0 + 2 * DAY);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0 + 2 * DAY);
	sig_req(&n, ACT_REACTIVATE, "E8", person(t, "PNOSI-P"), T0 + 3 * DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.need, REL_LEGAL_REP);
	memset(&off, 0, sizeof(off));
	off.channel = CH_OFFICER;
	off.auth = AUTH_STAFF;
	off.roles = ROLE_OFFICER;
	off.name = "staff:bo";
	/* A paper without the missing party, or an agent: refused. */
	off.parties = REL_SUBJECT;
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id,
	    &off, T0 + 3 * DAY, &r2, &ei), RP_ERR_FORBIDDEN);
	off.parties = REL_LEGAL_REP;
	off.roles = ROLE_AGENT;
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id,
	    &off, T0 + 3 * DAY, &r2, &ei), RP_ERR_FORBIDDEN);
	/* An officer through the web channel is a bug. */
	off.roles = ROLE_OFFICER;
	off.channel = CH_WEB;
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id,
	    &off, T0 + 3 * DAY, &r2, &ei), RP_ERR_INTERNAL);
	off.channel = CH_OFFICER;
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id,
	    &off, T0 + 3 * DAY, &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_QUEUED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM approvals WHERE "
	    "person_id IS NULL AND roles = 2"), 1);
	audit_ok(t);
}

/*
 * A card of ten business certificates with ten subjects: a legal rep
 * asks to reactivate it, and each subject's signature is taken until
 * the last one queues the request.
 */
static void
test_many_signers_on_one_card(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	char			 serial[16], pid[32], id[RP_ID_LEN + 1];
	int			 i;

	for (i = 0; i < 10; i++) {
		(void)snprintf(serial, sizeof(serial), "F%d", i);
		(void)snprintf(pid, sizeof(pid), "PNOSI-M%d", i);
		(void)cert(t, serial, CT_BUSINESS, pid, "VATSI-M", "CARD-M", 5);
	}
	(void)cert(t, "FA", CT_PERSONAL, "PNOSI-MR", NULL, NULL, 5);
	rep(t, "VATSI-M", "PNOSI-MR");
	pass_req(&n, ACT_SUSPEND, NULL, T0);
	n.token = "CARD-M";
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);

	sig_req(&n, ACT_REACTIVATE, NULL, person(t, "PNOSI-MR"), T0 + DAY);
	n.token = "CARD-M";
	res = create_ok(t, &n);
	assert_int_equal(res.need, REL_SUBJECT);
	memcpy(id, res.public_id, sizeof(id));
	for (i = 0; i < 10; i++) {
		(void)snprintf(pid, sizeof(pid), "PNOSI-M%d", i);
		a = signer(t, pid);
		if (lc_approve(t->db, &t->cfg.policy, id, &a, T0 + DAY, &r2,
		    &ei) != RP_OK)
			fail_msg("signer %d: %s %s", i, ei.code, ei.msg);
		assert_int_equal(r2.state, i < 9 ? RS_AWAITING_APPROVAL :
		    RS_QUEUED);
	}
	assert_int_equal(count(t, "approvals"), 11);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "action = 'reactivate'"), 10);
}

/* What the lc_approve_tx() hooks below saw, and whether to fail. */
static int		 hook_calls;
static int64_t		 hook_row;
static enum req_state	 hook_state;

static enum rp_err
hook(struct db *db, void *arg, int64_t row, const struct lc_result *res,
    struct rp_errinfo *ei)
{
	(void)db;
	hook_calls++;
	hook_row = row;
	hook_state = res->state;
	if (arg != NULL)
		return rp_fail(ei, RP_ERR_CONFLICT, "hook", "refused");
	return RP_OK;
}

/*
 * lc_approve_tx(): its hook runs inside the approval's transaction with
 * the request's row and the result; the hook's error rolls the approval,
 * the queueing and the audit entry back and is returned.
 */
static void
test_approve_hook(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	long long		 audits;

	(void)cert(t, "A7E1", CT_BUSINESS, "PNOSI-H", "VATSI-H", NULL, 5);
	(void)cert(t, "A7E2", CT_PERSONAL, "PNOSI-R", NULL, NULL, 5);
	rep(t, "VATSI-H", "PNOSI-R");
	pass_req(&n, ACT_SUSPEND, "A7E1", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "A7E1", person(t, "PNOSI-H"), T0 + DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	audits = count(t, "audit");

	a = signer(t, "PNOSI-R");
	hook_calls = 0;
	assert_int_equal(lc_approve_tx(t->db, &t->cfg.policy, res.public_id,
	    &a, T0 + DAY, hook, &hook_calls, &r2, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "hook");
	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook_state, RS_QUEUED);
	assert_int_equal(r2.public_id[0], '\0');
	assert_int_equal(count(t, "approvals"), 1);	/* the initiator's */
	assert_int_equal(count(t, "outbox"), 1);	/* the suspension's */
	assert_int_equal(count(t, "audit"), audits);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "state = 'awaiting_approval'"), 1);

	assert_int_equal(lc_approve_tx(t->db, &t->cfg.policy, res.public_id,
	    &a, T0 + DAY, hook, NULL, &r2, &ei), RP_OK);
	assert_int_equal(hook_calls, 2);
	assert_int_equal(hook_row, udb_raw(t, "SELECT max(id) FROM requests"));
	assert_int_equal(r2.state, RS_QUEUED);
	assert_string_equal(r2.public_id, res.public_id);
	assert_int_equal(count(t, "outbox"), 2);
	audit_ok(t);
}

/* A recovery of certificate serial with csr, signed by person p. */
static void
rec_req(struct lc_new *n, const char *serial, const char *csr, int64_t p)
{
	sig_req(n, ACT_RECOVER, serial, p, T0 + 30 * DAY);
	n->csr_pem = csr;
}

/*
 * A recovery stores its CSR and the CSR's SHA-256 (csr_check()'s) in
 * recoveries with the request, and its outbox row carries the CSR, the
 * old certificate's type and its subject person for the relay.
 */
static void
test_recover_stores_csr(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	EVP_PKEY		*old = ucsr_ec_key("P-256");
	EVP_PKEY		*nk = ucsr_ec_key("P-256");
	char			*pem, *csr, sha[65], sql[300];

	pem = ucsr_cert(old, ucsr_name("PNOSI-R1", NULL, "Rea Holder"), 0x5E01,
	    T0, T0 + 5 * 365 * DAY);
	(void)ucsr_import(t, pem, CT_PERSONAL, T0);
	csr = ucsr_req(nk, ucsr_name("PNOSI-R1", NULL, "Rea Holder"),
	    EVP_sha256());
	assert_int_equal(csr_check(csr, strlen(csr), pem, sha, &ei), RP_OK);

	rec_req(&n, "5E01", csr, person(t, "PNOSI-R1"));
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
	assert_int_equal(count(t, "recoveries"), 1);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM recoveries "
	    "WHERE csr_sha256 = '%s' AND new_serial IS NULL AND request_id = "
	    "(SELECT id FROM requests WHERE public_id = '%s')", sha,
	    res.public_id);
	assert_int_equal(udb_raw(t, sql), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM recoveries r JOIN "
	    "outbox o ON o.request_id = r.request_id WHERE "
	    "json_extract(o.payload, '$.csr') = r.csr_pem AND "
	    "json_extract(o.payload, '$.type') = 'personal' AND "
	    "json_extract(o.payload, '$.person') = 'PNOSI-R1' AND "
	    "json_extract(o.payload, '$.reason') = 'superseded' AND "
	    "o.action = 'recover'"), 1);
	/* The stored text is the CSR as given. */
	(void)snprintf(sql, sizeof(sql), "SELECT length(csr_pem) = %zu FROM "
	    "recoveries", strlen(csr));
	assert_int_equal(udb_raw(t, sql), 1);
	audit_ok(t);
	free(pem);
	free(csr);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
}

/*
 * What a recovery must carry is refused before anything is written: no
 * CSR, a CSR for another subject or for the old key, garbage, a token
 * instead of one certificate; and a CSR with another action.
 */
static void
test_recover_refusals_write_nothing(void **state)
{
	static const struct {
		const char	*code;
		int		 which;	/* 0 none, 1 subject, 2 old key, 3 junk */
	} cases[] = {
		{ "csr_required", 0 },
		{ "csr_subject", 1 },
		{ "csr_same_key", 2 },
		{ "csr_invalid", 3 },
	};
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	EVP_PKEY		*old = ucsr_ec_key("P-256");
	EVP_PKEY		*nk = ucsr_ec_key("P-256");
	char			*pem, *csr[4], *good, *tokpem;
	size_t			 i;

	pem = ucsr_cert(old, ucsr_name("PNOSI-R2", NULL, "Rea Holder"), 0x5E02,
	    T0, T0 + 5 * 365 * DAY);
	(void)ucsr_import(t, pem, CT_PERSONAL, T0);
	csr[0] = NULL;
	csr[1] = ucsr_req(nk, ucsr_name("PNOSI-R2", NULL, "Someone Else"),
	    EVP_sha256());
	csr[2] = ucsr_req(old, ucsr_name("PNOSI-R2", NULL, "Rea Holder"),
	    EVP_sha256());
	csr[3] = strdup("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
	    "-----END CERTIFICATE REQUEST-----\n");
	good = ucsr_req(nk, ucsr_name("PNOSI-R2", NULL, "Rea Holder"),
	    EVP_sha256());
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rec_req(&n, "5E02", csr[cases[i].which], person(t,
		    "PNOSI-R2"));
		memset(&ei, 0, sizeof(ei));
		assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res,
		    &ei), RP_ERR_BAD_INPUT);
		assert_string_equal(ei.code, cases[i].code);
		assert_string_equal(res.public_id, "");
	}
	/* A CSR with a revocation. */
	sig_req(&n, ACT_REVOKE, "5E02", person(t, "PNOSI-R2"), T0 + DAY);
	n.csr_pem = good;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "unexpected_csr");
	/* Every certificate of a token at once: not a recovery. */
	tokpem = ucsr_cert(nk, ucsr_name("PNOSI-R2", NULL, "Rea Holder"),
	    0x5E03, T0, T0 + 5 * 365 * DAY);
	(void)ucsr_import(t, tokpem, CT_PERSONAL, T0);
	assert_int_equal(udb_raw(t, "INSERT INTO tokens (label, kind, qscd, "
	    "created_at) VALUES ('CARD-R', 'smartcard', 0, 0)"), 0);
	assert_int_equal(udb_raw(t, "UPDATE certificates SET token_id = "
	    "(SELECT id FROM tokens WHERE label = 'CARD-R') WHERE serial = "
	    "'5E02'"), 0);
	rec_req(&n, NULL, good, person(t, "PNOSI-R2"));
	n.token = "CARD-R";
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "recover_one");

	assert_int_equal(count(t, "requests"), 0);
	assert_int_equal(count(t, "recoveries"), 0);
	assert_int_equal(count(t, "outbox"), 0);
	/* And the good one goes through. */
	rec_req(&n, "5E02", good, person(t, "PNOSI-R2"));
	(void)create_ok(t, &n);
	assert_int_equal(count(t, "recoveries"), 1);
	for (i = 1; i < 4; i++)
		free(csr[i]);
	free(good);
	free(pem);
	free(tokpem);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
}

/*
 * A business certificate's recovery waits for the legal representative;
 * the CSR is stored at once, and the outbox row made at the approval
 * carries it (read back from recoveries).
 */
static void
test_recover_two_parties(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	EVP_PKEY		*old = ucsr_ec_key("P-256");
	EVP_PKEY		*nk = ucsr_ec_key("P-256");
	EVP_PKEY		*rk = ucsr_ec_key("P-256");
	char			*pem, *rpem, *csr;

	pem = ucsr_cert(old, ucsr_name("PNOSI-B1", "VATSI-B", "Biz Holder"),
	    0x5E11, T0, T0 + 5 * 365 * DAY);
	(void)ucsr_import(t, pem, CT_BUSINESS, T0);
	rpem = ucsr_cert(rk, ucsr_name("PNOSI-B2", NULL, "Rep"), 0x5E12, T0,
	    T0 + 5 * 365 * DAY);
	(void)ucsr_import(t, rpem, CT_PERSONAL, T0);
	rep(t, "VATSI-B", "PNOSI-B2");
	csr = ucsr_req(nk, ucsr_name("PNOSI-B1", "VATSI-B", "Biz Holder"),
	    EVP_sha256());

	rec_req(&n, "5E11", csr, person(t, "PNOSI-B1"));
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	assert_int_equal(count(t, "recoveries"), 1);
	assert_int_equal(count(t, "outbox"), 0);
	a = signer(t, "PNOSI-B2");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, res.public_id, &a,
	    T0 + 31 * DAY, &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_QUEUED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM recoveries r JOIN "
	    "outbox o ON o.request_id = r.request_id WHERE "
	    "json_extract(o.payload, '$.csr') = r.csr_pem AND "
	    "json_extract(o.payload, '$.type') = 'business' AND "
	    "json_extract(o.payload, '$.person') = 'PNOSI-B1'"), 1);
	audit_ok(t);
	free(pem);
	free(rpem);
	free(csr);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
	EVP_PKEY_free(rk);
}

/* Bad values from a caller are refused before anything is read. */
static void
test_bad_values_refused(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	char			 longtext[RP_NOTE_MAX + 1];

	(void)cert(t, "FB", CT_PERSONAL, "PNOSI-N", NULL, NULL, 5);
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';

	pass_req(&n, ACT_SUSPEND, "FB", T0);
	n.reason = (enum crl_reason)7;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_reason");
	n.reason = REASON__MAX;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_BAD_INPUT);

	pass_req(&n, ACT_SUSPEND, "FB", T0);
	n.notes = longtext;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_TOO_LARGE);
	assert_string_equal(ei.code, "too_long");
	longtext[RP_NOTE_MAX - 1] = '\0';	/* the longest that fits */
	res = create_ok(t, &n);

	pass_req(&n, ACT_REVOKE, "FB", T0);
	n.actor.channel = CH_HOTLINE;
	n.actor.roles = ROLE_AGENT;
	n.caller_name = "Caller";
	longtext[RP_LABEL_MAX] = '\0';
	n.call_reference = longtext;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_TOO_LARGE);
	n.call_reference = "CALL-9";
	longtext[RP_LABEL_MAX] = 'x';
	longtext[RP_TEXT_MAX] = '\0';
	n.caller_name = longtext;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_TOO_LARGE);
	n.caller_name = "Caller";
	n.actor.name = longtext;
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_TOO_LARGE);
	assert_int_equal(count(t, "requests"), 1);

	/* An over-long outcome is refused; the request stays queued. */
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, res.public_id,
	    RS_FAILED, "relay", longtext, T0, &ei), RP_ERR_TOO_LARGE);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM requests WHERE "
	    "state = 'queued'"), 1);
}

/*
 * Between the suspension's limit and the sweep that acts on it, a
 * reactivation is refused (the limit ends in revocation); with the
 * limit ending in reinstatement it is not.
 */
static void
test_no_reactivation_past_the_limit(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, r2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1];

	(void)cert(t, "EA", CT_PERSONAL, "PNOSI-Q", NULL, NULL, 5);
	(void)cert(t, "EB", CT_BUSINESS, "PNOSI-Q", "VATSI-Q", NULL, 5);
	(void)cert(t, "EC", CT_PERSONAL, "PNOSI-QR", NULL, NULL, 5);
	rep(t, "VATSI-Q", "PNOSI-QR");
	pass_req(&n, ACT_SUSPEND, "EA", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "EA", person(t, "PNOSI-Q"), T0 + 60 * DAY);
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &n, &res, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "suspension_ended");
	n.now = T0 + 60 * DAY - 1;
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);

	/* A two-party reactivation asked in time, approved too late. */
	pass_req(&n, ACT_SUSPEND, "EB", T0);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0);
	sig_req(&n, ACT_REACTIVATE, "EB", person(t, "PNOSI-Q"), T0 + 59 * DAY);
	res = create_ok(t, &n);
	memcpy(id, res.public_id, sizeof(id));
	a = signer(t, "PNOSI-QR");
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a,
	    T0 + 60 * DAY, &r2, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "suspension_ended");

	/* With reinstatement at the limit, nothing stands in the way. */
	t->cfg.policy.suspend_end_action = ACT_REACTIVATE;
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a,
	    T0 + 60 * DAY, &r2, &ei), RP_OK);
	assert_int_equal(r2.state, RS_QUEUED);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, udb_setup, udb_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transition_table),
		T(test_suspend_by_passphrase_queued),
		T(test_token_request_covers_all),
		T(test_token_skips_unchanged),
		T(test_refusals_write_nothing),
		T(test_open_request_blocks_another),
		T(test_two_party_reactivation),
		T(test_former_rep_refused),
		T(test_transitions_on_requests),
		T(test_no_approval_bypass),
		T(test_sweep_suspension_limit),
		T(test_sweep_reinstates_when_set),
		T(test_sweep_expires_approvals_and_counts_overdue),
		T(test_failed_commit_leaves_nothing),
		T(test_revoked_is_final),
		T(test_token_approvals_per_certificate),
		T(test_token_skips_expired),
		T(test_waiting_reactivation_does_not_stop_limit),
		T(test_approval_after_expiry_refused),
		T(test_failed_approval_commit_leaves_nothing),
		T(test_retry_rechecks_policy),
		T(test_system_request_only_when_due),
		T(test_busy_database),
		T(test_officer_paper_request),
		T(test_officer_and_signer_approve_each_other),
		T(test_no_reactivation_past_the_limit),
		T(test_many_signers_on_one_card),
		T(test_bad_values_refused),
		T(test_approve_hook),
		T(test_recover_stores_csr),
		T(test_recover_refusals_write_nothing),
		T(test_recover_two_parties),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
