/*
 * Tests of ca.c, what the CA drivers share: the driver table and names,
 * the check of a job before sending, the percent-encoding of a path
 * segment, the base URL, the mapping of transport failures, and the
 * officer-facing text that any CA answer is turned into.
 */
#include "unit.h"

static void
test_backends(void **state)
{
	(void)state;
	assert_int_equal(ca_backend_parse("cfssl"), CA_CFSSL);
	assert_int_equal(ca_backend_parse("ejbca"), CA_EJBCA);
	assert_int_equal(ca_backend_parse("CFSSL"), CA__MAX);
	assert_int_equal(ca_backend_parse("ejbca "), CA__MAX);
	assert_int_equal(ca_backend_parse(""), CA__MAX);
	assert_int_equal(ca_backend_parse(NULL), CA__MAX);
	assert_ptr_equal(ca_driver_get(CA_CFSSL), &ca_cfssl_driver);
	assert_ptr_equal(ca_driver_get(CA_EJBCA), &ca_ejbca_driver);
	assert_string_equal(ca_driver_get(CA_CFSSL)->name, "cfssl");
	assert_string_equal(ca_driver_get(CA_EJBCA)->name, "ejbca");
	assert_null(ca_driver_get(CA__MAX));
	assert_null(ca_driver_get((enum ca_backend)-1));
	assert_non_null(ca_cfssl_driver.deliver);
	assert_non_null(ca_cfssl_driver.check);
	assert_non_null(ca_ejbca_driver.deliver);
	assert_non_null(ca_ejbca_driver.check);
}

static void
test_outcome_names(void **state)
{
	(void)state;
	assert_string_equal(ca_outcome_name(CA_DONE), "done");
	assert_string_equal(ca_outcome_name(CA_PENDING), "pending");
	assert_string_equal(ca_outcome_name(CA_RETRY), "retry");
	assert_string_equal(ca_outcome_name(CA_PERMANENT), "permanent");
	assert_string_equal(ca_outcome_name(CA_UNSUPPORTED), "unsupported");
	assert_string_equal(ca_outcome_name((enum ca_outcome)42), "?");
}

static void
seg(const char *in, const char *want)
{
	struct buf	 b;

	buf_init(&b, 1024);
	assert_int_equal(ca_url_segment(&b, in), RP_OK);
	assert_string_equal(b.p != NULL ? b.p : "", want);
	buf_free(&b);
}

static void
test_url_segment(void **state)
{
	struct buf	 b;

	(void)state;
	seg("", "");
	seg("AZaz09-._~", "AZaz09-._~");
	seg("a b/c,d=e+f%g?h#i&j;k:l@m", "a%20b%2Fc%2Cd%3De%2Bf%25g%3Fh%23i"
	    "%26j%3Bk%3Al%40m");
	seg("CN=\xc4\x8c", "CN%3D%C4%8C");
	seg("\\\"'<>\x7f\x01", "%5C%22%27%3C%3E%7F%01");
	seg("..", "..");
	/* Appends after what is there. */
	buf_init(&b, 1024);
	assert_int_equal(buf_adds(&b, "x/"), RP_OK);
	assert_int_equal(ca_url_segment(&b, "a/b"), RP_OK);
	assert_string_equal(b.p, "x/a%2Fb");
	buf_free(&b);
	/* Over the buffer's limit. */
	buf_init(&b, 8);
	assert_int_equal(ca_url_segment(&b, "////"), RP_ERR_NOMEM);
	buf_free(&b);
}

static void
test_url_base(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(ca_url_base(&b, "https://ca.example:8443/"), RP_OK);
	assert_string_equal(b.p, "https://ca.example:8443");
	buf_reset(&b);
	assert_int_equal(ca_url_base(&b, "https://ca.example/x//"), RP_OK);
	assert_string_equal(b.p, "https://ca.example/x");
	buf_reset(&b);
	assert_int_equal(ca_url_base(&b, "https://ca.example"), RP_OK);
	assert_string_equal(b.p, "https://ca.example");
	assert_int_equal(ca_url_base(&b, "///"), RP_ERR_BAD_INPUT);
	assert_int_equal(ca_url_base(&b, ""), RP_ERR_BAD_INPUT);
	assert_int_equal(ca_url_base(&b, NULL), RP_ERR_BAD_INPUT);
	buf_free(&b);
}

