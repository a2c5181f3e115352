/*
 * store_pg.c - the PostgreSQL backend of the store (see sql.h), on libpq.
 *
 * Many cmsd nodes share one PostgreSQL store; each worker thread of each node
 * holds one connection, opened on its first request.  store_stmt.c's statements
 * are prepared on a connection the first time it runs them (named
 * "cmsd_<n>", parameter types taken from the bound arguments: int8, text,
 * bytea) and then executed by name.
 *
 * The schema is sql/postgresql/'s migrations (compiled in by
 * scripts/embed-sql), numbered as SQLite's so that one version means one
 * schema on both.
 *
 * Transactions (docs/scaling.md argues the choice):
 *   - a read request runs in REPEATABLE READ READ ONLY, so that a list's
 *     count and its page come from one snapshot;
 *   - a write request runs in READ COMMITTED.  Every check made before a
 *     write is backed by a key of the schema, so a concurrent writer makes
 *     the write fail instead of slipping in between; a PUT of one lead's
 *     mapping first locks that campaign lead (SELECT ... FOR UPDATE), so
 *     PUTs of one lead queue, each sees the one before, and none deadlocks;
 *     then the campaign users it names (FOR KEY SHARE, migration 7).  A
 *     delete that takes mappings with it locks what goes before it writes
 *     their history (ST_LOCK_*), so that its cascade removes no mapping
 *     the history did not record.
 *   - SQLSTATE 40001 (serialization failure) and 40P01 (deadlock) answer
 *     STORE_RETRY, and http.c runs the whole request again.
 *
 * A connection that breaks is re-opened by the next statement that runs
 * outside a transaction (BEGIN included), so a node serves again by itself
 * once the database is back; a statement inside a transaction whose
 * connection broke fails with STORE_UNAVAILABLE (503).
 *
 * Nothing logged here carries a value: messages name the statement, the
 * SQLSTATE and PostgreSQL's primary message (DETAIL, which quotes key
 * values, is never read).  The connection URL is never logged either: it may
 * hold a password.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "sql.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* pg_type OIDs of the parameter types (catalog/pg_type_d.h) */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_TEXT_ARRAY 1009
#define OID_INT8_ARRAY 1016

#define MAX_PARAMS 10 /* the most a statement binds: ST_MAPPING_PUT_GROUP has 10 */
#define CONNECT_TIMEOUT "3" /* seconds; the URL may say otherwise */

struct pg {
	struct store base;
	PGconn *conn;
	bool prepared[ST__COUNT]; /* on this connection */
	bool txn;                 /* a BEGIN of ours succeeded on it */
	bool listening;           /* LISTEN cmsd_changes ran on this session */
	bool generic;             /* store_plans_once(): in every session */
	int pid;                  /* its server process, in `own` (0: none) */
};

/*
 * The server processes of this process's sessions.  A notification one of
 * them sent is this process's own commit, which has already handed its
 * events to the feed or woken the feed's thread itself (feed_commit_done()),
 * so pg_notified() passes over it instead of waking the thread a second
 * time to read nothing.  A session leaves the list before it closes or
 * reconnects: a process id the server gives again later, to another node's
 * session, is then not taken for ours.
 */
static struct {
	pthread_mutex_t lock;
	int *pid;
	size_t n, cap;
} own = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

/* s's session leaves `own`, and joins it again when `join` and open. */
static void own_session(struct pg *s, bool join)
{
	size_t i;

	pthread_mutex_lock(&own.lock);
	for (i = 0; s->pid && i < own.n; i++)
		if (own.pid[i] == s->pid) {
			own.pid[i] = own.pid[--own.n];
			break;
		}
	s->pid = join && PQstatus(s->conn) == CONNECTION_OK ? PQbackendPID(s->conn) : 0;
	if (s->pid) {
		if (own.n == own.cap) {
			own.cap = own.cap ? own.cap * 2 : 16;
			own.pid = xrealloc(own.pid, own.cap * sizeof(*own.pid));
		}
		own.pid[own.n++] = s->pid;
	}
	pthread_mutex_unlock(&own.lock);
}

static bool own_pid(int pid)
{
	size_t i;
	bool found = false;

	pthread_mutex_lock(&own.lock);
	for (i = 0; i < own.n && !found; i++)
		found = own.pid[i] == pid;
	pthread_mutex_unlock(&own.lock);
	return found;
}

