/*
 * The registry: organisations, persons, legal representatives, tokens,
 * certificates, passphrase hashes and staff accounts.
 *
 * Reads stand alone; every write runs inside the caller's transaction
 * (db_begin() ... db_commit()) together with its audit entry, so a
 * failure half-way leaves nothing once the caller rolls back.  Rows read
 * back are checked as strictly as input: a word this program does not
 * know, or text that does not fit its field, is RP_ERR_INTERNAL (a
 * damaged or foreign database), never a guess.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"

/* Person and organisation identifiers: "PNOSI-" and at most 50 more. */
#define REG_ETSI_VALUE_MAX 50u
#define REG_TERM_MAX	10u	/* years; the schema's limit */
/* The mean Gregorian year in milliseconds, for term_years. */
#define REG_YEAR_MS	31556952000LL

static const char *const reg_token_kinds[] = {
	"smartcard", "usb", "cloud", "software",
};

/*
 * The ETSI EN 319 412-1 identity type references: of a natural person in
 * the subject serialNumber (5.1.3), of a legal person in the
 * organizationIdentifier (5.1.4).
 */
static const char *const reg_person_types[] = {
	"PAS", "IDC", "PNO", "TAX", "TIN", NULL,
};
static const char *const reg_org_types[] = {
	"VAT", "NTR", "PSD", "LEI", NULL,
};

/*
 * Copies the text of column col of q's row into out (outsz bytes).  SQL
 * NULL gives "" when nullok, else fails.  Returns 0, or -1 when the
 * value is missing or does not fit.
 */
static int
reg_col(const struct dbq *q, int col, char *out, size_t outsz, int nullok)
{
	const char	*s;
	size_t		 len;

	out[0] = '\0';
	if ((s = dbq_col_text(q, col)) == NULL)
		return nullok ? 0 : -1;
	len = strlen(s);
	if (len >= outsz)
		return -1;
	memcpy(out, s, len + 1);
	return 0;
}

/*
 * Reads the row in hand of a CERT_COLS statement (see db.c) into row.
 * Returns RP_OK, or RP_ERR_INTERNAL for a row that breaks the schema's
 * promises: an unknown type, status or reason word, a missing value,
 * text too long for its field.
 */
static enum rp_err
reg_row(const struct dbq *q, struct cert_row *row)
{
	const char	*s;
	int64_t		 v;

	memset(row, 0, sizeof(*row));
	row->id = dbq_col_int(q, 0);
	if (reg_col(q, 1, row->issuer, sizeof(row->issuer), 0) == -1 ||
	    reg_col(q, 2, row->serial, sizeof(row->serial), 0) == -1 ||
	    reg_col(q, 3, row->subject, sizeof(row->subject), 0) == -1 ||
	    reg_col(q, 9, row->person_id, sizeof(row->person_id), 1) == -1 ||
	    reg_col(q, 10, row->org_id, sizeof(row->org_id), 1) == -1 ||
	    reg_col(q, 11, row->token_label, sizeof(row->token_label), 1) ==
	    -1 ||
	    reg_col(q, 20, row->aki, sizeof(row->aki), 0) == -1)
		return RP_ERR_INTERNAL;
	if ((row->type = dom_type_parse(dbq_col_text(q, 4))) == CT__MAX ||
	    (row->status = dom_status_parse(dbq_col_text(q, 5))) == CS__MAX)
		return RP_ERR_INTERNAL;
	row->person = dbq_col_int(q, 6);
	row->organisation = dbq_col_int(q, 7);
	row->token = dbq_col_int(q, 8);
	/* A person, organisation or token row always has its identifier. */
	if ((row->person != 0 && row->person_id[0] == '\0') ||
	    (row->organisation != 0 && row->org_id[0] == '\0') ||
	    (row->token != 0 && row->token_label[0] == '\0'))
		return RP_ERR_INTERNAL;
	v = dbq_col_int(q, 12);
	if (v != 0 && v != 1)
		return RP_ERR_INTERNAL;
	row->qscd = (int)v;
	row->not_before = dbq_col_int(q, 13);
	row->not_after = dbq_col_int(q, 14);
	v = dbq_col_int(q, 15);
	if (v < 1 || v > (int64_t)REG_TERM_MAX)
		return RP_ERR_INTERNAL;
	row->term_years = (unsigned int)v;
	row->status_at = dbq_col_int(q, 16);
	row->suspended_at = dbq_col_int(q, 17);
	row->suspended_until = dbq_col_int(q, 18);
	if ((s = dbq_col_text(q, 19)) == NULL)
		row->reason = REASON_UNSPECIFIED;
	else if ((row->reason = dom_reason_parse(s)) == REASON__MAX)
		return RP_ERR_INTERNAL;
	return RP_OK;
}

/*
 * Finds the certificate with the canonical serial (x509_serial_norm())
 * and, when issuer is not NULL, that issuer DN.  Returns RP_OK with row
 * filled; RP_ERR_NOT_FOUND ("unknown_certificate"); RP_ERR_CONFLICT
 * ("ambiguous_serial") when issuer is NULL and certificates of two
 * issuers have that serial; RP_ERR_BAD_INPUT for no serial; a database
 * error or RP_ERR_INTERNAL for a damaged row.  Nothing to free.
 */
