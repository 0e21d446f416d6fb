/*
 * Tests of dom.c's words for people: the actions as nouns, the reasons a
 * subscriber may give and the list of them a form offers.  (The names of
 * the enums are tested with the policy that reads them, test_policy.c.)
 */
#include "unit.h"

static void
test_action_noun(void **state)
{
	(void)state;
	assert_string_equal(dom_action_noun(ACT_REVOKE), "Revocation");
	assert_string_equal(dom_action_noun(ACT_SUSPEND), "Suspension");
	assert_string_equal(dom_action_noun(ACT_REACTIVATE), "Reactivation");
	assert_string_equal(dom_action_noun(ACT_RECOVER), "Recovery");
	assert_null(dom_action_noun(ACT__MAX));
	assert_null(dom_action_noun((enum action)-1));
}

/* DESIGN §2's words, the RFC 5280 name for the others, "-" for none. */
static void
test_reason_words(void **state)
{
	(void)state;
	assert_string_equal(dom_reason_words(REASON_UNSPECIFIED),
	    "No reason given");
	assert_non_null(strstr(dom_reason_words(REASON_KEY_COMPROMISE),
	    "lost or stolen"));
	assert_non_null(strstr(dom_reason_words(REASON_AFFILIATION_CHANGED),
	    "left the organisation"));
	assert_non_null(strstr(dom_reason_words(REASON_SUPERSEDED),
	    "new certificate"));
	assert_non_null(strstr(dom_reason_words(REASON_CESSATION),
	    "no longer needed"));
	assert_string_equal(dom_reason_words(REASON_CA_COMPROMISE),
	    "cACompromise");
	assert_string_equal(dom_reason_words(REASON_HOLD), "certificateHold");
	assert_string_equal(dom_reason_words(REASON_AA_COMPROMISE),
	    "aACompromise");
	assert_string_equal(dom_reason_words((enum crl_reason)7), "-");
	assert_string_equal(dom_reason_words(REASON__MAX), "-");
	assert_string_equal(dom_reason_words((enum crl_reason)-1), "-");
}

/*
 * Writes the reasons' names of the choices of offered with chosen into
 * out, joined by ',', the chosen one marked '*'.
 */
static void
choices(unsigned int offered, enum crl_reason chosen, char *out,
    size_t outsz)
{
	json_t		*list, *o;
	const char	*value, *words;
	size_t		 i, len = 0;
	int		 sel, n;

	assert_non_null(list = dom_reason_choices(offered, chosen));
	assert_true(json_is_array(list));
	out[0] = '\0';
	json_array_foreach(list, i, o) {
		assert_int_equal(json_unpack(o, "{s:s, s:s, s:b}",
		    "value", &value, "words", &words, "selected", &sel), 0);
		assert_int_equal(json_object_size(o), 3);
		assert_string_equal(words,
		    dom_reason_words(dom_reason_parse(value)));
		n = snprintf(out + len, outsz - len, "%s%s%s", i > 0 ? "," : "",
		    value, sel ? "*" : "");
		assert_true(n > 0 && (size_t)n < outsz - len);
		len += (size_t)n;
	}
	json_decref(list);
}

static void
test_reason_choices(void **state)
{
	char	 s[256];

	(void)state;
	/* Nothing offered: "unspecified" alone, always. */
	choices(0, REASON_UNSPECIFIED, s, sizeof(s));
	assert_string_equal(s, "unspecified*");
	/* Everything: only the five with words, in RFC 5280 order. */
	choices(~0u, REASON_SUPERSEDED, s, sizeof(s));
	assert_string_equal(s, "unspecified,keyCompromise,"
	    "affiliationChanged,superseded*,cessationOfOperation");
	/* A subset; a chosen reason not offered is not selected. */
	choices(REASON_BIT(REASON_KEY_COMPROMISE) |
	    REASON_BIT(REASON_CESSATION), REASON_SUPERSEDED, s, sizeof(s));
	assert_string_equal(s, "unspecified,keyCompromise,"
	    "cessationOfOperation");
	/* certificateHold and cACompromise are never offered. */
	choices(REASON_BIT(REASON_HOLD) | REASON_BIT(REASON_CA_COMPROMISE),
	    REASON_HOLD, s, sizeof(s));
	assert_string_equal(s, "unspecified");
	/* An unknown choice (the form's unparsable reason) selects none. */
	choices(REASON_BIT(REASON_KEY_COMPROMISE), REASON__MAX, s, sizeof(s));
	assert_string_equal(s, "unspecified,keyCompromise");
	choices(REASON_BIT(REASON_KEY_COMPROMISE), REASON_KEY_COMPROMISE, s,
	    sizeof(s));
	assert_string_equal(s, "unspecified,keyCompromise*");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_noun),
		cmocka_unit_test(test_reason_words),
		cmocka_unit_test(test_reason_choices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
