/*
 * revportal-relay: the daemon that drains the outbox toward the CA
 * (DESIGN section 4).  The web workers commit a request with its outbox
 * rows and send one datagram to [relay] socket (nudge.c); the relay
 * wakes, delivers every row that is due through the driver of [relay]
 * backend (outbox.c does the database side), then sends the e-mail that
 * is due when [mail] smtp_url is set (mail.c; see relay_loop() for how
 * it stays out of the CA's way), and sleeps in poll(2)
 * until the next nudge, the next row or message falling due or [relay]
 * poll_ms, whichever comes first.
 *
 *	revportal-relay [-t] [-c CONFIG]
 *
 * It logs like the web (log.c, on stderr: the journal under systemd),
 * never a secret.  Its leases are named "<hostname>:<pid>:<16 random hex
 * digits>" (outbox_owner()).  On SIGTERM or SIGINT it finishes the row
 * in hand (the HTTP call has its own timeout) and records it, or
 * releases a row it has not sent yet, gives back the rows it claimed but
 * did not reach, removes its socket and exits 0.  Exit status: 0
 * stopped by a signal (or, with -t, a good configuration), 1 failed (one
 * line "revportal-relay: what" on stderr), 2 a command-line error (with
 * the usage on stderr).
 *
 * The database must already be migrated (by the web's supervisor or
 * revportal-admin init); the relay refuses an older schema.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

#define RELAY_CONFIG	"/etc/revportal/revportal.ini"
#define RELAY_ACTOR	"system:relay"	/* in the audit log */
#define RELAY_ERROR_WAIT_MS 1000	/* after a database error, at most */
#define RELAY_BATCH_MAX	1000u		/* rows before looking up again */
#define RELAY_CLAIM	8u		/* rows claimed in one transaction */
#define RELAY_DRAIN_MAX	1024u		/* datagrams read at one wake-up */

/* Exit statuses. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

/*
 * The only mutable globals: what the signal handler may touch.  The stop
 * flag is also read by outbox_run() between its steps; the write end of
 * the self-pipe wakes poll(2), so that a signal that arrives just before
 * the relay goes to sleep is not missed.
 */
static volatile sig_atomic_t relay_stopping;
static volatile sig_atomic_t relay_signal;
static int relay_wake_fd = -1;

/* One run of the relay. */
struct relay {
	struct config		 cfg;
	struct db		*db;
	struct hc		*hc;
	const struct ca_driver	*drv;
	struct outbox_conf	 oc;
	struct outbox_batch	 batch;		/* rows claimed, not handled */
	struct outbox_metrics	 m;
	char			 owner[OUTBOX_OWNER_MAX];
	int			 sock;		/* the nudge socket, -1 */
	int			 sock_made;	/* ours to unlink at exit */
	int			 pipe[2];	/* the self-pipe, -1 */
	int			 metrics_errno;	/* the last failure logged */
	/* E-mail since the start, by outcome. */
	uint64_t		 mail_sent;
	uint64_t		 mail_retry;
	uint64_t		 mail_dead;
	/* Runs in a row whose server did not answer, and the end of the
	 * pause that follows them (monotonic ms, 0: none). */
	unsigned int		 mail_downs;
	int64_t			 mail_quiet_until;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: revportal-relay [-t] [-c CONFIG]\n"
	    "  -c FILE     the configuration (default %s)\n"
	    "  -t          check the configuration and the [relay] files, "
	    "then exit\n"
	    "  -h, --help  this text\n", RELAY_CONFIG);
}

/* SIGTERM, SIGINT: stop after the row in hand; wake poll(2). */
static void
relay_on_signal(int sig)
{
	int	 saved = errno;
	ssize_t	 r;

	relay_signal = sig;
	relay_stopping = 1;
	if (relay_wake_fd != -1) {
		r = write(relay_wake_fd, "", 1);
		(void)r;	/* a full pipe wakes poll(2) as well */
	}
	errno = saved;
}

/*
 * Checks the TLS file path named by [relay] key of the configuration
 * cpath with hc_file_safe(): a regular file; with secret set (the client
 * key) owned by the relay's user and closed to group and others;
 * otherwise (the trust anchors, the client certificate) writable by its
 * owner alone, so that no one else can swap the CA the relay trusts or
 * the certificate it shows.  Returns 0, or -1 with err filled.
 */
