/*
 * The domain's words: the names of certificate types, statuses, actions,
 * channels, authentication methods, CRL reasons, request states and staff
 * roles, as stored in the database, written in the policy file and shown
 * in the API.  One table per enum; nothing else spells them.  Also the
 * words for people of the actions and of the reasons a subscriber may
 * give, the clock and the public ids.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "extern.h"

static const char *const type_names[CT__MAX] = {
	[CT_PERSONAL] = "personal",
	[CT_BUSINESS] = "business",
	[CT_APPLICATION] = "application",
	[CT_ESEAL] = "eseal",
	[CT_TLS] = "tls",
	[CT_QWAC] = "qwac",
};

static const char *const status_names[CS__MAX] = {
	[CS_VALID] = "valid",
	[CS_SUSPENDED] = "suspended",
	[CS_REVOKED] = "revoked",
};

static const char *const action_names[ACT__MAX] = {
	[ACT_REVOKE] = "revoke",
	[ACT_SUSPEND] = "suspend",
	[ACT_REACTIVATE] = "reactivate",
	[ACT_RECOVER] = "recover",
};

/* The actions as nouns for people ("Revocation of certificate 1A"). */
static const char *const action_nouns[ACT__MAX] = {
	[ACT_REVOKE] = "Revocation",
	[ACT_SUSPEND] = "Suspension",
	[ACT_REACTIVATE] = "Reactivation",
	[ACT_RECOVER] = "Recovery",
};

static const char *const channel_names[CH__MAX] = {
	[CH_WEB] = "web",
	[CH_API] = "api",
	[CH_HOTLINE] = "hotline",
	[CH_OFFICER] = "officer",
	[CH_SYSTEM] = "system",
};

static const char *const auth_names[AUTH__MAX] = {
	[AUTH_PASSPHRASE] = "passphrase",
	[AUTH_SIGNATURE] = "signature",
	[AUTH_STAFF] = "staff",
};

