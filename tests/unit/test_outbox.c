/*
 * Unit tests of outbox.c: the relay's state logic against a migrated
 * database, with a small test driver standing in for the CA (it counts
 * its calls and answers what the test says; the real drivers are tested
 * against real servers elsewhere) and an injected clock.  Claims and
 * leases, every outcome and what it does to the row, the request, the
 * certificates and the audit log, the crash path, a request that moved
 * meanwhile (and its rows the CA still holds), an officer's retry and
 * reject, a stopping relay, failing recordings, a revocation overtaking
 * a suspension, approvals that never come, lease renewal and owners,
 * the claim's query plan, the queue's figures and the relay's metrics
 * text.
 */
#include <sys/stat.h>

#include <time.h>

#include "unit.h"
#include "unit_db.h"
#include "unit_csr.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define DAY	(24LL * 3600 * 1000)
#define T0	1767225600000LL		/* 2026-01-01T00:00:00Z */
#define NOW	(T0 + DAY)		/* when the tests' requests come */
#define LEASE	60000u
#define OWNER	"relay-a:1"

static const char issuer[] = "CN=Test Qualified CA,O=Test TSP,C=SI";

/* The test driver: what it answers, what it saw. */
struct tdrv {
	struct ca_result	 deliver;	/* the answer to deliver */
	struct ca_result	 check;		/* the answer to check */
	unsigned int		 delivers;
	unsigned int		 checks;
	int			 stop_in_check;	/* sets the stop flag */
	enum action		 action;	/* of the last job */
	enum crl_reason		 reason;
	char			 serial[RP_SERIAL_MAX];
	char			 issuer[RP_DN_MAX];
	char			 aki[RP_SERIAL_MAX * 2];
	char			 key[OUTBOX_KEY_MAX];
	char			 url[64];
	/* Set by a test: the database whose leases the calls look at. */
	struct udb		*t;
	int64_t			 check_takes;	/* ms the check "takes" */
	int			 steal_in_check; /* relay-b takes the row */
	int64_t			 lease_at_check;	/* lease_until seen */
	int64_t			 lease_at_deliver;
	long			 deliver_ms;	/* real time a delivery takes */
	/* A recovery's enrolment: the answer, the calls, what it saw. */
	struct ca_result	 enroll;
	unsigned int		 enrolls;
	int			 stop_in_enroll;	/* sets the stop flag */
	char			 enroll_csr[CSR_PEM_MAX + 1];
	char			 enroll_type[16];
	char			 enroll_person[RP_LABEL_MAX];
	char			 enroll_names[64];	/* "ca/cert/ee" */
};

static struct tdrv	 td;
static int64_t		 tnow;
static volatile sig_atomic_t tstop;

static int64_t
tclock(void)
{
	return tnow;
}

/* Remembers job (and the URL) for the test to look at. */
static void
td_saw(const char *url, const struct ca_job *j)
{
	td.action = j->action;
	td.reason = j->reason;
	(void)snprintf(td.serial, sizeof(td.serial), "%s", j->serial);
	(void)snprintf(td.issuer, sizeof(td.issuer), "%s", j->issuer);
	(void)snprintf(td.aki, sizeof(td.aki), "%s", j->aki);
	(void)snprintf(td.key, sizeof(td.key), "%s", j->idem_key);
	(void)snprintf(td.url, sizeof(td.url), "%s", url);
}

/* The latest lease of the outbox while a call runs (with td.t set). */
static int64_t
td_lease(void)
{
	if (td.t == NULL)
		return 0;
	return udb_raw(td.t, "SELECT max(coalesce(lease_until, 0)) FROM "
	    "outbox");
}

static void
td_deliver(struct hc *hc, const char *url, const struct ca_job *j,
    struct ca_result *r)
{
	(void)hc;
	td.delivers++;
	td_saw(url, j);
	td.lease_at_deliver = td_lease();
	if (td.deliver_ms > 0)
		(void)nanosleep(&(struct timespec){ td.deliver_ms / 1000,
		    td.deliver_ms % 1000 * 1000000 }, NULL);
	*r = td.deliver;
}

static void
td_check(struct hc *hc, const char *url, const struct ca_job *j,
    struct ca_result *r)
{
	(void)hc;
	td.checks++;
	td_saw(url, j);
	td.lease_at_check = td_lease();
	if (td.stop_in_check)
		tstop = 1;
	if (td.steal_in_check && td.t != NULL)
		(void)udb_raw(td.t, "UPDATE outbox SET lease_owner = "
		    "'relay-b:2'");
	tnow += td.check_takes;
	*r = td.check;
}

static void
td_enroll(struct hc *hc, const char *url, const struct ca_job *j,
    struct ca_result *r)
{
	(void)hc;
	td.enrolls++;
	td_saw(url, j);
	(void)snprintf(td.enroll_csr, sizeof(td.enroll_csr), "%s",
	    j->csr_pem != NULL ? j->csr_pem : "(null)");
	(void)snprintf(td.enroll_type, sizeof(td.enroll_type), "%s",
	    j->cert_type != NULL ? j->cert_type : "(null)");
	(void)snprintf(td.enroll_person, sizeof(td.enroll_person), "%s",
	    j->person != NULL ? j->person : "(null)");
	(void)snprintf(td.enroll_names, sizeof(td.enroll_names), "%s/%s/%s",
	    j->ejbca_ca_name != NULL ? j->ejbca_ca_name : "",
	    j->ejbca_cert_profile != NULL ? j->ejbca_cert_profile : "",
	    j->ejbca_ee_profile != NULL ? j->ejbca_ee_profile : "");
	if (td.stop_in_enroll)
		tstop = 1;
	*r = td.enroll;
}

static const struct ca_driver tdriver = { "test", td_deliver, td_check,
    td_enroll };

/* Sets an answer of the test driver. */
static void
answer(struct ca_result *r, enum ca_outcome o, long status, const char *msg)
{
	memset(r, 0, sizeof(*r));
	r->outcome = o;
	r->http_status = status;
	(void)snprintf(r->message, sizeof(r->message), "%s", msg);
}

/* The relay's settings of these tests. */
static struct outbox_conf
conf(const char *owner)
{
	struct outbox_conf	 oc;

	memset(&oc, 0, sizeof(oc));
	oc.owner = owner;
	oc.actor = "system:relay";
	oc.lease_ms = LEASE;
	oc.backoff_min_ms = 500;
	oc.backoff_max_ms = 300000;
	oc.pending_check_ms = 30000;
	oc.pending_max_hours = 72;
	oc.clock = tclock;
	oc.stop = &tstop;
	return oc;
}

/* Each test starts with a fresh driver, clock and stop flag. */
static int
setup(void **state)
{
	memset(&td, 0, sizeof(td));
	answer(&td.deliver, CA_DONE, 200, "revoked");
	answer(&td.check, CA_UNSUPPORTED, 0, "cannot tell");
	tnow = NOW;
	tstop = 0;
	return udb_setup(state);
}

/* Registers a personal certificate (on token label, if not NULL). */
static void
cert(struct udb *t, const char *serial, const char *token)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	int64_t			 id = 0;

	memset(&ci, 0, sizeof(ci));
	(void)snprintf(ci.issuer, sizeof(ci.issuer), "%s", issuer);
	(void)snprintf(ci.subject, sizeof(ci.subject), "CN=Holder %s", serial);
	(void)snprintf(ci.serial, sizeof(ci.serial), "%s", serial);
	(void)snprintf(ci.common_name, sizeof(ci.common_name), "Holder");
	(void)snprintf(ci.person_id, sizeof(ci.person_id), "PNOSI-%s", serial);
	(void)snprintf(ci.aki, sizeof(ci.aki), "0A0B0C");
	(void)snprintf(ci.sha256, sizeof(ci.sha256), "%064zx",
	    strlen(serial) * 1000003u + (size_t)serial[0] * 7u +
	    (size_t)serial[strlen(serial) - 1]);
	ci.not_before = T0;
	ci.not_after = T0 + 5 * 365 * DAY;
	ci.pem = (char *)"-----BEGIN CERTIFICATE-----\n-----END "
	    "CERTIFICATE-----\n";
	memset(&ri, 0, sizeof(ri));
	ri.type = CT_PERSONAL;
	ri.term_years = 5;
	ri.token = token;
	ri.token_kind = "smartcard";
	ri.qscd = token != NULL;
	ri.actor = "admin:test";
	ri.now = T0;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import %s: %s %s", serial, ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
}

/*
 * Queues a passphrase request of action for serial (or every
 * certificate of token) at NOW, online or (a revocation) through the
 * hotline; its public id goes to id.
 */
static void
queue(struct udb *t, enum action a, const char *serial, const char *token,
    char id[RP_ID_LEN + 1])
{
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	memset(&n, 0, sizeof(n));
	n.action = a;
	n.serial = serial;
	n.token = token;
	n.reason = REASON_UNSPECIFIED;
	n.actor.channel = CH_WEB;
	n.actor.auth = AUTH_PASSPHRASE;
	n.actor.name = "passphrase";
	if (a == ACT_REVOKE) {
		/* A passphrase revokes only through the hotline. */
		n.actor.channel = CH_HOTLINE;
		n.actor.roles = ROLE_AGENT;
		n.actor.name = "staff:ana";
		n.call_reference = "CALL-1";
		n.caller_name = "Holder";
	}
	n.now = NOW;
	if (lc_create(t->db, &t->cfg.policy, &n, &res, &ei) != RP_OK)
		fail_msg("lc_create: %s: %s", ei.code, ei.msg);
	assert_int_equal(res.state, RS_QUEUED);
	memcpy(id, res.public_id, RP_ID_LEN + 1);
}

/* One turn of the relay with the test driver; expects RP_OK. */
static struct outbox_report
run(struct udb *t, const struct outbox_conf *oc)
{
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (outbox_run(t->db, &t->cfg.policy, oc, NULL, &tdriver, NULL,
	    "https://ca.test", &rep, &ei) != RP_OK)
		fail_msg("outbox_run: %s: %s", ei.code, ei.msg);
	return rep;
}

/* One turn with batch b; expects RP_OK. */
static struct outbox_report
run_b(struct udb *t, const struct outbox_conf *oc, struct outbox_batch *b)
{
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (outbox_run(t->db, &t->cfg.policy, oc, b, &tdriver, NULL,
	    "https://ca.test", &rep, &ei) != RP_OK)
		fail_msg("outbox_run: %s: %s", ei.code, ei.msg);
	return rep;
}

static enum req_state
state_of(struct udb *t, const char *id)
{
	struct request	 r;

	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	return r.state;
}

/* The count of audit entries with action (and, if not NULL, actor). */
static long long
audits(struct udb *t, const char *action, const char *actor)
{
	char	 sql[256];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
	    "action = '%s' AND ('%s' = '' OR actor = '%s')", action,
	    actor != NULL ? actor : "", actor != NULL ? actor : "");
	return udb_raw(t, sql);
}

