/*
 * The hotline console and the officer queue (being written).
 */
#include "extern.h"

/* Not yet: answers 404. */
enum rp_err
h_agent(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_agent_cert(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_agent_verify(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_agent_act(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_agent_request(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_officer(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_officer_request(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_officer_retry(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}

/* Not yet: answers 404. */
enum rp_err
h_officer_reject(struct req *req)
{
	return rp_fail(&req->err, RP_ERR_NOT_FOUND, "not_found", "Not yet.");
}
