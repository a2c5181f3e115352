/*
 * sql.h - what the store needs from a SQL backend, and nothing more.
 *
 * The store is in three parts: store.c holds the domain functions of
 * store.h, store_exec.c the executor that runs statements and reads their
 * rows (store_exec.h), and store_stmt.c one table of SQL statements written in
 * the subset that SQLite and PostgreSQL (and the PostgreSQL-compatible
 * distributed engines) share: numbered parameters `?N`, INSERT ... ON
 * CONFLICT DO NOTHING, RETURNING, EXISTS, LIMIT/OFFSET.  A backend
 * (store_sqlite.c, store_pg.c) supplies a connection, its schema migrations,
 * the few statements whose text must differ, and a way to run a statement
 * and walk its rows.  Handlers never see this file: they see store.h.
 */
#ifndef CMSD_SQL_H
#define CMSD_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum stmt {
	ST_NONE = 0, /* "no statement" in the tables of the store */
	ST_BEGIN,
	ST_BEGIN_WRITE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PING,
	ST_SCHEMA_VERSION,
	ST_SCHEMA_SET,

	ST_CC_EXISTS,
	ST_PROCESS_EXISTS,
	ST_CAMPAIGN_EXISTS,
	ST_LEAD_EXISTS,
	ST_CAMPAIGN_IN_SCOPE,

	ST_CC_CREATE,
	ST_CC_GET,
	ST_CC_COUNT,
	ST_CC_PAGE,
	ST_CC_IN_USE,
	ST_CC_DELETE,

	ST_USER_CREATE,
	ST_USER_GET,
	ST_USER_COUNT_CC,
	ST_USER_PAGE_CC,
	ST_USER_COUNT_ALL,
	ST_USER_PAGE_ALL,
	ST_USER_UPDATE,
	ST_USER_DELETE,
	ST_USER_DELETE_SYSTEM,
	ST_USER_PK_MANY,

	ST_PROCESS_CREATE,
	ST_PROCESS_GET,
	ST_PROCESS_COUNT,
	ST_PROCESS_PAGE,
	ST_PROCESS_IN_USE,
	ST_PROCESS_DELETE,

	ST_LEAD_CREATE,
	ST_LEAD_GET,
	ST_LEAD_COUNT,
	ST_LEAD_PAGE,
	ST_LEAD_IN_USE,
	ST_LEAD_DELETE,

	ST_CAMPAIGN_CREATE,
	ST_CAMPAIGN_GET,
	ST_CAMPAIGN_COUNT,
	ST_CAMPAIGN_PAGE,
	ST_CAMPAIGN_DELETE,

	ST_CU_ADD,
	ST_CU_GET,
	ST_CU_COUNT,
	ST_CU_PAGE,
	ST_CU_DELETE,
	ST_CU_RESOLVE_MANY,

	ST_CL_ADD,
	ST_CL_FIND,
	ST_CL_HOLD,
	ST_CL_COUNT,
	ST_CL_PAGE,
	ST_CL_DELETE,

	ST_MAPPING_PUT_GROUP,
	ST_MAP_ADD_MANY,
	ST_MAP_REMOVE_MANY,
	ST_MAP_USERS,
	ST_MAP_MAPPED,
	ST_ML_COUNT_CAMPAIGN,
	ST_ML_PAGE_CAMPAIGN,
	ST_ML_COUNT_SCOPE,
	ST_ML_PAGE_SCOPE,
	ST_ML_COUNT_ALL,
	ST_ML_PAGE_ALL,

	ST_HISTORY_ADD,
	ST_HISTORY_CU_GONE,
	ST_HISTORY_CL_GONE,
	ST_HISTORY_USER_GONE,
	ST_HISTORY_CAMPAIGN_GONE,
	ST_LOCK_CU_GONE,
	ST_LOCK_CL_GONE,
	ST_LOCK_USER,
	ST_LOCK_USER_GONE,
	ST_LOCK_CAMPAIGN,
	ST_LOCK_CAMPAIGN_GONE,
	ST_HISTORY_COUNT,
	ST_HISTORY_PAGE,
	ST_HISTORY_BEFORE,

	ST_FEED_HEAD,
	ST_LOOK,
	ST_LOOK_LEAD,
	ST_LOOK_MANY,
	ST_LOOK_MANY_ROWS,
	ST_EPOCH_BUMP,
	ST_FEED_READ,
	ST_FEED_PURGE_FIND,
	ST_FEED_PURGE,
	ST_FEED_PURGED,

	ST_ASSIGN_COUNT,
	ST_ASSIGN_PAGE,

	ST_TOKEN_ADD,
	ST_TOKEN_GET,
	ST_TOKEN_DELETE,
	ST_TOKEN_DELETE_USER,
	ST_TOKEN_PURGE,

	ST__COUNT
};

