/*
 * import_uidl and import_uidl_format: the sources named and Dovecot's
 * pop3_uidl_format, checked by pop3d -t and used by the session's import
 * (store/uidlmap.c).  Strings only, no files.
 */
#include <stdio.h>
#include <string.h>

#include "params.h"
#include "common/uidlfmt.h"

/* How one field of import_uidl_format is written. */
struct field {
	size_t	width;
	int	zero;		/* pad with zeros, else truncate to width */
	int	hex;
	int	right;		/* pad, then keep the rightmost width octets */
};

/* Append len octets of s to out[*o], within UIDL_MAX; 0 when too long. */
static int
put(char *out, size_t *o, const char *s, size_t len)
{
	if (len > UIDL_MAX - *o)
		return 0;
	memcpy(out + *o, s, len);
	*o += len;
	return 1;
}

/*
 * One field of a format, as Dovecot 2.3's var_expand() gives it: a width
 * pads with zeros after '0' and truncates without it; X writes a number
 * in lowercase hexadecimal (as Dovecot does, whatever the letter says).
 * Dovecot 2.4's hex(<width>) also keeps only the last width digits.
 */
static int
put_field(char *out, size_t *o, const char *val, size_t len,
    const struct field *f)
{
	size_t	width = f->width;

	if (f->right && len > width) {
		val += len - width;
		len = width;
	}
	if (width == 0 || (f->zero && len >= width))
		return put(out, o, val, len);
	if (!f->zero)
		return put(out, o, val, len < width ? len : width);
	for (; width > len; width--)
		if (!put(out, o, "0", 1))
			return 0;
	return put(out, o, val, len);
}

/*
 * Dovecot 2.4's " | hex" or " | hex(<width>)" before the '}' of a long
 * name: the number in hexadecimal, with a width padded with zeros and
 * cut to its last width digits.
 */
static int
filter(const char **p, struct field *f)
{
	const char	*q = *p + strspn(*p, " ");

	if (*q == '}') {
		*p = q + 1;
		return 1;
	}
	if (*q++ != '|')
		return 0;
	q += strspn(q, " ");
	if (strncmp(q, "hex", 3) != 0)
		return 0;
	q += 3;
	f->hex = 1;
	if (*q == '(') {
		for (q++; *q >= '0' && *q <= '9' && f->width < 100; q++)
			f->width = f->width * 10 + (*q - '0');
		if (*q++ != ')' || f->width == 0)
			return 0;
		f->zero = f->right = 1;
	}
	q += strspn(q, " ");
	if (*q != '}')
		return 0;
	*p = q + 1;
	return 1;
}

/*
 * The variable at *p: a letter, or a long name between braces (with
 * Dovecot 2.4's hex filter); 'u', 'v', 'f', 'g' or 0.
 */
static int
variable(const char **p, struct field *f)
{
	static const struct {
		const char	*name;
		int		 key;
	} longs[] = {
		{ "{uidvalidity", 'v' }, { "{uid", 'u' },
		{ "{filename", 'f' }, { "{guid", 'g' },
	};
	const char	*q;
	size_t		 i, len;

	if (**p != '{') {
		if (strchr("uvfg", **p) == NULL || **p == '\0')
			return 0;
		return *(*p)++;
	}
	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		len = strlen(longs[i].name);
		q = *p + len;
		if (strncmp(*p, longs[i].name, len) == 0 &&
		    (*q == '}' || *q == ' ' || *q == '|') && !f->hex &&
		    f->width == 0 && filter(&q, f)) {
			*p = q;
			return longs[i].key;
		}
	}
	return 0;
}

ssize_t
uidlfmt_expand(const char *fmt, unsigned long uid, unsigned long uidv,
    const char *base, size_t blen, const char *guid, size_t glen, char *out)
{
	char		 num[24];
	const char	*p = fmt, *val;
	size_t		 o = 0, len;
	struct field	 f;
	int		 key;

	while (*p != '\0') {
		if (*p != '%' || p[1] == '%') {
			if (!put(out, &o, p, 1))
				return 0;
			p += *p == '%' ? 2 : 1;
			continue;
		}
		p++;
		memset(&f, 0, sizeof(f));
		f.zero = *p == '0';
		p += f.zero;
		for (; *p >= '0' && *p <= '9' && f.width < 100; p++)
			f.width = f.width * 10 + (*p - '0');
		f.hex = *p == 'X';
		p += f.hex;
		if ((key = variable(&p, &f)) == 0)
			return -1;
		if (key == 'u' || key == 'v') {
			snprintf(num, sizeof(num), f.hex ? "%lx" : "%lu",
			    key == 'u' ? uid : uidv);
			val = num;
			len = strlen(num);
		} else if (f.hex)
			return -1;	/* Dovecot reads a name as 0 */
		else {
			val = key == 'f' ? base : guid;
			len = key == 'f' ? blen : glen;
		}
		if (!put_field(out, &o, val, len, &f))
			return 0;
	}
	out[o] = '\0';
	return o;
}

int
uidlfmt_parse(const char *src, const char *fmt, int sources[], int *n,
    char *err, size_t errlen)
{
	char		 out[UIDL_MAX + 1];
	const char	*p = src;
	size_t		 len;
	int		 s;

	*n = 0;
	while (*(p += strspn(p, " \t,")) != '\0') {
		len = strcspn(p, " \t,");
		if (len == 2 && strncmp(p, "no", 2) == 0 && *n == 0 &&
		    p[len + strspn(p + len, " \t,")] == '\0')
			return 0;
		if (len == 7 && strncmp(p, "dovecot", 7) == 0)
			s = UIDLFMT_DOVECOT;
		else if (len == 7 && strncmp(p, "courier", 7) == 0)
			s = UIDLFMT_COURIER;
		else {
			snprintf(err, errlen, "import_uidl: expected no, "
			    "dovecot or courier");
			*n = 0;
			return -1;
		}
		if (*n < UIDLFMT_SOURCES_MAX)
			sources[(*n)++] = s;
		p += len;
	}
	if (strlen(fmt) >= UIDLFMT_FORMAT_MAX ||
	    uidlfmt_expand(fmt, 1, 1, "b", 1, "g", 1, out) <= 0) {
		snprintf(err, errlen, "import_uidl_format: only text, %%%%, "
		    "and %%u, %%v, %%f, %%g with a width and X, or "
		    "%%{uid | hex(8)} and the like, are supported");
		*n = 0;
		return -1;
	}
	return 0;
}
