/*
 * Contract tests of ca_ejbca.c, the EJBCA REST v1 driver, against
 * tests/contract/ejbca_server.py: a stand-in that follows EJBCA's
 * published OpenAPI document and refuses, with 400, any request that
 * deviates from it.  The server runs as a child on a loopback port with
 * TLS and a required client certificate, as EJBCA does.
 *
 * Every outcome is checked against what the driver sent (the server's log
 * of raw paths and queries) and against the state the server reports.
 * The server itself is held to EJBCA's reference (unit_ejbca_ref.h): its
 * reason words, parameters and paths, and a round of requests.
 */
#include "unit.h"
#include "unit_proc.h"
#include "unit_ejbca_ref.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define CA_DN		"CN=Test CA,O=Example\\, Inc.,C=HR"
#define CA_DN_ENC	"CN%3DTest%20CA%2CO%3DExample%5C%2C%20Inc.%2CC%3DHR"
/* Commas, spaces, UTF-8, a plus, a slash, an escaped comma. */
#define ODD_DN		"CN=\xc4\x8cvor \xc5\xbd+OU=a/b,O=Example\\, Inc.,C=HR"
#define ODD_DN_ENC	"CN%3D%C4%8Cvor%20%C5%BD%2BOU%3Da%2Fb%2CO%3DExample" \
			"%5C%2C%20Inc.%2CC%3DHR"
#define API		"/ejbca/ejbca-rest-api/v1/certificate/"

struct env {
	char	 dir[UP_DIR_MAX];
	pid_t	 pid;
	int	 port;
	char	 base[64];
	struct hc *hc;		/* the relay's client: mutual TLS */
};

static struct env	 env;

static struct hc *
make_client(int with_cert, unsigned int timeout_ms)
{
	struct hc_conf	 c;
	char		 ca[128], cert[128], key[128], err[256];
	struct hc	*hc;

	(void)snprintf(ca, sizeof(ca), "%s/ca.pem", env.dir);
	(void)snprintf(cert, sizeof(cert), "%s/client.pem", env.dir);
	(void)snprintf(key, sizeof(key), "%s/client.key", env.dir);
	memset(&c, 0, sizeof(c));
	c.ca_file = ca;
	c.cert_file = with_cert ? cert : NULL;
	c.key_file = with_cert ? key : NULL;
	c.connect_timeout_ms = timeout_ms;
	c.timeout_ms = timeout_ms;
	c.max_response = 64 * 1024;
	if ((hc = hc_new(&c, err, sizeof(err))) == NULL)
		fprintf(stderr, "hc_new: %s\n", err);
	return hc;
}

static int
setup(void **state)
{
	char	 server[128], key[128], ca[128], portf[128], log[128];
	char	*argv[] = { "python3", "tests/contract/ejbca_server.py",
	    "--cert", server, "--key", key, "--client-ca", ca,
	    "--port-file", portf, NULL };

	(void)state;
	memset(&env, 0, sizeof(env));
	if (up_tmpdir("rp-ejbca", env.dir) == -1 || up_mkcerts(env.dir) == -1)
		return -1;
	(void)snprintf(server, sizeof(server), "%s/server.pem", env.dir);
	(void)snprintf(key, sizeof(key), "%s/server.key", env.dir);
	(void)snprintf(ca, sizeof(ca), "%s/ca.pem", env.dir);
	(void)snprintf(portf, sizeof(portf), "%s/port", env.dir);
	(void)snprintf(log, sizeof(log), "%s/server.log", env.dir);
	if ((env.pid = up_spawn(argv, log)) == -1 ||
	    (env.port = up_wait_port(portf, env.pid, 10000)) == -1) {
		fprintf(stderr, "test_ca_ejbca_contract: the server did not "
		    "start; see %s\n", log);
		return -1;
	}
	(void)snprintf(env.base, sizeof(env.base), "https://127.0.0.1:%d",
	    env.port);
	if ((env.hc = make_client(1, 5000)) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hc_free(env.hc);
	up_stop(env.pid);
	up_rmrf(env.dir);
	return 0;
}

/* Posts one command to the server's /_control. */
static void
control(const char *json)
{
	struct hc_resp	 r;
	char		 url[128];

	(void)snprintf(url, sizeof(url), "%s/_control", env.base);
	assert_int_equal(hc_request(env.hc, "POST", url, NULL, json,
	    strlen(json), &r), RP_OK);
	assert_int_equal(r.status, 200);
	hc_resp_free(&r);
}

/* Forgets faults and the log before each test. */
static int
reset(void **state)
{
	(void)state;
	control("{\"op\":\"reset\"}");
	return 0;
}

/* Adds a certificate of issuer with serial, revoked with reason or not. */
static void
add_cert(const char *issuer, const char *serial, const char *reason)
{
	json_t	*j;
	char	*s;

	j = json_pack("{s:s, s:s, s:s, s:b, s:s}", "op", "add", "issuer_dn",
	    issuer, "serial", serial, "revoked", reason != NULL, "reason",
	    reason != NULL ? reason : "NOT_REVOKED");
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	control(s);
	free(s);
	json_decref(j);
}

/*
 * Makes the next call of kind on ("revoke", "status", "any") answer code
 * with body as it is, or with EJBCA's error body when body is NULL.
 */
static void
fault(int code, const char *on, const char *body)
{
	json_t	*j;
	char	*s;

	j = json_pack("{s:s, s:s, s:i, s:s}", "op", "fault", "kind", "error",
	    "code", code, "on", on);
	assert_non_null(j);
	if (body != NULL)
		assert_int_equal(json_object_set_new(j, "body",
		    json_string(body)), 0);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	control(s);
	free(s);
	json_decref(j);
}

/* The server's log of API calls; the caller json_decref()s it. */
static json_t *
server_log(void)
{
	struct hc_resp	 r;
	char		 url[128];
	json_t		*j;

	(void)snprintf(url, sizeof(url), "%s/_log", env.base);
	assert_int_equal(hc_request(env.hc, "GET", url, NULL, NULL, 0, &r),
	    RP_OK);
	j = json_loadb(r.body.p, r.body.len, 0, NULL);
	hc_resp_free(&r);
	assert_true(json_is_array(j));
	return j;
}

/* Asserts that call i of the log was method path?query. */
static void
assert_call(json_t *log, size_t i, const char *method, const char *path,
    const char *query)
{
	json_t	*c = json_array_get(log, i);

	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "method")),
	    method);
	assert_string_equal(json_string_value(json_object_get(c, "path")),
	    path);
	assert_string_equal(json_string_value(json_object_get(c, "query")),
	    query);
}

