/*
 * throttle.c - failed-login counters in three fixed tables: one per login
 * name, one per client address, one per (name, address) pair.
 *
 * The limits (docs/decisions.md, "Failed logins: whom a limit refuses"):
 *  - a pair may fail `per_user` times in a window: one address guessing one
 *    name;
 *  - an address may fail `per_addr` times: one address spraying names;
 *  - a name may fail `per_user` times across all addresses, but this limit
 *    refuses only an address that has itself failed in the window.  A client
 *    that has not failed is never refused for what others did, so nobody
 *    can lock a user out by failing in their name; a distributed guesser
 *    gets at most one guess per fresh address per window beyond the limit
 *    (each address is "dirty" for every name after its first failure).
 *
 * A fourth table counts failures per network (an IPv4 /24, an IPv6 /64):
 * it refuses nobody and only chooses a login's lane (throttle_addr_failed),
 * so that a flood from many addresses of a few networks is in the second
 * lane after its first check instead of after one check per address.
 *
 * Each table is set-associative: a key (SipHash of the kind and the text
 * under a key drawn at start, so that no client can choose which keys share
 * a bucket) goes to one bucket of WAYS slots, all buckets and slots used.
 * A key matches only its own slot (the full 64-bit hash), so two keys never
 * merge their counters.  A new key takes an empty or expired slot of its
 * bucket, else evicts the slot with the fewest failures (then the oldest):
 * a flood of names that each fail once evicts only its own kind, and a
 * counter with f failures leaves only when every slot of its bucket holds at
 * least as many.  Memory: 4 x BUCKETS x WAYS slots of 24 bytes, 3 MiB.
 */
#include "throttle.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cms_limits.h"
#include "banned.h"

#define BUCKETS 4096
#define WAYS 8
#define ADDR_MAX 64 /* a numeric address and more (http.c keeps 64 bytes) */

struct slot {
	uint64_t key;    /* keyed hash of kind and text; 0 = empty */
	int64_t start;   /* when the window began */
	unsigned fails;
};

enum table { T_NAME, T_ADDR, T_PAIR, T_NET, NTABLES };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot tables[NTABLES][BUCKETS][WAYS];
static unsigned char secret[crypto_shorthash_KEYBYTES];
static unsigned limit_user = 10, limit_addr = 100, window_s = 300;

void throttle_init(unsigned per_user, unsigned per_addr, unsigned window)
{
	pthread_mutex_lock(&lock);
	limit_user = per_user;
	limit_addr = per_addr;
	window_s = window;
	randombytes_buf(secret, sizeof(secret));
	memset(tables, 0, sizeof(tables));
	pthread_mutex_unlock(&lock);
}

/* The network of a numeric address, as text into net: an IPv4 address's
 * /24, an IPv6 address's /64 (an IPv4-mapped one as IPv4); anything else
 * as it is. */
static void net_of(const char *addr, char net[ADDR_MAX + 1])
{
	const char *v4 = strrchr(addr, ':');
	unsigned char a[16];

	v4 = v4 && strchr(v4, '.') ? v4 + 1 : addr;
	if (inet_pton(AF_INET, v4, a) == 1) {
		a[3] = 0;
		inet_ntop(AF_INET, a, net, ADDR_MAX + 1);
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, net, ADDR_MAX + 1);
	} else {
		snprintf(net, ADDR_MAX + 1, "%s", addr);
	}
}

/* The keyed hash of table t's key for (user, addr): the name, the address
 * (its network for T_NET), or both, each part ended by a NUL so that no
 * two pairs read alike. */
static uint64_t key_of(enum table t, const char *user, const char *addr)
{
	unsigned char buf[1 + ADDR_MAX + 1 + CMS_USERID_MAX + 1];
	char net[ADDR_MAX + 1];
	size_t n = 0, len;
	uint64_t h;

	buf[n++] = (unsigned char)('0' + t);
	if (t == T_NET) {
		net_of(addr, net);
		addr = net;
	}
	if (t != T_NAME) {
		len = strnlen(addr, ADDR_MAX);
		memcpy(buf + n, addr, len);
		n += len;
		buf[n++] = '\0';
	}
	if (t == T_NAME || t == T_PAIR) {
		len = strnlen(user, CMS_USERID_MAX);
		memcpy(buf + n, user, len);
		n += len;
		buf[n++] = '\0';
	}
	crypto_shorthash((unsigned char *)&h, buf, n, secret);
	return h ? h : 1; /* never 0, the empty mark */
}

