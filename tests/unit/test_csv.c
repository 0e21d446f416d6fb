/*
 * Tests of csv.c: the RFC 4180 reader of import-dir.  Records, quoting,
 * line ends and blank lines as read, every refusal with its code and
 * line, each limit at and one past its edge, and bytes that are passed
 * through as they are.  Every text is given in an exact-size copy, so
 * that ASan sees any read past its end.
 */
#include <stdio.h>

#include "unit.h"

/* The records of one text, read to the end or to the first error. */
struct got {
	struct csv_rec		 r[8];
	size_t			 n;		/* records read */
	enum rp_err		 e;		/* RP_OK: read to the end */
	struct rp_errinfo	 ei;
	size_t			 errline;	/* c.line at the error */
};

/* Returns a malloc'ed copy of s[0..n) with nothing after it. */
static char *
exact(const char *s, size_t n)
{
	char	*p;

	assert_non_null(p = malloc(n > 0 ? n : 1));
	if (n > 0)
		memcpy(p, s, n);
	return p;
}

/* Reads text[0..n) into g (at most 8 records). */
static void
read_n(const char *text, size_t n, struct got *g)
{
	struct csv	 c;
	char		*p = exact(text, n);

	memset(g, 0, sizeof(*g));
	assert_int_equal(csv_init(&c, p, n, &g->ei), RP_OK);
	for (;;) {
		assert_true(g->n < 8);
		g->e = csv_next(&c, &g->r[g->n], &g->ei);
		if (g->e != RP_OK) {
			g->errline = c.line;
			assert_int_equal(g->r[g->n].n, 0);
			break;
		}
		if (g->r[g->n].n == 0)
			break;
		g->n++;
	}
	free(p);
}

static void
read_s(const char *text, struct got *g)
{
	read_n(text, strlen(text), g);
}

/* Asserts that text is refused with e and code at line, after nrec
 * good records, and that the message is a sentence. */
static void
refused(const char *text, size_t n, enum rp_err e, const char *code,
    size_t line, size_t nrec)
{
	struct got	 g;

	read_n(text, n, &g);
	assert_int_equal(g.e, e);
	assert_non_null(g.ei.code);
	assert_string_equal(g.ei.code, code);
	assert_true(strlen(g.ei.msg) > 0);
	assert_int_equal(g.errline, line);
	assert_int_equal(g.n, nrec);
}

static void
test_plain(void **state)
{
	struct got	 g;

	(void)state;
	read_s("a,b,c\nd,e\n", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].n, 3);
	assert_string_equal(g.r[0].f[0], "a");
	assert_string_equal(g.r[0].f[1], "b");
	assert_string_equal(g.r[0].f[2], "c");
	assert_int_equal(g.r[0].line, 1);
	assert_int_equal(g.r[1].n, 2);
	assert_string_equal(g.r[1].f[0], "d");
	assert_string_equal(g.r[1].f[1], "e");
	assert_int_equal(g.r[1].line, 2);
	/* Fields past n are empty. */
	assert_string_equal(g.r[1].f[2], "");

	/* The last line needs no line end. */
	read_s("x,y\nlast", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.r[1].f[0], "last");

	/* Spaces are data. */
	read_s(" a , b ", &g);
	assert_int_equal(g.r[0].n, 2);
	assert_string_equal(g.r[0].f[0], " a ");
	assert_string_equal(g.r[0].f[1], " b ");
}

static void
test_empty(void **state)
{
	struct got	 g;

	(void)state;
	read_s("", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.n, 0);

	/* Blank lines only: no record. */
	read_s("\n\r\n\n", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.n, 0);

	/* Empty fields, first, inner and last. */
	read_s(",a,,b,\n", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].n, 5);
	assert_string_equal(g.r[0].f[0], "");
	assert_string_equal(g.r[0].f[1], "a");
	assert_string_equal(g.r[0].f[2], "");
	assert_string_equal(g.r[0].f[3], "b");
	assert_string_equal(g.r[0].f[4], "");

	/* A lone comma is two empty fields; "" one empty field. */
	read_s(",\n\"\"\n", &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].n, 2);
	assert_int_equal(g.r[1].n, 1);
	assert_string_equal(g.r[1].f[0], "");
}

