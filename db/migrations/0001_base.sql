-- revportal migration 0001: the base schema.
--
-- db_migrate() runs this file inside one BEGIN IMMEDIATE transaction that
-- ends with PRAGMA user_version = 1, so it must not hold BEGIN, COMMIT or
-- ROLLBACK itself.  A migration, once released, is never edited: a change
-- is a new file with the next number.  Keep db/schema.sql in step.

-- Facts about this database itself: when it was made, what it is.
CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	TEXT NOT NULL
) STRICT;

INSERT INTO meta (key, value) VALUES
	('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
	('schema', 'revportal');