/* What the statement table declares of a statement besides its text. */
enum stmt_flag {
	/* may be sent again on a new connection after the old one broke
	 * before the answer: it writes nothing */
	SF_RERUN = 1,
};

/*
 * Tenant scope (defence in depth): a statement that reads or writes rows of
 * a contact center takes the caller's contact center as parameter ?N (0:
 * the system administrator, any) and checks that its rows chain up to it,
 * whatever the handler checked before.  A row of another tenant is then a
 * missing row.  Each check is an EXISTS over primary keys whose id is a
 * parameter (`id`, "?1"), never a column: it is uncorrelated, so it runs
 * once per statement (PostgreSQL: an InitPlan, skipped when `?N = 0`), never
 * once per row nor as a hash of a whole table.  One exception: a PUT's
 * history entry (ST_HISTORY_ADD) is written with the contact center that
 * ST_CL_HOLD read, scope checked, in the same transaction, so it repeats no
 * check (store.h, store_history_add()).
 */
#define PROCESS_IN_CC(id, n)                                                   \
	"(?" n " = 0 OR EXISTS (SELECT 1 FROM process sp"                      \
	" WHERE sp.id = " id " AND sp.cc_id = ?" n "))"
#define LEAD_IN_CC(id, n)                                                      \
	"(?" n " = 0 OR EXISTS (SELECT 1 FROM lead sl"                         \
	" JOIN process sp ON sp.id = sl.process_id"                            \
	" WHERE sl.id = " id " AND sp.cc_id = ?" n "))"
#define CAMPAIGN_IN_CC(id, n)                                                  \
	"(?" n " = 0 OR EXISTS (SELECT 1 FROM campaign sc"                     \
	" JOIN process sp ON sp.id = sc.process_id"                            \
	" WHERE sc.id = " id " AND sp.cc_id = ?" n "))"
#define CAMPAIGN_LEAD_IN_CC(id, n)                                             \
	"(?" n " = 0 OR EXISTS (SELECT 1 FROM campaign_lead scl"               \
	" JOIN campaign sc ON sc.id = scl.campaign_id"                         \
	" JOIN process sp ON sp.id = sc.process_id"                            \
	" WHERE scl.id = " id " AND sp.cc_id = ?" n "))"

/* Enrols user ?2 in campaign ?1 when both are of one contact center, the
 * caller's (?3); each backend says what a repeat does (ON CONFLICT). */
#define CU_ADD_SQL                                                             \
	"INSERT INTO campaign_user (campaign_id, user_pk)"                     \
	" SELECT c.id, u.pk FROM campaign c"                                   \
	" JOIN process p ON p.id = c.process_id"                               \
	" JOIN users u ON u.cc_id = p.cc_id"                                   \
	" WHERE c.id = ?1 AND u.pk = ?2 AND (?3 = 0 OR p.cc_id = ?3)"

/* A PUT's steps (store.c, mapping_put_steps()), and a PUT with If-Match
 * before them, find the campaign lead of campaign ?1 and lead ?2 in the
 * caller's contact center ?3, hold it (PostgreSQL adds FOR UPDATE OF cl,
 * which locks the campaign_lead row only, not the rows the scope check
 * reads) and read its contact center, the history entry's, in one
 * statement: three lookups of primary keys. */
#define CL_HOLD_SQL                                                            \
	"SELECT cl.id, p.cc_id FROM campaign_lead cl"                          \
	" JOIN campaign c ON c.id = cl.campaign_id"                            \
	" JOIN process p ON p.id = c.process_id"                               \
	" WHERE cl.campaign_id = ?1 AND cl.lead_id = ?2"                       \
	" AND (?3 = 0 OR p.cc_id = ?3)"

