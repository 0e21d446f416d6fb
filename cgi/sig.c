/*
 * Signed requests, DESIGN §3 steps 1 to 4: see extern.h.  Being written
 * (issue 6); until then every signature is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

const char *
sig_why_name(enum sig_why w)
{
	return w == SIG_OK ? "ok" : "internal";
}

struct sig_ctx *
sig_ctx_new(const char *anchors_dir, int require_qscd, char *err,
    size_t errlen)
{
	(void)anchors_dir;
	(void)require_qscd;
	(void)snprintf(err, errlen, "signed requests are not built yet");
	return NULL;
}

void
sig_ctx_free(struct sig_ctx *c)
{
	(void)c;
}

enum sig_why
sig_verify(const struct sig_ctx *c, const void *sig, size_t siglen,
    const char *doc, size_t doclen, int64_t now, struct signer *out)
{
	(void)c;
	(void)sig;
	(void)siglen;
	(void)doc;
	(void)doclen;
	(void)now;
	memset(out, 0, sizeof(*out));
	return SIG_INTERNAL;
}

void
sig_signer_free(struct signer *s)
{
	(void)s;
}
