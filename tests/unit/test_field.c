/*
 * Unit tests of field.c: the field table, the generic checks of
 * field_set() and every field's validator.
 */
#include "unit.h"

/* Sets field f to the NUL-terminated s in a fresh input; returns the result. */
static enum rp_err
set1(enum field f, const char *s, struct rp_errinfo *ei)
{
	struct input	 in;
	enum rp_err	 e;

	memset(&in, 0, sizeof(in));
	e = field_set(&in, f, s, strlen(s), NULL, ei);
	if (e == RP_OK) {
		assert_true(in.f[f].set);
		assert_int_equal(in.f[f].len, strlen(s));
		assert_memory_equal(in.f[f].val, s, strlen(s) + 1);
		assert_null(in.f[f].filename);
	} else
		assert_false(in.f[f].set);
	input_free(&in);
	return e;
}

static void
ok(enum field f, const char *s)
{
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (set1(f, s, &ei) != RP_OK)
		fail_msg("field %s refused \"%s\": %s", fields[f].name, s,
		    ei.msg);
	/* The validator alone agrees. */
	if (fields[f].valid != NULL)
		assert_true(fields[f].valid(s, strlen(s)));
}

static void
bad(enum field f, const char *s, const char *code)
{
	struct rp_errinfo	 ei;

	memset(&ei, 0, sizeof(ei));
	if (set1(f, s, &ei) != RP_ERR_BAD_INPUT)
		fail_msg("field %s accepted \"%s\"", fields[f].name, s);
	assert_string_equal(ei.code, code);
	assert_non_null(strstr(ei.msg, fields[f].name));
}

static void
test_table(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < FIELD__MAX; i++) {
		assert_non_null(fields[i].name);
		assert_true(fields[i].max > 0);
		assert_int_equal(field_lookup(fields[i].name,
		    strlen(fields[i].name)), i);
	}
	assert_int_equal(fields[FIELD_CSRF].max, CSRF_TOKEN_MAX);
	assert_int_equal(fields[FIELD_SIGNATURE].max, 64 * 1024);
	assert_true(fields[FIELD_PASSPHRASE].flags & FIELDF_SECRET);
	assert_true(fields[FIELD_SIGNATURE].flags & FIELDF_BINARY);
	assert_true(fields[FIELD_NOTE].flags & FIELDF_MULTILINE);
	assert_false(fields[FIELD_Q].flags & FIELDF_MULTILINE);
	assert_string_equal(cookie_names[COOKIE_CSRF], "__Host-rp_csrf");
}

static void
test_lookup(void **state)
{
	(void)state;
	assert_int_equal(field_lookup("serial", 6), FIELD_SERIAL);
	assert_int_equal(field_lookup("csrf_token", 10), FIELD_CSRF);
	assert_int_equal(field_lookup("q", 1), FIELD_Q);
	/* Length is taken from the argument, not from a NUL. */
	assert_int_equal(field_lookup("serialX", 6), FIELD_SERIAL);
	assert_int_equal(field_lookup("serial", 5), FIELD__MAX);
	assert_int_equal(field_lookup("Serial", 6), FIELD__MAX);
	assert_int_equal(field_lookup("SERIAL", 6), FIELD__MAX);
	assert_int_equal(field_lookup("serial\0", 7), FIELD__MAX);
	assert_int_equal(field_lookup("", 0), FIELD__MAX);
	assert_int_equal(field_lookup("csrf", 4), FIELD__MAX);
	assert_int_equal(field_lookup(NULL, 0), FIELD__MAX);
}

static void
test_action(void **state)
{
	(void)state;
	ok(FIELD_ACTION, "revoke");
	ok(FIELD_ACTION, "suspend");
	ok(FIELD_ACTION, "reactivate");
	ok(FIELD_ACTION, "recover");
	ok(FIELD_ACTION, "approve");
	bad(FIELD_ACTION, "", "invalid_value");
	bad(FIELD_ACTION, "Revoke", "invalid_value");
	bad(FIELD_ACTION, "revoke ", "invalid_value");
	bad(FIELD_ACTION, "revok", "invalid_value");
	bad(FIELD_ACTION, "delete", "invalid_value");
	bad(FIELD_ACTION, "revokerevokerevoke", "field_too_long");
}

