/*
 * cache.h - what requests need again and again, kept in memory
 * (docs/decisions.md, "Answers from memory, writes in groups").
 *
 * One cache of bounded size (--cache-size) for the whole process: verified
 * tokens with their principal, scope checks, the rendered mapping of a lead
 * with its ETag.  Each entry carries the two stamps it was read at, the
 * store's epoch and a version (a lead's last history entry, or 0), and
 * answers only a lookup that brings exactly the same pair: the caller has
 * just read both from the store in one look
 * (store_look), so an entry answers only while nothing it depends on has
 * changed, on this node or any other.  Both stamps only ever grow.
 *
 * Safe from any thread.  Sharded, each shard under its own lock, with its
 * own share of the bytes and least-recently-used eviction.  Keys are hashed
 * with a keyed hash (SipHash), so chosen keys cannot pile into one chain.
 */
#ifndef CMSD_CACHE_H
#define CMSD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an entry is; part of its key. */
enum cache_kind {
	CACHE_TOKEN = 1, /* v: the token's hash (32 bytes); a struct token_info */
	CACHE_SCOPE,     /* v: cc, campaign; empty: the campaign is in cc */
	CACHE_PATH,      /* v: cc, process, campaign, lead; empty: the path holds */
	CACHE_MAPPING,   /* v: campaign, lead; ETag, NUL, the answer's text */
};

struct cache_key {
	int64_t kind;
	int64_t v[4];
};

/* The default --cache-size, MiB. */
#define CACHE_DEFAULT_MIB 16

/* Sizes the cache; 0 turns it off (every lookup misses).  Call before any
 * other function, from one thread. */
int cache_init(size_t max_bytes);
/* Frees every entry. */
void cache_release(void);
bool cache_enabled(void);

/* A key of `kind` from up to four numbers. */
struct cache_key cache_key(enum cache_kind kind, int64_t a, int64_t b, int64_t c, int64_t d);

/* Copies the value of `key` stamped (epoch, version) into out[size] and
 * returns its length, or -1 when there is no such entry (or it is larger
 * than size).  An entry with older stamps is dropped. */
long cache_get(const struct cache_key *key, int64_t epoch, int64_t version, void *out,
	       size_t size);
/* What the cache holds for key, whatever its stamps (the caller checks
 * them later: the value says as of when), as cache_get(). */
long cache_peek(const struct cache_key *key, void *out, size_t size);
/* Whether the cache holds key, and then the stamps it holds it at, in
 * *epoch and *version (its value not read; not counted as a lookup). */
bool cache_stamps(const struct cache_key *key, int64_t *epoch, int64_t *version);
/* The same as cache_get(), into a malloc'd copy with a NUL after it (*len its length);
 * NULL on a miss. */
char *cache_get_copy(const struct cache_key *key, int64_t epoch, int64_t version, size_t *len);
/* Stores a copy of val[len] under key, stamped (epoch, version), unless an
 * entry with newer stamps is there; evicts the least recently used entries
 * of its shard to stay within the size. */
void cache_put(const struct cache_key *key, int64_t epoch, int64_t version, const void *val,
	       size_t len);

/* Drops the entry of key if its version is older than `version`, whatever
 * its epoch: a change the caller knows of (the feed's) made it stale. */
void cache_drop_older(const struct cache_key *key, int64_t version);

struct cache_stats {
	uint64_t hits, misses, evictions;
	size_t bytes, entries, max_bytes;
};
void cache_stats(struct cache_stats *out);

#endif
