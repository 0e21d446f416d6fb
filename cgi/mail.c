/*
 * E-mail about requests: see extern.h.  Being written (issue 6); until
 * then no message is queued.
 */
#include <stdint.h>
#include <stdlib.h>

#include "extern.h"

enum rp_err
mail_event(struct db *db, int64_t request_row, const char *event,
    int64_t now, struct rp_errinfo *ei)
{
	(void)db;
	(void)request_row;
	(void)event;
	(void)now;
	(void)ei;
	return RP_OK;
}

enum rp_err
mail_run(struct db *db, const struct config *cfg, int64_t now,
    unsigned int *sent, struct rp_errinfo *ei)
{
	(void)db;
	(void)cfg;
	(void)now;
	(void)ei;
	*sent = 0;
	return RP_OK;
}
