/*
 * request.h - one request as the pipeline and the handlers see it, and the
 * pipeline itself (request.c).
 *
 * The request flows one way:
 *
 *   http.c (libmicrohttpd glue) fills a struct request and calls
 *   request_admit()  route -> store -> credentials -> negotiation -> path ids
 *                    -> tenant -> role, before a byte of the body is read;
 *   request_run()    the route's parse step (query and body into a typed
 *                    input, no store), then in one store transaction the
 *                    access check of the route's parent chain and the
 *                    handler, again while the store asks for a retry;
 *   reply.c          writes the answer or the error envelope.
 *
 * Handlers get the request read-only (`const struct request *`) and fill a
 * `struct reply`, returning an `enum result`; they never check access: the
 * route row declares it and the pipeline enforces it for every route.
 */
#ifndef CMSD_REQUEST_H
#define CMSD_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "reply.h"
#include "store.h"

struct route;

/* The ids of the path, by name: 0 where the path has none.  An id that
 * cannot name a row (0, beyond INT64_MAX) refuses the request in
 * request_admit() before any handler sees it. */
struct path_ids {
	int64_t cc;           /* {contactCenter} */
	int64_t process;      /* {process} */
	int64_t campaign;     /* {campaign} */
	int64_t lead;         /* {lead} */
	int64_t campaign_lead; /* {campaignLead}: the leadId of an attachment */
	const char *user;     /* {str}: a userId, borrowed from the path... */
	size_t user_len;      /* ...where it is this long (a segment) */
	const char *rest;     /* {rest}: the rest of the path */
};

/* What a route's parse step made of the query and the body. */
struct input {
	json_t *body;         /* the body as a JSON object, when parsed */
	struct page page;     /* limit and offset of a list */
	int64_t campaign;     /* ids named outside the path that the access */
	int64_t lead;         /* check verifies too (0: none) */
	int64_t id;           /* an id of the query the handler looks up itself */
	void *data;           /* the route's own typed input, or NULL ... */
	void (*free_data)(void *); /* ... freed with this */
};

/* How the glue reads a header (header true) or a query argument. */
typedef const char *(*lookup_fn)(void *ctx, bool header, const char *name);

struct request {
	const char *method;   /* borrowed from the glue */
	const char *path;     /* normalised: no trailing '/', printable UTF-8 */
	const char *id;       /* request id, hex */
	const char *addr;     /* the client's address, numeric */
	const char *body;     /* NUL-terminated */
	size_t body_len;
	lookup_fn lookup;
	void *lookup_ctx;

	/* filled by the pipeline */
	const struct route *route;
	struct path_ids ids;
	struct principal who;
	struct store *store;  /* this thread's connection (NULL on RF_NO_STORE routes) */
	struct input in;
	char bad_object[24];  /* a path id that cannot exist: its object... */
	char bad_id[32];      /* ...and its text */
	char user_seg[CMS_USERID_MAX + 1]; /* a {str} that is not last, alone */
	int64_t wait_until;   /* run again after a wait (reply.follow_until):
				 until when it waits; 0 the first time */
	struct store_look look; /* the one look at the store that the caches
				   answer against (done once taken), with
				   the lead's rows it read (freed by
				   request_release()) */
	unsigned statements_before; /* --faults: statements run at admission */
	/* request_hold(): the headers the group's thread reads, copied */
#define REQUEST_HELD 3
	char *held[REQUEST_HELD];
	lookup_fn conn_lookup;
	void *conn_ctx;
};

/* A handler: reads rq, fills rp, returns an enum result.  It runs inside the
 * request's transaction and may run again from the start (RES_RETRY), so it
 * keeps no state outside rp. */
typedef int (*handler_fn)(const struct request *rq, struct reply *rp);
/*
 * A handler whose one write is a mapping PUT, in two steps around it, so
 * that a group of them can be sent in one statement
 * (store_mapping_put_group()): stage does what comes before the write (any
 * statement it runs is in the group's transaction) and fills *m, or
 * refuses (rp says why); finish answers from src, what the store said of
 * the write (a store_rc), and frees what stage took; it is called after
 * every stage that returned RES_OK, whatever became of the group.  Both
 * return an enum result; the handler itself is stage, store_mapping_put(),
 * finish.  reads_after: whether finish reads the store (then the write is
 * sent before any later one of its group).
 */
struct group_steps {
	int (*stage)(const struct request *rq, struct reply *rp, struct mapping_put *m);
	int (*finish)(const struct request *rq, struct reply *rp, struct mapping_put *m, int src);
	bool (*reads_after)(const struct request *rq);
};

/* A parse step: validates the query and body into *in (no store), or fills
 * err and returns RES_FAIL. */
typedef int (*parse_fn)(const struct request *rq, struct input *in, struct error *err);

/* The pipeline's settings, once before serving: how a worker thread gets its
 * store connection (NULL when it cannot), and whether X-Cmsd-Fault headers
 * inject store failures (tests only). */
