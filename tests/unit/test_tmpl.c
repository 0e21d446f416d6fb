/*
 * Unit tests of tmpl.c: the template parser and renderer, and the real
 * templates/ directory.
 */
#include <stdio.h>
#include <unistd.h>

#include "unit.h"

#define LAYOUT_PLAIN	"{{>page}}"

/*
 * Renders page inside LAYOUT_PLAIN with the context parsed from the JSON
 * text ctx and returns the output; the caller frees it.  Fails the test
 * when parsing or rendering fails.
 */
static char *
render_str(const char *page, const char *ctx)
{
	struct tmpl_set	*set;
	json_t		*j;
	json_error_t	 je;
	struct buf	 out;
	char		 err[256];
	char		*s;

	set = tmpl_parse_mem(LAYOUT_PLAIN, page, err, sizeof(err));
	if (set == NULL)
		fail_msg("parse: %s", err);
	j = json_loads(ctx, 0, &je);
	if (j == NULL)
		fail_msg("json: %s", je.text);
	buf_init(&out, RP_RESP_MAX);
	assert_int_equal(tmpl_render(set, TMPL_LANDING, j, &out), RP_OK);
	s = strdup(out.p == NULL ? "" : out.p);
	assert_non_null(s);
	buf_free(&out);
	json_decref(j);
	tmpl_free(set);
	return s;
}

static void
expect_render(const char *page, const char *ctx, const char *want)
{
	char	*s;

	s = render_str(page, ctx);
	assert_string_equal(s, want);
	free(s);
}

/* Renders and expects the error e, with out left empty. */
static void
expect_render_err(const char *page, const char *ctx, enum rp_err e)
{
	struct tmpl_set	*set;
	json_t		*j;
	struct buf	 out;
	char		 err[256];

	set = tmpl_parse_mem(LAYOUT_PLAIN, page, err, sizeof(err));
	assert_non_null(set);
	j = json_loads(ctx, 0, NULL);
	assert_non_null(j);
	buf_init(&out, RP_RESP_MAX);
	assert_int_equal(tmpl_render(set, TMPL_LANDING, j, &out), e);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	json_decref(j);
	tmpl_free(set);
}

/*
 * Expects parsing to fail with an error that starts with where (file and
 * line, e.g. "page:2: ") and contains what.
 */
static void
expect_parse_err(const char *layout, const char *page, const char *where,
    const char *what)
{
	struct tmpl_set	*set;
	char		 err[256];

	memset(err, 0, sizeof(err));
	set = tmpl_parse_mem(layout, page, err, sizeof(err));
	if (set != NULL) {
		tmpl_free(set);
		fail_msg("parsed, expected \"%s%s\"", where, what);
	}
	if (strncmp(err, where, strlen(where)) != 0 ||
	    strstr(err, what) == NULL)
		fail_msg("error \"%s\", expected \"%s...%s\"", err, where,
		    what);
}

static void
test_escape_all_five(void **state)
{
	(void)state;
	expect_render("<p>{{x}}</p>", "{\"x\": \"a<b>&\\\"c'd\"}",
	    "<p>a&lt;b&gt;&amp;&quot;c&#39;d</p>");
	/* Nothing to escape: unchanged. */
	expect_render("{{x}}", "{\"x\": \"plain text\"}", "plain text");
}

static void
test_raw_not_escaped(void **state)
{
	(void)state;
	expect_render("{{raw x}}|{{x}}", "{\"x\": \"<b>&</b>\"}",
	    "<b>&</b>|&lt;b&gt;&amp;&lt;/b&gt;");
	expect_render("{{  raw   x  }}", "{\"x\": \"<i>\"}", "<i>");
	/* "rawx" is a plain variable, escaped. */
	expect_render("{{rawx}}", "{\"rawx\": \"<i>\"}", "&lt;i&gt;");
}

static void
test_values(void **state)
{
	(void)state;
	expect_render("[{{i}}][{{n}}][{{r}}][{{t}}][{{f}}][{{z}}][{{missing}}]",
	    "{\"i\": 42, \"n\": -7, \"r\": 1.5, \"t\": true, \"f\": false, "
	    "\"z\": null}", "[42][-7][1.5][][][][]");
	expect_render_err("a{{o}}b", "{\"o\": {\"k\": 1}}", RP_ERR_INTERNAL);
	expect_render_err("a{{o}}b", "{\"o\": [1]}", RP_ERR_INTERNAL);
	expect_render_err("a{{raw o}}b", "{\"o\": []}", RP_ERR_INTERNAL);
}

