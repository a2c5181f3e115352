/*
 * auth.c - who is calling: parse the Authorization header, check passwords
 * and tokens.  It takes header values and returns results; the endpoints
 * that issue and revoke tokens are in login.c.
 */
#include "auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cache.h"
#include "throttle.h"
#include "banned.h"

static unsigned long long opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
static char dummy_hash[crypto_pwhash_STRBYTES];
static atomic_uint header_checks, header_checks_max; /* auth_bound_header_checks() */

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

const char *auth_role_name(enum role role)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == role)
			return roles[i].name;
	return "none";
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

void auth_bound_header_checks(unsigned n)
{
	atomic_store(&header_checks_max, n);
}

/* A Basic header's password check, within auth_bound_header_checks(). */
static enum auth_result header_login(struct store *s, const struct auth_cred *c,
				     const char *addr, struct user *u, struct auth_outcome *why)
{
	unsigned max = atomic_load(&header_checks_max);
	enum auth_result rc;

	if (max && atomic_fetch_add(&header_checks, 1) >= max) {
		atomic_fetch_sub(&header_checks, 1);
		why->retry_after = 1;
		return AUTH_BUSY;
	}
	rc = auth_verify_login(s, c->user, c->password, addr, u, why);
	if (max)
		atomic_fetch_sub(&header_checks, 1);
	return rc;
}

enum auth_result auth_verify_login(struct store *s, const char *user, const char *pw,
				   const char *addr, struct user *u, struct auth_outcome *why)
{
	int src;
	bool ok;

	why->retry_after = throttle_begin(user, addr);
	if (why->retry_after)
		return AUTH_THROTTLED;
	src = store_user_get(s, 0, user, u);
	if (src != STORE_OK && src != STORE_NOT_FOUND) {
		throttle_end(user, addr, THROTTLE_VOID);
		why->store_rc = src;
		return AUTH_STORE_FAILED;
	}
	/* an unknown user costs one verification too (auth_check_password) */
	ok = auth_check_password(src == STORE_OK ? u->pw_hash : NULL, pw);
	throttle_end(user, addr, ok ? THROTTLE_OK : THROTTLE_FAILED);
	return ok ? AUTH_OK : AUTH_DENIED;
}

bool auth_is_token(const char *header)
{
	struct auth_cred c;
	bool token;

	auth_parse(header, &c);
	token = c.kind == AUTH_TOKEN;
	auth_cred_clear(&c);
	return token;
}

/*
 * The token with hash h, unexpired: from the cache when it holds it at the
 * epoch of look lk (the request's one look at the store, taken here when
 * not yet), else from the store, then kept.  lk NULL: from the store.  With
 * `defer`, whatever the cache holds, *deferred set: t->epoch says as of
 * when, for the caller to check later.
 */
static struct cache_key token_key(const uint8_t h[CMS_TOKEN_HASH])
{
	struct cache_key key = cache_key(CACHE_TOKEN, 0, 0, 0, 0);

	_Static_assert(sizeof(key.v) == CMS_TOKEN_HASH, "a token's hash is a cache key's four numbers");
	memcpy(key.v, h, sizeof(key.v));
	return key;
}

bool auth_token_held(const char *header)
{
	struct auth_cred c;
	struct cache_key key;
	struct token_info t;
	uint8_t h[CMS_TOKEN_HASH];
	bool held = false;

	auth_parse(header, &c);
	if (c.kind == AUTH_TOKEN) {
		token_hash(c.token, h);
		key = token_key(h);
		held = cache_peek(&key, &t, sizeof(t)) == (long)sizeof(t);
		sodium_memzero(&t, sizeof(t));
		sodium_memzero(h, sizeof(h));
	}
	auth_cred_clear(&c);
	return held;
}

static int token_get(struct store *s, const uint8_t h[CMS_TOKEN_HASH], struct store_look *lk,
		     bool defer, struct token_info *t, bool *deferred)
{
	struct cache_key key = token_key(h);
	int64_t now = (int64_t)time(NULL);
	int rc;

	*deferred = false;
	if (defer && cache_peek(&key, t, sizeof(*t)) == (long)sizeof(*t)) {
		*deferred = true;
		return t->expires_at > now ? STORE_OK : STORE_NOT_FOUND;
	}
	if (lk && cache_enabled()) {
		/* a token the cache has never seen (perhaps a made-up one): its
		 * look reads no lead's rows, which the caller may not be let
		 * near; the request then reads its answer itself */
		if (!lk->done && cache_peek(&key, t, sizeof(*t)) != (long)sizeof(*t))
			lk->campaign = lk->lead = 0;
		if ((rc = store_look(s, lk)))
			return rc;
		if (cache_get(&key, lk->epoch, 0, t, sizeof(*t)) == (long)sizeof(*t))
			return t->expires_at > now ? STORE_OK : STORE_NOT_FOUND;
	}
	rc = store_token_get(s, h, now, t);
	if (rc == STORE_OK && lk)
		cache_put(&key, t->epoch, 0, t, sizeof(*t)); /* read at its own epoch */
	return rc;
}

enum auth_result auth_authenticate(struct store *s, const char *header, const char *addr,
				   struct store_look *lk, bool defer, struct principal *who,
				   struct auth_outcome *why)
{
	struct auth_cred c;
	struct user u;
	struct token_info t;
	enum auth_result rc = AUTH_DENIED;
	int src;

	auth_parse(header, &c);
	memset(who, 0, sizeof(*who));
	memset(&u, 0, sizeof(u));
	if (c.kind == AUTH_PASSWORD) {
		rc = header_login(s, &c, addr, &u, why);
		if (rc != AUTH_OK)
			goto out;
		who->role = auth_role(u.role);
		who->cc = u.cc_id;
		who->user_pk = u.pk;
		memcpy(who->user_id, u.user_id, sizeof(u.user_id));
	} else if (c.kind == AUTH_TOKEN) {
		token_hash(c.token, who->token_hash);
		src = token_get(s, who->token_hash, lk, defer, &t, &who->deferred);
		if (src == STORE_NOT_FOUND)
			goto out;
		if (src != STORE_OK) {
			why->store_rc = src;
			rc = AUTH_STORE_FAILED;
			goto out;
		}
		who->role = auth_role(t.role);
		who->cc = t.context_cc;
		who->user_pk = t.user_pk;
		who->via_token = true;
		who->epoch = t.epoch;
		memcpy(who->user_id, t.user_id, sizeof(t.user_id));
	} else {
		goto out;
	}
	rc = who->role == ROLE_NONE || (who->role != ROLE_SYSTEM && !who->cc) ? AUTH_DENIED :
									       AUTH_OK;
out:
	if (rc != AUTH_OK)
		sodium_memzero(who, sizeof(*who));
	sodium_memzero(&u, sizeof(u));
	auth_cred_clear(&c);
	return rc;
}

int auth_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	int64_t t;
	int sign, oh, om;

	char up[64];
	size_t n = strlen(s);

	/* RFC 3339 5.6 allows 't' and 'z' in lower case (ABNF strings are
	 * case-insensitive): read a copy with both in upper case */
	if (n < 19 || n >= sizeof(up))
		return -1;
	memcpy(up, s, n + 1);
	if (up[10] == 't')
		up[10] = 'T';
	if (up[n - 1] == 'z')
		up[n - 1] = 'Z';
	s = up;
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p || s[4] != '-' || s[10] != 'T')
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
