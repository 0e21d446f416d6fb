/*
 * A signed request from its challenge to the lifecycle: see extern.h.
 * Being written (issue 6).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

enum rp_err
sf_challenge(struct req *req, const struct chal_new *n,
    struct challenge *out)
{
	return chal_issue(req->db, req->cfg, n, out, &req->err);
}

enum rp_err
sf_submit(struct req *req, const struct sf_in *in, struct sf_out *out)
{
	(void)in;
	memset(out, 0, sizeof(*out));
	out->why = SIG_INTERNAL;
	return rp_fail(&req->err, RP_ERR_POLICY, "not_available",
	    "signed requests are not available yet");
}

enum rp_err
sf_session_make(const unsigned char *secret, int64_t person, int64_t now,
    char *out, size_t outsz)
{
	(void)secret;
	(void)person;
	(void)now;
	if (outsz > 0)
		out[0] = '\0';
	return RP_ERR_INTERNAL;
}

int64_t
sf_session_check(const unsigned char *secret, const char *cookie,
    int64_t now)
{
	(void)secret;
	(void)cookie;
	(void)now;
	return 0;
}
