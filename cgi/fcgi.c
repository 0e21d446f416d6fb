/*
 * The FastCGI side of a worker: accept a request, turn its environment
 * and body into a struct req, let the router answer, send the answer.
 * This is the only file that includes fcgiapp.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
 * limit nothing is read and body_status says BODY_TOO_LARGE; a malformed
 * length or a body shorter than announced makes it BODY_INVALID.  Returns RP_ERR_NOMEM
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
		req->body_status = BODY_INVALID;
		return RP_OK;
	}
	if (n > req->cfg->max_body) {
		req->body_status = BODY_TOO_LARGE;
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
		req->body_status = BODY_INVALID;
		return RP_OK;
	}
	body[n] = '\0';
	*bodyp = body;
	req->body = body;
	req->bodylen = (size_t)n;
	return RP_OK;
}

/*
 * Sends req's answer, formatting the head into the reused buffer head.
 * Returns 0, or -1 when the connection failed.
 */
static int
fcgi_send(FCGX_Request *fr, const struct req *req, struct buf *head)
{
	buf_reset(head);
	if (resp_head(req, head) != RP_OK)
		return -1;
	if (FCGX_PutStr(head->p, (int)head->len, fr->out) != (int)head->len)
		return -1;
	if (req->method != METHOD_HEAD && req->resp.body.len > 0 &&
	    FCGX_PutStr(req->resp.body.p, (int)req->resp.body.len,
	    fr->out) != (int)req->resp.body.len)
		return -1;
	return 0;
}

/*
 * Answers one accepted request.  proto holds the worker's settings and
 * its response buffers, which are reused from request to request (a
 * buffer that grew past FCGI_KEEP_MAX is given back); everything else
 * the request allocates is freed here.
 */
#define FCGI_KEEP_MAX	(64u * 1024u)

static void
fcgi_one(FCGX_Request *fr, struct req *proto, struct buf *head)
{
	struct req	 req;
	char		*body = NULL;

	req = *proto;
	resp_reset(&req.resp);
	req.method = fcgi_method(FCGX_GetParam("REQUEST_METHOD", fr->envp));
	req.path = FCGX_GetParam("DOCUMENT_URI", fr->envp);
	req.query = FCGX_GetParam("QUERY_STRING", fr->envp);
	req.ctype = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	req.cookie_hdr = FCGX_GetParam("HTTP_COOKIE", fr->envp);
	req.origin = FCGX_GetParam("HTTP_ORIGIN", fr->envp);
	req.fetch_site = FCGX_GetParam("HTTP_SEC_FETCH_SITE", fr->envp);
	req.remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);
	req.idem_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
	req.client_verify = FCGX_GetParam("SSL_CLIENT_VERIFY", fr->envp);
	req.client_cert = FCGX_GetParam("SSL_CLIENT_CERT", fr->envp);
	req.now = (int64_t)time(NULL);
	if (req.ctype != NULL && req.ctype[0] == '\0')
		req.ctype = NULL;
	if ((req.method == METHOD_POST || req.method == METHOD_PUT) &&
	    fcgi_read_body(fr, &req, &body) != RP_OK)
		req.body_status = BODY_NOMEM;
	route_dispatch(&req);
	if (fcgi_send(fr, &req, head) != 0)
		rplog(RPLOG_WARN, "send_failed", "route=%s",
		    route_name(req.route));
	input_free(&req.in);
	/* The body may hold a passphrase: wipe it before it goes back. */
	if (body != NULL)
		explicit_bzero(body, req.bodylen);
	free(body);
	if (req.resp.body.cap > FCGI_KEEP_MAX)
		buf_free(&req.resp.body);
	proto->resp = req.resp;
}

/*
 * A worker's signal state.  Signal handlers take no arguments, so these
 * three are the worker's only globals besides the read-only
 * configuration; nothing but the handler and the accept loop touch them.
 */
static volatile sig_atomic_t fcgi_stop;		/* SIGTERM/SIGINT seen */
static volatile sig_atomic_t fcgi_idle;		/* waiting for a request */
static volatile sig_atomic_t fcgi_listen = -1;	/* the listening socket */

