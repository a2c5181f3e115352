/*
 * resource.h - what the set-up resources' handlers share: the parent-chain
 * check, paged lists, and the two kinds that hang below a process (lead lists
 * and campaigns), which differ only in names.
 */
#ifndef CMSD_RESOURCE_H
#define CMSD_RESOURCE_H

#include "http.h"

/* Turns one store row into its JSON object (caller owns it); `arg` is what
 * the list was given. */
typedef json_t *(*row_json_fn)(const void *row, const void *arg);
/* A store list below one parent id. */
typedef int (*store_list_fn)(struct store *s, int64_t parent,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total);
/* The same, in the caller's contact center cc. */
typedef int (*store_cc_list_fn)(struct store *s, int64_t cc, int64_t parent,
				const struct page *pg, store_row_fn fn,
				void *ctx, int64_t *total);

/* 404 naming the first missing object unless every given id (0: none)
 * exists and chains to its parent. */
int res_check_path(struct request *r, int64_t cc, int64_t process,
		   int64_t campaign, int64_t lead);
/* A store failure about the object named by a string id (a userId). */
int res_store_error(struct request *r, int rc, const char *object,
		    const char *id);
/* Answer 200 with one page of `list` below `parent`, with X-Total-Count:
 * paging parameters are checked first (400), then the parent chain (404;
 * NULL: none). */
int res_list(struct request *r, const struct store_path *chain,
	     store_list_fn list, int64_t parent, row_json_fn to_json,
	     const void *arg);
/* res_list() of a list in the caller's contact center (r->who.cc). */
int res_list_cc(struct request *r, const struct store_path *chain,
		store_cc_list_fn list, int64_t parent, row_json_fn to_json,
		const void *arg);

/* A lead list or a campaign: the same life, different names. */
struct child_kind {
	const char *object;   /* "lead" */
	const char *id_key;   /* "leadId" */
	const char *name_key; /* "leadName" */
	bool voice;           /* add "campaignType":"voice" */
	int (*create)(struct store *, int64_t, int64_t, const char *, struct proc_child *);
	int (*get)(struct store *, int64_t, int64_t, int64_t, struct proc_child *);
	store_cc_list_fn list;
	int (*del)(struct store *, int64_t, int64_t, int64_t);
};

int child_create(struct request *r, const struct child_kind *k);
int child_list(struct request *r, const struct child_kind *k);
int child_get(struct request *r, const struct child_kind *k);
int child_delete(struct request *r, const struct child_kind *k);

#endif
