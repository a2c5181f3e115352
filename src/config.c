/*
 * config.c - options of API.md §6 as a table: each has a command-line name,
 * a CMSD_* variable and a field.  Later sources win: defaults, environment,
 * command line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "banned.h"

enum kind { OPT_STR, OPT_UINT, OPT_COUNT, OPT_MIB, OPT_GROUP, OPT_SIZE, OPT_FLAG, OPT_DURATION };

static const struct option_def {
	const char *name; /* --name and CMSD_NAME (upper case, '-' -> '_') */
	enum kind kind;
	size_t offset;
	const char *help;
} options[] = {
	{ "listen", OPT_STR, offsetof(struct config, listen), "HOST:PORT to serve (default 127.0.0.1:8080; port 0 picks one)" },
	{ "db", OPT_STR, offsetof(struct config, db), "store URL: sqlite:PATH (default sqlite:cms.db)" },
	{ "threads", OPT_UINT, offsetof(struct config, threads), "worker threads (default: number of cores)" },
	{ "tls-cert", OPT_STR, offsetof(struct config, tls_cert), "PEM certificate: serve HTTPS" },
	{ "tls-key", OPT_STR, offsetof(struct config, tls_key), "PEM private key for --tls-cert" },
	{ "demo", OPT_FLAG, offsetof(struct config, demo), "load the vendor example into an empty store and print a curl command" },
	{ "pwhash", OPT_STR, offsetof(struct config, pwhash), "argon2id cost: interactive (default) or min (tests only)" },
	{ "body-limit", OPT_SIZE, offsetof(struct config, body_limit), "largest request body in bytes (default 1048576)" },
	{ "timeout", OPT_UINT, offsetof(struct config, timeout), "seconds a connection may stay idle (default 30)" },
	{ "per-ip-limit", OPT_UINT, offsetof(struct config, per_ip_limit), "connections one client address may hold (default 256)" },
	{ "trusted-proxies", OPT_STR, offsetof(struct config, trusted_proxies), "load balancers whose X-Forwarded-For names the client: addresses and CIDR ranges, comma-separated (default none)" },
	{ "login-limit", OPT_UINT, offsetof(struct config, login_limit), "failed password checks per login name per window (default 10)" },
	{ "login-addr-limit", OPT_UINT, offsetof(struct config, login_addr_limit), "failed password checks per client address per window (default 100)" },
	{ "hash-threads", OPT_UINT, offsetof(struct config, hash_threads), "threads that check logins' passwords (argon2id), so many at once at most (default: half the cores, at least 1)" },
	{ "hash-queue", OPT_UINT, offsetof(struct config, hash_queue), "logins waiting for a password check at most, in each of two lanes (addresses without failed logins first); one more is answered 503 at once (default 16)" },
	{ "login-window", OPT_UINT, offsetof(struct config, login_window), "seconds of the failed-login window (default 300)" },
	{ "max-connections", OPT_COUNT, offsetof(struct config, max_connections), "connections open at once, change-feed streams included (default 16384; the open-file limit is raised to fit)" },
	{ "busy-timeout", OPT_COUNT, offsetof(struct config, busy_timeout_ms), "milliseconds a connection may wait for its request once over 3/4 of --max-connections are open (default 1000)" },
	{ "change-retention", OPT_DURATION, offsetof(struct config, change_retention), "how long the change feed and the mapping history keep events: N[s|m|h|d] (default 30d)" },
	{ "write-group", OPT_GROUP, offsetof(struct config, write_group), "mapping PUTs committed in one transaction at most (1 to 64), by one writer thread; 0: each worker commits its own (default 64)" },
	{ "cache-size", OPT_MIB, offsetof(struct config, cache_mib), "MiB of memory for tokens, scopes and rendered mappings answered from memory; 0 turns the cache off (default 16)" },
	{ "sse-heartbeat", OPT_UINT, offsetof(struct config, sse_heartbeat), "seconds between heartbeat comments of a change-feed stream (default 15)" },
	{ "routes", OPT_FLAG, offsetof(struct config, routes), "print the route table (one JSON object a line) and exit" },
	{ "faults", OPT_FLAG, offsetof(struct config, faults), "honour X-Cmsd-Fault request headers: fault injection for tests only" },
};

#define NOPTS (sizeof(options) / sizeof(options[0]))

