/*
 * test_cache.c - the bounded cache (src/cache.c): an entry answers only the
 * stamps it was kept under, a newer entry is never replaced by an older
 * one, a change read from the feed drops only older entries of its key,
 * the size stays within --cache-size with the least recently used
 * entries going first, and threads that share it see whole values.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "unit.h"

void suite_cache(void);

static struct cache_key key_of(int64_t n)
{
	return cache_key(CACHE_MAPPING, n, 0, 0, 0);
}

static bool holds(int64_t n, int64_t epoch, int64_t version, const char *want)
{
	struct cache_key k = key_of(n);
	char buf[2048];
	long len = cache_get(&k, epoch, version, buf, sizeof(buf) - 1);

	if (len < 0)
		return false;
	buf[len] = '\0';
	return !strcmp(buf, want);
}

static void put(int64_t n, int64_t epoch, int64_t version, const char *val)
{
	struct cache_key k = key_of(n);

	cache_put(&k, epoch, version, val, strlen(val));
}

static void stamps(void)
{
	struct cache_key k = key_of(1), other = cache_key(CACHE_PATH, 1, 0, 0, 0);
	struct cache_stats before, after;
	char small[2], *copy;
	size_t len = 0;
	int64_t e = 0, v = 0;

	CHECK(cache_init(1 << 20) == 0);
	CHECK(cache_enabled());
	put(1, 5, 7, "five-seven");
	CHECK(holds(1, 5, 7, "five-seven"));
	/* a look older than the entry misses but leaves it */
	CHECK(!holds(1, 4, 7, "five-seven"));
	CHECK(!holds(1, 5, 6, "five-seven"));
	CHECK(holds(1, 5, 7, "five-seven"));
	/* an older value never replaces a newer one; a newer one does */
	put(1, 5, 6, "older");
	CHECK(holds(1, 5, 7, "five-seven"));
	put(1, 5, 9, "newer");
	CHECK(holds(1, 5, 9, "newer"));
	/* a newer look (the lead changed since, or the epoch moved) misses,
	 * and drops what can never answer again */
	CHECK(!holds(1, 5, 10, "newer"));
	CHECK(!holds(1, 5, 9, "newer"));
	put(1, 5, 9, "again");
	CHECK(!holds(1, 6, 9, "again"));
	CHECK(!holds(1, 5, 9, "again"));
	/* kinds do not collide; a short buffer misses (and counts so); copies
	 * end in NUL; a peek answers whatever the stamps and counts nothing */
	put(1, 1, 1, "mapping");
	cache_put(&other, 1, 1, "cl", 2);
	CHECK(holds(1, 1, 1, "mapping"));
	cache_stats(&before);
	CHECK(cache_get(&k, 1, 1, small, sizeof(small)) == -1);
	CHECK(cache_peek(&other, small, sizeof(small)) == 2 && !memcmp(small, "cl", 2));
	/* the stamps of what it holds, counted as nothing either */
	CHECK(cache_stamps(&k, &e, &v) && e == 1 && v == 1);
	CHECK(!cache_stamps(&(struct cache_key){ CACHE_MAPPING, { 2, 0, 0, 0 } }, &e, &v));
	cache_stats(&after);
	CHECK(after.misses == before.misses + 1 && after.hits == before.hits);
	copy = cache_get_copy(&other, 1, 1, &len);
	CHECK(copy && len == 2 && !strcmp(copy, "cl"));
	free(copy);
	CHECK(!cache_get_copy(&other, 1, 2, &len));
	/* empty values: a check that held */
	cache_put(&other, 2, 0, NULL, 0);
	CHECK(cache_get(&other, 2, 0, NULL, 0) == 0);
	/* a change the feed read drops an entry of an older version only,
	 * whatever its epoch, and nothing of another key */
	k = key_of(3);
	put(3, 8, 20, "lead three");
	put(4, 8, 20, "lead four");
	cache_drop_older(&k, 20);
	CHECK(holds(3, 8, 20, "lead three"));
	cache_drop_older(&k, 19);
	CHECK(holds(3, 8, 20, "lead three"));
	cache_drop_older(&k, 21);
	CHECK(!cache_stamps(&k, &e, &v));
	CHECK(holds(4, 8, 20, "lead four"));
	k = key_of(5); /* none */
	cache_drop_older(&k, 21);
	CHECK(holds(4, 8, 20, "lead four"));
	cache_release();
	CHECK(!cache_enabled());
}

static void off(void)
{
	struct cache_stats st;

	CHECK(cache_init(0) == 0);
	CHECK(!cache_enabled());
	put(1, 1, 1, "x");
	CHECK(!holds(1, 1, 1, "x"));
	cache_stats(&st);
	CHECK(st.entries == 0 && st.bytes == 0 && st.max_bytes == 0);
	cache_release();
}

/* 64 KiB in all: a thousand 1 KiB values cannot all stay. */
static void bounded(void)
{
	struct cache_stats st;
	char val[1024], *big;
	int64_t i, kept = 0;

	CHECK(cache_init(64 << 10) == 0);
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (i = 0; i < 1000; i++) {
		put(i, 1, 1, val);
		put(0, 1, 1, val); /* key 0 is used all along */
	}
	cache_stats(&st);
	CHECK(st.bytes <= st.max_bytes && st.max_bytes == 64 << 10);
	CHECK(st.evictions > 900 && st.entries < 64);
	for (i = 0; i < 1000; i++)
		kept += holds(i, 1, 1, val);
	CHECK(kept == (int64_t)st.entries);
	CHECK(holds(0, 1, 1, val));     /* recently used */
	CHECK(holds(999, 1, 1, val));   /* the last one put */
	CHECK(!holds(1, 1, 1, val));    /* long evicted */
	/* a value larger than a shard's share is not kept */
	big = calloc(1, 8 << 10);
	if (big) {
		memset(big, 'b', (8 << 10) - 1);
		put(5000, 1, 1, big);
		CHECK(!holds(5000, 1, 1, big));
		free(big);
	}
	cache_stats(&st);
	CHECK(st.hits > 0 && st.misses > 0);
	cache_release();
}

#define THREADS 4
#define ROUNDS 20000

/* Each value names its key and stamp; a reader must never see a value of
 * another key or a torn one. */
static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	intptr_t bad = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		int64_t n = rand_r(&seed) % 300, v = rand_r(&seed) % 4;
		char want[64], got[64];
		struct cache_key k = key_of(n);
		long len;

		snprintf(want, sizeof(want), "key %lld version %lld", (long long)n, (long long)v);
		if (rand_r(&seed) % 2) {
			cache_put(&k, 1, v, want, strlen(want));
			continue;
		}
		len = cache_get(&k, 1, v, got, sizeof(got) - 1);
		if (len < 0)
			continue;
		got[len] = '\0';
		bad += strcmp(got, want) != 0;
	}
	return (void *)bad;
}

static void threads(void)
{
	pthread_t t[THREADS];
	void *bad;
	int i, started = 0;

	CHECK(cache_init(32 << 10) == 0); /* small: eviction runs all along */
	for (i = 0; i < THREADS; i++)
		started += pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1)) == 0;
	CHECK(started == THREADS);
	for (i = 0; i < started; i++) {
		CHECK(pthread_join(t[i], &bad) == 0);
		CHECK(bad == NULL);
	}
	cache_release();
}

void suite_cache(void)
{
	static const struct unit_test t[] = {
		{ "stamps", stamps },
		{ "off", off },
		{ "bounded", bounded },
		{ "threads", threads },
	};
	unit_run("cache", t, sizeof(t) / sizeof(t[0]));
}
