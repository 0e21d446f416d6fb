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

#include <sys/types.h>

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
#define RP_ROUTES_MAX		48u		/* routes + "unmatched", at most */
#define RP_SUN_PATH_MAX		108u		/* sizeof(sockaddr_un.sun_path) */

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
/* rp_read_fileat() flags. */
#define RP_READ_NOFOLLOW	0x1u	/* refuse a symbolic link */
char		*rp_read_fileat(int dfd, const char *path, unsigned int flags,
		    size_t max, size_t *lenp, mode_t *modep, char *why,
		    size_t whylen);
int		 rp_ct_equal(const void *, const void *, size_t);
/* Unpadded base64url; decoding reads only the canonical spelling. */
size_t		 rp_b64url_encode(const unsigned char *, size_t, char *,
		    size_t);
int		 rp_b64url_decode(const char *, size_t, unsigned char *,
		    size_t);
/* Padded base64 with white space allowed (PEM, CMS); 0 when malformed. */
size_t		 rp_b64_decode(const char *, size_t, unsigned char *, size_t);
int		 rp_utf8_valid(const char *, size_t);
/* UTF-8 without C0, DEL, C1, bidi controls, U+2028/9: see buf.c. */
int		 rp_text_visible(const char *, size_t);
/* No C1 control and, with bidi, no bidi control or line separator. */
int		 rp_text_marks_ok(const char *, size_t, int bidi);

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
 * The domain: certificates, actions, who asks and how.  The names of each
 * enum's values, as stored in the database and shown in the API, are in
 * the tables of dom.c; dom_*_name() gives them, dom_*_parse() reads them
 * (returning the __MAX value for an unknown name).
 */
#define RP_ID_LEN	22u	/* public ids: base64url of 128 random bits */
#define RP_SERIAL_MAX	41u	/* 20 bytes as hex, + NUL */
#define RP_DN_MAX	1024u	/* one distinguished name, RFC 2253 text */
#define RP_LABEL_MAX	64u	/* token labels, ETSI identifiers */
#define RP_TEXT_MAX	256u	/* names, e-mail addresses */
#define RP_PEM_MAX	(64u * 1024u)	/* one certificate file */

enum cert_type {
	CT_PERSONAL,
	CT_BUSINESS,
	CT_APPLICATION,
	CT_ESEAL,
	CT_TLS,
	CT_QWAC,
	CT__MAX
};

enum cert_status {
	CS_VALID,
	CS_SUSPENDED,
	CS_REVOKED,
	CS__MAX
};

/* What a request asks the CA to do to its certificate(s). */
enum action {
	ACT_REVOKE,
	ACT_SUSPEND,
	ACT_REACTIVATE,
	ACT_RECOVER,
	ACT__MAX
};

enum channel {
	CH_WEB,
	CH_API,
	CH_HOTLINE,
	CH_OFFICER,
	CH_SYSTEM,
	CH__MAX
};

enum auth_method {
	AUTH_PASSPHRASE,
	AUTH_SIGNATURE,
	AUTH_STAFF,
	AUTH__MAX
};

/*
 * RFC 5280 CRLReason values.  7 is unused; certificateHold (6) is never
 * chosen by anyone, it is what a suspension means.
 */
enum crl_reason {
	REASON_UNSPECIFIED = 0,
	REASON_KEY_COMPROMISE = 1,
	REASON_CA_COMPROMISE = 2,
	REASON_AFFILIATION_CHANGED = 3,
	REASON_SUPERSEDED = 4,
	REASON_CESSATION = 5,
	REASON_HOLD = 6,
	REASON_REMOVE_FROM_CRL = 8,
	REASON_PRIVILEGE_WITHDRAWN = 9,
	REASON_AA_COMPROMISE = 10,
	REASON__MAX
};

#define REASON_BIT(r)	(1u << (r))

/* The state machine of a request; lifecycle.c owns it. */
enum req_state {
	RS_AWAITING_APPROVAL,
	RS_QUEUED,
	RS_RELAYED,
	RS_COMPLETED,
	RS_REJECTED,
	RS_EXPIRED,
	RS_FAILED,
	RS__MAX
};

/* A party's relation to a certificate: who may sign for it. */
#define REL_SUBJECT	0x1u	/* the subject person named in it */
#define REL_LEGAL_REP	0x2u	/* a legal rep of its organisation */

/* Staff roles, a bit set. */
#define ROLE_AGENT	0x1u
#define ROLE_OFFICER	0x2u
#define ROLE_ADMIN	0x4u
#define ROLE_ALL	0x7u

const char	*dom_type_name(enum cert_type);
enum cert_type	 dom_type_parse(const char *);
const char	*dom_status_name(enum cert_status);
enum cert_status dom_status_parse(const char *);
const char	*dom_action_name(enum action);
enum action	 dom_action_parse(const char *);
/* "Revocation", ...; NULL out of range. */
const char	*dom_action_noun(enum action);
const char	*dom_channel_name(enum channel);
enum channel	 dom_channel_parse(const char *);
const char	*dom_auth_name(enum auth_method);
enum auth_method dom_auth_parse(const char *);
/* RFC 5280 names ("keyCompromise"); NULL for 7 and out of range. */
const char	*dom_reason_name(enum crl_reason);
enum crl_reason	 dom_reason_parse(const char *);
/* Words for people (DESIGN §2), else the RFC 5280 name, else "-". */
const char	*dom_reason_words(enum crl_reason);
/* A form's reasons, a new array of {value, words, selected}; see dom.c. */
json_t		*dom_reason_choices(unsigned int offered,
		    enum crl_reason chosen);
const char	*dom_state_name(enum req_state);
enum req_state	 dom_state_parse(const char *);
/* Role bits <-> "agent,officer"; parse returns 0 for a bad list. */
enum rp_err	 dom_roles_format(unsigned int, char *, size_t);
unsigned int	 dom_roles_parse(const char *);
/* Milliseconds since the epoch, UTC, from the real-time clock. */
int64_t		 rp_now_ms(void);
/* Writes ms as "2026-11-21T22:40:50.123Z" (out holds 32). */
void		 rp_time_format(int64_t ms, char out[32]);
/* A new public id: RP_ID_LEN base64url characters of 128 random bits. */
enum rp_err	 rp_random_id(char out[RP_ID_LEN + 1]);

/*
 * policy.c: DESIGN §2 as data (struct policy, filled from db/policy.ini
 * and the [policy.*] sections of the configuration by conf.c) plus one
 * pure function, policy_decide().  No other file decides who may do what.
 */

/* The who-must-sign rule of one certificate type and action group. */
enum signers {
	SIGNERS_NONE,		/* the action is not possible */
	SIGNERS_SUBJECT,	/* the subject person */
	SIGNERS_SUBJECT_OR_REP,	/* the subject person or a legal rep */
	SIGNERS_SUBJECT_AND_REP,/* both */
	SIGNERS_REP,		/* a legal rep, with or without the subject */
	SIGNERS__MAX
};

/* The columns of the who-must-sign table. */
enum sign_group {
	SG_REVOKE_SUSPEND,
	SG_REACTIVATE,
	SG_RECOVER,
	SG__MAX
};

struct policy {
	/* [suspend] */
	unsigned int	 suspend_types;		/* bit per cert_type */
	unsigned int	 suspend_max_days;	/* 60 */
	enum action	 suspend_end_action;	/* ACT_REVOKE or ACT_REACTIVATE */
	/* [passphrase] */
	int		 online_suspend;	/* yes */
	int		 online_revoke;		/* no */
	/* A passphrase revokes the types that cannot be suspended
	 * (tls, qwac) wherever it could otherwise suspend. */
	int		 revoke_unsuspendable;	/* yes */
	unsigned int	 max_failures;		/* 5 */
	/* [hotline] */
	int		 hotline_suspend;	/* yes */
	enum action	 hotline_action;	/* ACT_REVOKE or ACT_SUSPEND */
	unsigned int	 hotline_revoke_reasons;/* 0,1: Fina's emergency */
	/* [recover] */
	unsigned int	 recover_term_years;	/* 5 */
	unsigned int	 recover_window_months;	/* 12 */
	unsigned int	 recover_renewal_days;	/* 45 */
	/* [approval] */
	unsigned int	 approval_expiry_hours;	/* 168 */
	/* [time] */
	unsigned int	 due_minutes;		/* 1440 */
	/* [reasons]: REASON_BIT sets */
	unsigned int	 reasons_subscriber;	/* 0,1,3,4,5 */
	unsigned int	 reasons_staff;		/* 0,1,3,4,5,9 */
	unsigned int	 reasons_tls;		/* 0,1,3,4,5,9 */
	/* [signers] */
	enum signers	 signers[CT__MAX][SG__MAX];
	/* [fees]: a fee notice is shown for the action */
	int		 fee[ACT__MAX];
};

/* What policy_decide() knows about the certificate. */
struct policy_cert {
	enum cert_type	 type;
	enum cert_status status;
	int64_t		 not_before;	/* ms */
	int64_t		 not_after;	/* ms */
	unsigned int	 term_years;
	int		 qscd;		/* its token is a QSCD */
};

struct policy_query {
	enum action		 action;
	struct policy_cert	 cert;
	enum channel		 channel;
	enum auth_method	 auth;
	/* REL_* of the actor: a signer's relation; for a passphrase
	 * REL_SUBJECT (the passphrase is the subscriber's); for an officer
	 * the parties who signed the paper request. */
	unsigned int		 relation;
	unsigned int		 roles;		/* ROLE_* of staff, else 0 */
	enum crl_reason		 reason;
	/* REL_* of parties that already signed this request (when the
	 * actor approves an existing request), else 0. */
	unsigned int		 approved;
	int64_t			 now;		/* ms */
};

enum policy_code {
	POL_ALLOW,
	POL_WRONG_STATUS,		/* 409 */
	POL_CERT_EXPIRED,		/* 409: past its notAfter */
	POL_NOT_ALLOWED_FOR_TYPE,	/* 422 */
	POL_TERM_NOT_ELIGIBLE,		/* 422: recovery, wrong term */
	POL_OUTSIDE_RECOVERY_WINDOW,	/* 422 */
	POL_RENEWAL_PERIOD,		/* 422 */
	POL_REASON_NOT_ALLOWED,		/* 422 */
	POL_NEEDS_SIGNATURE,		/* 422: method not enough here */
	POL_NOT_AUTHORISED,		/* 403 */
	POL__MAX
};

/* Flags of a decision. */
#define POLICY_FEE	0x1u	/* show the fee notice */
#define POLICY_CSR	0x2u	/* recovery: a CSR for the new key */
#define POLICY_NEW_DEVICE 0x4u	/* recovery: the key on a new QSCD */

struct policy_decision {
	enum policy_code code;
	unsigned int	 need;	/* REL_* parties still to sign; 0: none */
	unsigned int	 flags;	/* POLICY_* */
};

void		 policy_defaults(struct policy *);
enum policy_code policy_decide(const struct policy *,
		    const struct policy_query *, struct policy_decision *);
const char	*policy_code_name(enum policy_code);
enum rp_err	 policy_code_err(enum policy_code);
/* When a suspension that began at suspended_at ends, in ms. */
int64_t		 policy_suspension_end(const struct policy *,
		    int64_t suspended_at);
int64_t		 policy_due_at(const struct policy *, int64_t received_at);
int64_t		 policy_approval_expiry(const struct policy *, int64_t at);

/*
 * x509.c: what revportal reads from a certificate, with OpenSSL.
 */
