/*
 * OpenSSL behind the io transport hooks.  The descriptors are made
 * non-blocking: io.c waits with poll(2) against its deadlines, and these
 * functions report "would block" as EAGAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/clock.h"
#include "pop3/tls.h"

/* "what[ path]: OpenSSL's first reason" -- the path says which file. */
static void
ssl_reason(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	if (e == 0)
		buf[0] = '\0';
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s%s%s", what, path != NULL ? " " : "",
	    path != NULL ? path : "", buf[0] != '\0' ? ": " : "", buf);
	ERR_clear_error();
}

static int
load_chain(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509	*x;
	FILE	*fp;
	int	 n = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "tls_chain %s: %s", path, strerror(errno));
		return -1;
	}
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
		if (!SSL_CTX_add0_chain_cert(ctx, x)) {
			X509_free(x);
			break;
		}
		n++;
	}
	fclose(fp);
	ERR_clear_error();
	if (n == 0) {
		snprintf(err, errlen, "tls_chain %s: no certificate", path);
		return -1;
	}
	return 0;
}

static int
check_dates(SSL_CTX *ctx, char *err, size_t errlen)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);

	if (x == NULL) {
		snprintf(err, errlen, "no certificate loaded");
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		snprintf(err, errlen, "tls_cert: certificate has expired");
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		snprintf(err, errlen, "tls_cert: certificate is not valid yet");
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_context(const struct config *cf, int check_expiry, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;

	err[0] = '\0';
	if (cf->tls_cert[0] == '\0' && cf->tls_key[0] == '\0')
		return NULL;
	if (cf->tls_cert[0] == '\0' || cf->tls_key[0] == '\0') {
		snprintf(err, errlen, "tls_cert and tls_key go together");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_reason(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	/* Every connection is a new process: no session cache, no tickets. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Ephemeral DH groups chosen by key size, should a DHE suite be set. */
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!SSL_CTX_set_min_proto_version(ctx, cf->tls_min_version) ||
	    !SSL_CTX_set_cipher_list(ctx, cf->tls_ciphers) ||
	    !SSL_CTX_set_ciphersuites(ctx, cf->tls_ciphersuites))
		ssl_reason(err, errlen, "tls_ciphers/tls_ciphersuites", NULL);
	else if (SSL_CTX_use_certificate_chain_file(ctx, cf->tls_cert) != 1)
		ssl_reason(err, errlen, "tls_cert", cf->tls_cert);
	else if (SSL_CTX_use_PrivateKey_file(ctx, cf->tls_key,
	    SSL_FILETYPE_PEM) != 1)
		ssl_reason(err, errlen, "tls_key", cf->tls_key);
	else if (SSL_CTX_check_private_key(ctx) != 1)
		ssl_reason(err, errlen, "tls_key does not match tls_cert", NULL);
	else if (cf->tls_chain[0] != '\0' &&
	    load_chain(ctx, cf->tls_chain, err, errlen) == -1)
		;
	else if (check_expiry && check_dates(ctx, err, errlen) == -1)
		;
	else
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

/* Wait for what OpenSSL asked for; 1 ready, 0 timeout, -1 error. */
static int
tls_wait(struct io *io, int sslerr, int timeout_ms)
{
	struct pollfd pfd;

	pfd.fd = sslerr == SSL_ERROR_WANT_WRITE ? io->outfd : io->infd;
	pfd.events = sslerr == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	if (timeout_ms <= 0)
		return 0;
	for (;;) {
		int n = poll(&pfd, 1, timeout_ms);

		if (n >= 0)
			return n > 0;
		if (errno != EINTR)
			return -1;
	}
}

static long
tls_read(struct io *io, void *buf, size_t len)
{
	SSL	*ssl = io->tr.ctx;
	int	 n, e;

	for (;;) {
		n = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0)
			return n;
		e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_WANT_READ) {
			errno = EAGAIN;
			return -1;
		}
		if (e == SSL_ERROR_WANT_WRITE &&
		    tls_wait(io, e, io->timeout_ms) > 0)
			continue;
		ERR_clear_error();
		errno = e == SSL_ERROR_SYSCALL && errno != 0 ? errno : EIO;
		return e == SSL_ERROR_SYSCALL && n == 0 ? 0 : -1;
	}
}

static long
tls_write(struct io *io, const void *buf, size_t len)
{
	SSL	*ssl = io->tr.ctx;
	int	 n, e;

	for (;;) {
		n = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0)
			return n;
		e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_WANT_WRITE) {
			errno = EAGAIN;
			return -1;
		}
		if (e == SSL_ERROR_WANT_READ &&
		    tls_wait(io, e, io->timeout_ms) > 0)
			continue;
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

static int
tls_pending(struct io *io)
{
	return SSL_pending(io->tr.ctx) > 0;
}

static int
nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
tls_start(struct io *io, SSL_CTX *ctx, int timeout_ms, char *err,
    size_t errlen)
{
	long long	 deadline = clock_ms() + timeout_ms;
	SSL		*ssl;
	int		 n, e;

	if (nonblocking(io->infd) == -1 || nonblocking(io->outfd) == -1 ||
	    (ssl = SSL_new(ctx)) == NULL || !SSL_set_rfd(ssl, io->infd) ||
	    !SSL_set_wfd(ssl, io->outfd)) {
		ssl_reason(err, errlen, "TLS setup", NULL);
		return -1;
	}
	for (;;) {
		n = SSL_accept(ssl);
		if (n == 1)
			break;
		e = SSL_get_error(ssl, n);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    tls_wait(io, e, (int)(deadline - clock_ms())) <= 0) {
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				snprintf(err, errlen, "TLS handshake timed out");
			else if (e == SSL_ERROR_ZERO_RETURN ||
			    ERR_peek_error() == 0)
				snprintf(err, errlen, "TLS handshake: connection "
				    "closed");
			else
				ssl_reason(err, errlen, "TLS handshake", NULL);
			SSL_free(ssl);
			return -1;
		}
	}
	io->tr.read = tls_read;
	io->tr.write = tls_write;
	io->tr.pending = tls_pending;
	io->tr.ctx = ssl;
	return 0;
}

const char *
tls_describe(struct io *io, char *buf, size_t len)
{
	SSL *ssl = io->tr.ctx;

	if (io->tr.read != tls_read)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
	return buf;
}

void
tls_close(struct io *io)
{
	if (io->tr.read == tls_read) {
		SSL_shutdown(io->tr.ctx);
		ERR_clear_error();
	}
}
