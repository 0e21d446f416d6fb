-- revportal: the current database schema, for reading.
--
-- This file is documentation: it is the sum of db/migrations/*.sql, which
-- are what db_migrate() actually runs.  The unit test tests/unit/test_db.c
-- checks that loading this file gives the same tables, indexes and SQL as
-- applying every migration, so change both together.
--
-- Schema version (PRAGMA user_version): 1.

-- Facts about this database itself: when it was made, what it is.
-- Rows: created_at (UTC, ISO 8601), schema ('revportal').
CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	TEXT NOT NULL
) STRICT;
