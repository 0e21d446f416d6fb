/*
 * The rules of DESIGN.md §2: who may revoke, suspend, reactivate or
 * recover which certificate, from which status, through which channel
 * and with what proof.  The rules are data (struct policy, whose defaults
 * are here and whose settings conf.c reads from db/policy.ini) and one
 * pure function, policy_decide(): no clock, no I/O, no globals, so every
 * cell of the tables can be tested by building a query.
 *
 * policy_decide() checks in a fixed order and the first failing check is
 * the answer (tests pin the order): the action's applicability to the
 * certificate type, the certificate's status and expiry, the recovery
 * limits, the reason, the channel and its authentication, and for a
 * signed request or an officer's the who-must-sign rule.
 *
 * What the caller puts in struct policy_query's relation and approved:
 * for a passphrase, REL_SUBJECT (the passphrase is the subscriber's);
 * for a qualified signature, the signer's relation to the certificate;
 * for an RA officer (CH_OFFICER), the parties who signed the paper
 * request the officer checked at the registration office, REL_SUBJECT
 * and/or REL_LEGAL_REP, never 0.  approved holds, for a signature or an
 * officer, the parties who signed the request earlier.  The officer is
 * held to the same who-must-sign rule as a signature: an officer alone
 * cannot reactivate a business certificate that its legal representative
 * did not sign for.
 */
#include <string.h>

#include "extern.h"

#define MS_PER_MINUTE	INT64_C(60000)
#define MS_PER_HOUR	(60 * MS_PER_MINUTE)
#define MS_PER_DAY	(24 * MS_PER_HOUR)

/*
 * The times a query may carry: 0001-01-01T00:00:00.000Z to
 * 9999-12-31T23:59:59.999Z, the range of an X.509 GeneralizedTime.  A
 * time outside it is a bug in the caller.
 */
#define POLICY_TIME_MIN	INT64_C(-62135596800000)
#define POLICY_TIME_MAX	INT64_C(253402300799999)

/* Days from 0001-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define DAYS_TO_EPOCH	INT64_C(719162)

#define REL_BOTH	(REL_SUBJECT | REL_LEGAL_REP)

#ifdef RP_UNITTEST
/* Reached by tests/unit/test_policy.c, which declares it too. */
int64_t		 policy_add_months(int64_t, unsigned int);
#endif
#define TYPE_BIT(t)	(1u << (t))
#define STATUS_BIT(s)	(1u << (s))

/*
 * Reasons nobody ever chooses: certificateHold and removeFromCRL are what
 * a suspension and its end mean, cACompromise and aACompromise are the
 * CA's own business, and 7 has no name.
 */
#define REASONS_NEVER	(REASON_BIT(REASON_CA_COMPROMISE) |	\
			 REASON_BIT(REASON_HOLD) | REASON_BIT(7) |	\
			 REASON_BIT(REASON_REMOVE_FROM_CRL) |		\
			 REASON_BIT(REASON_AA_COMPROMISE))

/* The column of the who-must-sign table that governs each action. */
static const enum sign_group action_group[ACT__MAX] = {
	[ACT_REVOKE] = SG_REVOKE_SUSPEND,
	[ACT_SUSPEND] = SG_REVOKE_SUSPEND,
	[ACT_REACTIVATE] = SG_REACTIVATE,
	[ACT_RECOVER] = SG_RECOVER,
};

/*
 * The statuses each action starts from.  A revoked certificate is never
 * reinstated (EN 319 411-1 REV-6.3.9-04), so nothing starts from revoked.
 */
static const unsigned int action_from[ACT__MAX] = {
	[ACT_REVOKE] = STATUS_BIT(CS_VALID) | STATUS_BIT(CS_SUSPENDED),
	[ACT_SUSPEND] = STATUS_BIT(CS_VALID),
	[ACT_REACTIVATE] = STATUS_BIT(CS_SUSPENDED),
	[ACT_RECOVER] = STATUS_BIT(CS_VALID),
};

