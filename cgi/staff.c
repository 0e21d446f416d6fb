/*
 * Hotline agents and RA officers: who they are, by the TLS client
 * certificate nginx verified against the staff CA, and the proof that an
 * agent checked a caller's passphrase.
 *
 * nginx passes $ssl_client_verify ("SUCCESS", "NONE", "FAILED:...") and
 * $ssl_client_escaped_cert (the PEM, percent-encoded).  staff_auth()
 * trusts neither blindly: the word must be exactly SUCCESS, the PEM must
 * parse as one certificate, and its SHA-256 must name an active account
 * holding the role the page needs.  Every refusal is audited.
 *
 * The "verified" token of the hotline console is shaped like a CSRF
 * token (csrf.c), with its own domain label:
 *
 *	token = b64url(issued_at || pass || HMAC-SHA256(secret,
 *	    "revportal-verified\0" || staff id || scope || target ||
 *	    pass || form_id || issued_at))
 *
 * with staff id, target (a row id), pass (the passphrases.id that
 * matched) and issued_at (seconds) as 8 bytes big-endian, scope as one
 * byte and form_id as its RP_ID_LEN characters, so a token is 48 bytes
 * or 64 characters.  It binds the agent, the scope, the target, the
 * passphrase that was checked (re-read at act time: a lock since then
 * refuses) and the one action form it was issued with, whose
 * idempotency record then makes one check good for one request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "extern.h"

#define STAFF_TS_LEN	8u			/* issued_at, big-endian */
#define STAFF_PASS_LEN	8u			/* passphrases.id */
#define STAFF_MAC_LEN	32u			/* HMAC-SHA256 */
#define STAFF_RAW_LEN	(STAFF_TS_LEN + STAFF_PASS_LEN + \
			    STAFF_MAC_LEN)		/* 48 bytes */
#define STAFF_SKEW	60			/* seconds a clock may lead */
/* The longest escaped PEM read: every byte of RP_PEM_MAX as %XX. */
#define STAFF_ESCAPED_MAX (3u * RP_PEM_MAX)

/* The domain label, NUL included, so no other HMAC use can collide. */
static const char staff_label[] = "revportal-verified";
#define STAFF_LABEL_LEN	sizeof(staff_label)

/* Why a staff page was refused: the reason codes of staff.denied. */
enum staff_deny {
	DENY_NO_CERTIFICATE,
	DENY_NOT_VERIFIED,
	DENY_BAD_CERTIFICATE,
	DENY_UNKNOWN,
	DENY_DISABLED,
	DENY_WRONG_ROLE,
	DENY__MAX
};

static const char *const staff_deny_names[DENY__MAX] = {
	[DENY_NO_CERTIFICATE] = "no_certificate",
	[DENY_NOT_VERIFIED] = "not_verified",
	[DENY_BAD_CERTIFICATE] = "bad_certificate",
	[DENY_UNKNOWN] = "unknown",
	[DENY_DISABLED] = "disabled",
	[DENY_WRONG_ROLE] = "wrong_role",
};

/*
 * Writes one audit entry "staff.denied" in a transaction of its own:
 * actor the certificate's fingerprint when it was read (else
 * "anonymous"), subject "staff:<fingerprint>" (or "staff:none"),
 * details the path and the reason code.  A failure is logged, never
 * returned: the request is refused either way.
 */
static void
staff_deny_audit(struct req *req, const char *sha256, enum staff_deny why)
{
	struct rp_errinfo	 ei;
	char			 subject[80];
	json_t			*d = NULL;
	enum rp_err		 e;
	int			 n;

	memset(&ei, 0, sizeof(ei));
	n = snprintf(subject, sizeof(subject), "staff:%s",
	    sha256[0] != '\0' ? sha256 : "none");
	if (n < 0 || (size_t)n >= sizeof(subject)) {
		e = RP_ERR_INTERNAL;
		goto out;
	}
	if ((d = json_pack("{s:s, s:s}", "path",
	    req->path != NULL ? req->path : "", "reason",
	    staff_deny_names[why])) == NULL) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if ((e = db_begin(req->db)) != RP_OK)
		goto out;
	if ((e = audit_append(req->db, rp_now_ms(), sha256[0] != '\0' ?
	    sha256 : "anonymous", "staff.denied", subject, d, &ei)) !=
	    RP_OK) {
		db_rollback(req->db);
		goto out;
	}
	e = db_commit(req->db);
out:
	if (e != RP_OK)
		rplog(RPLOG_ERROR, "staff_denied_audit", "error=%s code=%s",
		    rp_err_name(e), ei.code != NULL ? ei.code : "-");
	json_decref(d);
}

