/*
 * Tests of revchk.c, DESIGN §3 step 5, against the test PKI of
 * tests/integration/qpki.sh and its real `openssl ocsp` responder: good,
 * revoked and unknown answers; the cache (used while in force, ignored
 * once out of force or when its answer does not verify for the
 * certificate, and enough on its own with every server stopped); a
 * responder that is down with and without a CRL to fall back on; a CRL
 * that lists the certificate and one signed by another key; a response
 * signed by an unrelated key, a stale one, and a good one judged three
 * days later; the unsigned answers that fall back to the CRL (tryLater,
 * garbage) and the signed ones that must not (another nonce, another
 * certificate); and plain http to a host that is not loopback refused by
 * policy when allow_http_any is off.  The review fixes: a CRL whose
 * issuing distribution point names another partition of the CA is
 * refused, and a revocation with reason certificateHold (OCSP or CRL) is
 * never answered from the cache, as the CA may lift it.
 *
 * The group setup makes the PKI in a temporary directory and a few more
 * certificates (see SETUP), starts qpki's servers under a supervising
 * shell that stops them when it is told to or when this test dies, and
 * three servers of its own (tests/integration/ocspfixed.py): a CRL signed
 * by an unrelated key, a responder answering whatever file the test
 * puts in place, and a CRL distribution point serving whatever CRL the
 * test puts in place (swap.crl).  Every test gets a fresh migrated database, so that the
 * cache starts empty.  Run from the top of the repository.
 */
#include "unit.h"
#include "unit_db.h"
#include "unit_proc.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

/*
 * Makes the PKI (qpki_init) in $1 and, with the CA's key, these more
 * holders (NAME.pem), each with the AIA OCSP URL and the CRL
 * distribution point given ("-" for none), in the CA's index ("index",
 * so its responder knows them) or not:
 *   unknown     the responder, qpki's CRL; not in the index
 *   crlrevoked  a dead responder, qpki's CRL; revoked (qpki_revoke)
 *   cdponly     no AIA, qpki's CRL
 *   badcrl      a dead responder, the CRL of port $2 (signed by
 *               foreign.key: badcrl.der)
 *   far         http://192.0.2.1/ for both (TEST-NET-1: never reached)
 *   fixed       the responder of port $3 (the file fixed.resp), qpki's
 *               CRL; in the index
 *   fixednocdp  the responder of port $3, no CDP
 *   ocsponly    the responder, no CDP; in the index
 *   part        no AIA, the CRL of port $4 (swap.crl)
 *   mirror      no AIA, the CRL of port $4 and http://mirror.invalid/ca.crl
 *   crlheld     no AIA, the CRL of port $4
 *   held        the responder of port $3, no CDP
 * and these answers for the port $3 responder: fixed-nonce.resp (good
 * for fixed, with the nonce of another request), fixed-plain.resp (good
 * for fixed, no nonce), alice-plain.resp (good for alice, no nonce),
 * trylater.resp (the unsigned status tryLater), and for held, signed by
 * the delegated responder without a nonce: held-good.resp,
 * held-hold.resp (revoked, certificateHold), held-final.resp (revoked,
 * keyCompromise).  CRLs for port $4, signed by the CA's key, fresh: with
 * an issuing distribution point naming http://127.0.0.1:$4/other.crl
 * (part-other.crl), http://127.0.0.1:$4/ca.crl (part-right.crl),
 * http://mirror.invalid/ca.crl (part-mirror.crl), a name relative to
 * the issuer (part-relative.crl), or no name but onlyContainsUserCerts
 * (part-user.crl); without one, listing crlheld as certificateHold
 * (hold.crl), as keyCompromise (final.crl), or nothing (clean.crl, at
 * first in place as swap.crl).
 */