static void
test_serial(void **state)
{
	char	 buf[200];

	(void)state;
	ok(FIELD_SERIAL, "0");
	ok(FIELD_SERIAL, "01ab:CD:ef");
	ok(FIELD_SERIAL, "01 AB cd");
	ok(FIELD_SERIAL, ":0a:");
	bad(FIELD_SERIAL, "", "invalid_value");
	bad(FIELD_SERIAL, ":: ", "invalid_value");
	bad(FIELD_SERIAL, "0x1f", "invalid_value");
	bad(FIELD_SERIAL, "12g4", "invalid_value");
	bad(FIELD_SERIAL, "12-34", "invalid_value");
	bad(FIELD_SERIAL, "12\t34", "invalid_value");
	memset(buf, 'a', 128);
	buf[128] = '\0';
	ok(FIELD_SERIAL, buf);
	buf[128] = 'a';
	buf[129] = '\0';
	bad(FIELD_SERIAL, buf, "field_too_long");
}

static void
test_token(void **state)
{
	char	 buf[80];

	(void)state;
	ok(FIELD_TOKEN, "a");
	ok(FIELD_TOKEN, "My Token-1_x.y:z");
	bad(FIELD_TOKEN, "", "invalid_value");
	bad(FIELD_TOKEN, "tok/en", "invalid_value");
	bad(FIELD_TOKEN, "tok<en>", "invalid_value");
	bad(FIELD_TOKEN, "caf\xc3\xa9", "invalid_value");
	bad(FIELD_TOKEN, "a\tb", "invalid_value");
	memset(buf, 'x', 64);
	buf[64] = '\0';
	ok(FIELD_TOKEN, buf);
	buf[64] = 'x';
	buf[65] = '\0';
	bad(FIELD_TOKEN, buf, "field_too_long");
}

static void
test_reason(void **state)
{
	(void)state;
	ok(FIELD_REASON, "unspecified");
	ok(FIELD_REASON, "keyCompromise");
	ok(FIELD_REASON, "affiliationChanged");
	ok(FIELD_REASON, "superseded");
	ok(FIELD_REASON, "cessationOfOperation");
	ok(FIELD_REASON, "privilegeWithdrawn");
	bad(FIELD_REASON, "", "invalid_value");
	bad(FIELD_REASON, "keycompromise", "invalid_value");
	bad(FIELD_REASON, "cACompromise", "invalid_value");
	bad(FIELD_REASON, "removeFromCRL", "invalid_value");
	bad(FIELD_REASON, "superseded\t", "invalid_value");
}

