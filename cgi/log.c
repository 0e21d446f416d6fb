/*
 * Structured log lines on stderr, one per event:
 *
 *	ts=2026-11-21T22:40:50.123Z level=info pid=1234 event=request k=v ...
 *
 * Each line leaves in one write(2) of at most RP_LOG_LINE_MAX bytes, less
 * than PIPE_BUF, so lines of concurrent workers sharing one stderr pipe
 * never interleave.  No byte the caller supplies can end a line early.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

#define RPLOG_ELLIPSIS	"...\n"

/*
 * The lowest level written.  Part of the configuration: set once by the
 * supervisor from [log] level before any worker starts, read-only after.
 */
static enum rplog_level rplog_min = RPLOG_INFO;

void
rplog_set_level(enum rplog_level level)
{
	if ((unsigned int)level < RPLOG__MAX)
		rplog_min = level;
}

/* Returns the static name of level, "error" for an unknown value. */
const char *
rplog_level_name(enum rplog_level level)
{
	static const char *const names[RPLOG__MAX] = {
		[RPLOG_DEBUG] = "debug",
		[RPLOG_INFO] = "info",
		[RPLOG_WARN] = "warn",
		[RPLOG_ERROR] = "error",
	};

	if ((unsigned int)level >= RPLOG__MAX)
		return "error";
	return names[level];
}

/*
 * Appends s[0..n) to line[*len..max), escaping control characters, DEL
 * and every byte above 0x7f (\n, \r, \t or \xNN) so a value can forge
 * neither a line break nor a Unicode line separator.  Backslash is left
 * as is: values quoted by callers stay readable.  An escape is never cut
 * in half.  Returns 1 when everything fitted, 0 when it stopped short.
 */
static int
rplog_add(char *line, size_t *len, size_t max, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 c;
	char			 esc[4];
	size_t			 i, elen;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f) {
			if (*len >= max)
				return 0;
			line[(*len)++] = (char)c;
			continue;
		}
		esc[0] = '\\';
		elen = 2;
		if (c == '\n')
			esc[1] = 'n';
		else if (c == '\r')
			esc[1] = 'r';
		else if (c == '\t')
			esc[1] = 't';
		else {
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 0x0f];
			elen = 4;
		}
		if (elen > max - *len)
			return 0;
		memcpy(line + *len, esc, elen);
		*len += elen;
	}
	return 1;
}

/*
 * Appends the event name and, if mlen > 0, a space and msg[0..mlen) to
 * line[*len..max).  Returns 1 when all of it fitted, 0 otherwise.
 */
static int
rplog_body(char *line, size_t *len, size_t max, const char *event,
    const char *msg, size_t mlen)
{
	if (!rplog_add(line, len, max, event, strlen(event)))
		return 0;
	if (mlen == 0)
		return 1;
	if (*len >= max)
		return 0;
	line[(*len)++] = ' ';
	return rplog_add(line, len, max, msg, mlen);
}

/*
 * Writes one line for event at level if level is at or above the set
 * level.  fmt and its arguments form the rest of the line (may be NULL);
 * the caller passes only values fit for a log.  A line that would pass
 * RP_LOG_LINE_MAX bytes is cut and ends in "...".  Never fails: a line
 * that cannot be written is lost.  errno is preserved.
 */
void
rplog(enum rplog_level level, const char *event, const char *fmt, ...)
{
	char		 line[RP_LOG_LINE_MAX], msg[RP_LOG_LINE_MAX];
	char		 tsbuf[32];
	const size_t	 ell = sizeof(RPLOG_ELLIPSIS) - 1;
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap;
	size_t		 plen, len, mlen = 0;
	int		 n, saved = errno, whole = 1;
	ssize_t		 w;

	if ((unsigned int)level >= RPLOG__MAX)
		level = RPLOG_ERROR;
	if (level < rplog_min)
		return;

	memset(&ts, 0, sizeof(ts));
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(tsbuf, sizeof(tsbuf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		memcpy(tsbuf, "0000-00-00T00:00:00", 20);
	n = snprintf(line, sizeof(line),
	    "ts=%s.%03ldZ level=%s pid=%ld event=", tsbuf,
	    (long)(ts.tv_nsec / 1000000) % 1000, rplog_level_name(level),
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line) - ell)
		goto out;
	plen = (size_t)n;

	if (fmt != NULL) {
		va_start(ap, fmt);
		n = vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		if (n > 0) {
			mlen = (size_t)n;
			if (mlen >= sizeof(msg)) {
				mlen = sizeof(msg) - 1;
				whole = 0;
			}
		}
	}
	if (event == NULL)
		event = "-";

	/*
	 * First try the whole line with room for the newline only; if it
	 * does not fit, compose it again with room for the ellipsis, so an
	 * escape sequence is never cut in half.
	 */
	len = plen;
	if (whole &&
	    rplog_body(line, &len, sizeof(line) - 1, event, msg, mlen))
		line[len++] = '\n';
	else {
		len = plen;
		(void)rplog_body(line, &len, sizeof(line) - ell, event, msg,
		    mlen);
		memcpy(line + len, RPLOG_ELLIPSIS, ell);
		len += ell;
	}

	/* One write: a retry after a partial write could interleave. */
	do {
		w = write(STDERR_FILENO, line, len);
	} while (w == -1 && errno == EINTR);
out:
	errno = saved;
}
