/*
 * opts.h - long options, declared as tables whose rows say where each value
 * goes: a field of the command's options struct, of a declared type, checked
 * as the row says (required, range).  `--name VALUE`, `--name=VALUE`, flags,
 * and list options that may repeat; options and positional arguments mix in
 * any order; `--` ends the options.
 *
 * A command reads typed fields (an int64_t id, a bool, a list of items),
 * never an option back by its name.
 */
#ifndef CMSCTL_OPTS_H
#define CMSCTL_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "strbuf.h"

/* What an option takes, and the C type of the field it fills. */
enum opt_kind {
	OPT_FLAG, /* no value: bool, true when given */
	OPT_STR,  /* one string: const char * (borrowed from argv), NULL when absent */
	OPT_ID,   /* one positive 64-bit id in decimal ("007" is 7): int64_t, 0 when absent */
	OPT_INT,  /* one integer, in the row's range: struct opt_int */
	OPT_BOOL, /* true/false, yes/no, 1/0, on/off: struct opt_bool */
	OPT_LIST, /* may repeat; values split at commas: struct opt_list */
};

struct opt_int {
	bool given;
	int64_t v;
};

struct opt_bool {
	bool given;
	bool v;
};

struct opt_list {
	const char **v; /* the items, trimmed, none empty; owned by the struct opts */
	size_t n;
};

/* min/max of an OPT_INT without an upper bound: half of int64_t, so that
 * adding a page to the value cannot overflow. */
#define OPT_NO_MAX (INT64_MAX / 2)

struct option {
	const char *name;   /* without the leading "--"; NULL ends a table */
	enum opt_kind kind;
	size_t at;          /* the field it fills: offset in the options struct (OPT_AT) */
	const char *arg;    /* the value's placeholder in help ("ID") */
	const char *help;   /* one line of help */
	bool required;      /* absent (a list: without items) is a usage error */
	bool nonempty;      /* an empty value counts as absent (an id in a path) */
	int64_t min, max;   /* OPT_INT: the range; both 0: any integer */
	const char *unit;   /* OPT_INT: said after the range ("seconds") */
};

/*
 * The offset of field f of struct T, which must have C type ctype: a
 * mismatch is a compile error (an incompatible pointer assignment, never
 * evaluated), so that a row cannot write an int64_t into a bool.
 */
#define OPT_AT(T, f, ctype) (offsetof(T, f) + 0 * sizeof(*(ctype **)0 = &((T *)0)->f))

/* The kind and the field of a row, type-checked: { "cc", BIND_ID(struct x, cc), ... }. */
#define BIND_FLAG(T, f) .kind = OPT_FLAG, .at = OPT_AT(T, f, bool)
#define BIND_STR(T, f)  .kind = OPT_STR, .at = OPT_AT(T, f, const char *)
#define BIND_ID(T, f)   .kind = OPT_ID, .at = OPT_AT(T, f, int64_t)
#define BIND_INT(T, f)  .kind = OPT_INT, .at = OPT_AT(T, f, struct opt_int)
#define BIND_BOOL(T, f) .kind = OPT_BOOL, .at = OPT_AT(T, f, struct opt_bool)
#define BIND_LIST(T, f) .kind = OPT_LIST, .at = OPT_AT(T, f, struct opt_list)

#define OPT_END { .name = NULL }

/* A number as text in a string literal: "1 to " NUMSTR(CMS_PRIORITY_MAX). */
#define NUMSTR(x) NUMSTR_(x)
#define NUMSTR_(x) #x

struct opt {
	const struct option *row;
	const char **values; /* borrowed from argv, in the order given */
	size_t n;
};

/* The options a command accepts, and what one command line gave them. */
struct opts {
	struct opt *v;     /* the options accepted, in the order allowed */
	size_t n;
	const char **pos;  /* positional arguments, borrowed from argv */
	size_t npos;
	const char **rest; /* unknown arguments, when kept (see opts_parse) */
	size_t nrest;
	void **owned;      /* what opts_bind made for list options: freed with o */
	size_t nowned;
};

#define OPTS_INIT { NULL, 0, NULL, 0, NULL, 0, NULL, 0 }

/* Accept the option of row (borrowed: rows are static); a name already
 * accepted is left as it is. */
void opts_allow(struct opts *o, const struct option *row);

/* Accept each row of table (ended by OPT_END). */
void opts_allow_table(struct opts *o, const struct option *table);

/*
 * Parse argv[0..argc).  An unknown option is a usage error (-1, err filled),
 * unless keep_unknown: then it, and every argument that is not one of o's
 * options or their values, goes to o->rest in order (o->pos stays empty).
 */
int opts_parse(struct opts *o, int argc, char **argv, bool keep_unknown, char *err,
	       size_t errlen);

/*
 * Store what opts_parse found into the fields of dst, the options struct of
 * the rows, checking each option in the order allowed: required, type,
 * range.  Absent options leave their field as it was (a default set before).
 * Returns 0, or -1 with err filled at the first mistake.  Strings and list
 * items stay borrowed from argv and from o.
 */
int opts_bind(struct opts *o, void *dst, char *err, size_t errlen);

/* A positive 64-bit id in decimal: 0, or -1 when s is not one. */
int opts_parse_id(const char *s, int64_t *out);

/* " --name ARG" for each required option, " [--name ARG]" for the others. */
void opts_synopsis(struct strbuf *sb, const struct opts *o);

/* Print one help line per accepted option whose help is not NULL. */
void opts_help(FILE *f, const struct opts *o);

void opts_release(struct opts *o);

#endif
