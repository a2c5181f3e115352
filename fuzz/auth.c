/*
 * auth.c - libFuzzer harness: the Authorization header, through auth_parse().
 *
 * The input is the header's value as libmicrohttpd hands it over (a C
 * string: it ends at the first NUL).
 *
 * Properties checked besides "no crash, no leak, no UB":
 *  - a present header is never AUTH_MISSING;
 *  - a credential is never longer than the header it came from, and every
 *    field is NUL-terminated inside its buffer;
 *  - AUTH_PASSWORD: a user of 1..CMS_USERID_MAX bytes without ':', and
 *    "Basic base64(user:password)" parses back to the same pair;
 *  - AUTH_TOKEN: AUTH_TOKEN_LEN base64url characters found in the header;
 *  - anything else leaves no secret behind (user, password, token empty);
 *  - auth_cred_clear() wipes the whole struct.
 */
#include <sodium.h>

#include "auth.h"
#include "fuzz.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static bool terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* "Basic base64(user:password)" parses back to user and password. */
static void round_trip(const struct auth_cred *c)
{
	size_t ulen = strlen(c->user), plen = strlen(c->password), n = ulen + 1 + plen;
	size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *pair = malloc(n + 1), *header = malloc(6 + b64);
	struct auth_cred back;

	FUZZ_CHECK(pair && header);
	memcpy(pair, c->user, ulen);
	pair[ulen] = ':';
	memcpy(pair + ulen + 1, c->password, plen + 1);
	memcpy(header, "Basic ", 6);
	sodium_bin2base64(header + 6, b64, (const unsigned char *)pair, n,
			  sodium_base64_VARIANT_ORIGINAL);
	auth_parse(header, &back);
	FUZZ_CHECK(back.kind == AUTH_PASSWORD);
	FUZZ_CHECK(!strcmp(back.user, c->user) && !strcmp(back.password, c->password));
	auth_cred_clear(&back);
	free(pair);
	free(header);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = fuzz_cstr(data, size);
	size_t hlen = strlen(h);
	struct auth_cred c;

	auth_parse(h, &c);
	FUZZ_CHECK(terminated(c.user, sizeof(c.user)));
	FUZZ_CHECK(terminated(c.password, sizeof(c.password)));
	FUZZ_CHECK(terminated(c.token, sizeof(c.token)));
	FUZZ_CHECK(strlen(c.user) + strlen(c.password) + strlen(c.token) <= hlen);
	switch (c.kind) {
	case AUTH_PASSWORD:
		FUZZ_CHECK(c.user[0] && strlen(c.user) <= CMS_USERID_MAX && !strchr(c.user, ':'));
		FUZZ_CHECK(!c.token[0]);
		round_trip(&c);
		break;
	case AUTH_TOKEN:
		FUZZ_CHECK(strlen(c.token) == AUTH_TOKEN_LEN);
		FUZZ_CHECK(strspn(c.token, B64URL) == AUTH_TOKEN_LEN);
		FUZZ_CHECK(strstr(h, c.token) != NULL);
		FUZZ_CHECK(!c.user[0] && !c.password[0]);
		break;
	case AUTH_MALFORMED:
		FUZZ_CHECK(all_zero(c.user, sizeof(c.user)));
		FUZZ_CHECK(all_zero(c.password, sizeof(c.password)));
		FUZZ_CHECK(all_zero(c.token, sizeof(c.token)));
		break;
	default:
		FUZZ_CHECK(!"a present header parsed as missing or unknown");
	}
	auth_cred_clear(&c);
	FUZZ_CHECK(all_zero(&c, sizeof(c)));
	free(h);
	return 0;
}
