/*
 * E-mail about requests (issue 6): who is told what, and the sending.
 *
 * mail_event() runs inside the transaction of every audited request
 * event (lifecycle.c's lc_audit()) and queues, in mail_queue, one message
 * per recipient for the events people must hear of:
 *
 *	received	to the subject person of each certificate
 *	needs_approval	on "received" or "approved" while the request still
 *			awaits signatures: to the parties still needed, the
 *			subject person and/or every legal representative
 *			in office of the certificate's organisation, with
 *			the link to <portal_url>/approvals/<request id>
 *	completed,
 *	failed,
 *	rejected,
 *	expired		to the subject persons and every person who signed
 *
 * A subject person who is asked to sign gets that message instead of the
 * plain "received".  An address is the person's e-mail in the registry,
 * else (for the subject) the one in the certificate itself; someone
 * without a usable address is skipped.  A unique index makes it one
 * message per recipient per event of a request, however often the event
 * is told.  The text is built from registry data only, each value on one
 * line without control characters; never a passphrase, never a
 * signature, never the request's notes.
 *
 * mail_run() is revportal-relay's: it claims due messages one at a time
 * under a lease (as outbox.c claims its rows), sends each over SMTP with
 * libcurl (smtps://, or smtp:// with STARTTLS required; plain smtp://
 * only to a loopback server with allow_plain), and records sent, a retry
 * after an exponential backoff, or dead (a 5xx answer, or max_attempts
 * failures).  A run never takes more than one [mail] timeout_ms, sends
 * no more messages than the relay allows it, and ends at a server that
 * does not answer, so that the relay goes back to the CA's queue at
 * once; mail_pause_ms() tells the relay how long to leave such a server
 * alone.
 *
 * mail_purge() is revportal-admin sweep's: the queue keeps names,
 * addresses and what happened to whom, so a message sent or given up is
 * deleted MAIL_KEEP_DAYS (30) days later.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "extern.h"

/* Retries: 1 minute, doubling, at most an hour (with outbox's jitter). */
#define MAIL_BACKOFF_MIN_MS	60000u
#define MAIL_BACKOFF_MAX_MS	3600000u
#define MAIL_LINE_MAX		76u	/* a quoted-printable line */
/* Text in one RFC 2047 word: 52 characters of base64, so that the word
 * is 64 and "Subject: " with the first one 73 (RFC 2047: 75, 76). */
#define MAIL_WORD_BYTES		39u

/* What a recipient is to the request (bits). */
#define MR_SUBJECT	0x1u	/* the subject person of a certificate */
#define MR_SIGNER	0x2u	/* signed the request */
#define MR_NEED_SUBJECT	0x4u	/* still to sign as the subject person */
#define MR_NEED_REP	0x8u	/* still to sign as a legal rep */
#define MR_NEED		(MR_NEED_SUBJECT | MR_NEED_REP)

/* The events that mail someone; anything else mails nobody. */
enum mail_kind {
	MK_RECEIVED,
	MK_NEEDS_APPROVAL,
	MK_COMPLETED,
	MK_FAILED,
	MK_REJECTED,
	MK_EXPIRED,
	MK_APPROVED,	/* told as needs_approval, when still needed */
	MK__MAX
};

/* The event's name (mail_queue.event) and lifecycle's. */
static const char *const mail_kinds[MK__MAX] = {
	[MK_RECEIVED] = "received",
	[MK_NEEDS_APPROVAL] = "needs_approval",
	[MK_COMPLETED] = "completed",
	[MK_FAILED] = "failed",
	[MK_REJECTED] = "rejected",
	[MK_EXPIRED] = "expired",
	[MK_APPROVED] = "approved",
};

/*
 * What mail_event() knows of the configuration: copied once by
 * mail_setup() before any request, read-only afterwards.
 */
static struct mail_site {
	int		 on;		/* [mail] smtp_url is set */
	char		 portal_url[256];
	char		 site_name[128];
	char		 hotline[64];
	enum action	 end_action;	/* when a suspension ends */
	unsigned int	 suspend_max_days;
} mail_site;

struct mail_rcpt {
	char		 addr[MAIL_ADDR_MAX + 1];
	char		 name[RP_TEXT_MAX];
	unsigned int	 roles;		/* MR_* */
	char		 org[RP_LABEL_MAX];	/* MR_NEED_REP: of which */
};

/* One request, as mail_event() reads it, and whom to tell. */
struct mail_ctx {
	struct db	*db;
	int64_t		 now;
	enum mail_kind	 kind;
	char		 public_id[RP_ID_LEN + 1];
	enum action	 action;
	enum crl_reason	 reason;
	enum req_state	 state;
	unsigned int	 need;
	int64_t		 received_at;
	int64_t		 expires_at;		/* approvals, 0 */
	char		 outcome[RP_TEXT_MAX];
	struct cert_row	 certs[RP_TOKEN_CERTS_MAX];
	size_t		 ncerts;
	int64_t		 signers[MAIL_RCPTS_MAX];	/* persons.id */
	size_t		 nsigners;
	struct mail_rcpt rcpts[MAIL_RCPTS_MAX];
	size_t		 nrcpts;
	int		 dropped;	/* recipients over MAIL_RCPTS_MAX */
};

/* One claimed message. */
struct mail_msg {
	int64_t		 id;
	char		*rcpt;
	char		*subject;
	char		*body;
	unsigned int	 attempts;
	int64_t		 created_at;
};

/* What became of one message. */
enum mail_outcome {
	MO_SENT,
	MO_RETRY,	/* the server answered 4xx: try again later */
	MO_DOWN,	/* no answer: try again later, stop the run */
	MO_DEAD,	/* refused for good */
	MO_CUT		/* the run's time ran out: again next run, as it
			 * was, not counted as an attempt */
};

/*
 * Copies what mail_event() needs of cfg into mail_site: whether mail is
 * on, the portal's URL and name, the hotline, how suspensions end.
 * Called once per program before any request is handled.
 */
void
mail_setup(const struct config *cfg)
{
	memset(&mail_site, 0, sizeof(mail_site));
	mail_site.on = cfg->mail_url[0] != '\0';
	(void)snprintf(mail_site.portal_url, sizeof(mail_site.portal_url),
	    "%s", cfg->portal_url);
	(void)snprintf(mail_site.site_name, sizeof(mail_site.site_name),
	    "%s", cfg->site_name);
	(void)snprintf(mail_site.hotline, sizeof(mail_site.hotline), "%s",
	    cfg->hotline);
	mail_site.end_action = cfg->policy.suspend_end_action;
	mail_site.suspend_max_days = cfg->policy.suspend_max_days;
}

/*
 * Returns 1 when s is an address fit for an envelope and a To header:
 * what reg_email_ok() accepts, at most MAIL_ADDR_MAX bytes of ASCII,
 * and none of the characters that mean something in an address header
 * or an SMTP command (<>()[]\,;:" and the quote).
 */
UNITTEST int
mail_addr_ok(const char *s)
{
	const unsigned char	*p;

	if (s == NULL || strnlen(s, MAIL_ADDR_MAX + 1) > MAIL_ADDR_MAX ||
	    !reg_email_ok(s))
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f ||
		    strchr("<>()[]\\,;:\"'", *p) != NULL)
			return 0;
	return 1;
}

