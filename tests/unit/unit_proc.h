/*
 * Child processes for the unit tests that talk to a real local server
 * (test_hc, test_ca_ejbca_contract, test_ca_cfssl): a temporary
 * directory, throwaway certificates (tests/contract/mkcerts.sh), a server
 * started as a child that dies with the test (PR_SET_PDEATHSIG), waiting
 * for it to listen, and stopping it.  Include after unit.h; run the tests
 * from the top of the repository.
 */
#ifndef REVPORTAL_UNIT_PROC_H
#define REVPORTAL_UNIT_PROC_H

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define UP_DIR_MAX	64u

/* Sleeps ms milliseconds. */
static inline void
up_sleep_ms(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* Makes a fresh directory /tmp/<tag>-XXXXXX into dir.  Returns 0 or -1. */
static inline int
up_tmpdir(const char *tag, char dir[UP_DIR_MAX])
{
	int	 n;

	n = snprintf(dir, UP_DIR_MAX, "/tmp/%s-XXXXXX", tag);
	if (n < 0 || (size_t)n >= UP_DIR_MAX)
		return -1;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/*
 * Starts argv[0] (searched in PATH) with argv as a child whose standard
 * output and error go to log (appended; NULL: inherited) and that gets
 * SIGTERM when the test dies.  Returns its pid, or -1.
 */
static inline pid_t
up_spawn(char *const argv[], const char *log)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		return pid;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		_exit(126);
	if (log != NULL) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
		    dup2(fd, STDERR_FILENO) == -1)
			_exit(126);
		if (fd > STDERR_FILENO)
			(void)close(fd);
	}
	execvp(argv[0], argv);
	_exit(127);
}

/* Runs argv to its end.  Returns its exit status, or -1. */
static inline int
up_run(char *const argv[], const char *log)
{
	pid_t	 pid;
	int	 st;

	if ((pid = up_spawn(argv, log)) == -1)
		return -1;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Waits up to ms for the child pid to write its port number into
 * port_file.  Returns the port, or -1 when the child died or the time
 * ran out.
 */
static inline int
up_wait_port(const char *port_file, pid_t pid, long ms)
{
	char	 line[16];
	FILE	*f;
	long	 waited;
	char	*end;
	long	 port;

	for (waited = 0; waited < ms; waited += 20) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		if ((f = fopen(port_file, "r")) != NULL) {
			end = fgets(line, sizeof(line), f);
			(void)fclose(f);
			if (end != NULL) {
				errno = 0;
				port = strtol(line, &end, 10);
				if (errno == 0 && end != line && port > 0 &&
				    port < 65536)
					return (int)port;
			}
		}
		up_sleep_ms(20);
	}
	return -1;
}

/*
 * Waits up to ms until something accepts TCP connections on
 * 127.0.0.1:port.  Returns 0, or -1 when pid died or the time ran out.
 */
static inline int
up_wait_listen(int port, pid_t pid, long ms)
{
	struct sockaddr_in	 sin;
	long			 waited;
	int			 fd, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (waited = 0; waited < ms; waited += 50) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return -1;
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		(void)close(fd);
		if (rc == 0)
			return 0;
		up_sleep_ms(50);
	}
	return -1;
}

/* Stops the child pid: SIGTERM, then SIGKILL after two seconds. */
static inline void
up_stop(pid_t pid)
{
	int	 i;

	if (pid <= 0)
		return;
	(void)kill(pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		up_sleep_ms(20);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

/*
 * Returns a TCP port on 127.0.0.1 that was free a moment ago (bound to
 * port 0 and released), or -1.  For servers that cannot report the port
 * they chose.
 */
static inline int
up_free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	(void)close(fd);
	return port;
}

/* Writes the throwaway keys and certificates into dir.  Returns 0 or -1. */
static inline int
up_mkcerts(const char *dir)
{
	char *const	 argv[] = { "sh", "tests/contract/mkcerts.sh",
	    (char *)dir, NULL };

	return up_run(argv, NULL) == 0 ? 0 : -1;
}

/* Removes dir and everything in it. */
static inline void
up_rmrf(const char *dir)
{
	char *const	 argv[] = { "rm", "-rf", (char *)dir, NULL };

	if (dir[0] != '\0')
		(void)up_run(argv, NULL);
}

#endif /* REVPORTAL_UNIT_PROC_H */