/*
 * The next `n` cursors of the change feed, and a notification to every node
 * that LISTENs (delivered at commit, and only then).  Updating the one row
 * of change_head holds its lock until this transaction ends, so cursors are
 * handed out in commit order: a reader never sees N+1 before N (migration
 * 4).  `n` is an SQL expression; the row is only touched when it is > 0.
 */
#define FEED_NEXT(n)                                                           \
	"UPDATE change_head SET last = last + " n " WHERE id = 1 AND " n " > 0"  \
	" RETURNING last, pg_notify('cmsd_changes', '')"

/*
 * sql.h's history of a delete.  Here the mappings are deleted by this very
 * statement, and the entries say exactly what it deleted: at READ
 * COMMITTED, a mapping that another transaction adds or removes meanwhile
 * is either seen by this DELETE (after waiting for that transaction) or
 * not there to be lost, never recorded twice nor lost without an entry.
 * The delete's ST_LOCK_* statements have run first, so no new mapping of
 * these users or leads can appear until this transaction ends, and the
 * delete that follows removes no mapping that this did not record.
 */
#define HISTORY_GONE(where)                                                    \
	"WITH gone AS (DELETE FROM lead_user lu"                               \
	" USING campaign_lead cl, campaign_user cu, users u"                   \
	" WHERE cl.id = lu.campaign_lead_id AND cu.id = lu.campaign_user_id"   \
	" AND u.pk = cu.user_pk AND " where                                    \
	" RETURNING cl.campaign_id AS cid, cl.lead_id AS lid, cl.id AS clid,"  \
	" u.user_id AS uid, u.cc_id AS ucc),"                                  \
	" g AS (SELECT cid, lid, clid, ucc,"                                   \
	" json_agg(uid ORDER BY uid)::text AS un,"                             \
	" row_number() OVER (ORDER BY clid) AS k FROM gone"                    \
	" GROUP BY cid, lid, clid, ucc),"                                      \
	" s AS (" FEED_NEXT("(SELECT COUNT(*) FROM g)") ")"                    \
	" INSERT INTO mapping_history (id, " HISTORY_COLS ")"                  \
	" SELECT s.last - (SELECT COUNT(*) FROM g) + g.k, g.cid, g.lid, g.clid," \
	" ?3, ?4, ?5, '[]', g.un, g.ucc, ?7 FROM g CROSS JOIN s"

