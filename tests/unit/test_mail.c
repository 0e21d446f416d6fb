/*
 * Unit tests of mail.c: who is told what about a request (a real SQLite
 * database, the registry and lifecycle.c making the events), the message
 * on the wire, the [mail] settings check, and sending over SMTP to a real
 * server on loopback (tests/integration/smtpsink.py, Debian's aiosmtpd),
 * with a server that is down, refuses a recipient or lacks STARTTLS.
 * Run from the top of the repository.
 */
#include <strings.h>

#include <openssl/evp.h>

#include "unit.h"
#include "unit_db.h"
#include "unit_proc.h"

#define DAY	(24LL * 3600 * 1000)
#define T0	1767225600000LL		/* 2026-01-01T00:00:00Z */
#define PORTAL	"https://portal.test"
#define OWNER	"test-host:1:0011223344556677"

int		 mail_addr_ok(const char *);
const char	*mail_state_words(enum req_state, unsigned int);
enum rp_err	 mail_message(struct buf *, const char *, const char *,
		    const char *, const char *, int64_t, int64_t, int64_t);

static const char issuer[] = "CN=Test Qualified CA,O=Test TSP,C=SI";

/* The configuration every test starts from: mail on, to port 25. */
static int
setup(void **state)
{
	struct udb	*t;

	if (udb_setup(state) != 0)
		return -1;
	t = *state;
	(void)snprintf(t->cfg.mail_url, sizeof(t->cfg.mail_url),
	    "smtp://127.0.0.1:25");
	t->cfg.mail_allow_plain = 1;
	(void)snprintf(t->cfg.portal_url, sizeof(t->cfg.portal_url), PORTAL);
	(void)snprintf(t->cfg.site_name, sizeof(t->cfg.site_name),
	    "Test Portal");
	(void)snprintf(t->cfg.hotline, sizeof(t->cfg.hotline),
	    "+386 1 234 5678");
	t->cfg.mail_timeout_ms = 3000;
	mail_setup(&t->cfg);
	return 0;
}

static int
teardown(void **state)
{
	struct config	 off;

	conf_defaults(&off);
	mail_setup(&off);
	return udb_teardown(state);
}

/* Registers a certificate; email "" for none.  Returns its row. */
static int64_t
cert(struct udb *t, const char *serial, enum cert_type ty,
    const char *person, const char *email, const char *org,
    const char *token)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	int64_t			 id = 0;
	size_t			 i;
	unsigned int		 h = 7;

	memset(&ci, 0, sizeof(ci));
	(void)snprintf(ci.issuer, sizeof(ci.issuer), "%s", issuer);
	(void)snprintf(ci.subject, sizeof(ci.subject), "CN=Holder %s,C=SI",
	    serial);
	(void)snprintf(ci.serial, sizeof(ci.serial), "%s", serial);
	(void)snprintf(ci.common_name, sizeof(ci.common_name), "Holder %s",
	    serial);
	(void)snprintf(ci.email, sizeof(ci.email), "%s", email);
	if (org != NULL) {
		(void)snprintf(ci.org_id, sizeof(ci.org_id), "%s", org);
		(void)snprintf(ci.org_name, sizeof(ci.org_name), "Firma");
	}
	if (person != NULL)
		(void)snprintf(ci.person_id, sizeof(ci.person_id), "%s",
		    person);
	(void)snprintf(ci.aki, sizeof(ci.aki), "0A0B0C");
	for (i = 0; serial[i] != '\0'; i++)
		h = h * 31 + (unsigned char)serial[i];
	(void)snprintf(ci.sha256, sizeof(ci.sha256), "%064x", h);
	ci.not_before = T0;
	ci.not_after = T0 + 5 * 365 * DAY;
	ci.pem = (char *)"-----BEGIN CERTIFICATE-----\n-----END "
	    "CERTIFICATE-----\n";
	memset(&ri, 0, sizeof(ri));
	ri.type = ty;
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
	return id;
}

/* Registers pid (email, may be NULL) as legal rep of org from..to. */
static void
rep(struct udb *t, const char *org, const char *pid, const char *email,
    int64_t from, int64_t to)
{
	struct rp_errinfo	 ei;
	char			 name[64];

	(void)snprintf(name, sizeof(name), "Rep %s", pid);
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_rep_add(t->db, org, "Firma", pid, name, email, from, to,
	    "admin:test", T0, &ei) != RP_OK)
		fail_msg("rep: %s %s", ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
}

static int64_t
person(struct udb *t, const char *pid)
{
	char	 sql[200];

	(void)snprintf(sql, sizeof(sql), "SELECT id FROM persons WHERE "
	    "person_id = '%s'", pid);
	return udb_raw(t, sql);
}

/* The first column of the first row of sql as text into out ("" if none). */
static void
qtext(struct udb *t, const char *sql, char *out, size_t outsz)
{
	sqlite3		*h;
	sqlite3_stmt	*st;
	const char	*v;

	out[0] = '\0';
	assert_int_equal(sqlite3_open(t->cfg.database, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (v = (const char *)sqlite3_column_text(st, 0)) != NULL)
		(void)snprintf(out, outsz, "%s", v);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* How many queued messages match the SQL condition cond. */
static long long
mails(struct udb *t, const char *cond)
{
	char	 sql[512];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM mail_queue "
	    "WHERE %s", cond);
	return udb_raw(t, sql);
}

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
	n->actor.signature = "SIGBLOBXYZ";
	n->actor.siglen = 10;
	n->actor.signer_sha256 = "ab";
	n->now = now;
}

static struct lc_result
create_ok(struct udb *t, const struct lc_new *n)
{
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	if (lc_create(t->db, &t->cfg.policy, n, &res, &ei) != RP_OK)
		fail_msg("lc_create: %s: %s", ei.code, ei.msg);
	return res;
}

static void
complete(struct udb *t, const char *id, int64_t now)
{
	struct rp_errinfo	 ei;

	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id, RS_RELAYED,
	    "relay", NULL, now, &ei), RP_OK);
	assert_int_equal(lc_transition(t->db, &t->cfg.policy, id,
	    RS_COMPLETED, "relay", NULL, now, &ei), RP_OK);
}

/* The body of the latest message of event to rcpt into out. */
static void
body_of(struct udb *t, const char *event, const char *rcpt, char *out,
    size_t outsz)
{
	char	 sql[300];

	(void)snprintf(sql, sizeof(sql), "SELECT body FROM mail_queue WHERE "
	    "event = '%s' AND rcpt = '%s' ORDER BY id DESC", event, rcpt);
	qtext(t, sql, out, outsz);
	if (out[0] == '\0')
		fail_msg("no %s message to %s", event, rcpt);
}

/*
 * A personal certificate suspended by passphrase: the holder hears of
 * the receipt and of the completion, with the certificate, the status
 * page and how to reactivate; queued and relayed tell nobody.
 */