static const char SETUP[] =
	"set -eu\n"
	". tests/integration/qpki.sh\n"
	"d=$1 bad=$2 fixed=$3 swap=$4\n"
	"qpki_init \"$d\"\n"
	". \"$d/env\"\n"
	"cd \"$d\"\n"
	"ocsp=http://127.0.0.1:$QPKI_OCSP_PORT/\n"
	"dead=http://127.0.0.1:$QPKI_DEAD_PORT/\n"
	"crl=http://127.0.0.1:$QPKI_CRL_PORT/ca.crl\n"
	"swapcrl=http://127.0.0.1:$swap/ca.crl\n"
	"mk() {\n"
	"	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \\\n"
	"	    -out \"$1.key\" 2>/dev/null\n"
	"	openssl req -new -key \"$1.key\" -out \"$1.csr\" \\\n"
	"	    -subj \"/C=SI/CN=Test $1/serialNumber=PNOSI-2000000000$5\"\n"
	"	{\n"
	"		printf '[ x ]\\nbasicConstraints = critical, CA:false\\n'\n"
	"		printf 'keyUsage = critical, nonRepudiation, digitalSignature\\n'\n"
	"		printf 'subjectKeyIdentifier = hash\\n'\n"
	"		printf 'authorityKeyIdentifier = keyid:always\\n'\n"
	"		if [ \"$2\" != - ]; then\n"
	"			printf 'authorityInfoAccess = OCSP;URI:%s\\n' \"$2\"\n"
	"		fi\n"
	"		if [ \"$3\" != - ]; then\n"
	"			printf 'crlDistributionPoints = URI:%s\\n' \"$3\"\n"
	"		fi\n"
	"	} >\"$1.ext\"\n"
	"	if [ \"$4\" = index ]; then\n"
	"		openssl ca -batch -notext -config ca.cnf -name ca -days 30 \\\n"
	"		    -extfile \"$1.ext\" -extensions x -in \"$1.csr\" \\\n"
	"		    -out \"$1.pem\" 2>/dev/null\n"
	"	else\n"
	"		openssl x509 -req -in \"$1.csr\" -CA ca.pem -CAkey ca.key \\\n"
	"		    -set_serial \"0x7e$(openssl rand -hex 8)\" -days 30 \\\n"
	"		    -extfile \"$1.ext\" -extensions x -out \"$1.pem\" 2>/dev/null\n"
	"	fi\n"
	"}\n"
	"mk unknown \"$ocsp\" \"$crl\" - 01\n"
	"mk crlrevoked \"$dead\" \"$crl\" index 02\n"
	"mk cdponly - \"$crl\" index 03\n"
	"mk badcrl \"$dead\" \"http://127.0.0.1:$bad/ca.crl\" - 04\n"
	"mk far http://192.0.2.1/ http://192.0.2.1/ca.crl - 05\n"
	"mk fixed \"http://127.0.0.1:$fixed/\" \"$crl\" index 06\n"
	"mk fixednocdp \"http://127.0.0.1:$fixed/\" - - 07\n"
	"mk ocsponly \"$ocsp\" - index 08\n"
	"mk part - \"$swapcrl\" - 09\n"
	"mk mirror - \"$swapcrl, URI:http://mirror.invalid/ca.crl\" - 10\n"
	"mk crlheld - \"$swapcrl\" - 11\n"
	"mk held \"http://127.0.0.1:$fixed/\" - - 12\n"
	"qpki_revoke \"$d\" crlrevoked\n"
	"answer() {\n"
	"	openssl ocsp -index index.txt -rsigner ocsp.pem -rkey ocsp.key \\\n"
	"	    -CA ca.pem -ndays 1 -reqin \"$1\" -respout \"$2\" >/dev/null 2>&1\n"
	"}\n"
	"openssl ocsp -issuer ca.pem -cert fixed.pem -reqout fixed-nonce.req\n"
	"answer fixed-nonce.req fixed-nonce.resp\n"
	"openssl ocsp -issuer ca.pem -cert fixed.pem -no_nonce \\\n"
	"    -reqout fixed-plain.req\n"
	"answer fixed-plain.req fixed-plain.resp\n"
	"openssl ocsp -issuer ca.pem -cert alice.pem -no_nonce \\\n"
	"    -reqout alice-plain.req\n"
	"answer alice-plain.req alice-plain.resp\n"
	"printf '\\060\\003\\012\\001\\003' >trylater.resp\n"
	"cp trylater.resp fixed.resp\n"
	"/usr/bin/python3 - \"$d\" \"$swap\" <<'EOF'\n"
	"import datetime\n"
	"import sys\n"
	"from cryptography import x509\n"
	"from cryptography.hazmat.primitives import hashes, serialization\n"
	"from cryptography.x509 import ocsp\n"
	"from cryptography.x509.oid import NameOID\n"
	"d, swap = sys.argv[1], sys.argv[2]\n"
	"with open(d + '/ca.pem', 'rb') as f:\n"
	"    ca = x509.load_pem_x509_certificate(f.read())\n"
	"with open(d + '/foreign.key', 'rb') as f:\n"
	"    key = serialization.load_pem_private_key(f.read(), password=None)\n"
	"now = datetime.datetime.utcnow()\n"
	"crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)\n"
	"       .last_update(now - datetime.timedelta(hours=1))\n"
	"       .next_update(now + datetime.timedelta(days=1))\n"
	"       .sign(key, hashes.SHA256()))\n"
	"with open(d + '/badcrl.der', 'wb') as f:\n"
	"    f.write(crl.public_bytes(serialization.Encoding.DER))\n"
	"def cert(n):\n"
	"    with open(d + '/' + n + '.pem', 'rb') as f:\n"
	"        return x509.load_pem_x509_certificate(f.read())\n"
	"def key(n):\n"
	"    with open(d + '/' + n + '.key', 'rb') as f:\n"
	"        return serialization.load_pem_private_key(f.read(), None)\n"
	"def write(n, obj):\n"
	"    with open(d + '/' + n, 'wb') as f:\n"
	"        f.write(obj.public_bytes(serialization.Encoding.DER))\n"
	"hour = datetime.timedelta(hours=1)\n"
	"def mkcrl(n, entries=(), idp=None):\n"
	"    b = x509.CertificateRevocationListBuilder().issuer_name(\n"
	"        ca.subject).last_update(now - hour).next_update(\n"
	"        now + 24 * hour)\n"
	"    if idp is not None:\n"
	"        b = b.add_extension(idp, critical=True)\n"
	"    for serial, reason in entries:\n"
	"        e = x509.RevokedCertificateBuilder().serial_number(\n"
	"            serial).revocation_date(now - 2 * hour).add_extension(\n"
	"            x509.CRLReason(reason), critical=False).build()\n"
	"        b = b.add_revoked_certificate(e)\n"
	"    write(n, b.sign(key('ca'), hashes.SHA256()))\n"
	"def idp(full=None, rel=None, user=False):\n"
	"    return x509.IssuingDistributionPoint(full_name=full,\n"
	"        relative_name=rel, only_contains_user_certs=user,\n"
	"        only_contains_ca_certs=False, only_some_reasons=None,\n"
	"        indirect_crl=False, only_contains_attribute_certs=False)\n"
	"def uri(u):\n"
	"    return [x509.UniformResourceIdentifier(u)]\n"
	"here = 'http://127.0.0.1:%s/' % swap\n"
	"mkcrl('part-other.crl', idp=idp(full=uri(here + 'other.crl')))\n"
	"mkcrl('part-right.crl', idp=idp(full=uri(here + 'ca.crl')))\n"
	"mkcrl('part-mirror.crl',\n"
	"      idp=idp(full=uri('http://mirror.invalid/ca.crl')))\n"
	"rdn = x509.RelativeDistinguishedName(\n"
	"    [x509.NameAttribute(NameOID.COMMON_NAME, 'ca.crl')])\n"
	"mkcrl('part-relative.crl', idp=idp(rel=rdn))\n"
	"mkcrl('part-user.crl', idp=idp(user=True))\n"
	"held = cert('crlheld').serial_number\n"
	"mkcrl('hold.crl', [(held, x509.ReasonFlags.certificate_hold)])\n"
	"mkcrl('final.crl', [(held, x509.ReasonFlags.key_compromise)])\n"
	"mkcrl('clean.crl')\n"
	"rsig = cert('ocsp')\n"
	"def answer(n, status, reason=None):\n"
	"    revoked = status == ocsp.OCSPCertStatus.REVOKED\n"
	"    b = ocsp.OCSPResponseBuilder().add_response(\n"
	"        cert=cert('held'), issuer=ca, algorithm=hashes.SHA1(),\n"
	"        cert_status=status, this_update=now - hour,\n"
	"        next_update=now + 24 * hour,\n"
	"        revocation_time=now - 2 * hour if revoked else None,\n"
	"        revocation_reason=reason,\n"
	"    ).responder_id(ocsp.OCSPResponderEncoding.HASH, rsig)\n"
	"    b = b.certificates([rsig])\n"
	"    write(n, b.sign(key('ocsp'), hashes.SHA256()))\n"
	"answer('held-good.resp', ocsp.OCSPCertStatus.GOOD)\n"
	"answer('held-hold.resp', ocsp.OCSPCertStatus.REVOKED,\n"
	"       x509.ReasonFlags.certificate_hold)\n"
	"answer('held-final.resp', ocsp.OCSPCertStatus.REVOKED,\n"
	"       x509.ReasonFlags.key_compromise)\n"
	"EOF\n"
	"cp clean.crl swap.crl\n";