static void
test_quoted(void **state)
{
	struct got	 g;

	(void)state;
	read_s("\"a,b\",\"say \"\"hi\"\"\",\"\"\"\"\n", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].n, 3);
	assert_string_equal(g.r[0].f[0], "a,b");
	assert_string_equal(g.r[0].f[1], "say \"hi\"");
	assert_string_equal(g.r[0].f[2], "\"");

	/* Quoted and unquoted mixed; a quoted field at the very end. */
	read_s("x,\"y\"", &g);
	assert_int_equal(g.r[0].n, 2);
	assert_string_equal(g.r[0].f[1], "y");

	/* A quoted field before CRLF. */
	read_s("\"q\"\r\nz", &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.r[0].f[0], "q");
	assert_string_equal(g.r[1].f[0], "z");
}

static void
test_line_ends(void **state)
{
	struct got	 g;

	(void)state;
	read_s("a,b\r\nc\r\n", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.r[0].f[1], "b");
	assert_string_equal(g.r[1].f[0], "c");
	assert_int_equal(g.r[1].line, 2);

	/* Blank lines, LF and CRLF, are skipped but counted. */
	read_s("\n\r\na\n\n\r\nb\n", &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.r[0].f[0], "a");
	assert_int_equal(g.r[0].line, 3);
	assert_string_equal(g.r[1].f[0], "b");
	assert_int_equal(g.r[1].line, 6);
}

static void
test_syntax_refused(void **state)
{
	(void)state;
	/* A quote inside an unquoted field, even after a space. */
	refused("ab\"c\n", 5, RP_ERR_BAD_INPUT, "csv_quote", 1, 0);
	refused("a, \"b\"\n", 7, RP_ERR_BAD_INPUT, "csv_quote", 1, 0);
	/* Text after a closing quote, a space included. */
	refused("ok\n\"a\"b\n", 8, RP_ERR_BAD_INPUT, "csv_after_quote", 2, 1);
	refused("\"a\" ,b\n", 7, RP_ERR_BAD_INPUT, "csv_after_quote", 1, 0);
	/* An unterminated quote, at the end or before a doubled quote. */
	refused("a,\"bc", 5, RP_ERR_BAD_INPUT, "csv_unclosed", 1, 0);
	refused("\"", 1, RP_ERR_BAD_INPUT, "csv_unclosed", 1, 0);
	refused("\"ab\"\"", 5, RP_ERR_BAD_INPUT, "csv_unclosed", 1, 0);
	/* A quoted field may not span lines: LF, CRLF or CR. */
	refused("ok\n\"a\nb\"\n", 9, RP_ERR_BAD_INPUT, "csv_line_end", 2, 1);
	refused("\"a\r\nb\"\n", 7, RP_ERR_BAD_INPUT, "csv_line_end", 1, 0);
	refused("\"a\rb\"\n", 6, RP_ERR_BAD_INPUT, "csv_line_end", 1, 0);
	/* A CR without LF: inside a line, at the end, alone, doubled. */
	refused("a\rb\n", 4, RP_ERR_BAD_INPUT, "csv_cr", 1, 0);
	refused("a\r", 2, RP_ERR_BAD_INPUT, "csv_cr", 1, 0);
	refused("a\n\r", 3, RP_ERR_BAD_INPUT, "csv_cr", 2, 1);
	refused("a\r\r\n", 4, RP_ERR_BAD_INPUT, "csv_cr", 1, 0);
	refused("\"a\"\rb", 5, RP_ERR_BAD_INPUT, "csv_cr", 1, 0);
}

static void
test_nul_refused(void **state)
{
	(void)state;
	refused("a\0b\n", 4, RP_ERR_BAD_INPUT, "csv_nul", 1, 0);
	refused("\"a\0b\"\n", 6, RP_ERR_BAD_INPUT, "csv_nul", 1, 0);
	refused("ok\n\n\0", 5, RP_ERR_BAD_INPUT, "csv_nul", 3, 1);
	refused("a,\0", 3, RP_ERR_BAD_INPUT, "csv_nul", 1, 0);
}