static void
test_personal_suspension(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	char			 b[8192], url[128], s[512];

	(void)cert(t, "1A", CT_PERSONAL, "PNOSI-1", "ana@example.si", NULL,
	    NULL);
	pass_req(&n, ACT_SUSPEND, "1A", T0 + DAY);
	res = create_ok(t, &n);
	assert_int_equal(mails(t, "1"), 1);
	assert_int_equal(mails(t, "event = 'received' AND rcpt = "
	    "'ana@example.si' AND state = 'pending' AND attempts = 0"), 1);
	(void)snprintf(url, sizeof(url), PORTAL "/requests/%s",
	    res.public_id);
	body_of(t, "received", "ana@example.si", b, sizeof(b));
	assert_non_null(strstr(b, "Hello Holder 1A,"));
	assert_non_null(strstr(b, "to suspend the certificate below"));
	assert_non_null(strstr(b, url));
	assert_non_null(strstr(b, "1A"));
	assert_non_null(strstr(b, "personal"));
	assert_non_null(strstr(b, "CN=Holder 1A,C=SI"));
	assert_non_null(strstr(b, PORTAL "/reactivate"));
	assert_non_null(strstr(b, "+386 1 234 5678"));
	/* Queued at once: the state it is in once told, in words. */
	assert_non_null(strstr(b, "\nState:          on its way to the "
	    "certification authority\n"));
	assert_null(strstr(b, "awaiting"));
	assert_null(strstr(b, "waiting for the signatures"));
	qtext(t, "SELECT subject FROM mail_queue", s, sizeof(s));
	assert_string_equal(s, "[Test Portal] Suspension of certificate 1A: "
	    "request received");

	complete(t, res.public_id, T0 + DAY + 1000);
	assert_int_equal(mails(t, "1"), 2);
	body_of(t, "completed", "ana@example.si", b, sizeof(b));
	assert_non_null(strstr(b, "has been carried out"));
	assert_non_null(strstr(b, "suspended"));
	assert_non_null(strstr(b, "Suspended to:"));
	assert_non_null(strstr(b, "\nState:          carried out\n"));
	assert_non_null(strstr(b, PORTAL "/reactivate"));
	assert_non_null(strstr(b, url));
	assert_int_equal(mails(t, "event = 'completed' AND subject LIKE "
	    "'%: done'"), 1);
}

/*
 * A business certificate's reactivation asked by its subject: every
 * legal representative in office gets the approval link (not a former
 * one, not one of another organisation, not one without an address);
 * the subject gets "received".  After one rep signs and it completes:
 * the subject and that rep hear of it, the other rep does not.
 */
static void
test_business_reactivation(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res, res2;
	struct lc_actor		 a;
	struct rp_errinfo	 ei;
	char			 b[8192], link[128], id[RP_ID_LEN + 1];

	(void)cert(t, "2B", CT_BUSINESS, "PNOSI-2", "sub@example.si",
	    "VATSI-1", NULL);
	rep(t, "VATSI-1", "PNOSI-10", "rep1@example.si", T0, 0);
	rep(t, "VATSI-1", "PNOSI-11", "rep2@example.si", T0, 0);
	rep(t, "VATSI-1", "PNOSI-12", "old@example.si", T0, T0 + 1000);
	rep(t, "VATSI-1", "PNOSI-14", NULL, T0, 0);
	rep(t, "VATSI-2", "PNOSI-13", "other@example.si", T0, 0);

	pass_req(&n, ACT_SUSPEND, "2B", T0 + DAY);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0 + DAY);
	assert_int_equal(mails(t, "1"), 2);

	sig_req(&n, ACT_REACTIVATE, "2B", person(t, "PNOSI-2"), T0 + 2 * DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);
	memcpy(id, res.public_id, sizeof(id));
	assert_int_equal(mails(t, "event = 'needs_approval'"), 2);
	assert_int_equal(mails(t, "event = 'needs_approval' AND rcpt IN "
	    "('rep1@example.si', 'rep2@example.si')"), 2);
	assert_int_equal(mails(t, "rcpt IN ('old@example.si', "
	    "'other@example.si')"), 0);
	assert_int_equal(mails(t, "event = 'received' AND rcpt = "
	    "'sub@example.si' AND body LIKE '%reactivate the certificate%'"),
	    1);
	(void)snprintf(link, sizeof(link), PORTAL "/approvals/%s", id);
	body_of(t, "needs_approval", "rep1@example.si", b, sizeof(b));
	assert_non_null(strstr(b, link));
	assert_non_null(strstr(b, "Hello Rep PNOSI-10,"));
	assert_non_null(strstr(b, "a legal representative of VATSI-1"));
	assert_non_null(strstr(b, "2026-01-10T00:00:00.000Z"));
	body_of(t, "received", "sub@example.si", b, sizeof(b));
	assert_non_null(strstr(b, "waits for the signature of a legal "
	    "representative"));
	assert_non_null(strstr(b, "\nState:          waiting for the "
	    "signatures it needs\n"));
	assert_null(strstr(b, "/approvals/"));

	/* A rep registered meanwhile; once rep1 signed, nobody needs them. */
	rep(t, "VATSI-1", "PNOSI-15", "rep3@example.si", T0, 0);
	memset(&a, 0, sizeof(a));
	a.channel = CH_API;
	a.auth = AUTH_SIGNATURE;
	a.name = "person:PNOSI-10";
	a.person = person(t, "PNOSI-10");
	a.signature = "SIGBLOBXYZ";
	a.siglen = 10;
	a.signer_sha256 = "cd";
	assert_int_equal(lc_approve(t->db, &t->cfg.policy, id, &a,
	    T0 + 3 * DAY, &res2, &ei), RP_OK);
	assert_int_equal(res2.state, RS_QUEUED);
	/* Nobody is asked again once the request is queued. */
	assert_int_equal(mails(t, "event = 'needs_approval'"), 2);
	assert_int_equal(mails(t, "rcpt = 'rep3@example.si'"), 0);
	complete(t, id, T0 + 3 * DAY);
	assert_int_equal(mails(t, "event = 'completed'"), 3);
	assert_int_equal(mails(t, "event = 'completed' AND request_id = "
	    "(SELECT id FROM requests WHERE action = 'reactivate') AND rcpt "
	    "IN ('sub@example.si', 'rep1@example.si')"), 2);
	assert_int_equal(mails(t, "rcpt = 'rep2@example.si' AND event <> "
	    "'needs_approval'"), 0);
	assert_int_equal(mails(t, "body LIKE '%SIGBLOBXYZ%'"), 0);
}

/*
 * A reactivation asked by a legal rep: the subject person is the party
 * still needed and gets the approval link instead of "received"; the rep
 * who signed is asked nothing.
 */
static void
test_subject_needed(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;

	(void)cert(t, "3B", CT_BUSINESS, "PNOSI-3", "sub3@example.si",
	    "VATSI-3", NULL);
	rep(t, "VATSI-3", "PNOSI-30", "rep30@example.si", T0, 0);
	pass_req(&n, ACT_SUSPEND, "3B", T0 + DAY);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0 + DAY);
	sig_req(&n, ACT_REACTIVATE, "3B", person(t, "PNOSI-30"), T0 + 2 * DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.need, REL_SUBJECT);
	assert_int_equal(mails(t, "event = 'needs_approval'"), 1);
	assert_int_equal(mails(t, "event = 'needs_approval' AND rcpt = "
	    "'sub3@example.si' AND body LIKE '%as the person named in the "
	    "certificate%'"), 1);
	assert_int_equal(mails(t, "rcpt = 'rep30@example.si'"), 0);
	assert_int_equal(mails(t, "event = 'received' AND request_id = "
	    "(SELECT id FROM requests WHERE action = 'reactivate')"), 0);
}

/*
 * One message per recipient per event: an event told twice, and a token
 * whose two certificates name the same person, mail once; an address in
 * another case is the same address.
 */
