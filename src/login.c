/*
 * login.c - the token endpoints of API.md §2: POST /cms/configuration/basicauth
 * checks credentials in the body and issues a token; DELETE revokes the token
 * presented.  The checks themselves are auth.c's.
 */
#include "handlers.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "json.h"
#include "xalloc.h"
#include "banned.h"

#define DAY 86400
#define MAX_TOKEN_LIFE (365 * DAY)

/* The login body, validated; strings borrowed from in->body. */
struct login_in {
	const char *user, *pw;
	const char *context;  /* NULL, "ContactCenter" or "System" */
	int64_t context_id;   /* 0: not given */
	int64_t expires;      /* unix seconds */
};

static int parse(const struct request *rq, struct input *in, struct error *err)
{
	struct login_in *l = xcalloc(1, sizeof(*l));
	const char *expiry = NULL;
	int64_t now = (int64_t)time(NULL);
	json_t *cid;

	in->data = l;
	l->expires = now + DAY;
	if (req_body(rq, in, err))
		return RES_FAIL;
	json_get_str(in->body, "username", false, CMS_USERID_MAX, &l->user, err);
	json_get_str(in->body, "password", false, CMS_PASSWORD_MAX, &l->pw, err);
	if (!json_get_str(in->body, "context", true, 32, &l->context, err) && l->context &&
	    strcmp(l->context, "ContactCenter") && strcmp(l->context, "System"))
		error_invalid(err, "context", "must be ContactCenter or System");
	cid = json_object_get(in->body, "contextId");
	if (cid && !json_is_null(cid))
		json_get_id(in->body, "contextId", &l->context_id, err);
	if (!json_get_str(in->body, "dateExpiry", true, 64, &expiry, err) && expiry) {
		if (auth_parse_time(expiry, &l->expires))
			error_invalid(err, "dateExpiry", "must be an RFC 3339 date-time");
		else if (l->expires <= now || l->expires > now + MAX_TOKEN_LIFE)
			error_invalid(err, "dateExpiry", "must be in the future, within 365 days");
	}
	return err->code ? RES_FAIL : RES_OK;
}

/* A verified account of context `system`: its token, as the answer. */
static int issue(const struct request *rq, struct reply *rp, const struct user *u,
		 int64_t expires)
{
	char token[AUTH_TOKEN_LEN + 1], when[32];
	bool system = u->cc_id == 0;
	json_t *res;
	int src = auth_issue_token(rq->store, u->pk, u->cc_id, expires, token);

	if (src)
		return reply_store_error(rp, src, "user", 0);
	auth_format_time(expires, when, sizeof(when));
	res = json_pack("{s:s, s:s, s:s, s:s}", "authToken", token, "tokenType", "Bearer",
			"expiresAt", when, "context", system ? "System" : "ContactCenter");
	sodium_memzero(token, sizeof(token));
	if (!system)
		json_object_set_new(res, "contextId", json_integer(u->cc_id));
	json_object_set_new(res, "userRole", json_string(u->role));
	return reply_json(rp, 200, res);
}

static int login(const struct request *rq, struct reply *rp)
{
	const struct login_in *l = rq->in.data;
	struct auth_outcome why = { 0, 0 };
	struct user u;
	int rc = RES_FAIL;

	memset(&u, 0, sizeof(u));
	switch (auth_verify_login(rq->store, l->user, l->pw, rq->addr, &u, &why)) {
	case AUTH_THROTTLED:
		rp->retry_after = why.retry_after;
		error_set(&rp->err, ERR_TOO_MANY);
		break;
	case AUTH_BUSY: /* not from auth_verify_login; the hashers bound logins */
		error_set(&rp->err, ERR_UNAVAILABLE);
		break;
	case AUTH_STORE_FAILED:
		rc = reply_store_error(rp, why.store_rc, "user", 0);
		break;
	case AUTH_DENIED:
		error_set(&rp->err, ERR_AUTH);
		break;
	case AUTH_OK:
		/* A context that does not match the account fails like a bad password. */
		if ((l->context && strcmp(l->context, u.cc_id ? "ContactCenter" : "System")) ||
		    (l->context_id && l->context_id != u.cc_id))
			error_set(&rp->err, ERR_AUTH);
		else
			rc = issue(rq, rp, &u, l->expires);
		break;
	}
	sodium_memzero(&u, sizeof(u));
	return rc;
}

/* DELETE /cms/configuration/basicauth: revoke the token presented. */
static int logout(const struct request *rq, struct reply *rp)
{
	int rc;

	if (!rq->who.via_token)
		return error_invalid(&rp->err, "Authorization", "present the token to revoke");
	rc = store_token_delete(rq->store, rq->who.token_hash);
	if (rc && rc != STORE_NOT_FOUND)
		return reply_store_error(rp, rc, "token", 0);
	return reply_json(rp, 204, NULL);
}

const struct endpoint login_create[1] = { { parse, login, NULL } };
const struct endpoint login_delete[1] = { { NULL, logout, NULL } };
