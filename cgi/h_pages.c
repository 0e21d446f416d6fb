/*
 * The public pages that need nothing but the configuration.
 */
#include "extern.h"

/* GET /: what this portal does, the four actions, the hotline. */
enum rp_err
h_landing(struct req *req)
{
	json_t		*ctx;
	enum rp_err	 e;

	if ((ctx = json_pack("{s:s}", "title",
	    "Revoke or suspend a certificate")) == NULL)
		return RP_ERR_NOMEM;
	e = resp_html(req, 200, TMPL_LANDING, ctx);
	json_decref(ctx);
	return e;
}
