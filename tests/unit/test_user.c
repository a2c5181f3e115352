/*
 * test_user.c - the user endpoints of user.c, driven through the pipeline
 * with a real store by contact center A's Administrator: a create echoes
 * the user but never its password or hash, and stores a hash that verifies;
 * each bad field is refused by name; a userId is unique across every
 * contact center; a new password revokes the user's tokens; a missing user
 * is named in the 404.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "unit.h"

void suite_user(void);

#define NEW_PASSWORD "a new password"

/* method on A's user collection (user NULL) or on user `user`, by A's
 * Administrator, with JSON body `body` (NULL: none); leaves the answer in x
 * for the caller to check and end.  Returns the status sent. */
static unsigned user_call(struct exchange *x, const struct fixture *f, const char *method,
			  const char *user, const char *body)
{
	if (user)
		ex_start(x, f, A_ADMIN, method, "/cms/configuration/cc/%lld/user/%s",
			 (long long)f->cc_a, user);
	else
		ex_start(x, f, A_ADMIN, method, "/cms/configuration/cc/%lld/user",
			 (long long)f->cc_a);
	if (body)
		ex_body(x, "%s", body);
	return ex_call(x);
}

/* Whether the answer is user `id` of A with `name` and `role`, and nothing
 * else: no password, no hash, under any name. */
static bool is_user(const struct exchange *x, const struct fixture *f, const char *id,
		    const char *name, const char *role)
{
	return json_object_size(x->json) == 4 && ex_is(x, "userId", id) && ex_is(x, "name", name) &&
	       ex_is(x, "role", role) && ex_int(x, "contactCenterId") == f->cc_a &&
	       !strstr(x->a.body, "$argon2") && !strstr(x->a.body, NEW_PASSWORD);
}

static void create_echoes(void)
{
	struct fixture f;
	struct exchange x;
	struct user u;

	if (fixture_open(&f))
		return;
	CHECK(user_call(&x, &f, "POST", NULL,
			"{\"userId\":\"new.agent@x\",\"name\":\"New Agent\",\"role\":\"Agent\","
			"\"password\":\"" NEW_PASSWORD "\"}") == 201);
	CHECK(is_user(&x, &f, "new.agent@x", "New Agent", "Agent"));
	ex_end(&x);

	CHECK(fixture_user(&f, f.cc_a, "new.agent@x", &u) == STORE_OK);
	CHECK(!strncmp(u.pw_hash, "$argon2id$", 10));
	CHECK(auth_check_password(u.pw_hash, NEW_PASSWORD));
	CHECK(!auth_check_password(u.pw_hash, FIXTURE_PASSWORD));

	/* read back, again without the hash */
	CHECK(user_call(&x, &f, "GET", "new.agent@x", NULL) == 200);
	CHECK(is_user(&x, &f, "new.agent@x", "New Agent", "Agent"));
	ex_end(&x);

	/* a password is optional: such a user cannot log in */
	CHECK(user_call(&x, &f, "POST", NULL,
			"{\"userId\":\"nopw\",\"name\":\"No Password\",\"role\":\"Supervisor\"}") ==
	      201);
	CHECK(is_user(&x, &f, "nopw", "No Password", "Supervisor"));
	ex_end(&x);
	CHECK(fixture_user(&f, f.cc_a, "nopw", &u) == STORE_OK && u.pw_hash[0] == '\0');
	fixture_close(&f);
}

/* A create of `body` is refused 400, details[0] naming `field`, and user
 * "u1" is not there afterwards. */
static void create_refused(struct fixture *f, const char *body, const char *field)
{
	struct exchange x;
	struct user u;

	CHECK(user_call(&x, f, "POST", NULL, body) == 400);
	CHECK(ex_bad_field(&x, field));
	CHECK(json_array_size(json_object_get(x.json, "details")) == 1);
	ex_end(&x);
	CHECK(fixture_user(f, 0, "u1", &u) == STORE_NOT_FOUND);
}

static void create_invalid(void)
{
	struct fixture f;

	if (fixture_open(&f))
		return;
	create_refused(&f, "{\"userId\":\"u1 x\",\"name\":\"N\",\"role\":\"Agent\"}", "userId");
	create_refused(&f, "{\"userId\":\"u1/\",\"name\":\"N\",\"role\":\"Agent\"}", "userId");
	create_refused(&f, "{\"name\":\"N\",\"role\":\"Agent\"}", "userId");
	create_refused(&f, "{\"userId\":\"u1\",\"name\":\"N\",\"role\":\"System\"}", "role");
	create_refused(&f, "{\"userId\":\"u1\",\"name\":\"N\",\"role\":\"Boss\"}", "role");
	create_refused(&f, "{\"userId\":\"u1\",\"name\":\"N\",\"role\":\"Agent\",\"password\":\"7chars!\"}",
		       "password");
	create_refused(&f, "{\"userId\":\"u1\",\"role\":\"Agent\"}", "name");
	create_refused(&f, "{\"userId\":\"u1\",\"name\":\"\",\"role\":\"Agent\"}", "name");
	create_refused(&f, "{\"userId\":\"u1\",\"name\":\"N\"}", "role");
	fixture_close(&f);
}

/* A userId is unique across contact centers, the system administrator's
 * included; the existing user stays as it was. */
