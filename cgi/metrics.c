/*
 * Request counters and latency histograms in Prometheus text format.
 *
 * The supervisor maps one anonymous shared region before it forks the
 * workers; every worker then adds to the same counters with relaxed atomic
 * increments, so no lock is ever held and a worker that dies loses nothing.
 * Atomics in memory shared between processes are only sound when they are
 * lock-free, which metrics_create() checks.
 */
#include <sys/mman.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "extern.h"

/*
 * Counter slots.  Each route below RP_ROUTES_MAX - 1 has its own; the last
 * slot, labelled "other", counts every index that is not a route or does
 * not fit.  route.c should therefore stay below RP_ROUTES_MAX routes.
 */
#define METRICS_ROUTE_OTHER	(RP_ROUTES_MAX - 1)

/* Shared between processes, atomics must not hide a lock. */
#if ATOMIC_LONG_LOCK_FREE != 2 || ATOMIC_LLONG_LOCK_FREE != 2
#error "metrics.c needs lock-free 64-bit atomics"
#endif

/* Status codes with their own counter; anything else counts as "other". */
static const int metrics_codes[] = {
	200, 201, 202, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405,
	409, 413, 415, 422, 423, 429, 500, 502, 503
};
#define METRICS_NCODES	(sizeof(metrics_codes) / sizeof(metrics_codes[0]))
#define METRICS_OTHER	METRICS_NCODES		/* index of "other" */

/* Histogram upper bounds in seconds, and the same as label text. */
static const double metrics_le[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static const char *const metrics_le_text[] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10"
};
#define METRICS_NLE	(sizeof(metrics_le) / sizeof(metrics_le[0]))
#define METRICS_NBUCKET	(METRICS_NLE + 1)	/* plus +Inf */

_Static_assert(sizeof(metrics_le_text) / sizeof(metrics_le_text[0]) ==
    METRICS_NLE, "bucket bounds and labels differ");

/*
 * Bucket counts are per bucket (not cumulative); the count of a route is
 * their sum, so the rendered +Inf bucket always equals _count.
 */
struct metrics_route {
	_Atomic uint64_t	 status[METRICS_NCODES + 1];
	_Atomic uint64_t	 bucket[METRICS_NBUCKET];
	_Atomic uint64_t	 sum_us;	/* microseconds */
};

struct metrics {
	struct metrics_route	 route[RP_ROUTES_MAX];
	_Atomic int64_t		 in_flight;	/* requests being answered */
};

/*
 * Counts a request in (delta 1) or out (delta -1) of the in-flight gauge.
 * A worker killed mid-request leaves its request counted; the gauge is
 * for seeing load, not for accounting.
 */
void
metrics_in_flight(struct metrics *m, int delta)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->in_flight, delta,
		    memory_order_relaxed);
}

/*
 * Maps a zeroed shared region for the counters.  Call before fork(2) so
 * every child shares it.  Returns NULL when mapping fails.  The caller
 * releases the region with metrics_destroy().
 */
struct metrics *
metrics_create(void)
{
	struct metrics	*m;

	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	return m;
}

/*
 * Unmaps the region in this process; accepts NULL.  munmap(2) fails only
 * for a pointer metrics_create() did not return, and then there is
 * nothing left to undo, so its result is deliberately not acted on.
 */
void
metrics_destroy(struct metrics *m)
{
	if (m == NULL)
		return;
	if (munmap(m, sizeof(*m)) == -1)
		return;
}

/*
 * Counts one answered request: route is the route table index (one that
 * is no route, or does not fit, counts as route "other"), status the HTTP
 * status sent, seconds the time taken.  A negative or NaN duration
 * counts as 0; a huge one lands in +Inf and adds at most an hour to _sum.
 * Accepts a NULL m (metrics disabled).
 */
void
metrics_observe(struct metrics *m, unsigned int route, int status,
    double seconds)
{
	struct metrics_route	*r;
	size_t			 i;
	uint64_t		 us;

	if (m == NULL)
		return;
	if (route >= METRICS_ROUTE_OTHER || route >= route_count())
		route = METRICS_ROUTE_OTHER;
	r = &m->route[route];

	for (i = 0; i < METRICS_NCODES; i++)
		if (metrics_codes[i] == status)
			break;
	atomic_fetch_add_explicit(&r->status[i], 1, memory_order_relaxed);

	if (!(seconds > 0))		/* negative, zero or NaN */
		seconds = 0;
	for (i = 0; i < METRICS_NLE; i++)
		if (seconds <= metrics_le[i])
			break;
	atomic_fetch_add_explicit(&r->bucket[i], 1, memory_order_relaxed);

	if (seconds > 3600)
		seconds = 3600;
	us = (uint64_t)(seconds * 1e6 + 0.5);
	atomic_fetch_add_explicit(&r->sum_us, us, memory_order_relaxed);
}


/*
 * Appends s as a label value, without quotes, escaping backslash, double
 * quote and newline as the text format requires.
 */
static enum rp_err
metrics_add_label(struct buf *out, const char *s)
{
	size_t		 run;
	const char	*rep;
	enum rp_err	 e;

	for (run = 0; s[run] != '\0'; ) {
		switch (s[run]) {
		case '\\':
			rep = "\\\\";
			break;
		case '"':
			rep = "\\\"";
			break;
		case '\n':
			rep = "\\n";
			break;
		default:
			run++;
			continue;
		}
		if ((e = buf_add(out, s, run)) != RP_OK ||
		    (e = buf_adds(out, rep)) != RP_OK)
			return e;
		s += run + 1;
		run = 0;
	}
	return buf_add(out, s, run);
}

