/*
 * The template renderer.  Every template of a directory is read and parsed
 * once at start-up into a flat list of nodes; rendering walks that list
 * with a jansson context and never parses again.  See extern.h for the
 * syntax.  Variables are HTML-escaped; {{raw name}} is the one way to
 * insert a value unescaped, so unescaped output is easy to grep for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* Contexts pushed at once: the root plus sections of layout and page. */
#define TMPL_STACK_MAX	(1u + 2u * RP_TMPL_DEPTH_MAX)

enum tnode_kind {
	TN_TEXT,	/* literal text */
	TN_VAR,		/* {{name}}, escaped */
	TN_RAW,		/* {{raw name}}, not escaped */
	TN_SECTION,	/* {{#name}} */
	TN_INVERTED,	/* {{^name}} */
	TN_PAGE		/* {{>page}}, layout only */
};

/*
 * One node.  Text points into the template's source; a name also points
 * into the source, where the parser replaced each '.' and the byte after
 * the name with NUL, so the name is nseg consecutive NUL-terminated
 * segments.  A section's children are the nodes (this, end).
 */
struct tnode {
	enum tnode_kind	 kind;
	const char	*s;
	size_t		 len;	/* text bytes */
	size_t		 nlen;	/* name bytes, dots included */
	size_t		 nseg;	/* name segments; 0 for "." */
	size_t		 end;	/* sections: index after the last child */
	size_t		 line;	/* where the tag opened */
};

struct tmpl {
	char		*src;	/* owned copy of the source */
	struct tnode	*n;
	size_t		 nn;
	size_t		 cap;
};

struct tmpl_set {
	struct tmpl	 layout;
	struct tmpl	 page[TMPL__MAX];
};

/* File names of the pages, indexed by enum tmpl_id. */
static const char *const tmpl_files[TMPL__MAX] = {
	[TMPL_LANDING] = "landing.html",
	[TMPL_NOT_FOUND] = "not_found.html",
	[TMPL_ERROR] = "error.html",
	[TMPL_TEST_FORM] = "test_form.html",
	[TMPL_SUSPEND] = "suspend.html",
	[TMPL_REQUEST] = "request.html",
	[TMPL_AGENT] = "agent.html",
	[TMPL_AGENT_CERT] = "agent_cert.html",
	[TMPL_AGENT_ACT] = "agent_act.html",
	[TMPL_OFFICER] = "officer.html",
	[TMPL_OFFICER_REQ] = "officer_req.html",
	[TMPL_STAFF_DENIED] = "staff_denied.html",
	[TMPL_SIGN_FORM] = "sign_form.html",
	[TMPL_SIGN_DOC] = "sign_doc.html",
	[TMPL_APPROVALS] = "approvals.html",
	[TMPL_APPROVAL] = "approval.html",
};

/* State of one parse: where errors go and what they are called. */
struct tparse {
	const char	*fname;		/* for messages */
	int		 is_layout;
	char		*err;
	size_t		 errlen;
};

/* State of one rendering. */
struct trender {
	const struct tmpl	*page;
	const json_t		*stack[TMPL_STACK_MAX];
	size_t			 depth;
	struct buf		*out;
};

static void	tmpl_err(const struct tparse *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Writes "<fname>:<line>: <what>" into the caller's error buffer (which
 * may be NULL).  A message cut short by a small buffer is still a useful
 * message, so truncation is accepted here.
 */