/*
 * Returns 1 when host, as libcurl's URL parser gives it, is a loopback
 * address written as one: 127.0.0.0/8 or [::1].  A name (localhost
 * included) is 0: what it resolves to is not known here.
 */
static int
mail_host_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 v6[INET6_ADDRSTRLEN];
	size_t		 len;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	len = strlen(host);
	if (len < 3 || len - 2 >= sizeof(v6) || host[0] != '[' ||
	    host[len - 1] != ']')
		return 0;
	memcpy(v6, host + 1, len - 2);
	v6[len - 2] = '\0';
	return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * Checks [mail] of cfg with libcurl's URL parser: nothing when smtp_url
 * is empty; else a plain sender address, scheme smtps or smtp, a host,
 * an explicit port, no credentials, path, query or fragment, and
 * allow_plain only with smtp:// to a loopback address.  Returns RP_OK,
 * or RP_ERR_BAD_INPUT (RP_ERR_NOMEM) with the reason in err.
 */
enum rp_err
mail_conf_check(const struct config *cfg, char *err, size_t errlen)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL, *port = NULL;
	char		*path = NULL, *extra = NULL;
	enum rp_err	 e = RP_ERR_BAD_INPUT;
	int		 plain;

	if (cfg->mail_url[0] == '\0')
		return RP_OK;
	if (!mail_addr_ok(cfg->mail_from)) {
		(void)snprintf(err, errlen, "[mail] from: not a plain e-mail "
		    "address (user@domain, ASCII)");
		return RP_ERR_BAD_INPUT;
	}
	if ((u = curl_url()) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return RP_ERR_NOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, cfg->mail_url,
	    CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		(void)snprintf(err, errlen, "[mail] smtp_url: not a URL "
		    "with a host");
		goto out;
	}
	if (strcmp(scheme, "smtps") != 0 && strcmp(scheme, "smtp") != 0) {
		(void)snprintf(err, errlen, "[mail] smtp_url: must be "
		    "smtps://HOST:PORT or smtp://HOST:PORT");
		goto out;
	}
	plain = strcmp(scheme, "smtp") == 0;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK) {
		(void)snprintf(err, errlen, "[mail] smtp_url: name the port "
		    "(smtps://HOST:465, smtp://HOST:587)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &extra, 0) != CURLUE_NO_USER ||
	    curl_url_get(u, CURLUPART_QUERY, &extra, 0) != CURLUE_NO_QUERY ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0) !=
	    CURLUE_NO_FRAGMENT ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    (path[0] != '\0' && strcmp(path, "/") != 0)) {
		(void)snprintf(err, errlen, "[mail] smtp_url: nothing but "
		    "the scheme, the host and the port");
		goto out;
	}
	if (cfg->mail_allow_plain && !(plain && mail_host_loopback(host))) {
		(void)snprintf(err, errlen, "[mail] allow_plain: only with "
		    "smtp:// to a loopback address (127.0.0.1, [::1])");
		goto out;
	}
	e = RP_OK;
out:
	curl_free(extra);
	curl_free(path);
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return e;
}

/* --- Who is told ------------------------------------------------------ */

/*
 * Adds address addr (name, roles, for MR_NEED_REP the organisation org)
 * to the recipients of c; an address there already (in any case) gains
 * the roles.  An address mail_addr_ok() refuses is skipped, and so is
 * any past MAIL_RCPTS_MAX (counted in c->dropped).
 */
static void
mail_rcpt_add(struct mail_ctx *c, const char *addr, const char *name,
    unsigned int roles, const char *org)
{
	struct mail_rcpt	*r;
	size_t			 i;

	if (!mail_addr_ok(addr))
		return;
	for (i = 0; i < c->nrcpts; i++)
		if (strcasecmp(c->rcpts[i].addr, addr) == 0)
			break;
	if (i == c->nrcpts) {
		if (c->nrcpts == MAIL_RCPTS_MAX) {
			c->dropped++;
			return;
		}
		r = &c->rcpts[c->nrcpts++];
		memset(r, 0, sizeof(*r));
		(void)snprintf(r->addr, sizeof(r->addr), "%s", addr);
		ca_text(r->name, sizeof(r->name), name, strlen(name));
	} else
		r = &c->rcpts[i];
	r->roles |= roles;
	if (org != NULL && r->org[0] == '\0')
		(void)snprintf(r->org, sizeof(r->org), "%s", org);
}

/*
 * Reads person (persons.id) into name and email ("" when the registry
 * has none).  Returns RP_OK (nothing found: both "") or a database error.
 */
