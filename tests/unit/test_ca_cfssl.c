/*
 * Tests of ca_cfssl.c: the hex to decimal conversion of serial numbers,
 * and the driver against a REAL cfssl (Debian's golang-cfssl 1.2.0),
 * started here on a loopback port over TLS with a throwaway CA and an
 * SQLite certificate database.  Certificates are issued through cfssl's
 * own /api/v1/cfssl/sign, read back with x509.c as revportal reads them,
 * revoked through the driver, and the result is read from cfssl's
 * database.
 */
#include "unit.h"
#include "unit_proc.h"

#include <sqlite3.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

enum rp_err	 cfssl_serial_decimal(const char *, char *, size_t);
int		 cfssl_aki_hint(int);

/* cfssl 1.2.0's tables (certdb/sqlite/migrations of that version). */
static const char cfssl_schema[] =
    "CREATE TABLE certificates ("
    " serial_number blob NOT NULL,"
    " authority_key_identifier blob NOT NULL,"
    " ca_label blob,"
    " status blob NOT NULL,"
    " reason int,"
    " expiry timestamp,"
    " revoked_at timestamp,"
    " pem blob NOT NULL,"
    " PRIMARY KEY(serial_number, authority_key_identifier));"
    "CREATE TABLE ocsp_responses ("
    " serial_number blob NOT NULL,"
    " authority_key_identifier blob NOT NULL,"
    " body blob NOT NULL,"
    " expiry timestamp,"
    " PRIMARY KEY(serial_number, authority_key_identifier),"
    " FOREIGN KEY(serial_number, authority_key_identifier)"
    " REFERENCES certificates(serial_number, authority_key_identifier));";

struct env {
	char	 dir[UP_DIR_MAX];
	char	 db[128];
	char	*csr;		/* one CSR, signed again for each test */
	pid_t	 pid;
	int	 port;
	char	 base[64];
	struct hc *hc;
	pid_t	 fake_pid;	/* hc_server.py: any answer on demand */
	int	 fake_port;
};

static struct env	 env;

/* The decimal conversion alone; returns its result in a static buffer. */
static const char *
dec(const char *hex)
{
	static char	 out[64];

	assert_int_equal(cfssl_serial_decimal(hex, out, sizeof(out)), RP_OK);
	return out;
}

static void
test_decimal_small(void **state)
{
	(void)state;
	assert_string_equal(dec("0"), "0");
	assert_string_equal(dec("1"), "1");
	assert_string_equal(dec("9"), "9");
	assert_string_equal(dec("A"), "10");
	assert_string_equal(dec("F"), "15");
	assert_string_equal(dec("10"), "16");
	assert_string_equal(dec("FF"), "255");
	assert_string_equal(dec("ff"), "255");
	assert_string_equal(dec("3E8"), "1000");
	assert_string_equal(dec("FFFFFFFF"), "4294967295");
}