/*
 * The history of mappings that a delete takes with it: one entry per campaign
 * lead that loses users, every such user in it, under the delete's cause.
 * The statements differ only in which mappings go (the WHERE below, over
 * campaign_lead cl, lead_user lu, campaign_user cu and users u) and in how
 * each backend builds the JSON array of user ids and hands out cursors (its
 * own HISTORY_GONE()).  ?1 and ?2 are the delete's own arguments; ?3 the
 * time, ?4 the actor, ?5 the request id, ?6 the caller's contact center (0:
 * any), ?7 the cause.  An entry's contact center is its users': enrolment
 * keeps a campaign's users in the campaign's contact center.
 */
#define HISTORY_COLS                                                           \
	"campaign_id, lead_id, campaign_lead_id, changed_at, changed_by,"      \
	" request_id, assigned, unassigned, cc_id, cause"
#define HISTORY_GONE_FROM                                                      \
	" FROM campaign_lead cl"                                               \
	" JOIN lead_user lu ON lu.campaign_lead_id = cl.id"                   \
	" JOIN campaign_user cu ON cu.id = lu.campaign_user_id"               \
	" JOIN users u ON u.pk = cu.user_pk"
#define GONE_CAMPAIGN_USER                                                     \
	"cu.campaign_id = ?1 AND u.user_id = ?2 AND " CAMPAIGN_IN_CC("?1", "6")
#define GONE_USER                                                              \
	"u.user_id = ?1 AND (?2 = 0 OR u.cc_id = ?2) AND (?6 = 0 OR u.cc_id = ?6)"
#define GONE_CAMPAIGN_LEAD                                                     \
	"cl.campaign_id = ?1 AND cl.lead_id = ?2 AND " CAMPAIGN_IN_CC("?1", "6")
#define GONE_CAMPAIGN                                                          \
	"cl.campaign_id = ?1 AND EXISTS (SELECT 1 FROM campaign c"             \
	" WHERE c.id = ?1 AND (?2 = 0 OR c.process_id = ?2))"                  \
	" AND " CAMPAIGN_IN_CC("?1", "6")

/* The columns of a campaign lead, in struct campaign_lead's order. */
#define CL_COLS "cl.id, cl.campaign_id, cl.lead_id, cl.priority, cl.enabled"

/*
 * The caches' one look (store_look), with the feed's head as the backend
 * reads it (`last`): the head, the epoch, and the version of lead ?2 of
 * campaign ?1: its last event, or the last one purged when it has none left
 * (a cursor only ever grows).
 */
#define LOOK_HEAD(last)                                                        \
	"SELECT " last " AS last, ch.epoch AS epoch,"                          \
	" COALESCE((SELECT id FROM mapping_history"                            \
	" WHERE campaign_id = ?1 AND lead_id = ?2 ORDER BY id DESC LIMIT 1),"  \
	" ch.purged) AS version"                                               \
	" FROM change_head ch WHERE ch.id = 1"

/*
 * The look aimed at a lead, and in the same snapshot, unless its epoch and
 * version are ?3 and ?4 (the stamps of what the cache holds of the lead),
 * what the lead's mapping is made of.  Rows (kind, ...):
 *   0, head, epoch, version    always, exactly one;
 *   1, CL_COLS                 the campaign lead, if attached;
 *   2, campaignUserId, userId  each campaign user of the campaign;
 *   3, campaignUserId          each one mapped to the campaign lead.
 * Read before the caller is known, so unscoped: the pipeline checks the
 * campaign against the caller's contact center before a handler uses them.
 * When the stamps match, l is empty and nothing else is read, in each
 * database by its own means: the uncorrelated EXISTS gates are PostgreSQL's
 * One-Time Filters (EXPLAIN: the scans "never executed", whatever plan it
 * picks), and SQLite (which takes the plain look instead, store_stmt.c),
 * evaluating them per row, would seek with a value of l, NULL when l is
 * empty, which finds nothing at once.  So such a look
 * costs the plain look and a probe of campaign_lead at most.
 * Users and mappings are two range scans, merged and sorted in C, as
 * store_mapping_get() reads them.
 */