/* Bytes that are not UTF-8, controls and a BOM pass as they are. */
static void
test_bytes_passed(void **state)
{
	struct got	 g;

	(void)state;
	read_s("\xff\xfe,\xc0\xaf,\x1b[31m,\t\x7f\n", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.r[0].n, 4);
	assert_string_equal(g.r[0].f[0], "\xff\xfe");
	assert_string_equal(g.r[0].f[1], "\xc0\xaf");
	assert_string_equal(g.r[0].f[2], "\x1b[31m");
	assert_string_equal(g.r[0].f[3], "\t\x7f");
	read_s("\xef\xbb\xbf" "file,type\n", &g);
	assert_string_equal(g.r[0].f[0], "\xef\xbb\xbf" "file");
}

static void
test_field_count(void **state)
{
	struct got	 g;

	(void)state;
	assert_int_equal(CSV_FIELDS_MAX, 7);
	read_s("1,2,3,4,5,6,7\n", &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.r[0].n, CSV_FIELDS_MAX);
	assert_string_equal(g.r[0].f[6], "7");
	refused("1,2,3,4,5,6,7,8\n", 16, RP_ERR_TOO_LARGE, "csv_fields", 1,
	    0);
	/* A comma after the last field starts an eighth, empty one. */
	refused("ok\n1,2,3,4,5,6,7,\n", 18, RP_ERR_TOO_LARGE, "csv_fields", 2,
	    1);
	refused(",,,,,,,", 7, RP_ERR_TOO_LARGE, "csv_fields", 1, 0);
}