static void
test_whitespace_comments_braces(void **state)
{
	(void)state;
	expect_render("{{ x }}{{\tx\n}}", "{\"x\": \"v\"}", "vv");
	expect_render("a{{! a comment {with} braces\n on two lines }}b",
	    "{}", "ab");
	expect_render("{ x } {x} }} a}b{", "{\"x\": \"v\"}",
	    "{ x } {x} }} a}b{");
}

static void
test_dotted_names(void **state)
{
	(void)state;
	expect_render("{{a.b.c}}|{{a.x}}|{{a.b.c.d}}|{{q.r}}",
	    "{\"a\": {\"b\": {\"c\": \"deep\"}}, \"q\": \"str\"}",
	    "deep|||");
	/* Found inside a section: the first segment from the inside. */
	expect_render("{{#a}}{{b.c}}{{/a}}",
	    "{\"a\": {\"b\": {\"c\": \"in\"}}, \"b\": {\"c\": \"out\"}}", "in");
	/* Not found inside: from the outside. */
	expect_render("{{#a}}{{b.c}}{{/a}}",
	    "{\"a\": {\"x\": 1}, \"b\": {\"c\": \"out\"}}", "out");
	/* Found inside without the rest: no fallback outwards. */
	expect_render("{{#a}}[{{b.c}}]{{/a}}",
	    "{\"a\": {\"b\": {\"x\": 1}}, \"b\": {\"c\": \"out\"}}", "[]");
}

static void
test_section_array_of_objects(void **state)
{
	(void)state;
	expect_render("<ul>{{#items}}<li>{{name}}</li>{{/items}}</ul>",
	    "{\"items\": [{\"name\": \"a\"}, {\"name\": \"<b>\"}]}",
	    "<ul><li>a</li><li>&lt;b&gt;</li></ul>");
	expect_render("<ul>{{#items}}<li>{{name}}</li>{{/items}}</ul>",
	    "{\"items\": []}", "<ul></ul>");
}

static void
test_section_object_and_scalars(void **state)
{
	(void)state;
	expect_render("{{#o}}[{{k}}]{{/o}}", "{\"o\": {\"k\": \"v\"}}", "[v]");
	expect_render("{{#o}}[x]{{/o}}", "{\"o\": {}}", "[x]");
	expect_render("{{#t}}yes{{/t}}", "{\"t\": true}", "yes");
	expect_render("{{#t}}yes{{/t}}", "{\"t\": false}", "");
	expect_render("{{#t}}yes{{/t}}", "{\"t\": null}", "");
	expect_render("{{#t}}yes{{/t}}", "{}", "");
	expect_render("{{#t}}yes{{/t}}", "{\"t\": \"\"}", "");
	expect_render("{{#t}}yes {{t}}{{/t}}", "{\"t\": \"s\"}", "yes s");
	expect_render("{{#t}}yes{{/t}}", "{\"t\": 0}", "");
	expect_render("{{#t}}yes {{t}}{{/t}}", "{\"t\": 3}", "yes 3");
}

static void
test_inverted(void **state)
{
	(void)state;
	expect_render("{{^t}}none{{/t}}", "{\"t\": []}", "none");
	expect_render("{{^t}}none{{/t}}", "{\"t\": false}", "none");
	expect_render("{{^t}}none{{/t}}", "{}", "none");
	expect_render("{{^t}}none{{/t}}", "{\"t\": 0}", "none");
	expect_render("{{^t}}none{{/t}}", "{\"t\": [1]}", "");
	expect_render("{{^t}}none{{/t}}", "{\"t\": true}", "");
	expect_render("{{^t}}none{{/t}}", "{\"t\": \"x\"}", "");
	expect_render("{{^t}}none{{/t}}", "{\"t\": {}}", "");
}

static void
test_nested_outer_lookup(void **state)
{
	(void)state;
	expect_render("{{#rows}}{{#cells}}{{v}}{{sep}}{{/cells}}{{label}};"
	    "{{/rows}}",
	    "{\"sep\": \",\", \"label\": \"outer\", \"rows\": ["
	    "{\"label\": \"r1\", \"cells\": [{\"v\": 1}, {\"v\": 2}]},"
	    "{\"cells\": [{\"v\": 3, \"sep\": \"!\"}]}]}",
	    "1,2,r1;3!outer;");
	/* Sections of the same name nest. */
	expect_render("{{#a}}{{#a}}{{x}}{{/a}}{{/a}}",
	    "{\"a\": {\"a\": {\"x\": \"in\"}, \"x\": \"mid\"}}", "in");
}

