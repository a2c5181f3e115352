/*
 * store_stmt.c - the table of SQL statements of the store, one row per
 * `enum stmt` (sql.h).
 *
 * Each row gives the statement's name (for logs) and its text, written in the
 * dialect that SQLite and PostgreSQL share (sql.h says which).  A backend
 * overrides the few texts that must differ in its own sparse table
 * (store_sqlite.c, store_pg.c); sql_text() picks the override when there is
 * one.  Values reach SQL only as bound parameters; no SQL is ever formatted.
 */
#include <stddef.h>

#include "sql.h"
#include "banned.h"

/* Column lists shared by the statements that fill one struct. */
#define CU_COLS "cu.id, cu.campaign_id, u.user_id"
#define CU_FROM "FROM campaign_user cu JOIN users u ON u.pk = cu.user_pk "
#define CL_SCOPED_FROM                                                         \
	"FROM campaign_lead cl JOIN campaign c ON c.id = cl.campaign_id "      \
	"JOIN process p ON p.id = c.process_id "

#define S(id, flags, text) [id] = { #id, text, flags }
#define RERUN SF_RERUN
#define ONCE 0

/*
 * Each row says whether its statement may be sent again on a new connection
 * when the old one broke before the answer came (outside a transaction
 * only: see store_pg.c).  RERUN: it writes nothing (reads, and the BEGINs
 * and ROLLBACK), so running it twice is running it once.  ONCE: a write,
 * which may have landed before its answer was lost, and COMMIT.
 *
 * Parameters are numbered; a list's page statement takes the count
 * statement's parameters followed by LIMIT and OFFSET.  `(?2 = 0 OR x = ?2)`
 * appears only beside a primary-key or unique lookup, where it costs nothing.
 */