enum rp_err
reg_cert_find(struct db *db, const char *issuer, const char *serial,
    struct cert_row *row, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e = RP_OK;
	int		 n = 0;

	memset(row, 0, sizeof(*row));
	if (serial == NULL || serial[0] == '\0' ||
	    strlen(serial) >= RP_SERIAL_MAX)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_serial",
		    "no valid serial number");
	dbq_start(&q, db, DB_CERT_BY_SERIAL);
	dbq_text(&q, serial);
	dbq_text(&q, issuer);
	while (dbq_step(&q))
		if (++n == 1)
			e = reg_row(&q, row);
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK) {
		memset(row, 0, sizeof(*row));
		return rp_fail(ei, e, "db", "cannot read the certificate");
	}
	if (n == 0)
		return rp_fail(ei, RP_ERR_NOT_FOUND, "unknown_certificate",
		    "no certificate with this serial number%s",
		    issuer != NULL ? " and issuer" : "");
	if (n > 1) {
		memset(row, 0, sizeof(*row));
		return rp_fail(ei, RP_ERR_CONFLICT, "ambiguous_serial",
		    "certificates of more than one issuer have this serial "
		    "number; name the issuer");
	}
	return RP_OK;
}

/*
 * Reads certificate row id into row.  Returns RP_OK, RP_ERR_NOT_FOUND,
 * a database error or RP_ERR_INTERNAL for a damaged row.
 */
enum rp_err
reg_cert_get(struct db *db, int64_t id, struct cert_row *row)
{
	struct dbq	 q;
	enum rp_err	 e = RP_ERR_NOT_FOUND;

	memset(row, 0, sizeof(*row));
	dbq_start(&q, db, DB_CERT_BY_ROW);
	dbq_int(&q, id);
	if (dbq_step(&q))
		e = reg_row(&q, row);
	if (q.err == RP_OK)
		q.err = e;
	if ((e = dbq_end(&q)) != RP_OK)
		memset(row, 0, sizeof(*row));
	return e;
}

/*
 * Reads every row of the started statement q (CERT_COLS) into rows, at
 * most max, counting them in *n, and ends q.  Returns RP_OK;
 * RP_ERR_TOO_LARGE when there are more; a row or database error.
 */
static enum rp_err
reg_rows(struct dbq *q, struct cert_row *rows, size_t max, size_t *n)
{
	enum rp_err	 e = RP_OK;

	*n = 0;
	while (e == RP_OK && dbq_step(q)) {
		if (*n == max) {
			e = RP_ERR_TOO_LARGE;
			break;
		}
		e = reg_row(q, &rows[(*n)++]);
	}
	if (q->err == RP_OK)
		q->err = e;
	return dbq_end(q);
}

/*
 * Fills rows (up to max) with the certificates of request id, *n of
 * them.  Returns RP_OK, RP_ERR_TOO_LARGE when it has more, or a row or
 * database error.
 */
enum rp_err
reg_request_certs(struct db *db, int64_t id, struct cert_row *rows,
    size_t max, size_t *n)
{
	struct dbq	 q;

	dbq_start(&q, db, DB_CERTS_OF_REQUEST);
	dbq_int(&q, id);
	return reg_rows(&q, rows, max, n);
}

/*
 * Fills rows[0..max) with the certificates of the token labelled label,
 * in the order they were registered, and their count in *n.  Returns
 * RP_OK; RP_ERR_NOT_FOUND ("unknown_token") when the token does not
 * exist or holds no certificate; RP_ERR_TOO_LARGE when it holds more
 * than max (a caller must never act on part of a token); a database
 * error.  Nothing to free.
 */
enum rp_err
reg_token_certs(struct db *db, const char *label, struct cert_row *rows,
    size_t max, size_t *n, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	size_t		 k = 0;

	*n = 0;
	if (label == NULL || label[0] == '\0' || max > INT64_MAX - 1)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_token",
		    "no token label");
	dbq_start(&q, db, DB_CERTS_BY_TOKEN);
	dbq_text(&q, label);
	dbq_int(&q, (int64_t)max + 1);
	if ((e = reg_rows(&q, rows, max, &k)) == RP_ERR_TOO_LARGE)
		return rp_fail(ei, e, "token_too_large",
		    "the token holds more than %zu certificates", max);
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot read the token");
	if (k == 0)
		return rp_fail(ei, RP_ERR_NOT_FOUND, "unknown_token",
		    "no token with this label, or it holds no certificate");
	*n = k;
	return RP_OK;
}

/*
 * Returns 1 when s is text fit for a name, label or identifier: minlen
 * to maxlen bytes of UTF-8 without control characters of any kind (C0,
 * DEL, C1) and without bidi controls or line separators, which could
 * make a listing or the audit log show something else than is stored
 * (rp_text_visible()).
 */
static int
reg_text_ok(const char *s, size_t minlen, size_t maxlen)
{
	size_t	 len;

	if (s == NULL)
		return 0;
	len = strnlen(s, maxlen + 1);
	return len >= minlen && len <= maxlen && rp_text_visible(s, len);
}

/*
 * Returns 1 when s is an ETSI EN 319 412-1 semantics identifier with one
 * of the type references of types (a NULL-terminated list of three
 * upper-case letters each): the type, a two-letter country code (A-Z;
 * "XG" for the global LEI), '-', then 1 to REG_ETSI_VALUE_MAX printable
 * ASCII characters without spaces.  0 otherwise, NULL included.
 */
