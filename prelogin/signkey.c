/*
 * A TLS key that forwards its one private operation to the monitor.
 * OpenSSL 3.0 runs a key with a method of its own (RSA_METHOD,
 * EC_KEY_METHOD: deprecated, but the way to it short of a provider)
 * through its legacy code, which pads first and then asks the method:
 *
 *	RSASSA-PSS		rsa_priv_enc(RSA_NO_PADDING) on the PSS block
 *	RSASSA-PKCS1-v1_5	rsa_priv_enc(RSA_PKCS1_PADDING) on a DigestInfo
 *	ECDSA			sign() on the digest
 *
 * Each becomes one request and one reply on the monitor's socket.  RSA
 * decryption is refused (the context excludes kRSA anyway).
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "common/ossl.h"
#include "common/wiresign.h"
#include "prelogin/signkey.h"

static int	monitor = -1;	/* one connection, one monitor */

/* Ask for a signature; its length, or -1. */
static long
ask(enum wire_sign_alg alg, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t max)
{
	static struct wire_sign	rq;
	unsigned char		msg[WIRE_SIGN_REQUEST_MAX];
	long			len, n;

	if (inlen > sizeof(rq.data))
		return -1;
	rq.alg = alg;
	rq.len = inlen;
	memcpy(rq.data, in, inlen);
	if ((len = wire_encode_sign(&rq, msg, sizeof(msg))) == -1 ||
	    send(monitor, msg, len, 0) != len ||
	    (n = recv(monitor, msg, sizeof(msg), 0)) <= 0)
		return -1;
	n = wire_decode_signature(msg, n, sig, max);
	return n > 0 ? n : -1;
}

static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	enum wire_sign_alg	alg;
	long			n;

	if (padding == RSA_NO_PADDING)
		alg = SIGN_RSA_PSS;
	else if (padding == RSA_PKCS1_PADDING)
		alg = SIGN_RSA_PKCS1;
	else
		return -1;
	if (flen < 0 || (n = ask(alg, from, flen, to, RSA_size(rsa))) !=
	    RSA_size(rsa))
		return -1;
	return (int)n;
}

static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	(void)flen, (void)from, (void)to, (void)rsa, (void)padding;
	return -1;
}

static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	long n;

	(void)type, (void)kinv, (void)r;
	if (dlen < 0 || (n = ask(SIGN_ECDSA, dgst, dlen, sig,
	    ECDSA_size(ec))) == -1)
		return 0;
	*siglen = (unsigned)n;
	return 1;
}

static EVP_PKEY *
rsa_key(const EVP_PKEY *pub)
{
	static RSA_METHOD	*meth;
	EVP_PKEY		*k;
	RSA			*rsa;

	if (meth == NULL && ((meth = RSA_meth_dup(RSA_get_default_method())) ==
	    NULL || !RSA_meth_set1_name(meth, "pop3d monitor") ||
	    !RSA_meth_set_priv_enc(meth, rsa_priv_enc) ||
	    !RSA_meth_set_priv_dec(meth, rsa_priv_dec)))
		return NULL;
	if ((rsa = EVP_PKEY_get1_RSA((EVP_PKEY *)pub)) == NULL)
		return NULL;
	if (!RSA_set_method(rsa, meth) || (k = EVP_PKEY_new()) == NULL) {
		RSA_free(rsa);
		return NULL;
	}
	if (!EVP_PKEY_assign_RSA(k, rsa)) {
		RSA_free(rsa);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static EVP_PKEY *
ec_key(const EVP_PKEY *pub)
{
	static EC_KEY_METHOD	*meth;
	EVP_PKEY		*k;
	EC_KEY			*ec;

	if (meth == NULL) {
		if ((meth = EC_KEY_METHOD_new(EC_KEY_get_default_method())) ==
		    NULL)
			return NULL;
		/* ECDSA_sign() alone: no sign_setup, no ECDSA_do_sign(). */
		EC_KEY_METHOD_set_sign(meth, ec_sign, NULL, NULL);
	}
	if ((ec = EVP_PKEY_get1_EC_KEY((EVP_PKEY *)pub)) == NULL)
		return NULL;
	if (!EC_KEY_set_method(ec, meth) || (k = EVP_PKEY_new()) == NULL) {
		EC_KEY_free(ec);
		return NULL;
	}
	if (!EVP_PKEY_assign_EC_KEY(k, ec)) {
		EC_KEY_free(ec);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

int
signkey_attach(SSL_CTX *ctx, int monitor_fd, char *err, size_t errlen)
{
	X509		*cert = SSL_CTX_get0_certificate(ctx);
	EVP_PKEY	*pub, *k = NULL;

	monitor = monitor_fd;
	if (cert == NULL || (pub = X509_get0_pubkey(cert)) == NULL) {
		snprintf(err, errlen, "TLS: no certificate");
		return -1;
	}
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
		k = rsa_key(pub);
	else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC)
		k = ec_key(pub);
	if (k == NULL || SSL_CTX_use_PrivateKey(ctx, k) != 1) {
		snprintf(err, errlen, "TLS: the certificate's key is neither "
		    "RSA nor EC, or cannot sign through the monitor");
		EVP_PKEY_free(k);
		ERR_clear_error();
		return -1;
	}
	EVP_PKEY_free(k);	/* the context holds its own reference */
	return 0;
}
