/*
 * This file runs as root when pop3d is started as root.  It reads no
 * network input: the client address comes from the launcher or a trusted
 * proxy, as the monitor logs it, and is parsed again here.
 *
 * One table of auth/statetable.c holds two kinds of keys:
 *
 *	"s:ADDRESS"	a client address: an IPv4 address or an IPv6 /64
 *	"u:NAME"	a user name, known or not (a throttle that spared
 *			unknown names would tell which names exist)
 *
 * each with the time of its last failure and a count of failures (4
 * octets, then 4 zero octets).  A count is forgotten throttle_block_time
 * after its last failure.
 *
 * An address with n failures waits throttle_delay_ms * 2^(n-1), at most
 * throttle_delay_max_ms, before its next attempt is checked; with
 * throttle_failures it is refused, without a check, until its count is
 * forgotten.  A right password clears the address and the user name,
 * so that nothing is left to slow their next login.  A user name's count
 * delays only attempts from addresses that have failed themselves, by
 * the same rule and never longer than throttle_delay_max_ms, and never
 * refuses: the owner of the name, logging in from a clean address, is
 * not slowed by an attack on it, and at worst waits the longest delay.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "params.h"
#include "auth/monitor.h"
#include "auth/statetable.h"
#include "auth/throttle.h"
#include "common/cidr.h"
#include "common/log.h"

_Static_assert(sizeof(((struct throttle *)0)->user) == ST_KEY,
    "a user key fills a slot's key");
_Static_assert(ST_KEY > AUTH_USER_MAX + 2, "\"u:\" and a user name fit");

static int	th_key_valid(const char *);
static int	th_data_valid(const unsigned char *);

static const struct statetable th_table = {
	.file = THROTTLE_FILE,
	.dirkey = "throttle_dir",
	.magic = "POP3DTH\n",
	.version = 1,
	.slots = THROTTLE_SLOTS,
	.probe = THROTTLE_PROBE,
	.datalen = 8,
	.key_valid = th_key_valid,
	.data_valid = th_data_valid,
};

static int
th_key_valid(const char *k)
{
	unsigned char	a[16];
	char		buf[INET6_ADDRSTRLEN];
	size_t		n;

	if (strncmp(k, "u:", 2) == 0)
		return monitor_user_valid(k + 2);
	if (strncmp(k, "s:", 2) != 0)
		return 0;
	k += 2;
	n = strlen(k);
	if (n > 3 && n - 3 < sizeof(buf) && strcmp(k + n - 3, "/64") == 0) {
		memcpy(buf, k, n - 3);
		buf[n - 3] = '\0';
		return inet_pton(AF_INET6, buf, a) == 1;
	}
	return inet_pton(AF_INET, k, a) == 1;
}

static int
th_data_valid(const unsigned char *d)
{
	uint32_t n, zero;

	memcpy(&n, d, 4);
	memcpy(&zero, d + 4, 4);
	return n >= 1 && n <= THROTTLE_FAILS_MAX && zero == 0;
}

/*
 * The key of the client's address; -1 for none to throttle: no address
 * (a pipe), or one in throttle_exempt.  An IPv4-mapped IPv6 address is
 * the IPv4 address; other IPv6 addresses are keyed by their /64.
 */
static int
th_source(const struct config *cf, const char *client, char *key, size_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	unsigned char	addr[16];
	char		text[INET6_ADDRSTRLEN];
	int		family;

	if ((family = cidr_parse_peer(client, addr)) == 0 ||
	    cidr_list_match(cf->throttle_exempt, family, addr))
		return -1;
	if (family == 6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		family = 4;
	}
	if (family == 6)
		memset(addr + 8, 0, 8);
	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, text,
	    sizeof(text)) == NULL)
		return -1;
	snprintf(key, len, family == 4 ? "s:%s" : "s:%s/64", text);
	return 0;
}

/* The failures a slot counts now: none once forgotten. */
static uint32_t
th_fails(const struct config *cf, const struct st_slot *s, int found,
    long long now)
{
	uint32_t n;

	if (!found || now - s->when >= cf->throttle_block_time)
		return 0;
	memcpy(&n, s->data, 4);
	return n;
}

