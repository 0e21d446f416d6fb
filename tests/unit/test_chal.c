/*
 * Unit tests of chal.c and signflow.c: the request document of DESIGN §3
 * line by line, the targets a challenge may name and every refusal of
 * chal_issue(), the single use of a nonce, the order and the audit of
 * sf_submit()'s refusals (the signature check itself, sig.c and
 * revchk.c, replaced by a fake through sf_test_verify()), requests,
 * approvals and logins made with the challenge used in the same
 * transaction, idempotency, the rate limit, and the representative's
 * session cookie.
 */
#include "unit.h"
#include "unit_db.h"

#include <time.h>

#define DAY	(24LL * 3600 * 1000)
#define PORTAL	"https://revoke.example.si"

static const char issuer[] = "CN=Test Qualified CA,O=Test TSP,C=SI";
static const char issuer2[] = "CN=Other CA,O=Other TSP,C=SI";

/* What the fake verification answers, and what it was given. */
static enum sig_why	 fake_why;
static struct signer	 fake_signer;
static char		 fake_doc[RP_DOC_MAX + 1];

static enum sig_why
fake_verify(const void *sig, size_t siglen, const char *doc, size_t doclen,
    struct signer *out)
{
	(void)sig;
	(void)siglen;
	assert_true(doclen <= RP_DOC_MAX);
	memcpy(fake_doc, doc, doclen);
	fake_doc[doclen] = '\0';
	memcpy(out, &fake_signer, sizeof(*out));
	return fake_why;
}

/* The signer the fake verification names. */
static void
fake(enum sig_why why, const char *person_id)
{
	memset(&fake_signer, 0, sizeof(fake_signer));
	fake_why = why;
	(void)snprintf(fake_signer.person_id, sizeof(fake_signer.person_id),
	    "%s", person_id);
	(void)snprintf(fake_signer.sha256, sizeof(fake_signer.sha256),
	    "%064d", 7);
	(void)snprintf(fake_signer.issuer, sizeof(fake_signer.issuer), "%s",
	    issuer);
	(void)snprintf(fake_signer.serial, sizeof(fake_signer.serial), "5A");
	fake_doc[0] = '\0';
}

static int
setup(void **state)
{
	struct udb	*t;

	if (udb_setup(state) != 0)
		return -1;
	t = *state;
	(void)snprintf(t->cfg.portal_url, sizeof(t->cfg.portal_url), "%s",
	    PORTAL);
	t->cfg.rate_attempts = 1000;
	sf_test_verify(fake_verify);
	fake(SIG_OK, "PNOSI-1");
	return 0;
}

static int
teardown(void **state)
{
	sf_test_verify(NULL);
	return udb_teardown(state);
}

/* Registers a certificate valid around now; returns its row id. */
static int64_t
cert(struct udb *t, const char *iss, const char *serial, enum cert_type ty,
    const char *person, const char *org, const char *token)
{
	struct cert_info	 ci;
	struct reg_import	 ri;
	struct rp_errinfo	 ei;
	int64_t			 id = 0, now = rp_now_ms();

	memset(&ci, 0, sizeof(ci));
	(void)snprintf(ci.issuer, sizeof(ci.issuer), "%s", iss);
	(void)snprintf(ci.subject, sizeof(ci.subject), "CN=Holder %s", serial);
	(void)snprintf(ci.serial, sizeof(ci.serial), "%s", serial);
	(void)snprintf(ci.common_name, sizeof(ci.common_name), "Holder");
	if (org != NULL) {
		(void)snprintf(ci.org_id, sizeof(ci.org_id), "%s", org);
		(void)snprintf(ci.org_name, sizeof(ci.org_name), "Firma");
	}
	(void)snprintf(ci.person_id, sizeof(ci.person_id), "%s", person);
	(void)snprintf(ci.aki, sizeof(ci.aki), "0A0B0C");
	(void)snprintf(ci.sha256, sizeof(ci.sha256), "%032zx%032zx",
	    strlen(iss), (size_t)strtoull(serial, NULL, 16));
	ci.not_before = now - DAY;
	ci.not_after = now + 4 * 365 * DAY;
	ci.pem = (char *)"-----BEGIN CERTIFICATE-----\n-----END "
	    "CERTIFICATE-----\n";
	memset(&ri, 0, sizeof(ri));
	ri.type = ty;
	ri.term_years = 5;
	ri.token = token;
	ri.token_kind = "smartcard";
	ri.qscd = token != NULL;
	ri.actor = "admin:test";
	ri.now = now;
	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_import_cert(t->db, &ci, &ri, &id, &ei) != RP_OK)
		fail_msg("import %s: %s %s", serial, ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
	return id;
}