static int
reg_etsi_ok(const char *s, const char *const *types)
{
	size_t	 i, len;

	if (s == NULL)
		return 0;
	for (i = 0; types[i] != NULL; i++)
		if (strncmp(s, types[i], 3) == 0)
			break;
	if (types[i] == NULL)
		return 0;
	if (s[3] < 'A' || s[3] > 'Z' || s[4] < 'A' || s[4] > 'Z' ||
	    s[5] != '-')
		return 0;
	s += 6;
	len = strnlen(s, REG_ETSI_VALUE_MAX + 1);
	if (len < 1 || len > REG_ETSI_VALUE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Returns 1 when s identifies a natural person the ETSI way, as in a
 * subject serialNumber: "PNOSI-1234567890123", type PAS, IDC, PNO, TAX
 * or TIN.  Anything else (a company register number of an EV TLS
 * certificate, a device number) names no person.
 */
int
reg_person_id_ok(const char *s)
{
	return reg_etsi_ok(s, reg_person_types);
}

/*
 * Returns 1 when s identifies an organisation the ETSI way, as in an
 * organizationIdentifier: "VATSI-12345678", type VAT, NTR, PSD or LEI
 * ("LEIXG-..." for a global LEI).
 */
int
reg_org_id_ok(const char *s)
{
	return reg_etsi_ok(s, reg_org_types);
}

/* Returns 1 when s may be a person's, organisation's or staff name. */
int
reg_name_ok(const char *s)
{
	return reg_text_ok(s, 1, RP_TEXT_MAX - 1);
}

/* Returns 1 when s may be a token label: 1 to 63 bytes of text. */
int
reg_label_ok(const char *s)
{
	return reg_text_ok(s, 1, RP_LABEL_MAX - 1);
}

/*
 * Returns 1 when s looks like an e-mail address: text without spaces,
 * one '@' with something on either side.
 */
int
reg_email_ok(const char *s)
{
	const char	*at;

	if (!reg_text_ok(s, 3, RP_TEXT_MAX - 1) || strchr(s, ' ') != NULL ||
	    (at = strchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	return 1;
}

/* Returns 1 when s is a token kind: smartcard, usb, cloud, software. */
int
reg_token_kind_ok(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof(reg_token_kinds) / sizeof(reg_token_kinds[0]);
	    i++)
		if (strcmp(s, reg_token_kinds[i]) == 0)
			return 1;
	return 0;
}

/*
 * Sets *id to the row (column 0) that the statement s finds for the
 * identifier key, or to 0 when there is none; what names the rows in an
 * error.  Returns RP_OK or a database error with ei filled.
 */
static enum rp_err
reg_lookup(struct db *db, enum db_stmt s, const char *key, const char *what,
    int64_t *id, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	*id = 0;
	dbq_start(&q, db, s);
	dbq_text(&q, key);
	if (dbq_step(&q))
		*id = dbq_col_int(&q, 0);
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read %s", what);
	return RP_OK;
}

/*
 * Runs the INSERT q (started and bound) and sets *id to the new row;
 * what names it in an error.  Returns RP_OK or a database error with ei
 * filled.
 */
static enum rp_err
reg_insert(struct db *db, struct dbq *q, const char *what, int64_t *id,
    struct rp_errinfo *ei)
{
	enum rp_err	 e;

	if ((e = dbq_exec(q, NULL)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot add the %s", what);
	*id = db_last_id(db);
	return RP_OK;
}

/*
 * Looks up the organisation org_id; when it does not exist and name is
 * not NULL, creates it with that name at now.  *id gets its row (0 when
 * it neither exists nor was created).  Returns RP_OK or an error with ei
 * filled.
 */
static enum rp_err
reg_org(struct db *db, const char *org_id, const char *name, int64_t now,
    int64_t *id, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	if ((e = reg_lookup(db, DB_ORG_GET, org_id, "organisations", id,
	    ei)) != RP_OK || *id != 0 || name == NULL)
		return e;
	if (!reg_name_ok(name))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_name",
		    "the organisation's name must be 1 to %u bytes of text "
		    "without control characters", RP_TEXT_MAX - 1);
	dbq_start(&q, db, DB_ORG_ADD);
	dbq_text(&q, org_id);
	dbq_text(&q, name);
	dbq_int(&q, now);
	return reg_insert(db, &q, "organisation", id, ei);
}

/*
 * The same for the person person_id, created with name and email (NULL:
 * none) when new and name is not NULL.
 */
static enum rp_err
reg_person(struct db *db, const char *person_id, const char *name,
    const char *email, int64_t now, int64_t *id, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	if ((e = reg_lookup(db, DB_PERSON_GET, person_id, "persons", id,
	    ei)) != RP_OK || *id != 0 || name == NULL)
		return e;
	if (!reg_name_ok(name))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_name",
		    "the person's name must be 1 to %u bytes of text "
		    "without control characters", RP_TEXT_MAX - 1);
	if (email != NULL && !reg_email_ok(email))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_email",
		    "the e-mail address is not valid");
	dbq_start(&q, db, DB_PERSON_ADD);
	dbq_text(&q, person_id);
	dbq_text(&q, name);
	dbq_text(&q, email);
	dbq_int(&q, now);
	return reg_insert(db, &q, "person", id, ei);
}

/*
 * Finds or creates the token imp->token for a new certificate.  An
 * existing token must agree on qscd and have room for one more
 * certificate.  *id gets its row.  Returns RP_OK, RP_ERR_BAD_INPUT
 * ("bad_token_kind"), RP_ERR_CONFLICT ("token_mismatch", "token_full")
 * or a database error, with ei filled.
 */
static enum rp_err
reg_token(struct db *db, const struct reg_import *imp, int64_t *id,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	const char	*kind;
	size_t		 count = 0;
	int		 qscd = -1;
	enum rp_err	 e;

	*id = 0;
	kind = imp->token_kind != NULL ? imp->token_kind : "smartcard";
	if (!reg_token_kind_ok(kind))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_token_kind",
		    "a token kind is smartcard, usb, cloud or software");

	dbq_start(&q, db, DB_TOKEN_GET);
	dbq_text(&q, imp->token);
	if (dbq_step(&q)) {
		*id = dbq_col_int(&q, 0);
		qscd = (int)dbq_col_int(&q, 2);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read tokens");
	if (*id == 0) {
		dbq_start(&q, db, DB_TOKEN_ADD);
		dbq_text(&q, imp->token);
		dbq_text(&q, kind);
		dbq_int(&q, imp->qscd ? 1 : 0);
		dbq_int(&q, imp->now);
		return reg_insert(db, &q, "token", id, ei);
	}
	if (qscd != (imp->qscd ? 1 : 0))
		return rp_fail(ei, RP_ERR_CONFLICT, "token_mismatch",
		    "token \"%s\" is registered %s a QSCD", imp->token,
		    qscd ? "as" : "as not");

	dbq_start(&q, db, DB_CERTS_BY_TOKEN);
	dbq_text(&q, imp->token);
	dbq_int(&q, RP_TOKEN_CERTS_MAX);
	while (dbq_step(&q))
		count++;
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read tokens");
	if (count >= RP_TOKEN_CERTS_MAX)
		return rp_fail(ei, RP_ERR_CONFLICT, "token_full",
		    "token \"%s\" already holds %u certificates", imp->token,
		    RP_TOKEN_CERTS_MAX);
	return RP_OK;
}

/*
 * Computes the term in years of a certificate valid from nb to na (ms):
 * the period rounded to whole mean years, at least 1.  Returns it, or 0
 * when it is over REG_TERM_MAX years.
 */
static unsigned int
reg_term(int64_t nb, int64_t na)
{
	int64_t	 d = na - nb, y;

	if (nb >= na || d > (int64_t)(REG_TERM_MAX + 1) * REG_YEAR_MS)
		return 0;
	y = (d + REG_YEAR_MS / 2) / REG_YEAR_MS;
	if (y < 1)
		y = 1;
	return y > (int64_t)REG_TERM_MAX ? 0 : (unsigned int)y;
}

/*
 * Stores the passphrase hash for token (when not 0) or else certificate
 * cert, refusing one where a hash exists.  Returns RP_OK,
 * RP_ERR_CONFLICT ("passphrase_exists") or a database error.
 */
static enum rp_err
reg_pass_add(struct db *db, int64_t token, int64_t cert, const char *hash,
    int64_t now, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;
	int		 have = 0;

	dbq_start(&q, db, token != 0 ? DB_PASS_OF_TOKEN : DB_PASS_OF_CERT);
	dbq_int(&q, token != 0 ? token : cert);
	if (dbq_step(&q))
		have = 1;
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read passphrases");
	if (have)
		return rp_fail(ei, RP_ERR_CONFLICT, "passphrase_exists",
		    "the %s already has a revocation passphrase",
		    token != 0 ? "token" : "certificate");
	dbq_start(&q, db, DB_PASS_ADD);
	if (token != 0) {
		dbq_int(&q, token);
		dbq_null(&q);
	} else {
		dbq_null(&q);
		dbq_int(&q, cert);
	}
	dbq_text(&q, hash);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, NULL)) == RP_ERR_CONFLICT)
		return rp_fail(ei, e, "passphrase_exists",
		    "a revocation passphrase exists already");
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot store the passphrase");
	return RP_OK;
}

