/*
 * The configuration: defaults, the INI file (parsed by libinih), the
 * policy file and the instance secret.  Everything here runs once at
 * start-up, before the first request; errors are returned as sentences in
 * err, never logged.
 *
 * The files are read strictly: an unknown section or key, a key given
 * twice, a bad or out-of-range value, an indented (continuation) line or
 * a line too long for libinih's buffer stops the load, and err names the
 * file, the line, the section and the key.  So do the [relay] rules that
 * tie keys together (conf_check_relay()): plain http:// to the CA only
 * when allowed and only to a loopback address, and the like.
 *
 * The policy (DESIGN.md §2, struct policy) comes from three places, each
 * over the one before: the defaults of policy_defaults(), the policy file
 * ([paths] policy_file, by default db_dir/policy.ini, with the sections
 * [suspend] ... [fees]), and the sections [policy.suspend] ...
 * [policy.fees] of the main file, so an operator changes one rule without
 * copying the policy file.  Both files go through the same key table and
 * the same parser.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/rand.h>

#include "extern.h"

/* The file name of the policy inside db_dir, when policy_file is empty. */
#define CONF_POLICY_NAME	"policy.ini"

/* The prefix of the main file's sections that override the policy file. */
#define CONF_POLICY_PREFIX	"policy."

/* How a value is checked and where it is stored. */
enum conf_type {
	CONF_PATH,	/* file or directory name */
	CONF_PATH_OPT,	/* file name, or empty for the default */
	CONF_UINT,	/* unsigned int, a number from min to max */
	CONF_ULONG,	/* unsigned long, a number from min to max */
	CONF_SIZE,	/* size_t, bytes, optional K or M suffix */
	CONF_TEXT,	/* printable UTF-8 text */
	CONF_URL,	/* https:// URL without a trailing slash */
	CONF_PHONE,	/* telephone number as shown to people */
	CONF_LEVEL,	/* log level name */
	CONF_BOOL,	/* int, yes or no */
	CONF_ACTION,	/* enum action, one whose bit is in max */
	CONF_END_ACTION,/* enum action: revoke, or reinstate (reactivate) */
	CONF_SUSPEND_TYPES, /* cert_type bits, none of ~max; or none */
	CONF_REASONS,	/* REASON_BIT set within max, with unspecified */
	CONF_SIGNERS,	/* enum signers: subject, legal_rep, ... */
	CONF_BACKEND,	/* unsigned int, an enum ca_backend by name */
	CONF_CA_URL	/* the CA's https:// (or http://) base URL, or "" */
};

/* Which file a key belongs to. */
enum conf_scope {
	CONF_MAIN,	/* the main file only */
	CONF_POLICY	/* the policy file, or [policy.*] of the main file */
};

/*
 * One accepted key: [section] name.  A table key (name NULL) stands for
 * `cells` keys in a row of equal members: cell() turns a key name into
 * the member's index (or a value >= cells for an unknown name), and the
 * member of index i is at off + i * size.
 */
struct conf_key {
	enum conf_scope		 scope;
	const char		*section;
	const char		*name;
	enum conf_type		 type;
	size_t			 off;	/* of the member */
	size_t			 size;	/* of the member */
	unsigned long long	 min;
	unsigned long long	 max;
	unsigned int		 cells;
	unsigned int		(*cell)(const char *);
};

#define CONF_AT(m)	offsetof(struct config, m), \
			sizeof(((struct config *)NULL)->m)

#define KEY(sec, nm, ty, m, lo, hi) \
	{ CONF_MAIN, sec, nm, ty, CONF_AT(m), lo, hi, 0, NULL }
#define PKEY(sec, nm, ty, m, lo, hi) \
	{ CONF_POLICY, sec, nm, ty, CONF_AT(policy.m), lo, hi, 0, NULL }
#define PROW(sec, ty, m, n, fn) \
	{ CONF_POLICY, sec, NULL, ty, CONF_AT(policy.m), 0, 0, n, fn }

#define TYPE_BIT(t)	(1u << (t))
#define ACTION_BIT(a)	(1u << (a))
#define TLS_TYPES	(TYPE_BIT(CT_TLS) | TYPE_BIT(CT_QWAC))
#define ALL_TYPES	(TYPE_BIT(CT__MAX) - 1)

/* The reasons a subscriber may choose (DESIGN §2). */
#define REASONS_SUBSCRIBER (REASON_BIT(REASON_UNSPECIFIED) |		\
	REASON_BIT(REASON_KEY_COMPROMISE) |				\
	REASON_BIT(REASON_AFFILIATION_CHANGED) |			\
	REASON_BIT(REASON_SUPERSEDED) | REASON_BIT(REASON_CESSATION))
/* And staff, who may also withdraw the privilege; CA/B BR 7.2.2 too. */
#define REASONS_STAFF	(REASONS_SUBSCRIBER |			\
	REASON_BIT(REASON_PRIVILEGE_WITHDRAWN))

static unsigned int	conf_signers_cell(const char *);
static unsigned int	conf_fee_cell(const char *);

/*
 * Every key of both files.  deploy/revportal.ini documents the main
 * file's keys, db/policy.ini the policy's.
 */
