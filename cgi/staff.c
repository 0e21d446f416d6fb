/*
 * Staff accounts by client certificate (being written).
 */
#include "extern.h"

/* Not yet: refuses everyone. */
enum rp_err
staff_auth(struct req *req, unsigned int role, struct staff_who *w)
{
	(void)role; (void)w;
	return rp_fail(&req->err, RP_ERR_FORBIDDEN, "staff_denied",
	    "Not yet.");
}