/* DESIGN §2, "who must sign", as shipped in db/policy.ini. */
static const enum signers default_signers[CT__MAX][SG__MAX] = {
	[CT_PERSONAL] = {
		[SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT,
		[SG_REACTIVATE] = SIGNERS_SUBJECT,
		[SG_RECOVER] = SIGNERS_SUBJECT,
	},
	[CT_BUSINESS] = {
		[SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT_OR_REP,
		[SG_REACTIVATE] = SIGNERS_SUBJECT_AND_REP,
		[SG_RECOVER] = SIGNERS_SUBJECT_AND_REP,
	},
	[CT_APPLICATION] = {
		[SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT_OR_REP,
		[SG_REACTIVATE] = SIGNERS_REP,
		[SG_RECOVER] = SIGNERS_SUBJECT_AND_REP,
	},
	[CT_ESEAL] = {
		[SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT_OR_REP,
		[SG_REACTIVATE] = SIGNERS_SUBJECT_AND_REP,
		[SG_RECOVER] = SIGNERS_SUBJECT_AND_REP,
	},
	[CT_TLS] = {
		[SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT_OR_REP,
		[SG_REACTIVATE] = SIGNERS_NONE,
		[SG_RECOVER] = SIGNERS_NONE,
	},
	[CT_QWAC] = {
		[SG_REVOKE_SUSPEND] = SIGNERS_SUBJECT_OR_REP,
		[SG_REACTIVATE] = SIGNERS_NONE,
		[SG_RECOVER] = SIGNERS_NONE,
	},
};

static const char *const code_names[POL__MAX] = {
	[POL_ALLOW] = "allow",
	[POL_WRONG_STATUS] = "wrong_status",
	[POL_CERT_EXPIRED] = "certificate_expired",
	[POL_NOT_ALLOWED_FOR_TYPE] = "not_allowed_for_type",
	[POL_TERM_NOT_ELIGIBLE] = "term_not_eligible",
	[POL_OUTSIDE_RECOVERY_WINDOW] = "outside_recovery_window",
	[POL_RENEWAL_PERIOD] = "renewal_period",
	[POL_REASON_NOT_ALLOWED] = "reason_not_allowed",
	[POL_NEEDS_SIGNATURE] = "needs_signature",
	[POL_NOT_AUTHORISED] = "not_authorised",
};

/*
 * Fills p with the defaults of DESIGN §2 (the values db/policy.ini ships
 * with).  Nothing to free.
 */
void
policy_defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->suspend_types = TYPE_BIT(CT_PERSONAL) | TYPE_BIT(CT_BUSINESS) |
	    TYPE_BIT(CT_APPLICATION) | TYPE_BIT(CT_ESEAL);
	p->suspend_max_days = 60;
	p->suspend_end_action = ACT_REVOKE;
	p->online_suspend = 1;
	p->online_revoke = 0;
	p->max_failures = 5;
	p->revoke_unsuspendable = 1;
	p->hotline_suspend = 1;
	p->hotline_action = ACT_REVOKE;
	p->hotline_revoke_reasons = REASON_BIT(REASON_UNSPECIFIED) |
	    REASON_BIT(REASON_KEY_COMPROMISE);
	p->recover_term_years = 5;
	p->recover_window_months = 12;
	p->recover_renewal_days = 45;
	p->approval_expiry_hours = 168;
	p->due_minutes = 1440;
	p->reasons_subscriber = REASON_BIT(REASON_UNSPECIFIED) |
	    REASON_BIT(REASON_KEY_COMPROMISE) |
	    REASON_BIT(REASON_AFFILIATION_CHANGED) |
	    REASON_BIT(REASON_SUPERSEDED) | REASON_BIT(REASON_CESSATION);
	p->reasons_staff = p->reasons_subscriber |
	    REASON_BIT(REASON_PRIVILEGE_WITHDRAWN);
	p->reasons_tls = p->reasons_staff;
	memcpy(p->signers, default_signers, sizeof(p->signers));
	p->fee[ACT_REVOKE] = 1;
	p->fee[ACT_SUSPEND] = 0;
	p->fee[ACT_REACTIVATE] = 0;
	p->fee[ACT_RECOVER] = 1;
}

/* Returns a + b, or INT64_MAX / INT64_MIN where the sum would overflow. */
static int64_t
add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/* Returns a / b rounded toward minus infinity; b > 0. */
static int64_t
fdiv(int64_t a, int64_t b)
{
	int64_t	 q = a / b;

	if (a % b != 0 && a < 0)
		q--;
	return q;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days of the months before month m (1..12) in year y. */
static int64_t
days_before_month(int64_t y, int m)
{
	static const int	 cum[12] = {
		0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
	};

	return cum[m - 1] + (m > 2 && is_leap(y));
}

static int
month_days(int64_t y, int m)
{
	return m == 12 ? 31 :
	    (int)(days_before_month(y, m + 1) - days_before_month(y, m));
}

/* Days from 0001-01-01 to the first of January of year y. */
static int64_t
days_before_year(int64_t y)
{
	int64_t	 p = y - 1;

	return 365 * p + fdiv(p, 4) - fdiv(p, 100) + fdiv(p, 400);
}

/*
 * Splits day number z (days since 1970-01-01) into year, month (1..12)
 * and day (1..31).  The year is first estimated from the mean Gregorian
 * year (146097 days in 400 years) and then corrected by whole years.
 */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 n = z + DAYS_TO_EPOCH, doy;
	int	 mm;

	*y = fdiv(n * 400, 146097) + 1;
	while (days_before_year(*y) > n)
		(*y)--;
	while (days_before_year(*y + 1) <= n)
		(*y)++;
	doy = n - days_before_year(*y);
	for (mm = 12; mm > 1 && days_before_month(*y, mm) > doy; mm--)
		continue;
	*m = mm;
	*d = (int)(doy - days_before_month(*y, mm)) + 1;
}

/* Returns the day number (days since 1970-01-01) of y-m-d. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	return days_before_year(y) + days_before_month(y, m) + d - 1 -
	    DAYS_TO_EPOCH;
}

/*
 * Returns ms plus the given number of calendar months, in UTC, with the
 * time of day kept and the day clamped to the end of the target month
 * (Jan 31 + 1 month = Feb 28, or 29 in a leap year).  ms must lie within
 * POLICY_TIME_MIN..POLICY_TIME_MAX; a result beyond int64_t is INT64_MAX.
 */
UNITTEST int64_t
policy_add_months(int64_t ms, unsigned int months)
{
	int64_t	 days, rem, y, mi;
	int	 m, d;

	days = fdiv(ms, MS_PER_DAY);
	rem = ms - days * MS_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	mi = y * 12 + (m - 1) + (int64_t)months;
	y = fdiv(mi, 12);
	m = (int)(mi - y * 12) + 1;
	if (d > month_days(y, m))
		d = month_days(y, m);
	days = days_from_civil(y, m, d);
	if (days > (INT64_MAX - rem) / MS_PER_DAY)
		return INT64_MAX;
	return days * MS_PER_DAY + rem;
}

/* Sets the decision to a refusal with code c and returns c. */
static enum policy_code
refuse(struct policy_decision *d, enum policy_code c)
{
	d->code = c;
	d->need = 0;
	d->flags = 0;
	return c;
}

/*
 * Returns 1 when every enum and bit set of q is in range and its times
 * are possible, and the settings it needs from p are too; 0 means a bug
 * in the caller or in the loaded policy.
 */
static int
query_valid(const struct policy *p, const struct policy_query *q)
{
	const struct policy_cert	*c = &q->cert;

	if ((unsigned int)q->action >= ACT__MAX ||
	    (unsigned int)c->type >= CT__MAX ||
	    (unsigned int)c->status >= CS__MAX ||
	    (unsigned int)q->channel >= CH__MAX ||
	    (unsigned int)q->auth >= AUTH__MAX ||
	    (unsigned int)q->reason >= REASON__MAX)
		return 0;
	if ((q->relation & ~REL_BOTH) != 0 ||
	    (q->approved & ~REL_BOTH) != 0 ||
	    (q->roles & ~ROLE_ALL) != 0)
		return 0;
	if (q->now < POLICY_TIME_MIN || q->now > POLICY_TIME_MAX ||
	    c->not_before < POLICY_TIME_MIN ||
	    c->not_before > POLICY_TIME_MAX ||
	    c->not_after < POLICY_TIME_MIN ||
	    c->not_after > POLICY_TIME_MAX ||
	    c->not_before > c->not_after)
		return 0;
	if ((unsigned int)p->signers[c->type][action_group[q->action]] >=
	    SIGNERS__MAX)
		return 0;
	if (p->suspend_end_action != ACT_REVOKE &&
	    p->suspend_end_action != ACT_REACTIVATE)
		return 0;
	if (p->hotline_action != ACT_REVOKE &&
	    p->hotline_action != ACT_SUSPEND)
		return 0;
	return 1;
}

/*
 * Step 4: returns 1 when the chosen reason is acceptable for the action,
 * the certificate type and the channel, else 0.
 */
static int
reason_ok(const struct policy *p, const struct policy_query *q)
{
	unsigned int	 bit = REASON_BIT(q->reason), list;

	if ((bit & REASONS_NEVER) != 0)
		return 0;
	if (q->action == ACT_REACTIVATE || q->action == ACT_RECOVER)
		return q->reason == REASON_UNSPECIFIED;
	switch (q->channel) {
	case CH_WEB:
	case CH_API:
	case CH_HOTLINE:
		list = p->reasons_subscriber;
		break;
	case CH_OFFICER:
	case CH_SYSTEM:
		list = p->reasons_staff;
		break;
	default:
		return 0;
	}
	if ((list & bit) == 0)
		return 0;
	/*
	 * Fina: the emergency revocation by telephone is for a stolen or
	 * lost card or key, or another compromise of the key; any other
	 * reason needs the signed request.  A hotline suspension keeps the
	 * subscriber's list.
	 */
	if (q->channel == CH_HOTLINE && q->action == ACT_REVOKE &&
	    (p->hotline_revoke_reasons & bit) == 0)
		return 0;
	/* CA/Browser Forum Baseline Requirements 7.2.2. */
	if ((q->cert.type == CT_TLS || q->cert.type == CT_QWAC) &&
	    (p->reasons_tls & bit) == 0)
		return 0;
	return 1;
}

/*
 * A passphrase stands for the subject person alone.  Returns 1 when the
 * rule is satisfied by the subject person without anyone else, else 0.
 * With the shipped table every revoke/suspend rule is; a TSP that makes
 * the legal rep sign a suspension also shuts the passphrase out of it.
 */
static int
subject_alone_ok(enum signers rule)
{
	return rule == SIGNERS_SUBJECT || rule == SIGNERS_SUBJECT_OR_REP;
}

/*
 * Returns 1 when the settings of a channel let a passphrase do q's
 * action there at all, else 0: suspend and revoke are whether the
 * passphrase suspends and revokes through the channel.  A passphrase a
 * thief may know never reactivates or recovers: it must not undo the
 * owner's suspension.  Where the passphrase suspends, a certificate whose
 * type cannot be suspended (one not in suspend_types: tls and qwac) may
 * instead be revoked when revoke_unsuspendable is set: "suspend instead"
 * is impossible for it, and the CA/Browser Forum Baseline Requirements
 * (4.9.3) want revocation requests taken around the clock.
 */
static int
passphrase_switch(const struct policy *p, const struct policy_query *q,
    int suspend, int revoke)
{
	switch (q->action) {
	case ACT_SUSPEND:
		return suspend;
	case ACT_REVOKE:
		if (revoke)
			return 1;
		return suspend && p->revoke_unsuspendable &&
		    (p->suspend_types & TYPE_BIT(q->cert.type)) == 0;
	default:
		return 0;
	}
}

/*
 * Step 5 for a passphrase, on the web, the API or by an agent at the
 * hotline: allowed says whether the settings let a passphrase do this
 * action at all (passphrase_switch()).  Returns the code; sets nothing.
 */
static enum policy_code
passphrase_decide(const struct policy_query *q, enum signers rule,
    int allowed)
{
	if ((q->relation & REL_SUBJECT) == 0)
		return POL_NOT_AUTHORISED;
	if (!allowed)
		return POL_NEEDS_SIGNATURE;
	/* A passphrase never approves someone else's request. */
	if (q->approved != 0)
		return POL_NEEDS_SIGNATURE;
	if (!subject_alone_ok(rule))
		return POL_NEEDS_SIGNATURE;
	return POL_ALLOW;
}

/*
 * Step 6: a request signed with a qualified signature, or a signed
 * approval of an existing request (approved holds the parties that
 * already signed it); also a paper request an officer records, with the
 * parties who signed it in relation.  Sets *need to the parties still
 * to sign and returns the code.
 *
 * Decision: one person who is both the subject person and a legal rep
 * of the organisation (a sole proprietor, a director who is also the
 * custodian of the application certificate) satisfies both parties of a
 * "subject and legal_rep" rule with one signature.  The seeds require two
 * roles, not two people, and asking one person to sign twice would prove
 * nothing more.
 */
static enum policy_code
signature_decide(const struct policy_query *q, enum signers rule,
    unsigned int *need)
{
	unsigned int	 may, want, missing, have;

	*need = 0;
	switch (rule) {
	case SIGNERS_SUBJECT:
		may = REL_SUBJECT;
		want = REL_SUBJECT;
		break;
	case SIGNERS_SUBJECT_OR_REP:
		may = REL_BOTH;
		want = REL_BOTH;	/* any one of them */
		break;
	case SIGNERS_SUBJECT_AND_REP:
		may = REL_BOTH;
		want = REL_BOTH;	/* both */
		break;
	case SIGNERS_REP:
		/* The subject person may sign first; a rep must follow. */
		may = REL_BOTH;
		want = REL_LEGAL_REP;
		break;
	default:
		return POL_NOT_AUTHORISED;
	}
	if ((q->relation & may) == 0)
		return POL_NOT_AUTHORISED;

	/* The parties the request still lacks before and after this actor. */
	if (rule == SIGNERS_SUBJECT_OR_REP)
		missing = (q->approved & want) != 0 ? 0 : want;
	else
		missing = want & ~q->approved;
	if (q->approved != 0 && (q->relation & missing) == 0)
		return POL_NOT_AUTHORISED;
	have = q->relation | q->approved;
	if (rule == SIGNERS_SUBJECT_OR_REP)
		*need = 0;
	else
		*need = want & ~have;
	return POL_ALLOW;
}

/*
 * Decides query q under policy p.  Fills d (code, the parties still to
 * sign, the POLICY_* flags) and returns d->code.  need and flags are 0
 * unless the code is POL_ALLOW; need is non-zero only for a signed (or
 * officer's) request that waits for another party's signature.  A query
 * holding an out-of-range value (a bug) is refused with
 * POL_NOT_AUTHORISED.  Pure: the same arguments always give the same
 * answer.
 */
enum policy_code
policy_decide(const struct policy *p, const struct policy_query *q,
    struct policy_decision *d)
{
	const struct policy_cert	*c = &q->cert;
	enum signers			 rule;
	enum policy_code		 code;
	unsigned int			 need = 0;
	int				 allowed;

	if (!query_valid(p, q))
		return refuse(d, POL_NOT_AUTHORISED);
	rule = p->signers[c->type][action_group[q->action]];

	/* 1. Can this type of certificate have this done to it at all? */
	if (rule == SIGNERS_NONE)
		return refuse(d, POL_NOT_ALLOWED_FOR_TYPE);
	if (q->action == ACT_SUSPEND &&
	    (p->suspend_types & TYPE_BIT(c->type)) == 0)
		return refuse(d, POL_NOT_ALLOWED_FOR_TYPE);

	/*
	 * 2. The certificate's status, then its expiry.  The validity
	 * period includes notAfter (RFC 5280 4.1.2.5).  A certificate that
	 * is not yet valid (now < notBefore) may still be revoked or
	 * suspended: a compromised key must always be revocable.
	 */
	if ((action_from[q->action] & STATUS_BIT(c->status)) == 0)
		return refuse(d, POL_WRONG_STATUS);
	if (q->now > c->not_after)
		return refuse(d, POL_CERT_EXPIRED);

	/*
	 * 3. Recovery: the term, the window after issue (which has not
	 * begun for a certificate not yet valid), renewal time: the last
	 * recover_renewal_days of the validity period, which ends with
	 * notAfter itself.
	 */
	if (q->action == ACT_RECOVER) {
		if (c->term_years != p->recover_term_years)
			return refuse(d, POL_TERM_NOT_ELIGIBLE);
		if (q->now < c->not_before ||
		    q->now > policy_add_months(c->not_before,
		    p->recover_window_months))
			return refuse(d, POL_OUTSIDE_RECOVERY_WINDOW);
		if (q->now > add_sat(c->not_after,
		    -(int64_t)p->recover_renewal_days * MS_PER_DAY))
			return refuse(d, POL_RENEWAL_PERIOD);
	}

	/* 4. The reason. */
	if (!reason_ok(p, q))
		return refuse(d, POL_REASON_NOT_ALLOWED);

	/* 5. The channel and how the actor proved who they are. */
	switch (q->channel) {
	case CH_WEB:
	case CH_API:
		if (q->auth == AUTH_PASSPHRASE) {
			allowed = passphrase_switch(p, q, p->online_suspend,
			    p->online_revoke);
			code = passphrase_decide(q, rule, allowed);
		} else if (q->auth == AUTH_SIGNATURE)
			/* 6. The who-must-sign rule. */
			code = signature_decide(q, rule, &need);
		else
			code = POL_NOT_AUTHORISED;
		break;
	case CH_HOTLINE:
		if ((q->roles & ROLE_AGENT) == 0 ||
		    q->auth != AUTH_PASSPHRASE) {
			code = POL_NOT_AUTHORISED;
			break;
		}
		allowed = passphrase_switch(p, q, p->hotline_suspend,
		    p->hotline_action == ACT_REVOKE);
		code = passphrase_decide(q, rule, allowed);
		break;
	case CH_OFFICER:
		/*
		 * The officer has checked the paper request and the
		 * identity of those who signed it at the registration
		 * office; relation says who they are, and the
		 * who-must-sign rule applies as to a signature.
		 */
		if ((q->roles & ROLE_OFFICER) == 0 || q->auth != AUTH_STAFF)
			code = POL_NOT_AUTHORISED;
		else
			code = signature_decide(q, rule, &need);
		break;
	case CH_SYSTEM:
		/* The sweep only ends suspensions that ran out. */
		code = q->auth == AUTH_STAFF &&
		    q->action == p->suspend_end_action &&
		    c->status == CS_SUSPENDED ? POL_ALLOW : POL_NOT_AUTHORISED;
		break;
	default:
		code = POL_NOT_AUTHORISED;
		break;
	}
	if (code != POL_ALLOW)
		return refuse(d, code);

	d->code = POL_ALLOW;
	d->need = need;
	d->flags = 0;
	if (p->fee[q->action])
		d->flags |= POLICY_FEE;
	/*
	 * Recovery is a new key, so the request always carries a PKCS#10
	 * CSR.  On a QSCD it means new certificates on a new device (Fina),
	 * so the CSR comes from the new one.
	 */
	if (q->action == ACT_RECOVER) {
		d->flags |= POLICY_CSR;
		if (c->qscd)
			d->flags |= POLICY_NEW_DEVICE;
	}
	return POL_ALLOW;
}

/* The machine name of a code, as the API shows it. */
const char *
policy_code_name(enum policy_code c)
{
	if ((unsigned int)c >= POL__MAX)
		return "invalid";
	return code_names[c];
}

/*
 * The error a refusal becomes: 409 for the certificate's status or
 * expiry, 403 for an actor who may not, 422 for the rest of the policy.
 * An out-of-range code is a bug: RP_ERR_INTERNAL.
 */
enum rp_err
policy_code_err(enum policy_code c)
{
	switch (c) {
	case POL_ALLOW:
		return RP_OK;
	case POL_WRONG_STATUS:
	case POL_CERT_EXPIRED:
		return RP_ERR_CONFLICT;
	case POL_NOT_AUTHORISED:
		return RP_ERR_FORBIDDEN;
	case POL_NOT_ALLOWED_FOR_TYPE:
	case POL_TERM_NOT_ELIGIBLE:
	case POL_OUTSIDE_RECOVERY_WINDOW:
	case POL_RENEWAL_PERIOD:
	case POL_REASON_NOT_ALLOWED:
	case POL_NEEDS_SIGNATURE:
		return RP_ERR_POLICY;
	default:
		return RP_ERR_INTERNAL;
	}
}

/*
 * When a suspension that began at suspended_at (ms) ends: suspend_max_days
 * later.  Saturates at INT64_MAX.
 */
int64_t
policy_suspension_end(const struct policy *p, int64_t suspended_at)
{
	return add_sat(suspended_at, (int64_t)p->suspend_max_days * MS_PER_DAY);
}

/* The due time of a request received at received_at (ms). */
int64_t
policy_due_at(const struct policy *p, int64_t received_at)
{
	return add_sat(received_at, (int64_t)p->due_minutes * MS_PER_MINUTE);
}

/* When a request that began waiting for approval at at (ms) expires. */
int64_t
policy_approval_expiry(const struct policy *p, int64_t at)
{
	return add_sat(at, (int64_t)p->approval_expiry_hours * MS_PER_HOUR);
}
