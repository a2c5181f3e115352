/*
 * fixture.h - what the pipeline's suites share (test_request.c,
 * test_mapping.c, test_resource.c): a fresh SQLite store with two tenants
 * in a temp directory, one exchange driven through request_admit(),
 * request_run() and reply_finish() with a fake header and query lookup, and
 * readers of the finished answer (test_reply.c uses those alone).
 */
#ifndef UNIT_FIXTURE_H
#define UNIT_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "reply.h"
#include "request.h"

/* ---- answers ---- */

/* The value of response header `name` in a, or NULL; a header sent twice
 * answers NULL too, so that a CHECK on it fails. */
const char *answer_header(const struct answer *a, const char *name);
/* a's body parsed as JSON (new reference), or NULL. */
json_t *answer_json(const struct answer *a);
/* Whether a is the error envelope of `code` with HTTP status `status`: the
 * four keys of API.md §5, statusCode equal to the status sent. */
bool answer_is_error(const struct answer *a, unsigned status, const char *code);
/* Whether details[i] of body (an envelope) is {k1: v1, k2: v2}. */
bool envelope_detail(json_t *body, size_t i, const char *k1, const char *v1, const char *k2,
		     const char *v2);

/* ---- the store ---- */

/* Who calls: a token of each is in the fixture. */
enum who {
	NOBODY = -1,
	SYS = 0, /* the system administrator */
	A_ADMIN, /* contact center A's Administrator */
	A_SUP,   /* A's Supervisor, enrolled in the campaign */
	A_AGENT, /* A's Agent, enrolled in the campaign */
	B_ADMIN, /* contact center B's Administrator */
	NWHO
};

extern const char *const fixture_user_id[NWHO];
#define FIXTURE_PASSWORD "correct horse battery"

/*
 * Contact centers A and B with a process each; in A's process a lead list
 * attached to a campaign whose campaign users are A_SUP and A_AGENT.  The
 * pipeline is set up (request_setup) to use this store.
 */
struct fixture {
	char dir[40];
	struct store *store;
	int64_t cc_a, cc_b, proc_a, proc_b;
	int64_t campaign, lead, campaign_lead; /* in proc_a */
	char token[NWHO][AUTH_TOKEN_LEN + 1];
};

/* Make it all in a new temp directory; 0, or -1 after a failed CHECK. */
int fixture_open(struct fixture *f);
/* Close the store and remove the directory. */
void fixture_close(struct fixture *f);
/* Whether the pipeline honours X-Cmsd-Fault (request_setup's `faults`);
 * fixture_open() turns it off. */
void fixture_faults(bool on);
/* Whether process `id` of contact center cc exists (own read transaction). */
bool fixture_has_process(struct fixture *f, int64_t cc, int64_t id);
/* How many processes contact center cc has (own read transaction). */
int64_t fixture_processes(struct fixture *f, int64_t cc);
/* User user_id of contact center cc (0: of any) into *u (own read
 * transaction); the store_rc. */
int fixture_user(struct fixture *f, int64_t cc, const char *user_id, struct user *u);
/* What store_token_get() says of token now (own read transaction):
 * STORE_OK while it is valid, STORE_NOT_FOUND once revoked.  The token is
 * looked up by its BLAKE2b-256 hash, as auth.h says tokens are stored. */
int fixture_token(struct fixture *f, const char *token);
/* auth_authenticate() of "Bearer <token>" into *who. */
enum auth_result fixture_bearer(struct fixture *f, const char *token, struct principal *who);
/* A new lead list `name` in process proc (own write transaction): its id,
 * or 0 after a failed CHECK. */
int64_t fixture_lead(struct fixture *f, int64_t proc, const char *name);
/* The campaignUserId of user_id in the fixture's campaign, 0 when not
 * enrolled (own read transaction). */
int64_t fixture_enrolled(struct fixture *f, const char *user_id);
/* Map user_id, enrolled in the fixture's campaign, to its campaign lead
 * (own write transaction; CHECKs that it worked). */
void fixture_map(struct fixture *f, const char *user_id);
/* Whether campaign lead cl of the fixture's campaign maps user_id: a
 * mapping row of cl for user_id's enrolment, even when cl itself is gone. */
bool fixture_mapped(struct fixture *f, int64_t cl, const char *user_id);
/* How many changes the fixture lead's history holds in the fixture's
 * campaign; the newest one's unassignedUserIds (JSON text) into
 * unassigned, "" when none. */
int64_t fixture_history(struct fixture *f, char *unassigned, size_t n);

/* ---- one exchange through the pipeline ---- */

#define EX_PAIRS 8

struct exchange {
	struct request rq;
	struct reply rp;
	struct answer a;
	json_t *json;                   /* a's body, parsed; NULL when none */
	const char *kv[2][2 * EX_PAIRS + 1]; /* [0] query, [1] headers: name, value, ..., NULL */
	size_t n[2];
	char path[256], auth[64];
	char *body;
	bool admitted;
};

/* Begin method on the path of printf format `fmt` as `who` (Bearer token;
 * NOBODY: no Authorization). */
void ex_start(struct exchange *x, const struct fixture *f, enum who who, const char *method,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Begin method on the fixture campaign's path (in A's process) followed by
 * `tail` ("/campaign-user", ...). */
void ex_campaign(struct exchange *x, const struct fixture *f, enum who who, const char *method,
		 const char *tail);
void ex_header(struct exchange *x, const char *name, const char *value);
void ex_query(struct exchange *x, const char *name, const char *value);
/* A body of printf format `fmt`, sent as application/json. */
void ex_body(struct exchange *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* request_admit(); true when it let the request through. */
bool ex_admit(struct exchange *x);
/* Admit (unless done), run when admitted, finish the answer, parse its body;
 * returns the status sent. */
unsigned ex_call(struct exchange *x);
/* Whether the answer is the envelope of `code` with `status`. */
bool ex_error(const struct exchange *x, unsigned status, const char *code);
/* Whether details[i] of the answer's envelope names object/id. */
bool ex_missing(const struct exchange *x, size_t i, const char *object, const char *id);
/* Whether details[i] of the answer's envelope is about field `field` (a
 * 400's {"field", "reason"}). */
bool ex_invalid(const struct exchange *x, size_t i, const char *field);
/* Whether the answer is a 400 CONF-1002 whose details[0] is about field
 * `field`. */
bool ex_bad_field(const struct exchange *x, const char *field);
/* Same as ex_missing, for an integer id. */
bool ex_missing_id(const struct exchange *x, size_t i, const char *object, int64_t id);
/* Response header `name`, or NULL. */
const char *ex_hdr(const struct exchange *x, const char *name);
/* Member `key` of the answer's JSON object as an integer (-1 when absent). */
int64_t ex_int(const struct exchange *x, const char *key);
/* Member `key` of the answer's JSON object as a string (NULL when absent
 * or not a string); borrowed from x. */
const char *ex_str(const struct exchange *x, const char *key);
/* Whether the answer is `key`: `value` (a string member). */
bool ex_is(const struct exchange *x, const char *key, const char *value);
/* Free everything of x. */
void ex_end(struct exchange *x);
/* GET of the list at the path of printf format `fmt` as `who`: its
 * X-Total-Count, CHECKed to be 200 and to count the whole array (-1 when
 * absent). */
int64_t ex_listed(const struct fixture *f, enum who who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
