/*
 * argon2-raw: the baseline of the passphrase benchmark.  The rate at which
 * this machine verifies Argon2id hashes with libargon2 alone, with no
 * portal, database, nginx or TLS around it, so that tests/bench/
 * bench_flows.sh can say how much of that rate the portal's passphrase
 * suspensions keep.
 *
 *	argon2-raw [-e] [-m KIB] [-t PASSES] [-p LANES] [-s PASSPHRASE]
 *	    [-n COUNT] [-j PROCS]
 *
 * Makes one hash of the passphrase (default "correct horse battery
 * staple") with a fixed 16-byte salt and a 32-byte output, the shape of
 * the portal's own (cgi/pass.c), at the given cost (default m=19456 KiB,
 * t=2, p=1).  With -e it prints that Argon2id string and exits: the
 * benchmark gives it to the certificates it imports, so that the portal
 * verifies exactly the hash measured here.  Otherwise it forks PROCS processes
 * (default 1) that each verify it COUNT times (default 20) with
 * argon2id_verify(), the call the portal makes.  The processes start
 * together (they wait on a pipe the parent closes) and the clock runs
 * from that moment until the last one has exited.  Prints one line:
 *
 *	argon2-raw: m=19456 t=2 p=1 procs 2 verifications 40 seconds 0.812 rate 49.3/s
 *
 * Exit status: 0, 1 when a hash or a verification failed, 2 for a bad
 * command line.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>

#define RAW_PROCS_MAX	256ul
#define RAW_COUNT_MAX	1000000ul
#define RAW_M_MIN	8ul		/* KiB: libargon2's own floor */
#define RAW_M_MAX	(4ul * 1024ul * 1024ul) /* KiB: 4 GiB */
#define RAW_T_MAX	100ul
#define RAW_P_MAX	16ul
#define RAW_SALT_LEN	16u
#define RAW_HASH_LEN	32u
#define RAW_ENC_MAX	256u
#define RAW_PASS_MAX	128u		/* bytes, as the portal allows */

static const unsigned char raw_salt[RAW_SALT_LEN] = "revportal-bench!";

/* Prints the usage on stderr and returns the exit status 2. */
static int
usage(void)
{
	fprintf(stderr, "usage: argon2-raw [-e] [-m KIB] [-t PASSES] "
	    "[-p LANES] [-s PASSPHRASE]\n"
	    "                  [-n COUNT] [-j PROCS]\n");
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
 * A child's work: waits until the parent closes the start pipe (fd),
 * then verifies enc against pass count times.  Returns the child's exit
 * status: 0 when every verification succeeded, 1 otherwise.
 */
static int
child(int fd, const char *enc, const char *pass, unsigned long count)
{
	size_t		 len = strlen(pass);
	unsigned long	 i;
	char		 c;
	ssize_t		 r;

	while ((r = read(fd, &c, 1)) == -1 && errno == EINTR)
		continue;
	(void)close(fd);
	if (r != 0)
		return 1;
	for (i = 0; i < count; i++)
		if (argon2id_verify(enc, pass, len) != ARGON2_OK)
			return 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	unsigned long	 m = 19456, t = 2, p = 1, count = 20, procs = 1, i;
	unsigned long	 started = 0;
	const char	*pass = "correct horse battery staple";
	char		 enc[RAW_ENC_MAX];
	double		 t0, secs;
	pid_t		 pid;
	int		 ch, fds[2], rc, st, failed = 0, encode = 0;

	while ((ch = getopt(argc, argv, "em:t:p:s:n:j:")) != -1) {
		switch (ch) {
		case 'e':
			encode = 1;
			break;
		case 's':
			pass = optarg;
			if (pass[0] == '\0' || strlen(pass) > RAW_PASS_MAX)
				return usage();
			break;
		case 'm':
			if (parse_num(optarg, RAW_M_MIN, RAW_M_MAX, &m) == -1)
				return usage();
			break;
		case 't':
			if (parse_num(optarg, 1, RAW_T_MAX, &t) == -1)
				return usage();
			break;
		case 'p':
			if (parse_num(optarg, 1, RAW_P_MAX, &p) == -1)
				return usage();
			break;
		case 'n':
			if (parse_num(optarg, 1, RAW_COUNT_MAX, &count) == -1)
				return usage();
			break;
		case 'j':
			if (parse_num(optarg, 1, RAW_PROCS_MAX, &procs) == -1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || m < 8 * p)
		return usage();

	rc = argon2id_hash_encoded((uint32_t)t, (uint32_t)m, (uint32_t)p,
	    pass, strlen(pass), raw_salt, sizeof(raw_salt), RAW_HASH_LEN,
	    enc, sizeof(enc));
	if (rc != ARGON2_OK) {
		fprintf(stderr, "argon2-raw: hash: %s\n",
		    argon2_error_message(rc));
		return 1;
	}
	if (encode) {
		if (printf("%s\n", enc) < 0 || fflush(stdout) == EOF) {
			perror("argon2-raw: stdout");
			return 1;
		}
		return 0;
	}
	if (pipe(fds) == -1) {
		perror("argon2-raw: pipe");
		return 1;
	}
	for (i = 0; i < procs; i++) {
		if ((pid = fork()) == -1) {
			perror("argon2-raw: fork");
			failed = 1;
			break;
		}
		if (pid == 0) {
			(void)close(fds[1]);
			_exit(child(fds[0], enc, pass, count));
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
			perror("argon2-raw: wait");
			return 1;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	secs = now_s() - t0;
	if (failed) {
		fprintf(stderr, "argon2-raw: a process failed\n");
		return 1;
	}
	if (secs <= 0.0) {
		fprintf(stderr, "argon2-raw: no time elapsed\n");
		return 1;
	}
	printf("argon2-raw: m=%lu t=%lu p=%lu procs %lu verifications %lu "
	    "seconds %.3f rate %.1f/s\n", m, t, p, procs, procs * count, secs,
	    (double)(procs * count) / secs);
	return 0;
}
