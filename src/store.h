/*
 * store.h - the one storage interface of cmsd.
 *
 * Handlers speak to storage only through these functions, in domain terms; no
 * SQL crosses this line.  A `struct store` is one connection, used by one
 * thread at a time (each worker thread holds its own, see store_thread()).
 *
 * Every function returns an enum store_rc: STORE_OK (0) on success, or the
 * reason it failed.  A failed call leaves the open transaction usable only for
 * store_rollback().  Strings in the structs below are copied into fixed
 * buffers, so results own nothing and need no freeing.
 *
 * Transactions: http/router code opens one per request with store_begin()
 * and ends it with store_commit() or store_rollback(); the functions below run
 * inside it and never commit on their own.
 */
#ifndef CMSD_STORE_H
#define CMSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cms_limits.h"

#define CMS_HASH_MAX 128   /* crypto_pwhash_STRBYTES */
#define CMS_TOKEN_HASH 32  /* BLAKE2b-256 of a token */

enum store_rc {
	STORE_OK = 0,
	STORE_NOT_FOUND,   /* the object (or its parent chain) does not exist */
	STORE_EXISTS,      /* a unique name or id is already taken */
	STORE_IN_USE,      /* refused: something still hangs below the object */
	STORE_RETRY,       /* serialization failure: rerun the whole transaction */
	STORE_UNAVAILABLE, /* the database cannot be reached */
	STORE_ERROR        /* anything else (logged by the store) */
};

struct store;

struct page {
	int64_t limit;  /* 1..1000 */
	int64_t offset; /* >= 0 */
};

struct cc {
	int64_t id;
	char name[CMS_NAME_MAX + 1];
};

struct user {
	int64_t pk;    /* internal row id, never shown */
	int64_t cc_id; /* 0 for the system administrator */
	char user_id[CMS_USERID_MAX + 1];
	char name[CMS_NAME_MAX + 1];
	char role[CMS_ROLE_MAX + 1];  /* Administrator|Supervisor|Agent|System */
	char pw_hash[CMS_HASH_MAX + 1]; /* "" when the user has no password */
};

struct process {
	int64_t id;
	int64_t cc_id;
	char name[CMS_NAME_MAX + 1];
};

/* A lead list or a campaign: both hang below a process. */
struct proc_child {
	int64_t id;
	int64_t process_id;
	char name[CMS_NAME_MAX + 1];
};

struct campaign_user {
	int64_t id; /* campaignUserId */
	int64_t campaign_id;
	char user_id[CMS_USERID_MAX + 1];
};

struct campaign_lead {
	int64_t id; /* campaignLeadId */
	int64_t campaign_id;
	int64_t lead_id;
	int64_t priority;
	bool enabled;
};

/* One campaign user as seen from one campaign lead. */
struct mapping_user {
	int64_t campaign_user_id;
	const char *user_id; /* borrowed for the duration of the callback */
	bool mapped;
};

/* The caller's view of a token (joined with its user). */
struct token_info {
	int64_t user_pk;
	int64_t context_cc; /* 0 for a System token */
	int64_t expires_at; /* unix seconds */
	int64_t epoch;      /* the store's epoch as this was read (store_look) */
	char user_id[CMS_USERID_MAX + 1];
	char role[CMS_ROLE_MAX + 1];
};

/*
 * Ids along a configuration path, 0 where the path has none.  store_path_check
 * verifies that each given id exists and chains to the one before it.
 */
struct store_path {
	int64_t cc;
	int64_t process;
	int64_t campaign; /* below process */
	int64_t lead;     /* below process */
};

/* Called once per row of a list; `row` is the type the list documents, borrowed
 * for the call.  Return 0 to go on, non-zero to stop (the list then fails with
 * STORE_ERROR). */
typedef int (*store_row_fn)(void *ctx, const void *row);

