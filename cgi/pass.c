/*
 * Revocation passphrases: what a good one looks like, and how it is
 * stored.  The portal keeps a passphrase only as an Argon2id string
 * (RFC 9106, libargon2's encoding):
 *
 *	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
 *
 * with salt and hash in base64 without padding.  The cost of new hashes
 * is the [argon2] setting, by default OWASP's minimum for Argon2id (19
 * MiB, two passes, one lane); a 16-byte salt from the OpenSSL generator;
 * a 32-byte hash.  Verification takes the cost written in the stored
 * hash, and pass_verify_dummy() spends the current cost on nothing, so
 * that a serial number without a passphrase answers in the time of one
 * with a wrong passphrase.  A stored hash of another cost than the
 * setting is told by pass_rehash_due(): the passphrase check hashes the
 * passphrase again at the current cost once it was entered right, so
 * that old hashes converge on the setting.  pass_floor_ms() measures the
 * dummy verification for the automatic answer floor of the passphrase
 * check (passflow.c).
 */
#include <string.h>
#include <time.h>

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

/*
 * The longest passphrase pass_verify() hashes.  The field table stops a
 * request's passphrase at 256 bytes; this is the same bound for callers
 * that did not come through it.
 */
#define PASS_VERIFY_MAX	1024u

/* Dummy verifications timed for the automatic answer floor. */
#define PASS_FLOOR_RUNS	3

static const char pass_prefix[] = "$argon2id$v=19$";

/*
 * The cost of new hashes and of the dummy verification: the [argon2]
 * settings, set once at start-up by pass_cost_set() before any worker
 * forks, and read-only afterwards.
 */
static unsigned int	 pass_m = PASS_M_COST;
static unsigned int	 pass_t = PASS_T_COST;
static unsigned int	 pass_p = PASS_LANES;

/*
 * The dummy hash of pass_verify_dummy(): made on first use in each
 * process, at the cost in force then, and made again after the cost
 * changes.
 */
static char		 pass_dummy[RP_PASS_HASH_MAX];
static int		 pass_dummy_ok;

#ifdef RP_UNITTEST
/* Tests only: the next pass_hash() fails as if the generator had. */
static int		 pass_fault;

void
pass_fault_next(void)
{
	pass_fault = 1;
}

#define PASS_FAULT()	(pass_fault ? (pass_fault = 0, 1) : 0)
#else
#define PASS_FAULT()	0
#endif

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
 * Hashes the passphrase pass[0..len) with Argon2id at the cost of
 * pass_cost_set() and a new random salt, and writes the encoded string
 * (NUL terminated, at most RP_PASS_HASH_MAX bytes with the NUL) into out.
 * Returns RP_OK; RP_ERR_BAD_INPUT when the passphrase is not acceptable
 * (see pass_valid()); RP_ERR_NOMEM when out is too small or memory runs out;
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
	need = argon2_encodedlen(pass_t, pass_m, pass_p, PASS_SALT_LEN,
	    PASS_HASH_LEN, Argon2_id);
	if (need == 0 || need > outsz || need > RP_PASS_HASH_MAX)
		return RP_ERR_NOMEM;
	if (RAND_bytes(salt, sizeof(salt)) != 1 || PASS_FAULT())
		goto out;
	rc = argon2id_hash_encoded(pass_t, pass_m, pass_p, pass, len, salt,
	    sizeof(salt), PASS_HASH_LEN, out, outsz);
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
 * would accept from an administrator, with its cost in *m (KiB), *t and
 * *p; see pass_hash_valid().  Returns 0 for anything else, NULL
 * included (*m, *t and *p are then meaningless).
 */
static int
pass_parse(const char *s, unsigned long *m, unsigned long *t,
    unsigned long *p)
{
	const char	*salt, *hash, *end;
	size_t		 len;

	*m = *t = *p = 0;
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
	if (pass_num(&s, ',', m) == -1 || strncmp(s, "t=", 2) != 0)
		return 0;
	s += 2;
	if (pass_num(&s, ',', t) == -1 || strncmp(s, "p=", 2) != 0)
		return 0;
	s += 2;
	if (pass_num(&s, '$', p) == -1)
		return 0;
	if (*m < PASS_M_MIN || *m > PASS_M_MAX || *t < PASS_T_MIN ||
	    *t > PASS_T_MAX || *p < PASS_P_MIN || *p > PASS_P_MAX ||
	    *m < 8 * *p)
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
	unsigned long	 m, t, p;

	return pass_parse(s, &m, &t, &p);
}

/*
 * Returns 1 when the stored hash s is one pass_hash_valid() accepts but
 * of another cost (memory, passes or lanes) than pass_cost_set()'s, so
 * that a right passphrase should be hashed again; 0 when it has the
 * current cost or is not valid (nothing can be done about it here).
 */
int
pass_rehash_due(const char *s)
{
	unsigned long	 m, t, p;

	if (!pass_parse(s, &m, &t, &p))
		return 0;
	return m != pass_m || t != pass_t || p != pass_p;
}

/*
 * Sets the cost of pass_hash() and pass_verify_dummy() from now on: m_kib
 * KiB of memory, t passes, p lanes, within the bounds pass_hash_valid()
 * accepts (m 19456..262144 and at least 8 * p, t 2..10, p 1..4).
 * Returns RP_OK, or RP_ERR_BAD_INPUT for a cost out of range, which
 * changes nothing.  Called at start-up, before any worker forks.
 */
