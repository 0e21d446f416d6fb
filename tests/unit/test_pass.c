/*
 * Tests of pass.c beyond the format checks in test_registry.c: the cost
 * setting and its bounds, verification against stored hashes (right,
 * wrong, truncated, another Argon2 variant, too cheap a cost, empty and
 * over-long passphrases), the dummy verification of unknown serials,
 * its start-up check and the automatic answer floor measured from it,
 * and which stored hashes are due for a new hash at the current cost.
 */
#include <time.h>

#include <argon2.h>

#include "unit.h"

static const char pass1[] = "correct horse battery staple";

/* Puts the default cost back, whatever a test did. */
static int
reset_cost(void **state)
{
	(void)state;
	assert_int_equal(pass_cost_set(19456, 2, 1), RP_OK);
	return 0;
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_cost_bounds(void **state)
{
	char	 h[RP_PASS_HASH_MAX];

	(void)state;
	assert_int_equal(pass_cost_set(19456, 2, 1), RP_OK);
	assert_int_equal(pass_cost_set(262144, 10, 4), RP_OK);
	assert_int_equal(pass_cost_set(19455, 2, 1), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_cost_set(262145, 2, 1), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_cost_set(0, 2, 1), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_cost_set(19456, 1, 1), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_cost_set(19456, 11, 1), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_cost_set(19456, 2, 0), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_cost_set(19456, 2, 5), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_cost_set(4294967295u, 4294967295u,
	    4294967295u), RP_ERR_BAD_INPUT);
	/* A refused setting changes nothing: the last good one holds. */
	assert_int_equal(pass_cost_set(19456, 3, 2), RP_OK);
	assert_int_equal(pass_cost_set(19456, 1, 1), RP_ERR_BAD_INPUT);
	assert_int_equal(pass_hash(pass1, strlen(pass1), h, sizeof(h)),
	    RP_OK);
	assert_int_equal(strncmp(h, "$argon2id$v=19$m=19456,t=3,p=2$", 31),
	    0);
}

static void
test_hash_uses_cost(void **state)
{
	char	 h[RP_PASS_HASH_MAX];

	(void)state;
	assert_int_equal(pass_hash(pass1, strlen(pass1), h, sizeof(h)),
	    RP_OK);
	assert_int_equal(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31),
	    0);
	assert_int_equal(pass_cost_set(20480, 3, 2), RP_OK);
	assert_int_equal(pass_hash(pass1, strlen(pass1), h, sizeof(h)),
	    RP_OK);
	assert_int_equal(strncmp(h, "$argon2id$v=19$m=20480,t=3,p=2$", 31),
	    0);
	assert_true(pass_hash_valid(h));
	/* A stored hash is verified at its own cost, whatever the setting. */
	assert_int_equal(pass_cost_set(19456, 2, 1), RP_OK);
	assert_int_equal(pass_verify(h, pass1, strlen(pass1)), 1);
}

static void
test_verify(void **state)
{
	static const char	 utf8[] = "ge\xc5\xa1lo za preklic";
	char			 h[RP_PASS_HASH_MAX], h2[RP_PASS_HASH_MAX];
	char			 big[2000];

	(void)state;
	assert_int_equal(pass_hash(pass1, strlen(pass1), h, sizeof(h)),
	    RP_OK);
	assert_int_equal(pass_verify(h, pass1, strlen(pass1)), 1);
	/* Wrong: another, one byte less, one more, another case. */
	assert_int_equal(pass_verify(h, "correct horse battery stapler",
	    29), 0);
	assert_int_equal(pass_verify(h, pass1, strlen(pass1) - 1), 0);
	assert_int_equal(pass_verify(h, "Correct horse battery staple",
	    strlen(pass1)), 0);
	/* Empty, NULL, or longer than anything hashed: 0. */
	assert_int_equal(pass_verify(h, "", 0), 0);
	assert_int_equal(pass_verify(h, NULL, 0), 0);
	assert_int_equal(pass_verify(h, NULL, 8), 0);
	memset(big, 'a', sizeof(big));
	assert_int_equal(pass_verify(h, big, sizeof(big)), 0);
	/* No hash, or another one. */
	assert_int_equal(pass_verify(NULL, pass1, strlen(pass1)), 0);
	assert_int_equal(pass_verify("", pass1, strlen(pass1)), 0);
	assert_int_equal(pass_hash("something else", 14, h2, sizeof(h2)),
	    RP_OK);
	assert_int_equal(pass_verify(h2, pass1, strlen(pass1)), 0);
	/* UTF-8 round trip. */
	assert_int_equal(pass_hash(utf8, strlen(utf8), h2, sizeof(h2)),
	    RP_OK);
	assert_int_equal(pass_verify(h2, utf8, strlen(utf8)), 1);
}

