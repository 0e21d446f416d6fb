/*
 * Unit tests of conf.c: defaults, the INI file and the instance secret.
 * Files are made in a mkdtemp() directory that each test removes.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "unit.h"

struct tdir {
	char	 dir[64];
	char	 path[256];	/* the file of the last tdir_write() */
};

static int
setup(void **state)
{
	struct tdir	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	(void)snprintf(t->dir, sizeof(t->dir), "/tmp/rp-conf-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tdir	*t = *state;
	DIR		*d;
	struct dirent	*de;
	char		 p[512];
	int		 rc = 0;

	if ((d = opendir(t->dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(p, sizeof(p), "%s/%s", t->dir, de->d_name);
		if (unlink(p) == -1 && rmdir(p) == -1)
			rc = -1;
	}
	(void)closedir(d);
	if (rmdir(t->dir) == -1)
		rc = -1;
	free(t);
	return rc;
}

/* Writes len bytes of s to t->dir/name with mode; t->path names it. */
static const char *
tdir_writen(struct tdir *t, const char *name, const void *s, size_t len,
    mode_t mode)
{
	int	 fd;

	assert_true((size_t)snprintf(t->path, sizeof(t->path), "%s/%s",
	    t->dir, name) < sizeof(t->path));
	(void)unlink(t->path);
	fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd != -1);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(t->path, mode), 0);
	return t->path;
}

static const char *
tdir_write(struct tdir *t, const char *s)
{
	return tdir_writen(t, "test.ini", s, strlen(s), 0644);
}

/*
 * The defaults with db_dir pointing at the repository's db/ (the tests
 * run from the top of the repository), which holds policy.ini.
 */
static void
base_defaults(struct config *cfg)
{
	conf_defaults(cfg);
	assert_true((size_t)snprintf(cfg->db_dir, sizeof(cfg->db_dir), "db") <
	    sizeof(cfg->db_dir));
}

/* Loads text as a file; returns the result, err gets the message. */
static enum rp_err
load_text(struct tdir *t, struct config *cfg, const char *text, char *err,
    size_t errlen)
{
	base_defaults(cfg);
	return conf_load(cfg, tdir_write(t, text), err, errlen);
}

/* Expects text to fail with exactly "<path>:<msg>". */
static void
expect_fail(struct tdir *t, const char *text, const char *msg)
{
	struct config	 cfg, def;
	char		 err[512], want[512];

	base_defaults(&def);
	memset(err, 'x', sizeof(err));
	assert_int_equal(load_text(t, &cfg, text, err, sizeof(err)),
	    RP_ERR_BAD_INPUT);
	(void)snprintf(want, sizeof(want), "%s:%s", t->path, msg);
	assert_string_equal(err, want);
	/* A failed load leaves the configuration untouched. */
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

static void
test_defaults(void **state)
{
	struct config	 cfg;
	struct policy	 pol;

	(void)state;
	memset(&cfg, 0x55, sizeof(cfg));
	conf_defaults(&cfg);
	assert_string_equal(cfg.socket, "/run/revportal/fcgi.sock");
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.backlog, 128);
	assert_string_equal(cfg.database, "/var/lib/revportal/revportal.db");
	assert_string_equal(cfg.db_dir, "/usr/share/revportal/db");
	assert_string_equal(cfg.templates, "/usr/share/revportal/templates");
	assert_string_equal(cfg.secret_file, "/var/lib/revportal/secret.key");
	assert_int_equal(cfg.max_body, 262144);
	assert_string_equal(cfg.site_name, "revportal");
	assert_string_equal(cfg.portal_url, "https://127.0.0.1:8443");
	assert_string_equal(cfg.hotline, "+386 1 234 56 78");
	assert_int_equal(cfg.hsts_max_age, 31536000);
	assert_int_equal(cfg.csrf_ttl, 7200);
	assert_int_equal(cfg.busy_timeout_ms, 5000);
	assert_int_equal(cfg.log_level, RPLOG_INFO);
	assert_int_equal(cfg.argon2_m_kib, 19456);
	assert_int_equal(cfg.argon2_t, 2);
	assert_int_equal(cfg.argon2_p, 1);
	assert_int_equal(cfg.argon2_floor_ms, 0);	/* automatic */
	assert_string_equal(cfg.policy_file, "");
	policy_defaults(&pol);
	assert_memory_equal(&cfg.policy, &pol, sizeof(pol));
	assert_int_equal(cfg.secret[0] | cfg.secret[RP_SECRET_LEN - 1], 0);
}

static void
test_full_file(void **state)
{
	struct config	 cfg;
	char		 err[512];

	assert_int_equal(load_text(*state, &cfg,
	    "; every key, none at its default\n"
	    "[server]\n"
	    "socket = /tmp/rp.sock\n"
	    "workers = 64\n"
	    "backlog = 1\n"
	    "[paths]\n"
	    "database = /srv/rp/rp.db\n"
	    "db_dir = db\n"
	    "templates = /srv/rp/templates\n"
	    "secret_file = /srv/rp/secret\n"
	    "policy_file = db/policy.ini\n"
	    "[limits]\n"
	    "max_body = 1024\n"
	    "[site]\n"
	    "site_name = Preklic potrdil \xc4\x8d\n"
	    "portal_url = https://revoke.example.si:8443\n"
	    "hotline = +386 (0)1 234-56/78\n"
	    "[security]\n"
	    "hsts_max_age = 0\n"
	    "csrf_ttl = 86400\n"
	    "[database]\n"
	    "busy_timeout_ms = 60000\n"
	    "[log]\n"
	    "level = debug ; inline comment\n"
	    "[relay]\n"
	    "; a lease must outlast the busy timeout too\n"
	    "lease_seconds = 82\n", err, sizeof(err)), RP_OK);
	assert_string_equal(err, "");
	assert_string_equal(cfg.socket, "/tmp/rp.sock");
	assert_int_equal(cfg.workers, 64);
	assert_int_equal(cfg.backlog, 1);
	assert_string_equal(cfg.database, "/srv/rp/rp.db");
	assert_string_equal(cfg.db_dir, "db");
	assert_string_equal(cfg.templates, "/srv/rp/templates");
	assert_string_equal(cfg.secret_file, "/srv/rp/secret");
	assert_string_equal(cfg.policy_file, "db/policy.ini");
	assert_int_equal(cfg.max_body, 1024);
	assert_string_equal(cfg.site_name, "Preklic potrdil \xc4\x8d");
	assert_string_equal(cfg.portal_url,
	    "https://revoke.example.si:8443");
	assert_string_equal(cfg.hotline, "+386 (0)1 234-56/78");
	assert_int_equal(cfg.hsts_max_age, 0);
	assert_int_equal(cfg.csrf_ttl, 86400);
	assert_int_equal(cfg.busy_timeout_ms, 60000);
	assert_int_equal(cfg.log_level, RPLOG_DEBUG);
}

/* A file that sets only some keys keeps the rest; CRLF lines are fine. */
static void
test_partial_crlf(void **state)
{
	struct config	 cfg, def;
	char		 err[512];

	assert_int_equal(load_text(*state, &cfg,
	    "\xef\xbb\xbf[log]\r\nlevel = error\r\n\r\n[server]\r\n"
	    "  ; indented comment\r\nworkers=2\r\n", err, sizeof(err)),
	    RP_OK);
	assert_int_equal(cfg.log_level, RPLOG_ERROR);
	assert_int_equal(cfg.workers, 2);
	base_defaults(&def);
	def.log_level = RPLOG_ERROR;
	def.workers = 2;
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

struct badval {
	const char	*section;
	const char	*key;
	const char	*value;
	const char	*why;
};

#define NUM(lo, hi)	"must be a number from " #lo " to " #hi
#define SIZE_MSG	"must be a size from 1024 to 8388608 bytes " \
			"(K and M suffixes allowed)"
#define URL_CHARS	"must not contain spaces, control characters, " \
			"quotes, angle brackets or backslashes"
#define PHONE_CHARS	"may hold only digits, spaces and + - ( ) /"
#define YESNO		"must be yes or no"
#define TYPE_NEVER(t)	t " certificates are never suspended " \
			"(CA/Browser Forum BR 4.9.13)"
#define TYPE_EMPTY	"has an empty item (write none for no type)"
#define SUB_REASONS	"unspecified, keyCompromise, affiliationChanged, " \
			"superseded, cessationOfOperation"
#define SIGNERS_MSG	"must be one of subject, legal_rep, " \
			"subject|legal_rep, subject+legal_rep, none"
#define BACKEND_MSG	"must be cfssl or ejbca"
#define CA_SCHEME	"must start with https:// (or http://)"
#define CA_PORT		"must have a port from 1 to 65535 after the host"
#define RESP_MSG	"must be a size from 1024 to 16777216 bytes " \
			"(K and M suffixes allowed)"
#define A43		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG129		A43 A43 A43

static const struct badval badvals[] = {
	{ "server", "socket", "", "must not be empty" },
	{ "server", "socket", "/run/a\x01z", "must not contain control "
	    "characters" },
	{ "server", "workers", "0", NUM(1, 64) },
	{ "server", "workers", "65", NUM(1, 64) },
	{ "server", "workers", "four", NUM(1, 64) },
	{ "server", "workers", "-1", NUM(1, 64) },
	{ "server", "workers", "+4", NUM(1, 64) },
	{ "server", "workers", "4x", NUM(1, 64) },
	{ "server", "workers", "4K", NUM(1, 64) },
	{ "server", "workers", "", NUM(1, 64) },
	{ "server", "workers", "99999999999999999999999", NUM(1, 64) },
	{ "server", "workers", "18446744073709551617", NUM(1, 64) },
	{ "server", "backlog", "0", NUM(1, 4096) },
	{ "server", "backlog", "4097", NUM(1, 4096) },
	{ "paths", "database", "", "must not be empty" },
	{ "paths", "db_dir", "", "must not be empty" },
	{ "paths", "templates", "/x\x7f", "must not contain control "
	    "characters" },
	{ "paths", "secret_file", "", "must not be empty" },
	{ "paths", "secret_file", "a\tb", "must not contain control "
	    "characters" },
	{ "limits", "max_body", "1023", SIZE_MSG },
	{ "limits", "max_body", "8388609", SIZE_MSG },
	{ "limits", "max_body", "8193K", SIZE_MSG },
	{ "limits", "max_body", "9M", SIZE_MSG },
	{ "limits", "max_body", "1G", SIZE_MSG },
	{ "limits", "max_body", "1.5M", SIZE_MSG },
	{ "limits", "max_body", "K", SIZE_MSG },
	{ "limits", "max_body", "1MM", SIZE_MSG },
	{ "limits", "max_body", "18014398509481984K", SIZE_MSG },
	{ "site", "site_name", "", "must not be empty" },
	{ "site", "site_name", "\x1b[31mred", "must be printable UTF-8 text" },
	{ "site", "site_name", "bad \xff byte", "must be printable UTF-8 "
	    "text" },
	{ "site", "site_name", LONG129, "is too long (at most 127 bytes)" },
	{ "site", "portal_url", "", "must not be empty" },
	{ "site", "portal_url", "http://example.si", "must start with "
	    "https://" },
	{ "site", "portal_url", "HTTPS://example.si", "must start with "
	    "https://" },
	{ "site", "portal_url", "https://", "must name a host after "
	    "https://" },
	{ "site", "portal_url", "https:///x", "must name a host after "
	    "https://" },
	{ "site", "portal_url", "https://example.si/", "must not end with a "
	    "slash" },
	{ "site", "portal_url", "https://exa mple.si", URL_CHARS },
	{ "site", "portal_url", "https://x.si/portal", "must be only https:// "
	    "and the host (and port), no path" },
	{ "site", "portal_url", "https://x.si?a", "must be only https:// "
	    "and the host (and port), no path" },
	{ "site", "portal_url", "https://u@x.si", "must not hold a user name" },
	{ "site", "portal_url", "https://Revoke.X.si", "must be written in "
	    "lower case" },
	{ "site", "portal_url", "https://x.si:443", "must leave out the "
	    "default port :443" },
	{ "site", "portal_url", "https://x.si/\"><script>", URL_CHARS },
	{ "site", "portal_url", "https://x.si/\x01", URL_CHARS },
	{ "site", "portal_url", "https://x.si/\xc4\x8d", URL_CHARS },
	{ "site", "hotline", "", "must not be empty" },
	{ "site", "hotline", "call 112", PHONE_CHARS },
	{ "site", "hotline", "+386 1 234 56 78 ext. 9", PHONE_CHARS },
	{ "site", "hotline", "() / -", "must hold a digit" },
	{ "site", "hotline", "123456789012345678901234567890123456789012"
	    "3456789012345678901234", "is too long (at most 63 bytes)" },
	{ "security", "hsts_max_age", "63072001", NUM(0, 63072000) },
	{ "security", "hsts_max_age", "-1", NUM(0, 63072000) },
	{ "security", "hsts_max_age", "1y", NUM(0, 63072000) },
	{ "security", "csrf_ttl", "59", NUM(60, 86400) },
	{ "security", "csrf_ttl", "86401", NUM(60, 86400) },
	{ "database", "busy_timeout_ms", "60001", NUM(100, 60000) },
	{ "database", "busy_timeout_ms", "5s", NUM(100, 60000) },
	{ "database", "busy_timeout_ms", "0", NUM(100, 60000) },
	{ "database", "busy_timeout_ms", "99", NUM(100, 60000) },
	{ "log", "level", "verbose", "must be one of debug, info, warn, "
	    "error" },
	{ "log", "level", "INFO", "must be one of debug, info, warn, "
	    "error" },
	{ "log", "level", "", "must be one of debug, info, warn, error" },
	{ "paths", "policy_file", "/etc/p\x01", "must not contain control "
	    "characters" },
	{ "policy.suspend", "types", "tls", TYPE_NEVER("tls") },
	{ "policy.suspend", "types", "personal, qwac", TYPE_NEVER("qwac") },
	{ "policy.suspend", "types", "robot", "robot is not a certificate "
	    "type (personal, business, application, eseal; or none)" },
	{ "policy.suspend", "types", "Personal", "Personal is not a "
	    "certificate type (personal, business, application, eseal; or "
	    "none)" },
	{ "policy.suspend", "types", "personal,,eseal", TYPE_EMPTY },
	{ "policy.suspend", "types", "personal,", TYPE_EMPTY },
	{ "policy.suspend", "types", "", TYPE_EMPTY },
	{ "policy.suspend", "types", "none, personal", "none must stand "
	    "alone" },
	{ "policy.suspend", "types", "personal,none", "none must stand "
	    "alone" },
	{ "policy.suspend", "types", "eseal, eseal", "names eseal twice" },
	{ "policy.suspend", "max_days", "0", NUM(1, 365) },
	{ "policy.suspend", "max_days", "366", NUM(1, 365) },
	{ "policy.suspend", "end_action", "reactivate", "must be revoke or "
	    "reinstate" },
	{ "policy.suspend", "end_action", "", "must be revoke or reinstate" },
	{ "policy.passphrase", "online_suspend", "true", YESNO },
	{ "policy.passphrase", "online_revoke", "1", YESNO },
	{ "policy.passphrase", "online_revoke", "Yes", YESNO },
	{ "policy.passphrase", "max_failures", "0", NUM(1, 20) },
	{ "policy.passphrase", "max_failures", "21", NUM(1, 20) },
	{ "policy.passphrase", "revoke_unsuspendable", "on", YESNO },
	{ "policy.passphrase", "revoke_unsuspendable", "", YESNO },
	{ "policy.hotline", "suspend", "", YESNO },
	{ "policy.hotline", "passphrase_action", "reactivate", "must be "
	    "revoke or suspend" },
	{ "policy.hotline", "passphrase_action", "recover", "must be revoke "
	    "or suspend" },
	{ "policy.hotline", "passphrase_action", "reinstate", "must be "
	    "revoke or suspend" },
	{ "policy.hotline", "revoke_reasons", "keyCompromise", "must name "
	    "unspecified (the reason when none is given)" },
	{ "policy.hotline", "revoke_reasons", "unspecified, certificateHold",
	    "certificateHold is never a chosen reason: suspension and "
	    "reactivation set it" },
	{ "policy.hotline", "revoke_reasons", "unspecified, "
	    "privilegeWithdrawn", "privilegeWithdrawn is not allowed here "
	    "(only " SUB_REASONS ")" },
	{ "policy.hotline", "revoke_reasons", "unspecified, cACompromise",
	    "cACompromise is not allowed here (only " SUB_REASONS ")" },
	{ "policy.hotline", "revoke_reasons", "unspecified, theft",
	    "theft is not an RFC 5280 reason name" },
	{ "policy.hotline", "revoke_reasons", "keyCompromise, unspecified, "
	    "keyCompromise", "names keyCompromise twice" },
	{ "policy.hotline", "revoke_reasons", "unspecified,,keyCompromise",
	    "has an empty item" },
	{ "policy.hotline", "revoke_reasons", "", "has an empty item" },
	{ "policy.recover", "term_years", "0", NUM(1, 10) },
	{ "policy.recover", "term_years", "11", NUM(1, 10) },
	{ "policy.recover", "window_months", "0", NUM(1, 120) },
	{ "policy.recover", "window_months", "121", NUM(1, 120) },
	{ "policy.recover", "renewal_days", "366", NUM(0, 365) },
	{ "policy.recover", "renewal_days", "-1", NUM(0, 365) },
	{ "policy.approval", "expiry_hours", "0", NUM(1, 720) },
	{ "policy.approval", "expiry_hours", "721", NUM(1, 720) },
	{ "policy.time", "due_minutes", "0", NUM(1, 1440) },
	{ "policy.time", "due_minutes", "1441", NUM(1, 1440) },
	{ "policy.reasons", "subscriber", "keyCompromise", "must name "
	    "unspecified (the reason when none is given)" },
	{ "policy.reasons", "subscriber", "unspecified, certificateHold",
	    "certificateHold is never a chosen reason: suspension and "
	    "reactivation set it" },
	{ "policy.reasons", "tls", "removeFromCRL,unspecified",
	    "removeFromCRL is never a chosen reason: suspension and "
	    "reactivation set it" },
	{ "policy.reasons", "subscriber", "unspecified, privilegeWithdrawn",
	    "privilegeWithdrawn is not allowed here (only " SUB_REASONS ")" },
	{ "policy.reasons", "staff", "unspecified, cACompromise",
	    "cACompromise is not allowed here (only " SUB_REASONS
	    ", privilegeWithdrawn)" },
	{ "policy.reasons", "tls", "unspecified, aACompromise",
	    "aACompromise is not allowed here (only " SUB_REASONS
	    ", privilegeWithdrawn)" },
	{ "policy.reasons", "staff", "unspecified, keycompromise",
	    "keycompromise is not an RFC 5280 reason name" },
	{ "policy.reasons", "staff", "0", "0 is not an RFC 5280 reason "
	    "name" },
	{ "policy.reasons", "staff", "unspecified, unspecified",
	    "names unspecified twice" },
	{ "policy.reasons", "staff", "unspecified,", "has an empty item" },
	{ "policy.reasons", "staff", "", "has an empty item" },
	{ "policy.signers", "personal.revoke_suspend", "none", "must not be "
	    "none: every certificate can be revoked (EN 319 411-1)" },
	{ "policy.signers", "tls.revoke_suspend", "none", "must not be "
	    "none: every certificate can be revoked (EN 319 411-1)" },
	{ "policy.signers", "business.reactivate", "subject or legal_rep",
	    SIGNERS_MSG },
	{ "policy.signers", "business.reactivate", "subject + legal_rep",
	    SIGNERS_MSG },
	{ "policy.signers", "business.reactivate", "Subject", SIGNERS_MSG },
	{ "policy.signers", "business.reactivate", "", SIGNERS_MSG },
	{ "policy.signers", "eseal.recover", "legal_rep|subject",
	    SIGNERS_MSG },
	{ "policy.fees", "revoke", "1", YESNO },
	{ "policy.fees", "recover", "free", YESNO },
	/* [relay] */
	{ "relay", "socket", "", "must not be empty" },
	{ "relay", "backend", "openssl", BACKEND_MSG },
	{ "relay", "backend", "CFSSL", BACKEND_MSG },
	{ "relay", "backend", "", BACKEND_MSG },
	{ "relay", "url", "ftp://ca.example", CA_SCHEME },
	{ "relay", "url", "HTTPS://ca.example", CA_SCHEME },
	{ "relay", "url", "ca.example", CA_SCHEME },
	{ "relay", "url", "https://", "must name a host" },
	{ "relay", "url", "https:///revoke", "must name a host" },
	{ "relay", "url", "https://:8888", "must name a host" },
	{ "relay", "url", "https://[]:8888", "must name a host" },
	{ "relay", "url", "https://ca.example/", "must not end with a slash" },
	{ "relay", "url", "https://ca.example/ejbca/", "must not end with a "
	    "slash" },
	{ "relay", "url", "https://ca.example/a b", URL_CHARS },
	{ "relay", "url", "https://ca.example/\"x", URL_CHARS },
	{ "relay", "url", "https://ca.example/\xc4\x8d", URL_CHARS },
	{ "relay", "url", "https://user:pw@ca.example", "must not hold a user "
	    "name" },
	{ "relay", "url", "https://ca.example?x=1", "must not hold a query "
	    "or a fragment" },
	{ "relay", "url", "https://ca.example/p#f", "must not hold a query "
	    "or a fragment" },
	{ "relay", "url", "https://ca.example:", CA_PORT },
	{ "relay", "url", "https://ca.example:0", CA_PORT },
	{ "relay", "url", "https://ca.example:65536", CA_PORT },
	{ "relay", "url", "https://ca.example:123456", CA_PORT },
	{ "relay", "url", "https://ca.example:8x", CA_PORT },
	{ "relay", "url", "https://ca.example:-1", CA_PORT },
	{ "relay", "url", "https://[::1]x", CA_PORT },
	{ "relay", "ca_file", "/etc/ca\x01.pem", "must not contain control "
	    "characters" },
	{ "relay", "key_file", "/etc/k\tey", "must not contain control "
	    "characters" },
	{ "relay", "metrics_file", "/run/m\x7f", "must not contain control "
	    "characters" },
	{ "relay", "ejbca_ca_name", "", "must not be empty" },
	{ "relay", "ejbca_ca_name", "Q\tCA", "must be printable UTF-8 text" },
	{ "relay", "ejbca_certificate_profile", "\xff",
	    "must be printable UTF-8 text" },
	{ "relay", "ejbca_end_entity_profile", "", "must not be empty" },
	{ "relay", "allow_http", "1", YESNO },
	{ "relay", "allow_http", "", YESNO },
	{ "relay", "connect_timeout_ms", "99", NUM(100, 60000) },
	{ "relay", "connect_timeout_ms", "60001", NUM(100, 60000) },
	{ "relay", "timeout_ms", "999", NUM(1000, 300000) },
	{ "relay", "timeout_ms", "300001", NUM(1000, 300000) },
	{ "relay", "timeout_ms", "10s", NUM(1000, 300000) },
	{ "relay", "max_response", "1023", RESP_MSG },
	{ "relay", "max_response", "17M", RESP_MSG },
	{ "relay", "max_response", "16385K", RESP_MSG },
	{ "relay", "poll_ms", "99", NUM(100, 3600000) },
	{ "relay", "poll_ms", "3600001", NUM(100, 3600000) },
	{ "relay", "lease_seconds", "4", NUM(5, 3600) },
	{ "relay", "lease_seconds", "3601", NUM(5, 3600) },
	{ "relay", "backoff_min_ms", "9", NUM(10, 3600000) },
	{ "relay", "backoff_min_ms", "3600001", NUM(10, 3600000) },
	{ "relay", "backoff_max_ms", "99", NUM(100, 86400000) },
	{ "relay", "backoff_max_ms", "86400001", NUM(100, 86400000) },
	{ "relay", "pending_check_ms", "99", NUM(100, 86400000) },
	{ "relay", "pending_check_ms", "86400001", NUM(100, 86400000) },
	{ "argon2", "answer_floor_ms", "10001", NUM(0, 10000) },
	{ "argon2", "answer_floor_ms", "-1", NUM(0, 10000) },
	{ "argon2", "answer_floor_ms", "1s", NUM(0, 10000) },
	{ "argon2", "answer_floor_ms", "", NUM(0, 10000) },
	{ "argon2", "memory_kib", "19455", NUM(19456, 262144) },
	{ "argon2", "iterations", "11", NUM(2, 10) },
	{ "relay", "pending_max_hours", "0", NUM(1, 8760) },
	{ "relay", "pending_max_hours", "8761", NUM(1, 8760) },
	{ "relay", "pending_max_hours", "-1", NUM(1, 8760) },
};

/* Every key refuses bad and out-of-range values, naming file and line. */
static void
test_bad_values(void **state)
{
	char	 text[512], msg[512];
	size_t	 i;

	for (i = 0; i < sizeof(badvals) / sizeof(badvals[0]); i++) {
		(void)snprintf(text, sizeof(text), "[%s]\n; comment\n"
		    "%s = %s\n", badvals[i].section, badvals[i].key,
		    badvals[i].value);
		(void)snprintf(msg, sizeof(msg), "3: [%s] %s: %s",
		    badvals[i].section, badvals[i].key, badvals[i].why);
		print_message("case %zu: %s\n", i, msg);
		expect_fail(*state, text, msg);
	}
}

/* The edges of each range are accepted. */
static void
test_ranges_edges(void **state)
{
	struct config	 cfg;
	char		 err[512];

	assert_int_equal(load_text(*state, &cfg, "[server]\nworkers = 1\n"
	    "backlog = 4096\n[security]\nhsts_max_age = 63072000\n"
	    "csrf_ttl = 60\n[database]\nbusy_timeout_ms = 100\n[limits]\n"
	    "max_body = 8388608\n[log]\nlevel = warn\n", err, sizeof(err)),
	    RP_OK);
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(cfg.backlog, 4096);
	assert_int_equal(cfg.hsts_max_age, 63072000);
	assert_int_equal(cfg.csrf_ttl, 60);
	assert_int_equal(cfg.busy_timeout_ms, 100);
	assert_int_equal(cfg.max_body, RP_BODY_CEILING);
	assert_int_equal(cfg.log_level, RPLOG_WARN);
	assert_int_equal(load_text(*state, &cfg, "[server]\nworkers = 007\n",
	    err, sizeof(err)), RP_OK);
	assert_int_equal(cfg.workers, 7);
	/* [argon2] answer_floor_ms: 0 (automatic) to 10000. */
	assert_int_equal(load_text(*state, &cfg, "[argon2]\n"
	    "answer_floor_ms = 10000\n", err, sizeof(err)), RP_OK);
	assert_int_equal(cfg.argon2_floor_ms, 10000);
	assert_int_equal(load_text(*state, &cfg, "[argon2]\n"
	    "answer_floor_ms = 0\nmemory_kib = 65536\n", err, sizeof(err)),
	    RP_OK);
	assert_int_equal(cfg.argon2_floor_ms, 0);
	assert_int_equal(cfg.argon2_m_kib, 65536);
}

static void
test_size_suffix(void **state)
{
	static const struct {
		const char	*v;
		size_t		 want;
	} ok[] = {
		{ "512K", 512u * 1024u },
		{ "2k", 2048 },
		{ "1M", 1024u * 1024u },
		{ "8M", RP_BODY_CEILING },
		{ "8192K", RP_BODY_CEILING },
		{ "1K", 1024 },
		{ "4096", 4096 },
	};
	struct config	 cfg;
	char		 text[128], err[512];
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		(void)snprintf(text, sizeof(text), "[limits]\nmax_body = %s\n",
		    ok[i].v);
		assert_int_equal(load_text(*state, &cfg, text, err,
		    sizeof(err)), RP_OK);
		assert_int_equal(cfg.max_body, ok[i].want);
	}
}

static void
test_portal_url_ok(void **state)
{
	static const char *const ok[] = {
		"https://revoke.example.si",
		"https://127.0.0.1:8443",
		"https://[::1]:8443",
		"https://revoke.example.si:4443",
		"https://x",
	};
	struct config	 cfg;
	char		 text[256], err[512];
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		(void)snprintf(text, sizeof(text), "[site]\nportal_url = %s\n",
		    ok[i]);
		assert_int_equal(load_text(*state, &cfg, text, err,
		    sizeof(err)), RP_OK);
		assert_string_equal(cfg.portal_url, ok[i]);
	}
}

