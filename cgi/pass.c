/*
 * Revocation passphrases: what a good one looks like, and how it is
 * stored.  The portal keeps a passphrase only as an Argon2id string
 * (RFC 9106, libargon2's encoding):
 *
 *	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
 *
 * with salt and hash in base64 without padding.  The parameters are
 * OWASP's minimum for Argon2id (19 MiB, two passes, one lane); a 16-byte
 * salt from the OpenSSL generator; a 32-byte hash.
 */
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "extern.h"

#define PASS_MIN	8u		/* bytes of a passphrase, at least */
#define PASS_MAX	128u		/* and at most */
#define PASS_M_COST	19456u		/* KiB */
#define PASS_T_COST	2u
#define PASS_LANES	1u
#define PASS_SALT_LEN	16u
#define PASS_HASH_LEN	32u

/*
 * What pass_hash_valid() accepts of a string made elsewhere.  Below
 * OWASP's minimum (19 MiB, two passes) a stolen hash is cheap to brute
 * force; above the caps every web check of the passphrase would cost a
 * worker up to 256 MiB and ten passes, a denial of service.
 */
#define PASS_M_MIN	19456u		/* KiB: 19 MiB */
#define PASS_M_MAX	262144u		/* KiB: 256 MiB */
#define PASS_T_MIN	2u
#define PASS_T_MAX	10u
#define PASS_P_MIN	1u
#define PASS_P_MAX	4u
#define PASS_SALTB_MIN	8u		/* decoded salt bytes */
#define PASS_SALTB_MAX	64u
#define PASS_HASHB_MIN	16u		/* decoded hash bytes */
#define PASS_HASHB_MAX	64u

static const char pass_prefix[] = "$argon2id$v=19$";

/*
 * Returns 1 when pass[0..len) may be a revocation passphrase: PASS_MIN
 * to PASS_MAX bytes of well-formed UTF-8 without control characters
 * (C0, DEL, C1) and without NUL; 0 otherwise.
 */
UNITTEST int
pass_valid(const char *pass, size_t len)
{
	const unsigned char	*p = (const unsigned char *)pass;
	size_t			 i;

	if (pass == NULL || len < PASS_MIN || len > PASS_MAX ||
	    !rp_utf8_valid(pass, len))
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		/* U+0080..U+009F are C2 80..C2 9F in UTF-8. */
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

/*
 * Hashes the passphrase pass[0..len) with Argon2id and a new random salt
 * and writes the encoded string (NUL terminated, at most
 * RP_PASS_HASH_MAX bytes with the NUL) into out.  Returns RP_OK;
 * RP_ERR_BAD_INPUT when the passphrase is not acceptable (see
 * pass_valid()); RP_ERR_NOMEM when out is too small or memory runs out;
 * RP_ERR_INTERNAL when the generator or libargon2 fails.  out is
 * cleared on failure.  The passphrase is not copied here (libargon2
 * wipes its own working memory); the caller wipes its own copy.
 */
enum rp_err
pass_hash(const char *pass, size_t len, char *out, size_t outsz)
{
	unsigned char	 salt[PASS_SALT_LEN];
	size_t		 need;
	int		 rc;
	enum rp_err	 e = RP_ERR_INTERNAL;

	if (out == NULL || outsz == 0)
		return RP_ERR_NOMEM;
	out[0] = '\0';
	if (!pass_valid(pass, len))
		return RP_ERR_BAD_INPUT;
	need = argon2_encodedlen(PASS_T_COST, PASS_M_COST, PASS_LANES,
	    PASS_SALT_LEN, PASS_HASH_LEN, Argon2_id);
	if (need == 0 || need > outsz || need > RP_PASS_HASH_MAX)
		return RP_ERR_NOMEM;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		goto out;
	rc = argon2id_hash_encoded(PASS_T_COST, PASS_M_COST, PASS_LANES,
	    pass, len, salt, sizeof(salt), PASS_HASH_LEN, out, outsz);
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) {
		e = RP_ERR_NOMEM;
		goto out;
	}
	if (rc != ARGON2_OK) {
		rplog(RPLOG_ERROR, "argon2_failed", "rc=%d", rc);
		goto out;
	}
	/* Our own output must pass our own check. */
	if (!pass_hash_valid(out)) {
		rplog(RPLOG_ERROR, "argon2_format", "unexpected encoding");
		goto out;
	}
	e = RP_OK;
out:
	OPENSSL_cleanse(salt, sizeof(salt));
	if (e != RP_OK)
		OPENSSL_cleanse(out, outsz);
	return e;
}

