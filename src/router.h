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
	RF_NO_TXN = 2,  /* the handler manages the store itself */
};

struct route {
	const char *method;
	const char *pattern; /* segments; "{id}" a positive integer, "{str}" text */
	handler_fn handler;
	enum role role;      /* least role allowed */
	int flags;
	const char *name;    /* for logs */
};

/* Find the route of (method, path).  On failure sets r->err to 404 HTTP-1404
 * or 405 HTTP-1405 (with r->allow filled) and returns NULL.  On success fills
 * r->ids and r->str. */
const struct route *router_match(struct request *r);

#endif