static void
rep(struct udb *t, const char *org, const char *pid)
{
	struct rp_errinfo	 ei;

	assert_int_equal(db_begin(t->db), RP_OK);
	if (reg_rep_add(t->db, org, "Firma", pid, "Rep", "rep@example.test",
	    rp_now_ms() - DAY, 0, "admin:test", rp_now_ms(), &ei) != RP_OK)
		fail_msg("rep: %s %s", ei.code, ei.msg);
	assert_int_equal(db_commit(t->db), RP_OK);
}

/* Marks certificate serial suspended since yesterday. */
static void
suspend(struct udb *t, const char *serial)
{
	char	 sql[300];

	(void)snprintf(sql, sizeof(sql), "UPDATE certificates SET status = "
	    "'suspended', suspended_at = %lld, suspended_until = %lld WHERE "
	    "serial = '%s'", (long long)(rp_now_ms() - DAY),
	    (long long)(rp_now_ms() + 30 * DAY), serial);
	(void)udb_raw(t, sql);
}

static long long
count(struct udb *t, const char *what)
{
	char	 sql[300];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", what);
	return udb_raw(t, sql);
}

/* A challenge for action on serial (or token), expected to be issued. */
static void
issue(struct udb *t, struct chal_new *n, struct challenge *c)
{
	struct rp_errinfo	 ei;

	if (chal_issue(t->db, &t->cfg, n, c, &ei) != RP_OK)
		fail_msg("chal_issue: %s %s", ei.code, ei.msg);
}

static void
ask(struct chal_new *n, enum action a, const char *serial)
{
	memset(n, 0, sizeof(*n));
	n->action = a;
	n->serial = serial;
	n->reason = REASON_UNSPECIFIED;
	n->now = rp_now_ms();
}

/* The request struct of one call, its sig context a dummy. */
static struct req
mkreq(struct udb *t)
{
	static int	 dummy;
	struct req	 r;

	memset(&r, 0, sizeof(r));
	r.cfg = &t->cfg;
	r.db = t->db;
	r.sig = (struct sig_ctx *)(void *)&dummy;
	r.remote_addr = "192.0.2.7";
	return r;
}

/* sf_submit() of challenge id (approve: request id, or NULL). */
static enum rp_err
submit(struct udb *t, const char *id, const char *approve, int login,
    struct sf_out *out, struct req *rq)
{
	struct sf_in	 in;

	*rq = mkreq(t);
	memset(&in, 0, sizeof(in));
	in.challenge_id = id;
	in.sig = "\x30\x03sig";
	in.siglen = 5;
	in.approve = approve;
	in.login = login;
	in.channel = CH_API;
	return sf_submit(rq, &in, out);
}

/* The number of audit entries of action about challenge id with why. */
static long long
refused(struct udb *t, const char *action, const char *id, enum sig_why w)
{
	char	 sql[400];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
	    "action = '%s' AND subject = 'challenge:%s' AND "
	    "json_extract(details, '$.why') = '%s' AND "
	    "json_extract(details, '$.client') = '192.0.2.7'", action, id,
	    w == SIG__MAX ? "not_authorised" : sig_why_name(w));
	return udb_raw(t, sql);
}

/*
 * A certificate's document: every line of DESIGN §3 in its order, the
 * issuer and serial as stored, a 128-bit nonce in hex, the second of
 * issue, the portal, one final LF; stored and read back as issued.
 */
static void
test_document_certificate(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c, g;
	char			 want[1024], when[32];
	const char		*nonce;
	time_t			 secs;
	struct tm		 tm;
	size_t			 i;

	(void)cert(t, issuer, "42BA", CT_PERSONAL, "PNOSI-1", NULL, NULL);
	ask(&n, ACT_REVOKE, "42BA");
	n.reason = REASON_KEY_COMPROMISE;
	issue(t, &n, &c);
	assert_int_equal(strlen(c.public_id), RP_ID_LEN);
	nonce = strstr(c.document, "\nnonce: ");
	assert_non_null(nonce);
	nonce += 8;
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", nonce[i]));
	assert_int_equal(nonce[32], '\n');
	secs = (time_t)(n.now / 1000);
	assert_non_null(gmtime_r(&secs, &tm));
	assert_true(strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) >
	    0);
	(void)snprintf(want, sizeof(want), "revportal-request/1\n"
	    "action: revoke\nissuer: %s\nserial: 42BA\nreason: keyCompromise\n"
	    "request: -\nnonce: %.32s\nissued-at: %s\nportal: " PORTAL "\n",
	    issuer, nonce, when);
	assert_string_equal(c.document, want);
	assert_int_equal(c.doclen, strlen(want));
	assert_int_equal(c.expires_at - c.issued_at, RP_CHAL_TTL_MS);
	assert_string_equal(c.action, "revoke");

	assert_int_equal(chal_get(t->db, c.public_id, &g), RP_OK);
	assert_string_equal(g.document, c.document);
	assert_int_equal(g.doclen, c.doclen);
	assert_string_equal(g.issuer, issuer);
	assert_string_equal(g.serial, "42BA");
	assert_int_equal(g.reason, REASON_KEY_COMPROMISE);
	assert_int_equal(g.used_at, 0);
	assert_int_equal(g.expires_at, c.expires_at);
	assert_string_equal(g.token_label, "");
	chal_free(&g);
	chal_free(&c);

	/* Two challenges never share a nonce or an id. */
	issue(t, &n, &c);
	issue(t, &n, &g);
	assert_string_not_equal(c.public_id, g.public_id);
	assert_string_not_equal(strstr(c.document, "nonce: "),
	    strstr(g.document, "nonce: "));
	chal_free(&g);
	chal_free(&c);
}