static void
test_dedupe(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;
	int64_t			 row;

	(void)cert(t, "4A", CT_PERSONAL, "PNOSI-4", "Cene@Example.si", NULL,
	    "CARD-4");
	(void)cert(t, "4B", CT_PERSONAL, "PNOSI-4", NULL, NULL, "CARD-4");
	memset(&n, 0, sizeof(n));
	pass_req(&n, ACT_SUSPEND, NULL, T0 + DAY);
	n.token = "CARD-4";
	res = create_ok(t, &n);
	assert_int_equal(mails(t, "1"), 1);
	assert_int_equal(mails(t, "subject LIKE '%2 certificates of token "
	    "CARD-4%' AND body LIKE '%Certificate 2:%'"), 1);
	row = udb_raw(t, "SELECT id FROM requests");
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(mail_event(t->db, row, "received", T0 + DAY, &ei),
	    RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(mails(t, "1"), 1);
	assert_int_equal(udb_raw(t, "UPDATE persons SET email = "
	    "'cene@example.si'; SELECT changes()"), 1);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(mail_event(t->db, row, "received", T0 + DAY, &ei),
	    RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(mails(t, "1"), 1);
	complete(t, res.public_id, T0 + DAY);
	assert_int_equal(mails(t, "1"), 2);
}

/* A person without an address, and events that tell nobody. */
static void
test_no_address_no_mail(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;
	struct rp_errinfo	 ei;

	(void)cert(t, "5A", CT_PERSONAL, "PNOSI-5", "", NULL, NULL);
	pass_req(&n, ACT_SUSPEND, "5A", T0 + DAY);
	res = create_ok(t, &n);
	assert_int_equal(res.state, RS_QUEUED);
	complete(t, res.public_id, T0 + DAY);
	assert_int_equal(mails(t, "1"), 0);
	/* An address that is not one is skipped as well. */
	assert_int_equal(udb_raw(t, "UPDATE persons SET email = "
	    "'a<b>@example.si'; SELECT changes()"), 1);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(mail_event(t->db, udb_raw(t, "SELECT id FROM "
	    "requests"), "completed", T0 + DAY, &ei), RP_OK);
	assert_int_equal(mail_event(t->db, udb_raw(t, "SELECT id FROM "
	    "requests"), "queued", T0 + DAY, &ei), RP_OK);
	assert_int_equal(mail_event(t->db, udb_raw(t, "SELECT id FROM "
	    "requests"), "relayed", T0 + DAY, &ei), RP_OK);
	assert_int_equal(mail_event(t->db, udb_raw(t, "SELECT id FROM "
	    "requests"), "needs_approval", T0 + DAY, &ei), RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(mails(t, "1"), 0);
	/* An unknown request is an error (the caller rolls back). */
	assert_int_equal(mail_event(t->db, 999, "completed", T0, &ei),
	    RP_ERR_NOT_FOUND);
}

/* With [mail] smtp_url empty nothing is queued at all. */
static void
test_mail_off(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;

	t->cfg.mail_url[0] = '\0';
	mail_setup(&t->cfg);
	(void)cert(t, "6A", CT_PERSONAL, "PNOSI-6", "six@example.si", NULL,
	    NULL);
	pass_req(&n, ACT_SUSPEND, "6A", T0 + DAY);
	res = create_ok(t, &n);
	complete(t, res.public_id, T0 + DAY);
	assert_int_equal(mails(t, "1"), 0);
}

/*
 * Line breaks in registry data (a name, a DN, the site's name) never
 * make a header: the Subject stays one line, the body's values too.
 */
static void
test_no_header_injection(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct buf		 m;
	char			 s[512], b[8192];
	const char		*p;

	(void)snprintf(t->cfg.site_name, sizeof(t->cfg.site_name),
	    "Portal\r\nBcc: evil@attacker.test");
	mail_setup(&t->cfg);
	(void)cert(t, "7A", CT_PERSONAL, "PNOSI-7", "seven@example.si", NULL,
	    NULL);
	assert_int_equal(udb_raw(t, "UPDATE persons SET name = 'Eve' || "
	    "char(13, 10) || 'Bcc: evil@attacker.test'; UPDATE certificates "
	    "SET subject_dn = 'CN=X' || char(10) || 'To: evil2@attacker.test';"
	    " SELECT 1"), 1);
	pass_req(&n, ACT_SUSPEND, "7A", T0 + DAY);
	(void)create_ok(t, &n);
	qtext(t, "SELECT subject FROM mail_queue", s, sizeof(s));
	assert_null(strchr(s, '\r'));
	assert_null(strchr(s, '\n'));
	assert_string_equal(s, "[Portal Bcc: evil@attacker.test] Suspension "
	    "of certificate 7A: request received");
	body_of(t, "received", "seven@example.si", b, sizeof(b));
	assert_non_null(strstr(b, "Hello Eve Bcc: evil@attacker.test,\n"));
	assert_non_null(strstr(b, "CN=X To: evil2@attacker.test\n"));
	for (p = b; (p = strchr(p, '\n')) != NULL; p++) {
		assert_false(strncmp(p + 1, "Bcc:", 4) == 0);
		assert_false(strncmp(p + 1, "To:", 3) == 0);
	}
	buf_init(&m, MAIL_MSG_MAX);
	assert_int_equal(mail_message(&m, "portal@example.si",
	    "seven@example.si", s, b, 1, T0, T0), RP_OK);
	p = strstr(m.p, "\r\n\r\n");
	assert_non_null(p);
	assert_null(strstr(m.p, "\r\nBcc:"));
	assert_null(strstr(m.p, "\nBcc:"));
	assert_null(strstr(m.p, "\r\nTo: evil2"));
	buf_free(&m);
}

/*
 * No secret in any message: the passphrase never reaches the lifecycle,
 * but the request's notes and caller name (which a hotline agent might
 * fill with anything) and a signature are left out too.
 */
static void
test_no_secret(void **state)
{
	struct udb		*t = *state;
	struct lc_new		 n;
	struct lc_result	 res;

	(void)cert(t, "8A", CT_PERSONAL, "PNOSI-8", "eight@example.si", NULL,
	    NULL);
	pass_req(&n, ACT_SUSPEND, "8A", T0 + DAY);
	n.notes = "caller said the passphrase was hunter2secret";
	n.caller_name = "hunter2caller";
	res = create_ok(t, &n);
	complete(t, res.public_id, T0 + DAY);
	assert_int_equal(mails(t, "1"), 2);
	assert_int_equal(mails(t, "body LIKE '%hunter2%' OR subject LIKE "
	    "'%hunter2%'"), 0);
	assert_int_equal(mails(t, "body LIKE '%passphrase%'"), 0);
}

/* A certificate without a person: the address in the certificate. */
static void
test_cert_address(void **state)
{
	struct udb		*t = *state;
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	struct lc_new		 n;
	char			 dir[UP_DIR_MAX], kp[128], cp[128], *pem;
	char			 why[128];
	size_t			 len;
	int64_t			 id;
	char			 subj[] = "/CN=www.example.si/O=Firma/"
			    "emailAddress=tls@example.si";

	assert_int_equal(up_tmpdir("rp-mailcert", dir), 0);
	(void)snprintf(kp, sizeof(kp), "%s/k.pem", dir);
	(void)snprintf(cp, sizeof(cp), "%s/c.pem", dir);
	{
		char *const argv[] = { "openssl", "req", "-x509", "-newkey",
		    "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		    "-keyout", kp, "-out", cp, "-days", "30", "-subj", subj,
		    NULL };
		assert_int_equal(up_run(argv, "/dev/null"), 0);
	}
	assert_non_null(pem = rp_read_file(cp, RP_PEM_MAX, &len, why,
	    sizeof(why)));
	memset(&ci, 0, sizeof(ci));
	assert_int_equal(x509_read_pem(pem, len, &ci, &ei), RP_OK);
	assert_string_equal(ci.email, "tls@example.si");
	memset(&ri, 0, sizeof(ri));
	ri.type = CT_TLS;
	ri.term_years = 1;
	ri.actor = "admin:test";
	ri.now = ci.not_before;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import: %s %s", ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
	/* A passphrase revokes what cannot be suspended. */
	pass_req(&n, ACT_REVOKE, ci.serial, ci.not_before + 1000);
	n.reason = REASON_KEY_COMPROMISE;
	(void)create_ok(t, &n);
	assert_int_equal(mails(t, "rcpt = 'tls@example.si' AND event = "
	    "'received' AND body LIKE '%Hello www.example.si,%' AND body "
	    "LIKE '%keyCompromise%' AND body LIKE '%tls%'"), 1);
	cert_info_free(&ci);
	free(pem);
	up_rmrf(dir);
}

/* The address check of envelopes and headers. */
static void
test_addr_ok(void **state)
{
	static const char *const good[] = { "a@b", "ana.novak+x@example.si",
	    "x_y-z@sub.example.co.uk" };
	static const char *const bad[] = { "", "a", "@b", "a@", "a@b@c",
	    "a b@c", "<a@b>", "a@b>", "a,b@c", "a;b@c", "a:b@c", "\"a\"@b",
	    "a\r\n@b", "a@b\r\nRCPT TO:<x@y>", "a(b)@c", "a\\b@c",
	    "ana@\xc5\xa1ola.si", "a\t@b" };
	char	 longa[300];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!mail_addr_ok(good[i]))
			fail_msg("refused %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mail_addr_ok(bad[i]))
			fail_msg("accepted %s", bad[i]);
	assert_false(mail_addr_ok(NULL));
	memset(longa, 'a', sizeof(longa));
	memcpy(longa + 250, "@b.si", 6);
	assert_false(mail_addr_ok(longa));
	memcpy(longa + 246, "@b.si", 6);
	assert_true(mail_addr_ok(longa));	/* 251 bytes */
}

/* The [mail] settings: what is accepted and what is refused, and why. */
static void
test_conf_check(void **state)
{
	static const struct {
		const char	*url;
		int		 plain;
		const char	*from;
		int		 ok;
		const char	*why;
	} v[] = {
		{ "", 0, "x", 1, NULL },
		{ "smtps://mail.example.si:465", 0, NULL, 1, NULL },
		{ "smtp://mail.example.si:587", 0, NULL, 1, NULL },
		{ "smtp://127.0.0.1:2525", 1, NULL, 1, NULL },
		{ "smtp://[::1]:2525", 1, NULL, 1, NULL },
		{ "smtp://127.9.9.9:25/", 1, NULL, 1, NULL },
		{ "smtp://mail.example.si:25", 1, NULL, 0, "loopback" },
		{ "smtp://10.0.0.1:25", 1, NULL, 0, "loopback" },
		{ "smtp://localhost:25", 1, NULL, 0, "loopback" },
		{ "smtps://mail.example.si:465", 1, NULL, 0, "loopback" },
		{ "http://mail.example.si:25", 0, NULL, 0, "smtps://" },
		{ "https://mail.example.si", 0, NULL, 0, "smtps://" },
		{ "mail.example.si:25", 0, NULL, 0, NULL },
		{ "smtp://mail.example.si", 0, NULL, 0, "port" },
		{ "smtps://u:p@mail.example.si:465", 0, NULL, 0, "nothing" },
		{ "smtps://mail.example.si:465/x", 0, NULL, 0, "nothing" },
		{ "smtps://mail.example.si:465?a=b", 0, NULL, 0, "nothing" },
		{ "smtps://mail.example.si:465#f", 0, NULL, 0, "nothing" },
		{ "smtps://mail.example.si:99999", 0, NULL, 0, NULL },
		{ "smtps://:465", 0, NULL, 0, NULL },
		{ "smtps://mail.example.si:465", 0, "nobody", 0, "from" },
		{ "smtps://mail.example.si:465", 0, "a<b>@c.si", 0, "from" },
		{ "smtps://mail.example.si:465", 0, "a@c.si\r\nX: y", 0,
		    "from" },
	};
	struct config	*cfg;
	char		 err[256];
	size_t		 i;
	enum rp_err	 e;

	(void)state;
	assert_non_null(cfg = calloc(1, sizeof(*cfg)));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		conf_defaults(cfg);
		(void)snprintf(cfg->mail_url, sizeof(cfg->mail_url), "%s",
		    v[i].url);
		cfg->mail_allow_plain = v[i].plain;
		if (v[i].from != NULL)
			(void)snprintf(cfg->mail_from, sizeof(cfg->mail_from),
			    "%s", v[i].from);
		err[0] = '\0';
		e = mail_conf_check(cfg, err, sizeof(err));
		if ((e == RP_OK) != v[i].ok)
			fail_msg("%s (plain %d, from %s): %s %s", v[i].url,
			    v[i].plain, v[i].from, rp_err_name(e), err);
		if (!v[i].ok && e != RP_ERR_BAD_INPUT)
			fail_msg("%s: %s", v[i].url, rp_err_name(e));
		if (v[i].why != NULL && strstr(err, v[i].why) == NULL)
			fail_msg("%s: '%s' does not say %s", v[i].url, err,
			    v[i].why);
	}
	free(cfg);
}

/* Decodes the quoted-printable text in [p, end) into out. */
static void
qp_decode(const char *p, const char *end, char *out, size_t outsz)
{
	size_t		 o = 0;
	unsigned int	 v;
	char		 h[3];

	while (p < end && o + 1 < outsz) {
		if (*p == '=' && p + 2 < end + 1 && p[1] == '\r' &&
		    p[2] == '\n') {
			p += 3;
			continue;
		}
		if (*p == '=' && end - p >= 3) {
			h[0] = p[1];
			h[1] = p[2];
			h[2] = '\0';
			v = (unsigned int)strtoul(h, NULL, 16);
			out[o++] = (char)v;
			p += 3;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
}

/*
 * The message on the wire: the headers of RFC 5322 and MIME, an
 * RFC 2047 Subject when it is not ASCII, a quoted-printable body with
 * CRLF line ends and lines of at most 76 characters that decodes back to
 * the text; bad addresses refused.
 */
static void
test_message(void **state)
{
	struct buf	 m;
	char		 body[2000], dec[4000];
	const char	*p, *q, *bodyp;
	size_t		 i;

	(void)state;
	memset(body, 0, sizeof(body));
	(void)snprintf(body, sizeof(body), "Pozdravljeni, \xc5\xa0pela \n"
	    "a=b\ttab \n.dot line\n");
	for (i = strlen(body); i < 400; i++)
		body[i] = (char)('a' + i % 26);
	body[i++] = '\n';
	buf_init(&m, MAIL_MSG_MAX);
	assert_int_equal(mail_message(&m, "portal@example.si",
	    "ana@example.si", "Zahteva \xc5\xa1t. 1: \xc4\x8d\xc5\xbe "
	    "\xf0\x9f\x94\x92 and a rather long subject line that needs "
	    "folding", body, 42, T0, T0 + 1500), RP_OK);
	assert_non_null(strstr(m.p, "From: portal@example.si\r\n"));
	assert_non_null(strstr(m.p, "\r\nTo: ana@example.si\r\n"));
	assert_non_null(strstr(m.p, "\r\nDate: Thu, 01 Jan 2026 00:00:01 "
	    "+0000\r\n"));
	assert_non_null(strstr(m.p, "\r\nMessage-ID: <revportal.42."
	    "1767225600000@example.si>\r\n"));
	assert_non_null(strstr(m.p, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(m.p, "\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\n"));
	assert_non_null(strstr(m.p, "\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n"));
	assert_non_null(strstr(m.p, "\r\nSubject: =?UTF-8?B?"));
	/* Every header line at most 78 characters, folded with a space. */
	bodyp = strstr(m.p, "\r\n\r\n");
	assert_non_null(bodyp);
	for (p = m.p; p < bodyp; p = q + 2) {
		q = strstr(p, "\r\n");
		assert_true(q - p <= 78);
		if (strncmp(p, "=?", 2) == 0)
			fail_msg("a folded line must start with a space");
	}
	/* Each encoded word decodes to valid UTF-8 on its own. */
	for (p = m.p; (p = strstr(p, "=?UTF-8?B?")) != NULL; p = q) {
		unsigned char	 raw[64];
		int		 n;

		p += 10;
		q = strstr(p, "?=");
		assert_non_null(q);
		assert_true(q - p <= 52);
		n = EVP_DecodeBlock(raw, (const unsigned char *)p,
		    (int)(q - p));
		assert_true(n > 0);
		while (n > 0 && raw[n - 1] == '\0' && (q[-1] == '='))
			n--;
		assert_true(rp_utf8_valid((const char *)raw, (size_t)n));
	}
	bodyp += 4;
	for (p = bodyp; *p != '\0'; p = q + 2) {
		q = strstr(p, "\r\n");
		assert_non_null(q);
		assert_true(q - p <= 76);
		for (i = 0; p + i < q; i++)
			assert_true(p[i] != '\n' && p[i] != '\r' &&
			    (unsigned char)p[i] < 0x80);
	}
	assert_non_null(strstr(bodyp, "a=3Db"));
	assert_non_null(strstr(bodyp, "=C5=A0pela=20\r\n"));
	assert_non_null(strstr(bodyp, "\r\n.dot line\r\n"));
	qp_decode(bodyp, m.p + m.len, dec, sizeof(dec));
	{
		char	 want[4000];
		size_t	 o = 0;

		for (p = body; *p != '\0'; p++) {
			if (*p == '\n')
				want[o++] = '\r';
			want[o++] = *p;
		}
		want[o] = '\0';
		assert_string_equal(dec, want);
	}
	/* An ASCII subject stays as it is. */
	buf_reset(&m);
	assert_int_equal(mail_message(&m, "p@example.si", "a@example.si",
	    "Plain", "x\n", 1, 1, T0), RP_OK);
	assert_non_null(strstr(m.p, "\r\nSubject: Plain\r\n"));
	buf_reset(&m);
	assert_int_equal(mail_message(&m, "p@example.si", "a@example.si\r\n"
	    "Bcc: x@y.si", "S", "x\n", 1, 1, T0), RP_ERR_BAD_INPUT);
	assert_int_equal(mail_message(&m, "p@ex>ample.si", "a@example.si",
	    "S", "x\n", 1, 1, T0), RP_ERR_BAD_INPUT);
	buf_free(&m);
}

/* --- Sending, against smtpsink.py ----------------------------------- */

struct sink {
	char	 dir[UP_DIR_MAX];
	char	 msgs[UP_DIR_MAX + 8];
	pid_t	 pid;
	int	 port;
};

static void
sink_start(struct sink *s)
{
	char	 pf[UP_DIR_MAX + 8];

	assert_int_equal(up_tmpdir("rp-smtpsink", s->dir), 0);
	(void)snprintf(s->msgs, sizeof(s->msgs), "%s/msgs", s->dir);
	(void)snprintf(pf, sizeof(pf), "%s/port", s->dir);
	{
		char *const argv[] = { "/usr/bin/python3",
		    "tests/integration/smtpsink.py", "--dir", s->msgs,
		    "--port-file", pf, NULL };
		s->pid = up_spawn(argv, NULL);
	}
	assert_true(s->pid > 0);
	s->port = up_wait_port(pf, s->pid, 10000);
	if (s->port <= 0)
		fail_msg("smtpsink.py did not start");
}

static void
sink_stop(struct sink *s)
{
	up_stop(s->pid);
	up_rmrf(s->dir);
}

/* Reads message n of the sink into out; 0, or -1 when there is none. */
static int
sink_msg(const struct sink *s, int n, const char *ext, char *out,
    size_t outsz)
{
	char	 p[UP_DIR_MAX + 32];
	FILE	*f;
	size_t	 len;

	(void)snprintf(p, sizeof(p), "%s/msg-%d.%s", s->msgs, n, ext);
	if ((f = fopen(p, "r")) == NULL)
		return -1;
	len = fread(out, 1, outsz - 1, f);
	out[len] = '\0';
	(void)fclose(f);
	return 0;
}

/* Points the configuration at the sink (plain SMTP on loopback). */
static void
use_sink(struct udb *t, const struct sink *s)
{
	(void)snprintf(t->cfg.mail_url, sizeof(t->cfg.mail_url),
	    "smtp://127.0.0.1:%d", s->port);
	t->cfg.mail_allow_plain = 1;
	(void)snprintf(t->cfg.mail_from, sizeof(t->cfg.mail_from),
	    "portal@example.si");
	mail_setup(&t->cfg);
}

/*
 * A suspension's "received" message reaches a real SMTP server with the
 * right envelope, headers and body; a line starting with "." and one
 * that is only "." arrive as they were (libcurl's dot-stuffing).
 */
static void
test_send(void **state)
{
	struct udb		*t = *state;
	struct sink		 s;
	struct lc_new		 n;
	struct lc_result	 res;
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	char			 msg[20000], env[512], dec[20000], url[128];
	const char		*b;
	int64_t			 due;

	sink_start(&s);
	use_sink(t, &s);
	(void)cert(t, "9A", CT_PERSONAL, "PNOSI-9", "nine@example.si", NULL,
	    NULL);
	pass_req(&n, ACT_SUSPEND, "9A", T0 + DAY);
	res = create_ok(t, &n);
	assert_int_equal(mail_next(t->db, &due), RP_OK);
	assert_int_equal(due, T0 + DAY);
	assert_int_equal(udb_raw(t, "INSERT INTO mail_queue (event, rcpt, "
	    "subject, body, next_attempt_at, created_at) VALUES "
	    "('received', 'dots@example.si', 'Dots', 'first' || char(10) || "
	    "'.' || char(10) || '..two' || char(10) || '.three' || char(10) "
	    "|| 'last' || char(10), 0, 0); SELECT changes()"), 1);
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, T0 + DAY,
	    MAIL_RUN_MAX, &rep, &ei), RP_OK);
	assert_int_equal(rep.sent, 2);
	assert_int_equal(rep.retry + rep.dead + (unsigned int)rep.down, 0);
	assert_int_equal(mails(t, "state = 'sent' AND sent_at IS NOT NULL "
	    "AND lease_owner IS NULL"), 2);
	assert_int_equal(mail_next(t->db, &due), RP_OK);
	assert_int_equal(due, 0);
	/* Nothing more to send. */
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, T0 + DAY,
	    MAIL_RUN_MAX, &rep, &ei), RP_OK);
	assert_int_equal(rep.sent, 0);

	/* The dots message, due first, came first. */
	assert_int_equal(sink_msg(&s, 1, "env", env, sizeof(env)), 0);
	assert_string_equal(env, "from portal@example.si\nto "
	    "dots@example.si\n");
	assert_int_equal(sink_msg(&s, 1, "eml", msg, sizeof(msg)), 0);
	assert_non_null(b = strstr(msg, "\r\n\r\n"));
	assert_string_equal(b + 4, "first\r\n.\r\n..two\r\n.three\r\n"
	    "last\r\n");

	assert_int_equal(sink_msg(&s, 2, "env", env, sizeof(env)), 0);
	assert_string_equal(env, "from portal@example.si\nto "
	    "nine@example.si\n");
	assert_int_equal(sink_msg(&s, 2, "eml", msg, sizeof(msg)), 0);
	assert_true(strncmp(msg, "From: portal@example.si\r\nTo: "
	    "nine@example.si\r\nSubject: [Test Portal] Suspension of "
	    "certificate 9A: request received\r\nDate: ", 109) == 0);
	assert_non_null(strstr(msg, "\r\nMessage-ID: <revportal."));
	assert_non_null(strstr(msg, "\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\n"));
	assert_non_null(b = strstr(msg, "\r\n\r\n"));
	qp_decode(b + 4, msg + strlen(msg), dec, sizeof(dec));
	(void)snprintf(url, sizeof(url), PORTAL "/requests/%s\r\n",
	    res.public_id);
	assert_non_null(strstr(dec, url));
	assert_non_null(strstr(dec, "Hello Holder 9A,\r\n"));
	assert_non_null(strstr(dec, "CN=Holder 9A,C=SI"));
	assert_int_equal(sink_msg(&s, 3, "eml", msg, sizeof(msg)), -1);
	sink_stop(&s);
}

/*
 * A server that is down: the message waits with an exponential backoff
 * (a minute, two, ... with 20% jitter), the run stops at once, and after
 * max_attempts failures the message is dead with the error; a message
 * leased by another relay is left alone.
 */
static void
test_down_backoff_dead(void **state)
{
	struct udb		*t = *state;
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	char			 err[256];
	int64_t			 now = T0, next, d;
	unsigned int		 i;
	int			 port;

	assert_true((port = up_free_port()) > 0);
	(void)snprintf(t->cfg.mail_url, sizeof(t->cfg.mail_url),
	    "smtp://127.0.0.1:%d", port);
	t->cfg.mail_max_attempts = 3;
	t->cfg.mail_timeout_ms = 1000;
	assert_int_equal(udb_raw(t, "INSERT INTO mail_queue (event, rcpt, "
	    "subject, body, next_attempt_at, created_at) VALUES "
	    "('received', 'a@example.si', 'S', 'B', 0, 0), ('received', "
	    "'b@example.si', 'S', 'B', 0, 0), ('received', 'c@example.si', "
	    "'S', 'B', 0, 0); UPDATE mail_queue SET lease_owner = 'other', "
	    "lease_until = 9000000000000 WHERE rcpt = 'c@example.si'; "
	    "SELECT 1"), 1);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(mail_run(t->db, &t->cfg, OWNER, now,
		    MAIL_RUN_MAX, &rep, &ei), RP_OK);
		if (i < 3)
			assert_int_equal(rep.retry, 1);
		else
			assert_int_equal(rep.dead, 1);
		assert_int_equal(rep.sent, 0);
		assert_int_equal(rep.down, 1);
		assert_int_equal(udb_raw(t, "SELECT attempts FROM mail_queue "
		    "WHERE rcpt = 'a@example.si'"), i);
		if (i == 3)
			break;
		next = udb_raw(t, "SELECT next_attempt_at FROM mail_queue "
		    "WHERE rcpt = 'a@example.si'");
		d = 60000LL << (i - 1);
		if (next < now + d * 8 / 10 || next > now + d * 12 / 10 + 2000)
			fail_msg("attempt %u: next in %lld ms, not about %lld",
			    i, (long long)(next - now), (long long)d);
		/* b is due, but the run stopped at the first failure; a
		 * is not due again before its time. */
		assert_int_equal(udb_raw(t, "SELECT attempts FROM mail_queue "
		    "WHERE rcpt = 'b@example.si'"), 0);
		assert_int_equal(udb_raw(t, "UPDATE mail_queue SET "
		    "next_attempt_at = 9000000000000 WHERE rcpt = "
		    "'b@example.si'; SELECT 1"), 1);
		assert_int_equal(mail_run(t->db, &t->cfg, OWNER, next - 500,
		    MAIL_RUN_MAX, &rep, &ei), RP_OK);
		assert_int_equal(rep.sent + rep.retry + rep.dead, 0);
		now = next;
	}
	assert_int_equal(mails(t, "rcpt = 'a@example.si' AND state = 'dead' "
	    "AND lease_owner IS NULL"), 1);
	qtext(t, "SELECT last_error FROM mail_queue WHERE rcpt = "
	    "'a@example.si'", err, sizeof(err));
	assert_non_null(strstr(err, "onnect"));
	/* The other relay's lease was respected. */
	assert_int_equal(mails(t, "rcpt = 'c@example.si' AND attempts = 0 "
	    "AND lease_owner = 'other'"), 1);
	/* A dead message is never sent again. */
	assert_int_equal(udb_raw(t, "DELETE FROM mail_queue WHERE rcpt <> "
	    "'a@example.si'; SELECT 1"), 1);
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, now + 10 * DAY,
	    MAIL_RUN_MAX, &rep, &ei), RP_OK);
	assert_int_equal(rep.sent + rep.retry + rep.dead, 0);
}