/*
 * SIGTERM and SIGINT: stop after the request in hand.  The handler is
 * installed with SA_RESTART, so a request being answered never sees EINTR
 * and is finished whole, at no cost per request.  An idle worker sits in
 * accept(), which SA_RESTART would restart: closing its (own copy of the)
 * listening socket makes that accept() fail at once instead.  Other
 * workers keep their copies.
 *
 * One narrow window remains, inside libfcgi: after accept() on a unix
 * socket it waits in select() for the request's first bytes, and a
 * signal there (select() is never restarted) makes it drop that
 * connection.  nginx writes the request right after connecting, so the
 * bytes are normally there before select() is called.
 */
static void
fcgi_on_term(int sig)
{
	int	 saved = errno;

	(void)sig;
	fcgi_stop = 1;
	if (fcgi_idle && fcgi_listen >= 0) {
		(void)close(fcgi_listen);
		fcgi_listen = -1;
	}
	errno = saved;
}

int
fcgi_worker_run(int listen_fd, const struct config *cfg,
    const struct tmpl_set *tmpl, struct metrics *metrics,
    const sigset_t *mask)
{
	FCGX_Request		 fr;
	struct req		 proto;
	struct buf		 head;
	struct sigaction	 sa;
	char			 err[256];
	int			 rc;

	memset(&proto, 0, sizeof(proto));
	proto.cfg = cfg;
	proto.tmpl = tmpl;
	proto.metrics = metrics;
	resp_init(&proto.resp);
	buf_init(&head, RP_HDRS_MAX + 4096);
	/* Without memory for it the worker just renders every time. */
	proto.cache = calloc(1, sizeof(*proto.cache));
	fcgi_listen = listen_fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fcgi_on_term;
	sa.sa_flags = SA_RESTART;
	if (sigemptyset(&sa.sa_mask) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigprocmask(SIG_SETMASK, mask, NULL) != 0) {
		rplog(RPLOG_ERROR, "worker_signals", "errno=%d", errno);
		page_cache_free(proto.cache);
		return 2;
	}
	if ((proto.db = db_open(cfg, err, sizeof(err))) == NULL) {
		rplog(RPLOG_ERROR, "worker_db", "detail=\"%s\"", err);
		page_cache_free(proto.cache);
		return 2;
	}
	/* Signed requests: only with trust anchors configured. */
	if (cfg->sig_anchors_dir[0] != '\0' &&
	    ((proto.sig = sig_ctx_new(cfg->sig_anchors_dir,
	    cfg->sig_require_qscd, err, sizeof(err))) == NULL ||
	    (proto.rev = rev_ctx_new(cfg, err, sizeof(err))) == NULL)) {
		rplog(RPLOG_ERROR, "worker_signature", "detail=\"%s\"", err);
		sig_ctx_free(proto.sig);
		db_close(proto.db);
		page_cache_free(proto.cache);
		return 2;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		rplog(RPLOG_ERROR, "worker_fcgi", "detail=\"init failed\"");
		rev_ctx_free(proto.rev);
		sig_ctx_free(proto.sig);
		db_close(proto.db);
		page_cache_free(proto.cache);
		return 2;
	}
	rplog(RPLOG_DEBUG, "worker_ready", "workers=%u", cfg->workers);
	for (;;) {
		fcgi_idle = 1;
		if (fcgi_stop)
			break;
		rc = FCGX_Accept_r(&fr);
		fcgi_idle = 0;
		if (rc < 0) {
			if (fcgi_stop)
				break;
			rplog(RPLOG_ERROR, "accept_failed", "rc=%d", rc);
			break;
		}
		fcgi_one(&fr, &proto, &head);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	rev_ctx_free(proto.rev);
	sig_ctx_free(proto.sig);
	db_close(proto.db);
	page_cache_free(proto.cache);
	resp_free(&proto.resp);
	buf_free(&head);
	return fcgi_stop ? 0 : 1;
}
