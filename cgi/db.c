/*
 * The SQLite store: the only file that includes sqlite3.h.
 *
 * db_migrate() runs once in the supervisor: it creates the database if
 * needed and applies db_dir/migrations/NNNN_*.sql up to DB_SCHEMA_VERSION,
 * one transaction per file.  Each worker then calls db_open(), which
 * checks the schema version and prepares every statement of db_sql[]
 * once.  All SQL text of the program is fixed and lives in db_sql[]; the
 * two exceptions are the migration scripts (files, run as they are) and
 * "PRAGMA user_version = N", since a PRAGMA cannot take a bound value.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

#include "extern.h"

/* The newest migration this program knows. */
#define DB_SCHEMA_VERSION	1

/* The largest migration file read. */
#define DB_MIGRATION_MAX	(1024u * 1024u)

enum db_stmt {
	/* Connection set-up and transactions. */
	DB_STMT_JOURNAL_WAL,
	DB_STMT_SYNC_FULL,
	DB_STMT_FOREIGN_KEYS_ON,
	DB_STMT_FOREIGN_KEYS_OFF,
	DB_STMT_FOREIGN_KEYS,
	DB_STMT_FOREIGN_KEY_CHECK,
	DB_STMT_USER_VERSION,
	DB_STMT_BEGIN,
	DB_STMT_COMMIT,
	DB_STMT_ROLLBACK,
	/* Queries. */
	DB_STMT_HEALTH,
	DB_STMT__MAX
};

/* Every SQL statement of the program, one per entry, prepared once. */
static const char *const db_sql[DB_STMT__MAX] = {
	[DB_STMT_JOURNAL_WAL] = "PRAGMA journal_mode = WAL",
	[DB_STMT_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[DB_STMT_FOREIGN_KEYS_ON] = "PRAGMA foreign_keys = ON",
	[DB_STMT_FOREIGN_KEYS_OFF] = "PRAGMA foreign_keys = OFF",
	[DB_STMT_FOREIGN_KEYS] = "PRAGMA foreign_keys",
	[DB_STMT_FOREIGN_KEY_CHECK] = "PRAGMA foreign_key_check",
	[DB_STMT_USER_VERSION] = "PRAGMA user_version",
	[DB_STMT_BEGIN] = "BEGIN IMMEDIATE",
	[DB_STMT_COMMIT] = "COMMIT",
	[DB_STMT_ROLLBACK] = "ROLLBACK",
	[DB_STMT_HEALTH] = "SELECT 1 FROM meta LIMIT 1",
};

/* One worker's connection and its prepared statements. */
struct db {
	sqlite3		*h;
	sqlite3_stmt	*stmt[DB_STMT__MAX];
};

#ifdef RP_UNITTEST
/* The error code the next db_step() returns instead of stepping. */
static int db_fault;

/*
 * Makes the next statement step of this process fail with code (an
 * SQLite result code); 0 cancels.  Tests only: not in production builds.
 */
void
db_fault_set(int code)
{
	db_fault = code;
}
#endif

/*
 * sqlite3_step() with the test fault hook.  Returns its result code.
 */
static int
db_step(sqlite3_stmt *stmt)
{
#ifdef RP_UNITTEST
	int	 rc;

	if (db_fault != 0) {
		rc = db_fault;
		db_fault = 0;
		return rc;
	}
#endif
	return sqlite3_step(stmt);
}

/*
 * Maps an SQLite result code of a failed call to our error: contention
 * and I/O trouble is RP_ERR_UNAVAILABLE (try again later), anything else
 * a bug or damage, RP_ERR_INTERNAL.
 */
static enum rp_err
db_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return RP_ERR_UNAVAILABLE;
	default:
		return RP_ERR_INTERNAL;
	}
}

/*
 * Prepares the single statement sql on h into *stmt with flags (0 or
 * SQLITE_PREPARE_PERSISTENT).  Returns SQLITE_OK, or an error code with
 * *stmt NULL; text after the first statement is an error (SQLITE_MISUSE).
 */
static int
db_prepare(sqlite3 *h, const char *sql, unsigned int flags,
    sqlite3_stmt **stmt)
{
	const char	*tail = NULL;
	int		 rc;

	*stmt = NULL;
	rc = sqlite3_prepare_v3(h, sql, -1, flags, stmt, &tail);
	if (rc != SQLITE_OK)
		return rc;
	if (*stmt == NULL)
		return SQLITE_MISUSE;	/* empty text */
	while (tail != NULL && isspace((unsigned char)*tail))
		tail++;
	if (tail != NULL && *tail != '\0') {
		(void)sqlite3_finalize(*stmt);	/* it did not fail */
		*stmt = NULL;
		return SQLITE_MISUSE;
	}
	return SQLITE_OK;
}