static void
tmpl_err(const struct tparse *tp, size_t line, const char *fmt, ...)
{
	char	 what[RP_ERRMSG_MAX];
	va_list	 ap;
	int	 n;

	if (tp->err == NULL || tp->errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		what[0] = '\0';
	if (snprintf(tp->err, tp->errlen, "%s:%zu: %s",
	    tp->fname, line, what) < 0)
		tp->err[0] = '\0';
}

static void
tmpl_clear(struct tmpl *t)
{
	free(t->n);
	free(t->src);
	memset(t, 0, sizeof(*t));
}

/*
 * Appends a zeroed node to t.  Returns it, or NULL when out of memory.
 * The node array belongs to t.
 */
static struct tnode *
tmpl_node_new(struct tmpl *t)
{
	struct tnode	*np;
	size_t		 ncap;

	if (t->nn == t->cap) {
		ncap = t->cap == 0 ? 32 : t->cap * 2;
		if (ncap > SIZE_MAX / sizeof(*np))
			return NULL;
		if ((np = realloc(t->n, ncap * sizeof(*np))) == NULL)
			return NULL;
		t->n = np;
		t->cap = ncap;
	}
	np = &t->n[t->nn++];
	memset(np, 0, sizeof(*np));
	return np;
}

static int
tmpl_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
tmpl_isalpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
tmpl_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Checks the name s[0..len): "." alone, or segments of
 * [A-Za-z_][A-Za-z0-9_]* joined by single dots.  Returns the number of
 * segments (0 for "."), or -1 when the name is bad.
 */
static long
tmpl_name_check(const char *s, size_t len)
{
	size_t	 i;
	long	 nseg = 1;
	int	 start = 1;

	if (len == 1 && s[0] == '.')
		return 0;
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (start)
				return -1;
			start = 1;
			nseg++;
		} else if (tmpl_isalpha(s[i]) ||
		    (!start && tmpl_isdigit(s[i])))
			start = 0;
		else
			return -1;
	}
	return start ? -1 : nseg;
}

/*
 * Parses the tag name at s[0..len) in place (see struct tnode) into np.
 * Returns 0, or -1 with the error reported.
 */
static int
tmpl_name(const struct tparse *tp, struct tnode *np, char *s, size_t len,
    size_t line)
{
	long	 nseg;
	size_t	 i;

	if ((nseg = tmpl_name_check(s, len)) < 0) {
		tmpl_err(tp, line, "bad name \"%.*s\"",
		    len > 64 ? 64 : (int)len, s);
		return -1;
	}
	for (i = 0; i < len; i++)
		if (s[i] == '.')
			s[i] = '\0';
	s[len] = '\0';
	np->s = s;
	np->nlen = len;
	np->nseg = (size_t)nseg;
	return 0;
}

/*
 * Writes the name of np, dots restored, into buf (at most size - 1 bytes,
 * longer names are cut).  Returns buf.
 */
static const char *
tmpl_name_str(const struct tnode *np, char *buf, size_t size)
{
	size_t	 i;

	for (i = 0; i < np->nlen && i + 1 < size; i++)
		buf[i] = np->s[i] == '\0' ? '.' : np->s[i];
	buf[i] = '\0';
	return buf;
}

/*
 * Parses src (len bytes, taken over: freed by the caller through t on
 * every path) into t.  Returns 0, or -1 with the error reported through
 * tp.  The byte src[len] must exist and is overwritten.
 */
