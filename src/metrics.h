/*
 * metrics.h - counters for GET /metrics (Prometheus text format).
 *
 * Every function here is safe from any thread and never blocks or allocates,
 * except metrics_text(), which builds the page.
 */
#ifndef CMSD_METRICS_H
#define CMSD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The name of each route row (rows of one name share their series), in row
 * order; call once before serving.  The strings must outlive the module. */
void metrics_init(const char *const *names, size_t n);
/* One answered request: its route row (METRICS_NO_ROUTE: none matched),
 * status, duration. */
#define METRICS_NO_ROUTE ((size_t)-1)
void metrics_request(size_t row, unsigned status, uint64_t us);
/* A store call failed with store_rc `rc` (only failures are counted). */
void metrics_store_error(int rc);
/* A request's transaction is run again. */
void metrics_store_rerun(void);
/* The group writer committed (or tried) a group of n requests. */
void metrics_write_group(size_t n);
/* ... and ran n store statements for it. */
void metrics_write_group_statements(uint64_t n);
/* A group of more than one was undone whole: its requests run again, alone. */
void metrics_write_group_again(void);
/* A checkpoint of the SQLite store ran: by the checkpoint thread (forced
 * false), holding this process's writers for held_us at its end, or by a
 * committing writer itself because the WAL outgrew the thread (forced true),
 * for held_us; frames: the WAL frames it carried into the database. */
void metrics_checkpoint(bool forced, uint64_t frames, uint64_t held_us);
/* A look at the store for the caches (store_look): aimed (PostgreSQL: the
 * lead's rows too unless the cache's copy is current) or plain. */
void metrics_look(bool aimed);
/* A plain look at a lead held in the cache found the copy stale after all
 * (changed by another node or process lately): an aimed look follows. */
void metrics_look_stale(void);
/* A statement that took n looks at once (store_look_many), reading their
 * leads' rows too (rows). */
void metrics_look_many(size_t n, bool rows);
/* The change feed took n events into memory: read back from the store, or
 * handed over as this process committed them (feed_commit_done). */
void metrics_feed_events(size_t n, bool handed);
/* One PostgreSQL notification the feed thread received: own, sent by one
 * of this process's sessions (passed over), or another process's. */
void metrics_feed_notification(bool own);
/* A look answered from the connection's memo (store.c): no statement. */
void metrics_look_memo(void);
/* A client connection opened (+1) or closed (-1). */
void metrics_connection(int delta);
/* A request started (+1) or ended (-1). */
void metrics_in_flight(int delta);
/* The exposition page (caller frees). */
char *metrics_text(void);

#endif