/* Where PostgreSQL's text differs from store_stmt.c's. */
static const char *const pg_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	[ST_BEGIN_WRITE] = "BEGIN ISOLATION LEVEL READ COMMITTED",
	[ST_CL_HOLD] = CL_HOLD_SQL " FOR UPDATE OF cl",
	/* the campaign and the user are held (FOR KEY SHARE) as they are read:
	 * one being deleted is waited for and then read as missing, so the
	 * insert never fails on a foreign key (the transaction stays usable
	 * to say which was missing) and the delete, which holds the row FOR
	 * UPDATE first, never takes an enrolment it did not see; an existing
	 * enrolment is updated to itself, which locks it: another node cannot
	 * remove it between this and the read that follows */
	[ST_CU_ADD] =
		CU_ADD_SQL " FOR KEY SHARE OF c, u"
		" ON CONFLICT (campaign_id, user_pk) DO UPDATE SET user_pk = EXCLUDED.user_pk",
	/*
	 * Lists are arrays (text[], bigint[]).  Left to itself the planner
	 * would hash whole tables (every user, every campaign user) to join
	 * the elements, at a cost that grows with the store.  Each element is
	 * looked up alone instead: a LATERAL subquery that OFFSET 0 keeps from
	 * being merged into the join runs once per element on a unique index.
	 * Ordinality counts from 1; the executor wants indexes from 0.
	 */
	[ST_USER_PK_MANY] =
		"SELECT j.ord - 1, x.pk FROM unnest(?1::text[])"
		" WITH ORDINALITY AS j(v, ord)"
		" CROSS JOIN LATERAL (SELECT u.pk FROM users u WHERE u.user_id = j.v"
		" AND (?2 = 0 OR u.cc_id = ?2) OFFSET 0) x",
	[ST_CU_RESOLVE_MANY] =
		"SELECT j.ord - 1, x.id FROM unnest(?1::text[])"
		" WITH ORDINALITY AS j(v, ord)"
		" CROSS JOIN LATERAL (SELECT cu.id FROM users u"
		" JOIN campaign_user cu ON cu.user_pk = u.pk AND cu.campaign_id = ?2"
		" WHERE u.user_id = j.v OFFSET 0) x"
		" WHERE " CAMPAIGN_IN_CC("?2", "3"),
	[ST_MAP_ADD_MANY] =
		"INSERT INTO lead_user (campaign_lead_id, campaign_user_id)"
		" SELECT cl.id, x.id FROM campaign_lead cl"
		" CROSS JOIN LATERAL unnest(?2::bigint[]) j(v)"
		" CROSS JOIN LATERAL (SELECT cu.id FROM campaign_user cu"
		" WHERE cu.id = j.v AND cu.campaign_id = cl.campaign_id OFFSET 0) x"
		" WHERE cl.id = ?1 AND " CAMPAIGN_LEAD_IN_CC("?1", "3")
		" ON CONFLICT DO NOTHING RETURNING campaign_user_id",
	[ST_LOOK_LEAD] = LOOK_LEAD_SQL("ch.last"),
	/* ST_LOOK for each (?1[i], ?2[i]), in order, in one snapshot: each
	 * lead's last entry by one backward probe of the history's index */
	[ST_LOOK_MANY] =
		"SELECT ch.last, ch.epoch, COALESCE(v.id, ch.purged) FROM change_head ch"
		" CROSS JOIN unnest(?1::bigint[], ?2::bigint[]) WITH ORDINALITY AS q(c, l, ord)"
		" LEFT JOIN LATERAL (SELECT h.id FROM mapping_history h"
		" WHERE h.campaign_id = q.c AND h.lead_id = q.l ORDER BY h.id DESC LIMIT 1) v"
		" ON true WHERE ch.id = 1 ORDER BY q.ord",
	/* ST_LOOK_LEAD for each (?1[i], ?2[i]) held at (?3[i], ?4[i]), in one
	 * snapshot: its rows as ST_LOOK_LEAD's, with i + 1 last, ordered by it
	 * and then by kind; the lead's rows only where the stamps differ.  A
	 * statement of its own: its plan costs some 55 us more than
	 * ST_LOOK_MANY's when no lead is stale (pgbench, 16 leads held), which
	 * every GET of a lead held and current would pay. */
	[ST_LOOK_MANY_ROWS] =
		"WITH q AS MATERIALIZED (SELECT q.ord, q.c, q.l, q.e, q.v, ch.last, ch.epoch,"
		" COALESCE(h.id, ch.purged) AS version FROM change_head ch"
		" CROSS JOIN unnest(?1::bigint[], ?2::bigint[], ?3::bigint[], ?4::bigint[])"
		" WITH ORDINALITY AS q(c, l, e, v, ord)"
		" LEFT JOIN LATERAL (SELECT h.id FROM mapping_history h"
		" WHERE h.campaign_id = q.c AND h.lead_id = q.l ORDER BY h.id DESC LIMIT 1) h"
		" ON true WHERE ch.id = 1),"
		" s AS MATERIALIZED (SELECT q.ord, " CL_COLS " FROM q"
		" JOIN campaign_lead cl ON cl.campaign_id = q.c AND cl.lead_id = q.l"
		" WHERE q.e <> q.epoch OR q.v <> q.version)"
		" SELECT 0, last, epoch, version, 0, 0, NULL, ord FROM q"
		" UNION ALL SELECT 1, id, campaign_id, lead_id, priority, enabled, NULL, ord FROM s"
		" UNION ALL SELECT 2, cu.id, 0, 0, 0, 0,"
		" (SELECT u.user_id FROM users u WHERE u.pk = cu.user_pk), s.ord"
		" FROM s JOIN campaign_user cu ON cu.campaign_id = s.campaign_id"
		" UNION ALL SELECT 3, lu.campaign_user_id, 0, 0, 0, 0, NULL, s.ord"
		" FROM s JOIN lead_user lu ON lu.campaign_lead_id = s.id"
		" ORDER BY 8, 1",
	[ST_MAPPING_PUT_GROUP] =
		"SELECT o_req, o_kind, o_index, o_id, o_changed FROM cmsd_mapping_put_group("
		"?1::bigint[], ?2::bigint[], ?3::bigint[], ?4::int[], ?5::int[], ?6::text[],"
		" ?7::bigint[], ?8::bigint[], ?9::text[], ?10::text[])",
	[ST_MAP_USERS] =
		"SELECT cu.id, (SELECT u.user_id FROM users u WHERE u.pk = cu.user_pk)"
		" FROM campaign_user cu WHERE cu.campaign_id = ?1"
		" AND " CAMPAIGN_IN_CC("?1", "2"),
	/* = ANY: one probe of the primary key per element, in key order */
	[ST_MAP_REMOVE_MANY] =
		"DELETE FROM lead_user WHERE campaign_lead_id = ?1"
		" AND campaign_user_id = ANY (?2::bigint[])"
		" AND " CAMPAIGN_LEAD_IN_CC("?1", "3") " RETURNING campaign_user_id",
	[ST_HISTORY_ADD] =
		"WITH s AS (" FEED_NEXT("1") ")"
		" INSERT INTO mapping_history (id, " HISTORY_COLS ")"
		" SELECT s.last, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'mapping' FROM s RETURNING id",
	[ST_HISTORY_CU_GONE] = HISTORY_GONE(GONE_CAMPAIGN_USER),
	[ST_HISTORY_USER_GONE] = HISTORY_GONE(GONE_USER),
	[ST_HISTORY_CL_GONE] = HISTORY_GONE(GONE_CAMPAIGN_LEAD),
	[ST_HISTORY_CAMPAIGN_GONE] = HISTORY_GONE(GONE_CAMPAIGN),
	/*
	 * Before a delete takes mappings with it, it locks (store.c,
	 * history_gone()), each in a statement of its own so that the next
	 * one's snapshot is taken once the lock is held:
	 *   1. the row that goes (FOR UPDATE): a campaign user, a campaign
	 *      lead, a user, a campaign.  Not there: NOT_FOUND, nothing else
	 *      runs.  Held, nothing new can come to hang below it (an insert
	 *      of a row that references it takes a key-share lock on it);
	 *   2. for a user or a campaign, what hangs below it and a new mapping
	 *      would reference (a PUT holds its campaign lead FOR UPDATE and
	 *      its campaign users FOR KEY SHARE): the user's enrolments, the
	 *      campaign's leads then users.
	 * Once these are held, every mapping of what goes that another
	 * transaction was writing has committed, none can begin, and the
	 * history statement sees every mapping the delete's cascade will
	 * remove: none goes without its event.  ?1, ?2 the delete's
	 * arguments, ?3 the caller's contact center.
	 */
	[ST_LOCK_CU_GONE] =
		"SELECT cu.id FROM campaign_user cu JOIN users u ON u.pk = cu.user_pk"
		" WHERE cu.campaign_id = ?1 AND u.user_id = ?2"
		" AND " CAMPAIGN_IN_CC("?1", "3") " FOR UPDATE OF cu",
	[ST_LOCK_CL_GONE] =
		"SELECT cl.id FROM campaign_lead cl WHERE cl.campaign_id = ?1"
		" AND cl.lead_id = ?2 AND " CAMPAIGN_IN_CC("?1", "3") " FOR UPDATE OF cl",
	[ST_LOCK_USER] =
		"SELECT u.pk FROM users u WHERE u.user_id = ?1 AND (?2 = 0 OR u.cc_id = ?2)"
		" AND (?3 = 0 OR u.cc_id = ?3) FOR UPDATE OF u",
	[ST_LOCK_USER_GONE] =
		"SELECT cu.id FROM campaign_user cu JOIN users u ON u.pk = cu.user_pk"
		" WHERE u.user_id = ?1 AND (?2 = 0 OR u.cc_id = ?2)"
		" AND (?3 = 0 OR u.cc_id = ?3) ORDER BY cu.id FOR UPDATE OF cu",
	[ST_LOCK_CAMPAIGN] =
		"SELECT c.id FROM campaign c WHERE c.id = ?1 AND (?2 = 0 OR c.process_id = ?2)"
		" AND " CAMPAIGN_IN_CC("?1", "3") " FOR UPDATE OF c",
	[ST_LOCK_CAMPAIGN_GONE] =
		"WITH a AS (SELECT cl.id FROM campaign_lead cl WHERE cl.campaign_id = ?1"
		" AND " CAMPAIGN_IN_CC("?1", "3") " ORDER BY cl.id FOR UPDATE OF cl),"
		" b AS (SELECT cu.id FROM campaign_user cu WHERE cu.campaign_id = ?1"
		" AND " CAMPAIGN_IN_CC("?1", "3") " ORDER BY cu.id FOR UPDATE OF cu)"
		" SELECT (SELECT COUNT(*) FROM a) + (SELECT COUNT(*) FROM b)",
};