/*
 * A recipient the server refuses for good (550) is dead at once; one it
 * refuses for now (451) is retried; the others still go.
 */
static void
test_refused(void **state)
{
	struct udb		*t = *state;
	struct sink		 s;
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	char			 err[256];

	sink_start(&s);
	use_sink(t, &s);
	assert_int_equal(udb_raw(t, "INSERT INTO mail_queue (event, rcpt, "
	    "subject, body, next_attempt_at, created_at) VALUES "
	    "('received', 'reject@example.si', 'S', 'B', 0, 0), ('received', "
	    "'later@example.si', 'S', 'B', 1, 0), ('received', "
	    "'fine@example.si', 'S', 'B', 2, 0); SELECT 1"), 1);
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, T0, MAIL_RUN_MAX,
	    &rep, &ei), RP_OK);
	assert_int_equal(rep.dead, 1);
	assert_int_equal(rep.retry, 1);
	assert_int_equal(rep.sent, 1);
	assert_int_equal(rep.down, 0);
	assert_int_equal(mails(t, "rcpt = 'reject@example.si' AND state = "
	    "'dead' AND attempts = 1"), 1);
	qtext(t, "SELECT last_error FROM mail_queue WHERE rcpt = "
	    "'reject@example.si'", err, sizeof(err));
	assert_non_null(strstr(err, "550"));
	assert_int_equal(mails(t, "rcpt = 'later@example.si' AND state = "
	    "'pending' AND attempts = 1 AND next_attempt_at > 1767225600000"),
	    1);
	assert_int_equal(mails(t, "rcpt = 'fine@example.si' AND state = "
	    "'sent'"), 1);
	sink_stop(&s);
}