static void
test_ids(void **state)
{
	(void)state;
	ok(FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAAA");
	ok(FIELD_REQUEST_ID, "abcXYZ019_-abcXYZ019_-");
	ok(FIELD_CHALLENGE_ID, "abcXYZ019_-abcXYZ019_-");
	bad(FIELD_REQUEST_ID, "", "invalid_value");
	bad(FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAA", "invalid_value");
	bad(FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAAAA", "field_too_long");
	bad(FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAA+", "invalid_value");
	bad(FIELD_REQUEST_ID, "AAAAAAAAAAAAAAAAAAAAA=", "invalid_value");
	bad(FIELD_CHALLENGE_ID, "AAAAAAAAAA/AAAAAAAAAAA", "invalid_value");
	bad(FIELD_CHALLENGE_ID, "AAAAAAAAAA AAAAAAAAAAA", "invalid_value");
}

static void
test_csrf(void **state)
{
	char	 buf[80];

	(void)state;
	ok(FIELD_CSRF, "AAAAAAAAAAE_-xyz09");
	bad(FIELD_CSRF, "", "invalid_value");
	bad(FIELD_CSRF, "abc+def", "invalid_value");
	bad(FIELD_CSRF, "abc=", "invalid_value");
	bad(FIELD_CSRF, "abc def", "invalid_value");
	memset(buf, 'A', CSRF_TOKEN_MAX);
	buf[CSRF_TOKEN_MAX] = '\0';
	ok(FIELD_CSRF, buf);
	buf[CSRF_TOKEN_MAX] = 'A';
	buf[CSRF_TOKEN_MAX + 1] = '\0';
	bad(FIELD_CSRF, buf, "field_too_long");
}

static void
test_text_fields(void **state)
{
	char	 buf[2100];

	(void)state;
	ok(FIELD_PASSPHRASE, "correct horse \xc3\xa9 battery\t!");
	ok(FIELD_PASSPHRASE, "");
	ok(FIELD_ISSUER, "CN=Test CA,O=Example,C=DE");
	ok(FIELD_ISSUER, "CN=M\xc3\xbcller \xe2\x82\xac");
	ok(FIELD_Q, "search words");
	ok(FIELD_Q, "");
	ok(FIELD_NOTE, "line one\r\nline two\n\ttabbed");
	bad(FIELD_Q, "two\nlines", "invalid_characters");
	bad(FIELD_ISSUER, "CN=a\rO=b", "invalid_characters");
	bad(FIELD_PASSPHRASE, "pass\nword", "invalid_characters");
	bad(FIELD_NOTE, "bell\a", "invalid_characters");
	bad(FIELD_NOTE, "del\x7f", "invalid_characters");
	bad(FIELD_NOTE, "esc\x1b[31m", "invalid_characters");
	memset(buf, 'n', 2000);
	buf[2000] = '\0';
	ok(FIELD_NOTE, buf);
	buf[2000] = 'n';
	buf[2001] = '\0';
	bad(FIELD_NOTE, buf, "field_too_long");
	memset(buf, 'q', 201);
	buf[201] = '\0';
	bad(FIELD_Q, buf, "field_too_long");
	buf[200] = '\0';
	ok(FIELD_Q, buf);
	memset(buf, 'i', 513);
	buf[513] = '\0';
	bad(FIELD_ISSUER, buf, "field_too_long");
	buf[512] = '\0';
	ok(FIELD_ISSUER, buf);
	memset(buf, 'p', 257);
	buf[257] = '\0';
	bad(FIELD_PASSPHRASE, buf, "field_too_long");
	buf[256] = '\0';
	ok(FIELD_PASSPHRASE, buf);
}

static void
test_utf8(void **state)
{
	(void)state;
	ok(FIELD_NOTE, "\xf0\x9f\x94\x91 key");
	bad(FIELD_NOTE, "\xc3\x28", "invalid_utf8");
	bad(FIELD_NOTE, "\xc0\xaf", "invalid_utf8");
	bad(FIELD_NOTE, "\xed\xa0\x80", "invalid_utf8");
	bad(FIELD_NOTE, "\xf4\x90\x80\x80", "invalid_utf8");
	bad(FIELD_NOTE, "trunc\xe2\x82", "invalid_utf8");
	bad(FIELD_ISSUER, "CN=\xff", "invalid_utf8");
}

static void
test_nul(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	static const char	 der[] = "\x30\x03\x02\x01\x00";

	(void)state;
	memset(&in, 0, sizeof(in));
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(field_set(&in, FIELD_NOTE, "a\0b", 3, NULL, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "invalid_characters");
	assert_int_equal(field_set(&in, FIELD_Q, "\0", 1, NULL, &ei),
	    RP_ERR_BAD_INPUT);
	assert_int_equal(field_set(&in, FIELD_PASSPHRASE, "pw\0", 3, NULL,
	    &ei), RP_ERR_BAD_INPUT);
	/* A binary field holds NUL bytes, and keeps its length. */
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, der, 5, "s.p7s",
	    &ei), RP_OK);
	assert_int_equal(in.f[FIELD_SIGNATURE].len, 5);
	assert_memory_equal(in.f[FIELD_SIGNATURE].val, der, 6);
	assert_string_equal(in.f[FIELD_SIGNATURE].filename, "s.p7s");
	assert_false(in.f[FIELD_NOTE].set);
	input_free(&in);
}

static void
test_signature(void **state)
{
	(void)state;
	ok(FIELD_SIGNATURE, "MIIBsQYJKoZIhvcNAQcCoIIBojCCAZ4CAQEx");
	ok(FIELD_SIGNATURE, "MIIB\r\nsQYJ\nKoZI==");
	ok(FIELD_SIGNATURE, "QQ==");
	ok(FIELD_SIGNATURE, "\x30\x82\x01\xff garbage is sig.c's job");
	bad(FIELD_SIGNATURE, "", "invalid_value");
	bad(FIELD_SIGNATURE, "  \r\n", "invalid_value");
	bad(FIELD_SIGNATURE, "====", "invalid_value");
	bad(FIELD_SIGNATURE, "QQ===", "invalid_value");
	bad(FIELD_SIGNATURE, "QQ==QQ", "invalid_value");
	bad(FIELD_SIGNATURE, "abc_def", "invalid_value");
	bad(FIELD_SIGNATURE, "-----BEGIN PKCS7-----", "invalid_value");
	bad(FIELD_SIGNATURE, "\x31\x82", "invalid_value");
}

static void
test_signature_size(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	char			*big;

	(void)state;
	big = malloc(64 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'A', 64 * 1024 + 1);
	memset(&in, 0, sizeof(in));
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, big, 64 * 1024 + 1,
	    NULL, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "field_too_long");
	assert_non_null(strstr(ei.msg, "65536"));
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, big, 64 * 1024,
	    NULL, &ei), RP_OK);
	input_free(&in);
	free(big);
}

