/*
 * Bounded growing buffers and the small byte helpers every module uses.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/*
 * Makes room for need more bytes plus the terminating NUL.  Fails with
 * RP_ERR_NOMEM when the result would pass b->max or allocation fails; the
 * buffer is then unchanged.
 */
static enum rp_err
buf_grow(struct buf *b, size_t need)
{
	/* Below SIZE_MAX, so that max + 1 cannot wrap to 0. */
	size_t	 max = b->max < SIZE_MAX ? b->max : SIZE_MAX - 1;
	size_t	 ncap;
	char	*np;

	if (need > max || b->len > max - need)
		return RP_ERR_NOMEM;
	if (b->len + need < b->cap)
		return RP_OK;
	ncap = b->cap < 256 ? 256 : b->cap;
	while (ncap <= b->len + need) {
		if (ncap > (max + 1) / 2) {
			ncap = max + 1;
			break;
		}
		ncap *= 2;
	}
	if ((np = realloc(b->p, ncap)) == NULL)
		return RP_ERR_NOMEM;
	b->p = np;
	b->cap = ncap;
	return RP_OK;
}

enum rp_err
buf_add(struct buf *b, const void *p, size_t n)
{
	enum rp_err	 e;

	if ((e = buf_grow(b, n)) != RP_OK)
		return e;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return RP_OK;
}

enum rp_err
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum rp_err
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum rp_err
buf_addv(struct buf *b, const char *fmt, va_list ap)
{
	va_list		 cp;
	size_t		 room;
	int		 n;
	enum rp_err	 e;

	/* Usually it fits in the spare room: format once. */
	room = b->cap > b->len ? b->cap - b->len : 0;
	va_copy(cp, ap);
	n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, cp);
	va_end(cp);
	if (n < 0) {
		if (room)
			b->p[b->len] = '\0';
		return RP_ERR_INTERNAL;
	}
	if ((size_t)n < room) {
		if ((size_t)n > b->max || b->len > b->max - (size_t)n) {
			b->p[b->len] = '\0';
			return RP_ERR_NOMEM;
		}
		b->len += (size_t)n;
		return RP_OK;
	}
	if (room)
		b->p[b->len] = '\0';
	if ((e = buf_grow(b, (size_t)n)) != RP_OK)
		return e;
	if (vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap) != n) {
		b->p[b->len] = '\0';
		return RP_ERR_INTERNAL;
	}
	b->len += (size_t)n;
	return RP_OK;
}

enum rp_err
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list		 ap;
	enum rp_err	 e;

	va_start(ap, fmt);
	e = buf_addv(b, fmt, ap);
	va_end(ap);
	return e;
}

/*
 * Appends s[0..n) with the five HTML-significant characters escaped.  Safe
 * in element content and in double- or single-quoted attribute values.
 */
enum rp_err
buf_add_html(struct buf *b, const char *s, size_t n)
{
	size_t		 i, run;
	const char	*rep;
	enum rp_err	 e;

	for (i = run = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if ((e = buf_add(b, s + run, i - run)) != RP_OK ||
		    (e = buf_adds(b, rep)) != RP_OK)
			return e;
		run = i + 1;
	}
	return buf_add(b, s + run, n - run);
}

/*
 * Returns a new NUL-terminated copy of the n bytes at p (which need not be
 * terminated), or NULL when out of memory.  The caller frees it.
 */
