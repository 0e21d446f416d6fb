/*
 * The configuration: defaults, the INI file (parsed by libinih) and the
 * instance secret.  Everything here runs once at start-up, before the
 * first request; errors are returned as sentences in err, never logged.
 *
 * The file is read strictly: an unknown section or key, a key given twice,
 * a bad or out-of-range value, an indented (continuation) line or a line
 * too long for libinih's buffer stops the load, and err names the file,
 * the line, the section and the key.
 */
#include <sys/stat.h>

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

/* How a value is checked and where it is stored. */
enum conf_type {
	CONF_PATH,	/* file or directory name */
	CONF_UINT,	/* unsigned int, a number from min to max */
	CONF_ULONG,	/* unsigned long, a number from min to max */
	CONF_SIZE,	/* size_t, bytes, optional K or M suffix */
	CONF_TEXT,	/* printable UTF-8 text */
	CONF_URL,	/* https:// URL without a trailing slash */
	CONF_PHONE,	/* telephone number as shown to people */
	CONF_LEVEL	/* log level name */
};

/* One accepted key: [section] name. */
struct conf_key {
	const char		*section;
	const char		*name;
	enum conf_type		 type;
	size_t			 off;	/* of the member */
	size_t			 size;	/* of the member */
	unsigned long long	 min;
	unsigned long long	 max;
};

#define CONF_AT(m)	offsetof(struct config, m), \
			sizeof(((struct config *)NULL)->m)

/* Every key of the file.  deploy/revportal.ini documents each one. */
static const struct conf_key conf_keys[] = {
	{ "server", "socket", CONF_PATH, CONF_AT(socket), 0, 0 },
	{ "server", "workers", CONF_UINT, CONF_AT(workers), 1,
	    RP_WORKERS_MAX },
	{ "server", "backlog", CONF_UINT, CONF_AT(backlog), 1, 4096 },
	{ "paths", "database", CONF_PATH, CONF_AT(database), 0, 0 },
	{ "paths", "db_dir", CONF_PATH, CONF_AT(db_dir), 0, 0 },
	{ "paths", "templates", CONF_PATH, CONF_AT(templates), 0, 0 },
	{ "paths", "secret_file", CONF_PATH, CONF_AT(secret_file), 0, 0 },
	{ "limits", "max_body", CONF_SIZE, CONF_AT(max_body),
	    1024, RP_BODY_CEILING },
	{ "site", "site_name", CONF_TEXT, CONF_AT(site_name), 0, 0 },
	{ "site", "portal_url", CONF_URL, CONF_AT(portal_url), 0, 0 },
	{ "site", "hotline", CONF_PHONE, CONF_AT(hotline), 0, 0 },
	{ "security", "hsts_max_age", CONF_ULONG, CONF_AT(hsts_max_age),
	    0, 63072000 },
	{ "security", "csrf_ttl", CONF_ULONG, CONF_AT(csrf_ttl), 60, 86400 },
	{ "database", "busy_timeout_ms", CONF_UINT, CONF_AT(busy_timeout_ms),
	    100, 60000 },
	{ "log", "level", CONF_LEVEL, CONF_AT(log_level), 0, 0 },
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

static const char *const conf_sections[] = {
	"server", "paths", "limits", "site", "security", "database", "log",
};

#define CONF_NSECTIONS	(sizeof(conf_sections) / sizeof(conf_sections[0]))

static const char *const conf_levels[RPLOG__MAX] = {
	[RPLOG_DEBUG] = "debug",
	[RPLOG_INFO] = "info",
	[RPLOG_WARN] = "warn",
	[RPLOG_ERROR] = "error",
};

/* The state of one conf_load(), shared by the line reader and handler. */
struct conf_parse {
	struct config	*cfg;
	const char	*path;
	FILE		*f;
	char		*err;
	size_t		 errlen;
	int		 line;		/* lines given to libinih */
	int		 errline;	/* of the first error, or 0 */
	int		 ioerr;		/* errno of a read error */
	int		 seen[CONF_NKEYS]; /* where each key was */
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
 * Fills cfg with the built-in defaults (those of deploy/revportal.ini)
 * and a zero secret.  Nothing to free.
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
	    "+386 1 234 56 78") == -1)
		abort();	/* a default longer than its array: a bug */
	cfg->workers = 4;
	cfg->backlog = 128;
	cfg->max_body = RP_BODY_DEFAULT;
	cfg->hsts_max_age = 31536000;
	cfg->csrf_ttl = 7200;
	cfg->busy_timeout_ms = 5000;
	cfg->log_level = RPLOG_INFO;
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
 * Checks value for key k and stores it in cfg.  Returns 0, or -1 with a
 * phrase saying what is wrong in why.
 */
