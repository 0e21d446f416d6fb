/*
 * ecdsa-raw: a baseline of the signed-submission benchmark.  The rate at
 * which this machine verifies ECDSA P-256 signatures with OpenSSL alone,
 * with no CMS, certificate chain, portal, database, nginx or TLS around
 * it, so that tests/bench/bench_sign.sh can say how much of that rate the
 * portal's signed submissions keep.
 *
 *	ecdsa-raw [-n COUNT] [-j PROCS] [-b BYTES]
 *
 * Makes one P-256 key and one SHA-256 ECDSA signature over a document of
 * BYTES bytes (default 300, about the size of a request document of
 * DESIGN.md §3), then forks PROCS processes (default 1) that each verify
 * it COUNT times (default 2000) with EVP_DigestVerifyInit() and
 * EVP_DigestVerify(): a digest of the document and one ECDSA
 * verification, the work at the heart of a CMS signature check.  The
 * processes start together (they wait on a pipe the parent closes) and
 * the clock runs from that moment until the last one has exited.  Prints
 * one line (here folded):
 *
 *	ecdsa-raw: P-256 SHA-256 bytes 300 procs 2 verifications 4000
 *	    seconds 0.201 rate 19900.5/s
 *
 * Exit status: 0, 1 when the key, the signature or a verification failed,
 * 2 for a bad command line.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#define RAW_PROCS_MAX	256ul
#define RAW_COUNT_MAX	100000000ul
#define RAW_BYTES_MAX	65536ul
#define RAW_SIG_MAX	128u		/* DER ECDSA P-256: at most 72 */

/* Prints the usage on stderr and returns the exit status 2. */
static int
usage(void)
{
	fprintf(stderr, "usage: ecdsa-raw [-n COUNT] [-j PROCS] "
	    "[-b BYTES]\n");
	return 2;
}

/*
 * Parses s as a decimal number in min..max into *v.  Returns 0, or -1
 * for anything else (sign, blanks, trailing text, overflow).
 */
static int
parse_num(const char *s, unsigned long min, unsigned long max,
    unsigned long *v)
{
	char			*end;
	unsigned long long	 n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*v = (unsigned long)n;
	return 0;
}

/* The monotonic clock in seconds. */
static double
now_s(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0.0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Makes a P-256 key in *key (the caller frees it with EVP_PKEY_free())
 * and its SHA-256 signature of doc (len bytes) in sig, *siglen bytes.
 * Returns 0, or -1 with a message on stderr.
 */
static int
make_sig(const unsigned char *doc, size_t len, EVP_PKEY **key,
    unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX	*md = NULL;
	int		 rc = -1;

	*key = EVP_EC_gen("P-256");
	if (*key == NULL) {
		fprintf(stderr, "ecdsa-raw: cannot make a P-256 key\n");
		goto out;
	}
	*siglen = RAW_SIG_MAX;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, *key) != 1 ||
	    EVP_DigestSign(md, sig, siglen, doc, len) != 1) {
		fprintf(stderr, "ecdsa-raw: cannot sign\n");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	if (rc == -1) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	return rc;
}

/*
 * Makes sure the verification measured is real: the signature must
 * verify over doc and must not over doc with its first byte changed.
 * Returns 0, or -1 with a message on stderr.
 */
static int
check_sig(EVP_PKEY *key, unsigned char *doc, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*md = NULL;
	int		 good, bad, rc = -1;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1)
		goto out;
	good = EVP_DigestVerify(md, sig, siglen, doc, len);
	if (EVP_MD_CTX_reset(md) != 1 ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1)
		goto out;
	doc[0] ^= 1;
	bad = EVP_DigestVerify(md, sig, siglen, doc, len);
	doc[0] ^= 1;
	if (good == 1 && bad == 0)
		rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "ecdsa-raw: the self-check of the signature "
		    "failed\n");
	EVP_MD_CTX_free(md);
	return rc;
}