/*
 * Without allow_plain, smtp:// requires STARTTLS: a server that does not
 * offer it gets nothing, and the message waits.
 */
static void
test_starttls_required(void **state)
{
	struct udb		*t = *state;
	struct sink		 s;
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	char			 msg[64];

	sink_start(&s);
	use_sink(t, &s);
	t->cfg.mail_allow_plain = 0;
	assert_int_equal(udb_raw(t, "INSERT INTO mail_queue (event, rcpt, "
	    "subject, body, next_attempt_at, created_at) VALUES "
	    "('received', 'a@example.si', 'S', 'secret text', 0, 0); "
	    "SELECT 1"), 1);
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, T0, MAIL_RUN_MAX,
	    &rep, &ei), RP_OK);
	assert_int_equal(rep.sent, 0);
	assert_int_equal(rep.retry, 1);
	assert_int_equal(mails(t, "state = 'pending' AND attempts = 1"), 1);
	assert_int_equal(sink_msg(&s, 1, "eml", msg, sizeof(msg)), -1);
	sink_stop(&s);
}

/*
 * The state in words: each state its own, a request awaiting nothing
 * already queued, a state out of range "unknown"; never the raw name.
 */
static void
test_state_words(void **state)
{
	static const char *const raw[] = { "awaiting_approval", "queued",
	    "relayed", "completed", "rejected", "expired", "failed" };
	const char	*w[RS__MAX];
	size_t		 i, k;

	(void)state;
	for (i = 0; i < RS__MAX; i++) {
		w[i] = mail_state_words((enum req_state)i, REL_SUBJECT);
		for (k = 0; k < sizeof(raw) / sizeof(raw[0]); k++)
			assert_string_not_equal(w[i], raw[k]);
		assert_string_not_equal(w[i], "unknown");
		for (k = 0; k < i; k++)
			assert_string_not_equal(w[i], w[k]);
	}
	assert_string_equal(w[RS_AWAITING_APPROVAL],
	    "waiting for the signatures it needs");
	assert_string_equal(mail_state_words(RS_AWAITING_APPROVAL,
	    REL_LEGAL_REP), w[RS_AWAITING_APPROVAL]);
	assert_string_equal(mail_state_words(RS_AWAITING_APPROVAL, 0),
	    w[RS_QUEUED]);
	assert_string_equal(mail_state_words(RS_COMPLETED, 0),
	    w[RS_COMPLETED]);
	assert_string_equal(mail_state_words(RS__MAX, 0), "unknown");
}

