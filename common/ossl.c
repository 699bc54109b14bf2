/*
 * OpenSSL mapped with dlopen(3) (see common/ossl.h for why and where).
 * The libraries are the ones pop3d was compiled against, named by their
 * SONAME: OpenSSL 3 keeps one ABI, libssl.so.3, for every 3.x release.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <sysexits.h>

#include "common/log.h"
#include "common/ossl.h"

#if OPENSSL_VERSION_MAJOR < 3
#error "OpenSSL 3 or later"
#endif

#define OSSL_STR(x)	OSSL_STR1(x)
#define OSSL_STR1(x)	#x
/* libssl needs libcrypto: dlopen(3) maps it too, dlsym(3) finds both. */
#define OSSL_LIBSSL	"libssl.so." OSSL_STR(OPENSSL_VERSION_MAJOR)

#define OSSL_DEFINE(f)	__typeof__(ossl_fn_##f) ossl_fn_##f;
OSSL_FUNCTIONS(OSSL_DEFINE)
#undef OSSL_DEFINE

static void *
ossl_sym(void *lib, const char *name)
{
	void	*p;

	if ((p = dlsym(lib, name)) == NULL)
		fatalx(EX_UNAVAILABLE, "OpenSSL: %s: no %s", OSSL_LIBSSL, name);
	return p;
}

void
ossl_load(void)
{
	static int	 loaded;
	void		*lib;

	if (loaded)
		return;
	/* RTLD_NOW: a library that cannot be bound fails here, not later. */
	if ((lib = dlopen(OSSL_LIBSSL, RTLD_NOW | RTLD_LOCAL)) == NULL)
		fatalx(EX_UNAVAILABLE, "OpenSSL: %s", dlerror());
#define OSSL_FILL(f)	ossl_fn_##f = (__typeof__(ossl_fn_##f))ossl_sym(lib, #f);
	OSSL_FUNCTIONS(OSSL_FILL)
#undef OSSL_FILL
	loaded = 1;
}
