/*
 * body.c - libFuzzer harness: a request body, as cmsd's handlers read it.
 *
 * The input is the body of a PUT or POST.  It goes through
 * json_body_object(), which http_body() calls for every handler, and, when it
 * is an object, through the validators of every handler in the order that
 * handler calls them: mapping_put first (src/mapping.c), then the set-up
 * resources, user create/update and login.  Those handlers go on to the store
 * once the body is valid, so the harness repeats their validation steps here
 * instead of calling them; keep the two in step when a handler's validation
 * changes.  Also fed: the step of http.c's prehash() that looks at
 * "password", parse_id() and valid_user_id() on the raw bytes.
 *
 * Properties checked besides "no crash, no leak, no UB":
 *  - every validator returns 0 without adding a detail, or -1 with
 *    ERR_INVALID and exactly one more detail;
 *  - values handed back have the promised shape (ids > 0; strings NUL-free
 *    and within bounds; id lists without repeats, in first-seen order);
 *  - the error envelope an answer would carry serialises, and each detail
 *    has its two keys as strings (a detail with a key dropped would tell a
 *    client nothing);
 *  - parse_id accepts exactly the positive decimal numbers up to INT64_MAX;
 *  - an RFC 3339 time that parses formats and parses back to the same time.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>

#include "auth.h"
#include "errors.h"
#include "json.h"
#include "store.h"
#include "fuzz.h"

/* The limits the handlers use (src/mapping.c MAX_IDS, src/campaign_user.c
 * MAX_USERS, src/user.c PW_MIN/PW_MAX, src/auth.c auth_login). */
#define MAX_IDS 10000
#define MAX_USERS 10000
#define PW_MIN 8
#define PW_MAX 1024

static size_t ndetails(const struct error *e)
{
	return e->details ? json_array_size(e->details) : 0;
}

/* A validator's result against the detail count before it ran. */
static void outcome(int rc, const struct error *e, size_t before)
{
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(ndetails(e) == before);
	} else {
		FUZZ_CHECK(e->code == ERR_INVALID);
		FUZZ_CHECK(ndetails(e) == before + 1);
	}
}

/* The envelope of e serialises, and every detail carries its two keys as
 * strings; then e is cleared for the next handler. */
static void envelope(struct error *e)
{
	json_t *b = error_body(e), *d;
	char *text;
	size_t i;

	FUZZ_CHECK(b != NULL);
	json_array_foreach(e->details, i, d) {
		bool field = json_object_get(d, "field") != NULL;
		bool ok = json_is_object(d) && json_object_size(d) == 2 &&
			  json_is_string(json_object_get(d, field ? "field" : "object")) &&
			  json_is_string(json_object_get(d, field ? "reason" : "id"));

		if (!ok) {
			text = json_dumps(d, JSON_COMPACT);
			FUZZ_NOTE("detail %zu of the answer: %s", i, text ? text : "?");
			free(text);
		}
		FUZZ_CHECK(ok); /* each detail has its two keys, as strings */
	}
	text = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(b);
	error_clear(e);
}

/* s (NULL allowed when may_be_null) is a NUL-free string of 1..max bytes. */
static void bounded(const char *s, size_t max, bool may_be_null)
{
	size_t n;

	if (!s) {
		FUZZ_CHECK(may_be_null);
		return;
	}
	n = strlen(s);
	FUZZ_CHECK(n >= 1 && n <= max);
}

static int get_id(json_t *o, const char *key, int64_t *out, struct error *e)
{
	size_t before = ndetails(e);
	int rc;

	*out = 0;
	rc = json_get_id(o, key, out, e);
	outcome(rc, e, before);
	if (!rc)
		FUZZ_CHECK(*out > 0);
	return rc;
}

static int get_str(json_t *o, const char *key, bool optional, size_t max, const char **out,
		   struct error *e)
{
	size_t before = ndetails(e);
	int rc = json_get_str(o, key, optional, max, out, e);

	outcome(rc, e, before);
	if (!rc)
		bounded(*out, max, optional && !json_object_get(o, key));
	return rc;
}