char *
rp_strndup(const void *p, size_t n)
{
	char	*s;

	if (n == SIZE_MAX || (s = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Compares n bytes in time independent of their content.  Returns 1 when
 * equal, 0 otherwise.
 */
int
rp_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char	*x = a, *y = b;
	unsigned char			 d = 0;
	size_t				 i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

static const char rp_b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * Returns the number of characters of the unpadded base64url form of n
 * bytes, or SIZE_MAX when that does not fit in a size_t.
 */
static size_t
rp_b64url_len(size_t n)
{
	if (n / 3 > (SIZE_MAX - 4) / 4)
		return SIZE_MAX;
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/*
 * Writes the base64url form of in[0..inlen) without padding into out,
 * followed by a NUL.  Returns the number of characters written (NUL not
 * counted), or 0 when out (outsz bytes) cannot hold them and the NUL.
 */
size_t
rp_b64url_encode(const unsigned char *in, size_t inlen, char *out,
    size_t outsz)
{
	size_t		 i, o;
	uint32_t	 v;

	if (rp_b64url_len(inlen) >= outsz)
		return 0;
	for (i = o = 0; inlen - i >= 3; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = rp_b64url_chars[v >> 18 & 0x3f];
		out[o++] = rp_b64url_chars[v >> 12 & 0x3f];
		out[o++] = rp_b64url_chars[v >> 6 & 0x3f];
		out[o++] = rp_b64url_chars[v & 0x3f];
	}
	if (inlen - i > 0) {
		v = (uint32_t)in[i] << 16;
		if (inlen - i == 2)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = rp_b64url_chars[v >> 18 & 0x3f];
		out[o++] = rp_b64url_chars[v >> 12 & 0x3f];
		if (inlen - i == 2)
			out[o++] = rp_b64url_chars[v >> 6 & 0x3f];
	}
	out[o] = '\0';
	return o;
}

/*
 * Returns the 6-bit value of character c in the base64 alphabet whose
 * last two characters are c62 and c63 ('+' and '/' for base64, '-' and
 * '_' for base64url), or -1 for any other character.
 */
static int
rp_b64_val(unsigned char c, unsigned char c62, unsigned char c63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == c62)
		return 62;
	if (c == c63)
		return 63;
	return -1;
}

/*
 * Writes the bytes of the k base64 characters left after the last whole
 * group of four, whose bits are the low 6 * k bits of v, to out at *o and
 * advances *o past them: none for none, one byte for two characters, two
 * bytes for three.  Returns 0, or -1 when k is 1 or the bits the
 * characters leave over are not zero (only the canonical spelling is
 * read).
 */
static int
rp_b64_tail(uint32_t v, size_t k, unsigned char *out, size_t *o)
{
	switch (k) {
	case 0:
		return 0;
	case 2:
		/* Two characters: 12 bits, 8 of them data. */
		if (v & 0x0f)
			return -1;
		out[(*o)++] = v >> 4 & 0xff;
		return 0;
	case 3:
		/* Three characters: 18 bits, 16 of them data. */
		if (v & 0x03)
			return -1;
		out[(*o)++] = v >> 10 & 0xff;
		out[(*o)++] = v >> 2 & 0xff;
		return 0;
	default:
		return -1;
	}
}

/*
 * Decodes the inlen characters at in, which must be unpadded base64url
 * that decodes to exactly outlen bytes, into out.  Any other character
 * ('=' and NUL included), any other length and unused low bits that are
 * not zero make it fail: only the one canonical spelling of each value is
 * read.  Returns 1 on success, 0 on failure (out is then undefined).
 */
int
rp_b64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen)
{
	size_t		 i, o;
	uint32_t	 v;
	int		 c;

	if (inlen != rp_b64url_len(outlen) || inlen == SIZE_MAX)
		return 0;
	for (i = o = 0, v = 0; i < inlen; i++) {
		if ((c = rp_b64_val((unsigned char)in[i], '-', '_')) < 0)
			return 0;
		v = v << 6 | (uint32_t)c;
		if (i % 4 == 3) {
			out[o++] = v >> 16 & 0xff;
			out[o++] = v >> 8 & 0xff;
			out[o++] = v & 0xff;
			v = 0;
		}
	}
	if (rp_b64_tail(v, inlen % 4, out, &o) == -1)
		return 0;
	return o == outlen;
}

/*
 * Decodes the standard base64 text in[0..inlen) (RFC 4648 section 4, as
 * in PEM and in CMS files), in which white space (space, tab, CR, LF) may
 * stand anywhere, into out, which holds outsz bytes (inlen / 4 * 3 are
 * always enough).  The text must be padded to a multiple of four
 * characters with at most two '=' at its very end, and the bits the
 * padding leaves over must be zero.  Returns the number of bytes written,
 * or 0 when the text is malformed or empty or out is too small (out is
 * then undefined).
 */
size_t
rp_b64_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outsz)
{
	size_t		 i, n = 0, o = 0, pad = 0;
	uint32_t	 v = 0;
	int		 c;

	for (i = 0; i < inlen; i++) {
		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' ||
		    in[i] == '\n')
			continue;
		if (in[i] == '=') {
			if (++pad > 2)
				return 0;
			n++;
			continue;
		}
		if (pad > 0 ||
		    (c = rp_b64_val((unsigned char)in[i], '+', '/')) < 0)
			return 0;
		v = v << 6 | (uint32_t)c;
		if (++n % 4 == 0) {
			if (outsz - o < 3)
				return 0;
			out[o++] = v >> 16 & 0xff;
			out[o++] = v >> 8 & 0xff;
			out[o++] = v & 0xff;
			v = 0;
		}
	}
	if (n == 0 || n % 4 != 0)
		return 0;
	/* Each '=' stands for a character the last group lacks. */
	if (pad > 0 && outsz - o < 3 - pad)
		return 0;
	if (rp_b64_tail(v, (4 - pad) % 4, out, &o) == -1)
		return 0;
	return o;
}