#define LOOK_LEAD_SQL(last)                                                    \
	"WITH k AS (" LOOK_HEAD(last) "),"                                     \
	" l AS (SELECT " CL_COLS " FROM campaign_lead cl"                      \
	" WHERE cl.campaign_id = ?1 AND cl.lead_id = ?2 AND EXISTS (SELECT 1"  \
	" FROM k WHERE k.epoch <> ?3 OR k.version <> ?4))"                     \
	" SELECT 0, last, epoch, version, 0, 0, NULL FROM k"                   \
	" UNION ALL SELECT 1, id, campaign_id, lead_id, priority, enabled,"    \
	" NULL FROM l"                                                         \
	" UNION ALL SELECT 2, cu.id, 0, 0, 0, 0,"                              \
	" (SELECT u.user_id FROM users u WHERE u.pk = cu.user_pk)"             \
	" FROM campaign_user cu WHERE EXISTS (SELECT 1 FROM l)"                \
	" AND cu.campaign_id = (SELECT campaign_id FROM l)"                    \
	" UNION ALL SELECT 3, lu.campaign_user_id, 0, 0, 0, 0, NULL"           \
	" FROM lead_user lu WHERE EXISTS (SELECT 1 FROM l)"                    \
	" AND lu.campaign_lead_id = (SELECT id FROM l)"

/* The columns of a feed event or history entry, in struct history_entry's
 * order. */
#define FEED_COLS                                                              \
	"id, campaign_id, lead_id, campaign_lead_id, changed_at, changed_by,"  \
	" request_id, assigned, unassigned, cc_id, cause"

/*
 * One bound parameter.  ARG_ID binds NULL for 0 (the "none" id).  A list
 * (ARG_INTS, ARG_TEXTS: ids or userIds) is bound natively: a backend whose
 * `lists` is set binds it whole to one parameter (an array), any other runs
 * the statement once per element with the element bound in its place (see
 * exec_each_elem()).  No list ever travels as JSON.
 */
struct arg {
	enum { ARG_INT, ARG_ID, ARG_TEXT, ARG_BLOB, ARG_INTS, ARG_TEXTS } kind;
	int64_t i;
	/* text (NULL binds NULL), blob, or the list's elements (int64_t[] or
	 * const char *[], a NULL element binding NULL); borrowed */
	const void *p;
	size_t n; /* blob bytes, or list elements */
};

#define A_I(v) ((struct arg){ .kind = ARG_INT, .i = (v) })
#define A_ID(v) ((struct arg){ .kind = ARG_ID, .i = (v) })
#define A_T(v) ((struct arg){ .kind = ARG_TEXT, .p = (v) })
#define A_B(v, len) ((struct arg){ .kind = ARG_BLOB, .p = (v), .n = (len) })
#define A_INTS(v, len) ((struct arg){ .kind = ARG_INTS, .p = (v), .n = (len) })
#define A_TEXTS(v, len) ((struct arg){ .kind = ARG_TEXTS, .p = (v), .n = (len) })
/* expands to the two parameters `args, nargs` */
#define ARGS(...)                                                              \
	(const struct arg[]){ __VA_ARGS__ },                                   \
		sizeof((const struct arg[]){ __VA_ARGS__ }) / sizeof(struct arg)

/* The rows of one running statement, on the caller's stack.  The backend
 * owns `h` between query() and done(). */
struct rows {
	struct store *s;
	enum stmt id;
	int fk_rc;       /* what a foreign-key failure means to this statement */
	void *h;         /* sqlite3_stmt * or PGresult * */
	int row;         /* the current row, for backends that buffer */
	int64_t changes; /* rows written, once the statement has finished */
	int64_t last_id; /* and the rowid the last INSERT gave (SQLite; else 0) */
	size_t elem;     /* run once per element: the element bound */
};

/* One schema migration: the text of sql/<backend>/NNNN_name.sql. */
struct migration {
	int version; /* NNNN; 0 ends a list */
	const char *sql;
};

/* The files of sql/sqlite and sql/postgresql, compiled in by
 * scripts/embed-sql ($(BUILD)/sql_files.c): each backend's migrations in
 * order, ending with version 0, and the DDL of its schema_version table. */
extern const struct migration sqlite_migrations[], pg_migrations[];
extern const char sqlite_version_ddl[], pg_version_ddl[];

