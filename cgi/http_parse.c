/*
 * The request input parsers: query strings, url-encoded forms, multipart
 * forms, JSON objects and the Cookie header.  Every value reaches the
 * request only through field_set(), which validates it against the field
 * table.  All parsers are length-based and binary-safe: input need not be
 * NUL terminated and may hold NUL bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* Whether a pair's name must be in the field table. */
enum pairs_mode {
	PAIRS_QUERY,		/* unknown names ignored */
	PAIRS_BODY		/* unknown names refused */
};

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Returns 1 when s[0..n) equals the lower-case word w ignoring case. */
static int
ci_equal(const char *s, size_t n, const char *w)
{
	size_t	 i;

	if (strlen(w) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)w[i])
			return 0;
	return 1;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 tchar. */
static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 bchars (space included, but not as the last character). */
static int
is_bchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

/*
 * Finds the first n-byte needle in hay[0..hlen), binary-safe.  Returns a
 * pointer into hay or NULL.  The needles used here start with a byte they
 * hold only once, so the search stays linear.
 */
static const char *
find_bytes(const char *hay, size_t hlen, const char *needle, size_t n)
{
	const char	*p, *end;

	if (n == 0 || n > hlen)
		return NULL;
	end = hay + (hlen - n) + 1;
	for (p = hay; p < end; p++) {
		p = memchr(p, needle[0], (size_t)(end - p));
		if (p == NULL)
			return NULL;
		if (memcmp(p, needle, n) == 0)
			return p;
	}
	return NULL;
}

/*
 * Returns 1 when a field name from the request may appear in an error
 * message: 1..32 letters, digits, '_', '-' or '.'.  Other names are left
 * out of messages.
 */
static int
name_printable(const char *s, size_t n)
{
	size_t		 i;
	unsigned char	 c;

	if (n == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && c != '_' && c != '-' &&
		    c != '.')
			return 0;
	}
	return 1;
}

/* Fails with unknown_field, naming the field when that is safe. */
static enum rp_err
fail_unknown(struct rp_errinfo *ei, const char *name, size_t n)
{
	if (name_printable(name, n))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "unknown_field",
		    "unknown field '%.*s'", (int)n, name);
	return rp_fail(ei, RP_ERR_BAD_INPUT, "unknown_field",
	    "unknown field");
}

/*
 * Decodes in[0..inlen) into out, which must hold at least inlen bytes:
 * %XX (either case) becomes the byte XX and, when plus_is_space is set,
 * '+' becomes a space.  Sets *outlen.  Returns 0, or -1 when a '%' is not
 * followed by two hex digits (out then holds a partial result).
 */
int
http_pct_decode(const char *in, size_t inlen, char *out, size_t *outlen,
    int plus_is_space)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < inlen; i++) {
		if (in[i] == '%') {
			if (inlen - i < 3)
				return -1;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (in[i] == '+' && plus_is_space)
			out[o++] = ' ';
		else
			out[o++] = in[i];
	}
	*outlen = o;
	return 0;
}

/*
 * Counts the non-empty '&'-separated pairs of s[0..len).
 */
static size_t
count_pairs(const char *s, size_t len)
{
	const char	*p = s, *end = s + len, *amp;
	size_t		 n = 0;

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp > p)
			n++;
		if (amp == end)
			break;
		p = amp + 1;
	}
	return n;
}

/*
 * Parses s[0..len) as name=value pairs separated by '&' into in.  Empty
 * pairs are skipped; a pair without '=' has an empty value.  In
 * PAIRS_QUERY mode unknown names are ignored once they decode; in
 * PAIRS_BODY mode they are an error.  Returns RP_OK or an error with ei
 * filled.  The scratch buffer is wiped and freed here; values are copied
 * by field_set().
 */
static enum rp_err
parse_pairs(struct input *in, const char *s, size_t len,
    enum pairs_mode mode, struct rp_errinfo *ei)
{
	char		*scratch = NULL;
	const char	*pair, *amp, *eq, *end;
	size_t		 plen, nraw, vraw, nlen, vlen;
	enum field	 f;
	enum rp_err	 e = RP_OK;

