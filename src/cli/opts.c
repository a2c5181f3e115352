/*
 * opts.c - the option parser of cmsctl: tables in, typed fields out, one
 * message per mistake.  Parsing (which option got which text) and binding
 * (the text checked and stored in its field) are two steps, so that the
 * mistakes of a command line are reported in the order of the table, not of
 * the line.
 */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"
#include "banned.h"

static struct opt *find(const struct opts *o, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strlen(o->v[i].row->name) == len && !strncmp(o->v[i].row->name, name, len))
			return &o->v[i];
	return NULL;
}

void opts_allow(struct opts *o, const struct option *row)
{
	if (find(o, row->name, strlen(row->name)))
		return;
	o->v = xrealloc(o->v, (o->n + 1) * sizeof(*o->v));
	memset(&o->v[o->n], 0, sizeof(*o->v));
	o->v[o->n++].row = row;
}

void opts_allow_table(struct opts *o, const struct option *table)
{
	for (; table && table->name; table++)
		opts_allow(o, table);
}

static void push(const char ***arr, size_t *n, const char *s)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = s;
}

int opts_parse(struct opts *o, int argc, char **argv, bool keep_unknown, char *err,
	       size_t errlen)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value = NULL;
		struct opt *p;
		size_t len;

		if (!strcmp(a, "--")) {
			/* kept with what follows, so that the command sees it too */
			if (keep_unknown)
				for (; i < argc; i++)
					push(&o->rest, &o->nrest, argv[i]);
			else
				for (i++; i < argc; i++)
					push(&o->pos, &o->npos, argv[i]);
			break;
		}
		if (!strcmp(a, "-h"))
			a = "--help";
		if (a[0] != '-' || !a[1] || (a[1] != '-' && isdigit((unsigned char)a[1]))) {
			push(keep_unknown ? &o->rest : &o->pos, keep_unknown ? &o->nrest : &o->npos, a);
			continue;
		}
		if (a[1] != '-') {
			/* perhaps the value of a command's option ("--name -x") */
			if (keep_unknown) {
				push(&o->rest, &o->nrest, a);
				continue;
			}
			return strbuf_errf(err, errlen, "unknown option '%s'", a);
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		p = find(o, name, len);
		if (!p) {
			if (keep_unknown) {
				push(&o->rest, &o->nrest, argv[i]);
				continue;
			}
			return strbuf_errf(err, errlen, "unknown option '--%.*s'", (int)len, name);
		}
		if (p->row->kind == OPT_FLAG) {
			if (eq)
				return strbuf_errf(err, errlen, "--%s takes no value", p->row->name);
			value = "";
		} else if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return strbuf_errf(err, errlen, "--%s needs a value (%s)", p->row->name,
					   p->row->arg ? p->row->arg : "VALUE");
		}
		if (p->row->kind != OPT_FLAG && p->row->kind != OPT_LIST && p->n)
			return strbuf_errf(err, errlen, "--%s given twice", p->row->name);
		push(&p->values, &p->n, value);
	}
	return 0;
}

/* ---- binding ---- */

int opts_parse_id(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	long long v;

	if (!n || n > 19 || strspn(s, "0123456789") != n)
		return -1;
	errno = 0;
	v = strtoll(s, NULL, 10);
	if (errno || v <= 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(s, no[i]))
			return *out = false, 0;
	}
	return -1;
}

/* What an OPT_INT must be, for its usage error: "from 1 to 1000". */
static void describe_range(const struct option *r, char *buf, size_t len)
{
	if (!r->min && !r->max)
		snprintf(buf, len, "an integer");
	else if (r->max == OPT_NO_MAX)
		snprintf(buf, len, "%lld or more", (long long)r->min);
	else
		snprintf(buf, len, "from %lld to %lld%s%s", (long long)r->min, (long long)r->max,
			 r->unit ? " " : "", r->unit ? r->unit : "");
}

static void *own(struct opts *o, void *p)
{
	o->owned = xrealloc(o->owned, (o->nowned + 1) * sizeof(*o->owned));
	o->owned[o->nowned++] = p;
	return p;
}

