/*
 * backup.c - `cmsd backup`: copy a live store to a file (store_backup()).
 *
 *   cmsd backup --to FILE [--db URL] [--force]
 *
 * --db defaults as cmsd's own (CMSD_DB, else sqlite:cms.db), so that the
 * environment file of the service serves both.  Everything it says goes to
 * stderr as cmsd's JSON log lines; --help goes to stdout.  Exit codes: 0 the
 * copy is in place; 1 it failed (nothing left behind); 2 usage.
 */
#include "backup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "banned.h"

struct backup_opts {
	const char *db;
	const char *to;
	bool force;
	bool help;
};

static const struct backup_opt {
	const char *name;
	size_t offset; /* of a const char * (takes a value) or a bool */
	bool flag;
	const char *help;
} opts[] = {
	{ "db", offsetof(struct backup_opts, db), false,
	  "the store to copy: sqlite:PATH (default CMSD_DB, else sqlite:cms.db)" },
	{ "to", offsetof(struct backup_opts, to), false,
	  "the new file to write the copy to (required)" },
	{ "force", offsetof(struct backup_opts, force), true, "replace FILE if it exists" },
	{ "help", offsetof(struct backup_opts, help), true, "print this help" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cmsd backup --to FILE [--db sqlite:PATH] [--force]\n\n"
		   "Copies a SQLite store to FILE while cmsd may be serving from it: one\n"
		   "consistent snapshot, checked with PRAGMA integrity_check.  PostgreSQL\n"
		   "stores: pg_dump -Fc (docs/operations.md).\n\n");
	for (i = 0; i < NOPTS; i++)
		fprintf(f, "  --%-8s %s\n", opts[i].name, opts[i].help);
	fprintf(f, "\nExit codes: 0 done, 1 failed (no FILE left behind), 2 usage.\n");
}

/* Parse argv[1..argc) (argv[0] is "backup") into o.  Returns 0, or -1 after
 * logging what is wrong. */
static int parse(struct backup_opts *o, int argc, char **argv)
{
	int a;
	size_t i;

	for (a = 1; a < argc; a++) {
		const char *arg = argv[a], *eq;
		size_t len;

		if (strncmp(arg, "--", 2)) {
			log_msgf("error", "backup: unexpected argument '%s' (cmsd backup --help)", arg);
			return -1;
		}
		arg += 2;
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		for (i = 0; i < NOPTS; i++)
			if (strlen(opts[i].name) == len && !strncmp(opts[i].name, arg, len))
				break;
		if (i == NOPTS || (opts[i].flag && eq)) {
			log_msgf("error", "backup: bad option '%s' (cmsd backup --help)", argv[a]);
			return -1;
		}
		if (opts[i].flag) {
			*(bool *)(void *)((char *)o + opts[i].offset) = true;
			continue;
		}
		if (!eq && a + 1 >= argc) {
			log_msgf("error", "backup: --%s wants a value", opts[i].name);
			return -1;
		}
		*(const char **)(void *)((char *)o + opts[i].offset) = eq ? eq + 1 : argv[++a];
	}
	return 0;
}

int backup_main(int argc, char **argv)
{
	struct backup_opts o = { 0 };
	struct store_backup_info info;
	int64_t t0;
	char err[512];
	int rc;

	o.db = getenv("CMSD_DB");
	if (!o.db || !*o.db)
		o.db = "sqlite:cms.db";
	if (parse(&o, argc, argv))
		return 2;
	if (o.help) {
		usage(stdout);
		return 0;
	}
	if (!o.to || !*o.to) {
		log_msgf("error", "backup: --to FILE is required (cmsd backup --help)");
		return 2;
	}
	t0 = mono_us();
	err[0] = '\0';
	rc = store_backup(o.db, o.to, o.force, &info, err, sizeof(err));
	if (rc) {
		/* err never holds the URL: a PostgreSQL one may carry a password */
		log_msgf("error", "backup failed: %s", err);
		return 1;
	}
	{
		const struct log_field f[] = {
			{ .key = "to", .str = o.to },
			{ .key = "pages", .num = (double)info.pages },
			{ .key = "bytes", .num = (double)info.bytes },
			{ .key = "schema_version", .num = (double)info.schema_version },
			{ .key = "ms", .num = (double)(mono_us() - t0) / 1e3 },
		};

		log_fields("info", "backup written", f, sizeof(f) / sizeof(f[0]));
	}
	return 0;
}