/* ---- errors ---- */

/* Whether SQLSTATE `state` is one of the NULL-terminated `list`, where a
 * two-character entry stands for its whole class. */
static bool state_in(const char *state, const char *const *list)
{
	for (; *list; list++)
		if (!strncmp(state, *list, strlen(*list)))
			return true;
	return false;
}

/*
 * Turns a failed result (NULL: out of memory or no connection) into a
 * store_rc, logging what no caller expects.  `fk_rc` is what a foreign-key
 * failure means to this statement.
 */
static int pg_map(struct pg *s, const PGresult *res, int fk_rc,
		  const char *what)
{
	static const char *const retry[] = {
		"40001", /* serialization failure */
		"40P01", /* deadlock detected */
		"55P03", /* lock not available */
		"42P07", /* duplicate table: a migration raced another node */
		"42710", /* duplicate object: likewise */
		"42701", /* duplicate column (ALTER TABLE ... ADD): likewise */
		"42723", /* duplicate function: likewise */
		NULL,
	};
	static const char *const gone[] = {
		"08",    /* connection exception */
		"53",    /* insufficient resources (disk full, too many ...) */
		"57P01", /* admin shutdown */
		"57P02", /* crash shutdown */
		"57P03", /* cannot connect now (starting up) */
		"25006", /* read-only transaction: a standby, not the primary */
		NULL,
	};
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!state || PQstatus(s->conn) != CONNECTION_OK) {
		log_msgf("warn", "postgresql %s: connection lost", what);
		return STORE_UNAVAILABLE;
	}
	if (!strcmp(state, "23505"))
		return STORE_EXISTS;
	if (!strcmp(state, "23503") && fk_rc != STORE_ERROR)
		return fk_rc;
	if (state_in(state, retry)) {
		log_msgf("warn", "postgresql %s: %s (%s)", what, msg ? msg : "",
			 state);
		return STORE_RETRY;
	}
	log_msgf("error", "postgresql %s: %s (%s)", what, msg ? msg : "", state);
	return state_in(state, gone) ? STORE_UNAVAILABLE : STORE_ERROR;
}

