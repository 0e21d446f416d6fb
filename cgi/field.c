/*
 * The one field table: every field a request may carry, named once with
 * its maximum length, its flags and its validator, and field_set(), the
 * only way a value gets into a struct input.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* Longest file name kept from a multipart file part, in bytes. */
#define FIELD_FILENAME_MAX	255u

/* Length of a request or challenge identifier: base64url of 16 bytes. */
#define FIELD_ID_LEN		22u

static int	valid_action(const char *, size_t);
static int	valid_serial(const char *, size_t);
static int	valid_token(const char *, size_t);
static int	valid_reason(const char *, size_t);
static int	valid_id(const char *, size_t);
static int	valid_signature(const char *, size_t);
static int	valid_csrf(const char *, size_t);
static int	valid_row_id(const char *, size_t);
static int	valid_scope(const char *, size_t);
static int	valid_state(const char *, size_t);
static int	valid_csr(const char *, size_t);

const struct field_def fields[FIELD__MAX] = {
	[FIELD_ACTION] =	{ "action", 16, 0, valid_action },
	[FIELD_SERIAL] =	{ "serial", 128, 0, valid_serial },
	[FIELD_TOKEN] =		{ "token", 64, 0, valid_token },
	[FIELD_PASSPHRASE] =	{ "passphrase", 256, FIELDF_SECRET, NULL },
	[FIELD_REASON] =	{ "reason", 32, 0, valid_reason },
	[FIELD_ISSUER] =	{ "issuer", 512, 0, NULL },
	[FIELD_REQUEST_ID] =	{ "request_id", FIELD_ID_LEN, 0, valid_id },
	[FIELD_CHALLENGE_ID] =	{ "challenge_id", FIELD_ID_LEN, 0, valid_id },
	[FIELD_SIGNATURE] =	{ "signature", 64u * 1024u, FIELDF_BINARY,
				  valid_signature },
	[FIELD_CSRF] =		{ "csrf_token", CSRF_TOKEN_MAX, 0, valid_csrf },
	[FIELD_NOTE] =		{ "note", 2000, FIELDF_MULTILINE, NULL },
	[FIELD_Q] =		{ "q", 200, 0, NULL },
	[FIELD_FORM_ID] =	{ "form_id", FIELD_ID_LEN, 0, valid_id },
	[FIELD_CERT] =		{ "cert", 18, 0, valid_row_id },
	[FIELD_SCOPE] =		{ "scope", 16, 0, valid_scope },
	[FIELD_VERIFIED] =	{ "verified", 128, 0, valid_csrf },
	[FIELD_CALL_REF] =	{ "call_reference", RP_LABEL_MAX - 1, 0, NULL },
	[FIELD_CALLER_NAME] =	{ "caller_name", RP_TEXT_MAX - 1, 0, NULL },
	[FIELD_STATE] =		{ "state", 24, 0, valid_state },
	[FIELD_CSR] =		{ "csr", 16384, FIELDF_MULTILINE, valid_csr },
};

const char *const cookie_names[COOKIE__MAX] = {
	[COOKIE_CSRF] = "__Host-rp_csrf",
	[COOKIE_REP] = "__Host-rp_rep",
};

/*
 * Returns 1 when s[0..n) equals one of the NULL-terminated words, 0
 * otherwise.  Case-sensitive.
 */
static int
is_one_of(const char *s, size_t n, const char *const *words)
{
	size_t	 i;

	for (i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0)
			return 1;
	return 0;
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

static int
is_b64url(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

static int
valid_action(const char *s, size_t n)
{
	static const char *const words[] = {
		"revoke", "suspend", "reactivate", "recover", "approve",
		"login", NULL
	};

	return is_one_of(s, n, words);
}

static int
valid_reason(const char *s, size_t n)
{
	static const char *const words[] = {
		"unspecified", "keyCompromise", "affiliationChanged",
		"superseded", "cessationOfOperation", "privilegeWithdrawn",
		NULL
	};

	return is_one_of(s, n, words);
}

/* Hex digits, with colons and spaces as separators; at least one digit. */
static int
valid_serial(const char *s, size_t n)
{
	size_t	 i, digits = 0;

	for (i = 0; i < n; i++) {
		if (is_hex((unsigned char)s[i]))
			digits++;
		else if (s[i] != ':' && s[i] != ' ')
			return 0;
	}
	return digits > 0;
}

/* A token label: letters, digits, space and "-_.:"; not empty. */
static int
valid_token(const char *s, size_t n)
{
	size_t		 i;
	unsigned char	 c;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!is_alnum(c) && c != ' ' && c != '-' && c != '_' &&
		    c != '.' && c != ':')
			return 0;
	}
	return 1;
}