/*
 * The authorizer while a migration script runs: the script may change
 * the schema and the data, but not end or nest the transaction that
 * makes it all-or-nothing, attach other files, or change the
 * connection's settings (user_version is set by db_apply() itself).
 */
static int
db_migration_auth(void *arg, int action, const char *a, const char *b,
    const char *c, const char *d)
{
	(void)arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	switch (action) {
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
	case SQLITE_PRAGMA:
		return SQLITE_DENY;
	default:
		return SQLITE_OK;
	}
}

/*
 * Runs sql once on h: prepares, steps to the end, finalizes.  When the
 * first step gives a row and out is not NULL, its first column is copied
 * to out (outsz bytes, NUL terminated).  Returns SQLITE_OK or the first
 * error code; err gets "what: sqlite's message".
 */
static int
db_once(sqlite3 *h, const char *sql, char *out, size_t outsz,
    char *err, size_t errlen)
{
	sqlite3_stmt		*stmt;
	const unsigned char	*txt;
	int			 rc, first = 1;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if ((rc = db_prepare(h, sql, 0, &stmt)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(h));
		return rc;
	}
	while ((rc = db_step(stmt)) == SQLITE_ROW) {
		if (first && out != NULL && outsz > 0) {
			txt = sqlite3_column_text(stmt, 0);
			if (txt == NULL)
				txt = (const unsigned char *)"";
			(void)snprintf(out, outsz, "%s", (const char *)txt);
		}
		first = 0;
	}
	if (rc != SQLITE_DONE)
		(void)snprintf(err, errlen, "%s: %s", sql,
		    sqlite3_errstr(rc));
	else
		rc = SQLITE_OK;
	/* finalize() repeats the step's error, reported above. */
	(void)sqlite3_finalize(stmt);
	return rc;
}

/*
 * Reads PRAGMA user_version of h into *version.  Returns SQLITE_OK or an
 * error code with err filled.
 */
static int
db_user_version(sqlite3 *h, int *version, char *err, size_t errlen)
{
	char		 buf[32];
	char		*end;
	long long	 v;
	int		 rc;

	rc = db_once(h, db_sql[DB_STMT_USER_VERSION], buf, sizeof(buf),
	    err, errlen);
	if (rc != SQLITE_OK)
		return rc;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0' || v < 0 ||
	    v > 0x7fffffff) {
		(void)snprintf(err, errlen, "bad user_version \"%.20s\"", buf);
		return SQLITE_CORRUPT;
	}
	*version = (int)v;
	return SQLITE_OK;
}

/*
 * Opens cfg->database with flags (plus NOFOLLOW) and sets up the
 * connection: extended result codes, defensive mode, no trusted schema,
 * the busy timeout, WAL, synchronous FULL, foreign keys.  Returns the
 * handle, to be closed with sqlite3_close(), or NULL with err filled.
 */
static sqlite3 *
db_connect(const struct config *cfg, int flags, char *err, size_t errlen)
{
	sqlite3		*h = NULL;
	char		 what[RP_ERRMSG_MAX], mode[16];
	int		 rc, on = 0, syserr;

	rc = sqlite3_open_v2(cfg->database, &h,
	    flags | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		syserr = h != NULL ? sqlite3_system_errno(h) : 0;
		(void)snprintf(err, errlen, "%s: cannot open database: %s%s%s",
		    cfg->database, h != NULL ? sqlite3_errmsg(h) :
		    sqlite3_errstr(rc), syserr != 0 ? ": " : "",
		    syserr != 0 ? strerror(syserr) : "");
		goto fail;
	}
	if (sqlite3_extended_result_codes(h, 1) != SQLITE_OK ||
	    sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) !=
	    SQLITE_OK || on != 1) {
		(void)snprintf(err, errlen, "%s: cannot turn on defensive "
		    "mode", cfg->database);
		goto fail;
	}
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	on = 1;
	if (sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on) !=
	    SQLITE_OK || on != 0) {
		(void)snprintf(err, errlen, "%s: cannot turn off trusted "
		    "schema", cfg->database);
		goto fail;
	}
