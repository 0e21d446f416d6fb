/*
 * The public pages that need nothing but the configuration (and the
 * policy in it).
 */
#include "extern.h"

/*
 * GET /: what this portal does, the four actions, the hotline.  Every
 * number and rule it states comes from the policy.
 */
enum rp_err
h_landing(struct req *req)
{
	const struct policy	*p = &req->cfg->policy;
	json_t			*ctx;
	enum rp_err		 e;

	if ((ctx = json_pack("{s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:b, s:b, "
	    "s:b, s:b, s:b, s:b}",
	    "title", "Revoke or suspend a certificate",
	    "suspend_days", (json_int_t)p->suspend_max_days,
	    "suspend_end_revoke", p->suspend_end_action == ACT_REVOKE,
	    "max_failures", (json_int_t)p->max_failures,
	    "recover_term", (json_int_t)p->recover_term_years,
	    "recover_months", (json_int_t)p->recover_window_months,
	    "renewal_days", (json_int_t)p->recover_renewal_days,
	    "fee_revoke", p->fee[ACT_REVOKE],
	    "fee_suspend", p->fee[ACT_SUSPEND],
	    "fee_reactivate", p->fee[ACT_REACTIVATE],
	    "fee_recover", p->fee[ACT_RECOVER],
	    "online_revoke", p->online_revoke,
	    "hotline_revokes", p->hotline_action == ACT_REVOKE)) == NULL)
		return RP_ERR_NOMEM;
	e = resp_html(req, 200, TMPL_LANDING, ctx);
	json_decref(ctx);
	return e;
}