struct cert_info {
	char		 issuer[RP_DN_MAX];	/* RFC 2253 order, UTF-8 */
	char		 subject[RP_DN_MAX];
	char		 serial[RP_SERIAL_MAX];	/* canonical, see below */
	char		 common_name[RP_TEXT_MAX];
	char		 org_name[RP_TEXT_MAX];	/* subject O, "" if none */
	char		 person_id[RP_LABEL_MAX]; /* subject serialNumber */
	char		 org_id[RP_LABEL_MAX];	/* organizationIdentifier */
	char		 email[RP_TEXT_MAX];	/* subject or SAN e-mail */
	char		 aki[RP_SERIAL_MAX * 2];/* authority key id, hex */
	char		 sha256[65];		/* of the DER, lower hex */
	int64_t		 not_before;		/* ms */
	int64_t		 not_after;		/* ms */
	char		*pem;			/* the certificate alone */
};

enum rp_err	 x509_read_pem(const char *pem, size_t len,
		    struct cert_info *, struct rp_errinfo *);
/* The same for a certificate OpenSSL already holds (an X509 *). */
enum rp_err	 x509_info(void *x509, struct cert_info *,
		    struct rp_errinfo *);
void		 cert_info_free(struct cert_info *);
/*
 * Writes serial number text (hex, any case, colons, spaces, leading
 * zeros) in canonical form: upper-case hex without leading zeros, "0" for
 * zero, at most 40 digits.  Returns RP_OK or RP_ERR_BAD_INPUT.
 */
enum rp_err	 x509_serial_norm(const char *, size_t, char out[RP_SERIAL_MAX]);

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
	char		 policy_file[RP_CONF_STR]; /* default db_dir/policy.ini */
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
	/* [argon2]: the cost of new passphrase hashes and of the dummy
	 * verification that answers unknown serials in the same time. */
	unsigned int	 argon2_m_kib;		/* 19456 */
	unsigned int	 argon2_t;		/* 2 */
	unsigned int	 argon2_p;		/* 1 */
	/* The least time of every answer of pf_check(), ms; 0 in the file
	 * is automatic: main.c measures it at start-up (1.5 x the dummy
	 * verification) and stores it here before the workers fork. */
	unsigned int	 argon2_floor_ms;	/* 0 */
	/* [ratelimit]: passphrase attempts per client address. */
	unsigned int	 rate_attempts;		/* 10 */
	unsigned int	 rate_window;		/* seconds, 60 */
	/* [relay]: only socket matters to the web workers; the rest is
	 * revportal-relay's (outbox.c, relay.c). */
	char		 relay_socket[RP_CONF_STR]; /* nudge: unix datagram */
	unsigned int	 relay_backend;		/* enum ca_backend, cfssl */
	char		 relay_url[RP_CONF_STR];	/* CA base URL; "": none */
	char		 relay_ca_file[RP_CONF_STR];	/* "": system anchors */
	char		 relay_cert_file[RP_CONF_STR];	/* mTLS; "": none */
	char		 relay_key_file[RP_CONF_STR];	/* its key; "": none */
	int		 relay_allow_http;	/* http:// to loopback, no */
	unsigned int	 relay_connect_timeout_ms;	/* 3000 */
	unsigned int	 relay_timeout_ms;	/* 10000 */
	size_t		 relay_max_response;	/* bytes, 64K */
	unsigned int	 relay_poll_ms;		/* 5000 */
	unsigned int	 relay_lease_seconds;	/* 60 */
	unsigned int	 relay_backoff_min_ms;	/* 500 */
	unsigned int	 relay_backoff_max_ms;	/* 300000 */
	unsigned int	 relay_pending_check_ms;	/* 30000 */
	unsigned int	 relay_pending_max_hours;	/* 72 */
	char		 relay_metrics_file[RP_CONF_STR]; /* "": none */
	/* A recovery's enrolment at EJBCA (pkcs10enroll): the certificate
	 * and end entity profiles and the CA's name; "" for the first two:
	 * the old certificate's type name. */
	char		 relay_ejbca_cert_profile[RP_TEXT_MAX];
	char		 relay_ejbca_ee_profile[RP_TEXT_MAX];
	char		 relay_ejbca_ca_name[RP_TEXT_MAX];	/* "": none */
	/* [signature]: signed requests (sig.c, revchk.c). */
	char		 sig_anchors_dir[RP_CONF_STR];	/* "": none */
	int		 sig_require_qscd;	/* yes */
	unsigned int	 sig_ocsp_timeout_ms;	/* 3000, also for CRLs */
	/* How long an OCSP response without nextUpdate counts. */
	unsigned int	 sig_ocsp_max_age;	/* seconds, 3600 */
	unsigned int	 sig_clock_skew;	/* seconds, 300 */
	size_t		 sig_crl_max;		/* bytes, 8M */
	/* OCSP and CRLs over plain http:// to any host (they are signed;
	 * RFC 6960/5280 use http); no: loopback only. */
	int		 sig_http_any;		/* yes */
	/* [mail]: e-mail about requests, sent by revportal-relay. */
	char		 mail_url[RP_CONF_STR];	/* smtp(s)://host:port; "": off */
	char		 mail_from[RP_TEXT_MAX];
	char		 mail_ca_file[RP_CONF_STR];
	int		 mail_allow_plain;	/* smtp:// without TLS, loopback */
	unsigned int	 mail_timeout_ms;	/* 10000 */
	unsigned int	 mail_max_attempts;	/* 20 */
	/* From policy_file, then the [policy.*] sections of this file. */
	struct policy	 policy;
	/* Not from the file: read from secret_file by conf_load_secret(). */
	unsigned char	 secret[RP_SECRET_LEN];
};

void		 conf_defaults(struct config *);
enum rp_err	 conf_load(struct config *, const char *path,
		    char *err, size_t errlen);
enum rp_err	 conf_load_secret(struct config *, int create,
		    char *err, size_t errlen);
/* The longest one relay driver call and its recording may take (ms):
 * what a lease must outlast, and when the relay renews one. */
unsigned long long conf_relay_call_max(const struct config *);

/*
 * field.c: the one field table.  Every field accepted from a query string,
 * a form, a multipart body or a JSON object is named here once with its
 * maximum length and validator.  Handlers read req->in.f[FIELD_x] only, and
 * only fields that passed validation ever get there.
 */
