/*
 * user.c - users of a contact center: /cc/{cc}/user[/{userId}].
 * Passwords are hashed here (argon2id) in the parse step, before the store
 * transaction, so that argon2id never holds the store; they never leave: no
 * answer carries the password or its hash.
 */
#include "handlers.h"

#include <sodium.h>
#include <string.h>

#include "auth.h"
#include "json.h"
#include "resource.h"
#include "xalloc.h"
#include "banned.h"

/* The typed input of create and update; strings borrowed from in->body. */
struct user_in {
	const char *id, *name, *role, *pw; /* NULL: not given */
	char hash[CMS_HASH_MAX + 1];       /* of pw; "" when pw is NULL */
};

static json_t *user_json(const void *row, const void *arg)
{
	const struct user *u = row;

	(void)arg;
	return json_pack("{s:s, s:s, s:s, s:I}", "userId", u->user_id, "name", u->name, "role",
			 u->role, "contactCenterId", (json_int_t)u->cc_id);
}

static void user_in_free(void *p)
{
	sodium_memzero(p, sizeof(struct user_in));
	free(p);
}

/*
 * Validate the fields shared by create and update (required unless
 * `optional`), then hash the password if one was given.
 */
static int parse_fields(const struct request *rq, struct input *in, struct error *err,
			bool create)
{
	struct user_in *u = xcalloc(1, sizeof(*u));

	in->data = u;
	in->free_data = user_in_free;
	if (req_body(rq, in, err))
		return RES_FAIL;
	if (create && !json_get_str(in->body, "userId", false, CMS_USERID_MAX, &u->id, err) &&
	    !valid_user_id(u->id))
		error_invalid(err, "userId", "must be 1 to 128 of A-Z a-z 0-9 . _ - @ +");
	json_get_name(in->body, "name", !create, &u->name, err);
	if (!json_get_str(in->body, "role", !create, CMS_ROLE_MAX, &u->role, err) && u->role) {
		enum role k = auth_role(u->role);

		if (k == ROLE_NONE || k == ROLE_SYSTEM)
			error_invalid(err, "role", "must be Administrator, Supervisor or Agent");
	}
	if (!json_get_str(in->body, "password", true, CMS_PASSWORD_MAX, &u->pw, err) && u->pw &&
	    strlen(u->pw) < CMS_PASSWORD_MIN)
		error_invalid(err, "password", "must be 8 to 1024 bytes");
	if (!create && !err->code && !u->name && !u->role && !u->pw)
		error_invalid(err, "body", "give at least one of name, role, password");
	if (err->code)
		return RES_FAIL;
	if (u->pw && auth_hash_password(u->pw, u->hash))
		return error_set(err, ERR_INTERNAL);
	return RES_OK;
}

static int parse_create(const struct request *rq, struct input *in, struct error *err)
{
	return parse_fields(rq, in, err, true);
}

static int parse_update(const struct request *rq, struct input *in, struct error *err)
{
	return parse_fields(rq, in, err, false);
}

static int create(const struct request *rq, struct reply *rp)
{
	const struct user_in *in = rq->in.data;
	struct user u;
	int rc;

	auth_new_user(&u, rq->ids.cc, in->id, in->name, in->role, NULL); /* hashed in parse */
	memcpy(u.pw_hash, in->hash, sizeof(u.pw_hash));
	rc = store_user_create(rq->store, &u);
	rc = rc ? reply_store_error(rp, rc, "contactCenter", rq->ids.cc) :
		  reply_json(rp, 201, user_json(&u, NULL));
	sodium_memzero(&u, sizeof(u));
	return rc;
}

static int list(const struct request *rq, struct reply *rp)
{
	return res_list(rq, rp, store_user_list, rq->ids.cc, user_json, NULL);
}

static int get(const struct request *rq, struct reply *rp)
{
	struct user u;
	int rc = store_user_get(rq->store, rq->ids.cc, rq->ids.user, &u);

	sodium_memzero(u.pw_hash, sizeof(u.pw_hash));
	if (rc)
		return reply_store_error_str(rp, rc, "user", rq->ids.user);
	return reply_json(rp, 200, user_json(&u, NULL));
}

static int update(const struct request *rq, struct reply *rp)
{
	const struct user_in *in = rq->in.data;
	struct user u;
	int rc;

	memset(&u, 0, sizeof(u));
	rc = store_user_update(rq->store, rq->ids.cc, rq->ids.user, in->name, in->role,
			       in->pw ? in->hash : NULL);
	if (!rc)
		rc = store_user_get(rq->store, rq->ids.cc, rq->ids.user, &u);
	rc = rc ? reply_store_error_str(rp, rc, "user", rq->ids.user) :
		  reply_json(rp, 200, user_json(&u, NULL));
	sodium_memzero(&u, sizeof(u));
	return rc;
}

static int del(const struct request *rq, struct reply *rp)
{
	int rc = store_user_delete(rq->store, rq->ids.cc, rq->ids.user);

	if (rc)
		return reply_store_error_str(rp, rc, "user", rq->ids.user);
	return reply_json(rp, 204, NULL);
}

const struct endpoint user_create[1] = { { parse_create, create, NULL } };
const struct endpoint user_list[1] = { { res_parse_page, list, NULL } };
const struct endpoint user_get[1] = { { NULL, get, NULL } };
const struct endpoint user_update[1] = { { parse_update, update, NULL } };
const struct endpoint user_delete[1] = { { NULL, del, NULL } };