static int
tmpl_parse(const struct tparse *tp, struct tmpl *t, char *src, size_t len)
{
	size_t		 open[RP_TMPL_DEPTH_MAX];
	size_t		 depth = 0, line = 1, tline, pos = 0, i;
	size_t		 b, e, slots = 0;
	struct tnode	*np, *op;
	char		*tag;
	size_t		 tlen;
	char		 sig;
	char		 name[72];
	int		 bad;

	t->src = src;
	while (pos < len) {
		/* A text run up to the next "{{" or the end. */
		for (i = pos; i < len; i++) {
			if (src[i] == '{' && i + 1 < len && src[i + 1] == '{')
				break;
			if (src[i] == '\n')
				line++;
		}
		if (i > pos) {
			if ((np = tmpl_node_new(t)) == NULL)
				goto nomem;
			np->kind = TN_TEXT;
			np->s = src + pos;
			np->len = i - pos;
			np->line = line;
		}
		if (i == len)
			break;

		/* A tag: find its "}}", counting lines inside it. */
		tline = line;
		b = i + 2;
		for (e = b; e < len; e++) {
			if (src[e] == '}' && e + 1 < len && src[e + 1] == '}')
				break;
			if (src[e] == '\n')
				line++;
		}
		if (e == len) {
			tmpl_err(tp, tline, "unclosed {{");
			return -1;
		}
		pos = e + 2;
		while (b < e && tmpl_isspace(src[b]))
			b++;
		while (e > b && tmpl_isspace(src[e - 1]))
			e--;
		if (b == e) {
			tmpl_err(tp, tline, "empty tag");
			return -1;
		}
		tag = src + b;
		tlen = e - b;
		sig = tag[0];

		if (sig == '!')
			continue;
		if (sig == '#' || sig == '^' || sig == '/' || sig == '>') {
			tag++;
			tlen--;
			while (tlen > 0 && tmpl_isspace(tag[0])) {
				tag++;
				tlen--;
			}
		} else if (tlen > 3 && strncmp(tag, "raw", 3) == 0 &&
		    tmpl_isspace(tag[3])) {
			sig = 'r';
			tag += 3;
			tlen -= 3;
			while (tlen > 0 && tmpl_isspace(tag[0])) {
				tag++;
				tlen--;
			}
		} else if (!tmpl_isalpha(sig) && !tmpl_isdigit(sig) &&
		    sig != '.') {
			if (sig > ' ' && sig <= '~')
				tmpl_err(tp, tline, "unknown tag kind '%c'",
				    sig);
			else
				tmpl_err(tp, tline, "unknown tag kind "
				    "'\\x%02x'", (unsigned char)sig);
			return -1;
		} else
			sig = 'v';

		if (sig == '>') {
			if (!tp->is_layout) {
				tmpl_err(tp, tline,
				    "{{>...}} is allowed in layout.html only");
				return -1;
			}
			if (tlen != 4 || strncmp(tag, "page", 4) != 0) {
				tmpl_err(tp, tline, "unknown partial "
				    "\"%.*s\", only {{>page}} exists",
				    tlen > 64 ? 64 : (int)tlen, tag);
				return -1;
			}
			if (++slots > 1) {
				tmpl_err(tp, tline, "second {{>page}}");
				return -1;
			}
			if ((np = tmpl_node_new(t)) == NULL)
				goto nomem;
			np->kind = TN_PAGE;
			np->line = tline;
			continue;
		}

		if (sig == '/') {
			if (depth == 0) {
				tmpl_err(tp, tline, "{{/%.*s}} closes no "
				    "open section", tlen > 64 ? 64 :
				    (int)tlen, tag);
				return -1;
			}
			/* The open name has NUL where this one has '.'. */
			op = &t->n[open[depth - 1]];
			bad = tlen != op->nlen;
			for (i = 0; !bad && i < tlen; i++)
				bad = tag[i] == '.' ? op->s[i] != '\0' :
				    tag[i] == '\0' || tag[i] != op->s[i];
			if (bad) {
				tmpl_err(tp, tline, "{{/%.*s}} does not close "
				    "the section opened on line %zu",
				    tlen > 64 ? 64 : (int)tlen, tag, op->line);
				return -1;
			}
			op->end = t->nn;
			depth--;
			continue;
		}

		if ((np = tmpl_node_new(t)) == NULL)
			goto nomem;
		np->line = tline;
		switch (sig) {
		case '#':
			np->kind = TN_SECTION;
			break;
		case '^':
			np->kind = TN_INVERTED;
			break;
		case 'r':
			np->kind = TN_RAW;
			break;
		default:
			np->kind = TN_VAR;
			break;
		}
		if (np->kind == TN_SECTION || np->kind == TN_INVERTED) {
			if (depth == RP_TMPL_DEPTH_MAX) {
				tmpl_err(tp, tline, "sections nested deeper "
				    "than %u", RP_TMPL_DEPTH_MAX);
				return -1;
			}
			open[depth++] = t->nn - 1;
		}
		/* Last: this writes NULs into the tag. */
		if (tmpl_name(tp, np, tag, tlen, tline) == -1)
			return -1;
	}

	if (depth > 0) {
		op = &t->n[open[depth - 1]];
		tmpl_err(tp, op->line, "unclosed section {{%c%s}}",
		    op->kind == TN_SECTION ? '#' : '^',
		    tmpl_name_str(op, name, sizeof(name)));
		return -1;
	}
	if (tp->is_layout && slots != 1) {
		tmpl_err(tp, line, "layout has no {{>page}}");
		return -1;
	}
	return 0;
nomem:
	tmpl_err(tp, line, "out of memory");
	return -1;
}

/*
 * Parses a copy of s[0..len) into t.  Returns 0, or -1 with the error
 * reported; t is to be cleared by the caller in either case.
 */
static int
tmpl_parse_copy(const struct tparse *tp, struct tmpl *t, const char *s,
    size_t len)
{
	char	*src;

	if (len > RP_TMPL_FILE_MAX) {
		tmpl_err(tp, 1, "larger than %u bytes", RP_TMPL_FILE_MAX);
		return -1;
	}
	if ((src = malloc(len + 1)) == NULL) {
		tmpl_err(tp, 1, "out of memory");
		return -1;
	}
	memcpy(src, s, len);
	src[len] = '\0';
	return tmpl_parse(tp, t, src, len);
}