/*
 * A child's work: waits until the parent closes the start pipe (fd),
 * then verifies sig over doc with key count times, each with a fresh
 * initialisation of the digest context (as one signature check makes).
 * Returns the child's exit status: 0 when every verification succeeded,
 * 1 otherwise.
 */
static int
child(int fd, EVP_PKEY *key, const unsigned char *doc, size_t len,
    const unsigned char *sig, size_t siglen, unsigned long count)
{
	EVP_MD_CTX	*md;
	unsigned long	 i;
	ssize_t		 r;
	char		 c;
	int		 rc = 1;

	while ((r = read(fd, &c, 1)) == -1 && errno == EINTR)
		continue;
	(void)close(fd);
	if (r != 0)
		return 1;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return 1;
	for (i = 0; i < count; i++) {
		if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
		    key) != 1 ||
		    EVP_DigestVerify(md, sig, siglen, doc, len) != 1)
			goto out;
		if (EVP_MD_CTX_reset(md) != 1)
			goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
main(int argc, char *argv[])
{
	unsigned long	 count = 2000, procs = 1, bytes = 300, i;
	unsigned long	 started = 0;
	unsigned char	*doc = NULL, sig[RAW_SIG_MAX];
	size_t		 siglen = 0;
	EVP_PKEY	*key = NULL;
	double		 t0, secs;
	pid_t		 pid;
	int		 ch, fds[2], st, failed = 0, rc = 1;

	while ((ch = getopt(argc, argv, "n:j:b:")) != -1) {
		switch (ch) {
		case 'n':
			if (parse_num(optarg, 1, RAW_COUNT_MAX, &count) == -1)
				return usage();
			break;
		case 'j':
			if (parse_num(optarg, 1, RAW_PROCS_MAX, &procs) == -1)
				return usage();
			break;
		case 'b':
			if (parse_num(optarg, 1, RAW_BYTES_MAX, &bytes) == -1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();

	/* A document of printable text, one line of 64 bytes after another. */
	if ((doc = malloc(bytes)) == NULL) {
		perror("ecdsa-raw: malloc");
		goto out;
	}
	for (i = 0; i < bytes; i++)
		doc[i] = (i % 64 == 63) ? '\n' : (unsigned char)('a' + i % 26);
	if (make_sig(doc, bytes, &key, sig, &siglen) == -1)
		goto out;
	if (check_sig(key, doc, bytes, sig, siglen) == -1)
		goto out;

	if (pipe(fds) == -1) {
		perror("ecdsa-raw: pipe");
		goto out;
	}
	/* Nothing buffered may be written twice by the children. */
	(void)fflush(NULL);
	for (i = 0; i < procs; i++) {
		if ((pid = fork()) == -1) {
			perror("ecdsa-raw: fork");
			failed = 1;
			break;
		}
		if (pid == 0) {
			(void)close(fds[1]);
			_exit(child(fds[0], key, doc, bytes, sig, siglen,
			    count));
		}
		started++;
	}
	(void)close(fds[0]);
	/* Closing the pipe's only write end starts every child at once. */
	t0 = now_s();
	(void)close(fds[1]);
	for (i = 0; i < started; i++) {
		while ((pid = wait(&st)) == -1 && errno == EINTR)
			continue;
		if (pid == -1) {
			perror("ecdsa-raw: wait");
			goto out;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	secs = now_s() - t0;
	if (failed) {
		fprintf(stderr, "ecdsa-raw: a process failed\n");
		goto out;
	}
	if (secs <= 0.0) {
		fprintf(stderr, "ecdsa-raw: no time elapsed\n");
		goto out;
	}
	if (printf("ecdsa-raw: P-256 SHA-256 bytes %lu procs %lu "
	    "verifications %lu seconds %.3f rate %.1f/s\n", bytes, procs,
	    procs * count, secs, (double)(procs * count) / secs) < 0 ||
	    fflush(stdout) == EOF) {
		perror("ecdsa-raw: stdout");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(key);
	free(doc);
	return rc;
}
