/*
 * cache.c - the bounded, sharded cache of cache.h.
 *
 * Each shard is a chained hash table (doubled as it fills) and a doubly
 * linked list in recency order; an entry's size counts its header, key and
 * value.  A lookup that hits moves the entry to the front; an insert evicts
 * from the back until the shard is within its share.
 */
#include "cache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

#define SHARDS 16 /* 2^4: shard_of() takes the hash's top 4 bits */
#define MIN_BUCKETS 64

struct entry {
	struct entry *chain;       /* next in its bucket */
	struct entry *prev, *next; /* recency: prev is more recent */
	uint64_t hash;
	struct cache_key key;
	int64_t epoch, version;
	size_t len;
	unsigned char val[];
};

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets, count, bytes;
	struct entry *head, *tail; /* most and least recently used */
};

static struct shard shards[SHARDS];
static size_t share;   /* bytes per shard; 0: off */
static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static atomic_uint_fast64_t hits, misses, evictions;

int cache_init(size_t max_bytes)
{
	size_t i;

	if (sodium_init() < 0)
		return -1;
	randombytes_buf(hash_key, sizeof(hash_key));
	share = max_bytes / SHARDS;
	for (i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&shards[i].lock, NULL);
		shards[i].nbuckets = MIN_BUCKETS;
		shards[i].buckets = xcalloc(MIN_BUCKETS, sizeof(struct entry *));
	}
	return 0;
}

void cache_release(void)
{
	size_t i;

	if (!shards[0].buckets) /* never set up */
		return;
	for (i = 0; i < SHARDS; i++) {
		struct shard *sh = &shards[i];
		struct entry *e = sh->head, *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
		free(sh->buckets);
		pthread_mutex_destroy(&sh->lock);
		memset(sh, 0, sizeof(*sh));
	}
	share = 0;
}

bool cache_enabled(void)
{
	return share > 0;
}

struct cache_key cache_key(enum cache_kind kind, int64_t a, int64_t b, int64_t c, int64_t d)
{
	struct cache_key k = { kind, { a, b, c, d } };

	return k;
}

static uint64_t hash_of(const struct cache_key *key)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)key, sizeof(*key), hash_key);
	return h;
}

/* The shard from the hash's top bits: a shard's buckets take its low bits,
 * which would otherwise be the same for every key of the shard. */
static struct shard *shard_of(uint64_t h)
{
	return &shards[h >> 60];
}

static size_t size_of(const struct entry *e)
{
	return sizeof(*e) + e->len;
}

/* ---- one shard, under its lock ---- */

static struct entry **slot(struct shard *sh, const struct cache_key *key, uint64_t h)
{
	struct entry **p = &sh->buckets[h & (sh->nbuckets - 1)];

	while (*p && ((*p)->hash != h || memcmp(&(*p)->key, key, sizeof(*key))))
		p = &(*p)->chain;
	return p;
}