static int get_name(json_t *o, const char *key, bool optional, const char **out,
		    struct error *e)
{
	size_t before = ndetails(e);
	int rc = json_get_name(o, key, optional, out, e);
	const unsigned char *p;

	outcome(rc, e, before);
	if (!rc) {
		bounded(*out, CMS_NAME_MAX, optional && !json_object_get(o, key));
		for (p = (const unsigned char *)*out; p && *p; p++)
			FUZZ_CHECK(*p >= 0x20 && *p != 0x7f);
	}
	return rc;
}

static int get_strlist(json_t *o, const char *key, size_t max_items, size_t max_len,
		       struct strlist *l, struct error *e)
{
	size_t before = ndetails(e), i, j;
	int rc = json_get_strlist(o, key, max_items, max_len, l, e);

	outcome(rc, e, before);
	if (rc) {
		FUZZ_CHECK(l->v == NULL && l->n == 0);
		return rc;
	}
	FUZZ_CHECK(l->n <= json_array_size(json_object_get(o, key)) && l->n <= max_items);
	for (i = 0; i < l->n; i++) {
		bounded(l->v[i], max_len, false);
		for (j = 0; j < i && l->n <= 256; j++)
			FUZZ_CHECK(strcmp(l->v[i], l->v[j]) != 0);
	}
	return rc;
}

/* PUT /voice/campaignLeadUserMapping: mapping_put up to its first store call. */
static void mapping_put(json_t *body)
{
	struct error e = ERROR_INIT;
	struct strlist as = STRLIST_INIT, un = STRLIST_INIT;
	struct strset *seen = NULL;
	int64_t lead = 0, campaign = 0;
	size_t i;

	get_id(body, "leadId", &lead, &e);
	get_id(body, "campaignId", &campaign, &e);
	get_strlist(body, "assignedUserIds", MAX_IDS, CMS_USERID_MAX, &as, &e);
	get_strlist(body, "unassignedUserIds", MAX_IDS, CMS_USERID_MAX, &un, &e);
	if (e.code)
		goto out;
	seen = strset_new(as.n);
	for (i = 0; i < as.n; i++)
		FUZZ_CHECK(strset_add(seen, as.v[i])); /* the list has no repeats */
	for (i = 0; i < un.n; i++) {
		char reason[CMS_USERID_MAX + 40];

		if (!strset_has(seen, un.v[i]))
			continue;
		snprintf(reason, sizeof(reason), "%s is also in assignedUserIds", un.v[i]);
		error_invalid(&e, "unassignedUserIds", reason);
	}
	if (e.code)
		error_set(&e, ERR_BOTH);
	else
		FUZZ_CHECK(lead > 0 && campaign > 0);
out:
	strset_free(seen);
	strlist_release(&as);
	strlist_release(&un);
	envelope(&e);
}

/* user.c get_fields(): the fields shared by user create and update. */
static void user_fields(json_t *body, bool optional, struct error *e, const char **name,
			const char **role, const char **pw)
{
	get_name(body, "name", optional, name, e);
	if (!get_str(body, "role", optional, CMS_ROLE_MAX, role, e) && *role) {
		enum role k = auth_role(*role);

		if (k == ROLE_NONE || k == ROLE_SYSTEM)
			error_invalid(e, "role", "must be Administrator, Supervisor or Agent");
	}
	if (!get_str(body, "password", true, PW_MAX, pw, e) && *pw && strlen(*pw) < PW_MIN)
		error_invalid(e, "password", "must be 8 to 1024 bytes");
}

/* POST /cc/{cc}/user and PUT /cc/{cc}/user/{userId}. */
static void users(json_t *body)
{
	struct error e = ERROR_INIT;
	const char *id = NULL, *name = NULL, *role = NULL, *pw = NULL;

	if (!get_str(body, "userId", false, CMS_USERID_MAX, &id, &e) && !valid_user_id(id))
		error_invalid(&e, "userId", "must be 1 to 128 of A-Z a-z 0-9 . _ - @ +");
	user_fields(body, false, &e, &name, &role, &pw);
	envelope(&e);

	name = role = pw = NULL;
	user_fields(body, true, &e, &name, &role, &pw);
	if (!e.code && !name && !role && !pw)
		error_invalid(&e, "body", "give at least one of name, role, password");
	envelope(&e);
}

