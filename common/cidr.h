/*
 * Address lists such as proxy_from: "10.0.0.0/8, ::1, 192.0.2.7".
 * Entries are separated by commas and blanks; an entry without a prefix
 * length is one address.
 */
#ifndef POP3D_CIDR_H
#define POP3D_CIDR_H

#include <stddef.h>

/* 0 if every entry of list is well formed, else -1 with a reason. */
int	cidr_list_check(const char *list, char *err, size_t errlen);

/*
 * 1 if the address (family 4 or 6, 4 or 16 octets) is in the list.  An
 * IPv4-mapped IPv6 address matches as the IPv4 address it holds.
 */
int	cidr_list_match(const char *list, int family, const unsigned char *addr);

/* Parse "a.b.c.d:port", "[v6]:port" or a bare address: family, or 0. */
int	cidr_parse_peer(const char *peer, unsigned char addr[16]);

#endif