struct sql_backend {
	const char *name; /* "sqlite", "postgresql": for logs */
	/* Binds a list argument whole (struct arg); else the executor runs a
	 * statement with a list once per element. */
	bool lists;
	/* Statements whose text differs from store_stmt.c's, indexed by enum
	 * stmt; NULL entries take store_stmt.c's text. */
	const char *const *sql;
	/* Run before each migration in its transaction: creates the version
	 * table if it is missing. */
	const char *version_ddl;
	const struct migration *migrations; /* ends with version 0 */

	int (*open)(const char *url, struct store **out, char *err,
		    size_t errlen);
	void (*close)(struct store *s);
	/* Runs `r->id` with a[0..na); on STORE_OK walk it with next() and
	 * always end with done(). */
	int (*query)(struct rows *r, const struct arg *a, size_t na);
	/* *have tells whether a row is ready; at the end r->changes is set. */
	int (*next)(struct rows *r, bool *have);
	void (*done)(struct rows *r);
	/* Columns of the current row; NULL reads as 0 and "", a boolean as
	 * 1 or 0.  Text is borrowed until the next call of next(). */
	int64_t (*col_int)(struct rows *r, int col);
	const char *(*col_text)(struct rows *r, int col, size_t *len);
	/* Runs every statement of the static text `sql` (DDL: no values). */
	int (*script)(struct store *s, const char *sql, const char *what);
	/* Whether a transaction is open (rollback is then needed). */
	bool (*in_txn)(struct store *s);
	/* Optional (NULL: none): makes the connection listen for other
	 * nodes' commits to the change feed and returns the descriptor to
	 * poll for them, or -1; then whether any came since (drained). */
	int (*listen)(struct store *s);
	bool (*notified)(struct store *s);
	/* Optional (NULL: not offered, `hint` says what to use): store_backup()
	 * for this backend. */
	/* Optional (NULL: none): a number that moves whenever anything may
	 * have been committed to the store since this connection last asked,
	 * read without a statement; 0 when it cannot tell.  store_look()'s
	 * memo (store.c) rests on it. */
	uint64_t (*generation)(struct store *s);
	/* Optional (NULL: every statement counts): store_written(). */
	int64_t (*written)(const struct store *s);
	/* Optional (NULL: nothing to do): store_plans_once(). */
	int (*plans_once)(struct store *s);
	int (*backup)(const char *url, const char *to, bool force,
		      struct store_backup_info *info, char *err, size_t errlen);
	const char *backup_hint;
};

/* Every connection starts with this; a backend's own state follows it. */
struct store {
	const struct sql_backend *be;
	/* who runs the current request, for history written by cascades */
	char actor[CMS_USERID_MAX + 1];
	char request_id[17];
	/* events the open transaction has appended to the change feed */
	int64_t appended;
	/* those of them store_history_add() wrote, as written (their strings
	 * owned): store_own_events() */
	struct history_entry *own;
	size_t nown, own_cap;
	/* the BEGIN store_begin() asked for, sent before the next statement;
	 * ST_NONE once sent or when none is due */
	enum stmt begin;
	/* tests: store_fault_arm() */
	unsigned fault_nth;  /* 0: disarmed */
	int fault_rc;
	unsigned statements; /* run since store_fault_arm() */
	uint64_t statements_all; /* run on this connection, ROLLBACK too */
	bool faults;         /* a fault is asked for (store_fault_arm()) */
	/* the transaction was one statement, committed already
	 * (store_mapping_put): its commit is empty, and nothing may follow */
	bool alone;
	/* a statement of the open transaction failed (or a fault said so):
	 * on PostgreSQL the transaction is then good only for a rollback */
	bool failed;
	/* store_look()'s memo (store.c): allocated on first use */
	struct look_memo *memo;
};

extern const struct sql_backend sqlite_backend;
extern const struct sql_backend pg_backend;

/* sqlite_backend's backup (store_sqlite_backup.c). */
int sqlite_backup(const char *url, const char *to, bool force, struct store_backup_info *info,
		  char *err, size_t errlen);

/* The text and the name (for logs) of statement `id` for backend `be`;
 * NULL text when there is no such statement. */
const char *sql_text(const struct sql_backend *be, enum stmt id);
const char *sql_name(enum stmt id);
/* The enum stmt_flag bits of statement `id`. */
unsigned sql_flags(enum stmt id);

#endif