/*
 * Reads and parses dir/file into t.  Returns 0, or -1 with err set; t is
 * to be cleared by the caller in either case.
 */
static int
tmpl_load_file(const char *dir, const char *file, int is_layout,
    struct tmpl *t, char *err, size_t errlen)
{
	char		 path[RP_CONF_STR + 64];
	struct tparse	 tp;
	char		*src, why[RP_ERRMSG_MAX];
	size_t		 len;
	int		 n;

	tp.fname = path;
	tp.is_layout = is_layout;
	tp.err = err;
	tp.errlen = errlen;
	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		if (err != NULL && errlen > 0 &&
		    snprintf(err, errlen, "%s: path too long", file) < 0)
			err[0] = '\0';
		return -1;
	}
	if ((src = rp_read_file(path, RP_TMPL_FILE_MAX, &len, why,
	    sizeof(why))) == NULL) {
		tmpl_err(&tp, 0, "%s", why);
		return -1;
	}
	return tmpl_parse(&tp, t, src, len);	/* src is now t's */
}

/*
 * Returns the set of every template of dir, or NULL with err filled
 * ("<dir>/<file>:<line>: <what>"; line 0 for errors of a whole file).
 * The set is freed with tmpl_free().
 */
struct tmpl_set *
tmpl_load(const char *dir, char *err, size_t errlen)
{
	struct tmpl_set	*set;
	size_t		 i;

	if ((set = calloc(1, sizeof(*set))) == NULL) {
		if (err != NULL && errlen > 0 &&
		    snprintf(err, errlen, "%s: out of memory", dir) < 0)
			err[0] = '\0';
		return NULL;
	}
	if (tmpl_load_file(dir, "layout.html", 1, &set->layout,
	    err, errlen) == -1)
		goto fail;
	for (i = 0; i < TMPL__MAX; i++)
		if (tmpl_load_file(dir, tmpl_files[i], 0, &set->page[i],
		    err, errlen) == -1)
			goto fail;
	return set;
fail:
	tmpl_free(set);
	return NULL;
}

/*
 * Returns a set whose layout is parsed from layout and every page from
 * page (both NUL-terminated), or NULL with err naming "layout" or "page".
 * The set is freed with tmpl_free().
 */
struct tmpl_set *
tmpl_parse_mem(const char *layout, const char *page, char *err,
    size_t errlen)
{
	struct tmpl_set	*set;
	struct tparse	 tp;
	size_t		 i;

	if ((set = calloc(1, sizeof(*set))) == NULL) {
		if (err != NULL && errlen > 0 &&
		    snprintf(err, errlen, "out of memory") < 0)
			err[0] = '\0';
		return NULL;
	}
	tp.err = err;
	tp.errlen = errlen;
	tp.fname = "layout";
	tp.is_layout = 1;
	if (tmpl_parse_copy(&tp, &set->layout, layout, strlen(layout)) == -1)
		goto fail;
	tp.fname = "page";
	tp.is_layout = 0;
	for (i = 0; i < TMPL__MAX; i++)
		if (tmpl_parse_copy(&tp, &set->page[i], page,
		    strlen(page)) == -1)
			goto fail;
	return set;
fail:
	tmpl_free(set);
	return NULL;
}

void
tmpl_free(struct tmpl_set *set)
{
	size_t	 i;

	if (set == NULL)
		return;
	tmpl_clear(&set->layout);
	for (i = 0; i < TMPL__MAX; i++)
		tmpl_clear(&set->page[i]);
	free(set);
}

/*
 * Looks up the name of np in the context stack: the first segment from
 * the innermost context outwards, the others inside what it found.
 * Returns the value (owned by the context) or NULL when missing.
 */
static const json_t *
tmpl_lookup(const struct trender *tr, const struct tnode *np)
{
	const json_t	*v = NULL;
	const char	*seg = np->s;
	size_t		 i;

	if (np->nseg == 0)
		return tr->depth > 0 ? tr->stack[tr->depth - 1] : NULL;
	for (i = tr->depth; i > 0; i--)
		if (json_is_object(tr->stack[i - 1]) &&
		    (v = json_object_get(tr->stack[i - 1], seg)) != NULL)
			break;
	for (i = 1; v != NULL && i < np->nseg; i++) {
		seg += strlen(seg) + 1;
		v = json_is_object(v) ? json_object_get(v, seg) : NULL;
	}
	return v;
}

