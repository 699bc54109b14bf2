/*
 * The whole AUTHORIZATION state as a client would drive it: the input is
 * what the client sends.  A socketpair stands in for the monitor with a
 * queue of "bad password" verdicts; a receive timeout ends the session if
 * the queue runs dry.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/capa.h"
#include "common/wire.h"
#include "common/config.h"
#include "common/log.h"
#include "prelogin/login.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct config	cf;
static int		devnull = -1;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char	verdict[2] = { WIRE_VERSION, VERDICT_FAIL };
	/* A SCRAM challenge: 4096 iterations, salt "s", server nonce "n". */
	unsigned char	challenge[] = { WIRE_VERSION, WIRE_SCRAM_CHALLENGE,
	    0, 0, 0x10, 0, 0, 1, 's', 0, 1, 'n' };
	struct timeval	tv = { 0, 1000 };
	struct login_opts lo;
	int		in[2], sv[2], i, saved0, saved1;

	if (len == 0 || len > 60000)
		return 0;
	if (devnull == -1) {
		log_init("fuzz", 1);
		config_defaults(&cf);
		cf.login_timeout = 1;
		cf.max_auth_failures = 100;
		devnull = open("/dev/null", O_WRONLY);
	}
	if (pipe(in) == -1)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1) {
		close(in[0]);
		close(in[1]);
		return 0;
	}
	fcntl(in[1], F_SETPIPE_SZ, 65536);
	if (write(in[1], data, len) != (ssize_t)len)
		goto out;
	close(in[1]);
	in[1] = -1;
	/* Verdicts, or SCRAM challenges to reach the client-final parser. */
	for (i = 0; i < 8; i++)
		if (data[0] & 2)
			send(sv[1], challenge, sizeof(challenge), 0);
		else
			send(sv[1], verdict, sizeof(verdict), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	saved0 = dup(0);
	saved1 = dup(1);
	dup2(in[0], 0);
	dup2(devnull, 1);
	memset(&lo, 0, sizeof(lo));
	lo.monitor_fd = sv[0];
	lo.challenge = "<1.2@fuzz>";
	lo.relay_fd = -1;
	lo.remote = "fuzz";
	lo.link_secure = data[0] & 1;	/* both plaintext policies */
	lo.sasl = SASL_CLEARTEXT | SASL_SCRAM_SHA1 | SASL_SCRAM_SHA256 |
	    SASL_SCRAM_SHA256_PLUS;
	login_run(&cf, &lo);
	dup2(saved0, 0);
	dup2(saved1, 1);
	close(saved0);
	close(saved1);
out:
	close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