/* Milliseconds to wait before the attempt after n failures. */
static int
th_delay(const struct config *cf, uint32_t n)
{
	long long d = cf->throttle_delay_ms;

	if (n == 0 || d == 0)
		return 0;
	while (--n > 0 && d < cf->throttle_delay_max_ms)
		d *= 2;
	return d > cf->throttle_delay_max_ms ? cf->throttle_delay_max_ms :
	    (int)d;
}

/* Slot i holds key with n failures, the last at now; n = 0 frees it. */
static void
th_set(struct st_handle *h, long i, const char *key, uint32_t n,
    long long when)
{
	struct st_slot s;

	memset(&s, 0, sizeof(s));
	if (n > 0) {
		strlcpy(s.key, key, sizeof(s.key));
		s.when = when;
		if (n > THROTTLE_FAILS_MAX)
			n = THROTTLE_FAILS_MAX;
		memcpy(s.data, &n, 4);
	}
	statetable_put(h, i, &s);
}

static int
th_open(struct st_handle *h, const struct config *cf)
{
	char why[POP3D_PATH_MAX + 64];

	if (statetable_open(h, &th_table, cf->throttle_dir, why,
	    sizeof(why)) == 0)
		return 0;
	if (why[0] != '\0')
		log_warnx("%s: no throttle", why);
	return -1;
}

int
throttle_dir_ok(const char *dir, char *why, size_t len)
{
	return statetable_dir_ok(&th_table, dir, 0, why, len);
}

int
throttle_begin(struct throttle *th, const struct config *cf,
    const char *client, const char *user, long long now, long *wait)
{
	struct st_handle	h;
	struct st_slot		s;
	long			i;
	uint32_t		sf, uf = 0;
	int			found, delay;

	memset(th, 0, sizeof(*th));
	if (!cf->throttle ||
	    th_source(cf, client, th->source, sizeof(th->source)) == -1)
		return 0;
	if (monitor_user_valid(user))
		snprintf(th->user, sizeof(th->user), "u:%s", user);
	if (th_open(&h, cf) == -1)
		return 0;
	if ((i = statetable_find(&h, th->source, now, &s, &found)) == -1) {
		statetable_close(&h);
		return 0;
	}
	sf = th_fails(cf, &s, found, now);
	if (sf >= (uint32_t)cf->throttle_failures) {
		statetable_close(&h);
		*wait = cf->throttle_block_time - (long)(now - s.when);
		return -1;
	}
	/* Counted now: attempts in parallel see each other. */
	th_set(&h, i, th->source, sf + 1, now);
	/* Looked for after the write: the two keys may share a window. */
	if (th->user[0] != '\0' &&
	    (i = statetable_find(&h, th->user, now, &s, &found)) != -1) {
		uf = th_fails(cf, &s, found, now);
		th_set(&h, i, th->user, uf + 1, now);
	}
	statetable_close(&h);
	th->on = 1;
	delay = th_delay(cf, sf);
	if (sf > 0 && th_delay(cf, uf) > delay)
		delay = th_delay(cf, uf);
	return delay;
}

/* One failure less for key, or none at all; its time stays. */
static void
th_take_back(struct st_handle *h, const char *key, int all, long long now)
{
	struct st_slot	s;
	uint32_t	n;
	long		i;
	int		found;

	if ((i = statetable_find(h, key, now, &s, &found)) == -1 || !found)
		return;
	memcpy(&n, s.data, 4);
	th_set(h, i, key, all ? 0 : n - 1, s.when);
}

void
throttle_end(const struct throttle *th, const struct config *cf,
    enum throttle_outcome outcome, long long now)
{
	struct st_handle h;

	if (!th->on || outcome == THROTTLE_WRONG || th_open(&h, cf) == -1)
		return;
	th_take_back(&h, th->source, outcome == THROTTLE_RIGHT, now);
	if (th->user[0] != '\0')
		th_take_back(&h, th->user, outcome == THROTTLE_RIGHT, now);
	statetable_close(&h);
}
