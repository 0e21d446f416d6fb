/*
 * Unit tests of audit.c: the hash-chained, append-only audit log.  The
 * tamper tests edit the database through a second connection, as
 * someone with the sqlite3 tool would, after dropping the triggers that
 * stop accidental edits.
 */
#include "unit.h"
#include "unit_db.h"

#include <openssl/evp.h>

/* Appends n entries in one transaction; entry i is about "request:i". */
static void
append_n(struct udb *t, int n)
{
	struct rp_errinfo	 ei;
	json_t			*d;
	char			 subj[32];
	int			 i;

	assert_int_equal(db_begin(t->db), RP_OK);
	for (i = 1; i <= n; i++) {
		(void)snprintf(subj, sizeof(subj), "request:%d", i);
		assert_non_null(d = json_pack("{s:i, s:s}", "n", i,
		    "text", "Špela"));
		assert_int_equal(audit_append(t->db, 1700000000000LL + i,
		    "admin:test", "test.event", subj, d, &ei), RP_OK);
		json_decref(d);
	}
	assert_int_equal(db_commit(t->db), RP_OK);
}

/* Runs audit_verify() and returns the broken sequence number (0: ok). */
static long long
verify(struct udb *t, long long *count)
{
	struct rp_errinfo	 ei;
	int64_t			 c, bad;
	char			 head[65];
	enum rp_err		 e;

	e = audit_verify(t->db, &c, &bad, head, &ei);
	if (count != NULL)
		*count = c;
	if (e == RP_OK) {
		assert_int_equal(bad, 0);
		assert_int_equal(strlen(head), 64);
		return 0;
	}
	assert_int_equal(e, RP_ERR_CONFLICT);
	assert_string_equal(ei.code, "audit_broken");
	return bad;
}

static void
test_empty_log_verifies(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	int64_t			 c, bad;
	char			 head[65];

	assert_int_equal(audit_verify(t->db, &c, &bad, head, &ei), RP_OK);
	assert_int_equal(c, 0);
	assert_string_equal(head, "00000000000000000000000000000000"
	    "00000000000000000000000000000000");
}

static void
test_chain_intact(void **state)
{
	struct udb	*t = *state;
	long long	 c;

	append_n(t, 5);
	assert_int_equal(verify(t, &c), 0);
	assert_int_equal(c, 5);
	/* Each entry names its predecessor's hash. */
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit a JOIN audit "
	    "b ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash"), 4);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "seq = 1 AND prev_hash = printf('%064d', 0)"), 1);
}

/*
 * The hash is exactly the documented encoding: recomputed here from the
 * text in audit.c's header comment, independently of audit_hash().
 */
