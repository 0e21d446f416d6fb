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

/* Loads text as a file; returns the result, err gets the message. */
static enum rp_err
load_text(struct tdir *t, struct config *cfg, const char *text, char *err,
    size_t errlen)
{
	conf_defaults(cfg);
	return conf_load(cfg, tdir_write(t, text), err, errlen);
}

/* Expects text to fail with exactly "<path>:<msg>". */
static void
expect_fail(struct tdir *t, const char *text, const char *msg)
{
	struct config	 cfg, def;
	char		 err[512], want[512];

	conf_defaults(&def);
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
	    "level = debug ; inline comment\n", err, sizeof(err)), RP_OK);
	assert_string_equal(err, "");
	assert_string_equal(cfg.socket, "/tmp/rp.sock");
	assert_int_equal(cfg.workers, 64);
	assert_int_equal(cfg.backlog, 1);
	assert_string_equal(cfg.database, "/srv/rp/rp.db");
	assert_string_equal(cfg.db_dir, "db");
	assert_string_equal(cfg.templates, "/srv/rp/templates");
	assert_string_equal(cfg.secret_file, "/srv/rp/secret");
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
	conf_defaults(&def);
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
	conf_defaults(&cfg);
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
	/* A tiny error buffer is cut, not overrun. */
	assert_int_equal(conf_load(&cfg, path, err, 8), RP_ERR_INTERNAL);
	assert_int_equal(strlen(err), 7);
}

/* The shipped example loads and holds exactly the defaults. */
static void
test_shipped_ini(void **state)
{
	struct config	 cfg, def;
	char		 err[512];

	(void)state;
	conf_defaults(&def);
	memset(&cfg, 0, sizeof(cfg));
	conf_defaults(&cfg);
	cfg.workers = 9;	/* must be overwritten by the file */
	if (conf_load(&cfg, "deploy/revportal.ini", err, sizeof(err)) !=
	    RP_OK)
		fail_msg("%s", err);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
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
		cmocka_unit_test(test_shipped_ini),
		cmocka_unit_test_setup_teardown(test_secret_create_reload,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_secret_missing, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