/*
 * The caches' one look at the store (docs/decisions.md, "Answers from memory"): in one statement,
 * the change feed's head, the epoch (which moves with every change a cache
 * may hold except a lead's mapping: tokens, users and roles, campaign users,
 * what hangs below a process) and, when campaign and lead are set, that
 * lead's version (its last history entry).  Each only ever grows.
 *
 * On a backend that reads them in the look (ST_LOOK_LEAD: PostgreSQL, where
 * a round trip is dear), a look aimed at a lead also reads, in the same
 * snapshot, what the lead's
 * mapping is made of (its campaign lead, the campaign's users, which are
 * mapped), unless the lead's stamps are the `held` ones: what the caller
 * already holds of it.  When the caller believes what it holds is current
 * (`plain`), the look is the plain one, which costs the server less, and
 * only if the stamps moved after all an aimed one follows: two round
 * trips, and the rows, stamps and head all the second look's.  Those rows are read before the caller is known, in
 * no contact center's scope: use them only for a campaign that the
 * pipeline checked to be the caller's.
 */
struct store_look_read;

struct store_look {
	int64_t campaign, lead; /* in: the lead whose version is wanted, or 0 */
	bool done;              /* out: the rest is set */
	int failed;             /* out: a look taken that failed: its store_rc,
				   which store_look() answers again without a
				   statement (no second wait on a store that is
				   down) */
	int64_t head, epoch, version;
	bool held;                        /* in: the caller holds the lead's... */
	int64_t held_epoch, held_version; /* ...mapping at these stamps */
	bool plain;                       /* in: and believes them current */
	struct store_look_read *read;     /* out: the lead's rows, or NULL when
					     not read; store_look_release() */
};

/* ---- lifecycle ---- */

/* Open a connection to `url` ("sqlite:PATH").  On failure writes a reason to
 * err (never secrets) and returns non-zero. */
int store_open(const char *url, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);
/* Create or migrate the schema; safe to call on every start.  A store whose
 * schema is newer than this cmsd knows is refused (logged, STORE_ERROR) and
 * left as it was. */
int store_migrate(struct store *s);

/* What store_backup() copied. */
struct store_backup_info {
	int64_t pages;          /* database pages */
	int64_t bytes;          /* size of the copy */
	int64_t schema_version; /* the copy's schema version */
};

/* Copy the live store `url` to the new file `to` (cmsd backup): one
 * consistent snapshot, taken while cmsd may be writing to it, checked with
 * PRAGMA integrity_check, and put in place only when whole.  An existing
 * `to` is refused (STORE_EXISTS) unless `force`.  Only SQLite stores; for
 * others returns STORE_ERROR and says what to use instead in err.  On
 * failure writes the reason to err (never secrets) and leaves no file. */
int store_backup(const char *url, const char *to, bool force, struct store_backup_info *info,
		 char *err, size_t errlen);
int store_ping(struct store *s);
/* A write transaction takes the write lock, so that concurrent writers
 * queue instead of failing half-way.  The BEGIN is sent with the first
 * statement that follows: a transaction that runs none costs nothing. */
int store_begin(struct store *s, bool write);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* Whether a statement of the open transaction failed (an injected fault
 * included): on PostgreSQL it is then good only for store_rollback(). */
bool store_failed(const struct store *s);
/* Whether the last statement was a transaction of its own (a group's
 * writes sent first in it, store_mapping_put_group()). */
bool store_ran_alone(const struct store *s);

/* A count that moves whenever a statement of s may have written a row
 * (on SQLite the rows its statements inserted, updated or deleted; where
 * the backend cannot tell, every statement): a request of a group that
 * failed without moving it left nothing to undo (writer.c). */
int64_t store_written(const struct store *s);

/* Fills lk (unless lk->done), outside any transaction or inside one;
 * frees rows a former look left in it.  Aimed at a lead, lk->read is then
 * set exactly when (epoch, version) are not the held ones. */
int store_look(struct store *s, struct store_look *lk);
/* Whether a look aimed at a lead reads its rows on this store (else the
 * held stamps are not asked for). */
bool store_look_reads_rows(const struct store *s);
/* Whether store_look() would take the plain look for lk (head, epoch, the
 * lead's version; no rows): not aimed at a lead whose rows the store reads
 * in the look, or aimed at one held and believed current (lk->plain). */
bool store_look_plain(const struct store *s, const struct store_look *lk);
/* This connection's statements planned once, not for each run's values
 * (PostgreSQL: plan_cache_mode = force_generic_plan, kept across
 * reconnects), for a connection whose statements' best plans do not depend
 * on the values (the looker's, whose list is an array).  A store_rc. */