static void
test_dot_in_string_array(void **state)
{
	(void)state;
	expect_render("{{#l}}<{{.}}>{{/l}}", "{\"l\": [\"a\", \"<\", \"c\"]}",
	    "<a><&lt;><c>");
	expect_render("{{#l}}{{.}}{{/l}}", "{\"l\": [1, 2.5, true, null]}",
	    "12.5");
	/* "." on an object is an object: a template bug. */
	expect_render_err("{{#l}}{{.}}{{/l}}", "{\"l\": [{}]}",
	    RP_ERR_INTERNAL);
}

static void
test_layout_page_slot(void **state)
{
	struct tmpl_set	*set;
	json_t		*j;
	struct buf	 out;
	char		 err[256];

	(void)state;
	set = tmpl_parse_mem("<title>{{title}}</title>{{#wrap}}<main>"
	    "{{ >  page }}</main>{{/wrap}}<footer>{{hotline}}</footer>",
	    "<h1>{{title}}</h1>{{#wrap}}{{inner}}{{/wrap}}",
	    err, sizeof(err));
	if (set == NULL)
		fail_msg("%s", err);
	j = json_pack("{s:s, s:s, s:{s:s}}", "title", "T&C", "hotline", "123",
	    "wrap", "inner", "pushed");
	assert_non_null(j);
	buf_init(&out, RP_RESP_MAX);
	assert_int_equal(buf_adds(&out, "pre:"), RP_OK);
	assert_int_equal(tmpl_render(set, TMPL_ERROR, j, &out), RP_OK);
	/* The page sees the layout's section pushed; out is appended to. */
	assert_string_equal(out.p, "pre:<title>T&amp;C</title><main>"
	    "<h1>T&amp;C</h1>pushed</main><footer>123</footer>");
	/* Every page id renders; an out of range one is refused. */
	buf_reset(&out);
	assert_int_equal(tmpl_render(set, TMPL_TEST_FORM, j, &out), RP_OK);
	assert_non_null(strstr(out.p, "<h1>T&amp;C</h1>"));
	buf_reset(&out);
	assert_int_equal(tmpl_render(set, TMPL__MAX, j, &out),
	    RP_ERR_INTERNAL);
	assert_int_equal(out.len, 0);
	/* No context at all: everything empty. */
	buf_reset(&out);
	assert_int_equal(tmpl_render(set, TMPL_LANDING, NULL, &out), RP_OK);
	assert_string_equal(out.p, "<title></title><footer></footer>");
	buf_free(&out);
	json_decref(j);
	tmpl_free(set);
}

static void
test_output_limit(void **state)
{
	struct tmpl_set	*set;
	json_t		*j;
	struct buf	 out;
	char		 err[256];

	(void)state;
	set = tmpl_parse_mem(LAYOUT_PLAIN, "{{#l}}{{x}}{{/l}}", err,
	    sizeof(err));
	assert_non_null(set);
	j = json_pack("{s:s, s:[{},{},{},{}]}", "x", "&&&&", "l");
	assert_non_null(j);
	/* 4 x 20 bytes of output; 79 is one too few, 80 is enough. */
	buf_init(&out, 79);
	assert_int_equal(tmpl_render(set, TMPL_LANDING, j, &out),
	    RP_ERR_NOMEM);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	buf_init(&out, 80);
	assert_int_equal(tmpl_render(set, TMPL_LANDING, j, &out), RP_OK);
	assert_int_equal(out.len, 80);
	buf_free(&out);
	json_decref(j);
	tmpl_free(set);
}

static void
test_err_unknown_kind(void **state)
{
	(void)state;
	expect_parse_err(LAYOUT_PLAIN, "a\n{{&x}}", "page:2: ",
	    "unknown tag kind '&'");
	expect_parse_err(LAYOUT_PLAIN, "{{{x}}}", "page:1: ",
	    "unknown tag kind '{'");
	expect_parse_err(LAYOUT_PLAIN, "\n\n{{=<% %>=}}", "page:3: ",
	    "unknown tag kind '='");
	expect_parse_err(LAYOUT_PLAIN, "{{%x}}", "page:1: ",
	    "unknown tag kind '%'");
	expect_parse_err(LAYOUT_PLAIN, "{{\x01x}}", "page:1: ",
	    "unknown tag kind '\\x01'");
	expect_parse_err(LAYOUT_PLAIN, "{{<x}}", "page:1: ",
	    "unknown tag kind '<'");
	expect_parse_err("a\n{{>other}}", "x", "layout:2: ",
	    "unknown partial \"other\"");
	expect_parse_err("{{>page}}\n{{>page}}", "x", "layout:2: ",
	    "second {{>page}}");
	expect_parse_err(LAYOUT_PLAIN, "x\n{{ }}", "page:2: ", "empty tag");
	expect_parse_err(LAYOUT_PLAIN, "{{}}", "page:1: ", "empty tag");
}