enum field {
	FIELD_ACTION,		/* revoke|suspend|reactivate|recover|approve|login */
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
	FIELD_FORM_ID,		/* one-time id of a rendered form */
	FIELD_CERT,		/* certificates.id, decimal (staff pages) */
	FIELD_SCOPE,		/* "certificate" or "token" */
	FIELD_VERIFIED,		/* staff: proof the caller was verified */
	FIELD_CALL_REF,		/* hotline call reference */
	FIELD_CALLER_NAME,	/* the caller's stated name */
	FIELD_STATE,		/* a request state name (filters) */
	FIELD_CSR,		/* PKCS#10 PEM of a recovery's new key */
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
	COOKIE_REP,		/* a legal representative's session */
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
#define CSRF_COOKIE_LEN	RP_ID_LEN	/* a random id */
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
	TMPL_SUSPEND,		/* subscriber: the passphrase form */
	TMPL_REQUEST,		/* a request's status page */
	TMPL_AGENT,		/* hotline console: search and results */
	TMPL_AGENT_CERT,	/* a certificate, its history, verify */
	TMPL_AGENT_ACT,		/* after a verified caller: the action */
	TMPL_OFFICER,		/* the queue */
	TMPL_OFFICER_REQ,	/* one request, its audit trail, actions */
	TMPL_STAFF_DENIED,	/* 403 for staff pages */
	/* Signed requests for people (h_signpage.c). */
	TMPL_SIGN_FORM,		/* step 1: revoke, reactivate, recover */
	TMPL_SIGN_DOC,		/* step 2: the document, the upload */
	TMPL_APPROVALS,		/* a legal rep's login, or their list */
	TMPL_APPROVAL,		/* one request awaiting approval */
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
 * Every statement of the program after start-up.  The SQL text is fixed
 * in db.c's db_sql[]; other modules name a statement, bind its values in
 * the order of its "?" and read its columns in the order of its SELECT
 * (each entry of db_sql[] says them).
 */
enum db_stmt {
	/* Connection set-up and transactions (db.c's own). */
	DB_JOURNAL_WAL,
	DB_SYNC_FULL,
	DB_FOREIGN_KEYS_ON,
	DB_FOREIGN_KEYS_OFF,
	DB_FOREIGN_KEYS,
	DB_FOREIGN_KEY_CHECK,
	DB_USER_VERSION,
	DB_BEGIN,
	DB_BEGIN_READ,
	DB_COMMIT,
	DB_ROLLBACK,
	DB_HEALTH,
	/* Registry. */
	DB_ORG_GET,
	DB_ORG_ADD,
	DB_PERSON_GET,
	DB_PERSON_ADD,
	DB_TOKEN_GET,
	DB_TOKEN_ADD,
	DB_CERT_ADD,
	DB_CERT_BY_SERIAL,
	DB_CERT_BY_ROW,
	DB_CERTS_BY_TOKEN,
	DB_CERTS_OF_REQUEST,
	DB_CERT_SET_STATUS,
	DB_CERTS_ALL,
	DB_CERT_DUP,
	DB_PASS_ADD,
	DB_PASS_OF_TOKEN,
	DB_PASS_OF_CERT,
	DB_REP_ADD,
	DB_REP_END,
	DB_REP_ACTIVE,
	DB_REPS_ALL,
	DB_STAFF_ADD,
	DB_STAFF_SET_ACTIVE,
	DB_STAFF_BY_SHA,
	DB_STAFF_ALL,
	DB_CERT_EXPORT,
	DB_PERSONS_ALL,
	DB_ORGS_ALL,
	DB_TOKENS_ALL,
	DB_REP_OVERLAP,
	DB_REP_CANCEL,
	/* Requests. */
	DB_REQ_ADD,
	DB_REQ_CERT_ADD,
	DB_REQ_GET,
	DB_REQ_BY_ROW,
	DB_REQ_SET_STATE,
	DB_REQ_OPEN_FOR_CERT,
	DB_REQ_LIST,
	DB_APPROVAL_ADD,
	DB_APPROVALS_OF,
	DB_OUTBOX_ADD,
	DB_OUTBOX_OF,
	DB_OUTBOX_REQUEUE,
	DB_OUTBOX_DONE_CERTS,
	DB_SWEEP_SUSPENDED,
	DB_SWEEP_APPROVALS,
	/* Audit log. */
	DB_AUDIT_LAST,
	DB_AUDIT_ADD,
	DB_AUDIT_ALL,
	DB_AUDIT_OF,
	DB_AUDIT_AT,
	/* Facts about the database itself. */
	DB_META_GET,
	DB_META_SET,
	/* Passphrase checks, rate limit, idempotency (passflow.c). */
	DB_PF_PASS_GET,
	DB_PF_PASS_SET,
	DB_PF_RATE_HIT,
	DB_PF_RATE_SWEEP,
	DB_PF_IDEM_GET,
	DB_PF_IDEM_ADD,
	DB_PF_IDEM_SWEEP,
	/* Staff console and officer queue (staff.c, h_staff.c). */
	DB_STAFF_SEARCH,
	DB_STAFF_CERT,
	DB_STAFF_CERT_REQS,
	DB_STAFF_QUEUE,
	DB_STAFF_PASS_LOCKED,
	DB_STAFF_TRAIL_OF,
	DB_STAFF_TRAIL_CERT,
	DB_STAFF_TRAIL_CHECKS,
	/* Relay (outbox.c). */
	DB_OUTBOX_DUE,
	DB_OUTBOX_DUE_PLAN,
	DB_OUTBOX_LEASE,
	DB_OUTBOX_RECORD,
	DB_OUTBOX_RELEASE,
	DB_OUTBOX_UNDONE,
	DB_OUTBOX_STATS,
	DB_OUTBOX_NEXT,
	DB_OUTBOX_REVOKE_STATE,
	DB_OUTBOX_POSTPONE,
	DB_OUTBOX_RENEW,
	DB_OUTBOX_UNCLAIM,
	/* Challenges and signed requests (chal.c, signflow.c). */
	DB_CHAL_ADD,
	DB_CHAL_GET,
	DB_CHAL_USE,
	DB_SF_REP_ANY,
	DB_SF_SIGNER_STATE,
	/* Revocation cache (revchk.c). */
	DB_REV_GET,
	DB_REV_PUT,
	DB_REV_SWEEP,
	/* Approval pages (h_signpage.c). */
	DB_SP_PERSON_NAME,
	DB_SP_PENDING,
	DB_SP_REQUEST_CERTS,
	/* E-mail (mail.c). */
	DB_MAIL_REQ,
	DB_MAIL_PERSON,
	DB_MAIL_REPS,
	DB_MAIL_SIGNERS,
	DB_MAIL_ADD,
	DB_MAIL_DUE,
	DB_MAIL_LEASE,
	DB_MAIL_RECORD,
	DB_MAIL_NEXT,
	DB_MAIL_PURGE,
	/* Recovery (csr.c, outbox.c recovery rows). */
	DB_REC_ADD,
	DB_REC_GET,
	DB_REC_ISSUED,
	DB_REC_DONE,
	DB_REC_BLOCKED,
	DB__MAX
};

/*
 * One use of a prepared statement: dbq_start(), then dbq_int()/...
 * binding values in order, then dbq_step() for each row (reading columns
 * with dbq_col_*()), then dbq_end().  The first error sticks in q->err
 * and makes every later call a no-op, so a caller checks once, at
 * dbq_end().  Column strings live until the next step or the end.
 */
struct dbq {
	struct db	*db;
	void		*stmt;
	int		 nbind;
	int		 row;		/* a row is in hand */
	enum rp_err	 err;
#ifdef RP_UNITTEST
	int		 fault;		/* db_fault_stmt() armed this use */
#endif
};

void		 dbq_start(struct dbq *, struct db *, enum db_stmt);
void		 dbq_int(struct dbq *, int64_t);
void		 dbq_text(struct dbq *, const char *);	/* NULL: SQL NULL */
void		 dbq_blob(struct dbq *, const void *, size_t);
void		 dbq_null(struct dbq *);
/* Returns 1 with a row in hand, 0 when done or failed (see q->err). */
int		 dbq_step(struct dbq *);
int64_t		 dbq_col_int(const struct dbq *, int col);
/* NULL for SQL NULL. */
const char	*dbq_col_text(const struct dbq *, int col);
const void	*dbq_col_blob(const struct dbq *, int col, size_t *len);
int		 dbq_col_null(const struct dbq *, int col);
/* The stored length in bytes of column col (text may hold a NUL). */
size_t		 dbq_col_bytes(const struct dbq *, int col);
/* Resets the statement; returns q->err (RP_ERR_CONFLICT for a UNIQUE or
 * CHECK violation, RP_ERR_UNAVAILABLE when busy, ...). */
enum rp_err	 dbq_end(struct dbq *);
/* Runs a statement that returns no rows: start, binds done by the
 * caller, step, end.  Returns the changed row count in *changes. */
enum rp_err	 dbq_exec(struct dbq *, int *changes);

/* BEGIN IMMEDIATE; COMMIT (durable: WAL, synchronous FULL); ROLLBACK.
 * db_begin_read(): a read snapshot (deferred BEGIN) that blocks no
 * writer; end it with db_rollback(). */
enum rp_err	 db_begin(struct db *);
enum rp_err	 db_begin_read(struct db *);
enum rp_err	 db_commit(struct db *);
void		 db_rollback(struct db *);
int64_t		 db_last_id(struct db *);
#ifdef RP_UNITTEST
/* Tests only: the next step of statement s fails with this code. */
void		 db_fault_stmt(enum db_stmt s, int sqlite_error_code);
#endif

/*
 * registry.c: organisations, persons, legal representatives, tokens,
 * certificates, passphrase hashes and staff accounts.
 */
#define RP_TOKEN_CERTS_MAX	16u	/* certificates on one token */

/* One certificate as the registry holds it. */
struct cert_row {
	int64_t		 id;
	char		 issuer[RP_DN_MAX];
	char		 serial[RP_SERIAL_MAX];
	char		 subject[RP_DN_MAX];
	enum cert_type	 type;
	enum cert_status status;
	int64_t		 person;		/* persons.id, 0: none */
	int64_t		 organisation;		/* organisations.id, 0: none */
	int64_t		 token;			/* tokens.id, 0: none */
	char		 person_id[RP_LABEL_MAX];/* "PNOSI-...", "" */
	char		 org_id[RP_LABEL_MAX];	/* "VATSI-...", "" */
	char		 token_label[RP_LABEL_MAX];
	int		 qscd;
	int64_t		 not_before;
	int64_t		 not_after;
	unsigned int	 term_years;
	int64_t		 status_at;
	int64_t		 suspended_at;		/* 0 unless suspended */
	int64_t		 suspended_until;	/* 0 unless suspended */
	enum crl_reason	 reason;		/* the subscriber's */
	char		 aki[RP_SERIAL_MAX * 2];
};

/* What import-cert knows beyond the certificate itself. */
struct reg_import {
	enum cert_type	 type;
	unsigned int	 term_years;	/* 0: from the validity period */
	const char	*token;		/* label, NULL: none */
	const char	*token_kind;	/* smartcard|usb|cloud|software */
	int		 qscd;
	const char	*pass_hash;	/* "$argon2id$...", NULL: none */
	const char	*actor;		/* for the audit log */
	int64_t		 now;
};

/* Finds a certificate by canonical serial and, if not NULL, issuer DN.
 * RP_ERR_NOT_FOUND when none, RP_ERR_CONFLICT ("ambiguous_serial") when
 * the serial alone matches certificates of two issuers. */
enum rp_err	 reg_cert_find(struct db *, const char *issuer,
		    const char *serial, struct cert_row *, struct rp_errinfo *);
enum rp_err	 reg_cert_get(struct db *, int64_t id, struct cert_row *);
/* Fills rows (up to max) with the certificates of token label; *n. */
enum rp_err	 reg_token_certs(struct db *, const char *label,
		    struct cert_row *rows, size_t max, size_t *n,
		    struct rp_errinfo *);
/* Within a transaction: registers the certificate, creating its person,
 * organisation and token as needed, and audits it.  *id gets its row. */
enum rp_err	 reg_import_cert(struct db *, const struct cert_info *,
		    const struct reg_import *, int64_t *id,
		    struct rp_errinfo *);
/* Within a transaction, audited: registers the certificate a recovery
 * issued in place of old, with old's person, organisation, type and
 * term and no token (recovery, outbox.c).  *id gets its row. */
enum rp_err	 reg_import_successor(struct db *, const struct cert_info *,
		    const struct cert_row *old, const char *actor,
		    int64_t now, int64_t *id, struct rp_errinfo *);
/* Fills rows (up to max) with the certificates of request id; *n. */
enum rp_err	 reg_request_certs(struct db *, int64_t id,
		    struct cert_row *rows, size_t max, size_t *n);
/* Whether person (persons.id) is a legal rep of organisation at t. */
enum rp_err	 reg_is_rep(struct db *, int64_t organisation,
		    int64_t person, int64_t t, int *yes);
/* Within a transaction, audited: registers person_id (creating the
 * person and organisation when new; names and e-mail may then be NULL
 * only if they exist) as legal rep of org_id from..to (to 0: open). */
enum rp_err	 reg_rep_add(struct db *, const char *org_id,
		    const char *org_name, const char *person_id,
		    const char *person_name, const char *email, int64_t from,
		    int64_t to, const char *actor, int64_t now,
		    struct rp_errinfo *);
/* Within a transaction, audited: ends the representation in force at
 * now (*ended) and cancels those not begun (valid_to = valid_from,
 * *cancelled); RP_ERR_NOT_FOUND if there is neither. */
enum rp_err	 reg_rep_end(struct db *, const char *org_id,
		    const char *person_id, const char *actor, int64_t now,
		    int *ended, int *cancelled, struct rp_errinfo *);
/*
 * What the registry accepts, for callers that check a command line
 * first; each returns 1 or 0.  Identifiers follow ETSI EN 319 412-1:
 * a person "(PAS|IDC|PNO|TAX|TIN)CC-..." (a subject serialNumber of
 * another form names no person), an organisation
 * "(VAT|NTR|PSD|LEI)CC-..."; CC two letters A-Z, then 1 to 50 printable
 * ASCII characters without spaces.  Names, labels and e-mail addresses
 * are UTF-8 without control or bidi characters (rp_text_visible()).
 */
int		 reg_person_id_ok(const char *);
int		 reg_org_id_ok(const char *);
int		 reg_name_ok(const char *);	/* 1..255 bytes */
int		 reg_label_ok(const char *);	/* 1..63 bytes */
int		 reg_email_ok(const char *);
int		 reg_token_kind_ok(const char *);
/* Within a transaction, audited: a staff account for the certificate. */
enum rp_err	 reg_staff_add(struct db *, const struct cert_info *,
		    const char *name, unsigned int roles, const char *actor,
		    int64_t now, struct rp_errinfo *);
enum rp_err	 reg_staff_set_active(struct db *, const char *sha256,
		    int active, const char *actor, int64_t now,
		    struct rp_errinfo *);

/*
 * csv.c: the RFC 4180 reader of revportal-admin import-dir.  Fields are
 * separated by commas and records by LF or CRLF; blank lines are
 * skipped.  A field in double quotes may hold commas and doubled quotes
 * ("" for one), but no line end, so that a record is one line.  Refused:
 * a quote inside an unquoted field, text after a closing quote, a line
 * end inside quotes, an unclosed quote, a CR without LF, a NUL byte, and
 * more than the limits below.  Other bytes pass as they are, UTF-8 or
 * not, spaces included: what a field means is the caller's to check.
 */
#define CSV_FILE_MAX	(1024u * 1024u)	/* the whole text, bytes */
#define CSV_FIELDS_MAX	7u		/* fields of one record */
#define CSV_FIELD_MAX	511u		/* bytes of one field, unquoted */
/* The longest line these allow (every field quoted, every byte a
 * doubled quote), its line end not counted. */
#define CSV_LINE_MAX	(CSV_FIELDS_MAX * (2u * CSV_FIELD_MAX + 3u) - 1u)

/* A reader over one text; csv_init() fills it. */
struct csv {
	const char	*p;		/* borrowed */
	size_t		 len;
	size_t		 pos;		/* the next byte to read */
	size_t		 line;		/* the line at pos, from 1 */
};

/* One record: fields f[0..n), each NUL terminated. */
struct csv_rec {
	char		 f[CSV_FIELDS_MAX][CSV_FIELD_MAX + 1];
	size_t		 n;
	size_t		 line;		/* where it is, from 1 */
};

/* RP_ERR_TOO_LARGE for a text over CSV_FILE_MAX. */
enum rp_err	 csv_init(struct csv *, const char *text, size_t len,
		    struct rp_errinfo *);
/* RP_OK with the next record, or with r->n 0 at the end; an error with
 * ei filled (code "csv_..."), c->line naming the line. */
enum rp_err	 csv_next(struct csv *, struct csv_rec *r,
		    struct rp_errinfo *);

/*
 * pass.c: revocation passphrases, stored only as Argon2id strings
 * "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (libargon2).  A
 * passphrase is 8..128 bytes of UTF-8 without control characters.
 */
#define RP_PASS_HASH_MAX	256u	/* an encoded hash, NUL included */

/* Hashes pass[0..len) with a new salt into out; RP_ERR_BAD_INPUT for an
 * unacceptable passphrase. */
enum rp_err	 pass_hash(const char *pass, size_t len, char *out,
		    size_t outsz);
/* Strict check of an Argon2id string made elsewhere: 1 or 0.  Costs
 * m=19456..262144 KiB, t=2..10, p=1..4; salt 8..64, hash 16..64 bytes. */
int		 pass_hash_valid(const char *);
/* The cost of pass_hash() and of pass_verify_dummy() from now on
 * (the [argon2] settings); the default is m=19456, t=2, p=1. */
enum rp_err	 pass_cost_set(unsigned int m_kib, unsigned int t,
		    unsigned int p);
/* 1 when pass[0..len) matches the stored hash, else 0 (also for a hash
 * that is not valid); the comparison is constant-time. */
int		 pass_verify(const char *hash, const char *pass, size_t len);
/* A verification of the current cost whose result is thrown away: what
 * an unknown serial costs, so that it answers in the same time. */
void		 pass_verify_dummy(const char *pass, size_t len);
/* Makes the dummy hash now (start-up, before forking); an error means
 * the program must not start. */
enum rp_err	 pass_dummy_init(void);
/* 1 when a valid stored hash has another cost than pass_cost_set()'s:
 * a right passphrase is then hashed again at the current cost. */
int		 pass_rehash_due(const char *hash);
/* The automatic answer floor: 1.5 x the slowest of three dummy
 * verifications, in ms (at least 1). */
enum rp_err	 pass_floor_ms(unsigned int *ms);
#ifdef RP_UNITTEST
int		 pass_valid(const char *, size_t);
/* Tests only: the next pass_hash() fails (RP_ERR_INTERNAL). */
void		 pass_fault_next(void);
#endif

/*
 * passflow.c: what the subscriber pages, the API and the hotline console
 * share about passphrases: the check with its lockout, the per-client
 * rate limit, and the idempotency record of a POST that made a request.
 */
struct pf_target {
	int64_t		 cert;		/* certificates.id; 0 for a token */
	int64_t		 token;		/* tokens.id of a token check, 0 */
	int64_t		 pass;		/* passphrases.id that matched */
	/* The one certificate authenticated (issuer and serial exactly as
	 * stored, so that lc_create() acts on it and no other), or the
	 * token's label. */
	char		 issuer[RP_DN_MAX];	/* "" for a token */
	char		 serial[RP_SERIAL_MAX];	/* canonical, "" */
	char		 token_label[RP_LABEL_MAX];	/* "" */
};

/*
 * Checks pass[0..len) against the passphrase of the certificate
 * (issuer may be NULL; serial canonical) or of the token label (exactly
 * one of serial and token), its own or else its token's, and counts the
 * attempt: a wrong one adds a failure and locks the passphrase at the
 * policy's max_failures, a right one resets the count (and hashes the
 * passphrase again when its stored cost is not the [argon2] one); each
 * audited with actor.  An unknown target, a serial of several issuers
 * without the issuer, a target without a passphrase and a wrong
 * passphrase all return RP_ERR_AUTH (code "auth_failed", one message)
 * after an Argon2id verification of the same cost and the same write
 * transaction (a busy database is RP_ERR_UNAVAILABLE for all of them).
 * So is a passphrase changed between its verification and its count.
 * RP_ERR_LOCKED when the passphrase is locked (before or by this
 * attempt).  RP_OK with t.  Every answer takes at least [argon2]
 * answer_floor_ms from the call (monotonic clock); a stored hash costlier
 * than the floor still takes longer.  Audit subjects:
 * "certificate:<serial>" or "token:<label>".  now is in milliseconds
 * (rp_now_ms()), as in every pf_* function.  Must be called outside a
 * transaction: it opens its own.  RP_ERR_UNAVAILABLE when the count
 * could not be stored.
 */
enum rp_err	 pf_check(struct db *, const struct config *,
		    const char *issuer, const char *serial, const char *token,
		    const char *pass, size_t len, const char *actor,
		    int64_t now, struct pf_target *t, struct rp_errinfo *);
/* Counts one attempt of client (an address; NULL or "" is "unknown") in
 * its own transaction; RP_ERR_RATE ("rate_limited") with *retry_after
 * (seconds, at least 1) once over the [ratelimit] allowance.  An IPv6
 * address counts for its whole /64 network (an IPv4-mapped one as its
 * IPv4 address); anything else as given. */
enum rp_err	 pf_rate(struct db *, const struct config *,
		    const char *client, int64_t now, unsigned int *retry_after,
		    struct rp_errinfo *);
/* The same for another kind of attempt, counted apart under the key
 * "<kind>:<client>" (pf_rate() is kind "pass"; signed requests "sig");
 * kind is 1 to 7 lower-case letters. */
enum rp_err	 pf_rate_kind(struct db *, const struct config *,
		    const char *kind, const char *client, int64_t now,
		    unsigned int *retry_after, struct rp_errinfo *);
/* The sweep: deletes the rate-limit windows that ended by now (ms) and
 * the idempotency records older than PF_IDEM_KEEP_DAYS; *deleted (may
 * be NULL) gets how many rows in all. */
enum rp_err	 pf_sweep(struct db *, const struct config *, int64_t now,
		    unsigned int *deleted, struct rp_errinfo *);

/*
 * Idempotency of the POSTs that make a request: the key, scoped by the
 * passphrase that authenticated it ("api:<passphrases.id>:" and an
 * Idempotency-Key header of 1..PF_IDEM_KEY_MAX visible ASCII characters,
 * or "form:<passphrases.id>:" and a form's one-time form_id), and the
 * fingerprint of what was asked (SHA-256 hex over action, serial or
 * token, issuer, reason; never a secret).  pf_idem_init() checks the key
 * and fills the fingerprint before anything else; only after pf_check()
 * succeeded does pf_idem_bind() scope the key by t.pass, so a replay
 * needs the passphrase and two passphrases never share a key.  Then
 * pf_idem_find() answers whether it was seen; pf_idem_record() is the
 * lc_new.in_tx hook (arg: the struct pf_idem) that stores it with the
 * request, in its transaction.  Both refuse an unbound key.
 */
#define PF_IDEM_KEY_MAX	200u
#define PF_IDEM_KEEP_DAYS	7u	/* the sweep deletes older records */

struct lc_result;

struct pf_idem {
	char		 kind[8];		/* "api", "form" */
	char		 raw[PF_IDEM_KEY_MAX + 1];	/* as sent */
	char		 key[PF_IDEM_KEY_MAX + 32];	/* "": not bound */
	char		 fingerprint[65];
	int64_t		 now;		/* ms, when first asked */
};

/* The first answer to a key. */
struct pf_idem_hit {
	char		 public_id[RP_ID_LEN + 1];
	enum req_state	 state;
	int		 status;	/* HTTP status, 202 */
};

/* kind "api" or "form"; serial canonical, exactly one of serial and
 * token; issuer may be NULL.  RP_ERR_BAD_INPUT ("bad_idempotency_key")
 * for a key that is not 1..PF_IDEM_KEY_MAX visible ASCII characters. */
enum rp_err	 pf_idem_init(struct pf_idem *, const char *kind,
		    const char *key, enum action, const char *issuer,
		    const char *serial, const char *token, enum crl_reason,
		    int64_t now, struct rp_errinfo *);
/* Scopes the key by the passphrase row pf_check() authenticated:
 * "<kind>:<pass>:<key>".  RP_ERR_INTERNAL for pass <= 0. */
enum rp_err	 pf_idem_bind(struct pf_idem *, int64_t pass,
		    struct rp_errinfo *);
/* RP_OK with *found (and hit when found); RP_ERR_POLICY
 * ("idempotency_key_reused") when the key was used for another
 * fingerprint. */
enum rp_err	 pf_idem_find(struct db *, const struct pf_idem *,
		    struct pf_idem_hit *, int *found, struct rp_errinfo *);
/* lc_new.in_tx: RP_ERR_CONFLICT ("idempotency_race") when another
 * worker stored the key first (everything then rolls back). */
enum rp_err	 pf_idem_record(struct db *, void *arg, int64_t request_row,
		    const struct lc_result *, struct rp_errinfo *);
#ifdef RP_UNITTEST
/* Tests only: fn(arg) runs in pf_check() between the verification and
 * the counting transaction; NULL for none. */
void		 pf_test_between(void (*fn)(void *), void *arg);
#endif

/*
 * nudge.c: a worker that queued an action wakes revportal-relay with one
 * datagram on [relay] socket.  Never blocks, never fails the caller: the
 * relay also polls.
 */
void		 relay_nudge(const char *socket_path);

/*
 * hc.c: the one HTTP client (libcurl), hardened once for every use: https
 * only (http:// only with allow_http, and then only to a loopback
 * address, or with http_any to any host), no redirects, connect and total
 * timeouts, an answer size cap, peer and host verification always on, a
 * client certificate and key for mutual TLS from files.
 */
#define HC_CTYPE_MAX	128u	/* an answer's Content-Type, NUL included */

struct hc_conf {
	const char	*ca_file;	/* trust anchors; NULL or "": system */
	const char	*cert_file;	/* client certificate (PEM), NULL */
	const char	*key_file;	/* its key (PEM), NULL */
	int		 allow_http;	/* http:// to loopback allowed */
	/* http:// to any host allowed (implies allow_http): only for
	 * revchk.c's OCSP and CRL fetches, whose answers are signed and
	 * which RFC 6960 and RFC 5280 serve over http.  Never the relay's. */
	int		 http_any;
	/* The Accept header's value; NULL: application/json. */
	const char	*accept;
	unsigned int	 connect_timeout_ms;
	unsigned int	 timeout_ms;
	size_t		 max_response;	/* bytes of one answer body */
};

struct hc;

struct hc_resp {
	long		 status;	/* HTTP status; 0 without an answer */
	/* The answer's Content-Type as sent (printable ASCII, cut to
	 * fit), "" when there was none. */
	char		 ctype[HC_CTYPE_MAX];
	struct buf	 body;		/* the answer body, NUL terminated */
	char		 error[RP_ERRMSG_MAX];	/* why there is no answer */
};

struct hc	*hc_new(const struct hc_conf *, char *err, size_t errlen);
void		 hc_free(struct hc *);
/*
 * One request; body may be NULL.  RP_OK when an HTTP answer arrived,
 * whatever its status; RP_ERR_UNAVAILABLE for a connection failure or a
 * timeout, RP_ERR_TOO_LARGE for an answer over max_response,
 * RP_ERR_BAD_INPUT for a URL the configuration does not allow; r->error
 * then says why.  hc_resp_free() releases r either way.
 */
enum rp_err	 hc_request(struct hc *, const char *method, const char *url,
		    const char *ctype, const void *body, size_t len,
		    struct hc_resp *r);
void		 hc_resp_free(struct hc_resp *);
/*
 * Checks a TLS file before the client is made: a regular file; a secret
 * (a key) owned by this process's effective user and readable by no one
 * else; any other (trust anchors, a certificate) writable by no one but
 * its owner.  Returns 1, or 0 with a sentence in why.
 */
int		 hc_file_safe(const char *path, int secret, char *why,
		    size_t whylen);

/*
 * sig.c: DESIGN §3 steps 1 to 4 of a signed request, with OpenSSL's CMS
 * and X509 APIs, failing closed: a bounded parse of the CMS SignedData
 * (DER, or base64 of it), exactly one SignerInfo, SHA-256 or stronger,
 * RSA >= 2048 or ECDSA P-256/384/521, the signature itself, the signed
 * content byte for byte the document issued, the signer chaining to the
 * trust anchor directory and valid now, qualified (QcCompliance, QcSSCD
 * when required, QcType esign when a QcType is present) and with
 * nonRepudiation.  Step 5 is revchk.c's, step 6 lifecycle.c's; the
 * nonce (step 2) is chal.c's.
 */

/* Why a signed request was refused: each is audited by name, and never
 * told apart in the HTTP answer (401 for all). */
enum sig_why {
	SIG_OK,
	SIG_TOO_LARGE,		/* over RP_SIG_MAX */
	SIG_GARBAGE,		/* neither DER nor base64 of DER */
	SIG_NOT_CMS,		/* not a CMS SignedData (or truncated) */
	SIG_SIGNER_COUNT,	/* not exactly one SignerInfo */
	SIG_NO_SIGNER_CERT,	/* the signer's certificate is not in it */
	SIG_DIGEST_WEAK,	/* SHA-1, MD5, or unknown digest */
	SIG_KEY_WEAK,		/* RSA < 2048, another curve, DSA, ... */
	SIG_BAD_SIGNATURE,	/* the signature does not verify */
	SIG_CONTENT_MISMATCH,	/* not the issued document, byte for byte */
	SIG_UNTRUSTED,		/* no chain to a trust anchor */
	SIG_CERT_EXPIRED,	/* signer (or its chain) past notAfter */
	SIG_CERT_NOT_YET_VALID,	/* before notBefore */
	SIG_NOT_QUALIFIED,	/* no QcCompliance */
	SIG_NO_QSCD,		/* no QcSSCD while require_qscd */
	SIG_NOT_ESIGN,		/* a QcType that is not esign */
	SIG_NO_NONREP,		/* keyUsage without nonRepudiation */
	SIG_NO_PERSON_ID,	/* no subject serialNumber */
	/* Step 5, revchk.c */
	SIG_REVOKED,		/* OCSP or CRL: revoked */
	SIG_REV_UNKNOWN,	/* OCSP: unknown */
	SIG_REV_UNAVAILABLE,	/* no OCSP answer and no usable CRL */
	SIG_OCSP_BAD_SIGNER,	/* response not signed by the CA or its
				   delegated responder */
	SIG_OCSP_STALE,		/* outside thisUpdate/nextUpdate */
	SIG_OCSP_INVALID,	/* malformed, not successful, wrong cert */
	SIG_CRL_INVALID,	/* CRL malformed, wrongly signed, stale */
	/* Step 2, chal.c and signflow.c */
	SIG_CHALLENGE_UNKNOWN,	/* no such challenge */
	SIG_NONCE_USED,		/* the challenge was used already */
	SIG_NONCE_EXPIRED,	/* past its 15 minutes */
	SIG_WRONG_PURPOSE,	/* the challenge is for another call */
	SIG_INTERNAL,		/* out of memory, a library failure */
	SIG__MAX
};

#define RP_SIG_MAX	(64u * 1024u)	/* bytes of a CMS signature */
#define RP_ANCHOR_FILE_MAX (1024u * 1024u)	/* one trust anchor file */
#define RP_ANCHORS_MAX	256u		/* trust anchor certificates */

const char	*sig_why_name(enum sig_why);

/* The trust anchors and settings, loaded once before the workers fork. */
struct sig_ctx;

/* What the portal keeps of a verified signer; sig_signer_free() frees. */
struct signer {
	char		 person_id[RP_LABEL_MAX];	/* subject serialNumber */
	char		 org_id[RP_LABEL_MAX];		/* organizationIdentifier */
	char		 common_name[RP_TEXT_MAX];
	char		 subject[RP_DN_MAX];
	char		 issuer[RP_DN_MAX];
	char		 serial[RP_SERIAL_MAX];
	char		 sha256[65];	/* of the certificate's DER, hex */
	char		 email[RP_TEXT_MAX];
	void		*cert;		/* X509 *, owned */
	void		*issuer_cert;	/* X509 *, owned: its issuer */
	void		*chain;		/* STACK_OF(X509) *, owned */
};

/*
 * Loads every certificate of the trust anchor directory (files ending in
 * .pem or .crt, PEM, several certificates a file allowed; self-signed
 * roots and the intermediate qualified CAs the TSP accepts, each trusted
 * as it is).  NULL with err filled on failure or when none is found.
 */
struct sig_ctx	*sig_ctx_new(const char *anchors_dir, int require_qscd,
		    char *err, size_t errlen);
void		 sig_ctx_free(struct sig_ctx *);
/*
 * Steps 1, 2 (content only), 3 and 4 for sig (siglen bytes: DER, or
 * base64 with or without line breaks or PEM armour) against the issued
 * document doc at now (ms).  On SIG_OK out is filled (free it with
 * sig_signer_free()); otherwise out holds nothing to free, except that
 * its text fields may name the signer when the certificate was read.
 */
enum sig_why	 sig_verify(const struct sig_ctx *, const void *sig,
		    size_t siglen, const char *doc, size_t doclen, int64_t now,
		    struct signer *out);
void		 sig_signer_free(struct signer *);

/*
 * revchk.c: step 5, is the signer revoked?  OCSP to the URL of its AIA
 * over libcurl (response signature by the issuer or its delegated
 * responder, the certificate id, thisUpdate/nextUpdate freshness), cached
 * in revocation_cache until nextUpdate; when no OCSP answer comes, the
 * CRL of its CDP (signature by the issuer, nextUpdate), cached the same
 * way.  Unknown, unreachable, invalid: refused (fail closed).
 */
struct rev_ctx;

struct rev_ctx	*rev_ctx_new(const struct config *, char *err,
		    size_t errlen);
void		 rev_ctx_free(struct rev_ctx *);
/*
 * SIG_OK when the signer (its cert and issuer_cert) is known good at now
 * (ms); else why not (SIG_INTERNAL when issuer_cert did not issue cert).
 * Call it outside any transaction: it writes the cache in its own.  May
 * take up to twice [signature] ocsp_timeout_ms (OCSP, then the CRL).
 */
enum sig_why	 rev_check(struct rev_ctx *, struct db *,
		    const struct signer *, int64_t now);

/*
 * chal.c: request documents (DESIGN §3) and their single-use nonces.
 */
#define RP_CHAL_TTL_MS	(15 * 60 * 1000)	/* a document's life */
#define RP_DOC_MAX	4096u			/* bytes of a document */

struct chal_new {
	enum action	 action;	/* ACT_*; approve and login below */
	int		 approve;	/* an "approve" document */
	int		 login;		/* a "login" document */
	const char	*issuer;	/* the target's issuer DN, or NULL */
	const char	*serial;	/* canonical, or NULL */
	const char	*token;		/* token label, or NULL */
	enum crl_reason	 reason;
	const char	*request_id;	/* approve: the request's public id */
	const char	*csr_pem;	/* recover: the new key's CSR */
	int64_t		 now;		/* ms */
};

struct challenge {
	int64_t		 id;
	char		 public_id[RP_ID_LEN + 1];
	char		 action[16];	/* the document's action word */
	int64_t		 certificate;	/* certificates.id, 0 */
	int64_t		 token;		/* tokens.id, 0 */
	int64_t		 request;	/* requests.id (approve), 0 */
	enum crl_reason	 reason;
	char		*document;	/* owned */
	size_t		 doclen;
	char		*csr_pem;	/* owned, NULL */
	int64_t		 issued_at;
	int64_t		 expires_at;
	int64_t		 used_at;	/* 0: unused */
	/* The target as chal_get() reads it: the certificate's issuer and
	 * serial as stored (approve: the request's first certificate), the
	 * token's label, the approved request's public id; "" for none. */
	char		 issuer[RP_DN_MAX];
	char		 serial[RP_SERIAL_MAX];
	char		 token_label[RP_LABEL_MAX];
	char		 request_id[RP_ID_LEN + 1];
};

/*
 * Issues a challenge: resolves the target in the registry, writes the
 * document (portal_url from cfg) and stores it.  RP_ERR_NOT_FOUND for an
 * unknown certificate, token or request; RP_ERR_CONFLICT for a serial
 * of several issuers without the issuer, an approval of a request that
 * awaits none, a reactivation of a certificate that is not suspended;
 * RP_ERR_BAD_INPUT for a target that does not fit the action (a CSR
 * only and always for a recovery of one certificate).  out is filled
 * (free with chal_free()).
 */
enum rp_err	 chal_issue(struct db *, const struct config *,
		    const struct chal_new *, struct challenge *out,
		    struct rp_errinfo *);
/* Reads challenge public_id (no state check); RP_ERR_NOT_FOUND. */
enum rp_err	 chal_get(struct db *, const char *public_id,
		    struct challenge *out);
/* Marks it used inside the caller's write transaction: RP_ERR_CONFLICT
 * when it was used already (a race lost). */
enum rp_err	 chal_use(struct db *, int64_t id, int64_t now,
		    struct rp_errinfo *);
void		 chal_free(struct challenge *);

/*
 * csr.c: the PKCS#10 request of a recovery: bounded PEM parse, proof of
 * possession (its self-signature), key strength as for signers, its
 * subject the old certificate's (the same DER), no extension requested
 * but the old certificate's subjectAltName, for a new key.
 * csr_issued_check(): the CA's certificate carries the request's key
 * ("issued_mismatch" otherwise); csr_successor_check(): that, and the
 * old certificate's subjectAltName ("issued_san").  csr_san_hosts(): the
 * old certificate's subjectAltName as cfssl's "hosts" ("san_hosts" when
 * cfssl cannot write it again).
 */
#define CSR_PEM_MAX	4096u	/* bytes of a recovery's PEM request */
#define CSR_HOSTS_MAX	16u	/* names of a recovered subjectAltName */
#define CSR_HOST_MAX	256u	/* one of them, + NUL */
struct csr_hosts {
	size_t		 n;
	char		 name[CSR_HOSTS_MAX][CSR_HOST_MAX];
};
enum rp_err	 csr_check(const char *pem, size_t len,
		    const char *old_cert_pem, char sha256[65],
		    struct rp_errinfo *);
enum rp_err	 csr_issued_check(const char *csr_pem, const char *cert_pem,
		    size_t certlen, struct rp_errinfo *);
enum rp_err	 csr_successor_check(const char *csr_pem,
		    const char *old_cert_pem, const char *cert_pem,
		    size_t certlen, struct rp_errinfo *);
enum rp_err	 csr_san_hosts(const char *old_cert_pem, struct csr_hosts *,
		    struct rp_errinfo *);

/*
 * mail.c: e-mail about requests.  mail_event() runs inside the
 * transaction of a change (lifecycle.c calls it with every audited
 * request event) and queues the messages the event warrants in
 * mail_queue; revportal-relay sends them over SMTP with libcurl
 * (mail_run()).  Nothing is queued until mail_setup() was given a
 * configuration with [mail] smtp_url set: each program that changes
 * requests (revportal, revportal-relay, revportal-admin) calls it once
 * after conf_load(), before any request is handled.
 */
#define MAIL_BODY_MAX	(64u * 1024u)	/* one message's text */
#define MAIL_MSG_MAX	(256u * 1024u)	/* with headers, encoded */
#define MAIL_SUBJECT_MAX 256u		/* one Subject, before encoding */
#define MAIL_ADDR_MAX	254u		/* one address (RFC 5321) */
#define MAIL_RCPTS_MAX	64u		/* recipients of one event */
#define MAIL_RUN_MAX	8u		/* messages sent by one mail_run() */
/* After a run whose server did not answer the relay leaves e-mail alone
 * (mail_pause_ms()): at least this long, doubling up to the maximum. */
#define MAIL_PAUSE_MIN_MS 60000
#define MAIL_PAUSE_MAX_MS 900000
/* The sweep deletes messages sent or given up this many days ago, at
 * most MAIL_PURGE_MAX of them a run (the rest at the next). */
#define MAIL_KEEP_DAYS	30
#define MAIL_PURGE_MAX	5000

/* What one mail_run() did. */
struct mail_report {
	unsigned int	 sent;
	unsigned int	 retry;		/* failed; tried again later */
	unsigned int	 dead;		/* given up */
	unsigned int	 cut;		/* put back: the run's time ran out */
	/* The server did not answer (no connection, a timeout): the run
	 * stopped there, and the rest waits for the next one. */
	int		 down;
};

/* Copies what mail_event() needs of cfg (read-only afterwards). */
void		 mail_setup(const struct config *);
/*
 * Checks [mail] of cfg: RP_OK when smtp_url is empty (no e-mail) or is
 * smtps://HOST:PORT or smtp://HOST:PORT (STARTTLS required; with
 * allow_plain only to a loopback address, then without TLS), with a
 * plain sender address in from; else RP_ERR_BAD_INPUT with the reason
 * in err.
 */
enum rp_err	 mail_conf_check(const struct config *, char *err,
		    size_t errlen);
enum rp_err	 mail_event(struct db *, int64_t request_row,
		    const char *event, int64_t now, struct rp_errinfo *);
/*
 * Sends up to max (at most MAIL_RUN_MAX; 0: none) due messages as lease
 * owner owner (see outbox_owner()), at now (ms), all within one [mail]
 * timeout_ms; stops early when the server does not answer.  Each message
 * is sent, backed off, or given up after [mail] max_attempts (or at once
 * on a 5xx answer).  Returns RP_OK or a database error; rep says what
 * happened.
 */
enum rp_err	 mail_run(struct db *, const struct config *,
		    const char *owner, int64_t now, unsigned int max,
		    struct mail_report *, struct rp_errinfo *);
/* When the next pending message falls due (ms), 0 when none does. */
enum rp_err	 mail_next(struct db *, int64_t *due);
/* How long (ms) the relay sends no e-mail after the n-th run in a row
 * (from 1) whose server did not answer, for [mail] timeout_ms. */
int64_t		 mail_pause_ms(unsigned int timeout_ms, unsigned int n);
/* The sweep: deletes the messages sent or given up more than
 * MAIL_KEEP_DAYS before now (ms), at most MAIL_PURGE_MAX; *deleted (may
 * be NULL) gets how many. */
enum rp_err	 mail_purge(struct db *, int64_t now, unsigned int *deleted,
		    struct rp_errinfo *);
#ifdef RP_UNITTEST
/* Appends the SMTP message (headers and quoted-printable body). */
enum rp_err	 mail_message(struct buf *, const char *from,
		    const char *rcpt, const char *subject, const char *body,
		    int64_t id, int64_t created_at, int64_t now);
int		 mail_addr_ok(const char *);
const char	*mail_state_words(enum req_state, unsigned int need);
#endif

/*
 * ca.c, ca_cfssl.c, ca_ejbca.c: the CA backends behind one small
 * interface, one file per backend.  The relay turns an outbox row into a
 * ca_job and acts on the outcome.
 */
enum ca_backend {
	CA_CFSSL,
	CA_EJBCA,
	CA__MAX
};

enum ca_outcome {
	CA_DONE,	/* the CA confirms the wanted status */
	CA_PENDING,	/* accepted, not yet in effect (EJBCA 202): check */
	CA_RETRY,	/* transient: network, timeout, 5xx, 429 */
	CA_PERMANENT,	/* refused for good: dead letter */
	CA_UNSUPPORTED	/* the backend cannot do this: dead letter */
};

struct ca_job {
	enum action	 action;
	const char	*issuer;	/* RFC 2253 DN, as stored */
	const char	*serial;	/* canonical upper-case hex */
	const char	*aki;		/* authority key id, hex, as stored */
	/* What the CA is told: certificateHold for a suspension,
	 * removeFromCRL for a reactivation, the subscriber's otherwise. */
	enum crl_reason	 reason;
	const char	*idem_key;	/* "<request public id>.<n>" */
	/* A recovery's enrolment (ca_driver.enroll), NULL otherwise: the
	 * new key's PKCS#10 PEM, the old certificate's type name (cfssl's
	 * signing profile) and subject person identifier ("" for none),
	 * and the EJBCA names of [relay] (see ca_ejbca.c). */
	const char	*csr_pem;
	const char	*cert_type;
	const char	*person;
	/* A recovery's enrolment: the old certificate's PEM (the
	 * registry's), whose subjectAltName the new one repeats: cfssl is
	 * given its names as "hosts" (NULL: none, and the new certificate
	 * gets no subjectAltName, never the request's). */
	const char	*old_cert_pem;
	const char	*ejbca_cert_profile;
	const char	*ejbca_ee_profile;
	const char	*ejbca_ca_name;
};

#define CA_ISSUED_MAX	8192u	/* an issued certificate's PEM, + NUL */

struct ca_result {
	enum ca_outcome	 outcome;
	long		 http_status;	/* 0: no answer */
	char		 message[RP_ERRMSG_MAX];	/* the CA's words */
	/* enroll, CA_DONE: the certificate the CA issued, one PEM block. */
	char		 issued_pem[CA_ISSUED_MAX];
};

struct ca_driver {
	const char	*name;		/* "cfssl", "ejbca" */
	/* Asks the CA to act on job. */
	void		(*deliver)(struct hc *, const char *base_url,
			    const struct ca_job *, struct ca_result *);
	/* Asks the CA whether job's effect holds (after CA_PENDING, or
	 * before acting again after a crash): CA_DONE, CA_PENDING,
	 * CA_RETRY, CA_PERMANENT; CA_UNSUPPORTED when it cannot tell. */
	void		(*check)(struct hc *, const char *base_url,
			    const struct ca_job *, struct ca_result *);
	/* Asks the CA to issue a certificate for job->csr_pem (a
	 * recovery's first step): CA_DONE with r->issued_pem; CA_RETRY
	 * when nothing can have been issued (no answer, 5xx, 429);
	 * CA_PERMANENT for a refusal, with the CA's words. */
	void		(*enroll)(struct hc *, const char *base_url,
			    const struct ca_job *, struct ca_result *);
};

const struct ca_driver *ca_driver_get(enum ca_backend);
/* "cfssl", "ejbca"; CA__MAX for another word. */
enum ca_backend	 ca_backend_parse(const char *);
const char	*ca_outcome_name(enum ca_outcome);
extern const struct ca_driver ca_cfssl_driver;
extern const struct ca_driver ca_ejbca_driver;
/* ca.c: what the drivers share. */
/* 1 when job may be sent; else 0 with r CA_PERMANENT, nothing sent. */
int		 ca_job_valid(const struct ca_job *, struct ca_result *);
/* Sets r; the formatted message goes through ca_text(). */
void		 ca_result_set(struct ca_result *, enum ca_outcome,
		    long http_status, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* r after hc_request() failed with e: CA_RETRY, or CA_PERMANENT for a
 * URL the client refuses.  what names the call ("revoke"). */
void		 ca_transport(struct ca_result *, enum rp_err,
		    const struct hc_resp *, const char *what);
/* Text fit for an officer: printable, one line, cut to outsz. */
void		 ca_text(char *out, size_t outsz, const char *in, size_t len);
/* Copies the first PEM certificate block of s (len bytes) into r's
 * issued_pem: 1, or 0 when there is none or it does not fit. */
int		 ca_issued_set(struct ca_result *, const char *s, size_t len);
/* Percent-encodes s as one URL path segment (RFC 3986 unreserved kept). */
enum rp_err	 ca_url_segment(struct buf *, const char *s);
/* The base URL without trailing slashes; RP_ERR_BAD_INPUT when empty. */
enum rp_err	 ca_url_base(struct buf *, const char *base);

/*
 * outbox.c: the relay's side of the outbox.  Due rows are claimed under
 * leases inside one BEGIN IMMEDIATE transaction (two relays never hold
 * the same row), a few at a time, handed to the CA driver one by one
 * outside any transaction (the lease renewed when it might not outlast
 * the call), and each outcome recorded in its own transaction with the
 * request's state change and the audit entries.  Also the queue's
 * figures and the relay's counters, in Prometheus text.
 */
#define OUTBOX_PAYLOAD_MAX	8192u		/* one row's JSON payload */
#define OUTBOX_OWNER_MAX	128u	/* "<hostname>:<pid>:<16 hex>" + NUL */
#define OUTBOX_OWNER_HOST	64u	/* bytes of the host name in it */
#define OUTBOX_METRICS_MAX	(64u * 1024u)	/* the relay's metrics file */
#define OUTBOX_KEY_MAX		(RP_ID_LEN + 24u) /* idempotency key + NUL */
#define OUTBOX_BATCH_MAX	16u	/* rows claimed in one transaction */
#define OUTBOX_CALL_BUCKETS	12u	/* delivery_seconds, with +Inf */
#define OUTBOX_DONE_BUCKETS	11u	/* completion_seconds, with +Inf */

struct outbox_conf {
	const char	*owner;		/* lease owner: outbox_owner() */
	const char	*actor;		/* audit actor: "system:relay" */
	unsigned int	 lease_ms;
	/* The longest one driver call and the recording after it may take
	 * (2 x timeout_ms + busy_timeout_ms + a second): a lease with less
	 * left is renewed before the next call.  0: renewed only once it
	 * has run out. */
	unsigned int	 call_max_ms;
	unsigned int	 backoff_min_ms;
	unsigned int	 backoff_max_ms;
	unsigned int	 pending_check_ms;
	/* A row the CA has held pending (EJBCA: waiting for an approval)
	 * this long goes dead; 0: never. */
	unsigned int	 pending_max_hours;
	/* Rows claimed at once into a struct outbox_batch, 1 to
	 * OUTBOX_BATCH_MAX (0: 1). */
	unsigned int	 batch;
	/* Milliseconds since the epoch; NULL: rp_now_ms().  For tests. */
	int64_t		(*clock)(void);
	/* Non-zero once the relay is to stop: a row claimed but not yet
	 * sent to the CA is released, not sent.  NULL: never. */
	volatile sig_atomic_t *stop;
	/* A recovery's enrolment at EJBCA: [relay] ejbca_* (NULL: ""). */
	const char	*ejbca_cert_profile;
	const char	*ejbca_ee_profile;
	const char	*ejbca_ca_name;
};

/* One claimed row; job points into it. */
struct outbox_row {
	int64_t		 id;
	int64_t		 request;		/* requests.id */
	int64_t		 certificate;		/* certificates.id */
	char		 public_id[RP_ID_LEN + 1];
	int64_t		 received_at;		/* the request's */
	enum req_state	 req_state;		/* the request's, when taken */
	int		 sent;			/* state sent: the CA has it */
	unsigned int	 attempts;
	int64_t		 first_sent_at;		/* before this claim; 0 */
	int64_t		 sent_at;		/* first held pending; 0 */
	int64_t		 lease_until;		/* this relay's lease */
	int		 damaged;		/* payload unreadable */
	/* A suspension or reactivation that a revocation of the same
	 * certificate overtook: recorded done without a CA call. */
	int		 superseded;
	char		 idem_key[OUTBOX_KEY_MAX];
	char		 issuer[RP_DN_MAX];
	char		 serial[RP_SERIAL_MAX];
	char		 aki[RP_SERIAL_MAX * 2];
	/* A recovery: the payload's CSR, type and person, and the
	 * certificate the CA issued (outbox.issued_pem; "" until then). */
	char		 csr[CSR_PEM_MAX + 1];
	char		 cert_type[16];
	char		 person[RP_LABEL_MAX];
	char		 issued_pem[CA_ISSUED_MAX];
	struct ca_job	 job;
};

/*
 * Rows claimed together (one transaction, a lease on each) and handed to
 * the CA one per outbox_run(); those not handled yet are given back by
 * outbox_batch_release().  Only while the CA answers fast: a slow call
 * gives the rest back, and the next claim takes one row, so that other
 * relays share the work.  The caller's, zeroed before the first use.
 */
struct outbox_batch {
	struct outbox_row rows[OUTBOX_BATCH_MAX];
	unsigned int	 n;		/* rows claimed */
	unsigned int	 next;		/* the next to hand to the CA */
	int		 fast;		/* the last turn's calls were fast */
};

/* What became of one turn of outbox_run(). */
enum outbox_result {
	OB_NONE,	/* no row was due */
	OB_DONE,	/* the CA confirmed */
	OB_PENDING,	/* the CA accepted; checked again later */
	OB_RETRY,	/* transient failure; backed off */
	OB_DEAD,	/* refused for good; the request failed */
	OB_MOVED,	/* the request moved meanwhile; left as it is */
	OB_RELEASED,	/* stopping: released without calling the CA */
	/* A suspension or reactivation put off while a revocation of the
	 * same certificate is in another relay's hands. */
	OB_POSTPONED,
	OB__MAX
};

struct outbox_report {
	enum outbox_result result;
	char		 public_id[RP_ID_LEN + 1];
	char		 idem_key[OUTBOX_KEY_MAX];
	int		 checked;	/* the driver's check ran */
	int		 delivered;	/* the driver's deliver ran */
	int		 superseded;	/* done without a call: revoked */
	/* The request had moved on (failed, rejected: moved_to): the row
	 * was recorded, or left as it was, without changing it. */
	int		 moved;
	enum req_state	 moved_to;
	unsigned int	 calls;		/* driver calls made, 0 to 2 */
	double		 call_seconds[2];
	long		 http_status;	/* of the last call, 0: none */
	int		 completed;	/* the request completed */
	int64_t		 completion_ms;	/* its received_at to now */
};

/* The queue as the database holds it. */
struct outbox_stats {
	int64_t		 depth;		/* rows waiting for the CA */
	int64_t		 oldest_ms;	/* age of the oldest, 0: none */
	int64_t		 next_due;	/* when the next falls due, 0: none */
};

/* The relay's counters since it started. */
struct outbox_metrics {
	uint64_t	 deliveries[OB_DEAD + 1];	/* by OB_DONE..OB_DEAD */
	uint64_t	 call_bucket[OUTBOX_CALL_BUCKETS];
	uint64_t	 call_sum_us;
	uint64_t	 done_bucket[OUTBOX_DONE_BUCKETS];
	uint64_t	 done_sum_ms;
};

enum rp_err	 outbox_claim(struct db *, const struct outbox_conf *,
		    int64_t now, struct outbox_row *, int *got,
		    struct rp_errinfo *);
enum rp_err	 outbox_record(struct db *, const struct policy *,
		    const struct outbox_conf *, const struct outbox_row *,
		    const struct ca_result *, int64_t now,
		    struct outbox_report *, struct rp_errinfo *);
enum rp_err	 outbox_release(struct db *, const struct outbox_conf *,
		    const struct outbox_row *, int64_t now);
enum rp_err	 outbox_run(struct db *, const struct policy *,
		    const struct outbox_conf *, struct outbox_batch *,
		    const struct ca_driver *, struct hc *,
		    const char *base_url, struct outbox_report *,
		    struct rp_errinfo *);
enum rp_err	 outbox_batch_release(struct db *,
		    const struct outbox_conf *, struct outbox_batch *,
		    int64_t now);
int64_t		 outbox_backoff(const struct outbox_conf *,
		    unsigned int attempts, uint32_t rnd);
/* A lease owner unique to this process: "<hostname>:<pid>:<16 hex>". */
enum rp_err	 outbox_owner(char *out, size_t outsz);
enum rp_err	 outbox_stats(struct db *, int64_t now,
		    struct outbox_stats *);
/* Appends <prefix>_queue_depth and <prefix>_oldest_age_seconds. */
enum rp_err	 outbox_render_queue(struct buf *, const char *prefix,
		    const struct outbox_stats *);
void		 outbox_metrics_count(struct outbox_metrics *,
		    const struct outbox_report *);
enum rp_err	 outbox_metrics_render(const struct outbox_metrics *,
		    const struct outbox_stats *, int64_t now, struct buf *);

/*
 * relay.c: main() of revportal-relay, the daemon that drains the outbox
 * with outbox_run() and the driver of [relay] backend, woken by
 * relay_nudge() datagrams on [relay] socket or by its own poll.
 */

/*
 * staff.c: hotline agents and RA officers, by the client certificate
 * nginx verified against the staff CA.
 */
struct req;

struct staff_who {
	int64_t		 id;			/* staff.id */
	char		 name[RP_TEXT_MAX];
	unsigned int	 roles;			/* ROLE_* */
	char		 sha256[65];
	/* The audit actor "staff:<name>#<id>", the name cut short (at a
	 * character boundary) so that it fits lc_create()'s limit. */
	char		 actor[RP_TEXT_MAX];
};

/*
 * Maps the request's verified client certificate to an active staff
 * account holding role.  RP_ERR_FORBIDDEN (audited as staff.denied with
 * the fingerprint and the path) for no certificate, one nginx did not
 * verify, an unknown or disabled account, or a missing role.
 */
enum rp_err	 staff_auth(struct req *, unsigned int role,
		    struct staff_who *);

/*
 * The proof, carried by the hotline action form, that an agent checked
 * the caller's passphrase for a target, good for one action form:
 *	token = b64url(issued_at || pass || HMAC-SHA256(secret,
 *	    "revportal-verified\0" || staff id || scope || target ||
 *	    pass || form_id || issued_at))
 * with staff id, target, pass (the passphrases.id that matched) and
 * issued_at (seconds) as 8 bytes big-endian, scope as one byte and
 * form_id as its RP_ID_LEN characters, so a token is 48 bytes or 64
 * characters.  The target is a certificates.id for STAFF_SCOPE_CERT and
 * a tokens.id for STAFF_SCOPE_TOKEN.  A token is valid
 * STAFF_VERIFIED_TTL seconds for that agent, scope, target and form
 * only (the form's idempotency record then makes it single-use); the
 * check is constant-time and fails closed (RP_ERR_FORBIDDEN).
 */
enum staff_scope {
	STAFF_SCOPE_CERT,	/* the one certificate */
	STAFF_SCOPE_TOKEN,	/* every certificate of its token */
	STAFF_SCOPE__MAX
};

#define STAFF_VERIFIED_TTL	900	/* seconds: 15 minutes */
#define STAFF_VERIFIED_LEN	64u	/* characters of a token */

/* What a verified token binds. */
struct staff_proof {
	int64_t		 staff;		/* staff.id of the agent */
	enum staff_scope scope;
	int64_t		 target;	/* certificates.id or tokens.id */
	const char	*form_id;	/* the action form's one-time id */
	int64_t		 pass;		/* passphrases.id that matched */
	int64_t		 issued;	/* seconds */
};

/* Writes the token of p (issued at p->issued) into out. */
enum rp_err	 staff_verified_make(const unsigned char *secret,
		    const struct staff_proof *p, char *out, size_t outsz);
/* Checks token against p's staff, scope, target and form_id at now
 * (seconds); on RP_OK sets p->pass and p->issued from the token, else
 * zeroes them. */
enum rp_err	 staff_verified_check(const unsigned char *secret,
		    struct staff_proof *p, const char *token, int64_t now);
#ifdef RP_UNITTEST
int		 staff_actor(const char *name, int64_t id, char *out,
		    size_t outsz);
/* h_staff.c's parsers of a row id and of a search into a LIKE pattern,
 * the officer's audit trail of a request, and the test hook that runs
 * between h_agent_act()'s first look at the form's idempotency record
 * and lc_create() (a concurrent twin of the same form). */
int		 hs_row_id(const char *, int64_t *);
int		 hs_like_pattern(const char *, size_t, char *, size_t);
struct request;
enum rp_err	 hs_request_trail(struct req *, json_t *ctx,
		    const struct request *, const json_t *certs,
		    const char *token);
extern void	(*hs_test_before_create)(struct req *);
#endif

/*
 * audit.c: the append-only, hash-chained audit log.  Entry n's hash is
 * SHA-256 over a length-prefixed encoding of its sequence number, time,
 * actor, action, subject, details and entry n-1's hash (64 zeros for the
 * first).  details never holds a passphrase or a signature: audit_append()
 * refuses keys that name one.
 */
struct audit_entry {
	int64_t		 seq;
	int64_t		 at;
	const char	*actor;
	const char	*action;
	const char	*subject;
	const char	*details;	/* compact JSON, sorted keys */
	const char	*prev_hash;
	const char	*hash;
};

/* Inside the caller's transaction. details is borrowed, may be NULL. */
enum rp_err	 audit_append(struct db *, int64_t now, const char *actor,
		    const char *action, const char *subject,
		    const json_t *details, struct rp_errinfo *);
/* Checks the whole chain.  RP_OK with *count entries and head (the last
 * hash, or 64 zeros); RP_ERR_CONFLICT with *bad the first broken seq. */
enum rp_err	 audit_verify(struct db *, int64_t *count, int64_t *bad,
		    char head[65], struct rp_errinfo *);
/* Calls fn for each entry (of subject, or all when NULL) in order until
 * fn returns non-zero. */
enum rp_err	 audit_each(struct db *, const char *subject,
		    int (*fn)(void *, const struct audit_entry *), void *);
/* The last entry: *seq (0 for an empty log) and its hash (64 zeros). */
enum rp_err	 audit_head(struct db *, int64_t *seq, char head[65]);
/* The stored hash of entry seq; RP_ERR_NOT_FOUND when there is none. */
enum rp_err	 audit_hash_at(struct db *, int64_t seq, char out[65]);
/*
 * Writes the head to the log (event audit_head) when it moved since the
 * last time, remembered in the meta table, so that log shipping keeps
 * an anchor outside the database: a log cut short is then caught by
 * audit-verify --anchor.  Sets *logged to whether it wrote.
 */
enum rp_err	 audit_anchor(struct db *, int *logged, struct rp_errinfo *);
#ifdef RP_UNITTEST
enum rp_err	 audit_hash(const struct audit_entry *, char out[65]);
int		 audit_clean(const json_t *, int depth);
#endif

/*
 * lifecycle.c: the one owner of a request's state machine
 *	awaiting_approval -> queued -> relayed -> completed
 * plus rejected, expired and failed.  Every state change commits with
 * its audit entry, and a request reaching queued with its outbox rows, in
 * one transaction.  Callers authenticate first (passphrase, signature,
 * staff certificate); lifecycle asks the policy, never the network.
 */
#define RP_NOTE_MAX	1024u

struct request {
	int64_t		 id;
	char		 public_id[RP_ID_LEN + 1];
	enum action	 action;
	enum crl_reason	 reason;
	enum channel	 channel;
	enum auth_method auth;
	enum req_state	 state;
	char		 requester[RP_TEXT_MAX];
	int64_t		 token;		/* tokens.id for a token request */
	int64_t		 staff;		/* staff.id, 0 */
	int64_t		 received_at;
	int64_t		 due_at;
	int64_t		 approval_expires_at;	/* 0: none */
	int64_t		 completed_at;		/* 0: not yet */
	int64_t		 updated_at;
	unsigned int	 need;		/* REL_* still to sign */
	char		 call_reference[RP_LABEL_MAX];
	char		 caller_name[RP_TEXT_MAX];
	char		 notes[RP_NOTE_MAX];
	char		 outcome[RP_TEXT_MAX];
};

/* Who acts, and how they proved it (already checked by the caller). */
struct lc_actor {
	enum channel	 channel;
	enum auth_method auth;
	const char	*name;		/* audit actor: "staff:ana#3", ... */
	int64_t		 staff;		/* staff.id, 0 */
	unsigned int	 roles;		/* ROLE_* of staff */
	int64_t		 person;	/* persons.id of a signer, 0 */
	/* An officer: REL_* of the parties who signed the paper request
	 * the officer has checked (the who-must-sign rule still holds). */
	unsigned int	 parties;
	const void	*signature;	/* CMS blob of a signer, NULL */
	size_t		 siglen;
	const char	*signer_sha256;	/* signer certificate, NULL */
};

struct lc_result;

struct lc_new {
	enum action	 action;
	/* Exactly one of serial (canonical) and token (label). */
	const char	*issuer;	/* NULL: the serial must be unique */
	const char	*serial;
	const char	*token;
	enum crl_reason	 reason;
	struct lc_actor	 actor;
	/* A recovery: the new key's CSR (checked by csr_check()), stored
	 * in recoveries with the request; NULL otherwise. */
	const char	*csr_pem;
	const char	*call_reference;	/* hotline, else NULL */
	const char	*caller_name;
	const char	*notes;
	int64_t		 now;
	/* Called inside the transaction after the request is written and
	 * before the commit (an idempotency record, a passphrase counter);
	 * an error rolls everything back.  NULL for none. */
	enum rp_err	(*in_tx)(struct db *, void *arg, int64_t request_row,
			    const struct lc_result *, struct rp_errinfo *);
	void		*in_tx_arg;
};

struct lc_result {
	char		 public_id[RP_ID_LEN + 1];
	enum req_state	 state;
	unsigned int	 need;		/* REL_* still to sign */
	unsigned int	 flags;		/* POLICY_* */
	enum policy_code code;		/* why not, when refused */
	int64_t		 due_at;
};

int		 lc_legal(enum req_state from, enum req_state to);
enum rp_err	 lc_create(struct db *, const struct policy *,
		    const struct lc_new *, struct lc_result *,
		    struct rp_errinfo *);
enum rp_err	 lc_approve(struct db *, const struct policy *,
		    const char *public_id, const struct lc_actor *,
		    int64_t now, struct lc_result *, struct rp_errinfo *);
/* The same with in_tx(db, arg, request row, res, ei) called inside the
 * transaction before the commit, as lc_new.in_tx (a challenge marked
 * used); its error rolls everything back.  in_tx may be NULL. */
enum rp_err	 lc_approve_tx(struct db *, const struct policy *,
		    const char *public_id, const struct lc_actor *,
		    int64_t now, enum rp_err (*in_tx)(struct db *, void *,
		    int64_t, const struct lc_result *, struct rp_errinfo *),
		    void *in_tx_arg, struct lc_result *, struct rp_errinfo *);
/* Any other state change: the relay (relayed, completed, failed), the
 * officer (queued again after failed, rejected), the sweep (expired).
 * outcome: why (rejected, failed), may be NULL. */
enum rp_err	 lc_transition(struct db *, const struct policy *,
		    const char *public_id, enum req_state to,
		    const char *actor, const char *outcome, int64_t now,
		    struct rp_errinfo *);
/* The same inside the caller's write transaction (the relay records a
 * CA's answer with it); on error the caller rolls back. */
enum rp_err	 lc_transition_in(struct db *, const struct policy *,
		    const char *public_id, enum req_state to,
		    const char *actor, const char *outcome, int64_t now,
		    struct rp_errinfo *);
/* The CA confirmed the action of request public_id, which has moved on
 * (failed, rejected), for its certificate certificate (certificates.id):
 * the certificate follows the CA, inside the caller's write transaction;
 * on error the caller rolls back. */
enum rp_err	 lc_apply_done(struct db *, const struct policy *,
		    const char *public_id, int64_t certificate,
		    const char *actor, int64_t now, struct rp_errinfo *);
enum rp_err	 lc_get(struct db *, const char *public_id, struct request *);

struct lc_sweep_report {
	unsigned int	 suspensions_ended;	/* system requests made */
	unsigned int	 approvals_expired;
	unsigned int	 overdue;		/* open past their due time */
};

enum rp_err	 lc_sweep(struct db *, const struct policy *, int64_t now,
		    struct lc_sweep_report *, struct rp_errinfo *);

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
	struct sig_ctx		*sig;		/* NULL: no trust anchors */
	struct rev_ctx		*rev;
	/* From the web server; the strings belong to the caller. */
	enum method		 method;
	const char		*path;		/* decoded path, no query */
	const char		*query;		/* may be NULL */
	const char		*ctype;		/* Content-Type, may be NULL */
	const char		*cookie_hdr;	/* may be NULL */
	const char		*origin;	/* Origin header, may be NULL */
	const char		*fetch_site;	/* Sec-Fetch-Site, may be NULL */
	const char		*remote_addr;	/* REMOTE_ADDR nginx passes */
	const char		*idem_key;	/* Idempotency-Key, may be NULL */
	/* The staff client certificate as nginx verified it: the
	 * $ssl_client_verify word ("SUCCESS", "NONE", "FAILED:...") and the
	 * URL-escaped PEM ($ssl_client_escaped_cert); NULL when absent. */
	const char		*client_verify;
	const char		*client_cert;
	const char		*body;
	size_t			 bodylen;
	enum body_status	 body_status;
	int64_t			 now;		/* seconds since the epoch */
	/* Filled by the router. */
	unsigned int		 route;		/* index into the route table */
	char			 arg[64];	/* the {id} path segment, if any */
	struct input		 in;
	struct rp_errinfo	 err;
	/* Seconds for the Retry-After of a 429 error answer, 0: none. */
	unsigned int		 retry_after;
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

/*
 * signflow.c: a signed request from its challenge to the lifecycle, the
 * same for the API and the HTML pages: the challenge (known, unused,
 * unexpired, for this call), sig_verify() (steps 1 to 4), rev_check()
 * (step 5), the signer mapped to the registry's person, then lc_create()
 * or lc_approve() (step 6 and the who-must-sign rule) with the challenge
 * marked used in the same transaction.  Every refusal is audited with
 * its sig_why name ("signature.refused"); the caller answers 401 for all
 * of them alike.
 */
struct sf_in {
	const char	*challenge_id;
	const void	*sig;		/* CMS, DER or base64 */
	size_t		 siglen;
	/* The request id from the path of an approval call, else NULL:
	 * the challenge must be an "approve" one for exactly it. */
	const char	*approve;
	int		 login;		/* a legal representative's login */
	enum channel	 channel;	/* CH_WEB (0) or CH_API */
	/* The idempotency record of the call (sf_idem_init()), or NULL:
	 * a repeat answers what the first call made (out->replay). */
	struct pf_idem	*idem;
};

struct sf_out {
	enum sig_why	 why;		/* SIG_OK, or the refusal */
	struct lc_result lc;
	char		 person_id[RP_LABEL_MAX];	/* the signer */
	int64_t		 person;	/* persons.id, 0: not registered */
	int		 replay;	/* lc.public_id/state from idem */
};

/*
 * Fills idem for a signed call under the Idempotency-Key key: the key
 * "sig:<challenge_id>:<key>" (one challenge makes one request at most),
 * the fingerprint SHA-256 over the challenge id and the signature bytes
 * as sent, so that only the same signed body gets the first answer.
 * RP_ERR_BAD_INPUT ("bad_idempotency_key") as pf_idem_init().
 */
enum rp_err	 sf_idem_init(struct pf_idem *, const char *challenge_id,
		    const void *sig, size_t siglen, const char *key,
		    int64_t now, struct rp_errinfo *);

/* Issues the challenge of a POST /api/v1/challenges or an HTML form. */
enum rp_err	 sf_challenge(struct req *, const struct chal_new *,
		    struct challenge *out);
/*
 * Verifies and acts.  RP_OK with out->lc filled; RP_ERR_AUTH with
 * out->why for a refused signature or challenge; RP_ERR_FORBIDDEN when
 * the signer may not act on this certificate; the lifecycle's errors
 * (409, 422) otherwise, with req->err filled.
 */
enum rp_err	 sf_submit(struct req *, const struct sf_in *,
		    struct sf_out *out);
/* A legal representative's session after a signed login: an HMAC cookie
 * naming persons.id, valid RP_REP_SESSION_MS. */
#define RP_REP_SESSION_MS	(30 * 60 * 1000)
enum rp_err	 sf_session_make(const unsigned char *secret, int64_t person,
		    int64_t now, char *out, size_t outsz);
/* The persons.id of a valid session cookie, else 0. */
int64_t		 sf_session_check(const unsigned char *secret,
		    const char *cookie, int64_t now);
#ifdef RP_UNITTEST
/* Tests only: fn replaces sig_verify() and rev_check() (steps 1 to 5)
 * in sf_submit(); NULL restores them. */
void		 sf_test_verify(enum sig_why (*fn)(const void *, size_t,
		    const char *, size_t, struct signer *));
#endif

/* The handlers, one per page or API call. */
enum rp_err	 h_landing(struct req *);
enum rp_err	 h_healthz(struct req *);
enum rp_err	 h_metrics(struct req *);
/* h_public.c: subscriber pages and the passphrase API. */
enum rp_err	 h_suspend_form(struct req *);
enum rp_err	 h_suspend_post(struct req *);
enum rp_err	 h_request_page(struct req *);
enum rp_err	 h_api_request_post(struct req *);
enum rp_err	 h_api_request_get(struct req *);
/* h_staff.c: the hotline console and the officer queue. */
enum rp_err	 h_agent(struct req *);
enum rp_err	 h_agent_cert(struct req *);
enum rp_err	 h_agent_verify(struct req *);
enum rp_err	 h_agent_act(struct req *);
enum rp_err	 h_agent_request(struct req *);
enum rp_err	 h_officer(struct req *);
enum rp_err	 h_officer_request(struct req *);
enum rp_err	 h_officer_retry(struct req *);
enum rp_err	 h_officer_reject(struct req *);
/* h_sign.c: signed requests and approvals, the API calls. */
enum rp_err	 h_api_challenge_post(struct req *);
enum rp_err	 h_api_approval_post(struct req *);
/* POST /api/v1/requests with challenge_id and signature (h_public.c
 * hands it over). */
enum rp_err	 h_api_signed_request(struct req *);
/* h_signpage.c: the same for people: the two-step forms (choose, then
 * sign the document and upload the .p7s), the approvals pages. */
enum rp_err	 h_sign_form(struct req *);
enum rp_err	 h_sign_start(struct req *);
enum rp_err	 h_sign_page(struct req *);
enum rp_err	 h_sign_document(struct req *);
enum rp_err	 h_sign_submit(struct req *);
enum rp_err	 h_approvals(struct req *);
enum rp_err	 h_approval_page(struct req *);
#ifdef RP_UNITTEST
/* h_signpage.c's words and readers, for its unit test. */
enum action	 sp_form_action(const char *path);
const char	*sp_signers_words(enum signers);
const char	*sp_parties_words(unsigned int rel);
enum rp_err	 sp_back(const char *action, const char *request, char *out,
		    size_t outsz);
enum rp_err	 sp_read(struct req *, struct chal_new *,
		    char serial[RP_SERIAL_MAX], enum action *form);
#endif
#ifdef RP_TESTING
enum rp_err	 h_test_form_get(struct req *);
enum rp_err	 h_test_form_post(struct req *);
enum rp_err	 h_test_echo(struct req *);
enum rp_err	 h_test_slow(struct req *);
#endif

#endif /* REVPORTAL_EXTERN_H */