/*
 * The supervisor of qpki's servers: starts them, says so with the file
 * ready, and stops them (qpki_stop) on SIGTERM, which it also gets when
 * this test dies (up_spawn()'s parent-death signal).
 */
static const char SUPERVISE[] =
	". tests/integration/qpki.sh\n"
	"trap 'qpki_stop \"$1\"; exit 0' TERM INT\n"
	"qpki_start \"$1\" || exit 1\n"
	": >\"$1/ready\"\n"
	"while :; do sleep 1 & wait $!; done\n";

static const char STOP[] =
	". tests/integration/qpki.sh\n"
	"qpki_stop \"$1\"\n";

#define LL(v)		((long long)(v))	/* for %lld */
#define HOUR_MS		(3600 * 1000LL)
#define DAY_MS		(24 * HOUR_MS)

struct env {
	char	 dir[UP_DIR_MAX];
	char	 pki[UP_DIR_MAX + 8];
	pid_t	 supervisor;
	pid_t	 bad_pid;	/* the CRL signed by another key */
	pid_t	 fixed_pid;	/* the responder answering fixed.resp */
	pid_t	 swap_pid;	/* the CRL distribution point: swap.crl */
	int	 bad_port;
	int	 fixed_port;
	int	 swap_port;
};

static struct env	 env;

/* Runs a shell script with the PKI directory and args. */
static int
run_script(const char *script, const char *a2, const char *a3,
    const char *a4)
{
	char *const	 argv[] = { "bash", "-c", (char *)script, "bash",
	    env.pki, (char *)a2, (char *)a3, (char *)a4, NULL };
	char		 log[UP_DIR_MAX + 16];

	(void)snprintf(log, sizeof(log), "%s/setup.log", env.dir);
	return up_run(argv, log);
}

/* Starts ocspfixed.py on port, answering file with ctype. */
static pid_t
start_fixed(int port, const char *file, const char *ctype)
{
	char	 p[16], path[UP_DIR_MAX + 32], log[UP_DIR_MAX + 32];
	char	*argv[] = { "python3", "tests/integration/ocspfixed.py", p,
	    path, (char *)ctype, NULL };
	pid_t	 pid;

	(void)snprintf(p, sizeof(p), "%d", port);
	(void)snprintf(path, sizeof(path), "%s/%s", env.pki, file);
	(void)snprintf(log, sizeof(log), "%s/fixed-%d.log", env.dir, port);
	if ((pid = up_spawn(argv, log)) == -1)
		return -1;
	if (up_wait_listen(port, pid, 10000) == -1) {
		up_stop(pid);
		return -1;
	}
	return pid;
}