/* POST of a contact center, process, lead list, campaign, campaign users and
 * campaign lead. */
static void setup_resources(json_t *body)
{
	static const char *const names[] = { "name", "processName", "leadName", "campaignName" };
	struct error e = ERROR_INIT;
	struct strlist ids = STRLIST_INIT;
	const char *name;
	int64_t lead;
	json_t *v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		get_name(body, names[i], false, &name, &e);
		envelope(&e);
	}
	get_strlist(body, "userIds", MAX_USERS, CMS_USERID_MAX, &ids, &e);
	strlist_release(&ids);
	envelope(&e);

	/* campaign_lead_add */
	get_id(body, "leadId", &lead, &e);
	v = json_object_get(body, "priority");
	if (v && !(json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 1000))
		error_invalid(&e, "priority", "must be an integer from 1 to 1000");
	v = json_object_get(body, "enabled");
	if (v && !json_is_boolean(v))
		error_invalid(&e, "enabled", "must be true or false");
	envelope(&e);
}

/* auth_login() up to the throttle: username, password, context, contextId,
 * dateExpiry. */
static void login(json_t *body)
{
	struct error e = ERROR_INIT;
	const char *user = NULL, *pw = NULL, *context = NULL, *expiry = NULL;
	int64_t context_id = 0, t, back;
	char when[32];
	json_t *cid;

	get_str(body, "username", false, CMS_USERID_MAX, &user, &e);
	get_str(body, "password", false, 1024, &pw, &e);
	if (!get_str(body, "context", true, 32, &context, &e) && context &&
	    strcmp(context, "ContactCenter") && strcmp(context, "System"))
		error_invalid(&e, "context", "must be ContactCenter or System");
	cid = json_object_get(body, "contextId");
	if (cid && !json_is_null(cid))
		get_id(body, "contextId", &context_id, &e);
	if (!get_str(body, "dateExpiry", true, 64, &expiry, &e) && expiry &&
	    !auth_parse_time(expiry, &t)) {
		auth_format_time(t, when, sizeof(when));
		if (strlen(when) == 20) /* a four-digit year */
			FUZZ_CHECK(!auth_parse_time(when, &back) && back == t);
	}
	envelope(&e);
}

/* http.c prehash(): the body parsed leniently, "password" looked at. */
static void prehash(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, 0, NULL);
	json_t *pw = json_object_get(body, "password");
	size_t n = json_string_length(pw);

	if (json_is_string(pw) && n >= 8 && n <= 1024)
		FUZZ_CHECK(json_string_value(pw) != NULL);
	json_decref(body);
}

/* parse_id() and valid_user_id() on the raw text. */
static void raw_text(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), buf[24];
	const char *digits = s;
	int64_t v = 0;

	if (!parse_id(s, &v)) {
		FUZZ_CHECK(v > 0);
		while (*digits == '0')
			digits++;
		snprintf(buf, sizeof(buf), "%" PRId64, v);
		FUZZ_CHECK(!strcmp(buf, digits));
	} else if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 19) {
		/* all digits and short enough to fit: only zero may be refused */
		FUZZ_CHECK(strspn(s, "0") == strlen(s));
	}
	if (valid_user_id(s))
		FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= CMS_USERID_MAX);
	free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error e = ERROR_INIT;
	json_t *body = NULL;
	int rc;

	/* the harness's own buffer: exactly size bytes, no NUL after them */
	rc = json_body_object((const char *)data, size, &body, &e);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc) {
		FUZZ_CHECK(body == NULL && e.code == ERR_INVALID && ndetails(&e) == 1);
		envelope(&e);
	} else {
		FUZZ_CHECK(json_is_object(body) && !e.code);
		mapping_put(body);
		setup_resources(body);
		users(body);
		login(body);
		json_decref(body);
	}
	prehash(data, size);
	if (size < 64)
		raw_text(data, size);
	return 0;
}
