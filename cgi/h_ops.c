/*
 * Operations endpoints: liveness for the load balancer and the counters
 * for Prometheus.  Production nginx keeps /metrics to the monitoring
 * network (deploy/nginx-production.conf).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/*
 * GET /healthz: 200 "ok" when this worker's database connection answers a
 * query, else the router's 503.
 */
enum rp_err
h_healthz(struct req *req)
{
	enum rp_err	 e;

	if (req->db == NULL)
		return rp_fail(&req->err, RP_ERR_UNAVAILABLE, "db_unavailable",
		    "The database is not open.");
	if ((e = db_health(req->db)) != RP_OK)
		return rp_fail(&req->err, e, "db_unavailable",
		    "The database did not answer.");
	req->resp.ctype = "text/plain; charset=utf-8";
	req->resp.personal = 1;
	return buf_adds(&req->resp.body, "ok\n");
}

/*
 * Appends the outbox's queue as the database holds it, so that it shows
 * even while revportal-relay is down.  Without a database, or when it
 * does not answer, the lines are left out (and the failure logged): the
 * rest of the figures still matter.
 */
static enum rp_err
h_metrics_outbox(struct req *req)
{
	struct outbox_stats	 st;
	enum rp_err		 e;

	if (req->db == NULL)
		return RP_OK;
	if ((e = outbox_stats(req->db, rp_now_ms(), &st)) != RP_OK) {
		rplog(RPLOG_WARN, "metrics_outbox", "error=%s",
		    rp_err_name(e));
		return RP_OK;
	}
	return outbox_render_queue(&req->resp.body, "revportal_outbox", &st);
}

/*
 * Appends the text revportal-relay writes to [relay] metrics_file, read
 * with a bound.  A missing file (no relay yet) is skipped silently; one
 * that cannot be read, or that is not UTF-8 text ending in a line end,
 * is skipped with a warning in the log.
 */
static enum rp_err
h_metrics_relay(struct req *req)
{
	struct stat	 st;
	const char	*path;
	char		*text, why[128];
	size_t		 len;
	enum rp_err	 e;

	if (req->cfg == NULL || (path = req->cfg->relay_metrics_file)[0] ==
	    '\0')
		return RP_OK;
	if (stat(path, &st) == -1 && errno == ENOENT)
		return RP_OK;
	if ((text = rp_read_file(path, OUTBOX_METRICS_MAX, &len, why,
	    sizeof(why))) == NULL) {
		rplog(RPLOG_WARN, "metrics_relay", "file=%s error=\"%s\"",
		    path, why);
		return RP_OK;
	}
	if (len == 0 || text[len - 1] != '\n' || !rp_utf8_valid(text, len)) {
		rplog(RPLOG_WARN, "metrics_relay", "file=%s error=\"not "
		    "metrics text\"", path);
		free(text);
		return RP_OK;
	}
	e = buf_add(&req->resp.body, text, len);
	free(text);
	return e;
}

/*
 * GET /metrics: Prometheus text format 0.0.4: this portal's counters,
 * the outbox queue from the database, and revportal-relay's figures when
 * [relay] metrics_file is set.
 */
enum rp_err
h_metrics(struct req *req)
{
	enum rp_err	 e;

	if (req->metrics == NULL)
		return rp_fail(&req->err, RP_ERR_UNAVAILABLE, "no_metrics",
		    "Metrics are not available.");
	req->resp.ctype = "text/plain; version=0.0.4; charset=utf-8";
	req->resp.personal = 1;
	if ((e = metrics_render(req->metrics, &req->resp.body)) != RP_OK ||
	    (e = h_metrics_outbox(req)) != RP_OK)
		return e;
	return h_metrics_relay(req);
}