static void
audit_ok(struct udb *t)
{
	struct rp_errinfo	 ei;
	int64_t			 c, bad;
	char			 head[65];

	assert_int_equal(audit_verify(t->db, &c, &bad, head, &ei), RP_OK);
}

/* Snapshot of the columns of outbox row 1 that a recording changes. */
static long long
row_sum(struct udb *t)
{
	return udb_raw(t, "SELECT (state = 'pending') + 2 * attempts + "
	    "3 * (next_attempt_at = 1767312000000) + 5 * (done_at IS NULL) + "
	    "7 * (ca_status IS NULL) + 11 * (last_error IS NULL) + "
	    "13 * (lease_owner = '" OWNER "') + 17 * (lease_until = "
	    "1767312060000) FROM outbox WHERE id = 1");
}

/*
 * A claim leases the row due first: a second relay gets nothing while
 * the lease runs and gets the row once it has run out; the claim stamps
 * first_sent_at before anything is sent.
 */
static void
test_claim_and_lease(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 a = conf(OWNER), b = conf("relay-b:2");
	struct outbox_row	 row;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct ca_result	 res;
	char			 id[RP_ID_LEN + 1];
	int			 got;

	/* Nothing queued: nothing to claim. */
	assert_int_equal(outbox_claim(t->db, &a, NOW, &row, &got, &ei), RP_OK);
	assert_int_equal(got, 0);
	cert(t, "1A", NULL);
	queue(t, ACT_REVOKE, "1A", NULL, id);
	/* Not due before it was queued. */
	assert_int_equal(outbox_claim(t->db, &a, NOW - 1, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 0);
	assert_int_equal(outbox_claim(t->db, &a, NOW, &row, &got, &ei), RP_OK);
	assert_int_equal(got, 1);
	assert_string_equal(row.public_id, id);
	assert_int_equal(row.first_sent_at, 0);
	assert_int_equal(row.sent, 0);
	assert_int_equal(row.damaged, 0);
	assert_int_equal(row.job.action, ACT_REVOKE);
	assert_int_equal(row.job.reason, REASON_UNSPECIFIED);
	assert_string_equal(row.job.serial, "1A");
	assert_string_equal(row.job.issuer, issuer);
	assert_string_equal(row.job.aki, "0A0B0C");
	assert_true(strncmp(row.job.idem_key, id, RP_ID_LEN) == 0);
	assert_string_equal(row.job.idem_key + RP_ID_LEN, ".1");
	assert_int_equal(udb_raw(t, "SELECT lease_owner = '" OWNER "' AND "
	    "lease_until = 1767312060000 AND first_sent_at = 1767312000000 "
	    "FROM outbox"), 1);
	/* The second relay: nothing while the lease runs. */
	assert_int_equal(outbox_claim(t->db, &b, NOW, &row, &got, &ei), RP_OK);
	assert_int_equal(got, 0);
	assert_int_equal(outbox_claim(t->db, &b, NOW + LEASE - 1, &row, &got,
	    &ei), RP_OK);
	assert_int_equal(got, 0);
	tnow = NOW + LEASE - 1;
	rep = run(t, &b);
	assert_int_equal(rep.result, OB_NONE);
	assert_int_equal(td.delivers + td.checks, 0);
	/* Then it is the second relay's, stamped by the first claim. */
	assert_int_equal(outbox_claim(t->db, &b, NOW + LEASE, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(row.first_sent_at, NOW);
	assert_int_equal(udb_raw(t, "SELECT lease_owner = 'relay-b:2' AND "
	    "first_sent_at = 1767312000000 FROM outbox"), 1);
	/* The first relay can no longer record or release it. */
	answer(&res, CA_DONE, 200, "revoked");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(outbox_record(t->db, &t->cfg.policy, &a, &row, &res,
	    NOW + LEASE, &rep, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "lease_lost");
	assert_int_equal(outbox_release(t->db, &a, &row, NOW + LEASE),
	    RP_ERR_CONFLICT);
	assert_int_equal(state_of(t, id), RS_QUEUED);
	assert_int_equal(udb_raw(t, "SELECT state = 'pending' AND lease_owner "
	    "= 'relay-b:2' FROM outbox"), 1);
	/* Its owner can. */
	assert_int_equal(outbox_release(t->db, &b, &row, NOW + LEASE), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT lease_owner IS NULL AND "
	    "lease_until IS NULL FROM outbox"), 1);
}

/*
 * CA_DONE: the row is done, the request relayed and completed, the
 * certificate suspended; every step audited by the relay.
 */
static void
test_done_completes(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct request		 r;
	char			 id[RP_ID_LEN + 1];

	cert(t, "2A", NULL);
	queue(t, ACT_SUSPEND, "2A", NULL, id);
	tnow = NOW + 1500;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.completed, 1);
	assert_int_equal(rep.completion_ms, 1500);
	assert_int_equal(rep.delivered, 1);
	assert_int_equal(rep.checked, 0);
	assert_int_equal(rep.calls, 1);
	assert_int_equal(rep.http_status, 200);
	assert_string_equal(rep.public_id, id);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(td.checks, 0);
	/* What the CA was told. */
	assert_int_equal(td.action, ACT_SUSPEND);
	assert_int_equal(td.reason, REASON_HOLD);
	assert_string_equal(td.serial, "2A");
	assert_string_equal(td.issuer, issuer);
	assert_string_equal(td.aki, "0A0B0C");
	assert_string_equal(td.url, "https://ca.test");
	assert_string_equal(td.key, rep.idem_key);

	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_int_equal(r.state, RS_COMPLETED);
	assert_int_equal(r.completed_at, NOW + 1500);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '2A' AND status = 'suspended'"), 1);
	assert_int_equal(udb_raw(t, "SELECT state = 'done' AND done_at = "
	    "1767312001500 AND ca_status = 200 AND lease_owner IS NULL AND "
	    "last_error IS NULL AND attempts = 0 FROM outbox"), 1);
	assert_int_equal(audits(t, "outbox.done", "system:relay"), 1);
	assert_int_equal(audits(t, "request.relayed", "system:relay"), 1);
	assert_int_equal(audits(t, "request.completed", "system:relay"), 1);
	assert_int_equal(audits(t, "certificate.status", "system:relay"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "action = 'outbox.done' AND details LIKE '%\"checked\":false%' "
	    "AND details LIKE '%\"http_status\":200%'"), 1);
	audit_ok(t);
	/* Nothing more to do. */
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_NONE);
	assert_int_equal(td.delivers, 1);
}

/* A token request of two rows completes only after both are done. */
static void
test_token_needs_every_row(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	char			 id[RP_ID_LEN + 1];

	cert(t, "3A", "CARD-3");
	cert(t, "3B", "CARD-3");
	queue(t, ACT_SUSPEND, NULL, "CARD-3", id);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox"), 2);
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.completed, 0);
	assert_int_equal(state_of(t, id), RS_RELAYED);
	/* The certificates change only when the request completes. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'valid'"), 2);
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.completed, 1);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'suspended'"), 2);
	assert_int_equal(audits(t, "outbox.done", NULL), 2);
	assert_int_equal(audits(t, "request.relayed", NULL), 1);
	assert_int_equal(audits(t, "request.completed", NULL), 1);
	assert_int_equal(td.delivers, 2);
	audit_ok(t);
}

/*
 * A token request whose first row the CA confirmed and whose second it
 * refused fails, and the registry follows the CA: the confirmed
 * certificate is revoked, the other stays valid.  An officer's retry
 * resends only the refused row, with its attempts counted afresh.
 */
static void
test_token_partly_done(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1];

	cert(t, "3C", "CARD-4");
	cert(t, "3D", "CARD-4");
	queue(t, ACT_REVOKE, NULL, "CARD-4", id);
	assert_int_equal(run(t, &oc).result, OB_DONE);
	answer(&td.deliver, CA_RETRY, 503, "busy");
	tnow = NOW + 1;
	assert_int_equal(run(t, &oc).result, OB_RETRY);
	assert_int_equal(udb_raw(t, "SELECT attempts FROM outbox WHERE "
	    "state = 'pending'"), 1);
	answer(&td.deliver, CA_PERMANENT, 404, "unknown");
	tnow = NOW + 3600000;
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	assert_int_equal(state_of(t, id), RS_FAILED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '3C' AND status = 'revoked'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '3D' AND status = 'valid'"), 1);
	assert_int_equal(audits(t, "certificate.status", "system:relay"), 1);
	/* The retry puts back the dead row only, with no attempts. */
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id, RS_QUEUED,
	    "staff:bo", NULL, tnow, &ei), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'pending' AND attempts = 0"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'done'"), 1);
	answer(&td.deliver, CA_DONE, 200, "revoked");
	assert_int_equal(run(t, &oc).result, OB_DONE);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'revoked'"), 2);
	audit_ok(t);
}

/* The backoff as a function: doubling, the cap, the jitter's bounds. */
static void
test_backoff_function(void **state)
{
	struct outbox_conf	 oc = conf(OWNER);

	(void)state;
	/* rnd % 401 is the jitter in permille above 800. */
	assert_int_equal(outbox_backoff(&oc, 0, 200), 500);
	assert_int_equal(outbox_backoff(&oc, 0, 0), 400);
	assert_int_equal(outbox_backoff(&oc, 0, 400), 600);
	assert_int_equal(outbox_backoff(&oc, 0, 401), 400);
	assert_int_equal(outbox_backoff(&oc, 1, 200), 1000);
	assert_int_equal(outbox_backoff(&oc, 3, 200), 4000);
	assert_int_equal(outbox_backoff(&oc, 9, 200), 256000);
	/* 500 * 2^10 is past the cap: the cap, and never above it. */
	assert_int_equal(outbox_backoff(&oc, 10, 200), 300000);
	assert_int_equal(outbox_backoff(&oc, 10, 0), 240000);
	assert_int_equal(outbox_backoff(&oc, 10, 400), 300000);
	assert_int_equal(outbox_backoff(&oc, 9, 400), 300000);
	assert_int_equal(outbox_backoff(&oc, 9, 0), 204800);
	/* No overflow however many attempts. */
	assert_int_equal(outbox_backoff(&oc, 4000000000u, 200), 300000);
	/* 0xffffffff % 401 is 254: 105.4% of 256000, 269824. */
	assert_int_equal(outbox_backoff(&oc, 9, 0xffffffffu), 269824);
	assert_int_equal(outbox_backoff(&oc, 63, 0xffffffffu), 300000);
	/* Never below 1 ms. */
	oc.backoff_min_ms = 1;
	assert_int_equal(outbox_backoff(&oc, 0, 0), 1);
}

/*
 * CA_RETRY: attempts go up, the next try waits a backoff that grows and
 * is capped, within its jitter; the CA's words are kept; the request
 * stays queued.  A row that was sent once is checked before it is sent
 * again.
 */
