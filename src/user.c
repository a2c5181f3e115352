/*
 * user.c - users of a contact center: /cc/{cc}/user[/{userId}].
 * Passwords are hashed here (argon2id) and never leave: no answer carries the
 * password or its hash.
 */
#include "handlers.h"

#include <sodium.h>
#include <string.h>

#include "auth.h"
#include "json.h"
#include "resource.h"
#include "banned.h"

#define PW_MIN 8
#define PW_MAX 1024

static json_t *user_json(const void *row, const void *arg)
{
	const struct user *u = row;

	(void)arg;
	return json_pack("{s:s, s:s, s:s, s:I}", "userId", u->user_id, "name", u->name, "role",
			 u->role, "contactCenterId", (json_int_t)u->cc_id);
}

/* Validate the optional-or-not fields shared by create and update. */
static void get_fields(struct request *r, json_t *body, bool optional,
		       const char **name, const char **role, const char **pw)
{
	json_get_name(body, "name", optional, name, &r->err);
	if (!json_get_str(body, "role", optional, CMS_ROLE_MAX, role, &r->err) && *role) {
		enum role k = auth_role(*role);

		if (k == ROLE_NONE || k == ROLE_SYSTEM)
			error_invalid(&r->err, "role", "must be Administrator, Supervisor or Agent");
	}
	if (!json_get_str(body, "password", true, PW_MAX, pw, &r->err) && *pw &&
	    strlen(*pw) < PW_MIN)
		error_invalid(&r->err, "password", "must be 8 to 1024 bytes");
}

/* The hash of pw into out (empty when pw is NULL), made by http.c before
 * the transaction (RF_PASSWORD) so that argon2id never holds the store. */
static int hash_into(struct request *r, const char *pw, char *out)
{
	out[0] = '\0';
	if (!pw)
		return 0;
	if (!r->pw_hash[0])
		return error_set(&r->err, ERR_INTERNAL);
	memcpy(out, r->pw_hash, sizeof(r->pw_hash));
	return 0;
}

int user_create(struct request *r)
{
	json_t *body = NULL;
	const char *id = NULL, *name = NULL, *role = NULL, *pw = NULL;
	struct user u;
	int rc = -1, src;

	memset(&u, 0, sizeof(u));
	if (http_body(r, &body))
		goto out;
	if (!json_get_str(body, "userId", false, CMS_USERID_MAX, &id, &r->err) &&
	    !valid_user_id(id))
		error_invalid(&r->err, "userId", "must be 1 to 128 of A-Z a-z 0-9 . _ - @ +");
	get_fields(r, body, false, &name, &role, &pw);
	if (r->err.code || res_check_path(r, r->ids[0], 0, 0, 0))
		goto out;
	auth_new_user(&u, r->ids[0], id, name, role, NULL); /* hashed before: RF_PASSWORD */
	if (hash_into(r, pw, u.pw_hash))
		goto out;
	src = store_user_create(r->store, &u);
	if (src) {
		http_store_error(r, src, "contactCenter", r->ids[0]);
		goto out;
	}
	rc = http_reply(r, 201, user_json(&u, NULL));
out:
	sodium_memzero(&u, sizeof(u));
	json_decref(body);
	return rc;
}

int user_list(struct request *r)
{
	struct store_path chain = { r->ids[0], 0, 0, 0 };

	return res_list(r, &chain, store_user_list, r->ids[0], user_json, NULL);
}

int user_get(struct request *r)
{
	struct user u;
	int rc;

	if (res_check_path(r, r->ids[0], 0, 0, 0))
		return -1;
	rc = store_user_get(r->store, r->ids[0], r->str, &u);
	sodium_memzero(u.pw_hash, sizeof(u.pw_hash));
	if (rc)
		return res_store_error(r, rc, "user", r->str);
	return http_reply(r, 200, user_json(&u, NULL));
}

int user_update(struct request *r)
{
	json_t *body = NULL;
	const char *name = NULL, *role = NULL, *pw = NULL;
	char hash[CMS_HASH_MAX + 1];
	struct user u;
	int rc = -1, src;

	memset(&u, 0, sizeof(u));
	hash[0] = '\0';
	if (http_body(r, &body))
		goto out;
	get_fields(r, body, true, &name, &role, &pw);
	if (!r->err.code && !name && !role && !pw)
		error_invalid(&r->err, "body", "give at least one of name, role, password");
	if (r->err.code || res_check_path(r, r->ids[0], 0, 0, 0) || hash_into(r, pw, hash))
		goto out;
	src = store_user_update(r->store, r->ids[0], r->str, name, role, pw ? hash : NULL);
	if (!src)
		src = store_user_get(r->store, r->ids[0], r->str, &u);
	if (src) {
		res_store_error(r, src, "user", r->str);
		goto out;
	}
	rc = http_reply(r, 200, user_json(&u, NULL));
out:
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(&u, sizeof(u));
	json_decref(body);
	return rc;
}

int user_delete(struct request *r)
{
	int rc;

	if (res_check_path(r, r->ids[0], 0, 0, 0))
		return -1;
	rc = store_user_delete(r->store, r->ids[0], r->str);
	if (rc)
		return res_store_error(r, rc, "user", r->str);
	return http_reply(r, 204, NULL);
}
