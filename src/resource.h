/*
 * resource.h - what the set-up resources' endpoints share: parse steps for
 * a list's page and a named object's body, paged lists, and the two kinds
 * that hang below a process (lead lists and campaigns), which differ only in
 * names.
 */
#ifndef CMSD_RESOURCE_H
#define CMSD_RESOURCE_H

#include "request.h"

/* Turns one store row into its JSON object (caller owns it); `arg` is what
 * the list was given. */
typedef json_t *(*row_json_fn)(const void *row, const void *arg);
/* A store list below one parent id (a contact center: its own scope). */
typedef int (*store_list_fn)(struct store *s, int64_t parent,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total);
/* The same below a process or a campaign, scoped by the store itself to the
 * caller's contact center cc (0: the system administrator's "any"). */
typedef int (*store_cc_list_fn)(struct store *s, int64_t cc, int64_t parent,
				const struct page *pg, store_row_fn fn, void *ctx,
				int64_t *total);

/* Parse step of every list: limit and offset (400 on bad values). */
int res_parse_page(const struct request *rq, struct input *in, struct error *err);

/* Parse step of a body with one display name under `key`. */
int res_parse_named(const struct request *rq, struct input *in, struct error *err,
		    const char *key);
/* That name, once parsed. */
const char *res_name(const struct request *rq, const char *key);

/* Answer 200 with the page of `list` below `parent` that the parse step
 * read, with X-Total-Count. */
int res_list(const struct request *rq, struct reply *rp, store_list_fn list, int64_t parent,
	     row_json_fn to_json, const void *arg);
/* res_list() of a list scoped to the caller's contact center. */
int res_list_cc(const struct request *rq, struct reply *rp, store_cc_list_fn list,
		int64_t parent, row_json_fn to_json, const void *arg);
/* Answer 204 when del (a store result) is STORE_OK, else its error about
 * object `id`. */
int res_deleted(struct reply *rp, int del, const char *object, int64_t id);

/* A lead list or a campaign: the same life, different names. */
struct child_kind {
	const char *object;   /* "lead" */
	const char *id_key;   /* "leadId" */
	const char *name_key; /* "leadName" */
	bool voice;           /* add "campaignType":"voice" */
	/* each takes the caller's contact center, then the process */
	int (*create)(struct store *, int64_t, int64_t, const char *, struct proc_child *);
	int (*get)(struct store *, int64_t, int64_t, int64_t, struct proc_child *);
	store_cc_list_fn list;
	int (*del)(struct store *, int64_t, int64_t, int64_t);
};

/* The endpoints of a child kind; `id` is the path id of the object. */
int child_parse(const struct request *rq, struct input *in, struct error *err,
		const struct child_kind *k);
int child_create(const struct request *rq, struct reply *rp, const struct child_kind *k);
int child_list(const struct request *rq, struct reply *rp, const struct child_kind *k);
int child_get(const struct request *rq, struct reply *rp, const struct child_kind *k,
	      int64_t id);
int child_delete(const struct request *rq, struct reply *rp, const struct child_kind *k,
		 int64_t id);

/* The four endpoints <prefix>_create, _list, _get and _delete of child kind
 * `kind`, whose own id is the path id `field` (struct path_ids). */
#define CHILD_ENDPOINTS(prefix, kind, field)                                      \
	static int prefix##_parse(const struct request *rq, struct input *in,     \
				  struct error *err)                              \
	{                                                                         \
		return child_parse(rq, in, err, &kind);                           \
	}                                                                         \
	static int prefix##_new(const struct request *rq, struct reply *rp)       \
	{                                                                         \
		return child_create(rq, rp, &kind);                               \
	}                                                                         \
	static int prefix##_all(const struct request *rq, struct reply *rp)       \
	{                                                                         \
		return child_list(rq, rp, &kind);                                 \
	}                                                                         \
	static int prefix##_one(const struct request *rq, struct reply *rp)       \
	{                                                                         \
		return child_get(rq, rp, &kind, rq->ids.field);                   \
	}                                                                         \
	static int prefix##_gone(const struct request *rq, struct reply *rp)      \
	{                                                                         \
		return child_delete(rq, rp, &kind, rq->ids.field);                \
	}                                                                         \
	const struct endpoint prefix##_create[1] = { { prefix##_parse, prefix##_new, NULL } }; \
	const struct endpoint prefix##_list[1] = { { res_parse_page, prefix##_all, NULL } };   \
	const struct endpoint prefix##_get[1] = { { NULL, prefix##_one, NULL } };              \
	const struct endpoint prefix##_delete[1] = { { NULL, prefix##_gone, NULL } }

#endif