int store_plans_once(struct store *s);
/* Whether the store of --db `url` takes many looks in one statement
 * (store_look_many; PostgreSQL, where each statement is a round trip). */
bool store_url_looks_many(const char *url);
/* The looks lks[0..n), each in a snapshot taken after the call began, in
 * two statements at most: the plain ones, then those that read a lead's
 * rows (not held, not believed current, or found stale by the first), each
 * taken whole in the second.  Each is done as store_look() would do it,
 * rows and all.  On failure every one is left not done, failed with the
 * store's error (which store_look then answers), and the error returned. */
int store_look_many(struct store *s, struct store_look *const *lks, size_t n);
/* From the rows the look read (lk->read): the campaign lead of
 * (lk->campaign, lk->lead), or NOT_FOUND when it is not attached. */
int store_look_lead(const struct store_look *lk, struct campaign_lead *out);
/* From the same rows: what store_mapping_get() answers for that campaign
 * lead, in its order.  Rows: struct mapping_user. */
int store_look_mapping(const struct store_look *lk, store_row_fn fn, void *ctx);
/* Frees the rows lk read, if any. */
void store_look_release(struct store_look *lk);

/* ---- paths and scopes ---- */

/* NOT_FOUND names the first missing object in *object ("contactCenter",
 * "process", "campaign", "lead") and its id in *id. */
int store_path_check(struct store *s, const struct store_path *p,
		     const char **object, int64_t *id);
/* OK when the campaign exists and, unless scope is 0, belongs to contact
 * center `scope`. */
int store_campaign_in_scope(struct store *s, int64_t scope, int64_t campaign);

/* ---- contact centers ---- */
int store_cc_create(struct store *s, const char *name, struct cc *out);
int store_cc_get(struct store *s, int64_t id, struct cc *out);
/* scope 0: every contact center; else only that one.  Rows: struct cc. */
int store_cc_list(struct store *s, int64_t scope, const struct page *pg,
		  store_row_fn fn, void *ctx, int64_t *total);
/* IN_USE while it has users or processes. */
int store_cc_delete(struct store *s, int64_t id);

/* ---- users ---- */
/* Inserts u (pk ignored, cc_id 0 for the system administrator) and sets u->pk.
 * EXISTS when the userId is taken anywhere. */
int store_user_create(struct store *s, struct user *u);
/* cc 0 finds the login anywhere (system administrator included). */
int store_user_get(struct store *s, int64_t cc, const char *user_id,
		   struct user *out);
/* Rows: struct user (pw_hash empty). */
int store_user_list(struct store *s, int64_t cc, const struct page *pg,
		    store_row_fn fn, void *ctx, int64_t *total);
/* Each of name, role, pw_hash is changed only when non-NULL.  A new pw_hash
 * also revokes every token of the user. */
int store_user_update(struct store *s, int64_t cc, const char *user_id,
		      const char *name, const char *role, const char *pw_hash);
/* Also removes its campaign memberships, mappings and tokens. */
int store_user_delete(struct store *s, int64_t cc, const char *user_id);
/* Deletes every system administrator (role System) but `keep`, with their
 * tokens; *n is how many went. */
int store_user_delete_system(struct store *s, const char *keep, int64_t *n);
/* For each of ids[0..n) of contact center cc, pks[i] = its row id, or 0. */
int store_users_resolve(struct store *s, int64_t cc, const char *const *ids,
			size_t n, int64_t *pks);

/* ---- processes ---- */
int store_process_create(struct store *s, int64_t cc, const char *name,
			 struct process *out);
int store_process_get(struct store *s, int64_t cc, int64_t id,
		      struct process *out);
int store_process_list(struct store *s, int64_t cc, const struct page *pg,
		       store_row_fn fn, void *ctx, int64_t *total);
/* IN_USE while it has leads or campaigns. */
int store_process_delete(struct store *s, int64_t cc, int64_t id);

/*
 * From here on every function that reads or writes rows below a process
 * takes the caller's contact center `cc` (0: the system administrator, any)
 * and checks in its own statements that those rows chain up to it (lead or
 * campaign -> process -> contact center, campaign user or campaign lead ->
 * campaign -> ...), whatever the caller checked before.  Another tenant's
 * row is a missing row: NOT_FOUND (or no rows), nothing changed.
 */

