/*
 * test_tls.c - reading and checking the TLS certificate and key
 * (src/tls.c) on PEM files that openssl makes at test time in a temporary
 * directory: a good pair loads; each kind of bad file fails with a log line
 * that names that file and says why.  Without openssl the suite prints a
 * SKIP line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "tls.h"
#include "unit.h"

void suite_tls(void);

static char *dir;

/* Writes text into dir/name; the path (caller frees). */
static char *write_file(const char *name, const char *text)
{
	char *path = path_join(dir, name);
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

/* Runs the shell command `fmt` with dir for each %s; 0 when it succeeded. */
static int sh(const char *fmt)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, dir, dir, dir, dir);
	return system(cmd);
}

/* Two key pairs (key1/cert1, key2/cert2) and an encrypted copy of key1. */
static int make_pems(void)
{
	return sh("cd %s && for i in 1 2; do openssl req -x509 -newkey ec -pkeyopt "
		  "ec_paramgen_curve:prime256v1 -nodes -keyout key$i.pem -out cert$i.pem "
		  "-days 2 -subj /CN=cmsd-unit$i >/dev/null 2>&1 || exit 1; done && "
		  "openssl pkey -in key1.pem -aes128 -passout pass:secret -out enc.pem 2>/dev/null");
}

/* tls_load(cert, key) on dir's files; 0 on success, and what it logged
 * into *said (caller frees). */
static int load(const char *cert, const char *key, char **said)
{
	char *cp = path_join(dir, cert), *kp = path_join(dir, key);
	char *c = (char *)"unset", *k = (char *)"unset";
	struct capture cap;
	int rc;

	capture_begin(&cap, 2);
	rc = tls_load(cp, kp, &c, &k);
	*said = capture_end(&cap);
	if (rc == 0) {
		CHECK(c && !strncmp(c, "-----BEGIN CERTIFICATE-----", 27));
		CHECK(k && strstr(k, "PRIVATE KEY-----"));
		tls_release(&c, &k);
	}
	CHECK(c == NULL && k == NULL);
	free(cp);
	free(kp);
	return rc;
}

/* Whether tls_load(cert, key) fails with one error line naming file `names`
 * (dir/names) and saying `why`. */
static bool refused(const char *cert, const char *key, const char *names, const char *why)
{
	char *said = NULL, *path = path_join(dir, names);
	bool ok = load(cert, key, &said) == -1 && said && count_lines(said) == 1 &&
		  strstr(said, "\"level\":\"error\"") && strstr(said, path) && strstr(said, why);

	if (!ok)
		fprintf(stderr, "  %s + %s: %s", cert, key, said ? said : "(nothing)\n");
	free(said);
	free(path);
	return ok;
}

static void good_pair(void)
{
	char *said = NULL;

	CHECK(load("cert1.pem", "key1.pem", &said) == 0);
	CHECK(said && said[0] == '\0');
	free(said);
	CHECK(load("cert2.pem", "key2.pem", &said) == 0);
	free(said);
}

static void bad_files(void)
{
	free(write_file("empty.pem", ""));
	free(write_file("junk.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
				    "-----END CERTIFICATE-----\n"));
	CHECK(refused("missing.pem", "key1.pem", "missing.pem", "cannot read the TLS certificate"));
	CHECK(refused("cert1.pem", "missing.pem", "missing.pem", "cannot read the TLS key"));
	CHECK(refused("empty.pem", "key1.pem", "empty.pem", "the TLS certificate"));
	CHECK(refused("empty.pem", "key1.pem", "empty.pem", "is empty"));
	CHECK(refused("cert1.pem", "empty.pem", "empty.pem", "the TLS key"));
	CHECK(refused("junk.pem", "key1.pem", "junk.pem", "is not a PEM X.509 certificate"));
	CHECK(refused("key1.pem", "key1.pem", "key1.pem", "is not a PEM X.509 certificate"));
	CHECK(refused("cert1.pem", "cert1.pem", "cert1.pem", "is not an unencrypted PEM private key"));
	CHECK(refused("cert1.pem", "enc.pem", "enc.pem", "is not an unencrypted PEM private key"));
	CHECK(refused("cert1.pem", "key2.pem", "key2.pem", "does not go with the certificate"));
	CHECK(refused("cert2.pem", "key1.pem", "cert2.pem", "does not go with the certificate"));
}

static void release_twice(void)
{
	char *c = NULL, *k = NULL;

	tls_release(&c, &k);
	CHECK(c == NULL && k == NULL);
}

void suite_tls(void)
{
	static const struct unit_test t[] = {
		{ "good_pair", good_pair }, { "bad_files", bad_files },
		{ "release_twice", release_twice },
	};

	if (!unit_selected("tls"))
		return;
	if (system("command -v openssl >/dev/null 2>&1")) {
		printf("SKIP unit.tls: openssl not found\n");
		return;
	}
	/* without the files every test fails, and so is counted */
	dir = tmpdir_make("tls");
	if (!dir)
		dir = strdup("/nonexistent");
	else if (make_pems())
		fprintf(stderr, "  openssl could not make the PEM files in %s\n", dir);
	unit_run("tls", t, sizeof(t) / sizeof(t[0]));
	if (strcmp(dir, "/nonexistent"))
		tmpdir_remove(dir);
	else
		free(dir);
	dir = NULL;
}