/* A token's document: issuer and serial "-", then its label. */
static void
test_document_token(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c, g;
	const char		*tail;

	(void)cert(t, issuer, "71", CT_PERSONAL, "PNOSI-1", NULL, "CARD-1");
	ask(&n, ACT_SUSPEND, NULL);
	n.token = "CARD-1";
	issue(t, &n, &c);
	assert_non_null(strstr(c.document, "revportal-request/1\n"
	    "action: suspend\nissuer: -\nserial: -\ntoken: CARD-1\n"
	    "reason: unspecified\nrequest: -\nnonce: "));
	assert_null(strstr(c.document, "csr-sha256"));
	tail = strstr(c.document, "\nportal: ");
	assert_non_null(tail);
	assert_string_equal(tail, "\nportal: " PORTAL "\n");
	assert_int_equal(chal_get(t->db, c.public_id, &g), RP_OK);
	assert_string_equal(g.token_label, "CARD-1");
	assert_true(g.token > 0);
	assert_int_equal(g.certificate, 0);
	chal_free(&g);
	chal_free(&c);
}

/*
 * An approve document carries the request's first certificate, its
 * reason and its id; only a request awaiting approval gets one.  A
 * login document names nothing.
 */
static void
test_document_approve_and_login(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c;
	struct rp_errinfo	 ei;
	struct lc_new		 ln;
	struct lc_result	 res;
	char			 want[300];
	int64_t			 p;

	(void)cert(t, issuer, "B1", CT_BUSINESS, "PNOSI-2", "VATSI-1", NULL);
	suspend(t, "B1");
	p = udb_raw(t, "SELECT id FROM persons WHERE person_id = 'PNOSI-2'");
	memset(&ln, 0, sizeof(ln));
	ln.action = ACT_REACTIVATE;
	ln.serial = "B1";
	ln.reason = REASON_UNSPECIFIED;
	ln.actor.channel = CH_API;
	ln.actor.auth = AUTH_SIGNATURE;
	ln.actor.name = "person:PNOSI-2";
	ln.actor.person = p;
	ln.actor.signature = "x";
	ln.actor.siglen = 1;
	ln.actor.signer_sha256 = "ab";
	ln.now = rp_now_ms();
	assert_int_equal(lc_create(t->db, &t->cfg.policy, &ln, &res, &ei),
	    RP_OK);
	assert_int_equal(res.state, RS_AWAITING_APPROVAL);

	memset(&n, 0, sizeof(n));
	n.approve = 1;
	n.request_id = res.public_id;
	n.now = rp_now_ms();
	issue(t, &n, &c);
	(void)snprintf(want, sizeof(want), "revportal-request/1\n"
	    "action: approve\nissuer: %s\nserial: B1\nreason: unspecified\n"
	    "request: %s\nnonce: ", issuer, res.public_id);
	assert_memory_equal(c.document, want, strlen(want));
	assert_string_equal(c.action, "approve");
	chal_free(&c);

	n.request_id = "AAAAAAAAAAAAAAAAAAAAAA";
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_NOT_FOUND);
	assert_string_equal(ei.code, "unknown_request");
	(void)udb_raw(t, "UPDATE requests SET state = 'expired'");
	n.request_id = res.public_id;
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "wrong_state");

	memset(&n, 0, sizeof(n));
	n.login = 1;
	n.now = rp_now_ms();
	issue(t, &n, &c);
	assert_non_null(strstr(c.document, "revportal-request/1\n"
	    "action: login\nissuer: -\nserial: -\nreason: -\nrequest: -\n"
	    "nonce: "));
	chal_free(&c);
	assert_int_equal(count(t, "challenges WHERE action = 'login' AND "
	    "reason IS NULL"), 1);
}

