/*
 * Signed requests and approvals, the API calls.  Being written (issue 6).
 */
#include <stdint.h>
#include <stdlib.h>

#include "extern.h"

static enum rp_err
h_sign_not_yet(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_POLICY, "not_available",
	    "signed requests are not available yet");
}

enum rp_err
h_api_challenge_post(struct req *req)
{
	return h_sign_not_yet(req);
}

enum rp_err
h_api_approval_post(struct req *req)
{
	return h_sign_not_yet(req);
}

enum rp_err
h_api_signed_request(struct req *req)
{
	return h_sign_not_yet(req);
}
