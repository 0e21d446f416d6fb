/*
 * Tests of policy.c: both tables of DESIGN.md §2 cell by cell (actions x
 * statuses x channels for every certificate type, and who must sign per
 * type and action group with the "and"/"or" cells and their approvals,
 * for signatures and for officers), every refusal code, the order of the
 * checks, the notAfter and notBefore edges, the recovery window and
 * renewal edges and flags, month-end clamping, the reason rules with the
 * hotline's, the settings flipped, the end of a suspension and
 * out-of-range values.  Rows are named after their cell so that a
 * failure says which one.
 */
#include <limits.h>
#include <time.h>

#include "unit.h"

/* In policy.c, static but for the tests. */
int64_t		 policy_add_months(int64_t, unsigned int);

#define S	REL_SUBJECT
#define R	REL_LEGAL_REP
#define SR	(REL_SUBJECT | REL_LEGAL_REP)

#define DAY	INT64_C(86400000)

/* The flags of an allowed recovery of a certificate on a QSCD (mkq()). */
#define RECOVER_FLAGS	(POLICY_FEE | POLICY_CSR | POLICY_NEW_DEVICE)

/* Milliseconds of a UTC time, by libc's timegm() (not policy.c's code). */
static int64_t
at(int y, int mo, int d, int h, int mi, int s, int ms)
{
	struct tm	 tm;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	assert_true(t != (time_t)-1 || y < 1970);
	return (int64_t)t * 1000 + ms;
}

/*
 * A query for a 5-year certificate on a QSCD issued 2026-01-15 10:00
 * UTC, asked 30 days later with reason unspecified.  The actor is what
 * the channel and method usually bring: the subject for a passphrase, a
 * signature or a paper request an officer records, an agent at the
 * hotline, an officer at the office, nobody for the sweep.
 */
static struct policy_query
mkq(enum action a, enum cert_type t, enum cert_status st, enum channel ch,
    enum auth_method au)
{
	struct policy_query	 q;

	memset(&q, 0, sizeof(q));
	q.action = a;
	q.cert.type = t;
	q.cert.status = st;
	q.cert.not_before = at(2026, 1, 15, 10, 0, 0, 0);
	q.cert.not_after = at(2031, 1, 15, 10, 0, 0, 0);
	q.cert.term_years = 5;
	q.cert.qscd = 1;
	q.channel = ch;
	q.auth = au;
	q.relation = ch == CH_SYSTEM ? 0 : REL_SUBJECT;
	q.roles = ch == CH_HOTLINE ? ROLE_AGENT :
	    ch == CH_OFFICER ? ROLE_OFFICER : 0;
	q.reason = REASON_UNSPECIFIED;
	q.approved = 0;
	q.now = q.cert.not_before + 30 * DAY;
	return q;
}

/* The flags an allowed query carries under the default fees. */
static unsigned int
default_flags(const struct policy_query *q)
{
	switch (q->action) {
	case ACT_REVOKE:
		return POLICY_FEE;
	case ACT_RECOVER:
		return POLICY_FEE | POLICY_CSR |
		    (q->cert.qscd ? POLICY_NEW_DEVICE : 0);
	default:
		return 0;
	}
}

/*
 * Decides q under p and checks the code and need; a refusal must leave
 * need and flags 0.  The decision starts out as garbage, so every field
 * is known to be written.  Returns the flags.
 */
static unsigned int
expect(const char *row, const struct policy *p, const struct policy_query *q,
    enum policy_code want, unsigned int want_need)
{
	struct policy_decision	 d;
	enum policy_code	 got;

	memset(&d, 0xa5, sizeof(d));
	got = policy_decide(p, q, &d);
	if (got != d.code)
		fail_msg("%s: returned %s but decision says %s", row,
		    policy_code_name(got), policy_code_name(d.code));
	if (got != want || d.need != want_need)
		fail_msg("%s: got %s need %u, want %s need %u", row,
		    policy_code_name(got), d.need, policy_code_name(want),
		    want_need);
	if (got != POL_ALLOW && (d.need != 0 || d.flags != 0))
		fail_msg("%s: refusal with need %u flags %u", row, d.need,
		    d.flags);
	return d.flags;
}

/* expect() for an allowed action, checking its flags too. */
static void
expect_allow(const char *row, const struct policy *p,
    const struct policy_query *q, unsigned int need, unsigned int flags)
{
	unsigned int	 got = expect(row, p, q, POL_ALLOW, need);

	if (got != flags)
		fail_msg("%s: flags %u, want %u", row, got, flags);
}

/*
 * DESIGN §2, the second table (who must sign) as written in DESIGN.md,
 * per type and column: revoke/suspend, reactivate, recover.
 */
static const enum signers design_signers[CT__MAX][SG__MAX] = {
	[CT_PERSONAL] = { SIGNERS_SUBJECT, SIGNERS_SUBJECT, SIGNERS_SUBJECT },
	[CT_BUSINESS] = { SIGNERS_SUBJECT_OR_REP, SIGNERS_SUBJECT_AND_REP,
	    SIGNERS_SUBJECT_AND_REP },
	[CT_APPLICATION] = { SIGNERS_SUBJECT_OR_REP, SIGNERS_REP,
	    SIGNERS_SUBJECT_AND_REP },
	[CT_ESEAL] = { SIGNERS_SUBJECT_OR_REP, SIGNERS_SUBJECT_AND_REP,
	    SIGNERS_SUBJECT_AND_REP },
	[CT_TLS] = { SIGNERS_SUBJECT_OR_REP, SIGNERS_NONE, SIGNERS_NONE },
	[CT_QWAC] = { SIGNERS_SUBJECT_OR_REP, SIGNERS_NONE, SIGNERS_NONE },
};

static void
test_defaults(void **state)
{
	struct policy	 p;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	policy_defaults(&p);
	assert_int_equal(p.suspend_types, (1u << CT_PERSONAL) |
	    (1u << CT_BUSINESS) | (1u << CT_APPLICATION) | (1u << CT_ESEAL));
	assert_int_equal(p.suspend_max_days, 60);
	assert_int_equal(p.suspend_end_action, ACT_REVOKE);
	assert_int_equal(p.online_suspend, 1);
	assert_int_equal(p.online_revoke, 0);
	assert_int_equal(p.revoke_unsuspendable, 1);
	assert_int_equal(p.max_failures, 5);
	assert_int_equal(p.hotline_suspend, 1);
	assert_int_equal(p.hotline_action, ACT_REVOKE);
	assert_int_equal(p.hotline_revoke_reasons, 0x3u);	/* 0,1 */
	assert_int_equal(p.recover_term_years, 5);
	assert_int_equal(p.recover_window_months, 12);
	assert_int_equal(p.recover_renewal_days, 45);
	assert_int_equal(p.approval_expiry_hours, 168);
	assert_int_equal(p.due_minutes, 1440);
	assert_int_equal(p.reasons_subscriber, 0x3bu);	/* 0,1,3,4,5 */
	assert_int_equal(p.reasons_staff, 0x23bu);	/* and 9 */
	assert_int_equal(p.reasons_tls, 0x23bu);
	assert_memory_equal(p.signers, design_signers,
	    sizeof(design_signers));
	assert_int_equal(p.fee[ACT_REVOKE], 1);
	assert_int_equal(p.fee[ACT_SUSPEND], 0);
	assert_int_equal(p.fee[ACT_REACTIVATE], 0);
	assert_int_equal(p.fee[ACT_RECOVER], 1);
}

/*
 * DESIGN §2, the first table: each action from each status through each
 * channel and method, for every certificate type.  want[][] is indexed by
 * the type's class (SUSP: personal, business, application and eseal,
 * which may be suspended; WEBC: tls and qwac, which may not) and by
 * status: valid, suspended, revoked.  A passphrase stands for the
 * subject; a signature and an officer's paper request carry both parties
 * (one person in both roles), so the who-must-sign rule is met at once
 * and only the first table shows (the second walk tests that rule).
 */
enum tclass {
	SUSP,
	WEBC,
	TCLASS__MAX
};

static const enum tclass type_class[CT__MAX] = {
	[CT_PERSONAL] = SUSP,
	[CT_BUSINESS] = SUSP,
	[CT_APPLICATION] = SUSP,
	[CT_ESEAL] = SUSP,
	[CT_TLS] = WEBC,
	[CT_QWAC] = WEBC,
};

struct t1row {
	enum action		 a;
	const char		*via;
	enum channel		 ch;
	enum auth_method	 au;
	enum policy_code	 want[TCLASS__MAX][CS__MAX];
};

#define A	POL_ALLOW
#define W	POL_WRONG_STATUS
#define NS	POL_NEEDS_SIGNATURE
#define NA	POL_NOT_AUTHORISED
#define NT	POL_NOT_ALLOWED_FOR_TYPE

/* The channels and methods of the table's rows. */
#define WEB_PASS	"web passphrase", CH_WEB, AUTH_PASSPHRASE
#define API_PASS	"api passphrase", CH_API, AUTH_PASSPHRASE
#define WEB_SIG		"web signature", CH_WEB, AUTH_SIGNATURE
#define API_SIG		"api signature", CH_API, AUTH_SIGNATURE
#define AGENT		"hotline agent", CH_HOTLINE, AUTH_PASSPHRASE
#define OFFICER		"officer", CH_OFFICER, AUTH_STAFF
#define SWEEP		"sweep", CH_SYSTEM, AUTH_STAFF

/* tls and qwac: neither suspended, nor reactivated, nor recovered. */
#define NEVER		{ NT, NT, NT }

