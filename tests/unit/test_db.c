/*
 * Unit tests of db.c: migrations, opening, health and fault injection.
 * Run from the repository root (the real migrations are in db/).  The
 * database and any test migrations live in a mkdtemp() directory.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "unit.h"

struct tdb {
	char		 dir[64];
	struct config	 cfg;
	char		 err[512];
};

/* Removes path and, if it is a directory, everything below it. */
static int
rm_tree(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[1024];
	int		 rc = 0;

	if (unlink(path) == 0)
		return 0;
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (rm_tree(p) == -1)
			rc = -1;
	}
	(void)closedir(d);
	if (rmdir(path) == -1)
		rc = -1;
	return rc;
}

static int
setup(void **state)
{
	struct tdb	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	(void)snprintf(t->dir, sizeof(t->dir), "/tmp/rp-db-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	conf_defaults(&t->cfg);
	(void)snprintf(t->cfg.database, sizeof(t->cfg.database),
	    "%s/revportal.db", t->dir);
	(void)snprintf(t->cfg.db_dir, sizeof(t->cfg.db_dir), "db");
	t->cfg.busy_timeout_ms = 0;
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tdb	*t = *state;
	int		 rc;

	db_fault_set(0);
	rc = rm_tree(t->dir);
	free(t);
	return rc;
}

/* Opens the test's own connection to the database. */
static sqlite3 *
raw_open(struct tdb *t)
{
	sqlite3	*h = NULL;

	assert_int_equal(sqlite3_open_v2(t->cfg.database, &h,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	return h;
}

static void
raw_exec(sqlite3 *h, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* Returns the first column of the first row of sql as an int. */
static int
raw_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt	*st;
	int		 v;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	return v;
}

/* Copies the first column of the first row of sql to out; "" if none. */
static void
raw_text(sqlite3 *h, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt	*st;
	int		 rc;

	out[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL),
	    SQLITE_OK);
	rc = sqlite3_step(st);
	assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		(void)snprintf(out, outsz, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
}

static int
user_version(struct tdb *t)
{
	sqlite3	*h = raw_open(t);
	int	 v;

	v = raw_int(h, "PRAGMA user_version");
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	return v;
}

/* Makes t->dir/mig/migrations and points db_dir at t->dir/mig. */
static void mig_file(struct tdb *, const char *, const char *);

static void
mig_dir(struct tdb *t)
{
	char	 p[600];

	(void)snprintf(t->cfg.db_dir, sizeof(t->cfg.db_dir), "%s/mig", t->dir);
	assert_int_equal(mkdir(t->cfg.db_dir, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/migrations", t->cfg.db_dir);
	assert_int_equal(mkdir(p, 0700), 0);
	/* The program knows four versions: 0002 to 0004 must exist for
	 * 0001 to run. */
	mig_file(t, "0002_next.sql", "CREATE TABLE t2 (x);\n");
	mig_file(t, "0003_more.sql", "CREATE TABLE t3 (x);\n");
	mig_file(t, "0004_last.sql", "CREATE TABLE t4 (x);\n");
}

/* Writes text as db_dir/migrations/name. */
static void
mig_file(struct tdb *t, const char *name, const char *text)
{
	char	 p[700];
	FILE	*f;

	(void)snprintf(p, sizeof(p), "%s/migrations/%s", t->cfg.db_dir, name);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
expect_err_has(const char *err, const char *part)
{
	if (strstr(err, part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, part);
}

static void
test_migrate_fresh(void **state)
{
	static const char	 pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	struct tdb		*t = *state;
	sqlite3			*h;
	char			 v[64];
	size_t			 i;

	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	assert_string_equal(t->err, "");
	h = raw_open(t);
	assert_int_equal(raw_int(h, "PRAGMA user_version"), 4);
	raw_text(h, "PRAGMA journal_mode", v, sizeof(v));
	assert_string_equal(v, "wal");
	assert_int_equal(raw_int(h, "SELECT count(*) FROM meta"), 2);
	raw_text(h, "SELECT value FROM meta WHERE key = 'schema'", v,
	    sizeof(v));
	assert_string_equal(v, "revportal");
	/* created_at: 2024-01-31T12:34:56.789Z */
	raw_text(h, "SELECT value FROM meta WHERE key = 'created_at'", v,
	    sizeof(v));
	assert_int_equal(strlen(v), 24);
	for (i = 0; i < 24; i++) {
		if (strchr("-T:.Z", pattern[i]) != NULL)
			assert_int_equal(v[i], pattern[i]);
		else
			assert_true(isdigit((unsigned char)v[i]));
	}
	/* STRICT: a key must be text and present. */
	assert_int_not_equal(sqlite3_exec(h, "INSERT INTO meta VALUES "
	    "(NULL, 'x')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(h, "INSERT INTO meta VALUES "
	    "('k', X'00')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

static void
test_migrate_twice(void **state)
{
	struct tdb	*t = *state;
	sqlite3		*h;
	char		 a[64], b[64];

	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	h = raw_open(t);
	raw_text(h, "SELECT value FROM meta WHERE key = 'created_at'", a,
	    sizeof(a));
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	usleep(2000);
	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	/* Up to date: the migrations are not even looked at. */
	(void)snprintf(t->cfg.db_dir, sizeof(t->cfg.db_dir), "%s/none",
	    t->dir);
	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	h = raw_open(t);
	raw_text(h, "SELECT value FROM meta WHERE key = 'created_at'", b,
	    sizeof(b));
	assert_int_equal(raw_int(h, "SELECT count(*) FROM meta"), 2);
	assert_int_equal(raw_int(h, "PRAGMA user_version"), 4);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	assert_string_equal(a, b);
}

static void
test_migrate_newer_db(void **state)
{
	struct tdb	*t = *state;
	sqlite3		*h;
	char		 want[600];

	h = raw_open(t);
	raw_exec(h, "PRAGMA user_version = 5");
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	(void)snprintf(want, sizeof(want), "%s: schema version 5 is newer "
	    "than this program's 4; install the newer program",
	    t->cfg.database);
	assert_string_equal(t->err, want);
	assert_int_equal(user_version(t), 5);
	assert_null(db_open(&t->cfg, t->err, sizeof(t->err)));
	expect_err_has(t->err, "schema version 5, this program needs 4");
}

static void
test_migrate_broken_rolled_back(void **state)
{
	struct tdb	*t = *state;
	sqlite3		*h;

	mig_dir(t);
	mig_file(t, "0001_bad.sql", "CREATE TABLE meta (key TEXT PRIMARY "
	    "KEY, value TEXT NOT NULL) STRICT;\nINSERT INTO meta VALUES "
	    "('a', 'b');\nINSERT INTO nosuch VALUES (1);\n");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "/migrations/0001_bad.sql: ");
	expect_err_has(t->err, "no such table: nosuch");
	h = raw_open(t);
	assert_int_equal(raw_int(h, "PRAGMA user_version"), 0);
	assert_int_equal(raw_int(h, "SELECT count(*) FROM sqlite_master"), 0);
	/* The database is usable again: no transaction was left open. */
	raw_exec(h, "BEGIN IMMEDIATE; ROLLBACK");
	assert_int_equal(sqlite3_close(h), SQLITE_OK);

	/*
	 * A script that would end the transaction itself is refused before
	 * its COMMIT runs, so nothing of it stays: all or nothing.
	 */
	mig_file(t, "0001_bad.sql", "CREATE TABLE t (x);\nCOMMIT;\n");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "0001_bad.sql: not authorized (no BEGIN, "
	    "COMMIT");
	assert_int_equal(user_version(t), 0);
	assert_int_equal(sqlite3_open(t->cfg.database, &h), SQLITE_OK);
	assert_int_equal(raw_int(h, "SELECT count(*) FROM sqlite_master"), 0);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);

	/* Nor may it nest one, attach a file or change a setting. */
	mig_file(t, "0001_bad.sql", "SAVEPOINT a;\nCREATE TABLE t (x);\n");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "not authorized");
	mig_file(t, "0001_bad.sql", "ATTACH ':memory:' AS x;\n");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "not authorized");
	mig_file(t, "0001_bad.sql", "PRAGMA user_version = 7;\n");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "not authorized");
	assert_int_equal(user_version(t), 0);

	/* Rows left without their parent are caught before the commit. */
	mig_file(t, "0001_bad.sql", "CREATE TABLE p (id INTEGER PRIMARY KEY);"
	    "\nCREATE TABLE c (p INTEGER REFERENCES p(id));\n"
	    "INSERT INTO c VALUES (5);\n");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "leaves rows of table c without their parent");
	assert_int_equal(user_version(t), 0);

	/* A file with a NUL byte would be cut short: refused. */
	mig_file(t, "0001_bad.sql", "CREATE TABLE u (x);");
	{
		char	 p[700];
		FILE	*f;

		(void)snprintf(p, sizeof(p), "%s/migrations/0001_bad.sql",
		    t->cfg.db_dir);
		assert_non_null(f = fopen(p, "a"));
		assert_int_equal(fwrite("\0x", 1, 2, f), 2);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "0001_bad.sql: holds a NUL byte");
	assert_int_equal(user_version(t), 0);
}

/* Defensive mode is on: a migration cannot write sqlite_master. */
static void
test_migrate_defensive(void **state)
{
	struct tdb	*t = *state;

	mig_dir(t);
	mig_file(t, "0001_evil.sql", "CREATE TABLE meta (key TEXT PRIMARY "
	    "KEY, value TEXT NOT NULL) STRICT;\nPRAGMA writable_schema = ON;\n"
	    "UPDATE sqlite_master SET sql = 'CREATE TABLE meta (x)' "
	    "WHERE name = 'meta';\n");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "0001_evil.sql: ");
	expect_err_has(t->err, "not authorized");
	assert_int_equal(user_version(t), 0);
}

static void
test_migrate_missing_number(void **state)
{
	struct tdb	*t = *state;

	mig_dir(t);
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "/mig/migrations: migration 0001 is missing");
	/* Files for later versions do not stand in for a missing one. */
	mig_file(t, "0002_next.sql", "CREATE TABLE t (x);");
	mig_file(t, "README", "not a migration");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "migration 0001 is missing");
	assert_int_equal(user_version(t), 0);
	/* No migrations directory at all. */
	(void)snprintf(t->cfg.db_dir, sizeof(t->cfg.db_dir), "%s/none",
	    t->dir);
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "/none/migrations: ");
}

