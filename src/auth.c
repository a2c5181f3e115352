/*
 * auth.c - who is calling: parse the Authorization header, check passwords
 * and tokens, and the basicauth endpoints that issue and revoke tokens.
 */
#include "auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "handlers.h"
#include "json.h"
#include "log.h"
#include "throttle.h"
#include "banned.h"

#define DAY 86400
#define MAX_TOKEN_LIFE (365 * DAY)

static unsigned long long opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
static char dummy_hash[crypto_pwhash_STRBYTES];

static const struct {
	const char *name;
	enum role role;
} roles[] = {
	{ "Agent", ROLE_AGENT },
	{ "Supervisor", ROLE_SUPERVISOR },
	{ "Administrator", ROLE_ADMIN },
	{ "System", ROLE_SYSTEM },
};

enum role auth_role(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (!strcmp(roles[i].name, name))
			return roles[i].role;
	return ROLE_NONE;
}

int auth_init(const char *level)
{
	char pw[32];

	if (level && !strcmp(level, "min")) {
		opslimit = crypto_pwhash_OPSLIMIT_MIN;
		memlimit = crypto_pwhash_MEMLIMIT_MIN;
	} else if (level && strcmp(level, "interactive")) {
		return -1;
	}
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, pw, sizeof(pw), opslimit, memlimit))
		return -1;
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

void auth_release(void)
{
	sodium_memzero(dummy_hash, sizeof(dummy_hash));
}

void auth_cred_clear(struct auth_cred *c)
{
	sodium_memzero(c, sizeof(*c));
}

/* Copy the token at s if it has a token's shape; else AUTH_MALFORMED. */
static void take_token(const char *s, struct auth_cred *c)
{
	size_t n = strlen(s);

	if (n == AUTH_TOKEN_LEN &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n) {
		memcpy(c->token, s, n + 1);
		c->kind = AUTH_TOKEN;
	} else {
		c->kind = AUTH_MALFORMED;
	}
}

void auth_parse(const char *h, struct auth_cred *c)
{
	unsigned char dec[CMS_USERID_MAX + 1 + sizeof(c->password)];
	size_t declen = 0;
	const char *colon;

	memset(c, 0, sizeof(*c));
	if (!h) {
		c->kind = AUTH_MISSING;
		return;
	}
	c->kind = AUTH_MALFORMED;
	while (*h == ' ' || *h == '\t')
		h++;
	if (!strncasecmp(h, "Bearer ", 7)) {
		for (h += 7; *h == ' '; h++)
			;
		take_token(h, c);
		return;
	}
	if (strncasecmp(h, "Basic ", 6))
		return;
	for (h += 6; *h == ' '; h++)
		;
	/* A token is 43 characters, never valid padded base64: so anything that
	 * decodes is user:password, anything else may be a token. */
	if (sodium_base642bin(dec, sizeof(dec) - 1, h, strlen(h), NULL, &declen,
			      NULL, sodium_base64_VARIANT_ORIGINAL)) {
		take_token(h, c);
		return;
	}
	dec[declen] = '\0';
	colon = memchr(dec, ':', declen);
	if (colon && strlen((char *)dec) == declen) {
		size_t ulen = (size_t)(colon - (char *)dec);

		if (ulen && ulen <= CMS_USERID_MAX &&
		    declen - ulen - 1 < sizeof(c->password)) {
			memcpy(c->user, dec, ulen);
			memcpy(c->password, colon + 1, declen - ulen - 1);
			c->kind = AUTH_PASSWORD;
		}
	}
	sodium_memzero(dec, sizeof(dec));
}

int auth_hash_password(const char *pw, char *out)
{
	return crypto_pwhash_str(out, pw, strlen(pw), opslimit, memlimit) ? -1 : 0;
}

bool auth_check_password(const char *hash, const char *pw)
{
	bool real = hash && *hash;

	/* Always pay for one verification, so that no answer comes faster. */
	if (crypto_pwhash_str_verify(real ? hash : dummy_hash, pw, strlen(pw)))
		return false;
	return real;
}

int auth_new_user(struct user *u, int64_t cc, const char *user_id,
		  const char *name, const char *role, const char *pw)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->user_id, sizeof(u->user_id), "%s", user_id);
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->role, sizeof(u->role), "%s", role);
	u->cc_id = cc;
	return pw ? auth_hash_password(pw, u->pw_hash) : 0;
}

static void token_hash(const char *token, uint8_t out[CMS_TOKEN_HASH])
{
	crypto_generichash(out, CMS_TOKEN_HASH, (const unsigned char *)token,
			   strlen(token), NULL, 0);
}

