/*
 * A recovery's PKCS#10 request: see extern.h.  Being written (issue 6).
 */
#include <stdint.h>
#include <stdlib.h>

#include "extern.h"

enum rp_err
csr_check(const char *pem, size_t len, const char *old_cert_pem,
    char sha256[65], struct rp_errinfo *ei)
{
	(void)pem;
	(void)len;
	(void)old_cert_pem;
	sha256[0] = '\0';
	return rp_fail(ei, RP_ERR_POLICY, "not_available",
	    "recovery is not available yet");
}