static void
test_hash_is_documented_encoding(void **state)
{
	struct udb		*t = *state;
	struct audit_entry	 e;
	unsigned char		 md[32];
	unsigned int		 mdlen;
	char			 text[1024], hex[65], got[65];
	int			 n, i;

	(void)t;
	e.seq = 7;
	e.at = 1700000000123LL;
	e.actor = "staff:ana";
	e.action = "request.received";
	e.subject = "request:abc";
	e.details = "{\"a\":1}";
	e.prev_hash = "ab";
	n = snprintf(text, sizeof(text), "revportal-audit/1\n1:7\n"
	    "13:1700000000123\n9:staff:ana\n16:request.received\n"
	    "11:request:abc\n7:{\"a\":1}\n2:ab\n");
	assert_true(n > 0);
	assert_int_equal(EVP_Digest(text, (size_t)n, md, &mdlen,
	    EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_int_equal(audit_hash(&e, got), RP_OK);
	assert_string_equal(got, hex);
	/* Moving a byte from one field to the next changes the hash. */
	e.actor = "staff:an";
	e.action = "arequest.received";
	assert_int_equal(audit_hash(&e, got), RP_OK);
	assert_string_not_equal(got, hex);
}

/* The triggers refuse ordinary edits. */
static void
test_append_only(void **state)
{
	struct udb	*t = *state;
	sqlite3		*h;

	append_n(t, 2);
	assert_int_equal(sqlite3_open(t->cfg.database, &h), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(h, "UPDATE audit SET actor = 'x' "
	    "WHERE seq = 1", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(h, "DELETE FROM audit WHERE seq = 2",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	assert_int_equal(verify(t, NULL), 0);
}

#define UNGUARD	"DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; "

static void
test_modified_row_named(void **state)
{
	struct udb	*t = *state;

	append_n(t, 6);
	(void)udb_raw(t, UNGUARD "UPDATE audit SET details = "
	    "'{\"n\":4,\"text\":\"Spela\"}' WHERE seq = 4");
	assert_int_equal(verify(t, NULL), 4);
}

static void
test_modified_time_named(void **state)
{
	struct udb	*t = *state;

	append_n(t, 3);
	(void)udb_raw(t, UNGUARD "UPDATE audit SET at = at + 1 WHERE seq = 2");
	assert_int_equal(verify(t, NULL), 2);
}

/* Rewriting a row's own hash too is caught by the next row. */
static void
test_rehashed_row_caught_by_next(void **state)
{
	struct udb		*t = *state;
	struct audit_entry	 e;
	char			 h[65], sql[512];

	append_n(t, 4);
	e.seq = 2;
	e.at = 1700000000002LL;
	e.actor = "admin:test";
	e.action = "test.event";
	e.subject = "request:2";
	e.details = "{\"n\":99}";
	/* The true hash of entry 1 is the prev of entry 2. */
	(void)udb_raw(t, "SELECT 1");
	{
		sqlite3		*db;
		sqlite3_stmt	*st;
		static char	 prev[65];

		assert_int_equal(sqlite3_open(t->cfg.database, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT prev_hash FROM "
		    "audit WHERE seq = 2", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		(void)snprintf(prev, sizeof(prev), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
		e.prev_hash = prev;
	}
	assert_int_equal(audit_hash(&e, h), RP_OK);
	(void)snprintf(sql, sizeof(sql), UNGUARD "UPDATE audit SET details = "
	    "'{\"n\":99}', hash = '%s' WHERE seq = 2", h);
	(void)udb_raw(t, sql);
	assert_int_equal(verify(t, NULL), 3);
}

static void
test_deleted_row_named(void **state)
{
	struct udb	*t = *state;

	append_n(t, 5);
	(void)udb_raw(t, UNGUARD "DELETE FROM audit WHERE seq = 3");
	assert_int_equal(verify(t, NULL), 3);
}

static void
test_deleted_first_row_named(void **state)
{
	struct udb	*t = *state;

	append_n(t, 3);
	(void)udb_raw(t, UNGUARD "DELETE FROM audit WHERE seq = 1");
	assert_int_equal(verify(t, NULL), 1);
}

/* Deleting a row and renumbering the rest is caught by the chain. */
static void
test_deleted_and_renumbered_named(void **state)
{
	struct udb	*t = *state;

	append_n(t, 5);
	(void)udb_raw(t, UNGUARD "DELETE FROM audit WHERE seq = 2; "
	    "UPDATE audit SET seq = seq - 1 WHERE seq > 2");
	assert_int_equal(verify(t, NULL), 2);
}

/* Bytes hidden behind a NUL inside a value are an edit too. */
static void
test_nul_hidden_edit_named(void **state)
{
	struct udb	*t = *state;

	append_n(t, 3);
	(void)udb_raw(t, UNGUARD "UPDATE audit SET details = details || "
	    "char(0) || 'forged' WHERE seq = 2");
	assert_int_equal(verify(t, NULL), 2);
}

static void
test_reordered_rows_named(void **state)
{
	struct udb	*t = *state;

	append_n(t, 5);
	/* Swap the contents of entries 3 and 4, keeping the numbers. */
	(void)udb_raw(t, UNGUARD
	    "UPDATE audit SET seq = 100 WHERE seq = 3; "
	    "UPDATE audit SET seq = 3 WHERE seq = 4; "
	    "UPDATE audit SET seq = 4 WHERE seq = 100");
	assert_int_equal(verify(t, NULL), 3);
}

/* Cutting the tail leaves a valid, shorter chain with another head. */
static void
test_truncated_tail_changes_head(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	int64_t			 c, bad;
	char			 head1[65], head2[65];

	append_n(t, 4);
	assert_int_equal(audit_verify(t->db, &c, &bad, head1, &ei), RP_OK);
	(void)udb_raw(t, UNGUARD "DELETE FROM audit WHERE seq = 4");
	assert_int_equal(audit_verify(t->db, &c, &bad, head2, &ei), RP_OK);
	assert_int_equal(c, 3);
	assert_string_not_equal(head1, head2);
}

static void
test_secrets_refused(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	json_t			*d;
	static const char *const bad[] = {
		"{\"passphrase\":\"hunter22\"}",
		"{\"x\":{\"Passphrase\":\"hunter22\"}}",
		"{\"list\":[{\"signature\":\"MIIB\"}]}",
		"{\"password\":1}",
		"{\"pass_hash\":\"$argon2id$v=19$...\"}",
		"{\"secret\":{\"a\":true}}",
	};
	size_t			 i;

	assert_int_equal(db_begin(t->db), RP_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(d = json_loads(bad[i], 0, NULL));
		assert_int_equal(audit_append(t->db, 1, "a", "b", "c", d, &ei),
		    RP_ERR_INTERNAL);
		assert_string_equal(ei.code, "secret_in_audit");
		json_decref(d);
	}
	/* Whether one was given is fine. */
	assert_non_null(d = json_loads("{\"passphrase\":true,"
	    "\"signature\":null}", 0, NULL));
	assert_int_equal(audit_append(t->db, 1, "a", "b", "c", d, &ei), RP_OK);
	json_decref(d);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit"), 1);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "details LIKE '%hunter%' OR details LIKE '%MIIB%'"), 0);
}

static void
test_missing_fields_refused(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;

	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(audit_append(t->db, 1, NULL, "b", "c", NULL, &ei),
	    RP_ERR_INTERNAL);
	assert_int_equal(audit_append(t->db, 1, "a", NULL, "c", NULL, &ei),
	    RP_ERR_INTERNAL);
	assert_int_equal(audit_append(t->db, 1, "a", "b", NULL, NULL, &ei),
	    RP_ERR_INTERNAL);
	/* NULL details are an empty object. */
	assert_int_equal(audit_append(t->db, 1, "a", "b", "c", NULL, &ei),
	    RP_OK);
	assert_int_equal(db_commit(t->db), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit WHERE "
	    "details = '{}'"), 1);
}

/* A failed commit leaves no entry and the chain intact. */
static void
test_failed_commit_leaves_nothing(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;

	append_n(t, 2);
	assert_int_equal(db_begin(t->db), RP_OK);
	assert_int_equal(audit_append(t->db, 5, "a", "b", "c", NULL, &ei),
	    RP_OK);
	db_fault_stmt(DB_COMMIT, SQLITE_FULL);
	assert_int_not_equal(db_commit(t->db), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT count(*) FROM audit"), 2);
	assert_int_equal(verify(t, NULL), 0);
	append_n(t, 1);
	assert_int_equal(udb_raw(t, "SELECT max(seq) FROM audit"), 3);
	assert_int_equal(verify(t, NULL), 0);
}

static int
count_cb(void *arg, const struct audit_entry *e)
{
	int	*n = arg;

	assert_string_equal(e->subject, "request:2");
	(*n)++;
	return 0;
}

static void
test_each_by_subject(void **state)
{
	struct udb	*t = *state;
	int		 n = 0;

	append_n(t, 3);
	assert_int_equal(audit_each(t->db, "request:2", count_cb, &n), RP_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(audit_each(t->db, "request:9", count_cb, &n), RP_OK);
	assert_int_equal(n, 0);
}

/* The head, one entry's hash, and the anchor logged once per head. */
static void
test_head_and_anchor(void **state)
{
	struct udb		*t = *state;
	struct rp_errinfo	 ei;
	char			 head[65], h2[65], zero[65];
	int64_t			 seq;
	int			 logged;

	memset(zero, '0', 64);
	zero[64] = '\0';
	assert_int_equal(audit_head(t->db, &seq, head), RP_OK);
	assert_int_equal(seq, 0);
	assert_string_equal(head, zero);
	assert_int_equal(audit_hash_at(t->db, 1, h2), RP_ERR_NOT_FOUND);
	/* An empty log has nothing to anchor. */
	assert_int_equal(audit_anchor(t->db, &logged, &ei), RP_OK);
	assert_int_equal(logged, 0);

	append_n(t, 3);
	assert_int_equal(audit_head(t->db, &seq, head), RP_OK);
	assert_int_equal(seq, 3);
	assert_int_equal(audit_hash_at(t->db, 3, h2), RP_OK);
	assert_string_equal(head, h2);
	assert_int_equal(audit_hash_at(t->db, 2, h2), RP_OK);
	assert_string_not_equal(head, h2);
	assert_int_equal(audit_hash_at(t->db, 4, h2), RP_ERR_NOT_FOUND);

	assert_int_equal(audit_anchor(t->db, &logged, &ei), RP_OK);
	assert_int_equal(logged, 1);
	assert_int_equal(udb_raw(t, "SELECT value FROM meta WHERE key = "
	    "'audit_anchored_seq'"), 3);
	assert_int_equal(audit_anchor(t->db, &logged, &ei), RP_OK);
	assert_int_equal(logged, 0);
	append_n(t, 1);
	assert_int_equal(audit_anchor(t->db, &logged, &ei), RP_OK);
	assert_int_equal(logged, 1);
	/* A failed commit leaves the head to be logged again. */
	append_n(t, 1);
	db_fault_stmt(DB_COMMIT, SQLITE_FULL);
	assert_int_not_equal(audit_anchor(t->db, &logged, &ei), RP_OK);
	assert_int_equal(udb_raw(t, "SELECT value FROM meta WHERE key = "
	    "'audit_anchored_seq'"), 4);
	assert_int_equal(audit_anchor(t->db, &logged, &ei), RP_OK);
	assert_int_equal(logged, 1);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, udb_setup, udb_teardown)
	const struct CMUnitTest tests[] = {
		T(test_empty_log_verifies),
		T(test_chain_intact),
		T(test_hash_is_documented_encoding),
		T(test_append_only),
		T(test_modified_row_named),
		T(test_modified_time_named),
		T(test_rehashed_row_caught_by_next),
		T(test_deleted_row_named),
		T(test_deleted_first_row_named),
		T(test_deleted_and_renumbered_named),
		T(test_nul_hidden_edit_named),
		T(test_reordered_rows_named),
		T(test_truncated_tail_changes_head),
		T(test_secrets_refused),
		T(test_missing_fields_refused),
		T(test_failed_commit_leaves_nothing),
		T(test_each_by_subject),
		T(test_head_and_anchor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