/*
 * Appends `name{route="<label>"` (no closing brace) for counter slot i.
 * The label is the route's name, "other" for the last slot, and "route<i>"
 * should route.c have no name for an index it counts.
 */
static enum rp_err
metrics_add_head(struct buf *out, const char *name, unsigned int i)
{
	const char	*label = NULL;
	enum rp_err	 e;

	if (i == METRICS_ROUTE_OTHER)
		label = "other";
	else if (i < route_count())
		label = route_name(i);
	if ((e = buf_adds(out, name)) != RP_OK ||
	    (e = buf_adds(out, "{route=\"")) != RP_OK)
		return e;
	if (label != NULL)
		e = metrics_add_label(out, label);
	else
		e = buf_addf(out, "route%u", i);
	if (e != RP_OK || (e = buf_addc(out, '"')) != RP_OK)
		return e;
	return RP_OK;
}

/* Appends the request counters of slot i that are not zero. */
static enum rp_err
metrics_render_requests(const struct metrics_route *r, unsigned int i,
    struct buf *out)
{
	size_t		 k;
	uint64_t	 v;
	enum rp_err	 e;

	for (k = 0; k <= METRICS_NCODES; k++) {
		v = atomic_load_explicit(&r->status[k], memory_order_relaxed);
		if (v == 0)
			continue;
		if ((e = metrics_add_head(out,
		    "revportal_http_requests_total", i)) != RP_OK)
			return e;
		if (k == METRICS_OTHER)
			e = buf_addf(out, ",status=\"other\"} %llu\n",
			    (unsigned long long)v);
		else
			e = buf_addf(out, ",status=\"%d\"} %llu\n",
			    metrics_codes[k], (unsigned long long)v);
		if (e != RP_OK)
			return e;
	}
	return RP_OK;
}

/* Appends the histogram of slot i if it counted any request. */
static enum rp_err
metrics_render_histogram(const struct metrics_route *r, unsigned int i,
    struct buf *out)
{
	uint64_t	 cum[METRICS_NBUCKET], total = 0, sum;
	size_t		 k;
	enum rp_err	 e;

	for (k = 0; k < METRICS_NBUCKET; k++) {
		total += atomic_load_explicit(&r->bucket[k],
		    memory_order_relaxed);
		cum[k] = total;
	}
	if (total == 0)
		return RP_OK;
	sum = atomic_load_explicit(&r->sum_us, memory_order_relaxed);

	for (k = 0; k < METRICS_NBUCKET; k++) {
		if ((e = metrics_add_head(out,
		    "revportal_http_request_duration_seconds_bucket", i)) !=
		    RP_OK)
			return e;
		if ((e = buf_addf(out, ",le=\"%s\"} %llu\n",
		    k < METRICS_NLE ? metrics_le_text[k] : "+Inf",
		    (unsigned long long)cum[k])) != RP_OK)
			return e;
	}
	if ((e = metrics_add_head(out,
	    "revportal_http_request_duration_seconds_sum", i)) != RP_OK ||
	    (e = buf_addf(out, "} %llu.%06llu\n",
	    (unsigned long long)(sum / 1000000),
	    (unsigned long long)(sum % 1000000))) != RP_OK ||
	    (e = metrics_add_head(out,
	    "revportal_http_request_duration_seconds_count", i)) != RP_OK ||
	    (e = buf_addf(out, "} %llu\n", (unsigned long long)total)) !=
	    RP_OK)
		return e;
	return RP_OK;
}

/*
 * Appends every metric in the Prometheus text exposition format 0.0.4 to
 * out, which the caller owns.  Counters that are still zero are left out.
 * Returns RP_OK, or RP_ERR_NOMEM when out reaches its limit (out then
 * holds a partial text the caller must not send).
 */
enum rp_err
metrics_render(const struct metrics *m, struct buf *out)
{
	unsigned int	 i;
	enum rp_err	 e;

	if ((e = buf_adds(out,
	    "# HELP revportal_up Whether the portal answers.\n"
	    "# TYPE revportal_up gauge\n"
	    "revportal_up 1\n")) != RP_OK)
		return e;
	if (m == NULL)
		return RP_OK;
	if ((e = buf_addf(out,
	    "# HELP revportal_http_requests_in_flight Requests being "
	    "answered now.\n"
	    "# TYPE revportal_http_requests_in_flight gauge\n"
	    "revportal_http_requests_in_flight %lld\n",
	    (long long)atomic_load_explicit(&m->in_flight,
	    memory_order_relaxed))) != RP_OK)
		return e;

	if ((e = buf_adds(out,
	    "# HELP revportal_http_requests_total "
	    "HTTP requests answered, by route and status.\n"
	    "# TYPE revportal_http_requests_total counter\n")) != RP_OK)
		return e;
	for (i = 0; i < RP_ROUTES_MAX; i++)
		if ((e = metrics_render_requests(&m->route[i], i, out)) !=
		    RP_OK)
			return e;

	if ((e = buf_adds(out,
	    "# HELP revportal_http_request_duration_seconds "
	    "Time to answer an HTTP request, by route.\n"
	    "# TYPE revportal_http_request_duration_seconds histogram\n")) !=
	    RP_OK)
		return e;
	for (i = 0; i < RP_ROUTES_MAX; i++)
		if ((e = metrics_render_histogram(&m->route[i], i, out)) !=
		    RP_OK)
			return e;
	return RP_OK;
}

#ifdef RP_UNITTEST
/*
 * Test-only entry to the label escaper, since real route names never need
 * escaping.  Appends s escaped to out; same returns as buf_add().
 */
enum rp_err	 metrics_unit_label(struct buf *, const char *);

enum rp_err
metrics_unit_label(struct buf *out, const char *s)
{
	return metrics_add_label(out, s);
}
#endif
