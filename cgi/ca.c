/*
 * The CA backends behind one interface (struct ca_driver), and what the
 * drivers share: the check of a job before anything is sent, the
 * percent-encoding of a URL path segment, the mapping of a transport
 * failure to an outcome, and the officer-facing message of a result,
 * kept short and printable whatever the CA answered.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "extern.h"

/* What a message longer than RP_ERRMSG_MAX ends with. */
#define CA_CUT_MARK	"..."

static const struct ca_driver *const ca_drivers[CA__MAX] = {
	[CA_CFSSL] = &ca_cfssl_driver,
	[CA_EJBCA] = &ca_ejbca_driver,
};

static const char *const ca_backend_names[CA__MAX] = {
	[CA_CFSSL] = "cfssl",
	[CA_EJBCA] = "ejbca",
};

/* Returns the driver of backend, or NULL for a value out of range. */
const struct ca_driver *
ca_driver_get(enum ca_backend backend)
{
	if ((unsigned int)backend >= CA__MAX)
		return NULL;
	return ca_drivers[backend];
}

/* Returns the backend named word ("cfssl", "ejbca"), or CA__MAX. */
enum ca_backend
ca_backend_parse(const char *word)
{
	unsigned int	 i;

	if (word == NULL)
		return CA__MAX;
	for (i = 0; i < CA__MAX; i++)
		if (strcmp(word, ca_backend_names[i]) == 0)
			return (enum ca_backend)i;
	return CA__MAX;
}

/* Returns the name of an outcome as logged and stored, "?" when unknown. */
const char *
ca_outcome_name(enum ca_outcome o)
{
	switch (o) {
	case CA_DONE:
		return "done";
	case CA_PENDING:
		return "pending";
	case CA_RETRY:
		return "retry";
	case CA_PERMANENT:
		return "permanent";
	case CA_UNSUPPORTED:
		return "unsupported";
	}
	return "?";
}

/*
 * Returns the length of the UTF-8 sequence a lead byte announces, or 0
 * for a byte that cannot start one.
 */
static size_t
ca_utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/*
 * Writes in[0..len), text from a CA or from the drivers, into out
 * (outsz > 0) in a form fit to show an officer: every control character
 * (line breaks and tabs included) and every bidi control becomes a space,
 * runs of spaces become one, a byte that is not well-formed UTF-8 becomes
 * '?', leading and trailing spaces go, and text too long for out is cut
 * at a character boundary and marked with "...".  out is always
 * terminated.
 */