/* --- A server that is slow, or does not answer at all ------------------ */

/* A listening socket on 127.0.0.1 (any port, in *port). */
static int
listener(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * The child's side of slow_smtp(): a minimal SMTP server on lfd that
 * answers the end of the k-th message's DATA after delay[k] ms (the last
 * delay for any later one).  Never returns; it ends with the test
 * process, or after 30 seconds should a failed test leave it behind.
 */
static void
slow_smtp_serve(int lfd, const long *delay, size_t ndelay)
{
	char	 line[2048];
	FILE	*f;
	size_t	 k = 0;
	int	 c, data;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(1);
	(void)alarm(30);
	for (;;) {
		if ((c = accept(lfd, NULL, NULL)) == -1 ||
		    (f = fdopen(c, "r+")) == NULL)
			_exit(1);
		(void)fputs("220 slow.test ESMTP\r\n", f);
		(void)fflush(f);
		data = 0;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (data) {
				if (strcmp(line, ".\r\n") != 0)
					continue;
				data = 0;
				up_sleep_ms(delay[k < ndelay ? k : ndelay - 1]);
				k++;
				(void)fputs("250 queued\r\n", f);
			} else if (strncasecmp(line, "DATA", 4) == 0) {
				data = 1;
				(void)fputs("354 go on\r\n", f);
			} else if (strncasecmp(line, "QUIT", 4) == 0) {
				(void)fputs("221 bye\r\n", f);
				(void)fflush(f);
				break;
			} else
				(void)fputs("250 ok\r\n", f);
			(void)fflush(f);
		}
		(void)fclose(f);
	}
}

