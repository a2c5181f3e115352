/*
 * test_config.c - cmsd's options (src/config.c): defaults, CMSD_* variables,
 * the command line over both, and every way a value can be wrong.
 * (test_http.c has a first test of the options.)
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "helpers.h"
#include "unit.h"
#include "version.h" /* build/version.h, made by the Makefile */

void suite_config_options(void);

/* Every variable config_load reads: each test starts without them and puts
 * back what the environment had. */
static const char *const vars[] = {
	"CMSD_LISTEN", "CMSD_DB", "CMSD_THREADS", "CMSD_TLS_CERT", "CMSD_TLS_KEY",
	"CMSD_DEMO", "CMSD_PWHASH", "CMSD_BODY_LIMIT", "CMSD_TIMEOUT",
	"CMSD_PER_IP_LIMIT", "CMSD_LOGIN_LIMIT", "CMSD_LOGIN_ADDR_LIMIT",
	"CMSD_LOGIN_WINDOW", "CMSD_FAULTS", "CMSD_ADMIN_USER", "CMSD_ADMIN_PASSWORD",
};

#define NVARS (sizeof(vars) / sizeof(vars[0]))

static char *saved[NVARS];

static void env_clear(void)
{
	size_t i;

	for (i = 0; i < NVARS; i++) {
		const char *v = getenv(vars[i]);

		saved[i] = v ? strdup(v) : NULL;
		unsetenv(vars[i]);
	}
}

static void env_restore(void)
{
	size_t i;

	for (i = 0; i < NVARS; i++) {
		if (saved[i])
			setenv(vars[i], saved[i], 1);
		else
			unsetenv(vars[i]);
		free(saved[i]);
		saved[i] = NULL;
	}
}

/* config_load on the NULL-terminated argv, what it printed on stderr into
 * *said (caller frees; may be NULL). */
static int load(struct config *c, char **argv, char **said)
{
	struct capture cap;
	int argc = 0, rc;
	char *out;

	while (argv[argc])
		argc++;
	capture_begin(&cap, 2);
	rc = config_load(c, argc, argv);
	out = capture_end(&cap);
	if (said)
		*said = out;
	else
		free(out);
	return rc;
}

#define ARGV(...) ((char *[]){ "cmsd", __VA_ARGS__, NULL })

static void defaults(void)
{
	struct config c;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	env_clear();
	memset(&c, 0xAA, sizeof(c));
	CHECK(load(&c, (char *[]){ "cmsd", NULL }, NULL) == 0);
	CHECK(!strcmp(c.listen, "127.0.0.1:8080") && !strcmp(c.db, "sqlite:cms.db"));
	CHECK(!strcmp(c.pwhash, "interactive"));
	CHECK(c.tls_cert == NULL && c.tls_key == NULL);
	CHECK(c.admin_user == NULL && c.admin_password == NULL);
	CHECK(c.threads == (cores > 0 ? (unsigned)cores : 2));
	CHECK(c.body_limit == 1048576 && c.timeout == 30 && c.per_ip_limit == 256);
	CHECK(c.login_limit == 10 && c.login_addr_limit == 100 && c.login_window == 300);
	CHECK(!c.faults && !c.demo && c.look_delay_ms == 0);
	env_restore();
}

static void environment(void)
{
	struct config c;

	env_clear();
	setenv("CMSD_LISTEN", "0.0.0.0:9000", 1);
	setenv("CMSD_BODY_LIMIT", "2048", 1);
	setenv("CMSD_LOGIN_ADDR_LIMIT", "7", 1);
	setenv("CMSD_PER_IP_LIMIT", "4096", 1);
	setenv("CMSD_FAULTS", "yes", 1);
	setenv("CMSD_DEMO", "no", 1);
	setenv("CMSD_TIMEOUT", "", 1); /* empty: as if unset */
	setenv("CMSD_ADMIN_USER", "root", 1);
	setenv("CMSD_ADMIN_PASSWORD", "s3cret-pw", 1);
	CHECK(load(&c, (char *[]){ "cmsd", NULL }, NULL) == 0);
	CHECK(!strcmp(c.listen, "0.0.0.0:9000") && c.body_limit == 2048);
	CHECK(c.login_addr_limit == 7 && c.per_ip_limit == 4096);
	CHECK(c.faults && !c.demo && c.timeout == 30);
	CHECK(!strcmp(c.admin_user, "root") && !strcmp(c.admin_password, "s3cret-pw"));
	setenv("CMSD_FAULTS", "1", 1);
	setenv("CMSD_DEMO", "true", 1);
	CHECK(load(&c, (char *[]){ "cmsd", NULL }, NULL) == 0 && c.faults && c.demo);
	/* the command line wins */
	CHECK(load(&c, ARGV("--listen=[::1]:1", "--body-limit", "99", "--demo=0"), NULL) == 0);
	CHECK(!strcmp(c.listen, "[::1]:1") && c.body_limit == 99 && !c.demo);
	env_restore();
}

static void command_line(void)
{
	struct config c;

	env_clear();
	CHECK(load(&c, ARGV("--db", "postgresql://u@h/d", "--threads=4096", "--pwhash", "min",
			    "--tls-cert", "c.pem", "--tls-key=k.pem", "--faults",
			    "--login-limit", "1", "--login-window=4096", "--body-limit=1073741824"),
		   NULL) == 0);
	CHECK(!strcmp(c.db, "postgresql://u@h/d") && c.threads == 4096 && !strcmp(c.pwhash, "min"));
	CHECK(!strcmp(c.tls_cert, "c.pem") && !strcmp(c.tls_key, "k.pem") && c.faults);
	CHECK(c.login_limit == 1 && c.login_window == 4096 && c.body_limit == 1073741824);
	env_restore();
}

