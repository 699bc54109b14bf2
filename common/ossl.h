/*
 * OpenSSL, mapped when first needed.  pop3d links neither libssl nor
 * libcrypto: the dynamic linker would map and relocate both at every
 * connection (Debian binds libcrypto at load time: some 3,000 symbols),
 * about 0.8 ms of CPU, and a plaintext USER/PASS login against a crypt(3)
 * hash calls nothing of OpenSSL.  ossl_load() maps them with dlopen(3)
 * in the monitor, before it makes the TLS context (auth/tls_context.c:
 * before the pre-login process is forked, which inherits the mapping; it
 * could not open a library itself, chrooted and filtered) and at the
 * first SCRAM computation (auth/scram.c).
 *
 * The code calls OpenSSL by its own names: below, each function pop3d
 * calls is a pointer, ossl_fn_NAME, of the type of OpenSSL's own
 * prototype, and NAME a macro for a call through it.  OpenSSL's macros
 * (SSL_CTX_set_mode is SSL_CTX_ctrl) expand to functions listed here.
 * A function missing from OSSL_FUNCTIONS, or from the macros after it, is
 * an undefined reference when pop3d is linked, never a silent direct
 * call.  Until ossl_load() every pointer is NULL: no path reaches OpenSSL
 * without passing it first.
 *
 * Include OpenSSL only through this header: a header of OpenSSL's read
 * after the macros would declare the macros' expansions.
 */
#ifndef POP3D_OSSL_H
#define POP3D_OSSL_H

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/*
 * Map libssl and libcrypto (once: later calls return at once) and fill
 * every pointer.  A missing library or function is fatal: EX_UNAVAILABLE.
 */
void	ossl_load(void);

#define OSSL_FUNCTIONS(F)						\
	/* errors, everywhere */					\
	F(ERR_clear_error) F(ERR_error_string_n) F(ERR_get_error)	\
	F(ERR_peek_error)						\
	/* reasons loaded to word an error (tls_context.c, tls.c) */	\
	F(ERR_load_ASN1_strings) F(ERR_load_BIO_strings)		\
	F(ERR_load_BN_strings) F(ERR_load_DH_strings)			\
	F(ERR_load_EC_strings) F(ERR_load_EVP_strings)			\
	F(ERR_load_PEM_strings) F(ERR_load_RSA_strings)			\
	F(ERR_load_X509_strings) F(ERR_load_X509V3_strings)		\
	/* the monitor's TLS context (auth/tls_context.c) */		\
	F(OPENSSL_init_ssl) F(TLS_server_method) F(SSL_CTX_new)		\
	F(SSL_CTX_free) F(SSL_CTX_ctrl) F(SSL_CTX_set_options)		\
	F(SSL_CTX_set_num_tickets) F(SSL_CTX_set_cipher_list)		\
	F(SSL_CTX_set_ciphersuites)					\
	F(SSL_CTX_use_certificate_chain_file)				\
	F(SSL_CTX_get0_certificate) F(PEM_read_X509) F(X509_free)	\
	F(X509_cmp_current_time) F(X509_get0_notAfter)			\
	F(X509_get0_notBefore)						\
	/* the monitor's key and signatures (auth/signer.c) */		\
	F(OSSL_DECODER_CTX_new_for_pkey) F(OSSL_DECODER_from_data)	\
	F(OSSL_DECODER_CTX_free) F(X509_check_private_key)		\
	F(X509_get0_pubkey) F(EVP_PKEY_free) F(EVP_PKEY_get_base_id)	\
	F(EVP_PKEY_get_size) F(EVP_PKEY_get0_type_name)			\
	F(EVP_PKEY_CTX_new) F(EVP_PKEY_CTX_free) F(EVP_PKEY_sign_init)	\
	F(EVP_PKEY_CTX_set_rsa_padding) F(EVP_PKEY_sign)		\
	/* SCRAM (auth/scram.c) */					\
	F(EVP_sha1) F(EVP_sha256) F(EVP_Digest) F(HMAC)			\
	F(PKCS5_PBKDF2_HMAC)						\
	/* the pre-login's TLS (prelogin/tls.c) */			\
	F(SSL_new) F(SSL_free) F(SSL_set_rfd) F(SSL_set_wfd)		\
	F(SSL_accept) F(SSL_read) F(SSL_write) F(SSL_pending)		\
	F(SSL_shutdown) F(SSL_get_error) F(SSL_ctrl) F(SSL_version)	\
	F(SSL_get_version) F(SSL_get_current_cipher)			\
	F(SSL_CIPHER_get_name) F(SSL_export_keying_material)		\
	F(SSL_get_certificate) F(X509_get_signature_nid)		\
	F(X509_digest) F(OBJ_find_sigid_algs) F(OBJ_nid2sn)		\
	F(EVP_get_digestbyname) F(EVP_MD_get_size)			\
	/* the pre-login's signing key (prelogin/signkey.c) */		\
	F(SSL_CTX_use_PrivateKey) F(EVP_PKEY_new) F(EVP_PKEY_assign)	\
	F(EVP_PKEY_get1_RSA) F(EVP_PKEY_get1_EC_KEY) F(RSA_free)	\
	F(RSA_size) F(RSA_get_default_method) F(RSA_meth_dup)		\
	F(RSA_meth_set1_name) F(RSA_meth_set_priv_enc)			\
	F(RSA_meth_set_priv_dec) F(RSA_set_method) F(EC_KEY_free)	\
	F(EC_KEY_get_default_method) F(EC_KEY_METHOD_new)		\
	F(EC_KEY_METHOD_set_sign) F(EC_KEY_set_method) F(ECDSA_size)

