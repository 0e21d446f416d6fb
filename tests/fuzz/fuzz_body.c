/*
 * libFuzzer target for the request parsers.  The input's first line (up
 * to the first LF, at most 200 bytes) is the Content-Type and the rest
 * the body, given to http_parse_body(); the whole input is also given to
 * http_parse_query() and http_parse_cookies(), clamped to their limits.
 * After each parse, every stored value must respect the field table.
 * Built with tests/fuzz/replay.c it replays a saved corpus instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define CTYPE_MAX	200u

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Aborts unless every set field of in is within its limits. */
static void
check_input(const struct input *in)
{
	size_t	 i;

	for (i = 0; i < FIELD__MAX; i++) {
		if (!in->f[i].set) {
			if (in->f[i].val != NULL)
				abort();
			continue;
		}
		if (in->f[i].val == NULL || in->f[i].len > fields[i].max ||
		    in->f[i].val[in->f[i].len] != '\0')
			abort();
		if (!(fields[i].flags & FIELDF_BINARY) &&
		    (memchr(in->f[i].val, '\0', in->f[i].len) != NULL ||
		    !rp_utf8_valid(in->f[i].val, in->f[i].len)))
			abort();
		if (fields[i].valid != NULL &&
		    !fields[i].valid(in->f[i].val, in->f[i].len))
			abort();
	}
	for (i = 0; i < COOKIE__MAX; i++)
		if (in->cookie[i] != NULL && in->cookie[i][0] == '\0')
			abort();
}

/* Checks what a parser returned: a known error with a code, or RP_OK. */
static void
check_result(enum rp_err e, const struct rp_errinfo *ei)
{
	if (e == RP_OK)
		return;
	if (e != RP_ERR_BAD_INPUT && e != RP_ERR_TOO_LARGE &&
	    e != RP_ERR_MEDIA && e != RP_ERR_NOMEM)
		abort();
	if (ei->code == NULL || memchr(ei->msg, '\0', sizeof(ei->msg)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	const uint8_t		*lf;
	char			*ctype = NULL, *body = NULL;
	size_t			 clen, blen;
	enum rp_err		 e;

	memset(&in, 0, sizeof(in));

	/* Content-Type and body. */
	lf = memchr(data, '\n', size < CTYPE_MAX + 1 ? size : CTYPE_MAX + 1);
	if (lf != NULL) {
		clen = (size_t)(lf - data);
		if ((ctype = malloc(clen + 1)) == NULL)
			return 0;
		memcpy(ctype, data, clen);
		ctype[clen] = '\0';
		blen = size - clen - 1;
	} else
		blen = size;
	if (blen > RP_BODY_CEILING)
		blen = RP_BODY_CEILING;
	/* An exact-size copy, so reading past the end is caught. */
	if ((body = malloc(blen > 0 ? blen : 1)) == NULL)
		goto out;
	if (blen > 0)
		memcpy(body, data + (size - blen), blen);
	memset(&ei, 0, sizeof(ei));
	e = http_parse_body(&in, ctype, body, blen, &ei);
	check_result(e, &ei);
	if (e == RP_OK)
		check_input(&in);
	input_free(&in);

	/* The whole input as a query string. */
	memset(&ei, 0, sizeof(ei));
	e = http_parse_query(&in, (const char *)data,
	    size < RP_QUERY_MAX ? size : RP_QUERY_MAX, &ei);
	check_result(e, &ei);
	if (e == RP_OK)
		check_input(&in);
	input_free(&in);

	/* The whole input as a Cookie header. */
	if (http_parse_cookies(&in, (const char *)data,
	    size < RP_COOKIE_MAX ? size : RP_COOKIE_MAX) != RP_OK)
		abort();
	check_input(&in);
	input_free(&in);
out:
	free(body);
	free(ctype);
	return 0;
}
