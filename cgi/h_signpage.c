/*
 * Signed requests and approvals, the pages.  Being written (issue 6).
 */
#include <stdint.h>
#include <stdlib.h>

#include "extern.h"

static enum rp_err
hp_not_yet(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found",
	    "not available yet");
}

enum rp_err
h_sign_form(struct req *req)
{
	return hp_not_yet(req);
}

enum rp_err
h_sign_start(struct req *req)
{
	return hp_not_yet(req);
}

enum rp_err
h_sign_page(struct req *req)
{
	return hp_not_yet(req);
}

enum rp_err
h_sign_document(struct req *req)
{
	return hp_not_yet(req);
}

enum rp_err
h_sign_submit(struct req *req)
{
	return hp_not_yet(req);
}

enum rp_err
h_approvals(struct req *req)
{
	return hp_not_yet(req);
}

enum rp_err
h_approval_page(struct req *req)
{
	return hp_not_yet(req);
}