/* Forks slow_smtp_serve() on a fresh port (*port); returns its pid. */
static pid_t
slow_smtp(const long *delay, size_t ndelay, int *port)
{
	pid_t	 pid;
	int	 lfd;

	lfd = listener(port);
	assert_true((pid = fork()) != -1);
	if (pid == 0)
		slow_smtp_serve(lfd, delay, ndelay);
	(void)close(lfd);
	return pid;
}

/* Queues n messages to m1@example.si... due at once. */
static void
queue_n(struct udb *t, unsigned int n)
{
	char		 sql[300];
	unsigned int	 i;

	for (i = 1; i <= n; i++) {
		(void)snprintf(sql, sizeof(sql), "INSERT INTO mail_queue "
		    "(event, rcpt, subject, body, next_attempt_at, created_at) "
		    "VALUES ('received', 'm%u@example.si', 'S', 'B', %u, 0); "
		    "SELECT 1", i, i);
		assert_int_equal(udb_raw(t, sql), 1);
	}
}

/* Points the configuration at plain SMTP on port, timeout_ms. */
static void
use_port(struct udb *t, int port, unsigned int timeout_ms)
{
	(void)snprintf(t->cfg.mail_url, sizeof(t->cfg.mail_url),
	    "smtp://127.0.0.1:%d", port);
	t->cfg.mail_allow_plain = 1;
	(void)snprintf(t->cfg.mail_from, sizeof(t->cfg.mail_from),
	    "portal@example.si");
	t->cfg.mail_timeout_ms = timeout_ms;
}

/*
 * The connections waiting on the listening socket lfd (made non-blocking
 * here), accepted and closed: how many clients connected to it.
 */
static int
accepted(int lfd)
{
	int	 c, n = 0;

	assert_int_equal(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	while ((c = accept(lfd, NULL, NULL)) != -1) {
		(void)close(c);
		n++;
	}
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	return n;
}

/*
 * A server that accepts the connection and never says a word: one run
 * costs one timeout (one connection, one attempt that failed on the
 * timeout, not the clock), tries one message (a failed attempt, backed
 * off), leaves the others alone and says the server is down.
 */
static void
test_hang_one_timeout(void **state)
{
	struct udb		*t = *state;
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	int			 lfd, port;

	lfd = listener(&port);
	use_port(t, port, 1000);
	queue_n(t, 3);
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, T0, MAIL_RUN_MAX,
	    &rep, &ei), RP_OK);
	assert_int_equal(accepted(lfd), 1);
	(void)close(lfd);
	assert_int_equal(mails(t, "rcpt = 'm1@example.si' AND last_error "
	    "LIKE '%imeout%'"), 1);
	assert_int_equal(rep.down, 1);
	assert_int_equal(rep.retry, 1);
	assert_int_equal(rep.sent + rep.dead + rep.cut, 0);
	assert_int_equal(mails(t, "rcpt = 'm1@example.si' AND attempts = 1 "
	    "AND state = 'pending' AND next_attempt_at > 1767225600000"), 1);
	assert_int_equal(mails(t, "attempts = 0 AND lease_owner IS NULL"),
	    2);
}

/*
 * A slow server (each message takes 0.7 of the timeout): a run stops
 * starting messages once half its time is gone, so it lasts about one
 * timeout, not two; the next run sends the next message.  max bounds a
 * run, and 0 sends nothing.  The run's length is not timed: one sent and
 * none cut short (a second message begun would have run past the run's
 * end and been cut), the others never leased, say the same.
 */