/* ---- leads (lead lists) ---- */
int store_lead_create(struct store *s, int64_t cc, int64_t process,
		      const char *name, struct proc_child *out);
int store_lead_get(struct store *s, int64_t cc, int64_t process, int64_t id,
		   struct proc_child *out);
int store_lead_list(struct store *s, int64_t cc, int64_t process,
		    const struct page *pg, store_row_fn fn, void *ctx,
		    int64_t *total);
/* IN_USE while attached to a campaign. */
int store_lead_delete(struct store *s, int64_t cc, int64_t process, int64_t id);

/* ---- campaigns ---- */
int store_campaign_create(struct store *s, int64_t cc, int64_t process,
			  const char *name, struct proc_child *out);
int store_campaign_get(struct store *s, int64_t cc, int64_t process, int64_t id,
		       struct proc_child *out);
int store_campaign_list(struct store *s, int64_t cc, int64_t process,
			const struct page *pg, store_row_fn fn, void *ctx,
			int64_t *total);
/* Deletes its campaign users, campaign leads and mappings too. */
int store_campaign_delete(struct store *s, int64_t cc, int64_t process,
			  int64_t id);

/* ---- campaign users ---- */
/* Enrols user row `user_pk`; idempotent: an existing enrolment is returned.
 * NOT_FOUND (the campaign or the user missing) leaves the transaction
 * usable, so that the caller can tell which one it was. */
int store_campaign_user_add(struct store *s, int64_t cc, int64_t campaign,
			    int64_t user_pk, struct campaign_user *out);
/* Rows: struct campaign_user, ordered by campaignUserId. */
int store_campaign_user_list(struct store *s, int64_t cc, int64_t campaign,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total);
/* NOT_FOUND when the user is not enrolled.  Removes its mappings too. */
int store_campaign_user_delete(struct store *s, int64_t cc, int64_t campaign,
			       const char *user_id);
/* For each ids[i], cu_ids[i] = its campaignUserId in the campaign, or 0. */
int store_campaign_users_resolve(struct store *s, int64_t cc, int64_t campaign,
				 const char *const *ids, size_t n,
				 int64_t *cu_ids);

/* ---- campaign leads ---- */
/* EXISTS when the lead is already attached to the campaign. */
int store_campaign_lead_add(struct store *s, int64_t cc, int64_t campaign,
			    int64_t lead, int64_t priority, bool enabled,
			    struct campaign_lead *out);
/* Rows: struct campaign_lead, ordered by campaignLeadId. */
int store_campaign_lead_list(struct store *s, int64_t cc, int64_t campaign,
			     const struct page *pg, store_row_fn fn, void *ctx,
			     int64_t *total);
/* NOT_FOUND when not attached.  Removes the lead's mappings there too. */
int store_campaign_lead_delete(struct store *s, int64_t cc, int64_t campaign,
			       int64_t lead);
/* The campaign lead of (campaign, lead), or NOT_FOUND. */
int store_campaign_lead_find(struct store *s, int64_t cc, int64_t campaign,
			     int64_t lead, struct campaign_lead *out);

/* Find the campaign lead of (campaign, lead) in *cl and hold it until the
 * transaction ends, so that writers of one lead's mapping queue (on
 * PostgreSQL; SQLite's write lock holds it all); NOT_FOUND when not
 * attached.  One statement. */
int store_campaign_lead_hold(struct store *s, int64_t cc, int64_t campaign, int64_t lead,
			     int64_t *cl);

/* ---- the lead-user mapping ---- */
/* Map (mapped=true) or unmap each of cu_ids[0..n) on campaign lead cl;
 * idempotent.  changed (room for n, may be NULL) gets the campaign user ids
 * whose state this changed, *nchanged their count. */
int store_mapping_set(struct store *s, int64_t cc, int64_t cl,
		      const int64_t *cu_ids, size_t n, bool mapped,
		      int64_t *changed, size_t *nchanged);