static size_t
log_len(void)
{
	json_t	*log = server_log();
	size_t	 n = json_array_size(log);

	json_decref(log);
	return n;
}

static struct ca_job
job(enum action a, const char *issuer, const char *serial,
    enum crl_reason reason)
{
	struct ca_job	 j;

	memset(&j, 0, sizeof(j));
	j.action = a;
	j.issuer = issuer;
	j.serial = serial;
	j.aki = "0102";
	j.reason = reason;
	j.idem_key = "AAAAAAAAAAAAAAAAAAAAAA.1";
	return j;
}

static void
deliver(const struct ca_job *j, struct ca_result *r)
{
	ca_ejbca_driver.deliver(env.hc, env.base, j, r);
}

static void
check(const struct ca_job *j, struct ca_result *r)
{
	ca_ejbca_driver.check(env.hc, env.base, j, r);
}

static void
test_revoke_then_status_confirms(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	json_t			*log;

	(void)state;
	add_cert(CA_DN, "A1", NULL);
	j = job(ACT_REVOKE, CA_DN, "A1", REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(r.http_status, 200);
	assert_non_null(strstr(r.message, "KEY_COMPROMISE"));
	log = server_log();
	assert_int_equal(json_array_size(log), 2);
	assert_call(log, 0, "PUT", API CA_DN_ENC "/A1/revoke",
	    "reason=KEY_COMPROMISE");
	assert_call(log, 1, "GET", API CA_DN_ENC "/A1/revocationstatus", "");
	json_decref(log);
	/* check agrees, with one status call. */
	check(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(log_len(), 3);
}

static void
test_reason_words(void **state)
{
	static const struct {
		enum crl_reason	 reason;
		const char	*serial;
		const char	*query;
	} t[] = {
		{ REASON_UNSPECIFIED, "B0", "reason=UNSPECIFIED" },
		{ REASON_KEY_COMPROMISE, "B1", "reason=KEY_COMPROMISE" },
		{ REASON_AFFILIATION_CHANGED, "B3",
		    "reason=AFFILIATION_CHANGED" },
		{ REASON_SUPERSEDED, "B4", "reason=SUPERSEDED" },
		{ REASON_CESSATION, "B5", "reason=CESSATION_OF_OPERATION" },
		{ REASON_PRIVILEGE_WITHDRAWN, "B9",
		    "reason=PRIVILEGES_WITHDRAWN" },
	};
	struct ca_job		 j;
	struct ca_result	 r;
	json_t			*log;
	char			 path[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		add_cert(CA_DN, t[i].serial, NULL);
		j = job(ACT_REVOKE, CA_DN, t[i].serial, t[i].reason);
		deliver(&j, &r);
		if (r.outcome != CA_DONE)
			fail_msg("%s: %s", t[i].query, r.message);
		log = server_log();
		(void)snprintf(path, sizeof(path), "%s%s/%s/revoke", API,
		    CA_DN_ENC, t[i].serial);
		assert_call(log, json_array_size(log) - 2, "PUT", path,
		    t[i].query);
		json_decref(log);
	}
}

static void
test_suspend_and_reactivate(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	json_t			*log;

	(void)state;
	add_cert(CA_DN, "C1", NULL);
	j = job(ACT_SUSPEND, CA_DN, "C1", REASON_HOLD);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_non_null(strstr(r.message, "on hold"));
	/* EJBCA answers "Successfully revoked" to the reactivation as well:
	 * the driver goes by "revoked": false in the status. */
	j = job(ACT_REACTIVATE, CA_DN, "C1", REASON_REMOVE_FROM_CRL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(r.http_status, 200);
	assert_non_null(strstr(r.message, "revoked: false"));
	log = server_log();
	assert_int_equal(json_array_size(log), 4);
	assert_call(log, 0, "PUT", API CA_DN_ENC "/C1/revoke",
	    "reason=CERTIFICATE_HOLD");
	/* No invalidity_date, no date: the reason alone. */
	assert_call(log, 2, "PUT", API CA_DN_ENC "/C1/revoke",
	    "reason=REMOVE_FROM_CRL");
	json_decref(log);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	/* The suspension no longer holds. */
	j = job(ACT_SUSPEND, CA_DN, "C1", REASON_HOLD);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
}

static void
test_message_is_not_believed(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	/* A held certificate; the CA answers 200 "Successfully revoked" to
	 * the reactivation but leaves it on hold. */
	add_cert(CA_DN, "C2", "CERTIFICATE_HOLD");
	control("{\"op\":\"fault\",\"kind\":\"noop\"}");
	j = job(ACT_REACTIVATE, CA_DN, "C2", REASON_REMOVE_FROM_CRL);
	deliver(&j, &r);
	assert_int_not_equal(r.outcome, CA_DONE);
	assert_int_equal(r.outcome, CA_PENDING);
	assert_non_null(strstr(r.message, "still on hold"));
	/* And the same for a revocation answered 200 without effect. */
	add_cert(CA_DN, "C3", NULL);
	control("{\"op\":\"fault\",\"kind\":\"noop\"}");
	j = job(ACT_REVOKE, CA_DN, "C3", REASON_SUPERSEDED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
	assert_non_null(strstr(r.message, "not revoked"));
	/* Delivered for real, it is done. */
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
}

static void
test_reactivate_twice_is_done(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	/* Already active: EJBCA answers 409, the status says active. */
	add_cert(CA_DN, "C4", NULL);
	j = job(ACT_REACTIVATE, CA_DN, "C4", REASON_REMOVE_FROM_CRL);
	deliver(&j, &r);
	assert_int_equal(r.http_status, 409);
	assert_int_equal(r.outcome, CA_DONE);
}

static void
test_pending_approval_then_check(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	add_cert(CA_DN, "D1", NULL);
	control("{\"op\":\"fault\",\"kind\":\"approval\",\"polls\":2}");
	j = job(ACT_REVOKE, CA_DN, "D1", REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
	assert_int_equal(r.http_status, 202);
	assert_non_null(strstr(r.message, "pending approval"));
	assert_non_null(strstr(r.message, "waiting for approval"));
	/* Only the PUT: a 202 is not confirmed by a status call. */
	assert_int_equal(log_len(), 1);
	/* Sent again while the approval waits: waiting still, nothing done
	 * (the server answers 202 again). */
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
	assert_int_equal(r.http_status, 202);
	assert_non_null(strstr(r.message, "already waiting"));
	assert_int_equal(log_len(), 2);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(log_len(), 4);
}

static void
test_not_found_permanent(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	add_cert(CA_DN, "E0", NULL);
	j = job(ACT_REVOKE, CA_DN, "E1", REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 404);
	assert_non_null(strstr(r.message, "was not found"));
	j = job(ACT_REVOKE, "CN=No Such CA", "E0", REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "does not exist"));
	check(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 404);
}

static void
test_already_revoked(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	/* With the wanted reason: done. */
	add_cert(CA_DN, "F1", "KEY_COMPROMISE");
	j = job(ACT_REVOKE, CA_DN, "F1", REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.http_status, 409);
	assert_int_equal(r.outcome, CA_DONE);
	/* With another reason: an officer must look. */
	add_cert(CA_DN, "F2", "SUPERSEDED");
	j = job(ACT_REVOKE, CA_DN, "F2", REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "SUPERSEDED"));
	/* Revoked for good when a hold is wanted. */
	add_cert(CA_DN, "F3", "KEY_COMPROMISE");
	j = job(ACT_SUSPEND, CA_DN, "F3", REASON_HOLD);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "cannot be suspended"));
	/* ... or a reactivation. */
	j = job(ACT_REACTIVATE, CA_DN, "F3", REASON_REMOVE_FROM_CRL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "cannot be reactivated"));
	/* Already on hold when a hold is wanted: done. */
	add_cert(CA_DN, "F4", "CERTIFICATE_HOLD");
	j = job(ACT_SUSPEND, CA_DN, "F4", REASON_HOLD);
	deliver(&j, &r);
	assert_int_equal(r.http_status, 409);
	assert_int_equal(r.outcome, CA_DONE);
	/* A hold turned into a revocation (the suspension's end). */
	j = job(ACT_REVOKE, CA_DN, "F4", REASON_CESSATION);
	deliver(&j, &r);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.outcome, CA_DONE);
}