static int
relay_check_file(const char *cpath, const char *key, const char *path,
    int secret, char *err, size_t errlen)
{
	char	 why[256];

	if (hc_file_safe(path, secret, why, sizeof(why)))
		return 0;
	(void)snprintf(err, errlen, "%s: [relay] %s: %s: %s", cpath, key,
	    path, why);
	return -1;
}

/*
 * What only the relay needs of the configuration (conf.c has checked
 * each value and the rules between them): a CA URL, a driver for the
 * backend, and the TLS files, the key readable by its owner only; and
 * [mail] (mail_conf_check(), its trust anchors file).  cpath names the
 * configuration in messages.  Returns 0, or -1 with err filled.
 */
static int
relay_check(struct relay *rl, const char *cpath, char *err, size_t errlen)
{
	const struct config	*c = &rl->cfg;
	char			 why[256];

	if (c->relay_url[0] == '\0') {
		(void)snprintf(err, errlen, "%s: [relay] url: not set; name "
		    "the CA's base URL (https://...)", cpath);
		return -1;
	}
	if ((rl->drv = ca_driver_get((enum ca_backend)c->relay_backend)) ==
	    NULL) {
		(void)snprintf(err, errlen, "%s: [relay] backend: no driver",
		    cpath);
		return -1;
	}
	if ((c->relay_ca_file[0] != '\0' && relay_check_file(cpath,
	    "ca_file", c->relay_ca_file, 0, err, errlen) == -1) ||
	    (c->relay_cert_file[0] != '\0' && relay_check_file(cpath,
	    "cert_file", c->relay_cert_file, 0, err, errlen) == -1) ||
	    (c->relay_key_file[0] != '\0' && relay_check_file(cpath,
	    "key_file", c->relay_key_file, 1, err, errlen) == -1))
		return -1;
	if (mail_conf_check(c, why, sizeof(why)) != RP_OK) {
		(void)snprintf(err, errlen, "%s: %s", cpath, why);
		return -1;
	}
	if (c->mail_url[0] != '\0' && c->mail_ca_file[0] != '\0' &&
	    !hc_file_safe(c->mail_ca_file, 0, why, sizeof(why))) {
		(void)snprintf(err, errlen, "%s: [mail] ca_file: %s: %s",
		    cpath, c->mail_ca_file, why);
		return -1;
	}
	return 0;
}

/*
 * Binds the nudge socket, a unix datagram socket at [relay] socket with
 * mode 0660 (the workers send to it).  A socket file left by a relay
 * that died is replaced; one that a running relay answers on is an error,
 * and so is any file that is not a socket.  Returns 0, or -1 with err
 * filled.
 */