/* ---- connections ---- */

/* PostgreSQL's notices ("relation already exists, skipping") are not
 * errors, and libpq would print them to stderr among the JSON logs. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* What every session of cmsd says first: it is cmsd, so the triggers that
 * count other programs' writes into change_head.epoch leave its writes alone
 * (migration 5; store.c bumps the epoch itself where it must); a
 * statement that is a transaction of its own (store_mapping_put()) runs at
 * READ COMMITTED, as BEGIN_WRITE says, whatever the server's default; and
 * no sequential scan where an index serves.  cmsd's statements look up or
 * read a range of an index (a few whole-table counts then read an index
 * instead), but a prepared statement's generic plan (from its sixth run, or
 * forced in migrations 6-8) is made once and kept: one made while
 * mapping_history was nearly empty (a new database, a copy of a template)
 * scanned the whole history on every look, until an ANALYZE happened to
 * invalidate it: 4 ms a look at 50,000 entries, the bench's "first run"
 * (docs/performance.md).  And no JIT: a plan whose cost passes
 * jit_above_cost (a join of unnested arrays, estimated at 10,000 rows, with
 * seq scans priced out) compiles itself on every run, 30-40 ms for a
 * statement that runs in 0.1 ms (seen while trying a group function). */
static int session_setup(struct pg *s)
{
	char sql[192];
	PGresult *res;
	int ok;

	PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
	snprintf(sql, sizeof(sql),
		 "SET cmsd.writer = 'on'; SET default_transaction_isolation = 'read committed';"
		 " SET enable_seqscan = off; SET jit = off%s",
		 s->generic ? "; SET plan_cache_mode = force_generic_plan" : "");
	res = PQexec(s->conn, sql);
	ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	own_session(s, ok);
	return ok ? STORE_OK : STORE_UNAVAILABLE;
}

/*
 * Every statement's plan made once and kept, in this session and the next
 * (a reconnect runs session_setup again).  Left to itself PostgreSQL plans
 * a prepared statement afresh each time while its generic plan looks
 * dearer than the plans made for the values: for a list given as an array
 * (ST_LOOK_MANY) it always does, since a plan for the values knows the
 * list's length, at some 100 us a run (docs/performance.md).
 */
static int pg_plans_once(struct store *base)
{
	struct pg *s = (struct pg *)base;

	s->generic = true;
	return session_setup(s);
}

/* Opens a new connection for s (after a failure: re-opens it).  Returns a
 * store_rc; the statements must be prepared again either way. */
