/*
 * commit-raw: a baseline of the signed-submission benchmark.  The rate at
 * which this machine makes durable SQLite commits, set up the way the
 * portal's connections are (cgi/db.c: WAL, synchronous FULL, foreign
 * keys, a busy timeout), with nothing else around them, so that
 * tests/bench/bench_sign.sh can say how much of that rate the portal's
 * signed submissions keep.
 *
 *	commit-raw [-n COUNT] [-j PROCS] FILE
 *
 * Creates the database FILE (it must not exist: put it on the file
 * system whose commits are to be measured, the portal's) with one small
 * table, then forks PROCS processes (default 1) that each open their own
 * connection and make COUNT (default 500) write transactions of one
 * INSERT of about 100 bytes: BEGIN IMMEDIATE, INSERT, COMMIT, as
 * db_begin() and db_commit() do.  With WAL and synchronous FULL each
 * commit returns once the log is on disk (fsync), and writers take turns,
 * so more processes mostly queue.  The processes start together (they
 * wait on a pipe the parent closes) and the clock runs from that moment
 * until the last one has exited.  Then it checks that the table holds
 * every row, removes FILE and its -wal and -shm files, and prints one
 * line:
 *
 *	commit-raw: wal synchronous=full procs 1 commits 500 seconds 0.912 rate 548.2/s
 *
 * Exit status: 0, 1 when the database failed or a row is missing, 2 for
 * a bad command line.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define RAW_PROCS_MAX	64ul
#define RAW_COUNT_MAX	10000000ul
#define RAW_BUSY_MS	30000		/* a writer waits its turn this long */
#define RAW_PATH_MAX	4096u

/* The statements, fixed; the values are bound. */
static const char raw_schema[] =
    "CREATE TABLE commits (id INTEGER PRIMARY KEY, proc INTEGER NOT NULL, "
    "at INTEGER NOT NULL, body TEXT NOT NULL)";
static const char raw_insert[] =
    "INSERT INTO commits (proc, at, body) VALUES (?1, ?2, ?3)";
static const char raw_count[] = "SELECT count(*) FROM commits";

/* About the size of a small row of the portal (an audit entry's text). */
static const char raw_body[] =
    "bench commit: a row of about one hundred bytes, as small as the "
    "portal's smallest writes are.";

/* Prints the usage on stderr and returns the exit status 2. */
static int
usage(void)
{
	fprintf(stderr, "usage: commit-raw [-n COUNT] [-j PROCS] FILE\n");
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
 * Runs sql, which returns at most one row, on h.  When out is not NULL,
 * the first column of that row is copied into out (outsz bytes, always
 * terminated; "" for no row).  Returns 0, or -1 with a message on stderr.
 */
static int
raw_once(sqlite3 *h, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt		*st = NULL;
	const unsigned char	*t;
	int			 rc, ret = -1;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL && outsz > 0 &&
	    (t = sqlite3_column_text(st, 0)) != NULL) {
		if (snprintf(out, outsz, "%s", (const char *)t) < 0)
			goto out;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		fprintf(stderr, "commit-raw: %s: %s\n", sql, sqlite3_errmsg(h));
	(void)sqlite3_finalize(st);
	return ret;
}

/*
 * Opens path (creating it when create is set) and sets the connection up
 * as cgi/db.c's db_connect() does: extended result codes, defensive mode,
 * the busy timeout, WAL (checked), synchronous FULL, foreign keys.
 * Returns the handle (close it with sqlite3_close()), or NULL with a
 * message on stderr.
 */
static sqlite3 *
raw_open(const char *path, int create)
{
	sqlite3		*h = NULL;
	char		 mode[16];
	int		 flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW;

	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &h, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "commit-raw: %s: %s\n", path,
		    h != NULL ? sqlite3_errmsg(h) : "cannot open");
		goto fail;
	}
	if (sqlite3_extended_result_codes(h, 1) != SQLITE_OK ||
	    sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
	    SQLITE_OK ||
	    sqlite3_busy_timeout(h, RAW_BUSY_MS) != SQLITE_OK) {
		fprintf(stderr, "commit-raw: %s: cannot set the connection "
		    "up\n", path);
		goto fail;
	}
	if (raw_once(h, "PRAGMA journal_mode = WAL", mode,
	    sizeof(mode)) == -1)
		goto fail;
	if (strcasecmp(mode, "wal") != 0) {
		fprintf(stderr, "commit-raw: %s: journal mode is \"%s\", not "
		    "wal\n", path, mode);
		goto fail;
	}
	if (raw_once(h, "PRAGMA synchronous = FULL", NULL, 0) == -1 ||
	    raw_once(h, "PRAGMA foreign_keys = ON", NULL, 0) == -1)
		goto fail;
	return h;
fail:
	(void)sqlite3_close(h);
	return NULL;
}