/*
 * One PUT of a lead's mapping (API.md §3), the way the store does it in
 * the fewest round trips: the campaign lead of (campaign, lead) in contact
 * center cc, held until the commit; each userId resolved to its campaign
 * user; then, unless one is missing, the mappings set and the history entry
 * (the userIds that changed, in request order) appended to the change feed.
 * With `dry` nothing is written: achanged/uchanged say what the writes
 * would change, read from the mapping as it stands.
 *
 * NOT_FOUND: no such campaign lead (nothing else is set).  Else cl is set,
 * acu/ucu (room for nas/nun) hold each userId's campaign user (0: not one,
 * and then nothing was written) and achanged/uchanged whether it changed.
 *
 * On PostgreSQL this is one statement.  When it is the first of its
 * transaction (and no test fault is asked for), it runs as a transaction of its
 * own, committed as it returns: the caller's commit is then empty, and any
 * statement after it in that transaction fails (STORE_ERROR).
 */
struct mapping_put {
	int64_t campaign, lead;
	const char *const *as, *const *un; /* userIds, no repeats in a list */
	size_t nas, nun;
	bool dry;
	int64_t changed_at; /* the history entry's, unix milliseconds */
	const char *changed_by, *request_id;
	/* out */
	int64_t cl;
	int64_t *acu, *ucu;
	bool *achanged, *uchanged;
};
int store_mapping_put(struct store *s, int64_t cc, struct mapping_put *m);
/*
 * Whether the store sends a group of PUTs in one statement
 * (store_mapping_put_group(): PostgreSQL, migration 8).
 */
bool store_puts_grouped(const struct store *s);
/*
 * The PUTs ms[0..n), each in its caller's contact center cc[i], as
 * store_mapping_put() would run them one after another in the open
 * transaction, in one statement (a transaction of its own when it is the
 * first, as store_mapping_put()).  rcs[i] is PUT i's: STORE_OK, or
 * NOT_FOUND for no such campaign lead (nothing of it written); a userId
 * that is not a campaign user writes nothing of its PUT either, as
 * store_mapping_put() says.  Returns the group's: anything but STORE_OK
 * (then in every rcs[i] too) and nothing of the group stands, except
 * STORE_UNAVAILABLE when it was a transaction of its own
 * (store_ran_alone()): the connection was lost and it may have committed.
 */
int store_mapping_put_group(struct store *s, const int64_t *cc, struct mapping_put *const *ms,
			    int *rcs, size_t n);
/* Every campaign user of the campaign with whether it is mapped to campaign
 * lead cl, ordered by userId.  Rows: struct mapping_user. */
int store_mapping_get(struct store *s, int64_t cc, int64_t campaign, int64_t cl,
		      store_row_fn fn, void *ctx);
/* Campaign leads visible in scope (0: all), of one campaign (0: any),
 * ordered by campaignLeadId.  Rows: struct campaign_lead. */
int store_mapping_list(struct store *s, int64_t scope, int64_t campaign,
		       const struct page *pg, store_row_fn fn, void *ctx,
		       int64_t *total);

/* ---- the mapping's history ---- */

/* One change of one lead's mapping. */
struct history_entry {
	int64_t id; /* historyId: read back only (the store picks it) */
	int64_t campaign_id, lead_id, campaign_lead_id;
	int64_t changed_at; /* unix milliseconds */
	char changed_by[CMS_USERID_MAX + 1];
	char request_id[17];
	const char *assigned;   /* JSON arrays of userIds; borrowed */
	const char *unassigned;
	int64_t cc;             /* the contact center of the users it names */
	/* read back only: */
	char cause[24];         /* "mapping", "userDeleted", ... (API.md §8) */
};

/* Appends h (cause "mapping"), an entry of contact center h->cc, which the
 * caller has read from the campaign in this transaction (a PUT's steps hold
 * the campaign lead first, scope checked there). */
int store_history_add(struct store *s, const struct history_entry *h);
/* Who runs the transactions that follow, and for which request: deletes
 * that take mappings away with them (a campaign user, a campaign lead, a user,
 * a campaign) record those removals in the history under this name. */
void store_set_actor(struct store *s, const char *user_id,
		     const char *request_id);
/* Newest first.  Rows: struct history_entry, its strings borrowed for the
 * call. */
int store_history_list(struct store *s, int64_t cc, int64_t campaign,
		       int64_t lead, const struct page *pg, store_row_fn fn,
		       void *ctx, int64_t *total);