static void
test_unavailable_retry(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	add_cert(CA_DN, "A501", NULL);
	j = job(ACT_REVOKE, CA_DN, "A501", REASON_KEY_COMPROMISE);
	fault(503, "revoke", NULL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 503);
	assert_non_null(strstr(r.message, "CA is offline"));
	/* Once only. */
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);

	add_cert(CA_DN, "A502", NULL);
	j = job(ACT_REVOKE, CA_DN, "A502", REASON_KEY_COMPROMISE);
	fault(429, "revoke", NULL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	fault(500, "revoke", NULL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	/* Other 4xx: refused for good, with EJBCA's own words. */
	fault(403, "revoke", NULL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 403);
	assert_non_null(strstr(r.message, "Injected error 403"));

	/* Revoked, but the status call fails: pending, not sent again. */
	fault(503, "status", NULL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
	assert_int_equal(r.http_status, 200);
	fault(503, "status", NULL);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
}

static void
test_odd_answers(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	add_cert(CA_DN, "A650", NULL);
	j = job(ACT_REVOKE, CA_DN, "A650", REASON_KEY_COMPROMISE);
	/* A status that is not JSON, or lacks "revoked", or names another
	 * certificate, is no answer: check again later. */
	fault(200, "status", "<html>");
	check(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	fault(200, "status", "{\"revoked\":\"yes\"}");
	check(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	fault(200, "status", "{\"revoked\":true,\"revocation_reason\":"
	    "\"KEY_COMPROMISE\",\"serial_number\":\"A651\"}");
	check(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_non_null(strstr(r.message, "another certificate"));
	/* The same serial in another spelling is the same certificate. */
	fault(200, "status", "{\"revoked\":true,\"revocation_reason\":"
	    "\"KEY_COMPROMISE\",\"serial_number\":\"00a650\"}");
	check(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	/* An unknown reason word is not the wanted one. */
	fault(200, "status", "{\"revoked\":true,\"revocation_reason\":"
	    "\"KEY\\nCOMPROMISED\"}");
	check(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "KEY COMPROMISED"));
	/* After a 200 revoke, an unreadable status leaves it pending. */
	fault(200, "status", "");
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
	assert_int_equal(r.http_status, 200);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	/* A redirect is not followed and not success. */
	add_cert(CA_DN, "A652", NULL);
	j = job(ACT_REVOKE, CA_DN, "A652", REASON_KEY_COMPROMISE);
	fault(302, "revoke", "");
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 302);
	/* A 400 names EJBCA's reason. */
	fault(400, "revoke", NULL);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "Injected error 400"));
	/* A 202 without a message is still pending. */
	fault(202, "revoke", "");
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PENDING);
	assert_string_equal(r.message, "pending approval at the CA");
}

static void
test_hang_retry(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	struct hc		*quick;

	(void)state;
	add_cert(CA_DN, "A600", NULL);
	j = job(ACT_REVOKE, CA_DN, "A600", REASON_KEY_COMPROMISE);
	control("{\"op\":\"fault\",\"kind\":\"hang\",\"seconds\":2,"
	    "\"on\":\"revoke\"}");
	assert_non_null(quick = make_client(1, 500));
	ca_ejbca_driver.deliver(quick, env.base, &j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 0);
	assert_non_null(strstr(r.message, "imed out"));
	hc_free(quick);
	/* The CA carried it out after all: check finds it done. */
	up_sleep_ms(2500);
	check(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
}

static void
test_invalid_job_never_sent(void **state)
{
	static const enum crl_reason bad_revoke[] = { REASON_CA_COMPROMISE,
	    REASON_AA_COMPROMISE, REASON_HOLD, REASON_REMOVE_FROM_CRL,
	    (enum crl_reason)7, REASON__MAX, (enum crl_reason)-1 };
	struct ca_job		 j;
	struct ca_result	 r;
	size_t			 i;

	(void)state;
	add_cert(CA_DN, "A700", NULL);
	for (i = 0; i < sizeof(bad_revoke) / sizeof(bad_revoke[0]); i++) {
		j = job(ACT_REVOKE, CA_DN, "A700", bad_revoke[i]);
		deliver(&j, &r);
		assert_int_equal(r.outcome, CA_PERMANENT);
		assert_int_equal(r.http_status, 0);
		assert_non_null(strstr(r.message, "not sent"));
		check(&j, &r);
		assert_int_equal(r.outcome, CA_PERMANENT);
	}
	j = job(ACT_SUSPEND, CA_DN, "A700", REASON_KEY_COMPROMISE);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REACTIVATE, CA_DN, "A700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job((enum action)99, CA_DN, "A700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	/* Serial numbers that are not canonical. */
	j = job(ACT_REVOKE, CA_DN, "a700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REVOKE, CA_DN, "0A700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REVOKE, CA_DN, "", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REVOKE, CA_DN, "A700/../x", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REVOKE, CA_DN, NULL, REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	/* Issuers that are empty, missing or not printable. */
	j = job(ACT_REVOKE, "", "A700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REVOKE, NULL, "A700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REVOKE, "CN=a\nb", "A700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = job(ACT_REVOKE, "CN=\xc3\x28", "A700", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	/* Nothing reached the CA. */
	assert_int_equal(log_len(), 0);
}

static void
test_issuer_encoding(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	json_t			*log;

	(void)state;
	add_cert(ODD_DN, "1F", NULL);
	j = job(ACT_SUSPEND, ODD_DN, "1F", REASON_HOLD);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	log = server_log();
	assert_call(log, 0, "PUT", API ODD_DN_ENC "/1F/revoke",
	    "reason=CERTIFICATE_HOLD");
	assert_call(log, 1, "GET", API ODD_DN_ENC "/1F/revocationstatus", "");
	json_decref(log);
}

static void
test_base_url_slash(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	char			 base[80];

	(void)state;
	add_cert(CA_DN, "A800", NULL);
	(void)snprintf(base, sizeof(base), "%s//", env.base);
	j = job(ACT_REVOKE, CA_DN, "A800", REASON_SUPERSEDED);
	ca_ejbca_driver.deliver(env.hc, base, &j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	ca_ejbca_driver.deliver(env.hc, "", &j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	/* http:// is a configuration mistake, not a passing failure. */
	(void)snprintf(base, sizeof(base), "http://127.0.0.1:%d", env.port);
	ca_ejbca_driver.deliver(env.hc, base, &j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 0);
}

static void
test_no_client_certificate(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	struct hc		*anon;

	(void)state;
	add_cert(CA_DN, "A900", NULL);
	j = job(ACT_REVOKE, CA_DN, "A900", REASON_SUPERSEDED);
	assert_non_null(anon = make_client(0, 5000));
	ca_ejbca_driver.deliver(anon, env.base, &j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	assert_int_equal(r.http_status, 0);
	hc_free(anon);
	assert_int_equal(log_len(), 0);
}

/*
 * A recovery is an enrolment, then a revocation (the relay makes both
 * calls): delivered or checked as one job it is not sent.
 */
static void
test_recover_unsupported(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;

	(void)state;
	j = job(ACT_RECOVER, CA_DN, "A1", REASON_UNSPECIFIED);
	deliver(&j, &r);
	assert_int_equal(r.outcome, CA_UNSUPPORTED);
	assert_non_null(strstr(r.message, "enrolment"));
	check(&j, &r);
	assert_int_equal(r.outcome, CA_UNSUPPORTED);
	assert_int_equal(log_len(), 0);
}

/* GETs path of the server; returns the JSON answer (json_decref() it). */
static json_t *
server_get(const char *path)
{
	struct hc_resp	 r;
	char		 url[128];
	json_t		*j;

	(void)snprintf(url, sizeof(url), "%s%s", env.base, path);
	assert_int_equal(hc_request(env.hc, "GET", url, NULL, NULL, 0, &r),
	    RP_OK);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body.p, r.body.len, 0, NULL);
	hc_resp_free(&r);
	assert_non_null(j);
	return j;
}

/* A PEM CSR for a new P-256 key, subject C=SI, serialNumber, CN. */
static char *
make_csr(int break_pop)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY	*other = NULL;
	X509_REQ	*r = X509_REQ_new();
	X509_NAME	*n = X509_NAME_new();
	BIO		*bio = BIO_new(BIO_s_mem());
	char		*p, *s;
	long		 len;

	assert_non_null(k);
	assert_non_null(r);
	assert_non_null(n);
	assert_non_null(bio);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8,
	    (const unsigned char *)"SI", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "serialNumber",
	    MBSTRING_UTF8, (const unsigned char *)"PNOSI-1", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Ana", -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(r, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, k), 1);
	if (break_pop) {
		/* Signed by another key than the one it names. */
		other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		assert_non_null(other);
		assert_true(X509_REQ_sign(r, other, EVP_sha256()) > 0);
	} else
		assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
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

/* A recovery job of the old certificate A1 for csr. */
static struct ca_job
enroll_job(const char *csr)
{
	struct ca_job	 j;

	j = job(ACT_RECOVER, CA_DN, "A1", REASON_SUPERSEDED);
	j.csr_pem = csr;
	j.cert_type = "personal";
	j.person = "PNOSI-1";
	j.ejbca_ca_name = "ManagementCA";
	j.ejbca_cert_profile = "ENDUSER";
	j.ejbca_ee_profile = "EMPTY";
	return j;
}

static void
enroll(const struct ca_job *j, struct ca_result *r)
{
	ca_ejbca_driver.enroll(env.hc, env.base, j, r);
}

/*
 * The enrolment: one POST of EnrollCertificateRestRequest with exactly
 * the members the driver names, of the schema's types, no query; the
 * stand-in's 201 answer (base64 of the base64 DER, as the published
 * example) becomes the PEM of a certificate for the CSR's key, which the
 * stand-in then knows (its status can be read).  The plain base64 form
 * is read too.
 */
static void
test_enroll_issues(void **state)
{
	struct ca_job		 j, rj;
	struct ca_result	 r;
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	json_t			*log, *body, *done;
	char			*csr;
	const char		*k;
	json_t			*v;

	(void)state;
	csr = make_csr(0);
	j = enroll_job(csr);
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(r.http_status, 201);
	assert_int_equal(csr_issued_check(csr, r.issued_pem,
	    strlen(r.issued_pem), &ei), RP_OK);
	log = server_log();
	assert_int_equal(json_array_size(log), 1);
	assert_call(log, 0, "POST", API "pkcs10enroll", "");
	body = json_loads(json_string_value(json_object_get(json_array_get(log,
	    0), "body")), JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(body);
	assert_int_equal(json_object_size(body), 8);
	json_object_foreach(body, k, v)
		if (strcmp(k, "include_chain") == 0)
			assert_true(json_is_false(v));
		else
			assert_true(json_is_string(v));
	assert_string_equal(json_string_value(json_object_get(body,
	    "certificate_request")), csr);
	assert_string_equal(json_string_value(json_object_get(body,
	    "username")), "PNOSI-1");
	assert_int_equal(strlen(json_string_value(json_object_get(body,
	    "password"))), RP_ID_LEN);
	assert_string_equal(json_string_value(json_object_get(body,
	    "response_format")), "DER");
	json_decref(body);
	json_decref(log);
	done = server_get("/_enrolled");
	assert_int_equal(json_array_size(done), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(done, 0), "certificate_profile_name")), "ENDUSER");

	/* The new certificate is the stand-in's: it can be revoked. */
	memset(&info, 0, sizeof(info));
	assert_int_equal(x509_read_pem(r.issued_pem, strlen(r.issued_pem),
	    &info, &ei), RP_OK);
	assert_string_equal(info.serial, json_string_value(json_object_get(
	    json_array_get(done, 0), "serial")));
	rj = job(ACT_REVOKE, info.issuer, info.serial, REASON_SUPERSEDED);
	deliver(&rj, &r);
	assert_int_equal(r.outcome, CA_DONE);
	cert_info_free(&info);
	json_decref(done);

	/* Plain base64 of the DER. */
	control("{\"op\":\"enroll\",\"encoding\":\"single\"}");
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	assert_int_equal(csr_issued_check(csr, r.issued_pem,
	    strlen(r.issued_pem), &ei), RP_OK);
	free(csr);
}

/*
 * Without profile names the old certificate's type names both; without
 * a person the username is revportal-<old serial>.
 */
static void
test_enroll_defaults(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	json_t			*done, *e;
	char			*csr;

	(void)state;
	control("{\"op\":\"enroll\",\"certificate_profiles\":[\"personal\"],"
	    "\"end_entity_profiles\":[\"personal\"]}");
	csr = make_csr(0);
	j = enroll_job(csr);
	j.ejbca_cert_profile = "";
	j.ejbca_ee_profile = NULL;
	j.person = "";
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_DONE);
	done = server_get("/_enrolled");
	e = json_array_get(done, 0);
	assert_string_equal(json_string_value(json_object_get(e,
	    "certificate_profile_name")), "personal");
	assert_string_equal(json_string_value(json_object_get(e,
	    "end_entity_profile_name")), "personal");
	assert_string_equal(json_string_value(json_object_get(e,
	    "username")), "revportal-A1");
	json_decref(done);
	free(csr);
}

/*
 * Refusals and failures: unknown CA (404) and profile (400), a CSR that
 * does not verify (400) are permanent with EJBCA's words; 503 and 429
 * are tried again; 202 (an approval inside EJBCA) is permanent, never
 * asked again; an answer without a readable certificate is permanent.
 * A job without the CA name or the CSR is never sent.
 */
static void
test_enroll_refusals(void **state)
{
	struct ca_job		 j;
	struct ca_result	 r;
	json_t			*log;
	char			*csr, *bad;

	(void)state;
	csr = make_csr(0);
	bad = make_csr(1);
	j = enroll_job(csr);
	j.ejbca_ca_name = "OtherCA";
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 404);
	assert_non_null(strstr(r.message, "OtherCA"));
	j = enroll_job(csr);
	j.ejbca_cert_profile = "NOPE";
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 400);
	assert_non_null(strstr(r.message, "NOPE"));
	j = enroll_job(bad);
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 400);
	assert_non_null(strstr(r.message, "signature"));

	j = enroll_job(csr);
	fault(503, "enroll", NULL);
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	fault(429, "enroll", NULL);
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_RETRY);
	fault(201, "enroll", "{\"certificate\":\"bm90IGEgY2VydA==\"}");
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	fault(201, "enroll", "{\"certificate\":\"***\"}");
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	fault(200, "enroll", "not json");
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	control("{\"op\":\"fault\",\"kind\":\"approval\",\"on\":\"enroll\"}");
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(r.http_status, 202);
	assert_non_null(strstr(r.message, "approval"));
	/* Nothing was issued by any of these. */
	log = server_get("/_enrolled");
	assert_int_equal(json_array_size(log), 0);
	json_decref(log);

	/* Never sent. */
	control("{\"op\":\"reset\"}");
	j = enroll_job(csr);
	j.ejbca_ca_name = "";
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_non_null(strstr(r.message, "ejbca_ca_name"));
	j = enroll_job(NULL);
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	j = enroll_job(csr);
	j.action = ACT_REVOKE;
	enroll(&j, &r);
	assert_int_equal(r.outcome, CA_PERMANENT);
	assert_int_equal(log_len(), 0);
	free(csr);
	free(bad);
}