/*
 * Refuses a staff page: audits it, logs the reason code and fills
 * req->err with a message that says no more than that access was
 * refused.  Returns RP_ERR_FORBIDDEN.
 */
static enum rp_err
staff_deny(struct req *req, const char *sha256, enum staff_deny why)
{
	staff_deny_audit(req, sha256, why);
	rplog(RPLOG_INFO, "staff_denied", "reason=%s route=%s",
	    staff_deny_names[why], route_name(req->route));
	return rp_fail(&req->err, RP_ERR_FORBIDDEN, "staff_denied",
	    "No valid staff certificate, no staff account, or not allowed "
	    "here.");
}

/*
 * Reads the client certificate nginx passed (percent-encoded PEM) into
 * info.  Returns RP_OK (info to be freed with cert_info_free()), or
 * RP_ERR_BAD_INPUT for anything that is not one readable certificate
 * (info zeroed then).
 */
static enum rp_err
staff_read_cert(const char *escaped, struct cert_info *info)
{
	struct rp_errinfo	 ei;
	char			*pem = NULL;
	size_t			 len, plen = 0;
	enum rp_err		 e = RP_ERR_BAD_INPUT;

	memset(info, 0, sizeof(*info));
	len = strnlen(escaped, STAFF_ESCAPED_MAX + 1);
	if (len == 0 || len > STAFF_ESCAPED_MAX)
		return RP_ERR_BAD_INPUT;
	/* Decoding never makes the text longer. */
	if ((pem = malloc(len + 1)) == NULL)
		return RP_ERR_NOMEM;
	if (http_pct_decode(escaped, len, pem, &plen, 0) == -1 ||
	    plen == 0 || plen > RP_PEM_MAX)
		goto out;
	pem[plen] = '\0';
	memset(&ei, 0, sizeof(ei));
	if ((e = x509_read_pem(pem, plen, info, &ei)) != RP_OK) {
		memset(info, 0, sizeof(*info));
		if (e != RP_ERR_NOMEM)
			e = RP_ERR_BAD_INPUT;
	}
out:
	free(pem);
	return e;
}

/*
 * Writes the audit actor of staff account id named name, "staff:<name>#
 * <id>", into out (outsz bytes): the account id keeps two accounts with
 * one display name apart.  A name too long for out is cut short at a
 * UTF-8 character boundary; the id is never cut.  Returns 0, or -1 (out
 * empty when outsz allows) when not even the id fits or id is not
 * positive.
 */