static void
test_unknown_section(void **state)
{
	expect_fail(*state, "[server]\nworkers = 2\n[nope]\nx = 1\n",
	    "3: [nope]: unknown section");
	/* An empty unknown section is refused too. */
	expect_fail(*state, "[server]\nworkers = 2\n\n[Server]\n",
	    "4: [Server]: unknown section");
	expect_fail(*state, "[ server ]\nworkers = 2\n",
	    "1: [ server ]: unknown section");
	expect_fail(*state, "[server] junk\nworkers = 2\n",
	    "1: text after the section header");
	expect_fail(*state, "workers = 2\n",
	    "1: workers: key outside any section");
	/* Policy sections only with "policy." in front, and only those. */
	expect_fail(*state, "[suspend]\nmax_days = 2\n",
	    "1: [suspend]: unknown section");
	expect_fail(*state, "[policy.]\nmax_days = 2\n",
	    "1: [policy.]: unknown section");
	expect_fail(*state, "[policy.server]\nworkers = 2\n",
	    "1: [policy.server]: unknown section");
	expect_fail(*state, "[policy.nope]\n",
	    "1: [policy.nope]: unknown section");
	expect_fail(*state, "[policysuspend]\n",
	    "1: [policysuspend]: unknown section");
}

static void
test_unknown_key(void **state)
{
	expect_fail(*state, "[server]\nworkers = 2\nthreads = 4\n",
	    "3: [server] threads: unknown key");
	/* A key of another section is unknown here. */
	expect_fail(*state, "[paths]\nworkers = 2\n",
	    "2: [paths] workers: unknown key");
	expect_fail(*state, "[server]\nWorkers = 2\n",
	    "2: [server] Workers: unknown key");
	expect_fail(*state, "[server]\n= 2\n", "2: [server] : unknown key");
	expect_fail(*state, "[policy.suspend]\ndays = 2\n",
	    "2: [policy.suspend] days: unknown key");
	expect_fail(*state, "[policy.signers]\npersonal.renew = subject\n",
	    "2: [policy.signers] personal.renew: unknown key");
	expect_fail(*state, "[policy.signers]\nrobot.recover = subject\n",
	    "2: [policy.signers] robot.recover: unknown key");
	expect_fail(*state, "[policy.signers]\n.recover = subject\n",
	    "2: [policy.signers] .recover: unknown key");
	expect_fail(*state, "[policy.signers]\npersonal.recover.x = "
	    "subject\n", "2: [policy.signers] personal.recover.x: unknown "
	    "key");
	expect_fail(*state, "[policy.fees]\napprove = yes\n",
	    "2: [policy.fees] approve: unknown key");
	/* A key of another policy section is unknown here. */
	expect_fail(*state, "[policy.hotline]\nmax_days = 2\n",
	    "2: [policy.hotline] max_days: unknown key");
}