static int pg_connect(struct pg *s)
{
	memset(s->prepared, 0, sizeof(s->prepared));
	s->txn = false;
	s->listening = false;
	own_session(s, false);
	if (s->conn)
		PQreset(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK)
		return STORE_UNAVAILABLE;
	return session_setup(s);
}

/*
 * Opens a connection to `url` (a libpq URI).  The defaults below bound how
 * long a node waits on a database that stopped answering without closing the
 * connection (a partition, a frozen host): 3 s to connect, 5 s for unacked
 * data (tcp_user_timeout), about 9 s for an idle silence (keepalives).  The
 * URL may override each; it never reaches a log (it may hold a password).
 */
static int pg_open(const char *url, struct store **out, char *err,
		   size_t errlen)
{
	const char *const keys[] = {
		"connect_timeout", "application_name", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"dbname", NULL,
	};
	const char *const vals[] = {
		CONNECT_TIMEOUT, "cmsd", "5", "2", "2", "5000", url, NULL,
	};
	struct pg *s = xcalloc(1, sizeof(*s));
	const char *msg, *nl;

	s->base.be = &pg_backend;
	if (!PQisthreadsafe()) {
		snprintf(err, errlen, "postgresql: libpq built without threads");
		goto fail;
	}
	/* later keywords win, and the expanded URL comes last */
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		/* libpq's message names the host and the reason, not the
		 * password; keep its first line */
		msg = s->conn ? PQerrorMessage(s->conn) : "out of memory";
		nl = strchr(msg, '\n');
		snprintf(err, errlen, "postgresql: cannot connect: %.*s",
			 (int)(nl ? (size_t)(nl - msg) : strlen(msg)), msg);
		goto fail;
	}
	if (session_setup(s)) {
		snprintf(err, errlen, "postgresql: cannot set up the session");
		goto fail;
	}
	*out = &s->base;
	return 0;
fail:
	if (s->conn)
		PQfinish(s->conn);
	free(s);
	return -1;
}

static void pg_close(struct store *base)
{
	struct pg *s = (struct pg *)base;

	if (!s)
		return;
	own_session(s, false);
	PQfinish(s->conn);
	free(s);
}

/* ---- statements ---- */

/* store_stmt.c writes parameters as ?N; PostgreSQL wants $N.  No statement has a
 * '?' inside a string literal. */
static char *pg_dialect(const char *text)
{
	char *out = xstrdup(text);
	char *p;

	for (p = out; *p; p++)
		if (p[0] == '?' && p[1] >= '1' && p[1] <= '9')
			p[0] = '$';
	return out;
}