#endif
	if (sqlite3_busy_timeout(h, (int)cfg->busy_timeout_ms) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: cannot set the busy timeout",
		    cfg->database);
		goto fail;
	}
	if (db_once(h, db_sql[DB_STMT_JOURNAL_WAL], mode, sizeof(mode),
	    what, sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		goto fail;
	}
	if (strcasecmp(mode, "wal") != 0) {
		(void)snprintf(err, errlen, "%s: journal mode is \"%.15s\", "
		    "not wal", cfg->database, mode);
		goto fail;
	}
	if (db_once(h, db_sql[DB_STMT_SYNC_FULL], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_STMT_FOREIGN_KEYS_ON], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_STMT_FOREIGN_KEYS], mode, sizeof(mode), what,
	    sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		goto fail;
	}
	if (strcmp(mode, "1") != 0) {
		(void)snprintf(err, errlen, "%s: foreign keys stay off",
		    cfg->database);
		goto fail;
	}
	return h;
fail:
	/* Nothing is prepared, so close() cannot be busy. */
	(void)sqlite3_close(h);
	return NULL;
}


/*
 * Finds the migration files of dir/migrations: names NNNN_<name>.sql,
 * NNNN from 0001.  Other names not ending in ".sql" and dot files are
 * ignored; another *.sql name, a number used twice or a number in
 * (from, DB_SCHEMA_VERSION] without a file is an error.  Files numbered
 * above DB_SCHEMA_VERSION are left for a newer program.  On success
 * files[n] holds the path of migration n for each such n (the caller
 * frees each) and 0 is returned; else -1 with err filled and nothing to
 * free.
 */