/* The stand-in refuses a body that deviates from the schema. */
static void
test_enroll_server_strict(void **state)
{
	static const char *const bodies[] = {
		"[]",
		"{\"certificate_request\":\"x\"}",
		"{\"certificate_request\":\"x\",\"certificate_profile_name\":"
		    "\"ENDUSER\",\"end_entity_profile_name\":\"EMPTY\","
		    "\"certificate_authority_name\":\"ManagementCA\","
		    "\"username\":\"u\",\"include_chain\":\"no\"}",
		"{\"certificate_request\":\"x\",\"certificate_profile_name\":"
		    "\"ENDUSER\",\"end_entity_profile_name\":\"EMPTY\","
		    "\"certificate_authority_name\":\"ManagementCA\","
		    "\"username\":\"u\",\"userName\":\"u\"}",
		"{\"certificate_request\":\"x\",\"certificate_profile_name\":"
		    "\"ENDUSER\",\"end_entity_profile_name\":\"EMPTY\","
		    "\"certificate_authority_name\":\"ManagementCA\","
		    "\"username\":\"u\",\"response_format\":\"PKCS7\"}",
		"{\"certificate_request\":\"not a csr\","
		    "\"certificate_profile_name\":\"ENDUSER\","
		    "\"end_entity_profile_name\":\"EMPTY\","
		    "\"certificate_authority_name\":\"ManagementCA\","
		    "\"username\":\"u\"}",
	};
	struct hc_resp	 r;
	char		 url[128];
	size_t		 i;

	(void)state;
	(void)snprintf(url, sizeof(url), "%s%spkcs10enroll", env.base, API);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(hc_request(env.hc, "POST", url,
		    "application/json", bodies[i], strlen(bodies[i]), &r),
		    RP_OK);
		if (r.status != 400)
			fail_msg("body %zu: HTTP %ld", i, r.status);
		hc_resp_free(&r);
	}
	/* The wrong method. */
	assert_int_equal(hc_request(env.hc, "PUT", url, "application/json",
	    "{}", 2, &r), RP_OK);
	assert_int_equal(r.status, 405);
	hc_resp_free(&r);
}