static void create_duplicate(void)
{
	static const char *const taken[] = { "a_agent", "b_admin", "root" };
	struct fixture f;
	struct exchange x;
	struct user u;
	char body[128];
	size_t i;

	if (fixture_open(&f))
		return;
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"userId\":\"%s\",\"name\":\"Again\",\"role\":\"Agent\"}", taken[i]);
		CHECK(user_call(&x, &f, "POST", NULL, body) == 409);
		CHECK(ex_error(&x, 409, "CONF-1004"));
		ex_end(&x);
		CHECK(fixture_user(&f, 0, taken[i], &u) == STORE_OK);
		CHECK(!strcmp(u.name, taken[i]));
	}
	CHECK(fixture_user(&f, 0, "b_admin", &u) == STORE_OK && u.cc_id == f.cc_b);
	fixture_close(&f);
}

static void update_fields(void)
{
	struct fixture f;
	struct exchange x;

	if (fixture_open(&f))
		return;
	CHECK(user_call(&x, &f, "PUT", "a_agent", "{}") == 400);
	CHECK(ex_bad_field(&x, "body"));
	ex_end(&x);
	CHECK(user_call(&x, &f, "PUT", "a_agent", "{\"role\":\"System\"}") == 400);
	CHECK(ex_bad_field(&x, "role"));
	ex_end(&x);
	CHECK(user_call(&x, &f, "PUT", "a_agent", "{\"password\":\"short\"}") == 400);
	CHECK(ex_bad_field(&x, "password"));
	ex_end(&x);

	/* one field changes that field alone, and keeps the tokens */
	CHECK(user_call(&x, &f, "PUT", "a_agent", "{\"name\":\"Renamed\"}") == 200);
	CHECK(is_user(&x, &f, "a_agent", "Renamed", "Agent"));
	ex_end(&x);
	CHECK(user_call(&x, &f, "PUT", "a_agent", "{\"role\":\"Supervisor\"}") == 200);
	CHECK(is_user(&x, &f, "a_agent", "Renamed", "Supervisor"));
	ex_end(&x);
	CHECK(fixture_token(&f, f.token[A_AGENT]) == STORE_OK);
	fixture_close(&f);
}

/* A new password revokes every token of the user, and only of that user. */
static void update_password_revokes(void)
{
	struct fixture f;
	struct exchange x;
	struct user u;

	if (fixture_open(&f))
		return;
	CHECK(fixture_token(&f, f.token[A_AGENT]) == STORE_OK);
	CHECK(user_call(&x, &f, "PUT", "a_agent", "{\"password\":\"" NEW_PASSWORD "\"}") == 200);
	CHECK(is_user(&x, &f, "a_agent", "a_agent", "Agent"));
	ex_end(&x);
	CHECK(fixture_token(&f, f.token[A_AGENT]) == STORE_NOT_FOUND);
	CHECK(fixture_token(&f, f.token[A_SUP]) == STORE_OK);
	CHECK(fixture_user(&f, f.cc_a, "a_agent", &u) == STORE_OK);
	CHECK(auth_check_password(u.pw_hash, NEW_PASSWORD));
	CHECK(!auth_check_password(u.pw_hash, FIXTURE_PASSWORD));
	fixture_close(&f);
}

/* A missing user, or another tenant's, is named in the 404. */
static void missing_user(void)
{
	static const char *const methods[] = { "GET", "PUT", "DELETE" };
	static const char *const users[] = { "ghost", "b_admin" };
	struct fixture f;
	struct exchange x;
	size_t m, i;

	if (fixture_open(&f))
		return;
	for (m = 0; m < 3; m++)
		for (i = 0; i < 2; i++) {
			CHECK(user_call(&x, &f, methods[m], users[i],
					m == 1 ? "{\"name\":\"x\"}" : NULL) == 404);
			CHECK(ex_error(&x, 404, "CONF-1001") && ex_missing(&x, 0, "user", users[i]));
			ex_end(&x);
		}
	CHECK(fixture_token(&f, f.token[B_ADMIN]) == STORE_OK);
	fixture_close(&f);
}

/* A delete takes the user's tokens and enrolments with it. */
static void delete_user(void)
{
	struct fixture f;
	struct exchange x;
	struct user u;

	if (fixture_open(&f))
		return;
	CHECK(fixture_enrolled(&f, "a_agent") > 0);
	CHECK(user_call(&x, &f, "DELETE", "a_agent", NULL) == 204);
	CHECK(x.a.len == 0);
	ex_end(&x);
	CHECK(fixture_user(&f, 0, "a_agent", &u) == STORE_NOT_FOUND);
	CHECK(fixture_token(&f, f.token[A_AGENT]) == STORE_NOT_FOUND);
	CHECK(fixture_enrolled(&f, "a_agent") == 0);
	CHECK(user_call(&x, &f, "DELETE", "a_agent", NULL) == 404);
	CHECK(ex_missing(&x, 0, "user", "a_agent"));
	ex_end(&x);
	fixture_close(&f);
}

void suite_user(void)
{
	static const struct unit_test tests[] = {
		{ "create_echoes", create_echoes },
		{ "create_invalid", create_invalid },
		{ "create_duplicate", create_duplicate },
		{ "update_fields", update_fields },
		{ "update_password_revokes", update_password_revokes },
		{ "missing_user", missing_user },
		{ "delete_user", delete_user },
	};

	unit_run("user", tests, sizeof(tests) / sizeof(tests[0]));
}