static void
test_retry_backs_off(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	char			 id[RP_ID_LEN + 1];
	long long		 next, delay, base;
	unsigned int		 k;

	cert(t, "4A", NULL);
	queue(t, ACT_REVOKE, "4A", NULL, id);
	answer(&td.deliver, CA_RETRY, 503, "HTTP 503: busy");
	for (k = 0; k < 14; k++) {
		rep = run(t, &oc);
		assert_int_equal(rep.result, OB_RETRY);
		assert_int_equal(rep.checked, k > 0);
		assert_int_equal(udb_raw(t, "SELECT attempts FROM outbox"),
		    k + 1);
		next = udb_raw(t, "SELECT next_attempt_at FROM outbox");
		delay = next - tnow;
		base = 500LL << (k < 10 ? k : 10);
		if (base > 300000)
			base = 300000;
		if (delay < base * 8 / 10 || delay > base * 12 / 10 ||
		    delay > 300000)
			fail_msg("attempt %u: delay %lld for base %lld", k,
			    delay, base);
		/* Not before its time. */
		tnow = next - 1;
		assert_int_equal(run(t, &oc).result, OB_NONE);
		tnow = next;
	}
	assert_int_equal(td.delivers, 14);
	assert_int_equal(td.checks, 13);
	assert_int_equal(state_of(t, id), RS_QUEUED);
	assert_int_equal(udb_raw(t, "SELECT state = 'pending' AND "
	    "last_error = 'HTTP 503: busy' AND ca_status = 503 AND "
	    "lease_owner IS NULL FROM outbox"), 1);
	/* Retries are logged, not audited. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "action LIKE 'outbox.%'"), 0);
	/* A check that finds the CA unreachable is a retry, unsent. */
	answer(&td.check, CA_RETRY, 0, "connection refused");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_RETRY);
	assert_int_equal(rep.delivered, 0);
	assert_int_equal(td.delivers, 14);
	assert_int_equal(udb_raw(t, "SELECT attempts FROM outbox"), 15);
	assert_int_equal(udb_raw(t, "SELECT last_error = 'connection refused' "
	    "AND ca_status = 503 FROM outbox"), 1);
}

/*
 * CA_PERMANENT and CA_UNSUPPORTED: the row is dead, the request failed
 * with the CA's words (made printable) as its outcome, both audited.
 */
static void
test_permanent_fails(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct request		 r;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];
	char			 id3[RP_ID_LEN + 1];

	cert(t, "5A", NULL);
	cert(t, "5B", NULL);
	cert(t, "5C", NULL);
	queue(t, ACT_REVOKE, "5A", NULL, id);
	answer(&td.deliver, CA_PERMANENT, 404, "the CA knows no such "
	    "certificate");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_int_equal(r.state, RS_FAILED);
	assert_string_equal(r.outcome, "the CA knows no such certificate");
	assert_int_equal(udb_raw(t, "SELECT state = 'dead' AND ca_status = 404 "
	    "AND last_error = 'the CA knows no such certificate' AND "
	    "lease_owner IS NULL FROM outbox"), 1);
	assert_int_equal(audits(t, "outbox.dead", "system:relay"), 1);
	assert_int_equal(audits(t, "request.failed", "system:relay"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'valid'"), 3);
	/* A dead letter is not claimed again. */
	assert_int_equal(run(t, &oc).result, OB_NONE);

	/* Control and bidi characters never reach the outcome. */
	queue(t, ACT_REVOKE, "5B", NULL, id2);
	answer(&td.deliver, CA_UNSUPPORTED, 0, "\x1b[31mno\n way \xe2\x80\xae"
	    "x ");
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	assert_int_equal(lc_get(t->db, id2, &r), RP_OK);
	assert_int_equal(r.state, RS_FAILED);
	assert_string_equal(r.outcome, "[31mno  way x");
	/* No words: a sentence with the status. */
	queue(t, ACT_REVOKE, "5C", NULL, id3);
	answer(&td.deliver, CA_PERMANENT, 400, "");
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	assert_int_equal(lc_get(t->db, id3, &r), RP_OK);
	assert_string_equal(r.outcome, "the CA answered HTTP 400 (permanent)");
	audit_ok(t);
}

/*
 * CA_PENDING: the row is sent and the request relayed; the row is
 * checked (never delivered again) after pending_check_ms until the CA
 * says done, or refuses.
 */
static void
test_pending_rechecked(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct request		 r;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];

	cert(t, "6A", NULL);
	queue(t, ACT_REVOKE, "6A", NULL, id);
	answer(&td.deliver, CA_PENDING, 202, "waiting for an approval");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_PENDING);
	assert_int_equal(state_of(t, id), RS_RELAYED);
	assert_int_equal(udb_raw(t, "SELECT state = 'sent' AND ca_status = 202 "
	    "AND next_attempt_at = 1767312030000 AND last_error IS NULL "
	    "FROM outbox"), 1);
	assert_int_equal(audits(t, "outbox.sent", "system:relay"), 1);
	assert_int_equal(audits(t, "request.relayed", "system:relay"), 1);
	tnow = NOW + 29999;
	assert_int_equal(run(t, &oc).result, OB_NONE);
	/* Still pending at the CA: checked again later, not sent again. */
	tnow = NOW + 30000;
	answer(&td.check, CA_PENDING, 200, "not revoked yet");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_PENDING);
	assert_int_equal(rep.checked, 1);
	assert_int_equal(rep.delivered, 0);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(td.checks, 1);
	assert_int_equal(udb_raw(t, "SELECT next_attempt_at FROM outbox"),
	    NOW + 60000);
	assert_int_equal(audits(t, "outbox.sent", NULL), 1);
	/* Done now. */
	tnow = NOW + 60000;
	answer(&td.check, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.completed, 1);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(td.checks, 2);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "status = 'revoked'"), 1);

	/* A pending action the CA then refuses: dead, failed, unsent. */
	cert(t, "6B", NULL);
	queue(t, ACT_REVOKE, "6B", NULL, id2);
	tnow = NOW + 60000;
	answer(&td.deliver, CA_PENDING, 202, "waiting");
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	tnow += 30000;
	answer(&td.check, CA_PERMANENT, 200, "the approval was rejected");
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(lc_get(t->db, id2, &r), RP_OK);
	assert_int_equal(r.state, RS_FAILED);
	assert_string_equal(r.outcome, "the approval was rejected");

	/* A sent row the driver cannot check is delivered again. */
	cert(t, "6C", NULL);
	queue(t, ACT_REVOKE, "6C", NULL, id2);
	answer(&td.deliver, CA_PENDING, 202, "waiting");
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	tnow += 30000;
	answer(&td.check, CA_UNSUPPORTED, 0, "cannot tell");
	answer(&td.deliver, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.checked, 1);
	assert_int_equal(rep.delivered, 1);
	assert_int_equal(td.delivers, 4);
	assert_int_equal(state_of(t, id2), RS_COMPLETED);
	audit_ok(t);
}

/*
 * The crash path: a row claimed before (first_sent_at set) but never
 * recorded is checked first; when the CA says done it is recorded done
 * without acting again.  When the CA cannot tell, it is delivered again,
 * the same job (its key, which no CA takes, names it in the log).
 */
static void
test_crash_checked_first(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_row	 row;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];
	char			 key[OUTBOX_KEY_MAX];
	int			 got;

	cert(t, "7A", NULL);
	queue(t, ACT_REVOKE, "7A", NULL, id);
	/* A relay claims the row, sends it and dies before recording. */
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 1);
	tnow = NOW + LEASE;
	answer(&td.check, CA_DONE, 200, "revoked at the CA");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.checked, 1);
	assert_int_equal(rep.delivered, 0);
	assert_int_equal(rep.completed, 1);
	assert_int_equal(td.checks, 1);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "action = 'outbox.done' AND details LIKE '%\"checked\":true%'"),
	    1);

	/* The CA cannot tell: delivered again, with the same key. */
	cert(t, "7B", NULL);
	queue(t, ACT_REVOKE, "7B", NULL, id2);
	tnow = NOW + LEASE;
	assert_int_equal(outbox_claim(t->db, &oc, tnow, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 1);
	memcpy(key, row.idem_key, sizeof(key));
	tnow += LEASE;
	answer(&td.check, CA_UNSUPPORTED, 0, "cannot tell");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.checked, 1);
	assert_int_equal(rep.delivered, 1);
	assert_int_equal(rep.calls, 2);
	assert_string_equal(td.key, key);
	assert_int_equal(td.checks, 2);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(state_of(t, id2), RS_COMPLETED);

	/*
	 * "Not yet" (or "refused") from the check of a row that may never
	 * have left: delivered, since only the delivery's answer counts.
	 */
	cert(t, "7C", NULL);
	queue(t, ACT_REVOKE, "7C", NULL, id2);
	assert_int_equal(outbox_claim(t->db, &oc, tnow, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 1);
	tnow += LEASE;
	answer(&td.check, CA_PENDING, 200, "not revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.delivered, 1);
	assert_int_equal(td.checks, 3);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(state_of(t, id2), RS_COMPLETED);
	audit_ok(t);
}

/*
 * A request that moved while the relay held its row (failed by another
 * relay, then rejected by an officer) is not overwritten: the row is
 * released as it was; or, when the CA did act, recorded done, and the
 * certificate follows the CA (the request stays as it is).
 */
static void
test_moved_not_overwritten(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_row	 row;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct ca_result	 res;
	struct request		 r;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];
	long long		 n;
	int			 got;

	cert(t, "8A", NULL);
	queue(t, ACT_REVOKE, "8A", NULL, id);
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id, RS_FAILED,
	    "system:relay-b", "CA refused the other row", NOW, &ei), RP_OK);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id,
	    RS_REJECTED, "staff:bo", "a duplicate", NOW, &ei), RP_OK);
	n = udb_raw(t, "SELECT count(*) FROM audit");
	answer(&res, CA_RETRY, 503, "busy");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(outbox_record(t->db, &t->cfg.policy, &oc, &row, &res,
	    NOW + 10, &rep, &ei), RP_OK);
	assert_int_equal(rep.result, OB_MOVED);
	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_int_equal(r.state, RS_REJECTED);
	assert_string_equal(r.outcome, "a duplicate");
	assert_int_equal(udb_raw(t, "SELECT state = 'pending' AND attempts = 0 "
	    "AND last_error IS NULL AND lease_owner IS NULL FROM outbox"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit"), n);
	/* Never claimed again. */
	tnow = NOW + DAY;
	assert_int_equal(run(t, &oc).result, OB_NONE);

	/*
	 * The CA did act: the row says so, the request stays failed, and
	 * the certificate is revoked as the CA says, audited by the relay.
	 */
	cert(t, "8B", NULL);
	queue(t, ACT_REVOKE, "8B", NULL, id2);
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 1);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id2, RS_FAILED,
	    "system:relay-b", "other", NOW, &ei), RP_OK);
	answer(&res, CA_DONE, 200, "revoked");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(outbox_record(t->db, &t->cfg.policy, &oc, &row, &res,
	    NOW + 10, &rep, &ei), RP_OK);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.moved, 1);
	assert_int_equal(rep.moved_to, RS_FAILED);
	assert_int_equal(rep.completed, 0);
	assert_int_equal(state_of(t, id2), RS_FAILED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'done' AND id = 2"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "action = 'outbox.done' AND details LIKE "
	    "'%\"request_state\":\"failed\"%'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '8B' AND status = 'revoked' AND reason = "
	    "'unspecified'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '8A' AND status = 'valid'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE action "
	    "= 'certificate.status' AND actor = 'system:relay' AND subject = "
	    "'certificate:8B'"), 1);
	/* The officer's reject then changes nothing more, audits no noise. */
	n = udb_raw(t, "SELECT count(*) FROM audit WHERE action LIKE "
	    "'certificate.%'");
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id2,
	    RS_REJECTED, "staff:bo", "a duplicate", NOW + 20, &ei), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE action "
	    "LIKE 'certificate.%'"), n);
	audit_ok(t);
}

