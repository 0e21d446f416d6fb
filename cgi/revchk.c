/*
 * Signed requests, DESIGN §3 step 5: see extern.h.  Being written
 * (issue 6); until then every signer counts as unchecked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "extern.h"

struct rev_ctx *
rev_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)snprintf(err, errlen, "revocation checks are not built yet");
	return NULL;
}

void
rev_ctx_free(struct rev_ctx *c)
{
	(void)c;
}

enum sig_why
rev_check(struct rev_ctx *c, struct db *db, const struct signer *s,
    int64_t now)
{
	(void)c;
	(void)db;
	(void)s;
	(void)now;
	return SIG_REV_UNAVAILABLE;
}