static enum rp_err
mail_person(struct db *db, int64_t person, char name[RP_TEXT_MAX],
    char email[RP_TEXT_MAX], struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*v;
	enum rp_err	 e;

	name[0] = email[0] = '\0';
	dbq_start(&q, db, DB_MAIL_PERSON);
	dbq_int(&q, person);
	if (dbq_step(&q)) {
		if ((v = dbq_col_text(&q, 0)) != NULL)
			(void)snprintf(name, RP_TEXT_MAX, "%s", v);
		if ((v = dbq_col_text(&q, 1)) != NULL)
			(void)snprintf(email, RP_TEXT_MAX, "%s", v);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read a person");
	return RP_OK;
}

/*
 * Reads the e-mail address and common name the certificate cert
 * (certificates.id) itself carries, "" when none or when its stored
 * copy cannot be read.  Returns RP_OK or a database error.
 */
static enum rp_err
mail_cert_email(struct db *db, int64_t cert, char name[RP_TEXT_MAX],
    char email[RP_TEXT_MAX], struct rp_errinfo *ei)
{
	struct cert_info	 ci;
	struct dbq		 q;
	char			*pem = NULL;
	enum rp_err		 e;

	name[0] = email[0] = '\0';
	dbq_start(&q, db, DB_CERT_EXPORT);
	dbq_int(&q, cert);
	if (dbq_step(&q) && dbq_col_text(&q, 1) != NULL &&
	    (pem = rp_strndup(dbq_col_text(&q, 1), dbq_col_bytes(&q, 1))) ==
	    NULL)
		q.err = RP_ERR_NOMEM;
	if ((e = dbq_end(&q)) != RP_OK) {
		free(pem);
		return rp_fail(ei, e, "db", "cannot read a certificate");
	}
	if (pem == NULL)
		return RP_OK;
	memset(&ci, 0, sizeof(ci));
	if (x509_read_pem(pem, strlen(pem), &ci, NULL) == RP_OK) {
		(void)snprintf(email, RP_TEXT_MAX, "%s", ci.email);
		(void)snprintf(name, RP_TEXT_MAX, "%s", ci.common_name);
	}
	cert_info_free(&ci);
	free(pem);
	return RP_OK;
}

/*
 * Adds the subject person of certificate cr to the recipients with
 * roles: the person's registered address, else the certificate's own.
 * Returns RP_OK or a database error.
 */
static enum rp_err
mail_add_subject(struct mail_ctx *c, const struct cert_row *cr,
    unsigned int roles, struct rp_errinfo *ei)
{
	char		 name[RP_TEXT_MAX], email[RP_TEXT_MAX];
	char		 cname[RP_TEXT_MAX], cemail[RP_TEXT_MAX];
	enum rp_err	 e;

	name[0] = email[0] = '\0';
	if (cr->person != 0 &&
	    (e = mail_person(c->db, cr->person, name, email, ei)) != RP_OK)
		return e;
	if (!mail_addr_ok(email)) {
		if ((e = mail_cert_email(c->db, cr->id, cname, cemail, ei)) !=
		    RP_OK)
			return e;
		memcpy(email, cemail, sizeof(email));
		if (name[0] == '\0')
			memcpy(name, cname, sizeof(name));
	}
	mail_rcpt_add(c, email, name, roles, NULL);
	return RP_OK;
}

/*
 * Reads the persons who signed the request into c->signers and adds them
 * to the recipients with roles (0: only reads them).  Returns RP_OK or a
 * database error.
 */
static enum rp_err
mail_signers(struct mail_ctx *c, int64_t row, unsigned int roles,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*name, *email;
	enum rp_err	 e;

	c->nsigners = 0;
	dbq_start(&q, c->db, DB_MAIL_SIGNERS);
	dbq_int(&q, row);
	dbq_int(&q, MAIL_RCPTS_MAX);
	while (dbq_step(&q) && c->nsigners < MAIL_RCPTS_MAX) {
		c->signers[c->nsigners++] = dbq_col_int(&q, 0);
		name = dbq_col_text(&q, 1);
		email = dbq_col_text(&q, 2);
		if (roles != 0 && email != NULL)
			mail_rcpt_add(c, email, name != NULL ? name : "",
			    roles, NULL);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the signers");
	return RP_OK;
}

/* Returns 1 when person (persons.id) signed the request. */
static int
mail_signed(const struct mail_ctx *c, int64_t person)
{
	size_t	 i;

	for (i = 0; i < c->nsigners; i++)
		if (c->signers[i] == person)
			return 1;
	return 0;
}

/*
 * Adds the parties the request still needs, per certificate: the subject
 * person while c->need holds REL_SUBJECT and they have not signed, and
 * every legal representative in office of its organisation while
 * c->need holds REL_LEGAL_REP and none of them has signed.  (At
 * "approved" the request's need is still the one before the signature:
 * the signers tell who is done.)  Returns RP_OK or a database error.
 */
static enum rp_err
mail_needed(struct mail_ctx *c, struct rp_errinfo *ei)
{
	const struct cert_row	*cr;
	struct dbq		 q;
	const char		*name, *email;
	size_t			 i, k;
	enum rp_err		 e;
	int			 done, yes;

	for (i = 0; i < c->ncerts; i++) {
		cr = &c->certs[i];
		if ((c->need & REL_SUBJECT) && cr->person != 0 &&
		    !mail_signed(c, cr->person) &&
		    (e = mail_add_subject(c, cr, MR_NEED_SUBJECT, ei)) !=
		    RP_OK)
			return e;
		if (!(c->need & REL_LEGAL_REP) || cr->organisation == 0)
			continue;
		for (done = 0, k = 0; k < c->nsigners && !done; k++) {
			if ((e = reg_is_rep(c->db, cr->organisation,
			    c->signers[k], c->now, &yes)) != RP_OK)
				return rp_fail(ei, e, "db", "cannot read the "
				    "legal representatives");
			done = yes;
		}
		if (done)
			continue;
		dbq_start(&q, c->db, DB_MAIL_REPS);
		dbq_int(&q, cr->organisation);
		dbq_int(&q, c->now);
		dbq_int(&q, MAIL_RCPTS_MAX);
		while (dbq_step(&q)) {
			name = dbq_col_text(&q, 1);
			email = dbq_col_text(&q, 2);
			if (email != NULL)
				mail_rcpt_add(c, email, name != NULL ? name :
				    "", MR_NEED_REP, cr->org_id);
		}
		if ((e = dbq_end(&q)) != RP_OK)
			return rp_fail(ei, e, "db", "cannot read the legal "
			    "representatives");
	}
	return RP_OK;
}

/*
 * Reads request row into c (its certificates too).  Returns RP_OK,
 * RP_ERR_NOT_FOUND, or a database error.
 */
static enum rp_err
mail_request(struct mail_ctx *c, int64_t row, struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*v;
	enum rp_err	 e;
	int		 found = 0;

	dbq_start(&q, c->db, DB_MAIL_REQ);
	dbq_int(&q, row);
	if (dbq_step(&q)) {
		found = 1;
		v = dbq_col_text(&q, 0);
		(void)snprintf(c->public_id, sizeof(c->public_id), "%s",
		    v != NULL ? v : "");
		c->action = dom_action_parse(dbq_col_text(&q, 1));
		c->reason = dom_reason_parse(dbq_col_text(&q, 2));
		c->state = dom_state_parse(dbq_col_text(&q, 3));
		c->need = (unsigned int)dbq_col_int(&q, 4);
		c->received_at = dbq_col_int(&q, 5);
		c->expires_at = dbq_col_int(&q, 6);
		if ((v = dbq_col_text(&q, 7)) != NULL)
			ca_text(c->outcome, sizeof(c->outcome), v, strlen(v));
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the request");
	if (!found)
		return rp_fail(ei, RP_ERR_NOT_FOUND, "not_found",
		    "no request %lld", (long long)row);
	/* The CHECK constraints of requests: always known. */
	if (c->action >= ACT__MAX || c->state >= RS__MAX)
		return rp_fail(ei, RP_ERR_INTERNAL, "db", "a request's "
		    "action or state is unknown");
	if (c->reason >= REASON__MAX)
		c->reason = REASON_UNSPECIFIED;
	if ((e = reg_request_certs(c->db, row, c->certs, RP_TOKEN_CERTS_MAX,
	    &c->ncerts)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the certificates");
	return RP_OK;
}

/* --- What they are told ----------------------------------------------- */

/* Appends v as one line of text: controls and line breaks as spaces. */
static enum rp_err
mail_put(struct buf *b, const char *v)
{
	char	 t[RP_DN_MAX + 8];

	ca_text(t, sizeof(t), v, strlen(v));
	return buf_adds(b, t);
}

/* The request's action as a verb ("suspend"); the noun is dom.c's. */
static const char *
mail_verb(enum action a)
{
	switch (a) {
	case ACT_REVOKE:
		return "revoke";
	case ACT_SUSPEND:
		return "suspend";
	case ACT_REACTIVATE:
		return "reactivate";
	case ACT_RECOVER:
		return "recover (re-issue with a new key)";
	default:
		return "change";
	}
}

/* Appends what the request is about: "certificate 1A", "3 certificates". */
static enum rp_err
mail_target(struct buf *b, const struct mail_ctx *c)
{
	if (c->ncerts == 1)
		return buf_addf(b, "certificate %s", c->certs[0].serial);
	if (c->ncerts > 0 && c->certs[0].token_label[0] != '\0') {
		if (buf_addf(b, "%zu certificates of token ", c->ncerts) !=
		    RP_OK)
			return RP_ERR_NOMEM;
		return mail_put(b, c->certs[0].token_label);
	}
	return buf_addf(b, "%zu certificates", c->ncerts);
}

/*
 * Writes the Subject of event kind into out (MAIL_SUBJECT_MAX):
 * "[site] Suspension of certificate 1A: request received".  Returns
 * RP_OK or RP_ERR_NOMEM.
 */
static enum rp_err
mail_subject(const struct mail_ctx *c, enum mail_kind kind, char *out)
{
	static const char *const what[MK__MAX] = {
		[MK_RECEIVED] = "request received",
		[MK_NEEDS_APPROVAL] = "your signature is needed",
		[MK_COMPLETED] = "done",
		[MK_FAILED] = "not done yet",
		[MK_REJECTED] = "request rejected",
		[MK_EXPIRED] = "request expired",
		[MK_APPROVED] = "signed",
	};
	struct buf	 b;
	enum rp_err	 e;

	buf_init(&b, MAIL_SUBJECT_MAX * 2);
	if (mail_site.site_name[0] != '\0' &&
	    ((e = buf_adds(&b, "[")) != RP_OK ||
	    (e = mail_put(&b, mail_site.site_name)) != RP_OK ||
	    (e = buf_adds(&b, "] ")) != RP_OK))
		goto out;
	if ((e = buf_addf(&b, "%s of ", dom_action_noun(c->action) != NULL ?
	    dom_action_noun(c->action) : "Change")) != RP_OK ||
	    (e = mail_target(&b, c)) != RP_OK ||
	    (e = buf_addf(&b, ": %s", what[kind])) != RP_OK)
		goto out;
	ca_text(out, MAIL_SUBJECT_MAX, b.p, b.len);
out:
	buf_free(&b);
	return e;
}

/*
 * Returns, in words, the state a request in state with need (REL_*
 * still to sign) is in once the event is told: one that needs no
 * signature is still awaiting_approval while its "received" is told
 * (lifecycle.c queues it right after), so it is told as queued.  A
 * static string, never the raw state name.
 */
UNITTEST const char *
mail_state_words(enum req_state state, unsigned int need)
{
	if (state == RS_AWAITING_APPROVAL && need == 0)
		state = RS_QUEUED;
	switch (state) {
	case RS_AWAITING_APPROVAL:
		return "waiting for the signatures it needs";
	case RS_QUEUED:
		return "on its way to the certification authority";
	case RS_RELAYED:
		return "with the certification authority";
	case RS_COMPLETED:
		return "carried out";
	case RS_REJECTED:
		return "rejected, nothing was changed";
	case RS_EXPIRED:
		return "expired, nothing was changed";
	case RS_FAILED:
		return "not carried out yet, the registration office will "
		    "see to it";
	default:
		return "unknown";
	}
}

/* Appends "label: value" as one line of the body (value sanitised). */
static enum rp_err
mail_field(struct buf *b, const char *label, const char *v)
{
	enum rp_err	 e;

	if ((e = buf_addf(b, "%-15s ", label)) != RP_OK ||
	    (e = mail_put(b, v)) != RP_OK)
		return e;
	return buf_adds(b, "\n");
}

/* Appends a time (ms) as a field, "2026-11-21T22:40:50.123Z". */
static enum rp_err
mail_field_time(struct buf *b, const char *label, int64_t ms)
{
	char	 t[32];

	rp_time_format(ms, t);
	return mail_field(b, label, t);
}

/* The opening paragraph of event kind for recipient r. */
static enum rp_err
mail_intro(struct buf *b, const struct mail_ctx *c, enum mail_kind kind,
    const struct mail_rcpt *r)
{
	const char	*v = mail_verb(c->action);
	const char	*which = c->ncerts == 1 ? "the certificate below" :
			    "the certificates below";
	char		 t[32];
	enum rp_err	 e;

	switch (kind) {
	case MK_RECEIVED:
		if ((e = buf_addf(b, "We received a request to %s %s.\n", v,
		    which)) != RP_OK)
			return e;
		if (c->state == RS_AWAITING_APPROVAL && c->need != 0) {
			rp_time_format(c->expires_at, t);
			return buf_addf(b, "It waits for the signature of %s "
			    "before it can be carried out; they have been "
			    "asked by e-mail.  Without it the request expires "
			    "at %s.\n", (c->need & REL_LEGAL_REP) ?
			    "a legal representative of the organisation" :
			    "the person named in the certificate", t);
		}
		return buf_adds(b, "It goes to the certification authority "
		    "now; you will get another message when it is done.\n");
	case MK_NEEDS_APPROVAL:
	case MK_APPROVED:
		if ((e = buf_addf(b, "A request to %s %s needs your "
		    "signature as ", v, which)) != RP_OK)
			return e;
		if (r->roles & MR_NEED_REP) {
			if ((e = buf_adds(b, "a legal representative of "))
			    != RP_OK || (e = mail_put(b, r->org)) != RP_OK)
				return e;
		} else if ((e = buf_adds(b, "the person named in the "
		    "certificate")) != RP_OK)
			return e;
		if ((e = buf_addf(b, ".  To read it and sign it with your "
		    "qualified certificate, open\n\n    %s/approvals/%s\n\n",
		    mail_site.portal_url, c->public_id)) != RP_OK)
			return e;
		rp_time_format(c->expires_at, t);
		return buf_addf(b, "Without your signature the request expires "
		    "at %s and nothing changes.\n", t);
	case MK_COMPLETED:
		return buf_addf(b, "The request to %s %s has been carried "
		    "out: the certification authority confirmed it.\n", v,
		    which);
	case MK_FAILED:
		return buf_addf(b, "The request to %s %s could not be "
		    "carried out yet: the certification authority did not "
		    "confirm it.  The registration office has been told and "
		    "will try again or contact you.\n", v, which);
	case MK_REJECTED:
		if ((e = buf_addf(b, "The registration office rejected the "
		    "request to %s %s; nothing was changed.\n", v, which)) !=
		    RP_OK)
			return e;
		return c->outcome[0] != '\0' ?
		    mail_field(b, "\nReason given:", c->outcome) : RP_OK;
	case MK_EXPIRED:
		return buf_addf(b, "The request to %s %s expired: the "
		    "signatures it needed did not come in time.  Nothing was "
		    "changed; you may ask again.\n", v, which);
	default:
		return RP_OK;
	}
}

/*
 * Appends how a suspension ends and how to lift it, for a suspension's
 * received and completed messages.
 */
static enum rp_err
mail_suspension(struct buf *b)
{
	return buf_addf(b, "\nWhile it is suspended, a certificate can be "
	    "reactivated: sign a reactivation request with your qualified "
	    "certificate at\n\n    %s/reactivate\n\n(a business, application "
	    "or e-seal certificate needs the signature of a legal "
	    "representative of the organisation as well).  A suspension "
	    "lasts at most %u days; then the certificate is %s "
	    "automatically.\n", mail_site.portal_url,
	    mail_site.suspend_max_days,
	    mail_site.end_action == ACT_REACTIVATE ? "valid again" :
	    "revoked for good");
}

/*
 * Writes the body of event kind for recipient r into b.  Returns RP_OK,
 * or RP_ERR_NOMEM past MAIL_BODY_MAX.
 */
static enum rp_err
mail_body(struct buf *b, const struct mail_ctx *c, enum mail_kind kind,
    const struct mail_rcpt *r)
{
	const struct cert_row	*cr;
	char			 lbl[48];
	size_t			 i;
	enum rp_err		 e;

	if ((e = buf_adds(b, "Hello")) != RP_OK ||
	    (r->name[0] != '\0' && ((e = buf_adds(b, " ")) != RP_OK ||
	    (e = mail_put(b, r->name)) != RP_OK)) ||
	    (e = buf_adds(b, ",\n\n")) != RP_OK ||
	    (e = mail_intro(b, c, kind, r)) != RP_OK ||
	    (e = buf_adds(b, "\n")) != RP_OK ||
	    (e = mail_field(b, "Request:", c->public_id)) != RP_OK ||
	    (e = mail_field(b, "Action:", dom_action_name(c->action))) !=
	    RP_OK ||
	    (c->reason != REASON_UNSPECIFIED && c->action != ACT_SUSPEND &&
	    c->action != ACT_REACTIVATE && (e = mail_field(b, "Reason:",
	    dom_reason_name(c->reason))) != RP_OK) ||
	    (e = mail_field(b, "State:", mail_state_words(c->state,
	    c->need))) != RP_OK ||
	    (e = mail_field_time(b, "Received:", c->received_at)) != RP_OK)
		return e;
	for (i = 0; i < c->ncerts; i++) {
		cr = &c->certs[i];
		if (c->ncerts == 1)
			(void)snprintf(lbl, sizeof(lbl), "Certificate:");
		else
			(void)snprintf(lbl, sizeof(lbl), "Certificate %zu:",
			    i + 1);
		if ((e = buf_addf(b, "\n%s\n", lbl)) != RP_OK ||
		    (e = mail_field(b, "  Serial:", cr->serial)) != RP_OK ||
		    (e = mail_field(b, "  Type:", dom_type_name(cr->type))) !=
		    RP_OK ||
		    (e = mail_field(b, "  Subject:", cr->subject)) != RP_OK ||
		    (e = mail_field(b, "  Issuer:", cr->issuer)) != RP_OK ||
		    (e = mail_field(b, "  Status:",
		    dom_status_name(cr->status))) != RP_OK)
			return e;
		if (cr->status == CS_SUSPENDED && cr->suspended_until != 0 &&
		    (e = mail_field_time(b, "  Suspended to:",
		    cr->suspended_until)) != RP_OK)
			return e;
	}
	if ((e = buf_addf(b, "\nThe request's status page:\n\n    "
	    "%s/requests/%s\n", mail_site.portal_url, c->public_id)) != RP_OK)
		return e;
	if (c->action == ACT_SUSPEND &&
	    (kind == MK_RECEIVED || kind == MK_COMPLETED) &&
	    (e = mail_suspension(b)) != RP_OK)
		return e;
	if (mail_site.hotline[0] != '\0' && kind != MK_EXPIRED &&
	    (e = buf_addf(b, "\nIf you did not ask for this, call %s at "
	    "once.\n", mail_site.hotline)) != RP_OK)
		return e;
	if ((e = buf_adds(b, "\n-- \n")) != RP_OK ||
	    (mail_site.site_name[0] != '\0' &&
	    ((e = mail_put(b, mail_site.site_name)) != RP_OK ||
	    (e = buf_adds(b, "\n")) != RP_OK)))
		return e;
	return buf_adds(b, "This message was sent automatically; replies "
	    "are not read.\n");
}

/*
 * Queues the message of event kind for r, unless r has it already.
 * Returns RP_OK or a database error.  A body over MAIL_BODY_MAX is
 * skipped, logged.
 */
static enum rp_err
mail_queue(struct mail_ctx *c, int64_t row, enum mail_kind kind,
    const struct mail_rcpt *r, struct rp_errinfo *ei)
{
	struct buf	 body;
	struct dbq	 q;
	char		 subject[MAIL_SUBJECT_MAX];
	enum mail_kind	 stored = kind == MK_APPROVED ? MK_NEEDS_APPROVAL :
			    kind;
	enum rp_err	 e;

	buf_init(&body, MAIL_BODY_MAX);
	if ((e = mail_subject(c, stored, subject)) != RP_OK ||
	    (e = mail_body(&body, c, stored, r)) != RP_OK) {
		rplog(RPLOG_WARN, "mail_skipped", "request=%s event=%s "
		    "error=too_long", c->public_id, mail_kinds[stored]);
		buf_free(&body);
		return RP_OK;
	}
	dbq_start(&q, c->db, DB_MAIL_ADD);
	dbq_int(&q, row);
	dbq_text(&q, mail_kinds[stored]);
	dbq_text(&q, r->addr);
	dbq_text(&q, subject);
	dbq_text(&q, body.p);
	dbq_int(&q, c->now);
	dbq_int(&q, c->now);
	e = dbq_exec(&q, NULL);
	buf_free(&body);
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot queue an e-mail");
	return RP_OK;
}

/* Returns the mail_kind of lifecycle event name, MK__MAX for none. */
static enum mail_kind
mail_kind_of(const char *event)
{
	size_t	 i;

	for (i = 0; i < MK__MAX; i++)
		if (i != MK_NEEDS_APPROVAL && strcmp(event, mail_kinds[i]) == 0)
			return (enum mail_kind)i;
	return MK__MAX;
}

/*
 * Queues, inside the caller's write transaction, the messages lifecycle
 * event event of request row warrants at now (see the top of this file);
 * nothing while mail is off or for an event that tells nobody.  Returns
 * RP_OK, RP_ERR_NOT_FOUND for an unknown request, or a database error
 * (the caller rolls back).  A recipient without a usable address, or a
 * message too long, is skipped, not an error.
 */
enum rp_err
mail_event(struct db *db, int64_t row, const char *event, int64_t now,
    struct rp_errinfo *ei)
{
	struct mail_ctx	*c;
	enum mail_kind	 kind;
	size_t		 i;
	enum rp_err	 e = RP_OK;
	int		 awaiting;

	if (!mail_site.on || event == NULL ||
	    (kind = mail_kind_of(event)) == MK__MAX)
		return RP_OK;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	c->db = db;
	c->now = now;
	c->kind = kind;
	if ((e = mail_request(c, row, ei)) != RP_OK)
		goto out;
	awaiting = c->state == RS_AWAITING_APPROVAL && c->need != 0;
	if (kind == MK_APPROVED && !awaiting)
		goto out;
	/* The signers: told of the end, and done with signing. */
	if ((e = mail_signers(c, row, kind == MK_RECEIVED ||
	    kind == MK_APPROVED ? 0 : MR_SIGNER, ei)) != RP_OK)
		goto out;
	if ((kind == MK_RECEIVED || kind == MK_APPROVED) && awaiting &&
	    (e = mail_needed(c, ei)) != RP_OK)
		goto out;
	if (kind != MK_APPROVED)
		for (i = 0; i < c->ncerts; i++)
			if ((e = mail_add_subject(c, &c->certs[i], MR_SUBJECT,
			    ei)) != RP_OK)
				goto out;
	if (c->dropped > 0)
		rplog(RPLOG_WARN, "mail_recipients", "request=%s event=%s "
		    "dropped=%d", c->public_id, event, c->dropped);
	for (i = 0; i < c->nrcpts; i++) {
		if (c->rcpts[i].roles & MR_NEED)
			e = mail_queue(c, row, MK_NEEDS_APPROVAL,
			    &c->rcpts[i], ei);
		else if (kind != MK_APPROVED)
			e = mail_queue(c, row, kind, &c->rcpts[i], ei);
		if (e != RP_OK)
			goto out;
	}
out:
	free(c);
	return e;
}

/* --- The message on the wire ----------------------------------------- */

/*
 * Appends the Subject header: subject on one line, as it is when it is
 * ASCII, else as RFC 2047 encoded words (UTF-8, base64) of at most
 * MAIL_WORD_BYTES bytes each, cut at character boundaries, one per
 * folded line.
 */
static enum rp_err
mail_subject_header(struct buf *b, const char *subject)
{
	char		 t[MAIL_SUBJECT_MAX];
	unsigned char	 enc[4 * ((MAIL_WORD_BYTES + 2) / 3) + 1];
	size_t		 len, i, n;
	enum rp_err	 e;
	int		 ascii = 1;

	ca_text(t, sizeof(t), subject, strlen(subject));
	len = strlen(t);
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] >= 0x80)
			ascii = 0;
	if (ascii)
		return buf_addf(b, "Subject: %s\r\n", t);
	if ((e = buf_adds(b, "Subject:")) != RP_OK)
		return e;
	for (i = 0; i < len; i += n) {
		n = len - i < MAIL_WORD_BYTES ? len - i : MAIL_WORD_BYTES;
		/* Back to the start of a UTF-8 character. */
		while (n > 1 && i + n < len &&
		    ((unsigned char)t[i + n] & 0xc0) == 0x80)
			n--;
		(void)EVP_EncodeBlock(enc, (const unsigned char *)t + i,
		    (int)n);
		if ((e = buf_addf(b, "%s=?UTF-8?B?%s?=", i == 0 ? " " :
		    "\r\n ", (const char *)enc)) != RP_OK)
			return e;
	}
	return buf_adds(b, "\r\n");
}

/*
 * Appends body as quoted-printable (RFC 2045 6.7) with CRLF line ends:
 * LF ends a line, CR is dropped, lines are at most MAIL_LINE_MAX
 * characters with soft breaks.  A line starting with "." is left as it
 * is: libcurl doubles it on the wire.
 */
static enum rp_err
mail_qp(struct buf *b, const char *body)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			 enc[4];
	size_t			 col = 0, n;
	enum rp_err		 e;
	int			 lit;

	for (p = (const unsigned char *)body; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			if ((e = buf_adds(b, "\r\n")) != RP_OK)
				return e;
			col = 0;
			continue;
		}
		/* A space or tab is literal unless it ends a line. */
		lit = (*p >= 33 && *p <= 126 && *p != '=') ||
		    ((*p == ' ' || *p == '\t') && p[1] != '\n' &&
		    p[1] != '\r' && p[1] != '\0');
		if (lit) {
			enc[0] = (char)*p;
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 0xf];
			n = 3;
		}
		/* Room for the soft break's "=" after it. */
		if (col + n > MAIL_LINE_MAX - 1) {
			if ((e = buf_adds(b, "=\r\n")) != RP_OK)
				return e;
			col = 0;
		}
		if ((e = buf_add(b, enc, n)) != RP_OK)
			return e;
		col += n;
	}
	return col > 0 ? buf_adds(b, "\r\n") : RP_OK;
}