/* The deprecated RSA and EC_KEY methods are named, not called, here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#define OSSL_DECLARE(f)	extern __typeof__(f) *ossl_fn_##f;
OSSL_FUNCTIONS(OSSL_DECLARE)
#undef OSSL_DECLARE
#pragma GCC diagnostic pop

#define ERR_clear_error		(*ossl_fn_ERR_clear_error)
#define ERR_error_string_n	(*ossl_fn_ERR_error_string_n)
#define ERR_get_error		(*ossl_fn_ERR_get_error)
#define ERR_peek_error		(*ossl_fn_ERR_peek_error)
#define ERR_load_ASN1_strings	(*ossl_fn_ERR_load_ASN1_strings)
#define ERR_load_BIO_strings	(*ossl_fn_ERR_load_BIO_strings)
#define ERR_load_BN_strings	(*ossl_fn_ERR_load_BN_strings)
#define ERR_load_DH_strings	(*ossl_fn_ERR_load_DH_strings)
#define ERR_load_EC_strings	(*ossl_fn_ERR_load_EC_strings)
#define ERR_load_EVP_strings	(*ossl_fn_ERR_load_EVP_strings)
#define ERR_load_PEM_strings	(*ossl_fn_ERR_load_PEM_strings)
#define ERR_load_RSA_strings	(*ossl_fn_ERR_load_RSA_strings)
#define ERR_load_X509_strings	(*ossl_fn_ERR_load_X509_strings)
#define ERR_load_X509V3_strings	(*ossl_fn_ERR_load_X509V3_strings)
#define OPENSSL_init_ssl	(*ossl_fn_OPENSSL_init_ssl)
#define TLS_server_method	(*ossl_fn_TLS_server_method)
#define SSL_CTX_new		(*ossl_fn_SSL_CTX_new)
#define SSL_CTX_free		(*ossl_fn_SSL_CTX_free)
#define SSL_CTX_ctrl		(*ossl_fn_SSL_CTX_ctrl)
#define SSL_CTX_set_options	(*ossl_fn_SSL_CTX_set_options)
#define SSL_CTX_set_num_tickets	(*ossl_fn_SSL_CTX_set_num_tickets)
#define SSL_CTX_set_cipher_list	(*ossl_fn_SSL_CTX_set_cipher_list)
#define SSL_CTX_set_ciphersuites (*ossl_fn_SSL_CTX_set_ciphersuites)
#define SSL_CTX_use_certificate_chain_file \
	(*ossl_fn_SSL_CTX_use_certificate_chain_file)
#define SSL_CTX_get0_certificate (*ossl_fn_SSL_CTX_get0_certificate)
#define PEM_read_X509		(*ossl_fn_PEM_read_X509)
#define X509_free		(*ossl_fn_X509_free)
#define X509_cmp_current_time	(*ossl_fn_X509_cmp_current_time)
#define X509_get0_notAfter	(*ossl_fn_X509_get0_notAfter)
#define X509_get0_notBefore	(*ossl_fn_X509_get0_notBefore)
#define OSSL_DECODER_CTX_new_for_pkey (*ossl_fn_OSSL_DECODER_CTX_new_for_pkey)
#define OSSL_DECODER_from_data	(*ossl_fn_OSSL_DECODER_from_data)
#define OSSL_DECODER_CTX_free	(*ossl_fn_OSSL_DECODER_CTX_free)
#define X509_check_private_key	(*ossl_fn_X509_check_private_key)
#define X509_get0_pubkey	(*ossl_fn_X509_get0_pubkey)
#define EVP_PKEY_free		(*ossl_fn_EVP_PKEY_free)
#define EVP_PKEY_get_base_id	(*ossl_fn_EVP_PKEY_get_base_id)
#define EVP_PKEY_get_size	(*ossl_fn_EVP_PKEY_get_size)
#define EVP_PKEY_get0_type_name	(*ossl_fn_EVP_PKEY_get0_type_name)
#define EVP_PKEY_CTX_new	(*ossl_fn_EVP_PKEY_CTX_new)
#define EVP_PKEY_CTX_free	(*ossl_fn_EVP_PKEY_CTX_free)
#define EVP_PKEY_sign_init	(*ossl_fn_EVP_PKEY_sign_init)
#define EVP_PKEY_CTX_set_rsa_padding (*ossl_fn_EVP_PKEY_CTX_set_rsa_padding)
#define EVP_PKEY_sign		(*ossl_fn_EVP_PKEY_sign)
#define EVP_sha1		(*ossl_fn_EVP_sha1)
#define EVP_sha256		(*ossl_fn_EVP_sha256)
#define EVP_Digest		(*ossl_fn_EVP_Digest)
#define HMAC			(*ossl_fn_HMAC)
#define PKCS5_PBKDF2_HMAC	(*ossl_fn_PKCS5_PBKDF2_HMAC)
#define SSL_new			(*ossl_fn_SSL_new)
#define SSL_free		(*ossl_fn_SSL_free)
#define SSL_set_rfd		(*ossl_fn_SSL_set_rfd)
#define SSL_set_wfd		(*ossl_fn_SSL_set_wfd)
#define SSL_accept		(*ossl_fn_SSL_accept)
#define SSL_read		(*ossl_fn_SSL_read)
#define SSL_write		(*ossl_fn_SSL_write)
#define SSL_pending		(*ossl_fn_SSL_pending)
#define SSL_shutdown		(*ossl_fn_SSL_shutdown)
#define SSL_get_error		(*ossl_fn_SSL_get_error)
#define SSL_ctrl		(*ossl_fn_SSL_ctrl)
#define SSL_version		(*ossl_fn_SSL_version)
#define SSL_get_version		(*ossl_fn_SSL_get_version)
#define SSL_get_current_cipher	(*ossl_fn_SSL_get_current_cipher)
#define SSL_CIPHER_get_name	(*ossl_fn_SSL_CIPHER_get_name)
#define SSL_export_keying_material (*ossl_fn_SSL_export_keying_material)
#define SSL_get_certificate	(*ossl_fn_SSL_get_certificate)
#define X509_get_signature_nid	(*ossl_fn_X509_get_signature_nid)
#define X509_digest		(*ossl_fn_X509_digest)
#define OBJ_find_sigid_algs	(*ossl_fn_OBJ_find_sigid_algs)
#define OBJ_nid2sn		(*ossl_fn_OBJ_nid2sn)
#define EVP_get_digestbyname	(*ossl_fn_EVP_get_digestbyname)
#define EVP_MD_get_size		(*ossl_fn_EVP_MD_get_size)
#define SSL_CTX_use_PrivateKey	(*ossl_fn_SSL_CTX_use_PrivateKey)
#define EVP_PKEY_new		(*ossl_fn_EVP_PKEY_new)
#define EVP_PKEY_assign		(*ossl_fn_EVP_PKEY_assign)
#define EVP_PKEY_get1_RSA	(*ossl_fn_EVP_PKEY_get1_RSA)
#define EVP_PKEY_get1_EC_KEY	(*ossl_fn_EVP_PKEY_get1_EC_KEY)
#define RSA_free		(*ossl_fn_RSA_free)
#define RSA_size		(*ossl_fn_RSA_size)
#define RSA_get_default_method	(*ossl_fn_RSA_get_default_method)
#define RSA_meth_dup		(*ossl_fn_RSA_meth_dup)
#define RSA_meth_set1_name	(*ossl_fn_RSA_meth_set1_name)
#define RSA_meth_set_priv_enc	(*ossl_fn_RSA_meth_set_priv_enc)
#define RSA_meth_set_priv_dec	(*ossl_fn_RSA_meth_set_priv_dec)
#define RSA_set_method		(*ossl_fn_RSA_set_method)
#define EC_KEY_free		(*ossl_fn_EC_KEY_free)
#define EC_KEY_get_default_method (*ossl_fn_EC_KEY_get_default_method)
#define EC_KEY_METHOD_new	(*ossl_fn_EC_KEY_METHOD_new)
#define EC_KEY_METHOD_set_sign	(*ossl_fn_EC_KEY_METHOD_set_sign)
#define EC_KEY_set_method	(*ossl_fn_EC_KEY_set_method)
#define ECDSA_size		(*ossl_fn_ECDSA_size)

#endif
