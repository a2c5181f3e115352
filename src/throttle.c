/*
 * throttle.c - failed-login counters in two fixed tables, one of login names
 * and one of client addresses: a key hashes with a secret random key to one
 * slot of its table, which counts failures in a window.  The tables never
 * grow; a slot taken by another key whose window has ended is reused, and a
 * collision with a live one merges the two counters, which can only make the
 * limit stricter.  The secret hash key makes such collisions impossible to
 * aim.  (One table for both once let a name and the caller's address share
 * a slot, which then counted each failure twice.)
 */
#include "throttle.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define SLOTS 8192

struct slot {
	uint64_t key;    /* keyed hash of "u:name" or "a:address"; 0 = empty */
	int64_t start;   /* when the window began */
	unsigned fails;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot users[SLOTS], addrs[SLOTS];
static unsigned char secret[crypto_shorthash_KEYBYTES];
static unsigned limit_user = 10, limit_addr = 100, window_s = 300;

void throttle_init(unsigned per_user, unsigned per_addr, unsigned window)
{
	limit_user = per_user;
	limit_addr = per_addr;
	window_s = window;
	randombytes_buf(secret, sizeof(secret));
	memset(users, 0, sizeof(users));
	memset(addrs, 0, sizeof(addrs));
}

static uint64_t key_of(char kind, const char *s)
{
	unsigned char buf[300];
	size_t n = strlen(s) < sizeof(buf) - 2 ? strlen(s) : sizeof(buf) - 2;
	uint64_t h;

	buf[0] = (unsigned char)kind;
	buf[1] = ':';
	memcpy(buf + 2, s, n);
	crypto_shorthash((unsigned char *)&h, buf, n + 2, secret);
	return h | 1; /* never 0, the empty mark */
}

/* The slot of key in table, its window restarted when it has ended.  Lock
 * held. */
static struct slot *slot_of(struct slot *table, uint64_t key, int64_t now)
{
	struct slot *s = &table[key % SLOTS];

	if (s->key != key && s->start + window_s <= now) {
		s->key = key;
		s->fails = 0;
		s->start = now;
	} else if (s->start + window_s <= now) {
		s->fails = 0;
		s->start = now;
	}
	return s;
}

/* Seconds until s admits another check under `limit`, or 0. */
static unsigned wait_of(const struct slot *s, unsigned limit, int64_t now)
{
	if (s->fails < limit)
		return 0;
	return (unsigned)(s->start + window_s - now);
}

unsigned throttle_begin(const char *user, const char *addr)
{
	int64_t now = (int64_t)time(NULL);
	struct slot *su, *sa;
	unsigned wu, wa;

	pthread_mutex_lock(&lock);
	su = slot_of(users, key_of('u', user), now);
	sa = slot_of(addrs, key_of('a', addr), now);
	wu = wait_of(su, limit_user, now);
	wa = wait_of(sa, limit_addr, now);
	if (!wu && !wa) {
		su->fails++;
		sa->fails++;
	}
	pthread_mutex_unlock(&lock);
	return wu > wa ? wu : wa;
}

void throttle_end(const char *user, const char *addr, enum throttle_outcome how)
{
	int64_t now = (int64_t)time(NULL);
	struct slot *su, *sa;

	if (how == THROTTLE_FAILED)
		return;
	pthread_mutex_lock(&lock);
	su = slot_of(users, key_of('u', user), now);
	sa = slot_of(addrs, key_of('a', addr), now);
	if (how == THROTTLE_OK)
		su->fails = 0;
	else if (su->fails)
		su->fails--;
	if (sa->fails)
		sa->fails--;
	pthread_mutex_unlock(&lock);
}