static const struct conf_key conf_keys[] = {
	KEY("server", "socket", CONF_PATH, socket, 0, 0),
	KEY("server", "workers", CONF_UINT, workers, 1, RP_WORKERS_MAX),
	KEY("server", "backlog", CONF_UINT, backlog, 1, 4096),
	KEY("paths", "database", CONF_PATH, database, 0, 0),
	KEY("paths", "db_dir", CONF_PATH, db_dir, 0, 0),
	KEY("paths", "templates", CONF_PATH, templates, 0, 0),
	KEY("paths", "secret_file", CONF_PATH, secret_file, 0, 0),
	KEY("paths", "policy_file", CONF_PATH_OPT, policy_file, 0, 0),
	KEY("limits", "max_body", CONF_SIZE, max_body, 1024,
	    RP_BODY_CEILING),
	KEY("site", "site_name", CONF_TEXT, site_name, 0, 0),
	KEY("site", "portal_url", CONF_URL, portal_url, 0, 0),
	KEY("site", "hotline", CONF_PHONE, hotline, 0, 0),
	KEY("security", "hsts_max_age", CONF_ULONG, hsts_max_age, 0,
	    63072000),
	KEY("security", "csrf_ttl", CONF_ULONG, csrf_ttl, 60, 86400),
	KEY("database", "busy_timeout_ms", CONF_UINT, busy_timeout_ms, 100,
	    60000),
	KEY("log", "level", CONF_LEVEL, log_level, 0, 0),
	KEY("argon2", "memory_kib", CONF_UINT, argon2_m_kib, 19456, 262144),
	KEY("argon2", "iterations", CONF_UINT, argon2_t, 2, 10),
	KEY("argon2", "parallelism", CONF_UINT, argon2_p, 1, 4),
	KEY("argon2", "answer_floor_ms", CONF_UINT, argon2_floor_ms, 0,
	    10000),
	KEY("ratelimit", "passphrase_attempts", CONF_UINT, rate_attempts, 1,
	    100000),
	KEY("ratelimit", "window_seconds", CONF_UINT, rate_window, 1, 86400),
	KEY("relay", "socket", CONF_PATH, relay_socket, 0, 0),
	KEY("relay", "backend", CONF_BACKEND, relay_backend, 0, 0),
	KEY("relay", "url", CONF_CA_URL, relay_url, 0, 0),
	KEY("relay", "ca_file", CONF_PATH_OPT, relay_ca_file, 0, 0),
	KEY("relay", "cert_file", CONF_PATH_OPT, relay_cert_file, 0, 0),
	KEY("relay", "key_file", CONF_PATH_OPT, relay_key_file, 0, 0),
	KEY("relay", "allow_http", CONF_BOOL, relay_allow_http, 0, 0),
	KEY("relay", "connect_timeout_ms", CONF_UINT,
	    relay_connect_timeout_ms, 100, 60000),
	KEY("relay", "timeout_ms", CONF_UINT, relay_timeout_ms, 1000, 300000),
	KEY("relay", "max_response", CONF_SIZE, relay_max_response, 1024,
	    16u * 1024u * 1024u),
	KEY("relay", "poll_ms", CONF_UINT, relay_poll_ms, 100, 3600000),
	KEY("relay", "lease_seconds", CONF_UINT, relay_lease_seconds, 5,
	    3600),
	KEY("relay", "backoff_min_ms", CONF_UINT, relay_backoff_min_ms, 10,
	    3600000),
	KEY("relay", "backoff_max_ms", CONF_UINT, relay_backoff_max_ms, 100,
	    86400000),
	KEY("relay", "pending_check_ms", CONF_UINT, relay_pending_check_ms,
	    100, 86400000),
	KEY("relay", "pending_max_hours", CONF_UINT, relay_pending_max_hours,
	    1, 8760),
	KEY("relay", "metrics_file", CONF_PATH_OPT, relay_metrics_file, 0, 0),
	KEY("relay", "ejbca_ca_name", CONF_TEXT, relay_ejbca_ca_name, 0, 0),
	KEY("relay", "ejbca_certificate_profile", CONF_TEXT,
	    relay_ejbca_cert_profile, 0, 0),
	KEY("relay", "ejbca_end_entity_profile", CONF_TEXT,
	    relay_ejbca_ee_profile, 0, 0),
	KEY("signature", "anchors_dir", CONF_PATH_OPT, sig_anchors_dir, 0, 0),
	KEY("signature", "require_qscd", CONF_BOOL, sig_require_qscd, 0, 0),
	KEY("signature", "ocsp_timeout_ms", CONF_UINT, sig_ocsp_timeout_ms,
	    100, 60000),
	KEY("signature", "ocsp_max_age_seconds", CONF_UINT,
	    sig_ocsp_max_age, 1, 604800),
	KEY("signature", "clock_skew_seconds", CONF_UINT, sig_clock_skew, 0,
	    3600),
	KEY("signature", "crl_max_size", CONF_SIZE, sig_crl_max, 1024,
	    64u * 1024u * 1024u),
	KEY("signature", "allow_http_any", CONF_BOOL, sig_http_any, 0, 0),
	KEY("mail", "smtp_url", CONF_TEXT, mail_url, 0, 0),
	KEY("mail", "from", CONF_TEXT, mail_from, 0, 0),
	KEY("mail", "ca_file", CONF_PATH_OPT, mail_ca_file, 0, 0),
	KEY("mail", "allow_plain", CONF_BOOL, mail_allow_plain, 0, 0),
	KEY("mail", "timeout_ms", CONF_UINT, mail_timeout_ms, 1000, 300000),
	KEY("mail", "max_attempts", CONF_UINT, mail_max_attempts, 1, 1000),

	PKEY("suspend", "types", CONF_SUSPEND_TYPES, suspend_types, 0,
	    ALL_TYPES & ~TLS_TYPES),
	PKEY("suspend", "max_days", CONF_UINT, suspend_max_days, 1, 365),
	PKEY("suspend", "end_action", CONF_END_ACTION, suspend_end_action,
	    0, 0),
	PKEY("passphrase", "online_suspend", CONF_BOOL, online_suspend, 0, 0),
	PKEY("passphrase", "online_revoke", CONF_BOOL, online_revoke, 0, 0),
	PKEY("passphrase", "max_failures", CONF_UINT, max_failures, 1, 20),
	PKEY("passphrase", "revoke_unsuspendable", CONF_BOOL,
	    revoke_unsuspendable, 0, 0),
	PKEY("hotline", "suspend", CONF_BOOL, hotline_suspend, 0, 0),
	PKEY("hotline", "passphrase_action", CONF_ACTION, hotline_action, 0,
	    ACTION_BIT(ACT_REVOKE) | ACTION_BIT(ACT_SUSPEND)),
	PKEY("hotline", "revoke_reasons", CONF_REASONS, hotline_revoke_reasons,
	    0, REASONS_SUBSCRIBER),
	PKEY("recover", "term_years", CONF_UINT, recover_term_years, 1, 10),
	PKEY("recover", "window_months", CONF_UINT, recover_window_months,
	    1, 120),
	PKEY("recover", "renewal_days", CONF_UINT, recover_renewal_days,
	    0, 365),
	PKEY("approval", "expiry_hours", CONF_UINT, approval_expiry_hours,
	    1, 720),
	PKEY("time", "due_minutes", CONF_UINT, due_minutes, 1, 1440),
	PKEY("reasons", "subscriber", CONF_REASONS, reasons_subscriber, 0,
	    REASONS_SUBSCRIBER),
	PKEY("reasons", "staff", CONF_REASONS, reasons_staff, 0,
	    REASONS_STAFF),
	PKEY("reasons", "tls", CONF_REASONS, reasons_tls, 0, REASONS_STAFF),
	PROW("signers", CONF_SIGNERS, signers[0][0], CT__MAX * SG__MAX,
	    conf_signers_cell),
	PROW("fees", CONF_BOOL, fee[0], ACT__MAX, conf_fee_cell),
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))
/* The most cells of a table key. */
#define CONF_CELLS	(CT__MAX * SG__MAX)

_Static_assert(ACT__MAX <= CONF_CELLS, "CONF_CELLS too small");

static const char *const conf_sections[] = {
	"server", "paths", "limits", "site", "security", "database", "log",
	"argon2", "ratelimit", "relay", "signature", "mail",
};

#define CONF_NSECTIONS	(sizeof(conf_sections) / sizeof(conf_sections[0]))

static const char *const conf_policy_sections[] = {
	"suspend", "passphrase", "hotline", "recover", "approval", "time",
	"reasons", "signers", "fees",
};

#define CONF_NPSECTIONS	(sizeof(conf_policy_sections) / \
			sizeof(conf_policy_sections[0]))

static const char *const conf_levels[RPLOG__MAX] = {
	[RPLOG_DEBUG] = "debug",
	[RPLOG_INFO] = "info",
	[RPLOG_WARN] = "warn",
	[RPLOG_ERROR] = "error",
};

/* The columns of the who-must-sign table: "<type>.<group>" keys. */
static const char *const conf_groups[SG__MAX] = {
	[SG_REVOKE_SUSPEND] = "revoke_suspend",
	[SG_REACTIVATE] = "reactivate",
	[SG_RECOVER] = "recover",
};

/* The values of a who-must-sign cell. */
static const char *const conf_signer_names[SIGNERS__MAX] = {
	[SIGNERS_NONE] = "none",
	[SIGNERS_SUBJECT] = "subject",
	[SIGNERS_SUBJECT_OR_REP] = "subject|legal_rep",
	[SIGNERS_SUBJECT_AND_REP] = "subject+legal_rep",
	[SIGNERS_REP] = "legal_rep",
};

/* The state of reading one file, shared by the line reader and handler. */
struct conf_parse {
	struct config	*cfg;
	const char	*path;
	enum conf_scope	 scope;		/* which file this is */
	FILE		*f;
	char		*err;
	size_t		 errlen;
	int		 line;		/* lines given to libinih */
	int		 errline;	/* of the first error, or 0 */
	int		 ioerr;		/* errno of a read error */
	int		 seen[CONF_NKEYS][CONF_CELLS]; /* line of each key */
};

/*
 * Copies the string src into dst of size dstsz.  Returns 0, or -1 when it
 * does not fit (dst then holds a truncated copy).
 */
static int
conf_copy(char *dst, size_t dstsz, const char *src)
{
	int	 n;

	n = snprintf(dst, dstsz, "%s", src);
	if (n < 0 || (size_t)n >= dstsz)
		return -1;
	return 0;
}