static int set(struct config *cfg, const struct option_def *o, const char *v)
{
	char *end;
	unsigned long long n;
	char *field = (char *)cfg + o->offset;

	switch (o->kind) {
	case OPT_STR:
		*(const char **)(void *)field = v;
		return 0;
	case OPT_FLAG:
		*(bool *)(void *)field = !v || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes");
		return 0;
	case OPT_UINT:
	case OPT_COUNT:
	case OPT_MIB:
	case OPT_GROUP:
	case OPT_SIZE:
		if (!v || !*v || *v == '-')
			return -1;
		n = strtoull(v, &end, 10);
		/* MiB and group sizes may be 0 (off); a group holds 64 at most */
		if (*end || (n == 0 && o->kind != OPT_MIB && o->kind != OPT_GROUP) ||
		    n > (o->kind == OPT_SIZE ? (1ULL << 30) : o->kind == OPT_GROUP ? 64ULL :
			 o->kind == OPT_COUNT ? 1000000ULL : 4096ULL))
			return -1;
		if (o->kind != OPT_SIZE)
			*(unsigned *)(void *)field = (unsigned)n;
		else
			*(size_t *)(void *)field = (size_t)n;
		return 0;
	case OPT_DURATION: {
		static const struct {
			char unit;
			unsigned long long seconds;
		} units[] = { { '\0', 1 }, { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
		size_t u;

		if (!v || *v < '0' || *v > '9')
			return -1;
		n = strtoull(v, &end, 10);
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (end[0] == units[u].unit && (!end[0] || !end[1]))
				break;
		/* at least a second, at most ten years */
		if (u == sizeof(units) / sizeof(units[0]) || n == 0 ||
		    n > 3650ULL * 86400 / units[u].seconds)
			return -1;
		*(int64_t *)(void *)field = (int64_t)(n * units[u].seconds);
		return 0;
	}
	}
	return -1;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cmsd [options]\n\nOptions (each also settable as CMSD_<NAME>):\n");
	for (i = 0; i < NOPTS; i++)
		fprintf(f, "  --%-17s %s\n", options[i].name, options[i].help);
	fprintf(f, "  --%-17s %s\n", "help", "print this help");
	fprintf(f, "\nCMSD_ADMIN_USER and CMSD_ADMIN_PASSWORD create the system administrator.\n");
}

int config_load(struct config *cfg, int argc, char **argv)
{
	size_t i;
	int a;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "127.0.0.1:8080";
	cfg->db = "sqlite:cms.db";
	cfg->pwhash = "interactive";
	cfg->threads = cores > 0 ? (unsigned)cores : 2;
	cfg->body_limit = 1024 * 1024;
	cfg->timeout = 30;
	cfg->per_ip_limit = 256;
	cfg->login_limit = 10;
	cfg->login_addr_limit = 100;
	cfg->login_window = 300;
	cfg->hash_threads = cores > 1 ? (unsigned)cores / 2 : 1;
	cfg->hash_queue = 16;
	cfg->max_connections = 16384;
	cfg->busy_timeout_ms = 1000;
	cfg->change_retention = 30 * 86400;
	cfg->cache_mib = CACHE_DEFAULT_MIB;
	cfg->write_group = 64;
	cfg->sse_heartbeat = 15;

	for (i = 0; i < NOPTS; i++) {
		char env[64] = "CMSD_";
		size_t j, n = strlen(options[i].name);
		const char *v;

		for (j = 0; j < n && j + 6 < sizeof(env); j++)
			env[5 + j] = options[i].name[j] == '-' ? '_' : (char)(options[i].name[j] - 32);
		env[5 + j] = '\0';
		v = getenv(env);
		if (v && *v && set(cfg, &options[i], v)) {
			fprintf(stderr, "cmsd: bad value in %s\n", env);
			return -1;
		}
	}
	for (a = 1; a < argc; a++) {
		const char *arg = argv[a], *val = NULL, *eq;
		size_t len;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return 1;
		}
		if (strncmp(arg, "--", 2))
			goto bad;
		arg += 2;
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		for (i = 0; i < NOPTS; i++)
			if (strlen(options[i].name) == len && !strncmp(options[i].name, arg, len))
				break;
		if (i == NOPTS)
			goto bad;
		if (eq)
			val = eq + 1;
		else if (options[i].kind != OPT_FLAG && a + 1 < argc)
			val = argv[++a];
		else if (options[i].kind != OPT_FLAG)
			goto bad;
		if (set(cfg, &options[i], val))
			goto bad;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		fprintf(stderr, "cmsd: --tls-cert and --tls-key go together\n");
		return -1;
	}
	cfg->admin_user = getenv("CMSD_ADMIN_USER");
	cfg->admin_password = getenv("CMSD_ADMIN_PASSWORD");
	return 0;
bad:
	fprintf(stderr, "cmsd: bad option '%s'\n\n", argv[a < argc ? a : argc - 1]);
	usage(stderr);
	return -1;
}
