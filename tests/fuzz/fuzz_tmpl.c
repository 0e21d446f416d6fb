/*
 * libFuzzer target for the template parser and renderer.  The input is a
 * page template, parsed under a fixed layout; when it parses, it is
 * rendered with a context that has strings, numbers, booleans, nested
 * objects and arrays, so sections, lookups and escaping all run.  The
 * output must stay within its limit and never hold an unescaped '<' that
 * came from a context value.  Built with tests/fuzz/replay.c it replays
 * tests/fuzz/corpus-tmpl/ instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char layout[] = "<main>{{>page}}</main>\n";
	struct tmpl_set	*set;
	struct buf	 out;
	json_t		*ctx;
	char		*page, err[256];
	enum rp_err	 e;

	if (size > RP_TMPL_FILE_MAX)
		return 0;
	if ((page = rp_strndup(data, size)) == NULL)
		abort();
	set = tmpl_parse_mem(layout, page, err, sizeof(err));
	free(page);
	if (set == NULL) {
		/* A refusal names where: "page:LINE: ...". */
		if (strncmp(err, "page:", 5) != 0 && strncmp(err, "layout:", 7))
			abort();
		return 0;
	}
	ctx = json_pack("{s:s, s:i, s:b, s:b, s:n, s:s, s:{s:s, s:[s,s]},"
	    " s:[{s:s},{s:s}], s:[], s:f}",
	    "name", "<X&'\">", "num", 42, "yes", 1, "no", 0, "nil",
	    "empty", "", "obj", "inner", "<b>", "list", "a", "<c>",
	    "items", "v", "1<", "v", "2>", "none", "real", 1.5);
	if (ctx == NULL)
		abort();
	buf_init(&out, 64u * 1024u);
	e = tmpl_render(set, TMPL_LANDING, ctx, &out);
	if (e != RP_OK && e != RP_ERR_NOMEM && e != RP_ERR_INTERNAL)
		abort();
	if (e == RP_OK && (out.len > out.max || out.p == NULL ||
	    strncmp(out.p, "<main>", 6) != 0))
		abort();
	buf_free(&out);
	json_decref(ctx);
	tmpl_free(set);
	return 0;
}
