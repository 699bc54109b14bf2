/*
 * Making the TLS context.  This runs in the monitor, as root when pop3d
 * is started as root, and parses no network input.  The context carries
 * the certificate and chain, never the private key: the pre-login process
 * attaches a key that asks the monitor to sign (prelogin/signkey.h), and
 * the monitor reads the key itself after the fork (auth/signer.h).
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* ERR_load_*_strings: crypto_reasons() */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth/tls_context.h"
#include "common/ossl.h"

/* config.h spells the protocol floor without OpenSSL's headers. */
_Static_assert(CONFIG_TLS_1_2 == TLS1_2_VERSION, "TLS 1.2 number");
_Static_assert(CONFIG_TLS_1_3 == TLS1_3_VERSION, "TLS 1.3 number");

/*
 * The reasons of the crypto libraries that loading a certificate and
 * setting ciphers can fail in, in words: tls_context() initialises
 * OpenSSL without its table of every crypto reason, which cost some
 * 0.2 ms of CPU at every TLS connection, so that only a connection with
 * an error to report pays for the few it needs.  (libssl's own reasons
 * are loaded as before; the pre-login process loads those a handshake
 * can fail in itself, prelogin/tls.c; another library's reason reads
 * "reason(N)".)
 */
static void
crypto_reasons(void)
{
	ERR_load_ASN1_strings();
	ERR_load_BIO_strings();
	ERR_load_EVP_strings();
	ERR_load_PEM_strings();
	ERR_load_X509_strings();
	ERR_load_X509V3_strings();
}

/* "what[ path]: OpenSSL's first reason" -- the path says which file. */
static void
ssl_reason(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	crypto_reasons();
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
	SSL_CTX	*ctx;
	char	 ciphers[sizeof(cf->tls_ciphers) + 8];

	err[0] = '\0';
	if (cf->tls_cert[0] == '\0' && cf->tls_key[0] == '\0')
		return NULL;
	if (cf->tls_cert[0] == '\0' || cf->tls_key[0] == '\0') {
		snprintf(err, errlen, "tls_cert and tls_key go together");
		return NULL;
	}
	/* Before the fork: the pre-login process inherits the mapping. */
	ossl_load();
	/*
	 * No legacy table of every cipher by name: nothing of pop3d calls
	 * EVP_get_cipherbyname(3), OpenSSL 3 fetches the record ciphers
	 * from its providers, and filling the table cost some 0.3 ms of CPU
	 * at every TLS connection.  (The digests' table stays: the handshake
	 * looks the pre-login's signing key's digests up in it.)  No table
	 * of the crypto libraries' error reasons either: crypto_reasons()
	 * loads those an error needs.  The first initialisation decides,
	 * here, before anything of libssl runs.  openssl.cnf is still read
	 * (some 0.2 ms): it may hold the system's policy, its providers
	 * (FIPS) and protocol floor.
	 */
	if (OPENSSL_init_ssl(OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
	    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL) != 1 ||
	    (ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
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
	/* Only signatures are asked of the monitor, no RSA decryption. */
	snprintf(ciphers, sizeof(ciphers), "%s:!kRSA", cf->tls_ciphers);
	if (!SSL_CTX_set_min_proto_version(ctx, cf->tls_min_version) ||
	    !SSL_CTX_set_cipher_list(ctx, ciphers) ||
	    !SSL_CTX_set_ciphersuites(ctx, cf->tls_ciphersuites))
		ssl_reason(err, errlen, "tls_ciphers/tls_ciphersuites", NULL);
	else if (SSL_CTX_use_certificate_chain_file(ctx, cf->tls_cert) != 1)
		ssl_reason(err, errlen, "tls_cert", cf->tls_cert);
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