/*
 * Appends to b the message to send for row id (created at created_at):
 * From, To, Subject, Date (now), Message-ID, the MIME headers, then the
 * body as quoted-printable, CRLF throughout.  Returns RP_OK,
 * RP_ERR_BAD_INPUT for an address mail_addr_ok() refuses, RP_ERR_NOMEM
 * past b's limit.
 */
UNITTEST enum rp_err
mail_message(struct buf *b, const char *from, const char *rcpt,
    const char *subject, const char *body, int64_t id, int64_t created_at,
    int64_t now)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;
	time_t		 t = (time_t)(now / 1000);
	const char	*domain;
	enum rp_err	 e;

	if (!mail_addr_ok(from) || !mail_addr_ok(rcpt))
		return RP_ERR_BAD_INPUT;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return RP_ERR_INTERNAL;
	domain = strchr(from, '@') + 1;
	if ((e = buf_addf(b, "From: %s\r\nTo: %s\r\n", from, rcpt)) !=
	    RP_OK ||
	    (e = mail_subject_header(b, subject)) != RP_OK ||
	    (e = buf_addf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec)) != RP_OK ||
	    (e = buf_addf(b, "Message-ID: <revportal.%lld.%lld@%s>\r\n",
	    (long long)id, (long long)created_at, domain)) != RP_OK ||
	    (e = buf_adds(b, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n")) != RP_OK)
		return e;
	return mail_qp(b, body);
}

/* --- Sending ---------------------------------------------------------- */

/* The message libcurl reads. */
struct mail_src {
	const char	*p;
	size_t		 len;
	size_t		 off;
};

/* libcurl's read callback: the next bytes of the message. */
static size_t
mail_read(char *out, size_t size, size_t n, void *arg)
{
	struct mail_src	*s = arg;
	size_t		 room, left;

	if (size == 0 || n > SIZE_MAX / size)
		return CURL_READFUNC_ABORT;
	room = size * n;
	left = s->len - s->off;
	if (room > left)
		room = left;
	memcpy(out, s->p + s->off, room);
	s->off += room;
	return room;
}

/*
 * Sets what every message shares on the handle h: the server of [mail]
 * smtp_url, smtp and smtps only, TLS (implicit, or STARTTLS required
 * unless allow_plain) with the peer verified, no proxy, the timeouts,
 * the sender; each answer of the server, QUIT's included, within the
 * timeout too.  Returns 0, or -1 when libcurl refused an option.
 */
static int
mail_curl_setup(CURL *h, const struct config *cfg, char *from,
    size_t fromsz, char *errbuf)
{
	int	 n;

	n = snprintf(from, fromsz, "<%s>", cfg->mail_from);
	if (n < 0 || (size_t)n >= fromsz)
		return -1;
	if (curl_easy_setopt(h, CURLOPT_URL, cfg->mail_url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps") !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USE_SSL, cfg->mail_allow_plain ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (cfg->mail_ca_file[0] != '\0' &&
	    curl_easy_setopt(h, CURLOPT_CAINFO, cfg->mail_ca_file) !=
	    CURLE_OK) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)cfg->mail_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
	    (long)cfg->mail_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
	    (long)((cfg->mail_timeout_ms + 999) / 1000)) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_read) != CURLE_OK)
		return -1;
	return 0;
}