static bool expired(const struct slot *s, int64_t now)
{
	return !s->key || s->start + window_s <= now;
}

/* The slot of key in table t, its window restarted when it has ended; a new
 * key takes an empty or expired slot, else the one with the fewest failures
 * (then the oldest).  Lock held. */
static struct slot *slot_of(enum table t, uint64_t key, int64_t now)
{
	/* the high bits pick the bucket: the low ones are as random, but
	 * this keeps the choice apart from anything else using the key */
	struct slot *b = tables[t][(key >> 32) % BUCKETS], *victim = NULL;
	size_t i;

	for (i = 0; i < WAYS; i++)
		if (b[i].key == key) {
			if (expired(&b[i], now)) {
				b[i].fails = 0;
				b[i].start = now;
			}
			return &b[i];
		}
	for (i = 0; i < WAYS; i++) {
		if (expired(&b[i], now)) {
			victim = &b[i];
			break;
		}
		if (!victim || b[i].fails < victim->fails ||
		    (b[i].fails == victim->fails && b[i].start < victim->start))
			victim = &b[i];
	}
	victim->key = key;
	victim->fails = 0;
	victim->start = now;
	return victim;
}

/* Seconds until s admits another check under `limit`, or 0. */
static unsigned wait_of(const struct slot *s, unsigned limit, int64_t now)
{
	if (s->fails < limit)
		return 0;
	return (unsigned)(s->start + window_s - now);
}

static unsigned max_of(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

bool throttle_addr_failed(const char *addr)
{
	static const enum table looked[] = { T_ADDR, T_NET };
	int64_t now = (int64_t)time(NULL);
	bool failed = false;
	size_t i, k;

	pthread_mutex_lock(&lock);
	for (k = 0; k < sizeof(looked) / sizeof(looked[0]); k++) {
		uint64_t key = key_of(looked[k], "", addr);
		const struct slot *b = tables[looked[k]][(key >> 32) % BUCKETS];

		for (i = 0; i < WAYS; i++)
			if (b[i].key == key && !expired(&b[i], now))
				failed = failed || b[i].fails > 0;
	}
	pthread_mutex_unlock(&lock);
	return failed;
}

unsigned throttle_begin(const char *user, const char *addr)
{
	int64_t now = (int64_t)time(NULL);
	struct slot *sn, *sa, *sp, *snet;
	unsigned w;

	pthread_mutex_lock(&lock);
	sn = slot_of(T_NAME, key_of(T_NAME, user, addr), now);
	sa = slot_of(T_ADDR, key_of(T_ADDR, user, addr), now);
	sp = slot_of(T_PAIR, key_of(T_PAIR, user, addr), now);
	snet = slot_of(T_NET, key_of(T_NET, user, addr), now);
	w = max_of(wait_of(sp, limit_user, now), wait_of(sa, limit_addr, now));
	/* the name's limit only for an address that has failed itself */
	if (sa->fails)
		w = max_of(w, wait_of(sn, limit_user, now));
	if (!w) {
		sn->fails++;
		sa->fails++;
		sp->fails++;
		snet->fails++; /* limits nothing: chooses lanes */
	}
	pthread_mutex_unlock(&lock);
	return w;
}

void throttle_end(const char *user, const char *addr, enum throttle_outcome how)
{
	int64_t now = (int64_t)time(NULL);
	struct slot *s[NTABLES];
	int t;

	if (how == THROTTLE_FAILED)
		return;
	pthread_mutex_lock(&lock);
	for (t = 0; t < NTABLES; t++) {
		s[t] = slot_of((enum table)t, key_of((enum table)t, user, addr), now);
		if (s[t]->fails)
			s[t]->fails--; /* the check counted ahead, given back */
	}
	if (how == THROTTLE_OK) /* the name's owner: its failures start again */
		s[T_NAME]->fails = s[T_PAIR]->fails = 0;
	pthread_mutex_unlock(&lock);
}