/*
 * An officer's retry (failed -> queued) makes the dead row claimable
 * again; it is checked first (it went out before), then delivered.
 */
static void
test_officer_retry(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1];

	cert(t, "9A", NULL);
	queue(t, ACT_REVOKE, "9A", NULL, id);
	answer(&td.deliver, CA_PERMANENT, 403, "not authorised");
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	tnow = NOW + 1000;
	assert_int_equal(run(t, &oc).result, OB_NONE);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id, RS_QUEUED,
	    "staff:bo", NULL, tnow, &ei), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT state = 'pending' FROM outbox"),
	    1);
	answer(&td.deliver, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.checked, 1);
	assert_int_equal(rep.completed, 1);
	assert_int_equal(td.checks, 1);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
	/* failed, queued again, relayed, completed: each audited. */
	assert_int_equal(audits(t, "request.failed", "system:relay"), 1);
	assert_int_equal(audits(t, "request.queued", "staff:bo"), 1);
	assert_int_equal(audits(t, "request.relayed", "system:relay"), 1);
	assert_int_equal(audits(t, "request.completed", "system:relay"), 1);
	audit_ok(t);
}

/*
 * A stopping relay claims nothing new, and releases a row whose check
 * did not settle it instead of delivering it.
 */
static void
test_stop_releases(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_row	 row;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1];
	int			 got;

	cert(t, "AA", NULL);
	queue(t, ACT_REVOKE, "AA", NULL, id);
	tstop = 1;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_NONE);
	assert_int_equal(udb_raw(t, "SELECT lease_owner IS NULL AND "
	    "first_sent_at IS NULL FROM outbox"), 1);
	tstop = 0;
	/* A row sent once; the signal comes during its check. */
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	tnow = NOW + LEASE;
	td.stop_in_check = 1;
	answer(&td.check, CA_PENDING, 200, "not revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_RELEASED);
	assert_int_equal(td.checks, 1);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(udb_raw(t, "SELECT state = 'pending' AND lease_owner "
	    "IS NULL AND attempts = 0 FROM outbox"), 1);
	assert_int_equal(state_of(t, id), RS_QUEUED);
	/* A check that settles it is still recorded while stopping. */
	tstop = 0;
	answer(&td.check, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
}

/*
 * A failure anywhere in the recording transaction leaves the row (still
 * leased) and the request as they were, and nothing in the audit log.
 */
static void
test_record_faults(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_row	 row;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	struct ca_result	 done, dead;
	static const enum db_stmt where[] = {
		DB_BEGIN, DB_REQ_GET, DB_OUTBOX_RECORD, DB_AUDIT_ADD,
		DB_REQ_SET_STATE, DB_OUTBOX_UNDONE, DB_CERT_SET_STATUS,
		DB_COMMIT,
	};
	static const enum db_stmt where_dead[] = {
		DB_OUTBOX_RECORD, DB_REQ_SET_STATE, DB_COMMIT,
	};
	char			 id[RP_ID_LEN + 1];
	long long		 before, n;
	size_t			 i;
	int			 got;

	cert(t, "BA", NULL);
	queue(t, ACT_REVOKE, "BA", NULL, id);
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	before = row_sum(t);
	n = udb_raw(t, "SELECT count(*) FROM audit");
	answer(&done, CA_DONE, 200, "revoked");
	answer(&dead, CA_PERMANENT, 404, "unknown");
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		print_message("done, fault at %d\n", (int)where[i]);
		db_fault_stmt(where[i], SQLITE_IOERR);
		memset(&rep, 0, sizeof(rep));
		assert_int_not_equal(outbox_record(t->db, &t->cfg.policy, &oc,
		    &row, &done, NOW + 5, &rep, &ei), RP_OK);
		assert_int_equal(rep.completed, 0);
		assert_int_equal(row_sum(t), before);
		assert_int_equal(state_of(t, id), RS_QUEUED);
		assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates "
		    "WHERE status = 'valid'"), 1);
		assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit"), n);
	}
	for (i = 0; i < sizeof(where_dead) / sizeof(where_dead[0]); i++) {
		db_fault_stmt(where_dead[i], SQLITE_FULL);
		memset(&rep, 0, sizeof(rep));
		assert_int_equal(outbox_record(t->db, &t->cfg.policy, &oc,
		    &row, &dead, NOW + 5, &rep, &ei), RP_ERR_UNAVAILABLE);
		assert_int_equal(row_sum(t), before);
		assert_int_equal(state_of(t, id), RS_QUEUED);
		assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit"), n);
	}
	/* Through a whole turn: the row stays leased and comes back. */
	tnow = NOW + 5;
	(void)udb_raw(t, "UPDATE outbox SET lease_owner = NULL, "
	    "lease_until = NULL");
	db_fault_stmt(DB_OUTBOX_RECORD, SQLITE_IOERR);
	assert_int_equal(outbox_run(t->db, &t->cfg.policy, &oc, NULL,
	    &tdriver, NULL, "https://ca.test", &rep, &ei),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(udb_raw(t, "SELECT state = 'pending' AND lease_owner "
	    "= '" OWNER "' FROM outbox"), 1);
	tnow = NOW + 5 + LEASE - 1;
	assert_int_equal(run(t, &oc).result, OB_NONE);
	tnow = NOW + 5 + LEASE;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.checked, 1);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
	/* A claim that fails leases nothing. */
	cert(t, "BB", NULL);
	queue(t, ACT_REVOKE, "BB", NULL, id);
	db_fault_stmt(DB_OUTBOX_LEASE, SQLITE_BUSY);
	assert_int_equal(outbox_claim(t->db, &oc, tnow, &row, &got, &ei),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(got, 0);
	assert_int_equal(udb_raw(t, "SELECT lease_owner IS NULL AND "
	    "first_sent_at IS NULL FROM outbox WHERE id = 2"), 1);
	audit_ok(t);
}

/*
 * A payload this program did not write (or one changed behind its back)
 * goes to no CA: the row is dead and the request failed, saying why.
 */
static void
test_damaged_payload(void **state)
{
	static const char *const bad[] = {
		"UPDATE outbox SET payload = 'not json'",
		"UPDATE outbox SET payload = json_set(payload, '$.request', "
		    "'AAAAAAAAAAAAAAAAAAAAAA')",
		"UPDATE outbox SET payload = json_set(payload, '$.serial', "
		    "'00CA')",
		"UPDATE outbox SET payload = json_set(payload, '$.action', "
		    "'destroy')",
		"UPDATE outbox SET payload = json_set(payload, '$.reason', 7)",
		"UPDATE outbox SET payload = json_set(payload, '$.extra', 1)",
		"UPDATE outbox SET payload = json_set(payload, '$.aki', "
		    "'0A:0B')",
		"UPDATE outbox SET payload = json_remove(payload, '$.issuer')",
		"UPDATE outbox SET payload = json_set(payload, '$.issuer', '')",
	};
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct request		 r;
	char			 id[RP_ID_LEN + 1], serial[8], sql[128];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("payload %zu\n", i);
		(void)snprintf(serial, sizeof(serial), "C%zX", i);
		cert(t, serial, NULL);
		queue(t, ACT_REVOKE, serial, NULL, id);
		(void)snprintf(sql, sizeof(sql), "%s WHERE state = 'pending'",
		    bad[i]);
		(void)udb_raw(t, sql);
		rep = run(t, &oc);
		assert_int_equal(rep.result, OB_DEAD);
		assert_int_equal(rep.calls, 0);
		assert_int_equal(lc_get(t->db, id, &r), RP_OK);
		assert_int_equal(r.state, RS_FAILED);
		assert_string_equal(r.outcome, "revportal: the outbox row is "
		    "damaged and was not sent");
	}
	assert_int_equal(td.delivers + td.checks, 0);
	audit_ok(t);
}

/*
 * A revocation overtakes a suspension of the same certificate that met
 * a busy CA.  When the suspension falls due again the CA is not called:
 * the row is done, "superseded by a revocation", and the suspension
 * request completes without touching the revoked certificate.  Without
 * this, the late suspension would reach cfssl and write certificateHold
 * over the revocation's reason.
 */
static void
test_revocation_supersedes(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	char			 sid[RP_ID_LEN + 1], rid[RP_ID_LEN + 1];

	cert(t, "F1", NULL);
	queue(t, ACT_SUSPEND, "F1", NULL, sid);
	queue(t, ACT_REVOKE, "F1", NULL, rid);
	answer(&td.deliver, CA_RETRY, 503, "busy");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_RETRY);
	assert_int_equal(td.action, ACT_SUSPEND);
	answer(&td.deliver, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.action, ACT_REVOKE);
	assert_int_equal(state_of(t, rid), RS_COMPLETED);
	/* The suspension's turn: no call at all, not even a check. */
	tnow = udb_raw(t, "SELECT next_attempt_at FROM outbox WHERE id = 1");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.superseded, 1);
	assert_int_equal(rep.calls, 0);
	assert_int_equal(rep.checked + rep.delivered, 0);
	assert_int_equal(rep.completed, 1);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(td.checks, 0);
	assert_string_equal(rep.public_id, sid);
	assert_int_equal(state_of(t, sid), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT state = 'done' AND last_error = "
	    "'superseded by a revocation' AND done_at IS NOT NULL AND "
	    "lease_owner IS NULL FROM outbox WHERE id = 1"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = 'F1' AND status = 'revoked' AND reason = "
	    "'unspecified'"), 1);
	assert_int_equal(audits(t, "outbox.superseded", "system:relay"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE action "
	    "= 'outbox.superseded' AND details LIKE '%superseded by a "
	    "revocation%'"), 1);
	assert_int_equal(audits(t, "certificate.status", NULL), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE action "
	    "= 'certificate.unchanged' AND subject = 'certificate:F1' AND "
	    "details LIKE '%\"status\":\"revoked\"%'"), 1);
	audit_ok(t);
}

/*
 * Not while the revocation only waits for an approval at the CA (its row
 * sent): the approval may never come, so the suspension is sent and the
 * certificate is held now.  The revocation, once approved, revokes it.
 */