/* Every target chal_issue() refuses, and nothing stored for them. */
static void
test_issue_refusals(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c;
	struct rp_errinfo	 ei;
	static const char	 csr[] = "-----BEGIN CERTIFICATE REQUEST-----\n"
				    "-----END CERTIFICATE REQUEST-----\n";

	(void)cert(t, issuer, "C1", CT_PERSONAL, "PNOSI-3", NULL, NULL);
	(void)cert(t, issuer, "D1", CT_PERSONAL, "PNOSI-3", NULL, NULL);
	(void)cert(t, issuer2, "D1", CT_PERSONAL, "PNOSI-3", NULL, NULL);

	ask(&n, ACT_REVOKE, "FFFF");
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_NOT_FOUND);
	assert_string_equal(ei.code, "unknown_certificate");
	ask(&n, ACT_REVOKE, "D1");
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "ambiguous_serial");
	n.issuer = issuer2;
	issue(t, &n, &c);
	assert_non_null(strstr(c.document, "issuer: " "CN=Other CA"));
	chal_free(&c);
	ask(&n, ACT_SUSPEND, NULL);
	n.token = "NO-SUCH-CARD";
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_NOT_FOUND);
	assert_string_equal(ei.code, "unknown_token");
	ask(&n, ACT_REACTIVATE, "C1");
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "wrong_status");

	ask(&n, ACT_REVOKE, "C1");
	n.token = "CARD";
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "serial_or_token");
	ask(&n, ACT_REVOKE, NULL);
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	ask(&n, ACT_REVOKE, "C1");
	n.csr_pem = csr;
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "unexpected_csr");
	ask(&n, ACT_RECOVER, "C1");
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "csr_required");
	ask(&n, ACT_RECOVER, NULL);
	n.token = "CARD";
	n.csr_pem = csr;
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "recover_one");
	ask(&n, ACT_REVOKE, "C1");
	n.request_id = "AAAAAAAAAAAAAAAAAAAAAA";
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	ask(&n, ACT_REVOKE, "C1");
	n.reason = REASON__MAX;
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	memset(&n, 0, sizeof(n));
	n.approve = 1;
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "request_id_required");
	n.request_id = "AAAAAAAAAAAAAAAAAAAAAA";
	n.serial = "C1";
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	memset(&n, 0, sizeof(n));
	n.login = 1;
	n.serial = "C1";
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "login_alone");
	/* Without a portal URL no document can be written. */
	ask(&n, ACT_REVOKE, "C1");
	t->cfg.portal_url[0] = '\0';
	assert_int_equal(chal_issue(t->db, &t->cfg, &n, &c, &ei),
	    RP_ERR_INTERNAL);
	assert_null(c.document);
	assert_int_equal(count(t, "challenges"), 1);
}

/* chal_use() succeeds once; chal_get() refuses malformed ids. */
static void
test_use_once(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c, g;
	struct rp_errinfo	 ei;

	(void)cert(t, issuer, "E1", CT_PERSONAL, "PNOSI-4", NULL, NULL);
	ask(&n, ACT_SUSPEND, "E1");
	issue(t, &n, &c);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(chal_use(t->db, c.id, 1234, &ei), RP_OK);
	assert_int_equal(chal_use(t->db, c.id, 1235, &ei), RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "nonce_used");
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(chal_get(t->db, c.public_id, &g), RP_OK);
	assert_int_equal(g.used_at, 1234);
	chal_free(&g);
	chal_free(&c);
	assert_int_equal(chal_get(t->db, "AAAAAAAAAAAAAAAAAAAAAA", &g),
	    RP_ERR_NOT_FOUND);
	assert_int_equal(chal_get(t->db, "short", &g), RP_ERR_NOT_FOUND);
	assert_int_equal(chal_get(t->db, NULL, &g), RP_ERR_NOT_FOUND);
	assert_null(g.document);
}

/*
 * chal_use() looks at the expiry again at the time of use: a challenge
 * that expired after the first look (the revocation checks took their
 * time) is not used.
 */
static void
test_use_expired_meanwhile(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c;
	struct rp_errinfo	 ei;
	char			 sql[128];

	(void)cert(t, issuer, "E2", CT_PERSONAL, "PNOSI-5", NULL, NULL);
	ask(&n, ACT_SUSPEND, "E2");
	issue(t, &n, &c);
	(void)snprintf(sql, sizeof(sql), "UPDATE challenges SET expires_at = "
	    "issued_at + 1 WHERE id = %lld", (long long)c.id);
	(void)udb_raw(t, sql);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(chal_use(t->db, c.id, c.issued_at + 1, &ei),
	    RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "nonce_used");
	db_rollback(t->db);
	assert_int_equal(count(t, "challenges WHERE used_at IS NOT NULL"), 0);
	chal_free(&c);
}

