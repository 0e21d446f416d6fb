/*
 * The RFC 4180 reader of revportal-admin import-dir: a text of at most
 * CSV_FILE_MAX bytes, read one record at a time into a fixed struct
 * csv_rec of at most CSV_FIELDS_MAX fields of at most CSV_FIELD_MAX
 * bytes each.  Nothing is allocated.  The rules are those of extern.h.
 */
#include <string.h>

#include "extern.h"

/*
 * Starts reading text[0..len), which need not be NUL terminated and must
 * outlive c, at line 1.  Returns RP_OK, or RP_ERR_TOO_LARGE
 * ("csv_too_large") with ei filled when len passes CSV_FILE_MAX; c is
 * then at the end of an empty text.
 */
enum rp_err
csv_init(struct csv *c, const char *text, size_t len,
    struct rp_errinfo *ei)
{
	memset(c, 0, sizeof(*c));
	c->line = 1;
	if (len > CSV_FILE_MAX)
		return rp_fail(ei, RP_ERR_TOO_LARGE, "csv_too_large",
		    "larger than %u bytes", CSV_FILE_MAX);
	c->p = text;
	c->len = len;
	return RP_OK;
}

/*
 * Reads the field at c->pos into out (CSV_FIELD_MAX + 1 bytes, NUL
 * terminated) and leaves c->pos on what ends it: a comma, a CR, an LF
 * or the end of the text.  Returns RP_OK, or an error with ei filled and
 * c->pos where it was.
 */
static enum rp_err
csv_field(struct csv *c, char *out, struct rp_errinfo *ei)
{
	const char	*p = c->p;
	size_t		 i = c->pos, o = 0;
	int		 quoted;

	if ((quoted = i < c->len && p[i] == '"'))
		i++;
	for (;; i++) {
		if (i >= c->len) {
			if (quoted)
				return rp_fail(ei, RP_ERR_BAD_INPUT,
				    "csv_unclosed",
				    "a quoted field is not closed");
			break;
		}
		if (p[i] == '\0')
			return rp_fail(ei, RP_ERR_BAD_INPUT, "csv_nul",
			    "a NUL byte");
		if (quoted && p[i] == '"') {
			/* A doubled quote stands for one. */
			if (i + 1 >= c->len || p[i + 1] != '"') {
				i++;
				if (i < c->len && p[i] != ',' &&
				    p[i] != '\n' && p[i] != '\r')
					return rp_fail(ei, RP_ERR_BAD_INPUT,
					    "csv_after_quote",
					    "text after a closing quote");
				break;
			}
			i++;
		} else if (!quoted && (p[i] == ',' || p[i] == '\n' ||
		    p[i] == '\r'))
			break;
		else if (!quoted && p[i] == '"')
			return rp_fail(ei, RP_ERR_BAD_INPUT, "csv_quote",
			    "a quote inside an unquoted field");
		else if (p[i] == '\n' || p[i] == '\r')
			return rp_fail(ei, RP_ERR_BAD_INPUT, "csv_line_end",
			    "a line end inside a quoted field");
		if (o == CSV_FIELD_MAX)
			return rp_fail(ei, RP_ERR_TOO_LARGE, "csv_field_long",
			    "a field longer than %u bytes", CSV_FIELD_MAX);
		out[o++] = p[i];
	}
	out[o] = '\0';
	c->pos = i;
	return RP_OK;
}

/*
 * Reads the next record into r, skipping blank lines first.  Returns
 * RP_OK with r->n fields (at least one) and r->line the line it is on,
 * or with r->n 0 at the end of the text; or RP_ERR_BAD_INPUT (syntax) or
 * RP_ERR_TOO_LARGE (more than CSV_FIELDS_MAX fields, a field longer than
 * CSV_FIELD_MAX bytes) with ei filled, r->n 0 and c->line the line of
 * the error; the reader then stays on that record.  Only the fields
 * f[0..n) of r mean anything; the others are empty.
 */
enum rp_err
csv_next(struct csv *c, struct csv_rec *r, struct rp_errinfo *ei)
{
	size_t		 start, i;
	enum rp_err	 e;

	r->n = 0;
	while (c->pos < c->len && (c->p[c->pos] == '\n' ||
	    (c->p[c->pos] == '\r' && c->len - c->pos > 1 &&
	    c->p[c->pos + 1] == '\n'))) {
		if (c->p[c->pos] == '\n')
			c->line++;
		c->pos++;
	}
	r->line = c->line;
	for (i = 0; i < CSV_FIELDS_MAX; i++)
		r->f[i][0] = '\0';
	if (c->pos >= c->len)
		return RP_OK;
	start = c->pos;
	for (;;) {
		if (r->n == CSV_FIELDS_MAX) {
			e = rp_fail(ei, RP_ERR_TOO_LARGE, "csv_fields",
			    "more than %u fields", CSV_FIELDS_MAX);
			goto fail;
		}
		if ((e = csv_field(c, r->f[r->n], ei)) != RP_OK)
			goto fail;
		r->n++;
		if (c->pos >= c->len || c->p[c->pos] != ',')
			break;
		c->pos++;
	}
	/* The field ended at a line end or at the end of the text. */
	if (c->pos < c->len && c->p[c->pos] == '\r') {
		if (c->len - c->pos < 2 || c->p[c->pos + 1] != '\n') {
			e = rp_fail(ei, RP_ERR_BAD_INPUT, "csv_cr",
			    "a CR without LF");
			goto fail;
		}
		c->pos++;
	}
	if (c->pos < c->len) {
		c->pos++;
		c->line++;
	}
	return RP_OK;
fail:
	for (i = 0; i < CSV_FIELDS_MAX; i++)
		r->f[i][0] = '\0';
	r->n = 0;
	c->pos = start;
	return e;
}