static void
test_revocation_sent_supersedes(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	char			 sid[RP_ID_LEN + 1], rid[RP_ID_LEN + 1];

	cert(t, "F2", NULL);
	queue(t, ACT_SUSPEND, "F2", NULL, sid);
	queue(t, ACT_REVOKE, "F2", NULL, rid);
	answer(&td.deliver, CA_RETRY, 503, "busy");
	assert_int_equal(run(t, &oc).result, OB_RETRY);
	answer(&td.deliver, CA_PENDING, 202, "waiting for an approval");
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	assert_int_equal(state_of(t, rid), RS_RELAYED);
	tnow = udb_raw(t, "SELECT next_attempt_at FROM outbox WHERE id = 1");
	answer(&td.check, CA_DONE, 200, "on hold");
	answer(&td.deliver, CA_DONE, 200, "on hold");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.superseded, 0);
	/* Tried before: asked first, and the CA says it holds it. */
	assert_int_equal(td.checks, 1);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(state_of(t, sid), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = 'F2' AND status = 'suspended'"), 1);
	assert_int_equal(audits(t, "outbox.superseded", NULL), 0);
	/* The approval comes: revoked. */
	tnow = NOW + 30000;
	answer(&td.check, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.completed, 1);
	assert_int_equal(td.action, ACT_REVOKE);
	assert_int_equal(state_of(t, rid), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = 'F2' AND status = 'revoked'"), 1);
	audit_ok(t);
}

/*
 * While another relay holds the revocation of the certificate (its call
 * may be reaching the CA right now), a suspension is put off until that
 * lease ends, without a call; then it is superseded.  A revocation is
 * never held back.
 */
static void
test_suspension_waits_for_revocation(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 a = conf(OWNER), b = conf("relay-b:2");
	struct outbox_row	 srow, rrow;
	struct outbox_report	 rep;
	struct outbox_stats	 st;
	struct ca_result	 res;
	struct rp_errinfo	 ei;
	char			 sid[RP_ID_LEN + 1], rid[RP_ID_LEN + 1];
	int			 got;

	cert(t, "F3", NULL);
	queue(t, ACT_SUSPEND, "F3", NULL, sid);
	queue(t, ACT_REVOKE, "F3", NULL, rid);
	/* Relay b takes both and gives the suspension back. */
	assert_int_equal(outbox_claim(t->db, &b, NOW, &srow, &got, &ei),
	    RP_OK);
	assert_int_equal(srow.job.action, ACT_SUSPEND);
	assert_int_equal(outbox_claim(t->db, &b, NOW, &rrow, &got, &ei),
	    RP_OK);
	assert_int_equal(rrow.job.action, ACT_REVOKE);
	assert_int_equal(outbox_release(t->db, &b, &srow, NOW), RP_OK);
	/* Relay a meets the suspension: put off, not sent. */
	rep = run(t, &a);
	assert_int_equal(rep.result, OB_POSTPONED);
	assert_int_equal(rep.calls, 0);
	assert_int_equal(td.delivers + td.checks, 0);
	assert_int_equal(udb_raw(t, "SELECT next_attempt_at = 1767312060000 "
	    "AND lease_owner IS NULL AND attempts = 0 AND state = 'pending' "
	    "FROM outbox WHERE id = 1"), 1);
	assert_int_equal(run(t, &a).result, OB_NONE);
	assert_int_equal(outbox_stats(t->db, NOW, &st), RP_OK);
	assert_int_equal(st.next_due, NOW + LEASE);
	/* Relay b's revocation is confirmed. */
	answer(&res, CA_DONE, 200, "revoked");
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(outbox_record(t->db, &t->cfg.policy, &b, &rrow, &res,
	    NOW + 100, &rep, &ei), RP_OK);
	assert_int_equal(state_of(t, rid), RS_COMPLETED);
	tnow = NOW + LEASE - 1;
	assert_int_equal(run(t, &a).result, OB_NONE);
	tnow = NOW + LEASE;
	rep = run(t, &a);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.superseded, 1);
	assert_int_equal(td.delivers + td.checks, 0);
	assert_int_equal(state_of(t, sid), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = 'F3' AND status = 'revoked'"), 1);

	/* A revocation whose certificate has a suspension in b's hands
	 * goes at once. */
	cert(t, "F4", NULL);
	queue(t, ACT_SUSPEND, "F4", NULL, sid);
	queue(t, ACT_REVOKE, "F4", NULL, rid);
	assert_int_equal(outbox_claim(t->db, &b, tnow, &srow, &got, &ei),
	    RP_OK);
	assert_int_equal(srow.job.action, ACT_SUSPEND);
	rep = run(t, &a);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.action, ACT_REVOKE);
	assert_int_equal(state_of(t, rid), RS_COMPLETED);
	audit_ok(t);
}

/*
 * A row the CA holds pending (an approval inside EJBCA) goes dead after
 * pending_max_hours from the CA's first "pending", and the request
 * fails; until then it is checked, and it completes when approved.
 */
static void
test_pending_gives_up(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct request		 r;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];
	const int64_t		 max = 72LL * 3600 * 1000;

	cert(t, "61", NULL);
	queue(t, ACT_REVOKE, "61", NULL, id);
	tnow = NOW + 500;
	answer(&td.deliver, CA_PENDING, 202, "waiting for an approval");
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	assert_int_equal(udb_raw(t, "SELECT sent_at FROM outbox"), NOW + 500);
	answer(&td.check, CA_PENDING, 200, "not revoked yet");
	/* Still pending one check before the limit: checked on. */
	tnow = NOW + 500 + max - 30000;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_PENDING);
	assert_int_equal(udb_raw(t, "SELECT sent_at FROM outbox"), NOW + 500);
	assert_int_equal(state_of(t, id), RS_RELAYED);
	tnow = NOW + 500 + max;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(rep.checked, 1);
	assert_int_equal(rep.delivered, 0);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(lc_get(t->db, id, &r), RP_OK);
	assert_int_equal(r.state, RS_FAILED);
	assert_string_equal(r.outcome, "approval at the CA not granted within "
	    "72 hours");
	assert_int_equal(udb_raw(t, "SELECT state = 'dead' AND last_error = "
	    "'approval at the CA not granted within 72 hours' FROM outbox"),
	    1);
	assert_int_equal(audits(t, "outbox.dead", "system:relay"), 1);
	/* An officer's retry waits afresh. */
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id, RS_QUEUED,
	    "staff:bo", NULL, tnow, &ei), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT sent_at IS NULL AND state = "
	    "'pending' FROM outbox"), 1);

	/* Approved at the limit: done, not dead. */
	cert(t, "62", NULL);
	queue(t, ACT_REVOKE, "62", NULL, id2);
	tnow = NOW;
	answer(&td.deliver, CA_PENDING, 202, "waiting for an approval");
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	tnow = NOW + max;
	answer(&td.check, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_string_equal(rep.public_id, id2);
	assert_int_equal(state_of(t, id2), RS_COMPLETED);
	audit_ok(t);
}

/*
 * A request failed (one row refused) while another row waits for an
 * approval at the CA, and an officer rejects it: the waiting row is
 * still checked, never sent again, and when the CA settles it the row
 * says so; approved, the certificate follows the CA.  The request is
 * not changed.  A sent row the driver cannot check goes dead rather
 * than being sent again for a request that is closed.
 */
static void
test_moved_sent_rows_checked(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct outbox_stats	 st;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];
	long long		 n;

	cert(t, "71", "CARD-H");
	cert(t, "72", "CARD-H");
	queue(t, ACT_REVOKE, NULL, "CARD-H", id);
	answer(&td.deliver, CA_PENDING, 202, "waiting for an approval");
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	answer(&td.deliver, CA_PERMANENT, 404, "unknown");
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	assert_int_equal(state_of(t, id), RS_FAILED);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id,
	    RS_REJECTED, "staff:bo", "the card was found", NOW + 10, &ei),
	    RP_OK);
	assert_int_equal(outbox_stats(t->db, NOW + 10, &st), RP_OK);
	assert_int_equal(st.depth, 1);
	/* Still pending at the CA: checked again later, not at once. */
	tnow = NOW + 30000;
	answer(&td.check, CA_PENDING, 200, "not revoked yet");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_PENDING);
	assert_int_equal(rep.moved, 1);
	assert_int_equal(rep.moved_to, RS_REJECTED);
	assert_int_equal(rep.delivered, 0);
	assert_int_equal(run(t, &oc).result, OB_NONE);
	assert_int_equal(udb_raw(t, "SELECT next_attempt_at FROM outbox WHERE "
	    "id = 1"), NOW + 60000);
	/* A passing failure backs off. */
	tnow = NOW + 60000;
	answer(&td.check, CA_RETRY, 503, "busy");
	assert_int_equal(run(t, &oc).result, OB_RETRY);
	assert_int_equal(udb_raw(t, "SELECT state = 'sent' AND attempts = 1 "
	    "FROM outbox WHERE id = 1"), 1);
	/* Approved: the certificate is revoked, the request stays. */
	tnow = udb_raw(t, "SELECT next_attempt_at FROM outbox WHERE id = 1");
	answer(&td.check, CA_DONE, 200, "revoked");
	n = udb_raw(t, "SELECT count(*) FROM audit");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.moved, 1);
	assert_int_equal(rep.completed, 0);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(state_of(t, id), RS_REJECTED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '71' AND status = 'revoked'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '72' AND status = 'valid'"), 1);
	/* outbox.done and certificate.status, nothing about the request. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit"), n + 2);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE action "
	    "= 'outbox.done' AND details LIKE "
	    "'%\"request_state\":\"rejected\"%'"), 1);
	assert_int_equal(outbox_stats(t->db, tnow, &st), RP_OK);
	assert_int_equal(st.depth, 0);

	/* The CA refuses it in the end, or cannot tell: dead, unsent. */
	cert(t, "73", "CARD-I");
	cert(t, "74", "CARD-I");
	queue(t, ACT_REVOKE, NULL, "CARD-I", id2);
	answer(&td.deliver, CA_PENDING, 202, "waiting for an approval");
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	assert_int_equal(run(t, &oc).result, OB_PENDING);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id2, RS_FAILED,
	    "system:relay-b", "failed elsewhere", tnow, &ei), RP_OK);
	tnow += 30000;
	answer(&td.check, CA_PERMANENT, 200, "the approval was rejected");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(rep.moved, 1);
	answer(&td.check, CA_UNSUPPORTED, 0, "cannot tell");
	answer(&td.deliver, CA_DONE, 200, "revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(rep.delivered, 0);
	assert_int_equal(td.delivers, 4);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'dead' AND last_error LIKE '%not sent again%'"), 1);
	assert_int_equal(state_of(t, id2), RS_FAILED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial IN ('73', '74') AND status = 'valid'"), 2);
	audit_ok(t);
}

/*
 * Rejecting a failed request applies the rows the CA confirmed after the
 * failure, if any was not applied yet, and leaves alone those applied
 * at the failure: no second audit entry.
 */
static void
test_reject_applies_late_rows(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1];

	cert(t, "81", "CARD-J");
	cert(t, "82", "CARD-J");
	cert(t, "83", "CARD-J");
	queue(t, ACT_REVOKE, NULL, "CARD-J", id);
	assert_int_equal(run(t, &oc).result, OB_DONE);
	tnow = NOW + 1;
	answer(&td.deliver, CA_PERMANENT, 404, "unknown");
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	assert_int_equal(state_of(t, id), RS_FAILED);
	assert_int_equal(audits(t, "certificate.status", NULL), 1);
	/* The third row confirmed after the failure, not applied (as a
	 * relay that crashed between the CA's answer and its own would
	 * leave it after a recovery by hand). */
	(void)udb_raw(t, "UPDATE outbox SET state = 'done', done_at = "
	    "1767312005000 WHERE id = 3");
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id,
	    RS_REJECTED, "staff:bo", "partly done", NOW + 6000, &ei), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial IN ('81', '83') AND status = 'revoked'"), 2);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '82' AND status = 'valid'"), 1);
	assert_int_equal(audits(t, "certificate.status", "staff:bo"), 1);
	assert_int_equal(audits(t, "certificate.status", NULL), 2);
	assert_int_equal(audits(t, "certificate.unchanged", NULL), 0);
	audit_ok(t);
}