static void
test_duplicate(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(field_set(&in, FIELD_ACTION, "revoke", 6, NULL, &ei),
	    RP_OK);
	assert_int_equal(field_set(&in, FIELD_ACTION, "revoke", 6, NULL, &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "duplicate_field");
	assert_non_null(strstr(ei.msg, "action"));
	/* The first value stays. */
	assert_string_equal(in.f[FIELD_ACTION].val, "revoke");
	assert_int_equal(field_set(&in, FIELD_ACTION, "suspend", 7, NULL,
	    &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(in.f[FIELD_ACTION].val, "revoke");
	input_free(&in);
}

static void
test_secret_not_echoed(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	char			 big[300];
	static const char	 pw[] = "Sup3rSecretPW\x01";

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(field_set(&in, FIELD_PASSPHRASE, pw, strlen(pw),
	    NULL, &ei), RP_ERR_BAD_INPUT);
	assert_null(strstr(ei.msg, "Sup3rSecret"));
	assert_non_null(strstr(ei.msg, "passphrase"));
	memset(big, 'Z', sizeof(big));
	memcpy(big, "Sup3rSecret", 11);
	assert_int_equal(field_set(&in, FIELD_PASSPHRASE, big, sizeof(big),
	    NULL, &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "field_too_long");
	assert_null(strstr(ei.msg, "Sup3rSecret"));
	assert_null(strstr(ei.msg, "ZZZ"));
	/* Nor is any other value echoed. */
	assert_int_equal(field_set(&in, FIELD_ACTION, "evil<script>", 12,
	    NULL, &ei), RP_ERR_BAD_INPUT);
	assert_null(strstr(ei.msg, "evil"));
	assert_false(in.f[FIELD_PASSPHRASE].set);
	input_free(&in);
}

static void
test_filename(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	char			 name[300];
	static const char	 der[] = "\x30\x00";

	(void)state;
	memset(&in, 0, sizeof(in));
	/* Only binary fields come as files. */
	assert_int_equal(field_set(&in, FIELD_NOTE, "x", 1, "n.txt", &ei),
	    RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "unexpected_file");
	assert_int_equal(field_set(&in, FIELD_PASSPHRASE, "x", 1, "p.txt",
	    &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "unexpected_file");
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, der, 2, "a\nb.p7s",
	    &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "invalid_filename");
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, der, 2, "\xc0\xaf",
	    &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "invalid_filename");
	/* A right-to-left override disguising the extension. */
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, der, 2,
	    "sig\xe2\x80\xaetxt.p7s", &ei), RP_ERR_BAD_INPUT);
	assert_string_equal(ei.code, "invalid_filename");
	memset(name, 'f', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, der, 2, name, &ei),
	    RP_ERR_BAD_INPUT);
	assert_false(in.f[FIELD_SIGNATURE].set);
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, der, 2,
	    "C:\\Users\\me\\n\xc3\xb6te.p7s", &ei), RP_OK);
	assert_string_equal(in.f[FIELD_SIGNATURE].filename,
	    "C:\\Users\\me\\n\xc3\xb6te.p7s");
	input_free(&in);
}

