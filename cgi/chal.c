/*
 * Request documents and their nonces: see extern.h.  Being written
 * (issue 6).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

enum rp_err
chal_issue(struct db *db, const struct config *cfg, const struct chal_new *n,
    struct challenge *out, struct rp_errinfo *ei)
{
	(void)db;
	(void)cfg;
	(void)n;
	memset(out, 0, sizeof(*out));
	return rp_fail(ei, RP_ERR_POLICY, "not_available",
	    "signed requests are not available yet");
}

enum rp_err
chal_get(struct db *db, const char *public_id, struct challenge *out)
{
	(void)db;
	(void)public_id;
	memset(out, 0, sizeof(*out));
	return RP_ERR_NOT_FOUND;
}

enum rp_err
chal_use(struct db *db, int64_t id, int64_t now, struct rp_errinfo *ei)
{
	(void)db;
	(void)id;
	(void)now;
	return rp_fail(ei, RP_ERR_CONFLICT, "used", "not available");
}

void
chal_free(struct challenge *c)
{
	if (c == NULL)
		return;
	free(c->document);
	free(c->csr_pem);
	c->document = c->csr_pem = NULL;
}
