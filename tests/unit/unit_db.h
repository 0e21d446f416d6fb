/*
 * A migrated database in a fresh temporary directory for the unit tests
 * of the modules above db.c (audit, registry, lifecycle).  Include after
 * unit.h.  udb_setup()/udb_teardown() are cmocka setup/teardown
 * functions; the state is a struct udb.
 */
#ifndef REVPORTAL_UNIT_DB_H
#define REVPORTAL_UNIT_DB_H

#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

struct udb {
	char		 dir[64];
	struct config	 cfg;
	struct db	*db;
	char		 err[512];
};

static inline int
udb_setup(void **state)
{
	struct udb	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	(void)snprintf(t->dir, sizeof(t->dir), "/tmp/rp-udb-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	conf_defaults(&t->cfg);
	(void)snprintf(t->cfg.database, sizeof(t->cfg.database),
	    "%s/revportal.db", t->dir);
	(void)snprintf(t->cfg.db_dir, sizeof(t->cfg.db_dir), "db");
	if (db_migrate(&t->cfg, t->err, sizeof(t->err)) != RP_OK ||
	    (t->db = db_open(&t->cfg, t->err, sizeof(t->err))) == NULL) {
		fprintf(stderr, "udb_setup: %s\n", t->err);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int
udb_teardown(void **state)
{
	struct udb	*t = *state;
	char		 p[128];
	static const char *const names[] = { "revportal.db",
	    "revportal.db-wal", "revportal.db-shm" };
	size_t		 i;

	db_fault_set(0);
	db_fault_stmt(DB__MAX, 0);
	db_close(t->db);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", t->dir, names[i]);
		(void)unlink(p);
	}
	(void)rmdir(t->dir);
	free(t);
	return 0;
}

/*
 * Runs sql on a second, raw connection to the test database (as an
 * attacker with the sqlite3 tool would) and returns the first column of
 * its first row as an integer (0 if none).
 */
static inline long long
udb_raw(struct udb *t, const char *sql)
{
	sqlite3		*h;
	sqlite3_stmt	*st = NULL;
	long long	 v = 0;
	const char	*tail;
	int		 rc;

	if (sqlite3_open(t->cfg.database, &h) != SQLITE_OK)
		fail_msg("open %s", t->cfg.database);
	sqlite3_busy_timeout(h, 2000);
	while (sql != NULL && *sql != '\0') {
		rc = sqlite3_prepare_v2(h, sql, -1, &st, &tail);
		if (rc != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(h));
		if (st == NULL)
			break;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		if (rc != SQLITE_DONE)
			fail_msg("%s: %s", sql, sqlite3_errmsg(h));
		sqlite3_finalize(st);
		sql = tail;
	}
	sqlite3_close(h);
	return v;
}

#endif /* REVPORTAL_UNIT_DB_H */
