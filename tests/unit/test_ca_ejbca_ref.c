/*
 * The EJBCA driver (cgi/ca_ejbca.c) against EJBCA's published REST
 * reference (tests/unit/unit_ejbca_ref.h says which file): every path,
 * method, query parameter and reason word the driver uses is in it, and
 * every required parameter of those calls is one the driver sends.  The
 * driver names them once and gives them to this test (ejbca_ref_call(),
 * ejbca_ref_word()), so a typo in the driver fails here.  The contract
 * server is held to the same reference by test_ca_ejbca_contract.c.
 */
#include "unit.h"
#include "unit_ejbca_ref.h"

int		 ejbca_ref_call(unsigned int, const char **, const char **,
		    const char **, const char **, const char **);
const char	*ejbca_ref_word(unsigned int);
int		 ejbca_ref_enroll(const char **, const char **, const char **);
int		 ejbca_ref_field(int, unsigned int, const char **,
		    const char **);

/* Reads the whole file at path into a new buffer (*len bytes), or NULL. */
static char *
slurp(const char *path, size_t *len)
{
	char	 why[128];

	return rp_read_file(path, 1024 * 1024, len, why, sizeof(why));
}

/*
 * The copy in the repository is the shared reference, byte for byte,
 * when the shared tree is there (it is beside the repository in the
 * development tree, and maybe not in CI: then the copy stands alone).
 */
static void
test_copy_is_the_reference(void **state)
{
	char	*a, *b;
	size_t	 alen, blen;

	(void)state;
	assert_non_null(a = slurp(UREF_DEFAULT, &alen));
	if ((b = slurp(UREF_SHARED, &blen)) == NULL) {
		print_message("no %s here: the copy stands alone\n",
		    UREF_SHARED);
		free(a);
		return;
	}
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
}

/*
 * Each call of the driver: its path (the server's base, the certificate
 * resource, {issuer_dn}/{certificate_serial_number}, its operation) is a
 * path of the reference with that method; the issuer and serial are its
 * path parameters; its query parameter is one of the operation's; and
 * the operation requires nothing else.
 */
static void
test_calls_in_reference(void **state)
{
	const char	*server, *resource, *method, *op, *query, *name;
	json_t		*ref, *o, *p, *v;
	char		 path[256], lower[8];
	unsigned int	 i;
	size_t		 k;
	int		 n, found;

	(void)state;
	ref = uref_load();
	for (i = 0; ejbca_ref_call(i, &server, &resource, &method, &op,
	    &query); i++) {
		found = 0;
		json_array_foreach(json_object_get(ref, "servers"), k, v)
			if (json_is_string(json_object_get(v, "url")) &&
			    strcmp(json_string_value(json_object_get(v, "url")),
			    server) == 0)
				found = 1;
		if (!found)
			fail_msg("server %s is not in the reference", server);
		n = snprintf(path, sizeof(path), "%s{issuer_dn}/"
		    "{certificate_serial_number}/%s", resource, op);
		assert_true(n > 0 && (size_t)n < sizeof(path));
		for (k = 0; method[k] != '\0' && k + 1 < sizeof(lower); k++)
			lower[k] = (char)tolower((unsigned char)method[k]);
		lower[k] = '\0';
		print_message("%s %s%s%s%s\n", method, server, path,
		    query != NULL ? "?" : "", query != NULL ? query : "");
		if ((o = uref_op(ref, path, lower)) == NULL)
			fail_msg("%s %s is not in the reference", method, path);
		assert_non_null(p = uref_param(o, "issuer_dn"));
		assert_string_equal(json_string_value(json_object_get(p, "in")),
		    "path");
		assert_non_null(p = uref_param(o, "certificate_serial_number"));
		assert_string_equal(json_string_value(json_object_get(p, "in")),
		    "path");
		if (query != NULL) {
			if ((p = uref_param(o, query)) == NULL)
				fail_msg("%s %s has no parameter %s", method,
				    path, query);
			assert_string_equal(json_string_value(
			    json_object_get(p, "in")), "query");
		}
		json_array_foreach(json_object_get(o, "parameters"), k, p) {
			if (!json_is_true(json_object_get(p, "required")))
				continue;
			name = json_string_value(json_object_get(p, "name"));
			assert_non_null(name);
			if (strcmp(name, "issuer_dn") != 0 &&
			    strcmp(name, "certificate_serial_number") != 0 &&
			    (query == NULL || strcmp(name, query) != 0))
				fail_msg("%s %s requires %s, which the driver "
				    "does not send", method, path, name);
		}
	}
	/* The revoke and the status call, nothing else. */
	assert_int_equal(i, 2);
	json_decref(ref);
}

/*
 * Every reason word the driver sends or reads back is one the reference
 * lists for the revoke call, and every word listed (but NOT_REVOKED, a
 * status and no reason to revoke with) is one the driver knows, so any
 * status EJBCA reports is understood.  A word that is not listed is
 * told apart (the list is read, not guessed).
 */
