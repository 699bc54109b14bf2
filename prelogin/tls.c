/*
 * OpenSSL behind the io transport hooks, in the pre-login process.  The descriptors are made
 * non-blocking: io.c waits with poll(2) against its deadlines, and these
 * functions report "would block" as EAGAIN.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* ERR_load_*_strings: crypto_reasons() */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/ossl.h"
#include "common/wire.h"
#include "prelogin/tls.h"

/*
 * The reasons of the crypto libraries a handshake can fail in (a client's
 * key share that is no point of its curve, say), in words: the monitor
 * set OpenSSL up without them (auth/tls_context.c), and they are loaded
 * here only to word an error.  The providers' own reasons have no public
 * loader and read "reason(N)" beside the error's number.
 */
static void
crypto_reasons(void)
{
	ERR_load_ASN1_strings();
	ERR_load_BN_strings();
	ERR_load_DH_strings();
	ERR_load_EC_strings();
	ERR_load_EVP_strings();
	ERR_load_RSA_strings();
	ERR_load_X509_strings();
}

/* "what: OpenSSL's first reason". */
static void
ssl_reason(char *err, size_t errlen, const char *what)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	crypto_reasons();
	buf[0] = '\0';
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, buf[0] != '\0' ? ": " : "", buf);
	ERR_clear_error();
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
		ssl_reason(err, errlen, "TLS setup");
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
				ssl_reason(err, errlen, "TLS handshake");
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

int
tls_channel_binding(struct io *io, int type, unsigned char *out)
{
	static const char	 label[] = "EXPORTER-Channel-Binding";
	SSL			*ssl = io->tr.ctx;
	X509			*cert;
	const EVP_MD		*md;
	unsigned int		 n;
	int			 mdnid;

	if (ssl == NULL)
		return -1;
	if (type == CBIND_EXPORTER) {
		if (SSL_version(ssl) < TLS1_3_VERSION &&
		    SSL_get_extms_support(ssl) != 1)
			return -1;
		return SSL_export_keying_material(ssl, out, 32, label,
		    sizeof(label) - 1, NULL, 0, 0) == 1 ? 32 : -1;
	}
	if (type != CBIND_ENDPOINT || (cert = SSL_get_certificate(ssl)) == NULL)
		return -1;
	/* RFC 5929 section 4.1: the signature's hash, but SHA-256 for MD5 and SHA-1. */
	if (!OBJ_find_sigid_algs(X509_get_signature_nid(cert), &mdnid, NULL) ||
	    mdnid == NID_undef || mdnid == NID_md5 || mdnid == NID_sha1)
		mdnid = NID_sha256;
	if ((md = EVP_get_digestbynid(mdnid)) == NULL ||
	    EVP_MD_get_size(md) > SCRAM_CBIND_MAX ||
	    X509_digest(cert, md, out, &n) != 1)
		return -1;
	return (int)n;
}