	if (len == 0)
		return RP_OK;
	if (count_pairs(s, len) > RP_PAIRS_MAX)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "too_many_fields",
		    "more than %u fields", RP_PAIRS_MAX);
	/* Decoded name and value together never exceed the raw pair. */
	if ((scratch = malloc(len)) == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "internal_error",
		    "out of memory");

	end = s + len;
	for (pair = s; pair < end; pair = amp + 1) {
		if ((amp = memchr(pair, '&', (size_t)(end - pair))) == NULL)
			amp = end;
		plen = (size_t)(amp - pair);
		if (plen > 0) {
			eq = memchr(pair, '=', plen);
			nraw = eq == NULL ? plen : (size_t)(eq - pair);
			vraw = eq == NULL ? 0 : plen - nraw - 1;
			if (http_pct_decode(pair, nraw, scratch, &nlen, 1) ==
			    -1 || http_pct_decode(pair + plen - vraw, vraw,
			    scratch + nlen, &vlen, 1) == -1) {
				e = rp_fail(ei, RP_ERR_BAD_INPUT,
				    "bad_encoding", "bad percent-encoding");
				goto out;
			}
			if (nlen > RP_NAME_MAX) {
				e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_name",
				    "field name longer than %u bytes",
				    RP_NAME_MAX);
				goto out;
			}
			f = field_lookup(scratch, nlen);
			if (f == FIELD__MAX && mode == PAIRS_BODY) {
				e = fail_unknown(ei, scratch, nlen);
				goto out;
			}
			/*
			 * A query string ends up in access logs and browser
			 * history: no secret and no upload travels there.
			 */
			if (f != FIELD__MAX && mode == PAIRS_QUERY &&
			    (fields[f].flags & (FIELDF_SECRET |
			    FIELDF_BINARY))) {
				e = rp_fail(ei, RP_ERR_BAD_INPUT,
				    "field_not_in_query", "field '%s' must be "
				    "sent in the request body, not in the "
				    "address", fields[f].name);
				goto out;
			}
			if (f != FIELD__MAX && (e = field_set(in, f,
			    scratch + nlen, vlen, NULL, ei)) != RP_OK)
				goto out;
		}
		if (amp == end)
			break;
	}
out:
	explicit_bzero(scratch, len);
	free(scratch);
	return e;
}

/*
 * Parses a query string (without the '?') into in; names not in the
 * field table are ignored.  Returns RP_OK or an error with ei filled.
 */
enum rp_err
http_parse_query(struct input *in, const char *s, size_t len,
    struct rp_errinfo *ei)
{
	if (len > RP_QUERY_MAX)
		return rp_fail(ei, RP_ERR_TOO_LARGE, "query_too_long",
		    "query string longer than %u bytes", RP_QUERY_MAX);
	return parse_pairs(in, s, len, PAIRS_QUERY, ei);
}

/*
 * Parses an application/x-www-form-urlencoded body into in; every name
 * must be in the field table.  Returns RP_OK or an error with ei filled.
 */
enum rp_err
http_parse_urlenc(struct input *in, const char *s, size_t len,
    struct rp_errinfo *ei)
{
	return parse_pairs(in, s, len, PAIRS_BODY, ei);
}

/*
 * Reads one parameter value at *pp (before end): a quoted string (no
 * escapes: browsers percent-encode quotes in form-data names) or a token
 * ending at ';', whitespace or end.  Sets *v and *vlen to the value
 * inside s and advances *pp.  Returns 0, or -1 for an unterminated quote.
 */
static int
param_value(const char **pp, const char *end, const char **v, size_t *vlen)
{
	const char	*p = *pp, *q;

	if (p < end && *p == '"') {
		p++;
		if ((q = memchr(p, '"', (size_t)(end - p))) == NULL)
			return -1;
		*v = p;
		*vlen = (size_t)(q - p);
		*pp = q + 1;
		return 0;
	}
	for (q = p; q < end && *q != ';' && !is_ows(*q); q++)
		continue;
	*v = p;
	*vlen = (size_t)(q - p);
	*pp = q;
	return 0;
}

/*
 * Walks the "; name=value" parameters at p..end (after a media type or a
 * disposition type) and calls back for each one.  Returns 0 when the list
 * is well formed, -1 otherwise or when the callback returns -1.
 */
static int
walk_params(const char *p, const char *end,
    int (*cb)(void *, const char *, size_t, const char *, size_t),
    void *arg)
{
	const char	*name, *v;
	size_t		 nlen, vlen;

	for (;;) {
		while (p < end && is_ows(*p))
			p++;
		if (p == end)
			return 0;
		if (*p != ';')
			return -1;
		p++;
		while (p < end && is_ows(*p))
			p++;
		if (p == end)
			return 0;	/* a trailing ';' is tolerated */
		name = p;
		while (p < end && is_tchar((unsigned char)*p))
			p++;
		nlen = (size_t)(p - name);
		if (nlen == 0 || p == end || *p != '=')
			return -1;
		p++;
		if (param_value(&p, end, &v, &vlen) == -1)
			return -1;
		if (cb(arg, name, nlen, v, vlen) == -1)
			return -1;
	}
}