/* PUTs a revoke of CA_DN's serial with reason word; returns the status. */
static long
put_revoke(const char *serial, const char *word)
{
	struct hc_resp	 r;
	char		 url[256];
	long		 st;

	(void)snprintf(url, sizeof(url), "%s%s%s/%s/revoke?reason=%s",
	    env.base, API, CA_DN_ENC, serial, word);
	assert_int_equal(hc_request(env.hc, "PUT", url, NULL, NULL, 0, &r),
	    RP_OK);
	st = r.status;
	hc_resp_free(&r);
	return st;
}

/*
 * The stand-in speaks EJBCA's reference: the same reason words (as a
 * set), the revoke call's query parameters, paths and methods that are
 * the reference's; and a round of requests: each listed word revokes,
 * NOT_REVOKED and a word not listed are refused.
 */
static void
test_server_follows_reference(void **state)
{
	char		 words[UREF_WORDS_MAX][UREF_WORD_LEN];
	char		 serial[24];
	const char	*key, *w;
	json_t		*ref, *spec, *v, *op, *p, *sch;
	size_t		 n, i, k;
	int		 params;

	(void)state;
	ref = uref_load();
	spec = server_get("/_spec");
	n = uref_reasons(ref, words, UREF_WORDS_MAX);
	assert_int_equal(json_array_size(json_object_get(spec, "reasons")), n);
	json_array_foreach(json_object_get(spec, "reasons"), i, v)
		if (!uref_has(words, n, json_string_value(v)))
			fail_msg("the server's word %s is not the reference's",
			    json_string_value(v));
	op = uref_op(ref, "/v1/certificate/{issuer_dn}/"
	    "{certificate_serial_number}/revoke", "put");
	assert_non_null(op);
	params = 0;
	json_array_foreach(json_object_get(op, "parameters"), i, p)
		if (strcmp(json_string_value(json_object_get(p, "in")),
		    "query") == 0)
			params++;
	assert_int_equal(json_array_size(json_object_get(spec,
	    "revoke_params")), params);
	json_array_foreach(json_object_get(spec, "revoke_params"), i, v) {
		p = uref_param(op, json_string_value(v));
		if (p == NULL || strcmp(json_string_value(json_object_get(p,
		    "in")), "query") != 0)
			fail_msg("the server's parameter %s is not the "
			    "reference's", json_string_value(v));
	}
	json_object_foreach(json_object_get(spec, "paths"), key, v)
		if (uref_op(ref, key, json_string_value(v)) == NULL)
			fail_msg("the server's %s %s is not the reference's",
			    json_string_value(v), key);
	/* The enrolment's members and their types: the schemas'. */
	sch = json_object_get(json_object_get(json_object_get(ref,
	    "components"), "schemas"), "EnrollCertificateRestRequest");
	assert_int_equal(json_object_size(json_object_get(spec,
	    "enroll_fields")), json_object_size(json_object_get(sch,
	    "properties")));
	json_object_foreach(json_object_get(spec, "enroll_fields"), key, v)
		if (!json_equal(v, json_object_get(json_object_get(
		    json_object_get(sch, "properties"), key), "type")))
			fail_msg("the server's enrolment member %s (%s) is not "
			    "the reference's", key, json_string_value(v));
	sch = json_object_get(json_object_get(json_object_get(ref,
	    "components"), "schemas"), "CertificateEnrollmentRestResponse");
	json_object_foreach(json_object_get(spec, "enroll_answer"), key, v)
		if (!json_equal(v, json_object_get(json_object_get(
		    json_object_get(sch, "properties"), key), "type")))
			fail_msg("the server's answer member %s is not the "
			    "reference's", key);
	/* The round: every listed word but NOT_REVOKED revokes (a hold is
	 * lifted: REMOVE_FROM_CRL). */
	for (i = 0, k = 0; i < n; i++) {
		w = words[i];
		(void)snprintf(serial, sizeof(serial), "E%zX", i);
		add_cert(CA_DN, serial, strcmp(w, "REMOVE_FROM_CRL") == 0 ?
		    "CERTIFICATE_HOLD" : NULL);
		if (strcmp(w, "NOT_REVOKED") == 0) {
			assert_int_equal(put_revoke(serial, w), 400);
			continue;
		}
		if (put_revoke(serial, w) != 200)
			fail_msg("the server refuses the reference's %s", w);
		k++;
	}
	assert_int_equal(k, n - 1);
	add_cert(CA_DN, "EFF", NULL);
	assert_int_equal(put_revoke("EFF", "KEY_COMPROMISED"), 400);
	json_decref(spec);
	json_decref(ref);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup(f, reset)
	const struct CMUnitTest tests[] = {
		T(test_revoke_then_status_confirms),
		T(test_reason_words),
		T(test_suspend_and_reactivate),
		T(test_message_is_not_believed),
		T(test_reactivate_twice_is_done),
		T(test_pending_approval_then_check),
		T(test_not_found_permanent),
		T(test_already_revoked),
		T(test_unavailable_retry),
		T(test_odd_answers),
		T(test_hang_retry),
		T(test_invalid_job_never_sent),
		T(test_issuer_encoding),
		T(test_base_url_slash),
		T(test_no_client_certificate),
		T(test_recover_unsupported),
		T(test_enroll_issues),
		T(test_enroll_defaults),
		T(test_enroll_refusals),
		T(test_enroll_server_strict),
		T(test_server_follows_reference),
	};
#undef T

	return cmocka_run_group_tests(tests, setup, teardown);
}