static void
test_slow_budget(void **state)
{
	struct udb		*t = *state;
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	static const long	 delay[] = { 700 };
	enum rp_err		 e;
	pid_t			 pid;
	int			 port;

	pid = slow_smtp(delay, 1, &port);
	use_port(t, port, 1000);
	queue_n(t, 4);
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, T0, MAIL_RUN_MAX,
	    &rep, &ei), RP_OK);
	if (rep.sent != 1 || rep.retry + rep.dead + rep.cut +
	    (unsigned int)rep.down != 0) {
		up_stop(pid);
		fail_msg("sent %u, retry %u, dead %u, cut %u, down %d: not one "
		    "sent", rep.sent, rep.retry, rep.dead, rep.cut, rep.down);
	}
	assert_int_equal(mails(t, "state = 'sent' AND rcpt = "
	    "'m1@example.si'"), 1);
	assert_int_equal(mails(t, "state = 'pending' AND attempts = 0 AND "
	    "lease_owner IS NULL"), 3);
	assert_int_equal(mail_run(t->db, &t->cfg, OWNER, T0, 0, &rep, &ei),
	    RP_OK);
	assert_int_equal(rep.sent, 0);
	assert_int_equal(mails(t, "state = 'sent'"), 1);
	e = mail_run(t->db, &t->cfg, OWNER, T0, 1, &rep, &ei);
	up_stop(pid);
	assert_int_equal(e, RP_OK);
	assert_int_equal(rep.sent, 1);
	assert_int_equal(mails(t, "state = 'sent' AND rcpt = "
	    "'m2@example.si'"), 1);
}

/*
 * A message that the run's end cuts short (the second one, when the
 * server stalls on it) goes back as it was: pending, due at once, no
 * attempt counted, the server not taken for down; the run still ends
 * within one timeout.  That bound is checked by what happened, not by
 * the clock: the stalled message is counted cut (the run's end stopped
 * it), not retried (the 1000 ms message timeout, shorter than the
 * server's 3000 ms stall, would have ended it otherwise).
 */
static void
test_cut_not_counted(void **state)
{
	struct udb		*t = *state;
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	static const long	 delay[] = { 0, 3000 };
	enum rp_err		 e;
	pid_t			 pid;
	int			 port;

	pid = slow_smtp(delay, 2, &port);
	use_port(t, port, 1000);
	queue_n(t, 3);
	e = mail_run(t->db, &t->cfg, OWNER, T0, MAIL_RUN_MAX, &rep, &ei);
	up_stop(pid);
	assert_int_equal(e, RP_OK);
	assert_int_equal(rep.sent, 1);
	assert_int_equal(rep.cut, 1);
	assert_int_equal(rep.down, 0);
	assert_int_equal(rep.retry + rep.dead, 0);
	assert_int_equal(mails(t, "rcpt = 'm2@example.si' AND state = "
	    "'pending' AND attempts = 0 AND lease_owner IS NULL AND "
	    "next_attempt_at <= 1767225602000"), 1);
	assert_int_equal(mails(t, "rcpt = 'm3@example.si' AND attempts = 0"),
	    1);
}

/* The relay's pause after runs whose server did not answer. */
static void
test_pause(void **state)
{
	(void)state;
	assert_int_equal(mail_pause_ms(3000, 1), MAIL_PAUSE_MIN_MS);
	assert_int_equal(mail_pause_ms(3000, 2), 2 * MAIL_PAUSE_MIN_MS);
	assert_int_equal(mail_pause_ms(3000, 3), 4 * MAIL_PAUSE_MIN_MS);
	assert_int_equal(mail_pause_ms(3000, 5), MAIL_PAUSE_MAX_MS);
	assert_int_equal(mail_pause_ms(3000, 4000000000u),
	    MAIL_PAUSE_MAX_MS);
	/* Never shorter than two timeouts. */
	assert_int_equal(mail_pause_ms(100000, 1), 200000);
	assert_int_equal(mail_pause_ms(300000, 1), 600000);
	assert_int_equal(mail_pause_ms(300000, 2), MAIL_PAUSE_MAX_MS);
	assert_true(mail_pause_ms(1000, 1) >= 2 * 1000);
}

/*
 * The sweep's purge: messages sent, or given up, more than
 * MAIL_KEEP_DAYS ago go; newer ones and pending ones (however old)
 * stay; at most MAIL_PURGE_MAX a run.
 */
static void
test_purge(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	unsigned int		 n;
	const int64_t		 now = T0 + 100 * DAY;
	char			 sql[1024];

	(void)snprintf(sql, sizeof(sql), "INSERT INTO mail_queue (event, "
	    "rcpt, subject, body, state, next_attempt_at, created_at, "
	    "sent_at) VALUES "
	    "('received', 'old-sent@example.si', 'S', 'B', 'sent', "
	    "%lld, 0, %lld), "
	    "('received', 'new-sent@example.si', 'S', 'B', 'sent', "
	    "%lld, 0, %lld), "
	    "('received', 'old-dead@example.si', 'S', 'B', 'dead', "
	    "%lld, 0, NULL), "
	    "('received', 'new-dead@example.si', 'S', 'B', 'dead', "
	    "%lld, 0, NULL), "
	    "('received', 'old-pending@example.si', 'S', 'B', 'pending', "
	    "%lld, 0, NULL), "
	    "('received', 'edge@example.si', 'S', 'B', 'sent', "
	    "%lld, 0, %lld); SELECT 1",
	    (long long)(now - 31 * DAY), (long long)(now - 31 * DAY),
	    (long long)(now - 29 * DAY), (long long)(now - 29 * DAY),
	    (long long)(now - 31 * DAY), (long long)(now - 29 * DAY),
	    (long long)(now - 90 * DAY),
	    (long long)(now - 30 * DAY), (long long)(now - 30 * DAY));
	assert_int_equal(udb_raw(t, sql), 1);
	assert_int_equal(mail_purge(t->db, now, &n, &ei), RP_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mails(t, "rcpt LIKE 'old-sent%' OR rcpt LIKE "
	    "'old-dead%'"), 0);
	assert_int_equal(mails(t, "1"), 4);
	assert_int_equal(mail_purge(t->db, now, NULL, &ei), RP_OK);
	assert_int_equal(mails(t, "1"), 4);
	/* Exactly 30 days is not more; two days later, those and the ones
	 * of 29 days go. */
	assert_int_equal(mails(t, "rcpt = 'edge@example.si'"), 1);
	assert_int_equal(mail_purge(t->db, now + 2 * DAY, &n, &ei), RP_OK);
	assert_int_equal(n, 3);
	assert_int_equal(mails(t, "1"), 1);
	assert_int_equal(mails(t, "state = 'pending'"), 1);

	/* At most MAIL_PURGE_MAX a run; the rest at the next. */
	(void)snprintf(sql, sizeof(sql), "WITH RECURSIVE c(x) AS (SELECT 1 "
	    "UNION ALL SELECT x + 1 FROM c WHERE x < %u) INSERT INTO "
	    "mail_queue (event, rcpt, subject, body, state, next_attempt_at, "
	    "created_at, sent_at) SELECT 'received', 'm' || x || "
	    "'@example.si', 'S', 'B', 'sent', 0, 0, 0 FROM c; SELECT 1",
	    MAIL_PURGE_MAX + 1);
	assert_int_equal(udb_raw(t, sql), 1);
	assert_int_equal(mail_purge(t->db, now, &n, &ei), RP_OK);
	assert_int_equal(n, MAIL_PURGE_MAX);
	assert_int_equal(mail_purge(t->db, now, &n, &ei), RP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mails(t, "1"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_personal_suspension,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_business_reactivation,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_subject_needed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dedupe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_address_no_mail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mail_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_header_injection,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_secret, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert_address, setup,
		    teardown),
		cmocka_unit_test(test_addr_ok),
		cmocka_unit_test(test_conf_check),
		cmocka_unit_test(test_message),
		cmocka_unit_test_setup_teardown(test_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_backoff_dead, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls_required, setup,
		    teardown),
		cmocka_unit_test(test_state_words),
		cmocka_unit_test_setup_teardown(test_hang_one_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slow_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cut_not_counted, setup,
		    teardown),
		cmocka_unit_test(test_pause),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