/* The boundary parameter of a multipart Content-Type. */
struct ctype_params {
	const char	*boundary;
	size_t		 blen;
	int		 count;
};

/* Records a boundary parameter; walk_params() callback. */
static int
ctype_param_cb(void *arg, const char *name, size_t nlen, const char *v,
    size_t vlen)
{
	struct ctype_params	*cp = arg;

	if (!ci_equal(name, nlen, "boundary"))
		return 0;
	cp->boundary = v;
	cp->blen = vlen;
	cp->count++;
	return 0;
}

/*
 * Finds the boundary in a multipart Content-Type.  Sets *b and *blen to
 * it (inside ctype).  Returns 0, or -1 when it is missing, given twice or
 * not 1..RP_BOUNDARY_MAX bchars without a trailing space.
 */
static int
multipart_boundary(const char *ctype, const char **b, size_t *blen)
{
	struct ctype_params	 cp;
	const char		*p, *end;
	size_t			 i;

	if (ctype == NULL)
		return -1;
	end = ctype + strlen(ctype);
	if ((p = memchr(ctype, ';', (size_t)(end - ctype))) == NULL)
		return -1;
	memset(&cp, 0, sizeof(cp));
	if (walk_params(p, end, ctype_param_cb, &cp) == -1 || cp.count != 1)
		return -1;
	if (cp.blen == 0 || cp.blen > RP_BOUNDARY_MAX ||
	    cp.boundary[cp.blen - 1] == ' ')
		return -1;
	for (i = 0; i < cp.blen; i++)
		if (!is_bchar((unsigned char)cp.boundary[i]))
			return -1;
	*b = cp.boundary;
	*blen = cp.blen;
	return 0;
}

/* What the headers of one part said. */
struct part_disp {
	const char	*name;
	size_t		 nlen;
	const char	*filename;
	size_t		 fnlen;
	int		 has_name;
	int		 has_filename;
};

/*
 * Records the name and filename parameters of a Content-Disposition;
 * walk_params() callback.  Returns -1 when one is given twice.
 */
static int
disp_param_cb(void *arg, const char *name, size_t nlen, const char *v,
    size_t vlen)
{
	struct part_disp	*pd = arg;

	if (ci_equal(name, nlen, "name")) {
		if (pd->has_name)
			return -1;
		pd->name = v;
		pd->nlen = vlen;
		pd->has_name = 1;
	} else if (ci_equal(name, nlen, "filename")) {
		if (pd->has_filename)
			return -1;
		pd->filename = v;
		pd->fnlen = vlen;
		pd->has_filename = 1;
	}
	return 0;
}

/*
 * Parses the header lines of one part at p..end (CRLF-ended lines, each
 * with no control character but TAB, the block ended by an empty line
 * and at most RP_PART_HEAD_MAX bytes in all).  Fills pd from its one
 * Content-Disposition: form-data header; other headers are ignored.
 * Sets *next to the first byte of the content.  Returns 0 or -1.
 */
static int
part_headers(const char *p, const char *end, struct part_disp *pd,
    const char **next)
{
	const char	*start = p, *eol, *colon, *v, *t;
	size_t		 i, left;
	int		 seen = 0;

	memset(pd, 0, sizeof(*pd));
	for (;;) {
		left = (size_t)(end - p);
		if ((size_t)(p - start) > RP_PART_HEAD_MAX)
			return -1;
		if (left > RP_PART_HEAD_MAX + 2 - (size_t)(p - start))
			left = RP_PART_HEAD_MAX + 2 - (size_t)(p - start);
		if ((eol = find_bytes(p, left, "\r\n", 2)) == NULL)
			return -1;
		if (eol == p)
			break;
		for (i = 0; i < (size_t)(eol - p); i++)
			if (((unsigned char)p[i] < 0x20 && p[i] != '\t') ||
			    p[i] == 0x7f)
				return -1;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL ||
		    colon == p)
			return -1;
		for (t = p; t < colon; t++)
			if (!is_tchar((unsigned char)*t))
				return -1;
		if (ci_equal(p, (size_t)(colon - p), "content-disposition")) {
			if (seen++)
				return -1;
			for (v = colon + 1; v < eol && is_ows(*v); v++)
				continue;
			for (t = v; t < eol && is_tchar((unsigned char)*t);
			    t++)
				continue;
			if (!ci_equal(v, (size_t)(t - v), "form-data"))
				return -1;
			if (walk_params(t, eol, disp_param_cb, pd) == -1)
				return -1;
		}
		p = eol + 2;
	}
	if (!seen || !pd->has_name)
		return -1;
	*next = p + 2;
	return 0;
}

