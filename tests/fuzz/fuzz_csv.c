/*
 * libFuzzer target for csv.c.  The input is read as one CSV text, record
 * by record, to its end or its first error.  Every record must hold 1 to
 * CSV_FIELDS_MAX fields of at most CSV_FIELD_MAX bytes, NUL terminated,
 * the others empty; the reader must move forward and count lines.  A
 * text read to its end must hold no NUL byte and end on the line after
 * its last line feed; an error must carry a known code and message, the
 * record it refused must be empty, and asking again must give the same
 * error on the same line.  The records read are written back, every
 * field quoted, and must read back the same.  Built with
 * tests/fuzz/replay.c it replays a saved corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Aborts unless r is a well-formed record. */
static void
check_rec(const struct csv_rec *r)
{
	size_t	 i;

	if (r->n < 1 || r->n > CSV_FIELDS_MAX || r->line < 1)
		abort();
	for (i = 0; i < CSV_FIELDS_MAX; i++) {
		if (memchr(r->f[i], '\0', sizeof(r->f[i])) == NULL)
			abort();
		if (i >= r->n && r->f[i][0] != '\0')
			abort();
	}
}

/* Aborts unless ei is a refusal of csv.c. */
static void
check_err(enum rp_err e, const struct rp_errinfo *ei)
{
	if (e != RP_ERR_BAD_INPUT && e != RP_ERR_TOO_LARGE)
		abort();
	if (ei->code == NULL || strncmp(ei->code, "csv_", 4) != 0 ||
	    memchr(ei->msg, '\0', sizeof(ei->msg)) == NULL ||
	    ei->msg[0] == '\0')
		abort();
}

/* Appends record r to out, each field quoted; RP_ERR_NOMEM past max. */
static enum rp_err
write_rec(struct buf *out, const struct csv_rec *r)
{
	const char	*s;
	size_t		 i;
	enum rp_err	 e = RP_OK;

	for (i = 0; e == RP_OK && i < r->n; i++) {
		if (i > 0)
			e = buf_addc(out, ',');
		if (e == RP_OK)
			e = buf_addc(out, '"');
		for (s = r->f[i]; e == RP_OK && *s != '\0'; s++)
			e = *s == '"' ? buf_add(out, "\"\"", 2) :
			    buf_addc(out, *s);
		if (e == RP_OK)
			e = buf_addc(out, '"');
	}
	return e == RP_OK ? buf_addc(out, '\n') : e;
}

/*
 * Reads text[0..len) to its end or first error, checking each record,
 * and writes the records read to out (when not NULL).  Returns the
 * number of records read.
 */
static size_t
read_all(const char *text, size_t len, struct csv_rec *r, struct buf *out,
    int *outok)
{
	struct csv		 c;
	struct rp_errinfo	 ei, again;
	size_t			 n = 0, pos, line, last = 0, lf;
	enum rp_err		 e;

	memset(&ei, 0, sizeof(ei));
	if ((e = csv_init(&c, text, len, &ei)) != RP_OK) {
		if (e != RP_ERR_TOO_LARGE || len <= CSV_FILE_MAX)
			abort();
		check_err(e, &ei);
		return 0;
	}
	if (len > CSV_FILE_MAX)
		abort();
	for (;;) {
		pos = c.pos;
		line = c.line;
		memset(&ei, 0, sizeof(ei));
		e = csv_next(&c, r, &ei);
		if (c.pos > len || c.line < line)
			abort();
		if (e != RP_OK) {
			check_err(e, &ei);
			if (r->n != 0 || r->f[0][0] != '\0')
				abort();
			line = c.line;
			memset(&again, 0, sizeof(again));
			if (csv_next(&c, r, &again) != e ||
			    strcmp(again.code, ei.code) != 0 ||
			    strcmp(again.msg, ei.msg) != 0 || c.line != line)
				abort();
			return n;
		}
		if (r->n == 0)
			break;
		check_rec(r);
		/* Forward: a record takes bytes and starts on a new line. */
		if (c.pos <= pos || r->line <= last)
			abort();
		last = r->line;
		n++;
		if (out != NULL && *outok && write_rec(out, r) != RP_OK)
			*outok = 0;
	}
	/* Read to the end: every byte taken, every line counted. */
	if (c.pos != len || memchr(text, '\0', len) != NULL)
		abort();
	for (pos = lf = 0; pos < len; pos++)
		if (text[pos] == '\n')
			lf++;
	if (c.line != lf + 1)
		abort();
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_rec		*r = NULL, *r2 = NULL;
	struct csv		 c1, c2;
	struct buf		 out;
	char			*text;
	size_t			 n, i, k;
	int			 outok = 1;

	/* An exact-size copy, so reading past the end is caught. */
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	buf_init(&out, CSV_FILE_MAX);
	if ((r = malloc(sizeof(*r))) == NULL ||
	    (r2 = malloc(sizeof(*r2))) == NULL)
		goto out;

	n = read_all(text, size, r, &out, &outok);
	if (!outok || size > CSV_FILE_MAX)
		goto out;

	/* What was read, written back quoted, reads back the same. */
	if (read_all(out.p != NULL ? out.p : "", out.len, r2, NULL, NULL) !=
	    n)
		abort();
	if (csv_init(&c1, text, size, NULL) != RP_OK ||
	    csv_init(&c2, out.p != NULL ? out.p : "", out.len, NULL) != RP_OK)
		abort();
	for (i = 0; i < n; i++) {
		if (csv_next(&c1, r, NULL) != RP_OK ||
		    csv_next(&c2, r2, NULL) != RP_OK || r->n != r2->n)
			abort();
		for (k = 0; k < r->n; k++)
			if (strcmp(r->f[k], r2->f[k]) != 0)
				abort();
	}
out:
	buf_free(&out);
	free(r);
	free(r2);
	free(text);
	return 0;
}