/* Prepares statement r->id on the connection, typed after a[0..na). */
static int pg_prepare(struct pg *s, enum stmt id, const struct arg *a,
		      size_t na)
{
	Oid types[MAX_PARAMS];
	char name[32];
	char *text;
	PGresult *res;
	size_t i;
	int rc = STORE_OK;

	for (i = 0; i < na; i++)
		types[i] = a[i].kind == ARG_TEXT    ? OID_TEXT :
			   a[i].kind == ARG_BLOB    ? OID_BYTEA :
			   a[i].kind == ARG_TEXTS   ? OID_TEXT_ARRAY :
			   a[i].kind == ARG_INTS    ? OID_INT8_ARRAY :
						      OID_INT8;
	snprintf(name, sizeof(name), "cmsd_%d", (int)id);
	text = pg_dialect(sql_text(&pg_backend, id));
	res = PQprepare(s->conn, name, text, (int)na, types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_map(s, res, STORE_ERROR, sql_name(id));
	else
		s->prepared[id] = true;
	PQclear(res);
	free(text);
	return rc;
}

/* Whether statement `id` ends or starts a transaction. */
static bool is_txn_edge(enum stmt id)
{
	return id == ST_BEGIN || id == ST_BEGIN_WRITE || id == ST_COMMIT ||
	       id == ST_ROLLBACK;
}

/*
 * Writes list `a` (ARG_INTS or ARG_TEXTS) to `out` as an array literal:
 * {1,2} or {"a","b\"c",NULL}.  Every text element is quoted, with '"'
 * and '\\' escaped by a backslash (the only two characters that need it
 * inside quotes), so that any userId, "NULL" or " x{,}" included, stays
 * itself; a NULL element is NULL.
 */
static void array_literal(struct strbuf *out, const struct arg *a)
{
	const int64_t *ints = a->p;
	const char *const *texts = a->p;
	const char *c;
	size_t i;

	strbuf_addch(out, '{');
	for (i = 0; i < a->n; i++) {
		if (i)
			strbuf_addch(out, ',');
		if (a->kind == ARG_INTS) {
			strbuf_addint(out, ints[i]);
		} else if (!texts[i]) {
			strbuf_addstr(out, "NULL");
		} else {
			strbuf_addch(out, '"');
			for (c = texts[i]; *c; c++) {
				if (*c == '"' || *c == '\\')
					strbuf_addch(out, '\\');
				strbuf_addch(out, *c);
			}
			strbuf_addch(out, '"');
		}
	}
	strbuf_addch(out, '}');
}

/*
 * Sends r->id with the values vals[0..na) (typed after a[0..na)) and keeps
 * its whole result in r->h.  Outside a transaction (in_txn false) a broken
 * connection is re-opened first, and a statement that finds its connection
 * broken is run once more on a new one: after a restart of PostgreSQL, the
 * first request of each worker is served, not failed.
 */
static int pg_send(struct rows *r, const struct arg *a, size_t na,
		   const char *const *vals, const int *lens, const int *fmts,
		   bool in_txn)
{
	struct pg *s = (struct pg *)r->s;
	char name[32];
	PGresult *res = NULL;
	ExecStatusType st;
	int attempt, rc = STORE_ERROR;
	bool rerun;

	snprintf(name, sizeof(name), "cmsd_%d", (int)r->id);
	/*
	 * Only what can safely run twice runs again on a new connection, as
	 * the statement table declares it (SF_RERUN: never a write, which may
	 * have landed before its answer was lost, nor COMMIT), and never a
	 * statement of a transaction (it died with the connection; a COMMIT
	 * sent again on a new session would "succeed" with nothing to commit).
	 */
	rerun = !in_txn && (sql_flags(r->id) & SF_RERUN);
	for (attempt = 1; attempt <= 2; attempt++) {
		if (PQstatus(s->conn) != CONNECTION_OK) {
			if (in_txn || r->id == ST_COMMIT) /* it died with it */
				return STORE_UNAVAILABLE;
			if ((rc = pg_connect(s)) != STORE_OK)
				return rc;
		}
		rc = s->prepared[r->id] ? STORE_OK : pg_prepare(s, r->id, a, na);
		if (rc == STORE_OK) {
			res = PQexecPrepared(s->conn, name, (int)na, vals, lens,
					     fmts, 0);
			st = PQresultStatus(res);
			if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
				break;
			rc = pg_map(s, res, r->fk_rc, sql_name(r->id));
			PQclear(res);
			res = NULL;
		}
		if (rc != STORE_UNAVAILABLE || !rerun || PQstatus(s->conn) == CONNECTION_OK)
			return rc;
	}
	if (!res)
		return rc;
	r->h = res;
	r->row = -1;
	if (r->id == ST_BEGIN || r->id == ST_BEGIN_WRITE)
		s->txn = true;
	return STORE_OK;
}

/* Runs r->id with a[0..na): numbers as text, blobs binary, lists as array
 * literals (see pg_send()). */
static int pg_query(struct rows *r, const struct arg *a, size_t na)
{
	struct pg *s = (struct pg *)r->s;
	const char *vals[MAX_PARAMS];
	int lens[MAX_PARAMS], fmts[MAX_PARAMS];
	char nums[MAX_PARAMS][24];
	struct strbuf lists[MAX_PARAMS];
	size_t i;
	int rc;
	bool in_txn;

	r->h = NULL;
	if (na > MAX_PARAMS || !sql_text(&pg_backend, r->id)) {
		log_msgf("error", "postgresql: bad statement %d", (int)r->id);
		return STORE_ERROR;
	}
	in_txn = s->txn;
	if (is_txn_edge(r->id)) {
		s->txn = false;
		/* the server ended the transaction when the connection broke:
		 * nothing is left to roll back (r->h NULL walks as no rows) */
		if (r->id == ST_ROLLBACK && PQstatus(s->conn) != CONNECTION_OK)
			return STORE_OK;
	}
	for (i = 0; i < na; i++) {
		vals[i] = NULL;
		lens[i] = 0;
		fmts[i] = 0;
		lists[i] = (struct strbuf)STRBUF_INIT;
		switch (a[i].kind) {
		case ARG_ID:
			if (!a[i].i)
				break;
			/* fall through */
		case ARG_INT:
			snprintf(nums[i], sizeof(nums[i]), "%lld",
				 (long long)a[i].i);
			vals[i] = nums[i];
			break;
		case ARG_TEXT:
			vals[i] = a[i].p;
			break;
		case ARG_BLOB:
			vals[i] = a[i].p;
			lens[i] = (int)a[i].n;
			fmts[i] = 1;
			break;
		case ARG_INTS:
		case ARG_TEXTS:
			array_literal(&lists[i], &a[i]);
			vals[i] = strbuf_str(&lists[i]);
			break;
		}
	}
	rc = pg_send(r, a, na, vals, lens, fmts, in_txn);
	for (i = 0; i < na; i++)
		strbuf_release(&lists[i]);
	return rc;
}

static int pg_next(struct rows *r, bool *have)
{
	PGresult *res = r->h;
	const char *n;

	r->row++;
	*have = res && r->row < PQntuples(res);
	if (!*have) {
		n = res ? PQcmdTuples(res) : ""; /* "": nothing written */
		r->changes = *n ? strtoll(n, NULL, 10) : 0;
	}
	return STORE_OK;
}

static void pg_done(struct rows *r)
{
	PQclear(r->h);
	r->h = NULL;
}

static int64_t pg_col_int(struct rows *r, int col)
{
	const char *v;

	if (PQgetisnull(r->h, r->row, col))
		return 0;
	v = PQgetvalue(r->h, r->row, col);
	if (v[0] == 't' || v[0] == 'f') /* a boolean */
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static const char *pg_col_text(struct rows *r, int col, size_t *len)
{
	*len = (size_t)PQgetlength(r->h, r->row, col);
	return PQgetvalue(r->h, r->row, col); /* "" for NULL */
}

/* DDL only: PQexec runs the several statements of `sql` in the open
 * transaction. */
static int pg_script(struct store *base, const char *sql, const char *what)
{
	struct pg *s = (struct pg *)base;
	PGresult *res;
	int rc = STORE_OK;

	if (PQstatus(s->conn) != CONNECTION_OK)
		return STORE_UNAVAILABLE;
	res = PQexec(s->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_map(s, res, STORE_ERROR, what);
	PQclear(res);
	return rc;
}

/* Ours or libpq's: a transaction whose connection broke still needs the
 * ROLLBACK that tells pg_query() it is over. */
static bool pg_in_txn(struct store *base)
{
	struct pg *s = (struct pg *)base;
	PGTransactionStatusType t = PQtransactionStatus(s->conn);

	return s->txn || t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

/* The change feed's connection listens for the notification that every
 * appending statement sends at commit (FEED_NEXT); after a reconnect it
 * listens again.  Returns the socket to poll, or -1 while unreachable. */
static int pg_listen(struct store *base)
{
	struct pg *s = (struct pg *)base;
	PGresult *res;

	if (PQstatus(s->conn) != CONNECTION_OK && pg_connect(s) != STORE_OK)
		return -1;
	if (!s->listening) {
		res = PQexec(s->conn, "LISTEN cmsd_changes");
		s->listening = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (!s->listening)
			return -1;
	}
	return PQsocket(s->conn);
}

/* Whether a notification came from another process's session (all are
 * drained; this process's own are passed over, see `own`); true as well
 * when the connection broke, so that the feed looks at the store itself. */
static bool pg_notified(struct store *base)
{
	struct pg *s = (struct pg *)base;
	PGnotify *n;
	bool any = false;

	if (!PQconsumeInput(s->conn)) {
		s->listening = false;
		return true;
	}
	while ((n = PQnotifies(s->conn))) {
		bool mine = own_pid(n->be_pid);

		metrics_feed_notification(mine);
		any = any || !mine;
		PQfreemem(n);
	}
	return any;
}

const struct sql_backend pg_backend = {
	.name = "postgresql",
	.lists = true, /* arrays */
	.sql = pg_sql,
	.version_ddl = pg_version_ddl,
	.migrations = pg_migrations,
	.open = pg_open,
	.close = pg_close,
	.query = pg_query,
	.next = pg_next,
	.done = pg_done,
	.col_int = pg_col_int,
	.col_text = pg_col_text,
	.script = pg_script,
	.in_txn = pg_in_txn,
	.listen = pg_listen,
	.notified = pg_notified,
	.plans_once = pg_plans_once,
	/* PostgreSQL has its own tools for a consistent copy of a live
	 * database; cmsd does not wrap them */
	.backup_hint = "cmsd backup copies SQLite stores only: back up a PostgreSQL store "
		       "with pg_dump -Fc (a consistent snapshot while cmsd runs) and restore "
		       "it with pg_restore (docs/operations.md)",
};
