/*
 * revportal: the supervisor.  It reads the configuration, parses the
 * templates, migrates the database and opens the FastCGI socket once, then
 * pre-forks the workers, replaces any that die, and on SIGTERM or SIGINT
 * stops them all and exits.  Start-up errors exit with a message naming
 * what is wrong; after that, nothing here exits without stopping workers.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

#define MAIN_STOP_GRACE		10	/* seconds before SIGKILL */
#define MAIN_BACKOFF_MAX	30	/* seconds between restarts, at most */

/*
 * Seconds on the monotonic clock: restarts and the stop grace period must
 * not jump when the wall clock is set.
 */
static time_t
main_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return ts.tv_sec;
}

struct slot {
	pid_t	 pid;		/* 0: not running */
	time_t	 started;
	time_t	 restart_at;	/* when to start it again, if not running */
	int	 backoff;	/* seconds */
};

/*
 * jansson's free: JSON bodies may hold a passphrase, and jansson copies
 * every string it parses; wipe each block before it goes back.
 */
static void
main_json_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void
usage(void)
{
	fprintf(stderr, "usage: revportal [-t] -c config.ini\n"
	    "  -c FILE  the configuration (see deploy/revportal.ini)\n"
	    "  -t       check the configuration and templates, then exit\n");
	exit(2);
}

/*
 * Returns the listening FastCGI socket: the one systemd passed (socket
 * activation, fd 3) or a new unix socket at cfg->socket, mode 0660.  A
 * socket file left by a crashed run is replaced; one that answers belongs
 * to a running instance and is an error.  *created says whether to unlink
 * it at exit.  Returns -1 with a message on stderr on failure.
 */