static const struct {
	const char *name; /* for logs */
	const char *sql;
	unsigned flags; /* enum stmt_flag */
} stmts[ST__COUNT] = {
	S(ST_BEGIN, RERUN, "BEGIN"),
	/* backends say how a write transaction takes its locks */
	S(ST_BEGIN_WRITE, RERUN, "BEGIN"),
	S(ST_COMMIT, ONCE, "COMMIT"),
	S(ST_ROLLBACK, RERUN, "ROLLBACK"),
	/* reads the file, so a broken or vanished database fails the ping */
	S(ST_PING, RERUN, "SELECT COUNT(*) FROM schema_version"),
	S(ST_SCHEMA_VERSION, RERUN, "SELECT COALESCE(MAX(version), 0) FROM schema_version"),
	S(ST_SCHEMA_SET, ONCE,
	  "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)"),

	S(ST_CC_EXISTS, RERUN, "SELECT 1 FROM contact_center WHERE id = ?1"),
	S(ST_PROCESS_EXISTS, RERUN,
	  "SELECT 1 FROM process WHERE id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_CAMPAIGN_EXISTS, RERUN,
	  "SELECT 1 FROM campaign WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),
	S(ST_LEAD_EXISTS, RERUN,
	  "SELECT 1 FROM lead WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"),
	S(ST_CAMPAIGN_IN_SCOPE, RERUN,
	  "SELECT 1 FROM campaign c JOIN process p ON p.id = c.process_id"
	  " WHERE c.id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"),

	S(ST_CC_CREATE, ONCE,
	  "INSERT INTO contact_center (name) VALUES (?1) RETURNING id, name"),
	S(ST_CC_GET, RERUN, "SELECT id, name FROM contact_center WHERE id = ?1"),
	/* contact centers are few: a scan with the scope test is fine */
	S(ST_CC_COUNT, RERUN,
	  "SELECT COUNT(*) FROM contact_center WHERE ?1 = 0 OR id = ?1"),
	S(ST_CC_PAGE, RERUN,
	  "SELECT id, name FROM contact_center WHERE ?1 = 0 OR id = ?1"
	  " ORDER BY id LIMIT ?2 OFFSET ?3"),
	/* no row: missing; else whether anything still hangs below it */
	S(ST_CC_IN_USE, RERUN,
	  "SELECT EXISTS (SELECT 1 FROM users WHERE cc_id = c.id)"
	  " OR EXISTS (SELECT 1 FROM process WHERE cc_id = c.id)"
	  " FROM contact_center c WHERE c.id = ?1"),
	S(ST_CC_DELETE, ONCE, "DELETE FROM contact_center WHERE id = ?1"),

	S(ST_USER_CREATE, ONCE,
	  "INSERT INTO users (user_id, cc_id, name, role, pw_hash)"
	  " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING pk"),
	S(ST_USER_GET, RERUN,
	  "SELECT pk, cc_id, user_id, name, role, pw_hash FROM users"
	  " WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_USER_COUNT_CC, RERUN, "SELECT COUNT(*) FROM users WHERE cc_id = ?1"),
	S(ST_USER_PAGE_CC, RERUN,
	  "SELECT pk, cc_id, user_id, name, role, NULL FROM users"
	  " WHERE cc_id = ?1 ORDER BY pk LIMIT ?2 OFFSET ?3"),
	S(ST_USER_COUNT_ALL, RERUN, "SELECT COUNT(*) FROM users"),
	S(ST_USER_PAGE_ALL, RERUN,
	  "SELECT pk, cc_id, user_id, name, role, NULL FROM users"
	  " ORDER BY pk LIMIT ?1 OFFSET ?2"),
	/* NULL leaves a field alone */
	S(ST_USER_UPDATE, ONCE,
	  "UPDATE users SET name = COALESCE(?3, name),"
	  " role = COALESCE(?4, role),"
	  " pw_hash = COALESCE(?5, pw_hash)"
	  " WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_USER_DELETE, ONCE,
	  "DELETE FROM users WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	/* every system administrator but ?1 (a System user has no contact
	 * center, so no enrolment, mapping or history: its tokens go by
	 * cascade) */
	S(ST_USER_DELETE_SYSTEM, ONCE,
	  "DELETE FROM users WHERE role = 'System' AND cc_id IS NULL AND user_id <> ?1"),
	/* ?1 is a list of userIds (A_TEXTS); the text here is for one element
	 * and answers its row id (a backend that binds lists answers
	 * (index, pk) per element, index from 0: see sql.h) */
	S(ST_USER_PK_MANY, RERUN,
	  "SELECT pk FROM users WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2)"),

	S(ST_PROCESS_CREATE, ONCE,
	  "INSERT INTO process (cc_id, name) VALUES (?1, ?2)"
	  " RETURNING id, cc_id, name"),
	S(ST_PROCESS_GET, RERUN,
	  "SELECT id, cc_id, name FROM process"
	  " WHERE id = ?1 AND (?2 = 0 OR cc_id = ?2)"),
	S(ST_PROCESS_COUNT, RERUN, "SELECT COUNT(*) FROM process WHERE cc_id = ?1"),
	S(ST_PROCESS_PAGE, RERUN,
	  "SELECT id, cc_id, name FROM process WHERE cc_id = ?1"
	  " ORDER BY id LIMIT ?2 OFFSET ?3"),
	S(ST_PROCESS_IN_USE, RERUN,
	  "SELECT EXISTS (SELECT 1 FROM lead WHERE process_id = p.id)"
	  " OR EXISTS (SELECT 1 FROM campaign WHERE process_id = p.id)"
	  " FROM process p WHERE p.id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"),
	S(ST_PROCESS_DELETE, ONCE,
	  "DELETE FROM process WHERE id = ?1 AND (?2 = 0 OR cc_id = ?2)"),

	/* leads and campaigns: the last parameter is the caller's contact
	 * center (sql.h's tenant scope); a create in another tenant's process
	 * inserts nothing, as in a missing one */
	S(ST_LEAD_CREATE, ONCE,
	  "INSERT INTO lead (process_id, name) SELECT ?1, ?2"
	  " WHERE " PROCESS_IN_CC("?1", "3") " RETURNING id, process_id, name"),
	S(ST_LEAD_GET, RERUN,
	  "SELECT id, process_id, name FROM lead"
	  " WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"
	  " AND " LEAD_IN_CC("?1", "3")),
	S(ST_LEAD_COUNT, RERUN,
	  "SELECT COUNT(*) FROM lead WHERE process_id = ?1"
	  " AND " PROCESS_IN_CC("?1", "2")),
	S(ST_LEAD_PAGE, RERUN,
	  "SELECT id, process_id, name FROM lead WHERE process_id = ?1"
	  " AND " PROCESS_IN_CC("?1", "2") " ORDER BY id LIMIT ?3 OFFSET ?4"),
	S(ST_LEAD_IN_USE, RERUN,
	  "SELECT EXISTS (SELECT 1 FROM campaign_lead WHERE lead_id = l.id)"
	  " FROM lead l WHERE l.id = ?1 AND (?2 = 0 OR l.process_id = ?2)"
	  " AND " LEAD_IN_CC("?1", "3")),
	S(ST_LEAD_DELETE, ONCE,
	  "DELETE FROM lead WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"
	  " AND " LEAD_IN_CC("?1", "3")),

	S(ST_CAMPAIGN_CREATE, ONCE,
	  "INSERT INTO campaign (process_id, name) SELECT ?1, ?2"
	  " WHERE " PROCESS_IN_CC("?1", "3") " RETURNING id, process_id, name"),
	S(ST_CAMPAIGN_GET, RERUN,
	  "SELECT id, process_id, name FROM campaign"
	  " WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"
	  " AND " CAMPAIGN_IN_CC("?1", "3")),
	S(ST_CAMPAIGN_COUNT, RERUN,
	  "SELECT COUNT(*) FROM campaign WHERE process_id = ?1"
	  " AND " PROCESS_IN_CC("?1", "2")),
	S(ST_CAMPAIGN_PAGE, RERUN,
	  "SELECT id, process_id, name FROM campaign WHERE process_id = ?1"
	  " AND " PROCESS_IN_CC("?1", "2") " ORDER BY id LIMIT ?3 OFFSET ?4"),
	/* campaign users, campaign leads and mappings go by cascade */
	S(ST_CAMPAIGN_DELETE, ONCE,
	  "DELETE FROM campaign WHERE id = ?1 AND (?2 = 0 OR process_id = ?2)"
	  " AND " CAMPAIGN_IN_CC("?1", "3")),

	/* only a user of the campaign's own contact center is enrolled, and
	 * only in the caller's (?3) */
	S(ST_CU_ADD, ONCE, CU_ADD_SQL " ON CONFLICT DO NOTHING"),
	S(ST_CU_GET, RERUN,
	  "SELECT " CU_COLS " " CU_FROM
	  "WHERE cu.campaign_id = ?1 AND cu.user_pk = ?2"
	  " AND " CAMPAIGN_IN_CC("?1", "3")),
	S(ST_CU_COUNT, RERUN,
	  "SELECT COUNT(*) FROM campaign_user WHERE campaign_id = ?1"
	  " AND " CAMPAIGN_IN_CC("?1", "2")),
	S(ST_CU_PAGE, RERUN,
	  "SELECT " CU_COLS " " CU_FROM "WHERE cu.campaign_id = ?1"
	  " AND " CAMPAIGN_IN_CC("?1", "2") " ORDER BY cu.id LIMIT ?3 OFFSET ?4"),
	/* its mappings go by cascade */
	S(ST_CU_DELETE, ONCE,
	  "DELETE FROM campaign_user WHERE campaign_id = ?1"
	  " AND user_pk = (SELECT pk FROM users WHERE user_id = ?2)"
	  " AND " CAMPAIGN_IN_CC("?1", "3")),
	/*
	 * A list of userIds, as ST_USER_PK_MANY.  This and the two mapping
	 * statements below run once per element on SQLite, so their tenant
	 * scope is read from the users row the statement reaches anyway: a
	 * campaign user's user is always of the campaign's contact center
	 * (CU_ADD_SQL admits no other), so it is the same check as
	 * CAMPAIGN_IN_CC at one lookup instead of three.
	 */
	S(ST_CU_RESOLVE_MANY, RERUN,
	  "SELECT cu.id FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk"
	  " AND cu.campaign_id = ?2 WHERE u.user_id = ?1"
	  " AND (?3 = 0 OR u.cc_id = ?3)"),

	/* no row inserted: the campaign or the lead is missing, or they belong
	 * to different processes */
	S(ST_CL_ADD, ONCE,
	  "INSERT INTO campaign_lead (campaign_id, lead_id, priority, enabled)"
	  " SELECT c.id, l.id, ?3, ?4 FROM campaign c"
	  " JOIN lead l ON l.process_id = c.process_id"
	  " WHERE c.id = ?1 AND l.id = ?2 AND " CAMPAIGN_IN_CC("?1", "5")
	  " RETURNING id, campaign_id, lead_id, priority, enabled"),
	S(ST_CL_FIND, RERUN,
	  "SELECT " CL_COLS " FROM campaign_lead cl"
	  " WHERE cl.campaign_id = ?1 AND cl.lead_id = ?2"
	  " AND " CAMPAIGN_IN_CC("?1", "3")),
	/* a PUT of one lead's mapping holds its campaign lead, so that PUTs of
	 * the same lead queue instead of interleaving (SQLite's write lock
	 * already covers the whole database; PostgreSQL adds FOR UPDATE) */
	S(ST_CL_HOLD, RERUN, CL_HOLD_SQL),
	S(ST_CL_COUNT, RERUN,
	  "SELECT COUNT(*) FROM campaign_lead WHERE campaign_id = ?1"
	  " AND " CAMPAIGN_IN_CC("?1", "2")),
	S(ST_CL_PAGE, RERUN,
	  "SELECT " CL_COLS " FROM campaign_lead cl WHERE cl.campaign_id = ?1"
	  " AND " CAMPAIGN_IN_CC("?1", "2") " ORDER BY cl.id LIMIT ?3 OFFSET ?4"),
	S(ST_CL_DELETE, ONCE,
	  "DELETE FROM campaign_lead WHERE campaign_id = ?1 AND lead_id = ?2"
	  " AND " CAMPAIGN_IN_CC("?1", "3")),

	/* ?2 is a list of campaign user ids (A_INTS), the text for one element,
	 * which answers nothing (exec_changed(): its change count tells); only
	 * those of the campaign lead's own campaign are mapped.  A backend that
	 * binds lists answers the campaign user ids it changed. */
	/* mapping PUTs, a group of them, in one statement where a round trip
	 * is dear (store_mapping_put_group(); PostgreSQL's is a function,
	 * migration 8): none here, so that SQLite runs the steps as
	 * statements */
	S(ST_MAPPING_PUT_GROUP, ONCE, NULL),
	S(ST_MAP_ADD_MANY, ONCE,
	  "INSERT INTO lead_user (campaign_lead_id, campaign_user_id)"
	  " SELECT cl.id, cu.id FROM campaign_user cu"
	  " JOIN campaign_lead cl ON cl.id = ?1 AND cl.campaign_id = cu.campaign_id"
	  " JOIN users u ON u.pk = cu.user_pk AND (?3 = 0 OR u.cc_id = ?3)"
	  " WHERE cu.id = ?2"
	  " ON CONFLICT DO NOTHING"),
	S(ST_MAP_REMOVE_MANY, ONCE,
	  "DELETE FROM lead_user WHERE campaign_lead_id = ?1"
	  " AND campaign_user_id = ?2 AND (?3 = 0 OR EXISTS (SELECT 1"
	  " FROM campaign_user cu JOIN users u ON u.pk = cu.user_pk"
	  " WHERE cu.id = ?2 AND u.cc_id = ?3))"),
	/* a lead's mapping is two range scans, merged and sorted in C: one
	 * join per user and a sort by the database cost twice as much */
	S(ST_MAP_USERS, RERUN,
	  "SELECT cu.id, u.user_id " CU_FROM "WHERE cu.campaign_id = ?1"
	  " AND " CAMPAIGN_IN_CC("?1", "2")),
	S(ST_MAP_MAPPED, RERUN,
	  "SELECT campaign_user_id FROM lead_user WHERE campaign_lead_id = ?1"
	  " AND " CAMPAIGN_LEAD_IN_CC("?1", "2")),
	/* three shapes of the mapping list, so that each uses its index */
	S(ST_ML_COUNT_CAMPAIGN, RERUN,
	  "SELECT COUNT(*) " CL_SCOPED_FROM
	  "WHERE cl.campaign_id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"),
	S(ST_ML_PAGE_CAMPAIGN, RERUN,
	  "SELECT " CL_COLS " " CL_SCOPED_FROM
	  "WHERE cl.campaign_id = ?1 AND (?2 = 0 OR p.cc_id = ?2)"
	  " ORDER BY cl.id LIMIT ?3 OFFSET ?4"),
	S(ST_ML_COUNT_SCOPE, RERUN,
	  "SELECT COUNT(*) " CL_SCOPED_FROM "WHERE p.cc_id = ?1"),
	S(ST_ML_PAGE_SCOPE, RERUN,
	  "SELECT " CL_COLS " " CL_SCOPED_FROM
	  "WHERE p.cc_id = ?1 ORDER BY cl.id LIMIT ?2 OFFSET ?3"),
	/* every campaign lead has a campaign and a process: no join needed */
	S(ST_ML_COUNT_ALL, RERUN, "SELECT COUNT(*) FROM campaign_lead"),
	S(ST_ML_PAGE_ALL, RERUN,
	  "SELECT " CL_COLS " FROM campaign_lead cl"
	  " ORDER BY cl.id LIMIT ?1 OFFSET ?2"),

	/* ?1..?9 the entry, ?9 its contact center, which ST_CL_HOLD read in
	 * the same transaction (so no join here) */
	S(ST_HISTORY_ADD, ONCE,
	  "INSERT INTO mapping_history (" HISTORY_COLS ")"
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'mapping')"),
	/* mappings that a delete takes with it, one entry per campaign lead
	 * (sql.h): each backend's own */
	S(ST_HISTORY_CU_GONE, ONCE, NULL),
	S(ST_HISTORY_CL_GONE, ONCE, NULL),
	S(ST_HISTORY_USER_GONE, ONCE, NULL),
	S(ST_HISTORY_CAMPAIGN_GONE, ONCE, NULL),
	/* what such a delete locks first, where writers run side by side
	 * (PostgreSQL only: SQLite has one writer): the row that goes, then
	 * what hangs below it (store.c, history_gone()) */
	S(ST_LOCK_CU_GONE, ONCE, NULL),
	S(ST_LOCK_CL_GONE, ONCE, NULL),
	S(ST_LOCK_USER, ONCE, NULL),
	S(ST_LOCK_USER_GONE, ONCE, NULL),
	S(ST_LOCK_CAMPAIGN, ONCE, NULL),
	S(ST_LOCK_CAMPAIGN_GONE, ONCE, NULL),
	S(ST_HISTORY_COUNT, RERUN,
	  "SELECT COUNT(*) FROM mapping_history"
	  " WHERE campaign_id = ?1 AND lead_id = ?2"
	  " AND " CAMPAIGN_IN_CC("?1", "3")),
	S(ST_HISTORY_PAGE, RERUN,
	  "SELECT " FEED_COLS " FROM mapping_history"
	  " WHERE campaign_id = ?1 AND lead_id = ?2"
	  " AND " CAMPAIGN_IN_CC("?1", "3") " ORDER BY id DESC LIMIT ?4 OFFSET ?5"),
	/* the same entries older than entry ?4: the rest of a page that is
	 * sent as it is read (entries never change) */
	S(ST_HISTORY_BEFORE, RERUN,
	  "SELECT " FEED_COLS " FROM mapping_history"
	  " WHERE campaign_id = ?1 AND lead_id = ?2 AND id < ?4"
	  " AND " CAMPAIGN_IN_CC("?1", "3") " ORDER BY id DESC LIMIT ?5"),

	/* the change feed: its head, and events after a cursor (every
	 * contact center's: feed.c filters, so that no index but the
	 * primary key costs a write per event and no read scans unbounded) */
	S(ST_FEED_HEAD, RERUN, "SELECT last, purged FROM change_head WHERE id = 1"),
	/* the caches' one look (store_look, sql.h) */
	S(ST_LOOK, RERUN, LOOK_HEAD("ch.last")),
	/* where a round trip is dear (PostgreSQL's own): in-process, SQLite's
	 * plain look costs less on every hit than a miss's statements do */
	S(ST_LOOK_LEAD, RERUN, NULL),
	/* many looks in one statement (looker.c), plain, and aimed with the
	 * leads' rows: where a round trip is dear, as above; SQLite's look is a
	 * memo or an in-process read */
	S(ST_LOOK_MANY, RERUN, NULL),
	S(ST_LOOK_MANY_ROWS, RERUN, NULL),
	S(ST_EPOCH_BUMP, ONCE, "UPDATE change_head SET epoch = epoch + 1 WHERE id = 1"),
	S(ST_FEED_READ, RERUN,
	  "SELECT " FEED_COLS " FROM mapping_history WHERE id > ?1"
	  " ORDER BY id LIMIT ?2"),
	/* retention: the last of the oldest 1,000 events (after the last
	 * purged, ?1) older than ?2; then everything up to it goes */
	S(ST_FEED_PURGE_FIND, RERUN,
	  "SELECT COALESCE(MAX(id), 0) FROM (SELECT id, changed_at FROM mapping_history"
	  " WHERE id > ?1 ORDER BY id LIMIT 1000) t WHERE changed_at < ?2"),
	S(ST_FEED_PURGE, ONCE, "DELETE FROM mapping_history WHERE id > ?1 AND id <= ?2"),
	S(ST_FEED_PURGED, ONCE,
	  "UPDATE change_head SET purged = ?1 WHERE id = 1 AND purged < ?1"),

	/* the agent's view: every campaign lead user ?1 (of contact center
	 * ?2, within the caller's ?3) is mapped to */
	S(ST_ASSIGN_COUNT, RERUN,
	  "SELECT COUNT(*) FROM users u JOIN campaign_user cu ON cu.user_pk = u.pk"
	  " JOIN lead_user lu ON lu.campaign_user_id = cu.id"
	  " WHERE u.user_id = ?1 AND u.cc_id = ?2 AND (?3 = 0 OR u.cc_id = ?3)"),
	S(ST_ASSIGN_PAGE, RERUN,
	  "SELECT c.id, c.name, c.process_id, l.id, l.name, cl.id, cu.id,"
	  " cl.priority, cl.enabled FROM users u"
	  " JOIN campaign_user cu ON cu.user_pk = u.pk"
	  " JOIN lead_user lu ON lu.campaign_user_id = cu.id"
	  " JOIN campaign_lead cl ON cl.id = lu.campaign_lead_id"
	  " JOIN campaign c ON c.id = cl.campaign_id"
	  " JOIN lead l ON l.id = cl.lead_id"
	  " WHERE u.user_id = ?1 AND u.cc_id = ?2 AND (?3 = 0 OR u.cc_id = ?3)"
	  " ORDER BY c.id, l.id LIMIT ?4 OFFSET ?5"),

	S(ST_TOKEN_ADD, ONCE,
	  "INSERT INTO token (hash, user_pk, context_cc, expires_at)"
	  " VALUES (?1, ?2, ?3, ?4)"),
	S(ST_TOKEN_GET, RERUN,
	  "SELECT t.user_pk, t.context_cc, t.expires_at, u.user_id, u.role,"
	  " (SELECT epoch FROM change_head WHERE id = 1)"
	  " FROM token t JOIN users u ON u.pk = t.user_pk"
	  " WHERE t.hash = ?1 AND t.expires_at > ?2"),
	S(ST_TOKEN_DELETE, ONCE, "DELETE FROM token WHERE hash = ?1"),
	S(ST_TOKEN_DELETE_USER, ONCE,
	  "DELETE FROM token WHERE user_pk ="
	  " (SELECT pk FROM users WHERE user_id = ?1 AND (?2 = 0 OR cc_id = ?2))"),
	S(ST_TOKEN_PURGE, ONCE, "DELETE FROM token WHERE expires_at <= ?1"),
};

#undef S
#undef RERUN
#undef ONCE

const char *sql_text(const struct sql_backend *be, enum stmt id)
{
	if (id <= ST_NONE || id >= ST__COUNT)
		return NULL;
	if (be->sql && be->sql[id])
		return be->sql[id];
	return stmts[id].sql;
}

unsigned sql_flags(enum stmt id)
{
	if (id <= ST_NONE || id >= ST__COUNT)
		return 0;
	return stmts[id].flags;
}

const char *sql_name(enum stmt id)
{
	if (id <= ST_NONE || id >= ST__COUNT || !stmts[id].name)
		return "ST_NONE";
	return stmts[id].name;
}