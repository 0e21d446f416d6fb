/*
 * Tests of csrf.c: form tokens round-trip, and every kind of damage,
 * reuse or timing outside the window is refused.
 */
#include "unit.h"

#define NOW	((int64_t)1795300000)	/* 2026-11-21 */
#define TTL	3600ul

static const unsigned char secret1[RP_SECRET_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};
static const unsigned char secret2[RP_SECRET_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 33
};

/* Two fixed, canonical cookies (last character's low 4 bits are zero). */
static const char cookie1[] = "AAECAwQFBgcICQoLDA0ODw";
static const char cookie2[] = "_-_-_-_-_-_-_-_-_-_-_w";

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
make_token(const unsigned char *secret, const char *cookie, int64_t now,
    char tok[CSRF_TOKEN_MAX])
{
	assert_int_equal(csrf_token(secret, cookie, now, tok, CSRF_TOKEN_MAX),
	    RP_OK);
	assert_int_equal(strlen(tok), 54);
	assert_true(strspn(tok, b64) == 54);
}

/* Flips one bit of the raw byte at index byte by re-encoding the token. */
static void
flip_bit(char *tok, size_t byte, unsigned int bit)
{
	size_t		 bitpos = byte * 8 + (7 - bit);
	size_t		 ci = bitpos / 6;
	unsigned int	 cb = 5 - bitpos % 6;
	const char	*p;

	p = strchr(b64, tok[ci]);
	assert_non_null(p);
	tok[ci] = b64[(size_t)(p - b64) ^ (1u << cb)];
}

static void
test_round_trip(void **state)
{
	char	 tok[CSRF_TOKEN_MAX];

	(void)state;
	make_token(secret1, cookie1, NOW, tok);
	assert_int_equal(csrf_check(secret1, cookie1, tok, NOW, TTL), RP_OK);
	/* Known answer, computed independently (Python hmac + base64). */
	make_token(secret1, cookie1, NOW, tok);
	assert_string_equal(tok,
	    "AAAAAGsCGqC_CkBkOzglDFdxg9xfKeULkRgZSRu9gV3B9rIPw2T_-w");
	make_token(secret1, cookie2, NOW, tok);
	assert_int_equal(csrf_check(secret1, cookie2, tok, NOW, TTL), RP_OK);
}