/*
 * Copies src into dst of size dstsz for quoting in an error message:
 * anything but printable ASCII becomes '?', and a long name is cut.
 */
static void
conf_clean(char *dst, size_t dstsz, const char *src)
{
	size_t	 i;

	for (i = 0; i + 1 < dstsz && src[i] != '\0'; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/*
 * Records the first error of a parse: "<file>:<line>: <message>".  Later
 * errors are dropped; the reader stops at the first one.  A message cut
 * short by a small err buffer is still a useful message.
 */
static void
conf_error(struct conf_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_parse *p, int line, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (p->errline != 0)
		return;
	p->errline = line;
	if (p->errlen == 0)
		return;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * Fills cfg with the built-in defaults (those of deploy/revportal.ini
 * and, for the policy, of db/policy.ini) and a zero secret.  Nothing to
 * free.
 */
void
conf_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (conf_copy(cfg->socket, sizeof(cfg->socket),
	    "/run/revportal/fcgi.sock") == -1 ||
	    conf_copy(cfg->database, sizeof(cfg->database),
	    "/var/lib/revportal/revportal.db") == -1 ||
	    conf_copy(cfg->db_dir, sizeof(cfg->db_dir),
	    "/usr/share/revportal/db") == -1 ||
	    conf_copy(cfg->templates, sizeof(cfg->templates),
	    "/usr/share/revportal/templates") == -1 ||
	    conf_copy(cfg->secret_file, sizeof(cfg->secret_file),
	    "/var/lib/revportal/secret.key") == -1 ||
	    conf_copy(cfg->site_name, sizeof(cfg->site_name),
	    "revportal") == -1 ||
	    conf_copy(cfg->portal_url, sizeof(cfg->portal_url),
	    "https://127.0.0.1:8443") == -1 ||
	    conf_copy(cfg->hotline, sizeof(cfg->hotline),
	    "+386 1 234 56 78") == -1 ||
	    conf_copy(cfg->relay_socket, sizeof(cfg->relay_socket),
	    "/run/revportal-relay/relay.sock") == -1)
		abort();	/* a default longer than its array: a bug */
	cfg->workers = 4;
	cfg->backlog = 128;
	cfg->max_body = RP_BODY_DEFAULT;
	cfg->hsts_max_age = 31536000;
	cfg->csrf_ttl = 7200;
	cfg->busy_timeout_ms = 5000;
	cfg->log_level = RPLOG_INFO;
	cfg->argon2_m_kib = 19456;
	cfg->argon2_t = 2;
	cfg->argon2_p = 1;
	cfg->argon2_floor_ms = 0;	/* automatic: main.c measures it */
	cfg->rate_attempts = 10;
	cfg->rate_window = 60;
	/* [relay]: url, ca_file, cert_file, key_file and metrics_file
	 * stay empty. */
	cfg->relay_backend = CA_CFSSL;
	cfg->relay_connect_timeout_ms = 3000;
	cfg->relay_timeout_ms = 10000;
	cfg->relay_max_response = 64u * 1024u;
	cfg->relay_poll_ms = 5000;
	cfg->relay_lease_seconds = 60;
	cfg->relay_backoff_min_ms = 500;
	cfg->relay_backoff_max_ms = 300000;
	cfg->relay_pending_check_ms = 30000;
	cfg->relay_pending_max_hours = 24;
	/* [signature]: anchors_dir empty: signed requests unavailable. */
	cfg->sig_require_qscd = 1;
	cfg->sig_ocsp_timeout_ms = 3000;
	cfg->sig_ocsp_max_age = 3600;
	cfg->sig_clock_skew = 300;
	cfg->sig_crl_max = 8u * 1024u * 1024u;
	cfg->sig_http_any = 1;
	/* [mail]: smtp_url empty: no e-mail. */
	if (conf_copy(cfg->mail_from, sizeof(cfg->mail_from),
	    "revportal@localhost") == -1)
		abort();
	cfg->mail_timeout_ms = 10000;
	cfg->mail_max_attempts = 20;
	/* policy_file stays empty: db_dir/policy.ini. */
	policy_defaults(&cfg->policy);
}

/*
 * Returns the index of the who-must-sign cell named "<type>.<group>"
 * (type * SG__MAX + group), or CONF_CELLS for any other name.
 */
static unsigned int
conf_signers_cell(const char *name)
{
	char		 type[32];
	const char	*dot;
	enum cert_type	 t;
	size_t		 g;

	if ((dot = strchr(name, '.')) == NULL ||
	    (size_t)(dot - name) >= sizeof(type))
		return CONF_CELLS;
	memcpy(type, name, (size_t)(dot - name));
	type[dot - name] = '\0';
	if ((t = dom_type_parse(type)) >= CT__MAX)
		return CONF_CELLS;
	for (g = 0; g < SG__MAX; g++)
		if (strcmp(dot + 1, conf_groups[g]) == 0)
			return (unsigned int)t * SG__MAX + (unsigned int)g;
	return CONF_CELLS;
}

/* Returns the action named name, the index of its [fees] key. */
static unsigned int
conf_fee_cell(const char *name)
{
	return (unsigned int)dom_action_parse(name);
}

/*
 * Parses a decimal number from min to max; with suffix set, a K or M
 * (either case) multiplies it by 1024 or 1048576.  No sign, no space.
 * Returns 0 and sets *out, or -1.
 */
static int
conf_number(const char *s, int suffix, unsigned long long min,
    unsigned long long max, unsigned long long *out)
{
	unsigned long long	 v, mult = 1;
	char			*end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	if (suffix && (*end == 'K' || *end == 'k')) {
		mult = 1024;
		end++;
	} else if (suffix && (*end == 'M' || *end == 'm')) {
		mult = 1024 * 1024;
		end++;
	}
	if (*end != '\0' || v > max / mult)
		return -1;
	v *= mult;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Returns 1 when s holds a byte below 0x20 or DEL, 0 otherwise. */
static int
conf_has_ctrl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * Checks portal_url: https://host[:port][/path], printable ASCII without
 * spaces, quotes, angle brackets or backslashes, no trailing slash.
 * Returns NULL when good, else what is wrong.
 */
static const char *
conf_check_url(const char *v)
{
	static const char	 scheme[] = "https://";
	size_t			 i, len;

	len = strlen(v);
	if (strncmp(v, scheme, sizeof(scheme) - 1) != 0)
		return "must start with https://";
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] <= 0x20 ||
		    (unsigned char)v[i] >= 0x7f ||
		    strchr("\"'<>\\`", v[i]) != NULL)
			return "must not contain spaces, control characters, "
			    "quotes, angle brackets or backslashes";
	if (len == sizeof(scheme) - 1 || v[sizeof(scheme) - 1] == '/')
		return "must name a host after https://";
	if (v[len - 1] == '/')
		return "must not end with a slash";
	/*
	 * It is also the origin that browsers send with every form post
	 * (route.c compares the two), so it must be written the way they
	 * write it: no path, no user, a lower-case host, no default port.
	 */
	v += sizeof(scheme) - 1;
	if (strpbrk(v, "/?#") != NULL)
		return "must be only https:// and the host (and port), no path";
	if (strchr(v, '@') != NULL)
		return "must not hold a user name";
	for (i = 0; v[i] != '\0'; i++)
		if (isupper((unsigned char)v[i]))
			return "must be written in lower case";
	len = strlen(v);
	if (len > 4 && strcmp(v + len - 4, ":443") == 0)
		return "must leave out the default port :443";
	return NULL;
}

/*
 * Checks hotline: digits, spaces and + - ( ) / only, with at least one
 * digit.  Returns NULL when good, else what is wrong.
 */
static const char *
conf_check_phone(const char *v)
{
	int	 digits = 0;

	for (; *v != '\0'; v++) {
		if (isdigit((unsigned char)*v))
			digits = 1;
		else if (strchr(" +-()/", *v) == NULL)
			return "may hold only digits, spaces and + - ( ) /";
	}
	return digits ? NULL : "must hold a digit";
}

/*
 * Checks a CA base URL ([relay] url): https:// or http:// in lower case,
 * a host (a name, an IPv4 address or an IPv6 address in brackets), an
 * optional port from 1 to 65535 and an optional path; printable ASCII
 * without spaces, quotes, angle brackets or backslashes; no user name,
 * query, fragment or trailing slash (the drivers append their paths).
 * Whether http:// is allowed is conf_check_relay()'s business.  Returns
 * NULL when good, else what is wrong.
 */
static const char *
conf_check_ca_url(const char *v)
{
	const char	*host, *end, *port;
	size_t		 i, len = strlen(v);
	unsigned long	 n;

	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else
		return "must start with https:// (or http://)";
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] <= 0x20 ||
		    (unsigned char)v[i] >= 0x7f ||
		    strchr("\"'<>\\`", v[i]) != NULL)
			return "must not contain spaces, control characters, "
			    "quotes, angle brackets or backslashes";
	if (strpbrk(host, "?#") != NULL)
		return "must not hold a query or a fragment";
	end = host + strcspn(host, "/");
	if (end == host)
		return "must name a host";
	if (memchr(host, '@', (size_t)(end - host)) != NULL)
		return "must not hold a user name";
	if (v[len - 1] == '/')
		return "must not end with a slash";
	if (*host == '[') {
		if ((port = memchr(host, ']', (size_t)(end - host))) == NULL ||
		    port == host + 1)
			return "must name a host";
		port++;
	} else {
		port = memchr(host, ':', (size_t)(end - host));
		if (port == NULL)
			port = end;
		if (port == host)
			return "must name a host";
	}
	if (port == end)
		return NULL;
	if (*port != ':' || port + 1 == end || end - port > 6)
		return "must have a port from 1 to 65535 after the host";
	for (n = 0, port++; port < end; port++) {
		if (!isdigit((unsigned char)*port))
			return "must have a port from 1 to 65535 after the "
			    "host";
		n = n * 10 + (unsigned long)(*port - '0');
	}
	if (n == 0 || n > 65535)
		return "must have a port from 1 to 65535 after the host";
	return NULL;
}

