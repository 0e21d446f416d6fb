/*
 * Tests of metrics.c: counters shared across fork(2), histogram buckets,
 * and output that is valid Prometheus text exposition 0.0.4.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "unit.h"

/* Test-only entry to the label escaper (metrics.c, RP_UNITTEST). */
enum rp_err	 metrics_unit_label(struct buf *, const char *);

/*
 * A small route table for when route.c is not linked in.  Weak, so that
 * the real route.c wins when the Makefile links every module; the tests
 * below only ever ask route_name() for the names they expect.
 */
__attribute__((weak)) unsigned int
route_count(void)
{
	return 3;
}

__attribute__((weak)) const char *
route_name(unsigned int i)
{
	static const char *const names[] = { "landing", "healthz", "metrics" };

	return i < 3 ? names[i] : NULL;
}

static const char *const le_text[] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10", "+Inf"
};
#define NLE	(sizeof(le_text) / sizeof(le_text[0]))

struct fx {
	struct metrics	*m;
	struct buf	 out;
};

static int
setup(void **state)
{
	struct fx	*fx;

	if (route_count() < 2 || (fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if ((fx->m = metrics_create()) == NULL) {
		free(fx);
		return -1;
	}
	buf_init(&fx->out, RP_RESP_MAX);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	metrics_destroy(fx->m);
	buf_free(&fx->out);
	free(fx);
	return 0;
}

static const char *
render(struct fx *fx)
{
	buf_reset(&fx->out);
	assert_int_equal(metrics_render(fx->m, &fx->out), RP_OK);
	assert_non_null(fx->out.p);
	return fx->out.p;
}

/*
 * Returns the value of the sample line whose name and labels are exactly
 * `name{labels}`, or -1 when there is none.  Fails the test if it occurs
 * twice.
 */
static double
sample(const char *text, const char *name, const char *labels)
{
	char		 key[512];
	const char	*p, *q;
	char		*end;
	double		 v;
	int		 n;

	n = snprintf(key, sizeof(key), "\n%s{%s} ", name, labels);
	assert_true(n > 0 && (size_t)n < sizeof(key));
	if ((p = strstr(text, key)) == NULL)
		return -1;
	q = p + n;
	assert_null(strstr(q, key));
	v = strtod(q, &end);
	assert_true(end != q && *end == '\n');
	return v;
}

static double
req_count(const char *text, const char *route, const char *status)
{
	char	 l[256];
	int	 n;

	n = snprintf(l, sizeof(l), "route=\"%s\",status=\"%s\"", route, status);
	assert_true(n > 0 && (size_t)n < sizeof(l));
	return sample(text, "revportal_http_requests_total", l);
}

static double
bucket(const char *text, const char *route, const char *le)
{
	char	 l[256];
	int	 n;

	n = snprintf(l, sizeof(l), "route=\"%s\",le=\"%s\"", route, le);
	assert_true(n > 0 && (size_t)n < sizeof(l));
	return sample(text, "revportal_http_request_duration_seconds_bucket",
	    l);
}

static double
hist(const char *text, const char *suffix, const char *route)
{
	char	 name[128], l[256];
	int	 n;

	n = snprintf(name, sizeof(name),
	    "revportal_http_request_duration_seconds_%s", suffix);
	assert_true(n > 0 && (size_t)n < sizeof(name));
	n = snprintf(l, sizeof(l), "route=\"%s\"", route);
	assert_true(n > 0 && (size_t)n < sizeof(l));
	return sample(text, name, l);
}

/* Metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]* (no ':' for labels). */
static const char *
scan_name(const char *p, int colon)
{
	if (!(isalpha((unsigned char)*p) || *p == '_' || (colon && *p == ':')))
		return NULL;
	for (p++; isalnum((unsigned char)*p) || *p == '_' ||
	    (colon && *p == ':'); p++)
		continue;
	return p;
}

/*
 * Checks text line by line against the 0.0.4 text format: comments are
 * "# HELP name text" or "# TYPE name type", samples are
 * name{label="value",...} value with only \\, \" and \n escapes in label
 * values and a value strtod() takes whole.  Returns the number of samples,
 * or -1 with the bad line's number in *bad.
 */
static int
exposition_valid(const char *text, int *bad)
{
	const char	*p = text, *q, *eol;
	char		*end;
	int		 line = 0, samples = 0;

	while (*p != '\0') {
		line++;
		*bad = line;
		if ((eol = strchr(p, '\n')) == NULL)
			return -1;
		if (strncmp(p, "# HELP ", 7) == 0 ||
		    strncmp(p, "# TYPE ", 7) == 0) {
			q = scan_name(p + 7, 1);
			if (q == NULL || *q != ' ')
				return -1;
			if (p[2] == 'T' &&
			    strncmp(q, " counter\n", 9) != 0 &&
			    strncmp(q, " gauge\n", 7) != 0 &&
			    strncmp(q, " histogram\n", 11) != 0 &&
			    strncmp(q, " summary\n", 9) != 0 &&
			    strncmp(q, " untyped\n", 9) != 0)
				return -1;
			p = eol + 1;
			continue;
		}
		if (*p == '#')
			return -1;
		if ((q = scan_name(p, 1)) == NULL)
			return -1;
		if (*q == '{') {
			q++;
			while (*q != '}') {
				if ((q = scan_name(q, 0)) == NULL ||
				    q[0] != '=' || q[1] != '"')
					return -1;
				for (q += 2; *q != '"'; q++) {
					if (*q == '\n' || *q == '\0')
						return -1;
					if (*q == '\\') {
						q++;
						if (*q != '\\' && *q != '"' &&
						    *q != 'n')
							return -1;
					}
				}
				q++;
				if (*q == ',')
					q++;
				else if (*q != '}')
					return -1;
			}
			q++;
		}
		if (*q != ' ')
			return -1;
		q++;
		if (isspace((unsigned char)*q))
			return -1;
		(void)strtod(q, &end);
		if (end == q || end != eol)
			return -1;
		samples++;
		p = eol + 1;
	}
	*bad = 0;
	return samples;
}

static void
test_validator_rejects(void **state)
{
	int	 bad;

	(void)state;
	assert_int_equal(exposition_valid("a{b=\"c\"} 1\n# TYPE a counter\n",
	    &bad), 1);
	assert_int_equal(exposition_valid("a{b=\"c} 1\n", &bad), -1);
	assert_int_equal(exposition_valid("a{b=\"c\"} x\n", &bad), -1);
	assert_int_equal(exposition_valid("a{b=\"\\t\"} 1\n", &bad), -1);
	assert_int_equal(exposition_valid("9a 1\n", &bad), -1);
	assert_int_equal(exposition_valid("a 1", &bad), -1);
	assert_int_equal(exposition_valid("# TYPE a countr\n", &bad), -1);
	assert_int_equal(exposition_valid("a{b=\"1\"}  1\n", &bad), -1);
}

static void
test_fork_shared(void **state)
{
	struct fx	*fx = *state;
	const char	*r0 = route_name(0), *r1 = route_name(1), *t;
	pid_t		 pid[4];
	int		 i, j, st;

	metrics_observe(fx->m, 0, 200, 0.001);
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		assert_true(pid[i] != -1);
		if (pid[i] == 0) {
			for (j = 0; j < 5000; j++)
				metrics_observe(fx->m, 0, 200, 0.003);
			if (i == 0)
				metrics_observe(fx->m, 1, 404, 0.2);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	t = render(fx);
	/* No increment lost to a race between the four children. */
	assert_true(req_count(t, r0, "200") == 20001);
	assert_true(req_count(t, r1, "404") == 1);
	assert_true(req_count(t, r1, "200") == -1);
	assert_true(hist(t, "count", r0) == 20001);
	assert_true(bucket(t, r0, "0.001") == 1);
	assert_true(bucket(t, r0, "0.0025") == 1);
	assert_true(bucket(t, r0, "0.005") == 20001);
	assert_true(bucket(t, r1, "0.1") == 0);
	assert_true(bucket(t, r1, "0.25") == 1);
}

static void
test_bucket_boundaries(void **state)
{
	struct fx	*fx = *state;
	const char	*r = route_name(0), *t;

	metrics_observe(fx->m, 0, 200, 0.005);
	t = render(fx);
	assert_true(bucket(t, r, "0.0025") == 0);
	assert_true(bucket(t, r, "0.005") == 1);

	metrics_observe(fx->m, 0, 200, 0.0050001);
	metrics_observe(fx->m, 0, 200, 0.001);
	metrics_observe(fx->m, 0, 200, 10);
	metrics_observe(fx->m, 0, 200, 10.5);
	t = render(fx);
	assert_true(bucket(t, r, "0.001") == 1);
	assert_true(bucket(t, r, "0.005") == 2);
	assert_true(bucket(t, r, "0.01") == 3);
	assert_true(bucket(t, r, "5") == 3);
	assert_true(bucket(t, r, "10") == 4);
	assert_true(bucket(t, r, "+Inf") == 5);
	assert_true(hist(t, "count", r) == 5);

	/* Zero, negative and NaN durations count in the lowest bucket. */
	metrics_observe(fx->m, 1, 200, 0);
	metrics_observe(fx->m, 1, 200, -3);
	metrics_observe(fx->m, 1, 200, NAN);
	t = render(fx);
	assert_true(bucket(t, route_name(1), "0.001") == 3);
	assert_true(hist(t, "sum", route_name(1)) == 0);
}

static void
test_cumulative(void **state)
{
	struct fx	*fx = *state;
	const char	*r = route_name(0), *t;
	static const double d[] = {
		0.0001, 0.002, 0.004, 0.007, 0.02, 0.04, 0.07, 0.2, 0.4,
		0.7, 2, 4, 7, 20, 0.04, 0.3
	};
	double		 prev = 0, v;
	size_t		 i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		metrics_observe(fx->m, 0, 200, d[i]);
	t = render(fx);
	for (i = 0; i < NLE; i++) {
		v = bucket(t, r, le_text[i]);
		assert_true(v >= prev);
		prev = v;
	}
	assert_true(prev == sizeof(d) / sizeof(d[0]));
	assert_true(bucket(t, r, "+Inf") == hist(t, "count", r));
	assert_true(bucket(t, r, "0.05") == 7);
	/* Buckets appear in ascending order of le, +Inf last. */
	assert_true(strstr(t, "le=\"0.001\"") < strstr(t, "le=\"0.0025\""));
	assert_true(strstr(t, "le=\"10\"") < strstr(t, "le=\"+Inf\""));
}

static void
test_unknown_status(void **state)
{
	struct fx	*fx = *state;
	const char	*r = route_name(0), *t;

	metrics_observe(fx->m, 0, 418, 0.01);
	metrics_observe(fx->m, 0, -1, 0.01);
	metrics_observe(fx->m, 0, 503, 0.01);
	t = render(fx);
	assert_true(req_count(t, r, "other") == 2);
	assert_true(req_count(t, r, "503") == 1);
	assert_true(req_count(t, r, "418") == -1);
	assert_true(req_count(t, r, "200") == -1);
}

static void
test_route_out_of_range(void **state)
{
	struct fx	*fx = *state;
	const char	*t;

	metrics_observe(fx->m, 1000, 200, 0.01);
	metrics_observe(fx->m, (unsigned int)-1, 200, 0.01);
	metrics_observe(fx->m, route_count(), 200, 0.01);
	metrics_observe(fx->m, 0, 200, 0.01);
	t = render(fx);
	assert_true(req_count(t, "other", "200") == 3);
	assert_true(hist(t, "count", "other") == 3);
	assert_true(req_count(t, route_name(0), "200") == 1);
	/* Only one series per label set (sample() checks for doubles). */
	assert_null(strstr(t, "route=\"route"));
}

static void
test_sum_seconds(void **state)
{
	struct fx	*fx = *state;
	const char	*r = route_name(0), *t;
	char		 key[256];
	int		 n;

	metrics_observe(fx->m, 0, 200, 0.25);
	metrics_observe(fx->m, 0, 200, 1.5);
	metrics_observe(fx->m, 0, 200, 0.0000004);	/* rounds to 0 us */
	metrics_observe(fx->m, 0, 200, 0.000002);
	t = render(fx);
	n = snprintf(key, sizeof(key), "\nrevportal_http_request_duration_"
	    "seconds_sum{route=\"%s\"} 1.750002\n", r);
	assert_true(n > 0 && (size_t)n < sizeof(key));
	assert_non_null(strstr(t, key));
	assert_true(fabs(hist(t, "sum", r) - 1.750002) < 1e-9);
	assert_true(hist(t, "count", r) == 4);
}

static void
test_exposition(void **state)
{
	struct fx	*fx = *state;
	const char	*t;
	int		 bad, n;

	/* Nothing observed: the two gauges, and no empty series. */
	t = render(fx);
	n = exposition_valid(t, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(n, 2);
	assert_non_null(strstr(t, "# TYPE revportal_up gauge\nrevportal_up 1\n"));
	assert_non_null(strstr(t, "\nrevportal_http_requests_in_flight 0\n"));

	/* The in-flight gauge goes up and down across processes' calls. */
	metrics_in_flight(fx->m, 1);
	metrics_in_flight(fx->m, 1);
	metrics_in_flight(fx->m, -1);
	t = render(fx);
	assert_non_null(strstr(t, "\nrevportal_http_requests_in_flight 1\n"));
	metrics_in_flight(fx->m, -1);

	metrics_observe(fx->m, 0, 200, 0.01);
	metrics_observe(fx->m, 0, 302, 0.01);
	metrics_observe(fx->m, 1, 999, 3);
	metrics_observe(fx->m, 500, 500, 0.3);
	t = render(fx);
	n = exposition_valid(t, &bad);
	assert_int_equal(bad, 0);
	/* 2 gauges + 4 request counters + 3 routes * (14 buckets + sum +
	 * count) */
	assert_int_equal(n, 2 + 4 + 3 * 16);
	assert_non_null(strstr(t,
	    "# TYPE revportal_http_requests_total counter\n"));
	assert_non_null(strstr(t,
	    "# TYPE revportal_http_request_duration_seconds histogram\n"));
	assert_non_null(strstr(t, "\nrevportal_up 1\n"));
}

static void
test_render_null_and_limit(void **state)
{
	struct fx	*fx = *state;
	struct buf	 small;
	int		 bad;

	buf_init(&small, RP_RESP_MAX);
	assert_int_equal(metrics_render(NULL, &small), RP_OK);
	assert_int_equal(exposition_valid(small.p, &bad), 1);
	buf_free(&small);
	metrics_destroy(NULL);
	metrics_observe(NULL, 0, 200, 1);

	metrics_observe(fx->m, 0, 200, 0.01);
	buf_init(&small, 200);
	assert_int_equal(metrics_render(fx->m, &small), RP_ERR_NOMEM);
	assert_true(small.len <= 200);
	buf_free(&small);
}

static void
test_label_escape(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(metrics_unit_label(&b, "a\\b\"c\nd"), RP_OK);
	assert_string_equal(b.p, "a\\\\b\\\"c\\nd");
	buf_reset(&b);
	assert_int_equal(metrics_unit_label(&b, "\"\"\n"), RP_OK);
	assert_string_equal(b.p, "\\\"\\\"\\n");
	buf_reset(&b);
	assert_int_equal(metrics_unit_label(&b, "plain_name"), RP_OK);
	assert_string_equal(b.p, "plain_name");
	buf_reset(&b);
	assert_int_equal(metrics_unit_label(&b, ""), RP_OK);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_rejects),
		cmocka_unit_test_setup_teardown(test_fork_shared, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bucket_boundaries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cumulative, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_route_out_of_range, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sum_seconds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exposition, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_render_null_and_limit,
		    setup, teardown),
		cmocka_unit_test(test_label_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
