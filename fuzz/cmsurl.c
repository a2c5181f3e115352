/*
 * cmsurl.c - libFuzzer harness: cmsctl's URL derivation (src/cli/cmsurl.c).
 *
 * The input is read twice: as a URL the user gave (--url, CMS_URL) it goes
 * through cmsurl_derive() with the built-in tables, cmsurl_as_given()
 * (--cms-url) and cmsurl_redact(); as the text of a configuration file it
 * goes through cmsurl_config_parse(), whose `url` and `cms-url` lines run
 * the same two functions with the file's own renamings.
 *
 * Properties checked besides "no crash, no leak, no UB":
 *  - cmsurl_derive() gives a URL that starts with http:// or https://, is
 *    printable ASCII without '@', '?', '#' or a path, or fails with a message
 *    and no URL; a derived URL derives again, to itself unless the table
 *    renames its environment label (an explicit :443 after https aside), and
 *    is accepted by cmsurl_as_given();
 *  - cmsurl_as_given() gives http:// or https:// without '?', '#', a
 *    trailing '/' or a user in the authority, or fails with a message, and
 *    is a fixed point;
 *  - cmsurl_redact() leaves no user or password: the authority keeps at
 *    most one '@', right after "***";
 *  - a configuration file that parses keeps a `url` that derives and a
 *    `cms-url` that is accepted, with the file's renamings in force.
 */
#include <stdbool.h>

#include "cli/cmsurl.h"
#include "fuzz.h"

#define SCHEME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."

static struct cmsurl_config defaults = CMSURL_CONFIG_INIT;

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The text after "scheme://". */
static const char *after_scheme(const char *url)
{
	const char *p = strstr(url, "://");

	FUZZ_CHECK(p != NULL);
	return p + 3;
}

static void printable(const char *s)
{
	for (; *s; s++)
		FUZZ_CHECK(*s > ' ' && *s < 0x7f);
}

/* url without an explicit ":443" after https, for comparing derivations. */
static char *no_default_port(const char *url)
{
	size_t n = strlen(url);
	char *d = malloc(n + 1);

	FUZZ_CHECK(d != NULL);
	memcpy(d, url, n + 1);
	if (starts(d, "https://") && n > 4 && !strcmp(d + n - 4, ":443"))
		d[n - 4] = '\0';
	return d;
}

/*
 * Whether deriving url again renames its environment label (the second of
 * the host): a file may rename in chains (a -> b, b -> c), and a two-label
 * host "ecc-prod.example" derives "cms.ecc-prod.example", whose second label
 * is one.  Other derived URLs must derive to themselves.
 */
static bool renamed_again(const struct cmsurl_config *cfg, const char *url)
{
	const char *host = after_scheme(url), *env = strchr(host, '.');
	char label[64];
	size_t n;

	if (!env)
		return false;
	env++;
	n = strcspn(env, ".:");
	if (!env[n] || env[n] == ':' || n >= sizeof(label)) /* no third label */
		return false;
	memcpy(label, env, n);
	label[n] = '\0';
	return strcmp(cmsurl_rename(cfg, label), label) != 0;
}

static void check_as_given(const char *given)
{
	char *out = NULL, *again = NULL, err[CMSURL_ERR] = "";
	const char *host;
	int rc = cmsurl_as_given(given, &out, err, sizeof(err));

	if (rc) {
		FUZZ_CHECK(rc == -1 && out == NULL && err[0]);
		return;
	}
	FUZZ_CHECK(out && (starts(out, "http://") || starts(out, "https://")));
	printable(out);
	FUZZ_CHECK(!strchr(out, '?') && !strchr(out, '#'));
	host = after_scheme(out); /* a path prefix is kept, '@' and all */
	FUZZ_CHECK(!memchr(host, '@', strcspn(host, "/")));
	FUZZ_CHECK(out[strlen(out) - 1] != '/');
	FUZZ_CHECK(!cmsurl_as_given(out, &again, err, sizeof(err)) && !strcmp(again, out));
	free(again);
	free(out);
}

static void check_derive(const struct cmsurl_config *cfg, const char *given, bool must_work)
{
	char *out = NULL, *again = NULL, *as = NULL, *a, *b, err[CMSURL_ERR] = "";
	const char *host;
	int rc = cmsurl_derive(cfg, given, &out, err, sizeof(err));

	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc) {
		FUZZ_CHECK(!must_work && out == NULL && err[0]);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return;
	}
	FUZZ_CHECK(out && (starts(out, "http://") || starts(out, "https://")));
	printable(out);
	host = after_scheme(out);
	FUZZ_CHECK(*host && !strpbrk(host, "/?#@"));

	/* what cmsctl derived, given again, is already the CMS URL */
	if (cmsurl_derive(cfg, out, &again, err, sizeof(err)))
		FUZZ_NOTE("\"%s\" derived \"%s\", which fails: %s", given, out, err);
	FUZZ_CHECK(again != NULL);
	a = no_default_port(out);
	b = no_default_port(again);
	if (!renamed_again(cfg, out) && strcmp(a, b))
		FUZZ_NOTE("\"%s\" derived \"%s\", which derives \"%s\"", given, out, again);
	FUZZ_CHECK(renamed_again(cfg, out) || !strcmp(a, b));
	if (cmsurl_as_given(out, &as, err, sizeof(err)))
		FUZZ_NOTE("\"%s\" derived \"%s\", refused as --cms-url: %s", given, out, err);
	FUZZ_CHECK(as != NULL && !strcmp(as, out));
	free(a);
	free(b);
	free(as);
	free(again);
	free(out);
}

static void check_redact(const char *given)
{
	char *r = cmsurl_redact(given);
	size_t lead = strspn(given, " \t\n\v\f\r"), n = strspn(given + lead, SCHEME_CHARS);
	const char *auth, *end, *at;

	/* the text before the authority is kept as it was */
	FUZZ_CHECK(r != NULL);
	auth = r + lead + (strncmp(given + lead + n, "://", 3) ? 0 : n + 3);
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at) {
		FUZZ_CHECK(at == auth + 3 && !memcmp(auth, "***", 3));
		FUZZ_CHECK(memchr(at + 1, '@', (size_t)(end - at - 1)) == NULL);
	}
	free(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cmsurl_config_defaults(&defaults);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstr(data, size), err[CMSURL_ERR] = "";
	struct cmsurl_config cfg = CMSURL_CONFIG_INIT;

	check_derive(&defaults, in, false);
	check_as_given(in);
	check_redact(in);

	cmsurl_config_defaults(&cfg);
	if (cmsurl_config_parse(&cfg, in, "fuzz", err, sizeof(err))) {
		FUZZ_CHECK(err[0] && memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		if (cfg.url)
			check_derive(&cfg, cfg.url, true);
		if (cfg.cms_url)
			check_as_given(cfg.cms_url);
	}
	cmsurl_config_release(&cfg);
	FUZZ_CHECK(cfg.renames == NULL && cfg.locals == NULL && !cfg.url && !cfg.cms_url);
	free(in);
	return 0;
}