/*
 * The refusals before the lifecycle, each audited with its why and the
 * client, none making a request: an unknown challenge, one used, one
 * expired, one for another call, and a signature the verification
 * refuses (with what it read of the signer).
 */
static void
test_submit_refusals(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c, ap, lg;
	struct sf_out		 out;
	struct req		 rq;
	char			 sql[400];

	(void)cert(t, issuer, "F1", CT_PERSONAL, "PNOSI-1", NULL, NULL);
	ask(&n, ACT_SUSPEND, "F1");
	issue(t, &n, &c);

	assert_int_equal(submit(t, "AAAAAAAAAAAAAAAAAAAAAA", NULL, 0, &out,
	    &rq), RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_CHALLENGE_UNKNOWN);
	assert_string_equal(rq.err.code, "signature_invalid");
	assert_string_equal(rq.err.msg, "The signature could not be "
	    "verified.");
	assert_int_equal(refused(t, "signature.refused",
	    "AAAAAAAAAAAAAAAAAAAAAA", SIG_CHALLENGE_UNKNOWN), 1);

	/* A challenge sent to the wrong call. */
	assert_int_equal(submit(t, c.public_id, "AAAAAAAAAAAAAAAAAAAAAA", 0,
	    &out, &rq), RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_WRONG_PURPOSE);
	assert_int_equal(submit(t, c.public_id, NULL, 1, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_WRONG_PURPOSE);
	memset(&n, 0, sizeof(n));
	n.login = 1;
	n.now = rp_now_ms();
	issue(t, &n, &lg);
	assert_int_equal(submit(t, lg.public_id, NULL, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_WRONG_PURPOSE);
	assert_int_equal(refused(t, "signature.refused", lg.public_id,
	    SIG_WRONG_PURPOSE), 1);
	(void)ap;

	/* The verification's refusal, with the signer it read. */
	fake(SIG_BAD_SIGNATURE, "PNOSI-1");
	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_BAD_SIGNATURE);
	assert_string_equal(fake_doc, c.document);
	assert_string_equal(rq.err.msg, "The signature could not be "
	    "verified.");
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
	    "subject = 'challenge:%s' AND json_extract(details, "
	    "'$.signer_person_id') = 'PNOSI-1' AND json_extract(details, "
	    "'$.signer_serial') = '5A' AND actor = 'signature'",
	    c.public_id);
	assert_int_equal(udb_raw(t, sql), 1);
	assert_int_equal(refused(t, "signature.refused", c.public_id,
	    SIG_BAD_SIGNATURE), 1);

	/* Our own failure: audited, but 503, not the signer's 401. */
	fake(SIG_INTERNAL, "PNOSI-1");
	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq),
	    RP_ERR_UNAVAILABLE);
	assert_int_equal(out.why, SIG_INTERNAL);
	assert_int_equal(refused(t, "signature.refused", c.public_id,
	    SIG_INTERNAL), 1);

	/* Expired: the verification is not even asked. */
	fake(SIG_OK, "PNOSI-1");
	(void)snprintf(sql, sizeof(sql), "UPDATE challenges SET issued_at = "
	    "issued_at - 3600000, expires_at = expires_at - 3600000 WHERE "
	    "public_id = '%s'", c.public_id);
	(void)udb_raw(t, sql);
	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_NONCE_EXPIRED);
	assert_string_equal(fake_doc, "");

	/* Used. */
	(void)snprintf(sql, sizeof(sql), "UPDATE challenges SET used_at = 1 "
	    "WHERE public_id = '%s'", c.public_id);
	(void)udb_raw(t, sql);
	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_NONCE_USED);
	assert_int_equal(count(t, "requests"), 0);
	assert_int_equal(count(t, "audit WHERE action = "
	    "'signature.refused'"), 8);
	chal_free(&lg);
	chal_free(&c);
}

/*
 * A good signature makes the request, queued, with the challenge used in
 * its transaction; the same challenge again is refused as used.  An
 * unregistered signer is 403 and audited; nothing is made.
 */
