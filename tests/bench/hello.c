/*
 * hello-fcgi: the benchmark baseline.  The smallest libfcgi program that
 * answers every request with a fixed plain-text body, pre-forked like the
 * portal so that `make bench` compares like with like.
 *
 *	hello-fcgi SOCKET_PATH WORKERS
 *
 * The parent creates the unix socket, forks WORKERS-1 children and then
 * accepts on the socket itself, so WORKERS processes serve in all.  On
 * SIGTERM or SIGINT the parent terminates the children, reaps them,
 * removes the socket and exits 0.  Children die on SIGTERM by default.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define HELLO_WORKERS_MAX	256
#define HELLO_BACKLOG		1024

static const char hello_answer[] =
    "Content-Type: text/plain\r\n\r\nHello, world\n";

/*
 * Read by the signal handler only; written before SIGTERM is unblocked.
 */
static pid_t		 children[HELLO_WORKERS_MAX];
static int		 nchildren;
static const char	*sockpath;

/*
 * Terminates and reaps the children, removes the socket and exits with
 * status.  Everything in it is async-signal-safe (kill, waitpid, unlink,
 * _exit), so the signal handler calls it directly: that avoids the window
 * between checking a flag and blocking in accept(2) again.
 */
static void
stop_all(int status)
{
	int	 i;

	for (i = 0; i < nchildren; i++)
		(void)kill(children[i], SIGTERM);
	for (i = 0; i < nchildren; i++)
		while (waitpid(children[i], NULL, 0) == -1 && errno == EINTR)
			continue;
	(void)unlink(sockpath);
	_exit(status);
}

/* The parent's SIGTERM/SIGINT handler. */
static void
parent_stop(int sig)
{
	(void)sig;
	stop_all(0);
}

/*
 * Answers requests on fd until accept fails.  Returns 0 on a normal end,
 * 1 if the request could not be set up.
 */
static int
serve(int fd)
{
	FCGX_Request	 req;

	if (FCGX_InitRequest(&req, fd, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		(void)FCGX_PutStr(hello_answer, (int)(sizeof(hello_answer) - 1),
		    req.out);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	return 0;
}

/*
 * Parses a worker count in 1..HELLO_WORKERS_MAX.  Returns -1 if invalid.
 */
static int
parse_workers(const char *s)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' ||
	    n < 1 || n > HELLO_WORKERS_MAX)
		return -1;
	return (int)n;
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	sigset_t		 block, old;
	pid_t			 pid;
	int			 fd, i, workers;

	if (argc != 3 || (workers = parse_workers(argv[2])) < 0) {
		fprintf(stderr, "usage: hello-fcgi SOCKET_PATH WORKERS(1-%d)\n",
		    HELLO_WORKERS_MAX);
		return 2;
	}
	sockpath = argv[1];

	if (FCGX_Init() != 0) {
		fprintf(stderr, "hello-fcgi: FCGX_Init failed\n");
		return 1;
	}
	/* A stale socket from a killed run would make bind(2) fail. */
	if (unlink(sockpath) == -1 && errno != ENOENT) {
		fprintf(stderr, "hello-fcgi: unlink %s: %s\n", sockpath,
		    strerror(errno));
		return 1;
	}
	if ((fd = FCGX_OpenSocket(sockpath, HELLO_BACKLOG)) < 0) {
		fprintf(stderr, "hello-fcgi: cannot listen on %s\n", sockpath);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	/* Hold SIGTERM/SIGINT until children[] is complete. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	(void)sigprocmask(SIG_BLOCK, &block, &old);

	for (i = 1; i < workers; i++) {
		if ((pid = fork()) == -1) {
			perror("hello-fcgi: fork");
			break;
		}
		if (pid == 0) {
			sa.sa_handler = SIG_DFL;
			(void)sigaction(SIGTERM, &sa, NULL);
			(void)sigaction(SIGINT, &sa, NULL);
			(void)sigprocmask(SIG_SETMASK, &old, NULL);
			_exit(serve(fd));
		}
		children[nchildren++] = pid;
	}

	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGINT);
	sa.sa_handler = parent_stop;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);

	if (nchildren != workers - 1) {
		/* fork failed: shut down what exists. */
		stop_all(1);
	}
	fprintf(stderr, "hello-fcgi: %d workers on %s\n", workers, sockpath);
	stop_all(serve(fd));
	return 0;
}