void request_setup(struct store *(*thread_store)(void), bool faults);

/* Everything decided from the request line and headers alone; sets rp->err
 * on refusal (the body is then never read).  One exception: a request of a
 * group (RF_GROUP, request_groups()) whose token the cache holds is admitted
 * on it unchecked, and a token revoked or a role lowered since is refused
 * by its group (request_in_group), after its body has arrived. */
void request_admit(struct request *rq, struct reply *rp);
/* request_admit() in two parts, so that the request's look may be taken
 * with others' between them (looker.h): the route, the store, what the
 * look aims at (false, with rp->err, on a refusal); then the rest. */
bool request_admit_route(struct request *rq, struct reply *rp);
void request_admit_rest(struct request *rq, struct reply *rp);
/* After request_admit_route(): true when rq->look should be handed to the
 * looker (the look of a request with a token, under load), to be
 * done before request_admit_rest(); false when the request takes its look
 * as before (it may have taken it here: an idle node's look, alone). */
bool request_share_look(struct request *rq);
/* The largest body to collect for rq once admitted: `authenticated` for a
 * verified caller, CMS_ANON_BODY_LIMIT for a request without one (a login,
 * any route open to all), so that an anonymous client can make cmsd hold
 * only a few KiB per connection. */
size_t request_body_limit(const struct request *rq, size_t authenticated);
/* The body has arrived: parse, access, handler, in one transaction. */
void request_run(struct request *rq, struct reply *rp);
/* Run a request that waited (a long-poll) again: its input and answer are
 * made anew, its principal stays as admitted. */
void request_rerun(struct request *rq, struct reply *rp);
/* For a request that another thread runs in a group (writer.c): the parse
 * step alone, false when rp holds its refusal; then, before it is handed
 * over, request_hold() copies the headers that thread reads
 * (Authorization, If-Match, X-Cmsd-Fault), so that it never reads the
 * connection. */
bool request_parse(struct request *rq, struct reply *rp);
void request_hold(struct request *rq);
/* Before a request held so runs whole on another thread: its store is that
 * thread's s (X-Cmsd-Fault armed on it afresh). */
void request_move(struct request *rq, struct store *s);
/* In the group's thread, inside its write transaction open on s whose look
 * is lk: the credentials again when the cache's were older than its epoch,
 * the access check and the handler; an enum result.  Before it,
 * request_group_arm() arms rq's statement fault on s (--faults) and returns
 * the commit's, which the group then fails with; after the commit,
 * request_group_done() counts rq's statements. */
int request_in_group(struct request *rq, struct reply *rp, struct store *s,
		     const struct store_look *lk);
int request_group_arm(struct request *rq, struct store *s);
/* The same for a group sent in one statement (store_puts_grouped(), the
 * route's struct group_steps): request_group_stage() in place of
 * request_in_group(), RES_OK when its write *m, in contact center *cc,
 * goes into the group's statement (*flush: send it with those before it
 * now, its answer reads what it wrote); after that statement (whatever
 * became of it), request_group_finish() answers from src, what the store
 * said of m.  Both on s, in the group's transaction, and return an enum
 * result. */
int request_group_stage(struct request *rq, struct reply *rp, struct store *s,
			const struct store_look *lk, struct mapping_put *m, int64_t *cc,
			bool *flush);
int request_group_finish(struct request *rq, struct reply *rp, struct store *s,
			 struct mapping_put *m, int src);
void request_group_done(struct request *rq, struct reply *rp, struct store *s);
/* Whether RF_GROUP routes go to a group writer: then their tokens are
 * checked at the group's look (request_in_group). */
void request_groups(bool on);
/* Whether rq must be a group of its own: with --faults, so that "KIND@N"
 * counts its statements from its group's start, unless it says
 * `X-Cmsd-Group: yes` (a test of a fault inside a group of several). */
bool request_fault_alone(const struct request *rq);
/* Free what the pipeline added to rq (its input). */
void request_release(struct request *rq);

/* ---- for parse steps and handlers ---- */

/* A request header's value, or NULL. */
const char *req_header(const struct request *rq, const char *name);
/* A query argument's value, or NULL. */
const char *req_query(const struct request *rq, const char *name);
/* An optional positive id from the query into *out (0 when absent); 400
 * on anything else. */
int req_query_id(const struct request *rq, const char *name, int64_t *out, struct error *err);
/* An optional integer query argument within [lo, hi] into *out (left
 * alone when absent); 400 on anything else. */
int req_query_int(const struct request *rq, const char *name, int64_t lo, int64_t hi,
		  int64_t *out, struct error *err);
/* A query flag: absent is false; "true" or "false", else 400. */
int req_query_bool(const struct request *rq, const char *name, bool *out, struct error *err);
/* limit and offset into in->page; 400 on bad values. */
int req_page(const struct request *rq, struct input *in, struct error *err);
/* The body as a JSON object into in->body (400 saying where it broke). */
int req_body(const struct request *rq, struct input *in, struct error *err);

#endif