/*
 * Audits one registry change: action on subject by actor at now, with
 * details (a new reference, always released here; NULL when jansson ran
 * out of memory).  Returns audit_append()'s result.
 */
static enum rp_err
reg_audit(struct db *db, int64_t now, const char *actor, const char *action,
    const char *subject, json_t *details, struct rp_errinfo *ei)
{
	enum rp_err	 e;

	if (details == NULL)
		return rp_fail(ei, RP_ERR_NOMEM, "nomem", "out of memory");
	e = audit_append(db, now, actor, action, subject, details, ei);
	json_decref(details);
	return e;
}

/*
 * Checks what reg_import_cert() is given beyond the certificate.
 * Returns RP_OK or RP_ERR_BAD_INPUT with ei filled.
 */
static enum rp_err
reg_import_check(const struct cert_info *info, const struct reg_import *imp,
    struct rp_errinfo *ei)
{
	if (imp->actor == NULL || imp->actor[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "no_actor",
		    "no actor for the audit log");
	if ((unsigned int)imp->type >= CT__MAX)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_type",
		    "unknown certificate type");
	if (imp->term_years > REG_TERM_MAX)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_term",
		    "the term must be 1 to %u years", REG_TERM_MAX);
	if (imp->token != NULL && !reg_label_ok(imp->token))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_token",
		    "a token label is 1 to %u bytes of text without control "
		    "characters", RP_LABEL_MAX - 1);
	if (imp->token == NULL && imp->qscd)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "qscd_needs_token",
		    "a QSCD is a token: name it");
	if (imp->pass_hash != NULL && !pass_hash_valid(imp->pass_hash))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_passphrase_hash",
		    "the passphrase hash is not an Argon2id string "
		    "($argon2id$v=19$m=...,t=...,p=...$salt$hash)");
	if (info->org_id[0] != '\0' && !reg_org_id_ok(info->org_id))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_org_id",
		    "the subject organizationIdentifier is not an ETSI EN "
		    "319 412-1 identifier (such as VATSI-12345678)");
	if (!reg_text_ok(info->subject, 0, RP_DN_MAX - 1) ||
	    !reg_text_ok(info->issuer, 0, RP_DN_MAX - 1))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_dn",
		    "the subject or issuer name holds control or bidi "
		    "characters");
	if (info->serial[0] == '\0' || info->sha256[0] == '\0' ||
	    info->pem == NULL)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate was not read");
	return RP_OK;
}