void
ca_text(char *out, size_t outsz, const char *in, size_t len)
{
	const size_t	 mark = sizeof(CA_CUT_MARK) - 1;
	size_t		 i, k, o = 0, room, safe = 0;
	int		 space = 0, ok;

	if (outsz == 0)
		return;
	room = outsz - 1;
	for (i = 0; i < len; i += k) {
		k = ca_utf8_len((unsigned char)in[i]);
		ok = k != 0 && k <= len - i && rp_utf8_valid(in + i, k);
		if (!ok)
			k = 1;		/* one bad byte: resynchronise */
		else if (in[i] == ' ' || !rp_text_visible(in + i, k)) {
			space = o > 0;
			continue;
		}
		if ((size_t)space + k > room - o) {
			/* Back to the last boundary that leaves room. */
			o = safe;
			while (o > 0 && out[o - 1] == ' ')
				o--;
			if (room >= mark) {
				memcpy(out + o, CA_CUT_MARK, mark);
				o += mark;
			}
			break;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		if (ok)
			memcpy(out + o, in + i, k);
		else
			out[o] = '?';
		o += k;
		if (room >= mark && o <= room - mark)
			safe = o;
	}
	out[o] = '\0';
}

/*
 * Sets r's outcome, HTTP status and message; the message is formatted
 * like printf(3) and then made fit for an officer by ca_text(), so
 * arguments may be the CA's own words.
 */
void
ca_result_set(struct ca_result *r, enum ca_outcome outcome, long status,
    const char *fmt, ...)
{
	char	 tmp[RP_ERRMSG_MAX * 4];
	va_list	 ap;
	int	 n;

	r->outcome = outcome;
	r->http_status = status;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* tmp holds four messages: anything vsnprintf cut, ca_text() cuts
	 * again and marks. */
	ca_text(r->message, sizeof(r->message), tmp,
	    (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * Appends s to b percent-encoded as one URL path segment (RFC 3986): every
 * byte but the unreserved characters A-Z a-z 0-9 - . _ ~ is written as
 * %XX, so a '/', ',', '=', '+', space or any UTF-8 byte cannot change
 * the path.  Returns RP_OK or buf_add()'s error.
 */
enum rp_err
ca_url_segment(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[3];
	enum rp_err		 e;
	size_t			 run;

	for (run = 0; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			run++;
			continue;
		}
		if ((e = buf_add(b, p - run, run)) != RP_OK)
			return e;
		run = 0;
		esc[0] = '%';
		esc[1] = hex[*p >> 4];
		esc[2] = hex[*p & 0xf];
		if ((e = buf_add(b, esc, sizeof(esc))) != RP_OK)
			return e;
	}
	return buf_add(b, p - run, run);
}

/*
 * Appends the CA's base URL to b without its trailing slashes, so a
 * driver appends its path after it.  Returns RP_OK, RP_ERR_BAD_INPUT for
 * an empty base, or buf_add()'s error.
 */
enum rp_err
ca_url_base(struct buf *b, const char *base)
{
	size_t	 n;

	if (base == NULL)
		return RP_ERR_BAD_INPUT;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n == 0)
		return RP_ERR_BAD_INPUT;
	return buf_add(b, base, n);
}

/* Returns 1 when s is a canonical serial: upper-case hex, no leading zero. */
static int
ca_serial_ok(const char *s)
{
	size_t	 n;

	n = strspn(s, "0123456789ABCDEF");
	return n > 0 && n < RP_SERIAL_MAX && s[n] == '\0' &&
	    (s[0] != '0' || n == 1);
}

/*
 * Checks a job before any driver sends it: a known action whose reason
 * fits it (a revocation with one of the reasons revportal offers,
 * certificateHold for a suspension, removeFromCRL for a reactivation), an
 * issuer DN that is printable UTF-8 within RP_DN_MAX, and a canonical
 * serial.  Recovery passes: each driver says itself whether it can do it.
 * Returns 1 when the job may be sent; otherwise 0 with r set to
 * CA_PERMANENT and the reason, and nothing must be sent.
 */
int
ca_job_valid(const struct ca_job *job, struct ca_result *r)
{
	const unsigned int revoke_reasons = REASON_BIT(REASON_UNSPECIFIED) |
	    REASON_BIT(REASON_KEY_COMPROMISE) |
	    REASON_BIT(REASON_AFFILIATION_CHANGED) |
	    REASON_BIT(REASON_SUPERSEDED) | REASON_BIT(REASON_CESSATION) |
	    REASON_BIT(REASON_PRIVILEGE_WITHDRAWN);
	size_t		 len;

	switch (job->action) {
	case ACT_REVOKE:
		if ((unsigned int)job->reason >= REASON__MAX ||
		    !(revoke_reasons & REASON_BIT(job->reason))) {
			ca_result_set(r, CA_PERMANENT, 0, "not sent: %s is not "
			    "a reason for a revocation request",
			    dom_reason_name(job->reason) != NULL ?
			    dom_reason_name(job->reason) : "this value");
			return 0;
		}
		break;
	case ACT_SUSPEND:
		if (job->reason != REASON_HOLD) {
			ca_result_set(r, CA_PERMANENT, 0, "not sent: a "
			    "suspension is told to the CA as certificateHold");
			return 0;
		}
		break;
	case ACT_REACTIVATE:
		if (job->reason != REASON_REMOVE_FROM_CRL) {
			ca_result_set(r, CA_PERMANENT, 0, "not sent: a "
			    "reactivation is told to the CA as removeFromCRL");
			return 0;
		}
		break;
	case ACT_RECOVER:
		break;
	default:
		ca_result_set(r, CA_PERMANENT, 0, "not sent: unknown action");
		return 0;
	}
	if (job->issuer == NULL || (len = strlen(job->issuer)) == 0 ||
	    len >= RP_DN_MAX || !rp_text_visible(job->issuer, len)) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the issuer name "
		    "is empty, too long or not printable");
		return 0;
	}
	if (job->serial == NULL || !ca_serial_ok(job->serial)) {
		ca_result_set(r, CA_PERMANENT, 0, "not sent: the serial "
		    "number is not canonical hex");
		return 0;
	}
	return 1;
}

/*
 * Copies the first PEM certificate block of s (len bytes, need not be
 * terminated), from its BEGIN line to the end of its END line, into
 * r->issued_pem with a final newline.  Returns 1, or 0 with issued_pem
 * "" when there is no whole block or it does not fit.  What the block
 * holds is checked by the relay (x509_read_pem(), csr_issued_check()).
 */
int
ca_issued_set(struct ca_result *r, const char *s, size_t len)
{
	static const char	 begin[] = "-----BEGIN CERTIFICATE-----";
	static const char	 end[] = "-----END CERTIFICATE-----";
	const char		*b = NULL, *e = NULL;
	size_t			 i, n;

	r->issued_pem[0] = '\0';
	if (s == NULL)
		return 0;
	for (i = 0; b == NULL && len >= sizeof(begin) - 1 &&
	    i <= len - (sizeof(begin) - 1); i++)
		if (memcmp(s + i, begin, sizeof(begin) - 1) == 0)
			b = s + i;
	if (b == NULL)
		return 0;
	for (i = (size_t)(b - s); e == NULL && len >= sizeof(end) - 1 &&
	    i <= len - (sizeof(end) - 1); i++)
		if (memcmp(s + i, end, sizeof(end) - 1) == 0)
			e = s + i + sizeof(end) - 1;
	if (e == NULL || (n = (size_t)(e - b)) + 2 > sizeof(r->issued_pem) ||
	    memchr(b, '\0', n) != NULL)
		return 0;
	memcpy(r->issued_pem, b, n);
	r->issued_pem[n] = '\n';
	r->issued_pem[n + 1] = '\0';
	return 1;
}

/*
 * Sets r after hc_request() failed with e (no usable answer in hr): a
 * connection failure, a timeout, an answer too large or no memory is
 * worth another try later (CA_RETRY); a URL the client refuses is a
 * configuration mistake (CA_PERMANENT).  what names the call for the
 * officer ("revoke", "status").
 */
void
ca_transport(struct ca_result *r, enum rp_err e, const struct hc_resp *hr,
    const char *what)
{
	enum ca_outcome	 o;

	o = (e == RP_ERR_BAD_INPUT || e == RP_ERR_INTERNAL) ? CA_PERMANENT :
	    CA_RETRY;
	ca_result_set(r, o, hr->status, "%s: no usable answer from the CA: %s",
	    what, hr->error[0] != '\0' ? hr->error : rp_err_name(e));
}
