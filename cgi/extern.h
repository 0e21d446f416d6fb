/*
 * revportal: the one private header.  Every prototype shared between two
 * modules of cgi/ lives here; everything else is static in its file.
 *
 * Sections follow the modules: limits, errors, buf.c, log.c, conf.c,
 * field.c, http_parse.c, csrf.c, tmpl.c, db.c, metrics.c, http_resp.c,
 * route.c, the handlers.
 */
#ifndef REVPORTAL_EXTERN_H
#define REVPORTAL_EXTERN_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * UNITTEST marks a function that is static in production and visible to
 * its unit test (built with -DRP_UNITTEST), which declares it itself.
 */
#ifdef RP_UNITTEST
#define UNITTEST
#else
#define UNITTEST static
#endif

/*
 * Hard limits.  Every buffer that grows from untrusted input stops at one
 * of these; the configuration may lower the body limit but never raise it
 * above RP_BODY_CEILING.
 */
#define RP_BODY_DEFAULT		(256u * 1024u)	/* request body, default */
#define RP_BODY_CEILING		(8u * 1024u * 1024u) /* request body, max setting */
#define RP_QUERY_MAX		4096u		/* QUERY_STRING bytes */
#define RP_COOKIE_MAX		4096u		/* Cookie header bytes */
#define RP_PATH_MAX		1024u		/* request path bytes */
#define RP_PAIRS_MAX		64u		/* pairs in one query/form/JSON */
#define RP_NAME_MAX		64u		/* one field name */
#define RP_PARTS_MAX		16u		/* parts of one multipart body */
#define RP_PART_HEAD_MAX	1024u		/* headers of one part, in all */
#define RP_BOUNDARY_MAX		70u		/* RFC 2046 boundary length */
#define RP_RESP_MAX		(1024u * 1024u)	/* one response body */
#define RP_HDRS_MAX		(8u * 1024u)	/* extra response headers */
#define RP_TMPL_FILE_MAX	(64u * 1024u)	/* one template file */
#define RP_TMPL_DEPTH_MAX	16u		/* nested sections */
#define RP_LOG_LINE_MAX		1024u		/* one log line */
#define RP_ERRMSG_MAX		200u		/* one error message */
#define RP_SECRET_LEN		32u		/* bytes of the instance secret */
#define RP_WORKERS_MAX		64u		/* [server] workers, at most */
#define RP_ROUTES_MAX		32u		/* routes + "unmatched", at most */

/*
 * Errors.  Modules return these; only the router (route.c) turns them into
 * HTTP status codes.  The enum is ordered like the status codes it maps to.
 */
enum rp_err {
	RP_OK = 0,
	RP_ERR_BAD_INPUT,	/* 400: malformed or invalid input */
	RP_ERR_AUTH,		/* 401: authentication failed */
	RP_ERR_FORBIDDEN,	/* 403: authenticated, not allowed; CSRF */
	RP_ERR_NOT_FOUND,	/* 404 */
	RP_ERR_METHOD,		/* 405 */
	RP_ERR_CONFLICT,	/* 409: wrong certificate status */
	RP_ERR_TOO_LARGE,	/* 413: body or field over its limit */
	RP_ERR_MEDIA,		/* 415: unsupported content type */
	RP_ERR_POLICY,		/* 422: policy forbids */
	RP_ERR_LOCKED,		/* 423: passphrase locked */
	RP_ERR_RATE,		/* 429: rate limited */
	RP_ERR_NOMEM,		/* 500: out of memory or over an output limit */
	RP_ERR_INTERNAL,	/* 500: a bug or an unexpected library failure */
	RP_ERR_UNAVAILABLE,	/* 503: database busy or unreachable */
	RP_ERR__MAX
};

/*
 * An error's detail: a short machine code (a static string such as
 * "bad_encoding") and a sentence for people.  Neither ever holds a secret
 * or a copy of a request body.
 */