static void
test_submit_creates(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c;
	struct sf_out		 out;
	struct req		 rq;
	char			 sql[300];

	(void)cert(t, issuer, "A1", CT_PERSONAL, "PNOSI-1", NULL, NULL);
	ask(&n, ACT_REVOKE, "A1");
	n.reason = REASON_KEY_COMPROMISE;
	issue(t, &n, &c);

	fake(SIG_OK, "PNOSI-9");
	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq),
	    RP_ERR_FORBIDDEN);
	assert_string_equal(rq.err.code, "not_authorised");
	assert_int_equal(out.person, 0);
	assert_int_equal(count(t, "requests"), 0);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE "
	    "action = 'signature.not_allowed' AND subject = 'challenge:%s' "
	    "AND json_extract(details, '$.signer_person_id') = 'PNOSI-9'",
	    c.public_id);
	assert_int_equal(udb_raw(t, sql), 1);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM challenges "
	    "WHERE public_id = '%s' AND used_at IS NULL", c.public_id);
	assert_int_equal(udb_raw(t, sql), 1);

	fake(SIG_OK, "PNOSI-1");
	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq), RP_OK);
	assert_int_equal(out.why, SIG_OK);
	assert_int_equal(out.lc.state, RS_QUEUED);
	assert_int_equal(out.lc.need, 0);
	assert_string_equal(out.person_id, "PNOSI-1");
	assert_true(out.person > 0);
	assert_int_equal(udb_raw(t, sql), 0);	/* used now */
	assert_int_equal(count(t, "requests WHERE action = 'revoke' AND "
	    "reason = 'keyCompromise' AND auth_method = 'signature' AND "
	    "channel = 'api' AND requester = 'person:PNOSI-1'"), 1);
	assert_int_equal(count(t, "approvals WHERE signature = "
	    "X'3003736967' AND length(signer_sha256) = 64"), 1);
	assert_int_equal(count(t, "outbox"), 1);

	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_NONCE_USED);
	assert_int_equal(count(t, "requests"), 1);
	chal_free(&c);
}

/*
 * Reactivation of a business certificate: the subject asks, the legal
 * representative approves with an approve challenge for exactly that
 * request; the subject cannot approve their own request (403, the
 * challenge stays unused), and a challenge for another request or the
 * request's own challenge cannot be sent to the approval.
 */