/*
 * Returns 1 when the host of the http:// or https:// URL v is a loopback
 * address written as one: 127.0.0.0/8 or [::1].  A name (localhost
 * included) is 0: what it resolves to is not known here.
 */
static int
conf_url_loopback(const char *v)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	const char	*host, *end;
	char		 buf[64];
	size_t		 len;

	host = strstr(v, "://");
	if (host == NULL)
		return 0;
	host += 3;
	if (*host == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return 0;
		host++;
	} else
		end = host + strcspn(host, ":/");
	if ((len = (size_t)(end - host)) == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

/*
 * Splits the comma-separated list at *sp: copies the next item, without
 * the spaces and tabs around it, into item (cut, and so not a name, when
 * longer than itemsz - 1) and moves *sp past the comma.  Returns 1 with
 * an item, 0 at the end of the list, -1 for an empty item.
 */
static int
conf_list_next(const char **sp, char *item, size_t itemsz)
{
	const char	*s = *sp, *end;
	size_t		 len;

	if (s == NULL)
		return 0;
	s += strspn(s, " \t");
	end = strchr(s, ',');
	len = end != NULL ? (size_t)(end - s) : strlen(s);
	*sp = end != NULL ? end + 1 : NULL;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return -1;
	if (len >= itemsz)
		len = itemsz - 1;	/* too long for any name */
	memcpy(item, s, len);
	item[len] = '\0';
	return 1;
}

/*
 * Reads a list of certificate type names (or "none") as cert_type bits
 * into *out; names outside allowed are refused.  Returns 0, or -1 with
 * what is wrong in why.
 */
static int
conf_suspend_types(const char *value, unsigned int allowed,
    unsigned int *out, char *why, size_t whysz)
{
	char		 item[32], name[32];
	const char	*s = value;
	unsigned int	 bits = 0;
	enum cert_type	 t;
	int		 r;

	if (strcmp(value, "none") == 0) {
		*out = 0;
		return 0;
	}
	while ((r = conf_list_next(&s, item, sizeof(item))) == 1) {
		conf_clean(name, sizeof(name), item);
		if (strcmp(item, "none") == 0) {
			(void)snprintf(why, whysz, "none must stand alone");
			return -1;
		}
		if ((t = dom_type_parse(item)) >= CT__MAX) {
			(void)snprintf(why, whysz, "%s is not a certificate "
			    "type (personal, business, application, eseal; "
			    "or none)", name);
			return -1;
		}
		if ((TYPE_BIT(t) & allowed) == 0) {
			(void)snprintf(why, whysz, "%s certificates are never "
			    "suspended (CA/Browser Forum BR 4.9.13)", name);
			return -1;
		}
		if ((bits & TYPE_BIT(t)) != 0) {
			(void)snprintf(why, whysz, "names %s twice", name);
			return -1;
		}
		bits |= TYPE_BIT(t);
	}
	if (r == -1) {
		(void)snprintf(why, whysz, "has an empty item (write none "
		    "for no type)");
		return -1;
	}
	*out = bits;
	return 0;
}

/*
 * Writes the names of the reasons in set, comma-separated, into out.
 */
static void
conf_reason_names(unsigned int set, char *out, size_t outsz)
{
	size_t	 r, used = 0;
	int	 n;

	out[0] = '\0';
	for (r = 0; r < REASON__MAX; r++) {
		if ((set & REASON_BIT(r)) == 0 ||
		    dom_reason_name((enum crl_reason)r) == NULL)
			continue;
		n = snprintf(out + used, outsz - used, "%s%s",
		    used > 0 ? ", " : "", dom_reason_name((enum crl_reason)r));
		if (n < 0 || (size_t)n >= outsz - used)
			return;
		used += (size_t)n;
	}
}

/*
 * Reads a list of RFC 5280 reason names as REASON_BIT()s into *out.
 * Every name must be in allowed, none twice, and unspecified (the reason
 * when none is given) must be there.  certificateHold and removeFromCRL
 * are what a suspension and its end mean, so nobody chooses them.
 * Returns 0, or -1 with what is wrong in why.
 */
static int
conf_reasons(const char *value, unsigned int allowed, unsigned int *out,
    char *why, size_t whysz)
{
	char		 item[32], name[32], names[160];
	const char	*s = value;
	unsigned int	 bits = 0;
	enum crl_reason	 r;
	int		 rc;

	while ((rc = conf_list_next(&s, item, sizeof(item))) == 1) {
		conf_clean(name, sizeof(name), item);
		if ((r = dom_reason_parse(item)) >= REASON__MAX) {
			(void)snprintf(why, whysz, "%s is not an RFC 5280 "
			    "reason name", name);
			return -1;
		}
		if (r == REASON_HOLD || r == REASON_REMOVE_FROM_CRL) {
			(void)snprintf(why, whysz, "%s is never a chosen "
			    "reason: suspension and reactivation set it",
			    name);
			return -1;
		}
		if ((REASON_BIT(r) & allowed) == 0) {
			conf_reason_names(allowed, names, sizeof(names));
			(void)snprintf(why, whysz, "%s is not allowed here "
			    "(only %s)", name, names);
			return -1;
		}
		if ((bits & REASON_BIT(r)) != 0) {
			(void)snprintf(why, whysz, "names %s twice", name);
			return -1;
		}
		bits |= REASON_BIT(r);
	}
	if (rc == -1) {
		(void)snprintf(why, whysz, "has an empty item");
		return -1;
	}
	if ((bits & REASON_BIT(REASON_UNSPECIFIED)) == 0) {
		(void)snprintf(why, whysz, "must name unspecified (the reason "
		    "when none is given)");
		return -1;
	}
	*out = bits;
	return 0;
}

/*
 * Reads a who-must-sign rule for cell (type * SG__MAX + group) into *out.
 * A revoke/suspend cell may not be none: every certificate can be
 * revoked.  Returns 0, or -1 with what is wrong in why.
 */
static int
conf_signers(const char *value, unsigned int cell, enum signers *out,
    char *why, size_t whysz)
{
	size_t	 i;

	for (i = 0; i < SIGNERS__MAX; i++)
		if (strcmp(value, conf_signer_names[i]) == 0)
			break;
	if (i == SIGNERS__MAX) {
		(void)snprintf(why, whysz, "must be one of subject, "
		    "legal_rep, subject|legal_rep, subject+legal_rep, none");
		return -1;
	}
	if (i == SIGNERS_NONE && cell % SG__MAX == SG_REVOKE_SUSPEND) {
		(void)snprintf(why, whysz, "must not be none: every "
		    "certificate can be revoked (EN 319 411-1)");
		return -1;
	}
	*out = (enum signers)i;
	return 0;
}

/* Stores the int v in member of size sz; sizes not matching are a bug. */
static void
conf_put_int(void *member, size_t sz, int v)
{
	if (sz != sizeof(v))
		abort();	/* conf_keys[] does not match struct config */
	memcpy(member, &v, sizeof(v));
}

static void
conf_put_uint(void *member, size_t sz, unsigned int v)
{
	if (sz != sizeof(v))
		abort();
	memcpy(member, &v, sizeof(v));
}

static void
conf_put_action(void *member, size_t sz, enum action v)
{
	if (sz != sizeof(v))
		abort();
	memcpy(member, &v, sizeof(v));
}

/*
 * Checks value for key k and stores it in member (the cell'th of a table
 * key).  Returns 0, or -1 with a phrase saying what is wrong in why.
 */
static int
conf_set(char *member, const struct conf_key *k, unsigned int cell,
    const char *value, char *why, size_t whysz)
{
	const char		*bad = NULL;
	unsigned long long	 n;
	unsigned long		 ul;
	unsigned int		 bits;
	enum signers		 sg;
	enum action		 a;
	enum rplog_level	 level;
	size_t			 sz;
	size_t			 i;

	switch (k->type) {
	case CONF_PATH_OPT:
		if (value[0] == '\0') {
			member[0] = '\0';
			break;
		}
		/* FALLTHROUGH */
	case CONF_CA_URL:
		if (value[0] == '\0') {
			member[0] = '\0';
			break;
		}
		/* FALLTHROUGH */
	case CONF_PATH:
	case CONF_TEXT:
	case CONF_URL:
	case CONF_PHONE:
		if (value[0] == '\0')
			bad = "must not be empty";
		else if (strlen(value) >= k->size) {
			(void)snprintf(why, whysz,
			    "is too long (at most %zu bytes)", k->size - 1);
			return -1;
		} else if ((k->type == CONF_PATH ||
		    k->type == CONF_PATH_OPT) && conf_has_ctrl(value))
			bad = "must not contain control characters";
		else if (k->type == CONF_TEXT && (conf_has_ctrl(value) ||
		    !rp_utf8_valid(value, strlen(value))))
			bad = "must be printable UTF-8 text";
		else if (k->type == CONF_URL)
			bad = conf_check_url(value);
		else if (k->type == CONF_CA_URL)
			bad = conf_check_ca_url(value);
		else if (k->type == CONF_PHONE)
			bad = conf_check_phone(value);
		if (bad != NULL)
			break;
		if (conf_copy(member, k->size, value) == -1)
			bad = "is too long";
		break;
	case CONF_UINT:
	case CONF_ULONG:
		if (conf_number(value, 0, k->min, k->max, &n) == -1) {
			(void)snprintf(why, whysz,
			    "must be a number from %llu to %llu",
			    k->min, k->max);
			return -1;
		}
		if (k->type == CONF_UINT)
			conf_put_uint(member, k->size, (unsigned int)n);
		else if (k->size == sizeof(ul)) {
			ul = (unsigned long)n;
			memcpy(member, &ul, sizeof(ul));
		} else
			abort();	/* conf_keys[] does not match */
		break;
	case CONF_SIZE:
		if (conf_number(value, 1, k->min, k->max, &n) == -1) {
			(void)snprintf(why, whysz, "must be a size from %llu "
			    "to %llu bytes (K and M suffixes allowed)",
			    k->min, k->max);
			return -1;
		}
		if (k->size != sizeof(sz))
			abort();
		sz = (size_t)n;
		memcpy(member, &sz, sizeof(sz));
		break;
	case CONF_LEVEL:
		for (i = 0; i < RPLOG__MAX; i++)
			if (strcmp(value, conf_levels[i]) == 0)
				break;
		if (i == RPLOG__MAX) {
			bad = "must be one of debug, info, warn, error";
			break;
		}
		level = (enum rplog_level)i;
		if (k->size != sizeof(level))
			abort();
		memcpy(member, &level, sizeof(level));
		break;
	case CONF_BOOL:
		if (strcmp(value, "yes") == 0)
			conf_put_int(member, k->size, 1);
		else if (strcmp(value, "no") == 0)
			conf_put_int(member, k->size, 0);
		else
			bad = "must be yes or no";
		break;
	case CONF_ACTION:
		a = dom_action_parse(value);
		if (a >= ACT__MAX || (k->max & ACTION_BIT(a)) == 0) {
			/* Only [hotline] passphrase_action has this type. */
			bad = "must be revoke or suspend";
			break;
		}
		conf_put_action(member, k->size, a);
		break;
	case CONF_END_ACTION:
		if (strcmp(value, "revoke") == 0)
			conf_put_action(member, k->size, ACT_REVOKE);
		else if (strcmp(value, "reinstate") == 0)
			conf_put_action(member, k->size, ACT_REACTIVATE);
		else
			bad = "must be revoke or reinstate";
		break;
	case CONF_SUSPEND_TYPES:
		if (conf_suspend_types(value, (unsigned int)k->max, &bits,
		    why, whysz) == -1)
			return -1;
		conf_put_uint(member, k->size, bits);
		break;
	case CONF_REASONS:
		if (conf_reasons(value, (unsigned int)k->max, &bits, why,
		    whysz) == -1)
			return -1;
		conf_put_uint(member, k->size, bits);
		break;
	case CONF_SIGNERS:
		if (conf_signers(value, cell, &sg, why, whysz) == -1)
			return -1;
		if (k->size != sizeof(sg))
			abort();
		memcpy(member, &sg, sizeof(sg));
		break;
	case CONF_BACKEND:
		if (ca_backend_parse(value) >= CA__MAX) {
			bad = "must be cfssl or ejbca";
			break;
		}
		conf_put_uint(member, k->size,
		    (unsigned int)ca_backend_parse(value));
		break;
	}
	if (bad != NULL) {
		(void)snprintf(why, whysz, "%s", bad);
		return -1;
	}
	return 0;
}

/* Returns 1 when name[0..len) is one of the n names, 0 otherwise. */
static int
conf_name_in(const char *name, size_t len, const char *const *names,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len &&
		    memcmp(names[i], name, len) == 0)
			return 1;
	return 0;
}