/*
 * Sends msg (the whole message text) to rcpt over h, allowing it
 * timeout_ms; cut says that this is what was left of the run's time,
 * less than [mail] timeout_ms, so that running out of it is MO_CUT, not
 * a server that does not answer.  Returns what became of it, with the
 * reason in why for anything but MO_SENT.
 */
static enum mail_outcome
mail_send(CURL *h, const char *rcpt, const struct buf *msg, long timeout_ms,
    int cut, const char *errbuf, char *why, size_t whylen)
{
	struct curl_slist	*to = NULL;
	struct mail_src		 src;
	char			 addr[MAIL_ADDR_MAX + 3];
	char			 t[RP_ERRMSG_MAX + CURL_ERROR_SIZE + 64];
	long			 code = 0;
	CURLcode		 rc;
	int			 n;

	n = snprintf(addr, sizeof(addr), "<%s>", rcpt);
	if (n < 0 || (size_t)n >= sizeof(addr) ||
	    (to = curl_slist_append(NULL, addr)) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return MO_RETRY;
	}
	src.p = msg->p;
	src.len = msg->len;
	src.off = 0;
	if (curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READDATA, &src) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)msg->len) != CURLE_OK) {
		curl_slist_free_all(to);
		(void)snprintf(why, whylen, "libcurl refused an option");
		return MO_RETRY;
	}
	rc = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	(void)curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(to);
	if (rc == CURLE_OK)
		return MO_SENT;
	(void)snprintf(t, sizeof(t), "%s%s%s (SMTP %ld)",
	    curl_easy_strerror(rc), errbuf[0] != '\0' ? ": " : "", errbuf,
	    code);
	ca_text(why, whylen, t, strlen(t));
	if (cut && rc == CURLE_OPERATION_TIMEDOUT)
		return MO_CUT;
	if (code >= 500 && code <= 599)
		return MO_DEAD;
	if (code >= 400 && code <= 499)
		return MO_RETRY;
	return MO_DOWN;
}