/* One part of a multipart body, pointing into the body. */
struct part {
	struct part_disp	 disp;
	const char		*content;
	size_t			 clen;
};

/*
 * Splits a multipart body at the delimiter delim (CRLF "--" boundary,
 * dlen bytes) into parts[], at most RP_PARTS_MAX of them, checking the
 * structure only.  Sets *nparts.  Returns RP_OK, or RP_ERR_BAD_INPUT with
 * ei filled (bad_multipart, too_many_fields).  Nothing is allocated.
 */
static enum rp_err
multipart_split(const char *body, size_t len, const char *delim, size_t dlen,
    struct part *parts, size_t *nparts, struct rp_errinfo *ei)
{
	const char	*p, *end, *at, *content;
	size_t		 n = 0;

	if (body == NULL || len == 0)
		goto bad;
	end = body + len;

	/* The first delimiter may open the body, without the CRLF. */
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else if ((at = find_bytes(body, len, delim, dlen)) != NULL)
		p = at + dlen;
	else
		goto bad;
	if ((size_t)(end - p) < 2 || memcmp(p, "\r\n", 2) != 0)
		goto bad;
	p += 2;

	for (;;) {
		if (n == RP_PARTS_MAX)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "too_many_fields",
			    "more than %u parts", RP_PARTS_MAX);
		if (part_headers(p, end, &parts[n].disp, &content) == -1)
			goto bad;
		at = find_bytes(content, (size_t)(end - content), delim, dlen);
		if (at == NULL)
			goto bad;
		parts[n].content = content;
		parts[n].clen = (size_t)(at - content);
		n++;

		p = at + dlen;
		if ((size_t)(end - p) < 2)
			goto bad;
		if (memcmp(p, "--", 2) == 0)
			break;		/* the epilogue is ignored */
		if (memcmp(p, "\r\n", 2) != 0)
			goto bad;
		p += 2;
	}
	*nparts = n;
	return RP_OK;
bad:
	return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_multipart",
	    "malformed multipart body");
}

/*
 * Parses a multipart/form-data body with the boundary of ctype into in.
 * The whole body is checked for structure first; then each part, which
 * needs a Content-Disposition: form-data header with a name in the field
 * table, goes through field_set() with its content (binary-safe) and file
 * name.  Returns RP_OK or an error with ei filled.  The file name copies
 * are freed here.
 */
enum rp_err
http_parse_multipart(struct input *in, const char *ctype, const char *body,
    size_t len, struct rp_errinfo *ei)
{
	struct part	 parts[RP_PARTS_MAX];
	const char	*b;
	char		 delim[RP_BOUNDARY_MAX + 4];
	char		*fname = NULL;
	size_t		 blen, dlen, nparts = 0, i;
	enum field	 f;
	enum rp_err	 e;

	if (multipart_boundary(ctype, &b, &blen) == -1)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_boundary",
		    "missing or invalid multipart boundary");
	delim[0] = '\r';
	delim[1] = '\n';
	delim[2] = delim[3] = '-';
	memcpy(delim + 4, b, blen);
	dlen = blen + 4;

	if ((e = multipart_split(body, len, delim, dlen, parts, &nparts,
	    ei)) != RP_OK)
		return e;

	for (i = 0; i < nparts; i++) {
		if (parts[i].disp.nlen > RP_NAME_MAX)
			return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_name",
			    "field name longer than %u bytes", RP_NAME_MAX);
		f = field_lookup(parts[i].disp.name, parts[i].disp.nlen);
		if (f == FIELD__MAX)
			return fail_unknown(ei, parts[i].disp.name,
			    parts[i].disp.nlen);
		if (parts[i].disp.has_filename &&
		    (fname = rp_strndup(parts[i].disp.filename,
		    parts[i].disp.fnlen)) == NULL)
			return rp_fail(ei, RP_ERR_NOMEM, "internal_error",
			    "out of memory");
		e = field_set(in, f, parts[i].content, parts[i].clen, fname,
		    ei);
		free(fname);
		fname = NULL;
		if (e != RP_OK)
			return e;
	}
	return RP_OK;
}

