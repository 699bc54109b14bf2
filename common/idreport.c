/* The identity report: see common/idreport.h. */
#include <string.h>

#include "common/idreport.h"

static unsigned char *
put32(unsigned char *p, unsigned long v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
	return p + 4;
}

static unsigned long
get32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];
}

static unsigned char *
put_str(unsigned char *p, const char *s)
{
	size_t len = strlen(s);

	p[0] = len >> 8;
	p[1] = len;
	memcpy(p + 2, s, len);
	return p + 2 + len;
}

long
idreport_encode(const struct idreport *r, unsigned char *buf, size_t len)
{
	unsigned char	*p = buf;
	int		 i;

	if (len < IDREPORT_MAX || r->ngroups < 0 ||
	    r->ngroups > PASSDB_GROUPS_MAX ||
	    strlen(r->home) >= POP3D_PATH_MAX || strlen(r->cwd) >= POP3D_PATH_MAX)
		return -1;
	*p++ = IDREPORT_VERSION;
	for (i = 0; i < 3; i++)
		p = put32(p, r->uid[i]);
	for (i = 0; i < 3; i++)
		p = put32(p, r->gid[i]);
	p = put32(p, r->ngroups);
	for (i = 0; i < r->ngroups; i++)
		p = put32(p, r->groups[i]);
	p = put_str(p, r->home);
	p = put_str(p, r->cwd);
	return p - buf;
}

/* A string of at most max - 1 octets without NUL, at *p; advances *p. */
static int
get_str(const unsigned char **p, const unsigned char *end, char *out,
    size_t max)
{
	size_t len;

	if (end - *p < 2)
		return -1;
	len = (size_t)(*p)[0] << 8 | (*p)[1];
	*p += 2;
	if (len >= max || (size_t)(end - *p) < len || memchr(*p, '\0', len))
		return -1;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p += len;
	return 0;
}

int
idreport_decode(const unsigned char *buf, size_t len, struct idreport *r)
{
	const unsigned char	*p = buf, *end = buf + len;
	unsigned long		 n;
	int			 i;

	memset(r, 0, sizeof(*r));
	if (len < 1 + 7 * 4 || *p++ != IDREPORT_VERSION)
		return -1;
	for (i = 0; i < 3; i++, p += 4)
		r->uid[i] = get32(p);
	for (i = 0; i < 3; i++, p += 4)
		r->gid[i] = get32(p);
	n = get32(p);
	p += 4;
	if (n > PASSDB_GROUPS_MAX || (size_t)(end - p) < n * 4)
		return -1;
	r->ngroups = (int)n;
	for (i = 0; i < r->ngroups; i++, p += 4)
		r->groups[i] = get32(p);
	if (get_str(&p, end, r->home, sizeof(r->home)) == -1 ||
	    get_str(&p, end, r->cwd, sizeof(r->cwd)) == -1 || p != end)
		return -1;
	return 0;
}