static void
test_migrate_duplicate_number(void **state)
{
	struct tdb	*t = *state;

	mig_dir(t);
	mig_file(t, "0001_a.sql", "CREATE TABLE a (x);");
	mig_file(t, "0001_b.sql", "CREATE TABLE b (x);");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "have the same number");
	expect_err_has(t->err, "0001_a.sql");
	expect_err_has(t->err, "0001_b.sql");
	assert_int_equal(user_version(t), 0);
}

static void
test_migrate_bad_name(void **state)
{
	struct tdb	*t = *state;

	mig_dir(t);
	mig_file(t, "0001_a.sql", "CREATE TABLE a (x);");
	mig_file(t, "01_b.sql", "CREATE TABLE b (x);");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "01_b.sql: not a migration name");
	assert_int_equal(user_version(t), 0);
}

/* A writer holding the lock makes the migration fail, nothing applied. */
static void
test_migrate_busy(void **state)
{
	struct tdb	*t = *state;
	sqlite3		*h;

	h = raw_open(t);
	raw_exec(h, "PRAGMA journal_mode = WAL; CREATE TABLE other (x); "
	    "BEGIN IMMEDIATE; INSERT INTO other VALUES (1)");
	assert_int_not_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)),
	    RP_OK);
	expect_err_has(t->err, "0001_base.sql: ");
	expect_err_has(t->err, "locked");
	raw_exec(h, "ROLLBACK");
	assert_int_equal(raw_int(h, "PRAGMA user_version"), 0);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	assert_int_equal(user_version(t), 4);
}

