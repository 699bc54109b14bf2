/*
 * Signing for the pre-login process's TLS handshake.  This runs in the
 * monitor, as root when pop3d is started as root.  Its input is the sign
 * request, checked by wire_decode_sign() for its lengths and here against
 * the key: the algorithm must fit the key, an RSA block must be as long as
 * the modulus, and a connection gets TLS_SIGN_MAX signatures.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "auth/signer.h"
#include "common/log.h"
#include "common/ossl.h"
#include "common/wiresign.h"

static EVP_PKEY	*key;
static int	 signed_count;

/*
 * The key in PEM, decoded by OpenSSL's decoders for the certificate's key
 * type alone when it is known: trying every decoder of every key type,
 * as PEM_read_PrivateKey(3) does, costs more than the rest of the key's
 * handling at every TLS connection.
 */
static EVP_PKEY *
decode_key(const unsigned char *pem, size_t len, const char *type)
{
	OSSL_DECODER_CTX	*dctx;
	EVP_PKEY		*k = NULL;

	if ((dctx = OSSL_DECODER_CTX_new_for_pkey(&k, "PEM", NULL, type,
	    EVP_PKEY_KEYPAIR, NULL, NULL)) == NULL)
		return NULL;
	if (OSSL_DECODER_from_data(dctx, &pem, &len) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	return k;
}

/*
 * The key file, read whole with read(2) into a buffer wiped afterwards:
 * no stdio buffer holds the key, and it takes a few system calls, not
 * one an octet as an unbuffered stream would.
 */
static EVP_PKEY *
read_key(const char *path, X509 *cert, char *err, size_t errlen)
{
	unsigned char	 pem[TLS_KEY_FILE_MAX + 1];
	const char	*type = NULL;
	EVP_PKEY	*k = NULL;
	size_t		 len = 0;
	ssize_t		 n = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "tls_key %s: %s", path, strerror(errno));
		return NULL;
	}
	while (len < sizeof(pem) && ((n = read(fd, pem + len,
	    sizeof(pem) - len)) > 0 || (n == -1 && errno == EINTR)))
		if (n > 0)
			len += n;
	close(fd);
	if (n == -1 || len > TLS_KEY_FILE_MAX)
		snprintf(err, errlen, "tls_key %s: %s", path, n == -1 ?
		    strerror(errno) : "longer than TLS_KEY_FILE_MAX");
	else {
		if (cert != NULL && X509_get0_pubkey(cert) != NULL)
			type = EVP_PKEY_get0_type_name(X509_get0_pubkey(cert));
		/* Another type than the certificate's: said below. */
		if ((k = decode_key(pem, len, type)) == NULL && type != NULL)
			k = decode_key(pem, len, NULL);
		if (k == NULL)
			snprintf(err, errlen, "tls_key %s: no private key in "
			    "PEM", path);
	}
	explicit_bzero(pem, sizeof(pem));
	return k;
}

EVP_PKEY *
signer_read_key(const struct config *cf, X509 *cert, char *err,
    size_t errlen)
{
	EVP_PKEY	*k;
	int		 type;

	if ((k = read_key(cf->tls_key, cert, err, errlen)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	type = EVP_PKEY_get_base_id(k);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
		snprintf(err, errlen, "tls_key %s: an RSA or EC key is needed",
		    cf->tls_key);
	else if (cert == NULL || X509_check_private_key(cert, k) != 1)
		snprintf(err, errlen, "tls_key does not match tls_cert");
	else if (EVP_PKEY_get_size(k) > WIRE_SIGN_MAX)
		snprintf(err, errlen, "tls_key %s: longer than %d octets",
		    cf->tls_key, WIRE_SIGN_MAX);
	else
		return k;
	ERR_clear_error();
	EVP_PKEY_free(k);
	return NULL;
}

void
signer_use(EVP_PKEY *k)
{
	signer_forget();
	key = k;
	signed_count = 0;
}

void
signer_forget(void)
{
	/* Without TLS OpenSSL is not mapped (common/ossl.h): no call at all. */
	if (key != NULL)
		EVP_PKEY_free(key);
	key = NULL;
}

/* Does the algorithm fit the key, and the block the modulus? */
static int
request_fits(const struct wire_sign *rq)
{
	switch (rq->alg) {
	case SIGN_RSA_PKCS1:
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
		    rq->len + 11 <= (size_t)EVP_PKEY_get_size(key);
	case SIGN_RSA_PSS:
		/* An EMSA-PSS encoding ends in 0xbc (RFC 8017 9.1.1). */
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
		    rq->len == (size_t)EVP_PKEY_get_size(key) &&
		    rq->data[rq->len - 1] == 0xbc;
	case SIGN_ECDSA:
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
	}
	return 0;
}

/*
 * No digest is set: the request carries the digest (ECDSA), the
 * DigestInfo (PKCS #1 v1.5) or the padded block (PSS, with no padding
 * added here), and OpenSSL's providers apply the key to exactly that.
 */
static size_t
sign(const struct wire_sign *rq, unsigned char *sig, size_t max)
{
	EVP_PKEY_CTX	*ctx;
	size_t		 n = max;
	int		 pad;

	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return 0;
	pad = rq->alg == SIGN_RSA_PSS ? RSA_NO_PADDING : RSA_PKCS1_PADDING;
	if (EVP_PKEY_sign_init(ctx) != 1 || (rq->alg != SIGN_ECDSA &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1) ||
	    EVP_PKEY_sign(ctx, sig, &n, rq->data, rq->len) != 1)
		n = 0;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return n;
}

int
signer_answer(int sock, const unsigned char *msg, size_t len)
{
	static struct wire_sign	 rq;
	unsigned char		 sig[WIRE_SIGN_MAX], out[WIRE_SIGN_REPLY_MAX];
	size_t			 n;
	long			 olen;

	if (wire_decode_sign(msg, len, &rq) == -1 || key == NULL ||
	    !request_fits(&rq) || signed_count >= TLS_SIGN_MAX)
		return -1;
	signed_count++;
	if ((n = sign(&rq, sig, sizeof(sig))) == 0)
		log_warnx("TLS signature failed");
	explicit_bzero(&rq, sizeof(rq));
	olen = wire_encode_signature(sig, n, out, sizeof(out));
	/* A pre-login that does not read its answer gets none. */
	if (olen == -1 || send(sock, out, olen, MSG_DONTWAIT) != olen)
		log_warnx("TLS signature not sent to the pre-login process");
	return 0;
}