#ifdef RP_UNITTEST
/*
 * Tests only: fn sees http_parse_json()'s json_error_t as it is left
 * when the function returns (it must be wiped by then); NULL for none.
 */
static void	(*http_jerr_seen)(const void *, size_t);

void		 http_test_jerr(void (*)(const void *, size_t));

void
http_test_jerr(void (*fn)(const void *, size_t))
{
	http_jerr_seen = fn;
}

#define HTTP_JERR_SEEN(p, n)	do {					\
	if (http_jerr_seen != NULL)					\
		http_jerr_seen((p), (n));				\
} while (0)
#else
#define HTTP_JERR_SEEN(p, n)	do { } while (0)
#endif

/*
 * Parses a JSON object whose members are all fields of the table with
 * string values into in.  NUL characters (\u0000) and duplicate keys are
 * refused.  Returns RP_OK or an error with ei filled; error messages give
 * the position only, since jansson's text may quote the input (a
 * passphrase): the json_error_t is wiped on every path.  The parsed
 * document is freed here.
 */
enum rp_err
http_parse_json(struct input *in, const char *s, size_t len,
    struct rp_errinfo *ei)
{
	json_t		*root = NULL, *v;
	json_error_t	 jerr;
	void		*it;
	const char	*key;
	size_t		 klen;
	enum field	 f;
	enum rp_err	 e = RP_OK;

	if ((root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		if (json_error_code(&jerr) == json_error_duplicate_key)
			e = rp_fail(ei, RP_ERR_BAD_INPUT, "duplicate_field",
			    "duplicate member in JSON object");
		else if (json_error_code(&jerr) == json_error_out_of_memory)
			e = rp_fail(ei, RP_ERR_NOMEM, "internal_error",
			    "out of memory");
		else
			e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_json",
			    "invalid JSON at line %d, column %d", jerr.line,
			    jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_json",
		    "JSON body is not an object");
		goto out;
	}
	if (json_object_size(root) > RP_PAIRS_MAX) {
		e = rp_fail(ei, RP_ERR_BAD_INPUT, "too_many_fields",
		    "more than %u fields", RP_PAIRS_MAX);
		goto out;
	}
	for (it = json_object_iter(root); it != NULL;
	    it = json_object_iter_next(root, it)) {
		key = json_object_iter_key(it);
		klen = json_object_iter_key_len(it);
		v = json_object_iter_value(it);
		if ((f = field_lookup(key, klen)) == FIELD__MAX) {
			e = fail_unknown(ei, key, klen);
			goto out;
		}
		if (!json_is_string(v)) {
			e = rp_fail(ei, RP_ERR_BAD_INPUT, "bad_type",
			    "field '%s' must be a string", fields[f].name);
			goto out;
		}
		if ((e = field_set(in, f, json_string_value(v),
		    json_string_length(v), NULL, ei)) != RP_OK)
			goto out;
	}
out:
	json_decref(root);
	explicit_bzero(&jerr, sizeof(jerr));
	HTTP_JERR_SEEN(&jerr, sizeof(jerr));
	return e;
}

/* RFC 6265 cookie-octet. */
static int
is_cookie_octet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) ||
	    (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
	    (c >= 0x5d && c <= 0x7e);
}

/* What the Cookie header said about each known cookie. */
struct cookie_seen {
	int		 count;
	const char	*val;		/* NULL when malformed or empty */
	size_t		 len;
};

/*
 * Looks at one "name=value" pair p..end of a Cookie header (leading
 * whitespace already skipped) and records it in seen[] when its name is
 * a known cookie.  Malformed pairs are ignored; a known name with a
 * malformed or empty value still counts, with no value.
 */
static void
cookie_pair(const char *p, const char *end, struct cookie_seen *seen)
{
	const char	*eq, *v, *ve, *t;
	size_t		 i, nlen;
	int		 ok;

	if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL || eq == p)
		return;
	nlen = (size_t)(eq - p);
	for (i = 0; i < COOKIE__MAX; i++)
		if (strlen(cookie_names[i]) == nlen &&
		    memcmp(cookie_names[i], p, nlen) == 0)
			break;
	if (i == COOKIE__MAX)
		return;

	v = eq + 1;
	ve = end;
	while (ve > v && is_ows(ve[-1]))
		ve--;
	if (ve - v >= 2 && v[0] == '"' && ve[-1] == '"') {
		v++;
		ve--;
	}
	ok = ve > v;
	for (t = v; t < ve && ok; t++)
		ok = is_cookie_octet((unsigned char)*t);
	seen[i].count++;
	seen[i].val = ok ? v : NULL;
	seen[i].len = ok ? (size_t)(ve - v) : 0;
}