/* Every prefix of a good hash is refused, some by the format check and
 * the rest by libargon2 (a shorter hash is another hash). */
static void
test_verify_truncated(void **state)
{
	char	 h[RP_PASS_HASH_MAX], cut[RP_PASS_HASH_MAX];
	size_t	 len, i;

	(void)state;
	assert_int_equal(pass_hash(pass1, strlen(pass1), h, sizeof(h)),
	    RP_OK);
	len = strlen(h);
	for (i = 0; i < len; i += (i < len - 12 ? 7 : 1)) {
		memcpy(cut, h, i);
		cut[i] = '\0';
		if (pass_verify(cut, pass1, strlen(pass1)) != 0)
			fail_msg("a hash cut to %zu of %zu bytes verified", i,
			    len);
	}
	/* One character of the hash changed. */
	memcpy(cut, h, len + 1);
	cut[len - 3] = cut[len - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(pass_verify(cut, pass1, strlen(pass1)), 0);
}

/*
 * Hashes libargon2 itself would accept for this passphrase but this
 * program must not: Argon2i and Argon2d, and Argon2id below the
 * minimum cost.
 */
static void
test_verify_other_variants(void **state)
{
	static const unsigned char	 salt[16] = "0123456789abcdef";
	char				 h[RP_PASS_HASH_MAX];

	(void)state;
	assert_int_equal(argon2i_hash_encoded(2, 19456, 1, pass1,
	    strlen(pass1), salt, sizeof(salt), 32, h, sizeof(h)), ARGON2_OK);
	assert_int_equal(strncmp(h, "$argon2i$", 9), 0);
	assert_int_equal(argon2i_verify(h, pass1, strlen(pass1)), ARGON2_OK);
	assert_int_equal(pass_verify(h, pass1, strlen(pass1)), 0);

	assert_int_equal(argon2d_hash_encoded(2, 19456, 1, pass1,
	    strlen(pass1), salt, sizeof(salt), 32, h, sizeof(h)), ARGON2_OK);
	assert_int_equal(pass_verify(h, pass1, strlen(pass1)), 0);

	assert_int_equal(argon2id_hash_encoded(1, 8, 1, pass1,
	    strlen(pass1), salt, sizeof(salt), 32, h, sizeof(h)), ARGON2_OK);
	assert_int_equal(argon2id_verify(h, pass1, strlen(pass1)), ARGON2_OK);
	assert_int_equal(pass_verify(h, pass1, strlen(pass1)), 0);

	/* The same, at an accepted cost: now it verifies. */
	assert_int_equal(argon2id_hash_encoded(2, 19456, 1, pass1,
	    strlen(pass1), salt, sizeof(salt), 32, h, sizeof(h)), ARGON2_OK);
	assert_int_equal(pass_verify(h, pass1, strlen(pass1)), 1);
}

/*
 * The dummy verification costs about what a real one does, whatever it
 * is given.  The bound is loose: it catches a dummy that does no work,
 * not a few per cent.
 */
static void
test_dummy(void **state)
{
	char	 h[RP_PASS_HASH_MAX], big[2000];
	double	 t0, real = 1e9, dummy = 1e9, d;
	int	 i;

	(void)state;
	memset(big, 'b', sizeof(big));
	assert_int_equal(pass_hash(pass1, strlen(pass1), h, sizeof(h)),
	    RP_OK);
	pass_verify_dummy(pass1, strlen(pass1));	/* makes the dummy */
	pass_verify_dummy(NULL, 0);
	pass_verify_dummy("", 0);
	pass_verify_dummy(big, sizeof(big));
	for (i = 0; i < 3; i++) {
		t0 = mono();
		(void)pass_verify(h, "wrong passphrase", 16);
		if ((d = mono() - t0) < real)
			real = d;
		t0 = mono();
		pass_verify_dummy("wrong passphrase", 16);
		if ((d = mono() - t0) < dummy)
			dummy = d;
	}
	if (dummy < real / 3 || dummy > real * 3)
		fail_msg("dummy %.4fs, real %.4fs", dummy, real);
	/* After a change of cost the dummy follows it. */
	assert_int_equal(pass_cost_set(19456, 6, 1), RP_OK);
	pass_verify_dummy(pass1, strlen(pass1));	/* makes it again */
	t0 = mono();
	pass_verify_dummy(pass1, strlen(pass1));
	d = mono() - t0;
	if (d < dummy * 1.5)
		fail_msg("t=6 dummy %.4fs, t=2 dummy %.4fs", d, dummy);
}

/*
 * A stored hash is due for a new one exactly when it is valid and its
 * memory, passes or lanes differ from the current setting.
 */
static void
test_rehash_due(void **state)
{
	char	 def[RP_PASS_HASH_MAX], other[RP_PASS_HASH_MAX];

	(void)state;
	assert_int_equal(pass_hash(pass1, strlen(pass1), def, sizeof(def)),
	    RP_OK);
	assert_int_equal(pass_rehash_due(def), 0);
	assert_int_equal(pass_cost_set(20480, 2, 1), RP_OK);
	assert_int_equal(pass_rehash_due(def), 1);
	assert_int_equal(pass_hash(pass1, strlen(pass1), other,
	    sizeof(other)), RP_OK);
	assert_int_equal(pass_rehash_due(other), 0);
	/* Passes alone, lanes alone. */
	assert_int_equal(pass_cost_set(20480, 3, 1), RP_OK);
	assert_int_equal(pass_rehash_due(other), 1);
	assert_int_equal(pass_cost_set(20480, 2, 2), RP_OK);
	assert_int_equal(pass_rehash_due(other), 1);
	assert_int_equal(pass_cost_set(19456, 2, 1), RP_OK);
	assert_int_equal(pass_rehash_due(def), 0);
	assert_int_equal(pass_rehash_due(other), 1);
	/* Nothing that is not a valid hash is ever due. */
	assert_int_equal(pass_rehash_due(NULL), 0);
	assert_int_equal(pass_rehash_due(""), 0);
	assert_int_equal(pass_rehash_due("$argon2id$v=19$m=4096,t=2,p=1$"
	    "c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A"), 0);
	assert_int_equal(pass_rehash_due("$argon2i$v=19$m=20480,t=2,p=1$"
	    "c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A"), 0);
}

/*
 * Start-up makes the dummy hash with pass_dummy_init() and learns of a
 * failure to make it (the program then refuses to start); a later call
 * tries again.
 */
static void
test_dummy_init(void **state)
{
	char		 h[RP_PASS_HASH_MAX];
	unsigned int	 ms = 99;

	(void)state;
	/* A new cost throws the old dummy away. */
	assert_int_equal(pass_cost_set(19456, 3, 1), RP_OK);
	pass_fault_next();
	assert_int_equal(pass_dummy_init(), RP_ERR_INTERNAL);
	assert_int_equal(pass_dummy_init(), RP_OK);
	/* Made: nothing more to fail. */
	pass_fault_next();
	assert_int_equal(pass_dummy_init(), RP_OK);
	/* Consume the armed fault, so that no later test meets it. */
	assert_int_equal(pass_hash(pass1, strlen(pass1), h, sizeof(h)),
	    RP_ERR_INTERNAL);
	assert_string_equal(h, "");
	/* The floor measurement needs the dummy and reports its failure. */
	assert_int_equal(pass_cost_set(19456, 4, 1), RP_OK);
	pass_fault_next();
	assert_int_equal(pass_floor_ms(&ms), RP_ERR_INTERNAL);
	assert_int_equal(ms, 0);
}

/*
 * The automatic floor is about 1.5 times a dummy verification: above
 * one (every unknown serial, every wrong passphrase of the current cost
 * fits under it), and not absurdly far above it.
 */
static void
test_floor_ms(void **state)
{
	unsigned int	 ms = 0, ms6 = 0;
	double		 t0, d = 1e9, x;
	int		 i;

	(void)state;
	assert_int_equal(pass_dummy_init(), RP_OK);
	assert_int_equal(pass_floor_ms(&ms), RP_OK);
	for (i = 0; i < 3; i++) {
		t0 = mono();
		pass_verify_dummy("wrong passphrase", 16);
		if ((x = mono() - t0) < d)
			d = x;
	}
	d *= 1000;
	if (ms < 1 || (double)ms < d * 1.2 || (double)ms > d * 20 + 100)
		fail_msg("floor %u ms, dummy %.2f ms", ms, d);
	/* It follows the cost: ten times the work, so that a busy machine
	 * cannot make the ratio fall below 2 (t=6 against t=2 once did). */
	assert_int_equal(pass_cost_set(4 * 19456, 5, 1), RP_OK);
	assert_int_equal(pass_floor_ms(&ms6), RP_OK);
	if ((double)ms6 < (double)ms * 2)
		fail_msg("10x floor %u ms, t=2 floor %u ms", ms6, ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cost_bounds, reset_cost),
		cmocka_unit_test_teardown(test_hash_uses_cost, reset_cost),
		cmocka_unit_test_teardown(test_verify, reset_cost),
		cmocka_unit_test_teardown(test_verify_truncated, reset_cost),
		cmocka_unit_test_teardown(test_verify_other_variants,
		    reset_cost),
		cmocka_unit_test_teardown(test_dummy, reset_cost),
		cmocka_unit_test_teardown(test_rehash_due, reset_cost),
		cmocka_unit_test_teardown(test_dummy_init, reset_cost),
		cmocka_unit_test_teardown(test_floor_ms, reset_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
