/*
 * Unit tests of http_parse.c: percent-decoding, query strings, forms,
 * multipart bodies, JSON bodies, cookies and the Content-Type dispatch.
 */
#include <stdio.h>

#include "unit.h"

#define MP_CT	"multipart/form-data; boundary=XyZ"

/* Shorthands: the parsers on NUL-terminated strings. */
static enum rp_err
urlenc(struct input *in, const char *s, struct rp_errinfo *ei)
{
	return http_parse_urlenc(in, s, strlen(s), ei);
}

static enum rp_err
query(struct input *in, const char *s, struct rp_errinfo *ei)
{
	return http_parse_query(in, s, strlen(s), ei);
}

static enum rp_err
json(struct input *in, const char *s, struct rp_errinfo *ei)
{
	return http_parse_json(in, s, strlen(s), ei);
}

static enum rp_err
mp(struct input *in, const char *ct, const char *s, size_t len,
    struct rp_errinfo *ei)
{
	return http_parse_multipart(in, ct, s, len, ei);
}

static enum rp_err
mps(struct input *in, const char *s, struct rp_errinfo *ei)
{
	return http_parse_multipart(in, MP_CT, s, strlen(s), ei);
}

/* Checks a parser result (and its code, when not NULL); frees in. */
static void
expect(enum rp_err got, enum rp_err want, const struct rp_errinfo *ei,
    const char *code, struct input *in)
{
	if (got != want)
		fail_msg("got %s, want %s (%s: %s)", rp_err_name(got),
		    rp_err_name(want), ei->code ? ei->code : "-", ei->msg);
	if (code != NULL)
		assert_string_equal(ei->code, code);
	input_free(in);
}