static void
test_submit_approval(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c, ap, other;
	struct sf_out		 out;
	struct req		 rq;
	char			 id[RP_ID_LEN + 1], sql[300];

	(void)cert(t, issuer, "B2", CT_BUSINESS, "PNOSI-2", "VATSI-1", NULL);
	(void)cert(t, issuer, "B3", CT_BUSINESS, "PNOSI-2", "VATSI-1", NULL);
	(void)cert(t, issuer, "B4", CT_PERSONAL, "PNOSI-8", NULL, NULL);
	rep(t, "VATSI-1", "PNOSI-5");
	suspend(t, "B2");
	suspend(t, "B3");
	ask(&n, ACT_REACTIVATE, "B2");
	issue(t, &n, &c);
	fake(SIG_OK, "PNOSI-2");
	assert_int_equal(submit(t, c.public_id, NULL, 0, &out, &rq), RP_OK);
	assert_int_equal(out.lc.state, RS_AWAITING_APPROVAL);
	assert_int_equal(out.lc.need, REL_LEGAL_REP);
	memcpy(id, out.lc.public_id, sizeof(id));

	/* A request's challenge is no approval. */
	ask(&n, ACT_REACTIVATE, "B3");
	issue(t, &n, &other);
	assert_int_equal(submit(t, other.public_id, id, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_WRONG_PURPOSE);

	memset(&n, 0, sizeof(n));
	n.approve = 1;
	n.request_id = id;
	n.now = rp_now_ms();
	issue(t, &n, &ap);
	/* An approve challenge cannot make a request, nor approve another. */
	assert_int_equal(submit(t, ap.public_id, NULL, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_WRONG_PURPOSE);
	assert_int_equal(submit(t, other.public_id, NULL, 0, &out, &rq),
	    RP_OK);
	assert_int_equal(submit(t, ap.public_id, out.lc.public_id, 0, &out,
	    &rq), RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_WRONG_PURPOSE);

	/* The subject approving their own request adds nobody: 403. */
	assert_int_equal(submit(t, ap.public_id, id, 0, &out, &rq),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(refused(t, "signature.not_allowed", ap.public_id,
	    SIG__MAX), 1);
	/* A signer the registry does not know: 403 before the lifecycle. */
	fake(SIG_OK, "PNOSI-77");
	assert_int_equal(submit(t, ap.public_id, id, 0, &out, &rq),
	    RP_ERR_FORBIDDEN);

	fake(SIG_OK, "PNOSI-5");
	assert_int_equal(submit(t, ap.public_id, id, 0, &out, &rq), RP_OK);
	assert_int_equal(out.lc.state, RS_QUEUED);
	assert_string_equal(out.lc.public_id, id);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox o JOIN "
	    "requests r ON r.id = o.request_id WHERE r.public_id = '%s' AND "
	    "o.action = 'reactivate'", id);
	assert_int_equal(udb_raw(t, sql), 1);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM challenges "
	    "WHERE public_id = '%s' AND used_at IS NOT NULL", ap.public_id);
	assert_int_equal(udb_raw(t, sql), 1);
	assert_int_equal(submit(t, ap.public_id, id, 0, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_NONCE_USED);
	chal_free(&other);
	chal_free(&ap);
	chal_free(&c);
}

/* A login: a legal representative's is used and audited; others 403. */
static void
test_submit_login(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c;
	struct sf_out		 out;
	struct req		 rq;

	rep(t, "VATSI-2", "PNOSI-6");
	memset(&n, 0, sizeof(n));
	n.login = 1;
	n.now = rp_now_ms();
	issue(t, &n, &c);
	fake(SIG_OK, "PNOSI-1");
	assert_int_equal(submit(t, c.public_id, NULL, 1, &out, &rq),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(refused(t, "signature.not_allowed", c.public_id,
	    SIG__MAX), 0);
	assert_int_equal(count(t, "audit WHERE action = "
	    "'signature.not_allowed' AND json_extract(details, '$.why') = "
	    "'not_a_legal_rep'"), 1);
	fake(SIG_OK, "PNOSI-6");
	assert_int_equal(submit(t, c.public_id, NULL, 1, &out, &rq), RP_OK);
	assert_true(out.person > 0);
	assert_int_equal(count(t, "audit WHERE action = 'rep.login' AND "
	    "subject = 'person:PNOSI-6'"), 1);
	assert_int_equal(count(t, "challenges WHERE used_at IS NOT NULL"), 1);
	assert_int_equal(submit(t, c.public_id, NULL, 1, &out, &rq),
	    RP_ERR_AUTH);
	assert_int_equal(out.why, SIG_NONCE_USED);
	assert_int_equal(count(t, "requests"), 0);
	chal_free(&c);
}

/*
 * When the refusal cannot be audited the answer is 503, never the 401
 * that would let it pass unrecorded; not configured is 422 before
 * anything; the rate limit counts every call of a client.
 */
static void
test_submit_audit_rate_config(void **state)
{
	struct udb		*t = *state;
	struct sf_in		 in;
	struct sf_out		 out;
	struct req		 rq;
	struct chal_new		 n;
	struct challenge	 c;

	db_fault_stmt(DB_AUDIT_ADD, SQLITE_IOERR);
	assert_int_equal(submit(t, "AAAAAAAAAAAAAAAAAAAAAA", NULL, 0, &out,
	    &rq), RP_ERR_UNAVAILABLE);
	assert_int_equal(count(t, "audit"), 0);
	assert_int_equal(submit(t, "AAAAAAAAAAAAAAAAAAAAAA", NULL, 0, &out,
	    &rq), RP_ERR_AUTH);
	assert_int_equal(count(t, "audit"), 1);

	rq = mkreq(t);
	rq.sig = NULL;
	memset(&in, 0, sizeof(in));
	in.challenge_id = "AAAAAAAAAAAAAAAAAAAAAA";
	in.sig = "x";
	in.siglen = 1;
	assert_int_equal(sf_submit(&rq, &in, &out), RP_ERR_POLICY);
	assert_string_equal(rq.err.code, "not_available");
	ask(&n, ACT_REVOKE, "A1");
	assert_int_equal(sf_challenge(&rq, &n, &c), RP_ERR_POLICY);
	assert_int_equal(count(t, "audit"), 1);
	assert_int_equal(count(t, "rate_limits WHERE key = 'sig:192.0.2.7' "
	    "AND hits = 2"), 1);

	t->cfg.rate_attempts = 3;	/* the calls above counted 2 */
	(void)cert(t, issuer, "A1", CT_PERSONAL, "PNOSI-1", NULL, NULL);
	rq = mkreq(t);
	assert_int_equal(sf_challenge(&rq, &n, &c), RP_OK);
	chal_free(&c);
	rq = mkreq(t);
	assert_int_equal(sf_challenge(&rq, &n, &c), RP_ERR_RATE);
	assert_true(rq.retry_after >= 1);
	assert_int_equal(submit(t, "AAAAAAAAAAAAAAAAAAAAAA", NULL, 0, &out,
	    &rq), RP_ERR_RATE);
	assert_int_equal(count(t, "audit WHERE action = "
	    "'signature.refused'"), 1);
	/* The passphrase flow counts apart. */
	assert_int_equal(pf_rate(t->db, &t->cfg, "192.0.2.7", rp_now_ms(),
	    &rq.retry_after, &rq.err), RP_OK);
}

/*
 * An Idempotency-Key: the same body again gets the first answer and
 * makes nothing; the same key with other signature bytes is 422; a bad
 * key is 400.
 */
static void
test_submit_idempotency(void **state)
{
	struct udb		*t = *state;
	struct chal_new		 n;
	struct challenge	 c;
	struct pf_idem		 idem;
	struct sf_in		 in;
	struct sf_out		 out, again;
	struct req		 rq;
	struct rp_errinfo	 ei;

	(void)cert(t, issuer, "A2", CT_PERSONAL, "PNOSI-1", NULL, NULL);
	ask(&n, ACT_SUSPEND, "A2");
	issue(t, &n, &c);
	assert_int_equal(sf_idem_init(&idem, c.public_id, "\x30\x03sig", 5,
	    "key-1", rp_now_ms(), &ei), RP_OK);
	assert_int_equal(strncmp(idem.key, "sig:", 4), 0);
	assert_memory_equal(idem.key + 4, c.public_id, RP_ID_LEN);
	assert_string_equal(idem.key + 4 + RP_ID_LEN, ":key-1");
	memset(&in, 0, sizeof(in));
	in.challenge_id = c.public_id;
	in.sig = "\x30\x03sig";
	in.siglen = 5;
	in.idem = &idem;
	rq = mkreq(t);
	assert_int_equal(sf_submit(&rq, &in, &out), RP_OK);
	assert_int_equal(out.replay, 0);
	rq = mkreq(t);
	assert_int_equal(sf_submit(&rq, &in, &again), RP_OK);
	assert_int_equal(again.replay, 1);
	assert_string_equal(again.lc.public_id, out.lc.public_id);
	assert_int_equal(again.lc.state, out.lc.state);
	assert_int_equal(count(t, "requests"), 1);

	assert_int_equal(sf_idem_init(&idem, c.public_id, "\x30\x03siG", 5,
	    "key-1", rp_now_ms(), &ei), RP_OK);
	rq = mkreq(t);
	assert_int_equal(sf_submit(&rq, &in, &again), RP_ERR_POLICY);
	assert_string_equal(rq.err.code, "idempotency_key_reused");
	assert_int_equal(sf_idem_init(&idem, c.public_id, "x", 1, "two words",
	    rp_now_ms(), &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "bad_idempotency_key");
	assert_int_equal(sf_idem_init(&idem, c.public_id, "x", 1, "",
	    rp_now_ms(), &ei), RP_ERR_BAD_INPUT);
	chal_free(&c);
}

/* The session cookie: good, then tampered, expired, foreign, garbage. */
static void
test_session(void **state)
{
	unsigned char	 secret[RP_SECRET_LEN], other[RP_SECRET_LEN];
	char		 ck[128], bad[160];
	int64_t		 now = 1767225600000LL;
	size_t		 len;

	(void)state;
	memset(secret, 0x5a, sizeof(secret));
	memset(other, 0x5b, sizeof(other));
	assert_int_equal(sf_session_make(secret, 42, now, ck, sizeof(ck)),
	    RP_OK);
	assert_int_equal(sf_session_check(secret, ck, now), 42);
	assert_int_equal(sf_session_check(secret, ck,
	    now + RP_REP_SESSION_MS - 1), 42);
	assert_int_equal(sf_session_check(secret, ck,
	    now + RP_REP_SESSION_MS), 0);
	/* Issued "in the future" more than a session lasts: refused. */
	assert_int_equal(sf_session_check(secret, ck, now - 1), 0);
	assert_int_equal(sf_session_check(other, ck, now), 0);

	len = strlen(ck);
	memcpy(bad, ck, len + 1);
	bad[len - 1] = bad[len - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(sf_session_check(secret, bad, now), 0);
	memcpy(bad, ck, len + 1);
	bad[0] = bad[0] == '4' ? '5' : '4';	/* another person */
	assert_int_equal(sf_session_check(secret, bad, now), 0);
	(void)snprintf(bad, sizeof(bad), "0%s", ck);
	assert_int_equal(sf_session_check(secret, bad, now), 0);
	assert_int_equal(sf_session_check(secret, "", now), 0);
	assert_int_equal(sf_session_check(secret, NULL, now), 0);
	assert_int_equal(sf_session_check(secret, "42.1.x", now), 0);
	assert_int_equal(sf_session_check(secret, "-42.99999999999999.AAAA",
	    now), 0);
	assert_int_equal(sf_session_make(secret, 0, now, ck, sizeof(ck)),
	    RP_ERR_INTERNAL);
	assert_int_equal(sf_session_make(secret, 42, now, ck, 10),
	    RP_ERR_INTERNAL);
	assert_string_equal(ck, "");
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_document_certificate),
		T(test_document_token),
		T(test_document_approve_and_login),
		T(test_issue_refusals),
		T(test_use_once),
		T(test_use_expired_meanwhile),
		T(test_submit_refusals),
		T(test_submit_creates),
		T(test_submit_approval),
		T(test_submit_login),
		T(test_submit_audit_rate_config),
		T(test_submit_idempotency),
		cmocka_unit_test(test_session),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
