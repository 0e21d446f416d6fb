/*
 * Operations endpoints: liveness for the load balancer and the counters
 * for Prometheus.  Production nginx keeps /metrics to the monitoring
 * network (deploy/nginx-production.conf).
 */
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

/* GET /metrics: Prometheus text format 0.0.4. */
enum rp_err
h_metrics(struct req *req)
{
	if (req->metrics == NULL)
		return rp_fail(&req->err, RP_ERR_UNAVAILABLE, "no_metrics",
		    "Metrics are not available.");
	req->resp.ctype = "text/plain; version=0.0.4; charset=utf-8";
	req->resp.personal = 1;
	return metrics_render(req->metrics, &req->resp.body);
}