static int
conf_set(struct config *cfg, const struct conf_key *k, const char *value,
    char *why, size_t whysz)
{
	char			*member = (char *)cfg + k->off;
	const char		*bad = NULL;
	unsigned long long	 n;
	unsigned int		 u;
	unsigned long		 ul;
	size_t			 sz;
	size_t			 i;

	switch (k->type) {
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
		} else if (k->type == CONF_PATH && conf_has_ctrl(value))
			bad = "must not contain control characters";
		else if (k->type == CONF_TEXT && (conf_has_ctrl(value) ||
		    !rp_utf8_valid(value, strlen(value))))
			bad = "must be printable UTF-8 text";
		else if (k->type == CONF_URL)
			bad = conf_check_url(value);
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
		if (k->type == CONF_UINT && k->size == sizeof(u)) {
			u = (unsigned int)n;
			memcpy(member, &u, sizeof(u));
		} else if (k->type == CONF_ULONG && k->size == sizeof(ul)) {
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
		cfg->log_level = (enum rplog_level)i;
		break;
	}
	if (bad != NULL) {
		(void)snprintf(why, whysz, "%s", bad);
		return -1;
	}
	return 0;
}

/* Returns 1 when name is one of conf_sections[], 0 otherwise. */
static int
conf_section_known(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < CONF_NSECTIONS; i++)
		if (strlen(conf_sections[i]) == len &&
		    memcmp(conf_sections[i], name, len) == 0)
			return 1;
	return 0;
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
	if (!conf_section_known(s + 1, (size_t)(end - s - 1))) {
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
	const struct conf_key	*k = NULL;
	char			 sec[64], key[64], why[160];
	size_t			 i;

	conf_clean(sec, sizeof(sec), section);
	conf_clean(key, sizeof(key), name);
	if (section[0] == '\0') {
		conf_error(p, p->line, "%s: key outside any section", key);
		return 0;
	}
	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0) {
			k = &conf_keys[i];
			break;
		}
	if (k == NULL) {
		if (conf_section_known(section, strlen(section)))
			conf_error(p, p->line, "[%s] %s: unknown key",
			    sec, key);
		else
			conf_error(p, p->line, "[%s]: unknown section", sec);
		return 0;
	}
	if (p->seen[i] != 0) {
		conf_error(p, p->line, "[%s] %s: duplicate key (first set "
		    "on line %d)", sec, key, p->seen[i]);
		return 0;
	}
	p->seen[i] = p->line;
	if (conf_set(p->cfg, k, value, why, sizeof(why)) == -1) {
		conf_error(p, p->line, "[%s] %s: %s", sec, key, why);
		return 0;
	}
	return 1;
}

/*
 * Reads the INI file at path over the values already in cfg (the
 * defaults, normally).  Returns RP_OK; or, with cfg unchanged and a
 * sentence in err, RP_ERR_BAD_INPUT for a bad file, RP_ERR_INTERNAL when
 * the file cannot be read, RP_ERR_NOMEM.  Nothing to free.
 */
enum rp_err
conf_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct conf_parse	 p;
	struct config		 tmp;
	struct stat		 st;
	FILE			*f;
	enum rp_err		 e = RP_ERR_INTERNAL;
	int			 r;

	if (errlen > 0)
		err[0] = '\0';
	if ((f = fopen(path, "re")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return RP_ERR_INTERNAL;
	}
	if (fstat(fileno(f), &st) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}

	tmp = *cfg;
	memset(&p, 0, sizeof(p));
	p.cfg = &tmp;
	p.path = path;
	p.f = f;
	p.err = err;
	p.errlen = errlen;
	r = ini_parse_stream(conf_reader, &p, conf_handler, &p);

	if (r > 0 && (p.errline == 0 || r < p.errline)) {
		(void)snprintf(err, errlen, "%s:%d: syntax error", path, r);
		e = RP_ERR_BAD_INPUT;
	} else if (p.errline != 0)
		e = p.ioerr != 0 ? RP_ERR_INTERNAL : RP_ERR_BAD_INPUT;
	else if (r == -2) {
		(void)snprintf(err, errlen, "%s: out of memory", path);
		e = RP_ERR_NOMEM;
	} else if (r != 0)
		(void)snprintf(err, errlen, "%s: libinih error %d", path, r);
	else {
		*cfg = tmp;
		e = RP_OK;
	}
	explicit_bzero(&tmp, sizeof(tmp));
out:
	if (fclose(f) == EOF && e == RP_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		e = RP_ERR_INTERNAL;
	}
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
