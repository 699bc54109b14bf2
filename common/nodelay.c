/* TCP_NODELAY on the client's connection: nodelay.h says why. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <unistd.h>

#include "common/log.h"
#include "common/nodelay.h"

static void
nodelay(int fd)
{
	int	one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1 && errno != ENOTSOCK && errno != EOPNOTSUPP &&
	    errno != ENOPROTOOPT && errno != EBADF)
		log_warn("TCP_NODELAY on descriptor %d", fd);
}

void
client_nodelay(void)
{
	struct stat	in, out;

	nodelay(STDIN_FILENO);
	if (fstat(STDIN_FILENO, &in) == 0 && fstat(STDOUT_FILENO, &out) == 0 &&
	    (in.st_dev != out.st_dev || in.st_ino != out.st_ino))
		nodelay(STDOUT_FILENO);
}
