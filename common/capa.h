/* CAPA (RFC 2449): one list for both states, as section 5 asks. */
#ifndef POP3D_CAPA_H
#define POP3D_CAPA_H

#include "common/config.h"
#include "common/io.h"

#define CAPA_STLS	0x01	/* STLS can be used now */
#define CAPA_LOGIN	0x02	/* USER and SASL PLAIN can be used now */

/* Write the capability lines and the terminating "." line. */
int	capa_write(struct io *, const struct config *, int flags);

#endif
