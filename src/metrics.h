/*
 * metrics.h - counters for GET /metrics (Prometheus text format).
 *
 * Every function here is safe from any thread and never blocks or allocates,
 * except metrics_text(), which builds the page.
 */
#ifndef CMSD_METRICS_H
#define CMSD_METRICS_H

#include <stdint.h>

#include "http.h"

struct route;

/* Learn the route table's names; call once before serving. */
void metrics_init(void);
/* One answered request: its route (NULL: none matched), status, duration. */
void metrics_request(const struct route *route, unsigned status, uint64_t us);
/* A store call failed with store_rc `rc` (only failures are counted). */
void metrics_store_error(int rc);
/* A request's transaction is run again. */
void metrics_store_rerun(void);
/* A client connection opened (+1) or closed (-1). */
void metrics_connection(int delta);
/* A request started (+1) or ended (-1). */
void metrics_in_flight(int delta);
/* The exposition page (caller frees). */
char *metrics_text(void);

#endif