/* RFC 5280 5.3.1; 7 is not used. */
static const char *const reason_names[REASON__MAX] = {
	[REASON_UNSPECIFIED] = "unspecified",
	[REASON_KEY_COMPROMISE] = "keyCompromise",
	[REASON_CA_COMPROMISE] = "cACompromise",
	[REASON_AFFILIATION_CHANGED] = "affiliationChanged",
	[REASON_SUPERSEDED] = "superseded",
	[REASON_CESSATION] = "cessationOfOperation",
	[REASON_HOLD] = "certificateHold",
	[REASON_REMOVE_FROM_CRL] = "removeFromCRL",
	[REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
	[REASON_AA_COMPROMISE] = "aACompromise",
};

/*
 * The reasons a subscriber may give, in the words of DESIGN §2, as the
 * suspension and signed-request forms offer them; the others have none.
 */
static const char *const reason_words[REASON__MAX] = {
	[REASON_UNSPECIFIED] = "No reason given",
	[REASON_KEY_COMPROMISE] = "My card or USB key was lost or stolen, or "
	    "someone else may know the PIN or have the key",
	[REASON_AFFILIATION_CHANGED] = "I left the organisation, or data in "
	    "the certificate changed",
	[REASON_SUPERSEDED] = "I have a new certificate, or the card is "
	    "blocked (PUK used up) or broken",
	[REASON_CESSATION] = "The certificate is no longer needed, or the "
	    "organisation ceased",
};

static const char *const state_names[RS__MAX] = {
	[RS_AWAITING_APPROVAL] = "awaiting_approval",
	[RS_QUEUED] = "queued",
	[RS_RELAYED] = "relayed",
	[RS_COMPLETED] = "completed",
	[RS_REJECTED] = "rejected",
	[RS_EXPIRED] = "expired",
	[RS_FAILED] = "failed",
};

/* Staff roles in bit order: ROLE_AGENT is bit 0. */
static const char *const role_names[] = { "agent", "officer", "admin" };
#define ROLE_NAMES	(sizeof(role_names) / sizeof(role_names[0]))

/*
 * Returns names[v] when v < n and the entry exists, else NULL.
 */
static const char *
dom_name(const char *const *names, size_t n, unsigned int v)
{
	return v < n ? names[v] : NULL;
}

/*
 * Returns the index of s in names[0..n), or n when s is NULL or not
 * there.  Names compare exactly: "Revoke" is not "revoke".
 */
static unsigned int
dom_parse(const char *const *names, size_t n, const char *s)
{
	size_t	 i;

	if (s == NULL)
		return (unsigned int)n;
	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (unsigned int)i;
	return (unsigned int)n;
}

#define DOM_PAIR(fn, en, tab, max)					\
const char *								\
dom_##fn##_name(enum en v)						\
{									\
	return dom_name(tab, max, (unsigned int)v);			\
}									\
									\
enum en									\
dom_##fn##_parse(const char *s)						\
{									\
	return (enum en)dom_parse(tab, max, s);				\
}

DOM_PAIR(type, cert_type, type_names, CT__MAX)
DOM_PAIR(status, cert_status, status_names, CS__MAX)
DOM_PAIR(action, action, action_names, ACT__MAX)
DOM_PAIR(channel, channel, channel_names, CH__MAX)
DOM_PAIR(auth, auth_method, auth_names, AUTH__MAX)
DOM_PAIR(reason, crl_reason, reason_names, REASON__MAX)
DOM_PAIR(state, req_state, state_names, RS__MAX)

/*
 * Returns action a as a noun for people ("Revocation"), or NULL for a
 * value out of range; the caller says what stands for that.
 */
const char *
dom_action_noun(enum action a)
{
	return dom_name(action_nouns, ACT__MAX, (unsigned int)a);
}

/*
 * Returns the words for people of reason r: DESIGN §2's for a reason a
 * subscriber may give, else its RFC 5280 name, else "-".  Never NULL.
 */
const char *
dom_reason_words(enum crl_reason r)
{
	const char	*s;

	if ((s = dom_name(reason_words, REASON__MAX, (unsigned int)r)) != NULL)
		return s;
	if ((s = dom_reason_name(r)) != NULL)
		return s;
	return "-";
}

/*
 * Returns a new JSON array (the caller owns it) of the reasons a
 * subscriber may pick on a form, in the order of enum crl_reason:
 * "unspecified" always, the others that have words when the bit set
 * offered (REASON_BIT()s, the policy's reasons_subscriber) holds them.
 * Each is an object {"value": RFC 5280 name, "words": its words,
 * "selected": whether it is chosen}.  Returns NULL when out of memory.
 */
json_t *
dom_reason_choices(unsigned int offered, enum crl_reason chosen)
{
	json_t		*list, *o;
	unsigned int	 r;

	if ((list = json_array()) == NULL)
		return NULL;
	for (r = 0; r < REASON__MAX; r++) {
		if (reason_words[r] == NULL || (r != REASON_UNSPECIFIED &&
		    (offered & REASON_BIT(r)) == 0))
			continue;
		if ((o = json_pack("{s:s, s:s, s:b}",
		    "value", reason_names[r],
		    "words", reason_words[r],
		    "selected", r == (unsigned int)chosen)) == NULL ||
		    json_array_append_new(list, o) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/*
 * Writes the role bits as "agent,officer" into out.  Returns RP_OK;
 * RP_ERR_BAD_INPUT for no role or an unknown bit; RP_ERR_NOMEM when out
 * is too small.
 */
enum rp_err
dom_roles_format(unsigned int roles, char *out, size_t outsz)
{
	size_t	 i, len, used = 0;

	if (outsz > 0)
		out[0] = '\0';
	if (roles == 0 || (roles & ~ROLE_ALL) != 0)
		return RP_ERR_BAD_INPUT;
	for (i = 0; i < ROLE_NAMES; i++) {
		if ((roles & (1u << i)) == 0)
			continue;
		len = strlen(role_names[i]);
		if (used + (used > 0) + len >= outsz)
			return RP_ERR_NOMEM;
		if (used > 0)
			out[used++] = ',';
		memcpy(out + used, role_names[i], len + 1);
		used += len;
	}
	return RP_OK;
}

/*
 * Reads a comma-separated list of role names ("agent,officer"; no
 * spaces, no repeats).  Returns the role bits, or 0 for an empty or bad
 * list.
 */
unsigned int
dom_roles_parse(const char *s)
{
	const char	*end;
	unsigned int	 roles = 0, bit;
	size_t		 i, len;

	if (s == NULL || *s == '\0')
		return 0;
	for (;;) {
		end = strchr(s, ',');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		bit = 0;
		for (i = 0; i < ROLE_NAMES; i++)
			if (strlen(role_names[i]) == len &&
			    memcmp(role_names[i], s, len) == 0)
				bit = 1u << i;
		if (bit == 0 || (roles & bit) != 0)
			return 0;
		roles |= bit;
		if (end == NULL)
			return roles;
		s = end + 1;
	}
}

/*
 * Returns the real-time clock in milliseconds since the epoch.  The clock
 * cannot fail on Linux with a valid clock id; if it did, 0 makes every
 * deadline look long past, which fails closed for approvals and early
 * for suspensions, and is logged.
 */
int64_t
rp_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1) {
		rplog(RPLOG_ERROR, "clock", "errno=%d", errno);
		return 0;
	}
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Writes ms (since the epoch, UTC) as ISO 8601 with milliseconds and Z.
 * A time gmtime() cannot represent is written as "-".
 */
void
rp_time_format(int64_t ms, char out[32])
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 frac;
	int		 n;

	frac = ms % 1000;
	if (frac < 0)
		frac += 1000;
	t = (time_t)((ms - frac) / 1000);
	if (gmtime_r(&t, &tm) == NULL) {
		(void)snprintf(out, 32, "-");
		return;
	}
	n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
	if (n < 0 || n >= 32)
		(void)snprintf(out, 32, "-");
}