/* Returns 1 when a section over v is shown, 0 when it is skipped. */
static int
tmpl_truthy(const json_t *v)
{
	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	default:
		return 1;
	}
}

/* Appends the value of a variable.  Objects and arrays are a bug. */
static enum rp_err
tmpl_put(struct buf *out, const json_t *v, int raw)
{
	if (v == NULL)
		return RP_OK;
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (raw)
			return buf_add(out, json_string_value(v),
			    json_string_length(v));
		return buf_add_html(out, json_string_value(v),
		    json_string_length(v));
	case JSON_INTEGER:
		return buf_addf(out, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	case JSON_REAL:
		return buf_addf(out, "%.15g", json_real_value(v));
	case JSON_NULL:
	case JSON_TRUE:
	case JSON_FALSE:
		return RP_OK;
	default:
		return RP_ERR_INTERNAL;
	}
}

static enum rp_err	tmpl_run(struct trender *, const struct tmpl *,
			    size_t, size_t);

/* Renders the children of the section t->n[i] once with v pushed. */
static enum rp_err
tmpl_push_run(struct trender *tr, const struct tmpl *t, size_t i,
    const json_t *v)
{
	enum rp_err	 e;

	if (tr->depth == TMPL_STACK_MAX)
		return RP_ERR_INTERNAL;
	tr->stack[tr->depth++] = v;
	e = tmpl_run(tr, t, i + 1, t->n[i].end);
	tr->depth--;
	return e;
}

/* Renders the nodes [from, to) of t. */
static enum rp_err
tmpl_run(struct trender *tr, const struct tmpl *t, size_t from, size_t to)
{
	const struct tnode	*np;
	const json_t		*v;
	size_t			 i, k;
	enum rp_err		 e = RP_OK;

	for (i = from; i < to && e == RP_OK; i++) {
		np = &t->n[i];
		switch (np->kind) {
		case TN_TEXT:
			e = buf_add(tr->out, np->s, np->len);
			break;
		case TN_VAR:
		case TN_RAW:
			e = tmpl_put(tr->out, tmpl_lookup(tr, np),
			    np->kind == TN_RAW);
			break;
		case TN_PAGE:
			e = tmpl_run(tr, tr->page, 0, tr->page->nn);
			break;
		case TN_INVERTED:
			if (!tmpl_truthy(tmpl_lookup(tr, np)))
				e = tmpl_run(tr, t, i + 1, np->end);
			i = np->end - 1;
			break;
		case TN_SECTION:
			v = tmpl_lookup(tr, np);
			if (!tmpl_truthy(v)) {
				/* Skipped. */
			} else if (json_is_array(v))
				for (k = 0; k < json_array_size(v) &&
				    e == RP_OK; k++)
					e = tmpl_push_run(tr, t, i,
					    json_array_get(v, k));
			else if (json_is_object(v))
				e = tmpl_push_run(tr, t, i, v);
			else
				e = tmpl_run(tr, t, i + 1, np->end);
			i = np->end - 1;
			break;
		}
	}
	return e;
}

/*
 * Renders page id of set inside its layout with the context ctx (may be
 * NULL) and appends the result to out.  Returns RP_OK; on failure out is
 * back at its length on entry and the error is RP_ERR_NOMEM (out->max
 * reached or no memory) or RP_ERR_INTERNAL (bad id, or an object or
 * array used as a variable: a template bug).
 */
enum rp_err
tmpl_render(const struct tmpl_set *set, enum tmpl_id id, const json_t *ctx,
    struct buf *out)
{
	struct trender	 tr;
	size_t		 start = out->len;
	enum rp_err	 e;

	if (set == NULL || (unsigned int)id >= TMPL__MAX)
		return RP_ERR_INTERNAL;
	memset(&tr, 0, sizeof(tr));
	tr.page = &set->page[id];
	tr.out = out;
	if (ctx != NULL)
		tr.stack[tr.depth++] = ctx;
	e = tmpl_run(&tr, &set->layout, 0, set->layout.nn);
	if (e != RP_OK) {
		out->len = start;
		if (out->p != NULL)
			out->p[start] = '\0';
	}
	return e;
}