/*
 * Returns 1 when the certificate info of type names a subject person:
 * a type that may have one (not tls or qwac, whose serialNumber is a
 * company register number or the like) and a subject serialNumber of
 * the ETSI natural-person form (reg_person_id_ok()).
 */
static int
reg_has_person(const struct cert_info *info, enum cert_type type)
{
	return type != CT_TLS && type != CT_QWAC &&
	    reg_person_id_ok(info->person_id);
}

/*
 * Refuses info when a certificate of the same issuer and serial number,
 * or with the same SHA-256, is registered already.  Returns RP_OK,
 * RP_ERR_CONFLICT ("duplicate") or a database error, with ei filled.
 */
static enum rp_err
reg_cert_dup(struct db *db, const struct cert_info *info,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	int		 dup = 0;
	enum rp_err	 e;

	dbq_start(&q, db, DB_CERT_DUP);
	dbq_text(&q, info->issuer);
	dbq_text(&q, info->serial);
	dbq_text(&q, info->sha256);
	if (dbq_step(&q))
		dup = 1;
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read certificates");
	if (dup)
		return rp_fail(ei, RP_ERR_CONFLICT, "duplicate",
		    "certificate %s of this issuer is registered already",
		    info->serial);
	return RP_OK;
}

/* Binds the row id v to q, or SQL NULL when v is 0 (none). */
static void
reg_bind_row(struct dbq *q, int64_t v)
{
	if (v != 0)
		dbq_int(q, v);
	else
		dbq_null(q);
}

/*
 * Adds the certificates row of info: of the given type and term in
 * years, registered at now, with the person, organisation and token rows
 * given (0: none).  Sets *id to the new row.  Returns RP_OK,
 * RP_ERR_CONFLICT ("duplicate") or a database error, with ei filled.
 */
static enum rp_err
reg_cert_add(struct db *db, const struct cert_info *info,
    enum cert_type type, int64_t person, int64_t org, int64_t token,
    unsigned int term, int64_t now, int64_t *id, struct rp_errinfo *ei)
{
	struct dbq	 q;
	enum rp_err	 e;

	dbq_start(&q, db, DB_CERT_ADD);
	dbq_text(&q, info->issuer);
	dbq_text(&q, info->serial);
	dbq_text(&q, info->subject);
	dbq_text(&q, dom_type_name(type));
	reg_bind_row(&q, person);
	reg_bind_row(&q, org);
	reg_bind_row(&q, token);
	dbq_int(&q, info->not_before);
	dbq_int(&q, info->not_after);
	dbq_int(&q, term);
	dbq_int(&q, now);
	dbq_text(&q, info->aki);
	dbq_text(&q, info->sha256);
	dbq_text(&q, info->pem);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, NULL)) == RP_ERR_CONFLICT)
		return rp_fail(ei, e, "duplicate",
		    "certificate %s is registered already", info->serial);
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot add the certificate");
	*id = db_last_id(db);
	return RP_OK;
}

/*
 * Registers the certificate info with what imp says about it, inside the
 * caller's transaction: its subject person (see reg_has_person(); none
 * as for most TLS certificates and e-seals), organisation (from the
 * organizationIdentifier) and token, each created when new; its
 * passphrase hash, stored for the token when there is one, else for the
 * certificate; and an audit entry "certificate.import" that says whether
 * a passphrase was set, never what.  *id gets the new row.  Returns
 * RP_OK; RP_ERR_CONFLICT ("duplicate": same issuer and serial or same
 * SHA-256; "token_mismatch", "token_full", "passphrase_exists");
 * RP_ERR_BAD_INPUT for a bad term, label, kind, hash, organisation
 * identifier, distinguished name (bidi controls), name ("bad_name") or
 * e-mail address ("bad_email"); a database error.  On failure the
 * caller rolls back: rows written so far are only undone then.  Nothing
 * to free.
 */
enum rp_err
reg_import_cert(struct db *db, const struct cert_info *info,
    const struct reg_import *imp, int64_t *id, struct rp_errinfo *ei)
{
	int64_t		 person = 0, org = 0, token = 0, cert;
	unsigned int	 term;
	char		 subject[RP_SERIAL_MAX + 16];
	int		 n;
	enum rp_err	 e;

	*id = 0;
	if ((e = reg_import_check(info, imp, ei)) != RP_OK)
		return e;
	term = imp->term_years;
	if (term == 0 && (term = reg_term(info->not_before,
	    info->not_after)) == 0)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_term",
		    "the validity period is over %u years; give the term",
		    REG_TERM_MAX);

	if ((e = reg_cert_dup(db, info, ei)) != RP_OK)
		return e;

	if (reg_has_person(info, imp->type) &&
	    (e = reg_person(db, info->person_id, info->common_name[0] !=
	    '\0' ? info->common_name : info->person_id,
	    info->email[0] != '\0' ? info->email : NULL, imp->now, &person,
	    ei)) != RP_OK)
		return e;
	if (info->org_id[0] != '\0' &&
	    (e = reg_org(db, info->org_id, info->org_name[0] != '\0' ?
	    info->org_name : info->org_id, imp->now, &org, ei)) != RP_OK)
		return e;
	if (imp->token != NULL && (e = reg_token(db, imp, &token, ei)) !=
	    RP_OK)
		return e;

	if ((e = reg_cert_add(db, info, imp->type, person, org, token, term,
	    imp->now, &cert, ei)) != RP_OK)
		return e;

	if (imp->pass_hash != NULL &&
	    (e = reg_pass_add(db, token, cert, imp->pass_hash, imp->now,
	    ei)) != RP_OK)
		return e;

	n = snprintf(subject, sizeof(subject), "certificate:%s",
	    info->serial);
	if (n < 0 || (size_t)n >= sizeof(subject))
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "serial");
	if ((e = reg_audit(db, imp->now, imp->actor, "certificate.import",
	    subject, json_pack("{s:s, s:s, s:s?, s:b, s:b}",
	    "type", dom_type_name(imp->type), "issuer", info->issuer,
	    "token", imp->token, "qscd", imp->qscd ? 1 : 0,
	    "passphrase", imp->pass_hash != NULL ? 1 : 0), ei)) != RP_OK)
		return e;
	*id = cert;
	return RP_OK;
}