static void
test_reason_words(void **state)
{
	char		 words[UREF_WORDS_MAX][UREF_WORD_LEN];
	json_t		*ref;
	const char	*w;
	size_t		 n, i;
	unsigned int	 r, known = 0;
	int		 found;

	(void)state;
	ref = uref_load();
	n = uref_reasons(ref, words, UREF_WORDS_MAX);
	assert_int_equal(n, 11);
	assert_true(uref_has(words, n, "NOT_REVOKED"));
	assert_false(uref_has(words, n, "KEY_COMPROMISED"));
	assert_false(uref_has(words, n, "RFC"));
	for (r = 0; r < REASON__MAX + 2; r++) {
		if ((w = ejbca_ref_word(r)) == NULL)
			continue;
		known++;
		if (!uref_has(words, n, w))
			fail_msg("the driver's word %s (reason %u) is not in "
			    "the reference", w, r);
	}
	/* Every RFC 5280 value but 7, which has no name. */
	assert_int_equal(known, REASON__MAX - 1);
	assert_null(ejbca_ref_word(7));
	assert_null(ejbca_ref_word(REASON__MAX));
	for (i = 0; i < n; i++) {
		if (strcmp(words[i], "NOT_REVOKED") == 0)
			continue;
		found = 0;
		for (r = 0; r < REASON__MAX; r++)
			if ((w = ejbca_ref_word(r)) != NULL &&
			    strcmp(w, words[i]) == 0)
				found = 1;
		if (!found)
			fail_msg("the reference's word %s is unknown to the "
			    "driver", words[i]);
	}
	json_decref(ref);
}

/*
 * The schema a "$ref" of op's request body (response 0) or of its answer
 * response (response 1) names, resolved in ref; NULL when there is none.
 */
static json_t *
schema_of(json_t *ref, json_t *op, int response, const char *code)
{
	json_t		*c;
	const char	*r;

	if (response)
		c = json_object_get(json_object_get(json_object_get(op,
		    "responses"), code), "content");
	else
		c = json_object_get(json_object_get(op, "requestBody"),
		    "content");
	r = json_string_value(json_object_get(json_object_get(
	    json_object_get(c, "application/json"), "schema"), "$ref"));
	if (r == NULL || strncmp(r, "#/components/schemas/", 21) != 0)
		return NULL;
	return json_object_get(json_object_get(json_object_get(ref,
	    "components"), "schemas"), r + 21);
}

/*
 * The enrolment of a recovery: its path and method are the reference's,
 * a JSON body; every member the driver sends is a property of the
 * request schema with the driver's type, and every member it reads a
 * property of the answer's schema with that type.  A name the schema
 * lacks is told apart.
 */
static void
test_enroll_in_reference(void **state)
{
	const char	*server, *path, *method, *name, *type;
	json_t		*ref, *op, *req, *ans, *prop;
	char		 lower[8];
	unsigned int	 i;
	size_t		 k;
	int		 r;

	(void)state;
	ref = uref_load();
	assert_int_equal(ejbca_ref_enroll(&server, &path, &method), 1);
	assert_string_equal(server, json_string_value(json_object_get(
	    json_array_get(json_object_get(ref, "servers"), 0), "url")));
	for (k = 0; method[k] != '\0' && k + 1 < sizeof(lower); k++)
		lower[k] = (char)tolower((unsigned char)method[k]);
	lower[k] = '\0';
	if ((op = uref_op(ref, path, lower)) == NULL)
		fail_msg("%s %s is not in the reference", method, path);
	assert_non_null(req = schema_of(ref, op, 0, NULL));
	assert_non_null(ans = schema_of(ref, op, 1, "200"));
	assert_null(json_object_get(json_object_get(req, "properties"),
	    "userName"));
	for (r = 0; r < 2; r++) {
		for (i = 0; ejbca_ref_field(r, i, &name, &type); i++) {
			prop = json_object_get(json_object_get(r ? ans : req,
			    "properties"), name);
			if (prop == NULL)
				fail_msg("%s is not a member of the %s schema",
				    name, r ? "answer" : "request");
			assert_string_equal(json_string_value(json_object_get(
			    prop, "type")), type);
		}
		assert_int_equal(i, r ? 2 : 8);
	}
	json_decref(ref);
}

/* REVPORTAL_EJBCA_REF points the tests at another file. */
static void
test_path_overridable(void **state)
{
	(void)state;
	assert_int_equal(setenv("REVPORTAL_EJBCA_REF", "/nonexistent.json", 1),
	    0);
	assert_string_equal(uref_path(), "/nonexistent.json");
	assert_int_equal(setenv("REVPORTAL_EJBCA_REF", "", 1), 0);
	assert_string_equal(uref_path(), UREF_DEFAULT);
	assert_int_equal(unsetenv("REVPORTAL_EJBCA_REF"), 0);
	assert_string_equal(uref_path(), UREF_DEFAULT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_is_the_reference),
		cmocka_unit_test(test_calls_in_reference),
		cmocka_unit_test(test_reason_words),
		cmocka_unit_test(test_enroll_in_reference),
		/* Last: it changes the environment. */
		cmocka_unit_test(test_path_overridable),
	};

	print_message("reference: %s\n", uref_path());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