/*
 * Returns 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 otherwise.  NUL bytes
 * are valid UTF-8; callers that refuse them check separately.
 */
int
rp_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k, need;
	uint32_t		 cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			need = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			need = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			need = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (need > n - i - 1)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * Returns 1 when the well-formed UTF-8 s[0..n) holds no character that
 * can hide or reorder what a person reads on a page or in the audit log:
 * C1 controls (U+0080-U+009F) always; with bidi also the direction marks
 * and overrides (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the
 * line and paragraph separators (U+2028, U+2029).  Lead bytes 0xc2 and
 * 0xe2 never occur inside another character, so a byte scan is exact.
 */
int
rp_text_marks_ok(const char *s, size_t n, int bidi)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	for (i = 0; i + 1 < n; i++) {
		if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return 0;
		if (!bidi || p[i] != 0xe2 || i + 2 >= n)
			continue;
		if (p[i + 1] == 0x80 && (p[i + 2] == 0x8e ||
		    p[i + 2] == 0x8f || (p[i + 2] >= 0xa8 && p[i + 2] <= 0xae)))
			return 0;
		if (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
			return 0;
	}
	return 1;
}

/*
 * Returns 1 when s[0..n) is text fit to show a person, in a listing, a
 * page or the audit log: well-formed UTF-8 (rp_utf8_valid()) without
 * anything that can hide, forge or reorder what is read: no C0 control
 * (NUL, TAB and LF included), DEL, C1 control (U+0080-U+009F), bidi
 * control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) or
 * line and paragraph separator (U+2028, U+2029).  Returns 0 otherwise.
 * In well-formed UTF-8 the lead bytes 0xc2, 0xd8 and 0xe2 never occur
 * inside another character, so a byte scan is exact.
 */
int
rp_text_visible(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	if (s == NULL || !rp_utf8_valid(s, n) || !rp_text_marks_ok(s, n, 1))
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		/* U+061C, the Arabic letter mark. */
		if (p[i] == 0xd8 && i + 1 < n && p[i + 1] == 0x9c)
			return 0;
	}
	return 1;
}