/*
 * Registers info, the certificate a recovery had issued in place of old
 * (same subscriber data, new key), inside the caller's transaction: with
 * old's person, organisation, type and term (what the registration
 * office recorded for the subscriber, whatever the CA copied into the
 * new subject), no token (the new device's label is not known; an
 * officer can attach it), status valid; and an audit entry
 * "certificate.import" naming the certificate it replaces.  *id gets the
 * new row.  Returns RP_OK; RP_ERR_CONFLICT "duplicate" when the
 * certificate is registered already; RP_ERR_BAD_INPUT for a name with
 * control or bidi characters; a database error.  Nothing to free.
 */
enum rp_err
reg_import_successor(struct db *db, const struct cert_info *info,
    const struct cert_row *old, const char *actor, int64_t now, int64_t *id,
    struct rp_errinfo *ei)
{
	char		 subject[RP_SERIAL_MAX + 16];
	int		 n;
	enum rp_err	 e;

	*id = 0;
	if (actor == NULL || actor[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "no_actor",
		    "no actor for the audit log");
	if (!reg_text_ok(info->subject, 0, RP_DN_MAX - 1) ||
	    !reg_text_ok(info->issuer, 0, RP_DN_MAX - 1))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_dn",
		    "the subject or issuer name holds control or bidi "
		    "characters");
	if (info->serial[0] == '\0' || info->sha256[0] == '\0' ||
	    info->pem == NULL || (unsigned int)old->type >= CT__MAX)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate was not read");

	if ((e = reg_cert_dup(db, info, ei)) != RP_OK)
		return e;

	if ((e = reg_cert_add(db, info, old->type, old->person,
	    old->organisation, 0, old->term_years, now, id, ei)) != RP_OK)
		return e;

	n = snprintf(subject, sizeof(subject), "certificate:%s",
	    info->serial);
	if (n < 0 || (size_t)n >= sizeof(subject))
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "serial");
	return reg_audit(db, now, actor, "certificate.import", subject,
	    json_pack("{s:s, s:s, s:s, s:s}", "type",
	    dom_type_name(old->type), "issuer", info->issuer, "replaces",
	    old->serial, "via", "recovery"), ei);
}

/*
 * Sets *yes to whether person is a legal representative of organisation
 * at time t (valid_from <= t < valid_to).  Either id 0 means no.
 * Returns RP_OK or a database error.
 */
enum rp_err
reg_is_rep(struct db *db, int64_t organisation, int64_t person, int64_t t,
    int *yes)
{
	struct dbq	 q;
	enum rp_err	 e;

	*yes = 0;
	if (organisation == 0 || person == 0)
		return RP_OK;
	dbq_start(&q, db, DB_REP_ACTIVE);
	dbq_int(&q, organisation);
	dbq_int(&q, person);
	dbq_int(&q, t);
	if (dbq_step(&q))
		*yes = 1;
	if ((e = dbq_end(&q)) != RP_OK)
		*yes = 0;
	return e;
}

/*
 * Writes subject "what:id" into out (outsz bytes).  Returns 0 or -1.
 */
static int
reg_subject(char *out, size_t outsz, const char *what, const char *id)
{
	int	 n;

	n = snprintf(out, outsz, "%s:%s", what, id);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/*
 * Checks what a change of a representation is given: org_id of the ETSI
 * legal-person form, person_id of the natural-person form, an actor.
 * Returns RP_OK, RP_ERR_BAD_INPUT ("bad_identifier") or RP_ERR_INTERNAL
 * ("no_actor") with ei filled.
 */
static enum rp_err
reg_rep_args(const char *org_id, const char *person_id, const char *actor,
    struct rp_errinfo *ei)
{
	if (!reg_org_id_ok(org_id))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_identifier",
		    "an organisation is named by its ETSI identifier: VAT, "
		    "NTR, PSD or LEI, a country code, '-' and 1 to %u "
		    "characters (VATSI-12345678)", REG_ETSI_VALUE_MAX);
	if (!reg_person_id_ok(person_id))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_identifier",
		    "a person is named by their ETSI identifier: PAS, IDC, "
		    "PNO, TAX or TIN, a country code, '-' and 1 to %u "
		    "characters (PNOSI-1234567890123)", REG_ETSI_VALUE_MAX);
	if (actor == NULL || actor[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "no_actor",
		    "no actor for the audit log");
	return RP_OK;
}