static void
text(const char *in, const char *want)
{
	char	 out[RP_ERRMSG_MAX];

	ca_text(out, sizeof(out), in, strlen(in));
	assert_string_equal(out, want);
}

static void
test_text(void **state)
{
	char	 in[1024], out[RP_ERRMSG_MAX], small[8];
	size_t	 i, n;

	(void)state;
	text("Certificate is already revoked",
	    "Certificate is already revoked");
	text("", "");
	text("a\nb\tc\r\nd", "a b c d");
	text("   lead  and   trail   ", "lead and trail");
	text("\n\n\n", "");
	text("bad \xff byte", "bad ? byte");
	text("cut \xc4", "cut ?");
	text("over\xc0\xaflong", "over??long");
	text("\xc4\x8cvor", "\xc4\x8cvor");
	/* Bidi controls and C1 controls cannot reorder or hide text. */
	text("a\xe2\x80\xae" "b", "a b");
	text("a\xe2\x81\xa6" "b", "a b");
	text("a\xc2\x85" "b", "a b");
	text("a\x1b[31mb", "a [31mb");
	text("a\x7f" "b", "a b");
	/* NUL inside the length is a control too. */
	ca_text(out, sizeof(out), "a\0b", 3);
	assert_string_equal(out, "a b");

	/* Too long: cut with a mark, within the buffer. */
	memset(in, 'x', 300);
	in[300] = '\0';
	ca_text(out, sizeof(out), in, 300);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_string_equal(out + strlen(out) - 3, "...");
	/* Exactly fitting: no mark. */
	ca_text(out, sizeof(out), in, sizeof(out) - 1);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_int_equal(out[sizeof(out) - 2], 'x');
	/* Two-byte characters are never split. */
	for (i = 0, n = 0; i < 150; i++) {
		in[n++] = '\xc4';
		in[n++] = '\x8c';
	}
	ca_text(out, sizeof(out), in, n);
	assert_true(rp_utf8_valid(out, strlen(out)));
	assert_true(strlen(out) < sizeof(out));
	assert_string_equal(out + strlen(out) - 3, "...");
	/* No space before the mark. */
	for (i = 0; i < 300; i++)
		in[i] = i % 2 ? ' ' : 'y';
	ca_text(out, sizeof(out), in, 300);
	assert_string_equal(out + strlen(out) - 4, "y...");
	/* Tiny buffers. */
	ca_text(small, sizeof(small), "abcdefghij", 10);
	assert_string_equal(small, "abcd...");
	ca_text(small, 3, "abcdefghij", 10);
	assert_string_equal(small, "");
	ca_text(small, 1, "abc", 3);
	assert_string_equal(small, "");
	small[0] = 'z';
	ca_text(small, 0, "abc", 3);
	assert_int_equal(small[0], 'z');
}

static void
test_result_set(void **state)
{
	struct ca_result	 r;
	char			 big[600];

	(void)state;
	memset(&r, 0, sizeof(r));
	ca_result_set(&r, CA_PERMANENT, 403, "refused (HTTP %d): %s", 403,
	    "not\nauthorised\x1b");
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 403);
	assert_string_equal(r.message, "refused (HTTP 403): not authorised");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ca_result_set(&r, CA_RETRY, 0, "%s%s", big, big);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(strlen(r.message), sizeof(r.message) - 1);
}

static struct ca_job
job(enum action a, enum crl_reason reason)
{
	struct ca_job	 j;

	memset(&j, 0, sizeof(j));
	j.action = a;
	j.issuer = "CN=Test CA,O=Example,C=HR";
	j.serial = "1A2B";
	j.aki = "AB";
	j.reason = reason;
	return j;
}