static void
test_err_bad_name(void **state)
{
	(void)state;
	expect_parse_err(LAYOUT_PLAIN, "{{1x}}", "page:1: ", "bad name \"1x\"");
	expect_parse_err(LAYOUT_PLAIN, "\n{{a..b}}", "page:2: ", "bad name");
	expect_parse_err(LAYOUT_PLAIN, "{{.a}}", "page:1: ", "bad name");
	expect_parse_err(LAYOUT_PLAIN, "{{a.}}", "page:1: ", "bad name");
	expect_parse_err(LAYOUT_PLAIN, "{{a b}}", "page:1: ", "bad name");
	expect_parse_err(LAYOUT_PLAIN, "{{a-b}}", "page:1: ", "bad name");
	expect_parse_err(LAYOUT_PLAIN, "{{raw a b}}", "page:1: ", "bad name");
	expect_parse_err(LAYOUT_PLAIN, "{{#}}{{/}}", "page:1: ", "bad name");
	expect_parse_err(LAYOUT_PLAIN, "{{#a.1}}{{/a.1}}", "page:1: ",
	    "bad name");
}

static void
test_err_unclosed_tag(void **state)
{
	(void)state;
	expect_parse_err(LAYOUT_PLAIN, "a\nb {{x\n}\nc", "page:2: ",
	    "unclosed {{");
	expect_parse_err("{{>page}}{{", "x", "layout:1: ", "unclosed {{");
}

static void
test_err_sections(void **state)
{
	(void)state;
	/* Unclosed: the line where the section opened. */
	expect_parse_err(LAYOUT_PLAIN, "a\n{{#s}}\n{{#t}}{{/t}}\n\n",
	    "page:2: ", "unclosed section {{#s}}");
	expect_parse_err(LAYOUT_PLAIN, "{{^a.b}}", "page:1: ",
	    "unclosed section {{^a.b}}");
	/* Mismatched close. */
	expect_parse_err(LAYOUT_PLAIN, "{{#a}}\n\n{{/b}}", "page:3: ",
	    "{{/b}} does not close the section opened on line 1");
	expect_parse_err(LAYOUT_PLAIN, "{{#a.b}}{{/a.c}}", "page:1: ",
	    "does not close");
	expect_parse_err(LAYOUT_PLAIN, "{{#a.b}}{{/a}}", "page:1: ",
	    "does not close");
	expect_parse_err(LAYOUT_PLAIN, "{{#ab}}{{/a.b}}", "page:1: ",
	    "does not close");
	/* Close with nothing open. */
	expect_parse_err(LAYOUT_PLAIN, "x\n{{/a}}", "page:2: ",
	    "{{/a}} closes no open section");
	expect_parse_err(LAYOUT_PLAIN, "{{#a}}{{/a}}{{/a}}", "page:1: ",
	    "closes no open section");
	/* Matching dotted names close; spaces are trimmed. */
	expect_render("{{# a.b }}x{{/ a.b }}", "{\"a\": {\"b\": 1}}", "x");
}

static void
test_err_depth(void **state)
{
	char	 page[1024];
	size_t	 i, len;
	char	*s;

	(void)state;
	/* RP_TMPL_DEPTH_MAX nested sections are fine... */
	len = 0;
	for (i = 0; i < RP_TMPL_DEPTH_MAX; i++)
		len += (size_t)snprintf(page + len, sizeof(page) - len,
		    "{{#t}}");
	len += (size_t)snprintf(page + len, sizeof(page) - len, "in");
	for (i = 0; i < RP_TMPL_DEPTH_MAX; i++)
		len += (size_t)snprintf(page + len, sizeof(page) - len,
		    "{{/t}}");
	assert_true(len < sizeof(page));
	s = render_str(page, "{\"t\": true}");
	assert_string_equal(s, "in");
	free(s);
	/* ...one more is not. */
	len = 0;
	for (i = 0; i <= RP_TMPL_DEPTH_MAX; i++)
		len += (size_t)snprintf(page + len, sizeof(page) - len,
		    "{{#t}}\n");
	assert_true(len < sizeof(page));
	expect_parse_err(LAYOUT_PLAIN, page, "page:17: ",
	    "sections nested deeper than 16");
}