enum rp_err
rp_fail(struct rp_errinfo *ei, enum rp_err e, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (ei == NULL)
		return e;
	ei->code = code;
	va_start(ap, fmt);
	n = vsnprintf(ei->msg, sizeof(ei->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		ei->msg[0] = '\0';
	return e;
}

const char *
rp_err_name(enum rp_err e)
{
	static const char *const names[RP_ERR__MAX] = {
		[RP_OK] = "ok",
		[RP_ERR_BAD_INPUT] = "bad_input",
		[RP_ERR_AUTH] = "authentication_failed",
		[RP_ERR_FORBIDDEN] = "forbidden",
		[RP_ERR_NOT_FOUND] = "not_found",
		[RP_ERR_METHOD] = "method_not_allowed",
		[RP_ERR_CONFLICT] = "wrong_status",
		[RP_ERR_TOO_LARGE] = "too_large",
		[RP_ERR_MEDIA] = "unsupported_media_type",
		[RP_ERR_POLICY] = "policy_forbids",
		[RP_ERR_LOCKED] = "locked",
		[RP_ERR_RATE] = "rate_limited",
		[RP_ERR_NOMEM] = "internal_error",
		[RP_ERR_INTERNAL] = "internal_error",
		[RP_ERR_UNAVAILABLE] = "unavailable",
	};

	if ((unsigned int)e >= RP_ERR__MAX)
		return "internal_error";
	return names[e];
}

/*
 * Reads the file path, relative to the directory dfd (AT_FDCWD: the
 * current one), whole.  With RP_READ_NOFOLLOW in flags a symbolic link
 * is refused (the last component of path).  The file is opened once,
 * without blocking (so that a FIFO cannot hang the reader) and without
 * becoming a controlling terminal, and everything is checked on that
 * descriptor: a regular file (not a FIFO, device or directory), at most
 * max bytes, no NUL byte.  Returns a NUL-terminated copy (the caller
 * wipes it if it is secret, and frees it) with its length in *lenp and,
 * when modep is not NULL, the mode of the same fstat() in *modep; or
 * NULL with why (whylen bytes) saying what is wrong, without the path.
 * Whatever was read of a refused file is wiped: it may be a secret (a
 * passphrase file).
 */
char *
rp_read_fileat(int dfd, const char *path, unsigned int flags, size_t max,
    size_t *lenp, mode_t *modep, char *why, size_t whylen)
{
	struct stat	 st;
	char		*p = NULL;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd, nofollow = (flags & RP_READ_NOFOLLOW) != 0;

	why[0] = '\0';
	if (max >= SIZE_MAX - 1) {
		(void)snprintf(why, whylen, "limit too large");
		return NULL;
	}
	if ((fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY | (nofollow ? O_NOFOLLOW : 0))) == -1) {
		if (errno == ELOOP && nofollow)
			(void)snprintf(why, whylen, "a symbolic link, not "
			    "followed");
		else
			(void)snprintf(why, whylen, "cannot open: %s",
			    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		(void)snprintf(why, whylen, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(why, whylen, "not a regular file");
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		(void)snprintf(why, whylen, "larger than %zu bytes", max);
		goto out;
	}
	/* One byte more than allowed shows a file that grew meanwhile. */
	if ((p = malloc(max + 2)) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (;;) {
		r = read(fd, p + got, max + 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			(void)snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > max) {
			(void)snprintf(why, whylen, "larger than %zu bytes",
			    max);
			goto fail;
		}
	}
	if (memchr(p, '\0', got) != NULL) {
		(void)snprintf(why, whylen, "holds a NUL byte");
		goto fail;
	}
	p[got] = '\0';
	*lenp = got;
	if (modep != NULL)
		*modep = st.st_mode;
	goto out;
fail:
	explicit_bzero(p, got);
	free(p);
	p = NULL;
out:
	(void)close(fd);	/* read-only: nothing to lose */
	return p;
}

/*
 * Reads the regular file path whole: rp_read_fileat() from the current
 * directory, following symbolic links.  For start-up files: templates,
 * migrations.
 */
char *
rp_read_file(const char *path, size_t max, size_t *lenp, char *why,
    size_t whylen)
{
	return rp_read_fileat(AT_FDCWD, path, 0, max, lenp, NULL, why,
	    whylen);
}