static void
test_new_cookie(void **state)
{
	char	 c1[CSRF_COOKIE_LEN + 1], c2[CSRF_COOKIE_LEN + 1];
	char	 tok[CSRF_TOKEN_MAX];

	(void)state;
	assert_int_equal(csrf_new_cookie(c1), RP_OK);
	assert_int_equal(csrf_new_cookie(c2), RP_OK);
	assert_int_equal(strlen(c1), 22);
	assert_true(strspn(c1, b64) == 22);
	assert_string_not_equal(c1, c2);
	/* A fresh cookie is canonical, so tokens for it verify. */
	make_token(secret1, c1, NOW, tok);
	assert_int_equal(csrf_check(secret1, c1, tok, NOW, TTL), RP_OK);
	assert_int_equal(csrf_check(secret1, c2, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
}

static void
test_wrong_cookie(void **state)
{
	char	 tok[CSRF_TOKEN_MAX];

	(void)state;
	make_token(secret1, cookie1, NOW, tok);
	assert_int_equal(csrf_check(secret1, cookie2, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
}

static void
test_wrong_secret(void **state)
{
	char	 tok[CSRF_TOKEN_MAX];

	(void)state;
	make_token(secret1, cookie1, NOW, tok);
	assert_int_equal(csrf_check(secret2, cookie1, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(csrf_check(NULL, cookie1, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
}

static void
test_flipped_bits(void **state)
{
	char		 tok[CSRF_TOKEN_MAX], bad[CSRF_TOKEN_MAX];
	size_t		 byte;
	unsigned int	 bit;

	(void)state;
	make_token(secret1, cookie1, NOW, tok);
	/* Every bit of the timestamp (bytes 0..7) and the MAC (8..39). */
	for (byte = 0; byte < 40; byte++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, tok, sizeof(bad));
			flip_bit(bad, byte, bit);
			assert_string_not_equal(bad, tok);
			assert_int_equal(csrf_check(secret1, cookie1, bad, NOW,
			    TTL), RP_ERR_FORBIDDEN);
		}
	}
	/* The flip helper itself is an involution: undoing gives OK again. */
	memcpy(bad, tok, sizeof(bad));
	flip_bit(bad, 39, 0);
	flip_bit(bad, 39, 0);
	assert_int_equal(csrf_check(secret1, cookie1, bad, NOW, TTL), RP_OK);
}

static void
test_time_window(void **state)
{
	char	 tok[CSRF_TOKEN_MAX];

	(void)state;
	make_token(secret1, cookie1, NOW, tok);
	/* Exactly ttl old is still good, one second more is not. */
	assert_int_equal(csrf_check(secret1, cookie1, tok, NOW + TTL, TTL),
	    RP_OK);
	assert_int_equal(csrf_check(secret1, cookie1, tok, NOW + TTL + 1, TTL),
	    RP_ERR_FORBIDDEN);
	/* Issued in the future: 60 s of skew pass, 61 s do not. */
	assert_int_equal(csrf_check(secret1, cookie1, tok, NOW - 60, TTL),
	    RP_OK);
	assert_int_equal(csrf_check(secret1, cookie1, tok, NOW - 61, TTL),
	    RP_ERR_FORBIDDEN);
	/* Extreme clocks must not overflow into acceptance. */
	assert_int_equal(csrf_check(secret1, cookie1, tok, INT64_MIN, TTL),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(csrf_check(secret1, cookie1, tok, INT64_MAX, TTL),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(csrf_check(secret1, cookie1, tok, INT64_MAX,
	    (unsigned long)-1), RP_OK);
	/* A ttl of 0 accepts only the same second. */
	assert_int_equal(csrf_check(secret1, cookie1, tok, NOW, 0), RP_OK);
	assert_int_equal(csrf_check(secret1, cookie1, tok, NOW + 1, 0),
	    RP_ERR_FORBIDDEN);
}

static void
test_malformed_token(void **state)
{
	char		 tok[CSRF_TOKEN_MAX], bad[CSRF_TOKEN_MAX + 8];
	const char	*subst = "=+/ .\n";
	size_t		 i;

	(void)state;
	make_token(secret1, cookie1, NOW, tok);

	/* Truncated by one and by many characters. */
	memcpy(bad, tok, 55);
	bad[53] = '\0';
	assert_int_equal(csrf_check(secret1, cookie1, bad, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	bad[20] = '\0';
	assert_int_equal(csrf_check(secret1, cookie1, bad, NOW, TTL),
	    RP_ERR_FORBIDDEN);

	/* Padded or extended. */
	memcpy(bad, tok, 54);
	memcpy(bad + 54, "==", 3);
	assert_int_equal(csrf_check(secret1, cookie1, bad, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	memcpy(bad + 54, "A", 2);
	assert_int_equal(csrf_check(secret1, cookie1, bad, NOW, TTL),
	    RP_ERR_FORBIDDEN);

	/* Standard-base64 and other characters anywhere. */
	for (; *subst != '\0'; subst++) {
		for (i = 0; i < 54; i += 13) {
			memcpy(bad, tok, 55);
			bad[i] = *subst;
			assert_int_equal(csrf_check(secret1, cookie1, bad, NOW,
			    TTL), RP_ERR_FORBIDDEN);
		}
	}

	/* Non-canonical trailing bits: the last char carries 2 data bits. */
	memcpy(bad, tok, 55);
	i = (size_t)(strchr(b64, bad[53]) - b64);
	assert_int_equal(i & 0x0f, 0);
	bad[53] = b64[i | 1];
	assert_int_equal(csrf_check(secret1, cookie1, bad, NOW, TTL),
	    RP_ERR_FORBIDDEN);

	assert_int_equal(csrf_check(secret1, cookie1, "", NOW, TTL),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(csrf_check(secret1, cookie1, NULL, NOW, TTL),
	    RP_ERR_FORBIDDEN);
}

static void
test_malformed_cookie(void **state)
{
	char	 tok[CSRF_TOKEN_MAX];
	char	 c[CSRF_COOKIE_LEN + 2];

	(void)state;
	make_token(secret1, cookie1, NOW, tok);
	assert_int_equal(csrf_check(secret1, NULL, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(csrf_check(secret1, "", tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	/* One character short and one too many. */
	memcpy(c, cookie1, 21);
	c[21] = '\0';
	assert_int_equal(csrf_check(secret1, c, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	assert_int_equal(csrf_token(secret1, c, NOW, tok, sizeof(tok)),
	    RP_ERR_BAD_INPUT);
	make_token(secret1, cookie1, NOW, tok);
	memcpy(c, cookie1, 22);
	c[22] = 'A';
	c[23] = '\0';
	assert_int_equal(csrf_check(secret1, c, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	/* Right length, wrong alphabet. */
	memcpy(c, cookie1, 23);
	c[5] = '+';
	assert_int_equal(csrf_check(secret1, c, tok, NOW, TTL),
	    RP_ERR_FORBIDDEN);
	/* Right length, non-canonical last character ('w' | 1 = 'x'). */
	memcpy(c, cookie2, 23);
	c[21] = 'x';
	assert_int_equal(csrf_token(secret1, c, NOW, tok, sizeof(tok)),
	    RP_ERR_BAD_INPUT);
}

static void
test_token_outsz(void **state)
{
	char	 tok[CSRF_TOKEN_MAX];

	(void)state;
	assert_int_equal(csrf_token(secret1, cookie1, NOW, tok, 54),
	    RP_ERR_NOMEM);
	assert_string_equal(tok, "");
	assert_int_equal(csrf_token(secret1, cookie1, NOW, tok, 55), RP_OK);
	assert_int_equal(strlen(tok), 54);
	assert_int_equal(csrf_token(secret1, cookie1, NOW, NULL, 0),
	    RP_ERR_NOMEM);
	assert_int_equal(csrf_token(NULL, cookie1, NOW, tok, sizeof(tok)),
	    RP_ERR_INTERNAL);
}

static void
test_tokens_differ(void **state)
{
	char	 t1[CSRF_TOKEN_MAX], t2[CSRF_TOKEN_MAX], t3[CSRF_TOKEN_MAX];
	char	 t4[CSRF_TOKEN_MAX];

	(void)state;
	make_token(secret1, cookie1, NOW, t1);
	make_token(secret1, cookie2, NOW, t2);
	make_token(secret2, cookie1, NOW, t3);
	make_token(secret1, cookie1, NOW + 1, t4);
	/* Same timestamp prefix, different MACs. */
	assert_memory_equal(t1, t2, 10);
	assert_memory_not_equal(t1 + 11, t2 + 11, 43);
	assert_memory_not_equal(t1 + 11, t3 + 11, 43);
	assert_string_not_equal(t1, t4);
	/* Deterministic for the same inputs. */
	make_token(secret1, cookie1, NOW, t2);
	assert_string_equal(t1, t2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_new_cookie),
		cmocka_unit_test(test_wrong_cookie),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_time_window),
		cmocka_unit_test(test_malformed_token),
		cmocka_unit_test(test_malformed_cookie),
		cmocka_unit_test(test_token_outsz),
		cmocka_unit_test(test_tokens_differ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