static void
test_err_page_slot(void **state)
{
	(void)state;
	expect_parse_err(LAYOUT_PLAIN, "a\n\n{{>page}}", "page:3: ",
	    "allowed in layout.html only");
	expect_parse_err("<html>\n</html>\n", "x", "layout:3: ",
	    "layout has no {{>page}}");
	expect_parse_err("", "x", "layout:1: ", "layout has no {{>page}}");
}

static void
test_too_large(void **state)
{
	char	*big;

	(void)state;
	big = malloc(RP_TMPL_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', RP_TMPL_FILE_MAX + 1);
	big[RP_TMPL_FILE_MAX + 1] = '\0';
	expect_parse_err(LAYOUT_PLAIN, big, "page:1: ", "larger than");
	/* Exactly the maximum is fine. */
	big[RP_TMPL_FILE_MAX] = '\0';
	free(render_str(big, "{}"));
	free(big);
}

static const char *
srcdir(void)
{
	const char	*d = getenv("RP_SRCDIR");

	return d != NULL && *d != '\0' ? d : ".";
}

static void
test_load_real_templates(void **state)
{
	struct tmpl_set	*set;
	json_t		*j;
	struct buf	 out;
	char		 dir[1024], err[512];
	int		 id;

	(void)state;
	assert_true(snprintf(dir, sizeof(dir), "%s/templates", srcdir()) <
	    (int)sizeof(dir));
	set = tmpl_load(dir, err, sizeof(err));
	if (set == NULL)
		fail_msg("tmpl_load: %s", err);
	j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, "
	    "s:b, s:s}", "site_name", "Example TSP", "hotline",
	    "+386 1 <234> & 5", "portal_url", "https://revoke.example.si",
	    "title", "Revocation portal", "status", 503, "status_text",
	    "Service Unavailable", "message", "Try <later>", "code",
	    "unavailable", "csrf", "tok\"en", "echo", 1, "note", "<script>");
	assert_non_null(j);
	buf_init(&out, RP_RESP_MAX);
	assert_int_equal(tmpl_render(set, TMPL_LANDING, j, &out), RP_OK);
	assert_non_null(strstr(out.p, "+386 1 &lt;234&gt; &amp; 5"));
	assert_null(strstr(out.p, "<234>"));
	assert_non_null(strstr(out.p, "<html lang=\"en\">"));
	assert_non_null(strstr(out.p, "href=\"/suspend\""));
	assert_non_null(strstr(out.p, "href=\"/revoke\""));
	assert_non_null(strstr(out.p, "href=\"/reactivate\""));
	assert_non_null(strstr(out.p, "href=\"/recover\""));
	assert_non_null(strstr(out.p, "/static/style.css"));
	assert_null(strstr(out.p, "<script"));
	assert_null(strstr(out.p, "style=\""));
	assert_null(strstr(out.p, "{{"));
	/* Exactly one <h1> on every page, and no script anywhere. */
	for (id = 0; id < TMPL__MAX; id++) {
		buf_reset(&out);
		assert_int_equal(tmpl_render(set, (enum tmpl_id)id, j, &out),
		    RP_OK);
		assert_non_null(strstr(out.p, "<h1"));
		assert_null(strstr(strstr(out.p, "<h1") + 3, "<h1"));
		assert_null(strstr(out.p, "<script"));
		assert_non_null(strstr(out.p, "<main id=\"main\""));
	}
	buf_reset(&out);
	assert_int_equal(tmpl_render(set, TMPL_ERROR, j, &out), RP_OK);
	assert_non_null(strstr(out.p, "503"));
	assert_non_null(strstr(out.p, "Try &lt;later&gt;"));
	buf_reset(&out);
	assert_int_equal(tmpl_render(set, TMPL_TEST_FORM, j, &out), RP_OK);
	assert_non_null(strstr(out.p, "value=\"tok&quot;en\""));
	assert_non_null(strstr(out.p,
	    "<p id=\"echo\">&lt;script&gt;</p>"));
	/* Without a title the page is named after the site alone. */
	assert_int_equal(json_object_del(j, "title"), 0);
	buf_reset(&out);
	assert_int_equal(tmpl_render(set, TMPL_NOT_FOUND, j, &out), RP_OK);
	assert_non_null(strstr(out.p, "<title>Example TSP</title>"));
	buf_free(&out);
	json_decref(j);
	tmpl_free(set);
}