/*
 * A child's work: opens its own connection to path, waits until the
 * parent closes the start pipe (fd), then commits count transactions of
 * one INSERT each.  Returns the child's exit status: 0 when every commit
 * succeeded, 1 otherwise.
 */
static int
child(int fd, const char *path, unsigned long proc, unsigned long count)
{
	sqlite3		*h;
	sqlite3_stmt	*ins = NULL;
	unsigned long	 i;
	ssize_t		 r;
	char		 c;
	int		 rc = 1;

	if ((h = raw_open(path, 0)) == NULL) {
		(void)close(fd);
		return 1;
	}
	if (sqlite3_prepare_v2(h, raw_insert, -1, &ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "commit-raw: %s\n", sqlite3_errmsg(h));
		(void)close(fd);
		goto out;
	}
	while ((r = read(fd, &c, 1)) == -1 && errno == EINTR)
		continue;
	(void)close(fd);
	if (r != 0)
		goto out;
	for (i = 0; i < count; i++) {
		if (raw_once(h, "BEGIN IMMEDIATE", NULL, 0) == -1)
			goto out;
		if (sqlite3_bind_int64(ins, 1, (sqlite3_int64)proc) !=
		    SQLITE_OK ||
		    sqlite3_bind_int64(ins, 2, (sqlite3_int64)i) !=
		    SQLITE_OK ||
		    sqlite3_bind_text(ins, 3, raw_body, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
		    sqlite3_step(ins) != SQLITE_DONE ||
		    sqlite3_reset(ins) != SQLITE_OK) {
			fprintf(stderr, "commit-raw: insert: %s\n",
			    sqlite3_errmsg(h));
			goto out;
		}
		if (raw_once(h, "COMMIT", NULL, 0) == -1)
			goto out;
	}
	rc = 0;
out:
	(void)sqlite3_finalize(ins);
	(void)sqlite3_close(h);
	return rc;
}

/*
 * Removes path and its -wal and -shm files.  Returns 0, or -1 with a
 * message on stderr when one of them exists and cannot be removed.
 */
static int
remove_db(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char		 p[RAW_PATH_MAX];
	size_t		 i;
	int		 n, rc = 0;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		n = snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		if (n < 0 || (size_t)n >= sizeof(p))
			return -1;
		if (unlink(p) == -1 && errno != ENOENT) {
			fprintf(stderr, "commit-raw: %s: %s\n", p,
			    strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	unsigned long	 count = 500, procs = 1, i, started = 0;
	unsigned long long rows;
	const char	*path;
	sqlite3		*h = NULL;
	double		 t0, secs;
	char		 n[32], *end;
	pid_t		 pid;
	int		 ch, fds[2], st, failed = 0, made = 0, rc = 1;

	while ((ch = getopt(argc, argv, "n:j:")) != -1) {
		switch (ch) {
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
	if (optind + 1 != argc)
		return usage();
	path = argv[optind];
	if (path[0] == '\0' || strlen(path) + 5 > RAW_PATH_MAX)
		return usage();
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		fprintf(stderr, "commit-raw: %s exists (or cannot be "
		    "checked): give a new file\n", path);
		return 2;
	}

	if ((h = raw_open(path, 1)) == NULL)
		goto out;
	made = 1;
	if (raw_once(h, raw_schema, NULL, 0) == -1)
		goto out;

	if (pipe(fds) == -1) {
		perror("commit-raw: pipe");
		goto out;
	}
	(void)fflush(NULL);
	for (i = 0; i < procs; i++) {
		if ((pid = fork()) == -1) {
			perror("commit-raw: fork");
			failed = 1;
			break;
		}
		if (pid == 0) {
			(void)close(fds[1]);
			_exit(child(fds[0], path, i, count));
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
			perror("commit-raw: wait");
			goto out;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	secs = now_s() - t0;
	if (failed) {
		fprintf(stderr, "commit-raw: a process failed\n");
		goto out;
	}
	if (secs <= 0.0) {
		fprintf(stderr, "commit-raw: no time elapsed\n");
		goto out;
	}

	/* Every commit that returned must be there. */
	if (raw_once(h, raw_count, n, sizeof(n)) == -1)
		goto out;
	errno = 0;
	rows = strtoull(n, &end, 10);
	if (n[0] < '0' || n[0] > '9' || errno != 0 || *end != '\0' ||
	    rows != (unsigned long long)procs * count) {
		fprintf(stderr, "commit-raw: the table holds %s rows, not "
		    "%lu\n", n, procs * count);
		goto out;
	}
	if (printf("commit-raw: wal synchronous=full procs %lu commits %lu "
	    "seconds %.3f rate %.1f/s\n", procs, procs * count, secs,
	    (double)(procs * count) / secs) < 0 || fflush(stdout) == EOF) {
		perror("commit-raw: stdout");
		goto out;
	}
	rc = 0;
out:
	(void)sqlite3_close(h);
	if (made && remove_db(path) == -1)
		rc = 1;
	return rc;
}