static void bad_values(void)
{
	static char *const bad[][4] = {
		{ "--threads", "0" },         { "--threads", "4097" },
		{ "--threads", "-1" },        { "--threads", "12a" },
		{ "--threads=" },             { "--login-window", "4097" },
		{ "--body-limit", "1073741825" }, { "--timeout", "99999999999999999999" },
		{ "--nope" },                 { "listen" },
		{ "-t", "2" },                { "--listen" },
		{ "--tls-cert", "a.pem" },    { "--tls-key", "a.pem" },
		{ "--lis", "x" },             { "--listenx", "x" },
		{ "--write-group", "65" },    { "--cache-size", "4097" },
		{ "--cache-size", "-1" },     { "--write-wait", "1000001" },
		{ "--write-wait", "-1" },     { "--write-wait", "6x" },
		{ "--look-delay", "0" },      { "--look-delay", "4097" },
	};
	struct config c;
	char *said = NULL;
	size_t i;

	env_clear();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[4] = { "cmsd", bad[i][0], bad[i][1], NULL };

		int rc = load(&c, argv, &said);

		CHECK(rc == -1 && said && strstr(said, "cmsd: ") != NULL);
		if (rc != -1)
			fprintf(stderr, "  accepted: %s %s\n", bad[i][0], bad[i][1] ? bad[i][1] : "");
		free(said);
		said = NULL;
	}
	/* 0 turns the cache and the group writer off */
	CHECK(load(&c, ARGV("--cache-size", "0", "--write-group", "0"), &said) == 0);
	CHECK(c.cache_mib == 0 && c.write_group == 0);
	free(said);
	said = NULL;
	/* and 0 a group's wait to fill; the default is 600 us */
	CHECK(load(&c, ARGV("--write-wait", "0"), &said) == 0 && c.write_wait_us == 0);
	free(said);
	said = NULL;
	CHECK(load(&c, ARGV("--write-wait", "1000000"), &said) == 0 && c.write_wait_us == 1000000);
	free(said);
	said = NULL;
	/* a look held (tests only): 1 ms to some 4 s */
	CHECK(load(&c, ARGV("--look-delay", "4096"), &said) == 0 && c.look_delay_ms == 4096);
	free(said);
	said = NULL;
	CHECK(load(&c, ARGV("--threads", "2"), &said) == 0 && c.write_wait_us == 600);
	free(said);
	said = NULL;
	/* the message names the option, and usage follows */
	CHECK(load(&c, ARGV("--threads", "0"), &said) == -1);
	CHECK(said && strstr(said, "bad option '0'") && strstr(said, "usage: cmsd"));
	free(said);
	CHECK(load(&c, ARGV("--nope"), &said) == -1);
	CHECK(said && strstr(said, "bad option '--nope'"));
	free(said);
	CHECK(load(&c, ARGV("--tls-key", "k.pem"), &said) == -1);
	CHECK(said && strstr(said, "--tls-cert and --tls-key go together"));
	free(said);
	/* a bad variable is named */
	setenv("CMSD_THREADS", "lots", 1);
	CHECK(load(&c, (char *[]){ "cmsd", NULL }, &said) == -1);
	CHECK(said && strstr(said, "bad value in CMSD_THREADS"));
	free(said);
	env_restore();
}

static void help(void)
{
	struct config c;
	struct capture out;
	char *text, *said = NULL;
	int rc;

	env_clear();
	capture_begin(&out, 1);
	rc = load(&c, ARGV("--help"), &said);
	text = capture_end(&out);
	CHECK(rc == 1 && said && said[0] == '\0');
	CHECK(text && !strncmp(text, "usage: cmsd [options]", 21));
	CHECK(text && strstr(text, "--login-addr-limit") && strstr(text, "CMSD_ADMIN_USER"));
	free(text);
	free(said);
	capture_begin(&out, 1);
	rc = load(&c, ARGV("--threads", "2", "-h"), NULL);
	free(capture_end(&out));
	CHECK(rc == 1);
	env_restore();
}

/* --version prints one line, "cmsd VERSION", and says to exit 0 */
static void version(void)
{
	struct config c;
	struct capture out;
	char *text, *said = NULL;
	int rc;

	env_clear();
	capture_begin(&out, 1);
	rc = load(&c, ARGV("--threads", "2", "--version"), &said);
	text = capture_end(&out);
	CHECK(rc == 1 && said && said[0] == '\0');
	CHECK(text && !strcmp(text, "cmsd " CMSD_VERSION "\n"));
	CHECK(strlen(CMSD_VERSION) > 0);
	free(text);
	free(said);
	capture_begin(&out, 1);
	rc = load(&c, ARGV("--version=1"), NULL);
	free(capture_end(&out));
	CHECK(rc == -1); /* no value: a bad option */
	env_restore();
}

void suite_config_options(void)
{
	static const struct unit_test t[] = {
		{ "defaults", defaults }, { "environment", environment }, { "version", version },
		{ "command_line", command_line }, { "bad_values", bad_values },
		{ "help", help },
	};
	unit_run("config", t, sizeof(t) / sizeof(t[0]));
}