/*
 * Reads a decimal number of at most 7 digits without a leading zero at
 * *sp, stopping at the first non-digit, which must be stop.  Returns 0
 * with the value in *v and *sp past stop, or -1.
 */
static int
pass_num(const char **sp, char stop, unsigned long *v)
{
	const char	*s = *sp;
	size_t		 n = 0;

	*v = 0;
	if (*s == '0')
		return -1;
	while (*s >= '0' && *s <= '9') {
		if (++n > 7)
			return -1;
		*v = *v * 10 + (unsigned long)(*s - '0');
		s++;
	}
	if (n == 0 || *s != stop)
		return -1;
	*sp = s + 1;
	return 0;
}

/* Returns the 6-bit value of a standard base64 character, or -1. */
static int
pass_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Checks that s[0..n) is canonical base64 without padding (the bits
 * after the last whole byte are zero) and decodes to min..max bytes.
 * Returns 1 or 0.
 */
static int
pass_b64ok(const char *s, size_t n, size_t min, size_t max)
{
	size_t	 bytes, i;
	int	 last;

	if (n % 4 == 1)
		return 0;
	bytes = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (bytes < min || bytes > max)
		return 0;
	for (i = 0; i < n; i++)
		if (pass_b64val(s[i]) < 0)
			return 0;
	if (n % 4 == 0)
		return 1;
	last = pass_b64val(s[n - 1]);
	/* 2 characters carry 1 byte (4 spare bits), 3 carry 2 (2 spare). */
	return (last & (n % 4 == 2 ? 0x0f : 0x03)) == 0;
}

/*
 * Returns 1 when s is an Argon2id string this program can verify and
 * would accept from an administrator (--passphrase-hash, the import
 * CSV): "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" with M 19456..262144
 * (KiB) and at least 8 * P, T 2..10, P 1..4, SALT 8..64 and HASH 16..64
 * bytes in canonical base64 without padding, at most RP_PASS_HASH_MAX - 1
 * characters in all.  Returns 0 for anything else, NULL included.
 */
int
pass_hash_valid(const char *s)
{
	const char	*salt, *hash, *end;
	unsigned long	 m, t, p;
	size_t		 len;

	if (s == NULL)
		return 0;
	len = strnlen(s, RP_PASS_HASH_MAX);
	if (len >= RP_PASS_HASH_MAX)
		return 0;
	if (strncmp(s, pass_prefix, sizeof(pass_prefix) - 1) != 0)
		return 0;
	s += sizeof(pass_prefix) - 1;
	if (strncmp(s, "m=", 2) != 0)
		return 0;
	s += 2;
	if (pass_num(&s, ',', &m) == -1 || strncmp(s, "t=", 2) != 0)
		return 0;
	s += 2;
	if (pass_num(&s, ',', &t) == -1 || strncmp(s, "p=", 2) != 0)
		return 0;
	s += 2;
	if (pass_num(&s, '$', &p) == -1)
		return 0;
	if (m < PASS_M_MIN || m > PASS_M_MAX || t < PASS_T_MIN ||
	    t > PASS_T_MAX || p < PASS_P_MIN || p > PASS_P_MAX ||
	    m < 8 * p)
		return 0;
	salt = s;
	if ((hash = strchr(salt, '$')) == NULL)
		return 0;
	hash++;
	end = hash + strlen(hash);
	return pass_b64ok(salt, (size_t)(hash - 1 - salt), PASS_SALTB_MIN,
	    PASS_SALTB_MAX) &&
	    pass_b64ok(hash, (size_t)(end - hash), PASS_HASHB_MIN,
	    PASS_HASHB_MAX);
}