static void unlink_lru(struct shard *sh, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		sh->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		sh->tail = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(struct shard *sh, struct entry *e)
{
	e->prev = NULL;
	e->next = sh->head;
	if (sh->head)
		sh->head->prev = e;
	sh->head = e;
	if (!sh->tail)
		sh->tail = e;
}

/* Removes the entry *p points at (its bucket's link) and frees it. */
static void drop(struct shard *sh, struct entry **p)
{
	struct entry *e = *p;

	*p = e->chain;
	unlink_lru(sh, e);
	sh->count--;
	sh->bytes -= size_of(e);
	free(e);
}

static void grow(struct shard *sh)
{
	size_t n = sh->nbuckets * 2, i;
	struct entry **b = xcalloc(n, sizeof(*b)), *e, *next;

	for (i = 0; i < sh->nbuckets; i++)
		for (e = sh->buckets[i]; e; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(sh->buckets);
	sh->buckets = b;
	sh->nbuckets = n;
}

/* (epoch, version) before (e2, v2): both only ever grow */
static bool older(int64_t e1, int64_t v1, int64_t e2, int64_t v2)
{
	return e1 < e2 || (e1 == e2 && v1 < v2);
}

/* ---- lookups ---- */

/* Finds key stamped (epoch, version) with its shard locked: the entry, or
 * NULL (shard unlocked).  The caller unlocks *shp after using the entry.
 * `any`: whatever its stamps. */
static struct entry *find(const struct cache_key *key, int64_t epoch, int64_t version,
			  bool any, struct shard **shp)
{
	uint64_t h;
	struct shard *sh;
	struct entry **p, *e;

	if (!share)
		return NULL;
	h = hash_of(key);
	sh = shard_of(h);
	pthread_mutex_lock(&sh->lock);
	p = slot(sh, key, h);
	e = *p;
	if (e && !any && (e->epoch != epoch || e->version != version)) {
		if (older(e->epoch, e->version, epoch, version))
			drop(sh, p); /* it can never answer again */
		e = NULL;
	}
	if (!e) {
		pthread_mutex_unlock(&sh->lock);
		return NULL;
	}
	unlink_lru(sh, e);
	push_front(sh, e);
	*shp = sh;
	return e;
}

static long copy_out(const struct cache_key *key, int64_t epoch, int64_t version, bool any,
		     void *out, size_t size)
{
	struct shard *sh;
	struct entry *e = find(key, epoch, version, any, &sh);
	long n = -1;

	if (e && e->len <= size) {
		if (e->len)
			memcpy(out, e->val, e->len);
		n = (long)e->len;
	}
	if (e)
		pthread_mutex_unlock(&sh->lock);
	if (!any) /* a lookup that answers; a peek is checked later, not counted */
		atomic_fetch_add(n >= 0 ? &hits : &misses, 1);
	return n;
}

long cache_get(const struct cache_key *key, int64_t epoch, int64_t version, void *out,
	       size_t size)
{
	return copy_out(key, epoch, version, false, out, size);
}

long cache_peek(const struct cache_key *key, void *out, size_t size)
{
	return copy_out(key, 0, 0, true, out, size);
}

bool cache_stamps(const struct cache_key *key, int64_t *epoch, int64_t *version)
{
	struct shard *sh;
	struct entry *e = find(key, 0, 0, true, &sh);

	if (!e)
		return false;
	*epoch = e->epoch;
	*version = e->version;
	pthread_mutex_unlock(&sh->lock);
	return true;
}

void cache_drop_older(const struct cache_key *key, int64_t version)
{
	uint64_t h;
	struct shard *sh;
	struct entry **p;

	if (!share)
		return;
	h = hash_of(key);
	sh = shard_of(h);
	pthread_mutex_lock(&sh->lock);
	p = slot(sh, key, h);
	if (*p && (*p)->version < version)
		drop(sh, p);
	pthread_mutex_unlock(&sh->lock);
}

char *cache_get_copy(const struct cache_key *key, int64_t epoch, int64_t version, size_t *len)
{
	struct shard *sh;
	struct entry *e = find(key, epoch, version, false, &sh);
	char *copy;

	atomic_fetch_add(e ? &hits : &misses, 1);
	if (!e)
		return NULL;
	copy = xmalloc(e->len + 1);
	memcpy(copy, e->val, e->len);
	copy[e->len] = '\0';
	*len = e->len;
	pthread_mutex_unlock(&sh->lock);
	return copy;
}

void cache_put(const struct cache_key *key, int64_t epoch, int64_t version, const void *val,
	       size_t len)
{
	uint64_t h;
	struct shard *sh;
	struct entry **p, *e;

	if (!share || sizeof(*e) + len > share)
		return;
	h = hash_of(key);
	sh = shard_of(h);
	e = xmalloc(sizeof(*e) + len);
	e->hash = h;
	e->key = *key;
	e->epoch = epoch;
	e->version = version;
	e->len = len;
	if (len)
		memcpy(e->val, val, len);
	pthread_mutex_lock(&sh->lock);
	p = slot(sh, key, h);
	if (*p && !older((*p)->epoch, (*p)->version, epoch, version)) {
		pthread_mutex_unlock(&sh->lock); /* as new or newer is there */
		free(e);
		return;
	}
	if (*p)
		drop(sh, p);
	if (sh->count >= sh->nbuckets)
		grow(sh);
	p = &sh->buckets[h & (sh->nbuckets - 1)];
	e->chain = *p;
	*p = e;
	push_front(sh, e);
	sh->count++;
	sh->bytes += size_of(e);
	while (sh->bytes > share && sh->tail != e) {
		drop(sh, slot(sh, &sh->tail->key, sh->tail->hash));
		atomic_fetch_add(&evictions, 1);
	}
	pthread_mutex_unlock(&sh->lock);
}

void cache_stats(struct cache_stats *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->hits = atomic_load(&hits);
	out->misses = atomic_load(&misses);
	out->evictions = atomic_load(&evictions);
	out->max_bytes = share * SHARDS;
	for (i = 0; share && i < SHARDS; i++) {
		pthread_mutex_lock(&shards[i].lock);
		out->bytes += shards[i].bytes;
		out->entries += shards[i].count;
		pthread_mutex_unlock(&shards[i].lock);
	}
}
