/*
 * revportal-admin: the operator's command-line tool.  It creates and
 * migrates the database, registers certificates, legal representatives
 * and staff accounts, lists and shows requests, exports the registry,
 * runs the sweep (from a systemd timer) and checks the audit chain.
 *
 *	revportal-admin [-c CONFIG] COMMAND [ARGS]
 *
 * Every change is one transaction with its audit entry, written as actor
 * "admin:<login name>".  Output is plain text, one record per line with
 * tab-separated fields under a header line (or JSON for export), so that
 * scripts can read it; every value printed, there and in messages, goes
 * through one escape (admin_esc()), so that nothing stored or given can
 * drive the terminal.  A change's report is written before its commit.
 * Exit status: 0 done, 1 failed (one line "revportal-admin: what" on
 * stderr), 2 a command-line error (with the usage on stderr).  See
 * deploy/revportal-admin.8.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "extern.h"

#define ADMIN_CONFIG	"/etc/revportal/revportal.ini"
#define ADMIN_CSV_NAME	"certificates.csv"
#define ADMIN_CSV_ROWS	10000u		/* certificates of one import */
#define ADMIN_CSV_COLS	7u		/* columns of the import CSV */
#define ADMIN_PASS_FILE_MAX 4096u	/* a passphrase or hash file */
#define ADMIN_OUT_MAX	(16u * 1024u * 1024u) /* output held back */
#define ADMIN_LINE_MAX	(64u * 1024u * 1024u) /* one escaped line */
#define ADMIN_LIMIT_MAX	100000		/* requests --limit */
#define ADMIN_LIMIT_DEF	100

/* What an acceptable Argon2id string is, in messages. */
#define ADMIN_HASH_FORM	"$argon2id$v=19$m=M,t=T,p=P$salt$hash with " \
	"m=19456..262144, t=2..10, p=1..4"

_Static_assert(ADMIN_CSV_COLS <= CSV_FIELDS_MAX, "CSV_FIELDS_MAX too small");

/* Exit statuses. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* The values of long options without a short form. */
enum {
	OPT_TYPE = 256,
	OPT_TERM,
	OPT_TOKEN,
	OPT_TOKEN_KIND,
	OPT_QSCD,
	OPT_PASS_FILE,
	OPT_PASS_HASH,
	OPT_PASS_HASH_FILE,
	OPT_ORG,
	OPT_ORG_NAME,
	OPT_PERSON,
	OPT_NAME,
	OPT_EMAIL,
	OPT_FROM,
	OPT_TO,
	OPT_ROLE,
	OPT_STATE,
	OPT_OVERDUE,
	OPT_LIMIT,
	OPT_JSON,
	OPT_NOW,
	OPT_ANCHOR
};

/* One run of the tool. */
struct admin {
	struct config	 cfg;
	const char	*cfgpath;
	struct db	*db;
	int		 conf_loaded;
	int64_t		 now;		/* ms */
	int		 committed;	/* a change is in the database */
	char		 actor[RP_TEXT_MAX];
};

struct cmd {
	const char	*name;
	int		(*fn)(struct admin *, const struct cmd *, int,
			    char **);
	int		 nargs;		/* arguments after the options */
	const char	*argerr;	/* what another number says */
	const char	*synopsis;	/* the arguments */
	const char	*help;		/* what it does, options */
};

static int	 cmd_init(struct admin *, const struct cmd *, int, char **);
static int	 cmd_import_cert(struct admin *, const struct cmd *, int,
		    char **);
static int	 cmd_import_dir(struct admin *, const struct cmd *, int,
		    char **);
static int	 cmd_add_rep(struct admin *, const struct cmd *, int,
		    char **);
static int	 cmd_remove_rep(struct admin *, const struct cmd *, int,
		    char **);
static int	 cmd_add_staff(struct admin *, const struct cmd *, int,
		    char **);
static int	 cmd_set_staff(struct admin *, const struct cmd *, int,
		    char **);
static int	 cmd_staff(struct admin *, const struct cmd *, int, char **);
static int	 cmd_requests(struct admin *, const struct cmd *, int,
		    char **);
static int	 cmd_show(struct admin *, const struct cmd *, int, char **);
static int	 cmd_export(struct admin *, const struct cmd *, int, char **);
static int	 cmd_sweep(struct admin *, const struct cmd *, int, char **);
static int	 cmd_audit_verify(struct admin *, const struct cmd *, int,
		    char **);

/* The commands, in the order the usage lists them. */
static const struct cmd cmds[] = {
	{ "init", cmd_init, 0, "takes no arguments",
	    "",
	    "Creates the database, or brings it to this program's schema, and\n"
	    "prints the schema version.\n" },
	{ "import-cert", cmd_import_cert, 1, "name one certificate file",
	    "FILE.pem --type TYPE [--term-years N] [--token LABEL\n"
	    "        [--token-kind KIND] [--qscd]]\n"
	    "        [--passphrase-file F | --passphrase-hash H | "
	    "--passphrase-hash-file F]",
	    "Registers one certificate (one PEM CERTIFICATE block).\n"
	    "  --type TYPE          personal, business, application, eseal, "
	    "tls or qwac\n"
	    "  --term-years N       1 to 10 (default: its validity, rounded)\n"
	    "  --token LABEL        the smart card, USB key or cloud account "
	    "holding it\n"
	    "  --token-kind KIND    smartcard (default), usb, cloud or "
	    "software\n"
	    "  --qscd               the token is a qualified signature "
	    "creation device\n"
	    "  --passphrase-file F  the revocation passphrase, first line "
	    "of F\n"
	    "  --passphrase-hash H  the passphrase as an Argon2id string\n"
	    "                       (m=19456..262144,t=2..10,p=1..4)\n"
	    "  --passphrase-hash-file F\n"
	    "                       the Argon2id string, first line of F\n" },
	{ "import-dir", cmd_import_dir, 1, "takes exactly one argument",
	    "DIR",
	    "Registers every certificate listed in DIR/certificates.csv, all "
	    "or none.\n"
	    "The CSV (RFC 4180) starts with the header line\n"
	    "  file,type,term_years,token,token_kind,qscd,passphrase_hash\n"
	    "and an empty field takes the default.\n" },
	{ "add-rep", cmd_add_rep, 0, "takes no arguments",
	    "--org ORG_ID [--org-name NAME] --person PERSON_ID [--name NAME]\n"
	    "        [--email EMAIL] [--from DATE] [--to DATE]",
	    "Registers a legal representative of an organisation for a "
	    "period that\n"
	    "overlaps none of theirs.  ORG_ID is an ETSI identifier "
	    "(VAT|NTR|PSD|LEI)CC-...,\n"
	    "PERSON_ID (PAS|IDC|PNO|TAX|TIN)CC-...  New organisations and "
	    "persons need\n"
	    "their names.  DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC; "
	    "--from\n"
	    "defaults to now, --to to open.\n" },
	{ "remove-rep", cmd_remove_rep, 0, "takes no arguments",
	    "--org ORG_ID --person PERSON_ID",
	    "Ends the representation in force now, and cancels one that has "
	    "not begun.\n" },
	{ "add-staff", cmd_add_staff, 1, "name one certificate file",
	    "CERT.pem --role ROLE [--role ROLE...] [--name NAME]",
	    "Creates a staff account for a TLS client certificate.\n"
	    "  --role ROLE  agent, officer or admin; a comma list or repeated\n"
	    "  --name NAME  default: the certificate's common name\n" },
	{ "disable-staff", cmd_set_staff, 1, "takes exactly one argument",
	    "SHA256",
	    "Disables the staff account of the certificate with this "
	    "SHA-256\nfingerprint (hex, colons allowed).\n" },
	{ "enable-staff", cmd_set_staff, 1, "takes exactly one argument",
	    "SHA256",
	    "Enables a disabled staff account again.\n" },
	{ "staff", cmd_staff, 0, "takes no arguments",
	    "",
	    "Lists the staff accounts.\n" },
	{ "requests", cmd_requests, 0, "takes no arguments",
	    "[--state STATE] [--overdue] [--limit N]",
	    "Lists requests by due time.\n"
	    "  --state STATE  awaiting_approval, queued, relayed, completed,\n"
	    "                 rejected, expired or failed\n"
	    "  --overdue      only open requests past their due time\n"
	    "  --limit N      at most N (default 100)\n" },
	{ "show", cmd_show, 1, "takes exactly one argument",
	    "[--] REQUEST_ID",
	    "Shows a request, its certificates, approvals, outbox rows and "
	    "audit trail.\n"
	    "An id that starts with '-' may follow \"--\", or stand alone.\n" },
	{ "export", cmd_export, 0, "takes no arguments",
	    "--json",
	    "Writes the registry and the requests as one JSON document "
	    "(never\npassphrase hashes or signatures).\n" },
	{ "sweep", cmd_sweep, 0, "takes no arguments",
	    "",
	    "Ends suspensions past their limit, expires approvals past "
	    "their time\nand reports overdue requests (run every minute by "
	    "revportal-sweep.timer);\ndeletes e-mail sent or given up more "
	    "than 30 days ago.\n" },
	{ "audit-verify", cmd_audit_verify, 0, "takes no arguments",
	    "[--anchor SEQ:HASH ...]",
	    "Checks the audit log's hash chain; exits 1 naming the first "
	    "broken\nsequence number.\n"
	    "  --anchor SEQ:HASH    entry SEQ must be there with this hash "
	    "(a head\n"
	    "                       logged earlier by sweep); repeatable\n" },
	{ NULL, NULL, 0, NULL, NULL, NULL },
};

/*
 * Returns 1 when the code point cp can hide, forge or reorder what a
 * terminal shows: a C1 control, a bidi control (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069), a line or paragraph separator (U+2028,
 * U+2029).  The same set rp_text_visible() refuses.
 */
static int
admin_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e ||
	    cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Returns the length of the well-formed UTF-8 character of at least two
 * bytes at p (left bytes available) with its code point in *cp, or 0
 * when p does not start one.
 */
static size_t
admin_utf8_char(const unsigned char *p, size_t left, uint32_t *cp)
{
	size_t	 k, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (k > left || !rp_utf8_valid((const char *)p, k))
		return 0;
	*cp = p[0] & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);
	for (i = 1; i < k; i++)
		*cp = (*cp << 6) | (p[i] & 0x3f);
	return k;
}