static int
db_find_migrations(const char *dir, int from,
    char *files[DB_SCHEMA_VERSION + 1], char *err, size_t errlen)
{
	char		 mdir[RP_CONF_STR + 16], path[RP_CONF_STR + 300];
	char		 seen[DB_SCHEMA_VERSION + 1][256];
	DIR		*d;
	struct dirent	*de;
	const char	*name;
	size_t		 len, i;
	int		 n, plen, rc = -1;

	memset(seen, 0, sizeof(seen));
	for (n = 0; n <= DB_SCHEMA_VERSION; n++)
		files[n] = NULL;
	n = snprintf(mdir, sizeof(mdir), "%s/migrations", dir);
	if (n < 0 || (size_t)n >= sizeof(mdir)) {
		(void)snprintf(err, errlen, "%s: name too long", dir);
		return -1;
	}
	if ((d = opendir(mdir)) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", mdir, strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				(void)snprintf(err, errlen, "%s: %s", mdir,
				    strerror(errno));
				goto out;
			}
			break;
		}
		name = de->d_name;
		len = strlen(name);
		if (name[0] == '.' || len < 4 ||
		    strcmp(name + len - 4, ".sql") != 0)
			continue;
		for (i = 0; i < 4; i++)
			if (!isdigit((unsigned char)name[i]))
				break;
		if (i < 4 || len < 10 || name[4] != '_' ||
		    len >= sizeof(seen[0])) {
			(void)snprintf(err, errlen, "%s/%s: not a migration "
			    "name (NNNN_name.sql)", mdir, name);
			goto out;
		}
		n = (name[0] - '0') * 1000 + (name[1] - '0') * 100 +
		    (name[2] - '0') * 10 + (name[3] - '0');
		if (n == 0) {
			(void)snprintf(err, errlen, "%s/%s: migrations are "
			    "numbered from 0001", mdir, name);
			goto out;
		}
		if (n > DB_SCHEMA_VERSION)
			continue;
		if (seen[n][0] != '\0') {
			(void)snprintf(err, errlen, "%s: %s and %s have the "
			    "same number", mdir, seen[n], name);
			goto out;
		}
		memcpy(seen[n], name, len + 1);
	}
	for (n = from + 1; n <= DB_SCHEMA_VERSION; n++) {
		if (seen[n][0] == '\0') {
			(void)snprintf(err, errlen, "%s: migration %04d is "
			    "missing", mdir, n);
			goto out;
		}
		plen = snprintf(path, sizeof(path), "%s/%s", mdir, seen[n]);
		if (plen < 0 || (size_t)plen >= sizeof(path) ||
		    (files[n] = strdup(path)) == NULL) {
			(void)snprintf(err, errlen, "%s/%s: name too long or "
			    "out of memory", mdir, seen[n]);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		for (n = 0; n <= DB_SCHEMA_VERSION; n++) {
			free(files[n]);
			files[n] = NULL;
		}
	(void)closedir(d);	/* read-only */
	return rc;
}

/*
 * Applies migration number n from path on h in one BEGIN IMMEDIATE
 * transaction ending with PRAGMA user_version = n.  Skips it when another
 * process applied it meanwhile.  Returns 0, or -1 with err naming the
 * file and the transaction rolled back.
 */
static int
db_apply(sqlite3 *h, int n, const char *path, char *err, size_t errlen)
{
	char	 what[RP_ERRMSG_MAX], setver[64], fk[128];
	char	*script = NULL, *msg = NULL;
	size_t	 len;
	int	 cur, rc = -1, intx = 0;

	if ((script = rp_read_file(path, DB_MIGRATION_MAX, &len, what,
	    sizeof(what))) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		return -1;
	}
	/*
	 * Foreign keys are off while the schema changes (a rebuilt parent
	 * table must not cascade into its children) and checked as a whole
	 * before the commit.  The pragma is a no-op inside a transaction,
	 * so it comes first.
	 */
	if (db_once(h, db_sql[DB_STMT_FOREIGN_KEYS_OFF], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_STMT_BEGIN], NULL, 0, what, sizeof(what)) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	intx = 1;
	if (db_user_version(h, &cur, what, sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	if (cur >= n) {
		rc = 0;		/* another process was faster */
		goto out;
	}
	if (cur != n - 1) {
		(void)snprintf(err, errlen, "%s: database went from version "
		    "%d to %d meanwhile", path, n - 1, cur);
		goto out;
	}
	if (sqlite3_set_authorizer(h, db_migration_auth, NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: cannot guard the script",
		    path);
		goto out;
	}
	cur = sqlite3_exec(h, script, NULL, NULL, &msg);
	(void)sqlite3_set_authorizer(h, NULL, NULL);
	if (cur != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s%s", path,
		    msg != NULL ? msg : sqlite3_errmsg(h),
		    cur == SQLITE_AUTH ? " (no BEGIN, COMMIT, SAVEPOINT, "
		    "ATTACH or PRAGMA in migrations)" : "");
		goto out;
	}
	if (db_once(h, db_sql[DB_STMT_FOREIGN_KEY_CHECK], fk, sizeof(fk),
	    what, sizeof(what)) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	if (fk[0] != '\0') {
		(void)snprintf(err, errlen, "%s: leaves rows of table %s "
		    "without their parent row (foreign key)", path, fk);
		goto out;
	}
	if (sqlite3_get_autocommit(h)) {
		intx = 0;
		(void)snprintf(err, errlen, "%s: the script ended the "
		    "transaction (no BEGIN, COMMIT or ROLLBACK in migrations)",
		    path);
		goto out;
	}
	/* A PRAGMA cannot take a bound value; n is our own loop counter. */
	cur = snprintf(setver, sizeof(setver), "PRAGMA user_version = %d", n);
	if (cur < 0 || (size_t)cur >= sizeof(setver))
		goto out;
	if (db_once(h, setver, NULL, 0, what, sizeof(what)) != SQLITE_OK ||
	    db_once(h, db_sql[DB_STMT_COMMIT], NULL, 0, what, sizeof(what)) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		goto out;
	}
	intx = 0;
	rc = 0;
out:
	if (intx && !sqlite3_get_autocommit(h) &&
	    db_once(h, db_sql[DB_STMT_ROLLBACK], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK && rc == 0) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		rc = -1;
	}
	if (db_once(h, db_sql[DB_STMT_FOREIGN_KEYS_ON], NULL, 0, what,
	    sizeof(what)) != SQLITE_OK && rc == 0) {
		(void)snprintf(err, errlen, "%s: %s", path, what);
		rc = -1;
	}
	sqlite3_free(msg);
	free(script);
	return rc;
}

/*
 * Creates cfg->database if needed and brings its schema to
 * DB_SCHEMA_VERSION with the migrations of cfg->db_dir.  Runs once, in
 * the supervisor, before any worker opens the database.  Each migration
 * is all or nothing.  Returns RP_OK; RP_ERR_UNAVAILABLE when the database
 * cannot be opened or set up, RP_ERR_INTERNAL for anything else (a newer
 * database, a bad or failing migration), with err filled.  Nothing to
 * free.
 */
enum rp_err
db_migrate(const struct config *cfg, char *err, size_t errlen)
{
	sqlite3		*h;
	char		*files[DB_SCHEMA_VERSION + 1];
	char		 what[RP_ERRMSG_MAX];
	int		 n, version, rc;
	enum rp_err	 e = RP_ERR_INTERNAL;

	if (errlen > 0)
		err[0] = '\0';
	for (n = 0; n <= DB_SCHEMA_VERSION; n++)
		files[n] = NULL;
	h = db_connect(cfg, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    err, errlen);
	if (h == NULL)
		return RP_ERR_UNAVAILABLE;
	if ((rc = db_user_version(h, &version, what, sizeof(what))) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		e = db_err(rc);
		goto out;
	}
	if (version > DB_SCHEMA_VERSION) {
		(void)snprintf(err, errlen, "%s: schema version %d is newer "
		    "than this program's %d; install the newer program",
		    cfg->database, version, DB_SCHEMA_VERSION);
		goto out;
	}
	if (version == DB_SCHEMA_VERSION) {
		e = RP_OK;
		goto out;
	}
	if (db_find_migrations(cfg->db_dir, version, files, err, errlen) ==
	    -1)
		goto out;
	for (n = version + 1; n <= DB_SCHEMA_VERSION; n++)
		if (db_apply(h, n, files[n], err, errlen) == -1)
			goto out;
	e = RP_OK;
out:
	for (n = 0; n <= DB_SCHEMA_VERSION; n++)
		free(files[n]);
	if (sqlite3_close(h) != SQLITE_OK && e == RP_OK) {
		(void)snprintf(err, errlen, "%s: cannot close", cfg->database);
		e = RP_ERR_INTERNAL;
	}
	return e;
}

/*
 * Opens this worker's connection to the existing, migrated database and
 * prepares every statement of db_sql[].  Returns the connection, to be
 * closed with db_close(), or NULL with err filled.
 */
struct db *
db_open(const struct config *cfg, char *err, size_t errlen)
{
	struct db	*db;
	char		 what[RP_ERRMSG_MAX];
	int		 version, i;

	if (errlen > 0)
		err[0] = '\0';
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((db->h = db_connect(cfg, SQLITE_OPEN_READWRITE, err, errlen)) ==
	    NULL)
		goto fail;
	if (db_user_version(db->h, &version, what, sizeof(what)) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", cfg->database, what);
		goto fail;
	}
	if (version != DB_SCHEMA_VERSION) {
		(void)snprintf(err, errlen, "%s: schema version %d, this "
		    "program needs %d; run the migrations first",
		    cfg->database, version, DB_SCHEMA_VERSION);
		goto fail;
	}
	for (i = 0; i < DB_STMT__MAX; i++)
		if (db_prepare(db->h, db_sql[i], SQLITE_PREPARE_PERSISTENT,
		    &db->stmt[i]) != SQLITE_OK) {
			(void)snprintf(err, errlen, "%s: cannot prepare "
			    "\"%s\": %s", cfg->database, db_sql[i],
			    sqlite3_errmsg(db->h));
			goto fail;
		}
	return db;
fail:
	db_close(db);
	return NULL;
}

/*
 * Finalizes every statement and closes the connection.  db may be NULL
 * or half opened.
 */
void
db_close(struct db *db)
{
	int	 i;

	if (db == NULL)
		return;
	for (i = 0; i < DB_STMT__MAX; i++)
		/* finalize() only repeats the last step's error. */
		(void)sqlite3_finalize(db->stmt[i]);
	/* All statements are gone, so close() cannot be busy. */
	(void)sqlite3_close(db->h);
	free(db);
}

/*
 * Checks that the database answers a cheap read.  Returns RP_OK,
 * RP_ERR_UNAVAILABLE when it is busy, locked, unreadable or the
 * connection is missing, RP_ERR_INTERNAL for anything else.
 */
enum rp_err
db_health(struct db *db)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (db == NULL || db->h == NULL)
		return RP_ERR_UNAVAILABLE;
	stmt = db->stmt[DB_STMT_HEALTH];
	rc = db_step(stmt);
	/* reset() repeats the step's error, handled below. */
	(void)sqlite3_reset(stmt);
	(void)sqlite3_clear_bindings(stmt);	/* always SQLITE_OK */
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return RP_OK;
	return db_err(rc);
}

/*
 * Returns the schema version (PRAGMA user_version) of the open database,
 * or -1 when it cannot be read.
 */
int
db_schema_version(struct db *db)
{
	sqlite3_stmt	*stmt;
	int		 rc, v = -1;

	if (db == NULL || db->h == NULL)
		return -1;
	stmt = db->stmt[DB_STMT_USER_VERSION];
	if ((rc = db_step(stmt)) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	(void)sqlite3_reset(stmt);	/* repeats the step's error */
	return v;
}