/*
 * Parses a Cookie header ("a=b; c=d", spaces optional) and keeps the
 * known cookies in in->cookie[], strdup'd; input_free() frees them.
 * Malformed pairs are skipped; a known cookie given twice, or with a
 * malformed or empty value, is left out; a header over RP_COOKIE_MAX
 * keeps nothing.  Returns RP_OK, or RP_ERR_NOMEM when a copy fails.
 */
enum rp_err
http_parse_cookies(struct input *in, const char *s, size_t len)
{
	struct cookie_seen	 seen[COOKIE__MAX];
	const char		*p, *end, *semi;
	size_t			 i;

	if (s == NULL || len == 0 || len > RP_COOKIE_MAX)
		return RP_OK;
	memset(seen, 0, sizeof(seen));

	end = s + len;
	for (p = s; p < end; p = semi + 1) {
		if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
			semi = end;
		while (p < semi && is_ows(*p))
			p++;
		cookie_pair(p, semi, seen);
		if (semi == end)
			break;
	}

	for (i = 0; i < COOKIE__MAX; i++) {
		if (seen[i].count != 1 || seen[i].val == NULL)
			continue;
		free(in->cookie[i]);
		if ((in->cookie[i] = rp_strndup(seen[i].val, seen[i].len)) ==
		    NULL)
			return RP_ERR_NOMEM;
	}
	return RP_OK;
}

/*
 * Finds the media type of a Content-Type: sets *type and *len to it,
 * without leading whitespace or parameters.  Returns 0, or -1 when
 * something but whitespace and ';' follows it.
 */
static int
media_type(const char *ctype, const char **type, size_t *len)
{
	const char	*p, *t, *end;

	end = ctype + strlen(ctype);
	for (p = ctype; p < end && is_ows(*p); p++)
		continue;
	for (t = p; t < end && *t != ';' && !is_ows(*t); t++)
		continue;
	*type = p;
	*len = (size_t)(t - p);
	while (t < end && is_ows(*t))
		t++;
	return (t < end && *t != ';') ? -1 : 0;
}

/*
 * Says which kind of body the Content-Type ctype (NULL when absent)
 * announces: HTTP_BODY_FORM for url-encoded and multipart forms,
 * HTTP_BODY_JSON, else HTTP_BODY_OTHER.  The router uses it to keep
 * each route to the bodies it expects.
 */
enum http_body
http_body_kind(const char *ctype)
{
	const char	*t;
	size_t		 tlen;

	if (ctype == NULL || media_type(ctype, &t, &tlen) == -1)
		return HTTP_BODY_OTHER;
	if (ci_equal(t, tlen, "application/x-www-form-urlencoded") ||
	    ci_equal(t, tlen, "multipart/form-data"))
		return HTTP_BODY_FORM;
	if (ci_equal(t, tlen, "application/json"))
		return HTTP_BODY_JSON;
	return HTTP_BODY_OTHER;
}

/*
 * Parses a request body by its Content-Type (NULL when absent): forms,
 * multipart forms and JSON.  An empty body is no fields whatever the
 * type.  Returns RP_OK, RP_ERR_MEDIA for another or a missing type, or
 * the parser's error, with ei filled.
 */
enum rp_err
http_parse_body(struct input *in, const char *ctype, const char *body,
    size_t len, struct rp_errinfo *ei)
{
	const char	*t;
	size_t		 tlen;

	if (len == 0)
		return RP_OK;
	if (ctype == NULL || media_type(ctype, &t, &tlen) == -1)
		goto unsupported;
	if (ci_equal(t, tlen, "application/x-www-form-urlencoded"))
		return http_parse_urlenc(in, body, len, ei);
	if (ci_equal(t, tlen, "multipart/form-data"))
		return http_parse_multipart(in, ctype, body, len, ei);
	if (ci_equal(t, tlen, "application/json"))
		return http_parse_json(in, body, len, ei);
unsupported:
	return rp_fail(ei, RP_ERR_MEDIA, "unsupported_media_type",
	    "unsupported content type");
}