/*
 * The one output escape: appends s[0..n) to out so that it shows on a
 * terminal as exactly what it is, on one line.  Backslash, tab, line
 * feed and carriage return become \\, \t, \n and \r; other C0
 * controls, DEL and every byte of malformed UTF-8 \xHH; C1 controls,
 * bidi controls and U+2028/U+2029 \u{HHHH}.  Everything else is copied.
 * Every value this tool prints goes through here: fields of listings
 * and of show, confirmations, errors that echo input.  Returns RP_OK or
 * RP_ERR_NOMEM (out's limit).
 */
static enum rp_err
admin_esc(struct buf *out, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k;
	uint32_t		 cp;
	enum rp_err		 e = RP_OK;

	while (e == RP_OK && i < n) {
		k = 1;
		if (p[i] == '\\')
			e = buf_add(out, "\\\\", 2);
		else if (p[i] == '\t')
			e = buf_add(out, "\\t", 2);
		else if (p[i] == '\n')
			e = buf_add(out, "\\n", 2);
		else if (p[i] == '\r')
			e = buf_add(out, "\\r", 2);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			e = buf_addf(out, "\\x%02x", p[i]);
		else if (p[i] < 0x80)
			e = buf_addc(out, (char)p[i]);
		else if ((k = admin_utf8_char(p + i, n - i, &cp)) == 0) {
			e = buf_addf(out, "\\x%02x", p[i]);
			k = 1;
		} else if (admin_hidden(cp))
			e = buf_addf(out, "\\u{%04X}", (unsigned int)cp);
		else
			e = buf_add(out, p + i, k);
		i += k;
	}
	return e;
}

/*
 * Writes prefix (not escaped: the tool's own text), then the message
 * fmt formats, escaped by admin_esc(), and a line feed on f.
 */
static void __attribute__((format(printf, 3, 0)))
admin_vline(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	struct buf	 raw, esc;

	buf_init(&raw, ADMIN_LINE_MAX);
	buf_init(&esc, ADMIN_LINE_MAX);
	if (buf_adds(&esc, prefix) == RP_OK && buf_addv(&raw, fmt, ap) ==
	    RP_OK && admin_esc(&esc, raw.p, raw.len) == RP_OK &&
	    buf_addc(&esc, '\n') == RP_OK)
		(void)fwrite(esc.p, 1, esc.len, f);
	else
		fprintf(f, "%s(a message too long to show)\n", prefix);
	buf_free(&raw);
	buf_free(&esc);
}

/*
 * Prints "revportal-admin: " and the message, escaped, on stderr.
 * Returns EXIT_FAIL for `return admin_err(...)`.
 */
static int __attribute__((format(printf, 1, 2)))
admin_err(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	admin_vline(stderr, "revportal-admin: ", fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

/* Prints a warning, escaped, on stderr. */
static void __attribute__((format(printf, 1, 2)))
admin_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	admin_vline(stderr, "revportal-admin: warning: ", fmt, ap);
	va_end(ap);
}

/* Prints the message, escaped, as one line on stdout. */
static void __attribute__((format(printf, 1, 2)))
admin_say(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	admin_vline(stdout, "", fmt, ap);
	va_end(ap);
}

/* Prints the usage of every command on f. */
static void
admin_usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: revportal-admin [-c CONFIG] COMMAND [ARGS]\n"
	    "       revportal-admin COMMAND --help\n\n"
	    "  -c, --config FILE  the configuration (default %s)\n"
#ifdef RP_TESTING
	    "  --now TIME         (test build) the time to act at, "
	    "ISO 8601 UTC\n"
#endif
	    "  -h, --help         this text\n\ncommands:\n", ADMIN_CONFIG);
	for (i = 0; cmds[i].name != NULL; i++)
		fprintf(f, "  %s%s%s\n", cmds[i].name,
		    cmds[i].synopsis[0] != '\0' ? " " : "", cmds[i].synopsis);
}

/* Prints the usage line of command c on f and, when full, its help. */
static void
admin_cmd_usage(const struct cmd *c, FILE *f, int full)
{
	fprintf(f, "usage: revportal-admin [-c CONFIG] %s%s%s\n", c->name,
	    c->synopsis[0] != '\0' ? " " : "", c->synopsis);
	if (full)
		fputs(c->help, f);
	else
		fprintf(f, "(revportal-admin %s --help says more)\n", c->name);
}

/*
 * Says what is wrong with the command line of c (NULL: before the
 * command) on stderr, with the usage.  Returns EXIT_USAGE.
 */
static int __attribute__((format(printf, 2, 3)))
admin_usage_err(const struct cmd *c, const char *fmt, ...)
{
	va_list	 ap;
	char	 prefix[64];

	(void)snprintf(prefix, sizeof(prefix), "revportal-admin: %s%s",
	    c != NULL ? c->name : "", c != NULL ? ": " : "");
	va_start(ap, fmt);
	admin_vline(stderr, prefix, fmt, ap);
	va_end(ap);
	if (c != NULL)
		admin_cmd_usage(c, stderr, 0);
	else
		admin_usage(stderr);
	return EXIT_USAGE;
}

/*
 * Reports the getopt_long() result ch (':' or '?') of the arguments argv
 * as a command-line error of c.  Returns EXIT_USAGE.
 */
static int
admin_badopt(const struct cmd *c, int ch, char **argv)
{
	const char	*arg = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		return admin_usage_err(c, "option %s needs a value", arg);
	if (optopt != 0)
		return admin_usage_err(c, "unknown option -%c", optopt);
	return admin_usage_err(c, "unknown option %s", arg);
}

/*
 * Reads the decimal integer s into *v, which must lie in min..max.
 * Returns 0, or -1 for anything else (white space or '+' before it,
 * sign only, trailing text, range).
 */
static int
admin_num(const char *s, long long min, long long max, long long *v)
{
	char		*end;
	long long	 n;

	/* strtoll() would skip leading white space of any kind. */
	if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '-'))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