/* Exactly FIELD_ID_LEN base64url characters. */
/* Unpadded base64url; not empty. */
static int
valid_csrf(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_b64url((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
valid_id(const char *s, size_t n)
{
	return n == FIELD_ID_LEN && valid_csrf(s, n);
}

/*
 * A CMS signature: either base64 text (the standard alphabet, '='
 * padding only at the end, line breaks and spaces allowed, at least one
 * data character) or a DER file, which starts with a SEQUENCE tag.  Its
 * content is checked by sig.c; this only keeps obvious junk out.
 */
static int
valid_signature(const char *s, size_t n)
{
	size_t		 i, data = 0, pad = 0;
	unsigned char	 c;

	if (n >= 2 && (unsigned char)s[0] == 0x30)
		return 1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			if (++pad > 2)
				return 0;
			continue;
		}
		if (pad > 0)
			return 0;
		if (!is_alnum(c) && c != '+' && c != '/')
			return 0;
		data++;
	}
	return data > 0;
}

/*
 * Returns 1 when s[0..n) holds no NUL and no control character (below
 * 0x20, or 0x7f) but TAB, and CR or LF only when multiline is set.
 */
static int
text_chars_ok(const char *s, size_t n, int multiline)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\t')
			continue;
		if ((c == '\r' || c == '\n') && multiline)
			continue;
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Maps a field name of len bytes to its enum; FIELD__MAX if unknown. */
enum field
field_lookup(const char *name, size_t len)
{
	size_t	 i;

	if (name == NULL)
		return FIELD__MAX;
	for (i = 0; i < FIELD__MAX; i++)
		if (strlen(fields[i].name) == len &&
		    memcmp(fields[i].name, name, len) == 0)
			return (enum field)i;
	return FIELD__MAX;
}

/*
 * Validates val[0..len) for field f and, on success, stores a NUL
 * terminated copy of it (and of filename, when not NULL) in in->f[f].
 * Returns RP_OK, RP_ERR_BAD_INPUT with ei filled (codes duplicate_field,
 * field_too_long, invalid_utf8, invalid_characters, invalid_filename,
 * invalid_value, unexpected_file), RP_ERR_NOMEM, or RP_ERR_INTERNAL for a bad f.  The
 * message names the field, never its value.  On failure in->f[f] is left
 * as it was.  The copies belong to in; input_free() releases them.
 */
enum rp_err
field_set(struct input *in, enum field f, const char *val, size_t len,
    const char *filename, struct rp_errinfo *ei)
{
	const struct field_def	*fd;
	char			*v = NULL, *fn = NULL;
	size_t			 fnlen;

	if ((unsigned int)f >= FIELD__MAX || in == NULL ||
	    (val == NULL && len > 0))
		return rp_fail(ei, RP_ERR_INTERNAL, "internal_error",
		    "bad call to field_set");
	fd = &fields[f];

	if (in->f[f].set)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "duplicate_field",
		    "field '%s' given more than once", fd->name);
	if (len > fd->max)
		return rp_fail(ei, RP_ERR_BAD_INPUT, "field_too_long",
		    "field '%s' is longer than %zu bytes", fd->name, fd->max);
	if (!(fd->flags & FIELDF_BINARY)) {
		if (!rp_utf8_valid(val, len))
			return rp_fail(ei, RP_ERR_BAD_INPUT, "invalid_utf8",
			    "field '%s' is not valid UTF-8", fd->name);
		/* A secret is never shown, so only C1 controls matter. */
		if (!text_chars_ok(val, len, fd->flags & FIELDF_MULTILINE) ||
		    !rp_text_marks_ok(val, len, !(fd->flags & FIELDF_SECRET)))
			return rp_fail(ei, RP_ERR_BAD_INPUT,
			    "invalid_characters",
			    "field '%s' holds control characters", fd->name);
	}
	if (filename != NULL && !(fd->flags & FIELDF_BINARY))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "unexpected_file",
		    "field '%s' takes text, not a file", fd->name);
	if (filename != NULL) {
		fnlen = strlen(filename);
		if (fnlen > FIELD_FILENAME_MAX ||
		    !rp_utf8_valid(filename, fnlen) ||
		    !text_chars_ok(filename, fnlen, 0) ||
		    !rp_text_marks_ok(filename, fnlen, 1))
			return rp_fail(ei, RP_ERR_BAD_INPUT,
			    "invalid_filename",
			    "file name of field '%s' is not acceptable",
			    fd->name);
	}
	if (fd->valid != NULL && !fd->valid(len > 0 ? val : "", len))
		return rp_fail(ei, RP_ERR_BAD_INPUT, "invalid_value",
		    "field '%s' has an invalid value", fd->name);

	if ((v = malloc(len + 1)) == NULL)
		goto nomem;
	if (len > 0)
		memcpy(v, val, len);
	v[len] = '\0';
	if (filename != NULL && (fn = strdup(filename)) == NULL)
		goto nomem;

	in->f[f].val = v;
	in->f[f].len = len;
	in->f[f].filename = fn;
	in->f[f].set = 1;
	return RP_OK;