enum rp_err
pass_cost_set(unsigned int m_kib, unsigned int t, unsigned int p)
{
	if (m_kib < PASS_M_MIN || m_kib > PASS_M_MAX || t < PASS_T_MIN ||
	    t > PASS_T_MAX || p < PASS_P_MIN || p > PASS_P_MAX ||
	    m_kib < 8 * p)
		return RP_ERR_BAD_INPUT;
	if (m_kib != pass_m || t != pass_t || p != pass_p) {
		OPENSSL_cleanse(pass_dummy, sizeof(pass_dummy));
		pass_dummy_ok = 0;
	}
	pass_m = m_kib;
	pass_t = t;
	pass_p = p;
	return RP_OK;
}

/* What is hashed in place of a passphrase that cannot be one. */
static const char pass_stand_in[] = "revportal-stand-in";

/*
 * Returns 1 when pass[0..len) is the passphrase of the stored Argon2id
 * string hash, else 0: for a hash pass_hash_valid() refuses (no work is
 * done then), for a NULL or empty passphrase or one over PASS_VERIFY_MAX
 * bytes (a stand-in is verified instead, so that it takes the same
 * time), and when libargon2 fails.  libargon2 compares the hashes in
 * constant time.  Logs nothing, whatever happens: a log line must not
 * tell a right passphrase from a wrong one.
 */
int
pass_verify(const char *hash, const char *pass, size_t len)
{
	if (!pass_hash_valid(hash))
		return 0;
	if (pass == NULL || len == 0 || len > PASS_VERIFY_MAX) {
		(void)argon2id_verify(hash, pass_stand_in,
		    sizeof(pass_stand_in) - 1);
		return 0;
	}
	return argon2id_verify(hash, pass, len) == ARGON2_OK;
}

/*
 * Makes the dummy hash of the current cost, unless there is one: the
 * hash of a random passphrase nobody knows.  Returns RP_OK when there is
 * one; RP_ERR_INTERNAL when the generator or libargon2 failed,
 * RP_ERR_NOMEM without memory (then there is none, and the next call
 * tries again).
 */
static enum rp_err
pass_dummy_make(void)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 rnd[16];
	char			 secret[2 * sizeof(rnd)];
	size_t			 i;
	enum rp_err		 e;

	if (pass_dummy_ok)
		return RP_OK;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return RP_ERR_INTERNAL;
	for (i = 0; i < sizeof(rnd); i++) {
		secret[2 * i] = hex[rnd[i] >> 4];
		secret[2 * i + 1] = hex[rnd[i] & 0x0f];
	}
	e = pass_hash(secret, sizeof(secret), pass_dummy, sizeof(pass_dummy));
	pass_dummy_ok = e == RP_OK;
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(secret, sizeof(secret));
	return e;
}

/*
 * Makes the dummy hash of the current cost now (start-up, after
 * pass_cost_set() and before any worker forks, so that every worker
 * inherits it).  Returns RP_OK, or the error of pass_hash(): a program
 * that cannot make it must not start, since an unknown serial would
 * then answer without Argon2id work.
 */
enum rp_err
pass_dummy_init(void)
{
	return pass_dummy_make();
}

/* Milliseconds on the monotonic clock, or -1 when it cannot be read. */
static double
pass_mono_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Measures the automatic answer floor of the passphrase check: 1.5
 * times the slowest of PASS_FLOOR_RUNS dummy verifications at the
 * current cost, in whole milliseconds rounded up, at least 1, into *ms.
 * Makes the dummy hash first if need be.  Returns RP_OK; the error of
 * pass_dummy_init(); RP_ERR_INTERNAL when the clock cannot be read.
 */
enum rp_err
pass_floor_ms(unsigned int *ms)
{
	double		 t0, t1, worst = 0, want;
	enum rp_err	 e;
	int		 i;

	*ms = 0;
	if ((e = pass_dummy_make()) != RP_OK)
		return e;
	for (i = 0; i < PASS_FLOOR_RUNS; i++) {
		if ((t0 = pass_mono_ms()) < 0)
			return RP_ERR_INTERNAL;
		(void)argon2id_verify(pass_dummy, pass_stand_in,
		    sizeof(pass_stand_in) - 1);
		if ((t1 = pass_mono_ms()) < t0)
			return RP_ERR_INTERNAL;
		if (t1 - t0 > worst)
			worst = t1 - t0;
	}
	/* No cost of pass_cost_set() takes near 2^32 ms; bounded anyway. */
	want = worst * 1.5 + 0.999;
	if (want > 4e9)
		want = 4e9;
	*ms = want < 1 ? 1 : (unsigned int)want;
	return RP_OK;
}

/*
 * Spends one Argon2id verification of the current cost on pass[0..len)
 * against the dummy hash and throws the result away: what a check costs
 * when there is no stored hash to check (an unknown serial number, a
 * certificate without a passphrase).  A passphrase that pass_verify()
 * would not hash (NULL, empty, too long) is replaced by the same stand-in
 * as there.  The first call in a process also makes the dummy hash.
 * Logs nothing.
 */
void
pass_verify_dummy(const char *pass, size_t len)
{
	if (pass_dummy_make() != RP_OK)
		return;
	if (pass == NULL || len == 0 || len > PASS_VERIFY_MAX) {
		pass = pass_stand_in;
		len = sizeof(pass_stand_in) - 1;
	}
	(void)argon2id_verify(pass_dummy, pass, len);
}