/*
 * Drops the connection of h, if libcurl kept it, without a word: after
 * a server that stalled, libcurl's polite QUIT at the end of the run
 * would wait for it once more.
 */
static void
mail_drop(CURL *h)
{
	curl_socket_t	 s = CURL_SOCKET_BAD;

	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
	    s != CURL_SOCKET_BAD)
		(void)shutdown(s, SHUT_RDWR);	/* libcurl closes it */
}

/* Frees what a claim read into m. */
static void
mail_msg_free(struct mail_msg *m)
{
	free(m->rcpt);
	free(m->subject);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

/*
 * Claims the pending message due first at now for owner (a lease of
 * lease_ms) in one write transaction and reads it into m (free with
 * mail_msg_free()).  *got is 0 when none is due.  Returns RP_OK or a
 * database error (nothing changed).
 */
static enum rp_err
mail_claim(struct db *db, const char *owner, int64_t now, int64_t lease_ms,
    struct mail_msg *m, int *got, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 found = 0, changed;

	*got = 0;
	memset(m, 0, sizeof(*m));
	if ((e = db_begin(db)) != RP_OK)
		return rp_fail(ei, e, "db_busy", "the database is busy");
	dbq_start(&q, db, DB_MAIL_DUE);
	dbq_int(&q, now);
	if (dbq_step(&q)) {
		found = 1;
		m->id = dbq_col_int(&q, 0);
		m->attempts = (unsigned int)dbq_col_int(&q, 4);
		m->created_at = dbq_col_int(&q, 5);
		if ((m->rcpt = rp_strndup(dbq_col_text(&q, 1),
		    dbq_col_bytes(&q, 1))) == NULL ||
		    (m->subject = rp_strndup(dbq_col_text(&q, 2),
		    dbq_col_bytes(&q, 2))) == NULL ||
		    (m->body = rp_strndup(dbq_col_text(&q, 3),
		    dbq_col_bytes(&q, 3))) == NULL)
			q.err = RP_ERR_NOMEM;
	}
	if ((e = dbq_end(&q)) != RP_OK || !found) {
		db_rollback(db);
		mail_msg_free(m);
		return e != RP_OK ? rp_fail(ei, e, "db", "cannot read the "
		    "mail queue") : RP_OK;
	}
	dbq_start(&q, db, DB_MAIL_LEASE);
	dbq_text(&q, owner);
	dbq_int(&q, now + lease_ms);
	dbq_int(&q, m->id);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, &changed)) != RP_OK || changed != 1) {
		db_rollback(db);
		mail_msg_free(m);
		return rp_fail(ei, e != RP_OK ? e : RP_ERR_INTERNAL, "db",
		    "cannot lease a message");
	}
	if ((e = db_commit(db)) != RP_OK) {
		mail_msg_free(m);
		return rp_fail(ei, e, "db_commit", "cannot lease a message");
	}
	*got = 1;
	return RP_OK;
}