static void
test_open_before_migrate(void **state)
{
	struct tdb	*t = *state;
	sqlite3		*h;

	assert_null(db_open(&t->cfg, t->err, sizeof(t->err)));
	expect_err_has(t->err, "cannot open database");
	/* db_open() never creates the file. */
	assert_int_equal(access(t->cfg.database, F_OK), -1);
	h = raw_open(t);
	raw_exec(h, "CREATE TABLE x (y)");
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	assert_null(db_open(&t->cfg, t->err, sizeof(t->err)));
	expect_err_has(t->err, "schema version 0, this program needs 4; run "
	    "the migrations first");
}

/*
 * A child process that holds the write lock for hold_ms (forever when
 * negative) and then ends; returns once the lock is held.
 */
static pid_t
hold_lock(struct tdb *t, long hold_ms)
{
	struct timespec	 ts;
	sqlite3		*h;
	int		 p[2];
	pid_t		 pid;
	char		 c = 0;

	assert_int_equal(pipe(p), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		/* Never outlive the test, whatever fails. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)alarm(30);
		h = raw_open(t);
		raw_exec(h, "BEGIN IMMEDIATE");
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		if (hold_ms < 0)
			for (;;)
				pause();
		ts.tv_sec = hold_ms / 1000;
		ts.tv_nsec = (hold_ms % 1000) * 1000000L;
		(void)nanosleep(&ts, NULL);
		raw_exec(h, "COMMIT");
		(void)sqlite3_close(h);
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	(void)close(p[0]);
	(void)close(p[1]);
	return pid;
}

static double
mono_ms(void)
{
	struct timespec	 ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/*
 * The busy handler: a writer waits for a lock another process frees
 * (and gets it), and gives up with RP_ERR_UNAVAILABLE once the busy
 * timeout is spent, not before.
 */
static void
test_busy_wait(void **state)
{
	struct tdb	*t = *state;
	struct db	*db;
	double		 t0, waited;
	pid_t		 pid;
	enum rp_err	 e;
	int		 st;

	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	t->cfg.busy_timeout_ms = 5000;
	assert_non_null(db = db_open(&t->cfg, t->err, sizeof(t->err)));
	pid = hold_lock(t, 150);
	assert_int_equal(db_begin(db), RP_OK);
	db_rollback(db);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	db_close(db);

	t->cfg.busy_timeout_ms = 200;
	assert_non_null(db = db_open(&t->cfg, t->err, sizeof(t->err)));
	pid = hold_lock(t, -1);
	t0 = mono_ms();
	e = db_begin(db);
	waited = mono_ms() - t0;
	/* The holder goes before anything is asserted. */
	(void)kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	db_close(db);
	assert_int_equal(e, RP_ERR_UNAVAILABLE);
	/* A lower bound only: the handler may not give up early. */
	if (waited < 200)
		fail_msg("gave up after %.1f ms of a 200 ms timeout", waited);
}

static void
test_open_health(void **state)
{
	struct tdb	*t = *state;
	struct db	*db, *db2;

	db_close(NULL);
	assert_int_equal(db_health(NULL), RP_ERR_UNAVAILABLE);
	assert_int_equal(db_schema_version(NULL), -1);
	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	assert_non_null(db = db_open(&t->cfg, t->err, sizeof(t->err)));
	assert_string_equal(t->err, "");
	assert_int_equal(db_schema_version(db), 4);
	assert_int_equal(db_health(db), RP_OK);
	assert_int_equal(db_health(db), RP_OK);
	/* Two workers at once. */
	assert_non_null(db2 = db_open(&t->cfg, t->err, sizeof(t->err)));
	assert_int_equal(db_health(db2), RP_OK);
	db_close(db2);
	db_close(db);
}

static void
test_fault_injection(void **state)
{
	static const struct {
		int		 code;
		enum rp_err	 want;
	} cases[] = {
		{ SQLITE_BUSY, RP_ERR_UNAVAILABLE },
		{ SQLITE_BUSY_SNAPSHOT, RP_ERR_UNAVAILABLE },
		{ SQLITE_LOCKED, RP_ERR_UNAVAILABLE },
		{ SQLITE_IOERR, RP_ERR_UNAVAILABLE },
		{ SQLITE_IOERR_READ, RP_ERR_UNAVAILABLE },
		{ SQLITE_FULL, RP_ERR_UNAVAILABLE },
		{ SQLITE_CORRUPT, RP_ERR_INTERNAL },
		{ SQLITE_NOTADB, RP_ERR_INTERNAL },
		{ SQLITE_MISUSE, RP_ERR_INTERNAL },
		{ SQLITE_ERROR, RP_ERR_INTERNAL },
		{ SQLITE_CONSTRAINT, RP_ERR_INTERNAL },
	};
	struct tdb	*t = *state;
	struct db	*db;
	size_t		 i;

	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	assert_non_null(db = db_open(&t->cfg, t->err, sizeof(t->err)));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		db_fault_set(cases[i].code);
		assert_int_equal(db_health(db), cases[i].want);
		/* One step only: the next one works. */
		assert_int_equal(db_health(db), RP_OK);
	}
	db_fault_set(SQLITE_BUSY);
	db_fault_set(0);
	assert_int_equal(db_health(db), RP_OK);
	db_fault_set(SQLITE_IOERR);
	assert_int_equal(db_schema_version(db), -1);
	assert_int_equal(db_schema_version(db), 4);
	db_close(db);

	/* A fault while opening fails the open cleanly. */
	db_fault_set(SQLITE_IOERR);
	assert_null(db_open(&t->cfg, t->err, sizeof(t->err)));
	expect_err_has(t->err, "journal_mode");
	assert_non_null(db = db_open(&t->cfg, t->err, sizeof(t->err)));
	db_close(db);
}

/*
 * Appends sql to out with white space runs made one space and no space
 * next to ( ) , so layout differences do not count.
 */
static void
norm_append(struct buf *out, const char *sql)
{
	const char	*s;
	int		 sp = 0;

	for (s = sql; *s != '\0'; s++) {
		if (isspace((unsigned char)*s)) {
			sp = 1;
			continue;
		}
		if (sp && out->len > 0 && strchr("(,", out->p[out->len - 1]) ==
		    NULL && strchr("(),", *s) == NULL)
			assert_int_equal(buf_addc(out, ' '), RP_OK);
		sp = 0;
		assert_int_equal(buf_addc(out, *s), RP_OK);
	}
}

/* Every schema object of h as "type|name|table|sql\n", sorted. */
static void
schema_dump(sqlite3 *h, struct buf *out)
{
	sqlite3_stmt	*st;
	int		 rc, i;
	const char	*v;

	assert_int_equal(sqlite3_prepare_v2(h, "SELECT type, name, tbl_name, "
	    "sql FROM sqlite_master ORDER BY type, name", -1, &st, NULL),
	    SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < 4; i++) {
			v = (const char *)sqlite3_column_text(st, i);
			norm_append(out, v != NULL ? v : "NULL");
			assert_int_equal(buf_addc(out, i < 3 ? '|' : '\n'),
			    RP_OK);
		}
	}
	assert_int_equal(rc, SQLITE_DONE);
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
}

