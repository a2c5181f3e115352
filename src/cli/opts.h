/*
 * opts.h - long options, declared as tables: `--name VALUE`, `--name=VALUE`,
 * flags, and list options that may repeat.  Options and positional
 * arguments mix in any order; `--` ends the options.
 */
#ifndef CMSCTL_OPTS_H
#define CMSCTL_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A number as text in a string literal: "1 to " NUMSTR(CMS_PRIORITY_MAX). */
#define NUMSTR(x) NUMSTR_(x)
#define NUMSTR_(x) #x

enum opt_kind {
	OPT_FLAG,  /* no value */
	OPT_VALUE, /* one value; given twice is a usage error */
	OPT_LIST,  /* may repeat; each value may hold a comma-separated list */
};

struct optspec {
	const char *name; /* without the leading "--"; NULL ends a table */
	enum opt_kind kind;
	const char *arg;  /* the value's placeholder in help ("ID") */
	const char *help; /* one line of help */
};

struct opt {
	struct optspec spec;
	const char **values; /* borrowed from argv, in the order given */
	size_t n;
};

struct opts {
	struct opt *v;     /* the options accepted */
	size_t n;
	const char **pos;  /* positional arguments, borrowed from argv */
	size_t npos;
	const char **rest; /* unknown arguments, when kept (see opts_parse) */
	size_t nrest;
};

#define OPTS_INIT { NULL, 0, NULL, 0, NULL, 0 }

/* Accept the options of table (ended by a NULL name); a name already
 * accepted is left as it is. */
void opts_allow(struct opts *o, const struct optspec *table);

/* Accept one option. */
void opts_allow_one(struct opts *o, const char *name, enum opt_kind kind, const char *arg,
		    const char *help);

/*
 * Parse argv[0..argc).  An unknown option is a usage error (-1, err filled),
 * unless keep_unknown: then it, and every argument that is not one of o's
 * options or their values, goes to o->rest in order (o->pos stays empty).
 */
int opts_parse(struct opts *o, int argc, char **argv, bool keep_unknown, char *err,
	       size_t errlen);

/* The value of an OPT_VALUE option, or NULL when it was not given. */
const char *opts_get(const struct opts *o, const char *name);

/* Whether the option was given (any kind). */
bool opts_has(const struct opts *o, const char *name);

/*
 * The items of a list option: every value split at commas, each trimmed of
 * white space, empty items dropped.  *out gets new strings (caller frees
 * each and the array); returns how many.
 */
size_t opts_items(const struct opts *o, const char *name, char ***out);

/* Print one help line per accepted option whose help is not NULL. */
void opts_help(FILE *f, const struct opts *o);

void opts_release(struct opts *o);

#endif