/*
 * Returns 1 when name[0..len) is a section of the file of scope: the
 * main file has its own sections and the policy's as [policy.<name>],
 * the policy file only the policy's.  0 otherwise.
 */
static int
conf_section_known(enum conf_scope scope, const char *name, size_t len)
{
	size_t	 plen = sizeof(CONF_POLICY_PREFIX) - 1;

	if (scope == CONF_POLICY)
		return conf_name_in(name, len, conf_policy_sections,
		    CONF_NPSECTIONS);
	if (len > plen && memcmp(name, CONF_POLICY_PREFIX, plen) == 0)
		return conf_name_in(name + plen, len - plen,
		    conf_policy_sections, CONF_NPSECTIONS);
	return conf_name_in(name, len, conf_sections, CONF_NSECTIONS);
}

/*
 * Finds the key [section] name of a file of scope.  Returns its index in
 * conf_keys[] and sets *cell (0 for a plain key), or CONF_NKEYS.
 */
static size_t
conf_find(enum conf_scope scope, const char *section, const char *name,
    unsigned int *cell)
{
	const struct conf_key	*k;
	size_t			 i, plen = sizeof(CONF_POLICY_PREFIX) - 1;
	enum conf_scope		 want = CONF_MAIN;

	if (scope == CONF_POLICY)
		want = CONF_POLICY;
	else if (strncmp(section, CONF_POLICY_PREFIX, plen) == 0) {
		want = CONF_POLICY;
		section += plen;
	}
	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		if (k->scope != want || strcmp(k->section, section) != 0)
			continue;
		if (k->name != NULL && strcmp(k->name, name) == 0) {
			*cell = 0;
			return i;
		}
		if (k->name == NULL && (*cell = k->cell(name)) < k->cells)
			return i;
	}
	return CONF_NKEYS;
}