int auth_issue_token(struct store *s, int64_t user_pk, int64_t context_cc,
		     int64_t expires_at, char *out)
{
	unsigned char raw[32];
	uint8_t h[CMS_TOKEN_HASH];
	int rc;

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	token_hash(out, h);
	rc = store_token_add(s, h, user_pk, context_cc, expires_at);
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

/* 429 with Retry-After when user or the client's address has failed too
 * often lately; returns -1 then. */
static int throttled(struct request *r, const char *user)
{
	r->retry_after = throttle_begin(user, r->addr);
	return r->retry_after ? error_set(&r->err, ERR_TOO_MANY) : 0;
}

/* auth_check_password, counting the outcome for the throttle. */
static bool checked(struct request *r, const char *user, const char *hash,
		    const char *pw)
{
	bool ok = auth_check_password(hash, pw);

	throttle_end(user, r->addr, ok ? THROTTLE_OK : THROTTLE_FAILED);
	return ok;
}

int auth_authenticate(struct request *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	struct auth_cred c;
	struct user u;
	struct token_info t;
	int rc = -1, src;

	auth_parse(h, &c);
	memset(&r->who, 0, sizeof(r->who));
	if (c.kind == AUTH_PASSWORD) {
		if (throttled(r, c.user))
			goto out;
		src = store_user_get(r->store, 0, c.user, &u);
		if (src != STORE_OK && src != STORE_NOT_FOUND) {
			throttle_end(c.user, r->addr, THROTTLE_VOID);
			goto store_failed;
		}
		if (!checked(r, c.user, src == STORE_OK ? u.pw_hash : NULL, c.password))
			goto denied;
		r->who.role = auth_role(u.role);
		r->who.cc = u.cc_id;
		r->who.user_pk = u.pk;
		memcpy(r->who.user_id, u.user_id, sizeof(u.user_id));
		sodium_memzero(&u, sizeof(u));
	} else if (c.kind == AUTH_TOKEN) {
		token_hash(c.token, r->who.token_hash);
		src = store_token_get(r->store, r->who.token_hash, (int64_t)time(NULL), &t);
		if (src == STORE_NOT_FOUND)
			goto denied;
		if (src != STORE_OK)
			goto store_failed;
		r->who.role = auth_role(t.role);
		r->who.cc = t.context_cc;
		r->who.user_pk = t.user_pk;
		r->who.via_token = true;
		memcpy(r->who.user_id, t.user_id, sizeof(t.user_id));
	} else {
		goto denied;
	}
	if (r->who.role == ROLE_NONE || (r->who.role != ROLE_SYSTEM && !r->who.cc))
		goto denied;
	rc = 0;
	goto out;
store_failed:
	http_store_error(r, src, "user", 0);
	goto out;
denied:
	error_set(&r->err, ERR_AUTH);
out:
	auth_cred_clear(&c);
	return rc;
}

int auth_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	int64_t t;
	int sign, oh, om;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p || strlen(s) < 19 || s[4] != '-' || s[10] != 'T')
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z' && !p[1]) {
		*out = t;
		return 0;
	}
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':' ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
		return -1;
	sign = *p == '+' ? 1 : -1;
	oh = (p[1] - '0') * 10 + (p[2] - '0');
	om = (p[4] - '0') * 10 + (p[5] - '0');
	if (oh > 23 || om > 59)
		return -1;
	*out = t - sign * (oh * 3600 + om * 60);
	return 0;
}

void auth_format_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* POST /cms/configuration/basicauth: credentials in the body, token out. */
int auth_login(struct request *r)
{
	json_t *body = NULL, *res = NULL, *cid;
	const char *user = NULL, *pw = NULL, *context = NULL, *expiry = NULL;
	int64_t context_id = 0, now = (int64_t)time(NULL), expires = now + DAY;
	char token[AUTH_TOKEN_LEN + 1], when[32];
	struct user u;
	bool system;
	int rc = -1, src;

	memset(&u, 0, sizeof(u));
	if (http_body(r, &body))
		goto out;
	json_get_str(body, "username", false, CMS_USERID_MAX, &user, &r->err);
	json_get_str(body, "password", false, 1024, &pw, &r->err);
	if (!json_get_str(body, "context", true, 32, &context, &r->err) && context &&
	    strcmp(context, "ContactCenter") && strcmp(context, "System"))
		error_invalid(&r->err, "context", "must be ContactCenter or System");
	cid = json_object_get(body, "contextId");
	if (cid && !json_is_null(cid))
		json_get_id(body, "contextId", &context_id, &r->err);
	if (!json_get_str(body, "dateExpiry", true, 64, &expiry, &r->err) && expiry) {
		if (auth_parse_time(expiry, &expires))
			error_invalid(&r->err, "dateExpiry", "must be an RFC 3339 date-time");
		else if (expires <= now || expires > now + MAX_TOKEN_LIFE)
			error_invalid(&r->err, "dateExpiry", "must be in the future, within 365 days");
	}
	if (r->err.code || throttled(r, user))
		goto out;

	src = store_user_get(r->store, 0, user, &u);
	if (src != STORE_OK && src != STORE_NOT_FOUND) {
		throttle_end(user, r->addr, THROTTLE_VOID);
		http_store_error(r, src, "user", 0);
		goto out;
	}
	if (!checked(r, user, src == STORE_OK ? u.pw_hash : NULL, pw)) {
		error_set(&r->err, ERR_AUTH);
		goto out;
	}
	/* A context that does not match the account fails like a bad password. */
	system = u.cc_id == 0;
	if ((context && strcmp(context, system ? "System" : "ContactCenter")) ||
	    (context_id && context_id != u.cc_id)) {
		error_set(&r->err, ERR_AUTH);
		goto out;
	}
	src = auth_issue_token(r->store, u.pk, u.cc_id, expires, token);
	if (src) {
		http_store_error(r, src, "user", 0);
		goto out;
	}
	auth_format_time(expires, when, sizeof(when));
	res = json_pack("{s:s, s:s, s:s, s:s}", "authToken", token, "tokenType", "Bearer",
			"expiresAt", when, "context", system ? "System" : "ContactCenter");
	if (!system)
		json_object_set_new(res, "contextId", json_integer(u.cc_id));
	json_object_set_new(res, "userRole", json_string(u.role));
	rc = http_reply(r, 200, res);
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(&u, sizeof(u));
	json_decref(body);
	return rc;
}

/* DELETE /cms/configuration/basicauth: revoke the token presented. */
int auth_logout(struct request *r)
{
	int rc;

	if (!r->who.via_token)
		return error_invalid(&r->err, "Authorization", "present the token to revoke");
	rc = store_token_delete(r->store, r->who.token_hash);
	if (rc && rc != STORE_NOT_FOUND)
		return http_store_error(r, rc, "token", 0);
	return http_reply(r, 204, NULL);
}