/* The next `limit` entries of the same list older than entry `before`,
 * newest first: a page read on from where it stopped (entries never
 * change, and ids only grow). */
int store_history_before(struct store *s, int64_t cc, int64_t campaign, int64_t lead,
			 int64_t before, int64_t limit, store_row_fn fn, void *ctx);

/* ---- the change feed (API.md §8): the same entries, in cursor order ---- */

/* The last cursor appended and the last purged by the retention window. */
int store_feed_head(struct store *s, int64_t *last, int64_t *purged);
/* At most `limit` events after cursor `after`, oldest first, of every
 * contact center.  Rows: struct history_entry, borrowed for the call. */
int store_feed_read(struct store *s, int64_t after, int64_t limit, store_row_fn fn, void *ctx);
/* Deletes events older than `before` (unix milliseconds), a thousand per
 * transaction of its own; *purged is then the last cursor purged. */
int store_feed_purge(struct store *s, int64_t before, int64_t *purged);
/* The events the transaction appended, as store_history_add() wrote them
 * (ids and all, cause "mapping"), when they are all it appended; else NULL
 * and *n = 0.  Ids are in commit order on both backends (SQLite's one
 * writer; PostgreSQL's change_head row, locked until the commit by each
 * transaction that takes ids), so these follow every event committed
 * before them.  (PostgreSQL's PUTs write their entries in the group
 * function, which does not say their ids: none there.)  Read it after the
 * commit, before the next transaction begins (feed_commit_done). */
const struct history_entry *store_own_events(const struct store *s, size_t *n);
/* Events the transaction just committed appended (then forgets them). */
int64_t store_take_appended(struct store *s);
/* For the feed's own connection: the descriptor that becomes readable when
 * another node commits events (PostgreSQL's LISTEN), or -1 when the
 * backend has none; and whether such a commit was announced since. */
int store_listen(struct store *s);
bool store_notified(struct store *s);

/* ---- the agent's view ---- */

/* One campaign lead a user is mapped to. */
struct assignment {
	int64_t campaign_id, process_id, lead_id, campaign_lead_id;
	int64_t campaign_user_id, priority;
	bool enabled;
	char campaign_name[CMS_NAME_MAX + 1];
	char lead_name[CMS_NAME_MAX + 1];
};

/* The campaign leads user_id (of contact center uc, within the caller's cc)
 * is mapped to, by campaign then lead.  Rows: struct assignment. */
int store_assignments(struct store *s, int64_t cc, int64_t uc, const char *user_id,
		      const struct page *pg, store_row_fn fn, void *ctx, int64_t *total);

/* ---- tokens ---- */
int store_token_add(struct store *s, const uint8_t hash[CMS_TOKEN_HASH],
		    int64_t user_pk, int64_t context_cc, int64_t expires_at);
/* NOT_FOUND when unknown or expired at `now` (unix seconds). */
int store_token_get(struct store *s, const uint8_t hash[CMS_TOKEN_HASH],
		    int64_t now, struct token_info *out);
int store_token_delete(struct store *s, const uint8_t hash[CMS_TOKEN_HASH]);
/* Deletes tokens that expired before `now`. */
int store_token_purge(struct store *s, int64_t now);

/* ---- tests only: fault injection ---- */

/* From the next statement on, the nth statement that s runs (counting 1,
 * 2, ...; BEGIN and COMMIT included, ROLLBACK never) fails with rc
 * (STORE_ERROR, STORE_UNAVAILABLE or STORE_RETRY) without being run, and
 * the fault disarms.  nth 0 disarms.  The transaction stays open for
 * store_rollback().  rc other than STORE_OK (with nth 0: a fault at the
 * commit, which the caller injects) also keeps every statement inside
 * BEGIN and COMMIT (store_mapping_put()), so that each can fail. */
void store_fault_arm(struct store *s, unsigned nth, int rc);
/* Statements run since the last store_fault_arm() (ROLLBACK not counted),
 * so that a test can learn how many statements a request runs. */
unsigned store_statement_count(const struct store *s);
/* Statements s ran since it was opened, ROLLBACK included (a metric). */
uint64_t store_statements_ever(const struct store *s);

#endif