static void
test_pct_decode(void **state)
{
	char	 out[64];
	size_t	 n;

	(void)state;
	assert_int_equal(http_pct_decode("a%20b+c%2b%2B", 13, out, &n, 1), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "a b c++", 7);
	assert_int_equal(http_pct_decode("a+b", 3, out, &n, 0), 0);
	assert_memory_equal(out, "a+b", 3);
	assert_int_equal(http_pct_decode("%00%ff%C3%a9", 12, out, &n, 1), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\0\xff\xc3\xa9", 4);
	assert_int_equal(http_pct_decode("", 0, out, &n, 1), 0);
	assert_int_equal(n, 0);
	assert_int_equal(http_pct_decode("%G1", 3, out, &n, 1), -1);
	assert_int_equal(http_pct_decode("%1G", 3, out, &n, 1), -1);
	assert_int_equal(http_pct_decode("ab%", 3, out, &n, 1), -1);
	assert_int_equal(http_pct_decode("ab%4", 3 + 1, out, &n, 1), -1);
	/* The length bounds the input, not a NUL. */
	assert_int_equal(http_pct_decode("%41%", 3, out, &n, 1), 0);
	assert_int_equal(n, 1);
	assert_int_equal(http_pct_decode("%4142", 2, out, &n, 1), -1);
}

static void
test_urlenc_ok(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(urlenc(&in, "action=revoke&serial=01%3AAB+cd"
	    "&note=hello+big%20world%0D%0Abye&&q&passphrase=p%2Bw%25",
	    &ei), RP_OK);
	assert_string_equal(in.f[FIELD_ACTION].val, "revoke");
	assert_string_equal(in.f[FIELD_SERIAL].val, "01:AB cd");
	assert_string_equal(in.f[FIELD_NOTE].val, "hello big world\r\nbye");
	assert_true(in.f[FIELD_Q].set);
	assert_int_equal(in.f[FIELD_Q].len, 0);
	assert_string_equal(in.f[FIELD_PASSPHRASE].val, "p+w%");
	assert_false(in.f[FIELD_REASON].set);
	input_free(&in);

	/* Encoded names; a '=' inside a value. */
	assert_int_equal(urlenc(&in, "%61ction=approve&issuer=CN%3Dx=y", &ei),
	    RP_OK);
	assert_string_equal(in.f[FIELD_ACTION].val, "approve");
	assert_string_equal(in.f[FIELD_ISSUER].val, "CN=x=y");
	input_free(&in);

	/* Empty input, empty pairs only. */
	assert_int_equal(urlenc(&in, "", &ei), RP_OK);
	assert_int_equal(urlenc(&in, "&&&", &ei), RP_OK);
	assert_false(in.f[FIELD_Q].set);
	input_free(&in);
}

static void
test_urlenc_bad_encoding(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	expect(urlenc(&in, "q=%G1", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_encoding", &in);
	expect(urlenc(&in, "q=abc%", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_encoding", &in);
	expect(urlenc(&in, "q=%4", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_encoding", &in);
	expect(urlenc(&in, "q%=x", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_encoding", &in);
	/* Also in the query, also for ignored names. */
	expect(query(&in, "utm_source=%zz", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_encoding", &in);
	expect(query(&in, "x%4=1", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_encoding", &in);
}

static void
test_urlenc_nul_utf8(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	expect(urlenc(&in, "note=a%00b", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_characters", &in);
	expect(urlenc(&in, "q=%00", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_characters", &in);
	expect(urlenc(&in, "q=%0A", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_characters", &in);
	expect(urlenc(&in, "note=%C3%28", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_utf8", &in);
	expect(urlenc(&in, "note=%C0%AF", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_utf8", &in);
	expect(urlenc(&in, "note=%ED%A0%80", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_utf8", &in);
	expect(query(&in, "q=%ED%A0%80", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_utf8", &in);
	/* A binary field takes NUL. */
	assert_int_equal(urlenc(&in, "signature=%30%00%01", &ei), RP_OK);
	assert_int_equal(in.f[FIELD_SIGNATURE].len, 3);
	assert_memory_equal(in.f[FIELD_SIGNATURE].val, "0\0\1", 4);
	input_free(&in);
	/* An ignored query name may hold anything well encoded. */
	assert_int_equal(query(&in, "x%00=%00%ff&q=%C3%A9", &ei), RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "\xc3\xa9");
	input_free(&in);
	/* A name with NUL is no known name. */
	expect(urlenc(&in, "q%00=1", &ei), RP_ERR_BAD_INPUT, &ei,
	    "unknown_field", &in);
}

static void
test_urlenc_limits(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	char			 buf[8192], name[80];
	size_t			 i, n;

	(void)state;
	memset(&in, 0, sizeof(in));

	/* Oversized field. */
	n = (size_t)snprintf(buf, sizeof(buf), "q=");
	memset(buf + n, 'a', 201);
	buf[n + 201] = '\0';
	expect(urlenc(&in, buf, &ei), RP_ERR_BAD_INPUT, &ei,
	    "field_too_long", &in);
	assert_non_null(strstr(ei.msg, "200"));
	buf[n + 200] = '\0';
	assert_int_equal(urlenc(&in, buf, &ei), RP_OK);
	input_free(&in);

	/* Duplicate. */
	expect(urlenc(&in, "q=a&q=b", &ei), RP_ERR_BAD_INPUT, &ei,
	    "duplicate_field", &in);
	expect(urlenc(&in, "q=a&%71=a", &ei), RP_ERR_BAD_INPUT, &ei,
	    "duplicate_field", &in);

	/* Pairs: RP_PAIRS_MAX is fine in a query, one more is not. */
	buf[0] = '\0';
	for (i = n = 0; i < RP_PAIRS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "x%zu=1&", i);
	assert_int_equal(query(&in, buf, &ei), RP_OK);
	input_free(&in);
	(void)snprintf(buf + n, sizeof(buf) - n, "y=2");
	expect(query(&in, buf, &ei), RP_ERR_BAD_INPUT, &ei,
	    "too_many_fields", &in);
	/* In a body the count comes before any name is looked at. */
	buf[0] = '\0';
	for (i = n = 0; i <= RP_PAIRS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "q=1&");
	expect(urlenc(&in, buf, &ei), RP_ERR_BAD_INPUT, &ei,
	    "too_many_fields", &in);
	/* Empty pairs do not count. */
	memset(buf, '&', 200);
	memcpy(buf + 200, "q=1", 4);
	assert_int_equal(urlenc(&in, buf, &ei), RP_OK);
	input_free(&in);

	/* Names. */
	memset(name, 'n', RP_NAME_MAX + 1);
	name[RP_NAME_MAX + 1] = '\0';
	(void)snprintf(buf, sizeof(buf), "%s=1", name);
	expect(query(&in, buf, &ei), RP_ERR_BAD_INPUT, &ei, "bad_name", &in);
	name[RP_NAME_MAX] = '\0';
	(void)snprintf(buf, sizeof(buf), "%s=1", name);
	assert_int_equal(query(&in, buf, &ei), RP_OK);
	expect(urlenc(&in, buf, &ei), RP_ERR_BAD_INPUT, &ei,
	    "unknown_field", &in);

	/* Query length. */
	memset(buf, 'a', RP_QUERY_MAX + 1);
	memcpy(buf, "x=", 2);
	assert_int_equal(http_parse_query(&in, buf, RP_QUERY_MAX, &ei), RP_OK);
	expect(http_parse_query(&in, buf, RP_QUERY_MAX + 1, &ei),
	    RP_ERR_TOO_LARGE, &ei, "query_too_long", &in);

	/* Secrets and uploads never travel in the address. */
	expect(query(&in, "action=suspend&passphrase=hunter2", &ei),
	    RP_ERR_BAD_INPUT, &ei, "field_not_in_query", &in);
	assert_null(strstr(ei.msg, "hunter2"));
	expect(query(&in, "signature=MIIB", &ei), RP_ERR_BAD_INPUT, &ei,
	    "field_not_in_query", &in);
	/* The same fields are fine in a body. */
	assert_int_equal(urlenc(&in, "passphrase=hunter2&signature=MIIB",
	    &ei), RP_OK);
	input_free(&in);
}

static void
test_unknown_fields(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(query(&in, "utm_source=mail&q=abc&fbclid", &ei),
	    RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "abc");
	input_free(&in);
	expect(urlenc(&in, "q=abc&utm_source=mail", &ei), RP_ERR_BAD_INPUT,
	    &ei, "unknown_field", &in);
	assert_non_null(strstr(ei.msg, "utm_source"));
	/* Names that are not short printable ASCII stay out of messages. */
	expect(urlenc(&in, "%3Cscript%3E%0A=1", &ei), RP_ERR_BAD_INPUT, &ei,
	    "unknown_field", &in);
	assert_null(strstr(ei.msg, "script"));
	expect(urlenc(&in, "=1", &ei), RP_ERR_BAD_INPUT, &ei,
	    "unknown_field", &in);
	/* Case matters. */
	expect(urlenc(&in, "Q=1", &ei), RP_ERR_BAD_INPUT, &ei,
	    "unknown_field", &in);
	/* A known name in a query is validated. */
	expect(query(&in, "action=destroy", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_value", &in);
}

static void
test_secret_not_echoed(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	expect(urlenc(&in, "passphrase=Hunter2%01", &ei), RP_ERR_BAD_INPUT,
	    &ei, "invalid_characters", &in);
	assert_null(strstr(ei.msg, "Hunter2"));
	expect(json(&in, "{\"passphrase\":\"Hunter2\\u0007\"}", &ei),
	    RP_ERR_BAD_INPUT, &ei, "invalid_characters", &in);
	assert_null(strstr(ei.msg, "Hunter2"));
	/* jansson's own error text would quote the input: not used. */
	expect(json(&in, "{\"passphrase\":Hunter2}", &ei), RP_ERR_BAD_INPUT,
	    &ei, "bad_json", &in);
	assert_null(strstr(ei.msg, "Hunter2"));
	assert_null(strstr(ei.msg, "Hunt"));
}

/* A browser-like multipart body with a binary file part. */
static const char mp_ok[] =
    "preamble to ignore\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"action\"\r\n"
    "\r\n"
    "revoke\r\n"
    "--XyZ\r\n"
    "content-disposition: Form-Data; NAME=\"signature\"; "
    "filename=\"sig.p7s\"\r\n"
    "Content-Type: application/pkcs7-signature\r\n"
    "\r\n"
    "\x30\x80\x00\r\n--X\r\n\x00\xff\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=note\r\n"
    "\r\n"
    "two\r\nlines\r\n"
    "--XyZ--\r\n"
    "epilogue --XyZ junk\r\n";

static void
test_multipart_ok(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	static const char	 sig[] = "\x30\x80\x00\r\n--X\r\n\x00\xff";
	static const char	 mp_q[] = "--a'()+_,-./:=? z\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\n"
	    "x\r\n--a'()+_,-./:=? z--";

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(mp(&in, MP_CT, mp_ok, sizeof(mp_ok) - 1, &ei), RP_OK);
	assert_string_equal(in.f[FIELD_ACTION].val, "revoke");
	assert_null(in.f[FIELD_ACTION].filename);
	assert_int_equal(in.f[FIELD_SIGNATURE].len, sizeof(sig) - 1);
	assert_memory_equal(in.f[FIELD_SIGNATURE].val, sig, sizeof(sig));
	assert_string_equal(in.f[FIELD_SIGNATURE].filename, "sig.p7s");
	assert_string_equal(in.f[FIELD_NOTE].val, "two\r\nlines");
	input_free(&in);

	/* Quoted boundary with bchars and a space; other parameters. */
	assert_int_equal(mp(&in,
	    "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a'()+_,-./:=? z\"",
	    mp_q, strlen(mp_q), &ei), RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "x");
	input_free(&in);

	/* Empty content. */
	assert_int_equal(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n"
	    "\r\n\r\n--XyZ--", &ei), RP_OK);
	assert_int_equal(in.f[FIELD_Q].len, 0);
	assert_null(in.f[FIELD_Q].filename);
	input_free(&in);

	/* A text field sent as a file (even with an empty name). */
	assert_int_equal(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"; filename=\"\"\r\n"
	    "\r\n\r\n--XyZ--", &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "unexpected_file");
	input_free(&in);
}

static void
test_multipart_boundary(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	static const char	 body[] = "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZ--";
	char			 ct[200], mb[400], b70[72];

	(void)state;
	memset(&in, 0, sizeof(in));
	expect(mps(&in, body, &ei), RP_OK, &ei, NULL, &in);
	expect(mp(&in, "multipart/form-data", body, strlen(body), &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, NULL, body, strlen(body), &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, "multipart/form-data; charset=utf-8", body,
	    strlen(body), &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, "multipart/form-data; boundary=", body, strlen(body),
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, "multipart/form-data; boundary=\"\"", body,
	    strlen(body), &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, "multipart/form-data; boundary=\"XyZ", body,
	    strlen(body), &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, "multipart/form-data; boundary=\"XyZ \"", body,
	    strlen(body), &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, "multipart/form-data; boundary=Xy<Z", body,
	    strlen(body), &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(mp(&in, "multipart/form-data; boundary=XyZ; boundary=XyZ",
	    body, strlen(body), &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary",
	    &in);
	expect(mp(&in, "multipart/form-data; boundary=XyZ junk", body,
	    strlen(body), &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	/* Token form, tolerant spacing. */
	expect(mp(&in, "multipart/form-data;boundary=XyZ ;", body,
	    strlen(body), &ei), RP_OK, &ei, NULL, &in);
	/* 70 is the longest. */
	memset(b70, 'b', 70);
	b70[70] = '\0';
	(void)snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s",
	    b70);
	(void)snprintf(mb, sizeof(mb), "--%s\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--%s--",
	    b70, b70);
	expect(mp(&in, ct, mb, strlen(mb), &ei), RP_OK, &ei, NULL, &in);
	(void)snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%sb",
	    b70);
	expect(mp(&in, ct, mb, strlen(mb), &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_boundary", &in);
	(void)snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%sb\"",
	    b70);
	expect(mp(&in, ct, mb, strlen(mb), &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_boundary", &in);
}

static void
test_multipart_bad(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	/* Truncated: no closing delimiter, half a delimiter, no "--". */
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx", &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--Xy",
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZ",
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZ-",
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n", &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_multipart", &in);
	expect(mps(&in, "--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_multipart", &in);
	expect(mps(&in, "no delimiter at all", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_multipart", &in);
	expect(mp(&in, MP_CT, NULL, 0, &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_multipart", &in);
	/* A delimiter followed by neither CRLF nor "--". */
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZZ\r\n",
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	/* Part without a name, without a disposition, not form-data. */
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data\r\n\r\nx\r\n--XyZ--", &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n"
	    "--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Type: text/plain\r\n\r\nx\r\n--XyZ--", &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n\r\nx\r\n--XyZ--", &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: attachment; name=\"q\"\r\n\r\nx\r\n--XyZ--",
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	/* Bad header lines. */
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\nX: y\r\n\r\nx\r\n"
	    "--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\nno colon\r\n\r\n"
	    "x\r\n--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n folded\r\n\r\n"
	    "x\r\n--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\r\n\r\nx\r\n--XyZ--",
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"; name=\"n\"\r\n\r\n"
	    "x\r\n--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n"
	    "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
	    "x\r\n--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei, "bad_multipart", &in);
	/* Unknown and duplicate names; a value failing its field. */
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"upload\"\r\n\r\n"
	    "x\r\n--XyZ--", &ei), RP_ERR_BAD_INPUT, &ei, "unknown_field", &in);
	assert_non_null(strstr(ei.msg, "upload"));
	expect(mps(&in, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\ny\r\n--XyZ--",
	    &ei), RP_ERR_BAD_INPUT, &ei, "duplicate_field", &in);
}

static void
test_multipart_nul_text(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	static const char	 body[] = "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nx\0y\r\n--XyZ--";

	(void)state;
	memset(&in, 0, sizeof(in));
	expect(mp(&in, MP_CT, body, sizeof(body) - 1, &ei), RP_ERR_BAD_INPUT,
	    &ei, "invalid_characters", &in);
}

static void
test_multipart_limits(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	char			 buf[4096];
	size_t			 i, n;

	(void)state;
	memset(&in, 0, sizeof(in));

	/* Part headers: just at the limit, then one byte over. */
	n = (size_t)snprintf(buf, sizeof(buf), "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\nX-Pad: ");
	i = RP_PART_HEAD_MAX - (n - 7) - 2;
	memset(buf + n, 'p', i);
	n += i;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	    "\r\n\r\nv\r\n--XyZ--");
	expect(mp(&in, MP_CT, buf, n, &ei), RP_OK, &ei, NULL, &in);
	n = (size_t)snprintf(buf, sizeof(buf), "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\nX-Pad: ");
	memset(buf + n, 'p', i + 1);
	n += i + 1;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	    "\r\n\r\nv\r\n--XyZ--");
	expect(mp(&in, MP_CT, buf, n, &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_multipart", &in);
	/* Headers that never end. */
	n = (size_t)snprintf(buf, sizeof(buf), "--XyZ\r\n");
	memset(buf + n, 'h', 3000);
	n += 3000;
	expect(mp(&in, MP_CT, buf, n, &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_multipart", &in);

	/* Parts: RP_PARTS_MAX, then one more, counted before names. */
	n = 0;
	for (i = 0; i < RP_PARTS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "--XyZ\r\n"
		    "Content-Disposition: form-data; name=\"q\"\r\n\r\n\r\n");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "--XyZ--");
	expect(mp(&in, MP_CT, buf, n, &ei), RP_ERR_BAD_INPUT, &ei,
	    "duplicate_field", &in);
	n -= 2;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\n\r\n--XyZ--");
	expect(mp(&in, MP_CT, buf, n, &ei), RP_ERR_BAD_INPUT, &ei,
	    "too_many_fields", &in);

	/* A name longer than RP_NAME_MAX. */
	n = (size_t)snprintf(buf, sizeof(buf), "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"");
	memset(buf + n, 'n', RP_NAME_MAX + 1);
	n += RP_NAME_MAX + 1;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	    "\"\r\n\r\nv\r\n--XyZ--");
	expect(mp(&in, MP_CT, buf, n, &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_name", &in);

	/* An oversized value. */
	n = (size_t)snprintf(buf, sizeof(buf), "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\n");
	memset(buf + n, 'v', 201);
	n += 201;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n--XyZ--");
	expect(mp(&in, MP_CT, buf, n, &ei), RP_ERR_BAD_INPUT, &ei,
	    "field_too_long", &in);
}

static void
test_json_ok(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(json(&in, " {\"action\": \"suspend\", "
	    "\"serial\": \"0A:1b\", \"note\": \"a\\nb \\u00e9\", "
	    "\"reason\": \"keyCompromise\"} ", &ei), RP_OK);
	assert_string_equal(in.f[FIELD_ACTION].val, "suspend");
	assert_string_equal(in.f[FIELD_SERIAL].val, "0A:1b");
	assert_string_equal(in.f[FIELD_NOTE].val, "a\nb \xc3\xa9");
	assert_string_equal(in.f[FIELD_REASON].val, "keyCompromise");
	input_free(&in);
	assert_int_equal(json(&in, "{}", &ei), RP_OK);
	input_free(&in);
}

static void
test_json_bad(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	char			 buf[4096];
	size_t			 i, n;

	(void)state;
	memset(&in, 0, sizeof(in));
	expect(json(&in, "[\"q\"]", &ei), RP_ERR_BAD_INPUT, &ei, "bad_json",
	    &in);
	expect(json(&in, "\"q\"", &ei), RP_ERR_BAD_INPUT, &ei, "bad_json",
	    &in);
	expect(json(&in, "42", &ei), RP_ERR_BAD_INPUT, &ei, "bad_json", &in);
	expect(json(&in, "{\"q\": 1}", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_type", &in);
	expect(json(&in, "{\"q\": null}", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_type", &in);
	expect(json(&in, "{\"q\": [\"a\"]}", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_type", &in);
	expect(json(&in, "{\"q\": {\"a\": \"b\"}}", &ei), RP_ERR_BAD_INPUT,
	    &ei, "bad_type", &in);
	expect(json(&in, "{\"q\": \"a\", \"extra\": \"b\"}", &ei),
	    RP_ERR_BAD_INPUT, &ei, "unknown_field", &in);
	assert_non_null(strstr(ei.msg, "extra"));
	expect(json(&in, "{\"q\": \"a\", \"q\": \"b\"}", &ei),
	    RP_ERR_BAD_INPUT, &ei, "duplicate_field", &in);
	expect(json(&in, "{\"q\": \"a\",}", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_json", &in);
	expect(json(&in, "{\"q\": \"a\"", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_json", &in);
	expect(json(&in, "{\"q\": \"a\"} {}", &ei), RP_ERR_BAD_INPUT, &ei,
	    "bad_json", &in);
	expect(json(&in, "", &ei), RP_ERR_BAD_INPUT, &ei, "bad_json", &in);
	expect(json(&in, "{\"q\": \"a\\u0000b\"}", &ei), RP_ERR_BAD_INPUT,
	    &ei, "bad_json", &in);
	expect(json(&in, "{\"q\\u0000\": \"a\"}", &ei), RP_ERR_BAD_INPUT,
	    &ei, "bad_json", &in);
	expect(http_parse_json(&in, "{\"q\": \"a\0\"}", 11, &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_json", &in);
	expect(json(&in, "{\"q\": \"\xc3\x28\"}", &ei), RP_ERR_BAD_INPUT,
	    &ei, "bad_json", &in);
	expect(json(&in, "{\"q\": \"\\ud800\"}", &ei), RP_ERR_BAD_INPUT,
	    &ei, "bad_json", &in);
	/* Validation still applies after decoding. */
	expect(json(&in, "{\"q\": \"a\\nb\"}", &ei), RP_ERR_BAD_INPUT, &ei,
	    "invalid_characters", &in);
	expect(json(&in, "{\"action\": \"destroy\"}", &ei), RP_ERR_BAD_INPUT,
	    &ei, "invalid_value", &in);
	/* Members: RP_PAIRS_MAX + 1. */
	n = (size_t)snprintf(buf, sizeof(buf), "{");
	for (i = 0; i <= RP_PAIRS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "%s\"k%zu\": \"v\"", i ? "," : "", i);
	(void)snprintf(buf + n, sizeof(buf) - n, "}");
	expect(json(&in, buf, &ei), RP_ERR_BAD_INPUT, &ei, "too_many_fields",
	    &in);
}

static void
test_cookies(void **state)
{
	struct input	 in;
	char		 buf[RP_COOKIE_MAX + 64];
	const char	*s;

	(void)state;
	memset(&in, 0, sizeof(in));
	s = "a=b; __Host-rp_csrf=AbC_-123; c=d";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_string_equal(in.cookie[COOKIE_CSRF], "AbC_-123");
	input_free(&in);
	s = "a=b;__Host-rp_csrf=xyz;c=d";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_string_equal(in.cookie[COOKIE_CSRF], "xyz");
	input_free(&in);
	s = "__Host-rp_csrf=\"quoted\"  ";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_string_equal(in.cookie[COOKIE_CSRF], "quoted");
	input_free(&in);
	/* Malformed pairs around a good one are skipped. */
	s = "junk; =x; ;; a b=c; __Host-rp_csrf=ok; \x01=\x02";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_string_equal(in.cookie[COOKIE_CSRF], "ok");
	input_free(&in);
	/* The length bounds the header. */
	s = "__Host-rp_csrf=abcdef";
	assert_int_equal(http_parse_cookies(&in, s, 18), RP_OK);
	assert_string_equal(in.cookie[COOKIE_CSRF], "abc");
	input_free(&in);

	/* Unknown only, other case, prefix: nothing. */
	s = "rp_csrf=x; __host-rp_csrf=y; __Host-rp_csrfX=z";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	/* Twice, even with the same value: ambiguous, dropped. */
	s = "__Host-rp_csrf=a; __Host-rp_csrf=a";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	s = "__Host-rp_csrf=a; __Host-rp_csrf=b\\c";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	/* Malformed or empty values. */
	s = "__Host-rp_csrf=a,b";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	s = "__Host-rp_csrf=a b";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	s = "__Host-rp_csrf=";
	assert_int_equal(http_parse_cookies(&in, s, strlen(s)), RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	assert_int_equal(http_parse_cookies(&in, "__Host-rp_csrf=a\0b", 18),
	    RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	assert_int_equal(http_parse_cookies(&in, NULL, 0), RP_OK);
	assert_int_equal(http_parse_cookies(&in, "", 0), RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);

	/* Oversized header: nothing kept, at the limit: kept. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "__Host-rp_csrf=good; p=", 23);
	assert_int_equal(http_parse_cookies(&in, buf, RP_COOKIE_MAX + 1),
	    RP_OK);
	assert_null(in.cookie[COOKIE_CSRF]);
	assert_int_equal(http_parse_cookies(&in, buf, RP_COOKIE_MAX), RP_OK);
	assert_string_equal(in.cookie[COOKIE_CSRF], "good");
	input_free(&in);
}

static void
test_body_dispatch(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	static const char	 form[] = "q=form";
	static const char	 js[] = "{\"q\": \"json\"}";
	static const char	 mpb[] = "--b\r\n"
	    "Content-Disposition: form-data; name=\"q\"\r\n\r\nmp\r\n--b--";

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(http_parse_body(&in,
	    "application/x-www-form-urlencoded", form, 6, &ei), RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "form");
	input_free(&in);
	assert_int_equal(http_parse_body(&in,
	    " Application/X-WWW-Form-URLEncoded ; charset=UTF-8", form, 6,
	    &ei), RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "form");
	input_free(&in);
	assert_int_equal(http_parse_body(&in, "application/json", js,
	    strlen(js), &ei), RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "json");
	input_free(&in);
	assert_int_equal(http_parse_body(&in, "APPLICATION/JSON;charset=utf-8",
	    js, strlen(js), &ei), RP_OK);
	input_free(&in);
	assert_int_equal(http_parse_body(&in, "multipart/form-data; boundary=b",
	    mpb, strlen(mpb), &ei), RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "mp");
	input_free(&in);

	/* Empty bodies are fine with any type or none. */
	assert_int_equal(http_parse_body(&in, NULL, NULL, 0, &ei), RP_OK);
	assert_int_equal(http_parse_body(&in, "image/png", "", 0, &ei), RP_OK);
	assert_false(in.f[FIELD_Q].set);

	/* 415. */
	expect(http_parse_body(&in, NULL, form, 6, &ei), RP_ERR_MEDIA, &ei,
	    "unsupported_media_type", &in);
	expect(http_parse_body(&in, "", form, 6, &ei), RP_ERR_MEDIA, &ei,
	    "unsupported_media_type", &in);
	expect(http_parse_body(&in, "text/plain", form, 6, &ei), RP_ERR_MEDIA,
	    &ei, "unsupported_media_type", &in);
	expect(http_parse_body(&in, "application/jsonx", js, strlen(js), &ei),
	    RP_ERR_MEDIA, &ei, "unsupported_media_type", &in);
	expect(http_parse_body(&in, "application/json junk", js, strlen(js),
	    &ei), RP_ERR_MEDIA, &ei, "unsupported_media_type", &in);
	expect(http_parse_body(&in, "application/x-www-form-urlencode", form,
	    6, &ei), RP_ERR_MEDIA, &ei, "unsupported_media_type", &in);
	expect(http_parse_body(&in, "multipart/mixed; boundary=b", mpb,
	    strlen(mpb), &ei), RP_ERR_MEDIA, &ei, "unsupported_media_type",
	    &in);
	/* Parser errors come through. */
	expect(http_parse_body(&in, "multipart/form-data", mpb, strlen(mpb),
	    &ei), RP_ERR_BAD_INPUT, &ei, "bad_boundary", &in);
	expect(http_parse_body(&in, "application/json", form, 6, &ei),
	    RP_ERR_BAD_INPUT, &ei, "bad_json", &in);
	expect(http_parse_body(&in, "application/x-www-form-urlencoded", js,
	    strlen(js), &ei), RP_ERR_BAD_INPUT, &ei, "unknown_field", &in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_urlenc_ok),
		cmocka_unit_test(test_urlenc_bad_encoding),
		cmocka_unit_test(test_urlenc_nul_utf8),
		cmocka_unit_test(test_urlenc_limits),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_secret_not_echoed),
		cmocka_unit_test(test_multipart_ok),
		cmocka_unit_test(test_multipart_boundary),
		cmocka_unit_test(test_multipart_bad),
		cmocka_unit_test(test_multipart_nul_text),
		cmocka_unit_test(test_multipart_limits),
		cmocka_unit_test(test_json_ok),
		cmocka_unit_test(test_json_bad),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_body_dispatch),
	};

	return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}