/* Writes s to dir/name; fails the test on error. */
static void
write_file(const char *dir, const char *name, const char *s)
{
	char	 path[1024];
	FILE	*f;

	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) <
	    (int)sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
remove_file(const char *dir, const char *name)
{
	char	 path[1024];

	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) <
	    (int)sizeof(path));
	(void)unlink(path);
}

static void
test_load_errors(void **state)
{
	struct tmpl_set	*set;
	char		 dir[] = "/tmp/test_tmpl.XXXXXX";
	char		 err[512], want[1100];
	const char	*names[] = { "layout.html", "landing.html",
			    "not_found.html", "error.html",
			    "test_form.html", "suspend.html", "request.html",
			    "agent.html", "agent_cert.html", "agent_act.html",
			    "officer.html", "officer_req.html",
			    "staff_denied.html", "sign_form.html",
			    "sign_doc.html", "approvals.html",
			    "approval.html" };
	size_t		 i;
	char		*big;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "layout.html", "<main>\n{{>page}}\n</main>\n");
	/* Missing page file. */
	set = tmpl_load(dir, err, sizeof(err));
	assert_null(set);
	snprintf(want, sizeof(want), "%s/landing.html:0: cannot open", dir);
	assert_non_null(strstr(err, want));
	/* All present: loads. */
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		write_file(dir, names[i], "<h1>{{title}}</h1>\n");
	set = tmpl_load(dir, err, sizeof(err));
	if (set == NULL)
		fail_msg("%s", err);
	tmpl_free(set);
	/* A syntax error names the file and line. */
	write_file(dir, "error.html", "<h1>\n{{#a}}\n");
	set = tmpl_load(dir, err, sizeof(err));
	assert_null(set);
	snprintf(want, sizeof(want), "%s/error.html:2: unclosed section", dir);
	assert_non_null(strstr(err, want));
	write_file(dir, "error.html", "<h1>{{x}}</h1>\n");
	/* The layout is checked for its slot. */
	write_file(dir, "layout.html", "<main></main>\n");
	set = tmpl_load(dir, err, sizeof(err));
	assert_null(set);
	snprintf(want, sizeof(want), "%s/layout.html:2: layout has no", dir);
	assert_non_null(strstr(err, want));
	write_file(dir, "layout.html", "{{>page}}");
	/* Too large. */
	big = malloc(RP_TMPL_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', RP_TMPL_FILE_MAX + 1);
	big[RP_TMPL_FILE_MAX + 1] = '\0';
	write_file(dir, "test_form.html", big);
	free(big);
	set = tmpl_load(dir, err, sizeof(err));
	assert_null(set);
	snprintf(want, sizeof(want), "%s/test_form.html:0: larger than", dir);
	assert_non_null(strstr(err, want));
	/* A missing directory. */
	set = tmpl_load("/nonexistent/dir", err, sizeof(err));
	assert_null(set);
	assert_non_null(strstr(err, "/nonexistent/dir/layout.html:0: "));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		remove_file(dir, names[i]);
	assert_int_equal(rmdir(dir), 0);
	/* A tiny error buffer is not overrun, and NULL is allowed. */
	set = tmpl_parse_mem("{{>page}}", "{{/x}}", err, 4);
	assert_null(set);
	assert_int_equal(strlen(err), 3);
	assert_null(tmpl_parse_mem("{{>page}}", "{{/x}}", NULL, 0));
	tmpl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_all_five),
		cmocka_unit_test(test_raw_not_escaped),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_whitespace_comments_braces),
		cmocka_unit_test(test_dotted_names),
		cmocka_unit_test(test_section_array_of_objects),
		cmocka_unit_test(test_section_object_and_scalars),
		cmocka_unit_test(test_inverted),
		cmocka_unit_test(test_nested_outer_lookup),
		cmocka_unit_test(test_dot_in_string_array),
		cmocka_unit_test(test_layout_page_slot),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_err_unknown_kind),
		cmocka_unit_test(test_err_bad_name),
		cmocka_unit_test(test_err_unclosed_tag),
		cmocka_unit_test(test_err_sections),
		cmocka_unit_test(test_err_depth),
		cmocka_unit_test(test_err_page_slot),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_load_real_templates),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
