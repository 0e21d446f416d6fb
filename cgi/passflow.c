/*
 * Passphrase checks, the per-client rate limit and idempotency records
 * (being written).
 */
#include "extern.h"

/* Not yet: refuses every passphrase. */
enum rp_err
pf_check(struct db *db, const struct config *cfg, const char *issuer,
    const char *serial, const char *token, const char *pass, size_t len,
    const char *actor, int64_t now, struct pf_target *t,
    struct rp_errinfo *ei)
{
	(void)db; (void)cfg; (void)issuer; (void)serial; (void)token;
	(void)pass; (void)len; (void)actor; (void)now; (void)t;
	return rp_fail(ei, RP_ERR_AUTH, "auth_failed", "Not yet.");
}

/* Not yet: limits nothing. */
enum rp_err
pf_rate(struct db *db, const struct config *cfg, const char *client,
    int64_t now, unsigned int *retry_after, struct rp_errinfo *ei)
{
	(void)db; (void)cfg; (void)client; (void)now; (void)ei;
	*retry_after = 0;
	return RP_OK;
}
