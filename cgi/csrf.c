/*
 * Signed form tokens against cross-site request forgery.
 *
 * The browser holds a random cookie (16 bytes, base64url).  A form carries
 * a token made of the time it was issued and an HMAC-SHA256, keyed with the
 * instance secret, over a domain label, that cookie and the time:
 *
 *	token = b64url(issued_at || HMAC(secret, "revportal-csrf\0" ||
 *	    cookie || issued_at))
 *
 * with issued_at as 8 bytes big-endian, so a token is 40 bytes or 54
 * characters.  base64url is written and read without padding, and the
 * reader accepts only the one canonical spelling of each value.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "extern.h"

#define CSRF_RAND_LEN	16u			/* random bytes of a cookie */
#define CSRF_TS_LEN	8u			/* issued_at, big-endian */
#define CSRF_MAC_LEN	32u			/* HMAC-SHA256 */
#define CSRF_RAW_LEN	(CSRF_TS_LEN + CSRF_MAC_LEN)
#define CSRF_TOKEN_LEN	54u			/* b64url of CSRF_RAW_LEN */
#define CSRF_SKEW	60			/* seconds a clock may lead */

/* The domain label, NUL included, so no other HMAC use can collide. */
static const char csrf_label[] = "revportal-csrf";
#define CSRF_LABEL_LEN	sizeof(csrf_label)

/*
 * Returns 1 when cookie is a NUL-terminated canonical base64url encoding
 * of CSRF_RAND_LEN bytes, 0 otherwise.
 */
int
csrf_cookie_valid(const char *cookie)
{
	unsigned char	 raw[CSRF_RAND_LEN];
	int		 ok;

	if (cookie == NULL ||
	    strnlen(cookie, CSRF_COOKIE_LEN + 1) != CSRF_COOKIE_LEN)
		return 0;
	ok = rp_b64url_decode(cookie, CSRF_COOKIE_LEN, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

/*
 * Computes the MAC of a token for cookie (already checked) and the 8-byte
 * issued_at ts into mac.  Returns RP_OK or RP_ERR_INTERNAL.
 */
static enum rp_err
csrf_mac(const unsigned char *secret, const char *cookie,
    const unsigned char ts[CSRF_TS_LEN], unsigned char mac[CSRF_MAC_LEN])
{
	unsigned char	 msg[CSRF_LABEL_LEN + CSRF_COOKIE_LEN + CSRF_TS_LEN];
	unsigned int	 maclen = 0;

	memcpy(msg, csrf_label, CSRF_LABEL_LEN);
	memcpy(msg + CSRF_LABEL_LEN, cookie, CSRF_COOKIE_LEN);
	memcpy(msg + CSRF_LABEL_LEN + CSRF_COOKIE_LEN, ts, CSRF_TS_LEN);
	if (HMAC(EVP_sha256(), secret, RP_SECRET_LEN, msg, sizeof(msg),
	    mac, &maclen) == NULL || maclen != CSRF_MAC_LEN)
		return RP_ERR_INTERNAL;
	return RP_OK;
}

/*
 * Fills out with a new public id: RP_ID_LEN base64url characters of 128
 * random bits and a NUL.  Returns RP_OK, or RP_ERR_INTERNAL when the
 * random generator fails (out is then an empty string).
 */
enum rp_err
rp_random_id(char out[RP_ID_LEN + 1])
{
	unsigned char	 raw[CSRF_RAND_LEN];
	enum rp_err	 e = RP_ERR_INTERNAL;

	out[0] = '\0';
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		goto out;
	if (rp_b64url_encode(raw, sizeof(raw), out, RP_ID_LEN + 1) !=
	    RP_ID_LEN) {
		out[0] = '\0';
		goto out;
	}
	e = RP_OK;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return e;
}

/*
 * Makes a new CSRF cookie value: a random id.  Returns RP_OK, or
 * RP_ERR_INTERNAL (out empty) when the random generator fails.
 */
enum rp_err
csrf_new_cookie(char out[CSRF_COOKIE_LEN + 1])
{
	return rp_random_id(out);
}

/*
 * Writes the token for cookie issued at now into out (outsz bytes, at
 * least CSRF_TOKEN_LEN + 1).  secret holds RP_SECRET_LEN bytes.  Returns
 * RP_OK; RP_ERR_BAD_INPUT for a malformed cookie; RP_ERR_NOMEM when out is
 * too small; RP_ERR_INTERNAL on a crypto failure or a NULL secret.  On
 * failure out is an empty string if outsz allows.
 */
enum rp_err
csrf_token(const unsigned char *secret, const char *cookie, int64_t now,
    char *out, size_t outsz)
{
	unsigned char	 raw[CSRF_RAW_LEN];
	uint64_t	 t = (uint64_t)now;
	size_t		 i;
	enum rp_err	 e;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (out == NULL || outsz <= CSRF_TOKEN_LEN)
		return RP_ERR_NOMEM;
	if (secret == NULL)
		return RP_ERR_INTERNAL;
	if (!csrf_cookie_valid(cookie))
		return RP_ERR_BAD_INPUT;
	for (i = 0; i < CSRF_TS_LEN; i++)
		raw[i] = t >> (8 * (CSRF_TS_LEN - 1 - i)) & 0xff;
	if ((e = csrf_mac(secret, cookie, raw, raw + CSRF_TS_LEN)) != RP_OK)
		goto out;
	if (rp_b64url_encode(raw, sizeof(raw), out, outsz) != CSRF_TOKEN_LEN) {
		out[0] = '\0';
		e = RP_ERR_INTERNAL;
		goto out;
	}
	e = RP_OK;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return e;
}

/*
 * Checks a form token against the browser's cookie.  Returns RP_OK only
 * when the cookie is well formed, the token is the canonical encoding of
 * 40 bytes, its MAC matches (compared in constant time), it was issued no
 * more than CSRF_SKEW seconds after now and is at most ttl seconds old.
 * Everything else, a NULL secret included, is RP_ERR_FORBIDDEN.
 */
enum rp_err
csrf_check(const unsigned char *secret, const char *cookie,
    const char *token, int64_t now, unsigned long ttl)
{
	unsigned char	 raw[CSRF_RAW_LEN], mac[CSRF_MAC_LEN];
	uint64_t	 t = 0, age;
	size_t		 i;
	enum rp_err	 e = RP_ERR_FORBIDDEN;

	if (secret == NULL || token == NULL || !csrf_cookie_valid(cookie))
		return RP_ERR_FORBIDDEN;
	if (strnlen(token, CSRF_TOKEN_LEN + 1) != CSRF_TOKEN_LEN ||
	    !rp_b64url_decode(token, CSRF_TOKEN_LEN, raw, sizeof(raw)))
		return RP_ERR_FORBIDDEN;
	if (csrf_mac(secret, cookie, raw, mac) != RP_OK)
		goto out;
	if (!rp_ct_equal(mac, raw + CSRF_TS_LEN, CSRF_MAC_LEN))
		goto out;
	for (i = 0; i < CSRF_TS_LEN; i++)
		t = t << 8 | raw[i];

	/*
	 * Compare as int64_t but subtract in uint64_t: the difference of two
	 * ordered int64_t values always fits, so nothing can overflow.
	 */
	if ((int64_t)t > now) {
		if (t - (uint64_t)now > CSRF_SKEW)
			goto out;
	} else {
		age = (uint64_t)now - t;
		if (age > ttl)
			goto out;
	}
	e = RP_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return e;
}