static void
test_decimal_large(void **state)
{
	(void)state;
	/* 2^64 - 1, 2^64, 2^159 and 2^160 - 1 (20 bytes, the maximum). */
	assert_string_equal(dec("FFFFFFFFFFFFFFFF"), "18446744073709551615");
	assert_string_equal(dec("10000000000000000"), "18446744073709551616");
	assert_string_equal(dec("8000000000000000000000000000000000000000"),
	    "730750818665451459101842416358141509827966271488");
	assert_string_equal(dec("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
	    "1461501637330902918203684832716283019655932542975");
	/* A serial cfssl issued, with the decimal cfssl logged for it. */
	assert_string_equal(dec("4BBFEDD1003099F54DE4783DDFF6188B9AEDE7E2"),
	    "432454466875740179884998621829389621514422052834");
}

static void
test_decimal_leading_zeros(void **state)
{
	(void)state;
	assert_string_equal(dec("00"), "0");
	assert_string_equal(dec("000000FF"), "255");
	assert_string_equal(dec("0000000000000000000000000000000000000001"),
	    "1");
	assert_string_equal(dec("0000000000000000000000000000000000000000"),
	    "0");
}

static void
test_decimal_refused(void **state)
{
	static const char *const bad[] = { "", "0x1F", "1F ", " 1F", "-1",
	    "+1", "G", "1:2", "1F\n",
	    /* 41 digits, even with leading zeros. */
	    "00000000000000000000000000000000000000001",
	    "1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" };
	char	 out[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out[0] = 'x';
		if (cfssl_serial_decimal(bad[i], out, sizeof(out)) !=
		    RP_ERR_BAD_INPUT)
			fail_msg("\"%s\" should be refused", bad[i]);
		assert_string_equal(out, "");
	}
	assert_int_equal(cfssl_serial_decimal(NULL, out, sizeof(out)),
	    RP_ERR_BAD_INPUT);
	/* The output buffer: exactly enough, and one byte short. */
	assert_int_equal(cfssl_serial_decimal("3E7", out, 4), RP_OK);
	assert_string_equal(out, "999");
	assert_int_equal(cfssl_serial_decimal("3E8", out, 4), RP_ERR_NOMEM);
	assert_int_equal(cfssl_serial_decimal("0", out, 1), RP_ERR_NOMEM);
}

/* Writes s to path.  Returns 0 or -1. */
static int
write_file(const char *path, const char *s)
{
	FILE	*f;
	int	 rc;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	rc = fputs(s, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
make_db(void)
{
	sqlite3	*db;
	int	 rc;

	if (sqlite3_open(env.db, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, cfssl_schema, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
setup(void **state)
{
	char	 ca[128], cakey[128], tls[128], tlskey[128], dbconf[128];
	char	 conf[128], csr[128], csrkey[128], log[128], port[128];
	char	 text[512];
	char	*gen[] = { "openssl", "req", "-new", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
	    csrkey, "-out", csr, "-subj", "/CN=cfssl test subscriber", NULL };
	char	*serve[] = { "cfssl", "serve", "-address", "127.0.0.1",
	    "-port", port, "-ca", ca, "-ca-key", cakey, "-db-config", dbconf,
	    "-config", conf, "-tls-cert", tls, "-tls-key", tlskey, NULL };
	char	*fake[] = { "python3", "tests/contract/hc_server.py", "--cert",
	    tls, "--key", tlskey, "--port-file", port, NULL };
	struct hc_conf	 hcc;
	char		 err[256];
	size_t		 len;
	int		 p;

	(void)state;
	memset(&env, 0, sizeof(env));
	if (up_tmpdir("rp-cfssl", env.dir) == -1 || up_mkcerts(env.dir) == -1)
		return -1;
#define P(buf, name) (void)snprintf(buf, sizeof(buf), "%s/" name, env.dir)
	P(ca, "ca.pem");
	P(cakey, "ca.key");
	P(tls, "server.pem");
	P(tlskey, "server.key");
	P(dbconf, "db.json");
	P(conf, "cfssl.json");
	P(csr, "subscriber.csr");
	P(csrkey, "subscriber.key");
	P(log, "cfssl.log");
	P(env.db, "certs.db");
#undef P
	(void)snprintf(text, sizeof(text), "{\"driver\":\"sqlite3\","
	    "\"data_source\":\"%s\"}\n", env.db);
	if (make_db() == -1 || write_file(dbconf, text) == -1 ||
	    write_file(conf, "{\"signing\":{\"default\":{\"expiry\":\"24h\","
	    "\"usages\":[\"digital signature\",\"client auth\"]},"
	    "\"profiles\":{\"personal\":{\"expiry\":\"48h\",\"usages\":"
	    "[\"digital signature\",\"client auth\"]}}}}\n") == -1 ||
	    up_run(gen, log) != 0 ||
	    (env.csr = rp_read_file(csr, 16384, &len, err, sizeof(err))) ==
	    NULL)
		return -1;
	if ((p = up_free_port()) == -1)
		return -1;
	(void)snprintf(port, sizeof(port), "%d", p);
	if ((env.pid = up_spawn(serve, log)) == -1 ||
	    up_wait_listen(p, env.pid, 15000) == -1) {
		fprintf(stderr, "test_ca_cfssl: cfssl did not start; see "
		    "%s\n", log);
		return -1;
	}
	env.port = p;
	(void)snprintf(env.base, sizeof(env.base), "https://127.0.0.1:%d", p);
	(void)snprintf(port, sizeof(port), "%s/fake.port", env.dir);
	if ((env.fake_pid = up_spawn(fake, log)) == -1 ||
	    (env.fake_port = up_wait_port(port, env.fake_pid, 10000)) == -1) {
		fprintf(stderr, "test_ca_cfssl: hc_server.py did not start; "
		    "see %s\n", log);
		return -1;
	}
	memset(&hcc, 0, sizeof(hcc));
	hcc.ca_file = ca;
	hcc.connect_timeout_ms = 5000;
	hcc.timeout_ms = 10000;
	hcc.max_response = 64 * 1024;
	if ((env.hc = hc_new(&hcc, err, sizeof(err))) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hc_free(env.hc);
	up_stop(env.pid);
	up_stop(env.fake_pid);
	free(env.csr);
	up_rmrf(env.dir);
	return 0;
}

/*
 * Has cfssl sign the test CSR and reads the certificate as revportal
 * does.  The caller frees info with cert_info_free().
 */
static void
issue(struct cert_info *info)
{
	struct hc_resp		 r;
	struct rp_errinfo	 ei;
	char			 url[128];
	json_t			*req, *ans;
	const char		*pem;
	char			*body;

	(void)snprintf(url, sizeof(url), "%s/api/v1/cfssl/sign", env.base);
	req = json_pack("{s:s}", "certificate_request", env.csr);
	assert_non_null(req);
	body = json_dumps(req, JSON_COMPACT);
	assert_non_null(body);
	assert_int_equal(hc_request(env.hc, "POST", url, NULL, body,
	    strlen(body), &r), RP_OK);
	assert_int_equal(r.status, 200);
	ans = json_loadb(r.body.p, r.body.len, 0, NULL);
	assert_non_null(ans);
	pem = json_string_value(json_object_get(json_object_get(ans, "result"),
	    "certificate"));
	assert_non_null(pem);
	memset(info, 0, sizeof(*info));
	assert_int_equal(x509_read_pem(pem, strlen(pem), info, &ei), RP_OK);
	assert_string_equal(info->issuer, "CN=revportal test CA");
	json_decref(ans);
	json_decref(req);
	free(body);
	hc_resp_free(&r);
}

/* cfssl's row of the certificate with pem: status, reason, serial, AKI. */
struct row {
	char	 status[16];
	int	 reason;
	char	 serial[64];
	char	 aki[128];
};

static void
db_row(const struct cert_info *info, struct row *row)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	const char	*pem = info->pem;

	memset(row, 0, sizeof(*row));
	assert_int_equal(sqlite3_open_v2(env.db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	(void)sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT status, reason, "
	    "serial_number, authority_key_identifier FROM certificates "
	    "WHERE pem = ?", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, pem, -1, SQLITE_STATIC),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	(void)snprintf(row->status, sizeof(row->status), "%s",
	    (const char *)sqlite3_column_text(st, 0));
	row->reason = sqlite3_column_int(st, 1);
	(void)snprintf(row->serial, sizeof(row->serial), "%s",
	    (const char *)sqlite3_column_text(st, 2));
	(void)snprintf(row->aki, sizeof(row->aki), "%s",
	    (const char *)sqlite3_column_text(st, 3));
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static struct ca_job
job_of(const struct cert_info *info, enum action a, enum crl_reason reason)
{
	struct ca_job	 j;

	memset(&j, 0, sizeof(j));
	j.action = a;
	j.issuer = info->issuer;
	j.serial = info->serial;
	j.aki = info->aki;
	j.reason = reason;
	j.idem_key = "AAAAAAAAAAAAAAAAAAAAAA.1";
	return j;
}

static void
deliver(const struct ca_job *j, struct ca_result *r)
{
	ca_cfssl_driver.deliver(env.hc, env.base, j, r);
}

static void
test_revoke_key_compromise(void **state)
{
	struct cert_info	 info;
	struct ca_job		 j;
	struct ca_result	 r;
	struct row		 row;
	char			 lower[sizeof(info.aki)];
	size_t			 i;

	(void)state;
	issue(&info);
	db_row(&info, &row);
	assert_string_equal(row.status, "good");
	/* cfssl keeps the serial in decimal: the conversion agrees. */
	assert_string_equal(row.serial, dec(info.serial));
	/* Its key identifier is lower-case hex, or empty as cfssl 1.2.0
	 * built with a newer Go writes it (see ca_cfssl.c). */
	for (i = 0; info.aki[i] != '\0'; i++)
		lower[i] = (char)(info.aki[i] >= 'A' && info.aki[i] <= 'F' ?
		    info.aki[i] - 'A' + 'a' : info.aki[i]);
	lower[i] = '\0';
	assert_true(info.aki[0] != '\0');
	assert_true(row.aki[0] == '\0' || strcmp(row.aki, lower) == 0);

	j = job_of(&info, ACT_REVOKE, REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(r.http_status, 200);
	assert_non_null(strstr(r.message, "keyCompromise"));
	db_row(&info, &row);
	assert_string_equal(row.status, "revoked");
	assert_int_equal(row.reason, REASON_KEY_COMPROMISE);

	/* Delivered again (the relay cannot ask): the same outcome. */
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	db_row(&info, &row);
	assert_string_equal(row.status, "revoked");
	assert_int_equal(row.reason, REASON_KEY_COMPROMISE);
	cert_info_free(&info);
}

/*
 * Sets the key identifier of the certificate's row, as a cfssl built with
 * an older Go writes it (hex.EncodeToString of the AKI: lower case).
 */
static void
db_set_aki(const struct cert_info *info, const char *aki)
{
	sqlite3		*db;
	sqlite3_stmt	*st;

	assert_int_equal(sqlite3_open(env.db, &db), SQLITE_OK);
	(void)sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE certificates SET "
	    "authority_key_identifier = ? WHERE pem = ?", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, aki, -1, SQLITE_STATIC),
	    SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 2, info->pem, -1,
	    SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_aki_lower_case(void **state)
{
	struct cert_info	 info;
	struct ca_job		 j;
	struct ca_result	 r;
	struct row		 row;
	char			 lower[sizeof(info.aki)];
	size_t			 i;

	(void)state;
	issue(&info);
	for (i = 0; info.aki[i] != '\0'; i++)
		lower[i] = (char)(info.aki[i] >= 'A' && info.aki[i] <= 'F' ?
		    info.aki[i] - 'A' + 'a' : info.aki[i]);
	lower[i] = '\0';
	assert_string_not_equal(lower, info.aki);
	db_set_aki(&info, lower);
	/* revportal stores it upper-case; cfssl finds the row. */
	j = job_of(&info, ACT_REVOKE, REASON_SUPERSEDED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	db_row(&info, &row);
	assert_string_equal(row.status, "revoked");
	assert_int_equal(row.reason, REASON_SUPERSEDED);
	cert_info_free(&info);

	/* Under another key identifier the row is not this certificate. */
	issue(&info);
	db_set_aki(&info, "00ff00ff");
	j = job_of(&info, ACT_REVOKE, REASON_SUPERSEDED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	db_row(&info, &row);
	assert_string_equal(row.status, "good");
	cert_info_free(&info);
}

static void
test_other_reasons(void **state)
{
	static const enum crl_reason reasons[] = { REASON_UNSPECIFIED,
	    REASON_AFFILIATION_CHANGED, REASON_SUPERSEDED, REASON_CESSATION,
	    REASON_PRIVILEGE_WITHDRAWN };
	struct cert_info	 info;
	struct ca_job		 j;
	struct ca_result	 r;
	struct row		 row;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		issue(&info);
		j = job_of(&info, ACT_REVOKE, reasons[i]);
		/* As stored when the certificate has no AKI extension. */
		j.aki = "";
		deliver(&j, &r);
		if (r.outcome != CA_DONE)
			fail_msg("%s: %s", dom_reason_name(reasons[i]),
			    r.message);
		db_row(&info, &row);
		assert_string_equal(row.status, "revoked");
		assert_int_equal(row.reason, reasons[i]);
		cert_info_free(&info);
	}
}

static void
test_suspend_then_revoke(void **state)
{
	struct cert_info	 info;
	struct ca_job		 j;
	struct ca_result	 r;
	struct row		 row;

	(void)state;
	issue(&info);
	j = job_of(&info, ACT_SUSPEND, REASON_HOLD);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_non_null(strstr(r.message, "certificateHold"));
	db_row(&info, &row);
	assert_string_equal(row.status, "revoked");
	assert_int_equal(row.reason, REASON_HOLD);

	/* cfssl cannot lift it: said, not pretended, and nothing changes. */
	j = job_of(&info, ACT_REACTIVATE, REASON_REMOVE_FROM_CRL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_UNSUPPORTED);
	assert_int_equal(r.http_status, 0);
	assert_non_null(strstr(r.message, "cannot lift a hold"));
	db_row(&info, &row);
	assert_int_equal(row.reason, REASON_HOLD);

	/* A suspension that ends in revocation. */
	j = job_of(&info, ACT_REVOKE, REASON_CESSATION);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	db_row(&info, &row);
	assert_string_equal(row.status, "revoked");
	assert_int_equal(row.reason, REASON_CESSATION);
	cert_info_free(&info);
}

static void
test_unknown_serial_permanent(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.action = ACT_REVOKE;
	j.issuer = "CN=revportal test CA";
	j.serial = "1234ABCD";
	j.aki = "00112233445566778899AABBCCDDEEFF00112233";
	j.reason = REASON_KEY_COMPROMISE;
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 400);
	assert_non_null(strstr(r.message, "no certificate"));
	assert_non_null(strstr(r.message, "305441741"));
	j.aki = "";
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
}

static void
test_refused_before_sending(void **state)
{
	struct cert_info	 info;
	struct ca_job		 j;
	struct ca_result	 r;
	struct row		 row;

	(void)state;
	issue(&info);
	j = job_of(&info, ACT_REVOKE, REASON_KEY_COMPROMISE);
	j.aki = "XYZ1";
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "not sent"));
	j.aki = "ABC";
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job_of(&info, ACT_REVOKE, REASON_CA_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job_of(&info, ACT_REVOKE, REASON_REMOVE_FROM_CRL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job_of(&info, ACT_SUSPEND, REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job_of(&info, ACT_RECOVER, REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_UNSUPPORTED);
	ca_cfssl_driver.deliver(env.hc, "", &j, &r);
	assert_int_equal(r.outcome, CA_UNSUPPORTED);
	j = job_of(&info, ACT_REVOKE, REASON_KEY_COMPROMISE);
	ca_cfssl_driver.deliver(env.hc, "", &j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	/* None of it reached cfssl. */
	db_row(&info, &row);
	assert_string_equal(row.status, "good");
	cert_info_free(&info);
}

/*
 * Delivers a revocation to the fake server told to answer status with
 * body, and returns the outcome in r.
 */
static void
answer(int status, const char *body, const char *aki, struct ca_result *r)
{
	struct ca_job	 j;
	struct buf	 base;

	buf_init(&base, 4096);
	assert_int_equal(buf_addf(&base, "https://127.0.0.1:%d/reply/%d/",
	    env.fake_port, status), RP_OK);
	assert_int_equal(ca_url_segment(&base, body), RP_OK);
	memset(&j, 0, sizeof(j));
	j.action = ACT_REVOKE;
	j.issuer = "CN=revportal test CA";
	j.serial = "1234ABCD";
	j.aki = aki;
	j.reason = REASON_KEY_COMPROMISE;
	ca_cfssl_driver.deliver(env.hc, base.p, &j, r);
	buf_free(&base);
}

static void
test_answers_mapped(void **state)
{
	struct ca_result	 r;

	(void)state;
	answer(200, "{\"success\":true,\"result\":{},\"errors\":[],"
	    "\"messages\":[]}", "", &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(r.http_status, 200);
	/* Passing failures. */
	answer(503, "", "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 503);
	answer(429, "", "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	answer(500, "{\"success\":false,\"errors\":[{\"code\":1000,"
	    "\"message\":\"boom\"}]}", "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_non_null(strstr(r.message, "boom"));
	answer(400, "{\"success\":false,\"errors\":[{\"code\":11000,"
	    "\"message\":\"database is locked\"}]}", "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_non_null(strstr(r.message, "database is locked"));
	answer(200, "not json", "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	answer(200, "{\"success\":\"yes\"}", "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	/* Refusals, in cfssl's words, made printable. */
	answer(400, "{\"success\":false,\"errors\":[{\"code\":400,"
	    "\"message\":\"Invalid\\nreason\\u202ecode\"}]}", "", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 400);
	assert_non_null(strstr(r.message, "Invalid reason code"));
	answer(400, "{\"success\":false,\"errors\":[{\"code\":11200,"
	    "\"message\":\"failed to revoke the certificate: certificate "
	    "not found\"}]}", "0A0B", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "no certificate"));
	answer(200, "{\"success\":false,\"errors\":[]}", "", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	answer(302, "", "", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 302);
	answer(404, "<html>not here</html>", "", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "not a cfssl answer"));
}

static void
test_check_unsupported(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.action = ACT_REVOKE;
	j.issuer = "CN=revportal test CA";
	j.serial = "1";
	j.reason = REASON_KEY_COMPROMISE;
	ca_cfssl_driver.check(env.hc, env.base, &j, &r);
	assert_int_equal(r.outcome, CA_UNSUPPORTED);
	assert_non_null(strstr(r.message, "deliver again"));
}

static void
test_timeout_retry(void **state)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct hc_conf		 c;
	struct hc		*hc;
	struct ca_job		 j;
	struct ca_result	 r;
	char			 ca[128], base[64], err[128];
	int			 fd;

	(void)state;
	/* A server that accepts in the backlog and never answers. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	(void)snprintf(base, sizeof(base), "https://127.0.0.1:%d",
	    ntohs(sin.sin_port));
	(void)snprintf(ca, sizeof(ca), "%s/ca.pem", env.dir);
	memset(&c, 0, sizeof(c));
	c.ca_file = ca;
	c.connect_timeout_ms = 300;
	c.timeout_ms = 300;
	c.max_response = 4096;
	assert_non_null(hc = hc_new(&c, err, sizeof(err)));
	memset(&j, 0, sizeof(j));
	j.action = ACT_REVOKE;
	j.issuer = "CN=revportal test CA";
	j.serial = "1";
	j.reason = REASON_KEY_COMPROMISE;
	ca_cfssl_driver.deliver(hc, base, &j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 0);
	hc_free(hc);
	(void)close(fd);
}

/* The revoke calls in cfssl's log (the fake server's lines start with
 * "hc_server:"). */
static int
revoke_lines(void)
{
	char	 path[160], line[1024];
	FILE	*f;
	int	 n = 0;

	(void)snprintf(path, sizeof(path), "%s/cfssl.log", env.dir);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "hc_server:", 10) != 0 &&
		    strstr(line, "/api/v1/cfssl/revoke") != NULL)
			n++;
	(void)fclose(f);
	return n;
}

/*
 * How many revoke calls cfssl has logged, once at least want are there
 * (cfssl may log a call just after answering it; at most two seconds)
 * and a moment has passed in which a further one would show.
 */
static int
revoke_calls(int want)
{
	int	 i;

	for (i = 0; i < 100 && revoke_lines() < want; i++)
		up_sleep_ms(20);
	up_sleep_ms(150);
	return revoke_lines();
}

/*
 * Which form of the key identifier cfssl knows a certificate under is
 * remembered: after one delivery that needed both forms, the next asks
 * the right one first and makes one call, not two.  A certificate cfssl
 * keeps under its real identifier turns the hint back.
 */
static void
test_aki_form_remembered(void **state)
{
	struct cert_info	 info;
	struct ca_job		 j;
	struct ca_result	 r;
	struct row		 row;
	char			 lower[sizeof(info.aki)];
	size_t			 i;
	int			 n;

	(void)state;
	/* Debian's cfssl stores '' (see ca_cfssl.c); made so if not. */
	issue(&info);
	db_set_aki(&info, "");
	assert_int_equal(cfssl_aki_hint(0), 0);
	n = revoke_calls(0);
	j = job_of(&info, ACT_REVOKE, REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(revoke_calls(n + 2), n + 2);
	assert_int_equal(cfssl_aki_hint(-1), 1);
	cert_info_free(&info);

	issue(&info);
	db_set_aki(&info, "");
	n = revoke_calls(0);
	j = job_of(&info, ACT_SUSPEND, REASON_HOLD);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(revoke_calls(n + 1), n + 1);
	db_row(&info, &row);
	assert_int_equal(row.reason, REASON_HOLD);
	cert_info_free(&info);

	/* Kept under its real identifier: two calls, the hint turns. */
	issue(&info);
	for (i = 0; info.aki[i] != '\0'; i++)
		lower[i] = (char)(info.aki[i] >= 'A' && info.aki[i] <= 'F' ?
		    info.aki[i] - 'A' + 'a' : info.aki[i]);
	lower[i] = '\0';
	db_set_aki(&info, lower);
	n = revoke_calls(0);
	j = job_of(&info, ACT_REVOKE, REASON_SUPERSEDED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(revoke_calls(n + 2), n + 2);
	assert_int_equal(cfssl_aki_hint(-1), 0);
	db_row(&info, &row);
	assert_string_equal(row.status, "revoked");
	cert_info_free(&info);

	/* An unknown certificate leaves the hint as it was. */
	memset(&j, 0, sizeof(j));
	j.action = ACT_REVOKE;
	j.issuer = "CN=revportal test CA";
	j.serial = "1234ABCE";
	j.aki = "00112233";
	j.reason = REASON_KEY_COMPROMISE;
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(cfssl_aki_hint(-1), 0);
}

/* Last: stops cfssl. */
static void
test_stopped_retry(void **state)
{
	struct cert_info	 info;
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	issue(&info);
	up_stop(env.pid);
	env.pid = 0;
	j = job_of(&info, ACT_REVOKE, REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 0);
	assert_non_null(strstr(r.message, "no usable answer"));
	cert_info_free(&info);
}

/* A PEM CSR for a new P-256 key (CN cn), its self-signature broken or not. */
static char *
make_csr(const char *cn, int break_pop)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY	*other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_REQ	*r = X509_REQ_new();
	X509_NAME	*n = X509_NAME_new();
	BIO		*bio = BIO_new(BIO_s_mem());
	char		*p, *s;
	long		 len;

	assert_non_null(k);
	assert_non_null(other);
	assert_non_null(r);
	assert_non_null(n);
	assert_non_null(bio);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, k), 1);
	assert_true(X509_REQ_sign(r, break_pop ? other : k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(bio, r), 1);
	len = BIO_get_mem_data(bio, &p);
	assert_true(len > 0);
	s = malloc((size_t)len + 1);
	assert_non_null(s);
	memcpy(s, p, (size_t)len);
	s[len] = '\0';
	BIO_free(bio);
	X509_NAME_free(n);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	return s;
}

static struct ca_job
enroll_job(const char *csr, const char *type)
{
	struct ca_job	 j;

	memset(&j, 0, sizeof(j));
	j.action = ACT_RECOVER;
	j.issuer = "CN=revportal test CA";
	j.serial = "1234ABCD";
	j.reason = REASON_SUPERSEDED;
	j.idem_key = "AAAAAAAAAAAAAAAAAAAAAA.1";
	j.csr_pem = csr;
	j.cert_type = type;
	j.person = "";
	return j;
}

/*
 * A recovery's enrolment through the real cfssl: /api/v1/cfssl/sign with
 * the old certificate's type as the profile issues a certificate for the
 * CSR's key, which cfssl records (good) and the driver then revokes as
 * superseded like any other.  An unknown profile and a request whose
 * self-signature does not verify are refused, in cfssl's words.
 */
static void
test_enroll_real(void **state)
{
	struct ca_job		 j, rj;
	struct ca_result	 r;
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	struct row		 row;
	char			*csr, *bad;

	(void)state;
	csr = make_csr("cfssl recovery", 0);
	bad = make_csr("cfssl recovery", 1);
	j = enroll_job(csr, "personal");
	ca_cfssl_driver.enroll(env.hc, env.base, &j, &r);
	if (r.outcome != CA_DONE)
		fail_msg("%s: %s", ca_outcome_name(r.outcome), r.message);
	assert_int_equal(r.http_status, 200);
	assert_non_null(strstr(r.message, "personal"));
	assert_int_equal(csr_issued_check(csr, r.issued_pem,
	    strlen(r.issued_pem), &ei), RP_OK);
	memset(&info, 0, sizeof(info));
	assert_int_equal(x509_read_pem(r.issued_pem, strlen(r.issued_pem),
	    &info, &ei), RP_OK);
	assert_string_equal(info.issuer, "CN=revportal test CA");
	/* The profile was the type's: 48 hours, not the default's 24. */
	assert_int_equal(info.not_after - info.not_before, 48 * 3600000LL);
	db_row(&info, &row);
	assert_string_equal(row.status, "good");
	rj = job_of(&info, ACT_REVOKE, REASON_SUPERSEDED);
	deliver(&rj, &r);
	assert_int_equal(r.outcome, CA_DONE);
	db_row(&info, &row);
	assert_string_equal(row.status, "revoked");
	assert_int_equal(row.reason, REASON_SUPERSEDED);
	cert_info_free(&info);

	/* cfssl 1.2.0 signs a profile it does not know with its default
	 * one (deploy/dev/signing.json has a profile per type). */
	j = enroll_job(csr, "eseal");
	ca_cfssl_driver.enroll(env.hc, env.base, &j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	memset(&info, 0, sizeof(info));
	assert_int_equal(x509_read_pem(r.issued_pem, strlen(r.issued_pem),
	    &info, &ei), RP_OK);
	assert_int_equal(info.not_after - info.not_before, 24 * 3600000LL);
	cert_info_free(&info);
	j = enroll_job(bad, "personal");
	ca_cfssl_driver.enroll(env.hc, env.base, &j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "cfssl refused to sign"));
	assert_string_equal(r.issued_pem, "");
	/* Not sent without the CSR or the type, or for another action. */
	j = enroll_job(NULL, "personal");
	ca_cfssl_driver.enroll(env.hc, env.base, &j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 0);
	j = enroll_job(csr, "");
	ca_cfssl_driver.enroll(env.hc, env.base, &j, &r);
	assert_int_equal(r.http_status, 0);
	j = enroll_job(csr, "personal");
	j.action = ACT_REVOKE;
	ca_cfssl_driver.enroll(env.hc, env.base, &j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 0);
	free(csr);
	free(bad);
}

/* An enrolment whose answer is body with status, from the fake server. */
static void
enroll_answer(int status, const char *body, struct ca_result *r)
{
	struct ca_job	 j;
	struct buf	 base;
	char		*csr = make_csr("fake", 0);

	buf_init(&base, 4096);
	assert_int_equal(buf_addf(&base, "https://127.0.0.1:%d/reply/%d/",
	    env.fake_port, status), RP_OK);
	assert_int_equal(ca_url_segment(&base, body), RP_OK);
	j = enroll_job(csr, "personal");
	ca_cfssl_driver.enroll(env.hc, base.p, &j, r);
	buf_free(&base);
	free(csr);
}

static void
test_enroll_answers_mapped(void **state)
{
	struct ca_result	 r;

	(void)state;
	enroll_answer(503, "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	enroll_answer(429, "", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	enroll_answer(400, "{\"success\":false,\"errors\":[{\"code\":11000,"
	    "\"message\":\"database is locked\"}]}", &r);
	assert_int_equal(r.outcome, CA_RETRY);
	enroll_answer(200, "{\"success\":true,\"result\":{}}", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	enroll_answer(200, "{\"success\":true,\"result\":{\"certificate\":"
	    "\"-----BEGIN CERTIFICATE-----\\nMII\"}}", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	enroll_answer(200, "not json", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	enroll_answer(400, "{\"success\":false,\"errors\":[{\"code\":9000,"
	    "\"message\":\"bad request\"}]}", &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "bad request"));
	/* Only the certificate block is kept. */
	enroll_answer(200, "{\"success\":true,\"result\":{\"certificate\":"
	    "\"junk -----BEGIN CERTIFICATE-----\\nAA\\n-----END CERTIFICATE-----"
	    "\\n-----BEGIN CERTIFICATE-----\\nBB\\n-----END CERTIFICATE-----\"}}",
	    &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_string_equal(r.issued_pem, "-----BEGIN CERTIFICATE-----\nAA\n"
	    "-----END CERTIFICATE-----\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal_small),
		cmocka_unit_test(test_decimal_large),
		cmocka_unit_test(test_decimal_leading_zeros),
		cmocka_unit_test(test_decimal_refused),
		cmocka_unit_test(test_revoke_key_compromise),
		cmocka_unit_test(test_aki_lower_case),
		cmocka_unit_test(test_aki_form_remembered),
		cmocka_unit_test(test_other_reasons),
		cmocka_unit_test(test_suspend_then_revoke),
		cmocka_unit_test(test_unknown_serial_permanent),
		cmocka_unit_test(test_refused_before_sending),
		cmocka_unit_test(test_answers_mapped),
		cmocka_unit_test(test_check_unsupported),
		cmocka_unit_test(test_timeout_retry),
		cmocka_unit_test(test_enroll_real),
		cmocka_unit_test(test_enroll_answers_mapped),
		/* Last: it stops cfssl. */
		cmocka_unit_test(test_stopped_retry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
