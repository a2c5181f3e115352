/*
 * auth.h - credentials: the Authorization header, passwords and tokens.
 *
 * Passwords are argon2id hashes (libsodium crypto_pwhash_str).  Tokens are 32
 * random bytes sent as unpadded base64url and stored only as their BLAKE2b-256
 * hash, so a copy of the database grants nothing.
 */
#ifndef CMSD_AUTH_H
#define CMSD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define AUTH_TOKEN_LEN CMS_TOKEN_LEN /* base64url of 32 bytes, no padding */

enum role {
	ROLE_NONE = 0,   /* no credentials needed */
	ROLE_AGENT,      /* read */
	ROLE_SUPERVISOR, /* read, mappings, campaign users */
	ROLE_ADMIN,      /* everything in its contact center */
	ROLE_SYSTEM      /* everything everywhere */
};

/* Who is calling, once authenticated. */
struct principal {
	enum role role;
	int64_t cc;      /* the caller's contact center; 0 for the system administrator */
	int64_t user_pk;
	bool via_token;  /* credentials were a token (hash below) */
	bool deferred;   /* the token came from the cache unchecked, as of `epoch` */
	int64_t epoch;
	uint8_t token_hash[CMS_TOKEN_HASH];
	char user_id[CMS_USERID_MAX + 1];
};

/* How a check of credentials ended. */
enum auth_result {
	AUTH_OK = 0,
	AUTH_DENIED,       /* 401: missing, malformed, unknown, wrong, expired */
	AUTH_THROTTLED,    /* 429: too many failures lately (*retry_after set) */
	AUTH_BUSY,         /* 503: enough password checks run already (no hash) */
	AUTH_STORE_FAILED, /* the store failed (*store_rc set) */
};

/* What a failed check leaves for the answer. */
struct auth_outcome {
	unsigned retry_after; /* AUTH_THROTTLED: seconds */
	int store_rc;         /* AUTH_STORE_FAILED: the store_rc */
};

enum auth_kind {
	AUTH_MISSING = 0,
	AUTH_MALFORMED,
	AUTH_PASSWORD, /* Basic base64(user:password) */
	AUTH_TOKEN     /* Basic <token> or Bearer <token> */
};

/* The parsed Authorization header. */
struct auth_cred {
	enum auth_kind kind;
	char user[CMS_USERID_MAX + 1];
	char password[1025];
	char token[AUTH_TOKEN_LEN + 1];
};

/* Choose argon2id limits: "interactive" (default) or "min" (tests only).
 * Prepares the dummy hash used for unknown users.  Returns 0 or -1. */
int auth_init(const char *pwhash_level);
/* Wipe secrets held by the module. */
void auth_release(void);

/* Parse an Authorization header value (NULL when absent) into *c.  Pure;
 * never fails, the kind says what was found. */
void auth_parse(const char *header, struct auth_cred *c);
/* Wipe a parsed credential. */
void auth_cred_clear(struct auth_cred *c);

/* Who presents the Authorization header value `header` (NULL: absent) from
 * client address `addr`: fills *who and returns AUTH_OK, or says why not
 * (the details in *why).  A token is checked against the cache at the
 * epoch of lk, the request's look at the store (taken when not yet done),
 * so a revoked token, a deleted user or a changed role is seen at once on
 * every node; lk NULL reads the store.  `defer`: a token the cache holds
 * is taken as it is, unchecked (who->deferred, who->epoch say so), for the
 * caller to check against a look of its own later. */
enum auth_result auth_authenticate(struct store *s, const char *header, const char *addr,
				   struct store_look *lk, bool defer, struct principal *who,
				   struct auth_outcome *why);

/* Whether Authorization header `header` carries a token (not checked): the
 * credentials whose check takes a look at the store (token_get), which
 * request_share_look() may then take with others'.  No hash, no cache. */
bool auth_is_token(const char *header);
/* Whether that token is one the cache holds (unchecked): the hash and a
 * probe, for a look that would read a lead's rows, which is taken only for
 * a token the cache knows (token_get, request_share_look). */
bool auth_token_held(const char *header);

/* At most n password checks of Basic headers at once (they run on the HTTP
 * workers, which must stay free for others): one more answers AUTH_BUSY
 * without a hash.  0: no bound (the default, as in unit tests). */
void auth_bound_header_checks(unsigned n);

/* Check user's password pw as a login does, within the throttle's limits:
 * AUTH_OK with the account in *u (the caller wipes it), or why not. */
enum auth_result auth_verify_login(struct store *s, const char *user, const char *pw,
				   const char *addr, struct user *u, struct auth_outcome *why);

/* argon2id hash of pw into out (CMS_HASH_MAX + 1 bytes).  Returns 0 or -1. */
int auth_hash_password(const char *pw, char *out);
/* True when pw matches hash.  An empty hash is checked against a dummy so
 * that the time taken does not tell a missing user from a wrong password. */
bool auth_check_password(const char *hash, const char *pw);

/* Fill *u as a new user (cc 0: the system administrator) with pw hashed, or
 * no password when pw is NULL.  Returns 0, or -1 when hashing fails. */
int auth_new_user(struct user *u, int64_t cc, const char *user_id,
		  const char *name, const char *role, const char *pw);

/* Mint a token for user_pk, store its hash, write it to out (at least
 * AUTH_TOKEN_LEN + 1 bytes).  Returns a store_rc. */
int auth_issue_token(struct store *s, int64_t user_pk, int64_t context_cc,
		     int64_t expires_at, char *out);

/* Parse an RFC 3339 timestamp ("2026-12-31T00:00:00Z", fraction and offset
 * allowed) into unix seconds.  Returns 0 or -1. */
int auth_parse_time(const char *s, int64_t *out);
/* Format unix seconds as RFC 3339 UTC into out (at least 21 bytes). */
void auth_format_time(int64_t t, char *out, size_t len);

/* enum role of a stored role name, ROLE_NONE when unknown. */
enum role auth_role(const char *name);
/* The name of a role ("Agent" ... "System"), "none" for ROLE_NONE. */
const char *auth_role_name(enum role role);

#endif