nomem:
	if (v != NULL)
		explicit_bzero(v, len + 1);
	free(v);
	return rp_fail(ei, RP_ERR_NOMEM, "internal_error", "out of memory");
}

/*
 * Frees every value, file name and cookie of in and zeroes it; values of
 * secret fields are wiped first.  Accepts NULL and a zeroed input.
 */
void
input_free(struct input *in)
{
	size_t	 i;

	if (in == NULL)
		return;
	for (i = 0; i < FIELD__MAX; i++) {
		if (in->f[i].val != NULL)
			explicit_bzero(in->f[i].val, in->f[i].len);
		free(in->f[i].val);
		free(in->f[i].filename);
	}
	for (i = 0; i < COOKIE__MAX; i++) {
		if (in->cookie[i] != NULL)
			explicit_bzero(in->cookie[i], strlen(in->cookie[i]));
		free(in->cookie[i]);
	}
	memset(in, 0, sizeof(*in));
}

/* A row id: 1 to 18 decimal digits, no leading zero. */
static int
valid_row_id(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 18 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
valid_scope(const char *s, size_t n)
{
	static const char *const words[] = { "certificate", "token", NULL };

	return is_one_of(s, n, words);
}

static int
valid_state(const char *s, size_t n)
{
	static const char *const words[] = {
		"awaiting_approval", "queued", "relayed", "completed",
		"rejected", "expired", "failed", NULL
	};

	return is_one_of(s, n, words);
}

/*
 * A PKCS#10 request in PEM: the armour lines around base64 text.  The
 * content is csr.c's to judge; this only keeps other text out.
 */
static int
valid_csr(const char *s, size_t n)
{
	static const char	 head[] = "-----BEGIN CERTIFICATE REQUEST-----";
	static const char	 tail[] = "-----END CERTIFICATE REQUEST-----";
	size_t			 i, hl = sizeof(head) - 1, tl = sizeof(tail) - 1;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n < hl + tl || memcmp(s, head, hl) != 0 ||
	    memcmp(s + n - tl, tail, tl) != 0)
		return 0;
	for (i = hl; i < n - tl; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '/' && s[i] != '=' && s[i] != '\n' &&
		    s[i] != '\r')
			return 0;
	return 1;
}