static int
relay_bind(struct relay *rl, char *err, size_t errlen)
{
	struct sockaddr_un	 sa;
	struct stat		 st;
	const char		*path = rl->cfg.relay_socket;
	size_t			 len = strlen(path);
	mode_t			 old;
	int			 fd, probe, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len >= sizeof(sa.sun_path)) {
		(void)snprintf(err, errlen, "[relay] socket: %s: too long for "
		    "a unix socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, len + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			(void)snprintf(err, errlen, "[relay] socket: %s "
			    "exists and is not a socket", path);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (probe != -1) {
			rc = connect(probe, (struct sockaddr *)&sa,
			    sizeof(sa));
			(void)close(probe);	/* never written to */
			if (rc == 0) {
				(void)snprintf(err, errlen, "[relay] socket: "
				    "%s is in use by another running relay",
				    path);
				return -1;
			}
		}
		if (unlink(path) == -1) {
			(void)snprintf(err, errlen, "[relay] socket: unlink "
			    "%s: %s", path, strerror(errno));
			return -1;
		}
	} else if (errno != ENOENT) {
		(void)snprintf(err, errlen, "[relay] socket: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		(void)snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	(void)umask(old);
	if (rc == -1) {
		(void)snprintf(err, errlen, "[relay] socket: bind %s: %s",
		    path, strerror(errno));
		(void)close(fd);	/* nothing was bound */
		return -1;
	}
	rl->sock = fd;
	rl->sock_made = 1;
	return 0;
}

/*
 * Installs the handlers of SIGTERM and SIGINT (without SA_RESTART, so
 * that poll(2) returns) and the self-pipe they write to; SIGPIPE is
 * ignored.  Returns 0, or -1 with err filled.
 */
static int
relay_signals(struct relay *rl, char *err, size_t errlen)
{
	struct sigaction	 sa;
	int			 i, fl;

	if (pipe(rl->pipe) == -1) {
		(void)snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++)
		if ((fl = fcntl(rl->pipe[i], F_GETFL)) == -1 ||
		    fcntl(rl->pipe[i], F_SETFL, fl | O_NONBLOCK) == -1 ||
		    fcntl(rl->pipe[i], F_SETFD, FD_CLOEXEC) == -1) {
			(void)snprintf(err, errlen, "pipe: %s",
			    strerror(errno));
			return -1;
		}
	relay_wake_fd = rl->pipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = relay_on_signal;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		(void)snprintf(err, errlen, "signal set-up: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads whatever woke the relay: nudges and signal bytes, bounded. */
static void
relay_drain(struct relay *rl)
{
	char		 b[64];
	unsigned int	 i;

	for (i = 0; i < RELAY_DRAIN_MAX; i++)
		if (recv(rl->sock, b, sizeof(b), MSG_DONTWAIT) == -1 &&
		    errno != EINTR)
			break;
	for (i = 0; i < RELAY_DRAIN_MAX; i++)
		if (read(rl->pipe[0], b, sizeof(b)) <= 0 && errno != EINTR)
			break;
}

/* Appends the e-mail counters to the relay's figures. */
static enum rp_err
relay_mail_metrics(const struct relay *rl, struct buf *b)
{
	return buf_addf(b, "# HELP revportal_relay_mail_total E-mail "
	    "messages handled, by the outcome recorded.\n"
	    "# TYPE revportal_relay_mail_total counter\n"
	    "revportal_relay_mail_total{outcome=\"sent\"} %llu\n"
	    "revportal_relay_mail_total{outcome=\"retry\"} %llu\n"
	    "revportal_relay_mail_total{outcome=\"dead\"} %llu\n",
	    (unsigned long long)rl->mail_sent,
	    (unsigned long long)rl->mail_retry,
	    (unsigned long long)rl->mail_dead);
}

/* Milliseconds of the monotonic clock (0 should it fail). */
static int64_t
relay_mono(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends at most max messages of the e-mail that is due (mail_run(), all
 * within one [mail] timeout_ms) and counts them; nothing while e-mail
 * is paused.  A run whose server did not answer pauses e-mail for
 * mail_pause_ms(), longer each time in a row; a run that reached the
 * server ends that.  Sets *next to when e-mail is due again: the next
 * message, or the end of the pause (0: none).  Returns 0, or -1 after a
 * database error (logged).
 */
static int
relay_mail(struct relay *rl, unsigned int max, int64_t *next)
{
	struct mail_report	 rep;
	struct rp_errinfo	 ei;
	int64_t			 now, mono, pause;
	enum rp_err		 e;

	*next = 0;
	if (rl->cfg.mail_url[0] == '\0')
		return 0;
	now = rp_now_ms();
	mono = relay_mono();
	if (rl->mail_quiet_until != 0) {
		if (mono < rl->mail_quiet_until) {
			*next = now + (rl->mail_quiet_until - mono);
			return 0;
		}
		rl->mail_quiet_until = 0;
	}
	memset(&ei, 0, sizeof(ei));
	e = mail_run(rl->db, &rl->cfg, rl->owner, now, max, &rep, &ei);
	rl->mail_sent += rep.sent;
	rl->mail_retry += rep.retry;
	rl->mail_dead += rep.dead;
	if (rep.down) {
		if (rl->mail_downs < UINT_MAX)
			rl->mail_downs++;
		pause = mail_pause_ms(rl->cfg.mail_timeout_ms,
		    rl->mail_downs);
		rl->mail_quiet_until = relay_mono() + pause;
		rplog(RPLOG_WARN, "relay_mail_paused", "downs=%u "
		    "pause_ms=%lld", rl->mail_downs, (long long)pause);
		*next = rp_now_ms() + pause;
	} else if (rep.sent + rep.retry + rep.dead > 0)
		rl->mail_downs = 0;
	if (e == RP_OK && !rep.down)
		e = mail_next(rl->db, next);
	if (e != RP_OK) {
		rplog(RPLOG_WARN, "relay_mail_error", "error=%s code=%s "
		    "msg=\"%s\"", rp_err_name(e), ei.code != NULL ? ei.code :
		    "-", ei.msg);
		return -1;
	}
	return 0;
}

/*
 * Writes the relay's figures and the queue st (NULL when it could not be
 * read) to [relay] metrics_file, atomically: a temporary file beside it,
 * renamed over it.  A failure is logged once until it changes.
 */
static void
relay_write_metrics(struct relay *rl, const struct outbox_stats *st,
    int64_t now)
{
	const char	*path = rl->cfg.relay_metrics_file;
	char		 tmp[RP_CONF_STR + 8];
	struct buf	 b;
	const char	*p;
	size_t		 left;
	ssize_t		 w;
	int		 fd = -1, n, err = 0;

	if (path[0] == '\0')
		return;
	buf_init(&b, OUTBOX_METRICS_MAX);
	if (outbox_metrics_render(&rl->m, st, now, &b) != RP_OK ||
	    relay_mail_metrics(rl, &b) != RP_OK) {
		err = ENOMEM;
		goto out;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		err = ENAMETOOLONG;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0640);
	if (fd == -1) {
		err = errno;
		goto out;
	}
	for (p = b.p, left = b.len; left > 0; p += w, left -= (size_t)w)
		if ((w = write(fd, p, left)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			err = errno;
			goto out;
		}
	n = close(fd);
	fd = -1;
	if (n == -1 || rename(tmp, path) == -1)
		err = errno;
out:
	if (fd != -1)
		(void)close(fd);	/* the file is removed below */
	if (err != 0 && err != ENAMETOOLONG && err != ENOMEM)
		(void)unlink(tmp);
	if (err != rl->metrics_errno) {
		if (err != 0)
			rplog(RPLOG_WARN, "relay_metrics", "file=%s error=%s",
			    path, strerror(err));
		else
			rplog(RPLOG_INFO, "relay_metrics", "file=%s written",
			    path);
	}
	rl->metrics_errno = err;
	buf_free(&b);
}

/* The word of each result in the log. */
static const char *const relay_results[OB__MAX] = {
	[OB_NONE] = "none",
	[OB_DONE] = "done",
	[OB_PENDING] = "pending",
	[OB_RETRY] = "retry",
	[OB_DEAD] = "dead",
	[OB_MOVED] = "moved",
	[OB_RELEASED] = "released",
	[OB_POSTPONED] = "postponed",
};

/* Logs one turn: which row, what became of it, the calls made. */
static void
relay_log(const struct outbox_report *rep)
{
	enum rplog_level	 level = RPLOG_INFO;
	double			 s = 0;
	unsigned int		 i;

	if (rep->result == OB_RETRY || rep->result == OB_MOVED ||
	    rep->moved)
		level = RPLOG_WARN;
	else if (rep->result == OB_DEAD)
		level = RPLOG_ERROR;
	for (i = 0; i < rep->calls && i < 2; i++)
		s += rep->call_seconds[i];
	rplog(level, "relay_delivery", "request=%s key=%s result=%s "
	    "checked=%d delivered=%d superseded=%d http=%ld seconds=%.3f "
	    "completed=%d%s%s", rep->public_id, rep->idem_key,
	    relay_results[rep->result], rep->checked, rep->delivered,
	    rep->superseded, rep->http_status, s, rep->completed,
	    rep->moved ? " request_state=" : "",
	    rep->moved ? dom_state_name(rep->moved_to) : "");
}

/*
 * The relay's loop: delivers every due row, sends e-mail, writes the
 * figures, then sleeps until a nudge, a signal, the next row or message
 * due or poll_ms.  E-mail never holds the CA's queue up for more than
 * one [mail] timeout_ms: a round that delivered CA work sends none (the
 * next round, woken at once, does), a round while rows wait for the CA
 * sends one message at most, any other at most MAIL_RUN_MAX within that
 * time, and after a server that did not answer relay_mail() pauses
 * e-mail.  Returns the exit status: EXIT_OK once stopped by a signal,
 * EXIT_FAIL when poll(2) fails.
 */
static int
relay_loop(struct relay *rl)
{
	struct outbox_report	 rep;
	struct outbox_stats	 st;
	struct rp_errinfo	 ei;
	struct pollfd		 pfd[2];
	int64_t			 now, wait, mail_due;
	unsigned int		 n, worked, mail_max;
	enum rp_err		 e;
	int			 failed, have;

	while (!relay_stopping) {
		failed = 0;
		worked = 0;
		for (n = 0; n < RELAY_BATCH_MAX && !relay_stopping; n++) {
			memset(&ei, 0, sizeof(ei));
			e = outbox_run(rl->db, &rl->cfg.policy, &rl->oc,
			    &rl->batch, rl->drv, rl->hc, rl->cfg.relay_url,
			    &rep, &ei);
			if (rep.result != OB_NONE) {
				worked++;
				relay_log(&rep);
				outbox_metrics_count(&rl->m, &rep);
			}
			if (e != RP_OK) {
				rplog(RPLOG_WARN, "relay_error", "error=%s "
				    "code=%s msg=\"%s\"", rp_err_name(e),
				    ei.code != NULL ? ei.code : "-", ei.msg);
				failed = 1;
				break;
			}
			if (rep.result == OB_NONE)
				break;
		}
		/* E-mail after the CA's round, out of its way. */
		mail_max = MAIL_RUN_MAX;
		if (worked > 0)
			mail_max = 0;
		else if (rl->cfg.mail_url[0] != '\0' &&
		    outbox_stats(rl->db, rp_now_ms(), &st) == RP_OK &&
		    st.depth > 0)
			mail_max = 1;
		mail_due = 0;
		if (!relay_stopping && relay_mail(rl, mail_max, &mail_due) ==
		    -1)
			failed = 1;
		now = rp_now_ms();
		have = outbox_stats(rl->db, now, &st) == RP_OK;
		if (!have)
			failed = 1;
		relay_write_metrics(rl, have ? &st : NULL, now);
		if (relay_stopping)
			break;
		wait = rl->cfg.relay_poll_ms;
		if (failed) {
			if (wait > RELAY_ERROR_WAIT_MS)
				wait = RELAY_ERROR_WAIT_MS;
		} else if (n == RELAY_BATCH_MAX)
			wait = 0;
		else {
			if (st.next_due != 0 && st.next_due - now < wait)
				wait = st.next_due > now ? st.next_due - now : 0;
			if (mail_due != 0 && mail_due - now < wait)
				wait = mail_due > now ? mail_due - now : 0;
		}
		pfd[0].fd = rl->sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = rl->pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, (int)wait) == -1 && errno != EINTR) {
			rplog(RPLOG_ERROR, "relay_poll", "error=%s",
			    strerror(errno));
			return EXIT_FAIL;
		}
		relay_drain(rl);
	}
	rplog(RPLOG_INFO, "relay_stopping", "signal=%d", (int)relay_signal);
	return EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct relay		*rl;
	struct hc_conf		 hcc;
	const char		*cpath = RELAY_CONFIG;
	char			 err[1024];
	int			 ch, check = 0, rc = EXIT_FAIL;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:th", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "revportal-relay: option -%c needs a "
			    "value\n", optopt);
			usage(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "revportal-relay: unknown option "
			    "%s\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "revportal-relay: unexpected argument %s\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	if ((rl = calloc(1, sizeof(*rl))) == NULL) {
		fprintf(stderr, "revportal-relay: out of memory\n");
		return EXIT_FAIL;
	}
	rl->sock = rl->pipe[0] = rl->pipe[1] = -1;
	conf_defaults(&rl->cfg);
	if (conf_load(&rl->cfg, cpath, err, sizeof(err)) != RP_OK ||
	    relay_check(rl, cpath, err, sizeof(err)) == -1)
		goto fail;
	rplog_set_level(rl->cfg.log_level);
	/* The relay completes requests: their e-mail is queued here too. */
	mail_setup(&rl->cfg);
	memset(&hcc, 0, sizeof(hcc));
	hcc.ca_file = rl->cfg.relay_ca_file;
	hcc.cert_file = rl->cfg.relay_cert_file;
	hcc.key_file = rl->cfg.relay_key_file;
	hcc.allow_http = rl->cfg.relay_allow_http;
	hcc.connect_timeout_ms = rl->cfg.relay_connect_timeout_ms;
	hcc.timeout_ms = rl->cfg.relay_timeout_ms;
	hcc.max_response = rl->cfg.relay_max_response;
	if ((rl->hc = hc_new(&hcc, err, sizeof(err))) == NULL)
		goto fail;
	if (check) {
		fprintf(stderr, "revportal-relay: %s: configuration ok\n",
		    cpath);
		rc = EXIT_OK;
		goto out;
	}
	if ((rl->db = db_open(&rl->cfg, err, sizeof(err))) == NULL ||
	    relay_signals(rl, err, sizeof(err)) == -1 ||
	    relay_bind(rl, err, sizeof(err)) == -1)
		goto fail;

	if (outbox_owner(rl->owner, sizeof(rl->owner)) != RP_OK) {
		(void)snprintf(err, sizeof(err), "no randomness for the lease "
		    "owner's name");
		goto fail;
	}
	rl->oc.owner = rl->owner;
	rl->oc.actor = RELAY_ACTOR;
	rl->oc.lease_ms = rl->cfg.relay_lease_seconds * 1000u;
	/* conf.c holds it below lease_ms, at most 3600000. */
	rl->oc.call_max_ms = (unsigned int)conf_relay_call_max(&rl->cfg);
	rl->oc.backoff_min_ms = rl->cfg.relay_backoff_min_ms;
	rl->oc.backoff_max_ms = rl->cfg.relay_backoff_max_ms;
	rl->oc.pending_check_ms = rl->cfg.relay_pending_check_ms;
	rl->oc.pending_max_hours = rl->cfg.relay_pending_max_hours;
	/* What an EJBCA enrolment (a recovery) names. */
	rl->oc.ejbca_ca_name = rl->cfg.relay_ejbca_ca_name;
	rl->oc.ejbca_cert_profile = rl->cfg.relay_ejbca_cert_profile;
	rl->oc.ejbca_ee_profile = rl->cfg.relay_ejbca_ee_profile;
	rl->oc.batch = RELAY_CLAIM;
	rl->oc.stop = &relay_stopping;
	rplog(RPLOG_INFO, "relay_start", "backend=%s url=%s owner=%s "
	    "socket=%s mail=%s", rl->drv->name, rl->cfg.relay_url, rl->owner,
	    rl->cfg.relay_socket, rl->cfg.mail_url[0] != '\0' ?
	    rl->cfg.mail_url : "off");
	rc = relay_loop(rl);
	/* The rows claimed but not handed to the CA go back at once. */
	if (outbox_batch_release(rl->db, &rl->oc, &rl->batch, rp_now_ms()) !=
	    RP_OK)
		rplog(RPLOG_WARN, "relay_release", "error=\"claimed rows stay "
		    "leased until their leases end\"");
	rplog(rc == EXIT_OK ? RPLOG_INFO : RPLOG_ERROR, "relay_stopped",
	    "status=%d", rc);
	goto out;
fail:
	fprintf(stderr, "revportal-relay: %s\n", err);
out:
	if (rl->sock_made && unlink(rl->cfg.relay_socket) == -1)
		rplog(RPLOG_WARN, "relay_unlink", "error=%s", strerror(errno));
	if (rl->sock != -1)
		(void)close(rl->sock);		/* only ever read */
	relay_wake_fd = -1;
	if (rl->pipe[0] != -1)
		(void)close(rl->pipe[0]);
	if (rl->pipe[1] != -1)
		(void)close(rl->pipe[1]);
	hc_free(rl->hc);
	db_close(rl->db);
	free(rl);
	return rc;
}
