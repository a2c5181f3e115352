/*
 * router.h - the route table: method + path pattern -> handler + role needed.
 */
#ifndef CMSD_ROUTER_H
#define CMSD_ROUTER_H

#include "http.h"

typedef int (*handler_fn)(struct request *r);

enum route_flags {
	RF_NONE = 0,
	RF_CC = 1,      /* ids[0] is a contact center: checked against the caller */
	RF_NO_TXN = 2,  /* the handler manages its own transactions */
	RF_PASSWORD = 4, /* hash the body's "password" before the transaction */
	RF_TEXT = 8,    /* answers text, not JSON: Accept is not checked */
	RF_NO_STORE = 16, /* never touches the store: answers while it is away */
};

struct route {
	const char *method;
	const char *pattern; /* segments; "{object}" a positive integer id of that
				object, "{str}" text (a userId), "{rest}" (last
				only) the rest of the path */
	handler_fn handler;
	enum role role;      /* least role allowed */
	int flags;
	const char *name;    /* for logs */
};

/* Find the route of (method, path).  On failure sets r->err to 404 HTTP-1404
 * or 405 HTTP-1405 (with r->allow filled) and returns NULL.  On success fills
 * r->ids, r->str, and r->bad_object / r->bad_id for an id that cannot exist. */
const struct route *router_match(struct request *r);
/* The table, row by row, for whoever lists routes (metrics, tests). */
size_t router_count(void);
const struct route *router_nth(size_t i);
/* The row number of a route that router_match() returned. */
size_t router_index(const struct route *route);

#endif