/* Each value of a list option split at commas, trimmed, empty items dropped. */
static void split_items(struct opts *o, const struct opt *p, struct opt_list *out)
{
	size_t i;

	out->v = NULL;
	out->n = 0;
	for (i = 0; i < p->n; i++) {
		const char *s = p->values[i];

		while (*s) {
			const char *end = s + strcspn(s, ","), *b = s, *e = end;

			while (b < e && isspace((unsigned char)*b))
				b++;
			while (e > b && isspace((unsigned char)e[-1]))
				e--;
			if (e > b)
				push(&out->v, &out->n, own(o, xstrndup(b, (size_t)(e - b))));
			s = *end ? end + 1 : end;
		}
	}
	own(o, out->v);
}

/* One option's text into its field of dst. */
static int bind_one(struct opts *o, const struct opt *p, char *dst, char *err, size_t errlen)
{
	const struct option *r = p->row;
	const char *v = p->n ? p->values[p->n - 1] : NULL;
	void *field = dst + r->at;
	struct opt_list items;
	char range[96], *end;
	long long num;

	if (v && r->nonempty && !*v)
		v = NULL;
	if (r->kind == OPT_LIST) {
		split_items(o, p, &items);
		if (!items.n && r->required)
			goto missing;
		*(struct opt_list *)field = items;
		return 0;
	}
	if (!v) {
		if (r->required)
			goto missing;
		return 0;
	}
	switch (r->kind) {
	case OPT_FLAG:
		*(bool *)field = true;
		break;
	case OPT_STR:
		*(const char **)field = v;
		break;
	case OPT_ID:
		if (opts_parse_id(v, field))
			return strbuf_errf(err, errlen, "--%s must be a positive integer, not '%s'",
					   r->name, v);
		break;
	case OPT_INT:
		num = strtoll(v, &end, 10);
		if (end == v || *end || ((r->min || r->max) && (num < r->min || num > r->max))) {
			describe_range(r, range, sizeof(range));
			return strbuf_errf(err, errlen, "--%s must be %s, not '%s'", r->name, range, v);
		}
		((struct opt_int *)field)->given = true;
		((struct opt_int *)field)->v = num;
		break;
	case OPT_BOOL:
		if (parse_bool(v, &((struct opt_bool *)field)->v))
			return strbuf_errf(err, errlen, "--%s must be true or false, not '%s'",
					   r->name, v);
		((struct opt_bool *)field)->given = true;
		break;
	case OPT_LIST:
		break;
	}
	return 0;
missing:
	return strbuf_errf(err, errlen, "--%s %s is required", r->name, r->arg ? r->arg : "VALUE");
}

int opts_bind(struct opts *o, void *dst, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (bind_one(o, &o->v[i], dst, err, errlen))
			return -1;
	return 0;
}

/* ---- help ---- */

void opts_synopsis(struct strbuf *sb, const struct opts *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		const struct option *r = o->v[i].row;

		strbuf_addf(sb, " %s--%s", r->required ? "" : "[", r->name);
		if (r->kind != OPT_FLAG)
			strbuf_addf(sb, " %s", r->arg ? r->arg : "VALUE");
		if (!r->required)
			strbuf_addch(sb, ']');
	}
}

void opts_help(FILE *f, const struct opts *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		const struct option *r = o->v[i].row;
		struct strbuf left = STRBUF_INIT;

		if (!r->help)
			continue;
		strbuf_addf(&left, "--%s", r->name);
		if (r->kind != OPT_FLAG)
			strbuf_addf(&left, " %s", r->arg ? r->arg : "VALUE");
		fprintf(f, "  %-24s %s\n", left.buf, r->help);
		strbuf_release(&left);
	}
}

void opts_release(struct opts *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->v[i].values);
	for (i = 0; i < o->nowned; i++)
		free(o->owned[i]);
	free(o->owned);
	free(o->v);
	free(o->pos);
	free(o->rest);
	memset(o, 0, sizeof(*o));
}