struct rp_errinfo {
	const char	*code;
	char		 msg[RP_ERRMSG_MAX];
};

/* Fills ei (may be NULL) and returns e: `return rp_fail(ei, ...);`. */
enum rp_err	 rp_fail(struct rp_errinfo *ei, enum rp_err e,
		    const char *code, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
const char	*rp_err_name(enum rp_err);

/*
 * buf.c: a growing byte buffer with a hard maximum.  A buf is always NUL
 * terminated after its len bytes once anything was added.  buf_free() may
 * be called on a zeroed or freed buf.
 */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

void		 buf_init(struct buf *, size_t max);
void		 buf_free(struct buf *);
void		 buf_reset(struct buf *);
enum rp_err	 buf_add(struct buf *, const void *, size_t);
enum rp_err	 buf_adds(struct buf *, const char *);
enum rp_err	 buf_addc(struct buf *, char);
enum rp_err	 buf_addf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
enum rp_err	 buf_addv(struct buf *, const char *, va_list);
enum rp_err	 buf_add_html(struct buf *, const char *, size_t);
char		*rp_strndup(const void *, size_t);
char		*rp_read_file(const char *path, size_t max, size_t *lenp,
		    char *why, size_t whylen);
int		 rp_ct_equal(const void *, const void *, size_t);
int		 rp_utf8_valid(const char *, size_t);

/*
 * log.c: one structured line per event on stderr, logfmt style:
 * `ts=... level=info pid=... event=request k=v ...`.  Callers pass only
 * values they know to be safe (route names, numbers, codes); control
 * characters are written escaped, so no value can forge a second line.
 * Never a secret, never a request body.
 */
enum rplog_level {
	RPLOG_DEBUG,
	RPLOG_INFO,
	RPLOG_WARN,
	RPLOG_ERROR,
	RPLOG__MAX
};

void		 rplog_set_level(enum rplog_level);
void		 rplog(enum rplog_level, const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
const char	*rplog_level_name(enum rplog_level);

/*
 * conf.c: the configuration, read once at start-up from one INI file
 * (libinih) and never changed afterwards.  See deploy/revportal.ini for
 * every setting.  Strings are fixed arrays so a config needs no freeing.
 */
#define RP_CONF_STR	512u

struct config {
	/* [server] */
	char		 socket[RP_CONF_STR];	/* FastCGI unix socket path */
	unsigned int	 workers;		/* pre-forked worker count */
	unsigned int	 backlog;		/* listen(2) backlog */
	/* [paths] */
	char		 database[RP_CONF_STR];	/* SQLite file */
	char		 db_dir[RP_CONF_STR];	/* schema.sql and migrations/ */
	char		 templates[RP_CONF_STR];/* templates directory */
	char		 secret_file[RP_CONF_STR]; /* instance secret, 0600 */
	/* [limits] */
	size_t		 max_body;		/* bytes */
	/* [site] */
	char		 site_name[128];
	char		 portal_url[256];	/* https://..., no trailing slash */
	char		 hotline[64];		/* shown to people */
	/* [security] */
	unsigned long	 hsts_max_age;		/* seconds */
	unsigned long	 csrf_ttl;		/* seconds a form token lives */
	/* [database] */
	unsigned int	 busy_timeout_ms;
	/* [log] */
	enum rplog_level log_level;
	/* Not from the file: read from secret_file by conf_load_secret(). */
	unsigned char	 secret[RP_SECRET_LEN];
};

void		 conf_defaults(struct config *);
enum rp_err	 conf_load(struct config *, const char *path,
		    char *err, size_t errlen);
enum rp_err	 conf_load_secret(struct config *, int create,
		    char *err, size_t errlen);

/*
 * field.c: the one field table.  Every field accepted from a query string,
 * a form, a multipart body or a JSON object is named here once with its
 * maximum length and validator.  Handlers read req->in.f[FIELD_x] only, and
 * only fields that passed validation ever get there.
 */
enum field {
	FIELD_ACTION,		/* revoke|suspend|reactivate|recover|approve */
	FIELD_SERIAL,		/* hex, colons/spaces allowed */
	FIELD_TOKEN,		/* token label */
	FIELD_PASSPHRASE,	/* revocation passphrase */
	FIELD_REASON,		/* RFC 5280 reason name */
	FIELD_ISSUER,		/* issuer DN */
	FIELD_REQUEST_ID,	/* 22 base64url characters */
	FIELD_CHALLENGE_ID,	/* 22 base64url characters */
	FIELD_SIGNATURE,	/* base64 CMS, or a file upload */
	FIELD_CSRF,		/* form token, see csrf.c */
	FIELD_NOTE,		/* free text, one paragraph */
	FIELD_Q,		/* search text */
	FIELD__MAX
};

#define FIELD_BIT(f)	(1u << (f))

/* Flags of a field_def. */
#define FIELDF_BINARY	0x01u	/* bytes, may hold NUL: uploads */
#define FIELDF_SECRET	0x02u	/* never echoed, never logged */
#define FIELDF_MULTILINE 0x04u	/* LF and CR allowed in text */

struct field_def {
	const char	*name;
	size_t		 max;		/* bytes after decoding */
	unsigned int	 flags;
	/* Extra check after the generic ones; NULL for none. */
	int		(*valid)(const char *, size_t);
};

extern const struct field_def fields[FIELD__MAX];

/* Known cookies; unknown ones are ignored. */
enum cookie {
	COOKIE_CSRF,
	COOKIE__MAX
};

extern const char *const cookie_names[COOKIE__MAX];

/* One accepted value.  val is NUL terminated; len excludes the NUL. */
struct param {
	char		*val;
	size_t		 len;
	char		*filename;	/* multipart file part, else NULL */
	int		 set;
};

/* Everything parsed from one request's query, body and cookies. */
struct input {
	struct param	 f[FIELD__MAX];
	char		*cookie[COOKIE__MAX];
};

enum field	 field_lookup(const char *name, size_t len); /* FIELD__MAX if none */
enum rp_err	 field_set(struct input *, enum field, const char *val,
		    size_t len, const char *filename, struct rp_errinfo *);
void		 input_free(struct input *);

/*
 * http_parse.c: the body and header parsers.  Each fills in, validating
 * through field_set(); on failure it returns RP_ERR_BAD_INPUT (or
 * RP_ERR_TOO_LARGE, RP_ERR_MEDIA) with ei filled, and in may hold fields
 * set before the failure (input_free() releases them).
 *
 * In a query string, names not in the field table are ignored (links carry
 * tracking parameters); in a body they are an error.
 */
enum rp_err	 http_parse_query(struct input *, const char *, size_t,
		    struct rp_errinfo *);
enum rp_err	 http_parse_urlenc(struct input *, const char *, size_t,
		    struct rp_errinfo *);
enum rp_err	 http_parse_multipart(struct input *, const char *ctype,
		    const char *, size_t, struct rp_errinfo *);
enum rp_err	 http_parse_json(struct input *, const char *, size_t,
		    struct rp_errinfo *);
enum rp_err	 http_parse_cookies(struct input *, const char *, size_t);
enum http_body {
	HTTP_BODY_FORM,		/* url-encoded or multipart form */
	HTTP_BODY_JSON,
	HTTP_BODY_OTHER		/* anything else, or no type */
};

enum http_body	 http_body_kind(const char *ctype);
/* Dispatches on the Content-Type (NULL when absent). */
enum rp_err	 http_parse_body(struct input *, const char *ctype,
		    const char *, size_t, struct rp_errinfo *);
/* Decodes %XX and '+' in place semantics into out; returns -1 on bad %. */
int		 http_pct_decode(const char *, size_t, char *out, size_t *outlen,
		    int plus_is_space);

/*
 * csrf.c: signed form tokens bound to a random per-browser cookie.
 * token = base64url(issued_at_be64 || HMAC-SHA256(secret,
 * "revportal-csrf\0" || cookie || issued_at_be64)).  Verification is
 * constant-time and fails closed.
 */
#define CSRF_COOKIE_LEN	22u	/* base64url of 16 random bytes */
#define CSRF_TOKEN_MAX	64u

enum rp_err	 csrf_new_cookie(char out[CSRF_COOKIE_LEN + 1]);
int		 csrf_cookie_valid(const char *);
enum rp_err	 csrf_token(const unsigned char *secret, const char *cookie,
		    int64_t now, char *out, size_t outsz);
enum rp_err	 csrf_check(const unsigned char *secret, const char *cookie,
		    const char *token, int64_t now, unsigned long ttl);

/*
 * tmpl.c: the template renderer.  All templates of a directory are parsed
 * once at start-up; a syntax error names the file and line.  Syntax:
 *   {{name}}            value of name (dotted path), HTML-escaped
 *   {{raw name}}        value of name, NOT escaped (the only raw insertion)
 *   {{#name}}..{{/name}} section: once per array element, once for a
 *                       true/non-empty value, skipped otherwise
 *   {{^name}}..{{/name}} inverted section
 *   {{! comment }}
 *   {{>page}}           in layout.html only: where the page goes
 * Anything else between {{ and }} is an error at load time.  The context
 * is a jansson object owned by the caller.
 */
enum tmpl_id {
	TMPL_LANDING,
	TMPL_NOT_FOUND,
	TMPL_ERROR,
	TMPL_TEST_FORM,
	TMPL__MAX
};

struct tmpl_set;

struct tmpl_set	*tmpl_load(const char *dir, char *err, size_t errlen);
void		 tmpl_free(struct tmpl_set *);
/* Renders page id inside layout.html, appending to out. */
enum rp_err	 tmpl_render(const struct tmpl_set *, enum tmpl_id,
		    const json_t *ctx, struct buf *out);
/* Parses one template from memory; for tests and the fuzzer. */
struct tmpl_set	*tmpl_parse_mem(const char *layout, const char *page,
		    char *err, size_t errlen);

/*
 * db.c: the only file that includes sqlite3.h.  db_migrate() runs once in
 * the supervisor before any worker starts; every worker then opens its own
 * connection with db_open(), which prepares every statement once.
 */
struct db;

enum rp_err	 db_migrate(const struct config *, char *err, size_t errlen);
struct db	*db_open(const struct config *, char *err, size_t errlen);
void		 db_close(struct db *);
enum rp_err	 db_health(struct db *);
int		 db_schema_version(struct db *);
#ifdef RP_UNITTEST
/* Tests only: the next statement step fails with this SQLite code. */
void		 db_fault_set(int sqlite_error_code);
#endif

/*
 * metrics.c: counters shared by all workers in one anonymous shared
 * mapping made by the supervisor before forking, so a restarted worker
 * keeps the totals.  Updates are lock-free atomics.
 */
struct metrics;

struct metrics	*metrics_create(void);
void		 metrics_destroy(struct metrics *);
void		 metrics_in_flight(struct metrics *, int delta);
void		 metrics_observe(struct metrics *, unsigned int route,
		    int status, double seconds);
enum rp_err	 metrics_render(const struct metrics *, struct buf *);


/*
 * http_resp.c, route.c and the handlers: one request and its answer.
 * fcgi.c fills a struct req from the FastCGI environment, route_dispatch()
 * runs the handler and fills req->resp, and fcgi.c writes that out.  No
 * handler talks to FastCGI, so the router is testable without a server.
 */
enum method {
	METHOD_GET,
	METHOD_HEAD,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE,
	METHOD_OTHER,
	METHOD__MAX
};

/* What became of a request's body before it reached the router. */
enum body_status {
	BODY_OK,		/* read whole, or there was none */
	BODY_INVALID,		/* bad length, or shorter than announced */
	BODY_TOO_LARGE,		/* announced over the limit: not read */
	BODY_NOMEM		/* no memory to read it */
};

struct resp {
	int		 status;	/* 0 until set: the router uses 200 */
	const char	*ctype;		/* static string */
	int		 personal;	/* Cache-Control: no-store */
	struct buf	 headers;	/* extra header lines, each CRLF-ended */
	struct buf	 body;
};

/*
 * One worker's rendered copies of the pages that depend on nothing but
 * the configuration (routes flagged ROUTE_CACHE in route.c), made on
 * first use.  Lives as long as the worker; NULL means no caching.
 */
struct page_cache {
	struct buf	 body[RP_ROUTES_MAX];
	const char	*ctype[RP_ROUTES_MAX];
	int		 have[RP_ROUTES_MAX];
};

void		 page_cache_free(struct page_cache *);

/* Everything one request carries; lives for one request only. */
struct req {
	/* Per worker, set once. */
	const struct config	*cfg;
	const struct tmpl_set	*tmpl;
	struct db		*db;
	struct metrics		*metrics;
	struct page_cache	*cache;
	/* From the web server; the strings belong to the caller. */
	enum method		 method;
	const char		*path;		/* decoded path, no query */
	const char		*query;		/* may be NULL */
	const char		*ctype;		/* Content-Type, may be NULL */
	const char		*cookie_hdr;	/* may be NULL */
	const char		*origin;	/* Origin header, may be NULL */
	const char		*fetch_site;	/* Sec-Fetch-Site, may be NULL */
	const char		*body;
	size_t			 bodylen;
	enum body_status	 body_status;
	int64_t			 now;		/* seconds since the epoch */
	/* Filled by the router. */
	unsigned int		 route;		/* index into the route table */
	char			 arg[64];	/* the {id} path segment, if any */
	struct input		 in;
	struct rp_errinfo	 err;
	struct resp		 resp;
	char			 csrf_cookie[CSRF_COOKIE_LEN + 1];
};

/* http_resp.c */
void		 resp_init(struct resp *);
void		 resp_reset(struct resp *);
void		 resp_free(struct resp *);
enum rp_err	 resp_header(struct resp *, const char *name, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
enum rp_err	 resp_cookie(struct resp *, const char *name, const char *value,
		    long max_age);
enum rp_err	 resp_json(struct resp *, int status, const json_t *);
enum rp_err	 resp_html(struct req *, int status, enum tmpl_id, json_t *ctx);
enum rp_err	 resp_csrf_token(struct req *, char *out, size_t outsz);
enum rp_err	 resp_head(const struct req *, struct buf *out);
const char	*http_status_text(int);

/*
 * fcgi.c: one worker's accept loop.  It installs its signal handlers, then
 * sets the signal mask to mask.  Returns the process exit status: 0 after
 * SIGTERM or SIGINT (the request in hand is finished first), else non-zero
 * when the worker could not start or accept failed.
 */
int		 fcgi_worker_run(int listen_fd, const struct config *,
		    const struct tmpl_set *, struct metrics *,
		    const sigset_t *mask);

/* route.c: the page table; the only place errors become status codes. */
void		 route_dispatch(struct req *);
unsigned int	 route_count(void);
const char	*route_name(unsigned int);
int		 route_status_of(enum rp_err);
#ifdef RP_UNITTEST
int		 route_match(const char *, const char *, char *, size_t);
#endif

/* The handlers, one per page or API call. */
enum rp_err	 h_landing(struct req *);
enum rp_err	 h_healthz(struct req *);
enum rp_err	 h_metrics(struct req *);
#ifdef RP_TESTING
enum rp_err	 h_test_form_get(struct req *);
enum rp_err	 h_test_form_post(struct req *);
enum rp_err	 h_test_echo(struct req *);
enum rp_err	 h_test_slow(struct req *);
#endif

#endif /* REVPORTAL_EXTERN_H */