static void
test_schema_matches_migrations(void **state)
{
	struct tdb	*t = *state;
	struct buf	 a, b, text;
	sqlite3		*h;
	FILE		*f;
	char		 chunk[4096];
	size_t		 n;

	buf_init(&a, 1024 * 1024);
	buf_init(&b, 1024 * 1024);
	buf_init(&text, 1024 * 1024);
	assert_int_equal(db_migrate(&t->cfg, t->err, sizeof(t->err)), RP_OK);
	h = raw_open(t);
	schema_dump(h, &a);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);

	assert_non_null(f = fopen("db/schema.sql", "r"));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_add(&text, chunk, n), RP_OK);
	assert_int_equal(ferror(f), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sqlite3_open(":memory:", &h), SQLITE_OK);
	raw_exec(h, text.p);
	schema_dump(h, &b);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);

	assert_true(a.len > 0);
	assert_non_null(strstr(a.p, "table|meta|meta|CREATE TABLE meta("));
	assert_string_equal(a.p, b.p);
	/* The comparison sees a change: one more column differs. */
	assert_int_equal(sqlite3_open(":memory:", &h), SQLITE_OK);
	raw_exec(h, text.p);
	raw_exec(h, "ALTER TABLE meta ADD COLUMN extra TEXT");
	buf_reset(&b);
	schema_dump(h, &b);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	assert_string_not_equal(a.p, b.p);
	buf_free(&a);
	buf_free(&b);
	buf_free(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate_fresh, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_newer_db, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrate_broken_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_defensive, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_missing_number,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_duplicate_number,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_bad_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_busy_wait, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_busy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_before_migrate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_health, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_schema_matches_migrations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
