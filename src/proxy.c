/*
 * proxy.c - trusted proxies and the client's address behind them (proxy.h).
 *
 * Behind a load balancer every connection comes from the balancer, so what
 * is keyed by the client's address (the failed-login throttle, the log, the
 * per-address connection limit) would lump every client together.  The
 * balancer says who its client was in X-Forwarded-For, appending the address
 * it received the request from to whatever the client sent; so only the
 * entries that trusted proxies appended can be believed, read from the
 * right: the right-most entry that is not itself a trusted proxy is the
 * client (nginx's real_ip_recursive).  Anyone else's header is ignored.
 *
 * Addresses are kept as 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * so that one comparison serves both families and a dual-stack listener's
 * mapped peers match IPv4 ranges.
 *
 * The per-address connection count is a fixed open-addressing table keyed
 * by a secret-keyed hash (no chosen collisions), with backward-shift
 * deletion; it holds at most one slot per live connection.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

#define MAX_PROXIES 64

struct range {
	unsigned char net[16]; /* masked */
	unsigned bits;         /* prefix length over the 16 bytes */
};

static struct range ranges[MAX_PROXIES];
static size_t nranges;

/* "a.b.c.d" or an IPv6 text (no brackets) into 16 bytes; whether it is
 * IPv4 in *v4.  0 or -1. */
static int parse_ip(const char *s, unsigned char out[16], bool *v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return 0;
	}
	*v4 = false;
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

static bool is_mapped(const unsigned char a[16])
{
	static const unsigned char prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, prefix, sizeof(prefix));
}

