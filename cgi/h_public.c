/*
 * Subscriber pages and the passphrase API (being written).
 */
#include "extern.h"

/* Not yet: answers 404. */
enum rp_err
h_suspend_form(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_suspend_post(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_request_page(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_api_request_post(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_api_request_get(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}
