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

#include "http.h"

#define AUTH_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */

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

/* Authenticate r from its Authorization header: fills r->who, or sets 401
 * (or 503 when the store is down) and returns -1. */
int auth_authenticate(struct request *r);

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

#endif