static const struct t1row table1[] = {
	/* A passphrase revokes what cannot be suspended (tls, qwac). */
	{ ACT_REVOKE, WEB_PASS, { { NS, NS, W }, { A, A, W } } },
	{ ACT_REVOKE, API_PASS, { { NS, NS, W }, { A, A, W } } },
	{ ACT_REVOKE, WEB_SIG, { { A, A, W }, { A, A, W } } },
	{ ACT_REVOKE, API_SIG, { { A, A, W }, { A, A, W } } },
	{ ACT_REVOKE, AGENT, { { A, A, W }, { A, A, W } } },
	{ ACT_REVOKE, OFFICER, { { A, A, W }, { A, A, W } } },
	{ ACT_REVOKE, SWEEP, { { NA, A, W }, { NA, A, W } } },

	{ ACT_SUSPEND, WEB_PASS, { { A, W, W }, NEVER } },
	{ ACT_SUSPEND, API_PASS, { { A, W, W }, NEVER } },
	{ ACT_SUSPEND, WEB_SIG, { { A, W, W }, NEVER } },
	{ ACT_SUSPEND, API_SIG, { { A, W, W }, NEVER } },
	{ ACT_SUSPEND, AGENT, { { A, W, W }, NEVER } },
	{ ACT_SUSPEND, OFFICER, { { A, W, W }, NEVER } },
	{ ACT_SUSPEND, SWEEP, { { NA, W, W }, NEVER } },

	{ ACT_REACTIVATE, WEB_PASS, { { W, NS, W }, NEVER } },
	{ ACT_REACTIVATE, API_PASS, { { W, NS, W }, NEVER } },
	{ ACT_REACTIVATE, WEB_SIG, { { W, A, W }, NEVER } },
	{ ACT_REACTIVATE, API_SIG, { { W, A, W }, NEVER } },
	{ ACT_REACTIVATE, AGENT, { { W, NS, W }, NEVER } },
	{ ACT_REACTIVATE, OFFICER, { { W, A, W }, NEVER } },
	{ ACT_REACTIVATE, SWEEP, { { W, NA, W }, NEVER } },

	{ ACT_RECOVER, WEB_PASS, { { NS, W, W }, NEVER } },
	{ ACT_RECOVER, API_PASS, { { NS, W, W }, NEVER } },
	{ ACT_RECOVER, WEB_SIG, { { A, W, W }, NEVER } },
	{ ACT_RECOVER, API_SIG, { { A, W, W }, NEVER } },
	{ ACT_RECOVER, AGENT, { { NS, W, W }, NEVER } },
	{ ACT_RECOVER, OFFICER, { { A, W, W }, NEVER } },
	{ ACT_RECOVER, SWEEP, { { NA, W, W }, NEVER } },
};

static void
test_actions_table(void **state)
{
	struct policy		 p;
	struct policy_query	 q;
	enum policy_code	 want;
	char			 row[128];
	size_t			 i, st, t;

	(void)state;
	policy_defaults(&p);
	for (t = 0; t < CT__MAX; t++) {
		for (i = 0; i < sizeof(table1) / sizeof(table1[0]); i++) {
			for (st = 0; st < CS__MAX; st++) {
				(void)snprintf(row, sizeof(row),
				    "%s %s %s, %s",
				    dom_type_name((enum cert_type)t),
				    dom_action_name(table1[i].a),
				    dom_status_name((enum cert_status)st),
				    table1[i].via);
				q = mkq(table1[i].a, (enum cert_type)t,
				    (enum cert_status)st, table1[i].ch,
				    table1[i].au);
				if (table1[i].au != AUTH_PASSPHRASE &&
				    table1[i].ch != CH_SYSTEM)
					q.relation = SR;
				want = table1[i].want[type_class[t]][st];
				if (want == POL_ALLOW)
					expect_allow(row, &p, &q, 0,
					    default_flags(&q));
				else
					(void)expect(row, &p, &q, want, 0);
			}
		}
	}
}

/*
 * DESIGN §2, the second table: who must sign, for every type and action
 * group, with a qualified signature on the web or through the API, and
 * on paper recorded by an officer (the same rule).  The cell's rule
 * comes from design_signers[][]; what each rule means for each signer
 * and approval is rule_want[][] below.
 */
struct sigcase {
	const char	*name;
	unsigned int	 relation;
	unsigned int	 approved;
};

static const struct sigcase sigcases[] = {
	{ "subject signs", S, 0 },
	{ "legal rep signs", R, 0 },
	{ "one person, both roles, signs", SR, 0 },
	{ "stranger signs", 0, 0 },
	{ "rep approves the subject's", R, S },
	{ "subject approves the rep's", S, R },
	{ "subject approves own", S, S },
	{ "rep approves own", R, R },
	{ "both roles approve the subject's", SR, S },
};

#define NCASES	(sizeof(sigcases) / sizeof(sigcases[0]))

struct sigwant {
	enum policy_code	 code;
	unsigned int		 need;
};

static const struct sigwant rule_want[SIGNERS__MAX][NCASES] = {
	[SIGNERS_SUBJECT] = {
		{ A, 0 }, { NA, 0 }, { A, 0 }, { NA, 0 },
		{ NA, 0 }, { A, 0 }, { NA, 0 }, { NA, 0 }, { NA, 0 },
	},
	[SIGNERS_SUBJECT_OR_REP] = {
		{ A, 0 }, { A, 0 }, { A, 0 }, { NA, 0 },
		{ NA, 0 }, { NA, 0 }, { NA, 0 }, { NA, 0 }, { NA, 0 },
	},
	[SIGNERS_SUBJECT_AND_REP] = {
		{ A, R }, { A, S }, { A, 0 }, { NA, 0 },
		{ A, 0 }, { A, 0 }, { NA, 0 }, { NA, 0 }, { A, 0 },
	},
	[SIGNERS_REP] = {
		{ A, R }, { A, 0 }, { A, 0 }, { NA, 0 },
		{ A, 0 }, { NA, 0 }, { NA, 0 }, { NA, 0 }, { A, 0 },
	},
};

/*
 * Walks the second table for every type, action and signer case, signed
 * through channel ch with method au.
 */
static void
signers_walk(enum channel ch, enum auth_method au)
{
	static const struct {
		enum action		 a;
		enum sign_group		 g;
		enum cert_status	 from;
	} acts[] = {
		{ ACT_REVOKE, SG_REVOKE_SUSPEND, CS_VALID },
		{ ACT_SUSPEND, SG_REVOKE_SUSPEND, CS_VALID },
		{ ACT_REACTIVATE, SG_REACTIVATE, CS_SUSPENDED },
		{ ACT_RECOVER, SG_RECOVER, CS_VALID },
	};
	struct policy		 p;
	struct policy_query	 q;
	enum signers		 rule;
	char			 row[160];
	size_t			 t, i, c;
	int			 tls;

	policy_defaults(&p);
	for (t = 0; t < CT__MAX; t++) {
		tls = t == CT_TLS || t == CT_QWAC;
		for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
			rule = design_signers[t][acts[i].g];
			for (c = 0; c < NCASES; c++) {
				(void)snprintf(row, sizeof(row),
				    "%s %s, %s: %s",
				    dom_type_name((enum cert_type)t),
				    dom_action_name(acts[i].a),
				    dom_channel_name(ch), sigcases[c].name);
				q = mkq(acts[i].a, (enum cert_type)t,
				    acts[i].from, ch, au);
				q.relation = sigcases[c].relation;
				q.approved = sigcases[c].approved;
				if (rule == SIGNERS_NONE ||
				    (tls && acts[i].a == ACT_SUSPEND))
					(void)expect(row, &p, &q,
					    POL_NOT_ALLOWED_FOR_TYPE, 0);
				else if (rule_want[rule][c].code == POL_ALLOW)
					expect_allow(row, &p, &q,
					    rule_want[rule][c].need,
					    default_flags(&q));
				else
					(void)expect(row, &p, &q,
					    rule_want[rule][c].code, 0);
			}
		}
	}
}

static void
test_signers_table(void **state)
{
	(void)state;
	signers_walk(CH_WEB, AUTH_SIGNATURE);
	signers_walk(CH_API, AUTH_SIGNATURE);
	/* A paper request: the officer records who signed it. */
	signers_walk(CH_OFFICER, AUTH_STAFF);
}