static int
main_listen(const struct config *cfg, int *created)
{
	struct sockaddr_un	 sa;
	struct stat		 st;
	const char		*fds = getenv("LISTEN_FDS");
	const char		*pid = getenv("LISTEN_PID");
	char			*end;
	long			 p;
	mode_t			 old;
	int			 fd, probe;

	*created = 0;
	if (fds != NULL && pid != NULL) {
		errno = 0;
		p = strtol(pid, &end, 10);
		if (errno == 0 && *end == '\0' && p == (long)getpid()) {
			if (strcmp(fds, "1") != 0) {
				fprintf(stderr, "revportal: systemd passed "
				    "%s sockets; expected 1\n", fds);
				return -1;
			}
			return 3;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(cfg->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "revportal: [server] socket: path too long "
		    "for a unix socket\n");
		return -1;
	}
	memcpy(sa.sun_path, cfg->socket, strlen(cfg->socket) + 1);
	if (lstat(cfg->socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "revportal: %s exists and is not a "
			    "socket\n", cfg->socket);
			return -1;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0) {
			if (connect(probe, (struct sockaddr *)&sa,
			    sizeof(sa)) == 0) {
				close(probe);
				fprintf(stderr, "revportal: %s is in use by "
				    "another running instance\n", cfg->socket);
				return -1;
			}
			close(probe);
		}
		if (unlink(cfg->socket) != 0) {
			fprintf(stderr, "revportal: unlink %s: %s\n",
			    cfg->socket, strerror(errno));
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
		fprintf(stderr, "revportal: socket: %s\n", strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		fprintf(stderr, "revportal: bind %s: %s\n", cfg->socket,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	*created = 1;
	if (listen(fd, (int)cfg->backlog) != 0) {
		fprintf(stderr, "revportal: listen %s: %s\n", cfg->socket,
		    strerror(errno));
		close(fd);
		unlink(cfg->socket);
		return -1;
	}
	return fd;
}

/*
 * Starts the worker of slot s.  The child never returns: it serves until
 * told to stop (or its parent dies) and exits with fcgi_worker_run()'s
 * status.  Returns 0 in the parent, -1 if fork failed.
 */
static int
main_spawn(struct slot *s, int fd, const struct config *cfg,
    struct tmpl_set *tmpl, struct metrics *metrics, const sigset_t *orig)
{
	pid_t			 pid, parent = getpid();
	int			 rc;

	if ((pid = fork()) < 0) {
		rplog(RPLOG_ERROR, "fork_failed", "errno=%d", errno);
		return -1;
	}
	if (pid > 0) {
		s->pid = pid;
		s->started = main_now();
		return 0;
	}
	/* The worker installs its own handlers before unblocking. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		_exit(2);
	if (getppid() != parent)
		_exit(0);
	rc = fcgi_worker_run(fd, cfg, tmpl, metrics, orig);
	tmpl_free(tmpl);
	exit(rc);
}

/* Reaps every exited worker and schedules its restart. */
static void
main_reap(struct slot *slots, unsigned int n, int stopping)
{
	pid_t		 pid;
	int		 status;
	unsigned int	 i;
	time_t		 now = main_now();

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n; i++)
			if (slots[i].pid == pid)
				break;
		if (i == n)
			continue;
		slots[i].pid = 0;
		if (WIFSIGNALED(status))
			rplog(stopping ? RPLOG_INFO : RPLOG_WARN,
			    "worker_exit", "slot=%u pid=%ld signal=%d", i,
			    (long)pid, WTERMSIG(status));
		else
			rplog(stopping && WEXITSTATUS(status) == 0 ?
			    RPLOG_INFO : RPLOG_WARN, "worker_exit",
			    "slot=%u pid=%ld status=%d", i, (long)pid,
			    WEXITSTATUS(status));
		/* A worker that dies young is restarted ever more slowly. */
		if (now - slots[i].started < 2) {
			slots[i].backoff = slots[i].backoff ?
			    slots[i].backoff * 2 : 1;
			if (slots[i].backoff > MAIN_BACKOFF_MAX)
				slots[i].backoff = MAIN_BACKOFF_MAX;
		} else
			slots[i].backoff = 0;
		slots[i].restart_at = now + slots[i].backoff;
	}
}

static unsigned int
main_running(const struct slot *slots, unsigned int n)
{
	unsigned int	 i, k = 0;

	for (i = 0; i < n; i++)
		if (slots[i].pid != 0)
			k++;
	return k;
}

static void
main_signal_all(const struct slot *slots, unsigned int n, int sig)
{
	unsigned int	 i;

	for (i = 0; i < n; i++)
		if (slots[i].pid != 0)
			kill(slots[i].pid, sig);
}

int
main(int argc, char *argv[])
{
	struct config		 cfg;
	struct slot		 slots[RP_WORKERS_MAX];
	struct tmpl_set		*tmpl = NULL;
	struct metrics		*metrics = NULL;
	struct sig_ctx		*sc;
	const char		*cpath = NULL;
	char			 err[512];
	sigset_t		 set, orig;
	siginfo_t		 si;
	struct stat		 sst;
	struct timespec		 tick = { 1, 0 };
	time_t			 stop_at = 0;
	unsigned int		 i;
	enum rp_err		 e;
	int			 ch, check = 0, fd = -1, created = 0, rc = 1;
	int			 sig, killed = 0;

	while ((ch = getopt(argc, argv, "c:th")) != -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 't':
			check = 1;
			break;
		default:
			usage();
		}
	}
	if (cpath == NULL || optind != argc)
		usage();

	json_set_alloc_funcs(malloc, main_json_free);
	conf_defaults(&cfg);
	if (conf_load(&cfg, cpath, err, sizeof(err)) != RP_OK) {
		fprintf(stderr, "revportal: %s\n", err);
		return 1;
	}
	if (pass_cost_set(cfg.argon2_m_kib, cfg.argon2_t, cfg.argon2_p) !=
	    RP_OK) {
		fprintf(stderr, "revportal: %s: [argon2] cost out of range\n",
		    cpath);
		return 1;
	}
	if (mail_conf_check(&cfg, err, sizeof(err)) != RP_OK) {
		fprintf(stderr, "revportal: %s: %s\n", cpath, err);
		return 1;
	}
	/* Requests queue their e-mail only when [mail] is set. */
	mail_setup(&cfg);
	/*
	 * The dummy hash, made once here and inherited by every worker, so
	 * that no worker's first unknown serial costs more than the rest.
	 * Without it an unknown serial would answer without Argon2id work:
	 * refuse to start.
	 */
	if ((e = pass_dummy_init()) != RP_OK) {
		fprintf(stderr, "revportal: cannot make the dummy passphrase "
		    "hash (%s)\n", rp_err_name(e));
		return 1;
	}
	rplog_set_level(cfg.log_level);
	if ((tmpl = tmpl_load(cfg.templates, err, sizeof(err))) == NULL) {
		fprintf(stderr, "revportal: %s\n", err);
		return 1;
	}
	/*
	 * A check before the first start (systemd's ExecStartPre) finds no
	 * secret yet: the real start creates it.  One that exists must be
	 * right.
	 */
	if (check && lstat(cfg.secret_file, &sst) != 0 && errno == ENOENT)
		fprintf(stderr, "revportal: %s: not there yet; it will be "
		    "created at start\n", cfg.secret_file);
	else if (conf_load_secret(&cfg, !check, err, sizeof(err)) != RP_OK) {
		fprintf(stderr, "revportal: %s\n", err);
		goto out;
	}
	/*
	 * [signature] anchors_dir: loaded here once so that a directory
	 * without a usable trust anchor stops the start (and -t) with its
	 * reason, rather than every worker failing after the fork.
	 */
	if (cfg.sig_anchors_dir[0] != '\0') {
		if ((sc = sig_ctx_new(cfg.sig_anchors_dir,
		    cfg.sig_require_qscd, err, sizeof(err))) == NULL) {
			fprintf(stderr, "revportal: [signature] anchors_dir "
			    "%s: %s\n", cfg.sig_anchors_dir, err);
			goto out;
		}
		sig_ctx_free(sc);
	}
	if (check) {
		fprintf(stderr, "revportal: %s: configuration ok\n", cpath);
		rc = 0;
		goto out;
	}
	/*
	 * [argon2] answer_floor_ms 0: measured here, on this machine at this
	 * cost, before any worker forks (the workers read it from cfg).
	 */
	if (cfg.argon2_floor_ms == 0) {
		if ((e = pass_floor_ms(&cfg.argon2_floor_ms)) != RP_OK) {
			fprintf(stderr, "revportal: cannot measure the "
			    "passphrase answer floor (%s)\n", rp_err_name(e));
			goto out;
		}
		rplog(RPLOG_INFO, "answer_floor", "ms=%u auto=1",
		    cfg.argon2_floor_ms);
	} else
		rplog(RPLOG_INFO, "answer_floor", "ms=%u auto=0",
		    cfg.argon2_floor_ms);
	/*
	 * The Argon2id checks above left their 19 MiB or more in the heap;
	 * give it back, so that workers that never check a passphrase do
	 * not carry it.  A worker that does keeps it for its next check
	 * (glibc's sliding mmap threshold): paging in fresh memory for every
	 * check would cost half as much CPU again as the check itself.
	 */
	(void)malloc_trim(0);
	if (db_migrate(&cfg, err, sizeof(err)) != RP_OK) {
		fprintf(stderr, "revportal: %s\n", err);
		goto out;
	}
	if ((metrics = metrics_create()) == NULL) {
		fprintf(stderr, "revportal: cannot map the metrics area\n");
		goto out;
	}

	/*
	 * Signals arrive synchronously through sigtimedwait() below; the
	 * workers restore the original mask.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &orig) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "revportal: signal setup failed\n");
		goto out;
	}
	if ((fd = main_listen(&cfg, &created)) < 0)
		goto out;

	memset(slots, 0, sizeof(slots));
	rplog(RPLOG_INFO, "start", "workers=%u", cfg.workers);
	for (;;) {
		time_t now = main_now();

		if (stop_at == 0)
			for (i = 0; i < cfg.workers; i++)
				if (slots[i].pid == 0 &&
				    slots[i].restart_at <= now &&
				    main_spawn(&slots[i], fd, &cfg, tmpl,
				    metrics, &orig) != 0)
					slots[i].restart_at = now + 1;
		if (stop_at != 0) {
			if (main_running(slots, cfg.workers) == 0)
				break;
			/*
			 * Repeat SIGTERM each second: a worker between its
			 * stop check and accept() may have missed the first.
			 */
			if (now >= stop_at)
				killed = 1;
			main_signal_all(slots, cfg.workers,
			    now >= stop_at ? SIGKILL : SIGTERM);
		}
		sig = sigtimedwait(&set, &si, &tick);
		if (sig < 0 && errno != EAGAIN && errno != EINTR) {
			/* Cannot happen with a valid set; stop, never spin. */
			rplog(RPLOG_ERROR, "sigwait", "errno=%d", errno);
			if (stop_at == 0)
				stop_at = main_now() + MAIN_STOP_GRACE;
			(void)nanosleep(&tick, NULL);
		}
		if ((sig == SIGTERM || sig == SIGINT) && stop_at == 0) {
			rplog(RPLOG_INFO, "stopping", "signal=%d", sig);
			stop_at = main_now() + MAIN_STOP_GRACE;
			main_signal_all(slots, cfg.workers, SIGTERM);
		}
		main_reap(slots, cfg.workers, stop_at != 0);
	}
	/* Workers that had to be killed may have lost a request: say so. */
	rplog(killed ? RPLOG_ERROR : RPLOG_INFO, "stopped", "killed=%d",
	    killed);
	rc = killed ? 1 : 0;
out:
	if (fd >= 0 && created)
		unlink(cfg.socket);
	if (fd >= 0)
		close(fd);
	metrics_destroy(metrics);
	tmpl_free(tmpl);
	return rc;
}