/*
 * A second call of a turn (a check that found the row not done, then
 * the delivery) is made under a renewed lease when less than a call and
 * its recording (call_max_ms) is left; the first call needs none after
 * the claim.  A lease lost meanwhile stops the turn before the delivery.
 */
static void
test_lease_renewed(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_row	 row;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	char			 id[RP_ID_LEN + 1];
	int			 got;

	td.t = t;
	oc.call_max_ms = 30000;
	cert(t, "91", NULL);
	queue(t, ACT_REVOKE, "91", NULL, id);
	/* Taken once before (a crash): checked, then delivered. */
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	tnow = NOW + LEASE;
	td.check_takes = 40000;
	answer(&td.check, CA_PENDING, 200, "not revoked");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.calls, 2);
	/* The claim's lease for the check, a fresh one for the delivery. */
	assert_int_equal(td.lease_at_check, NOW + 2 * LEASE);
	assert_int_equal(td.lease_at_deliver, NOW + LEASE + 40000 + LEASE);
	assert_int_equal(state_of(t, id), RS_COMPLETED);
	/* With enough left, no renewal. */
	cert(t, "92", NULL);
	queue(t, ACT_REVOKE, "92", NULL, id);
	assert_int_equal(outbox_claim(t->db, &oc, tnow, &row, &got, &ei),
	    RP_OK);
	tnow += LEASE;
	td.check_takes = 20000;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.lease_at_deliver, tnow - 20000 + LEASE);
	/* Taken by another relay during the check: nothing is delivered. */
	cert(t, "93", NULL);
	queue(t, ACT_REVOKE, "93", NULL, id);
	assert_int_equal(outbox_claim(t->db, &oc, tnow, &row, &got, &ei),
	    RP_OK);
	tnow += LEASE;
	td.check_takes = 40000;
	td.steal_in_check = 1;
	assert_int_equal(outbox_run(t->db, &t->cfg.policy, &oc, NULL,
	    &tdriver, NULL, "https://ca.test", &rep, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "lease_lost");
	assert_int_equal(td.delivers, 2);
	assert_int_equal(state_of(t, id), RS_QUEUED);
	assert_int_equal(udb_raw(t, "SELECT lease_owner = 'relay-b:2' FROM "
	    "outbox WHERE state = 'pending'"), 1);
}

/* The lease owner: host, pid and 16 random hex digits, never twice. */
static void
test_owner_unique(void **state)
{
	char	 a[OUTBOX_OWNER_MAX], b[OUTBOX_OWNER_MAX], small[16];
	char	 host[256], want[OUTBOX_OWNER_MAX];
	size_t	 n;
	int	 k;

	(void)state;
	assert_int_equal(outbox_owner(a, sizeof(a)), RP_OK);
	assert_int_equal(outbox_owner(b, sizeof(b)), RP_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	k = snprintf(want, sizeof(want), "%.64s:%ld:", host, (long)getpid());
	assert_true(k > 0 && (size_t)k < sizeof(want));
	assert_true(strncmp(a, want, (size_t)k) == 0);
	n = strlen(a + k);
	assert_int_equal(n, 16);
	assert_int_equal(strspn(a + k, "0123456789abcdef"), 16);
	assert_int_equal(strncmp(a, b, (size_t)k), 0);
	/* Too small a buffer is an error, with nothing in it. */
	assert_int_equal(outbox_owner(small, sizeof(small)), RP_ERR_TOO_LARGE);
	assert_string_equal(small, "");
}

/*
 * The claim walks the index of the waiting rows in their order and
 * sorts nothing (no temporary B-tree per claim); and takes the row due
 * first whatever its state.
 */
static void
test_claim_plan(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_row	 row;
	struct rp_errinfo	 ei;
	struct dbq		 q;
	const char		*detail;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];
	int			 got, index = 0, sorts = 0;

	dbq_start(&q, t->db, DB_OUTBOX_DUE_PLAN);
	dbq_int(&q, NOW);
	dbq_int(&q, 1);
	while (dbq_step(&q)) {
		detail = dbq_col_text(&q, 3);
		assert_non_null(detail);
		print_message("plan: %s\n", detail);
		if (strstr(detail, "TEMP B-TREE") != NULL)
			sorts++;
		if (strstr(detail, "outbox_waiting") != NULL)
			index++;
	}
	assert_int_equal(dbq_end(&q), RP_OK);
	assert_int_equal(sorts, 0);
	assert_int_equal(index, 1);
	/* A sent row due before a pending one is taken first. */
	cert(t, "A1", NULL);
	cert(t, "A2", NULL);
	queue(t, ACT_REVOKE, "A1", NULL, id);
	queue(t, ACT_REVOKE, "A2", NULL, id2);
	(void)udb_raw(t, "UPDATE outbox SET state = 'sent', next_attempt_at = "
	    "1767311999000 WHERE id = 2");
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(row.id, 2);
	assert_int_equal(row.sent, 1);
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(row.id, 1);
}

/*
 * Rows claimed in a batch (one transaction, a lease on each) are handed
 * to the CA one per turn.  What is decided at the call still is: a
 * revocation handled earlier in the batch supersedes a suspension of
 * the same certificate later in it, and a row whose request another row
 * of the batch failed is given back unsent, as it was.  A stopping
 * relay gives back the rows it has not handed on.  Batches are claimed
 * only while the CA answers fast: a slow call gives the rest back for
 * other relays, and the next claim takes one row.
 */
static void
test_batch(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_batch	*b;
	struct outbox_report	 rep;
	struct rp_errinfo	 ei;
	char			 sid[RP_ID_LEN + 1], rid[RP_ID_LEN + 1];
	char			 tid[RP_ID_LEN + 1];

	assert_non_null(b = calloc(1, sizeof(*b)));
	oc.batch = 4;
	/* The first claim of a relay takes one row; one fast turn later,
	 * a batch.  Here the CA is known to be fast. */
	b->fast = 1;
	cert(t, "B1", NULL);
	cert(t, "B2", "CARD-B");
	cert(t, "B3", "CARD-B");
	queue(t, ACT_SUSPEND, "B1", NULL, sid);
	queue(t, ACT_REVOKE, "B1", NULL, rid);
	queue(t, ACT_SUSPEND, NULL, "CARD-B", tid);
	/* The revocation due first, then the suspension, then the card. */
	(void)udb_raw(t, "UPDATE outbox SET next_attempt_at = next_attempt_at "
	    "+ 1 WHERE id = 1; UPDATE outbox SET next_attempt_at = "
	    "next_attempt_at + 2 WHERE id > 2");
	tnow = NOW + 10;
	rep = run_b(t, &oc, b);
	assert_int_equal(rep.result, OB_DONE);
	assert_string_equal(rep.public_id, rid);
	/* All four taken in one claim, each leased. */
	assert_int_equal(b->n, 4);
	assert_int_equal(b->next, 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "lease_owner = '" OWNER "' AND lease_until = 1767312060010"), 3);
	rep = run_b(t, &oc, b);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(rep.superseded, 1);
	assert_string_equal(rep.public_id, sid);
	assert_int_equal(td.delivers, 1);
	/* The card: its first row refused, the second not sent. */
	answer(&td.deliver, CA_PERMANENT, 404, "unknown");
	rep = run_b(t, &oc, b);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(state_of(t, tid), RS_FAILED);
	rep = run_b(t, &oc, b);
	assert_int_equal(rep.result, OB_MOVED);
	assert_int_equal(rep.moved_to, RS_FAILED);
	assert_int_equal(rep.calls, 0);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(udb_raw(t, "SELECT state = 'pending' AND lease_owner "
	    "IS NULL AND first_sent_at IS NULL AND attempts = 0 FROM outbox "
	    "WHERE id = 4"), 1);
	assert_int_equal(run_b(t, &oc, b).result, OB_NONE);
	assert_int_equal(b->n, 0);

	/* Stopping: the rows not handed on go back as they were. */
	cert(t, "B4", NULL);
	cert(t, "B5", NULL);
	cert(t, "B6", NULL);
	queue(t, ACT_REVOKE, "B4", NULL, rid);
	queue(t, ACT_REVOKE, "B5", NULL, rid);
	queue(t, ACT_REVOKE, "B6", NULL, rid);
	answer(&td.deliver, CA_DONE, 200, "revoked");
	assert_int_equal(run_b(t, &oc, b).result, OB_DONE);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "lease_owner IS NOT NULL AND first_sent_at IS NOT NULL"), 2);
	tstop = 1;
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(outbox_run(t->db, &t->cfg.policy, &oc, b, &tdriver,
	    NULL, "https://ca.test", &rep, &ei), RP_OK);
	assert_int_equal(rep.result, OB_NONE);
	assert_int_equal(b->n, 0);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'pending' AND lease_owner IS NULL AND first_sent_at IS "
	    "NULL"), 3);
	assert_int_equal(td.delivers, 3);
	/* outbox_batch_release() on an empty batch is a no-op. */
	assert_int_equal(outbox_batch_release(t->db, &oc, b, tnow), RP_OK);

	/* A slow CA: the rest goes back, then one row at a time. */
	tstop = 0;
	td.deliver_ms = 60;
	assert_int_equal(run_b(t, &oc, b).result, OB_DONE);
	assert_int_equal(b->fast, 0);
	assert_int_equal(b->n, 0);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'pending' AND lease_owner IS NULL AND first_sent_at IS "
	    "NULL"), 2);
	/* One row claimed: the other stayed free all along. */
	assert_int_equal(run_b(t, &oc, b).result, OB_DONE);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "state = 'pending' AND lease_owner IS NULL AND first_sent_at IS "
	    "NULL"), 1);
	/* Fast again: the next claim takes a batch. */
	td.deliver_ms = 0;
	cert(t, "B7", NULL);
	cert(t, "B8", NULL);
	cert(t, "B9", NULL);
	queue(t, ACT_REVOKE, "B7", NULL, rid);
	queue(t, ACT_REVOKE, "B8", NULL, rid);
	queue(t, ACT_REVOKE, "B9", NULL, rid);
	assert_int_equal(run_b(t, &oc, b).result, OB_DONE);
	assert_int_equal(b->n, 1);
	assert_int_equal(b->fast, 1);
	assert_int_equal(run_b(t, &oc, b).result, OB_DONE);
	assert_int_equal(b->n, 2);
	assert_int_equal(run_b(t, &oc, b).result, OB_DONE);
	assert_int_equal(run_b(t, &oc, b).result, OB_NONE);
	assert_int_equal(td.delivers, 8);
	free(b);
	audit_ok(t);
}