/* The 16 bytes of socket address sa; -1 for another family. */
static int sock_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	bool v4;

	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		char text[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
		return parse_ip(text, out, &v4);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* The numeric text of a (IPv4 for a mapped address) into out. */
static void format_ip(const unsigned char a[16], char *out, size_t outlen)
{
	if (is_mapped(a))
		inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
}

static bool in_range(const struct range *r, const unsigned char a[16])
{
	unsigned full = r->bits / 8, rest = r->bits % 8;

	if (memcmp(r->net, a, full))
		return false;
	return !rest || ((a[full] ^ r->net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static bool trusted(const unsigned char a[16])
{
	size_t i;

	for (i = 0; i < nranges; i++)
		if (in_range(&ranges[i], a))
			return true;
	return false;
}

/* One entry of the list: ADDRESS or ADDRESS/BITS. */
static int parse_range(const char *s, struct range *r)
{
	char text[PROXY_ADDR_MAX];
	char *slash, *end;
	unsigned long bits;
	bool v4;
	unsigned i;

	if (strlen(s) >= sizeof(text))
		return -1;
	memcpy(text, s, strlen(s) + 1);
	slash = strchr(text, '/');
	if (slash)
		*slash = '\0';
	if (parse_ip(text, r->net, &v4))
		return -1;
	bits = v4 ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		bits = strtoul(slash + 1, &end, 10);
		if (*end || bits > (v4 ? 32UL : 128UL))
			return -1;
	}
	r->bits = (unsigned)bits + (v4 ? 96 : 0);
	for (i = r->bits; i < 128; i++) /* the host bits off */
		r->net[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	return 0;
}

int proxy_init(const char *list, char *err, size_t errlen)
{
	const char *p = list ? list : "";
	char item[PROXY_ADDR_MAX + 8];
	size_t n;

	nranges = 0;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		if (!n)
			break;
		if (n >= sizeof(item) || nranges == MAX_PROXIES) {
			snprintf(err, errlen, n >= sizeof(item) ? "--trusted-proxies: an entry is too long" :
				 "--trusted-proxies: more than %d entries", MAX_PROXIES);
			nranges = 0;
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (parse_range(item, &ranges[nranges])) {
			snprintf(err, errlen, "--trusted-proxies: '%s' is no address or ADDRESS/BITS", item);
			nranges = 0;
			return -1;
		}
		nranges++;
		p += n;
	}
	return 0;
}

bool proxy_enabled(void)
{
	return nranges > 0;
}

bool proxy_trusted(const struct sockaddr *sa)
{
	unsigned char a[16];

	return nranges && !sock_bytes(sa, a) && trusted(a);
}

/* One X-Forwarded-For entry, s[0..n): "a.b.c.d", "a.b.c.d:port", an IPv6
 * address, "[v6]" or "[v6]:port", spaces around.  0 or -1. */
static int parse_entry(const char *s, size_t n, unsigned char out[16])
{
	char text[PROXY_ADDR_MAX];
	const char *colon, *close;
	bool v4;
	size_t i;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n && s[0] == '[') { /* [v6] or [v6]:port */
		close = memchr(s, ']', n);
		if (!close)
			return -1;
		for (i = (size_t)(close - s) + 1; i < n; i++)
			if (!(i == (size_t)(close - s) + 1 ? s[i] == ':' : s[i] >= '0' && s[i] <= '9'))
				return -1;
		s++;
		n = (size_t)(close - s);
	} else if ((colon = memchr(s, ':', n)) && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) {
		/* one colon: IPv4 with a port */
		for (i = (size_t)(colon - s) + 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return -1;
		n = (size_t)(colon - s);
	}
	if (!n || n >= sizeof(text))
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	return parse_ip(text, out, &v4);
}

bool proxy_client(const struct sockaddr *peer, const char *xff, char *out, size_t outlen)
{
	unsigned char a[16], e[16];
	size_t end;
	const char *start;
	bool from_xff = false;

	if (sock_bytes(peer, a)) {
		snprintf(out, outlen, "unknown");
		return false;
	}
	if (xff && trusted(a)) {
		end = strlen(xff);
		while (end) { /* right to left, while the hop is trusted */
			start = xff + end;
			while (start > xff && start[-1] != ',')
				start--;
			if (!trusted(a))
				break;
			if (parse_entry(start, (size_t)(xff + end - start), e)) {
				/* an empty entry ("a,,b") is skipped, a bad one ends it */
				if (strspn(start, " \t") < (size_t)(xff + end - start))
					break;
			} else {
				memcpy(a, e, sizeof(a));
				from_xff = true;
			}
			end = start > xff ? (size_t)(start - 1 - xff) : 0;
		}
	}
	format_ip(a, out, outlen);
	return from_xff;
}

/* ---- the per-address connection count ---- */

#define CONN_SLOTS 32768 /* a power of two; 3/4 of it live at most */

struct conn_slot {
	unsigned char addr[16];
	unsigned count; /* 0: empty */
};

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_slot *conns;
static size_t nconns;
static unsigned conn_limit;
static unsigned char conn_secret[crypto_shorthash_KEYBYTES];

void proxy_conn_limit(unsigned per_addr)
{
	pthread_mutex_lock(&conn_lock);
	conn_limit = per_addr;
	if (!conns) {
		conns = xcalloc(CONN_SLOTS, sizeof(*conns));
		randombytes_buf(conn_secret, sizeof(conn_secret));
	}
	pthread_mutex_unlock(&conn_lock);
}

static size_t home_of(const unsigned char a[16])
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, a, 16, conn_secret);
	return (size_t)(h & (CONN_SLOTS - 1));
}

/* The slot of a, or the empty slot where it would go.  Lock held. */
static size_t find(const unsigned char a[16])
{
	size_t i = home_of(a);

	while (conns[i].count && memcmp(conns[i].addr, a, 16))
		i = (i + 1) & (CONN_SLOTS - 1);
	return i;
}

/* Empty slot i and move later entries of its run back (linear probing's
 * deletion without tombstones).  Lock held. */
static void vacate(size_t i)
{
	size_t j = i, h;

	conns[i].count = 0;
	for (;;) {
		j = (j + 1) & (CONN_SLOTS - 1);
		if (!conns[j].count)
			return;
		h = home_of(conns[j].addr);
		/* j's entry may move to i when its home is not in (i, j] */
		if ((i < j) ? (h <= i || h > j) : (h <= i && h > j)) {
			conns[i] = conns[j];
			conns[j].count = 0;
			i = j;
		}
	}
}

bool proxy_conn_admit(const struct sockaddr *sa)
{
	unsigned char a[16];
	bool ok;

	if (!conn_limit || !conns || sock_bytes(sa, a) || trusted(a))
		return true;
	pthread_mutex_lock(&conn_lock);
	ok = conns[find(a)].count < conn_limit;
	pthread_mutex_unlock(&conn_lock);
	return ok;
}

void proxy_conn_count(const struct sockaddr *sa, int delta)
{
	unsigned char a[16];
	size_t i;

	if (!conns || sock_bytes(sa, a) || trusted(a))
		return;
	pthread_mutex_lock(&conn_lock);
	i = find(a);
	if (delta > 0 && (conns[i].count || nconns < CONN_SLOTS / 4 * 3)) {
		if (!conns[i].count++) {
			memcpy(conns[i].addr, a, 16);
			nconns++;
		}
	} else if (delta < 0 && conns[i].count && !--conns[i].count) {
		vacate(i);
		nconns--;
	}
	pthread_mutex_unlock(&conn_lock);
}
