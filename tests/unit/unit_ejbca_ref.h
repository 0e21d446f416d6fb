/*
 * EJBCA's published REST reference for the tests that hold the EJBCA
 * driver (cgi/ca_ejbca.c) and its contract server
 * (tests/contract/ejbca_server.py) to it: an excerpt of Keyfactor's
 * OpenAPI document kept in the repository, tests/contract/ejbca-rest-
 * v1-excerpt.json, a copy of /work/shared/reference/ (CI may not have
 * the shared tree; test_ca_ejbca_ref.c checks the two are the same when
 * it does).  REVPORTAL_EJBCA_REF names another file instead.  Include
 * after unit.h.
 */
#ifndef REVPORTAL_UNIT_EJBCA_REF_H
#define REVPORTAL_UNIT_EJBCA_REF_H

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define UREF_DEFAULT	"tests/contract/ejbca-rest-v1-excerpt.json"
#define UREF_SHARED	"../shared/reference/ejbca-rest-v1-excerpt.json"
#define UREF_WORDS_MAX	32u	/* reason words in the reference */
#define UREF_WORD_LEN	32u

/* The path of the reference the tests read. */
static inline const char *
uref_path(void)
{
	const char	*p = getenv("REVPORTAL_EJBCA_REF");

	return p != NULL && p[0] != '\0' ? p : UREF_DEFAULT;
}

/* Loads the reference; fails the test when it cannot.  json_decref() it. */
static inline json_t *
uref_load(void)
{
	json_error_t	 je;
	json_t		*j;

	if ((j = json_load_file(uref_path(), JSON_REJECT_DUPLICATES, &je)) ==
	    NULL)
		fail_msg("%s:%d: %s", uref_path(), je.line, je.text);
	if (!json_is_object(json_object_get(j, "paths")))
		fail_msg("%s: no \"paths\" object", uref_path());
	return j;
}

/*
 * The operation of method (lower case, as OpenAPI writes it) on the path
 * template path, or NULL.  Borrowed from ref.
 */
static inline json_t *
uref_op(json_t *ref, const char *path, const char *method)
{
	return json_object_get(json_object_get(json_object_get(ref, "paths"),
	    path), method);
}

/* The parameter name of op, or NULL.  Borrowed. */
static inline json_t *
uref_param(json_t *op, const char *name)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(json_object_get(op, "parameters"), i, p)
		if (json_is_string(json_object_get(p, "name")) &&
		    strcmp(json_string_value(json_object_get(p, "name")),
		    name) == 0)
			return p;
	return NULL;
}

/*
 * Reads the reason words the reference lists for the revoke call's
 * "reason" parameter ("One of NOT_REVOKED, UNSPECIFIED ,KEY_COMPROMISE,
 * ... AA_COMPROMISE", up to the blank line) into words.  Returns how
 * many; fails the test when the text is not there or not such a list.
 */
static inline size_t
uref_reasons(json_t *ref, char words[][UREF_WORD_LEN], size_t max)
{
	json_t		*p;
	const char	*d, *s, *end;
	size_t		 n = 0, len;

	p = uref_param(uref_op(ref, "/v1/certificate/{issuer_dn}/"
	    "{certificate_serial_number}/revoke", "put"), "reason");
	if (p == NULL || !json_is_string(json_object_get(p, "description")))
		fail_msg("the revoke call has no described reason");
	d = json_string_value(json_object_get(p, "description"));
	if ((s = strstr(d, "One of")) == NULL)
		fail_msg("the reason's description lists no words");
	s += strlen("One of");
	if ((end = strstr(s, "\n\n")) == NULL &&
	    (end = strstr(s, "\n \n")) == NULL)
		end = s + strlen(s);
	while (s < end) {
		while (s < end && (isspace((unsigned char)*s) || *s == ','))
			s++;
		for (len = 0; s + len < end && (isupper((unsigned char)s[len])
		    || s[len] == '_'); len++)
			continue;
		if (len == 0) {
			if (s < end)
				fail_msg("unexpected '%c' in the reason list",
				    *s);
			break;
		}
		if (n == max || len >= UREF_WORD_LEN)
			fail_msg("too many or too long reason words");
		memcpy(words[n], s, len);
		words[n++][len] = '\0';
		s += len;
	}
	return n;
}

/* Returns 1 when word is one of words[0..n). */
static inline int
uref_has(char words[][UREF_WORD_LEN], size_t n, const char *word)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(words[i], word) == 0)
			return 1;
	return 0;
}

#endif /* REVPORTAL_UNIT_EJBCA_REF_H */