/* The rules also work when the TSP moves them to other cells. */
static void
test_signers_configured(void **state)
{
	struct policy		 p;
	struct policy_query	 q;
	enum signers		 rule;
	size_t			 c;
	char			 row[160];
	int			 officer;

	(void)state;
	policy_defaults(&p);
	for (rule = SIGNERS_SUBJECT; rule < SIGNERS__MAX; rule++) {
		p.signers[CT_PERSONAL][SG_RECOVER] = rule;
		for (c = 0; c < 2 * NCASES; c++) {
			officer = c >= NCASES;
			(void)snprintf(row, sizeof(row), "personal recover "
			    "rule %d, %s: %s", (int)rule,
			    officer ? "officer" : "api signature",
			    sigcases[c % NCASES].name);
			q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID,
			    officer ? CH_OFFICER : CH_API,
			    officer ? AUTH_STAFF : AUTH_SIGNATURE);
			q.relation = sigcases[c % NCASES].relation;
			q.approved = sigcases[c % NCASES].approved;
			if (rule_want[rule][c % NCASES].code == POL_ALLOW)
				expect_allow(row, &p, &q,
				    rule_want[rule][c % NCASES].need,
				    RECOVER_FLAGS);
			else
				(void)expect(row, &p, &q,
				    rule_want[rule][c % NCASES].code, 0);
		}
	}
	/* tls made recoverable by a TSP, then refused for its term. */
	p.signers[CT_TLS][SG_RECOVER] = SIGNERS_SUBJECT_AND_REP;
	q = mkq(ACT_RECOVER, CT_TLS, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	expect_allow("tls recover allowed by the TSP", &p, &q, R,
	    RECOVER_FLAGS);
	q.cert.term_years = 1;
	(void)expect("tls recover, 1-year term", &p, &q,
	    POL_TERM_NOT_ELIGIBLE, 0);

	/*
	 * A passphrase stands for the subject alone: where the subject
	 * alone may not act, it is not enough.
	 */
	policy_defaults(&p);
	p.signers[CT_BUSINESS][SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT_AND_REP;
	q = mkq(ACT_SUSPEND, CT_BUSINESS, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	(void)expect("business suspend, subject+rep, passphrase", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	q = mkq(ACT_SUSPEND, CT_BUSINESS, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	(void)expect("business suspend, subject+rep, hotline", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	p.signers[CT_BUSINESS][SG_REVOKE_SUSPEND] = SIGNERS_REP;
	q = mkq(ACT_SUSPEND, CT_BUSINESS, CS_VALID, CH_API, AUTH_PASSPHRASE);
	(void)expect("business suspend, rep, passphrase", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	/* The officer follows the rule like a signature. */
	q = mkq(ACT_SUSPEND, CT_BUSINESS, CS_VALID, CH_OFFICER, AUTH_STAFF);
	expect_allow("business suspend, rep, officer, subject's paper", &p,
	    &q, R, 0);
	q.relation = 0;
	(void)expect("business suspend, rep, officer, nobody's paper", &p,
	    &q, POL_NOT_AUTHORISED, 0);
	q.relation = R;
	expect_allow("business suspend, rep, officer, rep's paper", &p, &q,
	    0, 0);
	p.signers[CT_BUSINESS][SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT_OR_REP;
	q = mkq(ACT_SUSPEND, CT_BUSINESS, CS_VALID, CH_API, AUTH_PASSPHRASE);
	expect_allow("business suspend, subject|rep, passphrase", &p, &q, 0,
	    0);
}

/* One named query per code: every refusal is reachable. */
static void
test_every_code(void **state)
{
	struct policy		 p;
	struct policy_query	 q;
	unsigned int		 seen = 0;
	enum policy_code	 c;

	(void)state;
	policy_defaults(&p);

	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	(void)expect("allow", &p, &q, POL_ALLOW, 0);
	seen |= 1u << POL_ALLOW;

	q = mkq(ACT_REACTIVATE, CT_PERSONAL, CS_VALID, CH_WEB,
	    AUTH_SIGNATURE);
	(void)expect("wrong_status", &p, &q, POL_WRONG_STATUS, 0);
	seen |= 1u << POL_WRONG_STATUS;

	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.now = q.cert.not_after + 1;
	(void)expect("certificate_expired", &p, &q, POL_CERT_EXPIRED, 0);
	seen |= 1u << POL_CERT_EXPIRED;

	q = mkq(ACT_SUSPEND, CT_QWAC, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	(void)expect("not_allowed_for_type", &p, &q,
	    POL_NOT_ALLOWED_FOR_TYPE, 0);
	seen |= 1u << POL_NOT_ALLOWED_FOR_TYPE;

	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.term_years = 3;
	(void)expect("term_not_eligible", &p, &q, POL_TERM_NOT_ELIGIBLE, 0);
	seen |= 1u << POL_TERM_NOT_ELIGIBLE;

	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.now = q.cert.not_before + 400 * DAY;
	(void)expect("outside_recovery_window", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);
	seen |= 1u << POL_OUTSIDE_RECOVERY_WINDOW;

	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.not_after = q.now + 10 * DAY;
	(void)expect("renewal_period", &p, &q, POL_RENEWAL_PERIOD, 0);
	seen |= 1u << POL_RENEWAL_PERIOD;

	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.reason = REASON_HOLD;
	(void)expect("reason_not_allowed", &p, &q, POL_REASON_NOT_ALLOWED, 0);
	seen |= 1u << POL_REASON_NOT_ALLOWED;

	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	(void)expect("needs_signature", &p, &q, POL_NEEDS_SIGNATURE, 0);
	seen |= 1u << POL_NEEDS_SIGNATURE;

	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.relation = REL_LEGAL_REP;
	(void)expect("not_authorised", &p, &q, POL_NOT_AUTHORISED, 0);
	seen |= 1u << POL_NOT_AUTHORISED;

	for (c = 0; c < POL__MAX; c++)
		if ((seen & (1u << c)) == 0)
			fail_msg("code %s not tested", policy_code_name(c));
}

/* The first failing check is the answer. */
static void
test_check_order(void **state)
{
	struct policy		 p;
	struct policy_query	 q;

	(void)state;
	policy_defaults(&p);

	/* 1 before 2: a revoked, expired TLS certificate to suspend. */
	q = mkq(ACT_SUSPEND, CT_TLS, CS_REVOKED, CH_WEB, AUTH_SIGNATURE);
	q.now = q.cert.not_after + DAY;
	(void)expect("type before status", &p, &q,
	    POL_NOT_ALLOWED_FOR_TYPE, 0);
	q = mkq(ACT_REACTIVATE, CT_QWAC, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	(void)expect("type (no rule) before status", &p, &q,
	    POL_NOT_ALLOWED_FOR_TYPE, 0);
	/* Suspendable types are a setting, checked with the type. */
	p.suspend_types &= ~(1u << CT_PERSONAL);
	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_REVOKED, CH_WEB,
	    AUTH_PASSPHRASE);
	(void)expect("suspend types before status", &p, &q,
	    POL_NOT_ALLOWED_FOR_TYPE, 0);
	policy_defaults(&p);

	/* Status before expiry. */
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_REVOKED, CH_WEB, AUTH_SIGNATURE);
	q.now = q.cert.not_after + DAY;
	(void)expect("status before expiry", &p, &q, POL_WRONG_STATUS, 0);
	/* Status before the recovery term. */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_SUSPENDED, CH_WEB,
	    AUTH_SIGNATURE);
	q.cert.term_years = 1;
	(void)expect("status before term", &p, &q, POL_WRONG_STATUS, 0);
	/* Expiry before the recovery term. */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.term_years = 1;
	q.now = q.cert.not_after + 1;
	(void)expect("expiry before term", &p, &q, POL_CERT_EXPIRED, 0);
	/* Term before window, after it and before it began. */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.term_years = 1;
	q.now = q.cert.not_before + 500 * DAY;
	(void)expect("term before window", &p, &q, POL_TERM_NOT_ELIGIBLE, 0);
	q.now = q.cert.not_before - 1;
	(void)expect("term before not yet valid", &p, &q,
	    POL_TERM_NOT_ELIGIBLE, 0);
	/* Not yet valid: the window, before renewal and reason. */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.not_after = q.cert.not_before + 40 * DAY;
	q.now = q.cert.not_before - 1;
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("not yet valid before renewal", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);
	/* Window before renewal: outside both. */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.not_after = q.cert.not_before + 400 * DAY;
	q.now = q.cert.not_before + 390 * DAY;
	(void)expect("window before renewal", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);
	/* Renewal before reason. */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.not_after = q.now + DAY;
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("renewal before reason", &p, &q, POL_RENEWAL_PERIOD, 0);
	/* Reason before channel: a passphrase may not revoke either. */
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	q.reason = REASON_PRIVILEGE_WITHDRAWN;
	(void)expect("reason before channel", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	/* Reason before the signer. */
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_API, AUTH_SIGNATURE);
	q.relation = 0;
	q.reason = REASON_REMOVE_FROM_CRL;
	(void)expect("reason before signer", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q.channel = CH_OFFICER;
	q.auth = AUTH_STAFF;
	q.roles = ROLE_OFFICER;
	(void)expect("reason before the officer's paper", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	/* The hotline's revocation reasons before its switch (Halcom). */
	p.hotline_action = ACT_SUSPEND;
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	q.reason = REASON_CESSATION;
	(void)expect("hotline reason before switch", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("hotline reason fine, switch", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	policy_defaults(&p);
	/* Within step 5: the officer role before the paper's signers. */
	q = mkq(ACT_REACTIVATE, CT_BUSINESS, CS_SUSPENDED, CH_OFFICER,
	    AUTH_STAFF);
	q.relation = SR;
	q.roles = ROLE_AGENT;
	(void)expect("officer role before signers", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	/* Within step 5: the agent role before the method and switch. */
	q = mkq(ACT_REACTIVATE, CT_PERSONAL, CS_SUSPENDED, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	q.roles = ROLE_OFFICER;
	(void)expect("hotline role before switch", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	/* A bad value anywhere comes first of all. */
	q = mkq(ACT_SUSPEND, CT_TLS, CS_REVOKED, CH__MAX, AUTH_SIGNATURE);
	(void)expect("bad channel before type", &p, &q, POL_NOT_AUTHORISED,
	    0);
}

/*
 * RFC 5280 4.1.2.5: the validity period includes notAfter, so a
 * certificate is expired only after it.  Every action, through every
 * kind of channel.
 */
static void
test_expiry(void **state)
{
	static const struct {
		enum action		 a;
		enum cert_status	 st;
		enum channel		 ch;
		enum auth_method	 au;
	} rows[] = {
		{ ACT_REVOKE, CS_VALID, CH_WEB, AUTH_SIGNATURE },
		{ ACT_REVOKE, CS_SUSPENDED, CH_HOTLINE, AUTH_PASSPHRASE },
		{ ACT_REVOKE, CS_SUSPENDED, CH_SYSTEM, AUTH_STAFF },
		{ ACT_SUSPEND, CS_VALID, CH_WEB, AUTH_PASSPHRASE },
		{ ACT_SUSPEND, CS_VALID, CH_OFFICER, AUTH_STAFF },
		{ ACT_REACTIVATE, CS_SUSPENDED, CH_API, AUTH_SIGNATURE },
		{ ACT_RECOVER, CS_VALID, CH_OFFICER, AUTH_STAFF },
	};
	struct policy		 p;
	struct policy_query	 q;
	char			 row[128];
	size_t			 i;

	(void)state;
	policy_defaults(&p);
	/* Recovery is otherwise refused at the end: ask for renewal. */
	p.recover_renewal_days = 0;
	p.recover_window_months = 120;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		q = mkq(rows[i].a, CT_BUSINESS, rows[i].st, rows[i].ch,
		    rows[i].au);
		q.relation = q.channel == CH_SYSTEM ? 0 : SR;
		q.now = q.cert.not_after - 1;
		(void)snprintf(row, sizeof(row), "%s, %s, 1 ms before "
		    "notAfter", dom_action_name(rows[i].a),
		    dom_channel_name(rows[i].ch));
		expect_allow(row, &p, &q, 0, default_flags(&q));
		q.now = q.cert.not_after;
		(void)snprintf(row, sizeof(row), "%s, %s, at notAfter",
		    dom_action_name(rows[i].a), dom_channel_name(rows[i].ch));
		expect_allow(row, &p, &q, 0, default_flags(&q));
		q.now = q.cert.not_after + 1;
		(void)snprintf(row, sizeof(row), "%s, %s, 1 ms after "
		    "notAfter", dom_action_name(rows[i].a),
		    dom_channel_name(rows[i].ch));
		(void)expect(row, &p, &q, POL_CERT_EXPIRED, 0);
	}
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_SUSPENDED, CH_OFFICER, AUTH_STAFF);
	q.now = q.cert.not_after + DAY;
	(void)expect("officer revokes an expired one", &p, &q,
	    POL_CERT_EXPIRED, 0);
	/* A certificate valid for one instant. */
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.not_after = q.cert.not_before;
	q.now = q.cert.not_before;
	expect_allow("notBefore = notAfter = now", &p, &q, 0, POLICY_FEE);
}

/*
 * A certificate not yet valid (now before notBefore) can be revoked and
 * suspended, by every channel that could otherwise: a compromised key
 * must always be revocable.  Its recovery window has not begun.
 */
static void
test_not_yet_valid(void **state)
{
	static const struct {
		enum action		 a;
		enum cert_status	 st;
		enum channel		 ch;
		enum auth_method	 au;
	} rows[] = {
		{ ACT_REVOKE, CS_VALID, CH_WEB, AUTH_SIGNATURE },
		{ ACT_REVOKE, CS_VALID, CH_API, AUTH_SIGNATURE },
		{ ACT_REVOKE, CS_VALID, CH_HOTLINE, AUTH_PASSPHRASE },
		{ ACT_REVOKE, CS_SUSPENDED, CH_OFFICER, AUTH_STAFF },
		{ ACT_REVOKE, CS_SUSPENDED, CH_SYSTEM, AUTH_STAFF },
		{ ACT_SUSPEND, CS_VALID, CH_WEB, AUTH_PASSPHRASE },
		{ ACT_SUSPEND, CS_VALID, CH_API, AUTH_PASSPHRASE },
		{ ACT_SUSPEND, CS_VALID, CH_HOTLINE, AUTH_PASSPHRASE },
		{ ACT_SUSPEND, CS_VALID, CH_WEB, AUTH_SIGNATURE },
		{ ACT_SUSPEND, CS_VALID, CH_OFFICER, AUTH_STAFF },
		/* Lifting a hold is not refused either. */
		{ ACT_REACTIVATE, CS_SUSPENDED, CH_WEB, AUTH_SIGNATURE },
	};
	static const int64_t early[] = { 1, DAY, 30 * DAY };
	struct policy		 p;
	struct policy_query	 q;
	char			 row[128];
	size_t			 i, e;

	(void)state;
	policy_defaults(&p);
	for (e = 0; e < sizeof(early) / sizeof(early[0]); e++) {
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			(void)snprintf(row, sizeof(row), "%s %s, %s, %lld ms "
			    "before notBefore", dom_action_name(rows[i].a),
			    dom_status_name(rows[i].st),
			    dom_channel_name(rows[i].ch),
			    (long long)early[e]);
			q = mkq(rows[i].a, CT_PERSONAL, rows[i].st,
			    rows[i].ch, rows[i].au);
			q.now = q.cert.not_before - early[e];
			expect_allow(row, &p, &q, 0, default_flags(&q));
		}
		(void)snprintf(row, sizeof(row), "tls revoke, web "
		    "passphrase, %lld ms early", (long long)early[e]);
		q = mkq(ACT_REVOKE, CT_TLS, CS_VALID, CH_WEB,
		    AUTH_PASSPHRASE);
		q.now = q.cert.not_before - early[e];
		expect_allow(row, &p, &q, 0, POLICY_FEE);

		(void)snprintf(row, sizeof(row), "recover, signature, "
		    "%lld ms early", (long long)early[e]);
		q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB,
		    AUTH_SIGNATURE);
		q.now = q.cert.not_before - early[e];
		(void)expect(row, &p, &q, POL_OUTSIDE_RECOVERY_WINDOW, 0);
		(void)snprintf(row, sizeof(row), "recover, officer, "
		    "%lld ms early", (long long)early[e]);
		q = mkq(ACT_RECOVER, CT_BUSINESS, CS_VALID, CH_OFFICER,
		    AUTH_STAFF);
		q.relation = SR;
		q.now = q.cert.not_before - early[e];
		(void)expect(row, &p, &q, POL_OUTSIDE_RECOVERY_WINDOW, 0);
	}
	/* At notBefore the window opens, whatever its length. */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_API, AUTH_SIGNATURE);
	q.now = q.cert.not_before;
	expect_allow("recover at notBefore", &p, &q, 0, RECOVER_FLAGS);
	p.recover_window_months = 120;
	p.recover_renewal_days = 0;
	q.now = q.cert.not_before - 1;
	(void)expect("recover 1 ms early, any window", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);
}

/* Recovery: exactly 12 months after issue is in, one ms later is out. */
static void
test_recovery_window(void **state)
{
	struct policy		 p;
	struct policy_query	 q;

	(void)state;
	policy_defaults(&p);
	q = mkq(ACT_RECOVER, CT_BUSINESS, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.relation = SR;
	q.now = at(2027, 1, 15, 10, 0, 0, 0);
	expect_allow("exactly 12 months", &p, &q, 0, RECOVER_FLAGS);
	q.now++;
	(void)expect("12 months and 1 ms", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);
	q.now = q.cert.not_before;
	expect_allow("at issue", &p, &q, 0, RECOVER_FLAGS);

	/* Calendar months, not 30-day ones: Jan 31 + 1 = Feb 28 or 29. */
	p.recover_window_months = 1;
	q.cert.not_before = at(2027, 1, 31, 23, 0, 0, 0);
	q.now = at(2027, 2, 28, 23, 0, 0, 0);
	expect_allow("Jan 31 + 1 month, 2027", &p, &q, 0,
	    RECOVER_FLAGS);
	q.now++;
	(void)expect("Feb 28 2027 and 1 ms", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);
	q.cert.not_before = at(2028, 1, 31, 23, 0, 0, 0);
	q.now = at(2028, 2, 29, 23, 0, 0, 0);
	expect_allow("Jan 31 + 1 month, 2028", &p, &q, 0,
	    RECOVER_FLAGS);
	q.now++;
	(void)expect("Feb 29 2028 and 1 ms", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);

	/* The window is a setting. */
	p.recover_window_months = 24;
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.now = at(2028, 1, 15, 10, 0, 0, 0);
	expect_allow("24 months", &p, &q, 0, RECOVER_FLAGS);
	q.now++;
	(void)expect("24 months and 1 ms", &p, &q,
	    POL_OUTSIDE_RECOVERY_WINDOW, 0);

	/* The term is a setting. */
	policy_defaults(&p);
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.term_years = 2;
	(void)expect("2-year term", &p, &q, POL_TERM_NOT_ELIGIBLE, 0);
	p.recover_term_years = 2;
	expect_allow("2-year term when set", &p, &q, 0,
	    RECOVER_FLAGS);
	q.cert.term_years = 5;
	(void)expect("5-year term when 2 is set", &p, &q,
	    POL_TERM_NOT_ELIGIBLE, 0);
}

/*
 * In the last 45 days of the validity period recovery stops: "ask for
 * renewal".  The period ends with notAfter itself (RFC 5280 4.1.2.5), so
 * its last 45 days begin 45 days minus 1 ms before notAfter.
 */
static void
test_renewal_period(void **state)
{
	struct policy		 p;
	struct policy_query	 q;

	(void)state;
	policy_defaults(&p);
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.not_after = at(2026, 6, 1, 12, 0, 0, 0);
	q.now = q.cert.not_after - 45 * DAY;
	expect_allow("exactly 45 days before", &p, &q, 0, RECOVER_FLAGS);
	q.now++;
	(void)expect("45 days less 1 ms before", &p, &q, POL_RENEWAL_PERIOD,
	    0);
	q.now = q.cert.not_after;
	(void)expect("at notAfter", &p, &q, POL_RENEWAL_PERIOD, 0);
	p.recover_renewal_days = 0;
	expect_allow("at notAfter, no renewal period", &p, &q, 0,
	    RECOVER_FLAGS);
	q.now++;
	(void)expect("after notAfter, no renewal period", &p, &q,
	    POL_CERT_EXPIRED, 0);
	p.recover_renewal_days = 1;
	q.now = q.cert.not_after - DAY;
	expect_allow("1 day before, 1-day period", &p, &q, 0, RECOVER_FLAGS);
	q.now++;
	(void)expect("1 day less 1 ms before, 1-day period", &p, &q,
	    POL_RENEWAL_PERIOD, 0);
	p.recover_renewal_days = 365;
	q.now = q.cert.not_before;
	(void)expect("renewal period longer than the life", &p, &q,
	    POL_RENEWAL_PERIOD, 0);
}

/* Month arithmetic against libc's timegm(). */
static void
test_add_months(void **state)
{
	static const struct {
		int	 y, m, d;
		unsigned int add;
		int	 wy, wm, wd;
	} cases[] = {
		{ 2027, 1, 31, 1, 2027, 2, 28 },
		{ 2028, 1, 31, 1, 2028, 2, 29 },
		{ 2028, 2, 29, 12, 2029, 2, 28 },
		{ 2028, 2, 29, 48, 2032, 2, 29 },
		{ 2026, 3, 31, 1, 2026, 4, 30 },
		{ 2026, 8, 31, 6, 2027, 2, 28 },
		{ 2026, 12, 31, 1, 2027, 1, 31 },
		{ 2026, 11, 30, 3, 2027, 2, 28 },
		{ 2026, 1, 15, 12, 2027, 1, 15 },
		{ 2026, 5, 31, 120, 2036, 5, 31 },
		{ 2099, 12, 31, 2, 2100, 2, 28 },	/* 2100: no leap */
		{ 1999, 12, 31, 2, 2000, 2, 29 },	/* 2000: leap */
		{ 1899, 12, 31, 2, 1900, 2, 28 },
		{ 1969, 12, 31, 2, 1970, 2, 28 },
		{ 1960, 1, 31, 1, 1960, 2, 29 },
		{ 2026, 7, 1, 0, 2026, 7, 1 },
	};
	size_t	 i;
	int64_t	 from, want, got;
	char	 a[32], b[32];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		from = at(cases[i].y, cases[i].m, cases[i].d, 23, 59, 59, 999);
		want = at(cases[i].wy, cases[i].wm, cases[i].wd, 23, 59, 59,
		    999);
		got = policy_add_months(from, cases[i].add);
		if (got != want) {
			rp_time_format(got, a);
			rp_time_format(want, b);
			fail_msg("%04d-%02d-%02d + %u months: %s, want %s",
			    cases[i].y, cases[i].m, cases[i].d, cases[i].add,
			    a, b);
		}
	}
	/* Time of day is kept, to the ms, on both sides of the epoch. */
	assert_true(policy_add_months(at(2026, 1, 15, 0, 0, 0, 1), 1) ==
	    at(2026, 2, 15, 0, 0, 0, 1));
	assert_true(policy_add_months(-1, 1) == at(1970, 1, 31, 23, 59, 59,
	    999));
	/* The extremes do not overflow. */
	assert_true(policy_add_months(INT64_C(253402300799999), UINT_MAX) ==
	    INT64_MAX);
	assert_true(policy_add_months(INT64_C(-62135596800000), 1) ==
	    INT64_C(-62135596800000) + 31 * DAY);
}

static void
test_reasons(void **state)
{
	static const enum crl_reason never[] = {
		REASON_CA_COMPROMISE, REASON_HOLD, (enum crl_reason)7,
		REASON_REMOVE_FROM_CRL, REASON_AA_COMPROMISE,
	};
	static const enum crl_reason subscriber[] = {
		REASON_UNSPECIFIED, REASON_KEY_COMPROMISE,
		REASON_AFFILIATION_CHANGED, REASON_SUPERSEDED,
		REASON_CESSATION,
	};
	struct policy		 p;
	struct policy_query	 q;
	char			 row[128];
	size_t			 i;
	enum cert_type		 t;

	(void)state;
	policy_defaults(&p);
	for (t = CT_PERSONAL; t < CT__MAX; t++) {
		for (i = 0; i < sizeof(subscriber) / sizeof(subscriber[0]);
		    i++) {
			(void)snprintf(row, sizeof(row), "%s revoke, web, %s",
			    dom_type_name(t), dom_reason_name(subscriber[i]));
			q = mkq(ACT_REVOKE, t, CS_VALID, CH_WEB,
			    AUTH_SIGNATURE);
			q.reason = subscriber[i];
			(void)expect(row, &p, &q, POL_ALLOW, 0);
			(void)snprintf(row, sizeof(row), "%s revoke, officer, "
			    "%s", dom_type_name(t),
			    dom_reason_name(subscriber[i]));
			q = mkq(ACT_REVOKE, t, CS_VALID, CH_OFFICER,
			    AUTH_STAFF);
			q.reason = subscriber[i];
			(void)expect(row, &p, &q, POL_ALLOW, 0);
		}
		/* privilegeWithdrawn: staff only. */
		(void)snprintf(row, sizeof(row), "%s, subscriber, "
		    "privilegeWithdrawn", dom_type_name(t));
		q = mkq(ACT_REVOKE, t, CS_VALID, CH_API, AUTH_SIGNATURE);
		q.reason = REASON_PRIVILEGE_WITHDRAWN;
		(void)expect(row, &p, &q, POL_REASON_NOT_ALLOWED, 0);
		q = mkq(ACT_REVOKE, t, CS_VALID, CH_HOTLINE, AUTH_PASSPHRASE);
		q.reason = REASON_PRIVILEGE_WITHDRAWN;
		(void)expect(row, &p, &q, POL_REASON_NOT_ALLOWED, 0);
		(void)snprintf(row, sizeof(row), "%s, officer, "
		    "privilegeWithdrawn", dom_type_name(t));
		q = mkq(ACT_REVOKE, t, CS_VALID, CH_OFFICER, AUTH_STAFF);
		q.reason = REASON_PRIVILEGE_WITHDRAWN;
		(void)expect(row, &p, &q, POL_ALLOW, 0);
	}

	/* Never a chosen reason, even when a hand-made policy lists it. */
	p.reasons_subscriber = p.reasons_staff = p.reasons_tls = 0x7ffu;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		(void)snprintf(row, sizeof(row), "reason %d, officer",
		    (int)never[i]);
		q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_OFFICER,
		    AUTH_STAFF);
		q.reason = never[i];
		(void)expect(row, &p, &q, POL_REASON_NOT_ALLOWED, 0);
		(void)snprintf(row, sizeof(row), "reason %d, suspend, web",
		    (int)never[i]);
		q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_WEB,
		    AUTH_PASSPHRASE);
		q.reason = never[i];
		(void)expect(row, &p, &q, POL_REASON_NOT_ALLOWED, 0);
	}

	/* TLS: the reason must also be in reasons_tls (BR 7.2.2). */
	policy_defaults(&p);
	p.reasons_tls = REASON_BIT(REASON_UNSPECIFIED) |
	    REASON_BIT(REASON_KEY_COMPROMISE);
	q = mkq(ACT_REVOKE, CT_TLS, CS_VALID, CH_OFFICER, AUTH_STAFF);
	q.reason = REASON_SUPERSEDED;
	(void)expect("tls, superseded, not in tls list", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q.cert.type = CT_QWAC;
	(void)expect("qwac, superseded, not in tls list", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q.cert.type = CT_ESEAL;
	(void)expect("eseal, superseded, tls list irrelevant", &p, &q,
	    POL_ALLOW, 0);
	q = mkq(ACT_REVOKE, CT_TLS, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("tls, keyCompromise", &p, &q, POL_ALLOW, 0);
	/* ... and in the channel's list too. */
	p.reasons_tls = 0x23bu;
	p.reasons_subscriber = REASON_BIT(REASON_UNSPECIFIED);
	(void)expect("tls, keyCompromise, not in subscriber list", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	/* Staff lists are separate from the subscriber's. */
	policy_defaults(&p);
	p.reasons_staff = REASON_BIT(REASON_UNSPECIFIED);
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_SUSPENDED, CH_SYSTEM, AUTH_STAFF);
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("sweep, keyCompromise, not in staff list", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("web, keyCompromise, staff list irrelevant", &p, &q,
	    POL_ALLOW, 0);

	/* Reactivation and recovery take no reason. */
	policy_defaults(&p);
	q = mkq(ACT_REACTIVATE, CT_PERSONAL, CS_SUSPENDED, CH_WEB,
	    AUTH_SIGNATURE);
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("reactivate with keyCompromise", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q = mkq(ACT_REACTIVATE, CT_PERSONAL, CS_SUSPENDED, CH_OFFICER,
	    AUTH_STAFF);
	q.reason = REASON_PRIVILEGE_WITHDRAWN;
	(void)expect("officer reactivates with privilegeWithdrawn", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.reason = REASON_SUPERSEDED;
	(void)expect("recover with superseded", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
}

/* The online and hotline switches, flipped. */
static void
test_switches(void **state)
{
	static const enum channel web[] = { CH_WEB, CH_API };
	struct policy		 p;
	struct policy_query	 q;
	size_t			 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		policy_defaults(&p);
		p.online_revoke = 1;
		q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, web[i],
		    AUTH_PASSPHRASE);
		expect_allow("online_revoke yes", &p, &q, 0, POLICY_FEE);
		q.cert.status = CS_SUSPENDED;
		expect_allow("online_revoke yes, suspended", &p, &q, 0,
		    POLICY_FEE);
		p.online_suspend = 0;
		q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, web[i],
		    AUTH_PASSPHRASE);
		(void)expect("online_suspend no", &p, &q,
		    POL_NEEDS_SIGNATURE, 0);
		q.auth = AUTH_SIGNATURE;
		(void)expect("online_suspend no, signature", &p, &q,
		    POL_ALLOW, 0);
		/* No setting lets a passphrase undo a suspension. */
		p.online_suspend = p.online_revoke = 1;
		p.hotline_suspend = 1;
		q = mkq(ACT_REACTIVATE, CT_PERSONAL, CS_SUSPENDED, web[i],
		    AUTH_PASSPHRASE);
		(void)expect("passphrase reactivate, all on", &p, &q,
		    POL_NEEDS_SIGNATURE, 0);
		q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, web[i],
		    AUTH_PASSPHRASE);
		(void)expect("passphrase recover, all on", &p, &q,
		    POL_NEEDS_SIGNATURE, 0);
	}

	policy_defaults(&p);
	p.hotline_suspend = 0;
	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	(void)expect("hotline suspend no", &p, &q, POL_NEEDS_SIGNATURE, 0);
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	expect_allow("hotline suspend no, revoke still", &p, &q, 0,
	    POLICY_FEE);

	/* Halcom: a call only suspends. */
	policy_defaults(&p);
	p.hotline_action = ACT_SUSPEND;
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	(void)expect("hotline action suspend: revoke", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	q = mkq(ACT_SUSPEND, CT_BUSINESS, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	expect_allow("hotline action suspend: suspend", &p, &q, 0, 0);
	/* The hotline does not follow the online switches. */
	policy_defaults(&p);
	p.online_suspend = 0;
	p.online_revoke = 0;
	expect_allow("hotline ignores online_suspend", &p, &q, 0, 0);

	/* Fees are settings. */
	policy_defaults(&p);
	p.fee[ACT_REVOKE] = 0;
	p.fee[ACT_SUSPEND] = 1;
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_OFFICER, AUTH_STAFF);
	expect_allow("revoke without fee", &p, &q, 0, 0);
	q.action = ACT_SUSPEND;
	expect_allow("suspend with fee", &p, &q, 0, POLICY_FEE);
	/* Suspendable types are a setting. */
	p.suspend_types = 0;
	(void)expect("no suspendable type", &p, &q,
	    POL_NOT_ALLOWED_FOR_TYPE, 0);
}

/*
 * Recovery always asks for a CSR (a new key); on a QSCD also for a new
 * device (Fina: new certificates on a new device).  No other action
 * does, QSCD or not.
 */
static void
test_recovery_flags(void **state)
{
	static const enum action others[] = {
		ACT_REVOKE, ACT_SUSPEND, ACT_REACTIVATE,
	};
	struct policy		 p;
	struct policy_query	 q;
	char			 row[128];
	size_t			 i;
	int			 qscd;

	(void)state;
	policy_defaults(&p);
	for (qscd = 0; qscd <= 1; qscd++) {
		q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB,
		    AUTH_SIGNATURE);
		q.cert.qscd = qscd;
		(void)snprintf(row, sizeof(row), "recover, web, qscd %d",
		    qscd);
		expect_allow(row, &p, &q, 0, POLICY_FEE | POLICY_CSR |
		    (qscd ? POLICY_NEW_DEVICE : 0));
		q = mkq(ACT_RECOVER, CT_APPLICATION, CS_VALID, CH_OFFICER,
		    AUTH_STAFF);
		q.cert.qscd = qscd;
		(void)snprintf(row, sizeof(row), "recover, officer, "
		    "waits for the rep, qscd %d", qscd);
		expect_allow(row, &p, &q, R, POLICY_FEE | POLICY_CSR |
		    (qscd ? POLICY_NEW_DEVICE : 0));
		/* The flags do not hang on the fee. */
		p.fee[ACT_RECOVER] = 0;
		q = mkq(ACT_RECOVER, CT_BUSINESS, CS_VALID, CH_API,
		    AUTH_SIGNATURE);
		q.cert.qscd = qscd;
		q.relation = R;
		q.approved = S;
		(void)snprintf(row, sizeof(row), "recover, approved, no fee, "
		    "qscd %d", qscd);
		expect_allow(row, &p, &q, 0, POLICY_CSR |
		    (qscd ? POLICY_NEW_DEVICE : 0));
		policy_defaults(&p);
		for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			q = mkq(others[i], CT_PERSONAL, others[i] ==
			    ACT_REACTIVATE ? CS_SUSPENDED : CS_VALID, CH_WEB,
			    AUTH_SIGNATURE);
			q.cert.qscd = qscd;
			(void)snprintf(row, sizeof(row), "%s, qscd %d",
			    dom_action_name(others[i]), qscd);
			expect_allow(row, &p, &q, 0,
			    others[i] == ACT_REVOKE ? POLICY_FEE : 0);
		}
	}
	/* A refused recovery carries no flags (expect() checks). */
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	(void)expect("recover, passphrase, qscd", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
}

/*
 * [hotline] revoke_reasons: the emergency revocation by telephone takes
 * only these reasons (Fina: theft or loss of the card or key, or another
 * key compromise); other channels and a hotline suspension do not
 * follow it.
 */
static void
test_hotline_reasons(void **state)
{
	static const struct {
		enum crl_reason	 r;
		enum policy_code want;
	} defaults[] = {
		{ REASON_UNSPECIFIED, POL_ALLOW },
		{ REASON_KEY_COMPROMISE, POL_ALLOW },
		{ REASON_AFFILIATION_CHANGED, POL_REASON_NOT_ALLOWED },
		{ REASON_SUPERSEDED, POL_REASON_NOT_ALLOWED },
		{ REASON_CESSATION, POL_REASON_NOT_ALLOWED },
		{ REASON_PRIVILEGE_WITHDRAWN, POL_REASON_NOT_ALLOWED },
	};
	struct policy		 p;
	struct policy_query	 q;
	char			 row[128];
	size_t			 i;
	enum cert_status	 st;

	(void)state;
	policy_defaults(&p);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		for (st = CS_VALID; st <= CS_SUSPENDED; st++) {
			(void)snprintf(row, sizeof(row), "hotline revoke %s, "
			    "%s", dom_status_name(st),
			    dom_reason_name(defaults[i].r));
			q = mkq(ACT_REVOKE, CT_BUSINESS, st, CH_HOTLINE,
			    AUTH_PASSPHRASE);
			q.reason = defaults[i].r;
			(void)expect(row, &p, &q, defaults[i].want, 0);
		}
		if (defaults[i].r == REASON_PRIVILEGE_WITHDRAWN)
			continue;
		/* A suspension keeps the subscriber's list. */
		(void)snprintf(row, sizeof(row), "hotline suspend, %s",
		    dom_reason_name(defaults[i].r));
		q = mkq(ACT_SUSPEND, CT_BUSINESS, CS_VALID, CH_HOTLINE,
		    AUTH_PASSPHRASE);
		q.reason = defaults[i].r;
		(void)expect(row, &p, &q, POL_ALLOW, 0);
		/* So do the other channels, revoking. */
		(void)snprintf(row, sizeof(row), "web signature revoke, %s",
		    dom_reason_name(defaults[i].r));
		q = mkq(ACT_REVOKE, CT_BUSINESS, CS_VALID, CH_WEB,
		    AUTH_SIGNATURE);
		q.reason = defaults[i].r;
		(void)expect(row, &p, &q, POL_ALLOW, 0);
		(void)snprintf(row, sizeof(row), "tls web passphrase revoke, "
		    "%s", dom_reason_name(defaults[i].r));
		q = mkq(ACT_REVOKE, CT_TLS, CS_VALID, CH_API,
		    AUTH_PASSPHRASE);
		q.reason = defaults[i].r;
		(void)expect(row, &p, &q, POL_ALLOW, 0);
	}

	/* Also for what the hotline revokes because it cannot suspend. */
	p.hotline_action = ACT_SUSPEND;
	q = mkq(ACT_REVOKE, CT_QWAC, CS_VALID, CH_HOTLINE, AUTH_PASSPHRASE);
	q.reason = REASON_KEY_COMPROMISE;
	expect_allow("qwac hotline revoke, keyCompromise", &p, &q, 0,
	    POLICY_FEE);
	q.reason = REASON_SUPERSEDED;
	(void)expect("qwac hotline revoke, superseded", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);

	/* The list is a setting ... */
	policy_defaults(&p);
	p.hotline_revoke_reasons = REASON_BIT(REASON_UNSPECIFIED) |
	    REASON_BIT(REASON_SUPERSEDED);
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	q.reason = REASON_SUPERSEDED;
	expect_allow("hotline list: superseded", &p, &q, 0, POLICY_FEE);
	q.reason = REASON_KEY_COMPROMISE;
	(void)expect("hotline list: keyCompromise", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	/* ... within the subscriber's list ... */
	p.hotline_revoke_reasons = 0x23bu;
	p.reasons_subscriber = REASON_BIT(REASON_UNSPECIFIED);
	q.reason = REASON_SUPERSEDED;
	(void)expect("hotline list wider than the subscriber's", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
	q.reason = REASON_UNSPECIFIED;
	expect_allow("hotline list wider, unspecified", &p, &q, 0,
	    POLICY_FEE);
	/* ... and empty in a hand-made policy, which fails closed. */
	policy_defaults(&p);
	p.hotline_revoke_reasons = 0;
	(void)expect("hotline list empty", &p, &q, POL_REASON_NOT_ALLOWED, 0);
	q.action = ACT_SUSPEND;
	expect_allow("hotline list empty, suspend", &p, &q, 0, 0);
}

/*
 * [passphrase] revoke_unsuspendable: a passphrase revokes a certificate
 * that cannot be suspended wherever it could otherwise suspend.
 */
static void
test_revoke_unsuspendable(void **state)
{
	static const enum cert_type web[] = { CT_TLS, CT_QWAC };
	static const enum channel online[] = { CH_WEB, CH_API };
	struct policy		 p;
	struct policy_query	 q;
	char			 base[64], row[128];
	size_t			 t, c;

#define ROW(what)	((void)snprintf(row, sizeof(row), "%s: %s", base, \
			    (what)), row)
	(void)state;
	for (t = 0; t < 2; t++) {
		for (c = 0; c < 2; c++) {
			(void)snprintf(base, sizeof(base), "%s revoke, %s "
			    "passphrase", dom_type_name(web[t]),
			    dom_channel_name(online[c]));
			policy_defaults(&p);
			q = mkq(ACT_REVOKE, web[t], CS_VALID, online[c],
			    AUTH_PASSPHRASE);
			expect_allow(ROW("defaults"), &p, &q, 0, POLICY_FEE);
			/* Only where the passphrase could suspend. */
			p.online_suspend = 0;
			(void)expect(ROW("online_suspend no"), &p, &q,
			    POL_NEEDS_SIGNATURE, 0);
			p.online_revoke = 1;
			expect_allow(ROW("online_suspend no, online_revoke "
			    "yes"), &p, &q, 0, POLICY_FEE);
			/* Off: as before. */
			policy_defaults(&p);
			p.revoke_unsuspendable = 0;
			(void)expect(ROW("revoke_unsuspendable no"), &p, &q,
			    POL_NEEDS_SIGNATURE, 0);
			p.online_revoke = 1;
			expect_allow(ROW("revoke_unsuspendable no, "
			    "online_revoke yes"), &p, &q, 0, POLICY_FEE);
			/* Still the subject's, and alone. */
			policy_defaults(&p);
			q.relation = R;
			(void)expect(ROW("not as subject"), &p, &q,
			    POL_NOT_AUTHORISED, 0);
			q.relation = S;
			q.approved = R;
			(void)expect(ROW("approving"), &p, &q,
			    POL_NEEDS_SIGNATURE, 0);
			q.approved = 0;
			p.signers[web[t]][SG_REVOKE_SUSPEND] =
			    SIGNERS_SUBJECT_AND_REP;
			(void)expect(ROW("subject+legal_rep rule"), &p, &q,
			    POL_NEEDS_SIGNATURE, 0);
		}

		/* The hotline: Halcom's suspends, so it revokes these. */
		(void)snprintf(base, sizeof(base), "%s revoke, hotline",
		    dom_type_name(web[t]));
		policy_defaults(&p);
		p.hotline_action = ACT_SUSPEND;
		q = mkq(ACT_REVOKE, web[t], CS_VALID, CH_HOTLINE,
		    AUTH_PASSPHRASE);
		expect_allow(ROW("action suspend"), &p, &q, 0, POLICY_FEE);
		p.hotline_suspend = 0;
		(void)expect(ROW("action suspend, suspend no"), &p, &q,
		    POL_NEEDS_SIGNATURE, 0);
		p.hotline_suspend = 1;
		p.revoke_unsuspendable = 0;
		(void)expect(ROW("action suspend, revoke_unsuspendable no"),
		    &p, &q, POL_NEEDS_SIGNATURE, 0);
		/* The hotline does not follow the online switch. */
		p.revoke_unsuspendable = 1;
		p.online_suspend = 0;
		expect_allow(ROW("action suspend, online_suspend no"), &p, &q,
		    0, POLICY_FEE);
		/* Fina's hotline revokes anyway. */
		policy_defaults(&p);
		p.revoke_unsuspendable = 0;
		expect_allow(ROW("action revoke, revoke_unsuspendable no"),
		    &p, &q, 0, POLICY_FEE);
	}
#undef ROW

	/* It is never a way around suspension for what can be suspended. */
	policy_defaults(&p);
	q = mkq(ACT_REVOKE, CT_ESEAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	(void)expect("eseal, web passphrase revoke", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	p.hotline_action = ACT_SUSPEND;
	q = mkq(ACT_REVOKE, CT_ESEAL, CS_VALID, CH_HOTLINE, AUTH_PASSPHRASE);
	(void)expect("eseal, halcom hotline revoke", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	/* "Cannot be suspended" is the setting, not the type's name. */
	policy_defaults(&p);
	p.suspend_types &= ~(1u << CT_ESEAL);
	q = mkq(ACT_REVOKE, CT_ESEAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	expect_allow("eseal not suspendable, web passphrase revoke", &p, &q,
	    0, POLICY_FEE);
	/* Nor a way to reactivate or recover. */
	policy_defaults(&p);
	p.signers[CT_TLS][SG_RECOVER] = SIGNERS_SUBJECT;
	q = mkq(ACT_RECOVER, CT_TLS, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	(void)expect("tls recoverable, passphrase", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
	p.signers[CT_TLS][SG_REACTIVATE] = SIGNERS_SUBJECT;
	q = mkq(ACT_REACTIVATE, CT_TLS, CS_SUSPENDED, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	(void)expect("tls reactivable, hotline", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);
}

/*
 * The officer records who signed the paper request; the who-must-sign
 * rule applies to it as to signatures (the walk of the second table
 * covers every cell).  Here: the cases the review named.
 */
static void
test_officer(void **state)
{
	struct policy		 p;
	struct policy_query	 q;

	(void)state;
	policy_defaults(&p);
	/* A business certificate's reactivation needs its legal rep. */
	q = mkq(ACT_REACTIVATE, CT_BUSINESS, CS_SUSPENDED, CH_OFFICER,
	    AUTH_STAFF);
	q.relation = 0;
	(void)expect("officer alone reactivates business", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	q.relation = S;
	expect_allow("officer, subject's paper", &p, &q, R, 0);
	q.relation = R;
	q.approved = S;
	expect_allow("officer, rep's paper completes it", &p, &q, 0, 0);
	q.relation = S;
	(void)expect("officer, subject's paper again", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	/* Nobody's paper is nothing, whatever the action and type. */
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_OFFICER, AUTH_STAFF);
	q.relation = 0;
	(void)expect("officer, revoke, no signer", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	q = mkq(ACT_SUSPEND, CT_TLS, CS_VALID, CH_OFFICER, AUTH_STAFF);
	q.action = ACT_REVOKE;
	q.relation = 0;
	(void)expect("officer, tls revoke, no signer", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	q.relation = R;
	expect_allow("officer, tls revoke, rep's paper", &p, &q, 0,
	    POLICY_FEE);
	/* A personal certificate: its holder only. */
	q = mkq(ACT_REVOKE, CT_PERSONAL, CS_VALID, CH_OFFICER, AUTH_STAFF);
	q.relation = R;
	(void)expect("officer, personal, rep's paper", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	/* The staff reasons stay the officer's. */
	q.relation = S;
	q.reason = REASON_PRIVILEGE_WITHDRAWN;
	expect_allow("officer, privilegeWithdrawn", &p, &q, 0, POLICY_FEE);
	q.channel = CH_WEB;
	q.auth = AUTH_SIGNATURE;
	q.roles = 0;
	(void)expect("signature, privilegeWithdrawn", &p, &q,
	    POL_REASON_NOT_ALLOWED, 0);
}

/* Who may use which channel with which method. */
static void
test_channels(void **state)
{
	struct policy		 p;
	struct policy_query	 q;

	(void)state;
	policy_defaults(&p);

	/* Staff authentication is not a subscriber's, whoever it is. */
	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_STAFF);
	q.relation = SR;
	q.roles = ROLE_ALL;
	(void)expect("web with staff auth", &p, &q, POL_NOT_AUTHORISED, 0);
	q.channel = CH_API;
	(void)expect("api with staff auth", &p, &q, POL_NOT_AUTHORISED, 0);

	/* A passphrase is the subject's; without it, a caller bug. */
	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	q.relation = REL_LEGAL_REP;
	(void)expect("passphrase not as subject", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	/* A passphrase never approves. */
	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_PASSPHRASE);
	q.approved = REL_LEGAL_REP;
	(void)expect("passphrase approves", &p, &q, POL_NEEDS_SIGNATURE, 0);
	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	q.approved = REL_SUBJECT;
	(void)expect("hotline passphrase approves", &p, &q,
	    POL_NEEDS_SIGNATURE, 0);

	/* Hotline: an agent, with the caller's passphrase. */
	q = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_HOTLINE,
	    AUTH_PASSPHRASE);
	q.roles = 0;
	(void)expect("hotline without role", &p, &q, POL_NOT_AUTHORISED, 0);
	q.roles = ROLE_OFFICER | ROLE_ADMIN;
	(void)expect("hotline, officer and admin", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	q.roles = ROLE_ALL;
	expect_allow("hotline, every role", &p, &q, 0, 0);
	q.roles = ROLE_AGENT;
	q.auth = AUTH_STAFF;
	(void)expect("hotline without passphrase", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	q.auth = AUTH_SIGNATURE;
	(void)expect("hotline with signature", &p, &q, POL_NOT_AUTHORISED, 0);

	/* Officer: the role and staff authentication. */
	q = mkq(ACT_RECOVER, CT_ESEAL, CS_VALID, CH_OFFICER, AUTH_STAFF);
	q.relation = SR;
	expect_allow("officer recovers an e-seal both signed for", &p, &q, 0,
	    RECOVER_FLAGS);
	q.roles = ROLE_ALL;
	expect_allow("officer channel, every role", &p, &q, 0,
	    RECOVER_FLAGS);
	q.roles = ROLE_AGENT | ROLE_ADMIN;
	(void)expect("officer channel, agent", &p, &q, POL_NOT_AUTHORISED, 0);
	q.roles = ROLE_OFFICER;
	q.auth = AUTH_PASSPHRASE;
	(void)expect("officer with passphrase", &p, &q, POL_NOT_AUTHORISED,
	    0);
	q.auth = AUTH_SIGNATURE;
	(void)expect("officer with signature", &p, &q, POL_NOT_AUTHORISED, 0);

	/* Officers do what the earlier steps allow, nothing more. */
	q = mkq(ACT_SUSPEND, CT_TLS, CS_VALID, CH_OFFICER, AUTH_STAFF);
	(void)expect("officer suspends tls", &p, &q,
	    POL_NOT_ALLOWED_FOR_TYPE, 0);
	q = mkq(ACT_REACTIVATE, CT_PERSONAL, CS_REVOKED, CH_OFFICER,
	    AUTH_STAFF);
	(void)expect("officer reinstates a revoked one", &p, &q,
	    POL_WRONG_STATUS, 0);
}

/* The sweep ends suspensions that ran out, as the setting says. */
static void
test_suspension_end(void **state)
{
	struct policy		 p;
	struct policy_query	 q;

	(void)state;
	policy_defaults(&p);
	q = mkq(ACT_REVOKE, CT_APPLICATION, CS_SUSPENDED, CH_SYSTEM,
	    AUTH_STAFF);
	expect_allow("end: revoke", &p, &q, 0, POLICY_FEE);
	q.auth = AUTH_PASSPHRASE;
	(void)expect("end: revoke, not staff", &p, &q, POL_NOT_AUTHORISED, 0);
	q = mkq(ACT_REACTIVATE, CT_APPLICATION, CS_SUSPENDED, CH_SYSTEM,
	    AUTH_STAFF);
	(void)expect("end revoke: reactivate", &p, &q, POL_NOT_AUTHORISED, 0);

	p.suspend_end_action = ACT_REACTIVATE;
	expect_allow("end reinstate: reactivate", &p, &q, 0, 0);
	q.auth = AUTH_SIGNATURE;
	(void)expect("end reinstate: reactivate, signature", &p, &q,
	    POL_NOT_AUTHORISED, 0);
	q = mkq(ACT_REVOKE, CT_APPLICATION, CS_SUSPENDED, CH_SYSTEM,
	    AUTH_STAFF);
	(void)expect("end reinstate: revoke", &p, &q, POL_NOT_AUTHORISED, 0);
	q = mkq(ACT_SUSPEND, CT_APPLICATION, CS_VALID, CH_SYSTEM, AUTH_STAFF);
	(void)expect("sweep suspends", &p, &q, POL_NOT_AUTHORISED, 0);
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_SYSTEM, AUTH_STAFF);
	(void)expect("sweep recovers", &p, &q, POL_NOT_AUTHORISED, 0);

	/* The times the sweep works with. */
	policy_defaults(&p);
	assert_true(policy_suspension_end(&p, 1000) == 1000 + 60 * DAY);
	assert_true(policy_due_at(&p, 1000) == 1000 + DAY);
	assert_true(policy_approval_expiry(&p, 1000) == 1000 + 7 * DAY);
	p.suspend_max_days = 1;
	p.due_minutes = 240;
	p.approval_expiry_hours = 1;
	assert_true(policy_suspension_end(&p, -5) == -5 + DAY);
	assert_true(policy_due_at(&p, 0) == 4 * 3600000);
	assert_true(policy_approval_expiry(&p, 7) == 7 + 3600000);
	assert_true(policy_suspension_end(&p, INT64_MAX - 1) == INT64_MAX);
	assert_true(policy_due_at(&p, INT64_MAX) == INT64_MAX);
	assert_true(policy_approval_expiry(&p, INT64_MAX - 5) == INT64_MAX);
}

/* A value no caller should ever pass is refused, never allowed. */
static void
test_out_of_range(void **state)
{
	struct policy		 p;
	struct policy_query	 q, ok;

	(void)state;
	policy_defaults(&p);
	ok = mkq(ACT_SUSPEND, CT_PERSONAL, CS_VALID, CH_OFFICER, AUTH_STAFF);
	(void)expect("the good query", &p, &ok, POL_ALLOW, 0);

#define BAD(what, stmt) do {						\
	q = ok;								\
	stmt;								\
	(void)expect(what, &p, &q, POL_NOT_AUTHORISED, 0);		\
} while (0)
	BAD("action __MAX", q.action = ACT__MAX);
	BAD("action -1", q.action = (enum action)-1);
	BAD("type __MAX", q.cert.type = CT__MAX);
	BAD("type 1000", q.cert.type = (enum cert_type)1000);
	BAD("status __MAX", q.cert.status = CS__MAX);
	BAD("channel __MAX", q.channel = CH__MAX);
	BAD("channel -1", q.channel = (enum channel)-1);
	BAD("auth __MAX", q.auth = AUTH__MAX);
	BAD("reason __MAX", q.reason = REASON__MAX);
	BAD("reason -1", q.reason = (enum crl_reason)-1);
	BAD("relation bit 2", q.relation = 0x4);
	BAD("approved bit 3", q.approved = 0x8);
	BAD("roles bit 3", q.roles = ROLE_OFFICER | 0x8);
	BAD("now before year 1", q.now = INT64_C(-62135596800001));
	BAD("now after 9999", q.now = INT64_C(253402300800000));
	BAD("now INT64_MIN", q.now = INT64_MIN);
	BAD("notBefore INT64_MIN", q.cert.not_before = INT64_MIN);
	BAD("notAfter INT64_MAX", q.cert.not_after = INT64_MAX);
	BAD("notBefore after notAfter",
	    q.cert.not_before = q.cert.not_after + 1);
#undef BAD

	/* A broken policy fails closed as well. */
	p.signers[CT_PERSONAL][SG_REVOKE_SUSPEND] = SIGNERS__MAX;
	(void)expect("signers __MAX", &p, &ok, POL_NOT_AUTHORISED, 0);
	policy_defaults(&p);
	p.suspend_end_action = ACT_SUSPEND;
	(void)expect("end action suspend", &p, &ok, POL_NOT_AUTHORISED, 0);
	policy_defaults(&p);
	p.hotline_action = ACT_RECOVER;
	(void)expect("hotline action recover", &p, &ok, POL_NOT_AUTHORISED,
	    0);

	/* The extremes of the time range work and do not overflow. */
	policy_defaults(&p);
	q = mkq(ACT_RECOVER, CT_PERSONAL, CS_VALID, CH_WEB, AUTH_SIGNATURE);
	q.cert.not_before = INT64_C(-62135596800000);
	q.cert.not_after = INT64_C(253402300799999);
	q.now = q.cert.not_before;
	p.recover_window_months = UINT_MAX;
	p.recover_renewal_days = 0;
	expect_allow("extreme times", &p, &q, 0, RECOVER_FLAGS);
	q.now = q.cert.not_after;
	expect_allow("extreme times, late", &p, &q, 0, RECOVER_FLAGS);
	p.recover_renewal_days = UINT_MAX;
	q.now = q.cert.not_before;
	(void)expect("extreme renewal period", &p, &q, POL_RENEWAL_PERIOD,
	    0);
}

static void
test_code_names(void **state)
{
	static const struct {
		enum policy_code	 c;
		const char		*name;
		enum rp_err		 err;
	} codes[] = {
		{ POL_ALLOW, "allow", RP_OK },
		{ POL_WRONG_STATUS, "wrong_status", RP_ERR_CONFLICT },
		{ POL_CERT_EXPIRED, "certificate_expired", RP_ERR_CONFLICT },
		{ POL_NOT_ALLOWED_FOR_TYPE, "not_allowed_for_type",
		    RP_ERR_POLICY },
		{ POL_TERM_NOT_ELIGIBLE, "term_not_eligible", RP_ERR_POLICY },
		{ POL_OUTSIDE_RECOVERY_WINDOW, "outside_recovery_window",
		    RP_ERR_POLICY },
		{ POL_RENEWAL_PERIOD, "renewal_period", RP_ERR_POLICY },
		{ POL_REASON_NOT_ALLOWED, "reason_not_allowed",
		    RP_ERR_POLICY },
		{ POL_NEEDS_SIGNATURE, "needs_signature", RP_ERR_POLICY },
		{ POL_NOT_AUTHORISED, "not_authorised", RP_ERR_FORBIDDEN },
	};
	size_t	 i;

	(void)state;
	assert_int_equal(sizeof(codes) / sizeof(codes[0]), POL__MAX);
	for (i = 0; i < POL__MAX; i++) {
		assert_int_equal(codes[i].c, i);
		assert_string_equal(policy_code_name(codes[i].c),
		    codes[i].name);
		assert_int_equal(policy_code_err(codes[i].c), codes[i].err);
	}
	assert_string_equal(policy_code_name(POL__MAX), "invalid");
	assert_string_equal(policy_code_name((enum policy_code)-1),
	    "invalid");
	assert_int_equal(policy_code_err(POL__MAX), RP_ERR_INTERNAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_actions_table),
		cmocka_unit_test(test_signers_table),
		cmocka_unit_test(test_signers_configured),
		cmocka_unit_test(test_every_code),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_recovery_window),
		cmocka_unit_test(test_renewal_period),
		cmocka_unit_test(test_add_months),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_recovery_flags),
		cmocka_unit_test(test_hotline_reasons),
		cmocka_unit_test(test_revoke_unsuspendable),
		cmocka_unit_test(test_officer),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_suspension_end),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_code_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
