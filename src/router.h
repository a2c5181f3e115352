/*
 * router.h - the route table: method + path pattern -> endpoint, the role it
 * needs and the chain of parents its ids live under.
 */
#ifndef CMSD_ROUTER_H
#define CMSD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "errors.h"
#include "request.h"

/* What a route names: its parse step (NULL: no input), its handler and,
 * for an RF_GROUP route whose one write a group can send with others
 * (store_mapping_put_group()), the handler in two steps around it (NULL:
 * none).  Each is declared in handlers.h as a one-element array, so that a
 * route row names it as a plain identifier. */
struct endpoint {
	parse_fn parse;
	handler_fn run;
	const struct group_steps *group;
};

/*
 * A route's flags.  The IN_* bits declare the parent chain: the path ids the
 * pipeline checks, in the request's transaction and before the handler runs,
 * to exist and chain to each other and to the caller's contact center (a
 * route's own object, the last id of its path, is the handler's to find).
 * Ids a parse step reads from the query or body (struct input) are checked
 * along the same chain.
 */
enum route_flags {
	IN_CC = 1,        /* below {contactCenter} */
	IN_PROCESS = 2 | IN_CC, /* below {process} */
	IN_CAMPAIGN = 4 | IN_PROCESS, /* below {campaign} */
	RF_NO_TXN = 8,    /* the handler runs without a transaction */
	RF_TEXT = 16,     /* answers text, not JSON: Accept is not checked */
	RF_NO_STORE = 32, /* never touches the store: answers while it is away */
	RF_SELF = 64,     /* an Agent may call it for its own {str} only */
	RF_LOOK_LEAD = 128, /* its look at the store (store_look) takes the version
			       of the lead of ?leadId in ?campaignId or {campaign} */
	RF_GROUP = 256,   /* committed in groups by the writer (writer.h) */
	RF_HASH = 512,    /* checks a password: run by a hasher thread (hasher.h) */
};
#define IN_NONE 0

struct route {
	const char *method;
	const char *pattern; /* segments; "{object}" a positive integer id of that
				object (struct path_ids), "{str}" a userId,
				"{rest}" (last only) the rest of the path */
	const struct endpoint *endpoint;
	enum role role;      /* least role allowed */
	int flags;           /* IN_* | RF_* */
	const char *name;    /* for logs and metrics */
};

/* Find the route of (method, path), filling *ids and, for an id that cannot
 * exist, bad_object/bad_id (at least 24 and 32 bytes); HEAD finds the GET
 * row.  NULL when none matches: *err is then 404 HTTP-1404, or 405
 * HTTP-1405 with allow (64 bytes) listing the methods the path answers
 * (HEAD wherever GET). */
const struct route *router_match(const char *method, const char *path, struct path_ids *ids,
				 char *bad_object, char *bad_id, char *allow, struct error *err);
/* The table, row by row, for whoever lists routes (metrics, tests). */
size_t router_count(void);
const struct route *router_nth(size_t i);
/* Print the table, one JSON object a line: method, pattern, name, role,
 * the parent chain it lives under, and its flags.  Returns 0 or -1. */
int router_print(FILE *out);
/* The row number of a route that router_match() returned. */
size_t router_index(const struct route *route);

#endif