/*
 * Checks one raw line before libinih sees it.  libinih joins an indented
 * line to the previous value and only reports sections through their
 * keys, so indented lines and unknown (maybe empty) sections are caught
 * here.  Returns 0, or -1 after recording the error.
 */
static int
conf_check_line(struct conf_parse *p, const char *s, int line)
{
	const char	*end, *q;
	char		 name[64];

	if (line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	if (*s == ' ' || *s == '\t') {
		s += strspn(s, " \t\r\n");
		if (*s != '\0' && *s != ';' && *s != '#') {
			conf_error(p, line, "line starts with white space "
			    "(continuation lines are not allowed)");
			return -1;
		}
		return 0;
	}
	if (*s != '[')
		return 0;
	if ((end = strchr(s + 1, ']')) == NULL)
		return 0;	/* libinih reports the syntax error */
	if (!conf_section_known(p->scope, s + 1, (size_t)(end - s - 1))) {
		conf_clean(name, sizeof(name), s + 1);
		if ((q = strchr(name, ']')) != NULL)
			name[q - name] = '\0';
		conf_error(p, line, "[%s]: unknown section", name);
		return -1;
	}
	q = end + 1 + strspn(end + 1, " \t\r\n");
	if (*q != '\0' && *q != ';' && *q != '#') {
		conf_error(p, line, "text after the section header");
		return -1;
	}
	return 0;
}

/*
 * The line reader given to ini_parse_stream(): fgets() semantics on
 * p->f, but it counts lines for the handler, refuses NUL bytes and lines
 * longer than libinih's buffer (which would otherwise be split silently),
 * and ends the parse at the first error.
 */
static char *
conf_reader(char *str, int num, void *arg)
{
	struct conf_parse	*p = arg;
	int			 c = EOF;
	size_t			 n = 0;

	if (p->errline != 0 || num < 2)
		return NULL;
	while ((c = getc(p->f)) != EOF) {
		if (c == '\0') {
			conf_error(p, p->line + 1, "NUL byte in line");
			return NULL;
		}
		if (n >= (size_t)num - 1) {
			conf_error(p, p->line + 1, "line longer than %d bytes",
			    num - 2);
			return NULL;
		}
		str[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (c == EOF && ferror(p->f)) {
		p->ioerr = errno != 0 ? errno : EIO;
		conf_error(p, p->line + 1, "read error: %s",
		    strerror(p->ioerr));
		return NULL;
	}
	if (n == 0)
		return NULL;
	str[n] = '\0';
	p->line++;
	if (conf_check_line(p, str, p->line) == -1)
		return NULL;
	return str;
}

/*
 * The libinih handler: one call per "key = value" line.  Returns 1 to go
 * on, 0 after recording an error (libinih then reports this line).
 */
static int
conf_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct conf_parse	*p = arg;
	const struct conf_key	*k;
	char			 sec[64], key[64], why[256];
	unsigned int		 cell = 0;
	size_t			 i;

	conf_clean(sec, sizeof(sec), section);
	conf_clean(key, sizeof(key), name);
	if (section[0] == '\0') {
		conf_error(p, p->line, "%s: key outside any section", key);
		return 0;
	}
	if ((i = conf_find(p->scope, section, name, &cell)) == CONF_NKEYS) {
		if (conf_section_known(p->scope, section, strlen(section)))
			conf_error(p, p->line, "[%s] %s: unknown key",
			    sec, key);
		else
			conf_error(p, p->line, "[%s]: unknown section", sec);
		return 0;
	}
	k = &conf_keys[i];
	if (p->seen[i][cell] != 0) {
		conf_error(p, p->line, "[%s] %s: duplicate key (first set "
		    "on line %d)", sec, key, p->seen[i][cell]);
		return 0;
	}
	p->seen[i][cell] = p->line;
	if (conf_set((char *)p->cfg + k->off + (size_t)cell * k->size, k,
	    cell, value, why, sizeof(why)) == -1) {
		conf_error(p, p->line, "[%s] %s: %s", sec, key, why);
		return 0;
	}
	return 1;
}

/*
 * Reads the INI file p->path of scope p->scope into p->cfg.  Returns
 * RP_OK; or, with a sentence in p->err, RP_ERR_BAD_INPUT for a bad file,
 * RP_ERR_INTERNAL when the file cannot be read, RP_ERR_NOMEM.  On error
 * p->cfg may hold some of the file's values.
 */
static enum rp_err
conf_read(struct conf_parse *p)
{
	struct stat	 st;
	FILE		*f;
	enum rp_err	 e = RP_ERR_INTERNAL;
	int		 r, fd;

	/*
	 * Non-blocking, so that a FIFO in the file's place fails the
	 * regular-file check below instead of hanging the start.
	 */
	fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1 || (f = fdopen(fd, "r")) == NULL) {
		(void)snprintf(p->err, p->errlen, "%s: %s%s", p->path,
		    p->scope == CONF_POLICY ? "cannot read the policy file: " :
		    "", strerror(errno));
		if (fd != -1)
			(void)close(fd);	/* read-only */
		return RP_ERR_INTERNAL;
	}
	if (fstat(fileno(f), &st) == -1) {
		(void)snprintf(p->err, p->errlen, "%s: %s", p->path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(p->err, p->errlen, "%s: not a regular file",
		    p->path);
		goto out;
	}
	p->f = f;
	r = ini_parse_stream(conf_reader, p, conf_handler, p);
	p->f = NULL;

	if (r > 0 && (p->errline == 0 || r < p->errline)) {
		(void)snprintf(p->err, p->errlen, "%s:%d: syntax error",
		    p->path, r);
		e = RP_ERR_BAD_INPUT;
	} else if (p->errline != 0)
		e = p->ioerr != 0 ? RP_ERR_INTERNAL : RP_ERR_BAD_INPUT;
	else if (r == -2) {
		(void)snprintf(p->err, p->errlen, "%s: out of memory",
		    p->path);
		e = RP_ERR_NOMEM;
	} else if (r != 0)
		(void)snprintf(p->err, p->errlen, "%s: libinih error %d",
		    p->path, r);
	else
		e = RP_OK;
out:
	if (fclose(f) == EOF && e == RP_OK) {
		(void)snprintf(p->err, p->errlen, "%s: %s", p->path,
		    strerror(errno));
		e = RP_ERR_INTERNAL;
	}
	return e;
}

/* Returns the index in conf_keys[] of the policy key [section] name. */
static size_t
conf_policy_key(const char *section, const char *name)
{
	size_t	 k;

	for (k = 0; k < CONF_NKEYS; k++)
		if (conf_keys[k].scope == CONF_POLICY &&
		    conf_keys[k].name != NULL &&
		    strcmp(conf_keys[k].section, section) == 0 &&
		    strcmp(conf_keys[k].name, name) == 0)
			return k;
	abort();	/* the table lost the key */
}

/*
 * Writes where the policy key k (not a table key) got its value into
 * out: "file:line: [section] name" of the main file (its section with
 * the "policy." prefix), whose keys win, else of the policy file; or
 * "policy file: [section] name" when neither file set it.  Returns what
 * snprintf() returns.
 */
static int
conf_key_where(const struct conf_parse *mp, const struct conf_parse *pp,
    size_t k, char *out, size_t outsz)
{
	const struct conf_parse	*w = mp->seen[k][0] != 0 ? mp : pp;

	if (w->seen[k][0] == 0)
		return snprintf(out, outsz, "%s: [%s] %s", pp->path,
		    conf_keys[k].section, conf_keys[k].name);
	return snprintf(out, outsz, "%s:%d: [%s%s] %s", w->path,
	    w->seen[k][0], w == mp ? CONF_POLICY_PREFIX : "",
	    conf_keys[k].section, conf_keys[k].name);
}

/*
 * Writes the location of key k (conf_key_where()) and then the sentence
 * fmt into err.  Returns RP_ERR_BAD_INPUT.
 */
static enum rp_err
conf_policy_error(const struct conf_parse *mp, const struct conf_parse *pp,
    size_t k, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum rp_err
conf_policy_error(const struct conf_parse *mp, const struct conf_parse *pp,
    size_t k, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = conf_key_where(mp, pp, k, err, errlen);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return RP_ERR_BAD_INPUT;
}

/*
 * Checks the rules that involve more than one key of the merged policy:
 *
 * - when a suspension that runs out is reinstated, every type that may
 *   be suspended must have a reactivate rule, or its suspensions would
 *   never end;
 * - [hotline] suspend = no together with passphrase_action = suspend
 *   leaves a hotline agent nothing to do with a caller's passphrase.
 *
 * mp and pp are the parses of the main and policy files, to say where
 * the keys were set.  Returns RP_OK, or RP_ERR_BAD_INPUT with a sentence
 * in err.
 */
static enum rp_err
conf_check_policy(const struct policy *pol, const struct conf_parse *mp,
    const struct conf_parse *pp, char *err, size_t errlen)
{
	char		 other[RP_CONF_STR + 64];
	size_t		 ks, ka;
	unsigned int	 t;

	if (pol->suspend_end_action == ACT_REACTIVATE) {
		for (t = 0; t < CT__MAX; t++)
			if ((pol->suspend_types & TYPE_BIT(t)) != 0 &&
			    pol->signers[t][SG_REACTIVATE] == SIGNERS_NONE)
				return conf_policy_error(mp, pp,
				    conf_policy_key("suspend", "end_action"),
				    err, errlen, ": reinstate, but %s "
				    "certificates may be suspended and cannot "
				    "be reactivated ([signers] %s.reactivate = "
				    "none)", dom_type_name((enum cert_type)t),
				    dom_type_name((enum cert_type)t));
	}
	if (!pol->hotline_suspend && pol->hotline_action == ACT_SUSPEND) {
		ks = conf_policy_key("hotline", "suspend");
		ka = conf_policy_key("hotline", "passphrase_action");
		(void)conf_key_where(mp, pp, ka, other, sizeof(other));
		return conf_policy_error(mp, pp, ks, err, errlen, ": no, but "
		    "passphrase_action is suspend (%s): a hotline agent could "
		    "then do nothing with a caller's passphrase; set suspend "
		    "= yes or passphrase_action = revoke", other);
	}
	return RP_OK;
}

/*
 * Writes where the main file set [relay] name ("file:line: [relay]
 * name", or "file: [relay] name" when it kept its default) and then the
 * sentence fmt into err.  Returns RP_ERR_BAD_INPUT.
 */
static enum rp_err
conf_relay_error(const struct conf_parse *mp, const char *name, char *err,
    size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum rp_err
conf_relay_error(const struct conf_parse *mp, const char *name, char *err,
    size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 k;
	int	 n, line = 0;

	for (k = 0; k < CONF_NKEYS; k++)
		if (conf_keys[k].scope == CONF_MAIN &&
		    strcmp(conf_keys[k].section, "relay") == 0 &&
		    strcmp(conf_keys[k].name, name) == 0)
			line = mp->seen[k][0];
	if (line != 0)
		n = snprintf(err, errlen, "%s:%d: [relay] %s: ", mp->path,
		    line, name);
	else
		n = snprintf(err, errlen, "%s: [relay] %s: ", mp->path, name);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return RP_ERR_BAD_INPUT;
}

/*
 * Returns the longest the relay may hold a row for one driver call and
 * the recording of its outcome, in ms: two HTTP requests of timeout_ms
 * (an EJBCA delivery reads the status after the revoke call), the
 * database's busy_timeout_ms before the recording gets its write lock,
 * and a second for everything else.
 */
unsigned long long
conf_relay_call_max(const struct config *c)
{
	return 2ull * c->relay_timeout_ms + c->busy_timeout_ms + 1000u;
}

/*
 * Checks the [relay] rules that involve more than one key:
 *
 * - plain http:// only with allow_http = yes, and then only to a
 *   loopback address (a development CA on this host);
 * - a client certificate and its key come together;
 * - the connect timeout fits in the whole call's, the shortest backoff
 *   in the longest;
 * - a lease outlasts the longest driver call (an EJBCA delivery makes
 *   two HTTP requests of timeout_ms each) and the wait for the database
 *   to record its outcome (busy_timeout_ms), with a second to spare, so
 *   that no other relay takes a row still in hand.  The relay renews a
 *   lease with less left before each further call of a turn
 *   (outbox.c), so that a check followed by a delivery is covered too.
 *
 * mp is the parse of the main file, for the lines.  Returns RP_OK, or
 * RP_ERR_BAD_INPUT with a sentence in err naming the key.
 */
static enum rp_err
conf_check_relay(const struct config *c, const struct conf_parse *mp,
    char *err, size_t errlen)
{
	/* A unix socket's path has room for 107 bytes (sun_path). */
	if (strlen(c->relay_socket) >= RP_SUN_PATH_MAX)
		return conf_relay_error(mp, "socket", err, errlen,
		    "is too long for a unix socket (at most %u bytes)",
		    RP_SUN_PATH_MAX - 1);
	if (strncmp(c->relay_url, "http://", 7) == 0) {
		if (!c->relay_allow_http)
			return conf_relay_error(mp, "url", err, errlen,
			    "http:// needs allow_http = yes (and a loopback "
			    "address); use https://");
		if (!conf_url_loopback(c->relay_url))
			return conf_relay_error(mp, "url", err, errlen,
			    "http:// only to a loopback address (127.0.0.1 "
			    "or [::1]); use https://");
	}
	if (c->relay_cert_file[0] != '\0' && c->relay_key_file[0] == '\0')
		return conf_relay_error(mp, "cert_file", err, errlen,
		    "needs key_file too");
	if (c->relay_key_file[0] != '\0' && c->relay_cert_file[0] == '\0')
		return conf_relay_error(mp, "key_file", err, errlen,
		    "needs cert_file too");
	if (c->relay_connect_timeout_ms > c->relay_timeout_ms)
		return conf_relay_error(mp, "connect_timeout_ms", err, errlen,
		    "must not be longer than timeout_ms (%u)",
		    c->relay_timeout_ms);
	if (c->relay_backoff_min_ms > c->relay_backoff_max_ms)
		return conf_relay_error(mp, "backoff_min_ms", err, errlen,
		    "must not be larger than backoff_max_ms (%u)",
		    c->relay_backoff_max_ms);
	if ((unsigned long long)c->relay_lease_seconds * 1000u <=
	    conf_relay_call_max(c))
		return conf_relay_error(mp, "lease_seconds", err, errlen,
		    "must outlast a CA call and its recording: more than "
		    "2 x timeout_ms + [database] busy_timeout_ms + 1 s "
		    "(%llu ms)", conf_relay_call_max(c));
	return RP_OK;
}

/*
 * Reads the INI file at path over the values already in cfg (the
 * defaults, normally), then the policy file it names (or db_dir/
 * policy.ini) over cfg's policy, then again the [policy.*] sections of
 * the file at path over that.  Returns RP_OK; or, with cfg unchanged and
 * a sentence in err naming the file, RP_ERR_BAD_INPUT for a bad file or
 * policy, RP_ERR_INTERNAL when a file cannot be read, RP_ERR_NOMEM.
 * Nothing to free.
 */
enum rp_err
conf_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct conf_parse	*mp = NULL, *pp = NULL;
	struct config		 tmp, pol;
	const struct conf_key	*k;
	char			 ppath[RP_CONF_STR];
	size_t			 i, c, at;
	enum rp_err		 e = RP_ERR_NOMEM;
	int			 n;

	if (errlen > 0)
		err[0] = '\0';
	tmp = *cfg;
	memset(&pol, 0, sizeof(pol));
	/* Two parses do not fit well on a stack: each holds its seen[]. */
	if ((mp = calloc(1, sizeof(*mp))) == NULL ||
	    (pp = calloc(1, sizeof(*pp))) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	mp->cfg = &tmp;
	mp->path = path;
	mp->scope = CONF_MAIN;
	mp->err = err;
	mp->errlen = errlen;
	if ((e = conf_read(mp)) != RP_OK ||
	    (e = conf_check_relay(&tmp, mp, err, errlen)) != RP_OK)
		goto out;

	if (tmp.policy_file[0] != '\0')
		n = snprintf(ppath, sizeof(ppath), "%s", tmp.policy_file);
	else
		n = snprintf(ppath, sizeof(ppath), "%s/%s", tmp.db_dir,
		    CONF_POLICY_NAME);
	if (n < 0 || (size_t)n >= sizeof(ppath)) {
		(void)snprintf(err, errlen, "%s: [paths] db_dir is too long "
		    "to hold %s", path, CONF_POLICY_NAME);
		e = RP_ERR_BAD_INPUT;
		goto out;
	}
	pol = tmp;
	pp->cfg = &pol;
	pp->path = ppath;
	pp->scope = CONF_POLICY;
	pp->err = err;
	pp->errlen = errlen;
	if ((e = conf_read(pp)) != RP_OK)
		goto out;

	/* The main file's [policy.*] keys win over the policy file's. */
	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		if (k->scope != CONF_POLICY)
			continue;
		for (c = 0; c < (k->name == NULL ? k->cells : 1); c++) {
			if (mp->seen[i][c] == 0)
				continue;
			at = k->off + c * k->size;
			memcpy((char *)&pol + at, (char *)&tmp + at, k->size);
		}
	}
	if ((e = conf_check_policy(&pol.policy, mp, pp, err, errlen)) !=
	    RP_OK)
		goto out;
	*cfg = pol;
out:
	explicit_bzero(&pol, sizeof(pol));
	explicit_bzero(&tmp, sizeof(tmp));
	free(mp);
	free(pp);
	return e;
}
/*
 * Writes all n bytes of p to fd.  Returns 0, or -1 with errno set.
 */
static int
conf_write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Flushes the directory holding path so a newly created file survives a
 * crash.  Returns 0, or -1 with errno set.
 */
static int
conf_sync_dir(const char *path)
{
	char		 dir[RP_CONF_STR];
	const char	*slash;
	int		 fd, rc;

	if ((slash = strrchr(path, '/')) == NULL) {
		if (conf_copy(dir, sizeof(dir), ".") == -1)
			abort();
	} else if (slash == path) {
		if (conf_copy(dir, sizeof(dir), "/") == -1)
			abort();
	} else {
		if ((size_t)(slash - path) >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/*
 * Creates the secret file at path (it must not exist, nor be a symbolic
 * link) with mode 0600 and RP_SECRET_LEN random bytes, synced to disk, and
 * copies the bytes to out.  Returns 0; 1 when the file appeared in the
 * meantime (EEXIST: the caller reads it instead); -1 with err filled and
 * no file left behind.
 */
static int
conf_secret_create(const char *path, unsigned char *out, char *err,
    size_t errlen)
{
	unsigned char	 buf[RP_SECRET_LEN];
	int		 fd, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		if (errno == EEXIST)
			return 1;
		(void)snprintf(err, errlen, "%s: cannot create: %s", path,
		    strerror(errno));
		return -1;
	}
	if (RAND_bytes(buf, sizeof(buf)) != 1) {
		(void)snprintf(err, errlen, "%s: no random bytes from "
		    "OpenSSL", path);
		goto out;
	}
	if (conf_write_all(fd, buf, sizeof(buf)) == -1 || fsync(fd) == -1) {
		(void)snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		(void)snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (conf_sync_dir(path) == -1) {
		(void)snprintf(err, errlen, "%s: cannot sync its directory: "
		    "%s", path, strerror(errno));
		goto out;
	}
	memcpy(out, buf, sizeof(buf));
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);	/* the file is removed anyway */
	if (rc != 0)
		(void)unlink(path);	/* best effort; err says why */
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/*
 * Reads the instance secret, RP_SECRET_LEN bytes, from cfg->secret_file
 * into cfg->secret.  The file must be a regular file (not a symbolic
 * link) of exactly that size that neither group nor others may access.
 * With create set and no file there, makes one from RAND_bytes().
 * Returns RP_OK, or RP_ERR_INTERNAL with err naming the file (never any
 * secret byte).  Nothing to free.
 */
enum rp_err
conf_load_secret(struct config *cfg, int create, char *err, size_t errlen)
{
	const char	*path = cfg->secret_file;
	unsigned char	 buf[RP_SECRET_LEN];
	struct stat	 st;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd = -1, tries, rc;
	enum rp_err	 e = RP_ERR_INTERNAL;

	if (errlen > 0)
		err[0] = '\0';
	for (tries = 0; tries < 2; tries++) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd != -1 || errno != ENOENT || !create)
			break;
		rc = conf_secret_create(path, cfg->secret, err, errlen);
		if (rc == 0)
			return RP_OK;
		if (rc == -1)
			return RP_ERR_INTERNAL;
	}
	if (fd == -1) {
		if (errno == ELOOP)
			(void)snprintf(err, errlen, "%s: is a symbolic link",
			    path);
		else
			(void)snprintf(err, errlen, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		(void)snprintf(err, errlen, "%s: mode %04o lets group or "
		    "others in; it must be 0600 or 0400", path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != (off_t)RP_SECRET_LEN) {
		(void)snprintf(err, errlen, "%s: must hold exactly %u bytes, "
		    "holds %lld", path, RP_SECRET_LEN,
		    (long long)st.st_size);
		goto out;
	}
	while (got < sizeof(buf)) {
		r = read(fd, buf + got, sizeof(buf) - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			(void)snprintf(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0) {
			(void)snprintf(err, errlen, "%s: shorter than %u "
			    "bytes", path, RP_SECRET_LEN);
			goto out;
		}
		got += (size_t)r;
	}
	memcpy(cfg->secret, buf, sizeof(buf));
	e = RP_OK;
out:
	if (fd != -1 && close(fd) == -1 && e == RP_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		e = RP_ERR_INTERNAL;
	}
	explicit_bzero(buf, sizeof(buf));
	return e;
}