/*
 * Records what became of m (claimed by owner) at now: sent, or a failure
 * with why, retried after a backoff or dead (at once for MO_DEAD, or at
 * max_attempts failures); MO_CUT puts it back as it was, due at once.
 * Returns RP_OK, RP_ERR_CONFLICT "lease_lost", or a database error.
 */
static enum rp_err
mail_record(struct db *db, const struct config *cfg, const char *owner,
    const struct mail_msg *m, enum mail_outcome o, const char *why,
    int64_t now, struct mail_report *rep, struct rp_errinfo *ei)
{
	struct outbox_conf	 oc;
	struct dbq		 q;
	const char		*state = "sent";
	unsigned int		 attempts = m->attempts;
	int64_t			 next = now;
	uint32_t		 rnd = 0x80000000u;
	enum rp_err		 e;
	int			 changed;

	if (o == MO_CUT)
		state = "pending";
	else if (o != MO_SENT) {
		attempts++;
		if (o == MO_DEAD || attempts >= cfg->mail_max_attempts)
			state = "dead";
		else {
			state = "pending";
			memset(&oc, 0, sizeof(oc));
			oc.backoff_min_ms = MAIL_BACKOFF_MIN_MS;
			oc.backoff_max_ms = MAIL_BACKOFF_MAX_MS;
			if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
				rnd = 0x80000000u;
			next = now + outbox_backoff(&oc, m->attempts, rnd);
		}
	}
	dbq_start(&q, db, DB_MAIL_RECORD);
	dbq_text(&q, state);
	dbq_int(&q, attempts);
	dbq_int(&q, next);
	dbq_text(&q, o == MO_SENT ? NULL : why);
	if (o == MO_SENT)
		dbq_int(&q, now);
	else
		dbq_null(&q);
	dbq_int(&q, m->id);
	dbq_text(&q, owner);
	if ((e = dbq_exec(&q, &changed)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot record a message");
	if (changed != 1)
		return rp_fail(ei, RP_ERR_CONFLICT, "lease_lost",
		    "the message is no longer leased to this relay");
	if (o == MO_SENT) {
		rep->sent++;
		rplog(RPLOG_INFO, "mail_sent", "id=%lld attempts=%u",
		    (long long)m->id, attempts);
	} else if (o == MO_CUT) {
		rep->cut++;
		rplog(RPLOG_INFO, "mail_deferred", "id=%lld attempts=%u "
		    "error=\"the run's time ran out: %s\"", (long long)m->id,
		    attempts, why);
	} else if (state[0] == 'd') {
		rep->dead++;
		rplog(RPLOG_ERROR, "mail_dead", "id=%lld attempts=%u "
		    "error=\"%s\"", (long long)m->id, attempts, why);
	} else {
		rep->retry++;
		rplog(RPLOG_WARN, "mail_retry", "id=%lld attempts=%u "
		    "next_in_ms=%lld error=\"%s\"", (long long)m->id,
		    attempts, (long long)(next - now), why);
	}
	return RP_OK;
}

/* Milliseconds of the monotonic clock. */
static int64_t
mail_mono(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends the due messages, one claim at a time, with one libcurl handle
 * (its connection kept between messages): at most max (at most
 * MAIL_RUN_MAX), none after a server that did not answer, and all within
 * one [mail] timeout_ms from the start: the first message may take all
 * of it, each other one what is left, and another one starts only while
 * at least half of it is left.  A message the run's end cuts short is
 * put back, not counted as an attempt; after a server that stalled the
 * connection is dropped.  A message that cannot be written is dead.
 * Returns RP_OK, or the database error that stopped it (a message sent
 * but not recorded comes back once its lease ends, and may then go
 * twice).
 */
enum rp_err
mail_run(struct db *db, const struct config *cfg, const char *owner,
    int64_t now, unsigned int max, struct mail_report *rep,
    struct rp_errinfo *ei)
{
	struct mail_msg		 m;
	struct buf		 msg;
	CURL			*h = NULL;
	char			 errbuf[CURL_ERROR_SIZE], why[RP_ERRMSG_MAX];
	char			 from[MAIL_ADDR_MAX + 3];
	int64_t			 lease_ms, start, el, t, budget, left;
	unsigned int		 i;
	enum mail_outcome	 o;
	enum rp_err		 e = RP_OK;
	int			 got;

	memset(rep, 0, sizeof(*rep));
	memset(&m, 0, sizeof(m));
	buf_init(&msg, MAIL_MSG_MAX);
	if (cfg->mail_url[0] == '\0' || max == 0)
		return RP_OK;
	if (max > MAIL_RUN_MAX)
		max = MAIL_RUN_MAX;
	budget = (int64_t)cfg->mail_timeout_ms;
	/* Outlasts a send and its recording. */
	lease_ms = 2 * budget + (int64_t)cfg->busy_timeout_ms + 1000;
	if (lease_ms < (int64_t)cfg->relay_lease_seconds * 1000)
		lease_ms = (int64_t)cfg->relay_lease_seconds * 1000;
	if ((h = curl_easy_init()) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "no libcurl handle");
	errbuf[0] = '\0';
	if (mail_curl_setup(h, cfg, from, sizeof(from), errbuf) == -1) {
		e = rp_fail(ei, RP_ERR_INTERNAL, "curl", "libcurl refused "
		    "the [mail] settings");
		goto out;
	}
	start = mail_mono();
	for (i = 0; i < max; i++) {
		el = mail_mono() - start;
		if (el < 0)
			el = 0;
		left = budget - el;
		if (i > 0 && left < budget / 2)
			break;
		t = now + el;
		if ((e = mail_claim(db, owner, t, lease_ms, &m, &got, ei)) !=
		    RP_OK || !got)
			break;
		buf_reset(&msg);
		errbuf[0] = why[0] = '\0';
		/* The first message has the whole timeout, the others what
		 * is left of it (the claim took time too). */
		left = i == 0 ? budget : budget - (mail_mono() - start);
		if (left < 1)
			left = 1;
		if ((e = mail_message(&msg, cfg->mail_from, m.rcpt, m.subject,
		    m.body, m.id, m.created_at, t)) != RP_OK) {
			(void)snprintf(why, sizeof(why), "cannot write the "
			    "message: %s", rp_err_name(e));
			o = MO_DEAD;
		} else
			o = mail_send(h, m.rcpt, &msg, (long)left, i > 0,
			    errbuf, why, sizeof(why));
		if (o == MO_DOWN || o == MO_CUT)
			mail_drop(h);
		e = mail_record(db, cfg, owner, &m, o, why,
		    now + (mail_mono() - start), rep, ei);
		mail_msg_free(&m);
		if (e != RP_OK)
			break;
		if (o == MO_DOWN) {
			rep->down = 1;
			break;
		}
		if (o == MO_CUT)
			break;
	}
out:
	mail_msg_free(&m);
	buf_free(&msg);
	curl_easy_cleanup(h);
	return e;
}

/*
 * Returns how long (ms) the relay leaves e-mail alone after the n-th
 * run in a row (n from 1) whose server did not answer, each run of them
 * having cost it up to timeout_ms: MAIL_PAUSE_MIN_MS or twice
 * timeout_ms, whichever is longer, doubling with n up to
 * MAIL_PAUSE_MAX_MS.  So a server that hangs holds the CA's queue up
 * for at most a third of the time, and soon far less.
 */
int64_t
mail_pause_ms(unsigned int timeout_ms, unsigned int n)
{
	int64_t	 p;

	p = 2 * (int64_t)timeout_ms;
	if (p < MAIL_PAUSE_MIN_MS)
		p = MAIL_PAUSE_MIN_MS;
	for (; n > 1 && p < MAIL_PAUSE_MAX_MS; n--)
		p *= 2;
	return p < MAIL_PAUSE_MAX_MS ? p : MAIL_PAUSE_MAX_MS;
}

/*
 * The sweep: deletes at most MAIL_PURGE_MAX messages sent or given up
 * more than MAIL_KEEP_DAYS days before now (ms); a pending one stays
 * whatever its age.  *deleted (may be NULL) gets how many.  Returns
 * RP_OK or a database error (nothing deleted).
 */
enum rp_err
mail_purge(struct db *db, int64_t now, unsigned int *deleted,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 n = 0;

	if (deleted != NULL)
		*deleted = 0;
	dbq_start(&q, db, DB_MAIL_PURGE);
	dbq_int(&q, now - (int64_t)MAIL_KEEP_DAYS * 24 * 3600 * 1000);
	dbq_int(&q, MAIL_PURGE_MAX);
	if ((e = dbq_exec(&q, &n)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot delete old e-mail");
	if (deleted != NULL && n > 0)
		*deleted = (unsigned int)n;
	return RP_OK;
}

/* Sets *due to when the next pending message falls due, its lease run
 * out (ms), 0 when none is pending.  Returns RP_OK or a database error. */
enum rp_err
mail_next(struct db *db, int64_t *due)
{
	struct dbq	 q;

	*due = 0;
	dbq_start(&q, db, DB_MAIL_NEXT);
	if (dbq_step(&q) && !dbq_col_null(&q, 0))
		*due = dbq_col_int(&q, 0);
	return dbq_end(&q);
}