static void
test_field_length(void **state)
{
	struct got	 g;
	char		 text[2 * CSV_FIELD_MAX + 16];
	size_t		 n, i;

	(void)state;
	/* Exactly CSV_FIELD_MAX bytes, unquoted. */
	memset(text, 'x', CSV_FIELD_MAX);
	read_n(text, CSV_FIELD_MAX, &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(strlen(g.r[0].f[0]), CSV_FIELD_MAX);
	/* One more. */
	memset(text, 'x', CSV_FIELD_MAX + 1);
	text[CSV_FIELD_MAX + 1] = '\n';
	refused(text, CSV_FIELD_MAX + 2, RP_ERR_TOO_LARGE, "csv_field_long",
	    1, 0);

	/* Quoted, every byte a doubled quote: the limit counts bytes read. */
	n = 0;
	text[n++] = '"';
	for (i = 0; i < CSV_FIELD_MAX; i++) {
		text[n++] = '"';
		text[n++] = '"';
	}
	text[n++] = '"';
	read_n(text, n, &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(strlen(g.r[0].f[0]), CSV_FIELD_MAX);
	assert_int_equal(strspn(g.r[0].f[0], "\""), CSV_FIELD_MAX);
	/* One doubled quote more before the closing one. */
	text[n++] = '"';
	text[n++] = '"';
	refused(text, n, RP_ERR_TOO_LARGE, "csv_field_long", 1, 0);
}

/* The longest line the limits allow reads whole; the line end may
 * follow it. */
static void
test_line_max(void **state)
{
	struct got	 g;
	char		*text;
	size_t		 n = 0, i, k;

	(void)state;
	assert_non_null(text = malloc(CSV_LINE_MAX + 8));
	for (k = 0; k < CSV_FIELDS_MAX; k++) {
		if (k > 0)
			text[n++] = ',';
		text[n++] = '"';
		for (i = 0; i < CSV_FIELD_MAX; i++) {
			text[n++] = '"';
			text[n++] = '"';
		}
		text[n++] = '"';
	}
	assert_int_equal(n, CSV_LINE_MAX);
	text[n++] = '\r';
	text[n++] = '\n';
	read_n(text, n, &g);
	assert_int_equal(g.e, RP_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].n, CSV_FIELDS_MAX);
	/* A byte more on that line, but a line end, is refused: here a
	 * comma that starts an eighth field. */
	text[n - 2] = ',';
	refused(text, n - 1, RP_ERR_TOO_LARGE, "csv_fields", 1, 0);
	free(text);
}

static void
test_file_size(void **state)
{
	struct csv		 c;
	struct csv_rec		 r;
	struct rp_errinfo	 ei;
	char			*text;

	(void)state;
	assert_non_null(text = malloc(CSV_FILE_MAX + 1));
	memset(text, '\n', CSV_FILE_MAX + 1);
	text[0] = 'a';
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(csv_init(&c, text, CSV_FILE_MAX, &ei), RP_OK);
	assert_int_equal(csv_next(&c, &r, &ei), RP_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(csv_next(&c, &r, &ei), RP_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(c.line, CSV_FILE_MAX);

	assert_int_equal(csv_init(&c, text, CSV_FILE_MAX + 1, &ei),
	    RP_ERR_TOO_LARGE);
	assert_string_equal(ei.code, "csv_too_large");
	/* A refused text reads as empty. */
	assert_int_equal(csv_next(&c, &r, &ei), RP_OK);
	assert_int_equal(r.n, 0);
	free(text);
}

/* Only text[0..len) is read; an error leaves the reader on its record. */
static void
test_bounds_and_errors(void **state)
{
	struct csv		 c;
	struct csv_rec		 r;
	struct rp_errinfo	 ei;
	char			*p;

	(void)state;
	p = exact("a,b\"", 4);
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(csv_init(&c, p, 3, &ei), RP_OK);
	assert_int_equal(csv_next(&c, &r, &ei), RP_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.f[1], "b");
	free(p);

	p = exact("ok\n\nx\"y\n", 8);
	assert_int_equal(csv_init(&c, p, 8, NULL), RP_OK);
	assert_int_equal(csv_next(&c, &r, NULL), RP_OK);
	assert_int_equal(csv_next(&c, &r, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "csv_quote");
	assert_string_equal(ei.msg, "a quote inside an unquoted field");
	assert_int_equal(c.line, 3);
	assert_int_equal(r.n, 0);
	assert_string_equal(r.f[0], "");
	/* Again: the same error on the same line. */
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(csv_next(&c, &r, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "csv_quote");
	assert_int_equal(c.line, 3);
	free(p);

	/* Also when the error is in a later field of the record. */
	p = exact("a,b\n1,2,3,4,5,6,7,8\n", 20);
	assert_int_equal(csv_init(&c, p, 20, NULL), RP_OK);
	assert_int_equal(csv_next(&c, &r, NULL), RP_OK);
	assert_int_equal(csv_next(&c, &r, &ei), RP_ERR_TOO_LARGE);
	assert_string_equal(ei.code, "csv_fields");
	assert_int_equal(r.n, 0);
	assert_string_equal(r.f[0], "");
	assert_string_equal(r.f[6], "");
	assert_int_equal(csv_next(&c, &r, &ei), RP_ERR_TOO_LARGE);
	assert_string_equal(ei.code, "csv_fields");
	assert_int_equal(c.line, 2);
	free(p);
}

/* One record reused: the fields past n of the next record are empty. */
static void
test_reuse(void **state)
{
	struct csv	 c;
	struct csv_rec	 r;
	char		*p;

	(void)state;
	p = exact("a,b,c\nd\n", 8);
	assert_int_equal(csv_init(&c, p, 8, NULL), RP_OK);
	assert_int_equal(csv_next(&c, &r, NULL), RP_OK);
	assert_int_equal(r.n, 3);
	assert_int_equal(csv_next(&c, &r, NULL), RP_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0], "d");
	assert_string_equal(r.f[1], "");
	assert_string_equal(r.f[2], "");
	assert_int_equal(csv_next(&c, &r, NULL), RP_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.line, 3);
	assert_string_equal(r.f[0], "");
	free(p);
}

/* The messages import-dir prints, word for word. */
static void
test_messages(void **state)
{
	static const struct {
		const char	*text;
		const char	*msg;
	} t[] = {
		{ "a\"", "a quote inside an unquoted field" },
		{ "\"a\"b", "text after a closing quote" },
		{ "\"a", "a quoted field is not closed" },
		{ "\"a\n\"", "a line end inside a quoted field" },
		{ "a\rb", "a CR without LF" },
		{ "1,2,3,4,5,6,7,8", "more than 7 fields" },
	};
	struct got	 g;
	char		 big[CSV_FIELD_MAX + 1];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		read_s(t[i].text, &g);
		assert_int_not_equal(g.e, RP_OK);
		assert_string_equal(g.ei.msg, t[i].msg);
	}
	memset(big, 'x', sizeof(big));
	read_n(big, sizeof(big), &g);
	assert_string_equal(g.ei.msg, "a field longer than 511 bytes");
	read_n("\0", 1, &g);
	assert_string_equal(g.ei.msg, "a NUL byte");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_syntax_refused),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_bytes_passed),
		cmocka_unit_test(test_field_count),
		cmocka_unit_test(test_field_length),
		cmocka_unit_test(test_line_max),
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_bounds_and_errors),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