static void
test_invisible_characters(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;
	static const char *const bad[] = {
		"a\xc2\x85" "b",		/* NEL, a C1 control */
		"a\xc2\x9f",		/* last C1 control */
		"\xe2\x80\xae" "CA",	/* RIGHT-TO-LEFT OVERRIDE */
		"x\xe2\x80\xaa",	/* LEFT-TO-RIGHT EMBEDDING */
		"x\xe2\x81\xa6y",	/* LEFT-TO-RIGHT ISOLATE */
		"x\xe2\x81\xa9",	/* POP DIRECTIONAL ISOLATE */
		"x\xe2\x80\x8fy",	/* RIGHT-TO-LEFT MARK */
		"a\xe2\x80\xa8" "b",	/* LINE SEPARATOR */
		"a\xe2\x80\xa9" "b",	/* PARAGRAPH SEPARATOR */
	};
	static const char *const good[] = {
		"\xc2\xa0nbsp",	/* U+00A0 follows the C1 range */
		"\xc2\xa9 2026",	/* copyright sign */
		"\xe2\x80\x94" "dash",	/* EM DASH */
		"\xe2\x80\xaf",	/* NARROW NO-BREAK SPACE */
		"\xe2\x81\xa5",	/* U+2065, before the isolates */
		"\xe2\x81\xaa",	/* U+206A, after them */
		"\xc5\xa1\xc4\x8d\xc5\xbe \xd0\xb6",
	};
	size_t			 i;

	(void)state;
	memset(&in, 0, sizeof(in));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(field_set(&in, FIELD_ISSUER, bad[i],
		    strlen(bad[i]), NULL, &ei), RP_ERR_BAD_INPUT);
		assert_string_equal(ei.code, "invalid_characters");
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(field_set(&in, FIELD_ISSUER, good[i],
		    strlen(good[i]), NULL, &ei), RP_OK);
		input_free(&in);
	}
	/* A secret is never shown: direction marks pass, C1 does not. */
	assert_int_equal(field_set(&in, FIELD_PASSPHRASE, "p\xe2\x80\xaeq", 5,
	    NULL, &ei), RP_OK);
	input_free(&in);
	assert_int_equal(field_set(&in, FIELD_PASSPHRASE, "p\xc2\x85q", 4,
	    NULL, &ei), RP_ERR_BAD_INPUT);
	input_free(&in);
}

static void
test_input_free(void **state)
{
	struct input	 in;
	size_t		 i;

	(void)state;
	input_free(NULL);
	memset(&in, 0, sizeof(in));
	input_free(&in);
	assert_int_equal(field_set(&in, FIELD_SIGNATURE, "\x30\x00", 2, "f",
	    NULL), RP_OK);
	assert_int_equal(field_set(&in, FIELD_PASSPHRASE, "pw", 2, NULL,
	    NULL), RP_OK);
	in.cookie[COOKIE_CSRF] = strdup("c");
	assert_non_null(in.cookie[COOKIE_CSRF]);
	input_free(&in);
	for (i = 0; i < FIELD__MAX; i++) {
		assert_null(in.f[i].val);
		assert_null(in.f[i].filename);
		assert_false(in.f[i].set);
		assert_int_equal(in.f[i].len, 0);
	}
	assert_null(in.cookie[COOKIE_CSRF]);
	/* Twice is harmless. */
	input_free(&in);
}

static void
test_bad_call(void **state)
{
	struct input		 in;
	struct rp_errinfo	 ei;

	(void)state;
	memset(&in, 0, sizeof(in));
	assert_int_equal(field_set(&in, FIELD__MAX, "x", 1, NULL, &ei),
	    RP_ERR_INTERNAL);
	assert_int_equal(field_set(&in, FIELD_Q, NULL, 1, NULL, &ei),
	    RP_ERR_INTERNAL);
	/* An empty value may come with a NULL pointer. */
	assert_int_equal(field_set(&in, FIELD_Q, NULL, 0, NULL, &ei), RP_OK);
	assert_string_equal(in.f[FIELD_Q].val, "");
	input_free(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_action),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_text_fields),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_signature_size),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_secret_not_echoed),
		cmocka_unit_test(test_filename),
		cmocka_unit_test(test_invisible_characters),
		cmocka_unit_test(test_input_free),
		cmocka_unit_test(test_bad_call),
	};

	return cmocka_run_group_tests_name("field", tests, NULL, NULL);
}