/*
 * Binds the organisation and person rows and the period from..to (to 0:
 * open, NULL) of a representation to q, in this order.
 */
static void
reg_bind_rep(struct dbq *q, int64_t org, int64_t person, int64_t from,
    int64_t to)
{
	dbq_int(q, org);
	dbq_int(q, person);
	dbq_int(q, from);
	if (to != 0)
		dbq_int(q, to);
	else
		dbq_null(q);
}

/*
 * Registers person_id as legal representative of org_id from `from` to
 * `to` (ms; to 0: until ended), inside the caller's transaction, with an
 * audit entry "rep.add".  The organisation and the person are created
 * when new, which needs org_name, person_name (and optionally email);
 * for existing ones these are ignored.  Returns RP_OK; RP_ERR_BAD_INPUT
 * (bad identifier, name or period; a new party without a name);
 * RP_ERR_CONFLICT ("rep_exists") when the period overlaps another
 * representation of the organisation by the person (periods are
 * half-open, so one may start where another ends); a database error.
 * Nothing to free.
 */
enum rp_err
reg_rep_add(struct db *db, const char *org_id, const char *org_name,
    const char *person_id, const char *person_name, const char *email,
    int64_t from, int64_t to, const char *actor, int64_t now,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		 subject[RP_LABEL_MAX + 16], fs[32], ts[32];
	int64_t		 org, person;
	int		 overlap = 0;
	enum rp_err	 e;

	if ((e = reg_rep_args(org_id, person_id, actor, ei)) != RP_OK)
		return e;
	if (from < 0 || (to != 0 && to <= from))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_period",
		    "the representation must end after it starts");
	if ((e = reg_org(db, org_id, org_name, now, &org, ei)) != RP_OK ||
	    (e = reg_person(db, person_id, person_name, email, now, &person,
	    ei)) != RP_OK)
		return e;
	if (org == 0)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "unknown_organisation",
		    "organisation %s is new: give its name", org_id);
	if (person == 0)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "unknown_person",
		    "person %s is new: give their name", person_id);
	dbq_start(&q, db, DB_REP_OVERLAP);
	reg_bind_rep(&q, org, person, from, to);
	if (dbq_step(&q))
		overlap = 1;
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read representatives");
	if (overlap)
		return rp_fail(ei, RP_ERR_CONFLICT, "rep_exists",
		    "%s already represents %s during (part of) that period",
		    person_id, org_id);

	dbq_start(&q, db, DB_REP_ADD);
	reg_bind_rep(&q, org, person, from, to);
	if ((e = dbq_exec(&q, NULL)) == RP_ERR_CONFLICT)
		return rp_fail(ei, e, "rep_exists",
		    "a representation of %s by %s starting at that time is "
		    "registered already", org_id, person_id);
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot add the representative");

	rp_time_format(from, fs);
	rp_time_format(to, ts);
	if (reg_subject(subject, sizeof(subject), "organisation", org_id) ==
	    -1)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "org_id");
	return reg_audit(db, now, actor, "rep.add", subject,
	    json_pack("{s:s, s:s, s:s?}", "person", person_id, "valid_from",
	    fs, "valid_to", to != 0 ? ts : NULL), ei);
}

/*
 * Ends the representation of org_id by person_id, inside the caller's
 * transaction: the one in force at now ends at now (audit entry
 * "rep.end"), and one that has not begun yet ends at its start, so that
 * it never takes effect (valid_to = valid_from; audit entry
 * "rep.cancel").  *ended and *cancelled get how many of each.  Returns
 * RP_OK; RP_ERR_BAD_INPUT for a malformed identifier; RP_ERR_NOT_FOUND
 * ("no_rep") when the organisation, the person or a representation in
 * force or to come is unknown; a database error.
 */
enum rp_err
reg_rep_end(struct db *db, const char *org_id, const char *person_id,
    const char *actor, int64_t now, int *ended, int *cancelled,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		 subject[RP_LABEL_MAX + 16], ts[32];
	int64_t		 org, person;
	enum rp_err	 e;

	*ended = *cancelled = 0;
	if ((e = reg_rep_args(org_id, person_id, actor, ei)) != RP_OK)
		return e;
	if ((e = reg_org(db, org_id, NULL, now, &org, ei)) != RP_OK ||
	    (e = reg_person(db, person_id, NULL, NULL, now, &person, ei)) !=
	    RP_OK)
		return e;
	if (org != 0 && person != 0) {
		dbq_start(&q, db, DB_REP_END);
		dbq_int(&q, now);
		dbq_int(&q, org);
		dbq_int(&q, person);
		if ((e = dbq_exec(&q, ended)) != RP_OK)
			return rp_fail(ei, e, "db",
			    "cannot end the representation");
		dbq_start(&q, db, DB_REP_CANCEL);
		dbq_int(&q, now);
		dbq_int(&q, org);
		dbq_int(&q, person);
		if ((e = dbq_exec(&q, cancelled)) != RP_OK)
			return rp_fail(ei, e, "db",
			    "cannot cancel the representation");
	}
	if (*ended == 0 && *cancelled == 0)
		return rp_fail(ei, RP_ERR_NOT_FOUND, "no_rep",
		    "%s does not represent %s now or later", person_id,
		    org_id);
	rp_time_format(now, ts);
	if (reg_subject(subject, sizeof(subject), "organisation", org_id) ==
	    -1)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "org_id");
	if (*ended > 0 && (e = reg_audit(db, now, actor, "rep.end", subject,
	    json_pack("{s:s, s:s, s:i}", "person", person_id, "valid_to", ts,
	    "ended", *ended), ei)) != RP_OK)
		return e;
	if (*cancelled > 0 && (e = reg_audit(db, now, actor, "rep.cancel",
	    subject, json_pack("{s:s, s:i}", "person", person_id,
	    "cancelled", *cancelled), ei)) != RP_OK)
		return e;
	return RP_OK;
}