UNITTEST int
staff_actor(const char *name, int64_t id, char *out, size_t outsz)
{
	char	 tail[24];
	size_t	 len, room;
	int	 n;

	if (outsz > 0)
		out[0] = '\0';
	if (id <= 0)
		return -1;
	n = snprintf(tail, sizeof(tail), "#%lld", (long long)id);
	if (n < 0 || (size_t)n >= sizeof(tail))
		return -1;
	/* "staff:" with its NUL counted, then the tail. */
	if (outsz < sizeof("staff:") + (size_t)n)
		return -1;
	room = outsz - sizeof("staff:") - (size_t)n;
	if ((len = strlen(name)) > room) {
		len = room;
		while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
	}
	n = snprintf(out, outsz, "staff:%.*s%s", (int)len, name, tail);
	if (n < 0 || (size_t)n >= outsz) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Maps the request's verified client certificate to an active staff
 * account holding every bit of role, and fills w.  Returns RP_OK;
 * RP_ERR_FORBIDDEN (req->err filled, staff.denied audited) for no
 * certificate, one nginx did not verify, one that cannot be read, an
 * unknown or disabled account, or missing roles; a database error (not
 * audited: nothing was decided) otherwise.  Nothing to free.
 */
enum rp_err
staff_auth(struct req *req, unsigned int role, struct staff_who *w)
{
	struct cert_info	 info;
	struct dbq		 q;
	char			 sha[65], name[RP_TEXT_MAX], roles[64];
	const char		*s;
	int64_t			 id = 0, active = 0;
	unsigned int		 have;
	enum rp_err		 e;

	memset(w, 0, sizeof(*w));
	sha[0] = name[0] = roles[0] = '\0';
	if (req->client_verify == NULL || req->client_verify[0] == '\0' ||
	    strcmp(req->client_verify, "NONE") == 0)
		return staff_deny(req, sha, DENY_NO_CERTIFICATE);
	if (strcmp(req->client_verify, "SUCCESS") != 0)
		return staff_deny(req, sha, DENY_NOT_VERIFIED);
	if (req->client_cert == NULL || req->client_cert[0] == '\0')
		return staff_deny(req, sha, DENY_NO_CERTIFICATE);
	if ((e = staff_read_cert(req->client_cert, &info)) == RP_ERR_NOMEM)
		return rp_fail(&req->err, e, "nomem", "out of memory");
	if (e != RP_OK)
		return staff_deny(req, sha, DENY_BAD_CERTIFICATE);
	memcpy(sha, info.sha256, sizeof(sha));
	cert_info_free(&info);

	dbq_start(&q, req->db, DB_STAFF_BY_SHA);
	dbq_text(&q, sha);
	if (dbq_step(&q)) {
		id = dbq_col_int(&q, 0);
		active = dbq_col_int(&q, 3);
		if ((s = dbq_col_text(&q, 1)) == NULL ||
		    strlen(s) >= sizeof(name))
			q.err = RP_ERR_INTERNAL;
		else
			memcpy(name, s, strlen(s) + 1);
		if ((s = dbq_col_text(&q, 2)) == NULL ||
		    strlen(s) >= sizeof(roles))
			q.err = RP_ERR_INTERNAL;
		else
			memcpy(roles, s, strlen(s) + 1);
	}
	if ((e = dbq_end(&q)) != RP_OK)
		return rp_fail(&req->err, e, "db", "cannot read staff");
	if (id == 0)
		return staff_deny(req, sha, DENY_UNKNOWN);
	if (active != 1)
		return staff_deny(req, sha, DENY_DISABLED);
	/* A roles word this program does not know grants nothing. */
	have = dom_roles_parse(roles);
	if (role == 0 || (have & role) != role)
		return staff_deny(req, sha, DENY_WRONG_ROLE);

	w->id = id;
	w->roles = have;
	memcpy(w->name, name, sizeof(w->name));
	memcpy(w->sha256, sha, sizeof(w->sha256));
	if (staff_actor(name, id, w->actor, sizeof(w->actor)) == -1) {
		memset(w, 0, sizeof(*w));
		return rp_fail(&req->err, RP_ERR_INTERNAL, "internal",
		    "staff actor name");
	}
	return RP_OK;
}

/*
 * Writes v as 8 bytes big-endian at out.
 */
static void
staff_be64(unsigned char *out, uint64_t v)
{
	size_t	 i;

	for (i = 0; i < 8; i++)
		out[i] = v >> (8 * (7 - i)) & 0xff;
}

/*
 * Returns the 8 big-endian bytes at in as a number.
 */
static uint64_t
staff_get64(const unsigned char *in)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

/*
 * Returns 1 when p names a proof a token can be made for or checked
 * against: an agent, a scope, a target and a form id of exactly
 * RP_ID_LEN characters.  Says nothing about pass and issued.
 */
static int
staff_proof_ok(const struct staff_proof *p)
{
	return p != NULL && p->staff > 0 && p->target > 0 &&
	    (unsigned int)p->scope < STAFF_SCOPE__MAX && p->form_id != NULL &&
	    strnlen(p->form_id, RP_ID_LEN + 1) == RP_ID_LEN;
}

/*
 * Computes the MAC of a verified token for p (staff, scope, target,
 * form_id) with the 8-byte passphrase id pass and the 8-byte issued_at
 * ts into mac.  Returns RP_OK or RP_ERR_INTERNAL.
 */
static enum rp_err
staff_mac(const unsigned char *secret, const struct staff_proof *p,
    const unsigned char pass[STAFF_PASS_LEN],
    const unsigned char ts[STAFF_TS_LEN], unsigned char mac[STAFF_MAC_LEN])
{
	unsigned char	 msg[STAFF_LABEL_LEN + 8 + 1 + 8 + STAFF_PASS_LEN +
			     RP_ID_LEN + STAFF_TS_LEN];
	unsigned int	 maclen = 0;
	size_t		 o = 0;
	enum rp_err	 e = RP_OK;

	memcpy(msg, staff_label, STAFF_LABEL_LEN);
	o += STAFF_LABEL_LEN;
	staff_be64(msg + o, (uint64_t)p->staff);
	o += 8;
	msg[o++] = (unsigned char)p->scope;
	staff_be64(msg + o, (uint64_t)p->target);
	o += 8;
	memcpy(msg + o, pass, STAFF_PASS_LEN);
	o += STAFF_PASS_LEN;
	memcpy(msg + o, p->form_id, RP_ID_LEN);
	o += RP_ID_LEN;
	memcpy(msg + o, ts, STAFF_TS_LEN);
	if (HMAC(EVP_sha256(), secret, RP_SECRET_LEN, msg, sizeof(msg),
	    mac, &maclen) == NULL || maclen != STAFF_MAC_LEN)
		e = RP_ERR_INTERNAL;
	OPENSSL_cleanse(msg, sizeof(msg));
	return e;
}

/*
 * Writes the verified token of proof p (agent, scope, target, form id,
 * the passphrase row that matched, issued at p->issued seconds) into out
 * (outsz bytes, at least STAFF_VERIFIED_LEN + 1).  Returns RP_OK;
 * RP_ERR_NOMEM when out is too small; RP_ERR_INTERNAL for a bad proof or
 * a crypto failure.  On failure out is empty when outsz allows.
 */
enum rp_err
staff_verified_make(const unsigned char *secret, const struct staff_proof *p,
    char *out, size_t outsz)
{
	unsigned char	 raw[STAFF_RAW_LEN];
	enum rp_err	 e;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (out == NULL || outsz <= STAFF_VERIFIED_LEN)
		return RP_ERR_NOMEM;
	if (secret == NULL || !staff_proof_ok(p) || p->pass <= 0 ||
	    p->issued < 0)
		return RP_ERR_INTERNAL;
	staff_be64(raw, (uint64_t)p->issued);
	staff_be64(raw + STAFF_TS_LEN, (uint64_t)p->pass);
	if ((e = staff_mac(secret, p, raw + STAFF_TS_LEN, raw,
	    raw + STAFF_TS_LEN + STAFF_PASS_LEN)) == RP_OK &&
	    rp_b64url_encode(raw, sizeof(raw), out, outsz) !=
	    STAFF_VERIFIED_LEN) {
		out[0] = '\0';
		e = RP_ERR_INTERNAL;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return e;
}

/*
 * Checks a verified token against the agent, scope, target and form id
 * of p at now (seconds).  Returns RP_OK only when the token is 64
 * base64url characters, its MAC matches (compared in constant time), it
 * names a passphrase row, and it was issued at most STAFF_SKEW seconds
 * after now and at most STAFF_VERIFIED_TTL seconds before; then p->pass
 * and p->issued are the token's.  Everything else, a NULL secret or a
 * form id that is not RP_ID_LEN characters included, is
 * RP_ERR_FORBIDDEN with p->pass and p->issued 0.
 */
enum rp_err
staff_verified_check(const unsigned char *secret, struct staff_proof *p,
    const char *token, int64_t now)
{
	unsigned char	 raw[STAFF_RAW_LEN], mac[STAFF_MAC_LEN];
	uint64_t	 t, pass;
	enum rp_err	 e = RP_ERR_FORBIDDEN;

	if (p == NULL)
		return RP_ERR_FORBIDDEN;
	p->pass = p->issued = 0;
	if (secret == NULL || token == NULL || !staff_proof_ok(p))
		return RP_ERR_FORBIDDEN;
	if (strnlen(token, STAFF_VERIFIED_LEN + 1) != STAFF_VERIFIED_LEN ||
	    !rp_b64url_decode(token, STAFF_VERIFIED_LEN, raw, sizeof(raw)))
		return RP_ERR_FORBIDDEN;
	if (staff_mac(secret, p, raw + STAFF_TS_LEN, raw, mac) != RP_OK)
		goto out;
	if (!rp_ct_equal(mac, raw + STAFF_TS_LEN + STAFF_PASS_LEN,
	    STAFF_MAC_LEN))
		goto out;
	t = staff_get64(raw);
	pass = staff_get64(raw + STAFF_TS_LEN);
	if (pass == 0 || pass > (uint64_t)INT64_MAX)
		goto out;
	/* As in csrf_check(): compare signed, subtract unsigned. */
	if (t > (uint64_t)INT64_MAX || now < 0)
		goto out;
	if ((int64_t)t > now) {
		if (t - (uint64_t)now > STAFF_SKEW)
			goto out;
	} else if ((uint64_t)now - t > STAFF_VERIFIED_TTL)
		goto out;
	p->pass = (int64_t)pass;
	p->issued = (int64_t)t;
	e = RP_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(raw, sizeof(raw));
	return e;
}