/* Reads n digits at s into *v; returns 0 or -1 for a non-digit. */
static int
admin_digits(const char *s, size_t n, int *v)
{
	size_t	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (y >= 0). */
static int64_t
admin_days(int y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Reads a UTC time: "YYYY-MM-DD" (midnight) or
 * "YYYY-MM-DDTHH:MM[:SS[.fff]]Z", years 1970 to 9999, into *ms since the
 * epoch.  Returns 0, or -1 for any other text or an impossible date.
 */
static int
admin_time(const char *s, int64_t *ms)
{
	static const int mdays[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t		 len, i = 16;
	int		 y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, leap, k;

	len = strlen(s);
	if (len < 10 || admin_digits(s, 4, &y) == -1 || s[4] != '-' ||
	    admin_digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    admin_digits(s + 8, 2, &d) == -1)
		return -1;
	if (len > 10) {
		if (len < 17 || s[10] != 'T' ||
		    admin_digits(s + 11, 2, &h) == -1 || s[13] != ':' ||
		    admin_digits(s + 14, 2, &mi) == -1)
			return -1;
		if (s[i] == ':') {
			if (admin_digits(s + i + 1, 2, &sec) == -1)
				return -1;
			i += 3;
			if (s[i] == '.') {
				for (k = 0, i++; k < 3 && s[i] >= '0' &&
				    s[i] <= '9'; k++, i++)
					frac = frac * 10 + (s[i] - '0');
				if (k == 0)
					return -1;
				for (; k < 3; k++)
					frac *= 10;
			}
		}
		if (s[i] != 'Z' || s[i + 1] != '\0')
			return -1;
	}
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	*ms = ((admin_days(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
	    (int64_t)sec * 1000 + frac;
	return 0;
}

/* Writes ms as ISO 8601 into buf, or "-" for 0. */
static const char *
admin_iso(int64_t ms, char buf[32])
{
	if (ms == 0) {
		buf[0] = '-';
		buf[1] = '\0';
	} else
		rp_time_format(ms, buf);
	return buf;
}

/* The same, but NULL for 0 or a NULL column: for JSON. */
static const char *
admin_iso_json(const struct dbq *q, int col, char buf[32])
{
	if (dbq_col_null(q, col) || dbq_col_int(q, col) == 0)
		return NULL;
	rp_time_format(dbq_col_int(q, col), buf);
	return buf;
}

/*
 * Writes s[0..n) as one field of a text record on stdout, escaped by
 * admin_esc() so that a record stays one line and shows what is stored;
 * NULL or empty as "-".  Then a tab, or the line feed after the last.
 */
static void
admin_field_n(const char *s, size_t n, int last)
{
	struct buf	 b;

	buf_init(&b, ADMIN_LINE_MAX);
	if (s == NULL || n == 0)
		fputc('-', stdout);
	else if (admin_esc(&b, s, n) == RP_OK)
		(void)fwrite(b.p, 1, b.len, stdout);
	else
		fputs("(too long to show)", stdout);
	buf_free(&b);
	fputc(last ? '\n' : '\t', stdout);
}

/* The same for the string s. */
static void
admin_field(const char *s, int last)
{
	admin_field_n(s, s != NULL ? strlen(s) : 0, last);
}

/* The same for the text column col, whole even if it holds a NUL. */
static void
admin_col(const struct dbq *q, int col, int last)
{
	admin_field_n(dbq_col_text(q, col), dbq_col_bytes(q, col), last);
}

/* A time column as a field. */
static void
admin_time_field(const struct dbq *q, int col, int last)
{
	char	 buf[32];

	admin_field(dbq_col_null(q, col) ? NULL :
	    admin_iso(dbq_col_int(q, col), buf), last);
}

/* An integer column as a field. */
static void
admin_int_field(const struct dbq *q, int col, int last)
{
	char	 buf[32];

	(void)snprintf(buf, sizeof(buf), "%lld",
	    (long long)dbq_col_int(q, col));
	admin_field(dbq_col_null(q, col) ? NULL : buf, last);
}

/*
 * Reads the configuration file (once), after the command line was found
 * right: `COMMAND --help` works without one.  Returns 0, or EXIT_FAIL
 * after saying why.
 */
static int
admin_conf(struct admin *a)
{
	char	 err[512];

	if (a->conf_loaded)
		return 0;
	conf_defaults(&a->cfg);
	if (conf_load(&a->cfg, a->cfgpath, err, sizeof(err)) != RP_OK)
		return admin_err("%s", err);
	if (pass_cost_set(a->cfg.argon2_m_kib, a->cfg.argon2_t,
	    a->cfg.argon2_p) != RP_OK)
		return admin_err("%s: [argon2] cost out of range", a->cfgpath);
	rplog_set_level(a->cfg.log_level);
	/* The sweep's requests and expiries queue e-mail too. */
	mail_setup(&a->cfg);
	a->conf_loaded = 1;
	return 0;
}

/*
 * Reads the configuration and opens its database.  Returns 0, or
 * EXIT_FAIL after saying why.
 */
static int
admin_open(struct admin *a)
{
	char	 err[512];
	int	 rc;

	if ((rc = admin_conf(a)) != 0)
		return rc;
	if ((a->db = db_open(&a->cfg, err, sizeof(err))) == NULL)
		return admin_err("%s", err);
	return 0;
}

/*
 * Opens the database (admin_open()) and starts the write transaction of
 * a change.  Returns 0, or EXIT_FAIL after saying why.
 */
static int
admin_begin(struct admin *a)
{
	enum rp_err	 e;
	int		 rc;

	if ((rc = admin_open(a)) != 0)
		return rc;
	if ((e = db_begin(a->db)) != RP_OK)
		return admin_err("cannot start a transaction (%s)",
		    rp_err_name(e));
	return 0;
}

/*
 * Reads the certificate file path (relative to dfd, with flags, see
 * rp_read_fileat(); at most RP_PEM_MAX bytes) into info.  Returns 0 with
 * info to be released by cert_info_free(), or -1 with why (whylen bytes)
 * saying what is wrong; info then needs nothing.
 */
static int
admin_read_cert(int dfd, const char *path, unsigned int flags,
    struct cert_info *info, char *why, size_t whylen)
{
	struct rp_errinfo	 ei;
	char			*pem;
	size_t			 len;
	enum rp_err		 e;

	memset(info, 0, sizeof(*info));
	if ((pem = rp_read_fileat(dfd, path, flags, RP_PEM_MAX, &len, NULL,
	    why, whylen)) == NULL)
		return -1;
	memset(&ei, 0, sizeof(ei));
	e = x509_read_pem(pem, len, info, &ei);
	free(pem);
	if (e != RP_OK) {
		(void)snprintf(why, whylen, "%s", ei.msg);
		return -1;
	}
	return 0;
}

/*
 * Reads the first line of the small file path (not following a symbolic
 * link; what names it in messages): its length, line end not included,
 * in *linep.  Warns when group or others may read the file, and refuses
 * a UTF-8 byte order mark, which would silently become part of the
 * line.  Returns the whole text (the caller wipes len bytes and frees
 * it) with its length in *lenp, or NULL after saying why, with anything
 * read wiped.
 */
static char *
admin_first_line(const char *path, const char *what, size_t *lenp,
    size_t *linep)
{
	char	 why[RP_ERRMSG_MAX];
	char	*text;
	size_t	 line;
	mode_t	 mode = 0;

	if ((text = rp_read_fileat(AT_FDCWD, path, RP_READ_NOFOLLOW,
	    ADMIN_PASS_FILE_MAX, lenp, &mode, why, sizeof(why))) == NULL) {
		admin_err("%s: %s", path, why);
		return NULL;
	}
	if ((mode & 077) != 0)
		admin_warn("%s may be read by group or others (chmod 600)",
		    path);
	if (*lenp >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		admin_err("%s: starts with a UTF-8 byte order mark; save the "
		    "%s without one", path, what);
		OPENSSL_cleanse(text, *lenp);
		free(text);
		return NULL;
	}
	for (line = 0; line < *lenp && text[line] != '\n'; line++)
		continue;
	if (line > 0 && text[line - 1] == '\r')
		line--;
	*linep = line;
	return text;
}

/*
 * Reads the passphrase from the first line of file path (see
 * admin_first_line()) and hashes it into out (outsz bytes).  Every copy
 * of the passphrase is wiped, whatever happens.  Returns 0, or EXIT_FAIL
 * after saying why.
 */
static int
admin_pass_file(const char *path, char *out, size_t outsz)
{
	char		*text;
	size_t		 len, line;
	enum rp_err	 e;

	if ((text = admin_first_line(path, "passphrase", &len, &line)) ==
	    NULL)
		return EXIT_FAIL;
	e = pass_hash(text, line, out, outsz);
	OPENSSL_cleanse(text, len);
	free(text);
	if (e == RP_ERR_BAD_INPUT)
		return admin_err("%s: the passphrase on its first line must "
		    "be 8 to 128 bytes of UTF-8 text without control "
		    "characters", path);
	if (e != RP_OK)
		return admin_err("%s: cannot hash the passphrase (%s)", path,
		    rp_err_name(e));
	return 0;
}

/*
 * Reads an Argon2id string made elsewhere from the first line of file
 * path (see admin_first_line()) into out (outsz bytes), checked by
 * pass_hash_valid() like --passphrase-hash.  Returns 0, or EXIT_FAIL
 * after saying why, with out and the text read wiped.
 */
static int
admin_pass_hash_file(const char *path, char *out, size_t outsz)
{
	char	*text;
	size_t	 len, line;
	int	 rc = EXIT_FAIL;

	out[0] = '\0';
	if ((text = admin_first_line(path, "hash", &len, &line)) == NULL)
		return EXIT_FAIL;
	if (line >= outsz) {
		admin_err("%s: the first line is longer than an Argon2id "
		    "string can be", path);
		goto out;
	}
	memcpy(out, text, line);
	out[line] = '\0';
	if (!pass_hash_valid(out)) {
		OPENSSL_cleanse(out, outsz);
		admin_err("%s: the first line is not an acceptable Argon2id "
		    "string (" ADMIN_HASH_FORM ")", path);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/*
 * Imports the certificate info with what imp says inside the open
 * transaction and appends "imported <serial> <type> <subject>", escaped,
 * to out.  where names the certificate in a warning: a certificate of a
 * type that has a subject person but whose serialNumber does not have
 * the ETSI natural-person form is imported without a person.  Returns
 * RP_OK or an error with ei filled.
 */
static enum rp_err
admin_import(struct admin *a, const struct cert_info *info,
    const struct reg_import *imp, const char *where, struct buf *out,
    struct rp_errinfo *ei)
{
	int64_t		 id;
	enum rp_err	 e;

	if ((e = reg_import_cert(a->db, info, imp, &id, ei)) != RP_OK)
		return e;
	if (info->person_id[0] != '\0' && !reg_person_id_ok(info->person_id) &&
	    (imp->type == CT_PERSONAL || imp->type == CT_BUSINESS ||
	    imp->type == CT_APPLICATION))
		admin_warn("%s: the subject serialNumber \"%s\" is not an "
		    "ETSI natural-person identifier (PNOSI-...): no subject "
		    "person registered", where, info->person_id);
	if ((e = buf_adds(out, "imported ")) != RP_OK ||
	    (e = admin_esc(out, info->serial, strlen(info->serial))) !=
	    RP_OK || (e = buf_addf(out, " %s ", dom_type_name(imp->type))) !=
	    RP_OK || (e = admin_esc(out, info->subject,
	    strlen(info->subject))) != RP_OK || (e = buf_addc(out, '\n')) !=
	    RP_OK)
		return rp_fail(ei, e, "nomem", "too much output");
	return RP_OK;
}

/*
 * Commits the open transaction of a command whose report is already on
 * stdout (or in report, when not NULL, written here first): the report
 * is flushed before the commit, so that a report that cannot be written
 * (a full disk, a closed pipe) leaves the database as it was.  If the
 * commit then fails, nothing was changed whatever the report says.
 * Returns 0 with a->committed set, or EXIT_FAIL after rolling back and
 * saying why.
 */
static int
admin_commit(struct admin *a, const struct buf *report)
{
	enum rp_err	 e;

	if ((report != NULL && report->len > 0 &&
	    fwrite(report->p, 1, report->len, stdout) != report->len) ||
	    fflush(stdout) == EOF || ferror(stdout)) {
		db_rollback(a->db);
		return admin_err("cannot write the output: nothing was "
		    "changed");
	}
	if ((e = db_commit(a->db)) != RP_OK)
		return admin_err("cannot commit (%s): nothing was changed",
		    rp_err_name(e));
	a->committed = 1;
	return 0;
}

/*
 * Rolls back the open transaction of a change that failed and says why
 * like admin_err().  Returns EXIT_FAIL.
 */
static int __attribute__((format(printf, 2, 3)))
admin_abort(struct admin *a, const char *fmt, ...)
{
	va_list	 ap;

	db_rollback(a->db);
	va_start(ap, fmt);
	admin_vline(stderr, "revportal-admin: ", fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

/* --- commands ----------------------------------------------------- */

/*
 * Returns the next option on the command line argv of command c: the
 * value of an entry of lo; or 0 when the options are over and c->nargs
 * arguments follow them, at argv[optind].  --help, which every lo holds,
 * and a command-line error end the command: -1 is returned with its exit
 * status in *rc, after the help or the error was written.  The caller
 * sets optind to 0 before the first call.
 */
static int
admin_opt(const struct cmd *c, int argc, char **argv,
    const struct option *lo, int *rc)
{
	int	 ch;

	if ((ch = getopt_long(argc, argv, ":h", lo, NULL)) == -1) {
		if (argc - optind == c->nargs)
			return 0;
		*rc = admin_usage_err(c, "%s", c->argerr);
		return -1;
	}
	if (ch == 'h') {
		admin_cmd_usage(c, stdout, 1);
		*rc = EXIT_OK;
		return -1;
	}
	if (ch == ':' || ch == '?') {
		*rc = admin_badopt(c, ch, argv);
		return -1;
	}
	return ch;
}

/*
 * Reports the value of option opt of c as not being 1 to max - 1 bytes
 * of text without control characters.  Returns EXIT_USAGE.
 */
static int
admin_bad_text(const struct cmd *c, const char *opt, unsigned int max)
{
	return admin_usage_err(c, "%s: 1 to %u bytes of text without "
	    "control characters", opt, max - 1);
}

/*
 * Parses the command line of a command c that takes no option but
 * --help, and c->nargs arguments (then at argv[optind]).  Returns 0 to
 * go on, or -1 when the command is done (help given, or a command-line
 * error reported) with its exit status in *rc.
 */
static int
admin_noopts(const struct cmd *c, int argc, char **argv, int *rc)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	optind = 0;
	return admin_opt(c, argc, argv, lo, rc) == 0 ? 0 : -1;
}

/*
 * init: creates or migrates the database.  Returns the exit status
 * (so do all cmd_*() functions, which get the arguments from the
 * command's name on).
 */
static int
cmd_init(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	char	 err[512];
	int	 r;

	if (admin_noopts(c, argc, argv, &r) == -1)
		return r;
	if ((r = admin_conf(a)) != 0)
		return r;
	if (db_migrate(&a->cfg, err, sizeof(err)) != RP_OK)
		return admin_err("%s", err);
	a->committed = 1;
	if ((r = admin_open(a)) != 0)
		return r;
	printf("schema version %d\n", db_schema_version(a->db));
	return EXIT_OK;
}

/*
 * import-cert: registers one certificate file in one transaction.
 */
static int
cmd_import_cert(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "term-years", required_argument, NULL, OPT_TERM },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "token-kind", required_argument, NULL, OPT_TOKEN_KIND },
		{ "qscd", no_argument, NULL, OPT_QSCD },
		{ "passphrase-file", required_argument, NULL, OPT_PASS_FILE },
		{ "passphrase-hash", required_argument, NULL, OPT_PASS_HASH },
		{ "passphrase-hash-file", required_argument, NULL,
		    OPT_PASS_HASH_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct reg_import	 imp;
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	struct buf		 out;
	const char		*pfile = NULL, *hfile = NULL, *kind = NULL;
	const char		*path;
	char			 hash[RP_PASS_HASH_MAX], why[RP_ERRMSG_MAX];
	long long		 n;
	int			 ch, rc = EXIT_FAIL, typed = 0;

	memset(&imp, 0, sizeof(imp));
	memset(&info, 0, sizeof(info));
	optind = 0;
	while ((ch = admin_opt(c, argc, argv, lo, &rc)) > 0) {
		switch (ch) {
		case OPT_TYPE:
			if ((imp.type = dom_type_parse(optarg)) == CT__MAX)
				return admin_usage_err(c, "--type: unknown "
				    "type \"%s\"", optarg);
			typed = 1;
			break;
		case OPT_TERM:
			if (admin_num(optarg, 1, 10, &n) == -1)
				return admin_usage_err(c, "--term-years: "
				    "1 to 10");
			imp.term_years = (unsigned int)n;
			break;
		case OPT_TOKEN:
			if (!reg_label_ok(optarg))
				return admin_bad_text(c, "--token",
				    RP_LABEL_MAX);
			imp.token = optarg;
			break;
		case OPT_TOKEN_KIND:
			if (!reg_token_kind_ok(optarg))
				return admin_usage_err(c, "--token-kind: "
				    "smartcard, usb, cloud or software");
			kind = optarg;
			break;
		case OPT_QSCD:
			imp.qscd = 1;
			break;
		case OPT_PASS_FILE:
			pfile = optarg;
			break;
		case OPT_PASS_HASH:
			imp.pass_hash = optarg;
			break;
		case OPT_PASS_HASH_FILE:
			hfile = optarg;
			break;
		default:
			abort();	/* not in lo */
		}
	}
	if (ch == -1)
		return rc;
	if (!typed)
		return admin_usage_err(c, "--type is required");
	if ((pfile != NULL) + (imp.pass_hash != NULL) + (hfile != NULL) > 1)
		return admin_usage_err(c, "one of --passphrase-file, "
		    "--passphrase-hash and --passphrase-hash-file");
	if (imp.token == NULL && (kind != NULL || imp.qscd))
		return admin_usage_err(c, "--token-kind and --qscd need "
		    "--token");
	if (imp.pass_hash != NULL && !pass_hash_valid(imp.pass_hash))
		return admin_usage_err(c, "--passphrase-hash: not an "
		    "acceptable Argon2id string (" ADMIN_HASH_FORM ")");
	path = argv[optind];
	imp.token_kind = kind != NULL ? kind : "smartcard";
	imp.actor = a->actor;
	imp.now = a->now;

	memset(&ei, 0, sizeof(ei));
	hash[0] = '\0';
	buf_init(&out, ADMIN_OUT_MAX);
	if (admin_read_cert(AT_FDCWD, path, 0, &info, why, sizeof(why)) !=
	    0) {
		admin_err("%s: %s", path, why);
		goto out;
	}
	/* The [argon2] cost of the hash made here comes with the file. */
	if (pfile != NULL) {
		if (admin_conf(a) != 0 ||
		    admin_pass_file(pfile, hash, sizeof(hash)) != 0)
			goto out;
		imp.pass_hash = hash;
	}
	if (hfile != NULL) {
		if (admin_pass_hash_file(hfile, hash, sizeof(hash)) != 0)
			goto out;
		imp.pass_hash = hash;
	}
	if (admin_begin(a) != 0)
		goto out;
	if (admin_import(a, &info, &imp, path, &out, &ei) != RP_OK) {
		admin_abort(a, "%s: %s", path, ei.msg);
		goto out;
	}
	rc = admin_commit(a, &out);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	cert_info_free(&info);
	buf_free(&out);
	return rc;
}

/*
 * Fills imp from the CSV record r (the columns of ADMIN_CSV_NAME's
 * header).  Returns 0, or -1 with why filled.
 */
static int
admin_csv_import(const struct csv_rec *r, struct reg_import *imp,
    char *why, size_t whylen)
{
	const char	*file = r->f[0], *q = r->f[5];
	long long	 n;

	if (r->n != ADMIN_CSV_COLS) {
		(void)snprintf(why, whylen, "%zu of the %u fields", r->n,
		    ADMIN_CSV_COLS);
		return -1;
	}
	if (file[0] == '\0' || file[0] == '.' || strchr(file, '/') != NULL) {
		(void)snprintf(why, whylen, "the file name must be a plain "
		    "name in the directory (no '/', not starting with '.')");
		return -1;
	}
	if ((imp->type = dom_type_parse(r->f[1])) == CT__MAX) {
		(void)snprintf(why, whylen, "unknown type \"%.32s\"",
		    r->f[1]);
		return -1;
	}
	imp->term_years = 0;
	if (r->f[2][0] != '\0') {
		if (admin_num(r->f[2], 1, 10, &n) == -1) {
			(void)snprintf(why, whylen, "term_years is 1 to 10 "
			    "or empty");
			return -1;
		}
		imp->term_years = (unsigned int)n;
	}
	imp->token = r->f[3][0] != '\0' ? r->f[3] : NULL;
	if (imp->token != NULL && !reg_label_ok(imp->token)) {
		(void)snprintf(why, whylen, "token is 1 to %u bytes of text "
		    "without control characters", RP_LABEL_MAX - 1);
		return -1;
	}
	imp->token_kind = r->f[4][0] != '\0' ? r->f[4] : "smartcard";
	if (!reg_token_kind_ok(imp->token_kind)) {
		(void)snprintf(why, whylen, "token_kind is smartcard, usb, "
		    "cloud, software or empty");
		return -1;
	}
	if (strcmp(q, "") == 0 || strcmp(q, "0") == 0 ||
	    strcmp(q, "no") == 0)
		imp->qscd = 0;
	else if (strcmp(q, "1") == 0 || strcmp(q, "yes") == 0)
		imp->qscd = 1;
	else {
		(void)snprintf(why, whylen, "qscd is 1, yes, 0, no or empty");
		return -1;
	}
	if (imp->token == NULL && (r->f[4][0] != '\0' || imp->qscd)) {
		(void)snprintf(why, whylen, "token_kind and qscd need a token");
		return -1;
	}
	imp->pass_hash = r->f[6][0] != '\0' ? r->f[6] : NULL;
	if (imp->pass_hash != NULL && !pass_hash_valid(imp->pass_hash)) {
		(void)snprintf(why, whylen, "passphrase_hash is not an "
		    "acceptable Argon2id string (m=19456..262144, t=2..10, "
		    "p=1..4)");
		return -1;
	}
	return 0;
}

/*
 * import-dir: registers every certificate of DIR/certificates.csv in
 * one transaction; an error names the CSV line and imports nothing.
 * Every file is opened relative to the directory, opened once, and none
 * through a symbolic link: a link, even to a file inside, is refused, so
 * that a CSV cannot make the tool read a file outside DIR.
 */
static int
cmd_import_dir(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const char *const header[ADMIN_CSV_COLS] = {
		"file", "type", "term_years", "token", "token_kind", "qscd",
		"passphrase_hash",
	};
	struct csv		 cv;
	struct csv_rec		*r = NULL;
	struct reg_import	 imp;
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	struct buf		 out;
	const char		*dir;
	char			 csv[1024], why[RP_ERRMSG_MAX];
	char			*text = NULL;
	size_t			 len, rows = 0, i;
	int			 rc, intx = 0, k, dfd = -1;
	enum rp_err		 e;

	if (admin_noopts(c, argc, argv, &rc) == -1)
		return rc;
	rc = EXIT_FAIL;
	dir = argv[optind];
	memset(&info, 0, sizeof(info));
	memset(&ei, 0, sizeof(ei));
	buf_init(&out, ADMIN_OUT_MAX);
	k = snprintf(csv, sizeof(csv), "%s/%s", dir, ADMIN_CSV_NAME);
	if (k < 0 || (size_t)k >= sizeof(csv))
		return admin_err("%s: name too long", dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return admin_err("%s: %s", dir, errno == ELOOP ||
		    errno == ENOTDIR ? "not a directory (a symbolic link is "
		    "not followed)" : strerror(errno));
	if ((text = rp_read_fileat(dfd, ADMIN_CSV_NAME, RP_READ_NOFOLLOW,
	    CSV_FILE_MAX, &len, NULL, why, sizeof(why))) == NULL) {
		admin_err("%s: %s", csv, why);
		goto out;
	}
	if ((r = malloc(sizeof(*r))) == NULL) {
		admin_err("out of memory");
		goto out;
	}
	/* The header, exactly (a UTF-8 BOM is not expected). */
	if ((e = csv_init(&cv, text, len, &ei)) == RP_OK)
		e = csv_next(&cv, r, &ei);
	for (i = 0; e == RP_OK && r->line == 1 && r->n == ADMIN_CSV_COLS &&
	    i < ADMIN_CSV_COLS; i++)
		if (strcmp(r->f[i], header[i]) != 0)
			break;
	if (i != ADMIN_CSV_COLS) {
		admin_err("%s:1: the first line must be the header \"file,"
		    "type,term_years,token,token_kind,qscd,passphrase_hash\"",
		    csv);
		goto out;
	}
	if (admin_begin(a) != 0)
		goto out;
	intx = 1;
	while ((e = csv_next(&cv, r, &ei)) == RP_OK && r->n > 0) {
		if (++rows > ADMIN_CSV_ROWS) {
			admin_err("%s:%zu: more than %u certificates in one "
			    "import", csv, r->line, ADMIN_CSV_ROWS);
			goto out;
		}
		memset(&imp, 0, sizeof(imp));
		imp.actor = a->actor;
		imp.now = a->now;
		if (admin_csv_import(r, &imp, why, sizeof(why)) == -1) {
			admin_err("%s:%zu: %s", csv, r->line, why);
			goto out;
		}
		if (admin_read_cert(dfd, r->f[0], RP_READ_NOFOLLOW, &info, why,
		    sizeof(why)) != 0) {
			admin_err("%s:%zu: %s: %s", csv, r->line, r->f[0],
			    why);
			goto out;
		}
		e = admin_import(a, &info, &imp, r->f[0], &out, &ei);
		cert_info_free(&info);
		if (e != RP_OK) {
			admin_err("%s:%zu: %s: %s", csv, r->line, r->f[0],
			    ei.msg);
			goto out;
		}
	}
	if (e != RP_OK) {
		admin_err("%s:%zu: %s", csv, cv.line, ei.msg);
		goto out;
	}
	if (buf_addf(&out, "imported %zu certificate%s from ", rows,
	    rows == 1 ? "" : "s") != RP_OK ||
	    admin_esc(&out, dir, strlen(dir)) != RP_OK ||
	    buf_addc(&out, '\n') != RP_OK) {
		admin_err("too much output");
		goto out;
	}
	intx = 0;
	rc = admin_commit(a, &out);
out:
	if (intx)
		db_rollback(a->db);
	if (dfd != -1)
		(void)close(dfd);
	cert_info_free(&info);
	buf_free(&out);
	free(r);
	free(text);
	return rc;
}

/*
 * add-rep: registers a legal representative of an organisation.
 */
static int
cmd_add_rep(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "org", required_argument, NULL, OPT_ORG },
		{ "org-name", required_argument, NULL, OPT_ORG_NAME },
		{ "person", required_argument, NULL, OPT_PERSON },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "email", required_argument, NULL, OPT_EMAIL },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rp_errinfo	 ei;
	const char		*org = NULL, *oname = NULL, *person = NULL;
	const char		*pname = NULL, *email = NULL;
	char			 fs[32], ts[32];
	int64_t			 from = a->now, to = 0;
	int			 ch, rc;

	optind = 0;
	while ((ch = admin_opt(c, argc, argv, lo, &rc)) > 0) {
		switch (ch) {
		case OPT_ORG:
			if (!reg_org_id_ok(optarg))
				return admin_usage_err(c, "--org: an ETSI "
				    "identifier: VAT, NTR, PSD or LEI, a "
				    "country code, '-' and 1 to 50 "
				    "characters (VATSI-12345678)");
			org = optarg;
			break;
		case OPT_ORG_NAME:
			if (!reg_name_ok(optarg))
				return admin_bad_text(c, "--org-name",
				    RP_TEXT_MAX);
			oname = optarg;
			break;
		case OPT_PERSON:
			if (!reg_person_id_ok(optarg))
				return admin_usage_err(c, "--person: an ETSI "
				    "identifier: PAS, IDC, PNO, TAX or TIN, "
				    "a country code, '-' and 1 to 50 "
				    "characters (PNOSI-1234567890123)");
			person = optarg;
			break;
		case OPT_NAME:
			if (!reg_name_ok(optarg))
				return admin_bad_text(c, "--name", RP_TEXT_MAX);
			pname = optarg;
			break;
		case OPT_EMAIL:
			if (!reg_email_ok(optarg))
				return admin_usage_err(c, "--email: not an "
				    "e-mail address");
			email = optarg;
			break;
		case OPT_FROM:
		case OPT_TO:
			if (admin_time(optarg, ch == OPT_FROM ? &from : &to) ==
			    -1)
				return admin_usage_err(c, "%s: not a date "
				    "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)",
				    ch == OPT_FROM ? "--from" : "--to");
			break;
		default:
			abort();	/* not in lo */
		}
	}
	if (ch == -1)
		return rc;
	if (org == NULL || person == NULL)
		return admin_usage_err(c, "--org and --person are required");
	if (to != 0 && to <= from)
		return admin_usage_err(c, "--to must be after --from");
	memset(&ei, 0, sizeof(ei));
	if ((rc = admin_begin(a)) != 0)
		return rc;
	if (reg_rep_add(a->db, org, oname, person, pname, email, from, to,
	    a->actor, a->now, &ei) != RP_OK)
		return admin_abort(a, "%s", ei.msg);
	admin_say("added rep %s of %s from %s to %s", person, org,
	    admin_iso(from, fs), to != 0 ? admin_iso(to, ts) : "-");
	return admin_commit(a, NULL);
}

/*
 * remove-rep: ends a representation now.
 */
static int
cmd_remove_rep(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "org", required_argument, NULL, OPT_ORG },
		{ "person", required_argument, NULL, OPT_PERSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rp_errinfo	 ei;
	const char		*org = NULL, *person = NULL;
	char			 ts[32];
	int			 ch, rc, ended = 0, cancelled = 0;

	optind = 0;
	while ((ch = admin_opt(c, argc, argv, lo, &rc)) > 0) {
		switch (ch) {
		case OPT_ORG:
			if (!reg_org_id_ok(optarg))
				return admin_usage_err(c, "--org: an ETSI "
				    "identifier (VATSI-12345678)");
			org = optarg;
			break;
		case OPT_PERSON:
			if (!reg_person_id_ok(optarg))
				return admin_usage_err(c, "--person: an ETSI "
				    "identifier (PNOSI-1234567890123)");
			person = optarg;
			break;
		default:
			abort();	/* not in lo */
		}
	}
	if (ch == -1)
		return rc;
	if (org == NULL || person == NULL)
		return admin_usage_err(c, "--org and --person are required");
	memset(&ei, 0, sizeof(ei));
	if ((rc = admin_begin(a)) != 0)
		return rc;
	if (reg_rep_end(a->db, org, person, a->actor, a->now, &ended,
	    &cancelled, &ei) != RP_OK)
		return admin_abort(a, "%s", ei.msg);
	if (ended > 0)
		admin_say("ended rep %s of %s at %s", person, org,
		    admin_iso(a->now, ts));
	if (cancelled > 0)
		admin_say("cancelled rep %s of %s (%d period%s not begun)",
		    person, org, cancelled, cancelled == 1 ? "" : "s");
	return admin_commit(a, NULL);
}

/*
 * add-staff: creates a staff account for a client certificate.
 */
static int
cmd_add_staff(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	const char		*name = NULL;
	char			 rtext[64], why[RP_ERRMSG_MAX];
	unsigned int		 roles = 0, r;
	int			 ch, rc = EXIT_FAIL;

	optind = 0;
	while ((ch = admin_opt(c, argc, argv, lo, &rc)) > 0) {
		switch (ch) {
		case OPT_ROLE:
			if ((r = dom_roles_parse(optarg)) == 0)
				return admin_usage_err(c, "--role: agent, "
				    "officer or admin (a comma list is "
				    "fine)");
			roles |= r;
			break;
		case OPT_NAME:
			if (!reg_name_ok(optarg))
				return admin_bad_text(c, "--name", RP_TEXT_MAX);
			name = optarg;
			break;
		default:
			abort();	/* not in lo */
		}
	}
	if (ch == -1)
		return rc;
	if (roles == 0)
		return admin_usage_err(c, "--role is required");
	if (admin_read_cert(AT_FDCWD, argv[optind], 0, &info, why,
	    sizeof(why)) != 0)
		return admin_err("%s: %s", argv[optind], why);
	memset(&ei, 0, sizeof(ei));
	if (admin_begin(a) != 0)
		goto out;
	if (reg_staff_add(a->db, &info, name, roles, a->actor, a->now, &ei) !=
	    RP_OK) {
		admin_abort(a, "%s: %s", argv[optind], ei.msg);
		goto out;
	}
	if (dom_roles_format(roles, rtext, sizeof(rtext)) != RP_OK)
		rtext[0] = '\0';
	admin_say("added staff %s %s %s", info.sha256,
	    name != NULL ? name : info.common_name, rtext);
	rc = admin_commit(a, NULL);
out:
	cert_info_free(&info);
	return rc;
}

/*
 * Writes the fingerprint s (hex in either case, colons allowed between
 * bytes, as `openssl x509 -fingerprint` prints it) as 64 lower-case hex
 * digits into out.  Returns 0 or -1.
 */
static int
admin_sha(const char *s, char out[65])
{
	size_t	 n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ':' && n > 0 && n % 2 == 0 && s[1] != '\0' &&
		    s[1] != ':')
			continue;
		if (n == 64)
			return -1;
		if (*s >= 'A' && *s <= 'F')
			out[n++] = (char)(*s - 'A' + 'a');
		else if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))
			out[n++] = *s;
		else
			return -1;
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

/*
 * disable-staff and enable-staff (told apart by c->name).
 */
static int
cmd_set_staff(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	struct rp_errinfo	 ei;
	char			 sha[65];
	int			 rc, active;

	active = strcmp(c->name, "enable-staff") == 0;
	if (admin_noopts(c, argc, argv, &rc) == -1)
		return rc;
	if (admin_sha(argv[optind], sha) == -1)
		return admin_usage_err(c, "not a SHA-256 fingerprint (64 hex "
		    "digits, colons allowed)");
	memset(&ei, 0, sizeof(ei));
	if ((rc = admin_begin(a)) != 0)
		return rc;
	if (reg_staff_set_active(a->db, sha, active, a->actor, a->now, &ei) !=
	    RP_OK)
		return admin_abort(a, "%s", ei.msg);
	admin_say("%s staff %s", active ? "enabled" : "disabled", sha);
	return admin_commit(a, NULL);
}

/*
 * staff: lists the staff accounts.
 */
static int
cmd_staff(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 rc;

	if (admin_noopts(c, argc, argv, &rc) == -1)
		return rc;
	if ((rc = admin_open(a)) != 0)
		return rc;
	printf("sha256\tname\troles\tactive\tcreated_at\tsubject\n");
	dbq_start(&q, a->db, DB_STAFF_ALL);
	while (dbq_step(&q)) {
		admin_col(&q, 2, 0);
		admin_col(&q, 1, 0);
		admin_col(&q, 4, 0);
		admin_field(dbq_col_int(&q, 5) ? "yes" : "no", 0);
		admin_time_field(&q, 6, 0);
		admin_col(&q, 3, 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return admin_err("cannot read staff (%s)", rp_err_name(e));
	return EXIT_OK;
}

/*
 * Writes the serials of the certificates of request row id, comma
 * separated, as the last field of a record.  Returns RP_OK or an error.
 */
static enum rp_err
admin_req_serials(struct admin *a, int64_t id)
{
	struct dbq	 q;
	struct buf	 b;
	enum rp_err	 e;

	buf_init(&b, 64u * 1024u);
	dbq_start(&q, a->db, DB_CERTS_OF_REQUEST);
	dbq_int(&q, id);
	while (dbq_step(&q))
		if ((e = buf_addf(&b, "%s%s", b.len > 0 ? "," : "",
		    dbq_col_text(&q, 2) != NULL ? dbq_col_text(&q, 2) : "?"))
		    != RP_OK && q.err == RP_OK)
			q.err = e;
	e = dbq_end(&q);
	admin_field(b.p, 1);
	buf_free(&b);
	return e;
}

/*
 * requests: lists requests by due time, with their serials.
 */
static int
cmd_requests(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "state", required_argument, NULL, OPT_STATE },
		{ "overdue", no_argument, NULL, OPT_OVERDUE },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dbq	 q;
	const char	*state = NULL;
	long long	 limit = ADMIN_LIMIT_DEF;
	int		 ch, rc, overdue = 0;
	enum rp_err	 e = RP_OK;

	optind = 0;
	while ((ch = admin_opt(c, argc, argv, lo, &rc)) > 0) {
		switch (ch) {
		case OPT_STATE:
			if (dom_state_parse(optarg) == RS__MAX)
				return admin_usage_err(c, "--state: unknown "
				    "state \"%s\"", optarg);
			state = optarg;
			break;
		case OPT_OVERDUE:
			overdue = 1;
			break;
		case OPT_LIMIT:
			if (admin_num(optarg, 1, ADMIN_LIMIT_MAX, &limit) ==
			    -1)
				return admin_usage_err(c, "--limit: 1 to %d",
				    ADMIN_LIMIT_MAX);
			break;
		default:
			abort();	/* not in lo */
		}
	}
	if (ch == -1)
		return rc;
	if ((rc = admin_open(a)) != 0)
		return rc;
	printf("request_id\taction\tstate\tchannel\treason\treceived_at\t"
	    "due_at\trequester\tcertificates\n");
	dbq_start(&q, a->db, DB_REQ_LIST);
	dbq_text(&q, state);
	if (overdue)
		dbq_int(&q, a->now);
	else
		dbq_null(&q);
	dbq_int(&q, limit);
	while (e == RP_OK && dbq_step(&q)) {
		admin_col(&q, 1, 0);
		admin_col(&q, 2, 0);
		admin_col(&q, 6, 0);
		admin_col(&q, 4, 0);
		admin_col(&q, 3, 0);
		admin_time_field(&q, 10, 0);
		admin_time_field(&q, 11, 0);
		admin_col(&q, 7, 0);
		e = admin_req_serials(a, dbq_col_int(&q, 0));
	}
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK)
		return admin_err("cannot read requests (%s)", rp_err_name(e));
	return EXIT_OK;
}

/* Writes a "key<TAB>value" line of show. */
static void
admin_kv(const char *key, const char *value)
{
	admin_field(key, 0);
	admin_field(value, 1);
}

/* Writes one audit entry as a record: an audit_each() callback. */
static int
admin_audit_row(void *arg, const struct audit_entry *e)
{
	char	 seq[32], at[32];

	(void)arg;
	(void)snprintf(seq, sizeof(seq), "%lld", (long long)e->seq);
	admin_field(seq, 0);
	admin_field(admin_iso(e->at, at), 0);
	admin_field(e->actor, 0);
	admin_field(e->action, 0);
	admin_field(e->details, 1);
	return 0;
}

/*
 * Writes the relation bits v (REL_*) as "subject", "legal_rep" or
 * "subject,legal_rep" into buf; "" for none.  Returns buf.
 */
static const char *
admin_rels(int64_t v, char buf[32])
{
	(void)snprintf(buf, 32, "%s%s%s", (v & REL_SUBJECT) ? "subject" : "",
	    v == (REL_SUBJECT | REL_LEGAL_REP) ? "," : "",
	    (v & REL_LEGAL_REP) ? "legal_rep" : "");
	return buf;
}

/*
 * Returns 1 when s looks like a public request id: RP_ID_LEN base64url
 * characters.
 */
static int
admin_id_ok(const char *s)
{
	size_t	 i;

	if (strlen(s) != RP_ID_LEN)
		return 0;
	for (i = 0; i < RP_ID_LEN; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
	return 1;
}

/*
 * show: one request with its certificates, approvals, outbox rows and
 * audit trail.
 */
static int
cmd_show(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const char *const keys[] = {
		/* REQ_COLS columns 1..19; NULL: shown otherwise. */
		"request_id", "action", "reason", "channel", "auth_method",
		"state", "requester", NULL, NULL, "received_at", "due_at",
		"approval_expires_at", "completed_at", "updated_at", "need",
		"call_reference", "caller_name", "notes", "outcome",
	};
	struct dbq	 q;
	const char	*id;
	char		 subject[RP_ID_LEN + 16], need[32];
	int64_t		 row = 0;
	int		 rc, col;
	enum rp_err	 e;

	/*
	 * An id may start with '-' (one in 64 do): a lone well-formed id is
	 * taken as it is, before getopt could read it as options.
	 */
	if (argc == 2 && admin_id_ok(argv[1]))
		id = argv[1];
	else if (admin_noopts(c, argc, argv, &rc) == -1)
		return rc;
	else
		id = argv[optind];
	if (!admin_id_ok(id))
		return admin_usage_err(c, "not a request id (%u characters "
		    "A-Z a-z 0-9 - _)", RP_ID_LEN);
	if ((rc = admin_open(a)) != 0)
		return rc;

	dbq_start(&q, a->db, DB_REQ_GET);
	dbq_text(&q, id);
	if (dbq_step(&q)) {
		row = dbq_col_int(&q, 0);
		for (col = 1; col <= 19; col++) {
			if (keys[col - 1] == NULL)
				continue;
			if (col >= 10 && col <= 14) {
				admin_field(keys[col - 1], 0);
				admin_time_field(&q, col, 1);
			} else if (col == 15) {
				admin_kv(keys[col - 1],
				    admin_rels(dbq_col_int(&q, col), need));
			} else {
				admin_field(keys[col - 1], 0);
				admin_col(&q, col, 1);
			}
		}
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return admin_err("cannot read the request (%s)",
		    rp_err_name(e));
	if (row == 0)
		return admin_err("no request %s", id);

	printf("\ncertificates\nserial\ttype\tstatus\ttoken\tissuer\t"
	    "subject\n");
	dbq_start(&q, a->db, DB_CERTS_OF_REQUEST);
	dbq_int(&q, row);
	while (dbq_step(&q)) {
		admin_col(&q, 2, 0);
		admin_col(&q, 4, 0);
		admin_col(&q, 5, 0);
		admin_col(&q, 11, 0);
		admin_col(&q, 1, 0);
		admin_col(&q, 3, 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return admin_err("cannot read certificates (%s)",
		    rp_err_name(e));

	printf("\napprovals\napproved_at\tperson\tname\tstaff\troles\t"
	    "signer_sha256\n");
	dbq_start(&q, a->db, DB_APPROVALS_OF);
	dbq_int(&q, row);
	while (dbq_step(&q)) {
		admin_time_field(&q, 6, 0);
		admin_col(&q, 1, 0);
		admin_col(&q, 2, 0);
		admin_int_field(&q, 3, 0);
		admin_field(admin_rels(dbq_col_int(&q, 4), need), 0);
		admin_col(&q, 5, 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return admin_err("cannot read approvals (%s)",
		    rp_err_name(e));

	printf("\noutbox\nid\taction\tstate\tattempts\tnext_attempt_at\t"
	    "idempotency_key\tlast_error\tpayload\n");
	dbq_start(&q, a->db, DB_OUTBOX_OF);
	dbq_int(&q, row);
	while (dbq_step(&q)) {
		admin_int_field(&q, 0, 0);
		admin_col(&q, 2, 0);
		admin_col(&q, 5, 0);
		admin_int_field(&q, 6, 0);
		admin_time_field(&q, 7, 0);
		admin_col(&q, 4, 0);
		admin_col(&q, 8, 0);
		admin_col(&q, 3, 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return admin_err("cannot read the outbox (%s)",
		    rp_err_name(e));

	printf("\naudit\nseq\tat\tactor\taction\tdetails\n");
	(void)snprintf(subject, sizeof(subject), "request:%s", id);
	if ((e = audit_each(a->db, subject, admin_audit_row, NULL)) != RP_OK)
		return admin_err("cannot read the audit log (%s)",
		    rp_err_name(e));
	return EXIT_OK;
}

/*
 * Appends the value v (a new reference, NULL when jansson failed) to the
 * array arr.  Returns RP_OK or RP_ERR_NOMEM (or RP_ERR_INTERNAL when a
 * database text was not UTF-8, which jansson refuses).
 */
static enum rp_err
admin_push(json_t *arr, json_t *v)
{
	if (v == NULL)
		return RP_ERR_INTERNAL;
	return json_array_append_new(arr, v) == 0 ? RP_OK : RP_ERR_NOMEM;
}

/* export: the organisations. */
static enum rp_err
export_orgs(struct admin *a, json_t *arr)
{
	struct dbq	 q;
	char		 t1[32];

	dbq_start(&q, a->db, DB_ORGS_ALL);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = admin_push(arr, json_pack("{s:s?, s:s?, s:s?}",
		    "org_id", dbq_col_text(&q, 1), "name",
		    dbq_col_text(&q, 2), "created_at",
		    admin_iso_json(&q, 3, t1)));
	return dbq_end(&q);
}

/* export: the persons. */
static enum rp_err
export_persons(struct admin *a, json_t *arr)
{
	struct dbq	 q;
	char		 t1[32];

	dbq_start(&q, a->db, DB_PERSONS_ALL);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = admin_push(arr, json_pack("{s:s?, s:s?, s:s?, s:s?}",
		    "person_id", dbq_col_text(&q, 1), "name",
		    dbq_col_text(&q, 2), "email", dbq_col_text(&q, 3),
		    "created_at", admin_iso_json(&q, 4, t1)));
	return dbq_end(&q);
}

/* export: the legal representatives. */
static enum rp_err
export_reps(struct admin *a, json_t *arr)
{
	struct dbq	 q;
	char		 t1[32], t2[32];

	dbq_start(&q, a->db, DB_REPS_ALL);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = admin_push(arr, json_pack("{s:s?, s:s?, s:s?, s:s?, "
		    "s:s?, s:s?}", "org_id", dbq_col_text(&q, 0), "org_name",
		    dbq_col_text(&q, 1), "person_id", dbq_col_text(&q, 2),
		    "person_name", dbq_col_text(&q, 3), "valid_from",
		    admin_iso_json(&q, 4, t1), "valid_to",
		    admin_iso_json(&q, 5, t2)));
	return dbq_end(&q);
}

/* export: the tokens, with whether a passphrase is set. */
static enum rp_err
export_tokens(struct admin *a, json_t *arr)
{
	struct dbq	 q;
	char		 t1[32];

	dbq_start(&q, a->db, DB_TOKENS_ALL);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = admin_push(arr, json_pack("{s:s?, s:s?, s:b, s:s?, "
		    "s:b}", "label", dbq_col_text(&q, 1), "kind",
		    dbq_col_text(&q, 2), "qscd", (int)dbq_col_int(&q, 3),
		    "created_at", admin_iso_json(&q, 4, t1),
		    "passphrase_set", (int)dbq_col_int(&q, 5)));
	return dbq_end(&q);
}

/*
 * export: the certificate of the CERT_COLS row in hand of cq, with its
 * PEM and fingerprint, and whether it has a passphrase of its own (the
 * hash is read by the query but never written).
 */
static enum rp_err
export_cert(struct admin *a, const struct dbq *cq, json_t *arr)
{
	struct dbq	 q;
	json_t		*o = NULL;
	char		 t[6][32];
	int64_t		 id = dbq_col_int(cq, 0);
	int		 own = 0;
	enum rp_err	 e;

	dbq_start(&q, a->db, DB_PASS_OF_CERT);
	dbq_int(&q, id);
	if (dbq_step(&q))
		own = 1;
	if ((e = dbq_end(&q)) != RP_OK)
		return e;
	dbq_start(&q, a->db, DB_CERT_EXPORT);
	dbq_int(&q, id);
	if (dbq_step(&q))
		o = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, "
		    "s:s?, s:b, s:s?, s:s?, s:I, s:s?, s:s?, s:s?, s:s?, "
		    "s:s?, s:s?, s:s?, s:s?, s:b}",
		    "issuer", dbq_col_text(cq, 1),
		    "serial", dbq_col_text(cq, 2),
		    "subject", dbq_col_text(cq, 3),
		    "type", dbq_col_text(cq, 4),
		    "status", dbq_col_text(cq, 5),
		    "person_id", dbq_col_text(cq, 9),
		    "org_id", dbq_col_text(cq, 10),
		    "token", dbq_col_text(cq, 11),
		    "qscd", (int)dbq_col_int(cq, 12),
		    "not_before", admin_iso_json(cq, 13, t[0]),
		    "not_after", admin_iso_json(cq, 14, t[1]),
		    "term_years", (json_int_t)dbq_col_int(cq, 15),
		    "status_at", admin_iso_json(cq, 16, t[2]),
		    "suspended_at", admin_iso_json(cq, 17, t[3]),
		    "suspended_until", admin_iso_json(cq, 18, t[4]),
		    "reason", dbq_col_text(cq, 19),
		    "aki", dbq_col_text(cq, 20),
		    "sha256", dbq_col_text(&q, 0),
		    "pem", dbq_col_text(&q, 1),
		    "created_at", admin_iso_json(&q, 2, t[5]),
		    "passphrase_set", own);
	if ((e = dbq_end(&q)) != RP_OK) {
		json_decref(o);
		return e;
	}
	return admin_push(arr, o);
}

/* export: the certificates. */
static enum rp_err
export_certs(struct admin *a, json_t *arr)
{
	struct dbq	 q;

	dbq_start(&q, a->db, DB_CERTS_ALL);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = export_cert(a, &q, arr);
	return dbq_end(&q);
}

/* export: the staff accounts. */
static enum rp_err
export_staff(struct admin *a, json_t *arr)
{
	struct dbq	 q;
	char		 t1[32];

	dbq_start(&q, a->db, DB_STAFF_ALL);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = admin_push(arr, json_pack("{s:s?, s:s?, s:s?, s:s?, "
		    "s:b, s:s?}", "name", dbq_col_text(&q, 1), "sha256",
		    dbq_col_text(&q, 2), "subject", dbq_col_text(&q, 3),
		    "roles", dbq_col_text(&q, 4), "active",
		    (int)dbq_col_int(&q, 5), "created_at",
		    admin_iso_json(&q, 6, t1)));
	return dbq_end(&q);
}

/*
 * export: the serials and approvals (never their signatures) of request
 * row id, into o.
 */
static enum rp_err
export_req_parts(struct admin *a, int64_t id, json_t *o)
{
	struct dbq	 q;
	json_t		*certs, *apps;
	char		 t1[32];

	if ((certs = json_array()) == NULL ||
	    json_object_set_new(o, "certificates", certs) != 0 ||
	    (apps = json_array()) == NULL ||
	    json_object_set_new(o, "approvals", apps) != 0)
		return RP_ERR_NOMEM;
	dbq_start(&q, a->db, DB_CERTS_OF_REQUEST);
	dbq_int(&q, id);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = admin_push(certs, json_pack("{s:s?, s:s?}", "issuer",
		    dbq_col_text(&q, 1), "serial", dbq_col_text(&q, 2)));
	if (dbq_end(&q) != RP_OK)
		return q.err;
	dbq_start(&q, a->db, DB_APPROVALS_OF);
	dbq_int(&q, id);
	while (q.err == RP_OK && dbq_step(&q))
		q.err = admin_push(apps, json_pack("{s:s?, s:s?, s:I, s:I, "
		    "s:s?, s:s?}", "person_id", dbq_col_text(&q, 1),
		    "person_name", dbq_col_text(&q, 2), "staff_id",
		    (json_int_t)dbq_col_int(&q, 3), "roles",
		    (json_int_t)dbq_col_int(&q, 4), "signer_sha256",
		    dbq_col_text(&q, 5), "approved_at",
		    admin_iso_json(&q, 6, t1)));
	return dbq_end(&q);
}

/* export: every request. */
static enum rp_err
export_requests(struct admin *a, json_t *arr)
{
	struct dbq	 q;
	json_t		*o;
	char		 t[5][32];

	dbq_start(&q, a->db, DB_REQ_LIST);
	dbq_null(&q);
	dbq_null(&q);
	dbq_int(&q, -1);	/* no limit */
	while (q.err == RP_OK && dbq_step(&q)) {
		o = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, "
		    "s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:s?, s:s?, s:s?, "
		    "s:s?}",
		    "request_id", dbq_col_text(&q, 1),
		    "action", dbq_col_text(&q, 2),
		    "reason", dbq_col_text(&q, 3),
		    "channel", dbq_col_text(&q, 4),
		    "auth_method", dbq_col_text(&q, 5),
		    "state", dbq_col_text(&q, 6),
		    "requester", dbq_col_text(&q, 7),
		    "received_at", admin_iso_json(&q, 10, t[0]),
		    "due_at", admin_iso_json(&q, 11, t[1]),
		    "approval_expires_at", admin_iso_json(&q, 12, t[2]),
		    "completed_at", admin_iso_json(&q, 13, t[3]),
		    "updated_at", admin_iso_json(&q, 14, t[4]),
		    "need", (json_int_t)dbq_col_int(&q, 15),
		    "call_reference", dbq_col_text(&q, 16),
		    "caller_name", dbq_col_text(&q, 17),
		    "notes", dbq_col_text(&q, 18),
		    "outcome", dbq_col_text(&q, 19));
		if (o == NULL) {
			q.err = RP_ERR_INTERNAL;
			break;
		}
		if ((q.err = export_req_parts(a, dbq_col_int(&q, 0), o)) !=
		    RP_OK) {
			json_decref(o);
			break;
		}
		q.err = admin_push(arr, o);
	}
	return dbq_end(&q);
}

/*
 * export --json: the registry and the requests as one JSON document
 * read in one transaction; never a passphrase hash or a signature.
 */
static int
cmd_export(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char	*key;
		enum rp_err	(*fn)(struct admin *, json_t *);
	} parts[] = {
		{ "organisations", export_orgs },
		{ "persons", export_persons },
		{ "legal_reps", export_reps },
		{ "tokens", export_tokens },
		{ "certificates", export_certs },
		{ "staff", export_staff },
		{ "requests", export_requests },
	};
	json_t		*root = NULL, *arr;
	char		 at[32];
	size_t		 i;
	int		 ch, rc, json = 0;
	enum rp_err	 e;

	optind = 0;
	while ((ch = admin_opt(c, argc, argv, lo, &rc)) > 0) {
		switch (ch) {
		case OPT_JSON:
			json = 1;
			break;
		default:
			abort();	/* not in lo */
		}
	}
	if (ch == -1)
		return rc;
	if (!json)
		return admin_usage_err(c, "--json is required (the only "
		    "format)");
	if ((rc = admin_open(a)) != 0)
		return rc;
	rc = EXIT_FAIL;
	/*
	 * One snapshot of every table, taken with a deferred BEGIN: in WAL
	 * mode it neither waits for the portal's writers nor holds them up.
	 */
	if ((e = db_begin_read(a->db)) != RP_OK) {
		admin_err("cannot start a transaction (%s)", rp_err_name(e));
		goto out;
	}
	rp_time_format(a->now, at);
	if ((root = json_pack("{s:s, s:s, s:i}", "format", "revportal-export/1",
	    "exported_at", at, "schema_version",
	    db_schema_version(a->db))) == NULL) {
		db_rollback(a->db);
		admin_err("out of memory");
		goto out;
	}
	e = RP_OK;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if ((arr = json_array()) == NULL ||
		    json_object_set_new(root, parts[i].key, arr) != 0) {
			e = RP_ERR_NOMEM;
			break;
		}
		if ((e = parts[i].fn(a, arr)) != RP_OK)
			break;
	}
	db_rollback(a->db);
	if (e != RP_OK) {
		admin_err("cannot export the %s (%s)", parts[i].key,
		    e == RP_ERR_INTERNAL ? "a value that is not UTF-8 text, "
		    "or a database error" : rp_err_name(e));
		goto out;
	}
	if (json_dumpf(root, stdout, JSON_INDENT(2)) != 0 ||
	    fputc('\n', stdout) == EOF) {
		admin_err("cannot write the output");
		goto out;
	}
	rc = EXIT_OK;
out:
	json_decref(root);
	return rc;
}

/*
 * sweep: lc_sweep() at the tool's time, and its report; then the
 * passphrase rate-limit windows that ended are deleted (pf_sweep()),
 * and the e-mail sent or given up more than MAIL_KEEP_DAYS ago
 * (mail_purge()).
 */
static int
cmd_sweep(struct admin *a, const struct cmd *c, int argc, char **argv)
{
	struct lc_sweep_report	 rep;
	struct rp_errinfo	 ei;
	enum rp_err		 e;
	unsigned int		 windows = 0, mails = 0;
	int			 rc, logged = 0;

	if (admin_noopts(c, argc, argv, &rc) == -1)
		return rc;
	if ((rc = admin_open(a)) != 0)
		return rc;
	memset(&ei, 0, sizeof(ei));
	memset(&rep, 0, sizeof(rep));
	if ((e = lc_sweep(a->db, &a->cfg.policy, a->now, &rep, &ei)) !=
	    RP_OK)
		return admin_err("sweep: %s (%s)", ei.msg, rp_err_name(e));
	/* Committed by lc_sweep(): the report can only come after. */
	if (rep.suspensions_ended > 0 || rep.approvals_expired > 0)
		a->committed = 1;
	/* The passphrase rate-limit windows that ended. */
	if ((e = pf_sweep(a->db, &a->cfg, a->now, &windows, &ei)) != RP_OK)
		return admin_err("sweep: %s (%s)", ei.msg, rp_err_name(e));
	if (windows > 0)
		a->committed = 1;
	/* Old e-mail: personal data kept no longer than needed. */
	if ((e = mail_purge(a->db, a->now, &mails, &ei)) != RP_OK)
		return admin_err("sweep: %s (%s)", ei.msg, rp_err_name(e));
	if (mails > 0) {
		a->committed = 1;
		rplog(RPLOG_INFO, "mail_purged", "deleted=%u keep_days=%d",
		    mails, MAIL_KEEP_DAYS);
	}
	/* The audit head, logged when it moved: an anchor outside the
	 * database for audit-verify --anchor. */
	if ((e = audit_anchor(a->db, &logged, &ei)) != RP_OK)
		return admin_err("sweep: %s (%s)", ei.msg, rp_err_name(e));
	if (logged)
		a->committed = 1;
	/* A quiet minute is not logged: the timer runs 1440 times a day. */
	if (rep.suspensions_ended > 0 || rep.approvals_expired > 0 ||
	    rep.overdue > 0)
		rplog(rep.overdue > 0 ? RPLOG_WARN : RPLOG_INFO, "sweep",
		    "suspensions_ended=%u approvals_expired=%u overdue=%u",
		    rep.suspensions_ended, rep.approvals_expired,
		    rep.overdue);
	printf("suspensions_ended=%u approvals_expired=%u overdue=%u\n",
	    rep.suspensions_ended, rep.approvals_expired, rep.overdue);
	return EXIT_OK;
}

/* At most this many --anchor options to audit-verify. */
#define ADMIN_ANCHORS_MAX	16

/*
 * Reads an anchor "SEQ:HASH" (a sequence number from 1 and 64
 * lower-case hex digits, as the sweep logs them) into *seq and hash.
 * Returns 0, or -1 when s is not one.
 */
static int
admin_anchor_parse(const char *s, long long *seq, char hash[65])
{
	const char	*colon;
	char		 num[24];
	size_t		 i, len;

	if ((colon = strchr(s, ':')) == NULL ||
	    (len = (size_t)(colon - s)) == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (admin_num(num, 1, 0x7fffffffffffffffLL, seq) == -1)
		return -1;
	colon++;
	if (strlen(colon) != 64)
		return -1;
	for (i = 0; i < 64; i++)
		if (!((colon[i] >= '0' && colon[i] <= '9') ||
		    (colon[i] >= 'a' && colon[i] <= 'f')))
			return -1;
	memcpy(hash, colon, 65);
	return 0;
}

/*
 * audit-verify: checks the chain, and each --anchor; exit 1 names the
 * first broken sequence number or the anchor the log no longer holds.
 */
static int
cmd_audit_verify(struct admin *a, const struct cmd *c, int argc,
    char **argv)
{
	static const struct option lo[] = {
		{ "anchor", required_argument, NULL, OPT_ANCHOR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rp_errinfo	 ei;
	char			 head[65], hash[65];
	char			 want[ADMIN_ANCHORS_MAX][65];
	long long		 seq[ADMIN_ANCHORS_MAX];
	int64_t			 count = 0, bad = 0;
	size_t			 n = 0, i;
	enum rp_err		 e;
	int			 ch, rc;

	optind = 0;
	while ((ch = admin_opt(c, argc, argv, lo, &rc)) > 0) {
		if (ch != OPT_ANCHOR)
			abort();	/* not in lo */
		if (n == ADMIN_ANCHORS_MAX)
			return admin_usage_err(c, "--anchor: at most %d",
			    ADMIN_ANCHORS_MAX);
		if (admin_anchor_parse(optarg, &seq[n], want[n]) == -1)
			return admin_usage_err(c, "--anchor: SEQ:HASH, a "
			    "sequence number and 64 lower-case hex digits");
		n++;
	}
	if (ch == -1)
		return rc;
	if ((rc = admin_open(a)) != 0)
		return rc;
	memset(&ei, 0, sizeof(ei));
	head[0] = '\0';
	e = audit_verify(a->db, &count, &bad, head, &ei);
	if (e == RP_OK) {
		/* The chain is intact, so stored hashes are the true ones. */
		for (i = 0; i < n; i++) {
			e = audit_hash_at(a->db, seq[i], hash);
			if (e != RP_OK && e != RP_ERR_NOT_FOUND)
				return admin_err("cannot read the audit log "
				    "(%s)", rp_err_name(e));
			if (e == RP_ERR_NOT_FOUND ||
			    strcmp(hash, want[i]) != 0) {
				printf("audit log does not hold entry %lld as "
				    "anchored: cut short or rewritten\n",
				    seq[i]);
				return EXIT_FAIL;
			}
		}
		printf("audit chain intact: %lld entries, head %s\n",
		    (long long)count, head);
		return EXIT_OK;
	}
	if (e == RP_ERR_CONFLICT) {
		printf("audit chain broken at sequence %lld\n",
		    (long long)bad);
		return EXIT_FAIL;
	}
	return admin_err("cannot check the audit log: %s (%s)", ei.msg,
	    rp_err_name(e));
}


/*
 * Sets a->actor to "admin:<login name of the effective user>", or
 * "admin:uid<N>" when the user has no name.
 */
static void
admin_actor(struct admin *a)
{
	struct passwd	*pw;
	int		 n = -1;

	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name != NULL &&
	    pw->pw_name[0] != '\0')
		n = snprintf(a->actor, sizeof(a->actor), "admin:%s",
		    pw->pw_name);
	if (n < 0 || (size_t)n >= sizeof(a->actor))
		(void)snprintf(a->actor, sizeof(a->actor), "admin:uid%lu",
		    (unsigned long)geteuid());
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
#ifdef RP_TESTING
		{ "now", required_argument, NULL, OPT_NOW },
#endif
		{ NULL, 0, NULL, 0 },
	};
	struct admin		 a;
	const struct cmd	*c;
	int			 ch, rc;
	size_t			 i;

	memset(&a, 0, sizeof(a));
	a.cfgpath = ADMIN_CONFIG;
	a.now = rp_now_ms();
	opterr = 0;
	/* "+": the options before the command are the tool's own. */
	while ((ch = getopt_long(argc, argv, "+:c:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a.cfgpath = optarg;
			break;
		case 'h':
			admin_usage(stdout);
			return EXIT_OK;
#ifdef RP_TESTING
		case OPT_NOW:
			if (admin_time(optarg, &a.now) == -1)
				return admin_usage_err(NULL, "--now: not an "
				    "ISO 8601 UTC time");
			break;
#endif
		default:
			return admin_badopt(NULL, ch, argv);
		}
	}
	if (optind >= argc)
		return admin_usage_err(NULL, "no command");
	if (strcmp(argv[optind], "help") == 0) {
		admin_usage(stdout);
		return EXIT_OK;
	}
	for (i = 0, c = NULL; cmds[i].name != NULL; i++)
		if (strcmp(cmds[i].name, argv[optind]) == 0)
			c = &cmds[i];
	if (c == NULL)
		return admin_usage_err(NULL, "unknown command \"%s\"",
		    argv[optind]);

	/* Files it creates (the database) are the service's alone. */
	(void)umask(077);
	admin_actor(&a);

	rc = c->fn(&a, c, argc - optind, argv + optind);
	db_close(a.db);
	/*
	 * Commands write their report before they commit (admin_commit());
	 * those that cannot (init, sweep) say that the change was made.  A
	 * command that failed has said why already.
	 */
	if ((fflush(stdout) == EOF || ferror(stdout)) && rc == EXIT_OK) {
		(void)admin_err(a.committed ? "committed, but could not write "
		    "the report" : "cannot write the output");
		rc = EXIT_FAIL;
	}
	return rc;
}