/*
 * Returns 1 when s is a SHA-256 fingerprint as stored: 64 lower-case
 * hex digits.
 */
static int
reg_sha_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || strnlen(s, 65) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * Creates an active staff account with roles (ROLE_* bits) for the
 * holder of the client certificate info, named name (NULL: the
 * certificate's common name), inside the caller's transaction, with an
 * audit entry "staff.add".  Returns RP_OK; RP_ERR_BAD_INPUT (no role, an
 * unknown role bit, no usable name); RP_ERR_CONFLICT ("staff_exists")
 * when the certificate has an account; a database error.
 */
enum rp_err
reg_staff_add(struct db *db, const struct cert_info *info, const char *name,
    unsigned int roles, const char *actor, int64_t now,
    struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		 rtext[64], subject[80];
	int		 have = 0;
	enum rp_err	 e;

	if (actor == NULL || actor[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "no_actor",
		    "no actor for the audit log");
	if (dom_roles_format(roles, rtext, sizeof(rtext)) != RP_OK)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_roles",
		    "roles are agent, officer and admin; at least one");
	if (name == NULL)
		name = info->common_name;
	if (!reg_name_ok(name))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_name",
		    "a staff name is 1 to %u bytes of text without control "
		    "or bidi characters (the certificate's common name, "
		    "unless named)", RP_TEXT_MAX - 1);
	if (!reg_text_ok(info->subject, 0, RP_DN_MAX - 1))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_dn",
		    "the certificate's subject holds control or bidi "
		    "characters");
	if (!reg_sha_ok(info->sha256))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_certificate",
		    "the certificate was not read");

	dbq_start(&q, db, DB_STAFF_BY_SHA);
	dbq_text(&q, info->sha256);
	if (dbq_step(&q))
		have = 1;
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read staff");
	if (have)
		return rp_fail(ei, RP_ERR_CONFLICT, "staff_exists",
		    "this certificate has a staff account already");
	dbq_start(&q, db, DB_STAFF_ADD);
	dbq_text(&q, name);
	dbq_text(&q, info->sha256);
	dbq_text(&q, info->subject);
	dbq_text(&q, rtext);
	dbq_int(&q, now);
	dbq_int(&q, now);
	if ((e = dbq_exec(&q, NULL)) == RP_ERR_CONFLICT)
		return rp_fail(ei, e, "staff_exists",
		    "this certificate has a staff account already");
	if (e != RP_OK)
		return rp_fail(ei, e, "db", "cannot add the staff account");
	if (reg_subject(subject, sizeof(subject), "staff", info->sha256) ==
	    -1)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "sha256");
	return reg_audit(db, now, actor, "staff.add", subject,
	    json_pack("{s:s, s:s, s:s}", "name", name, "roles", rtext,
	    "subject", info->subject), ei);
}

/*
 * Enables (active 1) or disables (0) the staff account of the client
 * certificate with SHA-256 sha256 (64 lower-case hex digits), inside the
 * caller's transaction, with an audit entry "staff.enable" or
 * "staff.disable".  An account already in that state is left as it is,
 * without an entry.  Returns RP_OK; RP_ERR_BAD_INPUT for a malformed
 * fingerprint; RP_ERR_NOT_FOUND ("unknown_staff"); a database error.
 */
enum rp_err
reg_staff_set_active(struct db *db, const char *sha256, int active,
    const char *actor, int64_t now, struct rp_errinfo *ei)
{
	struct dbq	 q;
	char		 subject[80];
	int64_t		 id = 0, cur = -1;
	int		 changes = 0;
	enum rp_err	 e;

	if (!reg_sha_ok(sha256))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "bad_fingerprint",
		    "a fingerprint is 64 lower-case hex digits");
	if (actor == NULL || actor[0] == '\0')
		return rp_fail(ei, RP_ERR_INTERNAL, "no_actor",
		    "no actor for the audit log");
	active = active ? 1 : 0;
	dbq_start(&q, db, DB_STAFF_BY_SHA);
	dbq_text(&q, sha256);
	if (dbq_step(&q)) {
		id = dbq_col_int(&q, 0);
		cur = dbq_col_int(&q, 3);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot read staff");
	if (id == 0)
		return rp_fail(ei, RP_ERR_NOT_FOUND, "unknown_staff",
		    "no staff account has this certificate");
	if (cur == active)
		return RP_OK;
	dbq_start(&q, db, DB_STAFF_SET_ACTIVE);
	dbq_int(&q, active);
	dbq_int(&q, now);
	dbq_text(&q, sha256);
	if ((e = dbq_exec(&q, &changes)) != RP_OK)
		return rp_fail(ei, e, "db", "cannot change the staff account");
	if (changes != 1)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal",
		    "the staff account changed meanwhile");
	if (reg_subject(subject, sizeof(subject), "staff", sha256) == -1)
		return rp_fail(ei, RP_ERR_INTERNAL, "internal", "sha256");
	return reg_audit(db, now, actor, active ? "staff.enable" :
	    "staff.disable", subject, json_pack("{s:b}", "active", active),
	    ei);
}