static void
test_job_valid(void **state)
{
	struct ca_result	 r;
	struct ca_job		 j;
	unsigned int		 reason;
	const unsigned int	 revoke_ok = REASON_BIT(0) | REASON_BIT(1) |
	    REASON_BIT(3) | REASON_BIT(4) | REASON_BIT(5) | REASON_BIT(9);

	(void)state;
	/* Every reason with every action. */
	for (reason = 0; reason <= REASON__MAX; reason++) {
		j = job(ACT_REVOKE, (enum crl_reason)reason);
		assert_int_equal(ca_job_valid(&j, &r),
		    reason < REASON__MAX && (revoke_ok & REASON_BIT(reason)));
		j = job(ACT_SUSPEND, (enum crl_reason)reason);
		assert_int_equal(ca_job_valid(&j, &r), reason == REASON_HOLD);
		j = job(ACT_REACTIVATE, (enum crl_reason)reason);
		assert_int_equal(ca_job_valid(&j, &r),
		    reason == REASON_REMOVE_FROM_CRL);
	}
	j = job(ACT_REVOKE, REASON_CA_COMPROMISE);
	assert_int_equal(ca_job_valid(&j, &r), 0);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 0);
	assert_non_null(strstr(r.message, "cACompromise"));
	j = job(ACT_REVOKE, (enum crl_reason)-5);
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j = job(ACT_RECOVER, REASON_UNSPECIFIED);
	assert_int_equal(ca_job_valid(&j, &r), 1);
	j = job(ACT__MAX, REASON_UNSPECIFIED);
	assert_int_equal(ca_job_valid(&j, &r), 0);

	/* Serials: canonical upper-case hex only. */
	j = job(ACT_REVOKE, REASON_KEY_COMPROMISE);
	j.serial = "0";
	assert_int_equal(ca_job_valid(&j, &r), 1);
	j.serial = "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
	assert_int_equal(ca_job_valid(&j, &r), 1);
	j.serial = "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.serial = "00";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.serial = "01";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.serial = "1a";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.serial = "1A:2B";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.serial = "";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.serial = NULL;
	assert_int_equal(ca_job_valid(&j, &r), 0);

	/* Issuers: printable UTF-8 below RP_DN_MAX. */
	j = job(ACT_REVOKE, REASON_KEY_COMPROMISE);
	j.issuer = "CN=\xc4\x8cvor";
	assert_int_equal(ca_job_valid(&j, &r), 1);
	j.issuer = "CN=a\tb";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.issuer = "CN=\xe2\x80\xae";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.issuer = "CN=\xff";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.issuer = "";
	assert_int_equal(ca_job_valid(&j, &r), 0);
	j.issuer = NULL;
	assert_int_equal(ca_job_valid(&j, &r), 0);
}

static void
test_long_issuer(void **state)
{
	struct ca_result	 r;
	struct ca_job		 j;
	char			 dn[RP_DN_MAX + 1];

	(void)state;
	j = job(ACT_REVOKE, REASON_KEY_COMPROMISE);
	memset(dn, 'a', sizeof(dn));
	dn[RP_DN_MAX - 1] = '\0';
	j.issuer = dn;
	assert_int_equal(ca_job_valid(&j, &r), 1);
	dn[RP_DN_MAX - 1] = 'a';
	dn[RP_DN_MAX] = '\0';
	assert_int_equal(ca_job_valid(&j, &r), 0);
}

static void
test_transport(void **state)
{
	struct ca_result	 r;
	struct hc_resp		 hr;

	(void)state;
	memset(&hr, 0, sizeof(hr));
	(void)snprintf(hr.error, sizeof(hr.error), "Connection refused");
	ca_transport(&r, RP_ERR_UNAVAILABLE, &hr, "revoke");
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 0);
	assert_non_null(strstr(r.message, "revoke"));
	assert_non_null(strstr(r.message, "Connection refused"));
	hr.status = 200;
	ca_transport(&r, RP_ERR_TOO_LARGE, &hr, "status");
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 200);
	ca_transport(&r, RP_ERR_NOMEM, &hr, "status");
	assert_int_equal(r.outcome, CA_RETRY);
	hr.status = 0;
	ca_transport(&r, RP_ERR_BAD_INPUT, &hr, "revoke");
	assert_int_equal(r.outcome, CA_PERMANENT);
	ca_transport(&r, RP_ERR_INTERNAL, &hr, "revoke");
	assert_int_equal(r.outcome, CA_PERMANENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backends),
		cmocka_unit_test(test_outcome_names),
		cmocka_unit_test(test_url_segment),
		cmocka_unit_test(test_url_base),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_result_set),
		cmocka_unit_test(test_job_valid),
		cmocka_unit_test(test_long_issuer),
		cmocka_unit_test(test_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