static int
setup(void **state)
{
	char	 ready[UP_DIR_MAX + 16], bad[16], fixed[16], swap[16];
	char	*argv[] = { "bash", "-c", (char *)SUPERVISE, "bash", env.pki,
	    NULL };
	char	 log[UP_DIR_MAX + 16];
	int	 i;

	(void)state;
	memset(&env, 0, sizeof(env));
	if (up_tmpdir("rp-revchk", env.dir) == -1)
		return -1;
	(void)snprintf(env.pki, sizeof(env.pki), "%s/pki", env.dir);
	do {
		env.bad_port = up_free_port();
		env.fixed_port = up_free_port();
		env.swap_port = up_free_port();
	} while (env.bad_port == env.fixed_port ||
	    env.swap_port == env.bad_port || env.swap_port == env.fixed_port);
	(void)snprintf(bad, sizeof(bad), "%d", env.bad_port);
	(void)snprintf(fixed, sizeof(fixed), "%d", env.fixed_port);
	(void)snprintf(swap, sizeof(swap), "%d", env.swap_port);
	if (env.bad_port <= 0 || env.fixed_port <= 0 || env.swap_port <= 0 ||
	    run_script(SETUP, bad, fixed, swap) != 0) {
		fprintf(stderr, "test_revchk: setup failed; see %s/setup.log "
		    "and %s/qpki.log\n", env.dir, env.pki);
		return -1;
	}
	(void)snprintf(log, sizeof(log), "%s/supervisor.log", env.dir);
	(void)snprintf(ready, sizeof(ready), "%s/ready", env.pki);
	if ((env.supervisor = up_spawn(argv, log)) == -1)
		return -1;
	for (i = 0; access(ready, F_OK) != 0; i++) {
		if (i > 300 || waitpid(env.supervisor, NULL, WNOHANG) ==
		    env.supervisor) {
			fprintf(stderr, "test_revchk: qpki_start failed; see "
			    "%s\n", log);
			return -1;
		}
		up_sleep_ms(50);
	}
	if ((env.bad_pid = start_fixed(env.bad_port, "badcrl.der",
	    "application/pkix-crl")) == -1 ||
	    (env.fixed_pid = start_fixed(env.fixed_port, "fixed.resp",
	    "application/ocsp-response")) == -1 ||
	    (env.swap_pid = start_fixed(env.swap_port, "swap.crl",
	    "application/pkix-crl")) == -1) {
		fprintf(stderr, "test_revchk: ocspfixed.py did not start\n");
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	up_stop(env.swap_pid);
	up_stop(env.fixed_pid);
	up_stop(env.bad_pid);
	up_stop(env.supervisor);
	/* Whatever the supervisor could not stop in time. */
	(void)run_script(STOP, NULL, NULL, NULL);
	up_rmrf(env.dir);
	return 0;
}

/* Reads the PEM certificate pki/name.pem. */
static X509 *
load_cert(const char *name)
{
	char	 path[UP_DIR_MAX + 64];
	FILE	*f;
	X509	*x;

	(void)snprintf(path, sizeof(path), "%s/%s.pem", env.pki, name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (x == NULL)
		fail_msg("cannot read %s", path);
	return x;
}

/* A checker with the default settings, allow_http_any as given. */
static struct rev_ctx *
ctx_new(int http_any)
{
	struct config	 cfg;
	struct rev_ctx	*rc;
	char		 err[256];

	conf_defaults(&cfg);
	cfg.sig_http_any = http_any;
	if ((rc = rev_ctx_new(&cfg, err, sizeof(err))) == NULL)
		fail_msg("rev_ctx_new: %s", err);
	return rc;
}

/* rev_check() of holder name (issued by ca.pem) at now. */
static enum sig_why
check_at(struct rev_ctx *rc, struct udb *t, const char *name, int64_t now)
{
	struct signer	 s;
	enum sig_why	 why;

	memset(&s, 0, sizeof(s));
	s.cert = load_cert(name);
	s.issuer_cert = load_cert("ca");
	why = rev_check(rc, t->db, &s, now);
	X509_free(s.cert);
	X509_free(s.issuer_cert);
	return why;
}

/* The same with a checker of the default settings. */
static enum sig_why
check(struct udb *t, const char *name, int64_t now)
{
	struct rev_ctx	*rc;
	enum sig_why	 why;

	rc = ctx_new(1);
	why = check_at(rc, t, name, now);
	rev_ctx_free(rc);
	return why;
}

/* Asserts rev_check() of name at now gives want, naming both if not. */
static void
expect(struct udb *t, const char *name, int64_t now, enum sig_why want)
{
	enum sig_why	 got;

	got = check(t, name, now);
	if (got != want)
		fail_msg("%s: %s, wanted %s", name, sig_why_name(got),
		    sig_why_name(want));
}

static long long cache_q(struct udb *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs the SQL fmt on the test database: the first column it gives. */
static long long
cache_q(struct udb *t, const char *fmt, ...)
{
	char	 sql[256];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(sql))
		fail_msg("SQL too long: %s", fmt);
	return udb_raw(t, sql);
}

static long long
cache_rows(struct udb *t, const char *kind)
{
	char	 sql[128];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
	    "revocation_cache WHERE kind = '%s'", kind);
	return udb_raw(t, sql);
}

/* Copies pki/from to pki/to. */
static void
pki_copy(const char *from, const char *to)
{
	char	 src[UP_DIR_MAX + 64], dst[UP_DIR_MAX + 64];
	char	*argv[] = { "cp", src, dst, NULL };

	(void)snprintf(src, sizeof(src), "%s/%s", env.pki, from);
	(void)snprintf(dst, sizeof(dst), "%s/%s", env.pki, to);
	assert_int_equal(up_run(argv, NULL), 0);
}

/* Puts pki/from in place of the file the fixed responder answers. */
static void
fixed_answer(const char *from)
{
	pki_copy(from, "fixed.resp");
}

/* Puts pki/from in place of the CRL of the swap server; NULL removes it,
 * so that the server answers 500. */
static void
swap_crl(const char *from)
{
	char	 path[UP_DIR_MAX + 64];

	if (from != NULL) {
		pki_copy(from, "swap.crl");
		return;
	}
	(void)snprintf(path, sizeof(path), "%s/swap.crl", env.pki);
	assert_int_equal(unlink(path), 0);
}

/*
 * Puts the bytes of pki/from in place of every cached OCSP answer, as a
 * writer of the cache other than rev_check() could have left them.
 */
static void
cache_set_ocsp(struct udb *t, const char *from)
{
	char		 path[UP_DIR_MAX + 64];
	unsigned char	 der[8192];
	size_t		 len;
	FILE		*f;
	sqlite3		*h;
	sqlite3_stmt	*st;

	(void)snprintf(path, sizeof(path), "%s/%s", env.pki, from);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	len = fread(der, 1, sizeof(der), f);
	assert_true(feof(f) && len > 0);
	(void)fclose(f);
	assert_int_equal(sqlite3_open(t->cfg.database, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "UPDATE revocation_cache SET "
	    "der = ? WHERE kind = 'ocsp'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_blob(st, 1, der, (int)len,
	    SQLITE_TRANSIENT), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(h), 1);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/*
 * check_at() with the log (stderr) caught in a temporary file: returns
 * rev_check()'s answer and puts the log lines it wrote in log,
 * NUL-terminated (cut to logsz - 1 bytes); they are also passed on to
 * stderr.  stderr is put back before anything is asserted.
 */
static enum sig_why
check_logged(struct rev_ctx *rc, struct udb *t, const char *name,
    int64_t now, char *log, size_t logsz)
{
	enum sig_why	 why;
	FILE		*f;
	size_t		 n;
	int		 saved, moved;

	assert_true(logsz > 0);
	assert_non_null(f = tmpfile());
	(void)fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	moved = dup2(fileno(f), STDERR_FILENO) != -1;
	why = check_at(rc, t, name, now);
	(void)fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	(void)close(saved);
	assert_true(moved);
	rewind(f);
	n = fread(log, 1, logsz - 1, f);
	log[n] = '\0';
	assert_int_equal(ferror(f), 0);
	(void)fclose(f);
	(void)fputs(log, stderr);
	return why;
}

/*
 * alice is good; the answer is cached (one OCSP row, fetched now) and a
 * second call later answers from it (fetched_at unchanged).
 */
static void
test_good_and_cached(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	expect(t, "alice", now, SIG_OK);
	assert_int_equal(cache_rows(t, "ocsp"), 1);
	assert_int_equal(cache_rows(t, "crl"), 0);
	assert_int_equal(cache_q(t, "SELECT count(*) FROM revocation_cache "
	    "WHERE fetched_at = %lld", LL(now)), 1);
	/* Kept until the response's nextUpdate, a day (-ndays 1) away. */
	assert_true(cache_q(t, "SELECT next_update - %lld FROM "
	    "revocation_cache", LL(now)) > DAY_MS - HOUR_MS);
	expect(t, "alice", now + 60000, SIG_OK);
	assert_int_equal(cache_q(t, "SELECT count(*) FROM revocation_cache "
	    "WHERE fetched_at = %lld", LL(now)), 1);
	/* An RSA holder of the same CA is good as well. */
	expect(t, "rsa2048", now, SIG_OK);
	assert_int_equal(cache_rows(t, "ocsp"), 2);
}

/* revoked: SIG_REVOKED by OCSP, and that answer is cached too. */
static void
test_revoked(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	expect(t, "revoked", now, SIG_REVOKED);
	assert_int_equal(cache_rows(t, "ocsp"), 1);
	expect(t, "revoked", now + 1000, SIG_REVOKED);
	assert_int_equal(cache_q(t, "SELECT fetched_at FROM "
	    "revocation_cache"), now);
}

/* A certificate of the CA that its responder does not know: refused,
 * not cached, and the CRL (which does not list it) is not asked. */
static void
test_unknown(void **state)
{
	struct udb	*t = *state;

	expect(t, "unknown", rp_now_ms(), SIG_REV_UNKNOWN);
	assert_int_equal(cache_rows(t, "ocsp") + cache_rows(t, "crl"), 0);
}

/*
 * No responder and no CDP: unavailable, at once (connection refused),
 * nothing cached.  "At once" is checked by why, not by the clock: the
 * one OCSP attempt failed on the refused connection (not a timeout) and
 * no CRL was asked.
 */
static void
test_ocsp_down_no_crl(void **state)
{
	struct udb	*t = *state;
	struct rev_ctx	*rc;
	char		 log[4096];

	rc = ctx_new(1);
	assert_int_equal(check_logged(rc, t, "ocspdown", rp_now_ms(), log,
	    sizeof(log)), SIG_REV_UNAVAILABLE);
	rev_ctx_free(rc);
	assert_non_null(strstr(log, "event=revchk_ocsp "));
	assert_true(strstr(log, "onnect") != NULL ||
	    strstr(log, "refused") != NULL);
	assert_null(strstr(log, "imeout"));
	assert_null(strstr(log, "event=revchk_crl "));
	assert_int_equal(cache_rows(t, "ocsp") + cache_rows(t, "crl"), 0);
}

/* No responder: the CRL answers (and is cached by its URL); a holder
 * without AIA at all goes to the CRL too; one the CRL lists is revoked. */
static void
test_crl_fallback(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	expect(t, "crlonly", now, SIG_OK);
	assert_int_equal(cache_rows(t, "crl"), 1);
	assert_int_equal(cache_rows(t, "ocsp"), 0);
	assert_int_equal(cache_q(t, "SELECT count(*) FROM revocation_cache "
	    "WHERE key LIKE 'http://127.0.0.1:%%/ca.crl'"), 1);
	expect(t, "cdponly", now, SIG_OK);
	expect(t, "crlrevoked", now, SIG_REVOKED);
	/* All three from the one cached CRL. */
	assert_int_equal(cache_rows(t, "crl"), 1);
	assert_int_equal(cache_q(t, "SELECT fetched_at FROM "
	    "revocation_cache"), now);
}

/* The same revoked holder with an empty cache: revoked by the CRL. */
static void
test_crl_revoked(void **state)
{
	struct udb	*t = *state;

	expect(t, "crlrevoked", rp_now_ms(), SIG_REVOKED);
	assert_int_equal(cache_rows(t, "crl"), 1);
}

/* The CRL (nextUpdate in 7 days) judged 8 days on: refused, not
 * cached. */
static void
test_crl_stale(void **state)
{
	struct udb	*t = *state;

	expect(t, "crlonly", rp_now_ms() + 8 * DAY_MS, SIG_CRL_INVALID);
	assert_int_equal(cache_rows(t, "crl"), 0);
}

/* A CRL under the CA's name signed by another key: refused, not
 * cached. */
static void
test_crl_wrong_key(void **state)
{
	struct udb	*t = *state;

	expect(t, "badcrl", rp_now_ms(), SIG_CRL_INVALID);
	assert_int_equal(cache_rows(t, "crl"), 0);
}

/* A response signed by an unrelated key: refused as such, and the CRL
 * (which would say good) is not asked. */
static void
test_ocsp_foreign_signer(void **state)
{
	struct udb	*t = *state;

	expect(t, "ocspforeign", rp_now_ms(), SIG_OCSP_BAD_SIGNER);
	assert_int_equal(cache_rows(t, "ocsp") + cache_rows(t, "crl"), 0);
}

/* A response of the right signer whose nextUpdate is two days past:
 * stale, and no fallback to the CRL either. */
static void
test_ocsp_stale(void **state)
{
	struct udb	*t = *state;

	expect(t, "ocspstale", rp_now_ms(), SIG_OCSP_STALE);
	assert_int_equal(cache_rows(t, "ocsp") + cache_rows(t, "crl"), 0);
}

/*
 * A good response judged three days on (past its nextUpdate, one day
 * away) with an empty cache: stale; judged an hour before its
 * thisUpdate: stale too.  Three years on the delegated responder's
 * certificate (two years) has expired: its signature no longer counts.
 */
static void
test_good_response_later_is_stale(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	expect(t, "alice", now + 3 * DAY_MS, SIG_OCSP_STALE);
	expect(t, "alice", now - HOUR_MS, SIG_OCSP_STALE);
	expect(t, "alice", now + 3 * 365 * DAY_MS, SIG_OCSP_BAD_SIGNER);
	assert_int_equal(cache_rows(t, "ocsp"), 0);
	/* Just inside the clock skew (300 s) it still counts; past it
	 * not. */
	expect(t, "alice", now + DAY_MS + 200 * 1000, SIG_OK);
	expect(t, "alice", now + DAY_MS + 600 * 1000, SIG_OCSP_STALE);
}

/*
 * The cache answers while its entry is in force and not after: with its
 * next_update moved a second after the first fetch, a call half a second
 * on uses it, a call two seconds on fetches again (fetched_at moves, and
 * next_update is the response's again).
 */
static void
test_cache_expiry(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	expect(t, "alice", now, SIG_OK);
	(void)cache_q(t, "UPDATE revocation_cache SET next_update = %lld",
	    LL(now + 1000));
	expect(t, "alice", now + 500, SIG_OK);
	assert_int_equal(cache_q(t, "SELECT fetched_at FROM "
	    "revocation_cache"), now);
	expect(t, "alice", now + 2000, SIG_OK);
	assert_int_equal(cache_q(t, "SELECT fetched_at FROM "
	    "revocation_cache"), now + 2000);
	assert_true(cache_q(t, "SELECT next_update FROM revocation_cache") >
	    now + DAY_MS - HOUR_MS);
	assert_int_equal(cache_rows(t, "ocsp"), 1);
}

/*
 * A cached answer is verified again before it counts: alice's good
 * response put in the place of revoked's does not make revoked good,
 * and garbage in alice's place is not believed (both are fetched
 * again).
 */
static void
test_cache_verified_again(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	expect(t, "revoked", now, SIG_REVOKED);
	expect(t, "alice", now + 1, SIG_OK);
	(void)cache_q(t, "UPDATE revocation_cache SET der = (SELECT der FROM "
	    "revocation_cache WHERE fetched_at = %lld) WHERE fetched_at = "
	    "(SELECT min(fetched_at) FROM revocation_cache)", LL(now + 1));
	assert_int_equal(cache_q(t, "SELECT count(DISTINCT der) FROM "
	    "revocation_cache"), 1);
	expect(t, "revoked", now + 2, SIG_REVOKED);
	assert_int_equal(cache_q(t, "SELECT count(*) FROM revocation_cache "
	    "WHERE fetched_at = %lld", LL(now + 2)), 1);
	(void)cache_q(t, "UPDATE revocation_cache SET der = x'300a' WHERE "
	    "fetched_at = %lld", LL(now + 1));
	expect(t, "alice", now + 3, SIG_OK);
	assert_int_equal(cache_q(t, "SELECT count(*) FROM revocation_cache "
	    "WHERE fetched_at = %lld", LL(now + 3)), 1);
}

/*
 * Unsigned answers (tryLater, bytes that are no OCSP response) are no
 * answer: the CRL decides, and without a CDP the refusal names the
 * invalid OCSP answer.
 */
static void
test_unsigned_answers_fall_back(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();
	static const char *const files[] = { "trylater.resp", "ocsp.pem" };
	size_t		 i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fixed_answer(files[i]);
		expect(t, "fixed", now, SIG_OK);
		assert_int_equal(cache_rows(t, "crl"), 1);
		assert_int_equal(cache_rows(t, "ocsp"), 0);
		expect(t, "fixednocdp", now, SIG_OCSP_INVALID);
	}
}

/*
 * Signed answers that do not fit the question are refused with no
 * fallback: the nonce of another request (a replay), a response about
 * another certificate.  A good response without a nonce that is fresh
 * counts, and is cached.
 */
static void
test_signed_answers_checked(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	fixed_answer("fixed-nonce.resp");
	expect(t, "fixed", now, SIG_OCSP_INVALID);
	fixed_answer("alice-plain.resp");
	expect(t, "fixed", now, SIG_OCSP_INVALID);
	assert_int_equal(cache_rows(t, "ocsp") + cache_rows(t, "crl"), 0);
	fixed_answer("fixed-plain.resp");
	expect(t, "fixed", now, SIG_OK);
	assert_int_equal(cache_rows(t, "ocsp"), 1);
	fixed_answer("trylater.resp");
}

/*
 * A refetch never puts an older answer in the place of a newer one: a
 * cached entry that claims a later thisUpdate (and holds bytes that do
 * not verify, so that the responder is asked) stays as it is, while the
 * answer itself still counts.
 */
static void
test_cache_keeps_newer(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	fixed_answer("fixed-plain.resp");
	expect(t, "fixed", now, SIG_OK);
	(void)cache_q(t, "UPDATE revocation_cache SET der = x'300a', "
	    "this_update = this_update + 3600000");
	expect(t, "fixed", now + 1000, SIG_OK);
	assert_int_equal(cache_q(t, "SELECT count(*) FROM revocation_cache "
	    "WHERE der = x'300a' AND fetched_at = %lld", LL(now)), 1);
	fixed_answer("trylater.resp");
}

/*
 * RFC 5280 6.3.3 (b)(2)(i): a CRL of the CA, properly signed and served
 * at the certificate's distribution point, whose issuing distribution
 * point names another distribution point is the CRL of another
 * partition and refused; so is one named relative to the issuer.  One
 * naming the URL fetched, or another URI of the certificate's own
 * distribution points (mirror's second URI), is accepted and cached; so
 * is one whose issuing distribution point names none.
 */
static void
test_crl_idp_partition(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	swap_crl("part-other.crl");
	expect(t, "part", now, SIG_CRL_INVALID);
	expect(t, "mirror", now, SIG_CRL_INVALID);
	swap_crl("part-relative.crl");
	expect(t, "part", now, SIG_CRL_INVALID);
	/* mirror.invalid is a URI of mirror's, not of part's. */
	swap_crl("part-mirror.crl");
	expect(t, "part", now, SIG_CRL_INVALID);
	assert_int_equal(cache_rows(t, "crl"), 0);
	expect(t, "mirror", now, SIG_OK);
	assert_int_equal(cache_rows(t, "crl"), 1);
	/* The same CRL from the cache is refused for part as well. */
	expect(t, "part", now, SIG_CRL_INVALID);
	(void)cache_q(t, "DELETE FROM revocation_cache");
	swap_crl("part-right.crl");
	expect(t, "part", now, SIG_OK);
	expect(t, "mirror", now, SIG_OK);
	assert_int_equal(cache_rows(t, "crl"), 1);
	(void)cache_q(t, "DELETE FROM revocation_cache");
	swap_crl("part-user.crl");
	expect(t, "part", now, SIG_OK);
	assert_int_equal(cache_rows(t, "crl"), 1);
	swap_crl("clean.crl");
}

/*
 * An OCSP answer "revoked, certificateHold" refuses but is not cached:
 * once the CA lifts the hold, the next check asks again and is good.
 * A final revocation (keyCompromise) is cached and stays, whatever the
 * responder says next.
 */
static void
test_ocsp_hold_not_cached(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	fixed_answer("held-hold.resp");
	expect(t, "held", now, SIG_REVOKED);
	assert_int_equal(cache_rows(t, "ocsp"), 0);
	fixed_answer("held-good.resp");
	expect(t, "held", now + 1000, SIG_OK);
	assert_int_equal(cache_rows(t, "ocsp"), 1);
	(void)cache_q(t, "DELETE FROM revocation_cache");
	fixed_answer("held-final.resp");
	expect(t, "held", now + 2000, SIG_REVOKED);
	assert_int_equal(cache_rows(t, "ocsp"), 1);
	fixed_answer("held-good.resp");
	expect(t, "held", now + 3000, SIG_REVOKED);
	fixed_answer("trylater.resp");
}

/*
 * A hold found in the OCSP cache (written there by an older version) is
 * not believed either: the responder is asked again.
 */
static void
test_ocsp_cached_hold_asks_again(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	fixed_answer("held-good.resp");
	expect(t, "held", now, SIG_OK);
	cache_set_ocsp(t, "held-hold.resp");
	expect(t, "held", now + 1000, SIG_OK);
	assert_int_equal(cache_q(t, "SELECT fetched_at FROM "
	    "revocation_cache"), now + 1000);
	fixed_answer("trylater.resp");
}

/*
 * A CRL listing the certificate as certificateHold refuses but is not
 * cached, so that the CRL without it answers once the hold is lifted.
 * Cached for another holder (part, whom it does not list), it is fetched
 * again for crlheld; only when that fetch gets no answer does the cached
 * hold refuse.  A final revocation (keyCompromise) is cached and stays.
 */
static void
test_crl_hold_not_cached(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	swap_crl("hold.crl");
	expect(t, "crlheld", now, SIG_REVOKED);
	assert_int_equal(cache_rows(t, "crl"), 0);
	swap_crl("clean.crl");
	expect(t, "crlheld", now + 1000, SIG_OK);
	assert_int_equal(cache_rows(t, "crl"), 1);

	(void)cache_q(t, "DELETE FROM revocation_cache");
	swap_crl("hold.crl");
	expect(t, "part", now + 2000, SIG_OK);
	assert_int_equal(cache_rows(t, "crl"), 1);
	swap_crl(NULL);
	expect(t, "crlheld", now + 3000, SIG_REVOKED);
	swap_crl("clean.crl");
	expect(t, "crlheld", now + 4000, SIG_OK);

	(void)cache_q(t, "DELETE FROM revocation_cache");
	swap_crl("final.crl");
	expect(t, "crlheld", now + 5000, SIG_REVOKED);
	assert_int_equal(cache_rows(t, "crl"), 1);
	swap_crl("clean.crl");
	expect(t, "crlheld", now + 6000, SIG_REVOKED);
}

/*
 * Without allow_http_any, plain http to a host that is not loopback is
 * refused by policy, before any connection (192.0.2.1 would never
 * answer), for the responder and the CRL alike.  Loopback stays allowed.
 * The refusal is checked by its reason in the log, not by the clock: the
 * configuration's refusal for both URLs, no timeout, nothing cached.
 */
static void
test_http_policy(void **state)
{
	struct udb	*t = *state;
	struct rev_ctx	*rc;
	char		 log[4096];
	int64_t		 now = rp_now_ms();

	rc = ctx_new(0);
	assert_int_equal(check_logged(rc, t, "far", now, log, sizeof(log)),
	    SIG_REV_UNAVAILABLE);
	assert_non_null(strstr(log, "event=revchk_ocsp "
	    "url=\"http://192.0.2.1/\" status=0 error=\"http:// is allowed "
	    "only to a loopback address\""));
	assert_non_null(strstr(log, "event=revchk_crl "
	    "url=\"http://192.0.2.1/ca.crl\" status=0 error=\"http:// is "
	    "allowed only to a loopback address\""));
	assert_null(strstr(log, "imeout"));
	assert_int_equal(cache_rows(t, "ocsp") + cache_rows(t, "crl"), 0);
	assert_int_equal(check_at(rc, t, "alice", now), SIG_OK);
	rev_ctx_free(rc);
}

/* What rev_check() makes of a signer it cannot judge. */
static void
test_bad_calls(void **state)
{
	struct udb	*t = *state;
	struct rev_ctx	*rc;
	struct signer	 s;
	struct config	 cfg;
	char		 err[256];

	rc = ctx_new(1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(rev_check(rc, t->db, &s, rp_now_ms()), SIG_INTERNAL);
	assert_int_equal(rev_check(rc, t->db, NULL, rp_now_ms()),
	    SIG_INTERNAL);
	/* An "issuer" that did not issue the certificate. */
	s.cert = load_cert("alice");
	s.issuer_cert = load_cert("root");
	assert_int_equal(rev_check(rc, t->db, &s, rp_now_ms()), SIG_INTERNAL);
	assert_int_equal(rev_check(NULL, t->db, &s, rp_now_ms()),
	    SIG_INTERNAL);
	X509_free(s.cert);
	X509_free(s.issuer_cert);
	rev_ctx_free(rc);
	rev_ctx_free(NULL);
	/* A timeout of zero makes no client. */
	conf_defaults(&cfg);
	cfg.sig_ocsp_timeout_ms = 0;
	assert_null(rev_ctx_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "OCSP client"));
}

/*
 * Last, as it stops qpki's servers: answers cached while they ran (two
 * OCSP responses, the CRL) still answer, while what is not cached gets
 * no answer at all, which shows the servers are really down: a holder
 * with a responder and no CDP, and the CRL holder once its CRL is
 * dropped from the cache.
 */
static void
test_cache_answers_with_servers_down(void **state)
{
	struct udb	*t = *state;
	int64_t		 now = rp_now_ms();

	expect(t, "alice", now, SIG_OK);
	expect(t, "crlonly", now, SIG_OK);
	expect(t, "revoked", now, SIG_REVOKED);
	assert_int_equal(run_script(STOP, NULL, NULL, NULL), 0);
	expect(t, "alice", now + 1000, SIG_OK);
	expect(t, "crlonly", now + 1000, SIG_OK);
	expect(t, "revoked", now + 1000, SIG_REVOKED);
	assert_int_equal(cache_q(t, "SELECT count(*) FROM revocation_cache "
	    "WHERE fetched_at = %lld", LL(now)), 3);
	expect(t, "ocsponly", now + 1000, SIG_REV_UNAVAILABLE);
	(void)cache_q(t, "DELETE FROM revocation_cache WHERE kind = 'crl'");
	expect(t, "crlonly", now + 1000, SIG_REV_UNAVAILABLE);
	assert_int_equal(cache_rows(t, "ocsp"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, udb_setup, udb_teardown)
		T(test_good_and_cached),
		T(test_revoked),
		T(test_unknown),
		T(test_ocsp_down_no_crl),
		T(test_crl_fallback),
		T(test_crl_revoked),
		T(test_crl_stale),
		T(test_crl_wrong_key),
		T(test_ocsp_foreign_signer),
		T(test_ocsp_stale),
		T(test_good_response_later_is_stale),
		T(test_cache_expiry),
		T(test_cache_verified_again),
		T(test_unsigned_answers_fall_back),
		T(test_signed_answers_checked),
		T(test_cache_keeps_newer),
		T(test_crl_idp_partition),
		T(test_ocsp_hold_not_cached),
		T(test_ocsp_cached_hold_asks_again),
		T(test_crl_hold_not_cached),
		T(test_http_policy),
		T(test_bad_calls),
		T(test_cache_answers_with_servers_down),
#undef T
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