/* The queue's figures, from the database, and their text. */
static void
test_stats(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_stats	 st;
	struct buf		 b;
	char			 id[RP_ID_LEN + 1], id2[RP_ID_LEN + 1];

	assert_int_equal(outbox_stats(t->db, NOW, &st), RP_OK);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.oldest_ms, 0);
	assert_int_equal(st.next_due, 0);
	cert(t, "DA", NULL);
	cert(t, "DB", NULL);
	queue(t, ACT_REVOKE, "DA", NULL, id);
	queue(t, ACT_SUSPEND, "DB", NULL, id2);
	assert_int_equal(outbox_stats(t->db, NOW + 2500, &st), RP_OK);
	assert_int_equal(st.depth, 2);
	assert_int_equal(st.oldest_ms, 2500);
	assert_int_equal(st.next_due, NOW);
	buf_init(&b, 4096);
	assert_int_equal(outbox_render_queue(&b, "revportal_outbox", &st),
	    RP_OK);
	assert_string_equal(b.p,
	    "# HELP revportal_outbox_queue_depth Outbox rows waiting for the "
	    "CA.\n"
	    "# TYPE revportal_outbox_queue_depth gauge\n"
	    "revportal_outbox_queue_depth 2\n"
	    "# HELP revportal_outbox_oldest_age_seconds Age of the oldest "
	    "outbox row waiting for the CA.\n"
	    "# TYPE revportal_outbox_oldest_age_seconds gauge\n"
	    "revportal_outbox_oldest_age_seconds 2.500\n");
	buf_free(&b);
	/* One fails (no longer waiting), one backs off: due later. */
	answer(&td.deliver, CA_PERMANENT, 404, "unknown");
	assert_int_equal(run(t, &oc).result, OB_DEAD);
	answer(&td.deliver, CA_RETRY, 503, "busy");
	assert_int_equal(run(t, &oc).result, OB_RETRY);
	assert_int_equal(outbox_stats(t->db, NOW, &st), RP_OK);
	assert_int_equal(st.depth, 1);
	assert_int_equal(st.next_due, udb_raw(t, "SELECT next_attempt_at FROM "
	    "outbox WHERE state = 'pending'"));
	assert_true(st.next_due >= NOW + 400 && st.next_due <= NOW + 600);
	/* A lease that runs longer than the backoff: due when it ends. */
	(void)udb_raw(t, "UPDATE outbox SET lease_owner = 'x', lease_until = "
	    "1767312099000 WHERE state = 'pending'");
	assert_int_equal(outbox_stats(t->db, NOW, &st), RP_OK);
	assert_int_equal(st.next_due, NOW + 99000);
}

/* The relay's metrics text: outcomes, call times, completion times. */
static void
test_metrics_text(void **state)
{
	struct outbox_metrics	 m;
	struct outbox_report	 rep;
	struct outbox_stats	 st;
	struct buf		 b;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&rep, 0, sizeof(rep));
	rep.result = OB_DONE;
	rep.calls = 2;
	rep.call_seconds[0] = 0.02;
	rep.call_seconds[1] = 40;
	rep.completed = 1;
	rep.completion_ms = 4500;
	outbox_metrics_count(&m, &rep);
	memset(&rep, 0, sizeof(rep));
	rep.result = OB_RETRY;
	rep.calls = 1;
	rep.call_seconds[0] = -1;
	outbox_metrics_count(&m, &rep);
	rep.result = OB_MOVED;		/* not a delivery outcome */
	rep.calls = 0;
	outbox_metrics_count(&m, &rep);
	rep.result = OB_NONE;
	outbox_metrics_count(&m, &rep);
	memset(&st, 0, sizeof(st));
	st.depth = 3;
	st.oldest_ms = 61001;
	buf_init(&b, OUTBOX_METRICS_MAX);
	assert_int_equal(outbox_metrics_render(&m, &st, 1767312000123LL, &b),
	    RP_OK);
	assert_non_null(strstr(b.p, "\nrevportal_relay_queue_depth 3\n"));
	assert_non_null(strstr(b.p,
	    "\nrevportal_relay_oldest_age_seconds 61.001\n"));
	assert_non_null(strstr(b.p, "# TYPE revportal_relay_deliveries_total "
	    "counter\n"
	    "revportal_relay_deliveries_total{outcome=\"done\"} 1\n"
	    "revportal_relay_deliveries_total{outcome=\"pending\"} 0\n"
	    "revportal_relay_deliveries_total{outcome=\"retry\"} 1\n"
	    "revportal_relay_deliveries_total{outcome=\"dead\"} 0\n"));
	/* What one observation is: a driver call, not an HTTP request. */
	assert_non_null(strstr(b.p, "# HELP revportal_relay_delivery_seconds "
	    "Time of one CA driver call, a delivery or a check (an EJBCA "
	    "delivery is two HTTP requests: the revoke and the status).\n"));
	assert_non_null(strstr(b.p, "# TYPE revportal_relay_delivery_seconds "
	    "histogram\n"
	    "revportal_relay_delivery_seconds_bucket{le=\"0.01\"} 1\n"
	    "revportal_relay_delivery_seconds_bucket{le=\"0.025\"} 2\n"));
	assert_non_null(strstr(b.p,
	    "revportal_relay_delivery_seconds_bucket{le=\"30\"} 2\n"
	    "revportal_relay_delivery_seconds_bucket{le=\"+Inf\"} 3\n"
	    "revportal_relay_delivery_seconds_sum 40.020000\n"
	    "revportal_relay_delivery_seconds_count 3\n"));
	assert_non_null(strstr(b.p,
	    "revportal_relay_completion_seconds_bucket{le=\"1\"} 0\n"
	    "revportal_relay_completion_seconds_bucket{le=\"5\"} 1\n"));
	assert_non_null(strstr(b.p,
	    "revportal_relay_completion_seconds_bucket{le=\"+Inf\"} 1\n"
	    "revportal_relay_completion_seconds_sum 4.500\n"
	    "revportal_relay_completion_seconds_count 1\n"));
	assert_non_null(strstr(b.p, "\nrevportal_relay_metrics_timestamp_"
	    "seconds 1767312000.123\n"));
	assert_int_equal(b.p[b.len - 1], '\n');
	/* Without the queue, its gauges are left out. */
	buf_reset(&b);
	assert_int_equal(outbox_metrics_render(&m, NULL, 0, &b), RP_OK);
	assert_null(strstr(b.p, "queue_depth"));
	/* A buffer too small is an error, not a cut text. */
	buf_free(&b);
	buf_init(&b, 256);
	assert_int_equal(outbox_metrics_render(&m, &st, 0, &b),
	    RP_ERR_NOMEM);
	buf_free(&b);
}

/* Writes text to path (len bytes), replacing it. */
static void
put_file(const char *path, const char *text, size_t len)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/*
 * The web's /metrics: the queue from the database (so it shows while the
 * relay is down), and the relay's file when it is set, readable, and
 * text; a missing or strange file is left out, never an error.
 */
