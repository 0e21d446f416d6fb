/*
 * The FastCGI side of a worker: accept a request, turn its environment
 * and body into a struct req, let the router answer, send the answer.
 * This is the only file that includes fcgiapp.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>

#include "extern.h"

static enum method
fcgi_method(const char *m)
{
	if (m == NULL)
		return METHOD_OTHER;
	if (strcmp(m, "GET") == 0)
		return METHOD_GET;
	if (strcmp(m, "HEAD") == 0)
		return METHOD_HEAD;
	if (strcmp(m, "POST") == 0)
		return METHOD_POST;
	if (strcmp(m, "PUT") == 0)
		return METHOD_PUT;
	if (strcmp(m, "DELETE") == 0)
		return METHOD_DELETE;
	return METHOD_OTHER;
}

/*
 * Reads the body announced by CONTENT_LENGTH into a new buffer at
 * req->body (freed by the caller), up to the configured limit.  Over the
 * limit nothing is read and body_too_large is set; a malformed length or a
 * body shorter than announced sets body_invalid.  Returns RP_ERR_NOMEM
 * only when allocation fails.
 */
static enum rp_err
fcgi_read_body(FCGX_Request *fr, struct req *req, char **bodyp)
{
	const char		*cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	char			*end, *body;
	unsigned long long	 n;
	size_t			 got = 0;
	int			 r;

	*bodyp = NULL;
	if (cl == NULL || cl[0] == '\0')
		return RP_OK;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || *end != '\0' || cl[0] < '0' || cl[0] > '9') {
		req->body_invalid = 1;
		return RP_OK;
	}
	if (n > req->cfg->max_body) {
		req->body_too_large = 1;
		return RP_OK;
	}
	if (n == 0)
		return RP_OK;
	if ((body = malloc((size_t)n + 1)) == NULL)
		return RP_ERR_NOMEM;
	while (got < n) {
		r = FCGX_GetStr(body + got, (int)(n - got), fr->in);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != n) {
		free(body);
		req->body_invalid = 1;
		return RP_OK;
	}
	body[n] = '\0';
	*bodyp = body;
	req->body = body;
	req->bodylen = (size_t)n;
	return RP_OK;
}

/* Sends req's answer.  Returns 0, or -1 when the connection failed. */
static int
fcgi_send(FCGX_Request *fr, const struct req *req)
{
	struct buf	 head;
	int		 rc = -1;

	buf_init(&head, RP_HDRS_MAX + 4096);
	if (resp_head(req, &head) != RP_OK)
		goto out;
	if (FCGX_PutStr(head.p, (int)head.len, fr->out) != (int)head.len)
		goto out;
	if (req->method != METHOD_HEAD && req->resp.body.len > 0 &&
	    FCGX_PutStr(req->resp.body.p, (int)req->resp.body.len,
	    fr->out) != (int)req->resp.body.len)
		goto out;
	rc = 0;
out:
	buf_free(&head);
	return rc;
}

/* Answers one accepted request; everything it allocates is freed. */
static void
fcgi_one(FCGX_Request *fr, struct req *proto)
{
	struct req	 req;
	char		*body = NULL;

	req = *proto;
	resp_init(&req.resp);
	req.method = fcgi_method(FCGX_GetParam("REQUEST_METHOD", fr->envp));
	req.path = FCGX_GetParam("DOCUMENT_URI", fr->envp);
	req.query = FCGX_GetParam("QUERY_STRING", fr->envp);
	req.ctype = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	req.cookie_hdr = FCGX_GetParam("HTTP_COOKIE", fr->envp);
	req.remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);
	req.origin = FCGX_GetParam("HTTP_ORIGIN", fr->envp);
	req.idem_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
	req.now = (int64_t)time(NULL);
	if (req.ctype != NULL && req.ctype[0] == '\0')
		req.ctype = NULL;
	if (req.method == METHOD_POST || req.method == METHOD_PUT) {
		if (fcgi_read_body(fr, &req, &body) != RP_OK) {
			rplog(RPLOG_ERROR, "nomem", "what=body");
			req.body_invalid = 1;
		}
	}
	route_dispatch(&req);
	if (fcgi_send(fr, &req) != 0)
		rplog(RPLOG_WARN, "send_failed", "route=%s",
		    route_name(req.route));
	input_free(&req.in);
	resp_free(&req.resp);
	free(body);
}

int
fcgi_worker_run(int listen_fd, const struct config *cfg,
    const struct tmpl_set *tmpl, struct metrics *metrics,
    volatile sig_atomic_t *stop)
{
	FCGX_Request	 fr;
	struct req	 proto;
	sigset_t	 term, old;
	char		 err[256];
	int		 rc;

	memset(&proto, 0, sizeof(proto));
	proto.cfg = cfg;
	proto.tmpl = tmpl;
	proto.metrics = metrics;
	if ((proto.db = db_open(cfg, err, sizeof(err))) == NULL) {
		rplog(RPLOG_ERROR, "worker_db", "detail=\"%s\"", err);
		return 2;
	}
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		rplog(RPLOG_ERROR, "worker_fcgi", "detail=\"init failed\"");
		db_close(proto.db);
		return 2;
	}
	/*
	 * SIGTERM interrupts accept() but waits while a request is being
	 * answered: an answer is never cut off by a clean shutdown.
	 */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	rplog(RPLOG_DEBUG, "worker_ready", "workers=%u", cfg->workers);
	while (!*stop) {
		if ((rc = FCGX_Accept_r(&fr)) < 0) {
			if (*stop)
				break;
			if (rc == -EINTR || errno == EINTR)
				continue;
			rplog(RPLOG_ERROR, "accept_failed", "rc=%d", rc);
			break;
		}
		sigprocmask(SIG_BLOCK, &term, &old);
		fcgi_one(&fr, &proto);
		FCGX_Finish_r(&fr);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	FCGX_Free(&fr, 1);
	db_close(proto.db);
	return *stop ? 0 : 1;
}