static void
test_duplicate_key(void **state)
{
	expect_fail(*state, "[server]\nworkers = 2\n[paths]\ndatabase = /x\n"
	    "[server]\nworkers = 3\n",
	    "6: [server] workers: duplicate key (first set on line 2)");
	/* The same value twice is still a duplicate. */
	expect_fail(*state, "[log]\nlevel = info\nlevel = info\n",
	    "3: [log] level: duplicate key (first set on line 2)");
	/* Table keys: each cell is its own key. */
	expect_fail(*state, "[policy.signers]\npersonal.recover = subject\n"
	    "personal.reactivate = subject\npersonal.recover = subject\n",
	    "4: [policy.signers] personal.recover: duplicate key (first set "
	    "on line 2)");
	expect_fail(*state, "[policy.fees]\nrevoke = yes\nsuspend = yes\n"
	    "revoke = no\n",
	    "4: [policy.fees] revoke: duplicate key (first set on line 2)");
}

static void
test_syntax_error(void **state)
{
	expect_fail(*state, "[server]\nworkers 4\n", "2: syntax error");
	expect_fail(*state, "[server\nworkers = 4\n", "1: syntax error");
	/* The first error wins, syntax or value. */
	expect_fail(*state, "[server]\nbad line\nworkers = 0\n",
	    "2: syntax error");
	expect_fail(*state, "[server]\nworkers = 0\nbad line\n",
	    "2: [server] workers: must be a number from 1 to 64");
	/* Continuation lines would silently join values: refused. */
	expect_fail(*state, "[paths]\ndatabase = /a\n  /b\n",
	    "3: line starts with white space (continuation lines are not "
	    "allowed)");
	expect_fail(*state, "[paths]\n\tdatabase = /a\n",
	    "2: line starts with white space (continuation lines are not "
	    "allowed)");
}

