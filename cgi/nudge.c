/*
 * The nudge: one datagram to revportal-relay after a worker queued an
 * action, so that the relay delivers at once rather than at its next poll.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

/*
 * Sends one byte to the relay's datagram socket without waiting.  A
 * missing relay, a full queue or any other failure is ignored on
 * purpose: the row is durable already and the relay's poll finds it.
 */
void
relay_nudge(const char *socket_path)
{
	struct sockaddr_un	 sun;
	size_t			 len;
	int			 fd;

	if (socket_path == NULL || (len = strlen(socket_path)) == 0 ||
	    len >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, socket_path, len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (sendto(fd, "!", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sizeof(sun)) == -1 &&
	    errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
		rplog(RPLOG_DEBUG, "relay_nudge", "errno=%d", errno);
	(void)close(fd);
}
