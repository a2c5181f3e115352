/*
 * proxy.h - the client's address behind a load balancer: a configured list
 * of trusted proxies (--trusted-proxies, addresses and CIDR ranges, IPv4 and
 * IPv6), and the address of a request taken from X-Forwarded-For only when
 * its connection comes from one of them.  Also the per-address connection
 * count that replaces libmicrohttpd's (which counts by socket address, and
 * would count a proxy's connections as one client's).
 */
#ifndef CMSD_PROXY_H
#define CMSD_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define PROXY_ADDR_MAX 64 /* room for any numeric address and its NUL */

/* Parse `list` ("10.0.0.0/8, 127.0.0.5, fd00::/8"; NULL or "" for none) into
 * the trusted set, replacing the one before.  0, or -1 with what is wrong
 * in err (the set is then empty). */
int proxy_init(const char *list, char *err, size_t errlen);

/* Whether any proxy is trusted. */
bool proxy_enabled(void);

/* Whether the socket address sa (AF_INET or AF_INET6; an IPv4-mapped IPv6
 * address counts as its IPv4 address) is a trusted proxy. */
bool proxy_trusted(const struct sockaddr *sa);

/*
 * The client's address of a request whose connection comes from peer, into
 * out (numeric, at most PROXY_ADDR_MAX bytes with its NUL).  xff is the
 * request's X-Forwarded-For values joined by ',' in order, or NULL.  The
 * peer's own address unless the peer is trusted; then the right-most entry
 * of xff that is not itself trusted (nginx's real_ip_recursive).  A
 * malformed entry ends the walk: the last trusted hop stands.  Returns
 * whether the address came from xff.
 */
bool proxy_client(const struct sockaddr *peer, const char *xff, char *out, size_t outlen);

/* The per-address connection limit (0: none), for proxy_conn_* below. */
void proxy_conn_limit(unsigned per_addr);

/* Whether one more connection from sa is allowed: trusted proxies always
 * are; others while they hold fewer than the limit.  Counts nothing: at
 * most one connection per worker thread may pass between this and
 * proxy_conn_opened, so the limit holds to within the worker count. */
bool proxy_conn_admit(const struct sockaddr *sa);

/* A connection from sa opened (delta 1) or closed (delta -1).  Trusted
 * proxies are not counted.  Out of table room: not counted. */
void proxy_conn_count(const struct sockaddr *sa, int delta);

#endif