static void
test_web_metrics(void **state)
{
	static const char relay_text[] = "# TYPE revportal_relay_x gauge\n"
	    "revportal_relay_x 7\n";
	struct udb		*t = *state;
	struct req		 req;
	char			 id[RP_ID_LEN + 1], path[128];

	cert(t, "EA", NULL);
	queue(t, ACT_SUSPEND, "EA", NULL, id);
	(void)snprintf(path, sizeof(path), "%s/relay.prom", t->dir);
	(void)snprintf(t->cfg.relay_metrics_file,
	    sizeof(t->cfg.relay_metrics_file), "%s", path);
	memset(&req, 0, sizeof(req));
	req.cfg = &t->cfg;
	req.db = t->db;
	assert_non_null(req.metrics = metrics_create());
	resp_init(&req.resp);

	/* No file yet: the portal's figures and the queue. */
	assert_int_equal(h_metrics(&req), RP_OK);
	assert_non_null(strstr(req.resp.body.p, "\nrevportal_up 1\n"));
	assert_non_null(strstr(req.resp.body.p,
	    "\nrevportal_outbox_queue_depth 1\n"));
	assert_non_null(strstr(req.resp.body.p,
	    "\nrevportal_outbox_oldest_age_seconds "));
	assert_null(strstr(req.resp.body.p, "revportal_relay_x"));

	put_file(path, relay_text, sizeof(relay_text) - 1);
	resp_reset(&req.resp);
	assert_int_equal(h_metrics(&req), RP_OK);
	assert_non_null(strstr(req.resp.body.p, relay_text));
	assert_int_equal(req.resp.body.p[req.resp.body.len - 1], '\n');

	/* Cut short (no final line end), not UTF-8, a directory: left out. */
	put_file(path, relay_text, sizeof(relay_text) - 2);
	resp_reset(&req.resp);
	assert_int_equal(h_metrics(&req), RP_OK);
	assert_null(strstr(req.resp.body.p, "revportal_relay_x"));
	assert_non_null(strstr(req.resp.body.p, "revportal_outbox_queue"));
	put_file(path, "revportal_relay_x \xff\n", 20);
	resp_reset(&req.resp);
	assert_int_equal(h_metrics(&req), RP_OK);
	assert_null(strstr(req.resp.body.p, "revportal_relay_x"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	resp_reset(&req.resp);
	assert_int_equal(h_metrics(&req), RP_OK);
	assert_null(strstr(req.resp.body.p, "revportal_relay_x"));
	assert_int_equal(rmdir(path), 0);

	/* Without a database: no queue lines, still an answer. */
	req.db = NULL;
	resp_reset(&req.resp);
	assert_int_equal(h_metrics(&req), RP_OK);
	assert_null(strstr(req.resp.body.p, "revportal_outbox_queue"));
	resp_free(&req.resp);
	metrics_destroy(req.metrics);
}

/*
 * A recovery's fixture: an old personal certificate (PEM, registered,
 * subject person PNOSI-RC), a queued recovery of it with a CSR for a new
 * key, and the certificate the "CA" issues for that key.
 */
struct rfix {
	EVP_PKEY	*old, *nk;
	char		*old_pem, *csr, *issued;
	char		 id[RP_ID_LEN + 1];
};

static void
rfix_make(struct udb *t, struct rfix *f)
{
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	f->old = ucsr_ec_key("P-256");
	f->nk = ucsr_ec_key("P-256");
	f->old_pem = ucsr_cert(f->old, ucsr_name("PNOSI-RC", NULL,
	    "Rec Holder"), 0x7E01, T0, T0 + 5 * 365 * DAY);
	(void)ucsr_import(t, f->old_pem, CT_PERSONAL, T0);
	f->csr = ucsr_req(f->nk, ucsr_name("PNOSI-RC", NULL, "Rec Holder"),
	    EVP_sha256());
	f->issued = ucsr_cert(f->nk, ucsr_name("PNOSI-RC", NULL, "Rec Holder"),
	    0x7E02, NOW, NOW + 5 * 365 * DAY);
	memset(&n, 0, sizeof(n));
	n.action = ACT_RECOVER;
	n.serial = "7E01";
	n.reason = REASON_UNSPECIFIED;
	n.actor.channel = CH_API;
	n.actor.auth = AUTH_SIGNATURE;
	n.actor.name = "person:PNOSI-RC";
	n.actor.person = udb_raw(t, "SELECT id FROM persons WHERE person_id "
	    "= 'PNOSI-RC'");
	n.actor.signature = "\x30\x80sig";
	n.actor.siglen = 5;
	n.actor.signer_sha256 = "ab";
	n.csr_pem = f->csr;
	n.now = NOW;
	if (lc_create(t->db, &t->cfg.policy, &n, &res, &ei) != RP_OK)
		fail_msg("lc_create: %s: %s", ei.code, ei.msg);
	assert_int_equal(res.state, RS_QUEUED);
	memcpy(f->id, res.public_id, sizeof(f->id));
	/* The CA answers the enrolment with the certificate for nk. */
	answer(&td.enroll, CA_DONE, 200, "issued");
	(void)snprintf(td.enroll.issued_pem, sizeof(td.enroll.issued_pem),
	    "%s", f->issued);
	answer(&td.deliver, CA_DONE, 200, "revoked (superseded)");
}

static void
rfix_free(struct rfix *f)
{
	EVP_PKEY_free(f->old);
	EVP_PKEY_free(f->nk);
	free(f->old_pem);
	free(f->csr);
	free(f->issued);
}

/*
 * A recovery: the CA issues the new certificate for the CSR (enroll,
 * with the CSR, type, person and the EJBCA names), which is kept in the
 * row at once; then the old certificate is revoked as superseded; the
 * request completes, its recoveries row gets the new certificate, the
 * registry the new certificate (the old one's person, type and term, no
 * token), and the old certificate is revoked.
 */
static void
test_recover_issue_then_revoke(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct rfix		 f;

	rfix_make(t, &f);
	oc.ejbca_ca_name = "QCA";
	oc.ejbca_cert_profile = "CP";
	oc.ejbca_ee_profile = "EEP";
	td.t = t;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_true(rep.completed);
	assert_int_equal(td.enrolls, 1);
	assert_string_equal(td.enroll_csr, f.csr);
	assert_string_equal(td.enroll_type, "personal");
	assert_string_equal(td.enroll_person, "PNOSI-RC");
	assert_string_equal(td.enroll_names, "QCA/CP/EEP");
	/* The revocation: the old certificate, superseded. */
	assert_int_equal(td.delivers, 1);
	assert_int_equal(td.action, ACT_REVOKE);
	assert_int_equal(td.reason, REASON_SUPERSEDED);
	assert_string_equal(td.serial, "7E01");
	assert_int_equal(state_of(t, f.id), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "issued_pem IS NOT NULL AND state = 'done'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM recoveries WHERE "
	    "new_serial = '7E02' AND new_pem LIKE '-----BEGIN CERTIFICATE%' "
	    "AND issued_at = 1767312000000"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates n "
	    "JOIN certificates o ON o.serial = '7E01' WHERE n.serial = '7E02' "
	    "AND n.person_id = o.person_id AND n.type = 'personal' AND "
	    "n.term_years = 5 AND n.token_id IS NULL AND n.status = 'valid'"),
	    1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E01' AND status = 'revoked' AND reason = "
	    "'superseded'"), 1);
	assert_int_equal(audits(t, "outbox.issued", "system:relay"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE action "
	    "= 'certificate.import' AND json_extract(details, '$.replaces') = "
	    "'7E01'"), 1);
	audit_ok(t);
	rfix_free(&f);
}

/*
 * The relay stops (or crashes) after the CA issued: the certificate is
 * kept, so the next turn never enrols again and goes on with the
 * revocation; a revocation that failed transiently likewise.
 */
static void
test_recover_never_issues_twice(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct rfix		 f;

	rfix_make(t, &f);
	td.stop_in_enroll = 1;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_RELEASED);
	assert_int_equal(td.enrolls, 1);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "issued_pem IS NOT NULL AND lease_owner IS NULL AND state = "
	    "'pending'"), 1);
	assert_int_equal(state_of(t, f.id), RS_QUEUED);

	/* Restarted: a transient failure of the revocation. */
	tstop = 0;
	td.stop_in_enroll = 0;
	answer(&td.deliver, CA_RETRY, 503, "unavailable");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_RETRY);
	assert_int_equal(td.enrolls, 1);
	assert_int_equal(td.delivers, 1);
	assert_int_equal(td.action, ACT_REVOKE);

	/* Then it goes through: still one enrolment. */
	answer(&td.deliver, CA_DONE, 200, "revoked");
	tnow += 3600000;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DONE);
	assert_int_equal(td.enrolls, 1);
	/* It may have reached the CA: checked first, as any revocation. */
	assert_int_equal(td.checks, 1);
	assert_int_equal(td.delivers, 2);
	assert_int_equal(state_of(t, f.id), RS_COMPLETED);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM recoveries WHERE "
	    "new_serial = '7E02'"), 1);
	audit_ok(t);
	rfix_free(&f);
}

/*
 * The CA refuses the CSR: the row is dead and the request failed with
 * the CA's words, like a refused revocation; nothing was revoked or
 * registered.  A transient failure of the enrolment is tried again.
 */
static void
test_recover_refused(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct request		 r;
	struct rfix		 f;

	rfix_make(t, &f);
	answer(&td.enroll, CA_RETRY, 503, "CA offline");
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_RETRY);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "issued_pem IS NULL AND attempts = 1"), 1);

	answer(&td.enroll, CA_PERMANENT, 400, "the CSR's key is in use");
	tnow += 3600000;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.enrolls, 2);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(lc_get(t->db, f.id, &r), RP_OK);
	assert_int_equal(r.state, RS_FAILED);
	assert_non_null(strstr(r.outcome, "the CSR's key is in use"));
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates WHERE "
	    "serial = '7E01' AND status = 'valid'"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM certificates"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM recoveries WHERE "
	    "new_serial IS NULL"), 1);
	audit_ok(t);
	rfix_free(&f);
}

/*
 * A certificate the CA issued that does not carry the CSR's key (or is
 * no certificate) is not kept and the old one not revoked: dead, for an
 * officer.
 */
static void
test_recover_issued_wrong_key(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_report	 rep;
	struct request		 r;
	struct rfix		 f;
	char			*other;

	rfix_make(t, &f);
	other = ucsr_cert(f.old, ucsr_name("PNOSI-RC", NULL, "Rec Holder"),
	    0x7E03, NOW, NOW + DAY);
	(void)snprintf(td.enroll.issued_pem, sizeof(td.enroll.issued_pem),
	    "%s", other);
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.delivers, 0);
	assert_int_equal(lc_get(t->db, f.id, &r), RP_OK);
	assert_int_equal(r.state, RS_FAILED);
	assert_non_null(strstr(r.outcome, "not for the request's key"));
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM outbox WHERE "
	    "issued_pem IS NULL"), 1);
	free(other);
	rfix_free(&f);

	/* A driver that answers done without a certificate. */
	t = *state;
	(void)udb_raw(t, "UPDATE requests SET state = 'queued'");
	(void)udb_raw(t, "UPDATE outbox SET state = 'pending', "
	    "next_attempt_at = 0");
	answer(&td.enroll, CA_DONE, 200, "issued?");
	tnow += 1000;
	rep = run(t, &oc);
	assert_int_equal(rep.result, OB_DEAD);
	assert_int_equal(td.delivers, 0);
}

/*
 * A recovery row's payload carries csr, type and person, and only a
 * recovery's may: a row that lacks them, or another action's that has
 * them, is damaged and sent to no CA.
 */
static void
test_recover_payload_checked(void **state)
{
	struct udb		*t = *state;
	struct outbox_conf	 oc = conf(OWNER);
	struct outbox_row	 row;
	struct rp_errinfo	 ei;
	struct rfix		 f;
	int			 got;

	rfix_make(t, &f);
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_int_equal(got, 1);
	assert_false(row.damaged);
	assert_int_equal(row.job.action, ACT_RECOVER);
	assert_int_equal(row.job.reason, REASON_SUPERSEDED);
	assert_string_equal(row.job.csr_pem, f.csr);
	assert_string_equal(row.job.cert_type, "personal");
	assert_string_equal(row.job.person, "PNOSI-RC");
	assert_string_equal(row.issued_pem, "");

	(void)udb_raw(t, "UPDATE outbox SET lease_until = NULL, payload = "
	    "json_remove(payload, '$.csr')");
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_true(row.damaged);
	(void)udb_raw(t, "UPDATE outbox SET lease_until = NULL, payload = "
	    "json_set(payload, '$.csr', 'x', '$.action', 'revoke')");
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_true(row.damaged);
	(void)udb_raw(t, "UPDATE outbox SET lease_until = NULL, payload = "
	    "json_set(payload, '$.action', 'recover', '$.type', 'car')");
	assert_int_equal(outbox_claim(t->db, &oc, NOW, &row, &got, &ei),
	    RP_OK);
	assert_true(row.damaged);
	rfix_free(&f);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, udb_teardown)
	const struct CMUnitTest tests[] = {
		T(test_claim_and_lease),
		T(test_recover_issue_then_revoke),
		T(test_recover_never_issues_twice),
		T(test_recover_refused),
		T(test_recover_issued_wrong_key),
		T(test_recover_payload_checked),
		T(test_done_completes),
		T(test_token_needs_every_row),
		T(test_token_partly_done),
		cmocka_unit_test(test_backoff_function),
		T(test_retry_backs_off),
		T(test_permanent_fails),
		T(test_pending_rechecked),
		T(test_crash_checked_first),
		T(test_moved_not_overwritten),
		T(test_officer_retry),
		T(test_stop_releases),
		T(test_record_faults),
		T(test_damaged_payload),
		T(test_revocation_supersedes),
		T(test_revocation_sent_supersedes),
		T(test_suspension_waits_for_revocation),
		T(test_pending_gives_up),
		T(test_moved_sent_rows_checked),
		T(test_reject_applies_late_rows),
		T(test_lease_renewed),
		cmocka_unit_test(test_owner_unique),
		T(test_claim_plan),
		T(test_batch),
		T(test_stats),
		cmocka_unit_test(test_metrics_text),
		T(test_web_metrics),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