/* libinih would split a long line in two; it is refused instead. */
static void
test_long_line(void **state)
{
	struct config	 cfg;
	char		 text[512], err[512], want[512];
	const char	*path;

	(void)snprintf(text, sizeof(text), "[paths]\ndatabase = /%0250d\n", 0);
	expect_fail(*state, text, "2: line longer than 198 bytes");
	/* 198 bytes and a newline are fine. */
	(void)snprintf(text, sizeof(text), "[paths]\ndatabase = /%0186d\n", 0);
	assert_int_equal(strlen(strchr(text, 'd')), 199);
	assert_int_equal(load_text(*state, &cfg, text, err, sizeof(err)),
	    RP_OK);
	assert_int_equal(strlen(cfg.database), 187);
	/* A NUL byte would hide the rest of the line. */
	base_defaults(&cfg);
	path = tdir_writen(*state, "nul.ini", "[server]\nworkers = 2\0 9\n",
	    24, 0644);
	assert_int_equal(conf_load(&cfg, path, err, sizeof(err)),
	    RP_ERR_BAD_INPUT);
	(void)snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	assert_string_equal(err, want);
}

static void
test_missing_file(void **state)
{
	struct tdir	*t = *state;
	struct config	 cfg, def;
	char		 path[300], err[512], want[512];

	conf_defaults(&cfg);
	conf_defaults(&def);
	(void)snprintf(path, sizeof(path), "%s/none.ini", t->dir);
	assert_int_equal(conf_load(&cfg, path, err, sizeof(err)),
	    RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	/* A directory is not a configuration file. */
	assert_int_equal(conf_load(&cfg, t->dir, err, sizeof(err)),
	    RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "%s: not a regular file", t->dir);
	assert_string_equal(err, want);
	/* Nor is a FIFO, refused at once rather than waited on. */
	(void)snprintf(path, sizeof(path), "%s/fifo.ini", t->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(conf_load(&cfg, path, err, sizeof(err)),
	    RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "%s: not a regular file", path);
	assert_string_equal(err, want);
	assert_int_equal(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/none.ini", t->dir);
	/* A tiny error buffer is cut, not overrun. */
	assert_int_equal(conf_load(&cfg, path, err, 8), RP_ERR_INTERNAL);
	assert_int_equal(strlen(err), 7);
}

/*
 * The shipped example loads and holds exactly the defaults.  Its db_dir
 * is where packages install db/, so a copy points it at the repository's
 * db/ instead; the line is there and is the only change.
 */
static void
test_shipped_ini(void **state)
{
	static const char	 line[] =
	    "\ndb_dir = /usr/share/revportal/db\n";
	struct tdir		*t = *state;
	struct config		 cfg, def;
	struct buf		 b;
	char			 err[512], why[128], *text, *at;
	size_t			 len;

	text = rp_read_file("deploy/revportal.ini", 65536, &len, why,
	    sizeof(why));
	if (text == NULL)
		fail_msg("deploy/revportal.ini: %s", why);
	at = strstr(text, line);
	assert_non_null(at);
	buf_init(&b, 70000);
	assert_int_equal(buf_add(&b, text, (size_t)(at - text)), RP_OK);
	assert_int_equal(buf_adds(&b, "\ndb_dir = db\n"), RP_OK);
	assert_int_equal(buf_adds(&b, at + sizeof(line) - 1), RP_OK);
	free(text);

	base_defaults(&def);
	memset(&cfg, 0, sizeof(cfg));
	conf_defaults(&cfg);
	cfg.workers = 9;	/* must be overwritten by the file */
	if (conf_load(&cfg, tdir_writen(t, "shipped.ini", b.p, b.len, 0644),
	    err, sizeof(err)) != RP_OK)
		fail_msg("%s", err);
	buf_free(&b);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

/* The shipped policy file holds exactly policy_defaults(). */
static void
test_policy_defaults(void **state)
{
	struct config	 cfg;
	struct policy	 pol;
	char		 err[512];

	policy_defaults(&pol);
	/* Through db_dir ... */
	assert_int_equal(load_text(*state, &cfg, "[log]\nlevel = info\n",
	    err, sizeof(err)), RP_OK);
	assert_memory_equal(&cfg.policy, &pol, sizeof(pol));
	/*
	 * ... and named, over a policy that differs in every field, so a
	 * setting the file left out would show.
	 */
	base_defaults(&cfg);
	memset(&cfg.policy, 0x01, sizeof(cfg.policy));
	assert_int_equal(conf_load(&cfg, tdir_write(*state,
	    "[paths]\npolicy_file = db/policy.ini\n"), err, sizeof(err)),
	    RP_OK);
	assert_memory_equal(&cfg.policy, &pol, sizeof(pol));
	/* An empty policy file keeps what was there: the defaults. */
	base_defaults(&cfg);
	(void)tdir_writen(*state, "policy.ini", "; nothing\n", 10, 0644);
	assert_true((size_t)snprintf(cfg.db_dir, sizeof(cfg.db_dir), "%s",
	    ((struct tdir *)*state)->dir) < sizeof(cfg.db_dir));
	assert_int_equal(conf_load(&cfg, tdir_write(*state, "[log]\n"), err,
	    sizeof(err)), RP_OK);
	assert_memory_equal(&cfg.policy, &pol, sizeof(pol));
}

/*
 * Writes policy as t->dir/policy.ini and main as t->dir/test.ini with
 * db_dir = t->dir in front, and loads them over base_defaults() into
 * cfg.  Returns the result; t->path is the main file.
 */
static enum rp_err
load_pair(struct tdir *t, struct config *cfg, const char *policy,
    const char *main_text, char *err, size_t errlen)
{
	char	 text[4096];

	(void)tdir_writen(t, "policy.ini", policy, strlen(policy), 0644);
	assert_true((size_t)snprintf(text, sizeof(text), "[paths]\n"
	    "db_dir = %s\n%s", t->dir, main_text) < sizeof(text));
	base_defaults(cfg);
	return conf_load(cfg, tdir_write(t, text), err, errlen);
}

/* Every policy setting, read from the policy file. */
static void
test_policy_file(void **state)
{
	struct config	 cfg;
	char		 err[512];

	assert_int_equal(load_pair(*state, &cfg,
	    "[suspend]\n"
	    "types = business,eseal\n"
	    "max_days = 365\n"
	    "end_action = reinstate\n"
	    "[passphrase]\n"
	    "online_suspend = no\n"
	    "online_revoke = yes\n"
	    "max_failures = 20\n"
	    "revoke_unsuspendable = no\n"
	    "[hotline]\n"
	    "passphrase_action = suspend\n"
	    "revoke_reasons = cessationOfOperation,unspecified, superseded\n"
	    "[recover]\n"
	    "term_years = 10\n"
	    "window_months = 120\n"
	    "renewal_days = 0\n"
	    "[approval]\n"
	    "expiry_hours = 720\n"
	    "[time]\n"
	    "due_minutes = 1\n"
	    "[reasons]\n"
	    "subscriber = unspecified\n"
	    "staff =  privilegeWithdrawn ,unspecified\t\n"
	    "tls = keyCompromise, unspecified\n"
	    "[signers]\n"
	    "personal.revoke_suspend = subject|legal_rep\n"
	    "business.reactivate = legal_rep\n"
	    "application.reactivate = subject+legal_rep\n"
	    "eseal.recover = none\n"
	    "eseal.reactivate = subject\n"
	    "tls.recover = subject+legal_rep\n"
	    "[fees]\n"
	    "revoke = no\n"
	    "suspend = yes\n"
	    "reactivate = yes\n"
	    "recover = no\n", "", err, sizeof(err)), RP_OK);
	assert_int_equal(cfg.policy.suspend_types,
	    (1u << CT_BUSINESS) | (1u << CT_ESEAL));
	assert_int_equal(cfg.policy.suspend_max_days, 365);
	assert_int_equal(cfg.policy.suspend_end_action, ACT_REACTIVATE);
	assert_int_equal(cfg.policy.online_suspend, 0);
	assert_int_equal(cfg.policy.online_revoke, 1);
	assert_int_equal(cfg.policy.max_failures, 20);
	assert_int_equal(cfg.policy.revoke_unsuspendable, 0);
	assert_int_equal(cfg.policy.hotline_suspend, 1);
	assert_int_equal(cfg.policy.hotline_action, ACT_SUSPEND);
	assert_int_equal(cfg.policy.hotline_revoke_reasons, 0x31u);
	assert_int_equal(cfg.policy.recover_term_years, 10);
	assert_int_equal(cfg.policy.recover_window_months, 120);
	assert_int_equal(cfg.policy.recover_renewal_days, 0);
	assert_int_equal(cfg.policy.approval_expiry_hours, 720);
	assert_int_equal(cfg.policy.due_minutes, 1);
	assert_int_equal(cfg.policy.reasons_subscriber, 0x1u);
	assert_int_equal(cfg.policy.reasons_staff, 0x201u);
	assert_int_equal(cfg.policy.reasons_tls, 0x3u);
	assert_int_equal(cfg.policy.signers[CT_PERSONAL][SG_REVOKE_SUSPEND],
	    SIGNERS_SUBJECT_OR_REP);
	assert_int_equal(cfg.policy.signers[CT_PERSONAL][SG_REACTIVATE],
	    SIGNERS_SUBJECT);
	assert_int_equal(cfg.policy.signers[CT_BUSINESS][SG_REACTIVATE],
	    SIGNERS_REP);
	assert_int_equal(cfg.policy.signers[CT_APPLICATION][SG_REACTIVATE],
	    SIGNERS_SUBJECT_AND_REP);
	assert_int_equal(cfg.policy.signers[CT_ESEAL][SG_RECOVER],
	    SIGNERS_NONE);
	assert_int_equal(cfg.policy.signers[CT_ESEAL][SG_REACTIVATE],
	    SIGNERS_SUBJECT);
	assert_int_equal(cfg.policy.signers[CT_TLS][SG_RECOVER],
	    SIGNERS_SUBJECT_AND_REP);
	assert_int_equal(cfg.policy.signers[CT_QWAC][SG_RECOVER],
	    SIGNERS_NONE);
	assert_int_equal(cfg.policy.fee[ACT_REVOKE], 0);
	assert_int_equal(cfg.policy.fee[ACT_SUSPEND], 1);
	assert_int_equal(cfg.policy.fee[ACT_REACTIVATE], 1);
	assert_int_equal(cfg.policy.fee[ACT_RECOVER], 0);

	/* none: no type may be suspended. */
	assert_int_equal(load_pair(*state, &cfg, "[suspend]\ntypes = none\n",
	    "", err, sizeof(err)), RP_OK);
	assert_int_equal(cfg.policy.suspend_types, 0);
	/* The hotline without suspension, still revoking. */
	assert_int_equal(load_pair(*state, &cfg, "[hotline]\nsuspend = no\n"
	    "passphrase_action = revoke\nrevoke_reasons = unspecified\n"
	    "[passphrase]\nrevoke_unsuspendable = yes\n", "", err,
	    sizeof(err)), RP_OK);
	assert_int_equal(cfg.policy.hotline_suspend, 0);
	assert_int_equal(cfg.policy.hotline_action, ACT_REVOKE);
	assert_int_equal(cfg.policy.hotline_revoke_reasons, 0x1u);
	assert_int_equal(cfg.policy.revoke_unsuspendable, 1);
	/* Every reason a subscriber may give. */
	assert_int_equal(load_pair(*state, &cfg, "[hotline]\n"
	    "revoke_reasons = unspecified, keyCompromise, affiliationChanged, "
	    "superseded, cessationOfOperation\n", "", err, sizeof(err)),
	    RP_OK);
	assert_int_equal(cfg.policy.hotline_revoke_reasons, 0x3bu);
}

/* The main file's [policy.*] keys win; the rest stays the policy file's. */
static void
test_policy_override(void **state)
{
	struct config	 cfg;
	struct policy	 pol;
	char		 err[512];

	assert_int_equal(load_pair(*state, &cfg,
	    "[hotline]\npassphrase_action = revoke\n"
	    "revoke_reasons = unspecified\n"
	    "[suspend]\nmax_days = 30\n"
	    "[passphrase]\nrevoke_unsuspendable = no\n"
	    "[signers]\napplication.reactivate = legal_rep\n"
	    "business.recover = subject\n"
	    "[fees]\nrevoke = yes\n",
	    "[policy.hotline]\npassphrase_action = suspend\n"
	    "revoke_reasons = superseded, unspecified\n"
	    "[policy.signers]\napplication.reactivate = subject+legal_rep\n"
	    "[policy.fees]\nrevoke = no\nsuspend = yes\n"
	    "[policy.time]\ndue_minutes = 240\n", err, sizeof(err)), RP_OK);
	policy_defaults(&pol);
	pol.hotline_action = ACT_SUSPEND;		/* main over file */
	pol.hotline_revoke_reasons = 0x11u;		/* main over file */
	pol.revoke_unsuspendable = 0;			/* file */
	pol.suspend_max_days = 30;			/* file */
	pol.signers[CT_APPLICATION][SG_REACTIVATE] =	/* main over file */
	    SIGNERS_SUBJECT_AND_REP;
	pol.signers[CT_BUSINESS][SG_RECOVER] = SIGNERS_SUBJECT; /* file */
	pol.fee[ACT_REVOKE] = 0;			/* main over file */
	pol.fee[ACT_SUSPEND] = 1;			/* main */
	pol.due_minutes = 240;				/* main */
	assert_memory_equal(&cfg.policy, &pol, sizeof(pol));

	/* An override is checked where it is written. */
	expect_fail(*state, "[policy.suspend]\nmax_days = 61\n"
	    "[policy.suspend]\nmax_days = 62\n",
	    "4: [policy.suspend] max_days: duplicate key (first set on "
	    "line 2)");
}

/* Expects the policy file (t->dir/policy.ini) to fail with "<its path>:msg". */
static void
expect_policy_fail(struct tdir *t, const char *policy, const char *msg)
{
	struct config	 cfg, def;
	char		 err[512], want[512], ppath[300];

	(void)snprintf(ppath, sizeof(ppath), "%s/policy.ini", t->dir);
	memset(err, 'x', sizeof(err));
	assert_int_equal(load_pair(t, &cfg, policy, "", err, sizeof(err)),
	    RP_ERR_BAD_INPUT);
	(void)snprintf(want, sizeof(want), "%s:%s", ppath, msg);
	assert_string_equal(err, want);
	base_defaults(&def);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

static void
test_policy_file_refused(void **state)
{
	expect_policy_fail(*state, "[suspend]\ndays = 3\n",
	    "2: [suspend] days: unknown key");
	expect_policy_fail(*state, "[signers]\npersonal.renew = subject\n",
	    "2: [signers] personal.renew: unknown key");
	expect_policy_fail(*state, "[signers]\nrobot.recover = subject\n",
	    "2: [signers] robot.recover: unknown key");
	expect_policy_fail(*state, "[signers]\npersonal = subject\n",
	    "2: [signers] personal: unknown key");
	expect_policy_fail(*state, "[fees]\napprove = yes\n",
	    "2: [fees] approve: unknown key");
	expect_policy_fail(*state, "[suspend]\nmax_days = 0\n",
	    "2: [suspend] max_days: must be a number from 1 to 365");
	expect_policy_fail(*state, "; c\n[reasons]\nstaff = unspecified, "
	    "certificateHold\n", "3: [reasons] staff: certificateHold is "
	    "never a chosen reason: suspension and reactivation set it");
	expect_policy_fail(*state, "[hotline]\nsuspend = yes\n"
	    "suspend = no\n",
	    "3: [hotline] suspend: duplicate key (first set on line 2)");
	expect_policy_fail(*state, "[fees]\nrevoke = yes\n[hotline]\n"
	    "[fees]\nrevoke = no\n",
	    "5: [fees] revoke: duplicate key (first set on line 2)");
	expect_policy_fail(*state, "[signers]\ntls.recover = none\n"
	    "tls.recover = none\n",
	    "3: [signers] tls.recover: duplicate key (first set on line 2)");
	/* The policy file has only the policy's sections, unprefixed. */
	expect_policy_fail(*state, "[server]\nworkers = 2\n",
	    "1: [server]: unknown section");
	expect_policy_fail(*state, "[policy.suspend]\nmax_days = 2\n",
	    "1: [policy.suspend]: unknown section");
	expect_policy_fail(*state, "[suspend]\n  max_days = 2\n",
	    "2: line starts with white space (continuation lines are not "
	    "allowed)");
	expect_policy_fail(*state, "[suspend]\nmax_days\n",
	    "2: syntax error");
}

/* A policy that makes no sense as a whole is refused too. */
static void
test_policy_incoherent(void **state)
{
	struct tdir	*t = *state;
	struct config	 cfg, def;
	char		 err[512], want[700];

	/* Reinstated at the end, but a suspendable type cannot be. */
	expect_policy_fail(t, "[suspend]\nend_action = reinstate\n"
	    "[signers]\neseal.reactivate = none\n",
	    "2: [suspend] end_action: reinstate, but eseal certificates may "
	    "be suspended and cannot be reactivated ([signers] "
	    "eseal.reactivate = none)");
	/* Named where end_action was set: here, the main file. */
	base_defaults(&def);
	assert_int_equal(load_pair(t, &cfg, "[signers]\n"
	    "personal.reactivate = none\n", "[policy.suspend]\n"
	    "end_action = reinstate\n", err, sizeof(err)),
	    RP_ERR_BAD_INPUT);
	(void)snprintf(want, sizeof(want), "%s:4: [policy.suspend] "
	    "end_action: reinstate, but personal certificates may be "
	    "suspended and cannot be reactivated ([signers] "
	    "personal.reactivate = none)", t->path);
	assert_string_equal(err, want);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	/* Fine once the type is no longer suspended, or with revoke. */
	assert_int_equal(load_pair(t, &cfg, "[signers]\n"
	    "personal.reactivate = none\n", "[policy.suspend]\n"
	    "end_action = reinstate\ntypes = business\n", err, sizeof(err)),
	    RP_OK);
	assert_int_equal(load_pair(t, &cfg, "[signers]\n"
	    "personal.reactivate = none\n", "", err, sizeof(err)), RP_OK);
	/* tls cannot be reactivated but is never suspended either. */
	assert_int_equal(load_pair(t, &cfg, "[suspend]\n"
	    "end_action = reinstate\n", "", err, sizeof(err)), RP_OK);
	assert_int_equal(cfg.policy.suspend_end_action, ACT_REACTIVATE);
}

/*
 * A hotline that may not suspend and only suspends on a passphrase could
 * do nothing with it: refused, naming both keys where they were set.
 */
static void
test_policy_hotline_idle(void **state)
{
	static const char action_suspend[] = "[hotline]\n"
	    "passphrase_action = suspend\n";
	struct tdir	*t = *state;
	struct config	 cfg, def;
	char		 err[512], want[900], ppath[300];

	(void)snprintf(ppath, sizeof(ppath), "%s/policy.ini", t->dir);
	(void)snprintf(want, sizeof(want), "3: [hotline] suspend: no, but "
	    "passphrase_action is suspend (%s:2: [hotline] "
	    "passphrase_action): a hotline agent could then do nothing with "
	    "a caller's passphrase; set suspend = yes or passphrase_action "
	    "= revoke", ppath);
	expect_policy_fail(t, "[hotline]\npassphrase_action = suspend\n"
	    "suspend = no\n", want);

	/* One key in each file: each named in its own. */
	base_defaults(&def);
	assert_int_equal(load_pair(t, &cfg, "[hotline]\nsuspend = no\n",
	    "[policy.hotline]\npassphrase_action = suspend\n", err,
	    sizeof(err)), RP_ERR_BAD_INPUT);
	(void)snprintf(want, sizeof(want), "%s:2: [hotline] suspend: no, but "
	    "passphrase_action is suspend (%s:4: [policy.hotline] "
	    "passphrase_action): a hotline agent could then do nothing with "
	    "a caller's passphrase; set suspend = yes or passphrase_action "
	    "= revoke", ppath, t->path);
	assert_string_equal(err, want);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	assert_int_equal(load_pair(t, &cfg, "[hotline]\n"
	    "passphrase_action = suspend\n", "[policy.hotline]\n"
	    "suspend = no\n", err, sizeof(err)), RP_ERR_BAD_INPUT);
	(void)snprintf(want, sizeof(want), "%s:4: [policy.hotline] suspend: "
	    "no, but passphrase_action is suspend (%s:2: [hotline] "
	    "passphrase_action): a hotline agent could then do nothing with "
	    "a caller's passphrase; set suspend = yes or passphrase_action "
	    "= revoke", t->path, ppath);
	assert_string_equal(err, want);
	assert_memory_equal(&cfg, &def, sizeof(cfg));

	/* Fine when the main file sets one of them back. */
	assert_int_equal(load_pair(t, &cfg, "[hotline]\n"
	    "passphrase_action = suspend\nsuspend = no\n",
	    "[policy.hotline]\nsuspend = yes\n", err, sizeof(err)), RP_OK);
	assert_int_equal(cfg.policy.hotline_suspend, 1);
	assert_int_equal(cfg.policy.hotline_action, ACT_SUSPEND);
	assert_int_equal(load_pair(t, &cfg, "[hotline]\n"
	    "passphrase_action = suspend\nsuspend = no\n",
	    "[policy.hotline]\npassphrase_action = revoke\n", err,
	    sizeof(err)), RP_OK);
	assert_int_equal(cfg.policy.hotline_suspend, 0);
	assert_int_equal(cfg.policy.hotline_action, ACT_REVOKE);

	/* Set before the files were read: the policy file is named. */
	base_defaults(&cfg);
	cfg.policy.hotline_suspend = 0;
	(void)tdir_writen(t, "policy.ini", action_suspend,
	    strlen(action_suspend), 0644);
	(void)snprintf(want, sizeof(want), "[paths]\ndb_dir = %s\n", t->dir);
	assert_int_equal(conf_load(&cfg, tdir_write(t, want), err,
	    sizeof(err)), RP_ERR_BAD_INPUT);
	(void)snprintf(want, sizeof(want), "%s: [hotline] suspend: no, but "
	    "passphrase_action is suspend (%s:2: [hotline] "
	    "passphrase_action): a hotline agent could then do nothing with "
	    "a caller's passphrase; set suspend = yes or passphrase_action "
	    "= revoke", ppath, ppath);
	assert_string_equal(err, want);
}

static void
test_policy_missing(void **state)
{
	struct tdir	*t = *state;
	struct config	 cfg, def;
	char		 text[600], err[512], want[700];

	/* Named by policy_file. */
	(void)snprintf(text, sizeof(text), "[paths]\npolicy_file = "
	    "%s/none.ini\n", t->dir);
	base_defaults(&def);
	assert_int_equal(load_text(t, &cfg, text, err, sizeof(err)),
	    RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "%s/none.ini: cannot read the "
	    "policy file: %s", t->dir, strerror(ENOENT));
	assert_string_equal(err, want);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	/* In db_dir. */
	(void)snprintf(text, sizeof(text), "[paths]\ndb_dir = %s\n", t->dir);
	assert_int_equal(load_text(t, &cfg, text, err, sizeof(err)),
	    RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "%s/policy.ini: cannot read the "
	    "policy file: %s", t->dir, strerror(ENOENT));
	assert_string_equal(err, want);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	/* The built-in db_dir has none here either. */
	conf_defaults(&cfg);
	conf_defaults(&def);
	assert_int_equal(conf_load(&cfg, tdir_write(t, "[log]\n"), err,
	    sizeof(err)), RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "/usr/share/revportal/db/"
	    "policy.ini: cannot read the policy file: %s", strerror(ENOENT));
	assert_string_equal(err, want);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	/* A directory is no policy file. */
	(void)snprintf(text, sizeof(text), "[paths]\npolicy_file = %s\n",
	    t->dir);
	assert_int_equal(load_text(t, &cfg, text, err, sizeof(err)),
	    RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "%s: not a regular file", t->dir);
	assert_string_equal(err, want);
	/* Nor a FIFO: refused, not waited on (the sweep timer would hang). */
	{
		char	 fifo[128];

		assert_true((size_t)snprintf(fifo, sizeof(fifo),
		    "%s/policy.fifo", t->dir) < sizeof(fifo));
		assert_int_equal(mkfifo(fifo, 0600), 0);
		(void)snprintf(text, sizeof(text),
		    "[paths]\npolicy_file = %s\n", fifo);
		assert_int_equal(load_text(t, &cfg, text, err, sizeof(err)),
		    RP_ERR_INTERNAL);
		assert_non_null(strstr(err, "policy.fifo: not a regular file"));
		assert_int_equal(unlink(fifo), 0);
	}
}

/* Points cfg at t->dir/name for the secret. */
static void
secret_path(struct tdir *t, struct config *cfg, const char *name)
{
	conf_defaults(cfg);
	assert_true((size_t)snprintf(cfg->secret_file,
	    sizeof(cfg->secret_file), "%s/%s", t->dir, name) <
	    sizeof(cfg->secret_file));
}

/* Expects conf_load_secret() to fail with "<secret_file>: msg". */
static void
expect_secret_fail(struct config *cfg, int create, const char *msg)
{
	unsigned char	 zero[RP_SECRET_LEN];
	char		 err[512], want[700];

	memset(zero, 0, sizeof(zero));
	assert_int_equal(conf_load_secret(cfg, create, err, sizeof(err)),
	    RP_ERR_INTERNAL);
	(void)snprintf(want, sizeof(want), "%s: %s", cfg->secret_file, msg);
	assert_string_equal(err, want);
	assert_memory_equal(cfg->secret, zero, sizeof(zero));
}

static void
test_secret_create_reload(void **state)
{
	struct config	 a, b;
	struct stat	 st;
	unsigned char	 zero[RP_SECRET_LEN], file[RP_SECRET_LEN + 1];
	char		 err[512];
	int		 fd;

	memset(zero, 0, sizeof(zero));
	secret_path(*state, &a, "secret.key");
	assert_int_equal(conf_load_secret(&a, 1, err, sizeof(err)), RP_OK);
	assert_memory_not_equal(a.secret, zero, sizeof(zero));
	assert_int_equal(lstat(a.secret_file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, RP_SECRET_LEN);
	fd = open(a.secret_file, O_RDONLY);
	assert_true(fd != -1);
	assert_int_equal(read(fd, file, sizeof(file)), RP_SECRET_LEN);
	assert_int_equal(close(fd), 0);
	assert_memory_equal(file, a.secret, RP_SECRET_LEN);

	/* Loading again, with or without create, gives the same bytes. */
	secret_path(*state, &b, "secret.key");
	assert_int_equal(conf_load_secret(&b, 0, err, sizeof(err)), RP_OK);
	assert_memory_equal(a.secret, b.secret, RP_SECRET_LEN);
	memset(b.secret, 0, sizeof(b.secret));
	assert_int_equal(conf_load_secret(&b, 1, err, sizeof(err)), RP_OK);
	assert_memory_equal(a.secret, b.secret, RP_SECRET_LEN);

	/* Mode 0400 is fine too. */
	assert_int_equal(chmod(a.secret_file, 0400), 0);
	assert_int_equal(conf_load_secret(&b, 0, err, sizeof(err)), RP_OK);
	assert_int_equal(unlink(a.secret_file), 0);

	/* Another file gets other bytes. */
	secret_path(*state, &b, "other.key");
	assert_int_equal(conf_load_secret(&b, 1, err, sizeof(err)), RP_OK);
	assert_memory_not_equal(a.secret, b.secret, RP_SECRET_LEN);
}

static void
test_secret_refused(void **state)
{
	struct tdir	*t = *state;
	struct config	 cfg;
	unsigned char	 bytes[RP_SECRET_LEN + 1];
	char		 target[300];

	memset(bytes, 'k', sizeof(bytes));

	secret_path(t, &cfg, "open.key");
	(void)tdir_writen(t, "open.key", bytes, RP_SECRET_LEN, 0644);
	expect_secret_fail(&cfg, 0, "mode 0644 lets group or others in; it "
	    "must be 0600 or 0400");
	expect_secret_fail(&cfg, 1, "mode 0644 lets group or others in; it "
	    "must be 0600 or 0400");
	(void)tdir_writen(t, "open.key", bytes, RP_SECRET_LEN, 0640);
	expect_secret_fail(&cfg, 0, "mode 0640 lets group or others in; it "
	    "must be 0600 or 0400");
	(void)tdir_writen(t, "open.key", bytes, RP_SECRET_LEN, 0602);
	expect_secret_fail(&cfg, 0, "mode 0602 lets group or others in; it "
	    "must be 0600 or 0400");

	secret_path(t, &cfg, "short.key");
	(void)tdir_writen(t, "short.key", bytes, RP_SECRET_LEN - 1, 0600);
	expect_secret_fail(&cfg, 1, "must hold exactly 32 bytes, holds 31");
	secret_path(t, &cfg, "long.key");
	(void)tdir_writen(t, "long.key", bytes, RP_SECRET_LEN + 1, 0600);
	expect_secret_fail(&cfg, 0, "must hold exactly 32 bytes, holds 33");
	secret_path(t, &cfg, "empty.key");
	(void)tdir_writen(t, "empty.key", bytes, 0, 0600);
	expect_secret_fail(&cfg, 1, "must hold exactly 32 bytes, holds 0");

	/* A symbolic link is refused even to a good file, even dangling. */
	(void)tdir_writen(t, "good.key", bytes, RP_SECRET_LEN, 0600);
	(void)snprintf(target, sizeof(target), "%s/good.key", t->dir);
	secret_path(t, &cfg, "link.key");
	assert_int_equal(symlink(target, cfg.secret_file), 0);
	expect_secret_fail(&cfg, 0, "is a symbolic link");
	expect_secret_fail(&cfg, 1, "is a symbolic link");
	(void)snprintf(target, sizeof(target), "%s/nowhere.key", t->dir);
	secret_path(t, &cfg, "dangling.key");
	assert_int_equal(symlink(target, cfg.secret_file), 0);
	expect_secret_fail(&cfg, 1, "is a symbolic link");
	assert_int_equal(access(target, F_OK), -1);

	/* A directory is not a secret. */
	secret_path(t, &cfg, "dir.key");
	assert_int_equal(mkdir(cfg.secret_file, 0700), 0);
	expect_secret_fail(&cfg, 1, "not a regular file");
	secret_path(t, &cfg, "good.key");
	assert_int_equal(conf_load_secret(&cfg, 0, target, sizeof(target)),
	    RP_OK);
	assert_memory_equal(cfg.secret, bytes, RP_SECRET_LEN);
}

static void
test_secret_missing(void **state)
{
	struct tdir	*t = *state;
	struct config	 cfg;
	char		 msg[300];

	secret_path(t, &cfg, "none.key");
	expect_secret_fail(&cfg, 0, strerror(ENOENT));
	assert_int_equal(access(cfg.secret_file, F_OK), -1);
	/* create cannot make a missing directory. */
	secret_path(t, &cfg, "nodir/none.key");
	(void)snprintf(msg, sizeof(msg), "cannot create: %s",
	    strerror(ENOENT));
	expect_secret_fail(&cfg, 1, msg);
}

/* The [relay] defaults: those written in deploy/revportal.ini. */
static void
test_relay_defaults(void **state)
{
	struct config	 cfg;

	(void)state;
	memset(&cfg, 0x55, sizeof(cfg));
	conf_defaults(&cfg);
	assert_string_equal(cfg.relay_socket, "/run/revportal-relay/relay.sock");
	assert_int_equal(cfg.relay_backend, CA_CFSSL);
	assert_string_equal(cfg.relay_url, "");
	assert_string_equal(cfg.relay_ca_file, "");
	assert_string_equal(cfg.relay_cert_file, "");
	assert_string_equal(cfg.relay_key_file, "");
	assert_int_equal(cfg.relay_allow_http, 0);
	assert_int_equal(cfg.relay_connect_timeout_ms, 3000);
	assert_int_equal(cfg.relay_timeout_ms, 10000);
	assert_int_equal(cfg.relay_max_response, 65536);
	assert_int_equal(cfg.relay_poll_ms, 5000);
	assert_int_equal(cfg.relay_lease_seconds, 60);
	assert_int_equal(cfg.relay_backoff_min_ms, 500);
	assert_int_equal(cfg.relay_backoff_max_ms, 300000);
	assert_int_equal(cfg.relay_pending_check_ms, 30000);
	assert_int_equal(cfg.relay_pending_max_hours, 24);
	assert_string_equal(cfg.relay_metrics_file, "");
	assert_string_equal(cfg.relay_ejbca_ca_name, "");
	assert_string_equal(cfg.relay_ejbca_cert_profile, "");
	assert_string_equal(cfg.relay_ejbca_ee_profile, "");
}

/* Every [relay] key, none at its default, and the edges of the ranges. */
static void
test_relay_full(void **state)
{
	struct config	 cfg;
	char		 err[512];

	assert_int_equal(load_text(*state, &cfg,
	    "[relay]\n"
	    "socket = /tmp/relay.sock\n"
	    "backend = ejbca\n"
	    "url = https://ca.example.si:8443/base/path\n"
	    "ca_file = /etc/revportal/ca.pem\n"
	    "cert_file = /etc/revportal/relay.crt\n"
	    "key_file = /etc/revportal/relay.key\n"
	    "allow_http = yes\n"
	    "connect_timeout_ms = 60000\n"
	    "timeout_ms = 60000\n"
	    "max_response = 16M\n"
	    "poll_ms = 100\n"
	    "lease_seconds = 127\n"
	    "backoff_min_ms = 10\n"
	    "backoff_max_ms = 100\n"
	    "pending_check_ms = 86400000\n"
	    "pending_max_hours = 8760\n"
	    "metrics_file = /var/lib/revportal/relay.prom\n"
	    "ejbca_ca_name = Qualified CA \xc4\x8c\n"
	    "ejbca_certificate_profile = QualifiedPersonal\n"
	    "ejbca_end_entity_profile = Subscriber\n", err,
	    sizeof(err)), RP_OK);
	assert_string_equal(cfg.relay_ejbca_ca_name, "Qualified CA \xc4\x8c");
	assert_string_equal(cfg.relay_ejbca_cert_profile, "QualifiedPersonal");
	assert_string_equal(cfg.relay_ejbca_ee_profile, "Subscriber");
	assert_string_equal(cfg.relay_socket, "/tmp/relay.sock");
	assert_int_equal(cfg.relay_backend, CA_EJBCA);
	assert_string_equal(cfg.relay_url,
	    "https://ca.example.si:8443/base/path");
	assert_string_equal(cfg.relay_ca_file, "/etc/revportal/ca.pem");
	assert_string_equal(cfg.relay_cert_file, "/etc/revportal/relay.crt");
	assert_string_equal(cfg.relay_key_file, "/etc/revportal/relay.key");
	assert_int_equal(cfg.relay_allow_http, 1);
	assert_int_equal(cfg.relay_connect_timeout_ms, 60000);
	assert_int_equal(cfg.relay_timeout_ms, 60000);
	assert_int_equal(cfg.relay_max_response, 16u * 1024u * 1024u);
	assert_int_equal(cfg.relay_poll_ms, 100);
	assert_int_equal(cfg.relay_lease_seconds, 127);
	assert_int_equal(cfg.relay_backoff_min_ms, 10);
	assert_int_equal(cfg.relay_backoff_max_ms, 100);
	assert_int_equal(cfg.relay_pending_check_ms, 86400000);
	assert_int_equal(cfg.relay_pending_max_hours, 8760);
	assert_string_equal(cfg.relay_metrics_file,
	    "/var/lib/revportal/relay.prom");
	/* The other edges, and a file that empties what it may. */
	assert_int_equal(load_text(*state, &cfg,
	    "[relay]\nbackend = cfssl\nurl =\nconnect_timeout_ms = 100\n"
	    "timeout_ms = 1000\nmax_response = 1K\npoll_ms = 3600000\n"
	    "lease_seconds = 3600\nbackoff_min_ms = 3600000\n"
	    "backoff_max_ms = 86400000\npending_check_ms = 100\n"
	    "pending_max_hours = 1\nmetrics_file =\n", err, sizeof(err)),
	    RP_OK);
	assert_int_equal(cfg.relay_backend, CA_CFSSL);
	assert_string_equal(cfg.relay_url, "");
	assert_int_equal(cfg.relay_connect_timeout_ms, 100);
	assert_int_equal(cfg.relay_timeout_ms, 1000);
	assert_int_equal(cfg.relay_max_response, 1024);
	assert_int_equal(cfg.relay_poll_ms, 3600000);
	assert_int_equal(cfg.relay_lease_seconds, 3600);
	assert_int_equal(cfg.relay_backoff_min_ms, 3600000);
	assert_int_equal(cfg.relay_backoff_max_ms, 86400000);
	assert_int_equal(cfg.relay_pending_check_ms, 100);
	assert_int_equal(cfg.relay_pending_max_hours, 1);
}

/* CA URLs that are accepted: a path, a port, IP literals. */
static void
test_relay_url_ok(void **state)
{
	static const char *const ok[] = {
		"https://ca.example.si",
		"https://ca.example.si/ejbca",
		"https://CA.Example.si:1/a/b-c_d.e~f",
		"https://10.0.0.7:65535",
		"https://[2001:db8::7]:8443/x",
		"https://[::1]",
	};
	struct config	 cfg;
	char		 text[256], err[512];
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		(void)snprintf(text, sizeof(text), "[relay]\nurl = %s\n",
		    ok[i]);
		if (load_text(*state, &cfg, text, err, sizeof(err)) != RP_OK)
			fail_msg("%s: %s", ok[i], err);
		assert_string_equal(cfg.relay_url, ok[i]);
	}
}

/*
 * Plain http:// only with allow_http and only to a loopback address
 * written as one; a name (localhost too) or another address is refused
 * with a message naming the key and its line.
 */
static void
test_relay_http(void **state)
{
	static const char *const loop[] = {
		"http://127.0.0.1:8888",
		"http://127.1.2.3",
		"http://[::1]:80/cfssl",
		"http://127.0.0.1",
	};
	static const char *const far[] = {
		"http://localhost:8888",
		"http://ca.example.si",
		"http://128.0.0.1",
		"http://10.0.0.1:80",
		"http://127.0.0.1.example.si",
		"http://[::2]:80",
		"http://[::ffff:127.0.0.1]",
		"http://0x7f000001",
		"http://127.1",
	};
	struct config	 cfg;
	char		 text[256], err[512];
	size_t		 i;

	for (i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
		(void)snprintf(text, sizeof(text), "[relay]\n"
		    "allow_http = yes\nurl = %s\n", loop[i]);
		if (load_text(*state, &cfg, text, err, sizeof(err)) != RP_OK)
			fail_msg("%s: %s", loop[i], err);
		assert_string_equal(cfg.relay_url, loop[i]);
		/* Without allow_http the same URL is refused. */
		(void)snprintf(text, sizeof(text), "[relay]\nurl = %s\n",
		    loop[i]);
		expect_fail(*state, text, "2: [relay] url: http:// needs "
		    "allow_http = yes (and a loopback address); use https://");
	}
	for (i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		print_message("far %s\n", far[i]);
		(void)snprintf(text, sizeof(text), "[relay]\nallow_http = yes\n"
		    "; the CA\nurl = %s\n", far[i]);
		expect_fail(*state, text, "4: [relay] url: http:// only to a "
		    "loopback address (127.0.0.1 or [::1]); use https://");
	}
	/* allow_http changes nothing for https://. */
	assert_int_equal(load_text(*state, &cfg, "[relay]\nallow_http = yes\n"
	    "url = https://ca.example.si\n", err, sizeof(err)), RP_OK);
}

/* The other rules between [relay] keys, each naming a key. */
static void
test_relay_coherence(void **state)
{
	struct tdir	*t = *state;
	struct config	 cfg;
	char		 err[512];

	expect_fail(t, "[relay]\ncert_file = /etc/r.crt\n",
	    "2: [relay] cert_file: needs key_file too");
	/* 108 bytes: one more than a unix socket's path holds. */
	expect_fail(t, "[relay]\nsocket = /run/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
	    "2: [relay] socket: is too long for a unix socket (at most 107 "
	    "bytes)");
	expect_fail(t, "[relay]\n\nkey_file = /etc/r.key\n",
	    "3: [relay] key_file: needs cert_file too");
	expect_fail(t, "[relay]\nconnect_timeout_ms = 10001\n",
	    "2: [relay] connect_timeout_ms: must not be longer than "
	    "timeout_ms (10000)");
	expect_fail(t, "[relay]\nbackoff_min_ms = 300001\n",
	    "2: [relay] backoff_min_ms: must not be larger than "
	    "backoff_max_ms (300000)");
	expect_fail(t, "[relay]\nbackoff_max_ms = 499\n",
	    " [relay] backoff_min_ms: must not be larger than "
	    "backoff_max_ms (499)");
	/*
	 * A lease must outlast the longest driver call (two HTTP requests)
	 * and the wait for the database to record it, with a second to
	 * spare; the default lease names no line.
	 */
	expect_fail(t, "[relay]\ntimeout_ms = 27000\n",
	    " [relay] lease_seconds: must outlast a CA call and its "
	    "recording: more than 2 x timeout_ms + [database] "
	    "busy_timeout_ms + 1 s (60000 ms)");
	expect_fail(t, "[relay]\nlease_seconds = 26\n",
	    "2: [relay] lease_seconds: must outlast a CA call and its "
	    "recording: more than 2 x timeout_ms + [database] "
	    "busy_timeout_ms + 1 s (26000 ms)");
	/* The old rule, twice timeout_ms, is not enough any more. */
	expect_fail(t, "[relay]\nlease_seconds = 21\n",
	    "2: [relay] lease_seconds: must outlast a CA call and its "
	    "recording: more than 2 x timeout_ms + [database] "
	    "busy_timeout_ms + 1 s (26000 ms)");
	/* A longer busy timeout needs a longer lease. */
	expect_fail(t, "[database]\nbusy_timeout_ms = 40000\n",
	    " [relay] lease_seconds: must outlast a CA call and its "
	    "recording: more than 2 x timeout_ms + [database] "
	    "busy_timeout_ms + 1 s (61000 ms)");
	assert_int_equal(load_text(t, &cfg, "[relay]\nlease_seconds = 62\n"
	    "[database]\nbusy_timeout_ms = 40000\n", err, sizeof(err)),
	    RP_OK);
	assert_int_equal(conf_relay_call_max(&cfg), 61000);
	/* Just over is enough; equal values are fine. */
	assert_int_equal(load_text(t, &cfg, "[relay]\nlease_seconds = 27\n"
	    "connect_timeout_ms = 10000\nbackoff_min_ms = 300000\n"
	    "cert_file = /c\nkey_file = /k\n", err, sizeof(err)), RP_OK);
	assert_int_equal(cfg.relay_lease_seconds, 27);
	assert_int_equal(conf_relay_call_max(&cfg), 26000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_full_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_partial_crlf, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ranges_edges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_size_suffix, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_portal_url_ok, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_section, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shipped_ini, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_defaults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_override, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_file_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_incoherent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_hotline_idle,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_missing, setup,
		    teardown),
		cmocka_unit_test(test_relay_defaults),
		cmocka_unit_test_setup_teardown(test_relay_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relay_url_ok, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relay_http, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relay_coherence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_secret_create_reload,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_secret_missing, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
